/* The reconcile step's inputs and outputs added for `gpuscale run` (policy/reconcile.h):
 * pods that do not hold their node (npods_drainable), a pending pod's exact spec, no_scale,
 * the packer's reasons for pods left pending and the facts of each launch, and repacking past
 * pods nothing can place. The simulator's behaviour without them is covered by test_sim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/reconcile.h"
#include "testutil.h"

static void mig_pool(gs_pool *pool) {
    memset(pool, 0, sizeof *pool);
    snprintf(pool->name, sizeof pool->name, "h");
    pool->nreqs = 1;
    pool->reqs[0].key = GS_KEY_FAMILY;
    pool->reqs[0].op = GS_OP_IN;
    pool->reqs[0].nvalues = 1;
    snprintf(pool->reqs[0].values[0], GS_NAME_LEN, "p5");
    pool->sharing = GS_SHARE_MIG;
    pool->n_mig_profiles = 2;
    snprintf(pool->mig_profiles[0], sizeof pool->mig_profiles[0], "1g.10gb");
    snprintf(pool->mig_profiles[1], sizeof pool->mig_profiles[1], "3g.40gb");
}

/* A ready p5.4xlarge (one H100) laid out as seven 1g.10gb instances, `used` of them held. */
static void h100_node(const gs_catalog *cat, gs_rc_node *n, int32_t id, int used) {
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    int p1g = gs_mig_profile_find(m, "1g.10gb");
    memset(n, 0, sizeof *n);
    n->id = id;
    n->itype = gs_catalog_find(cat, "p5.4xlarge");
    n->ngpus = 1;
    n->ready = true;
    n->zone = -1;
    n->gpus[0].mode = GS_GPUMODE_MIG;
    n->gpus[0].nparts = 7;
    for (int i = 0; i < 7; i++) n->gpus[0].parts[i] = (gs_partition){(int8_t)p1g, (uint8_t)i, i < used};
    n->gpus[0].pods = (int16_t)used;
    n->npods = used;
    n->cpu_used = 500 * used;
    n->mem_used = 1024 * used;
}

static int count(const gs_rc_output *o, gs_action_type t) {
    int n = 0;
    for (int i = 0; i < o->n; i++) n += o->acts[i].type == t;
    return n;
}

/* Pods without GPUs (drained by the caller, or DaemonSet pods) do not keep a node; a GPU pod
 * does; consolidateAfter counts from when the last holding pod left. */
static void test_drainable_pods_do_not_hold(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    mig_pool(&pool);
    gs_rc_node nodes[2];
    h100_node(&cat, &nodes[0], 1, 0);
    h100_node(&cat, &nodes[1], 2, 0);
    nodes[0].npods = 2; /* a CPU pod and a DaemonSet pod */
    nodes[0].npods_drainable = 2;
    nodes[1].npods = 2; /* the same, and a GPU pod */
    nodes[1].npods_drainable = 1;
    gs_rc_input in;
    memset(&in, 0, sizeof in);
    in.now = 60000;
    in.cat = &cat;
    in.pools = &pool;
    in.npools = 1;
    in.nodes = nodes;
    in.nnodes = 2;
    in.no_scale = true;
    gs_action acts[16];
    gs_rc_output out = {acts, 0, 16, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_DELETE_NODE), 1);
    assert_int_equal(acts[0].node, 1);
    /* consolidateAfter 30 s: empty since 40 s ago goes, since 20 s ago stays */
    pool.consolidate_after = 30000;
    nodes[0].empty_since = 20000;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_DELETE_NODE), 1);
    nodes[0].empty_since = 40000;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_DELETE_NODE), 0);
    gs_catalog_free(&cat);
}

/* no_scale: workloads are described, never scaled (no scaler state is read); a pending pod's
 * spec goes to the packer as is (its MIG profile by name, its zone selector) and completes the
 * new node's layout; the launch's zone, price and pod count come back; a pod no pool fits
 * comes back with the packer's reason. */
static void test_spec_no_scale_outputs(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    mig_pool(&pool);
    gs_rc_workload wl;
    memset(&wl, 0, sizeof wl);
    wl.pool = 0;
    wl.need.whole = 1;
    wl.project = "ml";
    gs_kv sel[1];
    memset(sel, 0, sizeof sel);
    snprintf(sel[0].key, sizeof sel[0].key, "topology.kubernetes.io/zone");
    snprintf(sel[0].value, sizeof sel[0].value, "us-east-1b");
    gs_pod_spec specs[4];
    gs_rc_pod pods[4];
    memset(specs, 0, sizeof specs);
    memset(pods, 0, sizeof pods);
    for (int i = 0; i < 4; i++) {
        specs[i].cpu = 500;
        specs[i].mem = 1024;
        specs[i].gpu.form = GS_GPU_MIG;
        specs[i].gpu.count = 1;
        snprintf(specs[i].gpu.mig_profile, sizeof specs[i].gpu.mig_profile, "%s", i < 3 ? "1g.10gb" : "7g.80gb");
        specs[i].node_selector = sel;
        specs[i].n_node_selector = i < 3 ? 1 : 0;
        pods[i] = (gs_rc_pod){40 + i, i < 3 ? 0 : -1, GS_RCP_PENDING, -1, -1, -1, i < 3 ? 0 : -1,
                              {0, i < 3 ? 1 : 7, i < 3 ? 10240 : 81920, 500, 1024, 0}, 0, "ml", &specs[i]};
    }
    gs_rc_input in;
    memset(&in, 0, sizeof in);
    in.cat = &cat;
    in.pools = &pool;
    in.npools = 1;
    in.pods = pods;
    in.npods = 4;
    in.wls = &wl;
    in.nwl = 1;
    in.no_scale = true;
    gs_action acts[32];
    gs_rc_unsched uns[4];
    gs_rc_launch li[4];
    gs_rc_output out = {acts, 0, 32, 0};
    out.unsched = uns;
    out.cap_unsched = 4;
    out.launches = li;
    out.cap_launches = 4;
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_CREATE_POD), 0);
    assert_int_equal(count(&out, GS_ACT_DELETE_POD), 0);
    assert_int_equal(count(&out, GS_ACT_LAUNCH), 1);
    assert_int_equal(count(&out, GS_ACT_BIND), 3);
    assert_int_equal(out.nlaunches, 1);
    assert_string_equal(li[0].zone, "us-east-1b");
    assert_int_equal(li[0].pods, 3);
    for (int i = 0; i < out.n; i++) {
        if (acts[i].type == GS_ACT_LAUNCH) {
            assert_string_equal(cat.types[acts[i].itype].name, "p5.4xlarge");
            assert_int_equal(li[0].price, gs_itype_price(&cat.types[acts[i].itype], acts[i].cap));
        }
        if (acts[i].type == GS_ACT_CONFIGURE_GPU) assert_int_equal(acts[i].layout.n, 7); /* completed: 7 x 1g.10gb */
        if (acts[i].type == GS_ACT_BIND) assert_true(acts[i].pod >= 40 && acts[i].pod < 43);
    }
    assert_int_equal(out.nunsched, 1);
    assert_int_equal(uns[0].pod, 43);
    assert_true(strlen(uns[0].reason) > 0);
    fprintf(stderr, "unsched: %s\n", uns[0].reason);
    /* pods without a pool of their own count for the pool they land in: same layout */
    for (int i = 0; i < 3; i++) pods[i].pool = -1;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_CONFIGURE_GPU), 1);
    for (int i = 0; i < out.n; i++)
        if (acts[i].type == GS_ACT_CONFIGURE_GPU) assert_int_equal(acts[i].layout.n, 7);
    /* an 8-GPU node (the pods pin p5.48xlarge): the GPU the pods use and the seven they leave
     * unused are all laid out at launch with the pool's profiles (the packer lays out every GPU
     * of a MIG claim; the step completes each), so none needs a reconfiguration later */
    gs_kv sel8[1];
    memset(sel8, 0, sizeof sel8);
    snprintf(sel8[0].key, sizeof sel8[0].key, "node.kubernetes.io/instance-type");
    snprintf(sel8[0].value, sizeof sel8[0].value, "p5.48xlarge");
    for (int i = 0; i < 3; i++) {
        specs[i].node_selector = sel8;
        specs[i].n_node_selector = 1;
    }
    out.cap_launches = 4;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_LAUNCH), 1);
    assert_int_equal(count(&out, GS_ACT_CONFIGURE_GPU), 8);
    bool gpu_seen[8] = {false};
    for (int i = 0; i < out.n; i++) {
        if (acts[i].type == GS_ACT_LAUNCH) assert_string_equal(cat.types[acts[i].itype].name, "p5.48xlarge");
        if (acts[i].type != GS_ACT_CONFIGURE_GPU) continue;
        assert_int_equal(acts[i].mode, GS_GPUMODE_MIG);
        assert_int_equal(acts[i].layout.n, 7);
        assert_true(acts[i].gpu >= 0 && acts[i].gpu < 8);
        gpu_seen[acts[i].gpu] = true;
    }
    for (int g = 0; g < 8; g++) assert_true(gpu_seen[g]);
    /* too small a launches buffer is reported like too small an action buffer */
    out.cap_launches = 0;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), GS_ETOOBIG);
    gs_catalog_free(&cat);
}

/* Repacking: node 2 holds one replica that fits a free instance of node 1 with room to spare.
 * A pending pod nothing can place holds it back unless repack_past_unplaced. */
static void test_repack_past_unplaced(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    mig_pool(&pool);
    gs_rc_node nodes[2];
    h100_node(&cat, &nodes[0], 1, 3);
    h100_node(&cat, &nodes[1], 2, 1);
    gs_pod_spec big;
    memset(&big, 0, sizeof big);
    big.gpu.form = GS_GPU_MIG;
    big.gpu.count = 1;
    snprintf(big.gpu.mig_profile, sizeof big.gpu.mig_profile, "7g.80gb");
    gs_rc_pod pods[5];
    memset(pods, 0, sizeof pods);
    for (int i = 0; i < 4; i++)
        pods[i] = (gs_rc_pod){i, 0, GS_RCP_BUSY, i < 3 ? 0 : 1, 0, (int8_t)(i < 3 ? i : 0), 0,
                              {0, 1, 8192, 500, 1024, 0}, 0, "ml", NULL};
    pods[4] = (gs_rc_pod){9, -1, GS_RCP_PENDING, -1, -1, -1, -1, {0, 7, 81920, 0, 0, 0}, 0, "ml", &big};
    gs_rc_workload wl;
    memset(&wl, 0, sizeof wl);
    wl.pool = 0;
    wl.need.whole = 1;
    wl.project = "ml";
    gs_rc_input in;
    memset(&in, 0, sizeof in);
    in.cat = &cat;
    in.pools = &pool;
    in.npools = 1;
    in.nodes = nodes;
    in.nnodes = 2;
    in.pods = pods;
    in.npods = 5;
    in.wls = &wl;
    in.nwl = 1;
    in.no_scale = true;
    in.repack = true;
    in.repack_headroom = 2;
    gs_action acts[32];
    gs_rc_output out = {acts, 0, 32, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_REPACK_NODE), 0);
    in.repack_past_unplaced = true;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_REPACK_NODE), 1);
    for (int i = 0; i < out.n; i++) {
        if (acts[i].type == GS_ACT_REPACK_NODE) assert_int_equal(acts[i].node, 2);
        if (acts[i].type == GS_ACT_BIND) assert_int_equal(acts[i].node, 1);
    }
    /* a CPU pod on node 2 (drainable) does not stop it; a second GPU pod it cannot see does */
    nodes[1].npods = 2;
    nodes[1].npods_drainable = 1;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_REPACK_NODE), 1);
    nodes[1].npods_drainable = 0;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_REPACK_NODE), 0);
    gs_catalog_free(&cat);
}

/* A pod pinned by kubernetes.io/hostname finds its node under the caller's name for it. */
static void test_node_names(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    mig_pool(&pool);
    gs_rc_node nodes[2];
    h100_node(&cat, &nodes[0], 1, 1);
    h100_node(&cat, &nodes[1], 2, 1);
    gs_kv sel[1];
    memset(sel, 0, sizeof sel);
    snprintf(sel[0].key, sizeof sel[0].key, "kubernetes.io/hostname");
    snprintf(sel[0].value, sizeof sel[0].value, "gs-h-b");
    gs_pod_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.cpu = 500;
    spec.mem = 1024;
    spec.gpu.form = GS_GPU_MIG;
    spec.gpu.count = 1;
    snprintf(spec.gpu.mig_profile, sizeof spec.gpu.mig_profile, "1g.10gb");
    spec.node_selector = sel;
    spec.n_node_selector = 1;
    gs_rc_pod pod = {7, -1, GS_RCP_PENDING, -1, -1, -1, -1, {0, 1, 8192, 500, 1024, 0}, 0, "ml", &spec};
    gs_rc_input in;
    memset(&in, 0, sizeof in);
    in.cat = &cat;
    in.pools = &pool;
    in.npools = 1;
    in.nodes = nodes;
    in.nnodes = 2;
    in.pods = &pod;
    in.npods = 1;
    in.no_scale = true;
    gs_action acts[16];
    gs_rc_output out = {acts, 0, 16, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_BIND), 0); /* "n1", "n2": no such host */
    nodes[0].name = "gs-h-a";
    nodes[1].name = "gs-h-b";
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_int_equal(count(&out, GS_ACT_BIND), 1);
    assert_int_equal(count(&out, GS_ACT_LAUNCH), 0);
    for (int i = 0; i < out.n; i++)
        if (acts[i].type == GS_ACT_BIND) assert_int_equal(acts[i].node, 2);
    gs_catalog_free(&cat);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_drainable_pods_do_not_hold),
        cmocka_unit_test(test_spec_no_scale_outputs),
        cmocka_unit_test(test_repack_past_unplaced),
        cmocka_unit_test(test_node_names),
    };
    return cmocka_run_group_tests_name("reconcile step for gpuscale run", t, NULL, NULL);
}
