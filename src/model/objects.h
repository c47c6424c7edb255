/* The objects a user writes (GPUPool, QueueScaler, Budget, Environment) as plain data, after
 * validation by io/config. Field names follow Karpenter's NodePool and KEDA's ScaledObject
 * where the idea is the same; docs/config.md documents each field. */
#ifndef GS_OBJECTS_H
#define GS_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/qty.h"

#define GS_NAME_LEN 64      /* names of user objects, projects, namespaces (DNS label + NUL) */
#define GS_VALUE_LEN 256    /* label values, addresses, queries */
#define GS_MAX_REQ 16       /* requirements per pool */
#define GS_MAX_VALUES 32    /* values per requirement */
#define GS_MAX_TAINTS 8
#define GS_MAX_LABELS 16
#define GS_MAX_TRIGGERS 8
#define GS_MAX_META 16
#define GS_MAX_ALERTS 8
#define GS_MAX_ENV_WORKLOADS 8
#define GS_MAX_ENV_COMMAND 16  /* an Environment template's command: at most this many arguments */
#define GS_ENV_ARG_LEN 128      /* one argument of it, NUL included */
#define GS_ENV_DEFAULT_IMAGE "registry.k8s.io/pause:3.9"
#define GS_MIG_MAX_ALLOWED 16

/* A duration that never elapses (consolidateAfter: Never). Compare as `elapsed >= d`. */
#define GS_MS_NEVER INT64_MAX

/* ---- shared pieces ---- */

typedef struct gs_kv {
    char key[GS_VALUE_LEN];
    char value[GS_VALUE_LEN];
} gs_kv;

typedef enum { GS_TAINT_NO_SCHEDULE, GS_TAINT_PREFER_NO_SCHEDULE, GS_TAINT_NO_EXECUTE } gs_taint_effect;
typedef struct gs_taint {
    char key[GS_VALUE_LEN];
    char value[GS_VALUE_LEN];
    gs_taint_effect effect;
} gs_taint;

typedef enum { GS_TOL_EQUAL, GS_TOL_EXISTS } gs_tol_op;
typedef struct gs_toleration {
    char key[GS_VALUE_LEN]; /* empty key with Exists tolerates everything */
    char value[GS_VALUE_LEN];
    gs_tol_op op;
    int effect; /* gs_taint_effect, or -1 for all effects */
} gs_toleration;

/* What a pod asks of GPUs: exactly one form. */
typedef enum {
    GS_GPU_NONE = 0,  /* CPU-only */
    GS_GPU_WHOLE,     /* nvidia.com/gpu: count whole GPUs */
    GS_GPU_MIG,       /* nvidia.com/mig-<profile>: one instance of profile (by name) */
    GS_GPU_SHARED,    /* nvidia.com/gpu.shared: count time-sliced replicas */
    GS_GPU_FRACTION   /* fractional milli-GPU (0 < milli < 1000) on a shared GPU */
} gs_gpu_form;
const char *gs_gpu_form_name(gs_gpu_form f);

typedef struct gs_gpu_req {
    gs_gpu_form form;
    int32_t count;             /* WHOLE: GPUs; SHARED: replicas; MIG: instances (always 1) */
    int32_t milli;             /* FRACTION: milli-GPU */
    char mig_profile[24];      /* MIG: "1g.10gb" (memory label names the GPU family) */
} gs_gpu_req;

/* Resources of one pod (a QueueScaler's template, an Environment workload). */
typedef struct gs_pod_spec {
    gs_mcpu cpu;
    gs_mib mem;
    gs_gpu_req gpu;
    /* Where the pod may run. The arrays are shared, read-only and owned by a gs_rules_store
     * (the config's or the snapshot's), so a spec is small and copies are cheap: thousands of
     * replicas of one template share one copy. NULL when the count is 0. Build them in your
     * own arrays and hand them to gs_rules_intern (gs_snapshot_add_pod does it for pods). */
    const gs_kv *node_selector;            /* at most GS_MAX_LABELS */
    int32_t n_node_selector;
    const gs_toleration *tolerations;      /* at most GS_MAX_TAINTS */
    int32_t n_tolerations;
    int32_t priority;
} gs_pod_spec;

/* Owner of interned selector and toleration arrays: identical arrays are stored once and
 * never move until the store is freed. */
typedef struct gs_rules_store gs_rules_store;
/* Copies spec's node_selector and tolerations into *store (created on first use) and points
 * spec at the stored copies. Returns 0 or GS_ENOMEM (spec unchanged), GS_EINVAL if a count is
 * out of range. */
int gs_rules_intern(gs_rules_store **store, gs_pod_spec *spec);
void gs_rules_store_free(gs_rules_store *store);
/* Bytes held (for memory figures). */
size_t gs_rules_store_bytes(const gs_rules_store *store);

/* ---- GPUPool (Karpenter NodePool + GPU sharing) ---- */

typedef enum { GS_OP_IN, GS_OP_NOT_IN, GS_OP_EXISTS, GS_OP_DOES_NOT_EXIST } gs_req_op;

/* A requirement on a well-known key:
 *   node.kubernetes.io/instance-type, karpenter.k8s.aws/instance-family,
 *   karpenter.sh/capacity-type (spot|on-demand), topology.kubernetes.io/zone,
 *   gpuscale.dev/gpu-model (canonical model names, see `gpuscale mig`),
 *   karpenter.k8s.aws/instance-gpu-count (In only, integers). */
typedef enum {
    GS_KEY_INSTANCE_TYPE,
    GS_KEY_FAMILY,
    GS_KEY_CAPACITY_TYPE,
    GS_KEY_ZONE,
    GS_KEY_GPU_MODEL,
    GS_KEY_GPU_COUNT
} gs_req_key;

typedef struct gs_requirement {
    gs_req_key key;
    gs_req_op op;
    int32_t nvalues;
    char values[GS_MAX_VALUES][GS_NAME_LEN];
} gs_requirement;

typedef enum { GS_SHARE_EXCLUSIVE, GS_SHARE_MIG, GS_SHARE_TIMESLICING, GS_SHARE_FRACTIONAL } gs_share_mode;
const char *gs_share_mode_name(gs_share_mode m);

typedef enum { GS_CONSOLIDATE_WHEN_EMPTY, GS_CONSOLIDATE_WHEN_EMPTY_OR_UNDERUTILIZED } gs_consolidation;

typedef struct gs_pool {
    char name[GS_NAME_LEN];
    int32_t weight;                       /* higher is tried first (Karpenter) */
    gs_requirement reqs[GS_MAX_REQ];
    int32_t nreqs;
    /* limits; 0 = unlimited */
    int32_t limit_gpus;
    int32_t limit_nodes;
    gs_usd_u limit_usd_per_hour;
    /* sharing */
    gs_share_mode sharing;
    char mig_profiles[GS_MIG_MAX_ALLOWED][24]; /* allowed profiles for mode mig; empty = all */
    int32_t n_mig_profiles;
    int32_t ts_replicas;                  /* timeSlicing.replicas (>= 2) */
    /* disruption */
    gs_consolidation consolidation;
    gs_ms consolidate_after;              /* default 0 */
    int32_t disruption_budget_pct;        /* max % of the pool's nodes disrupted at once; default 10 */
    gs_ms expire_after;                   /* 0 = never */
    gs_taint taints[GS_MAX_TAINTS];
    int32_t ntaints;
    gs_kv labels[GS_MAX_LABELS];
    int32_t nlabels;
    int32_t line;                         /* where it was defined (for messages) */
    /* added by io/config (additive): */
    int32_t disruption_budget_nodes;      /* absolute node budget; -1 = none (then pct only).
                                           * Both set: the smaller limit applies (Karpenter). */
    int32_t file;                         /* index of the source it came from (load order) */
} gs_pool;

/* ---- QueueScaler (KEDA ScaledObject) ---- */

typedef enum {
    GS_TRIG_REDIS_LIST,      /* KEDA "redis": LLEN */
    GS_TRIG_REDIS_STREAM,    /* KEDA "redis-streams": XLEN / XPENDING / lag */
    GS_TRIG_RABBITMQ,        /* KEDA "rabbitmq" */
    GS_TRIG_PROMETHEUS,      /* KEDA "prometheus" */
    GS_TRIG_SQS,             /* KEDA "aws-sqs-queue" */
    GS_TRIG_SIM              /* the simulator's queue (scenario traces) */
} gs_trigger_type;
const char *gs_trigger_type_name(gs_trigger_type t);

typedef enum { GS_METRIC_AVERAGE_VALUE, GS_METRIC_VALUE } gs_metric_type;

typedef struct gs_trigger {
    gs_trigger_type type;
    gs_metric_type metric_type;
    char name[GS_NAME_LEN];
    int64_t target_milli;        /* target per replica x1000 (KEDA value/listLength/threshold...) */
    int64_t activation_milli;    /* activation threshold x1000; active iff metric > it */
    gs_kv meta[GS_MAX_META];     /* source-specific metadata, validated by io/config */
    int32_t nmeta;
} gs_trigger;

typedef enum { GS_TARGET_DEPLOYMENT, GS_TARGET_STATEFULSET, GS_TARGET_JOB } gs_target_kind;

typedef struct gs_scaler {
    char name[GS_NAME_LEN];
    char ns[GS_NAME_LEN];
    char project[GS_NAME_LEN];   /* defaults to the namespace */
    char pool[GS_NAME_LEN];      /* empty = any pool the pod fits */
    gs_target_kind target_kind;
    char target_name[GS_NAME_LEN];
    gs_pod_spec pod;             /* what one replica asks for */
    gs_ms polling_interval;      /* KEDA default 30s; gpuscale default 1s */
    gs_ms cooldown_period;       /* default 300s */
    int32_t min_replicas;        /* default 0 */
    int32_t max_replicas;        /* default 100 */
    int32_t idle_replicas;       /* -1 = unset */
    int32_t fallback_failures;   /* 0 = no fallback */
    int32_t fallback_replicas;
    gs_ms stabilize_up;          /* default 0 */
    gs_ms stabilize_down;        /* default 300s (HPA) */
    gs_trigger triggers[GS_MAX_TRIGGERS];
    int32_t ntriggers;
    int32_t line;
    int32_t file;                /* index of the source it came from */
    bool pod_from_target;        /* spec.template absent: `pod` is empty and the pod shape must
                                  * be read from the scaleTargetRef's own pod template (cluster
                                  * mode); commands without a cluster must refuse such a scaler */
} gs_scaler;

/* ---- Budget ---- */

typedef enum { GS_ENFORCE_HARD, GS_ENFORCE_SOFT } gs_enforce;
typedef enum { GS_ON_EXCEEDED_BLOCK, GS_ON_EXCEEDED_SCALE_TO_MIN, GS_ON_EXCEEDED_ALERT } gs_on_exceeded;

typedef struct gs_budget {
    char name[GS_NAME_LEN];
    char project[GS_NAME_LEN];
    char timezone[GS_NAME_LEN];  /* IANA name, default "UTC" */
    gs_usd_u per_hour;           /* 0 = no limit */
    gs_usd_u per_day;
    gs_usd_u per_month;
    gs_enforce enforce;
    gs_on_exceeded on_exceeded;
    int32_t alert_pct[GS_MAX_ALERTS];
    int32_t nalerts;
    char webhook_url[GS_VALUE_LEN];
    int32_t webhook_retries;
    int32_t line;
    int32_t file;                /* index of the source it came from */
} gs_budget;

/* ---- Environment ---- */

typedef enum { GS_DELETE_NEVER, GS_DELETE_SUCCEEDED, GS_DELETE_FINISHED } gs_delete_when;

typedef struct gs_env_workload {
    char name[GS_NAME_LEN];
    int32_t replicas;
    gs_pod_spec pod;
    gs_ms run_for;               /* Job workloads: expected duration (simulator); 0 = service */
    /* added for `gpuscale run` (additive): the container the controller creates */
    char image[GS_VALUE_LEN];    /* template.image; default GS_ENV_DEFAULT_IMAGE */
    char command[GS_MAX_ENV_COMMAND][GS_ENV_ARG_LEN]; /* template.command (argv); none = image's */
    int32_t ncommand;
} gs_env_workload;

typedef struct gs_environment {
    char name[GS_NAME_LEN];
    char project[GS_NAME_LEN];
    char pool[GS_NAME_LEN];
    gs_ms ttl;                   /* 0 = none */
    gs_delete_when delete_when;
    gs_env_workload workloads[GS_MAX_ENV_WORKLOADS];
    int32_t nworkloads;
    bool is_job;                 /* workloads are Job pods (completions) */
    int32_t line;
    char ns[GS_NAME_LEN];        /* metadata.namespace (default "default") */
    int32_t file;                /* index of the source it came from */
} gs_environment;

/* ---- a whole configuration ---- */

typedef struct gs_config {
    gs_pool *pools;
    int32_t npools;
    gs_scaler *scalers;
    int32_t nscalers;
    gs_budget *budgets;
    int32_t nbudgets;
    gs_environment *envs;
    int32_t nenvs;
    gs_rules_store *rules;  /* the templates' selectors and tolerations */
} gs_config;

void gs_config_free(gs_config *c);
/* Value of a trigger's metadata key (after io/config's normalisation), NULL if absent. */
const char *gs_trigger_meta(const gs_trigger *t, const char *key);
int gs_config_find_pool(const gs_config *c, const char *name);
int gs_config_find_budget_for(const gs_config *c, const char *project);

/* Does pool p admit instance type t with capacity cap in zone (zone may be NULL = any)? */
bool gs_pool_allows(const gs_pool *p, const gs_itype *t, gs_capacity cap, const char *zone);
/* Capacity types the pool admits, as a GS_CAPMASK_* mask (default: on-demand only, like
 * Karpenter's default requirement). */
unsigned gs_pool_capacity_mask(const gs_pool *p);
/* Is the MIG profile (name) allowed by the pool? */
bool gs_pool_allows_profile(const gs_pool *p, const char *profile);

#endif
