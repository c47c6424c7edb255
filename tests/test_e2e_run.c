/* End to end, against a REAL control plane (etcd + kube-apiserver + kube-scheduler +
 * kube-controller-manager v1.20.2 on loopback, scripts/kube-testenv.sh) and a REAL Redis:
 * deploy/'s CRDs and RBAC applied; `gpuscale run --provider kube-fake` started twice under the
 * unprivileged RBAC identity (leader election); Redis lists fill -> Deployments scale from 0 ->
 * their GPU pods (MIG and whole-GPU) go Pending -> gpuscale launches the cheapest fitting nodes
 * with the MIG labels -> kube-scheduler binds the pods there -> the API server is restarted
 * mid-run without duplicate launches -> the leader is killed and the other replica takes over
 * within the lease -> the queues drain -> replicas go to 0 after cooldown -> the nodes are
 * released -> SIGTERM exits 0 and releases the Lease. Skips (77) only when the control plane
 * cannot be built here. */
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

#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/kube/kubeconfig.h"
#include "kube/probe.h"
#include "kube/manifests.h"
#include "kube/testenv.h"


static kt_env ENV;
static gs_kube *ADMIN;
static pid_t REDIS_PID = -1, CTL_A = -1, CTL_B = -1;
static int REDIS_PORT, MPORT_A, MPORT_B, SURVIVOR;
static char CFG[400];

static pid_t spawn(const char *const argv[], const char *log) {
    pid_t p = fork();
    if (p == 0) {
        char *args[40];
        int n = 0;
        for (; argv[n] && n < 39; n++) args[n] = strdup(argv[n]);
        args[n] = NULL;
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(args[0], args);
        _exit(127);
    }
    return p;
}

static void stop_pid(pid_t *p, int sig) {
    if (*p <= 0) return;
    kill(*p, sig);
    int st;
    for (int i = 0; i < 100; i++) {
        if (waitpid(*p, &st, WNOHANG) == *p) {
            *p = -1;
            return;
        }
        usleep(100000);
    }
    kill(*p, SIGKILL);
    waitpid(*p, &st, 0);
    *p = -1;
}

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

static int replicas(const char *dep) {
    char p[256];
    snprintf(p, sizeof p, "/apis/apps/v1/namespaces/ml/deployments/%s", dep);
    json_t *o = get(p);
    int r = o ? (int)json_integer_value(json_object_get(json_object_get(o, "spec"), "replicas")) : -1;
    json_decref(o);
    return r;
}

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

#define WAIT_UNTIL(cond, secs, what)                                                  \
    do {                                                                              \
        int ok_ = 0;                                                                  \
        for (int t_ = 0; t_ < (secs) * 5; t_++) {                                     \
            if (cond) { ok_ = 1; break; }                                             \
            usleep(200000);                                                           \
        }                                                                             \
        if (!ok_) {                                                                   \
            char cmd_[700];                                                           \
            snprintf(cmd_, sizeof cmd_, "tail -n 30 %s/ctl-a.log %s/ctl-b.log >&2", ENV.dir, ENV.dir); \
            if (system(cmd_)) {}                                                      \
            fail_msg("timed out after %d s waiting for: %s", (secs), what);           \
        }                                                                             \
    } while (0)

static pid_t start_ctl(const char *id, int mport) {
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", mport);
    snprintf(log, sizeof log, "%s/ctl-%s.log", ENV.dir, id);
    const char *argv[] = {GS_BINARY, "run", "--kubeconfig", ENV.user_kc, "--provider", "kube-fake", "--config", CFG,
                    "--id", id, "--lease-namespace", "gpuscale-system", "--lease-duration", "4",
                    "--metrics-port", port, "--interval", "200", NULL};
    return spawn(argv, log);
}

static const char *MANIFESTS =
    /* the unprivileged test user gets exactly deploy/'s roles (the ServiceAccount's there) */
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: gpuscale-test-user}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gpuscale}\n"
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: gpuscale-test-user-fake}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gpuscale-kube-fake}\n"
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: gpuscale-test-user, namespace: gpuscale-system}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gpuscale-leader-election}\n"
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n---\n"
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
    REDIS_PORT = probe_free_port();
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", REDIS_PORT);
    snprintf(log, sizeof log, "%s/redis.log", ENV.dir);
    const char *argv[] = {"/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    NULL};
    REDIS_PID = spawn(argv, log);
    for (int i = 0; i < 50; i++) {
        redisContext *r = redisConnect("127.0.0.1", REDIS_PORT);
        int ok = r && !r->err;
        if (r) redisFree(r);
        if (ok) break;
        usleep(100000);
    }
    snprintf(CFG, sizeof CFG, "%s/gpuscale.yaml", ENV.dir);
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
            "listLength: '1'}}]\n",
            REDIS_PORT, REDIS_PORT);
    fclose(f);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    stop_pid(&CTL_A, SIGKILL);
    stop_pid(&CTL_B, SIGKILL);
    stop_pid(&REDIS_PID, SIGTERM);
    gs_kube_free(ADMIN);
    gs_informers_shutdown();
    kt_stop(&ENV);
    curl_global_cleanup();
    return 0;
}

static void test_deploy_manifests(void **st) {
    (void)st;
    gs_error e;
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

static void test_leader_killed_takeover(void **st) {
    (void)st;
    /* whichever replica leads now (the restart may have moved the lease) is killed -9 */
    WAIT_UNTIL(probe_metric(MPORT_A, "gpuscale_leader", 5L) + probe_metric(MPORT_B, "gpuscale_leader", 5L) == 1, 15, "exactly one leader");
    bool a_leads = probe_metric(MPORT_A, "gpuscale_leader", 5L) == 1;
    pid_t *victim = a_leads ? &CTL_A : &CTL_B;
    int other = a_leads ? MPORT_B : MPORT_A;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    stop_pid(victim, SIGKILL);
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

static void test_drain_scale_to_zero_release(void **st) {
    (void)st;
    redis_cmd("DEL %s", "embed-jobs", NULL);
    redis_cmd("DEL %s", "train-jobs", NULL);
    WAIT_UNTIL(replicas("embed") == 0 && replicas("train") == 0, 30, "replicas 0 after cooldown");
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
    assert_int_equal(launched, 3);
    assert_int_equal(consolidated, 3);
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

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_deploy_manifests),
        cmocka_unit_test(test_scale_up_launch_bind),
        cmocka_unit_test(test_apiserver_restart_no_duplicates),
        cmocka_unit_test(test_unschedulable_pod_event),
        cmocka_unit_test(test_leader_killed_takeover),
        cmocka_unit_test(test_drain_scale_to_zero_release),
    };
    return cmocka_run_group_tests_name("e2e gpuscale run", t, setup, teardown);
}
