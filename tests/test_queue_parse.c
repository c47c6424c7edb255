/* The reply parsers of the sources, one test per class of bad reply. Replies are written by
 * hand in the shape the peers send (the real peers are exercised in test_queue_*.c); Redis
 * replies go through hiredis' own reader from raw RESP bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "io/queue/parse.h"
#include "io/queue/queue.h"

static int redis_parse(const char *resp, gs_redis_mode mode, int64_t *v, gs_error *e) {
    redisReader *r = redisReaderCreate();
    redisReaderFeed(r, resp, strlen(resp));
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    int rc = gs_qparse_redis(reply, mode, "workers", v, e);
    freeReplyObject(reply);
    redisReaderFree(r);
    return rc;
}

/* A peer announcing a huge array must not make us allocate it. */
static void test_redis_guard(void **s) {
    (void)s;
    redisReader *r = redisReaderCreate();
    gs_qparse_redis_guard(r);
    const char *huge = "*333333331\r\n:1\r\n";
    redisReaderFeed(r, huge, strlen(huge));
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_ERR);
    assert_null(reply);
    redisReaderFree(r);
    r = redisReaderCreate();
    gs_qparse_redis_guard(r);
    const char *ok = "*2\r\n:1\r\n:2\r\n";
    redisReaderFeed(r, ok, strlen(ok));
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    freeReplyObject(reply);
    redisReaderFree(r);
}

static void test_redis(void **s) {
    (void)s;
    int64_t v;
    gs_error e;
    assert_int_equal(redis_parse(":42\r\n", GS_REDIS_LLEN, &v, &e), 0);
    assert_int_equal(v, 42000);
    assert_int_equal(redis_parse(":-1\r\n", GS_REDIS_LLEN, &v, &e), GS_EPARSE);
    assert_int_equal(redis_parse("$3\r\nabc\r\n", GS_REDIS_XLEN, &v, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "expected an integer"));
    assert_int_equal(redis_parse("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                                 GS_REDIS_LLEN, &v, &e), GS_EPEER);
    assert_non_null(strstr(e.msg, "WRONGTYPE"));
    assert_int_equal(redis_parse("-NOAUTH Authentication required.\r\n", GS_REDIS_LLEN, &v, &e), GS_EAUTH);
    assert_int_equal(redis_parse("*4\r\n:2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n*0\r\n", GS_REDIS_XPENDING, &v, &e), 0);
    assert_int_equal(v, 2000);
    assert_int_equal(redis_parse("*0\r\n", GS_REDIS_XPENDING, &v, &e), GS_EPARSE);
    const char *xinfo =
        "*2\r\n*4\r\n$4\r\nname\r\n$6\r\nothers\r\n$3\r\nlag\r\n:9\r\n"
        "*6\r\n$4\r\nname\r\n$7\r\nworkers\r\n$7\r\npending\r\n:2\r\n$3\r\nlag\r\n:3\r\n";
    assert_int_equal(redis_parse(xinfo, GS_REDIS_LAG, &v, &e), 0);
    assert_int_equal(v, 3000);
    assert_int_equal(redis_parse("*1\r\n*4\r\n$4\r\nname\r\n$7\r\nworkers\r\n$3\r\nlag\r\n$-1\r\n",
                                 GS_REDIS_LAG, &v, &e), GS_EPEER);
    assert_non_null(strstr(e.msg, "lag is unknown"));
    assert_int_equal(redis_parse("*1\r\n*2\r\n$4\r\nname\r\n$7\r\nworkers\r\n", GS_REDIS_LAG, &v, &e),
                     GS_EUNSUPPORTED);
    assert_int_equal(redis_parse("*1\r\n*3\r\n$4\r\nname\r\n$7\r\nworkers\r\n:1\r\n", GS_REDIS_LAG, &v, &e),
                     GS_EPARSE);
    assert_int_equal(redis_parse("*0\r\n", GS_REDIS_LAG, &v, &e), GS_ENOENT);
}

#define P(s) s, strlen(s)

static void test_rabbitmq(void **s) {
    (void)s;
    int64_t v;
    gs_error e;
    const char *q = "{\"arguments\":{},\"messages\":12,\"messages_ready\":9,\"messages_unacknowledged\":3,"
                    "\"message_stats\":{\"publish\":40,\"publish_details\":{\"rate\":2.4}},\"name\":\"work\",\"vhost\":\"/\"}";
    assert_int_equal(gs_qparse_rabbitmq(P(q), GS_RABBIT_MESSAGES, NULL, &v, &e), 0);
    assert_int_equal(v, 12000);
    assert_int_equal(gs_qparse_rabbitmq(P(q), GS_RABBIT_MESSAGES_READY, NULL, &v, &e), 0);
    assert_int_equal(v, 9000);
    assert_int_equal(gs_qparse_rabbitmq(P(q), GS_RABBIT_PUBLISH_RATE, NULL, &v, &e), 0);
    assert_int_equal(v, 2400);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"messages\":1}"), GS_RABBIT_PUBLISH_RATE, NULL, &v, &e), 0);
    assert_int_equal(v, 0); /* nothing published yet */
    assert_int_equal(gs_qparse_rabbitmq(P("{\"name\":\"work\"}"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "\"messages\""));
    assert_int_equal(gs_qparse_rabbitmq(P("{\"messages\":-3}"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"messages\":\"3\"}"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"messages\":1,\"messages\":2}"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"error\":\"not_found\",\"reason\":\"Object Not Found\"}"),
                                        GS_RABBIT_MESSAGES, NULL, &v, &e), GS_ENOENT);
    /* the paginated list with queue totals: the item of that exact name */
    const char *list = "{\"filtered_count\":2,\"item_count\":2,\"items\":["
                       "{\"messages\":5,\"messages_ready\":5,\"name\":\"work.x\",\"vhost\":\"/\"},"
                       "{\"messages\":3,\"messages_ready\":1,\"name\":\"work\",\"vhost\":\"/\"}],"
                       "\"page\":1,\"page_count\":1,\"page_size\":100,\"total_count\":2}";
    assert_int_equal(gs_qparse_rabbitmq(P(list), GS_RABBIT_MESSAGES, "work", &v, &e), 0);
    assert_int_equal(v, 3000);
    assert_int_equal(gs_qparse_rabbitmq(P(list), GS_RABBIT_MESSAGES_READY, "work", &v, &e), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(gs_qparse_rabbitmq(P(list), GS_RABBIT_MESSAGES, "other", &v, &e), GS_ENOENT);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"items\":{}}"), GS_RABBIT_MESSAGES, "work", &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_rabbitmq(P("[1,2]"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"messages\":3"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_rabbitmq(P("{\"messages\":99999999999999999}"), GS_RABBIT_MESSAGES, NULL, &v, &e), GS_EPARSE);
}

static void test_prometheus(void **s) {
    (void)s;
    int64_t v;
    gs_error e;
    const char *one = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
                      "[{\"metric\":{\"queue\":\"a\"},\"value\":[1700000000.123,\"12.5\"]}]}}";
    assert_int_equal(gs_qparse_prometheus(P(one), true, &v, &e), 0);
    assert_int_equal(v, 12500);
    const char *empty = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
    assert_int_equal(gs_qparse_prometheus(P(empty), true, &v, &e), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gs_qparse_prometheus(P(empty), false, &v, &e), GS_ENOENT);
    const char *two = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
                      "[{\"metric\":{},\"value\":[1,\"1\"]},{\"metric\":{},\"value\":[1,\"2\"]}]}}";
    assert_int_equal(gs_qparse_prometheus(P(two), true, &v, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "2 series"));
    const char *sc = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1e3\"]}}";
    assert_int_equal(gs_qparse_prometheus(P(sc), true, &v, &e), 0);
    assert_int_equal(v, 1000000);
    const char *inf = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"+Inf\"]}}";
    assert_int_equal(gs_qparse_prometheus(P(inf), true, &v, &e), GS_EPARSE);
    const char *mat = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}";
    assert_int_equal(gs_qparse_prometheus(P(mat), true, &v, &e), GS_EPARSE);
    const char *err = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error\"}";
    assert_int_equal(gs_qparse_prometheus(P(err), true, &v, &e), GS_EPEER);
    assert_non_null(strstr(e.msg, "bad_data"));
    const char *num = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,7]}}";
    assert_int_equal(gs_qparse_prometheus(P(num), true, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_prometheus(P(""), true, &v, &e), GS_EPARSE);
}

static void test_sqs(void **s) {
    (void)s;
    int64_t v;
    gs_error e;
    const char *ok = "{\"Attributes\":{\"ApproximateNumberOfMessages\":\"7\","
                     "\"ApproximateNumberOfMessagesNotVisible\":\"3\",\"ApproximateNumberOfMessagesDelayed\":\"2\"}}";
    assert_int_equal(gs_qparse_sqs(P(ok), true, false, &v, &e), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(gs_qparse_sqs(P(ok), false, true, &v, &e), 0);
    assert_int_equal(v, 9000);
    assert_int_equal(gs_qparse_sqs(P(ok), true, true, &v, &e), 0);
    assert_int_equal(v, 12000);
    assert_int_equal(gs_qparse_sqs(P("{\"Attributes\":{\"ApproximateNumberOfMessages\":\"x\"}}"), false, false, &v, &e), GS_EPARSE);
    assert_int_equal(gs_qparse_sqs(P("{\"Attributes\":{\"ApproximateNumberOfMessages\":\"1\"}}"), true, false, &v, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "NotVisible"));
    assert_int_equal(gs_qparse_sqs(P("{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":\"no\"}"),
                                   true, false, &v, &e), GS_EAUTH);
    assert_int_equal(gs_qparse_sqs(P("{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"no\"}"),
                                   true, false, &v, &e), GS_ENOENT);
    assert_int_equal(gs_qparse_sqs(P("{\"__type\":\"com.amazonaws.sqs#RequestThrottled\"}"), true, false, &v, &e), GS_EPEER);
    assert_int_equal(gs_qparse_sqs(P("<xml/>"), true, false, &v, &e), GS_EPARSE);
}

static void test_numbers(void **s) {
    (void)s;
    int64_t v;
    assert_int_equal(gs_qparse_number_milli("0.0005", &v), 0);
    assert_int_equal(v, 1); /* rounded to nearest */
    assert_int_equal(gs_qparse_number_milli("-2", &v), 0);
    assert_int_equal(v, -2000);
    assert_int_equal(gs_qparse_number_milli("NaN", &v), GS_EPARSE);
    assert_int_equal(gs_qparse_number_milli("1e300", &v), GS_EOVERFLOW);
    assert_int_equal(gs_qparse_number_milli("12abc", &v), GS_EPARSE);
    assert_int_equal(gs_qparse_number_milli("", &v), GS_EPARSE);
}

static void test_secret_rules(void **s) {
    (void)s;
    gs_trigger t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "x");
    snprintf(t.meta[0].key, sizeof t.meta[0].key, "passwordFromEnv");
    snprintf(t.meta[0].value, sizeof t.meta[0].value, "GS_TEST_PW_X");
    snprintf(t.meta[1].key, sizeof t.meta[1].key, "passwordFile");
    snprintf(t.meta[1].value, sizeof t.meta[1].value, "/nonexistent");
    t.nmeta = 2;
    char buf[64];
    bool found;
    gs_error e;
    assert_int_equal(gs_queue_secret(&t, "password", buf, sizeof buf, &found, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "not both"));
    t.nmeta = 1;
    setenv("GS_TEST_PW_X", "0123456789012345678901234567890123456789012345678901234567890123456789", 1);
    assert_int_equal(gs_queue_secret(&t, "password", buf, sizeof buf, &found, &e), GS_ETOOBIG);
    t.meta[0] = t.meta[1];
    assert_int_equal(gs_queue_secret(&t, "password", buf, sizeof buf, &found, &e), GS_ENOENT);
    t.nmeta = 0;
    assert_int_equal(gs_queue_secret(&t, "password", buf, sizeof buf, &found, &e), 0);
    assert_false(found);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_guard),
        cmocka_unit_test(test_redis),
        cmocka_unit_test(test_rabbitmq),
        cmocka_unit_test(test_prometheus),
        cmocka_unit_test(test_sqs),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_secret_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
