/* Pods as the controller caches them: a small typed record decoded from the API object
 * (what the packer, the meter, consolidation and kube-fake read), for a typed informer
 * (gs_informer_new_typed). A record is one allocation of about 150 bytes plus its names, where
 * the pod's JSON tree is 20-30 KB; selectors and tolerations are interned (shared by every
 * replica of a template). */
#ifndef GS_IO_KUBE_KPOD_H
#define GS_IO_KUBE_KPOD_H

#include <stdbool.h>
#include <stdint.h>

#include "io/kube/informer.h"
#include "model/objects.h"

typedef enum { GS_KPOD_PENDING, GS_KPOD_RUNNING, GS_KPOD_SUCCEEDED, GS_KPOD_FAILED, GS_KPOD_UNKNOWN } gs_kpod_phase;

typedef struct gs_kpod {
    const char *ns, *name;     /* metadata */
    const char *node;          /* spec.nodeName, "" while unbound */
    const char *project;       /* label gpuscale.dev/project, else the namespace */
    const char *owner;         /* the controlling workload "Deployment/NAME" (through its
                                * ReplicaSet's pod-template-hash), "StatefulSet/NAME",
                                * "DaemonSet/NAME", "Job/NAME", "Node/NAME" (a static
                                * pod); "" if none */
    gs_kpod_phase phase;       /* status.phase (missing: PENDING) */
    bool deleting;             /* metadata.deletionTimestamp set */
    bool do_not_disrupt;       /* annotation gpuscale.dev/ or karpenter.sh/do-not-disrupt = "true" */
    bool ready;                /* status condition Ready=True */
    bool unschedulable;        /* status condition PodScheduled=False with reason Unschedulable:
                                * kube-scheduler tried it and found no node (it then waits in
                                * the scheduler's backoff while newer pods are tried first) */
    int8_t idle;               /* annotation gpuscale.dev/idle: 1 "true", 0 other, -1 absent */
    bool has_gpu;              /* names a GPU resource ... */
    bool gpu_ok;               /* ... that parses (gpu is then valid) */
    int64_t cpu;               /* millicores, containers' requests summed (requests default to limits) */
    int64_t mem;               /* MiB, likewise */
    int32_t priority;          /* spec.priority */
    gs_gpu_req gpu;            /* the first GPU resource named, summed over containers */
    const gs_kv *sel;          /* spec.nodeSelector (interned, at most GS_MAX_LABELS) */
    int32_t nsel;
    const gs_toleration *tol;  /* spec.tolerations (interned, at most GS_MAX_TAINTS) */
    int32_t ntol;
    char text[];               /* the strings above */
} gs_kpod;

/* Fills *codec for a typed pod informer. *store receives the interned selectors and
 * tolerations: it must outlive the informer; free it with gs_rules_store_free after. */
void gs_kpod_codec(gs_informer_codec *codec, gs_rules_store **store);

/* Decodes one pod object (exposed for tests); NULL when it has no metadata.name or on
 * out-of-memory. Free with free(). */
gs_kpod *gs_kpod_decode(const json_t *pod, gs_rules_store **store);
bool gs_kpod_equal(const gs_kpod *a, const gs_kpod *b);
/* Not finished (phase neither Succeeded nor Failed). */
bool gs_kpod_live(const gs_kpod *p);

/* CPU (milli) or memory (MiB) of a Kubernetes quantity given as JSON string or integer; 0 when
 * it does not parse. Shared with the node trim in cmd_run. */
int64_t gs_kube_qty(const json_t *v, bool cpu);
/* An integer count (extended resources): integer or numeric string, else 0. */
int64_t gs_kube_count(const json_t *v);
/* Is r a GPU resource name gpuscale schedules (nvidia.com/gpu, nvidia.com/mig-*,
 * nvidia.com/gpu.shared, gpuscale.dev/gpu-milli)? */
bool gs_kube_gpu_resource(const char *r);

#endif
