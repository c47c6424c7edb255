/* Property fuzzer for the meter: arbitrary weights/totals for the largest-remainder split,
 * and arbitrary one-node snapshots (GPU modes, replicas, MIG layouts, pods holding them,
 * possibly inconsistent) for gs_meter_node_split. Either the call returns an error, or the
 * parts are non-negative and sum exactly to the node's cost, each within 1 micro-dollar of
 * its exact share. Also feeds the bytes to the CLI's date parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/tzperiod.h"
#include "model/gpu.h"
#include "policy/budget.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__extension__ typedef __int128 i128;

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static uint64_t take(rd *r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | (r->n ? *r->p : 0);
        if (r->n) {
            r->p++;
            r->n--;
        }
    }
    return v;
}

static void check_split(rd *r) {
    gs_usd_u total = (gs_usd_u)(take(r, 5));
    int32_t n = (int32_t)(take(r, 1) % 40);
    int64_t w[40], sum = 0;
    for (int32_t i = 0; i < n; i++) {
        w[i] = (int64_t)take(r, 3);
        sum += w[i];
    }
    int64_t denom = sum + (int64_t)take(r, 3);
    gs_usd_u out[41];
    if (gs_meter_split(total, w, NULL, n, denom, out) != 0) {
        if (denom > 0) __builtin_trap();
        return;
    }
    gs_usd_u s = 0;
    for (int32_t i = 0; i <= n; i++) {
        int64_t wi = i < n ? w[i] : denom - sum;
        i128 exact = (i128)total * wi; /* out * denom within one denom of it */
        i128 lo = (i128)out[i] * denom;
        if (out[i] < 0 || lo > exact + denom || lo + denom < exact) __builtin_trap();
        s += out[i];
    }
    if (s != total) __builtin_trap();
}

static void check_node(rd *r, const gs_catalog *cat) {
    gs_snapshot s;
    gs_snapshot_init(&s);
    gs_node n;
    gs_node_init(&n, "n", cat, (int32_t)(take(r, 1) % (uint64_t)cat->n), take(r, 1) & 1 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
    for (int g = 0; g < n.ngpus; g++) {
        gs_gpu_state *gs = &n.gpus[g];
        gs->mode = (gs_gpu_mode)(take(r, 1) % 4);
        gs->ts_replicas = (int16_t)(take(r, 1) % 20);
        gs->nparts = (uint8_t)(take(r, 1) % 8);
        for (int k = 0; k < gs->nparts; k++) {
            gs->parts[k].profile = (int8_t)(take(r, 1) % 8);
            gs->parts[k].start = (uint8_t)(take(r, 1) % 8);
        }
    }
    gs_snapshot_add_node(&s, &n);
    int npods = (int)(take(r, 1) % 24);
    for (int i = 0; i < npods; i++) {
        gs_pod p;
        memset(&p, 0, sizeof p);
        p.project[0] = (char)('a' + take(r, 1) % 4);
        p.spec.gpu.form = (gs_gpu_form)(take(r, 1) % 5);
        p.spec.gpu.count = (int32_t)(take(r, 1) % 5);
        p.spec.gpu.milli = (int32_t)(take(r, 2) % 1200);
        p.spec.cpu = (gs_mcpu)take(r, 2);
        p.spec.mem = (gs_mib)take(r, 3);
        p.phase = (gs_pod_phase)(take(r, 1) % 4);
        p.node = take(r, 1) % 5 ? 0 : -1;
        p.gpu = (int8_t)(take(r, 1) % 10);
        p.part = (int8_t)((int)(take(r, 1) % 9) - 1);
        gs_snapshot_add_pod(&s, &p);
    }
    gs_ms t0 = (gs_ms)take(r, 4), t1 = t0 + (gs_ms)take(r, 4);
    gs_meter_node *m = malloc(sizeof *m);
    if (m && gs_meter_node_split(&s, cat, 0, t0, t1, m, NULL) == 0) {
        gs_usd_u sum = 0;
        int64_t w = 0;
        for (int i = 0; i < m->nparts; i++) {
            if (m->parts[i].usd < 0 || m->parts[i].weight < 0) __builtin_trap();
            sum += m->parts[i].usd;
            w += m->parts[i].weight;
        }
        if (sum != m->total || w != m->denom) __builtin_trap();
    }
    free(m);
    gs_snapshot_free(&s);
}

static gs_catalog *catalog(void) {
    static gs_catalog cat;
    static int ready;
    if (!ready) {
        gs_catalog_init(&cat);
        const char *models[] = {"a100-40gb", "a30", "h100-80gb", "t4", NULL};
        for (int i = 0; models[i]; i++) {
            gs_itype t;
            memset(&t, 0, sizeof t);
            t.name[0] = (char)('a' + i);
            t.family[0] = 'f';
            t.gpus = 1 + i * 2;
            t.gpu_model = gs_gpu_find(models[i]);
            t.alloc_cpu = 4000;
            t.alloc_mem = 16000;
            t.od_price = 1000000 * (i + 1) + 12345;
            t.spot_discount_pct = 60;
            gs_catalog_add(&cat, &t, NULL);
        }
        gs_itype c;
        memset(&c, 0, sizeof c);
        c.name[0] = 'z';
        c.family[0] = 'm';
        c.gpu_model = -1;
        c.alloc_cpu = 3920;
        c.alloc_mem = 14000;
        c.od_price = 192000;
        gs_catalog_add(&cat, &c, NULL);
        ready = 1;
    }
    return &cat;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rd r = {data, size};
    int which = (int)(take(&r, 1) % 3);
    if (which == 0) {
        check_split(&r);
    } else if (which == 1) {
        check_node(&r, catalog());
    } else {
        char buf[40];
        size_t n = r.n < sizeof buf - 1 ? r.n : sizeof buf - 1;
        memcpy(buf, r.p, n);
        buf[n] = '\0';
        gs_ms t;
        (void)gs_tz_parse_time("UTC", buf, &t, NULL);
    }
    return 0;
}
