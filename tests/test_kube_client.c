/* The Kubernetes client: kubeconfig and YAML parsing, watch-line handling (recorded lines in the
 * API server's exact wire format), and every client call against a REAL kube-apiserver v1.20.2
 * started on loopback by scripts/kube-testenv.sh (skips with 77 only if it cannot be built). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/kube/kubeconfig.h"
#include "io/kube/yamljson.h"
#include "kube/testenv.h"

static kt_env ENV;

/* ---------- offline: parsers ---------- */

static const char KC_BASE[] =
    "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
    "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n    certificate-authority: ca.crt\n"
    "- name: c2\n  cluster:\n    server: https://10.0.0.2\n    insecure-skip-tls-verify: true\n"
    "    certificate-authority-data: aGVsbG8=\n"
    "contexts:\n- name: a\n  context: {cluster: c1, user: u1, namespace: ml}\n"
    "- name: b\n  context: {cluster: c2, user: u2}\n- name: x\n  context: {cluster: c1, user: u3}\n"
    "- name: nouser\n  context: {cluster: c1, user: ghost}\n"
    "users:\n- name: u1\n  user: {token: abc}\n- name: u2\n  user:\n    tokenFile: /run/tok\n"
    "    client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n"
    "- name: u3\n  user:\n    exec: {command: aws}\n";

static void test_kubeconfig_current(void **st) {
    (void)st;
    gs_kube_config c;
    gs_error e;
    assert_int_equal(gs_kubeconfig_parse(KC_BASE, strlen(KC_BASE), "kc", "/etc/k", NULL, &c, &e), 0);
    assert_string_equal(c.server, "https://10.0.0.1:6443");
    assert_string_equal(c.ns, "ml");
    assert_string_equal(c.token, "abc");
    assert_string_equal(c.ca_file, "/etc/k/ca.crt");
    assert_false(c.insecure);
    assert_null(c.ca_pem);
    gs_kube_config_free(&c);
}

static void test_kubeconfig_named(void **st) {
    (void)st;
    gs_kube_config c;
    gs_error e;
    assert_int_equal(gs_kubeconfig_parse(KC_BASE, strlen(KC_BASE), "kc", "/etc/k", "b", &c, &e), 0);
    assert_true(c.insecure);
    assert_string_equal(c.ca_pem, "hello");
    assert_string_equal(c.cert_pem, "cert");
    assert_string_equal(c.key_pem, "key");
    assert_string_equal(c.token_file, "/run/tok");
    assert_string_equal(c.ns, "default");
    gs_kube_config_free(&c);
}

static void test_kubeconfig_errors(void **st) {
    (void)st;
    gs_kube_config c;
    gs_error e;
    assert_int_equal(gs_kubeconfig_parse(KC_BASE, strlen(KC_BASE), "kc", NULL, "zzz", &c, &e), GS_ENOENT);
    assert_non_null(strstr(e.msg, "context \"zzz\" not found"));
    assert_int_equal(gs_kubeconfig_parse(KC_BASE, strlen(KC_BASE), "kc", NULL, "x", &c, &e), GS_EUNSUPPORTED);
    assert_non_null(strstr(e.msg, "exec"));
    assert_int_equal(gs_kubeconfig_parse(KC_BASE, strlen(KC_BASE), "kc", NULL, "nouser", &c, &e), GS_ENOENT);
    const char *http = "current-context: a\nclusters: [{name: c, cluster: {server: 'http://x'}}]\n"
                       "contexts: [{name: a, context: {cluster: c}}]\n";
    assert_int_equal(gs_kubeconfig_parse(http, strlen(http), "kc", NULL, NULL, &c, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "https://"));
    const char *bad = "clusters:\n  - name: [\n";
    assert_int_equal(gs_kubeconfig_parse(bad, strlen(bad), "bad.yaml", NULL, NULL, &c, &e), GS_EPARSE);
    assert_string_equal(e.file, "bad.yaml");
    assert_true(e.line >= 2);
    const char *nocur = "clusters: []\n";
    assert_int_equal(gs_kubeconfig_parse(nocur, strlen(nocur), "kc", NULL, NULL, &c, &e), GS_EINVAL);
    const char *b64 = "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x', "
                      "certificate-authority-data: '***'}}]\ncontexts: [{name: a, context: {cluster: c}}]\n";
    assert_int_equal(gs_kubeconfig_parse(b64, strlen(b64), "kc", NULL, NULL, &c, &e), GS_EPARSE);
    assert_int_equal(gs_kube_incluster("", "", "/nonexistent", &c, &e), GS_EINVAL);
}

static void test_yaml(void **st) {
    (void)st;
    json_t *d = NULL;
    gs_error e;
    const char *y = "a: 1\nb: 'x'\nc: [true, null, -3, 4.5]\n---\nk: v\n";
    assert_int_equal(gs_yaml_to_json(y, strlen(y), "y", &d, &e), 0);
    assert_int_equal(json_array_size(d), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "a")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(d, 0), "c"), 3)), "4.5");
    json_decref(d);
    const char *alias = "a: &x 1\nb: *x\n";
    assert_int_equal(gs_yaml_to_json(alias, strlen(alias), "y", &d, &e), GS_EPARSE);
    assert_int_equal(e.line, 1); /* refused at the anchor, like configuration files */
    const char *dup = "a: 1\na: 2\n";
    assert_int_equal(gs_yaml_to_json(dup, strlen(dup), "y", &d, &e), GS_EPARSE);
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 70; i++) deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal(gs_yaml_to_json(deep, n, "y", &d, &e), GS_ETOOBIG);
}

/* Recorded watch lines (kube-apiserver 1.20 wire format). */
static int cb_count;
static void count_cb(void *ud, gs_informer *inf, gs_watch_type t, const json_t *o) {
    (void)ud; (void)inf; (void)t; (void)o;
    cb_count++;
}

static void test_watch_lines(void **st) {
    (void)st;
    gs_informer *inf = gs_informer_new(NULL, "/api/v1/pods", NULL, NULL, count_cb, NULL);
    gs_error e;
    cb_count = 0;
    const char *add = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\","
                      "\"namespace\":\"d\",\"resourceVersion\":\"17\",\"managedFields\":[{}]}}}";
    assert_int_equal(gs_informer_feed_line(inf, add, strlen(add), &e), 0);
    assert_string_equal(gs_informer_rv(inf), "17");
    assert_non_null(gs_informer_get(inf, "d", "p"));
    assert_null(json_object_get(json_object_get(gs_informer_get(inf, "d", "p"), "metadata"), "managedFields"));
    const char *bm = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":"
                     "{\"resourceVersion\":\"40\",\"creationTimestamp\":null},\"spec\":{\"containers\":null},\"status\":{}}}";
    assert_int_equal(gs_informer_feed_line(inf, bm, strlen(bm), &e), 0);
    assert_string_equal(gs_informer_rv(inf), "40");
    const char *del = "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"resourceVersion\":\"41\"}}}";
    assert_int_equal(gs_informer_feed_line(inf, del, strlen(del), &e), 0);
    assert_null(gs_informer_get(inf, "d", "p"));
    assert_int_equal(cb_count, 2);
    const char *gone = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                       "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (41)\",\"reason\":\"Expired\",\"code\":410}}";
    assert_int_equal(gs_informer_feed_line(inf, gone, strlen(gone), &e), GS_ECONFLICT);
    assert_non_null(strstr(e.msg, "too old"));
    assert_int_equal(gs_informer_feed_line(inf, "{\"type\":", 8, &e), GS_EPARSE);
    const char *noname = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}";
    assert_int_equal(gs_informer_feed_line(inf, noname, strlen(noname), &e), GS_EPARSE);
    const char *weird = "{\"type\":\"SIDEWAYS\",\"object\":{\"metadata\":{\"name\":\"q\"}}}";
    assert_int_equal(gs_informer_feed_line(inf, weird, strlen(weird), &e), GS_EPARSE);
    assert_string_equal(gs_informer_rv(inf), "41");
    gs_informer_free(inf);
}

/* ---------- against the real API server ---------- */

static int setup_env(void **st) {
    (void)st;
    kt_start(&ENV, 1);
    return 0;
}
static int teardown_env(void **st) {
    (void)st;
    kt_stop(&ENV);
    gs_informers_shutdown();
    return 0;
}

static gs_kube *open_kc(const char *kc) {
    gs_kube_config c;
    gs_error e;
    if (gs_kubeconfig_load(kc, NULL, &c, &e)) fail_msg("kubeconfig: %s", e.msg);
    gs_kube *k = NULL;
    assert_int_equal(gs_kube_new(&c, 10000, &k, &e), 0);
    gs_kube_config_free(&c);
    return k;
}

static json_t *yaml1(const char *y) {
    json_t *d = NULL;
    gs_error e;
    if (gs_yaml_to_json(y, strlen(y), "inline", &d, &e)) fail_msg("yaml: %s", e.msg);
    json_t *o = json_incref(json_array_get(d, 0));
    json_decref(d);
    return o;
}

static void test_real_crud_patch_apply(void **st) {
    (void)st;
    gs_kube *k = open_kc(ENV.admin_kc);
    gs_error e;
    json_t *ns = yaml1("apiVersion: v1\nkind: Namespace\nmetadata: {name: t1}\n");
    assert_int_equal(gs_kube_create(k, "/api/v1/namespaces", ns, NULL, &e), 0);
    assert_int_equal(gs_kube_create(k, "/api/v1/namespaces", ns, NULL, &e), GS_ECONFLICT); /* AlreadyExists */
    json_decref(ns);
    json_t *cm = yaml1("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: t1}\ndata: {a: '1'}\n");
    json_t *got = NULL;
    assert_int_equal(gs_kube_create(k, "/api/v1/namespaces/t1/configmaps", cm, &got, &e), 0);
    char rv[64];
    snprintf(rv, sizeof rv, "%s", json_string_value(json_object_get(json_object_get(got, "metadata"), "resourceVersion")));
    json_decref(got);
    json_t *patch = json_pack("{s:{s:s}}", "data", "b", "2");
    assert_int_equal(gs_kube_merge_patch(k, "/api/v1/namespaces/t1/configmaps/c", patch, &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "data"), "b")), "2");
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "data"), "a")), "1");
    json_decref(got);
    json_decref(patch);
    /* A patch that carries a stale resourceVersion is a 409 conflict (retried, then reported). */
    patch = json_pack("{s:{s:s},s:{s:s}}", "metadata", "resourceVersion", rv, "data", "c", "3");
    assert_int_equal(gs_kube_merge_patch(k, "/api/v1/namespaces/t1/configmaps/c", patch, NULL, &e), GS_ECONFLICT);
    assert_non_null(strstr(e.msg, "409"));
    json_decref(patch);
    /* Server-side apply: creates, then updates as field manager gpuscale. */
    json_t *ap = yaml1("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: t1}\ndata: {x: '1'}\n");
    assert_int_equal(gs_kube_apply(k, "/api/v1/namespaces/t1/configmaps/s", ap, NULL, &e), 0);
    json_object_set_new(json_object_get(ap, "data"), "x", json_string("2"));
    assert_int_equal(gs_kube_apply(k, "/api/v1/namespaces/t1/configmaps/s", ap, &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "data"), "x")), "2");
    json_decref(got);
    json_decref(ap);
    json_decref(cm);
    assert_int_equal(gs_kube_get(k, "/api/v1/namespaces/t1/configmaps/nope", NULL, &e), GS_ENOENT);
    assert_int_equal(gs_kube_delete(k, "/api/v1/namespaces/t1/configmaps/s", &e), 0);
    gs_kube_free(k);
}

static void test_real_rbac_and_tokens(void **st) {
    (void)st;
    gs_kube *u = open_kc(ENV.user_kc);
    gs_error e;
    assert_int_equal(gs_kube_get(u, "/api/v1/nodes", NULL, &e), GS_EAUTH);
    assert_non_null(strstr(e.msg, "forbidden"));
    gs_kube_free(u);
    /* tokenFile: a wrong token is refused (401); rotating the file's content is picked up. */
    char tf[400], kc[400];
    snprintf(tf, sizeof tf, "%s/rot.token", ENV.dir);
    snprintf(kc, sizeof kc, "%s/rot.kubeconfig", ENV.dir);
    FILE *f = fopen(tf, "w");
    fputs("wrong-token\n", f);
    fclose(f);
    f = fopen(kc, "w");
    fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: r\nclusters: [{name: c, cluster: {server: '%s', "
               "certificate-authority: ca.crt}}]\ncontexts: [{name: r, context: {cluster: c, user: r}}]\n"
               "users: [{name: r, user: {tokenFile: rot.token}}]\n", ENV.server);
    fclose(f);
    gs_kube *r = open_kc(kc);
    assert_int_equal(gs_kube_get(r, "/api/v1/namespaces", NULL, &e), GS_EAUTH);
    assert_non_null(strstr(e.msg, "401"));
    usleep(20000); /* a distinct mtime */
    f = fopen(tf, "w");
    fprintf(f, "%s\n", ENV.admin_token);
    fclose(f);
    assert_int_equal(gs_kube_get(r, "/api/v1/namespaces", NULL, &e), 0);
    gs_kube_free(r);
    /* Client certificate (signed by the cluster CA; O=system:masters). */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -newkey rsa:2048 -nodes -subj '/O=system:masters/CN=certuser' -keyout cu.key "
             "-out cu.csr 2>/dev/null && openssl x509 -req -in cu.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-days 1 -out cu.crt 2>/dev/null && printf 'apiVersion: v1\\ncurrent-context: c\\nclusters: [{name: c, "
             "cluster: {server: \"%s\", certificate-authority-data: %%s}}]\\ncontexts: [{name: c, context: {cluster: c, "
             "user: c}}]\\nusers: [{name: c, user: {client-certificate: cu.crt, client-key-data: %%s}}]\\n' "
             "$(base64 -w0 ca.crt) $(base64 -w0 cu.key) > cert.kubeconfig",
             ENV.dir, ENV.server);
    assert_int_equal(gs_test_sh(cmd, NULL), 0);
    snprintf(kc, sizeof kc, "%s/cert.kubeconfig", ENV.dir);
    gs_kube *c = open_kc(kc);
    if (gs_kube_get(c, "/api/v1/nodes", NULL, &e)) fail_msg("client cert: %s", e.msg);
    gs_kube_free(c);
    /* The wrong CA is refused (TLS verification is on unless the kubeconfig says otherwise). */
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout o.key -out other.crt "
             ">/dev/null 2>&1 && sed 's#certificate-authority: .*#certificate-authority: %s/other.crt#' admin.kubeconfig "
             "> other.kubeconfig", ENV.dir, ENV.dir);
    assert_int_equal(gs_test_sh(cmd, NULL), 0);
    snprintf(kc, sizeof kc, "%s/other.kubeconfig", ENV.dir);
    c = open_kc(kc);
    assert_int_equal(gs_kube_get(c, "/api/v1/namespaces", NULL, &e), GS_EIO);
    gs_kube_free(c);
}

static void wait_for(gs_informer *inf, int (*pred)(gs_informer *), int ms) {
    gs_error e;
    for (int t = 0; t < ms; t += 100) {
        assert_int_equal(gs_informers_poll(&inf, 1, 100, &e), 0);
        if (pred(inf)) return;
    }
    fail_msg("condition not reached within %d ms on %s", ms, gs_informer_path(inf));
}
static int has_w1(gs_informer *i) { return gs_informer_get(i, "t2", "w1") != NULL; }
static int w1_patched(gs_informer *i) {
    return json_object_get(json_object_get(gs_informer_get(i, "t2", "w1"), "data"), "p") != NULL;
}
static int no_w1(gs_informer *i) { return gs_informer_get(i, "t2", "w1") == NULL; }
static int has_600(gs_informer *i) { return json_object_size(gs_informer_store(i)) >= 601; }

static void test_real_informer(void **st) {
    (void)st;
    gs_kube *k = open_kc(ENV.admin_kc);
    gs_error e;
    json_t *ns = yaml1("apiVersion: v1\nkind: Namespace\nmetadata: {name: t2}\n");
    assert_int_equal(gs_kube_create(k, "/api/v1/namespaces", ns, NULL, &e), 0);
    json_decref(ns);
    /* 600 objects: the list is paginated (limit=500) */
    for (int i = 0; i < 600; i++) {
        char y[200];
        snprintf(y, sizeof y, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m%d, namespace: t2}\n", i);
        json_t *o = yaml1(y);
        assert_int_equal(gs_kube_create(k, "/api/v1/namespaces/t2/configmaps", o, NULL, &e), 0);
        json_decref(o);
    }
    cb_count = 0;
    gs_informer *inf = gs_informer_new(k, "/api/v1/namespaces/t2/configmaps", NULL, NULL, count_cb, NULL);
    gs_informer *pinf = inf;
    assert_int_equal(gs_informers_poll(&pinf, 1, 10, &e), 0);
    assert_true(gs_informer_synced(inf));
    assert_true(json_object_size(gs_informer_store(inf)) >= 600);
    json_t *o = yaml1("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w1, namespace: t2}\n");
    assert_int_equal(gs_kube_create(k, "/api/v1/namespaces/t2/configmaps", o, NULL, &e), 0);
    json_decref(o);
    wait_for(inf, has_w1, 10000);
    wait_for(inf, has_600, 100);
    json_t *patch = json_pack("{s:{s:s}}", "data", "p", "1");
    assert_int_equal(gs_kube_merge_patch(k, "/api/v1/namespaces/t2/configmaps/w1", patch, NULL, &e), 0);
    json_decref(patch);
    wait_for(inf, w1_patched, 10000);
    assert_int_equal(gs_kube_delete(k, "/api/v1/namespaces/t2/configmaps/w1", &e), 0);
    wait_for(inf, no_w1, 10000);
    gs_informer_stats s = gs_informer_get_stats(inf);
    assert_int_equal(s.lists, 1);
    assert_true(s.events >= 3);
    /* Label selector */
    gs_informer *sel = gs_informer_new(k, "/api/v1/namespaces/t2/configmaps", "app=none", NULL, NULL, NULL);
    assert_int_equal(gs_informers_poll(&sel, 1, 10, &e), 0);
    assert_int_equal(json_object_size(gs_informer_store(sel)), 0);
    gs_informer_free(sel);
    gs_informer_free(inf);
    gs_kube_free(k);
}

static void test_real_scale_evict_event(void **st) {
    (void)st;
    gs_kube *k = open_kc(ENV.admin_kc);
    gs_error e;
    json_t *ns = yaml1("apiVersion: v1\nkind: Namespace\nmetadata: {name: t3}\n");
    assert_int_equal(gs_kube_create(k, "/api/v1/namespaces", ns, NULL, &e), 0);
    json_decref(ns);
    json_t *d = yaml1("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: t3}\n"
                      "spec:\n  replicas: 0\n  selector: {matchLabels: {app: w}}\n  template:\n"
                      "    metadata: {labels: {app: w}}\n    spec: {containers: [{name: c, image: x}]}\n");
    assert_int_equal(gs_kube_create(k, "/apis/apps/v1/namespaces/t3/deployments", d, NULL, &e), 0);
    json_decref(d);
    assert_int_equal(gs_kube_scale_set(k, "deployments", "t3", "w", 3, &e), 0);
    int32_t spec = -1;
    assert_int_equal(gs_kube_scale_get(k, "deployments", "t3", "w", &spec, NULL, &e), 0);
    assert_int_equal(spec, 3);
    assert_int_equal(gs_kube_scale_set(k, "deployments", "t3", "nope", 1, &e), GS_ENOENT);
    /* Eviction: 1.20 has only policy/v1beta1; found by discovery. */
    assert_string_equal(gs_kube_eviction_version(k, &e), "policy/v1beta1");
    /* A Running pod under a PDB with minAvailable 1: the eviction is refused (429), and the
     * client reports GS_EBUDGET instead of deleting. */
    /* the ServiceAccount admission refuses pods until the namespace's default account exists
     * (the serviceaccount controller creates it a moment after the namespace) */
    for (int i = 0; i < 300; i++) {
        if (gs_kube_get(k, "/api/v1/namespaces/t3/serviceaccounts/default", NULL, &e) == 0) break;
        usleep(100000);
    }
    json_t *node = yaml1("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n");
    assert_int_equal(gs_kube_create(k, "/api/v1/nodes", node, NULL, &e), 0);
    json_decref(node);
    json_t *pod = yaml1("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: t3, labels: {app: guarded}}\n"
                        "spec: {nodeName: n1, containers: [{name: c, image: x}]}\n");
    if (gs_kube_create(k, "/api/v1/namespaces/t3/pods", pod, NULL, &e)) fail_msg("create pod t3/p: %s", e.msg);
    json_decref(pod);
    json_t *stp = json_pack("{s:{s:s,s:[{s:s,s:s}]}}", "status", "phase", "Running", "conditions", "type", "Ready",
                            "status", "True");
    assert_int_equal(gs_kube_merge_patch(k, "/api/v1/namespaces/t3/pods/p/status", stp, NULL, &e), 0);
    json_decref(stp);
    json_t *pdb = yaml1("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: g, namespace: t3}\n"
                        "spec: {minAvailable: 1, selector: {matchLabels: {app: guarded}}}\n");
    assert_int_equal(gs_kube_create(k, "/apis/policy/v1beta1/namespaces/t3/poddisruptionbudgets", pdb, NULL, &e), 0);
    json_decref(pdb);
    int rc = GS_EBUDGET;
    for (int i = 0; i < 30 && rc == GS_EBUDGET; i++) {
        rc = gs_kube_evict(k, "t3", "p", &e);
        assert_int_equal(rc, GS_EBUDGET); /* never allowed while the PDB stands */
        if (i >= 3) break;
        usleep(500000);
    }
    assert_non_null(strstr(e.msg, "429"));
    assert_int_equal(gs_kube_get(k, "/api/v1/namespaces/t3/pods/p", NULL, &e), 0); /* still there */
    assert_int_equal(gs_kube_delete(k, "/apis/policy/v1beta1/namespaces/t3/poddisruptionbudgets/g", &e), 0);
    assert_int_equal(gs_kube_evict(k, "t3", "p", &e), 0);
    assert_int_equal(gs_kube_evict(k, "t3", "gone", &e), GS_ENOENT);
    /* Events */
    assert_int_equal(gs_kube_event(k, "apps/v1", "Deployment", "t3", "w", "", "Normal", "ScaledUp",
                                   "gpuscale scaled w to 3 (queue 30 / target 10)", &e), 0);
    json_t *evs = NULL;
    assert_int_equal(gs_kube_get(k, "/api/v1/namespaces/t3/events", &evs, &e), 0);
    int found = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(evs, "items"), i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        if (r && strcmp(r, "ScaledUp") == 0) found = 1;
    }
    assert_true(found);
    json_decref(evs);
    gs_kube_free(k);
}

static void test_real_unreachable(void **st) {
    (void)st;
    gs_kube_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.server, sizeof c.server, "https://127.0.0.1:1");
    gs_kube *k = NULL;
    gs_error e;
    assert_int_equal(gs_kube_new(&c, 2000, &k, &e), 0);
    assert_int_equal(gs_kube_get(k, "/version", NULL, &e), GS_EIO);
    assert_non_null(strstr(e.msg, "127.0.0.1:1"));
    gs_kube_free(k);
}

int main(void) {
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_kubeconfig_current), cmocka_unit_test(test_kubeconfig_named),
        cmocka_unit_test(test_kubeconfig_errors), cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_watch_lines), cmocka_unit_test(test_real_unreachable),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_real_crud_patch_apply), cmocka_unit_test(test_real_rbac_and_tokens),
        cmocka_unit_test(test_real_informer), cmocka_unit_test(test_real_scale_evict_event),
    };
    int f = cmocka_run_group_tests_name("kube offline", offline, NULL, NULL);
    f += cmocka_run_group_tests_name("kube real apiserver", real, setup_env, teardown_env);
    return f;
}
