/* The packer (src/policy/pack), continued: switching idle WHOLE GPUs of existing nodes to
 * their pool's time-slicing or fractional mode (gs_pack_input.switch_modes), and the ordering
 * of "+me" MIG pods (both orders are planned, the cheaper kept). Small hand-checked cases;
 * instance types are made up here so prices are known exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"
#include "policy/mig.h"
#include "policy/pack.h"
#include "policy/pack_frag.h"

#include "pack_fixture.h"

/* A budget gate with state, like gs_budget_gate: approvals add up against a limit. */
typedef struct spend_gate {
    gs_usd_u limit, approved;
    int calls;
} spend_gate;

static bool spend_gate_fn(void *ctx, const char *project, gs_usd_u usd, char *why, size_t why_len) {
    (void)project;
    spend_gate *g = ctx;
    g->calls++;
    if (g->approved + usd > g->limit) {
        snprintf(why, why_len, "over");
        return false;
    }
    g->approved += usd;
    return true;
}


/* ---------------------------------------------------------------- time-slicing */

/* A time-slicing x4 pool's node with GPU 0 idle and WHOLE, GPU 1 held by a whole-GPU pod:
 * three 1-replica pods and one 1-replica pod more. GPU 0 switches to time-slicing x4 and takes
 * all four (3 + 1 = 4 = the declared replicas); GPU 1 is never touched; no launch. */
static void test_ts_switch_idle_whole_gpu(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g2", "gf", "a10g", 2, 2.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int32_t n0 = node(&f, "n0", "g2", 0);
    f.s.nodes[n0].gpus[1].whole_used = true; /* a running whole-GPU pod */
    f.s.nodes[n0].gpus[1].pods = 1;
    int32_t p[4];
    for (int i = 0; i < 4; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "p%d", i);
        p[i] = pod(&f, nm, GS_GPU_SHARED, 1, NULL);
    }
    plan_ok(&f, true);
    assert_int_equal(f.plan.nclaims, 0);
    assert_int_equal(f.plan.nreparts, 1);
    const gs_repartition *r = &f.plan.reparts[0];
    assert_int_equal(r->node, n0);
    assert_int_equal(r->gpu, 0);
    assert_int_equal(r->mode_before, GS_GPUMODE_WHOLE);
    assert_int_equal(r->mode_after, GS_GPUMODE_TIMESLICED);
    assert_int_equal(r->ts_replicas, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(where(&f, p[i])->kind, GS_PLACE_EXISTING);
        assert_int_equal(where(&f, p[i])->gpu, 0);
    }
    assert_int_equal(f.plan.usd_after, f.plan.usd_before);
    /* layout locked: GPU 0 stays WHOLE, the four pods go to a launch */
    f.s.nodes[n0].layout_locked = true;
    plan_ok(&f, true);
    assert_int_equal(f.plan.nreparts, 0);
    for (int i = 0; i < 4; i++) assert_int_equal(where(&f, p[i])->kind, GS_PLACE_CLAIM);
    fx_free(&f);
}

/* Never more than the declared replicas: a x2 pool, one idle GPU, three 1-replica pods and a
 * 3-replica pod. Two go on the switched GPU, the third on a claim; the 3-replica pod cannot be
 * placed anywhere (it would overcommit any GPU of the pool) and switches nothing. */
static void test_ts_switch_no_overcommit(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 2);
    int32_t n0 = node(&f, "n0", "g1", 0);
    int32_t big = pod(&f, "big", GS_GPU_SHARED, 3, NULL);
    int32_t a = pod(&f, "a", GS_GPU_SHARED, 1, NULL), b = pod(&f, "b", GS_GPU_SHARED, 1, NULL);
    int32_t c = pod(&f, "c", GS_GPU_SHARED, 1, NULL);
    plan_ok(&f, true);
    assert_int_equal(where(&f, big)->kind, GS_PLACE_NONE);
    int on_node = 0;
    int32_t ids[3] = {a, b, c};
    for (int i = 0; i < 3; i++) on_node += where(&f, ids[i])->kind == GS_PLACE_EXISTING;
    assert_int_equal(on_node, 2);
    assert_int_equal(f.plan.nclaims, 1);
    assert_int_equal(f.plan.claims[0].gpus[0].ts_used, 1);
    assert_int_equal(f.plan.nreparts, 1);
    assert_int_equal(f.plan.reparts[0].node, n0);
    assert_int_equal(f.plan.reparts[0].ts_replicas, 2);
    fx_free(&f);
}

/* A GPU already time-sliced with room is used before an idle GPU is switched, even when the
 * node with the idle GPU comes first; a GPU with any pod is never switched; without
 * switch_modes nothing is switched and a node is launched (callers that apply MIG only). */
static void test_ts_switch_prefers_room_and_opt_in(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "gf", 4);
    int32_t idle = node(&f, "idle", "g1", 0);
    int32_t shared = node(&f, "shared", "g1", 0);
    gs_gpu_state *g = &f.s.nodes[shared].gpus[0];
    g->mode = GS_GPUMODE_TIMESLICED;
    g->ts_replicas = 4;
    g->ts_used = 2;
    g->pods = 2;
    int32_t busy = node(&f, "busy", "g1", 0);
    f.s.nodes[busy].gpus[0].pods = 1; /* WHOLE mode but a pod holds it */
    f.s.nodes[busy].gpus[0].whole_used = true;
    int32_t a = pod(&f, "a", GS_GPU_SHARED, 2, NULL);
    plan_ok(&f, true);
    assert_int_equal(where(&f, a)->kind, GS_PLACE_EXISTING);
    assert_int_equal(where(&f, a)->target, shared);
    assert_int_equal(f.plan.nreparts, 0);
    /* a second pod of 2 finds no room left: the idle GPU is switched, not the busy one */
    int32_t b = pod(&f, "b", GS_GPU_SHARED, 2, NULL);
    plan_ok(&f, true);
    assert_int_equal(where(&f, b)->kind, GS_PLACE_EXISTING);
    assert_int_equal(f.plan.nreparts, 1);
    assert_int_equal(f.plan.reparts[0].node, idle);
    assert_int_equal(where(&f, a)->target, shared); /* a comes first (same size, lower index) */
    assert_int_equal(where(&f, b)->target, idle);
    /* opt-out: the same snapshot launches a node instead */
    plan_ok(&f, false);
    assert_int_equal(f.plan.nreparts, 0);
    assert_int_equal(f.plan.nclaims, 1);
    fx_free(&f);
}

/* Each pod switches only a GPU of a pool sharing its way: a fractional pool's node (first)
 * and a time-slicing pool's node, each with one idle WHOLE GPU; a time-sliced pod switches the
 * second node's GPU to time-slicing, a milli-GPU pod the first node's to fractional. */
static void test_switch_only_to_own_pool_mode(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "f1", "ff", "l40s", 1, 2.0);
    add_type(&f, "t1", "tf", "a10g", 1, 1.0);
    pool(&f, "frac", GS_SHARE_FRACTIONAL, "ff", 0);
    pool(&f, "ts", GS_SHARE_TIMESLICING, "tf", 3);
    int32_t nf = node(&f, "nf", "f1", 0);
    int32_t nt = node(&f, "nt", "t1", 1);
    int32_t s = pod(&f, "s", GS_GPU_SHARED, 1, NULL);
    int32_t m = pod(&f, "m", GS_GPU_FRACTION, 100, NULL); /* after s (smaller share) */
    plan_ok(&f, true);
    assert_int_equal(f.plan.nclaims, 0);
    assert_int_equal(where(&f, s)->target, nt);
    assert_int_equal(where(&f, m)->target, nf);
    assert_int_equal(f.plan.nreparts, 2);
    for (int i = 0; i < 2; i++) {
        const gs_repartition *r = &f.plan.reparts[i];
        if (r->node == nt) {
            assert_int_equal(r->mode_after, GS_GPUMODE_TIMESLICED);
            assert_int_equal(r->ts_replicas, 3);
        } else {
            assert_int_equal(r->node, nf);
            assert_int_equal(r->mode_after, GS_GPUMODE_FRACTIONAL);
        }
    }
    fx_free(&f);
}

/* ---------------------------------------------------------------- fractional */

/* A fractional pool's node with two idle WHOLE GPUs: 600m and 300m share the first switched
 * GPU (900m), 500m does not fit beside them and switches the second; 100m goes to the tightest
 * GPU (the first, 100m left -> full). No launch, two mode switches. */
static void test_fractional_switch(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g2", "gf", "a10g", 2, 2.0);
    pool(&f, "frac", GS_SHARE_FRACTIONAL, "gf", 0);
    int32_t n0 = node(&f, "n0", "g2", 0);
    int32_t a = pod(&f, "a", GS_GPU_FRACTION, 600, NULL), b = pod(&f, "b", GS_GPU_FRACTION, 300, NULL);
    int32_t c = pod(&f, "c", GS_GPU_FRACTION, 500, NULL), d = pod(&f, "d", GS_GPU_FRACTION, 100, NULL);
    plan_ok(&f, true);
    assert_int_equal(f.plan.nclaims, 0);
    assert_int_equal(f.plan.nreparts, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(f.plan.reparts[i].node, n0);
        assert_int_equal(f.plan.reparts[i].mode_before, GS_GPUMODE_WHOLE);
        assert_int_equal(f.plan.reparts[i].mode_after, GS_GPUMODE_FRACTIONAL);
    }
    int ga = where(&f, a)->gpu;
    assert_int_equal(where(&f, b)->gpu, ga);
    assert_int_not_equal(where(&f, c)->gpu, ga);
    assert_int_equal(where(&f, d)->gpu, ga);
    fx_free(&f);
}

/* ---------------------------------------------------------------- "+me" MIG pods */

/* 8-GPU H100 type at $8/h and a 1-GPU one at $1.5/h, MIG pool. Pending: eight 4g.40gb,
 * eight 3g.40gb, eight 1g.10gb+me.
 * By share (4g, 3g, then the +me): 4g@0 + 3g@4 fill the 8 GPUs of a first 8-GPU node
 * (7/7 compute slices each); the +me pods, one per GPU, need 8 more GPUs: a second 8-GPU
 * node ($8 for 8 GPUs beats 8 x $1.5). Total $16.
 * +me first: each +me takes a GPU of one 8-GPU node, the 4g go beside them (4 + 1 compute
 * slices); a 3g cannot join (4 + 3 + 1 > 7), so the eight 3g need four more GPUs: 4 x $1.5
 * = $6 beats $8. Total $14: the packer keeps this plan. */
static void test_me_order_cheaper_plan_kept(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h8", "hf", "h100-80gb", 8, 8.0);
    add_type(&f, "h1", "hf", "h100-80gb", 1, 1.5);
    pool(&f, "mig", GS_SHARE_MIG, "hf", 0);
    for (int i = 0; i < 8; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "a%d", i);
        pod(&f, nm, GS_GPU_MIG, 1, "4g.40gb");
        snprintf(nm, sizeof nm, "b%d", i);
        pod(&f, nm, GS_GPU_MIG, 1, "3g.40gb");
        snprintf(nm, sizeof nm, "c%d", i);
        pod(&f, nm, GS_GPU_MIG, 1, "1g.10gb+me");
    }
    plan_ok(&f, false);
    assert_int_equal(f.plan.nunsched, 0);
    assert_int_equal(f.plan.usd_after, 14000000);
    int n8 = 0, n1 = 0;
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    for (int32_t i = 0; i < f.plan.nclaims; i++) {
        const gs_claim *cl = &f.plan.claims[i];
        if (cl->ngpus_used > 1) n8++; else n1++;
        for (int g = 0; g < cl->ngpus; g++) {
            const gs_gpu_state *x = &cl->gpus[g];
            int me = 0;
            for (int k = 0; k < x->nparts; k++) me += m->profiles[x->parts[k].profile].media_ext;
            assert_true(me <= 1);
            assert_true(gs_mig_valid(m, x->parts, x->nparts, NULL));
        }
    }
    assert_int_equal(n8, 1);
    assert_int_equal(n1, 4);
    /* deterministic: the same input gives the same plan */
    gs_usd_u first = f.plan.usd_after;
    int32_t nc = f.plan.nclaims;
    plan_ok(&f, false);
    assert_int_equal(f.plan.usd_after, first);
    assert_int_equal(f.plan.nclaims, nc);
    fx_free(&f);
}

/* ---------------------------------------------------------------- FGD: memory strands GPUs */

/* One task type needing 4000 MiB of memory and a whole GPU. A node whose free memory is below
 * 4000 cannot take it: its two idle GPUs are all fragment (2 x 1000 x weight 1 = 2000). A
 * CPU-only pod of 7000 MiB goes where it leaves enough memory for the type (node 1, 20000
 * MiB) rather than to node 0 (10000 -> 3000 MiB), although node 0 comes first and both look
 * alike to GPU and CPU. */
static void test_frag_memory_strands_gpus(void **st) {
    (void)st;
    gs_frag_type types[1] = {{{1000, 4000, 1, 1000}, 1}};
    gs_frag_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    for (int i = 0; i < 2; i++) {
        nodes[i].cpu_free = 8000;
        nodes[i].ngpus = 2;
        nodes[i].gpu_free[0] = nodes[i].gpu_free[1] = 1000;
    }
    nodes[0].mem_free = 10000;
    nodes[1].mem_free = 20000;
    gs_frag_state s;
    assert_int_equal(gs_frag_init(&s, nodes, 2, types, 1), 0);
    assert_int_equal(gs_frag_node_frag(&s, &nodes[0]), 0);
    gs_frag_node low = nodes[0];
    low.mem_free = 3000;
    assert_int_equal(gs_frag_node_frag(&s, &low), 2000);
    gs_frag_task t = {100, 7000, 0, 0};
    uint64_t rng = 1;
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 1);
    assert_int_equal(nodes[1].mem_free, 13000);
    assert_int_equal(nodes[0].mem_free, 10000);
    gs_frag_free(&s);
}

/* The same +me mix with a budget gate that keeps state (approvals add up to a $14 limit): the
 * two orders are compared without the gate and only the plan returned asks it, once per claim
 * (5 claims, $14 approved in all); asking it for both plans would have spent the limit on the
 * first and refused the second's claims. */
static void test_me_order_with_stateful_gate(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h8", "hf", "h100-80gb", 8, 8.0);
    add_type(&f, "h1", "hf", "h100-80gb", 1, 1.5);
    pool(&f, "mig", GS_SHARE_MIG, "hf", 0);
    for (int i = 0; i < 8; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "a%d", i);
        pod(&f, nm, GS_GPU_MIG, 1, "4g.40gb");
        snprintf(nm, sizeof nm, "b%d", i);
        pod(&f, nm, GS_GPU_MIG, 1, "3g.40gb");
        snprintf(nm, sizeof nm, "c%d", i);
        pod(&f, nm, GS_GPU_MIG, 1, "1g.10gb+me");
    }
    spend_gate g = {14000000, 0, 0};
    plan_gated(&f, false, spend_gate_fn, &g);
    assert_int_equal(f.plan.nunsched, 0);
    assert_int_equal(f.plan.usd_after, 14000000);
    assert_int_equal(f.plan.nclaims, 5);
    assert_int_equal(g.calls, 5);
    assert_int_equal(g.approved, 14000000);
    fx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_switch_idle_whole_gpu),
        cmocka_unit_test(test_ts_switch_no_overcommit),
        cmocka_unit_test(test_ts_switch_prefers_room_and_opt_in),
        cmocka_unit_test(test_switch_only_to_own_pool_mode),
        cmocka_unit_test(test_fractional_switch),
        cmocka_unit_test(test_me_order_cheaper_plan_kept),
        cmocka_unit_test(test_me_order_with_stateful_gate),
        cmocka_unit_test(test_frag_memory_strands_gpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
