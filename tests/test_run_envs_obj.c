/* The Environment object's metadata as gpuscale run's Environments read it (cli/run_envs.h):
 * deletionTimestamp, the finalizer gpuscale.dev/environment, the merge patch that puts it on or
 * takes it off (other controllers' finalizers kept, in order; guarded by resourceVersion).
 * Bad input: a finalizers list the API server would never return (it refuses such writes, so
 * this is unit level, fed into a real informer cache): a clear log line naming the object and
 * the field, once, and no workload created. The end-to-end behaviour (delete while gpuscale is
 * stopped, another controller's finalizer kept) is in test_e2e_crs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_envs.h"
#include "io/config/config.h"
#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/ledger/ledger.h"
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

/* Runs one tick with stderr captured into out (malloc'd). */
static char *tick_logged(gs_run_envs *re) {
    char path[] = "/tmp/gs-envobj-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    gs_run_envs_tick(re, NULL, 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *out = NULL;
    FILE *f = fopen(path, "r");
    if (f) {
        out = calloc(1, 65536);
        size_t n = fread(out, 1, 65535, f);
        out[n] = '\0';
        fclose(f);
    }
    unlink(path);
    return out;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
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
    char dir[] = "/tmp/gs-envobj-d-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lp[256];
    snprintf(lp, sizeof lp, "%s/ledger.db", dir);
    gs_ledger *l = NULL;
    if (gs_ledger_open(lp, true, &l, &e)) fail_msg("%s", e.msg);
    /* an API server nobody listens on: any call fails at once (none may succeed here) */
    gs_kube_config kc;
    memset(&kc, 0, sizeof kc);
    snprintf(kc.server, sizeof kc.server, "http://127.0.0.1:1");
    gs_kube *k = NULL;
    if (gs_kube_new(&kc, 2000, &k, &e)) fail_msg("%s", e.msg);
    gs_informer *objs = gs_informer_new(NULL, "/apis/gpuscale.dev/v1alpha1/environments", NULL, NULL, NULL, NULL);
    assert_non_null(objs);
    const char *line = "{\"type\": \"ADDED\", \"object\": {\"apiVersion\": \"gpuscale.dev/v1alpha1\", \"kind\": \"Environment\", "
                       "\"metadata\": {\"name\": \"nb\", \"namespace\": \"ml\", \"resourceVersion\": \"5\", "
                       "\"finalizers\": [\"example.com/keep\", 7]}, \"spec\": {}}}";
    assert_int_equal(gs_informer_feed_line(objs, line, strlen(line), &e), 0);
    gs_run_envs *re = NULL;
    if (gs_run_envs_new(&cfg, k, NULL, l, &re, &e)) fail_msg("%s", e.msg);
    gs_run_envs_use_objects(re, objs);
    char *log1 = tick_logged(re), *log2 = tick_logged(re);
    assert_non_null(log1);
    assert_non_null(log2);
    const char *want = "msg=\"environment object malformed\" environment=ml/nb "
                       "err=\"Environment/ml/nb: metadata.finalizers[1]: not a string (integer)\"";
    if (!strstr(log1, want)) fail_msg("log line missing; got:\n%s", log1);
    assert_non_null(strstr(log1, "no workload created"));
    assert_int_equal(count(log1, "environment object malformed"), 1);
    assert_int_equal(count(log2, "environment object malformed"), 0); /* once, not every tick */
    assert_int_equal(count(log1, "environment created"), 0);
    /* the object fixed: nothing more said about it */
    const char *fixed = "{\"type\": \"MODIFIED\", \"object\": {\"apiVersion\": \"gpuscale.dev/v1alpha1\", \"kind\": "
                        "\"Environment\", \"metadata\": {\"name\": \"nb\", \"namespace\": \"ml\", \"resourceVersion\": \"6\", "
                        "\"finalizers\": [\"example.com/keep\"]}, \"spec\": {}}}";
    assert_int_equal(gs_informer_feed_line(objs, fixed, strlen(fixed), &e), 0);
    char *log3 = tick_logged(re);
    assert_int_equal(count(log3, "environment object malformed"), 0);
    char buf[4096];
    size_t n = gs_run_envs_metrics(re, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "gpuscale_environment_finalizer_writes_total{op=\"add\"} 0"));
    free(log1);
    free(log2);
    free(log3);
    gs_run_envs_free(re);
    gs_informer_free(objs);
    gs_informers_shutdown();
    gs_kube_free(k);
    gs_ledger_close(l);
    gs_config_free(&cfg);
    gs_catalog_free(&cat);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
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
