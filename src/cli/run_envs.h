/* Environments in the controller (`gpuscale run`, leader only; docs/cost.md "Environments in
 * the controller"): creates each configured Environment's workloads (a batch/v1 Job, or one
 * apps/v1 Deployment per workload named ENV-WORKLOAD), labelled gpuscale.dev/environment and
 * gpuscale.dev/project; tracks it with policy/envs (Job status, live pods from the pod cache);
 * deletes the workloads (propagationPolicy Background) when its Job succeeded/finished, its
 * TTL expired or its project's hard budget is hit, and records creation and deletion in the
 * ledger. Consolidation then releases the nodes. After a restart or a leader change the state is
 * rebuilt from the ledger and the labelled objects, so a deleted environment is never created
 * again and a created one is never forgotten.
 *
 * One thread (the controller's loop); the gs_kube, the pod informer and the ledger are borrowed
 * and must outlive the gs_run_envs. */
#ifndef GS_CLI_RUN_ENVS_H
#define GS_CLI_RUN_ENVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/kube/informer.h"
#include "io/kube/kpod.h"
#include "io/kube/kube.h"
#include "io/ledger/ledger.h"
#include "model/err.h"
#include "model/objects.h"
#include "policy/budget.h"
#include "policy/envs.h"

#define GS_ENV_LABEL "gpuscale.dev/environment"
#define GS_ENV_PROJECT_LABEL "gpuscale.dev/project"
/* The finalizer the leader keeps on every Environment object (custom resources) whose
 * environment may still have workloads or an open ledger record (docs/cost.md "Finalizer"). */
#define GS_ENV_FINALIZER "gpuscale.dev/environment"

typedef struct gs_run_envs gs_run_envs;

/* *out = NULL (and 0) when cfg has no Environment. cfg, k, pods and ledger are borrowed; ledger
 * must not be NULL when cfg has environments (GS_EINVAL with a message). Free with
 * gs_run_envs_free. */
int gs_run_envs_new(const gs_config *cfg, gs_kube *k, gs_informer *pods, gs_ledger *ledger,
                    gs_run_envs **out, gs_error *err);
void gs_run_envs_free(gs_run_envs *re);

/* Reads the environments' Jobs and Deployments from these informer caches (borrowed; must
 * outlive re; either may be NULL) instead of a GET per object and observation. A cached
 * object's absence is confirmed by a GET before it counts (a just-created object may not be in
 * the cache yet). NULL re: nothing. */
void gs_run_envs_use_caches(gs_run_envs *re, gs_informer *jobs, gs_informer *deps);

/* The Environment objects (the custom resources' informer, borrowed; must outlive re; NULL with
 * --config files: then no finalizer is used). With them, each environment's object carries
 * GS_ENV_FINALIZER from before its workloads are created until its deletion is recorded in the
 * ledger; an object marked for deletion (metadata.deletionTimestamp) gets its workloads deleted,
 * its ledger record closed (reason "object-deleted"), then the finalizer removed. NULL re:
 * nothing. */
void gs_run_envs_use_objects(gs_run_envs *re, gs_informer *objs);

/* What a cached Environment object says (exposed for tests): being deleted, carrying
 * GS_ENV_FINALIZER, its resourceVersion (borrowed from obj). */
typedef struct gs_env_obj_meta {
    bool deleting;
    bool ours;
    const char *rv;
} gs_env_obj_meta;

/* Reads obj's metadata. GS_EPARSE with the field in err when it is malformed:
 * "metadata.finalizers: not a list (object)", "metadata.finalizers[2]: not a string (integer)",
 * "metadata.resourceVersion: missing", "metadata.deletionTimestamp: not a string". */
int gs_run_envs_obj_meta(const json_t *obj, gs_env_obj_meta *out, gs_error *err);

/* The JSON merge patch that adds (add) or removes GS_ENV_FINALIZER on obj: the whole
 * metadata.finalizers list as cached, every other controller's finalizer kept in its order,
 * with obj's metadata.resourceVersion (the API server answers 409 if the object changed since).
 * *patch = NULL (and 0) when obj is already as wanted; caller owns *patch. Errors as
 * gs_run_envs_obj_meta. */
int gs_run_envs_fin_patch(const json_t *obj, bool add, json_t **patch, gs_error *err);

/* One step (leader only): rebuild the state when needed, observe, decide, act. budgets (may be
 * NULL) are the budget trackers' states. NULL re: nothing. */
void gs_run_envs_tick(gs_run_envs *re, const gs_budget_state *budgets, int32_t nbudgets);

/* Leadership lost: another replica may act meanwhile; rebuild the state at the next tick. */
void gs_run_envs_lost(gs_run_envs *re);

/* The environment whose workload owns the pod (namespace + cached owner), or NULL. The meter
 * bills such a pod to workload = the environment's name (what the ledger's totals sum). */
const gs_environment *gs_run_envs_of_pod(const gs_run_envs *re, const gs_kpod *pod);

/* Points re at cfg, a new configuration holding the same Environments in the same order (their
 * specs unchanged), keeping every environment's state. GS_EINVAL (nothing changed) when the
 * environments differ: then free re and make a new one. NULL re: 0 when cfg has none. */
int gs_run_envs_rebind(gs_run_envs *re, const gs_config *cfg);

/* Before re is replaced by one for cfg (leader only): each environment of re that cfg no longer
 * has (its object was deleted) and whose workloads exist gets them deleted (Background; only
 * those known to be gpuscale's, labelled), an EnvironmentDeleted Event, and its ledger record
 * closed with reason "object-deleted". Returns how many were retired. NULL re: 0. */
int32_t gs_run_envs_retire(gs_run_envs *re, const gs_config *cfg);

/* The state of environment ns/name (this replica's view): its status (phase, created_at, reason)
 * and the deletion reason recorded ("" while none). false when re is NULL, the environment is
 * unknown, or its state has not been rebuilt since leading. */
bool gs_run_envs_state(const gs_run_envs *re, const char *ns, const char *name, gs_env_status *st,
                       const char **why);

/* Appends gpuscale_environments{phase=...} (and the totals of creations / deletions) to
 * buf[0..cap); returns the bytes written (0 when re is NULL or it does not fit). */
size_t gs_run_envs_metrics(const gs_run_envs *re, char *buf, size_t cap);

#endif
