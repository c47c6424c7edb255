/* bench_controller: `gpuscale run --provider kube-fake` (the release binary) against a REAL
 * kube-apiserver + kube-scheduler (scripts/kube-testenv.sh; the first run builds them) with
 * GS_BENCH_PODS GPU pods (default 20,000; half nvidia.com/mig-2g.20gb, half mig-3g.40gb on an
 * H100 MIG pool) created through the API server. The controller launches kube-fake nodes
 * (about 1,000 at the default size), the scheduler binds the pods, kube-fake marks them
 * Running. Prints the controller's peak RSS, reconcile latency p50/p99 and pending-pod ->
 * launch-request latency p50/p99 (from its /metrics), with the input sizes and phase times.
 * Exits 0 with a note when the control plane cannot be built here. GS_BENCH_WRAP runs the
 * controller under a wrapper command (e.g. "heaptrack -o /tmp/ht" to see where memory goes;
 * the RSS figure is then the wrapper's). */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/kube/kube.h"
#include "io/kube/kubeconfig.h"
#include "../tests/kube/probe.h"


static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sh(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Pods in ns bench: total Running (paginated count via the API). */
static long running_pods(gs_kube *k) {
    long n = 0;
    char cont[2048] = "";
    for (;;) {
        char p[4096], ce[2048];
        snprintf(p, sizeof p, "/api/v1/namespaces/bench/pods?limit=5000&fieldSelector=status.phase%%3DRunning%s%s",
                 cont[0] ? "&continue=" : "", cont[0] ? gs_kube_qescape(cont, ce, sizeof ce) : "");
        json_t *o = NULL;
        gs_error e;
        if (gs_kube_get(k, p, &o, &e)) return -1;
        n += (long)json_array_size(json_object_get(o, "items"));
        const char *c = json_string_value(json_object_get(json_object_get(o, "metadata"), "continue"));
        snprintf(cont, sizeof cont, "%s", c ? c : "");
        json_decref(o);
        if (!cont[0]) break;
    }
    return n;
}

int main(int argc, char **argv) {
    (void)argc;
    long npods = getenv("GS_BENCH_PODS") ? atol(getenv("GS_BENCH_PODS")) : 20000;
    long timeout_s = getenv("GS_BENCH_TIMEOUT") ? atol(getenv("GS_BENCH_TIMEOUT")) : 900;
    char gsbin[1024];
    snprintf(gsbin, sizeof gsbin, "%s", argv[0]);
    char *slash = strrchr(gsbin, '/');
    if (slash) *slash = '\0';
    strncat(gsbin, "/../gpuscale", sizeof gsbin - strlen(gsbin) - 1);
    if (sh("bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh build >/dev/null 2>&1") != 0) {
        printf("bench_controller: SKIPPED: the Kubernetes control plane cannot be built on this machine\n");
        return 0;
    }
    char dir[] = "/tmp/gpuscale-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "GS_KUBE_OWNER_PID=%ld GS_KUBE_CLIENT_QPS=2000 bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh start %s >/dev/null 2>&1",
             (long)getpid(), dir);
    if (sh(cmd) != 0) {
        printf("bench_controller: control plane failed to start\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char kc[256], cfg[256], log[256];
    snprintf(kc, sizeof kc, "%s/admin.kubeconfig", dir);
    snprintf(cfg, sizeof cfg, "%s/bench.yaml", dir);
    snprintf(log, sizeof log, "%s/gpuscale.log", dir);
    FILE *f = fopen(cfg, "w");
    fputs("apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: h100}\nspec:\n"
          "  requirements: [{key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}]\n"
          "  sharing: {mode: mig, mig: {profiles: [2g.20gb, 3g.40gb]}}\n  disruption: {consolidateAfter: 10m}\n", f);
    fclose(f);
    gs_kube_config c;
    gs_error e;
    gs_kube *k = NULL;
    if (gs_kubeconfig_load(kc, NULL, &c, &e) || gs_kube_new(&c, 30000, &k, &e)) {
        printf("bench_controller: %s\n", e.msg);
        return 1;
    }
    gs_kube_config_free(&c);
    /* the namespace of the pods, and the GPU Operator's (gpuscale writes the mig-parted
     * ConfigMap there, as in a cluster with the operator installed) */
    const char *nss[] = {"bench", "gpu-operator"};
    for (int i = 0; i < 2; i++) {
        json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", nss[i]);
        gs_kube_create(k, "/api/v1/namespaces", ns, NULL, &e);
        json_decref(ns);
    }
    for (int i = 0; i < 300; i++) { /* the ServiceAccount admission needs bench/default */
        if (gs_kube_get(k, "/api/v1/namespaces/bench/serviceaccounts/default", NULL, &e) == 0) break;
        usleep(100000);
    }
    int mport = probe_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", mport);
    pid_t ctl = fork();
    if (ctl == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        const char *wrap = getenv("GS_BENCH_WRAP"); /* e.g. "heaptrack -o /tmp/ht" to profile memory */
        if (wrap && wrap[0]) {
            char wcmd[4096];
            snprintf(wcmd, sizeof wcmd, "exec %s '%s' run --kubeconfig '%s' --provider kube-fake --config '%s' "
                     "--metrics-port %s --interval 200 --id bench", wrap, gsbin, kc, cfg, port);
            execl("/bin/sh", "sh", "-c", wcmd, (char *)NULL);
        }
        execl(gsbin, "gpuscale", "run", "--kubeconfig", kc, "--provider", "kube-fake", "--config", cfg,
              "--metrics-port", port, "--interval", "200", "--id", "bench", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && probe_metric(mport, "gpuscale_leader", 10L) != 1; i++) usleep(100000);
    double t0 = now_s();
    int create_errors = 0;
    for (long i = 0; i < npods; i++) {
        const char *prof = i % 2 ? "nvidia.com/mig-3g.40gb" : "nvidia.com/mig-2g.20gb";
        char name[64];
        snprintf(name, sizeof name, "p%06ld", i);
        json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:[{s:s,s:s,s:{s:{s:s}}}]}}", "apiVersion", "v1", "kind", "Pod",
                                "metadata", "name", name, "namespace", "bench", "spec", "containers", "name", "w",
                                "image", "bench", "resources", "limits", prof, "1");
        if (gs_kube_create(k, "/api/v1/namespaces/bench/pods", pod, NULL, &e)) {
            fprintf(stderr, "create %s: %s\n", name, e.msg);
            if (++create_errors > 10) break;
        }
        json_decref(pod);
    }
    double t_created = now_s();
    long run = 0;
    double last_check = 0;
    while (now_s() - t0 < (double)timeout_s) {
        if (now_s() - last_check >= 5) {
            run = running_pods(k);
            last_check = now_s();
            if (run >= npods) break;
        }
        usleep(200000);
    }
    double t_done = now_s();
    double rss = probe_metric(mport, "gpuscale_peak_rss_bytes", 10L);
    double rp50 = probe_metric(mport, "gpuscale_reconcile_quantile_seconds{quantile=\"0.5\"}", 10L);
    double rp99 = probe_metric(mport, "gpuscale_reconcile_quantile_seconds{quantile=\"0.99\"}", 10L);
    double lp50 = probe_metric(mport, "gpuscale_pending_to_launch_seconds{quantile=\"0.5\"}", 10L);
    double lp99 = probe_metric(mport, "gpuscale_pending_to_launch_seconds{quantile=\"0.99\"}", 10L);
    double lcount = probe_metric(mport, "gpuscale_pending_to_launch_seconds_count", 10L);
    double np50 = probe_metric(mport, "gpuscale_pending_to_launch_noroom_seconds{quantile=\"0.5\"}", 10L);
    double np99 = probe_metric(mport, "gpuscale_pending_to_launch_noroom_seconds{quantile=\"0.99\"}", 10L);
    double ncount = probe_metric(mport, "gpuscale_pending_to_launch_noroom_seconds_count", 10L);
    double launches = probe_metric(mport, "gpuscale_launches_total", 10L);
    double nodes = probe_metric(mport, "gpuscale_nodes{pool=\"h100\"}", 10L);
    double cached = probe_metric(mport, "gpuscale_cached_objects{kind=\"pods\"}", 10L);
    printf("bench_controller: input: %ld GPU pods (MIG 2g.20gb / 3g.40gb, H100 pool of p5.48xlarge), "
           "real kube-apiserver + kube-scheduler v1.20.2, kube-fake provider, tick 200 ms\n", npods);
    printf("  pods created in %.1f s; %ld/%ld Running after %.1f s\n", t_created - t0, run, npods, t_done - t0);
    printf("  nodes launched: %.0f (in cache: %.0f nodes, %.0f pods)\n", launches, nodes, cached);
    printf("  controller peak RSS: %.1f MiB (target <= 64 MiB)\n", rss / 1048576.0);
    printf("  reconcile latency: p50 %.1f ms, p99 %.1f ms\n", rp50 * 1000, rp99 * 1000);
    printf("  pending pod -> launch request: p50 %.3f s, p99 %.3f s over %.0f pods (target p99 <= 1 s)\n", lp50, lp99,
           lcount);
    printf("    of which never planned onto a registered node's room: p50 %.3f s, p99 %.3f s over %.0f pods\n"
           "    (the others were first planned onto room kube-scheduler then gave to other pods)\n", np50, np99, ncount);
    kill(ctl, SIGTERM);
    int st;
    waitpid(ctl, &st, 0);
    gs_kube_free(k);
    snprintf(cmd, sizeof cmd, "bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh stop %s; [ \"$GS_BENCH_KEEP\" = 1 ] || rm -rf %s",
             dir, dir);
    sh(cmd);
    curl_global_cleanup();
    return 0;
}
