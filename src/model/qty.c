#include "model/qty.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "model/err.h"

int gs_add64(int64_t a, int64_t b, int64_t *out) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return GS_EOVERFLOW;
    *out = r;
    return 0;
}

int gs_sub64(int64_t a, int64_t b, int64_t *out) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return GS_EOVERFLOW;
    *out = r;
    return 0;
}

int gs_mul64(int64_t a, int64_t b, int64_t *out) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return GS_EOVERFLOW;
    *out = r;
    return 0;
}

int gs_muldiv64(int64_t a, int64_t b, int64_t c, int64_t *out) {
    if (c == 0) return GS_EINVAL;
    __extension__ typedef __int128 i128;
    i128 p = (i128)a * (i128)b;
    i128 q = p / c;
    if (q > INT64_MAX || q < INT64_MIN) return GS_EOVERFLOW;
    *out = (int64_t)q;
    return 0;
}

int gs_cost_for(gs_usd_u price_per_hour, gs_ms ms, gs_usd_u *out) {
    return gs_muldiv64(price_per_hour, ms, GS_HOUR(1), out);
}

static int fail(const char **why, const char *reason, int code) {
    if (why) *why = reason;
    return code;
}

/* Parses an unsigned decimal "123.456" into an integer scaled by 10^scale_digits, with at
 * most max_frac fractional digits. Returns the number of characters consumed or -1. */
static int parse_fixed(const char *s, int scale_digits, int max_frac, int64_t *out,
                       const char **why, int *code) {
    const char *p = s;
    int64_t whole = 0, frac = 0;
    int nd = 0, nf = 0;
    while (*p >= '0' && *p <= '9') {
        if (__builtin_mul_overflow(whole, 10, &whole) ||
            __builtin_add_overflow(whole, *p - '0', &whole)) {
            *code = fail(why, "number too large", GS_EOVERFLOW);
            return -1;
        }
        p++;
        nd++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (nf >= max_frac) {
                *code = fail(why, "too many decimal places", GS_EPARSE);
                return -1;
            }
            frac = frac * 10 + (*p - '0');
            p++;
            nf++;
        }
        if (nf == 0) {
            *code = fail(why, "digit expected after '.'", GS_EPARSE);
            return -1;
        }
    }
    if (nd == 0 && nf == 0) {
        *code = fail(why, "number expected", GS_EPARSE);
        return -1;
    }
    int64_t scale = 1;
    for (int i = 0; i < scale_digits; i++) scale *= 10;
    int64_t fscale = 1;
    for (int i = nf; i < scale_digits; i++) fscale *= 10;
    /* nf <= max_frac <= scale_digits guaranteed by callers */
    int64_t v;
    if (__builtin_mul_overflow(whole, scale, &v) || __builtin_add_overflow(v, frac * fscale, &v)) {
        *code = fail(why, "number too large", GS_EOVERFLOW);
        return -1;
    }
    *out = v;
    return (int)(p - s);
}

int gs_parse_cpu(const char *s, gs_mcpu *out, const char **why) {
    if (!s || !*s) return fail(why, "empty CPU quantity", GS_EPARSE);
    int code = GS_EPARSE;
    int64_t v;
    size_t len = strlen(s);
    if (s[len - 1] == 'm') {
        int n = parse_fixed(s, 0, 0, &v, why, &code);
        if (n < 0) return code;
        if ((size_t)n != len - 1) return fail(why, "expected e.g. 500m, 2 or 0.5", GS_EPARSE);
        *out = v;
        return 0;
    }
    int n = parse_fixed(s, 3, 3, &v, why, &code);
    if (n < 0) return code;
    if ((size_t)n != len) return fail(why, "expected e.g. 500m, 2 or 0.5", GS_EPARSE);
    *out = v;
    return 0;
}

int gs_parse_mem(const char *s, gs_mib *out, const char **why) {
    if (!s || !*s) return fail(why, "empty memory quantity", GS_EPARSE);
    int code = GS_EPARSE;
    int64_t v;
    int n = parse_fixed(s, 0, 0, &v, why, &code);
    if (n < 0) return code;
    const char *u = s + n;
    /* bytes per unit, as numerator/denominator of MiB */
    int64_t mib;
    if (strcmp(u, "Ki") == 0) {
        mib = (v + 1023) / 1024;
    } else if (strcmp(u, "Mi") == 0) {
        mib = v;
    } else if (strcmp(u, "Gi") == 0) {
        if (__builtin_mul_overflow(v, 1024, &mib)) return fail(why, "too large", GS_EOVERFLOW);
    } else if (strcmp(u, "Ti") == 0) {
        if (__builtin_mul_overflow(v, 1024 * 1024, &mib)) return fail(why, "too large", GS_EOVERFLOW);
    } else {
        int64_t mult;
        if (strcmp(u, "") == 0) mult = 1;
        else if (strcmp(u, "k") == 0) mult = 1000;
        else if (strcmp(u, "M") == 0) mult = 1000000;
        else if (strcmp(u, "G") == 0) mult = 1000000000;
        else if (strcmp(u, "T") == 0) mult = 1000000000000LL;
        else return fail(why, "unknown unit (use Ki, Mi, Gi, Ti, k, M, G, T or bytes)", GS_EPARSE);
        int64_t bytes;
        if (__builtin_mul_overflow(v, mult, &bytes)) return fail(why, "too large", GS_EOVERFLOW);
        mib = bytes / 1048576 + (bytes % 1048576 != 0);
    }
    *out = mib;
    return 0;
}

int gs_parse_duration(const char *s, gs_ms *out, const char **why) {
    if (!s || !*s) return fail(why, "empty duration", GS_EPARSE);
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    const char *p = s;
    int64_t total = 0;
    while (*p) {
        int64_t v = 0;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
                return fail(why, "duration too large", GS_EOVERFLOW);
            p++;
            nd++;
        }
        if (nd == 0) return fail(why, "expected e.g. 30s, 5m, 1h or 1h30m", GS_EPARSE);
        int64_t unit;
        if (p[0] == 'm' && p[1] == 's') { unit = 1; p += 2; }
        else if (*p == 's') { unit = 1000; p++; }
        else if (*p == 'm') { unit = 60000; p++; }
        else if (*p == 'h') { unit = 3600000; p++; }
        else if (*p == 'd') { unit = 86400000; p++; }
        else return fail(why, "unit expected after number (ms, s, m, h, d)", GS_EPARSE);
        if (__builtin_mul_overflow(v, unit, &v) || __builtin_add_overflow(total, v, &total))
            return fail(why, "duration too large", GS_EOVERFLOW);
    }
    *out = total;
    return 0;
}

int gs_parse_usd(const char *s, gs_usd_u *out, const char **why) {
    if (!s || !*s) return fail(why, "empty amount", GS_EPARSE);
    const char *p = s;
    if (*p == '$') p++;
    if (*p == '-') return fail(why, "amount must not be negative", GS_EOVERFLOW);
    int code = GS_EPARSE;
    int64_t v;
    int n = parse_fixed(p, 6, 6, &v, why, &code);
    if (n < 0) return code;
    if (p[n] != '\0') return fail(why, "expected an amount in USD such as 120.50", GS_EPARSE);
    *out = v;
    return 0;
}

int gs_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out, const char **why) {
    if (!s || !*s) return fail(why, "empty number", GS_EPARSE);
    const char *p = s;
    bool neg = false;
    if (*p == '-') { neg = true; p++; }
    if (!*p) return fail(why, "integer expected", GS_EPARSE);
    int64_t v = 0;
    while (*p) {
        if (*p < '0' || *p > '9') return fail(why, "integer expected", GS_EPARSE);
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            return fail(why, "integer too large", GS_EOVERFLOW);
        p++;
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return fail(why, "out of range", GS_EOVERFLOW);
    *out = v;
    return 0;
}

const char *gs_fmt_usd(gs_usd_u v, char *buf, size_t size) {
    const char *sign = v < 0 ? "-" : "";
    uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) + 1u : (uint64_t)v;
    uint64_t whole = a / 1000000u, frac = a % 1000000u;
    char fb[8];
    snprintf(fb, sizeof fb, "%06llu", (unsigned long long)frac);
    int keep = 6;
    while (keep > 2 && fb[keep - 1] == '0') keep--;
    fb[keep] = '\0';
    snprintf(buf, size, "%s$%llu.%s", sign, (unsigned long long)whole, fb);
    return buf;
}

const char *gs_fmt_duration(gs_ms v, char *buf, size_t size) {
    if (v == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    char tmp[64] = "";
    size_t n = 0;
    if (v < 0) { tmp[n++] = '-'; v = -v; }
    static const struct { int64_t ms; const char *u; } units[] = {
        {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (v >= units[i].ms) {
            int w = snprintf(tmp + n, sizeof tmp - n, "%lld%s", (long long)(v / units[i].ms),
                             units[i].u);
            if (w > 0) n += (size_t)w;
            v %= units[i].ms;
        }
    }
    snprintf(buf, size, "%s", tmp);
    return buf;
}
