/* Review finding #2: adding N parts (or N extra headers) and serializing
 * the message must cost O(N). Each add used to rewind the message, and each
 * rewind looked every leaf up from the head of the list: O(N^2) per add,
 * O(N^3) in all (4,000 attachments took 13 s). Nothing here is timed: the
 * builder counts the list steps its walks take (msg->steps) and the test
 * checks that doubling N at most doubles them, plus a constant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "message_internal.h"
#include "smtpc.h"
#include "test_alloc.h"

static int fixed_clock(void *user, int64_t *t, int *off)
{
    (void)user;
    *t = 1700000000;
    *off = 0;
    return 0;
}

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x3c, len);
    return 0;
}

static smtpc_message *new_msg(test_heap *h)
{
    smtpc_message *m = NULL;
    test_heap_init(h, TEST_HEAP_FAIL_ONE, 0);
    assert_int_equal(smtpc_message_new(&h->hook, &m), 0);
    smtpc_message_set_clock(m, fixed_clock, NULL);
    smtpc_message_set_random(m, fixed_random, NULL);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    assert_int_equal(smtpc_message_set_text(m, "hi", 2, SMTPC_MEM_BORROW), 0);
    return m;
}

/* Size, read everything, rewind, read again: the walks a send does. */
static uint64_t serialize(smtpc_message *m)
{
    static uint8_t buf[65536];
    int64_t size = 0;
    assert_int_equal(smtpc_message_size(m, &size), 0);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t total = 0;
        size_t len;
        do {
            assert_int_equal(smtpc_message_read(m, buf, sizeof buf, &len), 0);
            total += len;
        } while (len > 0);
        assert_int_equal((int64_t)total, size);
        assert_int_equal(smtpc_message_rewind(m), 0);
    }
    return (uint64_t)size;
}

static uint64_t steps_for_parts(size_t n, int role)
{
    test_heap h;
    smtpc_message *m = new_msg(&h);
    static const uint8_t data[] = "x";
    for (size_t i = 0; i < n; i++) {
        if (role == SMTPC_ROLE_INLINE)
            assert_int_equal(smtpc_message_inline_mem(m, data, 1, SMTPC_MEM_BORROW, "c@x", "a.bin",
                                                      NULL),
                             0);
        else
            assert_int_equal(smtpc_message_attach_mem(m, data, 1, SMTPC_MEM_BORROW, "a.bin",
                                                      NULL),
                             0);
    }
    serialize(m);
    uint64_t steps = m->steps;
    smtpc_message_free(m);
    assert_int_equal(h.live_bytes, 0);
    return steps;
}

static uint64_t steps_for_headers(size_t n)
{
    test_heap h;
    smtpc_message *m = new_msg(&h);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(smtpc_message_add_header(m, "X-Many", "value"), 0);
    serialize(m);
    uint64_t steps = m->steps;
    smtpc_message_free(m);
    assert_int_equal(h.live_bytes, 0);
    return steps;
}

/* Linear: steps(2N) <= 2 steps(N) + slack, and steps(N) <= c N + slack. */
static void check_linear(uint64_t (*f)(size_t, int), int arg)
{
    const size_t n = 400;
    uint64_t a = f(n, arg), b = f(2 * n, arg);
    print_message("steps: %llu for %zu, %llu for %zu\n", (unsigned long long)a, n,
                  (unsigned long long)b, 2 * n);
    assert_true(b <= 2 * a + 64);
    assert_true(a <= 16 * n + 64);
}

static uint64_t headers_adapter(size_t n, int unused)
{
    (void)unused;
    return steps_for_headers(n);
}

static void test_attachments_linear(void **state)
{
    (void)state;
    check_linear(steps_for_parts, SMTPC_ROLE_ATTACHMENT);
}

static void test_inlines_linear(void **state)
{
    (void)state;
    check_linear(steps_for_parts, SMTPC_ROLE_INLINE);
}

static void test_headers_linear(void **state)
{
    (void)state;
    check_linear(headers_adapter, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attachments_linear),
        cmocka_unit_test(test_inlines_linear),
        cmocka_unit_test(test_headers_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
