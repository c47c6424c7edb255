/* SQS source against a local HTTP endpoint (libmicrohttpd, in this test) that plays
 * GetQueueAttributes and CHECKS THE SIGNED REQUEST: it parses Authorization, recomputes the
 * SigV4 signature from what it received (method, path, the headers named in SignedHeaders,
 * the body) with the secret it knows, and refuses a mismatch, a wrong scope, a stale date or
 * an unsigned session token the way AWS does (error bodies shaped like AWS's JSON 1.0
 * errors). Real SQS cannot run here; the signer itself is checked against AWS's published
 * vectors in test_sigv4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "io/queue/queue.h"
#include "io/queue/sigv4.h"
#include "io/queue/watch.h"
#include "peers.h"

#define AKID "AKIDGPUSCALETEST"
#define SECRET "gpuscale/test+secret/KEY"
#define QURL "https://sqs.eu-west-1.amazonaws.com/123456789012/inference"

static gs_httpd *ep;
static int ep_port;
static atomic_int visible = 0, inflight = 0, delayed = 0, requests = 0, garbage_mode = 0;
static char last_reason[256];

typedef struct collect {
    gs_sigv4_header h[GS_SIGV4_MAX_HEADERS];
    char store[GS_SIGV4_MAX_HEADERS][2][512];
    int n;
    const char *signed_list;
} collect;

/* Keeps the received headers named in SignedHeaders. */
static void keep(void *ud, const char *k, const char *v) {
    collect *c = ud;
    char lk[128];
    size_t l = strlen(k);
    if (l >= sizeof lk || c->n == GS_SIGV4_MAX_HEADERS) return;
    for (size_t i = 0; i <= l; i++) lk[i] = (char)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
    const char *p = c->signed_list;
    bool found = false;
    while (*p) {
        size_t sl = strcspn(p, ";");
        if (sl == l && !strncmp(p, lk, l)) found = true;
        p += sl;
        if (*p == ';') p++;
    }
    if (!found) return;
    snprintf(c->store[c->n][0], 512, "%s", k);
    snprintf(c->store[c->n][1], 512, "%s", v);
    c->h[c->n].name = c->store[c->n][0];
    c->h[c->n].value = c->store[c->n][1];
    c->n++;
}

static int deny(char **reply, int status, const char *type, const char *msg) {
    snprintf(last_reason, sizeof last_reason, "%s", msg);
    char buf[512];
    snprintf(buf, sizeof buf, "{\"__type\":\"%s\",\"message\":\"%s\"}", type, msg);
    *reply = strdup(buf);
    return status;
}

static int sqs_endpoint(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    atomic_fetch_add(&requests, 1);
    if (atomic_load(&garbage_mode)) {
        *reply = strdup("<?xml version=\"1.0\"?><oops/>");
        return 200;
    }
    const char *auth = gs_httpd_header(r, "Authorization");
    const char *date = gs_httpd_header(r, "X-Amz-Date");
    const char *target = gs_httpd_header(r, "X-Amz-Target");
    if (!auth || !date)
        return deny(reply, 400, "com.amazon.coral.service#MissingAuthenticationTokenException",
                    "Request is missing Authentication Token");
    char akid[64], scope_date[16], region[32], service[32], signed_list[512], sig[80];
    if (sscanf(auth,
               "AWS4-HMAC-SHA256 Credential=%63[^/]/%15[^/]/%31[^/]/%31[^/]/aws4_request, "
               "SignedHeaders=%511[^,], Signature=%79s",
               akid, scope_date, region, service, signed_list, sig) != 6)
        return deny(reply, 400, "com.amazon.coral.service#IncompleteSignatureException",
                    "Authorization header is malformed");
    if (strcmp(akid, AKID) != 0)
        return deny(reply, 403, "com.amazon.coral.service#InvalidClientTokenId",
                    "The security token included in the request is invalid.");
    if (strncmp(date, scope_date, 8) != 0 || strcmp(region, "eu-west-1") != 0 ||
        strcmp(service, "sqs") != 0)
        return deny(reply, 403, "com.amazon.coral.service#InvalidSignatureException",
                    "Credential should be scoped to a valid region and service.");
    /* the date must be within 5 minutes of now */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    bool parsed = sscanf(date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                         &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long skew = parsed ? (long long)(timegm(&tm) - time(NULL)) : 1000000;
    if (skew > 300 || skew < -300)
        return deny(reply, 403, "com.amazon.coral.service#InvalidSignatureException",
                    "Signature expired.");
    if (!strstr(signed_list, "host") || !strstr(signed_list, "x-amz-date"))
        return deny(reply, 403, "com.amazon.coral.service#InvalidSignatureException",
                    "Host and X-Amz-Date must be signed.");
    if (gs_httpd_header(r, "X-Amz-Security-Token") && !strstr(signed_list, "x-amz-security-token"))
        return deny(reply, 403, "com.amazon.coral.service#InvalidSignatureException",
                    "The session token must be signed.");
    if (gs_httpd_header(r, "X-Amz-Security-Token") &&
        strcmp(gs_httpd_header(r, "X-Amz-Security-Token"), "session-token-1") != 0)
        return deny(reply, 403, "com.amazon.coral.service#UnrecognizedClientException",
                    "The security token included in the request is invalid.");
    collect c;
    memset(&c, 0, sizeof c);
    c.signed_list = signed_list;
    gs_httpd_headers(r, keep, &c);
    gs_sigv4_request req = {r->method, r->url, c.h, c.n, r->body, r->len};
    gs_sigv4_creds cr = {AKID, SECRET, NULL};
    gs_sigv4_params p = {"eu-west-1", "sqs", date, true, false, false};
    gs_sigv4_result *out = malloc(sizeof *out);
    int rc = gs_sigv4_sign(&req, &cr, &p, out, NULL);
    bool ok = rc == 0 && gs_sigv4_equal(out->signature, sig) && !strcmp(out->signed_headers, signed_list);
    free(out);
    if (!ok)
        return deny(reply, 403, "com.amazon.coral.service#InvalidSignatureException",
                    "The request signature we calculated does not match the signature you provided.");
    if (!target || strcmp(target, "AmazonSQS.GetQueueAttributes") != 0)
        return deny(reply, 400, "com.amazonaws.sqs#InvalidAction", "Unknown action");
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    const char *qurl = j ? json_string_value(json_object_get(j, "QueueUrl")) : NULL;
    bool known = qurl && !strcmp(qurl, QURL);
    json_decref(j);
    if (!known)
        return deny(reply, 400, "com.amazonaws.sqs#QueueDoesNotExist",
                    "The specified queue does not exist.");
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"Attributes\":{\"ApproximateNumberOfMessages\":\"%d\","
             "\"ApproximateNumberOfMessagesNotVisible\":\"%d\",\"ApproximateNumberOfMessagesDelayed\":\"%d\"}}",
             atomic_load(&visible), atomic_load(&inflight), atomic_load(&delayed));
    *reply = strdup(buf);
    return 200;
}

static void meta(gs_trigger *t, const char *k, const char *v) {
    snprintf(t->meta[t->nmeta].key, sizeof t->meta[0].key, "%s", k);
    snprintf(t->meta[t->nmeta].value, sizeof t->meta[0].value, "%s", v);
    t->nmeta++;
}

static gs_trigger trig(const char *qurl) {
    gs_trigger t;
    memset(&t, 0, sizeof t);
    t.type = GS_TRIG_SQS;
    snprintf(t.name, sizeof t.name, "sqs");
    t.target_milli = 5000;
    meta(&t, "queueURL", qurl);
    char epurl[64];
    snprintf(epurl, sizeof epurl, "http://127.0.0.1:%d", ep_port);
    meta(&t, "awsEndpoint", epurl);
    meta(&t, "awsAccessKeyIDFromEnv", "GS_TEST_AKID");
    meta(&t, "awsSecretAccessKeyFromEnv", "GS_TEST_SECRET");
    return t;
}

static int setup(void **s) {
    (void)s;
    setenv("GS_TEST_AKID", AKID, 1);
    setenv("GS_TEST_SECRET", SECRET, 1);
    ep = gs_httpd_start(sqs_endpoint, NULL, &ep_port);
    return ep ? 0 : -1;
}

static int teardown(void **s) {
    (void)s;
    gs_httpd_stop(ep);
    return 0;
}

static void test_signed_read(void **s) {
    (void)s;
    atomic_store(&visible, 7);
    atomic_store(&inflight, 3);
    atomic_store(&delayed, 2);
    gs_trigger t = trig(QURL);
    gs_queue q;
    gs_error e;
    int64_t v = -1;
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    if (gs_queue_read(&q, &v, &e)) fail_msg("%s (endpoint: %s)", e.msg, last_reason);
    assert_int_equal(v, 10000); /* visible + in flight (scaleOnInFlight default) */
    gs_queue_close(&q);
    t = trig(QURL);
    meta(&t, "scaleOnInFlight", "false");
    meta(&t, "scaleOnDelayed", "true");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), 0);
    assert_int_equal(v, 9000);
    gs_queue_close(&q);
    /* a session token travels signed */
    setenv("GS_TEST_TOKEN", "session-token-1", 1);
    t = trig(QURL);
    meta(&t, "awsSessionTokenFromEnv", "GS_TEST_TOKEN");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    if (gs_queue_read(&q, &v, &e)) fail_msg("%s (endpoint: %s)", e.msg, last_reason);
    gs_queue_close(&q);
    /* the scaler: 10 messages / 5 per replica */
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    sc.ntriggers = 1;
    sc.triggers[0] = trig(QURL);
    gs_watch w;
    assert_int_equal(gs_watch_open(&w, &sc, NULL, 0, NULL), 0);
    gs_scale_input in = {0};
    gs_scale_decision d;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.desired, 2);
    gs_watch_close(&w);
}

static void test_refused(void **s) {
    (void)s;
    gs_queue q;
    gs_error e;
    int64_t v;
    /* wrong secret: the endpoint's signature differs */
    setenv("GS_TEST_SECRET", "not-the-secret", 1);
    gs_trigger t = trig(QURL);
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    gs_capture_begin();
    int rc = gs_queue_read(&q, &v, &e);
    char *log = gs_capture_end();
    assert_int_equal(rc, GS_EAUTH);
    assert_non_null(strstr(e.msg, "InvalidSignatureException"));
    assert_non_null(strstr(log, "queue read failed"));
    assert_null(strstr(log, "not-the-secret"));
    free(log);
    gs_queue_close(&q);
    setenv("GS_TEST_SECRET", SECRET, 1);
    /* wrong region in the scope */
    t = trig(QURL);
    meta(&t, "awsRegion", "us-east-1");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_EAUTH);
    gs_queue_close(&q);
    /* unknown queue */
    t = trig("https://sqs.eu-west-1.amazonaws.com/123456789012/nope");
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), 0);
    assert_int_equal(gs_queue_read(&q, &v, &e), GS_ENOENT);
    assert_non_null(strstr(e.msg, "QueueDoesNotExist"));
    gs_queue_close(&q);
    /* config: no credentials anywhere; inline secret; no region */
    unsetenv("AWS_ACCESS_KEY_ID");
    gs_trigger t2;
    memset(&t2, 0, sizeof t2);
    t2.type = GS_TRIG_SQS;
    meta(&t2, "queueURL", QURL);
    assert_int_equal(gs_queue_open(&q, &t2, NULL, &e), GS_ENOENT);
    assert_non_null(strstr(e.msg, "AWS_ACCESS_KEY_ID"));
    t = trig(QURL);
    meta(&t, "awsSecretAccessKey", "inline");
    t.meta[3] = t.meta[4]; /* replace the FromEnv entry by the inline one */
    t.nmeta = 4;
    assert_int_equal(gs_queue_open(&q, &t, NULL, &e), GS_EINVAL);
    memset(&t2, 0, sizeof t2);
    t2.type = GS_TRIG_SQS;
    meta(&t2, "queueURL", "http://localhost:9324/000000000000/q");
    meta(&t2, "awsAccessKeyIDFromEnv", "GS_TEST_AKID");
    meta(&t2, "awsSecretAccessKeyFromEnv", "GS_TEST_SECRET");
    assert_int_equal(gs_queue_open(&q, &t2, NULL, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "awsRegion"));
}

static void test_garbage_down(void **s) {
    (void)s;
    gs_queue q;
    gs_error e;
    int64_t v;
    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    snprintf(sc.name, sizeof sc.name, "w");
    sc.fallback_failures = 1;
    sc.fallback_replicas = 2;
    sc.ntriggers = 1;
    sc.triggers[0] = trig(QURL);
    gs_watch w;
    gs_queue_opts o = {300, 300};
    assert_int_equal(gs_watch_open(&w, &sc, &o, 0, NULL), 0);
    gs_scale_input in = {0};
    gs_scale_decision d;
    atomic_store(&garbage_mode, 1);
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_int_equal(d.reason, GS_SCALE_FALLBACK);
    assert_int_equal(d.desired, 2);
    assert_int_equal(gs_queue_read(&w.q[0], &v, &e), GS_EPARSE);
    atomic_store(&garbage_mode, 0);
    /* down: the endpoint goes away */
    gs_httpd_stop(ep);
    assert_int_equal(gs_queue_read(&w.q[0], &v, &e), GS_EIO);
    int port = ep_port;
    ep = gs_httpd_start(sqs_endpoint, NULL, &port);
    assert_non_null(ep);
    assert_int_equal(port, ep_port);
    atomic_store(&visible, 0);
    atomic_store(&inflight, 0);
    in.now = 1000;
    in.current = in.ready = 2;
    assert_int_equal(gs_watch_step(&w, &in, &d, NULL), 0);
    assert_false(d.fallback);
    assert_int_equal(d.desired, 0); /* never active: straight to zero */
    gs_watch_close(&w);
    (void)q;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_read),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_garbage_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
