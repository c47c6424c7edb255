/* Ephemeral environments: when to create one, when to delete it (its Job succeeded or
 * finished, its TTL expired, or its project's hard budget was hit) and in which order
 * (workloads first; its nodes are released only once no workload of it is left; then it is
 * marked deleted and its total is frozen in the ledger). Pure: the caller observes the world
 * into gs_env_status, applies the actions, and advances the status with gs_envs_advance. */
#ifndef GS_POLICY_ENVS_H
#define GS_POLICY_ENVS_H

#include <stdint.h>

#include "model/cluster.h"
#include "model/objects.h"
#include "policy/budget.h"

typedef enum { GS_ENV_PENDING, GS_ENV_ACTIVE, GS_ENV_DELETING, GS_ENV_DELETED } gs_env_phase;
const char *gs_env_phase_name(gs_env_phase p);

typedef enum {
    GS_ENV_REASON_NONE,
    GS_ENV_REASON_SUCCEEDED, /* deleteWhen: succeeded, every Job pod succeeded */
    GS_ENV_REASON_FINISHED,  /* deleteWhen: finished, every Job pod succeeded or failed */
    GS_ENV_REASON_TTL,       /* ttl expired */
    GS_ENV_REASON_BUDGET     /* the project's hard budget is exceeded */
} gs_env_reason;
const char *gs_env_reason_name(gs_env_reason r); /* "succeeded", "finished", "ttl", "budget" */

typedef struct gs_env_status {
    const gs_environment *env;  /* borrowed */
    gs_env_phase phase;
    gs_ms created_at;           /* valid from ACTIVE on */
    gs_env_reason reason;       /* why it is being deleted */
    /* observed (gs_envs_observe fills the pod counts; nodes_live is the caller's) */
    int32_t pods_live;          /* pods of its workloads not yet Succeeded/Failed */
    int32_t jobs_succeeded;     /* Job pods Succeeded */
    int32_t jobs_failed;        /* Job pods Failed */
    int32_t nodes_live;         /* nodes launched for it and not yet gone */
} gs_env_status;

typedef enum {
    GS_ENVACT_CREATE,           /* create its workloads */
    GS_ENVACT_DELETE_WORKLOADS, /* delete its workloads (repeated while pods remain) */
    GS_ENVACT_RELEASE_NODES,    /* release the nodes launched for it */
    GS_ENVACT_MARK_DELETED      /* done: record deletion + total in the ledger */
} gs_env_action_kind;
const char *gs_env_action_name(gs_env_action_kind k);

typedef struct gs_env_action {
    gs_env_action_kind kind;
    int32_t env;                /* index into the statuses */
    gs_env_reason reason;
} gs_env_action;

/* Counts the pods whose workload is the environment's name and project is its project. */
void gs_envs_observe(const gs_snapshot *s, gs_env_status *st);

/* Jobs expected: sum of the environment's workload replicas when is_job, else 0. */
int32_t gs_env_jobs_expected(const gs_environment *e);

/* Decides the actions at now (at most one per environment). Returns the count (may exceed
 * max; only max are written). budgets may be NULL. */
int32_t gs_envs_decide(const gs_env_status *st, int32_t n, gs_ms now,
                       const gs_budget_state *budgets, int32_t nbudgets, gs_env_action *out,
                       int32_t max);

/* Applies a carried-out action to the status (phase, created_at, reason). */
void gs_envs_advance(gs_env_status *st, const gs_env_action *a, gs_ms now);

#endif
