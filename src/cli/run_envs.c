#include "cli/run_envs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/log.h"
#include "policy/envs.h"

#define OBSERVE_GAP_MS 500     /* Job status / workload existence read at most this often */
#define RETRY_MS 5000          /* a failed create, or a delete repeated while pods remain */
#define WHY_LEN 64
#define FIN_GAP_MS 1000        /* a finalizer patch of one object at most this often */
#define OBJ_DELETED "object-deleted"

typedef struct env_run {
    gs_env_status st;
    bool recorded;                               /* the ledger has its creation */
    bool present[GS_MAX_ENV_WORKLOADS];          /* its workload object exists (last read) */
    char uid[GS_MAX_ENV_WORKLOADS][64];          /* for Events */
    char why[WHY_LEN];                           /* the deletion reason recorded */
    gs_ms next_try;                              /* wall ms: no create/delete before */
    gs_ms last_observe;
    /* its Environment object (custom resources only; gs_run_envs_use_objects) */
    bool obj_ok;                                 /* cached and well-formed (this tick) */
    bool obj_deleting;                           /* metadata.deletionTimestamp set */
    bool fin;                                    /* GS_ENV_FINALIZER on it */
    char stale_rv[64];                           /* the cached resourceVersion our last finalizer
                                                  * patch was made against: while the cache still
                                                  * shows it, fin_after is what the object has */
    bool fin_after;
    bool just_deleted;                           /* its deletion started this tick */
    gs_ms fin_next;                              /* no finalizer patch before */
    char bad[GS_ERROR_MSG_MAX];                  /* the malformed-object message last logged */
} env_run;

struct gs_run_envs {
    const gs_config *cfg;
    gs_kube *k;
    gs_informer *pods;
    gs_informer *jobs, *deps; /* optional caches of the workloads (gs_run_envs_use_caches) */
    int64_t cache_reads, gets; /* how the workloads were read */
    gs_informer *objs;         /* the Environment objects (custom resources), or NULL */
    int64_t fin_added, fin_removed, fin_conflicts;
    gs_ledger *ledger;
    bool synced;                                 /* state rebuilt since leading */
    env_run *e;
    gs_env_status *st;                           /* contiguous copy for gs_envs_decide */
    gs_env_action *acts;
    int32_t n;
    int64_t created_total, deleted_total, errors;
};

static gs_ms wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (gs_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gs_run_envs_new(const gs_config *cfg, gs_kube *k, gs_informer *pods, gs_ledger *ledger,
                    gs_run_envs **out, gs_error *err) {
    *out = NULL;
    if (cfg->nenvs == 0) return 0;
    if (!ledger)
        return gs_error_set(err, GS_EINVAL,
                            "the configuration has %d Environment object(s): --ledger FILE is needed to run them "
                            "(their creation, deletion and cost are recorded there, so a restart neither "
                            "re-creates nor forgets one)",
                            (int)cfg->nenvs);
    gs_run_envs *re = calloc(1, sizeof *re);
    if (!re) return gs_error_set(err, GS_ENOMEM, "out of memory");
    re->e = calloc((size_t)cfg->nenvs, sizeof *re->e);
    re->st = calloc((size_t)cfg->nenvs, sizeof *re->st);
    re->acts = calloc((size_t)cfg->nenvs, sizeof *re->acts);
    if (!re->e || !re->st || !re->acts) {
        gs_run_envs_free(re);
        return gs_error_set(err, GS_ENOMEM, "out of memory");
    }
    re->cfg = cfg;
    re->k = k;
    re->pods = pods;
    re->ledger = ledger;
    re->n = cfg->nenvs;
    for (int32_t i = 0; i < re->n; i++) re->e[i].st.env = &cfg->envs[i];
    *out = re;
    return 0;
}

void gs_run_envs_free(gs_run_envs *re) {
    if (!re) return;
    free(re->e);
    free(re->st);
    free(re->acts);
    free(re);
}

void gs_run_envs_use_caches(gs_run_envs *re, gs_informer *jobs, gs_informer *deps) {
    if (!re) return;
    re->jobs = jobs;
    re->deps = deps;
}

void gs_run_envs_use_objects(gs_run_envs *re, gs_informer *objs) {
    if (re) re->objs = objs;
}

void gs_run_envs_lost(gs_run_envs *re) {
    if (re) re->synced = false;
}

/* ---- names and paths ---- */

static void wl_name(const gs_environment *e, int32_t w, char *out, size_t n) {
    if (e->is_job) snprintf(out, n, "%s", e->name);
    else snprintf(out, n, "%s-%s", e->name, e->workloads[w].name);
}

static void wl_path(const gs_environment *e, int32_t w, char *out, size_t n) {
    char nm[2 * GS_NAME_LEN];
    wl_name(e, w, nm, sizeof nm);
    if (e->is_job) snprintf(out, n, "/apis/batch/v1/namespaces/%s/jobs/%s", e->ns, nm);
    else snprintf(out, n, "/apis/apps/v1/namespaces/%s/deployments/%s", e->ns, nm);
}

const gs_environment *gs_run_envs_of_pod(const gs_run_envs *re, const gs_kpod *pod) {
    if (!re || !pod->owner[0]) return NULL;
    const char *slash = strchr(pod->owner, '/');
    if (!slash) return NULL;
    bool job = strncmp(pod->owner, "Job/", 4) == 0, dep = strncmp(pod->owner, "Deployment/", 11) == 0;
    if (!job && !dep) return NULL;
    for (int32_t i = 0; i < re->n; i++) {
        const gs_environment *e = re->e[i].st.env;
        if (e->is_job != job || strcmp(e->ns, pod->ns) != 0) continue;
        for (int32_t w = 0; w < e->nworkloads; w++) {
            char nm[2 * GS_NAME_LEN];
            wl_name(e, w, nm, sizeof nm);
            if (strcmp(nm, slash + 1) == 0) return e;
        }
    }
    return NULL;
}

/* ---- the objects ---- */

static const char *effect_name(int eff) {
    return eff == GS_TAINT_NO_SCHEDULE ? "NoSchedule" : eff == GS_TAINT_PREFER_NO_SCHEDULE ? "PreferNoSchedule" : "NoExecute";
}

static json_t *labels_of(const gs_environment *e, const char *workload) {
    json_t *l = json_pack("{s:s,s:s}", GS_ENV_LABEL, e->name, GS_ENV_PROJECT_LABEL, e->project);
    if (l && workload) json_object_set_new(l, "gpuscale.dev/workload", json_string(workload));
    return l;
}

/* The pod template: labels, one container (image, command, resources), nodeSelector (the
 * pool's label plus the template's), tolerations (the pool's taints plus the template's). */
static json_t *pod_template(const gs_config *cfg, const gs_environment *e, const gs_env_workload *w) {
    const gs_pod_spec *ps = &w->pod;
    json_t *req = json_object(), *lim = json_object();
    char b[64];
    if (ps->cpu > 0) {
        snprintf(b, sizeof b, "%lldm", (long long)ps->cpu);
        json_object_set_new(req, "cpu", json_string(b));
    }
    if (ps->mem > 0) {
        snprintf(b, sizeof b, "%lldMi", (long long)ps->mem);
        json_object_set_new(req, "memory", json_string(b));
    }
    const char *gr = NULL;
    long long gv = 0;
    char mig[64];
    switch (ps->gpu.form) {
    case GS_GPU_NONE: break;
    case GS_GPU_WHOLE: gr = "nvidia.com/gpu"; gv = ps->gpu.count; break;
    case GS_GPU_SHARED: gr = "nvidia.com/gpu.shared"; gv = ps->gpu.count; break;
    case GS_GPU_FRACTION: gr = "gpuscale.dev/gpu-milli"; gv = ps->gpu.milli; break;
    case GS_GPU_MIG:
        snprintf(mig, sizeof mig, "nvidia.com/mig-%s", ps->gpu.mig_profile);
        gr = mig;
        gv = ps->gpu.count > 0 ? ps->gpu.count : 1;
        break;
    }
    if (gr) { /* extended resources: limits, and requests equal to them */
        snprintf(b, sizeof b, "%lld", gv);
        json_object_set_new(req, gr, json_string(b));
        json_object_set_new(lim, gr, json_string(b));
    }
    json_t *res = json_object();
    json_object_set_new(res, "requests", req);
    if (json_object_size(lim)) json_object_set_new(res, "limits", lim);
    else json_decref(lim);
    json_t *ctr = json_pack("{s:s,s:s,s:o}", "name", "main", "image", w->image[0] ? w->image : GS_ENV_DEFAULT_IMAGE,
                            "resources", res);
    if (w->ncommand > 0) {
        json_t *cmd = json_array();
        for (int32_t i = 0; i < w->ncommand; i++) json_array_append_new(cmd, json_string(w->command[i]));
        json_object_set_new(ctr, "command", cmd);
    }
    json_t *sel = json_object(), *tols = json_array();
    const gs_pool *pool = NULL;
    if (e->pool[0]) {
        int pi = gs_config_find_pool(cfg, e->pool);
        if (pi >= 0) pool = &cfg->pools[pi];
        json_object_set_new(sel, "gpuscale.dev/pool", json_string(e->pool));
    }
    for (int32_t i = 0; i < ps->n_node_selector; i++)
        json_object_set_new(sel, ps->node_selector[i].key, json_string(ps->node_selector[i].value));
    for (int32_t i = 0; pool && i < pool->ntaints; i++) {
        const gs_taint *t = &pool->taints[i];
        json_t *o = json_pack("{s:s,s:s,s:s}", "key", t->key, "operator", "Equal", "effect", effect_name((int)t->effect));
        json_object_set_new(o, "value", json_string(t->value));
        json_array_append_new(tols, o);
    }
    for (int32_t i = 0; i < ps->n_tolerations; i++) {
        const gs_toleration *t = &ps->tolerations[i];
        json_t *o = json_object();
        if (t->key[0]) json_object_set_new(o, "key", json_string(t->key));
        json_object_set_new(o, "operator", json_string(t->op == GS_TOL_EXISTS ? "Exists" : "Equal"));
        if (t->op == GS_TOL_EQUAL) json_object_set_new(o, "value", json_string(t->value));
        if (t->effect >= 0) json_object_set_new(o, "effect", json_string(effect_name(t->effect)));
        json_array_append_new(tols, o);
    }
    json_t *spec = json_pack("{s:[o]}", "containers", ctr);
    if (json_object_size(sel)) json_object_set_new(spec, "nodeSelector", sel);
    else json_decref(sel);
    if (json_array_size(tols)) json_object_set_new(spec, "tolerations", tols);
    else json_decref(tols);
    if (ps->priority) json_object_set_new(spec, "priority", json_integer(ps->priority));
    if (e->is_job) json_object_set_new(spec, "restartPolicy", json_string("Never"));
    return json_pack("{s:{s:o},s:o}", "metadata", "labels", labels_of(e, e->is_job ? NULL : w->name), "spec", spec);
}

static json_t *workload_obj(const gs_config *cfg, const gs_environment *e, int32_t w) {
    char nm[2 * GS_NAME_LEN];
    wl_name(e, w, nm, sizeof nm);
    const gs_env_workload *x = &e->workloads[w];
    json_t *tpl = pod_template(cfg, e, x);
    if (e->is_job) {
        int32_t n = x->replicas > 0 ? x->replicas : 1;
        return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:i,s:i,s:o}}", "apiVersion", "batch/v1", "kind", "Job",
                         "metadata", "name", nm, "namespace", e->ns, "labels", labels_of(e, NULL), "spec",
                         "parallelism", (int)n, "completions", (int)n, "template", tpl);
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:i,s:{s:o},s:o}}", "apiVersion", "apps/v1", "kind", "Deployment",
                     "metadata", "name", nm, "namespace", e->ns, "labels", labels_of(e, x->name), "spec", "replicas",
                     (int)x->replicas, "selector", "matchLabels",
                     json_pack("{s:s,s:s}", GS_ENV_LABEL, e->name, "gpuscale.dev/workload", x->name), "template", tpl);
}

static void event(gs_run_envs *re, const env_run *r, int32_t w, const char *type, const char *reason, const char *msg) {
    const gs_environment *e = r->st.env;
    char nm[2 * GS_NAME_LEN];
    wl_name(e, w, nm, sizeof nm);
    gs_error err;
    gs_error_clear(&err);
    if (gs_kube_event(re->k, e->is_job ? "batch/v1" : "apps/v1", e->is_job ? "Job" : "Deployment", e->ns, nm, r->uid[w],
                      type, reason, msg, &err))
        gs_log_warn("event not recorded", "environment=%s/%s reason=%s err=\"%s\"", e->ns, e->name, reason, err.msg);
}

static bool label_is(const json_t *obj, const char *key, const char *val) {
    const char *v = json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
    return v && strcmp(v, val) == 0;
}

/* Creates every workload (one that exists already is kept). 0 when all exist. */
static int create(gs_run_envs *re, env_run *r, gs_error *err) {
    const gs_environment *e = r->st.env;
    for (int32_t w = 0; w < e->nworkloads; w++) {
        if (r->present[w]) continue;
        char path[512], coll[512];
        wl_path(e, w, path, sizeof path);
        snprintf(coll, sizeof coll, "%.*s", (int)(strrchr(path, '/') - path), path);
        json_t *obj = workload_obj(re->cfg, e, w), *got = NULL;
        if (!obj) return gs_error_set(err, GS_ENOMEM, "out of memory");
        int rc = gs_kube_create(re->k, coll, obj, &got, err);
        json_decref(obj);
        if (rc == GS_ECONFLICT) { /* created before a restart, or someone else's object */
            rc = gs_kube_get(re->k, path, &got, err);
            if (!rc && !label_is(got, GS_ENV_LABEL, e->name))
                rc = gs_error_set(err, GS_ECONFLICT, "%s exists without label %s=%s: not touching it", path,
                                  GS_ENV_LABEL, e->name);
        }
        if (rc) {
            json_decref(got);
            return rc;
        }
        const char *uid = json_string_value(json_object_get(json_object_get(got, "metadata"), "uid"));
        snprintf(r->uid[w], sizeof r->uid[w], "%s", uid ? uid : "");
        json_decref(got);
        r->present[w] = true;
    }
    return 0;
}

/* Deletes every workload (Background: the garbage collector deletes the pods). 404 is done. */
static int delete_workloads(gs_run_envs *re, env_run *r, gs_error *err) {
    const gs_environment *e = r->st.env;
    int first = 0;
    for (int32_t w = 0; w < e->nworkloads; w++) {
        char path[600];
        wl_path(e, w, path, sizeof path);
        strcat(path, "?propagationPolicy=Background");
        int rc = gs_kube_delete(re->k, path, err);
        if (rc == GS_ENOENT) rc = 0;
        if (rc && !first) first = rc;
        if (!rc) r->present[w] = false;
    }
    return first;
}

/* ---- the Environment objects: gpuscale's finalizer ---- */

static const char *json_kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

int gs_run_envs_obj_meta(const json_t *obj, gs_env_obj_meta *out, gs_error *err) {
    memset(out, 0, sizeof *out);
    const json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md)) return gs_error_set(err, GS_EPARSE, "metadata: missing or not an object");
    const json_t *rv = json_object_get(md, "resourceVersion");
    if (!json_is_string(rv) || !json_string_value(rv)[0])
        return gs_error_set(err, GS_EPARSE, "metadata.resourceVersion: %s", rv ? "not a non-empty string" : "missing");
    out->rv = json_string_value(rv);
    const json_t *dt = json_object_get(md, "deletionTimestamp");
    if (dt && !json_is_null(dt) && !json_is_string(dt))
        return gs_error_set(err, GS_EPARSE, "metadata.deletionTimestamp: not a string (%s)", json_kind(dt));
    out->deleting = json_is_string(dt);
    const json_t *fs = json_object_get(md, "finalizers");
    if (!fs || json_is_null(fs)) return 0;
    if (!json_is_array(fs)) return gs_error_set(err, GS_EPARSE, "metadata.finalizers: not a list (%s)", json_kind(fs));
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f) {
        if (!json_is_string(f))
            return gs_error_set(err, GS_EPARSE, "metadata.finalizers[%zu]: not a string (%s)", i, json_kind(f));
        if (strcmp(json_string_value(f), GS_ENV_FINALIZER) == 0) out->ours = true;
    }
    return 0;
}

int gs_run_envs_fin_patch(const json_t *obj, bool add, json_t **patch, gs_error *err) {
    *patch = NULL;
    gs_env_obj_meta m;
    int rc = gs_run_envs_obj_meta(obj, &m, err);
    if (rc) return rc;
    if (m.ours == add) return 0;
    json_t *list = json_array();
    if (!list) return gs_error_set(err, GS_ENOMEM, "out of memory");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f)
        if (strcmp(json_string_value(f), GS_ENV_FINALIZER) != 0) json_array_append(list, f);
    if (add) json_array_append_new(list, json_string(GS_ENV_FINALIZER));
    *patch = json_pack("{s:{s:s,s:o}}", "metadata", "resourceVersion", m.rv, "finalizers", list);
    return *patch ? 0 : gs_error_set(err, GS_ENOMEM, "out of memory");
}

/* Reads each environment's object from the cache: deleting, finalizer. A malformed one is
 * logged (once per message) and left alone: no workload is created for it, no finalizer
 * written. */
static void objects_observe(gs_run_envs *re) {
    for (int32_t i = 0; i < re->n; i++) {
        env_run *r = &re->e[i];
        const gs_environment *e = r->st.env;
        r->obj_ok = false;
        r->just_deleted = false;
        const json_t *o = gs_informer_get(re->objs, e->ns, e->name);
        if (!o) continue; /* gone from the cache: the next configuration drops it (retire) */
        gs_env_obj_meta m;
        gs_error err;
        gs_error_clear(&err);
        if (gs_run_envs_obj_meta(o, &m, &err)) {
            if (strcmp(r->bad, err.msg) != 0) {
                snprintf(r->bad, sizeof r->bad, "%s", err.msg);
                re->errors++;
                gs_log_warn("environment object malformed",
                            "environment=%s/%s err=\"Environment/%s/%s: %s\" action=\"none: no workload created, "
                            "finalizer left as it is, until the object is fixed\"",
                            e->ns, e->name, e->ns, e->name, err.msg);
            }
            continue;
        }
        r->bad[0] = '\0';
        r->obj_ok = true;
        r->obj_deleting = m.deleting;
        if (r->stale_rv[0] && strcmp(m.rv, r->stale_rv) == 0) {
            r->fin = r->fin_after; /* the cache has not seen our patch yet */
        } else {
            r->stale_rv[0] = '\0';
            r->fin = m.ours;
        }
    }
}

/* Puts (add) or takes off gpuscale's finalizer on the environment's object. true when the object
 * is as wanted. A 409 (the cache is behind the object) is tried again at a later tick. */
static bool fin_set(gs_run_envs *re, env_run *r, bool add, gs_ms now) {
    if (!r->obj_ok) return false;
    if (r->fin == add) return true;
    if (now < r->fin_next) return false;
    r->fin_next = now + FIN_GAP_MS;
    const gs_environment *e = r->st.env;
    const json_t *o = gs_informer_get(re->objs, e->ns, e->name);
    json_t *patch = NULL, *resp = NULL;
    gs_error err;
    gs_error_clear(&err);
    int rc = gs_run_envs_fin_patch(o, add, &patch, &err);
    if (rc || !patch) return rc == 0;
    char path[512], rv[sizeof r->stale_rv];
    snprintf(rv, sizeof rv, "%s", json_string_value(json_object_get(json_object_get(patch, "metadata"), "resourceVersion")));
    snprintf(path, sizeof path, "/apis/gpuscale.dev/v1alpha1/namespaces/%s/environments/%s", e->ns, e->name);
    long status = 0;
    rc = gs_kube_do(re->k, "PATCH", path, "application/merge-patch+json", patch, &status, &resp, &err);
    if (!rc) rc = gs_kube_status_err(status, resp, "PATCH", path, &err);
    json_decref(patch);
    json_decref(resp);
    if (rc == GS_ENOENT && !add) rc = 0; /* the object is gone already */
    if (rc == GS_ECONFLICT) {
        re->fin_conflicts++;
        gs_log(GS_LOG_DEBUG, "environment finalizer not written", "environment=%s/%s err=\"%s\" retry=next-tick", e->ns,
               e->name, err.msg);
        return false;
    }
    if (rc) {
        re->errors++;
        r->fin_next = now + RETRY_MS;
        gs_log_warn("environment finalizer not written", "environment=%s/%s op=%s err=\"%s\"%s", e->ns, e->name,
                    add ? "add" : "remove", rc == GS_ENOMEM ? "out of memory" : err.msg,
                    rc == GS_EAUTH ? " hint=\"gpuscale needs patch on environments.gpuscale.dev (deploy/rbac.yaml)\"" : "");
        return false;
    }
    snprintf(r->stale_rv, sizeof r->stale_rv, "%s", rv);
    r->fin_after = r->fin = add;
    if (add) re->fin_added++;
    else re->fin_removed++;
    gs_log_info(add ? "environment finalizer added" : "environment finalizer removed", "environment=%s/%s finalizer=%s",
                e->ns, e->name, GS_ENV_FINALIZER);
    return true;
}

/* ---- state ---- */

/* Reads each environment's workloads: present (with uid), and for a Job its status into
 * jobs_succeeded / jobs_failed. 0, or the first error (the state is then not trusted). */
static int read_objects(gs_run_envs *re, env_run *r, gs_error *err) {
    const gs_environment *e = r->st.env;
    r->st.jobs_succeeded = r->st.jobs_failed = 0;
    for (int32_t w = 0; w < e->nworkloads; w++) {
        char path[512];
        wl_path(e, w, path, sizeof path);
        json_t *o = NULL;
        int rc = GS_ENOENT;
        gs_informer *cache = e->is_job ? re->jobs : re->deps;
        if (cache && gs_informer_synced(cache)) {
            char nm[2 * GS_NAME_LEN];
            wl_name(e, w, nm, sizeof nm);
            const json_t *got = gs_informer_get(cache, e->ns, nm);
            if (got) {
                o = json_incref((json_t *)(uintptr_t)got);
                rc = 0;
                re->cache_reads++;
            }
        }
        if (!o) { /* not cached (or no cache): the API server says whether it exists */
            rc = gs_kube_get(re->k, path, &o, err);
            re->gets++;
        }
        if (rc == GS_ENOENT) {
            r->present[w] = false;
            continue;
        }
        if (rc) return rc;
        /* an object of that name gpuscale did not create is not this environment's */
        if (!label_is(o, GS_ENV_LABEL, e->name)) {
            json_decref(o);
            return gs_error_set(err, GS_ECONFLICT, "%s exists without label %s=%s: not touching it", path, GS_ENV_LABEL,
                                e->name);
        }
        r->present[w] = true;
        const char *uid = json_string_value(json_object_get(json_object_get(o, "metadata"), "uid"));
        snprintf(r->uid[w], sizeof r->uid[w], "%s", uid ? uid : "");
        if (e->is_job) {
            const json_t *st = json_object_get(o, "status");
            int32_t expected = gs_env_jobs_expected(e);
            int32_t ok = (int32_t)json_integer_value(json_object_get(st, "succeeded"));
            bool complete = false, failed = false;
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(st, "conditions"), i, c) {
                const char *t = json_string_value(json_object_get(c, "type"));
                const char *s = json_string_value(json_object_get(c, "status"));
                if (!t || !s || strcmp(s, "True") != 0) continue;
                if (strcmp(t, "Complete") == 0) complete = true;
                if (strcmp(t, "Failed") == 0) failed = true;
            }
            /* the Job controller's verdict: Complete = every completion succeeded; Failed =
             * the rest will not run (backoffLimit, activeDeadlineSeconds) */
            r->st.jobs_succeeded = complete ? expected : ok;
            r->st.jobs_failed = failed && !complete ? (expected > ok ? expected - ok : 0) : 0;
        }
        json_decref(o);
    }
    return 0;
}

static bool any_present(const env_run *r) {
    for (int32_t w = 0; w < r->st.env->nworkloads; w++)
        if (r->present[w]) return true;
    return false;
}

/* Live pods (not Succeeded/Failed, deleting ones included: they still hold their GPU) of the
 * environment's workloads, from the pod cache. */
static void count_pods(gs_run_envs *re) {
    for (int32_t i = 0; i < re->n; i++) re->e[i].st.pods_live = 0;
    size_t it = 0;
    const void *rec;
    while (gs_informer_next(re->pods, &it, NULL, &rec)) {
        const gs_kpod *p = rec;
        const gs_environment *e = gs_run_envs_of_pod(re, p);
        if (!e || !gs_kpod_live(p)) continue;
        re->e[e - re->cfg->envs].st.pods_live++;
    }
}

/* Rebuilds the phases from the ledger and the objects (start-up, leadership regained):
 *   ledger says deleted                  -> DELETED (never created again)
 *   workloads exist                      -> ACTIVE, created_at from the ledger (recorded if not)
 *   ledger says alive, no workload left  -> DELETING: its workloads were deleted (by us just
 *                                           before a restart, or by hand); recorded as deleted
 *                                           once its pods are gone
 *   neither                              -> PENDING (created now) */
static int sync_state(gs_run_envs *re, gs_ms now, gs_error *err) {
    gs_env_row *rows = NULL;
    int32_t nrows = 0;
    int rc = gs_ledger_envs(re->ledger, &rows, &nrows, err);
    if (rc) return rc;
    for (int32_t i = 0; i < re->n && !rc; i++) {
        env_run *r = &re->e[i];
        const gs_environment *e = r->st.env;
        const gs_env_row *row = NULL;
        for (int32_t j = 0; j < nrows; j++)
            if (strcmp(rows[j].name, e->name) == 0) row = &rows[j];
        gs_env_status fresh = {.env = e, .phase = GS_ENV_PENDING};
        r->st = fresh;
        r->recorded = row != NULL;
        r->why[0] = '\0';
        r->next_try = 0;
        r->last_observe = 0;
        memset(r->present, 0, sizeof r->present);
        if (row && row->deleted >= 0) {
            r->st.phase = GS_ENV_DELETED;
            snprintf(r->why, sizeof r->why, "%.63s", row->reason);
            continue;
        }
        if ((rc = read_objects(re, r, err))) {
            if (rc != GS_ECONFLICT) break;
            /* an object of its name that is not gpuscale's: left alone, the environment waits */
            gs_log_warn("environment blocked", "environment=%s/%s err=\"%s\"", e->ns, e->name, err->msg);
            rc = 0;
            memset(r->present, 0, sizeof r->present);
            r->next_try = now + RETRY_MS;
            continue;
        }
        if (any_present(r)) {
            r->st.phase = GS_ENV_ACTIVE;
            r->st.created_at = row ? row->created : now;
        } else if (row) {
            r->st.phase = GS_ENV_DELETING;
            r->st.created_at = row->created;
            snprintf(r->why, sizeof r->why, "workloads-gone");
        }
        gs_log_info("environment state", "environment=%s/%s phase=%s recorded=%d", e->ns, e->name,
                    gs_env_phase_name(r->st.phase), (int)r->recorded);
    }
    free(rows);
    return rc;
}

static const char *why_of(const env_run *r) { return r->why[0] ? r->why : gs_env_reason_name(r->st.reason); }

static void act(gs_run_envs *re, const gs_env_action *a, gs_ms now) {
    env_run *r = &re->e[a->env];
    const gs_environment *e = r->st.env;
    gs_error err;
    gs_error_clear(&err);
    int rc = 0;
    char msg[256];
    switch (a->kind) {
    case GS_ENVACT_CREATE:
        if (now < r->next_try) return;
        if ((rc = create(re, r, &err))) {
            r->next_try = now + RETRY_MS;
            break;
        }
        gs_envs_advance(&r->st, a, now);
        re->created_total++;
        gs_log_info("environment created", "environment=%s/%s project=%s pool=%s workloads=%d kind=%s", e->ns, e->name,
                    e->project, e->pool[0] ? e->pool : "any", (int)e->nworkloads, e->is_job ? "Job" : "Deployment");
        snprintf(msg, sizeof msg, "environment %s (project %s) created by gpuscale; ttl %llds, deleteWhen %s", e->name,
                 e->project, (long long)(e->ttl / 1000),
                 e->delete_when == GS_DELETE_SUCCEEDED ? "succeeded" : e->delete_when == GS_DELETE_FINISHED ? "finished" : "never");
        for (int32_t w = 0; w < e->nworkloads; w++) event(re, r, w, "Normal", "EnvironmentCreated", msg);
        break;
    case GS_ENVACT_DELETE_WORKLOADS:
        if (r->st.phase == GS_ENV_DELETING && now < r->next_try) return;
        if (r->st.phase == GS_ENV_ACTIVE) {
            gs_envs_advance(&r->st, a, now);
            if (strcmp(why_of(r), OBJ_DELETED) == 0)
                snprintf(msg, sizeof msg, "environment %s deleted by gpuscale: its Environment object was deleted", e->name);
            else snprintf(msg, sizeof msg, "environment %s deleted by gpuscale: %s", e->name, why_of(r));
            for (int32_t w = 0; w < e->nworkloads; w++)
                if (r->present[w]) event(re, r, w, "Normal", "EnvironmentDeleted", msg);
            gs_log_info("environment deleting", "environment=%s/%s reason=%s pods_live=%d", e->ns, e->name, why_of(r),
                        (int)r->st.pods_live);
        }
        r->next_try = now + RETRY_MS;
        rc = delete_workloads(re, r, &err);
        break;
    case GS_ENVACT_RELEASE_NODES:
        /* nodes_live stays 0: consolidation releases the emptied nodes (docs/cost.md) */
        gs_envs_advance(&r->st, a, now);
        break;
    case GS_ENVACT_MARK_DELETED:
        if (!r->recorded) {
            if ((rc = gs_ledger_env_created(re->ledger, e->name, e->project, e->pool, r->st.created_at, &err))) break;
            r->recorded = true;
        }
        if ((rc = gs_ledger_env_deleted(re->ledger, e->name, now, why_of(r), &err))) break;
        gs_envs_advance(&r->st, a, now);
        re->deleted_total++;
        gs_log_info("environment deleted", "environment=%s/%s reason=%s", e->ns, e->name, why_of(r));
        break;
    }
    if (rc) {
        re->errors++;
        gs_log_warn("environment action failed", "environment=%s/%s action=%s err=\"%s\"", e->ns, e->name,
                    gs_env_action_name(a->kind), rc == GS_ENOMEM ? "out of memory" : err.msg);
    }
}

/* Objects marked for deletion (metadata.deletionTimestamp): an environment never created is
 * over; an active one gets its workloads deleted now (reason object-deleted); one already being
 * deleted for its own reason keeps that reason. */
static void objects_deleting(gs_run_envs *re, gs_ms now) {
    for (int32_t i = 0; i < re->n; i++) {
        env_run *r = &re->e[i];
        const gs_environment *e = r->st.env;
        if (!r->obj_ok || !r->obj_deleting) continue;
        switch (r->st.phase) {
        case GS_ENV_PENDING:
            r->st.phase = GS_ENV_DELETED;
            snprintf(r->why, sizeof r->why, OBJ_DELETED);
            gs_log_info("environment deleted", "environment=%s/%s reason=" OBJ_DELETED " created=no", e->ns, e->name);
            break;
        case GS_ENV_ACTIVE: {
            snprintf(r->why, sizeof r->why, OBJ_DELETED);
            gs_env_action a = {GS_ENVACT_DELETE_WORKLOADS, i, GS_ENV_REASON_NONE};
            act(re, &a, now);
            r->just_deleted = true; /* the ledger is closed at a later tick, once its pods are gone */
            break;
        }
        case GS_ENV_DELETING:
            if (r->st.reason == GS_ENV_REASON_NONE && (!r->why[0] || strcmp(r->why, "workloads-gone") == 0))
                snprintf(r->why, sizeof r->why, OBJ_DELETED);
            break;
        case GS_ENV_DELETED: break;
        }
    }
}

/* Is the decided action held back by the Environment object? A workload is created only once
 * the object carries gpuscale's finalizer (so its deletion waits for gpuscale), never for an
 * object being deleted; an environment whose deletion started this tick does nothing more. */
static bool held_back(gs_run_envs *re, const gs_env_action *a, gs_ms now) {
    env_run *r = &re->e[a->env];
    if (a->kind != GS_ENVACT_CREATE) return r->just_deleted;
    return !r->obj_ok || r->obj_deleting || !fin_set(re, r, true, now);
}

/* The finalizer follows the environment: taken off once its deletion is recorded (then nothing
 * of it is left to clean up: the object may go, now or whenever it is deleted), put on an
 * environment that runs without it (created before gpuscale used finalizers, or removed by
 * hand). */
static void objects_finalize(gs_run_envs *re, gs_ms now) {
    for (int32_t i = 0; i < re->n; i++) {
        env_run *r = &re->e[i];
        if (!r->obj_ok) continue;
        if (r->st.phase == GS_ENV_DELETED) {
            if (r->fin) fin_set(re, r, false, now);
        } else if (r->st.phase != GS_ENV_PENDING && !r->obj_deleting && !r->fin) {
            fin_set(re, r, true, now);
        }
    }
}

void gs_run_envs_tick(gs_run_envs *re, const gs_budget_state *budgets, int32_t nbudgets) {
    if (!re) return;
    gs_ms now = wall_now();
    gs_error err;
    gs_error_clear(&err);
    /* the objects first (cache only): a malformed one is told even while the state cannot be read */
    if (re->objs) objects_observe(re);
    if (!re->synced) {
        int rc = sync_state(re, now, &err);
        if (rc) {
            re->errors++;
            gs_log_warn("environments not read", "err=\"%s\"", rc == GS_ENOMEM ? "out of memory" : err.msg);
            return;
        }
        re->synced = true;
    }
    count_pods(re);
    for (int32_t i = 0; i < re->n; i++) {
        env_run *r = &re->e[i];
        /* the ledger's creation record (retried until written) */
        if (r->st.phase == GS_ENV_ACTIVE && !r->recorded) {
            const gs_environment *e = r->st.env;
            if (gs_ledger_env_created(re->ledger, e->name, e->project, e->pool, r->st.created_at, &err) == 0)
                r->recorded = true;
            else gs_log_warn("environment not recorded", "environment=%s/%s err=\"%s\"", e->ns, e->name, err.msg);
        }
        if (r->st.phase != GS_ENV_ACTIVE || now - r->last_observe < OBSERVE_GAP_MS) continue;
        r->last_observe = now;
        if (read_objects(re, r, &err)) {
            gs_log_warn("environment not observed", "environment=%s/%s err=\"%s\"", r->st.env->ns, r->st.env->name, err.msg);
            r->last_observe = now + RETRY_MS;
            continue;
        }
        /* every workload deleted by someone else: the environment is over */
        if (!any_present(r) && r->st.pods_live == 0) {
            r->st.phase = GS_ENV_DELETING;
            snprintf(r->why, sizeof r->why, "workloads-gone");
        }
    }
    if (re->objs) objects_deleting(re, now);
    for (int32_t i = 0; i < re->n; i++) {
        re->e[i].st.nodes_live = 0;
        re->st[i] = re->e[i].st;
    }
    int32_t na = gs_envs_decide(re->st, re->n, now, budgets, nbudgets, re->acts, re->n);
    if (na > re->n) na = re->n;
    for (int32_t a = 0; a < na; a++)
        if (!re->objs || !held_back(re, &re->acts[a], now)) act(re, &re->acts[a], now);
    if (re->objs) objects_finalize(re, now);
}

size_t gs_run_envs_metrics(const gs_run_envs *re, char *buf, size_t cap) {
    if (!re || cap == 0) return 0;
    int cnt[4] = {0, 0, 0, 0};
    for (int32_t i = 0; i < re->n; i++) cnt[re->e[i].st.phase]++;
    int w = snprintf(buf, cap,
                     "# HELP gpuscale_environments Configured Environments by phase (this replica's view; leader).\n"
                     "# TYPE gpuscale_environments gauge\n"
                     "gpuscale_environments{phase=\"pending\"} %d\ngpuscale_environments{phase=\"active\"} %d\n"
                     "gpuscale_environments{phase=\"deleting\"} %d\ngpuscale_environments{phase=\"deleted\"} %d\n"
                     "# TYPE gpuscale_environments_created_total counter\ngpuscale_environments_created_total %lld\n"
                     "# TYPE gpuscale_environments_deleted_total counter\ngpuscale_environments_deleted_total %lld\n"
                     "# TYPE gpuscale_environment_errors_total counter\ngpuscale_environment_errors_total %lld\n"
                     "# TYPE gpuscale_environment_reads_total counter\n"
                     "gpuscale_environment_reads_total{from=\"cache\"} %lld\n"
                     "gpuscale_environment_reads_total{from=\"api\"} %lld\n"
                     "# HELP gpuscale_environment_finalizer_writes_total gpuscale's finalizer put on / taken off "
                     "Environment objects; conflict: refused by the API server (409) as the cache was behind.\n"
                     "# TYPE gpuscale_environment_finalizer_writes_total counter\n"
                     "gpuscale_environment_finalizer_writes_total{op=\"add\"} %lld\n"
                     "gpuscale_environment_finalizer_writes_total{op=\"remove\"} %lld\n"
                     "gpuscale_environment_finalizer_writes_total{op=\"conflict\"} %lld\n",
                     cnt[GS_ENV_PENDING], cnt[GS_ENV_ACTIVE], cnt[GS_ENV_DELETING], cnt[GS_ENV_DELETED],
                     (long long)re->created_total, (long long)re->deleted_total, (long long)re->errors,
                     (long long)re->cache_reads, (long long)re->gets, (long long)re->fin_added,
                     (long long)re->fin_removed, (long long)re->fin_conflicts);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

bool gs_run_envs_state(const gs_run_envs *re, const char *ns, const char *name, gs_env_status *st,
                       const char **why) {
    if (!re || !re->synced) return false;
    for (int32_t i = 0; i < re->n; i++) {
        const env_run *r = &re->e[i];
        if (strcmp(r->st.env->ns, ns) != 0 || strcmp(r->st.env->name, name) != 0) continue;
        *st = r->st;
        *why = r->why[0] ? r->why : r->st.reason != GS_ENV_REASON_NONE ? gs_env_reason_name(r->st.reason) : "";
        return true;
    }
    return false;
}

int gs_run_envs_rebind(gs_run_envs *re, const gs_config *cfg) {
    if (!re) return cfg->nenvs == 0 ? 0 : GS_EINVAL;
    if (cfg->nenvs != re->n) return GS_EINVAL;
    for (int32_t i = 0; i < re->n; i++)
        if (strcmp(re->e[i].st.env->name, cfg->envs[i].name) != 0 || strcmp(re->e[i].st.env->ns, cfg->envs[i].ns) != 0)
            return GS_EINVAL;
    re->cfg = cfg;
    for (int32_t i = 0; i < re->n; i++) re->e[i].st.env = &cfg->envs[i];
    return 0;
}

int32_t gs_run_envs_retire(gs_run_envs *re, const gs_config *cfg) {
    if (!re || !re->synced) return 0;
    int32_t n = 0;
    gs_ms now = wall_now();
    for (int32_t i = 0; i < re->n; i++) {
        env_run *r = &re->e[i];
        const gs_environment *e = r->st.env;
        bool kept = false;
        for (int32_t j = 0; j < cfg->nenvs && !kept; j++)
            kept = strcmp(cfg->envs[j].name, e->name) == 0 && strcmp(cfg->envs[j].ns, e->ns) == 0;
        if (kept || (r->st.phase != GS_ENV_ACTIVE && r->st.phase != GS_ENV_DELETING)) continue;
        gs_error err;
        gs_error_clear(&err);
        char msg[256];
        snprintf(msg, sizeof msg, "environment %s deleted by gpuscale: its Environment object was deleted", e->name);
        for (int32_t w = 0; w < e->nworkloads; w++)
            if (r->present[w]) event(re, r, w, "Normal", "EnvironmentDeleted", msg);
        int rc = 0;
        for (int32_t w = 0; w < e->nworkloads && !rc; w++) {
            if (!r->present[w]) continue; /* never an object gpuscale did not label */
            char path[600];
            wl_path(e, w, path, sizeof path);
            strcat(path, "?propagationPolicy=Background");
            rc = gs_kube_delete(re->k, path, &err);
            if (rc == GS_ENOENT) rc = 0;
        }
        if (!rc && r->recorded) rc = gs_ledger_env_deleted(re->ledger, e->name, now, "object-deleted", &err);
        if (rc) {
            re->errors++;
            gs_log_warn("environment not retired", "environment=%s/%s err=\"%s\"", e->ns, e->name, err.msg);
            continue;
        }
        re->deleted_total++;
        n++;
        gs_log_info("environment deleted", "environment=%s/%s reason=object-deleted", e->ns, e->name);
    }
    return n;
}
