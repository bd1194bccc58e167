/* The checking allocator hook shared by the unit tests, the fuzz harnesses
 * and the integration drivers.
 *
 * It counts live bytes and blocks and their peak, numbers every allocation
 * asked for, and can refuse the Nth one (recovery paths) or the Nth and every
 * later one (memory stays exhausted). Each block carries a header with its
 * size and a tag, so that a free with the wrong size (which would corrupt a
 * firmware pool allocator), a double free, a foreign pointer or a NULL is
 * counted in bad_frees and described on stderr instead of corrupting the C
 * heap. It never asserts: each caller checks the counters in its own way
 * (cmocka, FUZZ_CHECK, an exit status), which keeps this file free of any
 * test framework. */
#ifndef SMTPC_TEST_ALLOC_H
#define SMTPC_TEST_ALLOC_H

#include <stddef.h>

#include "smtpc/base.h"

enum {
    TEST_HEAP_FAIL_ONE, /* only allocation number fail_at is refused */
    TEST_HEAP_FAIL_FROM /* fail_at and every allocation after it are refused */
};

typedef struct test_heap {
    smtpc_allocator hook; /* pass &heap.hook; its user is the heap itself */
    int mode;             /* TEST_HEAP_FAIL_ONE or TEST_HEAP_FAIL_FROM */
    long fail_at;         /* 1-based allocation number; 0: never refuse */
    long count;           /* allocations asked for, refused ones included */
    int injected;         /* the hook returned NULL at least once */
    size_t live_bytes, live_blocks;
    size_t peak_bytes; /* highest live_bytes seen */
    int bad_frees;     /* wrong size, double free, foreign pointer or NULL */
    int scrub_frees;   /* set to 1: every freed block is zeroed first, so that
                          a read after free sees "" and 0 (a test can tell)
                          instead of the old contents, without a sanitizer */
} test_heap;

/* Zeroes the counters and points the hook at h, which must therefore stay
 * where it is while any handle created with the hook lives. */
void test_heap_init(test_heap *h, int mode, long fail_at);

#endif
