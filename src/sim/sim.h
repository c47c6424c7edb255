/* The discrete-event simulator: a virtual clock (ms), an event heap, a seeded RNG, a simulated
 * cloud (boot-to-ready latency per family, per-second billing with a minimum, spot prices and
 * interruptions with a notice), a cluster (nodes, GPUs, MIG partitions, pods) and queues fed by
 * a trace, served by inference replicas. Each policy runs on the same input:
 *   static-peak, cluster-autoscaler, karpenter-keda, gpuscale (policy/reconcile), oracle.
 * docs/simulate.md describes the world model and every default. */
#ifndef GS_SIM_SIM_H
#define GS_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/err.h"
#include "model/period.h"
#include "model/qty.h"
#include "policy/envs.h"
#include "sim/scenario.h"
#include "sim/trace.h"

typedef enum {
    GS_POL_STATIC = 0,
    GS_POL_CA,
    GS_POL_KK,
    GS_POL_GPUSCALE,
    GS_POL_ORACLE,
    GS_POL__N
} gs_policy;

const char *gs_policy_name(gs_policy p); /* "static-peak", "cluster-autoscaler", ... */
int gs_policy_parse(const char *s);      /* -1 if unknown */

typedef struct gs_sim_req {
    gs_ms at;
    int32_t wl;
    int32_t svc;     /* ms on a slot that saturates the workload (reference GPU) */
} gs_sim_req;

/* The traffic of a scenario, built once and shared by every policy's run. */
typedef struct gs_sim_input {
    gs_sim_req *reqs; /* owned, sorted by at; warm-up requests have at < 0 */
    int64_t nreq;
    int64_t first_counted; /* index of the first request with at >= 0 */
    gs_ms start;           /* -warmup when synthetic traffic warms up, else 0 */
    gs_job *jobs;     /* owned, sorted by create; ms relative to the window start */
    int64_t njobs;
    int64_t cpu_only_jobs;
    int64_t bad_rows;
    int32_t nmsgs;
    char msgs[GS_TRACE_KEEP_MSGS][200]; /* "file:line: reason" of the first skipped rows */
} gs_sim_input;

/* Loads or generates the traffic (traces, synthetic days) of scenario sc. strict: a bad trace
 * row fails (its file:line and reason in err); otherwise bad rows are skipped and counted. */
int gs_sim_prepare(const gs_scenario *sc, bool strict, gs_sim_input *in, gs_error *err);
void gs_sim_input_free(gs_sim_input *in);

typedef struct gs_sim_series {
    int32_t n;
    gs_ms step;
    float *queue, *replicas, *nodes, *usd_h; /* owned, n each */
} gs_sim_series;

typedef struct gs_sim_wlres {
    int64_t requests, served, dropped, slo_viol;
    gs_ms p50, p95, p99, max;
    gs_ms slo;
} gs_sim_wlres;

/* One environment's life under a policy (issue 6). Times are sim ms; GS_SIM_NOT: never. */
#define GS_SIM_NOT INT64_MIN
typedef struct gs_sim_envres {
    gs_ms created_at;        /* its Job's pods were created */
    gs_ms workloads_gone_at; /* deletion decided and its pods deleted */
    gs_ms deleted_at;        /* its nodes released too: marked deleted */
    gs_env_reason reason;
    int32_t pods_succeeded;  /* pods that ran runFor to completion */
    int32_t pods_deleted;    /* pods deleted before completing (ttl/budget) */
    int32_t nodes;           /* nodes launched for it (first pod bound to a new node) */
    gs_usd_u cost;           /* the bills of those nodes, launch to release */
    gs_ms last_pod_gone;     /* when its last pod went (checked: <= workloads_gone_at) */
    int64_t outlived;        /* pod-still-live observations after deleted_at (must be 0) */
} gs_sim_envres;

typedef struct gs_sim_result {
    gs_policy pol;
    gs_usd_u cost;
    int64_t requests, served, dropped, slo_viol, requeued;
    gs_ms p50, p95, p99, max_wait;
    double gpu_h_bought, gpu_h_busy;
    int32_t nodes_launched, peak_nodes;
    int64_t spot_interruptions, mig_reconfigs, blocked_launches;
    int32_t nwl;
    gs_sim_wlres wl[GS_SIM_MAX_WL];
    int64_t events;
    double wall_s;
    /* invariant evidence (checked in tests) */
    int64_t v_fit;          /* binds refused because the pod did not fit (must stay 0) */
    int64_t v_served;       /* requests completed more than once (must stay 0) */
    double cost_integral;   /* integral of running node prices, micro-dollars */
    double cost_topup;      /* billing minimum and per-second rounding, micro-dollars */
    gs_sim_series series;
    /* cost per project (issue 6): each node's bill goes to its pool's project (the project
     * of the first workload in the pool; "" for pools without workloads) */
    int32_t nproj;
    char proj[GS_SIM_MAX_WL][GS_NAME_LEN];
    gs_usd_u proj_cost[GS_SIM_MAX_WL];
    int64_t budget_scale_to_min;  /* times a budget's scaleToMin capped a project (gpuscale) */
    gs_usd_u budget_max[GS_SIM_MAX_BUDGETS][GS_WIN__N]; /* most metered in one period, per
                                                          * budget's project and window */
    int32_t nenvs;
    gs_sim_envres env[GS_SIM_MAX_ENVS];
    /* Where the bought GPU time went (GPU-hours, t >= 0), estimated by sampling the cluster
     * every sampleEvery: GPUs of booting nodes, GPUs waiting for a MIG reconfiguration, GPU
     * share held by pods still starting (bound, cold start), held by idle replicas, held by
     * busy pods, and not held by any pod (free slices, empty nodes, fragmentation). A MIG
     * instance counts compute slices / 7, as gpu_h_busy. Not filled for the oracle. */
    double gh_boot, gh_reconf, gh_start, gh_idle, gh_busy, gh_free;
    int64_t repacks;        /* nodes gpuscale emptied by make-before-break repacking */
    int64_t mode_switches;  /* GPUs of running nodes switched to time-slicing / fractional
                             * sharing (CONFIGURE_GPU; mig_reconfigs counts MIG layouts) */
} gs_sim_result;

typedef struct gs_sim_opts {
    void (*progress)(void *ctx, gs_policy p, double frac); /* may be NULL */
    void *progress_ctx;
    gs_ms end_override; /* 0: scenario duration */
} gs_sim_opts;

int gs_sim_run(const gs_scenario *sc, const gs_catalog *cat, const gs_sim_input *in,
               gs_policy pol, const gs_sim_opts *opts, gs_sim_result *res, gs_error *err);
void gs_sim_result_free(gs_sim_result *r);

/* Service-time factor (x1000, >= 1000) for a workload saturating `sat` of 7 compute slices of
 * the reference GPU (H100, by FP16 TFLOPS), on a slot with `share_milli` of GPU model m. */
int32_t gs_sim_speed_factor(const gs_gpu_model *m, int32_t sat, int32_t share_milli);

#endif
