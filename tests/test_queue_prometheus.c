/* Prometheus source against a real prometheus started on a free loopback port, scraping a
 * tiny exporter this test serves with libmicrohttpd every 100 ms: one series, empty result
 * (0 by default, an error with ignoreNullValues false), several series (error), a bad query,
 * auth refused (a bearer-checking endpoint of our own: Prometheus 2.42's own auth needs
 * bcrypt hashes we cannot make here), garbage, slow, down + back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/queue/queue.h"
#include "io/queue/watch.h"
#include "peers.h"

static gs_peer prom;
static gs_httpd *exporter;
static int exporter_port;
static atomic_int depth_a, depth_b;

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int serve_metrics(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    if (strcmp(r->url, "/metrics") != 0) return 404;
    char buf[512];
    snprintf(buf, sizeof buf,
             "# HELP gs_queue_depth Jobs waiting.\n# TYPE gs_queue_depth gauge\n"
             "gs_queue_depth{queue=\"a\"} %d\ngs_queue_depth{queue=\"b\"} %d\n",
             atomic_load(&depth_a), atomic_load(&depth_b));
    *reply = strdup(buf);
    return 200;
}

static void meta(gs_trigger *t, const char *k, const char *v) {
    snprintf(t->meta[t->nmeta].key, sizeof t->meta[0].key, "%s", k);
    snprintf(t->meta[t->nmeta].value, sizeof t->meta[0].value, "%s", v);
    t->nmeta++;
}

static gs_trigger trig(int port, const char *query) {
    gs_trigger t;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_PROMETHEUS;
    snprintf(t.name, sizeof t.name, "prom");
    t.target_milli = 10000;
    char addr[64];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", port);
    meta(&t, "serverAddress", addr);
    meta(&t, "query", query);
    return t;
}

static void read_until(gs_queue *q, int64_t want) {
    int64_t v = -1;
    gs_error e;
    e.msg[0] = '\0';
    for (int i = 0; i < 600; i++) { /* a ceiling of 30 s (a restarted Prometheus on a loaded machine) */
        int rc = gs_queue_read(q, &v, &e);
        if (rc == 0 && v == want) return;
        msleep(50);
    }
    fail_msg("reading stuck at %lld (wanted %lld): %s", (long long)v, (long long)want, e.msg);
}

static int setup(void **s) {
    (void)s;
    exporter = gs_httpd_start(serve_metrics, NULL, &exporter_port);
    if (!exporter) return -1;
    if (gs_prom_start(&prom, 0, exporter_port, "100ms")) {
        fprintf(stderr, "prometheus could not be started\n");
        return -1;
    }
    return 0;
}

static int teardown(void **s) {
    (void)s;
    gs_prom_stop(&prom);
    gs_peer_rmdir(prom.dir);
    gs_httpd_stop(exporter);
    return 0;
}

static void test_readings(void **s) {
    (void)s;
    atomic_store(&depth_a, 7);
    atomic_store(&depth_b, 5);
    gs_queue q;
    gs_trigger t = trig(prom.port, "sum(gs_queue_depth)");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 12000);
    atomic_store(&depth_a, 30);
    read_until(&q, 35000);
    gs_queue_close(&q);
    /* one series of a vector selector, with a fraction */
    t = trig(prom.port, "gs_queue_depth{queue=\"b\"} / 2");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 2500);
    gs_queue_close(&q);
    /* a scalar */
    t = trig(prom.port, "scalar(sum(gs_queue_depth))");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    read_until(&q, 35000);
    gs_queue_close(&q);

    /* the scaler on it: 35 jobs / 10 per replica */
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0] = trig(prom.port, "sum(gs_queue_depth)");
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &sc, NULL, 0, NULL), 0);
    gs_scale_input in = {0};
    gs_scale_decision d;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 4);
    gs_watch_close(&w);
}

static void test_empty_many_bad(void **s) {
    (void)s;
    gs_queue q;
    gs_error e;
    int64_t v = -1;
    /* no series: 0 by default */
    gs_trigger t = trig(prom.port, "gs_queue_depth{queue=\"nope\"}");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), 0);
    assert_int_equal(v, 0);
    gs_queue_close(&q);
    meta(&t, "ignoreNullValues", "false");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_ENOENT);
    assert_non_null(strstr(e.msg, "no series"));
    gs_queue_close(&q);
    /* two series: an error naming the count */
    t = trig(prom.port, "gs_queue_depth");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    int rc = GS_OK;
    for (int i = 0; i < 600; i++) {
        rc = gs_queue_read(&q, &v, &e);
        if (rc == GS_EPARSE) break;
        msleep(50);
    }
    assert_int_equal(rc, GS_EPARSE);
    assert_non_null(strstr(e.msg, "returned 2 series"));
    gs_queue_close(&q);
    /* a bad query: Prometheus' own error is passed on */
    t = trig(prom.port, "sum(");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_EPEER);
    assert_non_null(strstr(e.msg, "bad_data"));
    gs_queue_close(&q);
    /* config errors */
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_PROMETHEUS;
    meta(&t, "serverAddress", "127.0.0.1:9090");
    meta(&t, "query", "up");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "serverAddress"));
    t = trig(prom.port, "up");
    meta(&t, "ignoreNullValues", "maybe");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
}

static int bearer_only(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    const char *a = gs_httpd_header(r, "Authorization");
    if (!a || strcmp(a, "Bearer right-token") != 0) {
        *reply = strdup("Unauthorized\n");
        return 401;
    }
    *reply = strdup("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1700000000.1,\"42\"]}]}}");
    return 200;
}

static int garbage(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    (void)r;
    *reply = strdup("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"NaN\"]}]}}");
    return 200;
}

static int garbage_ok(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    (void)r;
    *reply = strdup("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"7\"]}}");
    return 200;
}

static void test_auth_garbage(void **s) {
    (void)s;
    int port = 0;
    gs_httpd *h = gs_httpd_start(bearer_only, NULL, &port);
    assert_non_null(h);
    gs_queue q;
    gs_error e;
    int64_t v;
    setenv("GS_TEST_PROM_TOKEN", "wrong-token", 1);
    gs_trigger t = trig(port, "up");
    meta(&t, "bearerTokenFromEnv", "GS_TEST_PROM_TOKEN");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    gs_capture_begin();
    int rc = gs_queue_read(&q, &v, &e);
    char *log = gs_capture_end();
    assert_int_equal(rc, GS_EAUTH);
    assert_non_null(strstr(log, "refused the credentials"));
    assert_null(strstr(log, "wrong-token"));
    free(log);
    gs_queue_close(&q);
    setenv("GS_TEST_PROM_TOKEN", "right-token", 1);
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), 0);
    assert_int_equal(v, 42000);
    gs_queue_close(&q);
    gs_httpd_stop(h);

    h = gs_httpd_start(garbage, NULL, &port);
    t = trig(port, "up");
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_EPARSE);
    assert_non_null(strstr(e.msg, "NaN"));
    gs_queue_close(&q);
    gs_httpd_stop(h);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 16384);
    size_t n = fread(b, 1, 16383, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* TLS: a self-signed HTTPS endpoint is refused unless its CA is given (caFile) or
 * unsafeSsl is set. */
static void test_tls(void **s) {
    (void)s;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/tls.key -out %s/tls.crt >/dev/null 2>&1",
             prom.dir, prom.dir);
    assert_int_equal(system(cmd), 0);
    char kp[300], cp[300];
    snprintf(kp, sizeof kp, "%s/tls.key", prom.dir);
    snprintf(cp, sizeof cp, "%s/tls.crt", prom.dir);
    char *key = slurp(kp), *crt = slurp(cp);
    assert_non_null(key);
    assert_non_null(crt);
    int port = 0;
    gs_httpd *h = gs_httpd_start_tls(garbage_ok, NULL, &port, crt, key);
    assert_non_null(h);
    char addr[64];
    snprintf(addr, sizeof addr, "https://127.0.0.1:%d", port);
    gs_trigger t = trig(port, "up");
    snprintf(t.meta[0].value, sizeof t.meta[0].value, "%s", addr);
    gs_queue q;
    gs_error e;
    int64_t v;
    assert_int_equal(gs_queue_open(&q, &t, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_EIO);
    assert_non_null(strstr(e.msg, "certificate"));
    gs_queue_close(&q);
    gs_trigger tc = t;
    meta(&tc, "caFile", cp);
    assert_int_equal(gs_queue_open(&q, &tc, NULL, NULL), 0);
    if (gs_queue_read(&q, &v, &e)) fail_msg("%s", e.msg);
    assert_int_equal(v, 7000);
    gs_queue_close(&q);
    gs_trigger tu = t;
    meta(&tu, "unsafeSsl", "true");
    assert_int_equal(gs_queue_open(&q, &tu, NULL, NULL), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), 0);
    gs_queue_close(&q);
    gs_httpd_stop(h);
    free(key);
    free(crt);
}

static void test_slow_down_back(void **s) {
    (void)s;
    atomic_store(&depth_a, 1);
    atomic_store(&depth_b, 1);
    gs_queue_opts o = {300, 300};
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    snprintf(sc.name, sizeof sc.name, "w");
    sc.fallback_failures = 2;
    sc.fallback_replicas = 6;
    sc.ntriggers = 1;
    sc.triggers[0] = trig(prom.port, "sum(gs_queue_depth)");
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &sc, &o, 0, NULL), 0);
    read_until(&w.q[0], 2000);
    gs_scale_input in = {0};
    gs_scale_decision d;
    in.current = in.ready = 1;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 1);
    /* slow */
    gs_peer_pause(&prom);
    int64_t v;
    gs_error e;
    int rc = gs_queue_read(&w.q[0], &v, &e);
    gs_peer_resume(&prom);
    assert_int_equal(rc, GS_ETIMEOUT);
    read_until(&w.q[0], 2000);
    /* down: hold, then fallback */
    gs_prom_stop(&prom);
    in.now = 1000;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.reason, GS_SCALE_HOLD_ERROR);
    in.now = 2000;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
    assert_int_equal(d.desired, 6);
    /* back on the same port and data */
    assert_int_equal(gs_prom_start(&prom, prom.port, exporter_port, "100ms"), 0);
    read_until(&w.q[0], 2000);
    in.now = 3000;
    in.current = in.ready = 6;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_false(d.fallback);
    assert_int_equal(d.desired, 1);
    gs_watch_close(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings),
        cmocka_unit_test(test_empty_many_bad),
        cmocka_unit_test(test_auth_garbage),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_slow_down_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
