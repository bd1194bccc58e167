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
            int w = wait_fd(s->fd, POLLOUT, deadline);
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
            int w = wait_fd(s->fd, POLLIN, deadline);
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
}

static void socket_destroy(smtpc_transport *t)
{
    smtpc_free(&t->alloc, t->user, sizeof(sock_state));
    t->user = NULL;
}

/* Outcome of one connect attempt, in the order that decides the final code
 * when every address fails. */
enum { ATTEMPT_OK, ATTEMPT_REFUSED, ATTEMPT_TIMEOUT, ATTEMPT_OTHER };

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

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *fd_out, int *err_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        *err_out = errno;
        return ATTEMPT_OTHER;
    }
    if (set_nonblocking(fd) < 0) {
        *err_out = errno;
        close(fd);
        return ATTEMPT_OTHER;
    }
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    }
#endif
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    if (rc < 0 && (err == EINPROGRESS || err == EINTR)) {
        int w = wait_fd(fd, POLLOUT, deadline_after(timeout_ms));
        if (w == 0) {
            close(fd);
            *err_out = ETIMEDOUT;
            return ATTEMPT_TIMEOUT;
        }
        if (w < 0) {
            err = errno;
        } else {
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        }
    }
    if (err != 0) {
        close(fd);
        *err_out = err;
        return err == ECONNREFUSED ? ATTEMPT_REFUSED
               : err == ETIMEDOUT  ? ATTEMPT_TIMEOUT
                                   : ATTEMPT_OTHER;
    }
    /* SMTP is a dialogue of small writes; Nagle plus delayed ACKs would add
     * tens of milliseconds per command group. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *fd_out = fd;
    return ATTEMPT_OK;
}

static int open_socket(const char *host, const char *port, const char *peer, int timeout_ms,
                       int *fd_out, char *msg, size_t msg_cap)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;

    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, port, &hints, &list);
    if (gai != 0) {
        if (gai == EAI_MEMORY) {
            fmt_msg(msg, msg_cap, "out of memory resolving %s", peer);
            return SMTPC_ENOMEM;
        }
        fmt_msg(msg, msg_cap, "cannot resolve %s: %s", peer, gai_strerror(gai));
        return SMTPC_ERESOLVE;
    }

    int all_refused = 1, any_timeout = 0, tried = 0, last_err = 0;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        int err = 0;
        tried++;
        int r = connect_one(ai, timeout_ms, fd_out, &err);
        if (r == ATTEMPT_OK) {
            freeaddrinfo(list);
            return SMTPC_OK;
        }
        last_err = err;
        if (r != ATTEMPT_REFUSED)
            all_refused = 0;
        if (r == ATTEMPT_TIMEOUT)
            any_timeout = 1;
    }
    freeaddrinfo(list);

    char why[128];
    if (tried == 0) {
        fmt_msg(msg, msg_cap, "cannot resolve %s: no addresses", peer);
        return SMTPC_ERESOLVE;
    }
    if (all_refused) {
        fmt_msg(msg, msg_cap, "connection to %s refused", peer);
        return SMTPC_ECONNREFUSED;
    }
    if (any_timeout) {
        if (timeout_ms >= 0)
            fmt_msg(msg, msg_cap, "connection to %s timed out after %d ms", peer, timeout_ms);
        else
            fmt_msg(msg, msg_cap, "connection to %s timed out", peer);
        return SMTPC_ETIMEDOUT;
    }
    smtpc_errno_text(last_err, why, sizeof why);
    fmt_msg(msg, msg_cap, "cannot connect to %s: %s", peer, why);
    return SMTPC_ECONNECT;
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
    t->user = s;
    t->destroy = socket_destroy;
    t->ready = 0;
    *out = t;
    return SMTPC_OK;
}

int smtpc_transport_connect(smtpc_transport *t, const char *host, const char *port,
                            int connect_timeout_ms)
{
    if (!t)
        return SMTPC_EINVAL;
    smtpc_error_clear(&t->err);
    if (t->send != socket_send)
        return smtpc_error_set(&t->err, SMTPC_EINVAL,
                               "smtpc_transport_connect: not a socket transport");
    sock_state *s = t->user;
    if (s->fd >= 0)
        return smtpc_error_set(&t->err, SMTPC_ESTATE,
                               "smtpc_transport_connect: already connected to %s", s->peer);
    if (!host || !port || !host[0])
        return smtpc_error_set(&t->err, SMTPC_EINVAL,
                               "smtpc_transport_connect: host and port are required");
    char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
    int rc = smtpc_port_check(port, msg, sizeof msg);
    if (rc != SMTPC_OK)
        return smtpc_error_set(&t->err, rc, "%s", msg);
    /* IPv6 literals are bracketed so the port stays readable. */
    if (strchr(host, ':'))
        fmt_msg(s->peer, sizeof s->peer, "[%s]:%s", host, port);
    else
        fmt_msg(s->peer, sizeof s->peer, "%s:%s", host, port);
    msg[0] = '\0';
    rc = open_socket(host, port, s->peer, connect_timeout_ms, &s->fd, msg, sizeof msg);
    if (rc != SMTPC_OK) {
        s->fd = -1;
        return smtpc_error_set(&t->err, rc, "%s", msg);
    }
    t->ready = 1;
    return SMTPC_OK;
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

#endif
