#include "io/http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gs_http {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    bool ready;
    char *metrics;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *ctype, const char *body) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version; (void)upload; (void)upload_size; (void)con_cls;
    gs_http *h = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n");
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/livez") == 0) return reply(c, 200, "text/plain", "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        pthread_mutex_lock(&h->mu);
        bool r = h->ready;
        pthread_mutex_unlock(&h->mu);
        return r ? reply(c, 200, "text/plain", "ok\n") : reply(c, 503, "text/plain", "caches not synced\n");
    }
    if (strcmp(url, "/metrics") == 0) {
        pthread_mutex_lock(&h->mu);
        char *m = strdup(h->metrics ? h->metrics : "");
        pthread_mutex_unlock(&h->mu);
        if (!m) return MHD_NO;
        enum MHD_Result ret = reply(c, 200, "text/plain; version=0.0.4", m);
        free(m);
        return ret;
    }
    return reply(c, 404, "text/plain", "not found\n");
}

int gs_http_start(const char *addr, int port, gs_http **out, gs_error *err) {
    *out = NULL;
    gs_http *h = calloc(1, sizeof *h);
    if (!h) return GS_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        free(h);
        return gs_error_set(err, GS_EINVAL, "http: bad listen address \"%s\" (IPv4 expected)", addr);
    }
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!h->d) {
        pthread_mutex_destroy(&h->mu);
        free(h);
        return gs_error_set(err, GS_EIO, "http: cannot listen on %s:%d", addr, port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : port;
    *out = h;
    return 0;
}

void gs_http_stop(gs_http *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->mu);
    free(h->metrics);
    free(h);
}

int gs_http_port(const gs_http *h) { return h->port; }

void gs_http_set_ready(gs_http *h, bool ready) {
    pthread_mutex_lock(&h->mu);
    h->ready = ready;
    pthread_mutex_unlock(&h->mu);
}

void gs_http_set_metrics(gs_http *h, const char *text) {
    char *m = strdup(text);
    pthread_mutex_lock(&h->mu);
    free(h->metrics);
    h->metrics = m;
    pthread_mutex_unlock(&h->mu);
}
