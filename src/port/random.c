/* mbedTLS's CTR-DRBG, built and torn down per call: callers need a few bytes
 * once per session or message, and the library keeps no global state.
 *
 * The entropy context is large (about 38 KB with HAVEGE configured), so it
 * comes from the allocator hook, never the stack: embedded callers and
 * threads with small stacks call this too. */
#include "random.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "alloc.h"

typedef struct random_state {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} random_state;

int smtpc_random_default(void *user, uint8_t *buf, size_t len)
{
    static const unsigned char pers[] = "smtpc-random";
    smtpc_allocator a;
    smtpc_allocator_init(&a, user);
    random_state *st = smtpc_alloc(&a, sizeof *st);
    if (!st)
        return SMTPC_ENOMEM;
    mbedtls_entropy_init(&st->entropy);
    mbedtls_ctr_drbg_init(&st->drbg);
    int rc = mbedtls_ctr_drbg_seed(&st->drbg, mbedtls_entropy_func, &st->entropy, pers,
                                   sizeof pers - 1);
    if (rc == 0)
        rc = mbedtls_ctr_drbg_random(&st->drbg, buf, len);
    mbedtls_ctr_drbg_free(&st->drbg);
    mbedtls_entropy_free(&st->entropy);
    smtpc_free(&a, st, sizeof *st);
    return rc;
}
