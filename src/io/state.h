/* Cluster snapshot loader for `gpuscale plan --state FILE`: nodes (instance type, capacity
 * type, zone, pool, GPUs with their mode, MIG layout and allocations) and pods (requests,
 * node selectors, tolerations, priority, project, and the node when bound), as JSON (checked
 * with jansson) or YAML (libyaml). docs/packing.md documents the format.
 *
 * Every problem is reported as "file:line:col: message" about the offending value: bad
 * JSON/YAML, anchors/aliases/tags, nesting or size past the caps, unknown or duplicate keys,
 * wrong types, bad quantities, unknown instance types, pools, nodes, GPU modes or MIG profiles,
 * invalid MIG layouts (overlaps, starts a profile does not allow, 4g+4g), replicas used past
 * those declared, GPUs more than the instance type has. Loading is all-or-nothing: on error the
 * output is left empty. */
#ifndef GS_IO_STATE_H
#define GS_IO_STATE_H

#include <stddef.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/err.h"
#include "model/objects.h"

#define GS_STATE_MAX_BYTES (64u * 1024u * 1024u)
#define GS_STATE_MAX_DEPTH 32
#define GS_STATE_MAX_NODES 8000000 /* YAML/JSON values in one file */

typedef struct gs_state {
    gs_snapshot snap;     /* owned */
} gs_state;

void gs_state_init(gs_state *s);
void gs_state_free(gs_state *s);

/* Parses a snapshot. `file` names it in messages; JSON when the text starts with '{' (after
 * blanks), YAML otherwise. Node `pool:` names refer to `pools` (the configuration's GPUPools;
 * borrowed, may be empty). out must be initialised; on error it stays empty. */
int gs_state_parse(const char *text, size_t len, const char *file, const gs_catalog *cat,
                   const gs_pool *pools, int32_t npools, gs_state *out, gs_error *err);

/* Reads path (at most GS_STATE_MAX_BYTES) and parses it. */
int gs_state_load(const char *path, const gs_catalog *cat, const gs_pool *pools, int32_t npools,
                  gs_state *out, gs_error *err);

#endif
