#include "policy/reconcile.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ scaler */

void gs_rc_scale_state_init(gs_rc_scale_state *s) {
    memset(s, 0, sizeof *s);
    s->last_active = -1;
    s->rate_period_start = -1;
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi) {
    if (v < lo) return lo;
    if (v > hi) return hi;
    return (int32_t)v;
}

static void hist_push(gs_rc_scale_state *s, gs_ms now, int32_t rec, gs_ms window) {
    /* drop entries older than the window */
    while (s->nh > 0 && s->h_at[s->h0] < now - window) {
        s->h0 = (s->h0 + 1) % GS_RC_SCALE_HIST;
        s->nh--;
    }
    if (s->nh == GS_RC_SCALE_HIST) { /* full: forget the oldest */
        s->h0 = (s->h0 + 1) % GS_RC_SCALE_HIST;
        s->nh--;
    }
    int32_t i = (s->h0 + s->nh) % GS_RC_SCALE_HIST;
    s->h_at[i] = now;
    s->h_rec[i] = rec;
    s->nh++;
}

int32_t gs_reconcile_scale(const gs_rc_scale_params *p, gs_rc_scale_state *s, gs_ms now,
                           int64_t metric_milli, int32_t current) {
    int64_t target = p->target_milli > 0 ? p->target_milli : 1000;
    bool active = metric_milli > p->activation_milli;
    if (active) s->last_active = now;
    int32_t lo = p->min_replicas > 1 ? p->min_replicas : 1;
    int32_t hi = p->max_replicas > 0 ? p->max_replicas : 100;
    int64_t raw = (metric_milli + target - 1) / target;
    bool in_cooldown = s->last_active >= 0 && now - s->last_active < p->cooldown;
    if (!active && !(current > 0 && in_cooldown)) {
        /* KEDA: inactive past the cooldown (or never active): straight to minReplicaCount */
        s->nh = 0;
        s->h0 = 0;
        return p->min_replicas;
    }
    if (current == 0) {
        /* KEDA activates 0 -> max(min, 1); with HPA semantics the HPA takes it from there on
         * its next sync. gpuscale (no HPA) goes straight to the computed value. */
        int32_t r = p->hpa_rate_limit ? lo : clamp32(raw, lo, hi);
        hist_push(s, now, r, p->stabilize_down);
        s->rate_period_start = now;
        s->rate_base = r;
        return r;
    }
    int32_t rec = clamp32(raw, lo, hi);
    if (p->hpa_tolerance) {
        /* ratio = metric / (target * current); inside [0.9, 1.1] -> keep */
        int64_t num = metric_milli * 10, den = target * current;
        if (num >= den * 9 && num <= den * 11) rec = current;
    }
    hist_push(s, now, rec, p->stabilize_down);
    int32_t stab = rec;
    for (int32_t k = 0; k < s->nh; k++) {
        int32_t i = (s->h0 + k) % GS_RC_SCALE_HIST;
        if (s->h_at[i] >= now - p->stabilize_down && s->h_rec[i] > stab) stab = s->h_rec[i];
    }
    int32_t desired = current;
    if (rec > current) desired = rec;
    else if (stab < current) desired = stab;
    if (p->hpa_rate_limit && desired > current) {
        if (s->rate_period_start < 0 || now - s->rate_period_start >= GS_SEC(15)) {
            s->rate_period_start = now;
            s->rate_base = current;
        }
        int32_t lim = s->rate_base * 2 > s->rate_base + 4 ? s->rate_base * 2 : s->rate_base + 4;
        if (desired > lim) desired = lim;
    }
    return clamp32(desired, p->min_replicas, hi);
}

/* ------------------------------------------------------------------ packing (interim) */

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

typedef struct pend {
    int32_t id;   /* pod id (negative: created this step) */
    int32_t wl;
    int32_t pool;
    gs_rc_need need;
    bool done;
} pend;

typedef struct step {
    const gs_rc_input *in;
    gs_rc_output *out;
    gs_rc_node *nodes; /* local copy, grows with launches */
    int32_t nnodes, cap_nodes;
    int32_t nlaunch, ncreate;
    pend *pend;
    int32_t npend;
    bool *bound_here; /* per local node: a pod was bound to it this step */
} step;

static int emit(step *s, gs_action a) {
    if (s->out->n >= s->out->cap) return GS_ETOOBIG;
    s->out->acts[s->out->n++] = a;
    return 0;
}

static const gs_itype *node_type(const step *s, const gs_rc_node *n) {
    return &s->in->cat->types[n->itype];
}

static const gs_gpu_model *node_model(const step *s, const gs_rc_node *n) {
    return gs_gpu_get(node_type(s, n)->gpu_model);
}

static bool cpu_fits(const step *s, const gs_rc_node *n, const gs_rc_need *need) {
    const gs_itype *t = node_type(s, n);
    return n->cpu_used + need->cpu <= t->alloc_cpu && n->mem_used + need->mem <= t->alloc_mem &&
           n->npods < t->max_pods;
}

static bool gpu_empty(const gs_gpu_state *g) {
    if (g->pods > 0 || g->whole_used) return false;
    for (int i = 0; i < g->nparts; i++)
        if (g->parts[i].used) return false;
    return true;
}

static void take(step *s, gs_rc_node *n, const gs_rc_need *need) {
    (void)s;
    n->npods++;
    n->cpu_used += need->cpu;
    n->mem_used += need->mem;
}

/* Profile counts still pending for model m in pool (from index from), and the mix of all
 * the pool's pods (live and pending) by profile. */
static void demand(const step *s, const gs_gpu_model *m, int32_t pool, int32_t from,
                   int32_t need_cnt[GS_MIG_MAX_PROFILES], int32_t mix[GS_MIG_MAX_PROFILES]) {
    memset(need_cnt, 0, sizeof(int32_t) * GS_MIG_MAX_PROFILES);
    memset(mix, 0, sizeof(int32_t) * GS_MIG_MAX_PROFILES);
    for (int32_t i = from; i < s->npend; i++) {
        const pend *p = &s->pend[i];
        if (p->done || p->pool != pool || p->need.whole > 0) continue;
        int pi = gs_rc_profile_for(m, &p->need);
        if (pi >= 0) need_cnt[pi]++;
    }
    for (int32_t i = 0; i < s->in->npods; i++) {
        const gs_rc_pod *p = &s->in->pods[i];
        if (p->pool != pool || p->need.whole > 0) continue;
        int pi = gs_rc_profile_for(m, &p->need);
        if (pi >= 0) mix[pi]++;
    }
    for (int k = 0; k < GS_MIG_MAX_PROFILES; k++) mix[k] += need_cnt[k];
}

/* Chooses the MIG layout for an empty GPU: cover as much pending compute as possible, then
 * follow the pool's demand mix, then use the most compute. */
static bool choose_layout(const step *s, const gs_gpu_model *m, const gs_pool *pool,
                          int32_t pool_idx, int32_t from, gs_mig_layout *out) {
    gs_mig_counts cand[128];
    int nc = gs_mig_maximal_counts(m, cand, 128);
    if (nc > 128) nc = 128;
    int32_t need_cnt[GS_MIG_MAX_PROFILES], mix[GS_MIG_MAX_PROFILES];
    demand(s, m, pool_idx, from, need_cnt, mix);
    int64_t best_score = -1;
    gs_mig_counts best = {{0}};
    for (int c = 0; c < nc; c++) {
        gs_mig_counts k = cand[c];
        for (int i = 0; i < m->nprofiles; i++)
            if (m->profiles[i].media_ext || !gs_pool_allows_profile(pool, m->profiles[i].name) ||
                mix[i] == 0)
                k.c[i] = 0;
        int64_t covered = 0, follow = 0, total = 0;
        for (int i = 0; i < m->nprofiles; i++) {
            int64_t cover = k.c[i] < need_cnt[i] ? k.c[i] : need_cnt[i];
            covered += cover * m->profiles[i].compute;
            follow += (int64_t)k.c[i] * m->profiles[i].compute * mix[i];
            total += (int64_t)k.c[i] * m->profiles[i].compute;
        }
        int64_t score = covered * 1000000000LL + follow * 1000 + total;
        if (total > 0 && score > best_score) {
            best_score = score;
            best = k;
        }
    }
    if (best_score < 0) return false;
    return gs_mig_fit(m, NULL, 0, &best, out);
}

/* Tries to bind pending pod p onto node ni. allow_reconf: may reconfigure an empty GPU. */
/* A MIG need that no allowed profile of m satisfies (or a pool without MIG) runs on one whole
 * GPU instead. */
static gs_rc_need effective_need(const gs_pool *pool, const gs_gpu_model *m, const gs_rc_need *need) {
    gs_rc_need e = *need;
    if (e.whole > 0) return e;
    int prof = pool->sharing == GS_SHARE_MIG ? gs_rc_profile_for(m, &e) : -1;
    if (prof < 0 || !gs_pool_allows_profile(pool, m->profiles[prof].name)) e.whole = 1;
    return e;
}

static int try_node(step *s, int32_t pi, int32_t ni, bool allow_reconf, bool *placed) {
    pend *p = &s->pend[pi];
    gs_rc_node *n = &s->nodes[ni];
    *placed = false;
    if (n->draining || n->pool != p->pool || !cpu_fits(s, n, &p->need)) return 0;
    const gs_gpu_model *m = node_model(s, n);
    const gs_pool *pool = &s->in->pools[p->pool];
    if (!m || n->ngpus == 0) return 0;
    gs_rc_need need = effective_need(pool, m, &p->need);
    if (need.whole > 0) {
        if (m->mem_mib < need.mem_mib) return 0;
        /* count GPUs usable whole (already whole and free, or empty and reconfigurable) */
        int32_t got = 0;
        int8_t list[GS_NODE_MAX_GPUS];
        for (int g = 0; g < n->ngpus && got < need.whole; g++) {
            gs_gpu_state *gs = &n->gpus[g];
            if (!gpu_empty(gs)) continue;
            if (gs->mode != GS_GPUMODE_WHOLE && !allow_reconf) continue;
            list[got++] = (int8_t)g;
        }
        if (got < need.whole) return 0;
        for (int k = 0; k < got; k++) {
            gs_gpu_state *gs = &n->gpus[list[k]];
            if (gs->mode != GS_GPUMODE_WHOLE) {
                gs_action a = {.type = GS_ACT_CONFIGURE_GPU, .node = n->id, .gpu = list[k],
                               .mode = GS_GPUMODE_WHOLE};
                if (emit(s, a)) return GS_ETOOBIG;
                memset(gs, 0, sizeof *gs);
                gs->mode = GS_GPUMODE_WHOLE;
            }
            gs->whole_used = true;
            gs->pods++;
        }
        gs_action a = {.type = GS_ACT_BIND, .pod = p->id, .node = n->id, .gpu = list[0], .part = -1};
        if (emit(s, a)) return GS_ETOOBIG;
        take(s, n, &p->need);
        p->done = true;
        *placed = true;
        s->bound_here[ni] = true;
        return 0;
    }
    int prof = gs_rc_profile_for(m, &p->need);
    if (prof < 0 || !gs_pool_allows_profile(pool, m->profiles[prof].name)) return 0;
    for (int g = 0; g < n->ngpus; g++) {
        gs_gpu_state *gs = &n->gpus[g];
        if (gs->mode != GS_GPUMODE_MIG) continue;
        for (int k = 0; k < gs->nparts; k++) {
            if (gs->parts[k].used || gs->parts[k].profile != prof) continue;
            gs->parts[k].used = true;
            gs->pods++;
            gs_action a = {.type = GS_ACT_BIND, .pod = p->id, .node = n->id, .gpu = (int8_t)g,
                           .part = (int8_t)k};
            if (emit(s, a)) return GS_ETOOBIG;
            take(s, n, &p->need);
            p->done = true;
            *placed = true;
            s->bound_here[ni] = true;
            return 0;
        }
    }
    if (!allow_reconf) return 0;
    for (int g = 0; g < n->ngpus; g++) {
        gs_gpu_state *gs = &n->gpus[g];
        if (!gpu_empty(gs)) continue;
        gs_mig_layout lay;
        if (!choose_layout(s, m, pool, p->pool, pi, &lay)) continue;
        bool has = false;
        for (int k = 0; k < lay.n; k++) has |= lay.parts[k].profile == prof;
        if (!has) continue;
        gs_action a = {.type = GS_ACT_CONFIGURE_GPU, .node = n->id, .gpu = (int8_t)g,
                       .mode = GS_GPUMODE_MIG, .layout = lay};
        if (emit(s, a)) return GS_ETOOBIG;
        memset(gs, 0, sizeof *gs);
        gs->mode = GS_GPUMODE_MIG;
        gs->nparts = lay.n;
        memcpy(gs->parts, lay.parts, sizeof lay.parts);
        return try_node(s, pi, ni, false, placed);
    }
    return 0;
}

static bool type_fits(const step *s, const gs_itype *t, const gs_pool *pool, const gs_rc_need *need0) {
    (void)s;
    const gs_gpu_model *m = gs_gpu_get(t->gpu_model);
    if (!m || t->gpus <= 0) return false;
    gs_rc_need e = effective_need(pool, m, need0);
    const gs_rc_need *need = &e;
    if (t->alloc_cpu < need->cpu || t->alloc_mem < need->mem) return false;
    return t->gpus >= (need->whole > 0 ? need->whole : 1) && m->mem_mib >= need->mem_mib;
}

static int launch_for(step *s, int32_t pi, bool *placed) {
    pend *p = &s->pend[pi];
    *placed = false;
    const gs_pool *pool = &s->in->pools[p->pool];
    /* GPUs the remaining demand of this pool wants */
    int64_t slices = 0, whole = 0;
    for (int32_t i = pi; i < s->npend; i++) {
        const pend *q = &s->pend[i];
        if (q->done || q->pool != p->pool) continue;
        if (q->need.whole) whole += q->need.whole;
        else slices += q->need.compute;
    }
    int64_t wanted = whole + (slices + 6) / 7;
    if (wanted < 1) wanted = 1;
    const gs_catalog *cat = s->in->cat;
    int32_t bt = -1;
    gs_capacity bc = GS_CAP_ON_DEMAND;
    int64_t bscore = 0;
    for (int32_t t = 0; t < cat->n; t++) {
        const gs_itype *it = &cat->types[t];
        if (!type_fits(s, it, pool, &p->need)) continue;
        for (int c = 0; c < GS_CAP__N; c++) {
            if (!gs_pool_allows(pool, it, (gs_capacity)c, NULL)) continue;
            int64_t use = it->gpus < wanted ? it->gpus : wanted;
            int64_t score = gs_itype_price(it, (gs_capacity)c) * 1000 / use;
            if (bt < 0 || score < bscore ||
                (score == bscore && it->gpus < cat->types[bt].gpus)) {
                bt = t;
                bc = (gs_capacity)c;
                bscore = score;
            }
        }
    }
    if (bt < 0) return 0; /* nothing in the pool fits: stays pending */
    if (s->in->gate) {
        char why[128] = "";
        if (!s->in->gate(s->in->gate_ctx, p->pool, bt, bc, s->in->now, why, (int)sizeof why)) {
            gs_action a = {.type = GS_ACT_BLOCKED, .pod = p->id, .itype = bt, .cap = bc, .pool = p->pool};
            s->out->blocked++;
            return emit(s, a);
        }
    }
    if (s->nnodes == s->cap_nodes) return 0;
    int32_t id = -(++s->nlaunch);
    gs_action a = {.type = GS_ACT_LAUNCH, .node = id, .itype = bt, .cap = bc, .pool = p->pool};
    int rc = emit(s, a);
    if (rc) return rc;
    gs_rc_node *n = &s->nodes[s->nnodes];
    memset(n, 0, sizeof *n);
    n->id = id;
    n->itype = bt;
    n->cap = bc;
    n->pool = p->pool;
    n->ngpus = (uint8_t)(cat->types[bt].gpus > GS_NODE_MAX_GPUS ? GS_NODE_MAX_GPUS : cat->types[bt].gpus);
    s->bound_here[s->nnodes] = false;
    s->nnodes++;
    return try_node(s, pi, s->nnodes - 1, true, placed);
}

static int cmp_pend(const void *a, const void *b) {
    const pend *x = a, *y = b;
    if (x->need.whole != y->need.whole) return y->need.whole - x->need.whole;
    if (x->need.compute != y->need.compute) return y->need.compute - x->need.compute;
    return (x->id > y->id) - (x->id < y->id);
}

/* Victims for a scale-in of workload w by k pods: pending first, then starting, then idle
 * pods on the nodes holding the fewest pods (so consolidation can release them). Never busy. */
static int scale_in(step *s, int32_t w, int32_t k) {
    const gs_rc_input *in = s->in;
    for (int pass = 0; pass < 3 && k > 0; pass++) {
        gs_rc_pod_state want = pass == 0 ? GS_RCP_PENDING : pass == 1 ? GS_RCP_STARTING : GS_RCP_IDLE;
        for (;;) {
            int32_t best = -1;
            for (int32_t i = 0; i < in->npods; i++) {
                const gs_rc_pod *p = &in->pods[i];
                if (p->wl != w || p->state != want || p->id == INT32_MIN) continue;
                bool dup = false;
                for (int32_t j = 0; j < s->out->n && !dup; j++)
                    dup = s->out->acts[j].type == GS_ACT_DELETE_POD && s->out->acts[j].pod == p->id;
                if (dup) continue;
                if (best < 0) { best = i; continue; }
                int32_t na = p->node >= 0 ? s->nodes[p->node].npods : 0;
                int32_t nb = in->pods[best].node >= 0 ? s->nodes[in->pods[best].node].npods : 0;
                if (na < nb) best = i;
            }
            if (best < 0 || k == 0) break;
            const gs_rc_pod *p = &in->pods[best];
            gs_action a = {.type = GS_ACT_DELETE_POD, .pod = p->id, .wl = w};
            if (emit(s, a)) return GS_ETOOBIG;
            if (p->node >= 0) {
                gs_rc_node *n = &s->nodes[p->node];
                n->npods--;
                n->cpu_used -= p->need.cpu;
                n->mem_used -= p->need.mem;
                if (p->gpu >= 0) {
                    if (p->part >= 0) {
                        n->gpus[p->gpu].parts[p->part].used = false;
                        n->gpus[p->gpu].pods--;
                    } else {
                        for (int g = p->gpu; g < p->gpu + p->need.whole && g < n->ngpus; g++) {
                            n->gpus[g].whole_used = false;
                            n->gpus[g].pods--;
                        }
                    }
                }
            }
            k--;
        }
    }
    return 0;
}

int gs_reconcile_step(const gs_rc_input *in, gs_rc_output *out) {
    out->n = 0;
    out->blocked = 0;
    step s = {0};
    s.in = in;
    s.out = out;
    int rc = 0;
    /* desired replicas */
    int32_t *desired = calloc((size_t)in->nwl + 1, sizeof *desired);
    int32_t *current = calloc((size_t)in->nwl + 1, sizeof *current);
    int64_t add = 0;
    if (!desired || !current) { rc = GS_ENOMEM; goto done; }
    for (int32_t i = 0; i < in->npods; i++)
        if (in->pods[i].wl >= 0 && in->pods[i].wl < in->nwl) current[in->pods[i].wl]++;
    for (int32_t w = 0; w < in->nwl; w++) {
        const gs_rc_workload *wl = &in->wls[w];
        desired[w] = gs_reconcile_scale(wl->sp, wl->ss, in->now, wl->metric_milli, current[w]);
        if (desired[w] > current[w]) add += desired[w] - current[w];
    }
    s.cap_nodes = in->nnodes + in->npods + (int32_t)add + 1;
    s.nodes = calloc((size_t)s.cap_nodes, sizeof *s.nodes);
    s.bound_here = calloc((size_t)s.cap_nodes, sizeof *s.bound_here);
    s.pend = calloc((size_t)(in->npods + add + 1), sizeof *s.pend);
    if (!s.nodes || !s.bound_here || !s.pend) { rc = GS_ENOMEM; goto done; }
    if (in->nnodes) memcpy(s.nodes, in->nodes, sizeof *s.nodes * (size_t)in->nnodes);
    s.nnodes = in->nnodes;
    for (int32_t w = 0; w < in->nwl; w++) {
        if (desired[w] > current[w]) {
            for (int32_t k = current[w]; k < desired[w]; k++) {
                int32_t id = -(++s.ncreate);
                gs_action a = {.type = GS_ACT_CREATE_POD, .wl = w, .pod = id};
                if ((rc = emit(&s, a))) goto done;
                s.pend[s.npend++] = (pend){id, w, in->wls[w].pool, in->wls[w].need, false};
            }
        } else if (desired[w] < current[w]) {
            if ((rc = scale_in(&s, w, current[w] - desired[w]))) goto done;
        }
    }
    for (int32_t i = 0; i < in->npods; i++) {
        const gs_rc_pod *p = &in->pods[i];
        if (p->state != GS_RCP_PENDING || p->node >= 0) continue;
        bool deleted = false;
        for (int32_t j = 0; j < out->n && !deleted; j++)
            deleted = out->acts[j].type == GS_ACT_DELETE_POD && out->acts[j].pod == p->id;
        if (!deleted) s.pend[s.npend++] = (pend){p->id, p->wl, p->pool, p->need, false};
    }
    qsort(s.pend, (size_t)s.npend, sizeof *s.pend, cmp_pend);
    for (int32_t i = 0; i < s.npend; i++) {
        bool placed = false;
        /* 1: a free partition / GPU as configured, ready nodes first, fuller nodes first */
        for (int pass = 0; pass < 2 && !placed; pass++) {
            int32_t order_best = -1;
            for (int32_t ni = 0; ni < s.nnodes && !placed; ni++) {
                if (s.nodes[ni].ready != (pass == 0)) continue;
                (void)order_best;
                if ((rc = try_node(&s, i, ni, false, &placed))) goto done;
            }
        }
        /* 2: reconfigure an empty GPU */
        for (int32_t ni = 0; ni < s.nnodes && !placed; ni++)
            if ((rc = try_node(&s, i, ni, true, &placed))) goto done;
        /* 3: launch */
        if (!placed && (rc = launch_for(&s, i, &placed))) goto done;
    }
    /* consolidation: empty nodes go at once (consolidateAfter 0) */
    for (int32_t ni = 0; ni < in->nnodes; ni++) {
        const gs_rc_node *n = &s.nodes[ni];
        if (n->npods == 0 && !n->draining && !s.bound_here[ni]) {
            gs_action a = {.type = GS_ACT_DELETE_NODE, .node = n->id};
            if ((rc = emit(&s, a))) goto done;
        }
    }
done:
    free(desired);
    free(current);
    free(s.nodes);
    free(s.bound_here);
    free(s.pend);
    return rc;
}
