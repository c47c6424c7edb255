/* The NVIDIA k8s-device-plugin's time-slicing, as `gpuscale run` sets it and reads it back
 * (docs/deploy.md, "Time-slicing"), and as kube-fake plays it in tests.
 *
 * Per-node configuration: the GPU Operator starts the device plugin with a ConfigMap
 * (ClusterPolicy spec.devicePlugin.config.name) holding one key per named config; the node label
 * nvidia.com/device-plugin.config=<key> picks the node's config (the plugin's config-manager
 * sidecar restarts the plugin when it changes). A time-slicing config is
 *     version: v1
 *     sharing: {timeSlicing: {renameByDefault: true, resources: [{name: nvidia.com/gpu, replicas: N}]}}
 * and then the node advertises GPUs x N of nvidia.com/gpu.shared (renameByDefault; without it
 * nvidia.com/gpu x N), and GPU Feature Discovery labels it nvidia.com/gpu.replicas=N and
 * nvidia.com/gpu.sharing-strategy=time-slicing. The config applies to every GPU of the node.
 *
 * gpuscale's configs are keys "gpuscale-timeslicing-<N>" (renameByDefault: true: its pods ask
 * for nvidia.com/gpu.shared). Pure functions (no I/O); JSON via jansson. */
#ifndef GS_IO_KUBE_DEVPLUGIN_H
#define GS_IO_KUBE_DEVPLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/cluster.h"
#include "model/err.h"

#define GS_DP_CONFIG_LABEL "nvidia.com/device-plugin.config"
#define GS_DP_REPLICAS_LABEL "nvidia.com/gpu.replicas"
#define GS_DP_STRATEGY_LABEL "nvidia.com/gpu.sharing-strategy"
/* The device plugin's ConfigMap gpuscale writes its time-slicing configs to (the GPU Operator's
 * ClusterPolicy spec.devicePlugin.config.name must name it). */
#define GS_DP_CONFIGMAP_NS "gpu-operator"
#define GS_DP_CONFIGMAP_NAME "gpuscale-device-plugin-config"
#define GS_DP_KEY_PREFIX "gpuscale-timeslicing-"
#define GS_DP_MAX_REPLICAS 64

/* What a node's GPUs are, from what it advertises. */
typedef struct gs_dp_mode {
    gs_gpu_mode mode;   /* GS_GPUMODE_WHOLE, or GS_GPUMODE_TIMESLICED */
    int32_t replicas;   /* TIMESLICED: per GPU (>= 2); WHOLE: 1 */
    bool renamed;       /* TIMESLICED: advertised as nvidia.com/gpu.shared (renameByDefault) */
    bool advertised;    /* the device plugin advertises any GPU (nvidia.com/gpu or .shared > 0) */
} gs_dp_mode;

/* A node's GPU mode from its allocatable (nvidia.com/gpu.shared, nvidia.com/gpu: integers or
 * quantity strings) and its GFD labels (nvidia.com/gpu.replicas), for a node of ngpus GPUs:
 * .shared > 0 -> TIMESLICED renamed, replicas = the label when it agrees with .shared / ngpus,
 * else .shared / ngpus; nvidia.com/gpu > ngpus -> TIMESLICED not renamed (replicas likewise);
 * else WHOLE. labels and alloc may be NULL. */
void gs_dp_node_mode(const json_t *labels, const json_t *alloc, int ngpus, gs_dp_mode *out);

/* True when the node advertises exactly time-slicing with `replicas` per GPU as gpuscale
 * configures it: nvidia.com/gpu.shared == ngpus x replicas, and the GFD labels (when present)
 * say replicas and time-slicing. */
bool gs_dp_node_has(const json_t *labels, const json_t *alloc, int ngpus, int32_t replicas);

/* gpuscale's key for `replicas` ("gpuscale-timeslicing-<N>"); out >= 32 bytes. */
void gs_dp_key(int32_t replicas, char *out, size_t n);

/* The replicas a gpuscale key names (2..GS_DP_MAX_REPLICAS), or -1 when key is not one. */
int32_t gs_dp_key_replicas(const char *key);

/* The time-slicing config for `replicas` (a JSON object, caller owns): version v1,
 * flags.migStrategy none, sharing.timeSlicing {renameByDefault: true, failRequestsGreaterThanOne:
 * false, resources: [{name: nvidia.com/gpu, replicas}]}. */
json_t *gs_dp_config(int32_t replicas);

/* Reads one config of the device plugin's ConfigMap (YAML or JSON text; `where` names it in
 * messages, e.g. "configmap gpu-operator/x key k"): version must be "v1"; sharing,
 * sharing.timeSlicing objects; resources a list of {name: string, replicas: integer 1..}; the
 * flags booleans. *replicas: those of nvidia.com/gpu (1: not time-sliced), *rename:
 * renameByDefault. GS_EPARSE with the field's path in err for anything else (not YAML, wrong
 * types). */
int gs_dp_config_parse(const char *text, const char *where, int32_t *replicas, bool *rename, gs_error *err);

#endif
