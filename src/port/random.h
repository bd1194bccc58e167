/* The default random source (SCRAM nonces, MIME boundaries, Message-IDs)
 * when the user gives no hook. */
#ifndef SMTPC_RANDOM_H
#define SMTPC_RANDOM_H
#include <stddef.h>
#include <stdint.h>

/* Fill buf with len bytes from an mbedTLS CTR-DRBG seeded from its entropy
 * source. user is the const smtpc_allocator * its working state (about
 * 38 KB) is allocated from, or NULL for malloc. Returns 0, SMTPC_ENOMEM
 * when that allocation fails, or an mbedTLS error code. */
int smtpc_random_default(void *user, uint8_t *buf, size_t len);

#endif
