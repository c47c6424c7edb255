/* The pure scaler (src/policy/scale): every rule of KEDA's semantics it implements, at its
 * boundaries, plus capacity awareness and idle-aware scale-in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/err.h"
#include "policy/scale.h"

static gs_scaler mk(int ntrig) {
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    strcpy(sc.name, "w");
    gs_scale_defaults(&sc);
    sc.stabilize_down = 0;
    sc.ntriggers = ntrig;
    for (int i = 0; i < ntrig; i++) {
        sc.triggers[i].type = GS_TRIG_REDIS_LIST;
        sc.triggers[i].metric_type = GS_METRIC_AVERAGE_VALUE;
        sc.triggers[i].target_milli = 10000; /* 10 per replica */
        sc.triggers[i].activation_milli = 0;
    }
    return sc;
}

/* One step with a single reading; returns the decision. */
static gs_scale_decision step1(const gs_scaler *sc, gs_scale_state *st, gs_ms now, bool ok,
                               int64_t milli, int32_t cur) {
    gs_scale_reading r = {ok, milli};
    gs_scale_input in = {0};
    in.now = now;
    in.readings = &r;
    in.current = cur;
    in.ready = cur;
    gs_scale_decision d;
    assert_int_equal(gs_scale_step(sc, st, &in, &d, NULL), 0);
    return d;
}

static void test_formula(void **s) {
    (void)s;
    gs_trigger t = {0};
    t.target_milli = 5000;
    assert_int_equal(gs_scale_formula(&t, 10000, 0, 100), 2);
    assert_int_equal(gs_scale_formula(&t, 10001, 0, 100), 3);
    assert_int_equal(gs_scale_formula(&t, 0, 0, 100), 0);
    assert_int_equal(gs_scale_formula(&t, -5, 0, 100), 0);
    assert_int_equal(gs_scale_formula(&t, 5000000, 0, 100), 100); /* capped at max */
    assert_int_equal(gs_scale_formula(&t, INT64_MAX, 0, 100), 100);
    t.target_milli = 500; /* 0.5 per replica */
    assert_int_equal(gs_scale_formula(&t, 1000, 0, 100), 2);
    /* Value: ceil(ready x metric / target) */
    t.metric_type = GS_METRIC_VALUE;
    t.target_milli = 100000;
    assert_int_equal(gs_scale_formula(&t, 200000, 2, 100), 4);
    assert_int_equal(gs_scale_formula(&t, 150000, 3, 100), 5); /* 4.5 -> 5 */
    assert_int_equal(gs_scale_formula(&t, 200000, 0, 100), 2); /* none ready: base 1 */
    assert_int_equal(gs_scale_formula(&t, INT64_MAX, 1000, 100), 100);
}

static void test_activation_strict(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    sc.triggers[0].activation_milli = 5000;
    gs_scale_state st;
    gs_scale_init(&st);
    /* exactly at the threshold: inactive, stays at zero */
    gs_scale_decision d = step1(&sc, &st, 1000, true, 5000, 0);
    assert_false(d.active);
    assert_int_equal(d.desired, 0);
    assert_int_equal(d.reason, GS_SCALE_TO_IDLE);
    assert_int_equal(st.last_active, -1);
    /* just above: active, from zero to max(min, 1) */
    d = step1(&sc, &st, 2000, true, 5001, 0);
    assert_true(d.active);
    assert_int_equal(d.desired, 1);
    assert_int_equal(d.create, 1);
    assert_int_equal(d.reason, GS_SCALE_FROM_ZERO);
    assert_int_equal(st.last_active, 2000);
}

static void test_from_zero(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    gs_scale_state st;
    gs_scale_init(&st);
    sc.min_replicas = 3;
    sc.idle_replicas = 0;
    gs_scale_decision d = step1(&sc, &st, 0, true, 1000, 0);
    assert_int_equal(d.desired, 3); /* max(min, 1) */
    gs_scale_init(&st);
    d = step1(&sc, &st, 0, true, 70000, 0);
    assert_int_equal(d.desired, 7); /* the formula when larger */
    gs_scale_init(&st);
    sc.max_replicas = 5;
    d = step1(&sc, &st, 0, true, 70000, 0);
    assert_int_equal(d.desired, 5); /* capped */
}

static void test_cooldown_edges(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    sc.cooldown_period = GS_SEC(300);
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_decision d = step1(&sc, &st, 0, true, 20000, 0);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 1000, true, 0, 2);
    assert_false(d.active);
    assert_int_equal(d.reason, GS_SCALE_COOLDOWN);
    assert_int_equal(d.desired, 1); /* HPA part keeps >= 1 inside the cooldown */
    d = step1(&sc, &st, GS_SEC(300), true, 0, 1); /* now == last_active + cooldown */
    assert_int_equal(d.reason, GS_SCALE_COOLDOWN);
    assert_int_equal(d.desired, 1);
    d = step1(&sc, &st, GS_SEC(300) + 1, true, 0, 1); /* strictly after: to zero */
    assert_int_equal(d.reason, GS_SCALE_TO_IDLE);
    assert_int_equal(d.desired, 0);
    /* activity inside the cooldown restarts it */
    gs_scale_init(&st);
    (void)step1(&sc, &st, 0, true, 20000, 0);
    (void)step1(&sc, &st, GS_SEC(200), true, 10, 2); /* 0.01 > 0: active */
    d = step1(&sc, &st, GS_SEC(400), true, 0, 1);
    assert_int_equal(d.reason, GS_SCALE_COOLDOWN);
    d = step1(&sc, &st, GS_SEC(501), true, 0, 1);
    assert_int_equal(d.desired, 0);
}

static void test_never_active_and_min(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    gs_scale_state st;
    gs_scale_init(&st);
    /* never active: straight to zero (KEDA: no lastActiveTime) */
    gs_scale_decision d = step1(&sc, &st, 5, true, 0, 3);
    assert_int_equal(d.desired, 0);
    /* min > 0, no idle: never below min, no scale to zero */
    sc.min_replicas = 2;
    gs_scale_init(&st);
    d = step1(&sc, &st, 5, true, 0, 3);
    assert_int_equal(d.reason, GS_SCALE_INACTIVE_MIN);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 6, true, 0, 0);
    assert_int_equal(d.desired, 2);
    /* idle replicas: inactive past cooldown -> idle; active -> at least min */
    sc.idle_replicas = 1;
    sc.cooldown_period = 1000;
    gs_scale_init(&st);
    d = step1(&sc, &st, 0, true, 0, 4);
    assert_int_equal(d.desired, 1);
    assert_int_equal(d.reason, GS_SCALE_TO_IDLE);
    d = step1(&sc, &st, 100, true, 1, 1);
    assert_true(d.active);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 600, true, 0, 2);
    assert_int_equal(d.reason, GS_SCALE_COOLDOWN);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 1101, true, 0, 2);
    assert_int_equal(d.desired, 1);
}

static void test_stabilize_down(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    sc.stabilize_down = GS_SEC(60);
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_decision d = step1(&sc, &st, 0, true, 100000, 10);
    assert_int_equal(d.desired, 10);
    d = step1(&sc, &st, GS_SEC(10), true, 30000, 10);
    assert_int_equal(d.raw, 3);
    assert_int_equal(d.desired, 10); /* max over the window */
    d = step1(&sc, &st, GS_SEC(60) - 1, true, 30000, 10);
    assert_int_equal(d.desired, 10); /* t=0 still inside (after the cutoff) */
    d = step1(&sc, &st, GS_SEC(60), true, 30000, 10);
    assert_int_equal(d.desired, 3); /* t=0 expired; max of 3s */
    /* a scale-up is never held back by the down window */
    d = step1(&sc, &st, GS_SEC(61), true, 200000, 3);
    assert_int_equal(d.desired, 20);
}

static void test_stabilize_up(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    sc.stabilize_up = GS_SEC(30);
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_decision d = step1(&sc, &st, 0, true, 20000, 2);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, GS_SEC(10), true, 80000, 2);
    assert_int_equal(d.raw, 8);
    assert_int_equal(d.desired, 2); /* min over the up window */
    d = step1(&sc, &st, GS_SEC(30), true, 80000, 2);
    assert_int_equal(d.desired, 8);
}

static void test_window_overflow_conservative(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    sc.max_replicas = 1000;
    sc.stabilize_down = GS_SEC(1000);
    gs_scale_state st;
    gs_scale_init(&st);
    /* 300 strictly decreasing recommendations, one per second: more than GS_SCALE_HIST */
    int32_t cur = 300;
    for (int i = 0; i < 300; i++) {
        gs_scale_decision d = step1(&sc, &st, GS_SEC(i), true, (300 - i) * 10000LL, cur);
        assert_int_equal(d.desired, 300);
        assert_true(st.down.n <= GS_SCALE_HIST);
    }
    /* after expiry of the first k, the exact max would be 300 - k; never less than exact */
    for (int k = 1; k < 300; k += 7) {
        gs_scale_state copy = st;
        gs_scale_decision d = step1(&sc, &copy, GS_SEC(1000 + k - 1) + 1, true, 10000, cur);
        assert_true(d.desired >= 300 - k);
        assert_true(d.desired <= 300);
    }
    gs_scale_decision d = step1(&sc, &st, GS_SEC(1300), true, 10000, cur);
    assert_int_equal(d.desired, 1);
}

static void test_fallback(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    sc.fallback_failures = 3;
    sc.fallback_replicas = 5;
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_decision d = step1(&sc, &st, 0, true, 20000, 0);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 1000, false, 0, 2);
    assert_int_equal(d.reason, GS_SCALE_HOLD_ERROR);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 2000, false, 0, 2);
    assert_int_equal(d.desired, 2);
    d = step1(&sc, &st, 3000, false, 0, 2);
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
    assert_true(d.fallback);
    assert_int_equal(d.desired, 5);
    assert_int_equal(d.create, 3);
    /* still failing long past the cooldown: fallback, never zero */
    d = step1(&sc, &st, GS_SEC(1000), false, 0, 5);
    assert_int_equal(d.desired, 5);
    /* the peer is back: readings rule again, the failure count resets */
    d = step1(&sc, &st, GS_SEC(1001), true, 10000, 5);
    assert_false(d.fallback);
    assert_int_equal(d.desired, 1);
    assert_int_equal(st.failures[0], 0);
    d = step1(&sc, &st, GS_SEC(1002), false, 0, 1);
    assert_int_equal(d.desired, 1); /* one failure: hold */
}

static void test_no_fallback_holds(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    gs_scale_state st;
    gs_scale_init(&st);
    (void)step1(&sc, &st, 0, true, 30000, 0);
    for (int i = 1; i < 20; i++) {
        gs_scale_decision d = step1(&sc, &st, GS_SEC(100 * i), false, 0, 3);
        assert_int_equal(d.reason, GS_SCALE_HOLD_ERROR);
        assert_int_equal(d.desired, 3);
    }
}

static void test_multi_trigger(void **s) {
    (void)s;
    gs_scaler sc = mk(3);
    sc.triggers[0].activation_milli = 50000; /* inactive at 30 */
    sc.triggers[1].target_milli = 5000;
    sc.triggers[1].activation_milli = 0;
    sc.fallback_failures = 1;
    sc.fallback_replicas = 4;
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_reading r[3] = {{true, 30000}, {true, 50000}, {true, 0}};
    gs_scale_input in = {0};
    in.readings = r;
    in.current = 1;
    in.ready = 1;
    gs_scale_decision d;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_true(d.active);
    assert_int_equal(d.desired, 10); /* max(3, 10, 0) */
    assert_int_equal(d.trigger, 1);
    /* trigger 1 inactive, trigger 0 still below its activation, one failing past threshold:
     * fallback */
    r[1].value_milli = 0;
    r[2].ok = false;
    in.now = 10;
    in.current = 10;
    in.ready = 10;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_false(d.active);
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
    assert_int_equal(d.desired, 4);
    /* an active trigger and a failing one: max(formula, fallback) */
    r[1].value_milli = 60000;
    in.now = 20;
    in.current = 4;
    in.ready = 4;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 12);
    r[1].value_milli = 5000;
    in.now = 30;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 4);
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
}

static void test_capacity_aware(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_reading r = {true, 50000};
    gs_scale_input in = {0};
    in.readings = &r;
    in.current = 5;
    in.ready = 2;
    in.pending = 3; /* three replicas wait for a booting node */
    gs_scale_decision d;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 5);
    assert_int_equal(d.create, 0); /* nothing created twice */
    r.value_milli = 70000;
    in.now = 1000;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.create, 2);
    /* Value target: the queue does not compound while nodes boot */
    sc.triggers[0].metric_type = GS_METRIC_VALUE;
    sc.triggers[0].target_milli = 100000;
    gs_scale_init(&st);
    r.value_milli = 200000;
    in.current = 2;
    in.ready = 2;
    in.pending = 0;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 4);
    in.now = 2000;
    in.current = 4;
    in.pending = 2; /* queue unchanged: the two new ones have not started */
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 4);
    assert_int_equal(d.create, 0);
}

static void test_scale_in_victims(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_pod pods[6] = {
        {false, true, GS_POD_BUSY, 100},    /* 0: busy: never */
        {false, true, GS_POD_IDLE, 50},     /* 1: idle, older */
        {false, true, GS_POD_UNKNOWN, 200}, /* 2: unknown */
        {true, false, GS_POD_UNKNOWN, 300}, /* 3: pending */
        {false, false, GS_POD_UNKNOWN, 250},/* 4: starting, not ready */
        {false, true, GS_POD_IDLE, 60},     /* 5: idle, younger than 1 */
    };
    int32_t rm[8];
    gs_scale_reading r = {true, 20000};
    gs_scale_input in = {0};
    in.readings = &r;
    in.current = 6;
    in.ready = 4;
    in.pending = 1;
    in.pods = pods;
    in.npods = 6;
    in.remove = rm;
    in.remove_cap = 8;
    gs_scale_decision d;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 2);
    assert_int_equal(d.nremove, 4);
    assert_int_equal(rm[0], 3); /* pending first */
    assert_int_equal(rm[1], 4); /* then not ready */
    assert_int_equal(rm[2], 5); /* then idle, younger first */
    assert_int_equal(rm[3], 1);
    assert_int_equal(d.kept_busy, 0);
    /* to zero: everything but the busy pod goes, the busy one is kept */
    r.value_milli = 0;
    gs_scale_init(&st); /* never active: straight to zero */
    in.now = 1;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.nremove, 5);
    assert_int_equal(d.kept_busy, 1);
    assert_int_equal(d.desired, 1);
    for (int i = 0; i < d.nremove; i++) assert_int_not_equal(rm[i], 0);
    /* a small buffer: fewer removals, the rest kept */
    in.remove_cap = 2;
    in.now = 2;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.nremove, 2);
    assert_int_equal(d.desired, 4);
}

static void test_bad_input(void **s) {
    (void)s;
    gs_scaler sc = mk(1);
    gs_scale_state st;
    gs_scale_init(&st);
    gs_error e;
    gs_error_clear(&e);
    gs_scale_reading r = {true, 1};
    gs_scale_input in = {0};
    in.readings = &r;
    gs_scale_decision d;
    sc.triggers[0].target_milli = 0;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "target must be > 0"));
    sc = mk(1);
    sc.min_replicas = 2;
    sc.idle_replicas = 2;
    assert_int_equal(gs_scale_check(&sc, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "idleReplicaCount"));
    sc = mk(1);
    sc.min_replicas = 5;
    sc.max_replicas = 4;
    assert_int_equal(gs_scale_check(&sc, &e), GS_EINVAL);
    sc = mk(0);
    assert_int_equal(gs_scale_check(&sc, &e), GS_EINVAL);
    sc = mk(1);
    in.current = 1;
    in.ready = 1;
    in.pending = 1;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, &e), GS_EINVAL);
    in.pending = 0;
    in.now = 100;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, &e), 0);
    in.now = 99;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "backwards"));
    assert_int_equal(st.last_step, 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula),
        cmocka_unit_test(test_activation_strict),
        cmocka_unit_test(test_from_zero),
        cmocka_unit_test(test_cooldown_edges),
        cmocka_unit_test(test_never_active_and_min),
        cmocka_unit_test(test_stabilize_down),
        cmocka_unit_test(test_stabilize_up),
        cmocka_unit_test(test_window_overflow_conservative),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_no_fallback_holds),
        cmocka_unit_test(test_multi_trigger),
        cmocka_unit_test(test_capacity_aware),
        cmocka_unit_test(test_scale_in_victims),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
