/* Budgets in the simulator (examples/budget-burst): a runaway 8x burst of research's LLM
 * against a hard $1500/day budget. gpuscale keeps research's metered spend in every simulated
 * day within the limit and refuses launches (counted in the report); karpenter-keda, which
 * has no dollar limit, goes over on the same traffic. Plus the scenario's budget parse errors
 * and the report's budget section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/budget.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "testutil.h"

#ifndef GS_BUDGET_SIM_HOURS
#define GS_BUDGET_SIM_HOURS 6
#endif
#ifndef GS_BUDGET_SIM_PER_DAY
#define GS_BUDGET_SIM_PER_DAY 60
#endif

static void test_burst_capped(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_error err;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/budget-burst/scenario.json", &cat, &err))
        fail_msg("scenario: %s", err.msg);
    assert_int_equal(sc->nbudgets, 1);
    assert_string_equal(sc->budgets[0].project, "research");
    assert_int_equal(sc->budgets[0].per_day, GS_USD(1500));
    /* keep the sanitizer build fast: the first 6 hours of the day, with a daily limit that
     * binds within them (the day starts with nothing running, so every dollar of the day is
     * behind the gate; docs/cost.md explains what happens to nodes carried into a period) */
    sc->duration = GS_HOUR(GS_BUDGET_SIM_HOURS);
    sc->budgets[0].per_day = GS_USD(GS_BUDGET_SIM_PER_DAY);
    gs_usd_u limit = sc->budgets[0].per_day;
    gs_sim_input in;
    assert_int_equal(gs_sim_prepare(sc, false, &in, &err), 0);
    gs_sim_result res[3];
    memset(res, 0, sizeof res);
    assert_int_equal(gs_sim_run(sc, &cat, &in, GS_POL_GPUSCALE, NULL, &res[0], &err), 0);
    assert_int_equal(gs_sim_run(sc, &cat, &in, GS_POL_KK, NULL, &res[1], &err), 0);
    char a[32], b[32];
    print_message("gpuscale: research most in one day %s, refused %lld; karpenter-keda: %s\n",
                  gs_fmt_usd(res[0].budget_max[0][GS_WIN_DAY], a, sizeof a), (long long)res[0].blocked_launches,
                  gs_fmt_usd(res[1].budget_max[0][GS_WIN_DAY], b, sizeof b));
    assert_true(res[0].budget_max[0][GS_WIN_DAY] <= limit);
    /* it uses a good part of the money (the gate projects running nodes to the end of the day,
     * which lies beyond this shortened run) */
    assert_true(res[0].budget_max[0][GS_WIN_DAY] >= limit / 2);
    assert_true(res[0].blocked_launches > 0);
    assert_true(res[1].budget_max[0][GS_WIN_DAY] > limit);
    assert_int_equal(res[1].blocked_launches, 0);
    /* cost per project adds up to the bill */
    for (int i = 0; i < 2; i++) {
        gs_usd_u sum = 0;
        for (int32_t k = 0; k < res[i].nproj; k++) sum += res[i].proj_cost[k];
        assert_int_equal(sum, res[i].cost);
    }
    /* the text report shows spend per project and the budget's verdict */
    gs_report rep = {sc, &in, res, 2};
    char path[] = "/tmp/gs_budget_sim_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    gs_report_text(&rep, f);
    fflush(f);
    rewind(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    assert_non_null(strstr(text, "spend per project"));
    assert_non_null(strstr(text, "research-daily: project research, hard, onExceeded block, per hour -, per day $60.00"));
    assert_non_null(strstr(text, "(within)"));
    assert_non_null(strstr(text, "(OVER)"));
    for (int i = 0; i < 2; i++) gs_sim_result_free(&res[i]);
    gs_sim_input_free(&in);
    free(sc);
    gs_catalog_free(&cat);
}

static void test_budget_parse_errors(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *s = calloc(1, sizeof *s);
    const char *pre = "{\"pools\":[{\"name\":\"h\",\"instanceFamilies\":[\"p5\"]}],"
                      "\"workloads\":[{\"name\":\"w\",\"traffic\":{\"sizesFrom\":\"x.csv\"}}],\"budgets\":[";
    struct { const char *b; const char *want; } cases[] = {
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"10\"}}", NULL},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":10}}", "$.budgets[0].limits.perDay: must be an amount"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"-3\"}}", "perDay: bad amount"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{}}", "sets no limit"},
        {"{\"name\":\"b\",\"project\":\"p\"}", "limits: is required"},
        {"{\"name\":\"b\",\"limits\":{\"perDay\":\"1\"}}", "needs a name and a project"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"1\"},\"enforce\":\"maybe\"}", "enforce 'maybe' is unknown"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"1\"},\"onExceeded\":\"panic\"}", "onExceeded 'panic' is unknown"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perWeek\":\"1\"}}", "$.budgets[0].limits.perWeek: unknown field"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"1\"},\"alerts\":{\"thresholds\":[0]}}", "thresholds must be integers"},
        {"{\"name\":\"b\",\"project\":\"p\",\"limits\":{\"perDay\":\"1\"}},{\"name\":\"c\",\"project\":\"p\",\"limits\":{\"perDay\":\"2\"}}",
         "$.budgets[1]: project 'p' already has a budget"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s%s]}", pre, cases[i].b);
        gs_error err;
        gs_error_clear(&err);
        int rc = gs_scenario_parse(s, buf, strlen(buf), "s.json", ".", &cat, &err);
        if (!cases[i].want) {
            if (rc) fail_msg("case %zu: %s", i, err.msg);
            assert_int_equal(s->nbudgets, 1);
            assert_int_equal(s->budgets[0].enforce, GS_ENFORCE_HARD);
            assert_int_equal(s->budgets[0].on_exceeded, GS_ON_EXCEEDED_BLOCK);
            continue;
        }
        assert_int_equal(rc, GS_EPARSE);
        if (!strstr(err.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
    }
    free(s);
    gs_catalog_free(&cat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_parse_errors),
        cmocka_unit_test(test_burst_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
