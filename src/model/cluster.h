/* The cluster as the policy core sees it: nodes, their GPUs and partitions, pods and their
 * requests. A snapshot is plain data; the controller builds it from the Kubernetes cache,
 * the simulator from its world. Indices, not pointers, link objects so a snapshot can be
 * copied with memcpy. */
#ifndef GS_CLUSTER_H
#define GS_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/err.h"
#include "model/gpu.h"
#include "model/objects.h"
#include "model/qty.h"

#define GS_OBJ_NAME 254          /* Kubernetes object names (DNS subdomain + NUL) */
#define GS_NODE_MAX_GPUS 16
#define GS_GPU_MAX_PARTS 8       /* at most 7 MIG instances (8 slots for safety) */

/* One MIG instance placed on a GPU: profile index within the GPU's model, start slice. */
typedef struct gs_partition {
    int8_t profile;   /* index into gs_gpu_model.profiles */
    uint8_t start;    /* first memory slice */
    bool used;        /* a pod holds it */
} gs_partition;

typedef enum {
    GS_GPUMODE_WHOLE = 0,   /* not partitioned: one pod takes it whole (or it is free) */
    GS_GPUMODE_MIG,         /* MIG enabled: parts[] is the layout */
    GS_GPUMODE_TIMESLICED,  /* ts_replicas replicas advertised as nvidia.com/gpu.shared */
    GS_GPUMODE_FRACTIONAL   /* milli-GPU shares */
} gs_gpu_mode;

typedef struct gs_gpu_state {
    gs_gpu_mode mode;
    uint8_t nparts;
    gs_partition parts[GS_GPU_MAX_PARTS];
    int16_t ts_replicas;    /* TIMESLICED: replicas the pool declares */
    int16_t ts_used;        /* TIMESLICED: replicas held */
    int16_t milli_used;     /* FRACTIONAL: milli-GPU held */
    bool whole_used;        /* WHOLE: held by a pod */
    int16_t pods;           /* pods using this GPU (any mode) */
} gs_gpu_state;

typedef struct gs_node {
    char name[GS_OBJ_NAME];
    int32_t itype;            /* catalog index */
    gs_capacity capacity;
    char zone[GS_NAME_LEN];
    int32_t pool;             /* config pool index, -1 if not ours */
    gs_mcpu cpu_alloc, cpu_used;
    gs_mib mem_alloc, mem_used;
    int32_t pods;             /* pods bound */
    int32_t max_pods;
    uint8_t ngpus;
    gs_gpu_state gpus[GS_NODE_MAX_GPUS];
    bool ready;               /* false while launching (in flight) */
    bool cordoned;
    bool do_not_disrupt;      /* gpuscale.dev/do-not-disrupt or karpenter.sh/do-not-disrupt */
    bool deleting;
    gs_ms created_at;
    gs_ms empty_since;        /* -1 when pods are bound */
    /* added (additive): the GPUs' layout cannot change now (the GPU Operator's configuration
     * cannot be written, or a failed reconfiguration is backing off): the packer neither
     * repartitions nor switches this node's GPUs; pods it cannot take as laid out go
     * elsewhere (another node, a launch). */
    bool layout_locked;
} gs_node;

typedef enum { GS_POD_PENDING, GS_POD_RUNNING, GS_POD_SUCCEEDED, GS_POD_FAILED } gs_pod_phase;

typedef struct gs_pod {
    char name[GS_OBJ_NAME];
    char ns[GS_NAME_LEN];
    char project[GS_NAME_LEN];
    char workload[GS_NAME_LEN];   /* owning QueueScaler / Environment, "" if none */
    gs_pod_spec spec;
    gs_pod_phase phase;
    int32_t node;                 /* -1 when not bound */
    int8_t gpu;                   /* first GPU used, -1 if none */
    int8_t part;                  /* MIG partition index on that GPU, -1 if none */
    bool idle;                    /* the workload reports it idle (safe to remove) */
    bool do_not_disrupt;
    gs_ms created_at;
} gs_pod;

typedef struct gs_snapshot {
    gs_ms now;
    gs_node *nodes;
    int32_t nnodes, cap_nodes;
    gs_pod *pods;
    int32_t npods, cap_pods;
    gs_rules_store *rules;  /* the pods' selectors and tolerations (shared copies) */
} gs_snapshot;

void gs_snapshot_init(gs_snapshot *s);
void gs_snapshot_free(gs_snapshot *s);
/* Append; return the new index or a negative gs_err. The object is copied; a pod's selector
 * and toleration arrays are copied into the snapshot's rules store (identical ones shared),
 * so the caller's arrays may be temporary. Never write through a stored pod's arrays. */
int32_t gs_snapshot_add_node(gs_snapshot *s, const gs_node *n);
int32_t gs_snapshot_add_pod(gs_snapshot *s, const gs_pod *p);
int gs_snapshot_find_node(const gs_snapshot *s, const char *name);
/* Makes room for at least nnodes nodes and npods pods in total (exactly, where the arrays
 * must grow), so a caller that knows the sizes does not pay doubling's slack. 0 or GS_ENOMEM. */
int gs_snapshot_reserve(gs_snapshot *s, int32_t nnodes, int32_t npods);

/* Initialises a node of instance type t: allocatable from the catalog, GPUs WHOLE and free. */
void gs_node_init(gs_node *n, const char *name, const gs_catalog *c, int32_t itype,
                  gs_capacity cap);

/* Parses a Kubernetes resource map entry into a GPU request ("nvidia.com/gpu" = 2,
 * "nvidia.com/mig-1g.10gb" = 1, "nvidia.com/gpu.shared" = 1, "gpuscale.dev/gpu-milli" = 250).
 * Returns 0, or GS_EINVAL if the name is not a GPU resource (caller decides), or GS_EPARSE for
 * a GPU resource with a bad amount. */
int gs_gpu_req_from_resource(const char *name, int64_t amount, gs_gpu_req *out, const char **why);

#endif
