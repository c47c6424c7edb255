/* libFuzzer harness: the JSON replies of the HTTP sources. The first byte picks the parser
 * (RabbitMQ management queue, Prometheus instant query, SQS GetQueueAttributes) and its
 * options; the rest is the body a peer could send. */
#include <stddef.h>
#include <stdint.h>

#include "io/queue/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t sel = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    int64_t v;
    gs_error e;
    switch (sel % 3) {
    case 0: (void)gs_qparse_rabbitmq(body, len, (gs_rabbit_mode)((sel / 3) % 3), (sel & 0x80) ? "work" : NULL, &v, &e); break;
    case 1: (void)gs_qparse_prometheus(body, len, (sel / 3) & 1, &v, &e); break;
    default: (void)gs_qparse_sqs(body, len, (sel / 3) & 1, (sel / 6) & 1, &v, &e); break;
    }
    return 0;
}
