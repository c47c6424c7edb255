#include "sim/trace.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"

#define LINE_MAX_BYTES 4096

void gs_llm_trace_free(gs_llm_trace *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

void gs_job_trace_free(gs_job_trace *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* Reads a whole file with a ceiling (the simulator reads traces itself; layers: sim does not
 * include io/). */
static int read_file(const char *path, char **out, size_t *len, gs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return gs_error_set(err, GS_ENOENT, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return gs_error_set(err, GS_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= GS_TRACE_MAX_BYTES) {
                free(buf);
                fclose(f);
                return gs_error_set(err, GS_ETOOBIG, "%s: larger than %zu MiB", path,
                                    GS_TRACE_MAX_BYTES >> 20);
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return gs_error_set(err, GS_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return gs_error_set(err, GS_EIO, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* Iterates lines of text (LF or CRLF, last line may lack a newline). Copies each into buf
 * (without the line ending). Returns 1 with a line, 0 at the end, -1 for an overlong line. */
typedef struct line_iter {
    const char *p, *end;
    int64_t lineno;
} line_iter;

static int next_line(line_iter *it, char *buf, size_t cap) {
    if (it->p >= it->end) return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *e = nl ? nl : it->end;
    const char *start = it->p;
    it->p = nl ? nl + 1 : it->end;
    it->lineno++;
    size_t n = (size_t)(e - start);
    if (n && start[n - 1] == '\r') n--;
    if (n >= cap) return -1;
    memcpy(buf, start, n);
    buf[n] = 0;
    if (memchr(buf, 0, n)) return -1;
    return 1;
}

static void note_bad(gs_trace_stats *st, int64_t line, const char *why) {
    st->bad++;
    if (st->nmsgs < GS_TRACE_KEEP_MSGS) {
        st->msgs[st->nmsgs].line = line;
        snprintf(st->msgs[st->nmsgs].why, sizeof st->msgs[0].why, "%s", why);
        st->nmsgs++;
    }
}

/* Counts one data row of a trace and judges it: a negative gs_err when the read must stop
 * (too many rows, or a bad row under --strict), 1 when a bad row is skipped and counted,
 * 0 when the row is good. Shared by every trace reader so bad rows are treated alike. */
static int count_row(gs_trace_stats *st, const char *file, int64_t lineno, const char *why,
                     bool strict, gs_error *err) {
    st->rows++;
    if (st->rows > GS_TRACE_MAX_ROWS)
        return gs_error_setpos(err, GS_ETOOBIG, file, (int)lineno, 1, "more than %d rows",
                               GS_TRACE_MAX_ROWS);
    if (!why) return 0;
    if (strict) return gs_error_setpos(err, GS_EPARSE, file, (int)lineno, 1, "%s", why);
    note_bad(st, lineno, why);
    return 1;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!*s) return -1;
    int64_t v = 0;
    const char *p = s;
    if (*p == '-') return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS[.fffffff]" -> ms since 1970 (no time zone: treated as UTC). */
static int parse_ts(const char *s, gs_ms *out, const char **why) {
    int64_t Y, M, D, h, mi, sec;
    if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
        s[13] != ':' || s[16] != ':' || digits(s, 4, &Y) || digits(s + 5, 2, &M) ||
        digits(s + 8, 2, &D) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &sec)) {
        *why = "TIMESTAMP is not YYYY-MM-DD HH:MM:SS[.fraction]";
        return -1;
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60) {
        *why = "TIMESTAMP has a field out of range";
        return -1;
    }
    int64_t ms = 0;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int nd = 0;
        int64_t scale = 100;
        if (!*p) {
            *why = "TIMESTAMP has an empty fraction";
            return -1;
        }
        for (; *p; p++, nd++) {
            if (*p < '0' || *p > '9' || nd >= 9) {
                *why = "TIMESTAMP fraction is not 1-9 digits";
                return -1;
            }
            if (scale) {
                ms += (*p - '0') * scale;
                scale /= 10;
            }
        }
    } else if (*p) {
        *why = "TIMESTAMP has trailing characters";
        return -1;
    }
    int64_t days = days_from_civil(Y, M, D);
    *out = ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
    return 0;
}

static int cmp_req(const void *a, const void *b) {
    const gs_llm_req *x = a, *y = b;
    return (x->at > y->at) - (x->at < y->at);
}

static int grow(void **v, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 0;
    int64_t nc = *cap ? *cap * 2 : 1024;
    while (nc < need) nc *= 2;
    void *nv = realloc(*v, (size_t)nc * elem);
    if (!nv) return GS_ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

int gs_trace_sniff(const char *text, size_t len) {
    size_t n = 0;
    while (n < len && text[n] != '\n' && text[n] != '\r') n++;
    if (n >= 9 && strncmp(text, "TIMESTAMP", 9) == 0) return 1;
    if (n >= 5 && strncmp(text, "name,", 5) == 0) return 2;
    return 0;
}

int gs_trace_azure_parse(const char *text, size_t len, const char *file, bool strict,
                         gs_llm_trace *t, gs_error *err) {
    line_iter it = {text, text + len, 0};
    char line[LINE_MAX_BYTES];
    int r = next_line(&it, line, sizeof line);
    if (r <= 0 || strcmp(line, "TIMESTAMP,ContextTokens,GeneratedTokens") != 0)
        return gs_error_setpos(err, GS_EPARSE, file, 1, 1,
                               "expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens' "
                               "(Azure LLM inference trace)");
    gs_ms t0 = 0;
    bool have0 = false;
    int rc = 0;
    while ((r = next_line(&it, line, sizeof line)) != 0) {
        const char *why = NULL;
        char *f[4];
        int nf = 0;
        if (r < 0) why = "line too long or contains a NUL byte";
        else if (line[0] == 0) {
            if (it.p >= it.end) break; /* a final empty line */
            why = "empty line";
        } else if ((nf = gs_csv_split(line, f, 4)) != 3)
            why = "expected 3 fields: TIMESTAMP,ContextTokens,GeneratedTokens";
        gs_ms at = 0;
        int64_t ctx = 0, gen = 0;
        if (!why && parse_ts(f[0], &at, &why) == 0) {
            if (parse_i64(f[1], 0, 10000000, &ctx)) why = "ContextTokens is not an integer in 0..10000000";
            else if (parse_i64(f[2], 0, 10000000, &gen)) why = "GeneratedTokens is not an integer in 0..10000000";
        }
        int verdict = count_row(&t->st, file, it.lineno, why, strict, err);
        if (verdict < 0) {
            rc = verdict;
            goto fail;
        }
        if (verdict > 0) continue;
        if (!have0) {
            t0 = at;
            have0 = true;
        }
        if (grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v)) {
            rc = gs_error_set(err, GS_ENOMEM, "%s: out of memory", file);
            goto fail;
        }
        t->v[t->n++] = (gs_llm_req){at, (int32_t)ctx, (int32_t)gen};
    }
    if (t->n == 0) {
        rc = gs_error_setpos(err, GS_EPARSE, file, (int)it.lineno, 1, "no valid rows");
        goto fail;
    }
    qsort(t->v, (size_t)t->n, sizeof *t->v, cmp_req);
    t0 = t->v[0].at;
    for (int64_t i = 0; i < t->n; i++) t->v[i].at -= t0;
    return 0;
fail:
    gs_llm_trace_free(t);
    return rc;
}

static int cmp_job(const void *a, const void *b) {
    const gs_job *x = a, *y = b;
    if (x->create != y->create) return (x->create > y->create) - (x->create < y->create);
    return (x->end > y->end) - (x->end < y->end);
}

int gs_trace_openb_parse(const char *text, size_t len, const char *file, bool strict,
                         gs_job_trace *t, gs_error *err) {
    line_iter it = {text, text + len, 0};
    char line[LINE_MAX_BYTES];
    int r = next_line(&it, line, sizeof line);
    static const char *HDR =
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
        "deletion_time,scheduled_time";
    if (r > 0 && strcmp(line, "name,cpu_milli,memory_mib,num_gpu,gpu_milli") == 0)
        return gs_error_setpos(err, GS_EUNSUPPORTED, file, 1, 1,
                               "this openb variant (multigpu*) has no creation/deletion times, "
                               "so it cannot be replayed over time");
    if (r <= 0 || strcmp(line, HDR) != 0)
        return gs_error_setpos(err, GS_EPARSE, file, 1, 1,
                               "expected the openb pod-list header '%s'", HDR);
    int rc = 0;
    while ((r = next_line(&it, line, sizeof line)) != 0) {
        const char *why = NULL;
        char *f[12];
        if (r < 0) why = "line too long or contains a NUL byte";
        else if (line[0] == 0) {
            if (it.p >= it.end) break;
            why = "empty line";
        } else if (gs_csv_split(line, f, 12) != 11)
            why = "expected 11 fields";
        int64_t cpu = 0, mem = 0, ng = 0, milli = 0, c = 0, d = 0;
        if (!why) {
            if (parse_i64(f[1], 0, 100000000, &cpu)) why = "cpu_milli is not a non-negative integer";
            else if (parse_i64(f[2], 0, 1000000000, &mem)) why = "memory_mib is not a non-negative integer";
            else if (parse_i64(f[3], 0, 16, &ng)) why = "num_gpu is not an integer in 0..16";
            else if (parse_i64(f[4], 0, 1000, &milli)) why = "gpu_milli is not an integer in 0..1000";
            else if (parse_i64(f[8], 0, INT64_MAX / 1000, &c)) why = "creation_time is not a non-negative integer (seconds)";
            else if (parse_i64(f[9], 0, INT64_MAX / 1000, &d)) why = "deletion_time is not a non-negative integer (seconds)";
            else if (d < c) why = "deletion_time is before creation_time";
            else if (ng == 1 && milli == 0) why = "num_gpu is 1 but gpu_milli is 0";
            else if (ng > 1 && milli != 1000) why = "a multi-GPU pod must have gpu_milli 1000";
        }
        int verdict = count_row(&t->st, file, it.lineno, why, strict, err);
        if (verdict < 0) {
            rc = verdict;
            goto fail;
        }
        if (verdict > 0) continue;
        if (ng == 0) {
            t->cpu_only++;
            continue;
        }
        if (d == c) d = c + 1; /* a pod that lived less than a second: one second */
        if (grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v)) {
            rc = gs_error_set(err, GS_ENOMEM, "%s: out of memory", file);
            goto fail;
        }
        t->v[t->n++] = (gs_job){c * 1000, d * 1000, (int32_t)ng, (int32_t)milli, cpu, mem};
    }
    if (t->n == 0) {
        rc = gs_error_setpos(err, GS_EPARSE, file, (int)it.lineno, 1, "no GPU pods in the trace");
        goto fail;
    }
    qsort(t->v, (size_t)t->n, sizeof *t->v, cmp_job);
    return 0;
fail:
    gs_job_trace_free(t);
    return rc;
}

int gs_trace_azure_load(const char *path, bool strict, gs_llm_trace *t, gs_error *err) {
    char *buf;
    size_t len;
    int rc = read_file(path, &buf, &len, err);
    if (rc) return rc;
    rc = gs_trace_azure_parse(buf, len, path, strict, t, err);
    free(buf);
    return rc;
}

int gs_trace_openb_load(const char *path, bool strict, gs_job_trace *t, gs_error *err) {
    char *buf;
    size_t len;
    int rc = read_file(path, &buf, &len, err);
    if (rc) return rc;
    rc = gs_trace_openb_parse(buf, len, path, strict, t, err);
    free(buf);
    return rc;
}

double gs_synth_rate(const gs_synth_params *p, gs_ms t) {
    double h = (double)(t % GS_HOUR(24)) / 3600000.0;
    double s = 0.5 * (1.0 + cos(2.0 * M_PI * (h - p->peak_hour) / 24.0));
    s = s * s; /* flatter, longer overnight trough */
    return p->trough_rps + (p->peak_rps - p->trough_rps) * s;
}

int gs_trace_synth(const gs_synth_params *p, const gs_llm_trace *sizes, gs_rng *rng,
                   gs_llm_trace *out, gs_error *err) {
    if (!sizes || sizes->n <= 0) return gs_error_set(err, GS_EINVAL, "synthetic trace needs request sizes");
    if (!(p->peak_rps > 0) || p->trough_rps < 0 || p->trough_rps > p->peak_rps ||
        p->burst_factor < 1 || p->duration <= 0)
        return gs_error_set(err, GS_EINVAL,
                            "synthetic traffic: need 0 <= trough <= peak, peak > 0, burstFactor >= 1");
    /* burst windows */
    enum { MAXB = 4096 };
    gs_ms bs[MAXB];
    int nb = 0;
    if (p->bursts_per_day > 0) {
        double mean_gap_ms = 86400000.0 / p->bursts_per_day;
        double t = gs_rng_exp(rng, mean_gap_ms);
        while (t < (double)p->duration && nb < MAXB) {
            bs[nb++] = (gs_ms)t;
            t += gs_rng_exp(rng, mean_gap_ms);
        }
    }
    double lmax = p->peak_rps * p->burst_factor / 1000.0; /* per ms */
    double t = 0;
    int bi = 0;
    for (;;) {
        t += gs_rng_exp(rng, 1.0 / lmax);
        if (t >= (double)p->duration) break;
        gs_ms at = (gs_ms)t;
        double rate = gs_synth_rate(p, at) / 1000.0;
        while (bi < nb && bs[bi] + p->burst_len <= at) bi++;
        if (bi < nb && bs[bi] <= at) rate *= p->burst_factor;
        if (gs_rng_unit(rng) * lmax >= rate) continue;
        if (grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v))
            return gs_error_set(err, GS_ENOMEM, "synthetic trace: out of memory");
        const gs_llm_req *s = &sizes->v[gs_rng_below(rng, (uint64_t)sizes->n)];
        out->v[out->n++] = (gs_llm_req){at, s->ctx, s->gen};
        out->st.rows++;
    }
    return 0;
}
