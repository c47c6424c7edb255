/* MIG geometry: which layouts are valid on a GPU model, where a profile can still go on a
 * partly used GPU, and the enumeration of all valid layouts. Pure.
 *
 * Rules (REFERENCES.md): an instance of profile p occupies memory slices
 * [start, start + p.size); start must be one of p's allowed starts; instances must not overlap;
 * at most p.max_count instances of p; the compute slices of all instances sum to at most the
 * GPU's compute slices. */
#ifndef GS_POLICY_MIG_H
#define GS_POLICY_MIG_H

#include <stdbool.h>
#include <stdint.h>

#include "model/cluster.h"
#include "model/gpu.h"

typedef struct gs_mig_layout {
    uint8_t n;
    gs_partition parts[GS_GPU_MAX_PARTS];
} gs_mig_layout;

/* Profile counts: counts[i] instances of model->profiles[i]. */
typedef struct gs_mig_counts {
    uint8_t c[GS_MIG_MAX_PROFILES];
} gs_mig_counts;

/* Bit s set: memory slice s is held by one of parts. */
uint8_t gs_mig_occupied(const gs_gpu_model *m, const gs_partition *parts, int n);

/* Is this set of placed instances valid on m? why (optional) gets a reason. */
bool gs_mig_valid(const gs_gpu_model *m, const gs_partition *parts, int n, const char **why);

/* Bitmask of the starts where one more instance of profile p can be placed next to parts
 * (0 = nowhere). */
uint8_t gs_mig_free_starts(const gs_gpu_model *m, const gs_partition *parts, int n, int p);

/* The start for one more instance of p that destroys the fewest placement options for
 * other profiles (ties: lowest start); -1 if it cannot be placed. */
int gs_mig_best_start(const gs_gpu_model *m, const gs_partition *parts, int n, int p);

/* Can counts (added to the instances already in parts) be placed? If so and out != NULL,
 * out receives the full layout (existing parts first, unchanged). Exact search. */
bool gs_mig_fit(const gs_gpu_model *m, const gs_partition *parts, int n,
                const gs_mig_counts *counts, gs_mig_layout *out);

/* Enumerates every valid layout (distinct sets of placed instances, including the empty
 * one) into out[0..max); returns how many exist (may exceed max). */
int gs_mig_enumerate(const gs_gpu_model *m, gs_mig_layout *out, int max);

/* Enumerates the maximal profile-count vectors: feasible on an empty GPU, and adding one more
 * instance of any profile makes them infeasible. Returns how many exist (may exceed max).
 * Sorted by descending total compute slices, then by counts of larger profiles first. */
int gs_mig_maximal_counts(const gs_gpu_model *m, gs_mig_counts *out, int max);

/* Compute slices and memory slices used by counts. */
int gs_mig_counts_compute(const gs_gpu_model *m, const gs_mig_counts *c);
int gs_mig_counts_memory(const gs_gpu_model *m, const gs_mig_counts *c);

#endif
