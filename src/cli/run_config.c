#include "cli/run_config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/fs.h"
#include "io/kube/yamljson.h"
#include "model/cluster.h"
#include "model/gpu.h"

static const char *sget(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int num(const json_t *o, const char *k, int64_t lo, int64_t hi, int64_t dflt, int64_t *out, const char *where,
               gs_error *err) {
    const json_t *v = json_object_get(o, k);
    if (!v) {
        *out = dflt;
        return 0;
    }
    int64_t x;
    if (json_is_integer(v)) x = json_integer_value(v);
    else if (json_is_string(v)) {
        const char *why = NULL;
        if (gs_parse_int(json_string_value(v), lo, hi, &x, &why))
            return gs_error_set(err, GS_EINVAL, "%s: %s: %s", where, k, why ? why : "not an integer");
    } else return gs_error_set(err, GS_EINVAL, "%s: %s must be a number", where, k);
    if (x < lo || x > hi) return gs_error_set(err, GS_EINVAL, "%s: %s must be in %lld..%lld", where, k, (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

static int dur(const json_t *o, const char *k, gs_ms dflt, gs_ms *out, const char *where, gs_error *err) {
    const json_t *v = json_object_get(o, k);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (json_is_integer(v)) { /* KEDA spells seconds as integers */
        *out = (gs_ms)json_integer_value(v) * 1000;
        return 0;
    }
    const char *why = NULL;
    if (!json_is_string(v) || gs_parse_duration(json_string_value(v), out, &why))
        return gs_error_set(err, GS_EINVAL, "%s: %s: %s", where, k, why ? why : "not a duration");
    return 0;
}

static int req_key(const char *k, gs_req_key *out) {
    static const struct { const char *n; gs_req_key k; } keys[] = {
        {"node.kubernetes.io/instance-type", GS_KEY_INSTANCE_TYPE}, {"karpenter.k8s.aws/instance-family", GS_KEY_FAMILY},
        {"karpenter.sh/capacity-type", GS_KEY_CAPACITY_TYPE}, {"topology.kubernetes.io/zone", GS_KEY_ZONE},
        {"gpuscale.dev/gpu-model", GS_KEY_GPU_MODEL}, {"karpenter.k8s.aws/instance-gpu-count", GS_KEY_GPU_COUNT}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].n, k) == 0) {
            *out = keys[i].k;
            return 0;
        }
    return -1;
}

static int load_pool(const json_t *doc, gs_pool *p, const char *where, gs_error *err) {
    memset(p, 0, sizeof *p);
    const json_t *spec = json_object_get(doc, "spec");
    snprintf(p->name, sizeof p->name, "%s", sget(json_object_get(doc, "metadata"), "name"));
    int64_t x;
    int rc = num(spec, "weight", 0, 100, 0, &x, where, err);
    if (rc) return rc;
    p->weight = (int32_t)x;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(spec, "requirements"), i, r) {
        if (p->nreqs >= GS_MAX_REQ) return gs_error_set(err, GS_ETOOBIG, "%s: too many requirements", where);
        gs_requirement *q = &p->reqs[p->nreqs];
        const char *k = sget(r, "key"), *op = sget(r, "operator");
        if (!k || req_key(k, &q->key)) return gs_error_set(err, GS_EINVAL, "%s: requirements[%zu]: unknown key \"%s\"", where, i, k ? k : "");
        if (!op || strcmp(op, "In") == 0) q->op = GS_OP_IN;
        else if (strcmp(op, "NotIn") == 0) q->op = GS_OP_NOT_IN;
        else if (strcmp(op, "Exists") == 0) q->op = GS_OP_EXISTS;
        else if (strcmp(op, "DoesNotExist") == 0) q->op = GS_OP_DOES_NOT_EXIST;
        else return gs_error_set(err, GS_EINVAL, "%s: requirements[%zu]: unknown operator \"%s\"", where, i, op);
        size_t j;
        const json_t *v;
        json_array_foreach(json_object_get(r, "values"), j, v) {
            if (q->nvalues >= GS_MAX_VALUES) return gs_error_set(err, GS_ETOOBIG, "%s: too many values", where);
            if (json_is_integer(v)) snprintf(q->values[q->nvalues++], GS_NAME_LEN, "%lld", (long long)json_integer_value(v));
            else snprintf(q->values[q->nvalues++], GS_NAME_LEN, "%s", json_string_value(v) ? json_string_value(v) : "");
        }
        p->nreqs++;
    }
    const json_t *lim = json_object_get(spec, "limits");
    if ((rc = num(lim, "gpus", 0, 1000000, 0, &x, where, err))) return rc;
    p->limit_gpus = (int32_t)x;
    if ((rc = num(lim, "nodes", 0, 100000, 0, &x, where, err))) return rc;
    p->limit_nodes = (int32_t)x;
    const json_t *sh = json_object_get(spec, "sharing");
    const char *mode = sget(sh, "mode");
    if (!mode || strcmp(mode, "exclusive") == 0) p->sharing = GS_SHARE_EXCLUSIVE;
    else if (strcmp(mode, "mig") == 0) p->sharing = GS_SHARE_MIG;
    else return gs_error_set(err, GS_EUNSUPPORTED, "%s: sharing.mode \"%s\" is not carried out by `gpuscale run` yet "
                             "(exclusive and mig are)", where, mode);
    json_array_foreach(json_object_get(json_object_get(sh, "mig"), "profiles"), i, r) {
        if (p->n_mig_profiles >= GS_MIG_MAX_ALLOWED) break;
        snprintf(p->mig_profiles[p->n_mig_profiles++], 24, "%s", json_string_value(r) ? json_string_value(r) : "");
    }
    const json_t *dis = json_object_get(spec, "disruption");
    if ((rc = dur(dis, "consolidateAfter", 30000, &p->consolidate_after, where, err))) return rc;
    p->consolidation = GS_CONSOLIDATE_WHEN_EMPTY;
    const json_t *labels = json_object_get(json_object_get(spec, "template"), "labels");
    const char *lk;
    const json_t *lv;
    json_object_foreach((json_t *)(uintptr_t)labels, lk, lv) {
        if (p->nlabels >= GS_MAX_LABELS) break;
        snprintf(p->labels[p->nlabels].key, GS_VALUE_LEN, "%s", lk);
        snprintf(p->labels[p->nlabels].value, GS_VALUE_LEN, "%s", json_string_value(lv) ? json_string_value(lv) : "");
        p->nlabels++;
    }
    return 0;
}

static int load_scaler(const json_t *doc, gs_scaler *s, const char *where, gs_error *err) {
    memset(s, 0, sizeof *s);
    const json_t *md = json_object_get(doc, "metadata"), *spec = json_object_get(doc, "spec");
    snprintf(s->name, sizeof s->name, "%s", sget(md, "name"));
    snprintf(s->ns, sizeof s->ns, "%s", sget(md, "namespace") ? sget(md, "namespace") : "default");
    snprintf(s->project, sizeof s->project, "%s", sget(spec, "project") ? sget(spec, "project") : s->ns);
    if (sget(spec, "pool")) snprintf(s->pool, sizeof s->pool, "%s", sget(spec, "pool"));
    const json_t *ref = json_object_get(spec, "scaleTargetRef");
    const char *kind = sget(ref, "kind"), *tname = sget(ref, "name");
    if (!tname) return gs_error_set(err, GS_EINVAL, "%s: spec.scaleTargetRef.name is required", where);
    if (!kind || strcmp(kind, "Deployment") == 0) s->target_kind = GS_TARGET_DEPLOYMENT;
    else if (strcmp(kind, "StatefulSet") == 0) s->target_kind = GS_TARGET_STATEFULSET;
    else return gs_error_set(err, GS_EUNSUPPORTED, "%s: scaleTargetRef.kind \"%s\": run scales Deployment and StatefulSet", where, kind);
    snprintf(s->target_name, sizeof s->target_name, "%s", tname);
    int64_t x;
    int rc;
    if ((rc = num(spec, "minReplicaCount", 0, 100000, 0, &x, where, err))) return rc;
    s->min_replicas = (int32_t)x;
    if ((rc = num(spec, "maxReplicaCount", 1, 100000, 100, &x, where, err))) return rc;
    s->max_replicas = (int32_t)x;
    if (s->min_replicas > s->max_replicas) return gs_error_set(err, GS_EINVAL, "%s: minReplicaCount > maxReplicaCount", where);
    if ((rc = dur(spec, "cooldownPeriod", 300000, &s->cooldown_period, where, err))) return rc;
    if ((rc = dur(spec, "pollingInterval", 1000, &s->polling_interval, where, err))) return rc;
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(spec, "triggers"), i, t) {
        if (s->ntriggers >= GS_MAX_TRIGGERS) break;
        gs_trigger *g = &s->triggers[s->ntriggers];
        const char *type = sget(t, "type");
        if (!type || strcmp(type, "redis") != 0)
            return gs_error_set(err, GS_EUNSUPPORTED, "%s: triggers[%zu]: type \"%s\": `gpuscale run` reads redis lists "
                                "(the other sources land with the queue adapters)", where, i, type ? type : "");
        g->type = GS_TRIG_REDIS_LIST;
        const json_t *m = json_object_get(t, "metadata");
        if ((rc = num(m, "listLength", 1, 1000000000, 5, &x, where, err))) return rc;
        g->target_milli = x * 1000;
        if ((rc = num(m, "activationListLength", 0, 1000000000, 0, &x, where, err))) return rc;
        g->activation_milli = x * 1000;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)(uintptr_t)m, k, v) {
            if (g->nmeta >= GS_MAX_META) break;
            if (strcmp(k, "password") == 0)
                return gs_error_set(err, GS_EINVAL, "%s: triggers[%zu]: inline password refused (use passwordFromEnv)", where, i);
            snprintf(g->meta[g->nmeta].key, GS_VALUE_LEN, "%s", k);
            if (json_is_integer(v)) snprintf(g->meta[g->nmeta].value, GS_VALUE_LEN, "%lld", (long long)json_integer_value(v));
            else snprintf(g->meta[g->nmeta].value, GS_VALUE_LEN, "%s", json_string_value(v) ? json_string_value(v) : "");
            g->nmeta++;
        }
        s->ntriggers++;
    }
    if (s->ntriggers == 0) return gs_error_set(err, GS_EINVAL, "%s: spec.triggers: at least one trigger is required", where);
    return 0;
}

int gs_run_load_config(const char *const *paths, int n, const gs_catalog *cat, gs_config *out, gs_error *err) {
    (void)cat;
    memset(out, 0, sizeof *out);
    gs_config c;
    memset(&c, 0, sizeof c);
    int rc = 0;
    for (int f = 0; f < n && rc == 0; f++) {
        char *text = NULL;
        size_t len = 0;
        if ((rc = gs_fs_read(paths[f], GS_YAML_MAX_BYTES, &text, &len, err))) break;
        json_t *docs = NULL;
        rc = gs_yaml_to_json(text, len, paths[f], &docs, err);
        free(text);
        if (rc) break;
        size_t i;
        json_t *d;
        json_array_foreach(docs, i, d) {
            char where[600];
            const char *kind = sget(d, "kind"), *api = sget(d, "apiVersion");
            const char *name = sget(json_object_get(d, "metadata"), "name");
            snprintf(where, sizeof where, "%s: document %zu (%s %s)", paths[f], i + 1, kind ? kind : "?", name ? name : "?");
            if (!api || strcmp(api, "gpuscale.dev/v1alpha1") != 0) {
                rc = gs_error_set(err, GS_EINVAL, "%s: apiVersion must be gpuscale.dev/v1alpha1", where);
                break;
            }
            if (!name) {
                rc = gs_error_set(err, GS_EINVAL, "%s: metadata.name is required", where);
                break;
            }
            if (kind && strcmp(kind, "GPUPool") == 0) {
                gs_pool *np = realloc(c.pools, (size_t)(c.npools + 1) * sizeof *np);
                if (!np) { rc = GS_ENOMEM; break; }
                c.pools = np;
                if ((rc = load_pool(d, &c.pools[c.npools], where, err))) break;
                c.npools++;
            } else if (kind && strcmp(kind, "QueueScaler") == 0) {
                gs_scaler *ns = realloc(c.scalers, (size_t)(c.nscalers + 1) * sizeof *ns);
                if (!ns) { rc = GS_ENOMEM; break; }
                c.scalers = ns;
                if ((rc = load_scaler(d, &c.scalers[c.nscalers], where, err))) break;
                c.nscalers++;
            } else if (kind && (strcmp(kind, "Budget") == 0 || strcmp(kind, "Environment") == 0)) {
                continue; /* read by the budget gate / environments once they land */
            } else {
                rc = gs_error_set(err, GS_EINVAL, "%s: unknown kind", where);
                break;
            }
        }
        json_decref(docs);
    }
    for (int i = 0; rc == 0 && i < c.nscalers; i++)
        if (c.scalers[i].pool[0] && gs_config_find_pool(&c, c.scalers[i].pool) < 0)
            rc = gs_error_set(err, GS_ENOENT, "QueueScaler %s: unknown pool \"%s\"", c.scalers[i].name, c.scalers[i].pool);
    if (rc == 0 && c.npools == 0) rc = gs_error_set(err, GS_EINVAL, "no GPUPool in the configuration");
    if (rc) {
        free(c.pools);
        free(c.scalers);
        return rc;
    }
    *out = c;
    return 0;
}
