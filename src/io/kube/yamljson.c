/* YAML -> jansson over the project's one bounded YAML reader (io/config/yamltree), so
 * kubeconfigs and manifests get the same limits and refusals (anchors, tags, duplicate keys,
 * depth, size) as configuration files. */
#include "io/kube/yamljson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/yamltree.h"

static json_t *scalar_value(const gs_yaml_node *n) {
    if (n->plain) {
        const char *v = n->str;
        if (gs_yaml_is_null(n)) return json_null();
        if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0) return json_true();
        if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0) return json_false();
        const char *p = v;
        if (*p == '-' || *p == '+') p++;
        bool digits = *p != '\0';
        for (; *p; p++)
            if (*p < '0' || *p > '9') {
                digits = false;
                break;
            }
        if (digits && n->len < 19) {
            errno = 0;
            long long x = strtoll(v, NULL, 10);
            if (errno == 0) return json_integer(x);
        }
    }
    return json_stringn(n->str, n->len);
}

static json_t *convert(const gs_yaml_node *n) {
    if (n->kind == GS_YAML_SCALAR) return scalar_value(n);
    json_t *out = n->kind == GS_YAML_SEQ ? json_array() : json_object();
    if (!out) return NULL;
    if (n->kind == GS_YAML_SEQ) {
        for (int32_t i = 0; i < n->n; i++)
            if (json_array_append_new(out, convert(n->kids[i]))) goto fail;
        return out;
    }
    for (int32_t i = 0; i + 1 < n->n; i += 2) {
        const gs_yaml_node *k = n->kids[i];
        /* complex keys are not JSON: spelled as their scalar text, else refused by the caller */
        if (k->kind != GS_YAML_SCALAR || json_object_setn_new(out, k->str, k->len, convert(n->kids[i + 1])))
            goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

int gs_yaml_to_json(const char *text, size_t len, const char *file, json_t **docs, gs_error *err) {
    *docs = NULL;
    if (len > GS_YAML_MAX_BYTES)
        return gs_error_set(err, GS_ETOOBIG, "%s: larger than %u bytes", file, GS_YAML_MAX_BYTES);
    gs_yaml_limits lim = {.max_depth = GS_YAML_MAX_DEPTH, .max_nodes = 1000000, .max_items = 65536, .max_docs = 1000};
    gs_yaml_stream s;
    int rc = gs_yaml_parse(&s, text, len, file, &lim, err);
    if (rc) return rc;
    json_t *arr = json_array();
    for (int32_t i = 0; arr && i < s.ndocs; i++) {
        json_t *d = convert(s.docs[i]);
        if (!d || json_array_append_new(arr, d)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    gs_yaml_free(&s);
    if (!arr) return gs_error_set(err, GS_EPARSE, "%s: a mapping key that is not a string, or out of memory", file);
    *docs = arr;
    return 0;
}
