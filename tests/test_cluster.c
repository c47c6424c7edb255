/* The snapshot's shared selector/toleration store (model/objects gs_rules_intern): pods with
 * the same rules share one copy, different rules stay apart, the caller's arrays may be
 * temporary, and counts out of range are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/cluster.h"

static int32_t add(gs_snapshot *s, const char *name, const char *selv, int ntol) {
    gs_pod p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.node = -1;
    gs_kv sel[1];
    gs_toleration tol[2];
    memset(sel, 0, sizeof sel);
    memset(tol, 0, sizeof tol);
    if (selv) {
        snprintf(sel[0].key, sizeof sel[0].key, "team");
        snprintf(sel[0].value, sizeof sel[0].value, "%s", selv);
        p.spec.node_selector = sel;
        p.spec.n_node_selector = 1;
    }
    for (int i = 0; i < ntol; i++) {
        snprintf(tol[i].key, sizeof tol[i].key, "gpu%d", i);
        tol[i].op = GS_TOL_EXISTS;
        tol[i].effect = -1;
    }
    p.spec.tolerations = ntol ? tol : NULL;
    p.spec.n_tolerations = ntol;
    int32_t r = gs_snapshot_add_pod(s, &p);
    /* scribble over the caller's arrays: the snapshot must hold its own copies */
    memset(sel, 'x', sizeof sel);
    memset(tol, 'x', sizeof tol);
    return r;
}

static void test_shared_copies(void **st) {
    (void)st;
    gs_snapshot s;
    gs_snapshot_init(&s);
    for (int i = 0; i < 1000; i++) {
        char n[32];
        snprintf(n, sizeof n, "p%d", i);
        assert_int_equal(add(&s, n, i % 2 ? "ml" : "ocr", i % 3 == 0 ? 2 : 0), i);
    }
    assert_int_equal(add(&s, "bare", NULL, 0), 1000);
    /* pods with equal rules point at one copy; different rules at different copies */
    assert_ptr_equal(s.pods[1].spec.node_selector, s.pods[3].spec.node_selector);
    assert_ptr_not_equal(s.pods[0].spec.node_selector, s.pods[1].spec.node_selector);
    assert_ptr_equal(s.pods[0].spec.tolerations, s.pods[3].spec.tolerations);
    assert_null(s.pods[1].spec.tolerations);
    assert_null(s.pods[1000].spec.node_selector);
    assert_string_equal(s.pods[999].spec.node_selector[0].value, "ml");
    assert_string_equal(s.pods[0].spec.node_selector[0].value, "ocr");
    assert_string_equal(s.pods[999].spec.tolerations[1].key, "gpu1");
    assert_int_equal(s.pods[999].spec.n_tolerations, 2);
    /* 2 selectors + 1 toleration list stored, not 1000 */
    size_t held = gs_rules_store_bytes(s.rules);
    assert_true(held < 16 * 1024);
    assert_true(sizeof(gs_pod) < 1024);
    gs_snapshot_free(&s);
}

static void test_reserve(void **st) {
    (void)st;
    gs_snapshot s;
    gs_snapshot_init(&s);
    assert_int_equal(gs_snapshot_reserve(&s, 3, 1000), 0);
    assert_int_equal(s.cap_pods, 1000); /* exact, no doubling slack */
    assert_int_equal(s.cap_nodes, 3);
    for (int i = 0; i < 1000; i++) assert_int_equal(add(&s, "p", "ml", 0), i);
    assert_int_equal(s.cap_pods, 1000);
    assert_int_equal(gs_snapshot_reserve(&s, 1, 10), 0); /* never shrinks */
    assert_int_equal(s.cap_pods, 1000);
    gs_snapshot_free(&s);
}

static void test_bad_counts(void **st) {
    (void)st;
    gs_rules_store *store = NULL;
    gs_pod_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.n_node_selector = GS_MAX_LABELS + 1;
    assert_int_equal(gs_rules_intern(&store, &sp), GS_EINVAL);
    sp.n_node_selector = -1;
    assert_int_equal(gs_rules_intern(&store, &sp), GS_EINVAL);
    sp.n_node_selector = 0;
    sp.n_tolerations = 0;
    assert_int_equal(gs_rules_intern(&store, &sp), 0);
    assert_null(store); /* nothing to keep, nothing allocated */
    gs_rules_store_free(store);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_shared_copies), cmocka_unit_test(test_bad_counts),
                                       cmocka_unit_test(test_reserve)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
