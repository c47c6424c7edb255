/* A simulation scenario: the pools and workloads (what a user would write as GPUPool and
 * QueueScaler objects) plus the simulation-only parts: traffic (a trace or the synthetic
 * generator), each workload's service-time model, SLO, duration, seed, cloud timings and spot
 * interruption rate. Read from JSON (docs/simulate.md documents every field). */
#ifndef GS_SIM_SCENARIO_H
#define GS_SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/err.h"
#include "model/objects.h"
#include "model/qty.h"
#include "policy/reconcile.h"
#include "sim/trace.h"

#define GS_SIM_MAX_WL 8
#define GS_SIM_MAX_POOLS 4
#define GS_SIM_MAX_BOOT 16
#define GS_SIM_PATH 512
#define GS_SIM_MAX_BUDGETS 8
#define GS_SIM_MAX_ENVS 16

typedef struct gs_boot_dist {
    char family[GS_FAMILY_NAME]; /* "" = default for GPU families not listed */
    gs_ms min, max;               /* boot-to-ready (GPU allocatable), uniform in [min, max] */
} gs_boot_dist;

typedef enum { GS_TRAFFIC_SYNTH, GS_TRAFFIC_TRACE } gs_traffic_kind;

typedef struct gs_sim_workload {
    char name[GS_NAME_LEN];
    char project[GS_NAME_LEN];
    int32_t pool;
    char mig_profile[24];        /* what gpuscale asks for on H100-class GPUs, "" = whole GPU
                                  * (in a time-sliced pool: one replica; fractional: need.milli) */
    gs_rc_need need;             /* compute slices / GPU memory / cpu / memory of one replica */
    int32_t sat_slices;          /* compute slices (of 7 on the reference GPU) it saturates */
    double base_ms, ms_per_in, ms_per_out; /* service time on a saturating slot */
    gs_ms cold_start;
    gs_ms slo_wait;
    /* scaler (QueueScaler) */
    int64_t target_milli, activation_milli;
    int32_t min_replicas, max_replicas;
    gs_ms polling, cooldown, stabilize_down;
    /* traffic */
    gs_traffic_kind traffic;
    char sizes_path[GS_SIM_PATH]; /* Azure CSV whose request sizes are sampled / replayed */
    gs_synth_params synth;
    double trace_speedup;         /* replay: divide inter-arrival times by this (>= 1) */
} gs_sim_workload;

/* An ephemeral environment (issue 6): a Job of `replicas` pods (all run in parallel, each for
 * runFor once running) in a pool, created at `start`, deleted by policy/envs when its Job
 * succeeded/finished, its ttl expired or its project's hard budget was hit. */
typedef struct gs_sim_env {
    gs_environment obj;          /* name, project, pool name, ttl, deleteWhen and one Job
                                  * workload (replicas, run_for) as policy/envs reads them */
    int32_t pool;                /* index into pools */
    gs_ms start;                 /* creation time (>= 0) */
    char mig_profile[24];        /* "" = whole GPU */
    gs_rc_need need;             /* one pod */
} gs_sim_env;

/* The local days and calendar months of a budget's timezone over the simulated span, as
 * UTC ms since the epoch, resolved once from the tz database when the scenario is loaded (so
 * a run never reads the tz database and stays deterministic). day[k] .. day[k+1] is one
 * local day (23 h or 25 h across a DST change); month[] likewise. */
#define GS_SIM_TZ_DAYS 420
#define GS_SIM_TZ_MONTHS 20
typedef struct gs_sim_tzcal {
    int32_t ndays, nmonths;           /* boundaries filled (0: the budget is UTC: arithmetic) */
    gs_ms day[GS_SIM_TZ_DAYS + 1];
    gs_ms month[GS_SIM_TZ_MONTHS + 1];
} gs_sim_tzcal;

typedef struct gs_scenario {
    char name[GS_NAME_LEN];
    char description[GS_VALUE_LEN];
    char dir[GS_SIM_PATH];
    uint64_t seed;
    gs_ms duration;
    gs_ms warmup;                /* synthetic traffic starts this long before t = 0; nothing
                                  * before 0 is counted (every policy starts warm) */
    gs_ms sample_every;
    gs_boot_dist boot[GS_SIM_MAX_BOOT];
    int32_t nboot;
    double spot_per_node_hour;   /* interruptions per spot node-hour */
    gs_ms spot_notice;           /* 2 min on AWS */
    gs_ms mig_reconfigure;
    gs_ms bill_min;              /* 60 s */
    double hpa_util_target;      /* cluster-autoscaler baseline: HPA GPU utilization target */
    gs_pool pools[GS_SIM_MAX_POOLS];
    int32_t npools;
    gs_sim_workload wl[GS_SIM_MAX_WL];
    int32_t nwl;
    /* openb job replay instead of queue workloads */
    char jobs_path[GS_SIM_PATH];
    int32_t jobs_pool;
    int64_t jobs_limit;          /* 0 = all pods */
    /* budgets (issue 6): enforced for the gpuscale policy only (the baselines have no dollar
     * limit); periods are UTC-aligned with t = 0 at midnight on 1970-01-01 (docs/cost.md) */
    gs_budget budgets[GS_SIM_MAX_BUDGETS];
    int32_t nbudgets;
    /* environments (issue 6): run by every simulated policy; docs/simulate.md */
    gs_sim_env envs[GS_SIM_MAX_ENVS];
    int32_t nenvs;
    /* wall-clock time of t = 0 (ms since the epoch, UTC): "startsAt"; default 0 =
     * 1970-01-01T00:00:00Z. Budget periods are computed at starts_at + t. */
    gs_ms starts_at;
    /* per budget, its timezone's local days and months (budgets[k].timezone != "UTC") */
    gs_sim_tzcal tzcal[GS_SIM_MAX_BUDGETS];
    /* spot capacity pools: nodes launch in one of `zones` zones; a reclaim event of a capacity
     * pool (instance type, zone) gives each spot node there a notice with probability
     * spot_reclaim_fraction; events come at spot_per_node_hour / spot_reclaim_fraction per
     * capacity pool and hour, drawn from the seed alone (the same for every policy) */
    int32_t zones;
    double spot_reclaim_fraction;
    /* gpuscale's spot diversification (policy/reconcile, gs_rc_input) */
    int32_t spot_max_pct;
    int32_t spot_price_slack_pct;
    int32_t repack_headroom;     /* gs_rc_input.repack_headroom; -1: no repacking */
    /* gpuscale lets the packer switch idle WHOLE GPUs of a time-slicing or fractional pool's
     * nodes to the pool's sharing (gs_rc_input.switch_modes): "gpuscale.switchModes",
     * default true */
    bool switch_modes;
    /* pools[k].initialNodes: nodes of pool k up when the run starts, GPUs whole (nodes the
     * pool had before its sharing was configured on them), for every simulated policy; of
     * the pool's cheapest allowed on-demand GPU type (initial_itype[k]) */
    int32_t initial_nodes[GS_SIM_MAX_POOLS];
    int32_t initial_itype[GS_SIM_MAX_POOLS];
} gs_scenario;

/* Defaults for every field (docs/simulate.md). */
void gs_scenario_defaults(gs_scenario *s);
/* Parses scenario JSON text; `file` names it in errors (file:line:col); relative paths are
 * resolved against `dir`. cat is used to validate pools. On error *s is unspecified. */
int gs_scenario_parse(gs_scenario *s, const char *text, size_t len, const char *file,
                      const char *dir, const gs_catalog *cat, gs_error *err);
int gs_scenario_load(gs_scenario *s, const char *path, const gs_catalog *cat, gs_error *err);

/* Resolves the local days and months of every budget with a timezone other than UTC over
 * [starts_at, starts_at + duration + 48 h] (the run, its drain and a margin) from the tz
 * database. gs_scenario_parse calls it; call it again after changing duration or starts_at.
 * Returns 0, or GS_EINVAL (unknown zone, span too long) with a message in err. */
int gs_scenario_resolve_periods(gs_scenario *s, gs_error *err);

/* Boot-to-ready bounds for an instance family. */
const gs_boot_dist *gs_scenario_boot(const gs_scenario *s, const char *family);

#endif
