/* What every transport is inside: the three BIO-shaped callbacks and the
 * error record of the last failure. Socket, TLS and user transports all
 * fill this same struct. */
#ifndef SMTPC_TRANSPORT_INTERNAL_H
#define SMTPC_TRANSPORT_INTERNAL_H
#include "smtpc/transport.h"
#include "error.h"
#include "service_port.h"

#define SMTPC_TRANSPORT_ERRMSG_MAX SMTPC_ERRMSG_MAX

struct smtpc_transport {
    smtpc_send_fn send;
    smtpc_recv_fn recv;
    smtpc_close_fn close;    /* may be NULL */
    void *user;              /* passed to the callbacks */
    /* Frees user's memory after close (transports created by smtpc); NULL
     * for user-callback transports, whose user memory is the user's. */
    void (*destroy)(smtpc_transport *t);
    smtpc_allocator alloc;
    int encrypted;           /* 1 for a TLS transport after its handshake */
    /* 0 until the bytes can flow: a socket transport before its connect,
     * a TLS transport before its handshake. */
    int ready;
    /* SMTPC_POLL_* the last unfinished call waits for (smtpc_transport_events):
     * send and recv set their direction when they time out, unless the
     * implementation set it itself (TLS: what mbedTLS asked for). */
    int events;
    /* smtpc_transport_fd and smtpc_transport_timeout of an implementation;
     * NULL: -1 (user-callback transports). */
    int (*get_fd)(const smtpc_transport *t);
    int (*get_timeout)(const smtpc_transport *t);
    smtpc_error err;
};

/* Allocate a transport with the given callbacks (alloc may be NULL). */
smtpc_transport *smtpc_transport_create(const smtpc_allocator *alloc, smtpc_send_fn send,
                                        smtpc_recv_fn recv, smtpc_close_fn close, void *user);
/* printf-style reason for the failure being reported; the code is added
 * by the call that returns it (smtpc_transport_send, _recv, _connect,
 * _handshake), so a callback may set the text alone. */
void (smtpc_transport_set_errmsg)(smtpc_transport *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#if SMTPC_SHORT_MESSAGES
/* -Dmessages=short: the code alone (smtpc_transport_fail), no call made */
#define smtpc_transport_set_errmsg(t, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), (void)((t)->err.message[0] = '\0'))
#endif

/* Record code in t's error record, keeping the reason a transport set with
 * smtpc_transport_set_errmsg. Returns code. */
int smtpc_transport_fail(smtpc_transport *t, int code);

#endif
