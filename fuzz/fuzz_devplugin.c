/* libFuzzer harness: what `gpuscale run` reads back from the cluster about the NVIDIA device
 * plugin. The first byte picks: even, a config of the device plugin's ConfigMap (YAML or JSON
 * text: gs_dp_config_parse); odd, a node as JSON {"labels": {...}, "allocatable": {...}} with
 * the GPU count from that byte (gs_dp_node_mode, gs_dp_node_has, gs_dp_key_replicas of its
 * nvidia.com/device-plugin.config label). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/kube/devplugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1u << 20)) return 0;
    uint8_t sel = data[0];
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (!(sel & 1)) {
        int32_t r = 0;
        bool rename = false;
        gs_error e;
        (void)gs_dp_config_parse(text, "fuzz", &r, &rename, &e);
    } else {
        json_t *n = json_loads(text, 0, NULL);
        const json_t *l = json_object_get(n, "labels"), *a = json_object_get(n, "allocatable");
        gs_dp_mode m;
        int ngpus = (sel >> 1) % 17;
        gs_dp_node_mode(l, a, ngpus, &m);
        (void)gs_dp_node_has(l, a, ngpus, m.replicas);
        (void)gs_dp_key_replicas(json_string_value(json_object_get(l, GS_DP_CONFIG_LABEL)));
        json_decref(n);
    }
    free(text);
    return 0;
}
