/* kube-fake: a provider whose "instances" are Node objects in the API server, like kwok.
 * launch creates a Node with the instance type's CPU/memory/pods and GPU capacity
 * (nvidia.com/gpu for whole GPUs, nvidia.com/mig-<profile> per MIG instance: what the NVIDIA
 * device plugin with the mixed strategy advertises) and GPU Feature Discovery labels; tick keeps
 * the Nodes Ready, marks Pods bound to them Running, finishes deletions of their Pods, and
 * carries out MIG reconfiguration requests (nvidia.com/mig.config label changes) the way the
 * GPU Operator's mig-manager does: the named config is read from the mig-parted ConfigMap, the
 * node's MIG resources are replaced and nvidia.com/mig.config.state goes pending -> success (or
 * failed); and plays the NVIDIA device plugin + GPU Feature Discovery for per-node time-slicing
 * (io/kube/devplugin.h): a node labelled nvidia.com/device-plugin.config=<key> gets, after
 * dp_delay_ms, the config <key> of the device plugin's ConfigMap applied: allocatable
 * nvidia.com/gpu.shared = GPUs x replicas (renameByDefault; nvidia.com/gpu x replicas without it)
 * and the labels nvidia.com/gpu.replicas / nvidia.com/gpu.sharing-strategy. For tests, demos
 * and what-if runs at scale.
 *
 * Test hooks (node annotations): gpuscale.dev/kube-fake-mig-fail=true (mig-manager reports
 * failed), gpuscale.dev/kube-fake-dp-fail=true (the device plugin never applies its config, as
 * one crash-looping would), gpuscale.dev/kube-fake-hold=true (neither acts while it is set). */
#ifndef GS_IO_CLOUD_KUBEFAKE_H
#define GS_IO_CLOUD_KUBEFAKE_H

#include "io/cloud/provider.h"
#include "io/kube/devplugin.h"
#include "io/kube/informer.h"
#include "io/kube/kube.h"
#include "model/catalog.h"
#include "model/gpu.h"

#define GS_KUBEFAKE_LABEL "gpuscale.dev/provider"
#define GS_KUBEFAKE_PREFIX "kube-fake://"

/* The mig-parted ConfigMap (key config.yaml) the GPU Operator's mig-manager is pointed at
 * (ClusterPolicy migManager.config.name); gpuscale writes its layouts there. */
#define GS_MIG_CONFIGMAP_NS "gpu-operator"
#define GS_MIG_CONFIGMAP_NAME "gpuscale-mig-parted-config"

typedef struct gs_kubefake_opts {
    const char *zone;            /* default zone when the request has none ("fake-zone-a") */
    int heartbeat_ms;            /* Ready heartbeat period (default 10 s) */
    const char *mig_configmap_ns;/* default GS_MIG_CONFIGMAP_NS */
    const char *mig_configmap;   /* default GS_MIG_CONFIGMAP_NAME */
    /* added: the device plugin's ConfigMap (default GS_DP_CONFIGMAP_NS/GS_DP_CONFIGMAP_NAME) and
     * how long the fake device plugin takes to apply a changed nvidia.com/device-plugin.config
     * (0: the default, 1 s; < 0: at once) */
    const char *dp_configmap_ns;
    const char *dp_configmap;
    int dp_delay_ms;
} gs_kubefake_opts;

/* k and cat are borrowed and must outlive the provider. pods: an informer over all Pods the
 * caller already runs (borrowed), or NULL to run its own. */
int gs_kubefake_new(gs_kube *k, const gs_catalog *cat, gs_informer *pods, const gs_kubefake_opts *opts,
                    gs_provider *out, gs_error *err);

/* The Node object kube-fake creates for req (caller owns); exposed for tests and docs. */
json_t *gs_kubefake_node_json(const gs_catalog *cat, const gs_launch_req *req, const char *zone,
                              gs_error *err);

/* What mig-manager makes of config `want` of a mig-parted config (YAML text, `version: v1`,
 * `mig-configs: {NAME: [{devices: all | [i...], mig-enabled, mig-devices: {profile: n}}]}`) on
 * a node of ngpus GPUs of model m: the node's extended resources (*out, caller owns:
 * nvidia.com/gpu for GPUs with MIG off or not named, nvidia.com/mig-<profile> per instance).
 * GS_EINVAL with a reason in why for a missing config, an unknown profile, instances that do
 * not fit one GPU (exact MIG geometry) or a bad devices field. Exposed for tests. */
int gs_kubefake_mig_resources(const char *config_yaml, const char *want, const gs_gpu_model *m, int ngpus,
                              json_t **out, char *why, size_t whylen);

#endif
