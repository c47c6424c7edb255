#include "sim/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void gs_rng_seed(gs_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t gs_rng_next(gs_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gs_rng_unit(gs_rng *r) { return (double)(gs_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t gs_rng_below(gs_rng *r, uint64_t n) {
    /* Lemire-free simple rejection to avoid modulo bias. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = gs_rng_next(r);
    while (v >= lim);
    return v % n;
}

int64_t gs_rng_range(gs_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)gs_rng_below(r, (uint64_t)(hi - lo) + 1u);
}

double gs_rng_exp(gs_rng *r, double mean) {
    double u = gs_rng_unit(r);
    return -mean * log(1.0 - u);
}
