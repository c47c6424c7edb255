/* The whole chain: a cluster snapshot is metered tick by tick into a real ledger file
 * (cli/costgov), budgets read their spend back from it, the gate decides, alerts are sent
 * once per period, and `gpuscale cost` (the built binary) reports exactly what was metered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/costgov.h"
#include "io/tzperiod.h"
#include "policy/mig.h"
#include "testutil.h"

typedef struct fx {
    gs_catalog cat;
    gs_snapshot s;
    gs_config cfg;
    gs_pool pools[2];
    char dir[64];
    char path[128];
    gs_ledger *l;
} fx;

static gs_ms T0; /* 2026-03-28T22:00:00Z: 23:00 in Berlin, an hour before the 23-hour day */

static void add_pod(fx *f, int32_t node, const char *project, const char *workload, gs_gpu_form form,
                    int32_t count, int gpu, int part) {
    gs_pod p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "p%d", (int)f->s.npods);
    snprintf(p.project, sizeof p.project, "%s", project);
    snprintf(p.workload, sizeof p.workload, "%s", workload);
    p.spec.gpu.form = form;
    p.spec.gpu.count = count;
    p.phase = GS_POD_RUNNING;
    p.node = node;
    p.gpu = (int8_t)gpu;
    p.part = (int8_t)part;
    assert_true(gs_snapshot_add_pod(&f->s, &p) >= 0);
}

static int setup(void **st) {
    fx *f = calloc(1, sizeof *f);
    gs_test_catalog(&f->cat);
    gs_snapshot_init(&f->s);
    snprintf(f->pools[0].name, sizeof f->pools[0].name, "mig-pool");
    snprintf(f->pools[1].name, sizeof f->pools[1].name, "ts-pool");
    f->cfg.pools = f->pools;
    f->cfg.npools = 2;
    struct tm tm = {.tm_year = 126, .tm_mon = 2, .tm_mday = 28, .tm_hour = 22};
    T0 = (gs_ms)timegm(&tm) * 1000;
    /* node 0: p4d.24xlarge spot, GPU 0 MIG (3g.20gb for team-a, 1g.5gb for team-b), GPU 1 whole team-a */
    gs_node n;
    gs_node_init(&n, "ip-10-0-0-1", &f->cat, gs_catalog_find(&f->cat, "p4d.24xlarge"), GS_CAP_SPOT);
    n.pool = 0;
    n.created_at = T0 - GS_MIN(10);
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("a100-40gb"));
    n.gpus[0].mode = GS_GPUMODE_MIG;
    n.gpus[0].nparts = 2;
    n.gpus[0].parts[0].profile = (int8_t)gs_mig_profile_find(m, "3g.20gb");
    n.gpus[0].parts[0].start = 0;
    n.gpus[0].parts[1].profile = (int8_t)gs_mig_profile_find(m, "1g.5gb");
    n.gpus[0].parts[1].start = 4;
    assert_true(gs_mig_valid(m, n.gpus[0].parts, 2, NULL));
    assert_int_equal(gs_snapshot_add_node(&f->s, &n), 0);
    /* node 1: g5.xlarge on-demand, time-sliced 4 ways: team-b 3 replicas (environment pr-7) */
    gs_node_init(&n, "ip-10-0-0-2", &f->cat, gs_catalog_find(&f->cat, "g5.xlarge"), GS_CAP_ON_DEMAND);
    n.pool = 1;
    n.created_at = T0 + GS_MIN(1); /* launched after the first tick started */
    n.gpus[0].mode = GS_GPUMODE_TIMESLICED;
    n.gpus[0].ts_replicas = 4;
    assert_int_equal(gs_snapshot_add_node(&f->s, &n), 1);
    add_pod(f, 0, "team-a", "llm", GS_GPU_MIG, 1, 0, 0);
    add_pod(f, 0, "team-b", "embed", GS_GPU_MIG, 1, 0, 1);
    add_pod(f, 0, "team-a", "train", GS_GPU_WHOLE, 1, 1, -1);
    add_pod(f, 1, "team-b", "pr-7", GS_GPU_SHARED, 3, 0, -1);
    snprintf(f->dir, sizeof f->dir, "/tmp/gs-meter-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
    if (gs_ledger_open(f->path, true, &f->l, NULL)) return -1;
    *st = f;
    return 0;
}

static int teardown(void **st) {
    fx *f = *st;
    gs_ledger_close(f->l);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    gs_snapshot_free(&f->s);
    gs_catalog_free(&f->cat);
    free(f);
    return 0;
}

/* Meters 2 hours in 10-second ticks (720 ticks). */
static void meter_two_hours(fx *f) {
    gs_costgov_rate rates[8];
    int32_t nr;
    gs_error e;
    for (gs_ms t = T0; t < T0 + GS_HOUR(2); t += GS_SEC(10))
        if (gs_costgov_meter(&f->s, &f->cat, &f->cfg, t, t + GS_SEC(10), f->l, NULL, rates, 8, &nr, &e))
            fail_msg("meter: %s", e.msg);
    /* a retried tick is not counted twice */
    assert_int_equal(gs_costgov_meter(&f->s, &f->cat, &f->cfg, T0, T0 + GS_SEC(10), f->l, NULL, NULL, 0, NULL, &e), 0);
}

static gs_usd_u node_cost(fx *f, int node, gs_ms from, gs_ms to) {
    const gs_node *n = &f->s.nodes[node];
    gs_usd_u a, b;
    gs_usd_u price = gs_itype_price(&f->cat.types[n->itype], n->capacity);
    assert_int_equal(gs_cost_for(price, from - n->created_at, &a), 0);
    assert_int_equal(gs_cost_for(price, to - n->created_at, &b), 0);
    return b - a;
}

static json_t *run_json(const char *cmd) {
    char *out = NULL;
    int rc = gs_test_sh(cmd, &out);
    if (rc != 0) fail_msg("%s -> %d: %s", cmd, rc, out ? out : "");
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j) fail_msg("%s: not JSON: %s", cmd, out);
    free(out);
    return j;
}

static void test_cli_reports_exact_totals(void **st) {
    fx *f = *st;
    meter_two_hours(f);
    gs_usd_u want = node_cost(f, 0, T0, T0 + GS_HOUR(2)) + node_cost(f, 1, T0 + GS_MIN(1), T0 + GS_HOUR(2));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --json 2>&1", GS_BINARY, f->path);
    json_t *j = run_json(cmd);
    assert_int_equal(json_integer_value(json_object_get(j, "totalMicroUsd")), want);
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 3); /* _idle, team-a, team-b */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "key")), "_idle");
    json_decref(j);
    /* by pool: the same total, split by the pools' names */
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --by pool --json 2>&1", GS_BINARY, f->path);
    j = run_json(cmd);
    rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "key")), "mig-pool");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "microUsd")),
                     node_cost(f, 0, T0, T0 + GS_HOUR(2)));
    json_decref(j);
    /* by day in Berlin: 22:00Z-24:00Z is 23:00-01:00 local, so two local dates; in UTC one */
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --by day --tz Europe/Berlin --json 2>&1", GS_BINARY, f->path);
    j = run_json(cmd);
    rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "key")), "2026-03-28");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "key")), "2026-03-29");
    assert_int_equal(json_integer_value(json_object_get(j, "totalMicroUsd")), want);
    json_decref(j);
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --by day --json 2>&1", GS_BINARY, f->path);
    j = run_json(cmd);
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
    json_decref(j);
    /* --since the Berlin date: only the second local hour (pro rata is exact on tick edges) */
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --since 2026-03-29 --tz Europe/Berlin --json 2>&1", GS_BINARY,
             f->path);
    j = run_json(cmd);
    gs_usd_u second = node_cost(f, 0, T0 + GS_HOUR(1), T0 + GS_HOUR(2)) +
                      node_cost(f, 1, T0 + GS_HOUR(1), T0 + GS_HOUR(2));
    gs_usd_u got = json_integer_value(json_object_get(j, "totalMicroUsd"));
    /* each 10 s tick rounds its own parts; allow one micro-dollar per part per tick */
    assert_true(llabs(got - second) <= 360 * 6);
    json_decref(j);
    /* CSV header and the table's TOTAL line */
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --by instance-type --csv 2>&1", GS_BINARY, f->path);
    assert_int_equal(gs_test_sh(cmd, &out), 0);
    assert_non_null(strstr(out, "instance-type,micro_usd,usd,node_seconds,intervals\n"));
    assert_non_null(strstr(out, "\np4d.24xlarge,"));
    assert_non_null(strstr(out, "\ng5.xlarge,"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s 2>&1", GS_BINARY, f->path);
    assert_int_equal(gs_test_sh(cmd, &out), 0);
    assert_non_null(strstr(out, "TOTAL"));
    free(out);
}

static void test_budget_from_ledger(void **st) {
    fx *f = *st;
    meter_two_hours(f);
    gs_ms now = T0 + GS_HOUR(2);
    gs_budget b[2];
    memset(b, 0, sizeof b);
    snprintf(b[0].name, sizeof b[0].name, "a-daily");
    snprintf(b[0].project, sizeof b[0].project, "team-a");
    snprintf(b[0].timezone, sizeof b[0].timezone, "Europe/Berlin");
    b[0].per_day = GS_USD(3);
    b[0].enforce = GS_ENFORCE_HARD;
    b[0].on_exceeded = GS_ON_EXCEEDED_SCALE_TO_MIN;
    b[0].alert_pct[0] = 50;
    b[0].nalerts = 1;
    snprintf(b[1].name, sizeof b[1].name, "b-hourly");
    snprintf(b[1].project, sizeof b[1].project, "team-b");
    b[1].per_hour = GS_USD(100);
    gs_budget_state s[2];
    gs_error e;
    assert_int_equal(gs_costgov_budget_states(f->l, b, 2, now, NULL, 0, s, &e), 0);
    /* team-a's Berlin day began at 22:00Z + 1h: one hour of 12/64 of a p4d spot */
    gs_usd_u hour_a = 0;
    {
        gs_usd_u c = node_cost(f, 0, T0 + GS_HOUR(1), now);
        hour_a = c * 12 / 64;
    }
    assert_true(llabs(s[0].spent[GS_WIN_DAY] - hour_a) <= 360 * 2);
    /* the rate from the ledger's latest intervals: 12/64 of the spot price per hour */
    gs_usd_u price = gs_itype_price(&f->cat.types[f->s.nodes[0].itype], GS_CAP_SPOT);
    assert_true(llabs(s[0].rate_per_hour - price * 12 / 64) <= 360 * 2);
    gs_usd_u appr[2];
    gs_budget_gate_ctx g;
    gs_budget_gate_init(&g, now, s, 2, appr);
    char why[512];
    /* team-a will pass $3 today: refused, with the reason; team-b has room */
    bool over = s[0].spent[GS_WIN_DAY] >= GS_USD(3);
    assert_false(gs_budget_gate(&g, "team-a", GS_USD(1), why, sizeof why));
    assert_non_null(strstr(why, over ? "limit $3.00 reached" : "would be crossed"));
    assert_true(gs_budget_gate(&g, "team-b", GS_USD(1), why, sizeof why));
    /* alerts go out once per period */
    gs_budget_action acts[8];
    int32_t na = gs_budget_actions(s, 2, now, acts, 8);
    assert_true(na >= 1);
    int sent = gs_costgov_alerts(f->l, s, acts, na, now, &e);
    assert_int_equal(sent, na);
    assert_int_equal(gs_costgov_alerts(f->l, s, acts, na, now + 1000, &e), 0);
}

static void test_budget_status_cli(void **st) {
    fx *f = *st;
    meter_two_hours(f);
    char yaml[160];
    snprintf(yaml, sizeof yaml, "%s/budgets.yaml", f->dir);
    FILE *fp = fopen(yaml, "w");
    assert_non_null(fp);
    fputs("apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata:\n  name: b-daily\nspec:\n"
          "  project: team-b\n  timezone: Europe/Berlin\n  limits:\n    perDay: \"2.50\"\n"
          "  enforce: hard\n  onExceeded: block\n",
          fp);
    fclose(fp);
    char cmd[512];
    /* 2026-03-29T00:00:00Z = 01:00 in Berlin: the first hour of the 23-hour day */
    snprintf(cmd, sizeof cmd, "%s budget status --config %s --ledger %s --at 2026-03-29T00:00:00Z --json 2>&1",
             GS_BINARY, yaml, f->path);
    json_t *j = run_json(cmd);
    json_t *b = json_array_get(json_object_get(j, "budgets"), 0);
    assert_string_equal(json_string_value(json_object_get(b, "window")), "day");
    assert_string_equal(json_string_value(json_object_get(b, "periodStart")), "2026-03-28T23:00:00Z");
    assert_string_equal(json_string_value(json_object_get(b, "periodEnd")), "2026-03-29T22:00:00Z");
    gs_usd_u spent;
    assert_int_equal(gs_ledger_sum(f->l, "team-b", T0 + GS_HOUR(1), T0 + GS_HOUR(2), &spent, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(b, "spentMicroUsd")), spent);
    assert_int_equal(json_integer_value(json_object_get(b, "limitMicroUsd")), 2500000);
    json_decref(j);
}

static void test_env_total_in_ledger(void **st) {
    fx *f = *st;
    assert_int_equal(gs_ledger_env_created(f->l, "pr-7", "team-b", "ts-pool", T0, NULL), 0);
    meter_two_hours(f);
    assert_int_equal(gs_ledger_env_deleted(f->l, "pr-7", T0 + GS_HOUR(2), "ttl", NULL), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s cost --ledger %s --envs --json 2>&1", GS_BINARY, f->path);
    json_t *j = run_json(cmd);
    json_t *env = json_array_get(json_object_get(j, "environments"), 0);
    assert_string_equal(json_string_value(json_object_get(env, "name")), "pr-7");
    assert_string_equal(json_string_value(json_object_get(env, "reason")), "ttl");
    gs_usd_u want = node_cost(f, 1, T0 + GS_MIN(1), T0 + GS_HOUR(2)) * 3 / 4;
    assert_true(llabs(json_integer_value(json_object_get(env, "microUsd")) - want) <= 720);
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_reports_exact_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_from_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_total_in_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_status_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
