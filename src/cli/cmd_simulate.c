/* gpuscale simulate: replays a scenario (default examples/claims) through every policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/catalog_load.h"
#include "io/fs.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "sim/trace.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpuscale simulate [--scenario DIR | --config FILE] [--trace FILE]\n"
            "                         [--policies LIST] [--json FILE] [--html FILE | --no-html]\n"
            "                         [--strict] [--seed N] [--duration D] [--quiet]\n\n"
            "Replays a trace through gpuscale's own decisions (policy/reconcile) and the baselines in a\n"
            "discrete-event world (simulated cloud, cluster, queues, inference replicas) and reports\n"
            "cost and queue wait per policy. With no arguments it runs the bundled scenario\n"
            "examples/claims (a claims-processing SaaS over a 24 h diurnal day).\n\n"
            "  --scenario DIR   run DIR/scenario.json\n"
            "  --config FILE    run the scenario file FILE (JSON, see docs/simulate.md; its\n"
            "                   \"config\" key may take pools and scalers from GPUPool and\n"
            "                   QueueScaler YAML, the files `gpuscale run` reads)\n"
            "  --trace FILE     replace the scenario's traffic with a trace: an Azure LLM inference\n"
            "                   CSV (every workload replays its arrivals and sizes) or an Alibaba\n"
            "                   openb pod list (GPU pods replayed as jobs; baselines use the\n"
            "                   first pool without GPU sharing, gpuscale any pool)\n"
            "  --policies LIST  comma-separated subset of static-peak,cluster-autoscaler,\n"
            "                   karpenter-keda,gpuscale,oracle (default: all)\n"
            "  --json FILE      write the full report (with time series) as JSON\n"
            "  --html FILE      write a self-contained HTML report with charts\n"
            "                   (default ./gpuscale-report.html)\n"
            "  --no-html        do not write the HTML report\n"
            "  --strict         fail on the first bad trace row (default: skip and count them)\n"
            "  --seed N         override the scenario's seed\n"
            "  --duration D     override the scenario's duration (e.g. 6h)\n"
            "  --quiet          no progress bar\n\n"
            "Exit status: 0 ok, 1 bad input or failure, 2 usage error.\n");
}

typedef struct prog {
    bool on;
    struct timespec t0;
    bool shown;
} prog;

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void progress(void *ctx, gs_policy p, double frac) {
    prog *g = ctx;
    if (!g->on || since(&g->t0) < 1.0) return;
    int w = 30, k = (int)(frac * w);
    char bar[40];
    for (int i = 0; i < w; i++) bar[i] = i < k ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r  %-19s [%s] %3.0f%%", gs_policy_name(p), bar, frac * 100);
    fflush(stderr);
    g->shown = true;
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

int gs_cmd_simulate(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        usage(stdout);
        return GS_EXIT_OK;
    }
    const char *scen_dir = NULL, *config = NULL, *trace = NULL, *policies = NULL,
               *json = NULL, *html = NULL, *seed_s = NULL, *dur_s = NULL;
    bool strict = false, no_html = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--scenario") == 0) slot = &scen_dir;
        else if (strcmp(a, "--config") == 0) slot = &config;
        else if (strcmp(a, "--trace") == 0) slot = &trace;
        else if (strcmp(a, "--policies") == 0) slot = &policies;
        else if (strcmp(a, "--json") == 0) slot = &json;
        else if (strcmp(a, "--html") == 0) slot = &html;
        else if (strcmp(a, "--seed") == 0) slot = &seed_s;
        else if (strcmp(a, "--duration") == 0) slot = &dur_s;
        else if (strcmp(a, "--strict") == 0) { strict = true; continue; }
        else if (strcmp(a, "--no-html") == 0) { no_html = true; continue; }
        else if (strcmp(a, "--quiet") == 0) { quiet = true; continue; }
        else return gs_cli_usage_error("simulate", "unknown argument '%s'", a);
        if (i + 1 >= argc) return gs_cli_usage_error("simulate", "%s needs a value", a);
        *slot = argv[++i];
    }
    if (scen_dir && config) return gs_cli_usage_error("simulate", "--scenario and --config exclude each other");
    if (html && no_html) return gs_cli_usage_error("simulate", "--html and --no-html exclude each other");
    bool run[GS_POL__N] = {0};
    if (policies) {
        char buf[256];
        if (strlen(policies) >= sizeof buf) return gs_cli_usage_error("simulate", "--policies is too long");
        snprintf(buf, sizeof buf, "%s", policies);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int p = gs_policy_parse(t);
            if (p < 0) return gs_cli_usage_error("simulate", "unknown policy '%s'", t);
            run[p] = true;
        }
    } else {
        for (int p = 0; p < GS_POL__N; p++) run[p] = true;
    }
    int64_t seed = -1;
    gs_ms dur = 0;
    if (seed_s) {
        const char *why;
        if (gs_parse_int(seed_s, 0, INT64_MAX, &seed, &why)) return gs_cli_usage_error("simulate", "--seed: %s", why);
    }
    if (dur_s) {
        const char *why;
        if (gs_parse_duration(dur_s, &dur, &why) || dur <= 0) return gs_cli_usage_error("simulate", "--duration: %s", dur_s);
    }

    char path[1024];
    if (config) snprintf(path, sizeof path, "%s", config);
    else if (scen_dir) snprintf(path, sizeof path, "%s/scenario.json", scen_dir);
    else {
        snprintf(path, sizeof path, "%s/../examples/claims/scenario.json", gs_fs_data_dir());
        if (!exists(path)) snprintf(path, sizeof path, "examples/claims/scenario.json");
    }
    gs_error err;
    gs_error_clear(&err);
    char ebuf[800];
    gs_catalog cat;
    gs_catalog_init(&cat);
    gs_scenario *sc = calloc(1, sizeof *sc);
    gs_sim_input in = {0};
    gs_sim_result *res = calloc(GS_POL__N, sizeof *res);
    int nres = 0, status = GS_EXIT_FAIL;
    if (!sc || !res) { fprintf(stderr, "gpuscale simulate: out of memory\n"); goto out; }
    if (gs_catalog_load(&cat, NULL, &err) || gs_scenario_load(sc, path, &cat, &err)) {
        fprintf(stderr, "gpuscale simulate: %s\n", gs_error_format(&err, ebuf, sizeof ebuf));
        goto out;
    }
    if (seed >= 0) sc->seed = (uint64_t)seed;
    if (dur > 0) {
        sc->duration = dur;
        /* budget periods of a timezone cover the run: resolve them for the new span */
        if (gs_scenario_resolve_periods(sc, &err)) {
            fprintf(stderr, "gpuscale simulate: %s\n", gs_error_format(&err, ebuf, sizeof ebuf));
            goto out;
        }
    }
    if (trace) {
        FILE *f = fopen(trace, "rb");
        char head[64] = "";
        size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
        if (f) fclose(f);
        else {
            fprintf(stderr, "gpuscale simulate: %s: cannot open\n", trace);
            goto out;
        }
        int kind = gs_trace_sniff(head, n);
        if (kind == 1) {
            for (int32_t k = 0; k < sc->nwl; k++) {
                sc->wl[k].traffic = GS_TRAFFIC_TRACE;
                sc->wl[k].trace_speedup = 1;
                snprintf(sc->wl[k].sizes_path, sizeof sc->wl[k].sizes_path, "%s", trace);
            }
            if (sc->nwl == 0) {
                fprintf(stderr, "gpuscale simulate: %s is a request trace but the scenario has no workloads\n", trace);
                goto out;
            }
        } else if (kind == 2) {
            sc->nwl = 0;
            snprintf(sc->jobs_path, sizeof sc->jobs_path, "%s", trace);
            sc->jobs_pool = 0; /* the first pool that gives whole GPUs, else the first */
            for (int32_t k = sc->npools - 1; k >= 0; k--)
                if (sc->pools[k].sharing == GS_SHARE_EXCLUSIVE) sc->jobs_pool = k;
        } else {
            fprintf(stderr, "gpuscale simulate: %s:1:1: unknown trace format (expected an Azure LLM "
                            "inference CSV or an Alibaba openb pod list)\n", trace);
            goto out;
        }
    }
    if (gs_sim_prepare(sc, strict, &in, &err)) {
        fprintf(stderr, "gpuscale simulate: %s\n", gs_error_format(&err, ebuf, sizeof ebuf));
        goto out;
    }
    if (in.bad_rows)
        fprintf(stderr, "gpuscale simulate: skipped %lld bad trace rows (first: %s); --strict fails on them\n",
                (long long)in.bad_rows, in.msgs[0]);
    prog pg = {!quiet && isatty(2), {0}, false};
    clock_gettime(CLOCK_MONOTONIC, &pg.t0);
    gs_sim_opts opts = {progress, &pg, 0};
    for (int p = 0; p < GS_POL__N; p++) {
        if (!run[p]) continue;
        if (gs_sim_run(sc, &cat, &in, (gs_policy)p, &opts, &res[nres], &err)) {
            if (pg.shown) fprintf(stderr, "\n");
            fprintf(stderr, "gpuscale simulate: %s: %s\n", gs_policy_name((gs_policy)p),
                    gs_error_format(&err, ebuf, sizeof ebuf));
            goto out;
        }
        nres++;
    }
    if (pg.shown) fprintf(stderr, "\r%70s\r", "");
    gs_report rep = {sc, &in, res, nres};
    gs_report_text(&rep, stdout);
    if (json) {
        if (gs_report_json(&rep, json, &err)) {
            fprintf(stderr, "gpuscale simulate: %s\n", gs_error_format(&err, ebuf, sizeof ebuf));
            goto out;
        }
        printf("\nJSON report: %s\n", json);
    }
    if (!no_html) {
        const char *hp = html ? html : "gpuscale-report.html";
        if (gs_report_html(&rep, hp, &err)) {
            fprintf(stderr, "gpuscale simulate: %s\n", gs_error_format(&err, ebuf, sizeof ebuf));
            goto out;
        }
        char abs[1024];
        if (hp[0] != '/' && getcwd(abs, sizeof abs)) printf("\nHTML report: %s/%s\n", abs, hp);
        else printf("\nHTML report: %s\n", hp);
    }
    status = GS_EXIT_OK;
out:
    for (int i = 0; i < nres; i++) gs_sim_result_free(&res[i]);
    free(res);
    gs_sim_input_free(&in);
    free(sc);
    gs_catalog_free(&cat);
    return status;
}
