/* The configuration loader: YAML files of GPUPool, QueueScaler, Budget and Environment
 * objects (Kubernetes style: apiVersion gpuscale.dev/v1alpha1, kind, metadata, spec; several
 * `---` documents per file) into a validated gs_config (model/objects.h). docs/config.md
 * documents every field.
 *
 * Every problem is reported as "file:line:col: message" about the offending YAML node: bad
 * YAML, anchors/aliases/tags, nesting or size past the caps, unknown keys (with the closest
 * known key), wrong types, out-of-range values, missing fields, duplicate names, references to
 * unknown pools, GPU models, instance types or MIG profiles, inline secrets, and requests that
 * do not fit the pool's sharing mode. Loading is all-or-nothing: on error *out is left empty
 * and nothing is allocated. */
#ifndef GS_IO_CONFIG_H
#define GS_IO_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "model/catalog.h"
#include "model/err.h"
#include "model/objects.h"

#define GS_CONFIG_API_VERSION "gpuscale.dev/v1alpha1"
#define GS_CONFIG_MAX_BYTES (1024 * 1024) /* per file */
#define GS_CONFIG_MAX_DEPTH 32            /* YAML nesting */
#define GS_CONFIG_MAX_OBJECTS 4096        /* objects of each kind, all files together */

typedef struct gs_config_src {
    const char *name; /* shown in messages ("examples/pools.yaml") */
    const char *text; /* need not be NUL-terminated */
    size_t len;
} gs_config_src;

/* Loads n in-memory sources as one configuration (references may cross sources; each
 * object's `file` is its source's index). cat: the instance catalog that pools' requirements
 * and MIG profiles are checked against (required). *out must not own memory on entry; on
 * success the caller frees it with gs_config_free. */
int gs_config_load_sources(gs_config *out, const gs_config_src *srcs, int n,
                           const gs_catalog *cat, gs_error *err);
/* One in-memory document stream (tests, fuzzing). name may be NULL ("<string>"). */
int gs_config_load_string(gs_config *out, const char *text, size_t len, const char *name,
                          const gs_catalog *cat, gs_error *err);
/* Reads the files (each at most GS_CONFIG_MAX_BYTES) and loads them as one configuration;
 * paths are used as written in messages. */
int gs_config_load_files(gs_config *out, const char *const *paths, int n, const gs_catalog *cat,
                         gs_error *err);

/* An object as the API server returns it (a GPUPool, QueueScaler, Budget or Environment custom
 * resource: apiVersion, kind, metadata, spec, status), and the name its messages start with
 * ("GPUPool/gpu-prod", "QueueScaler/inference/chat"). */
typedef struct gs_config_obj {
    const char *name;
    const json_t *obj; /* borrowed */
} gs_config_obj;

/* Loads API objects as one configuration, with the same rules and checks as the files (the
 * objects are the same documents). status and metadata other than name and namespace (uid,
 * resourceVersion, generation, managedFields, labels, annotations, ...) are ignored. Messages have no line:col: err->file is the
 * offending object's name and err->msg "field.path: message" ("GPUPool/gpu-prod:
 * spec.limits.gpus: ..."); a reference error (an unknown pool, a request the pool cannot
 * serve) names the object that holds the reference. Each object's `file` is its index in objs.
 * All-or-nothing as gs_config_load_sources. */
int gs_config_load_objects(gs_config *out, const gs_config_obj *objs, int n, const gs_catalog *cat,
                           gs_error *err);

#endif
