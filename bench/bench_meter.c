/* Metering throughput: one tick of a large cluster split exactly by the meter, and appended
 * to a real ledger file (WAL, synchronous=FULL) in one transaction. Prints its input sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/costgov.h"
#include "io/catalog_load.h"
#include "policy/mig.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_pod(gs_snapshot *s, int32_t node, int proj, gs_gpu_form form, int32_t count, int gpu, int part) {
    gs_pod p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "pod-%d", (int)s->npods);
    snprintf(p.project, sizeof p.project, "team-%d", proj);
    snprintf(p.workload, sizeof p.workload, "wl-%d", proj % 7);
    p.spec.gpu.form = form;
    p.spec.gpu.count = form == GS_GPU_FRACTION ? 0 : count;
    p.spec.gpu.milli = form == GS_GPU_FRACTION ? count : 0;
    p.phase = GS_POD_RUNNING;
    p.node = node;
    p.gpu = (int8_t)gpu;
    p.part = (int8_t)part;
    if (gs_snapshot_add_pod(s, &p) < 0) exit(1);
}

int main(void) {
    gs_catalog cat;
    gs_catalog_init(&cat);
    gs_error e;
    if (gs_catalog_load(&cat, GS_SOURCE_DIR "/data", &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    int p4d = gs_catalog_find(&cat, "p4d.24xlarge");
    const gs_gpu_model *a100 = gs_gpu_get(cat.types[p4d].gpu_model);
    int p1g = gs_mig_profile_find(a100, "1g.5gb");
    gs_snapshot s;
    gs_snapshot_init(&s);
    const int NODES = 2000;
    unsigned seed = 7;
    for (int i = 0; i < NODES; i++) {
        gs_node n;
        char name[32];
        snprintf(name, sizeof name, "node-%d", i);
        gs_node_init(&n, name, &cat, p4d, i % 3 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
        int32_t ni = gs_snapshot_add_node(&s, &n);
        gs_node *nd = &s.nodes[ni];
        for (int g = 0; g < 8; g++) {
            int mode = (g + i) % 4;
            if (mode == 0) {
                add_pod(&s, ni, (int)(rand_r(&seed) % 40), GS_GPU_WHOLE, 1, g, -1);
            } else if (mode == 1) {
                nd->gpus[g].mode = GS_GPUMODE_MIG;
                nd->gpus[g].nparts = 7;
                for (int k = 0; k < 7; k++) {
                    nd->gpus[g].parts[k].profile = (int8_t)p1g;
                    nd->gpus[g].parts[k].start = (uint8_t)k;
                    add_pod(&s, ni, (int)(rand_r(&seed) % 40), GS_GPU_MIG, 1, g, k);
                }
            } else if (mode == 2) {
                nd->gpus[g].mode = GS_GPUMODE_TIMESLICED;
                nd->gpus[g].ts_replicas = 4;
                for (int k = 0; k < 3; k++) add_pod(&s, ni, (int)(rand_r(&seed) % 40), GS_GPU_SHARED, 1, g, -1);
            } else {
                nd->gpus[g].mode = GS_GPUMODE_FRACTIONAL;
                for (int k = 0; k < 4; k++) add_pod(&s, ni, (int)(rand_r(&seed) % 40), GS_GPU_FRACTION, 200, g, -1);
            }
        }
    }
    printf("input: %d nodes (p4d.24xlarge, 8 GPUs each: whole / MIG 7x1g.5gb / time-sliced 4 / fractional),"
           " %d pods, 40 projects\n", (int)s.nnodes, (int)s.npods);

    /* meter alone, scanning every pod per node vs with the per-node pod index */
    gs_meter_node *m = malloc(sizeof *m);
    double t = now_s();
    int reps = 3;
    for (int r = 0; r < reps; r++)
        for (int32_t i = 0; i < s.nnodes; i++)
            if (gs_meter_node_split(&s, &cat, i, 0, 1000, m, &e)) return 1;
    double scan = (now_s() - t) / reps;
    printf("meter, scan all pods per node : %8.2f ms per tick (%.0f nodes/s)\n", scan * 1e3, s.nnodes / scan);

    /* the same with each node's pod list (what gs_costgov_meter builds once per tick) */
    int32_t *start = calloc((size_t)s.nnodes + 2, sizeof *start), *by = malloc((size_t)s.npods * sizeof *by);
    for (int32_t i = 0; i < s.npods; i++) start[s.pods[i].node + 2]++;
    for (int32_t i = 0; i < s.nnodes; i++) start[i + 2] += start[i + 1];
    for (int32_t i = 0; i < s.npods; i++) by[start[s.pods[i].node + 1]++] = i;
    t = now_s();
    reps = 20;
    int64_t parts = 0;
    for (int r = 0; r < reps; r++)
        for (int32_t i = 0; i < s.nnodes; i++) {
            if (gs_meter_node_split_idx(&s, &cat, i, by + start[i], start[i + 1] - start[i], 0, 1000, m, &e)) return 1;
            parts += m->nparts;
        }
    double idx = (now_s() - t) / reps;
    printf("meter, per-node pod index     : %8.2f ms per tick (%.0f nodes/s, %lld parts per tick)\n", idx * 1e3,
           s.nnodes / idx, (long long)(parts / reps));
    free(start);
    free(by);

    char dir[] = "/tmp/gs-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    gs_ledger *l;
    if (gs_ledger_open(path, true, &l, &e)) return 1;
    int ticks = 20;
    t = now_s();
    for (int k = 0; k < ticks; k++)
        if (gs_costgov_meter(&s, &cat, NULL, (gs_ms)k * 1000, (gs_ms)k * 1000 + 1000, l, NULL, NULL, 0, NULL, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
    double tick = (now_s() - t) / ticks;
    gs_cost_row *rows;
    int32_t nrows;
    if (gs_ledger_report(l, GS_LEDGER_BY_PROJECT, 0, INT64_MAX, &rows, &nrows, &e)) return 1;
    int64_t intervals = 0;
    for (int32_t i = 0; i < nrows; i++) intervals += rows[i].intervals;
    free(rows);
    printf("meter + ledger append (indexed): %8.2f ms per 1 s tick, %lld intervals written in %d ticks "
           "(%.0f intervals/s)\n",
           tick * 1e3, (long long)intervals, ticks, (double)intervals / (tick * ticks));
    t = now_s();
    if (gs_ledger_report(l, GS_LEDGER_BY_PROJECT, 0, INT64_MAX, &rows, &nrows, &e)) return 1;
    printf("cost report --by project over %lld intervals: %8.2f ms\n", (long long)intervals, (now_s() - t) * 1e3);
    free(rows);
    gs_ledger_close(l);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    free(m);
    gs_snapshot_free(&s);
    gs_catalog_free(&cat);
    return 0;
}
