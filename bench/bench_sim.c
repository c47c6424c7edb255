/* Simulator throughput: events per second for the default scenario (examples/claims) and for
 * the full Alibaba openb pod list (from /work/shared/data or bench/data; skipped with a
 * message when absent). Prints the input sizes next to each figure. Target: >= 1,000,000
 * events/s. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "io/catalog_load.h"
#include "sim/scenario.h"
#include "sim/sim.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of this process: the figure that does not depend on what else runs on the
 * machine (other builds share its cores); wall time is printed too. */
static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run_all(const char *label, gs_scenario *sc, const gs_catalog *cat) {
    gs_sim_input in;
    gs_error err;
    double t0 = now_s();
    if (gs_sim_prepare(sc, false, &in, &err)) {
        fprintf(stderr, "%s: %s\n", label, err.msg);
        return 1;
    }
    double tp = now_s() - t0;
    printf("%s: %lld requests, %lld GPU pods, %.1f simulated days, seed %llu (input built in %.2f s)\n",
           label, (long long)in.nreq, (long long)in.njobs, (double)sc->duration / 86400000.0,
           (unsigned long long)sc->seed, tp);
    int64_t tot_ev = 0;
    double tot_s = 0, tot_cpu = 0;
    for (int p = 0; p < GS_POL__N; p++) {
        gs_sim_result r;
        double c0 = cpu_s();
        int rc = gs_sim_run(sc, cat, &in, (gs_policy)p, NULL, &r, &err);
        double cpu = cpu_s() - c0;
        if (rc) {
            fprintf(stderr, "%s %s: %s\n", label, gs_policy_name((gs_policy)p), err.msg);
            gs_sim_input_free(&in);
            return 1;
        }
        if (p != GS_POL_ORACLE) {
            printf("  %-19s %10lld events in %6.3f s = %8.2f M events/s  (CPU %6.3f s = %8.2f M events/CPU-s; nodes launched %d)\n",
                   gs_policy_name((gs_policy)p), (long long)r.events, r.wall_s,
                   r.wall_s > 0 ? (double)r.events / r.wall_s / 1e6 : 0, cpu,
                   cpu > 0 ? (double)r.events / cpu / 1e6 : 0, r.nodes_launched);
            tot_ev += r.events;
        } else {
            printf("  %-19s (closed form, no events) %6.3f s\n", "oracle", r.wall_s);
        }
        tot_s += r.wall_s;
        tot_cpu += cpu;
        gs_sim_result_free(&r);
    }
    printf("  all policies: %lld events in %.3f s = %.2f M events/s (CPU %.3f s = %.2f M events/CPU-s)\n",
           (long long)tot_ev, tot_s, tot_s > 0 ? (double)tot_ev / tot_s / 1e6 : 0, tot_cpu,
           tot_cpu > 0 ? (double)tot_ev / tot_cpu / 1e6 : 0);
    gs_sim_input_free(&in);
    return 0;
}

int main(void) {
    gs_catalog cat;
    gs_catalog_init(&cat);
    gs_error err;
    if (gs_catalog_load(&cat, GS_SOURCE_DIR "/data", &err)) {
        fprintf(stderr, "catalog: %s\n", err.msg);
        return 1;
    }
    gs_scenario *sc = calloc(1, sizeof *sc);
    if (!sc) return 1;
    int rc = 0;
    if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/claims/scenario.json", &cat, &err)) {
        fprintf(stderr, "claims: %s\n", err.msg);
        rc = 1;
    } else {
        rc |= run_all("default scenario (examples/claims)", sc, &cat);
    }
    const char *cands[] = {GS_SOURCE_DIR "/bench/data/openb_pod_list_default.csv",
                           "/work/shared/data/alibaba_gpu_v2023/openb_pod_list_default.csv"};
    const char *openb = NULL;
    struct stat st;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (stat(cands[i], &st) == 0) { openb = cands[i]; break; }
    if (!openb) {
        printf("openb: skipped (no openb_pod_list_default.csv in bench/data or /work/shared/data)\n");
    } else if (gs_scenario_load(sc, GS_SOURCE_DIR "/examples/openb/scenario.json", &cat, &err)) {
        fprintf(stderr, "openb scenario: %s\n", err.msg);
        rc = 1;
    } else {
        snprintf(sc->jobs_path, sizeof sc->jobs_path, "%s", openb);
        rc |= run_all("full openb trace (openb_pod_list_default.csv)", sc, &cat);
    }
    free(sc);
    gs_catalog_free(&cat);
    return rc;
}
