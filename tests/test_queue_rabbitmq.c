/* RabbitMQ source against a real rabbitmq-server (management plugin) started once for this
 * program on free loopback ports: messages / messages_ready / publish rate over the
 * management API (vhost encoding included), AMQP passive declare, auth from env (refused
 * when wrong), queue not found, slow, garbage, down + back with fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/queue/queue.h"
#include "io/queue/watch.h"
#include "peers.h"

static gs_peer rmq;

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t sink(char *p, size_t s, size_t n, void *u) {
    (void)p;
    (void)u;
    return s * n;
}

/* A management API call as guest; returns the HTTP status. */
static long mgmt(const char *method, const char *path, const char *body) {
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", rmq.port2, path);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_USERPWD, "guest:guest");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return st;
}

static void publish(const char *vhost_enc, const char *queue, int n) {
    char path[256], body[256];
    snprintf(path, sizeof path, "/api/exchanges/%s/amq.default/publish", vhost_enc);
    snprintf(body, sizeof body,
             "{\"properties\":{},\"routing_key\":\"%s\",\"payload\":\"job\",\"payload_encoding\":\"string\"}",
             queue);
    for (int i = 0; i < n; i++) assert_int_equal(mgmt("POST", path, body), 200);
}

static void meta(gs_trigger *t, const char *k, const char *v) {
    snprintf(t->meta[t->nmeta].key, sizeof t->meta[0].key, "%s", k);
    snprintf(t->meta[t->nmeta].value, sizeof t->meta[0].value, "%s", v);
    t->nmeta++;
}

static gs_trigger trig(const char *scheme, int port, const char *path, const char *queue) {
    gs_trigger t;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_RABBITMQ;
    snprintf(t.name, sizeof t.name, "rmq");
    t.target_milli = 5000;
    char host[256];
    snprintf(host, sizeof host, "%s://127.0.0.1:%d%s", scheme, port, path);
    meta(&t, "host", host);
    meta(&t, "queueName", queue);
    meta(&t, "username", "gs");
    meta(&t, "passwordFromEnv", "GS_TEST_RMQ_PW");
    return t;
}

/* Reads until the value equals want (management statistics lag by the stats interval). */
static void read_until(gs_queue *q, int64_t want) {
    int64_t v = -1;
    gs_error e;
    gs_ms t0 = gs_queue_now_ms();
    for (int i = 0; i < 600; i++) { /* a ceiling of 30 s: a loaded 2-core CI machine, not speed */
        int rc = gs_queue_read(q, &v, &e);
        if (rc == 0 && v == want) {
            if (gs_queue_now_ms() - t0 > 1000)
                fprintf(stderr, "read_until: %lld ms\n", (long long)(gs_queue_now_ms() - t0));
            return;
        }
        msleep(50);
    }
    fail_msg("reading stuck at %lld (wanted %lld): %s", (long long)v, (long long)want, e.msg);
}

static int setup(void **s) {
    (void)s;
    setenv("GS_TEST_RMQ_PW", "gs-secret", 1);
    if (gs_rabbit_start(&rmq, 100)) return -1;
    if (mgmt("PUT", "/api/queues/%2F/work", "{\"durable\":true}") / 100 != 2) return -1;
    if (mgmt("PUT", "/api/queues/gs%2Fvh/inference%20jobs", "{\"durable\":true}") / 100 != 2) return -1;
    return 0;
}

static int teardown(void **s) {
    (void)s;
    gs_rabbit_stop(&rmq);
    return 0;
}

static void test_management_and_amqp(void **s) {
    (void)s;
    gs_trigger t = trig("http", rmq.port2, "", "work");
    gs_queue q, qr, qa, qrate;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 0);
    publish("%2F", "work", 3);
    read_until(&q, 3000);

    /* a consumer takes one message and does not ack it */
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(c);
    assert_int_equal(amqp_socket_open(sock, "127.0.0.1", rmq.port), 0);
    assert_int_equal(amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type,
                     AMQP_RESPONSE_NORMAL);
    amqp_channel_open(c, 1);
    amqp_rpc_reply_t rep = amqp_basic_get(c, 1, amqp_cstring_bytes("work"), 0);
    assert_int_equal(rep.reply_type, AMQP_RESPONSE_NORMAL);
    amqp_message_t msg;
    assert_int_equal(amqp_read_message(c, 1, &msg, 0).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_destroy_message(&msg);

    read_until(&q, 3000); /* messages = ready + unacked */
    t = trig("http", rmq.port2, "", "work");
    meta(&t, "excludeUnacknowledged", "true");
    assert_int_equal(gs_queue_open(&qr, &t, NULL, NULL), 0);
    read_until(&qr, 2000);
    /* AMQP passive declare: ready only, no statistics delay */
    t = trig("amqp", rmq.port, "", "work");
    assert_int_equal(gs_queue_open(&qa, &t, NULL, NULL), 0);
    int64_t v;
    assert_int_equal(gs_queue_read(&qa, &v, NULL), 0);
    assert_int_equal(v, 2000);
    /* the publish rate reads as a number */
    t = trig("http", rmq.port2, "", "work");
    meta(&t, "mode", "MessageRate");
    assert_int_equal(gs_queue_open(&qrate, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&qrate, &v, NULL), 0);
    assert_true(v >= 0);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    read_until(&q, 3000); /* the unacked one came back */
    gs_queue_close(&q);
    gs_queue_close(&qr);
    gs_queue_close(&qa);
    gs_queue_close(&qrate);
}

static void test_vhost_encoding(void **s) {
    (void)s;
    publish("gs%2Fvh", "inference jobs", 2);
    /* vhost from the host URL's path (percent-encoded there) */
    gs_trigger t = trig("http", rmq.port2, "/gs%2Fvh", "inference jobs");
    gs_queue q;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 2000);
    gs_queue_close(&q);
    /* vhost from vhostName */
    t = trig("http", rmq.port2, "", "inference jobs");
    meta(&t, "vhostName", "gs/vh");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 2000);
    gs_queue_close(&q);
    t = trig("amqp", rmq.port, "/gs%2Fvh", "inference jobs");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 2000);
    gs_queue_close(&q);
}

static void test_auth_and_not_found(void **s) {
    (void)s;
    gs_queue q;
    gs_error e;
    int64_t v;
    setenv("GS_TEST_RMQ_PW", "not-the-password", 1);
    const char *schemes[] = {"http", "amqp"};
    int ports[] = {rmq.port2, rmq.port};
    for (int i = 0; i < 2; i++) {
        gs_trigger t = trig(schemes[i], ports[i], "", "work");
        assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
        gs_capture_begin();
        int rc = gs_queue_read(&q, &v, &e);
        char *log = gs_capture_end();
        if (rc != GS_EAUTH) fail_msg("%s: rc %d: %s", schemes[i], rc, e.msg);
        assert_non_null(strstr(log, "queue read failed"));
        assert_null(strstr(log, "not-the-password"));
        free(log);
        gs_queue_close(&q);
    }
    setenv("GS_TEST_RMQ_PW", "gs-secret", 1);
    for (int i = 0; i < 2; i++) {
        gs_trigger t = trig(schemes[i], ports[i], "", "no-such-queue");
        assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
        int rc = gs_queue_read(&q, &v, &e);
        if (rc != GS_ENOENT) fail_msg("%s: rc %d: %s", schemes[i], rc, e.msg);
        gs_queue_close(&q);
    }
    /* an inline password in the URL is refused */
    gs_trigger t;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_RABBITMQ;
    meta(&t, "host", "http://gs:gs-secret@127.0.0.1:1/");
    meta(&t, "queueName", "work");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
    assert_null(strstr(e.msg, "gs-secret"));
    /* ... but a URL from an environment variable may carry it */
    char url[128];
    snprintf(url, sizeof url, "http://gs:gs-secret@127.0.0.1:%d/", rmq.port2);
    setenv("GS_TEST_RMQ_URL", url, 1);
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_RABBITMQ;
    meta(&t, "hostFromEnv", "GS_TEST_RMQ_URL");
    meta(&t, "queueName", "work");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), 0);
    gs_queue_close(&q);
    /* MessageRate over AMQP cannot be read */
    t = trig("amqp", rmq.port, "", "work");
    meta(&t, "mode", "MessageRate");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
}

static int garbage(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    (void)r;
    *reply = strdup("<html>this is not the management API</html>");
    return 200;
}

static void test_garbage_slow_down(void **s) {
    (void)s;
    int64_t v;
    gs_error e;
    /* garbage */
    int gport = 0;
    gs_httpd *g = gs_httpd_start(garbage, NULL, &gport);
    assert_non_null(g);
    gs_trigger t = trig("http", gport, "", "work");
    gs_queue q;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "not JSON"));
    gs_queue_close(&q);
    gs_httpd_stop(g);

    /* slow: the broker freezes; both paths give up after the read timeout, then resume */
    gs_queue_opts o = {500, 500};
    gs_queue qa;
    t = trig("http", rmq.port2, "", "work");
    assert_int_equal(gs_queue_open(&q, &t, &o, NULL), 0);
    t = trig("amqp", rmq.port, "", "work");
    assert_int_equal(gs_queue_open(&qa, &t, &o, NULL), 0);
    assert_int_equal(gs_queue_read(&qa, &v, &e), 0);
    gs_peer_pause(&rmq);
    int rc1 = gs_queue_read(&q, &v, &e);
    int rc2 = gs_queue_read(&qa, &v, &e);
    gs_peer_resume(&rmq);
    assert_int_equal(rc1, GS_ETIMEOUT);
    assert_true(rc2 == GS_ETIMEOUT || rc2 == GS_EIO);
    read_until(&q, 3000);
    read_until(&qa, 3000);

    /* down: fallback replicas; back: readings again */
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    snprintf(sc.name, sizeof sc.name, "w");
    sc.fallback_failures = 1;
    sc.fallback_replicas = 4;
    sc.ntriggers = 1;
    sc.triggers[0] = trig("http", rmq.port2, "", "work");
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &sc, &o, 0, NULL), 0);
    gs_scale_input in = {0};
    gs_scale_decision d;
    in.current = in.ready = 1;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 1); /* 3 messages / 5 per replica */
    gs_rabbit_kill(&rmq);
    in.now = 1000;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
    assert_int_equal(d.desired, 4);
    assert_int_equal(gs_queue_read(&qa, &v, &e), GS_EIO);
    assert_int_equal(gs_rabbit_restart(&rmq), 0);
    in.current = in.ready = 4;
    bool back = false;
    for (int i = 0; i < 300 && !back; i++) { /* up to 30 s for the restarted broker */
        in.now += 100;
        assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
        back = !d.fallback && w.last[0].ok; /* transient messages died with the broker */
        if (!back) msleep(100);
    }
    assert_true(back);
    assert_int_equal(gs_queue_read(&qa, &v, &e), 0);
    gs_watch_close(&w);
    gs_queue_close(&q);
    gs_queue_close(&qa);
}

int main(void) {
    if (!gs_peer_have("/usr/lib/rabbitmq/bin/rabbitmq-server")) {
        fprintf(stderr, "rabbitmq-server is not installed (scripts/deps.sh installs it)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_management_and_amqp),
        cmocka_unit_test(test_vhost_encoding),
        cmocka_unit_test(test_auth_and_not_found),
        cmocka_unit_test(test_garbage_slow_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
