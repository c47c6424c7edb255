#include "io/state.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/yamltree.h"
#include "io/fs.h"
#include "model/gpu.h"
#include "policy/mig.h"

/* ---------------------------------------------------------------- walker helpers */

typedef struct walk {
    const char *file;
    gs_error *err;
    const gs_catalog *cat;
} walk;

static int bad(const walk *w, const gs_yaml_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const walk *w, const gs_yaml_node *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = gs_error_vsetpos(w->err, GS_EPARSE, w->file, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *kind_name(gs_yaml_kind k) { return k == GS_YAML_MAP ? "a mapping" : k == GS_YAML_SEQ ? "a list" : "a scalar"; }

static int want(const walk *w, const gs_yaml_node *n, gs_yaml_kind k, const char *what) {
    if (n->kind != k) return bad(w, n, "%s: expected %s, got %s", what, kind_name(k), kind_name(n->kind));
    return 0;
}

/* Checks that a mapping's keys are known (the tree has already refused non-scalar and
 * repeated keys). */
static int check_keys(const walk *w, const gs_yaml_node *m, const char *what, const char *const *known) {
    for (int32_t i = 0; i < m->n; i += 2) {
        const gs_yaml_node *k = m->kids[i];
        bool ok = false;
        for (int j = 0; known[j] && !ok; j++) ok = strcmp(known[j], k->str) == 0;
        if (!ok) {
            char list[400] = "";
            for (int j = 0; known[j]; j++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", j ? ", " : "", known[j]);
            }
            return bad(w, k, "%s: unknown field '%s' (known: %s)", what, k->str, list);
        }
    }
    return 0;
}

static const gs_yaml_node *get(const gs_yaml_node *m, const char *key) { return gs_yaml_get(m, key, NULL); }

static int get_str(const walk *w, const gs_yaml_node *m, const char *key, const char *what, char *out, size_t size,
                   bool required) {
    const gs_yaml_node *v = get(m, key);
    if (!v) {
        if (required) return bad(w, m, "%s: missing field '%s'", what, key);
        return 0;
    }
    if (v->kind != GS_YAML_SCALAR) return bad(w, v, "%s.%s: expected a string, got %s", what, key, kind_name(v->kind));
    if (strlen(v->str) >= size) return bad(w, v, "%s.%s: longer than %zu characters", what, key, size - 1);
    memcpy(out, v->str, strlen(v->str) + 1);
    return 0;
}

static int get_int(const walk *w, const gs_yaml_node *m, const char *key, const char *what, int64_t lo, int64_t hi,
                   int64_t *out) {
    const gs_yaml_node *v = get(m, key);
    if (!v) return 0;
    if (v->kind != GS_YAML_SCALAR) return bad(w, v, "%s.%s: expected an integer, got %s", what, key, kind_name(v->kind));
    const char *why = NULL;
    if (gs_parse_int(v->str, lo, hi, out, &why))
        return bad(w, v, "%s.%s: '%s' is not an integer in [%lld, %lld]", what, key, v->str, (long long)lo,
                   (long long)hi);
    return 0;
}

static int get_bool(const walk *w, const gs_yaml_node *m, const char *key, const char *what, bool *out) {
    const gs_yaml_node *v = get(m, key);
    if (!v) return 0;
    if (v->kind == GS_YAML_SCALAR && strcmp(v->str, "true") == 0) { *out = true; return 0; }
    if (v->kind == GS_YAML_SCALAR && strcmp(v->str, "false") == 0) { *out = false; return 0; }
    return bad(w, v, "%s.%s: expected true or false", what, key);
}

static int parse_taint_effect(const char *s) {
    if (!strcmp(s, "NoSchedule")) return GS_TAINT_NO_SCHEDULE;
    if (!strcmp(s, "PreferNoSchedule")) return GS_TAINT_PREFER_NO_SCHEDULE;
    if (!strcmp(s, "NoExecute")) return GS_TAINT_NO_EXECUTE;
    return -1;
}

/* ---------------------------------------------------------------- nodes */

static int parse_gpu(const walk *w, const gs_yaml_node *m, const gs_gpu_model *gm, gs_gpu_state *g) {
    static const char *const known[] = {"mode", "partitions", "replicas", "used", "milli", NULL};
    int rc;
    if ((rc = want(w, m, GS_YAML_MAP, "gpu")) || (rc = check_keys(w, m, "gpu", known))) return rc;
    memset(g, 0, sizeof *g);
    char mode[32] = "whole";
    if ((rc = get_str(w, m, "mode", "gpu", mode, sizeof mode, false))) return rc;
    int64_t v = 0;
    if (!strcmp(mode, "whole")) {
        g->mode = GS_GPUMODE_WHOLE;
        bool used = false;
        if ((rc = get_bool(w, m, "used", "gpu", &used))) return rc;
        g->whole_used = used;
        g->pods = used;
        if (get(m, "partitions") || get(m, "replicas") || get(m, "milli"))
            return bad(w, m, "gpu: mode whole takes only 'used'");
    } else if (!strcmp(mode, "timeSlicing")) {
        g->mode = GS_GPUMODE_TIMESLICED;
        if (!get(m, "replicas")) return bad(w, m, "gpu: mode timeSlicing needs 'replicas'");
        if ((rc = get_int(w, m, "replicas", "gpu", 1, 64, &v))) return rc;
        g->ts_replicas = (int16_t)v;
        v = 0;
        if ((rc = get_int(w, m, "used", "gpu", 0, 64, &v))) return rc;
        if (v > g->ts_replicas)
            return bad(w, get(m, "used"), "gpu.used: %lld replicas used but only %d declared", (long long)v, g->ts_replicas);
        g->ts_used = (int16_t)v;
        g->pods = (int16_t)v;
    } else if (!strcmp(mode, "fractional")) {
        g->mode = GS_GPUMODE_FRACTIONAL;
        if ((rc = get_int(w, m, "milli", "gpu", 0, 1000, &v))) return rc;
        g->milli_used = (int16_t)v;
        g->pods = v > 0;
    } else if (!strcmp(mode, "mig")) {
        g->mode = GS_GPUMODE_MIG;
        if (!gm || !gs_gpu_has_mig(gm))
            return bad(w, get(m, "mode"), "gpu.mode: mig, but the GPU (%s) has no MIG", gm ? gm->name : "none");
        const gs_yaml_node *ps = get(m, "partitions");
        if (ps) {
            if ((rc = want(w, ps, GS_YAML_SEQ, "gpu.partitions"))) return rc;
            if (ps->n > GS_GPU_MAX_PARTS) return bad(w, ps, "gpu.partitions: more than %d", GS_GPU_MAX_PARTS);
            for (int32_t i = 0; i < ps->n; i++) {
                const gs_yaml_node *x = ps->kids[i];
                static const char *const pk[] = {"profile", "start", "used", NULL};
                if ((rc = want(w, x, GS_YAML_MAP, "partition")) || (rc = check_keys(w, x, "partition", pk))) return rc;
                char prof[32];
                if ((rc = get_str(w, x, "profile", "partition", prof, sizeof prof, true))) return rc;
                int pi = gs_mig_profile_find(gm, prof);
                if (pi < 0) return bad(w, get(x, "profile"), "partition.profile: %s has no MIG profile '%s'", gm->name, prof);
                if (!get(x, "start")) return bad(w, x, "partition: missing field 'start'");
                v = 0;
                if ((rc = get_int(w, x, "start", "partition", 0, gm->mem_slices - 1, &v))) return rc;
                if (!(gm->profiles[pi].starts & (1u << v))) {
                    char al[32] = "";
                    for (int sl = 0; sl < gm->mem_slices; sl++)
                        if (gm->profiles[pi].starts & (1u << sl)) {
                            size_t l = strlen(al);
                            snprintf(al + l, sizeof al - l, "%s%d", l ? "," : "", sl);
                        }
                    return bad(w, get(x, "start"), "partition: %s cannot start at memory slice %lld (allowed: %s)",
                               gm->profiles[pi].name, (long long)v, al);
                }
                bool used = false;
                if ((rc = get_bool(w, x, "used", "partition", &used))) return rc;
                g->parts[i].profile = (int8_t)pi;
                g->parts[i].start = (uint8_t)v;
                g->parts[i].used = used;
                g->pods = (int16_t)(g->pods + used);
            }
            g->nparts = (uint8_t)ps->n;
            const char *why = NULL;
            if (!gs_mig_valid(gm, g->parts, g->nparts, &why)) return bad(w, ps, "gpu.partitions: invalid MIG layout: %s", why);
        }
    } else {
        return bad(w, get(m, "mode"), "gpu.mode: '%s' is not whole, mig, timeSlicing or fractional", mode);
    }
    return 0;
}

static int find_pool(const gs_pool *pools, int32_t n, const char *name) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(pools[i].name, name) == 0) return (int)i;
    return -1;
}

static int parse_node(const walk *w, const gs_yaml_node *m, const gs_pool *pools, int32_t npools, gs_node *n) {
    static const char *const known[] = {"name", "instanceType", "capacityType", "zone", "pool", "gpus",
                                        "ready", "cordoned", "doNotDisrupt", "deleting", NULL};
    int rc;
    if ((rc = want(w, m, GS_YAML_MAP, "node")) || (rc = check_keys(w, m, "node", known))) return rc;
    char name[GS_OBJ_NAME], it[GS_ITYPE_NAME + 8], cap[32] = "on-demand", pool[GS_NAME_LEN] = "";
    if ((rc = get_str(w, m, "name", "node", name, sizeof name, true)) ||
        (rc = get_str(w, m, "instanceType", "node", it, sizeof it, true)) ||
        (rc = get_str(w, m, "capacityType", "node", cap, sizeof cap, false)) ||
        (rc = get_str(w, m, "pool", "node", pool, sizeof pool, false)))
        return rc;
    int ti = gs_catalog_find(w->cat, it);
    if (ti < 0) return bad(w, get(m, "instanceType"), "node %s: unknown instance type '%s'", name, it);
    int ci = gs_capacity_parse(cap);
    if (ci < 0) return bad(w, get(m, "capacityType"), "node %s: capacityType '%s' is not on-demand or spot", name, cap);
    gs_node_init(n, name, w->cat, ti, (gs_capacity)ci);
    if ((rc = get_str(w, m, "zone", "node", n->zone, sizeof n->zone, false))) return rc;
    if (pool[0]) {
        int pi = find_pool(pools, npools, pool);
        if (pi < 0) return bad(w, get(m, "pool"), "node %s: unknown pool '%s'", name, pool);
        n->pool = pi;
    }
    if ((rc = get_bool(w, m, "ready", "node", &n->ready)) || (rc = get_bool(w, m, "cordoned", "node", &n->cordoned)) ||
        (rc = get_bool(w, m, "doNotDisrupt", "node", &n->do_not_disrupt)) ||
        (rc = get_bool(w, m, "deleting", "node", &n->deleting)))
        return rc;
    const gs_itype *t = &w->cat->types[ti];
    const gs_yaml_node *gs = get(m, "gpus");
    if (gs) {
        if ((rc = want(w, gs, GS_YAML_SEQ, "node.gpus"))) return rc;
        if (gs->n != t->gpus)
            return bad(w, gs, "node %s: %d GPUs listed, instance type %s has %d", name, gs->n, t->name, t->gpus);
        const gs_gpu_model *gm = gs_gpu_get(t->gpu_model);
        for (int32_t i = 0; i < gs->n; i++)
            if ((rc = parse_gpu(w, gs->kids[i], gm, &n->gpus[i]))) return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- pods */

/* sel and tols are the caller's arrays the pod's spec points at until gs_snapshot_add_pod copies them. */
static int parse_pod(const walk *w, const gs_yaml_node *m, const gs_snapshot *s, gs_pod *p, gs_kv *sel,
                     gs_toleration *tols) {
    static const char *const known[] = {"name", "namespace", "project", "workload", "priority", "requests",
                                        "nodeSelector", "tolerations", "node", "phase", NULL};
    int rc;
    if ((rc = want(w, m, GS_YAML_MAP, "pod")) || (rc = check_keys(w, m, "pod", known))) return rc;
    memset(p, 0, sizeof *p);
    p->node = -1;
    p->gpu = -1;
    p->part = -1;
    snprintf(p->ns, sizeof p->ns, "default");
    if ((rc = get_str(w, m, "name", "pod", p->name, sizeof p->name, true)) ||
        (rc = get_str(w, m, "namespace", "pod", p->ns, sizeof p->ns, false)) ||
        (rc = get_str(w, m, "workload", "pod", p->workload, sizeof p->workload, false)))
        return rc;
    snprintf(p->project, sizeof p->project, "%s", p->ns);
    if ((rc = get_str(w, m, "project", "pod", p->project, sizeof p->project, false))) return rc;
    int64_t v = 0;
    if ((rc = get_int(w, m, "priority", "pod", -2147483647LL - 1, 2147483647LL, &v))) return rc;
    p->spec.priority = (int32_t)v;
    const gs_yaml_node *rq = get(m, "requests");
    if (rq) {
        if ((rc = want(w, rq, GS_YAML_MAP, "pod.requests"))) return rc;
        bool has_gpu = false;
        for (int32_t i = 0; i + 1 < rq->n; i += 2) {
            const gs_yaml_node *k = rq->kids[i], *x = rq->kids[i + 1];
            if (x->kind != GS_YAML_SCALAR) return bad(w, k, "pod.requests: expected name: quantity");
            const char *why = NULL;
            if (!strcmp(k->str, "cpu")) {
                if (gs_parse_cpu(x->str, &p->spec.cpu, &why)) return bad(w, x, "pod %s: cpu '%s': %s", p->name, x->str, why ? why : "bad quantity");
                continue;
            }
            if (!strcmp(k->str, "memory")) {
                if (gs_parse_mem(x->str, &p->spec.mem, &why)) return bad(w, x, "pod %s: memory '%s': %s", p->name, x->str, why ? why : "bad quantity");
                continue;
            }
            int64_t amount;
            if (gs_parse_int(x->str, 0, 1000000, &amount, &why))
                return bad(w, x, "pod %s: %s: '%s' is not a whole number", p->name, k->str, x->str);
            gs_gpu_req r;
            int grc = gs_gpu_req_from_resource(k->str, amount, &r, &why);
            if (grc == GS_EINVAL) return bad(w, k, "pod %s: unknown resource '%s' (cpu, memory, nvidia.com/gpu, nvidia.com/gpu.shared, nvidia.com/mig-<profile>, gpuscale.dev/gpu-milli)", p->name, k->str);
            if (grc) return bad(w, x, "pod %s: %s", p->name, why ? why : "bad GPU request");
            if (has_gpu) return bad(w, k, "pod %s: asks for more than one GPU resource", p->name);
            has_gpu = true;
            p->spec.gpu = r;
        }
    }
    const gs_yaml_node *ns = get(m, "nodeSelector");
    if (ns) {
        if ((rc = want(w, ns, GS_YAML_MAP, "pod.nodeSelector"))) return rc;
        if (ns->n / 2 > GS_MAX_LABELS) return bad(w, ns, "pod.nodeSelector: more than %d entries", GS_MAX_LABELS);
        for (int32_t i = 0; i + 1 < ns->n; i += 2) {
            const gs_yaml_node *k = ns->kids[i], *x = ns->kids[i + 1];
            if (x->kind != GS_YAML_SCALAR || strlen(k->str) >= GS_VALUE_LEN || strlen(x->str) >= GS_VALUE_LEN)
                return bad(w, k, "pod.nodeSelector: expected short string keys and values");
            gs_kv *kv = &sel[p->spec.n_node_selector++];
            p->spec.node_selector = sel;
            snprintf(kv->key, sizeof kv->key, "%s", k->str);
            snprintf(kv->value, sizeof kv->value, "%s", x->str);
        }
    }
    const gs_yaml_node *ts = get(m, "tolerations");
    if (ts) {
        if ((rc = want(w, ts, GS_YAML_SEQ, "pod.tolerations"))) return rc;
        if (ts->n > GS_MAX_TAINTS) return bad(w, ts, "pod.tolerations: more than %d", GS_MAX_TAINTS);
        for (int32_t i = 0; i < ts->n; i++) {
            const gs_yaml_node *x = ts->kids[i];
            static const char *const tk[] = {"key", "operator", "value", "effect", NULL};
            if ((rc = want(w, x, GS_YAML_MAP, "toleration")) || (rc = check_keys(w, x, "toleration", tk))) return rc;
            gs_toleration *t = &tols[i];
            p->spec.tolerations = tols;
            char op[32] = "Equal", eff[32] = "";
            if ((rc = get_str(w, x, "key", "toleration", t->key, sizeof t->key, false)) ||
                (rc = get_str(w, x, "value", "toleration", t->value, sizeof t->value, false)) ||
                (rc = get_str(w, x, "operator", "toleration", op, sizeof op, false)) ||
                (rc = get_str(w, x, "effect", "toleration", eff, sizeof eff, false)))
                return rc;
            if (!strcmp(op, "Equal")) t->op = GS_TOL_EQUAL;
            else if (!strcmp(op, "Exists")) t->op = GS_TOL_EXISTS;
            else return bad(w, get(x, "operator"), "toleration.operator: '%s' is not Equal or Exists", op);
            if (t->op == GS_TOL_EXISTS && t->value[0]) return bad(w, get(x, "value"), "toleration: operator Exists takes no value");
            if (!t->key[0] && t->op != GS_TOL_EXISTS) return bad(w, x, "toleration: an empty key needs operator Exists");
            t->effect = eff[0] ? parse_taint_effect(eff) : -1;
            if (eff[0] && t->effect < 0) return bad(w, get(x, "effect"), "toleration.effect: '%s' is not NoSchedule, PreferNoSchedule or NoExecute", eff);
        }
        p->spec.n_tolerations = ts->n;
    }
    char node[GS_OBJ_NAME] = "", phase[32] = "";
    if ((rc = get_str(w, m, "node", "pod", node, sizeof node, false)) ||
        (rc = get_str(w, m, "phase", "pod", phase, sizeof phase, false)))
        return rc;
    if (node[0]) {
        p->node = gs_snapshot_find_node(s, node);
        if (p->node < 0) return bad(w, get(m, "node"), "pod %s: unknown node '%s'", p->name, node);
    }
    if (!phase[0]) p->phase = node[0] ? GS_POD_RUNNING : GS_POD_PENDING;
    else if (!strcmp(phase, "Pending")) p->phase = GS_POD_PENDING;
    else if (!strcmp(phase, "Running")) p->phase = GS_POD_RUNNING;
    else if (!strcmp(phase, "Succeeded")) p->phase = GS_POD_SUCCEEDED;
    else if (!strcmp(phase, "Failed")) p->phase = GS_POD_FAILED;
    else return bad(w, get(m, "phase"), "pod %s: phase '%s' is not Pending, Running, Succeeded or Failed", p->name, phase);
    if (p->phase == GS_POD_RUNNING && p->node < 0) return bad(w, m, "pod %s: Running but no 'node'", p->name);
    return 0;
}

/* ---------------------------------------------------------------- entry points */

void gs_state_init(gs_state *s) {
    memset(s, 0, sizeof *s);
    gs_snapshot_init(&s->snap);
}

void gs_state_free(gs_state *s) {
    if (!s) return;
    gs_snapshot_free(&s->snap);
    memset(s, 0, sizeof *s);
}

static bool looks_json(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        return c == '{';
    }
    return false;
}

static int walk_root(const walk *w, const gs_yaml_node *root, const gs_pool *cpools, int32_t ncpools, gs_state *out) {
    static const char *const known[] = {"apiVersion", "kind", "now", "nodes", "pods", NULL};
    int rc;
    if ((rc = want(w, root, GS_YAML_MAP, "state")) || (rc = check_keys(w, root, "state", known))) return rc;
    int64_t now = 0;
    if ((rc = get_int(w, root, "now", "state", 0, INT64_MAX / 2, &now))) return rc;
    out->snap.now = now;
    const gs_pool *pools = cpools;
    int32_t npools = ncpools;
    const gs_yaml_node *ns = get(root, "nodes");
    if (ns) {
        if ((rc = want(w, ns, GS_YAML_SEQ, "nodes"))) return rc;
        for (int32_t i = 0; i < ns->n; i++) {
            gs_node n;
            if ((rc = parse_node(w, ns->kids[i], pools, npools, &n))) return rc;
            if (gs_snapshot_find_node(&out->snap, n.name) >= 0)
                return bad(w, ns->kids[i], "node %s: listed twice", n.name);
            int32_t r = gs_snapshot_add_node(&out->snap, &n);
            if (r < 0) return gs_error_set(w->err, r, "out of memory");
        }
    }
    const gs_yaml_node *ps = get(root, "pods");
    if (ps) {
        if ((rc = want(w, ps, GS_YAML_SEQ, "pods"))) return rc;
        for (int32_t i = 0; i < ps->n; i++) {
            gs_pod p;
            gs_kv sel[GS_MAX_LABELS];
            gs_toleration tols[GS_MAX_TAINTS];
            if ((rc = parse_pod(w, ps->kids[i], &out->snap, &p, sel, tols))) return rc;
            int32_t r = gs_snapshot_add_pod(&out->snap, &p);
            if (r < 0) return gs_error_set(w->err, r, "out of memory");
            if (p.node >= 0 && p.phase == GS_POD_RUNNING) {
                gs_node *n = &out->snap.nodes[p.node];
                n->cpu_used += p.spec.cpu;
                n->mem_used += p.spec.mem;
                n->pods++;
                n->empty_since = -1;
                if (n->cpu_used > n->cpu_alloc || n->mem_used > n->mem_alloc)
                    return bad(w, ps->kids[i], "pod %s: node %s has no room for it (cpu %lldm/%lldm, memory %lldMi/%lldMi)",
                               p.name, n->name, (long long)n->cpu_used, (long long)n->cpu_alloc,
                               (long long)n->mem_used, (long long)n->mem_alloc);
            }
        }
    }
    return 0;
}

int gs_state_parse(const char *text, size_t len, const char *file, const gs_catalog *cat, const gs_pool *pools,
                   int32_t npools, gs_state *out, gs_error *err) {
    if (!file) file = "<state>";
    if (len > GS_STATE_MAX_BYTES)
        return gs_error_setpos(err, GS_ETOOBIG, file, 0, 0, "larger than %u bytes", GS_STATE_MAX_BYTES);
    if (looks_json(text, len)) {
        json_error_t je;
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!j) return gs_error_setpos(err, GS_EPARSE, file, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1, "%s", je.text);
        json_decref(j);
    }
    /* JSON is YAML: both walk the same positioned tree. */
    const gs_yaml_limits lim = {.max_depth = GS_STATE_MAX_DEPTH,
                                .max_nodes = GS_STATE_MAX_NODES,
                                .max_items = GS_STATE_MAX_NODES / 2,
                                .max_docs = 1};
    gs_yaml_stream ys;
    int rc = gs_yaml_parse_one(&ys, text, len, file, &lim, "a state file", err);
    if (!rc && ys.ndocs == 0) rc = gs_error_setpos(err, GS_EPARSE, file, 1, 1, "empty state file");
    if (!rc) {
        walk w = {file, err, cat};
        rc = walk_root(&w, ys.docs[0], pools, npools, out);
    }
    gs_yaml_free(&ys);
    if (rc) {
        gs_state_free(out);
        gs_state_init(out);
    }
    return rc;
}

int gs_state_load(const char *path, const gs_catalog *cat, const gs_pool *pools, int32_t npools, gs_state *out,
                  gs_error *err) {
    char *buf = NULL;
    size_t len = 0;
    int rc = gs_fs_read(path, GS_STATE_MAX_BYTES, &buf, &len, err);
    if (rc) return rc;
    rc = gs_state_parse(buf, len, path, cat, pools, npools, out, err);
    free(buf);
    return rc;
}
