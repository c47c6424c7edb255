/* gpuscale run: the controller loop against a real cluster (docs/deploy.md).
 *
 * Leader only (a coordination.k8s.io/v1 Lease). At the fast cadence (100 ms): each QueueScaler
 * due by gs_watch_interval (100 ms while its workload is at zero, pollingInterval otherwise)
 * reads its queue and sets replicas through /scale (gs_watch_step -> gs_scale_step with the
 * pending count and the pods' idle flags). Every tick period (--interval), and 100 ms after a
 * GPU pod goes Pending:
 *   - meter_tick (with --ledger, every --meter-interval): meter the registered nodes and their
 *     bound pods over [metered_until, now) into the SQLite ledger, advance the budget trackers,
 *     carry out budget actions (alerts; scaleToMin caps the project's scalers at minReplicas);
 *     resumes at gs_ledger_metered_until after a restart or a leader change (docs/cost.md 5);
 *   - reconf_resume: gpuscale's own cordons no operation of this replica holds (a leader change,
 *     a restart): gpuscale.dev/disruption=reconfigure on a MIG pool's node resumed as a mig_op on
 *     the config its label names; on a time-slicing pool's node left to ts_tick; any gpuscale
 *     cordon of a node whose pool is gone undone (uncordon, annotation removed);
 *   - mig_tick: MIG reconfigurations in progress wait for nvidia.com/mig.config.state;
 *   - ts_tick: time-slicing switches in progress (and nodes whose nvidia.com/device-plugin.config
 *     names a gpuscale config they do not advertise yet: launched ones, an earlier leader's) wait
 *     until the node advertises nvidia.com/gpu.shared = GPUs x replicas, or fail after
 *     --timeslicing-timeout (label removed, uncordon, layout locked for --mig-retry-after);
 *   - capacity_tick: the view (view_build: registered nodes with their layouts as they advertise
 *     them (a time-slicing pool's node time-sliced only as far as its device plugin says:
 *     io/kube/devplugin.h) and what bound
 *     pods hold, pods without GPUs as npods_drainable, launches in flight as not-ready nodes,
 *     nodes being repartitioned in their new layout, nodes gpuscale cordons to consolidate as
 *     schedulable, repacked or otherwise cordoned nodes as draining, GPU pods bound and pending
 *     with their exact specs, one described workload per QueueScaler, empty_since per node, the
 *     budget gate) -> gs_reconcile_step, the step `gpuscale simulate` runs -> its actions:
 *     LAUNCH through the provider (the layout of its CONFIGURE_GPU named in nvidia.com/mig.config
 *     and written to the mig-parted ConfigMap; a time-slicing pool's node labelled
 *     nvidia.com/device-plugin.config, its config written to the device plugin's ConfigMap);
 *     CONFIGURE_GPU of a registered node: MIG through mig_start (ConfigMap + label, node cordoned
 *     with gpuscale.dev/disruption=reconfigure until success), TIMESLICED (switch_modes on)
 *     through ts_start (the whole node, only while no GPU pod is bound: device plugin ConfigMap +
 *     label, cordoned the same way), FRACTIONAL not carried out; BIND: nothing (kube-scheduler
 *     binds; the pod's wait for its launch is timed); the reasons of pods left pending as
 *     NotTriggerScaleUp / BudgetExceeded Warning Events (once per reason);
 *   - consolidate_tick: the same step's DELETE_NODE -> cordon (gpuscale.dev/disruption=
 *     consolidate) -> drain through the Eviction API (a PodDisruptionBudget's 429 is waited for,
 *     never forced) -> terminate, once the step said so on two ticks in a row, never for a
 *     launch in flight or a node being repartitioned, never a node or pod marked
 *     gpuscale.dev/do-not-disrupt or karpenter.sh/do-not-disrupt; a drain the step no longer
 *     asks for is cancelled (uncordon). REPACK_NODE (--repack-headroom) -> make-before-break:
 *     the replacement capacity the step found is checked, the node cordoned
 *     (gpuscale.dev/disruption=repack), its replicas evicted one at a time, each once the
 *     previous one's replacement is Ready; the step deletes the node once empty;
 *   - orphan_tick: provider instances without a Node are terminated after --orphan-grace.
 * SIGTERM/SIGINT: finish the tick, release the Lease, exit 0.
 *
 * Scaling and the step: the step is given the workloads with no_scale, so replica counts keep
 * one writer, the 100 ms fast path above (which runs the same gs_scale_step); the step emits
 * no CREATE_POD/DELETE_POD of its own. A repack's CREATE_POD/BIND pairs only name the
 * replacement capacity: the workload's controller makes each replacement after its eviction. */
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
#include "cli/costgov.h"
#include "io/catalog_load.h"
#include "io/config/config.h"
#include "io/queue/queue.h"
#include "io/queue/watch.h"
#include "io/cloud/exec.h"
#include "io/cloud/kubefake.h"
#include "io/http/http.h"
#include "io/kube/devplugin.h"
#include "io/kube/informer.h"
#include "io/kube/kpod.h"
#include "io/kube/kube.h"
#include "io/kube/yamljson.h"
#include "io/log.h"
#include "model/gpu.h"
#include "model/cluster.h"
#include "io/ledger/ledger.h"
#include "cli/run_envs.h"
#include "cli/run_crs.h"
#include "policy/budget.h"
#include "policy/mig.h"
#include "policy/pack.h"
#include "policy/reconcile.h"
#include "policy/scale.h"

#define MAX_INFLIGHT 4096
#define GS_RUN_MAX_PROJECTS 256
#define GS_RUN_MAX_BUDGET_ACTS 64
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

typedef struct inflight { /* launched, Node not registered yet */
    char node[GS_OBJ_NAME];
    int32_t pool;             /* config pool index */
    int32_t itype;            /* catalog index */
    gs_capacity capacity;
    uint8_t ngpus;
    gs_gpu_state gpus[GS_NODE_MAX_GPUS]; /* the layout it was launched with */
    int64_t at;
} inflight;

#define MAX_MIG_OPS 64
typedef struct mig_op { /* nvidia.com/mig.config set on a registered node, waiting for its state */
    char node[GS_OBJ_NAME];
    char config[64];
    int64_t at;
    bool cordoned;            /* we cordoned it (uncordon when done) */
    bool done;                /* applied (or failed) and uncordoned: kept until the cache shows the uncordon */
    bool failed;              /* done by a failure: the node keeps its old layout */
    uint8_t ngpus;
    gs_gpu_state gpus[GS_NODE_MAX_GPUS]; /* the layout asked for */
} mig_op;

#define MAX_TS_OPS 256
typedef struct ts_op { /* nvidia.com/device-plugin.config set on a registered node, waiting for its replicas */
    char node[GS_OBJ_NAME];
    char key[64];             /* the device plugin config (GS_DP_KEY_PREFIX<replicas>) */
    int32_t replicas;
    int64_t at;
    bool cordoned;            /* cordoned by gpuscale (gpuscale.dev/disruption=reconfigure): uncordon when done */
    bool done;                /* applied and uncordoned: kept until the cache shows the uncordon */
} ts_op;

typedef struct scaler_state {
    gs_watch w;                       /* io/queue/watch: the sources + policy/scale state */
    bool open;
    int64_t last_poll;
    int64_t len;                      /* first trigger's last reading */
    int32_t desired, actual;
    int64_t failures;
    int64_t last_scale;               /* wall ms of the last scale operation (QueueScaler status) */
} scaler_state;

typedef struct ctl {
    gs_kube *k;
    gs_catalog cat;
    gs_config cfg;
    gs_provider prov;
    gs_http *http;
    gs_informer *pods, *nodes, *deps, *stss;
    gs_informer *jobs;        /* batch/v1 Jobs (Environments' workloads), trimmed to labels and status */
    char id[128];
    char lease_ns[64], lease_name[64];
    int lease_s;
    bool leader;
    int64_t last_renew_ok, last_lease_try;
    scaler_state *ss;
    inflight inf[MAX_INFLIGHT];
    int ninf;
    json_t *empty_since;     /* node -> mono ms */
    gs_rules_store *pod_rules; /* the pod cache's interned selectors and tolerations */
    bool wake;               /* a GPU pod went Pending since the last plan */
    json_t *pending_seen;    /* ns/pod -> (mono ms first seen Pending) x 4 + SEEN_ROOMED + SEEN_COUNTED;
                              * removed when bound or deleted */
    json_t *orphans;         /* instance id -> mono ms first seen without a node */
    json_t *unsched;         /* ns/pod -> the packer's last reason (Event when it changes) */
    json_t *draining;        /* node -> {cordoned, next (mono ms of the next eviction round), told: {pod: true}} */
    json_t *dnd_said;        /* node -> the do-not-disrupt reason told (Event once) */
    mig_op mops[MAX_MIG_OPS]; /* MIG reconfigurations in progress (mig_tick) */
    int nmops;
    json_t *mig_backoff;     /* node -> mono ms before which no new reconfiguration is tried */
    json_t *mig_written;     /* config names already in the mig-parted ConfigMap */
    char mig_cm_ns[64], mig_cm_name[254];
    int64_t mig_ok, mig_failed;
    int64_t mig_retry_ms;    /* after a failed reconfiguration */
    int64_t layout_settle_ms; /* a node's MIG layout is not repartitioned this long after it registered */
    int64_t mig_cm_retry_at; /* mono ms: the ConfigMap could not be written; not before then */
    /* time-slicing the device plugin way (ts_tick; docs/deploy.md "Time-slicing") */
    ts_op tops[MAX_TS_OPS];
    int ntops;
    json_t *ts_backoff;      /* node -> mono ms before which its layout stays locked (a failed switch) */
    json_t *ts_written;      /* device plugin config keys known to be in the ConfigMap */
    char dp_cm_ns[64], dp_cm_name[254];
    int64_t ts_cm_retry_at;  /* mono ms: the device plugin ConfigMap could not be written; not before then */
    int64_t ts_timeout_ms;   /* --timeslicing-timeout */
    int64_t ts_ok, ts_failed, resumed, undone;
    gs_snapshot snap;        /* the packer's input, rebuilt each tick (buffers reused) */
    gs_plan plan;
    const char **pkey;       /* snapshot pod -> pod cache key */
    int32_t cap_pkey;
    int64_t orphan_grace_ms;
    int64_t last_orphan_check;
    /* metrics */
    int64_t decisions, launches, terminations, launch_errors, scale_ops, lease_transitions;
    int64_t repacks;             /* make-before-break repacks started (REPACK_NODE) */
    int32_t repack_headroom;     /* gs_rc_input.repack_headroom; -1: no repacking */
    double lat[LAT_SAMPLES];
    double lat_noroom[LAT_SAMPLES]; /* the same, over pods no plan ever put on a registered node's room */
    int nlat_noroom;
    int nlat;
    double rec[LAT_SAMPLES];  /* reconcile durations, ring */
    int nrec;
    int64_t hist[12];        /* reconcile latency buckets */
    double rec_sum;
    int64_t rec_count;
    double spend_usd;
    int64_t last_spend;
    int64_t tick_ms;
    /* cost governance (--ledger; docs/cost.md section 5) */
    gs_ledger *ledger;
    int64_t meter_every_ms;
    int64_t last_meter;          /* mono ms of the last meter tick */
    gs_ms metered_until;         /* wall ms the ledger is metered to; -1: read it (after a leader change) */
    gs_costgov_tracker tr;
    bool tr_ok;
    gs_snapshot msnap;           /* the meter's input: registered nodes and their bound pods */
    gs_costgov_rate rates[GS_RUN_MAX_PROJECTS];
    int32_t nrates;
    gs_usd_u *approved;          /* nbudgets */
    uint8_t *soft_mask;          /* nbudgets */
    gs_budget_gate_ctx gate;
    bool *to_min;                /* per scaler: its project's budget says scaleToMin */
    json_t *to_min_said;         /* scaler -> true while capped (Event once) */
    int64_t budget_refused, alerts_sent, meter_errors;
    gs_run_envs *envs;           /* Environments (cli/run_envs.h); NULL when none */
    gs_run_crs *crs;             /* without --config: the custom resources (cli/run_crs.h) */
} ctl;

static int node_disrupt_mark(ctl *c, const char *node, const char *kind, gs_error *e);
static int ts_config_put(ctl *c, int32_t replicas, gs_error *e);
static int scaler_of_pod(const ctl *c, const gs_kpod *pod);

/* Planning runs every tick period, or this soon after a GPU pod goes Pending. */
#define PLAN_MIN_GAP_MS 100

static const double HIST_LE[12] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

/* ---- informers: trimmed objects (memory: 20,000 pods must fit in tens of MiB) ---- */

static void trim_node(json_t *node) {
    json_t *st = json_object_get(node, "status");
    json_t *alloc = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, "allocatable"), k, v)
        if (gs_kube_gpu_resource(k)) json_object_set_new(alloc, k, json_integer(gs_kube_count(v)));
    json_t *md = json_object_get(node, "metadata"), *spec = json_object_get(node, "spec");
    json_t *nmd = json_object(), *labels = json_object(), *ann = json_object(), *nspec = json_object();
    static const char *const keep_labels[] = {"gpuscale.dev/pool", "node.kubernetes.io/instance-type",
                                              "karpenter.sh/capacity-type", "nvidia.com/mig.config",
                                              "nvidia.com/mig.config.state", GS_DP_CONFIG_LABEL,
                                              GS_DP_REPLICAS_LABEL, GS_DP_STRATEGY_LABEL};
    for (size_t i = 0; i < sizeof keep_labels / sizeof keep_labels[0]; i++) {
        json_t *l = json_object_get(json_object_get(md, "labels"), keep_labels[i]);
        if (l) json_object_set(labels, keep_labels[i], l);
    }
    static const char *const keep_ann[] = {"gpuscale.dev/do-not-disrupt", "karpenter.sh/do-not-disrupt",
                                           "gpuscale.dev/disruption"};
    for (size_t i = 0; i < sizeof keep_ann / sizeof keep_ann[0]; i++) {
        json_t *a = json_object_get(json_object_get(md, "annotations"), keep_ann[i]);
        if (a) json_object_set(ann, keep_ann[i], a);
    }
    if (json_object_get(md, "name")) json_object_set(nmd, "name", json_object_get(md, "name"));
    if (json_object_get(md, "deletionTimestamp")) json_object_set(nmd, "deletionTimestamp", json_object_get(md, "deletionTimestamp"));
    if (json_object_get(md, "creationTimestamp")) json_object_set(nmd, "creationTimestamp", json_object_get(md, "creationTimestamp"));
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

/* A Job as the Environments read it: metadata (labels, uid) and status (succeeded, conditions). */
static void trim_job(json_t *d) {
    json_object_del(d, "spec");
    json_t *st = json_object_get(d, "status");
    json_t *nst = json_object();
    if (json_object_get(st, "succeeded")) json_object_set(nst, "succeeded", json_object_get(st, "succeeded"));
    if (json_object_get(st, "conditions")) json_object_set(nst, "conditions", json_object_get(st, "conditions"));
    json_object_set(d, "status", nst);
    json_decref(nst);
}

static void pod_event(void *ud, gs_informer *inf, gs_watch_type t, const char *key, const void *rec) {
    (void)inf;
    ctl *c = ud;
    const gs_kpod *pod = rec;
    if (t == GS_WATCH_DELETED || pod->node[0]) {
        json_object_del(c->pending_seen, key);
        return;
    }
    if (pod->has_gpu && !json_object_get(c->pending_seen, key)) {
        json_object_set_new(c->pending_seen, key, json_integer(mono_ms() * 4));
        c->wake = true; /* plan soon, not at the next tick */
    }
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

/* The replicas of each due scaler as gs_scale_step wants them: pending (no node yet), ready,
 * and the pod list with the idle flags the workload reports (annotation gpuscale.dev/idle). */
typedef struct scaler_pods {
    int32_t n, cap, pending, ready;
    gs_scale_pod *pods;
} scaler_pods;

static void collect_scaler_pods(const ctl *c, const bool *due, scaler_pods *sp) {
    size_t it = 0;
    const void *rec;
    while (gs_informer_next(c->pods, &it, NULL, &rec)) {
        const gs_kpod *pod = rec;
        if (!pod->owner[0] || pod->deleting || !gs_kpod_live(pod)) continue;
        int si = scaler_of_pod(c, pod);
        if (si < 0 || !due[si]) continue;
        scaler_pods *x = &sp[si];
        if (x->n == x->cap) {
            int32_t nc = x->cap ? x->cap * 2 : 16;
            gs_scale_pod *np = realloc(x->pods, sizeof *np * (size_t)nc);
            if (!np) return;
            x->pods = np;
            x->cap = nc;
        }
        gs_scale_pod *p = &x->pods[x->n++];
        memset(p, 0, sizeof *p);
        p->pending = !pod->node[0];
        p->ready = pod->ready;
        p->activity = pod->idle < 0 ? GS_POD_UNKNOWN : pod->idle ? GS_POD_IDLE : GS_POD_BUSY;
        x->pending += p->pending;
        x->ready += p->ready;
    }
}

/* Polls each scaler when due: every gs_watch_interval (100 ms while the workload is at zero or
 * its idle replicas: the fast path; pollingInterval otherwise). Runs at the loop's fast cadence;
 * planning (capacity_tick) keeps the tick period. */
static void scale_tick(ctl *c, int64_t now) {
    bool *due = calloc((size_t)c->cfg.nscalers + 1, sizeof *due);
    scaler_pods *sp = calloc((size_t)c->cfg.nscalers + 1, sizeof *sp);
    if (!due || !sp) {
        free(due);
        free(sp);
        return;
    }
    bool any_running = false, any = false;
    for (int i = 0; i < c->cfg.nscalers; i++) {
        scaler_state *s = &c->ss[i];
        if (!s->open || now - s->last_poll < gs_watch_interval(&s->w, s->actual)) continue;
        due[i] = any = true;
        any_running |= s->actual > 0;
    }
    if (any_running) collect_scaler_pods(c, due, sp); /* at zero there is no pod to look at */
    for (int i = 0; any && i < c->cfg.nscalers; i++) {
        if (!due[i]) continue;
        const gs_scaler *sc = &c->cfg.scalers[i];
        scaler_state *s = &c->ss[i];
        s->last_poll = now;
        gs_informer *wl = sc->target_kind == GS_TARGET_STATEFULSET ? c->stss : c->deps;
        const json_t *obj = gs_informer_get(wl, sc->ns, sc->target_name);
        if (!obj) {
            gs_log_warn("scale target not found", "scaler=%s/%s target=%s", sc->ns, sc->name, sc->target_name);
            continue;
        }
        s->actual = (int32_t)json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas"));
        int32_t ready = (int32_t)json_integer_value(json_object_get(json_object_get(obj, "status"), "readyReplicas"));
        gs_scale_input in;
        memset(&in, 0, sizeof in);
        in.now = now;
        in.current = s->actual;
        in.ready = ready < s->actual ? ready : s->actual;
        in.pending = sp[i].pending < s->actual ? sp[i].pending : s->actual;
        int32_t *rm = NULL;
        if (sp[i].n == s->actual && s->actual > 0) { /* the pod list only when it is the whole set */
            rm = malloc(sizeof *rm * (size_t)sp[i].n);
            if (rm) {
                in.pods = sp[i].pods;
                in.npods = sp[i].n;
                in.remove = rm;
                in.remove_cap = sp[i].n;
            }
        }
        gs_scale_decision dec;
        gs_error se;
        gs_error_clear(&se);
        int rc = gs_watch_step(&s->w, &in, &dec, &se);
        free(rm);
        for (int t = 0; t < sc->ntriggers; t++)
            if (!s->w.last[t].ok) s->failures++;
        if (s->w.last[0].ok) s->len = s->w.last[0].value_milli / 1000;
        if (rc) {
            gs_log_error("scale step refused", "scaler=%s/%s err=\"%s\"", sc->ns, sc->name, se.msg);
            continue;
        }
        int32_t desired = dec.desired;
        const char *why = gs_scale_reason_name(dec.reason);
        /* a budget with onExceeded: scaleToMin caps the project's workloads at minReplicas */
        if (c->to_min && c->to_min[i] && desired > sc->min_replicas) {
            desired = sc->min_replicas;
            why = "budget scaleToMin";
            if (!json_object_get(c->to_min_said, sc->name)) {
                json_object_set_new(c->to_min_said, sc->name, json_true());
                gs_log_warn("budget scaleToMin", "scaler=%s/%s project=%s replicas=%d", sc->ns, sc->name,
                            sc->project[0] ? sc->project : sc->ns, desired);
            }
        } else if (c->to_min && !c->to_min[i]) {
            json_object_del(c->to_min_said, sc->name);
        }
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
        char msg[300];
        snprintf(msg, sizeof msg, "gpuscale: queue %lld, target %lld per replica (%s): replicas %d -> %d%s",
                 (long long)len, (long long)(t->target_milli / 1000), why, s->actual, desired,
                 dec.kept_busy > 0 ? " (busy pods kept)" : "");
        gs_log_info("scaled", "scaler=%s/%s from=%d to=%d queue=%lld pending=%d reason=\"%s\"", sc->ns, sc->name,
                    s->actual, desired, (long long)len, (int)in.pending, why);
        gs_kube_event(c->k, "apps/v1", sc->target_kind == GS_TARGET_STATEFULSET ? "StatefulSet" : "Deployment", sc->ns,
                      sc->target_name, "", "Normal", desired > s->actual ? "ScaledUp" : "ScaledDown", msg, &e);
        s->actual = desired;
        s->last_scale = wall_ms();
    }
    for (int i = 0; i < c->cfg.nscalers; i++) free(sp[i].pods);
    free(sp);
    free(due);
}

/* ---- capacity: the packer (policy/pack) on the informer cache -> launches ---- */

static const char *node_pool(const json_t *node) {
    return json_string_value(json_object_get(json_object_get(json_object_get(node, "metadata"), "labels"), "gpuscale.dev/pool"));
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

/* The pending pod's first sighting -> the launch request that covers it (at; a pod seen after
 * that launch counts 0), once per pod (kept until bound or deleted). Also kept apart: the pods
 * no plan ever put on room of a registered node. The others were first planned onto room that
 * kube-scheduler then gave to other pods (it binds in its own order, and a pod it found no room
 * for waits in its backoff while newer pods take the room); their launch comes when that room
 * is gone, which is the scheduler's order, not the controller's reaction. */
#define SEEN_ROOMED 2  /* a plan put it on room of a registered, ready node */
#define SEEN_COUNTED 1 /* its latency sample is taken */

static void record_latency(ctl *c, const char *key, int64_t at) {
    json_t *v = json_object_get(c->pending_seen, key);
    if (!v || (json_integer_value(v) & SEEN_COUNTED)) return;
    int64_t d = at - json_integer_value(v) / 4;
    double sec = (double)(d > 0 ? d : 0) / 1000.0;
    if (c->nlat < LAT_SAMPLES) c->lat[c->nlat++] = sec;
    if (!(json_integer_value(v) & SEEN_ROOMED) && c->nlat_noroom < LAT_SAMPLES) c->lat_noroom[c->nlat_noroom++] = sec;
    json_integer_set(v, json_integer_value(v) | SEEN_COUNTED);
}

/* A plan put the pending pod on room of a registered, ready node (no launch needed for it). */
static void mark_roomed(ctl *c, const char *key) {
    json_t *v = json_object_get(c->pending_seen, key);
    if (v && !(json_integer_value(v) & (SEEN_COUNTED | SEEN_ROOMED)))
        json_integer_set(v, json_integer_value(v) | SEEN_ROOMED);
}

/* The GPU layout a registered node advertises. A time-slicing pool's node: what the device
 * plugin advertises (gs_dp_node_mode: nvidia.com/gpu.shared = GPUs x replicas and the GFD
 * labels -> time-sliced with those replicas; otherwise whole GPUs, which the packer may switch
 * when idle: switch_modes), not the pool's declared replicas. A fractional pool's node: the
 * pool's mode (gpuscale.dev/gpu-milli has no device plugin to ask). For MIG, the instances its
 * allocatable nvidia.com/mig-* resources count, laid out largest first where they destroy the
 * fewest options (the layout mig-parted applies for those counts). */
static void node_gpus_from_alloc(gs_node *n, const gs_itype *t, const gs_pool *p, const json_t *labels,
                                 const json_t *alloc) {
    const gs_gpu_model *m = t->gpus > 0 && t->gpu_model >= 0 ? gs_gpu_get(t->gpu_model) : NULL;
    if (!m || !p) return;
    gs_dp_mode dm;
    gs_dp_node_mode(labels, alloc, n->ngpus, &dm);
    for (int g = 0; g < n->ngpus; g++) {
        if (p->sharing == GS_SHARE_TIMESLICING && dm.mode == GS_GPUMODE_TIMESLICED && dm.renamed) {
            n->gpus[g].mode = GS_GPUMODE_TIMESLICED;
            n->gpus[g].ts_replicas = (int16_t)dm.replicas;
        } else if (p->sharing == GS_SHARE_FRACTIONAL) {
            n->gpus[g].mode = GS_GPUMODE_FRACTIONAL;
        }
    }
    if (p->sharing != GS_SHARE_MIG || !gs_gpu_has_mig(m)) return;
    int64_t cnt[GS_MIG_MAX_PROFILES] = {0};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)alloc, k, v) {
        if (strncmp(k, "nvidia.com/mig-", 15) != 0) continue;
        int pi = gs_mig_profile_find(m, k + 15);
        if (pi >= 0 && pi < GS_MIG_MAX_PROFILES) cnt[pi] = json_integer_value(v);
    }
    for (;;) {
        int best = -1;
        for (int pi = 0; pi < m->nprofiles && pi < GS_MIG_MAX_PROFILES; pi++)
            if (cnt[pi] > 0 && (best < 0 || m->profiles[pi].compute > m->profiles[best].compute)) best = pi;
        if (best < 0) return;
        cnt[best]--;
        for (int g = 0; g < n->ngpus; g++) {
            gs_gpu_state *s = &n->gpus[g];
            if (s->nparts >= GS_GPU_MAX_PARTS) continue;
            int st = gs_mig_best_start(m, s->parts, s->nparts, best);
            if (st < 0) continue;
            s->mode = GS_GPUMODE_MIG;
            s->parts[s->nparts].profile = (int8_t)best;
            s->parts[s->nparts].start = (uint8_t)st;
            s->parts[s->nparts].used = false;
            s->nparts++;
            break;
        }
    }
}


/* A bound pod takes what it asks for on its node's GPUs (m: the node's GPU model). *gpu and
 * *part (optional) get where: the first GPU taken and the MIG instance's index on it; false
 * when the request is not fully met by free GPUs in a row (the cache and the layout disagree). */
static bool gpus_take(gs_gpu_state *gpus, int ngpus, const gs_gpu_model *m, const gs_gpu_req *r, int8_t *gpu,
                      int8_t *part) {
    int need = r->form == GS_GPU_WHOLE ? r->count : 1;
    int pi = r->form == GS_GPU_MIG && m ? gs_mig_profile_find(m, r->mig_profile) : -1;
    int first = -1, last = -1, fpart = -1;
    bool row = true;
    for (int g = 0; g < ngpus && need > 0; g++) {
        gs_gpu_state *s = &gpus[g];
        bool took = false;
        if (r->form == GS_GPU_WHOLE) {
            if (s->mode != GS_GPUMODE_MIG && !s->whole_used && s->pods == 0) took = s->whole_used = true;
        } else if (r->form == GS_GPU_MIG) {
            for (int p = 0; s->mode == GS_GPUMODE_MIG && p < s->nparts && !took && pi >= 0; p++)
                if (!s->parts[p].used && s->parts[p].profile == pi) {
                    took = s->parts[p].used = true;
                    fpart = p;
                }
        } else if (r->form == GS_GPU_SHARED) {
            if (s->mode == GS_GPUMODE_TIMESLICED && s->ts_used < s->ts_replicas) {
                s->ts_used++;
                took = true;
            }
        } else if (r->form == GS_GPU_FRACTION) {
            if (s->mode == GS_GPUMODE_FRACTIONAL && s->milli_used + r->milli <= 1000) {
                s->milli_used = (int16_t)(s->milli_used + r->milli);
                took = true;
            }
        }
        if (took) {
            s->pods++;
            need--;
            if (first < 0) first = g;
            else if (g != last + 1) row = false;
            last = g;
        }
    }
    if (gpu) *gpu = (int8_t)first;
    if (part) *part = (int8_t)fpart;
    return need == 0 && row && first >= 0;
}

static bool node_take(gs_node *n, const gs_gpu_model *m, const gs_gpu_req *r, int8_t *gpu, int8_t *part) {
    return gpus_take(n->gpus, n->ngpus, m, r, gpu, part);
}

/* The packer's view of a cached pod's requests and placement rules (the rules stay the
 * cache's interned arrays; gs_snapshot_add_pod copies them into the snapshot's store). */
static void pod_spec_from(const gs_kpod *pod, gs_pod_spec *s) {
    memset(s, 0, sizeof *s);
    s->cpu = pod->cpu;
    s->mem = pod->mem;
    s->priority = pod->priority;
    s->gpu = pod->gpu;
    s->node_selector = pod->sel;
    s->n_node_selector = pod->nsel;
    s->tolerations = pod->tol;
    s->n_tolerations = pod->ntol;
}

/* A registered node of one of gpuscale's pools from the cache: instance type, capacity type,
 * pool, cordon/deletion, creation time (wall ms) and the GPU layout its allocatable shows. */
static bool cache_node(const ctl *c, const char *key, const json_t *node, gs_node *n) {
    const json_t *md = json_object_get(node, "metadata");
    const json_t *l = json_object_get(md, "labels");
    const char *pn = node_pool(node);
    int pi = pn ? gs_config_find_pool(&c->cfg, pn) : -1;
    const char *it = json_string_value(json_object_get(l, "node.kubernetes.io/instance-type"));
    int ti = it ? gs_catalog_find(&c->cat, it) : -1;
    if (ti < 0 || pi < 0) return false;
    const char *ct = json_string_value(json_object_get(l, "karpenter.sh/capacity-type"));
    gs_node_init(n, key, &c->cat, ti, ct && strcmp(ct, "spot") == 0 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
    n->pool = pi;
    n->ready = true;
    n->cordoned = json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
    n->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    n->empty_since = -1;
    n->created_at = parse_time_ms(json_string_value(json_object_get(md, "creationTimestamp")));
    node_gpus_from_alloc(n, &c->cat.types[ti], &c->cfg.pools[pi], l,
                         json_object_get(json_object_get(node, "status"), "allocatable"));
    return true;
}

static int mig_op_find(const ctl *c, const char *node) {
    for (int i = 0; i < c->nmops; i++)
        if (strcmp(c->mops[i].node, node) == 0) return i;
    return -1;
}

static int ts_op_find(const ctl *c, const char *node) {
    for (int i = 0; i < c->ntops; i++)
        if (strcmp(c->tops[i].node, node) == 0) return i;
    return -1;
}

/* A time-slicing pool's node whose layout cannot change now: a switch failed and backs off
 * (--mig-retry-after), or the device plugin's ConfigMap cannot be written. */
static bool ts_locked(const ctl *c, const char *node, int64_t now) {
    const json_t *until = json_object_get(c->ts_backoff, node);
    return now < c->ts_cm_retry_at || (until && now < json_integer_value(until));
}

/* Live cached pods that are bound (or, bound false, Pending with a GPU request). */
static int32_t count_pods(const ctl *c, bool bound) {
    int32_t n = 0;
    size_t it = 0;
    const void *rec;
    while (gs_informer_next(c->pods, &it, NULL, &rec)) {
        const gs_kpod *p = rec;
        if (!gs_kpod_live(p)) continue;
        if (bound ? p->node[0] != '\0' : (!p->node[0] && p->has_gpu && p->gpu_ok && !p->deleting)) n++;
    }
    return n;
}

/* A pending GPU pod of the snapshot being built, with when it was first seen Pending. */
typedef struct pend_ref {
    const char *key;
    const gs_kpod *pod;
    int64_t seen;
} pend_ref;

static int cmp_pend(const void *a, const void *b) {
    const pend_ref *x = a, *y = b;
    if (x->pod->unschedulable != y->pod->unschedulable) return x->pod->unschedulable ? 1 : -1;
    if (x->seen != y->seen) return x->seen < y->seen ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* ---- the reconcile step's view of the cluster (gs_rc_input), from the caches ---- */

/* Node annotation gpuscale sets with its own cordons, so that a new leader (or this one after a
 * restart) knows the cordon is a decision of the step it re-takes every tick, not an admin's. */
#define GS_DISRUPTION_ANN "gpuscale.dev/disruption"

/* One tick's input to gs_reconcile_step and its output. Node ids in actions index nodes[] and
 * the per-node arrays; pod ids index pods[], kp[] and pkey[]. */
typedef struct rc_view {
    bool ran;                 /* the step ran: its actions stand (nothing is consolidated otherwise) */
    gs_rc_node *nodes;
    int32_t nnodes;
    const char **nname;       /* node name (cache key, or the launch's node name) */
    bool *inflight;           /* launched, not registered yet */
    int64_t *launched_at;     /* inflight: the launch request (mono ms) */
    int32_t *others;          /* pods a drain evicts (no GPU, not DaemonSet/static) */
    const char **dnd_pod;     /* a bound pod marked do-not-disrupt (ns/name), NULL if none */
    int32_t *terminating;     /* bound pods being deleted */
    gs_rc_pod *pods;
    int32_t npods, npending;
    const gs_kpod **kp;       /* pod -> cached record (valid until the next informer poll) */
    const char **pkey;        /* pod -> cache key */
    gs_pod_spec *specs;       /* pending pods' requests and rules (the cache's interned arrays) */
    gs_rc_workload *wls;
    gs_action *acts;
    gs_rc_unsched *unsched;
    gs_rc_launch *launches;
    gs_rc_output out;
} rc_view;

static void view_free(rc_view *v) {
    if (!v) return;
    free(v->nodes);
    free(v->nname);
    free(v->inflight);
    free(v->launched_at);
    free(v->others);
    free(v->dnd_pod);
    free(v->terminating);
    free(v->pods);
    free(v->kp);
    free(v->pkey);
    free(v->specs);
    free(v->wls);
    free(v->acts);
    free(v->unsched);
    free(v->launches);
    free(v);
}

static const gs_gpu_model *itype_model(const ctl *c, int32_t itype) {
    const gs_itype *t = &c->cat.types[itype];
    return t->gpus > 0 && t->gpu_model >= 0 ? gs_gpu_get(t->gpu_model) : NULL;
}

/* What a cached GPU pod needs in the step's terms (a MIG request: the named profile's slices
 * and memory, on model m when it has it, else on the first model that does). */
static gs_rc_need need_of(const gs_kpod *pod, const gs_gpu_model *m) {
    gs_rc_need n;
    memset(&n, 0, sizeof n);
    n.cpu = pod->cpu;
    n.mem = pod->mem;
    const gs_gpu_req *r = &pod->gpu;
    if (r->form == GS_GPU_WHOLE) {
        n.whole = r->count > 0 ? r->count : 1;
    } else if (r->form == GS_GPU_MIG) {
        int pi = m ? gs_mig_profile_find(m, r->mig_profile) : -1;
        int nm = 0;
        const gs_gpu_model *all = gs_gpu_models(&nm);
        for (int k = 0; pi < 0 && k < nm; k++)
            if ((pi = gs_mig_profile_find(&all[k], r->mig_profile)) >= 0) m = &all[k];
        if (pi >= 0) {
            n.compute = m->profiles[pi].compute;
            n.mem_mib = m->profiles[pi].mem_mib;
        } else {
            n.whole = 1; /* a profile no model knows: never matched to an instance */
        }
    } else if (r->form == GS_GPU_FRACTION) {
        n.milli = r->milli;
        n.compute = 1;
    } else {
        n.compute = 1;
    }
    return n;
}

/* The step's input from the caches: gpuscale's registered nodes with their GPU layouts and what
 * bound pods hold (a node being repartitioned in the layout asked for; a node gpuscale cordoned
 * to consolidate it as schedulable, since the step decides again every tick whether it goes;
 * a node cordoned by anyone else, or being deleted, as draining), launches in flight as
 * not-ready nodes in the layout they were launched with, the GPU pods (bound ones where they
 * sit, pending ones with their exact requests and rules), one workload per QueueScaler
 * (described only: run scales on its fast path), empty_since per node. */
static int view_build(ctl *c, int64_t now, rc_view *v) {
    int32_t capn = (int32_t)json_object_size(gs_informer_store(c->nodes)) + c->ninf + 1;
    int32_t capp = 1;
    size_t it = 0;
    const void *rec;
    const char *key;
    while (gs_informer_next(c->pods, &it, NULL, &rec)) {
        const gs_kpod *p = rec;
        if (gs_kpod_live(p) && p->has_gpu && p->gpu_ok) capp++;
    }
    v->nodes = calloc((size_t)capn, sizeof *v->nodes);
    v->nname = calloc((size_t)capn, sizeof *v->nname);
    v->inflight = calloc((size_t)capn, sizeof *v->inflight);
    v->launched_at = calloc((size_t)capn, sizeof *v->launched_at);
    v->others = calloc((size_t)capn, sizeof *v->others);
    v->dnd_pod = calloc((size_t)capn, sizeof *v->dnd_pod);
    v->terminating = calloc((size_t)capn, sizeof *v->terminating);
    v->pods = calloc((size_t)capp, sizeof *v->pods);
    v->kp = calloc((size_t)capp, sizeof *v->kp);
    v->pkey = calloc((size_t)capp, sizeof *v->pkey);
    v->specs = calloc((size_t)capp, sizeof *v->specs);
    v->wls = calloc((size_t)c->cfg.nscalers + 1, sizeof *v->wls);
    json_t *idx = json_object(); /* node name -> view index */
    pend_ref *pend = calloc((size_t)capp, sizeof *pend);
    size_t npend = 0;
    int rc = 0;
    if (!v->nodes || !v->nname || !v->inflight || !v->launched_at || !v->others || !v->dnd_pod || !v->terminating ||
        !v->pods || !v->kp ||
        !v->pkey || !v->specs || !v->wls || !idx || !pend) {
        rc = GS_ENOMEM;
        goto done;
    }
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
        gs_node n;
        if (!cache_node(c, key, node, &n)) continue; /* only gpuscale's pools' nodes take part */
        int mo = mig_op_find(c, key);
        if (mo >= 0) { /* being repartitioned: its pods are placed on the layout asked for */
            n.cordoned = false;
            for (int g = 0; !c->mops[mo].failed && g < n.ngpus && g < c->mops[mo].ngpus; g++) n.gpus[g] = c->mops[mo].gpus[g];
        }
        int to = ts_op_find(c, key);
        if (to >= 0) { /* its device plugin is being switched: pods are placed on the replicas asked for */
            if (c->tops[to].cordoned) n.cordoned = false; /* our cordon; an admin's stays */
            for (int g = 0; !c->tops[to].done && g < n.ngpus; g++) {
                memset(&n.gpus[g], 0, sizeof n.gpus[g]);
                n.gpus[g].mode = GS_GPUMODE_TIMESLICED;
                n.gpus[g].ts_replicas = (int16_t)c->tops[to].replicas;
            }
        }
        /* gpuscale's own cordons: to consolidate (the step decides again every tick) or to
         * repack (make-before-break, the step deletes the node once empty); one an earlier
         * leader made goes on here */
        const char *dis = json_string_value(
            json_object_get(json_object_get(json_object_get(node, "metadata"), "annotations"), GS_DISRUPTION_ANN));
        json_t *d = json_object_get(c->draining, key);
        if (!d && n.cordoned && dis && (strcmp(dis, "consolidate") == 0 || strcmp(dis, "repack") == 0)) {
            d = json_pack("{s:b,s:I,s:o,s:s}", "cordoned", 1, "next", (json_int_t)0, "told", json_object(), "kind", dis);
            json_object_set_new(c->draining, key, d);
        }
        const char *kind = d ? json_string_value(json_object_get(d, "kind")) : NULL;
        bool repacking = kind && strcmp(kind, "repack") == 0;
        bool ours = d != NULL;
        int32_t i = v->nnodes++;
        gs_rc_node *x = &v->nodes[i];
        x->id = i;
        x->itype = n.itype;
        x->cap = n.capacity;
        x->pool = n.pool;
        x->ready = true;
        x->draining = (n.cordoned && !ours) || n.deleting || repacking;
        /* the mig-parted ConfigMap cannot be written now: no repartition can start, so the
         * step must not plan one (its pods would wait on it): they go to a launch instead */
        x->layout_locked = now < c->mig_cm_retry_at;
        /* a node launched moments ago was laid out for the pods it was launched for: its
         * instances look idle only until kube-scheduler binds them, so they are not
         * repartitioned for newer pods (that churn cordoned nodes while their pods waited) */
        if (n.created_at > 0 && wall_ms() - n.created_at < c->layout_settle_ms) x->layout_locked = true;
        if (c->cfg.pools[n.pool].sharing == GS_SHARE_TIMESLICING && ts_locked(c, key, now)) x->layout_locked = true;
        x->repacking = repacking;
        x->ngpus = n.ngpus;
        memcpy(x->gpus, n.gpus, sizeof x->gpus);
        x->zone = -1;
        x->name = key;
        v->nname[i] = key;
        json_object_set_new(idx, key, json_integer(i));
    }
    for (int f = 0; f < c->ninf;) {
        if (gs_informer_get(c->nodes, NULL, c->inf[f].node) || now - c->inf[f].at > 300000) {
            c->inf[f] = c->inf[--c->ninf];
            continue;
        }
        const inflight *fl = &c->inf[f++];
        if (json_object_get(idx, fl->node)) continue;
        int32_t i = v->nnodes++;
        gs_rc_node *x = &v->nodes[i];
        gs_node n;
        gs_node_init(&n, fl->node, &c->cat, fl->itype, fl->capacity);
        x->id = i;
        x->itype = fl->itype;
        x->cap = fl->capacity;
        x->pool = fl->pool;
        x->ready = false;
        x->ngpus = n.ngpus;
        for (int g = 0; g < n.ngpus && g < fl->ngpus; g++) x->gpus[g] = fl->gpus[g];
        for (int g = fl->ngpus; g < n.ngpus; g++) x->gpus[g] = n.gpus[g];
        x->zone = -1;
        x->empty_since = now;
        x->name = fl->node;
        v->nname[i] = fl->node;
        v->inflight[i] = true;
        v->launched_at[i] = fl->at;
        json_object_set_new(idx, fl->node, json_integer(i));
    }
    it = 0;
    while (gs_informer_next(c->pods, &it, &key, &rec)) {
        const gs_kpod *pod = rec;
        if (!gs_kpod_live(pod)) continue;
        bool gpu = pod->has_gpu && pod->gpu_ok;
        int si = scaler_of_pod(c, pod);
        const gs_scaler *sc = si >= 0 ? &c->cfg.scalers[si] : NULL;
        const char *project = sc && sc->project[0] ? sc->project : pod->project;
        if (pod->node[0]) { /* bound: holds CPU, memory and GPUs on its node */
            json_t *ni = json_object_get(idx, pod->node);
            if (!ni) continue;
            int32_t i = (int32_t)json_integer_value(ni);
            gs_rc_node *x = &v->nodes[i];
            x->npods++;
            x->cpu_used += pod->cpu;
            x->mem_used += pod->mem;
            if (pod->do_not_disrupt) v->dnd_pod[i] = key;
            if (pod->deleting) v->terminating[i]++;
            if (!pod->has_gpu) { /* does not hold the node: drained (or goes with it) */
                x->npods_drainable++;
                if (strncmp(pod->owner, "DaemonSet/", 10) != 0 && strncmp(pod->owner, "Node/", 5) != 0) v->others[i]++;
                continue;
            }
            if (!gpu) continue;
            const gs_gpu_model *m = itype_model(c, x->itype);
            int8_t g = -1, part = -1;
            bool ok = gpus_take(x->gpus, x->ngpus, m, &pod->gpu, &g, &part);
            /* a terminating pod, or one the layout cannot seat, holds its node but is never moved */
            if (pod->deleting || !ok || v->npods >= capp) continue;
            int32_t k = v->npods++;
            gs_rc_pod *p = &v->pods[k];
            p->id = k;
            p->wl = si;
            p->state = !pod->ready ? GS_RCP_STARTING : pod->idle == 1 ? GS_RCP_IDLE : GS_RCP_BUSY;
            p->node = i;
            p->gpu = g;
            p->part = pod->gpu.form == GS_GPU_MIG ? part : -1;
            p->pool = x->pool;
            p->need = need_of(pod, m);
            p->project = project;
            v->kp[k] = pod;
            v->pkey[k] = key;
            continue;
        }
        if (!gpu || pod->deleting || npend >= (size_t)capp) continue;
        const json_t *seen = json_object_get(c->pending_seen, key);
        pend[npend].key = key;
        pend[npend].pod = pod;
        pend[npend].seen = seen ? json_integer_value(seen) / 4 : now;
        npend++;
    }
    /* A time-slicing pool's node is configured as a whole (the device plugin's config is per
     * node, every GPU): one not wholly time-sliced with the pool's replicas is switched only
     * while no GPU pod is bound to it (its layout is locked otherwise); while idle, GPUs
     * time-sliced with other replicas (the pool's were changed, or someone else's config) are
     * offered to the packer as whole GPUs, which it switches to the pool's replicas when a
     * pending pod needs them. */
    for (int32_t i = 0; i < v->nnodes; i++) {
        gs_rc_node *x = &v->nodes[i];
        const gs_pool *pl = &c->cfg.pools[x->pool];
        if (v->inflight[i] || pl->sharing != GS_SHARE_TIMESLICING || ts_op_find(c, v->nname[i]) >= 0) continue;
        bool conform = x->ngpus > 0;
        for (int g = 0; g < x->ngpus; g++)
            conform &= x->gpus[g].mode == GS_GPUMODE_TIMESLICED && x->gpus[g].ts_replicas == pl->ts_replicas;
        if (conform) continue;
        if (x->npods - x->npods_drainable > 0) {
            x->layout_locked = true;
            continue;
        }
        for (int g = 0; g < x->ngpus; g++)
            if (x->gpus[g].mode == GS_GPUMODE_TIMESLICED) memset(&x->gpus[g], 0, sizeof x->gpus[g]);
    }
    /* Pending pods go in kube-scheduler's order: the packer breaks ties between equal pods
     * by snapshot order, so the pods the scheduler will bind first are the ones planned onto
     * existing room. The scheduler tries new pods first, oldest first; a pod it found no node
     * for (PodScheduled=False, Unschedulable) waits in its backoff while newer pods take the
     * room, so those go last: they are the ones launches are for. */
    if (npend > 1) qsort(pend, npend, sizeof *pend, cmp_pend);
    for (size_t q = 0; q < npend && v->npods < capp; q++) {
        const gs_kpod *pod = pend[q].pod;
        key = pend[q].key;
        int si = scaler_of_pod(c, pod);
        const gs_scaler *sc = si >= 0 ? &c->cfg.scalers[si] : NULL;
        const char *project = sc && sc->project[0] ? sc->project : pod->project;
        int32_t k = v->npods++;
        gs_rc_pod *p = &v->pods[k];
        p->id = k;
        p->wl = si;
        p->state = GS_RCP_PENDING;
        p->node = -1;
        p->gpu = -1;
        p->part = -1;
        /* the pool its QueueScaler names (its MIG profile completes that pool's layouts); any
         * pool the packer finds for it otherwise */
        p->pool = sc && sc->pool[0] ? gs_config_find_pool(&c->cfg, sc->pool) : -1;
        p->need = need_of(pod, NULL);
        p->project = project;
        pod_spec_from(pod, &v->specs[k]);
        p->spec = &v->specs[k];
        v->kp[k] = pod;
        v->pkey[k] = key;
        v->npending++;
    }
    /* when each registered node last became empty (none of its pods holds it) */
    for (int32_t i = 0; i < v->nnodes; i++) {
        gs_rc_node *x = &v->nodes[i];
        if (v->inflight[i]) continue;
        if (x->npods - x->npods_drainable > 0) {
            json_object_del(c->empty_since, v->nname[i]);
            x->empty_since = -1;
            continue;
        }
        json_t *since = json_object_get(c->empty_since, v->nname[i]);
        if (!since) json_object_set_new(c->empty_since, v->nname[i], since = json_integer(now));
        x->empty_since = json_integer_value(since);
    }
    for (int i = 0; i < c->cfg.nscalers; i++) {
        const gs_scaler *sc = &c->cfg.scalers[i];
        gs_rc_workload *w = &v->wls[i];
        w->pool = sc->pool[0] ? gs_config_find_pool(&c->cfg, sc->pool) : -1;
        w->need.whole = 1; /* its pods' template is not known here: its pods speak for it */
        w->project = sc->project[0] ? sc->project : sc->ns;
    }
done:
    free(pend);
    json_decref(idx);
    return rc;
}

/* ---- cost governance: meter -> ledger -> budget trackers -> gate and actions ---- */

/* The QueueScaler whose workload owns the pod (cached "owner": "Deployment/NAME" ...), -1. */
static int scaler_of_pod(const ctl *c, const gs_kpod *pod) {
    const char *owner = pod->owner, *ns = pod->ns;
    if (!owner[0]) return -1;
    const char *slash = strchr(owner, '/');
    if (!slash) return -1;
    for (int i = 0; i < c->cfg.nscalers; i++) {
        const gs_scaler *sc = &c->cfg.scalers[i];
        const char *kind = sc->target_kind == GS_TARGET_STATEFULSET ? "StatefulSet" : "Deployment";
        if (strcmp(sc->ns, ns) == 0 && strcmp(sc->target_name, slash + 1) == 0 &&
            strncmp(owner, kind, (size_t)(slash - owner)) == 0 && kind[slash - owner] == '\0')
            return i;
    }
    return -1;
}

/* The meter's snapshot: gpuscale's registered nodes (creation time in wall ms) and the live
 * pods bound to them, each on the GPU (and MIG instance) it holds; project = namespace (or the
 * owning QueueScaler's project), workload = that QueueScaler's name. */
static int build_meter_snapshot(ctl *c, gs_ms now) {
    gs_snapshot *s = &c->msnap;
    s->nnodes = 0;
    s->npods = 0;
    s->now = now;
    json_t *idx = json_object();
    if (!idx) return GS_ENOMEM;
    int rc = gs_snapshot_reserve(s, (int32_t)gs_informer_count(c->nodes), count_pods(c, true));
    if (rc) goto done;
    const char *key;
    json_t *obj;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, obj) {
        gs_node n;
        if (!cache_node(c, key, obj, &n) || n.created_at <= 0 || n.created_at >= now) continue;
        int32_t ni = gs_snapshot_add_node(s, &n);
        if (ni < 0) {
            rc = ni;
            goto done;
        }
        json_object_set_new(idx, key, json_integer(ni));
    }
    size_t it = 0;
    const void *rec;
    while (gs_informer_next(c->pods, &it, NULL, &rec)) {
        const gs_kpod *pod = rec;
        json_t *ni = pod->node[0] ? json_object_get(idx, pod->node) : NULL;
        if (!ni || !gs_kpod_live(pod)) continue;
        gs_pod p;
        memset(&p, 0, sizeof p);
        snprintf(p.name, sizeof p.name, "%s", pod->name);
        snprintf(p.ns, sizeof p.ns, "%s", pod->ns);
        int si = scaler_of_pod(c, pod);
        snprintf(p.project, sizeof p.project, "%s", si >= 0 && c->cfg.scalers[si].project[0] ? c->cfg.scalers[si].project : pod->project);
        if (si >= 0) snprintf(p.workload, sizeof p.workload, "%s", c->cfg.scalers[si].name);
        const gs_environment *env = si < 0 ? gs_run_envs_of_pod(c->envs, pod) : NULL;
        if (env) snprintf(p.workload, sizeof p.workload, "%s", env->name); /* the ledger's environment totals */
        p.spec.cpu = pod->cpu;
        p.spec.mem = pod->mem;
        p.phase = GS_POD_RUNNING;
        p.node = (int32_t)json_integer_value(ni);
        p.gpu = -1;
        p.part = -1;
        if (pod->has_gpu && pod->gpu_ok) {
            gs_node *n = &s->nodes[p.node];
            const gs_itype *t = &c->cat.types[n->itype];
            p.spec.gpu = pod->gpu;
            /* a pod the layout cannot seat (the cache and allocatable disagree for a moment)
             * is not billed this tick: its share stays the pool's idle cost */
            if (!node_take(n, t->gpus > 0 && t->gpu_model >= 0 ? gs_gpu_get(t->gpu_model) : NULL, &pod->gpu, &p.gpu,
                           &p.part))
                continue;
        }
        int32_t pi = gs_snapshot_add_pod(s, &p);
        if (pi < 0) {
            rc = pi;
            goto done;
        }
    }
done:
    json_decref(idx);
    return rc;
}

static int64_t budget_limit(const gs_budget *b, int w) {
    return w == GS_WIN_HOUR ? b->per_hour : w == GS_WIN_DAY ? b->per_day : b->per_month;
}

/* Every meter interval (leader only): meter [metered_until, now) into the ledger, advance the
 * budget trackers, carry out the budget actions (alerts via costgov; scaleToMin marks the
 * project's scalers). After a restart or a leader change metering resumes where the ledger
 * stops (gs_ledger_metered_until), so time is neither skipped nor billed twice. */
static void meter_tick(ctl *c, int64_t mono, bool force) {
    if (!c->ledger) return;
    if (!c->leader) {
        c->metered_until = -1; /* another replica may write meanwhile: re-read when leading again */
        return;
    }
    if (!force && c->last_meter && mono - c->last_meter < c->meter_every_ms) return;
    c->last_meter = mono;
    gs_ms now = wall_ms();
    gs_error e;
    gs_error_clear(&e);
    int rc = 0;
    if (c->metered_until < 0) {
        gs_ms until = -1;
        if ((rc = gs_ledger_metered_until(c->ledger, NULL, &until, &e))) goto fail;
        c->metered_until = until >= 0 && until <= now ? until : now;
        if (c->tr_ok) gs_costgov_tracker_free(&c->tr);
        c->tr_ok = false;
        if ((rc = gs_costgov_tracker_init(&c->tr, c->ledger, c->cfg.budgets, c->cfg.nbudgets, now, &e))) goto fail;
        c->tr_ok = true;
        gs_log_info("metering resumed", "from_ms=%lld budgets=%d", (long long)c->metered_until, (int)c->cfg.nbudgets);
    }
    if (now > c->metered_until) {
        if ((rc = build_meter_snapshot(c, now))) goto fail;
        int32_t nr = 0;
        rc = gs_costgov_meter(&c->msnap, &c->cat, &c->cfg, c->metered_until, now, c->ledger, &c->tr, c->rates,
                              GS_RUN_MAX_PROJECTS, &nr, &e);
        gs_snapshot_free(&c->msnap); /* one record per bound pod: held only while metering */
        if (rc) goto fail;
        c->nrates = nr;
        c->metered_until = now;
        if ((rc = gs_costgov_tracker_advance(&c->tr, c->ledger, now, c->rates, nr, &e))) goto fail;
    }
    /* budget actions: alerts (log, metric, webhook; once per period and threshold), block
     * (the gate refuses), scaleToMin (the project's scalers go to minReplicas) */
    gs_budget_action acts[GS_RUN_MAX_BUDGET_ACTS];
    int32_t na = gs_budget_actions(c->tr.states, c->tr.n, now, acts, GS_RUN_MAX_BUDGET_ACTS);
    if (na > GS_RUN_MAX_BUDGET_ACTS) na = GS_RUN_MAX_BUDGET_ACTS;
    if (c->soft_mask) {
        c->gate.soft_mask = c->soft_mask;
        int32_t ns = gs_budget_soft_actions(&c->gate, acts + na, GS_RUN_MAX_BUDGET_ACTS - na);
        na += ns < GS_RUN_MAX_BUDGET_ACTS - na ? ns : GS_RUN_MAX_BUDGET_ACTS - na;
        memset(c->soft_mask, 0, (size_t)c->cfg.nbudgets);
    }
    for (int i = 0; i < c->cfg.nscalers; i++) c->to_min[i] = false;
    for (int32_t a = 0; a < na; a++) {
        if (acts[a].kind != GS_BACT_SCALE_TO_MIN) continue;
        for (int i = 0; i < c->cfg.nscalers; i++) {
            const gs_scaler *sc = &c->cfg.scalers[i];
            if (strcmp(sc->project[0] ? sc->project : sc->ns, acts[a].project) == 0) c->to_min[i] = true;
        }
    }
    int sent = gs_costgov_alerts(c->ledger, c->tr.states, acts, na, now, &e);
    if (sent < 0) {
        rc = sent;
        goto fail;
    }
    c->alerts_sent += sent;
    return;
fail:
    c->meter_errors++;
    c->metered_until = -1; /* re-read the ledger next time (another writer, a conflict) */
    gs_log_error("metering failed", "err=\"%s\"", rc == GS_ENOMEM ? "out of memory" : e.msg);
}

/* nvidia.com/mig.config for a layout: "all-<profile>" when every GPU is filled with one
 * profile (mig-parted's stock names), else "gpuscale-<profile>x<count>-..." from the counts
 * (a config of that name must exist in the GPU Operator's mig-parted ConfigMap). */
static void mig_config_name(const gs_gpu_model *m, const gs_launch_req *req, char *out, size_t n) {
    out[0] = '\0';
    int counts[GS_MIG_MAX_PROFILES] = {0};
    int nmig = 0, nprof = 0, last = -1;
    for (int g = 0; g < req->ngpus; g++) {
        if (req->gpus[g].mode != GS_GPUMODE_MIG) continue;
        nmig++;
        for (int p = 0; p < req->gpus[g].nparts; p++) {
            int pi = req->gpus[g].parts[p].profile;
            if (pi < 0 || pi >= GS_MIG_MAX_PROFILES) continue;
            if (!counts[pi]++) nprof++;
            last = pi;
        }
    }
    if (nmig == 0 || last < 0) return;
    if (nprof == 1 && nmig == req->ngpus && counts[last] == nmig * m->profiles[last].max_count) {
        snprintf(out, n, "all-%s", m->profiles[last].name);
        return;
    }
    int w = snprintf(out, n, "gpuscale");
    for (int pi = 0; pi < m->nprofiles && pi < GS_MIG_MAX_PROFILES && w > 0 && (size_t)w < n; pi++)
        if (counts[pi]) w += snprintf(out + w, n - (size_t)w, "-%sx%d", m->profiles[pi].name, counts[pi]);
}

/* A LAUNCH of the step -> a launch request: its instance type, capacity type and pool; the
 * zone its pods pinned (li); the pool's labels and taints; each GPU in the pool's sharing mode,
 * a MIG GPU in the layout the step's CONFIGURE_GPU gave it (cfg[g] where has[g]; the step
 * completes it with gs_rc_complete_layout, shared with the simulator). */
static void launch_request(const ctl *c, const gs_action *a, const gs_rc_launch *li, const gs_gpu_state *cfg,
                           const bool *has, gs_launch_req *req) {
    const gs_itype *t = &c->cat.types[a->itype];
    const gs_pool *p = &c->cfg.pools[a->pool];
    const gs_gpu_model *m = itype_model(c, a->itype);
    memset(req, 0, sizeof *req);
    char sfx[16];
    random_suffix(sfx, sizeof sfx);
    snprintf(req->node_name, sizeof req->node_name, "gs-%s-%s", p->name, sfx);
    snprintf(req->itype, sizeof req->itype, "%s", t->name);
    snprintf(req->pool, sizeof req->pool, "%s", p->name);
    snprintf(req->zone, sizeof req->zone, "%s", li ? li->zone : "");
    req->capacity = a->cap;
    for (int l = 0; l < p->nlabels && req->nlabels < GS_MAX_LABELS; l++) req->labels[req->nlabels++] = p->labels[l];
    for (int l = 0; l < p->ntaints && req->ntaints < GS_MAX_TAINTS; l++) req->taints[req->ntaints++] = p->taints[l];
    req->ngpus = (uint8_t)(t->gpus > GS_NODE_MAX_GPUS ? GS_NODE_MAX_GPUS : t->gpus < 0 ? 0 : t->gpus);
    bool mig = p->sharing == GS_SHARE_MIG && m && gs_gpu_has_mig(m);
    for (int g = 0; g < req->ngpus; g++) {
        gs_gpu_state *s = &req->gpus[g];
        memset(s, 0, sizeof *s);
        if (p->sharing == GS_SHARE_TIMESLICING) {
            s->mode = GS_GPUMODE_TIMESLICED;
            s->ts_replicas = (int16_t)p->ts_replicas;
        } else if (p->sharing == GS_SHARE_FRACTIONAL) {
            s->mode = GS_GPUMODE_FRACTIONAL;
        } else if (mig && has[g] && cfg[g].mode == GS_GPUMODE_MIG && cfg[g].nparts > 0) {
            s->mode = GS_GPUMODE_MIG;
            s->nparts = cfg[g].nparts;
            memcpy(s->parts, cfg[g].parts, sizeof s->parts);
            for (int q = 0; q < s->nparts; q++) s->parts[q].used = false; /* a layout, not a use */
        } else {
            s->mode = GS_GPUMODE_WHOLE;
        }
    }
    if (mig) mig_config_name(m, req, req->mig_config, sizeof req->mig_config);
    /* a time-slicing pool's node starts with its device plugin config named (the label the
     * GPU Operator's device plugin reads when it starts there) */
    if (p->sharing == GS_SHARE_TIMESLICING && req->ngpus > 0 && req->nlabels < GS_MAX_LABELS) {
        gs_kv *kv = &req->labels[req->nlabels++];
        snprintf(kv->key, sizeof kv->key, "%s", GS_DP_CONFIG_LABEL);
        gs_dp_key(p->ts_replicas, kv->value, sizeof kv->value);
    }
}

/* ---- MIG reconfiguration of registered nodes, the GPU Operator way ---- */

/* mig-parted entries for a node's layout: one per GPU ({devices: [g], mig-enabled, mig-devices:
 * {profile: count}}), or one {devices: all} entry when every GPU is alike. */
static json_t *mig_parted_entries(const gs_gpu_model *m, const gs_gpu_state *gpus, int ngpus) {
    json_t *arr = json_array();
    bool alike = true;
    json_t *per[GS_NODE_MAX_GPUS];
    for (int g = 0; g < ngpus; g++) {
        json_t *devs = json_object();
        bool on = gpus[g].mode == GS_GPUMODE_MIG && gpus[g].nparts > 0;
        for (int q = 0; on && q < gpus[g].nparts; q++) {
            int pi = gpus[g].parts[q].profile;
            if (pi < 0 || pi >= m->nprofiles) continue;
            json_t *v = json_object_get(devs, m->profiles[pi].name);
            json_object_set_new(devs, m->profiles[pi].name, json_integer(v ? json_integer_value(v) + 1 : 1));
        }
        per[g] = json_pack("{s:[i],s:b,s:o}", "devices", g, "mig-enabled", on, "mig-devices", devs);
        if (g > 0 && !json_equal(json_object_get(per[g], "mig-devices"), json_object_get(per[0], "mig-devices"))) alike = false;
        if (g > 0 && json_is_true(json_object_get(per[g], "mig-enabled")) != json_is_true(json_object_get(per[0], "mig-enabled")))
            alike = false;
    }
    if (alike && ngpus > 0) {
        json_object_set_new(per[0], "devices", json_string("all"));
        json_array_append(arr, per[0]);
    } else {
        for (int g = 0; g < ngpus; g++) json_array_append(arr, per[g]);
    }
    for (int g = 0; g < ngpus; g++) json_decref(per[g]);
    return arr;
}

/* Adds config `name` to the mig-parted ConfigMap (created when missing; key config.yaml, JSON
 * being YAML). Per-node configs ("gpuscale." prefix) no node's label names any more are
 * dropped, so the ConfigMap does not grow without bound. */
static int mig_config_put(ctl *c, const char *name, const json_t *entries, gs_error *e) {
    if (json_object_get(c->mig_written, name)) return 0;
    if (mono_ms() < c->mig_cm_retry_at)
        return gs_error_set(e, GS_EIO, "configmap %s/%s: the last write failed; retrying later", c->mig_cm_ns, c->mig_cm_name);
    c->mig_cm_retry_at = mono_ms() + 30000; /* cleared on success */
    char path[800], coll[400];
    snprintf(coll, sizeof coll, "/api/v1/namespaces/%s/configmaps", c->mig_cm_ns);
    snprintf(path, sizeof path, "%s/%s", coll, c->mig_cm_name);
    json_t *cm = NULL, *docs = NULL, *cfg = NULL;
    int rc = gs_kube_get(c->k, path, &cm, e);
    if (rc && rc != GS_ENOENT) return rc;
    const char *text = cm ? json_string_value(json_object_get(json_object_get(cm, "data"), "config.yaml")) : NULL;
    if (text && gs_yaml_to_json(text, strlen(text), "config.yaml", &docs, e) == 0 &&
        json_is_object(json_array_get(docs, 0)))
        cfg = json_incref(json_array_get(docs, 0));
    else if (text) {
        rc = gs_error_set(e, GS_EPARSE, "configmap %s/%s: config.yaml is not a mig-parted config: %s", c->mig_cm_ns,
                          c->mig_cm_name, e->msg);
        goto out;
    } else {
        cfg = json_pack("{s:s,s:{s:[{s:s,s:b}]}}", "version", "v1", "mig-configs", "all-disabled", "devices", "all",
                        "mig-enabled", 0);
    }
    json_t *mc = json_object_get(cfg, "mig-configs");
    if (!json_is_object(mc)) {
        mc = json_object();
        json_object_set_new(cfg, "mig-configs", mc);
    }
    /* prune per-node configs no node uses (a reconfiguration in progress uses its config even
     * before the cache shows its label: two started in one tick must not drop each other's) */
    json_t *used = json_object();
    for (int i = 0; i < c->nmops; i++) json_object_set_new(used, c->mops[i].config, json_true());
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), k, v) {
        const char *l = json_string_value(json_object_get(json_object_get(json_object_get(v, "metadata"), "labels"), "nvidia.com/mig.config"));
        if (l) json_object_set_new(used, l, json_true());
    }
    void *tmp;
    json_object_foreach_safe(mc, tmp, k, v) if (strncmp(k, "gpuscale.", 9) == 0 && !json_object_get(used, k)) {
        json_object_del(c->mig_written, k);
        json_object_del(mc, k);
    }
    json_decref(used);
    json_object_set(mc, name, (json_t *)(uintptr_t)entries);
    char *dump = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!dump) {
        rc = GS_ENOMEM;
        goto out;
    }
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                            "name", c->mig_cm_name, "namespace", c->mig_cm_ns, "labels", "app.kubernetes.io/managed-by",
                            "gpuscale", "data", "config.yaml", dump);
    free(dump);
    if (cm) {
        json_t *patch = json_pack("{s:O}", "data", json_object_get(obj, "data"));
        rc = gs_kube_merge_patch(c->k, path, patch, NULL, e);
        json_decref(patch);
    } else {
        rc = gs_kube_create(c->k, coll, obj, NULL, e);
    }
    json_decref(obj);
    if (rc == 0) {
        json_object_set_new(c->mig_written, name, json_true());
        c->mig_cm_retry_at = 0;
    }
out:
    json_decref(cfg);
    json_decref(docs);
    json_decref(cm);
    return rc;
}

/* FNV-1a, for short config names that change with the layout. */
static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Repartitions idle GPUs of a registered node as the plan asks: the node's whole layout goes
 * into the mig-parted ConfigMap as config "gpuscale.<hash>.<node>", the node is cordoned (the
 * plan repartitions only GPUs no pod holds, so there is nothing to evict), and its label
 * nvidia.com/mig.config names the config (state set to pending: the success that follows is
 * for this config). mig_tick waits for nvidia.com/mig.config.state. */
static void mig_start(ctl *c, const gs_node *n, const gs_gpu_state *target, int64_t now) {
    if (c->nmops >= MAX_MIG_OPS) return;
    const gs_itype *t = &c->cat.types[n->itype];
    const gs_gpu_model *m = t->gpus > 0 && t->gpu_model >= 0 ? gs_gpu_get(t->gpu_model) : NULL;
    if (!m || !gs_gpu_has_mig(m)) return;
    json_t *entries = mig_parted_entries(m, target, n->ngpus);
    char *dump = json_dumps(entries, JSON_COMPACT | JSON_SORT_KEYS);
    char seed[GS_OBJ_NAME + 4096];
    /* a new name per attempt: mig-manager acts on a label change, so a retry after a failure
     * must name a config it has not tried */
    snprintf(seed, sizeof seed, "%s|%s|%lld", n->name, dump ? dump : "", (long long)wall_ms());
    free(dump);
    mig_op *op = &c->mops[c->nmops];
    memset(op, 0, sizeof *op);
    snprintf(op->node, sizeof op->node, "%s", n->name);
    int w = snprintf(op->config, sizeof op->config, "gpuscale.%08x.%.44s", fnv1a(seed), n->name);
    /* a label value ends with an alphanumeric character */
    for (w = (int)strlen(op->config); w > 0 && !((op->config[w - 1] >= 'a' && op->config[w - 1] <= 'z') ||
                                                  (op->config[w - 1] >= '0' && op->config[w - 1] <= '9'));
         w--)
        op->config[w - 1] = '\0';
    op->at = now;
    op->ngpus = n->ngpus;
    memcpy(op->gpus, target, sizeof op->gpus);
    gs_error e;
    gs_error_clear(&e);
    int rc = mig_config_put(c, op->config, entries, &e);
    json_decref(entries);
    if (rc) {
        gs_log_error("MIG reconfiguration not started", "node=%s err=\"%s\"", n->name, e.msg);
        json_object_set_new(c->mig_backoff, n->name, json_integer(now + 30000));
        return;
    }
    if (!n->cordoned) { /* marked, so that a new leader finishes it (reconf_resume) */
        if ((rc = node_disrupt_mark(c, n->name, "reconfigure", &e))) {
            gs_log_error("MIG reconfiguration not started", "node=%s err=\"cordon: %s\"", n->name, e.msg);
            return;
        }
        op->cordoned = true;
    }
    char path[400];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", n->name);
    json_t *patch = json_pack("{s:{s:{s:s,s:s}}}", "metadata", "labels", "nvidia.com/mig.config", op->config,
                              "nvidia.com/mig.config.state", "pending");
    rc = gs_kube_merge_patch(c->k, path, patch, NULL, &e);
    json_decref(patch);
    if (rc) {
        gs_log_error("MIG reconfiguration not started", "node=%s err=\"label: %s\"", n->name, e.msg);
        if (op->cordoned) node_disrupt_mark(c, n->name, NULL, &e);
        return;
    }
    c->nmops++;
    c->decisions++;
    char msg[900];
    snprintf(msg, sizeof msg, "gpuscale: repartitioning idle MIG GPU(s) for pending pods: nvidia.com/mig.config=%s "
             "(configmap %s/%s); node cordoned until the GPU Operator reports success", op->config, c->mig_cm_ns,
             c->mig_cm_name);
    gs_log_info("MIG reconfiguration started", "node=%s config=%s", n->name, op->config);
    gs_kube_event(c->k, "v1", "Node", "", n->name, "", "Normal", "MIGReconfiguring", msg, &e);
}

/* Waits for nvidia.com/mig.config.state: success -> uncordon; failed (or no answer in 10 min)
 * -> Warning Event, uncordon, no new reconfiguration of the node for 5 min. */
static void mig_tick(ctl *c, int64_t now) {
    for (int i = 0; i < c->nmops;) {
        mig_op *op = &c->mops[i];
        const json_t *node = gs_informer_get(c->nodes, NULL, op->node);
        const json_t *l = json_object_get(json_object_get(node, "metadata"), "labels");
        const char *cfg = json_string_value(json_object_get(l, "nvidia.com/mig.config"));
        const char *st = json_string_value(json_object_get(l, "nvidia.com/mig.config.state"));
        if (op->done) { /* until the cache shows it schedulable again, plan on the layout asked for */
            if (!node || !op->cordoned || !json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")) ||
                now - op->at > 600000)
                c->mops[i] = c->mops[--c->nmops];
            else
                i++;
            continue;
        }
        bool mine = cfg && strcmp(cfg, op->config) == 0;
        bool ok = node && mine && st && strcmp(st, "success") == 0;
        /* our label may not be in the cache yet: someone else's value counts after 30 s only */
        bool failed = node && ((mine && st && strcmp(st, "failed") == 0) || (!mine && now - op->at > 30000) ||
                               now - op->at > 600000);
        if (!node || ok || failed) {
            gs_error e;
            gs_error_clear(&e);
            if (node && op->cordoned) node_disrupt_mark(c, op->node, NULL, &e);
            if (ok) {
                c->mig_ok++;
                gs_log_info("MIG reconfigured", "node=%s config=%s", op->node, op->config);
                gs_kube_event(c->k, "v1", "Node", "", op->node, "", "Normal", "MIGReconfigured",
                              "gpuscale: the GPU Operator applied the new MIG layout; node uncordoned", &e);
                op->done = true;
                i++;
                continue;
            } else if (failed) {
                c->mig_failed++;
                const char *why = !mine ? "nvidia.com/mig.config was changed by someone else"
                                  : now - op->at > 600000 ? "no answer from the GPU Operator in 10 minutes"
                                                          : "nvidia.com/mig.config.state=failed";
                char msg[400];
                snprintf(msg, sizeof msg, "gpuscale: MIG reconfiguration to %s failed (%s); node uncordoned, "
                         "no new attempt for %llds", op->config, why, (long long)(c->mig_retry_ms / 1000));
                gs_log_warn("MIG reconfiguration failed", "node=%s config=%s reason=\"%s\"", op->node, op->config, why);
                gs_kube_event(c->k, "v1", "Node", "", op->node, "", "Warning", "MIGReconfigFailed", msg, &e);
                json_object_set_new(c->mig_backoff, op->node, json_integer(now + c->mig_retry_ms));
                if (node && op->cordoned) { /* as after success: until the cache shows the uncordon */
                    op->done = op->failed = true;
                    i++;
                    continue;
                }
            }
            c->mops[i] = c->mops[--c->nmops];
            continue;
        }
        i++;
    }
}

/* The step's CONFIGURE_GPU actions on registered nodes (idle MIG GPUs repartitioned for pending
 * pods) -> mig_start, one per node, with every GPU of the node the step names in the layout it
 * gives (completed by the step for the pool's MIG profiles). */
static void mig_configure(ctl *c, const rc_view *v, int64_t now) {
    const gs_rc_output *o = &v->out;
    for (int32_t k = 0; k < o->n; k++) {
        const gs_action *a = &o->acts[k];
        if (a->type != GS_ACT_CONFIGURE_GPU || a->node < 0 || a->node >= v->nnodes || v->inflight[a->node]) continue;
        bool first = true;
        for (int32_t q = 0; q < k; q++)
            first &= !(o->acts[q].type == GS_ACT_CONFIGURE_GPU && o->acts[q].node == a->node);
        const char *name = v->nname[a->node];
        if (!first || mig_op_find(c, name) >= 0) continue;
        json_t *until = json_object_get(c->mig_backoff, name);
        if (until && now < json_integer_value(until)) continue;
        json_object_del(c->mig_backoff, name);
        gs_node n;
        const json_t *node = gs_informer_get(c->nodes, NULL, name);
        if (!node || !cache_node(c, name, node, &n)) continue;
        const gs_gpu_model *m = itype_model(c, n.itype);
        if (!m || !gs_gpu_has_mig(m)) continue;
        gs_gpu_state target[GS_NODE_MAX_GPUS];
        memcpy(target, v->nodes[a->node].gpus, sizeof target);
        bool any = false;
        for (int32_t q = k; q < o->n; q++) {
            const gs_action *b = &o->acts[q];
            if (b->type != GS_ACT_CONFIGURE_GPU || b->node != a->node || b->gpu < 0 || b->gpu >= n.ngpus) continue;
            if (b->mode != GS_GPUMODE_MIG) continue; /* run applies MIG layouts; other modes come with the pool */
            gs_gpu_state *s = &target[b->gpu];
            s->mode = b->layout.n > 0 ? GS_GPUMODE_MIG : GS_GPUMODE_WHOLE;
            s->nparts = b->layout.n;
            memcpy(s->parts, b->layout.parts, sizeof s->parts);
            any = true;
        }
        if (!any) continue;
        for (int g = 0; g < n.ngpus; g++) { /* a layout, not a use */
            target[g].whole_used = false;
            target[g].pods = 0;
            target[g].ts_used = 0;
            target[g].milli_used = 0;
            for (int q = 0; q < target[g].nparts; q++) target[g].parts[q].used = false;
        }
        mig_start(c, &n, target, now);
    }
}

/* ---- time-slicing of registered nodes, the device plugin way (io/kube/devplugin.h) ---- */

/* How long after a failed ConfigMap write the next is tried: 30 s, or --mig-retry-after when
 * shorter. */
static int64_t ts_retry_ms(const ctl *c) { return c->mig_retry_ms < 30000 ? c->mig_retry_ms : 30000; }

/* Puts gpuscale's time-slicing config for `replicas` into the device plugin's ConfigMap (one
 * key per config, GS_DP_KEY_PREFIX<replicas>; created when missing; other keys are never
 * touched: a JSON merge patch of the one key). A key that is already there is checked, never
 * overwritten: one that is not a device plugin config (not YAML, wrong types) or says other
 * replicas is an error with the reason (the ConfigMap is someone's to fix). */
static int ts_config_put(ctl *c, int32_t replicas, gs_error *e) {
    char key[64];
    gs_dp_key(replicas, key, sizeof key);
    if (json_object_get(c->ts_written, key)) return 0;
    if (mono_ms() < c->ts_cm_retry_at)
        return gs_error_set(e, GS_EIO, "configmap %s/%s: the last write failed; retrying later", c->dp_cm_ns, c->dp_cm_name);
    c->ts_cm_retry_at = mono_ms() + ts_retry_ms(c); /* cleared on success */
    char path[800], coll[400], where[900];
    snprintf(coll, sizeof coll, "/api/v1/namespaces/%s/configmaps", c->dp_cm_ns);
    snprintf(path, sizeof path, "%s/%s", coll, c->dp_cm_name);
    snprintf(where, sizeof where, "configmap %s/%s key %s", c->dp_cm_ns, c->dp_cm_name, key);
    json_t *cm = NULL;
    int rc = gs_kube_get(c->k, path, &cm, e);
    if (rc && rc != GS_ENOENT) return rc;
    const json_t *data = json_object_get(cm, "data");
    const json_t *have = json_object_get(data, key);
    if (cm && data && !json_is_object(data)) {
        rc = gs_error_set(e, GS_EPARSE, "configmap %s/%s: data is not a map of config files; not overwritten",
                          c->dp_cm_ns, c->dp_cm_name);
    } else if (have) { /* there already: ours, or someone's we do not overwrite */
        int32_t r = 0;
        bool rename = false;
        if (!json_is_string(have))
            rc = gs_error_set(e, GS_EPARSE, "%s: not a config file (a %s); not overwritten", where,
                              json_is_object(have) ? "mapping" : "non-string");
        else if ((rc = gs_dp_config_parse(json_string_value(have), where, &r, &rename, e)) == 0 && (r != replicas || !rename))
            rc = gs_error_set(e, GS_EPARSE, "%s: holds another config (time-slicing replicas %d, renameByDefault %s), "
                              "not gpuscale's (replicas %d, renameByDefault true); not overwritten", where, (int)r,
                              rename ? "true" : "false", (int)replicas);
        else if (rc)
            snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), "; not overwritten");
    } else {
        json_t *cfg = gs_dp_config(replicas);
        char *dump = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL; /* JSON is YAML */
        json_decref(cfg);
        if (!dump) {
            json_decref(cm);
            return GS_ENOMEM;
        }
        if (cm) {
            json_t *patch = json_pack("{s:{s:s}}", "data", key, dump);
            rc = gs_kube_merge_patch(c->k, path, patch, NULL, e);
            json_decref(patch);
        } else {
            json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                                    "metadata", "name", c->dp_cm_name, "namespace", c->dp_cm_ns, "labels",
                                    "app.kubernetes.io/managed-by", "gpuscale", "data", key, dump);
            rc = gs_kube_create(c->k, coll, obj, NULL, e);
            json_decref(obj);
        }
        free(dump);
    }
    json_decref(cm);
    if (rc == 0) {
        json_object_set_new(c->ts_written, key, json_true());
        c->ts_cm_retry_at = 0;
    }
    return rc;
}

/* Switches a registered node of a time-slicing pool to `replicas`: the config goes into the
 * device plugin's ConfigMap, the node is cordoned (gpuscale.dev/disruption=reconfigure) and
 * labelled nvidia.com/device-plugin.config=<key>; ts_tick waits until it advertises the
 * replicas. The caller checked that no GPU pod is bound there. */
static void ts_start(ctl *c, const char *name, bool cordoned, int32_t replicas, int64_t now) {
    if (c->ntops >= MAX_TS_OPS) return;
    gs_error e;
    gs_error_clear(&e);
    ts_op *op = &c->tops[c->ntops];
    memset(op, 0, sizeof *op);
    snprintf(op->node, sizeof op->node, "%s", name);
    gs_dp_key(replicas, op->key, sizeof op->key);
    op->replicas = replicas;
    op->at = now;
    int rc = ts_config_put(c, replicas, &e);
    if (rc) {
        gs_log_error("time-slicing not started", "node=%s config=%s err=\"%s\"", name, op->key, e.msg);
        json_object_set_new(c->ts_backoff, name, json_integer(now + ts_retry_ms(c)));
        return;
    }
    if (!cordoned) {
        if ((rc = node_disrupt_mark(c, name, "reconfigure", &e))) {
            gs_log_error("time-slicing not started", "node=%s err=\"cordon: %s\"", name, e.msg);
            return;
        }
        op->cordoned = true;
    }
    char path[400];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", name);
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", GS_DP_CONFIG_LABEL, op->key);
    rc = gs_kube_merge_patch(c->k, path, patch, NULL, &e);
    json_decref(patch);
    if (rc) {
        gs_log_error("time-slicing not started", "node=%s err=\"label: %s\"", name, e.msg);
        if (op->cordoned) node_disrupt_mark(c, name, NULL, &e);
        return;
    }
    c->ntops++;
    c->decisions++;
    char msg[900];
    snprintf(msg, sizeof msg, "gpuscale: switching the node's idle GPUs to time-slicing with %d replicas for pending "
             "pods: nvidia.com/device-plugin.config=%s (configmap %s/%s); node cordoned until it advertises "
             "nvidia.com/gpu.shared", (int)replicas, op->key, c->dp_cm_ns, c->dp_cm_name);
    gs_log_info("time-slicing reconfiguration started", "node=%s config=%s replicas=%d", name, op->key, (int)replicas);
    gs_kube_event(c->k, "v1", "Node", "", name, "", "Normal", "TimeSlicingConfiguring", msg, &e);
}

/* The step's CONFIGURE_GPU actions with mode TIMESLICED on registered nodes (switch_modes: idle
 * whole GPUs of a time-slicing pool's node) -> ts_start, once per node, for every GPU of the
 * node (the device plugin's config is per node): only when no GPU pod is bound there (the view
 * locks such a node's layout, so the packer does not plan it). FRACTIONAL switches are not
 * carried out (nothing advertises gpuscale.dev/gpu-milli: a fractional pool's nodes are taken
 * as fractional already, so the packer plans none). */
static void ts_configure(ctl *c, const rc_view *v, int64_t now) {
    const gs_rc_output *o = &v->out;
    for (int32_t k = 0; k < o->n; k++) {
        const gs_action *a = &o->acts[k];
        if (a->type != GS_ACT_CONFIGURE_GPU || a->mode != GS_GPUMODE_TIMESLICED || a->node < 0 || a->node >= v->nnodes ||
            v->inflight[a->node])
            continue;
        const char *name = v->nname[a->node];
        const gs_rc_node *x = &v->nodes[a->node];
        if (ts_op_find(c, name) >= 0 || mig_op_find(c, name) >= 0 || ts_locked(c, name, now)) continue;
        if (x->npods - x->npods_drainable > 0 || a->ts_replicas < 2) continue;
        const json_t *node = gs_informer_get(c->nodes, NULL, name);
        if (!node) continue;
        json_object_del(c->ts_backoff, name);
        ts_start(c, name, json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")), a->ts_replicas,
                 now);
    }
}

/* Time-slicing switches in progress, and nodes that wait for one: a node whose label
 * nvidia.com/device-plugin.config names a gpuscale config it does not advertise yet (a node
 * launched with it, or one an earlier leader switched) gets an op too (cordoned by gpuscale when
 * marked gpuscale.dev/disruption=reconfigure), so that its pods are planned on the replicas asked
 * for and the cordon is undone. Done when the node advertises the replicas (gs_dp_node_has):
 * uncordon, Event. Failed (the label changed by someone else, or no answer in
 * --timeslicing-timeout): Warning Event, the label removed (the device plugin's default config),
 * uncordon, and the node's layout locked for --mig-retry-after so its pods go elsewhere. */
static void ts_tick(ctl *c, int64_t now) {
    const char *key;
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
        const json_t *md = json_object_get(node, "metadata");
        const json_t *l = json_object_get(md, "labels");
        int32_t r = gs_dp_key_replicas(json_string_value(json_object_get(l, GS_DP_CONFIG_LABEL)));
        if (r < 0 || ts_op_find(c, key) >= 0 || c->ntops >= MAX_TS_OPS) continue;
        const json_t *until = json_object_get(c->ts_backoff, key);
        if (until && now < json_integer_value(until)) continue;
        gs_node n;
        if (!cache_node(c, key, node, &n) || c->cfg.pools[n.pool].sharing != GS_SHARE_TIMESLICING) continue;
        if (gs_dp_node_has(l, json_object_get(json_object_get(node, "status"), "allocatable"), n.ngpus, r)) continue;
        const char *dis = json_string_value(json_object_get(json_object_get(md, "annotations"), GS_DISRUPTION_ANN));
        ts_op *op = &c->tops[c->ntops++];
        memset(op, 0, sizeof *op);
        snprintf(op->node, sizeof op->node, "%s", key);
        gs_dp_key(r, op->key, sizeof op->key);
        op->replicas = r;
        op->at = now;
        op->cordoned = n.cordoned && dis && strcmp(dis, "reconfigure") == 0;
        if (op->cordoned) c->resumed++;
        gs_log_info(op->cordoned ? "time-slicing reconfiguration resumed" : "waiting for the device plugin",
                    "node=%s config=%s replicas=%d", key, op->key, (int)r);
    }
    for (int i = 0; i < c->ntops;) {
        ts_op *op = &c->tops[i];
        node = (json_t *)(uintptr_t)gs_informer_get(c->nodes, NULL, op->node);
        const json_t *l = json_object_get(json_object_get(node, "metadata"), "labels");
        if (op->done) { /* until the cache shows it schedulable again, plan on the replicas */
            if (!node || !json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")) ||
                now - op->at > c->ts_timeout_ms + 60000)
                c->tops[i] = c->tops[--c->ntops];
            else
                i++;
            continue;
        }
        if (!node) {
            c->tops[i] = c->tops[--c->ntops];
            continue;
        }
        const char *have = json_string_value(json_object_get(l, GS_DP_CONFIG_LABEL));
        bool mine = have && strcmp(have, op->key) == 0;
        gs_node n;
        bool ok = mine && cache_node(c, op->node, node, &n) &&
                  gs_dp_node_has(l, json_object_get(json_object_get(node, "status"), "allocatable"), n.ngpus, op->replicas);
        /* our label may not be in the cache yet: someone else's value counts after 30 s only */
        bool failed = (!mine && now - op->at > 30000) || now - op->at > c->ts_timeout_ms;
        if (!ok && !failed) {
            i++;
            continue;
        }
        gs_error e;
        gs_error_clear(&e);
        if (ok) {
            c->ts_ok++;
            if (op->cordoned && node_disrupt_mark(c, op->node, NULL, &e))
                gs_log_warn("uncordon failed", "node=%s err=\"%s\"", op->node, e.msg);
            char msg[300];
            snprintf(msg, sizeof msg, "gpuscale: the device plugin advertises %d time-sliced replicas per GPU%s",
                     (int)op->replicas, op->cordoned ? "; node uncordoned" : "");
            gs_log_info("time-slicing configured", "node=%s config=%s replicas=%d", op->node, op->key, (int)op->replicas);
            gs_kube_event(c->k, "v1", "Node", "", op->node, "", "Normal", "TimeSlicingConfigured", msg, &e);
        } else {
            c->ts_failed++;
            const char *why = !mine ? "nvidia.com/device-plugin.config was changed by someone else"
                                    : "the device plugin did not advertise the replicas in time";
            char msg[600];
            snprintf(msg, sizeof msg, "gpuscale: time-slicing with %d replicas (%s %s) failed: %s; %s, node %s, its "
                     "layout not changed again for %llds", (int)op->replicas, GS_DP_CONFIG_LABEL, op->key, why,
                     mine ? "label removed" : "label left", op->cordoned ? "uncordoned" : "left as it was",
                     (long long)(c->mig_retry_ms / 1000));
            gs_log_warn("time-slicing reconfiguration failed", "node=%s config=%s reason=\"%s\"", op->node, op->key, why);
            gs_kube_event(c->k, "v1", "Node", "", op->node, "", "Warning", "TimeSlicingConfigFailed", msg, &e);
            if (mine) {
                char path[400];
                snprintf(path, sizeof path, "/api/v1/nodes/%s", op->node);
                json_t *patch = json_pack("{s:{s:{s:n}}}", "metadata", "labels", GS_DP_CONFIG_LABEL);
                if (gs_kube_merge_patch(c->k, path, patch, NULL, &e))
                    gs_log_warn("label removal failed", "node=%s err=\"%s\"", op->node, e.msg);
                json_decref(patch);
            }
            if (op->cordoned && node_disrupt_mark(c, op->node, NULL, &e))
                gs_log_warn("uncordon failed", "node=%s err=\"%s\"", op->node, e.msg);
            json_object_set_new(c->ts_backoff, op->node, json_integer(now + c->mig_retry_ms));
            if (op->cordoned && mine) { /* the backoff keeps the node from being adopted again */
                op->done = true;
                i++;
                continue;
            }
        }
        if (op->cordoned) {
            op->done = true;
            i++;
        } else {
            c->tops[i] = c->tops[--c->ntops];
        }
    }
    json_t *x;
    void *tmp;
    json_object_foreach_safe(c->ts_backoff, tmp, key, x) if (now >= json_integer_value(x)) json_object_del(c->ts_backoff, key);
}

/* gpuscale's own cordons that no operation of this replica holds (a leader change, a restart):
 *   - a node whose pool is gone (its GPUPool deleted, or its pool label removed): the cordon is
 *     undone whatever its kind (uncordon, annotation removed, Event), drains included;
 *   - gpuscale.dev/disruption=reconfigure on a MIG pool's node: resumed as a mig_op on the
 *     config its label names (mig_tick: success -> uncordon; failed or 10 min -> the failure
 *     path); on a time-slicing pool's node whose label names a gpuscale config it does not
 *     advertise: ts_tick adopts it; anything else (nothing in progress): uncordoned.
 * consolidate/repack cordons are resumed by the view (view_build). An admin's cordon (no
 * annotation) is never touched. */
static void reconf_resume(ctl *c, int64_t now) {
    const char *key;
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(c->nodes), key, node) {
        const json_t *md = json_object_get(node, "metadata");
        const char *dis = json_string_value(json_object_get(json_object_get(md, "annotations"), GS_DISRUPTION_ANN));
        if (!dis || mig_op_find(c, key) >= 0 || ts_op_find(c, key) >= 0) continue;
        bool cordoned = json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
        const char *pn = node_pool(node);
        int pi = pn ? gs_config_find_pool(&c->cfg, pn) : -1;
        gs_error e;
        gs_error_clear(&e);
        if (pi < 0 || strcmp(dis, "reconfigure") == 0) {
            const json_t *l = json_object_get(md, "labels");
            const char *mcfg = json_string_value(json_object_get(l, "nvidia.com/mig.config"));
            const char *st = json_string_value(json_object_get(l, "nvidia.com/mig.config.state"));
            if (pi >= 0 && cordoned && c->cfg.pools[pi].sharing == GS_SHARE_MIG && mcfg && st && c->nmops < MAX_MIG_OPS &&
                strlen(mcfg) < sizeof c->mops[0].config) {
                mig_op *op = &c->mops[c->nmops++];
                memset(op, 0, sizeof *op);
                snprintf(op->node, sizeof op->node, "%s", key);
                snprintf(op->config, sizeof op->config, "%s", mcfg);
                op->at = now;
                op->cordoned = true;
                c->resumed++;
                gs_log_info("MIG reconfiguration resumed", "node=%s config=%s state=%s", key, mcfg, st);
                continue;
            }
            if (pi >= 0 && cordoned && c->cfg.pools[pi].sharing == GS_SHARE_TIMESLICING &&
                gs_dp_key_replicas(json_string_value(json_object_get(l, GS_DP_CONFIG_LABEL))) > 0) {
                const json_t *until = json_object_get(c->ts_backoff, key);
                gs_node n;
                if ((!until || now >= json_integer_value(until)) && cache_node(c, key, node, &n) &&
                    !gs_dp_node_has(l, json_object_get(json_object_get(node, "status"), "allocatable"), n.ngpus,
                                    gs_dp_key_replicas(json_string_value(json_object_get(l, GS_DP_CONFIG_LABEL)))))
                    continue; /* ts_tick adopts it */
            }
            if (node_disrupt_mark(c, key, NULL, &e)) {
                gs_log_warn("uncordon failed", "node=%s err=\"%s\"", key, e.msg);
                continue;
            }
            json_object_del(c->draining, key);
            c->undone++;
            const char *why = pi < 0 ? "its GPUPool is gone" : "no reconfiguration is in progress";
            char msg[400];
            snprintf(msg, sizeof msg, "gpuscale: %s cordon (gpuscale.dev/disruption=%s) undone: %s; node uncordoned",
                     cordoned ? "its" : "the mark of a", dis, why);
            gs_log_info("disruption undone", "node=%s kind=%s pool=%s reason=\"%s\"", key, dis, pn ? pn : "-", why);
            gs_kube_event(c->k, "v1", "Node", "", key, "", "Normal", "DisruptionUndone", msg, &e);
        }
    }
}

/* Every tick: the caches -> gs_reconcile_step (the simulator's step: the packer with the budget
 * gate, layouts, consolidation) -> its LAUNCH actions through the provider (the MIG layout its
 * CONFIGURE_GPU actions give, named in nvidia.com/mig.config and written to the mig-parted
 * ConfigMap), its CONFIGURE_GPU actions on registered nodes through mig_start, its reasons for
 * pods left pending as Events. BIND needs nothing (kube-scheduler binds); it times the pod's
 * wait for its launch. DELETE_NODE and REPACK_NODE are carried out by consolidate_tick. */
static void capacity_tick(ctl *c, int64_t now, rc_view *v) {
    gs_error e;
    gs_error_clear(&e);
    int rc = view_build(c, now, v);
    if (rc) {
        gs_log_error("reconcile view failed", "err=\"out of memory\"");
        return;
    }
    gs_rc_input in;
    memset(&in, 0, sizeof in);
    in.now = now;
    in.cat = &c->cat;
    in.pools = c->cfg.pools;
    in.npools = c->cfg.npools;
    in.nodes = v->nodes;
    in.nnodes = v->nnodes;
    in.pods = v->pods;
    in.npods = v->npods;
    in.wls = v->wls;
    in.nwl = c->cfg.nscalers;
    in.no_scale = true; /* scale_tick scales, every 100 ms (header) */
    in.repack = c->repack_headroom >= 0;
    in.repack_headroom = c->repack_headroom;
    in.repack_past_unplaced = true; /* a pod nothing can take would hold repacking back for ever */
    in.switch_modes = true; /* idle whole GPUs of time-slicing pools' nodes: ts_configure carries it out */
    gs_ms wnow = 0;
    if (!c->tr_ok && c->cfg.nbudgets > 0) {
        /* the budget windows could not be read from the ledger (meter_tick logged why): a hard
         * budget must not be bypassed, so nothing is planned until they are; and since pending
         * pods may want any node, nothing is consolidated either */
        return;
    }
    if (c->tr_ok && c->cfg.nbudgets > 0) {
        /* the budget gate: periods rolled to now, spend and rates as of the last meter tick */
        wnow = wall_ms();
        if (gs_costgov_tracker_advance(&c->tr, c->ledger, wnow, NULL, 0, &e)) {
            /* hard budgets must not be bypassed: without fresh windows nothing is launched */
            gs_log_error("budget windows unavailable: no launch this tick", "err=\"%s\"", e.msg);
            return;
        }
        in.may_add = gs_budget_gate;
        in.gate_ctx = &c->gate;
    }
    int32_t cap_acts = 256 + 2 * (v->npods + v->nnodes);
    v->unsched = malloc(sizeof *v->unsched * (size_t)(v->npending + 1));
    v->launches = malloc(sizeof *v->launches * (size_t)(v->npending + 1));
    if (!v->unsched || !v->launches) return;
    for (;;) {
        free(v->acts);
        v->acts = malloc(sizeof *v->acts * (size_t)cap_acts);
        if (!v->acts) return;
        memset(&v->out, 0, sizeof v->out);
        v->out.acts = v->acts;
        v->out.cap = cap_acts;
        v->out.unsched = v->unsched;
        v->out.cap_unsched = v->npending + 1;
        v->out.launches = v->launches;
        v->out.cap_launches = v->npending + 1;
        if (in.may_add) { /* fresh per try */
            gs_budget_gate_init(&c->gate, wnow, c->tr.states, c->tr.n, c->approved);
            c->gate.soft_mask = c->soft_mask;
        }
        gs_error_clear(&e);
        rc = gs_reconcile_step(&in, &v->out, &e);
        if (rc != GS_ETOOBIG || cap_acts > (1 << 26)) break;
        cap_acts *= 4;
    }
    if (rc) {
        gs_log_error("reconcile step failed", "err=\"%s\"", rc == GS_ENOMEM ? "out of memory" : e.msg);
        return;
    }
    v->ran = true;
    const gs_rc_output *o = &v->out;
    int32_t nl = o->nlaunches;
    int64_t *launched = calloc((size_t)nl + 1, sizeof *launched); /* when requested; 0: not */
    gs_gpu_state(*lay)[GS_NODE_MAX_GPUS] = calloc((size_t)nl + 1, sizeof *lay);
    bool(*has)[GS_NODE_MAX_GPUS] = calloc((size_t)nl + 1, sizeof *has);
    json_t *events = json_array();
    if (!launched || !lay || !has || !events) {
        free(launched);
        free(lay);
        free(has);
        json_decref(events);
        return;
    }
    /* the new nodes' GPU layouts (CONFIGURE_GPU of node -(k+1)) */
    for (int32_t i = 0; i < o->n; i++) {
        const gs_action *a = &o->acts[i];
        if (a->type != GS_ACT_CONFIGURE_GPU || a->node >= 0 || -a->node - 1 >= nl) continue;
        if (a->gpu < 0 || a->gpu >= GS_NODE_MAX_GPUS) continue;
        int32_t k = -a->node - 1;
        gs_gpu_state *s = &lay[k][a->gpu];
        s->mode = a->mode;
        if (a->mode == GS_GPUMODE_MIG) {
            s->nparts = a->layout.n;
            memcpy(s->parts, a->layout.parts, sizeof s->parts);
        }
        has[k][a->gpu] = true;
    }
    for (int32_t i = 0; i < o->n && c->ninf < MAX_INFLIGHT; i++) {
        const gs_action *a = &o->acts[i];
        if (a->type != GS_ACT_LAUNCH || a->node >= 0 || -a->node - 1 >= nl) continue;
        int32_t k = -a->node - 1;
        const gs_rc_launch *li = &v->launches[k];
        gs_launch_req req;
        launch_request(c, a, li, lay[k], has[k], &req);
        gs_instance ins;
        gs_error_clear(&e);
        c->decisions++;
        if (req.mig_config[0]) { /* the config the node's label names must exist for mig-manager */
            const gs_gpu_model *m = itype_model(c, a->itype);
            json_t *entries = m ? mig_parted_entries(m, req.gpus, req.ngpus) : NULL;
            if (entries && mig_config_put(c, req.mig_config, entries, &e))
                gs_log_warn("mig-parted config not written", "config=%s err=\"%s\"", req.mig_config, e.msg);
            json_decref(entries);
            gs_error_clear(&e);
        }
        if (c->cfg.pools[a->pool].sharing == GS_SHARE_TIMESLICING && req.ngpus > 0) {
            /* the config the node's label names must exist for the device plugin */
            if (ts_config_put(c, c->cfg.pools[a->pool].ts_replicas, &e))
                gs_log_warn("device plugin config not written", "pool=%s err=\"%s\"", req.pool, e.msg);
            gs_error_clear(&e);
        }
        if (c->prov.ops->launch(c->prov.self, &req, &ins, &e)) {
            c->launch_errors++;
            gs_log_error("launch failed", "pool=%s type=%s err=\"%s\"", req.pool, req.itype, e.msg);
            continue;
        }
        launched[k] = mono_ms();
        c->launches++;
        inflight *f = &c->inf[c->ninf++];
        snprintf(f->node, sizeof f->node, "%s", req.node_name);
        f->pool = a->pool;
        f->itype = a->itype;
        f->capacity = req.capacity;
        f->ngpus = req.ngpus;
        memcpy(f->gpus, req.gpus, sizeof f->gpus);
        f->at = launched[k];
        char price[32];
        gs_fmt_usd(li->price, price, sizeof price);
        char msg[700];
        snprintf(msg, sizeof msg, "gpuscale launched %s (%s, %s, %s/hour) for %d pending pod(s)%s%s", req.node_name,
                 req.itype, gs_capacity_name(req.capacity), price, (int)li->pods, req.mig_config[0] ? ", MIG " : "",
                 req.mig_config);
        gs_log_info("launched", "node=%s type=%s capacity=%s pool=%s pods=%d usd_per_hour=%s mig=%s", req.node_name,
                    req.itype, gs_capacity_name(req.capacity), req.pool, (int)li->pods, price,
                    req.mig_config[0] ? req.mig_config : "-");
        /* the Event is posted after every launch of this step is requested: launches first */
        json_array_append_new(events, json_pack("{s:s,s:s}", "node", req.node_name, "msg", msg));
    }
    size_t ei;
    json_t *ev;
    json_array_foreach(events, ei, ev)
        gs_kube_event(c->k, "v1", "Node", "", json_string_value(json_object_get(ev, "node")), "", "Normal", "Launched",
                      json_string_value(json_object_get(ev, "msg")), &e);
    json_decref(events);
    /* BIND: kube-scheduler binds; a pod placed on a launch (this one or one in flight) has
     * waited from its first sighting to that launch request */
    for (int32_t i = 0; i < o->n; i++) {
        const gs_action *a = &o->acts[i];
        if (a->type != GS_ACT_BIND || a->pod < 0 || a->pod >= v->npods) continue;
        if (a->node >= 0 && a->node < v->nnodes && !v->inflight[a->node]) mark_roomed(c, v->pkey[a->pod]);
        if (a->node < 0 && -a->node - 1 < nl && launched[-a->node - 1])
            record_latency(c, v->pkey[a->pod], launched[-a->node - 1]);
        else if (a->node >= 0 && a->node < v->nnodes && v->inflight[a->node])
            record_latency(c, v->pkey[a->pod], v->launched_at[a->node]);
    }
    free(launched);
    free(lay);
    free(has);
    /* idle GPUs of registered nodes the step repartitions: the GPU Operator way */
    mig_configure(c, v, now);
    /* ... or switches to time-slicing: the device plugin's per-node config */
    ts_configure(c, v, now);
    /* pods left pending: a log line and a Warning Event on the pod when the reason changes */
    json_t *seen = json_object();
    for (int32_t u = 0; u < o->nunsched; u++) {
        const gs_rc_unsched *x = &o->unsched[u];
        if (x->pod < 0 || x->pod >= v->npods) continue;
        const char *key = v->pkey[x->pod];
        const gs_kpod *pp = v->kp[x->pod];
        const char *before = json_string_value(json_object_get(c->unsched, key));
        /* a budget refusal's text moves with the clock (forecast, time left): told once */
        const char *stable = strstr(x->reason, "budget refuses") ? "(refused by budget)" : x->reason;
        json_object_set_new(seen, key, json_string(stable));
        if (before && strcmp(before, stable) == 0) continue;
        char msg[GS_PACK_REASON + 48];
        const char *project = v->pods[x->pod].project ? v->pods[x->pod].project : pp->project;
        if (strstr(x->reason, "budget refuses")) { /* the budget gate refused its node */
            c->budget_refused++;
            gs_log_warn("launch refused by budget", "pod=%s/%s project=%s reason=\"%s\"", pp->ns, pp->name, project,
                        x->reason);
            snprintf(msg, sizeof msg, "gpuscale: launch refused by budget: %s", x->reason);
            gs_kube_event(c->k, "v1", "Pod", pp->ns, pp->name, "", "Warning", "BudgetExceeded", msg, &e);
            continue;
        }
        gs_log_warn("pod unschedulable", "pod=%s/%s reason=\"%s\"", pp->ns, pp->name, x->reason);
        snprintf(msg, sizeof msg, "gpuscale: no node fits: %s", x->reason);
        gs_kube_event(c->k, "v1", "Pod", pp->ns, pp->name, "", "Warning", "NotTriggerScaleUp", msg, &e);
    }
    json_decref(c->unsched);
    c->unsched = seen;
}

/* ---- consolidation: GPU-idle nodes -> cordon -> drain (Eviction API) -> terminate ---- */

static bool annotated(const json_t *obj, const char *k) {
    const char *v = json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), k));
    return v && strcmp(v, "true") == 0;
}

/* Cordons a node for a disruption of `kind` ("consolidate", "repack") and records the kind in
 * annotation gpuscale.dev/disruption (a later leader resumes it); kind NULL: uncordons and
 * clears it. */
static int node_disrupt_mark(ctl *c, const char *node, const char *kind, gs_error *e) {
    char path[400];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", node);
    json_t *p = json_pack("{s:{s:{s:o}},s:{s:b}}", "metadata", "annotations", GS_DISRUPTION_ANN,
                          kind ? json_string(kind) : json_null(), "spec", "unschedulable", kind != NULL);
    int rc = gs_kube_merge_patch(c->k, path, p, NULL, e);
    json_decref(p);
    return rc == GS_ENOENT ? 0 : rc;
}

static void drain_forget(ctl *c, const char *node, bool uncordon) {
    json_t *d = json_object_get(c->draining, node);
    if (!d) return;
    if (uncordon && json_is_true(json_object_get(d, "cordoned"))) {
        gs_error e;
        if (node_disrupt_mark(c, node, NULL, &e) == 0)
            gs_log_info("drain cancelled", "node=%s reason=\"the reconcile step keeps the node\"", node);
    }
    json_object_del(c->draining, node);
}

/* Evicts the node's evictable pods; a PodDisruptionBudget that refuses (429) is waited for,
 * never forced: log + Warning Event on the pod once per drain, retried every 5 s. */
static void drain_node(ctl *c, const char *node, json_t *d, int64_t now) {
    if (now < json_integer_value(json_object_get(d, "next"))) return;
    json_object_set_new(d, "next", json_integer(now + 5000));
    json_t *told = json_object_get(d, "told");
    const char *key;
    const void *rec;
    size_t it = 0;
    while (gs_informer_next(c->pods, &it, &key, &rec)) {
        const gs_kpod *pod = rec;
        if (strcmp(pod->node, node) != 0 || !gs_kpod_live(pod) || pod->deleting) continue;
        /* DaemonSet and static (mirror, owned by the Node) pods go with the node */
        if (strncmp(pod->owner, "DaemonSet/", 10) == 0 || strncmp(pod->owner, "Node/", 5) == 0) continue;
        const char *ns = pod->ns, *name = pod->name;
        gs_error e;
        gs_error_clear(&e);
        int rc = gs_kube_evict(c->k, ns, name, &e);
        if (rc == 0 || rc == GS_ENOENT) {
            gs_log_info("evicted", "node=%s pod=%s/%s", node, ns, name);
            continue;
        }
        if (rc == GS_EBUDGET) {
            if (!json_object_get(told, key)) {
                json_object_set_new(told, key, json_true());
                char msg[700];
                snprintf(msg, sizeof msg,
                         "gpuscale: draining node %s for consolidation: eviction refused by a PodDisruptionBudget "
                         "(%s); waiting, not forcing",
                         node, e.msg);
                gs_log_warn("eviction blocked", "node=%s pod=%s/%s reason=\"%s\"", node, ns, name, e.msg);
                gs_kube_event(c->k, "v1", "Pod", ns, name, "", "Warning", "EvictionBlocked", msg, &e);
            }
            continue;
        }
        gs_log_warn("eviction failed", "node=%s pod=%s/%s err=\"%s\"", node, ns, name, e.msg);
    }
}

/* Where a node's disruption stands: "consolidate", "repack", or NULL (none). */
static const char *drain_kind(const ctl *c, const char *node) {
    return json_string_value(json_object_get(json_object_get(c->draining, node), "kind"));
}

/* A REPACK_NODE of the step (make-before-break): its replicas were each given a free MIG
 * instance of another ready node of the pool (the CREATE_POD + BIND actions before it, pod ids
 * < 0). The replacement capacity must be there now (each target registered, ready, not
 * cordoned); then the node is cordoned (annotation gpuscale.dev/disruption=repack) and
 * repack_drain moves its replicas one at a time. Never a node, or a node with a pod, marked
 * do-not-disrupt. */
static void repack_start(ctl *c, const rc_view *v, int32_t at, int64_t now) {
    const gs_action *r = &v->out.acts[at];
    if (r->node < 0 || r->node >= v->nnodes || v->inflight[r->node]) return;
    const char *key = v->nname[r->node];
    const json_t *node = gs_informer_get(c->nodes, NULL, key);
    if (!node || json_object_get(c->draining, key) || mig_op_find(c, key) >= 0) return;
    if (annotated(node, "gpuscale.dev/do-not-disrupt") || annotated(node, "karpenter.sh/do-not-disrupt") ||
        v->dnd_pod[r->node])
        return;
    int32_t moved = 0;
    for (int32_t k = at - 1; k >= 0 && v->out.acts[k].type != GS_ACT_REPACK_NODE; k--) {
        const gs_action *b = &v->out.acts[k];
        if (b->type != GS_ACT_BIND || b->pod >= 0) continue;
        if (b->node < 0 || b->node >= v->nnodes || v->inflight[b->node] || v->nodes[b->node].draining ||
            !v->nodes[b->node].ready)
            return; /* no replacement capacity to move to: not now */
        moved++;
    }
    if (moved == 0) return;
    gs_error e;
    gs_error_clear(&e);
    if (node_disrupt_mark(c, key, "repack", &e)) {
        gs_log_warn("cordon failed", "node=%s err=\"%s\"", key, e.msg);
        return;
    }
    json_object_set_new(c->draining, key, json_pack("{s:b,s:I,s:o,s:s}", "cordoned", 1, "next", (json_int_t)0, "told",
                                                    json_object(), "kind", "repack"));
    c->decisions++;
    c->repacks++;
    char msg[600];
    snprintf(msg, sizeof msg,
             "gpuscale: repacking node %s (make-before-break): its %d replica(s) fit free MIG instances of other "
             "nodes of its pool; cordoned, each replica is evicted once the previous one's replacement is Ready, "
             "and the node is released when empty",
             key, (int)moved);
    gs_log_info("repacking", "node=%s replicas=%d", key, (int)moved);
    gs_kube_event(c->k, "v1", "Node", "", key, "", "Normal", "Repacking", msg, &e);
    (void)now;
}

/* Moves a repacked node's replicas, one at a time: the next GPU pod is evicted (Eviction API:
 * a PodDisruptionBudget's refusal is waited for, never forced) only when no pod on the node is
 * still terminating and every replica of the workloads on it is bound and Ready (the previous
 * replacement has come up on the capacity the step found). Its other pods go with the
 * consolidation drain once the step deletes the node. */
static void repack_drain(ctl *c, const rc_view *v, int32_t i, json_t *d, int64_t now) {
    if (now < json_integer_value(json_object_get(d, "next")) || v->terminating[i] > 0) return;
    bool *wl = calloc((size_t)c->cfg.nscalers + 1, sizeof *wl);
    if (!wl) return;
    int32_t pick = -1;
    for (int32_t k = 0; k < v->npods; k++) {
        const gs_rc_pod *p = &v->pods[k];
        if (p->node != i) continue;
        if (p->wl >= 0) wl[p->wl] = true;
        if (pick < 0 || (v->pods[pick].state == GS_RCP_BUSY && p->state != GS_RCP_BUSY)) pick = k; /* idle first */
    }
    bool settled = true;
    for (int32_t k = 0; k < v->npods && settled; k++) {
        const gs_rc_pod *p = &v->pods[k];
        settled = !(p->wl >= 0 && wl[p->wl] && (p->state == GS_RCP_PENDING || p->state == GS_RCP_STARTING));
    }
    free(wl);
    if (!settled || pick < 0) return;
    json_object_set_new(d, "next", json_integer(now + 2000));
    const gs_kpod *pod = v->kp[pick];
    gs_error e;
    gs_error_clear(&e);
    int rc = gs_kube_evict(c->k, pod->ns, pod->name, &e);
    if (rc == 0 || rc == GS_ENOENT) {
        gs_log_info("evicted", "node=%s pod=%s/%s reason=repack", v->nname[i], pod->ns, pod->name);
        return;
    }
    json_t *told = json_object_get(d, "told");
    if (rc == GS_EBUDGET) {
        if (!json_object_get(told, v->pkey[pick])) {
            json_object_set_new(told, v->pkey[pick], json_true());
            char msg[700];
            snprintf(msg, sizeof msg,
                     "gpuscale: repacking node %s: eviction refused by a PodDisruptionBudget (%s); waiting, not forcing",
                     v->nname[i], e.msg);
            gs_log_warn("eviction blocked", "node=%s pod=%s/%s reason=\"%s\"", v->nname[i], pod->ns, pod->name, e.msg);
            gs_kube_event(c->k, "v1", "Pod", pod->ns, pod->name, "", "Warning", "EvictionBlocked", msg, &e);
        }
        return;
    }
    gs_log_warn("eviction failed", "node=%s pod=%s/%s err=\"%s\"", v->nname[i], pod->ns, pod->name, e.msg);
}

static void consolidate_tick(ctl *c, int64_t now, const rc_view *v) {
    bool *del = v->ran ? calloc((size_t)v->nnodes + 1, sizeof *del) : NULL;
    for (int32_t k = 0; del && k < v->out.n; k++) {
        const gs_action *a = &v->out.acts[k];
        if (a->type == GS_ACT_DELETE_NODE && a->node >= 0 && a->node < v->nnodes) del[a->node] = true;
        if (a->type == GS_ACT_REPACK_NODE) repack_start(c, v, k, now);
    }
    bool metered = false;
    for (int32_t i = 0; del && i < v->nnodes; i++) {
        const char *key = v->nname[i];
        if (v->inflight[i]) continue; /* booting for the pods it was launched for: nothing to delete yet */
        const char *kind = drain_kind(c, key);
        bool repack = kind && strcmp(kind, "repack") == 0;
        if (!del[i] && repack) {
            if (annotated(gs_informer_get(c->nodes, NULL, key), "gpuscale.dev/do-not-disrupt") ||
                annotated(gs_informer_get(c->nodes, NULL, key), "karpenter.sh/do-not-disrupt") || v->dnd_pod[i]) {
                gs_log_info("repack cancelled", "node=%s reason=\"do-not-disrupt\"", key);
                drain_forget(c, key, true);
            } else {
                repack_drain(c, v, i, json_object_get(c->draining, key), now);
            }
            continue;
        }
        if (!del[i]) {
            /* the step keeps it (its pods, or pending pods it places there): a drain stops */
            if (!kind || strcmp(kind, "repack") != 0) drain_forget(c, key, true);
            json_object_del(c->dnd_said, key);
            continue;
        }
        /* not while its GPUs are being repartitioned; and only a decision that held on two
         * ticks (a node seen empty for the first time this tick may be about to get the
         * pods it was launched for) */
        json_t *since = json_object_get(c->empty_since, key);
        if (mig_op_find(c, key) >= 0 || ts_op_find(c, key) >= 0 || !since || json_integer_value(since) >= now)
            continue;
        const json_t *node = gs_informer_get(c->nodes, NULL, key);
        if (!node) continue;
        const char *pool = node_pool(node);
        const char *why = annotated(node, "gpuscale.dev/do-not-disrupt") || annotated(node, "karpenter.sh/do-not-disrupt")
                              ? "the node is annotated do-not-disrupt"
                              : v->dnd_pod[i] ? "a pod on it is annotated do-not-disrupt"
                                              : NULL;
        gs_error e;
        gs_error_clear(&e);
        if (why) { /* never disrupted; said once until it changes */
            drain_forget(c, key, true);
            const char *said = json_string_value(json_object_get(c->dnd_said, key));
            if (!said || strcmp(said, why) != 0) {
                json_object_set_new(c->dnd_said, key, json_string(why));
                char msg[600];
                snprintf(msg, sizeof msg, "gpuscale: not consolidating node %s: %s%s%s", key, why, v->dnd_pod[i] ? " (" : "",
                         v->dnd_pod[i] ? v->dnd_pod[i] : "");
                if (v->dnd_pod[i]) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ")");
                gs_log_info("consolidation skipped", "node=%s reason=\"%s\" pod=%s", key, why, v->dnd_pod[i] ? v->dnd_pod[i] : "-");
                gs_kube_event(c->k, "v1", "Node", "", key, "", "Normal", "DisruptionBlocked", msg, &e);
            }
            continue;
        }
        json_object_del(c->dnd_said, key);
        json_t *d = json_object_get(c->draining, key);
        if (!d) {
            if (node_disrupt_mark(c, key, "consolidate", &e)) {
                gs_log_warn("cordon failed", "node=%s err=\"%s\"", key, e.msg);
                continue;
            }
            d = json_pack("{s:b,s:I,s:o,s:s}", "cordoned", 1, "next", (json_int_t)0, "told", json_object(), "kind",
                          "consolidate");
            json_object_set_new(c->draining, key, d);
            if (v->others[i] > 0) gs_log_info("draining", "node=%s pods=%d", key, v->others[i]);
        }
        if (v->others[i] > 0) { /* drain first: terminate once its pods are gone */
            drain_node(c, key, d, now);
            continue;
        }
        const char *pid = json_string_value(json_object_get(json_object_get(node, "spec"), "providerID"));
        char id[GS_INSTANCE_ID];
        snprintf(id, sizeof id, "%s", pid ? pid : key);
        c->decisions++;
        if (!metered) { /* bill the nodes up to now before one goes */
            meter_tick(c, now, true);
            metered = true;
        }
        gs_kube_event(c->k, "v1", "Node", "", key, "", "Normal", "Consolidated",
                      repack ? "gpuscale: node repacked (its replicas moved to other nodes): drained and terminated"
                             : "gpuscale: node's GPUs unused past consolidateAfter: cordoned, drained and terminated",
                      &e);
        if (c->prov.ops->terminate(c->prov.self, id, &e)) {
            gs_log_error("terminate failed", "node=%s id=%s err=\"%s\"", key, id, e.msg);
            continue;
        }
        c->terminations++;
        gs_log_info("terminated", "node=%s id=%s pool=%s", key, id, pool ? pool : "-");
        json_object_del(c->empty_since, key);
        json_object_del(c->draining, key);
    }
    free(del);
    /* forget nodes that are gone */
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(c->draining, tmp, k, x) if (!gs_informer_get(c->nodes, NULL, k)) json_object_del(c->draining, k);
    json_object_foreach_safe(c->dnd_said, tmp, k, x) if (!gs_informer_get(c->nodes, NULL, k)) json_object_del(c->dnd_said, k);
    json_object_foreach_safe(c->empty_since, tmp, k, x) if (!gs_informer_get(c->nodes, NULL, k)) json_object_del(c->empty_since, k);
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
    P("# TYPE gpuscale_repacks_total counter\ngpuscale_repacks_total %lld\n", (long long)c->repacks);
    P("# HELP gpuscale_reconfigurations_total GPU reconfigurations of registered nodes by how they ended.\n"
      "# TYPE gpuscale_reconfigurations_total counter\n"
      "gpuscale_reconfigurations_total{kind=\"mig\",result=\"ok\"} %lld\n"
      "gpuscale_reconfigurations_total{kind=\"mig\",result=\"failed\"} %lld\n"
      "gpuscale_reconfigurations_total{kind=\"timeslicing\",result=\"ok\"} %lld\n"
      "gpuscale_reconfigurations_total{kind=\"timeslicing\",result=\"failed\"} %lld\n",
      (long long)c->mig_ok, (long long)c->mig_failed, (long long)c->ts_ok, (long long)c->ts_failed);
    P("# HELP gpuscale_cordons_resumed_total gpuscale cordons of an earlier leader finished by this one.\n"
      "# TYPE gpuscale_cordons_resumed_total counter\ngpuscale_cordons_resumed_total %lld\n"
      "# TYPE gpuscale_cordons_undone_total counter\ngpuscale_cordons_undone_total %lld\n",
      (long long)c->resumed, (long long)c->undone);
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
    if (c->ledger) {
        /* the meter's view: $/hour each project holds now (its pods' shares; "_idle" = unused) */
        P("# HELP gpuscale_project_cost_usd_per_hour What each project's pods hold, by the meter.\n"
          "# TYPE gpuscale_project_cost_usd_per_hour gauge\n");
        for (int32_t r = 0; r < c->nrates; r++)
            P("gpuscale_project_cost_usd_per_hour{project=\"%s\"} %.6f\n", c->rates[r].project,
              (double)c->rates[r].per_hour / 1e6);
        P("# TYPE gpuscale_budget_spent_usd gauge\n# TYPE gpuscale_budget_limit_usd gauge\n"
          "# TYPE gpuscale_budget_used_ratio gauge\n");
        for (int32_t bi = 0; c->tr_ok && bi < c->tr.n; bi++) {
            const gs_budget *bd = c->tr.states[bi].budget;
            for (int w = 0; w < GS_WIN__N; w++) {
                int64_t lim = budget_limit(bd, w);
                if (lim <= 0) continue;
                const char *wn = gs_window_name((gs_window)w);
                P("gpuscale_budget_spent_usd{budget=\"%s\",project=\"%s\",window=\"%s\"} %.6f\n", bd->name, bd->project, wn,
                  (double)c->tr.states[bi].spent[w] / 1e6);
                P("gpuscale_budget_limit_usd{budget=\"%s\",project=\"%s\",window=\"%s\"} %.6f\n", bd->name, bd->project, wn,
                  (double)lim / 1e6);
                P("gpuscale_budget_used_ratio{budget=\"%s\",project=\"%s\",window=\"%s\"} %.6f\n", bd->name, bd->project, wn,
                  (double)c->tr.states[bi].spent[w] / (double)lim);
            }
        }
        P("# TYPE gpuscale_budget_refused_launches_total counter\ngpuscale_budget_refused_launches_total %lld\n",
          (long long)c->budget_refused);
        P("# TYPE gpuscale_budget_alerts_total counter\ngpuscale_budget_alerts_total %lld\n", (long long)c->alerts_sent);
        P("# TYPE gpuscale_meter_errors_total counter\ngpuscale_meter_errors_total %lld\n", (long long)c->meter_errors);
        P("# TYPE gpuscale_metered_until_seconds gauge\ngpuscale_metered_until_seconds %.3f\n",
          c->metered_until > 0 ? (double)c->metered_until / 1000.0 : 0.0);
    }
    n += gs_run_envs_metrics(c->envs, b + n, cap - n);
    n += gs_run_crs_metrics(c->crs, b + n, cap - n);
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
    P("# TYPE gpuscale_pending_to_launch_noroom_seconds summary\n"
      "gpuscale_pending_to_launch_noroom_seconds{quantile=\"0.5\"} %.3f\n"
      "gpuscale_pending_to_launch_noroom_seconds{quantile=\"0.99\"} %.3f\n"
      "gpuscale_pending_to_launch_noroom_seconds_count %d\n",
      quantile_of(c->lat_noroom, c->nlat_noroom, 0.5), quantile_of(c->lat_noroom, c->nlat_noroom, 0.99), c->nlat_noroom);
    int nr = c->nrec < LAT_SAMPLES ? c->nrec : LAT_SAMPLES;
    P("# TYPE gpuscale_reconcile_quantile_seconds gauge\ngpuscale_reconcile_quantile_seconds{quantile=\"0.5\"} %.6f\n"
      "gpuscale_reconcile_quantile_seconds{quantile=\"0.99\"} %.6f\n",
      quantile_of(c->rec, nr, 0.5), quantile_of(c->rec, nr, 0.99));
    P("# TYPE gpuscale_cached_objects gauge\ngpuscale_cached_objects{kind=\"pods\"} %zu\n"
      "gpuscale_cached_objects{kind=\"nodes\"} %zu\n", gs_informer_count(c->pods),
      json_object_size(gs_informer_store(c->nodes)));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    P("# TYPE gpuscale_peak_rss_bytes gauge\ngpuscale_peak_rss_bytes %lld\n", (long long)ru.ru_maxrss * 1024);
#undef P
    if (c->http) gs_http_set_metrics(c->http, b);
    free(b);
}

/* ---- configuration from the custom resources (no --config; cli/run_crs.h) ---- */

/* Puts next in force at a tick boundary, carrying per-object state over by name: each
 * QueueScaler keeps its scaler state (cooldown, stabilization windows, failure counts while its
 * triggers are the same number), poll time and last readings; launches in flight keep their pool
 * by name (one for a deleted pool is forgotten: its node is left as the pool's others);
 * Environments keep their state while their objects are unchanged, else they are rebuilt from
 * the ledger and the labelled objects; budget trackers are re-read from the ledger (both the
 * path a leader change takes). On error nothing changes and next is the caller's to free. */
static int config_swap(ctl *c, gs_config *next, gs_error *e) {
    int32_t ns = next->nscalers;
    scaler_state *nss = calloc((size_t)(ns ? ns : 1), sizeof *nss);
    bool *to_min = calloc((size_t)ns + 1, sizeof *to_min);
    gs_usd_u *approved = calloc((size_t)next->nbudgets + 1, sizeof *approved);
    uint8_t *soft = calloc((size_t)next->nbudgets + 1, 1);
    int rc = !nss || !to_min || !approved || !soft ? gs_error_set(e, GS_ENOMEM, "out of memory") : 0;
    for (int32_t i = 0; i < ns && !rc; i++) {
        const gs_scaler *sc = &next->scalers[i];
        if ((rc = gs_watch_open(&nss[i].w, sc, NULL, 0, e))) {
            char nm[GS_ERROR_FILE_MAX], msg[GS_ERROR_MSG_MAX];
            snprintf(nm, sizeof nm, "QueueScaler/%s/%s", sc->ns, sc->name);
            snprintf(msg, sizeof msg, "%s", e->msg);
            gs_error_setpos(e, rc, nm, 0, 0, "%s", msg);
            break;
        }
        nss[i].open = true;
        for (int32_t j = 0; j < c->cfg.nscalers; j++) {
            const gs_scaler *o = &c->cfg.scalers[j];
            if (strcmp(o->name, sc->name) != 0 || strcmp(o->ns, sc->ns) != 0 || !c->ss[j].open) continue;
            const scaler_state *os = &c->ss[j];
            nss[i].w.st = os->w.st;
            if (o->ntriggers == sc->ntriggers) memcpy(nss[i].w.last, os->w.last, sizeof nss[i].w.last);
            else memset(nss[i].w.st.failures, 0, sizeof nss[i].w.st.failures);
            nss[i].last_poll = os->last_poll;
            nss[i].len = os->len;
            nss[i].desired = os->desired;
            nss[i].actual = os->actual;
            nss[i].failures = os->failures;
            nss[i].last_scale = os->last_scale;
            to_min[i] = c->to_min && c->to_min[j];
        }
    }
    if (rc) {
        for (int32_t i = 0; nss && i < ns; i++)
            if (nss[i].open) gs_watch_close(&nss[i].w);
        free(nss);
        free(to_min);
        free(approved);
        free(soft);
        return rc;
    }
    for (int i = 0; i < c->ninf;) {
        int32_t p = c->inf[i].pool;
        int np = p >= 0 && p < c->cfg.npools ? gs_config_find_pool(next, c->cfg.pools[p].name) : -1;
        if (np < 0) {
            c->inf[i] = c->inf[--c->ninf];
            continue;
        }
        c->inf[i++].pool = np;
    }
    for (int32_t i = 0; c->ss && i < c->cfg.nscalers; i++)
        if (c->ss[i].open) gs_watch_close(&c->ss[i].w);
    free(c->ss);
    free(c->to_min);
    free(c->approved);
    free(c->soft_mask);
    c->ss = nss;
    c->to_min = to_min;
    c->approved = approved;
    c->soft_mask = soft;
    if (c->tr_ok) gs_costgov_tracker_free(&c->tr);
    c->tr_ok = false;
    c->metered_until = -1; /* the trackers are re-read from the ledger at the next tick */
    c->last_meter = 0;
    /* Environments whose objects did not change keep their state (pointed at the new
     * configuration's copies; next's arrays become c->cfg's); others are rebuilt */
    bool rebound = c->crs && !gs_run_crs_envs_changed(c->crs) && gs_run_envs_rebind(c->envs, next) == 0;
    if (!rebound && c->leader) gs_run_envs_retire(c->envs, next); /* Environment objects deleted */
    gs_config_free(&c->cfg);
    c->cfg = *next;
    memset(next, 0, sizeof *next);
    if (rebound) rebound = gs_run_envs_rebind(c->envs, &c->cfg) == 0;
    if (!rebound) {
        gs_run_envs_free(c->envs);
        c->envs = NULL;
        if (gs_run_envs_new(&c->cfg, c->k, c->pods, c->ledger, &c->envs, e))
            gs_log_error("environments not run", "err=\"%s\"", e->msg);
        gs_run_envs_use_caches(c->envs, c->jobs, c->deps);
        gs_run_envs_use_objects(c->envs, gs_run_crs_envs_informer(c->crs));
    }
    return 0;
}

static void crs_tick(ctl *c) {
    if (!c->crs) return;
    gs_config next;
    if (gs_run_crs_reload(c->crs, c->leader, &next) != 1) return;
    gs_error e;
    gs_error_clear(&e);
    if (config_swap(c, &next, &e)) {
        gs_config_free(&next);
        gs_run_crs_applied(c->crs, &e, c->leader);
        return;
    }
    gs_log_info("configuration in force", "pools=%d scalers=%d budgets=%d environments=%d", (int)c->cfg.npools,
                (int)c->cfg.nscalers, (int)c->cfg.nbudgets, (int)c->cfg.nenvs);
    gs_run_crs_applied(c->crs, NULL, c->leader);
}

static void crs_status(ctl *c) {
    gs_run_crs_scaler_obs *so = calloc((size_t)c->cfg.nscalers + 1, sizeof *so);
    if (!so) return;
    for (int32_t i = 0; i < c->cfg.nscalers; i++) {
        so[i].queue_length = c->ss[i].len;
        so[i].desired = c->ss[i].desired;
        so[i].current = c->ss[i].actual;
        so[i].last_scale = c->ss[i].last_scale;
    }
    gs_run_crs_obs o = {&c->cfg, so, c->tr_ok ? c->tr.states : NULL, c->tr_ok ? c->tr.n : 0, c->envs, c->ledger,
                        wall_ms()};
    gs_run_crs_status(c->crs, &o);
    free(so);
}

/* ---- the command ---- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpuscale run [--config FILE...] [--kubeconfig FILE] [--context NAME]\n"
            "                    [--provider kube-fake|exec] [--exec-launch CMD --exec-terminate CMD --exec-list CMD]\n"
            "                    [--id NAME] [--lease-namespace NS] [--lease-name NAME] [--lease-duration SECONDS]\n"
            "                    [--metrics-addr ADDR] [--metrics-port PORT] [--interval MS] [--orphan-grace DURATION]\n"
            "                    [--ledger FILE] [--meter-interval DURATION] [--mig-configmap NS/NAME]\n"
            "                    [--mig-retry-after DURATION] [--layout-settle DURATION] [--repack-headroom N]\n"
            "                    [--device-plugin-configmap NS/NAME] [--timeslicing-timeout DURATION]\n"
            "\n"
            "Runs the controller: reads each QueueScaler's queue (every 100 ms while its workload is at\n"
            "zero) and scales its workload; every tick, runs the simulator's reconcile step on the cluster\n"
            "as cached (docs/deploy.md): launches the new nodes its packer asks for, repartitions idle MIG\n"
            "GPUs of running nodes (the GPU Operator way: mig-parted ConfigMap + nvidia.com/mig.config),\n"
            "switches idle nodes of time-slicing pools to the pool's replicas (the device plugin's\n"
            "ConfigMap + nvidia.com/device-plugin.config; a node's mode is read from what it advertises),\n"
            "tells unplaceable pods why (NotTriggerScaleUp Event), repacks the emptiest MIG node\n"
            "make-before-break, and drains (Eviction API, PodDisruptionBudgets honoured) and terminates\n"
            "the nodes it finds empty past the pool's consolidateAfter (pods without GPUs are drained).\n"
            "With --ledger, meters spend into the SQLite ledger and enforces Budget\n"
            "objects (docs/cost.md). Only the holder of the coordination.k8s.io/v1 Lease acts.\n"
            "Without --config, the GPUPool, QueueScaler, Budget and Environment custom resources\n"
            "(gpuscale.dev/v1alpha1) are read from the API server and watched: a change is validated\n"
            "as a whole and swapped in at the next tick (an invalid one is refused: the last valid\n"
            "configuration keeps acting, the object gets a Warning Event and Ready=False); the leader\n"
            "writes their status (docs/config.md). With --config FILE..., only the files are read.\n"
            "Without --kubeconfig, the in-cluster service account\n"
            "is used. /healthz, /readyz and /metrics are served on ADDR:PORT (default 127.0.0.1:8080;\n"
            "port 0 picks one and logs it). SIGTERM releases the lease and exits 0.\n"
            "\n");
    fprintf(f,
            "  --config FILE          read the objects from FILE (repeatable) instead of the custom resources\n"
            "  --provider kube-fake   nodes are Node objects made Ready by gpuscale itself (tests, demos)\n"
            "  --provider exec        user commands with JSON on stdin/stdout (docs/providers.md)\n"
            "  --id NAME              leader-election identity (default: hostname-pid)\n"
            "  --lease-namespace NS   default: the kubeconfig's namespace\n"
            "  --lease-duration S     default 15\n"
            "  --interval MS          tick period, default 500\n"
            "  --orphan-grace D       provider instances without a Node are terminated after D (default 10m)\n"
            "  --ledger FILE          SQLite spend ledger (created if missing); required with Budget objects\n"
            "  --meter-interval D     how often spend is metered into the ledger (default 60s; 100ms..1h)\n"
            "  --mig-configmap NS/N   mig-parted ConfigMap gpuscale writes its layouts to\n"
            "                         (default gpu-operator/gpuscale-mig-parted-config)\n"
            "  --mig-retry-after D    no new MIG reconfiguration or time-slicing switch of a node for D after\n"
            "                         one failed (default 5m)\n"
            "  --device-plugin-configmap NS/N  the NVIDIA device plugin's ConfigMap gpuscale writes its\n"
            "                         time-slicing configs to (ClusterPolicy devicePlugin.config.name;\n"
            "                         default gpu-operator/gpuscale-device-plugin-config)\n"
            "  --timeslicing-timeout D  a node that does not advertise the replicas asked for within D is a\n"
            "                         failed switch (default 10m; 1s..24h)\n"
            "  --layout-settle D      a node's MIG layout is not repartitioned for D after it registered: its\n"
            "                         instances look idle only until kube-scheduler binds the pods it was\n"
            "                         launched for (default 60s; 0 turns it off)\n"
            "  --repack-headroom N    make-before-break repacking of the emptiest MIG node when other nodes keep\n"
            "                         free instances for N x the moved replicas (default 2, as simulate; -1 off)\n");
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
    long lease_s = 15, mport = 8080, interval = 500, repack_headroom = 2;
    gs_ms orphan_grace = 600000, meter_every = 60000, mig_retry = 300000, layout_settle = 60000, ts_timeout = 600000;
    const char *ledger_path = NULL, *mig_cm = GS_MIG_CONFIGMAP_NS "/" GS_MIG_CONFIGMAP_NAME;
    const char *dp_cm = GS_DP_CONFIGMAP_NS "/" GS_DP_CONFIGMAP_NAME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && (v ? 1 : (gs_cli_usage_error("run", "%s needs a value", name), 0)))
        if (strcmp(a, "--kubeconfig") == 0 || strcmp(a, "--context") == 0 || strcmp(a, "--provider") == 0 ||
            strcmp(a, "--id") == 0 || strcmp(a, "--lease-namespace") == 0 || strcmp(a, "--lease-name") == 0 ||
            strcmp(a, "--lease-duration") == 0 || strcmp(a, "--metrics-addr") == 0 || strcmp(a, "--metrics-port") == 0 ||
            strcmp(a, "--interval") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--exec-launch") == 0 ||
            strcmp(a, "--exec-terminate") == 0 || strcmp(a, "--exec-list") == 0 || strcmp(a, "--orphan-grace") == 0 ||
            strcmp(a, "--ledger") == 0 || strcmp(a, "--meter-interval") == 0 || strcmp(a, "--mig-configmap") == 0 ||
            strcmp(a, "--mig-retry-after") == 0 || strcmp(a, "--repack-headroom") == 0 ||
            strcmp(a, "--layout-settle") == 0 || strcmp(a, "--device-plugin-configmap") == 0 ||
            strcmp(a, "--timeslicing-timeout") == 0) {
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
            else if (strcmp(a, "--ledger") == 0) ledger_path = v;
            else if (strcmp(a, "--repack-headroom") == 0) {
                errno = 0;
                long x = strtol(v, &end, 10);
                if (errno || !end || *end || x < -1 || x > 64)
                    return gs_cli_usage_error("run", "--repack-headroom must be -1 (off) or 0..64 (got '%s')", v);
                repack_headroom = x;
            }
            else if (strcmp(a, "--layout-settle") == 0) {
                const char *why = NULL;
                if (gs_parse_duration(v, &layout_settle, &why) || layout_settle > 3600000)
                    return gs_cli_usage_error("run", "--layout-settle: %s", why ? why : "must be at most 1h");
            }
            else if (strcmp(a, "--mig-retry-after") == 0) {
                const char *why = NULL;
                if (gs_parse_duration(v, &mig_retry, &why) || mig_retry < 1000)
                    return gs_cli_usage_error("run", "--mig-retry-after: %s", why ? why : "must be at least 1s");
            } else if (strcmp(a, "--timeslicing-timeout") == 0) {
                const char *why = NULL;
                if (gs_parse_duration(v, &ts_timeout, &why) || ts_timeout < 1000 || ts_timeout > 86400000)
                    return gs_cli_usage_error("run", "--timeslicing-timeout: %s", why ? why : "must be 1s..24h");
            } else if (strcmp(a, "--device-plugin-configmap") == 0) {
                const char *sl = strchr(v, '/');
                if (!sl || sl == v || !sl[1] || (size_t)(sl - v) >= 64 || strlen(sl + 1) >= 254)
                    return gs_cli_usage_error("run", "--device-plugin-configmap must be NAMESPACE/NAME (got '%s')", v);
                dp_cm = v;
            } else if (strcmp(a, "--mig-configmap") == 0) {
                const char *sl = strchr(v, '/');
                if (!sl || sl == v || !sl[1] || (size_t)(sl - v) >= 64 || strlen(sl + 1) >= 254)
                    return gs_cli_usage_error("run", "--mig-configmap must be NAMESPACE/NAME (got '%s')", v);
                mig_cm = v;
            }
            else if (strcmp(a, "--meter-interval") == 0) {
                const char *why = NULL;
                if (gs_parse_duration(v, &meter_every, &why) || meter_every < 100 || meter_every > 3600000)
                    return gs_cli_usage_error("run", "--meter-interval: %s", why ? why : "must be 100ms..1h");
            }
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
    if (gs_catalog_load(&c->cat, NULL, &e) ||
        (nconfigs > 0 && gs_config_load_files(&c->cfg, configs, nconfigs, &c->cat, &e))) {
        fprintf(stderr, "gpuscale run: %s\n", gs_error_format(&e, ebuf, sizeof ebuf));
        gs_catalog_free(&c->cat);
        return GS_EXIT_FAIL;
    }
    /* budgets are enforced and environments recorded only with a ledger (spend lives there):
     * refuse rather than run without what the configuration asks for */
    if (!ledger_path && (c->cfg.nbudgets > 0 || c->cfg.nenvs > 0)) {
        if (c->cfg.nbudgets > 0)
            fprintf(stderr, "gpuscale run: the configuration has %d Budget object(s): --ledger FILE is needed to enforce them\n",
                    (int)c->cfg.nbudgets);
        else
            fprintf(stderr, "gpuscale run: the configuration has %d Environment object(s): --ledger FILE is needed to run them\n",
                    (int)c->cfg.nenvs);
        gs_config_free(&c->cfg);
        gs_catalog_free(&c->cat);
        return GS_EXIT_FAIL;
    }
    if (ledger_path && gs_ledger_open(ledger_path, true, &c->ledger, &e)) {
        fprintf(stderr, "gpuscale run: %s\n", gs_error_format(&e, ebuf, sizeof ebuf));
        gs_config_free(&c->cfg);
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
    c->repack_headroom = (int32_t)repack_headroom;
    c->empty_since = json_object();
    c->pending_seen = json_object();
    c->orphans = json_object();
    c->unsched = json_object();
    c->draining = json_object();
    c->dnd_said = json_object();
    c->mig_backoff = json_object();
    c->mig_written = json_object();
    gs_snapshot_init(&c->snap);
    gs_plan_init(&c->plan);
    c->ss = calloc((size_t)(c->cfg.nscalers ? c->cfg.nscalers : 1), sizeof *c->ss);
    gs_snapshot_init(&c->msnap);
    c->metered_until = -1;
    c->meter_every_ms = meter_every;
    c->mig_retry_ms = mig_retry;
    c->layout_settle_ms = layout_settle;
    snprintf(c->mig_cm_ns, sizeof c->mig_cm_ns, "%.*s", (int)(strchr(mig_cm, '/') - mig_cm), mig_cm);
    snprintf(c->mig_cm_name, sizeof c->mig_cm_name, "%s", strchr(mig_cm, '/') + 1);
    snprintf(c->dp_cm_ns, sizeof c->dp_cm_ns, "%.*s", (int)(strchr(dp_cm, '/') - dp_cm), dp_cm);
    snprintf(c->dp_cm_name, sizeof c->dp_cm_name, "%s", strchr(dp_cm, '/') + 1);
    c->ts_timeout_ms = ts_timeout;
    c->ts_backoff = json_object();
    c->ts_written = json_object();
    c->to_min = calloc((size_t)c->cfg.nscalers + 1, sizeof *c->to_min);
    c->to_min_said = json_object();
    c->approved = calloc((size_t)c->cfg.nbudgets + 1, sizeof *c->approved);
    c->soft_mask = calloc((size_t)c->cfg.nbudgets + 1, 1);
    if (!c->to_min || !c->to_min_said || !c->approved || !c->soft_mask || !c->ts_backoff || !c->ts_written) {
        fprintf(stderr, "gpuscale run: out of memory\n");
        goto out;
    }

    if (nconfigs > 0 && c->cfg.npools == 0) {
        fprintf(stderr, "gpuscale run: the configuration has no GPUPool\n");
        goto out;
    }
    for (int i = 0; c->ss && i < c->cfg.nscalers; i++) {
        if (gs_watch_open(&c->ss[i].w, &c->cfg.scalers[i], NULL, 0, &e)) {
            fprintf(stderr, "gpuscale run: QueueScaler %s/%s: %s\n", c->cfg.scalers[i].ns, c->cfg.scalers[i].name, e.msg);
            goto out;
        }
        c->ss[i].open = true;
    }
    gs_informer_codec pod_codec;
    gs_kpod_codec(&pod_codec, &c->pod_rules);
    c->pods = gs_informer_new_typed(c->k, "/api/v1/pods", NULL, &pod_codec, pod_event, c);
    c->nodes = gs_informer_new(c->k, "/api/v1/nodes", NULL, trim_node, NULL, NULL);
    c->deps = gs_informer_new(c->k, "/apis/apps/v1/deployments", NULL, trim_workload, NULL, NULL);
    c->stss = gs_informer_new(c->k, "/apis/apps/v1/statefulsets", NULL, trim_workload, NULL, NULL);
    c->jobs = gs_informer_new(c->k, "/apis/batch/v1/jobs", NULL, trim_job, NULL, NULL);
    if (!c->ss || !c->pods || !c->nodes || !c->deps || !c->stss || !c->jobs) {
        fprintf(stderr, "gpuscale run: out of memory\n");
        goto out;
    }
    if (nconfigs == 0 && gs_run_crs_new(c->k, &c->cat, c->nodes, c->ledger != NULL, &c->crs, &e)) {
        fprintf(stderr, "gpuscale run: %s\n", e.msg);
        goto out;
    }
    if (gs_run_envs_new(&c->cfg, c->k, c->pods, c->ledger, &c->envs, &e)) {
        fprintf(stderr, "gpuscale run: %s\n", e.msg);
        goto out;
    }
    gs_run_envs_use_caches(c->envs, c->jobs, c->deps);
    gs_run_envs_use_objects(c->envs, gs_run_crs_envs_informer(c->crs));
    gs_kubefake_opts kfo = {NULL, 0, c->mig_cm_ns, c->mig_cm_name, c->dp_cm_ns, c->dp_cm_name, 0};
    if (strcmp(provider, "kube-fake") == 0) rc = gs_kubefake_new(c->k, &c->cat, c->pods, &kfo, &c->prov, &e);
    else rc = gs_execprov_new(ex_launch, ex_term, ex_list, 60000, &c->prov, &e);
    if (rc) {
        fprintf(stderr, "gpuscale run: %s\n", gs_error_format(&e, ebuf, sizeof ebuf));
        goto out;
    }
    if (gs_http_start(maddr, (int)mport, &c->http, &e)) {
        fprintf(stderr, "gpuscale run: %s\n", e.msg);
        goto out;
    }
    gs_log_info("gpuscale run started", "id=%s server=%s provider=%s config=%s pools=%d scalers=%d metrics=%s:%d lease=%s/%s",
                c->id, gs_kube_cfg(c->k)->server, provider, c->crs ? "custom-resources" : "files", c->cfg.npools,
                c->cfg.nscalers, maddr, gs_http_port(c->http), c->lease_ns, c->lease_name);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* the Jobs' cache is not part of readiness: until it has synced, the Environments read
     * their Jobs from the API server */
    gs_informer *infs[5 + GS_RUN_CRS_KINDS] = {c->pods, c->nodes, c->deps, c->stss, c->jobs};
    int ninfs = 5 + (c->crs ? gs_run_crs_informers(c->crs, infs + 5, GS_RUN_CRS_KINDS) : 0);
    int64_t last_pub = 0, last_plan = 0;
    while (!g_stop) {
        if (gs_informers_poll(infs, ninfs, 0, &e)) {
            fprintf(stderr, "gpuscale run: %s\n", e.msg);
            goto out;
        }
        bool synced = gs_informer_synced(c->pods) && gs_informer_synced(c->nodes) && gs_informer_synced(c->deps) &&
                      gs_informer_synced(c->stss) && (!c->crs || gs_run_crs_synced(c->crs));
        gs_http_set_ready(c->http, synced);
        lease_tick(c);
        crs_tick(c); /* a changed configuration goes in force here, between ticks */
        if (c->crs && !gs_run_crs_ready(c->crs)) synced = false; /* nothing valid yet: do nothing */
        int64_t now = mono_ms();
        if (!c->leader) {
            meter_tick(c, now, false); /* forget where metering stood */
            gs_run_envs_lost(c->envs);
            /* reconfigurations in progress are the new leader's now (it resumes them from the
             * nodes' marks: reconf_resume, ts_tick), and the ConfigMaps may change meanwhile:
             * when leading again, both are re-read from the cluster */
            c->nmops = 0;
            c->ntops = 0;
            json_object_clear(c->mig_written);
            json_object_clear(c->ts_written);
        }
        if (synced && c->leader) {
            /* queues at the fast cadence (a scaler at zero is read every 100 ms) ... */
            scale_tick(c, now);
            /* ... the plan, the meter and consolidation every tick period */
            /* ... and sooner when a GPU pod went Pending (at most every PLAN_MIN_GAP_MS, so a
             * burst of pods is planned in batches) */
            if (now - last_plan >= c->tick_ms || (c->wake && now - last_plan >= PLAN_MIN_GAP_MS)) {
                last_plan = now;
                c->wake = false;
                meter_tick(c, now, false);
                gs_run_envs_tick(c->envs, c->tr_ok ? c->tr.states : NULL, c->tr_ok ? c->tr.n : 0);
                reconf_resume(c, now);
                mig_tick(c, now);
                ts_tick(c, now);
                rc_view *view = calloc(1, sizeof *view);
                if (view) {
                    capacity_tick(c, now, view);
                    consolidate_tick(c, now, view);
                }
                view_free(view);
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
        }
        /* the objects' status, also while none is valid (Ready=False says why) */
        if (c->crs && c->leader && gs_run_crs_synced(c->crs)) crs_status(c);
        if (mono_ms() - last_pub >= 1000 || g_stop) {
            publish_metrics(c, mono_ms());
            last_pub = mono_ms();
        }
        int64_t wait = (c->wake ? PLAN_MIN_GAP_MS : c->tick_ms) - (mono_ms() - last_plan);
        if (c->cfg.nscalers > 0 && wait > GS_WATCH_IDLE_POLL_DEFAULT) wait = GS_WATCH_IDLE_POLL_DEFAULT;
        if (wait > 0 && !g_stop) gs_informers_poll(infs, ninfs, (int)wait, &e);
    }
    gs_log_info("shutting down", "id=%s signal=TERM", c->id);
    lease_release(c);
    exit_code = GS_EXIT_OK;
out:
    gs_provider_destroy(&c->prov);
    gs_http_stop(c->http);
    gs_informer_free(c->pods);
    gs_rules_store_free(c->pod_rules);
    gs_informer_free(c->nodes);
    gs_informer_free(c->deps);
    gs_informer_free(c->stss);
    gs_informer_free(c->jobs);
    gs_run_crs_free(c->crs);
    gs_informers_shutdown();
    if (c->ss)
        for (int i = 0; i < c->cfg.nscalers; i++)
            if (c->ss[i].open) gs_watch_close(&c->ss[i].w);
    free(c->ss);
    json_decref(c->empty_since);
    json_decref(c->pending_seen);
    json_decref(c->orphans);
    json_decref(c->unsched);
    json_decref(c->draining);
    json_decref(c->dnd_said);
    json_decref(c->mig_backoff);
    json_decref(c->mig_written);
    json_decref(c->ts_backoff);
    json_decref(c->ts_written);
    gs_snapshot_free(&c->snap);
    gs_snapshot_free(&c->msnap);
    gs_plan_free(&c->plan);
    if (c->tr_ok) gs_costgov_tracker_free(&c->tr);
    gs_run_envs_free(c->envs);
    gs_ledger_close(c->ledger);
    free(c->to_min);
    json_decref(c->to_min_said);
    free(c->approved);
    free(c->soft_mask);
    free(c->pkey);
    gs_kube_free(c->k);
    gs_config_free(&c->cfg);
    gs_catalog_free(&c->cat);
    return exit_code;
}
