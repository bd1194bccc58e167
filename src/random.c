/* mbedTLS's CTR-DRBG, built and torn down per call: callers need a few bytes
 * once per session or message, and the library keeps no global state. */
#include "random.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

int smtpc_random_default(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    static const unsigned char pers[] = "smtpc-random";
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers, sizeof pers - 1);
    if (rc == 0)
        rc = mbedtls_ctr_drbg_random(&drbg, buf, len);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc;
}
