/* Reply parsers (see parse.h). */
#include "io/queue/parse.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/qty.h"

static int from_count(long long n, int64_t *milli) {
    if (n < 0) return GS_EPARSE;
    return gs_mul64((int64_t)n, 1000, milli);
}

int gs_qparse_number_milli(const char *s, int64_t *milli) {
    if (!s || !*s) return GS_EPARSE;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) return GS_EPARSE;
    if (v > 9.2e15 || v < -9.2e15) return GS_EOVERFLOW;
    *milli = (int64_t)llround(v * 1000.0);
    return 0;
}

/* ---- Redis ---- */

static redisReplyObjectFunctions guarded_fns;
static pthread_once_t guarded_once = PTHREAD_ONCE_INIT;
static const redisReplyObjectFunctions *default_fns;

static void *guarded_array(const redisReadTask *task, int elements) {
    if (elements < 0 || elements > GS_REDIS_MAX_ELEMENTS) return NULL; /* reader: error */
    return default_fns->createArray(task, elements);
}

static void guarded_init(void) {
    redisReader *r = redisReaderCreate();
    if (!r) return;
    default_fns = r->fn;
    redisReaderFree(r);
    if (!default_fns) return;
    guarded_fns = *default_fns;
    guarded_fns.createArray = guarded_array;
}

void gs_qparse_redis_guard(redisReader *r) {
    pthread_once(&guarded_once, guarded_init);
    if (r && default_fns && r->fn == default_fns) r->fn = &guarded_fns;
}

static int redis_err(const redisReply *r, gs_error *err) {
    const char *s = r->str ? r->str : "";
    int code = (!strncmp(s, "NOAUTH", 6) || !strncmp(s, "WRONGPASS", 9) ||
                !strncmp(s, "NOPERM", 6)) ? GS_EAUTH : GS_EPEER;
    if (!strncmp(s, "NOGROUP", 7)) code = GS_ENOENT;
    return gs_error_set(err, code, "redis error reply: %.200s", s);
}

static int redis_int(const redisReply *r, const char *what, int64_t *milli, gs_error *err) {
    if (r->type == REDIS_REPLY_ERROR) return redis_err(r, err);
    if (r->type != REDIS_REPLY_INTEGER)
        return gs_error_set(err, GS_EPARSE, "redis: %s: expected an integer reply (type %d)", what,
                            r->type);
    if (from_count(r->integer, milli))
        return gs_error_set(err, GS_EPARSE, "redis: %s: count %lld out of range", what, r->integer);
    return 0;
}

int gs_qparse_redis(const redisReply *r, gs_redis_mode mode, const char *group,
                    int64_t *milli, gs_error *err) {
    if (!r) return gs_error_set(err, GS_EPARSE, "redis: no reply");
    switch (mode) {
    case GS_REDIS_LLEN: return redis_int(r, "LLEN", milli, err);
    case GS_REDIS_XLEN: return redis_int(r, "XLEN", milli, err);
    case GS_REDIS_XPENDING:
        if (r->type == REDIS_REPLY_ERROR) return redis_err(r, err);
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !r->element || !r->element[0])
            return gs_error_set(err, GS_EPARSE, "redis: XPENDING: expected a summary array");
        return redis_int(r->element[0], "XPENDING count", milli, err);
    case GS_REDIS_LAG:
        if (r->type == REDIS_REPLY_ERROR) return redis_err(r, err);
        if (r->type != REDIS_REPLY_ARRAY)
            return gs_error_set(err, GS_EPARSE, "redis: XINFO GROUPS: expected an array");
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *g = r->element ? r->element[i] : NULL;
            if (!g || g->type != REDIS_REPLY_ARRAY || g->elements % 2)
                return gs_error_set(err, GS_EPARSE, "redis: XINFO GROUPS: entry %zu is not a map", i);
            const redisReply *name = NULL, *lag = NULL;
            for (size_t k = 0; k + 1 < g->elements; k += 2) {
                const redisReply *key = g->element[k];
                if (!key || (key->type != REDIS_REPLY_STRING && key->type != REDIS_REPLY_STATUS) || !key->str)
                    continue;
                if (!strcmp(key->str, "name")) name = g->element[k + 1];
                else if (!strcmp(key->str, "lag")) lag = g->element[k + 1];
            }
            if (!name || name->type != REDIS_REPLY_STRING || !name->str || !group ||
                strcmp(name->str, group) != 0)
                continue;
            if (!lag)
                return gs_error_set(err, GS_EUNSUPPORTED,
                                    "redis: XINFO GROUPS has no lag field (needs Redis >= 7.0)");
            if (lag->type == REDIS_REPLY_NIL)
                return gs_error_set(err, GS_EPEER,
                                    "redis: group %.64s: lag is unknown to the server (nil)", group);
            return redis_int(lag, "XINFO GROUPS lag", milli, err);
        }
        return gs_error_set(err, GS_ENOENT, "redis: consumer group %.64s not found",
                            group ? group : "(none)");
    }
    return gs_error_set(err, GS_EINVAL, "redis: bad mode");
}

/* ---- JSON replies ---- */

static json_t *load(const char *body, size_t len, const char *who, gs_error *err) {
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        gs_error_set(err, GS_EPARSE, "%s: reply is not JSON (line %d col %d: %.120s)", who,
                     je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        gs_error_set(err, GS_EPARSE, "%s: reply is not a JSON object", who);
        return NULL;
    }
    return j;
}

static int json_num_milli(const json_t *v, int64_t *milli) {
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0) return GS_EPARSE;
        return gs_mul64((int64_t)n, 1000, milli);
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0 || d > 9.2e15) return GS_EPARSE;
        *milli = (int64_t)llround(d * 1000.0);
        return 0;
    }
    return GS_EPARSE;
}

int gs_qparse_rabbitmq(const char *body, size_t len, gs_rabbit_mode mode, const char *queue,
                       int64_t *milli, gs_error *err) {
    json_t *top = load(body, len, "rabbitmq", err);
    if (!top) return GS_EPARSE;
    int rc = 0;
    const json_t *j = top;
    const json_t *items = json_object_get(top, "items");
    if (items) {
        j = NULL;
        if (!json_is_array(items)) {
            json_decref(top);
            return gs_error_set(err, GS_EPARSE, "rabbitmq: \"items\" is not an array");
        }
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            const char *n = json_string_value(json_object_get(it, "name"));
            if (json_is_object(it) && n && (!queue || !strcmp(n, queue))) {
                j = it;
                break;
            }
        }
        if (!j) {
            json_decref(top);
            return gs_error_set(err, GS_ENOENT, "rabbitmq: queue %.100s not found", queue ? queue : "(any)");
        }
    }
    const json_t *e = json_object_get(j, "error");
    if (e && json_is_string(e)) {
        const char *reason = json_string_value(json_object_get(j, "reason"));
        rc = gs_error_set(err, !strcmp(json_string_value(e), "not_found") ? GS_ENOENT : GS_EPEER,
                          "rabbitmq: %.80s: %.200s", json_string_value(e), reason ? reason : "");
    } else if (mode == GS_RABBIT_PUBLISH_RATE) {
        const json_t *ms = json_object_get(j, "message_stats");
        const json_t *pd = ms ? json_object_get(ms, "publish_details") : NULL;
        const json_t *rate = pd ? json_object_get(pd, "rate") : NULL;
        if (!ms || !pd || !rate) *milli = 0; /* nothing published yet: no stats */
        else if (json_num_milli(rate, milli))
            rc = gs_error_set(err, GS_EPARSE, "rabbitmq: message_stats.publish_details.rate is not a non-negative number");
    } else {
        const char *f = mode == GS_RABBIT_MESSAGES ? "messages" : "messages_ready";
        const json_t *v = json_object_get(j, f);
        if (!v)
            rc = gs_error_set(err, GS_EPARSE, "rabbitmq: reply has no \"%s\" (statistics not collected yet?)", f);
        else if (json_num_milli(v, milli))
            rc = gs_error_set(err, GS_EPARSE, "rabbitmq: \"%s\" is not a non-negative number", f);
    }
    json_decref(top);
    return rc;
}

static int prom_value(const json_t *pair, int64_t *milli, gs_error *err) {
    if (!json_is_array(pair) || json_array_size(pair) != 2 ||
        !json_is_string(json_array_get(pair, 1)))
        return gs_error_set(err, GS_EPARSE, "prometheus: a value must be [time, \"number\"]");
    const char *s = json_string_value(json_array_get(pair, 1));
    int rc = gs_qparse_number_milli(s, milli);
    if (rc)
        return gs_error_set(err, GS_EPARSE, "prometheus: value \"%.40s\" is not a finite number in range", s);
    return 0;
}

int gs_qparse_prometheus(const char *body, size_t len, bool empty_is_zero, int64_t *milli,
                         gs_error *err) {
    json_t *j = load(body, len, "prometheus", err);
    if (!j) return GS_EPARSE;
    int rc = 0;
    const char *status = json_string_value(json_object_get(j, "status"));
    const json_t *data = json_object_get(j, "data");
    const char *rtype = data ? json_string_value(json_object_get(data, "resultType")) : NULL;
    const json_t *res = data ? json_object_get(data, "result") : NULL;
    if (!status) {
        rc = gs_error_set(err, GS_EPARSE, "prometheus: reply has no status");
    } else if (strcmp(status, "success") != 0) {
        const char *et = json_string_value(json_object_get(j, "errorType"));
        const char *em = json_string_value(json_object_get(j, "error"));
        rc = gs_error_set(err, GS_EPEER, "prometheus: query failed: %.40s: %.200s", et ? et : "?",
                          em ? em : "?");
    } else if (!rtype || !res) {
        rc = gs_error_set(err, GS_EPARSE, "prometheus: reply has no data.resultType/result");
    } else if (!strcmp(rtype, "scalar")) {
        rc = prom_value(res, milli, err);
    } else if (!strcmp(rtype, "vector")) {
        if (!json_is_array(res)) {
            rc = gs_error_set(err, GS_EPARSE, "prometheus: vector result is not an array");
        } else if (json_array_size(res) == 0) {
            if (empty_is_zero) *milli = 0;
            else
                rc = gs_error_set(err, GS_ENOENT, "prometheus: query returned no series (ignoreNullValues is false)");
        } else if (json_array_size(res) > 1) {
            rc = gs_error_set(err, GS_EPARSE,
                              "prometheus: query returned %zu series; it must return at most one (aggregate it, e.g. sum(...))",
                              json_array_size(res));
        } else {
            const json_t *s0 = json_array_get(res, 0);
            rc = prom_value(json_is_object(s0) ? json_object_get(s0, "value") : NULL, milli, err);
        }
    } else {
        rc = gs_error_set(err, GS_EPARSE, "prometheus: result type %.20s is not a vector or scalar",
                          rtype);
    }
    json_decref(j);
    return rc;
}

static int sqs_attr(const json_t *attrs, const char *name, int64_t *sum, gs_error *err) {
    const json_t *v = json_object_get(attrs, name);
    if (!v || !json_is_string(v))
        return gs_error_set(err, GS_EPARSE, "sqs: reply has no attribute %s", name);
    const char *s = json_string_value(v);
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || *end || errno || n < 0)
        return gs_error_set(err, GS_EPARSE, "sqs: %s is not a count: \"%.32s\"", name, s);
    int64_t m;
    if (from_count(n, &m) || gs_add64(*sum, m, sum))
        return gs_error_set(err, GS_EPARSE, "sqs: %s out of range", name);
    return 0;
}

int gs_qparse_sqs(const char *body, size_t len, bool in_flight, bool delayed, int64_t *milli,
                  gs_error *err) {
    json_t *j = load(body, len, "sqs", err);
    if (!j) return GS_EPARSE;
    int rc = 0;
    const char *type = json_string_value(json_object_get(j, "__type"));
    const json_t *attrs = json_object_get(j, "Attributes");
    if (type) {
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m) m = json_string_value(json_object_get(j, "Message"));
        int code = GS_EPEER;
        if (strstr(type, "QueueDoesNotExist") || strstr(type, "NonExistentQueue")) code = GS_ENOENT;
        if (strstr(type, "Signature") || strstr(type, "AccessDenied") ||
            strstr(type, "InvalidClientTokenId") || strstr(type, "UnrecognizedClient") ||
            strstr(type, "ExpiredToken"))
            code = GS_EAUTH;
        rc = gs_error_set(err, code, "sqs: %.120s: %.200s", type, m ? m : "");
    } else if (!json_is_object(attrs)) {
        rc = gs_error_set(err, GS_EPARSE, "sqs: reply has no Attributes object");
    } else {
        int64_t sum = 0;
        rc = sqs_attr(attrs, "ApproximateNumberOfMessages", &sum, err);
        if (!rc && in_flight) rc = sqs_attr(attrs, "ApproximateNumberOfMessagesNotVisible", &sum, err);
        if (!rc && delayed) rc = sqs_attr(attrs, "ApproximateNumberOfMessagesDelayed", &sum, err);
        if (!rc) *milli = sum;
    }
    json_decref(j);
    return rc;
}
