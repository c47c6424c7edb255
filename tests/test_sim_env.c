/* Environments in the simulator (issue 6; examples/validation-env): a nightly validation Job
 * on MIG slices deleted when it succeeds, a hung e2e run deleted at its ttl, and a soak test
 * launched only once its node fits its project's hard daily budget and deleted when the hard
 * hourly limit is hit (gpuscale only; the baselines have no dollar limit). Checks creation/deletion times, that no pod outlives its
 * environment, that each environment's cost is the bill of the nodes launched for it, the
 * report sections, and the scenario's bad-input messages for the new fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/envs.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "testutil.h"

static int32_t env_index(const gs_scenario *sc, const char *name) {
    for (int32_t e = 0; e < sc->nenvs; e++)
        if (strcmp(sc->envs[e].obj.name, name) == 0) return e;
    fail_msg("no environment %s", name);
    return -1;
}

/* Common lifecycle invariants of every environment in a simulated run. */
static void check_lifecycle(const gs_scenario *sc, const gs_sim_result *r) {
    assert_int_equal(r->nenvs, sc->nenvs);
    for (int32_t e = 0; e < sc->nenvs; e++) {
        const gs_sim_envres *v = &r->env[e];
        const gs_sim_env *se = &sc->envs[e];
        /* created at its start (at the first tick at or after it: gpuscale ticks every 1 s,
         * the Cluster Autoscaler scan every 10 s) */
        assert_true(v->created_at >= se->start);
        assert_true(v->created_at <= se->start + GS_SEC(10));
        assert_int_equal(v->outlived, 0);
        if (v->workloads_gone_at != GS_SIM_NOT) {
            /* pods never outlive the deletion of the workloads; nodes go after the pods */
            assert_true(v->last_pod_gone <= v->workloads_gone_at);
            if (v->deleted_at != GS_SIM_NOT) assert_true(v->deleted_at >= v->workloads_gone_at);
            /* a ttl is kept to the tick */
            if (se->obj.ttl > 0) assert_true(v->workloads_gone_at <= v->created_at + se->obj.ttl + GS_SEC(10));
        }
    }
}

static void test_validation_env(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_error err;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/validation-env/scenario.json", &cat, &err))
        fail_msg("scenario: %s", err.msg);
    assert_int_equal(sc->nenvs, 3);
    int32_t nightly = env_index(sc, "nightly-validation"), hung = env_index(sc, "e2e-hung"),
            soak = env_index(sc, "soak");
    assert_int_equal(sc->envs[nightly].obj.ttl, GS_HOUR(3));
    assert_int_equal(sc->envs[nightly].need.compute, 1);
    assert_int_equal(sc->envs[nightly].obj.workloads[0].replicas, 7);
    assert_int_equal(sc->envs[soak].obj.delete_when, GS_DELETE_FINISHED);
    gs_sim_input in;
    assert_int_equal(gs_sim_prepare(sc, false, &in, &err), 0);
    gs_sim_result res[3];
    memset(res, 0, sizeof res);
    const gs_policy pols[3] = {GS_POL_GPUSCALE, GS_POL_KK, GS_POL_CA};
    for (int i = 0; i < 3; i++) {
        if (gs_sim_run(sc, &cat, &in, pols[i], NULL, &res[i], &err)) fail_msg("%s: %s", gs_policy_name(pols[i]), err.msg);
        check_lifecycle(sc, &res[i]);
        assert_int_equal(res[i].v_fit, 0);
    }
    const gs_sim_result *g = &res[0], *kk = &res[1];
    /* nightly: every pod ran its 45 minutes, then it was deleted because the Job succeeded,
     * before its ttl; nodes launched for it were billed to it */
    const gs_sim_envres *v = &g->env[nightly];
    assert_int_equal(v->reason, GS_ENV_REASON_SUCCEEDED);
    assert_int_equal(v->pods_succeeded, 7);
    assert_int_equal(v->pods_deleted, 0);
    assert_true(v->workloads_gone_at >= v->created_at + GS_MIN(45));
    assert_true(v->workloads_gone_at < v->created_at + GS_HOUR(3));
    assert_true(v->deleted_at != GS_SIM_NOT);
    assert_true(v->nodes >= 1);
    assert_true(v->cost > 0);
    /* hung e2e: cut at its 1 h ttl, all four pods deleted, none succeeded */
    v = &g->env[hung];
    assert_int_equal(v->reason, GS_ENV_REASON_TTL);
    assert_int_equal(v->pods_succeeded, 0);
    assert_int_equal(v->pods_deleted, 4);
    assert_true(v->workloads_gone_at >= v->created_at + GS_HOUR(1));
    assert_true(v->workloads_gone_at <= v->created_at + GS_HOUR(1) + GS_SEC(1));
    assert_int_equal(kk->env[hung].reason, GS_ENV_REASON_TTL);
    /* soak: the gate lets its node launch at 20:30 (its day stays under $200: 3.5 h x
     * $55.04/h); under gpuscale qa's hard hourly limit ($40) is then hit before the 8 h run
     * ends and the environment is deleted at the last tick before the limit is crossed */
    v = &g->env[soak];
    assert_int_equal(v->reason, GS_ENV_REASON_BUDGET);
    assert_int_equal(v->pods_succeeded, 0);
    assert_int_equal(v->pods_deleted, 8);
    assert_true(v->workloads_gone_at < v->created_at + GS_HOUR(3));
    assert_int_equal(v->nodes, 1);
    gs_usd_u limit = sc->budgets[0].per_hour;
    assert_true(g->budget_max[0][GS_WIN_HOUR] <= limit);
    assert_true(g->budget_max[0][GS_WIN_HOUR] >= limit - limit / 100);
    assert_true(g->budget_max[0][GS_WIN_DAY] <= sc->budgets[0].per_day);
    /* karpenter-keda has no budget: the soak runs to its ttl (and costs more) */
    assert_int_equal(kk->env[soak].reason, GS_ENV_REASON_TTL);
    assert_int_equal(kk->env[soak].pods_deleted, 8);
    assert_true(kk->env[soak].cost > g->env[soak].cost);
    assert_true(kk->budget_max[0][GS_WIN_HOUR] > limit);
    /* cost accounted: every pool here serves environments only, so each project's bill is
     * exactly the sum of its environments' costs, and the projects add up to the total */
    for (int i = 0; i < 3; i++) {
        gs_usd_u sum = 0, envsum = 0;
        for (int32_t k = 0; k < res[i].nproj; k++) sum += res[i].proj_cost[k];
        assert_int_equal(sum, res[i].cost);
        for (int32_t e = 0; e < sc->nenvs; e++) envsum += res[i].env[e].cost;
        assert_int_equal(envsum, res[i].cost);
    }
    /* the report: text section, JSON array, HTML table */
    gs_report rep = {sc, &in, res, 3};
    char path[] = "/tmp/gs_sim_env_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    gs_report_text(&rep, f);
    fflush(f);
    rewind(f);
    char *text = calloc(1, 1 << 22);
    size_t n = fread(text, 1, (1 << 22) - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "environments (cost: the bills of the nodes launched for it"));
    assert_non_null(strstr(text, "why budget"));
    assert_non_null(strstr(text, "why ttl"));
    assert_non_null(strstr(text, "why succeeded"));
    assert_int_equal(gs_report_json(&rep, path, &err), 0);
    f = fopen(path, "r");
    n = fread(text, 1, (1 << 22) - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "\"environments\""));
    assert_non_null(strstr(text, "\"reason\": \"budget\""));
    assert_int_equal(gs_report_html(&rep, path, &err), 0);
    f = fopen(path, "r");
    n = fread(text, 1, (1 << 22) - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "<h2>Environments</h2>"));
    unlink(path);
    free(text);
    for (int i = 0; i < 3; i++) gs_sim_result_free(&res[i]);
    gs_sim_input_free(&in);
    free(sc);
    gs_catalog_free(&cat);
}

/* The packer's budget gate sees an environment's pods under the environment's project: a
 * soak whose node would cross qa's hard daily limit before the day ends is never launched
 * (under the project "default" it was launched and then deleted over the limit). */
static void test_env_budget_gate(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_error err;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/validation-env/scenario.json", &cat, &err))
        fail_msg("scenario: %s", err.msg);
    int32_t soak = env_index(sc, "soak");
    sc->envs[soak].start = GS_HOUR(12); /* 12 h x $55.04/h > $200: refused until 20:22 */
    sc->envs[soak].obj.ttl = GS_HOUR(3);  /* ... and cut by its ttl at 15:00 */
    sc->budgets[0].per_hour = 0;
    gs_sim_input in;
    assert_int_equal(gs_sim_prepare(sc, false, &in, &err), 0);
    gs_sim_result r;
    if (gs_sim_run(sc, &cat, &in, GS_POL_GPUSCALE, NULL, &r, &err)) fail_msg("%s", err.msg);
    check_lifecycle(sc, &r);
    assert_true(r.blocked_launches > 0);
    assert_int_equal(r.env[soak].nodes, 0);
    assert_int_equal(r.env[soak].cost, 0);
    assert_int_equal(r.env[soak].reason, GS_ENV_REASON_TTL);
    assert_int_equal(r.env[soak].pods_deleted, 8);
    assert_true(r.budget_max[0][GS_WIN_DAY] <= sc->budgets[0].per_day);
    /* the other project (ci, no budget) is not held back */
    assert_int_equal(r.env[env_index(sc, "nightly-validation")].pods_succeeded, 7);
    gs_sim_result_free(&r);
    gs_sim_input_free(&in);
    free(sc);
    gs_catalog_free(&cat);
}

/* Budget periods in the budget's timezone, resolved once at load: a local day across the
 * spring DST change lasts 23 h; in Asia/Tokyo (UTC+9) qa's day ends at 15:00Z, so the soak's
 * node fits the day's budget at 12:00Z (3 h x $55.04/h) and is launched at once (in UTC it
 * would wait until 20:22Z), then the next local day's hard limit deletes it. */
static void test_budget_timezone(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_error err;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/validation-env/scenario.json", &cat, &err))
        fail_msg("scenario: %s", err.msg);
    /* DST: Europe/Berlin from 2026-03-28T12:00Z; 29 March has 23 local hours */
    snprintf(sc->budgets[0].timezone, sizeof sc->budgets[0].timezone, "Europe/Berlin");
    sc->starts_at = 1774699200000LL; /* 2026-03-28T12:00:00Z */
    assert_int_equal(gs_scenario_resolve_periods(sc, &err), 0);
    const gs_sim_tzcal *z = &sc->tzcal[0];
    assert_true(z->ndays >= 4);
    assert_int_equal(z->day[0], 1774652400000LL);             /* 2026-03-27T23:00Z = local midnight */
    assert_int_equal(z->day[1] - z->day[0], GS_HOUR(24));
    assert_int_equal(z->day[2] - z->day[1], GS_HOUR(23));     /* 29 March */
    assert_int_equal(z->day[3] - z->day[2], GS_HOUR(24));
    assert_int_equal(z->month[0], 1772319600000LL);           /* 2026-02-28T23:00Z = 1 March local */
    assert_int_equal(z->month[1], 1774994400000LL);           /* 2026-03-31T22:00Z = 1 April (CEST) */
    /* Asia/Tokyo, simulated day = 1970-01-01 */
    snprintf(sc->budgets[0].timezone, sizeof sc->budgets[0].timezone, "Asia/Tokyo");
    sc->starts_at = 0;
    sc->budgets[0].per_hour = 0;
    int32_t soak = env_index(sc, "soak");
    sc->envs[soak].start = GS_HOUR(12);
    sc->envs[soak].obj.ttl = GS_HOUR(10);
    assert_int_equal(gs_scenario_resolve_periods(sc, &err), 0);
    assert_int_equal(sc->tzcal[0].day[0], -GS_HOUR(9));
    gs_sim_input in;
    assert_int_equal(gs_sim_prepare(sc, false, &in, &err), 0);
    gs_sim_result r;
    if (gs_sim_run(sc, &cat, &in, GS_POL_GPUSCALE, NULL, &r, &err)) fail_msg("%s", err.msg);
    check_lifecycle(sc, &r);
    assert_int_equal(r.env[soak].nodes, 1);
    assert_int_equal(r.env[soak].reason, GS_ENV_REASON_BUDGET);
    assert_true(r.env[soak].workloads_gone_at > GS_HOUR(15));   /* in the second local day */
    assert_true(r.env[soak].workloads_gone_at < GS_HOUR(20));
    assert_true(r.budget_max[0][GS_WIN_DAY] <= sc->budgets[0].per_day);
    gs_sim_result_free(&r);
    gs_sim_input_free(&in);
    /* bad zone and bad startsAt: messages with their JSON path */
    static const char *BAD_TZ = "{\"pools\":[{\"name\":\"h\",\"instanceFamilies\":[\"p5\"]}],"
                                "\"budgets\":[{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"1\"},"
                                "\"timezone\":\"Mars/Olympus\"}]}";
    assert_int_equal(gs_scenario_parse(sc, BAD_TZ, strlen(BAD_TZ), "tz.json", ".", &cat, &err), GS_EPARSE);
    assert_non_null(strstr(err.msg, "$.budgets[0].timezone: 'Mars/Olympus' is not a timezone"));
    static const char *BAD_AT = "{\"startsAt\":\"tomorrow\",\"pools\":[{\"name\":\"h\",\"instanceFamilies\":[\"p5\"]}]}";
    assert_int_equal(gs_scenario_parse(sc, BAD_AT, strlen(BAD_AT), "tz.json", ".", &cat, &err), GS_EPARSE);
    assert_non_null(strstr(err.msg, "$.startsAt: 'tomorrow' is not a UTC time"));
    free(sc);
    gs_catalog_free(&cat);
}

static int parse_scen(const char *body, gs_error *err) {
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *s = calloc(1, sizeof *s);
    int rc = gs_scenario_parse(s, body, strlen(body), "env.json", ".", &cat, err);
    free(s);
    gs_catalog_free(&cat);
    return rc;
}

static void test_env_errors(void **state) {
    (void)state;
    static const char *PRE = "{\"duration\":\"24h\",\"pools\":[{\"name\":\"h\",\"instanceFamilies\":[\"p5\"]}],"
                             "\"environments\":[{\"name\":\"v\"";
    gs_error err;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s,\"job\":{\"runFor\":\"10m\"}}]}", PRE);
    if (parse_scen(buf, &err)) fail_msg("good scenario: %s", err.msg);
    struct { const char *extra; const char *want; } cases[] = {
        {",\"job\":{\"runFor\":\"10m\"},\"colour\":1", "$.environments[0].colour: unknown field"},
        {",\"job\":{\"runFor\":\"10m\"},\"pool\":\"nope\"", "$.environments[0].pool: names an unknown pool 'nope'"},
        {",\"job\":{\"runFor\":\"10m\"},\"start\":\"25h\"", "$.environments[0].start: must be in 0..duration"},
        {",\"job\":{\"runFor\":\"10m\"},\"start\":\"soon\"", "$.environments[0].start: bad duration"},
        {",\"job\":{\"runFor\":\"10m\"},\"deleteWhen\":\"someday\"", "$.environments[0].deleteWhen: 'someday' is not one of"},
        {",\"job\":{\"runFor\":\"10m\"},\"deleteWhen\":\"never\"", "$.environments[0]: is never deleted"},
        {"", "$.environments[0].job: is required"},
        {",\"job\":{}", "$.environments[0].job.runFor: is required"},
        {",\"job\":{\"runFor\":\"10m\",\"replicas\":0}", "$.environments[0].job.replicas: must be in 1..1000"},
        {",\"job\":{\"runFor\":\"10m\",\"migProfile\":\"9g.99gb\"}", "$.environments[0].job.migProfile: '9g.99gb' is not an H100-80GB MIG profile"},
        {",\"job\":{\"runFor\":\"10m\",\"migProfile\":\"1g.10gb\",\"gpuMemory\":\"40Gi\"}", "$.environments[0].job.gpuMemory: does not fit"},
        {",\"job\":{\"runFor\":\"10m\",\"parallel\":2}", "$.environments[0].job.parallel: unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s}]}", PRE, cases[i].extra);
        gs_error_clear(&err);
        assert_int_equal(parse_scen(buf, &err), GS_EPARSE);
        if (!strstr(err.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
        assert_string_equal(err.file, "env.json");
    }
    /* twice the same name; not an array */
    snprintf(buf, sizeof buf, "%s,\"job\":{\"runFor\":\"1m\"}},{\"name\":\"v\",\"ttl\":\"1h\",\"job\":{\"runFor\":\"1m\"}}]}", PRE);
    assert_int_equal(parse_scen(buf, &err), GS_EPARSE);
    assert_non_null(strstr(err.msg, "$.environments[1]: environment 'v' is defined twice"));
    assert_int_equal(parse_scen("{\"pools\":[{\"name\":\"h\",\"instanceFamilies\":[\"p5\"]}],\"environments\":{}}", &err), GS_EPARSE);
    assert_non_null(strstr(err.msg, "$.environments: must be an array"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_validation_env),
        cmocka_unit_test(test_env_budget_gate),
        cmocka_unit_test(test_budget_timezone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
