/* The SQLite ledger: schema and migrations, append-only and idempotent intervals, pro-rata
 * sums across a period edge, reports, environments, alert dedup, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ledger/ledger.h"

typedef struct fx {
    char dir[64];
    char path[128];
    gs_ledger *l;
} fx;

static int setup(void **st) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/gs-ledger-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
    gs_error e;
    if (gs_ledger_open(f->path, true, &f->l, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    *st = f;
    return 0;
}

static int teardown(void **st) {
    fx *f = *st;
    gs_ledger_close(f->l);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static gs_spend row(const char *project, const char *workload, const char *node, gs_ms start, gs_ms end,
                    gs_usd_u usd) {
    gs_spend r;
    memset(&r, 0, sizeof r);
    snprintf(r.project, sizeof r.project, "%s", project);
    snprintf(r.workload, sizeof r.workload, "%s", workload);
    snprintf(r.pool, sizeof r.pool, "gpu");
    snprintf(r.node, sizeof r.node, "%s", node);
    snprintf(r.itype, sizeof r.itype, "p4d.24xlarge");
    r.capacity = GS_CAP_SPOT;
    r.start = start;
    r.end = end;
    r.usd = usd;
    return r;
}

static void test_schema(void **st) {
    fx *f = *st;
    int v;
    assert_int_equal(gs_ledger_schema_version(f->l, &v, NULL), 0);
    assert_int_equal(v, GS_LEDGER_SCHEMA_VERSION);
    assert_int_equal(gs_ledger_check(f->l, NULL), 0);
    /* tables are STRICT and the journal is WAL */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_list WHERE strict = 1 AND name IN "
                                            "('spend','environments','alerts_sent','schema_version')",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 4);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    /* a STRICT column refuses a text amount */
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO spend (project, workload, pool, node, instance_type, capacity,"
                                      " start_ms, end_ms, usd_micro) VALUES ('a','','p','n','t','spot',0,1,'lots')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(db);
}

static void test_migrates_old_and_refuses_newer(void **st) {
    fx *f = *st;
    gs_ledger_close(f->l);
    f->l = NULL;
    /* a version-1 ledger (intervals only), as the first release wrote it */
    char p1[160];
    snprintf(p1, sizeof p1, "%s/v1.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p1, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;"
                                  "INSERT INTO schema_version VALUES (1);"
                                  "CREATE TABLE spend (id INTEGER PRIMARY KEY, project TEXT NOT NULL, workload TEXT NOT NULL,"
                                  " pool TEXT NOT NULL, node TEXT NOT NULL, instance_type TEXT NOT NULL, capacity TEXT NOT NULL,"
                                  " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, usd_micro INTEGER NOT NULL,"
                                  " UNIQUE (node, start_ms, project, workload)) STRICT;"
                                  "INSERT INTO spend VALUES (NULL,'a','env1','gpu','n1','p4d.24xlarge','spot',0,1000,77);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    gs_ledger *l;
    gs_error e;
    assert_int_equal(gs_ledger_open(p1, false, &l, &e), 0);
    int v;
    assert_int_equal(gs_ledger_schema_version(l, &v, NULL), 0);
    assert_int_equal(v, GS_LEDGER_SCHEMA_VERSION);
    assert_int_equal(gs_ledger_env_created(l, "env1", "a", "gpu", 0, NULL), 0);
    assert_int_equal(gs_ledger_env_deleted(l, "env1", 5000, "ttl", NULL), 0);
    gs_env_row *envs;
    int32_t n;
    assert_int_equal(gs_ledger_envs(l, &envs, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(envs[0].usd, 77); /* the old interval counts */
    free(envs);
    gs_ledger_close(l);
    /* a ledger from a newer gpuscale is refused, untouched */
    assert_int_equal(sqlite3_open(p1, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(gs_ledger_open(p1, false, &l, &e), GS_EUNSUPPORTED);
    assert_non_null(strstr(e.msg, "schema version 99"));
    assert_null(l);
    /* not a database at all */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/junk.db", f->dir);
    FILE *fp = fopen(p2, "w");
    fputs("this is not an SQLite file, it is a shopping list: eggs, milk, more GPUs\n", fp);
    fclose(fp);
    assert_int_not_equal(gs_ledger_open(p2, false, &l, &e), 0);
    assert_non_null(strstr(e.msg, p2));
    /* missing without create */
    snprintf(p2, sizeof p2, "%s/none.db", f->dir);
    assert_int_equal(gs_ledger_open(p2, false, &l, &e), GS_ENOENT);
    assert_int_equal(access(p2, F_OK), -1);
}

static void test_append_idempotent(void **st) {
    fx *f = *st;
    gs_spend r[3] = {row("a", "w", "n1", 0, 1000, 100), row("b", "w", "n1", 0, 1000, 50),
                     row("_idle", "", "n1", 0, 1000, 10)};
    int32_t ins;
    assert_int_equal(gs_ledger_append(f->l, r, 3, &ins, NULL), 0);
    assert_int_equal(ins, 3);
    /* retried write: nothing counted twice */
    assert_int_equal(gs_ledger_append(f->l, r, 3, &ins, NULL), 0);
    assert_int_equal(ins, 0);
    gs_usd_u sum;
    gs_ms until;
    assert_int_equal(gs_ledger_metered_until(f->l, NULL, &until, NULL), 0);
    assert_int_equal(until, 1000);
    assert_int_equal(gs_ledger_metered_until(f->l, "n9", &until, NULL), 0);
    assert_int_equal(until, -1);
    assert_int_equal(gs_ledger_sum(f->l, "a", 0, 1000, &sum, NULL), 0);
    assert_int_equal(sum, 100);
    assert_int_equal(gs_ledger_sum(f->l, NULL, 0, 1000, &sum, NULL), 0);
    assert_int_equal(sum, 150); /* idle is not a project */
    /* same key, another amount: a conflict, and the whole batch is refused */
    gs_spend c[2] = {row("a", "w", "n2", 0, 1000, 5), row("a", "w", "n1", 0, 1000, 101)};
    gs_error e;
    assert_int_equal(gs_ledger_append(f->l, c, 2, &ins, &e), GS_ECONFLICT);
    assert_non_null(strstr(e.msg, "row 1"));
    assert_int_equal(gs_ledger_sum(f->l, "a", 0, 1000, &sum, NULL), 0);
    assert_int_equal(sum, 100);
    /* bad rows: nothing written */
    gs_spend b[2] = {row("a", "w", "n3", 0, 1000, 5), row("a", "w", "n3", 2000, 1000, 5)};
    assert_int_equal(gs_ledger_append(f->l, b, 2, &ins, &e), GS_EINVAL);
    b[1] = row("", "w", "n3", 0, 1000, 5);
    assert_int_equal(gs_ledger_append(f->l, b, 2, &ins, &e), GS_EINVAL);
    b[1] = row("a", "w", "n4", 0, 1000, -5);
    assert_int_equal(gs_ledger_append(f->l, b, 2, &ins, &e), GS_EINVAL);
    assert_int_equal(gs_ledger_sum(f->l, "a", 0, 1000, &sum, NULL), 0);
    assert_int_equal(sum, 100);
}

static void test_append_only(void **st) {
    fx *f = *st;
    gs_spend r = row("a", "w", "n1", 0, 1000, 100);
    assert_int_equal(gs_ledger_append(f->l, &r, 1, NULL, NULL), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE spend SET usd_micro = 1", NULL, NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM spend", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_prorata_and_report(void **st) {
    fx *f = *st;
    /* an interval straddling a month edge at t = 10000 */
    gs_spend r[4] = {row("a", "w", "n1", 8000, 12000, 400), row("a", "w", "n1", 12000, 13000, 100),
                     row("b", "x", "n2", 9000, 10000, 7), row("_idle", "", "n1", 8000, 12000, 3)};
    snprintf(r[2].pool, sizeof r[2].pool, "cpu");
    snprintf(r[2].itype, sizeof r[2].itype, "m5.xlarge");
    r[2].capacity = GS_CAP_ON_DEMAND;
    assert_int_equal(gs_ledger_append(f->l, r, 4, NULL, NULL), 0);
    gs_usd_u s1, s2;
    assert_int_equal(gs_ledger_sum(f->l, "a", 0, 10000, &s1, NULL), 0);
    assert_int_equal(gs_ledger_sum(f->l, "a", 10000, 20000, &s2, NULL), 0);
    assert_int_equal(s1, 200);
    assert_int_equal(s2, 300);
    gs_cost_row *rows;
    int32_t n;
    assert_int_equal(gs_ledger_report(f->l, GS_LEDGER_BY_PROJECT, 0, 100000, &rows, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].key, "_idle");
    assert_string_equal(rows[1].key, "a");
    assert_int_equal(rows[1].usd, 500);
    assert_int_equal(rows[1].node_ms, 5000);
    assert_int_equal(rows[1].intervals, 2);
    free(rows);
    assert_int_equal(gs_ledger_report(f->l, GS_LEDGER_BY_POOL, 0, 100000, &rows, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].key, "cpu");
    assert_int_equal(rows[1].usd, 503);
    free(rows);
    assert_int_equal(gs_ledger_report(f->l, GS_LEDGER_BY_ITYPE, 9500, 12000, &rows, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].key, "p4d.24xlarge");
    assert_int_equal(rows[1].usd, 250 + 1); /* 400 x 2500/4000 + 3 x 2500/4000 floored */
    free(rows);
    assert_int_equal(gs_ledger_report(f->l, GS_LEDGER_BY_WORKLOAD, 0, 100000, &rows, &n, NULL), 0);
    assert_string_equal(rows[2].key, "b/x");
    free(rows);
}

static void test_envs_and_alerts(void **st) {
    fx *f = *st;
    assert_int_equal(gs_ledger_env_created(f->l, "pr-42", "a", "gpu", 100, NULL), 0);
    assert_int_equal(gs_ledger_env_created(f->l, "pr-42", "a", "gpu", 100, NULL), 0); /* idempotent */
    gs_spend r[3] = {row("a", "pr-42", "n1", 0, 1000, 100), row("a", "pr-42", "n2", 0, 1000, 20),
                     row("a", "other", "n1", 1000, 2000, 9)};
    assert_int_equal(gs_ledger_append(f->l, r, 3, NULL, NULL), 0);
    gs_env_row *e;
    int32_t n;
    assert_int_equal(gs_ledger_envs(f->l, &e, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].usd, 120);
    assert_int_equal(e[0].deleted, -1);
    free(e);
    assert_int_equal(gs_ledger_env_deleted(f->l, "pr-42", 3000, "ttl", NULL), 0);
    gs_error err;
    assert_int_equal(gs_ledger_env_deleted(f->l, "pr-42", 4000, "ttl", &err), GS_ENOENT);
    assert_int_equal(gs_ledger_envs(f->l, &e, &n, NULL), 0);
    assert_int_equal(e[0].deleted, 3000);
    assert_string_equal(e[0].reason, "ttl");
    assert_int_equal(e[0].usd, 120);
    free(e);
    assert_int_equal(gs_ledger_alert_once(f->l, "b1", "day", 0, 80, 5, NULL), 1);
    assert_int_equal(gs_ledger_alert_once(f->l, "b1", "day", 0, 80, 6, NULL), 0);
    assert_int_equal(gs_ledger_alert_once(f->l, "b1", "day", 86400000, 80, 7, NULL), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_old_and_refuses_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prorata_and_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envs_and_alerts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
