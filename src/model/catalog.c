#include "model/catalog.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "model/gpu.h"

const char *gs_capacity_name(gs_capacity c) {
    return c == GS_CAP_SPOT ? "spot" : "on-demand";
}

int gs_capacity_parse(const char *s) {
    if (strcmp(s, "on-demand") == 0) return GS_CAP_ON_DEMAND;
    if (strcmp(s, "spot") == 0) return GS_CAP_SPOT;
    return -1;
}

void gs_catalog_init(gs_catalog *c) {
    memset(c, 0, sizeof *c);
}

void gs_catalog_free(gs_catalog *c) {
    free(c->types);
    memset(c, 0, sizeof *c);
}

int gs_catalog_find(const gs_catalog *c, const char *name) {
    int lo = 0, hi = c->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int r = strcmp(c->types[mid].name, name);
        if (r == 0) return mid;
        if (r < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

int gs_catalog_add(gs_catalog *c, const gs_itype *t, gs_error *err) {
    if (gs_catalog_find(c, t->name) >= 0)
        return gs_error_set(err, GS_EEXIST, "duplicate instance type %s", t->name);
    if (c->n == c->cap) {
        int32_t ncap = c->cap ? c->cap * 2 : 64;
        gs_itype *nt = realloc(c->types, (size_t)ncap * sizeof *nt);
        if (!nt) return gs_error_set(err, GS_ENOMEM, "out of memory");
        c->types = nt;
        c->cap = ncap;
    }
    /* insertion keeps the array sorted by name */
    int32_t i = c->n;
    while (i > 0 && strcmp(c->types[i - 1].name, t->name) > 0) {
        c->types[i] = c->types[i - 1];
        i--;
    }
    c->types[i] = *t;
    c->n++;
    return 0;
}

gs_usd_u gs_itype_price(const gs_itype *t, gs_capacity cap) {
    if (cap == GS_CAP_ON_DEMAND) return t->od_price;
    return t->od_price * (100 - t->spot_discount_pct) / 100;
}

int gs_csv_split(char *line, char **fields, int max) {
    int n = 0;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n')) line[--len] = '\0';
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *start = ++p, *w = p;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"') p++; /* "" -> " */
                *w++ = *p++;
            }
            if (*p == '"') p++;
            fields[n++] = start;
            char *end = w;
            if (*p == ',') { *end = '\0'; p++; continue; }
            *end = '\0';
            break;
        }
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* Iterates lines of text; copies each into buf (bounded). Returns 1 with *line set, 0 at end,
 * -1 if a line is longer than bufsize. */
static int next_line(const char *text, size_t len, size_t *pos, char *buf, size_t bufsize) {
    if (*pos >= len) return 0;
    size_t s = *pos, e = s;
    while (e < len && text[e] != '\n') e++;
    size_t n = e - s;
    *pos = e < len ? e + 1 : e;
    if (n >= bufsize) return -1;
    memcpy(buf, text + s, n);
    buf[n] = '\0';
    return 1;
}

static int col_of(char **f, int nf, char *line0, int idx) {
    (void)nf;
    return (int)(f[idx] - line0) + 1;
}

int gs_catalog_parse_csv(gs_catalog *c, const char *text, size_t len, const char *file,
                         gs_error *err) {
    static const char *HDR[] = {"instance_type", "family", "vcpu", "memory_mib", "gpu_count",
                                "gpu_model", "gpu_memory_mib", "on_demand_usd_per_hour",
                                "allocatable_cpu_milli", "allocatable_memory_mib", "max_pods"};
    enum { NCOL = 11 };
    gs_catalog tmp;
    gs_catalog_init(&tmp);
    /* start from a copy so that a failure leaves c untouched */
    for (int32_t i = 0; i < c->n; i++) {
        int rc = gs_catalog_add(&tmp, &c->types[i], err);
        if (rc) { gs_catalog_free(&tmp); return rc; }
    }
    char buf[1024];
    size_t pos = 0;
    int lineno = 0, r, rc = 0;
    while ((r = next_line(text, len, &pos, buf, sizeof buf)) != 0) {
        lineno++;
        if (r < 0) { rc = gs_error_setpos(err, GS_EPARSE, file, lineno, 1, "line too long"); break; }
        char *f[NCOL + 1];
        char *line0 = buf;
        if (buf[0] == '\0' || buf[0] == '\r') continue;
        int nf = gs_csv_split(buf, f, NCOL + 1);
        if (lineno == 1) {
            if (nf != NCOL) { rc = gs_error_setpos(err, GS_EPARSE, file, 1, 1, "header must have %d columns", NCOL); break; }
            for (int i = 0; i < NCOL; i++)
                if (strcmp(f[i], HDR[i]) != 0) {
                    rc = gs_error_setpos(err, GS_EPARSE, file, 1, col_of(f, nf, line0, i),
                                         "expected column '%s', found '%s'", HDR[i], f[i]);
                    break;
                }
            if (rc) break;
            continue;
        }
        if (nf != NCOL) { rc = gs_error_setpos(err, GS_EPARSE, file, lineno, 1, "expected %d fields, found %d", NCOL, nf); break; }
        gs_itype t;
        memset(&t, 0, sizeof t);
        if (strlen(f[0]) == 0 || strlen(f[0]) >= sizeof t.name) { rc = gs_error_setpos(err, GS_EPARSE, file, lineno, 1, "bad instance type name"); break; }
        if (strlen(f[1]) == 0 || strlen(f[1]) >= sizeof t.family) { rc = gs_error_setpos(err, GS_EPARSE, file, lineno, col_of(f, nf, line0, 1), "bad family"); break; }
        strcpy(t.name, f[0]);
        strcpy(t.family, f[1]);
        int64_t v[NCOL];
        static const int numcols[] = {2, 3, 4, 6, 8, 9, 10};
        const char *why = NULL;
        for (size_t k = 0; k < sizeof numcols / sizeof numcols[0]; k++) {
            int ci = numcols[k];
            if (gs_parse_int(f[ci], 0, INT32_MAX, &v[ci], &why)) {
                rc = gs_error_setpos(err, GS_EPARSE, file, lineno, col_of(f, nf, line0, ci),
                                     "%s: %s", HDR[ci], why);
                break;
            }
        }
        if (rc) break;
        t.vcpu = (int32_t)v[2];
        t.mem_mib = v[3];
        t.gpus = (int32_t)v[4];
        t.gpu_mem_mib = v[6];
        t.alloc_cpu = v[8];
        t.alloc_mem = v[9];
        t.max_pods = (int32_t)v[10];
        t.gpu_model = -1;
        if (t.gpus > 0) {
            t.gpu_model = gs_gpu_find_catalog(f[5], t.gpu_mem_mib);
            if (t.gpu_model < 0) {
                rc = gs_error_setpos(err, GS_EPARSE, file, lineno, col_of(f, nf, line0, 5),
                                     "unknown GPU model '%s' with %lld MiB", f[5],
                                     (long long)t.gpu_mem_mib);
                break;
            }
        }
        if (f[7][0] != '\0' && gs_parse_usd(f[7], &t.od_price, &why)) {
            rc = gs_error_setpos(err, GS_EPARSE, file, lineno, col_of(f, nf, line0, 7),
                                 "on_demand_usd_per_hour: %s", why);
            break;
        }
        if (t.alloc_cpu > (int64_t)t.vcpu * 1000 || t.alloc_mem > t.mem_mib) {
            rc = gs_error_setpos(err, GS_EPARSE, file, lineno, col_of(f, nf, line0, 8),
                                 "allocatable exceeds capacity");
            break;
        }
        gs_error e2;
        if (gs_catalog_add(&tmp, &t, &e2)) {
            rc = gs_error_setpos(err, e2.code, file, lineno, 1, "%s", e2.msg);
            break;
        }
    }
    if (rc == 0 && lineno == 0) rc = gs_error_setpos(err, GS_EPARSE, file, 1, 1, "empty catalog");
    if (rc) {
        gs_catalog_free(&tmp);
        return rc;
    }
    gs_catalog_free(c);
    *c = tmp;
    return 0;
}

int gs_catalog_set_discount(gs_catalog *c, const char *family, int32_t pct) {
    int hit = 0;
    for (int32_t i = 0; i < c->n; i++)
        if (strcmp(c->types[i].family, family) == 0) {
            c->types[i].spot_discount_pct = pct;
            hit = 1;
        }
    return hit ? 0 : GS_ENOENT;
}

int gs_catalog_parse_discounts(gs_catalog *c, const char *text, size_t len, const char *file,
                               gs_error *err) {
    /* validate everything first, then apply: nothing half-way */
    struct { char fam[GS_FAMILY_NAME]; int32_t pct; } items[256];
    int ni = 0;
    char buf[256];
    size_t pos = 0;
    int lineno = 0, r;
    while ((r = next_line(text, len, &pos, buf, sizeof buf)) != 0) {
        lineno++;
        if (r < 0) return gs_error_setpos(err, GS_EPARSE, file, lineno, 1, "line too long");
        if (buf[0] == '\0' || buf[0] == '\r') continue;
        char *f[3];
        int nf = gs_csv_split(buf, f, 3);
        if (lineno == 1) {
            if (nf != 2 || strcmp(f[0], "family") || strcmp(f[1], "spot_discount_percent"))
                return gs_error_setpos(err, GS_EPARSE, file, 1, 1,
                                       "header must be family,spot_discount_percent");
            continue;
        }
        if (nf != 2) return gs_error_setpos(err, GS_EPARSE, file, lineno, 1, "expected 2 fields, found %d", nf);
        int64_t pct;
        const char *why;
        if (gs_parse_int(f[1], 0, 95, &pct, &why))
            return gs_error_setpos(err, GS_EPARSE, file, lineno, (int)(f[1] - buf) + 1,
                                   "spot_discount_percent: %s (0..95)", why);
        bool known = false;
        for (int32_t i = 0; i < c->n && !known; i++) known = strcmp(c->types[i].family, f[0]) == 0;
        if (!known) return gs_error_setpos(err, GS_ENOENT, file, lineno, 1, "unknown instance family '%s'", f[0]);
        if (ni == (int)(sizeof items / sizeof items[0])) return gs_error_setpos(err, GS_ETOOBIG, file, lineno, 1, "too many rows");
        snprintf(items[ni].fam, sizeof items[ni].fam, "%s", f[0]);
        items[ni].pct = (int32_t)pct;
        ni++;
    }
    for (int i = 0; i < ni; i++) gs_catalog_set_discount(c, items[i].fam, items[i].pct);
    return 0;
}
