/* gpuscale's custom resources as its configuration, end to end against a REAL control plane
 * (etcd + kube-apiserver + kube-scheduler + kube-controller-manager, scripts/kube-testenv.sh)
 * and a real redis-server: deploy/'s CRDs and RBAC applied, `gpuscale run --provider kube-fake
 * --ledger FILE` started WITHOUT --config under the unprivileged identity deploy/rbac.yaml grants.
 *   - a GPUPool, a QueueScaler (Redis list), a Budget and an Environment created as objects;
 *     the queue fills -> the Deployment is scaled from 0, a node launched; the QueueScaler's
 *     status shows queueLength/desiredReplicas/currentReplicas, the GPUPool's nodes >= 1 and its
 *     $/hour, the Budget's spend and blocked, the Environment's phase and expiry; every object
 *     Ready=True with observedGeneration = its generation;
 *   - the QueueScaler edited (maxReplicaCount 2 -> 1) -> takes effect (replicas 1); its cooldown
 *     state is carried over a swap (queue emptied under cooldownPeriod 30s, another edit: the
 *     workload stays up);
 *   - a GPUPool with a node (priced in its status) deleted -> the node is left, with a
 *     PoolDeleted Warning Event; the Environment object deleted -> its Deployment deleted, its
 *     ledger record closed with reason object-deleted;
 *   - bad input: a GPUPool edit the API server accepts (its schema allows any family name) but
 *     the loader refuses (no such instance family) -> Ready=False with the loader's message and
 *     one InvalidConfiguration Warning Event on the GPUPool; the last valid configuration keeps
 *     acting (the queue emptied -> the workload still goes to 0); the pool fixed -> Ready=True;
 *     the pool deleted while the QueueScaler names it -> the QueueScaler is refused (Ready=False,
 *     "spec.pool: unknown GPUPool"). SIGTERM -> exit 0 (ASan: no leak).
 * Skips (77) only when the control plane cannot be built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/kube/kubeconfig.h"
#include "io/ledger/ledger.h"
#include "kube/manifests.h"
#include "kube/probe.h"
#include "kube/testenv.h"

static kt_env ENV;
static gs_kube *ADMIN;
static pid_t CTL = -1, REDIS_PID = -1;
static int MPORT, REDIS_PORT;
static char LEDGER[400];

#define G "/apis/gpuscale.dev/v1alpha1"
#define POOL_PATH G "/gpupools/a10g"
#define SCALER_PATH G "/namespaces/ml/queuescalers/embed"
#define BUDGET_PATH G "/budgets/ml-cap"
#define ENV_PATH G "/namespaces/ml/environments/preview"
#define NIGHTLY_PATH G "/namespaces/ml/environments/nightly"
#define NIGHTLY_JOB "/apis/batch/v1/namespaces/ml/jobs/nightly"
#define FIN "gpuscale.dev/environment"
#define OTHER_FIN "example.com/keep"

static long long redis_cmd(const char *fmt, const char *a, const char *b) {
    redisContext *r = redisConnect("127.0.0.1", REDIS_PORT);
    if (!r || r->err) fail_msg("redis connect");
    redisReply *rep = b ? redisCommand(r, fmt, a, b) : redisCommand(r, fmt, a);
    long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep) freeReplyObject(rep);
    redisFree(r);
    return v;
}

#define WAIT_UNTIL(cond, secs, what) PROBE_WAIT_UNTIL(cond, secs, what, ENV.dir, "ctl.log")

static json_t *get(const char *path) {
    json_t *o = NULL;
    gs_error e;
    if (gs_kube_get(ADMIN, path, &o, &e)) return NULL;
    return o;
}

static void patch(const char *path, const char *json) {
    json_error_t je;
    json_t *p = json_loads(json, 0, &je);
    if (!p) fail_msg("bad patch %s", json);
    gs_error e;
    if (gs_kube_merge_patch(ADMIN, path, p, NULL, &e)) fail_msg("patch %s: %s", path, e.msg);
    json_decref(p);
}

static int replicas(void) {
    json_t *o = get("/apis/apps/v1/namespaces/ml/deployments/embed");
    int r = o ? (int)json_integer_value(json_object_get(json_object_get(o, "spec"), "replicas")) : -1;
    json_decref(o);
    return r;
}

static int pool_nodes(void) {
    json_t *o = get("/api/v1/nodes?labelSelector=gpuscale.dev%2Fpool%3Da10g");
    int n = o ? (int)json_array_size(json_object_get(o, "items")) : -1;
    json_decref(o);
    return n;
}

/* The object's Ready condition: status ("True"...) and message copied out; observedGeneration
 * == metadata.generation? */
static bool ready_is(const char *path, const char *want, char *msg, size_t n, bool *current) {
    json_t *o = get(path);
    bool ok = false;
    if (current) *current = false;
    const json_t *st = json_object_get(o, "status");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (!t || strcmp(t, "Ready") != 0 || !s) continue;
        ok = strcmp(s, want) == 0;
        if (msg) snprintf(msg, n, "%s", json_string_value(json_object_get(c, "message")));
    }
    if (current)
        *current = json_integer_value(json_object_get(st, "observedGeneration")) ==
                   json_integer_value(json_object_get(json_object_get(o, "metadata"), "generation"));
    json_decref(o);
    return ok;
}

static bool ready_current(const char *path) {
    bool cur = false;
    return ready_is(path, "True", NULL, 0, &cur) && cur;
}

static int64_t status_int(const char *path, const char *field) {
    json_t *o = get(path);
    const json_t *v = json_object_get(json_object_get(o, "status"), field);
    int64_t x = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(o);
    return x;
}

/* A status string field copied out; false when absent. */
static bool status_str(const char *path, const char *field, char *out, size_t n) {
    json_t *o = get(path);
    const char *s = json_string_value(json_object_get(json_object_get(o, "status"), field));
    if (s) snprintf(out, n, "%s", s);
    json_decref(o);
    return s != NULL;
}

static int events(const char *ns, const char *kind, const char *name, const char *reason, char *msg, size_t n) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/events", ns);
    json_t *evs = get(p);
    int found = probe_count_events(evs, kind, reason, name, msg, n);
    json_decref(evs);
    return found;
}

/* Is there an Event with this reason on this object whose message contains `what`? */
static bool event_says(const char *ns, const char *kind, const char *name, const char *reason, const char *what) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/events", ns);
    json_t *evs = get(p);
    bool found = false;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(evs, "items"), i, ev) {
        json_t *one = json_pack("{s:[O]}", "items", ev);
        char msg[1024] = "";
        if (one && probe_count_events(one, kind, reason, name, msg, sizeof msg) == 1 && strstr(msg, what)) found = true;
        json_decref(one);
    }
    json_decref(evs);
    return found;
}

static bool exists(const char *path) {
    json_t *o = get(path);
    json_decref(o);
    return o != NULL;
}

/* The object's metadata.finalizers joined by ",", e.g. "example.com/keep,gpuscale.dev/environment"
 * ("" when none); false when the object is gone. deleting: metadata.deletionTimestamp set. */
static bool finalizers(const char *path, char *out, size_t n, bool *deleting) {
    json_t *o = get(path);
    if (!o) return false;
    const json_t *md = json_object_get(o, "metadata");
    out[0] = '\0';
    size_t i, w = 0;
    json_t *f;
    json_array_foreach(json_object_get(md, "finalizers"), i, f) {
        int k = snprintf(out + w, n - w, "%s%s", i ? "," : "", json_string_value(f));
        if (k > 0 && (size_t)k < n - w) w += (size_t)k;
    }
    if (deleting) *deleting = json_is_string(json_object_get(md, "deletionTimestamp"));
    json_decref(o);
    return true;
}

static bool finalizers_are(const char *path, const char *want) {
    char b[256];
    return finalizers(path, b, sizeof b, NULL) && strcmp(b, want) == 0;
}

/* Prints what the status writes cost (synchronous in the loop): writes, passes that wrote, time. */
static void print_status_cost(const char *when) {
    double ok = probe_metric(MPORT, "gpuscale_status_writes_total{result=\"ok\"}", 5L);
    double secs = probe_metric(MPORT, "gpuscale_status_write_seconds_total", 5L);
    double passes = probe_metric(MPORT, "gpuscale_status_passes_total", 5L);
    double maxw = probe_metric(MPORT, "gpuscale_status_pass_writes_max", 5L);
    double maxs = probe_metric(MPORT, "gpuscale_status_pass_seconds_max", 5L);
    fprintf(stderr,
            "status writes (%s): %.0f writes in %.0f passes, %.1f ms in all, %.2f ms a write, %.2f writes and "
            "%.2f ms a pass that wrote; worst pass %.0f writes, %.1f ms\n",
            when, ok, passes, secs * 1e3, ok > 0 ? secs * 1e3 / ok : 0.0, passes > 0 ? ok / passes : 0.0,
            passes > 0 ? secs * 1e3 / passes : 0.0, maxw, maxs * 1e3);
}

/* The ledger's record of an environment: deleted with this reason? */
static bool env_deleted_for(const char *name, const char *reason) {
    gs_ledger *l = NULL;
    gs_error e;
    if (gs_ledger_open(LEDGER, false, &l, &e)) return false;
    gs_env_row *rows = NULL;
    int32_t n = 0;
    bool found = false;
    if (gs_ledger_envs(l, &rows, &n, &e) == 0)
        for (int32_t i = 0; i < n; i++)
            if (strcmp(rows[i].name, name) == 0 && rows[i].deleted >= 0 && strcmp(rows[i].reason, reason) == 0) found = true;
    free(rows);
    gs_ledger_close(l);
    return found;
}

static const char *RBAC =
    PROBE_TEST_USER_RBAC
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: embed, namespace: ml}\n"
    "spec:\n  replicas: 0\n  selector: {matchLabels: {app: embed}}\n  template:\n    metadata: {labels: {app: embed}}\n"
    "    spec:\n      containers:\n      - name: w\n        image: embed:1\n"
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
    if (kt_apply_text(ADMIN, RBAC, "rbac", &e)) fail_msg("rbac: %s", e.msg);
    /* the CRDs are served before objects of their kinds are created */
    static const char *const colls[] = {G "/gpupools", G "/queuescalers", G "/budgets", G "/environments"};
    for (size_t i = 0; i < 4; i++) {
        json_t *o = NULL;
        for (int t = 0; t < 100 && !(o = get(colls[i])); t++) usleep(100000);
        if (!o) fail_msg("%s never served", colls[i]);
        json_decref(o);
    }
    MPORT = probe_free_port();
    snprintf(LEDGER, sizeof LEDGER, "%s/ledger.db", ENV.dir);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    probe_stop_pid(&CTL, SIGKILL);
    probe_stop_pid(&REDIS_PID, SIGTERM);
    gs_kube_free(ADMIN);
    gs_informers_shutdown();
    kt_stop(&ENV);
    curl_global_cleanup();
    return 0;
}

static void test_objects_drive_scaling(void **st) {
    (void)st;
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", MPORT);
    snprintf(log, sizeof log, "%s/ctl.log", ENV.dir);
    /* started before the objects exist: it waits for a configuration, then picks them up */
    const char *argv[] = {GS_BINARY, "run", "--kubeconfig", ENV.user_kc, "--provider", "kube-fake", "--id", "crs-a",
                          "--lease-namespace", "gpuscale-system", "--lease-duration", "4", "--metrics-port", port,
                          "--interval", "200", "--ledger", LEDGER, "--meter-interval", "500ms", NULL};
    CTL = probe_spawn(argv, log);
    WAIT_UNTIL(probe_metric(MPORT, "gpuscale_leader", 2L) == 1.0, 30, "the controller leads");
    char y[2048];
    snprintf(y, sizeof y,
             "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: a10g}\nspec:\n"
             "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}]\n"
             "  sharing: {mode: exclusive}\n  disruption: {consolidateAfter: 2s}\n---\n"
             "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: embed, namespace: ml}\nspec:\n"
             "  scaleTargetRef: {kind: Deployment, name: embed}\n  pool: a10g\n  maxReplicaCount: 2\n"
             "  cooldownPeriod: 2s\n"
             "  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleDown: {stabilizationWindowSeconds: 0}}}}\n"
             "  triggers: [{type: redis, metadata: {address: '127.0.0.1:%d', listName: embed-jobs, listLength: '1'}}]\n---\n"
             "apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata: {name: ml-cap}\nspec:\n"
             "  project: ml\n  limits: {perMonth: '1000'}\n  enforce: hard\n---\n"
             "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\nmetadata: {name: preview, namespace: ml}\nspec:\n"
             "  ttl: 1h\n  workloads:\n  - name: web\n    template:\n      resources: {requests: {cpu: 100m}}\n---\n"
             /* a Job environment that carries another controller's finalizer; its pod can go
              * nowhere (stays Pending: nothing is launched or billed for it) */
             "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\n"
             "metadata: {name: nightly, namespace: ml, finalizers: [" OTHER_FIN "]}\nspec:\n"
             "  ttl: 1h\n  deleteWhen: succeeded\n  job:\n    template:\n"
             "      nodeSelector: {example.com/nowhere: 'true'}\n      resources: {requests: {cpu: 100m}}\n",
             REDIS_PORT);
    gs_error e;
    if (kt_apply_text(ADMIN, y, "crs", &e)) fail_msg("objects: %s", e.msg);
    WAIT_UNTIL(ready_current(POOL_PATH) && ready_current(SCALER_PATH) && ready_current(BUDGET_PATH) &&
                   ready_current(ENV_PATH),
               30, "every object Ready=True for its generation");

    /* the queue fills: scaled from 0, a node launched for the GPU pods */
    redis_cmd("RPUSH %s %s", "embed-jobs", "a");
    redis_cmd("RPUSH %s %s", "embed-jobs", "b");
    WAIT_UNTIL(replicas() == 2, 30, "embed scaled 0 -> 2");
    WAIT_UNTIL(pool_nodes() >= 1, 30, "a node of a10g launched");
    WAIT_UNTIL(status_int(SCALER_PATH, "queueLength") == 2 && status_int(SCALER_PATH, "desiredReplicas") == 2 &&
                   status_int(SCALER_PATH, "currentReplicas") == 2,
               20, "QueueScaler status: queue 2, desired 2, current 2");
    char b[128] = "";
    assert_true(status_str(SCALER_PATH, "lastScaleTime", b, sizeof b));
    assert_int_equal(strlen(b), 20); /* 2026-01-01T00:00:00Z */
    WAIT_UNTIL(status_int(POOL_PATH, "nodes") >= 1 && status_int(POOL_PATH, "gpus") >= 1, 20, "GPUPool status: nodes >= 1");
    assert_true(status_str(POOL_PATH, "costPerHour", b, sizeof b));
    assert_true(atof(b) > 0.5); /* a g5 node costs about $1/hour */
    /* the Budget's current periods (the ledger, metered every 500 ms) and the Environment */
    WAIT_UNTIL(status_str(BUDGET_PATH, "spentThisMonth", b, sizeof b) && atof(b) > 0, 60, "Budget status: spend > 0"); /* 60 s: once over 30 s under parallel ASan load */
    assert_true(status_str(BUDGET_PATH, "usedRatio", b, sizeof b));
    json_t *bo = get(BUDGET_PATH);
    assert_true(json_is_false(json_object_get(json_object_get(bo, "status"), "blocked")));
    const json_t *w0 = json_array_get(json_object_get(json_object_get(bo, "status"), "windows"), 0);
    assert_string_equal(json_string_value(json_object_get(w0, "window")), "month");
    assert_string_equal(json_string_value(json_object_get(w0, "limit")), "1000.000000");
    assert_non_null(json_string_value(json_object_get(w0, "periodEnd")));
    json_decref(bo);
    WAIT_UNTIL(status_str(ENV_PATH, "phase", b, sizeof b) && strcmp(b, "Running") == 0, 30, "Environment Running");
    assert_true(status_str(ENV_PATH, "expiresAt", b, sizeof b));

    /* the finalizer is on every Environment gpuscale runs, another controller's kept (first) */
    assert_true(finalizers_are(ENV_PATH, FIN));
    WAIT_UNTIL(exists(NIGHTLY_JOB), 20, "the nightly Job created");
    assert_true(finalizers_are(NIGHTLY_PATH, OTHER_FIN "," FIN));
    WAIT_UNTIL(status_str(NIGHTLY_PATH, "expiresAt", b, sizeof b), 20, "nightly status: expiresAt");
    /* a status field that stops applying is removed: without a ttl there is no expiry */
    patch(NIGHTLY_PATH, "{\"spec\": {\"ttl\": null}}");
    WAIT_UNTIL(ready_current(NIGHTLY_PATH) && !status_str(NIGHTLY_PATH, "expiresAt", b, sizeof b), 20,
               "nightly status: expiresAt gone once its ttl is");
    assert_true(status_str(NIGHTLY_PATH, "phase", b, sizeof b));
    assert_string_equal(b, "Running");
    assert_true(exists(NIGHTLY_JOB)); /* the same Job: the edit neither re-created nor deleted it */
}

static void test_edit_takes_effect(void **st) {
    (void)st;
    patch(SCALER_PATH, "{\"spec\": {\"maxReplicaCount\": 1}}");
    WAIT_UNTIL(replicas() == 1, 30, "maxReplicaCount 1 in force: embed 2 -> 1");
    WAIT_UNTIL(ready_current(SCALER_PATH) && status_int(SCALER_PATH, "desiredReplicas") == 1, 20,
               "QueueScaler Ready for its new generation, desired 1");
    assert_int_equal(status_int(SCALER_PATH, "queueLength"), 2);

    /* the scaler's state is carried across a swap: with cooldownPeriod 30s, an emptied queue and
     * then another edit, the workload stays up (a fresh state has never seen the queue active
     * and would go to 0 at once) */
    patch(SCALER_PATH, "{\"spec\": {\"cooldownPeriod\": 30}}");
    WAIT_UNTIL(ready_current(SCALER_PATH), 20, "cooldownPeriod 30 in force");
    redis_cmd("DEL %s", "embed-jobs", NULL);
    WAIT_UNTIL(status_int(SCALER_PATH, "queueLength") == 0, 20, "the scaler read the empty queue");
    patch(SCALER_PATH, "{\"spec\": {\"maxReplicaCount\": 2}}");
    WAIT_UNTIL(ready_current(SCALER_PATH), 20, "maxReplicaCount 2 in force");
    for (int i = 0; i < 10; i++) {
        assert_int_equal(replicas(), 1);
        usleep(300000);
    }
    patch(SCALER_PATH, "{\"spec\": {\"cooldownPeriod\": 2}}");
    WAIT_UNTIL(replicas() == 0, 30, "cooldownPeriod 2 in force: embed -> 0");
    redis_cmd("RPUSH %s %s", "embed-jobs", "a");
    redis_cmd("RPUSH %s %s", "embed-jobs", "b");
    WAIT_UNTIL(replicas() == 2, 30, "embed back to 2");

    /* a GPUPool deleted: its nodes are left as they are, each told so. The node (the test's,
     * cordoned so nothing lands there; consolidateAfter 10m so nothing reclaims it) is priced
     * in the pool's status first. */
    gs_error e;
    if (kt_apply_text(ADMIN,
                      "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: spare}\nspec:\n"
                      "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}]\n"
                      "  sharing: {mode: exclusive}\n  disruption: {consolidateAfter: 10m}\n",
                      "spare", &e))
        fail_msg("spare: %s", e.msg);
    json_t *node = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s}},s:{s:b}}", "apiVersion", "v1", "kind", "Node", "metadata",
                             "name", "gs-spare-1", "labels", "gpuscale.dev/pool", "spare", "node.kubernetes.io/instance-type",
                             "g5.xlarge", "karpenter.sh/capacity-type", "on-demand", "spec", "unschedulable", 1);
    if (gs_kube_create(ADMIN, "/api/v1/nodes", node, NULL, &e)) fail_msg("node: %s", e.msg);
    json_decref(node);
    char b[64] = "";
    WAIT_UNTIL(status_int(G "/gpupools/spare", "nodes") == 1 && status_str(G "/gpupools/spare", "costPerHour", b, sizeof b) &&
                   strcmp(b, "1.006000") == 0,
               20, "GPUPool spare status: 1 node, $1.006/hour");
    assert_int_equal(gs_kube_delete(ADMIN, G "/gpupools/spare", &e), 0);
    WAIT_UNTIL(events("default", "Node", "gs-spare-1", "PoolDeleted", NULL, 0) == 1, 20, "PoolDeleted Event on its node");
    json_t *still = get("/api/v1/nodes/gs-spare-1");
    assert_non_null(still); /* left running, not drained */
    json_decref(still);
    assert_int_equal(gs_kube_delete(ADMIN, "/api/v1/nodes/gs-spare-1", &e), 0);

    /* an Environment object deleted: its workloads go with it, the ledger closes its record */
    json_t *dep = get("/apis/apps/v1/namespaces/ml/deployments/preview-web");
    assert_non_null(dep);
    json_decref(dep);
    assert_int_equal(gs_kube_delete(ADMIN, ENV_PATH, &e), 0);
    WAIT_UNTIL((dep = get("/apis/apps/v1/namespaces/ml/deployments/preview-web")) == NULL || (json_decref(dep), 0), 20,
               "the Environment's Deployment deleted");
    WAIT_UNTIL(env_deleted_for("preview", "object-deleted"), 20, "ledger: preview deleted, reason object-deleted");
    /* its finalizer taken off once the deletion is recorded: the object goes */
    WAIT_UNTIL(!exists(ENV_PATH), 20, "the Environment object gone once gpuscale let it go");
    char msg[512] = "";
    assert_true(events("ml", "Deployment", "preview-web", "EnvironmentDeleted", msg, sizeof msg) >= 1);
    assert_non_null(strstr(msg, "its Environment object was deleted"));
}

static void test_invalid_edit_refused(void **st) {
    (void)st;
    /* the API server accepts any family name; the loader knows the catalog */
    patch(POOL_PATH, "{\"spec\": {\"requirements\": [{\"key\": \"karpenter.k8s.aws/instance-family\", "
                     "\"operator\": \"In\", \"values\": [\"g9\"]}]}}");
    char msg[1024] = "";
    bool cur = false;
    WAIT_UNTIL(ready_is(POOL_PATH, "False", msg, sizeof msg, &cur) && cur, 20, "GPUPool Ready=False");
    if (!strstr(msg, "spec.requirements[0].values[0]: unknown instance family 'g9'"))
        fail_msg("Ready message: %s", msg);
    WAIT_UNTIL(events("default", "GPUPool", "a10g", "InvalidConfiguration", msg, sizeof msg) == 1, 20,
               "one Warning Event on the GPUPool");
    WAIT_UNTIL(probe_metric(MPORT, "gpuscale_config_valid", 5L) == 0.0, 10, "metric: configuration not valid");
    assert_true(probe_metric(MPORT, "gpuscale_config_refused_total", 5L) >= 1.0);
    assert_true(probe_metric(MPORT, "gpuscale_status_writes_total{result=\"ok\"}", 5L) >= 4.0);
    assert_true(probe_metric(MPORT, "gpuscale_status_writes_total{result=\"error\"}", 5L) == 0.0);
    assert_non_null(strstr(msg, "GPUPool/a10g"));
    assert_non_null(strstr(msg, "the last valid one keeps acting"));
    /* the last valid configuration keeps acting: the queue empties -> 0 after the 2 s cooldown,
     * and the node of the (old) pool is still accounted */
    redis_cmd("DEL %s", "embed-jobs", NULL);
    WAIT_UNTIL(replicas() == 0, 30, "embed scaled to 0 under the last valid configuration");
    WAIT_UNTIL(status_int(SCALER_PATH, "queueLength") == 0, 20, "QueueScaler status: queue 0");
    assert_true(ready_current(SCALER_PATH));
    /* an edit of another object while the pool is refused is not applied (all or nothing) */
    patch(SCALER_PATH, "{\"spec\": {\"maxReplicaCount\": 3}}");
    WAIT_UNTIL(ready_is(SCALER_PATH, "Unknown", msg, sizeof msg, NULL), 20, "QueueScaler NotApplied");
    assert_non_null(strstr(msg, "GPUPool/a10g"));
    /* still exactly one Warning Event (not one per rebuild) */
    sleep(1);
    assert_int_equal(events("default", "GPUPool", "a10g", "InvalidConfiguration", NULL, 0), 1);
    /* fixed: everything goes in force */
    patch(POOL_PATH, "{\"spec\": {\"requirements\": [{\"key\": \"karpenter.k8s.aws/instance-family\", "
                     "\"operator\": \"In\", \"values\": [\"g5\"]}]}}");
    WAIT_UNTIL(ready_current(POOL_PATH) && ready_current(SCALER_PATH), 20, "both Ready=True again");
    /* deleting the pool a QueueScaler names is refused too: the scaler is blamed */
    gs_error e;
    assert_int_equal(gs_kube_delete(ADMIN, POOL_PATH, &e), 0);
    WAIT_UNTIL(ready_is(SCALER_PATH, "False", msg, sizeof msg, NULL), 20, "QueueScaler Ready=False (its pool is gone)");
    if (!strstr(msg, "spec.pool: unknown GPUPool 'a10g'")) fail_msg("Ready message: %s", msg);
    /* an InvalidConfiguration Event on the QueueScaler naming its pool (the same object may
     * have been refused with the same message while the objects were first applied: the
     * controller then does not say it twice, so at least one, not exactly one) */
    WAIT_UNTIL(event_says("ml", "QueueScaler", "embed", "InvalidConfiguration", "spec.pool: unknown GPUPool 'a10g'"), 20,
               "a Warning Event on the QueueScaler naming its pool");
    print_status_cost("one controller through the three tests above");
    assert_int_equal(probe_stop_pid(&CTL, SIGTERM), 0);
}

/* An Environment deleted while gpuscale is not running waits for it (its finalizer); started,
 * gpuscale deletes the workloads, closes the ledger record (object-deleted) and takes off only
 * its own finalizer; the other controller's stays until that one lets go. */
static void test_deleted_while_stopped(void **st) {
    (void)st;
    assert_true(CTL < 0);
    assert_true(exists(NIGHTLY_JOB));
    gs_error e;
    /* the pool back, so the configuration is valid again when gpuscale starts */
    if (kt_apply_text(ADMIN,
                      "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: a10g}\nspec:\n"
                      "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}]\n"
                      "  sharing: {mode: exclusive}\n  disruption: {consolidateAfter: 2s}\n",
                      "a10g", &e))
        fail_msg("a10g: %s", e.msg);
    assert_int_equal(gs_kube_delete(ADMIN, NIGHTLY_PATH, &e), 0);
    char b[256];
    bool deleting = false;
    assert_true(finalizers(NIGHTLY_PATH, b, sizeof b, &deleting)); /* still there: marked for deletion */
    assert_true(deleting);
    assert_string_equal(b, OTHER_FIN "," FIN);
    sleep(1);
    assert_true(exists(NIGHTLY_JOB)); /* nobody acted */

    char port[16], log[400];
    snprintf(port, sizeof port, "%d", MPORT);
    snprintf(log, sizeof log, "%s/ctl2.log", ENV.dir);
    const char *argv[] = {GS_BINARY, "run", "--kubeconfig", ENV.user_kc, "--provider", "kube-fake", "--id", "crs-b",
                          "--lease-namespace", "gpuscale-system", "--lease-duration", "4", "--metrics-port", port,
                          "--interval", "200", "--ledger", LEDGER, "--meter-interval", "500ms", NULL};
    CTL = probe_spawn(argv, log);
#undef WAIT_UNTIL
#define WAIT_UNTIL(cond, secs, what) PROBE_WAIT_UNTIL(cond, secs, what, ENV.dir, "ctl2.log")
    WAIT_UNTIL(!exists(NIGHTLY_JOB), 30, "the deleted Environment's Job deleted by the restarted controller");
    WAIT_UNTIL(env_deleted_for("nightly", "object-deleted"), 20, "ledger: nightly deleted, reason object-deleted");
    char msg[512] = "";
    assert_true(events("ml", "Job", "nightly", "EnvironmentDeleted", msg, sizeof msg) >= 1);
    assert_non_null(strstr(msg, "its Environment object was deleted"));
    /* only gpuscale's finalizer is taken off: the object waits for the other controller */
    WAIT_UNTIL(finalizers_are(NIGHTLY_PATH, OTHER_FIN), 20, "gpuscale's finalizer off, the other kept");
    WAIT_UNTIL(probe_metric(MPORT, "gpuscale_environment_finalizer_writes_total{op=\"remove\"}", 5L) >= 1.0, 5,
               "metric: a finalizer removed"); /* (published every second) */
    sleep(1);
    assert_true(finalizers_are(NIGHTLY_PATH, OTHER_FIN)); /* not put back on an object being deleted */
    patch(NIGHTLY_PATH, "{\"metadata\": {\"finalizers\": null}}"); /* the other controller lets go */
    WAIT_UNTIL(!exists(NIGHTLY_PATH), 20, "the Environment object gone");
    assert_false(exists(NIGHTLY_JOB));
    print_status_cost("the restarted controller");
    assert_int_equal(probe_stop_pid(&CTL, SIGTERM), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects_drive_scaling),
        cmocka_unit_test(test_edit_takes_effect),
        cmocka_unit_test(test_invalid_edit_refused),
        cmocka_unit_test(test_deleted_while_stopped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
