/* Trace readers and the synthetic generator.
 *  - Azure LLM inference trace 2023 (TIMESTAMP,ContextTokens,GeneratedTokens; CRLF or LF,
 *    with or without a final newline): request arrivals with token counts.
 *  - Alibaba openb pod list (cluster-trace-gpu-v2023): pods with creation/deletion times and
 *    GPU requests (whole GPUs or milli-GPU). Unsorted variants are sorted on load.
 *  - Synthetic: a diurnal day (overnight trough, afternoon peak, random bursts) whose request
 *    sizes are drawn from a real trace.
 * Bad rows: in strict mode the first bad row fails the parse (error names file:line and the
 * reason); otherwise bad rows are skipped, counted, and the first few reasons kept. */
#ifndef GS_SIM_TRACE_H
#define GS_SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/err.h"
#include "model/qty.h"
#include "sim/rng.h"

#define GS_TRACE_MAX_BYTES ((size_t)512 << 20) /* refuse trace files above 512 MiB */
#define GS_TRACE_MAX_ROWS 50000000
#define GS_TRACE_KEEP_MSGS 8

typedef struct gs_trace_stats {
    int64_t rows;      /* data rows read (good + bad) */
    int64_t bad;       /* rows skipped */
    int32_t nmsgs;
    struct {
        int64_t line;
        char why[120];
    } msgs[GS_TRACE_KEEP_MSGS];
} gs_trace_stats;

typedef struct gs_llm_req {
    gs_ms at;        /* arrival, ms from the trace start */
    int32_t ctx;     /* input (context) tokens */
    int32_t gen;     /* generated tokens */
} gs_llm_req;

typedef struct gs_llm_trace {
    gs_llm_req *v;   /* owned, sorted by at */
    int64_t n, cap;
    gs_trace_stats st;
} gs_llm_trace;

typedef struct gs_job {
    gs_ms create;    /* ms from trace start */
    gs_ms end;       /* deletion time; end > create */
    int32_t num_gpu; /* whole GPUs (1..8), or 1 with gpu_milli < 1000 for a shared GPU */
    int32_t gpu_milli;
    gs_mcpu cpu;
    gs_mib mem;
} gs_job;

typedef struct gs_job_trace {
    gs_job *v;       /* owned, sorted by create */
    int64_t n, cap;
    int64_t cpu_only; /* GPU-less pods (num_gpu 0), counted and not simulated */
    gs_trace_stats st;
} gs_job_trace;

void gs_llm_trace_free(gs_llm_trace *t);
void gs_job_trace_free(gs_job_trace *t);

/* Parses Azure LLM CSV text. `file` is used in messages. t must be zeroed by the caller.
 * On error t is freed and zeroed. */
int gs_trace_azure_parse(const char *text, size_t len, const char *file, bool strict,
                         gs_llm_trace *t, gs_error *err);
/* Parses an openb pod list (11-column variant; the 5-column multigpu files have no times and
 * are refused with a clear message). */
int gs_trace_openb_parse(const char *text, size_t len, const char *file, bool strict,
                         gs_job_trace *t, gs_error *err);

/* Reads a file (<= GS_TRACE_MAX_BYTES) and parses it (io through gs_fs_read). */
int gs_trace_azure_load(const char *path, bool strict, gs_llm_trace *t, gs_error *err);
int gs_trace_openb_load(const char *path, bool strict, gs_job_trace *t, gs_error *err);

/* Which reader a file's header line calls for: 1 Azure, 2 openb, 0 unknown. */
int gs_trace_sniff(const char *text, size_t len);

typedef struct gs_synth_params {
    gs_ms duration;
    double peak_rps;       /* arrivals/s at the peak hour */
    double trough_rps;     /* arrivals/s 12 h away from the peak */
    double peak_hour;      /* 0..24 */
    double bursts_per_day; /* Poisson rate of bursts */
    double burst_factor;   /* rate multiplier during a burst (>= 1) */
    gs_ms burst_len;
} gs_synth_params;

/* Instantaneous arrival rate (per s) at time t, bursts excluded. */
double gs_synth_rate(const gs_synth_params *p, gs_ms t);

/* Generates arrivals by thinning a Poisson process of the diurnal rate (with bursts) and
 * draws each request's sizes uniformly from `sizes` (a real trace, n > 0). Appends to out
 * (zeroed by the caller). */
int gs_trace_synth(const gs_synth_params *p, const gs_llm_trace *sizes, gs_rng *rng,
                   gs_llm_trace *out, gs_error *err);

#endif
