/* The checking allocator hook (see test_alloc.h). */
#include "test_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The header is 16 bytes to keep the user pointer aligned for any type
 * malloc would align it for (x86-64, aarch64). */
#define HEADER 16
#define TAG_LIVE 0x5a11c0deu
#define TAG_FREED 0xdeadf4eeu

typedef struct block_header {
    size_t size;
    uint32_t tag;
} block_header;

_Static_assert(sizeof(block_header) <= HEADER, "block header larger than HEADER");

static void *heap_alloc(void *user, size_t size)
{
    test_heap *h = user;
    h->count++;
    if (h->fail_at &&
        (h->count == h->fail_at || (h->mode == TEST_HEAP_FAIL_FROM && h->count > h->fail_at))) {
        h->injected = 1;
        return NULL;
    }
    uint8_t *p = malloc(size + HEADER);
    if (!p) {
        /* A real shortage: the library sees NULL as it would anyway, and
         * injected stays 0, so a sweep reports an SMTPC_ENOMEM nobody asked
         * for instead of mistaking it for its own. */
        fprintf(stderr, "test_alloc: malloc(%zu) failed\n", size);
        return NULL;
    }
    block_header bh = {size, TAG_LIVE};
    memcpy(p, &bh, sizeof bh);
    h->live_bytes += size;
    h->live_blocks++;
    if (h->live_bytes > h->peak_bytes)
        h->peak_bytes = h->live_bytes;
    return p + HEADER;
}

static void heap_free(void *user, void *ptr, size_t size)
{
    test_heap *h = user;
    if (!ptr) {
        /* smtpc_free never passes NULL on, so a NULL here means some path
         * calls the hook directly: harmless, but a bypass worth seeing. */
        h->bad_frees++;
        fprintf(stderr, "test_alloc: free(NULL, %zu)\n", size);
        return;
    }
    uint8_t *p = (uint8_t *)ptr - HEADER;
    block_header bh;
    memcpy(&bh, p, sizeof bh);
    if (bh.tag != TAG_LIVE) {
        h->bad_frees++;
        fprintf(stderr, "test_alloc: free of a block that is not live (%s), size %zu\n",
                bh.tag == TAG_FREED ? "double free" : "foreign pointer", size);
        /* Leave it alone: freeing it again would corrupt the C heap and
         * turn a clear report into a crash. */
        return;
    }
    if (bh.size != size) {
        h->bad_frees++;
        fprintf(stderr, "test_alloc: free with size %zu of a block allocated with %zu\n", size,
                bh.size);
    }
    h->live_bytes -= bh.size;
    h->live_blocks--;
    if (h->scrub_frees)
        memset(p + HEADER, 0, bh.size);
    bh.tag = TAG_FREED;
    memcpy(p, &bh, sizeof bh);
    free(p);
}

void test_heap_init(test_heap *h, int mode, long fail_at)
{
    memset(h, 0, sizeof *h);
    h->hook.alloc = heap_alloc;
    h->hook.free = heap_free;
    h->hook.user = h;
    h->mode = mode;
    h->fail_at = fail_at;
}
