/* gpuscale budget status: each budget's spend in its current hour/day/month (in the budget's
 * timezone), its limit, the percentage used, and the forecast to the period end at the
 * project's current burn rate (from the ledger's latest intervals). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/costgov.h"
#include "io/catalog_load.h"
#include "io/fs.h"
#include "io/tzperiod.h"

#if defined(__has_include)
#if __has_include("io/config/config.h")
#include "io/config/config.h"
#define GS_HAVE_CONFIG 1
#endif
#endif
#ifndef GS_HAVE_CONFIG
#define GS_HAVE_CONFIG 0
#endif

#define MAX_CONFIGS 64

static void help(void) {
    printf("usage: gpuscale budget status --config FILE... [--ledger FILE] [--at TIME] [--json]\n\n"
           "Shows each Budget's spend in its current hour, day and calendar month (in the\n"
           "budget's timezone), the limit, the percentage used, and the forecast to the end of\n"
           "the period at the project's current burn rate (its latest metered intervals).\n\n"
           "  --config FILE   configuration with Budget objects (repeatable)\n"
           "  --ledger FILE   the SQLite ledger (default: $GPUSCALE_LEDGER, else gpuscale-ledger.db)\n"
           "  --at TIME       evaluate at TIME (YYYY-MM-DDTHH:MM:SSZ) instead of now\n"
           "  --json          machine-readable output\n\n"
           "Exit status: 0, also when budgets are exceeded (see the EXCEEDED column); 1 on a bad\n"
           "configuration or ledger; 2 on a usage error.\n");
}

static const char *iso(gs_ms t, char *buf, size_t size) {
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Prints the status of budgets at `at`. Shared with tests through the CLI. */
static int report(gs_ledger *l, const gs_budget *budgets, int32_t n, gs_ms at, int json) {
    gs_budget_state *st = calloc((size_t)(n ? n : 1), sizeof *st);
    if (!st) return GS_EXIT_FAIL;
    gs_error e;
    if (gs_costgov_budget_states(l, budgets, n, at, NULL, 0, st, &e)) {
        fprintf(stderr, "gpuscale budget: %s\n", e.msg);
        free(st);
        return GS_EXIT_FAIL;
    }
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-20s %-16s %-6s %14s %14s %6s %14s %-21s %s\n", "BUDGET", "PROJECT", "WINDOW", "SPENT", "LIMIT", "USED",
               "FORECAST", "PERIOD-END", "STATE");
    for (int32_t i = 0; i < n; i++) {
        gs_budget_eval ev;
        if (gs_budget_evaluate(&st[i], at, &ev, &e)) {
            fprintf(stderr, "gpuscale budget: %s\n", e.msg);
            json_decref(arr);
            free(st);
            return GS_EXIT_FAIL;
        }
        const gs_budget *b = &budgets[i];
        const char *mode = b->enforce == GS_ENFORCE_HARD ? "hard" : "soft";
        const char *onx = b->on_exceeded == GS_ON_EXCEEDED_BLOCK         ? "block"
                          : b->on_exceeded == GS_ON_EXCEEDED_SCALE_TO_MIN ? "scaleToMin"
                                                                          : "alert";
        for (int w = 0; w < GS_WIN__N; w++) {
            const gs_window_eval *we = &ev.w[w];
            if (!we->limited) continue;
            char s1[32], s2[32], s3[32], s4[32];
            const char *state = we->exceeded ? "EXCEEDED" : we->forecast_over ? "forecast-over" : "ok";
            if (json) {
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:I, s:s, s:s, s:s, s:s}", "budget",
                                   b->name, "project", b->project, "timezone", b->timezone[0] ? b->timezone : "UTC",
                                   "window", gs_window_name((gs_window)w), "state", state, "spentMicroUsd",
                                   (json_int_t)we->spent, "limitMicroUsd", (json_int_t)we->limit, "pct", (int)we->pct,
                                   "forecastMicroUsd", (json_int_t)we->forecast, "ratePerHourMicroUsd",
                                   (json_int_t)st[i].rate_per_hour, "periodStart",
                                   iso(st[i].periods.start[w], s1, sizeof s1), "periodEnd",
                                   iso(st[i].periods.end[w], s2, sizeof s2), "enforce", mode, "onExceeded", onx));
            } else {
                printf("%-20s %-16s %-6s %14s %14s %5d%% %14s %-21s %s (%s, %s)\n", b->name, b->project,
                       gs_window_name((gs_window)w), gs_fmt_usd(we->spent, s1, sizeof s1),
                       gs_fmt_usd(we->limit, s2, sizeof s2), (int)we->pct, gs_fmt_usd(we->forecast, s3, sizeof s3),
                       iso(st[i].periods.end[w], s4, sizeof s4), state, mode, onx);
            }
        }
    }
    if (json) {
        char t[32];
        json_t *o = json_pack("{s:s, s:o}", "at", iso(at, t, sizeof t), "budgets", arr);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(o);
    }
    free(st);
    return GS_EXIT_OK;
}

int gs_cmd_budget(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        help();
        return GS_EXIT_OK;
    }
    const char *ledger = getenv("GPUSCALE_LEDGER");
    if (!ledger || !ledger[0]) ledger = "gpuscale-ledger.db";
    const char *configs[MAX_CONFIGS];
    int nconfigs = 0, json = 0, sub = 0;
    const char *at_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--ledger") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--at") == 0) {
            if (i + 1 >= argc) return gs_cli_usage_error("budget", "%s needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 'l') ledger = v;
            else if (a[2] == 'a') at_s = v;
            else if (nconfigs == MAX_CONFIGS) return gs_cli_usage_error("budget", "at most %d --config files", MAX_CONFIGS);
            else configs[nconfigs++] = v;
        } else if (a[0] != '-' && !sub && strcmp(a, "status") == 0) {
            sub = 1;
        } else {
            return gs_cli_usage_error("budget", "unknown argument '%s'", a);
        }
    }
    if (!sub) return gs_cli_usage_error("budget", "missing subcommand (status)");
    if (nconfigs == 0) return gs_cli_usage_error("budget", "status needs --config FILE");
    gs_error e;
    gs_ms at;
    if (at_s) {
        if (gs_tz_parse_time("UTC", at_s, &at, &e)) return gs_cli_usage_error("budget", "--at: %s", e.msg);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        at = (gs_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
#if GS_HAVE_CONFIG
    gs_catalog cat;
    gs_catalog_init(&cat);
    if (gs_catalog_load(&cat, gs_fs_data_dir(), &e)) {
        char buf[GS_ERROR_MSG_MAX + GS_ERROR_FILE_MAX + 32];
        fprintf(stderr, "gpuscale budget: %s\n", gs_error_format(&e, buf, sizeof buf));
        return GS_EXIT_FAIL;
    }
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (gs_config_load_files(&cfg, configs, nconfigs, &cat, &e)) {
        char buf[GS_ERROR_MSG_MAX + GS_ERROR_FILE_MAX + 32];
        fprintf(stderr, "gpuscale budget: %s\n", gs_error_format(&e, buf, sizeof buf));
        gs_catalog_free(&cat);
        return GS_EXIT_FAIL;
    }
    gs_catalog_free(&cat);
    int rc = GS_EXIT_FAIL;
    for (int32_t i = 0; i < cfg.nbudgets; i++)
        if (gs_tz_check(cfg.budgets[i].timezone, &e)) {
            fprintf(stderr, "gpuscale budget: budget %s: %s\n", cfg.budgets[i].name, e.msg);
            gs_config_free(&cfg);
            return GS_EXIT_FAIL;
        }
    gs_ledger *l;
    if (gs_ledger_open(ledger, false, &l, &e)) {
        fprintf(stderr, "gpuscale budget: %s\n", e.msg);
    } else {
        if (cfg.nbudgets == 0) fprintf(stderr, "gpuscale budget: the configuration has no Budget objects\n");
        rc = report(l, cfg.budgets, cfg.nbudgets, at, json);
        gs_ledger_close(l);
    }
    gs_config_free(&cfg);
    return rc;
#else
    (void)report;
    (void)ledger;
    (void)configs;
    (void)json;
    (void)at;
    return gs_cli_not_landed("budget", "reading Budget objects needs the configuration loader (io/config), "
                                       "which has not landed on this branch");
#endif
}
