/* Default random source for boundaries and Message-IDs. They need to be
 * unguessable enough not to collide, not secret, but a CTR-DRBG is already
 * linked in for TLS. Made and freed per call: no global state. */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "message_internal.h"

int smtpc_msg_random_default(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    static const unsigned char pers[] = "smtpc-mime-boundary";
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
