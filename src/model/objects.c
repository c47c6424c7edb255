#include "model/objects.h"

#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"

const char *gs_gpu_form_name(gs_gpu_form f) {
    switch (f) {
    case GS_GPU_NONE: return "none";
    case GS_GPU_WHOLE: return "whole";
    case GS_GPU_MIG: return "mig";
    case GS_GPU_SHARED: return "shared";
    case GS_GPU_FRACTION: return "fraction";
    }
    return "?";
}

const char *gs_share_mode_name(gs_share_mode m) {
    switch (m) {
    case GS_SHARE_EXCLUSIVE: return "exclusive";
    case GS_SHARE_MIG: return "mig";
    case GS_SHARE_TIMESLICING: return "timeSlicing";
    case GS_SHARE_FRACTIONAL: return "fractional";
    }
    return "?";
}

const char *gs_trigger_type_name(gs_trigger_type t) {
    switch (t) {
    case GS_TRIG_REDIS_LIST: return "redis";
    case GS_TRIG_REDIS_STREAM: return "redis-streams";
    case GS_TRIG_RABBITMQ: return "rabbitmq";
    case GS_TRIG_PROMETHEUS: return "prometheus";
    case GS_TRIG_SQS: return "aws-sqs-queue";
    case GS_TRIG_SIM: return "simulated";
    }
    return "?";
}

void gs_config_free(gs_config *c) {
    if (!c) return;
    free(c->pools);
    free(c->scalers);
    free(c->budgets);
    free(c->envs);
    gs_rules_store_free(c->rules);
    memset(c, 0, sizeof *c);
}

const char *gs_trigger_meta(const gs_trigger *t, const char *key) {
    for (int32_t i = 0; i < t->nmeta; i++)
        if (strcmp(t->meta[i].key, key) == 0) return t->meta[i].value;
    return NULL;
}

int gs_config_find_pool(const gs_config *c, const char *name) {
    for (int32_t i = 0; i < c->npools; i++)
        if (strcmp(c->pools[i].name, name) == 0) return i;
    return -1;
}

int gs_config_find_budget_for(const gs_config *c, const char *project) {
    for (int32_t i = 0; i < c->nbudgets; i++)
        if (strcmp(c->budgets[i].project, project) == 0) return i;
    return -1;
}

static bool in_values(const gs_requirement *r, const char *v) {
    for (int32_t i = 0; i < r->nvalues; i++)
        if (strcmp(r->values[i], v) == 0) return true;
    return false;
}

/* Evaluates one requirement against a value (NULL = the key is absent). */
static bool req_ok(const gs_requirement *r, const char *v) {
    switch (r->op) {
    case GS_OP_IN: return v && in_values(r, v);
    case GS_OP_NOT_IN: return !v || !in_values(r, v);
    case GS_OP_EXISTS: return v != NULL;
    case GS_OP_DOES_NOT_EXIST: return v == NULL;
    }
    return false;
}

unsigned gs_pool_capacity_mask(const gs_pool *p) {
    bool constrained = false;
    unsigned mask = 0;
    for (int32_t i = 0; i < p->nreqs; i++) {
        const gs_requirement *r = &p->reqs[i];
        if (r->key != GS_KEY_CAPACITY_TYPE) continue;
        constrained = true;
        unsigned m = 0;
        for (int c = 0; c < GS_CAP__N; c++)
            if (req_ok(r, gs_capacity_name((gs_capacity)c))) m |= 1u << c;
        mask = (mask ? mask : (GS_CAPMASK_OD | GS_CAPMASK_SPOT)) & m;
        if (!mask) return 0;
    }
    return constrained ? mask : GS_CAPMASK_OD;
}

bool gs_pool_allows(const gs_pool *p, const gs_itype *t, gs_capacity cap, const char *zone) {
    if (!(gs_pool_capacity_mask(p) & (1u << cap))) return false;
    if (gs_itype_price(t, cap) <= 0) return false;
    const gs_gpu_model *gm = gs_gpu_get(t->gpu_model);
    char cnt[16];
    int n = t->gpus, k = 0;
    char rev[16];
    do { rev[k++] = (char)('0' + n % 10); n /= 10; } while (n && k < 15);
    for (int i = 0; i < k; i++) cnt[i] = rev[k - 1 - i];
    cnt[k] = '\0';
    for (int32_t i = 0; i < p->nreqs; i++) {
        const gs_requirement *r = &p->reqs[i];
        const char *v = NULL;
        switch (r->key) {
        case GS_KEY_INSTANCE_TYPE: v = t->name; break;
        case GS_KEY_FAMILY: v = t->family; break;
        case GS_KEY_CAPACITY_TYPE: continue; /* in the mask above */
        case GS_KEY_ZONE:
            if (!zone) continue; /* zone not decided yet: any zone the pool allows */
            v = zone;
            break;
        case GS_KEY_GPU_MODEL: v = gm ? gm->name : NULL; break;
        case GS_KEY_GPU_COUNT: v = cnt; break;
        }
        if (!req_ok(r, v)) return false;
    }
    return true;
}

bool gs_pool_allows_profile(const gs_pool *p, const char *profile) {
    if (p->n_mig_profiles == 0) return true;
    for (int32_t i = 0; i < p->n_mig_profiles; i++)
        if (strcmp(p->mig_profiles[i], profile) == 0) return true;
    return false;
}

/* ---- interned selector/toleration arrays ---- */

typedef struct rules_entry {
    uint64_t hash;
    int32_t n;         /* element count */
    bool tol;          /* tolerations (else selector) */
    void *data;
} rules_entry;

struct gs_rules_store {
    rules_entry *tab;  /* open addressing, power-of-two size */
    size_t cap, used, bytes;
};

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}
static uint64_t fnv_str(uint64_t h, const char *s) {
    return fnv_bytes(h, s, strlen(s) + 1);
}

static uint64_t sel_hash(const gs_kv *kv, int32_t n) {
    uint64_t h = 14695981039346656037ULL;
    for (int32_t i = 0; i < n; i++) h = fnv_str(fnv_str(h, kv[i].key), kv[i].value);
    return h ^ 0x5e1ULL;
}
static uint64_t tol_hash(const gs_toleration *t, int32_t n) {
    uint64_t h = 14695981039346656037ULL;
    for (int32_t i = 0; i < n; i++) {
        int32_t v[2] = {(int32_t)t[i].op, t[i].effect};
        h = fnv_bytes(fnv_str(fnv_str(h, t[i].key), t[i].value), v, sizeof v);
    }
    return h ^ 0x701ULL;
}
static bool sel_eq(const gs_kv *a, const gs_kv *b, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value)) return false;
    return true;
}
static bool tol_eq(const gs_toleration *a, const gs_toleration *b, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value) || a[i].op != b[i].op ||
            a[i].effect != b[i].effect)
            return false;
    return true;
}

static int store_grow(gs_rules_store *s) {
    size_t ncap = s->cap ? s->cap * 2 : 64;
    rules_entry *nt = calloc(ncap, sizeof *nt);
    if (!nt) return GS_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->tab[i].data) continue;
        size_t j = (size_t)s->tab[i].hash & (ncap - 1);
        while (nt[j].data) j = (j + 1) & (ncap - 1);
        nt[j] = s->tab[i];
    }
    free(s->tab);
    s->tab = nt;
    s->cap = ncap;
    return 0;
}

/* The stored copy of (data, n) of one kind; NULL on allocation failure. */
static const void *intern(gs_rules_store *s, bool tol, const void *data, int32_t n) {
    uint64_t h = tol ? tol_hash(data, n) : sel_hash(data, n);
    if (s->cap) {
        for (size_t j = (size_t)h & (s->cap - 1); s->tab[j].data; j = (j + 1) & (s->cap - 1)) {
            const rules_entry *e = &s->tab[j];
            if (e->hash != h || e->n != n || e->tol != tol) continue;
            if (e->data == data) return data;
            if (tol ? tol_eq(e->data, data, n) : sel_eq(e->data, data, n)) return e->data;
        }
    }
    if ((s->used + 1) * 2 > s->cap && store_grow(s)) return NULL;
    size_t sz = (size_t)n * (tol ? sizeof(gs_toleration) : sizeof(gs_kv));
    void *copy = malloc(sz);
    if (!copy) return NULL;
    memcpy(copy, data, sz);
    size_t j = (size_t)h & (s->cap - 1);
    while (s->tab[j].data) j = (j + 1) & (s->cap - 1);
    s->tab[j] = (rules_entry){.hash = h, .n = n, .tol = tol, .data = copy};
    s->used++;
    s->bytes += sz;
    return copy;
}

int gs_rules_intern(gs_rules_store **store, gs_pod_spec *spec) {
    if (spec->n_node_selector < 0 || spec->n_node_selector > GS_MAX_LABELS || spec->n_tolerations < 0 ||
        spec->n_tolerations > GS_MAX_TAINTS)
        return GS_EINVAL;
    if (spec->n_node_selector == 0) spec->node_selector = NULL;
    if (spec->n_tolerations == 0) spec->tolerations = NULL;
    if (!spec->node_selector && !spec->tolerations) return 0;
    if (!*store) {
        *store = calloc(1, sizeof **store);
        if (!*store) return GS_ENOMEM;
    }
    const void *sel = NULL, *tol = NULL;
    if (spec->node_selector && !(sel = intern(*store, false, spec->node_selector, spec->n_node_selector)))
        return GS_ENOMEM;
    if (spec->tolerations && !(tol = intern(*store, true, spec->tolerations, spec->n_tolerations)))
        return GS_ENOMEM;
    spec->node_selector = sel;
    spec->tolerations = tol;
    return 0;
}

void gs_rules_store_free(gs_rules_store *s) {
    if (!s) return;
    for (size_t i = 0; i < s->cap; i++) free(s->tab[i].data);
    free(s->tab);
    free(s);
}

size_t gs_rules_store_bytes(const gs_rules_store *s) {
    return s ? s->bytes + s->cap * sizeof(rules_entry) + sizeof *s : 0;
}
