/* nb_multi: several non-blocking clients in one poll() loop, one thread
 * (issue 11), for test_nb_multi.py.
 *
 * Usage: nb_multi --message FILE [--count N] [--timeout-ms MS] [--cafile PEM]
 *          [--from A] [--to A] SECURITY:PORT...
 *
 * One client per SECURITY:PORT (plain, starttls, tls) on 127.0.0.1, all
 * started at once: each connects, sends the message N times (even ones
 * with smtpc_client_send, odd ones streamed 7 bytes per read with
 * smtpc_client_send_stream) and quits. A client is stepped only when poll
 * says its descriptor is ready or its deadline has come. Prints one JSON
 * line per client when it is done, then one for the loop. Exit status: 0
 * every client did all, 1 something failed, 3 usage or local error. */
#include <smtpc.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver_common.h"
#include "test_tcp_transport.h"

#define MAX_CLIENTS 32
#define MAX_COUNT 64

enum { PH_CONNECT, PH_SEND, PH_QUIT, PH_DONE };

typedef struct {
    const uint8_t *data;
    size_t len, pos;
} reader;

typedef struct {
    const char *target;
    const char *port;
    int security;
    smtpc_client *c;
    int phase;
    int sent;      /* messages finished (whatever their result) */
    int connect_rc, quit_rc, quit_called;
    int rcs[MAX_COUNT];
    int encrypted;
    reader r;
    long long done_ms;
    char first_error[256]; /* the error record at the first failed call */
} conn;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Small reads, so that a body takes many steps. */
static int read_body(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    reader *r = user;
    size_t n = r->len - r->pos;
    if (n > cap)
        n = cap;
    if (n > 7)
        n = 7;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    *len = n;
    return 0;
}

typedef struct {
    const uint8_t *body;
    size_t body_len;
    int count;
    const char *from;
    const char *rcpts[1]; /* borrowed by every running send: lives as long as the plan */
} plan;

static int start(conn *k, const plan *p)
{
    const char *const *rcpts = p->rcpts;
    switch (k->phase) {
    case PH_CONNECT: return smtpc_client_connect(k->c);
    case PH_SEND:
        if (k->sent % 2 == 0)
            return smtpc_client_send(k->c, p->from, rcpts, 1, p->body, p->body_len);
        k->r = (reader){p->body, p->body_len, 0};
        /* unknown size: no SIZE parameter to get right */
        return smtpc_client_send_stream(k->c, p->from, rcpts, 1, read_body, &k->r, -1, 0);
    case PH_QUIT: return smtpc_client_quit(k->c);
    default: return 0;
    }
}

static void print_done(const conn *k)
{
    printf("{\"event\":\"client\",\"target\":");
    driver_json_string(k->target);
    printf(",\"connect\":");
    driver_json_string(driver_code_name(k->connect_rc));
    printf(",\"encrypted\":%d,\"messages\":[", k->encrypted);
    for (int i = 0; i < k->sent; i++) {
        printf("%s", i ? "," : "");
        driver_json_string(driver_code_name(k->rcs[i]));
    }
    printf("],\"quit\":");
    driver_json_string(k->quit_called ? driver_code_name(k->quit_rc) : "");
    printf(",\"done_ms\":%lld,\"first_error\":", k->done_ms);
    driver_json_string(k->first_error);
    printf("}\n");
    fflush(stdout);
}

/* rc ended the running call: record it, start the next calls until one
 * must wait. */
static void advance(conn *k, const plan *p, int rc, long long t0)
{
    while (rc != SMTPC_INPROGRESS && k->phase != PH_DONE) {
        if (rc != 0 && !k->first_error[0])
            snprintf(k->first_error, sizeof k->first_error, "%s",
                     smtpc_error_message(smtpc_client_error(k->c)));
        if (k->phase == PH_CONNECT) {
            k->connect_rc = rc;
            k->encrypted = smtpc_engine_is_encrypted(smtpc_client_engine(k->c));
            k->phase = rc ? PH_DONE : PH_SEND;
        } else if (k->phase == PH_SEND) {
            k->rcs[k->sent++] = rc;
            if (!smtpc_client_connected(k->c))
                k->phase = PH_DONE;
            else if (k->sent == p->count)
                k->phase = PH_QUIT;
        } else if (k->phase == PH_QUIT) {
            k->quit_rc = rc;
            k->quit_called = 1;
            k->phase = PH_DONE;
        }
        if (k->phase == PH_DONE) {
            k->done_ms = now_ms() - t0;
            print_done(k);
            return;
        }
        rc = start(k, p);
    }
}

static int usage(const char *why)
{
    fprintf(stderr,
            "nb_multi: %s\nusage: nb_multi --message FILE [--count N] [--timeout-ms MS] "
            "[--cafile PEM] [--from A] [--to A] SECURITY:PORT...\n",
            why);
    return 3;
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap ? cap * 2 : 4096);
            if (!bigger) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
            cap = cap ? cap * 2 : 4096;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    static conn conns[MAX_CLIENTS];
    size_t n = 0;
    plan p = {NULL, 0, 1, "sender@example.org", {"rcpt@example.org"}};
    const char *message = NULL, *cafile = NULL;
    int timeout_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] == '-' && !v)
            return usage("missing value");
        if (strcmp(a, "--message") == 0) {
            message = argv[++i];
        } else if (strcmp(a, "--count") == 0) {
            p.count = atoi(argv[++i]);
            if (p.count < 1 || p.count > MAX_COUNT)
                return usage("bad --count");
        } else if (strcmp(a, "--timeout-ms") == 0) {
            timeout_ms = atoi(argv[++i]);
        } else if (strcmp(a, "--cafile") == 0) {
            cafile = argv[++i];
        } else if (strcmp(a, "--from") == 0) {
            p.from = argv[++i];
        } else if (strcmp(a, "--to") == 0) {
            p.rcpts[0] = argv[++i];
        } else if (a[0] == '-') {
            return usage("unknown option");
        } else {
            if (n == MAX_CLIENTS)
                return usage("too many targets");
            conn *k = &conns[n++];
            k->target = a;
            const char *colon = strchr(a, ':');
            if (!colon)
                return usage("a target is SECURITY:PORT");
            char sec[32];
            snprintf(sec, sizeof sec, "%.*s", (int)(colon - a), a);
            if (driver_parse_security(sec, &k->security) < 0)
                return usage("bad security");
            k->port = colon + 1;
        }
    }
    if (!message || n == 0)
        return usage("--message and a target are required");
    uint8_t *body = load(message, &p.body_len);
    if (!body)
        return usage("cannot read --message");
    p.body = body;

    smtpc_tls_config *tls = NULL;
    int status = 0;
    if (cafile && (smtpc_tls_config_new(NULL, &tls) != 0 ||
                   smtpc_tls_config_add_ca_file(tls, cafile) != 0)) {
        fprintf(stderr, "nb_multi: cannot load %s\n", cafile);
        status = 3;
    }
    for (size_t i = 0; i < n && status == 0; i++) {
        conn *k = &conns[i];
        if (smtpc_client_new(NULL, &k->c) != 0 ||
            smtpc_client_set_server(k->c, "127.0.0.1", k->port) != 0 ||
            smtpc_client_set_security(k->c, k->security) != 0 ||
            (tls && smtpc_client_set_tls_config(k->c, tls) != 0) ||
            smtpc_client_set_nonblocking(k->c, 1) != 0) {
            fprintf(stderr, "nb_multi: cannot set up client %zu\n", i);
            status = 3;
            break;
        }
        for (int st = 0; st < SMTPC_TIMEOUT_COUNT; st++)
            smtpc_client_set_timeout(k->c, st, timeout_ms);
        /* Without the library's sockets, the tests' callback transport
         * (its connect blocks, to 127.0.0.1 only: the sessions run
         * non-blocking). */
        if (test_tcp_prepare(k->c, "127.0.0.1", k->port, timeout_ms) != 0) {
            status = 3;
            break;
        }
    }

    long steps = 0, max_step_ms = 0;
    size_t max_running = 0;
    long long t0 = now_ms();
    for (size_t i = 0; i < n && status == 0; i++)
        advance(&conns[i], &p, start(&conns[i], &p), t0);
    while (status == 0) {
        struct pollfd fds[MAX_CLIENTS];
        size_t running = 0;
        int wait = -1;
        for (size_t i = 0; i < n; i++) {
            conn *k = &conns[i];
            fds[i] = (struct pollfd){.fd = -1, .events = 0, .revents = 0};
            if (k->phase == PH_DONE)
                continue;
            running++;
            int bits = smtpc_client_events(k->c);
            fds[i].fd = smtpc_client_fd(k->c);
            if (bits & SMTPC_POLL_READ)
                fds[i].events |= POLLIN;
            if (bits & SMTPC_POLL_WRITE)
                fds[i].events |= POLLOUT;
            int ms = smtpc_client_timeout(k->c);
            if (fds[i].fd < 0 && (ms < 0 || ms > 5))
                ms = 5; /* a callback transport (no sockets): try it now and then */
            if (ms >= 0 && (wait < 0 || ms < wait))
                wait = ms;
        }
        if (running == 0)
            break;
        if (running > max_running)
            max_running = running;
        int ready;
        do
            ready = poll(fds, (nfds_t)n, wait);
        while (ready < 0 && errno == EINTR);
        if (ready < 0) {
            perror("nb_multi: poll");
            status = 3;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            conn *k = &conns[i];
            if (k->phase == PH_DONE)
                continue;
            if (!fds[i].revents && fds[i].fd >= 0 && smtpc_client_timeout(k->c) != 0)
                continue;
            long long s0 = now_ms();
            int rc = smtpc_client_step(k->c);
            long took = (long)(now_ms() - s0);
            steps++;
            if (took > max_step_ms)
                max_step_ms = took;
            advance(k, &p, rc, t0);
        }
    }
    printf("{\"event\":\"loop\",\"steps\":%ld,\"max_step_ms\":%ld,\"max_running\":%zu}\n", steps,
           max_step_ms, max_running);
    for (size_t i = 0; i < n; i++) {
        conn *k = &conns[i];
        int ok = k->c && k->connect_rc == 0 && k->sent == p.count && k->quit_called &&
                 k->quit_rc == 0;
        for (int m = 0; ok && m < k->sent; m++)
            ok = k->rcs[m] == 0;
        if (!ok && status == 0)
            status = 1;
        smtpc_client_free(k->c);
    }
    smtpc_tls_config_free(tls);
    free(body);
    return status;
}
