/* TLS compiled out (-Dtls=disabled): the symbols stay so that programs and
 * bindings link the same way, and every call says SMTPC_ENOTSUP. */
#include "smtpc/tls.h"
#include "transport_internal.h"
#include "error.h"

#include <stdio.h>

static const char no_tls[] = "smtpc was built without TLS support";

int smtpc_tls_config_new(const smtpc_allocator *alloc, smtpc_tls_config **out)
{
    (void)alloc;
    if (out)
        *out = NULL;
    return SMTPC_ENOTSUP;
}

void smtpc_tls_config_free(smtpc_tls_config *cfg)
{
    (void)cfg;
}

/* No configuration can exist here, so every caller gets the one answer. */
static const smtpc_error no_tls_error = {SMTPC_ENOTSUP, 0, "", "",
                                         "smtpc was built without TLS support"};

const smtpc_error *smtpc_tls_config_error(const smtpc_tls_config *cfg)
{
    (void)cfg;
    return &no_tls_error;
}

int smtpc_tls_config_set_server_name(smtpc_tls_config *cfg, const char *name)
{
    (void)cfg;
    (void)name;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_add_ca_file(smtpc_tls_config *cfg, const char *path)
{
    (void)cfg;
    (void)path;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_add_ca_dir(smtpc_tls_config *cfg, const char *path)
{
    (void)cfg;
    (void)path;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_add_ca_mem(smtpc_tls_config *cfg, const uint8_t *data, size_t len)
{
    (void)cfg;
    (void)data;
    (void)len;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_client_cert_file(smtpc_tls_config *cfg, const char *cert_path,
                                          const char *key_path, const char *password)
{
    (void)cfg;
    (void)cert_path;
    (void)key_path;
    (void)password;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_client_cert_mem(smtpc_tls_config *cfg, const uint8_t *cert,
                                         size_t cert_len, const uint8_t *key, size_t key_len,
                                         const char *password)
{
    (void)cfg;
    (void)cert;
    (void)cert_len;
    (void)key;
    (void)key_len;
    (void)password;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_pin_sha256(smtpc_tls_config *cfg, const uint8_t *pin, size_t len)
{
    (void)cfg;
    (void)pin;
    (void)len;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_pin_sha256_hex(smtpc_tls_config *cfg, const char *hex)
{
    (void)cfg;
    (void)hex;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_verify(smtpc_tls_config *cfg, int mode)
{
    (void)cfg;
    (void)mode;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_verify_mode(const smtpc_tls_config *cfg)
{
    (void)cfg;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_min_version(smtpc_tls_config *cfg, int version)
{
    (void)cfg;
    (void)version;
    return SMTPC_ENOTSUP;
}

int smtpc_tls_config_set_entropy(smtpc_tls_config *cfg, smtpc_entropy_fn fn, void *user)
{
    (void)cfg;
    (void)fn;
    (void)user;
    return SMTPC_ENOTSUP;
}

int smtpc_transport_new_tls(const smtpc_allocator *alloc, smtpc_transport *inner,
                            const smtpc_tls_config *cfg, const char *server_name,
                            smtpc_transport **out)
{
    (void)alloc;
    (void)cfg;
    (void)server_name;
    /* Ownership of inner passes here in every case, as with TLS built in. */
    smtpc_transport_free(inner);
    if (out)
        *out = NULL;
    return SMTPC_ENOTSUP;
}

int smtpc_transport_handshake(smtpc_transport *t, int timeout_ms)
{
    (void)timeout_ms;
    if (!t)
        return SMTPC_EINVAL;
    return smtpc_error_set(&t->err, SMTPC_ENOTSUP, "%s", no_tls);
}

int smtpc_transport_tls_info(const smtpc_transport *t, char *buf, size_t cap)
{
    (void)t;
    if (buf && cap > 0)
        buf[0] = '\0';
    return SMTPC_ENOTSUP;
}
