/* The packer's fractional mode IS gpuscale's FGD policy: a random arrival sequence of
 * fractional (milli-GPU) pods replayed one pod at a time through gs_pack_plan (each placement
 * then bound in the snapshot) and through gs_frag_place (GS_FRAG_FGD, GS_FRAG_OPTS_GPUSCALE)
 * with the same task types and node order gives the same node and GPU every time, and the
 * same refusals. The same replay against plain FGD (lookahead off on the gs_frag_place side)
 * must differ somewhere: the comparison can fail. Plus small cases: the caller's target
 * workload, candidates the packer filters out (taints, selectors), and a pod of another form
 * placed on a fractional node first (the FGD state follows it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/gpu.h"
#include "policy/pack.h"
#include "policy/pack_frag.h"

#include "pack_fixture.h"

#define NNODES 30
#define NARRIVE 300
#define NSHAPES 4

/* A node of pool 0 whose GPUs are all FRACTIONAL and idle, with the given CPU and memory. */
static int32_t frac_node(fx *f, const char *name, const char *itype, gs_mcpu cpu, gs_mib mem) {
    int32_t n = node(f, name, itype, 0);
    gs_node *x = &f->s.nodes[n];
    x->cpu_alloc = cpu;
    x->mem_alloc = mem;
    for (int g = 0; g < x->ngpus; g++) x->gpus[g].mode = GS_GPUMODE_FRACTIONAL;
    return n;
}

static int32_t frac_pod(fx *f, const char *name, const gs_frag_task *t) {
    int32_t p = pod(f, name, GS_GPU_FRACTION, t->milli, NULL);
    f->s.pods[p].spec.cpu = t->cpu;
    f->s.pods[p].spec.mem = t->mem;
    return p;
}

/* Binds pending pod p where the plan put it (node usage as a snapshot reports it). */
static void bind(fx *f, int32_t p, int32_t node_i, int8_t gpu) {
    gs_pod *pd = &f->s.pods[p];
    gs_node *n = &f->s.nodes[node_i];
    pd->phase = GS_POD_RUNNING;
    pd->node = node_i;
    pd->gpu = gpu;
    n->cpu_used += pd->spec.cpu;
    n->mem_used += pd->spec.mem;
    n->pods++;
    if (pd->spec.gpu.form == GS_GPU_FRACTION) {
        n->gpus[gpu].milli_used = (int16_t)(n->gpus[gpu].milli_used + pd->spec.gpu.milli);
        n->gpus[gpu].pods++;
    }
}

static void plan_types(fx *f, const gs_frag_type *types, int32_t ntypes) {
    gs_pack_input in = {.snap = &f->s, .pools = f->pools, .npools = f->npools, .catalog = &f->cat,
                        .frag_types = types, .nfrag_types = ntypes};
    gs_error e;
    int rc = gs_pack_plan(&in, &f->plan, &e);
    if (rc) fail_msg("plan: %s", e.msg);
}

/* The replay; returns how many arrivals the two sides decided differently (node, GPU or
 * refusal). ref: the gs_frag_place side's options. */
static int replay(uint64_t seed, const gs_frag_opts *ref, int *placed, int *refused) {
    fx f;
    fx_init(&f);
    add_type(&f, "f1", "ff", "a10g", 1, 1.0);
    add_type(&f, "f2", "ff", "a10g", 2, 2.0);
    add_type(&f, "f4", "ff", "a10g", 4, 4.0);
    add_type(&f, "f8", "ff", "a10g", 8, 8.0);
    gs_pool *pl = pool(&f, "frac", GS_SHARE_FRACTIONAL, "ff", 0);
    pl->limit_nodes = NNODES; /* no new node: a pod no node takes is refused */
    uint64_t r = seed;
    gs_frag_node fn[NNODES];
    const char *itypes[4] = {"f1", "f2", "f4", "f8"};
    for (int i = 0; i < NNODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%02d", i);
        int k = (int)(gs_frag_rand(&r) % 4);
        gs_mcpu cpu = (gs_mcpu)(8000 + 4000 * (gs_frag_rand(&r) % 8));
        gs_mib mem = (gs_mib)(16384 * (1 + gs_frag_rand(&r) % 4));
        int32_t n = frac_node(&f, name, itypes[k], cpu, mem);
        memset(&fn[i], 0, sizeof fn[i]);
        fn[i].cpu_free = (int32_t)cpu;
        fn[i].mem_free = mem;
        fn[i].ngpus = (uint8_t)f.s.nodes[n].ngpus;
        for (int g = 0; g < fn[i].ngpus; g++) fn[i].gpu_free[g] = 1000;
    }
    gs_frag_type types[NSHAPES];
    for (int m = 0; m < NSHAPES; m++) {
        int32_t milli = (int32_t)(50 * (1 + gs_frag_rand(&r) % 18)); /* 50 .. 900 */
        types[m] = (gs_frag_type){{(int32_t)(1000 * (1 + gs_frag_rand(&r) % 6)), (int64_t)(1024 * (1 + gs_frag_rand(&r) % 8)), 1,
                                   milli},
                                  0, (int64_t)(1 + gs_frag_rand(&r) % 4)};
        types[m].weight = types[m].count * milli;
    }
    gs_frag_state st;
    assert_int_equal(gs_frag_init_opts(&st, fn, NNODES, types, NSHAPES, ref), 0);
    int diff = 0;
    *placed = *refused = 0;
    for (int q = 0; q < NARRIVE; q++) {
        const gs_frag_task *t = &types[gs_frag_rand(&r) % NSHAPES].t;
        char name[16];
        snprintf(name, sizeof name, "p%03d", q);
        int32_t p = frac_pod(&f, name, t);
        plan_types(&f, types, NSHAPES);
        assert_int_equal(f.plan.nplace, 1);
        const gs_placement *w = where(&f, p);
        assert_true(w->kind != GS_PLACE_CLAIM);
        /* the gs_frag_place side; its GPU is the one whose free share dropped */
        gs_frag_node before[NNODES];
        memcpy(before, fn, sizeof fn);
        uint64_t rng = 1;
        int32_t want = gs_frag_place(&st, GS_FRAG_FGD, t, &rng);
        int8_t wgpu = -1;
        for (int g = 0; want >= 0 && g < fn[want].ngpus; g++)
            if (fn[want].gpu_free[g] != before[want].gpu_free[g]) wgpu = (int8_t)g;
        int32_t got = w->kind == GS_PLACE_EXISTING ? w->target : -1;
        if (got != want || (got >= 0 && w->gpu != wgpu)) {
            diff++;
            /* keep both sides on the packer's decision so later arrivals compare again */
            memcpy(fn, before, sizeof fn);
            if (got >= 0) gs_frag_apply(&st, got, w->gpu, t);
            else for (int i = 0; i < NNODES; i++) gs_frag_set_node(&st, i, &fn[i]);
        }
        if (got >= 0) {
            bind(&f, p, got, w->gpu);
            (*placed)++;
        } else {
            assert_int_equal(f.plan.nunsched, 1);
            f.s.pods[p].phase = GS_POD_FAILED; /* out of the way of the next plans */
            (*refused)++;
        }
    }
    gs_frag_free(&st);
    fx_free(&f);
    return diff;
}

static void test_replay_equals_frag_place(void **state) {
    (void)state;
    const gs_frag_opts ours = GS_FRAG_OPTS_GPUSCALE, plain = {0};
    int differ_plain = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        int placed, refused;
        assert_int_equal(replay(seed, &ours, &placed, &refused), 0);
        /* the sequence fills the nodes: both placements and refusals are compared */
        assert_true(placed > 100);
        assert_true(refused > 0);
        int pp, rr;
        differ_plain += replay(seed, &plain, &pp, &rr);
    }
    /* the comparison sees a difference in policy: plain FGD decides otherwise somewhere */
    assert_true(differ_plain > 0);
}

/* The caller's target workload decides. Node: GPUs with 700 and 400 free; a 350-milli pod.
 * Workload of 350s (the default: the pod's own shape): GPU 1 would keep 50, a fragment for
 * a 350; GPU 0 keeps 350 (test_pack.c). Workload of 50s: no choice leaves a fragment (F
 * grows by 0 either way, and so does the next 50's), and the tie goes to the GPU left with
 * the least free: GPU 1, the tightest. (A workload of 400s would keep GPU 1's exact 400 for
 * the next 400 pod: the lookahead takes GPU 0.) */
static void test_target_workload(void **state) {
    (void)state;
    for (int w = 0; w < 2; w++) {
        fx f;
        fx_init(&f);
        add_type(&f, "g2", "gf", "a10g", 2, 2.0);
        pool(&f, "frac", GS_SHARE_FRACTIONAL, "gf", 0);
        int32_t n0 = frac_node(&f, "n0", "g2", 90000, 900000);
        f.s.nodes[n0].gpus[0].milli_used = 300;
        f.s.nodes[n0].gpus[1].milli_used = 600;
        int32_t a = pod(&f, "a", GS_GPU_FRACTION, 350, NULL);
        gs_frag_type t50 = {{1000, 1024, 1, 50}, 50, 1};
        if (w == 0) plan_ok(&f, false);
        else plan_types(&f, &t50, 1);
        assert_int_equal(where(&f, a)->kind, GS_PLACE_EXISTING);
        assert_int_equal(where(&f, a)->gpu, w == 0 ? 0 : 1);
        fx_free(&f);
    }
}

/* FGD's best node is filtered out by the packer's rules: an untolerated taint on its pool,
 * then a node selector. Node n0 (pool "tainted") has a GPU with exactly 500 free, the best
 * for a 500 pod (nothing left over); n1 (pool "frac") two idle GPUs. */
static void test_filtered_candidates(void **state) {
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        fx f;
        fx_init(&f);
        add_type(&f, "g1", "gf", "a10g", 1, 1.0);
        add_type(&f, "g2", "gf", "a10g", 2, 2.0);
        pool(&f, "frac", GS_SHARE_FRACTIONAL, "gf", 0);
        gs_pool *tp = pool(&f, "tainted", GS_SHARE_FRACTIONAL, "gf", 0);
        if (mode == 1) {
            snprintf(tp->taints[0].key, sizeof tp->taints[0].key, "team");
            snprintf(tp->taints[0].value, sizeof tp->taints[0].value, "a");
            tp->taints[0].effect = GS_TAINT_NO_SCHEDULE;
            tp->ntaints = 1;
        }
        int32_t n0 = frac_node(&f, "n0", "g1", 90000, 900000);
        f.s.nodes[n0].pool = 1;
        f.s.nodes[n0].gpus[0].milli_used = 500;
        int32_t n1 = frac_node(&f, "n1", "g2", 90000, 900000);
        int32_t a = pod(&f, "a", GS_GPU_FRACTION, 500, NULL);
        if (mode == 2) {
            gs_kv sel[1];
            memset(sel, 0, sizeof sel);
            snprintf(sel[0].key, sizeof sel[0].key, "kubernetes.io/hostname");
            snprintf(sel[0].value, sizeof sel[0].value, "n1");
            /* the snapshot interns the selector (pods' arrays are not written through) */
            gs_pod copy = f.s.pods[a];
            copy.spec.node_selector = sel;
            copy.spec.n_node_selector = 1;
            snprintf(copy.name, sizeof copy.name, "a-sel");
            f.s.pods[a].phase = GS_POD_FAILED;
            a = gs_snapshot_add_pod(&f.s, &copy);
            assert_true(a >= 0);
        }
        plan_ok(&f, false);
        assert_int_equal(where(&f, a)->kind, GS_PLACE_EXISTING);
        assert_int_equal(where(&f, a)->target, mode == 0 ? n0 : n1);
        assert_int_equal(where(&f, a)->gpu, 0);
        fx_free(&f);
    }
}

/* A pod of another form placed first on a fractional node (a CPU-only pod with a higher
 * priority takes most of n0's CPU): the FGD state follows, and the fractional pod then goes
 * where gs_frag_place goes after the same change. */
static void test_other_pods_update_the_state(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0);
    pool(&f, "frac", GS_SHARE_FRACTIONAL, "gf", 0);
    int32_t n0 = frac_node(&f, "n0", "g1", 8000, 65536);
    int32_t n1 = frac_node(&f, "n1", "g1", 8000, 65536);
    f.s.nodes[n0].gpus[0].milli_used = 500; /* n0 is the tighter node: FGD's pick, alone */
    f.s.nodes[n1].gpus[0].milli_used = 200;
    int32_t c = pod(&f, "cpu", GS_GPU_NONE, 0, NULL);
    f.s.pods[c].spec.cpu = 6000;
    f.s.pods[c].spec.priority = 10;
    int32_t a = pod(&f, "a", GS_GPU_FRACTION, 500, NULL);
    f.s.pods[a].spec.cpu = 1000;
    gs_frag_type types[2] = {{{1000, 1024, 1, 500}, 500, 1}, {{2000, 1024, 1, 300}, 300, 1}};
    plan_types(&f, types, 2);
    int32_t cpu_node = where(&f, c)->target;
    assert_int_equal(where(&f, c)->kind, GS_PLACE_EXISTING);
    /* the same through gs_frag_place */
    gs_frag_node fn[2];
    memset(fn, 0, sizeof fn);
    for (int i = 0; i < 2; i++) {
        fn[i].cpu_free = 8000;
        fn[i].mem_free = 65536;
        fn[i].ngpus = 1;
        fn[i].gpu_free[0] = (int16_t)(1000 - f.s.nodes[i].gpus[0].milli_used);
    }
    gs_frag_state st;
    gs_frag_opts o = GS_FRAG_OPTS_GPUSCALE;
    assert_int_equal(gs_frag_init_opts(&st, fn, 2, types, 2, &o), 0);
    gs_frag_task cpu_only = {6000, 1024, 0, 0};
    gs_frag_apply(&st, cpu_node, -1, &cpu_only);
    gs_frag_task t = {1000, 1024, 1, 500};
    uint64_t rng = 1;
    int32_t want = gs_frag_place(&st, GS_FRAG_FGD, &t, &rng);
    gs_frag_free(&st);
    assert_int_equal(where(&f, a)->kind, GS_PLACE_EXISTING);
    assert_int_equal(where(&f, a)->target, want);
    fx_free(&f);
}

/* Without frag_types the target workload is the snapshot's shapes, at most frag_max_types of
 * them, the heaviest. Node n1's one GPU is full with 20 bound 50-milli pods (weight 1000);
 * node n0's GPUs have 400 and 250 free; a 250-milli pod is pending (its shape: weight 250).
 * FGD + lookahead against the 50s alone takes the exact fit, GPU 1; against both shapes it
 * keeps that exact 250 for the next 250 and takes GPU 0 (checked against gs_frag_choose with
 * the same types). The default cap keeps both; a cap of 1 keeps the heavier. */
static void test_shape_cap(void **state) {
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        fx f;
        fx_init(&f);
        add_type(&f, "g1", "gf", "a10g", 1, 1.0);
        add_type(&f, "g2", "gf", "a10g", 2, 2.0);
        pool(&f, "frac", GS_SHARE_FRACTIONAL, "gf", 0);
        int32_t n0 = frac_node(&f, "n0", "g2", 90000, 900000);
        int32_t n1 = frac_node(&f, "n1", "g1", 90000, 900000);
        f.s.nodes[n0].gpus[0].milli_used = 600;
        f.s.nodes[n0].gpus[1].milli_used = 750;
        for (int i = 0; i < 20; i++) {
            char name[16];
            snprintf(name, sizeof name, "b%02d", i);
            gs_frag_task t50 = {100, 64, 1, 50};
            bind(&f, frac_pod(&f, name, &t50), n1, 0);
        }
        int32_t a = pod(&f, "a", GS_GPU_FRACTION, 250, NULL);
        gs_pack_input in = {.snap = &f.s, .pools = f.pools, .npools = f.npools, .catalog = &f.cat,
                            .frag_max_types = mode == 0 ? 0 : mode == 1 ? 1 : 2};
        gs_error e;
        if (gs_pack_plan(&in, &f.plan, &e)) fail_msg("plan: %s", e.msg);
        assert_int_equal(where(&f, a)->kind, GS_PLACE_EXISTING);
        assert_int_equal(where(&f, a)->target, n0);
        assert_int_equal(where(&f, a)->gpu, mode == 1 ? 1 : 0);
        fx_free(&f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_equals_frag_place),
        cmocka_unit_test(test_target_workload),
        cmocka_unit_test(test_filtered_candidates),
        cmocka_unit_test(test_other_pods_update_the_state),
        cmocka_unit_test(test_shape_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
