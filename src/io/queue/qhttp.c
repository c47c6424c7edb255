/* HTTP client for the sources (see qhttp.h). */
#include "io/queue/qhttp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/queue/queue.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    gs_qhttp *h = ud;
    size_t add = size * n;
    if (h->len + add + 1 > GS_QUEUE_BODY_MAX) {
        h->toobig = true;
        return 0; /* aborts the transfer */
    }
    if (h->len + add + 1 > h->cap) {
        size_t nc = h->cap ? h->cap : 4096;
        while (nc < h->len + add + 1) nc *= 2;
        char *nb = realloc(h->body, nc);
        if (!nb) return 0;
        h->body = nb;
        h->cap = nc;
    }
    memcpy(h->body + h->len, p, add);
    h->len += add;
    h->body[h->len] = '\0';
    return add;
}

int gs_qhttp_escape(const char *s, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (o + (keep ? 1 : 3) + 1 > cap) return GS_ETOOBIG;
        if (keep) out[o++] = (char)c;
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o + 1 > cap) return GS_ETOOBIG;
    out[o] = '\0';
    return 0;
}

int gs_qhttp_do(gs_qhttp *h, const gs_qhttp_req *r, gs_error *err) {
    static bool global_done = false;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = true;
    }
    if (!h->curl && !(h->curl = curl_easy_init()))
        return gs_error_set(err, GS_ENOMEM, "%s: cannot create an HTTP handle", r->what);
    CURL *c = h->curl;
    curl_easy_reset(c);
    h->len = 0;
    h->toobig = false;
    h->status = 0;
    if (h->body) h->body[0] = '\0';
    const char *shown = r->shown_url ? r->shown_url : r->url;
    struct curl_slist *hl = NULL;
    for (const char *const *p = r->headers; p && *p; p++) {
        struct curl_slist *n = curl_slist_append(hl, *p);
        if (!n) {
            curl_slist_free_all(hl);
            return gs_error_set(err, GS_ENOMEM, "%s: out of memory", r->what);
        }
        hl = n;
    }
    char ebuf[CURL_ERROR_SIZE];
    ebuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->connect_timeout);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->connect_timeout + r->timeout));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "gpuscale/" GS_VERSION);
    if (hl) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (r->method && !strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if (r->user && r->pass) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, r->pass);
    }
    if (r->tls) {
        if (r->tls->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, r->tls->ca_file);
        if (r->tls->cert_file) curl_easy_setopt(c, CURLOPT_SSLCERT, r->tls->cert_file);
        if (r->tls->key_file) curl_easy_setopt(c, CURLOPT_SSLKEY, r->tls->key_file);
        if (r->tls->insecure) {
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* ebuf is about to go out of scope */
    if (h->toobig)
        return gs_error_set(err, GS_ETOOBIG, "%s: reply from %s is larger than %d bytes", r->what,
                            shown, GS_QUEUE_BODY_MAX);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return gs_error_set(err, GS_ETIMEOUT, "%s: %s: timed out", r->what, shown);
    if (cc != CURLE_OK) {
        /* curl's detail may name the URL with its query: keep it out when a redacted one is set */
        bool detail = ebuf[0] && (!r->shown_url || !strstr(ebuf, "http"));
        return gs_error_set(err, GS_EIO, "%s: %s: %s%s%s", r->what, shown, curl_easy_strerror(cc),
                            detail ? ": " : "", detail ? ebuf : "");
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    if (!h->body) {
        h->body = malloc(1);
        if (!h->body) return gs_error_set(err, GS_ENOMEM, "%s: out of memory", r->what);
        h->body[0] = '\0';
        h->cap = 1;
    }
    return 0;
}

void gs_qhttp_reset(gs_qhttp *h) {
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        h->curl = NULL;
    }
}

void gs_qhttp_free(gs_qhttp *h) {
    gs_qhttp_reset(h);
    free(h->body);
    memset(h, 0, sizeof *h);
}
