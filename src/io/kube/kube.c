#include "io/kube/kube.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "io/fs.h"
#include "io/kube/kube_internal.h"

struct gs_kube {
    gs_kube_config cfg;
    CURL *easy;               /* reused for plain requests (keep-alive) */
    long timeout_ms;
    char token[GS_KUBE_TOKEN_MAX];
    struct timespec token_mtime;
    int evict_known;          /* 0 unknown, 1 found, -1 none */
    char evict_gv[32];
};

typedef struct buf {
    char *p;
    size_t n, cap, max;
    int toobig;
} buf;

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *ud) {
    buf *b = ud;
    size_t add = size * nmemb;
    if (b->n + add + 1 > b->max) {
        b->toobig = 1;
        return 0;
    }
    if (b->n + add + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 16384;
        while (nc < b->n + add + 1) nc *= 2;
        if (nc > b->max) nc = b->max;
        char *np = realloc(b->p, nc);
        if (!np) return 0;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, ptr, add);
    b->n += add;
    b->p[b->n] = '\0';
    return add;
}

static int global_init_done;

int gs_kube_new(const gs_kube_config *cfg, long timeout_ms, gs_kube **out, gs_error *err) {
    *out = NULL;
    if (!global_init_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_init_done = 1;
    }
    gs_kube *k = calloc(1, sizeof *k);
    if (!k) return GS_ENOMEM;
    k->cfg = *cfg;
    k->cfg.ca_pem = cfg->ca_pem ? strdup(cfg->ca_pem) : NULL;
    k->cfg.cert_pem = cfg->cert_pem ? strdup(cfg->cert_pem) : NULL;
    k->cfg.key_pem = cfg->key_pem ? strdup(cfg->key_pem) : NULL;
    k->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    snprintf(k->token, sizeof k->token, "%s", cfg->token);
    k->easy = curl_easy_init();
    if (!k->easy) {
        gs_kube_free(k);
        return gs_error_set(err, GS_ENOMEM, "curl_easy_init failed");
    }
    *out = k;
    return 0;
}

void gs_kube_free(gs_kube *k) {
    if (!k) return;
    if (k->easy) curl_easy_cleanup(k->easy);
    gs_kube_config_free(&k->cfg);
    free(k);
}

const gs_kube_config *gs_kube_cfg(const gs_kube *k) { return &k->cfg; }

/* Token file: re-read whenever its mtime changes (service-account tokens rotate). */
static int refresh_token(gs_kube *k, gs_error *err) {
    if (!k->cfg.token_file[0]) return 0;
    struct stat st;
    if (stat(k->cfg.token_file, &st) != 0)
        return gs_error_set(err, GS_EAUTH, "token file %s: cannot stat", k->cfg.token_file);
    if (k->token[0] && st.st_mtim.tv_sec == k->token_mtime.tv_sec && st.st_mtim.tv_nsec == k->token_mtime.tv_nsec)
        return 0;
    char *t = NULL;
    size_t n = 0;
    int rc = gs_fs_read(k->cfg.token_file, GS_KUBE_TOKEN_MAX - 1, &t, &n, err);
    if (rc) return rc;
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ')) t[--n] = '\0';
    snprintf(k->token, sizeof k->token, "%s", t);
    free(t);
    k->token_mtime = st.st_mtim;
    return 0;
}

int gs_kube_setup_easy(gs_kube *k, CURL *e, const char *path, const char *extra_header,
                       struct curl_slist **hdrs, gs_error *err) {
    int rc = refresh_token(k, err);
    if (rc) return rc;
    char url[4096];
    if ((size_t)snprintf(url, sizeof url, "%s%s", k->cfg.server, path) >= sizeof url)
        return gs_error_set(err, GS_ETOOBIG, "request path too long");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (k->cfg.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (k->cfg.ca_pem) {
        struct curl_blob b = {k->cfg.ca_pem, strlen(k->cfg.ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    } else if (k->cfg.ca_file[0]) {
        curl_easy_setopt(e, CURLOPT_CAINFO, k->cfg.ca_file);
    }
    if (k->cfg.cert_pem) {
        struct curl_blob c = {k->cfg.cert_pem, strlen(k->cfg.cert_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (k->cfg.cert_file[0]) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, k->cfg.cert_file);
    }
    if (k->cfg.key_pem) {
        struct curl_blob kk = {k->cfg.key_pem, strlen(k->cfg.key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kk);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (k->cfg.key_file[0]) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, k->cfg.key_file);
    }
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "User-Agent: gpuscale/" GS_VERSION);
    if (k->token[0]) {
        char auth[GS_KUBE_TOKEN_MAX + 32];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", k->token);
        h = curl_slist_append(h, auth);
    }
    if (extra_header) h = curl_slist_append(h, extra_header);
    if (!h) return GS_ENOMEM;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    *hdrs = h;
    return 0;
}

int gs_kube_do(gs_kube *k, const char *method, const char *path, const char *ctype,
               const json_t *body, long *status, json_t **resp, gs_error *err) {
    if (resp) *resp = NULL;
    *status = 0;
    CURL *e = k->easy;
    curl_easy_reset(e);
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    struct curl_slist *h = NULL;
    int rc = gs_kube_setup_easy(k, e, path, body ? ct : NULL, &h, err);
    if (rc) return rc;
    char *payload = NULL;
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload) {
            curl_slist_free_all(h);
            return GS_ENOMEM;
        }
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") == 0) curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, k->timeout_ms);
    buf b = {.max = GS_KUBE_MAX_BODY};
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(e);
    curl_slist_free_all(h);
    free(payload);
    if (cc != CURLE_OK) {
        free(b.p);
        if (b.toobig)
            return gs_error_set(err, GS_ETOOBIG, "%s %s: response larger than %u bytes", method, path,
                                GS_KUBE_MAX_BODY);
        return gs_error_set(err, GS_EIO, "%s %s%s: %s", method, k->cfg.server, path, curl_easy_strerror(cc));
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    if (resp && b.n > 0) {
        json_error_t je;
        *resp = json_loadb(b.p, b.n, 0, &je);
    }
    free(b.p);
    return 0;
}

int gs_kube_status_err(long status, const json_t *resp, const char *method, const char *path, gs_error *err) {
    if (status >= 200 && status < 300) return 0;
    int code = status == 404 ? GS_ENOENT : status == 409 ? GS_ECONFLICT
             : (status == 401 || status == 403) ? GS_EAUTH : status == 429 ? GS_EBUDGET : GS_EPEER;
    const char *msg = json_string_value(json_object_get(resp, "message"));
    return gs_error_set(err, code, "%s %s: HTTP %ld: %s", method, path, status, msg ? msg : "(no message)");
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One request; idempotent ones (GET, PATCH, DELETE) are tried up to 3 times, 100 then 200 ms
 * apart, when the connection fails or the server answers 500/502/503/504 (an etcd timeout
 * under load, an API server restarting): what client-go's retry does for the same cases. */
static int simple(gs_kube *k, const char *method, const char *path, const char *ctype, const json_t *body,
                  json_t **out, gs_error *err) {
    bool idem = strcmp(method, "POST") != 0;
    int rc = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt) sleep_ms(100L << (attempt - 1));
        long st = 0;
        json_t *r = NULL;
        rc = gs_kube_do(k, method, path, ctype, body, &st, &r, err);
        if (rc == 0) rc = gs_kube_status_err(st, r, method, path, err);
        if (rc == 0 && out) *out = r;
        else json_decref(r);
        bool transient = rc == GS_EIO || (rc == GS_EPEER && (st == 500 || st == 502 || st == 503 || st == 504));
        if (!idem || !transient) break;
    }
    return rc;
}

int gs_kube_get(gs_kube *k, const char *path, json_t **out, gs_error *err) {
    return simple(k, "GET", path, NULL, NULL, out, err);
}
int gs_kube_create(gs_kube *k, const char *path, const json_t *obj, json_t **out, gs_error *err) {
    return simple(k, "POST", path, NULL, obj, out, err);
}
int gs_kube_delete(gs_kube *k, const char *path, gs_error *err) {
    return simple(k, "DELETE", path, NULL, NULL, NULL, err);
}

static int with_conflict_retry(gs_kube *k, const char *path, const char *ctype, const json_t *body,
                               json_t **out, gs_error *err) {
    int rc = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = simple(k, "PATCH", path, ctype, body, out, err);
        if (rc != GS_ECONFLICT) return rc;
        sleep_ms(50L << attempt);
    }
    return rc;
}

int gs_kube_merge_patch(gs_kube *k, const char *path, const json_t *patch, json_t **out, gs_error *err) {
    return with_conflict_retry(k, path, "application/merge-patch+json", patch, out, err);
}

int gs_kube_apply(gs_kube *k, const char *path, const json_t *obj, json_t **out, gs_error *err) {
    char p[4096];
    snprintf(p, sizeof p, "%s%cfieldManager=" GS_KUBE_FIELD_MANAGER "&force=true", path,
             strchr(path, '?') ? '&' : '?');
    /* JSON is YAML: the apply content type accepts it. */
    return with_conflict_retry(k, p, "application/apply-patch+yaml", obj, out, err);
}

int gs_kube_create_or_apply(gs_kube *k, const char *coll_path, const char *name, const json_t *obj,
                            gs_error *err) {
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", coll_path, name);
    return gs_kube_apply(k, p, obj, NULL, err);
}

int gs_kube_scale_get(gs_kube *k, const char *resource, const char *ns, const char *name,
                      int32_t *spec, int32_t *status, gs_error *err) {
    char p[1024];
    snprintf(p, sizeof p, "/apis/apps/v1/namespaces/%s/%s/%s/scale", ns, resource, name);
    json_t *o = NULL;
    int rc = gs_kube_get(k, p, &o, err);
    if (rc) return rc;
    if (spec) *spec = (int32_t)json_integer_value(json_object_get(json_object_get(o, "spec"), "replicas"));
    if (status) *status = (int32_t)json_integer_value(json_object_get(json_object_get(o, "status"), "replicas"));
    json_decref(o);
    return 0;
}

int gs_kube_scale_set(gs_kube *k, const char *resource, const char *ns, const char *name,
                      int32_t replicas, gs_error *err) {
    char p[1024];
    snprintf(p, sizeof p, "/apis/apps/v1/namespaces/%s/%s/%s/scale", ns, resource, name);
    json_t *patch = json_pack("{s:{s:i}}", "spec", "replicas", (json_int_t)replicas);
    int rc = gs_kube_merge_patch(k, p, patch, NULL, err);
    json_decref(patch);
    return rc;
}

const char *gs_kube_eviction_version(gs_kube *k, gs_error *err) {
    if (k->evict_known == 1) return k->evict_gv;
    static const char *const cands[] = {"policy/v1", "policy/v1beta1"};
    for (size_t i = 0; i < 2; i++) {
        char p[64];
        snprintf(p, sizeof p, "/apis/%s", cands[i]);
        json_t *o = NULL;
        int rc = gs_kube_get(k, p, &o, err);
        if (rc == GS_ENOENT) continue;
        if (rc) return NULL;
        size_t j;
        json_t *r;
        int found = 0;
        json_array_foreach(json_object_get(o, "resources"), j, r) {
            const char *n = json_string_value(json_object_get(r, "name"));
            if (n && strcmp(n, "pods/eviction") == 0) found = 1;
        }
        json_decref(o);
        if (found) {
            snprintf(k->evict_gv, sizeof k->evict_gv, "%s", cands[i]);
            k->evict_known = 1;
            return k->evict_gv;
        }
    }
    /* pods/eviction is served under core/v1 resources; the body's apiVersion is what the
     * discovery of the policy group decides. 1.20 lists it in core: check there. */
    json_t *core = NULL;
    if (gs_kube_get(k, "/api/v1", &core, err) == 0) {
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(core, "resources"), j, r) {
            const char *n = json_string_value(json_object_get(r, "name"));
            const char *g = json_string_value(json_object_get(r, "group"));
            const char *v = json_string_value(json_object_get(r, "version"));
            if (n && strcmp(n, "pods/eviction") == 0 && g && v) {
                snprintf(k->evict_gv, sizeof k->evict_gv, "%s/%s", g, v);
                k->evict_known = 1;
            }
        }
        json_decref(core);
        if (k->evict_known == 1) return k->evict_gv;
    }
    gs_error_set(err, GS_EUNSUPPORTED, "the API server offers no Eviction API (policy/v1 or v1beta1)");
    return NULL;
}

int gs_kube_evict(gs_kube *k, const char *ns, const char *pod, gs_error *err) {
    const char *gv = gs_kube_eviction_version(k, err);
    if (!gv) return err ? err->code : GS_EUNSUPPORTED;
    json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", gv, "kind", "Eviction", "metadata",
                             "name", pod, "namespace", ns);
    char p[1024];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/%s/eviction", ns, pod);
    int rc = simple(k, "POST", p, NULL, body, NULL, err);
    json_decref(body);
    return rc;
}

int gs_kube_event(gs_kube *k, const char *api_version, const char *kind, const char *ns,
                  const char *name, const char *uid, const char *type, const char *reason,
                  const char *message, gs_error *err) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *evns = ns && ns[0] ? ns : "default";
    char gen[128];
    snprintf(gen, sizeof gen, "%s.", name && name[0] ? name : "gpuscale");
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:i,s:{s:s},s:s,s:s}",
                           "apiVersion", "v1", "kind", "Event", "metadata", "generateName", gen,
                           "namespace", evns, "involvedObject", "apiVersion", api_version, "kind", kind,
                           "name", name, "type", type, "reason", reason, "message", message,
                           "firstTimestamp", when, "lastTimestamp", when, "count", 1, "source",
                           "component", "gpuscale", "reportingComponent", "gpuscale", "reportingInstance",
                           "gpuscale");
    if (!ev) return GS_ENOMEM;
    json_t *io = json_object_get(ev, "involvedObject");
    if (ns && ns[0]) json_object_set_new(io, "namespace", json_string(ns));
    if (uid && uid[0]) json_object_set_new(io, "uid", json_string(uid));
    char p[512];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/events", evns);
    int rc = gs_kube_create(k, p, ev, NULL, err);
    json_decref(ev);
    return rc;
}

const char *gs_kube_qescape(const char *s, char *out, size_t size) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}
