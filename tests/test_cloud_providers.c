/* Cloud providers without a cluster: the exec provider runs real shell commands (success,
 * non-zero exit, timeout, malformed JSON, oversized output, bad instance fields) and the
 * kube-fake provider's Node object (capacity, GFD and MIG labels) for catalog types. The
 * kube-fake provider against the real API server and scheduler is in test_e2e_run.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/cloud/exec.h"
#include "io/cloud/kubefake.h"
#include "model/gpu.h"
#include "policy/mig.h"
#include "testutil.h"

static char DIR_[64];

static int setup(void **st) {
    (void)st;
    snprintf(DIR_, sizeof DIR_, "/tmp/gs-prov-XXXXXX");
    return mkdtemp(DIR_) ? 0 : -1;
}
static int teardown(void **st) {
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_exec_launch_roundtrip(void **st) {
    (void)st;
    char launch[512], term[512], list[512];
    snprintf(launch, sizeof launch,
             "cat > %s/req.json; echo '{\"id\": \"i-0abc\", \"instanceType\": \"g5.xlarge\", \"capacityType\": \"spot\", "
             "\"zone\": \"us-east-1a\"}'", DIR_);
    snprintf(term, sizeof term, "cat > %s/term.json", DIR_);
    snprintf(list, sizeof list, "echo '[{\"id\": \"i-1\", \"nodeName\": \"n1\"}, {\"id\": \"i-2\"}]'");
    gs_provider p;
    gs_error e;
    assert_int_equal(gs_execprov_new(launch, term, list, 5000, &p, &e), 0);
    gs_launch_req req;
    memset(&req, 0, sizeof req);
    snprintf(req.node_name, sizeof req.node_name, "gs-pool-1");
    snprintf(req.itype, sizeof req.itype, "g5.xlarge");
    snprintf(req.pool, sizeof req.pool, "pool");
    snprintf(req.mig_config, sizeof req.mig_config, "all-1g.10gb");
    req.capacity = GS_CAP_SPOT;
    req.nlabels = 1;
    snprintf(req.labels[0].key, GS_VALUE_LEN, "team");
    snprintf(req.labels[0].value, GS_VALUE_LEN, "ml");
    gs_instance in;
    assert_int_equal(p.ops->launch(p.self, &req, &in, &e), 0);
    assert_string_equal(in.id, "i-0abc");
    assert_string_equal(in.node_name, "gs-pool-1"); /* defaulted from the request */
    assert_int_equal(in.capacity, GS_CAP_SPOT);
    assert_string_equal(in.zone, "us-east-1a");
    char path[128];
    snprintf(path, sizeof path, "%s/req.json", DIR_);
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "nodeName")), "gs-pool-1");
    assert_string_equal(json_string_value(json_object_get(r, "instanceType")), "g5.xlarge");
    assert_string_equal(json_string_value(json_object_get(r, "capacityType")), "spot");
    assert_string_equal(json_string_value(json_object_get(r, "migConfig")), "all-1g.10gb");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "labels"), "team")), "ml");
    json_decref(r);
    assert_int_equal(p.ops->terminate(p.self, "i-0abc", &e), 0);
    snprintf(path, sizeof path, "%s/term.json", DIR_);
    r = json_load_file(path, 0, &je);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "i-0abc");
    json_decref(r);
    gs_instance *all = NULL;
    int32_t n = 0;
    assert_int_equal(p.ops->list(p.self, &all, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].node_name, "n1");
    assert_string_equal(all[1].id, "i-2");
    free(all);
    gs_provider_destroy(&p);
}

static void expect_fail(const char *cmd, int code, const char *needle) {
    json_t *o = NULL;
    gs_error e;
    gs_error_clear(&e);
    int rc = gs_exec_json("launch", cmd, NULL, 500, &o, &e);
    if (rc != code) fail_msg("`%s`: rc %d (%s), want %d", cmd, rc, e.msg, code);
    if (needle && !strstr(e.msg, needle)) fail_msg("`%s`: message \"%s\" lacks \"%s\"", cmd, e.msg, needle);
    assert_null(o);
}

static void test_exec_failures(void **st) {
    (void)st;
    expect_fail("echo 'quota exceeded for p5' >&2; exit 3", GS_EPEER, "exited with 3: quota exceeded for p5");
    expect_fail("sleep 5", GS_ETIMEOUT, "ran past 500 ms");
    expect_fail("echo '{\"id\": '", GS_EPARSE, "malformed JSON");
    expect_fail("head -c 1200000 /dev/zero | tr '\\0' a", GS_ETOOBIG, "more than");
    expect_fail("exec 2>&-; kill -9 $$", GS_EPEER, "exited with 137");
    gs_provider p;
    gs_error e;
    assert_int_equal(gs_execprov_new("true", "exit 1", "echo '{\"not\": \"an array\"}'", 2000, &p, &e), 0);
    gs_launch_req req;
    memset(&req, 0, sizeof req);
    gs_instance in;
    assert_int_equal(p.ops->launch(p.self, &req, &in, &e), GS_EPARSE); /* printed nothing */
    assert_int_equal(p.ops->terminate(p.self, "i-1", &e), GS_EPEER);
    gs_instance *all = NULL;
    int32_t n = 0;
    assert_int_equal(p.ops->list(p.self, &all, &n, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "JSON array"));
    gs_provider_destroy(&p);
    json_t *bad = json_pack("{s:s,s:s}", "id", "i-1", "capacityType", "reserved");
    assert_int_equal(gs_exec_parse_instance(bad, "list", &in, &e), GS_EPARSE);
    json_decref(bad);
    bad = json_pack("{s:s}", "nodeName", "x");
    assert_int_equal(gs_exec_parse_instance(bad, "list", &in, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "without \"id\""));
    json_decref(bad);
}

static void test_kubefake_node(void **st) {
    (void)st;
    gs_catalog cat;
    gs_test_catalog(&cat);
    gs_launch_req req;
    memset(&req, 0, sizeof req);
    snprintf(req.node_name, sizeof req.node_name, "gs-h100-1");
    snprintf(req.itype, sizeof req.itype, "p5.48xlarge");
    snprintf(req.pool, sizeof req.pool, "h100");
    snprintf(req.mig_config, sizeof req.mig_config, "custom");
    req.ngpus = 8;
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    int p3 = gs_mig_profile_find(m, "3g.40gb"), p1 = gs_mig_profile_find(m, "1g.10gb");
    /* GPU 0: 3g.40gb + 4 x 1g.10gb; GPUs 1..7 whole */
    gs_gpu_state *g = &req.gpus[0];
    g->mode = GS_GPUMODE_MIG;
    g->parts[g->nparts].profile = (int8_t)p3;
    g->parts[g->nparts].start = (uint8_t)gs_mig_best_start(m, g->parts, g->nparts, p3);
    g->nparts++;
    for (int i = 0; i < 4; i++) {
        int s = gs_mig_best_start(m, g->parts, g->nparts, p1);
        assert_true(s >= 0);
        g->parts[g->nparts].profile = (int8_t)p1;
        g->parts[g->nparts].start = (uint8_t)s;
        g->nparts++;
    }
    gs_error e;
    json_t *n = gs_kubefake_node_json(&cat, &req, "zone-a", &e);
    assert_non_null(n);
    const json_t *cap = json_object_get(json_object_get(n, "status"), "capacity");
    assert_string_equal(json_string_value(json_object_get(cap, "nvidia.com/gpu")), "7");
    assert_string_equal(json_string_value(json_object_get(cap, "nvidia.com/mig-3g.40gb")), "1");
    assert_string_equal(json_string_value(json_object_get(cap, "nvidia.com/mig-1g.10gb")), "4");
    assert_string_equal(json_string_value(json_object_get(cap, "pods")), "100");
    const json_t *l = json_object_get(json_object_get(n, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/gpu.count")), "8");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/mig.config")), "custom");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/mig.strategy")), "mixed");
    assert_string_equal(json_string_value(json_object_get(l, "topology.kubernetes.io/zone")), "zone-a");
    assert_string_equal(json_string_value(json_object_get(l, "gpuscale.dev/pool")), "h100");
    assert_string_equal(json_string_value(json_object_get(json_object_get(n, "spec"), "providerID")),
                        "kube-fake://gs-h100-1");
    json_decref(n);
    /* a T4 node: no MIG labels */
    memset(&req, 0, sizeof req);
    snprintf(req.node_name, sizeof req.node_name, "t4");
    snprintf(req.itype, sizeof req.itype, "g4dn.xlarge");
    n = gs_kubefake_node_json(&cat, &req, "zone-a", &e);
    l = json_object_get(json_object_get(n, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/mig.capable")), "false");
    assert_null(json_object_get(l, "nvidia.com/mig.config"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(n, "status"), "capacity"),
                                                          "nvidia.com/gpu")), "1");
    /* the device plugin's default config (no sharing), as GFD labels it */
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/gpu.replicas")), "1");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/gpu.sharing-strategy")), "none");
    json_decref(n);
    /* a time-slicing pool's launch: born unconfigured, with the label naming its config (the
     * fake device plugin applies it later, like the real one) */
    req.nlabels = 1;
    snprintf(req.labels[0].key, sizeof req.labels[0].key, "nvidia.com/device-plugin.config");
    snprintf(req.labels[0].value, sizeof req.labels[0].value, "gpuscale-timeslicing-4");
    n = gs_kubefake_node_json(&cat, &req, "zone-a", &e);
    l = json_object_get(json_object_get(n, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/device-plugin.config")), "gpuscale-timeslicing-4");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(n, "status"), "capacity"),
                                                          "nvidia.com/gpu")), "1");
    assert_null(json_object_get(json_object_get(json_object_get(n, "status"), "capacity"), "nvidia.com/gpu.shared"));
    json_decref(n);
    req.nlabels = 0;
    snprintf(req.itype, sizeof req.itype, "p9.huge");
    assert_null(gs_kubefake_node_json(&cat, &req, "z", &e));
    assert_int_equal(e.code, GS_ENOENT);
    snprintf(req.itype, sizeof req.itype, "g4dn.xlarge");
    req.ngpus = 4;
    assert_null(gs_kubefake_node_json(&cat, &req, "z", &e));
    assert_int_equal(e.code, GS_EINVAL);
    gs_catalog_free(&cat);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_exec_launch_roundtrip),
        cmocka_unit_test(test_exec_failures),
        cmocka_unit_test(test_kubefake_node),
    };
    return cmocka_run_group_tests_name("cloud providers", t, setup, teardown);
}
