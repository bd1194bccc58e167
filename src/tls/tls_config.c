/* The TLS configuration over mbedTLS: trust anchors, client certificate,
 * pin, verification and version settings, entropy hook; and the helpers the
 * session shares (error text, PSA start-up, the configuration's random generator).
 *
 * With tls_session.c, the only code with mbedTLS's TLS and X.509 headers;
 * both use only its public API, so that a firmware build can swap the
 * mbedTLS version (2.28 or 3.x, guarded) or its configuration. */
#include "fmt.h"
#include "tls_mbedtls.h"

static const char rng_personalisation[] = "smtpc tls";

/* ------------------------------------------------------------------------
 * Shared helpers
 * ---------------------------------------------------------------------- */

void smtpc_tls_describe(int ret, char *buf, size_t cap)
{
#if defined(MBEDTLS_ERROR_C)
    char text[160];
    mbedtls_strerror(ret, text, sizeof text);
    snprintf(buf, cap, "%s (-0x%04x)", text, (unsigned)-ret);
#else
    snprintf(buf, cap, "mbedTLS error -0x%04x", (unsigned)-ret);
#endif
}

static int cfg_fail(smtpc_tls_config *cfg, int code, const char *what, int ret)
{
    char why[200];
    smtpc_tls_describe(ret, why, sizeof why);
    return smtpc_error_set(&cfg->error, code, "%s: %s", what, why);
}

/* PSA must be up before 3.x parses keys or runs a handshake (TLS 1.3
 * does all its crypto through it); it is mbedTLS's own process-wide state
 * and initialising it twice is harmless. Returns 0, or writes why not. */
int smtpc_tls_crypto_init(char *msg, size_t cap)
{
#if SMTPC_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
    psa_status_t st = psa_crypto_init();
    if (st != PSA_SUCCESS) {
        snprintf(msg, cap,
                 "cannot initialise mbedTLS's PSA crypto (psa_crypto_init: status %d%s)",
                 (int)st,
                 st == PSA_ERROR_INSUFFICIENT_ENTROPY ? ", not enough entropy" : "");
        return -1;
    }
#else
    (void)msg;
    (void)cap;
#endif
    return 0;
}


static int user_entropy(void *data, unsigned char *out, size_t len, size_t *olen)
{
    const smtpc_tls_config *cfg = data;
    size_t got = 0;
    if (cfg->entropy_fn(cfg->entropy_user, out, len, &got) != 0 || got > len)
        return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    *olen = got;
    return 0;
}

/* Fresh entropy from a short-lived entropy context. Keeping one per
 * session would cost its full size for the session's life (38 KB on
 * builds with HAVEGE, such as Debian's 2.28) for the rare reseeds. */
static int session_entropy(void *data, unsigned char *out, size_t len)
{
    rng_pair *r = data;
    const smtpc_tls_config *cfg = r->cfg;
    mbedtls_entropy_context *e = smtpc_alloc(&cfg->alloc, sizeof *e);
    if (!e) {
        r->nomem = 1;
        return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    }
    mbedtls_entropy_init(e);
    int ret = 0;
    if (cfg->entropy_fn) {
        /* The cast only satisfies mbedTLS's void *; user_entropy reads. */
        ret = mbedtls_entropy_add_source(e, user_entropy, (void *)(uintptr_t)cfg, 32,
                                         MBEDTLS_ENTROPY_SOURCE_STRONG);
    }
    while (ret == 0 && len > 0) {
        size_t n = len > MBEDTLS_ENTROPY_BLOCK_SIZE ? MBEDTLS_ENTROPY_BLOCK_SIZE : len;
        ret = mbedtls_entropy_func(e, out, n);
        out += n;
        len -= n;
    }
    mbedtls_entropy_free(e);
    smtpc_free(&cfg->alloc, e, sizeof *e);
    return ret;
}

/* Seeding gathers entropy into a 38 KB context (with HAVEGE, as in
 * Debian's 2.28) at about 160 us of CPU: once per configuration, not per
 * connection. The generator lives inside cfg, which does not move, so its
 * reseeds can call back into session_entropy with cfg. */
int smtpc_tls_config_rng(const smtpc_tls_config *ccfg, mbedtls_ctr_drbg_context **drbg,
                         int *nomem)
{
    /* The allocation is the caller's own (smtpc_tls_config_new); only
     * const in the transports' view. */
    smtpc_tls_config *cfg = (smtpc_tls_config *)(uintptr_t)ccfg;
    long pid = smtpc_process_id();
    int ret = 0;
    cfg->rng.cfg = cfg;
    cfg->rng.nomem = 0;
    if (!cfg->rng_seeded) {
        ret = mbedtls_ctr_drbg_seed(&cfg->rng.drbg, session_entropy, &cfg->rng,
                                    (const unsigned char *)rng_personalisation,
                                    sizeof rng_personalisation - 1);
        if (ret != 0) {
            /* Back to a clean context for the next attempt. */
            mbedtls_ctr_drbg_free(&cfg->rng.drbg);
            mbedtls_ctr_drbg_init(&cfg->rng.drbg);
        }
    } else if (cfg->rng_stale || cfg->rng_pid != pid) {
        /* A forked child would otherwise repeat its parent's stream (key
         * shares, nonces); a new entropy hook is mixed in from now on. On
         * failure the state stays as it was and this transport fails. */
        ret = mbedtls_ctr_drbg_reseed(&cfg->rng.drbg, NULL, 0);
    }
    *nomem = cfg->rng.nomem;
    if (ret != 0)
        return ret;
    cfg->rng_seeded = 1;
    cfg->rng_stale = 0;
    cfg->rng_pid = pid;
    *drbg = &cfg->rng.drbg;
    return 0;
}

size_t smtpc_tls_chain_length(const mbedtls_x509_crt *c)
{
    size_t n = 0;
    for (; c && c->raw.p; c = c->next)
        n++;
    return n;
}

static int contains(const uint8_t *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

/* mbedTLS parses PEM only when the NUL is part of the buffer; users hand us
 * files read into memory, which rarely have one. DER is left alone. */
typedef struct {
    const uint8_t *p;
    size_t len;
    uint8_t *copy;
    size_t copy_len;
} pem_buf;

static int pem_prepare(const smtpc_tls_config *cfg, const uint8_t *data, size_t len, pem_buf *b)
{
    b->p = data;
    b->len = len;
    b->copy = NULL;
    b->copy_len = 0;
    if (len == 0 || data[len - 1] == '\0' || !contains(data, len, "-----BEGIN"))
        return 0;
    b->copy = smtpc_alloc(&cfg->alloc, len + 1);
    if (!b->copy)
        return SMTPC_ENOMEM;
    memcpy(b->copy, data, len);
    b->copy_len = len + 1;
    b->p = b->copy;
    b->len = len + 1;
    return 0;
}

static void pem_release(const smtpc_tls_config *cfg, pem_buf *b)
{
    if (b->copy) {
        smtpc_zeroize(b->copy, b->copy_len); /* may hold a private key */
        smtpc_free(&cfg->alloc, b->copy, b->copy_len);
    }
}

/* ------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------- */

int smtpc_tls_config_new(const smtpc_allocator *alloc, smtpc_tls_config **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    smtpc_allocator a;
    if (smtpc_allocator_init(&a, alloc) != SMTPC_OK)
        return SMTPC_EINVAL;
    smtpc_tls_config *cfg = smtpc_alloc(&a, sizeof *cfg);
    if (!cfg)
        return SMTPC_ENOMEM;
    cfg->alloc = a;
    cfg->verify_mode = SMTPC_TLS_VERIFY_REQUIRED;
    cfg->min_version = SMTPC_TLS_VERSION_1_2;
    mbedtls_x509_crt_init(&cfg->ca);
    mbedtls_x509_crt_init(&cfg->own_cert);
    mbedtls_pk_init(&cfg->own_key);
    mbedtls_ctr_drbg_init(&cfg->rng.drbg);
    cfg->ca_is_default = 1;
    /* No handle survives to carry a text here; the code says it, and a
     * transport's setup repeats the call with a message. */
    if (smtpc_tls_crypto_init(NULL, 0) != 0) {
        smtpc_tls_config_free(cfg);
        return SMTPC_ETLS;
    }
    *out = cfg;
    return SMTPC_OK;
}

void smtpc_tls_config_free(smtpc_tls_config *cfg)
{
    if (!cfg)
        return;
    mbedtls_x509_crt_free(&cfg->ca);
    mbedtls_x509_crt_free(&cfg->own_cert);
    mbedtls_pk_free(&cfg->own_key);
    mbedtls_ctr_drbg_free(&cfg->rng.drbg);
    smtpc_strfree(&cfg->alloc, cfg->server_name);
    smtpc_allocator a = cfg->alloc;
    smtpc_zeroize(cfg, sizeof *cfg);
    smtpc_free(&a, cfg, sizeof *cfg);
}

const smtpc_error *smtpc_tls_config_error(const smtpc_tls_config *cfg)
{
    return cfg ? &cfg->error : NULL;
}

enum { CA_FILE, CA_DIR, CA_MEM };

/* The system bundle is parsed on first use, not at creation: it holds
 * about 470 KB of heap once parsed (Debian, 144 roots), which a program
 * that brings its own anchors should never pay. A missing or unreadable
 * bundle is not an error here: firmware has none, and an empty store fails
 * verification loudly. */
void smtpc_tls_load_default_ca(smtpc_tls_config *cfg)
{
    if (!cfg->ca_is_default || cfg->default_loaded)
        return;
    cfg->default_loaded = 1;
#if defined(MBEDTLS_FS_IO)
    if (SMTPC_TLS_DEFAULT_CA_FILE[0])
        (void)mbedtls_x509_crt_parse_file(&cfg->ca, SMTPC_TLS_DEFAULT_CA_FILE);
#endif
}

static int parse_ca_into(smtpc_tls_config *cfg, mbedtls_x509_crt *chain, int kind,
                         const char *path, const uint8_t *data, size_t len)
{
    size_t before = smtpc_tls_chain_length(chain);
    int ret;
    const char *what = kind == CA_MEM ? "CA certificates from memory" : path;

    switch (kind) {
#if defined(MBEDTLS_FS_IO)
    case CA_FILE: ret = mbedtls_x509_crt_parse_file(chain, path); break;
    case CA_DIR: ret = mbedtls_x509_crt_parse_path(chain, path); break;
#else
    case CA_FILE:
    case CA_DIR:
        (void)path;
        return smtpc_error_set(&cfg->error, SMTPC_ENOTSUP, "this mbedTLS build has no file support");
#endif
    default: {
        pem_buf b;
        if (pem_prepare(cfg, data, len, &b) != 0) {
            return smtpc_error_set(&cfg->error, SMTPC_ENOMEM, "out of memory");
        }
        ret = mbedtls_x509_crt_parse(chain, b.p, b.len);
        pem_release(cfg, &b);
        break;
    }
    }
    if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR || ret == MBEDTLS_ERR_X509_FILE_IO_ERROR) {
        return smtpc_error_set(&cfg->error, SMTPC_EFILE, "cannot read %s", what);
    }
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED) {
        return smtpc_error_set(&cfg->error, SMTPC_ENOMEM, "out of memory loading %s", what);
    }
    /* A positive result counts certificates skipped; a bundle with one
     * odd entry is still a bundle. Only "nothing usable" is an error. */
    if (smtpc_tls_chain_length(chain) == before) {
        if (ret < 0)
            return cfg_fail(cfg, SMTPC_ETLS, what, ret);
        return smtpc_error_set(&cfg->error, SMTPC_ETLS, "%s: no certificate found", what);
    }
    return SMTPC_OK;
}

static int add_ca(smtpc_tls_config *cfg, int kind, const char *path, const uint8_t *data,
                  size_t len)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    if ((kind != CA_MEM && (!path || !path[0])) || (kind == CA_MEM && (!data || len == 0))) {
        return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "no CA source given");
    }
    if (!cfg->ca_is_default)
        return parse_ca_into(cfg, &cfg->ca, kind, path, data, len);

    /* Replace the system bundle only once the user's anchors loaded, so a
     * failed call leaves the configuration as it was. */
    mbedtls_x509_crt fresh;
    mbedtls_x509_crt_init(&fresh);
    int rc = parse_ca_into(cfg, &fresh, kind, path, data, len);
    if (rc != SMTPC_OK) {
        mbedtls_x509_crt_free(&fresh);
        return rc;
    }
    mbedtls_x509_crt_free(&cfg->ca);
    cfg->ca = fresh; /* the head moves; its chain nodes stay where they are */
    cfg->ca_is_default = 0;
    return SMTPC_OK;
}

int smtpc_tls_config_add_ca_file(smtpc_tls_config *cfg, const char *path)
{
    return add_ca(cfg, CA_FILE, path, NULL, 0);
}

int smtpc_tls_config_add_ca_dir(smtpc_tls_config *cfg, const char *path)
{
    return add_ca(cfg, CA_DIR, path, NULL, 0);
}

int smtpc_tls_config_add_ca_mem(smtpc_tls_config *cfg, const uint8_t *data, size_t len)
{
    return add_ca(cfg, CA_MEM, NULL, data, len);
}

/* Parse the client key into cfg->own_key and check it belongs to
 * cfg->own_cert. *mismatch tells a wrong key from an unreadable one. */
static int parse_key(smtpc_tls_config *cfg, const char *path, const uint8_t *data, size_t len,
                     const char *password, int *mismatch)
{
    const unsigned char *pwd = (const unsigned char *)password;
    size_t pwd_len = password ? strlen(password) : 0;
    int ret;
    *mismatch = 0;
#if !defined(MBEDTLS_FS_IO)
    (void)path; /* set_client_cert refused file names already */
#endif
#if SMTPC_MBEDTLS_3
    /* 3.x wants an RNG to parse keys (it blinds the key checks). */
    mbedtls_ctr_drbg_context *drbg = NULL;
    int nomem = 0;
    ret = smtpc_tls_config_rng(cfg, &drbg, &nomem);
    if (ret == 0) {
#if defined(MBEDTLS_FS_IO)
        if (path)
            ret = mbedtls_pk_parse_keyfile(&cfg->own_key, path, password,
                                           mbedtls_ctr_drbg_random, drbg);
        else
#endif
            ret = mbedtls_pk_parse_key(&cfg->own_key, data, len, pwd, pwd_len,
                                       mbedtls_ctr_drbg_random, drbg);
        if (ret == 0 && mbedtls_pk_check_pair(&cfg->own_cert.pk, &cfg->own_key,
                                              mbedtls_ctr_drbg_random, drbg) != 0)
            *mismatch = 1;
    }
#else
#if defined(MBEDTLS_FS_IO)
    if (path)
        ret = mbedtls_pk_parse_keyfile(&cfg->own_key, path, password);
    else
#endif
        ret = mbedtls_pk_parse_key(&cfg->own_key, data, len, pwd, pwd_len);
    if (ret == 0 && mbedtls_pk_check_pair(&cfg->own_cert.pk, &cfg->own_key) != 0)
        *mismatch = 1;
#endif
    return ret;
}

static void clear_client_cert(smtpc_tls_config *cfg)
{
    mbedtls_x509_crt_free(&cfg->own_cert);
    mbedtls_pk_free(&cfg->own_key);
    mbedtls_x509_crt_init(&cfg->own_cert);
    mbedtls_pk_init(&cfg->own_key);
    cfg->have_own = 0;
}

static int set_client_cert(smtpc_tls_config *cfg, const char *cert_path, const char *key_path,
                           const uint8_t *cert, size_t cert_len, const uint8_t *key,
                           size_t key_len, const char *password)
{
    int from_files = cert_path != NULL;
    int ret;
    clear_client_cert(cfg);

#if !defined(MBEDTLS_FS_IO)
    if (from_files) {
        return smtpc_error_set(&cfg->error, SMTPC_ENOTSUP, "this mbedTLS build has no file support");
    }
#endif
    pem_buf cb, kb;
    memset(&kb, 0, sizeof kb);
    memset(&cb, 0, sizeof cb);
    if (!from_files && (pem_prepare(cfg, cert, cert_len, &cb) != 0 ||
                        pem_prepare(cfg, key, key_len, &kb) != 0)) {
        pem_release(cfg, &cb);
        return smtpc_error_set(&cfg->error, SMTPC_ENOMEM, "out of memory");
    }

#if defined(MBEDTLS_FS_IO)
    if (from_files)
        ret = mbedtls_x509_crt_parse_file(&cfg->own_cert, cert_path);
    else
#endif
        ret = mbedtls_x509_crt_parse(&cfg->own_cert, cb.p, cb.len);
    const char *what = from_files ? cert_path : "client certificate";
    int mismatch = 0;
    if (ret == 0) {
        ret = parse_key(cfg, from_files ? key_path : NULL, kb.p, kb.len, password, &mismatch);
        what = from_files ? key_path : "client key";
    }
    pem_release(cfg, &cb);
    pem_release(cfg, &kb);
    if (ret == 0 && !mismatch) {
        cfg->have_own = 1;
        return SMTPC_OK;
    }
    clear_client_cert(cfg);
    if (mismatch) {
        return smtpc_error_set(&cfg->error, SMTPC_ETLS, "the client key does not match the client certificate");
    }
    if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR || ret == MBEDTLS_ERR_X509_FILE_IO_ERROR) {
        return smtpc_error_set(&cfg->error, SMTPC_EFILE, "cannot read %s", what);
    }
    return cfg_fail(cfg, SMTPC_ETLS, what, ret);
}

int smtpc_tls_config_set_client_cert_file(smtpc_tls_config *cfg, const char *cert_path,
                                          const char *key_path, const char *password)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    if (!cert_path || !key_path || !cert_path[0] || !key_path[0]) {
        return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "certificate and key paths are required");
    }
    return set_client_cert(cfg, cert_path, key_path, NULL, 0, NULL, 0, password);
}

int smtpc_tls_config_set_client_cert_mem(smtpc_tls_config *cfg, const uint8_t *cert,
                                         size_t cert_len, const uint8_t *key, size_t key_len,
                                         const char *password)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    if (!cert || !key || cert_len == 0 || key_len == 0) {
        return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "certificate and key are required");
    }
    return set_client_cert(cfg, NULL, NULL, cert, cert_len, key, key_len, password);
}

int smtpc_tls_config_set_pin_sha256(smtpc_tls_config *cfg, const uint8_t *pin, size_t len)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    if (!pin) {
        cfg->have_pin = 0;
        return SMTPC_OK;
    }
    if (len != SMTPC_TLS_PIN_LEN) {
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "a SHA-256 pin is %d bytes, not %s",
                               SMTPC_TLS_PIN_LEN, smtpc_fmt_size(num, len));
    }
    memcpy(cfg->pin, pin, SMTPC_TLS_PIN_LEN);
    cfg->have_pin = 1;
    return SMTPC_OK;
}

int smtpc_tls_config_set_pin_sha256_hex(smtpc_tls_config *cfg, const char *hex)
{
    if (!cfg)
        return SMTPC_EINVAL;
    if (!hex)
        return smtpc_tls_config_set_pin_sha256(cfg, NULL, 0);
    uint8_t pin[SMTPC_TLS_PIN_LEN];
    size_t n = 0;
    int high = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ':' && high < 0)
            continue;
        int d = smtpc_hex_digit(*p);
        if (d < 0 || n == sizeof pin) {
            return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "a SHA-256 pin is 64 hex digits (optionally ':'-separated)");
        }
        if (high < 0) {
            high = d;
        } else {
            pin[n++] = (uint8_t)(high << 4 | d);
            high = -1;
        }
    }
    if (n != sizeof pin || high >= 0) {
        return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "a SHA-256 pin is 64 hex digits (optionally ':'-separated)");
    }
    return smtpc_tls_config_set_pin_sha256(cfg, pin, sizeof pin);
}

int smtpc_tls_config_set_verify(smtpc_tls_config *cfg, int mode)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    if (mode != SMTPC_TLS_VERIFY_REQUIRED && mode != SMTPC_TLS_VERIFY_NONE) {
        return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "unknown verification mode %d", mode);
    }
    cfg->verify_mode = mode;
    return SMTPC_OK;
}

int smtpc_tls_config_verify_mode(const smtpc_tls_config *cfg)
{
    return cfg ? cfg->verify_mode : SMTPC_EINVAL;
}

int smtpc_tls_config_set_min_version(smtpc_tls_config *cfg, int version)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    if (version == SMTPC_TLS_VERSION_1_2) {
        cfg->min_version = version;
        return SMTPC_OK;
    }
    if (version == SMTPC_TLS_VERSION_1_3) {
#if MBEDTLS_VERSION_NUMBER >= 0x03020000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
        cfg->min_version = version;
        return SMTPC_OK;
#else
        return smtpc_error_set(&cfg->error, SMTPC_ENOTSUP, "this mbedTLS (%s) has no TLS 1.3",
                 MBEDTLS_VERSION_STRING);
#endif
    }
    return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "minimum version must be TLS 1.2 or 1.3");
}

/* mbedTLS's limit for a host name; longer is no DNS name either. */
#define SERVER_NAME_MAX 255

int smtpc_tls_config_set_server_name(smtpc_tls_config *cfg, const char *name)
{
    if (!cfg)
        return SMTPC_EINVAL;
    smtpc_error_clear(&cfg->error);
    char *copy = NULL;
    if (name) {
        size_t n = strlen(name);
        int ok = n > 0 && n <= SERVER_NAME_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = (unsigned char)name[i] > 0x20 && (unsigned char)name[i] != 0x7f;
        if (!ok) {
            return smtpc_error_set(&cfg->error, SMTPC_EINVAL, "a server name is 1 to %d bytes without spaces or control characters",
                     SERVER_NAME_MAX);
        }
        copy = smtpc_strdup(&cfg->alloc, name);
        if (!copy) {
            return smtpc_error_set(&cfg->error, SMTPC_ENOMEM, "out of memory");
        }
    }
    smtpc_strfree(&cfg->alloc, cfg->server_name);
    cfg->server_name = copy;
    return SMTPC_OK;
}

int smtpc_tls_config_set_entropy(smtpc_tls_config *cfg, smtpc_entropy_fn fn, void *user)
{
    if (!cfg)
        return SMTPC_EINVAL;
    cfg->entropy_fn = fn;
    cfg->entropy_user = fn ? user : NULL;
    cfg->rng_stale = 1;
    return SMTPC_OK;
}
