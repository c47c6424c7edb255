/* Seeded pseudo-random numbers for the simulator: splitmix64 seeds a xoshiro256** state.
 * The state is passed explicitly (no globals), so a run is deterministic for a seed. */
#ifndef GS_SIM_RNG_H
#define GS_SIM_RNG_H

#include <stdint.h>

typedef struct gs_rng {
    uint64_t s[4];
} gs_rng;

void gs_rng_seed(gs_rng *r, uint64_t seed);
uint64_t gs_rng_next(gs_rng *r);
/* Uniform in [0, 1). */
double gs_rng_unit(gs_rng *r);
/* Uniform integer in [0, n); n > 0. */
uint64_t gs_rng_below(gs_rng *r, uint64_t n);
/* Uniform integer in [lo, hi] (lo <= hi). */
int64_t gs_rng_range(gs_rng *r, int64_t lo, int64_t hi);
/* Exponential with the given mean. */
double gs_rng_exp(gs_rng *r, double mean);

#endif
