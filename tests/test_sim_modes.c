/* Simulator: a pool's initialNodes (nodes up from the start with their GPUs whole, as they were
 * before the pool's sharing was configured on them) and gpuscale switching an idle whole GPU
 * to the pool's time-slicing or fractional sharing (CONFIGURE_GPU with the mode, the MIG
 * reconfiguration delay) rather than launching a node; gpuscale.switchModes false launches
 * instead. Every policy runs with the initial nodes and keeps the invariants. Bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/catalog_load.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "testutil.h"

/* One request at t = 0, eight at 1 h; four replicas (min = max = 4) of a workload in a
 * one-node-type pool sharing as `sharing`, with `initial` initial nodes. */
static void run(const char *sharing, int initial, const char *gpuscale, gs_policy pol, gs_sim_result *r,
                const gs_catalog *cat) {
    char dir[] = "/tmp/gs_sim_modes_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char csv[256];
    snprintf(csv, sizeof csv, "%s/t.csv", dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 00:00:00.0,1,0\n");
    for (int i = 0; i < 8; i++) fprintf(f, "2023-11-16 01:00:00.0,1000,0\n");
    fclose(f);
    bool ts = strcmp(sharing, "timeslicing") == 0;
    char body[4096];
    snprintf(body, sizeof body,
             "{\"duration\":\"2h\",\"cloud\":{\"billingMinimum\":\"60s\",\"migReconfigure\":\"60s\"},%s"
             "\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"%s\"],\"capacityTypes\":[\"on-demand\"],"
             "\"sharing\":\"%s\",\"initialNodes\":%d}],"
             "\"workloads\":[{\"name\":\"w\",\"pool\":\"p\",\"gpuMemory\":\"2Gi\",\"cpu\":\"500m\",\"memory\":\"1Gi\"%s,"
             "\"serviceTime\":{\"baseMs\":0,\"msPerInputToken\":1,\"saturationComputeSlices\":2},\"coldStart\":\"10s\","
             "\"scaler\":{\"minReplicas\":4,\"maxReplicas\":4,\"cooldownPeriod\":\"1s\",\"stabilizeDown\":\"1s\"},"
             "\"traffic\":{\"kind\":\"trace\",\"trace\":\"t.csv\"}}]}",
             gpuscale, ts ? "g6.xlarge" : "g6e.xlarge", sharing, initial, ts ? "" : ",\"gpuMilli\":250");
    gs_scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    gs_error err;
    if (gs_scenario_parse(sc, body, strlen(body), "modes.json", dir, cat, &err)) fail_msg("%s", err.msg);
    gs_sim_input in;
    if (gs_sim_prepare(sc, true, &in, &err)) fail_msg("%s", err.msg);
    if (gs_sim_run(sc, cat, &in, pol, NULL, r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r->v_fit, 0);
    assert_int_equal(r->v_served, 0);
    assert_int_equal(r->served, 9);
    gs_sim_input_free(&in);
    free(sc);
    unlink(csv);
    rmdir(dir);
}

/* gpuscale: the initial g6.xlarge's one L4 is whole and idle; the four replicas need a
 * time-sliced GPU. With switchModes (the default) the GPU is switched to time-slicing x4 (one
 * switch, 60 s) and the replicas start there: no node launched, and the t = 0 request waits
 * the switch plus the 10 s cold start, 70 s, where a launch would take a boot (130-170 s for
 * g6) plus the cold start. With switchModes false a node is launched and the initial one,
 * empty, goes. */
static void test_switch_rather_than_launch(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    for (int frac = 0; frac < 2; frac++) {
        const char *sharing = frac ? "fractional" : "timeslicing";
        gs_sim_result r;
        run(sharing, 1, "", GS_POL_GPUSCALE, &r, &cat);
        assert_int_equal(r.nodes_launched, 0);
        assert_int_equal(r.mode_switches, 1);
        assert_int_equal(r.mig_reconfigs, 0);
        assert_int_equal(r.max_wait, 70000);
        assert_int_equal(r.peak_nodes, 1);
        gs_sim_result_free(&r);
        gs_sim_result off;
        run(sharing, 1, "\"gpuscale\":{\"switchModes\":false},", GS_POL_GPUSCALE, &off, &cat);
        assert_int_equal(off.nodes_launched, 1);
        assert_int_equal(off.mode_switches, 0);
        assert_true(off.max_wait >= 130000 + 10000);
        gs_sim_result_free(&off);
        /* no initial node: a launch, its GPU configured for the pool's sharing while it boots
         * (no switch counted) */
        gs_sim_result none;
        run(sharing, 0, "", GS_POL_GPUSCALE, &none, &cat);
        assert_int_equal(none.nodes_launched, 1);
        assert_int_equal(none.mode_switches, 0);
        gs_sim_result_free(&none);
    }
    gs_catalog_free(&cat);
}

/* The baselines start with the same initial node (whole GPUs are what they use) and keep
 * their invariants (checked in run: fit, exactly-once service, every request served). */
static void test_initial_nodes_every_policy(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    for (int p = 0; p < GS_POL_ORACLE; p++) {
        gs_sim_result r;
        run("timeslicing", 2, "", (gs_policy)p, &r, &cat);
        assert_true(r.peak_nodes >= 2);
        gs_sim_result_free(&r);
    }
    gs_catalog_free(&cat);
}

static void test_bad_input(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    static const char *BAD[][2] = {
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"timeslicing\",\"initialNodes\":65}]}",
         "$.pools[0].initialNodes: must be in 0..64"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"timeslicing\",\"initialNodes\":\"1\"}]}",
         "initialNodes"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"capacityTypes\":[\"spot\"],"
         "\"sharing\":\"timeslicing\",\"initialNodes\":1}]}",
         "$.pools[0].initialNodes: the pool admits no on-demand GPU instance type to start them as"},
        {"{\"gpuscale\":{\"switchModes\":1},\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"]}]}",
         "$.gpuscale.switchModes: must be true or false"},
    };
    gs_scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        gs_error err;
        gs_error_clear(&err);
        assert_int_equal(gs_scenario_parse(sc, BAD[i][0], strlen(BAD[i][0]), "b.json", ".", &cat, &err), GS_EPARSE);
        if (!strstr(err.msg, BAD[i][1])) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, BAD[i][1]);
    }
    free(sc);
    gs_catalog_free(&cat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_rather_than_launch),
        cmocka_unit_test(test_initial_nodes_every_policy),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
