/* Transports: the user-callback wrapper and the POSIX socket transport,
 * the latter against sockets made here on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtpc_config.h"
#include "smtpc/client.h"
#include "smtpc/tls.h"
#include "smtpc/transport.h"

#if SMTPC_HAVE_SOCKETS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#endif

/* The transport's error message ("" when the record has no text). */
static const char *errtext(const smtpc_transport *t)
{
    const smtpc_error *err = smtpc_transport_error(t);
    return smtpc_error_code(err) ? smtpc_error_message(err) : "";
}

/* --- a counting allocator: every test ends with nothing outstanding --- */

typedef struct {
    size_t live_bytes;
    size_t live_blocks;
} counter;

static void *count_alloc(void *user, size_t size)
{
    counter *c = user;
    void *p = test_malloc(size);
    if (p) {
        c->live_bytes += size;
        c->live_blocks++;
    }
    return p;
}

static void count_free(void *user, void *ptr, size_t size)
{
    counter *c = user;
    c->live_bytes -= size;
    c->live_blocks--;
    test_free(ptr);
}

/* --- user callbacks over an in-memory pipe --- */

typedef struct {
    uint8_t data[64];
    size_t len;
    size_t pos;
    int closed;
    int short_writes; /* accept at most this many bytes per send when > 0 */
} mem_pipe;

static int mem_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    mem_pipe *p = user;
    (void)timeout_ms;
    size_t room = sizeof p->data - p->len;
    size_t n = len < room ? len : room;
    if (p->short_writes > 0 && n > (size_t)p->short_writes)
        n = (size_t)p->short_writes;
    if (n == 0 && len > 0)
        return SMTPC_ETIMEDOUT;
    if (n > 0)
        memcpy(p->data + p->len, buf, n);
    p->len += n;
    *sent = n;
    return SMTPC_OK;
}

static int mem_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    mem_pipe *p = user;
    (void)timeout_ms;
    size_t avail = p->len - p->pos;
    if (avail == 0)
        return SMTPC_ECLOSED;
    size_t n = cap < avail ? cap : avail;
    memcpy(buf, p->data + p->pos, n);
    p->pos += n;
    *received = n;
    return SMTPC_OK;
}

static void mem_close(void *user)
{
    mem_pipe *p = user;
    p->closed++;
}

static void test_callbacks_round_trip(void **state)
{
    (void)state;
    counter cnt = {0, 0};
    smtpc_allocator a = {count_alloc, count_free, &cnt};
    mem_pipe pipe_ = {.len = 0};
    smtpc_transport *t = NULL;

    assert_int_equal(smtpc_transport_new_callbacks(&a, mem_send, mem_recv, mem_close, &pipe_, &t),
                     SMTPC_OK);
    assert_non_null(t);
    assert_int_equal(cnt.live_blocks, 1);
    assert_string_equal(errtext(t), "");

    size_t sent = 0;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"EHLO x\r\n", 8, 1000, &sent),
                     SMTPC_OK);
    assert_int_equal(sent, 8);

    uint8_t buf[5];
    size_t got = 0;
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 1000, &got), SMTPC_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "EHLO ", 5);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 1000, &got), SMTPC_OK);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "x\r\n", 3);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 1000, &got), SMTPC_ECLOSED);
    assert_int_equal(got, 0);

    assert_int_equal(pipe_.closed, 0);
    smtpc_transport_free(t);
    assert_int_equal(pipe_.closed, 1);
    assert_int_equal(cnt.live_blocks, 0);
    assert_int_equal(cnt.live_bytes, 0);
}

static void test_callbacks_short_write_and_errors(void **state)
{
    (void)state;
    mem_pipe pipe_ = {.short_writes = 3};
    smtpc_transport *t = NULL;
    /* No close callback is allowed. */
    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, mem_recv, NULL, &pipe_, &t),
                     SMTPC_OK);
    size_t sent = 99;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"abcdef", 6, -1, &sent), SMTPC_OK);
    assert_int_equal(sent, 3);
    pipe_.len = sizeof pipe_.data;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"abc", 3, 0, &sent),
                     SMTPC_ETIMEDOUT);
    /* A user callback's failure: its code in the record, and the code's
     * description as the message (a callback has no way to give one). */
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), SMTPC_ETIMEDOUT);
    assert_string_equal(smtpc_error_message(smtpc_transport_error(t)),
                        smtpc_strerror(SMTPC_ETIMEDOUT));
    assert_int_equal(smtpc_transport_send(t, NULL, 0, 0, &sent), SMTPC_OK);
    /* The next call starts with a clear record. */
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), 0);
    smtpc_transport_free(t);
    assert_int_equal(pipe_.closed, 0);
}

static int lying_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    (void)user;
    (void)buf;
    (void)timeout_ms;
    *received = cap + 1;
    return SMTPC_OK;
}

static int empty_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    (void)user;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    *received = 0;
    return SMTPC_OK;
}

static void test_callbacks_misbehaving(void **state)
{
    (void)state;
    mem_pipe pipe_ = {.len = 0};
    smtpc_transport *t = NULL;
    uint8_t buf[4];
    size_t got;

    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, lying_recv, NULL, &pipe_, &t),
                     SMTPC_OK);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 0, &got), SMTPC_EIO);
    assert_int_equal(got, 0);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), SMTPC_EIO);
    assert_non_null(strstr(errtext(t), "more bytes than room"));
    smtpc_transport_free(t);

    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, empty_recv, NULL, &pipe_, &t),
                     SMTPC_OK);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 0, &got), SMTPC_ECLOSED);
    smtpc_transport_free(t);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    mem_pipe pipe_ = {.len = 0};
    smtpc_transport *t = (smtpc_transport *)&pipe_;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, NULL, mem_recv, NULL, &pipe_, &t),
                     SMTPC_EINVAL);
    assert_null(t);
    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, NULL, NULL, &pipe_, &t),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, mem_recv, NULL, &pipe_, NULL),
                     SMTPC_EINVAL);

    size_t n;
    uint8_t b[1];
    assert_int_equal(smtpc_transport_send(NULL, b, 1, 0, &n), SMTPC_EINVAL);
    assert_int_equal(smtpc_transport_recv(NULL, b, 1, 0, &n), SMTPC_EINVAL);
    assert_null(smtpc_transport_error(NULL));
    assert_int_equal(smtpc_error_code(smtpc_transport_error(NULL)), SMTPC_EINVAL);
    smtpc_transport_free(NULL);

#if SMTPC_HAVE_SOCKETS
    const int want = SMTPC_EINVAL;
#else
    const int want = SMTPC_ENOTSUP;
#endif
    assert_int_equal(smtpc_transport_new_socket(NULL, NULL), want);
    assert_int_equal(smtpc_transport_connect(NULL, "127.0.0.1", "25", 100), SMTPC_EINVAL);
    /* connect and handshake belong to socket and TLS transports: on a
     * callback transport they are refused, and the record says so. */
    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, mem_recv, NULL, &pipe_, &t),
                     SMTPC_OK);
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", "25", 100), want);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), want);
    assert_int_equal(smtpc_transport_handshake(t, 100), SMTPC_HAVE_TLS ? SMTPC_EINVAL
                                                                         : SMTPC_ENOTSUP);
    assert_true(strlen(errtext(t)) > 0);
    smtpc_transport_free(t);
}

/* Review finding #8: port strings were not range-checked ("99999" dialled
 * port 34463, "65536" port 0). The client's setter refuses a bad port at
 * once, with a message naming it; service names still pass. */
static const char *const bad_ports[] = {"0", "65536", "99999", "-1", "", "25x", " 25",
                                        "25 ", "+25", "100000000000000000000", "smtp!"};
static const char *const good_ports[] = {"1", "65535", "25", "smtp", "submission"};

static void test_client_set_server_port_range(void **state)
{
    (void)state;
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(NULL, &c), 0);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        int rc = smtpc_client_set_server(c, "mail.example.org", bad_ports[i]);
        if (rc != SMTPC_EINVAL)
            fail_msg("port \"%s\": got %d, want SMTPC_EINVAL", bad_ports[i], rc);
        assert_int_equal(smtpc_error_code(smtpc_client_error(c)), SMTPC_EINVAL);
        const char *m = smtpc_error_message(smtpc_client_error(c));
        if (!strstr(m, "1..65535") || !strstr(m, bad_ports[i]))
            fail_msg("port \"%s\": unclear message \"%s\"", bad_ports[i], m);
    }
    for (size_t i = 0; i < sizeof good_ports / sizeof good_ports[0]; i++)
        assert_int_equal(smtpc_client_set_server(c, "mail.example.org", good_ports[i]), 0);
    /* No port: the default for the security level. */
    assert_int_equal(smtpc_client_set_server(c, "mail.example.org", NULL), 0);
    smtpc_client_free(c);
}

#if SMTPC_HAVE_SOCKETS

static long long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* A socket bound to 127.0.0.1 on a free port; listening when listen_ is set.
 * A bound socket that does not listen makes connects to its port fail with
 * a refusal, without the race of closing a port and hoping it stays free. */
static int bound_socket(int listen_, char *port, size_t port_cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (listen_)
        assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(port, port_cap, "%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

/* smtpc_transport_new_socket + smtpc_transport_connect: the transport in
 * *out, or NULL and the reason in msg (cap bytes). */
static int dial(const smtpc_allocator *a, const char *host, const char *port, int timeout_ms,
                smtpc_transport **out, char *msg, size_t cap)
{
    msg[0] = '\0';
    int rc = smtpc_transport_new_socket(a, out);
    if (rc != SMTPC_OK)
        return rc;
    rc = smtpc_transport_connect(*out, host, port, timeout_ms);
    if (rc != SMTPC_OK) {
        assert_int_equal(smtpc_error_code(smtpc_transport_error(*out)), rc);
        snprintf(msg, cap, "%s", smtpc_error_message(smtpc_transport_error(*out)));
        smtpc_transport_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Connect through the transport, then accept the server side. The kernel
 * completes the handshake from the backlog, so no second thread is needed. */
static smtpc_transport *connect_pair(const smtpc_allocator *a, int *server_fd, int *listen_fd)
{
    char port[16];
    char msg[256];
    *listen_fd = bound_socket(1, port, sizeof port);
    smtpc_transport *t = NULL;
    int rc = dial(a, "127.0.0.1", port, 2000, &t, msg, sizeof msg);
    if (rc != SMTPC_OK)
        print_error("connect failed: %s\n", msg);
    assert_int_equal(rc, SMTPC_OK);
    assert_non_null(t);
    assert_string_equal(msg, "");
    *server_fd = accept(*listen_fd, NULL, NULL);
    assert_true(*server_fd >= 0);
    return t;
}

static void test_socket_echo(void **state)
{
    (void)state;
    counter cnt = {0, 0};
    smtpc_allocator a = {count_alloc, count_free, &cnt};
    int srv, lst;
    smtpc_transport *t = connect_pair(&a, &srv, &lst);
    assert_true(cnt.live_blocks > 0);

    static const char hello[] = "MAIL FROM:<a@example.org>\r\n";
    size_t sent = 0;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)hello, sizeof hello - 1, 1000,
                                          &sent),
                     SMTPC_OK);
    assert_int_equal(sent, sizeof hello - 1);

    char echo[128];
    size_t have = 0;
    while (have < sizeof hello - 1) {
        ssize_t n = read(srv, echo + have, sizeof echo - have);
        assert_true(n > 0);
        have += (size_t)n;
    }
    assert_memory_equal(echo, hello, sizeof hello - 1);
    assert_int_equal(write(srv, echo, have), (ssize_t)have);

    uint8_t buf[128];
    size_t got = 0, total = 0;
    while (total < have) {
        assert_int_equal(smtpc_transport_recv(t, buf + total, sizeof buf - total, 1000, &got),
                         SMTPC_OK);
        assert_true(got > 0);
        total += got;
    }
    assert_memory_equal(buf, hello, have);

    smtpc_transport_free(t);
    /* The transport closed its end: the server sees end of stream. */
    assert_int_equal(read(srv, echo, sizeof echo), 0);
    close(srv);
    close(lst);
    assert_int_equal(cnt.live_blocks, 0);
    assert_int_equal(cnt.live_bytes, 0);
}

/* Read whatever the server side has, checking it against the pattern. */
static void drain(int srv, size_t *received)
{
    static uint8_t sink[65536];
    for (;;) {
        ssize_t n = recv(srv, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0)
            return;
        for (ssize_t i = 0; i < n; i++)
            assert_int_equal(sink[i], (uint8_t)((*received + (size_t)i) * 7));
        *received += (size_t)n;
    }
}

static void test_socket_large_send(void **state)
{
    (void)state;
    int srv, lst;
    smtpc_transport *t = connect_pair(NULL, &srv, &lst);
    /* More than the socket buffers hold, with nobody reading: send must
     * report the part that went out (or time out when nothing did), and
     * carry on once the reader has drained. One thread plays both sides. */
    enum { BIG = 8 * 1024 * 1024 };
    static uint8_t big[BIG];
    for (size_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 7);
    size_t done = 0, received = 0;
    int partial = 0, timeouts = 0;
    while (done < BIG) {
        size_t sent = 0;
        int rc = smtpc_transport_send(t, big + done, BIG - done, 20, &sent);
        if (rc == SMTPC_OK) {
            assert_true(sent > 0);
            if (sent < BIG - done)
                partial++;
            done += sent;
        } else {
            assert_int_equal(rc, SMTPC_ETIMEDOUT);
            assert_int_equal(sent, 0);
            timeouts++;
        }
        drain(srv, &received);
    }
    assert_true(partial + timeouts > 0);
    while (received < BIG) {
        struct pollfd p = {.fd = srv, .events = POLLIN, .revents = 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        drain(srv, &received);
    }
    assert_int_equal(received, BIG);
    smtpc_transport_free(t);
    close(srv);
    close(lst);
}

/* "localhost" usually resolves to ::1 first; with the server on 127.0.0.1
 * only, the transport must move on to the next address. */
static void test_socket_tries_each_address(void **state)
{
    (void)state;
    char port[16], msg[256];
    int lst = bound_socket(1, port, sizeof port);
    smtpc_transport *t = NULL;
    int rc = dial(NULL, "localhost", port, 2000, &t, msg, sizeof msg);
    if (rc != SMTPC_OK)
        print_error("connect failed: %s\n", msg);
    assert_int_equal(rc, SMTPC_OK);
    int srv = accept(lst, NULL, NULL);
    assert_true(srv >= 0);
    smtpc_transport_free(t);
    close(srv);
    close(lst);
}

static void test_socket_refused(void **state)
{
    (void)state;
    char port[16], msg[256];
    int fd = bound_socket(0, port, sizeof port);
    smtpc_transport *t = NULL;
    int rc = dial(NULL, "127.0.0.1", port, 2000, &t, msg, sizeof msg);
    assert_int_equal(rc, SMTPC_ECONNREFUSED);
    assert_null(t);
    char peer[64];
    snprintf(peer, sizeof peer, "127.0.0.1:%s", port);
    assert_non_null(strstr(msg, peer));
    assert_non_null(strstr(msg, "refused"));
    close(fd);
}

static void test_socket_resolve_failure(void **state)
{
    (void)state;
    char msg[256];
    smtpc_transport *t = NULL;
    int rc = dial(NULL, "nonexistent.invalid", "25", 2000, &t, msg,
                                        sizeof msg);
    assert_int_equal(rc, SMTPC_ERESOLVE);
    assert_null(t);
    assert_non_null(strstr(msg, "nonexistent.invalid:25"));
}

/* The transport's error record: a failed connect keeps the code and the
 * reason on the handle, which may be connected again; before a connect,
 * and a second connect after one, are refused with SMTPC_ESTATE. */
static void test_socket_connect_lifecycle(void **state)
{
    (void)state;
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), SMTPC_OK);
    uint8_t b[4];
    size_t n = 9;
    assert_int_equal(smtpc_transport_recv(t, b, sizeof b, 0, &n), SMTPC_ESTATE);
    assert_int_equal(n, 0);
    assert_int_equal(smtpc_transport_send(t, b, 1, 0, &n), SMTPC_ESTATE);
    assert_non_null(strstr(errtext(t), "not ready"));

    char port[16];
    int lst = bound_socket(0, port, sizeof port); /* nobody listens */
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", port, 2000), SMTPC_ECONNREFUSED);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), SMTPC_ECONNREFUSED);
    assert_non_null(strstr(errtext(t), "refused"));
    assert_non_null(strstr(errtext(t), port));
    close(lst);

    lst = bound_socket(1, port, sizeof port);
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", port, 2000), SMTPC_OK);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), 0);
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", port, 2000), SMTPC_ESTATE);
    assert_non_null(strstr(errtext(t), "already connected"));
    int srv = accept(lst, NULL, NULL);
    assert_true(srv >= 0);
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"x", 1, 1000, &n), SMTPC_OK);
    assert_int_equal(n, 1);
    smtpc_transport_free(t);
    close(srv);
    close(lst);
}

/* Review finding #8: the socket transport refuses an out-of-range or
 * malformed port itself (before any lookup), naming the port. */
static void test_socket_port_range(void **state)
{
    (void)state;
    char msg[256];
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        smtpc_transport *t = NULL;
        int rc = dial(NULL, "127.0.0.1", bad_ports[i], 2000, &t, msg, sizeof msg);
        if (rc != SMTPC_EINVAL)
            fail_msg("port \"%s\": got %d (%s), want SMTPC_EINVAL", bad_ports[i], rc, msg);
        assert_null(t);
        if (bad_ports[i][0] && (!strstr(msg, "1..65535") || !strstr(msg, bad_ports[i])))
            fail_msg("port \"%s\": unclear message \"%s\"", bad_ports[i], msg);
    }
    /* In range, or a service name: dialled (whatever the answer). */
    for (size_t i = 0; i < sizeof good_ports / sizeof good_ports[0]; i++) {
        smtpc_transport *t = NULL;
        int rc = dial(NULL, "127.0.0.1", good_ports[i], 2000, &t, msg, sizeof msg);
        if (rc == SMTPC_EINVAL)
            fail_msg("port \"%s\" refused: %s", good_ports[i], msg);
        smtpc_transport_free(t);
    }
}

static void test_socket_recv_timeout(void **state)
{
    (void)state;
    int srv, lst;
    smtpc_transport *t = connect_pair(NULL, &srv, &lst);
    uint8_t buf[16];
    size_t got = 7;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 200, &got), SMTPC_ETIMEDOUT);
    long long ms = elapsed_ms(&start);
    assert_true(ms >= 190);
    assert_true(ms < 2000);
    assert_int_equal(got, 0);
    assert_non_null(strstr(errtext(t), "timed out"));
    assert_non_null(strstr(errtext(t), "127.0.0.1:"));

    /* A zero timeout polls once and returns at once. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 0, &got), SMTPC_ETIMEDOUT);
    assert_true(elapsed_ms(&start) < 100);

    /* The connection is still good after a timeout. */
    assert_int_equal(write(srv, "220 hi\r\n", 8), 8);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 1000, &got), SMTPC_OK);
    assert_int_equal(got, 8);
    smtpc_transport_free(t);
    close(srv);
    close(lst);
}

static void test_socket_peer_close(void **state)
{
    (void)state;
    int srv, lst;
    smtpc_transport *t = connect_pair(NULL, &srv, &lst);
    assert_int_equal(write(srv, "221 bye\r\n", 9), 9);
    close(srv);

    uint8_t buf[64];
    size_t got = 0;
    /* Bytes sent before the close still arrive, then the end. */
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 1000, &got), SMTPC_OK);
    assert_int_equal(got, 9);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 1000, &got), SMTPC_ECLOSED);
    assert_non_null(strstr(errtext(t), "closed"));

    /* Writing to a closed peer must fail cleanly, not raise SIGPIPE. The
     * first write may still succeed (the peer answers it with a reset). */
    int rc = SMTPC_OK;
    for (int i = 0; i < 50 && rc == SMTPC_OK; i++) {
        size_t sent = 0;
        rc = smtpc_transport_send(t, (const uint8_t *)"QUIT\r\n", 6, 1000, &sent);
        if (rc == SMTPC_OK) {
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    assert_int_equal(rc, SMTPC_ECLOSED);
    assert_non_null(strstr(errtext(t), "closed"));
    smtpc_transport_free(t);
    close(lst);
}

#else

static void test_socket_not_supported(void **state)
{
    (void)state;
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), SMTPC_ENOTSUP);
    assert_null(t);

    /* The non-blocking connect says the same; a callback transport (the
     * only kind here) has no descriptor and no deadline of its own. */
    mem_pipe pipe_ = {.len = 0};
    assert_int_equal(smtpc_transport_new_callbacks(NULL, mem_send, mem_recv, NULL, &pipe_, &t),
                     SMTPC_OK);
    assert_int_equal(smtpc_transport_connect_start(t, "127.0.0.1", "25", 1000), SMTPC_ENOTSUP);
    assert_non_null(strstr(errtext(t), "without socket support"));
    assert_int_equal(smtpc_transport_connect_step(t), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_transport_fd(t), -1);
    assert_int_equal(smtpc_transport_events(t), 0);
    assert_int_equal(smtpc_transport_timeout(t), -1);
    smtpc_transport_free(t);
    t = NULL;

    /* The client without a transport of the user's: the same code, and a
     * message that says why, in the error record; nothing left connected. */
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(NULL, &c), 0);
    assert_non_null(c);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", "25"), 0);
    assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_client_connect(c), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_error_code(smtpc_client_error(c)), SMTPC_ENOTSUP);
    if (!strstr(smtpc_error_message(smtpc_client_error(c)), "without socket support"))
        fail_msg("unclear message: \"%s\"", smtpc_error_message(smtpc_client_error(c)));
    assert_int_equal(smtpc_client_connected(c), 0);
    smtpc_client_free(c);
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callbacks_round_trip),
        cmocka_unit_test(test_callbacks_short_write_and_errors),
        cmocka_unit_test(test_callbacks_misbehaving),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_client_set_server_port_range),
#if SMTPC_HAVE_SOCKETS
        cmocka_unit_test(test_socket_port_range),
        cmocka_unit_test(test_socket_echo),
        cmocka_unit_test(test_socket_large_send),
        cmocka_unit_test(test_socket_tries_each_address),
        cmocka_unit_test(test_socket_refused),
        cmocka_unit_test(test_socket_resolve_failure),
        cmocka_unit_test(test_socket_connect_lifecycle),
        cmocka_unit_test(test_socket_recv_timeout),
        cmocka_unit_test(test_socket_peer_close),
#else
        cmocka_unit_test(test_socket_not_supported),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
