/* Crash safety of the ledger, in the spirit of SQLite's own crash tests: a child process
 * appends batches of intervals (one transaction each) and reports each batch through a pipe
 * only after COMMIT returned; the parent kills it with SIGKILL at random moments, many times
 * (including during the schema migrations of the very first open). After every kill the
 * parent checks that the ledger opens cleanly (PRAGMA integrity_check), that every batch the
 * child reported is there in full, that no batch is there in part (transactions are atomic),
 * and that nothing is counted twice: each restarted child first re-writes the last two
 * batches it reported, and the ledger must report them as already present (0 inserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/ledger/ledger.h"

#define ROWS_PER_BATCH 5
#define KILLS 150

typedef struct report {
    int32_t batch;
    int32_t inserted;
} report;

static gs_usd_u amount(int32_t batch, int k) {
    return (gs_usd_u)batch * 10 + k + 1;
}

static void child(const char *path, int32_t start, int fd) {
    gs_ledger *l;
    gs_error e;
    if (gs_ledger_open(path, true, &l, &e)) {
        fprintf(stderr, "child: %s\n", e.msg);
        _exit(3);
    }
    for (int32_t b = start; b < start + 100000; b++) {
        gs_spend rows[ROWS_PER_BATCH];
        memset(rows, 0, sizeof rows);
        for (int k = 0; k < ROWS_PER_BATCH; k++) {
            snprintf(rows[k].project, sizeof rows[k].project, "p%d", k % 2);
            snprintf(rows[k].node, sizeof rows[k].node, "node-%d", k);
            snprintf(rows[k].pool, sizeof rows[k].pool, "gpu");
            snprintf(rows[k].itype, sizeof rows[k].itype, "p5.48xlarge");
            rows[k].start = (gs_ms)b * 1000;
            rows[k].end = (gs_ms)b * 1000 + 1000;
            rows[k].usd = amount(b, k);
        }
        int32_t ins;
        if (gs_ledger_append(l, rows, ROWS_PER_BATCH, &ins, &e)) {
            fprintf(stderr, "child: batch %d: %s\n", (int)b, e.msg);
            _exit(4);
        }
        report r = {b, ins};
        if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(5);
    }
    gs_ledger_close(l);
    _exit(0);
}

static void test_sigkill_many_times(void **st) {
    (void)st;
    char dir[] = "/tmp/gs-crash-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("GS_CRASH_SEED");
    if (env) seed = (unsigned)strtoul(env, NULL, 10);
    print_message("crash test: seed %u (set GS_CRASH_SEED to replay), %d kills\n", seed, KILLS);
    int32_t confirmed = -1; /* highest batch reported committed */
    int kills_with_progress = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int round = 0; round < KILLS; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        int32_t start = confirmed >= 1 ? confirmed - 1 : 0;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(path, start, fds[1]);
        }
        close(fds[1]);
        /* early rounds die young (inside open/migration), later ones mid-stream */
        long us = round < 10 ? (long)(rand_r(&seed) % 3000) : (long)(rand_r(&seed) % 40000);
        struct timespec d = {0, us * 1000};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status)) fail_msg("round %d: child exited by itself (status %d)", round, status);
        report r;
        int32_t before = confirmed;
        ssize_t got;
        while ((got = read(fds[0], &r, sizeof r)) == (ssize_t)sizeof r) {
            if (r.batch <= before && r.inserted != 0)
                fail_msg("round %d: batch %d was committed before but inserted %d rows again", round,
                         (int)r.batch, (int)r.inserted);
            if (r.batch > before + 1 && r.inserted != ROWS_PER_BATCH)
                fail_msg("round %d: new batch %d inserted %d rows", round, (int)r.batch, (int)r.inserted);
            if (r.batch > confirmed) confirmed = r.batch;
        }
        close(fds[0]);
        if (confirmed > before) kills_with_progress++;

        /* the ledger opens cleanly and holds exactly the committed batches */
        gs_ledger *l;
        gs_error e;
        if (gs_ledger_open(path, true, &l, &e)) fail_msg("round %d: reopen: %s", round, e.msg);
        if (gs_ledger_check(l, &e)) fail_msg("round %d: %s", round, e.msg);
        gs_ledger_close(l);
        sqlite3 *db;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT start_ms / 1000, COUNT(*), SUM(usd_micro) FROM spend"
                                            " GROUP BY start_ms / 1000 ORDER BY 1",
                                            -1, &s, NULL),
                         SQLITE_OK);
        int32_t expect = 0;
        while (sqlite3_step(s) == SQLITE_ROW) {
            int32_t b = sqlite3_column_int(s, 0);
            int n = sqlite3_column_int(s, 1);
            gs_usd_u sum = sqlite3_column_int64(s, 2);
            gs_usd_u want = 0;
            for (int k = 0; k < ROWS_PER_BATCH; k++) want += amount(b, k);
            if (b != expect) fail_msg("round %d: batch %d missing (next present %d, confirmed %d)", round,
                                      (int)expect, (int)b, (int)confirmed);
            if (n != ROWS_PER_BATCH || sum != want)
                fail_msg("round %d: batch %d has %d rows / %lld (want %d / %lld)", round, (int)b, n,
                         (long long)sum, ROWS_PER_BATCH, (long long)want);
            expect++;
        }
        sqlite3_finalize(s);
        sqlite3_close(db);
        /* every reported batch is present; at most one unreported batch beyond them */
        if (expect - 1 < confirmed || expect - 1 > confirmed + 1)
            fail_msg("round %d: ledger holds batches 0..%d, child confirmed 0..%d", round, (int)(expect - 1),
                     (int)confirmed);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("crash test: %d kills in %.1f s, %d batches (%d intervals) committed, %d kills landed "
                  "after progress\n",
                  KILLS, secs, (int)confirmed + 1, (int)(confirmed + 1) * ROWS_PER_BATCH, kills_with_progress);
    /* the test means something only if the writer got going between kills */
    assert_true(confirmed >= 50);
    assert_true(kills_with_progress >= KILLS / 3);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_many_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
