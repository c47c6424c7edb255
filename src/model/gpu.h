/* GPU models and their exact MIG profiles (REFERENCES.md; the H100-80GB table is checked
 * against nvidia-smi output read off a real H100 in tests/test_gpu.c).
 * A placement is {start}:size in memory slices; two instances coexist iff their memory-slice
 * ranges do not overlap and each sits at one of its profile's allowed starts. */
#ifndef GS_GPU_H
#define GS_GPU_H

#include <stdbool.h>
#include <stdint.h>

#define GS_MIG_MAX_PROFILES 8
#define GS_MIG_MAX_SLICES 8
#define GS_GPU_MAX_MODELS 16

typedef struct gs_mig_profile {
    uint8_t id;         /* NVML GPU instance profile id (19, 20, 15, 14, 9, 5, 0 on A100/H100) */
    const char *name;   /* "1g.10gb", "1g.10gb+me" (the mig-parted / nvidia-smi spelling) */
    uint8_t compute;    /* compute (SM) slices */
    uint8_t size;       /* memory slices: the placement size */
    uint8_t max_count;  /* instances per GPU */
    uint8_t starts;     /* bit s set: start memory slice s is allowed */
    bool media_ext;     /* the "+me" profile */
    int32_t mem_mib;    /* memory per instance; measured where mem_measured, else estimated */
    int16_t sms;        /* streaming multiprocessors, 0 if not published */
} gs_mig_profile;

typedef struct gs_gpu_model {
    const char *name;         /* canonical gpuscale name: "h100-80gb" */
    const char *product;      /* GPU Feature Discovery nvidia.com/gpu.product value */
    const char *catalog_name; /* EC2 catalog's gpu name: "h100" */
    int32_t mem_mib;          /* memory of the whole GPU */
    int32_t fp16_tflops;      /* dense FP16/BF16 tensor TFLOPS (datasheet), for the simulator */
    uint8_t mem_slices;       /* 8 (A30: 4); 0 = no MIG */
    uint8_t compute_slices;   /* 7 (A30: 4); 0 = no MIG */
    bool mem_measured;        /* profile memory read off real hardware (else estimated) */
    uint8_t nprofiles;
    gs_mig_profile profiles[GS_MIG_MAX_PROFILES];
} gs_gpu_model;

/* The built-in table (static storage); count in *n. */
const gs_gpu_model *gs_gpu_models(int *n);
/* Index of a model by name, case-insensitive; accepts the canonical name ("h100-80gb"),
 * the GFD product label, or an unambiguous short name ("a30", "t4", "h200"). -1 if none. */
int gs_gpu_find(const char *name);
/* Index of the model matching a catalog row (gpu name, per-GPU memory in MiB). -1 if none. */
int gs_gpu_find_catalog(const char *catalog_name, int64_t mem_mib);
const gs_gpu_model *gs_gpu_get(int idx);
static inline bool gs_gpu_has_mig(const gs_gpu_model *m) { return m->mem_slices > 0; }
/* Profile index within model m by name ("3g.40gb", "3g.40gb+me", or the resource spelling
 * "3g.40gb.me"), or by NVML id with gs_mig_profile_by_id. -1 if none. */
int gs_mig_profile_find(const gs_gpu_model *m, const char *name);
int gs_mig_profile_by_id(const gs_gpu_model *m, int id);
/* Kubernetes extended-resource name for a profile: "nvidia.com/mig-1g.10gb.me". */
const char *gs_mig_resource_name(const gs_mig_profile *p, char *buf, unsigned size);

#endif
