/* SCRAM-SHA-256 (RFC 7677, RFC 5802), without channel binding ("n,,").
 * SASLprep is approximated: control characters are refused and other bytes
 * (UTF-8 included) pass unchanged, which is exact for printable ASCII. */
#include <string.h>

#include "alloc.h"
#include "ct_compare.h"
#include "sasl_mech.h"
#include "smtpc/base.h"

#define SCRAM_NONCE_BYTES 15 /* 120 bits, 20 base64 characters */
#define SCRAM_SALT_MAX 128
#define SCRAM_ITER_MAX 1000000u /* a hostile server must not cost minutes of CPU */

static int scram_prepare(smtpc_sasl *s, smtpc_random_fn random, void *random_user)
{
    if (smtpc_sasl_has_ctl(s->user) || smtpc_sasl_has_ctl(s->secret))
        return SMTPC_EBADCHAR;
    if (!random)
        return SMTPC_ENOTSUP;
    uint8_t raw[SCRAM_NONCE_BYTES];
    int rc = random(random_user, raw, sizeof raw);
    if (rc != 0)
        rc = SMTPC_EAUTH;
    /* base64 avoids ',' and stays printable, as the nonce grammar asks. */
    if (rc == SMTPC_OK &&
        smtpc_b64_encode(raw, sizeof raw, s->client_nonce, sizeof s->client_nonce) == 0)
        rc = SMTPC_EAUTH;
    smtpc_zeroize(raw, sizeof raw);
    if (rc != SMTPC_OK)
        return rc;

    char *b = s->client_first_bare;
    size_t cap = sizeof s->client_first_bare, n = 0;
    memcpy(b, "n=", 2);
    n = 2;
    for (const char *u = s->user; *u; u++) {
        const char *piece = smtpc_saslname_escape(*u);
        size_t plen = piece ? 3 : 1;
        if (n + plen >= cap)
            return SMTPC_ETOOLONG;
        memcpy(b + n, piece ? piece : u, plen);
        n += plen;
    }
    size_t nonce_len = strlen(s->client_nonce);
    if (n + 3 + nonce_len >= cap)
        return SMTPC_ETOOLONG;
    memcpy(b + n, ",r=", 3);
    memcpy(b + n + 3, s->client_nonce, nonce_len + 1);
    return SMTPC_OK;
}

static int scram_initial(const smtpc_sasl *s, smtpc_b64_writer *w)
{
    smtpc_b64_writer_puts(w, "n,,");
    smtpc_b64_writer_puts(w, s->client_first_bare);
    return SMTPC_OK;
}

/* Reads "<name>=<value>" at *pos and moves past the following ','. */
static int take_attr(const uint8_t *m, size_t len, size_t *pos, char name, const char **value,
                     size_t *value_len)
{
    size_t p = *pos;
    if (p + 2 > len || m[p] != (uint8_t)name || m[p + 1] != '=')
        return 0;
    size_t start = p + 2, end = start;
    while (end < len && m[end] != ',')
        end++;
    *value = (const char *)m + start;
    *value_len = end - start;
    *pos = end < len ? end + 1 : end;
    return 1;
}

static int parse_iterations(const char *v, size_t len, unsigned *out)
{
    unsigned long n = 0;
    if (len == 0 || len > 7)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        n = n * 10 + (unsigned long)(v[i] - '0');
    }
    if (n < 1 || n > SCRAM_ITER_MAX)
        return 0;
    *out = (unsigned)n;
    return 1;
}

typedef struct scram_keys {
    uint8_t salted[32];
    uint8_t client_key[32];
    uint8_t stored_key[32];
    uint8_t client_sig[32];
    uint8_t server_key[32];
    uint8_t proof[32];
    char proof_b64[48];
} scram_keys;

static int compute(smtpc_sasl *s, const uint8_t *salt, size_t salt_len, unsigned iterations,
                   const smtpc_bytes *auth_msg, size_t auth_parts, scram_keys *k)
{
    static const char client_label[] = "Client Key";
    static const char server_label[] = "Server Key";
    const smtpc_bytes client_part = {client_label, sizeof client_label - 1};
    const smtpc_bytes server_part = {server_label, sizeof server_label - 1};
    int rc = smtpc_pbkdf2_sha256((const uint8_t *)s->secret, strlen(s->secret), salt, salt_len,
                                 iterations, k->salted);
    if (rc == SMTPC_OK)
        rc = smtpc_hmac_sha256(k->salted, 32, &client_part, 1, k->client_key);
    if (rc == SMTPC_OK)
        rc = smtpc_sha256(k->client_key, 32, k->stored_key);
    if (rc == SMTPC_OK)
        rc = smtpc_hmac_sha256(k->stored_key, 32, auth_msg, auth_parts, k->client_sig);
    if (rc == SMTPC_OK)
        rc = smtpc_hmac_sha256(k->salted, 32, &server_part, 1, k->server_key);
    if (rc == SMTPC_OK)
        rc = smtpc_hmac_sha256(k->server_key, 32, auth_msg, auth_parts, s->server_signature);
    if (rc != SMTPC_OK)
        return rc;
    for (size_t i = 0; i < 32; i++)
        k->proof[i] = k->client_key[i] ^ k->client_sig[i];
    if (smtpc_b64_encode(k->proof, 32, k->proof_b64, sizeof k->proof_b64) == 0)
        return SMTPC_EAUTH;
    return SMTPC_OK;
}

/* server-first -> client-final with the proof. */
static int answer_server_first(smtpc_sasl *s, const uint8_t *m, size_t len,
                               smtpc_b64_writer *w)
{
    /* It goes verbatim into AuthMessage; only printable ASCII is sane. */
    for (size_t i = 0; i < len; i++)
        if (m[i] < 0x20 || m[i] > 0x7e)
            return SMTPC_EAUTH_PROTO;
    size_t pos = 0;
    const char *nonce, *salt_b64, *iter;
    size_t nonce_len, salt_b64_len, iter_len;
    /* An "m=" mandatory extension we cannot know fails take_attr('r'). */
    if (!take_attr(m, len, &pos, 'r', &nonce, &nonce_len) ||
        !take_attr(m, len, &pos, 's', &salt_b64, &salt_b64_len) ||
        !take_attr(m, len, &pos, 'i', &iter, &iter_len))
        return SMTPC_EAUTH_PROTO;
    size_t cn_len = strlen(s->client_nonce);
    /* The server must extend our nonce, not replace or merely echo it. */
    if (nonce_len <= cn_len || memcmp(nonce, s->client_nonce, cn_len) != 0)
        return SMTPC_EAUTH_PROTO;
    unsigned iterations;
    if (!parse_iterations(iter, iter_len, &iterations))
        return SMTPC_EAUTH_PROTO;
    uint8_t salt[SCRAM_SALT_MAX];
    size_t salt_len;
    if (smtpc_b64_decode_strict(salt_b64, salt_b64_len, salt, sizeof salt, &salt_len) !=
            SMTPC_OK ||
        salt_len == 0)
        return SMTPC_EAUTH_PROTO;

    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    const smtpc_bytes auth_msg[] = {
        {s->client_first_bare, strlen(s->client_first_bare)},
        {",", 1},
        {m, len},
        {",c=biws,r=", 10},
        {nonce, nonce_len},
    };
    scram_keys k;
    int rc = compute(s, salt, salt_len, iterations, auth_msg,
                     sizeof auth_msg / sizeof auth_msg[0], &k);
    if (rc == SMTPC_OK) {
        smtpc_b64_writer_puts(w, "c=biws,r=");
        smtpc_b64_writer_put(w, nonce, nonce_len);
        smtpc_b64_writer_puts(w, ",p=");
        smtpc_b64_writer_puts(w, k.proof_b64);
    }
    smtpc_zeroize(&k, sizeof k);
    return rc;
}

static int check_server_final(smtpc_sasl *s, const uint8_t *m, size_t len)
{
    size_t pos = 0;
    const char *v;
    size_t v_len;
    if (len >= 2 && m[0] == 'e' && m[1] == '=')
        return SMTPC_EAUTH_FAILED;
    if (!take_attr(m, len, &pos, 'v', &v, &v_len))
        return SMTPC_EAUTH_PROTO;
    uint8_t sig[48];
    size_t sig_len;
    if (smtpc_b64_decode_strict(v, v_len, sig, sizeof sig, &sig_len) != SMTPC_OK)
        return SMTPC_EAUTH_PROTO;
    int same = sig_len == sizeof s->server_signature &&
               smtpc_ct_equal(sig, s->server_signature, sizeof s->server_signature);
    smtpc_zeroize(sig, sizeof sig);
    if (!same)
        return SMTPC_EAUTH_SERVER;
    s->server_verified = 1;
    return SMTPC_OK;
}

static int scram_step(smtpc_sasl *s, const uint8_t *challenge, size_t len, smtpc_b64_writer *w)
{
    if (s->phase == 0)
        return answer_server_first(s, challenge, len, w);
    if (s->phase == 1) {
        int rc = check_server_final(s, challenge, len);
        /* Verified or not, the expected signature has served its purpose. */
        smtpc_zeroize(s->server_signature, sizeof s->server_signature);
        return rc; /* the answer to server-final is an empty line */
    }
    return SMTPC_EAUTH_PROTO;
}

const smtpc_sasl_mech_ops smtpc_sasl_scram_sha_256_ops = {
    SMTPC_MECH_SCRAM_SHA_256, "SCRAM-SHA-256", scram_prepare, scram_initial, scram_step,
};
