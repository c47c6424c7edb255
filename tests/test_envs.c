/* Environment lifecycle (policy/envs): create, delete on Job success/finish, TTL and hard
 * budget; workloads are deleted before nodes are released; then it is marked deleted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/envs.h"

static gs_environment mkenv(const char *name, gs_ms ttl, gs_delete_when dw, bool job, int32_t replicas) {
    gs_environment e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    snprintf(e.project, sizeof e.project, "team-a");
    snprintf(e.pool, sizeof e.pool, "gpu");
    e.ttl = ttl;
    e.delete_when = dw;
    e.is_job = job;
    e.nworkloads = 1;
    e.workloads[0].replicas = replicas;
    snprintf(e.workloads[0].name, sizeof e.workloads[0].name, "w");
    return e;
}

static void add_pod(gs_snapshot *s, const char *env, const char *project, gs_pod_phase ph) {
    gs_pod p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "p%d", (int)s->npods);
    snprintf(p.project, sizeof p.project, "%s", project);
    snprintf(p.workload, sizeof p.workload, "%s", env);
    p.phase = ph;
    p.node = 0;
    assert_true(gs_snapshot_add_pod(s, &p) >= 0);
}

/* Runs decide + advance once; returns the single action's kind or -1. */
static int step(gs_env_status *st, gs_ms now, const gs_budget_state *b, int32_t nb, gs_env_reason *why) {
    gs_env_action a[2];
    int32_t n = gs_envs_decide(st, 1, now, b, nb, a, 2);
    if (n == 0) return -1;
    assert_int_equal(n, 1);
    if (why) *why = a[0].reason;
    gs_envs_advance(st, &a[0], now);
    return (int)a[0].kind;
}

static void test_lifecycle_job_succeeded(void **st_) {
    (void)st_;
    gs_environment e = mkenv("pr-1", GS_HOUR(2), GS_DELETE_SUCCEEDED, true, 2);
    gs_env_status st = {.env = &e};
    assert_int_equal(step(&st, 1000, NULL, 0, NULL), GS_ENVACT_CREATE);
    assert_int_equal(st.phase, GS_ENV_ACTIVE);
    assert_int_equal(st.created_at, 1000);
    gs_snapshot s;
    gs_snapshot_init(&s);
    add_pod(&s, "pr-1", "team-a", GS_POD_SUCCEEDED);
    add_pod(&s, "pr-1", "team-a", GS_POD_RUNNING);
    add_pod(&s, "pr-1", "team-b", GS_POD_SUCCEEDED);  /* same name, other project: not ours */
    add_pod(&s, "pr-2", "team-a", GS_POD_SUCCEEDED);
    gs_envs_observe(&s, &st);
    assert_int_equal(st.jobs_succeeded, 1);
    assert_int_equal(st.pods_live, 1);
    assert_int_equal(step(&st, GS_MIN(10), NULL, 0, NULL), -1); /* one Job still running */
    s.pods[1].phase = GS_POD_SUCCEEDED;
    gs_envs_observe(&s, &st);
    gs_env_reason why;
    assert_int_equal(step(&st, GS_MIN(11), NULL, 0, &why), GS_ENVACT_DELETE_WORKLOADS);
    assert_int_equal(why, GS_ENV_REASON_SUCCEEDED);
    assert_int_equal(st.phase, GS_ENV_DELETING);
    /* nodes are released only after the workloads are gone */
    st.nodes_live = 2;
    st.pods_live = 1;
    assert_int_equal(step(&st, GS_MIN(12), NULL, 0, NULL), GS_ENVACT_DELETE_WORKLOADS);
    st.pods_live = 0;
    assert_int_equal(step(&st, GS_MIN(13), NULL, 0, NULL), GS_ENVACT_RELEASE_NODES);
    st.nodes_live = 0;
    assert_int_equal(step(&st, GS_MIN(14), NULL, 0, &why), GS_ENVACT_MARK_DELETED);
    assert_int_equal(why, GS_ENV_REASON_SUCCEEDED);
    assert_int_equal(st.phase, GS_ENV_DELETED);
    assert_int_equal(step(&st, GS_MIN(15), NULL, 0, NULL), -1);
    gs_snapshot_free(&s);
}

static void test_failed_job_succeeded_vs_finished(void **st_) {
    (void)st_;
    gs_environment e1 = mkenv("a", 0, GS_DELETE_SUCCEEDED, true, 1);
    gs_environment e2 = mkenv("b", 0, GS_DELETE_FINISHED, true, 1);
    gs_env_status st[2] = {{.env = &e1, .phase = GS_ENV_ACTIVE, .jobs_failed = 1},
                           {.env = &e2, .phase = GS_ENV_ACTIVE, .jobs_failed = 1}};
    gs_env_action a[4];
    int32_t n = gs_envs_decide(st, 2, GS_HOUR(100), NULL, 0, a, 4);
    /* a failed Job finishes the second but does not satisfy "succeeded" (no TTL: stays) */
    assert_int_equal(n, 1);
    assert_int_equal(a[0].env, 1);
    assert_int_equal(a[0].reason, GS_ENV_REASON_FINISHED);
}

static void test_ttl_exact(void **st_) {
    (void)st_;
    gs_environment e = mkenv("svc", GS_MIN(30), GS_DELETE_NEVER, false, 1);
    gs_env_status st = {.env = &e, .phase = GS_ENV_ACTIVE, .created_at = GS_MIN(5), .pods_live = 1};
    assert_int_equal(step(&st, GS_MIN(35) - 1, NULL, 0, NULL), -1);
    gs_env_reason why;
    assert_int_equal(step(&st, GS_MIN(35), NULL, 0, &why), GS_ENVACT_DELETE_WORKLOADS);
    assert_int_equal(why, GS_ENV_REASON_TTL);
}

static void test_budget_hit(void **st_) {
    (void)st_;
    gs_environment e = mkenv("svc", 0, GS_DELETE_NEVER, false, 1);
    gs_budget b;
    memset(&b, 0, sizeof b);
    snprintf(b.project, sizeof b.project, "team-a");
    b.per_hour = GS_USD(10);
    b.enforce = GS_ENFORCE_HARD;
    gs_budget_state bs;
    memset(&bs, 0, sizeof bs);
    bs.budget = &b;
    bs.periods.end[GS_WIN_HOUR] = bs.periods.end[GS_WIN_DAY] = bs.periods.end[GS_WIN_MONTH] = GS_HOUR(1);
    bs.spent[GS_WIN_HOUR] = GS_USD(9);
    gs_env_status st = {.env = &e, .phase = GS_ENV_ACTIVE, .pods_live = 1};
    assert_int_equal(step(&st, GS_MIN(1), &bs, 1, NULL), -1);
    bs.spent[GS_WIN_HOUR] = GS_USD(10);
    gs_env_reason why;
    assert_int_equal(step(&st, GS_MIN(2), &bs, 1, &why), GS_ENVACT_DELETE_WORKLOADS);
    assert_int_equal(why, GS_ENV_REASON_BUDGET);
    /* a pending environment of a capped project is not created */
    gs_env_status p = {.env = &e, .phase = GS_ENV_PENDING};
    assert_int_equal(step(&p, GS_MIN(3), &bs, 1, NULL), -1);
    /* a soft budget does not delete anything */
    b.enforce = GS_ENFORCE_SOFT;
    gs_env_status q = {.env = &e, .phase = GS_ENV_ACTIVE, .pods_live = 1};
    assert_int_equal(step(&q, GS_MIN(3), &bs, 1, NULL), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_job_succeeded),
        cmocka_unit_test(test_failed_job_succeeded_vs_finished),
        cmocka_unit_test(test_ttl_exact),
        cmocka_unit_test(test_budget_hit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
