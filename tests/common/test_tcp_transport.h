/* A TCP transport of the tests' own, plugged in through the public callback
 * API (smtpc_transport_new_callbacks + smtpc_client_set_transport) as a
 * firmware user would plug in theirs. A build without the library's socket
 * transport (-Dsockets=false, which defines SMTPC_TEST_NO_SOCKETS for the
 * programs that use this) runs the client tests through it; elsewhere they
 * keep using the library's own sockets. */
#ifndef SMTPC_TEST_TCP_TRANSPORT_H
#define SMTPC_TEST_TCP_TRANSPORT_H

#include <stddef.h>

#include <smtpc.h>

/* Connect to host:port (getaddrinfo, every address in turn, each attempt
 * bounded by timeout_ms, < 0: no limit) and wrap the socket in a callback
 * transport made with alloc (NULL: malloc). Its send and recv honour their
 * timeout_ms with poll() and map failures to SMTPC_ETIMEDOUT, SMTPC_ECLOSED
 * and SMTPC_EIO, (the callbacks give no reason text). Returns 0, or
 * SMTPC_ERESOLVE, SMTPC_ECONNREFUSED, SMTPC_ETIMEDOUT, SMTPC_ECONNECT,
 * SMTPC_ENOMEM with a reason in why (why_cap bytes). */
int test_tcp_transport_new(const smtpc_allocator *alloc, const char *host, const char *port,
                           int timeout_ms, smtpc_transport **out, char *why, size_t why_cap);

/* Call before each smtpc_client_connect (after smtpc_client_set_server,
 * which still names the server for TLS verification). Without the
 * library's sockets: connects to host:port and hands the client the
 * transport for its next connect; on failure prints the reason on stderr
 * and returns the code. With them: does nothing and returns 0. */
int test_tcp_prepare(smtpc_client *c, const char *host, const char *port, int timeout_ms);

/* 1 when the library was built without its socket transport. */
int test_tcp_no_sockets(void);

#endif
