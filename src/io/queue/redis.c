/* Redis source (hiredis): LLEN, XLEN, XPENDING summary count, XINFO GROUPS lag.
 * Metadata (KEDA "redis" / "redis-streams" names): address ("host:port" or a unix socket
 * path) or host + port (address wins when both are there); databaseIndex; username or
 * usernameFromEnv; password via passwordFromEnv / passwordFromFile (or passwordFile);
 * listName (lists); stream, consumerGroup and the mode (streams): mode xlen|xpending|lag, or
 * scaleBy (pendingEntriesCount|streamLength|lagCount, written by io/config), or KEDA's target
 * name present as a key (streamLength, pendingEntriesCount, lagCount).
 * enableTLS: refused, hiredis 0.14 (Debian bookworm) has no TLS. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "io/queue/parse.h"
#include "io/queue/queue.h"

typedef struct rsrc {
    char host[GS_VALUE_LEN];
    int port;
    bool unix_socket;
    int db;
    char user[GS_VALUE_LEN];
    char pass[GS_QUEUE_SECRET_MAX];
    bool has_pass;
    char key[GS_VALUE_LEN];
    char group[GS_VALUE_LEN];
    gs_redis_mode mode;
    redisContext *c;
} rsrc;

static struct timeval tv_of(gs_ms ms) {
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int r_open(gs_queue *q, gs_error *err) {
    const gs_trigger *t = &q->trig;
    rsrc *r = calloc(1, sizeof *r);
    if (!r) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc = 0;
    const char *addr = gs_queue_meta(t, "address");
    const char *host = gs_queue_meta(t, "host");
    const char *port = gs_queue_meta(t, "port");
    bool tls = false;
    if ((rc = gs_queue_meta_bool(t, "enableTLS", false, &tls, err))) goto fail;
    if (tls) {
        rc = gs_error_set(err, GS_EUNSUPPORTED,
                          "trigger %s: enableTLS: this build's hiredis (0.14) has no TLS; reach Redis over a unix socket or a TLS tunnel",
                          t->name);
        goto fail;
    }
    /* io/config writes address from host/port and keeps both: address wins. */
    if (addr && (addr[0] == '/' || !strncmp(addr, "unix:", 5))) {
        snprintf(r->host, sizeof r->host, "%s", addr[0] == '/' ? addr : addr + 5);
        r->unix_socket = true;
    } else if (addr) {
        const char *colon = strrchr(addr, ':');
        if (!colon || colon == addr || parse_int(colon + 1, 1, 65535, &r->port)) {
            rc = gs_error_set(err, GS_EINVAL, "trigger %s: address \"%s\" must be host:port", t->name, addr);
            goto fail;
        }
        snprintf(r->host, sizeof r->host, "%.*s", (int)(colon - addr), addr);
    } else if (host) {
        snprintf(r->host, sizeof r->host, "%s", host);
        r->port = 6379;
        if (port && parse_int(port, 1, 65535, &r->port)) {
            rc = gs_error_set(err, GS_EINVAL, "trigger %s: port \"%s\" is not 1..65535", t->name, port);
            goto fail;
        }
    } else {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: redis needs address (host:port) or host", t->name);
        goto fail;
    }
    const char *db = gs_queue_meta(t, "databaseIndex");
    if (db && parse_int(db, 0, 1 << 20, &r->db)) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: databaseIndex \"%s\" is not a number", t->name, db);
        goto fail;
    }
    if ((rc = gs_queue_username(t, r->user, sizeof r->user, err))) goto fail;
    if ((rc = gs_queue_secret(t, "password", r->pass, sizeof r->pass, &r->has_pass, err))) goto fail;
    if (t->type == GS_TRIG_REDIS_LIST) {
        const char *l = gs_queue_meta(t, "listName");
        if (!l || !*l) {
            rc = gs_error_set(err, GS_EINVAL, "trigger %s: redis needs listName", t->name);
            goto fail;
        }
        snprintf(r->key, sizeof r->key, "%s", l);
        r->mode = GS_REDIS_LLEN;
    } else {
        const char *s = gs_queue_meta(t, "stream");
        const char *g = gs_queue_meta(t, "consumerGroup");
        const char *m = gs_queue_meta(t, "mode");
        const char *by = gs_queue_meta(t, "scaleBy"); /* written by io/config */
        if (!m && by) {
            if (!strcmp(by, "pendingEntriesCount")) m = "xpending";
            else if (!strcmp(by, "streamLength")) m = "xlen";
            else if (!strcmp(by, "lagCount")) m = "lag";
        }
        if (!s || !*s) {
            rc = gs_error_set(err, GS_EINVAL, "trigger %s: redis-streams needs stream", t->name);
            goto fail;
        }
        snprintf(r->key, sizeof r->key, "%s", s);
        if (g) snprintf(r->group, sizeof r->group, "%s", g);
        if (m && !strcmp(m, "xlen")) r->mode = GS_REDIS_XLEN;
        else if (m && !strcmp(m, "xpending")) r->mode = GS_REDIS_XPENDING;
        else if (m && !strcmp(m, "lag")) r->mode = GS_REDIS_LAG;
        else if (m) {
            rc = gs_error_set(err, GS_EINVAL, "trigger %s: mode \"%s\" is not xlen, xpending or lag", t->name, m);
            goto fail;
        } else if (gs_queue_meta(t, "lagCount")) r->mode = GS_REDIS_LAG;
        else if (gs_queue_meta(t, "streamLength")) r->mode = GS_REDIS_XLEN;
        else r->mode = g ? GS_REDIS_XPENDING : GS_REDIS_XLEN;
        if ((r->mode == GS_REDIS_XPENDING || r->mode == GS_REDIS_LAG) && !g) {
            rc = gs_error_set(err, GS_EINVAL, "trigger %s: redis-streams mode %s needs consumerGroup",
                              t->name, r->mode == GS_REDIS_LAG ? "lag" : "xpending");
            goto fail;
        }
    }
    q->impl = r;
    return 0;
fail:
    memset(r->pass, 0, sizeof r->pass);
    free(r);
    return rc;
}

static int ctx_err(const redisContext *c, const char *what, gs_error *err) {
    if (c->err == REDIS_ERR_OOM)
        return gs_error_set(err, GS_EPARSE,
                            "redis: %s: reply refused (an array of more than %d elements, or out of memory)",
                            what, GS_REDIS_MAX_ELEMENTS);
    if (c->err == REDIS_ERR_PROTOCOL)
        return gs_error_set(err, GS_EPARSE, "redis: %s: not the Redis protocol: %s", what, c->errstr);
    bool timeout = c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable");
    return gs_error_set(err, timeout ? GS_ETIMEOUT : GS_EIO, "redis: %s: %s", what,
                        timeout ? "timed out" : c->errstr);
}

static int r_connect(gs_queue *q, rsrc *r, gs_error *err) {
    struct timeval ct = tv_of(q->opts.connect_timeout);
    r->c = r->unix_socket ? redisConnectUnixWithTimeout(r->host, ct)
                          : redisConnectWithTimeout(r->host, r->port, ct);
    if (!r->c) return gs_error_set(err, GS_ENOMEM, "redis: cannot allocate a connection");
    if (r->c->err) return ctx_err(r->c, "connect", err);
    gs_qparse_redis_guard(r->c->reader);
    if (redisSetTimeout(r->c, tv_of(q->opts.read_timeout)) != REDIS_OK)
        return gs_error_set(err, GS_EIO, "redis: cannot set the read timeout");
    redisReply *rep = NULL;
    if (r->has_pass) {
        rep = r->user[0] ? redisCommand(r->c, "AUTH %s %s", r->user, r->pass)
                         : redisCommand(r->c, "AUTH %s", r->pass);
        if (!rep) return ctx_err(r->c, "AUTH", err);
        if (rep->type == REDIS_REPLY_ERROR) {
            int rc = gs_error_set(err, GS_EAUTH, "redis: authentication refused: %.120s",
                                  rep->str ? rep->str : "");
            freeReplyObject(rep);
            return rc;
        }
        freeReplyObject(rep);
    }
    if (r->db) {
        rep = redisCommand(r->c, "SELECT %d", r->db);
        if (!rep) return ctx_err(r->c, "SELECT", err);
        int bad = rep->type == REDIS_REPLY_ERROR;
        int rc = bad ? gs_error_set(err, GS_EPEER, "redis: SELECT %d: %.120s", r->db,
                                    rep->str ? rep->str : "") : 0;
        freeReplyObject(rep);
        if (rc) return rc;
    }
    return 0;
}

static int r_read(gs_queue *q, int64_t *milli, gs_error *err) {
    rsrc *r = q->impl;
    int rc;
    if (!r->c && (rc = r_connect(q, r, err))) return rc;
    redisReply *rep = NULL;
    switch (r->mode) {
    case GS_REDIS_LLEN: rep = redisCommand(r->c, "LLEN %s", r->key); break;
    case GS_REDIS_XLEN: rep = redisCommand(r->c, "XLEN %s", r->key); break;
    case GS_REDIS_XPENDING: rep = redisCommand(r->c, "XPENDING %s %s", r->key, r->group); break;
    case GS_REDIS_LAG: rep = redisCommand(r->c, "XINFO GROUPS %s", r->key); break;
    }
    if (!rep) return ctx_err(r->c, "read", err);
    rc = gs_qparse_redis(rep, r->mode, r->group, milli, err);
    freeReplyObject(rep);
    /* A missing stream is an empty queue for XLEN (KEDA does the same for lists: LLEN 0). */
    return rc;
}

static void r_disconnect(gs_queue *q) {
    rsrc *r = q->impl;
    if (r && r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

static void r_close(gs_queue *q) {
    rsrc *r = q->impl;
    if (!r) return;
    memset(r->pass, 0, sizeof r->pass);
    free(r);
    q->impl = NULL;
}

const gs_queue_ops gs_queue_redis_ops = {"redis", r_open, r_read, r_disconnect, r_close};
