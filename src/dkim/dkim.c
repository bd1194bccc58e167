/* The DKIM signer handle: key, domain, selector and the signing settings
 * (mbedTLS parses and holds the key). */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/version.h>
#include <string.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#define DKIM_PSA 1
#endif

#include "alloc.h"
#include "fmt.h"
#include "dkim_canon.h"
#include "dkim_internal.h"
#include "dkim_sign.h"
#include "port.h"

/* RFC 8301: verifiers must refuse smaller RSA keys. */
#define MIN_RSA_BITS 2048

static const char *const default_names[] = {
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
    "Content-Transfer-Encoding", "Reply-To", "In-Reply-To", "References", "Sender",
    "List-Unsubscribe", "List-Unsubscribe-Post",
};

static void set_default_names(smtpc_dkim *d)
{
    d->n_names = sizeof default_names / sizeof default_names[0];
    for (size_t i = 0; i < d->n_names; i++)
        smtpc_copy_text(d->names[i], sizeof d->names[i], default_names[i]);
}

static int changed(smtpc_dkim *d)
{
    d->serial++;
    return 0;
}

int smtpc_dkim_new(const smtpc_allocator *alloc, smtpc_dkim **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    smtpc_allocator a;
    smtpc_allocator_init(&a, alloc);
    smtpc_dkim *d = smtpc_alloc(&a, sizeof *d);
    if (!d)
        return SMTPC_ENOMEM;
    d->alloc = a;
    mbedtls_pk_init(&d->pk);
    set_default_names(d);
    d->hcanon = d->bcanon = SMTPC_DKIM_RELAXED;
    d->oversign_from = 1;
    d->timestamp = 1;
    d->clock = smtpc_clock_default;
    *out = d;
    return 0;
}

void smtpc_dkim_free(smtpc_dkim *d)
{
    if (!d)
        return;
    mbedtls_pk_free(&d->pk);
    smtpc_allocator a = d->alloc;
    smtpc_zeroize(d, sizeof *d);
    smtpc_free(&a, d, sizeof *d);
}

const smtpc_error *smtpc_dkim_error(const smtpc_dkim *d)
{
    return d ? &d->error : NULL;
}

unsigned long smtpc_dkim_serial(const smtpc_dkim *d)
{
    return d->serial;
}

typedef struct rng_state {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} rng_state;

/* A DRBG per call, its state (tens of KB) from the allocator, never the
 * stack: RSA blinding and 3.x key checks want a few random bytes. */
int smtpc_dkim_rng(void *p, unsigned char *out, size_t len)
{
    static const unsigned char pers[] = "smtpc-dkim";
    smtpc_dkim *d = p;
    rng_state *st = smtpc_alloc(&d->alloc, sizeof *st);
    if (!st)
        return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    mbedtls_entropy_init(&st->entropy);
    mbedtls_ctr_drbg_init(&st->drbg);
    int rc = mbedtls_ctr_drbg_seed(&st->drbg, mbedtls_entropy_func, &st->entropy, pers,
                                   sizeof pers - 1);
    if (rc == 0)
        rc = mbedtls_ctr_drbg_random(&st->drbg, out, len);
    mbedtls_ctr_drbg_free(&st->drbg);
    mbedtls_entropy_free(&st->entropy);
    smtpc_free(&d->alloc, st, sizeof *st);
    return rc;
}

static int parse(smtpc_dkim *d, const char *path, const uint8_t *pem, size_t len,
                 const char *password)
{
    const unsigned char *pwd = (const unsigned char *)password;
    size_t pwd_len = password ? strlen(password) : 0;
#ifdef DKIM_PSA
    /* 3.x does RSA through PSA when built to; initialising twice is
     * harmless. */
    if (psa_crypto_init() != PSA_SUCCESS)
        return MBEDTLS_ERR_PK_ALLOC_FAILED;
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    if (path)
        return mbedtls_pk_parse_keyfile(&d->pk, path, password, smtpc_dkim_rng, d);
    return mbedtls_pk_parse_key(&d->pk, pem, len, pwd, pwd_len, smtpc_dkim_rng, d);
#else
    if (path)
        return mbedtls_pk_parse_keyfile(&d->pk, path, password);
    return mbedtls_pk_parse_key(&d->pk, pem, len, pwd, pwd_len);
#endif
}

static int set_key(smtpc_dkim *d, const char *path, const uint8_t *pem, size_t len,
                   const char *password)
{
    mbedtls_pk_free(&d->pk);
    mbedtls_pk_init(&d->pk);
    d->have_key = 0;
    changed(d);
    int ret = parse(d, path, pem, len, password);
    if (ret != 0) {
        char why[160];
        mbedtls_strerror(ret, why, sizeof why);
        int code = SMTPC_EINVAL;
        const char *hint = "";
        if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR) {
            code = SMTPC_EFILE;
        } else if (ret == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG) {
            code = SMTPC_ENOTSUP;
            hint = " (an Ed25519 key? mbedTLS has no Ed25519: use an RSA key)";
        } else if (ret == MBEDTLS_ERR_PK_ALLOC_FAILED) {
            code = SMTPC_ENOMEM;
        }
        mbedtls_pk_free(&d->pk);
        mbedtls_pk_init(&d->pk);
        return smtpc_error_set(&d->error, code, "DKIM key%s%.100s: %.100s%s", path ? " " : "",
                               path ? path : "", why, hint);
    }
    if (mbedtls_pk_get_type(&d->pk) != MBEDTLS_PK_RSA) {
        mbedtls_pk_free(&d->pk);
        mbedtls_pk_init(&d->pk);
        return smtpc_error_set(&d->error, SMTPC_ENOTSUP,
                               "DKIM key: not an RSA key (only rsa-sha256 is available)");
    }
    size_t bits = mbedtls_pk_get_bitlen(&d->pk);
    if (bits < MIN_RSA_BITS) {
        mbedtls_pk_free(&d->pk);
        mbedtls_pk_init(&d->pk);
        return smtpc_error_set(&d->error, SMTPC_EINVAL,
                               "DKIM key: RSA key of %u bits refused, at least %u needed "
                               "(RFC 8301)",
                               (unsigned)bits, (unsigned)MIN_RSA_BITS);
    }
    d->have_key = 1;
    return 0;
}

int smtpc_dkim_set_key_file(smtpc_dkim *d, const char *path, const char *password)
{
    if (!d)
        return SMTPC_EINVAL;
    if (!path)
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "smtpc_dkim_set_key_file: no path");
#if !defined(MBEDTLS_FS_IO)
    (void)password;
    return smtpc_error_set(&d->error, SMTPC_ENOTSUP,
                           "mbedTLS is built without file access: use smtpc_dkim_set_key_mem");
#else
    return set_key(d, path, NULL, 0, password);
#endif
}

int smtpc_dkim_set_key_mem(smtpc_dkim *d, const uint8_t *pem, size_t len, const char *password)
{
    if (!d)
        return SMTPC_EINVAL;
    if (!pem || len == 0)
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "smtpc_dkim_set_key_mem: no key");
    /* mbedTLS takes PEM only with its NUL counted in the length. */
    if (pem[len - 1] != '\0') {
        uint8_t *copy = smtpc_alloc(&d->alloc, len + 1);
        if (!copy)
            return smtpc_error_set(&d->error, SMTPC_ENOMEM, NULL);
        memcpy(copy, pem, len);
        int rc = set_key(d, NULL, copy, len + 1, password);
        smtpc_zeroize(copy, len + 1);
        smtpc_free(&d->alloc, copy, len + 1);
        return rc;
    }
    return set_key(d, NULL, pem, len, password);
}

int smtpc_dkim_set_algorithm(smtpc_dkim *d, int algorithm)
{
    if (!d)
        return SMTPC_EINVAL;
    if (algorithm == SMTPC_DKIM_RSA_SHA256)
        return changed(d);
    if (algorithm == SMTPC_DKIM_ED25519_SHA256)
        return smtpc_error_set(&d->error, SMTPC_ENOTSUP,
                               "ed25519-sha256 needs Ed25519, which mbedTLS %s does not "
                               "offer: use rsa-sha256",
                               MBEDTLS_VERSION_STRING);
    return smtpc_error_set(&d->error, SMTPC_EINVAL, "unknown DKIM algorithm %d", algorithm);
}

static int set_label(smtpc_dkim *d, char *dst, const char *value, const char *what)
{
    if (!value || !*value)
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "DKIM %s: empty", what);
    size_t n = strlen(value);
    if (n > SMTPC_DKIM_LABEL_MAX)
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "DKIM %s: longer than %d octets", what,
                               SMTPC_DKIM_LABEL_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            return smtpc_error_set(&d->error, SMTPC_EBADCHAR,
                                   "DKIM %s: control character", what);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return smtpc_error_set(&d->error, SMTPC_EINVAL,
                                   "DKIM %s %.100s: only letters, digits, '-', '_' and '.' "
                                   "(A-labels for non-ASCII domains)",
                                   what, value);
    }
    if (value[0] == '.' || value[n - 1] == '.' || strstr(value, ".."))
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "DKIM %s %.100s: empty label", what,
                               value);
    memcpy(dst, value, n + 1);
    return changed(d);
}

int smtpc_dkim_set_domain(smtpc_dkim *d, const char *domain)
{
    return d ? set_label(d, d->domain, domain, "domain") : SMTPC_EINVAL;
}

int smtpc_dkim_set_selector(smtpc_dkim *d, const char *selector)
{
    return d ? set_label(d, d->selector, selector, "selector") : SMTPC_EINVAL;
}

static int check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SMTPC_DKIM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':')
            return 0;
    return 1;
}

int smtpc_dkim_set_headers(smtpc_dkim *d, const char *const *names, size_t n)
{
    if (!d)
        return SMTPC_EINVAL;
    if (!names && n == 0) {
        set_default_names(d);
        return changed(d);
    }
    if (!names || n == 0)
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "smtpc_dkim_set_headers: no names");
    if (n > SMTPC_DKIM_MAX_HEADERS)
        return smtpc_error_set(&d->error, SMTPC_ETOOLONG, "more than %d header names",
                               SMTPC_DKIM_MAX_HEADERS);
    int from = 0;
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !check_name(names[i])) {
            char num[SMTPC_FMT_INT_MAX];
            return smtpc_error_set(&d->error, SMTPC_EHEADER,
                                   "DKIM header name %s: 1..%d printable characters, no ':'",
                                   smtpc_fmt_size(num, i), SMTPC_DKIM_NAME_MAX);
        }
        /* A name twice would sign its instances twice over. */
        for (size_t j = 0; j < i; j++)
            if (smtpc_dkim_name_eq(names[i], strlen(names[i]), names[j]))
                return smtpc_error_set(&d->error, SMTPC_EHEADER,
                                       "DKIM header name %.80s given twice", names[i]);
        from |= smtpc_dkim_name_eq(names[i], strlen(names[i]), "From");
    }
    if (!from)
        return smtpc_error_set(&d->error, SMTPC_EHEADER,
                               "DKIM header names must include From (RFC 6376 5.4)");
    for (size_t i = 0; i < n; i++)
        smtpc_copy_text(d->names[i], sizeof d->names[i], names[i]);
    d->n_names = n;
    return changed(d);
}

int smtpc_dkim_set_canonicalization(smtpc_dkim *d, int header_canon, int body_canon)
{
    if (!d)
        return SMTPC_EINVAL;
    if ((header_canon != SMTPC_DKIM_SIMPLE && header_canon != SMTPC_DKIM_RELAXED) ||
        (body_canon != SMTPC_DKIM_SIMPLE && body_canon != SMTPC_DKIM_RELAXED))
        return smtpc_error_set(&d->error, SMTPC_EINVAL,
                               "DKIM canonicalization: SMTPC_DKIM_SIMPLE or SMTPC_DKIM_RELAXED");
    d->hcanon = header_canon;
    d->bcanon = body_canon;
    return changed(d);
}

int smtpc_dkim_set_oversign_from(smtpc_dkim *d, int on)
{
    if (!d)
        return SMTPC_EINVAL;
    d->oversign_from = on != 0;
    return changed(d);
}

int smtpc_dkim_set_timestamps(smtpc_dkim *d, int timestamp, int64_t expire_seconds)
{
    if (!d)
        return SMTPC_EINVAL;
    if (expire_seconds < 0 || expire_seconds > (int64_t)1 << 40)
        return smtpc_error_set(&d->error, SMTPC_EINVAL,
                               "DKIM expiry: 0 (none) or a positive number of seconds");
    d->timestamp = timestamp != 0;
    d->expire = expire_seconds;
    return changed(d);
}

int smtpc_dkim_set_clock(smtpc_dkim *d, smtpc_clock_fn fn, void *user)
{
    if (!d)
        return SMTPC_EINVAL;
    d->clock = fn ? fn : smtpc_clock_default;
    d->clock_user = fn ? user : NULL;
    return changed(d);
}

int smtpc_dkim_sign_raw(smtpc_dkim *d, const uint8_t *data, size_t len, char *out, size_t cap,
                        size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!d)
        return SMTPC_EINVAL;
    if ((!data && len) || (!out && cap) || !out_len)
        return smtpc_error_set(&d->error, SMTPC_EINVAL, "smtpc_dkim_sign_raw: %s",
                               !out_len ? "out_len is NULL" : "NULL buffer with a length");
    smtpc_dkim_ctx *ctx;
    int rc = smtpc_dkim_ctx_new(d, &ctx);
    if (rc)
        return rc;
    smtpc_dkim_ctx_update(ctx, data, len);
    const char *hdr;
    size_t n;
    rc = smtpc_dkim_ctx_final(ctx, &hdr, &n);
    if (rc == 0) {
        if (n + 1 > cap) {
            *out_len = n + 1;
            char need[SMTPC_FMT_INT_MAX], have[SMTPC_FMT_INT_MAX];
            rc = smtpc_error_set(&d->error, SMTPC_ETOOLONG,
                                 "the DKIM-Signature header needs %s bytes, the buffer has %s",
                                 smtpc_fmt_size(need, n + 1), smtpc_fmt_size(have, cap));
        } else {
            memcpy(out, hdr, n + 1);
            *out_len = n;
        }
    }
    smtpc_dkim_ctx_free(ctx);
    return rc;
}
