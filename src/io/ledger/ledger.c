#include "io/ledger/ledger.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct gs_ledger {
    sqlite3 *db;
    sqlite3_stmt *ins;
    sqlite3_stmt *get;
    char path[512];
};

/* Migrations: MIGRATIONS[i] takes the schema from version i to i + 1. Never edit a released
 * entry; append a new one and bump GS_LEDGER_SCHEMA_VERSION. */
static const char *const MIGRATIONS[GS_LEDGER_SCHEMA_VERSION] = {
    /* 0 -> 1: append-only spend intervals */
    "CREATE TABLE spend ("
    "  id INTEGER PRIMARY KEY,"
    "  project TEXT NOT NULL CHECK (length(project) > 0),"
    "  workload TEXT NOT NULL,"
    "  pool TEXT NOT NULL,"
    "  node TEXT NOT NULL CHECK (length(node) > 0),"
    "  instance_type TEXT NOT NULL,"
    "  capacity TEXT NOT NULL CHECK (capacity IN ('on-demand', 'spot')),"
    "  start_ms INTEGER NOT NULL,"
    "  end_ms INTEGER NOT NULL CHECK (end_ms >= start_ms),"
    "  usd_micro INTEGER NOT NULL CHECK (usd_micro >= 0),"
    "  UNIQUE (node, start_ms, project, workload)"
    ") STRICT;"
    "CREATE INDEX spend_project_start ON spend (project, start_ms);"
    "CREATE INDEX spend_start ON spend (start_ms);"
    "CREATE TRIGGER spend_no_update BEFORE UPDATE ON spend"
    "  BEGIN SELECT RAISE(ABORT, 'spend intervals are append-only'); END;"
    "CREATE TRIGGER spend_no_delete BEFORE DELETE ON spend"
    "  BEGIN SELECT RAISE(ABORT, 'spend intervals are append-only'); END;",
    /* 1 -> 2: environments and their totals */
    "CREATE TABLE environments ("
    "  name TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL,"
    "  pool TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  deleted_ms INTEGER,"
    "  reason TEXT,"
    "  total_usd_micro INTEGER"
    ") STRICT;"
    "CREATE INDEX spend_workload ON spend (project, workload);",
    /* 2 -> 3: budget alerts already sent (dedup across restarts) */
    "CREATE TABLE alerts_sent ("
    "  budget TEXT NOT NULL,"
    "  period TEXT NOT NULL,"
    "  period_start_ms INTEGER NOT NULL,"
    "  pct INTEGER NOT NULL,"
    "  sent_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (budget, period, period_start_ms, pct)"
    ") STRICT;",
};

static int db_fail(gs_ledger *l, gs_error *err, int code, const char *what) {
    return gs_error_set(err, code, "ledger %s: %s: %s", l->path, what, sqlite3_errmsg(l->db));
}

static int exec(gs_ledger *l, const char *sql, gs_error *err, const char *what) {
    char *msg = NULL;
    if (sqlite3_exec(l->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = gs_error_set(err, GS_EIO, "ledger %s: %s: %s", l->path, what, msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int read_version(gs_ledger *l, int *v, gs_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "SELECT version FROM schema_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "reading the schema version");
    int rc = sqlite3_step(st);
    int out = -1;
    if (rc == SQLITE_ROW) out = sqlite3_column_int(st, 0);
    int rc2 = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW || rc2 != SQLITE_DONE || out < 0)
        return gs_error_set(err, GS_EIO, "ledger %s: schema_version must hold exactly one row", l->path);
    *v = out;
    return 0;
}

static int migrate(gs_ledger *l, gs_error *err) {
    int rc;
    /* The version table itself is created in the same transaction as the first migration. */
    for (;;) {
        if ((rc = exec(l, "BEGIN IMMEDIATE", err, "begin migration"))) return rc;
        rc = exec(l,
                  "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT;"
                  "INSERT INTO schema_version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
                  err, "creating schema_version");
        int v = 0;
        if (!rc) rc = read_version(l, &v, err);
        if (!rc && v > GS_LEDGER_SCHEMA_VERSION)
            rc = gs_error_set(err, GS_EUNSUPPORTED,
                              "ledger %s has schema version %d; this gpuscale knows up to %d (upgrade gpuscale)",
                              l->path, v, GS_LEDGER_SCHEMA_VERSION);
        if (!rc && v == GS_LEDGER_SCHEMA_VERSION) return exec(l, "COMMIT", err, "commit");
        if (!rc) rc = exec(l, MIGRATIONS[v], err, "migrating");
        if (!rc) {
            char sql[96];
            snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", v + 1);
            rc = exec(l, sql, err, "recording the schema version");
        }
        if (!rc) rc = exec(l, "COMMIT", err, "commit migration");
        if (rc) {
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
}

int gs_ledger_open(const char *path, bool create, gs_ledger **out, gs_error *err) {
    *out = NULL;
    if (!path || !path[0]) return gs_error_set(err, GS_EINVAL, "ledger: no path given");
    struct stat stb;
    if (!create && stat(path, &stb) != 0)
        return gs_error_set(err, GS_ENOENT, "ledger %s does not exist", path);
    gs_ledger *l = calloc(1, sizeof *l);
    if (!l) return gs_error_set(err, GS_ENOMEM, "ledger: out of memory");
    snprintf(l->path, sizeof l->path, "%s", path);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = 0;
    if (sqlite3_open_v2(path, &l->db, flags, NULL) != SQLITE_OK) {
        rc = gs_error_set(err, GS_EIO, "ledger %s: cannot open: %s", path,
                          l->db ? sqlite3_errmsg(l->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(l->db, 5000);
    sqlite3_extended_result_codes(l->db, 1);
    /* quick check that it is a database at all before switching the journal */
    if ((rc = exec(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                   err, "setting WAL mode")))
        goto fail;
    if ((rc = migrate(l, err))) goto fail;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO spend (project, workload, pool, node, instance_type, capacity,"
                           " start_ms, end_ms, usd_micro) VALUES (?,?,?,?,?,?,?,?,?)"
                           " ON CONFLICT (node, start_ms, project, workload) DO NOTHING",
                           -1, &l->ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db,
                           "SELECT end_ms, usd_micro, pool, instance_type, capacity FROM spend"
                           " WHERE node = ? AND start_ms = ? AND project = ? AND workload = ?",
                           -1, &l->get, NULL) != SQLITE_OK) {
        rc = db_fail(l, err, GS_EIO, "preparing statements");
        goto fail;
    }
    *out = l;
    return 0;
fail:
    gs_ledger_close(l);
    return rc;
}

void gs_ledger_close(gs_ledger *l) {
    if (!l) return;
    sqlite3_finalize(l->ins);
    sqlite3_finalize(l->get);
    sqlite3_close(l->db);
    free(l);
}

int gs_ledger_schema_version(gs_ledger *l, int *version, gs_error *err) {
    return read_version(l, version, err);
}

int gs_ledger_check(gs_ledger *l, gs_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "integrity check");
    int rc = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(l, err, GS_EIO, "integrity check");
    } else {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (!r || strcmp(r, "ok") != 0)
            rc = gs_error_set(err, GS_EIO, "ledger %s is damaged: %s", l->path, r ? r : "?");
    }
    sqlite3_finalize(st);
    return rc;
}

static int check_row(const gs_spend *r, int32_t i, gs_error *err) {
    if (!r->project[0] || !r->node[0])
        return gs_error_set(err, GS_EINVAL, "ledger: row %d has an empty project or node", (int)i);
    if (r->end < r->start || r->usd < 0)
        return gs_error_set(err, GS_EINVAL, "ledger: row %d (%s on %s): end before start or negative amount",
                            (int)i, r->project, r->node);
    if (r->capacity != GS_CAP_ON_DEMAND && r->capacity != GS_CAP_SPOT)
        return gs_error_set(err, GS_EINVAL, "ledger: row %d: bad capacity type", (int)i);
    return 0;
}

static int append_one(gs_ledger *l, const gs_spend *r, int32_t i, int32_t *inserted, gs_error *err) {
    sqlite3_stmt *s = l->ins;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, r->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->workload, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->pool, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->itype, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, gs_capacity_name(r->capacity), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, r->start);
    sqlite3_bind_int64(s, 8, r->end);
    sqlite3_bind_int64(s, 9, r->usd);
    if (sqlite3_step(s) != SQLITE_DONE) return db_fail(l, err, GS_EIO, "appending an interval");
    if (sqlite3_changes(l->db) == 1) {
        (*inserted)++;
        return 0;
    }
    /* The key exists: the same interval again is fine, another amount is a conflict. */
    sqlite3_stmt *g = l->get;
    sqlite3_reset(g);
    sqlite3_bind_text(g, 1, r->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(g, 2, r->start);
    sqlite3_bind_text(g, 3, r->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(g, 4, r->workload, -1, SQLITE_STATIC);
    if (sqlite3_step(g) != SQLITE_ROW) return db_fail(l, err, GS_EIO, "reading an existing interval");
    bool same = sqlite3_column_int64(g, 0) == r->end && sqlite3_column_int64(g, 1) == r->usd &&
                strcmp((const char *)sqlite3_column_text(g, 2), r->pool) == 0 &&
                strcmp((const char *)sqlite3_column_text(g, 3), r->itype) == 0 &&
                strcmp((const char *)sqlite3_column_text(g, 4), gs_capacity_name(r->capacity)) == 0;
    sqlite3_reset(g);
    if (!same)
        return gs_error_set(err, GS_ECONFLICT,
                            "ledger: row %d (%s/%s on %s at %lld) is already recorded with other values",
                            (int)i, r->project, r->workload, r->node, (long long)r->start);
    return 0;
}

int gs_ledger_append(gs_ledger *l, const gs_spend *rows, int32_t n, int32_t *inserted,
                     gs_error *err) {
    int32_t ins = 0;
    if (inserted) *inserted = 0;
    for (int32_t i = 0; i < n; i++) {
        int rc = check_row(&rows[i], i, err);
        if (rc) return rc;
    }
    int rc = exec(l, "BEGIN IMMEDIATE", err, "begin");
    if (rc) return rc;
    for (int32_t i = 0; i < n && !rc; i++) rc = append_one(l, &rows[i], i, &ins, err);
    sqlite3_reset(l->ins);
    if (!rc) rc = exec(l, "COMMIT", err, "commit");
    if (rc) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (inserted) *inserted = ins;
    return 0;
}

/* Pro-rata amount of an interval inside [:f, :t). */
#define PRORATA                                                                              \
    "(CASE WHEN end_ms = start_ms THEN usd_micro ELSE usd_micro * "                          \
    "(MIN(end_ms, :t) - MAX(start_ms, :f)) / (end_ms - start_ms) END)"
#define IN_RANGE                                                                             \
    "((end_ms > :f AND start_ms < :t) OR (end_ms = start_ms AND start_ms >= :f AND start_ms < :t))"

int gs_ledger_sum(gs_ledger *l, const char *project, gs_ms from, gs_ms to, gs_usd_u *out,
                  gs_error *err) {
    const char *sql = project ? "SELECT COALESCE(SUM(" PRORATA "), 0) FROM spend WHERE project = :p AND " IN_RANGE
                              : "SELECT COALESCE(SUM(" PRORATA "), 0) FROM spend WHERE project <> '_idle' AND " IN_RANGE;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(l, err, GS_EIO, "sum");
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":f"), from);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":t"), to);
    if (project) sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":p"), project, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_fail(l, err, GS_EIO, "sum");
    sqlite3_finalize(st);
    return rc;
}

int gs_ledger_metered_until(gs_ledger *l, const char *node, gs_ms *out, gs_error *err) {
    sqlite3_stmt *st;
    const char *sql = node ? "SELECT COALESCE(MAX(end_ms), -1) FROM spend WHERE node = ?"
                           : "SELECT COALESCE(MAX(end_ms), -1) FROM spend";
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(l, err, GS_EIO, "metered-until");
    if (node) sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_fail(l, err, GS_EIO, "metered-until");
    sqlite3_finalize(st);
    return rc;
}

int gs_ledger_rate(gs_ledger *l, const char *project, gs_ms at, gs_usd_u *out, gs_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT COALESCE(SUM(usd_micro * 3600000 / (end_ms - start_ms)), 0) FROM spend s"
                           " WHERE project = :p AND end_ms > start_ms AND start_ms <= :at AND end_ms >= :at - 300000"
                           " AND start_ms = (SELECT MAX(start_ms) FROM spend t WHERE t.node = s.node"
                           "  AND t.project = s.project AND t.workload = s.workload AND t.start_ms <= :at)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "rate");
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":p"), project, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":at"), at);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_fail(l, err, GS_EIO, "rate");
    sqlite3_finalize(st);
    return rc;
}

int gs_ledger_report(gs_ledger *l, gs_ledger_by by, gs_ms since, gs_ms until,
                     gs_cost_row **rows, int32_t *nrows, gs_error *err) {
    *rows = NULL;
    *nrows = 0;
    const char *key;
    switch (by) {
    case GS_LEDGER_BY_PROJECT: key = "project"; break;
    case GS_LEDGER_BY_POOL: key = "pool"; break;
    case GS_LEDGER_BY_ITYPE: key = "instance_type"; break;
    case GS_LEDGER_BY_DAY: key = "date(start_ms / 1000, 'unixepoch', 'localtime')"; break;
    case GS_LEDGER_BY_WORKLOAD: key = "project || '/' || workload"; break;
    default: return gs_error_set(err, GS_EINVAL, "ledger: bad grouping");
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s AS k, SUM(" PRORATA "), SUM(MIN(end_ms, :t) - MAX(start_ms, :f)), COUNT(*)"
             " FROM spend WHERE " IN_RANGE " GROUP BY k ORDER BY k",
             key);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(l, err, GS_EIO, "report");
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":f"), since);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":t"), until);
    int32_t n = 0, cap = 0;
    gs_cost_row *out = NULL;
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            int32_t ncap = cap ? cap * 2 : 32;
            gs_cost_row *p = realloc(out, (size_t)ncap * sizeof *p);
            if (!p) {
                rc = gs_error_set(err, GS_ENOMEM, "ledger: out of memory");
                break;
            }
            out = p;
            cap = ncap;
        }
        gs_cost_row *r = &out[n++];
        memset(r, 0, sizeof *r);
        const char *k = (const char *)sqlite3_column_text(st, 0);
        snprintf(r->key, sizeof r->key, "%s", k ? k : "");
        r->usd = sqlite3_column_int64(st, 1);
        r->node_ms = sqlite3_column_int64(st, 2);
        r->intervals = sqlite3_column_int64(st, 3);
    }
    if (!rc && s != SQLITE_DONE) rc = db_fail(l, err, GS_EIO, "report");
    sqlite3_finalize(st);
    if (rc) {
        free(out);
        return rc;
    }
    *rows = out;
    *nrows = n;
    return 0;
}

int gs_ledger_env_created(gs_ledger *l, const char *name, const char *project, const char *pool,
                          gs_ms at, gs_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO environments (name, project, pool, created_ms) VALUES (?,?,?,?)"
                           " ON CONFLICT (name) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "environment");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, pool, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(l, err, GS_EIO, "environment");
    sqlite3_finalize(st);
    return rc;
}

int gs_ledger_env_deleted(gs_ledger *l, const char *name, gs_ms at, const char *reason,
                          gs_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE environments SET deleted_ms = ?2, reason = ?3, total_usd_micro ="
                           " (SELECT COALESCE(SUM(usd_micro), 0) FROM spend s"
                           "  WHERE s.project = environments.project AND s.workload = environments.name)"
                           " WHERE name = ?1 AND deleted_ms IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "environment");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(l, err, GS_EIO, "environment");
    sqlite3_finalize(st);
    if (!rc && sqlite3_changes(l->db) != 1)
        rc = gs_error_set(err, GS_ENOENT, "ledger: no live environment %s", name);
    return rc;
}

int gs_ledger_envs(gs_ledger *l, gs_env_row **rows, int32_t *nrows, gs_error *err) {
    *rows = NULL;
    *nrows = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT name, project, pool, created_ms, COALESCE(deleted_ms, -1),"
                           " COALESCE(reason, ''), COALESCE(total_usd_micro,"
                           "  (SELECT COALESCE(SUM(usd_micro), 0) FROM spend s"
                           "   WHERE s.project = e.project AND s.workload = e.name))"
                           " FROM environments e ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "environments");
    int32_t n = 0, cap = 0;
    gs_env_row *out = NULL;
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            int32_t ncap = cap ? cap * 2 : 16;
            gs_env_row *p = realloc(out, (size_t)ncap * sizeof *p);
            if (!p) {
                rc = gs_error_set(err, GS_ENOMEM, "ledger: out of memory");
                break;
            }
            out = p;
            cap = ncap;
        }
        gs_env_row *r = &out[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(r->project, sizeof r->project, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(r->pool, sizeof r->pool, "%s", (const char *)sqlite3_column_text(st, 2));
        r->created = sqlite3_column_int64(st, 3);
        r->deleted = sqlite3_column_int64(st, 4);
        snprintf(r->reason, sizeof r->reason, "%s", (const char *)sqlite3_column_text(st, 5));
        r->usd = sqlite3_column_int64(st, 6);
    }
    if (!rc && s != SQLITE_DONE) rc = db_fail(l, err, GS_EIO, "environments");
    sqlite3_finalize(st);
    if (rc) {
        free(out);
        return rc;
    }
    *rows = out;
    *nrows = n;
    return 0;
}

int gs_ledger_alert_once(gs_ledger *l, const char *budget, const char *window,
                         gs_ms period_start, int32_t pct, gs_ms at, gs_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO alerts_sent (budget, period, period_start_ms, pct, sent_ms)"
                           " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, err, GS_EIO, "alert record");
    sqlite3_bind_text(st, 1, budget, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, window, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, period_start);
    sqlite3_bind_int(st, 4, pct);
    sqlite3_bind_int64(st, 5, at);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(l, err, GS_EIO, "alert record");
    sqlite3_finalize(st);
    if (rc) return rc;
    return sqlite3_changes(l->db) == 1 ? 1 : 0;
}
