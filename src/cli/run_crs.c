/* gpuscale's custom resources in the controller (see run_crs.h). */
#include "cli/run_crs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/config/config.h"
#include "io/log.h"
#include "policy/envs.h"

#define API_VERSION GS_CRS_GROUP "/" GS_CRS_VERSION
#define NAME_MAX_LEN GS_ERROR_FILE_MAX

typedef struct crs_kind {
    const char *kind, *plural;
    bool namespaced;
} crs_kind;

static const crs_kind KINDS[GS_RUN_CRS_KINDS] = {
    {"GPUPool", "gpupools", false},
    {"QueueScaler", "queuescalers", true},
    {"Budget", "budgets", false},
    {"Environment", "environments", true},
};

struct gs_run_crs {
    gs_kube *k;
    const gs_catalog *cat;
    gs_informer *nodes;
    bool has_ledger;
    gs_informer *inf[GS_RUN_CRS_KINDS];
    json_t *gen_seen[GS_RUN_CRS_KINDS]; /* key -> metadata.generation last seen (change detection) */
    bool dirty;
    bool have;                          /* a configuration has been applied */
    json_t *applied;                    /* "Kind/key" -> generation of the configuration in force */
    json_t *built;                      /* the same for the configuration handed out, not yet applied */
    json_t *pools_built;                /* pool names of that configuration */
    json_t *pools_applied;              /* pool names in force */
    bool bad_set;                       /* the current objects are refused */
    char bad_key[NAME_MAX_LEN];         /* "Kind/key" of the offending object ("" when unknown) */
    char bad_msg[GS_ERROR_MSG_MAX];
    json_t *warned;                     /* "Kind/key" -> message of the Warning Event posted */
    json_t *last_write;                 /* "Kind/key" -> mono ms of the last status write */
    int64_t last_pass;
    int64_t applied_total, refused_total, status_ok, status_failed;
    /* what status writes cost (they are synchronous in the loop): time spent writing, passes
     * that wrote, the most writes and the longest time of one pass */
    int64_t status_us, status_passes, pass_max_writes, pass_max_us;
};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void rfc3339(int64_t wall_ms, char *buf, size_t n) {
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void usd_str(gs_usd_u v, char *buf, size_t n) {
    snprintf(buf, n, "%lld.%06lld", (long long)(v / 1000000), (long long)(v % 1000000));
}

static const json_t *md_of(const json_t *o) { return json_object_get(o, "metadata"); }
static const char *md_str(const json_t *o, const char *k) { return json_string_value(json_object_get(md_of(o), k)); }
static int64_t generation(const json_t *o) { return json_integer_value(json_object_get(md_of(o), "generation")); }

/* "GPUPool/gpu-prod", "QueueScaler/inference/chat": the informer key is "name" or "ns/name" */
static void obj_name(int kind, const char *key, char *buf, size_t n) { snprintf(buf, n, "%s/%s", KINDS[kind].kind, key); }

static void on_change(void *ud, gs_informer *inf, gs_watch_type t, const json_t *obj) {
    gs_run_crs *r = ud;
    int kind = -1;
    for (int i = 0; i < GS_RUN_CRS_KINDS; i++)
        if (r->inf[i] == inf) kind = i;
    if (kind < 0) return;
    const char *name = md_str(obj, "name"), *ns = md_str(obj, "namespace");
    if (!name) return;
    char key[NAME_MAX_LEN];
    if (ns && ns[0]) snprintf(key, sizeof key, "%s/%s", ns, name);
    else snprintf(key, sizeof key, "%s", name);
    if (t == GS_WATCH_DELETED) {
        json_object_del(r->gen_seen[kind], key);
        r->dirty = true;
        return;
    }
    /* a status write (ours) or a label edit does not change metadata.generation: no rebuild */
    json_t *seen = json_object_get(r->gen_seen[kind], key);
    int64_t g = generation(obj);
    if (seen && json_integer_value(seen) == g) return;
    json_object_set_new(r->gen_seen[kind], key, json_integer(g));
    r->dirty = true;
}

int gs_run_crs_new(gs_kube *k, const gs_catalog *cat, gs_informer *nodes, bool has_ledger,
                   gs_run_crs **out, gs_error *err) {
    *out = NULL;
    gs_run_crs *r = calloc(1, sizeof *r);
    if (!r) return gs_error_set(err, GS_ENOMEM, "out of memory");
    r->k = k;
    r->cat = cat;
    r->nodes = nodes;
    r->has_ledger = has_ledger;
    r->applied = json_object();
    r->built = json_object();
    r->pools_built = json_object();
    r->pools_applied = json_object();
    r->warned = json_object();
    r->last_write = json_object();
    bool ok = r->applied && r->built && r->pools_built && r->pools_applied && r->warned && r->last_write;
    for (int i = 0; ok && i < GS_RUN_CRS_KINDS; i++) {
        char path[128];
        snprintf(path, sizeof path, "/apis/%s/%s/%s", GS_CRS_GROUP, GS_CRS_VERSION, KINDS[i].plural);
        r->gen_seen[i] = json_object();
        r->inf[i] = gs_informer_new(k, path, NULL, NULL, on_change, r);
        ok = r->gen_seen[i] && r->inf[i];
    }
    if (!ok) {
        gs_run_crs_free(r);
        return gs_error_set(err, GS_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

void gs_run_crs_free(gs_run_crs *r) {
    if (!r) return;
    for (int i = 0; i < GS_RUN_CRS_KINDS; i++) {
        gs_informer_free(r->inf[i]);
        json_decref(r->gen_seen[i]);
    }
    json_decref(r->applied);
    json_decref(r->built);
    json_decref(r->pools_built);
    json_decref(r->pools_applied);
    json_decref(r->warned);
    json_decref(r->last_write);
    free(r);
}

int gs_run_crs_informers(gs_run_crs *r, gs_informer **out, int max) {
    int n = 0;
    for (int i = 0; i < GS_RUN_CRS_KINDS && n < max; i++) out[n++] = r->inf[i];
    return n;
}

gs_informer *gs_run_crs_envs_informer(gs_run_crs *r) { return r ? r->inf[3] : NULL; }

bool gs_run_crs_synced(const gs_run_crs *r) {
    for (int i = 0; i < GS_RUN_CRS_KINDS; i++)
        if (!gs_informer_synced(r->inf[i])) return false;
    return true;
}

bool gs_run_crs_ready(const gs_run_crs *r) { return r->have; }

bool gs_run_crs_envs_changed(const gs_run_crs *r) {
    size_t a = 0, b = 0;
    const char *k;
    json_t *v;
    json_object_foreach(r->built, k, v) {
        if (strncmp(k, "Environment/", 12) != 0) continue;
        b++;
        json_t *x = json_object_get(r->applied, k);
        if (!x || json_integer_value(x) != json_integer_value(v)) return true;
    }
    json_object_foreach(r->applied, k, v)
        if (strncmp(k, "Environment/", 12) == 0) a++;
    return a != b || !r->have;
}

/* ---- the objects -> a configuration ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The cached object of "Kind/key" (NULL when gone). */
static const json_t *find_obj(const gs_run_crs *r, const char *full, int *kind_out) {
    for (int i = 0; i < GS_RUN_CRS_KINDS; i++) {
        size_t kl = strlen(KINDS[i].kind);
        if (strncmp(full, KINDS[i].kind, kl) != 0 || full[kl] != '/') continue;
        if (kind_out) *kind_out = i;
        return json_object_get(gs_informer_store(r->inf[i]), full + kl + 1);
    }
    return NULL;
}

static void warn_object(gs_run_crs *r, bool leader) {
    if (!r->bad_set || !r->bad_key[0] || !leader) return;
    json_t *said = json_object_get(r->warned, r->bad_key);
    if (said && strcmp(json_string_value(said), r->bad_msg) == 0) return;
    int kind = -1;
    const json_t *o = find_obj(r, r->bad_key, &kind);
    if (!o) return;
    gs_error e;
    gs_error_clear(&e);
    char msg[GS_ERROR_MSG_MAX + GS_ERROR_FILE_MAX + 200];
    snprintf(msg, sizeof msg, "gpuscale: configuration refused (%s): %s: %s",
             r->have ? "the last valid one keeps acting" : "nothing is done until it is valid", r->bad_key, r->bad_msg);
    const char *ns = md_str(o, "namespace");
    if (gs_kube_event(r->k, API_VERSION, KINDS[kind].kind, ns ? ns : "", md_str(o, "name"), md_str(o, "uid"), "Warning",
                      "InvalidConfiguration", msg, &e) == 0)
        json_object_set_new(r->warned, r->bad_key, json_string(r->bad_msg));
    else
        gs_log_warn("event not posted", "object=%s err=\"%s\"", r->bad_key, e.msg);
}

static void refuse(gs_run_crs *r, const gs_error *e, bool leader) {
    char key[NAME_MAX_LEN] = "";
    snprintf(key, sizeof key, "%s", e->file);
    if (!find_obj(r, key, NULL)) key[0] = '\0';
    char msg[sizeof r->bad_msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    bool same = r->bad_set && strcmp(r->bad_key, key) == 0 && strcmp(r->bad_msg, msg) == 0;
    r->bad_set = true;
    snprintf(r->bad_key, sizeof r->bad_key, "%s", key);
    snprintf(r->bad_msg, sizeof r->bad_msg, "%s", msg);
    if (!same) r->refused_total++;
    if (!same)
        gs_log_error("configuration refused", "object=%s err=\"%s\" kept=%s", key[0] ? key : "-", msg,
                     r->have ? "the last valid configuration" : "none (nothing is done until one is valid)");
    warn_object(r, leader);
}

int gs_run_crs_reload(gs_run_crs *r, bool leader, gs_config *out) {
    memset(out, 0, sizeof *out);
    warn_object(r, leader); /* became leader since the refusal: tell it now */
    if (!r->dirty || !gs_run_crs_synced(r)) return 0;
    r->dirty = false;
    size_t total = 0;
    for (int i = 0; i < GS_RUN_CRS_KINDS; i++) total += json_object_size(gs_informer_store(r->inf[i]));
    gs_config_obj *objs = calloc(total + 1, sizeof *objs);
    char **names = calloc(total + 1, sizeof *names);
    json_t *gens = json_object(), *pools = json_object();
    int n = 0, rc = 0;
    gs_error e;
    gs_error_clear(&e);
    if (!objs || !names || !gens || !pools) rc = gs_error_set(&e, GS_ENOMEM, "out of memory");
    for (int i = 0; i < GS_RUN_CRS_KINDS && !rc; i++) {
        const json_t *store = gs_informer_store(r->inf[i]);
        size_t nk = json_object_size(store), j = 0;
        const char **keys = calloc(nk + 1, sizeof *keys);
        if (!keys) {
            rc = gs_error_set(&e, GS_ENOMEM, "out of memory");
            break;
        }
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)store, key, v) keys[j++] = key;
        qsort(keys, nk, sizeof *keys, cmp_str); /* the same objects give the same first error */
        for (j = 0; j < nk && !rc; j++) {
            const json_t *o = json_object_get(store, keys[j]);
            char nm[NAME_MAX_LEN];
            obj_name(i, keys[j], nm, sizeof nm);
            names[n] = strdup(nm);
            if (!names[n]) {
                rc = gs_error_set(&e, GS_ENOMEM, "out of memory");
                break;
            }
            objs[n].name = names[n];
            objs[n].obj = o;
            n++;
            json_object_set_new(gens, nm, json_integer(generation(o)));
            if (i == 0) json_object_set_new(pools, md_str(o, "name") ? md_str(o, "name") : keys[j], json_true());
            if (!r->has_ledger && (i == 2 || i == 3))
                rc = gs_error_setpos(&e, GS_EINVAL, nm, 0, 0,
                                     "%s objects need gpuscale run --ledger FILE (%s); this one is refused",
                                     KINDS[i].kind, i == 2 ? "spend is metered there" :
                                     "their creation, deletion and cost are recorded there");
        }
        free(keys);
    }
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (!rc) rc = gs_config_load_objects(&cfg, objs, n, r->cat, &e);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(objs);
    if (rc) {
        json_decref(gens);
        json_decref(pools);
        refuse(r, &e, leader);
        return 0;
    }
    json_decref(r->built);
    json_decref(r->pools_built);
    r->built = gens;
    r->pools_built = pools;
    *out = cfg;
    return 1;
}

void gs_run_crs_applied(gs_run_crs *r, const gs_error *err, bool leader) {
    if (err) {
        refuse(r, err, leader);
        return;
    }
    /* pools that are gone: their nodes are left as they are (docs/config.md) */
    const char *pool;
    json_t *v;
    json_object_foreach(r->pools_applied, pool, v) {
        if (json_object_get(r->pools_built, pool)) continue;
        int nodes = 0;
        const char *key;
        json_t *node;
        json_object_foreach((json_t *)(uintptr_t)gs_informer_store(r->nodes), key, node) {
            const char *np = json_string_value(json_object_get(json_object_get(md_of(node), "labels"), "gpuscale.dev/pool"));
            if (!np || strcmp(np, pool) != 0) continue;
            nodes++;
            if (!leader) continue;
            char msg[400];
            snprintf(msg, sizeof msg, "gpuscale: GPUPool %s was deleted: this node is left running (not drained, "
                     "not consolidated, not metered); delete it yourself or re-create the pool", pool);
            gs_error e;
            gs_kube_event(r->k, "v1", "Node", "", key, "", "Warning", "PoolDeleted", msg, &e);
        }
        gs_log_warn("GPUPool deleted", "pool=%s nodes_left=%d", pool, nodes);
    }
    json_decref(r->applied);
    json_decref(r->pools_applied);
    r->applied = r->built;
    r->pools_applied = r->pools_built;
    r->built = json_object();
    r->pools_built = json_object();
    r->bad_set = false;
    r->bad_key[0] = '\0';
    r->bad_msg[0] = '\0';
    json_object_clear(r->warned);
    r->have = true;
    r->applied_total++;
    gs_log_info("configuration applied", "objects=%d", (int)json_object_size(r->applied));
}

/* ---- status ---- */

/* The Ready condition and observedGeneration of object `full` (cached o). */
static void ready_of(const gs_run_crs *r, const char *full, const json_t *o, json_t *st, bool *in_force) {
    int64_t g = generation(o);
    json_t *ap = json_object_get(r->applied, full);
    const char *status, *reason;
    char msg[GS_ERROR_MSG_MAX + GS_ERROR_FILE_MAX + 300];
    *in_force = ap != NULL;
    if (r->bad_set && strcmp(r->bad_key, full) == 0) {
        status = "False";
        reason = "InvalidSpec";
        snprintf(msg, sizeof msg, "%s%s", r->bad_msg,
                 ap ? " (the last valid configuration keeps acting)" : "");
        json_object_set_new(st, "observedGeneration", json_integer(g));
    } else if (ap && json_integer_value(ap) == g) {
        status = "True";
        reason = "Applied";
        snprintf(msg, sizeof msg, "in force");
        json_object_set_new(st, "observedGeneration", json_integer(g));
    } else {
        status = "Unknown";
        reason = "NotApplied";
        if (r->bad_set)
            snprintf(msg, sizeof msg, "not applied: the objects are refused as a whole because of %s: %s",
                     r->bad_key[0] ? r->bad_key : "an object", r->bad_msg);
        else
            snprintf(msg, sizeof msg, "not applied yet");
        if (ap) json_object_set(st, "observedGeneration", ap);
    }
    /* lastTransitionTime moves only when the condition's status does */
    const json_t *old = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, "Ready") == 0) old = c;
    }
    char when[32];
    const char *os = json_string_value(json_object_get(old, "status"));
    const char *ot = json_string_value(json_object_get(old, "lastTransitionTime"));
    if (os && ot && strcmp(os, status) == 0) snprintf(when, sizeof when, "%s", ot);
    else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rfc3339((int64_t)ts.tv_sec * 1000, when, sizeof when);
    }
    json_object_set_new(st, "conditions",
                        json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "type", "Ready", "status", status, "reason", reason,
                                  "message", msg, "lastTransitionTime", when));
}

static void pool_status(const gs_run_crs *r, const char *name, json_t *st) {
    int nodes = 0, gpus = 0;
    gs_usd_u rate = 0;
    const char *key;
    json_t *node;
    json_object_foreach((json_t *)(uintptr_t)gs_informer_store(r->nodes), key, node) {
        const json_t *l = json_object_get(md_of(node), "labels");
        const char *np = json_string_value(json_object_get(l, "gpuscale.dev/pool"));
        if (!np || strcmp(np, name) != 0) continue;
        nodes++;
        const char *it = json_string_value(json_object_get(l, "node.kubernetes.io/instance-type"));
        int t = it ? gs_catalog_find(r->cat, it) : -1;
        if (t < 0) continue;
        const char *ct = json_string_value(json_object_get(l, "karpenter.sh/capacity-type"));
        rate += gs_itype_price(&r->cat->types[t], ct && strcmp(ct, "spot") == 0 ? GS_CAP_SPOT : GS_CAP_ON_DEMAND);
        gpus += r->cat->types[t].gpus;
    }
    char b[40];
    usd_str(rate, b, sizeof b);
    json_object_set_new(st, "nodes", json_integer(nodes));
    json_object_set_new(st, "gpus", json_integer(gpus));
    json_object_set_new(st, "costPerHour", json_string(b));
}

/* Each kind's observed fields go into st; false when they are not known at this moment (the
 * fields already written are then kept, not removed). */
static bool budget_status(const gs_run_crs_obs *o, const gs_budget_state *bs, json_t *st) {
    static const char *const field[GS_WIN__N] = {"spentThisHour", "spentToday", "spentThisMonth"};
    gs_budget_eval ev;
    gs_error e;
    if (gs_budget_evaluate(bs, o->now, &ev, &e)) return false;
    char b[40], l[40], r[40], end[32];
    double ratio = 0;
    json_t *wins = json_array();
    for (int w = 0; w < GS_WIN__N; w++) {
        usd_str(bs->spent[w], b, sizeof b);
        json_object_set_new(st, field[w], json_string(b));
        if (ev.w[w].limited && ev.w[w].limit > 0) {
            double x = (double)ev.w[w].spent / (double)ev.w[w].limit;
            if (x > ratio) ratio = x;
            usd_str(ev.w[w].limit, l, sizeof l);
            snprintf(r, sizeof r, "%.4f", x);
            rfc3339(bs->periods.end[w], end, sizeof end);
            json_array_append_new(wins, json_pack("{s:s,s:s,s:s,s:s,s:s}", "window", gs_window_name((gs_window)w),
                                                  "spent", b, "limit", l, "usedRatio", r, "periodEnd", end));
        }
    }
    json_object_set_new(st, "windows", wins);
    snprintf(b, sizeof b, "%.4f", ratio);
    json_object_set_new(st, "usedRatio", json_string(b));
    const gs_budget *bd = bs->budget;
    bool blocked = ev.exceeded && (bd->enforce == GS_ENFORCE_HARD || bd->on_exceeded == GS_ON_EXCEEDED_BLOCK);
    json_object_set_new(st, "blocked", json_boolean(blocked));
    return true;
}

static bool env_status(const gs_run_crs_obs *o, const gs_environment *env, const gs_env_row *rows, int32_t nrows,
                       bool rows_ok, json_t *st) {
    gs_env_status es;
    const char *why = "";
    if (!gs_run_envs_state(o->envs, env->ns, env->name, &es, &why)) return false;
    static const char *const phase[] = {"Pending", "Running", "Deleting", "Deleted"};
    json_object_set_new(st, "phase", json_string(phase[es.phase]));
    char b[40];
    if (env->ttl > 0 && es.phase != GS_ENV_PENDING && es.created_at > 0) {
        rfc3339(es.created_at + env->ttl, b, sizeof b);
        json_object_set_new(st, "expiresAt", json_string(b));
    }
    for (int32_t i = 0; i < nrows; i++)
        if (strcmp(rows[i].name, env->name) == 0) {
            usd_str(rows[i].usd, b, sizeof b);
            json_object_set_new(st, "spent", json_string(b));
        }
    if (why[0]) json_object_set_new(st, "deletionReason", json_string(why));
    return rows_ok; /* the ledger not read: spent unknown, what is written is kept */
}

/* The merge patch that makes the cached status of o equal to want: want's fields, and (unless
 * partial) null for every field the cached status has and want does not (it no longer
 * applies). NULL when nothing differs (or out of memory). gpuscale owns .status as a whole. */
static json_t *status_diff(const json_t *o, const json_t *want, bool partial) {
    const json_t *have = json_object_get(o, "status");
    json_t *patch = json_object();
    if (!patch) return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)want, k, v)
        if (!json_equal(v, json_object_get(have, k))) json_object_set(patch, k, v);
    if (!partial)
        json_object_foreach((json_t *)(uintptr_t)have, k, v)
            if (!json_object_get(want, k)) json_object_set_new(patch, k, json_null());
    if (json_object_size(patch) == 0) {
        json_decref(patch);
        return NULL;
    }
    /* the whole of want goes along (one write carries the object's status as a whole; the
     * fields unchanged cost nothing and keep the write self-contained) */
    json_object_foreach((json_t *)(uintptr_t)want, k, v) json_object_set(patch, k, v);
    return patch;
}

void gs_run_crs_status(gs_run_crs *r, const gs_run_crs_obs *o) {
    int64_t now = mono_ms();
    if (r->last_pass && now - r->last_pass < 1000) return;
    r->last_pass = now;
    gs_env_row *rows = NULL;
    int32_t nrows = 0;
    bool rows_ok = true;
    gs_error e;
    gs_error_clear(&e);
    if (o->cfg->nenvs > 0 && o->ledger && gs_ledger_envs(o->ledger, &rows, &nrows, &e)) {
        gs_log_warn("environment spend not read", "err=\"%s\"", e.msg);
        rows_ok = false;
    }
    int64_t writes = 0, t0 = mono_us();
    for (int kind = 0; kind < GS_RUN_CRS_KINDS; kind++) {
        const char *key;
        json_t *obj;
        json_object_foreach((json_t *)(uintptr_t)gs_informer_store(r->inf[kind]), key, obj) {
            char full[NAME_MAX_LEN];
            obj_name(kind, key, full, sizeof full);
            json_t *lw = json_object_get(r->last_write, full);
            if (lw && now - json_integer_value(lw) < GS_RUN_CRS_STATUS_GAP_MS) continue;
            json_t *st = json_object();
            /* known: the kind's fields are observed now, so those left out no longer apply;
             * an object not in force (refused, or nothing applied yet) keeps what was written */
            bool in_force = false, known = false;
            ready_of(r, full, obj, st, &in_force);
            const char *name = md_str(obj, "name"), *ns = md_str(obj, "namespace");
            if (in_force && name) {
                const gs_config *c = o->cfg;
                known = true;
                if (kind == 0) {
                    pool_status(r, name, st);
                } else if (kind == 1) {
                    known = false;
                    for (int32_t i = 0; i < c->nscalers; i++) {
                        if (strcmp(c->scalers[i].name, name) != 0 || strcmp(c->scalers[i].ns, ns ? ns : "") != 0) continue;
                        const gs_run_crs_scaler_obs *so = &o->scalers[i];
                        known = true;
                        json_object_set_new(st, "queueLength", json_integer(so->queue_length));
                        json_object_set_new(st, "desiredReplicas", json_integer(so->desired));
                        json_object_set_new(st, "currentReplicas", json_integer(so->current));
                        if (so->last_scale > 0) {
                            char b[32];
                            rfc3339(so->last_scale, b, sizeof b);
                            json_object_set_new(st, "lastScaleTime", json_string(b));
                        }
                    }
                } else if (kind == 2) {
                    known = false; /* before the first meter tick the trackers are not there */
                    for (int32_t i = 0; o->budgets && i < o->nbudgets; i++)
                        if (strcmp(o->budgets[i].budget->name, name) == 0) known = budget_status(o, &o->budgets[i], st);
                } else {
                    known = false; /* until the environments' state is rebuilt after leading */
                    for (int32_t i = 0; i < c->nenvs; i++)
                        if (strcmp(c->envs[i].name, name) == 0 && strcmp(c->envs[i].ns, ns ? ns : "") == 0)
                            known = env_status(o, &c->envs[i], rows, nrows, rows_ok, st);
                }
            }
            json_t *diff = status_diff(obj, st, !known);
            json_decref(st);
            if (!diff) continue;
            char path[512];
            if (KINDS[kind].namespaced)
                snprintf(path, sizeof path, "/apis/%s/%s/namespaces/%s/%s/%s/status", GS_CRS_GROUP, GS_CRS_VERSION,
                         ns ? ns : "default", KINDS[kind].plural, name);
            else
                snprintf(path, sizeof path, "/apis/%s/%s/%s/%s/status", GS_CRS_GROUP, GS_CRS_VERSION, KINDS[kind].plural,
                         name);
            json_t *patch = json_pack("{s:o}", "status", diff);
            json_object_set_new(r->last_write, full, json_integer(now));
            writes++;
            if (gs_kube_merge_patch(r->k, path, patch, NULL, &e)) {
                r->status_failed++;
                gs_log_warn("status not written", "object=%s err=\"%s\"", full, e.msg);
            } else {
                r->status_ok++;
            }
            json_decref(patch);
        }
    }
    free(rows);
    if (writes > 0) {
        int64_t us = mono_us() - t0;
        r->status_us += us;
        r->status_passes++;
        if (writes > r->pass_max_writes) r->pass_max_writes = writes;
        if (us > r->pass_max_us) r->pass_max_us = us;
        gs_log(GS_LOG_DEBUG, "status written", "writes=%lld ms=%.1f", (long long)writes, (double)us / 1000.0);
    }
}

size_t gs_run_crs_metrics(const gs_run_crs *r, char *buf, size_t cap) {
    if (!r || cap == 0) return 0;
    int w = snprintf(buf, cap,
                     "# HELP gpuscale_config_valid 1 when the custom resources as they are now are in force, 0 while "
                     "they are refused (the last valid configuration acts).\n"
                     "# TYPE gpuscale_config_valid gauge\ngpuscale_config_valid %d\n"
                     "# TYPE gpuscale_config_applied_total counter\ngpuscale_config_applied_total %lld\n"
                     "# TYPE gpuscale_config_refused_total counter\ngpuscale_config_refused_total %lld\n"
                     "# TYPE gpuscale_status_writes_total counter\n"
                     "gpuscale_status_writes_total{result=\"ok\"} %lld\ngpuscale_status_writes_total{result=\"error\"} %lld\n"
                     "# HELP gpuscale_status_write_seconds_total Time the loop spent writing custom resources' status "
                     "(synchronous), over gpuscale_status_passes_total passes that wrote.\n"
                     "# TYPE gpuscale_status_write_seconds_total counter\ngpuscale_status_write_seconds_total %.6f\n"
                     "# TYPE gpuscale_status_passes_total counter\ngpuscale_status_passes_total %lld\n"
                     "# HELP gpuscale_status_pass_writes_max The most status writes one pass made.\n"
                     "# TYPE gpuscale_status_pass_writes_max gauge\ngpuscale_status_pass_writes_max %lld\n"
                     "# HELP gpuscale_status_pass_seconds_max The longest pass of status writes.\n"
                     "# TYPE gpuscale_status_pass_seconds_max gauge\ngpuscale_status_pass_seconds_max %.6f\n",
                     r->have && !r->bad_set ? 1 : 0, (long long)r->applied_total, (long long)r->refused_total,
                     (long long)r->status_ok, (long long)r->status_failed, (double)r->status_us / 1e6,
                     (long long)r->status_passes, (long long)r->pass_max_writes, (double)r->pass_max_us / 1e6);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}
