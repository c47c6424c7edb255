/* MIG geometry (src/policy/mig) against hand-checked cases and an independent brute-force
 * search written here: include/exclude over every (profile, start) placement, checking overlap
 * slice by slice with plain arrays (no bitmasks, no shared code with the library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/gpu.h"
#include "policy/mig.h"

typedef struct { int profile, start; } place;
typedef struct { int n; place p[8]; } blayout;

static const gs_gpu_model *model(const char *n) {
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find(n));
    assert_non_null(m);
    return m;
}

/* ---- brute force ---- */
static int cands(const gs_gpu_model *m, place *out) {
    int n = 0;
    for (int p = 0; p < m->nprofiles; p++)
        for (int s = 0; s < m->mem_slices; s++)
            if ((m->profiles[p].starts >> s) & 1) out[n++] = (place){p, s};
    return n;
}

static int brute_ok(const gs_gpu_model *m, const blayout *l) {
    int slice[16] = {0}, count[16] = {0}, compute = 0;
    for (int i = 0; i < l->n; i++) {
        const gs_mig_profile *pr = &m->profiles[l->p[i].profile];
        for (int k = 0; k < pr->size; k++) {
            int s = l->p[i].start + k;
            if (s >= m->mem_slices) return 0;
            if (slice[s]++) return 0;
        }
        if (++count[l->p[i].profile] > pr->max_count) return 0;
        compute += pr->compute;
    }
    return compute <= m->compute_slices;
}

static void brute_rec(const gs_gpu_model *m, const place *c, int nc, int i, blayout *cur,
                      blayout *out, int *n, int max) {
    if (!brute_ok(m, cur)) return;
    if (i == nc) {
        assert_true(*n < max);
        out[(*n)++] = *cur;
        return;
    }
    brute_rec(m, c, nc, i + 1, cur, out, n, max);
    if (cur->n < 8) {
        cur->p[cur->n++] = c[i];
        brute_rec(m, c, nc, i + 1, cur, out, n, max);
        cur->n--;
    }
}

static blayout *brute_all(const gs_gpu_model *m, int *n) {
    place c[64];
    int nc = cands(m, c);
    int max = 20000;
    blayout *out = calloc((size_t)max, sizeof *out);
    blayout cur = {0};
    *n = 0;
    brute_rec(m, c, nc, 0, &cur, out, n, max);
    return out;
}

static void counts_of(const gs_gpu_model *m, const blayout *l, int *cnt) {
    memset(cnt, 0, sizeof(int) * (size_t)m->nprofiles);
    for (int i = 0; i < l->n; i++) cnt[l->p[i].profile]++;
}

/* Is there a brute-force layout containing every placement of `fixed` and exactly `add`
 * more instances per profile? */
static int brute_fit(const gs_gpu_model *m, const blayout *all, int nall, const blayout *fixed,
                     const int *add) {
    int want[8];
    counts_of(m, fixed, want);
    for (int p = 0; p < m->nprofiles; p++) want[p] += add[p];
    for (int i = 0; i < nall; i++) {
        int cnt[8];
        counts_of(m, &all[i], cnt);
        if (memcmp(cnt, want, sizeof(int) * (size_t)m->nprofiles) != 0) continue;
        int has = 1;
        for (int f = 0; f < fixed->n && has; f++) {
            int found = 0;
            for (int k = 0; k < all[i].n; k++)
                found |= all[i].p[k].profile == fixed->p[f].profile && all[i].p[k].start == fixed->p[f].start;
            has = found;
        }
        if (has) return 1;
    }
    return 0;
}

/* ---- tests ---- */

static void check_enumeration(const char *name, int expect_nonzero) {
    const gs_gpu_model *m = model(name);
    int nb;
    blayout *all = brute_all(m, &nb);
    int ne = gs_mig_enumerate(m, NULL, 0);
    assert_int_equal(ne, nb);
    assert_true(!expect_nonzero || ne > 1);
    gs_mig_layout *mine = calloc((size_t)ne, sizeof *mine);
    assert_int_equal(gs_mig_enumerate(m, mine, ne), ne);
    for (int i = 0; i < ne; i++) {
        blayout b = {0};
        for (int k = 0; k < mine[i].n; k++) b.p[b.n++] = (place){mine[i].parts[k].profile, mine[i].parts[k].start};
        assert_true(brute_ok(m, &b));
        assert_true(gs_mig_valid(m, mine[i].parts, mine[i].n, NULL));
    }
    /* maximal count vectors: feasible, and no single added instance stays feasible */
    gs_mig_counts mx[512];
    int nm = gs_mig_maximal_counts(m, mx, 512);
    assert_true(nm > 0 && nm < 512);
    int none[8] = {0};
    int bm = 0;
    /* brute-force maximal vectors: distinct count vectors of all layouts, then filter */
    for (int i = 0; i < nb; i++) {
        int cnt[8];
        counts_of(m, &all[i], cnt);
        int dup = 0;
        for (int j = 0; j < i && !dup; j++) {
            int c2[8];
            counts_of(m, &all[j], c2);
            dup = memcmp(cnt, c2, sizeof(int) * (size_t)m->nprofiles) == 0;
        }
        if (dup) continue;
        int maximal = 1;
        for (int p = 0; p < m->nprofiles && maximal; p++) {
            cnt[p]++;
            for (int j = 0; j < nb && maximal; j++) {
                int c2[8];
                counts_of(m, &all[j], c2);
                if (memcmp(cnt, c2, sizeof(int) * (size_t)m->nprofiles) == 0) maximal = 0;
            }
            cnt[p]--;
        }
        if (!maximal) continue;
        bm++;
        int found = 0;
        for (int k = 0; k < nm && !found; k++) {
            int same = 1;
            for (int p = 0; p < m->nprofiles; p++) same &= mx[k].c[p] == cnt[p];
            found = same;
        }
        assert_true(found);
    }
    assert_int_equal(bm, nm);
    (void)none;
    free(mine);
    free(all);
}

static void test_enumeration_matches_brute_force(void **st) {
    (void)st;
    check_enumeration("h100-80gb", 1);
    check_enumeration("a100-40gb", 1);
    check_enumeration("h200-141gb", 1);
    check_enumeration("a30-24gb", 1);
    assert_int_equal(gs_mig_enumerate(model("t4"), NULL, 0), 0);
}

static gs_partition P(const gs_gpu_model *m, const char *prof, int start) {
    gs_partition p = {(int8_t)gs_mig_profile_find(m, prof), (uint8_t)start, false};
    assert_true(p.profile >= 0);
    return p;
}

static void test_rules(void **st) {
    (void)st;
    const gs_gpu_model *m = model("h100-80gb");
    const char *why;
    gs_partition l[8];
    /* 4g + 4g is impossible (4g only at 0) */
    l[0] = P(m, "4g.40gb", 0);
    assert_int_equal(gs_mig_free_starts(m, l, 1, gs_mig_profile_find(m, "4g.40gb")), 0);
    l[1] = P(m, "4g.40gb", 4);
    assert_false(gs_mig_valid(m, l, 2, &why));
    /* 4g + 3g is fine: 3g at 4 */
    l[1] = P(m, "3g.40gb", 4);
    assert_true(gs_mig_valid(m, l, 2, &why));
    /* 3g only at 0 or 4 */
    l[0] = P(m, "3g.40gb", 2);
    assert_false(gs_mig_valid(m, l, 1, &why));
    assert_string_equal(why, "start not allowed for profile");
    assert_int_equal(gs_mig_free_starts(m, NULL, 0, gs_mig_profile_find(m, "3g.40gb")), 0x11);
    /* seven 1g leave memory slice 7 unused; an 8th is impossible */
    for (int i = 0; i < 7; i++) l[i] = P(m, "1g.10gb", i);
    assert_true(gs_mig_valid(m, l, 7, &why));
    assert_int_equal(gs_mig_occupied(m, l, 7), 0x7f);
    assert_int_equal(gs_mig_free_starts(m, l, 7, gs_mig_profile_find(m, "1g.10gb")), 0);
    /* +me at most once */
    l[0] = P(m, "1g.10gb+me", 0);
    l[1] = P(m, "1g.10gb+me", 1);
    assert_false(gs_mig_valid(m, l, 2, &why));
    /* overlap */
    l[0] = P(m, "2g.20gb", 0);
    l[1] = P(m, "1g.10gb", 1);
    assert_false(gs_mig_valid(m, l, 2, &why));
    assert_string_equal(why, "instances overlap");
    /* on a GPU holding a 1g at 0, a 3g can go only at 4; a 2g at 2 or 4 */
    l[0] = P(m, "1g.10gb", 0);
    assert_int_equal(gs_mig_free_starts(m, l, 1, gs_mig_profile_find(m, "3g.40gb")), 0x10);
    assert_int_equal(gs_mig_free_starts(m, l, 1, gs_mig_profile_find(m, "2g.20gb")), 0x14);
    /* best start keeps the most room: a 1g on an empty GPU goes where it breaks least */
    int bs = gs_mig_best_start(m, NULL, 0, gs_mig_profile_find(m, "1g.10gb"));
    assert_true(bs >= 0);
    gs_partition one = P(m, "1g.10gb", bs);
    /* after it, 3g and 4g+... must still be placeable: a 3g must fit */
    assert_true(gs_mig_free_starts(m, &one, 1, gs_mig_profile_find(m, "3g.40gb")) != 0);
    /* 1g at 6 keeps 4g at 0 and 2g at 4 possible */
    assert_int_equal(bs, 6);
    /* A30: 4 slices; 2g at 0 or 2; 4g only alone */
    const gs_gpu_model *a30 = model("a30-24gb");
    gs_partition a[2] = {P(a30, "2g.12gb", 0), P(a30, "2g.12gb", 2)};
    assert_true(gs_mig_valid(a30, a, 2, &why));
    a[1] = P(a30, "4g.24gb", 0);
    assert_false(gs_mig_valid(a30, a, 2, &why));
}

static void test_fit(void **st) {
    (void)st;
    const gs_gpu_model *m = model("h100-80gb");
    gs_mig_counts c;
    memset(&c, 0, sizeof c);
    gs_mig_layout out;
    c.c[gs_mig_profile_find(m, "3g.40gb")] = 1;
    c.c[gs_mig_profile_find(m, "1g.10gb")] = 4;
    assert_true(gs_mig_fit(m, NULL, 0, &c, &out));
    assert_int_equal(out.n, 5);
    assert_true(gs_mig_valid(m, out.parts, out.n, NULL));
    c.c[gs_mig_profile_find(m, "1g.10gb")] = 5; /* 3 + 5 compute > 7 */
    assert_false(gs_mig_fit(m, NULL, 0, &c, NULL));
    /* existing parts are kept in place, first */
    gs_partition ex = P(m, "2g.20gb", 2);
    memset(&c, 0, sizeof c);
    c.c[gs_mig_profile_find(m, "3g.40gb")] = 1;
    assert_true(gs_mig_fit(m, &ex, 1, &c, &out));
    assert_int_equal(out.parts[0].start, 2);
    assert_int_equal(out.parts[1].start, 4);
    c.c[gs_mig_profile_find(m, "3g.40gb")] = 2; /* 2g at 2 blocks the 3g at 0 */
    assert_false(gs_mig_fit(m, &ex, 1, &c, NULL));
}

/* Randomized: partial layouts + random additions, gs_mig_fit vs brute force. */
static void test_fit_randomized(void **st) {
    (void)st;
    const char *models[] = {"h100-80gb", "a30-24gb"};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t mi = 0; mi < 2; mi++) {
        const gs_gpu_model *m = model(models[mi]);
        int nb;
        blayout *all = brute_all(m, &nb);
        for (int trial = 0; trial < 3000; trial++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            const blayout *base = &all[x % (uint64_t)nb];
            /* keep a random subset of it as the existing layout */
            blayout fixed = {0};
            for (int k = 0; k < base->n; k++)
                if ((x >> (k + 20)) & 1) fixed.p[fixed.n++] = base->p[k];
            int add[8] = {0};
            gs_mig_counts c;
            memset(&c, 0, sizeof c);
            int adds = (int)((x >> 40) % 4);
            for (int k = 0; k < adds; k++) {
                int p = (int)((x >> (44 + 3 * k)) % (uint64_t)m->nprofiles);
                add[p]++;
                c.c[p]++;
            }
            gs_partition parts[8];
            for (int k = 0; k < fixed.n; k++) parts[k] = (gs_partition){(int8_t)fixed.p[k].profile, (uint8_t)fixed.p[k].start, false};
            gs_mig_layout out;
            int mine = gs_mig_fit(m, parts, fixed.n, &c, &out);
            int want = brute_fit(m, all, nb, &fixed, add);
            assert_int_equal(mine, want);
            if (mine) assert_true(gs_mig_valid(m, out.parts, out.n, NULL));
        }
        free(all);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration_matches_brute_force),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_fit_randomized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
