/* End to end, against a REAL control plane (etcd + kube-apiserver + kube-scheduler +
 * kube-controller-manager v1.20.2 on loopback, scripts/kube-testenv.sh) and a REAL Redis:
 * deploy/'s CRDs and RBAC applied; `gpuscale run --provider kube-fake --ledger FILE` started
 * twice under the unprivileged RBAC identity (leader election); Redis lists fill -> Deployments
 * scale from 0 -> their GPU pods (MIG and whole-GPU) go Pending -> gpuscale launches the
 * cheapest fitting nodes with the MIG labels -> kube-scheduler binds the pods there -> the API
 * server is restarted mid-run without duplicate launches -> an unplaceable pod is told why ->
 * a hard budget refuses a launch -> a soft budget with scaleToMin takes its workload to 0 ->
 * the reconcile step repacks a MIG node make-before-break (replica moved, node released) ->
 * the leader is killed and the other replica takes over within the lease -> the queues drain,
 * replicas go to 0 -> consolidation honours do-not-disrupt and waits for a PodDisruptionBudget
 * instead of forcing -> an idle MIG GPU of a kept node is repartitioned through the mig-parted
 * ConfigMap and nvidia.com/mig.config (a failure first, then the retry) -> the nodes are
 * released -> SIGTERM exits 0 and releases the Lease -> the ledger has the spend, exactly.
 * Skips (77) only when the control plane cannot be built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "io/catalog_load.h"
#include "io/kube/informer.h"
#include "io/ledger/ledger.h"
#include "io/kube/kube.h"
#include "io/kube/kubeconfig.h"
#include "kube/probe.h"
#include "kube/manifests.h"
#include "kube/testenv.h"


static kt_env ENV;
static gs_kube *ADMIN;
static pid_t REDIS_PID = -1, CTL_A = -1, CTL_B = -1;
static int REDIS_PORT, MPORT_A, MPORT_B, SURVIVOR;
static char CFG[400], LEDGER[400];

static long long redis_cmd(const char *fmt, const char *a, const char *b) {
    redisContext *r = redisConnect("127.0.0.1", REDIS_PORT);
    if (!r || r->err) fail_msg("redis connect");
    redisReply *rep = b ? redisCommand(r, fmt, a, b) : redisCommand(r, fmt, a);
    long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep) freeReplyObject(rep);
    redisFree(r);
    return v;
}

static long http_status(int port, const char *path) {
    CURL *c = curl_easy_init();
    char url[128], buf[65536] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, probe_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, buf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static json_t *get(const char *path) {
    json_t *o = NULL;
    gs_error e;
    if (gs_kube_get(ADMIN, path, &o, &e)) return NULL;
    return o;
}

static int replicas_in(const char *ns, const char *dep) {
    char p[256];
    snprintf(p, sizeof p, "/apis/apps/v1/namespaces/%s/deployments/%s", ns, dep);
    json_t *o = get(p);
    int r = o ? (int)json_integer_value(json_object_get(json_object_get(o, "spec"), "replicas")) : -1;
    json_decref(o);
    return r;
}

static int replicas(const char *dep) { return replicas_in("ml", dep); }

/* Our nodes of a pool (label gpuscale.dev/pool=POOL): count; first one's details copied out. */
static int pool_nodes(const char *pool, json_t **first) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/nodes?labelSelector=gpuscale.dev%%2Fpool%%3D%s", pool);
    json_t *o = get(p);
    int n = o ? (int)json_array_size(json_object_get(o, "items")) : -1;
    if (first) *first = n > 0 ? json_incref(json_array_get(json_object_get(o, "items"), 0)) : NULL;
    json_decref(o);
    return n;
}

/* Pods of app=APP in ml: how many exist, how many Running on a gs- node. */
static void pods(const char *app, int *total, int *running_on_ours) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/ml/pods?labelSelector=app%%3D%s", app);
    json_t *o = get(p);
    *total = 0;
    *running_on_ours = 0;
    size_t i;
    json_t *pod;
    json_array_foreach(json_object_get(o, "items"), i, pod) {
        if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp")) continue;
        (*total)++;
        const char *nn = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
        const char *ph = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
        if (nn && strncmp(nn, "gs-", 3) == 0 && ph && strcmp(ph, "Running") == 0) (*running_on_ours)++;
    }
    json_decref(o);
}

#define WAIT_UNTIL(cond, secs, what) PROBE_WAIT_UNTIL(cond, secs, what, ENV.dir, "ctl-a.log ctl-b.log")

static pid_t start_ctl(const char *id, int mport) {
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", mport);
    snprintf(log, sizeof log, "%s/ctl-%s.log", ENV.dir, id);
    const char *argv[] = {GS_BINARY, "run", "--kubeconfig", ENV.user_kc, "--provider", "kube-fake", "--config", CFG,
                    "--id", id, "--lease-namespace", "gpuscale-system", "--lease-duration", "4",
                    "--metrics-port", port, "--interval", "200", "--ledger", LEDGER, "--meter-interval", "1s", "--mig-retry-after", "2s",
                    "--layout-settle", "2s", NULL};
    return probe_spawn(argv, log);
}

static const char *MANIFESTS =
    /* the unprivileged test user gets exactly deploy/'s roles (the ServiceAccount's there) */
    PROBE_TEST_USER_RBAC
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n---\n"
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: research}\n---\n"
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: batch}\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: batch, namespace: batch}\n"
    "spec:\n  replicas: 0\n  selector: {matchLabels: {app: batch}}\n  template:\n    metadata: {labels: {app: batch}}\n"
    "    spec:\n      containers:\n      - name: w\n        image: batch:1\n"
    "        resources: {limits: {nvidia.com/gpu: '1'}, requests: {cpu: '1', memory: 4Gi}}\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: embed, namespace: ml}\n"
    "spec:\n  replicas: 0\n  selector: {matchLabels: {app: embed}}\n  template:\n    metadata: {labels: {app: embed}}\n"
    "    spec:\n      containers:\n      - name: w\n        image: embed:1\n"
    "        resources: {limits: {nvidia.com/mig-1g.10gb: '1'}, requests: {cpu: 500m, memory: 1Gi}}\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: train, namespace: ml}\n"
    "spec:\n  replicas: 0\n  selector: {matchLabels: {app: train}}\n  template:\n    metadata: {labels: {app: train}}\n"
    "    spec:\n      containers:\n      - name: w\n        image: train:1\n"
    "        resources: {limits: {nvidia.com/gpu: '1'}, requests: {cpu: '1', memory: 4Gi}}\n";

static int setup(void **st) {
    (void)st;
    kt_start(&ENV, 1);
    gs_kube_config c;
    gs_error e;
    if (gs_kubeconfig_load(ENV.admin_kc, NULL, &c, &e)) fail_msg("%s", e.msg);
    gs_kube_new(&c, 10000, &ADMIN, &e);
    gs_kube_config_free(&c);
    REDIS_PID = probe_redis_start(ENV.dir, &REDIS_PORT);
    snprintf(CFG, sizeof CFG, "%s/gpuscale.yaml", ENV.dir);
    snprintf(LEDGER, sizeof LEDGER, "%s/ledger.db", ENV.dir);
    FILE *f = fopen(CFG, "w");
    fprintf(f,
            "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: h100-mig}\nspec:\n"
            "  requirements: [{key: gpuscale.dev/gpu-model, operator: In, values: [h100-80gb]}]\n"
            "  sharing: {mode: mig, mig: {profiles: [1g.10gb, 3g.40gb]}}\n  disruption: {consolidateAfter: 2s}\n---\n"
            "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: a10g}\nspec:\n"
            "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}]\n"
            "  sharing: {mode: exclusive}\n  disruption: {consolidateAfter: 2s}\n---\n"
            "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: embed, namespace: ml}\nspec:\n"
            "  scaleTargetRef: {kind: Deployment, name: embed}\n  pool: h100-mig\n  maxReplicaCount: 10\n"
            "  cooldownPeriod: 2s\n  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleDown: {stabilizationWindowSeconds: 0}}}}\n"
            "  triggers: [{type: redis, metadata: {address: '127.0.0.1:%d', listName: embed-jobs, "
            "listLength: '10'}}]\n---\n"
            "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: train, namespace: ml}\nspec:\n"
            "  scaleTargetRef: {kind: Deployment, name: train}\n  pool: a10g\n  maxReplicaCount: 4\n"
            "  cooldownPeriod: 2s\n  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleDown: {stabilizationWindowSeconds: 0}}}}\n"
            "  triggers: [{type: redis, metadata: {address: '127.0.0.1:%d', listName: train-jobs, "
            "listLength: '1'}}]\n---\n"
            /* a hard budget no GPU node fits in: research may spend one micro-dollar this month
             * (a g5.xlarge would cross it unless less than 4 ms of the month were left) */
            "apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata: {name: research-cap}\nspec:\n"
            "  project: research\n  limits: {perMonth: '0.000001'}\n  enforce: hard\n  onExceeded: block\n---\n"
            /* a soft budget that batch crosses within seconds (a g5.xlarge is $1.006/hour): then
             * scaleToMin takes its workload to minReplicas (0) although its queue is not empty */
            "apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata: {name: batch-soft}\nspec:\n"
            "  project: batch\n  limits: {perMonth: '0.001'}\n  enforce: soft\n  onExceeded: scaleToMin\n---\n"
            "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: batch, namespace: batch}\nspec:\n"
            "  scaleTargetRef: {kind: Deployment, name: batch}\n  pool: a10g\n  maxReplicaCount: 2\n"
            "  cooldownPeriod: 2s\n  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleDown: {stabilizationWindowSeconds: 0}}}}\n"
            "  triggers: [{type: redis, metadata: {address: '127.0.0.1:%d', listName: batch-jobs, "
            "listLength: '1'}}]\n",
            REDIS_PORT, REDIS_PORT, REDIS_PORT);
    fclose(f);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    probe_stop_pid(&CTL_A, SIGKILL);
    probe_stop_pid(&CTL_B, SIGKILL);
    probe_stop_pid(&REDIS_PID, SIGTERM);
    gs_kube_free(ADMIN);
    gs_informers_shutdown();
    kt_stop(&ENV);
    curl_global_cleanup();
    return 0;
}

static void test_deploy_manifests(void **st) {
    (void)st;
    gs_error e;
    /* the GPU Operator's namespace (where the mig-parted ConfigMap lives) exists before gpuscale */
    if (kt_apply_text(ADMIN, "apiVersion: v1\nkind: Namespace\nmetadata: {name: gpu-operator}\n", "ns", &e))
        fail_msg("namespace gpu-operator: %s", e.msg);
    static const char *const files[] = {"namespace.yaml", "crds/gpupools.yaml", "crds/queuescalers.yaml",
                                        "crds/budgets.yaml", "crds/environments.yaml", "rbac.yaml",
                                        "rbac-kube-fake.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/deploy/%s", GS_SOURCE_DIR, files[i]);
        if (kt_apply_file(ADMIN, p, &e)) fail_msg("%s: %s", files[i], e.msg);
    }
    /* the CRDs are accepted as structural and become Established */
    static const char *const crds[] = {"gpupools", "queuescalers", "budgets", "environments"};
    for (size_t i = 0; i < 4; i++) {
        char p[256];
        snprintf(p, sizeof p, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s.gpuscale.dev", crds[i]);
        int est = 0;
        for (int t = 0; t < 50 && !est; t++) {
            json_t *o = get(p);
            size_t j;
            json_t *cnd;
            json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), j, cnd) {
                if (strcmp(json_string_value(json_object_get(cnd, "type")), "Established") == 0 &&
                    strcmp(json_string_value(json_object_get(cnd, "status")), "True") == 0)
                    est = 1;
            }
            json_decref(o);
            if (!est) usleep(100000);
        }
        assert_true(est);
    }
    /* the schemas accept a valid object and refuse bad ones (and the status subresource exists) */
    const char *good = "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: ok}\nspec:\n"
                       "  sharing: {mode: mig, mig: {profiles: [1g.10gb, 3g.40gb+me]}}\n"
                       "  disruption: {consolidateAfter: 30s}\n";
    if (kt_apply_text(ADMIN, good, "good", &e)) fail_msg("good GPUPool refused: %s", e.msg);
    json_t *stp = json_pack("{s:{s:i}}", "status", "nodes", 3);
    assert_int_equal(gs_kube_merge_patch(ADMIN, "/apis/gpuscale.dev/v1alpha1/gpupools/ok/status", stp, NULL, &e), 0);
    json_decref(stp);
    const char *bad_mode = "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: bad}\nspec:\n"
                           "  sharing: {mode: sliced}\n";
    assert_int_equal(kt_apply_text(ADMIN, bad_mode, "bad", &e), GS_EPEER);
    assert_non_null(strstr(e.msg, "sharing.mode"));
    const char *bad_profile = "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: bad}\nspec:\n"
                              "  sharing: {mode: mig, mig: {profiles: [1gb]}}\n";
    assert_int_equal(kt_apply_text(ADMIN, bad_profile, "bad", &e), GS_EPEER);
    const char *inline_pw = "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: q, namespace: default}\n"
                            "spec:\n  scaleTargetRef: {name: w}\n  triggers: [{type: redis, metadata: {password: hunter2}}]\n";
    assert_int_equal(kt_apply_text(ADMIN, inline_pw, "bad", &e), GS_EPEER);
    const char *no_trig = "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: q, namespace: default}\n"
                          "spec:\n  scaleTargetRef: {name: w}\n  triggers: []\n";
    assert_int_equal(kt_apply_text(ADMIN, no_trig, "bad", &e), GS_EPEER);
    if (kt_apply_text(ADMIN, MANIFESTS, "e2e", &e)) fail_msg("manifests: %s", e.msg);
}

static void test_scale_up_launch_bind(void **st) {
    (void)st;
    MPORT_A = probe_free_port();
    MPORT_B = probe_free_port();
    CTL_A = start_ctl("a", MPORT_A);
    WAIT_UNTIL(probe_metric(MPORT_A, "gpuscale_leader", 5L) == 1, 30, "replica a leads");
    CTL_B = start_ctl("b", MPORT_B);
    WAIT_UNTIL(http_status(MPORT_B, "/readyz") == 200, 30, "replica b ready");
    assert_int_equal(http_status(MPORT_B, "/healthz"), 200);
    /* fill the queues: 25 jobs / 10 per replica -> 3 MIG replicas; 2 jobs / 1 -> 2 whole-GPU replicas */
    for (int i = 0; i < 25; i++) redis_cmd("RPUSH %s %s", "embed-jobs", "job");
    redis_cmd("RPUSH %s %s", "train-jobs", "a");
    redis_cmd("RPUSH %s %s", "train-jobs", "b");
    WAIT_UNTIL(replicas("embed") == 3 && replicas("train") == 2, 30, "deployments scaled 0 -> 3 and 0 -> 2");
    int tot = 0, run = 0, tot2 = 0, run2 = 0;
    WAIT_UNTIL((pods("embed", &tot, &run), run == 3) && (pods("train", &tot2, &run2), run2 == 2), 60,
               "all 5 GPU pods bound by kube-scheduler to gpuscale's nodes and Running");
    /* the cheapest fitting nodes, with the MIG labels and capacity the GPU Operator would set */
    json_t *n = NULL;
    assert_int_equal(pool_nodes("h100-mig", &n), 1); /* 3 x 1g.10gb fit one H100 (7 per GPU) */
    const json_t *l = json_object_get(json_object_get(n, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "node.kubernetes.io/instance-type")), "p5.4xlarge");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/mig.config")), "all-1g.10gb");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/mig.config.state")), "success");
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/gpu.product")), "NVIDIA-H100-80GB-HBM3");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(n, "status"), "allocatable"),
                                                          "nvidia.com/mig-1g.10gb")), "7");
    json_decref(n);
    assert_int_equal(pool_nodes("a10g", &n), 2); /* 2 x g5.xlarge ($1.006) beat 1 x g5.12xlarge ($5.672) */
    l = json_object_get(json_object_get(n, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "node.kubernetes.io/instance-type")), "g5.xlarge");
    json_decref(n);
    assert_true(probe_metric(MPORT_A, "gpuscale_launches_total", 5L) == 3);
    assert_true(probe_metric(MPORT_B, "gpuscale_leader", 5L) == 0);
    assert_true(probe_metric(MPORT_B, "gpuscale_launches_total", 5L) == 0); /* the follower never acts */
}

static void test_apiserver_restart_no_duplicates(void **st) {
    (void)st;
    assert_int_equal(kt_restart_apiserver(&ENV), 0);
    sleep(4); /* watches reconnect, the leader renews */
    int tot = 0, run = 0;
    WAIT_UNTIL((pods("embed", &tot, &run), run == 3), 30, "pods still running after the restart");
    assert_int_equal(pool_nodes("h100-mig", NULL), 1);
    assert_int_equal(pool_nodes("a10g", NULL), 2);
    double la = probe_metric(MPORT_A, "gpuscale_launches_total", 5L), lb = probe_metric(MPORT_B, "gpuscale_launches_total", 5L);
    assert_true(la + lb == 3);
}

/* A pod no pool can take (7g.80gb: h100-mig allows 1g.10gb and 3g.40gb only, a10g has no MIG):
 * the packer's reason is told on the pod as a Warning Event, and nothing is launched for it. */
static int unsched_events(const char *pod, char *msg, size_t n) {
    json_t *evs = get("/api/v1/namespaces/ml/events");
    int found = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(evs, "items"), i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        const char *on = json_string_value(json_object_get(json_object_get(ev, "involvedObject"), "name"));
        if (r && on && strcmp(r, "NotTriggerScaleUp") == 0 && strcmp(on, pod) == 0) {
            found++;
            snprintf(msg, n, "%s", json_string_value(json_object_get(ev, "message")));
        }
    }
    json_decref(evs);
    return found;
}

/* Events with `reason` about object `name` in namespace ns: how many; the last message. */
static int events(const char *ns, const char *reason, const char *name, char *msg, size_t n) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/events", ns);
    json_t *evs = get(p);
    int found = probe_count_events(evs, NULL, reason, name, msg, n);
    json_decref(evs);
    return found;
}

static double both(const char *metric) {
    /* a replica that is gone (killed) answers nothing: -1, counted 0 */
    double a = MPORT_A > 0 ? probe_metric(MPORT_A, metric, 5L) : 0;
    double b = MPORT_B > 0 ? probe_metric(MPORT_B, metric, 5L) : 0;
    return (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

static void apply(const char *yaml) {
    gs_error e;
    if (kt_apply_text(ADMIN, yaml, "inline", &e)) fail_msg("apply: %s\n%s", e.msg, yaml);
}

static void del(const char *path) {
    long code = 0;
    json_t *resp = NULL;
    gs_error e;
    assert_int_equal(gs_kube_do(ADMIN, "DELETE", path, NULL, NULL, &code, &resp, &e), 0);
    json_decref(resp);
    assert_true(code == 200 || code == 202 || code == 404);
}

/* Phase and node of a pod (phase "" when it does not exist). */
static void pod_state(const char *ns, const char *name, char *phase, size_t pn, char *node, size_t nn) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/%s", ns, name);
    json_t *o = get(p);
    const char *ph = json_string_value(json_object_get(json_object_get(o, "status"), "phase"));
    const char *nd = json_string_value(json_object_get(json_object_get(o, "spec"), "nodeName"));
    snprintf(phase, pn, "%s", o && ph ? ph : "");
    if (node) snprintf(node, nn, "%s", nd ? nd : "");
    json_decref(o);
}

static bool pod_running_on(const char *ns, const char *name, const char *want_node) {
    char ph[32], nd[256];
    pod_state(ns, name, ph, sizeof ph, nd, sizeof nd);
    return strcmp(ph, "Running") == 0 && (!want_node || strcmp(nd, want_node) == 0);
}

static bool pod_gone(const char *ns, const char *name) {
    char ph[32];
    pod_state(ns, name, ph, sizeof ph, NULL, 0);
    return ph[0] == '\0';
}

static bool node_exists(const char *name) {
    char p[300];
    snprintf(p, sizeof p, "/api/v1/nodes/%s", name);
    json_t *o = get(p);
    bool ok = o != NULL;
    json_decref(o);
    return ok;
}

static void test_unschedulable_pod_event(void **st) {
    (void)st;
    gs_error e;
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:[{s:s,s:s,s:{s:{s:s}}}]}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", "too-big", "namespace", "ml", "spec", "containers", "name", "w", "image",
                            "big:1", "resources", "limits", "nvidia.com/mig-7g.80gb", "1");
    long code = 0;
    json_t *resp = NULL;
    assert_int_equal(gs_kube_do(ADMIN, "POST", "/api/v1/namespaces/ml/pods", NULL, pod, &code, &resp, &e), 0);
    json_decref(pod);
    json_decref(resp);
    resp = NULL;
    assert_int_equal(code, 201);
    char msg[1024] = "";
    WAIT_UNTIL(unsched_events("too-big", msg, sizeof msg) >= 1, 20, "NotTriggerScaleUp event on the pod");
    fprintf(stderr, "unschedulable: %s\n", msg);
    assert_non_null(strstr(msg, "gpuscale: no node fits"));
    sleep(2); /* a few more ticks: still no launch, and the same reason is not told again */
    assert_int_equal(unsched_events("too-big", msg, sizeof msg), 1);
    assert_true(probe_metric(MPORT_A, "gpuscale_launches_total", 5L) + probe_metric(MPORT_B, "gpuscale_launches_total", 5L) == 3);
    assert_int_equal(gs_kube_do(ADMIN, "DELETE", "/api/v1/namespaces/ml/pods/too-big?gracePeriodSeconds=0", NULL, NULL,
                                &code, &resp, &e), 0);
    json_decref(resp);
    assert_true(code == 200 || code == 202);
}

/* A hard budget on the real control plane: research may spend $0.000001 this month, a g5.xlarge
 * costs $1.006/hour, so the gate refuses the node its pod needs: a BudgetExceeded Event on the
 * pod with the budget's reason, no launch. */
static void test_budget_refuses_launch(void **st) {
    (void)st;
    apply("apiVersion: v1\nkind: Pod\nmetadata: {name: capped, namespace: research}\n"
          "spec:\n  containers:\n  - name: w\n    image: train:1\n"
          "    resources: {limits: {nvidia.com/gpu: '1'}, requests: {cpu: '1', memory: 4Gi}}\n");
    char msg[1024] = "";
    WAIT_UNTIL(events("research", "BudgetExceeded", "capped", msg, sizeof msg) >= 1, 20, "BudgetExceeded event on the pod");
    fprintf(stderr, "budget: %s\n", msg);
    assert_non_null(strstr(msg, "budget research-cap"));
    assert_non_null(strstr(msg, "hard month limit $0.000001 would be crossed"));
    sleep(2); /* more ticks: still refused, told once, nothing launched */
    assert_int_equal(events("research", "BudgetExceeded", "capped", NULL, 0), 1);
    assert_true(both("gpuscale_launches_total") == 3);
    assert_true(both("gpuscale_budget_refused_launches_total") >= 1);
    assert_true(both("gpuscale_budget_limit_usd{budget=\"research-cap\",project=\"research\",window=\"month\"}") > 0.0000009);
    char ph[32];
    pod_state("research", "capped", ph, sizeof ph, NULL, 0);
    assert_string_equal(ph, "Pending");
    del("/api/v1/namespaces/research/pods/capped?gracePeriodSeconds=0");
}

/* onExceeded: scaleToMin on the real control plane: batch's soft $0.001/month is crossed a few
 * seconds after its node runs; the budget then holds its workload at minReplicas (0) with work
 * still queued, an alert is counted, and consolidation releases the node. */
static void test_budget_scale_to_min(void **st) {
    (void)st;
    redis_cmd("RPUSH %s %s", "batch-jobs", "x");
    WAIT_UNTIL(replicas_in("batch", "batch") == 1, 30, "batch scaled 0 -> 1");
    WAIT_UNTIL(pool_nodes("a10g", NULL) == 3, 30, "a node launched for batch (soft budget: allowed)");
    WAIT_UNTIL(both("gpuscale_budget_used_ratio{budget=\"batch-soft\",project=\"batch\",window=\"month\"}") >= 1.0, 60,
               "batch's spend crosses its $0.001 budget");
    WAIT_UNTIL(replicas_in("batch", "batch") == 0, 30, "scaleToMin: batch back to 0 with its queue not empty");
    assert_int_equal(redis_cmd("LLEN %s", "batch-jobs", NULL), 1);
    sleep(2); /* more polls of a non-empty queue: the budget keeps it at 0 */
    assert_int_equal(replicas_in("batch", "batch"), 0);
    assert_true(both("gpuscale_budget_alerts_total") >= 1);
    char msg[1024] = "";
    assert_true(events("batch", "ScaledDown", "batch", msg, sizeof msg) >= 1);
    fprintf(stderr, "scaleToMin: %s\n", msg);
    assert_non_null(strstr(msg, "budget scaleToMin"));
    WAIT_UNTIL(pool_nodes("a10g", NULL) == 2, 60, "batch's node released");
    redis_cmd("DEL %s", "batch-jobs", NULL);
}

/* Name of the first node of a pool other than `not` ("" if none). */
static void node_of_pool(const char *pool, const char *not, char *out, size_t n) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/nodes?labelSelector=gpuscale.dev%%2Fpool%%3D%s", pool);
    json_t *o = get(p);
    out[0] = '\0';
    size_t i;
    json_t *nd;
    json_array_foreach(json_object_get(o, "items"), i, nd) {
        const char *nm = json_string_value(json_object_get(json_object_get(nd, "metadata"), "name"));
        if (nm && (!not || strcmp(nm, not) != 0)) {
            snprintf(out, n, "%s", nm);
            break;
        }
    }
    json_decref(o);
}

/* Make-before-break repacking, decided by the reconcile step the simulator runs: embed's queue
 * rises to 8 replicas (7 fill the H100 node's 1g.10gb instances, the 8th gets a second node),
 * then falls to 4 (the ReplicaSet removes pods from the fuller node first: 3 stay there, 1 on
 * the new node). The step sees that the new node's replica fits a free instance of the first
 * node with room to spare (--repack-headroom 2): gpuscale cordons the new node (Repacking
 * Event), evicts its replica once the replacement capacity is there, kube-scheduler binds the
 * replacement to the first node, and the emptied node is terminated. Nothing else launches. */
static int pods_on(const char *app, const char *node) {
    char p[512];
    snprintf(p, sizeof p, "/api/v1/namespaces/ml/pods?labelSelector=app%%3D%s&fieldSelector=spec.nodeName%%3D%s", app, node);
    json_t *o = get(p);
    int n = 0;
    size_t i;
    json_t *pod;
    json_array_foreach(json_object_get(o, "items"), i, pod) n += !json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp");
    json_decref(o);
    return n;
}

static void test_repack_make_before_break(void **st) {
    (void)st;
    char first[256], second[256], msg[1024];
    node_of_pool("h100-mig", NULL, first, sizeof first);
    assert_true(first[0]);
    double launches = both("gpuscale_launches_total");
    for (int i = 0; i < 55; i++) redis_cmd("RPUSH %s %s", "embed-jobs", "job"); /* 80 jobs / 10 -> 8 */
    int tot = 0, run = 0;
    WAIT_UNTIL(replicas("embed") == 8 && (pods("embed", &tot, &run), run == 8), 60, "embed at 8 replicas, all Running");
    assert_int_equal(pool_nodes("h100-mig", NULL), 2);
    node_of_pool("h100-mig", first, second, sizeof second);
    assert_int_equal(pods_on("embed", first), 7);
    assert_int_equal(pods_on("embed", second), 1);
    assert_true(both("gpuscale_launches_total") == launches + 1);
    redis_cmd("LTRIM %s 0 39", "embed-jobs", NULL); /* 40 jobs -> 4 */
    WAIT_UNTIL(replicas("embed") == 4, 30, "embed scaled 8 -> 4");
    WAIT_UNTIL(events("default", "Repacking", second, msg, sizeof msg) >= 1, 30, "Repacking event on the second node");
    fprintf(stderr, "repack: %s\n", msg);
    assert_non_null(strstr(msg, "make-before-break"));
    WAIT_UNTIL(!node_exists(second), 60, "the repacked node released");
    WAIT_UNTIL((pods("embed", &tot, &run), run == 4 && tot == 4) && pods_on("embed", first) == 4, 30,
               "embed's 4 replicas Running on the first node");
    assert_true(both("gpuscale_repacks_total") >= 1);
    assert_true(both("gpuscale_launches_total") == launches + 1); /* the move needed no new node */
    assert_int_equal(pool_nodes("h100-mig", NULL), 1);
}

static void test_leader_killed_takeover(void **st) {
    (void)st;
    /* whichever replica leads now (the restart may have moved the lease) is killed -9 */
    WAIT_UNTIL(probe_metric(MPORT_A, "gpuscale_leader", 5L) + probe_metric(MPORT_B, "gpuscale_leader", 5L) == 1, 15, "exactly one leader");
    bool a_leads = probe_metric(MPORT_A, "gpuscale_leader", 5L) == 1;
    pid_t *victim = a_leads ? &CTL_A : &CTL_B;
    int other = a_leads ? MPORT_B : MPORT_A;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    probe_stop_pid(victim, SIGKILL);
    WAIT_UNTIL(probe_metric(other, "gpuscale_leader", 5L) == 1, 15, "the other replica takes over");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "takeover after %.1f s (lease 4 s)\n", took);
    /* lease (4 s) + the follower's retry period (0.8 s) + /metrics refresh (1 s) + slack for a loaded machine */
    assert_true(took <= 8.0);
    SURVIVOR = other;
    if (a_leads) {
        CTL_A = CTL_B;
        CTL_B = -1;
    }
}

static void cpu_pod(const char *name, const char *node, const char *extra_meta) {
    char y[1024];
    snprintf(y, sizeof y,
             "apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: ml, labels: {app: %s}%s}\n"
             "spec:\n  nodeSelector: {kubernetes.io/hostname: %s}\n  containers:\n  - name: w\n    image: helper:1\n"
             "    resources: {requests: {cpu: 100m, memory: 64Mi}}\n",
             name, name, extra_meta, node);
    apply(y);
}

/* Queues drain -> replicas 0 -> consolidation. The nodes that still carry pods show the drain
 * rules: on the H100 node a pod marked gpuscale.dev/do-not-disrupt keeps it (Event says why);
 * on one g5 node a pod whose PodDisruptionBudget (minAvailable 1) refuses its eviction is waited
 * for, never forced (node and pod stay, EvictionBlocked Event), until the PDB allows it. While
 * the H100 node is kept, a pod asking for a 3g.40gb MIG instance makes the packer repartition
 * its idle GPU: gpuscale writes the mig-parted config into the ConfigMap, sets
 * nvidia.com/mig.config, the GPU Operator (kube-fake's) applies it and reports success, and
 * the pod runs there without any launch. */
static void test_drain_pdb_dnd_mig_release(void **st) {
    (void)st;
    char h100[256], g5a[256], g5b[256], msg[1024];
    node_of_pool("h100-mig", NULL, h100, sizeof h100);
    node_of_pool("a10g", NULL, g5a, sizeof g5a);
    node_of_pool("a10g", g5a, g5b, sizeof g5b);
    assert_true(h100[0] && g5a[0] && g5b[0]);
    cpu_pod("keeper", h100, ", annotations: {gpuscale.dev/do-not-disrupt: 'true'}");
    cpu_pod("guarded", g5a, "");
    apply("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: guarded, namespace: ml}\n"
          "spec:\n  minAvailable: 1\n  selector: {matchLabels: {app: guarded}}\n");
    WAIT_UNTIL(pod_running_on("ml", "keeper", h100) && pod_running_on("ml", "guarded", g5a), 30, "helper pods running");
    redis_cmd("DEL %s", "embed-jobs", NULL);
    redis_cmd("DEL %s", "train-jobs", NULL);
    WAIT_UNTIL(replicas("embed") == 0 && replicas("train") == 0, 30, "replicas 0 after cooldown");
    WAIT_UNTIL(!node_exists(g5b), 60, "the g5 node without pods released");
    WAIT_UNTIL(events("ml", "EvictionBlocked", "guarded", msg, sizeof msg) >= 1, 30, "EvictionBlocked event (PDB)");
    fprintf(stderr, "pdb: %s\n", msg);
    assert_non_null(strstr(msg, "PodDisruptionBudget"));
    WAIT_UNTIL(events("default", "DisruptionBlocked", h100, msg, sizeof msg) >= 1, 30, "DisruptionBlocked event (do-not-disrupt)");
    fprintf(stderr, "do-not-disrupt: %s\n", msg);
    assert_non_null(strstr(msg, "do-not-disrupt"));
    sleep(3); /* several more consolidation rounds: nothing is forced */
    assert_true(node_exists(h100) && node_exists(g5a));
    assert_true(pod_running_on("ml", "guarded", g5a) && pod_running_on("ml", "keeper", h100));
    assert_int_equal(events("ml", "EvictionBlocked", "guarded", NULL, 0), 1); /* told once per drain */

    /* MIG repartition of the kept node's idle GPU (all-1g.10gb) for a 3g.40gb pod; the first
     * attempt fails (the fake GPU Operator is told to fail it): Warning Event, the node is
     * uncordoned, the pod waits; the retry (--mig-retry-after 2s) succeeds */
    double launches = both("gpuscale_launches_total");
    char p[400];
    gs_error e;
    snprintf(p, sizeof p, "/api/v1/nodes/%s", h100);
    json_t *mark = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "gpuscale.dev/kube-fake-mig-fail", "true");
    assert_int_equal(gs_kube_merge_patch(ADMIN, p, mark, NULL, &e), 0);
    json_decref(mark);
    apply("apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: ml}\n"
          "spec:\n  containers:\n  - name: w\n    image: big:1\n"
          "    resources: {limits: {nvidia.com/mig-3g.40gb: '1'}, requests: {cpu: 500m, memory: 1Gi}}\n");
    WAIT_UNTIL(events("default", "MIGReconfigFailed", h100, msg, sizeof msg) >= 1, 30, "MIGReconfigFailed event");
    fprintf(stderr, "mig failed: %s\n", msg);
    json_t *n = NULL;
    WAIT_UNTIL((json_decref(n), n = get(p),
                !json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable"))), 30, "node uncordoned after the failure");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(n, "metadata"), "labels"),
                                                           "nvidia.com/mig.config.state")), "failed");
    json_decref(n);
    assert_false(pod_running_on("ml", "big", NULL));
    json_t *unfail = json_pack("{s:{s:{s:n}}}", "metadata", "annotations", "gpuscale.dev/kube-fake-mig-fail");
    assert_int_equal(gs_kube_merge_patch(ADMIN, p, unfail, NULL, &e), 0);
    json_decref(unfail);
    WAIT_UNTIL(pod_running_on("ml", "big", h100), 60, "the 3g.40gb pod runs on the repartitioned H100 node");
    n = get(p);
    const json_t *l = json_object_get(json_object_get(n, "metadata"), "labels");
    const char *cfg = json_string_value(json_object_get(l, "nvidia.com/mig.config"));
    assert_non_null(cfg);
    assert_true(strncmp(cfg, "gpuscale.", 9) == 0);
    assert_string_equal(json_string_value(json_object_get(l, "nvidia.com/mig.config.state")), "success");
    assert_non_null(json_object_get(json_object_get(json_object_get(n, "status"), "allocatable"), "nvidia.com/mig-3g.40gb"));
    assert_false(json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable"))); /* uncordoned */
    json_t *cm = get("/api/v1/namespaces/gpu-operator/configmaps/gpuscale-mig-parted-config");
    const char *text = json_string_value(json_object_get(json_object_get(cm, "data"), "config.yaml"));
    assert_non_null(text);
    assert_non_null(strstr(text, cfg));
    assert_non_null(strstr(text, "all-1g.10gb")); /* the launch's config is there too */
    json_decref(cm);
    json_decref(n);
    assert_true(events("default", "MIGReconfigured", h100, NULL, 0) >= 1);
    assert_true(both("gpuscale_launches_total") == launches); /* no new node */

    /* the do-not-disrupt mark removed: the H100 node is drained and released */
    del("/api/v1/namespaces/ml/pods/big?gracePeriodSeconds=0");
    snprintf(p, sizeof p, "/api/v1/namespaces/ml/pods/keeper");
    json_t *unmark = json_pack("{s:{s:{s:n}}}", "metadata", "annotations", "gpuscale.dev/do-not-disrupt");
    assert_int_equal(gs_kube_merge_patch(ADMIN, p, unmark, NULL, &e), 0);
    json_decref(unmark);
    WAIT_UNTIL(!node_exists(h100) && pod_gone("ml", "keeper"), 60, "H100 node drained (keeper evicted) and released");
    /* the PDB allows the eviction now: the g5 node goes too */
    json_t *relax = json_pack("{s:{s:i}}", "spec", "minAvailable", 0);
    assert_int_equal(gs_kube_merge_patch(ADMIN, "/apis/policy/v1beta1/namespaces/ml/poddisruptionbudgets/guarded", relax, NULL, &e), 0);
    json_decref(relax);
    WAIT_UNTIL(!node_exists(g5a) && pod_gone("ml", "guarded"), 60, "g5 node drained once the PDB allows it, and released");
    WAIT_UNTIL(pool_nodes("h100-mig", NULL) == 0 && pool_nodes("a10g", NULL) == 0, 60, "nodes released");
    assert_true(probe_metric(SURVIVOR, "gpuscale_terminations_total", 5L) >= 1);
    /* no duplicate launch anywhere: 3 nodes were ever created (one Launched event each) */
    /* events were recorded for the decisions */
    json_t *evs = get("/api/v1/namespaces/ml/events");
    int up = 0, down = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(evs, "items"), i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        up += r && strcmp(r, "ScaledUp") == 0;
        down += r && strcmp(r, "ScaledDown") == 0;
    }
    json_decref(evs);
    assert_true(up >= 2 && down >= 2);
    json_t *nev = get("/api/v1/namespaces/default/events");
    int launched = 0, consolidated = 0;
    json_array_foreach(json_object_get(nev, "items"), i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        launched += r && strcmp(r, "Launched") == 0;
        consolidated += r && strcmp(r, "Consolidated") == 0;
    }
    json_decref(nev);
    assert_int_equal(launched, 5); /* 3 + 1 (repacked) for ml, 1 for batch */
    assert_int_equal(consolidated, 5);
    /* SIGTERM: exits 0 and releases the Lease */
    kill(CTL_A, SIGTERM);
    int status = 0;
    for (int t = 0; t < 100; t++) {
        if (waitpid(CTL_A, &status, WNOHANG) == CTL_A) {
            CTL_A = -1;
            break;
        }
        usleep(100000);
    }
    assert_int_equal(CTL_A, -1);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    json_t *lease = get("/apis/coordination.k8s.io/v1/namespaces/gpuscale-system/leases/gpuscale-leader");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lease, "spec"), "holderIdentity")), "");
    json_decref(lease);
}

static gs_usd_u row_usd(const gs_cost_row *rows, int32_t n, const char *key) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(rows[i].key, key) == 0) return rows[i].usd;
    return 0;
}

static gs_usd_u rows_total(const gs_cost_row *rows, int32_t n) {
    gs_usd_u t = 0;
    for (int32_t i = 0; i < n; i++) t += rows[i].usd;
    return t;
}

/* After the run (every replica stopped): the ledger has the spend. Each project, pool and
 * instance type that ran has its share; the three breakdowns add up to the same total; each
 * node's intervals never overlap across the API-server restart and the leader takeover
 * (nothing billed twice), leave no gap worth a micro-dollar (zero-amount intervals are not
 * stored), and add up to its price times its metered life (to the micro-dollar: per-interval
 * rounding telescopes); research, whose launch the budget refused, spent nothing. */
static void test_ledger_has_the_spend(void **st) {
    (void)st;
    gs_ledger *l = NULL;
    gs_error e;
    if (gs_ledger_open(LEDGER, false, &l, &e)) fail_msg("%s", e.msg);
    assert_int_equal(gs_ledger_check(l, &e), 0);
    gs_cost_row *byp = NULL, *bypool = NULL, *byt = NULL;
    int32_t np = 0, npool = 0, nt = 0;
    assert_int_equal(gs_ledger_report(l, GS_LEDGER_BY_PROJECT, 0, INT64_MAX / 2, &byp, &np, &e), 0);
    assert_int_equal(gs_ledger_report(l, GS_LEDGER_BY_POOL, 0, INT64_MAX / 2, &bypool, &npool, &e), 0);
    assert_int_equal(gs_ledger_report(l, GS_LEDGER_BY_ITYPE, 0, INT64_MAX / 2, &byt, &nt, &e), 0);
    for (int32_t i = 0; i < np; i++) fprintf(stderr, "ledger project %-10s $%.6f\n", byp[i].key, (double)byp[i].usd / 1e6);
    for (int32_t i = 0; i < npool; i++) fprintf(stderr, "ledger pool    %-10s $%.6f\n", bypool[i].key, (double)bypool[i].usd / 1e6);
    for (int32_t i = 0; i < nt; i++) fprintf(stderr, "ledger type    %-10s $%.6f\n", byt[i].key, (double)byt[i].usd / 1e6);
    assert_true(row_usd(byp, np, "ml") > 0);
    assert_int_equal(row_usd(byp, np, "research"), 0);
    assert_true(row_usd(byp, np, "batch") >= 1000); /* crossed its $0.001 */
    assert_true(row_usd(bypool, npool, "h100-mig") > 0);
    assert_true(row_usd(bypool, npool, "a10g") > 0);
    assert_true(row_usd(byt, nt, "p5.4xlarge") > 0);
    assert_true(row_usd(byt, nt, "g5.xlarge") > 0);
    assert_true(rows_total(byp, np) > 0);
    assert_int_equal(rows_total(byp, np), rows_total(bypool, npool));
    assert_int_equal(rows_total(byp, np), rows_total(byt, nt));
    free(byp);
    free(bypool);
    free(byt);
    gs_usd_u ml = 0;
    assert_int_equal(gs_ledger_sum(l, "ml", 0, INT64_MAX / 2, &ml, &e), 0);
    assert_true(ml > 0);
    gs_ledger_close(l);

    /* per node: intervals tile [first start, last end), and sum to price x that span */
    gs_catalog cat;
    gs_catalog_init(&cat);
    assert_int_equal(gs_catalog_load(&cat, NULL, &e), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(LEDGER, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT node, instance_type, capacity, start_ms, end_ms, SUM(usd_micro) FROM spend "
                                        "GROUP BY node, start_ms, end_ms ORDER BY node, start_ms, end_ms",
                                        -1, &q, NULL),
                     SQLITE_OK);
    char node[256] = "", itype[64] = "", cap[16] = "";
    int64_t first = 0, last = 0, sum = 0;
    int nodes = 0, intervals = 0;
    for (int more = 1; more;) {
        int rc = sqlite3_step(q);
        more = rc == SQLITE_ROW;
        const char *nn = more ? (const char *)sqlite3_column_text(q, 0) : "";
        if (node[0] && (!more || strcmp(nn, node) != 0)) { /* close the previous node */
            int ti = gs_catalog_find(&cat, itype);
            assert_true(ti >= 0);
            gs_usd_u price = gs_itype_price(&cat.types[ti], strcmp(cap, "spot") == 0 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
            int64_t expect = price * (last - first) / 3600000; /* < 2^63 for hours of any price */
            fprintf(stderr, "node %s %s: %lld ms metered, $%.6f (price x time: $%.6f)\n", node, itype,
                    (long long)(last - first), (double)sum / 1e6, (double)expect / 1e6);
            assert_true(sum - expect >= 0 && sum - expect <= 1);
            nodes++;
        }
        if (!more) break;
        int64_t s0 = sqlite3_column_int64(q, 3), s1 = sqlite3_column_int64(q, 4);
        if (strcmp(nn, node) != 0) {
            snprintf(node, sizeof node, "%s", nn);
            snprintf(itype, sizeof itype, "%s", (const char *)sqlite3_column_text(q, 1));
            snprintf(cap, sizeof cap, "%s", (const char *)sqlite3_column_text(q, 2));
            first = s0;
            sum = 0;
        } else if (s0 < last) {
            fail_msg("node %s: interval [%lld, %lld) overlaps one ending at %lld (billed twice)", node, (long long)s0,
                     (long long)s1, (long long)last);
        } else if (s0 > last) {
            /* the ledger keeps non-zero parts only: a gap is a metered interval that cost 0
             * micro-dollars (a forced meter tick a few ms after the last); any gap worth a
             * micro-dollar or more would be time not billed */
            int ti = gs_catalog_find(&cat, itype);
            assert_true(ti >= 0);
            gs_usd_u price = gs_itype_price(&cat.types[ti], strcmp(cap, "spot") == 0 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
            if (price * (s0 - last) >= 3600000)
                fail_msg("node %s: interval [%lld, %lld) after one ending at %lld: gap worth >= $0.000001 (time not billed)",
                         node, (long long)s0, (long long)s1, (long long)last);
        }
        last = s1;
        sum += sqlite3_column_int64(q, 5);
        intervals++;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    gs_catalog_free(&cat);
    fprintf(stderr, "ledger: %d nodes, %d intervals\n", nodes, intervals);
    assert_int_equal(nodes, 5); /* 2 p5.4xlarge (one repacked) + 2 g5.xlarge for ml, 1 g5.xlarge for batch */
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_deploy_manifests),
        cmocka_unit_test(test_scale_up_launch_bind),
        cmocka_unit_test(test_apiserver_restart_no_duplicates),
        cmocka_unit_test(test_unschedulable_pod_event),
        cmocka_unit_test(test_budget_refuses_launch),
        cmocka_unit_test(test_budget_scale_to_min),
        cmocka_unit_test(test_repack_make_before_break),
        cmocka_unit_test(test_leader_killed_takeover),
        cmocka_unit_test(test_drain_pdb_dnd_mig_release),
        cmocka_unit_test(test_ledger_has_the_spend),
    };
    return cmocka_run_group_tests_name("e2e gpuscale run", t, setup, teardown);
}
