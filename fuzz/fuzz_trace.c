/* Fuzzes the simulator's trace readers (Azure LLM CSV, openb pod list) and the scenario
 * parser: the first byte picks the reader, the rest is the file text. Every input must be
 * either accepted or refused with a positioned message; nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "sim/scenario.h"
#include "sim/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1u << 20)) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    size_t len = size - 1;
    gs_error err;
    switch (data[0] % 3) {
    case 0: {
        gs_llm_trace t = {0};
        for (int strict = 0; strict < 2; strict++) {
            if (gs_trace_azure_parse(text, len, "fuzz.csv", strict, &t, &err) == 0) {
                for (int64_t i = 1; i < t.n; i++)
                    if (t.v[i].at < t.v[i - 1].at || t.v[i].ctx < 0) abort();
                gs_llm_trace_free(&t);
            }
        }
        break;
    }
    case 1: {
        gs_job_trace t = {0};
        for (int strict = 0; strict < 2; strict++) {
            if (gs_trace_openb_parse(text, len, "fuzz.csv", strict, &t, &err) == 0) {
                for (int64_t i = 0; i < t.n; i++)
                    if (t.v[i].end <= t.v[i].create || t.v[i].num_gpu < 1) abort();
                gs_job_trace_free(&t);
            }
        }
        break;
    }
    default: {
        /* a tiny catalog so the pool check has something to admit */
        gs_catalog cat;
        gs_catalog_init(&cat);
        static const char CSV[] =
            "instance_type,family,vcpu,memory_mib,gpu_count,gpu_model,gpu_memory_mib,on_demand_usd_per_hour,"
            "allocatable_cpu_milli,allocatable_memory_mib,max_pods\n"
            "p5.4xlarge,p5,16,262144,1,h100,81920,6.880000,15890,240830,118\n";
        if (gs_catalog_parse_csv(&cat, CSV, sizeof CSV - 1, "cat.csv", &err) == 0) {
            gs_scenario *s = malloc(sizeof *s);
            if (s) gs_scenario_parse(s, text, len, "fuzz.json", "/nonexistent", &cat, &err);
            free(s);
        }
        gs_catalog_free(&cat);
        break;
    }
    }
    free(text);
    return 0;
}
