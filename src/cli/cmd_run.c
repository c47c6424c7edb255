/* gpuscale run: the controller loop against a real cluster (docs/deploy.md).
 *
 * Each tick (leader only): read every QueueScaler's queue and set its workload's replicas
 * through /scale; find Pending pods asking for GPUs (nvidia.com/gpu, nvidia.com/mig-*), compare
 * with the free GPU capacity of gpuscale's nodes (including launches in flight) and launch the
 * cheapest fitting instance types for the rest through the provider, with the MIG layout the
 * GPU Operator applies (label nvidia.com/mig.config=all-<profile>); terminate gpuscale's nodes
 * that stayed empty for the pool's consolidateAfter (cordon first, never a node marked
 * gpuscale.dev/do-not-disrupt or karpenter.sh/do-not-disrupt). Leader election: a
 * coordination.k8s.io/v1 Lease. SIGTERM/SIGINT: finish the tick, release the Lease, exit 0.
 *
 * The decisions here are the interim ones this command needs to act (KEDA's replica formula,
 * cheapest-cover node choice, empty-node consolidation); they become single calls to
 * gs_reconcile (src/policy/reconcile.h) when it lands on main. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/catalog_load.h"
#include "io/config/config.h"
#include "io/queue/queue.h"
#include "io/cloud/exec.h"
#include "io/cloud/kubefake.h"
#include "io/http/http.h"
#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "io/log.h"
#include "model/gpu.h"
#include "policy/mig.h"
#include "policy/scale.h"

#define MAX_INFLIGHT 4096
#define LAT_SAMPLES 65536

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void micro_time(char *buf, size_t n, int64_t offset_ms) { /* n >= 40 */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char b[24];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    snprintf(out, sizeof out, "%.19s.%06dZ", b, (int)(ms % 1000) * 1000);
    snprintf(buf, n, "%.39s", out);
}

static int64_t parse_time_ms(const char *s) { /* RFC 3339 (UTC), fraction ignored */
    if (!s) return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *dot = strchr(s, '.');
    if (dot) {
        int frac = 0, digits = 0;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9' && digits < 3; p++, digits++) frac = frac * 10 + (*p - '0');
        while (digits++ < 3) frac *= 10;
        ms += frac;
    }
    return ms;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct inflight {
    char node[GS_OBJ_NAME];
    char pool[GS_NAME_LEN];
    char res[64];
    int64_t units;
    int64_t at;
} inflight;

typedef struct scaler_state {
    gs_queue q[GS_MAX_TRIGGERS];      /* io/queue sources, one per trigger */
    bool open[GS_MAX_TRIGGERS];
    gs_scale_state st;                /* policy/scale state */
    int64_t last_poll;
    int64_t len;                      /* first trigger's last reading */
    int32_t desired, actual;
    int64_t failures;
} scaler_state;

typedef struct ctl {
    gs_kube *k;
    gs_catalog cat;
    gs_config cfg;
    gs_provider prov;
    gs_http *http;
    gs_informer *pods, *nodes, *deps, *stss;
    char id[128];
    char lease_ns[64], lease_name[64];
    int lease_s;
    bool leader;
    int64_t last_renew_ok, last_lease_try;
    scaler_state *ss;
    inflight inf[MAX_INFLIGHT];
    int ninf;
    json_t *empty_since;     /* node -> mono ms */
    json_t *pending_seen;    /* ns/pod -> mono ms first seen Pending; -1 once counted; removed when bound */
    json_t *orphans;         /* instance id -> mono ms first seen without a node */
    int64_t orphan_grace_ms;
    int64_t last_orphan_check;
    /* metrics */
    int64_t decisions, launches, terminations, launch_errors, scale_ops, lease_transitions;
    double lat[LAT_SAMPLES];
    int nlat;
    double rec[LAT_SAMPLES];  /* reconcile durations, ring */
    int nrec;
    int64_t hist[12];        /* reconcile latency buckets */
    double rec_sum;
    int64_t rec_count;
    double spend_usd;
    int64_t last_spend;
    int64_t tick_ms;
} ctl;

static const double HIST_LE[12] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

/* ---- informers: trimmed objects (memory: 20,000 pods must fit in tens of MiB) ---- */

static bool gpu_resource(const char *r) {
    return strcmp(r, "nvidia.com/gpu") == 0 || strncmp(r, "nvidia.com/mig-", 15) == 0;
}

static int64_t qty_int(const json_t *v) {
    if (json_is_integer(v)) return json_integer_value(v);
    const char *s = json_string_value(v);
    return s ? strtoll(s, NULL, 10) : 0;
}

static void trim_pod(json_t *pod) {
    json_t *md = json_object_get(pod, "metadata");
    json_t *nmd = json_object();
    static const char *const keep[] = {"name", "namespace", "deletionTimestamp"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (json_object_get(md, keep[i])) json_object_set(nmd, keep[i], json_object_get(md, keep[i]));
    json_t *ann = json_object_get(md, "annotations");
    const char *dnd = json_string_value(json_object_get(ann, "gpuscale.dev/do-not-disrupt"));
    const char *kdnd = json_string_value(json_object_get(ann, "karpenter.sh/do-not-disrupt"));
    if ((dnd && strcmp(dnd, "true") == 0) || (kdnd && strcmp(kdnd, "true") == 0))
        json_object_set_new(nmd, "doNotDisrupt", json_true());
    json_t *spec = json_object_get(pod, "spec");
    json_t *nspec = json_object();
    if (json_object_get(spec, "nodeName")) json_object_set(nspec, "nodeName", json_object_get(spec, "nodeName"));
    const char *pool = json_string_value(json_object_get(json_object_get(spec, "nodeSelector"), "gpuscale.dev/pool"));
    if (pool) json_object_set_new(nspec, "pool", json_string(pool));
    json_t *req = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(c, "resources"), "requests"), k, v) {
            if (!gpu_resource(k)) continue;
            json_object_set_new(req, k, json_integer(json_integer_value(json_object_get(req, k)) + qty_int(v)));
        }
        /* extended resources may be given as limits only (requests default to limits) */
        json_object_foreach(json_object_get(json_object_get(c, "resources"), "limits"), k, v) {
            if (!gpu_resource(k) || json_object_get(json_object_get(json_object_get(c, "resources"), "requests"), k)) continue;
            json_object_set_new(req, k, json_integer(json_integer_value(json_object_get(req, k)) + qty_int(v)));
        }
    }
    json_object_set_new(nspec, "gpu", req);
    json_t *st = json_object_get(pod, "status");
    json_t *nst = json_object();
    if (json_object_get(st, "phase")) json_object_set(nst, "phase", json_object_get(st, "phase"));
    json_object_clear(pod); /* memory: only what the decisions read is cached */
    json_object_set(pod, "metadata", nmd);
    json_object_set(pod, "spec", nspec);
    json_object_set(pod, "status", nst);
    json_decref(nmd);
    json_decref(nspec);
    json_decref(nst);
}

static void trim_node(json_t *node) {
    json_t *st = json_object_get(node, "status");
    json_t *alloc = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, "allocatable"), k, v)
        if (gpu_resource(k)) json_object_set_new(alloc, k, json_integer(qty_int(v)));
    json_t *md = json_object_get(node, "metadata"), *spec = json_object_get(node, "spec");
    json_t *nmd = json_object(), *labels = json_object(), *ann = json_object(), *nspec = json_object();
    static const char *const keep_labels[] = {"gpuscale.dev/pool", "node.kubernetes.io/instance-type",
                                              "karpenter.sh/capacity-type"};
    for (size_t i = 0; i < sizeof keep_labels / sizeof keep_labels[0]; i++) {
        json_t *l = json_object_get(json_object_get(md, "labels"), keep_labels[i]);
        if (l) json_object_set(labels, keep_labels[i], l);
    }
    static const char *const keep_ann[] = {"gpuscale.dev/do-not-disrupt", "karpenter.sh/do-not-disrupt"};
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_object_get(json_object_get(md, "annotations"), keep_ann[i]);
        if (a) json_object_set(ann, keep_ann[i], a);
    }
    if (json_object_get(md, "name")) json_object_set(nmd, "name", json_object_get(md, "name"));
    if (json_object_get(md, "deletionTimestamp")) json_object_set(nmd, "deletionTimestamp", json_object_get(md, "deletionTimestamp"));
    json_object_set_new(nmd, "labels", labels);
    json_object_set_new(nmd, "annotations", ann);
    if (json_object_get(spec, "unschedulable")) json_object_set(nspec, "unschedulable", json_object_get(spec, "unschedulable"));
    if (json_object_get(spec, "providerID")) json_object_set(nspec, "providerID", json_object_get(spec, "providerID"));
    json_object_clear(node);
    json_object_set_new(node, "metadata", nmd);
    json_object_set_new(node, "spec", nspec);
    json_object_set_new(node, "status", json_pack("{s:o}", "allocatable", alloc));
}

static void trim_workload(json_t *d) {
    json_t *spec = json_object_get(d, "spec");
    json_t *r = json_object_get(spec, "replicas");
    json_t *ns = json_object();
    if (r) json_object_set(ns, "replicas", r);
    json_object_set(d, "spec", ns);
    json_decref(ns);
    json_t *st = json_object_get(d, "status");
    json_t *nst = json_object();
    if (json_object_get(st, "replicas")) json_object_set(nst, "replicas", json_object_get(st, "replicas"));
    if (json_object_get(st, "readyReplicas")) json_object_set(nst, "readyReplicas", json_object_get(st, "readyReplicas"));
    json_object_set(d, "status", nst);
    json_decref(nst);
}

static void pod_event(void *ud, gs_informer *inf, gs_watch_type t, const json_t *pod) {
    (void)inf;
    ctl *c = ud;
    const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
    char key[400];
    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(md, "namespace")),
             json_string_value(json_object_get(md, "name")));
    if (t == GS_WATCH_DELETED || json_object_get(spec, "nodeName")) {
        json_object_del(c->pending_seen, key);
        return;
    }
    if (json_object_size(json_object_get(spec, "gpu")) > 0 && !json_object_get(c->pending_seen, key))
        json_object_set_new(c->pending_seen, key, json_integer(mono_ms()));
}

/* ---- lease ---- */

static void lease_tick(ctl *c) {
    int64_t now = mono_ms();
    if (now - c->last_lease_try < 1000 * c->lease_s / 5 && c->last_lease_try != 0) {
        if (c->leader && now - c->last_renew_ok > 1000 * c->lease_s * 2 / 3) {
            c->leader = false;
            gs_log_warn("not leader", "id=%s reason=\"lease not renewed in time\"", c->id);
        }
        return;
    }
    c->last_lease_try = now;
    char path[512];
    snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", c->lease_ns, c->lease_name);
    char mt[40];
    micro_time(mt, sizeof mt, 0);
    json_t *lease = NULL;
    gs_error e;
    gs_error_clear(&e);
    long st = 0;
    bool was = c->leader;
    int rc = gs_kube_do(c->k, "GET", path, NULL, NULL, &st, &lease, &e);
    if (rc == 0 && st == 404) {
        json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:i,s:s,s:s,s:i}}", "apiVersion", "coordination.k8s.io/v1",
                                "kind", "Lease", "metadata", "name", c->lease_name, "namespace", c->lease_ns, "spec",
                                "holderIdentity", c->id, "leaseDurationSeconds", c->lease_s, "acquireTime", mt,
                                "renewTime", mt, "leaseTransitions", 0);
        char coll[400];
        snprintf(coll, sizeof coll, "/apis/coordination.k8s.io/v1/namespaces/%s/leases", c->lease_ns);
        json_t *resp = NULL;
        rc = gs_kube_do(c->k, "POST", coll, NULL, obj, &st, &resp, &e);
        json_decref(obj);
        json_decref(resp);
        if (rc == 0 && st == 201) {
            c->leader = true;
            c->last_renew_ok = now;
        } else {
            c->leader = false;
        }
    } else if (rc == 0 && st == 200) {
        const json_t *spec = json_object_get(lease, "spec");
        const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
        const char *rv = json_string_value(json_object_get(json_object_get(lease, "metadata"), "resourceVersion"));
        int64_t dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
        int64_t renew = parse_time_ms(json_string_value(json_object_get(spec, "renewTime")));
        bool mine = holder && strcmp(holder, c->id) == 0;
        bool expired = !holder || !holder[0] || renew + dur * 1000 < wall_ms();
        if (mine || expired) {
            json_t *patch = json_pack("{s:{s:s},s:{s:s,s:i,s:s}}", "metadata", "resourceVersion", rv ? rv : "", "spec",
                                      "holderIdentity", c->id, "leaseDurationSeconds", c->lease_s, "renewTime", mt);
            if (!mine) {
                json_object_set_new(json_object_get(patch, "spec"), "acquireTime", json_string(mt));
                json_object_set_new(json_object_get(patch, "spec"), "leaseTransitions",
                                    json_integer(json_integer_value(json_object_get(spec, "leaseTransitions")) + 1));
            }
            json_t *resp = NULL;
            rc = gs_kube_do(c->k, "PATCH", path, "application/merge-patch+json", patch, &st, &resp, &e);
            json_decref(patch);
            json_decref(resp);
            if (rc == 0 && st == 200) {
                c->leader = true;
                c->last_renew_ok = now;
                if (!mine) c->lease_transitions++;
            } else {
                c->leader = false; /* 409: someone else renewed or took it first */
            }
        } else {
            c->leader = false;
        }
    } else {
        /* API unreachable: keep acting only while our last renewal is fresh enough that no
         * other replica can have taken over. */
        if (c->leader && now - c->last_renew_ok > 1000 * c->lease_s * 2 / 3) c->leader = false;
    }
    json_decref(lease);
    if (was != c->leader)
        gs_log_info(c->leader ? "became leader" : "not leader", "id=%s lease=%s/%s", c->id, c->lease_ns, c->lease_name);
}

static void lease_release(ctl *c) {
    if (!c->leader) return;
    char path[512];
    snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", c->lease_ns, c->lease_name);
    json_t *patch = json_pack("{s:{s:s,s:i}}", "spec", "holderIdentity", "", "leaseDurationSeconds", 1);
    gs_error e;
    if (gs_kube_merge_patch(c->k, path, patch, NULL, &e) == 0) gs_log_info("lease released", "id=%s", c->id);
    json_decref(patch);
    c->leader = false;
}

/* ---- queue -> replicas (KEDA: desired = ceil(metric / target), activation, cooldown) ---- */

static void scale_tick(ctl *c, int64_t now) {
    for (int i = 0; i < c->cfg.nscalers; i++) {
        const gs_scaler *sc = &c->cfg.scalers[i];
        scaler_state *s = &c->ss[i];
        if (now - s->last_poll < sc->polling_interval) continue;
        s->last_poll = now;
        gs_informer *wl = sc->target_kind == GS_TARGET_STATEFULSET ? c->stss : c->deps;
        const json_t *obj = gs_informer_get(wl, sc->ns, sc->target_name);
        if (!obj) {
            gs_log_warn("scale target not found", "scaler=%s/%s target=%s", sc->ns, sc->name, sc->target_name);
            continue;
        }
        s->actual = (int32_t)json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas"));
        int32_t ready = (int32_t)json_integer_value(json_object_get(json_object_get(obj, "status"), "readyReplicas"));
        gs_scale_reading rd[GS_MAX_TRIGGERS];
        for (int t = 0; t < sc->ntriggers; t++) {
            gs_error qe;
            gs_error_clear(&qe);
            rd[t].ok = s->open[t] && gs_queue_read(&s->q[t], &rd[t].value_milli, &qe) == 0;
            if (!rd[t].ok) {
                rd[t].value_milli = 0;
                s->failures++;
            }
        }
        if (rd[0].ok) s->len = rd[0].value_milli / 1000;
        gs_scale_input in;
        memset(&in, 0, sizeof in);
        in.now = now;
        in.readings = rd;
        in.current = s->actual;
        in.ready = ready < s->actual ? ready : s->actual;
        gs_scale_decision dec;
        gs_error se;
        if (gs_scale_step(sc, &s->st, &in, &dec, &se)) {
            gs_log_error("scale step refused", "scaler=%s/%s err=\"%s\"", sc->ns, sc->name, se.msg);
            continue;
        }
        int32_t desired = dec.desired;
        int64_t len = s->len;
        const gs_trigger *t = &sc->triggers[dec.trigger >= 0 ? dec.trigger : 0];
        s->desired = desired;
        if (desired == s->actual) continue;
        c->decisions++;
        gs_error e;
        const char *res = sc->target_kind == GS_TARGET_STATEFULSET ? "statefulsets" : "deployments";
        if (gs_kube_scale_set(c->k, res, sc->ns, sc->target_name, desired, &e)) {
            gs_log_error("scale failed", "scaler=%s/%s err=\"%s\"", sc->ns, sc->name, e.msg);
            continue;
        }
        c->scale_ops++;
        char msg[256];
        snprintf(msg, sizeof msg, "gpuscale: queue %lld, target %lld per replica (%s): replicas %d -> %d",
                 (long long)len, (long long)(t->target_milli / 1000), gs_scale_reason_name(dec.reason), s->actual, desired);
        gs_log_info("scaled", "scaler=%s/%s from=%d to=%d queue=%lld", sc->ns, sc->name, s->actual, desired, (long long)len);
        gs_kube_event(c->k, sc->target_kind == GS_TARGET_STATEFULSET ? "apps/v1" : "apps/v1",
                      sc->target_kind == GS_TARGET_STATEFULSET ? "StatefulSet" : "Deployment", sc->ns, sc->target_name,
                      "", "Normal", desired > s->actual ? "ScaledUp" : "ScaledDown", msg, &e);
        s->actual = desired;
    }
}

/* ---- capacity: pending GPU demand vs free capacity on our nodes -> launches ---- */

static const char *node_pool(const json_t *node) {
    return json_string_value(json_object_get(json_object_get(json_object_get(node, "metadata"), "labels"), "gpuscale.dev/pool"));
}

static bool node_usable(const json_t *node) {
    return !json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")) &&
           !json_object_get(json_object_get(node, "metadata"), "deletionTimestamp");
}

static bool pod_live(const json_t *pod) {
    const char *ph = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    return !(ph && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0));
}

/* Units of resource res one node of type t offers in pool p, or 0 when it cannot. */
static int64_t type_units(const gs_pool *p, const gs_itype *t, const char *res, int64_t per_pod) {
    if (t->gpus <= 0 || t->gpu_model < 0) return 0;
    const gs_gpu_model *m = gs_gpu_get(t->gpu_model);
    if (strcmp(res, "nvidia.com/gpu") == 0) {
        if (p->sharing == GS_SHARE_MIG) return 0;
        return t->gpus >= per_pod ? t->gpus : 0;
    }
    if (p->sharing != GS_SHARE_MIG || !m || !gs_gpu_has_mig(m)) return 0;
    int pi = gs_mig_profile_find(m, res + strlen("nvidia.com/mig-"));
    if (pi < 0 || !gs_pool_allows_profile(p, m->profiles[pi].name)) return 0;
    return (int64_t)t->gpus * m->profiles[pi].max_count;
}

static void build_layout(const gs_itype *t, const char *res, gs_launch_req *req) {
    req->ngpus = (uint8_t)(t->gpus > GS_NODE_MAX_GPUS ? GS_NODE_MAX_GPUS : t->gpus);
    const gs_gpu_model *m = gs_gpu_get(t->gpu_model);
    int pi = strncmp(res, "nvidia.com/mig-", 15) == 0 && m ? gs_mig_profile_find(m, res + 15) : -1;
    for (int g = 0; g < req->ngpus; g++) {
        gs_gpu_state *s = &req->gpus[g];
        memset(s, 0, sizeof *s);
        if (pi < 0) continue;
        s->mode = GS_GPUMODE_MIG;
        for (int n = 0; n < m->profiles[pi].max_count && s->nparts < GS_GPU_MAX_PARTS; n++) {
            int st = gs_mig_best_start(m, s->parts, s->nparts, pi);
            if (st < 0) break;
            s->parts[s->nparts].profile = (int8_t)pi;
            s->parts[s->nparts].start = (uint8_t)st;
            s->nparts++;
        }
    }
    if (pi >= 0) snprintf(req->mig_config, sizeof req->mig_config, "all-%s", m->profiles[pi].name);
}

static void random_suffix(char *buf, size_t n) {
    unsigned char b[4] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(b, 1, sizeof b, f) != sizeof b) b[0] = (unsigned char)mono_ms();
        fclose(f);
    }
    snprintf(buf, n, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

static void record_latency(ctl *c, const char *pool, const char *res) {
    /* Every pending pod of this (pool, resource) whose first sighting has not been counted:
     * the time from seeing it Pending to this launch request. */
    const char *key;
    json_t *v;
    void *tmp;
    int64_t now = mono_ms();
    json_object_foreach_safe(c->pending_seen, tmp, key, v) {
        const char *slash = strchr(key, '/');
        if (!slash) continue;
        char ns[GS_NAME_LEN];
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
        const json_t *pod = gs_informer_get(c->pods, ns, slash + 1);
        if (!pod) continue;
        const json_t *spec = json_object_get(pod, "spec");
        if (!json_object_get(json_object_get(spec, "gpu"), res)) continue;
        const char *pp = json_string_value(json_object_get(spec, "pool"));
        if (pp && strcmp(pp, pool) != 0) continue;
        if (json_integer_value(v) < 0) continue; /* counted already */
        if (c->nlat < LAT_SAMPLES) c->lat[c->nlat++] = (double)(now - json_integer_value(v)) / 1000.0;
        json_object_set_new(c->pending_seen, key, json_integer(-1)); /* kept until bound or deleted */
    }
}

typedef struct demand {
    char pool[GS_NAME_LEN];
    char res[64];
    int64_t need, free, max_per_pod;
} demand;

static int find_demand(demand *d, int n, const char *pool, const char *res) {
    for (int i = 0; i < n; i++)
        if (strcmp(d[i].pool, pool) == 0 && strcmp(d[i].res, res) == 0) return i;
    return -1;
}

/* The pool a pending pod goes to: its nodeSelector's, else the highest-weight pool that has a
 * type offering the resource. */
static int pool_for(ctl *c, const char *sel, const char *res, int64_t per_pod) {
    if (sel) return gs_config_find_pool(&c->cfg, sel);
    int best = -1;
    for (int p = 0; p < c->cfg.npools; p++) {
        bool ok = false;
        for (int t = 0; t < c->cat.n && !ok; t++)
            ok = gs_pool_allows(&c->cfg.pools[p], &c->cat.types[t], GS_CAP_ON_DEMAND, NULL) &&
                 type_units(&c->cfg.pools[p], &c->cat.types[t], res, per_pod) > 0;
        if (ok && (best < 0 || c->cfg.pools[p].weight > c->cfg.pools[best].weight)) best = p;
    }
    return best;
}

static int capacity_tick(ctl *c, int64_t now, demand *dm, int *ndm_out) {
    int ndm = 0;
    const int maxd = 256;
    /* demand */
    const char *key;
    json_t *pod;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->pods), key, pod) {
        const json_t *spec = json_object_get(pod, "spec");
        if (json_object_get(spec, "nodeName") || !pod_live(pod)) continue;
        if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp")) continue;
        const char *res;
        json_t *v;
        json_object_foreach(json_object_get(spec, "gpu"), res, v) {
            int64_t amt = json_integer_value(v);
            int p = pool_for(c, json_string_value(json_object_get(spec, "pool")), res, amt);
            if (p < 0) continue;
            int d = find_demand(dm, ndm, c->cfg.pools[p].name, res);
            if (d < 0) {
                if (ndm >= maxd) continue;
                d = ndm++;
                memset(&dm[d], 0, sizeof dm[d]);
                snprintf(dm[d].pool, sizeof dm[d].pool, "%s", c->cfg.pools[p].name);
                snprintf(dm[d].res, sizeof dm[d].res, "%s", res);
            }
            dm[d].need += amt;
            if (amt > dm[d].max_per_pod) dm[d].max_per_pod = amt;
        }
    }
    *ndm_out = ndm;
    /* supply: our usable nodes' allocatable minus what bound pods hold */
    json_t *used = json_object();
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->pods), key, pod) {
        const char *nn = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
        if (!nn || !pod_live(pod)) continue;
        const char *res;
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(pod, "spec"), "gpu"), res, v) {
            char k2[400];
            snprintf(k2, sizeof k2, "%s|%s", nn, res);
            json_object_set_new(used, k2, json_integer(json_integer_value(json_object_get(used, k2)) + json_integer_value(v)));
        }
    }
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
        const char *pool = node_pool(node);
        if (!pool || !node_usable(node)) continue;
        const char *res;
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(node, "status"), "allocatable"), res, v) {
            int d = find_demand(dm, ndm, pool, res);
            if (d < 0) continue;
            char k2[400];
            snprintf(k2, sizeof k2, "%s|%s", key, res);
            int64_t f = json_integer_value(v) - json_integer_value(json_object_get(used, k2));
            if (f > 0) dm[d].free += f;
        }
    }
    json_decref(used);
    /* launches in flight whose Node is not visible yet */
    for (int i = 0; i < c->ninf;) {
        if (gs_informer_get(c->nodes, NULL, c->inf[i].node) || now - c->inf[i].at > 300000) {
            c->inf[i] = c->inf[--c->ninf];
            continue;
        }
        int d = find_demand(dm, ndm, c->inf[i].pool, c->inf[i].res);
        if (d >= 0) dm[d].free += c->inf[i].units;
        i++;
    }
    /* launches */
    for (int d = 0; d < ndm; d++) {
        int64_t deficit = dm[d].need - dm[d].free;
        if (deficit <= 0) continue;
        int pi = gs_config_find_pool(&c->cfg, dm[d].pool);
        const gs_pool *p = &c->cfg.pools[pi];
        int best = -1;
        int64_t best_cost = 0, best_units = 0;
        gs_capacity best_cap = GS_CAP_ON_DEMAND;
        unsigned caps = gs_pool_capacity_mask(p);
        for (int t = 0; t < c->cat.n; t++) {
            const gs_itype *ty = &c->cat.types[t];
            for (int cp = 0; cp < GS_CAP__N; cp++) {
                if (!(caps & (1u << cp))) continue;
                gs_usd_u price = gs_itype_price(ty, (gs_capacity)cp);
                if (price <= 0 || !gs_pool_allows(p, ty, (gs_capacity)cp, NULL)) continue;
                int64_t u = type_units(p, ty, dm[d].res, dm[d].max_per_pod);
                if (u <= 0) continue;
                int64_t nodes = (deficit + u - 1) / u;
                int64_t cost = nodes * price;
                if (best < 0 || cost < best_cost || (cost == best_cost && u < best_units)) {
                    best = t;
                    best_cost = cost;
                    best_units = u;
                    best_cap = (gs_capacity)cp;
                }
            }
        }
        if (best < 0) {
            gs_log_warn("no instance type fits", "pool=%s resource=%s", p->name, dm[d].res);
            continue;
        }
        int64_t nodes = (deficit + best_units - 1) / best_units;
        if (p->limit_nodes > 0) {
            int64_t have = c->ninf;
            json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
                const char *np = node_pool(node);
                if (np && strcmp(np, p->name) == 0) have++;
            }
            if (have + nodes > p->limit_nodes) nodes = p->limit_nodes - have;
        }
        for (int64_t n = 0; n < nodes && c->ninf < MAX_INFLIGHT; n++) {
            gs_launch_req req;
            memset(&req, 0, sizeof req);
            char sfx[16];
            random_suffix(sfx, sizeof sfx);
            snprintf(req.node_name, sizeof req.node_name, "gs-%s-%s", p->name, sfx);
            snprintf(req.itype, sizeof req.itype, "%s", c->cat.types[best].name);
            snprintf(req.pool, sizeof req.pool, "%s", p->name);
            req.capacity = best_cap;
            for (int l = 0; l < p->nlabels && req.nlabels < GS_MAX_LABELS; l++) req.labels[req.nlabels++] = p->labels[l];
            for (int l = 0; l < p->ntaints; l++) req.taints[req.ntaints++] = p->taints[l];
            build_layout(&c->cat.types[best], dm[d].res, &req);
            gs_instance in;
            gs_error e;
            gs_error_clear(&e);
            c->decisions++;
            record_latency(c, p->name, dm[d].res);
            if (c->prov.ops->launch(c->prov.self, &req, &in, &e)) {
                c->launch_errors++;
                gs_log_error("launch failed", "pool=%s type=%s err=\"%s\"", p->name, req.itype, e.msg);
                break;
            }
            c->launches++;
            inflight *f = &c->inf[c->ninf++];
            snprintf(f->node, sizeof f->node, "%s", req.node_name);
            snprintf(f->pool, sizeof f->pool, "%s", p->name);
            snprintf(f->res, sizeof f->res, "%s", dm[d].res);
            f->units = best_units;
            f->at = now;
            char msg[700];
            snprintf(msg, sizeof msg, "gpuscale launched %s (%s, %s) for %lld pending %s", req.node_name, req.itype,
                     gs_capacity_name(best_cap), (long long)deficit, dm[d].res);
            gs_log_info("launched", "node=%s type=%s capacity=%s pool=%s resource=%s deficit=%lld mig=%s", req.node_name,
                        req.itype, gs_capacity_name(best_cap), p->name, dm[d].res, (long long)deficit,
                        req.mig_config[0] ? req.mig_config : "-");
            gs_kube_event(c->k, "v1", "Node", "", req.node_name, "", "Normal", "Launched", msg, &e);
        }
    }
    return 0;
}

/* ---- consolidation: empty nodes -> cordon -> terminate ---- */

static bool annotated(const json_t *obj, const char *k) {
    const char *v = json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), k));
    return v && strcmp(v, "true") == 0;
}

static void consolidate_tick(ctl *c, int64_t now, const demand *dm, int ndm) {
    json_t *busy = json_object();
    const char *key;
    json_t *pod;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->pods), key, pod) {
        const char *nn = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
        if (nn && pod_live(pod)) json_object_set_new(busy, nn, json_true());
    }
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
        const char *pool = node_pool(node);
        if (!pool) continue;
        int pi = gs_config_find_pool(&c->cfg, pool);
        if (pi < 0) continue;
        if (json_object_get(busy, key)) {
            json_object_del(c->empty_since, key);
            continue;
        }
        /* pending pods of this pool still want capacity: the scheduler will use this node */
        bool wanted = false;
        for (int d = 0; d < ndm; d++)
            if (strcmp(dm[d].pool, pool) == 0 && dm[d].need > 0) wanted = true;
        if (wanted) {
            json_object_del(c->empty_since, key);
            continue;
        }
        json_t *since = json_object_get(c->empty_since, key);
        if (!since) {
            json_object_set_new(c->empty_since, key, json_integer(now));
            continue;
        }
        if (now - json_integer_value(since) < c->cfg.pools[pi].consolidate_after) continue;
        if (annotated(node, "gpuscale.dev/do-not-disrupt") || annotated(node, "karpenter.sh/do-not-disrupt")) continue;
        gs_error e;
        gs_error_clear(&e);
        char path[400];
        snprintf(path, sizeof path, "/api/v1/nodes/%s", key);
        json_t *cordon = json_pack("{s:{s:b}}", "spec", "unschedulable", 1);
        int rc = gs_kube_merge_patch(c->k, path, cordon, NULL, &e);
        json_decref(cordon);
        if (rc && rc != GS_ENOENT) {
            gs_log_warn("cordon failed", "node=%s err=\"%s\"", key, e.msg);
            continue;
        }
        const char *pid = json_string_value(json_object_get(json_object_get(node, "spec"), "providerID"));
        char id[GS_INSTANCE_ID];
        snprintf(id, sizeof id, "%s", pid ? pid : key);
        c->decisions++;
        gs_kube_event(c->k, "v1", "Node", "", key, "", "Normal", "Consolidated",
                      "gpuscale: node empty past consolidateAfter: cordoned and terminated", &e);
        if (c->prov.ops->terminate(c->prov.self, id, &e)) {
            gs_log_error("terminate failed", "node=%s id=%s err=\"%s\"", key, id, e.msg);
            continue;
        }
        c->terminations++;
        gs_log_info("terminated", "node=%s id=%s pool=%s", key, id, pool);
        json_object_del(c->empty_since, key);
    }
    json_decref(busy);
}

/* ---- orphans: instances the provider has that no Node names ---- */

static void orphan_tick(ctl *c, int64_t now) {
    if (now - c->last_orphan_check < 30000 && c->last_orphan_check) return;
    c->last_orphan_check = now;
    gs_instance *ins = NULL;
    int32_t n = 0;
    gs_error e;
    if (c->prov.ops->list(c->prov.self, &ins, &n, &e)) {
        gs_log_warn("provider list failed", "err=\"%s\"", e.msg);
        return;
    }
    json_t *seen = json_object();
    for (int32_t i = 0; i < n; i++) {
        if (gs_informer_get(c->nodes, NULL, ins[i].node_name)) continue;
        bool inflight_launch = false;
        for (int j = 0; j < c->ninf; j++) inflight_launch |= strcmp(c->inf[j].node, ins[i].node_name) == 0;
        if (inflight_launch) continue;
        json_object_set_new(seen, ins[i].id, json_true());
        json_t *first = json_object_get(c->orphans, ins[i].id);
        if (!first) {
            gs_log_warn("orphan instance", "id=%s node=%s type=%s grace_ms=%lld", ins[i].id, ins[i].node_name, ins[i].itype,
                        (long long)c->orphan_grace_ms);
            json_object_set_new(c->orphans, ins[i].id, json_integer(now));
        } else if (now - json_integer_value(first) >= c->orphan_grace_ms) {
            if (c->prov.ops->terminate(c->prov.self, ins[i].id, &e) == 0) {
                c->terminations++;
                gs_log_info("orphan terminated", "id=%s", ins[i].id);
            }
        }
    }
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(c->orphans, tmp, k, v) if (!json_object_get(seen, k)) json_object_del(c->orphans, k);
    json_decref(seen);
    free(ins);
}

/* ---- metrics ---- */

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile_of(const double *v, int n, double q) {
    if (n == 0) return 0;
    double *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) return 0;
    memcpy(tmp, v, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_d);
    size_t i = (size_t)(q * (n - 1) + 0.5);
    double r = tmp[i];
    free(tmp);
    return r;
}

static void publish_metrics(ctl *c, int64_t now) {
    size_t cap = 65536;
    char *b = malloc(cap);
    if (!b) return;
    size_t n = 0;
#define P(...) do { int w_ = snprintf(b + n, cap - n, __VA_ARGS__); if (w_ > 0 && (size_t)w_ < cap - n) n += (size_t)w_; } while (0)
    P("# HELP gpuscale_leader 1 when this replica holds the lease.\n# TYPE gpuscale_leader gauge\ngpuscale_leader %d\n", c->leader);
    P("# TYPE gpuscale_decisions_total counter\ngpuscale_decisions_total %lld\n", (long long)c->decisions);
    P("# TYPE gpuscale_launches_total counter\ngpuscale_launches_total %lld\n", (long long)c->launches);
    P("# TYPE gpuscale_launch_errors_total counter\ngpuscale_launch_errors_total %lld\n", (long long)c->launch_errors);
    P("# TYPE gpuscale_terminations_total counter\ngpuscale_terminations_total %lld\n", (long long)c->terminations);
    P("# TYPE gpuscale_scale_operations_total counter\ngpuscale_scale_operations_total %lld\n", (long long)c->scale_ops);
    P("# TYPE gpuscale_queue_length gauge\n# TYPE gpuscale_desired_replicas gauge\n# TYPE gpuscale_actual_replicas gauge\n");
    for (int i = 0; i < c->cfg.nscalers; i++) {
        const gs_scaler *s = &c->cfg.scalers[i];
        P("gpuscale_queue_length{scaler=\"%s\",namespace=\"%s\"} %lld\n", s->name, s->ns, (long long)c->ss[i].len);
        P("gpuscale_desired_replicas{scaler=\"%s\",namespace=\"%s\"} %d\n", s->name, s->ns, c->ss[i].desired);
        P("gpuscale_actual_replicas{scaler=\"%s\",namespace=\"%s\"} %d\n", s->name, s->ns, c->ss[i].actual);
    }
    /* $/hour by pool (and project = pool's label gpuscale.dev/project when set) */
    P("# TYPE gpuscale_cost_usd_per_hour gauge\n");
    double total_rate = 0;
    for (int p = 0; p < c->cfg.npools; p++) {
        double rate = 0;
        int nodes = 0;
        const char *key;
        json_t *node;
        json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
            const char *np = node_pool(node);
            if (!np || strcmp(np, c->cfg.pools[p].name) != 0) continue;
            const json_t *l = json_object_get(json_object_get(node, "metadata"), "labels");
            int t = gs_catalog_find(&c->cat, json_string_value(json_object_get(l, "node.kubernetes.io/instance-type")) ?
                                                 json_string_value(json_object_get(l, "node.kubernetes.io/instance-type")) : "");
            const char *ct = json_string_value(json_object_get(l, "karpenter.sh/capacity-type"));
            if (t >= 0)
                rate += (double)gs_itype_price(&c->cat.types[t], ct && strcmp(ct, "spot") == 0 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND) / 1e6;
            nodes++;
        }
        total_rate += rate;
        P("gpuscale_cost_usd_per_hour{pool=\"%s\"} %.6f\ngpuscale_nodes{pool=\"%s\"} %d\n", c->cfg.pools[p].name, rate,
          c->cfg.pools[p].name, nodes);
    }
    if (c->last_spend) c->spend_usd += total_rate * (double)(now - c->last_spend) / 3600000.0;
    c->last_spend = now;
    P("# TYPE gpuscale_spend_usd_total counter\ngpuscale_spend_usd_total %.6f\n", c->spend_usd);
    P("# TYPE gpuscale_reconcile_seconds histogram\n");
    int64_t cum = 0;
    for (int i = 0; i < 12; i++) {
        cum += c->hist[i];
        P("gpuscale_reconcile_seconds_bucket{le=\"%g\"} %lld\n", HIST_LE[i], (long long)cum);
    }
    P("gpuscale_reconcile_seconds_bucket{le=\"+Inf\"} %lld\ngpuscale_reconcile_seconds_sum %.6f\n"
      "gpuscale_reconcile_seconds_count %lld\n", (long long)c->rec_count, c->rec_sum, (long long)c->rec_count);
    P("# TYPE gpuscale_pending_to_launch_seconds summary\ngpuscale_pending_to_launch_seconds{quantile=\"0.5\"} %.3f\n"
      "gpuscale_pending_to_launch_seconds{quantile=\"0.99\"} %.3f\ngpuscale_pending_to_launch_seconds_count %d\n",
      quantile_of(c->lat, c->nlat, 0.5), quantile_of(c->lat, c->nlat, 0.99), c->nlat);
    int nr = c->nrec < LAT_SAMPLES ? c->nrec : LAT_SAMPLES;
    P("# TYPE gpuscale_reconcile_quantile_seconds gauge\ngpuscale_reconcile_quantile_seconds{quantile=\"0.5\"} %.6f\n"
      "gpuscale_reconcile_quantile_seconds{quantile=\"0.99\"} %.6f\n",
      quantile_of(c->rec, nr, 0.5), quantile_of(c->rec, nr, 0.99));
    P("# TYPE gpuscale_cached_objects gauge\ngpuscale_cached_objects{kind=\"pods\"} %zu\n"
      "gpuscale_cached_objects{kind=\"nodes\"} %zu\n", json_object_size(gs_informer_store(c->pods)),
      json_object_size(gs_informer_store(c->nodes)));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    P("# TYPE gpuscale_peak_rss_bytes gauge\ngpuscale_peak_rss_bytes %lld\n", (long long)ru.ru_maxrss * 1024);
#undef P
    if (c->http) gs_http_set_metrics(c->http, b);
    free(b);
}

/* ---- the command ---- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpuscale run --config FILE... [--kubeconfig FILE] [--context NAME]\n"
            "                    [--provider kube-fake|exec] [--exec-launch CMD --exec-terminate CMD --exec-list CMD]\n"
            "                    [--id NAME] [--lease-namespace NS] [--lease-name NAME] [--lease-duration SECONDS]\n"
            "                    [--metrics-addr ADDR] [--metrics-port PORT] [--interval MS] [--orphan-grace DURATION]\n"
            "\n"
            "Runs the controller: reads each QueueScaler's queue and scales its workload; launches the\n"
            "cheapest fitting GPU nodes for Pending GPU pods (MIG layouts via nvidia.com/mig.config);\n"
            "terminates gpuscale's nodes once empty for the pool's consolidateAfter. Only the holder of\n"
            "the coordination.k8s.io/v1 Lease acts. Without --kubeconfig, the in-cluster service account\n"
            "is used. /healthz, /readyz and /metrics are served on ADDR:PORT (default 127.0.0.1:8080;\n"
            "port 0 picks one and logs it). SIGTERM releases the lease and exits 0.\n"
            "\n"
            "  --provider kube-fake   nodes are Node objects made Ready by gpuscale itself (tests, demos)\n"
            "  --provider exec        user commands with JSON on stdin/stdout (docs/providers.md)\n"
            "  --id NAME              leader-election identity (default: hostname-pid)\n"
            "  --lease-namespace NS   default: the kubeconfig's namespace\n"
            "  --lease-duration S     default 15\n"
            "  --interval MS          tick period, default 500\n"
            "  --orphan-grace D       provider instances without a Node are terminated after D (default 10m)\n");
}

int gs_cmd_run(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        usage(stdout);
        return GS_EXIT_OK;
    }
    const char *kubeconfig = NULL, *context = NULL, *provider = "kube-fake", *id = NULL, *lease_ns = NULL;
    const char *lease_name = "gpuscale-leader", *maddr = "127.0.0.1";
    const char *ex_launch = NULL, *ex_term = NULL, *ex_list = NULL;
    const char *configs[64];
    int nconfigs = 0;
    long lease_s = 15, mport = 8080, interval = 500;
    gs_ms orphan_grace = 600000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && (v ? 1 : (gs_cli_usage_error("run", "%s needs a value", name), 0)))
        if (strcmp(a, "--kubeconfig") == 0 || strcmp(a, "--context") == 0 || strcmp(a, "--provider") == 0 ||
            strcmp(a, "--id") == 0 || strcmp(a, "--lease-namespace") == 0 || strcmp(a, "--lease-name") == 0 ||
            strcmp(a, "--lease-duration") == 0 || strcmp(a, "--metrics-addr") == 0 || strcmp(a, "--metrics-port") == 0 ||
            strcmp(a, "--interval") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--exec-launch") == 0 ||
            strcmp(a, "--exec-terminate") == 0 || strcmp(a, "--exec-list") == 0 || strcmp(a, "--orphan-grace") == 0) {
            if (!v) return gs_cli_usage_error("run", "%s needs a value", a);
            i++;
            char *end = NULL;
            if (strcmp(a, "--kubeconfig") == 0) kubeconfig = v;
            else if (strcmp(a, "--context") == 0) context = v;
            else if (strcmp(a, "--provider") == 0) provider = v;
            else if (strcmp(a, "--id") == 0) id = v;
            else if (strcmp(a, "--lease-namespace") == 0) lease_ns = v;
            else if (strcmp(a, "--lease-name") == 0) lease_name = v;
            else if (strcmp(a, "--metrics-addr") == 0) maddr = v;
            else if (strcmp(a, "--exec-launch") == 0) ex_launch = v;
            else if (strcmp(a, "--exec-terminate") == 0) ex_term = v;
            else if (strcmp(a, "--exec-list") == 0) ex_list = v;
            else if (strcmp(a, "--orphan-grace") == 0) {
                const char *why = NULL;
                if (gs_parse_duration(v, &orphan_grace, &why)) return gs_cli_usage_error("run", "--orphan-grace: %s", why ? why : "bad duration");
            } else if (strcmp(a, "--config") == 0) {
                if (nconfigs >= 64) return gs_cli_usage_error("run", "too many --config files");
                configs[nconfigs++] = v;
            } else {
                errno = 0;
                long x = strtol(v, &end, 10);
                if (errno || !end || *end || x < 0) return gs_cli_usage_error("run", "%s: not a number: '%s'", a, v);
                if (strcmp(a, "--lease-duration") == 0) lease_s = x;
                else if (strcmp(a, "--metrics-port") == 0) mport = x;
                else interval = x;
            }
        } else {
            return gs_cli_usage_error("run", "unknown argument '%s' (see gpuscale run --help)", a);
        }
#undef OPT
    }
    if (nconfigs == 0) return gs_cli_usage_error("run", "--config FILE is required (GPUPool and QueueScaler objects)");
    if (strcmp(provider, "kube-fake") != 0 && strcmp(provider, "exec") != 0)
        return gs_cli_usage_error("run", "--provider must be kube-fake or exec (got '%s')", provider);
    if (strcmp(provider, "exec") == 0 && (!ex_launch || !ex_term || !ex_list))
        return gs_cli_usage_error("run", "--provider exec needs --exec-launch, --exec-terminate and --exec-list");
    if (lease_s < 2 || lease_s > 3600) return gs_cli_usage_error("run", "--lease-duration must be 2..3600 seconds");
    if (mport > 65535) return gs_cli_usage_error("run", "--metrics-port must be 0..65535");
    if (interval < 10 || interval > 600000) return gs_cli_usage_error("run", "--interval must be 10..600000 ms");

    static ctl C; /* large (latency samples): not on the stack */
    ctl *c = &C;
    memset(c, 0, sizeof *c);
    int exit_code = GS_EXIT_FAIL;
    gs_error e;
    gs_error_clear(&e);
    char ebuf[1024];
    gs_catalog_init(&c->cat);
    gs_kube_config kc;
    memset(&kc, 0, sizeof kc);
    if (gs_catalog_load(&c->cat, NULL, &e) || gs_config_load_files(&c->cfg, configs, nconfigs, &c->cat, &e)) {
        fprintf(stderr, "gpuscale run: %s\n", gs_error_format(&e, ebuf, sizeof ebuf));
        gs_catalog_free(&c->cat);
        return GS_EXIT_FAIL;
    }
    int rc = kubeconfig ? gs_kubeconfig_load(kubeconfig, context, &kc, &e)
                        : gs_kube_incluster(getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT"),
                                            GS_KUBE_SA_DIR, &kc, &e);
    if (rc == 0) rc = gs_kube_new(&kc, 5000, &c->k, &e);
    gs_kube_config_free(&kc);
    if (rc) {
        fprintf(stderr, "gpuscale run: %s\n", gs_error_format(&e, ebuf, sizeof ebuf));
        goto out;
    }
    if (id) snprintf(c->id, sizeof c->id, "%s", id);
    else {
        char host[64] = "gpuscale";
        gethostname(host, sizeof host - 1);
        snprintf(c->id, sizeof c->id, "%s-%ld", host, (long)getpid());
    }
    snprintf(c->lease_ns, sizeof c->lease_ns, "%s", lease_ns ? lease_ns : gs_kube_cfg(c->k)->ns);
    snprintf(c->lease_name, sizeof c->lease_name, "%s", lease_name);
    c->lease_s = (int)lease_s;
    c->orphan_grace_ms = orphan_grace;
    c->tick_ms = interval;
    c->empty_since = json_object();
    c->pending_seen = json_object();
    c->orphans = json_object();
    c->ss = calloc((size_t)(c->cfg.nscalers ? c->cfg.nscalers : 1), sizeof *c->ss);
    if (c->cfg.npools == 0) {
        fprintf(stderr, "gpuscale run: the configuration has no GPUPool\n");
        goto out;
    }
    for (int i = 0; c->ss && i < c->cfg.nscalers; i++) {
        gs_scale_init(&c->ss[i].st);
        for (int t = 0; t < c->cfg.scalers[i].ntriggers; t++) {
            if (gs_queue_open(&c->ss[i].q[t], &c->cfg.scalers[i].triggers[t], NULL, &e)) {
                fprintf(stderr, "gpuscale run: QueueScaler %s/%s: %s\n", c->cfg.scalers[i].ns, c->cfg.scalers[i].name, e.msg);
                goto out;
            }
            c->ss[i].open[t] = true;
        }
    }
    c->pods = gs_informer_new(c->k, "/api/v1/pods", NULL, trim_pod, pod_event, c);
    c->nodes = gs_informer_new(c->k, "/api/v1/nodes", NULL, trim_node, NULL, NULL);
    c->deps = gs_informer_new(c->k, "/apis/apps/v1/deployments", NULL, trim_workload, NULL, NULL);
    c->stss = gs_informer_new(c->k, "/apis/apps/v1/statefulsets", NULL, trim_workload, NULL, NULL);
    if (!c->ss || !c->pods || !c->nodes || !c->deps || !c->stss) {
        fprintf(stderr, "gpuscale run: out of memory\n");
        goto out;
    }
    if (strcmp(provider, "kube-fake") == 0) rc = gs_kubefake_new(c->k, &c->cat, c->pods, NULL, &c->prov, &e);
    else rc = gs_execprov_new(ex_launch, ex_term, ex_list, 60000, &c->prov, &e);
    if (rc) {
        fprintf(stderr, "gpuscale run: %s\n", gs_error_format(&e, ebuf, sizeof ebuf));
        goto out;
    }
    if (gs_http_start(maddr, (int)mport, &c->http, &e)) {
        fprintf(stderr, "gpuscale run: %s\n", e.msg);
        goto out;
    }
    gs_log_info("gpuscale run started", "id=%s server=%s provider=%s pools=%d scalers=%d metrics=%s:%d lease=%s/%s", c->id,
                gs_kube_cfg(c->k)->server, provider, c->cfg.npools, c->cfg.nscalers, maddr, gs_http_port(c->http),
                c->lease_ns, c->lease_name);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    gs_informer *infs[4] = {c->pods, c->nodes, c->deps, c->stss};
    int64_t last_pub = 0;
    while (!g_stop) {
        int64_t t0 = mono_ms();
        if (gs_informers_poll(infs, 4, 0, &e)) {
            fprintf(stderr, "gpuscale run: %s\n", e.msg);
            goto out;
        }
        bool synced = gs_informer_synced(c->pods) && gs_informer_synced(c->nodes) && gs_informer_synced(c->deps) &&
                      gs_informer_synced(c->stss);
        gs_http_set_ready(c->http, synced);
        lease_tick(c);
        if (synced && c->leader) {
            int64_t now = mono_ms();
            demand dm[256];
            int ndm = 0;
            scale_tick(c, now);
            capacity_tick(c, now, dm, &ndm);
            consolidate_tick(c, now, dm, ndm);
            orphan_tick(c, now);
            double secs = (double)(mono_ms() - now) / 1000.0;
            int b = 0;
            while (b < 12 && secs > HIST_LE[b]) b++;
            if (b < 12) c->hist[b]++;
            c->rec_sum += secs;
            c->rec_count++;
            c->rec[c->nrec++ % LAT_SAMPLES] = secs;
            /* the provider's own periodic work (kube-fake: the fake kubelets) is not part of
             * the decision's latency */
            if (c->prov.ops->tick && c->prov.ops->tick(c->prov.self, &e))
                gs_log_warn("provider tick failed", "err=\"%s\"", e.msg);
        }
        if (mono_ms() - last_pub >= 1000 || g_stop) {
            publish_metrics(c, mono_ms());
            last_pub = mono_ms();
        }
        int64_t spent = mono_ms() - t0;
        int64_t wait = c->tick_ms - spent;
        if (wait > 0 && !g_stop) gs_informers_poll(infs, 4, (int)wait, &e);
    }
    gs_log_info("shutting down", "id=%s signal=TERM", c->id);
    lease_release(c);
    exit_code = GS_EXIT_OK;
out:
    gs_provider_destroy(&c->prov);
    gs_http_stop(c->http);
    gs_informer_free(c->pods);
    gs_informer_free(c->nodes);
    gs_informer_free(c->deps);
    gs_informer_free(c->stss);
    gs_informers_shutdown();
    if (c->ss)
        for (int i = 0; i < c->cfg.nscalers; i++)
            for (int t = 0; t < c->cfg.scalers[i].ntriggers; t++)
                if (c->ss[i].open[t]) gs_queue_close(&c->ss[i].q[t]);
    free(c->ss);
    json_decref(c->empty_since);
    json_decref(c->pending_seen);
    json_decref(c->orphans);
    gs_kube_free(c->k);
    gs_config_free(&c->cfg);
    gs_catalog_free(&c->cat);
    return exit_code;
}
