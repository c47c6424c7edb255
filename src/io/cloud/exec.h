/* exec provider: each operation runs a user command (`/bin/sh -c CMD`) with a JSON request on
 * stdin and reads a JSON reply from stdout (docs/providers.md has the contract and an AWS CLI
 * example). A command that exits non-zero, runs past the timeout (killed), writes more than
 * GS_EXEC_MAX_OUT bytes or replies with malformed JSON is an error naming the command. */
#ifndef GS_IO_CLOUD_EXEC_H
#define GS_IO_CLOUD_EXEC_H

#include <jansson.h>

#include "io/cloud/provider.h"

#define GS_EXEC_MAX_OUT (1u << 20)

/* The command strings are copied. timeout_ms bounds each command. */
int gs_execprov_new(const char *launch_cmd, const char *terminate_cmd, const char *list_cmd, long timeout_ms,
                    gs_provider *out, gs_error *err);

/* Runs cmd with input on stdin; *out gets the parsed stdout JSON (caller owns; NULL when stdout
 * is empty). Exposed for tests. */
int gs_exec_json(const char *what, const char *cmd, const json_t *input, long timeout_ms, json_t **out, gs_error *err);

/* The launch request as the exec contract's JSON (caller owns). */
json_t *gs_exec_launch_json(const gs_launch_req *req);
/* Parses one instance object of a reply. */
int gs_exec_parse_instance(const json_t *o, const char *what, gs_instance *out, gs_error *err);

#endif
