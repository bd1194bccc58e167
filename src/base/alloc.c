/* The one place memory is obtained and returned. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

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

void smtpc_allocator_init(smtpc_allocator *dst, const smtpc_allocator *src)
{
    if (src && src->alloc && src->free) {
        *dst = *src;
    } else {
        dst->alloc = default_alloc;
        dst->free = default_free;
        dst->user = NULL;
    }
}

void *smtpc_alloc(const smtpc_allocator *a, size_t size)
{
    if (size == 0)
        return NULL;
    void *p = a->alloc(a->user, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void smtpc_free(const smtpc_allocator *a, void *ptr, size_t size)
{
    if (ptr)
        a->free(a->user, ptr, size);
}

char *smtpc_strdup(const smtpc_allocator *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = smtpc_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void smtpc_strfree(const smtpc_allocator *a, char *s)
{
    if (!s)
        return;
    size_t n = strlen(s) + 1;
    smtpc_zeroize(s, n);
    smtpc_free(a, s, n);
}

void smtpc_zeroize(void *p, size_t n)
{
    /* mbedTLS's zeroize is written so the compiler cannot drop the stores. */
    if (p && n)
        mbedtls_platform_zeroize(p, n);
}
