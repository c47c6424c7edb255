/* Fractional (milli-GPU) placement onto a fixed node list: the packer's GPU-sharing mode and
 * the policy behind bench/bench_fgd.c.
 *
 * Three policies:
 *  - GS_FRAG_BESTFIT: the baseline of the FGD paper (Weng et al., USENIX ATC'23) as its
 *    simulator scores it: score = floor(100 x (1 - 0.5 (cpu_free - cpu_req)/128000
 *    - 0.5 (gpu_free - gpu_req)/8000)), highest wins, ties broken uniformly at random with
 *    the caller's seeded RNG (the Kubernetes scheduler's selectHost) or, with
 *    opts.first_ties, to the first node in the array; a sharing pod goes to the GPU with the
 *    least free milli-GPU that fits.
 *  - GS_FRAG_FGD: FGD computed exactly (gpuscale's policy with the lookahead below). A
 *    node's fragmentation is F_n = sum over task types m of weight_m x frag_n(m), where
 *    frag_n(m) is all of the node's free milli-GPU if m cannot fit there (CPU, memory or
 *    GPU), else the free milli-GPU of the GPUs whose free share is smaller than m's per-GPU
 *    request (0 for a CPU-only type that fits). CPU-only task types take part, and memory
 *    counts (a node whose CPU or memory is used up strands its GPUs; the paper's artifact
 *    counts CPU only: its task types have no memory); the caller chooses the weights
 *    (bench_fgd: the milli-GPU a type asks for in all, and 2000 per CPU-only task). Each
 *    pod goes where F grows least, computed exactly in integers (no sigmoid or score
 *    rounding, unlike the paper's plugin); ties go to the GPU, then the node, left with the
 *    least free GPU, then to the first node in the array.
 *    gpuscale's policy adds a one-step lookahead (opts.lookahead, GS_FRAG_OPTS_GPUSCALE): the
 *    best opts.lookahead candidates in that order are re-scored as
 *      F growth + lookahead_pct/100 x sum over types m of p_m x (L_m after - L_m now),
 *    where L_m is the least F growth a pod of type m would make on its best node and p_m the
 *    odds that the next arrival is of type m (count_m / sum of counts, or by weight when a
 *    type has no count): after the move it is the lower of the moved node's new
 *    value and the best of the other nodes (unchanged); a type that fits nowhere counts its
 *    GPU request x wsum (the allocation lost). Lowest wins, ties to the earlier candidate.
 *    Per type, a min-tree over the nodes keeps L_m (O(log n) to update or to leave one node
 *    out); the per-type growth vector of a node state is cached by the exact state (the state
 *    then holds 16,384 x ntypes x 8 bytes more). Nodes must change only through
 *    gs_frag_place (as for F).
 *  - GS_FRAG_FGD_PAPER: the FGD artifact's own scoring, reproduced to compare against
 *    (hkust-adsl/kubernetes-scheduler-simulator, plugin FGDScore; needs a state made with
 *    opts.paper): F as the artifact computes it (a CPU-only task type counts all of the
 *    node's free milli-GPU whether it fits or not: its XL/XR classes both count), each
 *    candidate scored int(100 x sigmoid((F_before - F_after) / (1000 x sum of weights))),
 *    a sharing pod's GPU the first one with the highest score, highest node score wins, ties
 *    as for BestFit.
 * Pure: the RNG state is passed in; F values are memoised in the state (owned by it). */
#ifndef GS_POLICY_PACK_FRAG_H
#define GS_POLICY_PACK_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "model/cluster.h"
#include "model/err.h"

typedef struct gs_frag_node {
    int32_t cpu_free;                     /* milli-CPU */
    int64_t mem_free;                     /* MiB */
    uint8_t ngpus;
    int16_t gpu_free[GS_NODE_MAX_GPUS];   /* milli-GPU free per GPU (1000 = idle) */
} gs_frag_node;

typedef struct gs_frag_task {
    int32_t cpu;      /* milli-CPU */
    int64_t mem;      /* MiB */
    int32_t ngpus;    /* 0 = CPU only; 1 with milli < 1000 = sharing; else whole GPUs */
    int32_t milli;    /* per GPU: < 1000 for a sharing pod, 1000 for whole GPUs */
} gs_frag_task;

typedef struct gs_frag_type {
    gs_frag_task t;
    int64_t weight;   /* popularity (e.g. how many pods of the workload have this shape) */
    int64_t count;    /* the lookahead's odds that the next pod has this shape (e.g. how many
                       * pods have it); used when every type has count > 0, else weight is */
} gs_frag_type;

typedef enum { GS_FRAG_BESTFIT, GS_FRAG_FGD, GS_FRAG_FGD_PAPER } gs_frag_policy;

#define GS_FRAG_LA_CANDIDATES 12
#define GS_FRAG_LA_PCT 700

typedef struct gs_frag_opts {
    bool paper;        /* F with the artifact's treatment of CPU-only task types (see above) */
    bool first_ties;   /* BestFit and FGD_PAPER: a tie between nodes goes to the first in the node
                        * array instead of uniformly at random (the artifact's scheduler, see
                        * bench_fgd.c: the caller shuffles the node order instead) */
    /* GS_FRAG_FGD's one-step lookahead (see above; gpuscale's policy sets it): how many of the
     * best candidates by F growth are re-scored (0 or 1 = off: plain FGD; at most 64), and the
     * weight of the lookahead term in percent of the F growth (0 = GS_FRAG_LA_PCT) */
    int32_t lookahead;
    int32_t lookahead_pct;
} gs_frag_opts;

/* gpuscale's policy: GS_FRAG_FGD with these options (bench/bench_fgd.c, docs/packing.md) */
#define GS_FRAG_OPTS_GPUSCALE ((gs_frag_opts){.lookahead = GS_FRAG_LA_CANDIDATES, .lookahead_pct = GS_FRAG_LA_PCT})

typedef struct gs_frag_memo gs_frag_memo;

typedef struct gs_frag_state {
    gs_frag_node *nodes;   /* borrowed; updated in place by gs_frag_place */
    int32_t n;
    const gs_frag_type *types; /* borrowed */
    int32_t ntypes;
    int64_t *F;            /* owned: per-node fragmentation (FGD) */
    gs_frag_memo *memo;    /* owned */
    gs_frag_opts opts;
    int64_t wsum;          /* sum of the task types' weights */
} gs_frag_state;

int gs_frag_init(gs_frag_state *st, gs_frag_node *nodes, int32_t n, const gs_frag_type *types,
                 int32_t ntypes);
/* The same with options (NULL = defaults, as gs_frag_init). */
int gs_frag_init_opts(gs_frag_state *st, gs_frag_node *nodes, int32_t n, const gs_frag_type *types,
                      int32_t ntypes, const gs_frag_opts *opts);
void gs_frag_free(gs_frag_state *st);

/* F_n of one node for the state's task types. */
int64_t gs_frag_node_frag(const gs_frag_state *st, const gs_frag_node *n);

/* Can t fit on n? */
bool gs_frag_fits(const gs_frag_node *n, const gs_frag_task *t);

/* Chooses a node (and GPU for a sharing pod) for t with policy pol and applies it. Returns the
 * node index, or -1 when no node can take t (nothing changes). *rng is a splitmix64 state. */
int32_t gs_frag_place(gs_frag_state *st, gs_frag_policy pol, const gs_frag_task *t, uint64_t *rng);

/* splitmix64 step: the benchmark's and tests' seeded RNG. */
uint64_t gs_frag_rand(uint64_t *state);

#endif
