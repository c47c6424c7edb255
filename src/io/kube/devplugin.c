#include "io/kube/devplugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/kube/kpod.h"
#include "io/kube/yamljson.h"

static int64_t count_of(const json_t *alloc, const char *k) {
    const json_t *v = json_object_get(alloc, k);
    return v ? gs_kube_count(v) : 0;
}

static int64_t label_int(const json_t *labels, const char *k) {
    const char *s = json_string_value(json_object_get(labels, k));
    if (!s || !*s) return -1;
    char *end = NULL;
    long long x = strtoll(s, &end, 10);
    return end && *end == '\0' && x > 0 ? x : -1;
}

void gs_dp_node_mode(const json_t *labels, const json_t *alloc, int ngpus, gs_dp_mode *out) {
    memset(out, 0, sizeof *out);
    out->mode = GS_GPUMODE_WHOLE;
    out->replicas = 1;
    int64_t shared = count_of(alloc, "nvidia.com/gpu.shared"), gpu = count_of(alloc, "nvidia.com/gpu");
    int64_t lr = label_int(labels, GS_DP_REPLICAS_LABEL);
    out->advertised = shared > 0 || gpu > 0;
    if (ngpus <= 0) return;
    int64_t n = shared > 0 ? shared : gpu > ngpus ? gpu : 0;
    if (n <= 0) return;
    int64_t r = lr > 1 && lr * ngpus == n ? lr : n / ngpus;
    if (r < 2) return; /* fewer replicas than GPUs: not time-slicing we can use */
    out->mode = GS_GPUMODE_TIMESLICED;
    out->replicas = (int32_t)(r > GS_DP_MAX_REPLICAS ? GS_DP_MAX_REPLICAS : r);
    out->renamed = shared > 0;
}

bool gs_dp_node_has(const json_t *labels, const json_t *alloc, int ngpus, int32_t replicas) {
    if (ngpus <= 0 || replicas < 2) return false;
    if (count_of(alloc, "nvidia.com/gpu.shared") != (int64_t)ngpus * replicas) return false;
    const char *lr = json_string_value(json_object_get(labels, GS_DP_REPLICAS_LABEL));
    const char *st = json_string_value(json_object_get(labels, GS_DP_STRATEGY_LABEL));
    if (lr && label_int(labels, GS_DP_REPLICAS_LABEL) != replicas) return false;
    if (st && strcmp(st, "time-slicing") != 0) return false;
    return true;
}

void gs_dp_key(int32_t replicas, char *out, size_t n) {
    snprintf(out, n, GS_DP_KEY_PREFIX "%d", (int)replicas);
}

int32_t gs_dp_key_replicas(const char *key) {
    size_t pl = strlen(GS_DP_KEY_PREFIX);
    if (!key || strncmp(key, GS_DP_KEY_PREFIX, pl) != 0) return -1;
    const char *d = key + pl;
    if (!*d || *d == '0' || strlen(d) > 2) return -1;
    int32_t r = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9') return -1;
        r = r * 10 + (*d - '0');
    }
    return r >= 2 && r <= GS_DP_MAX_REPLICAS ? r : -1;
}

json_t *gs_dp_config(int32_t replicas) {
    return json_pack("{s:s,s:{s:s},s:{s:{s:b,s:b,s:[{s:s,s:i}]}}}", "version", "v1", "flags", "migStrategy", "none",
                     "sharing", "timeSlicing", "renameByDefault", 1, "failRequestsGreaterThanOne", 0, "resources",
                     "name", "nvidia.com/gpu", "replicas", (int)replicas);
}

static int bad(gs_error *err, const char *where, const char *path, const char *what) {
    return gs_error_set(err, GS_EPARSE, "%s: %s: %s", where, path, what);
}

int gs_dp_config_parse(const char *text, const char *where, int32_t *replicas, bool *rename, gs_error *err) {
    *replicas = 1;
    *rename = false;
    if (!text) return bad(err, where, "(config)", "missing");
    json_t *docs = NULL;
    gs_error ye;
    gs_error_clear(&ye);
    if (gs_yaml_to_json(text, strlen(text), where, &docs, &ye))
        return gs_error_set(err, GS_EPARSE, "%s: not YAML or JSON: %s", where, ye.msg);
    int rc = 0;
    const json_t *cfg = json_array_get(docs, 0);
    if (json_array_size(docs) != 1 || !json_is_object(cfg)) {
        rc = bad(err, where, "(config)", "must be one mapping (version, flags, sharing)");
        goto out;
    }
    const json_t *ver = json_object_get(cfg, "version");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "v1") != 0) {
        rc = bad(err, where, "version", "must be \"v1\"");
        goto out;
    }
    const json_t *flags = json_object_get(cfg, "flags");
    if (flags && !json_is_object(flags) && !json_is_null(flags)) {
        rc = bad(err, where, "flags", "must be a mapping");
        goto out;
    }
    const json_t *sh = json_object_get(cfg, "sharing");
    if (!sh || json_is_null(sh)) goto out;
    if (!json_is_object(sh)) {
        rc = bad(err, where, "sharing", "must be a mapping");
        goto out;
    }
    const json_t *ts = json_object_get(sh, "timeSlicing");
    if (!ts || json_is_null(ts)) goto out;
    if (!json_is_object(ts)) {
        rc = bad(err, where, "sharing.timeSlicing", "must be a mapping");
        goto out;
    }
    static const char *const bools[] = {"renameByDefault", "failRequestsGreaterThanOne"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *b = json_object_get(ts, bools[i]);
        if (b && !json_is_boolean(b)) {
            char path[80];
            snprintf(path, sizeof path, "sharing.timeSlicing.%s", bools[i]);
            rc = bad(err, where, path, "must be true or false");
            goto out;
        }
    }
    *rename = json_is_true(json_object_get(ts, "renameByDefault"));
    const json_t *res = json_object_get(ts, "resources");
    if (res && !json_is_array(res)) {
        rc = bad(err, where, "sharing.timeSlicing.resources", "must be a list");
        goto out;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(res, i, r) {
        char path[80];
        snprintf(path, sizeof path, "sharing.timeSlicing.resources[%zu]", i);
        const json_t *name = json_object_get(r, "name"), *rep = json_object_get(r, "replicas");
        if (!json_is_object(r)) {
            rc = bad(err, where, path, "must be a mapping {name, replicas}");
            goto out;
        }
        if (!json_is_string(name)) {
            snprintf(path + strlen(path), sizeof path - strlen(path), ".name");
            rc = bad(err, where, path, "must be a resource name");
            goto out;
        }
        if (!json_is_integer(rep) || json_integer_value(rep) < 1 || json_integer_value(rep) > 1024) {
            snprintf(path + strlen(path), sizeof path - strlen(path), ".replicas");
            rc = bad(err, where, path, "must be an integer 1..1024");
            goto out;
        }
        if (strcmp(json_string_value(name), "nvidia.com/gpu") == 0) *replicas = (int32_t)json_integer_value(rep);
    }
out:
    json_decref(docs);
    return rc;
}
