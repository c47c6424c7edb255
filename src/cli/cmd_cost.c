/* gpuscale cost: spend from the ledger grouped by project, pool, instance type, day or
 * workload, as a table, JSON or CSV; --envs lists environments and their totals. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "io/ledger/ledger.h"
#include "io/tzperiod.h"

static void help(void) {
    printf("usage: gpuscale cost [--ledger FILE] [--by project|pool|instance-type|day|workload]\n"
           "                     [--since DATE] [--until DATE] [--tz ZONE] [--json|--csv] [--envs]\n\n"
           "Reports spend recorded in the ledger (see docs/cost.md).\n\n"
           "  --ledger FILE   the SQLite ledger (default: $GPUSCALE_LEDGER, else gpuscale-ledger.db)\n"
           "  --by KEY        group by project (default), pool, instance-type, day or workload;\n"
           "                  the pool's idle cost is the project \"_idle\"\n"
           "  --since DATE    from DATE (YYYY-MM-DD, local midnight in --tz, or\n"
           "                  YYYY-MM-DDTHH:MM:SSZ); intervals across it count pro rata\n"
           "  --until DATE    up to DATE (exclusive)\n"
           "  --tz ZONE       IANA timezone for dates and --by day (default UTC)\n"
           "  --json, --csv   machine-readable output (default: a table)\n"
           "  --envs          list environments (project, pool, created, deleted, reason, total)\n\n"
           "Amounts are exact micro-dollars summed from the ledger; HOURS is the metered time of\n"
           "the key's intervals (a node shared by three projects counts once for each).\n");
}

static const char *iso(gs_ms t, char *buf, size_t size) {
    if (t < 0) return "";
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static int print_envs(gs_ledger *l, int fmt) {
    gs_env_row *rows;
    int32_t n;
    gs_error e;
    if (gs_ledger_envs(l, &rows, &n, &e)) {
        fprintf(stderr, "gpuscale cost: %s\n", e.msg);
        return GS_EXIT_FAIL;
    }
    char b1[32], b2[32], u[32];
    if (fmt == 1) {
        json_t *arr = json_array();
        for (int32_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:I, s:s}", "name", rows[i].name,
                                                 "project", rows[i].project, "pool", rows[i].pool, "created",
                                                 iso(rows[i].created, b1, sizeof b1), "deleted",
                                                 rows[i].deleted >= 0 ? iso(rows[i].deleted, b2, sizeof b2) : NULL,
                                                 "reason", rows[i].reason, "microUsd", (json_int_t)rows[i].usd,
                                                 "usd", gs_fmt_usd(rows[i].usd, u, sizeof u)));
        json_t *o = json_pack("{s:o}", "environments", arr);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(o);
    } else if (fmt == 2) {
        printf("name,project,pool,created,deleted,reason,micro_usd\n");
        for (int32_t i = 0; i < n; i++)
            printf("%s,%s,%s,%s,%s,%s,%lld\n", rows[i].name, rows[i].project, rows[i].pool,
                   iso(rows[i].created, b1, sizeof b1), iso(rows[i].deleted, b2, sizeof b2), rows[i].reason,
                   (long long)rows[i].usd);
    } else {
        printf("%-24s %-16s %-12s %-21s %-21s %-10s %14s\n", "ENVIRONMENT", "PROJECT", "POOL", "CREATED", "DELETED",
               "REASON", "COST");
        for (int32_t i = 0; i < n; i++)
            printf("%-24s %-16s %-12s %-21s %-21s %-10s %14s\n", rows[i].name, rows[i].project, rows[i].pool,
                   iso(rows[i].created, b1, sizeof b1), rows[i].deleted >= 0 ? iso(rows[i].deleted, b2, sizeof b2) : "-",
                   rows[i].reason[0] ? rows[i].reason : "-", gs_fmt_usd(rows[i].usd, u, sizeof u));
    }
    free(rows);
    return GS_EXIT_OK;
}

int gs_cmd_cost(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        help();
        return GS_EXIT_OK;
    }
    const char *ledger = getenv("GPUSCALE_LEDGER");
    if (!ledger || !ledger[0]) ledger = "gpuscale-ledger.db";
    const char *by_s = "project", *since_s = NULL, *until_s = NULL, *tz = "UTC";
    int fmt = 0; /* 0 table, 1 json, 2 csv */
    int envs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--ledger") == 0) dst = &ledger;
        else if (strcmp(a, "--by") == 0) dst = &by_s;
        else if (strcmp(a, "--since") == 0) dst = &since_s;
        else if (strcmp(a, "--until") == 0) dst = &until_s;
        else if (strcmp(a, "--tz") == 0) dst = &tz;
        else if (strcmp(a, "--json") == 0 || strcmp(a, "--csv") == 0) {
            int f = a[2] == 'j' ? 1 : 2;
            if (fmt && fmt != f) return gs_cli_usage_error("cost", "--json and --csv exclude each other");
            fmt = f;
            continue;
        } else if (strcmp(a, "--envs") == 0) {
            envs = 1;
            continue;
        } else {
            return gs_cli_usage_error("cost", "unknown argument '%s'", a);
        }
        if (i + 1 >= argc) return gs_cli_usage_error("cost", "%s needs a value", a);
        *dst = argv[++i];
    }
    gs_ledger_by by;
    if (strcmp(by_s, "project") == 0) by = GS_LEDGER_BY_PROJECT;
    else if (strcmp(by_s, "pool") == 0) by = GS_LEDGER_BY_POOL;
    else if (strcmp(by_s, "instance-type") == 0) by = GS_LEDGER_BY_ITYPE;
    else if (strcmp(by_s, "day") == 0) by = GS_LEDGER_BY_DAY;
    else if (strcmp(by_s, "workload") == 0) by = GS_LEDGER_BY_WORKLOAD;
    else return gs_cli_usage_error("cost", "--by must be project, pool, instance-type, day or workload, not '%s'", by_s);
    gs_error e;
    if (gs_tz_check(tz, &e)) return gs_cli_usage_error("cost", "--tz: %s", e.msg);
    gs_ms since = 0, until = INT64_MAX;
    if (since_s && gs_tz_parse_time(tz, since_s, &since, &e)) return gs_cli_usage_error("cost", "--since: %s", e.msg);
    if (until_s && gs_tz_parse_time(tz, until_s, &until, &e)) return gs_cli_usage_error("cost", "--until: %s", e.msg);
    if (until <= since) return gs_cli_usage_error("cost", "--until must be after --since");
    /* --by day groups by the local date: SQLite's 'localtime' follows TZ (this process only) */
    setenv("TZ", tz, 1);
    tzset();

    gs_ledger *l;
    if (gs_ledger_open(ledger, false, &l, &e)) {
        fprintf(stderr, "gpuscale cost: %s\n", e.msg);
        return GS_EXIT_FAIL;
    }
    if (envs) {
        int rc = print_envs(l, fmt);
        gs_ledger_close(l);
        return rc;
    }
    gs_cost_row *rows;
    int32_t n;
    if (gs_ledger_report(l, by, since, until, &rows, &n, &e)) {
        fprintf(stderr, "gpuscale cost: %s\n", e.msg);
        gs_ledger_close(l);
        return GS_EXIT_FAIL;
    }
    gs_ledger_close(l);
    gs_usd_u total = 0;
    for (int32_t i = 0; i < n; i++) total += rows[i].usd;
    char u[32], b1[32], b2[32];
    if (fmt == 1) {
        json_t *arr = json_array();
        for (int32_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:I, s:I}", "key", rows[i].key, "microUsd",
                                                 (json_int_t)rows[i].usd, "usd", gs_fmt_usd(rows[i].usd, u, sizeof u),
                                                 "nodeSeconds", (json_int_t)(rows[i].node_ms / 1000), "intervals",
                                                 (json_int_t)rows[i].intervals));
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:s, s:o, s:I, s:s}", "by", by_s, "since",
                              since_s ? iso(since, b1, sizeof b1) : NULL, "until",
                              until_s ? iso(until, b2, sizeof b2) : NULL, "timezone", tz, "rows", arr,
                              "totalMicroUsd", (json_int_t)total, "total", gs_fmt_usd(total, u, sizeof u));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(o);
    } else if (fmt == 2) {
        printf("%s,micro_usd,usd,node_seconds,intervals\n", by_s);
        for (int32_t i = 0; i < n; i++)
            printf("%s,%lld,%s,%lld,%lld\n", rows[i].key, (long long)rows[i].usd, gs_fmt_usd(rows[i].usd, u, sizeof u),
                   (long long)(rows[i].node_ms / 1000), (long long)rows[i].intervals);
    } else {
        char head[24];
        size_t k = 0;
        for (; by_s[k] && k + 1 < sizeof head; k++) head[k] = (char)toupper((unsigned char)by_s[k]);
        head[k] = '\0';
        printf("%-40s %16s %12s %10s\n", head, "COST", "HOURS", "INTERVALS");
        for (int32_t i = 0; i < n; i++)
            printf("%-40s %16s %12.3f %10lld\n", rows[i].key, gs_fmt_usd(rows[i].usd, u, sizeof u),
                   (double)rows[i].node_ms / 3.6e6, (long long)rows[i].intervals);
        printf("%-40s %16s\n", "TOTAL", gs_fmt_usd(total, u, sizeof u));
    }
    free(rows);
    return GS_EXIT_OK;
}
