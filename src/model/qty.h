/* Quantities: milli-CPU, MiB, micro-dollars and milliseconds, all int64_t, with
 * overflow-checked arithmetic and parsers for the Kubernetes-style spellings users write.
 * Pure: no I/O, no locale. */
#ifndef GS_QTY_H
#define GS_QTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t gs_mcpu;  /* milli-CPU: 1 CPU = 1000 */
typedef int64_t gs_mib;   /* memory in MiB */
typedef int64_t gs_usd_u; /* micro-dollars: $1 = 1,000,000 */
typedef int64_t gs_ms;    /* milliseconds (durations and virtual/real timestamps) */

#define GS_USD(x) ((gs_usd_u)((x) * 1000000LL))
#define GS_SEC(x) ((gs_ms)((x) * 1000LL))
#define GS_MIN(x) ((gs_ms)((x) * 60000LL))
#define GS_HOUR(x) ((gs_ms)((x) * 3600000LL))

/* Checked arithmetic: return 0 and store the result, or GS_EOVERFLOW and leave *out alone. */
int gs_add64(int64_t a, int64_t b, int64_t *out);
int gs_sub64(int64_t a, int64_t b, int64_t *out);
int gs_mul64(int64_t a, int64_t b, int64_t *out);
/* a*b/c rounded toward zero with a 128-bit intermediate; c != 0. */
int gs_muldiv64(int64_t a, int64_t b, int64_t c, int64_t *out);

/* Cost in micro-dollars of running `price_per_hour` (micro-dollars/hour) for `ms`
 * milliseconds, rounded down. Fails with GS_EOVERFLOW past int64. */
int gs_cost_for(gs_usd_u price_per_hour, gs_ms ms, gs_usd_u *out);

/* Parsers. Each takes the whole string (no trailing junk, no leading/trailing spaces),
 * returns 0 or GS_EPARSE / GS_EOVERFLOW, and on failure writes a short reason to why
 * (if non-NULL, static storage). */
/* CPU: "2", "0.5", "500m" -> milli-CPU. */
int gs_parse_cpu(const char *s, gs_mcpu *out, const char **why);
/* Memory: "16Gi", "512Mi", "1Ti", "1G" (10^9 bytes, rounded up to MiB), "1073741824"
 * (bytes, rounded up to MiB). */
int gs_parse_mem(const char *s, gs_mib *out, const char **why);
/* Duration: "250ms", "30s", "5m", "1h", "1d", "1h30m", "0" (zero needs no unit). */
int gs_parse_duration(const char *s, gs_ms *out, const char **why);
/* Money in USD: "120.50", "0.000001", "3" (at most 6 decimals) -> micro-dollars; non-negative. */
int gs_parse_usd(const char *s, gs_usd_u *out, const char **why);
/* Plain integer with range check [lo, hi]. */
int gs_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out, const char **why);

/* Formatters into buf; return buf. "$12.345678" style with 2..6 decimals trimmed. */
const char *gs_fmt_usd(gs_usd_u v, char *buf, size_t size);
/* "1h30m", "250ms", "0s" */
const char *gs_fmt_duration(gs_ms v, char *buf, size_t size);

#endif
