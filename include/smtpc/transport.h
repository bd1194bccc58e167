/* smtpc — transports: POSIX socket, user callbacks (and TLS, see tls.h).
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT */
#ifndef SMTPC_TRANSPORT_H
#define SMTPC_TRANSPORT_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A transport moves bytes; it knows nothing of SMTP. It is shaped like
 * mbedTLS's BIO callbacks: each call carries its own timeout.
 *
 * Callback contract (for smtpc_transport_new_callbacks):
 *  send: write up to len bytes from buf within timeout_ms (< 0: no limit);
 *        store the count written in *sent (may be less than len) and return 0,
 *        or return SMTPC_ETIMEDOUT, SMTPC_ECLOSED or SMTPC_EIO.
 *  recv: read at most cap bytes into buf within timeout_ms; store the count
 *        (> 0) in *received and return 0; return SMTPC_ECLOSED when the peer
 *        closed, SMTPC_ETIMEDOUT or SMTPC_EIO otherwise.
 *  close: release the connection; called once, from smtpc_transport_free.
 *         May be NULL. */
typedef int (*smtpc_send_fn)(void *user, const uint8_t *buf, size_t len, int timeout_ms,
                             size_t *sent);
typedef int (*smtpc_recv_fn)(void *user, uint8_t *buf, size_t cap, int timeout_ms,
                             size_t *received);
typedef void (*smtpc_close_fn)(void *user);

typedef struct smtpc_transport smtpc_transport;

/* Wrap the user's own callbacks; user is passed back to each. Returns 0,
 * SMTPC_EINVAL or SMTPC_ENOMEM. */
SMTPC_API int smtpc_transport_new_callbacks(const smtpc_allocator *alloc, smtpc_send_fn send,
                                            smtpc_recv_fn recv, smtpc_close_fn close,
                                            void *user, smtpc_transport **out);

/* Create an unconnected TCP transport; smtpc_transport_connect connects
 * it. Returns 0 and stores it in *out (freed with smtpc_transport_free),
 * SMTPC_EINVAL, SMTPC_ENOMEM, or SMTPC_ENOTSUP on systems built without
 * sockets. Send and recv before a successful connect give SMTPC_ESTATE. */
SMTPC_API int smtpc_transport_new_socket(const smtpc_allocator *alloc, smtpc_transport **out);

/* Resolve host (getaddrinfo: IPv4 and IPv6) and connect a transport from
 * smtpc_transport_new_socket to each address in turn until one accepts,
 * each attempt bounded by connect_timeout_ms (< 0: no limit); host and port
 * are copied as needed. The socket gets TCP_NODELAY. port is a number in
 * 1..65535 or a service name ("smtp"); anything else is SMTPC_EINVAL.
 * Returns 0, or SMTPC_EINVAL (also: not a socket transport), SMTPC_ESTATE
 * (already connected), SMTPC_ERESOLVE, SMTPC_ECONNREFUSED, SMTPC_ETIMEDOUT,
 * SMTPC_ECONNECT, SMTPC_ENOMEM or SMTPC_ENOTSUP, with the reason in
 * smtpc_transport_error(t). A failed connect may be retried on the same
 * transport. Name resolution blocks in getaddrinfo and has no timeout. */
SMTPC_API int smtpc_transport_connect(smtpc_transport *t, const char *host, const char *port,
                                      int connect_timeout_ms);

/* Thin wrappers over the transport's callbacks (useful for tests and for
 * sans-io drivers). Same contract as smtpc_send_fn / smtpc_recv_fn. */
SMTPC_API int smtpc_transport_send(smtpc_transport *t, const uint8_t *buf, size_t len,
                                   int timeout_ms, size_t *sent);
SMTPC_API int smtpc_transport_recv(smtpc_transport *t, uint8_t *buf, size_t cap,
                                   int timeout_ms, size_t *received);
/* The transport's error record (see <smtpc.h>): set by a failed send,
 * recv, connect or handshake, cleared when one of them starts. Socket
 * and TLS transports name the peer and the reason; a user-callback
 * transport's record has the code its callback returned. */
SMTPC_API const smtpc_error *smtpc_transport_error(const smtpc_transport *t);

/* Close and free. */
SMTPC_API void smtpc_transport_free(smtpc_transport *t);

#ifdef __cplusplus
}
#endif
#endif
