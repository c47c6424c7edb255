/* Queue sources: one interface (a table of function pointers, like Redis' connection types)
 * over Redis, RabbitMQ, Prometheus and AWS SQS. A source is configured from a gs_trigger
 * (type + KEDA-style metadata, docs/scaling.md), opened without touching the network, and
 * read as often as the caller likes; each read returns the metric x 1000.
 *
 * Failure model: a read that fails (peer down, slow past the read timeout, garbage, auth
 * refused) returns a negative gs_err with a clear message, logs one line (only when the
 * failure starts or its error code changes, and once when reading resumes), and drops the
 * connection; the next read reconnects, so reading resumes by itself when the peer is back.
 * Credentials come from environment variables (`<param>FromEnv`) or files (`<param>File`);
 * they are never logged and never accepted inline. */
#ifndef GS_IO_QUEUE_QUEUE_H
#define GS_IO_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/err.h"
#include "model/objects.h"
#include "model/qty.h"

#define GS_QUEUE_SECRET_MAX 4096     /* longest credential read from env or file */
#define GS_QUEUE_BODY_MAX (1 << 20)  /* largest HTTP reply accepted from a peer */

typedef struct gs_queue_opts {
    gs_ms connect_timeout;           /* default 2 s */
    gs_ms read_timeout;              /* default 2 s */
} gs_queue_opts;

typedef struct gs_queue gs_queue;

typedef struct gs_queue_ops {
    const char *kind;                                   /* "redis", "rabbitmq-http", ... */
    /* Parse and check the trigger's metadata into q->impl (no network). */
    int (*open)(gs_queue *q, gs_error *err);
    /* One reading; connects first when needed. */
    int (*read)(gs_queue *q, int64_t *value_milli, gs_error *err);
    /* Drop the connection (kept config); the next read reconnects. */
    void (*disconnect)(gs_queue *q);
    /* Free everything q->impl holds. */
    void (*close)(gs_queue *q);
} gs_queue_ops;

struct gs_queue {
    const gs_queue_ops *ops;
    gs_trigger trig;                 /* a copy of the trigger */
    gs_queue_opts opts;
    void *impl;                      /* owned by the source */
    bool failing;                    /* last read failed (for log-once) */
    int last_code;                   /* gs_err of the last failure */
    char last_err[GS_ERROR_MSG_MAX];
    int64_t reads, failures;         /* counters */
};

/* The source for a trigger type; NULL for GS_TRIG_SIM. */
const gs_queue_ops *gs_queue_ops_for(const gs_trigger *t);

/* Sets q up for trigger t (copied); o may be NULL for defaults. No network. On failure q is
 * left closed (nothing to free). */
int gs_queue_open(gs_queue *q, const gs_trigger *t, const gs_queue_opts *o, gs_error *err);
/* One reading (metric x 1000). Logs failures and recovery; see the failure model above. */
int gs_queue_read(gs_queue *q, int64_t *value_milli, gs_error *err);
void gs_queue_close(gs_queue *q);

/* ---- helpers for sources ---- */

/* Metadata value for key, or NULL. */
const char *gs_queue_meta(const gs_trigger *t, const char *key);
/* Boolean metadata ("true"/"false"); def when absent; GS_EINVAL on other spellings. */
int gs_queue_meta_bool(const gs_trigger *t, const char *key, bool def, bool *out, gs_error *err);
/* A credential `param` from `<param>FromEnv` (the variable's name) or `<param>File` /
 * `<param>FromFile` (a path; one trailing newline stripped). *found = false and 0 when neither is set. An inline
 * `<param>` is refused (GS_EINVAL). Missing variable/file: GS_ENOENT. */
int gs_queue_secret(const gs_trigger *t, const char *param, char *out, size_t cap, bool *found,
                    gs_error *err);
/* The user name from `username` or `usernameFromEnv` ("" when neither is set). */
int gs_queue_username(const gs_trigger *t, char *out, size_t cap, gs_error *err);
/* Milliseconds from a monotonic clock (for sources and the poller). */
gs_ms gs_queue_now_ms(void);

/* The sources (defined in redis.c, rabbitmq.c, prometheus.c, sqs.c). */
extern const gs_queue_ops gs_queue_redis_ops;
extern const gs_queue_ops gs_queue_rabbitmq_ops;
extern const gs_queue_ops gs_queue_prometheus_ops;
extern const gs_queue_ops gs_queue_sqs_ops;

#endif
