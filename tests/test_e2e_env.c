/* Environments in the controller, end to end against a REAL control plane (etcd +
 * kube-apiserver + kube-scheduler + kube-controller-manager with its Job and garbage-collector
 * controllers, scripts/kube-testenv.sh): deploy/'s RBAC applied and `gpuscale run --provider
 * kube-fake --ledger FILE` started under the unprivileged identity it grants. Two Environments:
 *   - finetune: a Job (deleteWhen: succeeded) whose pod needs a whole GPU -> gpuscale creates
 *     the labelled Job -> the Job controller makes the pod -> gpuscale launches a node ->
 *     kube-scheduler binds the pod -> kube-fake marks it Running -> the meter bills it to the
 *     environment -> the TEST, acting as the kubelet, marks the pod Succeeded (PATCH
 *     pods/status) -> the Job controller completes the Job -> gpuscale deletes the Job (Event
 *     with the reason), the pod goes, consolidation releases the node -> the ledger has the
 *     environment deleted with reason "succeeded" and a cost > 0;
 *   - preview: a Deployment with ttl 5s -> deleted with reason "ttl";
 *   - blocked: its Deployment's name is taken by an object gpuscale did not label -> it stays
 *     pending and that object is left alone;
 *   - notebook (project lab, hard Budget $0.01/month): created; while the controller is down the
 *     ledger gets $0.02 of lab spend; restarted, the controller re-creates nothing and deletes
 *     notebook with reason "budget".
 * Without --ledger, `gpuscale run` refuses the configuration.
 * Skips (77) only when the control plane cannot be built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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
static pid_t CTL = -1;
static int MPORT;
static char CFG[400], LEDGER[400];

static void start_ctl(void) {
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", MPORT);
    snprintf(log, sizeof log, "%s/ctl.log", ENV.dir);
    const char *argv[] = {GS_BINARY, "run", "--kubeconfig", ENV.user_kc, "--provider", "kube-fake", "--config", CFG,
                          "--id", "env-a", "--lease-namespace", "gpuscale-system", "--lease-duration", "4",
                          "--metrics-port", port, "--interval", "200", "--ledger", LEDGER, "--meter-interval", "500ms",
                          NULL};
    CTL = probe_spawn(argv, log);
}

#define WAIT_UNTIL(cond, secs, what) PROBE_WAIT_UNTIL(cond, secs, what, ENV.dir, "ctl.log")

static json_t *get(const char *path) {
    json_t *o = NULL;
    gs_error e;
    if (gs_kube_get(ADMIN, path, &o, &e)) return NULL;
    return o;
}

static bool exists(const char *path) {
    json_t *o = get(path);
    json_decref(o);
    return o != NULL;
}

static const char *label(const json_t *o, const char *k) {
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), k));
}

/* The (first) pod of job-name=NAME in research: name, phase, node. 0 when none. */
static int job_pod(const char *job, char *name, size_t nn, char *phase, size_t pn, char *node, size_t ndn) {
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/research/pods?labelSelector=job-name%%3D%s", job);
    json_t *o = get(p);
    json_t *pod = json_array_get(json_object_get(o, "items"), 0);
    int n = pod ? 1 : 0;
    if (pod) {
        snprintf(name, nn, "%s", json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")));
        const char *ph = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
        const char *nd = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
        snprintf(phase, pn, "%s", ph ? ph : "");
        snprintf(node, ndn, "%s", nd ? nd : "");
    }
    json_decref(o);
    return n;
}

static int count_items(const char *path) {
    json_t *o = get(path);
    int n = o ? (int)json_array_size(json_object_get(o, "items")) : -1;
    json_decref(o);
    return n;
}

static int pool_nodes(void) { return count_items("/api/v1/nodes?labelSelector=gpuscale.dev%2Fpool%3Da10g"); }

/* The ledger's row for an environment (copied out); false when absent. */
static bool env_row(const char *name, gs_env_row *out) {
    gs_ledger *l = NULL;
    gs_error e;
    if (gs_ledger_open(LEDGER, false, &l, &e)) return false;
    gs_env_row *rows = NULL;
    int32_t n = 0;
    bool found = false;
    if (gs_ledger_envs(l, &rows, &n, &e) == 0)
        for (int32_t i = 0; i < n; i++)
            if (strcmp(rows[i].name, name) == 0) {
                *out = rows[i];
                found = true;
            }
    free(rows);
    gs_ledger_close(l);
    return found;
}

static bool env_deleted(const char *name, gs_env_row *r) { return env_row(name, r) && r->deleted >= 0; }
static bool env_billed(const char *name, gs_env_row *r) { return env_row(name, r) && r->usd > 0; }

static int events(const char *reason, const char *name, char *msg, size_t n) {
    json_t *evs = get("/api/v1/namespaces/research/events");
    int found = probe_count_events(evs, NULL, reason, name, msg, n);
    json_decref(evs);
    return found;
}

static const char *RBAC =
    PROBE_TEST_USER_RBAC
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: research}\n---\n"
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n---\n"
    /* someone else's Deployment with the name an Environment's workload would get */
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: blocked-web, namespace: research, labels: {team: x}}\n"
    "spec:\n  replicas: 0\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n"
    "    spec:\n      containers:\n      - {name: w, image: 'x:1'}\n";

static int setup(void **st) {
    (void)st;
    kt_start(&ENV, 1);
    gs_kube_config c;
    gs_error e;
    if (gs_kubeconfig_load(ENV.admin_kc, NULL, &c, &e)) fail_msg("%s", e.msg);
    gs_kube_new(&c, 10000, &ADMIN, &e);
    gs_kube_config_free(&c);
    if (kt_apply_text(ADMIN, "apiVersion: v1\nkind: Namespace\nmetadata: {name: gpu-operator}\n", "ns", &e))
        fail_msg("namespace gpu-operator: %s", e.msg);
    static const char *const files[] = {"namespace.yaml", "rbac.yaml", "rbac-kube-fake.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/deploy/%s", GS_SOURCE_DIR, files[i]);
        if (kt_apply_file(ADMIN, p, &e)) fail_msg("%s: %s", files[i], e.msg);
    }
    if (kt_apply_text(ADMIN, RBAC, "rbac", &e)) fail_msg("rbac: %s", e.msg);
    MPORT = probe_free_port();
    snprintf(CFG, sizeof CFG, "%s/gpuscale.yaml", ENV.dir);
    snprintf(LEDGER, sizeof LEDGER, "%s/ledger.db", ENV.dir);
    FILE *f = fopen(CFG, "w");
    fprintf(f, "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: a10g}\nspec:\n"
               "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}]\n"
               "  sharing: {mode: exclusive}\n  disruption: {consolidateAfter: 1s}\n---\n"
               "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\nmetadata: {name: finetune, namespace: research}\n"
               "spec:\n  pool: a10g\n  ttl: 10m\n  deleteWhen: succeeded\n"
               "  job:\n    parallelism: 1\n    template:\n      image: registry.example/finetune:1\n"
               "      command: [python, train.py, --epochs, '3']\n"
               "      resources: {requests: {cpu: '1', memory: 4Gi, nvidia.com/gpu: 1}}\n---\n"
               "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\nmetadata: {name: preview, namespace: research}\n"
               "spec:\n  pool: a10g\n  ttl: 5s\n"
               "  workloads:\n  - name: web\n    template:\n      resources: {requests: {cpu: 500m, memory: 1Gi}}\n---\n"
               "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\nmetadata: {name: blocked, namespace: research}\n"
               "spec:\n  ttl: 1h\n  workloads:\n  - name: web\n    template:\n      resources: {requests: {cpu: 100m}}\n---\n"
               /* project lab: a hard budget, and an environment whose pod no pool serves (it
                * stays Pending: nothing is launched or billed for it) */
               "apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata: {name: lab-cap}\nspec:\n"
               "  project: lab\n  limits: {perMonth: '0.01'}\n  enforce: hard\n  onExceeded: block\n---\n"
               "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\nmetadata: {name: notebook, namespace: lab}\n"
               "spec:\n  ttl: 1h\n  workloads:\n  - name: nb\n    template:\n      nodeSelector: {example.com/nowhere: 'true'}\n"
               "      resources: {requests: {cpu: 100m}}\n");
    fclose(f);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    probe_stop_pid(&CTL, SIGKILL);
    gs_kube_free(ADMIN);
    gs_informers_shutdown();
    kt_stop(&ENV);
    curl_global_cleanup();
    return 0;
}

static void test_needs_ledger(void **st) {
    (void)st;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s run --kubeconfig %s --provider kube-fake --config %s 2>&1", GS_BINARY, ENV.user_kc, CFG);
    char *out = NULL;
    int rc = gs_test_sh(cmd, &out);
    /* the Budget's refusal comes first; the Environments' is the same (tests/run_cli.sh) */
    bool said = out && strstr(out, "--ledger FILE is needed");
    free(out);
    assert_int_not_equal(rc, 0);
    assert_true(said);
}

static void test_job_environment_succeeds(void **st) {
    (void)st;
    start_ctl();
    /* the labelled Job, with the config's image, command, pool selector and GPU */
    WAIT_UNTIL(exists("/apis/batch/v1/namespaces/research/jobs/finetune"), 30, "Job research/finetune created");
    json_t *job = get("/apis/batch/v1/namespaces/research/jobs/finetune");
    assert_non_null(job);
    assert_string_equal(label(job, "gpuscale.dev/environment"), "finetune");
    assert_string_equal(label(job, "gpuscale.dev/project"), "research");
    const json_t *js = json_object_get(job, "spec");
    assert_int_equal(json_integer_value(json_object_get(js, "parallelism")), 1);
    assert_int_equal(json_integer_value(json_object_get(js, "completions")), 1);
    const json_t *ps = json_object_get(json_object_get(js, "template"), "spec");
    const json_t *ctr = json_array_get(json_object_get(ps, "containers"), 0);
    assert_string_equal(json_string_value(json_object_get(ctr, "image")), "registry.example/finetune:1");
    assert_int_equal(json_array_size(json_object_get(ctr, "command")), 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(ctr, "resources"), "limits"),
                                                          "nvidia.com/gpu")),
                        "1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ps, "nodeSelector"), "gpuscale.dev/pool")), "a10g");
    json_decref(job);
    assert_true(events("EnvironmentCreated", "finetune", NULL, 0) >= 1);

    /* a node is launched for the pod, the scheduler binds it, kube-fake runs it */
    char pod[256] = "", phase[32] = "", node[256] = "";
    WAIT_UNTIL(job_pod("finetune", pod, sizeof pod, phase, sizeof phase, node, sizeof node) &&
                   strcmp(phase, "Running") == 0 && strncmp(node, "gs-", 3) == 0,
               60, "the Job's pod Running on a gpuscale node");
    /* the meter bills it to the environment (the ledger's running total) */
    gs_env_row r;
    WAIT_UNTIL(env_billed("finetune", &r), 30, "finetune billed in the ledger");
    assert_string_equal(r.project, "research");
    assert_string_equal(r.pool, "a10g");
    assert_true(r.deleted < 0);

    /* the test is the kubelet: the container exited 0 */
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/research/pods/%s/status", pod);
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    json_t *patch = json_pack("{s:{s:s,s:[{s:s,s:s,s:s,s:b,s:i,s:{s:{s:i,s:s,s:s,s:s}}}]}}", "status", "phase", "Succeeded",
                              "containerStatuses", "name", "main", "image", "registry.example/finetune:1", "imageID", "",
                              "ready", 0, "restartCount", 0, "state", "terminated", "exitCode", 0, "reason", "Completed",
                              "startedAt", now, "finishedAt", now);
    gs_error e;
    if (gs_kube_merge_patch(ADMIN, path, patch, NULL, &e)) fail_msg("pod status: %s", e.msg);
    json_decref(patch);

    /* Job complete -> gpuscale deletes it; the pod goes; the node is released */
    WAIT_UNTIL(!exists("/apis/batch/v1/namespaces/research/jobs/finetune"), 60, "Job research/finetune deleted");
    WAIT_UNTIL(env_deleted("finetune", &r), 30, "finetune marked deleted in the ledger");
    assert_string_equal(r.reason, "succeeded");
    assert_true(r.usd > 0);
    assert_true(r.deleted >= r.created);
    char msg[512] = "";
    assert_true(events("EnvironmentDeleted", "finetune", msg, sizeof msg) >= 1);
    assert_non_null(strstr(msg, "succeeded"));
    WAIT_UNTIL(count_items("/api/v1/namespaces/research/pods?labelSelector=job-name%3Dfinetune") == 0, 60,
               "the Job's pod gone");
    WAIT_UNTIL(pool_nodes() == 0, 60, "the environment's node released");
}

static void test_ttl_environment(void **st) {
    (void)st;
    gs_env_row r;
    /* created (Event, ledger) and deleted 5 s later: ttl */
    WAIT_UNTIL(env_deleted("preview", &r), 60, "preview deleted by its ttl");
    assert_string_equal(r.reason, "ttl");
    assert_true(r.deleted - r.created >= 5000);
    assert_true(events("EnvironmentCreated", "preview-web", NULL, 0) >= 1);
    char msg[512] = "";
    assert_true(events("EnvironmentDeleted", "preview-web", msg, sizeof msg) >= 1);
    assert_non_null(strstr(msg, "ttl"));
    assert_false(exists("/apis/apps/v1/namespaces/research/deployments/preview-web"));
    WAIT_UNTIL(count_items("/api/v1/namespaces/research/pods?labelSelector=gpuscale.dev%2Fenvironment%3Dpreview") == 0,
               60, "preview's pods gone");
    /* (the metrics are published every second) */
    WAIT_UNTIL(probe_metric(MPORT, "gpuscale_environments{phase=\"deleted\"}", 5L) == 2.0, 10, "metric: 2 deleted");
    /* the environment whose Deployment name is taken by an object gpuscale did not create
     * waits (pending, not in the ledger) and never touches that object */
    WAIT_UNTIL(probe_metric(MPORT, "gpuscale_environments{phase=\"pending\"}", 5L) == 1.0, 10, "metric: 1 pending");
    /* the Jobs and Deployments were read from the informer caches (a GET only confirms an
     * object the cache does not have) */
    assert_true(probe_metric(MPORT, "gpuscale_environment_reads_total{from=\"cache\"}", 5L) > 0.0);
    assert_false(env_row("blocked", &r));
    json_t *d = get("/apis/apps/v1/namespaces/research/deployments/blocked-web");
    assert_non_null(d);
    assert_null(label(d, "gpuscale.dev/environment"));
    assert_string_equal(label(d, "team"), "x");
    json_decref(d);
}

static void test_restart_does_not_recreate(void **st) {
    (void)st;
    assert_true(exists("/apis/apps/v1/namespaces/lab/deployments/notebook-nb"));
    assert_int_equal(probe_stop_pid(&CTL, SIGTERM), 0);
    /* while it is down, project lab spends $0.02 (over its hard $0.01 a month) */
    gs_ledger *l = NULL;
    gs_error e;
    if (gs_ledger_open(LEDGER, false, &l, &e)) fail_msg("ledger: %s", e.msg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    gs_ms now = (gs_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    gs_spend sp;
    memset(&sp, 0, sizeof sp);
    snprintf(sp.project, sizeof sp.project, "lab");
    snprintf(sp.pool, sizeof sp.pool, "a10g");
    snprintf(sp.node, sizeof sp.node, "gs-elsewhere");
    snprintf(sp.itype, sizeof sp.itype, "g5.xlarge");
    sp.start = now - 2000;
    sp.end = now - 1000;
    sp.usd = 20000;
    if (gs_ledger_append(l, &sp, 1, NULL, &e)) fail_msg("append: %s", e.msg);
    gs_ledger_close(l);
    start_ctl();
    /* the restarted controller reads the ledger: both environments are over */
    WAIT_UNTIL(probe_metric(MPORT, "gpuscale_environments{phase=\"deleted\"}", 5L) >= 2.0, 30,
               "the restarted controller sees both environments deleted");
    sleep(2); /* several ticks as leader */
    assert_false(exists("/apis/batch/v1/namespaces/research/jobs/finetune"));
    assert_false(exists("/apis/apps/v1/namespaces/research/deployments/preview-web"));
    assert_true(probe_metric(MPORT, "gpuscale_environments_created_total", 5L) == 0.0);
    /* the hard budget is hit: the active environment of lab is deleted, reason budget */
    gs_env_row r;
    WAIT_UNTIL(env_deleted("notebook", &r), 30, "notebook deleted by its project's hard budget");
    assert_string_equal(r.reason, "budget");
    assert_false(exists("/apis/apps/v1/namespaces/lab/deployments/notebook-nb"));
    assert_true(probe_metric(MPORT, "gpuscale_environments{phase=\"pending\"}", 5L) == 1.0);
    assert_true(env_deleted("finetune", &r));
    assert_string_equal(r.reason, "succeeded");
    assert_int_equal(probe_stop_pid(&CTL, SIGTERM), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_ledger),
        cmocka_unit_test(test_job_environment_succeeds),
        cmocka_unit_test(test_ttl_environment),
        cmocka_unit_test(test_restart_does_not_recreate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
