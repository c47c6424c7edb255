/* gs_reconcile_step with switch_modes: an idle WHOLE GPU of a time-slicing (or fractional)
 * pool's node is switched to the pool's sharing instead of a node launched, and the step says
 * so with a CONFIGURE_GPU action carrying the mode (and, for time-slicing, the pool's
 * replicas); without switch_modes (callers that carry out MIG layouts only) a node is
 * launched and the existing node is left alone. A GPU with a pod is never switched.
 * Hand-checked; the bundled catalog (data/instance-types.csv). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/catalog_load.h"
#include "policy/reconcile.h"
#include "testutil.h"

typedef struct counts {
    int creates, launches, binds, confs, deletes;
    const gs_action *conf, *bind;
} counts;

static counts count(const gs_rc_output *out) {
    counts c;
    memset(&c, 0, sizeof c);
    for (int32_t i = 0; i < out->n; i++) {
        const gs_action *a = &out->acts[i];
        c.creates += a->type == GS_ACT_CREATE_POD;
        c.launches += a->type == GS_ACT_LAUNCH;
        c.deletes += a->type == GS_ACT_DELETE_NODE;
        if (a->type == GS_ACT_BIND) {
            c.binds++;
            c.bind = a;
        }
        if (a->type == GS_ACT_CONFIGURE_GPU) {
            c.confs++;
            c.conf = a;
        }
    }
    return c;
}

/* A pool of one family sharing as `mode`; a 4-GPU node of it (id 30) whose GPU 0 is shared
 * and full (four busy replicas), GPU 1 held by a whole-GPU job pod, GPUs 2 and 3 idle and
 * WHOLE; the queue asks for a fifth replica. */
static void one_step(gs_share_mode mode, bool switch_modes, gs_rc_output *out) {
    gs_catalog cat;
    gs_test_catalog(&cat);
    const bool ts = mode == GS_SHARE_TIMESLICING;
    gs_pool pool;
    memset(&pool, 0, sizeof pool);
    snprintf(pool.name, sizeof pool.name, "shared");
    pool.nreqs = 1;
    pool.reqs[0].key = GS_KEY_FAMILY;
    pool.reqs[0].op = GS_OP_IN;
    pool.reqs[0].nvalues = 1;
    snprintf(pool.reqs[0].values[0], GS_NAME_LEN, "%s", ts ? "g5" : "g6e");
    pool.sharing = mode;
    pool.ts_replicas = ts ? 4 : 0;
    gs_rc_node node;
    memset(&node, 0, sizeof node);
    node.id = 30;
    node.itype = gs_catalog_find(&cat, ts ? "g5.12xlarge" : "g6e.12xlarge");
    assert_true(node.itype >= 0);
    node.cap = GS_CAP_ON_DEMAND;
    node.pool = 0;
    node.ready = true;
    node.ngpus = 4;
    node.zone = -1;
    node.empty_since = -1;
    gs_rc_pod pods[5];
    memset(pods, 0, sizeof pods);
    gs_rc_need need = {0, 1, 2048, 500, 1024, ts ? 0 : 250};
    node.gpus[0].mode = ts ? GS_GPUMODE_TIMESLICED : GS_GPUMODE_FRACTIONAL;
    node.gpus[0].ts_replicas = ts ? 4 : 0;
    for (int i = 0; i < 4; i++) {
        pods[i] = (gs_rc_pod){100 + i, 0, GS_RCP_BUSY, 0, 0, -1, 0, need, 0, NULL};
        if (ts) node.gpus[0].ts_used++;
        else node.gpus[0].milli_used = (int16_t)(node.gpus[0].milli_used + 250);
        node.gpus[0].pods++;
    }
    gs_rc_need whole = {1, 0, 0, 1000, 1024, 0};
    pods[4] = (gs_rc_pod){200, -1, GS_RCP_BUSY, 0, 1, -1, 0, whole, 0, NULL};
    node.gpus[1].whole_used = true;
    node.gpus[1].pods = 1;
    node.npods = 5;
    node.cpu_used = 4 * 500 + 1000;
    node.mem_used = 5 * 1024;
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0].type = GS_TRIG_SIM;
    sc.triggers[0].target_milli = 1000;
    gs_scale_state ss;
    gs_scale_init(&ss);
    gs_scale_reading rd = {true, 5000}; /* five wanted, four there */
    gs_rc_workload wl = {0, need, "search", &sc, &ss, &rd};
    gs_rc_input in = {GS_MIN(5), &cat, &pool, 1, &node, 1, pods, 5, &wl, 1, NULL, NULL};
    in.switch_modes = switch_modes;
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, out, &err), 0);
    gs_catalog_free(&cat);
}

static void test_switch_timeslicing(void **state) {
    (void)state;
    gs_action acts[64];
    gs_rc_output out = {acts, 0, 64, 0};
    one_step(GS_SHARE_TIMESLICING, true, &out);
    counts c = count(&out);
    assert_int_equal(c.creates, 1);
    assert_int_equal(c.launches, 0);
    assert_int_equal(c.deletes, 0);
    assert_int_equal(c.confs, 1);
    /* GPU 2: the first idle whole GPU (GPU 1 holds the job's pod) */
    assert_int_equal(c.conf->node, 30);
    assert_int_equal(c.conf->gpu, 2);
    assert_int_equal(c.conf->mode, GS_GPUMODE_TIMESLICED);
    assert_int_equal(c.conf->ts_replicas, 4);
    assert_int_equal(c.binds, 1);
    assert_int_equal(c.bind->node, 30);
    assert_int_equal(c.bind->gpu, 2);
    assert_int_equal(c.bind->part, -1);
    assert_true(c.conf < c.bind); /* configured before the pod is bound to it */
}

static void test_switch_fractional(void **state) {
    (void)state;
    gs_action acts[64];
    gs_rc_output out = {acts, 0, 64, 0};
    one_step(GS_SHARE_FRACTIONAL, true, &out);
    counts c = count(&out);
    assert_int_equal(c.launches, 0);
    assert_int_equal(c.confs, 1);
    assert_int_equal(c.conf->node, 30);
    assert_int_equal(c.conf->gpu, 2);
    assert_int_equal(c.conf->mode, GS_GPUMODE_FRACTIONAL);
    assert_int_equal(c.conf->ts_replicas, 0);
    assert_int_equal(c.binds, 1);
    assert_int_equal(c.bind->node, 30);
    assert_int_equal(c.bind->gpu, 2);
}

/* Off (the default): the existing node is not touched; a node is launched, configured with
 * the pool's sharing (TIMESLICED x4), and the replica bound there. */
static void test_no_switch_without_opt_in(void **state) {
    (void)state;
    gs_action acts[64];
    gs_rc_output out = {acts, 0, 64, 0};
    one_step(GS_SHARE_TIMESLICING, false, &out);
    counts c = count(&out);
    assert_int_equal(c.launches, 1);
    assert_true(c.confs >= 1);
    for (int32_t i = 0; i < out.n; i++) {
        const gs_action *a = &acts[i];
        if (a->type != GS_ACT_CONFIGURE_GPU) continue;
        assert_int_equal(a->node, -1); /* the new node only */
        assert_int_equal(a->mode, GS_GPUMODE_TIMESLICED);
        assert_int_equal(a->ts_replicas, 4);
    }
    assert_int_equal(c.binds, 1);
    assert_int_equal(c.bind->node, -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_timeslicing),
        cmocka_unit_test(test_switch_fractional),
        cmocka_unit_test(test_no_switch_without_opt_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
