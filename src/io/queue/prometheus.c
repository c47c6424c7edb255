/* Prometheus source: GET {serverAddress}/api/v1/query?query=... (instant query).
 * Metadata (KEDA "prometheus" names): serverAddress, query, ignoreNullValues (default true:
 * no series reads 0), unsafeSsl, plus caFile, username + passwordFromEnv/File (basic auth),
 * bearerTokenFromEnv/File (Authorization: Bearer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/queue/parse.h"
#include "io/queue/qhttp.h"
#include "io/queue/queue.h"

typedef struct psrc {
    char *url;                    /* full query URL */
    char base[GS_VALUE_LEN];
    bool empty_is_zero;
    gs_qhttp_tls tls;
    char ca[GS_VALUE_LEN];
    char user[GS_VALUE_LEN];
    char pass[GS_QUEUE_SECRET_MAX];
    bool has_pass;
    char authz[GS_QUEUE_SECRET_MAX + 32];
    bool has_bearer;
    gs_qhttp http;
} psrc;

static void p_free(psrc *p) {
    if (!p) return;
    free(p->url);
    gs_qhttp_free(&p->http);
    memset(p->pass, 0, sizeof p->pass);
    memset(p->authz, 0, sizeof p->authz);
    free(p);
}

static int p_open(gs_queue *q, gs_error *err) {
    const gs_trigger *t = &q->trig;
    psrc *p = calloc(1, sizeof *p);
    if (!p) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc = 0;
    const char *addr = gs_queue_meta(t, "serverAddress");
    const char *query = gs_queue_meta(t, "query");
    if (!addr || (strncmp(addr, "http://", 7) && strncmp(addr, "https://", 8))) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: prometheus needs serverAddress (http:// or https://)", t->name);
        goto fail;
    }
    if (!query || !*query) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: prometheus needs query", t->name);
        goto fail;
    }
    snprintf(p->base, sizeof p->base, "%s", addr);
    size_t bl = strlen(p->base);
    while (bl > 0 && p->base[bl - 1] == '/') p->base[--bl] = '\0';
    if ((rc = gs_queue_meta_bool(t, "ignoreNullValues", true, &p->empty_is_zero, err))) goto fail;
    if ((rc = gs_queue_meta_bool(t, "unsafeSsl", false, &p->tls.insecure, err))) goto fail;
    const char *ca = gs_queue_meta(t, "caFile");
    if (ca) {
        snprintf(p->ca, sizeof p->ca, "%s", ca);
        p->tls.ca_file = p->ca;
    }
    const char *user = gs_queue_meta(t, "username");
    if ((rc = gs_queue_secret(t, "password", p->pass, sizeof p->pass, &p->has_pass, err))) goto fail;
    if (user) snprintf(p->user, sizeof p->user, "%s", user);
    if (!!user != p->has_pass) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: basic auth needs both username and passwordFromEnv/passwordFile", t->name);
        goto fail;
    }
    char tok[GS_QUEUE_SECRET_MAX];
    if ((rc = gs_queue_secret(t, "bearerToken", tok, sizeof tok, &p->has_bearer, err))) goto fail;
    if (p->has_bearer) snprintf(p->authz, sizeof p->authz, "Authorization: Bearer %s", tok);
    memset(tok, 0, sizeof tok);
    size_t qcap = strlen(query) * 3 + 1;
    char *eq = malloc(qcap);
    p->url = malloc(bl + qcap + 32);
    if (!eq || !p->url) {
        free(eq);
        rc = gs_error_set(err, GS_ENOMEM, "out of memory");
        goto fail;
    }
    gs_qhttp_escape(query, eq, qcap);
    snprintf(p->url, bl + qcap + 32, "%s/api/v1/query?query=%s", p->base, eq);
    free(eq);
    q->impl = p;
    return 0;
fail:
    p_free(p);
    return rc;
}

static int p_read(gs_queue *q, int64_t *milli, gs_error *err) {
    psrc *p = q->impl;
    const char *hdrs[] = {p->has_bearer ? p->authz : NULL, NULL};
    gs_qhttp_req r = {0};
    r.method = "GET";
    r.url = p->url;
    r.headers = hdrs;
    r.user = p->has_pass ? p->user : NULL;
    r.pass = p->has_pass ? p->pass : NULL;
    r.connect_timeout = q->opts.connect_timeout;
    r.timeout = q->opts.read_timeout;
    r.tls = &p->tls;
    r.what = "prometheus";
    r.shown_url = p->base;
    int rc = gs_qhttp_do(&p->http, &r, err);
    if (rc) return rc;
    if (p->http.status == 401 || p->http.status == 403)
        return gs_error_set(err, GS_EAUTH, "prometheus: %s refused the credentials (HTTP %ld)",
                            p->base, p->http.status);
    rc = gs_qparse_prometheus(p->http.body, p->http.len, p->empty_is_zero, milli, err);
    if (!rc && p->http.status != 200)
        return gs_error_set(err, GS_EPEER, "prometheus: HTTP %ld from %s", p->http.status, p->base);
    if (rc && p->http.status != 200 && rc == GS_EPARSE)
        return gs_error_set(err, GS_EPEER, "prometheus: HTTP %ld from %s", p->http.status, p->base);
    return rc;
}

static void p_disconnect(gs_queue *q) {
    psrc *p = q->impl;
    if (p) gs_qhttp_reset(&p->http);
}

static void p_close(gs_queue *q) {
    p_free(q->impl);
    q->impl = NULL;
}

const gs_queue_ops gs_queue_prometheus_ops = {"prometheus", p_open, p_read, p_disconnect, p_close};
