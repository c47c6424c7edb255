/* The controller's typed pod cache: gs_kpod_decode (what is read from a real v1.20 pod object),
 * and a typed informer fed with recorded watch lines (add, modify, delete, 1,000 replicas sharing
 * their tolerations). The relist path of typed informers runs against the real API server in
 * test_kube_client and test_e2e_run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "io/kube/informer.h"
#include "io/kube/kpod.h"

/* A pod as kube-apiserver v1.20.2 returns it (default tolerations added by admission). */
#define POD \
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"ml\"," \
    "\"resourceVersion\":\"%d\",\"labels\":{%s},\"annotations\":{\"karpenter.sh/do-not-disrupt\":\"true\"," \
    "\"gpuscale.dev/idle\":\"true\"},\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"ocr-5d4f8\"," \
    "\"controller\":true}]," \
    "\"managedFields\":[{\"manager\":\"x\"}]}," \
    "\"spec\":{\"nodeName\":%s,\"priority\":7,\"nodeSelector\":{\"gpuscale.dev/gpu-model\":\"h100-80gb\"}," \
    "\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"nvidia.com/mig-3g.40gb\":\"1\",\"cpu\":\"2\"}," \
    "\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}},{\"name\":\"b\",\"resources\":{\"requests\":" \
    "{\"cpu\":\"250m\",\"memory\":\"512Mi\"}}}]," \
    "\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"," \
    "\"tolerationSeconds\":300},{\"key\":\"gpu\",\"operator\":\"Equal\",\"value\":\"yes\",\"effect\":\"NoSchedule\"}]}," \
    "\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"

static json_t *pod(const char *name, int rv, const char *labels, const char *node, const char *phase) {
    char buf[4096];
    snprintf(buf, sizeof buf, POD, name, rv, labels, node, phase);
    json_error_t je;
    json_t *o = json_loads(buf, 0, &je);
    if (!o) fail_msg("bad fixture: %s", je.text);
    return o;
}

static void test_decode(void **st) {
    (void)st;
    gs_rules_store *store = NULL;
    json_t *o = pod("w-1", 5, "\"gpuscale.dev/project\":\"claims\",\"pod-template-hash\":\"5d4f8\"", "\"n1\"", "Running");
    gs_kpod *p = gs_kpod_decode(o, &store);
    assert_non_null(p);
    assert_string_equal(p->ns, "ml");
    assert_string_equal(p->name, "w-1");
    assert_string_equal(p->node, "n1");
    assert_string_equal(p->project, "claims");
    assert_int_equal(p->phase, GS_KPOD_RUNNING);
    assert_true(p->do_not_disrupt);
    assert_string_equal(p->owner, "Deployment/ocr");
    assert_true(p->ready);
    assert_int_equal(p->idle, 1);
    assert_false(p->deleting);
    assert_int_equal(p->cpu, 750);  /* 500m + 250m: requests, not the 2-core limit */
    assert_int_equal(p->mem, 1536); /* MiB */
    assert_int_equal(p->priority, 7);
    assert_true(p->has_gpu && p->gpu_ok); /* from the limit: requests default to limits */
    assert_int_equal(p->gpu.form, GS_GPU_MIG);
    assert_string_equal(p->gpu.mig_profile, "3g.40gb");
    assert_int_equal(p->nsel, 1);
    assert_string_equal(p->sel[0].value, "h100-80gb");
    assert_int_equal(p->ntol, 2);
    assert_int_equal(p->tol[0].op, GS_TOL_EXISTS);
    assert_int_equal(p->tol[0].effect, GS_TAINT_NO_EXECUTE);
    assert_string_equal(p->tol[1].value, "yes");
    assert_true(gs_kpod_live(p));
    assert_false(p->unschedulable);
    /* kube-scheduler found no node for it (as v1.20.2 writes the condition) */
    json_t *su = pod("w-3", 7, "", "null", "Pending");
    json_t *conds = json_object_get(json_object_get(su, "status"), "conditions");
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "PodScheduled", "status", "False",
                                           "reason", "Unschedulable", "lastTransitionTime", "2026-11-25T20:31:05Z",
                                           "message", "0/3 nodes are available: 3 Insufficient nvidia.com/mig-3g.40gb."));
    gs_kpod *u = gs_kpod_decode(su, &store);
    assert_non_null(u);
    assert_true(u->unschedulable);
    assert_false(gs_kpod_equal(u, p));
    free(u);
    json_decref(su);
    /* unbound, no project label, finished */
    json_t *o2 = pod("w-2", 6, "", "null", "Succeeded");
    gs_kpod *q = gs_kpod_decode(o2, &store);
    assert_non_null(q);
    assert_string_equal(q->node, "");
    assert_string_equal(q->project, "ml");
    assert_string_equal(q->owner, ""); /* no pod-template-hash label: not a Deployment's */
    assert_false(gs_kpod_live(q));
    assert_ptr_equal(p->tol, q->tol); /* interned */
    assert_false(gs_kpod_equal(p, q));
    gs_kpod *p2 = gs_kpod_decode(o, &store);
    assert_true(gs_kpod_equal(p, p2));
    /* a bad GPU amount is flagged, not guessed */
    json_object_set_new(json_object_get(json_object_get(json_array_get(json_object_get(json_object_get(o, "spec"),
        "containers"), 0), "resources"), "limits"), "nvidia.com/mig-3g.40gb", json_string("9"));
    json_object_set_new(json_object_get(json_object_get(json_array_get(json_object_get(json_object_get(o, "spec"),
        "containers"), 0), "resources"), "limits"), "nvidia.com/gpu", json_string("0"));
    gs_kpod *bad = gs_kpod_decode(o, &store);
    assert_non_null(bad);
    assert_true(bad->has_gpu);
    /* no name: not cached */
    json_object_del(json_object_get(o, "metadata"), "name");
    assert_null(gs_kpod_decode(o, &store));
    free(p);
    free(p2);
    free(q);
    free(bad);
    json_decref(o);
    json_decref(o2);
    gs_rules_store_free(store);
}

static int adds, mods, dels;
static void rec_cb(void *ud, gs_informer *inf, gs_watch_type t, const char *key, const void *rec) {
    (void)ud;
    (void)inf;
    const gs_kpod *p = rec;
    assert_non_null(p);
    char k[300];
    snprintf(k, sizeof k, "%s/%s", p->ns, p->name);
    assert_string_equal(k, key);
    if (t == GS_WATCH_ADDED) adds++;
    else if (t == GS_WATCH_MODIFIED) mods++;
    else dels++;
}

static void feed(gs_informer *inf, const char *type, json_t *obj) {
    json_t *ev = json_pack("{s:s,s:o}", "type", type, "object", obj);
    char *line = json_dumps(ev, JSON_COMPACT);
    gs_error e;
    assert_int_equal(gs_informer_feed_line(inf, line, strlen(line), &e), 0);
    free(line);
    json_decref(ev);
}

static void test_typed_informer(void **st) {
    (void)st;
    gs_rules_store *store = NULL;
    gs_informer_codec codec;
    gs_kpod_codec(&codec, &store);
    gs_informer *inf = gs_informer_new_typed(NULL, "/api/v1/pods", NULL, &codec, rec_cb, NULL);
    assert_non_null(inf);
    adds = mods = dels = 0;
    for (int i = 0; i < 1000; i++) {
        char n[32];
        snprintf(n, sizeof n, "r-%d", i);
        feed(inf, "ADDED", pod(n, 10 + i, "", "null", "Pending"));
    }
    assert_int_equal(gs_informer_count(inf), 1000);
    assert_null(gs_informer_store(inf)); /* no JSON kept */
    assert_string_equal(gs_informer_rv(inf), "1009");
    feed(inf, "MODIFIED", pod("r-7", 2000, "", "\"n9\"", "Running"));
    const gs_kpod *p = gs_informer_rec(inf, "ml", "r-7");
    assert_non_null(p);
    assert_string_equal(p->node, "n9");
    feed(inf, "DELETED", pod("r-8", 2001, "", "\"n9\"", "Running"));
    assert_null(gs_informer_rec(inf, "ml", "r-8"));
    feed(inf, "DELETED", pod("never-seen", 2002, "", "null", "Running")); /* no callback */
    assert_int_equal(adds, 1000);
    assert_int_equal(mods, 1);
    assert_int_equal(dels, 1);
    size_t pos = 0, seen = 0;
    const char *key;
    const void *rec;
    while (gs_informer_next(inf, &pos, &key, &rec)) seen++;
    assert_int_equal(seen, 999);
    /* 999 replicas, one copy of their tolerations and selector */
    assert_true(gs_rules_store_bytes(store) < 8192);
    gs_informer_free(inf);
    gs_rules_store_free(store);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decode), cmocka_unit_test(test_typed_informer)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
