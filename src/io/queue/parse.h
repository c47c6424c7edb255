/* Parsers for what the peers answer, kept apart from the transports so they can be fuzzed
 * (fuzz/fuzz_resp.c, fuzz/fuzz_qjson.c) and tested on recorded replies. Each returns 0 and the
 * reading x 1000, or GS_EPARSE / GS_EPEER / GS_ENOENT / GS_EAUTH with a message that names
 * what was wrong (never echoing more than a short excerpt of the reply). */
#ifndef GS_IO_QUEUE_PARSE_H
#define GS_IO_QUEUE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "model/err.h"

typedef enum {
    GS_REDIS_LLEN,      /* list length */
    GS_REDIS_XLEN,      /* stream length */
    GS_REDIS_XPENDING,  /* consumer group: pending entries (XPENDING summary count) */
    GS_REDIS_LAG        /* consumer group: lag (XINFO GROUPS, Redis >= 7) */
} gs_redis_mode;

/* Largest array a Redis reply may announce (XINFO GROUPS of a stream with many groups stays
 * far below). hiredis 0.14 allocates whatever a reply announces ("*333333331\r\n" asks for
 * 2.6 GB), so every reader the sources use goes through gs_qparse_redis_guard. */
#define GS_REDIS_MAX_ELEMENTS 65536

/* Makes reader r refuse (as a protocol error) arrays longer than GS_REDIS_MAX_ELEMENTS. */
void gs_qparse_redis_guard(redisReader *r);

/* A hiredis reply to the command of mode (group: the consumer group, for LAG). */
int gs_qparse_redis(const redisReply *r, gs_redis_mode mode, const char *group,
                    int64_t *milli, gs_error *err);

typedef enum {
    GS_RABBIT_MESSAGES,        /* ready + unacknowledged */
    GS_RABBIT_MESSAGES_READY,  /* excludeUnacknowledged */
    GS_RABBIT_PUBLISH_RATE     /* mode MessageRate: message_stats.publish_details.rate */
} gs_rabbit_mode;

/* Body of GET /api/queues/{vhost}/{queue} (one queue object), or of the paginated list
 * GET /api/queues/{vhost}?...&enable_queue_totals=true ({"items": [...]}: the item whose name
 * is `queue` is read; none: GS_ENOENT). queue may be NULL for the single-object form. */
int gs_qparse_rabbitmq(const char *body, size_t len, gs_rabbit_mode mode, const char *queue,
                       int64_t *milli, gs_error *err);

/* Body of GET /api/v1/query. 0 series: 0 when empty_is_zero (KEDA's ignoreNullValues,
 * default), else GS_ENOENT; more than one series: GS_EPARSE. Scalars are accepted. */
int gs_qparse_prometheus(const char *body, size_t len, bool empty_is_zero, int64_t *milli,
                         gs_error *err);

/* Body of an SQS GetQueueAttributes reply (AWS JSON 1.0 protocol), or of its error reply.
 * Sums ApproximateNumberOfMessages, + NotVisible when in_flight, + Delayed when delayed. */
int gs_qparse_sqs(const char *body, size_t len, bool in_flight, bool delayed, int64_t *milli,
                  gs_error *err);

/* A decimal or float text ("12", "0.5", "1e3") -> x 1000, rounded to nearest; NaN/Inf and
 * values past +-9.2e15 are refused. */
int gs_qparse_number_milli(const char *s, int64_t *milli);

#endif
