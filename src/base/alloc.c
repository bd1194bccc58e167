/* The one place memory is obtained and returned (the default allocator,
 * malloc/free, is the port's: src/port/alloc_default.c). */
#include "alloc.h"

#include <string.h>

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
    /* Stores through a volatile pointer are observable behaviour: the
     * compiler may not drop them as dead, even right before a free. */
    volatile unsigned char *v = p;
    if (!v)
        return;
    while (n--)
        *v++ = 0;
}
