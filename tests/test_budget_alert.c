/* Budget alerts against a real HTTP server (libmicrohttpd on a loopback port it picks): the
 * webhook's JSON body, retries on 503 until a 200, giving up after the retries, no retry on
 * 400, connection refused, bad URLs; and the metric counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/alert.h"

typedef struct server {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t lock;
    int fail_first;        /* answer this many requests with fail_status */
    unsigned fail_status;
    int requests;
    char last_body[4096];
    char last_ctype[128];
    char last_method[16];
} server;

typedef struct conn_buf {
    char data[4096];
    size_t len;
    bool too_big;
} conn_buf;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **ctx) {
    (void)url;
    (void)version;
    server *s = cls;
    conn_buf *b = *ctx;
    if (!b) {
        b = calloc(1, sizeof *b);
        *ctx = b;
        return MHD_YES;
    }
    if (*upload_size) {
        if (b->len + *upload_size >= sizeof b->data) b->too_big = true;
        else {
            memcpy(b->data + b->len, upload, *upload_size);
            b->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->lock);
    s->requests++;
    unsigned status = s->requests <= s->fail_first ? s->fail_status : MHD_HTTP_OK;
    memcpy(s->last_body, b->data, b->len);
    s->last_body[b->len] = '\0';
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    snprintf(s->last_ctype, sizeof s->last_ctype, "%s", ct ? ct : "");
    snprintf(s->last_method, sizeof s->last_method, "%s", method);
    pthread_mutex_unlock(&s->lock);
    static char ok[] = "{}";
    struct MHD_Response *r = MHD_create_response_from_buffer(2, ok, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode t) {
    (void)cls;
    (void)c;
    (void)t;
    free(*ctx);
    *ctx = NULL;
}

static int setup(void **st) {
    server *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, NULL, MHD_OPTION_END);
    if (!s->d) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info->port;
    *st = s;
    return 0;
}

static int teardown(void **st) {
    server *s = *st;
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return 0;
}

static gs_alert sample(void) {
    gs_alert a;
    memset(&a, 0, sizeof a);
    snprintf(a.budget, sizeof a.budget, "team-a-daily");
    snprintf(a.project, sizeof a.project, "team-a");
    snprintf(a.window, sizeof a.window, "day");
    snprintf(a.action, sizeof a.action, "alert");
    a.pct = 80;
    a.spent = 85000000;
    a.limit = 100000000;
    a.period_start = 1774742400000; /* 2026-03-29T00:00:00Z */
    a.at = 1774785600000;
    snprintf(a.message, sizeof a.message, "budget team-a-daily: day spend $85 is 85%% of $100");
    return a;
}

static void test_webhook_retries_then_delivers(void **st) {
    server *s = *st;
    s->fail_first = 2;
    s->fail_status = MHD_HTTP_SERVICE_UNAVAILABLE;
    gs_alert_metrics m0, m1;
    gs_alert_metrics_get(&m0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hooks/budget", (unsigned)s->port);
    gs_webhook_opts o = {3, 10, 2000};
    gs_alert a = sample();
    gs_error e;
    assert_int_equal(gs_alert_emit(&a, url, &o, &e), 0);
    assert_int_equal(s->requests, 3);
    assert_string_equal(s->last_method, "POST");
    assert_string_equal(s->last_ctype, "application/json");
    json_error_t je;
    json_t *j = json_loads(s->last_body, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "gpuscale.dev/budget-alert");
    assert_string_equal(json_string_value(json_object_get(j, "budget")), "team-a-daily");
    assert_string_equal(json_string_value(json_object_get(j, "project")), "team-a");
    assert_string_equal(json_string_value(json_object_get(j, "window")), "day");
    assert_int_equal(json_integer_value(json_object_get(j, "thresholdPct")), 80);
    assert_int_equal(json_integer_value(json_object_get(j, "spentMicroUsd")), 85000000);
    assert_int_equal(json_integer_value(json_object_get(j, "limitMicroUsd")), 100000000);
    assert_string_equal(json_string_value(json_object_get(j, "periodStart")), "2026-03-29T00:00:00Z");
    json_decref(j);
    gs_alert_metrics_get(&m1);
    assert_int_equal(m1.alerts - m0.alerts, 1);
    assert_int_equal(m1.webhook_ok - m0.webhook_ok, 1);
    assert_int_equal(m1.webhook_attempts - m0.webhook_attempts, 3);
    char text[2048], want[96];
    assert_true(gs_alert_metrics_format(text, sizeof text) < (int)sizeof text);
    snprintf(want, sizeof want, "\ngpuscale_budget_webhook_attempts_total %llu\n", (unsigned long long)m1.webhook_attempts);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "# TYPE gpuscale_budget_alerts_total counter\n"));
}

static void test_webhook_gives_up(void **st) {
    server *s = *st;
    s->fail_first = 100;
    s->fail_status = MHD_HTTP_BAD_GATEWAY;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)s->port);
    gs_webhook_opts o = {2, 5, 2000};
    gs_alert_metrics m0, m1;
    gs_alert_metrics_get(&m0);
    gs_error e;
    assert_int_equal(gs_alert_webhook_post(url, "{}", &o, &e), GS_EPEER);
    assert_non_null(strstr(e.msg, "HTTP 502 (attempt 3 of 3)"));
    assert_int_equal(s->requests, 3);
    gs_alert_metrics_get(&m1);
    assert_int_equal(m1.webhook_failed - m0.webhook_failed, 1);
}

static void test_webhook_no_retry_on_4xx(void **st) {
    server *s = *st;
    s->fail_first = 100;
    s->fail_status = MHD_HTTP_BAD_REQUEST;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)s->port);
    gs_webhook_opts o = {5, 5, 2000};
    gs_error e;
    assert_int_equal(gs_alert_webhook_post(url, "{}", &o, &e), GS_EPEER);
    assert_int_equal(s->requests, 1);
    /* 429 is retried */
    s->requests = 0;
    s->fail_first = 1;
    s->fail_status = 429;
    assert_int_equal(gs_alert_webhook_post(url, "{}", &o, &e), 0);
    assert_int_equal(s->requests, 2);
}

static void test_webhook_transport_errors(void **st) {
    (void)st;
    /* a port nobody listens on: bind one, note it, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)ntohs(a.sin_port));
    gs_webhook_opts o = {1, 5, 2000};
    gs_error e;
    assert_int_equal(gs_alert_webhook_post(url, "{}", &o, &e), GS_EIO);
    assert_non_null(strstr(e.msg, "attempt 2 of 2"));
    assert_int_equal(gs_alert_webhook_post("ftp://example.com/x", "{}", &o, &e), GS_EINVAL);
    assert_int_equal(gs_alert_webhook_post("file:///etc/passwd", "{}", &o, &e), GS_EINVAL);
    /* emit without a URL still logs and counts */
    gs_alert_metrics m0, m1;
    gs_alert_metrics_get(&m0);
    gs_alert al = sample();
    assert_int_equal(gs_alert_emit(&al, "", NULL, &e), 0);
    gs_alert_metrics_get(&m1);
    assert_int_equal(m1.alerts - m0.alerts, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_webhook_retries_then_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_no_retry_on_4xx, setup, teardown),
        cmocka_unit_test(test_webhook_transport_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
