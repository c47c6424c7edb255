/* The packer (src/policy/pack): time-sliced pods spread over GPUs. On existing nodes a pod
 * takes the GPU with the fewest used replicas (nodes that hold pods or are starting before
 * empty ones, ties in node order); on a claim the pods are stacked while packing (the claim
 * needs as few GPUs as possible) and then spread over the GPUs every candidate type has, so
 * the node and its price are those of stacking. Never beyond the replicas the pool declares,
 * never a launch while an existing node has room. Hand-checked cases; instance types are made
 * up here so prices are known exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"
#include "policy/pack.h"

#include "pack_fixture.h"


/* A time-sliced node: every GPU TIMESLICED with `advertised` replicas, used[g] of them held,
 * `pods` pods bound, ready or still starting. */
static int32_t ts_node(fx *f, const char *name, const char *itype, int advertised, const int *used, int ngpu,
                       int pods, bool ready) {
    gs_node n;
    gs_node_init(&n, name, &f->cat, gs_catalog_find(&f->cat, itype), GS_CAP_ON_DEMAND);
    n.pool = 0;
    n.ready = ready;
    n.pods = pods;
    for (int g = 0; g < n.ngpus; g++) {
        n.gpus[g].mode = GS_GPUMODE_TIMESLICED;
        n.gpus[g].ts_replicas = (int16_t)advertised;
        n.gpus[g].ts_used = (int16_t)(g < ngpu ? used[g] : 0);
        n.gpus[g].pods = n.gpus[g].ts_used;
    }
    int32_t r = gs_snapshot_add_node(&f->s, &n);
    assert_true(r >= 0);
    return r;
}

static void expect_at(const fx *f, int32_t p, gs_place_kind kind, int32_t target, int gpu) {
    const gs_placement *x = where(f, p);
    assert_int_equal(x->kind, kind);
    assert_int_equal(x->target, target);
    assert_int_equal(x->gpu, gpu);
}

/* Two 1-GPU nodes of a time-slicing x4 pool: A with 2 replicas used, B with none (it holds a
 * pod without GPU, so it is in use) and advertising 8. Stacking would fill A first; spreading
 * gives p1 -> B (0 used), p2 -> B (1 < 2), p3 -> A (2 = 2: node order), p4 -> B, p5 -> A,
 * p6 -> B: both at 4, the pool's declared replicas (B's advertised 8 not used), p7 opens a
 * node. */
static void test_ts_spread_across_nodes(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int a_used[1] = {2}, b_used[1] = {0};
    int32_t a = ts_node(&f, "a", "g1", 4, a_used, 1, 2, true);
    int32_t b = ts_node(&f, "b", "g1", 8, b_used, 1, 1, true);
    int32_t p[7];
    for (int i = 0; i < 7; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "p%d", i + 1);
        p[i] = pod(&f, nm, GS_GPU_SHARED, 1, NULL);
    }
    plan_ok(&f, false);
    expect_at(&f, p[0], GS_PLACE_EXISTING, b, 0);
    expect_at(&f, p[1], GS_PLACE_EXISTING, b, 0);
    expect_at(&f, p[2], GS_PLACE_EXISTING, a, 0);
    expect_at(&f, p[3], GS_PLACE_EXISTING, b, 0);
    expect_at(&f, p[4], GS_PLACE_EXISTING, a, 0);
    expect_at(&f, p[5], GS_PLACE_EXISTING, b, 0);
    expect_at(&f, p[6], GS_PLACE_CLAIM, 0, 0);
    assert_int_equal(f.plan.nclaims, 1);
    assert_int_equal(f.plan.usd_after - f.plan.usd_before, 1000000);
    fx_free(&f);
}

/* One 4-GPU node with 3, 1, 0, 2 replicas used: six pods go to GPUs 2, 1, 2, 1, 2, 3 (fewest
 * used; ties: the lowest index), leaving every GPU at 3. */
static void test_ts_spread_within_node(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g4", "gf", "a10g", 4, 4.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int used[4] = {3, 1, 0, 2};
    int32_t n = ts_node(&f, "n", "g4", 4, used, 4, 6, true);
    static const int want[6] = {2, 1, 2, 1, 2, 3};
    int32_t p[6];
    for (int i = 0; i < 6; i++) p[i] = pod(&f, "p", GS_GPU_SHARED, 1, NULL);
    plan_ok(&f, false);
    for (int i = 0; i < 6; i++) expect_at(&f, p[i], GS_PLACE_EXISTING, n, want[i]);
    assert_int_equal(f.plan.nclaims, 0);
    fx_free(&f);
}

/* Nodes that hold pods (or are starting) come before empty ones, whatever their replicas: an
 * empty ready node is left for consolidation while another has room. B is empty and ready
 * (first in node order), A holds a pod with 3 of 4 replicas used, C is still starting with no
 * pod yet (a launch in flight). A and C are in use and C has fewer used: p1, p2, p3 go to C
 * (0, 1, 2 < 3); B gets nothing. */
static void test_ts_empty_node_last(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int three[1] = {3}, zero[1] = {0};
    int32_t b = ts_node(&f, "b", "g1", 4, zero, 1, 0, true);
    int32_t a = ts_node(&f, "a", "g1", 4, three, 1, 1, true);
    int32_t c = ts_node(&f, "c", "g1", 4, zero, 1, 0, false);
    int32_t p1 = pod(&f, "p1", GS_GPU_SHARED, 1, NULL);
    int32_t p2 = pod(&f, "p2", GS_GPU_SHARED, 1, NULL);
    int32_t p3 = pod(&f, "p3", GS_GPU_SHARED, 1, NULL);
    plan_ok(&f, false);
    expect_at(&f, p1, GS_PLACE_EXISTING, c, 0);
    expect_at(&f, p2, GS_PLACE_EXISTING, c, 0);
    expect_at(&f, p3, GS_PLACE_EXISTING, c, 0);
    (void)a;
    (void)b;
    assert_int_equal(f.plan.nclaims, 0);
    fx_free(&f);
}

/* The same without the starting node: A (in use, 3 used) takes p1, then only empty B is
 * left: p2 goes there rather than to a new node. */
static void test_ts_empty_node_before_launch(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int three[1] = {3}, zero[1] = {0};
    int32_t b = ts_node(&f, "b", "g1", 4, zero, 1, 0, true);
    int32_t a = ts_node(&f, "a", "g1", 4, three, 1, 1, true);
    int32_t p1 = pod(&f, "p1", GS_GPU_SHARED, 1, NULL);
    int32_t p2 = pod(&f, "p2", GS_GPU_SHARED, 1, NULL);
    plan_ok(&f, false);
    expect_at(&f, p1, GS_PLACE_EXISTING, a, 0);
    expect_at(&f, p2, GS_PLACE_EXISTING, b, 0);
    assert_int_equal(f.plan.nclaims, 0);
    fx_free(&f);
}

/* Claims: six 1-replica pods, x4. Types g2 (2 GPUs, $2) and g4 (4 GPUs, $3.50): the demand
 * (1.5 GPUs) makes g2 the cheapest per usable GPU; stacked, its GPUs would hold 4 + 2; spread,
 * 3 + 3 (pod i on GPU i mod 2), same node, same $2. With g4 alone: 2 + 2 + 1 + 1 on its four
 * GPUs, $3.50 (stacking would use two and leave two idle on the node paid for). */
static void test_ts_spread_claim_gpus(void **st) {
    (void)st;
    for (int only4 = 0; only4 < 2; only4++) {
        fx f;
        fx_init(&f);
        if (!only4) add_type(&f, "g2", "gf", "a10g", 2, 2.0);
        add_type(&f, "g4", "gf", "a10g", 4, 3.5);
        pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
        int32_t p[6];
        for (int i = 0; i < 6; i++) p[i] = pod(&f, "p", GS_GPU_SHARED, 1, NULL);
        plan_ok(&f, false);
        assert_int_equal(f.plan.nclaims, 1);
        const gs_claim *cl = &f.plan.claims[0];
        int ng = only4 ? 4 : 2;
        assert_int_equal(f.plan.usd_after, only4 ? 3500000 : 2000000);
        assert_int_equal(f.cat.types[cl->itype].gpus, ng);
        assert_int_equal(cl->ngpus_used, ng);
        for (int i = 0; i < 6; i++) expect_at(&f, p[i], GS_PLACE_CLAIM, 0, i % ng);
        static const int want2[2] = {3, 3}, want4[4] = {2, 2, 1, 1};
        for (int g = 0; g < ng; g++) {
            assert_int_equal(cl->gpus[g].ts_used, only4 ? want4[g] : want2[g]);
            assert_int_equal(cl->gpus[g].pods, only4 ? want4[g] : want2[g]);
        }
        fx_free(&f);
    }
}

/* Multi-replica requests on a claim: 3, 2, 2 and 1 replicas of x4 on g2 (2 GPUs). Spread
 * largest first onto the GPU with the fewest used: 3 -> GPU 0, 2 -> GPU 1, 2 -> GPU 1 (2 < 3),
 * 1 -> GPU 0: both GPUs at exactly 4, never more. */
static void test_ts_spread_claim_multi_replica(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g2", "gf", "a10g", 2, 2.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int32_t one = pod(&f, "one", GS_GPU_SHARED, 1, NULL);
    int32_t two1 = pod(&f, "two1", GS_GPU_SHARED, 2, NULL);
    int32_t three = pod(&f, "three", GS_GPU_SHARED, 3, NULL);
    int32_t two2 = pod(&f, "two2", GS_GPU_SHARED, 2, NULL);
    plan_ok(&f, false);
    assert_int_equal(f.plan.nclaims, 1);
    expect_at(&f, three, GS_PLACE_CLAIM, 0, 0);
    expect_at(&f, two1, GS_PLACE_CLAIM, 0, 1);
    expect_at(&f, two2, GS_PLACE_CLAIM, 0, 1);
    expect_at(&f, one, GS_PLACE_CLAIM, 0, 0);
    assert_int_equal(f.plan.claims[0].gpus[0].ts_used, 4);
    assert_int_equal(f.plan.claims[0].gpus[1].ts_used, 4);
    fx_free(&f);
}

/* Randomized: nodes of 1-4 GPUs with random replicas used, CPU for 0-6 more pods, with or
 * without pods (a node with replicas used counts as in use even when no pod is listed), ready
 * or starting; 1-24 identical 1-replica pods. A brute force written here
 * (every node and GPU for every pod: nodes in use first, then fewest used replicas, then node
 * order, then GPU index) must give the packer's placements exactly, and a pod goes to a new
 * node only when no existing GPU has a replica free within the declared 4. */
static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static int rnd(int n) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (int)(rs % (uint64_t)n);
}

static void test_ts_spread_random_vs_brute(void **st) {
    (void)st;
    for (int iter = 0; iter < 300; iter++) {
        fx f;
        fx_init(&f);
        add_type(&f, "g1", "gf", "a10g", 1, 1.0);
        add_type(&f, "g2", "gf", "a10g", 2, 2.0);
        add_type(&f, "g4", "gf", "a10g", 4, 4.0);
        pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
        static const char *types[3] = {"g1", "g2", "g4"};
        int nn = 1 + rnd(8);
        int used[8][4], room[8], inuse[8], ngp[8];
        for (int i = 0; i < nn; i++) {
            int t = rnd(3);
            ngp[i] = 1 << t;
            for (int g = 0; g < 4; g++) used[i][g] = rnd(5);
            int pods = rnd(2), ready = rnd(4) != 0;
            char nm[8];
            snprintf(nm, sizeof nm, "n%d", i);
            int32_t id = ts_node(&f, nm, types[t], 4, used[i], ngp[i], pods, ready);
            room[i] = rnd(7);
            f.s.nodes[id].cpu_used = f.s.nodes[id].cpu_alloc - room[i] * 1000;
            inuse[i] = pods > 0 || !ready; /* or a GPU held (the snapshot lists no pod for it) */
            for (int g = 0; g < ngp[i]; g++) inuse[i] |= used[i][g] > 0;
        }
        int np = 1 + rnd(24);
        int32_t p[24];
        for (int k = 0; k < np; k++) p[k] = pod(&f, "p", GS_GPU_SHARED, 1, NULL);
        plan_ok(&f, false);
        int32_t to_claims = 0;
        for (int k = 0; k < np; k++) {
            int bn = -1, bg = -1;
            for (int i = 0; i < nn; i++) {
                if (room[i] < 1) continue;
                for (int g = 0; g < ngp[i]; g++) {
                    if (used[i][g] >= 4) continue;
                    bool better = bn < 0 || inuse[i] > inuse[bn] ||
                                  (inuse[i] == inuse[bn] && used[i][g] < used[bn][bg]);
                    if (better) {
                        bn = i;
                        bg = g;
                    }
                }
            }
            const gs_placement *x = where(&f, p[k]);
            if (bn < 0) {
                assert_int_equal(x->kind, GS_PLACE_CLAIM);
                to_claims++;
                continue;
            }
            if (x->kind != GS_PLACE_EXISTING || x->target != bn || x->gpu != bg)
                fail_msg("iter %d pod %d: packer kind %d node %d gpu %d, brute force node %d gpu %d", iter, k,
                         (int)x->kind, x->target, x->gpu, bn, bg);
            used[bn][bg]++;
            room[bn]--;
            inuse[bn] = 1;
        }
        assert_int_equal(f.plan.placed_claims, to_claims);
        fx_free(&f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_spread_across_nodes),
        cmocka_unit_test(test_ts_spread_within_node),
        cmocka_unit_test(test_ts_empty_node_last),
        cmocka_unit_test(test_ts_empty_node_before_launch),
        cmocka_unit_test(test_ts_spread_claim_gpus),
        cmocka_unit_test(test_ts_spread_claim_multi_replica),
        cmocka_unit_test(test_ts_spread_random_vs_brute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
