#include "model/gpu.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* starts bitmasks */
#define S0_6 0x7f   /* 0,1,2,3,4,5,6 */
#define S_EVEN 0x55 /* 0,2,4,6 */
#define S_024 0x15  /* 0,2,4 */
#define S_04 0x11   /* 0,4 */
#define S_0 0x01
#define S0_3 0x0f
#define S_02 0x05

/* Estimated per-profile memory for GPUs whose driver table was not read off hardware:
 * 97.5% of the GPU's memory share (H100-80GB measured: 1g 9984 of 81559/8 = 10195 -> 97.9%). */
#define EST(total, slices, of) ((int32_t)((int64_t)(total) * (slices) * 975 / ((of) * 1000)))

/* Same geometry and ids on A100-40GB, A100-80GB, H100-80GB, H100-94GB NVL and H200-141GB. */
#define MIG7(n1, n1me, n1d, n2, n3, n4, n7, m1, m1d, m3, m7, s1, s1d, s2, s3, s4, s7)           \
    {{19, n1, 1, 1, 7, S0_6, false, m1, s1},                                                   \
     {20, n1me, 1, 1, 1, S0_6, true, m1, s1},                                                  \
     {15, n1d, 1, 2, 4, S_EVEN, false, m1d, s1d},                                              \
     {14, n2, 2, 2, 3, S_024, false, m1d, s2},                                                 \
     {9, n3, 3, 4, 2, S_04, false, m3, s3},                                                    \
     {5, n4, 4, 4, 1, S_0, false, m3, s4},                                                     \
     {0, n7, 7, 8, 1, S_0, false, m7, s7}}

static const gs_gpu_model MODELS[] = {
    {"a100-40gb", "NVIDIA-A100-SXM4-40GB", "a100", 40960, 312, 8, 7, false, 7,
     MIG7("1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb",
          EST(40960, 1, 8), EST(40960, 2, 8), EST(40960, 4, 8), EST(40960, 8, 8),
          14, 14, 28, 42, 56, 98)},
    {"a100-80gb", "NVIDIA-A100-SXM4-80GB", "a100", 81920, 312, 8, 7, false, 7,
     MIG7("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
          EST(81920, 1, 8), EST(81920, 2, 8), EST(81920, 4, 8), EST(81920, 8, 8),
          14, 14, 28, 42, 56, 98)},
    /* Measured: nvidia-smi mig -lgip on H100 80GB HBM3, driver 580.159.04. */
    {"h100-80gb", "NVIDIA-H100-80GB-HBM3", "h100", 81559, 989, 8, 7, true, 7,
     MIG7("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
          9984, 20096, 40448, 81152, 16, 26, 32, 60, 64, 132)},
    {"h100-94gb-nvl", "NVIDIA-H100-NVL", "h100nvl", 95830, 835, 8, 7, false, 7,
     MIG7("1g.12gb", "1g.12gb+me", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb",
          EST(95830, 1, 8), EST(95830, 2, 8), EST(95830, 4, 8), EST(95830, 8, 8),
          0, 0, 0, 0, 0, 0)},
    {"h200-141gb", "NVIDIA-H200", "h200", 144384, 989, 8, 7, false, 7,
     MIG7("1g.18gb", "1g.18gb+me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb",
          EST(144384, 1, 8), EST(144384, 2, 8), EST(144384, 4, 8), EST(144384, 8, 8),
          0, 0, 0, 0, 0, 0)},
    {"a30-24gb", "NVIDIA-A30", "a30", 24576, 165, 4, 4, false, 5,
     {{14, "1g.6gb", 1, 1, 4, S0_3, false, EST(24576, 1, 4), 14},
      {21, "1g.6gb+me", 1, 1, 1, S0_3, true, EST(24576, 1, 4), 14},
      {5, "2g.12gb", 2, 2, 2, S_02, false, EST(24576, 2, 4), 28},
      {6, "2g.12gb+me", 2, 2, 1, S_02, true, EST(24576, 2, 4), 28},
      {0, "4g.24gb", 4, 4, 1, S_0, false, EST(24576, 4, 4), 56}}},
    {"t4", "Tesla-T4", "t4", 15360, 65, 0, 0, false, 0, {{0}}},
    {"a10g", "NVIDIA-A10G", "a10g", 22888, 70, 0, 0, false, 0, {{0}}},
    {"l4", "NVIDIA-L4", "l4", 22888, 121, 0, 0, false, 0, {{0}}},
    {"l40s", "NVIDIA-L40S", "l40s", 45776, 362, 0, 0, false, 0, {{0}}},
    {"v100", "Tesla-V100-SXM2-16GB", "v100", 16384, 125, 0, 0, false, 0, {{0}}},
};

#define NMODELS ((int)(sizeof MODELS / sizeof MODELS[0]))

const gs_gpu_model *gs_gpu_models(int *n) {
    if (n) *n = NMODELS;
    return MODELS;
}

const gs_gpu_model *gs_gpu_get(int idx) {
    return (idx >= 0 && idx < NMODELS) ? &MODELS[idx] : NULL;
}

int gs_gpu_find(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < NMODELS; i++)
        if (strcasecmp(MODELS[i].name, name) == 0 || strcasecmp(MODELS[i].product, name) == 0)
            return i;
    /* short names: unique prefix before the first '-' ("a30", "h200", "t4") */
    int found = -1;
    for (int i = 0; i < NMODELS; i++) {
        size_t n = strcspn(MODELS[i].name, "-");
        if (strlen(name) == n && strncasecmp(MODELS[i].name, name, n) == 0) {
            if (found >= 0) return -1; /* ambiguous: "a100", "h100" */
            found = i;
        }
    }
    return found;
}

int gs_gpu_find_catalog(const char *catalog_name, int64_t mem_mib) {
    int best = -1;
    int64_t bestd = 0;
    for (int i = 0; i < NMODELS; i++) {
        if (strcasecmp(MODELS[i].catalog_name, catalog_name) != 0) continue;
        int64_t d = MODELS[i].mem_mib - mem_mib;
        if (d < 0) d = -d;
        if (best < 0 || d < bestd) {
            best = i;
            bestd = d;
        }
    }
    /* a model whose memory differs by more than 10% is not the same GPU */
    if (best >= 0 && bestd * 10 > MODELS[best].mem_mib) return -1;
    return best;
}

int gs_mig_profile_find(const gs_gpu_model *m, const char *name) {
    if (!m || !name) return -1;
    for (int i = 0; i < m->nprofiles; i++) {
        const char *pn = m->profiles[i].name;
        if (strcasecmp(pn, name) == 0) return i;
        /* resource spelling: '+' written as '.' */
        size_t n = strlen(pn);
        if (strlen(name) == n) {
            bool same = true;
            for (size_t k = 0; k < n && same; k++) {
                char a = pn[k] == '+' ? '.' : pn[k];
                char b = name[k];
                if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
                if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
                same = a == b;
            }
            if (same) return i;
        }
    }
    return -1;
}

int gs_mig_profile_by_id(const gs_gpu_model *m, int id) {
    for (int i = 0; m && i < m->nprofiles; i++)
        if (m->profiles[i].id == id) return i;
    return -1;
}

const char *gs_mig_resource_name(const gs_mig_profile *p, char *buf, unsigned size) {
    int n = snprintf(buf, size, "nvidia.com/mig-%s", p->name);
    for (int i = 0; i < n && (unsigned)i < size; i++)
        if (buf[i] == '+') buf[i] = '.';
    return buf;
}
