/* The hashes, HMACs, PBKDF2 and random bytes the SASL mechanisms need, from
 * mbedTLS's public API, with the 2.28 / 3.x differences kept here. */
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/version.h>

#include "sasl_mech.h"
#include "smtpc/base.h"

static int map_md_error(int rc)
{
    if (rc == 0)
        return SMTPC_OK;
    return rc == MBEDTLS_ERR_MD_ALLOC_FAILED ? SMTPC_ENOMEM : SMTPC_EAUTH;
}

int smtpc_hmac_md5(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                   uint8_t out[16])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    if (!md)
        return SMTPC_ENOTSUP;
    return map_md_error(mbedtls_md_hmac(md, key, key_len, msg, msg_len, out));
}

int smtpc_hmac_sha256(const uint8_t *key, size_t key_len, const smtpc_bytes *parts,
                      size_t nparts, uint8_t out[32])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!md)
        return SMTPC_ENOTSUP;
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int rc = mbedtls_md_setup(&ctx, md, 1);
    if (rc == 0)
        rc = mbedtls_md_hmac_starts(&ctx, key, key_len);
    for (size_t i = 0; rc == 0 && i < nparts; i++)
        rc = mbedtls_md_hmac_update(&ctx, parts[i].data, parts[i].len);
    if (rc == 0)
        rc = mbedtls_md_hmac_finish(&ctx, out);
    /* md_free wipes the keyed pads. */
    mbedtls_md_free(&ctx);
    return map_md_error(rc);
}

int smtpc_sha256(const uint8_t *in, size_t len, uint8_t out[32])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!md)
        return SMTPC_ENOTSUP;
    return map_md_error(mbedtls_md(md, in, len, out));
}

int smtpc_pbkdf2_sha256(const uint8_t *password, size_t password_len, const uint8_t *salt,
                        size_t salt_len, unsigned iterations, uint8_t out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
    /* 3.3 added the context-free form and deprecated the other. */
    int rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, password, password_len, salt,
                                           salt_len, iterations, 32, out);
    return map_md_error(rc);
#else
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!md)
        return SMTPC_ENOTSUP;
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int rc = mbedtls_md_setup(&ctx, md, 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&ctx, password, password_len, salt, salt_len,
                                       iterations, 32, out);
    mbedtls_md_free(&ctx);
    return map_md_error(rc);
#endif
}
