/* libFuzzer harness: bytes off a Redis connection (RESP) -> hiredis' reader -> the reply
 * interpretation of every mode of the Redis source (LLEN, XLEN, XPENDING summary, XINFO GROUPS
 * lag). Must never crash, leak or read out of bounds, whatever the peer sends. */
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "io/queue/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    redisReader *r = redisReaderCreate();
    if (!r) return 0;
    gs_qparse_redis_guard(r);
    if (size > 0) redisReaderFeed(r, (const char *)data, size);
    for (int n = 0; n < 16; n++) {
        void *reply = NULL;
        if (redisReaderGetReply(r, &reply) != REDIS_OK || !reply) break;
        int64_t v;
        gs_error e;
        for (int m = GS_REDIS_LLEN; m <= GS_REDIS_LAG; m++)
            (void)gs_qparse_redis(reply, (gs_redis_mode)m, "workers", &v, &e);
        freeReplyObject(reply);
    }
    redisReaderFree(r);
    return 0;
}
