#include "policy/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gs_rc_profile_for(const gs_gpu_model *m, const gs_rc_need *need) {
    if (!m || !gs_gpu_has_mig(m)) return -1;
    int best = -1;
    for (int i = 0; i < m->nprofiles; i++) {
        const gs_mig_profile *p = &m->profiles[i];
        if (p->media_ext || p->compute < need->compute || p->mem_mib < need->mem_mib) continue;
        if (best < 0 || p->size < m->profiles[best].size ||
            (p->size == m->profiles[best].size && p->compute < m->profiles[best].compute))
            best = i;
    }
    return best;
}

typedef struct step {
    const gs_rc_input *in;
    gs_rc_output *out;
    int32_t ncreate;   /* pods created so far this step (CREATE_POD ids are -(k+1)) */
} step;

static int emit(step *s, gs_action a) {
    if (s->out->n >= s->out->cap) return GS_ETOOBIG;
    s->out->acts[s->out->n++] = a;
    return 0;
}

/* The GPU request a pod with `need` makes: a MIG instance (named for the H100-80GB family,
 * the reference) when its pool (or, for a job, any pool) shares by MIG and allows a profile
 * that fits, else whole GPUs (which the packer places in a pool that does not share). */
static void gpu_req_for(const gs_rc_input *in, int32_t pool, bool any_pool, const gs_rc_need *need,
                        gs_gpu_req *r) {
    memset(r, 0, sizeof *r);
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    /* a replica in a pool that time-slices or shares fractionally asks in that form */
    if (!any_pool && need->whole <= 0 && pool >= 0 && pool < in->npools) {
        if (in->pools[pool].sharing == GS_SHARE_TIMESLICING) {
            r->form = GS_GPU_SHARED;
            r->count = 1;
            return;
        }
        if (in->pools[pool].sharing == GS_SHARE_FRACTIONAL) {
            r->form = GS_GPU_FRACTION;
            r->count = 1;
            r->milli = need->milli > 0 ? need->milli : (need->compute * 1000 + 6) / 7;
            if (r->milli > 999) r->milli = 999;
            if (r->milli < 1) r->milli = 1;
            return;
        }
    }
    int pi = need->whole <= 0 ? gs_rc_profile_for(m, need) : -1;
    for (int32_t k = 0; k < in->npools && pi >= 0; k++) {
        if (!any_pool && k != pool) continue;
        const gs_pool *pl = &in->pools[k];
        if (pl->sharing == GS_SHARE_MIG && gs_pool_allows_profile(pl, m->profiles[pi].name)) {
            r->form = GS_GPU_MIG;
            r->count = 1;
            snprintf(r->mig_profile, sizeof r->mig_profile, "%s", m->profiles[pi].name);
            return;
        }
    }
    r->form = GS_GPU_WHOLE;
    r->count = need->whole > 0 ? need->whole : 1;
}

/* Counts the packer's budget refusals (a refused claim leaves its pod pending). */
typedef struct gate_wrap {
    gs_pack_gate_fn fn;
    void *ctx;
    int32_t refused;
} gate_wrap;

static bool gate_counting(void *ctx, const char *project, gs_usd_u usd_per_hour, char *why,
                          size_t why_len) {
    gate_wrap *g = ctx;
    bool ok = g->fn(g->ctx, project, usd_per_hour, why, why_len);
    if (!ok) g->refused++;
    return ok;
}

/* A GPU's MIG layout cannot change while any instance on it is used, so a layout chosen for
 * the pods of one plan is completed with instances of the profiles this pool's workloads use
 * (most used first, placed where they destroy the fewest options), leaving room for the next
 * replicas without a new node. */
void gs_rc_complete_layout(const gs_pool *pool, const gs_gpu_model *m,
                           const int32_t mix[GS_MIG_MAX_PROFILES], gs_mig_layout *lay) {
    if (!m || !gs_gpu_has_mig(m)) return;
    for (;;) {
        int best = -1;
        for (int k = 0; k < m->nprofiles; k++) {
            if (mix[k] == 0 || !gs_pool_allows_profile(pool, m->profiles[k].name)) continue;
            if (lay->n >= GS_GPU_MAX_PARTS || !gs_mig_free_starts(m, lay->parts, lay->n, k)) continue;
            if (best < 0 || mix[k] * m->profiles[k].compute > mix[best] * m->profiles[best].compute) best = k;
        }
        if (best < 0) return;
        int start = gs_mig_best_start(m, lay->parts, lay->n, best);
        if (start < 0) return;
        gs_mig_layout next = *lay;
        next.parts[next.n].profile = (int8_t)best;
        next.parts[next.n].start = (uint8_t)start;
        next.parts[next.n].used = false;
        next.n++;
        if (!gs_mig_valid(m, next.parts, next.n, NULL)) return;
        *lay = next;
    }
}

typedef struct newpod {
    int32_t id;   /* action pod id (negative: created this step) */
    int32_t wl;
    int32_t pool;
    gs_rc_need need;
    const char *project; /* NULL: the workload's */
    const gs_pod_spec *spec; /* NULL: derived from need and pool */
} newpod;

/* placed[k]: the pool the plan put pending pod k of this step in (-1: none), for pods that come
 * with a spec and no pool of their own (`gpuscale run`'s pods outside a QueueScaler): they
 * count for the pool they land in. NULL: no such pods. */
typedef struct placed_mix {
    const newpod *pend;
    const int32_t *pool;
    int32_t n;
} placed_mix;

static const gs_pod_spec *placed_spec(const placed_mix *pm, int32_t k) {
    return pm->pend[k].pool < 0 ? pm->pend[k].spec : NULL; /* a pod with a pool counted above */
}

static void complete_layout(const gs_rc_input *in, int32_t pool, const gs_gpu_model *m,
                            gs_mig_layout *lay, const placed_mix *pm) {
    if (!m || !gs_gpu_has_mig(m)) return;
    int32_t mix[GS_MIG_MAX_PROFILES] = {0};
    for (int32_t i = 0; i < in->npods; i++) {
        const gs_rc_pod *p = &in->pods[i];
        if (p->pool != pool) continue;
        if (p->spec) { /* the profile the pod names, when this model has it */
            if (p->spec->gpu.form != GS_GPU_MIG) continue;
            int pi = gs_mig_profile_find(m, p->spec->gpu.mig_profile);
            if (pi >= 0 && pi < GS_MIG_MAX_PROFILES) mix[pi]++;
            continue;
        }
        if (p->need.whole > 0) continue;
        int pi = gs_rc_profile_for(m, &p->need);
        if (pi >= 0) mix[pi]++;
    }
    for (int32_t w = 0; w < in->nwl; w++) {
        if (in->wls[w].pool != pool || in->wls[w].need.whole > 0) continue;
        int pi = gs_rc_profile_for(m, &in->wls[w].need);
        if (pi >= 0) mix[pi]++;
    }
    for (int32_t k = 0; pm && k < pm->n; k++) {
        const gs_pod_spec *sp = placed_spec(pm, k);
        if (pm->pool[k] != pool || !sp || sp->gpu.form != GS_GPU_MIG) continue;
        int pi = gs_mig_profile_find(m, sp->gpu.mig_profile);
        if (pi >= 0 && pi < GS_MIG_MAX_PROFILES) mix[pi]++;
    }
    gs_rc_complete_layout(&in->pools[pool], m, mix, lay);
}

static int victim_class(const gs_scale_pod *p) {
    if (p->activity == GS_POD_BUSY && !p->pending) return -1;
    if (p->pending) return 0;
    if (!p->ready) return 1;
    if (p->activity == GS_POD_IDLE) return 2;
    return 3;
}

static int32_t repick_victims(const gs_rc_input *in, int32_t w, const gs_scale_pod *sp, const int32_t *spi,
                              int32_t n, int32_t want, const int32_t *npods_after, int32_t *rem) {
    (void)w;
    int32_t got = 0;
    /* npods_after is not updated here (the caller does it per removal): count picks per node */
    int32_t *taken = calloc((size_t)in->nnodes + 1, sizeof *taken);
    bool *picked = calloc((size_t)n + 1, sizeof *picked);
    if (!taken || !picked) {
        free(taken);
        free(picked);
        return 0; /* no removal this step rather than a wrong one */
    }
    while (got < want) {
        int32_t best = -1, bcls = 0, bleft = 0;
        gs_usd_u bprice = 0;
        for (int32_t k = 0; k < n; k++) {
            int cls = victim_class(&sp[k]);
            if (cls < 0 || picked[k]) continue;
            const gs_rc_pod *p = &in->pods[spi[k]];
            int32_t left = p->node >= 0 ? npods_after[p->node] - taken[p->node] : 0;
            gs_usd_u price = p->node >= 0 ? gs_itype_price(&in->cat->types[in->nodes[p->node].itype],
                                                           in->nodes[p->node].cap) : 0;
            bool better = best < 0 || cls < bcls ||
                          (cls == bcls && (left < bleft || (left == bleft && (price > bprice ||
                          (price == bprice && (sp[k].started > sp[best].started ||
                          (sp[k].started == sp[best].started && k > best)))))));
            if (better) {
                best = k;
                bcls = cls;
                bleft = left;
                bprice = price;
            }
        }
        if (best < 0) break;
        picked[best] = true;
        const gs_rc_pod *p = &in->pods[spi[best]];
        if (p->node >= 0) taken[p->node]++;
        rem[got++] = best;
    }
    free(taken);
    free(picked);
    return got;
}

/* Snapshot order of nodes for the packer: ready first, then more pods (after this step's
 * removals) first, then the caller's order. */
static bool node_before(const gs_rc_input *in, const int32_t *npods_after, int32_t a, int32_t b) {
    const gs_rc_node *x = &in->nodes[a], *y = &in->nodes[b];
    if (x->ready != y->ready) return x->ready;
    if (npods_after[a] != npods_after[b]) return npods_after[a] > npods_after[b];
    return false;
}

/* The pool's consolidateAfter (0: an empty node goes at once). */
static gs_ms keep_empty(const gs_rc_input *in, const gs_rc_node *n) {
    if (n->pool < 0 || n->pool >= in->npools || in->pools[n->pool].consolidate_after < 0) return 0;
    return in->pools[n->pool].consolidate_after;
}

/* Nodes of pool (not draining) among the view's nodes and this step's earlier launches that
 * match: capacity type cap (GS_CAP__N: any), instance type itype (-1: any), zone (-1: any). */
static int32_t count_nodes(const gs_rc_input *in, const gs_action *launched, int32_t nl, int32_t pool,
                           int cap, int32_t itype, int32_t zone) {
    int32_t n = 0;
    for (int32_t i = 0; i < in->nnodes; i++) {
        const gs_rc_node *x = &in->nodes[i];
        if (x->pool != pool || x->draining) continue;
        if ((cap == GS_CAP__N || (int)x->cap == cap) && (itype < 0 || x->itype == itype) && (zone < 0 || x->zone == zone)) n++;
    }
    for (int32_t i = 0; i < nl; i++) {
        const gs_action *l = &launched[i];
        if (l->pool != pool) continue;
        if ((cap == GS_CAP__N || (int)l->cap == cap) && (itype < 0 || l->itype == itype) && (zone < 0 || l->zone == zone)) n++;
    }
    return n;
}

/* Spot diversification (header: gs_rc_input.spot_max_pct): picks the claim's offering
 * (instance type, capacity type, zone) among its price-ordered candidates. launched[0..c)
 * are this step's earlier launches. */
static void choose_offering(const gs_rc_input *in, const gs_plan *plan, int32_t c,
                            const gs_action *launched, gs_action *a) {
    const gs_claim *cl = &plan->claims[c];
    if (cl->ncand <= 0) return;
    const gs_pack_cand *cands = &plan->cands[cl->cand_off];
    a->itype = cands[0].itype;
    a->cap = cands[0].capacity;
    a->zone = -1;
    if (in->spot_max_pct <= 0) return; /* no diversification: the cheapest, any zone */
    int32_t pick = 0;
    if (cands[0].capacity == GS_CAP_SPOT) {
        int32_t spot = count_nodes(in, launched, c, cl->pool, GS_CAP_SPOT, -1, -1);
        int64_t limit = ((int64_t)(spot + 1) * in->spot_max_pct + 99) / 100;
        if (limit < 1) limit = 1;
        gs_usd_u cap_price = cands[0].price + cands[0].price * in->spot_price_slack_pct / 100;
        int32_t fewest = -1, fewest_n = INT32_MAX;
        pick = -1;
        for (int32_t k = 0; k < cl->ncand; k++) {
            const gs_pack_cand *cd = &cands[k];
            if (cd->capacity != GS_CAP_SPOT || cd->price > cap_price) continue;
            bool seen = false; /* a type is judged once (its cheapest offering) */
            for (int32_t j = 0; j < k && !seen; j++) seen = cands[j].itype == cd->itype && cands[j].capacity == GS_CAP_SPOT;
            if (seen) continue;
            int32_t n = count_nodes(in, launched, c, cl->pool, GS_CAP_SPOT, cd->itype, -1);
            if (n + 1 <= limit) {
                pick = k;
                break;
            }
            if (n < fewest_n) {
                fewest = k;
                fewest_n = n;
            }
        }
        if (pick < 0) pick = fewest >= 0 ? fewest : 0;
    }
    a->itype = cands[pick].itype;
    a->cap = cands[pick].capacity;
    /* zone: the one holding the fewest of the pool's nodes of this offering, then of the pool */
    int32_t best = -1, bn = INT32_MAX, bt = INT32_MAX;
    for (int32_t z = 0; z < in->nzones; z++) {
        int32_t n = count_nodes(in, launched, c, cl->pool, (int)a->cap, a->itype, z);
        int32_t t = count_nodes(in, launched, c, cl->pool, GS_CAP__N, -1, z);
        if (n < bn || (n == bn && t < bt)) {
            best = z;
            bn = n;
            bt = t;
        }
    }
    a->zone = best;
}

/* Make-before-break repacking of one node (header: gs_rc_input.repack). */
static int repack_one(const gs_rc_input *in, step *s) {
    /* one node at a time per pool */
    for (int32_t i = 0; i < in->nnodes; i++)
        if (in->nodes[i].repacking) return 0;
    int32_t src = -1, src_slices = 0;
    gs_usd_u src_price = 0;
    for (int32_t i = 0; i < in->nnodes; i++) {
        const gs_rc_node *n = &in->nodes[i];
        if (!n->ready || n->draining || n->npods - n->npods_drainable == 0 || n->pool < 0 || n->pool >= in->npools ||
            in->pools[n->pool].sharing != GS_SHARE_MIG)
            continue;
        const gs_gpu_model *m = gs_gpu_get(in->cat->types[n->itype].gpu_model);
        if (!m) continue;
        int32_t slices = 0;
        for (int g = 0; g < n->ngpus; g++)
            for (int k = 0; k < n->gpus[g].nparts; k++)
                if (n->gpus[g].parts[k].used) slices += m->profiles[n->gpus[g].parts[k].profile].compute;
        gs_usd_u price = gs_itype_price(&in->cat->types[n->itype], n->cap);
        if (src < 0 || slices < src_slices || (slices == src_slices && price > src_price)) {
            src = i;
            src_slices = slices;
            src_price = price;
        }
    }
    if (src < 0) return 0;
    /* its pods: replicas on MIG instances only (a job or a whole-GPU pod is not moved) */
    int32_t mv[64], nmv = 0;
    for (int32_t i = 0; i < in->npods; i++) {
        const gs_rc_pod *p = &in->pods[i];
        if (p->node != src) continue;
        if (p->wl < 0 || p->part < 0 || p->state == GS_RCP_PENDING || nmv == 64) return 0;
        mv[nmv++] = i;
    }
    if (nmv == 0 || nmv != in->nodes[src].npods - in->nodes[src].npods_drainable) return 0;
    /* free instances elsewhere: per target node, room left; each instance taken once */
    typedef struct tgt { int32_t node; int8_t gpu, part; } tgt;
    tgt chosen[64];
    gs_mcpu cpu_add[64] = {0};
    gs_mib mem_add[64] = {0};
    uint8_t taken[64][GS_NODE_MAX_GPUS] = {{0}};
    int32_t tnodes[64], ntn = 0;
    for (int32_t k = 0; k < nmv; k++) {
        const gs_rc_pod *p = &in->pods[mv[k]];
        bool ok = false;
        for (int32_t i = 0; i < in->nnodes && !ok; i++) {
            const gs_rc_node *n = &in->nodes[i];
            if (i == src || !n->ready || n->draining || n->pool != in->nodes[src].pool ||
                n->npods - n->npods_drainable == 0)
                continue;
            const gs_itype *it = &in->cat->types[n->itype];
            const gs_gpu_model *m = gs_gpu_get(it->gpu_model);
            if (!m) continue;
            int32_t t = -1;
            for (int32_t j = 0; j < ntn; j++)
                if (tnodes[j] == i) t = j;
            if (t < 0) {
                if (ntn == 64) continue;
                t = ntn++;
                tnodes[t] = i;
            }
            if (n->cpu_used + cpu_add[t] + p->need.cpu > it->alloc_cpu ||
                n->mem_used + mem_add[t] + p->need.mem > it->alloc_mem ||
                (it->max_pods > 0 && n->npods + 1 > it->max_pods))
                continue;
            for (int g = 0; g < n->ngpus && !ok; g++) {
                const gs_gpu_state *gg = &n->gpus[g];
                if (gg->mode != GS_GPUMODE_MIG) continue;
                for (int q = 0; q < gg->nparts && !ok; q++) {
                    const gs_mig_profile *pr = &m->profiles[gg->parts[q].profile];
                    if (gg->parts[q].used || (taken[t][g] & (1u << q)) || pr->compute < p->need.compute ||
                        pr->mem_mib < p->need.mem_mib)
                        continue;
                    /* the same profile the replica has now (no slower, no bigger slot) */
                    const gs_rc_node *sn = &in->nodes[src];
                    const gs_gpu_model *sm = gs_gpu_get(in->cat->types[sn->itype].gpu_model);
                    const gs_mig_profile *cur = &sm->profiles[sn->gpus[p->gpu].parts[p->part].profile];
                    if (strcmp(pr->name, cur->name) != 0) continue;
                    taken[t][g] = (uint8_t)(taken[t][g] | (1u << q));
                    cpu_add[t] += p->need.cpu;
                    mem_add[t] += p->need.mem;
                    chosen[k] = (tgt){n->id, (int8_t)g, (int8_t)q};
                    ok = true;
                }
            }
        }
        if (!ok) return 0;
    }
    /* headroom: after the move, other nodes still have free instances of the moved
     * profiles for as many replicas again (a repack right before a rise would only trade
     * the node for a new one) */
    int32_t spare = 0;
    for (int32_t i = 0; i < in->nnodes; i++) {
        const gs_rc_node *n = &in->nodes[i];
        if (i == src || !n->ready || n->draining || n->pool != in->nodes[src].pool) continue;
        const gs_gpu_model *m = gs_gpu_get(in->cat->types[n->itype].gpu_model);
        int32_t t = -1;
        for (int32_t j = 0; j < ntn; j++)
            if (tnodes[j] == i) t = j;
        for (int g = 0; g < n->ngpus && m; g++)
            for (int q = 0; q < n->gpus[g].nparts; q++) {
                if (n->gpus[g].parts[q].used || (t >= 0 && (taken[t][g] & (1u << q)))) continue;
                bool moved_profile = false;
                for (int32_t k = 0; k < nmv && !moved_profile; k++) {
                    const gs_rc_pod *p = &in->pods[mv[k]];
                    const gs_rc_node *sn = &in->nodes[src];
                    const gs_gpu_model *sm = gs_gpu_get(in->cat->types[sn->itype].gpu_model);
                    moved_profile = strcmp(sm->profiles[sn->gpus[p->gpu].parts[p->part].profile].name,
                                           m->profiles[n->gpus[g].parts[q].profile].name) == 0;
                }
                spare += moved_profile;
            }
    }
    if (spare < nmv * in->repack_headroom) return 0;
    int rc;
    for (int32_t k = 0; k < nmv; k++) {
        int32_t id = -(s->ncreate + 1);
        s->ncreate++;
        gs_action a = {.type = GS_ACT_CREATE_POD, .wl = in->pods[mv[k]].wl, .pod = id, .zone = -1};
        if ((rc = emit(s, a))) return rc;
        gs_action b = {.type = GS_ACT_BIND, .pod = id, .node = chosen[k].node, .gpu = chosen[k].gpu,
                       .part = chosen[k].part, .zone = -1};
        if ((rc = emit(s, b))) return rc;
    }
    gs_action r = {.type = GS_ACT_REPACK_NODE, .node = in->nodes[src].id, .zone = -1};
    return emit(s, r);
}


int gs_reconcile_step(const gs_rc_input *in, gs_rc_output *out, gs_error *err) {
    out->n = 0;
    out->blocked = 0;
    out->packed = false;
    out->placed = out->unplaced = 0;
    step s = {in, out, 0};
    int rc = 0;
    int32_t *npods_after = calloc((size_t)in->nnodes + 1, sizeof *npods_after);
    bool *bound = calloc((size_t)in->nnodes + 1, sizeof *bound);
    bool *deleted = calloc((size_t)in->npods + 1, sizeof *deleted);
    gs_scale_state *st = malloc(sizeof *st * (size_t)(in->nwl + 1));
    gs_scale_pod *sp = malloc(sizeof *sp * (size_t)(in->npods + 1));
    int32_t *spi = malloc(sizeof *spi * (size_t)(in->npods + 1));
    int32_t *rem = malloc(sizeof *rem * (size_t)(in->npods + 1));
    int32_t npend = 0, cap_pend = in->npods + 64, ncreate = 0;
    newpod *pend = malloc(sizeof *pend * (size_t)cap_pend);
    gs_snapshot snap;
    gs_snapshot_init(&snap);
    gs_plan plan;
    gs_plan_init(&plan);
    int32_t *snap_pod = NULL, *ord = NULL, *ppool = NULL;
    gs_action *launched = NULL;
    if (!npods_after || !bound || !deleted || !st || !sp || !spi || !rem || !pend) { rc = GS_ENOMEM; goto done; }
    for (int32_t i = 0; i < in->nnodes; i++) npods_after[i] = in->nodes[i].npods - in->nodes[i].npods_drainable;
    if (out->unsched) out->nunsched = 0;
    if (out->launches) out->nlaunches = 0;

    /* 1. replicas per workload (policy/scale); states are copied and committed on success */
    for (int32_t w = 0; w < in->nwl && !in->no_scale; w++) {
        const gs_rc_workload *wl = &in->wls[w];
        st[w] = *wl->state;
        int32_t cur = 0, ready = 0, pending = 0;
        for (int32_t i = 0; i < in->npods; i++) {
            const gs_rc_pod *p = &in->pods[i];
            if (p->wl != w) continue;
            gs_scale_pod *q = &sp[cur];
            q->pending = p->node < 0;
            q->ready = p->state == GS_RCP_IDLE || p->state == GS_RCP_BUSY;
            q->activity = p->state == GS_RCP_BUSY ? GS_POD_BUSY : p->state == GS_RCP_IDLE ? GS_POD_IDLE : GS_POD_UNKNOWN;
            q->started = p->created;
            spi[cur] = i;
            cur++;
            ready += q->ready;
            pending += q->pending;
        }
        gs_scale_input si = {in->now, wl->readings, cur, ready, pending, sp, cur, rem, in->npods + 1};
        gs_scale_decision d;
        if ((rc = gs_scale_step(wl->scaler, &st[w], &si, &d, err))) goto done;
        for (int32_t k = 0; k < d.create; k++) {
            if (npend >= cap_pend) {
                cap_pend = cap_pend * 2 + d.create;
                newpod *np = realloc(pend, sizeof *pend * (size_t)cap_pend);
                if (!np) { rc = GS_ENOMEM; goto done; }
                pend = np;
            }
            int32_t id = -(++ncreate);
            gs_action a = {.type = GS_ACT_CREATE_POD, .wl = w, .pod = id};
            if ((rc = emit(&s, a))) goto done;
            pend[npend++] = (newpod){id, w, wl->pool, wl->need, NULL, NULL};
        }
        /* the scaler decided how many go (and that enough are not busy); which ones is
         * chosen here so that nodes empty: same classes as the scaler's order (pending, not
         * ready, idle), then the pod whose node keeps the fewest pods after the removals so
         * far (ties: the more expensive node, then the younger pod) */
        int32_t nrm = repick_victims(in, w, sp, spi, cur, d.nremove, npods_after, rem);
        for (int32_t k = 0; k < nrm; k++) {
            int32_t i = spi[rem[k]];
            const gs_rc_pod *p = &in->pods[i];
            if (p->state == GS_RCP_BUSY) continue; /* never a busy pod */
            gs_action a = {.type = GS_ACT_DELETE_POD, .pod = p->id, .wl = w};
            if ((rc = emit(&s, a))) goto done;
            deleted[i] = true;
            if (p->node >= 0) npods_after[p->node]--;
        }
    }

    /* 2. pending pods -> partitions -> nodes (policy/pack) */
    for (int32_t i = 0; i < in->npods; i++) {
        const gs_rc_pod *p = &in->pods[i];
        if (p->state != GS_RCP_PENDING || p->node >= 0 || deleted[i]) continue;
        if (npend >= cap_pend) {
            cap_pend *= 2;
            newpod *np = realloc(pend, sizeof *pend * (size_t)cap_pend);
            if (!np) { rc = GS_ENOMEM; goto done; }
            pend = np;
        }
        pend[npend++] = (newpod){p->id, p->wl, p->pool, p->need, p->project, p->spec};
    }
    if (npend > 0 && !(in->skip_pack && ncreate == 0)) {
        out->packed = true;
        /* the packer takes the first free instance it meets in snapshot order: offer the
         * ready nodes first and, among them, the fullest (after this step's removals), so
         * replicas gather on few nodes and the emptied ones are consolidated */
        ord = malloc(sizeof *ord * (size_t)(in->nnodes + 1));
        if (!ord) { rc = GS_ENOMEM; goto done; }
        for (int32_t i = 0; i < in->nnodes; i++) ord[i] = i;
        for (int32_t i = 1; i < in->nnodes; i++) { /* insertion sort: stable, small n */
            int32_t x = ord[i], j = i - 1;
            while (j >= 0 && node_before(in, npods_after, x, ord[j])) {
                ord[j + 1] = ord[j];
                j--;
            }
            ord[j + 1] = x;
        }
        for (int32_t oi = 0; oi < in->nnodes; oi++) {
            const gs_rc_node *v = &in->nodes[ord[oi]];
            gs_node n;
            char name[32];
            snprintf(name, sizeof name, "n%d", (int)v->id);
            gs_node_init(&n, v->name ? v->name : name, in->cat, v->itype, v->cap);
            n.pool = v->pool;
            n.ready = v->ready;
            n.cordoned = v->draining;
            n.pods = v->npods;
            n.cpu_used = v->cpu_used;
            n.mem_used = v->mem_used;
            memcpy(n.gpus, v->gpus, sizeof n.gpus);
            n.empty_since = -1;
            n.layout_locked = v->layout_locked;
            if (gs_snapshot_add_node(&snap, &n) < 0) { rc = GS_ENOMEM; goto done; }
        }
        snap_pod = malloc(sizeof *snap_pod * (size_t)npend);
        if (!snap_pod) { rc = GS_ENOMEM; goto done; }
        for (int32_t k = 0; k < npend; k++) {
            const newpod *p = &pend[k];
            gs_pod pod;
            memset(&pod, 0, sizeof pod);
            snprintf(pod.name, sizeof pod.name, "p%d", (int)p->id);
            const char *proj = p->project && p->project[0] ? p->project
                             : p->wl >= 0 && in->wls[p->wl].project && in->wls[p->wl].project[0] ? in->wls[p->wl].project
                             : "default";
            snprintf(pod.project, sizeof pod.project, "%s", proj);
            snprintf(pod.ns, sizeof pod.ns, "%s", proj);
            if (p->spec) {
                pod.spec = *p->spec;
            } else {
                pod.spec.cpu = p->need.cpu;
                pod.spec.mem = p->need.mem;
                gpu_req_for(in, p->pool, p->wl < 0, &p->need, &pod.spec.gpu);
            }
            pod.phase = GS_POD_PENDING;
            pod.node = -1;
            pod.gpu = -1;
            pod.part = -1;
            pod.created_at = in->now;
            int32_t idx = gs_snapshot_add_pod(&snap, &pod);
            if (idx < 0) { rc = GS_ENOMEM; goto done; }
            snap_pod[idx] = k;
        }
        snap.now = in->now;
        gate_wrap gw = {in->may_add, in->gate_ctx, 0};
        gs_pack_input pi = {&snap, in->pools, in->npools, in->cat, in->may_add ? gate_counting : NULL,
                            &gw, 0, 0, in->switch_modes};
        if ((rc = gs_pack_plan(&pi, &plan, err))) goto done;
        out->blocked = gw.refused;
        /* the pool each pending pod landed in (layouts count pods without a pool there) */
        ppool = malloc(sizeof *ppool * (size_t)(npend + 1));
        if (!ppool) { rc = GS_ENOMEM; goto done; }
        for (int32_t k = 0; k < npend; k++) ppool[k] = -1;
        for (int32_t k = 0; k < plan.nplace; k++) {
            const gs_placement *pl = &plan.place[k];
            int32_t pp = pl->kind == GS_PLACE_EXISTING ? in->nodes[ord[pl->target]].pool
                       : pl->kind == GS_PLACE_CLAIM    ? plan.claims[pl->target].pool
                                                       : -1;
            ppool[snap_pod[pl->pod]] = pp;
        }
        placed_mix pm = {pend, ppool, npend};
        /* repartitions of idle GPUs on existing nodes */
        for (int32_t r = 0; r < plan.nreparts; r++) {
            const gs_repartition *rp = &plan.reparts[r];
            const gs_rc_node *rn = &in->nodes[ord[rp->node]];
            gs_action a = {.type = GS_ACT_CONFIGURE_GPU, .node = rn->id, .gpu = rp->gpu,
                           .mode = rp->mode_after, .zone = -1};
            if (rp->mode_after == GS_GPUMODE_MIG) {
                a.layout = rp->after;
                complete_layout(in, rn->pool, gs_gpu_get(in->cat->types[rn->itype].gpu_model), &a.layout, &pm);
            } else if (rp->mode_after == GS_GPUMODE_TIMESLICED) {
                a.ts_replicas = rp->ts_replicas; /* an idle whole GPU switched (switch_modes) */
            }
            if ((rc = emit(&s, a))) goto done;
        }
        /* claims: launch, then lay out their GPUs */
        launched = calloc((size_t)plan.nclaims + 1, sizeof *launched);
        if (!launched) { rc = GS_ENOMEM; goto done; }
        for (int32_t c = 0; c < plan.nclaims; c++) {
            const gs_claim *cl = &plan.claims[c];
            gs_action a = {.type = GS_ACT_LAUNCH, .node = -(c + 1), .itype = cl->itype,
                           .cap = cl->capacity, .pool = cl->pool, .zone = -1};
            choose_offering(in, &plan, c, launched, &a);
            launched[c] = a;
            if ((rc = emit(&s, a))) goto done;
            if (out->launches) {
                if (out->nlaunches >= out->cap_launches) { rc = GS_ETOOBIG; goto done; }
                gs_rc_launch *li = &out->launches[out->nlaunches++];
                memset(li, 0, sizeof *li);
                snprintf(li->zone, sizeof li->zone, "%s", cl->zone);
                li->price = gs_itype_price(&in->cat->types[a.itype], a.cap);
                li->pods = cl->pods;
            }
            int ng = in->cat->types[a.itype].gpus < cl->ngpus ? in->cat->types[a.itype].gpus : cl->ngpus;
            for (int g = 0; g < ng; g++) {
                const gs_gpu_state *gs = &cl->gpus[g];
                if (gs->mode == GS_GPUMODE_WHOLE) continue;
                gs_action b = {.type = GS_ACT_CONFIGURE_GPU, .node = -(c + 1), .gpu = (int8_t)g,
                               .mode = gs->mode, .zone = -1};
                if (gs->mode == GS_GPUMODE_TIMESLICED) b.ts_replicas = gs->ts_replicas;
                if (gs->mode == GS_GPUMODE_MIG) {
                    b.layout.n = gs->nparts;
                    memcpy(b.layout.parts, gs->parts, sizeof gs->parts);
                    complete_layout(in, cl->pool, gs_gpu_get(cl->gpu_model), &b.layout, &pm);
                }
                if ((rc = emit(&s, b))) goto done;
            }
        }
        for (int32_t k = 0; k < plan.nplace; k++) {
            const gs_placement *pl = &plan.place[k];
            const newpod *p = &pend[snap_pod[pl->pod]];
            if (pl->kind == GS_PLACE_NONE) { /* stays pending; reasons in plan.unsched */
                out->unplaced++;
                continue;
            }
            out->placed++;
            int32_t node = pl->kind == GS_PLACE_EXISTING ? in->nodes[ord[pl->target]].id : -(pl->target + 1);
            if (pl->kind == GS_PLACE_EXISTING) bound[ord[pl->target]] = true;
            gs_action a = {.type = GS_ACT_BIND, .pod = p->id, .node = node, .gpu = pl->gpu, .part = pl->part};
            if ((rc = emit(&s, a))) goto done;
        }
        /* why the pods left pending stay so (caller's buffer) */
        for (int32_t u = 0; out->unsched && u < plan.nunsched && out->nunsched < out->cap_unsched; u++) {
            gs_rc_unsched *x = &out->unsched[out->nunsched++];
            x->pod = pend[snap_pod[plan.unsched[u].pod]].id;
            snprintf(x->reason, sizeof x->reason, "%s", plan.unsched[u].reason);
        }
    }

    /* 3. make-before-break repacking (gs_rc_input.repack) */
    if (in->repack && out->n == 0 && (npend == 0 || (in->repack_past_unplaced && out->placed == 0))) {
        if ((rc = repack_one(in, &s))) goto done;
    }

    /* 4. consolidation: empty nodes go at once (consolidateAfter 0; a repacked node once
     * its replicas are gone) */
    for (int32_t i = 0; i < in->nnodes; i++) {
        const gs_rc_node *n = &in->nodes[i];
        if (npods_after[i] == 0 && (!n->draining || n->repacking) && !bound[i] &&
            (keep_empty(in, n) <= 0 ||
             (n->npods - n->npods_drainable == 0 && in->now - n->empty_since >= keep_empty(in, n)))) {
            gs_action a = {.type = GS_ACT_DELETE_NODE, .node = n->id};
            if ((rc = emit(&s, a))) goto done;
        }
    }
    for (int32_t w = 0; w < in->nwl && !in->no_scale; w++) *in->wls[w].state = st[w];
done:
    free(npods_after);
    free(bound);
    free(deleted);
    free(st);
    free(sp);
    free(spi);
    free(rem);
    free(pend);
    free(snap_pod);
    free(ppool);
    free(ord);
    free(launched);
    gs_snapshot_free(&snap);
    gs_plan_free(&plan);
    if (rc == GS_ENOMEM) gs_error_set(err, rc, "reconcile: out of memory");
    return rc;
}
