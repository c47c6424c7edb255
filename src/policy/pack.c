#include "policy/pack.h"

#include "model/array.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"

/* ---------------------------------------------------------------- small helpers */

#define SHARE_ONE 1000000LL /* one GPU in millionths */


#define GROW(arr, cap, need) GS_ARRAY_GROW(arr, cap, need)

void gs_plan_init(gs_plan *p) { memset(p, 0, sizeof *p); }

void gs_plan_free(gs_plan *p) {
    if (!p) return;
    free(p->place);
    free(p->claims);
    free(p->cands);
    free(p->reparts);
    free(p->unsched);
    memset(p, 0, sizeof *p);
}

int64_t gs_pack_gpu_share(const gs_gpu_req *r, const gs_gpu_model *m, int32_t ts_replicas) {
    switch (r->form) {
    case GS_GPU_NONE: return 0;
    case GS_GPU_WHOLE: return (int64_t)r->count * SHARE_ONE;
    case GS_GPU_FRACTION: return (int64_t)r->milli * 1000;
    case GS_GPU_SHARED:
        if (ts_replicas < 1) ts_replicas = 1;
        return (int64_t)r->count * SHARE_ONE / ts_replicas;
    case GS_GPU_MIG: {
        if (!m || !gs_gpu_has_mig(m)) return SHARE_ONE;
        int pi = gs_mig_profile_find(m, r->mig_profile);
        if (pi < 0) {
            /* a profile of another model: estimate from the leading "<n>g" */
            int g = r->mig_profile[0] >= '1' && r->mig_profile[0] <= '9' ? r->mig_profile[0] - '0' : 7;
            return (int64_t)g * SHARE_ONE / 7;
        }
        const gs_mig_profile *p = &m->profiles[pi];
        int64_t c = (int64_t)p->compute * SHARE_ONE / m->compute_slices;
        int64_t s = (int64_t)p->size * SHARE_ONE / m->mem_slices;
        return c > s ? c : s;
    }
    }
    return 0;
}

static bool tol_matches(const gs_toleration *t, const gs_taint *x) {
    if (t->effect >= 0 && t->effect != (int)x->effect) return false;
    if (t->key[0] == '\0') return t->op == GS_TOL_EXISTS;
    if (strcmp(t->key, x->key) != 0) return false;
    return t->op == GS_TOL_EXISTS || strcmp(t->value, x->value) == 0;
}

/* First taint of p that s does not tolerate, or -1. */
static int untolerated(const gs_pod_spec *s, const gs_pool *p) {
    for (int32_t i = 0; i < p->ntaints; i++) {
        const gs_taint *x = &p->taints[i];
        if (x->effect == GS_TAINT_PREFER_NO_SCHEDULE) continue;
        bool ok = false;
        for (int32_t j = 0; j < s->n_tolerations && !ok; j++) ok = tol_matches(&s->tolerations[j], x);
        if (!ok) return (int)i;
    }
    return -1;
}

bool gs_pack_tolerates(const gs_pod_spec *s, const gs_pool *p) { return untolerated(s, p) < 0; }

/* ---------------------------------------------------------------- working state */

/* A place pods can go: an existing node or a claim this plan opens. */
typedef struct bin {
    bool claim;
    bool usable;
    int32_t idx;            /* node or claim index */
    int32_t pool;           /* -1: not one of ours */
    int32_t itype;
    unsigned capmask;       /* claims: capacity types still allowed; nodes: their one type */
    char zone[GS_NAME_LEN]; /* "" = undecided (claims) */
    bool pin_itype, pin_family;
    int32_t gpu_model;
    gs_mcpu cpu_free;
    gs_mib mem_free;
    int32_t pods_free;      /* INT32_MAX if unlimited */
    int32_t pods;
    gs_mcpu cpu_used;
    gs_mib mem_used;
    uint8_t ngpus;
    uint16_t reshape;       /* GPUs whose MIG layout this plan decides */
    uint16_t reshaped;      /* ... and has started deciding (existing nodes: a repartition) */
    uint16_t convert;       /* idle WHOLE GPUs that may switch to the pool's time-slicing or
                               fractional mode (existing nodes, switch_modes) */
    int16_t ts_cap;         /* pool's declared time-slicing replicas (0 = take the GPU's) */
    bool inuse;             /* existing node that holds pods or a GPU, or is still starting (a
                               launch in flight): time-sliced pods spread over these before
                               empty ones */
    uint8_t nofit[GS_NODE_MAX_GPUS]; /* reshaped GPUs: profiles (bits) known not to fit any more */
    gs_gpu_state gpus[GS_NODE_MAX_GPUS];
} bin;

typedef struct cls {
    int32_t rep;            /* representative pod index */
    uint64_t hash;
    int32_t *bins;          /* compatible bins, pruned as they fill */
    int32_t nbins, capbins;
    int32_t seen;           /* bins [0, seen) of the global array were examined */
    gs_mcpu min_cpu;        /* smallest request among the class's pods: bins below are dropped */
    gs_mib min_mem;
    int32_t lvl;            /* time-sliced classes (find_bin_shared): the spread score last
                               taken on existing nodes (-1: none yet) */
    int32_t cur;            /* ... and bins [0, cur) of the list had none at or below lvl */
    uint8_t **cand_ok;      /* per pool (lazily): per offering, 1 if the GPU form and the
                               selectors fit an empty node of it */
    int32_t *n_form, *n_sel;/* per pool: offerings passing the form / form+selectors */
    uint8_t *frag_ok;       /* fractional classes (lazily): per node of the FGD state, 1 if the
                               class may go there (usable, taints, selectors: fixed for nodes) */
} cls;

typedef struct pool_cands {
    gs_pack_cand *c;        /* admitted offerings, by price */
    int32_t n;
    int32_t gpus_used, nodes_used;
    gs_usd_u usd_used;
} pool_cands;

typedef struct ctx {
    const gs_pack_input *in;
    const gs_snapshot *s;
    const gs_catalog *cat;
    gs_plan *out;
    bin *bins;
    int32_t nbins, capbins;
    cls *cls;
    int32_t ncls, capcls;
    int32_t *cls_table;     /* open addressing: class index + 1, 0 = empty */
    uint32_t table_mask;
    int32_t *pod_cls;       /* per snapshot pod: class index, -1 if not pending */
    pool_cands *pc;
    int32_t *pool_order;
    int64_t form_demand[5]; /* remaining GPU share (millionths) of unplaced pods per form */
    int64_t form_cpu[5];    /* ... and their CPU (milli) and memory (MiB) */
    int64_t form_mem[5];
    int16_t *repart_of;     /* per existing node x GPU: repartition index + 1 */
    gs_mig_layout *orig_layouts; /* per repartition: the layout before */
    gs_error *err;
    /* fractional pods on existing nodes: gpuscale's FGD policy (frag_build) */
    bool frag_on;
    gs_frag_state frag;
    gs_frag_node *fnodes;   /* per FGD node: the bin's FRACTIONAL GPUs, free CPU and memory */
    int32_t nfrag;
    int32_t *frag_bin;      /* per FGD node: its bin (= snapshot node) index */
    int32_t *bin_frag;      /* per existing bin: its FGD node, -1 if none */
    int32_t nfbins;         /* bins when the state was built (bin_frag's length) */
    int8_t (*fmap)[GS_NODE_MAX_GPUS]; /* per FGD node: the bin GPU of each FGD GPU */
    gs_frag_type *own_types;/* the default task types (owned) */
    uint8_t *allowed;       /* per FGD node, scratch */
} ctx;

static const gs_gpu_model *bin_model(const bin *b) { return gs_gpu_get(b->gpu_model); }

/* ---------------------------------------------------------------- labels and selectors */

static const char *pool_label(const gs_pool *p, const char *key) {
    for (int32_t i = 0; i < p->nlabels; i++)
        if (strcmp(p->labels[i].key, key) == 0) return p->labels[i].value;
    return NULL;
}

/* Evaluates one nodeSelector entry against a bin. For claims, instance type, family, capacity
 * type and zone are not decided yet: they are pinned (recorded) when the pod lands there.
 * Returns false if the bin can never satisfy it. */
static bool sel_ok(const ctx *c, const bin *b, const gs_kv *kv, bool *pin_itype, bool *pin_family,
                   unsigned *capmask, const char **zone) {
    const gs_itype *t = &c->cat->types[b->itype];
    const gs_pool *p = b->pool >= 0 ? &c->in->pools[b->pool] : NULL;
    const char *k = kv->key, *v = kv->value;
    if (!strcmp(k, "node.kubernetes.io/instance-type") || !strcmp(k, "beta.kubernetes.io/instance-type")) {
        if (strcmp(t->name, v) != 0) return false;
        *pin_itype = true;
        return true;
    }
    if (!strcmp(k, "karpenter.k8s.aws/instance-family")) {
        if (strcmp(t->family, v) != 0) return false;
        *pin_family = true;
        return true;
    }
    if (!strcmp(k, "karpenter.sh/capacity-type")) {
        int cap = gs_capacity_parse(v);
        if (cap < 0 || !(*capmask & (1u << cap))) return false;
        *capmask = 1u << cap;
        return true;
    }
    if (!strcmp(k, "topology.kubernetes.io/zone") || !strcmp(k, "failure-domain.beta.kubernetes.io/zone")) {
        if (b->zone[0]) return strcmp(b->zone, v) == 0;
        if (!b->claim) return false;
        if (p && !gs_pool_allows(p, t, GS_CAP_ON_DEMAND, v) && !gs_pool_allows(p, t, GS_CAP_SPOT, v))
            return false;
        *zone = v;
        return true;
    }
    if (!strcmp(k, "gpuscale.dev/gpu-model")) {
        const gs_gpu_model *m = bin_model(b);
        return m && gs_gpu_find(v) == b->gpu_model;
    }
    if (!strcmp(k, "nvidia.com/gpu.product")) {
        const gs_gpu_model *m = bin_model(b);
        return m && strcmp(m->product, v) == 0;
    }
    if (!strcmp(k, "karpenter.sh/nodepool") || !strcmp(k, "gpuscale.dev/pool"))
        return p && strcmp(p->name, v) == 0;
    if (!strcmp(k, "kubernetes.io/hostname"))
        return !b->claim && strcmp(c->s->nodes[b->idx].name, v) == 0;
    const char *lv = p ? pool_label(p, k) : NULL;
    return lv && strcmp(lv, v) == 0;
}

/* ---------------------------------------------------------------- GPU fitting on a bin */

typedef struct fit {
    int8_t gpu, ngpus, part;
    int8_t mig_start;   /* MIG: start of a new instance, -1 when an existing one is taken */
    bool new_reshape;   /* the GPU starts being repartitioned */
    bool clear_layout;  /* ... and its unused instances are dropped */
    bool relayout;      /* the planned instances move: layout[] is the new one (same profiles,
                           in the same order, plus the new instance last) */
    bool convert;       /* an idle WHOLE GPU switches to time-slicing / fractional */
    gs_mig_layout layout;
} fit;

static int16_t ts_cap_of(const bin *b, const gs_gpu_state *g) {
    int16_t cap = g->ts_replicas;
    if (b->ts_cap > 0 && (cap <= 0 || b->ts_cap < cap)) cap = b->ts_cap;
    return cap;
}

static bool pool_profile_ok(const ctx *c, const bin *b, const char *name) {
    return b->pool < 0 || gs_pool_allows_profile(&c->in->pools[b->pool], name);
}

/* First idle WHOLE GPU of b that may switch to its pool's mode for a pod of form `form`:
 * time-slicing (the pool's; with room for `count` of its declared replicas) for SHARED,
 * fractional for FRACTION; -1 if none. */
static int convertible_gpu(const bin *b, const ctx *c, gs_gpu_form form, int count) {
    if (!b->convert) return -1;
    const gs_pool *pl = &c->in->pools[b->pool];
    if (form == GS_GPU_SHARED &&
        (pl->sharing != GS_SHARE_TIMESLICING || count > (pl->ts_replicas > 0 ? pl->ts_replicas : 1)))
        return -1;
    if (form == GS_GPU_FRACTION && pl->sharing != GS_SHARE_FRACTIONAL) return -1;
    for (int g = 0; g < b->ngpus; g++)
        if (b->convert & (1u << g)) return g;
    return -1;
}

/* Finds room on b for the GPU part of r (no CPU/memory check). */
static bool gpu_fit(const ctx *c, bin *b, const gs_gpu_req *r, fit *f) {
    memset(f, 0, sizeof *f);
    f->gpu = -1;
    f->part = -1;
    f->mig_start = -1;
    switch (r->form) {
    case GS_GPU_NONE: return true;
    case GS_GPU_WHOLE: {
        int need = r->count, got = 0, first = -1;
        for (int g = 0; g < b->ngpus && got < need; g++) {
            const gs_gpu_state *s = &b->gpus[g];
            if (s->mode == GS_GPUMODE_WHOLE && !s->whole_used && s->pods == 0) {
                if (first < 0) first = g;
                got++;
            }
        }
        if (got < need) return false;
        f->gpu = (int8_t)first;
        f->ngpus = (int8_t)need;
        return true;
    }
    case GS_GPU_SHARED: {
        /* an existing node: the GPU with the fewest used replicas (spread: replicas on one
         * GPU share its throughput), ties the most left; a claim: the GPU with the fewest
         * left that still has enough (stacked, so the claim needs as few GPUs as possible;
         * spread_claims spreads them over the GPUs its cheapest type has once it is chosen) */
        int best = -1, bestleft = 1 << 20, bestused = 1 << 20;
        for (int g = 0; g < b->ngpus; g++) {
            const gs_gpu_state *s = &b->gpus[g];
            if (s->mode != GS_GPUMODE_TIMESLICED) continue;
            int left = ts_cap_of(b, s) - s->ts_used;
            if (left < r->count) continue;
            bool better = b->claim ? left < bestleft
                                   : s->ts_used < bestused || (s->ts_used == bestused && left > bestleft);
            if (better) {
                best = g;
                bestleft = left;
                bestused = s->ts_used;
            }
        }
        if (best < 0) best = convertible_gpu(b, c, GS_GPU_SHARED, r->count);
        if (best < 0) return false;
        f->gpu = (int8_t)best;
        f->ngpus = 1;
        f->convert = !(b->gpus[best].mode == GS_GPUMODE_TIMESLICED);
        return true;
    }
    case GS_GPU_FRACTION: {
        int best = -1, bestleft = 1 << 20;
        for (int g = 0; g < b->ngpus; g++) {
            const gs_gpu_state *s = &b->gpus[g];
            if (s->mode != GS_GPUMODE_FRACTIONAL) continue;
            int left = 1000 - s->milli_used;
            if (left >= r->milli && left < bestleft) {
                best = g;
                bestleft = left;
            }
        }
        if (best < 0) best = convertible_gpu(b, c, GS_GPU_FRACTION, 1);
        if (best < 0) return false;
        f->gpu = (int8_t)best;
        f->ngpus = 1;
        f->convert = !(b->gpus[best].mode == GS_GPUMODE_FRACTIONAL);
        return true;
    }
    case GS_GPU_MIG: {
        const gs_gpu_model *m = bin_model(b);
        if (!m || !gs_gpu_has_mig(m)) return false;
        int p = gs_mig_profile_find(m, r->mig_profile);
        if (p < 0 || !pool_profile_ok(c, b, m->profiles[p].name)) return false;
        /* 1: an unused instance of the profile that already exists */
        for (int g = 0; g < b->ngpus; g++) {
            const gs_gpu_state *s = &b->gpus[g];
            if (s->mode != GS_GPUMODE_MIG) continue;
            for (int i = 0; i < s->nparts; i++)
                if (s->parts[i].profile == p && !s->parts[i].used) {
                    f->gpu = (int8_t)g;
                    f->part = (int8_t)i;
                    f->ngpus = 1;
                    return true;
                }
        }
        /* 2: a new instance on a GPU whose layout this plan already decides (fullest first) */
        int best = -1, bestocc = -1, beststart = -1;
        for (int g = 0; g < b->ngpus; g++) {
            if (!(b->reshaped & (1u << g)) || (b->nofit[g] & (1u << p))) continue;
            const gs_gpu_state *s = &b->gpus[g];
            if (!gs_mig_free_starts(m, s->parts, s->nparts, p)) continue;
            int occ = __builtin_popcount(gs_mig_occupied(m, s->parts, s->nparts));
            if (occ > bestocc) {
                best = g;
                bestocc = occ;
            }
        }
        if (best >= 0) {
            beststart = gs_mig_best_start(m, b->gpus[best].parts, b->gpus[best].nparts, p);
            f->gpu = (int8_t)best;
            f->ngpus = 1;
            f->mig_start = (int8_t)beststart;
            return true;
        }
        /* 2b: the planned instances of a GPU this plan decides are not running yet: an exact
         * search may find a layout for them and the new one together */
        for (int g = 0; g < b->ngpus; g++) {
            if (!(b->reshaped & (1u << g)) || (b->nofit[g] & (1u << p))) continue;
            const gs_gpu_state *s = &b->gpus[g];
            /* instances only ever get added: once p does not fit, it never will */
            if (s->nparts >= GS_GPU_MAX_PARTS) { b->nofit[g] = (uint8_t)(b->nofit[g] | (1u << p)); continue; }
            gs_mig_counts cnt;
            memset(&cnt, 0, sizeof cnt);
            for (int i = 0; i < s->nparts; i++) cnt.c[s->parts[i].profile]++;
            cnt.c[p]++;
            gs_mig_layout l;
            if (!gs_mig_fit(m, NULL, 0, &cnt, &l)) { b->nofit[g] = (uint8_t)(b->nofit[g] | (1u << p)); continue; }
            /* same order as now: each existing instance takes a start of its profile */
            bool taken[GS_GPU_MAX_PARTS + 1] = {false};
            f->layout.n = (uint8_t)(s->nparts + 1);
            for (int i = 0; i <= s->nparts; i++) {
                int want = i < s->nparts ? s->parts[i].profile : p;
                for (int j = 0; j < l.n; j++)
                    if (!taken[j] && l.parts[j].profile == want) {
                        taken[j] = true;
                        f->layout.parts[i] = l.parts[j];
                        f->layout.parts[i].used = i < s->nparts ? s->parts[i].used : false;
                        break;
                    }
            }
            f->gpu = (int8_t)g;
            f->ngpus = 1;
            f->mig_start = (int8_t)f->layout.parts[s->nparts].start;
            f->relayout = true;
            return true;
        }
        /* 3: start deciding an idle GPU's layout (keep its unused instances if they leave room) */
        for (int g = 0; g < b->ngpus; g++) {
            if (!(b->reshape & (1u << g)) || (b->reshaped & (1u << g))) continue;
            const gs_gpu_state *s = &b->gpus[g];
            int n = s->mode == GS_GPUMODE_MIG ? s->nparts : 0;
            int st = gs_mig_best_start(m, s->parts, n, p);
            bool clear = false;
            if (st < 0) {
                st = gs_mig_best_start(m, NULL, 0, p);
                clear = true;
            }
            if (st < 0) continue;
            f->gpu = (int8_t)g;
            f->ngpus = 1;
            f->mig_start = (int8_t)st;
            f->new_reshape = true;
            f->clear_layout = clear || s->mode != GS_GPUMODE_MIG;
            return true;
        }
        return false;
    }
    }
    return false;
}

/* Can b ever host pods of class k (selectors, taints, GPU form)? Pins are not applied. */
static bool bin_compatible(const ctx *c, bin *b, const gs_pod_spec *s) {
    if (!b->usable) return false;
    if (b->pool >= 0 && !gs_pack_tolerates(s, &c->in->pools[b->pool])) return false;
    bool pi = false, pf = false;
    unsigned cm = b->capmask;
    const char *z = NULL;
    for (int32_t i = 0; i < s->n_node_selector; i++)
        if (!sel_ok(c, b, &s->node_selector[i], &pi, &pf, &cm, &z)) return false;
    fit f;
    return gpu_fit(c, b, &s->gpu, &f);
}

static bool res_fit(const bin *b, const gs_pod_spec *s) {
    return b->pods_free > 0 && b->cpu_free >= s->cpu && b->mem_free >= s->mem;
}

/* Switches idle WHOLE GPU g of existing node b to mode m (its pool's), recording it. */
static void convert_gpu(ctx *c, bin *b, int g, gs_gpu_mode m) {
    const gs_pool *pl = &c->in->pools[b->pool];
    gs_gpu_state *x = &b->gpus[g];
    gs_repartition *rp = &c->out->reparts[c->out->nreparts++];
    memset(rp, 0, sizeof *rp);
    rp->node = b->idx;
    rp->gpu = (int8_t)g;
    rp->mode_before = x->mode;
    rp->mode_after = m;
    memset(x, 0, sizeof *x);
    x->mode = m;
    if (m == GS_GPUMODE_TIMESLICED) {
        x->ts_replicas = (int16_t)(pl->ts_replicas > 0 ? pl->ts_replicas : 1);
        rp->ts_replicas = x->ts_replicas;
    }
    b->convert = (uint16_t)(b->convert & ~(1u << g));
}

/* Applies a fit to b (pins, resources, GPU state). Returns the partition index for MIG. */
static int apply_fit(ctx *c, bin *b, const gs_pod_spec *s, const fit *f) {
    bool pi = false, pf = false;
    unsigned cm = b->capmask;
    const char *z = NULL;
    for (int32_t i = 0; i < s->n_node_selector; i++)
        (void)sel_ok(c, b, &s->node_selector[i], &pi, &pf, &cm, &z);
    b->pin_itype |= pi;
    b->pin_family |= pf;
    b->capmask = cm;
    if (z && !b->zone[0]) snprintf(b->zone, sizeof b->zone, "%s", z);
    b->cpu_free -= s->cpu;
    b->mem_free -= s->mem;
    b->cpu_used += s->cpu;
    b->mem_used += s->mem;
    if (b->pods_free != INT32_MAX) b->pods_free--;
    b->pods++;
    b->inuse = true;
    int part = -1;
    const gs_gpu_req *r = &s->gpu;
    switch (r->form) {
    case GS_GPU_NONE: break;
    case GS_GPU_WHOLE: {
        int got = 0;
        for (int g = f->gpu; g < b->ngpus && got < r->count; g++) {
            gs_gpu_state *x = &b->gpus[g];
            if (x->mode == GS_GPUMODE_WHOLE && !x->whole_used && x->pods == 0) {
                x->whole_used = true;
                x->pods++;
                got++;
                b->convert = (uint16_t)(b->convert & ~(1u << g));
            }
        }
        break;
    }
    case GS_GPU_SHARED:
        if (f->convert) convert_gpu(c, b, f->gpu, GS_GPUMODE_TIMESLICED);
        b->gpus[f->gpu].ts_used = (int16_t)(b->gpus[f->gpu].ts_used + r->count);
        b->gpus[f->gpu].pods++;
        break;
    case GS_GPU_FRACTION:
        if (f->convert) convert_gpu(c, b, f->gpu, GS_GPUMODE_FRACTIONAL);
        b->gpus[f->gpu].milli_used = (int16_t)(b->gpus[f->gpu].milli_used + r->milli);
        b->gpus[f->gpu].pods++;
        break;
    case GS_GPU_MIG: {
        gs_gpu_state *x = &b->gpus[f->gpu];
        if (f->new_reshape) {
            b->reshaped = (uint16_t)(b->reshaped | (1u << f->gpu));
            if (!b->claim) {
                /* record the repartition with the layout it replaces */
                int32_t k = c->out->nreparts;
                gs_repartition *rp = &c->out->reparts[k];
                memset(rp, 0, sizeof *rp);
                rp->node = b->idx;
                rp->gpu = f->gpu;
                rp->mode_before = x->mode;
                rp->mode_after = GS_GPUMODE_MIG;
                if (x->mode == GS_GPUMODE_MIG) {
                    rp->before.n = x->nparts;
                    memcpy(rp->before.parts, x->parts, sizeof x->parts);
                }
                c->out->nreparts++;
            }
            if (f->clear_layout) x->nparts = 0;
            x->mode = GS_GPUMODE_MIG;
        }
        if (f->relayout) {
            for (int i = 0; i < x->nparts; i++) x->parts[i].start = f->layout.parts[i].start;
        }
        if (f->part >= 0) {
            part = f->part;
            if (!(b->reshaped & (1u << f->gpu))) b->reshape = (uint16_t)(b->reshape & ~(1u << f->gpu));
        } else {
            const gs_gpu_model *m = bin_model(b);
            part = x->nparts;
            x->parts[part].profile = (int8_t)gs_mig_profile_find(m, r->mig_profile);
            x->parts[part].start = (uint8_t)f->mig_start;
            x->nparts++;
        }
        x->parts[part].used = true;
        x->pods++;
        break;
    }
    }
    return part;
}

/* ---------------------------------------------------------------- classes */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnvs(uint64_t h, const char *s) { return fnv(h, s, strlen(s) + 1); }

static uint64_t class_hash(const gs_pod_spec *s) {
    uint64_t h = 1469598103934665603ULL;
    int32_t v[4] = {(int32_t)s->gpu.form, s->gpu.count, s->gpu.milli, s->n_node_selector};
    h = fnv(h, v, sizeof v);
    h = fnvs(h, s->gpu.mig_profile);
    for (int32_t i = 0; i < s->n_node_selector; i++) {
        h = fnvs(h, s->node_selector[i].key);
        h = fnvs(h, s->node_selector[i].value);
    }
    h = fnv(h, &s->n_tolerations, sizeof s->n_tolerations);
    for (int32_t i = 0; i < s->n_tolerations; i++) {
        const gs_toleration *t = &s->tolerations[i];
        h = fnvs(h, t->key);
        h = fnvs(h, t->value);
        int32_t w[2] = {(int32_t)t->op, t->effect};
        h = fnv(h, w, sizeof w);
    }
    return h;
}

static bool class_eq(const gs_pod_spec *a, const gs_pod_spec *b) {
    if (a->gpu.form != b->gpu.form || a->gpu.count != b->gpu.count || a->gpu.milli != b->gpu.milli ||
        strcmp(a->gpu.mig_profile, b->gpu.mig_profile) != 0 || a->n_node_selector != b->n_node_selector ||
        a->n_tolerations != b->n_tolerations)
        return false;
    for (int32_t i = 0; i < a->n_node_selector; i++)
        if (strcmp(a->node_selector[i].key, b->node_selector[i].key) ||
            strcmp(a->node_selector[i].value, b->node_selector[i].value))
            return false;
    for (int32_t i = 0; i < a->n_tolerations; i++) {
        const gs_toleration *x = &a->tolerations[i], *y = &b->tolerations[i];
        if (strcmp(x->key, y->key) || strcmp(x->value, y->value) || x->op != y->op || x->effect != y->effect)
            return false;
    }
    return true;
}

static int class_of(ctx *c, int32_t pod) {
    const gs_pod_spec *s = &c->s->pods[pod].spec;
    uint64_t h = class_hash(s);
    uint32_t i = (uint32_t)h & c->table_mask;
    for (;;) {
        int32_t e = c->cls_table[i];
        if (e == 0) break;
        cls *k = &c->cls[e - 1];
        if (k->hash == h && class_eq(&c->s->pods[k->rep].spec, s)) return e - 1;
        i = (i + 1) & c->table_mask;
    }
    if (GROW(c->cls, c->capcls, c->ncls + 1)) return GS_ENOMEM;
    cls *k = &c->cls[c->ncls];
    memset(k, 0, sizeof *k);
    k->rep = pod;
    k->hash = h;
    k->lvl = -1;
    c->cls_table[i] = ++c->ncls;
    return c->ncls - 1;
}

/* Brings the class's bin list up to date with bins created since it last looked. */
static int class_refresh(ctx *c, cls *k) {
    const gs_pod_spec *s = &c->s->pods[k->rep].spec;
    for (; k->seen < c->nbins; k->seen++) {
        if (!bin_compatible(c, &c->bins[k->seen], s)) continue;
        if (GROW(k->bins, k->capbins, k->nbins + 1)) return GS_ENOMEM;
        k->bins[k->nbins++] = k->seen;
    }
    return 0;
}

static bool sel_all(const ctx *c, const bin *b, const gs_pod_spec *s) {
    bool pi = false, pf = false, ok = true;
    unsigned cm = b->capmask;
    const char *z = NULL;
    for (int32_t j = 0; j < s->n_node_selector && ok; j++) ok = sel_ok(c, b, &s->node_selector[j], &pi, &pf, &cm, &z);
    return ok;
}

/* First bin of the class, from list position `from` on, where the pod fits; prunes bins that
 * can no longer take the class's GPU request. -1 if none. */
static int32_t find_bin_from(ctx *c, cls *k, const gs_pod_spec *s, fit *f, int32_t from) {
    int32_t w = from, found = -1, conv = -1;
    int32_t i = from;
    for (; i < k->nbins; i++) {
        int32_t bi = k->bins[i];
        bin *b = &c->bins[bi];
        if (b->pods_free <= 0 || b->cpu_free < k->min_cpu || b->mem_free < k->min_mem ||
            !gpu_fit(c, b, &s->gpu, f))
            continue; /* dropped for good: capacity only shrinks during a plan */
        if (w != i) k->bins[w] = bi;
        w++;
        /* selectors may pin a claim: check this pod's pins against the bin */
        if (!res_fit(b, s) || !sel_all(c, b, s)) continue;
        if (f->convert) {
            /* switching an idle GPU's mode only if no bin has room as it is */
            if (conv < 0) conv = bi;
            continue;
        }
        found = bi;
        i++;
        break;
    }
    if (w != i) {
        memmove(k->bins + w, k->bins + i, (size_t)(k->nbins - i) * sizeof *k->bins);
        w += k->nbins - i;
    } else {
        w = k->nbins;
    }
    k->nbins = w;
    if (found < 0 && conv >= 0) {
        found = conv;
        (void)gpu_fit(c, &c->bins[conv], &s->gpu, f);
    }
    return found;
}

/* Spread score of a time-sliced fit on an existing node: used replicas of the GPU it takes,
 * nodes in use (bin.inuse) before empty ones. */
static int32_t shared_score(const bin *b, const fit *f) {
    return (b->inuse ? 0 : 1 << 16) + b->gpus[f->gpu].ts_used;
}

/* A time-sliced pod: the existing node's GPU with the lowest spread score (fewest used
 * replicas; nodes with pods first; ties in bin order), then the claims first fit, then (with
 * switch_modes) an idle whole GPU switched to time-slicing. The lowest score is not searched
 * from scratch for every pod: the class remembers the score it last took (lvl) and the list
 * prefix [0, cur) known to have nothing at or below it; a pod takes the first bin from cur
 * with a fit scored <= lvl, and only when there is none is the whole node prefix scanned for
 * the new lowest score. Scores only grow during a plan (replicas are only taken), except when
 * another class's pod lands on an empty node; such a bin before cur is found again at the
 * next full scan. */
static int32_t find_bin_shared(ctx *c, cls *k, const gs_pod_spec *s, fit *f) {
    int32_t found = -1, conv = -1, end = k->nbins;
    fit tf, bf;
    memset(&bf, 0, sizeof bf);
    for (int round = k->lvl < 0 ? 1 : 0; round < 2 && found < 0; round++) {
        int32_t from = round == 0 ? k->cur : 0;
        int32_t w = from, i = from, best = -1, bestsc = INT32_MAX;
        bool prefix = true;
        if (round == 1) conv = -1;
        for (; i < k->nbins; i++) {
            int32_t bi = k->bins[i];
            bin *b = &c->bins[bi];
            if (b->claim) break; /* claims come after every node in the list */
            if (b->pods_free <= 0 || b->cpu_free < k->min_cpu || b->mem_free < k->min_mem ||
                !gpu_fit(c, b, &s->gpu, &tf))
                continue; /* dropped for good: capacity only shrinks during a plan */
            k->bins[w++] = bi;
            int32_t sc = tf.convert ? INT32_MAX : shared_score(b, &tf);
            if (round == 0 && prefix && sc > k->lvl) k->cur = w;
            else prefix = false;
            if (!res_fit(b, s) || !sel_all(c, b, s)) continue;
            if (tf.convert) {
                if (conv < 0) conv = bi;
                continue;
            }
            if (round == 0 && sc <= k->lvl) {
                found = bi;
                *f = tf;
                i++;
                break;
            }
            if (round == 1 && sc < bestsc) {
                best = bi;
                bestsc = sc;
                bf = tf;
            }
        }
        if (w != i) {
            memmove(k->bins + w, k->bins + i, (size_t)(k->nbins - i) * sizeof *k->bins);
            k->nbins -= i - w;
        }
        end = w; /* round 1: the nodes end here (or the list did) */
        if (round == 1) {
            /* none: the next pod of the class scans the whole prefix again at once */
            k->lvl = best >= 0 ? bestsc : -1;
            if (best >= 0) {
                found = best;
                *f = bf;
            }
            k->cur = 0;
        }
    }
    if (found >= 0) return found;
    /* no existing node has room as it is: claims (first fit, stacked), then a switch */
    int32_t cl = find_bin_from(c, k, s, f, end);
    if (cl >= 0 || conv < 0) return cl;
    (void)gpu_fit(c, &c->bins[conv], &s->gpu, f);
    return conv;
}

/* ---------------------------------------------------------------- fractional pods: FGD
 * Pending fractional pods are placed on existing nodes by gpuscale's FGD policy with its
 * one-step lookahead (policy/pack_frag.h) over the existing usable nodes that have a
 * FRACTIONAL GPU, in snapshot order (FGD's tie order). Every change the plan makes to such a
 * node (a pod of any form, a GPU switched to fractional) is passed on to the FGD state. */

/* The FGD view of bin b: its FRACTIONAL GPUs (map: FGD GPU -> bin GPU), free CPU and memory. */
static void frag_node_of(const bin *b, gs_frag_node *n, int8_t *map) {
    memset(n, 0, sizeof *n);
    n->cpu_free = (int32_t)(b->cpu_free < 0 ? 0 : b->cpu_free > INT32_MAX ? INT32_MAX : b->cpu_free);
    n->mem_free = b->mem_free;
    int k = 0;
    for (int g = 0; g < b->ngpus; g++) {
        const gs_gpu_state *x = &b->gpus[g];
        if (x->mode != GS_GPUMODE_FRACTIONAL) continue;
        int left = 1000 - x->milli_used;
        n->gpu_free[k] = (int16_t)(left < 0 ? 0 : left);
        map[k++] = (int8_t)g;
    }
    n->ngpus = (uint8_t)k;
}

static int cmp_ftype(const void *a, const void *b) {
    const gs_frag_task *x = &((const gs_frag_type *)a)->t, *y = &((const gs_frag_type *)b)->t;
    if (x->cpu != y->cpu) return x->cpu < y->cpu ? -1 : 1;
    if (x->mem != y->mem) return x->mem < y->mem ? -1 : 1;
    return (x->milli > y->milli) - (x->milli < y->milli);
}

/* Heaviest first, then by shape (a total order: the cap keeps the same types every time). */
static int cmp_ftype_heavy(const void *a, const void *b) {
    const gs_frag_type *x = a, *y = b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return cmp_ftype(a, b);
}

/* Builds the FGD state when a fractional pod is pending and an existing node has a
 * FRACTIONAL GPU. Task types: the caller's, else the snapshot's fractional pod shapes
 * (bound and pending), weight = their milli-GPU in all, count = their pods. */
static int frag_build(ctx *c) {
    const gs_snapshot *s = c->s;
    bool pending = false;
    for (int32_t i = 0; i < s->npods && !pending; i++)
        pending = s->pods[i].phase == GS_POD_PENDING && s->pods[i].node < 0 &&
                  s->pods[i].spec.gpu.form == GS_GPU_FRACTION;
    if (!pending) return 0;
    int32_t nf = 0;
    for (int32_t bi = 0; bi < c->nbins; bi++) {
        const bin *b = &c->bins[bi];
        if (b->claim || !b->usable) continue;
        for (int g = 0; g < b->ngpus; g++)
            if (b->gpus[g].mode == GS_GPUMODE_FRACTIONAL) { nf++; break; }
    }
    if (nf == 0) return 0;
    c->fnodes = calloc((size_t)nf, sizeof *c->fnodes);
    c->frag_bin = calloc((size_t)nf, sizeof *c->frag_bin);
    c->fmap = calloc((size_t)nf, sizeof *c->fmap);
    c->allowed = calloc((size_t)nf, 1);
    c->bin_frag = malloc((size_t)(c->nbins ? c->nbins : 1) * sizeof *c->bin_frag);
    if (!c->fnodes || !c->frag_bin || !c->fmap || !c->allowed || !c->bin_frag) return GS_ENOMEM;
    int32_t k = 0;
    for (int32_t bi = 0; bi < c->nbins; bi++) {
        const bin *b = &c->bins[bi];
        c->bin_frag[bi] = -1;
        if (b->claim || !b->usable) continue;
        bool has = false;
        for (int g = 0; g < b->ngpus && !has; g++) has = b->gpus[g].mode == GS_GPUMODE_FRACTIONAL;
        if (!has) continue;
        frag_node_of(b, &c->fnodes[k], c->fmap[k]);
        c->frag_bin[k] = bi;
        c->bin_frag[bi] = k++;
    }
    c->nfrag = k;
    c->nfbins = c->nbins;
    const gs_frag_type *types = c->in->frag_types;
    int32_t ntypes = c->in->nfrag_types;
    if (ntypes <= 0 || !types) {
        int32_t n = 0;
        for (int32_t i = 0; i < s->npods; i++) {
            const gs_pod *pd = &s->pods[i];
            n += pd->spec.gpu.form == GS_GPU_FRACTION && pd->phase <= GS_POD_RUNNING;
        }
        c->own_types = calloc((size_t)(n ? n : 1), sizeof *c->own_types);
        if (!c->own_types) return GS_ENOMEM;
        n = 0;
        for (int32_t i = 0; i < s->npods; i++) {
            const gs_pod *pd = &s->pods[i];
            if (pd->spec.gpu.form != GS_GPU_FRACTION || pd->phase > GS_POD_RUNNING) continue;
            gs_frag_type *t = &c->own_types[n++];
            t->t.cpu = (int32_t)(pd->spec.cpu > INT32_MAX ? INT32_MAX : pd->spec.cpu);
            t->t.mem = pd->spec.mem;
            t->t.ngpus = 1;
            t->t.milli = pd->spec.gpu.milli;
        }
        qsort(c->own_types, (size_t)n, sizeof *c->own_types, cmp_ftype);
        int32_t m = 0;
        for (int32_t i = 0; i < n; i++) {
            if (m == 0 || cmp_ftype(&c->own_types[m - 1], &c->own_types[i]) != 0) {
                c->own_types[m] = c->own_types[i];
                c->own_types[m].weight = 0;
                c->own_types[m].count = 0;
                m++;
            }
            c->own_types[m - 1].weight += c->own_types[i].t.milli;
            c->own_types[m - 1].count++;
        }
        int32_t cap = c->in->frag_max_types > 0 ? c->in->frag_max_types : GS_PACK_FRAG_MAX_TYPES;
        if (m > cap) { /* the heaviest shapes only: the state's cost is O(nodes x types) */
            qsort(c->own_types, (size_t)m, sizeof *c->own_types, cmp_ftype_heavy);
            m = cap;
        }
        types = c->own_types;
        ntypes = m;
    }
    const gs_frag_opts o = GS_FRAG_OPTS_GPUSCALE;
    if (gs_frag_init_opts(&c->frag, c->fnodes, c->nfrag, types, ntypes, &o)) return GS_ENOMEM;
    c->frag_on = true;
    return 0;
}

/* Tells the FGD state that existing bin bi changed (a pod placed there by another path). */
static void frag_sync(ctx *c, int32_t bi) {
    if (!c->frag_on || bi < 0 || bi >= c->nfbins || c->bins[bi].claim || c->bin_frag[bi] < 0) return;
    int32_t k = c->bin_frag[bi];
    gs_frag_node n;
    frag_node_of(&c->bins[bi], &n, c->fmap[k]);
    gs_frag_set_node(&c->frag, k, &n);
}

/* A fractional pod: the existing node and GPU FGD chooses among those where it fits as they
 * are (usable, taints, selectors, pod limit, CPU, memory, a FRACTIONAL GPU with room: no mode
 * switch). Returns the bin (and the FGD node in *fk, GPU in f), or -1. O(FGD nodes). */
static int32_t find_frag(ctx *c, cls *k, const gs_pod_spec *s, fit *f, int32_t *fk, int8_t *fg) {
    if (!k->frag_ok) {
        k->frag_ok = calloc((size_t)c->nfrag, 1);
        if (!k->frag_ok) return GS_ENOMEM;
        for (int32_t i = 0; i < c->nfrag; i++) {
            const bin *b = &c->bins[c->frag_bin[i]];
            k->frag_ok[i] = (uint8_t)(b->usable && (b->pool < 0 || gs_pack_tolerates(s, &c->in->pools[b->pool])) &&
                                      sel_all(c, b, s));
        }
    }
    for (int32_t i = 0; i < c->nfrag; i++)
        c->allowed[i] = (uint8_t)(k->frag_ok[i] && res_fit(&c->bins[c->frag_bin[i]], s));
    gs_frag_task t = {(int32_t)(s->cpu > INT32_MAX ? INT32_MAX : s->cpu), s->mem, 1, s->gpu.milli};
    uint64_t rng = 0; /* FGD breaks ties by order, not at random */
    int8_t g = -1;
    int32_t i = gs_frag_choose(&c->frag, GS_FRAG_FGD, &t, c->allowed, &g, &rng);
    if (i < 0 || g < 0) return -1;
    memset(f, 0, sizeof *f);
    f->gpu = c->fmap[i][g];
    f->ngpus = 1;
    f->part = -1;
    f->mig_start = -1;
    *fk = i;
    *fg = g;
    return c->frag_bin[i];
}

static int32_t find_bin(ctx *c, cls *k, const gs_pod_spec *s, fit *f) {
    if (s->gpu.form == GS_GPU_SHARED) return find_bin_shared(c, k, s, f);
    return find_bin_from(c, k, s, f, 0);
}

/* ---------------------------------------------------------------- pools and claims */

static int cmp_cand(const void *a, const void *b) {
    const gs_pack_cand *x = a, *y = b;
    if (x->price != y->price) return x->price < y->price ? -1 : 1;
    if (x->itype != y->itype) return x->itype < y->itype ? -1 : 1;
    return (int)x->capacity - (int)y->capacity;
}

static int build_pools(ctx *c) {
    int32_t np = c->in->npools;
    c->pc = calloc((size_t)(np ? np : 1), sizeof *c->pc);
    c->pool_order = calloc((size_t)(np ? np : 1), sizeof *c->pool_order);
    if (!c->pc || !c->pool_order) return GS_ENOMEM;
    for (int32_t p = 0; p < np; p++) {
        const gs_pool *pl = &c->in->pools[p];
        pool_cands *pc = &c->pc[p];
        pc->c = malloc((size_t)(c->cat->n ? c->cat->n : 1) * GS_CAP__N * sizeof *pc->c);
        if (!pc->c) return GS_ENOMEM;
        for (int32_t t = 0; t < c->cat->n; t++)
            for (int cap = 0; cap < GS_CAP__N; cap++) {
                const gs_itype *it = &c->cat->types[t];
                if (!gs_pool_allows(pl, it, (gs_capacity)cap, NULL)) continue;
                gs_pack_cand *x = &pc->c[pc->n++];
                x->itype = t;
                x->capacity = (gs_capacity)cap;
                x->price = gs_itype_price(it, (gs_capacity)cap);
            }
        qsort(pc->c, (size_t)pc->n, sizeof *pc->c, cmp_cand);
        c->pool_order[p] = p;
    }
    /* existing usage counts against limits */
    for (int32_t i = 0; i < c->s->nnodes; i++) {
        const gs_node *n = &c->s->nodes[i];
        if (n->pool < 0 || n->deleting) continue;
        pool_cands *pc = &c->pc[n->pool];
        pc->gpus_used += n->ngpus;
        pc->nodes_used++;
        pc->usd_used += gs_itype_price(&c->cat->types[n->itype], n->capacity);
    }
    /* weight (high first), then cheapest offering, then name */
    for (int32_t i = 1; i < np; i++)
        for (int32_t j = i; j > 0; j--) {
            int32_t a = c->pool_order[j - 1], b = c->pool_order[j];
            const gs_pool *pa = &c->in->pools[a], *pb = &c->in->pools[b];
            gs_usd_u qa = c->pc[a].n ? c->pc[a].c[0].price : INT64_MAX;
            gs_usd_u qb = c->pc[b].n ? c->pc[b].c[0].price : INT64_MAX;
            bool swap = pb->weight > pa->weight ||
                        (pb->weight == pa->weight && (qb < qa || (qb == qa && strcmp(pb->name, pa->name) < 0)));
            if (!swap) break;
            c->pool_order[j - 1] = b;
            c->pool_order[j] = a;
        }
    return 0;
}

static void describe_gpu(const gs_gpu_req *r, char *buf, size_t n) {
    switch (r->form) {
    case GS_GPU_NONE: snprintf(buf, n, "no GPU"); break;
    case GS_GPU_WHOLE: snprintf(buf, n, "%d whole GPU%s", r->count, r->count > 1 ? "s" : ""); break;
    case GS_GPU_MIG: snprintf(buf, n, "mig-%s", r->mig_profile); break;
    case GS_GPU_SHARED: snprintf(buf, n, "%d time-sliced replica%s", r->count, r->count > 1 ? "s" : ""); break;
    case GS_GPU_FRACTION: snprintf(buf, n, "%d milli-GPU", r->milli); break;
    }
}

/* Initialises a bin for a claim of pool p on instance type t. */
static void claim_bin(const ctx *c, bin *b, int32_t p, int32_t t, unsigned capmask) {
    const gs_pool *pl = &c->in->pools[p];
    const gs_itype *it = &c->cat->types[t];
    memset(b, 0, sizeof *b);
    b->claim = true;
    b->usable = true;
    b->pool = p;
    b->itype = t;
    b->capmask = capmask;
    b->gpu_model = it->gpu_model;
    b->cpu_free = it->alloc_cpu;
    b->mem_free = it->alloc_mem;
    b->pods_free = it->max_pods > 0 ? it->max_pods : INT32_MAX;
    b->ngpus = (uint8_t)(it->gpus > GS_NODE_MAX_GPUS ? GS_NODE_MAX_GPUS : it->gpus);
    for (int g = 0; g < b->ngpus; g++) {
        gs_gpu_state *x = &b->gpus[g];
        switch (pl->sharing) {
        case GS_SHARE_EXCLUSIVE: x->mode = GS_GPUMODE_WHOLE; break;
        case GS_SHARE_MIG:
            x->mode = GS_GPUMODE_MIG;
            b->reshape = (uint16_t)(b->reshape | (1u << g));
            b->reshaped = (uint16_t)(b->reshaped | (1u << g));
            break;
        case GS_SHARE_TIMESLICING:
            x->mode = GS_GPUMODE_TIMESLICED;
            x->ts_replicas = (int16_t)(pl->ts_replicas > 0 ? pl->ts_replicas : 1);
            break;
        case GS_SHARE_FRACTIONAL: x->mode = GS_GPUMODE_FRACTIONAL; break;
        }
    }
}

static bool form_matches_pool(const gs_gpu_req *r, const gs_pool *p) {
    switch (r->form) {
    case GS_GPU_NONE: return true;
    case GS_GPU_WHOLE: return p->sharing == GS_SHARE_EXCLUSIVE;
    case GS_GPU_MIG: return p->sharing == GS_SHARE_MIG;
    case GS_GPU_SHARED: return p->sharing == GS_SHARE_TIMESLICING;
    case GS_GPU_FRACTION: return p->sharing == GS_SHARE_FRACTIONAL;
    }
    return false;
}

static void appendf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t n, const char *fmt, ...) {
    size_t l = strlen(buf);
    if (l + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, n - l, fmt, ap);
    va_end(ap);
}

/* Fills the class's per-pool cache of offerings whose empty node fits the class's GPU form
 * and node selectors. */
static int class_pool_cache(ctx *c, cls *k, int32_t p) {
    if (!k->cand_ok) {
        size_t np = (size_t)c->in->npools;
        k->cand_ok = calloc(np, sizeof *k->cand_ok);
        k->n_form = calloc(np, sizeof *k->n_form);
        k->n_sel = calloc(np, sizeof *k->n_sel);
        if (!k->cand_ok || !k->n_form || !k->n_sel) return GS_ENOMEM;
    }
    if (k->cand_ok[p]) return 0;
    const pool_cands *pc = &c->pc[p];
    uint8_t *ok = calloc((size_t)(pc->n ? pc->n : 1), 1);
    if (!ok) return GS_ENOMEM;
    k->cand_ok[p] = ok;
    const gs_pod_spec *s = &c->s->pods[k->rep].spec;
    bin tmp;
    for (int32_t i = 0; i < pc->n; i++) {
        const gs_pack_cand *cd = &pc->c[i];
        claim_bin(c, &tmp, p, cd->itype, 1u << cd->capacity);
        fit f;
        if (!gpu_fit(c, &tmp, &s->gpu, &f)) continue;
        k->n_form[p]++;
        bool pi = false, pf = false, good = true;
        unsigned cm = tmp.capmask;
        const char *z = NULL;
        for (int32_t j = 0; j < s->n_node_selector && good; j++)
            good = sel_ok(c, &tmp, &s->node_selector[j], &pi, &pf, &cm, &z);
        if (!good) continue;
        k->n_sel[p]++;
        ok[i] = 1;
    }
    return 0;
}

/* Opens a claim for pod `pod` in the first pool that can take it. Returns the new bin index,
 * -1 with a reason, or a negative gs_err below -1. */
static int32_t open_claim(ctx *c, int32_t pod, char *why, size_t whylen) {
    const gs_pod *pd = &c->s->pods[pod];
    const gs_pod_spec *s = &pd->spec;
    char what[64];
    describe_gpu(&s->gpu, what, sizeof what);
    why[0] = '\0';
    if (c->in->max_claims > 0 && c->out->nclaims >= c->in->max_claims) {
        snprintf(why, whylen, "plan limit: at most %d new nodes per plan", c->in->max_claims);
        return -1;
    }
    if (c->in->npools == 0) {
        snprintf(why, whylen, "no existing node has room for %s and no pool is configured", what);
        return -1;
    }
    int64_t demand = c->form_demand[s->gpu.form];
    for (int32_t oi = 0; oi < c->in->npools; oi++) {
        int32_t p = c->pool_order[oi];
        const gs_pool *pl = &c->in->pools[p];
        pool_cands *pc = &c->pc[p];
        const char *sep = why[0] ? "; " : "";
        if (!form_matches_pool(&s->gpu, pl)) {
            appendf(why, whylen, "%spool %s: shares GPUs as %s, pod asks for %s", sep, pl->name,
                    gs_share_mode_name(pl->sharing), what);
            continue;
        }
        int ti = untolerated(s, pl);
        if (ti >= 0) {
            appendf(why, whylen, "%spool %s: taint %s=%s not tolerated", sep, pl->name, pl->taints[ti].key,
                    pl->taints[ti].value);
            continue;
        }
        if (s->gpu.form == GS_GPU_SHARED && s->gpu.count > (pl->ts_replicas > 0 ? pl->ts_replicas : 1)) {
            appendf(why, whylen, "%spool %s: pod asks for %d replicas, the pool's GPUs have %d", sep, pl->name,
                    s->gpu.count, pl->ts_replicas);
            continue;
        }
        cls *kc = &c->cls[c->pod_cls[pod]];
        int crc = class_pool_cache(c, kc, p);
        if (crc) return crc;
        const uint8_t *okv = kc->cand_ok[p];
        int32_t n_form = kc->n_form[p], n_sel = kc->n_sel[p], n_res = 0, n_lim = 0, best = -1;
        int64_t best_eff = INT64_MAX;
        const char *lim = "";
        char limbuf[64] = "";
        for (int32_t i = 0; i < pc->n; i++) {
            if (!okv[i]) continue;
            const gs_pack_cand *cd = &pc->c[i];
            const gs_itype *it = &c->cat->types[cd->itype];
            if (it->alloc_cpu < s->cpu || it->alloc_mem < s->mem) continue;
            n_res++;
            if (pl->limit_gpus > 0 && pc->gpus_used + it->gpus > pl->limit_gpus) {
                lim = "gpus";
                snprintf(limbuf, sizeof limbuf, "gpus=%d", pl->limit_gpus);
                continue;
            }
            if (pl->limit_nodes > 0 && pc->nodes_used + 1 > pl->limit_nodes) {
                lim = "nodes";
                snprintf(limbuf, sizeof limbuf, "nodes=%d", pl->limit_nodes);
                continue;
            }
            if (pl->limit_usd_per_hour > 0 && pc->usd_used + cd->price > pl->limit_usd_per_hour) {
                char ub[32];
                lim = "usd";
                snprintf(limbuf, sizeof limbuf, "usd/hour=%s", gs_fmt_usd(pl->limit_usd_per_hour, ub, sizeof ub));
                continue;
            }
            n_lim++;
            /* price per GPU the pending demand can use: no more than the GPUs the type has, the
             * demand left, or what its CPU and memory can feed at the demand's CPU and memory
             * per GPU */
            int64_t share = gs_pack_gpu_share(&s->gpu, gs_gpu_get(it->gpu_model), pl->ts_replicas);
            int64_t useful = demand > share ? demand : share;
            int64_t cap = (int64_t)(it->gpus > 0 ? it->gpus : 1) * SHARE_ONE;
            if (useful > cap) useful = cap;
            int64_t fc = c->form_cpu[s->gpu.form], fm = c->form_mem[s->gpu.form], by;
            if (demand > 0 && fc > 0 && !gs_muldiv64(it->alloc_cpu, demand, fc, &by) && by < useful) useful = by;
            if (demand > 0 && fm > 0 && !gs_muldiv64(it->alloc_mem, demand, fm, &by) && by < useful) useful = by;
            if (useful < share) useful = share;
            if (useful <= 0) useful = SHARE_ONE;
            int64_t eff;
            if (gs_muldiv64(cd->price, SHARE_ONE, useful, &eff)) eff = INT64_MAX;
            if (eff < best_eff) {
                best_eff = eff;
                best = i;
            }
        }
        if (best < 0) {
            if (n_form == 0)
                appendf(why, whylen, "%spool %s: no instance type offers %s", sep, pl->name, what);
            else if (n_sel == 0)
                appendf(why, whylen, "%spool %s: no instance type offering %s matches the pod's node selector", sep,
                        pl->name, what);
            else if (n_res == 0)
                appendf(why, whylen, "%spool %s: no instance type offering %s has cpu=%lldm memory=%lldMi allocatable",
                        sep, pl->name, what, (long long)s->cpu, (long long)s->mem);
            else
                appendf(why, whylen, "%spool %s: no instance type offers %s within limit %s", sep, pl->name, what,
                        lim[0] ? limbuf : "?");
            continue;
        }
        const gs_pack_cand *cd = &pc->c[best];
        if (c->in->may_add) {
            char gw[160] = "";
            if (!c->in->may_add(c->in->gate_ctx, pd->project, cd->price, gw, sizeof gw)) {
                char pb[32];
                appendf(why, whylen, "%spool %s: budget refuses %s/hour for project %s%s%s", sep, pl->name,
                        gs_fmt_usd(cd->price, pb, sizeof pb), pd->project, gw[0] ? ": " : "", gw);
                continue;
            }
        }
        /* open it */
        if (GROW(c->bins, c->capbins, c->nbins + 1)) return GS_ENOMEM;
        if (GROW(c->out->claims, c->out->cap_claims, c->out->nclaims + 1)) return GS_ENOMEM;
        bin *b = &c->bins[c->nbins];
        unsigned mask = gs_pool_capacity_mask(pl);
        claim_bin(c, b, p, cd->itype, mask);
        b->idx = c->out->nclaims;
        gs_claim *cl = &c->out->claims[c->out->nclaims++];
        memset(cl, 0, sizeof *cl);
        cl->pool = p;
        cl->itype = cd->itype;
        cl->price = cd->price;
        snprintf(cl->project, sizeof cl->project, "%s", pd->project);
        const gs_itype *it = &c->cat->types[cd->itype];
        pc->gpus_used += it->gpus;
        pc->nodes_used++;
        pc->usd_used += cd->price;
        return c->nbins++;
    }
    return -1;
}

/* Builds claim candidates and copies the bins' final state into the plan. */
static int finish_claims(ctx *c) {
    int32_t maxc = c->in->max_candidates > 0 ? c->in->max_candidates : GS_PACK_DEFAULT_CANDIDATES;
    c->out->ncands = 0;
    for (int32_t bi = 0; bi < c->nbins; bi++) {
        const bin *b = &c->bins[bi];
        if (!b->claim) continue;
        gs_claim *cl = &c->out->claims[b->idx];
        const gs_itype *packed = &c->cat->types[b->itype];
        const pool_cands *pc = &c->pc[b->pool];
        const gs_pool *pl = &c->in->pools[b->pool];
        uint8_t used = 0;
        for (int g = 0; g < b->ngpus; g++)
            if (b->gpus[g].pods > 0) used = (uint8_t)(g + 1);
        cl->gpu_model = b->gpu_model;
        cl->ngpus = b->ngpus;
        cl->ngpus_used = used;
        memcpy(cl->gpus, b->gpus, sizeof cl->gpus);
        cl->pods = b->pods;
        cl->cpu_used = b->cpu_used;
        cl->mem_used = b->mem_used;
        snprintf(cl->zone, sizeof cl->zone, "%s", b->zone);
        cl->cand_off = c->out->ncands;
        cl->ncand = 0;
        for (int32_t i = 0; i < pc->n && cl->ncand < maxc; i++) {
            const gs_pack_cand *cd = &pc->c[i];
            const gs_itype *it = &c->cat->types[cd->itype];
            if (!(b->capmask & (1u << cd->capacity))) continue;
            if (b->pin_itype && cd->itype != b->itype) continue;
            if (b->pin_family && strcmp(it->family, packed->family) != 0) continue;
            if (it->gpu_model != b->gpu_model || it->gpus < used || it->gpus > packed->gpus) continue;
            if (it->alloc_cpu < b->cpu_used || it->alloc_mem < b->mem_used) continue;
            if (it->max_pods > 0 && it->max_pods < b->pods) continue;
            if (b->zone[0] && !gs_pool_allows(pl, it, cd->capacity, b->zone)) continue;
            if (GROW(c->out->cands, c->out->cap_cands, c->out->ncands + 1)) return GS_ENOMEM;
            c->out->cands[c->out->ncands++] = *cd;
            cl->ncand++;
        }
        if (cl->ncand > 0) {
            const gs_pack_cand *first = &c->out->cands[cl->cand_off];
            cl->itype = first->itype;
            cl->capacity = first->capacity;
            cl->price = first->price;
        } else {
            /* cannot happen: the packed type fits what was packed; keep it priced */
            cl->capacity = (b->capmask & GS_CAPMASK_OD) ? GS_CAP_ON_DEMAND : GS_CAP_SPOT;
            cl->price = gs_itype_price(packed, cl->capacity);
        }
    }
    return 0;
}

/* Time-sliced pods were stacked on their claims' GPUs (so a claim needs as few GPUs as
 * possible and its cheapest type is no bigger than stacking allows). Every candidate of a
 * claim has at least as many GPUs as the smallest of them: the pods are spread over those,
 * each (largest request first, then pod order) on the GPU with the fewest used replicas
 * (ties: the lowest index), never beyond its replicas. The node and its price do not change.
 * If the spread does not fit (a mix of multi-replica requests that only stacking packs), the
 * claim keeps the stacked placement. */
typedef struct tsitem {
    int32_t place;  /* index into plan.place */
    int32_t count;  /* replicas */
} tsitem;

static int cmp_tsitem(const void *a, const void *b) {
    const tsitem *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->place < y->place ? -1 : (x->place > y->place);
}

static int spread_claims(ctx *c) {
    gs_plan *out = c->out;
    int32_t nts = 0;
    for (int32_t i = 0; i < out->nclaims; i++)
        if (c->in->pools[out->claims[i].pool].sharing == GS_SHARE_TIMESLICING) nts++;
    if (nts == 0) return 0;
    int32_t *off = calloc((size_t)out->nclaims + 1, sizeof *off);
    tsitem *items = malloc(sizeof *items * (size_t)(out->nplace ? out->nplace : 1));
    if (!off || !items) {
        free(off);
        free(items);
        return GS_ENOMEM;
    }
    /* placements grouped by claim (counting sort), in place order within a claim */
    for (int32_t k = 0; k < out->nplace; k++) {
        const gs_placement *pl = &out->place[k];
        if (pl->kind == GS_PLACE_CLAIM && pl->gpu >= 0 &&
            c->s->pods[pl->pod].spec.gpu.form == GS_GPU_SHARED)
            off[pl->target + 1]++;
    }
    for (int32_t i = 0; i < out->nclaims; i++) off[i + 1] += off[i];
    int32_t *fill = malloc(sizeof *fill * (size_t)(out->nclaims + 1));
    if (!fill) {
        free(off);
        free(items);
        return GS_ENOMEM;
    }
    memcpy(fill, off, sizeof *fill * (size_t)(out->nclaims + 1));
    for (int32_t k = 0; k < out->nplace; k++) {
        const gs_placement *pl = &out->place[k];
        if (pl->kind == GS_PLACE_CLAIM && pl->gpu >= 0 &&
            c->s->pods[pl->pod].spec.gpu.form == GS_GPU_SHARED)
            items[fill[pl->target]++] = (tsitem){k, c->s->pods[pl->pod].spec.gpu.count};
    }
    free(fill);
    for (int32_t i = 0; i < out->nclaims; i++) {
        gs_claim *cl = &out->claims[i];
        int32_t n = off[i + 1] - off[i];
        if (n < 2 || cl->ncand <= 0) continue;
        int ng = cl->ngpus;
        for (int32_t j = 0; j < cl->ncand; j++) {
            int g = c->cat->types[out->cands[cl->cand_off + j].itype].gpus;
            if (g < ng) ng = g;
        }
        if (ng < 2) continue; /* one GPU: nothing to spread over */
        tsitem *it = items + off[i];
        qsort(it, (size_t)n, sizeof *it, cmp_tsitem);
        int16_t used[GS_NODE_MAX_GPUS] = {0};
        int8_t to[GS_NODE_MAX_GPUS * 64];
        bool ok = n <= (int32_t)sizeof to;
        for (int32_t q = 0; q < n && ok; q++) {
            int best = -1;
            for (int g = 0; g < ng; g++) {
                const gs_gpu_state *x = &cl->gpus[g];
                if (x->mode != GS_GPUMODE_TIMESLICED || used[g] + it[q].count > x->ts_replicas) continue;
                if (best < 0 || used[g] < used[best]) best = g;
            }
            ok = best >= 0;
            if (ok) {
                used[best] = (int16_t)(used[best] + it[q].count);
                to[q] = (int8_t)best;
            }
        }
        if (!ok) continue;
        for (int g = 0; g < ng; g++) {
            gs_gpu_state *x = &cl->gpus[g];
            if (x->mode != GS_GPUMODE_TIMESLICED) continue;
            x->ts_used = 0;
            x->pods = 0;
        }
        uint8_t hi = 0;
        for (int32_t q = 0; q < n; q++) {
            gs_placement *pl = &out->place[it[q].place];
            gs_gpu_state *x = &cl->gpus[to[q]];
            x->ts_used = (int16_t)(x->ts_used + it[q].count);
            x->pods++;
            pl->gpu = to[q];
        }
        for (int g = 0; g < cl->ngpus; g++)
            if (cl->gpus[g].pods > 0) hi = (uint8_t)(g + 1);
        cl->ngpus_used = hi;
    }
    free(off);
    free(items);
    return 0;
}

/* ---------------------------------------------------------------- the plan */

typedef struct sortkey {
    int32_t pod;
    int32_t prio;
    int64_t share;          /* ordering key (sort_share) */
    int64_t demand;         /* GPU share counted in the demand that sizes claims */
    gs_mcpu cpu;
    gs_mib mem;
} sortkey;

/* The GPU share a pod is ordered (and its claims sized) by: its share (on an H100, time-slicing
 * x4), except that a MIG profile allowed only once per GPU (4g, 7g, and the "+me" profiles)
 * counts as a whole GPU: each needs a GPU of its own, so placing them first decides how many
 * GPUs there are before the small instances fill around them. Placed later, a 1g.10gb+me that
 * finds every GPU's media engine taken would open a node for one slice. */
static int64_t sort_share(const gs_gpu_req *r, const gs_gpu_model *m) {
    int64_t sh = gs_pack_gpu_share(r, m, 4);
    if (r->form == GS_GPU_MIG && m && gs_gpu_has_mig(m)) {
        int pi = gs_mig_profile_find(m, r->mig_profile);
        if (pi >= 0 && m->profiles[pi].media_ext && sh < SHARE_ONE) sh = SHARE_ONE;
    }
    return sh;
}

static int cmp_key(const void *a, const void *b) {
    const sortkey *x = a, *y = b;
    if (x->prio != y->prio) return x->prio > y->prio ? -1 : 1;
    if (x->share != y->share) return x->share > y->share ? -1 : 1;
    if (x->cpu != y->cpu) return x->cpu > y->cpu ? -1 : 1;
    if (x->mem != y->mem) return x->mem > y->mem ? -1 : 1;
    return x->pod < y->pod ? -1 : (x->pod > y->pod);
}

static int node_bins(ctx *c) {
    const gs_snapshot *s = c->s;
    c->nbins = 0;
    if (GROW(c->bins, c->capbins, s->nnodes + 1)) return GS_ENOMEM;
    for (int32_t i = 0; i < s->nnodes; i++) {
        const gs_node *n = &s->nodes[i];
        if (n->itype < 0 || n->itype >= c->cat->n)
            return gs_error_set(c->err, GS_EINVAL, "node %s: instance type index %d out of range", n->name, n->itype);
        if (n->pool >= c->in->npools)
            return gs_error_set(c->err, GS_EINVAL, "node %s: pool index %d out of range", n->name, n->pool);
        if (n->ngpus > GS_NODE_MAX_GPUS)
            return gs_error_set(c->err, GS_EINVAL, "node %s: %d GPUs (max %d)", n->name, n->ngpus, GS_NODE_MAX_GPUS);
        const gs_itype *it = &c->cat->types[n->itype];
        for (int g = 0; g < n->ngpus; g++) {
            const gs_gpu_state *x = &n->gpus[g];
            if (x->mode != GS_GPUMODE_MIG) continue;
            const gs_gpu_model *gm = gs_gpu_get(it->gpu_model);
            const char *why = "GPU model has no MIG";
            if (!gm || !gs_gpu_has_mig(gm) || !gs_mig_valid(gm, x->parts, x->nparts, &why))
                return gs_error_set(c->err, GS_EINVAL, "node %s: GPU %d: invalid MIG layout: %s", n->name, g, why);
        }
        bin *b = &c->bins[c->nbins++];
        memset(b, 0, sizeof *b);
        b->claim = false;
        b->usable = !n->cordoned && !n->deleting;
        b->idx = i;
        b->pool = n->pool;
        b->itype = n->itype;
        b->capmask = 1u << n->capacity;
        snprintf(b->zone, sizeof b->zone, "%s", n->zone);
        b->gpu_model = it->gpu_model;
        b->cpu_free = n->cpu_alloc - n->cpu_used;
        b->mem_free = n->mem_alloc - n->mem_used;
        b->pods_free = n->max_pods > 0 ? n->max_pods - n->pods : INT32_MAX;
        b->ngpus = n->ngpus;
        memcpy(b->gpus, n->gpus, sizeof b->gpus);
        const gs_pool *pl = n->pool >= 0 ? &c->in->pools[n->pool] : NULL;
        /* in use: pods bound, a launch in flight, or a GPU held (a snapshot may give GPU use
         * without listing the pods) */
        b->inuse = n->pods > 0 || !n->ready;
        for (int g = 0; g < n->ngpus && !b->inuse; g++) {
            const gs_gpu_state *x = &n->gpus[g];
            b->inuse = x->pods > 0 || x->whole_used || x->ts_used > 0 || x->milli_used > 0;
            for (int q = 0; q < x->nparts && !b->inuse; q++) b->inuse = x->parts[q].used;
        }
        if (pl && pl->sharing == GS_SHARE_TIMESLICING) b->ts_cap = (int16_t)pl->ts_replicas;
        if (pl && c->in->switch_modes && !n->layout_locked &&
            (pl->sharing == GS_SHARE_TIMESLICING || pl->sharing == GS_SHARE_FRACTIONAL))
            for (int g = 0; g < n->ngpus; g++) {
                const gs_gpu_state *x = &n->gpus[g];
                if (x->mode == GS_GPUMODE_WHOLE && !x->whole_used && x->pods == 0 && x->ts_used == 0 &&
                    x->milli_used == 0)
                    b->convert = (uint16_t)(b->convert | (1u << g));
            }
        const gs_gpu_model *m = gs_gpu_get(it->gpu_model);
        if (pl && pl->sharing == GS_SHARE_MIG && m && gs_gpu_has_mig(m) && !n->layout_locked)
            for (int g = 0; g < n->ngpus; g++) {
                const gs_gpu_state *x = &n->gpus[g];
                bool busy = x->pods > 0 || x->whole_used || x->ts_used > 0 || x->milli_used > 0;
                for (int k = 0; k < x->nparts; k++) busy |= x->parts[k].used;
                if (!busy) b->reshape = (uint16_t)(b->reshape | (1u << g));
            }
    }
    return 0;
}

static void add_unsched(ctx *c, int32_t pod, const char *why) {
    gs_unsched *u = &c->out->unsched[c->out->nunsched++];
    u->pod = pod;
    snprintf(u->reason, sizeof u->reason, "%s", why);
}

static void ctx_free(ctx *c) {
    for (int32_t i = 0; i < c->ncls; i++) {
        cls *k = &c->cls[i];
        free(k->bins);
        if (k->cand_ok)
            for (int32_t p = 0; p < c->in->npools; p++) free(k->cand_ok[p]);
        free(k->cand_ok);
        free(k->n_form);
        free(k->n_sel);
        free(k->frag_ok);
    }
    if (c->frag_on) gs_frag_free(&c->frag);
    free(c->fnodes);
    free(c->frag_bin);
    free(c->bin_frag);
    free(c->fmap);
    free(c->own_types);
    free(c->allowed);
    free(c->cls);
    free(c->cls_table);
    free(c->pod_cls);
    if (c->pc)
        for (int32_t p = 0; p < c->in->npools; p++) free(c->pc[p].c);
    free(c->pc);
    free(c->pool_order);
    free(c->bins);
}

/* One packing pass over the whole input. me_first: pods of a "+me" MIG profile (one per GPU)
 * are ordered as if they took a whole GPU, so each gets a GPU before the small instances fill
 * around them; otherwise they are ordered by their share like any pod. *has_me tells whether
 * any pending pod asks for such a profile (the order then matters). */
static int plan_once(const gs_pack_input *in, gs_plan *out, gs_error *err, bool me_first, bool *has_me) {
    ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.s = in->snap;
    c.cat = in->catalog;
    c.out = out;
    c.err = err;
    out->nplace = out->nclaims = out->ncands = out->nreparts = out->nunsched = 0;
    out->usd_before = out->usd_after = 0;
    out->placed_existing = out->placed_claims = 0;
    int rc = 0;
    sortkey *keys = NULL;
    const gs_snapshot *s = c.s;

    int32_t npend = 0;
    for (int32_t i = 0; i < s->npods; i++)
        if (s->pods[i].phase == GS_POD_PENDING && s->pods[i].node < 0) npend++;
    int32_t totalgpus = 0;
    for (int32_t i = 0; i < s->nnodes; i++) totalgpus += s->nodes[i].ngpus;
    if ((rc = GROW(out->place, out->cap_place, npend + 1)) || (rc = GROW(out->unsched, out->cap_unsched, npend + 1)) ||
        (rc = GROW(out->reparts, out->cap_reparts, totalgpus + 1)))
        goto done;
    uint32_t tsize = 16;
    while (tsize < (uint32_t)npend * 2u) tsize <<= 1;
    c.cls_table = calloc(tsize, sizeof *c.cls_table);
    c.table_mask = tsize - 1;
    c.pod_cls = malloc((size_t)(s->npods ? s->npods : 1) * sizeof *c.pod_cls);
    keys = malloc((size_t)(npend ? npend : 1) * sizeof *keys);
    if (!c.cls_table || !c.pod_cls || !keys) { rc = GS_ENOMEM; goto done; }
    /* node_bins validates the nodes (instance type, pool index) before build_pools counts them */
    if ((rc = node_bins(&c)) || (rc = build_pools(&c)) || (rc = frag_build(&c))) goto done;

    /* pending pods: placements in index order; processing order by the sort key */
    int32_t k = 0;
    const gs_gpu_model *h100 = gs_gpu_get(gs_gpu_find("h100-80gb"));
    for (int32_t i = 0; i < s->npods; i++) {
        c.pod_cls[i] = -1;
        const gs_pod *pd = &s->pods[i];
        if (pd->phase != GS_POD_PENDING || pd->node >= 0) continue;
        const gs_gpu_req *r = &pd->spec.gpu;
        if ((int)r->form < 0 || r->form > GS_GPU_FRACTION) {
            rc = gs_error_set(err, GS_EINVAL, "pod %s: unknown GPU form", pd->name);
            goto done;
        }
        if ((r->form == GS_GPU_WHOLE && (r->count < 1 || r->count > GS_NODE_MAX_GPUS)) ||
            (r->form == GS_GPU_SHARED && (r->count < 1 || r->count > 64)) ||
            (r->form == GS_GPU_FRACTION && (r->milli < 1 || r->milli > 999)) || pd->spec.cpu < 0 || pd->spec.mem < 0) {
            rc = gs_error_set(err, GS_EINVAL, "pod %s: request out of range (%s count %d milli %d)", pd->name,
                              gs_gpu_form_name(r->form), r->count, r->milli);
            goto done;
        }
        int ci = class_of(&c, i);
        if (ci < 0) { rc = ci; goto done; }
        c.pod_cls[i] = ci;
        cls *kn = &c.cls[ci];
        if (kn->rep == i || pd->spec.cpu < kn->min_cpu) kn->min_cpu = pd->spec.cpu;
        if (kn->rep == i || pd->spec.mem < kn->min_mem) kn->min_mem = pd->spec.mem;
        gs_placement *pl = &out->place[out->nplace++];
        pl->pod = i;
        pl->kind = GS_PLACE_NONE;
        pl->target = -1;
        pl->gpu = -1;
        pl->ngpus = 0;
        pl->part = -1;
        keys[k].pod = i;
        keys[k].prio = pd->spec.priority;
        keys[k].share = gs_pack_gpu_share(r, h100, 4);
        keys[k].demand = sort_share(r, h100);
        if (keys[k].demand != keys[k].share) {
            *has_me = true;
            if (me_first) keys[k].share = SHARE_ONE - 1; /* right after the whole-GPU profiles */
        }
        keys[k].cpu = pd->spec.cpu;
        keys[k].mem = pd->spec.mem;
        c.form_demand[r->form] += keys[k].demand;
        c.form_cpu[r->form] += pd->spec.cpu;
        c.form_mem[r->form] += pd->spec.mem;
        k++;
    }
    qsort(keys, (size_t)npend, sizeof *keys, cmp_key);

    char why[GS_PACK_REASON];
    /* pass 0: existing nodes only (so the demand left for claims is known when they are sized);
     * pass 1: the rest, onto claims opened so far or new ones */
    for (int pass = s->nnodes > 0 ? 0 : 1; pass < 2; pass++)
        for (int32_t q = 0; q < npend; q++) {
            int32_t pod = keys[q].pod;
            if (pod < 0) continue; /* placed in pass 0 */
            const gs_pod_spec *sp = &s->pods[pod].spec;
            /* place[] is in pod order */
            int32_t lo = 0, hi = out->nplace - 1;
            while (lo < hi) {
                int32_t mid = (lo + hi) / 2;
                if (out->place[mid].pod < pod) lo = mid + 1; else hi = mid;
            }
            gs_placement *pl = &out->place[lo];
            cls *kc = &c.cls[c.pod_cls[pod]];
            if ((rc = class_refresh(&c, kc))) goto done;
            fit f;
            int32_t bi = -1, fk = -1;
            int8_t fg = -1;
            if (c.frag_on && sp->gpu.form == GS_GPU_FRACTION) {
                bi = find_frag(&c, kc, sp, &f, &fk, &fg);
                if (bi < -1) { rc = bi; goto done; }
            }
            if (bi < 0) bi = find_bin(&c, kc, sp, &f);
            if (bi < 0 && pass == 0) continue;
            if (bi < 0) {
                int32_t nb = open_claim(&c, pod, why, sizeof why);
                if (nb < -1) { rc = nb; goto done; }
                if (nb >= 0) {
                    if ((rc = class_refresh(&c, kc))) goto done;
                    if (!gpu_fit(&c, &c.bins[nb], &sp->gpu, &f) || !res_fit(&c.bins[nb], sp)) {
                        rc = gs_error_set(err, GS_EINVAL, "pack: internal error: claim does not fit its pod");
                        goto done;
                    }
                    bi = nb;
                }
            }
            c.form_demand[sp->gpu.form] -= keys[q].demand;
            c.form_cpu[sp->gpu.form] -= sp->cpu;
            c.form_mem[sp->gpu.form] -= sp->mem;
            keys[q].pod = -1;
            if (bi < 0) {
                add_unsched(&c, pod, why);
                continue;
            }
            bin *b = &c.bins[bi];
            int part = apply_fit(&c, b, sp, &f);
            if (fk >= 0) {
                gs_frag_task ft = {(int32_t)(sp->cpu > INT32_MAX ? INT32_MAX : sp->cpu), sp->mem, 1, sp->gpu.milli};
                gs_frag_apply(&c.frag, fk, fg, &ft);
            } else {
                frag_sync(&c, bi);
            }
            pl->kind = b->claim ? GS_PLACE_CLAIM : GS_PLACE_EXISTING;
            pl->target = b->idx;
            pl->gpu = f.gpu;
            pl->ngpus = f.ngpus;
            pl->part = (int8_t)part;
            if (b->claim) out->placed_claims++; else out->placed_existing++;
        }

    if ((rc = finish_claims(&c)) || (rc = spread_claims(&c))) goto done;
    /* repartitions: final layouts */
    for (int32_t r = 0; r < out->nreparts; r++) {
        gs_repartition *rp = &out->reparts[r];
        const gs_gpu_state *x = &c.bins[rp->node].gpus[rp->gpu];
        rp->after.n = x->nparts;
        memcpy(rp->after.parts, x->parts, sizeof x->parts);
    }
    for (int32_t i = 0; i < s->nnodes; i++) {
        const gs_node *n = &s->nodes[i];
        out->usd_before += gs_itype_price(&c.cat->types[n->itype], n->capacity);
    }
    out->usd_after = out->usd_before;
    for (int32_t i = 0; i < out->nclaims; i++) out->usd_after += out->claims[i].price;

done:
    free(keys);
    ctx_free(&c);
    return rc;
}

static bool plan_better(const gs_plan *a, const gs_plan *b) {
    if (a->nunsched != b->nunsched) return a->nunsched < b->nunsched;
    return a->usd_after < b->usd_after;
}

/* Does a pending pod ask for a "+me" MIG profile (ordered differently by sort_share)? */
static bool pending_has_me(const gs_snapshot *s) {
    const gs_gpu_model *h100 = gs_gpu_get(gs_gpu_find("h100-80gb"));
    for (int32_t i = 0; i < s->npods; i++) {
        const gs_pod *pd = &s->pods[i];
        if (pd->phase != GS_POD_PENDING || pd->node >= 0 || pd->spec.gpu.form != GS_GPU_MIG) continue;
        if (sort_share(&pd->spec.gpu, h100) != gs_pack_gpu_share(&pd->spec.gpu, h100, 4)) return true;
    }
    return false;
}

int gs_pack_plan(const gs_pack_input *in, gs_plan *out, gs_error *err) {
    if (!in || !out || !in->snap || !in->catalog || (in->npools > 0 && !in->pools))
        return gs_error_set(err, GS_EINVAL, "pack: missing input");
    bool has_me = false;
    if (!pending_has_me(in->snap)) return plan_once(in, out, err, false, &has_me);
    /* "+me" pods: whether they go first or by their share depends on the mix (first: they
     * each get a GPU before small instances fill it; by share: 4g+3g pairs fill GPUs
     * exactly). Both plans are made; the one placing more pods, then cheaper, is kept (the
     * by-share one on a tie, so the result stays deterministic). A budget gate is called once
     * per claim of the plan returned, as documented, and may keep state (gs_budget_gate
     * counts approvals): with a gate, the two orders are compared without it and the chosen
     * one is planned again with it. */
    const gs_pack_input *first = in;
    gs_pack_input nogate;
    if (in->may_add) {
        nogate = *in;
        nogate.may_add = NULL;
        nogate.gate_ctx = NULL;
        first = &nogate;
    }
    int rc = plan_once(first, out, err, false, &has_me);
    if (rc) return rc;
    gs_plan alt;
    gs_plan_init(&alt);
    rc = plan_once(first, &alt, err, true, &has_me);
    bool me_first = !rc && plan_better(&alt, out);
    if (!rc && in->may_add) {
        rc = plan_once(in, out, err, me_first, &has_me);
    } else if (!rc && me_first) {
        gs_plan t = *out;
        *out = alt;
        alt = t;
    }
    gs_plan_free(&alt);
    return rc;
}
