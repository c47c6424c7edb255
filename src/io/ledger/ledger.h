/* The spend ledger: SQLite (WAL, synchronous=FULL, STRICT tables) with a schema version table
 * and ordered migrations. Spend intervals are append-only (triggers refuse UPDATE/DELETE) and
 * keyed by (node, start, project, workload): writing the same interval again is a no-op, so a
 * retried write is never counted twice; the same key with a different amount is a conflict.
 * Environments' totals are derived from the intervals of their workloads and frozen into the
 * environments table when they are deleted. docs/cost.md describes the schema.
 *
 * A gs_ledger is used from one thread. */
#ifndef GS_IO_LEDGER_H
#define GS_IO_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/err.h"
#include "model/objects.h"
#include "model/qty.h"

#define GS_LEDGER_SCHEMA_VERSION 3

typedef struct gs_ledger gs_ledger;

/* One spend interval: what `project` (workload `workload`) paid for `node` over
 * [start, end). project "_idle" is the pool's idle cost. */
typedef struct gs_spend {
    char project[GS_NAME_LEN];
    char workload[GS_NAME_LEN];
    char pool[GS_NAME_LEN];
    char node[GS_OBJ_NAME];
    char itype[GS_ITYPE_NAME];
    gs_capacity capacity;
    gs_ms start, end;
    gs_usd_u usd;
} gs_spend;

/* Opens (create = true: creates if missing) the ledger at path and migrates it to
 * GS_LEDGER_SCHEMA_VERSION. A ledger written by a newer gpuscale (higher version) is refused.
 * *out is owned by the caller: gs_ledger_close. */
int gs_ledger_open(const char *path, bool create, gs_ledger **out, gs_error *err);
void gs_ledger_close(gs_ledger *l);
int gs_ledger_schema_version(gs_ledger *l, int *version, gs_error *err);
/* PRAGMA integrity_check == "ok" -> 0, else GS_EIO with the first message. */
int gs_ledger_check(gs_ledger *l, gs_error *err);

/* Appends rows in one transaction: all or nothing. Rows already present with the same key and
 * amount are skipped (*inserted counts the new ones; may be NULL). Bad rows (empty names,
 * end < start, negative amount) -> GS_EINVAL naming the row; a key present with another
 * amount -> GS_ECONFLICT; nothing is written in either case. */
int gs_ledger_append(gs_ledger *l, const gs_spend *rows, int32_t n, int32_t *inserted,
                     gs_error *err);

/* Where metering stopped: the latest end of any interval (node NULL) or of the node's
 * intervals; -1 when none. A restarted controller meters from there, so it neither skips nor
 * re-bills time (a re-metered interval with another end would be a GS_ECONFLICT). */
int gs_ledger_metered_until(gs_ledger *l, const char *node, gs_ms *out, gs_error *err);

/* Spend of project over [from, to): intervals straddling an edge count pro rata (floored).
 * project NULL = every project except "_idle". */
int gs_ledger_sum(gs_ledger *l, const char *project, gs_ms from, gs_ms to, gs_usd_u *out,
                  gs_error *err);

/* The project's burn rate at `at` in micro-dollars per hour: for each (node, workload) of the
 * project, the latest interval that started at or before `at` and ended within 5 minutes
 * before it, as usd x 1h / length; summed. 0 when nothing is running. */
int gs_ledger_rate(gs_ledger *l, const char *project, gs_ms at, gs_usd_u *out, gs_error *err);

/* Report grouped by a column. */
typedef enum {
    GS_LEDGER_BY_PROJECT,
    GS_LEDGER_BY_POOL,
    GS_LEDGER_BY_ITYPE,
    GS_LEDGER_BY_DAY,       /* local date of the interval's start, in the TZ of the process */
    GS_LEDGER_BY_WORKLOAD   /* project/workload */
} gs_ledger_by;

typedef struct gs_cost_row {
    char key[GS_OBJ_NAME];
    gs_usd_u usd;
    gs_ms node_ms;          /* node-time of the intervals in the range (ms) */
    int64_t intervals;
} gs_cost_row;

/* Rows for [since, until) (pro rata at the edges), sorted by key; *rows malloc'd, caller
 * frees. */
int gs_ledger_report(gs_ledger *l, gs_ledger_by by, gs_ms since, gs_ms until,
                     gs_cost_row **rows, int32_t *nrows, gs_error *err);

/* Environments. created: records it (idempotent for the same name/project/pool). deleted:
 * freezes its total (sum of its project's intervals whose workload is the environment's
 * name) with the reason. */
int gs_ledger_env_created(gs_ledger *l, const char *name, const char *project, const char *pool,
                          gs_ms at, gs_error *err);
int gs_ledger_env_deleted(gs_ledger *l, const char *name, gs_ms at, const char *reason,
                          gs_error *err);
typedef struct gs_env_row {
    char name[GS_NAME_LEN];
    char project[GS_NAME_LEN];
    char pool[GS_NAME_LEN];
    gs_ms created, deleted;  /* deleted -1 while alive */
    char reason[64];
    gs_usd_u usd;            /* frozen total, or the running total while alive */
} gs_env_row;
int gs_ledger_envs(gs_ledger *l, gs_env_row **rows, int32_t *nrows, gs_error *err);

/* Alert dedup: returns 1 if (budget, window, period_start, pct) was not recorded yet (and
 * records it), 0 if it was. */
int gs_ledger_alert_once(gs_ledger *l, const char *budget, const char *window,
                         gs_ms period_start, int32_t pct, gs_ms at, gs_error *err);

#endif
