/* Time-slicing and gpuscale's reconfiguration cordons in the controller, end to end against a
 * REAL control plane (etcd + kube-apiserver + kube-scheduler + kube-controller-manager,
 * scripts/kube-testenv.sh): deploy/'s RBAC applied, `gpuscale run --provider kube-fake` under the
 * unprivileged identity it grants; kube-fake plays the kubelets, the GPU Operator's mig-manager
 * and the NVIDIA device plugin (per-node config from its ConfigMap + GFD labels).
 *   - a malformed device-plugin ConfigMap already in the cluster (gpuscale's key holds a config
 *     with replicas: four): a clear log line, the key is not overwritten, the node is not
 *     touched; once the admin removes the bad key:
 *   - a node of a time-slicing pool that came up unconfigured (whole GPU advertised) is switched
 *     for a pending nvidia.com/gpu.shared pod: gpuscale's config written next to the admin's,
 *     the node cordoned and labelled nvidia.com/device-plugin.config, the fake device plugin
 *     advertises nvidia.com/gpu.shared = 4, the node is uncordoned and the pod binds there, with
 *     no launch;
 *   - pods beyond its replicas: one node launched, labelled at launch, its replicas advertised,
 *     every pod Running;
 *   - a node whose device plugin never applies the config: the switch times out
 *     (--timeslicing-timeout): Warning Event, label removed, uncordoned; the retry succeeds;
 *   - a restart of the controller in the middle of a MIG reconfiguration and of a time-slicing
 *     switch (the fake mig-manager and device plugin held): the new controller resumes both
 *     (nodes kept cordoned while pending) and uncordons each once applied; the pods run there;
 *   - gpuscale's cordon on a node whose GPUPool is gone is undone; an admin's cordon is not.
 * Skips (77) only when the control plane cannot be built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/catalog_load.h"
#include "io/cloud/kubefake.h"
#include "io/kube/devplugin.h"
#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/kube/kubeconfig.h"
#include "kube/manifests.h"
#include "kube/probe.h"
#include "kube/testenv.h"
#include "policy/mig.h"

static kt_env ENV;
static gs_kube *ADMIN;
static gs_catalog CAT;
static pid_t CTL = -1;
static int MPORT;
static char CFG[400];

#define CM_PATH "/api/v1/namespaces/gpu-operator/configmaps/gpuscale-device-plugin-config"
#define ADMIN_CFG "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - {name: nvidia.com/gpu, replicas: 2}\n"
#define BAD_CFG "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - {name: nvidia.com/gpu, replicas: four}\n"

static void start_ctl(void) {
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", MPORT);
    snprintf(log, sizeof log, "%s/ctl.log", ENV.dir);
    const char *argv[] = {GS_BINARY, "run", "--kubeconfig", ENV.user_kc, "--provider", "kube-fake", "--config", CFG,
                          "--id", "ts-a", "--lease-namespace", "gpuscale-system", "--lease-duration", "4",
                          "--metrics-port", port, "--interval", "200", "--mig-retry-after", "2s", "--layout-settle", "1s",
                          "--timeslicing-timeout", "4s", NULL};
    CTL = probe_spawn(argv, log);
}

#define WAIT_UNTIL(cond, secs, what) PROBE_WAIT_UNTIL(cond, secs, what, ENV.dir, "ctl.log")

static json_t *get(const char *path) {
    json_t *o = NULL;
    gs_error e;
    if (gs_kube_get(ADMIN, path, &o, &e)) return NULL;
    return o;
}

static void patch(const char *path, json_t *p) { /* steals p */
    gs_error e;
    gs_error_clear(&e);
    int rc = gs_kube_merge_patch(ADMIN, path, p, NULL, &e);
    json_decref(p);
    if (rc) fail_msg("patch %s: %s", path, e.msg);
}

static void apply(const char *yaml) {
    gs_error e;
    if (kt_apply_text(ADMIN, yaml, "test", &e)) fail_msg("apply: %s", e.msg);
}

static json_t *node(const char *name) {
    char p[300];
    snprintf(p, sizeof p, "/api/v1/nodes/%s", name);
    return get(p);
}

/* A node's label / annotation, copied out ("" when absent). */
static const char *node_meta(const char *name, const char *kind, const char *key) {
    static char out[512];
    json_t *n = node(name);
    const char *v = json_string_value(json_object_get(json_object_get(json_object_get(n, "metadata"), kind), key));
    snprintf(out, sizeof out, "%s", v ? v : "");
    json_decref(n);
    return out;
}

static bool cordoned(const char *name) {
    json_t *n = node(name);
    bool c = json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable"));
    json_decref(n);
    return c;
}

static long long alloc_of(const char *name, const char *res) {
    json_t *n = node(name);
    const char *v = json_string_value(json_object_get(json_object_get(json_object_get(n, "status"), "allocatable"), res));
    long long x = v ? atoll(v) : -1;
    json_decref(n);
    return x;
}

static bool pod_running_on(const char *pod, const char *nodename) {
    char p[300];
    snprintf(p, sizeof p, "/api/v1/namespaces/ml/pods/%s", pod);
    json_t *o = get(p);
    const char *nn = json_string_value(json_object_get(json_object_get(o, "spec"), "nodeName"));
    const char *ph = json_string_value(json_object_get(json_object_get(o, "status"), "phase"));
    bool ok = nn && ph && strcmp(ph, "Running") == 0 && (!nodename || strcmp(nn, nodename) == 0);
    json_decref(o);
    return ok;
}

static int events(const char *reason, const char *name, char *msg, size_t n) {
    json_t *evs = get("/api/v1/namespaces/default/events");
    int found = probe_count_events(evs, NULL, reason, name, msg, n);
    json_decref(evs);
    return found;
}

static bool log_has(const char *what) {
    char p[500];
    snprintf(p, sizeof p, "%s/ctl.log", ENV.dir);
    FILE *f = fopen(p, "r");
    if (!f) return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

static const char *cm_key(const char *key) {
    static char out[4096];
    json_t *cm = get(CM_PATH);
    const char *v = json_string_value(json_object_get(json_object_get(cm, "data"), key));
    snprintf(out, sizeof out, "%s", v ? v : "");
    json_decref(cm);
    return out;
}

static double metric(const char *name) { return probe_metric(MPORT, name, 5L); }

/* A node as kube-fake launches it (GFD labels, GPU capacity, Ready), made by the test itself:
 * a node that came up some other way, unconfigured. gpus (optional): its MIG layout. */
static void make_node(const char *name, const char *itype, const char *pool, const char *mig_config,
                      const gs_gpu_state *gpus, int ngpus, const char *annotation) {
    gs_launch_req req;
    memset(&req, 0, sizeof req);
    snprintf(req.node_name, sizeof req.node_name, "%s", name);
    snprintf(req.itype, sizeof req.itype, "%s", itype);
    snprintf(req.pool, sizeof req.pool, "%s", pool);
    if (mig_config) snprintf(req.mig_config, sizeof req.mig_config, "%s", mig_config);
    if (gpus) {
        req.ngpus = (uint8_t)ngpus;
        memcpy(req.gpus, gpus, sizeof req.gpus[0] * (size_t)ngpus);
    }
    gs_error e;
    json_t *n = gs_kubefake_node_json(&CAT, &req, "fake-zone-a", &e);
    if (!n) fail_msg("node json: %s", e.msg);
    if (annotation) {
        const char *eq = strchr(annotation, '=');
        char k[200];
        snprintf(k, sizeof k, "%.*s", (int)(eq - annotation), annotation);
        json_object_set_new(json_object_get(json_object_get(n, "metadata"), "annotations"), k, json_string(eq + 1));
    }
    if (gs_kube_create(ADMIN, "/api/v1/nodes", n, NULL, &e)) fail_msg("create node %s: %s", name, e.msg);
    char p[300];
    snprintf(p, sizeof p, "/api/v1/nodes/%s/status", name);
    patch(p, json_pack("{s:O}", "status", json_object_get(n, "status")));
    snprintf(p, sizeof p, "/api/v1/nodes/%s", name);
    patch(p, json_pack("{s:{s:O}}", "spec", "taints", json_object_get(json_object_get(n, "spec"), "taints")));
    json_decref(n);
}

static void shared_pod(const char *name, const char *on_node) {
    char y[900];
    snprintf(y, sizeof y,
             "apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: ml}\n"
             "spec:\n%s%s%s  containers:\n  - name: w\n    image: chat:1\n"
             "    resources: {limits: {nvidia.com/gpu.shared: '1'}, requests: {cpu: 100m, memory: 128Mi}}\n",
             name, on_node ? "  nodeSelector: {kubernetes.io/hostname: " : "", on_node ? on_node : "",
             on_node ? "}\n" : "");
    apply(y);
}

static int setup(void **st) {
    (void)st;
    kt_start(&ENV, 1);
    gs_kube_config c;
    gs_error e;
    if (gs_kubeconfig_load(ENV.admin_kc, NULL, &c, &e)) fail_msg("%s", e.msg);
    gs_kube_new(&c, 10000, &ADMIN, &e);
    gs_kube_config_free(&c);
    gs_catalog_init(&CAT);
    if (gs_catalog_load(&CAT, NULL, &e)) fail_msg("catalog: %s", e.msg);
    apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: gpu-operator}\n");
    static const char *const files[] = {"namespace.yaml", "rbac.yaml", "rbac-kube-fake.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/deploy/%s", GS_SOURCE_DIR, files[i]);
        if (kt_apply_file(ADMIN, p, &e)) fail_msg("%s: %s", files[i], e.msg);
    }
    apply(PROBE_TEST_USER_RBAC "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n");
    /* the device plugin's ConfigMap as an admin left it: a config of theirs ("any"), and
     * gpuscale's key holding something that is not a valid config */
    json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                           "gpuscale-device-plugin-config", "namespace", "gpu-operator", "data", "any", ADMIN_CFG,
                           "gpuscale-timeslicing-4", BAD_CFG);
    if (gs_kube_create(ADMIN, "/api/v1/namespaces/gpu-operator/configmaps", cm, NULL, &e)) fail_msg("cm: %s", e.msg);
    json_decref(cm);
    /* nodes that came up without gpuscale: an unconfigured T4 of the time-slicing pool; an H100
     * of the MIG pool laid out all-1g.10gb, its (fake) mig-manager held; two nodes of a pool
     * that is gone, one cordoned by gpuscale (annotation), one by an admin */
    make_node("ts-a", "g4dn.xlarge", "t4-ts", NULL, NULL, 0, NULL);
    const gs_gpu_model *h100 = gs_gpu_get(gs_gpu_find("h100-80gb"));
    assert_non_null(h100);
    gs_gpu_state g;
    memset(&g, 0, sizeof g);
    g.mode = GS_GPUMODE_MIG;
    int p1 = gs_mig_profile_find(h100, "1g.10gb");
    for (int i = 0; i < 7; i++) {
        g.parts[g.nparts].profile = (int8_t)p1;
        g.parts[g.nparts].start = (uint8_t)gs_mig_best_start(h100, g.parts, g.nparts, p1);
        g.nparts++;
    }
    make_node("mig-a", "p5.4xlarge", "h100-mig", "all-1g.10gb", &g, 1, "gpuscale.dev/kube-fake-hold=true");
    make_node("old-1", "g4dn.xlarge", "retired", NULL, NULL, 0, NULL);
    make_node("old-2", "g4dn.xlarge", "retired", NULL, NULL, 0, NULL);
    patch("/api/v1/nodes/old-1",
          json_pack("{s:{s:{s:s}},s:{s:b}}", "metadata", "annotations", "gpuscale.dev/disruption", "consolidate", "spec",
                    "unschedulable", 1));
    patch("/api/v1/nodes/old-2", json_pack("{s:{s:b}}", "spec", "unschedulable", 1));
    MPORT = probe_free_port();
    snprintf(CFG, sizeof CFG, "%s/gpuscale.yaml", ENV.dir);
    FILE *f = fopen(CFG, "w");
    fprintf(f, "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: t4-ts}\nspec:\n"
               "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g4dn]}]\n"
               "  sharing: {mode: timeSlicing, timeSlicing: {replicas: 4}}\n  disruption: {consolidateAfter: 10m}\n---\n"
               "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: h100-mig}\nspec:\n"
               "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [p5]}]\n"
               "  sharing: {mode: mig, mig: {profiles: [1g.10gb, 3g.40gb]}}\n  disruption: {consolidateAfter: 10m}\n");
    fclose(f);
    start_ctl();
    return 0;
}

static int teardown(void **st) {
    (void)st;
    probe_stop_pid(&CTL, SIGKILL);
    gs_catalog_free(&CAT);
    gs_kube_free(ADMIN);
    gs_informers_shutdown();
    kt_stop(&ENV);
    curl_global_cleanup();
    return 0;
}

/* gpuscale's cordon on a node of a pool that is gone is undone; an admin's cordon stays. */
static void test_gone_pool_cordon_undone(void **st) {
    (void)st;
    char msg[1024];
    WAIT_UNTIL(!cordoned("old-1") && node_meta("old-1", "annotations", "gpuscale.dev/disruption")[0] == '\0', 30,
               "gpuscale's cordon of a gone pool's node undone");
    WAIT_UNTIL(events("DisruptionUndone", "old-1", msg, sizeof msg) >= 1, 10, "DisruptionUndone event");
    fprintf(stderr, "undone: %s\n", msg);
    assert_non_null(strstr(msg, "GPUPool is gone"));
    sleep(1);
    assert_true(cordoned("old-2")); /* an admin's */
    assert_int_equal(events("DisruptionUndone", "old-2", NULL, 0), 0);
}

/* A malformed key in the device plugin's ConfigMap is reported and left alone; the node is not
 * touched. Once the admin removes it, the unconfigured node is switched (no launch). */
static void test_unconfigured_node_switched(void **st) {
    (void)st;
    char msg[1024];
    shared_pod("chat-0", "ts-a");
    WAIT_UNTIL(log_has("time-slicing not started") && log_has("resources[0].replicas"), 30,
               "the malformed device-plugin config reported");
    assert_true(log_has("not overwritten"));
    sleep(1);
    assert_string_equal(cm_key("gpuscale-timeslicing-4"), BAD_CFG);
    assert_string_equal(node_meta("ts-a", "labels", GS_DP_CONFIG_LABEL), "");
    assert_false(cordoned("ts-a"));
    assert_false(pod_running_on("chat-0", NULL));
    /* the admin removes the bad key: the retry writes gpuscale's config and switches ts-a */
    patch(CM_PATH, json_pack("{s:{s:n}}", "data", "gpuscale-timeslicing-4"));
    WAIT_UNTIL(pod_running_on("chat-0", "ts-a"), 40, "the gpu.shared pod runs on the switched node");
    assert_string_equal(node_meta("ts-a", "labels", GS_DP_CONFIG_LABEL), "gpuscale-timeslicing-4");
    assert_string_equal(node_meta("ts-a", "labels", GS_DP_REPLICAS_LABEL), "4");
    assert_string_equal(node_meta("ts-a", "labels", GS_DP_STRATEGY_LABEL), "time-slicing");
    assert_int_equal(alloc_of("ts-a", "nvidia.com/gpu.shared"), 4);
    WAIT_UNTIL(!cordoned("ts-a") && node_meta("ts-a", "annotations", "gpuscale.dev/disruption")[0] == '\0', 10,
               "ts-a uncordoned, its reconfigure mark removed");
    assert_true(events("TimeSlicingConfiguring", "ts-a", msg, sizeof msg) >= 1);
    fprintf(stderr, "configuring: %s\n", msg);
    assert_non_null(strstr(msg, "nvidia.com/device-plugin.config=gpuscale-timeslicing-4"));
    WAIT_UNTIL(events("TimeSlicingConfigured", "ts-a", NULL, 0) >= 1, 10, "TimeSlicingConfigured event");
    /* gpuscale's config next to the admin's, which is untouched */
    assert_string_equal(cm_key("any"), ADMIN_CFG);
    int32_t r = 0;
    bool rename = false;
    gs_error e;
    assert_int_equal(gs_dp_config_parse(cm_key("gpuscale-timeslicing-4"), "cm", &r, &rename, &e), 0);
    assert_int_equal(r, 4);
    assert_true(rename);
    assert_true(metric("gpuscale_launches_total") == 0);
    WAIT_UNTIL(metric("gpuscale_reconfigurations_total{kind=\"timeslicing\",result=\"ok\"}") >= 1, 5,
               "the switch counted (metrics are published every second)");
}

/* More pods than ts-a's replicas: the rest get one node, labelled at launch, whose replicas
 * the device plugin advertises; every pod runs. */
static void test_launch_labelled(void **st) {
    (void)st;
    char name[32];
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "chat-%d", i);
        shared_pod(name, NULL);
    }
    WAIT_UNTIL(metric("gpuscale_launches_total") >= 1, 30, "a launch for the pods ts-a has no replicas for");
    json_t *nodes = get("/api/v1/nodes?labelSelector=gpuscale.dev%2Fpool%3Dt4-ts");
    char launched[256] = "";
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(nodes, "items"), i, n) {
        const char *nm = json_string_value(json_object_get(json_object_get(n, "metadata"), "name"));
        if (nm && strcmp(nm, "ts-a") != 0) snprintf(launched, sizeof launched, "%s", nm);
    }
    json_decref(nodes);
    assert_true(launched[0]);
    assert_string_equal(node_meta(launched, "labels", GS_DP_CONFIG_LABEL), "gpuscale-timeslicing-4");
    for (int k = 1; k <= 5; k++) {
        snprintf(name, sizeof name, "chat-%d", k);
        WAIT_UNTIL(pod_running_on(name, NULL), 40, "every gpu.shared pod Running");
    }
    assert_int_equal(alloc_of(launched, "nvidia.com/gpu.shared"), 4);
    assert_false(cordoned(launched));
    assert_int_equal(events("TimeSlicingConfiguring", launched, NULL, 0), 0); /* configured at launch, not switched */
    sleep(1);
    assert_true(metric("gpuscale_launches_total") == 1);
}

/* A node whose device plugin never applies the config: the switch times out, the node is
 * uncordoned and its label removed; the retry (after --mig-retry-after) succeeds. */
static void test_switch_timeout(void **st) {
    (void)st;
    char msg[1024];
    make_node("ts-b", "g4dn.xlarge", "t4-ts", NULL, NULL, 0, "gpuscale.dev/kube-fake-dp-fail=true");
    shared_pod("chat-b", "ts-b");
    WAIT_UNTIL(events("TimeSlicingConfigFailed", "ts-b", msg, sizeof msg) >= 1, 30, "TimeSlicingConfigFailed event");
    fprintf(stderr, "ts failed: %s\n", msg);
    assert_non_null(strstr(msg, "did not advertise"));
    WAIT_UNTIL(!cordoned("ts-b"), 10, "ts-b uncordoned after the failure");
    assert_string_equal(node_meta("ts-b", "labels", GS_DP_CONFIG_LABEL), "");
    assert_string_equal(node_meta("ts-b", "annotations", "gpuscale.dev/disruption"), "");
    assert_false(pod_running_on("chat-b", NULL));
    WAIT_UNTIL(metric("gpuscale_reconfigurations_total{kind=\"timeslicing\",result=\"failed\"}") >= 1, 5,
               "the failure counted (metrics are published every second)");
    patch("/api/v1/nodes/ts-b", json_pack("{s:{s:{s:n}}}", "metadata", "annotations", "gpuscale.dev/kube-fake-dp-fail"));
    WAIT_UNTIL(pod_running_on("chat-b", "ts-b"), 40, "the retry switches ts-b and the pod runs there");
    assert_false(cordoned("ts-b"));
}

/* The controller restarted (kill -9) in the middle of a MIG reconfiguration and of a
 * time-slicing switch: the new one resumes both (the nodes stay cordoned while mig-manager and
 * the device plugin have not answered) and uncordons each once it is applied. */
static void test_restart_mid_mig_reconfiguration(void **st) {
    (void)st;
    make_node("ts-c", "g4dn.xlarge", "t4-ts", NULL, NULL, 0, "gpuscale.dev/kube-fake-hold=true");
    shared_pod("chat-c", "ts-c");
    apply("apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: ml}\n"
          "spec:\n  nodeSelector: {kubernetes.io/hostname: mig-a}\n  containers:\n  - name: w\n    image: big:1\n"
          "    resources: {limits: {nvidia.com/mig-3g.40gb: '1'}, requests: {cpu: 500m, memory: 1Gi}}\n");
    WAIT_UNTIL(cordoned("mig-a") && strcmp(node_meta("mig-a", "annotations", "gpuscale.dev/disruption"), "reconfigure") == 0 &&
                   strncmp(node_meta("mig-a", "labels", "nvidia.com/mig.config"), "gpuscale.", 9) == 0,
               30, "mig-a cordoned for a MIG reconfiguration");
    assert_string_equal(node_meta("mig-a", "labels", "nvidia.com/mig.config.state"), "pending");
    WAIT_UNTIL(cordoned("ts-c") && strcmp(node_meta("ts-c", "annotations", "gpuscale.dev/disruption"), "reconfigure") == 0 &&
                   strcmp(node_meta("ts-c", "labels", GS_DP_CONFIG_LABEL), "gpuscale-timeslicing-4") == 0,
               30, "ts-c cordoned for a time-slicing switch");
    probe_stop_pid(&CTL, SIGKILL);
    start_ctl();
    WAIT_UNTIL(log_has("MIG reconfiguration resumed") && log_has("time-slicing reconfiguration resumed"), 30,
               "the new controller resumes both reconfigurations");
    sleep(2);
    assert_true(cordoned("mig-a")); /* still pending: kept cordoned */
    assert_true(cordoned("ts-c"));
    assert_false(pod_running_on("big", NULL));
    assert_false(pod_running_on("chat-c", NULL));
    patch("/api/v1/nodes/ts-c", json_pack("{s:{s:{s:n}}}", "metadata", "annotations", "gpuscale.dev/kube-fake-hold"));
    WAIT_UNTIL(pod_running_on("chat-c", "ts-c"), 40, "the gpu.shared pod runs on ts-c once its replicas are advertised");
    WAIT_UNTIL(!cordoned("ts-c") && node_meta("ts-c", "annotations", "gpuscale.dev/disruption")[0] == '\0', 10,
               "ts-c uncordoned, its mark removed");
    patch("/api/v1/nodes/mig-a", json_pack("{s:{s:{s:n}}}", "metadata", "annotations", "gpuscale.dev/kube-fake-hold"));
    WAIT_UNTIL(pod_running_on("big", "mig-a"), 40, "the 3g.40gb pod runs on mig-a once mig-manager succeeded");
    assert_string_equal(node_meta("mig-a", "labels", "nvidia.com/mig.config.state"), "success");
    WAIT_UNTIL(!cordoned("mig-a") && node_meta("mig-a", "annotations", "gpuscale.dev/disruption")[0] == '\0', 10,
               "mig-a uncordoned, its mark removed");
    WAIT_UNTIL(metric("gpuscale_cordons_resumed_total") >= 2, 5, "the resumed cordons counted");
    assert_true(metric("gpuscale_launches_total") == 0); /* the new controller launched nothing */
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_gone_pool_cordon_undone),
        cmocka_unit_test(test_unconfigured_node_switched),
        cmocka_unit_test(test_launch_labelled),
        cmocka_unit_test(test_switch_timeout),
        cmocka_unit_test(test_restart_mid_mig_reconfiguration),
    };
    return cmocka_run_group_tests(t, setup, teardown);
}
