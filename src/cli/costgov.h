/* Cost governance glue between the pure core and the ledger, shared by `gpuscale run`,
 * `gpuscale simulate` and `gpuscale budget status`:
 *   gs_costgov_meter          meter a snapshot over [t0, t1) and append it to the ledger
 *                             (one transaction per call: all nodes or none);
 *   gs_costgov_budget_states  build each budget's state at `now` (periods in its timezone,
 *                             spend so far from the ledger, burn rate) for the gate,
 *                             gs_budget_actions and the environments' decisions;
 *   gs_costgov_alerts         turn gs_budget_actions into alerts, once per
 *                             (budget, window, period, threshold) thanks to the ledger. */
#ifndef GS_CLI_COSTGOV_H
#define GS_CLI_COSTGOV_H

#include "io/alert.h"
#include "io/ledger/ledger.h"
#include "model/catalog.h"
#include "model/cluster.h"
#include "model/objects.h"
#include "policy/budget.h"

/* Budget spend kept up to date in memory between ticks, so a controller does not re-sum a
 * month of intervals every tick: initialised from the ledger, fed each tick's metered rows
 * (pro rata into each window, like the ledger's sums), and re-read from the ledger only when
 * a period rolls over. The ledger stays the source of truth (a restart re-initialises). */
typedef struct gs_costgov_tracker {
    const gs_budget *budgets;  /* borrowed, n */
    int32_t n;
    gs_budget_state *states;   /* owned, n; states[i].budget = &budgets[i] */
} gs_costgov_tracker;

/* Per-project burn rate observed by the meter (micro-dollars per hour). */
typedef struct gs_costgov_rate {
    char project[GS_NAME_LEN];
    gs_usd_u per_hour;
} gs_costgov_rate;

/* Meters every node of s over [max(t0, node.created_at), t1) and appends the non-zero parts
 * (idle included, as project "_idle") to the ledger. Pool names come from cfg (NULL: "").
 * rates (optional, caller-owned, max entries) receives each project's current rate; *nrates
 * its count. tr (optional) is fed the rows once they are committed. Nothing is written on
 * error. */
int gs_costgov_meter(const gs_snapshot *s, const gs_catalog *cat, const gs_config *cfg, gs_ms t0,
                     gs_ms t1, gs_ledger *l, gs_costgov_tracker *tr, gs_costgov_rate *rates,
                     int32_t max, int32_t *nrates, gs_error *err);

/* Tracker: init reads the current periods' spend from the ledger (as of now). */
int gs_costgov_tracker_init(gs_costgov_tracker *tr, gs_ledger *l, const gs_budget *budgets,
                            int32_t n, gs_ms now, gs_error *err);
void gs_costgov_tracker_free(gs_costgov_tracker *tr);
/* Adds committed rows (pro rata into each budget's current windows). */
void gs_costgov_tracker_add(gs_costgov_tracker *tr, const gs_spend *rows, int32_t n);
/* Moves to now: windows whose period ended are recomputed from the ledger in the new period;
 * rates (from the meter; NULL keeps the previous rates) are set. tr->states is then ready for
 * the gate, gs_budget_actions and the environments. */
int gs_costgov_tracker_advance(gs_costgov_tracker *tr, gs_ledger *l, gs_ms now,
                               const gs_costgov_rate *rates, int32_t nrates, gs_error *err);

/* states[i] for budgets[i]: periods in budgets[i].timezone, spend in each period up to now
 * (ledger), and the rate (from rates when given, else the ledger's gs_ledger_rate). */
int gs_costgov_budget_states(gs_ledger *l, const gs_budget *budgets, int32_t n, gs_ms now,
                             const gs_costgov_rate *rates, int32_t nrates,
                             gs_budget_state *states, gs_error *err);

/* Emits (log + metric + webhook) each ALERT / BLOCK / SCALE_TO_MIN action not sent before in
 * this period; returns how many were sent, or a negative gs_err (ledger failure). Webhook
 * failures are logged and counted, not returned. */
int gs_costgov_alerts(gs_ledger *l, const gs_budget_state *states, const gs_budget_action *acts,
                      int32_t nacts, gs_ms now, gs_error *err);

#endif
