/* A build without DKIM (-Ddkim=disabled, or no mbedTLS): every call is
 * kept and reports SMTPC_ENOTSUP, so callers need no #ifdef. No signer can
 * be created, so the calls that take one only see NULL. */
#include "dkim_sign.h"

int smtpc_dkim_new(const smtpc_allocator *alloc, smtpc_dkim **out)
{
    (void)alloc;
    if (out)
        *out = NULL;
    return out ? SMTPC_ENOTSUP : SMTPC_EINVAL;
}

void smtpc_dkim_free(smtpc_dkim *dkim)
{
    (void)dkim;
}

int smtpc_dkim_set_key_file(smtpc_dkim *dkim, const char *path, const char *password)
{
    (void)dkim;
    (void)path;
    (void)password;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_key_mem(smtpc_dkim *dkim, const uint8_t *pem, size_t len,
                           const char *password)
{
    (void)dkim;
    (void)pem;
    (void)len;
    (void)password;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_algorithm(smtpc_dkim *dkim, int algorithm)
{
    (void)dkim;
    (void)algorithm;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_domain(smtpc_dkim *dkim, const char *domain)
{
    (void)dkim;
    (void)domain;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_selector(smtpc_dkim *dkim, const char *selector)
{
    (void)dkim;
    (void)selector;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_headers(smtpc_dkim *dkim, const char *const *names, size_t n)
{
    (void)dkim;
    (void)names;
    (void)n;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_canonicalization(smtpc_dkim *dkim, int header_canon, int body_canon)
{
    (void)dkim;
    (void)header_canon;
    (void)body_canon;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_oversign_from(smtpc_dkim *dkim, int on)
{
    (void)dkim;
    (void)on;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_timestamps(smtpc_dkim *dkim, int timestamp, int64_t expire_seconds)
{
    (void)dkim;
    (void)timestamp;
    (void)expire_seconds;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_set_clock(smtpc_dkim *dkim, smtpc_clock_fn fn, void *user)
{
    (void)dkim;
    (void)fn;
    (void)user;
    return SMTPC_ENOTSUP;
}

int smtpc_dkim_sign_raw(smtpc_dkim *dkim, const uint8_t *data, size_t len, char *out,
                        size_t cap, size_t *out_len)
{
    (void)dkim;
    (void)data;
    (void)len;
    (void)out;
    (void)cap;
    if (out_len)
        *out_len = 0;
    return SMTPC_ENOTSUP;
}

const smtpc_error *smtpc_dkim_error(const smtpc_dkim *dkim)
{
    (void)dkim;
    return NULL;
}

int smtpc_dkim_ctx_new(smtpc_dkim *dkim, smtpc_dkim_ctx **out)
{
    (void)dkim;
    if (out)
        *out = NULL;
    return SMTPC_ENOTSUP;
}

void smtpc_dkim_ctx_update(smtpc_dkim_ctx *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
}

int smtpc_dkim_ctx_final(smtpc_dkim_ctx *ctx, const char **header, size_t *len)
{
    (void)ctx;
    *header = NULL;
    *len = 0;
    return SMTPC_ENOTSUP;
}

void smtpc_dkim_ctx_free(smtpc_dkim_ctx *ctx)
{
    (void)ctx;
}

unsigned long smtpc_dkim_serial(const smtpc_dkim *dkim)
{
    (void)dkim;
    return 0;
}
