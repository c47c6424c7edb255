/* Redis source against a real redis-server started on a free loopback port: list and stream
 * readings, the scaler's resulting replicas, auth from env/file (refused when wrong), peer
 * down / slow / garbage with fallback and recovery, and the idle fast path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/config/config.h"
#include "io/queue/queue.h"
#include "io/queue/watch.h"
#include "peers.h"
#include "policy/scale.h"
#include "testutil.h"

static gs_peer redis;

static void cmd(const char *fmt, ...) {
    redisContext *c = redisConnect("127.0.0.1", redis.port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    if (getenv("GS_TEST_REDIS_PASS")) freeReplyObject(redisCommand(c, "AUTH %s", getenv("GS_TEST_REDIS_PASS")));
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("redis: %s", r->str);
    freeReplyObject(r);
    redisFree(c);
}

static void meta(gs_trigger *t, const char *k, const char *v) {
    snprintf(t->meta[t->nmeta].key, sizeof t->meta[0].key, "%s", k);
    snprintf(t->meta[t->nmeta].value, sizeof t->meta[0].value, "%s", v);
    t->nmeta++;
}

static gs_trigger list_trigger(int port, const char *list) {
    gs_trigger t;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_REDIS_LIST;
    snprintf(t.name, sizeof t.name, "jobs");
    t.target_milli = 2000; /* listLength: 2 */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    meta(&t, "address", addr);
    meta(&t, "listName", list);
    return t;
}

static int64_t read1(gs_queue *q, int want_rc) {
    int64_t v = -1;
    gs_error e;
    int rc = gs_queue_read(q, &v, &e);
    if (rc != want_rc) fail_msg("read: rc %d (%s), wanted %d", rc, e.msg, want_rc);
    return v;
}

static int setup(void **s) {
    (void)s;
    if (gs_redis_start(&redis, 0, NULL)) {
        fprintf(stderr, "redis-server could not be started\n");
        return -1;
    }
    return 0;
}

static int teardown(void **s) {
    (void)s;
    gs_redis_stop(&redis);
    gs_peer_rmdir(redis.dir);
    return 0;
}

static void test_list_and_scaler(void **s) {
    (void)s;
    gs_trigger t = list_trigger(redis.port, "jobs:a");
    gs_queue q;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(read1(&q, 0), 0); /* no list yet: LLEN 0 */
    cmd("RPUSH jobs:a 1 2 3");
    assert_int_equal(read1(&q, 0), 3000);

    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0] = t;
    gs_scale_state st;
    gs_scale_init(&st);
    gs_scale_reading r = {true, read1(&q, 0)};
    gs_scale_input in = {0};
    in.now = 1000;
    in.readings = &r;
    gs_scale_decision d;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 2); /* ceil(3 / 2) from zero */
    assert_int_equal(d.reason, GS_SCALE_FROM_ZERO);
    cmd("RPUSH jobs:a 4 5 6 7");
    r.value_milli = read1(&q, 0);
    assert_int_equal(r.value_milli, 7000);
    in.now = 2000;
    in.current = 2;
    in.ready = 2;
    assert_int_equal(gs_scale_step(&sc, &st, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 4);
    assert_int_equal(d.create, 2);
    /* consumers drain the list */
    cmd("DEL jobs:a");
    assert_int_equal(read1(&q, 0), 0);
    gs_queue_close(&q);
}

static void test_streams(void **s) {
    (void)s;
    for (int i = 0; i < 5; i++) cmd("XADD ev * n %d", i);
    cmd("XGROUP CREATE ev workers 0");
    /* a consumer takes 2 entries and does not ack them */
    cmd("XREADGROUP GROUP workers c1 COUNT 2 STREAMS ev >");
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", redis.port);
    const char *modes[] = {"xlen", "xpending", "lag"};
    int64_t want[] = {5000, 2000, 3000};
    for (int m = 0; m < 3; m++) {
        gs_trigger t;
        memset(&t, 0, sizeof t);
        t.type = GS_TRIG_REDIS_STREAM;
        snprintf(t.name, sizeof t.name, "ev-%s", modes[m]);
        t.target_milli = 1000;
        meta(&t, "address", addr);
        meta(&t, "stream", "ev");
        meta(&t, "consumerGroup", "workers");
        meta(&t, "mode", modes[m]);
        gs_queue q;
        assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
        assert_int_equal(read1(&q, 0), want[m]);
        gs_queue_close(&q);
    }
    /* KEDA's target names select the mode too */
    gs_trigger t;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_REDIS_STREAM;
    t.target_milli = 1000;
    meta(&t, "address", addr);
    meta(&t, "stream", "ev");
    meta(&t, "consumerGroup", "workers");
    meta(&t, "lagCount", "1");
    gs_queue q;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(read1(&q, 0), 3000);
    gs_queue_close(&q);
    /* a group that does not exist: a clear error */
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_REDIS_STREAM;
    t.target_milli = 1000;
    meta(&t, "address", addr);
    meta(&t, "stream", "ev");
    meta(&t, "consumerGroup", "nobody");
    meta(&t, "mode", "lag");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    gs_error e;
    int64_t v;
    gs_capture_begin();
    int rc = gs_queue_read(&q, &v, &e);
    char *log = gs_capture_end();
    assert_int_equal(rc, GS_ENOENT);
    assert_non_null(strstr(e.msg, "consumer group nobody not found"));
    assert_non_null(strstr(log, "queue read failed"));
    free(log);
    gs_queue_close(&q);
}

static void test_bad_config(void **s) {
    (void)s;
    gs_trigger t;
    gs_queue q;
    gs_error e;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_REDIS_LIST;
    meta(&t, "address", "127.0.0.1:6379");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "listName"));
    meta(&t, "listName", "x");
    meta(&t, "password", "inline-secret");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "passwordFromEnv"));
    assert_null(strstr(e.msg, "inline-secret"));
    t = list_trigger(1, "x");
    meta(&t, "passwordFromEnv", "GS_TEST_NO_SUCH_VARIABLE");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_ENOENT);
    assert_non_null(strstr(e.msg, "GS_TEST_NO_SUCH_VARIABLE"));
    t = list_trigger(1, "x");
    meta(&t, "enableTLS", "true");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EUNSUPPORTED);
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_REDIS_LIST;
    meta(&t, "address", "localhost");
    meta(&t, "listName", "x");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "host:port"));
}

static void test_auth(void **s) {
    (void)s;
    gs_peer sec;
    memset(&sec, 0, sizeof sec);
    assert_int_equal(gs_redis_start(&sec, 0, "s3cret-pass"), 0);
    /* right password from an environment variable */
    setenv("GS_TEST_REDIS_PW", "s3cret-pass", 1);
    gs_trigger t = list_trigger(sec.port, "l");
    meta(&t, "passwordFromEnv", "GS_TEST_REDIS_PW");
    gs_queue q;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(read1(&q, 0), 0);
    gs_queue_close(&q);
    /* from a file (trailing newline stripped) */
    char path[300];
    snprintf(path, sizeof path, "%s/pw", sec.dir);
    FILE *f = fopen(path, "w");
    fputs("s3cret-pass\n", f);
    fclose(f);
    t = list_trigger(sec.port, "l");
    meta(&t, "passwordFile", path);
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(read1(&q, 0), 0);
    gs_queue_close(&q);
    /* wrong password: refused, logged without the password */
    setenv("GS_TEST_REDIS_PW", "wrong-pass-xyz", 1);
    t = list_trigger(sec.port, "l");
    meta(&t, "passwordFromEnv", "GS_TEST_REDIS_PW");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    gs_capture_begin();
    (void)read1(&q, GS_EAUTH);
    char *log = gs_capture_end();
    assert_non_null(strstr(log, "authentication refused"));
    assert_null(strstr(log, "wrong-pass-xyz"));
    free(log);
    gs_queue_close(&q);
    /* no password at all: NOAUTH */
    t = list_trigger(sec.port, "l");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    (void)read1(&q, GS_EAUTH);
    gs_queue_close(&q);
    gs_redis_stop(&sec);
    gs_peer_rmdir(sec.dir);
}

static void test_down_slow_garbage_fallback(void **s) {
    (void)s;
    gs_peer r2;
    memset(&r2, 0, sizeof r2);
    assert_int_equal(gs_redis_start(&r2, 0, NULL), 0);
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    snprintf(sc.name, sizeof sc.name, "w");
    sc.fallback_failures = 2;
    sc.fallback_replicas = 3;
    sc.ntriggers = 1;
    sc.triggers[0] = list_trigger(r2.port, "q");
    gs_queue_opts o = {300, 300};
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &sc, &o, 50, NULL), 0);
    redisContext *c = redisConnect("127.0.0.1", r2.port);
    freeReplyObject(redisCommand(c, "RPUSH q a b c d"));
    redisFree(c);
    gs_scale_input in = {0};
    gs_scale_decision d;
    in.now = 0;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 2);
    in.current = in.ready = 2;

    /* down: a clear log line (once), hold, then fallback; no crash */
    gs_redis_stop(&r2);
    gs_capture_begin();
    in.now = 1000;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.reason, GS_SCALE_HOLD_ERROR);
    assert_int_equal(d.desired, 2);
    in.now = 2000;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    char *log = gs_capture_end();
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
    assert_int_equal(d.desired, 3);
    assert_non_null(strstr(log, "queue read failed"));
    assert_non_null(strstr(log, "source=redis"));
    assert_non_null(strstr(log, "err=GS_EIO"));
    assert_null(strstr(strstr(log, "queue read failed") + 1, "queue read failed")); /* once */
    free(log);

    /* back on the same port (empty now): reading resumes by itself */
    assert_int_equal(gs_redis_start(&r2, r2.port, NULL), 0);
    c = redisConnect("127.0.0.1", r2.port);
    freeReplyObject(redisCommand(c, "RPUSH q a b c d e f g h i j"));
    redisFree(c);
    in.current = in.ready = 3;
    in.now = 3000;
    gs_capture_begin();
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    log = gs_capture_end();
    assert_non_null(strstr(log, "queue reading resumed"));
    free(log);
    assert_false(d.fallback);
    assert_int_equal(w.last[0].value_milli, 10000);
    assert_int_equal(d.desired, 5);

    /* slow: the server stops answering; the read timeout (300 ms) bounds the wait */
    gs_peer_pause(&r2);
    int64_t v;
    gs_error e;
    int rc = gs_queue_read(&w.q[0], &v, &e);
    gs_peer_resume(&r2);
    assert_int_equal(rc, GS_ETIMEOUT);
    assert_non_null(strstr(e.msg, "timed out"));
    assert_int_equal(gs_queue_read(&w.q[0], &v, &e), 0);
    assert_int_equal(v, 10000);
    gs_watch_close(&w);
    gs_redis_stop(&r2);
    gs_peer_rmdir(r2.dir);

    /* garbage: something that is not Redis answers on the port */
    int gport = 0;
    gs_rawd *g = gs_rawd_start("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", &gport);
    assert_non_null(g);
    gs_trigger t = list_trigger(gport, "q");
    gs_queue q;
    assert_int_equal(gs_queue_open(&q, &t, &o, NULL), 0);
    rc = gs_queue_read(&q, &v, &e);
    assert_true(rc == GS_EIO || rc == GS_EPARSE);
    assert_non_null(strstr(e.msg, "redis"));
    gs_queue_close(&q);
    gs_rawd_stop(g);
    /* a reply announcing a 333-million-element array is refused, not allocated */
    g = gs_rawd_start("*333333331\r\n:1\r\n", &gport);
    assert_non_null(g);
    t = list_trigger(gport, "q");
    assert_int_equal(gs_queue_open(&q, &t, &o, NULL), 0);
    rc = gs_queue_read(&q, &v, &e);
    assert_int_equal(rc, GS_EPARSE);
    assert_non_null(strstr(e.msg, "reply refused"));
    gs_queue_close(&q);
    gs_rawd_stop(g);
}

/* The fast path: while the workload is at zero the watch polls every 100 ms (not the 30 s
 * pollingInterval), and the first poll after a message lands asks for a replica. (The time
 * this takes is measured by bench/bench_queue, not asserted here.) */
static void test_fast_path(void **s) {
    (void)s;
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.polling_interval = GS_SEC(30); /* KEDA-like slow polling once running */
    sc.ntriggers = 1;
    sc.triggers[0] = list_trigger(redis.port, "fast");
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &sc, NULL, 0, NULL), 0);
    assert_int_equal(gs_watch_interval(&w, 0), 100);
    assert_int_equal(gs_watch_interval(&w, 2), GS_SEC(30));
    gs_scale_input in = {0};
    gs_scale_decision d;
    in.now = 0;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 0);
    in.now = 100;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 0);
    cmd("RPUSH fast m1");
    in.now = 200;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.reason, GS_SCALE_FROM_ZERO);
    assert_int_equal(d.desired, 1);
    assert_int_equal(d.create, 1);
    gs_watch_close(&w);
}

/* A QueueScaler as a user writes it (YAML, loaded by io/config) drives the real sources. */
static void test_from_config(void **s) {
    (void)s;
    gs_catalog cat;
    gs_test_catalog(&cat);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "apiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: s}\nspec:\n"
             "  scaleTargetRef: {name: w}\n"
             "  template: {resources: {requests: {cpu: 1}}}\n"
             "  triggers:\n"
             "    - {type: redis, metadata: {host: 127.0.0.1, port: '%d', listName: cfg, listLength: '2'}}\n"
             "    - {type: redis-streams, metadata: {address: '127.0.0.1:%d', stream: cfgs, consumerGroup: g, lagCount: '1'}}\n",
             redis.port, redis.port);
    gs_config c;
    memset(&c, 0, sizeof c);
    gs_error e;
    if (gs_config_load_string(&c, yaml, strlen(yaml), "t.yaml", &cat, &e)) fail_msg("%s", e.msg);
    cmd("RPUSH cfg a b c d e");
    cmd("XADD cfgs * k v");
    cmd("XADD cfgs * k v");
    cmd("XGROUP CREATE cfgs g 0");
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &c.scalers[0], NULL, 0, &e), 0);
    gs_scale_input in = {0};
    gs_scale_decision d;
    assert_int_equal(gs_watch_step(&w, &in, &d, &e), 0);
    assert_true(w.last[0].ok);
    assert_true(w.last[1].ok);
    assert_int_equal(w.last[0].value_milli, 5000);
    assert_int_equal(w.last[1].value_milli, 2000); /* lag: 2 entries never delivered */
    assert_int_equal(d.desired, 3);                 /* max(ceil(5/2), ceil(2/1)) */
    assert_int_equal(d.trigger, 0);
    gs_watch_close(&w);
    gs_config_free(&c);
    gs_catalog_free(&cat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_list_and_scaler),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_down_slow_garbage_fallback),
        cmocka_unit_test(test_fast_path),
        cmocka_unit_test(test_from_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
