/* Non-blocking use of the transports (issue 11): smtpc_transport_connect_start
 * / _step driven by poll() on smtpc_transport_fd, _events and _timeout,
 * against sockets made here on 127.0.0.1, and send/recv with timeout 0.
 *
 * "Several addresses" needs a name that resolves to more than one; a
 * machine's hosts file cannot be relied on for that (localhost may be
 * 127.0.0.1 alone), so this program answers getaddrinfo itself for the one
 * name FAKE_HOST, with addresses whose ports it chooses, and passes every
 * other name to the C library. The sockets, connects and timeouts are
 * real. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smtpc/transport.h"

#define FAKE_HOST "two-addresses.test"
#define FAKE_MAX 4

/* --- the resolver for FAKE_HOST --- */

static struct {
    int n;
    unsigned short ports[FAKE_MAX];
    struct addrinfo ai[FAKE_MAX];
    struct sockaddr_in sa[FAKE_MAX];
    int handed_out; /* lists given and not yet freed */
} fake;

static void fake_set(int n, const char *const *ports)
{
    fake.n = n;
    for (int i = 0; i < n; i++)
        fake.ports[i] = (unsigned short)atoi(ports[i]);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    if (node && strcmp(node, FAKE_HOST) == 0) {
        for (int i = 0; i < fake.n; i++) {
            memset(&fake.sa[i], 0, sizeof fake.sa[i]);
            fake.sa[i].sin_family = AF_INET;
            fake.sa[i].sin_port = htons(fake.ports[i]);
            fake.sa[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            memset(&fake.ai[i], 0, sizeof fake.ai[i]);
            fake.ai[i].ai_family = AF_INET;
            fake.ai[i].ai_socktype = SOCK_STREAM;
            fake.ai[i].ai_protocol = IPPROTO_TCP;
            fake.ai[i].ai_addr = (struct sockaddr *)&fake.sa[i];
            fake.ai[i].ai_addrlen = sizeof fake.sa[i];
            fake.ai[i].ai_next = i + 1 < fake.n ? &fake.ai[i + 1] : NULL;
        }
        *res = &fake.ai[0];
        fake.handed_out++;
        return 0;
    }
    int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    void *sym = dlsym(RTLD_NEXT, "getaddrinfo");
    assert_non_null(sym);
    memcpy(&real, &sym, sizeof real);
    return real(node, service, hints, res);
}

void freeaddrinfo(struct addrinfo *res)
{
    if (res == &fake.ai[0]) {
        fake.handed_out--;
        return;
    }
    void (*real)(struct addrinfo *);
    void *sym = dlsym(RTLD_NEXT, "freeaddrinfo");
    assert_non_null(sym);
    memcpy(&real, &sym, sizeof real);
    real(res);
}

/* --- helpers --- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *errtext(const smtpc_transport *t)
{
    return smtpc_error_message(smtpc_transport_error(t));
}

/* A socket bound to 127.0.0.1 on a free port, listening with the given
 * backlog, or (backlog < 0) not listening: connects to it are refused. */
static int bound_socket(int backlog, char *port, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (backlog >= 0)
        assert_int_equal(listen(fd, backlog), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(port, cap, "%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

/* A listening socket whose accept queue is full, so that the kernel drops
 * further SYNs and a connect to it stays in progress: listen(0) takes one
 * connection; fillers are connected until one does not complete within a
 * second. The fillers are returned in fillers[] (closed by the caller).
 * Returns the listener, or -1 when this kernel never left one waiting. */
#define MAX_FILLERS 8
static int full_listener(char *port, size_t cap, int fillers[MAX_FILLERS])
{
    int lst = bound_socket(0, port, cap);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)atoi(port));
    for (int i = 0; i < MAX_FILLERS; i++)
        fillers[i] = -1;
    for (int i = 0; i < MAX_FILLERS; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fillers[i] = fd;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            continue;
        assert_int_equal(errno, EINPROGRESS);
        struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
        if (poll(&p, 1, 1000) == 0)
            return lst; /* this one's SYN was dropped: the queue is full */
    }
    return -1;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static unsigned peer_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getpeername(fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

static unsigned local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

/* Drive a started connect with poll() until it ends, checking on every
 * round what the transport asks to wait for. Returns the final code. */
static int drive_connect(smtpc_transport *t, int rc)
{
    long long give_up = now_ms() + 30000; /* only against a hang */
    while (rc == SMTPC_INPROGRESS) {
        assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
        assert_true(smtpc_transport_fd(t) >= 0);
        int left = smtpc_transport_timeout(t);
        struct pollfd p = {.fd = smtpc_transport_fd(t), .events = POLLOUT, .revents = 0};
        assert_true(poll(&p, 1, left < 0 || left > 1000 ? 1000 : left) >= 0);
        rc = smtpc_transport_connect_step(t);
        if (rc == SMTPC_INPROGRESS) /* still going is no error */
            assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), 0);
        assert_true(now_ms() < give_up);
    }
    /* Whatever the outcome, nothing is pending any more. */
    assert_int_equal(smtpc_transport_events(t), 0);
    assert_int_equal(smtpc_transport_timeout(t), -1);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), rc);
    return rc;
}

/* --- tests --- */

static void connect_listening(void **state)
{
    (void)state;
    char port[16];
    int lst = bound_socket(4, port, sizeof port);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    assert_int_equal(smtpc_transport_fd(t), -1);
    assert_int_equal(smtpc_transport_events(t), 0);
    assert_int_equal(smtpc_transport_timeout(t), -1);
    assert_int_equal(smtpc_transport_connect_step(t), SMTPC_ESTATE);
    assert_non_null(strstr(errtext(t), "no connect in progress"));

    int rc = smtpc_transport_connect_start(t, "127.0.0.1", port, 5000);
    if (rc == SMTPC_INPROGRESS) {
        int left = smtpc_transport_timeout(t);
        assert_true(left >= 0 && left <= 5000);
        assert_int_equal(smtpc_transport_connect_start(t, "127.0.0.1", port, 5000),
                         SMTPC_ESTATE);
        assert_non_null(strstr(errtext(t), "in progress"));
    }
    assert_int_equal(drive_connect(t, rc), 0);
    int fd = smtpc_transport_fd(t);
    assert_true(fd >= 0);
    assert_int_equal(peer_port(fd), (unsigned)atoi(port));
    /* Connected: a further step is harmless, a further start refused. */
    assert_int_equal(smtpc_transport_connect_step(t), 0);
    assert_int_equal(smtpc_transport_connect_start(t, "127.0.0.1", port, 5000), SMTPC_ESTATE);
    assert_non_null(strstr(errtext(t), "already connected"));

    int srv = accept(lst, NULL, NULL);
    assert_true(srv >= 0);
    size_t n = 0;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"hi", 2, 0, &n), 0);
    assert_int_equal(n, 2);
    char buf[4];
    assert_int_equal(recv(srv, buf, sizeof buf, 0), 2);
    smtpc_transport_free(t);
    close(srv);
    close(lst);
}

static void connect_refused(void **state)
{
    (void)state;
    char port[16], peer[64];
    int fd = bound_socket(-1, port, sizeof port);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    int rc = smtpc_transport_connect_start(t, "127.0.0.1", port, 5000);
    assert_int_equal(drive_connect(t, rc), SMTPC_ECONNREFUSED);
    snprintf(peer, sizeof peer, "connection to 127.0.0.1:%s refused", port);
    assert_string_equal(errtext(t), peer);
    assert_int_equal(smtpc_transport_fd(t), -1);
    assert_int_equal(smtpc_transport_connect_step(t), SMTPC_ESTATE);

    /* The same transport may connect again. */
    close(fd);
    int lst = bound_socket(4, port, sizeof port);
    rc = smtpc_transport_connect_start(t, "127.0.0.1", port, 5000);
    assert_int_equal(drive_connect(t, rc), 0);
    smtpc_transport_free(t);
    close(lst);
}

/* The first address refuses: the connect goes on to the second. */
static void connect_moves_on(void **state)
{
    (void)state;
    char closed[16], open_[16];
    int cfd = bound_socket(-1, closed, sizeof closed);
    int lst = bound_socket(4, open_, sizeof open_);
    const char *ports[] = {closed, open_};
    fake_set(2, ports);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    int rc = smtpc_transport_connect_start(t, FAKE_HOST, "25", 5000);
    assert_int_equal(drive_connect(t, rc), 0);
    assert_int_equal(peer_port(smtpc_transport_fd(t)), (unsigned)atoi(open_));
    assert_int_equal(fake.handed_out, 0); /* the list was freed */
    int srv = accept(lst, NULL, NULL);
    assert_true(srv >= 0);
    smtpc_transport_free(t);
    close(srv);

    /* Both refuse: one refusal for the name, as the blocking connect says. */
    close(lst);
    lst = bound_socket(-1, open_, sizeof open_);
    fake_set(2, ports);
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    rc = smtpc_transport_connect_start(t, FAKE_HOST, "25", 5000);
    assert_int_equal(drive_connect(t, rc), SMTPC_ECONNREFUSED);
    assert_string_equal(errtext(t), "connection to " FAKE_HOST ":25 refused");
    assert_int_equal(smtpc_transport_connect(t, FAKE_HOST, "25", 5000), SMTPC_ECONNREFUSED);
    assert_string_equal(errtext(t), "connection to " FAKE_HOST ":25 refused");
    assert_int_equal(fake.handed_out, 0);
    smtpc_transport_free(t);
    close(lst);
    close(cfd);
}

/* An attempt that gets no answer ends at connect_timeout_ms, counted down
 * by smtpc_transport_timeout; the next address is then tried. */
static void connect_attempt_timeout(void **state)
{
    (void)state;
    enum { ATTEMPT_MS = 400 };
    char full[16], open_[16];
    int fillers[MAX_FILLERS];
    int flst = full_listener(full, sizeof full, fillers);
    if (flst < 0) {
        close_all(fillers, MAX_FILLERS);
        print_message("this kernel answers every SYN even with a full listen queue\n");
        skip();
    }
    int lst = bound_socket(4, open_, sizeof open_);
    const char *ports[] = {full, open_};
    fake_set(2, ports);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    long long t0 = now_ms();
    int rc = smtpc_transport_connect_start(t, FAKE_HOST, "25", ATTEMPT_MS);
    long long t1 = now_ms();
    assert_int_equal(rc, SMTPC_INPROGRESS);
    unsigned first = local_port(smtpc_transport_fd(t));
    long long moved_at = -1;
    int prev = ATTEMPT_MS;
    for (;;) {
        /* The countdown is the attempt's deadline, started between t0 and
         * t1, less the time passed: bounds that hold however slow the
         * machine is (1 ms for the clock's rounding). */
        long long before = now_ms();
        int left = smtpc_transport_timeout(t);
        long long after = now_ms();
        assert_true(left >= 0 && left <= prev);
        assert_true(left <= t1 + ATTEMPT_MS - before + 1);
        assert_true(left >= t0 + ATTEMPT_MS - after - 1);
        prev = left;
        assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
        struct pollfd p = {.fd = smtpc_transport_fd(t), .events = POLLOUT, .revents = 0};
        assert_int_equal(poll(&p, 1, left > 50 ? 50 : left), 0); /* never answered */
        rc = smtpc_transport_connect_step(t);
        if (rc != SMTPC_INPROGRESS || local_port(smtpc_transport_fd(t)) != first) {
            moved_at = now_ms(); /* the first attempt timed out */
            break;
        }
        assert_true(now_ms() - t0 < 30000);
    }
    assert_true(moved_at - t0 >= ATTEMPT_MS - 1);
    assert_int_equal(drive_connect(t, rc), 0);
    assert_int_equal(peer_port(smtpc_transport_fd(t)), (unsigned)atoi(open_));
    smtpc_transport_free(t);

    /* One address only: the connect fails as the blocking one does, and the
     * blocking one (start + wait + step) says the same. */
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    t0 = now_ms();
    rc = smtpc_transport_connect_start(t, "127.0.0.1", full, 300);
    assert_int_equal(drive_connect(t, rc), SMTPC_ETIMEDOUT);
    assert_true(now_ms() - t0 >= 290);
    char want[96];
    snprintf(want, sizeof want, "connection to 127.0.0.1:%s timed out after 300 ms", full);
    assert_string_equal(errtext(t), want);
    t0 = now_ms();
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", full, 300), SMTPC_ETIMEDOUT);
    assert_true(now_ms() - t0 >= 290);
    assert_string_equal(errtext(t), want);

    /* No limit: no deadline to report; abandoning the connect by freeing
     * the transport releases everything (the sanitizer runs check). */
    rc = smtpc_transport_connect_start(t, FAKE_HOST, "25", -1);
    assert_int_equal(rc, SMTPC_INPROGRESS);
    assert_int_equal(smtpc_transport_timeout(t), -1);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
    assert_int_equal(fake.handed_out, 1);
    smtpc_transport_free(t);
    assert_int_equal(fake.handed_out, 0);

    close(lst);
    close(flst);
    close_all(fillers, MAX_FILLERS);
}

static void connect_arguments(void **state)
{
    (void)state;
    assert_int_equal(smtpc_transport_connect_start(NULL, "127.0.0.1", "25", 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_transport_connect_step(NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_transport_fd(NULL), -1);
    assert_int_equal(smtpc_transport_events(NULL), 0);
    assert_int_equal(smtpc_transport_timeout(NULL), -1);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    assert_int_equal(smtpc_transport_connect_start(t, NULL, "25", 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_transport_connect_start(t, "127.0.0.1", "99999", 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_transport_connect_start(t, "nonexistent.invalid", "25", 0),
                     SMTPC_ERESOLVE);
    assert_non_null(strstr(errtext(t), "nonexistent.invalid:25"));
    assert_int_equal(smtpc_transport_events(t), 0);
    smtpc_transport_free(t);
}

/* The user-callback transport: no descriptor, no deadline of its own; the
 * events are the direction of the call that timed out. */
static int again_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    (void)buf;
    (void)timeout_ms;
    int *calls = user;
    if ((*calls)++ % 2)
        return SMTPC_ETIMEDOUT;
    *sent = len;
    return 0;
}

static int again_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    (void)timeout_ms;
    int *calls = user;
    if ((*calls)++ % 2)
        return SMTPC_ETIMEDOUT;
    buf[0] = 'x';
    (void)cap;
    *received = 1;
    return 0;
}

static void callback_transport_events(void **state)
{
    (void)state;
    int calls = 0;
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, again_send, again_recv, NULL, &calls,
                                                   &t),
                     0);
    assert_int_equal(smtpc_transport_fd(t), -1);
    assert_int_equal(smtpc_transport_timeout(t), -1);
    assert_int_equal(smtpc_transport_connect_start(t, "127.0.0.1", "25", 0), SMTPC_EINVAL);
    assert_non_null(strstr(errtext(t), "not a socket transport"));
    assert_int_equal(smtpc_transport_connect_step(t), SMTPC_EINVAL);
    uint8_t b[4];
    size_t n;
    assert_int_equal(smtpc_transport_send(t, b, 1, 0, &n), 0);
    assert_int_equal(smtpc_transport_events(t), 0);
    assert_int_equal(smtpc_transport_send(t, b, 1, 0, &n), SMTPC_ETIMEDOUT);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
    assert_int_equal(smtpc_transport_recv(t, b, sizeof b, 0, &n), 0);
    assert_int_equal(smtpc_transport_events(t), 0);
    assert_int_equal(smtpc_transport_recv(t, b, sizeof b, 0, &n), SMTPC_ETIMEDOUT);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_READ);
    assert_int_equal(smtpc_transport_fd(t), -1);
    smtpc_transport_free(t);
}

/* Socket send and recv with timeout 0 never wait, and say what to wait for. */
static void socket_io_without_waiting(void **state)
{
    (void)state;
    char port[16];
    int lst = bound_socket(4, port, sizeof port);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(NULL, &t), 0);
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", port, 5000), 0);
    int srv = accept(lst, NULL, NULL);
    assert_true(srv >= 0);

    uint8_t buf[65536];
    size_t n = 9;
    long long t0 = now_ms();
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 0, &n), SMTPC_ETIMEDOUT);
    assert_int_equal(n, 0);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_READ);

    /* Nobody reads on the other side: the kernel's buffers fill, and then
     * a send moves nothing. */
    memset(buf, 'a', sizeof buf);
    size_t total = 0;
    int rc;
    for (;;) {
        rc = smtpc_transport_send(t, buf, sizeof buf, 0, &n);
        if (rc != 0)
            break;
        assert_int_equal(smtpc_transport_events(t), 0);
        total += n;
        assert_true(total < (size_t)256 << 20);
    }
    assert_int_equal(rc, SMTPC_ETIMEDOUT);
    assert_int_equal(n, 0);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
    assert_true(now_ms() - t0 < 30000); /* nothing waited (loose: only against a hang) */

    /* Once the peer reads, the fd turns writable and the send goes on. */
    size_t drained = 0;
    while (drained < total) {
        ssize_t got = recv(srv, buf, sizeof buf, 0);
        assert_true(got > 0);
        drained += (size_t)got;
    }
    struct pollfd p = {.fd = smtpc_transport_fd(t), .events = POLLOUT, .revents = 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"z", 1, 0, &n), 0);
    assert_int_equal(smtpc_transport_events(t), 0);
    assert_int_equal(send(srv, "ok", 2, 0), 2);
    p.events = POLLIN;
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(smtpc_transport_events(t), 0);
    smtpc_transport_free(t);
    close(srv);
    close(lst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_arguments),
        cmocka_unit_test(connect_listening),
        cmocka_unit_test(connect_refused),
        cmocka_unit_test(connect_moves_on),
        cmocka_unit_test(connect_attempt_timeout),
        cmocka_unit_test(callback_transport_events),
        cmocka_unit_test(socket_io_without_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
