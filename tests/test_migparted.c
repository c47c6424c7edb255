/* kube-fake's mig-manager part: what a mig-parted config (as gpuscale writes it into the
 * ConfigMap, or as a user writes it in YAML) gives a node: per-device and "all" entries, MIG
 * disabled devices, devices not named, and the refusals mig-manager would report as
 * nvidia.com/mig.config.state=failed. Pure parsing: no cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "io/cloud/kubefake.h"
#include "model/gpu.h"

static const gs_gpu_model *h100(void) {
    int i = gs_gpu_find("h100-80gb");
    assert_true(i >= 0);
    return gs_gpu_get(i);
}

static const char *res(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void test_json_per_device(void **st) {
    (void)st;
    /* what gpuscale writes (JSON is YAML): GPU 0 repartitioned, GPU 1 left whole */
    const char *cfg = "{\"version\": \"v1\", \"mig-configs\": {\"all-disabled\": [{\"devices\": \"all\", \"mig-enabled\": false}],"
                      " \"gpuscale.1234abcd.node-a\": [{\"devices\": [0], \"mig-enabled\": true,"
                      " \"mig-devices\": {\"3g.40gb\": 2}}, {\"devices\": [1], \"mig-enabled\": false, \"mig-devices\": {}}]}}";
    json_t *r = NULL;
    char why[512] = "";
    assert_int_equal(gs_kubefake_mig_resources(cfg, "gpuscale.1234abcd.node-a", h100(), 2, &r, why, sizeof why), 0);
    assert_string_equal(res(r, "nvidia.com/mig-3g.40gb"), "2");
    assert_string_equal(res(r, "nvidia.com/gpu"), "1");
    assert_null(json_object_get(r, "nvidia.com/mig-1g.10gb"));
    json_decref(r);
    /* a node with more GPUs than the config names: the rest stay whole */
    assert_int_equal(gs_kubefake_mig_resources(cfg, "gpuscale.1234abcd.node-a", h100(), 4, &r, why, sizeof why), 0);
    assert_string_equal(res(r, "nvidia.com/gpu"), "3");
    json_decref(r);
}

static void test_yaml_all(void **st) {
    (void)st;
    const char *cfg = "version: v1\nmig-configs:\n  all-1g.10gb:\n    - devices: all\n      mig-enabled: true\n"
                      "      mig-devices:\n        \"1g.10gb\": 7\n  mixed:\n    - devices: [0, 1]\n      mig-enabled: true\n"
                      "      mig-devices: {\"1g.10gb\": 4, \"3g.40gb\": 1}\n";
    json_t *r = NULL;
    char why[512] = "";
    assert_int_equal(gs_kubefake_mig_resources(cfg, "all-1g.10gb", h100(), 8, &r, why, sizeof why), 0);
    assert_string_equal(res(r, "nvidia.com/mig-1g.10gb"), "56");
    assert_string_equal(res(r, "nvidia.com/gpu"), "0");
    json_decref(r);
    assert_int_equal(gs_kubefake_mig_resources(cfg, "mixed", h100(), 2, &r, why, sizeof why), 0);
    assert_string_equal(res(r, "nvidia.com/mig-1g.10gb"), "8");
    assert_string_equal(res(r, "nvidia.com/mig-3g.40gb"), "2");
    json_decref(r);
}

static void test_refusals(void **st) {
    (void)st;
    json_t *r = NULL;
    char why[512];
    const char *ok = "version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: true, mig-devices: {\"1g.10gb\": 7}}]\n";
    why[0] = '\0';
    assert_int_equal(gs_kubefake_mig_resources(ok, "b", h100(), 1, &r, why, sizeof why), GS_EINVAL);
    assert_null(r);
    assert_non_null(strstr(why, "\"b\" not found"));
    /* 3 x 3g.40gb do not fit one H100 (at most 2) */
    const char *over = "version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: true, mig-devices: {\"3g.40gb\": 3}}]\n";
    assert_int_equal(gs_kubefake_mig_resources(over, "a", h100(), 1, &r, why, sizeof why), GS_EINVAL);
    assert_non_null(strstr(why, "does not fit"));
    const char *prof = "version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: true, mig-devices: {\"5g.50gb\": 1}}]\n";
    assert_int_equal(gs_kubefake_mig_resources(prof, "a", h100(), 1, &r, why, sizeof why), GS_EINVAL);
    assert_non_null(strstr(why, "5g.50gb"));
    const char *dev = "version: v1\nmig-configs:\n  a: [{devices: 0, mig-enabled: true, mig-devices: {\"1g.10gb\": 1}}]\n";
    assert_int_equal(gs_kubefake_mig_resources(dev, "a", h100(), 1, &r, why, sizeof why), GS_EINVAL);
    assert_non_null(strstr(why, "devices must be"));
    assert_int_equal(gs_kubefake_mig_resources("mig-configs: [unclosed\n", "a", h100(), 1, &r, why, sizeof why), GS_EINVAL);
    assert_non_null(strstr(why, "config.yaml"));
    assert_int_equal(gs_kubefake_mig_resources(NULL, "a", h100(), 1, &r, why, sizeof why), GS_EINVAL);
    assert_non_null(strstr(why, "missing"));
    /* a model without MIG */
    int a10g = gs_gpu_find("a10g");
    assert_true(a10g >= 0);
    assert_int_equal(gs_kubefake_mig_resources(ok, "a", gs_gpu_get(a10g), 1, &r, why, sizeof why), GS_EINVAL);
    assert_non_null(strstr(why, "MIG"));
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_json_per_device),
        cmocka_unit_test(test_yaml_all),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("kube-fake mig-manager (mig-parted configs)", t, NULL, NULL);
}
