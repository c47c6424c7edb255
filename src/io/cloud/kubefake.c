#include "io/cloud/kubefake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/log.h"
#include "io/kube/kpod.h"
#include "io/kube/yamljson.h"
#include "model/gpu.h"
#include "policy/mig.h"

typedef struct kubefake {
    gs_kube *k;
    const gs_catalog *cat;
    gs_informer *pods;       /* borrowed or owned */
    gs_informer *own_pods;
    gs_rules_store *pod_rules; /* own_pods' interned selectors and tolerations */
    gs_informer *nodes;      /* our nodes (label selector) */
    char zone[GS_NAME_LEN];
    int heartbeat_ms;
    json_t *beats;           /* node -> mono ms of its last heartbeat */
    char mig_cm_ns[64];      /* the mig-parted ConfigMap the "operator" reads */
    char mig_cm_name[254];
    char dp_cm_ns[64];       /* the device plugin's ConfigMap */
    char dp_cm_name[254];
    int dp_delay_ms;
    json_t *dp_seen;         /* node -> {key, at (mono ms the label was first seen), told} */
} kubefake;

/* Work per tick is capped so a burst (thousands of pods bound at once) never stalls the
 * controller loop that drives the tick; the rest is done on the next ticks. */
#define KF_MAX_POD_PATCHES 30
#define KF_MAX_HEARTBEATS 20
/* The fake kubelets' work per tick stops after this long, so the controller's loop (which
 * runs the provider's tick between plans) is never held up by the emulation for long. */
#define KF_TICK_BUDGET_MS 40

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *taint_effect(gs_taint_effect e) {
    return e == GS_TAINT_NO_EXECUTE ? "NoExecute" : e == GS_TAINT_PREFER_NO_SCHEDULE ? "PreferNoSchedule" : "NoSchedule";
}

/* Resources a node advertises for the layout in req. */
static void add_gpu_resources(json_t *res, const gs_gpu_model *m, const gs_launch_req *req, int ngpus) {
    int whole = req->ngpus == 0 ? ngpus : 0; /* no layout given: every GPU whole */
    int counts[GS_MIG_MAX_PROFILES] = {0};
    for (int g = 0; g < req->ngpus; g++) {
        const gs_gpu_state *s = &req->gpus[g];
        if (s->mode == GS_GPUMODE_MIG && m && gs_gpu_has_mig(m)) {
            for (int p = 0; p < s->nparts; p++)
                if (s->parts[p].profile >= 0 && s->parts[p].profile < m->nprofiles) counts[s->parts[p].profile]++;
        } else {
            whole++;
        }
    }
    char v[32];
    snprintf(v, sizeof v, "%d", whole);
    json_object_set_new(res, "nvidia.com/gpu", json_string(v));
    if (!m) return;
    for (int p = 0; p < m->nprofiles; p++) {
        if (!counts[p]) continue;
        char name[64];
        gs_mig_resource_name(&m->profiles[p], name, sizeof name);
        snprintf(v, sizeof v, "%d", counts[p]);
        json_object_set_new(res, name, json_string(v));
    }
}

json_t *gs_kubefake_node_json(const gs_catalog *cat, const gs_launch_req *req, const char *zone, gs_error *err) {
    int ti = gs_catalog_find(cat, req->itype);
    if (ti < 0) {
        gs_error_set(err, GS_ENOENT, "kube-fake: unknown instance type \"%s\"", req->itype);
        return NULL;
    }
    const gs_itype *t = &cat->types[ti];
    const gs_gpu_model *m = t->gpus > 0 && t->gpu_model >= 0 ? gs_gpu_get(t->gpu_model) : NULL;
    if (req->ngpus > 0 && req->ngpus != t->gpus) {
        gs_error_set(err, GS_EINVAL, "kube-fake: layout has %d GPUs, %s has %d", req->ngpus, t->name, t->gpus);
        return NULL;
    }
    char buf[64];
    json_t *labels = json_object();
    json_object_set_new(labels, "kubernetes.io/hostname", json_string(req->node_name));
    json_object_set_new(labels, "kubernetes.io/os", json_string("linux"));
    json_object_set_new(labels, "kubernetes.io/arch", json_string("amd64"));
    json_object_set_new(labels, "node.kubernetes.io/instance-type", json_string(t->name));
    json_object_set_new(labels, "karpenter.k8s.aws/instance-family", json_string(t->family));
    json_object_set_new(labels, "topology.kubernetes.io/zone", json_string(req->zone[0] ? req->zone : zone));
    json_object_set_new(labels, "karpenter.sh/capacity-type", json_string(gs_capacity_name(req->capacity)));
    json_object_set_new(labels, GS_KUBEFAKE_LABEL, json_string("kube-fake"));
    if (req->pool[0]) json_object_set_new(labels, "gpuscale.dev/pool", json_string(req->pool));
    if (m) {
        /* GPU Feature Discovery labels */
        json_object_set_new(labels, "nvidia.com/gpu.present", json_string("true"));
        json_object_set_new(labels, "nvidia.com/gpu.product", json_string(m->product));
        snprintf(buf, sizeof buf, "%d", t->gpus);
        json_object_set_new(labels, "nvidia.com/gpu.count", json_string(buf));
        snprintf(buf, sizeof buf, "%d", m->mem_mib);
        json_object_set_new(labels, "nvidia.com/gpu.memory", json_string(buf));
        json_object_set_new(labels, "gpuscale.dev/gpu-model", json_string(m->name));
        json_object_set_new(labels, "nvidia.com/mig.capable", json_string(gs_gpu_has_mig(m) ? "true" : "false"));
        /* the device plugin's default config: no sharing (a node labelled
         * nvidia.com/device-plugin.config gets its config applied by the fake device plugin) */
        json_object_set_new(labels, GS_DP_REPLICAS_LABEL, json_string("1"));
        json_object_set_new(labels, GS_DP_STRATEGY_LABEL, json_string("none"));
        if (gs_gpu_has_mig(m)) {
            json_object_set_new(labels, "nvidia.com/mig.strategy", json_string("mixed"));
            json_object_set_new(labels, "nvidia.com/mig.config",
                                json_string(req->mig_config[0] ? req->mig_config : "all-disabled"));
            json_object_set_new(labels, "nvidia.com/mig.config.state", json_string("success"));
        }
    }
    for (int i = 0; i < req->nlabels; i++)
        json_object_set_new(labels, req->labels[i].key, json_string(req->labels[i].value));
    json_t *taints = json_array();
    for (int i = 0; i < req->ntaints; i++)
        json_array_append_new(taints, json_pack("{s:s,s:s,s:s}", "key", req->taints[i].key, "value",
                                                req->taints[i].value, "effect", taint_effect(req->taints[i].effect)));
    json_t *cap = json_object();
    snprintf(buf, sizeof buf, "%lldm", (long long)t->alloc_cpu);
    json_object_set_new(cap, "cpu", json_string(buf));
    snprintf(buf, sizeof buf, "%lldMi", (long long)t->alloc_mem);
    json_object_set_new(cap, "memory", json_string(buf));
    snprintf(buf, sizeof buf, "%d", t->max_pods);
    json_object_set_new(cap, "pods", json_string(buf));
    if (m) add_gpu_resources(cap, m, req, t->gpus);
    char id[GS_INSTANCE_ID];
    snprintf(id, sizeof id, GS_KUBEFAKE_PREFIX "%s", req->node_name);
    char now[32];
    rfc3339(now, sizeof now);
    json_t *node = json_pack("{s:s,s:s,s:{s:s,s:o,s:{s:s}},s:{s:s,s:o},s:{s:O,s:O,s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}}",
                             "apiVersion", "v1", "kind", "Node", "metadata", "name", req->node_name, "labels", labels,
                             "annotations", "gpuscale.dev/launched-at", now, "spec", "providerID", id, "taints", taints,
                             "status", "capacity", cap, "allocatable", cap, "conditions", "type", "Ready", "status",
                             "True", "reason", "KubeFakeReady", "message", "kube-fake node is ready",
                             "lastHeartbeatTime", now, "lastTransitionTime", now);
    json_decref(cap);
    if (m && gs_gpu_has_mig(m)) /* born with the requested layout: nothing left for mig-manager */
        json_object_set_new(json_object_get(json_object_get(node, "metadata"), "annotations"),
                            "gpuscale.dev/kube-fake-mig-applied",
                            json_string(req->mig_config[0] ? req->mig_config : "all-disabled"));
    return node;
}

static const char *lbl(const json_t *obj, const char *k) {
    return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), k));
}

static void instance_from_node(const json_t *node, gs_instance *in) {
    memset(in, 0, sizeof *in);
    const json_t *md = json_object_get(node, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *pid = json_string_value(json_object_get(json_object_get(node, "spec"), "providerID"));
    snprintf(in->node_name, sizeof in->node_name, "%s", name ? name : "");
    if (pid) snprintf(in->id, sizeof in->id, "%s", pid);
    else snprintf(in->id, sizeof in->id, GS_KUBEFAKE_PREFIX "%s", in->node_name);
    const char *v;
    if ((v = lbl(node, "node.kubernetes.io/instance-type"))) snprintf(in->itype, sizeof in->itype, "%s", v);
    if ((v = lbl(node, "topology.kubernetes.io/zone"))) snprintf(in->zone, sizeof in->zone, "%s", v);
    if ((v = lbl(node, "gpuscale.dev/pool"))) snprintf(in->pool, sizeof in->pool, "%s", v);
    v = lbl(node, "karpenter.sh/capacity-type");
    in->capacity = v && strcmp(v, "spot") == 0 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND;
    const char *ts = json_string_value(json_object_get(md, "creationTimestamp"));
    if (ts) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        if (sscanf(ts, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec) == 6) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            in->launched_unix_ms = (int64_t)timegm(&tm) * 1000;
        }
    }
}

static int kf_launch(void *self, const gs_launch_req *req, gs_instance *out, gs_error *err) {
    kubefake *f = self;
    json_t *node = gs_kubefake_node_json(f->cat, req, f->zone, err);
    if (!node) return err ? err->code : GS_EINVAL;
    json_t *created = NULL;
    int rc = gs_kube_create(f->k, "/api/v1/nodes", node, &created, err);
    if (rc == GS_ECONFLICT) { /* idempotent: a retried launch finds its node */
        char p[512];
        snprintf(p, sizeof p, "/api/v1/nodes/%s", req->node_name);
        gs_error_clear(err);
        rc = gs_kube_get(f->k, p, &created, err);
    }
    if (rc == 0) {
        /* Status and spec as a kubelet + node lifecycle controller would leave them: status
         * through the subresource, and the not-ready taint that admission adds removed. */
        char p[512];
        snprintf(p, sizeof p, "/api/v1/nodes/%s/status", req->node_name);
        json_t *st = json_pack("{s:O}", "status", json_object_get(node, "status"));
        rc = gs_kube_merge_patch(f->k, p, st, NULL, err);
        json_decref(st);
        if (rc == 0) {
            snprintf(p, sizeof p, "/api/v1/nodes/%s", req->node_name);
            json_t *sp = json_pack("{s:{s:O}}", "spec", "taints", json_object_get(json_object_get(node, "spec"), "taints"));
            rc = gs_kube_merge_patch(f->k, p, sp, NULL, err);
            json_decref(sp);
        }
        if (rc == 0 && out) instance_from_node(created, out);
    }
    json_decref(created);
    json_decref(node);
    if (rc == 0) gs_log_info("kube-fake node launched", "node=%s type=%s", req->node_name, req->itype);
    return rc;
}

static int delete_pod_now(kubefake *f, const char *ns, const char *name, gs_error *err) {
    char p[800];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0", ns, name);
    int rc = gs_kube_delete(f->k, p, err);
    return rc == GS_ENOENT ? 0 : rc;
}

static int kf_terminate(void *self, const char *id, gs_error *err) {
    kubefake *f = self;
    if (strncmp(id, GS_KUBEFAKE_PREFIX, strlen(GS_KUBEFAKE_PREFIX)) != 0)
        return gs_error_set(err, GS_EINVAL, "kube-fake: \"%s\" is not a kube-fake instance id", id);
    const char *node = id + strlen(GS_KUBEFAKE_PREFIX);
    /* The machine is gone: its pods go with it (the pod GC would do it later). */
    size_t it = 0;
    const void *rec;
    while (gs_informer_next(f->pods, &it, NULL, &rec)) {
        const gs_kpod *pod = rec;
        if (strcmp(pod->node, node) == 0) delete_pod_now(f, pod->ns, pod->name, NULL);
    }
    char p[512];
    snprintf(p, sizeof p, "/api/v1/nodes/%s", node);
    int rc = gs_kube_delete(f->k, p, err);
    if (rc == GS_ENOENT) rc = 0;
    if (rc == 0) gs_log_info("kube-fake node terminated", "node=%s", node);
    return rc;
}

static int kf_list(void *self, gs_instance **out, int32_t *n, gs_error *err) {
    kubefake *f = self;
    *out = NULL;
    *n = 0;
    if (gs_informer_synced(f->nodes)) { /* the watch cache: no list of every node's JSON */
        const json_t *store = gs_informer_store(f->nodes);
        size_t cnt = json_object_size(store), i = 0;
        gs_instance *arr = calloc(cnt ? cnt : 1, sizeof *arr);
        if (!arr) return GS_ENOMEM;
        const char *key;
        json_t *node;
        json_object_foreach((json_t *)(uintptr_t)store, key, node) instance_from_node(node, &arr[i++]);
        *out = arr;
        *n = (int32_t)cnt;
        return 0;
    }
    json_t *list = NULL;
    int rc = gs_kube_get(f->k, "/api/v1/nodes?labelSelector=" GS_KUBEFAKE_LABEL "%3Dkube-fake", &list, err);
    if (rc) return rc;
    const json_t *items = json_object_get(list, "items");
    size_t cnt = json_array_size(items);
    gs_instance *arr = calloc(cnt ? cnt : 1, sizeof *arr);
    if (!arr) {
        json_decref(list);
        return GS_ENOMEM;
    }
    for (size_t i = 0; i < cnt; i++) instance_from_node(json_array_get(items, i), &arr[i]);
    json_decref(list);
    *out = arr;
    *n = (int32_t)cnt;
    return 0;
}

static bool our_node(kubefake *f, const char *name) {
    return name && gs_informer_get(f->nodes, NULL, name) != NULL;
}

int gs_kubefake_mig_resources(const char *config_yaml, const char *want, const gs_gpu_model *m, int ngpus,
                              json_t **out, char *why, size_t whylen) {
    *out = NULL;
    if (!m || !gs_gpu_has_mig(m) || ngpus <= 0 || ngpus > 64) {
        snprintf(why, whylen, "node has no MIG-capable GPU labels");
        return GS_EINVAL;
    }
    json_t *docs = NULL;
    gs_error e;
    gs_error_clear(&e);
    int rc = GS_EINVAL;
    if (!config_yaml || gs_yaml_to_json(config_yaml, strlen(config_yaml), "config.yaml", &docs, &e)) {
        snprintf(why, whylen, "config.yaml: %.300s", config_yaml ? e.msg : "missing");
        goto out;
    }
    const json_t *entries = json_object_get(json_object_get(json_array_get(docs, 0), "mig-configs"), want);
    if (!json_is_array(entries)) {
        snprintf(why, whylen, "mig-parted config \"%.100s\" not found", want);
        goto out;
    }
    int counts[GS_MIG_MAX_PROFILES] = {0}, whole = 0;
    bool seen[64] = {false};
    size_t i;
    json_t *ent;
    json_array_foreach(entries, i, ent) {
        const json_t *dev = json_object_get(ent, "devices");
        bool on = json_is_true(json_object_get(ent, "mig-enabled"));
        gs_mig_counts mc;
        memset(&mc, 0, sizeof mc);
        const char *pk;
        json_t *pv;
        json_object_foreach((json_t *)(uintptr_t)json_object_get(ent, "mig-devices"), pk, pv) {
            int pi = gs_mig_profile_find(m, pk);
            json_int_t n = json_is_integer(pv) ? json_integer_value(pv) : -1;
            if (pi < 0 || pi >= GS_MIG_MAX_PROFILES || n < 0 || n > 7) {
                snprintf(why, whylen, "config \"%.100s\": bad MIG device \"%.64s\" for %s", want, pk, m->name);
                goto out;
            }
            mc.c[pi] = (uint8_t)n;
        }
        if (on && !gs_mig_fit(m, NULL, 0, &mc, NULL)) {
            snprintf(why, whylen, "config \"%.100s\": entry %zu does not fit a %s", want, i, m->name);
            goto out;
        }
        bool all = json_is_string(dev) && strcmp(json_string_value(dev), "all") == 0;
        if (!all && !json_is_array(dev)) {
            snprintf(why, whylen, "config \"%.100s\": entry %zu: devices must be \"all\" or a list of indices", want, i);
            goto out;
        }
        for (int g = 0; g < ngpus; g++) {
            bool mine = all;
            size_t j;
            json_t *d;
            json_array_foreach(dev, j, d) mine |= json_is_integer(d) && json_integer_value(d) == g;
            if (!mine || seen[g]) continue;
            seen[g] = true;
            if (!on) {
                whole++;
                continue;
            }
            for (int pi = 0; pi < m->nprofiles && pi < GS_MIG_MAX_PROFILES; pi++) counts[pi] += mc.c[pi];
        }
    }
    for (int g = 0; g < ngpus; g++) whole += !seen[g]; /* not named: MIG off */
    json_t *res = json_object();
    char v[32];
    snprintf(v, sizeof v, "%d", whole);
    json_object_set_new(res, "nvidia.com/gpu", json_string(v));
    for (int pi = 0; pi < m->nprofiles && pi < GS_MIG_MAX_PROFILES; pi++) {
        if (!counts[pi]) continue;
        char name[64];
        gs_mig_resource_name(&m->profiles[pi], name, sizeof name);
        snprintf(v, sizeof v, "%d", counts[pi]);
        json_object_set_new(res, name, json_string(v));
    }
    *out = res;
    rc = 0;
out:
    json_decref(docs);
    return rc;
}

/* Reads mig-parted config `want` from the ConfigMap mig-manager reads (key config.yaml) and
 * turns it into the node's extended resources (gs_kubefake_mig_resources). NULL + why when
 * the config is missing or does not fit the node's GPUs (mig-manager then reports "failed"). */
static json_t *mig_resources(kubefake *f, const json_t *node, const char *want, char *why, size_t whylen) {
    const char *model_name = lbl(node, "gpuscale.dev/gpu-model");
    const char *count = lbl(node, "nvidia.com/gpu.count");
    int mi = model_name ? gs_gpu_find(model_name) : -1;
    char path[600];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s", f->mig_cm_ns, f->mig_cm_name);
    json_t *cm = NULL, *res = NULL;
    gs_error e;
    gs_error_clear(&e);
    if (gs_kube_get(f->k, path, &cm, &e)) {
        snprintf(why, whylen, "configmap %s/%s: %.300s", f->mig_cm_ns, f->mig_cm_name, e.msg);
        return NULL;
    }
    const char *text = json_string_value(json_object_get(json_object_get(cm, "data"), "config.yaml"));
    (void)gs_kubefake_mig_resources(text, want, mi >= 0 ? gs_gpu_get(mi) : NULL, count ? atoi(count) : 0, &res, why,
                                    whylen);
    json_decref(cm);
    return res;
}

/* Plays the GPU Operator's mig-manager: a node whose label nvidia.com/mig.config names a
 * config it has not applied goes to nvidia.com/mig.config.state=pending, then (next tick) the
 * config is read from the mig-parted ConfigMap and the node's MIG resources are replaced
 * (state=success), or state=failed when the config is missing or does not fit. The annotation
 * gpuscale.dev/kube-fake-mig-fail=true makes it fail (tests of the failure path). */
static void mig_manager(kubefake *f, const json_t *node) {
    const char *want = lbl(node, "nvidia.com/mig.config");
    const char *state = lbl(node, "nvidia.com/mig.config.state");
    const json_t *ann = json_object_get(json_object_get(node, "metadata"), "annotations");
    const char *done = json_string_value(json_object_get(ann, "gpuscale.dev/kube-fake-mig-applied"));
    if (!want || (done && strcmp(done, want) == 0)) return;
    const char *hold = json_string_value(json_object_get(ann, "gpuscale.dev/kube-fake-hold"));
    if (hold && strcmp(hold, "true") == 0) return;
    const char *name = json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
    char p[512];
    gs_error e;
    gs_error_clear(&e);
    snprintf(p, sizeof p, "/api/v1/nodes/%s", name);
    if (!state || strcmp(state, "pending") != 0) {
        json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "nvidia.com/mig.config.state", "pending");
        gs_kube_merge_patch(f->k, p, patch, NULL, &e);
        json_decref(patch);
        return;
    }
    char why[1024] = "";
    json_t *res = NULL;
    const char *fail = json_string_value(json_object_get(ann, "gpuscale.dev/kube-fake-mig-fail"));
    if (fail && strcmp(fail, "true") == 0) snprintf(why, sizeof why, "failure injected by annotation");
    else res = mig_resources(f, node, want, why, sizeof why);
    const char *ok = res ? "success" : "failed";
    if (res) {
        json_t *cap = json_deep_copy(json_object_get(json_object_get(node, "status"), "capacity"));
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(cap, tmp, k, v) if (strncmp(k, "nvidia.com/mig-", 15) == 0 ||
                                                     strcmp(k, "nvidia.com/gpu") == 0) json_object_set_new(cap, k, json_null());
        json_object_update(cap, res);
        char sp[512];
        snprintf(sp, sizeof sp, "/api/v1/nodes/%s/status", name);
        json_t *st = json_pack("{s:{s:O,s:O}}", "status", "capacity", cap, "allocatable", cap);
        if (gs_kube_merge_patch(f->k, sp, st, NULL, &e)) {
            ok = "failed";
            snprintf(why, sizeof why, "status update: %.300s", e.msg);
        }
        json_decref(st);
        json_decref(cap);
        json_decref(res);
    }
    json_t *patch = json_pack("{s:{s:{s:s},s:{s:s}}}", "metadata", "labels", "nvidia.com/mig.config.state", ok,
                              "annotations", "gpuscale.dev/kube-fake-mig-applied", want);
    gs_kube_merge_patch(f->k, p, patch, NULL, &e);
    json_decref(patch);
    if (strcmp(ok, "success") == 0) gs_log_info("kube-fake mig-manager applied", "node=%s config=%s", name, want);
    else gs_log_warn("kube-fake mig-manager failed", "node=%s config=%s reason=\"%s\"", name, want, why);
}


/* Plays the NVIDIA device plugin (with its config-manager sidecar) and GFD for per-node
 * configs: when nvidia.com/device-plugin.config names a config it has not applied, after
 * dp_delay_ms the config is read from the device plugin's ConfigMap (one key per config) and
 * the node's GPU resources and labels are replaced: time-slicing with N replicas -> allocatable
 * nvidia.com/gpu.shared = GPUs x N (renameByDefault; else nvidia.com/gpu = GPUs x N),
 * nvidia.com/gpu.replicas=N, nvidia.com/gpu.sharing-strategy=time-slicing. The label removed:
 * back to the default (no sharing). A config that is missing or malformed is never applied
 * (the real plugin fails to start with it): one warning per key. */
static void device_plugin(kubefake *f, const json_t *node, int64_t now) {
    const json_t *md = json_object_get(node, "metadata");
    const json_t *ann = json_object_get(md, "annotations");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *want = lbl(node, GS_DP_CONFIG_LABEL);
    const char *done = json_string_value(json_object_get(ann, "gpuscale.dev/kube-fake-dp-applied"));
    const char *hold = json_string_value(json_object_get(ann, "gpuscale.dev/kube-fake-hold"));
    const char *fail = json_string_value(json_object_get(ann, "gpuscale.dev/kube-fake-dp-fail"));
    if (!name || (!want && !done) || (want && done && strcmp(want, done) == 0)) {
        json_object_del(f->dp_seen, name ? name : "");
        return;
    }
    if (hold && strcmp(hold, "true") == 0) return;
    json_t *seen = json_object_get(f->dp_seen, name);
    const char *sk = json_string_value(json_object_get(seen, "key"));
    if (!seen || strcmp(sk ? sk : "", want ? want : "") != 0) {
        json_object_set_new(f->dp_seen, name, json_pack("{s:s,s:I,s:b}", "key", want ? want : "", "at", (json_int_t)now,
                                                         "told", 0));
        if (f->dp_delay_ms >= 0) return;
        seen = json_object_get(f->dp_seen, name);
    }
    if (now - json_integer_value(json_object_get(seen, "at")) < f->dp_delay_ms) return;
    bool told = json_is_true(json_object_get(seen, "told"));
    int32_t replicas = 1;
    bool rename = false;
    char why[1200] = "";
    if (want && fail && strcmp(fail, "true") == 0) {
        snprintf(why, sizeof why, "failure injected by annotation");
    } else if (want) {
        char path[600], where[700];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s", f->dp_cm_ns, f->dp_cm_name);
        snprintf(where, sizeof where, "configmap %s/%s key %s", f->dp_cm_ns, f->dp_cm_name, want);
        json_t *cm = NULL;
        gs_error e;
        gs_error_clear(&e);
        if (gs_kube_get(f->k, path, &cm, &e)) {
            snprintf(why, sizeof why, "%s: %.400s", where, e.msg);
        } else {
            const char *text = json_string_value(json_object_get(json_object_get(cm, "data"), want));
            if (!text) snprintf(why, sizeof why, "%s: no such config", where);
            else if (gs_dp_config_parse(text, where, &replicas, &rename, &e)) snprintf(why, sizeof why, "%.1100s", e.msg);
        }
        json_decref(cm);
    }
    if (why[0]) {
        if (!told) {
            json_object_set_new(seen, "told", json_true());
            gs_log_warn("kube-fake device plugin not configured", "node=%s config=%s reason=\"%s\"", name, want, why);
        }
        return;
    }
    int ngpus = atoi(lbl(node, "nvidia.com/gpu.count") ? lbl(node, "nvidia.com/gpu.count") : "0");
    char v[32];
    json_t *cap = json_deep_copy(json_object_get(json_object_get(node, "status"), "capacity"));
    if (!cap) cap = json_object();
    json_object_set_new(cap, "nvidia.com/gpu.shared", json_null());
    snprintf(v, sizeof v, "%lld", (long long)ngpus * (replicas > 1 ? replicas : 1));
    if (replicas > 1 && rename) {
        json_object_set_new(cap, "nvidia.com/gpu.shared", json_string(v));
        json_object_set_new(cap, "nvidia.com/gpu", json_null());
    } else {
        json_object_set_new(cap, "nvidia.com/gpu", json_string(v));
    }
    char p[600];
    gs_error e;
    gs_error_clear(&e);
    snprintf(p, sizeof p, "/api/v1/nodes/%s/status", name);
    json_t *st = json_pack("{s:{s:O,s:O}}", "status", "capacity", cap, "allocatable", cap);
    int rc = gs_kube_merge_patch(f->k, p, st, NULL, &e);
    json_decref(st);
    json_decref(cap);
    if (rc) {
        gs_log_warn("kube-fake device plugin status", "node=%s err=\"%s\"", name, e.msg);
        return;
    }
    snprintf(v, sizeof v, "%d", (int)(replicas > 1 ? replicas : 1));
    snprintf(p, sizeof p, "/api/v1/nodes/%s", name);
    json_t *patch = json_pack("{s:{s:{s:s,s:s},s:{s:o}}}", "metadata", "labels", GS_DP_REPLICAS_LABEL, v,
                              GS_DP_STRATEGY_LABEL, replicas > 1 ? "time-slicing" : "none", "annotations",
                              "gpuscale.dev/kube-fake-dp-applied", want ? json_string(want) : json_null());
    gs_kube_merge_patch(f->k, p, patch, NULL, &e);
    json_decref(patch);
    json_object_del(f->dp_seen, name);
    gs_log_info("kube-fake device plugin configured", "node=%s config=%s replicas=%d renamed=%d", name,
                want ? want : "(default)", (int)replicas, (int)rename);
}

static int kf_tick(void *self, gs_error *err) {
    kubefake *f = self;
    (void)err;
    gs_informer *infs[2] = {f->nodes, f->own_pods};
    int n = f->own_pods ? 2 : 1;
    int rc = gs_informers_poll(infs, n, 0, err);
    if (rc) return rc;
    char now[32];
    rfc3339(now, sizeof now);
    int64_t t0 = mono_ms();
    /* Pods bound to our nodes: Pending -> Running; deletions finished at once. */
    size_t it = 0;
    const void *rec;
    int patches = 0;
    while (gs_informer_next(f->pods, &it, NULL, &rec)) {
        if (patches >= KF_MAX_POD_PATCHES || mono_ms() - t0 > KF_TICK_BUDGET_MS) break;
        const gs_kpod *pod = rec;
        if (!pod->node[0] || !our_node(f, pod->node)) continue;
        const char *ns = pod->ns, *name = pod->name;
        if (pod->deleting) {
            patches++;
            gs_error e;
            if (delete_pod_now(f, ns, name, &e)) gs_log_warn("kube-fake pod delete", "pod=%s/%s err=\"%s\"", ns, name, e.msg);
            continue;
        }
        if (pod->phase != GS_KPOD_PENDING) continue;
        patches++;
        char p[800];
        snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/%s/status", ns, name);
        json_t *st = json_pack("{s:{s:s,s:s,s:s,s:[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]}}", "status", "phase",
                               "Running", "startTime", now, "podIP", "10.244.0.1", "conditions", "type",
                               "PodScheduled", "status", "True", "lastTransitionTime", now, "type", "Initialized",
                               "status", "True", "lastTransitionTime", now, "type", "Ready", "status", "True",
                               "lastTransitionTime", now);
        gs_error e;
        gs_error_clear(&e);
        if (gs_kube_merge_patch(f->k, p, st, NULL, &e) && e.code != GS_ENOENT)
            gs_log_warn("kube-fake pod status", "pod=%s/%s err=\"%s\"", ns, name, e.msg);
        json_decref(st);
    }
    /* Nodes: MIG requests and Ready heartbeats. */
    int64_t t = mono_ms();
    int beats = 0;
    const char *key;
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(f->nodes), key, node) {
        mig_manager(f, node);
        device_plugin(f, node, t);
        json_t *last = json_object_get(f->beats, key);
        if (!last) { /* just launched with a fresh heartbeat */
            json_object_set_new(f->beats, key, json_integer(t));
            continue;
        }
        if (t - json_integer_value(last) < f->heartbeat_ms || beats >= KF_MAX_HEARTBEATS ||
            mono_ms() - t0 > KF_TICK_BUDGET_MS)
            continue;
        beats++;
        json_object_set_new(f->beats, key, json_integer(t));
        char p[512];
        snprintf(p, sizeof p, "/api/v1/nodes/%s/status", key);
        json_t *st = json_pack("{s:{s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}}", "status", "conditions", "type", "Ready", "status",
                               "True", "reason", "KubeFakeReady", "message", "kube-fake node is ready",
                               "lastHeartbeatTime", now, "lastTransitionTime", now);
        gs_error e;
        gs_kube_merge_patch(f->k, p, st, NULL, &e);
        json_decref(st);
    }
    const char *bk;
    json_t *bv;
    void *tmp;
    json_object_foreach_safe(f->beats, tmp, bk, bv) if (!gs_informer_get(f->nodes, NULL, bk)) json_object_del(f->beats, bk);
    json_object_foreach_safe(f->dp_seen, tmp, bk, bv) if (!gs_informer_get(f->nodes, NULL, bk)) json_object_del(f->dp_seen, bk);
    return 0;
}

static void kf_destroy(void *self) {
    kubefake *f = self;
    gs_informer_free(f->own_pods);
    gs_rules_store_free(f->pod_rules);
    gs_informer_free(f->nodes);
    json_decref(f->beats);
    json_decref(f->dp_seen);
    free(f);
}

static const gs_provider_ops KUBEFAKE_OPS = {
    .name = "kube-fake", .launch = kf_launch, .terminate = kf_terminate, .list = kf_list,
    .tick = kf_tick, .destroy = kf_destroy};

/* Nodes cached with what kube-fake reads (name, labels, annotations, creation time, providerID,
 * capacity):
 * conditions, addresses and the rest are dropped (memory at 1,000 nodes). */
static void trim_node(json_t *node) {
    json_t *md = json_object_get(node, "metadata"), *nmd = json_object();
    static const char *const keep[] = {"name", "labels", "annotations", "creationTimestamp"};
    for (size_t i = 0; i < 4; i++)
        if (json_object_get(md, keep[i])) json_object_set(nmd, keep[i], json_object_get(md, keep[i]));
    json_t *nspec = json_object();
    json_t *pid = json_object_get(json_object_get(node, "spec"), "providerID");
    if (pid) json_object_set(nspec, "providerID", pid);
    json_t *nst = json_object();
    json_t *cap = json_object_get(json_object_get(node, "status"), "capacity");
    if (cap) json_object_set(nst, "capacity", cap);
    json_object_clear(node);
    json_object_set_new(node, "metadata", nmd);
    json_object_set_new(node, "spec", nspec);
    json_object_set_new(node, "status", nst);
}

int gs_kubefake_new(gs_kube *k, const gs_catalog *cat, gs_informer *pods, const gs_kubefake_opts *opts,
                    gs_provider *out, gs_error *err) {
    kubefake *f = calloc(1, sizeof *f);
    if (!f) return GS_ENOMEM;
    f->k = k;
    f->cat = cat;
    snprintf(f->zone, sizeof f->zone, "%s", opts && opts->zone ? opts->zone : "fake-zone-a");
    f->heartbeat_ms = opts && opts->heartbeat_ms > 0 ? opts->heartbeat_ms : 10000;
    f->beats = json_object();
    snprintf(f->mig_cm_ns, sizeof f->mig_cm_ns, "%s", opts && opts->mig_configmap_ns ? opts->mig_configmap_ns : GS_MIG_CONFIGMAP_NS);
    snprintf(f->mig_cm_name, sizeof f->mig_cm_name, "%s",
             opts && opts->mig_configmap ? opts->mig_configmap : GS_MIG_CONFIGMAP_NAME);
    snprintf(f->dp_cm_ns, sizeof f->dp_cm_ns, "%s", opts && opts->dp_configmap_ns ? opts->dp_configmap_ns : GS_DP_CONFIGMAP_NS);
    snprintf(f->dp_cm_name, sizeof f->dp_cm_name, "%s", opts && opts->dp_configmap ? opts->dp_configmap : GS_DP_CONFIGMAP_NAME);
    f->dp_delay_ms = opts && opts->dp_delay_ms ? opts->dp_delay_ms : 1000;
    f->dp_seen = json_object();
    f->nodes = gs_informer_new(k, "/api/v1/nodes", GS_KUBEFAKE_LABEL "=kube-fake", trim_node, NULL, NULL);
    if (!pods) {
        gs_informer_codec codec;
        gs_kpod_codec(&codec, &f->pod_rules);
        f->own_pods = gs_informer_new_typed(k, "/api/v1/pods", NULL, &codec, NULL, NULL);
        pods = f->own_pods;
    }
    f->pods = pods;
    if (!f->nodes || !f->pods || !f->beats || !f->dp_seen) {
        kf_destroy(f);
        return gs_error_set(err, GS_ENOMEM, "kube-fake: out of memory");
    }
    out->ops = &KUBEFAKE_OPS;
    out->self = f;
    return 0;
}
