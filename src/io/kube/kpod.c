#include "io/kube/kpod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/cluster.h"
#include "model/qty.h"

bool gs_kube_gpu_resource(const char *r) {
    return strcmp(r, "nvidia.com/gpu") == 0 || strncmp(r, "nvidia.com/mig-", 15) == 0 ||
           strcmp(r, "nvidia.com/gpu.shared") == 0 || strcmp(r, "gpuscale.dev/gpu-milli") == 0;
}

int64_t gs_kube_qty(const json_t *v, bool cpu) {
    char buf[64];
    if (json_is_integer(v)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v)) snprintf(buf, sizeof buf, "%s", json_string_value(v));
    else return 0;
    const char *why = NULL;
    int64_t out = 0;
    if (cpu) {
        gs_mcpu m = 0;
        if (gs_parse_cpu(buf, &m, &why) == 0) out = m;
    } else {
        gs_mib m = 0;
        if (gs_parse_mem(buf, &m, &why) == 0) out = m;
    }
    return out;
}

int64_t gs_kube_count(const json_t *v) {
    if (json_is_integer(v)) return json_integer_value(v);
    const char *s = json_string_value(v);
    return s ? strtoll(s, NULL, 10) : 0;
}

bool gs_kpod_live(const gs_kpod *p) {
    return p->phase != GS_KPOD_SUCCEEDED && p->phase != GS_KPOD_FAILED;
}

static gs_kpod_phase phase_of(const char *ph) {
    if (!ph || strcmp(ph, "Pending") == 0) return GS_KPOD_PENDING;
    if (strcmp(ph, "Running") == 0) return GS_KPOD_RUNNING;
    if (strcmp(ph, "Succeeded") == 0) return GS_KPOD_SUCCEEDED;
    if (strcmp(ph, "Failed") == 0) return GS_KPOD_FAILED;
    return GS_KPOD_UNKNOWN;
}

static bool is_true(const json_t *ann, const char *k) {
    const char *v = json_string_value(json_object_get(ann, k));
    return v && strcmp(v, "true") == 0;
}

gs_kpod *gs_kpod_decode(const json_t *pod, gs_rules_store **store) {
    const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    const char *proj = json_string_value(json_object_get(json_object_get(md, "labels"), "gpuscale.dev/project"));
    if (!name) return NULL;
    if (!ns) ns = "";
    char owner[300] = "";
    size_t oi;
    const json_t *ow;
    json_array_foreach(json_object_get(md, "ownerReferences"), oi, ow) {
        if (!json_is_true(json_object_get(ow, "controller"))) continue;
        const char *ok = json_string_value(json_object_get(ow, "kind"));
        const char *on = json_string_value(json_object_get(ow, "name"));
        if (!ok || !on) break;
        if (strcmp(ok, "ReplicaSet") == 0) { /* Deployment NAME-<pod-template-hash> */
            const char *hash = json_string_value(json_object_get(json_object_get(md, "labels"), "pod-template-hash"));
            size_t nl = strlen(on), hl = hash ? strlen(hash) : 0;
            if (hash && nl > hl + 1 && on[nl - hl - 1] == '-' && strcmp(on + nl - hl, hash) == 0)
                snprintf(owner, sizeof owner, "Deployment/%.*s", (int)(nl - hl - 1), on);
        } else if (strcmp(ok, "StatefulSet") == 0 || strcmp(ok, "DaemonSet") == 0 || strcmp(ok, "Job") == 0 ||
                   strcmp(ok, "Node") == 0) /* Node: a static (mirror) pod */ {
            snprintf(owner, sizeof owner, "%s/%s", ok, on);
        }
        break;
    }
    if (!node) node = "";
    if (!proj || !proj[0]) proj = ns;
    size_t ln = strlen(ns) + 1, lm = strlen(name) + 1, lo = strlen(node) + 1, lp = strlen(proj) + 1;
    size_t lw = strlen(owner) + 1;
    gs_kpod *p = calloc(1, sizeof *p + ln + lm + lo + lp + lw);
    if (!p) return NULL;
    char *t = p->text;
    p->ns = memcpy(t, ns, ln);
    p->name = memcpy(t + ln, name, lm);
    p->node = memcpy(t + ln + lm, node, lo);
    p->project = memcpy(t + ln + lm + lo, proj, lp);
    p->owner = memcpy(t + ln + lm + lo + lp, owner, lw);
    p->phase = phase_of(json_string_value(json_object_get(json_object_get(pod, "status"), "phase")));
    p->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    const json_t *ann = json_object_get(md, "annotations");
    const char *idle = json_string_value(json_object_get(ann, "gpuscale.dev/idle"));
    p->idle = (int8_t)(!idle ? -1 : strcmp(idle, "true") == 0 ? 1 : 0);
    size_t ci;
    const json_t *cond;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), ci, cond) {
        const char *ct = json_string_value(json_object_get(cond, "type"));
        const char *cs = json_string_value(json_object_get(cond, "status"));
        if (ct && cs && strcmp(ct, "Ready") == 0) p->ready = strcmp(cs, "True") == 0;
        if (ct && cs && strcmp(ct, "PodScheduled") == 0) {
            const char *why = json_string_value(json_object_get(cond, "reason"));
            p->unschedulable = strcmp(cs, "False") == 0 && why && strcmp(why, "Unschedulable") == 0;
        }
    }
    p->do_not_disrupt = is_true(ann, "gpuscale.dev/do-not-disrupt") || is_true(ann, "karpenter.sh/do-not-disrupt");
    const json_t *pr = json_object_get(spec, "priority");
    if (json_is_integer(pr)) p->priority = (int32_t)json_integer_value(pr);
    /* requests, summed over containers; a missing request defaults to the limit */
    const char *gres = NULL;
    int64_t gcount = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c) {
        const json_t *res = json_object_get(c, "resources");
        const json_t *rq = json_object_get(res, "requests"), *lm_ = json_object_get(res, "limits");
        p->cpu += gs_kube_qty(json_object_get(rq, "cpu") ? json_object_get(rq, "cpu") : json_object_get(lm_, "cpu"), true);
        p->mem += gs_kube_qty(json_object_get(rq, "memory") ? json_object_get(rq, "memory") : json_object_get(lm_, "memory"), false);
        for (int pass = 0; pass < 2; pass++) {
            const char *k;
            const json_t *v;
            json_object_foreach((json_t *)(uintptr_t)(pass ? lm_ : rq), k, v) {
                if (!gs_kube_gpu_resource(k) || (pass && json_object_get(rq, k))) continue;
                if (!gres) gres = k;
                if (strcmp(gres, k) == 0) gcount += gs_kube_count(v);
            }
        }
    }
    if (gres) {
        const char *why = NULL;
        p->has_gpu = true;
        p->gpu_ok = gs_gpu_req_from_resource(gres, gcount, &p->gpu, &why) == 0;
    }
    /* nodeSelector and tolerations, interned */
    gs_kv sel[GS_MAX_LABELS];
    gs_toleration tol[GS_MAX_TAINTS];
    gs_pod_spec sp;
    memset(&sp, 0, sizeof sp);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)json_object_get(spec, "nodeSelector"), k, v) {
        if (sp.n_node_selector >= GS_MAX_LABELS) break;
        gs_kv *kv = &sel[sp.n_node_selector++];
        snprintf(kv->key, sizeof kv->key, "%s", k);
        snprintf(kv->value, sizeof kv->value, "%s", json_string_value(v) ? json_string_value(v) : "");
    }
    json_array_foreach(json_object_get(spec, "tolerations"), i, c) {
        if (sp.n_tolerations >= GS_MAX_TAINTS) break;
        gs_toleration *to = &tol[sp.n_tolerations++];
        const char *key = json_string_value(json_object_get(c, "key"));
        const char *val = json_string_value(json_object_get(c, "value"));
        const char *op = json_string_value(json_object_get(c, "operator"));
        const char *eff = json_string_value(json_object_get(c, "effect"));
        memset(to, 0, sizeof *to);
        snprintf(to->key, sizeof to->key, "%s", key ? key : "");
        snprintf(to->value, sizeof to->value, "%s", val ? val : "");
        to->op = op && strcmp(op, "Exists") == 0 ? GS_TOL_EXISTS : GS_TOL_EQUAL;
        to->effect = !eff || !eff[0]                         ? -1
                     : strcmp(eff, "NoExecute") == 0        ? (int)GS_TAINT_NO_EXECUTE
                     : strcmp(eff, "PreferNoSchedule") == 0 ? (int)GS_TAINT_PREFER_NO_SCHEDULE
                                                            : (int)GS_TAINT_NO_SCHEDULE;
    }
    sp.node_selector = sel;
    sp.tolerations = tol;
    if (gs_rules_intern(store, &sp)) {
        free(p);
        return NULL;
    }
    p->sel = sp.node_selector;
    p->nsel = sp.n_node_selector;
    p->tol = sp.tolerations;
    p->ntol = sp.n_tolerations;
    return p;
}

bool gs_kpod_equal(const gs_kpod *a, const gs_kpod *b) {
    return strcmp(a->ns, b->ns) == 0 && strcmp(a->name, b->name) == 0 && strcmp(a->node, b->node) == 0 &&
           strcmp(a->project, b->project) == 0 && strcmp(a->owner, b->owner) == 0 && a->ready == b->ready &&
           a->unschedulable == b->unschedulable &&
           a->idle == b->idle && a->phase == b->phase && a->deleting == b->deleting &&
           a->do_not_disrupt == b->do_not_disrupt && a->has_gpu == b->has_gpu && a->gpu_ok == b->gpu_ok &&
           a->cpu == b->cpu && a->mem == b->mem && a->priority == b->priority &&
           memcmp(&a->gpu, &b->gpu, sizeof a->gpu) == 0 && a->sel == b->sel && a->nsel == b->nsel &&
           a->tol == b->tol && a->ntol == b->ntol; /* interned: equal rules share one pointer */
}

static void *codec_decode(void *ud, const json_t *obj) { return gs_kpod_decode(obj, ud); }
static bool codec_equal(const void *a, const void *b) { return gs_kpod_equal(a, b); }
static void codec_release(void *rec) { free(rec); }

void gs_kpod_codec(gs_informer_codec *codec, gs_rules_store **store) {
    codec->decode = codec_decode;
    codec->equal = codec_equal;
    codec->release = codec_release;
    codec->ud = store;
}
