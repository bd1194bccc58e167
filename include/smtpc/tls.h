/* smtpc — TLS configuration and the TLS transport (built on mbedTLS).
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT
 *
 * A smtpc_tls_config says whom to trust and how to prove who we are; a TLS
 * transport wraps any other transport (socket or user callbacks) and is the
 * one code path for implicit TLS (port 465) and for STARTTLS.
 *
 * Safe by default: the server's chain, validity dates and host name are
 * verified (IP-address literals against the certificate's IP SANs), the
 * minimum protocol version is TLS 1.2, the newest the mbedTLS build offers
 * is negotiated (TLS 1.3 on mbedTLS 3.x with MBEDTLS_SSL_PROTO_TLS1_3, as
 * 3.6 LTS has by default; TLS 1.2 on 2.28), and the trust anchors are the
 * system bundle. Turning verification off takes an explicit call.
 *
 * Built with -Dtls=disabled, every function here keeps its symbol and returns
 * SMTPC_ENOTSUP (smtpc_tls_config_free is then a no-op).
 *
 * mbedTLS allocates its own memory with its calloc/free (configure
 * MBEDTLS_PLATFORM_MEMORY in your mbedTLS build to redirect it); smtpc's own
 * blocks go through the allocator hook. */
#ifndef SMTPC_TLS_H
#define SMTPC_TLS_H

#include "base.h"
#include "transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smtpc_tls_config smtpc_tls_config;

/* Verification modes (smtpc_tls_config_set_verify). Zero is deliberately
 * not a mode, so an uninitialised int cannot switch verification off. */
#define SMTPC_TLS_VERIFY_REQUIRED 1 /* default: chain, dates, host name */
#define SMTPC_TLS_VERIFY_NONE 2     /* accept any certificate (the pin still applies) */

/* Protocol versions (smtpc_tls_config_set_min_version). */
#define SMTPC_TLS_VERSION_1_2 0x0303
#define SMTPC_TLS_VERSION_1_3 0x0304

/* Length of a SHA-256 public-key pin in bytes. */
#define SMTPC_TLS_PIN_LEN 32

/* Trust anchors loaded by smtpc_tls_config_new when the file exists. A
 * build for another system can define it (to "" for none). */
#ifndef SMTPC_TLS_DEFAULT_CA_FILE
#define SMTPC_TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#endif

/* Create a configuration with safe defaults: verification required, TLS 1.2
 * minimum, and, unless you add trust anchors with the calls below, the
 * system bundle SMTPC_TLS_DEFAULT_CA_FILE, read by the first TLS transport
 * that uses the configuration (about 470 KB of heap for Debian's 144
 * roots; where the file does not exist, as on firmware, the store is empty
 * and every verification fails until you add anchors). Returns 0,
 * SMTPC_EINVAL, SMTPC_ENOMEM, SMTPC_ETLS (mbedTLS 3.x's PSA crypto could
 * not be initialised, e.g. no entropy: smtpc_transport_new_tls then says
 * why) or SMTPC_ENOTSUP. A configuration may be shared by any number of
 * transports; change it only while no transport uses it. */
SMTPC_API int smtpc_tls_config_new(const smtpc_allocator *alloc, smtpc_tls_config **out);
/* Free the configuration and everything it loaded (keys are zeroed). Every
 * transport created with it must be freed first. */
SMTPC_API void smtpc_tls_config_free(smtpc_tls_config *cfg);

/* The error record of cfg: every call on cfg that returns an error sets it.
 * In a build without TLS, a record saying SMTPC_ENOTSUP. */
SMTPC_API const smtpc_error *smtpc_tls_config_error(const smtpc_tls_config *cfg);

/* --- trust anchors ---
 * The first of these calls replaces the default system bundle (which is then
 * never read); later calls add to what is loaded. Returns 0, SMTPC_EINVAL,
 * SMTPC_ENOMEM, SMTPC_EFILE (cannot open or read), SMTPC_ETLS (no
 * certificate could be parsed; the mbedTLS text is in
 * smtpc_tls_config_error) or SMTPC_ENOTSUP (a build without file support). */

/* Every PEM certificate in the file at path (a bundle) or one DER file. */
SMTPC_API int smtpc_tls_config_add_ca_file(smtpc_tls_config *cfg, const char *path);
/* Every certificate file in the directory at path (files that do not parse
 * are skipped; it fails only when none parses). */
SMTPC_API int smtpc_tls_config_add_ca_dir(smtpc_tls_config *cfg, const char *path);
/* Certificates from memory: PEM (one or more, the bytes may or may not end
 * in a NUL) or a single DER certificate. */
SMTPC_API int smtpc_tls_config_add_ca_mem(smtpc_tls_config *cfg, const uint8_t *data,
                                          size_t len);

/* --- client certificate (for servers that ask for one) ---
 * The certificate (PEM chain or DER) and its private key; password may be
 * NULL for an unencrypted key. Replaces any earlier client certificate.
 * Returns 0, SMTPC_EINVAL, SMTPC_ENOMEM, SMTPC_EFILE, SMTPC_ETLS (parse
 * failure, or the key does not match the certificate) or SMTPC_ENOTSUP. */
SMTPC_API int smtpc_tls_config_set_client_cert_file(smtpc_tls_config *cfg, const char *cert_path,
                                                    const char *key_path, const char *password);
SMTPC_API int smtpc_tls_config_set_client_cert_mem(smtpc_tls_config *cfg, const uint8_t *cert,
                                                   size_t cert_len, const uint8_t *key,
                                                   size_t key_len, const char *password);

/* --- public-key pin ---
 * SHA-256 of the server certificate's DER SubjectPublicKeyInfo, as printed
 * by: openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
 * openssl dgst -sha256. When set, a server whose key differs fails with
 * SMTPC_ETLS_PIN, whatever the verification mode. len must be
 * SMTPC_TLS_PIN_LEN; pin NULL clears it. The hex form takes 64 hex digits,
 * optionally separated by ':' (NULL clears). Returns 0 or SMTPC_EINVAL. */
SMTPC_API int smtpc_tls_config_set_pin_sha256(smtpc_tls_config *cfg, const uint8_t *pin,
                                              size_t len);
SMTPC_API int smtpc_tls_config_set_pin_sha256_hex(smtpc_tls_config *cfg, const char *hex);

/* --- verification ---
 * mode is SMTPC_TLS_VERIFY_REQUIRED or SMTPC_TLS_VERIFY_NONE. NONE accepts
 * any certificate for any name: only for tests or together with a pin. The
 * client writes a warning to its trace on every handshake done without
 * verification. Returns 0 or SMTPC_EINVAL. */
SMTPC_API int smtpc_tls_config_set_verify(smtpc_tls_config *cfg, int mode);
/* The mode in force (SMTPC_TLS_VERIFY_*), or SMTPC_EINVAL for NULL. */
SMTPC_API int smtpc_tls_config_verify_mode(const smtpc_tls_config *cfg);

/* The name to verify the server's certificate against, and to send as SNI:
 * a DNS name or an IP literal (brackets allowed), for every TLS transport
 * using this configuration. It takes precedence over the server_name given
 * to smtpc_transport_new_tls (for the client: the host of
 * smtpc_client_set_server). Use it when the name you dial is not the name
 * in the certificate, or when your own transport leaves the client no host
 * name. Default: none, the host name is verified. No name is ever guessed:
 * with verification on and neither name, the handshake is refused. NULL
 * clears it. Returns 0, SMTPC_EINVAL (empty, over 255 bytes, or a space
 * or control character), SMTPC_ENOMEM or SMTPC_ENOTSUP. */
SMTPC_API int smtpc_tls_config_set_server_name(smtpc_tls_config *cfg, const char *name);

/* Lowest protocol version accepted: SMTPC_TLS_VERSION_1_2 (default) or
 * SMTPC_TLS_VERSION_1_3. Returns 0, SMTPC_EINVAL (anything older than 1.2
 * included) or SMTPC_ENOTSUP (this mbedTLS has no TLS 1.3). */
SMTPC_API int smtpc_tls_config_set_min_version(smtpc_tls_config *cfg, int version);

/* --- randomness ---
 * An extra strong entropy source, for firmware with a hardware RNG (and
 * required where mbedTLS has no platform entropy). fn fills buf with up to
 * len bytes of entropy, stores the count in *olen and returns 0 (non-zero:
 * failure). It is mixed with mbedTLS's own sources when the
 * configuration's random generator is seeded: once, at its first transport
 * (every transport made from the configuration then draws from that one
 * generator), and again at the next transport after this call or in a
 * forked child. fn NULL removes it. Returns 0 or SMTPC_EINVAL. */
typedef int (*smtpc_entropy_fn)(void *user, uint8_t *buf, size_t len, size_t *olen);
SMTPC_API int smtpc_tls_config_set_entropy(smtpc_tls_config *cfg, smtpc_entropy_fn fn,
                                           void *user);

/* --- the TLS transport ---
 * Wrap inner in a TLS client transport; smtpc_transport_handshake then runs
 * the handshake. Creating it does no I/O.
 *
 * server_name is the name to verify (and to send as SNI): a DNS name, or an
 * IPv4/IPv6 literal (brackets allowed) matched against IP SANs; it is
 * copied. The configuration's name (smtpc_tls_config_set_server_name),
 * when set, is used instead. server_name may be NULL: then, without a
 * configuration name, verification on fails the handshake with
 * SMTPC_ETLS_VERIFY before a byte is sent, and verification off sends no
 * SNI (the pin still applies). cfg is borrowed and must outlive the
 * transport. inner is owned by the new transport in every case: freed with
 * it, or freed here on failure.
 *
 * Returns 0 and stores the transport in *out (freed with
 * smtpc_transport_free), or SMTPC_EINVAL (no inner or cfg, an empty
 * server_name), SMTPC_ENOMEM or SMTPC_ENOTSUP (built without TLS). */
SMTPC_API int smtpc_transport_new_tls(const smtpc_allocator *alloc, smtpc_transport *inner,
                                      const smtpc_tls_config *cfg, const char *server_name,
                                      smtpc_transport **out);

/* Run the TLS client handshake of a transport from smtpc_transport_new_tls,
 * bounded as a whole by timeout_ms (< 0: no limit); afterwards send and
 * recv honour their own per-call timeouts, and before it they give
 * SMTPC_ESTATE. One attempt per transport: after a failure the session is
 * unusable (free it; a second call gives SMTPC_ESTATE).
 *
 * timeout_ms 0 makes one non-blocking try: the inner transport's send and
 * recv are called with timeout 0, and when the handshake needs I/O that
 * is not ready the call returns SMTPC_INPROGRESS (not an error: the error
 * record is clear) with smtpc_transport_events(t) saying what to wait for
 * on smtpc_transport_fd(t) (the inner transport's; a user-callback inner
 * transport: the user's own). Call it again, with 0 or with a timeout to
 * finish waiting, to continue the same attempt; the blocking handshake is
 * this same code, waiting in the inner transport. Only the rare failure
 * paths that read the server's parting alert wait, at most a second.
 *
 * Returns 0, or one of these, with the reason in smtpc_transport_error(t):
 *  SMTPC_ETLS_VERIFY    certificate rejected (the message says why:
 *                       untrusted, expired, not yet valid, host-name
 *                       mismatch, ...), or nothing to verify against (no
 *                       trust anchors, no server name)
 *  SMTPC_ETLS_PIN       the server's public key does not match the pin
 *  SMTPC_ETLS_HANDSHAKE any other handshake failure (a fatal alert from the
 *                       server is named; when the server answered in
 *                       plaintext, such as an SMTP greeting on a plaintext
 *                       or STARTTLS port, the message says so and quotes
 *                       the start of what it sent; else mbedTLS's text). A
 *                       server refusing our client certificate, or the
 *                       lack of one, gets this code and says so. With
 *                       TLS 1.3 the server can only refuse it after our
 *                       side of the handshake is done: then the refusal
 *                       may come here or from the transport's first recv
 *                       or send, as this same code (the session is then
 *                       unusable).
 *  SMTPC_ETIMEDOUT, SMTPC_ECLOSED, SMTPC_EIO   from the inner transport
 *  SMTPC_EINVAL (not a TLS transport), SMTPC_ESTATE, SMTPC_ENOMEM,
 *  SMTPC_ETLS, SMTPC_ENOTSUP
 *  SMTPC_INPROGRESS     (timeout_ms 0 only) not done yet, see above */
SMTPC_API int smtpc_transport_handshake(smtpc_transport *t, int timeout_ms);

/* A one-line description of a TLS transport's session for traces, e.g.
 * "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384, certificate verified"
 * or "TLSv1.3 TLS1-3-AES-256-GCM-SHA384, certificate verified"
 * (or "... certificate NOT verified (verification off): untrusted"). Written
 * into buf (cap bytes, NUL-terminated). Returns 0, SMTPC_EINVAL (t is not a
 * TLS transport) or SMTPC_ENOTSUP. */
SMTPC_API int smtpc_transport_tls_info(const smtpc_transport *t, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
