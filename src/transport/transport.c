/* The transport handle every implementation shares, and the user-callback
 * transport. */
#include "transport_internal.h"
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

smtpc_transport *smtpc_transport_create(const smtpc_allocator *alloc, smtpc_send_fn send,
                                        smtpc_recv_fn recv, smtpc_close_fn close, void *user)
{
    smtpc_allocator a;
    if (smtpc_allocator_init(&a, alloc) != SMTPC_OK)
        return NULL;
    smtpc_transport *t = smtpc_alloc(&a, sizeof *t);
    if (!t)
        return NULL;
    t->send = send;
    t->recv = recv;
    t->close = close;
    t->user = user;
    t->alloc = a;
    t->ready = 1;
    return t;
}

void (smtpc_transport_set_errmsg)(smtpc_transport *t, const char *fmt, ...)
{
    if (!fmt) { /* -Dmessages=short: the code alone (smtpc_transport_fail) */
        t->err.message[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    /* Truncation is acceptable: the message is for humans. */
    vsnprintf(t->err.message, sizeof t->err.message, fmt, ap);
    va_end(ap);
}

int smtpc_transport_fail(smtpc_transport *t, int code)
{
    /* A user's callback cannot give a reason: the record then has the code
     * alone, and smtpc_error_message describes it. */
    t->err.code = code;
    return code;
}

/* Send and recv on a transport that is not connected yet, or whose
 * handshake has not succeeded, would hand bytes to nothing (or in clear). */
static int not_ready(smtpc_transport *t)
{
    return smtpc_error_set(&t->err, SMTPC_ESTATE,
                           "transport not ready: connect it (socket) or finish its "
                           "handshake (TLS) first");
}

/* A timed-out call leaves something to wait for: its direction, unless the
 * implementation knows better (TLS). A successful call may too, when the
 * implementation says so (a TLS record taken but not all sent); a failed
 * one never. */
static void note_events(smtpc_transport *t, int rc, int direction)
{
    if (rc != SMTPC_ETIMEDOUT && rc != SMTPC_OK)
        t->events = 0;
    else if (rc == SMTPC_ETIMEDOUT && t->events == 0)
        t->events = direction;
}

int smtpc_transport_new_callbacks(const smtpc_allocator *alloc, smtpc_send_fn send,
                                  smtpc_recv_fn recv, smtpc_close_fn close, void *user,
                                  smtpc_transport **out)
{
    if (!out)
        return SMTPC_EINVAL;
    smtpc_allocator probe; /* no allocator and no default (-Dport=none) */
    if (!send || !recv || smtpc_allocator_init(&probe, alloc) != SMTPC_OK) {
        *out = NULL;
        return SMTPC_EINVAL;
    }
    *out = smtpc_transport_create(&probe, send, recv, close, user);
    return *out ? SMTPC_OK : SMTPC_ENOMEM;
}

/* One send or recv (dir: SMTPC_POLL_WRITE or SMTPC_POLL_READ) through the
 * implementation, its claims checked; *done is what moved. */
SMTPC_NOINLINE static int move_bytes(smtpc_transport *t, int dir, const uint8_t *buf,
                                     size_t len, int timeout_ms, size_t *done)
{
    *done = 0;
    smtpc_error_clear(&t->err);
    t->events = 0;
    if (!t->ready)
        return not_ready(t);
    int rc = dir == SMTPC_POLL_WRITE ? t->send(t->user, buf, len, timeout_ms, done)
                                     : t->recv(t->user, (uint8_t *)buf, len, timeout_ms, done);
    /* A callback claiming more than it was given (or had room for) would
     * make callers read past their buffer; treat it as a broken transport. */
    if (rc == SMTPC_OK && *done > len) {
        *done = 0;
        smtpc_transport_set_errmsg(t, dir == SMTPC_POLL_WRITE
                                          ? "transport send reported more bytes than given"
                                          : "transport recv reported more bytes than room");
        rc = SMTPC_EIO;
    }
    /* The contract says a successful recv delivers bytes; zero would spin
     * the caller forever, so it can only mean the peer went away. */
    if (rc == SMTPC_OK && *done == 0 && dir == SMTPC_POLL_READ) {
        if (!t->err.message[0])
            smtpc_transport_set_errmsg(t, "transport recv returned no bytes");
        rc = SMTPC_ECLOSED;
    }
    note_events(t, rc, dir);
    return rc == SMTPC_OK ? rc : smtpc_transport_fail(t, rc);
}

int smtpc_transport_send(smtpc_transport *t, const uint8_t *buf, size_t len, int timeout_ms,
                         size_t *sent)
{
    if (!t || !sent || (!buf && len > 0))
        return SMTPC_EINVAL;
    return move_bytes(t, SMTPC_POLL_WRITE, buf, len, timeout_ms, sent);
}

int smtpc_transport_recv(smtpc_transport *t, uint8_t *buf, size_t cap, int timeout_ms,
                         size_t *received)
{
    if (!t || !buf || !received || cap == 0)
        return SMTPC_EINVAL;
    return move_bytes(t, SMTPC_POLL_READ, buf, cap, timeout_ms, received);
}

int smtpc_transport_fd(const smtpc_transport *t)
{
    return t && t->get_fd ? t->get_fd(t) : -1;
}

int smtpc_transport_events(const smtpc_transport *t)
{
    return t ? t->events : 0;
}

int smtpc_transport_timeout(const smtpc_transport *t)
{
    return t && t->get_timeout ? t->get_timeout(t) : -1;
}

const smtpc_error *smtpc_transport_error(const smtpc_transport *t)
{
    return t ? &t->err : NULL;
}

void smtpc_transport_free(smtpc_transport *t)
{
    if (!t)
        return;
    if (t->close)
        t->close(t->user);
    if (t->destroy)
        t->destroy(t);
    smtpc_allocator a = t->alloc;
    smtpc_free(&a, t, sizeof *t);
}
