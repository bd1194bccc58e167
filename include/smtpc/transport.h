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

/* --- non-blocking use (for event loops: poll, epoll, kqueue, libuv, GLib) ---
 *
 * Start connecting a transport from smtpc_transport_new_socket without
 * waiting. host is resolved as by smtpc_transport_connect: getaddrinfo,
 * which blocks for a DNS name but makes no query for an IPv4/IPv6 literal,
 * so a caller that resolves names in its own loop never blocks here. The
 * first address's connect is started; connect_timeout_ms bounds each
 * address attempt (< 0: no limit), on the monotonic clock. Returns
 * SMTPC_INPROGRESS (wait until smtpc_transport_fd is writable, or until
 * smtpc_transport_timeout passes, then call smtpc_transport_connect_step),
 * 0 when connected at once, or an error of smtpc_transport_connect (with
 * the reason in smtpc_transport_error). A connect in progress is abandoned
 * by smtpc_transport_free; starting another one then gives SMTPC_ESTATE. */
SMTPC_API int smtpc_transport_connect_start(smtpc_transport *t, const char *host,
                                            const char *port, int connect_timeout_ms);

/* Continue a started connect without waiting: 0 connected, SMTPC_INPROGRESS
 * still going (a refused or timed-out attempt moves on to the next
 * address; each attempt has its own socket, so the fd may change with every
 * call: read smtpc_transport_fd again after each), or the final error of
 * smtpc_transport_connect, whose message says which address failed how.
 * A spurious call (the fd not ready yet) is harmless. Connected already: 0.
 * No connect started: SMTPC_ESTATE. smtpc_transport_connect is
 * smtpc_transport_connect_start, then waits and steps until done. */
SMTPC_API int smtpc_transport_connect_step(smtpc_transport *t);

/* send and recv with timeout_ms == 0 make one try that never waits: they
 * return SMTPC_ETIMEDOUT when no byte could move (send may also report
 * fewer bytes than given), and smtpc_transport_events then says what to
 * wait for. On a TLS transport a write may wait for READ and a read for
 * WRITE. A TLS send counts as sent the bytes it put into a record even
 * when part of that record could not go out yet: it then returns 0 with
 * smtpc_transport_events SMTPC_POLL_WRITE, and the next send or recv
 * pushes the rest out first (a recv reads even while the rest must wait,
 * and then waits for READ and WRITE): after such a send, wait for the
 * events it gave, not for READ alone.
 * smtpc_transport_handshake(t, 0) is the same one-try form of the TLS
 * handshake (see tls.h).
 *
 * The file descriptor to watch: the socket of a socket transport (the
 * current attempt's while connecting), the inner transport's for a TLS
 * transport; -1 for a user-callback transport, before a connect, after a
 * failed one, or t NULL. The transport keeps owning it: do not close it or
 * change its flags. */
SMTPC_API int smtpc_transport_fd(const smtpc_transport *t);

/* What the last call that could not finish waits for: SMTPC_POLL_READ
 * and/or SMTPC_POLL_WRITE (a connect in progress: SMTPC_POLL_WRITE; a send
 * or recv that returned SMTPC_ETIMEDOUT: its direction, which on a TLS
 * transport is the one mbedTLS asked for; a TLS handshake that returned
 * SMTPC_INPROGRESS: likewise; a TLS send that returned 0 with a record
 * not all out: SMTPC_POLL_WRITE); 0 when nothing is pending (the last
 * call finished, or failed otherwise), or t NULL. */
SMTPC_API int smtpc_transport_events(const smtpc_transport *t);

/* Milliseconds until the transport's own deadline for what is pending (the
 * current connect attempt's connect_timeout_ms): call the step when it
 * passes even if the fd never became ready. 0: passed; -1: none (nothing
 * pending, no limit, a user-callback transport, or t NULL). */
SMTPC_API int smtpc_transport_timeout(const smtpc_transport *t);

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
