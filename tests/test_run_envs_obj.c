/* The Environment object's metadata as gpuscale run's Environments read it (cli/run_envs.h):
 * deletionTimestamp, the finalizer gpuscale.dev/environment, the merge patch that puts it on or
 * takes it off (other controllers' finalizers kept, in order; guarded by resourceVersion).
 * Bad input: a finalizers list the API server would never return (it refuses to store one, so
 * this is unit level: the object fed into a real informer cache, a stand-in HTTPS API server on
 * loopback): one clear log line naming the object and the field, no finalizer written, no
 * workload created; once fixed, the finalizer goes on before the workload is created (a 409 on
 * it holds the creation back). The end-to-end behaviour on the real control plane (delete while
 * gpuscale is stopped, another controller's finalizer kept) is in test_e2e_crs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_envs.h"
#include "io/config/config.h"
#include "io/kube/informer.h"
#include "io/kube/kpod.h"
#include "io/kube/kube.h"
#include "io/ledger/ledger.h"
#include "peers.h"
#include "testutil.h"

static json_t *obj(const char *text) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o) fail_msg("bad json: %s: %s", je.text, text);
    return o;
}

static void test_meta_read(void **st) {
    (void)st;
    gs_env_obj_meta m;
    gs_error e;
    json_t *o = obj("{\"metadata\": {\"name\": \"nb\", \"resourceVersion\": \"42\", "
                    "\"finalizers\": [\"example.com/keep\", \"gpuscale.dev/environment\"]}}");
    assert_int_equal(gs_run_envs_obj_meta(o, &m, &e), 0);
    assert_true(m.ours);
    assert_false(m.deleting);
    assert_string_equal(m.rv, "42");
    json_decref(o);
    o = obj("{\"metadata\": {\"resourceVersion\": \"7\", \"deletionTimestamp\": \"2026-11-25T10:00:00Z\"}}");
    assert_int_equal(gs_run_envs_obj_meta(o, &m, &e), 0);
    assert_false(m.ours);
    assert_true(m.deleting);
    json_decref(o);
    o = obj("{\"metadata\": {\"resourceVersion\": \"7\", \"finalizers\": null}}");
    assert_int_equal(gs_run_envs_obj_meta(o, &m, &e), 0);
    assert_false(m.ours);
    json_decref(o);
}

/* each class of malformed metadata: its own message with the field */
static void test_meta_malformed(void **st) {
    (void)st;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"metadata\": {\"resourceVersion\": \"1\", \"finalizers\": {\"a\": 1}}}",
         "metadata.finalizers: not a list (object)"},
        {"{\"metadata\": {\"resourceVersion\": \"1\", \"finalizers\": \"gpuscale.dev/environment\"}}",
         "metadata.finalizers: not a list (string)"},
        {"{\"metadata\": {\"resourceVersion\": \"1\", \"finalizers\": [\"example.com/keep\", 3]}}",
         "metadata.finalizers[1]: not a string (integer)"},
        {"{\"metadata\": {\"resourceVersion\": \"1\", \"finalizers\": [null]}}", "metadata.finalizers[0]: not a string (null)"},
        {"{\"metadata\": {\"finalizers\": []}}", "metadata.resourceVersion: missing"},
        {"{\"metadata\": {\"resourceVersion\": 5}}", "metadata.resourceVersion: not a non-empty string"},
        {"{\"metadata\": {\"resourceVersion\": \"1\", \"deletionTimestamp\": 17}}",
         "metadata.deletionTimestamp: not a string (integer)"},
        {"{\"metadata\": []}", "metadata: missing or not an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = obj(cases[i].json);
        gs_env_obj_meta m;
        gs_error e;
        gs_error_clear(&e);
        assert_int_equal(gs_run_envs_obj_meta(o, &m, &e), GS_EPARSE);
        assert_string_equal(e.msg, cases[i].msg);
        json_t *p = (json_t *)1;
        gs_error_clear(&e);
        assert_int_equal(gs_run_envs_fin_patch(o, true, &p, &e), GS_EPARSE); /* no patch from a bad list */
        assert_null(p);
        assert_string_equal(e.msg, cases[i].msg);
        json_decref(o);
    }
}

static void test_fin_patch(void **st) {
    (void)st;
    gs_error e;
    json_t *p = NULL;
    /* add: the whole list, others first in their order, ours last, with the resourceVersion */
    json_t *o = obj("{\"metadata\": {\"resourceVersion\": \"9\", \"finalizers\": [\"a.io/x\", \"b.io/y\"]}}");
    assert_int_equal(gs_run_envs_fin_patch(o, true, &p, &e), 0);
    json_t *want = obj("{\"metadata\": {\"resourceVersion\": \"9\", \"finalizers\": [\"a.io/x\", \"b.io/y\", "
                       "\"gpuscale.dev/environment\"]}}");
    assert_true(json_equal(p, want));
    json_decref(want);
    json_decref(p);
    /* already off: nothing to remove */
    assert_int_equal(gs_run_envs_fin_patch(o, false, &p, &e), 0);
    assert_null(p);
    json_decref(o);
    /* remove: ours only, wherever it is */
    o = obj("{\"metadata\": {\"resourceVersion\": \"10\", \"finalizers\": [\"a.io/x\", \"gpuscale.dev/environment\", "
            "\"b.io/y\"]}}");
    assert_int_equal(gs_run_envs_fin_patch(o, false, &p, &e), 0);
    want = obj("{\"metadata\": {\"resourceVersion\": \"10\", \"finalizers\": [\"a.io/x\", \"b.io/y\"]}}");
    assert_true(json_equal(p, want));
    json_decref(want);
    json_decref(p);
    assert_int_equal(gs_run_envs_fin_patch(o, true, &p, &e), 0); /* already on */
    assert_null(p);
    json_decref(o);
    /* no list at all: ours alone; removed last: an empty list */
    o = obj("{\"metadata\": {\"resourceVersion\": \"11\"}}");
    assert_int_equal(gs_run_envs_fin_patch(o, true, &p, &e), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "metadata"), "finalizers")), 1);
    json_decref(p);
    json_decref(o);
    o = obj("{\"metadata\": {\"resourceVersion\": \"12\", \"finalizers\": [\"gpuscale.dev/environment\"]}}");
    assert_int_equal(gs_run_envs_fin_patch(o, false, &p, &e), 0);
    assert_true(json_is_array(json_object_get(json_object_get(p, "metadata"), "finalizers")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "metadata"), "finalizers")), 0);
    json_decref(p);
    json_decref(o);
}

/* ---- a stand-in API server (HTTPS, loopback) ----
 * The real API server never returns an object with a malformed finalizers list (it refuses to
 * store one), so this class of bad input can only be shown with a stand-in: it answers every
 * GET 404 (the environment's workloads do not exist: it is to be created), a PATCH of the
 * Environment with `patch_status`, a POST 201, and records each request in order. */
typedef struct api {
    pthread_mutex_t mu;
    char log[8192];      /* "METHOD URL\n"... */
    char patch[2048];    /* the last PATCH body */
    int patch_status;
} api;

static int api_fn(void *ud, const gs_httpd_req *r, char **reply) {
    api *a = ud;
    pthread_mutex_lock(&a->mu);
    size_t n = strlen(a->log);
    snprintf(a->log + n, sizeof a->log - n, "%s %s\n", r->method, r->url);
    int st = 404;
    if (strcmp(r->method, "PATCH") == 0) {
        snprintf(a->patch, sizeof a->patch, "%.*s", (int)r->len, r->body ? r->body : "");
        st = a->patch_status;
    } else if (strcmp(r->method, "POST") == 0) {
        st = 201;
    }
    pthread_mutex_unlock(&a->mu);
    if (st == 404) *reply = strdup("{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\",\"message\":\"not found\"}");
    else if (st == 409) *reply = strdup("{\"kind\":\"Status\",\"code\":409,\"reason\":\"Conflict\",\"message\":\"the object has been modified\"}");
    else *reply = strdup("{\"metadata\":{\"uid\":\"u-1\",\"resourceVersion\":\"8\"}}");
    return st;
}

static void api_take(api *a, char *log, size_t n, char *patch, size_t pn) {
    pthread_mutex_lock(&a->mu);
    snprintf(log, n, "%s", a->log);
    if (patch) snprintf(patch, pn, "%s", a->patch);
    a->log[0] = a->patch[0] = '\0';
    pthread_mutex_unlock(&a->mu);
}

static char *tick_logged(gs_run_envs *re) {
    gs_capture_begin();
    gs_run_envs_tick(re, NULL, 0);
    return gs_capture_end();
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *b = calloc(1, 16384);
    size_t n = fread(b, 1, 16383, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void feed(gs_informer *objs, const char *type, const char *rv, const char *finalizers) {
    char line[1024];
    snprintf(line, sizeof line,
             "{\"type\": \"%s\", \"object\": {\"apiVersion\": \"gpuscale.dev/v1alpha1\", \"kind\": \"Environment\", "
             "\"metadata\": {\"name\": \"nb\", \"namespace\": \"ml\", \"resourceVersion\": \"%s\", \"generation\": 1, "
             "\"finalizers\": %s}, \"spec\": {}}}",
             type, rv, finalizers);
    gs_error e;
    if (gs_informer_feed_line(objs, line, strlen(line), &e)) fail_msg("feed: %s", e.msg);
}

static void test_malformed_object_logged(void **st) {
    (void)st;
    gs_catalog cat;
    gs_test_catalog(&cat);
    static const char *const y =
        "apiVersion: gpuscale.dev/v1alpha1\nkind: Environment\nmetadata: {name: nb, namespace: ml}\n"
        "spec:\n  ttl: 1h\n  workloads:\n  - name: web\n    template:\n      resources: {requests: {cpu: 100m}}\n";
    gs_config cfg;
    gs_error e;
    if (gs_config_load_string(&cfg, y, strlen(y), "t.yaml", &cat, &e)) fail_msg("%s", e.msg);
    char dir[] = "/tmp/gs-envobj-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lp[256], cmd[1024], kp[300], cp[300];
    snprintf(lp, sizeof lp, "%s/ledger.db", dir);
    snprintf(kp, sizeof kp, "%s/tls.key", dir);
    snprintf(cp, sizeof cp, "%s/tls.crt", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
             "-keyout %s -out %s >/dev/null 2>&1",
             kp, cp);
    assert_int_equal(system(cmd), 0);
    char *key = slurp(kp), *crt = slurp(cp);
    assert_non_null(key);
    assert_non_null(crt);
    static api A;
    memset(&A, 0, sizeof A);
    pthread_mutex_init(&A.mu, NULL);
    A.patch_status = 409;
    int port = 0;
    gs_httpd *h = gs_httpd_start_tls(api_fn, &A, &port, crt, key);
    assert_non_null(h);
    gs_ledger *l = NULL;
    if (gs_ledger_open(lp, true, &l, &e)) fail_msg("%s", e.msg);
    gs_kube_config kc;
    memset(&kc, 0, sizeof kc);
    snprintf(kc.server, sizeof kc.server, "https://127.0.0.1:%d", port);
    kc.insecure = true;
    gs_kube *k = NULL;
    if (gs_kube_new(&kc, 5000, &k, &e)) fail_msg("%s", e.msg);
    gs_informer *objs = gs_informer_new(NULL, "/apis/gpuscale.dev/v1alpha1/environments", NULL, NULL, NULL, NULL);
    assert_non_null(objs);
    feed(objs, "ADDED", "5", "[\"example.com/keep\", 7]");
    gs_rules_store *rules = NULL;
    gs_informer_codec codec;
    gs_kpod_codec(&codec, &rules);
    gs_informer *pods = gs_informer_new_typed(NULL, "/api/v1/pods", NULL, &codec, NULL, NULL); /* none */
    assert_non_null(pods);
    gs_run_envs *re = NULL;
    if (gs_run_envs_new(&cfg, k, pods, l, &re, &e)) fail_msg("%s", e.msg);
    gs_run_envs_use_objects(re, objs);
    char reqs[8192], body[2048];

    /* malformed: one clear line naming the object and the field; the state is read (pending,
     * to be created) but nothing is written: no finalizer patch, no create */
    char *log1 = tick_logged(re), *log2 = tick_logged(re);
    const char *want = "msg=\"environment object malformed\" environment=ml/nb "
                       "err=\"Environment/ml/nb: metadata.finalizers[1]: not a string (integer)\"";
    if (!strstr(log1, want)) fail_msg("log line missing; got:\n%s", log1);
    assert_non_null(strstr(log1, "no workload created"));
    if (!strstr(log1, "msg=\"environment state\" environment=ml/nb phase=pending")) fail_msg("state not read:\n%s", log1);
    assert_int_equal(count(log1, "environment object malformed"), 1);
    assert_int_equal(count(log2, "environment object malformed"), 0); /* once, not every tick */
    api_take(&A, reqs, sizeof reqs, NULL, 0);
    assert_non_null(strstr(reqs, "GET /apis/apps/v1/namespaces/ml/deployments/nb-web"));
    assert_null(strstr(reqs, "PATCH"));
    assert_null(strstr(reqs, "POST"));

    /* fixed; the API server refuses the finalizer patch (409: the object changed since the
     * cache's copy): still no workload, nothing more said about the old problem */
    feed(objs, "MODIFIED", "6", "[\"example.com/keep\"]");
    char *log3 = tick_logged(re);
    assert_int_equal(count(log3, "environment object malformed"), 0);
    api_take(&A, reqs, sizeof reqs, body, sizeof body);
    assert_non_null(strstr(reqs, "PATCH /apis/gpuscale.dev/v1alpha1/namespaces/ml/environments/nb\n"));
    assert_null(strstr(reqs, "POST"));
    json_error_t je;
    json_t *p = json_loads(body, 0, &je);
    json_t *wantp = json_loads("{\"metadata\": {\"resourceVersion\": \"6\", \"finalizers\": [\"example.com/keep\", "
                               "\"gpuscale.dev/environment\"]}}",
                               0, &je);
    if (!json_equal(p, wantp)) fail_msg("patch body: %s", body);
    json_decref(p);
    json_decref(wantp);

    /* accepted (at the next try, a second later): the finalizer first, then the workload */
    A.patch_status = 200;
    usleep(1100000);
    char *log4 = tick_logged(re);
    api_take(&A, reqs, sizeof reqs, NULL, 0);
    const char *pa = strstr(reqs, "PATCH /apis/gpuscale.dev/v1alpha1/namespaces/ml/environments/nb\n");
    const char *po = strstr(reqs, "POST /apis/apps/v1/namespaces/ml/deployments\n");
    if (!pa || !po || pa > po) fail_msg("want the finalizer patch, then the create; got:\n%s", reqs);
    assert_non_null(strstr(log4, "msg=\"environment finalizer added\" environment=ml/nb"));
    assert_non_null(strstr(log4, "msg=\"environment created\" environment=ml/nb"));
    char buf[4096];
    assert_true(gs_run_envs_metrics(re, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "gpuscale_environment_finalizer_writes_total{op=\"add\"} 1\n"));
    assert_non_null(strstr(buf, "gpuscale_environment_finalizer_writes_total{op=\"conflict\"} 1\n"));
    free(log1);
    free(log2);
    free(log3);
    free(log4);
    gs_run_envs_free(re);
    gs_informer_free(objs);
    gs_informer_free(pods);
    gs_rules_store_free(rules);
    gs_informers_shutdown();
    gs_kube_free(k);
    gs_httpd_stop(h);
    pthread_mutex_destroy(&A.mu);
    free(key);
    free(crt);
    gs_ledger_close(l);
    gs_config_free(&cfg);
    gs_catalog_free(&cat);
    gs_peer_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_read),
        cmocka_unit_test(test_meta_malformed),
        cmocka_unit_test(test_fin_patch),
        cmocka_unit_test(test_malformed_object_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
