/* Budget periods in a timezone (io/tzperiod): month roll-over, DST days of 23 h and 25 h,
 * hours in a half-hour-offset zone, and budget evaluation exactly at a period edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "io/tzperiod.h"
#include "policy/budget.h"

static gs_ms utc(int y, int mo, int d, int h, int mi, int s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (gs_ms)timegm(&tm) * 1000;
}

static void test_month_rollover_utc(void **st) {
    (void)st;
    gs_periods p;
    gs_ms last = utc(2026, 1, 31, 23, 59, 59) + 999;
    assert_int_equal(gs_tz_periods("UTC", last, &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_MONTH], utc(2026, 1, 1, 0, 0, 0));
    assert_int_equal(p.end[GS_WIN_MONTH], utc(2026, 2, 1, 0, 0, 0));
    assert_int_equal(p.start[GS_WIN_DAY], utc(2026, 1, 31, 0, 0, 0));
    assert_int_equal(p.start[GS_WIN_HOUR], utc(2026, 1, 31, 23, 0, 0));
    assert_int_equal(gs_tz_periods("UTC", last + 1, &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_MONTH], utc(2026, 2, 1, 0, 0, 0));
    assert_int_equal(p.end[GS_WIN_MONTH], utc(2026, 3, 1, 0, 0, 0)); /* 28 days */
    assert_int_equal(p.end[GS_WIN_DAY] - p.start[GS_WIN_DAY], GS_HOUR(24));
    /* December rolls into the next year */
    assert_int_equal(gs_tz_periods("", utc(2026, 12, 31, 12, 0, 0), &p, NULL), 0);
    assert_int_equal(p.end[GS_WIN_MONTH], utc(2027, 1, 1, 0, 0, 0));
}

static void test_month_in_berlin(void **st) {
    (void)st;
    gs_periods p;
    /* 2026-01-31 23:30 UTC is already February 1st 00:30 in Berlin (CET, UTC+1) */
    assert_int_equal(gs_tz_periods("Europe/Berlin", utc(2026, 1, 31, 23, 30, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_MONTH], utc(2026, 1, 31, 23, 0, 0));
    assert_int_equal(p.end[GS_WIN_MONTH], utc(2026, 2, 28, 23, 0, 0));
    /* March in Berlin ends in summer time: 31 days minus one hour */
    assert_int_equal(gs_tz_periods("Europe/Berlin", utc(2026, 3, 15, 12, 0, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_MONTH], utc(2026, 2, 28, 23, 0, 0));
    assert_int_equal(p.end[GS_WIN_MONTH], utc(2026, 3, 31, 22, 0, 0));
    assert_int_equal(p.end[GS_WIN_MONTH] - p.start[GS_WIN_MONTH], GS_HOUR(31 * 24 - 1));
}

static void test_dst_days(void **st) {
    (void)st;
    gs_periods p;
    /* 2026-03-29: clocks go 02:00 CET -> 03:00 CEST: a 23-hour day */
    assert_int_equal(gs_tz_periods("Europe/Berlin", utc(2026, 3, 29, 10, 0, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_DAY], utc(2026, 3, 28, 23, 0, 0));
    assert_int_equal(p.end[GS_WIN_DAY], utc(2026, 3, 29, 22, 0, 0));
    assert_int_equal(p.end[GS_WIN_DAY] - p.start[GS_WIN_DAY], GS_HOUR(23));
    /* 2026-10-25: 03:00 CEST -> 02:00 CET: a 25-hour day */
    assert_int_equal(gs_tz_periods("Europe/Berlin", utc(2026, 10, 25, 10, 0, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_DAY], utc(2026, 10, 24, 22, 0, 0));
    assert_int_equal(p.end[GS_WIN_DAY], utc(2026, 10, 25, 23, 0, 0));
    assert_int_equal(p.end[GS_WIN_DAY] - p.start[GS_WIN_DAY], GS_HOUR(25));
    /* the repeated local hour 02:00-03:00 is two distinct budget hours */
    assert_int_equal(gs_tz_periods("Europe/Berlin", utc(2026, 10, 25, 0, 30, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_HOUR], utc(2026, 10, 25, 0, 0, 0));
    assert_int_equal(p.end[GS_WIN_HOUR], utc(2026, 10, 25, 1, 0, 0));
    assert_int_equal(gs_tz_periods("Europe/Berlin", utc(2026, 10, 25, 1, 30, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_HOUR], utc(2026, 10, 25, 1, 0, 0));
    assert_int_equal(p.start[GS_WIN_DAY], utc(2026, 10, 24, 22, 0, 0));
}

static void test_half_hour_zone(void **st) {
    (void)st;
    gs_periods p;
    /* India (UTC+5:30): local hours start at :30 UTC, days at 18:30 UTC */
    assert_int_equal(gs_tz_periods("Asia/Kolkata", utc(2026, 6, 1, 12, 10, 0), &p, NULL), 0);
    assert_int_equal(p.start[GS_WIN_HOUR], utc(2026, 6, 1, 11, 30, 0));
    assert_int_equal(p.start[GS_WIN_DAY], utc(2026, 5, 31, 18, 30, 0));
}

static void test_bad_zones(void **st) {
    (void)st;
    gs_periods p;
    gs_error e;
    assert_int_equal(gs_tz_periods("Mars/Olympus_Mons", 0, &p, &e), GS_ENOENT);
    assert_non_null(strstr(e.msg, "unknown timezone 'Mars/Olympus_Mons'"));
    assert_int_equal(gs_tz_periods("../../etc/passwd", 0, &p, &e), GS_EINVAL);
    assert_int_equal(gs_tz_periods("Europe/Berlin; rm", 0, &p, &e), GS_EINVAL);
    assert_int_equal(gs_tz_check("Europe", &e), GS_ENOENT); /* a directory, not a zone */
}

static void test_budget_across_dst_day(void **st) {
    (void)st;
    /* A $23/day hard budget in Berlin on the 23-hour day: $1/h running since midnight uses it
     * up exactly at the end of the day; one more cent per hour is refused. */
    gs_budget b;
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "berlin");
    snprintf(b.project, sizeof b.project, "a");
    snprintf(b.timezone, sizeof b.timezone, "Europe/Berlin");
    b.per_day = GS_USD(23);
    gs_budget_state s;
    memset(&s, 0, sizeof s);
    s.budget = &b;
    gs_ms now = utc(2026, 3, 29, 9, 0, 0); /* 11:00 CEST: 10 real hours since midnight */
    assert_int_equal(gs_tz_periods(b.timezone, now, &s.periods, NULL), 0);
    s.spent[GS_WIN_DAY] = GS_USD(10);
    s.rate_per_hour = GS_USD(1);
    gs_budget_eval ev;
    assert_int_equal(gs_budget_evaluate(&s, now, &ev, NULL), 0);
    assert_int_equal(ev.w[GS_WIN_DAY].left, GS_HOUR(13));
    assert_int_equal(ev.w[GS_WIN_DAY].forecast, GS_USD(23));
    assert_false(ev.w[GS_WIN_DAY].forecast_over);
    gs_usd_u appr[1];
    gs_budget_gate_ctx g;
    gs_budget_gate_init(&g, now, &s, 1, appr);
    assert_false(gs_budget_gate(&g, "a", 10000, NULL, 0));
    /* on the 25-hour day the same spend leaves 2 more hours of room */
    now = utc(2026, 10, 25, 9, 0, 0); /* 10:00 CET: 11 real hours since midnight */
    assert_int_equal(gs_tz_periods(b.timezone, now, &s.periods, NULL), 0);
    assert_int_equal(gs_budget_evaluate(&s, now, &ev, NULL), 0);
    assert_int_equal(ev.w[GS_WIN_DAY].left, GS_HOUR(14));
}

static void test_parse_and_date(void **st) {
    (void)st;
    gs_ms t;
    gs_error e;
    assert_int_equal(gs_tz_parse_time("UTC", "2026-03-29", &t, NULL), 0);
    assert_int_equal(t, utc(2026, 3, 29, 0, 0, 0));
    assert_int_equal(gs_tz_parse_time("Europe/Berlin", "2026-03-29", &t, NULL), 0);
    assert_int_equal(t, utc(2026, 3, 28, 23, 0, 0));
    assert_int_equal(gs_tz_parse_time("Europe/Berlin", "2026-03-29T12:00:00Z", &t, NULL), 0);
    assert_int_equal(t, utc(2026, 3, 29, 12, 0, 0));
    assert_int_equal(gs_tz_parse_time("UTC", "2026-02-30", &t, &e), GS_EPARSE);
    assert_int_equal(gs_tz_parse_time("UTC", "yesterday", &t, &e), GS_EPARSE);
    char d[16];
    assert_int_equal(gs_tz_date("Europe/Berlin", utc(2026, 1, 31, 23, 30, 0), d, sizeof d, NULL), 0);
    assert_string_equal(d, "2026-02-01");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_month_rollover_utc),
        cmocka_unit_test(test_month_in_berlin),
        cmocka_unit_test(test_dst_days),
        cmocka_unit_test(test_half_hour_zone),
        cmocka_unit_test(test_bad_zones),
        cmocka_unit_test(test_budget_across_dst_day),
        cmocka_unit_test(test_parse_and_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
