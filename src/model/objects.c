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
