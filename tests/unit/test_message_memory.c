/* Memory does not grow with content: the peak heap seen by the allocator
 * hook while serializing a 1 KiB attachment equals the peak for a 1 GiB one
 * (data generated on the fly by a read callback, never stored).
 * SMTPC_MEMTEST_BYTES overrides the large size (e.g. under valgrind). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpc.h"
#include "test_alloc.h"

typedef struct gen {
    uint64_t size, pos;
} gen;

static int gen_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    gen *g = user;
    uint64_t left = g->size - g->pos;
    size_t n = left < cap ? (size_t)left : cap;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((g->pos + i) * 2654435761u >> 13);
    g->pos += n;
    *len = n;
    return 0;
}

static int gen_rewind(void *user)
{
    ((gen *)user)->pos = 0;
    return 0;
}

/* Build, size and serialize a message carrying size bytes; returns the peak
 * heap and checks that the bytes produced equal size(). */
static size_t peak_for(uint64_t size)
{
    test_heap h;
    test_heap_init(&h, TEST_HEAP_FAIL_ONE, 0);
    smtpc_allocator a = h.hook;
    smtpc_message *m;
    gen g = {size, 0};
    assert_int_equal(smtpc_message_new(&a, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", "A"), 0);
    assert_int_equal(smtpc_message_add_to(m, "b@example.com", "B"), 0);
    assert_int_equal(smtpc_message_set_subject(m, "big"), 0);
    assert_int_equal(smtpc_message_set_text(m, "see attached", 12, SMTPC_MEM_COPY), 0);
    assert_int_equal(smtpc_message_attach_reader(m, gen_read, gen_rewind, &g, (int64_t)size,
                                                 "big.bin", NULL),
                     0);
    int64_t expect;
    assert_int_equal(smtpc_message_size(m, &expect), 0);
    static uint8_t buf[65536];
    uint64_t total = 0;
    for (;;) {
        size_t len;
        assert_int_equal(smtpc_message_read(m, buf, sizeof buf, &len), 0);
        if (len == 0)
            break;
        total += len;
    }
    assert_int_equal(total, (uint64_t)expect);
    assert_int_equal(g.pos, size);
    size_t peak = h.peak_bytes;
    smtpc_message_free(m);
    assert_int_equal(h.live_bytes, 0);
    assert_int_equal(h.bad_frees, 0);
    return peak;
}

static void test_peak_constant(void **state)
{
    (void)state;
    uint64_t big = 1ULL << 30;
    const char *env = getenv("SMTPC_MEMTEST_BYTES");
    if (env && *env)
        big = strtoull(env, NULL, 10);
    size_t small_peak = peak_for(1024);
    size_t big_peak = peak_for(big);
    printf("peak heap: %zu bytes for 1 KiB, %zu bytes for %llu bytes\n", small_peak, big_peak,
           (unsigned long long)big);
    assert_int_equal(small_peak, big_peak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_constant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
