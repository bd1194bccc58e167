/* smtpc — SMTP AUTH settings (RFC 4954) for the engine and the client.
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT */
#ifndef SMTPC_AUTH_H
#define SMTPC_AUTH_H

#include "base.h"
#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mechanism bits, for restricting the choice. */
#define SMTPC_AUTH_PLAIN 0x01
#define SMTPC_AUTH_LOGIN 0x02
#define SMTPC_AUTH_CRAM_MD5 0x04
#define SMTPC_AUTH_XOAUTH2 0x08
#define SMTPC_AUTH_OAUTHBEARER 0x10
#define SMTPC_AUTH_SCRAM_SHA_256 0x20
#define SMTPC_AUTH_ALL 0x3f

/* The largest server challenge (334 reply) decoded, in bytes after base64
 * decoding: 2732 base64 characters. Such a 334 line is accepted even when
 * line_max (smtpc_engine_new) is shorter. A longer challenge, one that is
 * not strict base64, or one the mechanism does not expect is answered with
 * the "*" cancel (RFC 4954) and AUTH fails with SMTPC_EAUTH_PROTO; the
 * session stays usable. (A line past 2737 octets is SMTPC_ELINE.) */
#define SMTPC_AUTH_CHALLENGE_MAX 2048

/* Password credentials (zeroed when replaced or freed). Set before smtpc_engine_begin_session (or once the session is
 * over, for the next one; see engine.h). user NULL clears them.
 * Returns 0, SMTPC_EINVAL, SMTPC_EBADCHAR (CR, LF or NUL), SMTPC_ENOMEM. */
SMTPC_API int smtpc_engine_set_credentials(smtpc_engine *e, const char *user,
                                           const char *password);
/* An OAuth 2.0 bearer token instead of a password (OAUTHBEARER or XOAUTH2;
 * SMTPC_ENOTSUP in a build without them, -Dsasl_extra=false, which has PLAIN
 * and the hash mechanisms only: LOGIN is then never chosen either). */
SMTPC_API int smtpc_engine_set_oauth_token(smtpc_engine *e, const char *user,
                                           const char *token);
/* Restrict the mechanisms tried (SMTPC_AUTH_* mask; default all). Among those
 * the server offers, the strongest is used: SCRAM-SHA-256, CRAM-MD5, PLAIN,
 * LOGIN for a password; OAUTHBEARER, XOAUTH2 for a token. A build without
 * SASL crypto (-Dsasl_crypto=disabled) has no CRAM-MD5 or SCRAM-SHA-256:
 * they are never chosen, and a mask naming only them is refused with
 * SMTPC_ENOTSUP; the same for LOGIN, XOAUTH2 and OAUTHBEARER in a build
 * with -Dsasl_extra=false. */
SMTPC_API int smtpc_engine_set_auth_mechanisms(smtpc_engine *e, int mask);
/* Credentials are never sent over an unencrypted connection unless this is
 * called with allow = 1 (SMTPC_EAUTH_INSECURE otherwise, before anything
 * secret is written). */
SMTPC_API int smtpc_engine_allow_plaintext_auth(smtpc_engine *e, int allow);
/* The random source for SCRAM-SHA-256's client nonce. The engine reaches
 * no OS entropy source by itself (it has no I/O of its own): a driver that
 * allows SCRAM must set one. smtpc_client sets the library's default (an
 * mbedTLS CTR-DRBG seeded from the OS) on its engine. fn NULL (the
 * default): none; AUTH with SCRAM-SHA-256 then fails with SMTPC_ENOTSUP
 * ("no random source: smtpc_engine_set_random") and the session stays
 * usable. A failing fn fails AUTH with SMTPC_EAUTH. Allowed at any time; kept by smtpc_engine_reset. Returns 0 or
 * SMTPC_EINVAL (e NULL). */
SMTPC_API int smtpc_engine_set_random(smtpc_engine *e, smtpc_random_fn fn, void *user);
/* The mechanism used by the last successful AUTH ("SCRAM-SHA-256", ...), or
 * "" when none. Static string. */
SMTPC_API const char *smtpc_engine_auth_mechanism(const smtpc_engine *e);

#ifdef __cplusplus
}
#endif
#endif
