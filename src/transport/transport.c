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
    return t;
}

void smtpc_transport_set_errmsg(smtpc_transport *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* Truncation is acceptable: the message is for humans. */
    vsnprintf(t->errmsg, sizeof t->errmsg, fmt, ap);
    va_end(ap);
}

/* Longer than any name in /etc/services; a bound keeps the message short. */
#define SERVICE_NAME_MAX 32

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

int smtpc_port_check(const char *port, char *msg, size_t cap)
{
    static const char want[] = "a number in 1..65535 or a service name such as \"smtp\"";
    if (!port || !port[0]) {
        snprintf(msg, cap, "no port given (%s)", want);
        return SMTPC_EINVAL;
    }
    size_t len = strlen(port);
    if (is_digit(port[0])) {
        unsigned long value = 0;
        size_t i = 0;
        /* Stop counting past the range, so a long string cannot wrap. */
        for (; is_digit(port[i]); i++)
            if (value <= 65535)
                value = value * 10 + (unsigned long)(port[i] - '0');
        if (i == len && value >= 1 && value <= 65535)
            return SMTPC_OK;
        if (i == len)
            snprintf(msg, cap, "port \"%.40s\" out of range (%s)", port, want);
        else
            snprintf(msg, cap, "port \"%.40s\" is not %s", port, want);
        return SMTPC_EINVAL;
    }
    int ok = is_alpha(port[0]) && len <= SERVICE_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = is_alpha(port[i]) || is_digit(port[i]) || port[i] == '-' || port[i] == '_' ||
             port[i] == '.';
    if (ok)
        return SMTPC_OK;
    snprintf(msg, cap, "port \"%.40s\" is not %s", port, want);
    return SMTPC_EINVAL;
}

int smtpc_transport_new_callbacks(const smtpc_allocator *alloc, smtpc_send_fn send,
                                  smtpc_recv_fn recv, smtpc_close_fn close, void *user,
                                  smtpc_transport **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    smtpc_allocator probe; /* no allocator and no default (-Dport=none) */
    if (!send || !recv || smtpc_allocator_init(&probe, alloc) != SMTPC_OK)
        return SMTPC_EINVAL;
    smtpc_transport *t = smtpc_transport_create(alloc, send, recv, close, user);
    if (!t)
        return SMTPC_ENOMEM;
    *out = t;
    return SMTPC_OK;
}

int smtpc_transport_send(smtpc_transport *t, const uint8_t *buf, size_t len, int timeout_ms,
                         size_t *sent)
{
    if (!t || !sent || (!buf && len > 0))
        return SMTPC_EINVAL;
    *sent = 0;
    t->errmsg[0] = '\0';
    int rc = t->send(t->user, buf, len, timeout_ms, sent);
    /* A callback claiming more than it was given would make callers read
     * past their buffer; treat it as a broken transport. */
    if (rc == SMTPC_OK && *sent > len) {
        *sent = 0;
        smtpc_transport_set_errmsg(t, "transport send reported more bytes than given");
        return SMTPC_EIO;
    }
    return rc;
}

int smtpc_transport_recv(smtpc_transport *t, uint8_t *buf, size_t cap, int timeout_ms,
                         size_t *received)
{
    if (!t || !buf || !received || cap == 0)
        return SMTPC_EINVAL;
    *received = 0;
    t->errmsg[0] = '\0';
    int rc = t->recv(t->user, buf, cap, timeout_ms, received);
    if (rc == SMTPC_OK && *received > cap) {
        *received = 0;
        smtpc_transport_set_errmsg(t, "transport recv reported more bytes than room");
        return SMTPC_EIO;
    }
    /* The contract says a successful recv delivers bytes; zero would spin
     * the caller forever, so it can only mean the peer went away. */
    if (rc == SMTPC_OK && *received == 0) {
        if (!t->errmsg[0])
            smtpc_transport_set_errmsg(t, "transport recv returned no bytes");
        return SMTPC_ECLOSED;
    }
    return rc;
}

const char *smtpc_transport_errmsg(const smtpc_transport *t)
{
    return t ? t->errmsg : "";
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
