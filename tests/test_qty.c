#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/err.h"
#include "model/qty.h"

static void test_checked_arith(void **st) {
    (void)st;
    int64_t r;
    assert_int_equal(gs_add64(INT64_MAX, 1, &r), GS_EOVERFLOW);
    assert_int_equal(gs_mul64(INT64_MAX / 2, 3, &r), GS_EOVERFLOW);
    assert_int_equal(gs_mul64(-4, 5, &r), 0);
    assert_int_equal(r, -20);
    assert_int_equal(gs_sub64(INT64_MIN, 1, &r), GS_EOVERFLOW);
    assert_int_equal(gs_muldiv64(INT64_MAX, 4, 8, &r), 0);
    assert_int_equal(r, INT64_MAX / 2);
    assert_int_equal(gs_muldiv64(1, 1, 0, &r), GS_EINVAL);
}

static void test_cost(void **st) {
    (void)st;
    gs_usd_u c;
    /* $55.04/h for 90 s = $1.376 */
    assert_int_equal(gs_cost_for(GS_USD(55.04), GS_SEC(90), &c), 0);
    assert_int_equal(c, 1376000);
}

static void test_cpu(void **st) {
    (void)st;
    gs_mcpu v;
    assert_int_equal(gs_parse_cpu("500m", &v, NULL), 0); assert_int_equal(v, 500);
    assert_int_equal(gs_parse_cpu("2", &v, NULL), 0); assert_int_equal(v, 2000);
    assert_int_equal(gs_parse_cpu("0.25", &v, NULL), 0); assert_int_equal(v, 250);
    assert_int_equal(gs_parse_cpu("0.0001", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_cpu("2 ", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_cpu("", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_cpu("m", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_cpu("99999999999999999999", &v, NULL), GS_EOVERFLOW);
}

static void test_mem(void **st) {
    (void)st;
    gs_mib v;
    assert_int_equal(gs_parse_mem("16Gi", &v, NULL), 0); assert_int_equal(v, 16384);
    assert_int_equal(gs_parse_mem("512Mi", &v, NULL), 0); assert_int_equal(v, 512);
    assert_int_equal(gs_parse_mem("1G", &v, NULL), 0); assert_int_equal(v, 954);
    assert_int_equal(gs_parse_mem("1048576", &v, NULL), 0); assert_int_equal(v, 1);
    assert_int_equal(gs_parse_mem("1048577", &v, NULL), 0); assert_int_equal(v, 2);
    assert_int_equal(gs_parse_mem("1Xi", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_mem("1.5Gi", &v, NULL), GS_EPARSE);
}

static void test_duration(void **st) {
    (void)st;
    gs_ms v;
    char b[32];
    assert_int_equal(gs_parse_duration("30s", &v, NULL), 0); assert_int_equal(v, 30000);
    assert_int_equal(gs_parse_duration("5m", &v, NULL), 0); assert_int_equal(v, 300000);
    assert_int_equal(gs_parse_duration("1h30m", &v, NULL), 0); assert_int_equal(v, 5400000);
    assert_int_equal(gs_parse_duration("250ms", &v, NULL), 0); assert_int_equal(v, 250);
    assert_int_equal(gs_parse_duration("0", &v, NULL), 0); assert_int_equal(v, 0);
    assert_int_equal(gs_parse_duration("30", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_duration("s", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_duration("-5s", &v, NULL), GS_EPARSE);
    assert_string_equal(gs_fmt_duration(5400250, b, sizeof b), "1h30m250ms");
}

static void test_usd(void **st) {
    (void)st;
    gs_usd_u v;
    char b[32];
    assert_int_equal(gs_parse_usd("120.50", &v, NULL), 0); assert_int_equal(v, 120500000);
    assert_int_equal(gs_parse_usd("$3", &v, NULL), 0); assert_int_equal(v, 3000000);
    assert_int_equal(gs_parse_usd("0.000001", &v, NULL), 0); assert_int_equal(v, 1);
    assert_int_equal(gs_parse_usd("0.0000001", &v, NULL), GS_EPARSE);
    assert_int_equal(gs_parse_usd("-1", &v, NULL), GS_EOVERFLOW);
    assert_int_equal(gs_parse_usd("1,5", &v, NULL), GS_EPARSE);
    assert_string_equal(gs_fmt_usd(120500000, b, sizeof b), "$120.50");
    assert_string_equal(gs_fmt_usd(1376001, b, sizeof b), "$1.376001");
    assert_string_equal(gs_fmt_usd(-2500000, b, sizeof b), "-$2.50");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checked_arith), cmocka_unit_test(test_cost),
        cmocka_unit_test(test_cpu),           cmocka_unit_test(test_mem),
        cmocka_unit_test(test_duration),      cmocka_unit_test(test_usd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
