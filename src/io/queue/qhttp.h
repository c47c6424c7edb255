/* A small libcurl client for the HTTP sources (RabbitMQ management, Prometheus, SQS): one
 * reusable handle (keep-alive), connect and total timeouts, TLS options, a capped body. */
#ifndef GS_IO_QUEUE_QHTTP_H
#define GS_IO_QUEUE_QHTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "model/err.h"
#include "model/qty.h"

typedef struct gs_qhttp {
    void *curl;                  /* CURL*, created on first use */
    char *body;                  /* last reply body (NUL-terminated), owned */
    size_t len, cap;
    bool toobig;
    long status;
} gs_qhttp;

typedef struct gs_qhttp_tls {
    const char *ca_file;         /* NULL = system store */
    const char *cert_file;       /* client certificate (optional) */
    const char *key_file;
    bool insecure;               /* unsafeSsl: skip verification */
} gs_qhttp_tls;

typedef struct gs_qhttp_req {
    const char *method;          /* "GET" / "POST" */
    const char *url;
    const char *const *headers;  /* "Name: value", NULL-terminated; may be NULL */
    const char *body;
    size_t body_len;
    const char *user, *pass;     /* basic auth (both or neither) */
    gs_ms connect_timeout, timeout;
    const gs_qhttp_tls *tls;
    const char *what;            /* for messages: "rabbitmq", "prometheus", ... */
    const char *shown_url;       /* URL for messages (redacted); NULL = url */
} gs_qhttp_req;

/* Performs the request. 0 on any HTTP status (h->status, h->body); GS_ETIMEOUT, GS_EIO,
 * GS_ETOOBIG (body over GS_QUEUE_BODY_MAX) otherwise. */
int gs_qhttp_do(gs_qhttp *h, const gs_qhttp_req *r, gs_error *err);
/* Drops the connection (the next request reconnects). */
void gs_qhttp_reset(gs_qhttp *h);
void gs_qhttp_free(gs_qhttp *h);

/* Percent-encodes s (RFC 3986 unreserved kept) into out; returns 0 or GS_ETOOBIG. */
int gs_qhttp_escape(const char *s, char *out, size_t cap);

#endif
