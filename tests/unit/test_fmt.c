/* The integer formatter that replaces printf's %lld/%llu/%zu (src/base/fmt.h):
 * exact digits at both ends of the range, padding, and the Date header it
 * now writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fmt.h"
#include "message_internal.h"

static void test_unsigned(void **state)
{
    (void)state;
    char b[SMTPC_FMT_INT_MAX];
    assert_string_equal(smtpc_fmt_u64(b, 0, 1), "0");
    assert_string_equal(smtpc_fmt_u64(b, 0, 0), "0");
    assert_string_equal(smtpc_fmt_u64(b, 7, 4), "0007");
    assert_string_equal(smtpc_fmt_u64(b, 12345, 2), "12345");
    assert_string_equal(smtpc_fmt_u64(b, UINT64_MAX, 1), "18446744073709551615");
    assert_string_equal(smtpc_fmt_u64(b, 1, 99), "00000000000000000001");
    assert_string_equal(smtpc_fmt_size(b, (size_t)4096), "4096");
}

static void test_signed(void **state)
{
    (void)state;
    char b[SMTPC_FMT_INT_MAX];
    assert_string_equal(smtpc_fmt_i64(b, -1, 1), "-1");
    assert_string_equal(smtpc_fmt_i64(b, -42, 4), "-0042");
    assert_string_equal(smtpc_fmt_i64(b, INT64_MAX, 1), "9223372036854775807");
    assert_string_equal(smtpc_fmt_i64(b, INT64_MIN, 1), "-9223372036854775808");
    assert_string_equal(smtpc_fmt_i64(b, INT64_MIN, 99), "-9223372036854775808");
    assert_string_equal(smtpc_fmt_i64(b, 2025, 4), "2025");
}

/* The Date header is built without printf: every field at its place. */
static void test_date_fields(void **state)
{
    (void)state;
    char d[48];
    /* 2025-06-15 08:00:17 UTC, shown at +0200 and at -0930. */
    assert_int_equal(smtpc_msg_format_date(1749974417, 120, d, sizeof d), 0);
    assert_string_equal(d, "Sun, 15 Jun 2025 10:00:17 +0200");
    assert_int_equal(smtpc_msg_format_date(1749974417, -570, d, sizeof d), 0);
    assert_string_equal(d, "Sat, 14 Jun 2025 22:30:17 -0930");
    assert_int_equal(smtpc_msg_format_date(-62135596800LL, 0, d, sizeof d), 0);
    assert_string_equal(d, "Mon, 01 Jan 0001 00:00:00 +0000");
    assert_int_equal(smtpc_msg_format_date(253402300799LL, 0, d, sizeof d), 0);
    assert_string_equal(d, "Fri, 31 Dec 9999 23:59:59 +0000");
    assert_int_equal(smtpc_msg_format_date(0, 0, d, 31), -1); /* no room for the NUL */
    assert_int_equal(smtpc_msg_format_date(0, 0, d, 32), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_date_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
