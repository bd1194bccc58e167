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

/* Resolve host (getaddrinfo: IPv4 and IPv6) and connect to each address in
 * turn until one accepts, each attempt bounded by connect_timeout_ms
 * (< 0: no limit). The socket gets TCP_NODELAY. port is a number in
 * 1..65535 or a service name ("smtp"); anything else is SMTPC_EINVAL. On
 * failure returns SMTPC_EINVAL, SMTPC_ERESOLVE, SMTPC_ECONNREFUSED,
 * SMTPC_ETIMEDOUT or SMTPC_ECONNECT and,
 * when errmsg is not NULL, writes a readable reason into errmsg (errmsg_cap
 * bytes, NUL-terminated). On systems built without
 * sockets returns SMTPC_ENOTSUP. */
SMTPC_API int smtpc_transport_new_socket(const smtpc_allocator *alloc, const char *host,
                                         const char *port, int connect_timeout_ms,
                                         smtpc_transport **out, char *errmsg,
                                         size_t errmsg_cap);

/* Thin wrappers over the transport's callbacks (useful for tests and for
 * sans-io drivers). Same contract as smtpc_send_fn / smtpc_recv_fn. */
SMTPC_API int smtpc_transport_send(smtpc_transport *t, const uint8_t *buf, size_t len,
                                   int timeout_ms, size_t *sent);
SMTPC_API int smtpc_transport_recv(smtpc_transport *t, uint8_t *buf, size_t cap,
                                   int timeout_ms, size_t *received);
/* A readable reason for the transport's last failure ("" if none). */
SMTPC_API const char *smtpc_transport_errmsg(const smtpc_transport *t);

/* Close and free. */
SMTPC_API void smtpc_transport_free(smtpc_transport *t);

#ifdef __cplusplus
}
#endif
#endif
