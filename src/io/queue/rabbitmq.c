/* RabbitMQ source. Primary: the management HTTP API, GET /api/queues/{vhost}/{queue}
 * (`messages` = ready + unacknowledged, `messages_ready` with excludeUnacknowledged, or the
 * publish rate with mode MessageRate). Alternative: AMQP 0-9-1 passive queue.declare
 * (librabbitmq), which counts ready messages only but is not delayed by the management
 * plugin's statistics interval.
 * Metadata (KEDA "rabbitmq" names): host (http[s]://host:port[/vhost] or amqp[s]://...)
 * or hostFromEnv (a URL that may carry user:password), protocol auto|http|amqp, queueName,
 * vhostName, mode QueueLength|MessageRate, excludeUnacknowledged, username or
 * usernameFromEnv + passwordFromEnv/passwordFromFile, unsafeSsl, caFile. */
#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "io/queue/parse.h"
#include "io/queue/qhttp.h"
#include "io/queue/queue.h"

typedef struct qsrc {
    bool amqp;
    bool tls;
    char host[GS_VALUE_LEN];
    int port;
    char vhost[GS_VALUE_LEN];
    char queue[GS_VALUE_LEN];
    char user[GS_VALUE_LEN];
    char pass[GS_QUEUE_SECRET_MAX];
    bool has_pass;
    gs_rabbit_mode mode;
    /* http */
    char base[GS_VALUE_LEN + 16];  /* scheme://host:port (no credentials) */
    char url[GS_VALUE_LEN * 8];
    gs_qhttp http;
    gs_qhttp_tls htls;
    char ca[GS_VALUE_LEN];
    /* amqp */
    amqp_connection_state_t conn;
} qsrc;

static void q_free(qsrc *s) {
    if (!s) return;
    gs_qhttp_free(&s->http);
    memset(s->pass, 0, sizeof s->pass);
    free(s);
}

/* Splits a URL with curl's parser. Credentials found go to user/pass (and *had_pass). */
static int split_url(const gs_trigger *t, const char *url, qsrc *s, bool *had_pass,
                     gs_error *err) {
    CURLU *u = curl_url();
    if (!u) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc = 0;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *pass = NULL;
    *had_pass = false;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: host is not a URL (scheme://host:port/vhost)", t->name);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE);
    curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
    curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE);
    if (!strcmp(scheme, "http") || !strcmp(scheme, "https")) {
        s->amqp = false;
        s->tls = scheme[4] == 's';
        s->port = s->tls ? 443 : 80;
    } else if (!strcmp(scheme, "amqp") || !strcmp(scheme, "amqps")) {
        s->amqp = true;
        s->tls = scheme[4] == 's';
        s->port = s->tls ? 5671 : 5672;
    } else {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: host scheme %s is not http, https, amqp or amqps", t->name, scheme);
        goto out;
    }
    if (port) s->port = atoi(port);
    snprintf(s->host, sizeof s->host, "%s", host);
    const char *vh = path && path[0] == '/' ? path + 1 : (path ? path : "");
    snprintf(s->vhost, sizeof s->vhost, "%s", *vh ? vh : "/");
    if (user) snprintf(s->user, sizeof s->user, "%s", user);
    if (pass) {
        snprintf(s->pass, sizeof s->pass, "%s", pass);
        memset(pass, 0, strlen(pass));
        *had_pass = true;
    }
    snprintf(s->base, sizeof s->base, "%s://%s:%d", scheme, host, s->port);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return rc;
}

static int q_open(gs_queue *q, gs_error *err) {
    const gs_trigger *t = &q->trig;
    qsrc *s = calloc(1, sizeof *s);
    if (!s) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc = 0;
    const char *host = gs_queue_meta(t, "host");
    const char *host_env = gs_queue_meta(t, "hostFromEnv");
    bool had_pass = false;
    if (!!host == !!host_env) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: rabbitmq needs host or hostFromEnv (one of them)", t->name);
        goto fail;
    }
    if (host_env) {
        host = getenv(host_env);
        if (!host) {
            rc = gs_error_set(err, GS_ENOENT, "trigger %s: hostFromEnv: environment variable %s is not set", t->name, host_env);
            goto fail;
        }
    }
    if ((rc = split_url(t, host, s, &had_pass, err))) goto fail;
    if (had_pass && !host_env) {
        rc = gs_error_set(err, GS_EINVAL,
                          "trigger %s: host must not carry a password inline; use hostFromEnv or passwordFromEnv/passwordFile", t->name);
        goto fail;
    }
    const char *proto = gs_queue_meta(t, "protocol");
    if (proto && strcmp(proto, "auto") && strcmp(proto, "http") && strcmp(proto, "amqp")) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: protocol \"%s\" is not auto, http or amqp", t->name, proto);
        goto fail;
    }
    if (proto && strcmp(proto, "auto") && (!strcmp(proto, "amqp")) != s->amqp) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: protocol %s does not match the host URL's scheme", t->name, proto);
        goto fail;
    }
    const char *qn = gs_queue_meta(t, "queueName");
    if (!qn || !*qn) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: rabbitmq needs queueName", t->name);
        goto fail;
    }
    snprintf(s->queue, sizeof s->queue, "%s", qn);
    const char *vh = gs_queue_meta(t, "vhostName");
    if (vh) snprintf(s->vhost, sizeof s->vhost, "%s", vh);
    char user[GS_VALUE_LEN];
    if ((rc = gs_queue_username(t, user, sizeof user, err))) goto fail;
    if (user[0]) snprintf(s->user, sizeof s->user, "%s", user);
    char pw[GS_QUEUE_SECRET_MAX];
    bool found = false;
    if ((rc = gs_queue_secret(t, "password", pw, sizeof pw, &found, err))) goto fail;
    if (found) {
        memcpy(s->pass, pw, sizeof pw);
        memset(pw, 0, sizeof pw);
    }
    s->has_pass = found || had_pass;
    if (s->has_pass && !s->user[0]) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: a password needs a username", t->name);
        goto fail;
    }
    bool excl = false;
    if ((rc = gs_queue_meta_bool(t, "excludeUnacknowledged", false, &excl, err))) goto fail;
    const char *mode = gs_queue_meta(t, "mode");
    s->mode = excl ? GS_RABBIT_MESSAGES_READY : GS_RABBIT_MESSAGES;
    if (mode && !strcmp(mode, "MessageRate")) s->mode = GS_RABBIT_PUBLISH_RATE;
    else if (mode && strcmp(mode, "QueueLength")) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: mode \"%s\" is not QueueLength or MessageRate", t->name, mode);
        goto fail;
    }
    if (s->amqp && (s->mode == GS_RABBIT_PUBLISH_RATE || excl)) {
        rc = gs_error_set(err, GS_EINVAL,
                          "trigger %s: over AMQP only QueueLength of ready messages can be read (MessageRate/excludeUnacknowledged need the http protocol)", t->name);
        goto fail;
    }
    if (s->amqp && s->mode == GS_RABBIT_MESSAGES) s->mode = GS_RABBIT_MESSAGES_READY;
    if ((rc = gs_queue_meta_bool(t, "unsafeSsl", false, &s->htls.insecure, err))) goto fail;
    const char *ca = gs_queue_meta(t, "caFile");
    if (ca) {
        snprintf(s->ca, sizeof s->ca, "%s", ca);
        s->htls.ca_file = s->ca;
    }
    if (!s->amqp) {
        char ev[GS_VALUE_LEN * 3 + 1], eq[GS_VALUE_LEN * 3 + 1];
        gs_qhttp_escape(s->vhost, ev, sizeof ev);
        gs_qhttp_escape(s->queue, eq, sizeof eq);
        /* QueueLength: the queue list endpoint with queue totals straight from the broker's
         * core metrics (refreshed every collect_statistics_interval), filtered to this queue
         * by an anchored, escaped regex. The single-queue endpoint serves the management
         * database's samples instead, whose granularity (5 s by default) delays the reading.
         * MessageRate needs those samples. */
        int ul;
        if (s->mode == GS_RABBIT_PUBLISH_RATE) {
            ul = snprintf(s->url, sizeof s->url, "%s/api/queues/%s/%s", s->base, ev, eq);
        } else {
            char rx[GS_VALUE_LEN * 2 + 3], erx[GS_VALUE_LEN * 6 + 10];
            size_t o = 0;
            rx[o++] = '^';
            for (const char *c = s->queue; *c; c++) {
                if (strchr("\\^$.|?*+()[]{}", *c)) rx[o++] = '\\';
                rx[o++] = *c;
            }
            rx[o++] = '$';
            rx[o] = '\0';
            gs_qhttp_escape(rx, erx, sizeof erx);
            ul = snprintf(s->url, sizeof s->url,
                          "%s/api/queues/%s?page=1&page_size=100&name=%s&use_regex=true"
                          "&disable_stats=true&enable_queue_totals=true",
                          s->base, ev, erx);
        }
        if (ul < 0 || (size_t)ul >= sizeof s->url) {
            rc = gs_error_set(err, GS_ETOOBIG, "trigger %s: management URL too long", t->name);
            goto fail;
        }
    }
    q->impl = s;
    return 0;
fail:
    q_free(s);
    return rc;
}

static int http_read(gs_queue *q, qsrc *s, int64_t *milli, gs_error *err) {
    gs_qhttp_req r = {0};
    r.method = "GET";
    r.url = s->url;
    r.user = s->has_pass ? s->user : NULL;
    r.pass = s->has_pass ? s->pass : NULL;
    r.connect_timeout = q->opts.connect_timeout;
    r.timeout = q->opts.read_timeout;
    r.tls = &s->htls;
    r.what = "rabbitmq";
    r.shown_url = s->base;
    int rc = gs_qhttp_do(&s->http, &r, err);
    if (rc) return rc;
    if (s->http.status == 401 || s->http.status == 403)
        return gs_error_set(err, GS_EAUTH, "rabbitmq: %s refused the credentials (HTTP %ld)",
                            s->base, s->http.status);
    if (s->http.status == 404)
        return gs_error_set(err, GS_ENOENT, "rabbitmq: queue %s in vhost %s not found (HTTP 404)",
                            s->queue, s->vhost);
    if (s->http.status == 400)
        return gs_error_set(err, GS_EPEER, "rabbitmq: HTTP 400 from %s (a management plugin older than 3.8 has no queue totals)",
                            s->base);
    if (s->http.status != 200)
        return gs_error_set(err, GS_EPEER, "rabbitmq: HTTP %ld from %s", s->http.status, s->base);
    rc = gs_qparse_rabbitmq(s->http.body, s->http.len, s->mode, s->queue, milli, err);
    if (rc == GS_ENOENT)
        return gs_error_set(err, GS_ENOENT, "rabbitmq: queue %s in vhost %s not found", s->queue,
                            s->vhost);
    return rc;
}

static int amqp_fail(amqp_rpc_reply_t rep, const char *what, gs_error *err) {
    switch (rep.reply_type) {
    case AMQP_RESPONSE_NORMAL: return 0;
    case AMQP_RESPONSE_NONE: return gs_error_set(err, GS_EIO, "rabbitmq amqp: %s: no reply", what);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return gs_error_set(err, rep.library_error == AMQP_STATUS_TIMEOUT ? GS_ETIMEOUT : GS_EIO,
                            "rabbitmq amqp: %s: %s", what, amqp_error_string2(rep.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (rep.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const amqp_connection_close_t *m = rep.reply.decoded;
            return gs_error_set(err, m->reply_code == 403 ? GS_EAUTH : GS_EPEER,
                                "rabbitmq amqp: %s: server closed the connection: %u %.*s", what,
                                m->reply_code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        }
        if (rep.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const amqp_channel_close_t *m = rep.reply.decoded;
            return gs_error_set(err, m->reply_code == 404 ? GS_ENOENT : GS_EPEER,
                                "rabbitmq amqp: %s: %u %.*s", what, m->reply_code,
                                (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        }
        return gs_error_set(err, GS_EPEER, "rabbitmq amqp: %s: server error", what);
    }
    return gs_error_set(err, GS_EIO, "rabbitmq amqp: %s failed", what);
}

static int amqp_connect(gs_queue *q, qsrc *s, gs_error *err) {
    s->conn = amqp_new_connection();
    if (!s->conn) return gs_error_set(err, GS_ENOMEM, "rabbitmq amqp: cannot allocate a connection");
    amqp_socket_t *sock = s->tls ? amqp_ssl_socket_new(s->conn) : amqp_tcp_socket_new(s->conn);
    if (!sock) return gs_error_set(err, GS_ENOMEM, "rabbitmq amqp: cannot create a socket");
    if (s->tls) {
        amqp_ssl_socket_set_verify_peer(sock, !s->htls.insecure);
        amqp_ssl_socket_set_verify_hostname(sock, !s->htls.insecure);
        if (s->ca[0] && amqp_ssl_socket_set_cacert(sock, s->ca) != AMQP_STATUS_OK)
            return gs_error_set(err, GS_EINVAL, "rabbitmq amqp: cannot load caFile %s", s->ca);
    }
    struct timeval ct = {(time_t)(q->opts.connect_timeout / 1000),
                         (suseconds_t)(q->opts.connect_timeout % 1000 * 1000)};
    int st = amqp_socket_open_noblock(sock, s->host, s->port, &ct);
    if (st != AMQP_STATUS_OK)
        return gs_error_set(err, st == AMQP_STATUS_TIMEOUT || st == AMQP_STATUS_SOCKET_ERROR ? GS_EIO : GS_EIO,
                            "rabbitmq amqp: connect %s:%d: %s", s->host, s->port, amqp_error_string2(st));
    struct timeval rt = {(time_t)(q->opts.read_timeout / 1000),
                         (suseconds_t)(q->opts.read_timeout % 1000 * 1000)};
    amqp_set_rpc_timeout(s->conn, &rt);
    amqp_rpc_reply_t rep = amqp_login(s->conn, s->vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                                      s->user[0] ? s->user : "guest",
                                      s->has_pass ? s->pass : "guest");
    if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
        int rc = amqp_fail(rep, "login", err);
        /* RabbitMQ answers a refused login by closing the socket (ACCESS_REFUSED). */
        if (rep.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            (rep.library_error == AMQP_STATUS_CONNECTION_CLOSED ||
             rep.library_error == AMQP_STATUS_SOCKET_CLOSED))
            rc = gs_error_set(err, GS_EAUTH, "rabbitmq amqp: login as %s refused (connection closed)",
                              s->user[0] ? s->user : "guest");
        return rc;
    }
    amqp_channel_open(s->conn, 1);
    return amqp_fail(amqp_get_rpc_reply(s->conn), "channel.open", err);
}

static int amqp_read(gs_queue *q, qsrc *s, int64_t *milli, gs_error *err) {
    int rc;
    if (!s->conn && (rc = amqp_connect(q, s, err))) return rc;
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(s->conn, 1, amqp_cstring_bytes(s->queue), 1,
                                                     0, 0, 0, amqp_empty_table);
    if (!ok) {
        rc = amqp_fail(amqp_get_rpc_reply(s->conn), "queue.declare (passive)", err);
        return rc ? rc : gs_error_set(err, GS_EIO, "rabbitmq amqp: queue.declare failed");
    }
    return gs_mul64((int64_t)ok->message_count, 1000, milli);
}

static int q_read(gs_queue *q, int64_t *milli, gs_error *err) {
    qsrc *s = q->impl;
    return s->amqp ? amqp_read(q, s, milli, err) : http_read(q, s, milli, err);
}

static void q_disconnect(gs_queue *q) {
    qsrc *s = q->impl;
    if (!s) return;
    if (s->conn) {
        amqp_destroy_connection(s->conn);
        s->conn = NULL;
    }
    gs_qhttp_reset(&s->http);
}

static void q_close(gs_queue *q) {
    q_free(q->impl);
    q->impl = NULL;
}

const gs_queue_ops gs_queue_rabbitmq_ops = {"rabbitmq", q_open, q_read, q_disconnect, q_close};
