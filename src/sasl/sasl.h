/* SASL mechanisms for SMTP AUTH (RFC 4954): the client side of PLAIN,
 * LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER and SCRAM-SHA-256, as pure codecs.
 * The engine owns the conversation; these functions only compute lines.
 * Every line produced is base64 without line breaks (libb64) and has no
 * CR or LF. */
#ifndef SMTPC_SASL_H
#define SMTPC_SASL_H
#include <stddef.h>
#include <stdint.h>
#include "ehlo_caps.h" /* SMTPC_MECH_* */
#include "smtpc/base.h" /* smtpc_random_fn */
#include "smtpc_config.h" /* SMTPC_HAVE_SASL_CRYPTO */

/* The longest SASL response line accepted by RFC 4954 (section 4). */
#define SMTPC_SASL_LINE_MAX 12288
/* The longest decoded challenge handled (SCRAM server-first, JSON errors);
 * public as SMTPC_AUTH_CHALLENGE_MAX. */
#define SMTPC_SASL_CHALLENGE_MAX 2048
/* Its base64 length, and the reply line that carries it ("334 " and the CR;
 * the parser does not count the LF). */
#define SMTPC_SASL_CHALLENGE_B64_MAX (4 * ((SMTPC_SASL_CHALLENGE_MAX + 2) / 3))
#define SMTPC_SASL_CHALLENGE_LINE (4 + SMTPC_SASL_CHALLENGE_B64_MAX + 1)

typedef struct smtpc_sasl {
    int mech;       /* SMTPC_MECH_* in use */
    const char *user;   /* borrowed from the engine for the exchange */
    const char *secret; /* password or bearer token */
    int phase;      /* mechanism progress, not counting a deferred initial response */
    int ir_pending; /* the initial response did not fit the AUTH line: sent at the first 334 */
    int server_verified;
#if SMTPC_HAVE_SASL_CRYPTO
    /* SCRAM-SHA-256 state (after the fields above: Thumb's short loads
     * reach only the first 124 bytes) */
    char client_nonce[48];
    char client_first_bare[1024];
    uint8_t server_signature[32];
    /* The decoded challenge of the current step: here, not on the stack,
     * so that a step fits a small firmware stack (no frame over 512 B).
     * Only the hash mechanisms read a challenge: without them it is
     * checked, not decoded, and none of this is needed. */
    uint8_t challenge[SMTPC_SASL_CHALLENGE_MAX];
#endif
} smtpc_sasl;

/* The strongest mechanism in offered & allowed (SMTPC_MECH_* masks), or 0.
 * With a password: SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN. With a bearer
 * token (is_token): OAUTHBEARER, XOAUTH2. */
int smtpc_sasl_choose(int offered, int allowed, int is_token);
/* The SMTPC_MECH_* of this build: all six, or without CRAM-MD5 and
 * SCRAM-SHA-256 when built without SASL crypto (-Dsasl_crypto=disabled). */
int smtpc_sasl_available(void);
/* "PLAIN", "SCRAM-SHA-256", ... or "" for an unknown bit or a mechanism
 * not in this build. */
const char *smtpc_sasl_mech_name(int mech);

/* Start mech. Writes into out (cap bytes, NUL-terminated) the argument of the
 * AUTH command: the mechanism name, followed by " " and the base64 initial
 * response when the mechanism has one and "AUTH " + out stays within
 * max_command octets including CRLF (RFC 4954 section 4; else the initial
 * response is sent at the first 334 instead; max_command 0 means 512).
 * random provides the SCRAM nonce. It may be NULL for the mechanisms that
 * need none; SCRAM then fails with SMTPC_ENOTSUP: these codecs never reach
 * an OS entropy source by themselves (the sans-io rule). Returns 0,
 * SMTPC_EINVAL, SMTPC_EBADCHAR (user or secret unusable, e.g. NUL or comma
 * rules), SMTPC_ETOOLONG, SMTPC_ENOTSUP (SCRAM without random, or mech
 * not in this build),
 * or SMTPC_EAUTH (the random source failed among others). */
int smtpc_sasl_begin(smtpc_sasl *s, int mech, const char *user, const char *secret,
                     smtpc_random_fn random, void *random_user, size_t max_command,
                     char *out, size_t cap);
/* Answer a 334 challenge (the reply text: base64, possibly empty). Writes the
 * response line (without CRLF) into out, NUL-terminated. A challenge that is
 * not strict base64 gives SMTPC_EAUTH_PROTO; a wrong SCRAM server signature
 * gives SMTPC_EAUTH_SERVER (the line then holds "*" to cancel). For XOAUTH2
 * an error challenge (JSON) is answered with an empty line, for OAUTHBEARER
 * with "AQ==" (RFC 7628 3.2.3); both return 0 and the server's 535 follows.
 * On every error return out holds "*" (RFC 4954 cancel) when cap allows, so
 * the engine can send it, read the 501 and report the code returned. A SCRAM
 * server-final "e=..." gives SMTPC_EAUTH_FAILED; a challenge the mechanism
 * did not expect (one too many) gives SMTPC_EAUTH_PROTO. Challenges decoding
 * to more than SMTPC_SASL_CHALLENGE_MAX bytes are refused the same way. */
int smtpc_sasl_step(smtpc_sasl *s, const char *challenge, size_t challenge_len, char *out,
                    size_t cap);
/* Called on 235: 0, or SMTPC_EAUTH_SERVER when the mechanism needed a server
 * proof that was not verified (SCRAM). */
int smtpc_sasl_success(smtpc_sasl *s);
/* Zero every secret-derived byte (the whole struct; user and secret are
 * only forgotten, they belong to the caller). */
void smtpc_sasl_clear(smtpc_sasl *s);

/* Strict base64 helpers (libb64 underneath, no line breaks). encode returns
 * the length written (NUL-terminated) or 0 when cap is too small; decode
 * validates the alphabet and padding first and returns SMTPC_EAUTH_PROTO on
 * junk, else 0 with *out_len set. */
size_t smtpc_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int smtpc_b64_decode_strict(const char *in, size_t len, uint8_t *out, size_t cap,
                            size_t *out_len);
/* Only the check of decode (RFC 4648 canonical form: whole quartets, padding
 * only at the end, the bits it leaves over zero): 0 with *out_len set to the
 * decoded length, or SMTPC_EAUTH_PROTO (*out_len 0). */
int smtpc_b64_check_strict(const char *in, size_t len, size_t *out_len);

#endif
