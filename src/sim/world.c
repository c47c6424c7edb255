/* The simulated world and the five policies. See sim.h and docs/simulate.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/budget.h"
#include "policy/mig.h"
#include "policy/reconcile.h"
#include "sim/heap.h"
#include "sim/rng.h"
#include "sim/sim.h"

static const char *const POLNAMES[GS_POL__N] = {"static-peak", "cluster-autoscaler",
                                                 "karpenter-keda", "gpuscale", "oracle"};

const char *gs_policy_name(gs_policy p) { return (unsigned)p < GS_POL__N ? POLNAMES[p] : "?"; }

int gs_policy_parse(const char *s) {
    for (int i = 0; i < GS_POL__N; i++)
        if (strcmp(s, POLNAMES[i]) == 0) return i;
    return -1;
}

static int32_t ref_tflops(void) {
    const gs_gpu_model *h = gs_gpu_get(gs_gpu_find("h100-80gb"));
    return h ? h->fp16_tflops : 989;
}

int32_t gs_sim_speed_factor(const gs_gpu_model *m, int32_t sat, int32_t share_milli) {
    /* compute the workload wants: sat/7 of the reference GPU; compute the slot gives:
     * share of m's FP16 TFLOPS. Slower only when the slot gives less than it wants. */
    double want = (double)sat / 7.0 * (double)ref_tflops();
    double have = (double)share_milli / 1000.0 * (double)(m ? m->fp16_tflops : ref_tflops());
    if (have <= 0) return INT32_MAX / 4;
    double f = want / have;
    if (f < 1) f = 1;
    double v = f * 1000.0;
    return v > 1e9 ? 1000000000 : (int32_t)llround(v);
}

/* ------------------------------------------------------------------ input */

void gs_sim_input_free(gs_sim_input *in) {
    free(in->reqs);
    free(in->jobs);
    memset(in, 0, sizeof *in);
}

static int cmp_sreq(const void *a, const void *b) {
    const gs_sim_req *x = a, *y = b;
    if (x->at != y->at) return (x->at > y->at) - (x->at < y->at);
    return (x->wl > y->wl) - (x->wl < y->wl);
}

static void keep_msgs(gs_sim_input *in, const char *file, const gs_trace_stats *st) {
    in->bad_rows += st->bad;
    for (int32_t i = 0; i < st->nmsgs && in->nmsgs < GS_TRACE_KEEP_MSGS; i++)
        snprintf(in->msgs[in->nmsgs++], sizeof in->msgs[0], "%.120s:%lld: %.60s", file,
                 (long long)st->msgs[i].line, st->msgs[i].why);
}

int gs_sim_prepare(const gs_scenario *sc, bool strict, gs_sim_input *in, gs_error *err) {
    memset(in, 0, sizeof *in);
    if (sc->nwl == 0 && !sc->jobs_path[0] && sc->nenvs == 0)
        return gs_error_set(err, GS_EINVAL, "scenario %s has no traffic (workloads, jobs or environments): give --trace FILE", sc->name);
    gs_rng rng;
    gs_rng_seed(&rng, sc->seed);
    int64_t cap = 0;
    for (int32_t w = 0; w < sc->nwl; w++) {
        const gs_sim_workload *wl = &sc->wl[w];
        gs_llm_trace sizes = {0}, gen = {0};
        int rc = gs_trace_azure_load(wl->sizes_path, strict, &sizes, err);
        if (rc) {
            gs_sim_input_free(in);
            return rc;
        }
        bool seen = false; /* a file shared by several workloads counts its bad rows once */
        for (int32_t k = 0; k < w; k++) seen |= strcmp(sc->wl[k].sizes_path, wl->sizes_path) == 0;
        if (!seen) keep_msgs(in, wl->sizes_path, &sizes.st);
        const gs_llm_trace *src = &sizes;
        if (wl->traffic == GS_TRAFFIC_SYNTH) {
            gs_synth_params p = wl->synth;
            p.duration = sc->duration + sc->warmup;
            /* the curve keeps its clock: shift the phase so t = 0 is still midnight */
            p.peak_hour = fmod(wl->synth.peak_hour + (double)sc->warmup / 3600000.0, 24.0);
            rc = gs_trace_synth(&p, &sizes, &rng, &gen, err);
            if (rc) {
                gs_llm_trace_free(&sizes);
                gs_llm_trace_free(&gen);
                gs_sim_input_free(in);
                return rc;
            }
            src = &gen;
        }
        for (int64_t i = 0; i < src->n; i++) {
            gs_ms at = src->v[i].at;
            if (wl->traffic == GS_TRAFFIC_SYNTH) at -= sc->warmup;
            if (wl->traffic == GS_TRAFFIC_TRACE) at = (gs_ms)((double)at / wl->trace_speedup);
            if (at >= sc->duration) continue;
            if (in->nreq == cap) {
                cap = cap ? cap * 2 : 65536;
                gs_sim_req *nr = realloc(in->reqs, (size_t)cap * sizeof *nr);
                if (!nr) {
                    gs_llm_trace_free(&sizes);
                    gs_llm_trace_free(&gen);
                    gs_sim_input_free(in);
                    return gs_error_set(err, GS_ENOMEM, "out of memory");
                }
                in->reqs = nr;
            }
            double svc = wl->base_ms + wl->ms_per_in * src->v[i].ctx + wl->ms_per_out * src->v[i].gen;
            if (svc < 1) svc = 1;
            if (svc > 3.6e6) svc = 3.6e6;
            in->reqs[in->nreq++] = (gs_sim_req){at, w, (int32_t)llround(svc)};
        }
        gs_llm_trace_free(&sizes);
        gs_llm_trace_free(&gen);
    }
    if (in->nreq) qsort(in->reqs, (size_t)in->nreq, sizeof *in->reqs, cmp_sreq);
    while (in->first_counted < in->nreq && in->reqs[in->first_counted].at < 0) in->first_counted++;
    in->start = in->nreq && in->reqs[0].at < 0 ? -sc->warmup : 0;
    if (sc->jobs_path[0]) {
        gs_job_trace jt = {0};
        int rc = gs_trace_openb_load(sc->jobs_path, strict, &jt, err);
        if (rc) {
            gs_sim_input_free(in);
            return rc;
        }
        keep_msgs(in, sc->jobs_path, &jt.st);
        in->cpu_only_jobs = jt.cpu_only;
        int64_t n = jt.n;
        if (sc->jobs_limit > 0 && n > sc->jobs_limit) n = sc->jobs_limit;
        in->jobs = malloc((size_t)n * sizeof *in->jobs);
        if (!in->jobs) {
            gs_job_trace_free(&jt);
            gs_sim_input_free(in);
            return gs_error_set(err, GS_ENOMEM, "out of memory");
        }
        for (int64_t i = 0; i < n; i++) {
            gs_job j = jt.v[i];
            if (j.create >= sc->duration) break;
            if (j.end > sc->duration) j.end = sc->duration;
            if (j.end <= j.create) continue;
            in->jobs[in->njobs++] = j;
        }
        gs_job_trace_free(&jt);
    }
    return 0;
}

/* ------------------------------------------------------------------ world state */

#define GS_NEVER (INT64_MIN / 4) /* "no such time" (sim times may be negative in the warm-up) */

enum { EV_DONE, EV_POD_READY, EV_NODE_READY, EV_GPU_READY, EV_TICK, EV_POLL, EV_SAMPLE,
       EV_KILL, EV_JOB, EV_JOB_END, EV_ENV_POD_END, EV_ENV_WAKE, EV_RECLAIM };

enum { NS_BOOTING, NS_READY, NS_GONE };
enum { PS_PENDING, PS_BOUND, PS_STARTING, PS_IDLE, PS_BUSY, PS_GONE };

typedef struct wnode {
    int32_t itype, pool;
    gs_capacity cap;
    uint8_t state;
    bool doomed;          /* spot interruption notice received */
    uint8_t ngpus;
    gs_ms launched, ready_at, empty_since;
    gs_usd_u price;
    uint32_t gen;
    int32_t npods, live_pos;
    gs_mcpu cpu_used;
    gs_mib mem_used;
    gs_gpu_state g[GS_NODE_MAX_GPUS];
    gs_ms g_ready[GS_NODE_MAX_GPUS];   /* GPU usable from (after a MIG reconfiguration) */
    bool g_reconf[GS_NODE_MAX_GPUS];   /* reconfiguration waits for the node to boot */
    bool claimed;         /* a pod was bound to it (or it was part of a warm static group) */
    int32_t env;          /* environment it was launched for (its first pod's), -1: none */
    int32_t zone;         /* 0..zones-1 */
    bool repack;          /* gpuscale is emptying it (make-before-break repack) */
    int32_t seq;          /* launch ordinal in this run (spot reclaim draws) */
    gs_mib g_mem[GS_NODE_MAX_GPUS]; /* GPU memory held by pods (time-sliced/fractional GPUs) */
} wnode;

typedef struct wpod {
    int32_t wl;           /* -1: a job pod */
    int32_t job;
    uint8_t state;
    bool terminating;     /* finishes its request, then goes */
    bool doomed;          /* its node got a spot notice and a replacement exists */
    int8_t gpu, part;
    int32_t node, req, live_pos;
    uint32_t gen;
    int32_t factor;       /* service-time factor x1000 */
    int32_t share_milli;  /* GPU share it holds (for GPU-hours busy) */
    gs_ms busy_since, created;
    gs_rc_need need;
    int32_t pool;
    int32_t env;          /* environment Job pod: index into sc->envs; -1: not one */
    bool ts;              /* on a time-sliced GPU: served by processor sharing */
    uint32_t run_gen;     /* EV_DONE generation (a time-sliced request is rescheduled) */
    double ts_work;       /* time-sliced: full-GPU ms of the request left */
    double ts_work0;      /* ... at its start */
    gs_ms ts_at;          /* ts_work is as of this time */
} wpod;

typedef struct wlst {
    int32_t *order;  /* request indices of this workload, by arrival */
    int64_t n, head, tail;
    int32_t *retry;  /* requeued requests, served first (LIFO of a few) */
    int32_t nretry, cap_retry;
    int32_t *idle;   /* stack of idle pod ids (lazy: entries may be stale) */
    int32_t nidle, cap_idle;
    int32_t replicas; /* live pods, not terminating, not doomed */
    int32_t ready, busy;
    double busy_int, ready_int; /* pod-ms integrals */
    gs_ms int_at;
    int64_t metric_snap;        /* KEDA's last poll (x1000) */
    double util_prev_busy, util_prev_ready;
    gs_scaler scaler;           /* the policy's scaler for this workload (policy/scale) */
    gs_scale_state st;
    gs_ms rate_start;           /* HPA scale-up rate limit: start of the 15 s period */
    int32_t rate_base;
} wlst;

typedef struct W {
    const gs_scenario *sc;
    const gs_catalog *cat;
    const gs_sim_input *in;
    gs_policy pol;
    const gs_sim_opts *opts;
    gs_sim_result *res;
    gs_rng rng;
    gs_heap h;
    gs_ms now, end;
    wnode *nodes;
    int32_t nn, capn;
    int32_t *live_nodes;
    int32_t nlive_nodes;
    wpod *pods;
    int32_t np, capp;
    int32_t *live_pods;
    int32_t nlive_pods;
    wlst ws[GS_SIM_MAX_WL];
    int32_t *wait;     /* per request, -1 until it starts */
    uint8_t *done;     /* per request completions */
    int64_t next_req, next_job;
    gs_ms *job_wait;   /* per job */
    double price_sum;  /* micro-dollars per hour of running nodes */
    gs_ms price_at;
    int32_t sample_i;
    /* baselines */
    int32_t base_type;      /* CA/static node group type */
    gs_capacity base_cap;
    gs_ms batch_start, batch_last;
    int32_t batch_pending;
    gs_ms last_scale_up;
    /* cost per project and budgets (issue 6) */
    int32_t pool_proj[GS_SIM_MAX_POOLS];          /* index into res->proj, -1: none */
    const char *pool_project[GS_SIM_MAX_POOLS];   /* the pool's project name or NULL */
    double proj_rate[GS_SIM_MAX_WL];              /* micro-dollars/hour running, per project */
    double proj_acc[GS_SIM_MAX_WL];               /* micro-dollars metered since t = 0 */
    gs_ms proj_at;
    gs_ms win_start[GS_SIM_MAX_BUDGETS][GS_WIN__N];  /* current period starts */
    double win_acc0[GS_SIM_MAX_BUDGETS][GS_WIN__N];  /* proj_acc at those starts */
    bool capped[GS_SIM_MAX_WL];                   /* workload held at minReplicas by scaleToMin */
    int oom;
    int64_t outstanding; /* requests and jobs not finished yet */
    bool dirty;          /* jobs-only runs: the cluster changed since the last tick */
    bool tick_armed;     /* a tick is in the heap */
    bool in_tick;
    bool pack_dirty;     /* pods or nodes changed since gpuscale's last plan */
    bool pack_stuck;     /* the last plan placed nothing */
    gs_ms pack_at;
    char fail[GS_ERROR_MSG_MAX]; /* why a step failed (other than memory) */
    gs_ms every;
    gs_env_status est[GS_SIM_MAX_ENVS]; /* environments, as policy/envs sees them */
    int32_t next_zone;   /* baselines: zones in turn (an ASG / CreateFleet spreads across AZs) */
    int32_t launches;    /* node launch ordinal */
} W;

/* Jobs-only runs tick only while there is something to decide; any change re-arms the tick
 * at the next multiple of the policy's interval (same decision times as ticking always). */
static void push(W *w, gs_ms at, int type, int32_t a, int32_t b, uint32_t gen);
static void mark(W *w) {
    w->dirty = true;
    w->pack_dirty = true;
    if (w->tick_armed || w->in_tick || w->every <= 0) return;
    /* next multiple of the interval strictly after now */
    gs_ms t = w->now - ((w->now % w->every) + w->every) % w->every + w->every;
    w->tick_armed = true;
    push(w, t, EV_TICK, 0, 0, 0);
}

static void *grow(void *p, int32_t *cap, int32_t need, size_t elem, int *oom) {
    if (need <= *cap) return p;
    int32_t nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *np = realloc(p, (size_t)nc * elem);
    if (!np) {
        *oom = 1;
        return p;
    }
    *cap = nc;
    return np;
}

static void push(W *w, gs_ms at, int type, int32_t a, int32_t b, uint32_t gen) {
    if (gs_heap_push(&w->h, at, type, a, b, gen)) w->oom = 1;
}

static const gs_itype *ntype(const W *w, const wnode *n) { return &w->cat->types[n->itype]; }
static const gs_gpu_model *nmodel(const W *w, const wnode *n) {
    return gs_gpu_get(ntype(w, n)->gpu_model);
}

/* ---- budgets: periods of virtual time (t = 0 is the scenario's startsAt, default
 * 1970-01-01T00:00Z), UTC or the budget's timezone (resolved at scenario load) ---- */

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The period of window win containing sim time t for budget b: local hours, days and
 * months of its timezone (resolved at scenario load), at the scenario's startsAt + t. */
static void period_of_utc(gs_ms t, int win, gs_ms *start, gs_ms *end);
static void period_of(const W *w, int32_t b, gs_ms t, int win, gs_ms *start, gs_ms *end) {
    const gs_sim_tzcal *z = &w->sc->tzcal[b];
    gs_ms at = w->sc->starts_at + t;
    if (z->ndays < 2) {
        period_of_utc(at, win, start, end);
    } else {
        const gs_ms *v = win == GS_WIN_MONTH ? z->month : z->day;
        int32_t n = win == GS_WIN_MONTH ? z->nmonths : z->ndays;
        if (at < v[0] || at >= v[n - 1]) {
            /* outside the resolved span (cannot happen within duration + 48 h): UTC */
            period_of_utc(at, win, start, end);
        } else {
            int32_t lo = 0, hi = n - 1; /* v[lo] <= at < v[hi] */
            while (hi - lo > 1) {
                int32_t mid = (lo + hi) / 2;
                if (v[mid] <= at) lo = mid;
                else hi = mid;
            }
            *start = v[lo];
            *end = v[hi];
            if (win == GS_WIN_HOUR) { /* local hours: whole hours from the local midnight */
                gs_ms ds = *start, de = *end;
                *start = ds + (at - ds) / GS_HOUR(1) * GS_HOUR(1);
                *end = *start + GS_HOUR(1) < de ? *start + GS_HOUR(1) : de;
            }
        }
    }
    *start -= w->sc->starts_at;
    *end -= w->sc->starts_at;
}

static void period_of_utc(gs_ms t, int win, gs_ms *start, gs_ms *end) {
    const gs_ms day = GS_HOUR(24);
    if (win == GS_WIN_HOUR) {
        *start = t - t % GS_HOUR(1);
        *end = *start + GS_HOUR(1);
    } else if (win == GS_WIN_DAY) {
        *start = t - t % day;
        *end = *start + day;
    } else {
        int64_t z = t / day + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2;
        *start = days_from_civil(y, m, 1) * day;
        *end = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) * day;
    }
}

/* The most a budget's project spent in one period of each window (metered). */
static void budget_note(W *w, int32_t b, int win, double spent) {
    gs_usd_u v = spent > 0 ? (gs_usd_u)llround(spent) : 0;
    if (v > w->res->budget_max[b][win]) w->res->budget_max[b][win] = v;
}

static void budget_close(W *w) {
    for (int32_t b = 0; b < w->sc->nbudgets; b++) {
        int32_t p = -1;
        for (int32_t k = 0; k < w->res->nproj; k++)
            if (strcmp(w->res->proj[k], w->sc->budgets[b].project) == 0) p = k;
        for (int win = 0; win < GS_WIN__N; win++)
            budget_note(w, b, win, p < 0 ? 0 : w->proj_acc[p] - w->win_acc0[b][win]);
    }
}

/* Meters every project up to now (t >= 0 only, like the bill), noting the spend at each
 * budget period start crossed on the way (rates are constant between calls). */
static void proj_integrate(W *w) {
    gs_ms from = w->proj_at < 0 ? 0 : w->proj_at;
    if (w->now <= from) return;
    for (int32_t b = 0; b < w->sc->nbudgets; b++) {
        int32_t p = -1;
        for (int32_t k = 0; k < w->res->nproj; k++)
            if (strcmp(w->res->proj[k], w->sc->budgets[b].project) == 0) p = k;
        for (int win = 0; win < GS_WIN__N; win++) {
            gs_ms ps, pe;
            period_of(w, b, w->now, win, &ps, &pe);
            if (ps > w->win_start[b][win]) {
                double at_ps = p < 0 ? 0 : w->proj_acc[p] + w->proj_rate[p] * (double)(ps - from) / 3600000.0;
                budget_note(w, b, win, at_ps - w->win_acc0[b][win]);
                w->win_start[b][win] = ps;
                w->win_acc0[b][win] = at_ps;
            }
        }
    }
    for (int32_t k = 0; k < w->res->nproj; k++) w->proj_acc[k] += w->proj_rate[k] * (double)(w->now - from) / 3600000.0;
    w->proj_at = w->now;
}

static void integrate(W *w) {
    proj_integrate(w);
    gs_ms from = w->price_at < 0 ? 0 : w->price_at;
    if (w->now > from) w->res->cost_integral += w->price_sum * (double)(w->now - from) / 3600000.0;
    w->price_at = w->now;
}

static void wl_integrate(W *w, int32_t k) {
    wlst *s = &w->ws[k];
    double dt = (double)(w->now - s->int_at);
    s->busy_int += dt * s->busy;
    s->ready_int += dt * s->ready;
    s->int_at = w->now;
}

/* ------------------------------------------------------------------ nodes */

static int32_t node_launch(W *w, int32_t itype, gs_capacity cap, int32_t pool, bool warm, int32_t zone) {
    int32_t cap0 = w->capn;
    w->nodes = grow(w->nodes, &w->capn, w->nn + 1, sizeof *w->nodes, &w->oom);
    if (w->oom) return -1;
    if (w->capn != cap0) {
        int32_t c2 = cap0;
        w->live_nodes = grow(w->live_nodes, &c2, w->capn, sizeof *w->live_nodes, &w->oom);
        if (w->oom) return -1;
    }
    int32_t id = w->nn++;
    wnode *n = &w->nodes[id];
    memset(n, 0, sizeof *n);
    const gs_itype *t = &w->cat->types[itype];
    n->itype = itype;
    n->pool = pool;
    n->cap = cap;
    n->ngpus = (uint8_t)(t->gpus > GS_NODE_MAX_GPUS ? GS_NODE_MAX_GPUS : t->gpus);
    n->launched = w->now;
    n->empty_since = w->now;
    n->price = gs_itype_price(t, cap);
    n->env = -1;
    n->claimed = warm;
    int32_t nz = w->sc->zones > 0 ? w->sc->zones : 1;
    n->zone = zone >= 0 && zone < nz ? zone : w->next_zone++ % nz;
    n->seq = w->launches++;
    for (int g = 0; g < GS_NODE_MAX_GPUS; g++) n->g_ready[g] = INT64_MIN / 2;
    n->live_pos = w->nlive_nodes;
    w->live_nodes[w->nlive_nodes++] = id;
    integrate(w);
    w->price_sum += (double)n->price;
    if (pool >= 0 && pool < GS_SIM_MAX_POOLS && w->pool_proj[pool] >= 0) w->proj_rate[w->pool_proj[pool]] += (double)n->price;
    if (w->now >= 0) w->res->nodes_launched++;
    if (w->now >= 0 && w->nlive_nodes > w->res->peak_nodes) w->res->peak_nodes = w->nlive_nodes;
    const gs_boot_dist *b = gs_scenario_boot(w->sc, t->family);
    gs_ms boot = warm ? 0 : gs_rng_range(&w->rng, b->min, b->max);
    n->state = NS_BOOTING;
    push(w, w->now + boot, EV_NODE_READY, id, 0, n->gen);
    return id;
}

static void node_end(W *w, int32_t id) {
    wnode *n = &w->nodes[id];
    if (n->state == NS_GONE) return;
    integrate(w);
    w->price_sum -= (double)n->price;
    int32_t pj = n->pool >= 0 && n->pool < GS_SIM_MAX_POOLS ? w->pool_proj[n->pool] : -1;
    if (pj >= 0) w->proj_rate[pj] -= (double)n->price;
    n->state = NS_GONE;
    n->gen++;
    /* billing counts from t = 0: a node launched during the warm-up is already running */
    gs_ms from = n->launched < 0 ? 0 : n->launched;
    gs_ms dur = w->now > from ? w->now - from : 0;
    gs_ms billed = (dur + 999) / 1000 * 1000;
    if (n->launched >= 0 && billed < w->sc->bill_min) billed = w->sc->bill_min;
    gs_usd_u c = 0;
    gs_cost_for(n->price, billed, &c);
    w->res->cost += c;
    if (pj >= 0) w->res->proj_cost[pj] += c;
    if (n->env >= 0) w->res->env[n->env].cost += c;
    w->res->cost_topup += (double)n->price * (double)(billed - dur) / 3600000.0;
    w->res->gpu_h_bought += (double)billed * n->ngpus / 3600000.0;
    int32_t pos = n->live_pos, last = w->live_nodes[--w->nlive_nodes];
    w->live_nodes[pos] = last;
    w->nodes[last].live_pos = pos;
}

/* ------------------------------------------------------------------ pods */

static void set_state(W *w, wpod *p, uint8_t st) {
    if (p->wl >= 0) {
        wl_integrate(w, p->wl);
        wlst *s = &w->ws[p->wl];
        bool was_ready = p->state == PS_IDLE || p->state == PS_BUSY;
        bool is_ready = st == PS_IDLE || st == PS_BUSY;
        s->ready += (int32_t)is_ready - (int32_t)was_ready;
        s->busy += (int32_t)(st == PS_BUSY) - (int32_t)(p->state == PS_BUSY);
    }
    p->state = st;
}

/* A replica of workload wl (>= 0), a pod of trace job `job` (>= 0), or a Job pod of
 * environment env (>= 0). */
static int32_t pod_create(W *w, int32_t wl, int32_t job, int32_t env) {
    int32_t cap0 = w->capp;
    w->pods = grow(w->pods, &w->capp, w->np + 1, sizeof *w->pods, &w->oom);
    if (w->oom) return -1;
    if (w->capp != cap0) {
        int32_t c2 = cap0;
        w->live_pods = grow(w->live_pods, &c2, w->capp, sizeof *w->live_pods, &w->oom);
        if (w->oom) return -1;
    }
    int32_t id = w->np++;
    wpod *p = &w->pods[id];
    memset(p, 0, sizeof *p);
    p->wl = wl;
    p->job = job;
    p->node = -1;
    p->gpu = p->part = -1;
    p->req = -1;
    p->created = w->now;
    p->state = PS_PENDING;
    p->env = env;
    if (env >= 0) {
        p->need = w->sc->envs[env].need;
        p->pool = w->sc->envs[env].pool;
    } else if (wl >= 0) {
        p->need = w->sc->wl[wl].need;
        p->pool = w->sc->wl[wl].pool;
        w->ws[wl].replicas++;
    } else {
        const gs_job *j = &w->in->jobs[job];
        memset(&p->need, 0, sizeof p->need);
        p->need.cpu = j->cpu;
        p->need.mem = j->mem;
        if (j->gpu_milli < 1000) p->need.compute = (j->gpu_milli * 7 + 999) / 1000;
        else p->need.whole = j->num_gpu;
        p->pool = w->sc->jobs_pool;
    }
    p->live_pos = w->nlive_pods;
    w->live_pods[w->nlive_pods++] = id;
    mark(w);
    return id;
}

static void free_slot(W *w, wpod *p) {
    if (p->node < 0) return;
    wnode *n = &w->nodes[p->node];
    if (p->gpu >= 0) {
        gs_gpu_state *gg = &n->g[p->gpu];
        if (p->part >= 0) {
            gg->parts[p->part].used = false;
            gg->pods--;
        } else if (gg->mode == GS_GPUMODE_TIMESLICED || gg->mode == GS_GPUMODE_FRACTIONAL) {
            if (gg->mode == GS_GPUMODE_TIMESLICED) gg->ts_used--;
            else gg->milli_used = (int16_t)(gg->milli_used - p->share_milli);
            gg->pods--;
            n->g_mem[p->gpu] -= p->need.mem_mib;
        } else {
            int32_t left = p->need.whole > 0 ? p->need.whole : 1;
            for (int g = 0; g < n->ngpus && left > 0; g++) {
                /* whole GPUs held by this pod were marked from p->gpu on, skipping others */
                if (g < p->gpu || !n->g[g].whole_used) continue;
                n->g[g].whole_used = false;
                n->g[g].pods--;
                left--;
            }
        }
    }
    n->npods--;
    n->cpu_used -= p->need.cpu;
    n->mem_used -= p->need.mem;
    if (n->npods == 0) n->empty_since = w->now;
    p->node = -1;
    p->gpu = p->part = -1;
}

/* ---- time-sliced GPUs: the busy replicas of one GPU share it in equal turns (processor
 * sharing); each request carries the full-GPU milliseconds it needs (ts_work), consumed at
 * 1/k per ms while k replicas are busy. Settle before k changes, reschedule after. */
static int32_t ts_busy(const W *w, int32_t nid, int g) {
    int32_t k = 0;
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        const wpod *q = &w->pods[w->live_pods[i]];
        k += q->ts && q->node == nid && q->gpu == g && q->state == PS_BUSY;
    }
    return k;
}

static void ts_settle(W *w, int32_t nid, int g) {
    int32_t k = ts_busy(w, nid, g);
    if (k == 0) return;
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        wpod *q = &w->pods[w->live_pods[i]];
        if (!q->ts || q->node != nid || q->gpu != g || q->state != PS_BUSY) continue;
        q->ts_work -= (double)(w->now - q->ts_at) / k;
        if (q->ts_work < 0) q->ts_work = 0;
        q->ts_at = w->now;
    }
}

static void ts_resched(W *w, int32_t nid, int g) {
    int32_t k = ts_busy(w, nid, g);
    for (int32_t i = 0; i < w->nlive_pods && k > 0; i++) {
        int32_t pid = w->live_pods[i];
        wpod *q = &w->pods[pid];
        if (!q->ts || q->node != nid || q->gpu != g || q->state != PS_BUSY) continue;
        gs_ms d = (gs_ms)ceil(q->ts_work * k - 1e-6);
        if (d < 1) d = 1;
        q->run_gen++;
        push(w, w->now + d, EV_DONE, pid, (int32_t)q->run_gen, q->gen);
    }
}

static void pod_gone(W *w, int32_t id) {
    wpod *p = &w->pods[id];
    if (p->state == PS_GONE) return;
    int32_t tsn = -1, tsg = -1;
    if (p->ts && p->state == PS_BUSY) {
        tsn = p->node;
        tsg = p->gpu;
        ts_settle(w, tsn, tsg);
    }
    if (p->wl >= 0 && !p->terminating && !p->doomed) w->ws[p->wl].replicas--;
    free_slot(w, p);
    set_state(w, p, PS_GONE);
    p->gen++;
    int32_t pos = p->live_pos, last = w->live_pods[--w->nlive_pods];
    w->live_pods[pos] = last;
    w->pods[last].live_pos = pos;
    if (tsn >= 0) ts_resched(w, tsn, tsg);
    mark(w);
}

static void requeue(W *w, int32_t wl, int32_t req) {
    wlst *s = &w->ws[wl];
    s->retry = grow(s->retry, &s->cap_retry, s->nretry + 1, sizeof *s->retry, &w->oom);
    if (w->oom) return;
    s->retry[s->nretry++] = req;
    w->res->requeued++;
}

/* Deletes a pod. graceful: a busy pod finishes its request first. */
static void pod_delete(W *w, int32_t id, bool graceful) {
    wpod *p = &w->pods[id];
    if (p->state == PS_GONE) return;
    if (p->state == PS_BUSY && graceful) {
        if (!p->terminating && !p->doomed && p->wl >= 0) w->ws[p->wl].replicas--;
        p->terminating = true;
        return;
    }
    if (p->state == PS_BUSY && p->wl >= 0 && p->req >= 0) requeue(w, p->wl, p->req);
    pod_gone(w, id);
}

static int64_t queue_len(const wlst *s) { return (s->tail - s->head) + s->nretry; }

static int32_t next_request(wlst *s) {
    if (s->nretry) return s->retry[--s->nretry];
    if (s->head < s->tail) return s->order[s->head++];
    return -1;
}

static void start_req(W *w, int32_t pid, int32_t r) {
    wpod *p = &w->pods[pid];
    const gs_sim_req *q = &w->in->reqs[r];
    if (w->wait[r] < 0) w->wait[r] = (int32_t)(w->now - q->at > INT32_MAX ? INT32_MAX : w->now - q->at);
    if (p->ts) {
        ts_settle(w, p->node, p->gpu);
        p->req = r;
        p->busy_since = w->now;
        set_state(w, p, PS_BUSY);
        p->ts_work0 = p->ts_work = (double)q->svc * p->factor / 1000.0;
        p->ts_at = w->now;
        ts_resched(w, p->node, p->gpu);
        return;
    }
    p->req = r;
    p->busy_since = w->now;
    set_state(w, p, PS_BUSY);
    gs_ms svc = (gs_ms)q->svc * p->factor / 1000;
    if (svc < 1) svc = 1;
    p->run_gen++;
    push(w, w->now + svc, EV_DONE, pid, (int32_t)p->run_gen, p->gen);
}

static void dispatch(W *w, int32_t wl) {
    wlst *s = &w->ws[wl];
    while (s->nidle > 0 && queue_len(s) > 0) {
        int32_t pid = s->idle[--s->nidle];
        wpod *p = &w->pods[pid];
        if (p->state != PS_IDLE) continue;
        int32_t r = next_request(s);
        start_req(w, pid, r);
    }
}

static void go_idle(W *w, int32_t pid) {
    wpod *p = &w->pods[pid];
    set_state(w, p, PS_IDLE);
    wlst *s = &w->ws[p->wl];
    s->idle = grow(s->idle, &s->cap_idle, s->nidle + 1, sizeof *s->idle, &w->oom);
    if (w->oom) return;
    s->idle[s->nidle++] = pid;
    dispatch(w, p->wl);
}

static bool gpu_ready(const W *w, const wnode *n, int g) {
    return n->state == NS_READY && !n->g_reconf[g] && n->g_ready[g] <= w->now;
}

/* A bound pod whose node and GPU are ready starts (cold start for replicas; jobs run). */
static void maybe_start(W *w, int32_t pid) {
    wpod *p = &w->pods[pid];
    if (p->state != PS_BOUND) return;
    wnode *n = &w->nodes[p->node];
    if (n->state != NS_READY) return;
    if (p->gpu >= 0 && !gpu_ready(w, n, p->gpu)) return;
    if (p->wl >= 0) {
        set_state(w, p, PS_STARTING);
        push(w, w->now + w->sc->wl[p->wl].cold_start, EV_POD_READY, pid, 0, p->gen);
    } else if (p->env >= 0) {
        set_state(w, p, PS_BUSY);
        p->busy_since = w->now;
        push(w, w->now + w->sc->envs[p->env].obj.workloads[0].run_for, EV_ENV_POD_END, pid, 0, p->gen);
    } else {
        const gs_job *j = &w->in->jobs[p->job];
        if (w->job_wait[p->job] < 0) w->job_wait[p->job] = w->now - j->create;
        set_state(w, p, PS_BUSY);
        p->busy_since = w->now;
        push(w, w->now + (j->end - j->create), EV_JOB_END, pid, 0, p->gen);
    }
}

/* Binds a pod where a policy placed it, checking that it fits (invariant). */
static bool bind(W *w, int32_t pid, int32_t nid, int gpu, int part) {
    wpod *p = &w->pods[pid];
    wnode *n = &w->nodes[nid];
    const gs_itype *t = ntype(w, n);
    const gs_gpu_model *m = nmodel(w, n);
    bool ok = n->state != NS_GONE && p->state == PS_PENDING && m &&
              n->cpu_used + p->need.cpu <= t->alloc_cpu &&
              n->mem_used + p->need.mem <= t->alloc_mem && n->npods < t->max_pods;
    int32_t share = 0, fshare = -1; /* held share; share the speed factor uses (-1: share) */
    bool ts = false;
    int32_t sat = p->wl >= 0 ? w->sc->wl[p->wl].sat_slices : 7;
    if (ok && part >= 0) {
        gs_gpu_state *g = gpu >= 0 && gpu < n->ngpus ? &n->g[gpu] : NULL;
        ok = g && g->mode == GS_GPUMODE_MIG && part < g->nparts && !g->parts[part].used;
        if (ok) {
            const gs_mig_profile *pr = &m->profiles[g->parts[part].profile];
            ok = pr->compute >= p->need.compute && pr->mem_mib >= p->need.mem_mib &&
                 gs_mig_valid(m, g->parts, g->nparts, NULL);
            if (ok) {
                g->parts[part].used = true;
                g->pods++;
                share = pr->compute * 1000 / m->compute_slices;
            }
        }
    } else if (ok && gpu >= 0 && gpu < n->ngpus &&
               (n->g[gpu].mode == GS_GPUMODE_TIMESLICED || n->g[gpu].mode == GS_GPUMODE_FRACTIONAL)) {
        /* time-sliced: one of the replicas the GPU advertises, and (no memory isolation) the
         * co-tenants' GPU memory must fit; fractional: milli-GPU and that share of memory */
        gs_gpu_state *g = &n->g[gpu];
        if (g->mode == GS_GPUMODE_TIMESLICED) {
            ok = p->need.whole <= 0 && g->ts_replicas > 0 && g->ts_used + 1 <= g->ts_replicas &&
                 n->g_mem[gpu] + p->need.mem_mib <= m->mem_mib;
            if (ok) {
                g->ts_used++;
                share = 1000 / g->ts_replicas;
                fshare = 1000;
            }
        } else {
            int32_t milli = p->need.milli > 0 ? p->need.milli : (p->need.compute * 1000 + 6) / 7;
            if (milli > 999) milli = 999;
            ok = p->need.whole <= 0 && g->milli_used + milli <= 1000 &&
                 (int64_t)p->need.mem_mib * 1000 <= (int64_t)m->mem_mib * milli &&
                 n->g_mem[gpu] + p->need.mem_mib <= m->mem_mib;
            if (ok) {
                g->milli_used = (int16_t)(g->milli_used + milli);
                share = milli;
                fshare = milli;
            }
        }
        if (ok) {
            g->pods++;
            n->g_mem[gpu] += p->need.mem_mib;
            ts = g->mode == GS_GPUMODE_TIMESLICED && p->wl >= 0;
        }
    } else if (ok) {
        int32_t want = p->need.whole > 0 ? p->need.whole : 1;
        int32_t got = 0;
        for (int g = gpu < 0 ? 0 : gpu; g < n->ngpus; g++)
            if (n->g[g].mode == GS_GPUMODE_WHOLE && !n->g[g].whole_used && n->g[g].pods == 0) got++;
        ok = got >= want && m->mem_mib >= p->need.mem_mib;
        if (ok) {
            int first = -1;
            for (int g = gpu < 0 ? 0 : gpu; g < n->ngpus && want > 0; g++) {
                if (n->g[g].mode != GS_GPUMODE_WHOLE || n->g[g].whole_used || n->g[g].pods) continue;
                n->g[g].whole_used = true;
                n->g[g].pods++;
                if (first < 0) first = g;
                want--;
            }
            gpu = first;
            share = (p->need.whole > 0 ? p->need.whole : 1) * 1000;
        }
    }
    if (!ok) {
        w->res->v_fit++;
        return false;
    }
    if (!n->claimed) {
        /* the node was launched for the first pod bound to it */
        n->claimed = true;
        n->env = p->env;
        if (p->env >= 0) w->res->env[p->env].nodes++;
    }
    p->node = nid;
    p->gpu = (int8_t)gpu;
    p->part = (int8_t)part;
    p->share_milli = share;
    if (fshare < 0) fshare = share > 1000 ? 1000 : share;
    p->factor = p->wl >= 0 ? gs_sim_speed_factor(m, sat, fshare) : 1000;
    p->ts = ts;
    n->npods++;
    n->cpu_used += p->need.cpu;
    n->mem_used += p->need.mem;
    set_state(w, p, PS_BOUND);
    maybe_start(w, pid);
    return true;
}

/* A GPU's new configuration (CONFIGURE_GPU): a MIG layout, or time-slicing with `replicas`
 * (<= 0: the pool's), or fractional sharing. A change on a running node takes
 * cloud.migReconfigure (the GPU Operator's MIG manager, or the device plugin restarting with
 * its new sharing config; the GPU takes no pod meanwhile); on a booting node it is read at
 * start (MIG: applied once the node is up, then the same delay). */
static void configure_gpu(W *w, int32_t nid, int g, gs_gpu_mode mode, const gs_mig_layout *lay, int32_t replicas) {
    wnode *n = &w->nodes[nid];
    if (g < 0 || g >= n->ngpus) {
        w->res->v_fit++;
        return;
    }
    gs_gpu_state *gs = &n->g[g];
    if (gs->pods > 0) {
        w->res->v_fit++; /* a layout change on a used GPU would destroy its instances */
        return;
    }
    if (mode == GS_GPUMODE_TIMESLICED || mode == GS_GPUMODE_FRACTIONAL) {
        /* the device plugin's sharing config (the pool's): read when it starts on a new
         * node, so no delay there; on a running node it restarts like a MIG change */
        bool change = gs->mode != mode;
        int16_t before = gs->ts_replicas;
        memset(gs, 0, sizeof *gs);
        gs->mode = mode;
        if (mode == GS_GPUMODE_TIMESLICED) {
            int32_t r = replicas > 0 ? replicas
                      : n->pool >= 0 && n->pool < w->sc->npools ? w->sc->pools[n->pool].ts_replicas : 0;
            gs->ts_replicas = (int16_t)(r > 0 ? (r > 64 ? 64 : r) : 1);
            change |= gs->ts_replicas != before;
        }
        if (change && n->state == NS_READY) {
            w->res->mode_switches++;
            n->g_ready[g] = w->now + w->sc->mig_reconfigure;
            push(w, n->g_ready[g], EV_GPU_READY, nid, g, n->gen);
        }
        return;
    }
    bool change = gs->mode != mode || mode == GS_GPUMODE_MIG;
    memset(gs, 0, sizeof *gs);
    gs->mode = mode;
    if (mode == GS_GPUMODE_MIG && lay) {
        gs->nparts = lay->n;
        memcpy(gs->parts, lay->parts, sizeof lay->parts);
        for (int k = 0; k < GS_GPU_MAX_PARTS; k++) gs->parts[k].used = false; /* a new layout is empty */
    }
    if (!change) return;
    w->res->mig_reconfigs++;
    if (n->state == NS_READY) {
        n->g_ready[g] = w->now + w->sc->mig_reconfigure;
        push(w, n->g_ready[g], EV_GPU_READY, nid, g, n->gen);
    } else {
        n->g_reconf[g] = true;
    }
}

/* ------------------------------------------------------------------ helpers for baselines */

/* kube-scheduler: bind pending pods to free whole GPUs on existing nodes (ready first). */
static void schedule_whole(W *w) {
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        int32_t pid = w->live_pods[i];
        wpod *p = &w->pods[pid];
        if (p->state != PS_PENDING || p->terminating) continue;
        int32_t want = p->need.whole > 0 ? p->need.whole : 1;
        int32_t best = -1;
        for (int32_t k = 0; k < w->nlive_nodes; k++) {
            int32_t nid = w->live_nodes[k];
            wnode *n = &w->nodes[nid];
            if (n->doomed || n->pool != p->pool) continue;
            const gs_itype *t = ntype(w, n);
            const gs_gpu_model *m = nmodel(w, n);
            if (!m || m->mem_mib < p->need.mem_mib) continue;
            if (n->cpu_used + p->need.cpu > t->alloc_cpu || n->mem_used + p->need.mem > t->alloc_mem) continue;
            int32_t free_g = 0;
            for (int g = 0; g < n->ngpus; g++) free_g += !n->g[g].whole_used && n->g[g].pods == 0;
            if (free_g < want) continue;
            if (best < 0 || (n->state == NS_READY && w->nodes[best].state != NS_READY)) best = nid;
            if (n->state == NS_READY) break;
        }
        if (best >= 0) bind(w, pid, best, -1, -1);
    }
}

/* Cheapest (type, capacity) of the pool for whole-GPU pods, by price per GPU used when
 * `wanted` GPUs are needed (ties: fewer GPUs). */
static int32_t cheapest_whole(const W *w, int32_t pool, int32_t need_gpus, gs_mib gpu_mem,
                              gs_mcpu cpu, gs_mib mem, int64_t wanted, gs_capacity *cap_out) {
    const gs_pool *p = &w->sc->pools[pool];
    int32_t bt = -1;
    int64_t bs = 0;
    for (int32_t t = 0; t < w->cat->n; t++) {
        const gs_itype *it = &w->cat->types[t];
        const gs_gpu_model *m = gs_gpu_get(it->gpu_model);
        if (it->gpus < need_gpus || !m || m->mem_mib < gpu_mem || it->alloc_cpu < cpu || it->alloc_mem < mem) continue;
        for (int c = 0; c < GS_CAP__N; c++) {
            if (!gs_pool_allows(p, it, (gs_capacity)c, NULL)) continue;
            int64_t use = it->gpus < wanted ? it->gpus : wanted;
            if (use < 1) use = 1;
            int64_t s = gs_itype_price(it, (gs_capacity)c) * 1000 / use;
            if (bt < 0 || s < bs || (s == bs && it->gpus < w->cat->types[bt].gpus)) {
                bt = t;
                bs = s;
                *cap_out = (gs_capacity)c;
            }
        }
    }
    return bt;
}

static int32_t pending_gpus(const W *w, int32_t pool) {
    int32_t n = 0;
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        const wpod *p = &w->pods[w->live_pods[i]];
        if (p->state == PS_PENDING && p->pool == pool) n += p->need.whole > 0 ? p->need.whole : 1;
    }
    return n;
}

/* Karpenter-like provisioning of all pending pods: cheapest type per group. */
static void provision_karpenter(W *w) {
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        int32_t pid = w->live_pods[i];
        wpod *p = &w->pods[pid];
        if (p->state != PS_PENDING) continue;
        int32_t want = p->need.whole > 0 ? p->need.whole : 1;
        gs_capacity cap = GS_CAP_ON_DEMAND;
        int32_t t = cheapest_whole(w, p->pool, want, p->need.mem_mib, p->need.cpu, p->need.mem,
                                   pending_gpus(w, p->pool), &cap);
        if (t < 0) continue;
        int32_t nid = node_launch(w, t, cap, p->pool, false, -1);
        if (nid < 0) return;
        w->last_scale_up = w->now;
        bind(w, pid, nid, -1, -1);
        schedule_whole(w); /* the rest of the batch onto the new node's free GPUs */
    }
}

/* Cluster Autoscaler: add nodes of the fixed group type for the pending pods. */
static void provision_group(W *w) {
    schedule_whole(w);
    int32_t need = 0;
    if (w->base_type < 0) return;
    const gs_itype *bt = &w->cat->types[w->base_type];
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        const wpod *p = &w->pods[w->live_pods[i]];
        /* as the Cluster Autoscaler, only for pods a node of the group could hold */
        if (p->state != PS_PENDING || p->need.cpu > bt->alloc_cpu || p->need.mem > bt->alloc_mem ||
            p->need.whole > bt->gpus)
            continue;
        need += p->need.whole > 0 ? p->need.whole : 1;
    }
    if (need == 0) return;
    int32_t per = w->cat->types[w->base_type].gpus;
    int32_t nodes = (need + per - 1) / per;
    for (int32_t k = 0; k < nodes; k++) {
        int32_t pool = 0;
        for (int32_t i = 0; i < w->nlive_pods; i++)
            if (w->pods[w->live_pods[i]].state == PS_PENDING) { pool = w->pods[w->live_pods[i]].pool; break; }
        if (node_launch(w, w->base_type, w->base_cap, pool, false, -1) < 0) return;
        schedule_whole(w);
    }
    w->last_scale_up = w->now;
}

/* ReplicaSet scale-in order: unscheduled, then not ready, then newest ready pods (busy ones
 * included: they finish their request and exit, as with a terminationGracePeriod). */
static void rs_scale(W *w, int32_t wl, int32_t desired) {
    wlst *s = &w->ws[wl];
    while (s->replicas < desired) {
        if (pod_create(w, wl, -1, -1) < 0) return;
    }
    while (s->replicas > desired) {
        int32_t best = -1, brank = -1;
        for (int32_t i = 0; i < w->nlive_pods; i++) {
            int32_t pid = w->live_pods[i];
            const wpod *p = &w->pods[pid];
            if (p->wl != wl || p->terminating || p->doomed) continue;
            int32_t rank = p->state == PS_PENDING ? 3 : (p->state == PS_BOUND || p->state == PS_STARTING) ? 2 : 1;
            if (rank > brank || (rank == brank && p->created >= w->pods[best].created)) {
                best = pid;
                brank = rank;
            }
        }
        if (best < 0) break;
        pod_delete(w, best, true);
    }
}

static int64_t metric_now(const W *w, int32_t wl) {
    const wlst *s = &w->ws[wl];
    return (queue_len(s) + s->busy) * 1000;
}

/* ------------------------------------------------------------------ policy ticks */

static gs_ms tick_every(const W *w) {
    switch (w->pol) {
    case GS_POL_GPUSCALE: {
        gs_ms t = GS_SEC(1);
        for (int32_t i = 0; i < w->sc->nwl; i++)
            if (w->sc->wl[i].polling < t) t = w->sc->wl[i].polling;
        return t;
    }
    case GS_POL_KK: return GS_SEC(1);   /* Karpenter batching resolution */
    default: return GS_SEC(10);         /* CA scan interval */
    }
}

/* Each budget's state now: the spend metered in its current periods and the running rate. */
static void budget_states(W *w, gs_budget_state *bst) {
    const gs_scenario *sc = w->sc;
    proj_integrate(w);
    for (int32_t b = 0; b < sc->nbudgets; b++) {
        gs_budget_state *st = &bst[b];
        memset(st, 0, sizeof *st);
        st->budget = &sc->budgets[b];
        int32_t p = -1;
        for (int32_t k = 0; k < w->res->nproj; k++)
            if (strcmp(w->res->proj[k], sc->budgets[b].project) == 0) p = k;
        for (int win = 0; win < GS_WIN__N; win++) {
            period_of(w, b, w->now, win, &st->periods.start[win], &st->periods.end[win]);
            double v = p < 0 ? 0 : w->proj_acc[p] - w->win_acc0[b][win];
            st->spent[win] = v > 0 ? (gs_usd_u)llround(v) : 0;
        }
        st->rate_per_hour = p < 0 || w->proj_rate[p] < 0 ? 0 : (gs_usd_u)llround(w->proj_rate[p]);
    }
}

/* Environments (issue 6), every simulated policy: observe each one, let policy/envs decide
 * (create at its start; delete its pods when its Job succeeded/finished, its ttl expired or,
 * under gpuscale, its project's hard budget was hit; then wait for the normal scale-down to
 * release the nodes launched for it; then mark it deleted) and carry the actions out. */
static void envs_step(W *w) {
    const gs_scenario *sc = w->sc;
    if (sc->nenvs == 0 || w->now < 0) return;
    gs_budget_state bst[GS_SIM_MAX_BUDGETS];
    int32_t nb = 0;
    if (w->pol == GS_POL_GPUSCALE && sc->nbudgets > 0) {
        budget_states(w, bst);
        nb = sc->nbudgets;
        /* a hard limit is kept, not overshot by a tick: the deletion is decided on the spend
         * projected to the next tick (plus a second of billing rounding) at the running rate */
        for (int32_t b = 0; b < nb; b++)
            for (int win = 0; win < GS_WIN__N; win++) {
                double ahead = (double)bst[b].rate_per_hour * (double)(w->every + GS_SEC(1)) / 3600000.0;
                gs_usd_u end = bst[b].periods.end[win];
                if (w->now + w->every < end) bst[b].spent[win] += (gs_usd_u)llround(ahead);
            }
    }
    gs_env_status view[GS_SIM_MAX_ENVS];
    for (int32_t e = 0; e < sc->nenvs; e++) {
        gs_env_status *st = &w->est[e];
        st->pods_live = st->jobs_failed = 0;
        st->jobs_succeeded = w->res->env[e].pods_succeeded;
        st->nodes_live = 0;
        view[e] = *st;
        /* not due yet: nothing to decide for it */
        if (st->phase == GS_ENV_PENDING && w->now < sc->envs[e].start) view[e].phase = GS_ENV_DELETED;
    }
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        const wpod *p = &w->pods[w->live_pods[i]];
        if (p->env >= 0) view[p->env].pods_live++;
    }
    for (int32_t i = 0; i < w->nlive_nodes; i++) {
        const wnode *n = &w->nodes[w->live_nodes[i]];
        if (n->env >= 0) view[n->env].nodes_live++;
    }
    for (int32_t e = 0; e < sc->nenvs; e++)
        if (w->est[e].phase == GS_ENV_DELETED && view[e].pods_live > 0) w->res->env[e].outlived++;
    gs_env_action acts[GS_SIM_MAX_ENVS];
    int32_t na = gs_envs_decide(view, sc->nenvs, w->now, nb ? bst : NULL, nb, acts, GS_SIM_MAX_ENVS);
    for (int32_t k = 0; k < na && k < GS_SIM_MAX_ENVS; k++) {
        const gs_env_action *a = &acts[k];
        int32_t e = a->env;
        gs_sim_envres *r = &w->res->env[e];
        switch (a->kind) {
        case GS_ENVACT_CREATE:
            r->created_at = w->now;
            for (int32_t j = 0; j < sc->envs[e].obj.workloads[0].replicas; j++)
                if (pod_create(w, -1, -1, e) < 0) return;
            if (sc->envs[e].obj.ttl > 0) push(w, w->now + sc->envs[e].obj.ttl, EV_ENV_WAKE, e, 0, 0);
            break;
        case GS_ENVACT_DELETE_WORKLOADS:
            if (r->workloads_gone_at == GS_SIM_NOT) r->workloads_gone_at = w->now;
            for (int32_t i = w->nlive_pods - 1; i >= 0; i--) {
                if (i >= w->nlive_pods) continue;
                int32_t pid = w->live_pods[i];
                if (w->pods[pid].env != e) continue;
                if (w->pods[pid].state == PS_BUSY && w->now > 0)
                    w->res->gpu_h_busy += (double)(w->now - w->pods[pid].busy_since) * w->pods[pid].share_milli / 1000.0 / 3600000.0;
                r->pods_deleted++;
                r->last_pod_gone = w->now;
                pod_gone(w, pid);
            }
            break;
        case GS_ENVACT_RELEASE_NODES: break; /* the policy's own scale-down releases them */
        case GS_ENVACT_MARK_DELETED: r->deleted_at = w->now; break;
        }
        gs_envs_advance(&w->est[e], a, w->now);
        r->reason = w->est[e].reason;
    }
}

static bool envs_busy(const W *w) {
    for (int32_t e = 0; e < w->sc->nenvs; e++)
        if (w->est[e].phase == GS_ENV_ACTIVE || w->est[e].phase == GS_ENV_DELETING) return true;
    return false;
}

/* Make-before-break: a repacked node's replicas go once no replica of their workload is
 * still starting elsewhere (their replacements are ready); a busy one finishes first. */
static void repack_progress(W *w) {
    for (int32_t i = 0; i < w->nlive_nodes; i++) {
        int32_t nid = w->live_nodes[i];
        if (!w->nodes[nid].repack) continue;
        for (int32_t k = w->nlive_pods - 1; k >= 0; k--) {
            if (k >= w->nlive_pods) continue;
            int32_t pid = w->live_pods[k];
            wpod *p = &w->pods[pid];
            if (p->node != nid || p->wl < 0 || p->terminating) continue;
            bool starting = false;
            for (int32_t j = 0; j < w->nlive_pods && !starting; j++) {
                const wpod *q = &w->pods[w->live_pods[j]];
                starting = q->wl == p->wl && !q->doomed && !q->terminating &&
                           (q->state == PS_PENDING || q->state == PS_BOUND || q->state == PS_STARTING);
            }
            if (!starting) pod_delete(w, pid, true);
        }
    }
}

static void tick_gpuscale(W *w) {
    const gs_scenario *sc = w->sc;
    repack_progress(w);
    /* nothing to decide: no scaler, no pending pod, no empty node (the step would return no
     * action; budgets and environments are handled outside it) */
    if (sc->nwl == 0) {
        bool work = false;
        for (int32_t i = 0; i < w->nlive_pods && !work; i++) work = w->pods[w->live_pods[i]].state == PS_PENDING;
        for (int32_t i = 0; i < w->nlive_nodes && !work; i++) work = w->nodes[w->live_nodes[i]].npods == 0;
        if (!work) return;
    }
    int32_t nn = w->nlive_nodes, np = w->nlive_pods;
    gs_rc_node *vn = calloc((size_t)nn + 1, sizeof *vn);
    gs_rc_pod *vp = calloc((size_t)np + 1, sizeof *vp);
    int32_t *vidx = calloc((size_t)w->nn + 1, sizeof *vidx);
    int32_t *newpods = NULL, *newnodes = NULL;
    gs_rc_workload vw[GS_SIM_MAX_WL];
    int32_t cap_acts = 256 + 4 * (np + nn);
    gs_action *acts = NULL;
    if (!vn || !vp || !vidx) { w->oom = 1; goto out; }
    for (int32_t i = 0; i < nn; i++) {
        int32_t id = w->live_nodes[i];
        const wnode *n = &w->nodes[id];
        gs_rc_node *v = &vn[i];
        v->id = id;
        v->itype = n->itype;
        v->cap = n->cap;
        v->pool = n->pool;
        v->ready = n->state == NS_READY;
        v->draining = n->doomed || n->repack;
        v->repacking = n->repack;
        v->npods = n->npods;
        v->cpu_used = n->cpu_used;
        v->mem_used = n->mem_used;
        v->ngpus = n->ngpus;
        memcpy(v->gpus, n->g, sizeof n->g);
        v->empty_since = n->empty_since - w->in->start;
        v->zone = n->zone;
        vidx[id] = i;
    }
    int32_t nvp = 0;
    for (int32_t i = 0; i < np; i++) {
        int32_t id = w->live_pods[i];
        const wpod *p = &w->pods[id];
        if (p->terminating || p->doomed) continue;
        gs_rc_pod *v = &vp[nvp++];
        v->id = id;
        v->wl = p->wl;
        v->state = p->state == PS_PENDING ? GS_RCP_PENDING
                 : p->state == PS_IDLE ? GS_RCP_IDLE
                 : p->state == PS_BUSY ? GS_RCP_BUSY : GS_RCP_STARTING;
        v->node = p->node >= 0 ? vidx[p->node] : -1;
        v->gpu = p->gpu;
        v->part = p->part;
        v->pool = p->pool;
        v->need = p->need;
        v->created = p->created - w->in->start;
        /* an environment's pods are its project's (budget gate); a trace job's, its pool's */
        v->project = p->env >= 0 ? sc->envs[p->env].obj.project
                   : p->wl < 0 && p->pool >= 0 && p->pool < GS_SIM_MAX_POOLS ? w->pool_project[p->pool] : NULL;
    }
    gs_scale_reading rd[GS_SIM_MAX_WL];
    for (int32_t k = 0; k < sc->nwl; k++) {
        vw[k].pool = sc->wl[k].pool;
        vw[k].need = sc->wl[k].need;
        vw[k].project = sc->wl[k].project;
        rd[k] = (gs_scale_reading){true, metric_now(w, k)};
        vw[k].readings = &rd[k];
        vw[k].scaler = &w->ws[k].scaler;
        vw[k].state = &w->ws[k].st;
    }
    /* the policy core sees a clock that starts at 0 at the beginning of the warm-up (its "never"
     * sentinels are negative) */
    gs_rc_input in = {w->now - w->in->start, w->cat, sc->pools, sc->npools, vn, nn, vp, nvp, vw, sc->nwl, NULL, NULL};
    in.nzones = sc->zones;
    in.spot_max_pct = sc->spot_max_pct;
    in.spot_price_slack_pct = sc->spot_price_slack_pct;
    in.repack = sc->repack_headroom >= 0;
    in.repack_headroom = sc->repack_headroom;
    /* idle whole GPUs of a time-slicing or fractional pool's nodes (initialNodes) may be
     * switched to the pool's sharing rather than a node launched */
    in.switch_modes = sc->switch_modes;
    /* budgets: the spend metered so far in each period, the gate, and scaleToMin */
    gs_budget_state bst[GS_SIM_MAX_BUDGETS];
    gs_usd_u approved[GS_SIM_MAX_BUDGETS];
    gs_budget_gate_ctx gate;
    if (sc->nbudgets > 0 && w->now >= 0) {
        budget_states(w, bst);
        gs_budget_action ba[4 * GS_SIM_MAX_BUDGETS];
        int32_t nba = gs_budget_actions(bst, sc->nbudgets, w->now, ba, 4 * GS_SIM_MAX_BUDGETS);
        for (int32_t k = 0; k < sc->nwl; k++) {
            bool cap = false;
            for (int32_t a = 0; a < nba && a < 4 * GS_SIM_MAX_BUDGETS; a++)
                cap |= ba[a].kind == GS_BACT_SCALE_TO_MIN && strcmp(ba[a].project, sc->wl[k].project) == 0;
            if (cap && !w->capped[k]) w->res->budget_scale_to_min++;
            w->capped[k] = cap;
            /* policy/scale needs maxReplicaCount >= 1: with minReplicas 0 the cap is 1 */
            w->ws[k].scaler.max_replicas = cap ? (sc->wl[k].min_replicas > 0 ? sc->wl[k].min_replicas : 1)
                                               : sc->wl[k].max_replicas;
        }
        gs_budget_gate_init(&gate, w->now, bst, sc->nbudgets, approved);
        /* the packer's gate, per project and $/hour (policy/budget) */
        in.may_add = gs_budget_gate;
        in.gate_ctx = &gate;
    }
    gs_rc_output out = {0};
    for (;;) {
        acts = malloc(sizeof *acts * (size_t)cap_acts);
        if (!acts) { w->oom = 1; goto out; }
        out = (gs_rc_output){acts, 0, cap_acts, 0};
        /* a plan that placed nothing is not redone until something changes (or a minute
         * passes: budgets roll over) */
        in.skip_pack = w->pack_stuck && !w->pack_dirty && w->now - w->pack_at < GS_MIN(1);
        if (in.may_add) gs_budget_gate_init(&gate, w->now, bst, sc->nbudgets, approved); /* fresh per try */
        gs_error e;
        int rc = gs_reconcile_step(&in, &out, &e);
        if (rc == 0) break;
        free(acts);
        acts = NULL;
        if (rc != GS_ETOOBIG) {
            snprintf(w->fail, sizeof w->fail, "%s", e.msg);
            w->oom = 1;
            goto out;
        }
        cap_acts *= 4;
    }
    if (out.packed) {
        w->pack_stuck = out.placed == 0 && out.unplaced > 0;
        w->pack_at = w->now;
        w->pack_dirty = false;
    }
    newpods = calloc((size_t)out.n + 1, sizeof *newpods);
    newnodes = calloc((size_t)out.n + 1, sizeof *newnodes);
    if (!newpods || !newnodes) { w->oom = 1; goto out; }
    w->res->blocked_launches += out.blocked;
#define PODREF(x) ((x) < 0 ? newpods[-(x) - 1] : (x))
#define NODEREF(x) ((x) < 0 ? newnodes[-(x) - 1] : (x))
    for (int32_t i = 0; i < out.n; i++) {
        const gs_action *a = &acts[i];
        switch (a->type) {
        case GS_ACT_CREATE_POD: newpods[-a->pod - 1] = pod_create(w, a->wl, -1, -1); break;
        case GS_ACT_DELETE_POD: pod_delete(w, PODREF(a->pod), true); break;
        case GS_ACT_LAUNCH: newnodes[-a->node - 1] = node_launch(w, a->itype, a->cap, a->pool, false, a->zone); break;
        case GS_ACT_CONFIGURE_GPU:
            configure_gpu(w, NODEREF(a->node), a->gpu, a->mode, &a->layout, a->ts_replicas);
            break;
        case GS_ACT_BIND: bind(w, PODREF(a->pod), NODEREF(a->node), a->gpu, a->part); break;
        case GS_ACT_DELETE_NODE: {
            int32_t nid = NODEREF(a->node);
            if (w->nodes[nid].npods == 0) node_end(w, nid);
            break;
        }
        case GS_ACT_BLOCKED: break;
        case GS_ACT_REPACK_NODE: {
            /* cordon; its replicas no longer count (their replacements were just created)
             * but serve until the replacements are ready (repack_progress) */
            int32_t nid = NODEREF(a->node);
            wnode *n = &w->nodes[nid];
            if (n->state == NS_GONE) break;
            n->repack = true;
            w->res->repacks++;
            for (int32_t k = 0; k < w->nlive_pods; k++) {
                wpod *p = &w->pods[w->live_pods[k]];
                if (p->node != nid || p->wl < 0 || p->doomed || p->terminating) continue;
                p->doomed = true;
                w->ws[p->wl].replicas--;
            }
            break;
        }
        }
        if (w->oom) break;
    }
#undef PODREF
#undef NODEREF
out:
    free(vn);
    free(vp);
    free(vidx);
    free(acts);
    free(newpods);
    free(newnodes);
}

/* The baselines' replica count: policy/scale (KEDA semantics, HPA stabilization) plus the
 * two HPA defaults it does not model: a 10 % tolerance around the current count and the
 * scale-up rate limit of max(+100 %, +4 pods) per 15 s. */
static int32_t hpa_scale(W *w, int32_t k, int64_t metric_milli) {
    wlst *s = &w->ws[k];
    gs_scale_reading rd = {true, metric_milli};
    int32_t pending = 0, ready = 0;
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        const wpod *p = &w->pods[w->live_pods[i]];
        if (p->wl != k || p->terminating || p->doomed) continue;
        pending += p->node < 0;
        ready += p->state == PS_IDLE || p->state == PS_BUSY;
    }
    gs_scale_input in = {w->now - w->in->start, &rd, s->replicas, ready, pending, NULL, 0, NULL, 0};
    gs_scale_decision d;
    gs_error e;
    if (gs_scale_step(&s->scaler, &s->st, &in, &d, &e)) {
        snprintf(w->fail, sizeof w->fail, "%s", e.msg);
        w->oom = 1;
        return s->replicas;
    }
    int32_t cur = s->replicas, want = d.desired;
    /* KEDA itself takes a workload from 0 to max(minReplicaCount, 1); the HPA does the rest */
    if (cur == 0 && want > 0) want = s->scaler.min_replicas > 1 ? s->scaler.min_replicas : 1;
    if (cur > 0 && want > 0 && d.reason == GS_SCALE_STEADY) {
        int64_t num = metric_milli * 10, den = s->scaler.triggers[0].target_milli * cur;
        if (num >= den * 9 && num <= den * 11) want = cur;
    }
    if (want > cur && cur > 0) {
        if (w->now - s->rate_start >= GS_SEC(15)) { /* (sim clock; rate_start starts far back) */
            s->rate_start = w->now;
            s->rate_base = cur;
        }
        int32_t lim = s->rate_base * 2 > s->rate_base + 4 ? s->rate_base * 2 : s->rate_base + 4;
        if (want > lim) want = lim;
    }
    return want;
}

static void tick_kk(W *w) {
    /* HPA sync every 15 s on KEDA's last poll */
    if (w->now % GS_SEC(15) == 0) {
        for (int32_t k = 0; k < w->sc->nwl; k++) {
            wlst *s = &w->ws[k];
            rs_scale(w, k, hpa_scale(w, k, s->metric_snap));
        }
    }
    schedule_whole(w);
    /* Karpenter batching: 1 s idle, 10 s max */
    int32_t pend = 0;
    for (int32_t i = 0; i < w->nlive_pods; i++) pend += w->pods[w->live_pods[i]].state == PS_PENDING;
    if (pend == 0) {
        w->batch_start = GS_NEVER;
        w->batch_pending = 0;
    } else {
        if (w->batch_start == GS_NEVER) { w->batch_start = w->now; w->batch_last = w->now; }
        if (pend > w->batch_pending) w->batch_last = w->now;
        w->batch_pending = pend;
        if (w->now - w->batch_last >= GS_SEC(1) || w->now - w->batch_start >= GS_SEC(10)) {
            provision_karpenter(w);
            w->batch_start = GS_NEVER;
            w->batch_pending = 0;
        }
    }
    /* disruption: every 10 s, empty nodes go (consolidateAfter: 0) */
    if (w->now % GS_SEC(10) == 0) {
        for (int32_t i = w->nlive_nodes - 1; i >= 0; i--) {
            int32_t nid = w->live_nodes[i];
            if (w->nodes[nid].npods == 0 && !w->nodes[nid].doomed) node_end(w, nid);
        }
    }
}

static void tick_ca(W *w) {
    if (w->now % GS_SEC(15) == 0 && w->pol == GS_POL_CA) {
        for (int32_t k = 0; k < w->sc->nwl; k++) {
            wlst *s = &w->ws[k];
            wl_integrate(w, k);
            double db = s->busy_int - s->util_prev_busy, dr = s->ready_int - s->util_prev_ready;
            s->util_prev_busy = s->busy_int;
            s->util_prev_ready = s->ready_int;
            /* sum of GPU utilization over ready pods (unready pods count 0, as the HPA does
             * for scale-up); target = utilization target per pod */
            double util = dr > 0 ? db / dr : 0;
            int64_t metric = (int64_t)llround(util * s->ready * 1000.0);
            rs_scale(w, k, hpa_scale(w, k, metric));
        }
    }
    provision_group(w);
    if (w->pol != GS_POL_CA) return;
    /* scale-down: empty (GPU utilization 0 < 0.5) for 10 min, not within 10 min of a scale-up */
    if (w->now - w->last_scale_up < GS_MIN(10)) return;
    for (int32_t i = w->nlive_nodes - 1; i >= 0; i--) {
        int32_t nid = w->live_nodes[i];
        wnode *n = &w->nodes[nid];
        if (n->npods == 0 && !n->doomed && w->now - n->empty_since >= GS_MIN(10)) node_end(w, nid);
    }
}

/* ------------------------------------------------------------------ events */

static void on_node_ready(W *w, int32_t nid) {
    wnode *n = &w->nodes[nid];
    mark(w);
    n->state = NS_READY;
    n->ready_at = w->now;
    for (int g = 0; g < n->ngpus; g++) {
        if (n->g_reconf[g]) {
            n->g_reconf[g] = false;
            n->g_ready[g] = w->now + w->sc->mig_reconfigure;
            push(w, n->g_ready[g], EV_GPU_READY, nid, g, n->gen);
        }
    }
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        int32_t pid = w->live_pods[i];
        if (w->pods[pid].node == nid) maybe_start(w, pid);
    }
}

static void on_gpu_ready(W *w, int32_t nid, int g) {
    mark(w);
    for (int32_t i = 0; i < w->nlive_pods; i++) {
        int32_t pid = w->live_pods[i];
        if (w->pods[pid].node == nid && w->pods[pid].gpu == g) maybe_start(w, pid);
    }
}

static void replace_pod(W *w, int32_t pid) {
    wpod *p = &w->pods[pid];
    if (p->doomed || p->terminating) return;
    if (p->wl >= 0) {
        w->ws[p->wl].replicas--;
        p->doomed = true;
        pod_create(w, p->wl, -1, -1);
    }
}

static void on_notice(W *w, int32_t nid) {
    wnode *n = &w->nodes[nid];
    n->doomed = true;
    if (w->now >= 0) w->res->spot_interruptions++;
    push(w, w->now + w->sc->spot_notice, EV_KILL, nid, 0, n->gen);
    /* Karpenter (interruption handling) and gpuscale replace capacity at the notice; the
     * Cluster Autoscaler and a static group only see the pods die at termination. */
    if (w->pol == GS_POL_KK || w->pol == GS_POL_GPUSCALE) {
        for (int32_t i = 0; i < w->nlive_pods; i++) {
            int32_t pid = w->live_pods[i];
            if (w->pods[pid].node == nid) replace_pod(w, pid);
        }
    }
}

static void on_kill(W *w, int32_t nid) {
    /* every pod on the node dies now; in-flight requests go back to the queue, jobs restart */
    for (int32_t i = w->nlive_pods - 1; i >= 0; i--) {
        if (i >= w->nlive_pods) continue;
        int32_t pid = w->live_pods[i];
        wpod *p = &w->pods[pid];
        if (p->node != nid) continue;
        if (p->wl >= 0) {
            bool had_replacement = p->doomed || p->terminating;
            int32_t wl = p->wl;
            pod_delete(w, pid, false);
            if (!had_replacement) pod_create(w, wl, -1, -1);
        } else if (p->env >= 0) {
            /* the Job controller recreates a lost pod while its environment is active */
            int32_t e = p->env;
            pod_gone(w, pid);
            w->res->requeued++;
            if (w->est[e].phase == GS_ENV_ACTIVE) pod_create(w, -1, -1, e);
        } else {
            int32_t job = p->job;
            pod_gone(w, pid);
            w->res->requeued++;
            pod_create(w, -1, job, -1);
        }
    }
    node_end(w, nid);
}

/* The breakdown of bought GPU time (sim.h), one sample of weight dt. */
static void account(W *w, gs_ms dt) {
    gs_sim_result *r = w->res;
    double h = (double)dt / 3600000.0;
    double held = 0;
    for (int32_t k = 0; k < w->nlive_nodes; k++) {
        const wnode *n = &w->nodes[w->live_nodes[k]];
        if (n->state != NS_READY) { r->gh_boot += h * n->ngpus; continue; }
        for (int g = 0; g < n->ngpus; g++)
            if (!gpu_ready(w, n, g)) r->gh_reconf += h;
    }
    for (int32_t k = 0; k < w->nlive_pods; k++) {
        const wpod *p = &w->pods[w->live_pods[k]];
        if (p->node < 0 || w->nodes[p->node].state != NS_READY) continue;
        if (p->gpu >= 0 && !gpu_ready(w, &w->nodes[p->node], p->gpu)) continue;
        double sh = (double)p->share_milli / 1000.0 * h;
        if (p->part >= 0) {
            const wnode *n = &w->nodes[p->node];
            const gs_gpu_model *m = nmodel(w, n);
            sh = (double)m->profiles[n->g[p->gpu].parts[p->part].profile].compute / m->compute_slices * h;
        }
        held += sh;
        if (p->state == PS_BUSY) r->gh_busy += sh;
        else if (p->state == PS_IDLE) r->gh_idle += sh;
        else r->gh_start += sh;
    }
    double ready = 0;
    for (int32_t k = 0; k < w->nlive_nodes; k++) {
        const wnode *n = &w->nodes[w->live_nodes[k]];
        if (n->state != NS_READY) continue;
        for (int g = 0; g < n->ngpus; g++)
            if (gpu_ready(w, n, g)) ready += h;
    }
    r->gh_free += ready - held;
}

static void sample(W *w) {
    gs_sim_series *s = &w->res->series;
    int32_t i = w->sample_i++;
    if (w->now >= 0 && w->now < w->end) account(w, w->sc->sample_every);
    if (i >= s->n) return;
    double q = 0, r = 0;
    for (int32_t k = 0; k < w->sc->nwl; k++) {
        q += (double)queue_len(&w->ws[k]);
        r += w->ws[k].ready;
    }
    if (w->sc->nwl == 0) {
        for (int32_t k = 0; k < w->nlive_pods; k++) {
            const wpod *p = &w->pods[w->live_pods[k]];
            q += p->state == PS_PENDING || p->state == PS_BOUND;
            r += p->state == PS_BUSY;
        }
    }
    s->queue[i] = (float)q;
    s->replicas[i] = (float)r;
    s->nodes[i] = (float)w->nlive_nodes;
    s->usd_h[i] = (float)(w->price_sum / 1e6);
    if (w->nlive_nodes > w->res->peak_nodes) w->res->peak_nodes = w->nlive_nodes;
}

/* ------------------------------------------------------------------ static sizing */

/* Peak concurrency of workload wl if every request started on arrival (service time factor f). */
static int32_t peak_concurrency(const gs_sim_input *in, int32_t wl, int32_t factor) {
    int64_t n = 0;
    for (int64_t i = 0; i < in->nreq; i++) n += in->reqs[i].wl == wl;
    if (n == 0) return 0;
    gs_ms *ends = malloc((size_t)n * sizeof *ends);
    if (!ends) return 1;
    /* min-heap of end times */
    int64_t hn = 0;
    int32_t peak = 0;
    for (int64_t i = 0; i < in->nreq; i++) {
        const gs_sim_req *r = &in->reqs[i];
        if (r->wl != wl) continue;
        while (hn > 0 && ends[0] <= r->at) {
            gs_ms last = ends[--hn];
            int64_t k = 0;
            for (;;) {
                int64_t l = 2 * k + 1;
                if (l >= hn) break;
                int64_t c = (l + 1 < hn && ends[l + 1] < ends[l]) ? l + 1 : l;
                if (ends[c] >= last) break;
                ends[k] = ends[c];
                k = c;
            }
            if (hn) ends[k] = last;
        }
        gs_ms e = r->at + (gs_ms)r->svc * factor / 1000;
        int64_t k = hn++;
        while (k > 0 && ends[(k - 1) / 2] > e) {
            ends[k] = ends[(k - 1) / 2];
            k = (k - 1) / 2;
        }
        ends[k] = e;
        if (hn > peak) peak = (int32_t)hn;
    }
    free(ends);
    return peak;
}

typedef struct td { gs_ms t; int32_t d; } td;
static int cmp_td(const void *a, const void *b) {
    const td *x = a, *y = b;
    if (x->t != y->t) return (x->t > y->t) - (x->t < y->t);
    return (x->d > y->d) - (x->d < y->d); /* ends (negative) before starts at the same ms */
}

static int32_t peak_job_gpus(const gs_sim_input *in) {
    int64_t n = in->njobs;
    if (n == 0) return 0;
    td *v = malloc((size_t)(2 * n) * sizeof *v);
    if (!v) return 1;
    for (int64_t i = 0; i < n; i++) {
        int32_t g = in->jobs[i].gpu_milli < 1000 ? 1 : in->jobs[i].num_gpu;
        v[2 * i] = (td){in->jobs[i].create, g};
        v[2 * i + 1] = (td){in->jobs[i].end, -g};
    }
    qsort(v, (size_t)(2 * n), sizeof *v, cmp_td);
    int32_t cur = 0, peak = 0;
    for (int64_t i = 0; i < 2 * n; i++) {
        cur += v[i].d;
        if (cur > peak) peak = cur;
    }
    free(v);
    return peak;
}

/* ------------------------------------------------------------------ oracle */

/* Cheapest cost per ms (micro-dollars x 1e-3 ... as double) of serving one request of a
 * workload needing `need` with saturation sat, over every slot the pool offers: a MIG
 * instance billed by its compute share, or whole GPUs. Returns micro-dollars per ms of
 * reference service time (includes the slot's speed factor). */
static double oracle_rate(const W *w, int32_t pool, const gs_rc_need *need, int32_t sat, bool job,
                          double *gpu_eq) {
    const gs_pool *p = &w->sc->pools[pool];
    double best = -1, beq = 0;
    for (int32_t t = 0; t < w->cat->n; t++) {
        const gs_itype *it = &w->cat->types[t];
        const gs_gpu_model *m = gs_gpu_get(it->gpu_model);
        if (!m || it->gpus <= 0) continue;
        for (int c = 0; c < GS_CAP__N; c++) {
            if (!gs_pool_allows(p, it, (gs_capacity)c, NULL)) continue;
            double per_gpu_ms = (double)gs_itype_price(it, (gs_capacity)c) / it->gpus / 3600000.0;
            /* whole GPUs */
            int32_t count = need->whole > 0 ? need->whole : 1;
            if (it->gpus >= count && m->mem_mib >= need->mem_mib) {
                double f = job ? 1.0 : gs_sim_speed_factor(m, sat, 1000) / 1000.0;
                double v = per_gpu_ms * count * f;
                if (best < 0 || v < best) { best = v; beq = count * f; }
            }
            /* a fractional pool's slot: the pod's milli-GPU at that share's speed */
            if (need->whole <= 0 && p->sharing == GS_SHARE_FRACTIONAL && !job) {
                int32_t milli = need->milli > 0 ? need->milli : (need->compute * 1000 + 6) / 7;
                if (milli > 999) milli = 999;
                if ((int64_t)need->mem_mib * 1000 <= (int64_t)m->mem_mib * milli) {
                    double eq = milli / 1000.0 * gs_sim_speed_factor(m, sat, milli) / 1000.0;
                    double v = per_gpu_ms * eq;
                    if (best < 0 || v < best) { best = v; beq = eq; }
                }
            }
            if (need->whole > 0 || !gs_gpu_has_mig(m) || p->sharing != GS_SHARE_MIG) continue;
            for (int k = 0; k < m->nprofiles; k++) {
                const gs_mig_profile *pr = &m->profiles[k];
                if (pr->media_ext || pr->mem_mib < need->mem_mib || !gs_pool_allows_profile(p, pr->name)) continue;
                if (job && pr->compute < need->compute) continue;
                int32_t share = pr->compute * 1000 / m->compute_slices;
                double f = job ? 1.0 : gs_sim_speed_factor(m, sat, share) / 1000.0;
                double v = per_gpu_ms * share / 1000.0 * f;
                if (best < 0 || v < best) { best = v; beq = (double)pr->compute / m->compute_slices * f; }
            }
        }
    }
    if (gpu_eq) *gpu_eq = beq;
    return best;
}

static void oracle_add(W *w, gs_ms from, gs_ms len, double usd_per_ms, double gpu_eq) {
    /* spread the cost over the timeline buckets it covers */
    gs_sim_series *s = &w->res->series;
    gs_ms t = from, end = from + len;
    while (t < end) {
        int32_t b = (int32_t)(t / s->step);
        gs_ms be = (gs_ms)(b + 1) * s->step;
        gs_ms seg = (be < end ? be : end) - t;
        if (b >= 0 && b < s->n) {
            s->usd_h[b] += (float)(usd_per_ms * (double)seg / 1e6 * 3600000.0 / (double)s->step);
            s->nodes[b] += (float)(gpu_eq * (double)seg / (double)s->step);
            s->replicas[b] += (float)((double)seg / (double)s->step);
        }
        t += seg;
    }
}

static int run_oracle(W *w, gs_error *err) {
    gs_sim_result *r = w->res;
    double total = 0;
    for (int32_t k = 0; k < w->sc->nwl; k++) {
        const gs_sim_workload *wl = &w->sc->wl[k];
        double eq = 0;
        double rate = oracle_rate(w, wl->pool, &wl->need, wl->sat_slices, false, &eq);
        if (rate < 0) return gs_error_set(err, GS_EINFEASIBLE, "oracle: workload %s fits nothing in its pool", wl->name);
        /* GPU share and speed of the cheapest slot, for GPU-hours busy */
        for (int64_t i = w->in->first_counted; i < w->in->nreq; i++) {
            const gs_sim_req *q = &w->in->reqs[i];
            if (q->wl != k) continue;
            double c = rate * q->svc;
            total += c;
            w->wait[i] = 0;
            w->done[i] = 1;
            oracle_add(w, q->at, q->svc, rate, 0);
            r->gpu_h_busy += (double)q->svc / 3600000.0 * eq; /* the slot's GPU share x its time */
        }
    }
    for (int64_t j = 0; j < w->in->njobs; j++) {
        const gs_job *jb = &w->in->jobs[j];
        gs_rc_need need = {0};
        if (jb->gpu_milli < 1000) need.compute = (jb->gpu_milli * 7 + 999) / 1000;
        else need.whole = jb->num_gpu;
        double rate = -1;
        for (int32_t pl = 0; pl < w->sc->npools; pl++) { /* a job may run in any pool */
            double r2 = oracle_rate(w, pl, &need, 7, true, NULL);
            if (r2 >= 0 && (rate < 0 || r2 < rate)) rate = r2;
        }
        if (rate < 0) return gs_error_set(err, GS_EINFEASIBLE, "oracle: a job fits nothing in the pool");
        total += rate * (double)(jb->end - jb->create);
        w->job_wait[j] = 0;
        oracle_add(w, jb->create, jb->end - jb->create, rate, 0);
        r->gpu_h_busy += (double)(jb->end - jb->create) / 3600000.0 *
                         (need.whole ? need.whole : need.compute / 7.0);
    }
    /* environments: each pod on the cheapest slot for exactly its run time (cut at the ttl) */
    for (int32_t k = 0; k < w->sc->nenvs; k++) {
        const gs_sim_env *e = &w->sc->envs[k];
        double rate = oracle_rate(w, e->pool, &e->need, 7, true, NULL);
        if (rate < 0) return gs_error_set(err, GS_EINFEASIBLE, "oracle: environment %s fits nothing in its pool", e->obj.name);
        gs_ms run = e->obj.workloads[0].run_for;
        gs_sim_envres *x = &r->env[k];
        bool cut = e->obj.ttl > 0 && e->obj.ttl < run;
        if (cut) run = e->obj.ttl;
        x->reason = cut || e->obj.delete_when == GS_DELETE_NEVER ? GS_ENV_REASON_TTL
                  : e->obj.delete_when == GS_DELETE_FINISHED ? GS_ENV_REASON_FINISHED : GS_ENV_REASON_SUCCEEDED;
        int32_t n = e->obj.workloads[0].replicas;
        double c = rate * (double)run * n;
        total += c;
        x->created_at = e->start;
        x->last_pod_gone = e->start + run;
        x->workloads_gone_at = x->deleted_at = e->start + (e->obj.delete_when == GS_DELETE_NEVER && !cut ? e->obj.ttl : run);
        if (cut) x->pods_deleted = n;
        else x->pods_succeeded = n;
        x->cost = (gs_usd_u)llround(c);
        oracle_add(w, e->start, run, rate * n, 0);
        r->gpu_h_busy += (double)run / 3600000.0 * n * (e->need.whole ? e->need.whole : e->need.compute / 7.0);
    }
    r->cost = (gs_usd_u)llround(total);
    r->cost_integral = total;
    r->gpu_h_bought = r->gpu_h_busy;
    return 0;
}

/* ------------------------------------------------------------------ results */

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static gs_ms pct(const int32_t *v, int64_t n, int q) {
    if (n == 0) return 0;
    int64_t i = (n * q + 99) / 100 - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

static int finish_stats(W *w) {
    gs_sim_result *r = w->res;
    const gs_sim_input *in = w->in;
    int64_t ntot = in->nreq + in->njobs;
    int32_t *all = malloc(sizeof(int32_t) * (size_t)(ntot + 1));
    int32_t *one = malloc(sizeof(int32_t) * (size_t)(ntot + 1));
    if (!all || !one) {
        free(all);
        free(one);
        return GS_ENOMEM;
    }
    int64_t na = 0;
    r->nwl = w->sc->nwl + (in->njobs ? 1 : 0);
    for (int32_t k = 0; k < r->nwl; k++) {
        gs_sim_wlres *x = &r->wl[k];
        memset(x, 0, sizeof *x);
        bool jobs = k == w->sc->nwl;
        x->slo = jobs ? GS_MIN(5) : w->sc->wl[k].slo_wait;
        int64_t n1 = 0;
        if (!jobs) {
            for (int64_t i = in->first_counted; i < in->nreq; i++) {
                if (in->reqs[i].wl != k) continue;
                x->requests++;
                if (w->done[i]) {
                    x->served++;
                    if (w->done[i] > 1) r->v_served++;
                    one[n1++] = w->wait[i];
                    all[na++] = w->wait[i];
                    if (w->wait[i] > x->slo) x->slo_viol++;
                } else {
                    x->dropped++;
                }
            }
        } else {
            for (int64_t j = 0; j < in->njobs; j++) {
                x->requests++;
                if (w->job_wait[j] >= 0) {
                    x->served++;
                    int32_t wt = (int32_t)(w->job_wait[j] > INT32_MAX ? INT32_MAX : w->job_wait[j]);
                    one[n1++] = wt;
                    all[na++] = wt;
                    if (wt > x->slo) x->slo_viol++;
                } else {
                    x->dropped++;
                }
            }
        }
        qsort(one, (size_t)n1, sizeof *one, cmp_i32);
        x->p50 = pct(one, n1, 50);
        x->p95 = pct(one, n1, 95);
        x->p99 = pct(one, n1, 99);
        x->max = n1 ? one[n1 - 1] : 0;
        r->requests += x->requests;
        r->served += x->served;
        r->dropped += x->dropped;
        r->slo_viol += x->slo_viol;
    }
    qsort(all, (size_t)na, sizeof *all, cmp_i32);
    r->p50 = pct(all, na, 50);
    r->p95 = pct(all, na, 95);
    r->p99 = pct(all, na, 99);
    r->max_wait = na ? all[na - 1] : 0;
    free(all);
    free(one);
    return 0;
}

void gs_sim_result_free(gs_sim_result *r) {
    free(r->series.queue);
    free(r->series.replicas);
    free(r->series.nodes);
    free(r->series.usd_h);
    memset(&r->series, 0, sizeof r->series);
}

/* ------------------------------------------------------------------ setup and loop */

static void setup_scalers(W *w) {
    for (int32_t k = 0; k < w->sc->nwl; k++) {
        const gs_sim_workload *wl = &w->sc->wl[k];
        wlst *s = &w->ws[k];
        gs_scale_init(&s->st);
        gs_scaler *c = &s->scaler;
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", wl->name);
        gs_trigger *t = &c->triggers[0];
        c->ntriggers = 1;
        t->type = GS_TRIG_SIM;
        t->metric_type = GS_METRIC_AVERAGE_VALUE;
        snprintf(t->name, sizeof t->name, "queue");
        t->target_milli = wl->target_milli;
        t->activation_milli = wl->activation_milli;
        if (w->pol == GS_POL_GPUSCALE) {
            gs_scale_defaults(c);
            c->polling_interval = wl->polling;
            c->cooldown_period = wl->cooldown;
            c->stabilize_down = wl->stabilize_down;
        } else {
            /* KEDA defaults (30 s polling, 300 s cooldown) handing replicas to an HPA with its
             * defaults (300 s scale-down stabilization; tolerance and rate limit: hpa_scale) */
            gs_scale_defaults_keda(c);
        }
        c->min_replicas = wl->min_replicas;
        c->max_replicas = wl->max_replicas;
        if (w->pol == GS_POL_CA) {
            /* HPA on GPU utilization: per-pod target = utilization target, minReplicas >= 1 */
            t->target_milli = (int64_t)llround(w->sc->hpa_util_target * 1000.0);
            t->activation_milli = 0;
            c->min_replicas = wl->min_replicas > 1 ? wl->min_replicas : 1;
            if (c->max_replicas < c->min_replicas) c->max_replicas = c->min_replicas;
        }
        s->rate_start = INT64_MIN / 2;
    }
}

static void setup_static(W *w) {
    /* whole-GPU nodes of the group type sized for the peak, warm from t = 0 */
    for (int32_t k = 0; k < w->sc->nwl; k++) {
        const gs_sim_workload *wl = &w->sc->wl[k];
        const gs_gpu_model *m = w->base_type >= 0 ? gs_gpu_get(w->cat->types[w->base_type].gpu_model) : NULL;
        int32_t f = gs_sim_speed_factor(m, wl->sat_slices, 1000);
        int32_t n = peak_concurrency(w->in, k, f);
        if (n < wl->min_replicas) n = wl->min_replicas;
        if (n < 1) n = 1;
        for (int32_t i = 0; i < n; i++) pod_create(w, k, -1, -1);
    }
    if (w->in->njobs) {
        /* capacity for the peak of concurrent GPU demand */
        int32_t g = peak_job_gpus(w->in);
        int32_t per = w->base_type >= 0 ? w->cat->types[w->base_type].gpus : 1;
        for (int32_t i = 0; i < (g + per - 1) / per; i++)
            node_launch(w, w->base_type, w->base_cap, w->sc->jobs_pool, true, -1);
        return;
    }
    int32_t need = 0;
    for (int32_t i = 0; i < w->nlive_pods; i++) need += 1;
    int32_t per = w->cat->types[w->base_type].gpus;
    for (int32_t i = 0; i < (need + per - 1) / per; i++)
        node_launch(w, w->base_type, w->base_cap, w->sc->wl[0].pool, true, -1);
    schedule_whole(w);
}

int gs_sim_run(const gs_scenario *sc, const gs_catalog *cat, const gs_sim_input *in,
               gs_policy pol, const gs_sim_opts *opts, gs_sim_result *res, gs_error *err) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(res, 0, sizeof *res);
    res->pol = pol;
    static const gs_sim_opts NOOPTS = {0};
    W *w = calloc(1, sizeof *w);
    if (!w) return gs_error_set(err, GS_ENOMEM, "out of memory");
    w->sc = sc;
    w->cat = cat;
    w->in = in;
    w->pol = pol;
    w->opts = opts ? opts : &NOOPTS;
    w->res = res;
    w->end = w->opts->end_override > 0 ? w->opts->end_override : sc->duration;
    gs_rng_seed(&w->rng, sc->seed ^ 0x5eed5eed00000000ULL);
    gs_heap_init(&w->h);
    w->batch_start = GS_NEVER;
    w->last_scale_up = GS_NEVER;
    int rc = 0;
    gs_sim_series *s = &res->series;
    s->step = sc->sample_every;
    s->n = (int32_t)((w->end + s->step - 1) / s->step);
    s->queue = calloc((size_t)s->n + 1, sizeof(float));
    s->replicas = calloc((size_t)s->n + 1, sizeof(float));
    s->nodes = calloc((size_t)s->n + 1, sizeof(float));
    s->usd_h = calloc((size_t)s->n + 1, sizeof(float));
    w->wait = malloc(sizeof(int32_t) * (size_t)(in->nreq + 1));
    w->done = calloc((size_t)in->nreq + 1, 1);
    w->job_wait = malloc(sizeof(gs_ms) * (size_t)(in->njobs + 1));
    if (!s->queue || !s->replicas || !s->nodes || !s->usd_h || !w->wait || !w->done || !w->job_wait) {
        rc = gs_error_set(err, GS_ENOMEM, "out of memory");
        goto out;
    }
    w->outstanding = in->nreq + in->njobs;
    for (int64_t i = 0; i < in->nreq; i++) w->wait[i] = -1;
    for (int64_t i = 0; i < in->njobs; i++) w->job_wait[i] = -1;
    for (int32_t k = 0; k < sc->nwl; k++) {
        int64_t n = 0;
        for (int64_t i = 0; i < in->nreq; i++) n += in->reqs[i].wl == k;
        w->ws[k].order = malloc(sizeof(int32_t) * (size_t)(n + 1));
        if (!w->ws[k].order) { rc = gs_error_set(err, GS_ENOMEM, "out of memory"); goto out; }
        w->ws[k].n = n;
    }
    {
        int64_t fill[GS_SIM_MAX_WL] = {0};
        for (int64_t i = 0; i < in->nreq; i++) {
            int32_t k = in->reqs[i].wl;
            w->ws[k].order[fill[k]++] = (int32_t)i;
        }
    }
    res->nenvs = sc->nenvs;
    for (int32_t k = 0; k < sc->nenvs; k++) {
        gs_sim_envres *r = &res->env[k];
        r->created_at = r->workloads_gone_at = r->deleted_at = r->last_pod_gone = GS_SIM_NOT;
        w->est[k].env = &sc->envs[k].obj;
        w->est[k].phase = GS_ENV_PENDING;
        w->est[k].created_at = 0;
        w->est[k].reason = GS_ENV_REASON_NONE;
    }
    if (pol == GS_POL_ORACLE) {
        rc = run_oracle(w, err);
        if (!rc) rc = finish_stats(w);
        goto out;
    }
    /* projects: one per distinct workload project; a pool's project is its first workload's */
    for (int32_t pl = 0; pl < GS_SIM_MAX_POOLS; pl++) w->pool_proj[pl] = -1;
    for (int32_t k = 0; k < sc->nwl; k++) {
        int32_t p = -1;
        for (int32_t j = 0; j < res->nproj; j++)
            if (strcmp(res->proj[j], sc->wl[k].project) == 0) p = j;
        if (p < 0) {
            p = res->nproj++;
            snprintf(res->proj[p], sizeof res->proj[p], "%s", sc->wl[k].project);
        }
        int32_t pl = sc->wl[k].pool;
        if (pl >= 0 && pl < GS_SIM_MAX_POOLS && w->pool_proj[pl] < 0) {
            w->pool_proj[pl] = p;
            w->pool_project[pl] = res->proj[p];
        }
    }
    /* a pool no workload uses bills the project of its first environment */
    for (int32_t k = 0; k < sc->nenvs; k++) {
        int32_t pl = sc->envs[k].pool;
        if (pl < 0 || pl >= GS_SIM_MAX_POOLS || w->pool_proj[pl] >= 0) continue;
        int32_t p = -1;
        for (int32_t j = 0; j < res->nproj; j++)
            if (strcmp(res->proj[j], sc->envs[k].obj.project) == 0) p = j;
        if (p < 0) {
            if (res->nproj == GS_SIM_MAX_WL) continue;
            p = res->nproj++;
            snprintf(res->proj[p], sizeof res->proj[p], "%s", sc->envs[k].obj.project);
        }
        w->pool_proj[pl] = p;
        w->pool_project[pl] = res->proj[p];
    }
    w->proj_at = 0;
    setup_scalers(w);
    /* baseline node group type: cheapest type fitting the biggest single pod */
    {
        int32_t need = 1, pool = sc->nwl ? sc->wl[0].pool : sc->jobs_path[0] || !sc->nenvs ? sc->jobs_pool : sc->envs[0].pool;
        gs_mib gmem = 0, mem = 0;
        gs_mcpu cpu = 0;
        for (int32_t k = 0; k < sc->nwl; k++) {
            if (sc->wl[k].need.mem_mib > gmem) gmem = sc->wl[k].need.mem_mib;
            if (sc->wl[k].need.cpu > cpu) cpu = sc->wl[k].need.cpu;
            if (sc->wl[k].need.mem > mem) mem = sc->wl[k].need.mem;
        }
        for (int32_t k = 0; k < sc->nenvs; k++) {
            const gs_rc_need *en = &sc->envs[k].need;
            if (en->whole > need) need = en->whole;
            if (en->mem_mib > gmem) gmem = en->mem_mib;
            if (en->cpu > cpu) cpu = en->cpu;
            if (en->mem > mem) mem = en->mem;
        }
        for (int64_t j = 0; j < in->njobs; j++) {
            if (in->jobs[j].gpu_milli >= 1000 && in->jobs[j].num_gpu > need) need = in->jobs[j].num_gpu;
            if (in->jobs[j].cpu > cpu) cpu = in->jobs[j].cpu;
            if (in->jobs[j].mem > mem) mem = in->jobs[j].mem;
        }
        /* the group's type must fit the biggest pod; if none does, fit the GPUs only (the
         * pods too big for it stay pending and are reported as not served) */
        w->base_type = cheapest_whole(w, pool, need, gmem, cpu, mem, need, &w->base_cap);
        if (w->base_type < 0) w->base_type = cheapest_whole(w, pool, need, gmem, 0, 0, need, &w->base_cap);
        if (w->base_type < 0 && pol != GS_POL_GPUSCALE) {
            rc = gs_error_set(err, GS_EINFEASIBLE, "no instance type of the pool fits a whole-GPU replica");
            goto out;
        }
    }
    w->now = w->price_at = in->start;
    /* pools' initialNodes: up from the start, GPUs whole (not configured for the pool's
     * sharing yet); billed from t = 0 like any node running at the end of the warm-up */
    for (int32_t k = 0; k < sc->npools && k < GS_SIM_MAX_POOLS; k++)
        for (int32_t i = 0; i < sc->initial_nodes[k] && sc->initial_itype[k] >= 0; i++) {
            node_launch(w, sc->initial_itype[k], GS_CAP_ON_DEMAND, k, true, -1);
            if (w->now >= 0) w->res->nodes_launched--; /* there before the run, not launched */
        }
    if (pol == GS_POL_STATIC) setup_static(w);
    if (w->oom) { rc = gs_error_set(err, GS_ENOMEM, "out of memory"); goto out; }
    gs_ms every = tick_every(w);
    w->every = every;
    w->tick_armed = true;
    w->now = w->price_at = in->start;
    push(w, in->start, EV_TICK, 0, 0, 0);
    push(w, 0, EV_SAMPLE, 0, 0, 0);
    for (int32_t k = 0; k < sc->nenvs; k++) push(w, sc->envs[k].start, EV_ENV_WAKE, k, 0, 0);
    if (pol == GS_POL_KK) push(w, in->start, EV_POLL, 0, 0, 0);
    /* spot reclaim events per capacity pool (instance type allowed as spot, zone): from the
     * seed alone, the same for every policy */
    if (sc->spot_per_node_hour > 0 && sc->spot_reclaim_fraction > 0) {
        double mean_ms = 3600000.0 * sc->spot_reclaim_fraction / sc->spot_per_node_hour;
        uint32_t eid = 0;
        for (int32_t t = 0; t < cat->n; t++) {
            bool spot = false;
            for (int32_t pl = 0; pl < sc->npools; pl++)
                spot |= gs_pool_allows(&sc->pools[pl], &cat->types[t], GS_CAP_SPOT, NULL);
            if (!spot) continue;
            for (int32_t z = 0; z < (sc->zones > 0 ? sc->zones : 1); z++) {
                gs_rng er;
                gs_rng_seed(&er, sc->seed ^ 0x5350u ^ ((uint64_t)t << 24) ^ ((uint64_t)z << 48));
                double at = (double)in->start;
                for (;;) {
                    at += gs_rng_exp(&er, mean_ms);
                    if (at >= (double)w->end) break;
                    push(w, (gs_ms)at, EV_RECLAIM, t, z, eid++);
                }
            }
        }
    }
    int64_t events = 0;
    gs_ms next_progress = 0;
    for (;;) {
        const gs_event *top = gs_heap_peek(&w->h);
        gs_ms tn = top ? top->at : INT64_MAX;
        gs_ms ta = w->next_req < in->nreq ? in->reqs[w->next_req].at : INT64_MAX;
        gs_ms tj = w->next_job < in->njobs ? in->jobs[w->next_job].create : INT64_MAX;
        gs_ms t = tn < ta ? tn : ta;
        if (tj < t) t = tj;
        /* arrivals stop at the horizon; the run goes on until the work that arrived is done
         * (drain, at most 24 h more), so every policy serves the same work */
        if (t == INT64_MAX) break;
        if (t >= w->end && (w->outstanding == 0 || t >= w->end + GS_HOUR(24))) break;
        w->now = t;
        events++;
        if (w->opts->progress && t >= next_progress) {
            w->opts->progress(w->opts->progress_ctx, pol, (double)t / (double)w->end);
            next_progress = t + w->end / 200;
        }
        if (tj == t && tj <= tn && tj <= ta) {
            int32_t j = (int32_t)w->next_job++;
            pod_create(w, -1, j, -1);
            continue;
        }
        if (ta == t && ta < tn) {
            int32_t r = (int32_t)w->next_req++;
            wlst *ws = &w->ws[in->reqs[r].wl];
            ws->tail++;
            dispatch(w, in->reqs[r].wl);
            continue;
        }
        gs_event e;
        gs_heap_pop(&w->h, &e);
        switch (e.type) {
        case EV_DONE: {
            wpod *p = &w->pods[e.a];
            if (p->gen != e.gen || p->state != PS_BUSY || (uint32_t)e.b != p->run_gen) break;
            int32_t r = p->req;
            if (w->done[r] == 0) w->outstanding--;
            if (w->done[r] < 255) w->done[r]++;
            int32_t tsn = p->ts ? p->node : -1, tsg = p->gpu;
            if (p->ts) {
                /* GPU time a time-sliced request used: its full-GPU work (the part after 0) */
                ts_settle(w, tsn, tsg);
                p->ts_work = 0;
                double span = (double)(w->now - p->busy_since);
                double after = (double)(w->now - (p->busy_since > 0 ? p->busy_since : 0));
                if (w->now > 0 && span > 0) res->gpu_h_busy += p->ts_work0 * (after / span) / 3600000.0;
            } else if (w->now > 0) {
                res->gpu_h_busy += (double)(w->now - (p->busy_since > 0 ? p->busy_since : 0)) *
                                   p->share_milli / 1000.0 / 3600000.0;
            }
            p->req = -1;
            if (p->terminating) {
                pod_gone(w, e.a);
                break;
            }
            wlst *ws = &w->ws[p->wl];
            int32_t nr = next_request(ws);
            if (nr >= 0) {
                set_state(w, p, PS_IDLE);
                start_req(w, e.a, nr);
            } else {
                go_idle(w, e.a);
            }
            if (tsn >= 0) ts_resched(w, tsn, tsg); /* one fewer busy co-tenant */
            break;
        }
        case EV_RECLAIM: {
            /* a reclaim of capacity pool (instance type e.a, zone e.b): each spot node there
             * gets a notice with probability spotReclaimFraction, drawn from (seed, event,
             * the node's launch ordinal), never from the run's RNG */
            for (int32_t i = w->nlive_nodes - 1; i >= 0; i--) {
                if (i >= w->nlive_nodes) continue;
                int32_t nid = w->live_nodes[i];
                wnode *n = &w->nodes[nid];
                if (n->itype != e.a || n->zone != e.b || n->cap != GS_CAP_SPOT || n->doomed || n->state == NS_GONE) continue;
                gs_rng hr;
                gs_rng_seed(&hr, sc->seed ^ ((uint64_t)e.gen * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)n->seq << 32));
                if (gs_rng_unit(&hr) < sc->spot_reclaim_fraction) on_notice(w, nid);
            }
            break;
        }
        case EV_ENV_POD_END: {
            wpod *p = &w->pods[e.a];
            if (p->gen != e.gen || p->state != PS_BUSY || p->env < 0) break;
            gs_sim_envres *er = &res->env[p->env];
            er->pods_succeeded++;
            er->last_pod_gone = w->now;
            if (w->now > 0) res->gpu_h_busy += (double)(w->now - p->busy_since) * p->share_milli / 1000.0 / 3600000.0;
            pod_gone(w, e.a);
            break;
        }
        case EV_ENV_WAKE: mark(w); break;
        case EV_JOB_END: {
            wpod *p = &w->pods[e.a];
            if (p->gen != e.gen) break;
            w->outstanding--;
            res->gpu_h_busy += (double)(w->now - p->busy_since) * p->share_milli / 1000.0 / 3600000.0;
            pod_gone(w, e.a);
            break;
        }
        case EV_POD_READY: {
            wpod *p = &w->pods[e.a];
            if (p->gen != e.gen || p->state != PS_STARTING) break;
            if (p->terminating) { pod_gone(w, e.a); break; }
            go_idle(w, e.a);
            break;
        }
        case EV_NODE_READY:
            if (w->nodes[e.a].gen == e.gen && w->nodes[e.a].state == NS_BOOTING) on_node_ready(w, e.a);
            break;
        case EV_GPU_READY:
            if (w->nodes[e.a].gen == e.gen) on_gpu_ready(w, e.a, e.b);
            break;
        case EV_KILL:
            if (w->nodes[e.a].gen == e.gen && w->nodes[e.a].state != NS_GONE) on_kill(w, e.a);
            break;
        case EV_POLL:
            for (int32_t k = 0; k < sc->nwl; k++) w->ws[k].metric_snap = metric_now(w, k);
            push(w, w->now + GS_SEC(30), EV_POLL, 0, 0, 0);
            break;
        case EV_SAMPLE:
            sample(w);
            push(w, w->now + sc->sample_every, EV_SAMPLE, 0, 0, 0);
            break;
        case EV_TICK: {
            w->tick_armed = false;
            w->dirty = false;
            w->in_tick = true;
            envs_step(w);
            if (pol == GS_POL_GPUSCALE) tick_gpuscale(w);
            else if (pol == GS_POL_KK) tick_kk(w);
            else tick_ca(w);
            w->in_tick = false;
            bool again = sc->nwl > 0 || w->dirty || envs_busy(w);
            for (int32_t i = 0; i < w->nlive_pods && !again; i++)
                again = w->pods[w->live_pods[i]].state == PS_PENDING;
            for (int32_t i = 0; i < w->nlive_nodes && !again; i++)
                again = w->nodes[w->live_nodes[i]].npods == 0;
            if (again) {
                w->tick_armed = true;
                push(w, w->now + every, EV_TICK, 0, 0, 0);
            }
            break;
        }
        }
        if (w->oom) break;
    }
    if (w->oom) {
        rc = w->fail[0] ? gs_error_set(err, GS_EINVAL, "%s", w->fail)
                        : gs_error_set(err, GS_ENOMEM, "out of memory during the run");
        goto out;
    }
    if (w->now < w->end) w->now = w->end;
    res->events = events;
    /* close: bill every node still running at the horizon */
    for (int32_t i = w->nlive_nodes - 1; i >= 0; i--) node_end(w, w->live_nodes[i]);
    integrate(w);
    budget_close(w);
    rc = finish_stats(w);
    if (rc) rc = gs_error_set(err, rc, "out of memory");
out:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    for (int32_t k = 0; k < GS_SIM_MAX_WL; k++) {
        free(w->ws[k].order);
        free(w->ws[k].retry);
        free(w->ws[k].idle);
    }
    free(w->nodes);
    free(w->live_nodes);
    free(w->pods);
    free(w->live_pods);
    free(w->wait);
    free(w->done);
    free(w->job_wait);
    gs_heap_free(&w->h);
    free(w);
    if (rc) gs_sim_result_free(res);
    return rc;
}
