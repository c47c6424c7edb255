/* AWS SigV4 signer: see sigv4.h. */
#include "io/queue/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A bounded string builder over a caller buffer. */
typedef struct sb {
    char *p;
    size_t len, cap;
    bool over;
} sb;

static void sb_init(sb *b, char *buf, size_t cap) {
    b->p = buf;
    b->len = 0;
    b->cap = cap;
    b->over = false;
    if (cap) buf[0] = '\0';
}

static void sb_putn(sb *b, const char *s, size_t n) {
    if (b->over) return;
    if (b->len + n + 1 > b->cap) {
        b->over = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sb *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_putc(sb *b, char c) { sb_putn(b, &c, 1); }

static bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void sb_encode(sb *b, const char *s, size_t n, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            sb_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_putn(b, e, 3);
        }
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (at most n bytes); invalid escapes are kept literally. */
static size_t pct_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static void to_hex(const unsigned char *d, size_t n, char *hex) {
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = h[d[i] >> 4];
        hex[2 * i + 1] = h[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

int gs_sigv4_sha256_hex(const void *data, size_t len, char hex[65]) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (!SHA256(data ? data : "", len, d)) return GS_EIO;
    to_hex(d, sizeof d, hex);
    return 0;
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
    unsigned int olen = 0;
    if (klen > INT32_MAX) return GS_EINVAL;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen) ||
        olen != 32)
        return GS_EIO;
    return 0;
}

void gs_sigv4_amz_date(int64_t unix_seconds, char buf[17]) {
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, 17, "19700101T000000Z");
        return;
    }
    snprintf(buf, 17, "%04u%02u%02uT%02u%02u%02uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

bool gs_sigv4_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    size_t n = la < lb ? la : lb;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* ---- canonical pieces ---- */

#define MAX_SEGS 256

static int canonical_path(sb *b, const char *path, size_t n, bool normalize) {
    if (n == 0) {
        sb_putc(b, '/');
        return 0;
    }
    if (!normalize) {
        sb_encode(b, path, n, true);
        return 0;
    }
    size_t segs[MAX_SEGS], lens[MAX_SEGS];
    int ns = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && path[i] == '/') i++;
        size_t st = i;
        while (i < n && path[i] != '/') i++;
        size_t l = i - st;
        if (l == 0 || (l == 1 && path[st] == '.')) continue;
        if (l == 2 && path[st] == '.' && path[st + 1] == '.') {
            if (ns > 0) ns--;
            continue;
        }
        if (ns == MAX_SEGS) return GS_ETOOBIG;
        segs[ns] = st;
        lens[ns] = l;
        ns++;
    }
    sb_putc(b, '/');
    for (int k = 0; k < ns; k++) {
        if (k) sb_putc(b, '/');
        sb_encode(b, path + segs[k], lens[k], false);
    }
    if (ns > 0 && path[n - 1] == '/') sb_putc(b, '/');
    return 0;
}

typedef struct qparam {
    char *k, *v;   /* encoded, NUL-terminated, malloc'd */
} qparam;

static int qparam_cmp(const void *a, const void *b) {
    const qparam *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *encode_dup(const char *s, size_t n) {
    char *tmp = malloc(n + 1);
    if (!tmp) return NULL;
    size_t dn = pct_decode(s, n, tmp);
    size_t cap = dn * 3 + 1;
    char *out = malloc(cap);
    if (!out) {
        free(tmp);
        return NULL;
    }
    sb b;
    sb_init(&b, out, cap);
    sb_encode(&b, tmp, dn, false);
    free(tmp);
    return out;
}

#define MAX_QPARAMS 128

static int canonical_query(sb *b, const char *q, size_t n) {
    qparam ps[MAX_QPARAMS];
    int np = 0, rc = 0;
    size_t i = 0;
    while (i < n) {
        size_t st = i;
        while (i < n && q[i] != '&') i++;
        size_t l = i - st;
        if (i < n) i++;
        if (l == 0) continue;
        if (np == MAX_QPARAMS) { rc = GS_ETOOBIG; break; }
        const char *eq = memchr(q + st, '=', l);
        size_t kl = eq ? (size_t)(eq - (q + st)) : l;
        ps[np].k = encode_dup(q + st, kl);
        ps[np].v = eq ? encode_dup(eq + 1, l - kl - 1) : encode_dup("", 0);
        np++;
        if (!ps[np - 1].k || !ps[np - 1].v) { rc = GS_ENOMEM; break; }
    }
    if (!rc) {
        qsort(ps, (size_t)np, sizeof ps[0], qparam_cmp);
        for (int k = 0; k < np; k++) {
            if (k) sb_putc(b, '&');
            sb_puts(b, ps[k].k);
            sb_putc(b, '=');
            sb_puts(b, ps[k].v);
        }
    }
    for (int k = 0; k < np; k++) {
        free(ps[k].k);
        free(ps[k].v);
    }
    return rc;
}

typedef struct hdr {
    char name[128];
    const char *value;   /* raw, normalised when written */
    int order;
} hdr;

static int hdr_cmp(const void *a, const void *b) {
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Trimmed value with inner whitespace runs collapsed to one space. */
static void sb_hvalue(sb *b, const char *v) {
    while (*v && is_ws(*v)) v++;
    bool pending_space = false;
    for (; *v; v++) {
        if (is_ws(*v)) {
            pending_space = true;
            continue;
        }
        if (pending_space) sb_putc(b, ' ');
        pending_space = false;
        sb_putc(b, *v);
    }
}

static bool skip_header(const char *lname) {
    return !strcmp(lname, "user-agent") || !strcmp(lname, "x-amzn-trace-id") ||
           !strcmp(lname, "connection") || !strcmp(lname, "upgrade") ||
           !strcmp(lname, "transfer-encoding") || !strcmp(lname, "authorization") ||
           !strncmp(lname, "sec-websocket-", 14);
}

static int add_hdr(hdr *hs, int *nh, const char *name, const char *value, gs_error *err) {
    if (*nh == GS_SIGV4_MAX_HEADERS + 3)
        return gs_error_set(err, GS_ETOOBIG, "sigv4: more than %d headers", GS_SIGV4_MAX_HEADERS);
    size_t l = strlen(name);
    if (l == 0 || l >= sizeof hs[0].name)
        return gs_error_set(err, GS_EINVAL, "sigv4: bad header name length %zu", l);
    hdr *h = &hs[*nh];
    for (size_t i = 0; i <= l; i++) {
        char c = name[i];
        h->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    h->value = value;
    h->order = *nh;
    (*nh)++;
    return 0;
}

static bool has_hdr(const hdr *hs, int nh, const char *lname) {
    for (int i = 0; i < nh; i++)
        if (!strcmp(hs[i].name, lname)) return true;
    return false;
}

int gs_sigv4_sign(const gs_sigv4_request *req, const gs_sigv4_creds *creds,
                  const gs_sigv4_params *p, gs_sigv4_result *out, gs_error *err) {
    if (!req || !req->method || !req->target || !creds || !creds->access_key_id ||
        !creds->secret_access_key || !p || !p->region || !p->service || !p->amz_date ||
        req->nheaders < 0 || (req->nheaders > 0 && !req->headers))
        return gs_error_set(err, GS_EINVAL, "sigv4: missing request, credentials or parameters");
    if (req->nheaders > GS_SIGV4_MAX_HEADERS)
        return gs_error_set(err, GS_ETOOBIG, "sigv4: more than %d headers", GS_SIGV4_MAX_HEADERS);
    const char *d = p->amz_date;
    bool date_ok = strlen(d) == 16 && d[8] == 'T' && d[15] == 'Z';
    for (int i = 0; date_ok && i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9')) date_ok = false;
    if (!date_ok)
        return gs_error_set(err, GS_EINVAL, "sigv4: X-Amz-Date must look like 20150830T123600Z");
    if (strchr(p->region, '/') || strchr(p->service, '/') || strchr(creds->access_key_id, '/'))
        return gs_error_set(err, GS_EINVAL, "sigv4: region, service and key id cannot hold '/'");

    memset(out, 0, sizeof *out);
    memcpy(out->amz_date, d, 17);
    char date8[9];
    memcpy(date8, d, 8);
    date8[8] = '\0';
    const bool has_token = creds->session_token && creds->session_token[0];

    if (gs_sigv4_sha256_hex(req->body, req->body ? req->body_len : 0, out->payload_hash))
        return gs_error_set(err, GS_EIO, "sigv4: SHA-256 failed");

    /* headers */
    hdr hs[GS_SIGV4_MAX_HEADERS + 3];
    int nh = 0, rc;
    for (int32_t i = 0; i < req->nheaders; i++) {
        if (!req->headers[i].name || !req->headers[i].value)
            return gs_error_set(err, GS_EINVAL, "sigv4: header %d has no name or value", (int)i);
        char lname[128];
        size_t l = strlen(req->headers[i].name);
        if (l >= sizeof lname)
            return gs_error_set(err, GS_EINVAL, "sigv4: header name too long");
        for (size_t k = 0; k <= l; k++) {
            char c = req->headers[i].name[k];
            lname[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        if (skip_header(lname)) continue;
        if (!strcmp(lname, "x-amz-security-token") && p->omit_session_token) continue;
        if ((rc = add_hdr(hs, &nh, req->headers[i].name, req->headers[i].value, err))) return rc;
    }
    if (!has_hdr(hs, nh, "host"))
        return gs_error_set(err, GS_EINVAL, "sigv4: the request has no Host header");
    out->add_date = !has_hdr(hs, nh, "x-amz-date");
    if (out->add_date && (rc = add_hdr(hs, &nh, "x-amz-date", out->amz_date, err))) return rc;
    out->add_token = has_token;
    for (int32_t i = 0; i < req->nheaders; i++)
        if (!strcasecmp(req->headers[i].name, "x-amz-security-token")) out->add_token = false;
    if (has_token && !p->omit_session_token && !has_hdr(hs, nh, "x-amz-security-token") &&
        (rc = add_hdr(hs, &nh, "x-amz-security-token", creds->session_token, err)))
        return rc;
    if (p->add_content_sha256 && !has_hdr(hs, nh, "x-amz-content-sha256") &&
        (rc = add_hdr(hs, &nh, "x-amz-content-sha256", out->payload_hash, err)))
        return rc;
    qsort(hs, (size_t)nh, sizeof hs[0], hdr_cmp);

    /* canonical request */
    sb b;
    sb_init(&b, out->canonical_request, sizeof out->canonical_request);
    sb_puts(&b, req->method);
    sb_putc(&b, '\n');
    const char *q = strchr(req->target, '?');
    size_t plen = q ? (size_t)(q - req->target) : strlen(req->target);
    if ((rc = canonical_path(&b, req->target, plen, p->normalize_path)))
        return gs_error_set(err, rc, "sigv4: path has too many segments");
    sb_putc(&b, '\n');
    if (q && (rc = canonical_query(&b, q + 1, strlen(q + 1))))
        return gs_error_set(err, rc, "sigv4: query string too large");
    sb_putc(&b, '\n');
    sb sh;
    sb_init(&sh, out->signed_headers, sizeof out->signed_headers);
    for (int i = 0; i < nh; i++) {
        bool first = i == 0 || strcmp(hs[i].name, hs[i - 1].name) != 0;
        if (first) {
            if (i) sb_putc(&b, '\n');
            sb_puts(&b, hs[i].name);
            sb_putc(&b, ':');
            if (i) sb_putc(&sh, ';');
            sb_puts(&sh, hs[i].name);
        } else {
            sb_putc(&b, ',');
        }
        sb_hvalue(&b, hs[i].value);
    }
    sb_puts(&b, "\n\n");
    sb_puts(&b, out->signed_headers);
    sb_putc(&b, '\n');
    sb_puts(&b, out->payload_hash);
    if (b.over || sh.over)
        return gs_error_set(err, GS_ETOOBIG, "sigv4: canonical request larger than %d bytes",
                            GS_SIGV4_CREQ_MAX);

    /* string to sign */
    char creq_hash[65];
    if (gs_sigv4_sha256_hex(out->canonical_request, b.len, creq_hash))
        return gs_error_set(err, GS_EIO, "sigv4: SHA-256 failed");
    char scope[160];
    int sl = snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date8, p->region, p->service);
    if (sl < 0 || (size_t)sl >= sizeof scope)
        return gs_error_set(err, GS_EINVAL, "sigv4: region or service name too long");
    int tl = snprintf(out->string_to_sign, sizeof out->string_to_sign,
                      "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date, scope, creq_hash);
    if (tl < 0 || (size_t)tl >= sizeof out->string_to_sign)
        return gs_error_set(err, GS_EINVAL, "sigv4: string to sign too long");

    /* signing key and signature */
    char k0[256];
    int kl = snprintf(k0, sizeof k0, "AWS4%s", creds->secret_access_key);
    if (kl < 0 || (size_t)kl >= sizeof k0)
        return gs_error_set(err, GS_EINVAL, "sigv4: secret access key too long");
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    rc = hmac(k0, (size_t)kl, date8, k1);
    if (!rc) rc = hmac(k1, 32, p->region, k2);
    if (!rc) rc = hmac(k2, 32, p->service, k3);
    if (!rc) rc = hmac(k3, 32, "aws4_request", k4);
    if (!rc) rc = hmac(k4, 32, out->string_to_sign, sig);
    memset(k0, 0, sizeof k0);
    memset(k1, 0, sizeof k1);
    memset(k2, 0, sizeof k2);
    memset(k3, 0, sizeof k3);
    memset(k4, 0, sizeof k4);
    if (rc) return gs_error_set(err, GS_EIO, "sigv4: HMAC-SHA256 failed");
    to_hex(sig, sizeof sig, out->signature);
    int al = snprintf(out->authorization, sizeof out->authorization,
                      "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                      creds->access_key_id, scope, out->signed_headers, out->signature);
    if (al < 0 || (size_t)al >= sizeof out->authorization)
        return gs_error_set(err, GS_ETOOBIG, "sigv4: Authorization header too long");
    return 0;
}
