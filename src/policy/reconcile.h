/* One reconcile step of gpuscale, pure: a view of the cluster (nodes with their GPU layouts,
 * pods and what they need), the queue readings of each workload, the pools and the time go
 * in; a list of actions comes out (create/delete replicas, configure a GPU's MIG layout,
 * bind a pod, launch a node, delete a node). `gpuscale simulate` calls it on every tick of
 * the gpuscale policy; `gpuscale run` calls the same function every tick with a view built
 * from its Kubernetes caches (src/cli/cmd_run.c, docs/deploy.md), scaling on its own fast
 * path (no_scale).
 *
 * The step is three calls: gs_scale_step (policy/scale) per workload, gs_pack_plan
 * (policy/pack) for the pending pods, and empty-node consolidation. */
#ifndef GS_POLICY_RECONCILE_H
#define GS_POLICY_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/err.h"
#include "model/objects.h"
#include "model/qty.h"
#include "policy/mig.h"
#include "policy/pack.h"
#include "policy/scale.h"

/* ---- the cluster view ---- */

/* What one pod needs from GPUs: `whole` GPUs, or a MIG instance with at least `compute`
 * compute slices and `mem_mib` of GPU memory. */
typedef struct gs_rc_need {
    int32_t whole;      /* > 0: whole GPUs */
    int32_t compute;    /* MIG: compute slices (1..7) */
    gs_mib mem_mib;     /* GPU memory the pod needs (both forms) */
    gs_mcpu cpu;
    gs_mib mem;
    /* added (additive): milli-GPU (1..999) asked in a pool that shares GPUs fractionally;
     * 0: ceil(compute x 1000 / 7). In a time-sliced pool a pod asks for one replica. */
    int32_t milli;
} gs_rc_need;

typedef struct gs_rc_node {
    int32_t id;         /* caller's id, echoed in actions */
    int32_t itype;
    gs_capacity cap;
    int32_t pool;
    bool ready;         /* false while booting */
    bool draining;      /* spot notice or being deleted: takes no new pods */
    int32_t npods;
    gs_mcpu cpu_used;
    gs_mib mem_used;
    uint8_t ngpus;
    gs_gpu_state gpus[GS_NODE_MAX_GPUS];
    /* added (additive): when the node last became empty (no pods), in the step's clock;
     * read only when its pool's consolidateAfter is > 0. */
    gs_ms empty_since;
    /* added (additive): the node's zone, an index into the caller's zones (0..nzones-1);
     * -1 when unknown. Read for spot diversification only. */
    int32_t zone;
    /* added (additive): the node is being emptied by a make-before-break repack (see
     * GS_ACT_REPACK_NODE): it takes no new pods (set draining too) and is deleted once
     * empty. */
    bool repacking;
    /* added (additive): of npods, those that do not hold the node (pods without GPUs the
     * caller drains before deleting it, and DaemonSet/static pods that go with it): they
     * count for packing (CPU, memory, max pods) but a node whose other pods are gone is
     * empty for consolidation and repacking. 0: every pod holds its node (simulator). */
    int32_t npods_drainable;
    /* added (additive): the node's name as pods' kubernetes.io/hostname selectors name it;
     * NULL: "n<id>". Not owned. */
    const char *name;
    /* added (additive): the node's GPU layouts cannot change now (gs_node.layout_locked): the
     * packer neither repartitions nor switches its GPUs. false: they can (simulator). */
    bool layout_locked;
} gs_rc_node;

typedef enum { GS_RCP_PENDING, GS_RCP_STARTING, GS_RCP_IDLE, GS_RCP_BUSY } gs_rc_pod_state;

typedef struct gs_rc_pod {
    int32_t id;
    int32_t wl;         /* workload index, -1 for a job pod (not scaled) */
    gs_rc_pod_state state;
    int32_t node;       /* view index of its node, -1 when unbound */
    int8_t gpu, part;   /* where it is bound (part -1: whole GPUs from gpu on) */
    int32_t pool;       /* pool it may run in */
    gs_rc_need need;
    gs_ms created;
    /* added (additive): the project the pod is billed to, as the packer's budget gate sees
     * it (an Environment's pods: the Environment's project). NULL or "": its workload's
     * project (wls[wl].project), else "default". Not owned; must outlive the step. */
    const char *project;
    /* added (additive): a pending pod's exact request and placement rules (GPU request as
     * the pod names it, node selector, tolerations, priority), given to the packer as is
     * instead of the request derived from need and pool; a MIG request also counts its
     * named profile when layouts are completed. NULL: derived (simulator). Not owned; its
     * interned arrays must outlive the step. */
    const gs_pod_spec *spec;
} gs_rc_pod;

typedef struct gs_rc_workload {
    int32_t pool;
    gs_rc_need need;
    const char *project;
    const gs_scaler *scaler;             /* its triggers, min/max, cooldown, stabilization */
    gs_scale_state *state;               /* in/out */
    const gs_scale_reading *readings;    /* one per trigger of scaler */
} gs_rc_workload;

/* Budget gate (issue 6) in the reconcile step's shape (see gs_budget_gate_pool). */
typedef bool (*gs_rc_budget_gate)(void *ctx, int32_t pool, int32_t itype, gs_capacity cap,
                                  gs_ms now, char *reason, int reason_size);

typedef struct gs_rc_input {
    gs_ms now;
    const gs_catalog *cat;
    const gs_pool *pools;
    int32_t npools;
    const gs_rc_node *nodes;
    int32_t nnodes;
    const gs_rc_pod *pods;
    int32_t npods;
    const gs_rc_workload *wls;
    int32_t nwl;
    gs_pack_gate_fn may_add; /* the packer's budget gate; NULL: no budget */
    void *gate_ctx;
    /* The caller knows nothing changed since a plan that placed none of the pending pods
     * (same pods, same nodes): skip packing unless this step creates replicas. */
    bool skip_pack;
    /* added (additive): spot diversification. A launch takes the packer's price-ordered
     * candidates of its claim; a spot launch goes to the capacity pool (instance type,
     * zone) that holds the fewest of the pool's spot nodes, among the spot candidates whose
     * price is within spot_price_slack_pct of the cheapest, so that no capacity pool holds
     * more than spot_max_pct % of the pool's spot nodes (at least one node each) while
     * another is under it. nzones: zones the caller can launch in (0: no zone choice, the
     * action's zone is -1); spot_max_pct 0: no diversification (cheapest candidate, as
     * before). An on-demand launch goes to the zone with the fewest of the pool's nodes. */
    int32_t nzones;
    int32_t spot_max_pct;
    int32_t spot_price_slack_pct;
    /* added (additive): make-before-break repacking. In a step that changes nothing else (no
     * replica created or deleted, no pending pod) and while no node of the pool is being
     * repacked, the ready node of a MIG pool that holds the fewest compute slices is emptied
     * if every replica on it fits a free MIG instance of another ready node of its pool:
     * the step emits, per replica, CREATE_POD + BIND to that instance, then REPACK_NODE.
     * false: never (the caller must implement REPACK_NODE to turn it on).
     * repack_headroom: only when, after the move, other nodes of the pool still have free
     * instances of the moved profiles for repack_headroom x the moved replicas (a repack
     * right before a rise would only trade the node for a new one). */
    bool repack;
    int32_t repack_headroom;
    /* added (additive): let the packer switch idle WHOLE GPUs of existing nodes whose pool
     * shares by time-slicing or fractions to that mode (gs_pack_input.switch_modes) when no
     * node has room for a pending pod as it is; the switch comes out as a CONFIGURE_GPU
     * action with mode TIMESLICED (ts_replicas: the pool's) or FRACTIONAL. false: only MIG
     * repartitions, for callers that carry out MIG layouts only. */
    bool switch_modes;
    /* added (additive): the caller scales the workloads itself (`gpuscale run`: the 100 ms
     * queue fast path): wls only describe them (pool, need, project: layouts, repacking,
     * the budget gate's project); scaler, state and readings are not read (may be NULL) and
     * the step emits no CREATE_POD/DELETE_POD of its own for scaling. */
    bool no_scale;
    /* added (additive): pending pods the packer places nowhere (no action for them: a pod no
     * pool fits, or one the budget refuses) do not hold repacking back; false: any pending
     * pod does (simulator). */
    bool repack_past_unplaced;
} gs_rc_input;

typedef enum {
    GS_ACT_CREATE_POD,   /* wl; the new pod is referred to as -(k+1), k = its creation ordinal */
    GS_ACT_DELETE_POD,   /* pod (an id); never a busy pod */
    GS_ACT_LAUNCH,       /* itype, cap, pool; the new node is node -(k+1), k = launch ordinal */
    GS_ACT_CONFIGURE_GPU,/* node, gpu, mode (the GPU is empty): MIG with layout, TIMESLICED
                          * with ts_replicas, FRACTIONAL; on an existing node a mode other
                          * than MIG comes only with gs_rc_input.switch_modes */
    GS_ACT_BIND,         /* pod, node, gpu, part (-1: whole GPUs from gpu on) */
    GS_ACT_DELETE_NODE,  /* node (an id) */
    GS_ACT_BLOCKED,      /* a pod left pending because the budget gate refused its node */
    GS_ACT_REPACK_NODE   /* added: node (an id) is repacked: its replicas were just given
                          * replacements (the CREATE_POD/BIND actions before it); the caller
                          * cordons it, no longer counts its replicas (the replacements stand
                          * for them) but lets them serve until the replacements are ready,
                          * then deletes them (a busy one after its request) and reports the
                          * node as repacking; the step deletes it once empty */
} gs_action_type;

typedef struct gs_action {
    gs_action_type type;
    int32_t wl, pod, node, itype, pool;
    gs_capacity cap;
    int8_t gpu, part;
    gs_gpu_mode mode;        /* CONFIGURE_GPU: MIG (layout), TIMESLICED or FRACTIONAL (the
                              * pool's sharing, set on a new node before its pods start) */
    gs_mig_layout layout;
    int32_t zone;            /* added (additive): LAUNCH: zone index, -1: any */
    int16_t ts_replicas;     /* added (additive): CONFIGURE_GPU with mode TIMESLICED: the
                              * replicas the GPU advertises (the pool's declared) */
} gs_action;

/* added (additive): why a pending pod stays pending (the packer's reason). */
typedef struct gs_rc_unsched {
    int32_t pod;                  /* its id */
    char reason[GS_PACK_REASON];
} gs_rc_unsched;

/* added (additive): the plan's facts about a LAUNCH the action does not carry. */
typedef struct gs_rc_launch {
    char zone[GS_NAME_LEN];       /* zone pinned by its pods' selectors, "" = any */
    gs_usd_u price;               /* per hour, of the offering launched */
    int32_t pods;                 /* pending pods placed on it */
} gs_rc_launch;

typedef struct gs_rc_output {
    gs_action *acts;   /* caller's buffer */
    int32_t n, cap;
    int32_t blocked;   /* launches refused by the gate this step */
    bool packed;       /* the packer ran */
    int32_t placed, unplaced; /* pending pods it placed / left pending */
    /* added (additive), optional caller buffers (NULL: not filled): the pending pods left
     * pending with the packer's reason (at most cap_unsched, the rest dropped), and per
     * LAUNCH k (node -(k+1)) launches[k] (at most cap_launches; a step with more launches
     * returns GS_ETOOBIG, as for acts). */
    gs_rc_unsched *unsched;
    int32_t nunsched, cap_unsched;
    gs_rc_launch *launches;
    int32_t nlaunches, cap_launches;
} gs_rc_output;

/* Runs one step. Returns 0, or GS_ETOOBIG when acts is too small, or another gs_err from
 * the scaler or the packer (message in err, optional). The scaler states are advanced only
 * when the step succeeds, so a caller can retry with a bigger buffer; it applies actions
 * only on 0. */
int gs_reconcile_step(const gs_rc_input *in, gs_rc_output *out, gs_error *err);

/* Smallest MIG profile of model m (no +me) with >= need.compute slices and >= need.mem_mib;
 * -1 if none (also when m has no MIG). */
int gs_rc_profile_for(const gs_gpu_model *m, const gs_rc_need *need);

/* Completes a MIG layout planned for some pods with more instances of the profiles in mix
 * (mix[k]: how many pods of the pool ask for profile k; most asked first, each placed at the
 * start that destroys the fewest options, only profiles the pool allows) until none fits.
 * Shared by gs_reconcile_step (simulator) and `gpuscale run` for new nodes' layouts. */
void gs_rc_complete_layout(const gs_pool *pool, const gs_gpu_model *m,
                           const int32_t mix[GS_MIG_MAX_PROFILES], gs_mig_layout *lay);

#endif
