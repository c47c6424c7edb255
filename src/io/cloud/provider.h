/* Cloud providers behind one interface (docs/providers.md): launch a node of an instance type,
 * terminate it, list what exists. Implementations: kube-fake (kubefake.h: Node objects in the
 * API server, like kwok) and exec (exec.h: user commands with JSON on stdin/stdout). */
#ifndef GS_IO_CLOUD_PROVIDER_H
#define GS_IO_CLOUD_PROVIDER_H

#include <stdint.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/err.h"
#include "model/objects.h"

#define GS_INSTANCE_ID 320

/* What the controller asks for. */
typedef struct gs_launch_req {
    char node_name[GS_OBJ_NAME];     /* Kubernetes node name the instance must register as */
    char itype[GS_ITYPE_NAME];       /* catalog instance type */
    gs_capacity capacity;
    char zone[GS_NAME_LEN];          /* "" = provider's choice */
    char pool[GS_NAME_LEN];          /* GPUPool name (label gpuscale.dev/pool) */
    gs_kv labels[GS_MAX_LABELS];
    int32_t nlabels;
    gs_taint taints[GS_MAX_TAINTS];
    int32_t ntaints;
    /* GPU layout to start with: ngpus entries (mode WHOLE or MIG with parts). */
    uint8_t ngpus;
    gs_gpu_state gpus[GS_NODE_MAX_GPUS];
    char mig_config[GS_NAME_LEN];    /* value of nvidia.com/mig.config ("" = MIG off) */
} gs_launch_req;

/* What exists. */
typedef struct gs_instance {
    char id[GS_INSTANCE_ID];         /* provider's id (kube-fake: "kube-fake://NODE") */
    char node_name[GS_OBJ_NAME];
    char itype[GS_ITYPE_NAME];
    gs_capacity capacity;
    char zone[GS_NAME_LEN];
    char pool[GS_NAME_LEN];
    int64_t launched_unix_ms;        /* 0 if unknown */
} gs_instance;

typedef struct gs_provider_ops {
    const char *name;
    /* Starts an instance; on success *out describes it. Must be idempotent per node_name
     * (a retried launch of the same node must not create a second instance). */
    int (*launch)(void *self, const gs_launch_req *req, gs_instance *out, gs_error *err);
    /* Terminates by id; an id that no longer exists is success. */
    int (*terminate)(void *self, const char *id, gs_error *err);
    /* Lists instances; *out is malloc'd (caller frees), *n its length. */
    int (*list)(void *self, gs_instance **out, int32_t *n, gs_error *err);
    /* Periodic duties (kube-fake: node heartbeats, pods Running, deletions); may be NULL. */
    int (*tick)(void *self, gs_error *err);
    void (*destroy)(void *self);
} gs_provider_ops;

typedef struct gs_provider {
    const gs_provider_ops *ops;
    void *self;
} gs_provider;

static inline void gs_provider_destroy(gs_provider *p) {
    if (p && p->ops && p->ops->destroy) p->ops->destroy(p->self);
    if (p) p->ops = NULL;
}

#endif
