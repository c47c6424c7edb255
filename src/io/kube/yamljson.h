/* YAML text -> jansson tree, for kubeconfig files and manifests (deploy/). Scalars become JSON
 * strings unless plain (unquoted) and spelling an integer, true/false or null; aliases are
 * refused; depth and size are capped. */
#ifndef GS_IO_KUBE_YAMLJSON_H
#define GS_IO_KUBE_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

#include "model/err.h"

#define GS_YAML_MAX_DEPTH 64
#define GS_YAML_MAX_BYTES (16u << 20)

/* Parses every document of text. On success *docs is a new JSON array (caller owns, one
 * element per non-empty document). Errors carry file:line:col. */
int gs_yaml_to_json(const char *text, size_t len, const char *file, json_t **docs, gs_error *err);

#endif
