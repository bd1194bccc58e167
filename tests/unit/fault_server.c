/* The fault server (see fault_server.h). One thread, one connection, blocking
 * sockets with every wait bounded by poll(). */
#include "fault_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Longest the server waits for the client at any one point: far beyond any
 * timeout the tests give the client, so a hang is the client's. */
#define FS_WAIT_MS 5000
/* When the script ends the client should close promptly. */
#define FS_END_WAIT_MS 3000
#define FS_BUF_CAP 65536
#define FS_TRANSCRIPT_CAP 65536

#ifdef MSG_NOSIGNAL
#define FS_SEND_FLAGS MSG_NOSIGNAL
#else
#define FS_SEND_FLAGS 0
#endif

struct smtpc_fault_server {
    const smtpc_fs_step *script;
    int listen_fd;
    int fd;
    char port[16];
    pthread_t thread;
    int joined;

    /* How many steps have taken effect (see smtpc_fs_wait_steps), and
     * whether the thread is done; under lock, signalled by progressed. */
    pthread_mutex_t lock;
    pthread_cond_t progressed;
    size_t steps_done;
    int stopped;
    int gate_open; /* smtpc_fs_open_gate was called */
    size_t step; /* the running step's index (the server thread's own) */
    int failed;
    char error[256];

    /* Client bytes received but not yet consumed by a step. */
    char buf[FS_BUF_CAP];
    size_t buf_len;
    int eof;

    char transcript[FS_TRANSCRIPT_CAP + 1];
    size_t transcript_len;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void fail(smtpc_fault_server *fs, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fail(smtpc_fault_server *fs, const char *fmt, ...)
{
    if (fs->failed)
        return;
    fs->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fs->error, sizeof fs->error, fmt, ap);
    va_end(ap);
}

/* Wait up to ms for client bytes and append them to buf. Returns 1 when
 * bytes came, 0 on timeout, -1 on EOF or error (eof set). */
static int fill(smtpc_fault_server *fs, int ms)
{
    if (fs->eof)
        return -1;
    if (fs->buf_len == FS_BUF_CAP)
        return 0; /* a step must consume first; reading more would lose bytes */
    struct pollfd p = {.fd = fs->fd, .events = POLLIN, .revents = 0};
    int n = poll(&p, 1, ms);
    if (n == 0)
        return 0;
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    ssize_t got = recv(fs->fd, fs->buf + fs->buf_len, FS_BUF_CAP - fs->buf_len, 0);
    if (got <= 0) {
        if (got < 0 && errno == EINTR)
            return 0;
        fs->eof = 1;
        return -1;
    }
    size_t room = FS_TRANSCRIPT_CAP - fs->transcript_len;
    size_t keep = (size_t)got < room ? (size_t)got : room;
    memcpy(fs->transcript + fs->transcript_len, fs->buf + fs->buf_len, keep);
    fs->transcript_len += keep;
    fs->transcript[fs->transcript_len] = '\0';
    fs->buf_len += (size_t)got;
    return 1;
}

static void consume(smtpc_fault_server *fs, size_t n)
{
    memmove(fs->buf, fs->buf + n, fs->buf_len - n);
    fs->buf_len -= n;
}

/* Steps [0, n) have taken effect. */
static void progress(smtpc_fault_server *fs, size_t n, int stopped)
{
    pthread_mutex_lock(&fs->lock);
    if (n > fs->steps_done)
        fs->steps_done = n;
    if (stopped)
        fs->stopped = 1;
    pthread_cond_broadcast(&fs->progressed);
    pthread_mutex_unlock(&fs->lock);
}

/* Wait, bounded, until buf satisfies done(); returns its result (> 0) or 0. */
static size_t wait_for(smtpc_fault_server *fs, size_t (*done)(const smtpc_fault_server *))
{
    long long deadline = now_ms() + FS_WAIT_MS;
    for (;;) {
        size_t n = done(fs);
        if (n)
            return n;
        long long left = deadline - now_ms();
        if (left <= 0 || fill(fs, (int)left) < 0)
            return 0;
    }
}

static size_t line_end(const smtpc_fault_server *fs)
{
    const char *nl = memchr(fs->buf, '\n', fs->buf_len);
    return nl ? (size_t)(nl - fs->buf) + 1 : 0;
}

static void step_expect(smtpc_fault_server *fs, const char *prefix)
{
    size_t n = wait_for(fs, line_end);
    if (!n) {
        fail(fs, "no line from the client where \"%s\" was expected%s", prefix,
             fs->eof ? " (client closed)" : " (timed out)");
        return;
    }
    size_t plen = strlen(prefix);
    if (n < plen || strncasecmp(fs->buf, prefix, plen) != 0)
        fail(fs, "expected \"%s\", got \"%.*s\"", prefix, (int)(n > 80 ? 80 : n), fs->buf);
    consume(fs, n);
}

/* Body: everything up to CRLF.CRLF, scanned as it arrives so that a body far
 * larger than buf passes through. The DATA line's CRLF counts as the first
 * CRLF, so an empty body is just ".\r\n". */
static void step_body(smtpc_fault_server *fs)
{
    static const char end[] = "\r\n.\r\n";
    size_t matched = 2;
    long long deadline = now_ms() + FS_WAIT_MS;
    for (;;) {
        size_t i = 0;
        for (; i < fs->buf_len && matched < 5; i++) {
            char ch = fs->buf[i];
            if (ch == end[matched])
                matched++;
            else
                matched = ch == '\r' ? 1 : 0;
        }
        consume(fs, i);
        if (matched == 5)
            return;
        long long left = deadline - now_ms();
        if (left <= 0 || fill(fs, (int)left) < 0) {
            fail(fs, "the body did not end with CRLF.CRLF%s", fs->eof ? " (client closed)" : "");
            return;
        }
        deadline = now_ms() + FS_WAIT_MS; /* progress resets the wait */
    }
}

static void step_read(smtpc_fault_server *fs, size_t n)
{
    while (n) {
        size_t take = fs->buf_len < n ? fs->buf_len : n;
        consume(fs, take);
        n -= take;
        if (n && fill(fs, FS_WAIT_MS) <= 0) {
            fail(fs, "client stopped sending with %zu bytes to go", n);
            return;
        }
    }
}

static int send_all(smtpc_fault_server *fs, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fs->fd, p, n, FS_SEND_FLAGS);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void step_send(smtpc_fault_server *fs, const smtpc_fs_step *s)
{
    size_t n = s->len ? s->len : strlen(s->text);
    if (send_all(fs, s->text, n) != 0)
        fail(fs, "send failed: %s", strerror(errno));
}

static void step_drip(smtpc_fault_server *fs, const smtpc_fs_step *s)
{
    size_t n = s->len ? s->len : strlen(s->text);
    for (size_t i = 0; i < n; i++) {
        if (send_all(fs, s->text + i, 1) != 0) {
            fail(fs, "send failed: %s", strerror(errno));
            return;
        }
        if (s->ms > 0)
            sleep_ms(s->ms);
    }
}

/* Send text repeatedly; the client giving up (a failed send) ends it early,
 * which is what the test hopes for. */
static void step_flood(smtpc_fault_server *fs, const smtpc_fs_step *s)
{
    size_t n = strlen(s->text);
    long long deadline = now_ms() + s->ms;
    while (now_ms() < deadline) {
        if (send_all(fs, s->text, n) != 0)
            return;
        while (fill(fs, 0) > 0)
            consume(fs, fs->buf_len);
        if (fs->eof)
            return;
    }
}

/* A reader that keeps taking a few bytes now and then: every client send
 * makes progress, so only a limit on the whole message can stop it. The
 * bytes are dropped (not kept in the transcript): the body may be large. */
static void step_trickle(smtpc_fault_server *fs, const smtpc_fs_step *s)
{
    char chunk[4096];
    size_t want = s->len < sizeof chunk ? s->len : sizeof chunk;
    long long deadline = now_ms() + SMTPC_FS_TRICKLE_MAX_MS;
    fs->buf_len = 0;
    while (!fs->eof) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fs->fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t got = recv(fs->fd, chunk, want, 0);
        if (got == 0 || (got < 0 && errno != EINTR)) {
            fs->eof = 1;
            break;
        }
        sleep_ms(s->ms);
    }
}

/* ms from now on the clock of the condition variable. */
static struct timespec cond_deadline(int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

/* Bounded like every wait here: a test that never opens the gate fails. */
static void step_gate(smtpc_fault_server *fs)
{
    struct timespec until = cond_deadline(FS_WAIT_MS);
    pthread_mutex_lock(&fs->lock);
    int timed_out = 0;
    while (!fs->gate_open && !timed_out)
        timed_out = pthread_cond_timedwait(&fs->progressed, &fs->lock, &until) == ETIMEDOUT;
    int open = fs->gate_open;
    pthread_mutex_unlock(&fs->lock);
    if (!open)
        fail(fs, "the test did not open the gate within %d ms", FS_WAIT_MS);
}

static void step_silent(smtpc_fault_server *fs, int ms)
{
    long long deadline = now_ms() + ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return;
        /* A full buffer takes no more (the client's writes then stall, as
         * a test of a server that stops reading wants): wait, not spin,
         * which would take a core (and under valgrind, which runs one
         * thread at a time, starve the client). */
        if (fs->buf_len == FS_BUF_CAP) {
            sleep_ms(left < 20 ? (int)left : 20);
            continue;
        }
        if (fill(fs, (int)left) < 0)
            return;
    }
}

/* Read and drop client bytes until it closes (bounded): closing with unread
 * bytes would turn our FIN into a RST. */
static void drain(smtpc_fault_server *fs)
{
    long long deadline = now_ms() + FS_END_WAIT_MS;
    while (!fs->eof && now_ms() < deadline) {
        fill(fs, 100);
        consume(fs, fs->buf_len);
    }
}

/* how: SMTPC_FS_RESET, SMTPC_FS_CLOSE (FIN first) or SMTPC_FS_END (the
 * client is expected to close first). */
static void close_fd(smtpc_fault_server *fs, int how)
{
    if (fs->fd < 0)
        return;
    if (how == SMTPC_FS_RESET) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fs->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        if (how == SMTPC_FS_CLOSE) {
            shutdown(fs->fd, SHUT_WR);
            progress(fs, fs->step + 1, 0); /* the FIN is out; draining may go on */
        }
        drain(fs);
    }
    close(fs->fd);
    fs->fd = -1;
}

static int accept_client(smtpc_fault_server *fs)
{
    struct pollfd p = {.fd = fs->listen_fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, FS_WAIT_MS) <= 0) {
        fail(fs, "no client connected");
        return -1;
    }
    fs->fd = accept(fs->listen_fd, NULL, NULL);
    if (fs->fd < 0) {
        fail(fs, "accept: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fs->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

static void *serve(void *arg)
{
    smtpc_fault_server *fs = arg;
    if (accept_client(fs) != 0) {
        progress(fs, 0, 1);
        return NULL;
    }
    for (const smtpc_fs_step *s = fs->script; !fs->failed && fs->fd >= 0; s++) {
        fs->step = (size_t)(s - fs->script);
        switch (s->op) {
        case SMTPC_FS_EXPECT: step_expect(fs, s->text); break;
        case SMTPC_FS_SEND: step_send(fs, s); break;
        case SMTPC_FS_DRIP: step_drip(fs, s); break;
        case SMTPC_FS_BODY: step_body(fs); break;
        case SMTPC_FS_READ: step_read(fs, s->len); break;
        case SMTPC_FS_SILENT: step_silent(fs, s->ms); break;
        case SMTPC_FS_FLOOD: step_flood(fs, s); break;
        case SMTPC_FS_TRICKLE: step_trickle(fs, s); break;
        case SMTPC_FS_GATE: step_gate(fs); break;
        case SMTPC_FS_RESET: close_fd(fs, SMTPC_FS_RESET); break;
        case SMTPC_FS_CLOSE: close_fd(fs, SMTPC_FS_CLOSE); break;
        default: close_fd(fs, SMTPC_FS_END); break;
        }
        if (!fs->failed)
            progress(fs, fs->step + 1, 0);
    }
    close_fd(fs, SMTPC_FS_END);
    progress(fs, 0, 1);
    return NULL;
}

smtpc_fault_server *smtpc_fs_start(const smtpc_fs_step *script, int rcvbuf)
{
    smtpc_fault_server *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->script = script;
    fs->fd = -1;
    fs->listen_fd = -1;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        free(fs);
        return NULL;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int cond_rc = pthread_cond_init(&fs->progressed, &ca);
    pthread_condattr_destroy(&ca);
    if (cond_rc != 0) {
        free(fs);
        return NULL;
    }
    pthread_mutex_init(&fs->lock, NULL);
    fs->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fs->listen_fd < 0)
        goto fail;
    int one = 1;
    setsockopt(fs->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rcvbuf > 0) /* inherited by the accepted socket; must precede listen */
        setsockopt(fs->listen_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fs->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(fs->listen_fd, 1) != 0 ||
        getsockname(fs->listen_fd, (struct sockaddr *)&sa, &len) != 0)
        goto fail;
    snprintf(fs->port, sizeof fs->port, "%u", (unsigned)ntohs(sa.sin_port));
    if (pthread_create(&fs->thread, NULL, serve, fs) != 0)
        goto fail;
    return fs;
fail:
    if (fs->listen_fd >= 0)
        close(fs->listen_fd);
    pthread_cond_destroy(&fs->progressed);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
    return NULL;
}

const char *smtpc_fs_port(const smtpc_fault_server *fs)
{
    return fs->port;
}

int smtpc_fs_join(smtpc_fault_server *fs)
{
    if (!fs->joined) {
        pthread_join(fs->thread, NULL);
        fs->joined = 1;
        close(fs->listen_fd);
        fs->listen_fd = -1;
    }
    return fs->failed ? -1 : 0;
}

int smtpc_fs_wait_steps(smtpc_fault_server *fs, size_t n, int ms)
{
    struct timespec until = cond_deadline(ms);
    pthread_mutex_lock(&fs->lock);
    int timed_out = 0;
    while (fs->steps_done < n && !fs->stopped && !timed_out)
        timed_out = pthread_cond_timedwait(&fs->progressed, &fs->lock, &until) == ETIMEDOUT;
    int rc = fs->steps_done >= n ? 0 : -1;
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

void smtpc_fs_open_gate(smtpc_fault_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    fs->gate_open = 1;
    pthread_cond_broadcast(&fs->progressed);
    pthread_mutex_unlock(&fs->lock);
}

const char *smtpc_fs_error(const smtpc_fault_server *fs)
{
    return fs->error;
}

const char *smtpc_fs_transcript(const smtpc_fault_server *fs, size_t *len)
{
    if (len)
        *len = fs->transcript_len;
    return fs->transcript;
}

int smtpc_fs_received(const smtpc_fault_server *fs, const char *text)
{
    return strstr(fs->transcript, text) != NULL;
}

void smtpc_fs_free(smtpc_fault_server *fs)
{
    if (!fs)
        return;
    smtpc_fs_join(fs);
    pthread_cond_destroy(&fs->progressed);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}
