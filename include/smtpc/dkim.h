/* smtpc — DKIM signing (RFC 6376).
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT
 *
 * A smtpc_dkim signer holds one key and its settings (domain, selector,
 * signed headers, canonicalization, timestamps). It signs:
 *   - built messages: smtpc_message_add_dkim attaches it; reading or sizing
 *     the message then puts one DKIM-Signature header per attached signer
 *     first, in the order added. The body hash needs the message read twice
 *     (a first pass hashes, the second produces the bytes), so every source
 *     must be rewindable: memory, files, and readers given a rewind
 *     callback. Memory stays constant: nothing is buffered but the headers
 *     to sign.
 *   - raw messages: smtpc_dkim_sign_raw returns the header line to put in
 *     front of the bytes given to smtpc_client_send.
 * Each signature covers the message without the other DKIM-Signature
 * headers added with it, so a message can carry, say, a signature of the
 * author's domain and one of the sending provider.
 *
 * What is signed is what goes on the wire: line ends are normalised as the
 * engine does for DATA (a bare CR or LF becomes CRLF) and the signature
 * covers the message before dot-stuffing (which the receiver undoes).
 *
 * Algorithms: rsa-sha256 with an RSA key of 2048 bits or more (RFC 8301;
 * smaller keys are refused with SMTPC_EINVAL). ed25519-sha256 (RFC 8463)
 * needs Ed25519, which mbedTLS (2.28 and 3.6) does not offer: asking for it,
 * or giving an Ed25519 key, gives SMTPC_ENOTSUP saying so. No l= (body
 * length) tag is ever written: it would let anyone append to the body.
 *
 * Builds without DKIM (-Ddkim=disabled, or no mbedTLS) keep every call:
 * smtpc_dkim_new and smtpc_message_add_dkim return SMTPC_ENOTSUP.
 */
#ifndef SMTPC_DKIM_H
#define SMTPC_DKIM_H

#include "base.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smtpc_dkim smtpc_dkim;

/* Signing algorithms (smtpc_dkim_set_algorithm). */
#define SMTPC_DKIM_RSA_SHA256 1     /* default */
#define SMTPC_DKIM_ED25519_SHA256 2 /* RFC 8463: SMTPC_ENOTSUP with mbedTLS */

/* Canonicalizations (smtpc_dkim_set_canonicalization). */
#define SMTPC_DKIM_SIMPLE 0
#define SMTPC_DKIM_RELAXED 1 /* default, for headers and body */

/* Most headers a signer signs (smtpc_dkim_set_headers). */
#define SMTPC_DKIM_MAX_HEADERS 64

/* Create a signer with no key, domain or selector yet. Errors: SMTPC_EINVAL,
 * SMTPC_ENOMEM, SMTPC_ENOTSUP (a build without DKIM). */
SMTPC_API int smtpc_dkim_new(const smtpc_allocator *alloc, smtpc_dkim **out);
/* Free the signer; its key is wiped. It must not be attached to a message
 * that is still read afterwards. */
SMTPC_API void smtpc_dkim_free(smtpc_dkim *dkim);

/* The private key, PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"),
 * from a file or from memory (len bytes; a PEM buffer may include its
 * terminating NUL). password: NULL for an unencrypted key. Replaces the
 * previous key. Errors: SMTPC_EFILE (file unreadable), SMTPC_EINVAL (not a
 * key, wrong password, or an RSA key under 2048 bits), SMTPC_ENOTSUP (a key
 * type other than RSA, e.g. Ed25519 or EC). */
SMTPC_API int smtpc_dkim_set_key_file(smtpc_dkim *dkim, const char *path, const char *password);
SMTPC_API int smtpc_dkim_set_key_mem(smtpc_dkim *dkim, const uint8_t *pem, size_t len,
                                     const char *password);
/* SMTPC_DKIM_RSA_SHA256 (the default) or SMTPC_DKIM_ED25519_SHA256, which
 * gives SMTPC_ENOTSUP (mbedTLS has no Ed25519). */
SMTPC_API int smtpc_dkim_set_algorithm(smtpc_dkim *dkim, int algorithm);
/* The signing domain (d=) and selector (s=): the public key is published
 * at <selector>._domainkey.<domain>. ASCII letters, digits, '-', '_' and
 * dots (A-labels for an internationalised domain), at most 253 octets.
 * Both are required. Errors: SMTPC_EINVAL, SMTPC_EBADCHAR. */
SMTPC_API int smtpc_dkim_set_domain(smtpc_dkim *dkim, const char *domain);
SMTPC_API int smtpc_dkim_set_selector(smtpc_dkim *dkim, const char *selector);
/* The header fields to sign, by name (case does not matter; at most
 * SMTPC_DKIM_MAX_HEADERS names of 1..76 printable characters other than
 * ':'). Each one present in the message is signed, every instance of it;
 * names absent from the message are left out of h=. The list must hold
 * From. names NULL with n 0 restores the default: From, To, Cc, Subject,
 * Date, Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding,
 * Reply-To, In-Reply-To, References, Sender, List-Unsubscribe,
 * List-Unsubscribe-Post. Errors: SMTPC_EINVAL, SMTPC_EHEADER (a bad name,
 * no From), SMTPC_ETOOLONG (too many). */
SMTPC_API int smtpc_dkim_set_headers(smtpc_dkim *dkim, const char *const *names, size_t n);
/* Header and body canonicalization, SMTPC_DKIM_SIMPLE or
 * SMTPC_DKIM_RELAXED. Default relaxed/relaxed, which survives the header
 * refolding and whitespace changes relays do. */
SMTPC_API int smtpc_dkim_set_canonicalization(smtpc_dkim *dkim, int header_canon,
                                              int body_canon);
/* Over-sign From (on by default): h= names From once more than the message
 * has, so a From added on the way breaks the signature. */
SMTPC_API int smtpc_dkim_set_oversign_from(smtpc_dkim *dkim, int on);
/* timestamp: write t= (the signing time; on by default). expire_seconds > 0
 * also writes x= (t= plus that many seconds), after which verifiers treat
 * the signature as expired; 0 (the default) writes no x=. Errors:
 * SMTPC_EINVAL (expire_seconds < 0). */
SMTPC_API int smtpc_dkim_set_timestamps(smtpc_dkim *dkim, int timestamp, int64_t expire_seconds);
/* The clock for t= and x= (smtpc_clock_fn, smtpc/message.h; the offset is
 * ignored); NULL restores the default (time()). A failing clock makes
 * signing fail with SMTPC_ESOURCE. */
SMTPC_API int smtpc_dkim_set_clock(smtpc_dkim *dkim, smtpc_clock_fn fn, void *user);

/* Sign a raw RFC 5322 message (headers, empty line, body; any line ends)
 * and write the DKIM-Signature header field to put in front of it: folded,
 * CRLF-terminated, NUL-terminated, into out (cap bytes); *out_len gets its
 * length without the NUL. When cap is too small, returns SMTPC_ETOOLONG
 * with the size needed (NUL included) in *out_len; 2048 bytes fit any
 * 4096-bit signature of the default headers. Send the header followed by
 * exactly the bytes signed (smtpc_client_send normalises their line ends as
 * the signature assumed). Errors: SMTPC_EINVAL, SMTPC_ESTATE (no key,
 * domain or selector), SMTPC_EHEADER (no From header in the message),
 * SMTPC_ENOMEM, SMTPC_ETOOLONG, SMTPC_ESOURCE (clock). */
SMTPC_API int smtpc_dkim_sign_raw(smtpc_dkim *dkim, const uint8_t *data, size_t len, char *out,
                                  size_t cap, size_t *out_len);

/* The last failure on dkim (code and a message naming the cause). */
SMTPC_API const smtpc_error *smtpc_dkim_error(const smtpc_dkim *dkim);

/* Attach a signer to a message (borrowed: it must outlive the message, or
 * stay until the message is freed; several messages may share one signer
 * when used from one thread). Up to 8 signers per message, signed in the
 * order added; attaching the same signer twice is SMTPC_EINVAL. A change to
 * the message or to a signer's settings re-signs on the next read from the
 * start. Reading or sizing the message then fails with the signer's code
 * (recorded in the message's error record) when signing fails, and with
 * SMTPC_ESTATE before any byte is read when a source cannot be rewound.
 * Errors: SMTPC_EINVAL, SMTPC_ENOMEM, SMTPC_ETOOLONG (a ninth signer),
 * SMTPC_ENOTSUP (a build without DKIM). */
SMTPC_API int smtpc_message_add_dkim(smtpc_message *msg, smtpc_dkim *dkim);

#ifdef __cplusplus
}
#endif
#endif
