/* Private to the SASL codecs (src/sasl*.c, src/base64.c): the per-mechanism
 * interface, an incremental base64 writer, and the crypto primitives, which
 * keep every mbedTLS call of the SASL code in one file (sasl_crypto.c). */
#ifndef SMTPC_SASL_MECH_H
#define SMTPC_SASL_MECH_H
#include <stddef.h>
#include <stdint.h>
#include "sasl.h"

/* Base64 of pieces appended one after the other, straight into the output
 * line, so no plaintext copy of a credential is assembled anywhere. */
typedef struct smtpc_b64_writer {
    char *out;
    size_t cap;
    size_t len;
    uint8_t group[3]; /* encoded when full: only the last, short one pads */
    uint8_t group_len;
    int overflow;
} smtpc_b64_writer;

void smtpc_b64_writer_init(smtpc_b64_writer *w, char *out, size_t cap);
void smtpc_b64_writer_put(smtpc_b64_writer *w, const void *data, size_t len);
void smtpc_b64_writer_puts(smtpc_b64_writer *w, const char *s);
/* Pads, NUL-terminates and zeroes the staging chunk. 0 or SMTPC_ETOOLONG. */
int smtpc_b64_writer_finish(smtpc_b64_writer *w);

/* One mechanism. initial is NULL when the mechanism speaks second.
 * step answers the phase-th challenge after the initial response; an error
 * return makes the dispatcher send "*" instead. */
typedef struct smtpc_sasl_mech_ops {
    int mech;
    const char *name;
    int (*prepare)(smtpc_sasl *s, smtpc_random_fn random, void *random_user);
    int (*initial)(const smtpc_sasl *s, smtpc_b64_writer *w);
    int (*step)(smtpc_sasl *s, const uint8_t *challenge, size_t len, smtpc_b64_writer *w);
} smtpc_sasl_mech_ops;

/* Without SASL crypto and the extra mechanisms PLAIN is the only one: it
 * has an initial response and nothing to prepare, so the dispatcher need
 * not ask. */
#define SMTPC_SASL_ONLY_PLAIN (!SMTPC_HAVE_SASL_CRYPTO && !SMTPC_HAVE_SASL_EXTRA)

extern const smtpc_sasl_mech_ops smtpc_sasl_plain_ops;
extern const smtpc_sasl_mech_ops smtpc_sasl_login_ops;
extern const smtpc_sasl_mech_ops smtpc_sasl_cram_md5_ops;
extern const smtpc_sasl_mech_ops smtpc_sasl_xoauth2_ops;
extern const smtpc_sasl_mech_ops smtpc_sasl_oauthbearer_ops;
extern const smtpc_sasl_mech_ops smtpc_sasl_scram_sha_256_ops;

/* 1 when s holds a byte below 0x20 or 0x7F (CR, LF, SOH, ... ). */
int smtpc_sasl_has_ctl(const char *s);
/* RFC 5802 saslname (also RFC 7628's gs2 authzid): "=2C" for ',', "=3D"
 * for '=', NULL for a byte that stands as it is. */
const char *smtpc_saslname_escape(char c);
/* Append s escaped so. */
void smtpc_sasl_put_saslname(smtpc_b64_writer *w, const char *s);

/* Crypto (sasl_crypto.c). 0, SMTPC_ENOMEM or SMTPC_EAUTH. */
typedef struct smtpc_bytes {
    const void *data;
    size_t len;
} smtpc_bytes;

int smtpc_hmac_md5(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                   uint8_t out[16]);
/* HMAC-SHA-256 over the concatenation of parts. */
int smtpc_hmac_sha256(const uint8_t *key, size_t key_len, const smtpc_bytes *parts,
                      size_t nparts, uint8_t out[32]);
int smtpc_sha256(const uint8_t *in, size_t len, uint8_t out[32]);
int smtpc_pbkdf2_sha256(const uint8_t *password, size_t password_len, const uint8_t *salt,
                        size_t salt_len, unsigned iterations, uint8_t out[32]);

#endif
