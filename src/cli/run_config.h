/* `gpuscale run --config`: reads GPUPool and QueueScaler documents (apiVersion
 * gpuscale.dev/v1alpha1, the schema of docs/config.md and deploy/crds/) into gs_config.
 * Interim reader for the fields the controller acts on, until io/config's
 * gs_config_load_files lands on main; then run_load_config becomes that one call. Unknown
 * kinds are errors; unknown fields are ignored here (validate them with `gpuscale validate`). */
#ifndef GS_CLI_RUN_CONFIG_H
#define GS_CLI_RUN_CONFIG_H

#include "model/catalog.h"
#include "model/err.h"
#include "model/objects.h"

int gs_run_load_config(const char *const *paths, int n, const gs_catalog *cat, gs_config *out, gs_error *err);

#endif
