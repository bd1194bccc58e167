/* Allocation through the user's hook; every smtpc allocation goes here. */
#ifndef SMTPC_ALLOC_H
#define SMTPC_ALLOC_H
#include "smtpc/base.h"

/* Copy src into dst, or, when src is NULL (or lacks a function), install
 * the port's default allocator: malloc/free with the POSIX port. Returns 0,
 * or SMTPC_EINVAL when there is no default (-Dport=none): constructors
 * then fail with SMTPC_EINVAL. Defined by the port layer
 * (src/port/alloc_default.c), the one place that knows whether malloc
 * exists. */
int smtpc_allocator_init(smtpc_allocator *dst, const smtpc_allocator *src);
/* Zero-filled block of size bytes, NULL on exhaustion (or size 0). */
void *smtpc_alloc(const smtpc_allocator *a, size_t size);
/* ptr may be NULL; size must be the size given to smtpc_alloc. */
void smtpc_free(const smtpc_allocator *a, void *ptr, size_t size);
/* Copy of s (NUL-terminated); free with smtpc_strfree. NULL on exhaustion. */
char *smtpc_strdup(const smtpc_allocator *a, const char *s);
/* Zeroes then frees a string from smtpc_strdup. NULL is a no-op. */
void smtpc_strfree(const smtpc_allocator *a, char *s);
/* Zero memory in a way the compiler may not elide. */
void smtpc_zeroize(void *p, size_t n);

#endif
