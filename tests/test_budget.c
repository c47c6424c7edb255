/* Attribution meter, budget windows, the gate and budget actions (policy/budget). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"
#include "policy/budget.h"
#include "policy/mig.h"
#include "testutil.h"

typedef struct fx {
    gs_catalog cat;
    gs_snapshot s;
} fx;

static int setup(void **st) {
    fx *f = calloc(1, sizeof *f);
    gs_test_catalog(&f->cat);
    /* a CPU-only type and an A30 type, which the bundled GPU catalog does not carry */
    gs_itype cpu = {0};
    snprintf(cpu.name, sizeof cpu.name, "m5.xlarge");
    snprintf(cpu.family, sizeof cpu.family, "m5");
    cpu.vcpu = 4;
    cpu.mem_mib = 16384;
    cpu.alloc_cpu = 4000;
    cpu.alloc_mem = 16000;
    cpu.max_pods = 58;
    cpu.gpu_model = -1;
    cpu.od_price = 192000;
    gs_itype a30 = cpu;
    snprintf(a30.name, sizeof a30.name, "a30.test");
    snprintf(a30.family, sizeof a30.family, "a30t");
    a30.gpus = 1;
    a30.gpu_model = gs_gpu_find("a30");
    a30.od_price = GS_USD(1);
    assert_int_equal(gs_catalog_add(&f->cat, &cpu, NULL), 0);
    assert_int_equal(gs_catalog_add(&f->cat, &a30, NULL), 0);
    gs_snapshot_init(&f->s);
    *st = f;
    return 0;
}

static int teardown(void **st) {
    fx *f = *st;
    gs_snapshot_free(&f->s);
    gs_catalog_free(&f->cat);
    free(f);
    return 0;
}

static int32_t add_node(fx *f, const char *itype, gs_capacity cap) {
    gs_node n;
    int t = gs_catalog_find(&f->cat, itype);
    assert_true(t >= 0);
    gs_node_init(&n, itype, &f->cat, t, cap);
    n.created_at = 0;
    return gs_snapshot_add_node(&f->s, &n);
}

static void add_pod(fx *f, int32_t node, const char *project, const char *workload, gs_gpu_form form,
                    int32_t count, int gpu, int part) {
    gs_pod p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "p%d", (int)f->s.npods);
    snprintf(p.ns, sizeof p.ns, "%s", project);
    snprintf(p.project, sizeof p.project, "%s", project);
    snprintf(p.workload, sizeof p.workload, "%s", workload);
    p.spec.gpu.form = form;
    p.spec.gpu.count = form == GS_GPU_FRACTION ? 0 : count;
    p.spec.gpu.milli = form == GS_GPU_FRACTION ? count : 0;
    p.spec.cpu = 1000;
    p.spec.mem = 4000;
    p.phase = GS_POD_RUNNING;
    p.node = node;
    p.gpu = (int8_t)gpu;
    p.part = (int8_t)part;
    assert_true(gs_snapshot_add_pod(&f->s, &p) >= 0);
}

static int mig_place(fx *f, int32_t node, int gpu, const char *profile, int start) {
    gs_node *n = &f->s.nodes[node];
    const gs_gpu_model *m = gs_gpu_get(f->cat.types[n->itype].gpu_model);
    gs_gpu_state *g = &n->gpus[gpu];
    g->mode = GS_GPUMODE_MIG;
    int p = gs_mig_profile_find(m, profile);
    assert_true(p >= 0);
    g->parts[g->nparts].profile = (int8_t)p;
    g->parts[g->nparts].start = (uint8_t)start;
    g->parts[g->nparts].used = true;
    assert_true(gs_mig_valid(m, g->parts, g->nparts + 1, NULL));
    return g->nparts++;
}

static gs_usd_u part_usd(const gs_meter_node *m, const char *project) {
    gs_usd_u s = 0;
    for (int i = 0; i < m->nparts; i++)
        if (strcmp(m->parts[i].project, project) == 0) s += m->parts[i].usd;
    return s;
}

static void assert_sums(const gs_meter_node *m) {
    gs_usd_u s = 0;
    int64_t w = 0;
    for (int i = 0; i < m->nparts; i++) {
        assert_true(m->parts[i].usd >= 0);
        s += m->parts[i].usd;
        w += m->parts[i].weight;
    }
    assert_int_equal(s, m->total);
    assert_int_equal(w, m->denom);
    assert_string_equal(m->parts[m->nparts - 1].project, GS_METER_IDLE);
}

static void test_meter_mig(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "p4d.24xlarge", GS_CAP_ON_DEMAND); /* 8 x A100-40GB, $21.957642/h */
    int a = mig_place(f, n, 0, "3g.20gb", 0);
    int b1 = mig_place(f, n, 0, "1g.5gb", 4);
    int b2 = mig_place(f, n, 0, "1g.5gb", 5);
    add_pod(f, n, "team-a", "llm", GS_GPU_MIG, 1, 0, a);
    add_pod(f, n, "team-b", "embed", GS_GPU_MIG, 1, 0, b1);
    add_pod(f, n, "team-b", "embed", GS_GPU_MIG, 1, 0, b2);
    add_pod(f, n, "team-a", "train", GS_GPU_WHOLE, 1, 1, -1);
    gs_meter_node m;
    gs_error e;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, GS_HOUR(1), &m, &e), 0);
    assert_int_equal(m.total, 21957642);
    assert_sums(&m);
    /* team-a: 4/8 of GPU0 + GPU1 = 12/64; team-b 2/64; idle 50/64.
     * floors 4117057 (.875), 686176 (.3125), 17154407 (.8125): 2 left -> team-a, idle */
    assert_int_equal(part_usd(&m, "team-a"), 4117058);
    assert_int_equal(part_usd(&m, "team-b"), 686176);
    assert_int_equal(part_usd(&m, GS_METER_IDLE), 17154408);
    assert_int_equal(m.nparts, 4); /* team-a/llm, team-a/train, team-b/embed, idle */
}

static void test_meter_mig_a30(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "a30.test", GS_CAP_ON_DEMAND);
    int a = mig_place(f, n, 0, "2g.12gb", 0);
    int b = mig_place(f, n, 0, "1g.6gb", 2);
    add_pod(f, n, "a", "w", GS_GPU_MIG, 1, 0, a);
    add_pod(f, n, "b", "w", GS_GPU_MIG, 1, 0, b);
    gs_meter_node m;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, GS_HOUR(1), &m, NULL), 0);
    assert_sums(&m);
    /* out of 4 slices on A30 */
    assert_int_equal(part_usd(&m, "a"), 500000);
    assert_int_equal(part_usd(&m, "b"), 250000);
    assert_int_equal(part_usd(&m, GS_METER_IDLE), 250000);
}

static void test_meter_timesliced(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "g5.xlarge", GS_CAP_ON_DEMAND); /* $1.006/h */
    f->s.nodes[n].gpus[0].mode = GS_GPUMODE_TIMESLICED;
    f->s.nodes[n].gpus[0].ts_replicas = 4;
    add_pod(f, n, "a", "w", GS_GPU_SHARED, 1, 0, -1);
    add_pod(f, n, "b", "w", GS_GPU_SHARED, 2, 0, -1);
    gs_meter_node m;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, GS_SEC(90), &m, NULL), 0);
    assert_int_equal(m.total, 25150);
    assert_sums(&m);
    /* 6287.5 / 12575 / 6287.5: the tie on .5 goes to the project, not to idle */
    assert_int_equal(part_usd(&m, "a"), 6288);
    assert_int_equal(part_usd(&m, "b"), 12575);
    assert_int_equal(part_usd(&m, GS_METER_IDLE), 6287);
}

static void test_meter_whole_and_fraction(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "g5.12xlarge", GS_CAP_SPOT); /* 4 x A10G */
    f->s.nodes[n].gpus[3].mode = GS_GPUMODE_FRACTIONAL;
    add_pod(f, n, "a", "w", GS_GPU_WHOLE, 2, 0, -1);
    add_pod(f, n, "b", "w", GS_GPU_WHOLE, 1, 2, -1);
    add_pod(f, n, "c", "w", GS_GPU_FRACTION, 250, 3, -1);
    add_pod(f, n, "d", "w", GS_GPU_FRACTION, 333, 3, -1);
    gs_meter_node m;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, GS_SEC(10), GS_SEC(3610), &m, NULL), 0);
    const gs_itype *t = &f->cat.types[f->s.nodes[n].itype];
    assert_int_equal(m.price_per_hour, gs_itype_price(t, GS_CAP_SPOT));
    assert_int_equal(m.total, m.price_per_hour);
    assert_sums(&m);
    gs_usd_u p = m.total;
    assert_true(llabs(part_usd(&m, "a") - p / 2) <= 1);
    assert_true(llabs(part_usd(&m, "b") - p / 4) <= 1);
    assert_true(llabs(part_usd(&m, "c") - p * 250 / 4000) <= 1);
    assert_true(llabs(part_usd(&m, "d") - p * 333 / 4000) <= 1);
}

static void test_meter_cpu_node(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "m5.xlarge", GS_CAP_ON_DEMAND); /* 4000m, 16000 MiB, $0.192/h */
    add_pod(f, n, "a", "w", GS_GPU_NONE, 0, -1, -1);       /* 1000m + 4000 MiB: 1/4 */
    f->s.pods[f->s.npods - 1].spec.mem = 12000;            /* (1/4 + 3/4) / 2 = 1/2 */
    add_pod(f, n, "b", "w", GS_GPU_NONE, 0, -1, -1);       /* 1/4 */
    gs_meter_node m;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, GS_HOUR(1), &m, NULL), 0);
    assert_sums(&m);
    assert_int_equal(part_usd(&m, "a"), 96000);
    assert_int_equal(part_usd(&m, "b"), 48000);
    assert_int_equal(part_usd(&m, GS_METER_IDLE), 48000);
    /* more than the node has: refused, not scaled down silently */
    add_pod(f, n, "c", "w", GS_GPU_NONE, 0, -1, -1);
    f->s.pods[f->s.npods - 1].spec.cpu = 4000;
    gs_error e;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, GS_HOUR(1), &m, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "more CPU/memory"));
}

static void test_meter_mixed_and_finished(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "p4d.24xlarge", GS_CAP_SPOT);
    int a = mig_place(f, n, 0, "2g.10gb", 0);
    add_pod(f, n, "a", "w", GS_GPU_MIG, 1, 0, a);
    f->s.nodes[n].gpus[1].mode = GS_GPUMODE_TIMESLICED;
    f->s.nodes[n].gpus[1].ts_replicas = 3;
    add_pod(f, n, "b", "w", GS_GPU_SHARED, 1, 1, -1);
    f->s.nodes[n].gpus[2].mode = GS_GPUMODE_FRACTIONAL;
    add_pod(f, n, "c", "w", GS_GPU_FRACTION, 125, 2, -1);
    add_pod(f, n, "d", "w", GS_GPU_WHOLE, 4, 4, -1);
    add_pod(f, n, "e", "sidecar", GS_GPU_NONE, 0, -1, -1);  /* CPU-only on a GPU node: free */
    add_pod(f, n, "z", "done", GS_GPU_WHOLE, 1, 3, -1);
    f->s.pods[f->s.npods - 1].phase = GS_POD_SUCCEEDED;      /* finished: not charged */
    gs_meter_node m;
    for (gs_ms len = 1; len < GS_HOUR(2); len = len * 3 + 7) {
        assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 1234, 1234 + len, &m, NULL), 0);
        assert_sums(&m);
        assert_int_equal(part_usd(&m, "e"), 0);
        assert_int_equal(part_usd(&m, "z"), 0);
    }
    /* L = lcm(8, 3, 1000, 1) = 3000; denom = 8 * 3000 */
    assert_int_equal(m.denom, 24000);
}

static void test_meter_telescopes(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "p5.48xlarge", GS_CAP_ON_DEMAND); /* $55.04/h */
    f->s.nodes[n].created_at = 777;
    add_pod(f, n, "a", "w", GS_GPU_WHOLE, 3, 0, -1);
    gs_usd_u sum = 0, a = 0;
    gs_meter_node m;
    for (gs_ms t = 777; t < 777 + GS_HOUR(1); t += 1000) {
        assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, t, t + 1000, &m, NULL), 0);
        assert_sums(&m);
        sum += m.total;
        a += part_usd(&m, "a");
    }
    /* 3600 one-second intervals add up to exactly one hour of the price */
    assert_int_equal(sum, 55040000);
    assert_true(llabs(a - 55040000 * 3 / 8) <= 3600);
}

static void test_meter_random_exact(void **st) {
    fx *f = *st;
    unsigned seed = 42;
    const char *types[] = {"p4d.24xlarge", "g5.12xlarge", "p5.48xlarge", "a30.test", "g4dn.metal"};
    for (int iter = 0; iter < 300; iter++) {
        gs_snapshot_free(&f->s);
        gs_snapshot_init(&f->s);
        int32_t n = add_node(f, types[rand_r(&seed) % 5], rand_r(&seed) % 2 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
        gs_node *nd = &f->s.nodes[n];
        const gs_itype *t = &f->cat.types[nd->itype];
        const gs_gpu_model *gm = gs_gpu_get(t->gpu_model);
        for (int g = 0; g < nd->ngpus; g++) {
            int mode = rand_r(&seed) % 4;
            if (mode == 1 && !gs_gpu_has_mig(gm)) mode = 0;
            char proj[8];
            snprintf(proj, sizeof proj, "p%u", rand_r(&seed) % 5);
            if (mode == 0) {
                if (rand_r(&seed) % 2) add_pod(f, n, proj, "w", GS_GPU_WHOLE, 1, g, -1);
            } else if (mode == 1) {
                gs_mig_counts mc[64];
                int k = gs_mig_maximal_counts(gm, mc, 64);
                int pick = rand_r(&seed) % (k < 64 ? k : 64);
                gs_mig_layout lay;
                assert_true(gs_mig_fit(gm, NULL, 0, &mc[pick], &lay));
                nd = &f->s.nodes[n];
                nd->gpus[g].mode = GS_GPUMODE_MIG;
                nd->gpus[g].nparts = lay.n;
                memcpy(nd->gpus[g].parts, lay.parts, sizeof lay.parts);
                for (int p = 0; p < lay.n; p++)
                    if (rand_r(&seed) % 3) {
                        snprintf(proj, sizeof proj, "p%u", rand_r(&seed) % 5);
                        add_pod(f, n, proj, "w", GS_GPU_MIG, 1, g, p);
                    }
            } else if (mode == 2) {
                int r = 2 + (int)(rand_r(&seed) % 9);
                nd->gpus[g].mode = GS_GPUMODE_TIMESLICED;
                nd->gpus[g].ts_replicas = (int16_t)r;
                for (int used = 0; used < r;) {
                    int c = 1 + (int)(rand_r(&seed) % 3);
                    if (used + c > r || rand_r(&seed) % 4 == 0) break;
                    snprintf(proj, sizeof proj, "p%u", rand_r(&seed) % 5);
                    add_pod(f, n, proj, "w", GS_GPU_SHARED, c, g, -1);
                    used += c;
                }
            } else {
                nd->gpus[g].mode = GS_GPUMODE_FRACTIONAL;
                for (int used = 0; used < 1000;) {
                    int c = 1 + (int)(rand_r(&seed) % 400);
                    if (used + c > 1000 || rand_r(&seed) % 4 == 0) break;
                    snprintf(proj, sizeof proj, "p%u", rand_r(&seed) % 5);
                    add_pod(f, n, proj, "w", GS_GPU_FRACTION, c, g, -1);
                    used += c;
                }
            }
            nd = &f->s.nodes[n];
        }
        gs_ms t0 = rand_r(&seed) % 100000, len = rand_r(&seed) % GS_HOUR(30);
        gs_meter_node m;
        gs_error e;
        int rc = gs_meter_node_split(&f->s, &f->cat, n, t0, t0 + len, &m, &e);
        if (rc) fail_msg("iter %d: %s", iter, e.msg);
        assert_sums(&m);
        /* the indexed variant (pods of this node listed, in reverse) gives the same parts */
        int32_t idx[512];
        int32_t k = 0;
        for (int32_t i = f->s.npods - 1; i >= 0 && k < 512; i--) idx[k++] = i;
        gs_meter_node m2;
        assert_int_equal(gs_meter_node_split_idx(&f->s, &f->cat, n, idx, k, t0, t0 + len, &m2, &e), 0);
        assert_int_equal(m2.nparts, m.nparts);
        for (int32_t i = 0; i < m.nparts; i++) {
            assert_string_equal(m2.parts[i].project, m.parts[i].project);
            assert_int_equal(m2.parts[i].usd, m.parts[i].usd);
        }
    }
}

static void test_meter_bad_snapshots(void **st) {
    fx *f = *st;
    int32_t n = add_node(f, "g5.12xlarge", GS_CAP_ON_DEMAND);
    add_pod(f, n, "a", "w", GS_GPU_WHOLE, 2, 0, -1);
    add_pod(f, n, "b", "w", GS_GPU_WHOLE, 1, 1, -1); /* GPU 1 held twice */
    gs_meter_node m;
    gs_error e;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, 1000, &m, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "held more than once"));
    f->s.pods[1].gpu = 7; /* no such GPU */
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, 1000, &m, &e), GS_EINVAL);
    f->s.pods[1].gpu = 2;
    f->s.pods[1].spec.gpu.form = GS_GPU_MIG; /* MIG pod on a GPU that is not MIG */
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, 1000, &m, &e), GS_EINVAL);
    f->s.pods[1].spec.gpu.form = GS_GPU_SHARED;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, 1000, &m, &e), GS_EINVAL);
    f->s.pods[1].spec.gpu.form = GS_GPU_WHOLE;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, 1000, &m, &e), 0);
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 2000, 1000, &m, &e), GS_EINVAL);
    f->s.nodes[n].created_at = 5000;
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, n, 0, 6000, &m, &e), GS_EINVAL);
    assert_int_equal(gs_meter_node_split(&f->s, &f->cat, 9, 0, 6000, &m, &e), GS_EINVAL);
}

static void test_split_ties(void **st) {
    (void)st;
    /* 10 micro-dollars over 3 equal parts of 1/3 each, no idle: 4,3,3 with order deciding */
    int64_t w[3] = {1, 1, 1};
    int32_t ord[3] = {2, 0, 1};
    gs_usd_u out[4];
    assert_int_equal(gs_meter_split(10, w, ord, 3, 3, out), 0);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 4);
    assert_int_equal(out[2], 3);
    assert_int_equal(out[3], 0);
    int64_t bad[2] = {3, 2};
    assert_int_equal(gs_meter_split(10, bad, NULL, 2, 4, out), GS_EINVAL);
}

/* ---------------------------------------------------------------------------------------- */

static gs_budget mkbudget(const char *project, gs_enforce enf, gs_on_exceeded onx) {
    gs_budget b;
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "%s-budget", project);
    snprintf(b.project, sizeof b.project, "%s", project);
    snprintf(b.timezone, sizeof b.timezone, "UTC");
    b.enforce = enf;
    b.on_exceeded = onx;
    return b;
}

/* periods: hour [0, 1h), day [0, 24h), month [0, 30d) */
static gs_budget_state mkstate(const gs_budget *b, gs_usd_u spent_h, gs_usd_u spent_d, gs_usd_u spent_m,
                               gs_usd_u rate) {
    gs_budget_state s;
    memset(&s, 0, sizeof s);
    s.budget = b;
    s.periods.end[GS_WIN_HOUR] = GS_HOUR(1);
    s.periods.end[GS_WIN_DAY] = GS_HOUR(24);
    s.periods.end[GS_WIN_MONTH] = GS_HOUR(24 * 30);
    s.spent[GS_WIN_HOUR] = spent_h;
    s.spent[GS_WIN_DAY] = spent_d;
    s.spent[GS_WIN_MONTH] = spent_m;
    s.rate_per_hour = rate;
    return s;
}

static void test_gate_exactly_at_limit(void **st) {
    (void)st;
    gs_budget b = mkbudget("team-a", GS_ENFORCE_HARD, GS_ON_EXCEEDED_BLOCK);
    b.per_hour = GS_USD(10);
    gs_budget_state s = mkstate(&b, GS_USD(5), GS_USD(5), GS_USD(5), 0);
    gs_usd_u approved[1];
    gs_budget_gate_ctx g;
    char why[512];
    /* 30 minutes left: 5 + 10 x 0.5 = 10 exactly: allowed */
    gs_budget_gate_init(&g, GS_MIN(30), &s, 1, approved);
    assert_true(gs_budget_gate(&g, "team-a", GS_USD(10), why, sizeof why));
    assert_string_equal(why, "");
    /* one more micro-dollar per 30 min crosses it */
    gs_budget_gate_init(&g, GS_MIN(30), &s, 1, approved);
    assert_false(gs_budget_gate(&g, "team-a", GS_USD(10) + 2, why, sizeof why));
    assert_non_null(strstr(why, "hard hour limit $10"));
    assert_non_null(strstr(why, "would be crossed"));
    assert_true(strlen(why) < 160); /* fits the packer's reason buffer */
    assert_int_equal(g.refused, 1);
    /* other projects are not governed by it */
    assert_true(gs_budget_gate(&g, "team-b", GS_USD(1000), why, sizeof why));
    /* already at the limit: nothing more */
    s.spent[GS_WIN_HOUR] = GS_USD(10);
    gs_budget_gate_init(&g, GS_MIN(30), &s, 1, approved);
    assert_false(gs_budget_gate(&g, "team-a", 1, why, sizeof why));
    assert_non_null(strstr(why, "reached (spent $10"));
}

static void test_gate_accumulates_within_a_plan(void **st) {
    (void)st;
    gs_budget b = mkbudget("a", GS_ENFORCE_HARD, GS_ON_EXCEEDED_BLOCK);
    b.per_day = GS_USD(100);
    /* 12h left in the day, $40 spent, running $2/h: room for (100 - 40)/12 - 2 = $3/h */
    gs_budget_state s = mkstate(&b, 0, GS_USD(40), GS_USD(40), GS_USD(2));
    gs_usd_u approved[1];
    gs_budget_gate_ctx g;
    gs_budget_gate_init(&g, GS_HOUR(12), &s, 1, approved);
    assert_true(gs_budget_gate(&g, "a", GS_USD(2), NULL, 0));
    assert_true(gs_budget_gate(&g, "a", GS_USD(1), NULL, 0));
    char why[512];
    assert_false(gs_budget_gate(&g, "a", 1000, why, sizeof why));
    print_message("reason: %s\n", why);
    assert_string_equal(why, "budget a-budget: hard day limit $100.00 would be crossed: $100.012 by period end "
                             "($40.00 spent, $5.001/h for 12h)");
    /* the refusal is cached for this plan: a dearer launch gets the same answer and reason,
     * a cheaper one is still evaluated */
    char why2[512];
    assert_false(gs_budget_gate(&g, "a", 5000, why2, sizeof why2));
    assert_string_equal(why2, why);
    assert_int_equal(g.refused, 2);
    assert_true(gs_budget_gate(&g, "a", 0, why2, sizeof why2));
    assert_true(gs_budget_gate(&g, "b", 5000, why2, sizeof why2));
    assert_int_equal(approved[0], GS_USD(3));
    assert_int_equal(g.refused, 2);
}

static void test_gate_by_pool(void **st) {
    fx *f = *st;
    gs_budget b = mkbudget("a", GS_ENFORCE_HARD, GS_ON_EXCEEDED_BLOCK);
    b.per_hour = GS_USD(31);
    gs_budget_state s = mkstate(&b, 0, 0, 0, 0);
    gs_usd_u appr[1];
    gs_budget_gate_ctx g;
    gs_budget_gate_init(&g, 0, &s, 1, appr);
    const char *pp[3] = {"a", NULL, "b"};
    gs_budget_pool_gate_ctx pc = {&g, &f->cat, pp, 3};
    int p4d = gs_catalog_find(&f->cat, "p4d.24xlarge"); /* $21.96/h on demand, $8.78 spot */
    char why[128];
    /* a full hour left: one p4d on demand fits $31/h, a second does not; a spot one still does */
    assert_true(gs_budget_gate_pool(&pc, 0, p4d, GS_CAP_ON_DEMAND, 0, why, (int)sizeof why));
    assert_false(gs_budget_gate_pool(&pc, 0, p4d, GS_CAP_ON_DEMAND, 0, why, (int)sizeof why));
    assert_true(strlen(why) < 120);
    assert_true(gs_budget_gate_pool(&pc, 0, p4d, GS_CAP_SPOT, 0, why, (int)sizeof why));
    /* pools without a governed project, and other projects, are allowed */
    assert_true(gs_budget_gate_pool(&pc, 1, p4d, GS_CAP_ON_DEMAND, 0, why, (int)sizeof why));
    assert_true(gs_budget_gate_pool(&pc, 2, p4d, GS_CAP_ON_DEMAND, 0, why, (int)sizeof why));
    /* asked at another time than the one the windows were built for: refused */
    assert_false(gs_budget_gate_pool(&pc, 0, p4d, GS_CAP_SPOT, 5, why, (int)sizeof why));
    assert_false(gs_budget_gate_pool(&pc, 0, 9999, GS_CAP_SPOT, 0, why, (int)sizeof why));
}

static void test_gate_soft_and_on_exceeded(void **st) {
    (void)st;
    gs_budget b = mkbudget("a", GS_ENFORCE_SOFT, GS_ON_EXCEEDED_ALERT);
    b.per_month = GS_USD(1000);
    gs_budget_state s = mkstate(&b, 0, 0, GS_USD(900), GS_USD(1));
    gs_usd_u approved[1];
    gs_budget_gate_ctx g;
    char why[512];
    gs_budget_gate_init(&g, GS_HOUR(1), &s, 1, approved);
    uint8_t soft[1] = {0};
    g.soft_mask = soft;
    gs_budget_action acts[4];
    assert_int_equal(gs_budget_soft_actions(&g, acts, 4), 0);
    /* soft: crossing the month limit is allowed and reported */
    assert_true(gs_budget_gate(&g, "a", GS_USD(50), why, sizeof why));
    assert_non_null(strstr(why, "soft month limit"));
    assert_int_equal(g.soft_crossings, 1);
    assert_int_equal(soft[0], 1u << GS_WIN_MONTH);
    assert_int_equal(gs_budget_soft_actions(&g, acts, 4), 1);
    assert_int_equal(acts[0].kind, GS_BACT_SOFT_CROSSING);
    assert_int_equal(acts[0].window, GS_WIN_MONTH);
    assert_true(acts[0].pct > 100);
    assert_non_null(strstr(acts[0].msg, "past the soft month limit $1000.00"));
    /* soft + alert past the limit: still allowed */
    s.spent[GS_WIN_MONTH] = GS_USD(1001);
    gs_budget_gate_init(&g, GS_HOUR(1), &s, 1, approved);
    assert_true(gs_budget_gate(&g, "a", GS_USD(50), why, sizeof why));
    /* soft + block past the limit: refused */
    b.on_exceeded = GS_ON_EXCEEDED_BLOCK;
    assert_false(gs_budget_gate(&g, "a", GS_USD(50), why, sizeof why));
    assert_non_null(strstr(why, "onExceeded block"));
    /* hard + alert past the limit: refused (hard never goes over) */
    b.enforce = GS_ENFORCE_HARD;
    b.on_exceeded = GS_ON_EXCEEDED_ALERT;
    assert_false(gs_budget_gate(&g, "a", GS_USD(50), why, sizeof why));
    /* no budget at all */
    assert_true(gs_budget_gate(&g, "nobody", GS_USD(5000), why, sizeof why));
}

static void test_evaluate_and_actions(void **st) {
    (void)st;
    gs_budget b[2] = {mkbudget("a", GS_ENFORCE_HARD, GS_ON_EXCEEDED_SCALE_TO_MIN),
                      mkbudget("b", GS_ENFORCE_SOFT, GS_ON_EXCEEDED_ALERT)};
    b[0].per_day = GS_USD(100);
    b[0].alert_pct[0] = 50;
    b[0].alert_pct[1] = 80;
    b[0].nalerts = 2;
    b[1].per_hour = GS_USD(10);
    b[1].alert_pct[0] = 50;
    b[1].nalerts = 1;
    gs_budget_state s[2] = {mkstate(&b[0], 0, GS_USD(85), 0, GS_USD(2)),
                            mkstate(&b[1], GS_USD(4), 0, 0, 0)};
    gs_budget_eval ev;
    assert_int_equal(gs_budget_evaluate(&s[0], GS_MIN(30), &ev, NULL), 0);
    assert_int_equal(ev.w[GS_WIN_DAY].pct, 85);
    assert_int_equal(ev.w[GS_WIN_DAY].forecast, GS_USD(85 + 47)); /* + $2/h x 23.5 h */
    assert_int_equal(ev.w[GS_WIN_DAY].left, GS_MIN(23 * 60 + 30));
    assert_true(ev.w[GS_WIN_DAY].forecast_over);
    assert_false(ev.exceeded);
    assert_false(ev.w[GS_WIN_HOUR].limited);
    gs_budget_action acts[8];
    int32_t n = gs_budget_actions(s, 2, GS_MIN(30), acts, 8);
    assert_int_equal(n, 1);
    assert_int_equal(acts[0].kind, GS_BACT_ALERT);
    assert_int_equal(acts[0].pct, 80);
    assert_int_equal(acts[0].window, GS_WIN_DAY);
    assert_false(gs_budget_hard_hit(s, 2, "a", GS_MIN(30)));
    /* over: alert 100 + scaleToMin for a; b past 50% */
    s[0].spent[GS_WIN_DAY] = GS_USD(100);
    s[1].spent[GS_WIN_HOUR] = GS_USD(5);
    n = gs_budget_actions(s, 2, GS_MIN(30), acts, 8);
    assert_int_equal(n, 3);
    assert_int_equal(acts[0].kind, GS_BACT_ALERT);
    assert_int_equal(acts[0].pct, 100);
    assert_int_equal(acts[1].kind, GS_BACT_SCALE_TO_MIN);
    assert_string_equal(acts[1].project, "a");
    assert_int_equal(acts[2].kind, GS_BACT_ALERT);
    assert_int_equal(acts[2].budget, 1);
    assert_int_equal(acts[2].pct, 50);
    assert_true(gs_budget_hard_hit(s, 2, "a", GS_MIN(30)));
    assert_false(gs_budget_hard_hit(s, 2, "b", GS_MIN(30)));
    /* outside the period: an error, not a guess */
    gs_error e;
    assert_int_equal(gs_budget_evaluate(&s[1], GS_HOUR(2), &ev, &e), GS_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meter_mig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_mig_a30, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_timesliced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_whole_and_fraction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_cpu_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_mixed_and_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_telescopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_random_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meter_bad_snapshots, setup, teardown),
        cmocka_unit_test(test_split_ties),
        cmocka_unit_test(test_gate_exactly_at_limit),
        cmocka_unit_test(test_gate_accumulates_within_a_plan),
        cmocka_unit_test(test_gate_soft_and_on_exceeded),
        cmocka_unit_test_setup_teardown(test_gate_by_pool, setup, teardown),
        cmocka_unit_test(test_evaluate_and_actions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
