/* The default allocator behind a NULL smtpc_allocator: malloc/free with
 * the POSIX port, none without (firmware passes its own, or constructors
 * fail with SMTPC_EINVAL rather than reach a heap the image may not have). */
#include "alloc.h"
#include "smtpc_config.h"

#if SMTPC_HAVE_POSIX
#include <stdlib.h>

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void default_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}
#endif

int smtpc_allocator_init(smtpc_allocator *dst, const smtpc_allocator *src)
{
    if (src && src->alloc && src->free) {
        *dst = *src;
        return SMTPC_OK;
    }
#if SMTPC_HAVE_POSIX
    dst->alloc = default_alloc;
    dst->free = default_free;
    dst->user = NULL;
    return SMTPC_OK;
#else
    dst->alloc = NULL;
    dst->free = NULL;
    dst->user = NULL;
    return SMTPC_EINVAL;
#endif
}
