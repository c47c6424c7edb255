#include "policy/mig.h"

#include <stdlib.h>
#include <string.h>

static uint8_t range_mask(int start, int size) {
    return (uint8_t)(((1u << size) - 1u) << start);
}

uint8_t gs_mig_occupied(const gs_gpu_model *m, const gs_partition *parts, int n) {
    uint8_t occ = 0;
    for (int i = 0; i < n; i++) {
        const gs_mig_profile *p = &m->profiles[parts[i].profile];
        occ |= range_mask(parts[i].start, p->size);
    }
    return occ;
}

static int compute_used(const gs_gpu_model *m, const gs_partition *parts, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += m->profiles[parts[i].profile].compute;
    return c;
}

static int count_of(const gs_partition *parts, int n, int p) {
    int c = 0;
    for (int i = 0; i < n; i++) c += parts[i].profile == p;
    return c;
}

bool gs_mig_valid(const gs_gpu_model *m, const gs_partition *parts, int n, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    if (!gs_gpu_has_mig(m)) { *why = "GPU model has no MIG"; return n == 0; }
    if (n > GS_GPU_MAX_PARTS) { *why = "too many instances"; return false; }
    uint8_t occ = 0;
    for (int i = 0; i < n; i++) {
        int pi = parts[i].profile;
        if (pi < 0 || pi >= m->nprofiles) { *why = "unknown profile"; return false; }
        const gs_mig_profile *p = &m->profiles[pi];
        int s = parts[i].start;
        if (s >= m->mem_slices || !(p->starts & (1u << s))) { *why = "start not allowed for profile"; return false; }
        if (s + p->size > m->mem_slices) { *why = "instance runs past the last memory slice"; return false; }
        uint8_t r = range_mask(s, p->size);
        if (occ & r) { *why = "instances overlap"; return false; }
        occ |= r;
    }
    for (int pi = 0; pi < m->nprofiles; pi++)
        if (count_of(parts, n, pi) > m->profiles[pi].max_count) { *why = "more instances of a profile than the GPU allows"; return false; }
    if (compute_used(m, parts, n) > m->compute_slices) { *why = "more compute slices than the GPU has"; return false; }
    *why = NULL;
    return true;
}

uint8_t gs_mig_free_starts(const gs_gpu_model *m, const gs_partition *parts, int n, int p) {
    if (!gs_gpu_has_mig(m) || p < 0 || p >= m->nprofiles || n >= GS_GPU_MAX_PARTS) return 0;
    const gs_mig_profile *pr = &m->profiles[p];
    if (count_of(parts, n, p) >= pr->max_count) return 0;
    if (compute_used(m, parts, n) + pr->compute > m->compute_slices) return 0;
    uint8_t occ = gs_mig_occupied(m, parts, n), ok = 0;
    for (int s = 0; s < m->mem_slices; s++) {
        if (!(pr->starts & (1u << s)) || s + pr->size > m->mem_slices) continue;
        if (!(occ & range_mask(s, pr->size))) ok |= (uint8_t)(1u << s);
    }
    return ok;
}

/* Number of (profile, start) placements still possible: a measure of what a layout leaves. */
static int options_left(const gs_gpu_model *m, const gs_partition *parts, int n) {
    int total = 0;
    for (int p = 0; p < m->nprofiles; p++)
        total += __builtin_popcount(gs_mig_free_starts(m, parts, n, p)) * m->profiles[p].size;
    return total;
}

int gs_mig_best_start(const gs_gpu_model *m, const gs_partition *parts, int n, int p) {
    uint8_t ok = gs_mig_free_starts(m, parts, n, p);
    if (!ok) return -1;
    gs_partition tmp[GS_GPU_MAX_PARTS + 1];
    if (n > 0) memcpy(tmp, parts, (size_t)n * sizeof *parts);
    int best = -1, bestv = -1;
    for (int s = 0; s < m->mem_slices; s++) {
        if (!(ok & (1u << s))) continue;
        tmp[n].profile = (int8_t)p;
        tmp[n].start = (uint8_t)s;
        tmp[n].used = false;
        int v = options_left(m, tmp, n + 1);
        if (v > bestv) {
            bestv = v;
            best = s;
        }
    }
    return best;
}

/* Exact search: place the remaining instances, largest size first, at each free start. */
static bool fit_rec(const gs_gpu_model *m, gs_partition *parts, int n0, int n, int *rem,
                    int order_i, const int *order, gs_mig_layout *out) {
    while (order_i < m->nprofiles && rem[order[order_i]] == 0) order_i++;
    if (order_i == m->nprofiles) {
        if (out) {
            out->n = (uint8_t)n;
            memcpy(out->parts, parts, (size_t)n * sizeof *parts);
        }
        return true;
    }
    int p = order[order_i];
    uint8_t ok = gs_mig_free_starts(m, parts, n, p);
    for (int s = 0; s < m->mem_slices; s++) {
        if (!(ok & (1u << s))) continue;
        /* identical new instances: only place them in increasing start order (instances that
         * were already there, before n0, are not part of this symmetry) */
        if (n > n0 && parts[n - 1].profile == p && parts[n - 1].start > s) continue;
        parts[n].profile = (int8_t)p;
        parts[n].start = (uint8_t)s;
        parts[n].used = false;
        rem[p]--;
        bool r = fit_rec(m, parts, n0, n + 1, rem, order_i, order, out);
        rem[p]++;
        if (r) return true;
    }
    return false;
}

bool gs_mig_fit(const gs_gpu_model *m, const gs_partition *parts, int n,
                const gs_mig_counts *counts, gs_mig_layout *out) {
    if (!gs_gpu_has_mig(m)) return false;
    int rem[GS_MIG_MAX_PROFILES] = {0}, total = n;
    for (int p = 0; p < m->nprofiles; p++) {
        rem[p] = counts->c[p];
        total += rem[p];
    }
    if (total > GS_GPU_MAX_PARTS) return false;
    /* quick bounds */
    int mem = 0, comp = 0;
    for (int p = 0; p < m->nprofiles; p++) {
        mem += rem[p] * m->profiles[p].size;
        comp += rem[p] * m->profiles[p].compute;
    }
    if (mem + __builtin_popcount(gs_mig_occupied(m, parts, n)) > m->mem_slices) return false;
    if (comp + compute_used(m, parts, n) > m->compute_slices) return false;
    int order[GS_MIG_MAX_PROFILES];
    for (int p = 0; p < m->nprofiles; p++) order[p] = p;
    /* larger placements first, then fewer allowed starts first */
    for (int i = 1; i < m->nprofiles; i++)
        for (int j = i; j > 0; j--) {
            const gs_mig_profile *a = &m->profiles[order[j - 1]], *b = &m->profiles[order[j]];
            bool swap = b->size > a->size ||
                        (b->size == a->size && __builtin_popcount(b->starts) < __builtin_popcount(a->starts));
            if (!swap) break;
            int t = order[j - 1];
            order[j - 1] = order[j];
            order[j] = t;
        }
    gs_partition work[GS_GPU_MAX_PARTS + 1];
    if (n > 0) memcpy(work, parts, (size_t)n * sizeof *parts);
    return fit_rec(m, work, n, n, rem, 0, order, out);
}

/* DFS over memory slices: at slice s either skip it or start an instance there. */
static void enum_rec(const gs_gpu_model *m, gs_partition *parts, int n, int s, gs_mig_layout *out,
                     int max, int *count) {
    if (s >= m->mem_slices) {
        if (gs_mig_valid(m, parts, n, NULL)) {
            if (*count < max) {
                out[*count].n = (uint8_t)n;
                memcpy(out[*count].parts, parts, (size_t)n * sizeof *parts);
            }
            (*count)++;
        }
        return;
    }
    enum_rec(m, parts, n, s + 1, out, max, count);
    if (n >= GS_GPU_MAX_PARTS) return;
    for (int p = 0; p < m->nprofiles; p++) {
        const gs_mig_profile *pr = &m->profiles[p];
        if (!(pr->starts & (1u << s)) || s + pr->size > m->mem_slices) continue;
        parts[n].profile = (int8_t)p;
        parts[n].start = (uint8_t)s;
        parts[n].used = false;
        enum_rec(m, parts, n + 1, s + pr->size, out, max, count);
    }
}

int gs_mig_enumerate(const gs_gpu_model *m, gs_mig_layout *out, int max) {
    if (!gs_gpu_has_mig(m)) return 0;
    gs_partition parts[GS_GPU_MAX_PARTS + 1];
    int count = 0;
    enum_rec(m, parts, 0, 0, out, max, &count);
    return count;
}

int gs_mig_counts_compute(const gs_gpu_model *m, const gs_mig_counts *c) {
    int t = 0;
    for (int p = 0; p < m->nprofiles; p++) t += c->c[p] * m->profiles[p].compute;
    return t;
}

int gs_mig_counts_memory(const gs_gpu_model *m, const gs_mig_counts *c) {
    int t = 0;
    for (int p = 0; p < m->nprofiles; p++) t += c->c[p] * m->profiles[p].size;
    return t;
}

static bool counts_fit(const gs_gpu_model *m, const gs_mig_counts *c) {
    return gs_mig_fit(m, NULL, 0, c, NULL);
}

static void maxc_rec(const gs_gpu_model *m, gs_mig_counts *cur, int p, gs_mig_counts *out, int max,
                     int *count) {
    if (p == m->nprofiles) {
        if (!counts_fit(m, cur)) return;
        for (int q = 0; q < m->nprofiles; q++) {
            cur->c[q]++;
            bool more = cur->c[q] <= m->profiles[q].max_count && counts_fit(m, cur);
            cur->c[q]--;
            if (more) return;
        }
        if (*count < max) out[*count] = *cur;
        (*count)++;
        return;
    }
    for (int k = 0; k <= m->profiles[p].max_count; k++) {
        cur->c[p] = (uint8_t)k;
        if (k > 0 && !counts_fit(m, cur)) break;
        maxc_rec(m, cur, p + 1, out, max, count);
    }
    cur->c[p] = 0;
}

static int cmp_counts(const gs_gpu_model *m, const gs_mig_counts *x, const gs_mig_counts *y) {
    int cx = gs_mig_counts_compute(m, x), cy = gs_mig_counts_compute(m, y);
    if (cx != cy) return cy - cx;
    /* profiles are listed small to large in the table: compare larger ones first */
    for (int p = m->nprofiles - 1; p >= 0; p--)
        if (x->c[p] != y->c[p]) return (int)y->c[p] - (int)x->c[p];
    return 0;
}

int gs_mig_maximal_counts(const gs_gpu_model *m, gs_mig_counts *out, int max) {
    if (!gs_gpu_has_mig(m)) return 0;
    gs_mig_counts cur;
    memset(&cur, 0, sizeof cur);
    int count = 0;
    maxc_rec(m, &cur, 0, out, max, &count);
    int k = count < max ? count : max;
    for (int i = 1; i < k; i++) /* insertion sort: a few dozen entries, no global context */
        for (int j = i; j > 0 && cmp_counts(m, &out[j - 1], &out[j]) > 0; j--) {
            gs_mig_counts t = out[j - 1];
            out[j - 1] = out[j];
            out[j] = t;
        }
    return count;
}
