#include "policy/budget.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"

__extension__ typedef __int128 i128;

/* ---------------------------------------------------------------------------------------- */
/* Meter */

typedef struct rank_item {
    int64_t rem;
    int32_t order;
    int32_t idx;
} rank_item;

static int cmp_rank(const void *a, const void *b) {
    const rank_item *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return 0;
}

int gs_meter_split(gs_usd_u total, const int64_t *weights, const int32_t *order, int32_t n,
                   int64_t denom, gs_usd_u *out) {
    if (total < 0 || denom <= 0 || n < 0 || n > GS_METER_MAX_PARTS) return GS_EINVAL;
    int64_t wsum = 0;
    for (int32_t i = 0; i < n; i++) {
        if (weights[i] < 0) return GS_EINVAL;
        if (gs_add64(wsum, weights[i], &wsum)) return GS_EOVERFLOW;
    }
    if (wsum > denom) return GS_EINVAL;
    rank_item items[GS_METER_MAX_PARTS + 1];
    gs_usd_u given = 0;
    for (int32_t i = 0; i <= n; i++) {
        int64_t w = i < n ? weights[i] : denom - wsum;
        i128 p = (i128)total * w;
        out[i] = (gs_usd_u)(p / denom);
        items[i].rem = (int64_t)(p % denom);
        items[i].order = i < n ? (order ? order[i] : i) : INT32_MAX;
        items[i].idx = i;
        given += out[i];
    }
    gs_usd_u left = total - given; /* < n + 1 */
    qsort(items, (size_t)n + 1, sizeof items[0], cmp_rank);
    for (int32_t k = 0; k <= n && left > 0; k++, left--) out[items[k].idx]++;
    return 0;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* lcm with a ceiling so weights times a cost stay far inside 128 bits. */
static int lcm_into(int64_t *l, int64_t d) {
    if (d <= 0) return GS_EINVAL;
    int64_t g = gcd64(*l, d);
    int64_t r;
    if (gs_mul64(*l / g, d, &r) || r > (int64_t)1 << 40) return GS_EOVERFLOW;
    *l = r;
    return 0;
}

static int find_or_add_part(gs_meter_node *out, const char *project, const char *workload,
                            int32_t *idx) {
    int32_t lo = 0;
    for (; lo < out->nparts; lo++) {
        int c = strcmp(out->parts[lo].project, project);
        if (c == 0) c = strcmp(out->parts[lo].workload, workload);
        if (c == 0) {
            *idx = lo;
            return 0;
        }
        if (c > 0) break;
    }
    if (out->nparts >= GS_METER_MAX_PARTS) return GS_ETOOBIG;
    memmove(&out->parts[lo + 1], &out->parts[lo], (size_t)(out->nparts - lo) * sizeof out->parts[0]);
    memset(&out->parts[lo], 0, sizeof out->parts[lo]);
    snprintf(out->parts[lo].project, sizeof out->parts[lo].project, "%s", project);
    snprintf(out->parts[lo].workload, sizeof out->parts[lo].workload, "%s", workload);
    out->nparts++;
    *idx = lo;
    return 0;
}

static bool pod_holds(const gs_pod *p, int32_t node) {
    return p->node == node && p->phase != GS_POD_SUCCEEDED && p->phase != GS_POD_FAILED;
}

/* Per-GPU denominator: the units one GPU is divided into. */
static int gpu_denominator(const gs_gpu_state *g, const gs_gpu_model *m, int64_t *d) {
    switch (g->mode) {
    case GS_GPUMODE_WHOLE: *d = 1; return 0;
    case GS_GPUMODE_MIG:
        if (!m || m->mem_slices == 0) return GS_EINVAL;
        *d = m->mem_slices;
        return 0;
    case GS_GPUMODE_TIMESLICED:
        if (g->ts_replicas <= 0) return GS_EINVAL;
        *d = g->ts_replicas;
        return 0;
    case GS_GPUMODE_FRACTIONAL: *d = 1000; return 0;
    }
    return GS_EINVAL;
}

int gs_meter_node_split(const gs_snapshot *s, const gs_catalog *cat, int32_t node, gs_ms t0,
                        gs_ms t1, gs_meter_node *out, gs_error *err) {
    return gs_meter_node_split_idx(s, cat, node, NULL, 0, t0, t1, out, err);
}

int gs_meter_node_split_idx(const gs_snapshot *s, const gs_catalog *cat, int32_t node,
                            const int32_t *pods, int32_t npods, gs_ms t0, gs_ms t1,
                            gs_meter_node *out, gs_error *err) {
    int32_t nscan = pods ? npods : (s ? s->npods : 0);
    memset(out, 0, sizeof *out);
    if (!s || !cat || node < 0 || node >= s->nnodes)
        return gs_error_set(err, GS_EINVAL, "meter: no node %d in the snapshot", (int)node);
    const gs_node *n = &s->nodes[node];
    if (n->itype < 0 || n->itype >= cat->n)
        return gs_error_set(err, GS_EINVAL, "meter: node %s has an unknown instance type", n->name);
    if (t1 < t0 || t0 < n->created_at)
        return gs_error_set(err, GS_EINVAL,
                            "meter: node %s: interval [%lld, %lld) is not after its creation (%lld)",
                            n->name, (long long)t0, (long long)t1, (long long)n->created_at);
    const gs_itype *t = &cat->types[n->itype];
    out->price_per_hour = gs_itype_price(t, n->capacity);
    gs_usd_u c0, c1;
    if (gs_cost_for(out->price_per_hour, t0 - n->created_at, &c0) ||
        gs_cost_for(out->price_per_hour, t1 - n->created_at, &c1))
        return gs_error_set(err, GS_EOVERFLOW, "meter: node %s: cost out of range", n->name);
    out->total = c1 - c0;

    int rc;
    const gs_gpu_model *model = t->gpu_model >= 0 ? gs_gpu_get(t->gpu_model) : NULL;
    int32_t ngpus = n->ngpus;
    if (ngpus > GS_NODE_MAX_GPUS)
        return gs_error_set(err, GS_EINVAL, "meter: node %s has %d GPUs (max %d)", n->name,
                            (int)ngpus, GS_NODE_MAX_GPUS);
    if (ngpus > 0) {
        int64_t L = 1;
        for (int32_t g = 0; g < ngpus; g++) {
            int64_t d;
            if (gpu_denominator(&n->gpus[g], model, &d))
                return gs_error_set(err, GS_EINVAL,
                                    "meter: node %s GPU %d: mode %d without its geometry "
                                    "(MIG on a model without MIG, or 0 time-slicing replicas)",
                                    n->name, (int)g, (int)n->gpus[g].mode);
            if ((rc = lcm_into(&L, d))) return gs_error_set(err, rc, "meter: node %s: GPU denominators too large", n->name);
        }
        out->denom = L * ngpus;
        int64_t used[GS_NODE_MAX_GPUS] = {0};
        for (int32_t j = 0; j < nscan; j++) {
            int32_t i = pods ? pods[j] : j;
            if (i < 0 || i >= s->npods) return gs_error_set(err, GS_EINVAL, "meter: bad pod index %d", (int)i);
            const gs_pod *p = &s->pods[i];
            if (!pod_holds(p, node) || p->spec.gpu.form == GS_GPU_NONE) continue;
            int32_t g = p->gpu;
            const gs_gpu_req *r = &p->spec.gpu;
            if (g < 0 || g >= ngpus)
                return gs_error_set(err, GS_EINVAL, "meter: pod %s/%s holds GPU %d of node %s (it has %d)",
                                    p->ns, p->name, (int)g, n->name, (int)ngpus);
            const gs_gpu_state *gs = &n->gpus[g];
            int64_t w = 0;
            switch (r->form) {
            case GS_GPU_WHOLE:
                if (r->count < 1 || g + r->count > ngpus)
                    return gs_error_set(err, GS_EINVAL, "meter: pod %s/%s holds GPUs %d..%d of node %s (it has %d)",
                                        p->ns, p->name, (int)g, (int)(g + r->count - 1), n->name, (int)ngpus);
                for (int32_t k = g; k < g + r->count; k++) used[k] += L;
                w = L * r->count;
                break;
            case GS_GPU_MIG: {
                if (gs->mode != GS_GPUMODE_MIG || p->part < 0 || p->part >= gs->nparts)
                    return gs_error_set(err, GS_EINVAL, "meter: MIG pod %s/%s has no partition on node %s GPU %d",
                                        p->ns, p->name, n->name, (int)g);
                int prof = gs->parts[p->part].profile;
                if (prof < 0 || prof >= model->nprofiles)
                    return gs_error_set(err, GS_EINVAL, "meter: node %s GPU %d partition %d has a bad profile",
                                        n->name, (int)g, (int)p->part);
                w = L / model->mem_slices * model->profiles[prof].size;
                used[g] += w;
                break;
            }
            case GS_GPU_SHARED:
                if (gs->mode != GS_GPUMODE_TIMESLICED || r->count < 1)
                    return gs_error_set(err, GS_EINVAL, "meter: time-sliced pod %s/%s on node %s GPU %d which is not time-sliced",
                                        p->ns, p->name, n->name, (int)g);
                w = L / gs->ts_replicas * r->count;
                used[g] += w;
                break;
            case GS_GPU_FRACTION:
                if (gs->mode != GS_GPUMODE_FRACTIONAL || r->milli < 1 || r->milli > 1000)
                    return gs_error_set(err, GS_EINVAL, "meter: fractional pod %s/%s on node %s GPU %d which is not fractional",
                                        p->ns, p->name, n->name, (int)g);
                w = L / 1000 * r->milli;
                used[g] += w;
                break;
            case GS_GPU_NONE: break;
            }
            int32_t idx;
            if ((rc = find_or_add_part(out, p->project, p->workload, &idx)))
                return gs_error_set(err, rc, "meter: node %s has more than %d holders", n->name, GS_METER_MAX_PARTS);
            out->parts[idx].weight += w;
        }
        for (int32_t g = 0; g < ngpus; g++)
            if (used[g] > L)
                return gs_error_set(err, GS_EINVAL, "meter: node %s GPU %d is held more than once over",
                                    n->name, (int)g);
    } else {
        if (n->cpu_alloc <= 0 || n->mem_alloc <= 0)
            return gs_error_set(err, GS_EINVAL, "meter: node %s has no allocatable CPU or memory", n->name);
        if (gs_mul64(2 * n->cpu_alloc, n->mem_alloc, &out->denom))
            return gs_error_set(err, GS_EOVERFLOW, "meter: node %s: allocatable too large", n->name);
        int64_t sum = 0;
        for (int32_t j = 0; j < nscan; j++) {
            int32_t i = pods ? pods[j] : j;
            if (i < 0 || i >= s->npods) return gs_error_set(err, GS_EINVAL, "meter: bad pod index %d", (int)i);
            const gs_pod *p = &s->pods[i];
            if (!pod_holds(p, node)) continue;
            if (p->spec.gpu.form != GS_GPU_NONE)
                return gs_error_set(err, GS_EINVAL, "meter: GPU pod %s/%s on node %s without GPUs", p->ns,
                                    p->name, n->name);
            if (p->spec.cpu < 0 || p->spec.mem < 0)
                return gs_error_set(err, GS_EINVAL, "meter: pod %s/%s has negative requests", p->ns, p->name);
            int64_t a, b, w;
            if (gs_mul64(p->spec.cpu, n->mem_alloc, &a) || gs_mul64(p->spec.mem, n->cpu_alloc, &b) ||
                gs_add64(a, b, &w) || gs_add64(sum, w, &sum))
                return gs_error_set(err, GS_EOVERFLOW, "meter: pod %s/%s: requests too large", p->ns, p->name);
            int32_t idx;
            if ((rc = find_or_add_part(out, p->project, p->workload, &idx)))
                return gs_error_set(err, rc, "meter: node %s has more than %d holders", n->name, GS_METER_MAX_PARTS);
            out->parts[idx].weight += w;
        }
        if (sum > out->denom)
            return gs_error_set(err, GS_EINVAL, "meter: node %s: pods request more CPU/memory than it has",
                                n->name);
    }

    int64_t weights[GS_METER_MAX_PARTS];
    gs_usd_u usd[GS_METER_MAX_PARTS + 1];
    int64_t wsum = 0;
    for (int32_t i = 0; i < out->nparts; i++) {
        weights[i] = out->parts[i].weight;
        wsum += weights[i];
    }
    if ((rc = gs_meter_split(out->total, weights, NULL, out->nparts, out->denom, usd)))
        return gs_error_set(err, rc, "meter: node %s: cannot split", n->name);
    for (int32_t i = 0; i < out->nparts; i++) out->parts[i].usd = usd[i];
    gs_meter_part *idle = &out->parts[out->nparts];
    memset(idle, 0, sizeof *idle);
    snprintf(idle->project, sizeof idle->project, "%s", GS_METER_IDLE);
    idle->usd = usd[out->nparts];
    idle->weight = out->denom - wsum;
    out->nparts++;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Budget windows */

static gs_usd_u window_limit(const gs_budget *b, int w) {
    return w == GS_WIN_HOUR ? b->per_hour : w == GS_WIN_DAY ? b->per_day : b->per_month;
}

gs_usd_u gs_budget_project(gs_usd_u spent, gs_usd_u rate_per_hour, gs_usd_u extra_per_hour,
                           gs_ms now, gs_ms end) {
    gs_ms left = end > now ? end - now : 0;
    i128 rate = (i128)rate_per_hour + extra_per_hour;
    /* rounded up: the gate must never under-estimate what running nodes will cost */
    i128 v = (i128)spent + (rate * left + GS_HOUR(1) - 1) / GS_HOUR(1);
    return v > INT64_MAX ? INT64_MAX : (gs_usd_u)v;
}

int gs_budget_evaluate(const gs_budget_state *st, gs_ms now, gs_budget_eval *out, gs_error *err) {
    memset(out, 0, sizeof *out);
    if (!st || !st->budget) return gs_error_set(err, GS_EINVAL, "budget: no budget");
    if (st->rate_per_hour < 0)
        return gs_error_set(err, GS_EINVAL, "budget %s: negative burn rate", st->budget->name);
    for (int w = 0; w < GS_WIN__N; w++) {
        gs_window_eval *e = &out->w[w];
        if (st->spent[w] < 0)
            return gs_error_set(err, GS_EINVAL, "budget %s: negative spend", st->budget->name);
        if (now < st->periods.start[w] || now >= st->periods.end[w])
            return gs_error_set(err, GS_EINVAL, "budget %s: time %lld is outside the current %s",
                                st->budget->name, (long long)now, gs_window_name((gs_window)w));
        e->limit = window_limit(st->budget, w);
        e->limited = e->limit > 0;
        e->spent = st->spent[w];
        e->left = st->periods.end[w] - now;
        e->forecast = gs_budget_project(e->spent, st->rate_per_hour, 0, now, st->periods.end[w]);
        if (e->limited) {
            i128 pct = (i128)e->spent * 100 / e->limit;
            e->pct = pct > 100000 ? 100000 : (int32_t)pct;
            e->exceeded = e->spent >= e->limit;
            e->forecast_over = e->forecast > e->limit;
            if (e->exceeded) out->exceeded = true;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Gate */

void gs_budget_gate_init(gs_budget_gate_ctx *g, gs_ms now, gs_budget_state *states,
                         int32_t nstates, gs_usd_u *approved) {
    memset(g, 0, sizeof *g);
    g->now = now;
    g->states = states;
    g->nstates = nstates;
    g->approved = approved;
    g->cache_price = -1;
    for (int32_t i = 0; i < nstates; i++) approved[i] = 0;
}

static bool refuse_cached(gs_budget_gate_ctx *g, const char *project, gs_usd_u usd, char *why, size_t why_len) {
    if (g->cache_price < 0 || usd < g->cache_price || strcmp(g->cache_project, project) != 0) return false;
    if (why && why_len) snprintf(why, why_len, "%s", g->cache_why);
    g->refused++;
    return true;
}

static bool gate_refuse(gs_budget_gate_ctx *g, const char *project, gs_usd_u usd, char *why, size_t why_len) {
    g->refused++;
    if (g->cache_price < 0 || strcmp(g->cache_project, project) != 0 || usd < g->cache_price) {
        snprintf(g->cache_project, sizeof g->cache_project, "%s", project);
        g->cache_price = usd;
        snprintf(g->cache_why, sizeof g->cache_why, "%s", why && why_len ? why : "");
    }
    return false;
}

static void fmt_reason(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_reason(char *why, size_t why_len, const char *fmt, ...) {
    if (!why || why_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

bool gs_budget_gate(void *ctx, const char *project, gs_usd_u usd_per_hour, char *why,
                    size_t why_len) {
    gs_budget_gate_ctx *g = ctx;
    if (why && why_len) why[0] = '\0';
    if (!g || !project) return true;
    if (usd_per_hour < 0) usd_per_hour = 0;
    if (refuse_cached(g, project, usd_per_hour, why, why_len)) return false;
    char local[192];
    if (!why || why_len == 0) { /* keep a reason for the cache even when the caller wants none */
        why = local;
        why_len = sizeof local;
    }
    bool soft_crossed = false;
    for (int32_t i = 0; i < g->nstates; i++) {
        const gs_budget_state *st = &g->states[i];
        const gs_budget *b = st->budget;
        if (!b || strcmp(b->project, project) != 0) continue;
        bool hard = b->enforce == GS_ENFORCE_HARD;
        for (int w = 0; w < GS_WIN__N; w++) {
            gs_usd_u limit = window_limit(b, w);
            if (limit <= 0) continue;
            char sp[32], lim[32], rate[32], left[32], proj[32];
            gs_usd_u spent = st->spent[w];
            if (spent >= limit) {
                bool refuse = hard || b->on_exceeded != GS_ON_EXCEEDED_ALERT;
                if (refuse) {
                    fmt_reason(why, why_len, "budget %s: %s limit %s reached (spent %s; onExceeded %s)",
                               b->name, gs_window_name((gs_window)w), gs_fmt_usd(limit, lim, sizeof lim),
                               gs_fmt_usd(spent, sp, sizeof sp),
                               b->on_exceeded == GS_ON_EXCEEDED_BLOCK       ? "block"
                               : b->on_exceeded == GS_ON_EXCEEDED_SCALE_TO_MIN ? "scaleToMin"
                                                                            : "alert");
                    return gate_refuse(g, project, usd_per_hour, why, why_len);
                }
                continue;
            }
            gs_usd_u running;
            if (gs_add64(st->rate_per_hour, g->approved[i], &running)) running = INT64_MAX;
            gs_usd_u projected = gs_budget_project(spent, running, usd_per_hour, g->now, st->periods.end[w]);
            if (projected > limit) {
                fmt_reason(why, why_len, "budget %s: %s %s limit %s would be crossed: %s by period end (%s spent, %s/h for %s)",
                           b->name, hard ? "hard" : "soft", gs_window_name((gs_window)w),
                           gs_fmt_usd(limit, lim, sizeof lim), gs_fmt_usd(projected, proj, sizeof proj),
                           gs_fmt_usd(spent, sp, sizeof sp), gs_fmt_usd(running + usd_per_hour, rate, sizeof rate),
                           gs_fmt_duration(st->periods.end[w] - g->now, left, sizeof left));
                if (hard) return gate_refuse(g, project, usd_per_hour, why, why_len);
                soft_crossed = true;
                if (g->soft_mask) g->soft_mask[i] = (uint8_t)(g->soft_mask[i] | (1u << w));
            }
        }
    }
    for (int32_t i = 0; i < g->nstates; i++) {
        const gs_budget *b = g->states[i].budget;
        if (b && strcmp(b->project, project) == 0) {
            if (gs_add64(g->approved[i], usd_per_hour, &g->approved[i])) g->approved[i] = INT64_MAX;
        }
    }
    if (soft_crossed) g->soft_crossings++;
    return true;
}

bool gs_budget_gate_pool(void *ctx, int32_t pool, int32_t itype, gs_capacity cap, gs_ms now,
                         char *why, int why_len) {
    gs_budget_pool_gate_ctx *c = ctx;
    size_t wl = why_len > 0 ? (size_t)why_len : 0;
    if (wl) why[0] = '\0';
    if (!c || !c->gate || pool < 0 || pool >= c->npools || !c->pool_project || !c->pool_project[pool] ||
        !c->pool_project[pool][0])
        return true;
    if (now != c->gate->now) {
        fmt_reason(why, wl, "budget gate: asked at %lld but evaluated at %lld", (long long)now,
                   (long long)c->gate->now);
        return false;
    }
    if (!c->cat || itype < 0 || itype >= c->cat->n) {
        fmt_reason(why, wl, "budget gate: unknown instance type %d", (int)itype);
        return false;
    }
    return gs_budget_gate(c->gate, c->pool_project[pool], gs_itype_price(&c->cat->types[itype], cap), why, wl);
}

/* ---------------------------------------------------------------------------------------- */
/* Actions */

const char *gs_budget_action_name(gs_budget_action_kind k) {
    switch (k) {
    case GS_BACT_ALERT: return "alert";
    case GS_BACT_BLOCK: return "block";
    case GS_BACT_SCALE_TO_MIN: return "scaleToMin";
    case GS_BACT_SOFT_CROSSING: return "softCrossing";
    }
    return "?";
}

static void push_action(gs_budget_action *out, int32_t max, int32_t *n, gs_budget_action_kind k,
                        int32_t bi, const gs_budget_state *st, int w, int32_t pct,
                        const gs_window_eval *e) {
    if (*n < max) {
        gs_budget_action *a = &out[*n];
        memset(a, 0, sizeof *a);
        a->kind = k;
        a->budget = bi;
        a->window = (gs_window)w;
        a->pct = pct;
        a->period_start = st->periods.start[w];
        snprintf(a->project, sizeof a->project, "%s", st->budget->project);
        char sp[32], lim[32];
        snprintf(a->msg, sizeof a->msg, "budget %s (project %s): %s spend %s is %d%% of %s",
                 st->budget->name, st->budget->project, gs_window_name((gs_window)w),
                 gs_fmt_usd(e->spent, sp, sizeof sp), (int)e->pct, gs_fmt_usd(e->limit, lim, sizeof lim));
    }
    (*n)++;
}

int32_t gs_budget_actions(const gs_budget_state *states, int32_t nstates, gs_ms now,
                          gs_budget_action *out, int32_t max) {
    int32_t n = 0;
    for (int32_t i = 0; i < nstates; i++) {
        gs_budget_eval ev;
        if (gs_budget_evaluate(&states[i], now, &ev, NULL)) continue;
        const gs_budget *b = states[i].budget;
        bool enforce_done = false;
        for (int w = 0; w < GS_WIN__N; w++) {
            const gs_window_eval *e = &ev.w[w];
            if (!e->limited) continue;
            int32_t best = -1;
            for (int32_t k = 0; k < b->nalerts && k < GS_MAX_ALERTS; k++)
                if (b->alert_pct[k] > 0 && e->pct >= b->alert_pct[k] && b->alert_pct[k] > best)
                    best = b->alert_pct[k];
            if (e->exceeded && best < 100) best = 100;
            if (best > 0) push_action(out, max, &n, GS_BACT_ALERT, i, &states[i], w, best, e);
            if (e->exceeded && !enforce_done) {
                if (b->on_exceeded == GS_ON_EXCEEDED_BLOCK)
                    push_action(out, max, &n, GS_BACT_BLOCK, i, &states[i], w, e->pct, e);
                else if (b->on_exceeded == GS_ON_EXCEEDED_SCALE_TO_MIN)
                    push_action(out, max, &n, GS_BACT_SCALE_TO_MIN, i, &states[i], w, e->pct, e);
                enforce_done = true;
            }
        }
    }
    return n;
}

int32_t gs_budget_soft_actions(const gs_budget_gate_ctx *g, gs_budget_action *out, int32_t max) {
    int32_t n = 0;
    if (!g->soft_mask) return 0;
    for (int32_t i = 0; i < g->nstates; i++) {
        const gs_budget_state *st = &g->states[i];
        for (int w = 0; w < GS_WIN__N; w++) {
            if (!(g->soft_mask[i] & (1u << w))) continue;
            gs_usd_u limit = window_limit(st->budget, w);
            if (limit <= 0) continue;
            gs_window_eval e;
            memset(&e, 0, sizeof e);
            e.limit = limit;
            e.spent = st->spent[w];
            gs_usd_u rate;
            if (gs_add64(st->rate_per_hour, g->approved[i], &rate)) rate = INT64_MAX;
            e.forecast = gs_budget_project(e.spent, rate, 0, g->now, st->periods.end[w]);
            i128 pct = (i128)e.forecast * 100 / limit;
            e.pct = pct > 100000 ? 100000 : (int32_t)pct;
            push_action(out, max, &n, GS_BACT_SOFT_CROSSING, i, st, w, e.pct, &e);
            if (n <= max && n > 0) {
                char f[32], l[32];
                snprintf(out[n - 1].msg, sizeof out[n - 1].msg,
                         "budget %s (project %s): launches allowed past the soft %s limit %s: forecast %s",
                         st->budget->name, st->budget->project, gs_window_name((gs_window)w),
                         gs_fmt_usd(limit, l, sizeof l), gs_fmt_usd(e.forecast, f, sizeof f));
            }
        }
    }
    return n;
}

bool gs_budget_hard_hit(const gs_budget_state *states, int32_t nstates, const char *project,
                        gs_ms now) {
    for (int32_t i = 0; i < nstates; i++) {
        const gs_budget *b = states[i].budget;
        if (!b || b->enforce != GS_ENFORCE_HARD || strcmp(b->project, project) != 0) continue;
        gs_budget_eval ev;
        if (gs_budget_evaluate(&states[i], now, &ev, NULL)) continue;
        if (ev.exceeded) return true;
    }
    return false;
}
