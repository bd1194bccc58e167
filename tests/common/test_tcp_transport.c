/* The tests' own TCP transport (see test_tcp_transport.h). Deliberately
 * separate from src/transport/transport_socket.c: it stands in for a user's transport,
 * so it only follows the callback contract of smtpc/transport.h. */
#include "test_tcp_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 ready, 0 deadline passed, -1 error (errno). deadline < 0: none. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            ms = left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, ms);
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
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static int tcp_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    int fd = *(int *)user;
    long long deadline = deadline_after(timeout_ms);
    for (;;) {
        ssize_t n = send(fd, buf, len, SEND_FLAGS);
        if (n >= 0) {
            *sent = (size_t)n; /* a short write is allowed by the contract */
            return SMTPC_OK;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd, POLLOUT, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                return SMTPC_ETIMEDOUT;
        }
        return errno == EPIPE || errno == ECONNRESET ? SMTPC_ECLOSED : SMTPC_EIO;
    }
}

static int tcp_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    int fd = *(int *)user;
    long long deadline = deadline_after(timeout_ms);
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n > 0) {
            *received = (size_t)n;
            return SMTPC_OK;
        }
        if (n == 0)
            return SMTPC_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                return SMTPC_ETIMEDOUT;
        }
        return errno == ECONNRESET ? SMTPC_ECLOSED : SMTPC_EIO;
    }
}

static void tcp_close(void *user)
{
    int *fd = user;
    close(*fd);
    free(fd);
}

/* One address: a non-blocking connect bounded by timeout_ms. Returns the
 * connected socket, or -1 with *code set. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *code)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        *code = SMTPC_ECONNECT;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    int err = fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? errno : 0;
    if (!err && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        err = errno;
        if (err == EINPROGRESS || err == EINTR) {
            int w = wait_fd(fd, POLLOUT, deadline_after(timeout_ms));
            socklen_t len = sizeof err;
            if (w == 0)
                err = ETIMEDOUT;
            else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        }
    }
    if (err) {
        close(fd);
        *code = err == ECONNREFUSED ? SMTPC_ECONNREFUSED
                : err == ETIMEDOUT  ? SMTPC_ETIMEDOUT
                                    : SMTPC_ECONNECT;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int test_tcp_transport_new(const smtpc_allocator *alloc, const char *host, const char *port,
                           int timeout_ms, smtpc_transport **out, char *why, size_t why_cap)
{
    *out = NULL;
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &list);
    if (gai != 0) {
        snprintf(why, why_cap, "cannot resolve %s: %s", host, gai_strerror(gai));
        return SMTPC_ERESOLVE;
    }
    /* Refused only when every address refused; else the last failure. */
    int fd = -1, code = SMTPC_ERESOLVE, all_refused = 1;
    for (const struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, timeout_ms, &code);
        if (fd < 0 && code != SMTPC_ECONNREFUSED)
            all_refused = 0;
    }
    freeaddrinfo(list);
    if (fd < 0) {
        if (code == SMTPC_ECONNREFUSED && !all_refused)
            code = SMTPC_ECONNECT;
        snprintf(why, why_cap, "test transport: cannot connect to %s:%s (%s)", host, port,
                 smtpc_strerror(code));
        return code;
    }
    int *state = malloc(sizeof *state);
    if (!state) {
        close(fd);
        snprintf(why, why_cap, "test transport: out of memory");
        return SMTPC_ENOMEM;
    }
    *state = fd;
    int rc = smtpc_transport_new_callbacks(alloc, tcp_send, tcp_recv, tcp_close, state, out);
    if (rc) {
        tcp_close(state);
        snprintf(why, why_cap, "test transport: %s", smtpc_strerror(rc));
    }
    return rc;
}

int test_tcp_no_sockets(void)
{
#ifdef SMTPC_TEST_NO_SOCKETS
    return 1;
#else
    return 0;
#endif
}

int test_tcp_prepare(smtpc_client *c, const char *host, const char *port, int timeout_ms)
{
    if (!test_tcp_no_sockets())
        return 0;
    char why[256];
    smtpc_transport *t = NULL;
    int rc = test_tcp_transport_new(NULL, host, port, timeout_ms, &t, why, sizeof why);
    if (rc) {
        fprintf(stderr, "%s\n", why);
        return rc;
    }
    /* The client owns t from here, even if it refuses it. */
    return smtpc_client_set_transport(c, t);
}
