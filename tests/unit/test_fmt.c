/* The integer formatter that replaces printf's %lld/%llu/%zu (src/base/fmt.h):
 * exact digits at both ends of the range, padding, and the Date header it
 * now writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fmt.h"
#include "smtpc/message.h"
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
    /* The local date spans 1900-01-01 to 9999-12-31 (RFC 5322 has no year
     * before 1900; four digits hold the year), whatever the offset. */
    assert_int_equal(smtpc_msg_format_date(-2208988800LL, 0, d, sizeof d), 0);
    assert_string_equal(d, "Mon, 01 Jan 1900 00:00:00 +0000");
    assert_int_equal(smtpc_msg_format_date(-2208988800LL + 60, 1, d, sizeof d), 0);
    assert_string_equal(d, "Mon, 01 Jan 1900 00:02:00 +0001");
    assert_int_equal(smtpc_msg_format_date(-2208988800LL, -1, d, sizeof d), -1);
    assert_int_equal(smtpc_msg_format_date(-2208988801LL, 0, d, sizeof d), -1);
    assert_int_equal(smtpc_msg_format_date(-62135596800LL, 0, d, sizeof d), -1);
    assert_int_equal(smtpc_msg_format_date(253402300799LL, 0, d, sizeof d), 0);
    assert_string_equal(d, "Fri, 31 Dec 9999 23:59:59 +0000");
    assert_int_equal(smtpc_msg_format_date(253402300799LL - 60, -1, d, sizeof d), 0);
    assert_string_equal(d, "Fri, 31 Dec 9999 23:57:59 -0001");
    /* A positive offset on the last day would reach the year 10000. */
    assert_int_equal(smtpc_msg_format_date(253402300799LL, 1, d, sizeof d), -1);
    assert_int_equal(smtpc_msg_format_date(253402218822LL, 1406, d, sizeof d), -1);
    assert_int_equal(smtpc_msg_format_date(0, 0, d, 31), -1); /* no room for the NUL */
    assert_int_equal(smtpc_msg_format_date(0, 0, d, 32), 0);
}

/* The formatter as it was before it avoided 64-bit division (a library call
 * on Cortex-M), with the local years limited to 1900..9999: the new one must
 * write the same bytes for every instant. */
static int ref_format_date(int64_t unix_time, int off_min, char *out, size_t cap)
{
    static const char wday[] = "ThuFriSatSunMonTueWed";
    static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (off_min <= -24 * 60 || off_min >= 24 * 60 || unix_time < -62135596800LL ||
        unix_time > 253402300799LL)
        return -1;
    int64_t t = unix_time + (int64_t)off_min * 60;
    uint64_t since1 = (uint64_t)(t + 62135596800LL + 86400);
    int32_t days = (int32_t)(since1 / 86400) - 719163;
    unsigned secs = (unsigned)(since1 % 86400);
    int32_t z = days + 719468;
    int32_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int32_t y = (int32_t)yoe + era * 400 + (m <= 2);
    if (y < 1900 || y > 9999)
        return -1;
    unsigned wd = (unsigned)(days + 719166) % 7;
    unsigned off = (unsigned)(off_min < 0 ? -off_min : off_min);
    char year[SMTPC_FMT_INT_MAX];
    smtpc_fmt_i64(year, y, 4);
    const unsigned two[] = {d, secs / 3600, secs / 60 % 60, secs % 60, off / 60, off % 60};
    char text[32];
    memcpy(text, wday + 3 * wd, 3);
    memcpy(text + 3, ", 00 ", 5);
    memcpy(text + 8, mon + 3 * (m - 1), 3);
    text[11] = ' ';
    memcpy(text + 12, year, 4);
    memcpy(text + 16, " 00:00:00 +0000", 16);
    static const unsigned char at[] = {5, 17, 20, 23, 27, 29};
    for (size_t i = 0; i < sizeof at; i++) {
        text[at[i]] = (char)('0' + two[i] / 10);
        text[at[i] + 1] = (char)('0' + two[i] % 10);
    }
    if (off_min < 0)
        text[26] = '-';
    if (cap < sizeof text)
        return -1;
    memcpy(out, text, sizeof text);
    return 0;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random instants over the whole range, near both ends and outside it, with
 * random offsets and buffer sizes: same result and same bytes (an earlier
 * run of this check covered 20 million instants). */
static void test_date_matches_reference(void **state)
{
    (void)state;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (long i = 0; i < 400000; i++) {
        uint64_t r = xorshift(&seed);
        int64_t t;
        switch (i % 4) {
        case 0:
            t = (int64_t)(r % (253402300799ULL + 62135596800ULL + 1)) - 62135596800LL;
            break;
        case 1:
            t = (int64_t)(r % 8000000000ULL) - 4000000000LL;
            break;
        case 2:
            t = (int64_t)(r >> (r & 31)) * ((r & 32) ? -1 : 1);
            break;
        default:
        {
            /* Around the last second allowed, 1900-01-01 and the year 1. */
            static const int64_t edge[] = {253402300799LL, -2208988800LL, -62135596800LL};
            t = edge[(i / 4) % 3] + (int64_t)(r % 200000) - 100000;
        }
            break;
        }
        int off = (int)(xorshift(&seed) % 2881) - 1440;
        size_t cap = xorshift(&seed) % 8 == 0 ? (size_t)(xorshift(&seed) % 40) : 48;
        char a[48], b[48];
        memset(a, 'x', sizeof a);
        memset(b, 'x', sizeof b);
        int ra = ref_format_date(t, off, a, cap);
        int rb = smtpc_msg_format_date(t, off, b, cap);
        if (ra != rb || memcmp(a, b, sizeof a) != 0)
            fail_msg("t=%ld off=%d cap=%u: [%.32s] vs [%.32s]", (long)t, off, (unsigned)cap, a,
                     b);
    }
}

static int clock_at(void *user, int64_t *unix_time, int *utc_offset_minutes)
{
    const int64_t *at = user;
    if (!at)
        return -1;
    *unix_time = at[0];
    *utc_offset_minutes = (int)at[1];
    return 0;
}

/* What the builder does with the clock: its date in the header, and a clock
 * that fails or gives a date the header cannot hold is an ESOURCE error that
 * says which. */
static void test_date_from_clock(void **state)
{
    (void)state;
    static const struct {
        int64_t at[2];
        int fails; /* the clock itself */
        int rc;
        const char *expect; /* the Date line, or a part of the error text */
    } cases[] = {
        {{1749974417, 120}, 0, 0, "Date: Sun, 15 Jun 2025 10:00:17 +0200\r\n"},
        {{-2208988800LL, 0}, 0, 0, "Date: Mon, 01 Jan 1900 00:00:00 +0000\r\n"},
        {{-2208988801LL, 0}, 0, SMTPC_ESOURCE, "not in the years 1900 to 9999"},
        {{253402300799LL, 60}, 0, SMTPC_ESOURCE, "not in the years 1900 to 9999"},
        {{0, 0}, 1, SMTPC_ESOURCE, "the clock failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smtpc_message *m = NULL;
        assert_int_equal(smtpc_message_new(NULL, &m), 0);
        assert_int_equal(
            smtpc_message_set_clock(m, clock_at, cases[i].fails ? NULL : (void *)cases[i].at), 0);
        assert_int_equal(smtpc_message_set_message_id(m, "<id@example.com>"), 0);
        assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
        char buf[1024];
        size_t len = 0;
        int rc = smtpc_message_read(m, (uint8_t *)buf, sizeof buf - 1, &len);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            buf[len] = '\0';
            if (!strstr(buf, cases[i].expect))
                fail_msg("case %u: no \"%s\" in:\n%s", (unsigned)i, cases[i].expect, buf);
        } else {
            const char *why = smtpc_error_message(smtpc_message_error(m));
            if (!strstr(why, cases[i].expect))
                fail_msg("case %u: error \"%s\" lacks \"%s\"", (unsigned)i, why,
                         cases[i].expect);
        }
        smtpc_message_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_date_fields),
        cmocka_unit_test(test_date_matches_reference),
        cmocka_unit_test(test_date_from_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
