/* A hard budget capping a runaway burst, end to end through the real pieces (meter ->
 * SQLite ledger -> budget states in a timezone -> gate), one simulated day in 1-minute ticks:
 * a workload asks for 2 more p5.4xlarge nodes every minute from 08:00 to 20:00 and never
 * gives one back (the worst case: no scale-down). With `enforce: hard` the day's spend stays
 * at or under the limit, launches are refused with a reason, and at the next local midnight
 * the spend starts again from zero. With `enforce: soft` the same burst goes over.
 * (This is the shape the simulator's budget scenario takes; see docs/cost.md.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/costgov.h"
#include "testutil.h"

typedef struct outcome {
    gs_usd_u day_spend;     /* project spend over the local day */
    gs_usd_u max_day_seen;  /* max spent[day] observed by the budget during the day */
    int32_t launched, blocked;
    char first_reason[160];
    gs_usd_u next_day_spent_at_midnight;
} outcome;

static void run_day(gs_enforce enforce, outcome *o) {
    memset(o, 0, sizeof *o);
    gs_catalog cat;
    gs_test_catalog(&cat);
    int it = gs_catalog_find(&cat, "p5.4xlarge"); /* 1 x H100, $6.88/h on demand */
    assert_true(it >= 0);
    char dir[] = "/tmp/gs-runaway-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    gs_ledger *l;
    gs_error e;
    assert_int_equal(gs_ledger_open(path, true, &l, &e), 0);
    gs_budget b;
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "burst-daily");
    snprintf(b.project, sizeof b.project, "burst");
    snprintf(b.timezone, sizeof b.timezone, "Europe/Berlin");
    b.per_day = GS_USD(500);
    b.enforce = enforce;
    b.on_exceeded = GS_ON_EXCEEDED_BLOCK;
    gs_snapshot s;
    gs_snapshot_init(&s);
    /* Berlin day 2026-06-10: 2026-06-09T22:00Z .. 2026-06-10T22:00Z */
    struct tm tm = {.tm_year = 126, .tm_mon = 5, .tm_mday = 9, .tm_hour = 22};
    gs_ms day0 = (gs_ms)timegm(&tm) * 1000, day1 = day0 + GS_HOUR(24);
    gs_costgov_tracker tr;
    assert_int_equal(gs_costgov_tracker_init(&tr, l, &b, 1, day0, &e), 0);
    for (gs_ms t = day0; t <= day1; t += GS_MIN(1)) {
        gs_costgov_rate rates[4];
        int32_t nr = 0;
        if (t > day0 && gs_costgov_meter(&s, &cat, NULL, t - GS_MIN(1), t, l, &tr, rates, 4, &nr, &e))
            fail_msg("meter: %s", e.msg);
        if (gs_costgov_tracker_advance(&tr, l, t, rates, nr, &e)) fail_msg("budget: %s", e.msg);
        gs_budget_state st = tr.states[0];
        if ((t - day0) % GS_HOUR(1) == 0) { /* the tracker agrees with a fresh read of the ledger */
            gs_budget_state fresh;
            if (gs_costgov_budget_states(l, &b, 1, t, rates, nr, &fresh, &e)) fail_msg("budget: %s", e.msg);
            for (int w = 0; w < GS_WIN__N; w++) {
                assert_int_equal(fresh.spent[w], st.spent[w]);
                assert_int_equal(fresh.periods.start[w], st.periods.start[w]);
            }
            assert_int_equal(fresh.rate_per_hour, st.rate_per_hour);
        }
        if (t == day1) {
            o->next_day_spent_at_midnight = st.spent[GS_WIN_DAY];
            break;
        }
        if (st.spent[GS_WIN_DAY] > o->max_day_seen) o->max_day_seen = st.spent[GS_WIN_DAY];
        gs_ms local = t - day0; /* ms since local midnight */
        if (local < GS_HOUR(8) || local >= GS_HOUR(20)) continue;
        gs_usd_u appr[1];
        gs_budget_gate_ctx g;
        gs_budget_gate_init(&g, t, &st, 1, appr);
        for (int k = 0; k < 2; k++) {
            char why[160];
            if (!gs_budget_gate(&g, "burst", gs_itype_price(&cat.types[it], GS_CAP_ON_DEMAND), why, sizeof why)) {
                if (!o->blocked) snprintf(o->first_reason, sizeof o->first_reason, "%s", why);
                o->blocked++;
                continue;
            }
            gs_node n;
            char name[32];
            snprintf(name, sizeof name, "burst-%d", (int)o->launched);
            gs_node_init(&n, name, &cat, it, GS_CAP_ON_DEMAND);
            n.created_at = t;
            int32_t ni = gs_snapshot_add_node(&s, &n);
            gs_pod p;
            memset(&p, 0, sizeof p);
            snprintf(p.name, sizeof p.name, "burst-pod-%d", (int)o->launched);
            snprintf(p.project, sizeof p.project, "burst");
            snprintf(p.workload, sizeof p.workload, "llm");
            p.spec.gpu.form = GS_GPU_WHOLE;
            p.spec.gpu.count = 1;
            p.phase = GS_POD_RUNNING;
            p.node = ni;
            p.gpu = 0;
            p.part = -1;
            gs_snapshot_add_pod(&s, &p);
            o->launched++;
        }
    }
    assert_int_equal(gs_ledger_sum(l, "burst", day0, day1, &o->day_spend, &e), 0);
    gs_costgov_tracker_free(&tr);
    gs_ledger_close(l);
    gs_snapshot_free(&s);
    gs_catalog_free(&cat);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_hard_budget_caps_runaway(void **st) {
    (void)st;
    outcome o;
    run_day(GS_ENFORCE_HARD, &o);
    char a[32], m[32];
    print_message("hard $500/day: %d launches, %d blocked, day spend %s (max seen %s); first refusal: %s\n",
                  (int)o.launched, (int)o.blocked, gs_fmt_usd(o.day_spend, a, sizeof a),
                  gs_fmt_usd(o.max_day_seen, m, sizeof m), o.first_reason);
    assert_true(o.day_spend <= GS_USD(500));
    assert_true(o.day_spend >= GS_USD(450)); /* it does use the money it may use */
    assert_true(o.launched > 0);
    assert_true(o.blocked > 1000);           /* 1440 asks in 12 h; almost all refused */
    assert_non_null(strstr(o.first_reason, "budget burst-daily: hard day limit $500.00 would be crossed"));
    assert_int_equal(o.next_day_spent_at_midnight, 0); /* a new local day starts from zero */
}

static void test_soft_budget_lets_it_run(void **st) {
    (void)st;
    outcome o;
    run_day(GS_ENFORCE_SOFT, &o);
    char a[32];
    print_message("soft $500/day: %d launches, %d blocked, day spend %s\n", (int)o.launched, (int)o.blocked,
                  gs_fmt_usd(o.day_spend, a, sizeof a));
    /* soft crossings are allowed until the limit is actually reached; then onExceeded block */
    assert_true(o.day_spend > GS_USD(500));
    assert_true(o.blocked > 0);
    assert_non_null(strstr(o.first_reason, "reached"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hard_budget_caps_runaway),
        cmocka_unit_test(test_soft_budget_lets_it_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
