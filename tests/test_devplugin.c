/* io/kube/devplugin: a node's GPU mode read from what it advertises (allocatable as a real
 * v1.20 API server returns it: quantity strings; and as the controller's trimmed cache holds it:
 * integers), gpuscale's config keys, the time-slicing config it writes (fields as the NVIDIA
 * k8s-device-plugin README documents them) read back, and every class of bad config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "io/kube/devplugin.h"

static json_t *js(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v) fail_msg("bad test JSON: %s", je.text);
    return v;
}

static void mode_of(const char *labels, const char *alloc, int ngpus, gs_dp_mode *m) {
    json_t *l = labels ? js(labels) : NULL, *a = alloc ? js(alloc) : NULL;
    gs_dp_node_mode(l, a, ngpus, m);
    json_decref(l);
    json_decref(a);
}

static void test_node_mode(void **st) {
    (void)st;
    gs_dp_mode m;
    /* unconfigured (the device plugin's default): whole GPUs */
    mode_of("{\"nvidia.com/gpu.replicas\":\"1\",\"nvidia.com/gpu.sharing-strategy\":\"none\"}",
            "{\"nvidia.com/gpu\":\"4\",\"cpu\":\"48\"}", 4, &m);
    assert_int_equal(m.mode, GS_GPUMODE_WHOLE);
    assert_int_equal(m.replicas, 1);
    assert_true(m.advertised);
    /* no device plugin yet: nothing advertised */
    mode_of(NULL, "{\"cpu\":\"4\"}", 1, &m);
    assert_int_equal(m.mode, GS_GPUMODE_WHOLE);
    assert_false(m.advertised);
    /* renameByDefault, 4 replicas on 2 GPUs (integers: the trimmed cache) */
    mode_of("{\"nvidia.com/gpu.replicas\":\"4\",\"nvidia.com/gpu.sharing-strategy\":\"time-slicing\"}",
            "{\"nvidia.com/gpu.shared\":8}", 2, &m);
    assert_int_equal(m.mode, GS_GPUMODE_TIMESLICED);
    assert_int_equal(m.replicas, 4);
    assert_true(m.renamed);
    /* the label lags (still 1): allocatable decides */
    mode_of("{\"nvidia.com/gpu.replicas\":\"1\"}", "{\"nvidia.com/gpu.shared\":\"6\"}", 1, &m);
    assert_int_equal(m.mode, GS_GPUMODE_TIMESLICED);
    assert_int_equal(m.replicas, 6);
    /* without renameByDefault: nvidia.com/gpu = GPUs x replicas */
    mode_of("{\"nvidia.com/gpu.replicas\":\"10\"}", "{\"nvidia.com/gpu\":\"80\"}", 8, &m);
    assert_int_equal(m.mode, GS_GPUMODE_TIMESLICED);
    assert_int_equal(m.replicas, 10);
    assert_false(m.renamed);
    /* a label that disagrees with allocatable is not believed */
    mode_of("{\"nvidia.com/gpu.replicas\":\"3\"}", "{\"nvidia.com/gpu.shared\":\"8\"}", 2, &m);
    assert_int_equal(m.replicas, 4);
    /* garbage label, fewer advertised than GPUs (some GPUs unhealthy): whole */
    mode_of("{\"nvidia.com/gpu.replicas\":\"lots\"}", "{\"nvidia.com/gpu\":\"3\"}", 4, &m);
    assert_int_equal(m.mode, GS_GPUMODE_WHOLE);
    mode_of(NULL, NULL, 0, &m);
    assert_int_equal(m.mode, GS_GPUMODE_WHOLE);
}

static void test_node_has(void **st) {
    (void)st;
    json_t *l = js("{\"nvidia.com/gpu.replicas\":\"4\",\"nvidia.com/gpu.sharing-strategy\":\"time-slicing\"}");
    json_t *a = js("{\"nvidia.com/gpu.shared\":\"4\"}");
    assert_true(gs_dp_node_has(l, a, 1, 4));
    assert_false(gs_dp_node_has(l, a, 1, 8)); /* the pool asks for 8 */
    assert_false(gs_dp_node_has(l, a, 2, 4)); /* 2 GPUs: 8 expected */
    json_object_set_new(l, "nvidia.com/gpu.sharing-strategy", json_string("mps"));
    assert_false(gs_dp_node_has(l, a, 1, 4));
    json_decref(l);
    assert_true(gs_dp_node_has(NULL, a, 1, 4)); /* no GFD labels: allocatable decides */
    json_decref(a);
    a = js("{\"nvidia.com/gpu\":\"4\"}"); /* not renamed: not gpuscale's config */
    assert_false(gs_dp_node_has(NULL, a, 1, 4));
    json_decref(a);
}

static void test_keys(void **st) {
    (void)st;
    char k[64];
    gs_dp_key(4, k, sizeof k);
    assert_string_equal(k, "gpuscale-timeslicing-4");
    assert_int_equal(gs_dp_key_replicas(k), 4);
    assert_int_equal(gs_dp_key_replicas("gpuscale-timeslicing-64"), 64);
    assert_int_equal(gs_dp_key_replicas("gpuscale-timeslicing-65"), -1);
    assert_int_equal(gs_dp_key_replicas("gpuscale-timeslicing-1"), -1);
    assert_int_equal(gs_dp_key_replicas("gpuscale-timeslicing-04"), -1);
    assert_int_equal(gs_dp_key_replicas("gpuscale-timeslicing-"), -1);
    assert_int_equal(gs_dp_key_replicas("gpuscale-timeslicing-4x"), -1);
    assert_int_equal(gs_dp_key_replicas("any"), -1);
    assert_int_equal(gs_dp_key_replicas(NULL), -1);
}

static void test_config_roundtrip(void **st) {
    (void)st;
    json_t *cfg = gs_dp_config(4);
    assert_non_null(cfg);
    assert_string_equal(json_string_value(json_object_get(cfg, "version")), "v1");
    const json_t *ts = json_object_get(json_object_get(cfg, "sharing"), "timeSlicing");
    assert_true(json_is_true(json_object_get(ts, "renameByDefault")));
    assert_true(json_is_false(json_object_get(ts, "failRequestsGreaterThanOne")));
    const json_t *r0 = json_array_get(json_object_get(ts, "resources"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "name")), "nvidia.com/gpu");
    assert_int_equal(json_integer_value(json_object_get(r0, "replicas")), 4);
    char *text = json_dumps(cfg, JSON_INDENT(2));
    int32_t r = 0;
    bool rename = false;
    gs_error e;
    assert_int_equal(gs_dp_config_parse(text, "k", &r, &rename, &e), 0);
    assert_int_equal(r, 4);
    assert_true(rename);
    free(text);
    json_decref(cfg);
    /* the README's YAML example (no renameByDefault) */
    assert_int_equal(gs_dp_config_parse("version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n"
                                        "      replicas: 10\n", "k", &r, &rename, &e), 0);
    assert_int_equal(r, 10);
    assert_false(rename);
    /* a config without sharing (e.g. only flags): not time-sliced */
    assert_int_equal(gs_dp_config_parse("version: v1\nflags: {migStrategy: none}\n", "k", &r, &rename, &e), 0);
    assert_int_equal(r, 1);
}

static void bad(const char *text, const char *want) {
    int32_t r = 0;
    bool rename = false;
    gs_error e;
    gs_error_clear(&e);
    assert_int_equal(gs_dp_config_parse(text, "configmap ns/cm key k", &r, &rename, &e), GS_EPARSE);
    if (!strstr(e.msg, want)) fail_msg("message '%s' lacks '%s'", e.msg, want);
    if (!strstr(e.msg, "configmap ns/cm key k")) fail_msg("message '%s' lacks where", e.msg);
}

static void test_config_bad(void **st) {
    (void)st;
    bad(NULL, "missing");
    bad("{{not yaml", "not YAML or JSON");
    bad("- a\n- b\n", "one mapping");
    bad("version: v2\n", "version");
    bad("sharing: {}\n", "version");
    bad("version: v1\nflags: [a]\n", "flags");
    bad("version: v1\nsharing: yes-please\n", "sharing: must be a mapping");
    bad("version: v1\nsharing: {timeSlicing: [1]}\n", "sharing.timeSlicing: must be a mapping");
    bad("version: v1\nsharing: {timeSlicing: {renameByDefault: sure}}\n", "renameByDefault");
    bad("version: v1\nsharing: {timeSlicing: {failRequestsGreaterThanOne: 1}}\n", "failRequestsGreaterThanOne");
    bad("version: v1\nsharing: {timeSlicing: {resources: {name: nvidia.com/gpu}}}\n", "resources: must be a list");
    bad("version: v1\nsharing: {timeSlicing: {resources: [7]}}\n", "resources[0]: must be a mapping");
    bad("version: v1\nsharing: {timeSlicing: {resources: [{replicas: 2}]}}\n", "resources[0].name");
    bad("version: v1\nsharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: two}]}}\n",
        "resources[0].replicas");
    bad("version: v1\nsharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: 0}]}}\n",
        "resources[0].replicas");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_node_mode), cmocka_unit_test(test_node_has),
                                       cmocka_unit_test(test_keys), cmocka_unit_test(test_config_roundtrip),
                                       cmocka_unit_test(test_config_bad)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
