/* The platform layer (src/port/port.c): the one monotonic clock behind every
 * deadline, and the one strerror_r wrapper. Built twice: as is, and with
 * SMTPC_PORT_NO_MONOTONIC, the fallback a system without CLOCK_MONOTONIC
 * gets. Consolidation issue: three clocks used to exist, one of which
 * (client.c) dropped its deadlines when CLOCK_MONOTONIC was missing. Only
 * lower bounds on elapsed time are checked: a busy machine only adds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "port.h"

static void sleep_ms(long ms)
{
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static void test_clock_never_goes_back(void **state)
{
    (void)state;
    long long prev = smtpc_monotonic_ms();
    for (int i = 0; i < 100000; i++) {
        long long now = smtpc_monotonic_ms();
        assert_true(now >= prev);
        prev = now;
    }
}

static void test_clock_advances(void **state)
{
    (void)state;
#ifdef SMTPC_PORT_NO_MONOTONIC
    /* time() counts whole seconds: past one boundary at least. */
    long sleep_for = 1100, at_least = 1000;
#else
    long sleep_for = 50, at_least = 40;
#endif
    long long before = smtpc_monotonic_ms();
    sleep_ms(sleep_for);
    long long after = smtpc_monotonic_ms();
    assert_true(after - before >= at_least);
}

static void test_errno_text(void **state)
{
    (void)state;
    char buf[256];
    memset(buf, 'x', sizeof buf);
    assert_ptr_equal(smtpc_errno_text(ENOENT, buf, sizeof buf), buf);
    /* The system's own text (single-threaded here, so strerror is safe). */
    assert_string_equal(buf, strerror(ENOENT));
    assert_true(strlen(buf) > 0);
}

static void test_errno_text_cut_and_unknown(void **state)
{
    (void)state;
    char small[8];
    memset(small, 'x', sizeof small);
    smtpc_errno_text(ENOENT, small, sizeof small);
    assert_non_null(memchr(small, '\0', sizeof small));
    assert_true(strlen(small) > 0);

    char buf[64];
    smtpc_errno_text(123456, buf, sizeof buf);
    assert_true(strlen(buf) > 0);
    assert_non_null(strstr(buf, "123456"));

    /* No room: nothing written, no crash. */
    char none = 'x';
    assert_ptr_equal(smtpc_errno_text(ENOENT, &none, 0), &none);
    assert_int_equal(none, 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_never_goes_back),
        cmocka_unit_test(test_clock_advances),
        cmocka_unit_test(test_errno_text),
        cmocka_unit_test(test_errno_text_cut_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
