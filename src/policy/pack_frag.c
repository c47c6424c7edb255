#include "policy/pack_frag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- memo of F by node state */

#define MEMO_BITS 18
#define MEMO_SIZE (1u << MEMO_BITS)

typedef struct memo_key {
    int16_t cpu_level;                 /* how many task-type CPU requests the free CPU covers */
    int16_t mem_level;                 /* ... and memory requests the free memory covers */
    uint8_t ngpus;
    int16_t gpu[GS_NODE_MAX_GPUS];     /* sorted ascending, unused slots 0 */
} memo_key;

typedef struct memo_ent {
    uint64_t hash;                     /* 0 = empty */
    memo_key key;
    int64_t F;
} memo_ent;

typedef struct dc_key {
    uint64_t hash;                     /* 0 = empty */
    int32_t cpu;
    int64_t mem;
    uint8_t ngpus;
    int16_t gpu[GS_NODE_MAX_GPUS];     /* sorted */
} dc_key;

#define CAND_MAX 64                    /* most candidates the lookahead re-scores */
#define DC_BITS 14
#define DC_SIZE (1u << DC_BITS)
#define LA_INF (INT64_MAX / 4)

struct gs_frag_memo {
    memo_ent *e;
    uint32_t used;
    int32_t *cpus;                     /* distinct task-type CPU requests, ascending */
    int32_t ncpus;
    int64_t *mems;                     /* distinct task-type memory requests, ascending */
    int32_t nmems;
    /* lookahead (opts.lookahead): per type a min-tree over the nodes of the type's best F growth */
    int32_t la_size;                   /* leaves, a power of 2 >= n */
    int64_t *la_tree;                  /* ntypes x 2 la_size */
    int64_t *dc;                       /* cache of F-growth vectors by exact node state */
    dc_key *dk;
    bool la_by_count;                  /* the next arrival's odds: count (else weight) */
    int64_t la_psum;                   /* the sum of those */
};

uint64_t gs_frag_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int la_init(gs_frag_state *st);

int gs_frag_init(gs_frag_state *st, gs_frag_node *nodes, int32_t n, const gs_frag_type *types,
                 int32_t ntypes) {
    return gs_frag_init_opts(st, nodes, n, types, ntypes, NULL);
}

int gs_frag_init_opts(gs_frag_state *st, gs_frag_node *nodes, int32_t n, const gs_frag_type *types,
                      int32_t ntypes, const gs_frag_opts *opts) {
    memset(st, 0, sizeof *st);
    if (opts) st->opts = *opts;
    /* the lookahead's effective settings: 1 candidate = off */
    if (st->opts.lookahead < 1 || st->opts.paper) st->opts.lookahead = 1;
    if (st->opts.lookahead > CAND_MAX) st->opts.lookahead = CAND_MAX;
    if (st->opts.lookahead_pct <= 0) st->opts.lookahead_pct = GS_FRAG_LA_PCT;
    for (int32_t i = 0; i < ntypes; i++) st->wsum += types[i].weight;
    st->nodes = nodes;
    st->n = n;
    st->types = types;
    st->ntypes = ntypes;
    st->F = calloc((size_t)(n > 0 ? n : 1), sizeof *st->F);
    st->memo = calloc(1, sizeof *st->memo);
    if (!st->F || !st->memo) { gs_frag_free(st); return GS_ENOMEM; }
    st->memo->e = calloc(MEMO_SIZE, sizeof *st->memo->e);
    st->memo->cpus = malloc((size_t)(ntypes > 0 ? ntypes : 1) * sizeof *st->memo->cpus);
    st->memo->mems = malloc((size_t)(ntypes > 0 ? ntypes : 1) * sizeof *st->memo->mems);
    if (!st->memo->e || !st->memo->cpus || !st->memo->mems) { gs_frag_free(st); return GS_ENOMEM; }
    for (int32_t i = 0; i < ntypes; i++) st->memo->cpus[i] = types[i].t.cpu;
    qsort(st->memo->cpus, (size_t)ntypes, sizeof *st->memo->cpus, cmp_i32);
    int32_t k = 0;
    for (int32_t i = 0; i < ntypes; i++)
        if (k == 0 || st->memo->cpus[k - 1] != st->memo->cpus[i]) st->memo->cpus[k++] = st->memo->cpus[i];
    st->memo->ncpus = k;
    for (int32_t i = 0; i < ntypes; i++) st->memo->mems[i] = types[i].t.mem;
    qsort(st->memo->mems, (size_t)ntypes, sizeof *st->memo->mems, cmp_i64);
    k = 0;
    for (int32_t i = 0; i < ntypes; i++)
        if (k == 0 || st->memo->mems[k - 1] != st->memo->mems[i]) st->memo->mems[k++] = st->memo->mems[i];
    st->memo->nmems = k;
    for (int32_t i = 0; i < n; i++) st->F[i] = gs_frag_node_frag(st, &nodes[i]);
    if (st->opts.lookahead > 1 && la_init(st)) { gs_frag_free(st); return GS_ENOMEM; }
    return 0;
}

void gs_frag_free(gs_frag_state *st) {
    if (st->memo) {
        free(st->memo->e);
        free(st->memo->cpus);
        free(st->memo->mems);
        free(st->memo->la_tree);
        free(st->memo->dc);
        free(st->memo->dk);
        free(st->memo);
    }
    free(st->F);
    memset(st, 0, sizeof *st);
}

bool gs_frag_fits(const gs_frag_node *n, const gs_frag_task *t) {
    if (n->cpu_free < t->cpu || n->mem_free < t->mem) return false;
    if (t->ngpus <= 0) return true;
    if (t->ngpus == 1 && t->milli < 1000) {
        for (int g = 0; g < n->ngpus; g++)
            if (n->gpu_free[g] >= t->milli) return true;
        return false;
    }
    int idle = 0;
    for (int g = 0; g < n->ngpus; g++) idle += n->gpu_free[g] >= 1000;
    return idle >= t->ngpus;
}

/* F from the state, GPU part only (CPU decides which types fit). */
static int64_t frag_raw(const gs_frag_type *types, int32_t ntypes, bool paper, int32_t cpu_free,
                        int64_t mem_free, const int16_t *gpu, int ngpus) {
    int64_t total = 0;
    int idle = 0, maxfree = 0;
    for (int g = 0; g < ngpus; g++) {
        total += gpu[g];
        idle += gpu[g] >= 1000;
        if (gpu[g] > maxfree) maxfree = gpu[g];
    }
    if (total == 0) return 0;
    int64_t F = 0;
    for (int32_t i = 0; i < ntypes; i++) {
        const gs_frag_task *m = &types[i].t;
        /* a CPU-only type fits where its CPU does; when it does not, the node's CPU is what
         * strands its free GPUs, so they count as fragments too */
        bool fit = cpu_free >= m->cpu && mem_free >= m->mem &&
                   (m->ngpus <= 0 || (m->ngpus == 1 && m->milli < 1000 ? maxfree >= m->milli : idle >= m->ngpus));
        int64_t frag = 0;
        if (!fit || (paper && m->ngpus <= 0)) frag = total; /* the artifact: XL and XR both count */
        else
            for (int g = 0; g < ngpus && m->ngpus > 0; g++)
                if (gpu[g] < m->milli) frag += gpu[g];
        F += types[i].weight * frag;
    }
    return F;
}

/* Ascending, in place (at most GS_NODE_MAX_GPUS values: insertion sort beats qsort here). */
static void sort_i16(int16_t *v, int n) {
    for (int i = 1; i < n; i++) {
        int16_t x = v[i];
        int j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static int64_t frag_memo(const gs_frag_state *st, int32_t cpu_free, int64_t mem_free, const int16_t *gpu,
                         int ngpus) {
    gs_frag_memo *mo = st->memo;
    memo_key k;
    memset(&k, 0, sizeof k);
    /* CPU level: number of distinct type CPU requests <= cpu_free */
    int32_t lo = 0, hi = mo->ncpus;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (mo->cpus[mid] <= cpu_free) lo = mid + 1; else hi = mid;
    }
    k.cpu_level = (int16_t)lo;
    lo = 0;
    hi = mo->nmems;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (mo->mems[mid] <= mem_free) lo = mid + 1; else hi = mid;
    }
    k.mem_level = (int16_t)lo;
    k.ngpus = (uint8_t)ngpus;
    memcpy(k.gpu, gpu, (size_t)ngpus * sizeof *gpu);
    sort_i16(k.gpu, ngpus);
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)&k;
    for (size_t i = 0; i < sizeof k; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    if (h == 0) h = 1;
    uint32_t i = (uint32_t)h & (MEMO_SIZE - 1);
    for (;;) {
        memo_ent *e = &mo->e[i];
        if (e->hash == 0) break;
        if (e->hash == h && memcmp(&e->key, &k, sizeof k) == 0) return e->F;
        i = (i + 1) & (MEMO_SIZE - 1);
    }
    /* every CPU in one level gives the same fit answers, hence the same F */
    int64_t F = frag_raw(st->types, st->ntypes, st->opts.paper, cpu_free, mem_free, gpu, ngpus);
    if (mo->used * 10u > MEMO_SIZE * 7u) { /* too full: start over */
        memset(mo->e, 0, MEMO_SIZE * sizeof *mo->e);
        mo->used = 0;
        i = (uint32_t)h & (MEMO_SIZE - 1);
    }
    memo_ent *e = &mo->e[i];
    e->hash = h;
    e->key = k;
    e->F = F;
    mo->used++;
    return F;
}

int64_t gs_frag_node_frag(const gs_frag_state *st, const gs_frag_node *n) {
    return frag_memo(st, n->cpu_free, n->mem_free, n->gpu_free, n->ngpus);
}

static int64_t gpu_total(const gs_frag_node *n) {
    int64_t t = 0;
    for (int g = 0; g < n->ngpus; g++) t += n->gpu_free[g];
    return t;
}

static void apply(gs_frag_node *n, const gs_frag_task *t, int gpu) {
    n->cpu_free -= t->cpu;
    n->mem_free -= t->mem;
    if (t->ngpus <= 0) return;
    if (t->ngpus == 1 && t->milli < 1000) {
        if (gpu >= 0 && gpu < n->ngpus) n->gpu_free[gpu] = (int16_t)(n->gpu_free[gpu] - t->milli);
        return;
    }
    int need = t->ngpus;
    for (int g = 0; g < n->ngpus && need > 0; g++)
        if (n->gpu_free[g] >= 1000) {
            n->gpu_free[g] = 0;
            need--;
        }
}


/* ---------------------------------------------------------------- one-step lookahead
 * For a node state, the vector over task types of the least F growth a pod of that type makes
 * there (LA_INF when it does not fit); per type, a min-tree of those values over the nodes
 * gives the next arrival's best placement with or without a given node. */

static void dvec_raw(const gs_frag_state *st, int32_t cpu, int64_t mem, const int16_t *gpu, int ngpus, int64_t *out) {
    int64_t F0 = frag_memo(st, cpu, mem, gpu, ngpus);
    gs_frag_node nd;
    memset(&nd, 0, sizeof nd);
    nd.cpu_free = cpu;
    nd.mem_free = mem;
    nd.ngpus = (uint8_t)ngpus;
    memcpy(nd.gpu_free, gpu, (size_t)ngpus * sizeof *gpu);
    for (int32_t m = 0; m < st->ntypes; m++) {
        const gs_frag_task *t = &st->types[m].t;
        int64_t best = LA_INF;
        if (gs_frag_fits(&nd, t)) {
            if (t->ngpus == 1 && t->milli < 1000) {
                for (int g = 0; g < ngpus; g++) {
                    if (gpu[g] < t->milli) continue;
                    bool dup = false;
                    for (int h = 0; h < g && !dup; h++) dup = gpu[h] == gpu[g];
                    if (dup) continue;
                    int16_t after[GS_NODE_MAX_GPUS];
                    memcpy(after, gpu, sizeof after);
                    after[g] = (int16_t)(after[g] - t->milli);
                    int64_t d = frag_memo(st, cpu - t->cpu, mem - t->mem, after, ngpus) - F0;
                    if (d < best) best = d;
                }
            } else {
                gs_frag_node tmp = nd;
                apply(&tmp, t, -1);
                best = frag_memo(st, tmp.cpu_free, tmp.mem_free, tmp.gpu_free, ngpus) - F0;
            }
        }
        out[m] = best;
    }
}

/* The vector for a state, through a direct-mapped cache keyed by the exact state. */
static const int64_t *dvec(const gs_frag_state *st, int32_t cpu, int64_t mem, const int16_t *gpu, int ngpus) {
    gs_frag_memo *mo = st->memo;
    dc_key k;
    memset(&k, 0, sizeof k);
    k.cpu = cpu;
    k.mem = mem;
    k.ngpus = (uint8_t)ngpus;
    memcpy(k.gpu, gpu, (size_t)ngpus * sizeof *gpu);
    sort_i16(k.gpu, ngpus);
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)&k + sizeof k.hash;
    for (size_t i = 0; i < sizeof k - sizeof k.hash; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    if (h == 0) h = 1;
    k.hash = h;
    uint32_t slot = (uint32_t)(h >> 7) & (DC_SIZE - 1);
    int64_t *v = &mo->dc[(size_t)slot * (size_t)st->ntypes];
    if (memcmp(&mo->dk[slot], &k, sizeof k) != 0) {
        dvec_raw(st, cpu, mem, k.gpu, ngpus, v);
        mo->dk[slot] = k;
    }
    return v;
}

static void la_set(gs_frag_state *st, int32_t i) {
    gs_frag_memo *mo = st->memo;
    const gs_frag_node *n = &st->nodes[i];
    const int64_t *v = dvec(st, n->cpu_free, n->mem_free, n->gpu_free, n->ngpus);
    int32_t S = mo->la_size;
    for (int32_t m = 0; m < st->ntypes; m++) {
        int64_t *tr = &mo->la_tree[(size_t)m * 2 * (size_t)S];
        int32_t p = S + i;
        tr[p] = v[m];
        for (p /= 2; p >= 1; p /= 2) tr[p] = tr[2 * p] < tr[2 * p + 1] ? tr[2 * p] : tr[2 * p + 1];
    }
}

/* Least value of type m's tree over all nodes but i. */
static int64_t la_min_without(const gs_frag_state *st, int32_t m, int32_t i) {
    int32_t S = st->memo->la_size;
    const int64_t *tr = &st->memo->la_tree[(size_t)m * 2 * (size_t)S];
    int64_t best = LA_INF;
    /* walk up from leaf i: each sibling covers a range without i */
    for (int32_t p = S + i; p > 1; p /= 2) {
        int64_t sib = tr[p ^ 1];
        if (sib < best) best = sib;
    }
    return best;
}

static int la_init(gs_frag_state *st) {
    gs_frag_memo *mo = st->memo;
    int32_t S = 1;
    while (S < st->n) S *= 2;
    mo->la_size = S;
    mo->la_tree = malloc((size_t)(st->ntypes > 0 ? st->ntypes : 1) * 2 * (size_t)S * sizeof *mo->la_tree);
    mo->dc = malloc((size_t)DC_SIZE * (size_t)(st->ntypes > 0 ? st->ntypes : 1) * sizeof *mo->dc);
    mo->dk = calloc(DC_SIZE, sizeof *mo->dk);
    if (!mo->la_tree || !mo->dc || !mo->dk) return GS_ENOMEM;
    for (size_t k = 0; k < (size_t)st->ntypes * 2 * (size_t)S; k++) mo->la_tree[k] = LA_INF;
    for (int32_t i = 0; i < st->n; i++) la_set(st, i);
    mo->la_by_count = st->ntypes > 0;
    for (int32_t m = 0; m < st->ntypes; m++) mo->la_by_count = mo->la_by_count && st->types[m].count > 0;
    for (int32_t m = 0; m < st->ntypes; m++) mo->la_psum += mo->la_by_count ? st->types[m].count : st->types[m].weight;
    return 0;
}

/* The lookahead term of moving node i to the given state: sum over types m of p_m x (the next
 * m pod's least F growth afterwards - now) / sum of p, a pod that fits nowhere counting its
 * GPU request x wsum (the allocation lost); p is the types' count or else their weight. */
static double la_term(const gs_frag_state *st, int32_t i, int32_t cpu, int64_t mem, const int16_t *gpu, int ngpus) {
    const int64_t *v = dvec(st, cpu, mem, gpu, ngpus);
    int32_t S = st->memo->la_size;
    double sum = 0;
    for (int32_t m = 0; m < st->ntypes; m++) {
        const gs_frag_task *t = &st->types[m].t;
        int64_t now = st->memo->la_tree[(size_t)m * 2 * (size_t)S + 1];
        int64_t w = la_min_without(st, m, i);
        int64_t after = v[m] < w ? v[m] : w;
        if (after == now) continue;
        double pen = (double)(t->ngpus > 0 ? (int64_t)t->ngpus * t->milli : 0) * (double)st->wsum;
        double a = after >= LA_INF ? pen : (double)after, b = now >= LA_INF ? pen : (double)now;
        sum += (double)(st->memo->la_by_count ? st->types[m].count : st->types[m].weight) * (a - b);
    }
    return st->memo->la_psum > 0 ? sum / (double)st->memo->la_psum : 0;
}

/* BestFit GPU for a sharing pod: least free that fits (lowest index on ties). */
static int bestfit_gpu(const gs_frag_node *n, int32_t milli) {
    int best = -1;
    for (int g = 0; g < n->ngpus; g++)
        if (n->gpu_free[g] >= milli && (best < 0 || n->gpu_free[g] < n->gpu_free[best])) best = g;
    return best;
}

static int32_t place_bestfit(gs_frag_state *st, const gs_frag_task *t, uint64_t *rng) {
    int32_t best = -1;
    int64_t bestv = INT64_MIN, ties = 0;
    int64_t greq = t->ngpus > 0 ? (int64_t)t->ngpus * t->milli : 0;
    for (int32_t i = 0; i < st->n; i++) {
        const gs_frag_node *n = &st->nodes[i];
        if (!gs_frag_fits(n, t)) continue;
        /* 100 x (1 - 0.5 (cpu_free - cpu)/128000 - 0.5 (gpu_free - gpu)/8000), truncated */
        int64_t num = 2048000000LL * 100 - 800000LL * (n->cpu_free - t->cpu) - 12800000LL * (gpu_total(n) - greq);
        int64_t v = num >= 0 ? num / 2048000000LL : -((-num + 2047999999LL) / 2048000000LL);
        if (v > bestv) {
            bestv = v;
            best = i;
            ties = 1;
        } else if (v == bestv) {
            ties++;
            /* reservoir: uniform among ties, unless the first node in the caller's order wins */
            if (!st->opts.first_ties && gs_frag_rand(rng) % (uint64_t)ties == 0) best = i;
        }
    }
    if (best < 0) return -1;
    gs_frag_node *n = &st->nodes[best];
    int gpu = (t->ngpus == 1 && t->milli < 1000) ? bestfit_gpu(n, t->milli) : -1;
    apply(n, t, gpu);
    st->F[best] = 0; /* not used by BestFit */
    return best;
}

typedef struct cand {
    int32_t node;
    int gpu;
    int64_t d, key;
} cand;

/* Keeps the k best candidates in order (F growth, then key, then the earlier one). */
static void cand_offer(cand *c, int *nc, int k, int32_t node, int gpu, int64_t d, int64_t key) {
    int pos = *nc;
    while (pos > 0 && (d < c[pos - 1].d || (d == c[pos - 1].d && key < c[pos - 1].key))) pos--;
    if (pos >= k) return;
    int last = *nc < k ? *nc : k - 1;
    for (int j = last; j > pos; j--) c[j] = c[j - 1];
    c[pos] = (cand){node, gpu, d, key};
    if (*nc < k) (*nc)++;
}

static int32_t place_fgd(gs_frag_state *st, const gs_frag_task *t) {
    bool share = t->ngpus == 1 && t->milli < 1000;
    int k = st->opts.lookahead;
    cand c[CAND_MAX];
    int nc = 0;
    for (int32_t i = 0; i < st->n; i++) {
        const gs_frag_node *n = &st->nodes[i];
        if (!gs_frag_fits(n, t)) continue;
        int32_t cpu_after = n->cpu_free - t->cpu;
        int64_t mem_after = n->mem_free - t->mem;
        int64_t left = gpu_total(n) - (t->ngpus > 0 ? (int64_t)t->ngpus * t->milli : 0);
        if (share) {
            int16_t seen[GS_NODE_MAX_GPUS];
            int nseen = 0;
            for (int g = 0; g < n->ngpus; g++) {
                int16_t f = n->gpu_free[g];
                if (f < t->milli) continue;
                bool dup = false;
                for (int j = 0; j < nseen && !dup; j++) dup = seen[j] == f;
                if (dup) continue;
                seen[nseen++] = f;
                int16_t after[GS_NODE_MAX_GPUS];
                memcpy(after, n->gpu_free, sizeof after);
                after[g] = (int16_t)(after[g] - t->milli);
                int64_t d = frag_memo(st, cpu_after, mem_after, after, n->ngpus) - st->F[i];
                /* ties: the GPU left with the least free share, then the node left fullest, then
                 * the first node in the caller's order */
                cand_offer(c, &nc, k, i, g, d, (int64_t)after[g] * 100000 + left);
            }
        } else {
            gs_frag_node tmp = *n;
            apply(&tmp, t, -1);
            int64_t d = frag_memo(st, cpu_after, mem_after, tmp.gpu_free, n->ngpus) - st->F[i];
            cand_offer(c, &nc, k, i, -1, d, left);
        }
    }
    if (nc == 0) return -1;
    int pick = 0;
    if (k > 1 && nc > 1) {
        double bestv = 0;
        for (int j = 0; j < nc; j++) {
            gs_frag_node tmp = st->nodes[c[j].node];
            apply(&tmp, t, c[j].gpu);
            double v = (double)c[j].d + (double)st->opts.lookahead_pct / 100.0 *
                                            la_term(st, c[j].node, tmp.cpu_free, tmp.mem_free, tmp.gpu_free, tmp.ngpus);
            if (j == 0 || v < bestv) {
                bestv = v;
                pick = j;
            }
        }
    }
    int32_t best = c[pick].node;
    gs_frag_node *n = &st->nodes[best];
    apply(n, t, c[pick].gpu);
    st->F[best] = gs_frag_node_frag(st, n);
    if (k > 1) la_set(st, best);
    return best;
}

/* The artifact's integer score of a move from F0 to F1. */
static int64_t paper_score(const gs_frag_state *st, int64_t F0, int64_t F1) {
    double x = (double)(F0 - F1) / (double)(st->wsum > 0 ? st->wsum : 1) / 1000.0;
    return (int64_t)(100.0 / (1.0 + exp(-x))); /* Go's int64(): truncation */
}

static int32_t place_paper(gs_frag_state *st, const gs_frag_task *t, uint64_t *rng) {
    int32_t best = -1;
    int bestgpu = -1;
    int64_t bestv = INT64_MIN, ties = 0;
    bool share = t->ngpus == 1 && t->milli < 1000;
    for (int32_t i = 0; i < st->n; i++) {
        const gs_frag_node *n = &st->nodes[i];
        if (!gs_frag_fits(n, t)) continue;
        int32_t cpu_after = n->cpu_free - t->cpu;
        int64_t mem_after = n->mem_free - t->mem;
        int64_t v = INT64_MIN;
        int g_here = -1;
        if (share) {
            for (int g = 0; g < n->ngpus; g++) {
                if (n->gpu_free[g] < t->milli) continue;
                /* a GPU with the same free share as an earlier one scores the same (F does not
                 * depend on the GPUs' order) and the first one wins: skip it */
                bool dup = false;
                for (int h = 0; h < g && !dup; h++) dup = n->gpu_free[h] == n->gpu_free[g];
                if (dup) continue;
                int16_t after[GS_NODE_MAX_GPUS];
                memcpy(after, n->gpu_free, sizeof after);
                after[g] = (int16_t)(after[g] - t->milli);
                int64_t s = paper_score(st, st->F[i], frag_memo(st, cpu_after, mem_after, after, n->ngpus));
                if (g_here < 0 || s > v) { /* the first GPU with the highest score */
                    v = s;
                    g_here = g;
                }
            }
        } else {
            gs_frag_node tmp = *n;
            apply(&tmp, t, -1);
            v = paper_score(st, st->F[i], frag_memo(st, cpu_after, mem_after, tmp.gpu_free, n->ngpus));
        }
        if (v > bestv) {
            bestv = v;
            best = i;
            bestgpu = g_here;
            ties = 1;
        } else if (v == bestv) {
            ties++;
            if (!st->opts.first_ties && gs_frag_rand(rng) % (uint64_t)ties == 0) {
                best = i;
                bestgpu = g_here;
            }
        }
    }
    if (best < 0) return -1;
    gs_frag_node *n = &st->nodes[best];
    apply(n, t, bestgpu);
    st->F[best] = gs_frag_node_frag(st, n);
    return best;
}

int32_t gs_frag_place(gs_frag_state *st, gs_frag_policy pol, const gs_frag_task *t, uint64_t *rng) {
    if (pol == GS_FRAG_BESTFIT) return place_bestfit(st, t, rng);
    if (pol == GS_FRAG_FGD_PAPER) return place_paper(st, t, rng);
    return place_fgd(st, t);
}
