/* POSIX TCP transport: getaddrinfo, non-blocking connect with a deadline,
 * and poll()-bounded send/recv. */
#include "smtpc_config.h"
#include "transport_internal.h"
#include "alloc.h"
#include "port.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if SMTPC_HAVE_SOCKETS

/* snprintf that may truncate on purpose: the text is a human-readable
 * reason, and a long host name must not turn into a build warning. */
static void fmt_msg(char *buf, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void fmt_msg(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The peer label is only for messages; a long name is cut, not refused. */
#define PEER_MAX 128

typedef struct {
    int fd;
    smtpc_transport *t; /* back pointer so the callbacks can set errmsg */
    char peer[PEER_MAX];
    /* A connect in progress (from smtpc_transport_connect_start until it
     * ends): getaddrinfo's list, non-NULL exactly while it runs, and the
     * addresses not tried yet. fd is then the current attempt's socket. */
    struct addrinfo *addrs;
    const struct addrinfo *next;
    int timeout_ms;             /* per attempt; < 0: no limit */
    long long attempt_deadline; /* monotonic ms; -1: none */
    /* What the failed attempts had in common, for the final code. */
    int tried, all_refused, any_timeout, last_err;
} sock_state;

/* Linux has MSG_NOSIGNAL; BSDs and macOS use SO_NOSIGPIPE on the socket. */
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

/* Wait until fd is ready for events or the deadline passes (deadline < 0:
 * never). Returns 1 when ready, 0 on timeout, -1 with errno on error.
 * Signals do not shorten or lengthen the wait. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            long long left = deadline - smtpc_monotonic_ms();
            if (left < 0)
                left = 0;
            timeout = left > 0x7fffffff ? 0x7fffffff : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static long long deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : smtpc_monotonic_ms() + timeout_ms;
}

static int socket_send(void *user, const uint8_t *buf, size_t len, int timeout_ms,
                       size_t *sent)
{
    sock_state *s = user;
    long long deadline = deadline_after(timeout_ms);
    size_t done = 0;
    char why[128];

    /* Keep writing until everything is out: callers hand over whole command
     * groups, and a short write here would only cost them a round trip. */
    while (done < len) {
        ssize_t n = send(s->fd, buf + done, len - done, SEND_FLAGS);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* timeout 0: the kernel just said no; a poll would too. */
            int w = timeout_ms == 0 ? 0 : wait_fd(s->fd, POLLOUT, deadline);
            if (w > 0)
                continue;
            if (w == 0) {
                if (done > 0)
                    break; /* report progress; the next call will time out */
                smtpc_transport_set_errmsg(s->t, "timed out after %d ms sending to %s",
                                           timeout_ms, s->peer);
                return SMTPC_ETIMEDOUT;
            }
        }
        int err = errno;
        smtpc_errno_text(err, why, sizeof why);
        if (err == EPIPE || err == ECONNRESET) {
            smtpc_transport_set_errmsg(s->t, "connection to %s closed while sending (%s)",
                                       s->peer, why);
            return SMTPC_ECLOSED;
        }
        smtpc_transport_set_errmsg(s->t, "send to %s failed: %s", s->peer, why);
        return SMTPC_EIO;
    }
    *sent = done;
    return SMTPC_OK;
}

static int socket_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms,
                       size_t *received)
{
    sock_state *s = user;
    long long deadline = deadline_after(timeout_ms);
    char why[128];

    for (;;) {
        ssize_t n = recv(s->fd, buf, cap, 0);
        if (n > 0) {
            *received = (size_t)n;
            return SMTPC_OK;
        }
        if (n == 0) {
            smtpc_transport_set_errmsg(s->t, "%s closed the connection", s->peer);
            return SMTPC_ECLOSED;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = timeout_ms == 0 ? 0 : wait_fd(s->fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0) {
                smtpc_transport_set_errmsg(s->t, "timed out after %d ms waiting for %s",
                                           timeout_ms, s->peer);
                return SMTPC_ETIMEDOUT;
            }
        }
        int err = errno;
        smtpc_errno_text(err, why, sizeof why);
        if (err == ECONNRESET) {
            smtpc_transport_set_errmsg(s->t, "connection to %s reset (%s)", s->peer, why);
            return SMTPC_ECLOSED;
        }
        smtpc_transport_set_errmsg(s->t, "recv from %s failed: %s", s->peer, why);
        return SMTPC_EIO;
    }
}

static void socket_close(void *user)
{
    sock_state *s = user;
    /* NULL when the state's allocation failed in smtpc_transport_new_socket,
     * which then frees the bare transport (and so calls this). */
    if (s && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s && s->addrs) { /* a connect abandoned while in progress */
        freeaddrinfo(s->addrs);
        s->addrs = NULL;
    }
}

static void socket_destroy(smtpc_transport *t)
{
    smtpc_free(&t->alloc, t->user, sizeof(sock_state));
    t->user = NULL;
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    /* Children the application forks must not inherit the session. */
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl >= 0)
        fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
    return 0;
}

/* The connect is over, whichever way: nothing is pending any more. */
static void connect_end(sock_state *s)
{
    if (s->addrs)
        freeaddrinfo(s->addrs);
    s->addrs = NULL;
    s->next = NULL;
    s->attempt_deadline = -1;
    s->t->events = 0;
}

/* Close the current attempt's socket and remember how it failed (errno
 * value err): the kinds of failure decide the final code. */
static void attempt_failed(sock_state *s, int err)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->last_err = err;
    if (err != ECONNREFUSED)
        s->all_refused = 0;
    if (err == ETIMEDOUT)
        s->any_timeout = 1;
}

static int connected(sock_state *s)
{
    /* SMTP is a dialogue of small writes; Nagle plus delayed ACKs would add
     * tens of milliseconds per command group. */
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connect_end(s);
    s->t->ready = 1;
    return SMTPC_OK;
}

/* Every address failed: one code for all of them, in the order refused
 * (only when all were), timed out, other. */
static int connect_failed(sock_state *s)
{
    char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
    char why[128];
    int rc;
    connect_end(s);
    if (s->tried == 0) {
        fmt_msg(msg, sizeof msg, "cannot resolve %s: no addresses", s->peer);
        rc = SMTPC_ERESOLVE;
    } else if (s->all_refused) {
        fmt_msg(msg, sizeof msg, "connection to %s refused", s->peer);
        rc = SMTPC_ECONNREFUSED;
    } else if (s->any_timeout) {
        if (s->timeout_ms >= 0)
            fmt_msg(msg, sizeof msg, "connection to %s timed out after %d ms", s->peer,
                    s->timeout_ms);
        else
            fmt_msg(msg, sizeof msg, "connection to %s timed out", s->peer);
        rc = SMTPC_ETIMEDOUT;
    } else {
        smtpc_errno_text(s->last_err, why, sizeof why);
        fmt_msg(msg, sizeof msg, "cannot connect to %s: %s", s->peer, why);
        rc = SMTPC_ECONNECT;
    }
    return smtpc_error_set(&s->t->err, rc, "%s", msg);
}

/* Start connecting to the next address that does not fail at once. */
static int start_next(sock_state *s)
{
    while (s->next) {
        const struct addrinfo *ai = s->next;
        s->next = ai->ai_next;
        s->tried++;
        s->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s->fd < 0 || set_nonblocking(s->fd) < 0) {
            attempt_failed(s, errno);
            continue;
        }
#ifdef SO_NOSIGPIPE
        {
            int one = 1;
            setsockopt(s->fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
        }
#endif
        if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
            return connected(s);
        /* On a non-blocking socket an interrupted connect goes on in the
         * background, like one in progress. */
        if (errno == EINPROGRESS || errno == EINTR) {
            s->attempt_deadline = deadline_after(s->timeout_ms);
            s->t->events = SMTPC_POLL_WRITE;
            return SMTPC_INPROGRESS;
        }
        attempt_failed(s, errno);
    }
    return connect_failed(s);
}

static int socket_fd(const smtpc_transport *t)
{
    const sock_state *s = t->user;
    return s ? s->fd : -1;
}

static int socket_timeout(const smtpc_transport *t)
{
    const sock_state *s = t->user;
    if (!s || !s->addrs || s->attempt_deadline < 0)
        return -1;
    long long left = s->attempt_deadline - smtpc_monotonic_ms();
    if (left <= 0)
        return 0;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int smtpc_transport_new_socket(const smtpc_allocator *alloc, smtpc_transport **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    smtpc_transport *t = smtpc_transport_create(alloc, socket_send, socket_recv, socket_close,
                                                NULL);
    sock_state *s = t ? smtpc_alloc(&t->alloc, sizeof *s) : NULL;
    if (!s) {
        smtpc_transport_free(t);
        return SMTPC_ENOMEM;
    }
    s->fd = -1;
    s->t = t;
    s->attempt_deadline = -1;
    t->user = s;
    t->destroy = socket_destroy;
    t->get_fd = socket_fd;
    t->get_timeout = socket_timeout;
    t->ready = 0;
    *out = t;
    return SMTPC_OK;
}

/* smtpc_transport_connect_start, with the public name (fn) the messages
 * about misuse give. */
static int connect_begin(smtpc_transport *t, const char *host, const char *port,
                         int connect_timeout_ms, const char *fn)
{
    if (!t)
        return SMTPC_EINVAL;
    smtpc_error_clear(&t->err);
    if (t->send != socket_send)
        return smtpc_error_set(&t->err, SMTPC_EINVAL, "%s: not a socket transport", fn);
    sock_state *s = t->user;
    if (t->ready)
        return smtpc_error_set(&t->err, SMTPC_ESTATE, "%s: already connected to %s", fn,
                               s->peer);
    if (s->addrs)
        return smtpc_error_set(&t->err, SMTPC_ESTATE, "%s: a connect to %s is in progress",
                               fn, s->peer);
    if (!host || !port || !host[0])
        return smtpc_error_set(&t->err, SMTPC_EINVAL, "%s: host and port are required", fn);
    char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
    int rc = smtpc_port_check(port, msg, sizeof msg);
    if (rc != SMTPC_OK)
        return smtpc_error_set(&t->err, rc, "%s", msg);
    /* IPv6 literals are bracketed so the port stays readable. */
    if (strchr(host, ':'))
        fmt_msg(s->peer, sizeof s->peer, "[%s]:%s", host, port);
    else
        fmt_msg(s->peer, sizeof s->peer, "%s:%s", host, port);

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, port, &hints, &list);
    if (gai == EAI_MEMORY)
        return smtpc_error_set(&t->err, SMTPC_ENOMEM, "out of memory resolving %s", s->peer);
    if (gai != 0)
        return smtpc_error_set(&t->err, SMTPC_ERESOLVE, "cannot resolve %s: %s", s->peer,
                               gai_strerror(gai));
    s->addrs = list;
    s->next = list;
    s->timeout_ms = connect_timeout_ms;
    s->attempt_deadline = -1;
    s->tried = 0;
    s->all_refused = 1;
    s->any_timeout = 0;
    s->last_err = 0;
    if (!list) /* getaddrinfo succeeded with nothing: no address to try */
        return connect_failed(s);
    return start_next(s);
}

int smtpc_transport_connect_start(smtpc_transport *t, const char *host, const char *port,
                                  int connect_timeout_ms)
{
    return connect_begin(t, host, port, connect_timeout_ms, "smtpc_transport_connect_start");
}

int smtpc_transport_connect_step(smtpc_transport *t)
{
    if (!t)
        return SMTPC_EINVAL;
    smtpc_error_clear(&t->err);
    if (t->send != socket_send)
        return smtpc_error_set(&t->err, SMTPC_EINVAL,
                               "smtpc_transport_connect_step: not a socket transport");
    sock_state *s = t->user;
    if (t->ready)
        return SMTPC_OK;
    if (!s->addrs)
        return smtpc_error_set(&t->err, SMTPC_ESTATE,
                               "smtpc_transport_connect_step: no connect in progress");
    struct pollfd p = {.fd = s->fd, .events = POLLOUT, .revents = 0};
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        attempt_failed(s, errno);
        return start_next(s);
    }
    if (n == 0) {
        if (s->attempt_deadline >= 0 && smtpc_monotonic_ms() >= s->attempt_deadline) {
            attempt_failed(s, ETIMEDOUT);
            return start_next(s);
        }
        t->events = SMTPC_POLL_WRITE;
        return SMTPC_INPROGRESS;
    }
    /* Writable (or in error): the attempt is decided either way. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        attempt_failed(s, err);
        return start_next(s);
    }
    return connected(s);
}

int smtpc_transport_connect(smtpc_transport *t, const char *host, const char *port,
                            int connect_timeout_ms)
{
    int rc = connect_begin(t, host, port, connect_timeout_ms, "smtpc_transport_connect");
    while (rc == SMTPC_INPROGRESS) {
        const sock_state *s = t->user;
        /* Whatever the wait says, the step reads the outcome (a failed
         * poll included) from the socket and the deadline. */
        (void)wait_fd(s->fd, POLLOUT, s->attempt_deadline);
        rc = smtpc_transport_connect_step(t);
    }
    return rc;
}

#else /* !SMTPC_HAVE_SOCKETS */

int smtpc_transport_new_socket(const smtpc_allocator *alloc, smtpc_transport **out)
{
    (void)alloc;
    if (out)
        *out = NULL;
    return SMTPC_ENOTSUP;
}

int smtpc_transport_connect(smtpc_transport *t, const char *host, const char *port,
                            int connect_timeout_ms)
{
    (void)host;
    (void)port;
    (void)connect_timeout_ms;
    if (!t)
        return SMTPC_EINVAL;
    return smtpc_error_set(&t->err, SMTPC_ENOTSUP,
                           "smtpc was built without socket support");
}

int smtpc_transport_connect_start(smtpc_transport *t, const char *host, const char *port,
                                  int connect_timeout_ms)
{
    return smtpc_transport_connect(t, host, port, connect_timeout_ms);
}

int smtpc_transport_connect_step(smtpc_transport *t)
{
    if (!t)
        return SMTPC_EINVAL;
    return smtpc_error_set(&t->err, SMTPC_ENOTSUP,
                           "smtpc was built without socket support");
}

#endif
