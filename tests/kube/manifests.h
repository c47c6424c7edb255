/* Test helper (header-only): applies YAML manifests (deploy/ and inline) to the API server by
 * server-side apply, mapping each kind to its collection. */
#ifndef GS_TESTS_KUBE_MANIFESTS_H
#define GS_TESTS_KUBE_MANIFESTS_H

#include <stdio.h>
#include <string.h>

#include "io/fs.h"
#include "io/kube/kube.h"
#include "io/kube/yamljson.h"

static int kt_collection(const json_t *o, char *path, size_t size) {
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *api = json_string_value(json_object_get(o, "apiVersion"));
    const char *ns = json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace"));
    if (!kind || !api) return -1;
    static const struct { const char *kind, *plural; int namespaced; } K[] = {
        {"Namespace", "namespaces", 0}, {"CustomResourceDefinition", "customresourcedefinitions", 0},
        {"ServiceAccount", "serviceaccounts", 1}, {"ClusterRole", "clusterroles", 0},
        {"ClusterRoleBinding", "clusterrolebindings", 0}, {"Role", "roles", 1}, {"RoleBinding", "rolebindings", 1},
        {"Deployment", "deployments", 1}, {"ConfigMap", "configmaps", 1}, {"GPUPool", "gpupools", 0},
        {"QueueScaler", "queuescalers", 1}, {"Budget", "budgets", 0}, {"Environment", "environments", 1},
        {"PodDisruptionBudget", "poddisruptionbudgets", 1}, {"Pod", "pods", 1}};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++) {
        if (strcmp(K[i].kind, kind) != 0) continue;
        const char *base = strchr(api, '/') ? "/apis/" : "/api/";
        if (K[i].namespaced) snprintf(path, size, "%s%s/namespaces/%s/%s", base, api, ns ? ns : "default", K[i].plural);
        else snprintf(path, size, "%s%s/%s", base, api, K[i].plural);
        return 0;
    }
    return -1;
}

/* Applies every document of text; returns 0 or the first error (message in err). */
static int kt_apply_text(gs_kube *k, const char *text, const char *file, gs_error *err) {
    json_t *docs = NULL;
    int rc = gs_yaml_to_json(text, strlen(text), file, &docs, err);
    if (rc) return rc;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        char coll[512];
        if (kt_collection(d, coll, sizeof coll)) {
            rc = gs_error_set(err, GS_EINVAL, "%s: document %zu: kind not known to the test helper", file, i + 1);
            break;
        }
        const char *name = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
        if ((rc = gs_kube_create_or_apply(k, coll, name, d, err))) break;
    }
    json_decref(docs);
    return rc;
}

static int kt_apply_file(gs_kube *k, const char *path, gs_error *err) {
    char *text = NULL;
    size_t len = 0;
    int rc = gs_fs_read(path, 1u << 20, &text, &len, err);
    if (rc) return rc;
    rc = kt_apply_text(k, text, path, err);
    free(text);
    return rc;
}

#endif
