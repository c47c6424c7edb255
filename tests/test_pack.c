/* The packer (src/policy/pack): every rule with small hand-checked cases, and a randomized
 * comparison of its MIG answers with a brute-force search written here (include/exclude over
 * every (profile, start) placement, overlap checked slice by slice, no code shared with
 * policy/mig). Instance types are made up in the test so prices are known exactly. */
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

/* ---------------------------------------------------------------- fixtures */

typedef struct fx {
    gs_catalog cat;
    gs_pool pools[4];
    int32_t npools;
    gs_snapshot s;
    gs_plan plan;
} fx;

static int32_t add_type(fx *f, const char *name, const char *family, const char *gpu, int gpus, double usd,
                        int spot_pct) {
    gs_itype t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.family, sizeof t.family, "%s", family);
    t.vcpu = 96;
    t.mem_mib = 1 << 20;
    t.alloc_cpu = 90000;
    t.alloc_mem = 900000;
    t.max_pods = 110;
    t.gpus = gpus;
    t.gpu_model = gpu ? gs_gpu_find(gpu) : -1;
    t.od_price = (gs_usd_u)(usd * 1e6 + 0.5);
    t.spot_discount_pct = spot_pct;
    assert_int_equal(gs_catalog_add(&f->cat, &t, NULL), 0);
    return gs_catalog_find(&f->cat, name);
}

static void fx_init(fx *f) {
    memset(f, 0, sizeof *f);
    gs_catalog_init(&f->cat);
    gs_snapshot_init(&f->s);
    gs_plan_init(&f->plan);
}

static void fx_free(fx *f) {
    gs_plan_free(&f->plan);
    gs_snapshot_free(&f->s);
    gs_catalog_free(&f->cat);
}

static gs_pool *pool(fx *f, const char *name, gs_share_mode m, const char *family) {
    gs_pool *p = &f->pools[f->npools++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->sharing = m;
    p->ts_replicas = 4;
    if (family) {
        p->reqs[0].key = GS_KEY_FAMILY;
        p->reqs[0].op = GS_OP_IN;
        snprintf(p->reqs[0].values[0], GS_NAME_LEN, "%s", family);
        p->reqs[0].nvalues = 1;
        p->nreqs = 1;
    }
    return p;
}

static void allow_spot(gs_pool *p) {
    gs_requirement *r = &p->reqs[p->nreqs++];
    r->key = GS_KEY_CAPACITY_TYPE;
    r->op = GS_OP_IN;
    snprintf(r->values[0], GS_NAME_LEN, "spot");
    snprintf(r->values[1], GS_NAME_LEN, "on-demand");
    r->nvalues = 2;
}

static int32_t node(fx *f, const char *name, const char *itype, int32_t pool_idx) {
    gs_node n;
    gs_node_init(&n, name, &f->cat, gs_catalog_find(&f->cat, itype), GS_CAP_ON_DEMAND);
    n.pool = pool_idx;
    if (pool_idx >= 0 && f->pools[pool_idx].sharing == GS_SHARE_TIMESLICING)
        for (int g = 0; g < n.ngpus; g++) {
            n.gpus[g].mode = GS_GPUMODE_TIMESLICED;
            n.gpus[g].ts_replicas = (int16_t)f->pools[pool_idx].ts_replicas;
        }
    if (pool_idx >= 0 && f->pools[pool_idx].sharing == GS_SHARE_FRACTIONAL)
        for (int g = 0; g < n.ngpus; g++) n.gpus[g].mode = GS_GPUMODE_FRACTIONAL;
    int32_t r = gs_snapshot_add_node(&f->s, &n);
    assert_true(r >= 0);
    return r;
}

static int32_t pod(fx *f, const char *name, gs_gpu_form form, int count, const char *profile) {
    gs_pod p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    snprintf(p.ns, sizeof p.ns, "ns");
    snprintf(p.project, sizeof p.project, "proj");
    p.phase = GS_POD_PENDING;
    p.node = -1;
    p.gpu = -1;
    p.part = -1;
    p.spec.cpu = 1000;
    p.spec.mem = 1024;
    p.spec.gpu.form = form;
    p.spec.gpu.count = count;
    if (form == GS_GPU_FRACTION) p.spec.gpu.milli = count;
    if (profile) snprintf(p.spec.gpu.mig_profile, sizeof p.spec.gpu.mig_profile, "%s", profile);
    int32_t r = gs_snapshot_add_pod(&f->s, &p);
    assert_true(r >= 0);
    return r;
}

static void plan_ok(fx *f, gs_pack_gate_fn gate, void *ctx) {
    gs_pack_input in = {.snap = &f->s, .pools = f->pools, .npools = f->npools, .catalog = &f->cat,
                        .may_add = gate, .gate_ctx = ctx};
    gs_error e;
    int rc = gs_pack_plan(&in, &f->plan, &e);
    if (rc) fail_msg("plan: %s", e.msg);
}

static const gs_placement *where(const fx *f, int32_t p) {
    for (int32_t i = 0; i < f->plan.nplace; i++)
        if (f->plan.place[i].pod == p) return &f->plan.place[i];
    fail_msg("pod %d has no placement", p);
    static const gs_placement none = {-1, GS_PLACE_NONE, -1, -1, 0, -1};
    return &none;
}

static const char *reason(const fx *f, int32_t p) {
    for (int32_t i = 0; i < f->plan.nunsched; i++)
        if (f->plan.unsched[i].pod == p) return f->plan.unsched[i].reason;
    return "";
}

static const gs_partition *claim_part(const fx *f, const gs_placement *x) {
    assert_int_equal(x->kind, GS_PLACE_CLAIM);
    return &f->plan.claims[x->target].gpus[x->gpu].parts[x->part];
}

static int prof(const char *model, const char *name) {
    return gs_mig_profile_find(gs_gpu_get(gs_gpu_find(model)), name);
}

/* ---------------------------------------------------------------- whole GPUs */

static void test_whole_existing_then_claim(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "w4", "wf", "a10g", 4, 4.0, 0);
    add_type(&f, "w1", "wf", "a10g", 1, 1.5, 0);
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, "wf");
    int32_t n0 = node(&f, "n0", "w4", 0);
    f.s.nodes[n0].gpus[0].whole_used = true;
    f.s.nodes[n0].gpus[0].pods = 1;
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 2, NULL); /* fits GPUs 1-2 of n0 */
    int32_t b = pod(&f, "b", GS_GPU_WHOLE, 2, NULL); /* only GPU 3 left: a new node */
    plan_ok(&f, NULL, NULL);
    const gs_placement *pa = where(&f, a), *pb = where(&f, b);
    assert_int_equal(pa->kind, GS_PLACE_EXISTING);
    assert_int_equal(pa->target, n0);
    assert_int_equal(pa->gpu, 1);
    assert_int_equal(pa->ngpus, 2);
    assert_int_equal(pb->kind, GS_PLACE_CLAIM);
    /* 2 GPUs: the 4-GPU type is the only one; $/GPU used = 4.0/2 */
    assert_int_equal(f.plan.nclaims, 1);
    assert_string_equal(f.cat.types[f.plan.claims[0].itype].name, "w4");
    assert_int_equal(f.plan.usd_before, 4000000);
    assert_int_equal(f.plan.usd_after, 8000000);
    fx_free(&f);
}

static void test_whole_never_split_across_nodes(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "w2", "wf", "a10g", 2, 2.0, 0);
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, "wf");
    int32_t n0 = node(&f, "n0", "w2", 0), n1 = node(&f, "n1", "w2", 0);
    f.s.nodes[n0].gpus[0].whole_used = true;
    f.s.nodes[n1].gpus[1].whole_used = true;
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 2, NULL);
    plan_ok(&f, NULL, NULL);
    assert_int_equal(where(&f, a)->kind, GS_PLACE_CLAIM);
    fx_free(&f);
}

static void test_cheapest_type_for_demand(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "one", "wf", "a10g", 1, 1.0, 0);   /* $1.00 per GPU */
    add_type(&f, "eight", "wf", "a10g", 8, 6.4, 0); /* $0.80 per GPU when full */
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, "wf");
    /* one 1-GPU pod: the 1-GPU type ($1) is cheaper than an 8-GPU node */
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 1, NULL);
    plan_ok(&f, NULL, NULL);
    assert_int_equal(f.plan.nclaims, 1);
    assert_string_equal(f.cat.types[f.plan.claims[0].itype].name, "one");
    (void)a;
    /* eight of them: one 8-GPU node ($6.40) beats eight 1-GPU nodes ($8) */
    for (int i = 0; i < 7; i++) pod(&f, "x", GS_GPU_WHOLE, 1, NULL);
    plan_ok(&f, NULL, NULL);
    assert_int_equal(f.plan.nclaims, 1);
    assert_string_equal(f.cat.types[f.plan.claims[0].itype].name, "eight");
    assert_int_equal(f.plan.usd_after, 6400000);
    fx_free(&f);
}

/* ---------------------------------------------------------------- MIG */

static void test_mig_existing_partition_first(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h2", "hf", "h100-80gb", 2, 10.0, 0);
    pool(&f, "mig", GS_SHARE_MIG, "hf");
    int32_t n0 = node(&f, "n0", "h2", 0);
    gs_gpu_state *g0 = &f.s.nodes[n0].gpus[0], *g1 = &f.s.nodes[n0].gpus[1];
    int p3 = prof("h100-80gb", "3g.40gb");
    g0->mode = GS_GPUMODE_MIG; /* GPU 0: 3g@0 used, 3g@4 free */
    g0->parts[0] = (gs_partition){(int8_t)p3, 0, true};
    g0->parts[1] = (gs_partition){(int8_t)p3, 4, false};
    g0->nparts = 2;
    g0->pods = 1;
    (void)g1; /* GPU 1 idle, WHOLE mode: could be repartitioned, but the free 3g comes first */
    int32_t a = pod(&f, "a", GS_GPU_MIG, 1, "3g.40gb");
    plan_ok(&f, NULL, NULL);
    const gs_placement *pa = where(&f, a);
    assert_int_equal(pa->kind, GS_PLACE_EXISTING);
    assert_int_equal(pa->gpu, 0);
    assert_int_equal(pa->part, 1);
    assert_int_equal(f.plan.nreparts, 0);
    assert_int_equal(f.plan.nclaims, 0);
    fx_free(&f);
}

static void test_mig_never_touch_busy_gpu(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h1", "hf", "h100-80gb", 1, 5.0, 0);
    pool(&f, "mig", GS_SHARE_MIG, "hf");
    int32_t n0 = node(&f, "n0", "h1", 0);
    gs_gpu_state *g0 = &f.s.nodes[n0].gpus[0];
    g0->mode = GS_GPUMODE_MIG; /* 3g@0 used; slices 4..7 free but no instance there */
    g0->parts[0] = (gs_partition){(int8_t)prof("h100-80gb", "3g.40gb"), 0, true};
    g0->nparts = 1;
    g0->pods = 1;
    int32_t a = pod(&f, "a", GS_GPU_MIG, 1, "1g.10gb");
    plan_ok(&f, NULL, NULL);
    assert_int_equal(where(&f, a)->kind, GS_PLACE_CLAIM);
    assert_int_equal(f.plan.nreparts, 0);
    fx_free(&f);
}

static void test_mig_repartition_idle_gpu(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h1", "hf", "h100-80gb", 1, 5.0, 0);
    pool(&f, "mig", GS_SHARE_MIG, "hf");
    int32_t n0 = node(&f, "n0", "h1", 0);
    gs_gpu_state *g0 = &f.s.nodes[n0].gpus[0];
    g0->mode = GS_GPUMODE_MIG; /* idle: one unused 7g */
    g0->parts[0] = (gs_partition){(int8_t)prof("h100-80gb", "7g.80gb"), 0, false};
    g0->nparts = 1;
    int32_t a = pod(&f, "a", GS_GPU_MIG, 1, "4g.40gb"), b = pod(&f, "b", GS_GPU_MIG, 1, "3g.40gb");
    plan_ok(&f, NULL, NULL);
    assert_int_equal(f.plan.nclaims, 0);
    assert_int_equal(f.plan.nreparts, 1);
    const gs_repartition *r = &f.plan.reparts[0];
    assert_int_equal(r->node, n0);
    assert_int_equal(r->before.n, 1);
    assert_int_equal(r->after.n, 2);
    assert_true(gs_mig_valid(gs_gpu_get(gs_gpu_find("h100-80gb")), r->after.parts, r->after.n, NULL));
    assert_int_equal(r->after.parts[where(&f, a)->part].start, 0); /* 4g only at 0 */
    assert_int_equal(r->after.parts[where(&f, b)->part].start, 4); /* 3g at 0 or 4 */
    /* the same node with its layout locked (the GPU Operator's config cannot be written):
     * no repartition, both pods go to a launch instead of waiting on one that cannot happen */
    f.s.nodes[n0].layout_locked = true;
    plan_ok(&f, NULL, NULL);
    assert_int_equal(f.plan.nreparts, 0);
    assert_int_equal(where(&f, a)->kind, GS_PLACE_CLAIM);
    assert_int_equal(where(&f, b)->kind, GS_PLACE_CLAIM);
    fx_free(&f);
}

static void test_mig_4g_4g_impossible(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h1", "hf", "h100-80gb", 1, 5.0, 0);
    pool(&f, "mig", GS_SHARE_MIG, "hf");
    int32_t a = pod(&f, "a", GS_GPU_MIG, 1, "4g.40gb"), b = pod(&f, "b", GS_GPU_MIG, 1, "4g.40gb");
    plan_ok(&f, NULL, NULL);
    assert_int_equal(f.plan.nclaims, 2);
    assert_int_not_equal(where(&f, a)->target, where(&f, b)->target);
    fx_free(&f);
}

static void test_mig_3g_3g_and_mixed(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h1", "hf", "h100-80gb", 1, 5.0, 0);
    pool(&f, "mig", GS_SHARE_MIG, "hf");
    int32_t a = pod(&f, "a", GS_GPU_MIG, 1, "3g.40gb"), b = pod(&f, "b", GS_GPU_MIG, 1, "3g.40gb");
    plan_ok(&f, NULL, NULL);
    assert_int_equal(f.plan.nclaims, 1);
    int sa = claim_part(&f, where(&f, a))->start, sb = claim_part(&f, where(&f, b))->start;
    assert_true((sa == 0 && sb == 4) || (sa == 4 && sb == 0));
    /* mixed: 2g + 2g + 1g + 1g + 1g fill one GPU (7 compute slices) */
    fx g;
    fx_init(&g);
    add_type(&g, "h1", "hf", "h100-80gb", 1, 5.0, 0);
    pool(&g, "mig", GS_SHARE_MIG, "hf");
    pod(&g, "a", GS_GPU_MIG, 1, "2g.20gb");
    pod(&g, "b", GS_GPU_MIG, 1, "2g.20gb");
    pod(&g, "c", GS_GPU_MIG, 1, "1g.10gb");
    pod(&g, "d", GS_GPU_MIG, 1, "1g.10gb");
    pod(&g, "e", GS_GPU_MIG, 1, "1g.10gb");
    plan_ok(&g, NULL, NULL);
    assert_int_equal(g.plan.nclaims, 1);
    const gs_claim *c = &g.plan.claims[0];
    assert_int_equal(c->gpus[0].nparts, 5);
    assert_true(gs_mig_valid(gs_gpu_get(c->gpu_model), c->gpus[0].parts, c->gpus[0].nparts, NULL));
    fx_free(&g);
    fx_free(&f);
}

static void test_mig_pool_profiles_and_reason(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "h8", "hf", "h100-80gb", 8, 40.0, 0);
    gs_pool *p = pool(&f, "gpu-prod", GS_SHARE_MIG, "hf");
    p->limit_gpus = 16;
    node(&f, "n0", "h8", 0);
    node(&f, "n1", "h8", 0);
    /* both nodes fully busy */
    for (int32_t n = 0; n < 2; n++)
        for (int g = 0; g < 8; g++) {
            f.s.nodes[n].gpus[g].whole_used = true;
            f.s.nodes[n].gpus[g].pods = 1;
        }
    int32_t a = pod(&f, "a", GS_GPU_MIG, 1, "3g.40gb");
    plan_ok(&f, NULL, NULL);
    assert_string_equal(reason(&f, a), "pool gpu-prod: no instance type offers mig-3g.40gb within limit gpus=16");
    /* a profile the pool does not allow */
    fx_free(&f);
    fx_init(&f);
    add_type(&f, "h8", "hf", "h100-80gb", 8, 40.0, 0);
    p = pool(&f, "gpu-prod", GS_SHARE_MIG, "hf");
    snprintf(p->mig_profiles[0], sizeof p->mig_profiles[0], "1g.10gb");
    p->n_mig_profiles = 1;
    a = pod(&f, "a", GS_GPU_MIG, 1, "3g.40gb");
    plan_ok(&f, NULL, NULL);
    assert_string_equal(reason(&f, a), "pool gpu-prod: no instance type offers mig-3g.40gb");
    fx_free(&f);
}

/* ---------------------------------------------------------------- time-slicing, fractional */

static void test_timeslicing_no_overcommit(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0, 0);
    gs_pool *p = pool(&f, "ts", GS_SHARE_TIMESLICING, "gf");
    p->ts_replicas = 4;
    int32_t n0 = node(&f, "n0", "g1", 0);
    f.s.nodes[n0].gpus[0].ts_replicas = 8; /* the node advertises 8 but the pool declares 4 */
    f.s.nodes[n0].gpus[0].ts_used = 3;
    int32_t a = pod(&f, "a", GS_GPU_SHARED, 1, NULL), b = pod(&f, "b", GS_GPU_SHARED, 1, NULL);
    int32_t c = pod(&f, "c", GS_GPU_SHARED, 5, NULL);
    plan_ok(&f, NULL, NULL);
    int on_node = (where(&f, a)->kind == GS_PLACE_EXISTING) + (where(&f, b)->kind == GS_PLACE_EXISTING);
    assert_int_equal(on_node, 1); /* 3 used + 1 = the 4 declared */
    for (int32_t i = 0; i < f.plan.nclaims; i++)
        for (int g = 0; g < f.plan.claims[i].ngpus; g++)
            assert_true(f.plan.claims[i].gpus[g].ts_used <= f.plan.claims[i].gpus[g].ts_replicas);
    assert_non_null(strstr(reason(&f, c), "asks for 5 replicas"));
    fx_free(&f);
}

static void test_fractional_best_fit(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g2", "gf", "a10g", 2, 2.0, 0);
    pool(&f, "frac", GS_SHARE_FRACTIONAL, "gf");
    int32_t n0 = node(&f, "n0", "g2", 0);
    f.s.nodes[n0].gpus[0].milli_used = 300; /* 700 free */
    f.s.nodes[n0].gpus[1].milli_used = 600; /* 400 free */
    int32_t a = pod(&f, "a", GS_GPU_FRACTION, 350, NULL);
    plan_ok(&f, NULL, NULL);
    assert_int_equal(where(&f, a)->kind, GS_PLACE_EXISTING);
    /* gpuscale's FGD (docs/packing.md, "Fractional pods"; the workload is 350-milli pods):
     * GPU 1 would be left with 50, a fragment no 350 fits; GPU 0 keeps 350, which does.
     * tests/test_pack_fgd.c has the case where the workload makes the tightest GPU right. */
    assert_int_equal(where(&f, a)->gpu, 0);
    fx_free(&f);
}

/* ---------------------------------------------------------------- pools, budget, selectors */

static void test_pools_by_weight_then_price(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "cheap", "cf", "a10g", 1, 1.0, 0);
    add_type(&f, "dear", "df", "a10g", 1, 3.0, 0);
    pool(&f, "p-cheap", GS_SHARE_EXCLUSIVE, "cf");
    gs_pool *d = pool(&f, "p-dear", GS_SHARE_EXCLUSIVE, "df");
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 1, NULL);
    plan_ok(&f, NULL, NULL); /* equal weights: cheaper pool */
    assert_string_equal(f.pools[f.plan.claims[where(&f, a)->target].pool].name, "p-cheap");
    d->weight = 10; /* higher weight wins even at a higher price */
    plan_ok(&f, NULL, NULL);
    assert_string_equal(f.pools[f.plan.claims[where(&f, a)->target].pool].name, "p-dear");
    fx_free(&f);
}

static bool gate_refuse(void *ctx, const char *project, gs_usd_u usd, char *why, size_t n) {
    int *calls = ctx;
    (*calls)++;
    snprintf(why, n, "project %s over $%lld/h", project, (long long)(usd / 1000000));
    return false;
}

static void test_budget_gate(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "w1", "wf", "a10g", 1, 2.0, 0);
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, "wf");
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 1, NULL);
    int calls = 0;
    plan_ok(&f, gate_refuse, &calls);
    assert_int_equal(calls, 1);
    assert_int_equal(f.plan.nclaims, 0);
    assert_string_equal(reason(&f, a), "pool whole: budget refuses $2.00/hour for project proj: project proj over $2/h");
    fx_free(&f);
}

static void test_taints_and_selectors(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "w1", "wf", "a10g", 1, 2.0, 50);
    gs_pool *p = pool(&f, "whole", GS_SHARE_EXCLUSIVE, "wf");
    allow_spot(p);
    snprintf(p->taints[0].key, GS_VALUE_LEN, "gpu");
    snprintf(p->taints[0].value, GS_VALUE_LEN, "true");
    p->taints[0].effect = GS_TAINT_NO_SCHEDULE;
    p->ntaints = 1;
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 1, NULL);
    int32_t b = pod(&f, "b", GS_GPU_WHOLE, 1, NULL);
    gs_pod *pb = &f.s.pods[b];
    gs_toleration tol = {.op = GS_TOL_EXISTS, .effect = -1};
    snprintf(tol.key, GS_VALUE_LEN, "gpu");
    gs_kv pin;
    snprintf(pin.key, GS_VALUE_LEN, "karpenter.sh/capacity-type");
    snprintf(pin.value, GS_VALUE_LEN, "on-demand");
    /* the pod's rules are the test's own arrays (they outlive the plan) */
    pb->spec.tolerations = &tol;
    pb->spec.n_tolerations = 1;
    pb->spec.node_selector = &pin;
    pb->spec.n_node_selector = 1;
    plan_ok(&f, NULL, NULL);
    assert_string_equal(reason(&f, a), "pool whole: taint gpu=true not tolerated");
    const gs_placement *x = where(&f, b);
    assert_int_equal(x->kind, GS_PLACE_CLAIM);
    const gs_claim *c = &f.plan.claims[x->target];
    /* spot is half the price but the pod pins on-demand: no spot candidate */
    assert_int_equal(c->capacity, GS_CAP_ON_DEMAND);
    for (int32_t i = 0; i < c->ncand; i++) assert_int_equal(f.plan.cands[c->cand_off + i].capacity, GS_CAP_ON_DEMAND);
    /* without the selector, spot comes first */
    pb->spec.n_node_selector = 0;
    plan_ok(&f, NULL, NULL);
    c = &f.plan.claims[where(&f, b)->target];
    assert_int_equal(c->capacity, GS_CAP_SPOT);
    assert_int_equal(c->price, 1000000);
    assert_int_equal(c->ncand, 2);
    assert_int_equal(f.plan.cands[c->cand_off + 1].capacity, GS_CAP_ON_DEMAND);
    fx_free(&f);
}

static void test_priority_and_cordon(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "w1", "wf", "a10g", 1, 2.0, 0);
    add_type(&f, "other", "of", "a10g", 1, 2.0, 0);
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, "of"); /* claims are "other"; n0 is the only w1 */
    node(&f, "n0", "w1", 0);
    int32_t c = node(&f, "n1", "w1", 0);
    f.s.nodes[c].cordoned = true;
    int32_t lo = pod(&f, "lo", GS_GPU_WHOLE, 1, NULL), hi = pod(&f, "hi", GS_GPU_WHOLE, 1, NULL);
    f.s.pods[hi].spec.priority = 100;
    plan_ok(&f, NULL, NULL);
    assert_int_equal(where(&f, hi)->kind, GS_PLACE_EXISTING);
    assert_int_equal(where(&f, hi)->target, 0);
    assert_int_equal(where(&f, lo)->kind, GS_PLACE_CLAIM);
    fx_free(&f);
}

static void test_deterministic_and_candidates(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    char name[32];
    for (int i = 0; i < 80; i++) {
        snprintf(name, sizeof name, "t%02d", i);
        add_type(&f, name, "wf", "l4", 1, 1.0 + 0.01 * (79 - i), 0);
    }
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, "wf");
    for (int i = 0; i < 20; i++) pod(&f, "p", GS_GPU_WHOLE, 1, NULL);
    plan_ok(&f, NULL, NULL);
    gs_plan first = f.plan;
    gs_plan_init(&f.plan);
    plan_ok(&f, NULL, NULL);
    assert_int_equal(first.nclaims, f.plan.nclaims);
    assert_memory_equal(first.place, f.plan.place, (size_t)first.nplace * sizeof *first.place);
    assert_memory_equal(first.cands, f.plan.cands, (size_t)first.ncands * sizeof *first.cands);
    gs_plan_free(&first);
    const gs_claim *c = &f.plan.claims[0];
    assert_int_equal(c->ncand, GS_PACK_DEFAULT_CANDIDATES);
    for (int32_t i = 1; i < c->ncand; i++)
        assert_true(f.plan.cands[c->cand_off + i - 1].price <= f.plan.cands[c->cand_off + i].price);
    assert_string_equal(f.cat.types[c->itype].name, "t79");
    fx_free(&f);
}

/* Pins pod p with one selector, interned in the snapshot's store like gs_snapshot_add_pod does. */
static void sel(fx *f, gs_pod *p, const char *k, const char *v) {
    gs_kv kv;
    snprintf(kv.key, sizeof kv.key, "%s", k);
    snprintf(kv.value, sizeof kv.value, "%s", v);
    p->spec.node_selector = &kv;
    p->spec.n_node_selector = 1;
    assert_int_equal(gs_rules_intern(&f->s.rules, &p->spec), 0);
}

static void test_selector_pins_claims(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "small", "wf", "l4", 1, 1.0, 0);
    add_type(&f, "big", "wf", "l4", 1, 2.0, 0);
    add_type(&f, "h", "hf", "h100-80gb", 1, 5.0, 0);
    pool(&f, "whole", GS_SHARE_EXCLUSIVE, NULL);
    /* a: pinned to instance type "big" -> its claim offers only "big" */
    int32_t a = pod(&f, "a", GS_GPU_WHOLE, 1, NULL);
    sel(&f, &f.s.pods[a], "node.kubernetes.io/instance-type", "big");
    /* b: zone us-east-1b -> its claim carries the zone */
    int32_t b = pod(&f, "b", GS_GPU_WHOLE, 1, NULL);
    sel(&f, &f.s.pods[b], "topology.kubernetes.io/zone", "us-east-1b");
    /* c: GPU model h100 */
    int32_t c = pod(&f, "c", GS_GPU_WHOLE, 1, NULL);
    sel(&f, &f.s.pods[c], "gpuscale.dev/gpu-model", "h100-80gb");
    /* d: a label no pool sets */
    int32_t d = pod(&f, "d", GS_GPU_WHOLE, 1, NULL);
    sel(&f, &f.s.pods[d], "team", "ml");
    plan_ok(&f, NULL, NULL);
    const gs_claim *ca = &f.plan.claims[where(&f, a)->target];
    assert_int_equal(ca->ncand, 1);
    assert_string_equal(f.cat.types[ca->itype].name, "big");
    const gs_claim *cb = &f.plan.claims[where(&f, b)->target];
    assert_string_equal(cb->zone, "us-east-1b");
    assert_string_equal(f.cat.types[cb->itype].name, "small");
    const gs_claim *cc = &f.plan.claims[where(&f, c)->target];
    assert_string_equal(f.cat.types[cc->itype].name, "h");
    assert_string_equal(reason(&f, d), "pool whole: no instance type offering 1 whole GPU matches the pod's node selector");
    /* the pool's labels satisfy a selector on them */
    snprintf(f.pools[0].labels[0].key, GS_VALUE_LEN, "team");
    snprintf(f.pools[0].labels[0].value, GS_VALUE_LEN, "ml");
    f.pools[0].nlabels = 1;
    plan_ok(&f, NULL, NULL);
    assert_int_equal(where(&f, d)->kind, GS_PLACE_CLAIM);
    fx_free(&f);
}

static void test_claim_modes_and_limits(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g4", "gf", "a10g", 4, 4.0, 0);
    gs_pool *p = pool(&f, "ts", GS_SHARE_TIMESLICING, "gf");
    p->ts_replicas = 3;
    p->limit_nodes = 1;
    for (int i = 0; i < 14; i++) pod(&f, "p", GS_GPU_SHARED, 1, NULL);
    gs_pack_input in = {.snap = &f.s, .pools = f.pools, .npools = f.npools, .catalog = &f.cat};
    gs_error e;
    assert_int_equal(gs_pack_plan(&in, &f.plan, &e), 0);
    /* one node (limit), 4 GPUs x 3 replicas = 12 pods; 2 left with the limit as reason */
    assert_int_equal(f.plan.nclaims, 1);
    for (int g = 0; g < 4; g++) {
        assert_int_equal(f.plan.claims[0].gpus[g].mode, GS_GPUMODE_TIMESLICED);
        assert_int_equal(f.plan.claims[0].gpus[g].ts_replicas, 3);
        assert_int_equal(f.plan.claims[0].gpus[g].ts_used, 3);
    }
    assert_int_equal(f.plan.nunsched, 2);
    assert_string_equal(f.plan.unsched[0].reason, "pool ts: no instance type offers 1 time-sliced replica within limit nodes=1");
    /* max_claims caps new nodes per plan */
    p->limit_nodes = 0;
    in.max_claims = 1;
    assert_int_equal(gs_pack_plan(&in, &f.plan, &e), 0);
    assert_int_equal(f.plan.nclaims, 1);
    assert_string_equal(f.plan.unsched[0].reason, "plan limit: at most 1 new nodes per plan");
    fx_free(&f);
}

static void test_bad_input(void **st) {
    (void)st;
    fx f;
    fx_init(&f);
    add_type(&f, "g1", "gf", "a10g", 1, 1.0, 0);
    int32_t n = node(&f, "n0", "g1", -1);
    f.s.nodes[n].pool = 5; /* no such pool */
    gs_pack_input in = {.snap = &f.s, .pools = f.pools, .npools = f.npools, .catalog = &f.cat};
    gs_error e;
    assert_int_equal(gs_pack_plan(&in, &f.plan, &e), GS_EINVAL);
    assert_string_equal(e.msg, "node n0: pool index 5 out of range");
    f.s.nodes[n].pool = -1;
    f.s.nodes[n].gpus[0].mode = GS_GPUMODE_MIG; /* an A10G has no MIG */
    assert_int_equal(gs_pack_plan(&in, &f.plan, &e), GS_EINVAL);
    assert_string_equal(e.msg, "node n0: GPU 0: invalid MIG layout: GPU model has no MIG");
    f.s.nodes[n].gpus[0].mode = GS_GPUMODE_WHOLE;
    pod(&f, "zero", GS_GPU_WHOLE, 0, NULL);
    assert_int_equal(gs_pack_plan(&in, &f.plan, &e), GS_EINVAL);
    assert_string_equal(e.msg, "pod zero: request out of range (whole count 0 milli 0)");
    fx_free(&f);
}

/* ---------------------------------------------------------------- randomized: MIG vs brute force */

typedef struct { int profile, start; } bplace;

static int brute_ok(const gs_gpu_model *m, const bplace *l, int n) {
    int slice[16] = {0}, count[16] = {0}, compute = 0;
    for (int i = 0; i < n; i++) {
        const gs_mig_profile *pr = &m->profiles[l[i].profile];
        if (!((pr->starts >> l[i].start) & 1)) return 0;
        for (int k = 0; k < pr->size; k++) {
            int s = l[i].start + k;
            if (s >= m->mem_slices || slice[s]++) return 0;
        }
        if (++count[l[i].profile] > pr->max_count) return 0;
        compute += pr->compute;
    }
    return compute <= m->compute_slices;
}

/* Can the profiles in want[] (count n) all be placed on an empty GPU? Tries every start for
 * each instance in turn. */
static int brute_fit(const gs_gpu_model *m, const int *want, int n, bplace *cur, int k) {
    if (!brute_ok(m, cur, k)) return 0;
    if (k == n) return 1;
    for (int s = 0; s < m->mem_slices; s++) {
        cur[k].profile = want[k];
        cur[k].start = s;
        if (brute_fit(m, want, n, cur, k + 1)) return 1;
    }
    return 0;
}

static void test_mig_random_vs_brute(void **st) {
    (void)st;
    const char *models[] = {"h100-80gb", "a100-40gb", "h200-141gb"};
    uint64_t rng = 12345;
    int feasible = 0, infeasible = 0;
    for (int iter = 0; iter < 400; iter++) {
        const char *mn = models[iter % 3];
        const gs_gpu_model *m = gs_gpu_get(gs_gpu_find(mn));
        fx f;
        fx_init(&f);
        add_type(&f, "h1", "hf", mn, 1, 5.0, 0);
        gs_pool *p = pool(&f, "mig", GS_SHARE_MIG, "hf");
        p->limit_nodes = 1; /* the one existing node: no claims, only its GPU */
        node(&f, "n0", "h1", 0);
        int n = 1 + (int)(gs_frag_rand(&rng) % 6), want[8];
        for (int i = 0; i < n; i++) {
            want[i] = (int)(gs_frag_rand(&rng) % (uint64_t)m->nprofiles);
            pod(&f, "p", GS_GPU_MIG, 1, m->profiles[want[i]].name);
        }
        plan_ok(&f, NULL, NULL);
        bplace cur[8];
        int bf = brute_fit(m, want, n, cur, 0);
        int placed = f.plan.placed_existing;
        if (bf) {
            feasible++;
            if (placed != n) fail_msg("iter %d (%s): brute force fits all %d, packer placed %d", iter, mn, n, placed);
        } else {
            infeasible++;
            assert_true(placed < n);
        }
        /* the layout it chose is valid by the brute-force rules, and every pod sits on an
         * instance of its profile */
        if (placed > 0) {
            assert_int_equal(f.plan.nreparts, 1);
            const gs_mig_layout *l = &f.plan.reparts[0].after;
            bplace bl[8];
            for (int i = 0; i < l->n; i++) bl[i] = (bplace){l->parts[i].profile, l->parts[i].start};
            assert_true(brute_ok(m, bl, l->n));
            assert_int_equal(l->n, placed);
            for (int32_t i = 0; i < f.plan.nplace; i++) {
                const gs_placement *x = &f.plan.place[i];
                if (x->kind != GS_PLACE_EXISTING) continue;
                assert_int_equal(l->parts[x->part].profile, gs_mig_profile_find(m, f.s.pods[x->pod].spec.gpu.mig_profile));
                assert_true(l->parts[x->part].used);
            }
            /* the subset it placed is feasible per brute force too (it is the layout) */
        }
        fx_free(&f);
    }
    assert_true(feasible > 50 && infeasible > 50);
}

/* ---------------------------------------------------------------- fractional policies */

static void test_frag_score_and_policies(void **st) {
    (void)st;
    gs_frag_type types[2] = {{{1000, 0, 1, 500}, 1}, {{1000, 0, 1, 1000}, 1}};
    gs_frag_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    for (int i = 0; i < 2; i++) {
        nodes[i].cpu_free = 8000;
        nodes[i].mem_free = 1000;
        nodes[i].ngpus = 2;
        nodes[i].gpu_free[0] = 1000;
        nodes[i].gpu_free[1] = 1000;
    }
    nodes[1].gpu_free[0] = 400; /* 400 free on one GPU */
    gs_frag_state s;
    assert_int_equal(gs_frag_init(&s, nodes, 2, types, 2), 0);
    /* node 1: for the 500 type, the 400 GPU is a fragment (400); for the 1000 type, too (400) */
    assert_int_equal(gs_frag_node_frag(&s, &nodes[1]), 800);
    assert_int_equal(gs_frag_node_frag(&s, &nodes[0]), 0);
    /* a 400 milli pod: FGD puts it on node 1's 400 GPU (fragmentation drops to 0) */
    gs_frag_task t = {500, 10, 1, 400};
    uint64_t rng = 1;
    assert_int_equal(gs_frag_place(&s, GS_FRAG_FGD, &t, &rng), 1);
    assert_int_equal(nodes[1].gpu_free[0], 0);
    /* CPU shortage makes every type unfit: all free GPU is fragment */
    nodes[0].cpu_free = 500;
    assert_int_equal(gs_frag_node_frag(&s, &nodes[0]), 2 * 2000);
    gs_frag_free(&s);
    /* BestFit: the node with less free CPU+GPU wins */
    gs_frag_node b[2];
    memset(b, 0, sizeof b);
    b[0].cpu_free = 64000; b[0].mem_free = 100; b[0].ngpus = 1; b[0].gpu_free[0] = 1000;
    b[1].cpu_free = 8000;  b[1].mem_free = 100; b[1].ngpus = 1; b[1].gpu_free[0] = 1000;
    assert_int_equal(gs_frag_init(&s, b, 2, types, 2), 0);
    gs_frag_task u = {1000, 10, 1, 300};
    assert_int_equal(gs_frag_place(&s, GS_FRAG_BESTFIT, &u, &rng), 1);
    gs_frag_task big = {100000, 10, 1, 300};
    assert_int_equal(gs_frag_place(&s, GS_FRAG_BESTFIT, &big, &rng), -1);
    gs_frag_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_existing_then_claim),
        cmocka_unit_test(test_whole_never_split_across_nodes),
        cmocka_unit_test(test_cheapest_type_for_demand),
        cmocka_unit_test(test_mig_existing_partition_first),
        cmocka_unit_test(test_mig_never_touch_busy_gpu),
        cmocka_unit_test(test_mig_repartition_idle_gpu),
        cmocka_unit_test(test_mig_4g_4g_impossible),
        cmocka_unit_test(test_mig_3g_3g_and_mixed),
        cmocka_unit_test(test_mig_pool_profiles_and_reason),
        cmocka_unit_test(test_timeslicing_no_overcommit),
        cmocka_unit_test(test_fractional_best_fit),
        cmocka_unit_test(test_pools_by_weight_then_price),
        cmocka_unit_test(test_budget_gate),
        cmocka_unit_test(test_taints_and_selectors),
        cmocka_unit_test(test_priority_and_cordon),
        cmocka_unit_test(test_deterministic_and_candidates),
        cmocka_unit_test(test_selector_pins_claims),
        cmocka_unit_test(test_claim_modes_and_limits),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_mig_random_vs_brute),
        cmocka_unit_test(test_frag_score_and_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
