#include "policy/envs.h"

#include <string.h>

const char *gs_env_phase_name(gs_env_phase p) {
    switch (p) {
    case GS_ENV_PENDING: return "pending";
    case GS_ENV_ACTIVE: return "active";
    case GS_ENV_DELETING: return "deleting";
    case GS_ENV_DELETED: return "deleted";
    }
    return "?";
}

const char *gs_env_reason_name(gs_env_reason r) {
    switch (r) {
    case GS_ENV_REASON_NONE: return "none";
    case GS_ENV_REASON_SUCCEEDED: return "succeeded";
    case GS_ENV_REASON_FINISHED: return "finished";
    case GS_ENV_REASON_TTL: return "ttl";
    case GS_ENV_REASON_BUDGET: return "budget";
    }
    return "?";
}

const char *gs_env_action_name(gs_env_action_kind k) {
    switch (k) {
    case GS_ENVACT_CREATE: return "create";
    case GS_ENVACT_DELETE_WORKLOADS: return "delete-workloads";
    case GS_ENVACT_RELEASE_NODES: return "release-nodes";
    case GS_ENVACT_MARK_DELETED: return "mark-deleted";
    }
    return "?";
}

void gs_envs_observe(const gs_snapshot *s, gs_env_status *st) {
    st->pods_live = st->jobs_succeeded = st->jobs_failed = 0;
    const gs_environment *e = st->env;
    for (int32_t i = 0; i < s->npods; i++) {
        const gs_pod *p = &s->pods[i];
        if (strcmp(p->workload, e->name) != 0 || strcmp(p->project, e->project) != 0) continue;
        if (p->phase == GS_POD_SUCCEEDED) st->jobs_succeeded++;
        else if (p->phase == GS_POD_FAILED) st->jobs_failed++;
        else st->pods_live++;
    }
}

int32_t gs_env_jobs_expected(const gs_environment *e) {
    if (!e->is_job) return 0;
    int32_t n = 0;
    for (int32_t i = 0; i < e->nworkloads && i < GS_MAX_ENV_WORKLOADS; i++) n += e->workloads[i].replicas;
    return n;
}

static gs_env_reason why_delete(const gs_env_status *st, gs_ms now, const gs_budget_state *budgets,
                                int32_t nbudgets) {
    const gs_environment *e = st->env;
    int32_t expected = gs_env_jobs_expected(e);
    if (expected > 0) {
        if (e->delete_when == GS_DELETE_SUCCEEDED && st->jobs_succeeded >= expected)
            return GS_ENV_REASON_SUCCEEDED;
        if (e->delete_when == GS_DELETE_FINISHED && st->jobs_succeeded + st->jobs_failed >= expected)
            return GS_ENV_REASON_FINISHED;
    }
    if (e->ttl > 0 && now - st->created_at >= e->ttl) return GS_ENV_REASON_TTL;
    if (budgets && gs_budget_hard_hit(budgets, nbudgets, e->project, now)) return GS_ENV_REASON_BUDGET;
    return GS_ENV_REASON_NONE;
}

int32_t gs_envs_decide(const gs_env_status *st, int32_t n, gs_ms now,
                       const gs_budget_state *budgets, int32_t nbudgets, gs_env_action *out,
                       int32_t max) {
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        gs_env_action a = {GS_ENVACT_CREATE, i, GS_ENV_REASON_NONE};
        const gs_env_status *s = &st[i];
        switch (s->phase) {
        case GS_ENV_PENDING:
            /* a project already over its hard budget gets no new environment */
            if (budgets && gs_budget_hard_hit(budgets, nbudgets, s->env->project, now)) continue;
            break;
        case GS_ENV_ACTIVE:
            a.reason = why_delete(s, now, budgets, nbudgets);
            if (a.reason == GS_ENV_REASON_NONE) continue;
            a.kind = GS_ENVACT_DELETE_WORKLOADS;
            break;
        case GS_ENV_DELETING:
            a.reason = s->reason;
            if (s->pods_live > 0) a.kind = GS_ENVACT_DELETE_WORKLOADS;
            else if (s->nodes_live > 0) a.kind = GS_ENVACT_RELEASE_NODES;
            else a.kind = GS_ENVACT_MARK_DELETED;
            break;
        case GS_ENV_DELETED: continue;
        }
        if (k < max) out[k] = a;
        k++;
    }
    return k;
}

void gs_envs_advance(gs_env_status *st, const gs_env_action *a, gs_ms now) {
    switch (a->kind) {
    case GS_ENVACT_CREATE:
        st->phase = GS_ENV_ACTIVE;
        st->created_at = now;
        break;
    case GS_ENVACT_DELETE_WORKLOADS:
        st->phase = GS_ENV_DELETING;
        if (st->reason == GS_ENV_REASON_NONE) st->reason = a->reason;
        break;
    case GS_ENVACT_RELEASE_NODES: break;
    case GS_ENVACT_MARK_DELETED: st->phase = GS_ENV_DELETED; break;
    }
}
