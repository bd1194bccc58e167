/* The one constant-time comparison (src/base/ct_compare.c), shared by the SCRAM
 * server signature check and the TLS public-key pin check (consolidation
 * issue: each used to carry its own copy). Timing is not measured here;
 * the result is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ct_compare.h"

static void test_equal(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(smtpc_ct_equal(a, b, sizeof a), 1);
    assert_int_equal(smtpc_ct_equal(a, a, sizeof a), 1);
}

static void test_unequal_anywhere(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof a);
    /* One bit off at each position, first and last byte included. */
    for (size_t i = 0; i < sizeof a; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, a, sizeof b);
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(smtpc_ct_equal(a, b, sizeof a), 0);
        }
    }
}

static void test_length(void **state)
{
    (void)state;
    const uint8_t a[] = {1, 2, 3, 4};
    const uint8_t b[] = {1, 2, 3, 9};
    /* Only the first len bytes count. */
    assert_int_equal(smtpc_ct_equal(a, b, 3), 1);
    assert_int_equal(smtpc_ct_equal(a, b, 4), 0);
    /* Nothing to compare is equal, and reads nothing. */
    assert_int_equal(smtpc_ct_equal(NULL, NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_unequal_anywhere),
        cmocka_unit_test(test_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
