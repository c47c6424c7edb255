/* Cost governance, the pure part: the attribution meter (who pays for each second of each
 * node), budget windows (spend, limit and forecast per hour/day/month), the budget gate the
 * packer calls before it launches a node, and the budget actions (alerts, block,
 * scaleToMin). Pure: no clock, no I/O; the time, the period boundaries (computed in a
 * timezone by io/tzperiod) and the spend so far (read from the ledger by io/ledger) are
 * passed in. docs/cost.md explains the formulas with a worked example. */
#ifndef GS_POLICY_BUDGET_H
#define GS_POLICY_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/err.h"
#include "model/objects.h"
#include "model/period.h"
#include "model/qty.h"

/* ------------------------------------------------------------------------------------------
 * Meter
 *
 * A node's cost over [t0, t1) is cost(t1 - created) - cost(t0 - created) with
 * cost(d) = floor(price_per_hour * d / 1h), so consecutive intervals telescope: their sum is
 * exactly the cost of the whole span (no micro-dollar lost to per-interval rounding).
 *
 * That cost is split among the holders of the node by weight:
 *   - a node with GPUs: each GPU is worth 1/ngpus of the node; a GPU's worth goes to
 *       WHOLE       the pod holding it (count GPUs per pod),
 *       MIG         each instance's memory slices out of the model's slices (8; A30: 4),
 *       TIMESLICED  replicas held out of the GPU's ts_replicas,
 *       FRACTIONAL  milli-GPU held out of 1000;
 *     CPU-only pods on a GPU node are not charged (the node's CPU and memory exist to feed
 *     its GPUs; charging them would make GPU tenants' shares depend on sidecars).
 *   - a node without GPUs: a pod's weight is (cpu/cpu_alloc + mem/mem_alloc) / 2.
 * What no pod holds is the pool's idle cost (project GS_METER_IDLE).
 * Parts are integers that sum exactly to the node's cost: each part gets
 * floor(cost * w / W); the micro-dollars left over go one each to the parts with the largest
 * remainders (cost * w mod W), ties broken by project name then workload name, with the idle
 * part ordered last.
 * Pods counted: bound to the node (node == index) and not Succeeded/Failed. Parts are keyed
 * by (project, workload): the workload is the owning QueueScaler/Environment name.
 * ------------------------------------------------------------------------------------------ */

#define GS_METER_IDLE "_idle"   /* not a valid namespace/label value, so never a project */
#define GS_METER_MAX_PARTS 256  /* distinct (project, workload) pairs per node */

typedef struct gs_meter_part {
    char project[GS_NAME_LEN];
    char workload[GS_NAME_LEN];
    gs_usd_u usd;
    int64_t weight;            /* numerator over gs_meter_node.denom */
} gs_meter_part;

typedef struct gs_meter_node {
    gs_usd_u total;            /* node cost over the interval */
    gs_usd_u price_per_hour;   /* price used (capacity type of the node) */
    int64_t denom;             /* weights are out of this */
    int32_t nparts;            /* including the idle part (always last, even when 0) */
    gs_meter_part parts[GS_METER_MAX_PARTS + 1];
} gs_meter_node;

/* Splits node `node`'s cost over [t0, t1) (t0 <= t1, both >= node.created_at). out is
 * filled (caller-owned). Errors: GS_EINVAL for an inconsistent snapshot (a GPU held more than
 * once over, a MIG pod without a partition, an unknown instance type), with a message;
 * GS_ETOOBIG past GS_METER_MAX_PARTS holders; GS_EOVERFLOW. */
int gs_meter_node_split(const gs_snapshot *s, const gs_catalog *cat, int32_t node, gs_ms t0,
                        gs_ms t1, gs_meter_node *out, gs_error *err);

/* The same with the indices of the pods bound to the node given (pods; others in the list
 * are ignored), so metering a whole snapshot is O(nodes + pods) instead of O(nodes x pods).
 * pods NULL = scan every pod. */
int gs_meter_node_split_idx(const gs_snapshot *s, const gs_catalog *cat, int32_t node,
                            const int32_t *pods, int32_t npods, gs_ms t0, gs_ms t1,
                            gs_meter_node *out, gs_error *err);

/* Largest-remainder split of total by weights (sum(weights) <= denom; the rest is idle and
 * is the last slot of out, so out has n + 1 slots). order[i] ranks part i in ties (lower
 * wins; the idle slot loses all ties). Exposed for tests and the simulator. */
int gs_meter_split(gs_usd_u total, const int64_t *weights, const int32_t *order, int32_t n,
                   int64_t denom, gs_usd_u *out);

/* ------------------------------------------------------------------------------------------
 * Budget windows
 * ------------------------------------------------------------------------------------------ */


/* One budget's facts at `now`: spend so far in each current period (from the ledger), and
 * the project's current burn rate (sum of its parts' prices per hour, from the meter). */
typedef struct gs_budget_state {
    const gs_budget *budget;   /* borrowed */
    gs_periods periods;
    gs_usd_u spent[GS_WIN__N];
    gs_usd_u rate_per_hour;    /* micro-dollars per hour the project is burning now */
} gs_budget_state;

typedef struct gs_window_eval {
    bool limited;              /* a limit is set for this window */
    gs_usd_u limit;
    gs_usd_u spent;
    gs_usd_u forecast;         /* spent + rate x time left to the period end */
    gs_ms left;                /* time left in the period */
    int32_t pct;               /* spent * 100 / limit, floored (0 when unlimited) */
    bool exceeded;             /* spent >= limit */
    bool forecast_over;        /* forecast > limit */
} gs_window_eval;

typedef struct gs_budget_eval {
    gs_window_eval w[GS_WIN__N];
    bool exceeded;             /* any window exceeded */
} gs_budget_eval;

/* Evaluates the windows at now. GS_EINVAL if now is outside a period or a value negative. */
int gs_budget_evaluate(const gs_budget_state *st, gs_ms now, gs_budget_eval *out,
                       gs_error *err);

/* Projected spend at the period end if `extra_per_hour` more is added now:
 * spent + ceil((rate + extra) * (end - now) / 1h); saturates at INT64_MAX. */
gs_usd_u gs_budget_project(gs_usd_u spent, gs_usd_u rate_per_hour, gs_usd_u extra_per_hour,
                           gs_ms now, gs_ms end);

/* ------------------------------------------------------------------------------------------
 * The gate (the packer's budget callback)
 *
 * enforce: hard -> a launch is refused when the projected spend of any limited window
 *   (spent + (rate + already approved in this plan + this launch) x time left) would be
 *   greater than the limit: exactly reaching the limit is allowed.
 * enforce: soft -> allowed; the crossing is counted in soft_crossings (alert it).
 * Once a window is exceeded (spent >= limit), onExceeded block and scaleToMin refuse every
 * launch of the project (soft included); alert refuses only under hard.
 * A project without a budget is always allowed.
 * ------------------------------------------------------------------------------------------ */

typedef struct gs_budget_gate_ctx {
    gs_ms now;
    gs_budget_state *states;   /* borrowed; one per budget */
    int32_t nstates;
    gs_usd_u *approved;        /* borrowed, nstates entries, zeroed by init: $/h approved */
    int32_t refused;           /* launches refused */
    int32_t soft_crossings;    /* launches allowed past a soft limit */
    uint8_t *soft_mask;        /* optional, borrowed, nstates entries (set after init; zero it):
                                  bit w set when a launch was allowed past window w's soft limit;
                                  gs_budget_soft_actions turns it into alerts */
    /* refusal cache: within one context spend and approvals only grow, so once `project` is
     * refused at a price every launch at that price or more is refused too (planners ask once
     * per pending pod: thousands of identical questions per plan) */
    char cache_project[GS_NAME_LEN];
    gs_usd_u cache_price;      /* -1: empty */
    char cache_why[192];
} gs_budget_gate_ctx;

/* approved must have nstates slots; it is zeroed. */
void gs_budget_gate_init(gs_budget_gate_ctx *g, gs_ms now, gs_budget_state *states,
                         int32_t nstates, gs_usd_u *approved);

/* The callback: may `project` start spending `usd_per_hour` more now? On refusal (false) and
 * on a soft crossing (true) `why` gets a one-line reason (if why_len > 0). An approved launch
 * is added to the context so later launches in the same plan see it. */
bool gs_budget_gate(void *ctx, const char *project, gs_usd_u usd_per_hour, char *why,
                    size_t why_len);

/* The same gate for callers that ask per pool and instance type rather than per project
 * (the reconcile step's gs_rc_budget_gate shape): the launch's price is the catalog price of
 * (itype, cap), its project the pool's (pool_project[pool]; NULL or "" = ungoverned, allowed).
 * now must be the gate context's now (a different time is refused: the windows would be
 * stale). */
typedef struct gs_budget_pool_gate_ctx {
    gs_budget_gate_ctx *gate;          /* borrowed */
    const gs_catalog *cat;             /* borrowed */
    const char *const *pool_project;   /* borrowed, npools entries */
    int32_t npools;
} gs_budget_pool_gate_ctx;

bool gs_budget_gate_pool(void *ctx, int32_t pool, int32_t itype, gs_capacity cap, gs_ms now,
                         char *why, int why_len);

/* ------------------------------------------------------------------------------------------
 * Actions when limits are crossed
 * ------------------------------------------------------------------------------------------ */

typedef enum {
    GS_BACT_ALERT,        /* an alert threshold (alert_pct) was crossed */
    GS_BACT_BLOCK,        /* the project is blocked: no new launches */
    GS_BACT_SCALE_TO_MIN, /* scale the project's workloads to their minimum replicas */
    GS_BACT_SOFT_CROSSING /* a launch was allowed that is forecast to cross a soft limit */
} gs_budget_action_kind;
const char *gs_budget_action_name(gs_budget_action_kind k);

typedef struct gs_budget_action {
    gs_budget_action_kind kind;
    int32_t budget;            /* index into the states passed */
    gs_window window;
    int32_t pct;               /* ALERT: threshold crossed; others: spend percent */
    gs_ms period_start;        /* with (budget, window, pct): the alert's identity */
    char project[GS_NAME_LEN];
    char msg[256];
} gs_budget_action;

/* Which alert thresholds are crossed now and which enforcement actions apply. An alert is
 * emitted for the highest threshold crossed per window (plus 100 when exceeded, if not
 * configured); the caller dedups by (budget, window, period_start, pct). Returns the number
 * of actions (may exceed max; only max are written). */
int32_t gs_budget_actions(const gs_budget_state *states, int32_t nstates, gs_ms now,
                          gs_budget_action *out, int32_t max);

/* SOFT_CROSSING actions for the windows recorded in g->soft_mask (pct: the forecast with the
 * approved launches, in percent of the limit). Returns the count (may exceed max). */
int32_t gs_budget_soft_actions(const gs_budget_gate_ctx *g, gs_budget_action *out, int32_t max);

/* Is the project hard-capped now (a hard budget's window exceeded)? Environments use it. */
bool gs_budget_hard_hit(const gs_budget_state *states, int32_t nstates, const char *project,
                        gs_ms now);

#endif
