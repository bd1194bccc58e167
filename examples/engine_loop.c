/* engine_loop: drive the sans-io engine yourself, as firmware or an event
 * loop would. The engine never touches the network; this program moves its
 * bytes over a plain POSIX socket standing in for "your platform's I/O",
 * and gives it memory from a fixed static pool instead of malloc.
 *
 *   engine_loop HOST PORT FROM RCPT
 *
 * Sends one short message without TLS (the engine also drives STARTTLS:
 * see the SMTPC_WANT_TLS case). Prints each recipient's verdict and how much
 * of the pool the engine used. */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <smtpc.h>

/* --- a fixed pool: everything the engine allocates comes from here --- */

typedef struct pool {
    _Alignas(16) unsigned char mem[12288];
    size_t used, peak;
} pool;

static void *pool_alloc(void *user, size_t size)
{
    pool *p = user;
    size = (size + 15) & ~(size_t)15;
    if (size > sizeof p->mem - p->used)
        return NULL; /* the engine reports SMTPC_ENOMEM */
    void *block = p->mem + p->used;
    p->used += size;
    if (p->used > p->peak)
        p->peak = p->used;
    return block;
}

static void pool_free(void *user, void *ptr, size_t size)
{
    /* A bump pool: only the most recent block can be given back. */
    pool *p = user;
    size = (size + 15) & ~(size_t)15;
    if ((unsigned char *)ptr + size == p->mem + p->used)
        p->used -= size;
}

/* --- "platform I/O": bytes moved, 0 when closed, -1 on error/timeout --- */

static int net_send(int fd, const uint8_t *p, size_t n, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return -1;
    ssize_t sent = send(fd, p, n, MSG_NOSIGNAL);
    return sent < 0 ? -1 : (int)sent;
}

static int net_recv(int fd, uint8_t *p, size_t cap, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return -1;
    ssize_t got = recv(fd, p, cap, 0);
    return got < 0 ? -1 : (int)got;
}

/* "platform clock": a monotonic millisecond count. */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the engine until the operation ends. Returns its result. */
static int drive(smtpc_engine *e, int fd, const uint8_t *body, size_t len)
{
    uint8_t in[256];
    long long deadline = -1; /* for the reply being read; -1: not reading */
    uint32_t replies = 0;
    for (;;) {
        int want = smtpc_engine_want(e);
        if (want != SMTPC_WANT_READ)
            deadline = -1;
        switch (want) {
        case SMTPC_WANT_WRITE: {
            const uint8_t *p;
            size_t n;
            smtpc_engine_output(e, &p, &n);
            int sent = net_send(fd, p, n, smtpc_engine_timeout_ms(e));
            if (sent <= 0)
                return smtpc_engine_abort(e, SMTPC_EIO, "send failed or timed out");
            smtpc_engine_output_done(e, (size_t)sent);
            break;
        }
        case SMTPC_WANT_READ: {
            /* The timeout bounds the whole reply, not each recv: a server
             * that drips a byte now and then must still time out. The
             * deadline starts over when a reply completes. */
            int limit = smtpc_engine_timeout_ms(e);
            if (deadline < 0 || replies != smtpc_engine_reply_count(e)) {
                replies = smtpc_engine_reply_count(e);
                deadline = now_ms() + limit;
            }
            long long left = deadline - now_ms();
            if (limit >= 0 && left <= 0)
                return smtpc_engine_abort(e, SMTPC_ETIMEDOUT, "no complete reply in time");
            int got = net_recv(fd, in, sizeof in, limit < 0 ? -1 : (int)left);
            if (got <= 0)
                return smtpc_engine_abort(e, got == 0 ? SMTPC_ECLOSED : SMTPC_ETIMEDOUT,
                                          "receive failed");
            smtpc_engine_feed(e, in, (size_t)got);
            break;
        }
        case SMTPC_WANT_BODY: {
            size_t took = 0;
            int rc = len ? smtpc_engine_body_write(e, body, len, &took)
                         : smtpc_engine_body_end(e);
            if (rc)
                return rc;
            body += took; /* fewer bytes are taken when the output buffer is full */
            len -= took;
            break;
        }
        case SMTPC_WANT_TLS:
            /* Here you would wrap the connection (smtpc_transport_new_tls over
             * smtpc_transport_new_callbacks), run smtpc_transport_handshake
             * and call smtpc_engine_tls_done with its result. */
            smtpc_engine_tls_done(e, 0, SMTPC_ENOTSUP, "this example has no TLS");
            break;
        default: /* SMTPC_WANT_IDLE: done; SMTPC_WANT_CLOSE: session over */
            return smtpc_engine_result(e);
        }
    }
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT FROM RCPT\n", argv[0]);
        return 2;
    }
    static pool heap;
    const smtpc_allocator alloc = {pool_alloc, pool_free, &heap};
    const char *rcpts[] = {argv[4]};
    static const char body[] = "Subject: from the engine loop\r\n"
                               "\r\n"
                               "Sent by a driver of its own, from a fixed memory pool.\r\n";

    int fd = connect_to(argv[1], argv[2]);
    if (fd < 0) {
        fprintf(stderr, "cannot connect to %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    smtpc_engine *e = NULL;
    /* The smallest buffers: 1 KiB of output, 512-byte reply lines. */
    int rc = smtpc_engine_new(&alloc, "engine-loop.example", 1024, 512, &e);
    if (rc == SMTPC_OK)
        rc = smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN);
    if (rc == SMTPC_OK)
        rc = smtpc_engine_begin_session(e);
    if (rc == SMTPC_OK)
        rc = drive(e, fd, NULL, 0);
    if (rc == SMTPC_OK)
        rc = smtpc_engine_begin_mail(e, argv[3], rcpts, 1, (int64_t)(sizeof body - 1), 0);
    if (rc == SMTPC_OK)
        rc = drive(e, fd, (const uint8_t *)body, sizeof body - 1);
    if (e && smtpc_engine_rcpt_reply_code(e, 0))
        printf("%s: %d %s\n", rcpts[0], smtpc_engine_rcpt_reply_code(e, 0),
               smtpc_engine_rcpt_reply_text(e, 0));
    /* The error record's message says what failed, with the server's
     * reply; smtpc_strerror(rc) would only repeat it. */
    if (rc != SMTPC_OK)
        fprintf(stderr, "failed: %s\n",
                e ? smtpc_error_message(smtpc_engine_error(e)) : smtpc_strerror(rc));
    else
        printf("message accepted\n");
    if (e && smtpc_engine_begin_quit(e) == SMTPC_OK)
        drive(e, fd, NULL, 0);
    printf("engine memory: %zu bytes at peak from a %zu-byte pool\n", heap.peak,
           sizeof heap.mem);
    smtpc_engine_free(e);
    close(fd);
    return rc == SMTPC_OK ? 0 : 1;
}
