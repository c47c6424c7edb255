/* libFuzzer harness for the snapshot parser (src/io/state) and, on what it accepts, the packer:
 * any input must either be rejected with a positioned message or produce a snapshot that
 * gs_pack_plan handles, with one placement per pending pod and valid MIG layouts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/catalog_load.h"
#include "io/config/config.h"
#include "io/state.h"
#include "policy/mig.h"
#include "policy/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pools the fuzzed snapshots may name: one of each sharing mode. */
static const char POOLS[] =
    "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: mig}\n"
    "spec: {weight: 10, requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [p5, p4de]}],"
    " sharing: {mode: mig}, limits: {gpus: 16}}\n---\n"
    "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: ts}\n"
    "spec: {requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5, g6]}],"
    " sharing: {mode: timeSlicing, timeSlicing: {replicas: 4}}}\n---\n"
    "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: whole}\n"
    "spec: {requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g6, p4d]}]}\n---\n"
    "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: frac}\n"
    "spec: {requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g6e]}],"
    " sharing: {mode: fractional}}\n";

static gs_catalog cat;
static gs_config cfg;

static void setup(void) {
    static int loaded = 0;
    if (loaded) return;
    gs_catalog_init(&cat);
    gs_error e;
    if (gs_catalog_load(&cat, NULL, &e)) {
        fprintf(stderr, "fuzz_state: catalog: %s\n", e.msg);
        abort();
    }
    if (gs_config_load_string(&cfg, POOLS, sizeof POOLS - 1, "pools", &cat, &e)) {
        fprintf(stderr, "fuzz_state: pools: %s\n", e.msg);
        abort();
    }
    loaded = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    gs_state st;
    gs_state_init(&st);
    gs_error e;
    gs_error_clear(&e);
    int rc = gs_state_parse((const char *)data, size, "fuzz", &cat, cfg.pools, cfg.npools, &st, &e);
    if (rc) {
        if (e.msg[0] == '\0') abort(); /* every rejection says why */
        gs_state_free(&st);
        return 0;
    }
    gs_pack_input in = {.snap = &st.snap, .pools = cfg.pools, .npools = cfg.npools, .catalog = &cat};
    gs_plan plan;
    gs_plan_init(&plan);
    if (gs_pack_plan(&in, &plan, &e) == 0) {
        int32_t pending = 0;
        for (int32_t i = 0; i < st.snap.npods; i++)
            pending += st.snap.pods[i].phase == GS_POD_PENDING && st.snap.pods[i].node < 0;
        if (plan.nplace != pending || plan.placed_existing + plan.placed_claims + plan.nunsched != pending) abort();
        for (int32_t i = 0; i < plan.nclaims; i++) {
            const gs_claim *c = &plan.claims[i];
            const gs_gpu_model *m = gs_gpu_get(c->gpu_model);
            for (int g = 0; g < c->ngpus; g++)
                if (c->gpus[g].mode == GS_GPUMODE_MIG && m && !gs_mig_valid(m, c->gpus[g].parts, c->gpus[g].nparts, NULL))
                    abort();
        }
        for (int32_t i = 0; i < plan.nreparts; i++) {
            const gs_repartition *r = &plan.reparts[i];
            const gs_gpu_model *m = gs_gpu_get(cat.types[st.snap.nodes[r->node].itype].gpu_model);
            if (!m || !gs_mig_valid(m, r->after.parts, r->after.n, NULL)) abort();
        }
    }
    gs_plan_free(&plan);
    gs_state_free(&st);
    return 0;
}
