/* The packer: pending pods -> GPU partitions -> existing or new nodes, cheapest first.
 *
 * gs_pack_plan is pure and deterministic: the same input gives the same plan, byte for byte.
 * It reads the snapshot's pending pods (phase PENDING, node -1) and places each one, in
 * order of priority (high first) then GPU size (large first) then CPU, memory and index:
 *   1. on a free MIG instance of the asked profile that already exists on a node;
 *   2. on room left on a node or an already planned claim (MIG instance added to a GPU whose
 *      layout this plan decides, a time-sliced replica within the replicas the pool declares,
 *      free whole GPUs, free milli-GPU); time-sliced replicas are spread: on existing nodes
 *      the GPU with the fewest used replicas (nodes holding pods or starting before empty
 *      ones), on a claim stacked while packing and then spread over the GPUs every candidate
 *      type of the claim has (no node or dollar more than stacking); a fractional (milli-GPU)
 *      pod goes to the existing node and GPU that gpuscale's FGD policy with its one-step
 *      lookahead chooses among those where it fits as they are (policy/pack_frag.h), and
 *      only when there is none to a claim, first fit;
 *   3. on an idle GPU (no pods at all) of an existing node whose pool shares GPUs by MIG,
 *      repartitioned (never a GPU with a running pod); with switch_modes, also an idle WHOLE
 *      GPU of a node whose pool time-slices (or shares by fractions) switched to that mode,
 *      when no node has room for the pod as it is;
 *   4. on a new node claim, pools tried by weight (high first) then by cheapest price, the
 *      instance type chosen for the lowest price per GPU the pending demand will use.
 * A pod none of these can take gets a reason a user can act on. When pending pods ask for a
 * "+me" MIG profile (one per GPU), the plan is made with those pods ordered by share and
 * again with them first, and the plan placing more pods, then cheaper, is returned.
 * docs/packing.md has the details and the complexity. */
#ifndef GS_POLICY_PACK_H
#define GS_POLICY_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/objects.h"
#include "policy/mig.h"
#include "policy/pack_frag.h"

#define GS_PACK_DEFAULT_CANDIDATES 60 /* Karpenter passes at most 60 types to CreateFleet */
#define GS_PACK_FRAG_MAX_TYPES 256    /* default cap on the snapshot shapes FGD weighs */
#define GS_PACK_REASON 256

/* Budget gate: may `project` add `usd_per_hour` more? On refusal, write a reason into why.
 * Called once per new claim with the claim's price. */
typedef bool (*gs_pack_gate_fn)(void *ctx, const char *project, gs_usd_u usd_per_hour, char *why,
                                size_t why_len);

typedef struct gs_pack_input {
    const gs_snapshot *snap;     /* nodes (node.pool indexes pools) and pods; pending = PENDING
                                    with node == -1 */
    const gs_pool *pools;        /* pool config; tried by weight then price */
    int32_t npools;
    const gs_catalog *catalog;
    gs_pack_gate_fn may_add;     /* NULL = allow all */
    void *gate_ctx;
    int32_t max_candidates;      /* instance types per claim; <= 0 = GS_PACK_DEFAULT_CANDIDATES */
    int32_t max_claims;          /* new nodes per plan; <= 0 = unlimited */
    bool switch_modes;           /* also plan switching idle WHOLE GPUs of existing nodes whose
                                    pool shares by time-slicing or fractions to that mode
                                    (gs_repartition.mode_after TIMESLICED / FRACTIONAL); false
                                    = only MIG repartitions, for callers that apply MIG only */
    /* Fractional (milli-GPU) pods on existing nodes are placed by gpuscale's FGD policy
     * (policy/pack_frag.h, GS_FRAG_FGD with GS_FRAG_OPTS_GPUSCALE) against a target workload:
     * these task types (borrowed; weight = popularity, count = the lookahead's odds), or, when
     * nfrag_types is 0, the shapes (CPU, memory, milli-GPU) of the snapshot's fractional pods,
     * bound and pending, each weighted by the milli-GPU its pods ask for in all and counted
     * by its pods. docs/packing.md, "Fractional pods". */
    const gs_frag_type *frag_types;
    int32_t nfrag_types;
    /* Without frag_types, at most this many of the snapshot's shapes make the target workload:
     * the heaviest by weight (ties: by CPU, memory, milli-GPU), so that a plan's cost stays
     * bounded however many distinct requests the pods have (building the FGD state is
     * O(nodes x types)). <= 0 = GS_PACK_FRAG_MAX_TYPES. */
    int32_t frag_max_types;
} gs_pack_input;

typedef enum {
    GS_PLACE_NONE = 0,   /* unschedulable (see gs_plan.unsched) */
    GS_PLACE_EXISTING,   /* target = snapshot node index */
    GS_PLACE_CLAIM       /* target = index into gs_plan.claims */
} gs_place_kind;

typedef struct gs_placement {
    int32_t pod;          /* snapshot pod index */
    gs_place_kind kind;
    int32_t target;       /* node or claim index, -1 for NONE */
    int8_t gpu;           /* first GPU, -1 if the pod asks for none */
    int8_t ngpus;         /* GPUs taken (WHOLE: count; otherwise 1 or 0) */
    int8_t part;          /* MIG: partition index on that GPU's layout; -1 otherwise */
} gs_placement;

/* One (instance type, capacity type) offering a claim may be launched as. */
typedef struct gs_pack_cand {
    int32_t itype;
    gs_capacity capacity;
    gs_usd_u price;       /* per hour */
} gs_pack_cand;

typedef struct gs_claim {
    int32_t pool;
    gs_capacity capacity;         /* of the cheapest candidate */
    int32_t itype;                /* cheapest candidate (the one priced in usd_after) */
    gs_usd_u price;
    char zone[GS_NAME_LEN];       /* "" = any zone the pool allows */
    char project[GS_NAME_LEN];    /* the project whose pod opened it (budget gate) */
    int32_t cand_off, ncand;      /* candidates: gs_plan.cands[cand_off .. cand_off+ncand),
                                     ordered by price, then name, then capacity type */
    int32_t pods;
    gs_mcpu cpu_used;
    gs_mib mem_used;
    int32_t gpu_model;            /* GPU model index; the layouts below are for it */
    uint8_t ngpus;                /* GPUs configured (of the type packed against) */
    uint8_t ngpus_used;           /* highest used GPU + 1: candidates have at least this many */
    gs_gpu_state gpus[GS_NODE_MAX_GPUS]; /* per-GPU mode, MIG layout, replicas, milli */
} gs_claim;

/* A new configuration for an idle GPU (no pods) of an existing node: a MIG layout, or (with
 * gs_pack_input.switch_modes) time-slicing with the pool's replicas, or fractional sharing. */
typedef struct gs_repartition {
    int32_t node;
    int8_t gpu;
    gs_mig_layout before, after;  /* MIG layouts (before: empty unless the GPU was in MIG) */
    gs_gpu_mode mode_before;      /* the GPU's mode in the snapshot */
    gs_gpu_mode mode_after;       /* GS_GPUMODE_MIG, or TIMESLICED / FRACTIONAL (switch_modes) */
    int16_t ts_replicas;          /* TIMESLICED: replicas to advertise (the pool's declared) */
} gs_repartition;

typedef struct gs_unsched {
    int32_t pod;
    char reason[GS_PACK_REASON];
} gs_unsched;

/* The plan. Every array is owned by the plan: malloc'd by gs_pack_plan, kept between calls
 * (a second gs_pack_plan on the same plan reuses the buffers), freed by gs_plan_free. */
typedef struct gs_plan {
    gs_placement *place;      /* one per pending pod, in pod index order */
    int32_t nplace, cap_place;
    gs_claim *claims;
    int32_t nclaims, cap_claims;
    gs_pack_cand *cands;
    int32_t ncands, cap_cands;
    gs_repartition *reparts;
    int32_t nreparts, cap_reparts;
    gs_unsched *unsched;
    int32_t nunsched, cap_unsched;
    gs_usd_u usd_before;      /* $/hour of the existing nodes */
    gs_usd_u usd_after;       /* usd_before + the claims' cheapest candidates */
    int32_t placed_existing, placed_claims;
} gs_plan;

void gs_plan_init(gs_plan *p);
void gs_plan_free(gs_plan *p);

/* Plans. Returns 0 (pods that cannot be placed are in out->unsched, not an error), GS_EINVAL
 * for an inconsistent input (a node whose itype or pool is out of range, ...: the message
 * goes to err) or GS_ENOMEM. */
int gs_pack_plan(const gs_pack_input *in, gs_plan *out, gs_error *err);

/* GPU share of one pod on a GPU of model m, in millionths of a GPU (WHOLE 1e6 per GPU,
 * MIG max(compute/7, memory/8) of the GPU, SHARED count/replicas, FRACTION milli*1000).
 * ts_replicas is the pool's declared replicas for SHARED. Used for lower bounds. */
int64_t gs_pack_gpu_share(const gs_gpu_req *r, const gs_gpu_model *m, int32_t ts_replicas);

/* Does pod spec s tolerate every NoSchedule/NoExecute taint of pool p? */
bool gs_pack_tolerates(const gs_pod_spec *s, const gs_pool *p);

#endif
