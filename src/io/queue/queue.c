/* Queue sources: the common part (see queue.h). */
#include "io/queue/queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/log.h"

const gs_queue_ops *gs_queue_ops_for(const gs_trigger *t) {
    switch (t->type) {
    case GS_TRIG_REDIS_LIST:
    case GS_TRIG_REDIS_STREAM: return &gs_queue_redis_ops;
    case GS_TRIG_RABBITMQ: return &gs_queue_rabbitmq_ops;
    case GS_TRIG_PROMETHEUS: return &gs_queue_prometheus_ops;
    case GS_TRIG_SQS: return &gs_queue_sqs_ops;
    case GS_TRIG_SIM: return NULL;
    }
    return NULL;
}

const char *gs_queue_meta(const gs_trigger *t, const char *key) {
    for (int32_t i = 0; i < t->nmeta && i < GS_MAX_META; i++)
        if (!strcmp(t->meta[i].key, key)) return t->meta[i].value;
    return NULL;
}

int gs_queue_meta_bool(const gs_trigger *t, const char *key, bool def, bool *out, gs_error *err) {
    const char *v = gs_queue_meta(t, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!strcmp(v, "true")) *out = true;
    else if (!strcmp(v, "false")) *out = false;
    else
        return gs_error_set(err, GS_EINVAL, "trigger %s: %s must be true or false, not \"%s\"",
                            t->name, key, v);
    return 0;
}

int gs_queue_secret(const gs_trigger *t, const char *param, char *out, size_t cap, bool *found,
                    gs_error *err) {
    char k[96];
    *found = false;
    if (cap) out[0] = '\0';
    if (gs_queue_meta(t, param))
        return gs_error_set(err, GS_EINVAL,
                            "trigger %s: %s must not be written inline; use %sFromEnv or %sFile",
                            t->name, param, param, param);
    snprintf(k, sizeof k, "%sFromEnv", param);
    const char *env = gs_queue_meta(t, k);
    snprintf(k, sizeof k, "%sFile", param);
    const char *file = gs_queue_meta(t, k);
    snprintf(k, sizeof k, "%sFromFile", param);
    const char *file2 = gs_queue_meta(t, k);
    if (file && file2)
        return gs_error_set(err, GS_EINVAL, "trigger %s: give %sFile or %sFromFile, not both",
                            t->name, param, param);
    if (!file) file = file2;
    if (env && file)
        return gs_error_set(err, GS_EINVAL, "trigger %s: give %sFromEnv or %sFile, not both",
                            t->name, param, param);
    if (env) {
        const char *v = getenv(env);
        if (!v)
            return gs_error_set(err, GS_ENOENT, "trigger %s: %s: environment variable %s is not set",
                                t->name, param, env);
        if (strlen(v) >= cap)
            return gs_error_set(err, GS_ETOOBIG, "trigger %s: %s from %s is too long", t->name,
                                param, env);
        memcpy(out, v, strlen(v) + 1);
        *found = true;
        return 0;
    }
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f)
            return gs_error_set(err, GS_ENOENT, "trigger %s: %s: cannot open %s: %s", t->name,
                                param, file, strerror(errno));
        size_t n = fread(out, 1, cap, f);
        bool more = n == cap;
        fclose(f);
        if (more)
            return gs_error_set(err, GS_ETOOBIG, "trigger %s: %s: %s is longer than %zu bytes",
                                t->name, param, file, cap - 1);
        out[n] = '\0';
        if (n > 0 && out[n - 1] == '\n') out[--n] = '\0';
        if (n > 0 && out[n - 1] == '\r') out[--n] = '\0';
        *found = true;
        return 0;
    }
    return 0;
}

int gs_queue_username(const gs_trigger *t, char *out, size_t cap, gs_error *err) {
    const char *u = gs_queue_meta(t, "username");
    const char *env = gs_queue_meta(t, "usernameFromEnv");
    if (cap) out[0] = '\0';
    if (u && env)
        return gs_error_set(err, GS_EINVAL, "trigger %s: give username or usernameFromEnv, not both",
                            t->name);
    if (env) {
        u = getenv(env);
        if (!u)
            return gs_error_set(err, GS_ENOENT,
                                "trigger %s: usernameFromEnv: environment variable %s is not set",
                                t->name, env);
    }
    if (u && strlen(u) >= cap)
        return gs_error_set(err, GS_ETOOBIG, "trigger %s: username too long", t->name);
    if (u) memcpy(out, u, strlen(u) + 1);
    return 0;
}

gs_ms gs_queue_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gs_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gs_queue_open(gs_queue *q, const gs_trigger *t, const gs_queue_opts *o, gs_error *err) {
    memset(q, 0, sizeof *q);
    q->ops = gs_queue_ops_for(t);
    if (!q->ops)
        return gs_error_set(err, GS_EUNSUPPORTED, "trigger %s: type %s has no queue source",
                            t->name, gs_trigger_type_name(t->type));
    q->trig = *t;
    q->opts.connect_timeout = o && o->connect_timeout > 0 ? o->connect_timeout : GS_SEC(2);
    q->opts.read_timeout = o && o->read_timeout > 0 ? o->read_timeout : GS_SEC(2);
    int rc = q->ops->open(q, err);
    if (rc) {
        memset(q, 0, sizeof *q);
        return rc;
    }
    return 0;
}

int gs_queue_read(gs_queue *q, int64_t *value_milli, gs_error *err) {
    gs_error local;
    gs_error *e = err ? err : &local;
    gs_error_clear(e);
    if (!q->ops)
        return gs_error_set(e, GS_EINVAL, "queue source is not open");
    q->reads++;
    int rc = q->ops->read(q, value_milli, e);
    if (rc) {
        q->failures++;
        q->ops->disconnect(q);
        if (!q->failing || q->last_code != rc)
            gs_log_warn("queue read failed", "source=%s trigger=%s err=%s reason=\"%s\"",
                        q->ops->kind, q->trig.name, gs_err_name(rc), e->msg);
        q->failing = true;
        q->last_code = rc;
        snprintf(q->last_err, sizeof q->last_err, "%s", e->msg);
        return rc;
    }
    if (q->failing)
        gs_log_info("queue reading resumed", "source=%s trigger=%s", q->ops->kind, q->trig.name);
    q->failing = false;
    q->last_err[0] = '\0';
    return 0;
}

void gs_queue_close(gs_queue *q) {
    if (q->ops) {
        q->ops->disconnect(q);
        q->ops->close(q);
    }
    memset(q, 0, sizeof *q);
}
