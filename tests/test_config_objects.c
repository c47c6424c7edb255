/* gs_config_load_objects: the custom resources as the API server returns them (JSON, with
 * status and server metadata) become the same configuration as the files; messages name the
 * object and the field path ("GPUPool/x: spec.limits.gpus: ..."), without line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "io/fs.h"
#include "io/kube/yamljson.h"
#include "testutil.h"

static gs_catalog CAT;

static int setup(void **st) {
    (void)st;
    gs_test_catalog(&CAT);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    gs_catalog_free(&CAT);
    return 0;
}

/* What the API server adds to an object. */
static void serverify(json_t *o, int i) {
    json_t *md = json_object_get(o, "metadata");
    char uid[64];
    snprintf(uid, sizeof uid, "0000-%d", i);
    json_object_set_new(md, "uid", json_string(uid));
    json_object_set_new(md, "resourceVersion", json_string("123"));
    json_object_set_new(md, "generation", json_integer(3));
    json_object_set_new(md, "creationTimestamp", json_string("2026-01-01T00:00:00Z"));
    json_object_set_new(md, "managedFields", json_pack("[{s:s,s:s}]", "manager", "kubectl", "operation", "Apply"));
    /* tools label freely: more labels than a file may carry, long keys */
    json_t *labels = json_object();
    for (int k = 0; k < 20; k++) {
        char key[96];
        snprintf(key, sizeof key, "app.kubernetes.io/some-rather-long-label-key-number-%02d-for-tools", k);
        json_object_set_new(labels, key, json_string("x"));
    }
    json_object_set_new(md, "labels", labels);
    json_object_set_new(o, "status", json_pack("{s:i,s:[{s:s,s:s}]}", "observedGeneration", 2, "conditions", "type",
                                               "Ready", "status", "True"));
}

/* Every document of the YAML texts as API objects; names "Kind/[ns/]name". */
static int load_json(gs_config *c, const char *const *texts, int n, gs_error *e, json_t **keep) {
    json_t *all = json_array();
    for (int i = 0; i < n; i++) {
        json_t *docs = NULL;
        if (gs_yaml_to_json(texts[i], strlen(texts[i]), "t", &docs, e)) fail_msg("yaml: %s", e->msg);
        json_array_extend(all, docs);
        json_decref(docs);
    }
    size_t nd = json_array_size(all);
    gs_config_obj *objs = calloc(nd + 1, sizeof *objs);
    char (*names)[128] = calloc(nd + 1, sizeof *names);
    for (size_t i = 0; i < nd; i++) {
        json_t *o = json_array_get(all, i);
        serverify(o, (int)i);
        const json_t *md = json_object_get(o, "metadata");
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        if (ns)
            snprintf(names[i], sizeof names[i], "%s/%s/%s", json_string_value(json_object_get(o, "kind")), ns,
                     json_string_value(json_object_get(md, "name")));
        else
            snprintf(names[i], sizeof names[i], "%s/%s", json_string_value(json_object_get(o, "kind")),
                     json_string_value(json_object_get(md, "name")));
        objs[i].name = names[i];
        objs[i].obj = o;
    }
    int rc = gs_config_load_objects(c, objs, (int)nd, &CAT, e);
    free(objs);
    free(names);
    *keep = all;
    return rc;
}

static char *slurp(const char *path) {
    char *t = NULL;
    size_t len = 0;
    gs_error e;
    if (gs_fs_read(path, 1u << 20, &t, &len, &e)) fail_msg("%s: %s", path, e.msg);
    return t;
}

static void test_examples_same_as_files(void **st) {
    (void)st;
    const char *paths[] = {GS_SOURCE_DIR "/examples/gpupools.yaml", GS_SOURCE_DIR "/examples/queuescalers.yaml",
                           GS_SOURCE_DIR "/examples/budgets.yaml", GS_SOURCE_DIR "/examples/environments.yaml"};
    gs_config a, b;
    gs_error e;
    if (gs_config_load_files(&a, paths, 4, &CAT, &e)) fail_msg("files: %s", e.msg);
    char *texts[4];
    for (int i = 0; i < 4; i++) texts[i] = slurp(paths[i]);
    json_t *keep = NULL;
    int rc = load_json(&b, (const char *const *)texts, 4, &e, &keep);
    if (rc) fail_msg("objects: %s: %s", e.file, e.msg);
    assert_int_equal(a.npools, b.npools);
    assert_int_equal(a.nscalers, b.nscalers);
    assert_int_equal(a.nbudgets, b.nbudgets);
    assert_int_equal(a.nenvs, b.nenvs);
    for (int32_t i = 0; i < a.npools; i++) {
        int j = gs_config_find_pool(&b, a.pools[i].name);
        assert_true(j >= 0);
        assert_int_equal(a.pools[i].weight, b.pools[j].weight);
        assert_int_equal(a.pools[i].sharing, b.pools[j].sharing);
        assert_int_equal(a.pools[i].limit_gpus, b.pools[j].limit_gpus);
        assert_int_equal(a.pools[i].limit_usd_per_hour, b.pools[j].limit_usd_per_hour);
        assert_int_equal(a.pools[i].consolidate_after, b.pools[j].consolidate_after);
    }
    for (int32_t i = 0; i < a.nscalers; i++) {
        assert_string_equal(a.scalers[i].name, b.scalers[i].name);
        assert_string_equal(a.scalers[i].ns, b.scalers[i].ns);
        assert_int_equal(a.scalers[i].max_replicas, b.scalers[i].max_replicas);
        assert_int_equal(a.scalers[i].cooldown_period, b.scalers[i].cooldown_period);
        assert_int_equal(a.scalers[i].ntriggers, b.scalers[i].ntriggers);
        assert_int_equal(a.scalers[i].triggers[0].target_milli, b.scalers[i].triggers[0].target_milli);
        assert_int_equal(a.scalers[i].pod.gpu.form, b.scalers[i].pod.gpu.form);
    }
    for (int32_t i = 0; i < a.nbudgets; i++) {
        assert_int_equal(a.budgets[i].per_hour, b.budgets[i].per_hour);
        assert_int_equal(a.budgets[i].per_month, b.budgets[i].per_month);
    }
    for (int32_t i = 0; i < a.nenvs; i++) assert_int_equal(a.envs[i].ttl, b.envs[i].ttl);
    gs_config_free(&a);
    gs_config_free(&b);
    json_decref(keep);
    for (int i = 0; i < 4; i++) free(texts[i]);
}

static const char *POOL =
    "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: gpu-prod}\nspec:\n"
    "  requirements: [{key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}]\n"
    "  sharing: {mode: exclusive}\n";

static void expect_error(const char *text, const char *file, const char *msg) {
    gs_config c;
    gs_error e;
    json_t *keep = NULL;
    const char *texts[1] = {text};
    int rc = load_json(&c, texts, 1, &e, &keep);
    json_decref(keep);
    assert_int_not_equal(rc, 0);
    assert_int_equal(e.line, 0); /* no line:col for API objects */
    assert_string_equal(e.file, file);
    if (!strstr(e.msg, msg)) fail_msg("message '%s' lacks '%s'", e.msg, msg);
    assert_int_equal(c.npools + c.nscalers, 0); /* nothing half-loaded */
    char b[1200];
    gs_error_format(&e, b, sizeof b);
    assert_int_equal(strncmp(b, file, strlen(file)), 0);
}

static void test_errors_name_object_and_path(void **st) {
    (void)st;
    char t[2048];
    /* a field's value (the API server's schema says integer >= 0 too; the loader is the judge) */
    snprintf(t, sizeof t, "%s  limits: {gpus: -1}\n", POOL);
    expect_error(t, "GPUPool/gpu-prod", "spec.limits.gpus: must be an integer");
    /* a string where the loader wants an integer */
    snprintf(t, sizeof t, "%s  weight: \"10\"\n", POOL);
    expect_error(t, "GPUPool/gpu-prod", "spec.weight: expected an integer, got the quoted string '10'");
    /* an unknown field (a CRD with x-kubernetes-preserve-unknown-fields lets it through) */
    snprintf(t, sizeof t, "%s  weigth: 10\n", POOL);
    expect_error(t, "GPUPool/gpu-prod", "unknown field 'spec.weigth' (did you mean 'weight'?)");
    /* a reference: the QueueScaler names a pool that does not exist -> the scaler is blamed */
    snprintf(t, sizeof t,
             "%s---\napiVersion: gpuscale.dev/v1alpha1\nkind: QueueScaler\nmetadata: {name: chat, namespace: inf}\n"
             "spec:\n  scaleTargetRef: {name: chat}\n  pool: gpu-prd\n"
             "  template: {resources: {requests: {nvidia.com/gpu: 1}}}\n"
             "  triggers: [{type: redis, metadata: {address: 'r:6379', listName: q}}]\n",
             POOL);
    expect_error(t, "QueueScaler/inf/chat", "spec.pool: unknown GPUPool 'gpu-prd' (did you mean 'gpu-prod'?)");
    /* a cluster-scoped kind with a namespace */
    expect_error("apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata: {name: b, namespace: x}\n"
                 "spec: {project: p, limits: {perDay: 10}}\n",
                 "Budget/x/b", "Budget is cluster-scoped");
}

static void test_json_numbers_and_status_ignored(void **st) {
    (void)st;
    /* a JSON real (kubectl sends 120.5 as a number) is money like "120.5" */
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:I,s:{s:s}},s:{s:[{s:s,s:s,s:[s]}],s:{s:s},s:{s:f,s:i}},s:{s:s}}",
                          "apiVersion", "gpuscale.dev/v1alpha1", "kind", "GPUPool", "metadata", "name", "p",
                          "generation", (json_int_t)7, "annotations", "kubectl.kubernetes.io/last-applied-configuration",
                          "{}", "spec", "requirements", "key", "karpenter.k8s.aws/instance-family", "operator", "In",
                          "values", "g5", "sharing", "mode", "exclusive", "limits", "pricePerHour", 120.5, "gpus", 8,
                          "status", "anything", "goes");
    gs_config_obj ob = {"GPUPool/p", o};
    gs_config c;
    gs_error e;
    if (gs_config_load_objects(&c, &ob, 1, &CAT, &e)) fail_msg("%s: %s", e.file, e.msg);
    assert_int_equal(c.npools, 1);
    assert_int_equal(c.pools[0].limit_usd_per_hour, 120500000);
    assert_int_equal(c.pools[0].limit_gpus, 8);
    gs_config_free(&c);
    json_decref(o);
    /* no object at all is an empty, valid configuration (nothing to do yet) */
    assert_int_equal(gs_config_load_objects(&c, NULL, 0, &CAT, &e), 0);
    assert_int_equal(c.npools, 0);
    gs_config_free(&c);
    /* a string with a NUL character is refused */
    json_t *bad = json_pack("{s:s,s:s,s:{s:s%},s:{}}", "apiVersion", "gpuscale.dev/v1alpha1", "kind", "GPUPool",
                            "metadata", "name", "a\0b", (size_t)3, "spec");
    gs_config_obj bo = {"GPUPool/a", bad};
    assert_int_not_equal(gs_config_load_objects(&c, &bo, 1, &CAT, &e), 0);
    assert_non_null(strstr(e.msg, "NUL"));
    json_decref(bad);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_same_as_files),
        cmocka_unit_test(test_errors_name_object_and_path),
        cmocka_unit_test(test_json_numbers_and_status_ignored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
