/* The packer tests' shared fixture (tests/test_pack_more.c, tests/test_pack_spread.c): a
 * catalog of made-up instance types with exact prices, pools selecting a family, nodes and
 * pending pods in a snapshot, and the plan. Functions are static inline so a test that uses
 * only some of them compiles without unused-function warnings. */
#ifndef GS_TESTS_PACK_FIXTURE_H
#define GS_TESTS_PACK_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/gpu.h"
#include "policy/pack.h"

typedef struct fx {
    gs_catalog cat;
    gs_pool pools[4];
    int32_t npools;
    gs_snapshot s;
    gs_plan plan;
} fx;

static inline void add_type(fx *f, const char *name, const char *family, const char *gpu, int gpus, double usd) {
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
    t.gpu_model = gs_gpu_find(gpu);
    t.od_price = (gs_usd_u)(usd * 1e6 + 0.5);
    assert_int_equal(gs_catalog_add(&f->cat, &t, NULL), 0);
}

static inline void fx_init(fx *f) {
    memset(f, 0, sizeof *f);
    gs_catalog_init(&f->cat);
    gs_snapshot_init(&f->s);
    gs_plan_init(&f->plan);
}

static inline void fx_free(fx *f) {
    gs_plan_free(&f->plan);
    gs_snapshot_free(&f->s);
    gs_catalog_free(&f->cat);
}

static inline gs_pool *pool(fx *f, const char *name, gs_share_mode m, const char *family, int replicas) {
    gs_pool *p = &f->pools[f->npools++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->sharing = m;
    p->ts_replicas = replicas;
    p->reqs[0].key = GS_KEY_FAMILY;
    p->reqs[0].op = GS_OP_IN;
    snprintf(p->reqs[0].values[0], GS_NAME_LEN, "%s", family);
    p->reqs[0].nvalues = 1;
    p->nreqs = 1;
    return p;
}

/* A node whose GPUs are all WHOLE and idle (gs_node_init), of pool pool_idx. */
static inline int32_t node(fx *f, const char *name, const char *itype, int32_t pool_idx) {
    gs_node n;
    gs_node_init(&n, name, &f->cat, gs_catalog_find(&f->cat, itype), GS_CAP_ON_DEMAND);
    n.pool = pool_idx;
    int32_t r = gs_snapshot_add_node(&f->s, &n);
    assert_true(r >= 0);
    return r;
}

static inline int32_t pod(fx *f, const char *name, gs_gpu_form form, int count, const char *profile) {
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
    p.spec.gpu.count = form == GS_GPU_FRACTION ? 1 : count;
    if (form == GS_GPU_FRACTION) p.spec.gpu.milli = count;
    if (profile) snprintf(p.spec.gpu.mig_profile, sizeof p.spec.gpu.mig_profile, "%s", profile);
    int32_t r = gs_snapshot_add_pod(&f->s, &p);
    assert_true(r >= 0);
    return r;
}

static inline void plan_gated(fx *f, bool switch_modes, gs_pack_gate_fn gate, void *ctx) {
    gs_pack_input in = {.snap = &f->s, .pools = f->pools, .npools = f->npools, .catalog = &f->cat,
                        .may_add = gate, .gate_ctx = ctx, .switch_modes = switch_modes};
    gs_error e;
    int rc = gs_pack_plan(&in, &f->plan, &e);
    if (rc) fail_msg("plan: %s", e.msg);
}

static inline void plan_ok(fx *f, bool switch_modes) { plan_gated(f, switch_modes, NULL, NULL); }

static inline const gs_placement *where(const fx *f, int32_t p) {
    for (int32_t i = 0; i < f->plan.nplace; i++)
        if (f->plan.place[i].pod == p) return &f->plan.place[i];
    fail_msg("pod %d has no placement", p);
    static const gs_placement none = {-1, GS_PLACE_NONE, -1, -1, 0, -1};
    return &none;
}

#endif
