#include "io/state.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "io/fs.h"
#include "model/gpu.h"
#include "policy/mig.h"

/* ---------------------------------------------------------------- a positioned value tree */

typedef enum { T_SCALAR, T_SEQ, T_MAP } tkind;

typedef struct tnode {
    tkind kind;
    int line, col;
    bool plain;            /* unquoted scalar */
    char *str;             /* scalar text */
    struct tnode **kids;   /* SEQ: items; MAP: k0, v0, k1, v1, ... */
    int32_t n, cap;
} tnode;

typedef struct tree {
    tnode **all;           /* every node, for freeing */
    int32_t nall, capall;
    tnode *root;
} tree;

static void tree_free(tree *t) {
    for (int32_t i = 0; i < t->nall; i++) {
        free(t->all[i]->str);
        free(t->all[i]->kids);
        free(t->all[i]);
    }
    free(t->all);
    memset(t, 0, sizeof *t);
}

static tnode *tree_new(tree *t, tkind k, int line, int col) {
    if (t->nall >= GS_STATE_MAX_NODES) return NULL;
    if (t->nall == t->capall) {
        int32_t nc = t->capall ? t->capall * 2 : 256;
        tnode **na = realloc(t->all, (size_t)nc * sizeof *na);
        if (!na) return NULL;
        t->all = na;
        t->capall = nc;
    }
    tnode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = k;
    n->line = line;
    n->col = col;
    t->all[t->nall++] = n;
    return n;
}

static int kid_add(tnode *p, tnode *k) {
    if (p->n == p->cap) {
        int32_t nc = p->cap ? p->cap * 2 : 8;
        tnode **na = realloc(p->kids, (size_t)nc * sizeof *na);
        if (!na) return GS_ENOMEM;
        p->kids = na;
        p->cap = nc;
    }
    p->kids[p->n++] = k;
    return 0;
}

#define POS(m) (int)(m).line + 1, (int)(m).column + 1

/* libyaml events -> tree. One document; anchors, aliases and tags refused. */
static int parse_yaml(const char *text, size_t len, const char *file, tree *t, gs_error *err) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return gs_error_set(err, GS_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    tnode *stack[GS_STATE_MAX_DEPTH + 1];
    int depth = 0, docs = 0, rc = 0;
    bool done = false;
    while (!done) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            rc = gs_error_setpos(err, GS_EPARSE, file, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1,
                                 "%s%s%s", p.problem ? p.problem : "syntax error", p.context ? " " : "",
                                 p.context ? p.context : "");
            break;
        }
        tnode *n = NULL;
        switch (e.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = gs_error_setpos(err, GS_EPARSE, file, POS(e.start_mark), "one document expected in a state file");
            break;
        case YAML_ALIAS_EVENT:
            rc = gs_error_setpos(err, GS_EPARSE, file, POS(e.start_mark), "aliases are not allowed");
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const unsigned char *anchor = e.type == YAML_SCALAR_EVENT ? e.data.scalar.anchor
                                          : e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor
                                                                                : e.data.mapping_start.anchor;
            const unsigned char *tag = e.type == YAML_SCALAR_EVENT ? e.data.scalar.tag
                                       : e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.tag
                                                                             : e.data.mapping_start.tag;
            if (anchor) { rc = gs_error_setpos(err, GS_EPARSE, file, POS(e.start_mark), "anchors are not allowed"); break; }
            if (tag) { rc = gs_error_setpos(err, GS_EPARSE, file, POS(e.start_mark), "tags are not allowed"); break; }
            tkind k = e.type == YAML_SCALAR_EVENT ? T_SCALAR : e.type == YAML_SEQUENCE_START_EVENT ? T_SEQ : T_MAP;
            n = tree_new(t, k, POS(e.start_mark));
            if (!n) {
                rc = t->nall >= GS_STATE_MAX_NODES
                         ? gs_error_setpos(err, GS_ETOOBIG, file, POS(e.start_mark), "more than %d values", GS_STATE_MAX_NODES)
                         : gs_error_set(err, GS_ENOMEM, "out of memory");
                break;
            }
            if (k == T_SCALAR) {
                n->plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->str = malloc(e.data.scalar.length + 1);
                if (!n->str) { rc = gs_error_set(err, GS_ENOMEM, "out of memory"); break; }
                memcpy(n->str, e.data.scalar.value, e.data.scalar.length);
                n->str[e.data.scalar.length] = '\0';
                if (strlen(n->str) != e.data.scalar.length) {
                    rc = gs_error_setpos(err, GS_EPARSE, file, n->line, n->col, "NUL byte in a value");
                    break;
                }
            }
            if (depth > 0) {
                if (kid_add(stack[depth - 1], n)) { rc = gs_error_set(err, GS_ENOMEM, "out of memory"); break; }
            } else if (!t->root) {
                t->root = n;
            }
            if (k != T_SCALAR) {
                if (depth >= GS_STATE_MAX_DEPTH) {
                    rc = gs_error_setpos(err, GS_ETOOBIG, file, n->line, n->col, "nesting deeper than %d",
                                         GS_STATE_MAX_DEPTH);
                    break;
                }
                stack[depth++] = n;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) depth--;
            break;
        default: break;
        }
        yaml_event_delete(&e);
        if (rc) break;
    }
    yaml_parser_delete(&p);
    if (!rc && !t->root) rc = gs_error_setpos(err, GS_EPARSE, file, 1, 1, "empty state file");
    return rc;
}

/* ---------------------------------------------------------------- walker helpers */

typedef struct walk {
    const char *file;
    gs_error *err;
    const gs_catalog *cat;
} walk;

static int bad(const walk *w, const tnode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const walk *w, const tnode *n, const char *fmt, ...) {
    char msg[GS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gs_error_setpos(w->err, GS_EPARSE, w->file, n ? n->line : 0, n ? n->col : 0, "%s", msg);
}

static const char *kind_name(tkind k) { return k == T_MAP ? "a mapping" : k == T_SEQ ? "a list" : "a scalar"; }

static int want(const walk *w, const tnode *n, tkind k, const char *what) {
    if (n->kind != k) return bad(w, n, "%s: expected %s, got %s", what, kind_name(k), kind_name(n->kind));
    return 0;
}

/* Checks a mapping's keys: scalars, known, not repeated. */
static int check_keys(const walk *w, const tnode *m, const char *what, const char *const *known) {
    for (int32_t i = 0; i < m->n; i += 2) {
        const tnode *k = m->kids[i];
        if (k->kind != T_SCALAR) return bad(w, k, "%s: keys must be scalars", what);
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
        for (int32_t j = 0; j < i; j += 2)
            if (strcmp(m->kids[j]->str, k->str) == 0) return bad(w, k, "%s: duplicate field '%s'", what, k->str);
    }
    return 0;
}

static const tnode *get(const tnode *m, const char *key) {
    for (int32_t i = 0; i + 1 < m->n; i += 2)
        if (m->kids[i]->kind == T_SCALAR && strcmp(m->kids[i]->str, key) == 0) return m->kids[i + 1];
    return NULL;
}

static int get_str(const walk *w, const tnode *m, const char *key, const char *what, char *out, size_t size,
                   bool required) {
    const tnode *v = get(m, key);
    if (!v) {
        if (required) return bad(w, m, "%s: missing field '%s'", what, key);
        return 0;
    }
    if (v->kind != T_SCALAR) return bad(w, v, "%s.%s: expected a string, got %s", what, key, kind_name(v->kind));
    if (strlen(v->str) >= size) return bad(w, v, "%s.%s: longer than %zu characters", what, key, size - 1);
    memcpy(out, v->str, strlen(v->str) + 1);
    return 0;
}

static int get_int(const walk *w, const tnode *m, const char *key, const char *what, int64_t lo, int64_t hi,
                   int64_t *out) {
    const tnode *v = get(m, key);
    if (!v) return 0;
    if (v->kind != T_SCALAR) return bad(w, v, "%s.%s: expected an integer, got %s", what, key, kind_name(v->kind));
    const char *why = NULL;
    if (gs_parse_int(v->str, lo, hi, out, &why))
        return bad(w, v, "%s.%s: '%s' is not an integer in [%lld, %lld]", what, key, v->str, (long long)lo,
                   (long long)hi);
    return 0;
}

static int get_bool(const walk *w, const tnode *m, const char *key, const char *what, bool *out) {
    const tnode *v = get(m, key);
    if (!v) return 0;
    if (v->kind == T_SCALAR && strcmp(v->str, "true") == 0) { *out = true; return 0; }
    if (v->kind == T_SCALAR && strcmp(v->str, "false") == 0) { *out = false; return 0; }
    return bad(w, v, "%s.%s: expected true or false", what, key);
}

static int parse_taint_effect(const char *s) {
    if (!strcmp(s, "NoSchedule")) return GS_TAINT_NO_SCHEDULE;
    if (!strcmp(s, "PreferNoSchedule")) return GS_TAINT_PREFER_NO_SCHEDULE;
    if (!strcmp(s, "NoExecute")) return GS_TAINT_NO_EXECUTE;
    return -1;
}

/* ---------------------------------------------------------------- nodes */

static int parse_gpu(const walk *w, const tnode *m, const gs_gpu_model *gm, gs_gpu_state *g) {
    static const char *const known[] = {"mode", "partitions", "replicas", "used", "milli", NULL};
    int rc;
    if ((rc = want(w, m, T_MAP, "gpu")) || (rc = check_keys(w, m, "gpu", known))) return rc;
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
        const tnode *ps = get(m, "partitions");
        if (ps) {
            if ((rc = want(w, ps, T_SEQ, "gpu.partitions"))) return rc;
            if (ps->n > GS_GPU_MAX_PARTS) return bad(w, ps, "gpu.partitions: more than %d", GS_GPU_MAX_PARTS);
            for (int32_t i = 0; i < ps->n; i++) {
                const tnode *x = ps->kids[i];
                static const char *const pk[] = {"profile", "start", "used", NULL};
                if ((rc = want(w, x, T_MAP, "partition")) || (rc = check_keys(w, x, "partition", pk))) return rc;
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

static int parse_node(const walk *w, const tnode *m, const gs_pool *pools, int32_t npools, gs_node *n) {
    static const char *const known[] = {"name", "instanceType", "capacityType", "zone", "pool", "gpus",
                                        "ready", "cordoned", "doNotDisrupt", "deleting", NULL};
    int rc;
    if ((rc = want(w, m, T_MAP, "node")) || (rc = check_keys(w, m, "node", known))) return rc;
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
    const tnode *gs = get(m, "gpus");
    if (gs) {
        if ((rc = want(w, gs, T_SEQ, "node.gpus"))) return rc;
        if (gs->n != t->gpus)
            return bad(w, gs, "node %s: %d GPUs listed, instance type %s has %d", name, gs->n, t->name, t->gpus);
        const gs_gpu_model *gm = gs_gpu_get(t->gpu_model);
        for (int32_t i = 0; i < gs->n; i++)
            if ((rc = parse_gpu(w, gs->kids[i], gm, &n->gpus[i]))) return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- pods */

static int parse_pod(const walk *w, const tnode *m, const gs_snapshot *s, gs_pod *p) {
    static const char *const known[] = {"name", "namespace", "project", "workload", "priority", "requests",
                                        "nodeSelector", "tolerations", "node", "phase", NULL};
    int rc;
    if ((rc = want(w, m, T_MAP, "pod")) || (rc = check_keys(w, m, "pod", known))) return rc;
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
    const tnode *rq = get(m, "requests");
    if (rq) {
        if ((rc = want(w, rq, T_MAP, "pod.requests"))) return rc;
        bool has_gpu = false;
        for (int32_t i = 0; i + 1 < rq->n; i += 2) {
            const tnode *k = rq->kids[i], *x = rq->kids[i + 1];
            if (k->kind != T_SCALAR || x->kind != T_SCALAR) return bad(w, k, "pod.requests: expected name: quantity");
            for (int32_t j = 0; j < i; j += 2)
                if (!strcmp(rq->kids[j]->str, k->str)) return bad(w, k, "pod.requests: duplicate field '%s'", k->str);
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
    const tnode *ns = get(m, "nodeSelector");
    if (ns) {
        if ((rc = want(w, ns, T_MAP, "pod.nodeSelector"))) return rc;
        if (ns->n / 2 > GS_MAX_LABELS) return bad(w, ns, "pod.nodeSelector: more than %d entries", GS_MAX_LABELS);
        for (int32_t i = 0; i + 1 < ns->n; i += 2) {
            const tnode *k = ns->kids[i], *x = ns->kids[i + 1];
            if (k->kind != T_SCALAR || x->kind != T_SCALAR || strlen(k->str) >= GS_VALUE_LEN || strlen(x->str) >= GS_VALUE_LEN)
                return bad(w, k, "pod.nodeSelector: expected short string keys and values");
            for (int32_t j = 0; j < i; j += 2)
                if (!strcmp(ns->kids[j]->str, k->str)) return bad(w, k, "pod.nodeSelector: duplicate field '%s'", k->str);
            gs_kv *kv = &p->spec.node_selector[p->spec.n_node_selector++];
            snprintf(kv->key, sizeof kv->key, "%s", k->str);
            snprintf(kv->value, sizeof kv->value, "%s", x->str);
        }
    }
    const tnode *ts = get(m, "tolerations");
    if (ts) {
        if ((rc = want(w, ts, T_SEQ, "pod.tolerations"))) return rc;
        if (ts->n > GS_MAX_TAINTS) return bad(w, ts, "pod.tolerations: more than %d", GS_MAX_TAINTS);
        for (int32_t i = 0; i < ts->n; i++) {
            const tnode *x = ts->kids[i];
            static const char *const tk[] = {"key", "operator", "value", "effect", NULL};
            if ((rc = want(w, x, T_MAP, "toleration")) || (rc = check_keys(w, x, "toleration", tk))) return rc;
            gs_toleration *t = &p->spec.tolerations[i];
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

static int walk_root(const walk *w, const tnode *root, const gs_pool *cpools, int32_t ncpools, gs_state *out) {
    static const char *const known[] = {"apiVersion", "kind", "now", "nodes", "pods", NULL};
    int rc;
    if ((rc = want(w, root, T_MAP, "state")) || (rc = check_keys(w, root, "state", known))) return rc;
    int64_t now = 0;
    if ((rc = get_int(w, root, "now", "state", 0, INT64_MAX / 2, &now))) return rc;
    out->snap.now = now;
    const gs_pool *pools = cpools;
    int32_t npools = ncpools;
    const tnode *ns = get(root, "nodes");
    if (ns) {
        if ((rc = want(w, ns, T_SEQ, "nodes"))) return rc;
        for (int32_t i = 0; i < ns->n; i++) {
            gs_node n;
            if ((rc = parse_node(w, ns->kids[i], pools, npools, &n))) return rc;
            if (gs_snapshot_find_node(&out->snap, n.name) >= 0)
                return bad(w, ns->kids[i], "node %s: listed twice", n.name);
            int32_t r = gs_snapshot_add_node(&out->snap, &n);
            if (r < 0) return gs_error_set(w->err, r, "out of memory");
        }
    }
    const tnode *ps = get(root, "pods");
    if (ps) {
        if ((rc = want(w, ps, T_SEQ, "pods"))) return rc;
        for (int32_t i = 0; i < ps->n; i++) {
            gs_pod p;
            if ((rc = parse_pod(w, ps->kids[i], &out->snap, &p))) return rc;
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
    tree t;
    memset(&t, 0, sizeof t);
    int rc = parse_yaml(text, len, file, &t, err);
    if (!rc) {
        walk w = {file, err, cat};
        rc = walk_root(&w, t.root, pools, npools, out);
    }
    tree_free(&t);
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
