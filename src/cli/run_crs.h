/* gpuscale's custom resources in the controller (`gpuscale run` without --config; docs/config.md
 * "Custom resources", docs/deploy.md): one informer per kind (GPUPool, QueueScaler, Budget,
 * Environment, group gpuscale.dev/v1alpha1) lists and watches the objects; a change to any
 * object's spec (its metadata.generation), an object added or deleted, rebuilds the whole
 * configuration with the file loader's rules (gs_config_load_objects). A valid configuration is
 * handed to the controller, which swaps it in at its next tick; an invalid one is refused as a
 * whole (the last good one keeps acting), logged, and the offending object gets one Warning
 * Event (InvalidConfiguration) and the condition Ready=False with the loader's message.
 *
 * Status (leader only, through the status subresource, JSON merge patch): observedGeneration,
 * the Ready condition, and per kind what the controller observes (GPUPool: nodes, gpus,
 * costPerHour; QueueScaler: queueLength, desiredReplicas, currentReplicas, lastScaleTime;
 * Budget: spent per window, usedRatio, blocked; Environment: phase, expiresAt, spent,
 * deletionReason). gpuscale owns .status as a whole: a field the cached status has and that no
 * longer applies is set to null by the same merge patch (removed), except while the kind's
 * figures are not known (object not in force, no meter tick yet, environments' state not
 * rebuilt, ledger unreadable): then what is written is kept. A status is written only when it
 * differs from the object's cached status, and at most once per object every
 * GS_RUN_CRS_STATUS_GAP_MS. The writes are synchronous; their count and time are published
 * (gs_run_crs_metrics).
 *
 * One thread (the controller's loop); k, cat and the node informer are borrowed. */
#ifndef GS_CLI_RUN_CRS_H
#define GS_CLI_RUN_CRS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/run_envs.h"
#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/ledger/ledger.h"
#include "model/catalog.h"
#include "model/err.h"
#include "model/objects.h"
#include "policy/budget.h"

#define GS_CRS_GROUP "gpuscale.dev"
#define GS_CRS_VERSION "v1alpha1"
#define GS_RUN_CRS_KINDS 4
#define GS_RUN_CRS_STATUS_GAP_MS 3000

typedef struct gs_run_crs gs_run_crs;

/* has_ledger: Budgets and Environments need `--ledger` (spend lives there); without it they are
 * refused like any invalid object. nodes: the controller's node informer (GPUPool status). */
int gs_run_crs_new(gs_kube *k, const gs_catalog *cat, gs_informer *nodes, bool has_ledger,
                   gs_run_crs **out, gs_error *err);
void gs_run_crs_free(gs_run_crs *r);

/* The four informers (to be polled with the controller's own); returns how many (4). */
int gs_run_crs_informers(gs_run_crs *r, gs_informer **out, int max);
bool gs_run_crs_synced(const gs_run_crs *r);
/* The Environment objects' informer (for their finalizer, cli/run_envs.h); NULL when r is NULL. */
gs_informer *gs_run_crs_envs_informer(gs_run_crs *r);

/* When every informer has listed and an object changed since the last call: rebuilds the
 * configuration. Returns 1 with *out a new valid configuration (caller owns; it must then call
 * gs_run_crs_applied once it is in force or could not be used); 0 when there is nothing new or
 * the objects are invalid (logged; Warning Event on the offending object when leader). */
int gs_run_crs_reload(gs_run_crs *r, bool leader, gs_config *out);

/* The configuration last returned by gs_run_crs_reload is in force (err NULL), or the
 * controller could not use it (err: its file names the object, as the loader's do); then it is
 * treated as invalid. */
void gs_run_crs_applied(gs_run_crs *r, const gs_error *err, bool leader);

/* Did the Environment objects (their set or a spec) change between the configuration in force
 * and the one last returned by gs_run_crs_reload? */
bool gs_run_crs_envs_changed(const gs_run_crs *r);

/* Has a configuration been applied yet? */
bool gs_run_crs_ready(const gs_run_crs *r);

/* Appends gpuscale_config_valid, gpuscale_config_applied_total, gpuscale_config_refused_total,
 * gpuscale_status_writes_total{result}, gpuscale_status_write_seconds_total,
 * gpuscale_status_passes_total, gpuscale_status_pass_writes_max and
 * gpuscale_status_pass_seconds_max to buf[0..cap); returns the bytes written (0 when r is NULL
 * or it does not fit). */
size_t gs_run_crs_metrics(const gs_run_crs *r, char *buf, size_t cap);

/* What the controller observes, for the status of the objects in force. */
typedef struct gs_run_crs_scaler_obs {
    int64_t queue_length;
    int32_t desired, current;
    int64_t last_scale;        /* wall ms of the last scale operation; 0 = none */
} gs_run_crs_scaler_obs;

typedef struct gs_run_crs_obs {
    const gs_config *cfg;                   /* the configuration in force */
    const gs_run_crs_scaler_obs *scalers;   /* cfg->nscalers */
    const gs_budget_state *budgets;         /* the budget trackers (cfg->budgets order); NULL
                                             * before the first meter tick */
    int32_t nbudgets;
    const gs_run_envs *envs;                /* may be NULL */
    gs_ledger *ledger;                      /* environments' spend; may be NULL */
    int64_t now;                            /* wall ms */
} gs_run_crs_obs;

/* Writes the status of every object whose status changed (leader only; at most once a second
 * a pass). */
void gs_run_crs_status(gs_run_crs *r, const gs_run_crs_obs *o);

#endif
