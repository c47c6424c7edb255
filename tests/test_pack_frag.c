/* Fractional placement (src/policy/pack_frag): the FGD artifact's scoring (GS_FRAG_FGD_PAPER),
 * its fragmentation with CPU-only task types (opts.paper), ties to the first node
 * (opts.first_ties) against ties at random, gpuscale's own tie order, and gpuscale's one-step
 * lookahead (opts.lookahead). Small cases whose numbers are worked out by hand in the
 * comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/pack_frag.h"

static gs_frag_node node1(int32_t cpu, int n, int16_t g0, int16_t g1) {
    gs_frag_node x;
    memset(&x, 0, sizeof x);
    x.cpu_free = cpu;
    x.mem_free = 100000;
    x.ngpus = (uint8_t)n;
    x.gpu_free[0] = g0;
    x.gpu_free[1] = g1;
    return x;
}

/* Types: A = 1 sharing GPU of 500 milli (weight 3), B = CPU-only (weight 1).
 * Node X: one idle GPU. Node Y: one GPU with 600 free.
 * Artifact's F (opts.paper): A fits both (no GPU below 500 free: 0); B counts all free GPU
 * whether it fits or not: X = 1 x 1000 = 1000, Y = 1 x 600 = 600.
 * gpuscale's F: B fits (CPU) so it counts 0: X = Y = 0.
 * A 500-milli pod: on X, F goes 1000 -> 500 (A still fits at 500; B counts 500):
 * x = (1000-500)/(4 x 1000) = 0.125, 100 sigmoid(0.125) = 53.12 -> 53. On Y, 600 -> 100 left:
 * A no longer fits (3 x 100) and B counts 100: F = 400, x = (600-400)/4000 = 0.05 -> 51.
 * X wins. */
static void test_paper_fragmentation_and_score(void **st) {
    (void)st;
    gs_frag_type types[2] = {{{1000, 0, 1, 500}, 3}, {{1000, 0, 0, 0}, 1}};
    gs_frag_node nodes[2] = {node1(8000, 1, 1000, 0), node1(8000, 1, 600, 0)};
    gs_frag_state s;
    gs_frag_opts o = {.paper = true, .first_ties = true};
    assert_int_equal(gs_frag_init_opts(&s, nodes, 2, types, 2, &o), 0);
    assert_int_equal(s.wsum, 4);
    assert_int_equal(gs_frag_node_frag(&s, &nodes[0]), 1000);
    assert_int_equal(gs_frag_node_frag(&s, &nodes[1]), 600);
    gs_frag_node y_after = nodes[1];
    y_after.gpu_free[0] = 100;
    assert_int_equal(gs_frag_node_frag(&s, &y_after), 400);
    gs_frag_task t = {1000, 0, 1, 500};
    uint64_t rng = 1;
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD_PAPER, &t, &rng), 0);
    assert_int_equal(nodes[0].gpu_free[0], 500);
    assert_int_equal(nodes[0].cpu_free, 7000);
    assert_int_equal(nodes[1].gpu_free[0], 600);
    gs_frag_free(&s);

    /* the same nodes, gpuscale's F: a CPU-only type that fits counts nothing */
    gs_frag_node fresh[2] = {node1(8000, 1, 1000, 0), node1(8000, 1, 600, 0)};
    assert_int_equal(gs_frag_init(&s, fresh, 2, types, 2), 0);
    assert_int_equal(gs_frag_node_frag(&s, &fresh[0]), 0);
    assert_int_equal(gs_frag_node_frag(&s, &fresh[1]), 0);
    /* ...until its CPU does not fit: then all free GPU counts for it too (1 x 600), and for A
     * (3 x 600) */
    fresh[1].cpu_free = 500;
    assert_int_equal(gs_frag_node_frag(&s, &fresh[1]), 4 * 600);
    gs_frag_free(&s);
}

/* One type, a 500-milli sharing pod (weight 1). Node P: two idle GPUs. Node Q: GPUs with 1000
 * and 520 free. A 500 pod:
 *  - P, either GPU: 500 left, nothing below 500: F 0 -> 0, score int(100 sigmoid(0)) = 50;
 *  - Q, GPU 0: 500 and 520 left: F 0 -> 0, score 50;
 *  - Q, GPU 1: 20 left, a fragment: F 0 -> 20, x = -0.02, 100 sigmoid = 49.5 -> 49.
 * The artifact's plugin keeps Q's first GPU with the best score (GPU 0, 50): P and Q tie at 50
 * and the first node in the array wins, whichever it is. gpuscale's exact F ties P and Q-GPU0
 * too (both 0) and takes the node left with less free GPU: Q (1020 left against 1500). */
static void test_paper_ties_and_gpu_choice(void **st) {
    (void)st;
    gs_frag_type types[1] = {{{0, 0, 1, 500}, 1}};
    gs_frag_task t = {100, 0, 1, 500};
    gs_frag_opts o = {.paper = false, .first_ties = true};
    uint64_t rng = 7;
    gs_frag_state s;

    gs_frag_node pq[2] = {node1(8000, 2, 1000, 1000), node1(8000, 2, 1000, 520)};
    assert_int_equal(gs_frag_init_opts(&s, pq, 2, types, 1, &o), 0);
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD_PAPER, &t, &rng), 0);
    assert_int_equal(pq[0].gpu_free[0], 500);
    assert_int_equal(pq[0].gpu_free[1], 1000);
    gs_frag_free(&s);

    gs_frag_node qp[2] = {node1(8000, 2, 1000, 520), node1(8000, 2, 1000, 1000)};
    assert_int_equal(gs_frag_init_opts(&s, qp, 2, types, 1, &o), 0);
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD_PAPER, &t, &rng), 0);
    assert_int_equal(qp[0].gpu_free[0], 500); /* GPU 0, not the best-fit GPU 1 */
    assert_int_equal(qp[0].gpu_free[1], 520);
    gs_frag_free(&s);

    gs_frag_node pq2[2] = {node1(8000, 2, 1000, 1000), node1(8000, 2, 1000, 520)};
    assert_int_equal(gs_frag_init(&s, pq2, 2, types, 1), 0);
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 1);
    assert_int_equal(pq2[1].gpu_free[0], 500);
    assert_int_equal(pq2[1].gpu_free[1], 520);
    gs_frag_free(&s);
}

/* gpuscale's ties: equal F growth, then the GPU left with the least free share, then the node
 * left with the least free GPU, then the first node. Type: a 300 sharing pod (weight 1). A 200
 * pod on node 0 (one GPU, 1000 free) leaves 800; on node 1 (GPUs 1000 and 700) it can leave
 * 500 on GPU 1 or 800 on GPU 0; neither leaves a GPU below 300, so F stays 0 everywhere: GPU 1
 * of node 1 wins (500 is the least free share left). With two identical nodes, the first. */
static void test_gpuscale_tie_order(void **st) {
    (void)st;
    gs_frag_type types[1] = {{{0, 0, 1, 300}, 1}};
    gs_frag_task t = {100, 0, 1, 200};
    uint64_t rng = 3;
    gs_frag_state s;
    gs_frag_node a[2] = {node1(8000, 1, 1000, 0), node1(8000, 2, 1000, 700)};
    assert_int_equal(gs_frag_init(&s, a, 2, types, 1), 0);
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 1);
    assert_int_equal(a[1].gpu_free[1], 500);
    assert_int_equal(a[1].gpu_free[0], 1000);
    gs_frag_free(&s);

    gs_frag_node b[2] = {node1(8000, 2, 1000, 1000), node1(8000, 2, 1000, 1000)};
    assert_int_equal(gs_frag_init(&s, b, 2, types, 1), 0);
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 0);
    assert_int_equal(b[0].gpu_free[0], 800);
    gs_frag_free(&s);
}

/* BestFit between two identical nodes: with first_ties always the first; at random (the
 * default), both come up over a few seeds, and the same seed gives the same node. */
static void test_bestfit_ties(void **st) {
    (void)st;
    gs_frag_type types[1] = {{{0, 0, 1, 1000}, 1}};
    gs_frag_task t = {1000, 0, 1, 1000};
    int seen[2] = {0, 0};
    for (uint64_t seed = 1; seed <= 16; seed++) {
        for (int first = 0; first < 2; first++) {
            gs_frag_node n[2] = {node1(8000, 1, 1000, 0), node1(8000, 1, 1000, 0)};
            gs_frag_state s;
            gs_frag_opts o = {.first_ties = first == 1};
            assert_int_equal(gs_frag_init_opts(&s, n, 2, types, 1, &o), 0);
            uint64_t rng = seed, rng2 = seed;
            int32_t got = gs_frag_place(&s, GS_FRAG_BESTFIT, &t, &rng);
            if (first) {
                assert_int_equal(got, 0);
            } else {
                seen[got]++;
                gs_frag_node m[2] = {node1(8000, 1, 1000, 0), node1(8000, 1, 1000, 0)};
                gs_frag_state s2;
                assert_int_equal(gs_frag_init_opts(&s2, m, 2, types, 1, &o), 0);
                assert_int_equal(gs_frag_place(&s2, GS_FRAG_BESTFIT, &t, &rng2), got);
                gs_frag_free(&s2);
            }
            gs_frag_free(&s);
        }
    }
    assert_true(seen[0] > 0);
    assert_true(seen[1] > 0);
}

/* gpuscale's one-step lookahead. Types: A = a sharing pod of 800 milli (weight 3), B = one of
 * 300 (weight 1); wsum 4. One node, GPUs [1000, 800]; a 300 pod arrives.
 * F now: A fits, no GPU below 800 free; B fits: F = 0.
 *  a) on the 800 GPU -> [1000, 500]: A counts the 500 (3 x 500): F = 1500, growth 1500;
 *  b) on the 1000 GPU -> [700, 800]: A counts the 700: F = 2100, growth 2100.
 * Plain FGD takes a). The lookahead adds, per type, weight x (the next pod's least F growth
 * after - now) / wsum. Now: an A pod at best goes on the 800 GPU -> [1000, 0], F 0: growth 0;
 * a B pod at best 1500 (a) above). After a): an A pod can only go on the 1000 GPU ->
 * [200, 500]: A no longer fits (3 x 700) and B counts the 200: F 2300, growth 800; a B pod at
 * best on the 500 GPU -> [1000, 200]: A 3 x 200, B 200: F 800, growth -700. Term a) =
 * (3 x (800 - 0) + 1 x (-700 - 1500)) / 4 = 50. After b): an A pod on the 800 GPU -> [700, 0]:
 * F 2100, growth 0; a B pod at best on the 700 GPU -> [400, 800]: F 1200, growth -900. Term
 * b) = (3 x 0 + (-900 - 1500)) / 4 = -600. With weight p (percent): a) 1500 + 0.5 p, b) 2100
 * - 6 p: b) wins for p > 92.3 (gpuscale's policy), a) for p = 50. */
static void test_lookahead_keeps_an_exact_fit(void **st) {
    (void)st;
    gs_frag_type types[2] = {{{0, 0, 1, 800}, 3}, {{0, 0, 1, 300}, 1}};
    gs_frag_task t = {1000, 0, 1, 300};
    uint64_t rng = 1;
    gs_frag_state s;
    for (int v = 0; v < 4; v++) {
        gs_frag_node n[1] = {node1(8000, 2, 1000, 800)};
        gs_frag_opts o = GS_FRAG_OPTS_GPUSCALE;
        if (v == 1) o = (gs_frag_opts){0}; /* plain FGD */
        if (v == 2) o.lookahead_pct = 50;  /* too little weight to change FGD's choice */
        if (v == 3) o.lookahead = 1;       /* one candidate: nothing to re-score */
        assert_int_equal(gs_frag_init_opts(&s, n, 1, types, 2, &o), 0);
        assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 0);
        if (v == 0) {
            assert_int_equal(n[0].gpu_free[0], 700);
            assert_int_equal(n[0].gpu_free[1], 800);
            assert_int_equal(s.F[0], 2100);
        } else {
            assert_int_equal(n[0].gpu_free[0], 1000);
            assert_int_equal(n[0].gpu_free[1], 500);
            assert_int_equal(s.F[0], 1500);
        }
        gs_frag_free(&s);
    }
}

/* The lookahead's odds of the next arrival: by count when every type has one. The case above
 * with counts A = 1, B = 3 (odds 1/4, 3/4 instead of the weights' 3/4, 1/4): term a) =
 * (1 x 800 + 3 x (-2200)) / 4 = -1450, term b) = (1 x 0 + 3 x (-2400)) / 4 = -1800. At
 * p = 150 %: a) 1500 - 2175 = -675, b) 2100 - 2700 = -600: a) wins; by the weights,
 * a) 1500 + 75 = 1575, b) 2100 - 900 = 1200: b) wins. A type without a count makes the
 * weights count again. */
static void test_lookahead_odds_by_count(void **st) {
    (void)st;
    gs_frag_task t = {1000, 0, 1, 300};
    uint64_t rng = 1;
    gs_frag_state s;
    for (int v = 0; v < 3; v++) {
        gs_frag_type types[2] = {{{0, 0, 1, 800}, 3, 1}, {{0, 0, 1, 300}, 1, 3}};
        if (v == 1) types[1].count = 0;
        if (v == 2) types[0].count = types[1].count = 0;
        gs_frag_node n[1] = {node1(8000, 2, 1000, 800)};
        gs_frag_opts o = {.lookahead = 12, .lookahead_pct = 150};
        assert_int_equal(gs_frag_init_opts(&s, n, 1, types, 2, &o), 0);
        assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 0);
        assert_int_equal(n[0].gpu_free[0], v == 0 ? 1000 : 700);
        assert_int_equal(n[0].gpu_free[1], v == 0 ? 500 : 800);
        gs_frag_free(&s);
    }
}

/* The same node 0 and a node 1 with one GPU of 800 free and 500 milli-CPU: the 300 pod (1000
 * milli-CPU) cannot go there, but an A pod (no CPU) can, with growth 0. The lookahead counts the
 * next pod's best placement on the other nodes too: after a) an A pod still has node 1 (0, not
 * 800): term a) = (3 x 0 + (-700 - 1500)) / 4 = -550; after b): (3 x 0 + (-900 - 1500)) / 4 =
 * -600 (a B pod's best now is 1500 on either node). At p = 700: a) 1500 - 3850 = -2350,
 * b) 2100 - 4200 = -2100: a) wins, as plain FGD; b) only beyond p = 1200. */
static void test_lookahead_counts_other_nodes(void **st) {
    (void)st;
    gs_frag_type types[2] = {{{0, 0, 1, 800}, 3}, {{0, 0, 1, 300}, 1}};
    gs_frag_task t = {1000, 0, 1, 300};
    uint64_t rng = 1;
    gs_frag_state s;
    for (int v = 0; v < 2; v++) {
        gs_frag_node n[2] = {node1(8000, 2, 1000, 800), node1(500, 1, 800, 0)};
        gs_frag_opts o = {.lookahead = 8, .lookahead_pct = v == 0 ? 700 : 1300};
        assert_int_equal(gs_frag_init_opts(&s, n, 2, types, 2, &o), 0);
        assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 0);
        assert_int_equal(n[0].gpu_free[0], v == 0 ? 1000 : 700);
        assert_int_equal(n[0].gpu_free[1], v == 0 ? 500 : 800);
        assert_int_equal(n[1].gpu_free[0], 800);
        assert_int_equal(n[1].cpu_free, 500);
        gs_frag_free(&s);
    }
}

/* The lookahead's state follows the placements: a run of pods placed one by one gives the
 * same choices as a fresh state built on the nodes before each pod (so nothing stale is
 * carried from one placement to the next). Random small clusters and pods, seeded. */
static void test_lookahead_incremental_matches_fresh(void **st) {
    (void)st;
    uint64_t r = 42;
    for (int round = 0; round < 40; round++) {
        gs_frag_type types[4];
        for (int m = 0; m < 4; m++) {
            int32_t ng = (int32_t)(gs_frag_rand(&r) % 3);
            int32_t milli = ng == 1 ? (int32_t)(100 * (1 + gs_frag_rand(&r) % 10)) : ng > 1 ? 1000 : 0;
            types[m] = (gs_frag_type){{(int32_t)(1000 * (gs_frag_rand(&r) % 4)), 0, ng, milli},
                                      (int64_t)(1 + gs_frag_rand(&r) % 5)};
        }
        gs_frag_node a[5], b[5];
        for (int i = 0; i < 5; i++) {
            a[i] = node1((int32_t)(2000 + 1000 * (gs_frag_rand(&r) % 6)), 2, 1000, 1000);
            if (gs_frag_rand(&r) % 2) a[i].ngpus = 1;
        }
        memcpy(b, a, sizeof a);
        gs_frag_state inc;
        gs_frag_opts o = GS_FRAG_OPTS_GPUSCALE;
        assert_int_equal(gs_frag_init_opts(&inc, a, 5, types, 4, &o), 0);
        for (int q = 0; q < 12; q++) {
            gs_frag_task t = types[gs_frag_rand(&r) % 4].t;
            t.cpu = t.cpu > 0 ? t.cpu : 500;
            gs_frag_state fresh;
            assert_int_equal(gs_frag_init_opts(&fresh, b, 5, types, 4, &o), 0);
            uint64_t x = 1, y = 1;
            int32_t want = gs_frag_place(&fresh, GS_FRAG_FGD, &t, &x);
            gs_frag_free(&fresh);
            assert_int_equal(gs_frag_place(&inc, GS_FRAG_FGD, &t, &y), want);
            assert_memory_equal(a, b, sizeof a);
        }
        gs_frag_free(&inc);
    }
}

/* Nothing fits: -1 and nothing changes, for every policy. */
static void test_no_fit(void **st) {
    (void)st;
    gs_frag_type types[1] = {{{0, 0, 1, 500}, 1}};
    gs_frag_task big = {1000, 0, 2, 1000};
    for (int p = 0; p < 3; p++) {
        gs_frag_node n[1] = {node1(8000, 2, 1000, 600)};
        gs_frag_state s;
        gs_frag_opts o = {.paper = p == 2};
        assert_int_equal(gs_frag_init_opts(&s, n, 1, types, 1, &o), 0);
        uint64_t rng = 1;
        assert_int_equal(gs_frag_place(&s, (gs_frag_policy)p, &big, &rng), -1);
        assert_int_equal(n[0].gpu_free[0], 1000);
        assert_int_equal(n[0].gpu_free[1], 600);
        assert_int_equal(n[0].cpu_free, 8000);
        gs_frag_free(&s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_fragmentation_and_score),
        cmocka_unit_test(test_paper_ties_and_gpu_choice),
        cmocka_unit_test(test_gpuscale_tie_order),
        cmocka_unit_test(test_bestfit_ties),
        cmocka_unit_test(test_lookahead_keeps_an_exact_fit),
        cmocka_unit_test(test_lookahead_odds_by_count),
        cmocka_unit_test(test_lookahead_counts_other_nodes),
        cmocka_unit_test(test_lookahead_incremental_matches_fresh),
        cmocka_unit_test(test_no_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
