/* The configuration loader (see config.h and docs/config.md). Reads YAML through the bounded
 * tree of yamltree.h, decodes each document by kind into temporary arrays, resolves
 * references between objects once every source is read, and only then hands the result
 * over: nothing is applied half-way. */
#include "io/config/config.h"

#include "model/array.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/config/yamltree.h"
#include "io/fs.h"
#include "model/cluster.h"
#include "model/gpu.h"

typedef struct gs_yaml_node node;

/* Where a value was written, for checks done after all documents are read. */
typedef struct pos {
    int32_t file;
    int line, col;
} pos;

/* A pod template that must be checked against its pool once all pools are known. */
typedef struct deferred {
    bool is_env;
    int32_t idx;      /* scaler or environment index */
    int32_t w;        /* environment workload index (-1 for a scaler) */
    pos pool_at;      /* spec.pool (line 0 = not given) */
    pos gpu_at;       /* the GPU resource entry (line 0 = none) */
} deferred;

typedef struct ld {
    const gs_config_src *srcs;
    int nsrcs;
    int32_t fileidx;
    const char *file;
    const gs_catalog *cat;
    gs_error *err;
    char obj[160];       /* "GPUPool 'a100'" once known */
    char path[256];      /* dotted path of the field being read */
    size_t plen;
    gs_config cfg;       /* being built */
    int32_t cap_pools, cap_scalers, cap_budgets, cap_envs;
    pos *pool_pos, *scaler_pos, *budget_pos, *env_pos; /* metadata.name of each object */
    deferred *defs;
    int32_t ndefs, cap_defs;
    bool api;            /* objects from the API server: messages "NAME: path: msg", no line:col */
} ld;

/* ---------- messages ---------- */

__attribute__((format(printf, 4, 0)))
static int failv(ld *L, const node *n, bool with_path, const char *fmt, va_list ap) {
    char msg[GS_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char full[GS_ERROR_MSG_MAX + 512];
    const char *obj = L->api ? "" : L->obj; /* the source name already names the object */
    const char *sep = obj[0] ? ": " : "";
    if (with_path && L->plen)
        snprintf(full, sizeof full, "%s%s%s: %s", obj, sep, L->path, msg);
    else
        snprintf(full, sizeof full, "%s%s%s", obj, sep, msg);
    if (L->api) return gs_error_setpos(L->err, GS_EINVAL, L->file, 0, 0, "%s", full);
    return gs_error_setpos(L->err, GS_EINVAL, L->file, n ? n->line : 1, n ? n->col : 1, "%s", full);
}

/* An error about node n, prefixed with the object and the field path. */
__attribute__((format(printf, 3, 4))) static int fail(ld *L, const node *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(L, n, true, fmt, ap);
    va_end(ap);
    return rc;
}

/* Same without the field path (the message names the field itself). */
__attribute__((format(printf, 3, 4))) static int failnp(ld *L, const node *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(L, n, false, fmt, ap);
    va_end(ap);
    return rc;
}

static size_t push(ld *L, const char *key) {
    size_t old = L->plen;
    int w = snprintf(L->path + L->plen, sizeof L->path - L->plen, "%s%s", L->plen ? "." : "", key);
    if (w > 0) L->plen += (size_t)w;
    if (L->plen >= sizeof L->path) L->plen = sizeof L->path - 1;
    return old;
}

static size_t push_idx(ld *L, int32_t i) {
    size_t old = L->plen;
    int w = snprintf(L->path + L->plen, sizeof L->path - L->plen, "[%d]", (int)i);
    if (w > 0) L->plen += (size_t)w;
    if (L->plen >= sizeof L->path) L->plen = sizeof L->path - 1;
    return old;
}

static void pop(ld *L, size_t old) {
    L->plen = old;
    L->path[old] = '\0';
}

/* Full name of a child field, for messages: "spec.limits.gpus". */
static const char *child(ld *L, const char *key, char *buf, size_t size) {
    size_t n = 0;
    for (const char *p = L->path; *p && n + 1 < size; p++) buf[n++] = *p;
    if (L->plen && n + 1 < size) buf[n++] = '.';
    for (const char *p = key; *p && n + 1 < size; p++) buf[n++] = *p;
    buf[n] = '\0';
    return buf;
}

/* A short, printable rendering of a scalar for messages. */
static const char *show(const node *n, char *buf, size_t size) {
    if (!n) return "";
    if (n->kind != GS_YAML_SCALAR) return gs_yaml_kind_name(n);
    size_t k = 0;
    for (size_t i = 0; i < n->len && k + 4 < size; i++) {
        unsigned char c = (unsigned char)n->str[i];
        buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        if (i == 60 && n->len > 64) {
            buf[k++] = '.'; buf[k++] = '.'; buf[k++] = '.';
            break;
        }
    }
    buf[k] = '\0';
    return buf;
}

/* ---------- suggestions ---------- */

static int lev(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The closest of names (n of them) to s, if close enough to be a likely typo; else NULL. */
static const char *closest(const char *s, const char *const *names, int n) {
    const char *best = NULL;
    int bestd = 99;
    size_t ls = strlen(s);
    for (int i = 0; i < n; i++) {
        int d = lev(s, names[i]);
        if (d < bestd) { bestd = d; best = names[i]; }
    }
    int allow = ls <= 4 ? 1 : ls <= 8 ? 2 : 3;
    return bestd <= allow ? best : NULL;
}

static int count_names(const char *const *names) {
    int n = 0;
    while (names[n]) n++;
    return n;
}

/* ", did you mean 'x'?" or "" */
static const char *hint(const char *s, const char *const *names, int n, char *buf, size_t size) {
    const char *c = closest(s, names, n);
    if (c) snprintf(buf, size, " (did you mean '%s'?)", c);
    else buf[0] = '\0';
    return buf;
}

static void join(const char *const *names, int n, char *buf, size_t size) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < size; i++) {
        int w = snprintf(buf + k, size - k, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
}

/* ---------- node helpers ---------- */

static const node *get(const node *map, const char *key) { return gs_yaml_get(map, key, NULL); }

static int want(ld *L, const node *n, gs_yaml_kind k) {
    if (n->kind == k && !(k == GS_YAML_SCALAR && gs_yaml_is_null(n))) return 0;
    const char *what = k == GS_YAML_MAP ? "a mapping" : k == GS_YAML_SEQ ? "a list" : "a value";
    if (n->kind == GS_YAML_SCALAR && !gs_yaml_is_null(n)) {
        char b[96];
        return fail(L, n, "expected %s, got the value '%s'", what, show(n, b, sizeof b));
    }
    return fail(L, n, "expected %s, got %s", what, gs_yaml_kind_name(n));
}

/* Every key of map must be in known (NULL-terminated). */
static int check_keys(ld *L, const node *map, const char *const *known) {
    int nk = count_names(known);
    for (int32_t i = 0; i + 1 < map->n; i += 2) {
        const node *k = map->kids[i];
        bool ok = false;
        for (int j = 0; j < nk && !ok; j++) ok = strcmp(k->str, known[j]) == 0;
        if (ok) continue;
        char h[96], b[96], f[320];
        show(k, b, sizeof b);
        return failnp(L, k, "unknown field '%s'%s", child(L, b, f, sizeof f),
                      hint(k->str, known, nk, h, sizeof h));
    }
    return 0;
}

static int missing(ld *L, const node *map, const char *key) {
    char f[320];
    return failnp(L, map, "missing required field '%s'", child(L, key, f, sizeof f));
}

/* A scalar into buf (at most cap-1 bytes). */
static int str_into(ld *L, const node *n, char *buf, size_t cap) {
    int rc = want(L, n, GS_YAML_SCALAR);
    if (rc) return rc;
    if (n->len >= cap) return fail(L, n, "too long (%zu characters; at most %zu)", n->len, cap - 1);
    memcpy(buf, n->str, n->len + 1);
    return 0;
}

/* Optional string field; *at gets the node when present. */
static int opt_str(ld *L, const node *map, const char *key, char *buf, size_t cap, bool required,
                   const node **at) {
    const node *v = get(map, key);
    if (at) *at = v;
    if (!v) return required ? missing(L, map, key) : 0;
    size_t o = push(L, key);
    int rc = str_into(L, v, buf, cap);
    if (!rc && required && !buf[0]) rc = fail(L, v, "must not be empty");
    pop(L, o);
    return rc;
}

static bool all_digits(const char *s) {
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    for (; *s; s++) if (!isdigit((unsigned char)*s)) return false;
    return true;
}

/* An integer scalar in [lo, hi]. quoted_ok: accept "5" as well as 5 (metadata, quantities). */
static int int_of(ld *L, const node *v, int64_t lo, int64_t hi, bool quoted_ok, int64_t *out) {
    int rc = want(L, v, GS_YAML_SCALAR);
    if (rc) return rc;
    char b[96];
    if (!all_digits(v->str))
        return fail(L, v, "expected an integer, got '%s'", show(v, b, sizeof b));
    if (!v->plain && !quoted_ok)
        return fail(L, v, "expected an integer, got the quoted string '%s' (remove the quotes)", show(v, b, sizeof b));
    const char *why = NULL;
    if (gs_parse_int(v->str[0] == '+' ? v->str + 1 : v->str, lo, hi, out, &why))
        return fail(L, v, "must be an integer in %lld..%lld, got %s", (long long)lo, (long long)hi, show(v, b, sizeof b));
    return 0;
}

static int opt_int(ld *L, const node *map, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   bool *present) {
    const node *v = get(map, key);
    if (present) *present = v != NULL;
    if (!v) return 0;
    size_t o = push(L, key);
    int rc = int_of(L, v, lo, hi, false, out);
    pop(L, o);
    return rc;
}

static int opt_i32(ld *L, const node *map, const char *key, int64_t lo, int64_t hi, int32_t *out) {
    int64_t v;
    bool present;
    int rc = opt_int(L, map, key, lo, hi, &v, &present);
    if (!rc && present) *out = (int32_t)v;
    return rc;
}

static int bool_of(ld *L, const node *v, bool quoted_ok, bool *out) {
    int rc = want(L, v, GS_YAML_SCALAR);
    if (rc) return rc;
    char b[96];
    if (v->plain || quoted_ok) {
        if (!strcmp(v->str, "true") || !strcmp(v->str, "True") || !strcmp(v->str, "TRUE")) { *out = true; return 0; }
        if (!strcmp(v->str, "false") || !strcmp(v->str, "False") || !strcmp(v->str, "FALSE")) { *out = false; return 0; }
    }
    return fail(L, v, "expected true or false, got '%s'", show(v, b, sizeof b));
}

/* Durations: "30s", "5m", "1h30m", or a plain integer number of seconds (KEDA's spelling). */
static int dur_of(ld *L, const node *v, gs_ms lo, gs_ms hi, bool never_ok, gs_ms *out) {
    int rc = want(L, v, GS_YAML_SCALAR);
    if (rc) return rc;
    char b[96];
    if (never_ok && strcmp(v->str, "Never") == 0) { *out = GS_MS_NEVER; return 0; }
    gs_ms ms;
    const char *why = "";
    if (all_digits(v->str) && v->str[0] != '-') {
        int64_t s;
        if (gs_parse_int(v->str, 0, INT64_MAX / 1000, &s, &why))
            return fail(L, v, "duration out of range: %s", show(v, b, sizeof b));
        ms = s * 1000;
    } else if (gs_parse_duration(v->str, &ms, &why)) {
        return fail(L, v, "expected a duration like 30s, 5m or 1h%s, got '%s'",
                    never_ok ? " (or Never)" : "", show(v, b, sizeof b));
    }
    if (ms < lo || ms > hi) {
        char a[32], z[32];
        return fail(L, v, "must be between %s and %s, got %s", gs_fmt_duration(lo, a, sizeof a),
                    gs_fmt_duration(hi, z, sizeof z), show(v, b, sizeof b));
    }
    *out = ms;
    return 0;
}

static int opt_dur(ld *L, const node *map, const char *key, gs_ms lo, gs_ms hi, bool never_ok,
                   gs_ms *out) {
    const node *v = get(map, key);
    if (!v) return 0;
    size_t o = push(L, key);
    int rc = dur_of(L, v, lo, hi, never_ok, out);
    pop(L, o);
    return rc;
}

static int usd_of(ld *L, const node *v, gs_usd_u *out) {
    int rc = want(L, v, GS_YAML_SCALAR);
    if (rc) return rc;
    char b[96];
    const char *s = v->str[0] == '$' ? v->str + 1 : v->str;
    const char *why = "";
    if (gs_parse_usd(s, out, &why))
        return fail(L, v, "expected an amount of US dollars like 120.50, got '%s'", show(v, b, sizeof b));
    return 0;
}

static int opt_usd(ld *L, const node *map, const char *key, gs_usd_u *out) {
    const node *v = get(map, key);
    if (!v) return 0;
    size_t o = push(L, key);
    int rc = usd_of(L, v, out);
    pop(L, o);
    return rc;
}

/* One of names (NULL-terminated); *out gets its index. */
static int enum_of(ld *L, const node *v, const char *const *names, int *out) {
    int rc = want(L, v, GS_YAML_SCALAR);
    if (rc) return rc;
    int n = count_names(names);
    for (int i = 0; i < n; i++)
        if (strcmp(v->str, names[i]) == 0) { *out = i; return 0; }
    char all[256], h[96], b[96];
    join(names, n, all, sizeof all);
    return fail(L, v, "must be one of %s, got '%s'%s", all, show(v, b, sizeof b),
                hint(v->str, names, n, h, sizeof h));
}

static int opt_enum(ld *L, const node *map, const char *key, const char *const *names, int *out) {
    const node *v = get(map, key);
    if (!v) return 0;
    size_t o = push(L, key);
    int rc = enum_of(L, v, names, out);
    pop(L, o);
    return rc;
}

static int opt_map(ld *L, const node *map, const char *key, const node **out) {
    *out = get(map, key);
    if (!*out) return 0;
    size_t o = push(L, key);
    int rc = want(L, *out, GS_YAML_MAP);
    pop(L, o);
    return rc;
}

static int opt_seq(ld *L, const node *map, const char *key, const node **out) {
    *out = get(map, key);
    if (!*out) return 0;
    size_t o = push(L, key);
    int rc = want(L, *out, GS_YAML_SEQ);
    pop(L, o);
    return rc;
}

/* RFC 1123 names as Kubernetes uses them for objects here: lower-case alphanumerics, '-'
 * and '.', starting and ending alphanumeric, at most 63 characters. */
static bool dns_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && c != '-' && c != '.') return false;
        if ((i == 0 || i == n - 1) && !an) return false;
    }
    return true;
}

static int name_field(ld *L, const node *map, const char *key, char *buf, bool required, const node **at) {
    int rc = opt_str(L, map, key, buf, GS_NAME_LEN, required, at);
    if (rc) return rc;
    if (*at && !dns_name_ok(buf)) {
        size_t o = push(L, key);
        char b[96];
        rc = fail(L, *at, "'%s' is not a valid name (lower-case letters, digits, '-' and '.', "
                          "starting and ending with a letter or digit, at most 63 characters)",
                  show(*at, b, sizeof b));
        pop(L, o);
    }
    return rc;
}

/* A string->string mapping (labels, nodeSelector) into kv (at most max). */
static int kv_map(ld *L, const node *map, const char *key, gs_kv *kv, int32_t max, int32_t *n) {
    const node *m;
    int rc = opt_map(L, map, key, &m);
    if (rc || !m) return rc;
    size_t o = push(L, key);
    if (m->n / 2 > max) {
        rc = fail(L, m, "at most %d entries", (int)max);
        pop(L, o);
        return rc;
    }
    for (int32_t i = 0; i + 1 < m->n && !rc; i += 2) {
        const node *k = m->kids[i], *v = m->kids[i + 1];
        gs_kv *e = &kv[*n];
        size_t o2 = push(L, k->str);
        rc = str_into(L, k, e->key, sizeof e->key);
        if (!rc && !e->key[0]) rc = fail(L, k, "a key must not be empty");
        if (!rc) {
            if (v->kind == GS_YAML_SCALAR && gs_yaml_is_null(v)) e->value[0] = '\0';
            else rc = str_into(L, v, e->value, sizeof e->value);
        }
        pop(L, o2);
        if (!rc) (*n)++;
    }
    pop(L, o);
    return rc;
}


/* ---------- GPUPool ---------- */

static const char *const REQ_KEYS[] = {"node.kubernetes.io/instance-type", "karpenter.k8s.aws/instance-family",
                                       "karpenter.sh/capacity-type", "topology.kubernetes.io/zone",
                                       "gpuscale.dev/gpu-model", "karpenter.k8s.aws/instance-gpu-count", NULL};
static const char *const REQ_OPS[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};
static const char *const EFFECTS[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};

/* Up to 64 catalog names of one kind (type names or families), for suggestions. */
static int catalog_names(const gs_catalog *cat, bool families, const char **names, int max) {
    int n = 0;
    for (int32_t i = 0; i < cat->n && n < max; i++) {
        const char *s = families ? cat->types[i].family : cat->types[i].name;
        bool dup = false;
        for (int j = 0; j < n && !dup; j++) dup = strcmp(names[j], s) == 0;
        if (!dup) names[n++] = s;
    }
    return n;
}

static int req_value(ld *L, gs_requirement *r, const node *v, char *out) {
    int rc = str_into(L, v, out, GS_NAME_LEN);
    if (rc) return rc;
    char b[96], h[96];
    const char *names[256];
    switch (r->key) {
    case GS_KEY_INSTANCE_TYPE:
    case GS_KEY_FAMILY: {
        bool fam = r->key == GS_KEY_FAMILY;
        int n = catalog_names(L->cat, fam, names, 256);
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], out) == 0) return 0;
        return fail(L, v, "unknown instance %s '%s' (not in the catalog)%s", fam ? "family" : "type",
                    show(v, b, sizeof b), hint(out, names, n, h, sizeof h));
    }
    case GS_KEY_CAPACITY_TYPE:
        if (gs_capacity_parse(out) < 0) {
            static const char *const caps[] = {"on-demand", "spot", NULL};
            return fail(L, v, "capacity type must be on-demand or spot, got '%s'%s", show(v, b, sizeof b),
                        hint(out, caps, 2, h, sizeof h));
        }
        return 0;
    case GS_KEY_ZONE:
        for (const char *p = out; *p; p++)
            if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
                return fail(L, v, "'%s' is not a zone name like us-east-1a", show(v, b, sizeof b));
        if (!out[0]) return fail(L, v, "a zone name must not be empty");
        return 0;
    case GS_KEY_GPU_MODEL: {
        int g = gs_gpu_find(out);
        if (g < 0) {
            int nm;
            const gs_gpu_model *ms = gs_gpu_models(&nm);
            for (int i = 0; i < nm && i < 256; i++) names[i] = ms[i].name;
            char all[512];
            join(names, nm, all, sizeof all);
            return fail(L, v, "unknown GPU model '%s' (known: %s)", show(v, b, sizeof b), all);
        }
        snprintf(out, GS_NAME_LEN, "%s", gs_gpu_get(g)->name); /* canonical spelling */
        return 0;
    }
    case GS_KEY_GPU_COUNT: {
        int64_t c;
        return int_of(L, v, 0, GS_NODE_MAX_GPUS, true, &c);
    }
    }
    return 0;
}

static int requirements(ld *L, const node *seq, gs_pool *p) {
    int rc = want(L, seq, GS_YAML_SEQ);
    if (rc) return rc;
    if (seq->n > GS_MAX_REQ) return fail(L, seq, "at most %d requirements", GS_MAX_REQ);
    static const char *const keys[] = {"key", "operator", "values", NULL};
    for (int32_t i = 0; i < seq->n && !rc; i++) {
        const node *e = seq->kids[i];
        size_t o = push_idx(L, i);
        gs_requirement *r = &p->reqs[p->nreqs];
        memset(r, 0, sizeof *r);
        rc = want(L, e, GS_YAML_MAP);
        if (!rc) rc = check_keys(L, e, keys);
        const node *kn = get(e, "key"), *on = get(e, "operator"), *vn = get(e, "values");
        if (!rc && !kn) rc = missing(L, e, "key");
        if (!rc && !on) rc = missing(L, e, "operator");
        int k = 0, op = 0;
        if (!rc) {
            size_t o2 = push(L, "key");
            rc = want(L, kn, GS_YAML_SCALAR);
            if (!rc) {
                int nk = count_names(REQ_KEYS);
                bool found = false;
                for (int j = 0; j < nk && !found; j++)
                    if (strcmp(kn->str, REQ_KEYS[j]) == 0) { k = j; found = true; }
                if (!found) {
                    char b[96], h[128];
                    char all[512];
                    join(REQ_KEYS, nk, all, sizeof all);
                    rc = fail(L, kn, "unsupported requirement key '%s'%s (supported: %s)",
                              show(kn, b, sizeof b), hint(kn->str, REQ_KEYS, nk, h, sizeof h), all);
                }
            }
            pop(L, o2);
        }
        if (!rc) rc = opt_enum(L, e, "operator", REQ_OPS, &op);
        if (!rc) {
            r->key = (gs_req_key)k;
            r->op = (gs_req_op)op;
            bool needs = op == GS_OP_IN || op == GS_OP_NOT_IN;
            if (needs && !vn) rc = missing(L, e, "values");
            else if (!needs && vn && !(vn->kind == GS_YAML_SEQ && vn->n == 0)) {
                size_t o2 = push(L, "values");
                rc = fail(L, vn, "operator %s takes no values", REQ_OPS[op]);
                pop(L, o2);
            } else if (needs) {
                size_t o2 = push(L, "values");
                rc = want(L, vn, GS_YAML_SEQ);
                if (!rc && vn->n == 0) rc = fail(L, vn, "operator %s needs at least one value", REQ_OPS[op]);
                if (!rc && vn->n > GS_MAX_VALUES) rc = fail(L, vn, "at most %d values", GS_MAX_VALUES);
                for (int32_t j = 0; !rc && j < vn->n; j++) {
                    size_t o3 = push_idx(L, j);
                    rc = req_value(L, r, vn->kids[j], r->values[r->nvalues]);
                    if (!rc) r->nvalues++;
                    pop(L, o3);
                }
                pop(L, o2);
            }
        }
        if (!rc) p->nreqs++;
        pop(L, o);
    }
    return rc;
}

static int taints(ld *L, const node *seq, gs_taint *t, int32_t *n) {
    int rc = want(L, seq, GS_YAML_SEQ);
    if (rc) return rc;
    if (seq->n > GS_MAX_TAINTS) return fail(L, seq, "at most %d taints", GS_MAX_TAINTS);
    static const char *const keys[] = {"key", "value", "effect", NULL};
    for (int32_t i = 0; i < seq->n && !rc; i++) {
        const node *e = seq->kids[i];
        size_t o = push_idx(L, i);
        gs_taint *x = &t[*n];
        memset(x, 0, sizeof *x);
        rc = want(L, e, GS_YAML_MAP);
        if (!rc) rc = check_keys(L, e, keys);
        if (!rc) rc = opt_str(L, e, "key", x->key, sizeof x->key, true, NULL);
        if (!rc) rc = opt_str(L, e, "value", x->value, sizeof x->value, false, NULL);
        if (!rc && !get(e, "effect")) rc = missing(L, e, "effect");
        int ef = 0;
        if (!rc) rc = opt_enum(L, e, "effect", EFFECTS, &ef);
        x->effect = (gs_taint_effect)ef;
        if (!rc) (*n)++;
        pop(L, o);
    }
    return rc;
}

/* Both spellings of one field given: say which to keep. */
static int both(ld *L, const node *second, const char *a, const char *b) {
    return failnp(L, second, "'%s' and '%s' are the same field; give only one", a, b);
}

static int pool_template(ld *L, const node *tpl, gs_pool *p, const node **reqs, const node **expire,
                         const node **taints_n) {
    static const char *const tkeys[] = {"metadata", "spec", "labels", "taints", NULL};
    static const char *const mkeys[] = {"labels", "annotations", NULL};
    static const char *const skeys[] = {"requirements", "taints", "expireAfter", NULL};
    int rc = check_keys(L, tpl, tkeys);
    if (rc) return rc;
    const node *md, *sp;
    rc = opt_map(L, tpl, "metadata", &md);
    if (!rc) rc = opt_map(L, tpl, "spec", &sp);
    if (rc) return rc;
    if (md) {
        size_t o = push(L, "metadata");
        rc = check_keys(L, md, mkeys);
        if (!rc) rc = kv_map(L, md, "labels", p->labels, GS_MAX_LABELS, &p->nlabels);
        pop(L, o);
        if (rc) return rc;
        if (get(md, "labels") && get(tpl, "labels"))
            return both(L, get(tpl, "labels"), "spec.template.metadata.labels", "spec.template.labels");
    }
    rc = kv_map(L, tpl, "labels", p->labels, GS_MAX_LABELS, &p->nlabels);
    if (rc) return rc;
    *taints_n = get(tpl, "taints");
    if (sp) {
        size_t o = push(L, "spec");
        rc = check_keys(L, sp, skeys);
        if (!rc && get(sp, "requirements")) {
            if (*reqs) rc = both(L, get(sp, "requirements"), "spec.requirements", "spec.template.spec.requirements");
            else *reqs = get(sp, "requirements");
        }
        if (!rc && get(sp, "expireAfter")) *expire = get(sp, "expireAfter");
        if (!rc && get(sp, "taints")) {
            if (*taints_n) rc = both(L, get(sp, "taints"), "spec.template.taints", "spec.template.spec.taints");
            else *taints_n = get(sp, "taints");
        }
        pop(L, o);
    }
    return rc;
}

/* Does any priced instance type of the catalog fit the pool? Fills the GPU models seen
 * (bit per model index) and the largest GPU count. */
static int pool_types(const ld *L, const gs_pool *p, unsigned *models, int32_t *max_gpus) {
    int n = 0;
    *models = 0;
    *max_gpus = 0;
    for (int32_t i = 0; i < L->cat->n; i++) {
        const gs_itype *t = &L->cat->types[i];
        if (!gs_pool_allows(p, t, GS_CAP_ON_DEMAND, NULL) && !gs_pool_allows(p, t, GS_CAP_SPOT, NULL))
            continue;
        n++;
        if (t->gpu_model >= 0 && t->gpu_model < 32) *models |= 1u << t->gpu_model;
        if (t->gpus > *max_gpus) *max_gpus = t->gpus;
    }
    return n;
}

static void model_list(unsigned models, bool mig_only, char *buf, size_t size) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < 32; i++) {
        if (!(models & (1u << i))) continue;
        const gs_gpu_model *m = gs_gpu_get(i);
        if (!m || (mig_only && !gs_gpu_has_mig(m))) continue;
        int w = snprintf(buf + k, size - k, "%s%s", k ? ", " : "", m->name);
        if (w < 0 || (size_t)w >= size - k) break;
        k += (size_t)w;
    }
    if (!k) snprintf(buf, size, "none");
}

static const char *const SHARE_MODES[] = {"exclusive", "mig", "timeSlicing", "fractional", NULL};

static int pool_sharing(ld *L, const node *sh, gs_pool *p, unsigned models) {
    static const char *const keys[] = {"mode", "mig", "timeSlicing", NULL};
    int rc = check_keys(L, sh, keys);
    if (rc) return rc;
    int mode = GS_SHARE_EXCLUSIVE;
    rc = opt_enum(L, sh, "mode", SHARE_MODES, &mode);
    if (rc) return rc;
    p->sharing = (gs_share_mode)mode;
    const node *mig, *ts;
    rc = opt_map(L, sh, "mig", &mig);
    if (!rc) rc = opt_map(L, sh, "timeSlicing", &ts);
    if (rc) return rc;
    char f[320];
    if (mig && mode != GS_SHARE_MIG)
        return failnp(L, mig, "'%s' is set but sharing.mode is %s (set mode: mig or remove it)",
                      child(L, "mig", f, sizeof f), SHARE_MODES[mode]);
    if (ts && mode != GS_SHARE_TIMESLICING)
        return failnp(L, ts, "'%s' is set but sharing.mode is %s (set mode: timeSlicing or remove it)",
                      child(L, "timeSlicing", f, sizeof f), SHARE_MODES[mode]);
    if (mode == GS_SHARE_MIG) {
        char ml[256];
        unsigned migm = 0;
        for (int i = 0; i < 32; i++)
            if ((models & (1u << i)) && gs_gpu_get(i) && gs_gpu_has_mig(gs_gpu_get(i))) migm |= 1u << i;
        if (!migm) {
            model_list(models, false, ml, sizeof ml);
            const node *mn = get(sh, "mode");
            size_t o = push(L, "mode");
            rc = fail(L, mn ? mn : sh, "mig needs MIG-capable GPUs, but the pool's instance types have %s", ml);
            pop(L, o);
            return rc;
        }
        unsigned nonmig = models & ~migm;
        if (nonmig) {
            model_list(nonmig, false, ml, sizeof ml);
            const node *mn = get(sh, "mode");
            size_t o = push(L, "mode");
            rc = fail(L, mn ? mn : sh, "mig needs MIG-capable GPUs, but the requirements also admit instance types "
                                       "with %s; narrow them (e.g. with gpuscale.dev/gpu-model)", ml);
            pop(L, o);
            return rc;
        }
        if (mig) {
            static const char *const mkeys[] = {"profiles", NULL};
            size_t o = push(L, "mig");
            rc = check_keys(L, mig, mkeys);
            const node *pr = NULL;
            if (!rc) rc = opt_seq(L, mig, "profiles", &pr);
            if (!rc && pr) {
                size_t o2 = push(L, "profiles");
                if (pr->n > GS_MIG_MAX_ALLOWED) rc = fail(L, pr, "at most %d profiles", GS_MIG_MAX_ALLOWED);
                for (int32_t i = 0; !rc && i < pr->n; i++) {
                    size_t o3 = push_idx(L, i);
                    char name[24];
                    rc = str_into(L, pr->kids[i], name, sizeof name);
                    const char *canon = NULL;
                    for (int g = 0; !rc && g < 32 && !canon; g++) {
                        if (!(migm & (1u << g))) continue;
                        const gs_gpu_model *m = gs_gpu_get(g);
                        int k = gs_mig_profile_find(m, name);
                        if (k >= 0) canon = m->profiles[k].name;
                    }
                    if (!rc && !canon) {
                        char b[96];
                        model_list(migm, true, ml, sizeof ml);
                        rc = fail(L, pr->kids[i], "MIG profile '%s' does not exist on the pool's GPUs (%s); "
                                                  "see 'gpuscale mig <model>'", show(pr->kids[i], b, sizeof b), ml);
                    }
                    for (int32_t j = 0; !rc && j < p->n_mig_profiles; j++)
                        if (strcmp(p->mig_profiles[j], canon) == 0) rc = fail(L, pr->kids[i], "profile '%s' is listed twice", canon);
                    if (!rc) snprintf(p->mig_profiles[p->n_mig_profiles++], 24, "%s", canon);
                    pop(L, o3);
                }
                pop(L, o2);
            }
            pop(L, o);
            if (rc) return rc;
        }
    }
    if (mode == GS_SHARE_TIMESLICING) {
        if (!ts) return missing(L, sh, "timeSlicing");
        static const char *const tkeys[] = {"replicas", NULL};
        size_t o = push(L, "timeSlicing");
        rc = check_keys(L, ts, tkeys);
        if (!rc && !get(ts, "replicas")) rc = missing(L, ts, "replicas");
        if (!rc) rc = opt_i32(L, ts, "replicas", 2, 64, &p->ts_replicas);
        pop(L, o);
    }
    return rc;
}

static int pool_disruption(ld *L, const node *d, gs_pool *p, const node **expire) {
    static const char *const keys[] = {"consolidationPolicy", "consolidateAfter", "budgets", "expireAfter", NULL};
    static const char *const pol[] = {"WhenEmpty", "WhenEmptyOrUnderutilized", NULL};
    int rc = check_keys(L, d, keys);
    int cp = (int)p->consolidation;
    if (!rc) rc = opt_enum(L, d, "consolidationPolicy", pol, &cp);
    p->consolidation = (gs_consolidation)cp;
    if (!rc) rc = opt_dur(L, d, "consolidateAfter", 0, GS_HOUR(24 * 365), true, &p->consolidate_after);
    if (!rc && get(d, "expireAfter")) {
        if (*expire) rc = both(L, *expire, "spec.disruption.expireAfter", "spec.template.spec.expireAfter");
        else *expire = get(d, "expireAfter");
    }
    const node *b = NULL;
    if (!rc) rc = opt_seq(L, d, "budgets", &b);
    if (rc || !b) return rc;
    size_t o = push(L, "budgets");
    if (b->n == 0) rc = fail(L, b, "give at least one budget, or leave budgets out for the default 10%%");
    if (b->n > 8) rc = fail(L, b, "at most 8 budgets");
    bool any_pct = false;
    for (int32_t i = 0; !rc && i < b->n; i++) {
        const node *e = b->kids[i];
        size_t o2 = push_idx(L, i);
        static const char *const bkeys[] = {"nodes", NULL};
        rc = want(L, e, GS_YAML_MAP);
        if (!rc) {
            const node *bad = get(e, "schedule") ? get(e, "schedule") : get(e, "reasons") ? get(e, "reasons") : get(e, "duration");
            if (bad) {
                const node *k = NULL;
                for (int32_t j = 0; j < e->n; j += 2) if (e->kids[j + 1] == bad) k = e->kids[j];
                rc = fail(L, k ? k : bad, "scheduled or per-reason disruption budgets are not supported yet; use only 'nodes'");
            }
        }
        if (!rc) rc = check_keys(L, e, bkeys);
        const node *nn = rc ? NULL : get(e, "nodes");
        if (!rc && !nn) rc = missing(L, e, "nodes");
        if (!rc) {
            size_t o3 = push(L, "nodes");
            rc = want(L, nn, GS_YAML_SCALAR);
            if (!rc) {
                char tmp[32], sb[96];
                int64_t v;
                size_t len = nn->len;
                if (len > 1 && len < sizeof tmp && nn->str[len - 1] == '%') {
                    memcpy(tmp, nn->str, len - 1);
                    tmp[len - 1] = '\0';
                    if (!all_digits(tmp) || tmp[0] == '-' || tmp[0] == '+' || gs_parse_int(tmp, 0, 100, &v, NULL))
                        rc = fail(L, nn, "expected a percentage 0%%..100%% or a node count, got '%s'", show(nn, sb, sizeof sb));
                    else if (!any_pct || v < p->disruption_budget_pct) {
                        p->disruption_budget_pct = (int32_t)v;
                        any_pct = true;
                    }
                } else if (all_digits(nn->str) && nn->str[0] != '-' && nn->str[0] != '+' &&
                           gs_parse_int(nn->str, 0, 100000, &v, NULL) == 0) {
                    if (p->disruption_budget_nodes < 0 || v < p->disruption_budget_nodes)
                        p->disruption_budget_nodes = (int32_t)v;
                } else {
                    rc = fail(L, nn, "expected a percentage 0%%..100%% or a node count, got '%s'", show(nn, sb, sizeof sb));
                }
            }
            pop(L, o3);
        }
        pop(L, o2);
    }
    /* only absolute budgets given: no percentage limit on top */
    if (!rc && !any_pct) p->disruption_budget_pct = 100;
    pop(L, o);
    return rc;
}

static int pool_limits(ld *L, const node *lim, gs_pool *p) {
    static const char *const keys[] = {"gpus", "nvidia.com/gpu", "nodes", "pricePerHour", NULL};
    int rc = check_keys(L, lim, keys);
    if (!rc && get(lim, "gpus") && get(lim, "nvidia.com/gpu"))
        rc = both(L, get(lim, "nvidia.com/gpu"), "spec.limits.gpus", "spec.limits.nvidia.com/gpu");
    if (!rc) rc = opt_i32(L, lim, "gpus", 0, 1000000, &p->limit_gpus);
    if (!rc) rc = opt_i32(L, lim, "nvidia.com/gpu", 0, 1000000, &p->limit_gpus);
    if (!rc) rc = opt_i32(L, lim, "nodes", 0, 100000, &p->limit_nodes);
    if (!rc) rc = opt_usd(L, lim, "pricePerHour", &p->limit_usd_per_hour);
    return rc;
}

static int decode_pool(ld *L, const node *spec, gs_pool *p) {
    static const char *const keys[] = {"weight", "requirements", "template", "limits", "sharing", "disruption", NULL};
    p->consolidation = GS_CONSOLIDATE_WHEN_EMPTY_OR_UNDERUTILIZED; /* Karpenter v1 default */
    p->consolidate_after = 0;
    p->disruption_budget_pct = 10;
    p->disruption_budget_nodes = -1;
    p->sharing = GS_SHARE_EXCLUSIVE;
    int rc = check_keys(L, spec, keys);
    if (!rc) rc = opt_i32(L, spec, "weight", 0, 100, &p->weight);
    if (rc) return rc;
    const node *reqs = get(spec, "requirements"), *expire = NULL, *taints_n = NULL, *tpl, *lim, *sh, *dis;
    rc = opt_map(L, spec, "template", &tpl);
    if (!rc && tpl) {
        size_t o = push(L, "template");
        rc = pool_template(L, tpl, p, &reqs, &expire, &taints_n);
        pop(L, o);
    }
    if (!rc && !reqs) rc = missing(L, spec, "requirements");
    if (!rc) {
        /* the path names where they were written */
        bool top = get(spec, "requirements") == reqs;
        size_t o = push(L, top ? "requirements" : "template.spec.requirements");
        rc = requirements(L, reqs, p);
        pop(L, o);
    }
    if (!rc && taints_n) {
        bool in_spec = tpl && get(get(tpl, "spec"), "taints") == taints_n;
        size_t o = push(L, in_spec ? "template.spec.taints" : "template.taints");
        rc = taints(L, taints_n, p->taints, &p->ntaints);
        pop(L, o);
    }
    if (!rc) rc = opt_map(L, spec, "limits", &lim);
    if (!rc && lim) {
        size_t o = push(L, "limits");
        rc = pool_limits(L, lim, p);
        pop(L, o);
    }
    if (!rc) rc = opt_map(L, spec, "disruption", &dis);
    if (!rc && dis) {
        size_t o = push(L, "disruption");
        rc = pool_disruption(L, dis, p, &expire);
        pop(L, o);
    }
    if (!rc && expire) {
        bool in_dis = dis && get(dis, "expireAfter") == expire;
        size_t o = push(L, in_dis ? "disruption.expireAfter" : "template.spec.expireAfter");
        rc = dur_of(L, expire, GS_MIN(1), GS_HOUR(24 * 3650), true, &p->expire_after);
        if (p->expire_after == GS_MS_NEVER) p->expire_after = 0; /* 0 = never */
        pop(L, o);
    }
    if (rc) return rc;
    unsigned models;
    int32_t max_gpus;
    if (pool_types(L, p, &models, &max_gpus) == 0) {
        size_t o = push(L, get(spec, "requirements") == reqs ? "requirements" : "template.spec.requirements");
        rc = fail(L, reqs, "no instance type of the catalog satisfies these requirements "
                           "(with a price for the allowed capacity types)");
        pop(L, o);
        return rc;
    }
    rc = opt_map(L, spec, "sharing", &sh);
    if (!rc && sh) {
        size_t o = push(L, "sharing");
        rc = pool_sharing(L, sh, p, models);
        pop(L, o);
    }
    if (!rc && p->sharing != GS_SHARE_EXCLUSIVE && max_gpus == 0)
        rc = fail(L, get(sh, "mode") ? get(sh, "mode") : sh, "GPU sharing needs GPU instance types, but the requirements admit only CPU types");
    return rc;
}

/* ---------- pod templates ---------- */

static bool is_gpu_resource(const char *k) {
    return strcmp(k, "nvidia.com/gpu") == 0 || strcmp(k, "nvidia.com/gpu.shared") == 0 ||
           strcmp(k, "gpuscale.dev/gpu-milli") == 0 || strncmp(k, "nvidia.com/mig-", 15) == 0;
}

/* Does some GPU model know this MIG profile? Canonicalises name on success. */
static bool mig_profile_known(char *name, size_t size) {
    int nm;
    const gs_gpu_model *ms = gs_gpu_models(&nm);
    for (int i = 0; i < nm; i++) {
        if (!gs_gpu_has_mig(&ms[i])) continue;
        int k = gs_mig_profile_find(&ms[i], name);
        if (k >= 0) {
            snprintf(name, size, "%s", ms[i].profiles[k].name);
            return true;
        }
    }
    return false;
}

static const char *const RESOURCES[] = {"cpu", "memory", "ephemeral-storage", "nvidia.com/gpu",
                                        "nvidia.com/gpu.shared", "gpuscale.dev/gpu-milli",
                                        "nvidia.com/mig-1g.10gb", NULL};

/* One resources.requests or resources.limits map. gpu_key/gpu_node: the GPU entry seen. */
static int resource_map(ld *L, const node *m, gs_mcpu *cpu, gs_mib *mem, gs_gpu_req *gpu,
                        const node **gpu_node, const node **gpu_key) {
    int rc = 0;
    char b[96], sb[96];
    for (int32_t i = 0; i + 1 < m->n && !rc; i += 2) {
        const node *k = m->kids[i], *v = m->kids[i + 1];
        size_t o = push(L, k->str);
        rc = want(L, v, GS_YAML_SCALAR);
        const char *why = "";
        if (rc) {
        } else if (strcmp(k->str, "cpu") == 0) {
            if (gs_parse_cpu(v->str, cpu, &why) || *cpu < 0)
                rc = fail(L, v, "expected a CPU quantity like 500m or 2, got '%s'", show(v, b, sizeof b));
        } else if (strcmp(k->str, "memory") == 0) {
            if (gs_parse_mem(v->str, mem, &why) || *mem < 0)
                rc = fail(L, v, "expected a memory quantity like 512Mi or 16Gi, got '%s'", show(v, b, sizeof b));
        } else if (strcmp(k->str, "ephemeral-storage") == 0) {
            gs_mib tmp;
            if (gs_parse_mem(v->str, &tmp, &why))
                rc = fail(L, v, "expected a storage quantity like 10Gi, got '%s'", show(v, b, sizeof b));
        } else if (is_gpu_resource(k->str)) {
            if (*gpu_key) {
                rc = failnp(L, k, "more than one GPU resource in one pod ('%s' and '%s'); a pod asks for exactly "
                                  "one of nvidia.com/gpu, nvidia.com/mig-<profile>, nvidia.com/gpu.shared, gpuscale.dev/gpu-milli",
                            show(*gpu_key, sb, sizeof sb), show(k, b, sizeof b));
            } else {
                int64_t amount;
                rc = int_of(L, v, 0, 1000000, true, &amount);
                if (!rc && gs_gpu_req_from_resource(k->str, amount, gpu, &why))
                    rc = fail(L, v, "%s, got %s", why, show(v, b, sizeof b));
                if (!rc && gpu->form == GS_GPU_MIG && !mig_profile_known(gpu->mig_profile, sizeof gpu->mig_profile))
                    rc = failnp(L, k, "unknown MIG profile in '%s' (see 'gpuscale mig <model>' for each GPU's profiles)",
                                show(k, b, sizeof b));
                *gpu_key = k;
                *gpu_node = v;
            }
        } else {
            char h[96];
            rc = failnp(L, k, "unknown resource '%s'%s", show(k, b, sizeof b),
                        hint(k->str, RESOURCES, count_names(RESOURCES), h, sizeof h));
        }
        pop(L, o);
    }
    return rc;
}

static int tolerations(ld *L, const node *seq, gs_toleration *tols, int32_t *ntols) {
    int rc = want(L, seq, GS_YAML_SEQ);
    if (rc) return rc;
    if (seq->n > GS_MAX_TAINTS) return fail(L, seq, "at most %d tolerations", GS_MAX_TAINTS);
    static const char *const keys[] = {"key", "operator", "value", "effect", "tolerationSeconds", NULL};
    static const char *const ops[] = {"Equal", "Exists", NULL};
    for (int32_t i = 0; i < seq->n && !rc; i++) {
        const node *e = seq->kids[i];
        size_t o = push_idx(L, i);
        gs_toleration *t = &tols[*ntols];
        memset(t, 0, sizeof *t);
        rc = want(L, e, GS_YAML_MAP);
        if (!rc) rc = check_keys(L, e, keys);
        int op = GS_TOL_EQUAL, ef = -1;
        if (!rc) rc = opt_str(L, e, "key", t->key, sizeof t->key, false, NULL);
        if (!rc) rc = opt_enum(L, e, "operator", ops, &op);
        if (!rc) rc = opt_str(L, e, "value", t->value, sizeof t->value, false, NULL);
        if (!rc && get(e, "effect") && !gs_yaml_is_null(get(e, "effect")) && get(e, "effect")->len)
            rc = opt_enum(L, e, "effect", EFFECTS, &ef);
        if (!rc) {
            int64_t secs;
            bool present;
            rc = opt_int(L, e, "tolerationSeconds", 0, INT32_MAX, &secs, &present);
        }
        if (!rc && op == GS_TOL_EXISTS && t->value[0])
            rc = fail(L, get(e, "value"), "operator Exists takes no value");
        if (!rc && op == GS_TOL_EQUAL && !t->key[0])
            rc = fail(L, e, "operator Equal needs a key");
        t->op = (gs_tol_op)op;
        t->effect = ef;
        if (!rc) (*ntols)++;
        pop(L, o);
    }
    return rc;
}

/* An Environment template's container: image (default GS_ENV_DEFAULT_IMAGE) and command. */
static int env_container(ld *L, const node *tpl, gs_env_workload *w) {
    const node *im = NULL, *cmd = NULL;
    snprintf(w->image, sizeof w->image, "%s", GS_ENV_DEFAULT_IMAGE);
    int rc = opt_str(L, tpl, "image", w->image, sizeof w->image, false, &im);
    if (!rc && im) {
        size_t o = push(L, "image");
        if (!w->image[0]) rc = fail(L, im, "must not be empty");
        for (const char *p = w->image; !rc && *p; p++)
            if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                rc = fail(L, im, "an image reference has no spaces or control characters");
        pop(L, o);
    }
    if (!rc) rc = opt_seq(L, tpl, "command", &cmd);
    if (!rc && cmd) {
        size_t o = push(L, "command");
        if (cmd->n == 0) rc = fail(L, cmd, "give at least one argument, or leave command out (the image's entrypoint)");
        if (!rc && cmd->n > GS_MAX_ENV_COMMAND) rc = fail(L, cmd, "at most %d arguments", GS_MAX_ENV_COMMAND);
        for (int32_t i = 0; !rc && i < cmd->n; i++) {
            size_t o2 = push_idx(L, i);
            rc = str_into(L, cmd->kids[i], w->command[i], sizeof w->command[i]);
            if (!rc) w->ncommand++;
            pop(L, o2);
        }
        pop(L, o);
    }
    return rc;
}

/* A pod template: {resources: {requests, limits}, nodeSelector, tolerations, priority}; an
 * Environment's (w != NULL) also takes image and command. */
static int pod_template(ld *L, const node *tpl, gs_pod_spec *ps, pos *gpu_at, gs_env_workload *w) {
    static const char *const keys[] = {"resources", "nodeSelector", "tolerations", "priority", NULL};
    static const char *const ekeys[] = {"resources", "nodeSelector", "tolerations", "priority", "image", "command", NULL};
    static const char *const rkeys[] = {"requests", "limits", NULL};
    memset(gpu_at, 0, sizeof *gpu_at);
    int rc = want(L, tpl, GS_YAML_MAP);
    if (!rc) rc = check_keys(L, tpl, w ? ekeys : keys);
    if (!rc && w) rc = env_container(L, tpl, w);
    const node *res = NULL, *req = NULL, *lim = NULL;
    if (!rc) rc = opt_map(L, tpl, "resources", &res);
    if (!rc && !res) rc = missing(L, tpl, "resources");
    if (rc) return rc;
    size_t o = push(L, "resources");
    rc = check_keys(L, res, rkeys);
    if (!rc) rc = opt_map(L, res, "requests", &req);
    if (!rc) rc = opt_map(L, res, "limits", &lim);
    if (!rc && !req && !lim) rc = missing(L, res, "requests");
    const node *gk = NULL, *gv = NULL, *lgk = NULL, *lgv = NULL;
    if (!rc && req) {
        size_t o2 = push(L, "requests");
        rc = resource_map(L, req, &ps->cpu, &ps->mem, &ps->gpu, &gv, &gk);
        if (!rc && req->n == 0) rc = fail(L, req, "empty: give at least cpu, memory or a GPU resource");
        pop(L, o2);
    }
    if (!rc && lim) {
        gs_mcpu lcpu = 0;
        gs_mib lmem = 0;
        gs_gpu_req lg;
        memset(&lg, 0, sizeof lg);
        size_t o2 = push(L, "limits");
        rc = resource_map(L, lim, &lcpu, &lmem, &lg, &lgv, &lgk);
        if (!rc && lgk) {
            char b[96];
            if (!gk) {
                ps->gpu = lg; /* Kubernetes: an extended resource's request defaults to its limit */
                gk = lgk;
                gv = lgv;
            } else if (strcmp(gk->str, lgk->str) != 0 || lg.count != ps->gpu.count || lg.milli != ps->gpu.milli) {
                rc = failnp(L, lgk, "GPU limit '%s' differs from the request (Kubernetes requires requests and "
                                    "limits of GPU resources to be equal)", show(lgk, b, sizeof b));
            }
        }
        if (!rc && get(lim, "cpu") && get(req, "cpu") && lcpu < ps->cpu)
            rc = fail(L, get(lim, "cpu"), "cpu limit is below the cpu request");
        if (!rc && get(lim, "memory") && get(req, "memory") && lmem < ps->mem)
            rc = fail(L, get(lim, "memory"), "memory limit is below the memory request");
        pop(L, o2);
    }
    pop(L, o);
    if (rc) return rc;
    if (gk) {
        gpu_at->file = L->fileidx;
        gpu_at->line = gk->line;
        gpu_at->col = gk->col;
    }
    gs_kv sel[GS_MAX_LABELS];
    gs_toleration tols[GS_MAX_TAINTS];
    int32_t nsel = 0, ntols = 0;
    rc = kv_map(L, tpl, "nodeSelector", sel, GS_MAX_LABELS, &nsel);
    const node *tol = NULL;
    if (!rc) rc = opt_seq(L, tpl, "tolerations", &tol);
    if (!rc && tol) {
        size_t o2 = push(L, "tolerations");
        rc = tolerations(L, tol, tols, &ntols);
        pop(L, o2);
    }
    if (!rc) {
        ps->node_selector = sel;
        ps->n_node_selector = nsel;
        ps->tolerations = tols;
        ps->n_tolerations = ntols;
        if (gs_rules_intern(&L->cfg.rules, ps)) rc = fail(L, tpl, "out of memory");
    }
    if (!rc) rc = opt_i32(L, tpl, "priority", -2147483647LL - 1, 1000000000, &ps->priority);
    return rc;
}

/* ---------- triggers ---------- */

/* Metadata key kinds: s string, n number (target/activation, stored x1000 too), i integer,
 * b boolean, u URL, p port, d databaseIndex, P protocol, M mode, I identityOwner. */
typedef struct tkey {
    const char *name;
    char kind;
} tkey;

#define REDIS_COMMON                                                                       \
    {"address", 'u'}, {"host", 's'}, {"port", 'p'}, {"databaseIndex", 'd'}, {"enableTLS", 'b'}, \
    {"unsafeSsl", 'b'}, {"username", 's'}, {"usernameFromEnv", 's'}, {"passwordFromEnv", 's'}, \
    {"passwordFromFile", 's'}, {"passwordFile", 's'}

static const tkey K_REDIS[] = {REDIS_COMMON, {"listName", 's'}, {"listLength", 'n'}, {"activationListLength", 'n'}, {NULL, 0}};
static const tkey K_STREAM[] = {REDIS_COMMON, {"stream", 's'}, {"consumerGroup", 's'},
                                {"pendingEntriesCount", 'n'}, {"streamLength", 'n'}, {"lagCount", 'n'},
                                {"activationPendingEntriesCount", 'n'}, {"activationStreamLength", 'n'},
                                {"activationLagCount", 'n'}, {NULL, 0}};
static const tkey K_RABBIT[] = {{"host", 'u'}, {"hostFromEnv", 's'}, {"protocol", 'P'}, {"queueName", 's'},
                                {"vhostName", 's'}, {"mode", 'M'}, {"value", 'n'}, {"activationValue", 'n'},
                                {"queueLength", 'n'}, {"excludeUnacknowledged", 'b'}, {"unsafeSsl", 'b'},
                                {"caFile", 's'}, {"username", 's'}, {"usernameFromEnv", 's'}, {"passwordFromEnv", 's'},
                                {"passwordFromFile", 's'}, {"passwordFile", 's'}, {NULL, 0}};
static const tkey K_PROM[] = {{"serverAddress", 'u'}, {"query", 's'}, {"threshold", 'n'}, {"activationThreshold", 'n'},
                              {"ignoreNullValues", 'b'}, {"unsafeSsl", 'b'}, {"namespace", 's'}, {"caFile", 's'},
                              {"username", 's'}, {"passwordFromEnv", 's'}, {"passwordFromFile", 's'},
                              {"passwordFile", 's'}, {"bearerTokenFromEnv", 's'}, {"bearerTokenFromFile", 's'},
                              {"bearerTokenFile", 's'}, {NULL, 0}};
static const tkey K_SQS[] = {{"queueURL", 'u'}, {"queueURLFromEnv", 's'}, {"awsRegion", 's'}, {"queueLength", 'n'},
                             {"activationQueueLength", 'n'}, {"awsEndpoint", 'u'}, {"scaleOnInFlight", 'b'},
                             {"scaleOnDelayed", 'b'}, {"identityOwner", 'I'}, {"awsRoleArn", 's'}, {"caFile", 's'},
                             {"awsAccessKeyIDFromEnv", 's'}, {"awsAccessKeyIDFromFile", 's'}, {"awsAccessKeyIDFile", 's'},
                             {"awsSecretAccessKeyFromEnv", 's'}, {"awsSecretAccessKeyFromFile", 's'},
                             {"awsSecretAccessKeyFile", 's'}, {"awsSessionTokenFromEnv", 's'},
                             {"awsSessionTokenFromFile", 's'}, {"awsSessionTokenFile", 's'}, {NULL, 0}};
static const tkey K_SIM[] = {{"queueName", 's'}, {"value", 'n'}, {"activationValue", 'n'}, {NULL, 0}};

static const char *const TRIGGER_TYPES[] = {"redis", "redis-streams", "rabbitmq", "prometheus", "aws-sqs-queue", "simulated", NULL};
static const tkey *const TRIGGER_KEYS[] = {K_REDIS, K_STREAM, K_RABBIT, K_PROM, K_SQS, K_SIM};

/* "2.5" -> 2500; at most 3 decimals, non-negative, at most 10^12. */
static int parse_milli(const char *s, int64_t *out) {
    int64_t v = 0;
    int dec = -1;
    if (!*s) return -1;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (dec >= 0 || p == s || !p[1]) return -1;
            dec = 0;
            continue;
        }
        if (!isdigit((unsigned char)*p)) return -1;
        if (dec >= 0 && ++dec > 3) return -1;
        v = v * 10 + (*p - '0');
        if (v > 1000000000000000LL) return -1;
    }
    for (int d = dec < 0 ? 0 : dec; d < 3; d++) v *= 10;
    if (v > 1000000000000000LL) return -1;
    *out = v;
    return 0;
}

static bool is_secret_key(const char *k) {
    size_t n = strlen(k);
    if ((n > 7 && strcmp(k + n - 7, "FromEnv") == 0) || (n > 4 && strcmp(k + n - 4, "File") == 0)) return false;
    char low[128];
    size_t i;
    for (i = 0; i < n && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)k[i]);
    low[i] = '\0';
    return strstr(low, "password") || strstr(low, "secret") || strstr(low, "token") ||
           strstr(low, "apikey") || strstr(low, "accesskey") || strstr(low, "credential");
}

/* scheme://user:pass@host... */
static bool url_has_userinfo(const char *u) {
    const char *p = strstr(u, "://");
    if (!p) return false;
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    return at != NULL;
}

static bool url_scheme(const char *u, const char *scheme) {
    size_t n = strlen(scheme);
    return strncmp(u, scheme, n) == 0 && strncmp(u + n, "://", 3) == 0 && u[n + 3];
}

static int meta_add(ld *L, const node *at, gs_trigger *t, const char *k, const char *v) {
    if (t->nmeta >= GS_MAX_META) return fail(L, at, "too many metadata entries (at most %d)", GS_MAX_META);
    size_t kl = strlen(k), vl = strlen(v);
    if (kl >= GS_VALUE_LEN || vl >= GS_VALUE_LEN)
        return fail(L, at, "'%s' is too long (at most %d characters)", kl >= GS_VALUE_LEN ? "key" : k, GS_VALUE_LEN - 1);
    memcpy(t->meta[t->nmeta].key, k, kl + 1);
    memcpy(t->meta[t->nmeta].value, v, vl + 1);
    t->nmeta++;
    return 0;
}

static int meta_set_default(ld *L, const node *at, gs_trigger *t, const char *k, const char *v) {
    if (gs_trigger_meta(t, k)) return 0;
    return meta_add(L, at, t, k, v);
}

static int trig_metadata(ld *L, const node *md, gs_trigger *t, const tkey *keys) {
    int rc = 0;
    int nk = 0;
    const char *names[32];
    while (keys[nk].name && nk < 32) { names[nk] = keys[nk].name; nk++; }
    for (int32_t i = 0; i + 1 < md->n && !rc; i += 2) {
        const node *k = md->kids[i], *v = md->kids[i + 1];
        char b[96], h[96], f[320];
        int j;
        for (j = 0; j < nk; j++) if (strcmp(k->str, names[j]) == 0) break;
        if (j == nk) {
            if (is_secret_key(k->str))
                return failnp(L, k, "'%s' would put a secret in the configuration; use %sFromEnv (an environment "
                                    "variable) or %sFromFile (a mounted file) instead",
                              child(L, show(k, b, sizeof b), f, sizeof f), b, b);
            return failnp(L, k, "unknown field '%s' for trigger type %s%s", child(L, show(k, b, sizeof b), f, sizeof f),
                          TRIGGER_TYPES[t->type], hint(k->str, names, nk, h, sizeof h));
        }
        size_t o = push(L, k->str);
        char val[GS_VALUE_LEN];
        rc = str_into(L, v, val, sizeof val);
        int64_t iv;
        if (!rc && !val[0]) rc = fail(L, v, "must not be empty");
        if (!rc) switch (keys[j].kind) {
        case 'n':
            if (parse_milli(val, &iv)) rc = fail(L, v, "expected a non-negative number like 5 or 2.5, got '%s'", show(v, b, sizeof b));
            break;
        case 'p':
            rc = int_of(L, v, 1, 65535, true, &iv);
            break;
        case 'd':
            rc = int_of(L, v, 0, 15, true, &iv);
            break;
        case 'b': {
            bool bv = false;
            rc = bool_of(L, v, true, &bv);
            if (!rc) snprintf(val, sizeof val, "%s", bv ? "true" : "false");
            break;
        }
        case 'u':
            if (url_has_userinfo(val))
                rc = fail(L, v, "credentials in a URL would put a secret in the configuration; use usernameFromEnv "
                                "and passwordFromEnv (or ...FromFile) instead");
            break;
        case 'P': {
            static const char *const pr[] = {"auto", "http", "amqp", NULL};
            int x;
            rc = enum_of(L, v, pr, &x);
            break;
        }
        case 'M': {
            static const char *const mo[] = {"QueueLength", "MessageRate", NULL};
            int x;
            rc = enum_of(L, v, mo, &x);
            break;
        }
        case 'I': {
            static const char *const io[] = {"pod", "operator", NULL};
            int x;
            rc = enum_of(L, v, io, &x);
            break;
        }
        default:
            break;
        }
        if (!rc) rc = meta_add(L, v, t, k->str, val);
        pop(L, o);
    }
    return rc;
}

static int need_meta(ld *L, const node *md, const gs_trigger *t, const char *k) {
    if (gs_trigger_meta(t, k)) return 0;
    char f[320];
    return failnp(L, md, "missing required field '%s' for trigger type %s", child(L, k, f, sizeof f), TRIGGER_TYPES[t->type]);
}

static int one_of(ld *L, const node *md, const gs_trigger *t, const char *a, const char *b) {
    char f[320];
    if (gs_trigger_meta(t, a) && gs_trigger_meta(t, b))
        return failnp(L, get(md, b), "give only one of '%s' and '%s'", child(L, a, f, sizeof f), b);
    if (!gs_trigger_meta(t, a) && !gs_trigger_meta(t, b))
        return failnp(L, md, "missing required field '%s' (or '%s') for trigger type %s", child(L, a, f, sizeof f), b,
                      TRIGGER_TYPES[t->type]);
    return 0;
}

/* Target and activation from the keys that carry them (defaults when absent). */
static int set_target(ld *L, const node *md, gs_trigger *t, const char *tk, int64_t tdef, const char *ak) {
    const char *v = gs_trigger_meta(t, tk);
    t->target_milli = tdef;
    if (v) parse_milli(v, &t->target_milli);
    else if (tdef > 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)(tdef / 1000));
        int rc = meta_add(L, md, t, tk, buf);
        if (rc) return rc;
    }
    if (t->target_milli <= 0) {
        size_t o = push(L, tk);
        int rc = fail(L, get(md, tk) ? get(md, tk) : md, "the target per replica must be greater than 0");
        pop(L, o);
        return rc;
    }
    t->activation_milli = 0;
    const char *a = ak ? gs_trigger_meta(t, ak) : NULL;
    if (a) parse_milli(a, &t->activation_milli);
    return 0;
}

static int trig_post(ld *L, const node *md, gs_trigger *t) {
    int rc = 0;
    char f[320];
    switch (t->type) {
    case GS_TRIG_REDIS_LIST:
    case GS_TRIG_REDIS_STREAM: {
        rc = one_of(L, md, t, "address", "host");
        if (!rc && gs_trigger_meta(t, "port") && !gs_trigger_meta(t, "host"))
            rc = failnp(L, get(md, "port"), "'%s' goes with 'host', not 'address' (write address: host:port)",
                        child(L, "port", f, sizeof f));
        if (!rc && gs_trigger_meta(t, "host")) {
            char addr[2 * GS_VALUE_LEN + 2];
            const char *port = gs_trigger_meta(t, "port");
            snprintf(addr, sizeof addr, "%s:%s", gs_trigger_meta(t, "host"), port ? port : "6379");
            rc = meta_add(L, md, t, "address", addr);
        }
        if (!rc) rc = meta_set_default(L, md, t, "databaseIndex", "0");
        if (!rc) rc = meta_set_default(L, md, t, "enableTLS", "false");
        if (!rc && strcmp(gs_trigger_meta(t, "enableTLS"), "true") == 0) {
            size_t o = push(L, "enableTLS");
            rc = fail(L, get(md, "enableTLS"), "TLS to Redis is not supported (Debian bookworm's hiredis 0.14 has no TLS)");
            pop(L, o);
        }
        if (rc) return rc;
        if (t->type == GS_TRIG_REDIS_LIST) {
            rc = need_meta(L, md, t, "listName");
            if (!rc) rc = set_target(L, md, t, "listLength", 5000, "activationListLength");
            return rc;
        }
        rc = need_meta(L, md, t, "stream");
        if (rc) return rc;
        static const char *const by[] = {"pendingEntriesCount", "streamLength", "lagCount"};
        static const char *const act[] = {"activationPendingEntriesCount", "activationStreamLength", "activationLagCount"};
        int chosen = -1;
        for (int i = 0; i < 3 && !rc; i++) {
            if (!gs_trigger_meta(t, by[i])) continue;
            if (chosen >= 0)
                rc = failnp(L, get(md, by[i]), "give only one of '%s' and '%s'", child(L, by[chosen], f, sizeof f), by[i]);
            chosen = i;
        }
        if (rc) return rc;
        bool group = gs_trigger_meta(t, "consumerGroup") != NULL;
        if (chosen < 0) chosen = group ? 0 : 1; /* KEDA: pending entries with a group, else stream length */
        if (chosen != 1 && !group)
            return failnp(L, get(md, by[chosen]), "'%s' needs 'consumerGroup'", child(L, by[chosen], f, sizeof f));
        for (int i = 0; i < 3; i++)
            if (i != chosen && gs_trigger_meta(t, act[i]))
                return failnp(L, get(md, act[i]), "'%s' does not match the scaling metric %s (use %s)",
                              child(L, act[i], f, sizeof f), by[chosen], act[chosen]);
        rc = meta_add(L, md, t, "scaleBy", by[chosen]);
        if (!rc) rc = set_target(L, md, t, by[chosen], 5000, act[chosen]);
        return rc;
    }
    case GS_TRIG_RABBITMQ: {
        rc = one_of(L, md, t, "host", "hostFromEnv");
        if (!rc) rc = need_meta(L, md, t, "queueName");
        if (rc) return rc;
        const char *proto = gs_trigger_meta(t, "protocol");
        const char *host = gs_trigger_meta(t, "host");
        const node *pn = get(md, "protocol") ? get(md, "protocol") : md;
        if (!proto || strcmp(proto, "auto") == 0) {
            if (!host)
                return failnp(L, pn, "'%s' must be http or amqp when the host comes from hostFromEnv",
                              child(L, "protocol", f, sizeof f));
            proto = (url_scheme(host, "http") || url_scheme(host, "https")) ? "http"
                    : (url_scheme(host, "amqp") || url_scheme(host, "amqps")) ? "amqp" : NULL;
            if (!proto) {
                size_t o = push(L, "host");
                rc = fail(L, get(md, "host"), "expected an http(s):// management URL or an amqp(s):// URL");
                pop(L, o);
                return rc;
            }
        } else if (host) {
            bool ok = strcmp(proto, "http") == 0 ? (url_scheme(host, "http") || url_scheme(host, "https"))
                                                 : (url_scheme(host, "amqp") || url_scheme(host, "amqps"));
            if (!ok) {
                size_t o = push(L, "host");
                rc = fail(L, get(md, "host"), "protocol %s needs a%s URL", proto,
                          strcmp(proto, "http") == 0 ? "n http(s)://" : "n amqp(s)://");
                pop(L, o);
                return rc;
            }
        }
        for (int32_t i = 0; i < t->nmeta; i++)
            if (strcmp(t->meta[i].key, "protocol") == 0) snprintf(t->meta[i].value, GS_VALUE_LEN, "%s", proto);
        if (!gs_trigger_meta(t, "protocol")) rc = meta_add(L, md, t, "protocol", proto);
        if (rc) return rc;
        const char *mode = gs_trigger_meta(t, "mode");
        bool has_val = gs_trigger_meta(t, "value") != NULL, has_ql = gs_trigger_meta(t, "queueLength") != NULL;
        if (has_ql && (mode || has_val))
            return failnp(L, get(md, "queueLength"), "'%s' is the old spelling of mode: QueueLength + value; give only one",
                          child(L, "queueLength", f, sizeof f));
        if (mode && !has_val) return need_meta(L, md, t, "value");
        if (has_val && !mode) return need_meta(L, md, t, "mode");
        if (!mode) {
            mode = "QueueLength";
            rc = meta_add(L, md, t, "mode", mode);
            if (rc) return rc;
        }
        if (strcmp(mode, "MessageRate") == 0 && strcmp(proto, "http") != 0) {
            size_t o = push(L, "mode");
            rc = fail(L, get(md, "mode"), "MessageRate needs the management API (an http(s):// host), not %s", proto);
            pop(L, o);
            return rc;
        }
        if (gs_trigger_meta(t, "excludeUnacknowledged") && strcmp(proto, "http") != 0) {
            size_t o = push(L, "excludeUnacknowledged");
            rc = fail(L, get(md, "excludeUnacknowledged"), "needs the management API (an http(s):// host), not %s", proto);
            pop(L, o);
            return rc;
        }
        return set_target(L, md, t, has_ql ? "queueLength" : "value", 20000, "activationValue");
    }
    case GS_TRIG_PROMETHEUS: {
        rc = need_meta(L, md, t, "serverAddress");
        if (!rc) rc = need_meta(L, md, t, "query");
        if (!rc) rc = need_meta(L, md, t, "threshold");
        if (rc) return rc;
        const char *sa = gs_trigger_meta(t, "serverAddress");
        if (!url_scheme(sa, "http") && !url_scheme(sa, "https")) {
            size_t o = push(L, "serverAddress");
            rc = fail(L, get(md, "serverAddress"), "expected an http:// or https:// URL");
            pop(L, o);
            return rc;
        }
        rc = meta_set_default(L, md, t, "ignoreNullValues", "true");
        if (!rc) rc = set_target(L, md, t, "threshold", 0, "activationThreshold");
        return rc;
    }
    case GS_TRIG_SQS: {
        rc = one_of(L, md, t, "queueURL", "queueURLFromEnv");
        if (rc) return rc;
        const char *u = gs_trigger_meta(t, "queueURL");
        if (!gs_trigger_meta(t, "awsRegion")) {
            /* like the SQS source: the region of https://sqs.<region>.amazonaws.com/... */
            char region[64];
            const char *h = u && strncmp(u, "https://sqs.", 12) == 0 ? u + 12 : NULL;
            size_t rl = h ? strcspn(h, ".") : 0;
            if (h && rl > 0 && rl < sizeof region && strncmp(h + rl, ".amazonaws.com/", 15) == 0) {
                memcpy(region, h, rl);
                region[rl] = '\0';
                rc = meta_add(L, md, t, "awsRegion", region);
                if (rc) return rc;
            } else {
                return failnp(L, md, "missing required field '%s' for trigger type aws-sqs-queue (needed unless the "
                                     "queueURL is https://sqs.<region>.amazonaws.com/...)", child(L, "awsRegion", f, sizeof f));
            }
        }
        if (gs_trigger_meta(t, "awsRoleArn")) {
            size_t o = push(L, "awsRoleArn");
            rc = fail(L, get(md, "awsRoleArn"), "STS AssumeRole is not supported yet; give keys with awsAccessKeyIDFromEnv "
                                                "and awsSecretAccessKeyFromEnv (or ...FromFile), or the AWS_* environment");
            pop(L, o);
            return rc;
        }
        if (u && !url_scheme(u, "https") && !url_scheme(u, "http")) {
            size_t o = push(L, "queueURL");
            rc = fail(L, get(md, "queueURL"), "expected the queue's https:// URL");
            pop(L, o);
            return rc;
        }
        const char *e = gs_trigger_meta(t, "awsEndpoint");
        if (e && !url_scheme(e, "https") && !url_scheme(e, "http")) {
            size_t o = push(L, "awsEndpoint");
            rc = fail(L, get(md, "awsEndpoint"), "expected an http:// or https:// URL");
            pop(L, o);
            return rc;
        }
        rc = meta_set_default(L, md, t, "scaleOnInFlight", "true");
        if (!rc) rc = meta_set_default(L, md, t, "scaleOnDelayed", "false");
        if (!rc) rc = set_target(L, md, t, "queueLength", 5000, "activationQueueLength");
        return rc;
    }
    case GS_TRIG_SIM:
        rc = need_meta(L, md, t, "queueName");
        if (!rc) rc = set_target(L, md, t, "value", 1000, "activationValue");
        return rc;
    }
    return 0;
}

static int trigger(ld *L, const node *e, gs_trigger *t) {
    static const char *const keys[] = {"type", "name", "metricType", "metadata", "authenticationRef", NULL};
    static const char *const mt[] = {"AverageValue", "Value", NULL};
    memset(t, 0, sizeof *t);
    int rc = want(L, e, GS_YAML_MAP);
    if (!rc) rc = check_keys(L, e, keys);
    const node *tn = get(e, "type");
    if (!rc && !tn) rc = missing(L, e, "type");
    if (rc) return rc;
    int ty;
    size_t o = push(L, "type");
    rc = enum_of(L, tn, TRIGGER_TYPES, &ty);
    pop(L, o);
    if (rc) return rc;
    t->type = (gs_trigger_type)ty;
    int m = GS_METRIC_AVERAGE_VALUE;
    rc = opt_enum(L, e, "metricType", mt, &m);
    t->metric_type = (gs_metric_type)m;
    const node *nn;
    if (!rc) rc = opt_str(L, e, "name", t->name, sizeof t->name, false, &nn);
    const node *ar = NULL, *md = NULL;
    if (!rc) rc = opt_map(L, e, "authenticationRef", &ar);
    if (!rc && ar) {
        static const char *const akeys[] = {"name", "kind", NULL};
        size_t o2 = push(L, "authenticationRef");
        char name[GS_NAME_LEN], kind[GS_NAME_LEN];
        const node *an;
        rc = check_keys(L, ar, akeys);
        if (!rc) rc = name_field(L, ar, "name", name, true, &an);
        if (!rc) rc = opt_str(L, ar, "kind", kind, sizeof kind, false, NULL);
        pop(L, o2);
        if (!rc) rc = meta_add(L, ar, t, "authenticationRef", name);
    }
    if (!rc) rc = opt_map(L, e, "metadata", &md);
    if (!rc && !md) rc = missing(L, e, "metadata");
    if (rc) return rc;
    o = push(L, "metadata");
    rc = trig_metadata(L, md, t, TRIGGER_KEYS[ty]);
    if (!rc) rc = trig_post(L, md, t);
    pop(L, o);
    return rc;
}

/* ---------- QueueScaler ---------- */

static int hpa_window(ld *L, const node *adv, gs_scaler *s) {
    static const char *const akeys[] = {"horizontalPodAutoscalerConfig", NULL};
    static const char *const hkeys[] = {"behavior", NULL};
    static const char *const bkeys[] = {"scaleUp", "scaleDown", NULL};
    static const char *const wkeys[] = {"stabilizationWindowSeconds", NULL};
    int rc = check_keys(L, adv, akeys);
    const node *h = NULL, *b = NULL;
    if (!rc) rc = opt_map(L, adv, "horizontalPodAutoscalerConfig", &h);
    if (rc || !h) return rc;
    size_t o = push(L, "horizontalPodAutoscalerConfig");
    rc = check_keys(L, h, hkeys);
    if (!rc) rc = opt_map(L, h, "behavior", &b);
    if (!rc && b) {
        size_t o2 = push(L, "behavior");
        rc = check_keys(L, b, bkeys);
        for (int i = 0; i < 2 && !rc; i++) {
            const char *dir = bkeys[i];
            const node *d;
            rc = opt_map(L, b, dir, &d);
            if (rc || !d) continue;
            size_t o3 = push(L, dir);
            rc = check_keys(L, d, wkeys);
            int64_t secs;
            bool present;
            if (!rc) rc = opt_int(L, d, "stabilizationWindowSeconds", 0, 3600, &secs, &present);
            if (!rc && present) *(i == 0 ? &s->stabilize_up : &s->stabilize_down) = secs * 1000;
            pop(L, o3);
        }
        pop(L, o2);
    }
    pop(L, o);
    return rc;
}

static int add_def(ld *L, const deferred *d) {
    if (gs_array_grow((void **)&L->defs, &L->cap_defs, sizeof *L->defs, L->ndefs + 1))
        return gs_error_set(L->err, GS_ENOMEM, "out of memory");
    L->defs[L->ndefs++] = *d;
    return 0;
}

static pos pos_of(const ld *L, const node *n) {
    pos p;
    p.file = L->fileidx;
    p.line = n ? n->line : 0;
    p.col = n ? n->col : 0;
    return p;
}

static int decode_scaler(ld *L, const node *spec, gs_scaler *s, deferred *d) {
    static const char *const keys[] = {"scaleTargetRef", "project", "pool", "pollingInterval", "cooldownPeriod",
                                       "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback",
                                       "advanced", "template", "triggers", NULL};
    static const char *const tkinds[] = {"Deployment", "StatefulSet", "Job", NULL};
    s->polling_interval = GS_SEC(1);
    s->cooldown_period = GS_SEC(300);
    s->min_replicas = 0;
    s->max_replicas = 100;
    s->idle_replicas = -1;
    s->stabilize_up = 0;
    s->stabilize_down = GS_SEC(300);
    int rc = check_keys(L, spec, keys);
    const node *ref = NULL, *pn = NULL, *fb = NULL, *adv = NULL, *tpl = NULL, *tr = NULL;
    if (!rc) rc = opt_map(L, spec, "scaleTargetRef", &ref);
    if (!rc && !ref) rc = missing(L, spec, "scaleTargetRef");
    if (!rc) {
        static const char *const rkeys[] = {"apiVersion", "kind", "name", NULL};
        size_t o = push(L, "scaleTargetRef");
        int k = GS_TARGET_DEPLOYMENT;
        char apiv[GS_NAME_LEN];
        const node *nn;
        rc = check_keys(L, ref, rkeys);
        if (!rc) rc = opt_str(L, ref, "apiVersion", apiv, sizeof apiv, false, NULL);
        if (!rc) rc = opt_enum(L, ref, "kind", tkinds, &k);
        if (!rc) rc = name_field(L, ref, "name", s->target_name, true, &nn);
        s->target_kind = (gs_target_kind)k;
        pop(L, o);
    }
    const node *projn;
    if (!rc) rc = name_field(L, spec, "project", s->project, false, &projn);
    if (!rc && !projn) snprintf(s->project, sizeof s->project, "%s", s->ns);
    if (!rc) rc = name_field(L, spec, "pool", s->pool, false, &pn);
    if (!rc) rc = opt_dur(L, spec, "pollingInterval", (gs_ms)100, GS_HOUR(1), false, &s->polling_interval);
    if (!rc) rc = opt_dur(L, spec, "cooldownPeriod", 0, GS_HOUR(24), false, &s->cooldown_period);
    if (!rc) rc = opt_i32(L, spec, "minReplicaCount", 0, 100000, &s->min_replicas);
    if (!rc) rc = opt_i32(L, spec, "maxReplicaCount", 1, 100000, &s->max_replicas);
    if (!rc) rc = opt_i32(L, spec, "idleReplicaCount", 0, 100000, &s->idle_replicas);
    if (!rc && s->min_replicas > s->max_replicas)
        rc = failnp(L, get(spec, "minReplicaCount"), "spec.minReplicaCount (%d) is greater than spec.maxReplicaCount (%d)",
                    (int)s->min_replicas, (int)s->max_replicas);
    if (!rc && s->idle_replicas >= 0 && s->idle_replicas >= s->min_replicas)
        rc = failnp(L, get(spec, "idleReplicaCount"), "spec.idleReplicaCount (%d) must be less than spec.minReplicaCount (%d) (KEDA)",
                    (int)s->idle_replicas, (int)s->min_replicas);
    if (!rc) rc = opt_map(L, spec, "fallback", &fb);
    if (!rc && fb) {
        static const char *const fkeys[] = {"failureThreshold", "replicas", NULL};
        size_t o = push(L, "fallback");
        rc = check_keys(L, fb, fkeys);
        if (!rc && !get(fb, "failureThreshold")) rc = missing(L, fb, "failureThreshold");
        if (!rc && !get(fb, "replicas")) rc = missing(L, fb, "replicas");
        if (!rc) rc = opt_i32(L, fb, "failureThreshold", 1, 1000, &s->fallback_failures);
        if (!rc) rc = opt_i32(L, fb, "replicas", 0, 100000, &s->fallback_replicas);
        if (!rc && s->fallback_replicas > s->max_replicas)
            rc = fail(L, get(fb, "replicas"), "fallback replicas (%d) exceed maxReplicaCount (%d)",
                      (int)s->fallback_replicas, (int)s->max_replicas);
        pop(L, o);
    }
    if (!rc) rc = opt_map(L, spec, "advanced", &adv);
    if (!rc && adv) {
        size_t o = push(L, "advanced");
        rc = hpa_window(L, adv, s);
        pop(L, o);
    }
    if (!rc) rc = opt_map(L, spec, "template", &tpl);
    if (!rc && !tpl) s->pod_from_target = true;
    if (!rc && tpl) {
        size_t o = push(L, "template");
        rc = pod_template(L, tpl, &s->pod, &d->gpu_at, NULL);
        pop(L, o);
    }
    if (!rc) rc = opt_seq(L, spec, "triggers", &tr);
    if (!rc && !tr) rc = missing(L, spec, "triggers");
    if (!rc) {
        size_t o = push(L, "triggers");
        if (tr->n == 0) rc = fail(L, tr, "at least one trigger is required");
        if (!rc && tr->n > GS_MAX_TRIGGERS) rc = fail(L, tr, "at most %d triggers", GS_MAX_TRIGGERS);
        for (int32_t i = 0; !rc && i < tr->n; i++) {
            size_t o2 = push_idx(L, i);
            rc = trigger(L, tr->kids[i], &s->triggers[i]);
            if (!rc) s->ntriggers++;
            for (int32_t j = 0; !rc && j < i; j++)
                if (s->triggers[i].name[0] && strcmp(s->triggers[i].name, s->triggers[j].name) == 0) {
                    size_t o3 = push(L, "name");
                    rc = fail(L, get(tr->kids[i], "name"), "trigger name '%s' is used twice", s->triggers[i].name);
                    pop(L, o3);
                }
            pop(L, o2);
        }
        pop(L, o);
    }
    if (!rc) {
        d->is_env = false;
        d->w = -1;
        d->pool_at = pos_of(L, pn);
    }
    return rc;
}

/* ---------- Budget ---------- */

static int timezone_ok(const char *tz) {
    if (strcmp(tz, "UTC") == 0) return 1;
    if (!tz[0] || tz[0] == '/' || strstr(tz, "..")) return 0;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p)) return 0;
    char path[GS_NAME_LEN + 32];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int decode_budget(ld *L, const node *spec, gs_budget *b) {
    static const char *const keys[] = {"project", "timezone", "limits", "enforce", "onExceeded", "alerts", NULL};
    static const char *const enf[] = {"hard", "soft", NULL};
    static const char *const onx[] = {"block", "scaleToMin", "alert", NULL};
    snprintf(b->timezone, sizeof b->timezone, "UTC");
    b->enforce = GS_ENFORCE_HARD;
    b->on_exceeded = GS_ON_EXCEEDED_BLOCK;
    b->webhook_retries = 3;
    int rc = check_keys(L, spec, keys);
    const node *pn, *tz, *lim = NULL, *al = NULL;
    if (!rc) rc = name_field(L, spec, "project", b->project, true, &pn);
    if (!rc) rc = opt_str(L, spec, "timezone", b->timezone, sizeof b->timezone, false, &tz);
    if (!rc && tz && !timezone_ok(b->timezone)) {
        size_t o = push(L, "timezone");
        char s[96];
        rc = fail(L, tz, "unknown time zone '%s' (an IANA name like Europe/Berlin, as in /usr/share/zoneinfo)",
                  show(tz, s, sizeof s));
        pop(L, o);
    }
    if (!rc) rc = opt_map(L, spec, "limits", &lim);
    if (!rc && !lim) rc = missing(L, spec, "limits");
    if (!rc) {
        static const char *const lkeys[] = {"perHour", "perDay", "perMonth", NULL};
        size_t o = push(L, "limits");
        rc = check_keys(L, lim, lkeys);
        if (!rc) rc = opt_usd(L, lim, "perHour", &b->per_hour);
        if (!rc) rc = opt_usd(L, lim, "perDay", &b->per_day);
        if (!rc) rc = opt_usd(L, lim, "perMonth", &b->per_month);
        if (!rc && b->per_hour == 0 && b->per_day == 0 && b->per_month == 0)
            rc = fail(L, lim, "a budget needs at least one limit above 0 (perHour, perDay or perMonth)");
        pop(L, o);
    }
    int e = (int)b->enforce, x = (int)b->on_exceeded;
    if (!rc) rc = opt_enum(L, spec, "enforce", enf, &e);
    if (!rc) rc = opt_enum(L, spec, "onExceeded", onx, &x);
    b->enforce = (gs_enforce)e;
    b->on_exceeded = (gs_on_exceeded)x;
    if (!rc) rc = opt_map(L, spec, "alerts", &al);
    if (!rc && !al) {
        static const int32_t def[] = {50, 80, 100};
        for (int i = 0; i < 3; i++) b->alert_pct[i] = def[i];
        b->nalerts = 3;
    }
    if (!rc && al) {
        static const char *const akeys[] = {"thresholds", "webhook", NULL};
        size_t o = push(L, "alerts");
        const node *th = NULL, *wh = NULL;
        rc = check_keys(L, al, akeys);
        if (!rc) rc = opt_seq(L, al, "thresholds", &th);
        if (!rc && th) {
            size_t o2 = push(L, "thresholds");
            if (th->n > GS_MAX_ALERTS) rc = fail(L, th, "at most %d thresholds", GS_MAX_ALERTS);
            for (int32_t i = 0; !rc && i < th->n; i++) {
                size_t o3 = push_idx(L, i);
                int64_t v;
                rc = int_of(L, th->kids[i], 1, 1000, false, &v);
                if (!rc && i > 0 && v <= b->alert_pct[i - 1])
                    rc = fail(L, th->kids[i], "thresholds must increase (%lld after %d)", (long long)v, (int)b->alert_pct[i - 1]);
                if (!rc) b->alert_pct[b->nalerts++] = (int32_t)v;
                pop(L, o3);
            }
            pop(L, o2);
        }
        if (!rc) rc = opt_map(L, al, "webhook", &wh);
        if (!rc && wh) {
            static const char *const wkeys[] = {"url", "retries", NULL};
            size_t o2 = push(L, "webhook");
            const node *un;
            rc = check_keys(L, wh, wkeys);
            if (!rc) rc = opt_str(L, wh, "url", b->webhook_url, sizeof b->webhook_url, true, &un);
            if (!rc && !url_scheme(b->webhook_url, "http") && !url_scheme(b->webhook_url, "https")) {
                size_t o3 = push(L, "url");
                rc = fail(L, un, "expected an http:// or https:// URL");
                pop(L, o3);
            }
            if (!rc && url_has_userinfo(b->webhook_url)) {
                size_t o3 = push(L, "url");
                rc = fail(L, un, "credentials in a URL would put a secret in the configuration");
                pop(L, o3);
            }
            if (!rc) rc = opt_i32(L, wh, "retries", 0, 10, &b->webhook_retries);
            pop(L, o2);
        }
        pop(L, o);
    }
    return rc;
}

/* ---------- Environment ---------- */

static int decode_env(ld *L, const node *spec, gs_environment *e) {
    static const char *const keys[] = {"project", "pool", "ttl", "deleteWhen", "workloads", "job", NULL};
    static const char *const dw[] = {"never", "succeeded", "finished", NULL};
    e->delete_when = GS_DELETE_NEVER;
    int rc = check_keys(L, spec, keys);
    const node *projn, *pn = NULL, *ws = NULL, *job = NULL;
    if (!rc) rc = name_field(L, spec, "project", e->project, false, &projn);
    if (!rc && !projn) snprintf(e->project, sizeof e->project, "%s", e->ns);
    if (!rc) rc = name_field(L, spec, "pool", e->pool, false, &pn);
    if (!rc) rc = opt_dur(L, spec, "ttl", GS_SEC(1), GS_HOUR(24 * 90), false, &e->ttl);
    int d = GS_DELETE_NEVER;
    if (!rc) rc = opt_enum(L, spec, "deleteWhen", dw, &d);
    /* the enum's order differs from the list above */
    e->delete_when = d == 0 ? GS_DELETE_NEVER : d == 1 ? GS_DELETE_SUCCEEDED : GS_DELETE_FINISHED;
    if (!rc) rc = opt_seq(L, spec, "workloads", &ws);
    if (!rc) rc = opt_map(L, spec, "job", &job);
    if (rc) return rc;
    if (ws && job) return failnp(L, job, "give either spec.workloads or spec.job, not both");
    if (!ws && !job) return missing(L, spec, "workloads");
    if (ws) {
        size_t o = push(L, "workloads");
        if (ws->n == 0) rc = fail(L, ws, "at least one workload is required");
        if (!rc && ws->n > GS_MAX_ENV_WORKLOADS) rc = fail(L, ws, "at most %d workloads", GS_MAX_ENV_WORKLOADS);
        static const char *const wkeys[] = {"name", "replicas", "template", NULL};
        for (int32_t i = 0; !rc && i < ws->n; i++) {
            const node *w = ws->kids[i];
            gs_env_workload *x = &e->workloads[i];
            size_t o2 = push_idx(L, i);
            const node *nn, *tpl = NULL;
            deferred df;
            memset(&df, 0, sizeof df);
            x->replicas = 1;
            rc = want(L, w, GS_YAML_MAP);
            if (!rc) rc = check_keys(L, w, wkeys);
            if (!rc) rc = name_field(L, w, "name", x->name, true, &nn);
            for (int32_t j = 0; !rc && j < i; j++)
                if (strcmp(e->workloads[j].name, x->name) == 0) {
                    size_t o3 = push(L, "name");
                    rc = fail(L, nn, "workload name '%s' is used twice", x->name);
                    pop(L, o3);
                }
            if (!rc) rc = opt_i32(L, w, "replicas", 1, 10000, &x->replicas);
            if (!rc) rc = opt_map(L, w, "template", &tpl);
            if (!rc && !tpl) rc = missing(L, w, "template");
            if (!rc) {
                size_t o3 = push(L, "template");
                rc = pod_template(L, tpl, &x->pod, &df.gpu_at, x);
                pop(L, o3);
            }
            if (!rc) {
                e->nworkloads++;
                df.is_env = true;
                df.w = i;
                df.pool_at = pos_of(L, pn);
                rc = add_def(L, &df); /* idx filled by the caller */
            }
            pop(L, o2);
        }
        pop(L, o);
        if (!rc && e->delete_when != GS_DELETE_NEVER)
            rc = failnp(L, get(spec, "deleteWhen"), "spec.deleteWhen: %s needs a spec.job (services never finish)", dw[d]);
    } else {
        static const char *const jkeys[] = {"template", "parallelism", "runFor", NULL};
        size_t o = push(L, "job");
        gs_env_workload *x = &e->workloads[0];
        const node *tpl = NULL;
        deferred df;
        memset(&df, 0, sizeof df);
        snprintf(x->name, sizeof x->name, "%s", e->name);
        x->replicas = 1;
        e->is_job = true;
        rc = check_keys(L, job, jkeys);
        if (!rc) rc = opt_i32(L, job, "parallelism", 1, 10000, &x->replicas);
        if (!rc) rc = opt_dur(L, job, "runFor", GS_SEC(1), GS_HOUR(24 * 30), false, &x->run_for);
        if (!rc) rc = opt_map(L, job, "template", &tpl);
        if (!rc && !tpl) rc = missing(L, job, "template");
        if (!rc) {
            size_t o3 = push(L, "template");
            rc = pod_template(L, tpl, &x->pod, &df.gpu_at, x);
            pop(L, o3);
        }
        if (!rc) {
            e->nworkloads = 1;
            df.is_env = true;
            df.w = 0;
            df.pool_at = pos_of(L, pn);
            rc = add_def(L, &df);
        }
        pop(L, o);
    }
    if (!rc && e->ttl == 0 && e->delete_when == GS_DELETE_NEVER)
        rc = failnp(L, spec, "an Environment needs spec.ttl or spec.deleteWhen (succeeded|finished); otherwise it never goes away");
    return rc;
}

/* ---------- documents ---------- */

static const char *const KINDS[] = {"GPUPool", "QueueScaler", "Budget", "Environment", NULL};

static int dup_error(ld *L, const node *at, const char *kind, const char *ns, const char *name, const pos *first) {
    char where[GS_ERROR_FILE_MAX + 32];
    if (L->api) snprintf(where, sizeof where, "%s", L->srcs[first->file].name);
    else
        snprintf(where, sizeof where, "%s:%d:%d", L->srcs[first->file].name ? L->srcs[first->file].name : "<string>",
                 first->line, first->col);
    if (ns)
        return failnp(L, at, "duplicate %s '%s' in namespace '%s' (first defined at %s)", kind, name, ns, where);
    return failnp(L, at, "duplicate %s '%s' (first defined at %s)", kind, name, where);
}

static int document(ld *L, const node *doc) {
    static const char *const keys[] = {"apiVersion", "kind", "metadata", "spec", NULL};
    static const char *const mkeys[] = {"name", "namespace", "labels", "annotations", NULL};
    L->obj[0] = '\0';
    L->plen = 0;
    L->path[0] = '\0';
    if (doc->kind != GS_YAML_MAP)
        return failnp(L, doc, "expected a mapping with apiVersion, kind, metadata and spec, got %s", gs_yaml_kind_name(doc));
    int rc = check_keys(L, doc, keys);
    if (rc) return rc;
    const node *av = get(doc, "apiVersion"), *kn = get(doc, "kind"), *md = NULL, *spec = NULL;
    if (!av) return missing(L, doc, "apiVersion");
    rc = want(L, av, GS_YAML_SCALAR);
    if (rc) return rc;
    char b[96];
    if (strcmp(av->str, GS_CONFIG_API_VERSION) != 0)
        return failnp(L, av, "unsupported apiVersion '%s' (expected %s)", show(av, b, sizeof b), GS_CONFIG_API_VERSION);
    if (!kn) return missing(L, doc, "kind");
    int kind;
    size_t o = push(L, "kind");
    rc = want(L, kn, GS_YAML_SCALAR);
    if (!rc) {
        int nk = count_names(KINDS);
        kind = -1;
        for (int i = 0; i < nk; i++) if (strcmp(kn->str, KINDS[i]) == 0) kind = i;
        if (kind < 0) {
            char h[96];
            rc = failnp(L, kn, "unknown kind '%s'%s; gpuscale reads GPUPool, QueueScaler, Budget and Environment",
                        show(kn, b, sizeof b), hint(kn->str, KINDS, nk, h, sizeof h));
        }
    }
    pop(L, o);
    if (rc) return rc;
    rc = opt_map(L, doc, "metadata", &md);
    if (!rc && !md) rc = missing(L, doc, "metadata");
    if (rc) return rc;
    char name[GS_NAME_LEN], ns[GS_NAME_LEN];
    const node *nn, *nsn;
    o = push(L, "metadata");
    rc = check_keys(L, md, mkeys);
    if (!rc) rc = name_field(L, md, "name", name, true, &nn);
    ns[0] = '\0';
    if (!rc) rc = name_field(L, md, "namespace", ns, false, &nsn);
    bool cluster_scoped = kind == 0 || kind == 2;
    if (!rc && nsn && cluster_scoped)
        rc = failnp(L, nsn, "%s is cluster-scoped: remove metadata.namespace%s", KINDS[kind],
                    kind == 2 ? " (spec.project names the project it limits)" : "");
    if (!rc && !nsn) snprintf(ns, sizeof ns, "default");
    if (!rc) {
        gs_kv tmp[GS_MAX_LABELS];
        int32_t nt = 0;
        rc = kv_map(L, md, "labels", tmp, GS_MAX_LABELS, &nt);
        const node *an;
        if (!rc) rc = opt_map(L, md, "annotations", &an);
    }
    pop(L, o);
    if (rc) return rc;
    snprintf(L->obj, sizeof L->obj, "%s '%s'", KINDS[kind], name);
    rc = opt_map(L, doc, "spec", &spec);
    if (!rc && !spec) rc = missing(L, doc, "spec");
    if (rc) return rc;
    gs_config *c = &L->cfg;
    pos at = pos_of(L, nn);
    o = push(L, "spec");
    switch (kind) {
    case 0: {
        for (int32_t i = 0; i < c->npools; i++)
            if (strcmp(c->pools[i].name, name) == 0) { rc = dup_error(L, nn, "GPUPool", NULL, name, &L->pool_pos[i]); break; }
        if (!rc && c->npools >= GS_CONFIG_MAX_OBJECTS) rc = failnp(L, nn, "too many GPUPools (max %d)", GS_CONFIG_MAX_OBJECTS);
        if (!rc && gs_array_grow((void **)&c->pools, &L->cap_pools, sizeof *c->pools, c->npools + 1))
            rc = gs_error_set(L->err, GS_ENOMEM, "out of memory");
        if (rc) break;
        gs_pool *p = &c->pools[c->npools];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", name);
        p->line = nn->line;
        p->file = L->fileidx;
        rc = decode_pool(L, spec, p);
        if (!rc) {
            pos *np = realloc(L->pool_pos, (size_t)(c->npools + 1) * sizeof *np);
            if (!np) { rc = gs_error_set(L->err, GS_ENOMEM, "out of memory"); break; }
            L->pool_pos = np;
            L->pool_pos[c->npools++] = at;
        }
        break;
    }
    case 1: {
        for (int32_t i = 0; i < c->nscalers; i++)
            if (strcmp(c->scalers[i].name, name) == 0 && strcmp(c->scalers[i].ns, ns) == 0) {
                rc = dup_error(L, nn, "QueueScaler", ns, name, &L->scaler_pos[i]);
                break;
            }
        if (!rc && c->nscalers >= GS_CONFIG_MAX_OBJECTS) rc = failnp(L, nn, "too many QueueScalers (max %d)", GS_CONFIG_MAX_OBJECTS);
        if (!rc && gs_array_grow((void **)&c->scalers, &L->cap_scalers, sizeof *c->scalers, c->nscalers + 1))
            rc = gs_error_set(L->err, GS_ENOMEM, "out of memory");
        if (rc) break;
        gs_scaler *s = &c->scalers[c->nscalers];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->ns, sizeof s->ns, "%s", ns);
        s->line = nn->line;
        s->file = L->fileidx;
        deferred d;
        memset(&d, 0, sizeof d);
        rc = decode_scaler(L, spec, s, &d);
        if (!rc) {
            d.idx = c->nscalers;
            rc = add_def(L, &d);
        }
        if (!rc) {
            pos *np = realloc(L->scaler_pos, (size_t)(c->nscalers + 1) * sizeof *np);
            if (!np) { rc = gs_error_set(L->err, GS_ENOMEM, "out of memory"); break; }
            L->scaler_pos = np;
            L->scaler_pos[c->nscalers++] = at;
        }
        break;
    }
    case 2: {
        for (int32_t i = 0; i < c->nbudgets; i++)
            if (strcmp(c->budgets[i].name, name) == 0) { rc = dup_error(L, nn, "Budget", NULL, name, &L->budget_pos[i]); break; }
        if (!rc && c->nbudgets >= GS_CONFIG_MAX_OBJECTS) rc = failnp(L, nn, "too many Budgets (max %d)", GS_CONFIG_MAX_OBJECTS);
        if (!rc && gs_array_grow((void **)&c->budgets, &L->cap_budgets, sizeof *c->budgets, c->nbudgets + 1))
            rc = gs_error_set(L->err, GS_ENOMEM, "out of memory");
        if (rc) break;
        gs_budget *bg = &c->budgets[c->nbudgets];
        memset(bg, 0, sizeof *bg);
        snprintf(bg->name, sizeof bg->name, "%s", name);
        bg->line = nn->line;
        bg->file = L->fileidx;
        rc = decode_budget(L, spec, bg);
        for (int32_t i = 0; !rc && i < c->nbudgets; i++)
            if (strcmp(c->budgets[i].project, bg->project) == 0) {
                char where[GS_ERROR_FILE_MAX + 32];
                const pos *f = &L->budget_pos[i];
                if (L->api) snprintf(where, sizeof where, "%s", L->srcs[f->file].name);
                else snprintf(where, sizeof where, "%s:%d:%d", L->srcs[f->file].name, f->line, f->col);
                rc = fail(L, get(spec, "project"), "project '%s' already has Budget '%s' (at %s); one Budget per project",
                          bg->project, c->budgets[i].name, where);
            }
        if (!rc) {
            pos *np = realloc(L->budget_pos, (size_t)(c->nbudgets + 1) * sizeof *np);
            if (!np) { rc = gs_error_set(L->err, GS_ENOMEM, "out of memory"); break; }
            L->budget_pos = np;
            L->budget_pos[c->nbudgets++] = at;
        }
        break;
    }
    case 3: {
        for (int32_t i = 0; i < c->nenvs; i++)
            if (strcmp(c->envs[i].name, name) == 0 && strcmp(c->envs[i].ns, ns) == 0) {
                rc = dup_error(L, nn, "Environment", ns, name, &L->env_pos[i]);
                break;
            }
        if (!rc && c->nenvs >= GS_CONFIG_MAX_OBJECTS) rc = failnp(L, nn, "too many Environments (max %d)", GS_CONFIG_MAX_OBJECTS);
        if (!rc && gs_array_grow((void **)&c->envs, &L->cap_envs, sizeof *c->envs, c->nenvs + 1))
            rc = gs_error_set(L->err, GS_ENOMEM, "out of memory");
        if (rc) break;
        gs_environment *e = &c->envs[c->nenvs];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        snprintf(e->ns, sizeof e->ns, "%s", ns);
        e->line = nn->line;
        e->file = L->fileidx;
        int32_t first_def = L->ndefs;
        rc = decode_env(L, spec, e);
        for (int32_t i = first_def; !rc && i < L->ndefs; i++) L->defs[i].idx = c->nenvs;
        if (!rc) {
            pos *np = realloc(L->env_pos, (size_t)(c->nenvs + 1) * sizeof *np);
            if (!np) { rc = gs_error_set(L->err, GS_ENOMEM, "out of memory"); break; }
            L->env_pos = np;
            L->env_pos[c->nenvs++] = at;
        }
        break;
    }
    default:
        break;
    }
    pop(L, o);
    return rc;
}

/* ---------- references between objects ---------- */

static int errat(ld *L, const pos *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errat(ld *L, const pos *p, const char *fmt, ...) {
    const char *file = L->srcs[p->file].name ? L->srcs[p->file].name : "<string>";
    va_list ap;
    va_start(ap, fmt);
    int rc;
    if (L->api) { /* "Kind 'name': rest" -> "rest": the source name already names the object */
        char msg[GS_ERROR_MSG_MAX];
        vsnprintf(msg, sizeof msg, fmt, ap);
        const char *q = strchr(msg, '\'');
        const char *rest = q ? strstr(q + 1, "': ") : NULL;
        rc = gs_error_setpos(L->err, GS_EINVAL, file, 0, 0, "%s", rest ? rest + 3 : msg);
    } else {
        rc = gs_error_vsetpos(L->err, GS_EINVAL, file, p->line, p->col, fmt, ap);
    }
    va_end(ap);
    return rc;
}

static const char *const RES_NAMES[] = {"", "nvidia.com/gpu", "nvidia.com/mig-", "nvidia.com/gpu.shared",
                                        "gpuscale.dev/gpu-milli"};

static int check_deferred(ld *L, const deferred *d) {
    gs_config *c = &L->cfg;
    const gs_pod_spec *ps;
    const char *pool_name, *kind, *name;
    char what[GS_NAME_LEN + 32];
    if (d->is_env) {
        const gs_environment *e = &c->envs[d->idx];
        ps = &e->workloads[d->w].pod;
        pool_name = e->pool;
        kind = "Environment";
        name = e->name;
        if (e->is_job) snprintf(what, sizeof what, "the job");
        else snprintf(what, sizeof what, "workload '%s'", e->workloads[d->w].name);
    } else {
        const gs_scaler *s = &c->scalers[d->idx];
        ps = &s->pod;
        pool_name = s->pool;
        kind = "QueueScaler";
        name = s->name;
        snprintf(what, sizeof what, "the template");
    }
    if (!pool_name[0]) return 0;
    int pi = gs_config_find_pool(c, pool_name);
    if (pi < 0) {
        const char *names[64];
        int n = 0;
        for (int32_t i = 0; i < c->npools && n < 64; i++) names[n++] = c->pools[i].name;
        char h[96];
        hint(pool_name, names, n, h, sizeof h);
        if (!h[0]) snprintf(h, sizeof h, "%s", c->npools ? "" : " (no GPUPool is defined)");
        return errat(L, &d->pool_at, "%s '%s': spec.pool: unknown GPUPool '%s'%s", kind, name, pool_name, h);
    }
    const gs_pool *p = &c->pools[pi];
    const gs_gpu_req *g = &ps->gpu;
    if (g->form == GS_GPU_NONE || d->gpu_at.line == 0) return 0;
    const char *mode = gs_share_mode_name(p->sharing);
    static const char *const need[] = {"", "exclusive or mig", "mig", "timeSlicing", "fractional"};
    bool ok;
    switch (g->form) {
    case GS_GPU_WHOLE: ok = p->sharing == GS_SHARE_EXCLUSIVE || p->sharing == GS_SHARE_MIG; break;
    case GS_GPU_MIG: ok = p->sharing == GS_SHARE_MIG; break;
    case GS_GPU_SHARED: ok = p->sharing == GS_SHARE_TIMESLICING; break;
    case GS_GPU_FRACTION: ok = p->sharing == GS_SHARE_FRACTIONAL; break;
    default: ok = true; break;
    }
    if (!ok)
        return errat(L, &d->gpu_at, "%s '%s': %s asks for %s%s but GPUPool '%s' shares GPUs as %s "
                                    "(this request needs sharing.mode %s)",
                     kind, name, what, RES_NAMES[g->form], g->form == GS_GPU_MIG ? g->mig_profile : "", p->name,
                     mode, need[g->form]);
    unsigned models;
    int32_t max_gpus;
    pool_types(L, p, &models, &max_gpus);
    if (g->form == GS_GPU_WHOLE && g->count > max_gpus)
        return errat(L, &d->gpu_at, "%s '%s': %s asks for %d GPUs per pod but the largest instance type of GPUPool '%s' has %d",
                     kind, name, what, (int)g->count, p->name, (int)max_gpus);
    if (g->form == GS_GPU_SHARED && g->count > p->ts_replicas)
        return errat(L, &d->gpu_at, "%s '%s': %s asks for %d time-sliced replicas but GPUPool '%s' splits a GPU into %d",
                     kind, name, what, (int)g->count, p->name, (int)p->ts_replicas);
    if (g->form == GS_GPU_MIG) {
        if (!gs_pool_allows_profile(p, g->mig_profile))
            return errat(L, &d->gpu_at, "%s '%s': %s asks for MIG profile %s, which GPUPool '%s' does not allow "
                                        "(sharing.mig.profiles)", kind, name, what, g->mig_profile, p->name);
        bool exists = false;
        for (int i = 0; i < 32 && !exists; i++)
            if ((models & (1u << i)) && gs_gpu_get(i) && gs_gpu_has_mig(gs_gpu_get(i)))
                exists = gs_mig_profile_find(gs_gpu_get(i), g->mig_profile) >= 0;
        if (!exists) {
            char ml[256];
            model_list(models, true, ml, sizeof ml);
            return errat(L, &d->gpu_at, "%s '%s': %s asks for MIG profile %s, which the GPUs of GPUPool '%s' (%s) do not have",
                         kind, name, what, g->mig_profile, p->name, ml);
        }
    }
    return 0;
}

/* ---------- entry points ---------- */

static void ld_free(ld *L) {
    gs_config_free(&L->cfg);
    free(L->pool_pos);
    free(L->scaler_pos);
    free(L->budget_pos);
    free(L->env_pos);
    free(L->defs);
}

int gs_config_load_sources(gs_config *out, const gs_config_src *srcs, int n, const gs_catalog *cat,
                           gs_error *err) {
    memset(out, 0, sizeof *out);
    if (!cat) return gs_error_set(err, GS_EINVAL, "gs_config_load_sources: a catalog is required");
    ld L;
    memset(&L, 0, sizeof L);
    L.srcs = srcs;
    L.nsrcs = n;
    L.cat = cat;
    L.err = err;
    gs_yaml_limits lim = {GS_CONFIG_MAX_DEPTH, 100000, 4096, 1000};
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        L.fileidx = i;
        L.file = srcs[i].name ? srcs[i].name : "<string>";
        L.obj[0] = '\0';
        if (srcs[i].len > GS_CONFIG_MAX_BYTES) {
            rc = gs_error_setpos(err, GS_ETOOBIG, L.file, 1, 1, "file too large (%zu bytes; at most %d)",
                                 srcs[i].len, GS_CONFIG_MAX_BYTES);
            break;
        }
        gs_yaml_stream ys;
        rc = gs_yaml_parse(&ys, srcs[i].text, srcs[i].len, L.file, &lim, err);
        if (rc) break;
        if (ys.ndocs == 0)
            rc = gs_error_setpos(err, GS_EINVAL, L.file, 1, 1, "no configuration in this file (it is empty or only comments)");
        for (int32_t d = 0; d < ys.ndocs && !rc; d++) rc = document(&L, ys.docs[d]);
        gs_yaml_free(&ys);
    }
    for (int32_t i = 0; i < L.ndefs && !rc; i++) rc = check_deferred(&L, &L.defs[i]);
    if (rc) {
        ld_free(&L);
        return rc;
    }
    *out = L.cfg;
    memset(&L.cfg, 0, sizeof L.cfg);
    ld_free(&L);
    return 0;
}

int gs_config_load_string(gs_config *out, const char *text, size_t len, const char *name,
                          const gs_catalog *cat, gs_error *err) {
    gs_config_src s = {name ? name : "<string>", text, len};
    return gs_config_load_sources(out, &s, 1, cat, err);
}

int gs_config_load_files(gs_config *out, const char *const *paths, int n, const gs_catalog *cat,
                         gs_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0 || n > 4096) return gs_error_set(err, GS_EINVAL, "too many configuration files");
    gs_config_src *srcs = calloc((size_t)(n ? n : 1), sizeof *srcs);
    if (!srcs) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char *buf = NULL;
        size_t len = 0;
        rc = gs_fs_read(paths[i], GS_CONFIG_MAX_BYTES, &buf, &len, err);
        srcs[i].name = paths[i];
        srcs[i].text = buf;
        srcs[i].len = len;
    }
    if (!rc) rc = gs_config_load_sources(out, srcs, n, cat, err);
    for (int i = 0; i < n; i++) free((void *)(uintptr_t)srcs[i].text);
    free(srcs);
    return rc;
}

/* ---------- objects from the API server (JSON) ---------- */

#define API_MAX_NODES 100000

typedef struct jconv {
    int32_t nodes;
    const char *name;
    gs_error *err;
} jconv;

static void jnode_free(node *n) {
    if (!n) return;
    for (int32_t i = 0; i < n->n; i++) jnode_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static node *jnode_new(jconv *J, gs_yaml_kind kind) {
    if (++J->nodes > API_MAX_NODES) {
        gs_error_setpos(J->err, GS_ETOOBIG, J->name, 0, 0, "more than %d values in one object", API_MAX_NODES);
        return NULL;
    }
    node *n = calloc(1, sizeof *n);
    if (!n) {
        gs_error_set(J->err, GS_ENOMEM, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->line = 1; /* positions are not shown for API objects (ld.api); 1 means "given" */
    n->col = 1;
    return n;
}

static node *jscalar(jconv *J, const char *s, size_t len, bool plain) {
    node *n = jnode_new(J, GS_YAML_SCALAR);
    if (!n) return NULL;
    n->str = malloc(len + 1);
    if (!n->str) {
        free(n);
        gs_error_set(J->err, GS_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(n->str, s, len);
    n->str[len] = '\0';
    n->len = len;
    n->plain = plain;
    return n;
}

static int jadd(jconv *J, node *parent, node *kid) {
    if (parent->n >= 4096) {
        jnode_free(kid);
        return gs_error_setpos(J->err, GS_ETOOBIG, J->name, 0, 0, "more than 4096 entries in one list or mapping");
    }
    if (parent->n == parent->cap) {
        int32_t nc = parent->cap ? parent->cap * 2 : 4;
        node **nk = realloc(parent->kids, (size_t)nc * sizeof *nk);
        if (!nk) {
            jnode_free(kid);
            return gs_error_set(J->err, GS_ENOMEM, "out of memory");
        }
        parent->kids = nk;
        parent->cap = nc;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

/* JSON -> the YAML reader's tree: strings are quoted scalars (no YAML typing), numbers, booleans
 * and null plain ones spelled as YAML would read them. depth 0 is the object: its status is
 * dropped; depth 1 metadata keeps name and namespace (the rest is the server's or the tools':
 * uid, resourceVersion, generation, managedFields, labels, annotations, ...). */
static node *jconvert(jconv *J, const json_t *v, int depth, bool is_metadata) {
    if (depth > GS_CONFIG_MAX_DEPTH) {
        gs_error_setpos(J->err, GS_ETOOBIG, J->name, 0, 0, "nesting deeper than %d levels", GS_CONFIG_MAX_DEPTH);
        return NULL;
    }
    char b[64];
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strlen(s) != len) {
            gs_error_setpos(J->err, GS_EPARSE, J->name, 0, 0, "a string holds a NUL character");
            return NULL;
        }
        return jscalar(J, s, len, false);
    }
    case JSON_INTEGER:
        snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return jscalar(J, b, strlen(b), true);
    case JSON_REAL: {
        snprintf(b, sizeof b, "%.17g", json_real_value(v));
        /* the shortest spelling that reads back the same (120.5, not 120.50000000000001) */
        for (int prec = 1; prec <= 17; prec++) {
            char t[64];
            snprintf(t, sizeof t, "%.*g", prec, json_real_value(v));
            if (strtod(t, NULL) == json_real_value(v)) {
                snprintf(b, sizeof b, "%s", t);
                break;
            }
        }
        return jscalar(J, b, strlen(b), true);
    }
    case JSON_TRUE: return jscalar(J, "true", 4, true);
    case JSON_FALSE: return jscalar(J, "false", 5, true);
    case JSON_NULL: return jscalar(J, "null", 4, true);
    case JSON_ARRAY: {
        node *n = jnode_new(J, GS_YAML_SEQ);
        if (!n) return NULL;
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            node *k = jconvert(J, x, depth + 1, false);
            if (!k || jadd(J, n, k)) {
                jnode_free(n);
                return NULL;
            }
        }
        return n;
    }
    case JSON_OBJECT: {
        node *n = jnode_new(J, GS_YAML_MAP);
        if (!n) return NULL;
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)(uintptr_t)v, key, x) {
            if (depth == 0 && strcmp(key, "status") == 0) continue;
            /* metadata: name and namespace only; labels and annotations (unused by gpuscale) were
             * validated by the API server, and tools add many (past the files' 16-label cap) */
            if (is_metadata && strcmp(key, "name") != 0 && strcmp(key, "namespace") != 0) continue;
            node *kn = jscalar(J, key, strlen(key), false);
            if (!kn || jadd(J, n, kn)) {
                jnode_free(n);
                return NULL;
            }
            node *vn = jconvert(J, x, depth + 1, depth == 0 && strcmp(key, "metadata") == 0);
            if (!vn || jadd(J, n, vn)) {
                jnode_free(n);
                return NULL;
            }
        }
        return n;
    }
    }
    gs_error_setpos(J->err, GS_EPARSE, J->name, 0, 0, "unexpected JSON value");
    return NULL;
}

int gs_config_load_objects(gs_config *out, const gs_config_obj *objs, int n, const gs_catalog *cat,
                           gs_error *err) {
    memset(out, 0, sizeof *out);
    if (!cat) return gs_error_set(err, GS_EINVAL, "gs_config_load_objects: a catalog is required");
    if (n < 0 || n > 4 * GS_CONFIG_MAX_OBJECTS) return gs_error_set(err, GS_ETOOBIG, "too many objects (%d)", n);
    gs_config_src *srcs = calloc((size_t)(n ? n : 1), sizeof *srcs);
    if (!srcs) return gs_error_set(err, GS_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) srcs[i].name = objs[i].name ? objs[i].name : "<object>";
    ld L;
    memset(&L, 0, sizeof L);
    L.srcs = srcs;
    L.nsrcs = n;
    L.cat = cat;
    L.err = err;
    L.api = true;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        L.fileidx = i;
        L.file = srcs[i].name;
        L.obj[0] = '\0';
        jconv J = {0, L.file, err};
        node *root = jconvert(&J, objs[i].obj, 0, false);
        if (!root) {
            rc = err && err->code ? err->code : GS_EPARSE;
            break;
        }
        rc = document(&L, root);
        jnode_free(root);
    }
    for (int32_t i = 0; i < L.ndefs && !rc; i++) rc = check_deferred(&L, &L.defs[i]);
    free(srcs);
    if (rc) {
        ld_free(&L);
        return rc;
    }
    *out = L.cfg;
    memset(&L.cfg, 0, sizeof L.cfg);
    ld_free(&L);
    return 0;
}
