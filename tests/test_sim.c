/* Simulator: engine pieces, trace readers, scenario loader, and the invariants of every
 * policy on several traces (fit, exactly-once service, cost = integral of prices, oracle is a
 * lower bound, determinism). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/catalog_load.h"
#include "policy/reconcile.h"
#include "sim/heap.h"
#include "sim/report.h"
#include "sim/rng.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "sim/trace.h"
#include "testutil.h"

static void test_heap_order(void **state) {
    (void)state;
    gs_heap h;
    gs_heap_init(&h);
    gs_rng r;
    gs_rng_seed(&r, 7);
    for (int i = 0; i < 5000; i++) assert_int_equal(gs_heap_push(&h, (gs_ms)gs_rng_below(&r, 1000), 0, i, 0, 0), 0);
    gs_event e, prev = {0};
    int n = 0;
    while (gs_heap_pop(&h, &e) == 0) {
        if (n) {
            assert_true(e.at >= prev.at);
            if (e.at == prev.at) assert_true(e.seq > prev.seq); /* FIFO among equal times */
        }
        prev = e;
        n++;
    }
    assert_int_equal(n, 5000);
    gs_heap_free(&h);
}

static void test_rng_deterministic(void **state) {
    (void)state;
    gs_rng a, b, c;
    gs_rng_seed(&a, 42);
    gs_rng_seed(&b, 42);
    gs_rng_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = gs_rng_next(&a);
        assert_true(x == gs_rng_next(&b));
        same_c += x == gs_rng_next(&c);
    }
    assert_true(same_c < 2);
    double sum = 0;
    for (int i = 0; i < 100000; i++) sum += gs_rng_exp(&a, 5.0);
    assert_true(sum / 100000 > 4.9 && sum / 100000 < 5.1);
}

static void test_azure_crlf_no_final_newline(void **state) {
    (void)state;
    size_t len;
    char *txt = gs_test_read("sim/azure-crlf-nofinal.csv", &len);
    assert_true(len > 2 && txt[len - 1] != '\n');
    gs_llm_trace t = {0};
    gs_error err;
    assert_int_equal(gs_trace_azure_parse(txt, len, "x.csv", true, &t, &err), 0);
    assert_int_equal(t.n, 536);
    assert_int_equal(t.st.bad, 0);
    assert_int_equal(t.v[0].at, 0);
    assert_int_equal(t.v[0].ctx, 374); /* first conv row: 2023-11-16 18:15:46.6805900,374,44 */
    assert_int_equal(t.v[0].gen, 44);
    for (int64_t i = 1; i < t.n; i++) assert_true(t.v[i].at >= t.v[i - 1].at);
    /* the last row (no newline after it) is read */
    assert_int_equal(t.v[t.n - 1].ctx, 91);
    assert_int_equal(t.v[t.n - 1].gen, 16);
    gs_llm_trace_free(&t);
    /* the same text with LF endings and a final newline gives the same rows */
    char *lf = malloc(len + 2);
    size_t m = 0;
    for (size_t i = 0; i < len; i++)
        if (txt[i] != '\r') lf[m++] = txt[i];
    lf[m++] = '\n';
    gs_llm_trace u = {0};
    assert_int_equal(gs_trace_azure_parse(lf, m, "y.csv", true, &u, &err), 0);
    assert_int_equal(u.n, 536);
    gs_llm_trace_free(&u);
    free(lf);
    free(txt);
}

static void test_azure_bad_rows(void **state) {
    (void)state;
    const char *txt =
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
        "2023-11-16 18:15:46.6805900,374,44\r\n"
        "2023-11-16 18:15:47,abc,44\r\n"
        "2023-13-16 18:15:47.1,1,1\r\n"
        "2023-11-16 18:15:48.0000000,10\r\n"
        "2023-11-16 18:15:49.5,20,2";
    gs_llm_trace t = {0};
    gs_error err;
    gs_error_clear(&err);
    assert_int_equal(gs_trace_azure_parse(txt, strlen(txt), "bad.csv", false, &t, &err), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.st.bad, 3);
    assert_int_equal(t.st.msgs[0].line, 3);
    assert_non_null(strstr(t.st.msgs[0].why, "ContextTokens"));
    assert_int_equal(t.st.msgs[1].line, 4);
    assert_int_equal(t.st.msgs[2].line, 5);
    assert_int_equal(t.v[1].at, 2820); /* 49.500 - 46.680 s (ms precision) */
    gs_llm_trace_free(&t);
    gs_llm_trace s = {0};
    assert_int_equal(gs_trace_azure_parse(txt, strlen(txt), "bad.csv", true, &s, &err), GS_EPARSE);
    char buf[600];
    gs_error_format(&err, buf, sizeof buf);
    assert_non_null(strstr(buf, "bad.csv:3:"));
    /* wrong header */
    const char *h = "time,a,b\n1,2,3\n";
    assert_int_equal(gs_trace_azure_parse(h, strlen(h), "h.csv", false, &s, &err), GS_EPARSE);
    assert_non_null(strstr(err.msg, "header"));
    /* no valid rows at all */
    const char *e = "TIMESTAMP,ContextTokens,GeneratedTokens\nfoo,1,1\n";
    assert_int_equal(gs_trace_azure_parse(e, strlen(e), "e.csv", false, &s, &err), GS_EPARSE);
}

static void test_openb(void **state) {
    (void)state;
    size_t len;
    char *txt = gs_test_read("sim/openb-300.csv", &len);
    gs_job_trace t = {0};
    gs_error err;
    assert_int_equal(gs_trace_openb_parse(txt, len, "o.csv", true, &t, &err), 0);
    assert_int_equal(t.n + t.cpu_only, 300);
    assert_true(t.n > 200);
    assert_int_equal(t.v[0].create, 0);
    assert_int_equal(t.v[0].end, 12537496000LL);
    assert_int_equal(t.v[1].gpu_milli, 460);
    for (int64_t i = 1; i < t.n; i++) assert_true(t.v[i].create >= t.v[i - 1].create);
    gs_job_trace_free(&t);
    free(txt);
    /* unsorted rows are sorted; bad rows reported with their line */
    const char *u =
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
        "p1,1000,100,1,500,,LS,Running,50,60,50\n"
        "p2,1000,100,2,1000,,LS,Running,10,20,10\n"
        "p3,1000,100,1,500,,LS,Running,30,20,30\n"
        "p4,1000,100,0,0,,BE,Running,5,9,5\n";
    gs_job_trace v = {0};
    assert_int_equal(gs_trace_openb_parse(u, strlen(u), "u.csv", false, &v, &err), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.cpu_only, 1);
    assert_int_equal(v.st.bad, 1);
    assert_int_equal(v.st.msgs[0].line, 4);
    assert_int_equal(v.v[0].create, 10000);
    assert_int_equal(v.v[0].num_gpu, 2);
    gs_job_trace_free(&v);
    assert_int_equal(gs_trace_openb_parse(u, strlen(u), "u.csv", true, &v, &err), GS_EPARSE);
    assert_int_equal(err.line, 4);
    const char *m = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,1,1000\n";
    assert_int_equal(gs_trace_openb_parse(m, strlen(m), "m.csv", false, &v, &err), GS_EUNSUPPORTED);
    assert_int_equal(gs_trace_sniff(u, strlen(u)), 2);
    assert_int_equal(gs_trace_sniff("TIMESTAMP,x", 11), 1);
    assert_int_equal(gs_trace_sniff("zzz", 3), 0);
}

static void test_synth_diurnal(void **state) {
    (void)state;
    gs_llm_trace sizes = {0};
    gs_error err;
    assert_int_equal(gs_trace_azure_load(GS_TEST_DATA "/sim/azure-crlf-nofinal.csv", true, &sizes, &err), 0);
    gs_synth_params p = {GS_HOUR(24), 2.0, 0.1, 14, 0, 1, GS_MIN(10)};
    gs_rng r1, r2;
    gs_rng_seed(&r1, 5);
    gs_rng_seed(&r2, 5);
    gs_llm_trace a = {0}, b = {0};
    assert_int_equal(gs_trace_synth(&p, &sizes, &r1, &a, &err), 0);
    assert_int_equal(gs_trace_synth(&p, &sizes, &r2, &b, &err), 0);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.v, b.v, sizeof *a.v * (size_t)a.n);
    int64_t night = 0, day = 0;
    for (int64_t i = 0; i < a.n; i++) {
        gs_ms h = a.v[i].at / GS_HOUR(1);
        if (h == 2) night++;
        if (h == 14) day++;
    }
    /* rate at 14:00 is 2/s (7200/h), around 02:00 near the 0.1/s trough */
    assert_true(day > 6800 && day < 7600);
    assert_true(night < 800);
    gs_llm_trace_free(&a);
    gs_llm_trace_free(&b);
    gs_llm_trace_free(&sizes);
}

static const char *SCEN_PREFIX = "{\"pools\":[{\"name\":\"h\",\"instanceFamilies\":[\"p5\"]}],"
                                 "\"workloads\":[{\"name\":\"w\",\"traffic\":{\"sizesFrom\":\"x.csv\"}";

static int parse_scen(const char *body, gs_error *err) {
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *s = calloc(1, sizeof *s);
    int rc = gs_scenario_parse(s, body, strlen(body), "s.json", ".", &cat, err);
    free(s);
    gs_catalog_free(&cat);
    return rc;
}

static void test_scenario_errors(void **state) {
    (void)state;
    gs_error err;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s}]}", SCEN_PREFIX);
    assert_int_equal(parse_scen(buf, &err), 0);
    struct { const char *extra; const char *want; } cases[] = {
        {",\"colour\":1", "$.workloads[0].colour: unknown field"},
        {",\"coldStart\":\"5 parsecs\"", "$.workloads[0].coldStart: bad duration"},
        {",\"pool\":\"nope\"", "unknown pool 'nope'"},
        {",\"migProfile\":\"9g.99gb\"", "not an H100-80GB MIG profile"},
        {",\"scaler\":{\"minReplicas\":5,\"maxReplicas\":2}", "minReplicas is above maxReplicas"},
        {",\"serviceTime\":{\"baseMs\":-1}", "baseMs: must be in"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s}]}", SCEN_PREFIX, cases[i].extra);
        gs_error_clear(&err);
        assert_int_equal(parse_scen(buf, &err), GS_EPARSE);
        if (!strstr(err.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
    }
    /* JSON syntax errors carry line and column */
    assert_int_equal(parse_scen("{\n \"name\": ,\n}", &err), GS_EPARSE);
    assert_int_equal(err.line, 2);
    /* a pool admitting nothing */
    assert_int_equal(parse_scen("{\"pools\":[{\"name\":\"x\",\"instanceFamilies\":[\"zz9\"]}],\"workloads\":[]}", &err), GS_EPARSE);
    assert_non_null(strstr(err.msg, "admits no GPU instance type"));
}

static void test_reconcile_mig_launch_and_consolidate(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool = {0};
    snprintf(pool.name, sizeof pool.name, "h");
    pool.nreqs = 1;
    pool.reqs[0].key = GS_KEY_FAMILY;
    pool.reqs[0].op = GS_OP_IN;
    pool.reqs[0].nvalues = 1;
    snprintf(pool.reqs[0].values[0], GS_NAME_LEN, "p5");
    pool.sharing = GS_SHARE_MIG;
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0].type = GS_TRIG_SIM;
    sc.triggers[0].target_milli = 1000;
    sc.cooldown_period = GS_SEC(60);
    gs_scale_state ss;
    gs_scale_init(&ss);
    gs_scale_reading rd = {true, 5000};
    gs_rc_workload wl = {0, {0, 1, 8192, 2000, 8192}, "claims", &sc, &ss, &rd};
    gs_rc_input in = {0, &cat, &pool, 1, NULL, 0, NULL, 0, &wl, 1, NULL, NULL};
    gs_action acts[64];
    gs_rc_output out = {acts, 0, 64, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    int creates = 0, launches = 0, binds = 0, confs = 0;
    for (int i = 0; i < out.n; i++) {
        creates += acts[i].type == GS_ACT_CREATE_POD;
        launches += acts[i].type == GS_ACT_LAUNCH;
        binds += acts[i].type == GS_ACT_BIND;
        confs += acts[i].type == GS_ACT_CONFIGURE_GPU;
        if (acts[i].type == GS_ACT_LAUNCH) assert_string_equal(cat.types[acts[i].itype].name, "p5.4xlarge");
        if (acts[i].type == GS_ACT_LAUNCH) assert_int_equal(acts[i].cap, GS_CAP_ON_DEMAND);
        if (acts[i].type == GS_ACT_CONFIGURE_GPU) {
            const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
            assert_true(gs_mig_valid(m, acts[i].layout.parts, acts[i].layout.n, NULL));
            assert_int_equal(acts[i].layout.n, 7); /* five asked for, completed to seven 1g.10gb */
        }
    }
    assert_int_equal(creates, 5);
    assert_int_equal(launches, 1);
    assert_int_equal(confs, 1);
    assert_int_equal(binds, 5);
    /* an empty node is deleted at once; a node with a pod is kept */
    gs_rc_node nodes[2] = {0};
    for (int k = 0; k < 2; k++) {
        nodes[k].id = 10 + k;
        nodes[k].itype = gs_catalog_find(&cat, "p5.4xlarge");
        nodes[k].ngpus = 1;
        nodes[k].ready = true;
    }
    nodes[1].npods = 1;
    gs_scale_init(&ss);
    rd.value_milli = 0;
    gs_rc_pod pod = {77, -1, GS_RCP_BUSY, 1, 0, -1, 0, {1, 0, 0, 0, 0}, 0};
    gs_rc_input in2 = {0, &cat, &pool, 1, nodes, 2, &pod, 1, &wl, 1, NULL, NULL};
    out.n = 0;
    assert_int_equal(gs_reconcile_step(&in2, &out, &err), 0);
    int del10 = 0, del11 = 0;
    for (int i = 0; i < out.n; i++)
        if (acts[i].type == GS_ACT_DELETE_NODE) {
            del10 += acts[i].node == 10;
            del11 += acts[i].node == 11;
        }
    assert_int_equal(del10, 1);
    assert_int_equal(del11, 0);
    /* too small an action buffer is reported, not overrun */
    gs_scale_init(&ss);
    gs_scale_state before = ss;
    rd.value_milli = 50000;
    gs_rc_output tiny = {acts, 0, 3, 0};
    assert_int_equal(gs_reconcile_step(&in, &tiny, &err), GS_ETOOBIG);
    assert_memory_equal(&before, &ss, sizeof ss); /* nothing committed on failure */
    gs_catalog_free(&cat);
}

/* The packer's budget gate sees each pod's own project (an Environment's), not "default". */
static bool refuse_qa(void *ctx, const char *project, gs_usd_u usd_per_hour, char *why, size_t why_len) {
    (void)usd_per_hour;
    snprintf((char *)ctx, 32, "%s", project);
    if (strcmp(project, "qa") != 0) return true;
    snprintf(why, why_len, "qa is over budget");
    return false;
}

static void p5_pool(gs_pool *pool, gs_share_mode sharing) {
    memset(pool, 0, sizeof *pool);
    snprintf(pool->name, sizeof pool->name, "h");
    pool->nreqs = 1;
    pool->reqs[0].key = GS_KEY_FAMILY;
    pool->reqs[0].op = GS_OP_IN;
    pool->reqs[0].nvalues = 1;
    snprintf(pool->reqs[0].values[0], GS_NAME_LEN, "p5");
    pool->sharing = sharing;
}

static void test_reconcile_pod_project_gate(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    p5_pool(&pool, GS_SHARE_EXCLUSIVE);
    char seen[32] = "";
    gs_rc_pod pod = {5, -1, GS_RCP_PENDING, -1, -1, -1, 0, {1, 0, 0, 2000, 8192}, 0, "qa"};
    gs_rc_input in = {0, &cat, &pool, 1, NULL, 0, &pod, 1, NULL, 0, refuse_qa, seen};
    gs_action acts[16];
    gs_rc_output out = {acts, 0, 16, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_string_equal(seen, "qa");
    assert_int_equal(out.blocked, 1);
    for (int i = 0; i < out.n; i++) assert_int_not_equal(acts[i].type, GS_ACT_LAUNCH);
    /* without a project: the workload's, else "default" (allowed here) */
    pod.project = NULL;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    assert_string_equal(seen, "default");
    assert_int_equal(out.blocked, 0);
    int launches = 0;
    for (int i = 0; i < out.n; i++) launches += acts[i].type == GS_ACT_LAUNCH;
    assert_int_equal(launches, 1);
    gs_catalog_free(&cat);
}

/* Scale-in removes idle replicas from the emptiest node first (so it can be consolidated)
 * and new replicas go to the fullest ready node that has room. */
static void test_reconcile_pack_tight(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    p5_pool(&pool, GS_SHARE_MIG);
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    int p1g = gs_mig_profile_find(m, "1g.10gb");
    gs_rc_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    for (int k = 0; k < 2; k++) {
        nodes[k].id = 20 + k;
        nodes[k].itype = gs_catalog_find(&cat, "p5.4xlarge");
        nodes[k].ngpus = 1;
        nodes[k].ready = true;
        nodes[k].gpus[0].mode = GS_GPUMODE_MIG;
        nodes[k].gpus[0].nparts = 7;
        for (int i = 0; i < 7; i++) nodes[k].gpus[0].parts[i] = (gs_partition){(int8_t)p1g, (uint8_t)i, false};
    }
    /* node 20 (listed first) holds 1 idle replica, node 21 holds 4 (two idle) */
    gs_rc_pod pods[5];
    memset(pods, 0, sizeof pods);
    int where[5] = {0, 1, 1, 1, 1};
    gs_rc_pod_state st[5] = {GS_RCP_IDLE, GS_RCP_IDLE, GS_RCP_IDLE, GS_RCP_BUSY, GS_RCP_BUSY};
    for (int i = 0; i < 5; i++) {
        pods[i] = (gs_rc_pod){100 + i, 0, st[i], where[i], 0, (int8_t)i, 0, {0, 1, 8192, 2000, 8192}, GS_SEC(i), NULL};
        nodes[where[i]].gpus[0].parts[i].used = true;
        nodes[where[i]].gpus[0].pods++;
        nodes[where[i]].npods++;
        nodes[where[i]].cpu_used += 2000;
        nodes[where[i]].mem_used += 8192;
    }
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0].type = GS_TRIG_SIM;
    sc.triggers[0].target_milli = 1000;
    sc.stabilize_down = 0;
    gs_scale_state ss;
    gs_scale_init(&ss);
    gs_scale_reading rd = {true, 4000}; /* 4 wanted of 5: one idle goes */
    gs_rc_workload wl = {0, {0, 1, 8192, 2000, 8192}, "claims", &sc, &ss, &rd};
    gs_rc_input in = {GS_MIN(10), &cat, &pool, 1, nodes, 2, pods, 5, &wl, 1, NULL, NULL};
    gs_action acts[32];
    gs_rc_output out = {acts, 0, 32, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    int del_pod = -1, del_node = -1;
    for (int i = 0; i < out.n; i++) {
        if (acts[i].type == GS_ACT_DELETE_POD) del_pod = acts[i].pod;
        if (acts[i].type == GS_ACT_DELETE_NODE) del_node = acts[i].node;
    }
    assert_int_equal(del_pod, 100); /* the lone replica of node 20, though it is the oldest */
    assert_int_equal(del_node, 20); /* which then goes */
    /* scale-out by one: the new replica goes to node 21 (4 pods), not node 20 (1 pod) */
    gs_scale_init(&ss);
    rd.value_milli = 6000;
    out.n = 0;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    int bound_to = -1;
    for (int i = 0; i < out.n; i++)
        if (acts[i].type == GS_ACT_BIND) bound_to = acts[i].node;
    assert_int_equal(bound_to, 21);
    gs_catalog_free(&cat);
}

/* Make-before-break repacking: the node holding the fewest slices is emptied when its
 * replicas fit free instances of the same profile elsewhere (and enough are left over). */
static void test_reconcile_repack(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    p5_pool(&pool, GS_SHARE_MIG);
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    int p1g = gs_mig_profile_find(m, "1g.10gb");
    gs_rc_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    for (int k = 0; k < 2; k++) {
        nodes[k].id = 30 + k;
        nodes[k].itype = gs_catalog_find(&cat, "p5.4xlarge");
        nodes[k].ngpus = 1;
        nodes[k].ready = true;
        nodes[k].gpus[0].mode = GS_GPUMODE_MIG;
        nodes[k].gpus[0].nparts = 7;
        for (int i = 0; i < 7; i++) nodes[k].gpus[0].parts[i] = (gs_partition){(int8_t)p1g, (uint8_t)i, false};
    }
    /* node 30: 2 replicas; node 31: 3 replicas, 4 free instances */
    gs_rc_pod pods[5];
    int where[5] = {0, 0, 1, 1, 1}, part[5] = {0, 1, 0, 1, 2};
    for (int i = 0; i < 5; i++) {
        pods[i] = (gs_rc_pod){200 + i, 0, i == 1 ? GS_RCP_BUSY : GS_RCP_IDLE, where[i], 0, (int8_t)part[i], 0,
                              {0, 1, 8192, 2000, 8192}, 0, NULL};
        nodes[where[i]].gpus[0].parts[part[i]].used = true;
        nodes[where[i]].gpus[0].pods++;
        nodes[where[i]].npods++;
        nodes[where[i]].cpu_used += 2000;
        nodes[where[i]].mem_used += 8192;
    }
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0].type = GS_TRIG_SIM;
    sc.triggers[0].target_milli = 1000;
    gs_scale_state ss;
    gs_scale_init(&ss);
    gs_scale_reading rd = {true, 5000}; /* steady: 5 wanted, 5 exist */
    gs_rc_workload wl = {0, {0, 1, 8192, 2000, 8192}, "claims", &sc, &ss, &rd};
    gs_rc_input in = {GS_MIN(10), &cat, &pool, 1, nodes, 2, pods, 5, &wl, 1, NULL, NULL};
    in.repack = true;
    in.repack_headroom = 1; /* 4 free - 2 moved = 2 left >= 1 x 2 */
    gs_action acts[32];
    gs_rc_output out = {acts, 0, 32, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    int creates = 0, binds31 = 0, repack30 = 0;
    for (int i = 0; i < out.n; i++) {
        creates += acts[i].type == GS_ACT_CREATE_POD;
        binds31 += acts[i].type == GS_ACT_BIND && acts[i].node == 31 && acts[i].part >= 3;
        repack30 += acts[i].type == GS_ACT_REPACK_NODE && acts[i].node == 30;
        assert_int_not_equal(acts[i].type, GS_ACT_DELETE_NODE);
    }
    assert_int_equal(creates, 2);
    assert_int_equal(binds31, 2);
    assert_int_equal(repack30, 1);
    /* not enough headroom left after the move: nothing */
    in.repack_headroom = 2;
    gs_scale_init(&ss);
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    for (int i = 0; i < out.n; i++) assert_int_not_equal(acts[i].type, GS_ACT_REPACK_NODE);
    /* a node being repacked is not repacked again; once empty it is deleted */
    in.repack_headroom = 0;
    nodes[0].repacking = nodes[0].draining = true;
    nodes[0].npods = 0;
    pods[0].node = pods[1].node = -1; /* (its replicas are gone) */
    in.npods = 5;
    gs_rc_pod rest[3] = {pods[2], pods[3], pods[4]};
    in.pods = rest;
    in.npods = 3;
    gs_scale_init(&ss);
    rd.value_milli = 3000;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    int del30 = 0;
    for (int i = 0; i < out.n; i++) {
        assert_int_not_equal(acts[i].type, GS_ACT_REPACK_NODE);
        del30 += acts[i].type == GS_ACT_DELETE_NODE && acts[i].node == 30;
    }
    assert_int_equal(del30, 1);
    gs_catalog_free(&cat);
}

/* ---- invariants on every policy ---- */

static void check_all(gs_scenario *sc, const gs_catalog *cat, const char *label) {
    gs_sim_input in;
    gs_error err;
    if (gs_sim_prepare(sc, false, &in, &err)) fail_msg("%s: prepare: %s", label, err.msg);
    gs_sim_result res[GS_POL__N];
    for (int p = 0; p < GS_POL__N; p++) {
        if (gs_sim_run(sc, cat, &in, (gs_policy)p, NULL, &res[p], &err))
            fail_msg("%s: %s: %s", label, gs_policy_name((gs_policy)p), err.msg);
        gs_sim_result *r = &res[p];
        /* no pod on a node it does not fit; no layout change under a pod */
        if (r->v_fit) fail_msg("%s %s: %lld misfits", label, gs_policy_name((gs_policy)p), (long long)r->v_fit);
        /* every request served exactly once or counted as dropped */
        assert_int_equal(r->v_served, 0);
        assert_int_equal(r->served + r->dropped, r->requests);
        assert_int_equal(r->requests, in.nreq - in.first_counted + in.njobs);
        /* cost equals the integral of running node prices (+ billing minimum/rounding) */
        double want = r->cost_integral + r->cost_topup;
        if (fabs((double)r->cost - want) > r->nodes_launched + 2.0)
            fail_msg("%s %s: cost %lld vs integral %.1f + topup %.1f", label,
                     gs_policy_name((gs_policy)p), (long long)r->cost, r->cost_integral, r->cost_topup);
        assert_true(r->gpu_h_busy <= r->gpu_h_bought + 1e-6);
    }
    /* oracle is a lower bound */
    for (int p = 0; p < GS_POL_ORACLE; p++)
        if (res[GS_POL_ORACLE].cost > res[p].cost)
            fail_msg("%s: oracle %lld > %s %lld", label, (long long)res[GS_POL_ORACLE].cost,
                     gs_policy_name((gs_policy)p), (long long)res[p].cost);
    /* deterministic for a seed */
    gs_sim_result again;
    assert_int_equal(gs_sim_run(sc, cat, &in, GS_POL_GPUSCALE, NULL, &again, &err), 0);
    assert_int_equal(again.cost, res[GS_POL_GPUSCALE].cost);
    assert_int_equal(again.p99, res[GS_POL_GPUSCALE].p99);
    gs_sim_result_free(&again);
    for (int p = 0; p < GS_POL__N; p++) gs_sim_result_free(&res[p]);
    gs_sim_input_free(&in);
}

static gs_scenario *claims(const gs_catalog *cat) {
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_error err;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/claims/scenario.json", cat, &err))
        fail_msg("claims: %s", err.msg);
    return sc;
}

static void test_invariants_claims(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = claims(&cat);
    sc->duration = GS_HOUR(3);
    sc->seed = 1;
    check_all(sc, &cat, "claims 3h seed 1");
    /* an afternoon hour with heavy spot interruptions */
    sc->duration = GS_HOUR(2);
    sc->seed = 9;
    sc->spot_per_node_hour = 2.0;
    for (int32_t k = 0; k < sc->nwl; k++) sc->wl[k].synth.peak_hour = 1;
    check_all(sc, &cat, "claims 2h spot-heavy");
    free(sc);
    gs_catalog_free(&cat);
}

static void test_invariants_replay_and_jobs(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = claims(&cat);
    /* replay of a real Azure excerpt (CRLF, no final newline) through both workloads, 20x */
    for (int32_t k = 0; k < sc->nwl; k++) {
        sc->wl[k].traffic = GS_TRAFFIC_TRACE;
        sc->wl[k].trace_speedup = 1;
        snprintf(sc->wl[k].sizes_path, sizeof sc->wl[k].sizes_path, "%s", GS_TEST_DATA "/sim/azure-crlf-nofinal.csv");
    }
    sc->duration = GS_HOUR(1);
    check_all(sc, &cat, "azure replay");
    /* openb pods as jobs on the H100 pool (MIG for fractional pods under gpuscale) */
    sc->nwl = 0;
    snprintf(sc->jobs_path, sizeof sc->jobs_path, "%s", GS_TEST_DATA "/sim/openb-300.csv");
    /* whole-GPU pods need a pool that does not share GPUs (the packer's rule) */
    sc->pools[1] = sc->pools[0];
    snprintf(sc->pools[1].name, sizeof sc->pools[1].name, "h100-whole");
    sc->pools[1].sharing = GS_SHARE_EXCLUSIVE;
    sc->pools[1].n_mig_profiles = 0;
    sc->npools = 2;
    sc->jobs_pool = 1;
    sc->duration = GS_HOUR(24 * 4);
    check_all(sc, &cat, "openb 300");
    free(sc);
    gs_catalog_free(&cat);
}

/* Time-sliced and fractional GPUs: four replicas on one time-sliced L4 share it in equal
 * turns, so four simultaneous requests each take 4x their full-GPU time and the next four
 * wait exactly that long; on quarter-GPU fractions each runs at a fixed quarter share. */
static void run_sharing(const char *sharing, const char *extra_pool, const char *extra_wl, gs_sim_result *r,
                        gs_scenario *sc, const gs_catalog *cat) {
    char dir[] = "/tmp/gs_sim_ts_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char csv[256];
    snprintf(csv, sizeof csv, "%s/t.csv", dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 00:00:00.0,1,0\n");
    for (int i = 0; i < 8; i++) fprintf(f, "2023-11-16 01:00:00.0,1000,0\n");
    fclose(f);
    char body[4096];
    snprintf(body, sizeof body,
             "{\"duration\":\"2h\",\"cloud\":{\"billingMinimum\":\"60s\"},"
             "\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"%s\"],\"capacityTypes\":[\"on-demand\"],"
             "\"sharing\":\"%s\"%s}],"
             "\"workloads\":[{\"name\":\"w\",\"pool\":\"p\",\"gpuMemory\":\"2Gi\",\"cpu\":\"500m\",\"memory\":\"1Gi\"%s,"
             "\"serviceTime\":{\"baseMs\":0,\"msPerInputToken\":1,\"saturationComputeSlices\":2},\"coldStart\":\"10s\","
             "\"scaler\":{\"minReplicas\":4,\"maxReplicas\":4,\"cooldownPeriod\":\"1s\",\"stabilizeDown\":\"1s\"},"
             "\"traffic\":{\"kind\":\"trace\",\"trace\":\"t.csv\"}}]}",
             strcmp(sharing, "timeslicing") == 0 ? "g6.xlarge" : "g6e.xlarge", sharing, extra_pool, extra_wl);
    gs_error err;
    if (gs_scenario_parse(sc, body, strlen(body), "ts.json", dir, cat, &err)) fail_msg("%s", err.msg);
    gs_sim_input in;
    if (gs_sim_prepare(sc, true, &in, &err)) fail_msg("%s", err.msg);
    assert_int_equal(in.nreq, 9);
    if (gs_sim_run(sc, cat, &in, GS_POL_GPUSCALE, NULL, r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r->v_fit, 0);
    assert_int_equal(r->served, 9);
    assert_int_equal(r->nodes_launched, 1); /* all four replicas share one GPU */
    gs_sim_input_free(&in);
    unlink(csv);
    rmdir(dir);
}

static void test_timeslicing_and_fractions(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_sim_result r;
    run_sharing("timeslicing", ",\"timeSlicingReplicas\":4", "", &r, sc, &cat);
    int32_t f = gs_sim_speed_factor(gs_gpu_get(gs_gpu_find("l4")), 2, 1000);
    gs_ms work = 1000LL * f / 1000; /* full-GPU ms of one request */
    /* waits, sorted: four 0 (the first four at 1 h), four 4 x work (the second four wait for
     * the first four, which share the GPU four ways), the t = 0 request's node boot: the
     * median is the fifth */
    if (llabs(r.p50 - 4 * work) > 2) fail_msg("time-sliced: median wait %lld, want %lld", (long long)r.p50, (long long)(4 * work));
    /* GPU time used is the requests' full-GPU work, not their stretched duration */
    double wd = (double)work;
    assert_true(fabs(r.gpu_h_busy * 3600000.0 - 8.0 * wd) < 8.0 * wd * 0.01 + 20);
    gs_sim_result_free(&r);
    run_sharing("fractional", "", ",\"gpuMilli\":250", &r, sc, &cat);
    int32_t fq = gs_sim_speed_factor(gs_gpu_get(gs_gpu_find("l40s")), 2, 250);
    gs_ms qwork = 1000LL * fq / 1000;
    if (llabs(r.p50 - qwork) > 2) fail_msg("fractional: median wait %lld, want %lld", (long long)r.p50, (long long)qwork);
    gs_sim_result_free(&r);
    /* bad input: replicas x gpuMemory beyond the GPU; gpuMilli outside a fractional pool */
    static const char *BAD[][2] = {
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"timeslicing\",\"timeSlicingReplicas\":8}],"
         "\"workloads\":[{\"name\":\"w\",\"pool\":\"p\",\"gpuMemory\":\"4Gi\",\"traffic\":{\"kind\":\"trace\",\"trace\":\"x\"}}]}",
         "$.workloads[0].gpuMemory: 4096 MiB x 8 time-sliced replicas does not fit"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"mig\"}],"
         "\"workloads\":[{\"name\":\"w\",\"pool\":\"p\",\"gpuMilli\":100,\"traffic\":{\"kind\":\"trace\",\"trace\":\"x\"}}]}",
         "$.workloads[0].gpuMilli: is only for a pool with sharing: fractional"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6e.xlarge\"],\"sharing\":\"fractional\"}],"
         "\"workloads\":[{\"name\":\"w\",\"pool\":\"p\",\"gpuMilli\":100,\"gpuMemory\":\"8Gi\",\"traffic\":{\"kind\":\"trace\",\"trace\":\"x\"}}]}",
         "$.workloads[0].gpuMemory: 8192 MiB does not fit 100 milli-GPU"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"exclusive\",\"timeSlicingReplicas\":2}]}",
         "$.pools[0].timeSlicingReplicas: is only for sharing: timeslicing"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"mps\"}]}",
         "$.pools[0].sharing: 'mps' is not one of mig, exclusive, timeslicing, fractional"},
        {"{\"cloud\":{\"zones\":0},\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"]}]}",
         "$.cloud.zones: must be in 1..16"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"],\"sharing\":\"timeslicing\"}],"
         "\"environments\":[{\"name\":\"e\",\"job\":{\"runFor\":\"1m\"}}]}",
         "$.environments[0].pool: environments run in a mig or exclusive pool"},
        {"{\"gpuscale\":{\"spotMaxPercent\":101},\"pools\":[{\"name\":\"p\",\"instanceTypes\":[\"g6.xlarge\"]}]}",
         "$.gpuscale.spotMaxPercent: must be in 0..100"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        gs_error err;
        gs_error_clear(&err);
        assert_int_equal(gs_scenario_parse(sc, BAD[i][0], strlen(BAD[i][0]), "b.json", ".", &cat, &err), GS_EPARSE);
        if (!strstr(err.msg, BAD[i][1])) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, BAD[i][1]);
    }
    free(sc);
    gs_catalog_free(&cat);
}

/* Spot reclaims hit capacity pools (type, zone) at the scenario's rate, from the seed alone:
 * every policy that runs spot sees interruptions; gpuscale spreads its spot nodes over types
 * and zones so no type holds more than spotMaxPercent of them. */
static void test_shared_gpus_invariants(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_error err;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/shared-gpus/scenario.json", &cat, &err)) fail_msg("%s", err.msg);
    sc->duration = GS_HOUR(3);
    for (int32_t k = 0; k < sc->nwl; k++) sc->wl[k].synth.peak_hour = 1;
    sc->spot_per_node_hour = 1.0;
    check_all(sc, &cat, "shared-gpus 3h spot-heavy");
    gs_sim_input in;
    assert_int_equal(gs_sim_prepare(sc, false, &in, &err), 0);
    gs_sim_result r[GS_POL__N];
    for (int p = 0; p < GS_POL_ORACLE; p++) {
        assert_int_equal(gs_sim_run(sc, &cat, &in, (gs_policy)p, NULL, &r[p], &err), 0);
        assert_true(r[p].spot_interruptions > 0);
    }
    for (int p = 0; p < GS_POL_ORACLE; p++) gs_sim_result_free(&r[p]);
    gs_sim_input_free(&in);
    free(sc);
    gs_catalog_free(&cat);
}

/* The launch's offering: spot spread over instance types (within the price slack) and zones. */
static void test_reconcile_spot_diversification(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_pool pool;
    memset(&pool, 0, sizeof pool);
    snprintf(pool.name, sizeof pool.name, "l4");
    pool.nreqs = 2;
    pool.reqs[0].key = GS_KEY_INSTANCE_TYPE;
    pool.reqs[0].op = GS_OP_IN;
    pool.reqs[0].nvalues = 2;
    snprintf(pool.reqs[0].values[0], GS_NAME_LEN, "g6.xlarge");
    snprintf(pool.reqs[0].values[1], GS_NAME_LEN, "g6.2xlarge");
    pool.reqs[1].key = GS_KEY_CAPACITY_TYPE;
    pool.reqs[1].op = GS_OP_IN;
    pool.reqs[1].nvalues = 1;
    snprintf(pool.reqs[1].values[0], GS_NAME_LEN, "spot");
    pool.sharing = GS_SHARE_EXCLUSIVE;
    gs_rc_pod pods[6];
    for (int i = 0; i < 6; i++) pods[i] = (gs_rc_pod){i, -1, GS_RCP_PENDING, -1, -1, -1, 0, {1, 0, 0, 3000, 8192}, 0, NULL};
    gs_rc_input in = {0, &cat, &pool, 1, NULL, 0, pods, 6, NULL, 0, NULL, NULL};
    in.nzones = 3;
    in.spot_max_pct = 50;
    in.spot_price_slack_pct = 25;
    gs_action acts[64];
    gs_rc_output out = {acts, 0, 64, 0};
    gs_error err;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    int32_t small = gs_catalog_find(&cat, "g6.xlarge"), big = gs_catalog_find(&cat, "g6.2xlarge");
    int per_type[2] = {0, 0}, per_zone[3] = {0, 0, 0};
    for (int i = 0; i < out.n; i++) {
        if (acts[i].type != GS_ACT_LAUNCH) continue;
        assert_int_equal(acts[i].cap, GS_CAP_SPOT);
        assert_true(acts[i].itype == small || acts[i].itype == big);
        per_type[acts[i].itype == big]++;
        assert_true(acts[i].zone >= 0 && acts[i].zone < 3);
        per_zone[acts[i].zone]++;
    }
    assert_int_equal(per_type[0], 3); /* half on the cheapest type, half on the next */
    assert_int_equal(per_type[1], 3);
    for (int z = 0; z < 3; z++) assert_int_equal(per_zone[z], 2);
    /* without diversification: the cheapest offering only, no zone chosen */
    in.spot_max_pct = 0;
    assert_int_equal(gs_reconcile_step(&in, &out, &err), 0);
    for (int i = 0; i < out.n; i++)
        if (acts[i].type == GS_ACT_LAUNCH) {
            assert_int_equal(acts[i].itype, small);
            assert_int_equal(acts[i].zone, -1);
        }
    gs_catalog_free(&cat);
}

/* Pools and scalers from the YAML objects `gpuscale run` reads: examples/claims-yaml is
 * examples/claims with its GPUPool and QueueScalers in claims.yaml, and gives the same run. */
static void test_scenario_from_yaml(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *a = claims(&cat), *b = calloc(1, sizeof *b);
    gs_error err;
    if (gs_scenario_load(b, GS_SOURCE_DIR "/examples/claims-yaml/scenario.json", &cat, &err)) fail_msg("%s", err.msg);
    assert_int_equal(b->npools, 1);
    assert_string_equal(b->pools[0].name, "h100");
    assert_int_equal(b->pools[0].sharing, GS_SHARE_MIG);
    assert_int_equal(b->pools[0].n_mig_profiles, 2);
    assert_int_equal(b->nwl, a->nwl);
    for (int32_t k = 0; k < a->nwl; k++) {
        const gs_sim_workload *x = &a->wl[k], *y = &b->wl[k];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->project, y->project);
        assert_string_equal(x->mig_profile, y->mig_profile);
        assert_memory_equal(&x->need, &y->need, sizeof x->need);
        assert_int_equal(x->target_milli, y->target_milli);
        assert_int_equal(x->max_replicas, y->max_replicas);
        assert_int_equal(x->cooldown, y->cooldown);
        assert_int_equal(x->stabilize_down, y->stabilize_down);
        assert_int_equal(x->polling, y->polling);
    }
    a->duration = b->duration = GS_HOUR(2);
    gs_sim_input ia, ib;
    assert_int_equal(gs_sim_prepare(a, false, &ia, &err), 0);
    assert_int_equal(gs_sim_prepare(b, false, &ib, &err), 0);
    gs_sim_result ra, rb;
    assert_int_equal(gs_sim_run(a, &cat, &ia, GS_POL_GPUSCALE, NULL, &ra, &err), 0);
    assert_int_equal(gs_sim_run(b, &cat, &ib, GS_POL_GPUSCALE, NULL, &rb, &err), 0);
    assert_int_equal(ra.cost, rb.cost);
    assert_int_equal(ra.p99, rb.p99);
    gs_sim_result_free(&ra);
    gs_sim_result_free(&rb);
    gs_sim_input_free(&ia);
    gs_sim_input_free(&ib);
    /* bad input */
    static const char *BAD[][2] = {
        {"{\"config\":\"nope.yaml\"}", "claims-yaml/nope.yaml: cannot open"},
        {"{\"config\":\"../../tests/data/bad-config/01-malformed-yaml.yaml\"}",
         "01-malformed-yaml.yaml:6:1: malformed YAML"},
        {"{\"config\":\"claims.yaml\",\"pools\":[]}", "$.pools: give either pools or config"},
        {"{\"config\":7}", "$.config: must be a file name or an array of 1..4 file names"},
        {"{\"config\":\"claims.yaml\",\"workloads\":[{\"scaler\":\"ghost\",\"traffic\":{\"kind\":\"trace\",\"trace\":\"x\"}}]}",
         "$.workloads[0].scaler: no QueueScaler 'ghost' in the config"},
        {"{\"pools\":[{\"name\":\"p\",\"instanceFamilies\":[\"p5\"]}],\"workloads\":[{\"scaler\":\"ocr\",\"traffic\":{\"kind\":\"trace\",\"trace\":\"x\"}}]}",
         "$.workloads[0].scaler: names QueueScaler 'ocr' but the scenario has no \"config\""},
        {"{\"config\":\"claims.yaml\",\"workloads\":[{\"scaler\":\"ocr\",\"migProfile\":\"1g.10gb\",\"traffic\":{\"kind\":\"trace\",\"trace\":\"x\"}}]}",
         "$.workloads[0].migProfile: unknown field"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        gs_error_clear(&err);
        assert_int_equal(gs_scenario_parse(b, BAD[i][0], strlen(BAD[i][0]), "y.json", GS_SOURCE_DIR "/examples/claims-yaml", &cat, &err), GS_EPARSE);
        if (!strstr(err.msg, BAD[i][1])) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, BAD[i][1]);
    }
    free(a);
    free(b);
    gs_catalog_free(&cat);
}

static void test_report_writers(void **state) {
    (void)state;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_scenario *sc = claims(&cat);
    sc->duration = GS_HOUR(1);
    gs_sim_input in;
    gs_error err;
    assert_int_equal(gs_sim_prepare(sc, false, &in, &err), 0);
    gs_sim_result res[2];
    assert_int_equal(gs_sim_run(sc, &cat, &in, GS_POL_GPUSCALE, NULL, &res[0], &err), 0);
    assert_int_equal(gs_sim_run(sc, &cat, &in, GS_POL_ORACLE, NULL, &res[1], &err), 0);
    gs_report rep = {sc, &in, res, 2};
    char jp[] = "/tmp/gs_sim_json_XXXXXX", hp[] = "/tmp/gs_sim_html_XXXXXX";
    int fd1 = mkstemp(jp), fd2 = mkstemp(hp);
    assert_true(fd1 >= 0 && fd2 >= 0);
    close(fd1);
    close(fd2);
    assert_int_equal(gs_report_json(&rep, jp, &err), 0);
    assert_int_equal(gs_report_html(&rep, hp, &err), 0);
    char *out = NULL;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "grep -c '<polyline' %s; grep -o '\"policy\": \"[a-z-]*\"' %s | sort | tr '\\n' ' '", hp, jp);
    assert_int_equal(gs_test_sh(cmd, &out), 0);
    assert_non_null(strstr(out, "7\n"));
    assert_non_null(strstr(out, "\"policy\": \"gpuscale\" \"policy\": \"oracle\""));
    free(out);
    /* the GPU-hour breakdown: HTML table and JSON object (gpuscale only), and its parts add
     * up to the GPU-hours bought up to sampling (the last partial node bill is not sampled) */
    snprintf(cmd, sizeof cmd, "grep -c 'Where the GPU-hours bought went' %s; grep -c gpuHoursBreakdown %s", hp, jp);
    assert_int_equal(gs_test_sh(cmd, &out), 0);
    assert_string_equal(out, "1\n1\n");
    free(out);
    const gs_sim_result *g = &res[0];
    double parts = g->gh_boot + g->gh_reconf + g->gh_start + g->gh_idle + g->gh_busy + g->gh_free;
    assert_true(parts > 0);
    assert_true(fabs(parts - g->gpu_h_bought) <= 0.15 * g->gpu_h_bought + 0.5);
    unlink(jp);
    unlink(hp);
    assert_int_equal(gs_report_json(&rep, "/nonexistent-dir/x.json", &err), GS_EIO);
    for (int i = 0; i < 2; i++) gs_sim_result_free(&res[i]);
    gs_sim_input_free(&in);
    free(sc);
    gs_catalog_free(&cat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_rng_deterministic),
        cmocka_unit_test(test_azure_crlf_no_final_newline),
        cmocka_unit_test(test_azure_bad_rows),
        cmocka_unit_test(test_openb),
        cmocka_unit_test(test_synth_diurnal),
        cmocka_unit_test(test_scenario_errors),
        cmocka_unit_test(test_reconcile_mig_launch_and_consolidate),
        cmocka_unit_test(test_reconcile_pod_project_gate),
        cmocka_unit_test(test_reconcile_pack_tight),
        cmocka_unit_test(test_reconcile_spot_diversification),
        cmocka_unit_test(test_reconcile_repack),
        cmocka_unit_test(test_timeslicing_and_fractions),
        cmocka_unit_test(test_shared_gpus_invariants),
        cmocka_unit_test(test_scenario_from_yaml),
        cmocka_unit_test(test_invariants_claims),
        cmocka_unit_test(test_invariants_replay_and_jobs),
        cmocka_unit_test(test_report_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
