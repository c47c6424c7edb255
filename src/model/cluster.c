#include "model/cluster.h"

#include "model/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gs_snapshot_init(gs_snapshot *s) {
    memset(s, 0, sizeof *s);
}

void gs_snapshot_free(gs_snapshot *s) {
    free(s->nodes);
    free(s->pods);
    gs_rules_store_free(s->rules);
    memset(s, 0, sizeof *s);
}


int32_t gs_snapshot_add_node(gs_snapshot *s, const gs_node *n) {
    void *arr = s->nodes;
    int rc = gs_array_grow(&arr, &s->cap_nodes, sizeof *n, s->nnodes + 1);
    s->nodes = arr;
    if (rc) return rc;
    s->nodes[s->nnodes] = *n;
    return s->nnodes++;
}

int32_t gs_snapshot_add_pod(gs_snapshot *s, const gs_pod *p) {
    void *arr = s->pods;
    int rc = gs_array_grow(&arr, &s->cap_pods, sizeof *p, s->npods + 1);
    s->pods = arr;
    if (rc) return rc;
    gs_pod_spec spec = p->spec;
    rc = gs_rules_intern(&s->rules, &spec);
    if (rc) return rc;
    s->pods[s->npods] = *p;
    s->pods[s->npods].spec = spec;
    return s->npods++;
}

int gs_snapshot_reserve(gs_snapshot *s, int32_t nnodes, int32_t npods) {
    if (nnodes > s->cap_nodes) {
        gs_node *n = realloc(s->nodes, sizeof *n * (size_t)nnodes);
        if (!n) return GS_ENOMEM;
        s->nodes = n;
        s->cap_nodes = nnodes;
    }
    if (npods > s->cap_pods) {
        gs_pod *p = realloc(s->pods, sizeof *p * (size_t)npods);
        if (!p) return GS_ENOMEM;
        s->pods = p;
        s->cap_pods = npods;
    }
    return 0;
}

int gs_snapshot_find_node(const gs_snapshot *s, const char *name) {
    for (int32_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].name, name) == 0) return i;
    return -1;
}

void gs_node_init(gs_node *n, const char *name, const gs_catalog *c, int32_t itype,
                  gs_capacity cap) {
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->itype = itype;
    n->capacity = cap;
    n->pool = -1;
    n->empty_since = -1;
    n->ready = true;
    if (c && itype >= 0 && itype < c->n) {
        const gs_itype *t = &c->types[itype];
        n->cpu_alloc = t->alloc_cpu;
        n->mem_alloc = t->alloc_mem;
        n->max_pods = t->max_pods;
        n->ngpus = (uint8_t)(t->gpus > GS_NODE_MAX_GPUS ? GS_NODE_MAX_GPUS : t->gpus);
    }
}

int gs_gpu_req_from_resource(const char *name, int64_t amount, gs_gpu_req *out,
                             const char **why) {
    memset(out, 0, sizeof *out);
    if (strcmp(name, "nvidia.com/gpu") == 0) {
        if (amount < 1 || amount > GS_NODE_MAX_GPUS) { if (why) *why = "nvidia.com/gpu must be 1..16"; return GS_EPARSE; }
        out->form = GS_GPU_WHOLE;
        out->count = (int32_t)amount;
        return 0;
    }
    if (strcmp(name, "nvidia.com/gpu.shared") == 0) {
        if (amount < 1 || amount > 64) { if (why) *why = "nvidia.com/gpu.shared must be 1..64"; return GS_EPARSE; }
        out->form = GS_GPU_SHARED;
        out->count = (int32_t)amount;
        return 0;
    }
    if (strcmp(name, "gpuscale.dev/gpu-milli") == 0) {
        if (amount < 1 || amount > 999) { if (why) *why = "gpuscale.dev/gpu-milli must be 1..999"; return GS_EPARSE; }
        out->form = GS_GPU_FRACTION;
        out->milli = (int32_t)amount;
        out->count = 1;
        return 0;
    }
    if (strncmp(name, "nvidia.com/mig-", 15) == 0) {
        const char *prof = name + 15;
        if (amount != 1) { if (why) *why = "a pod asks for exactly one MIG instance"; return GS_EPARSE; }
        size_t n = strlen(prof);
        if (n == 0 || n >= sizeof out->mig_profile) { if (why) *why = "bad MIG profile name"; return GS_EPARSE; }
        out->form = GS_GPU_MIG;
        out->count = 1;
        /* store the nvidia-smi spelling: a trailing ".me" is "+me" */
        memcpy(out->mig_profile, prof, n + 1);
        if (n > 3 && strcmp(out->mig_profile + n - 3, ".me") == 0) out->mig_profile[n - 3] = '+';
        return 0;
    }
    if (why) *why = "not a GPU resource";
    return GS_EINVAL;
}
