/* Send benchmark, many connections: COUNT small messages spread over K
 * connections, each connection sending its share with one
 * smtpc_client_send_batch and quitting.
 *
 *   bench_send_nb [--threads] HOST PORT K small [COUNT]
 *
 * Default: the non-blocking client, all K connections driven from one
 * thread by one poll loop (reported as client nb-K). --threads: K blocking
 * clients, one thread each (client threads-K), for comparison. The output
 * line is bench_report's, so bench/run-nb-bench reads it like the others;
 * getrusage(RUSAGE_SELF) counts every thread's CPU. */
#include <smtpc.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>

#include "bench_send_common.h"

#define MAX_CONNECTIONS 256

struct conn {
    smtpc_client *c;
    smtpc_batch_item *items;
    size_t n_items;
    int phase; /* 0 connecting, 1 sending, 2 quitting, 3 done */
    long bad;  /* verdicts other than "accepted" */
    int rc;    /* the first failure, or 0 */
};

static void batch_done(void *user, size_t index, int result, int status, const smtpc_engine *e,
                       const smtpc_error *err)
{
    (void)index;
    (void)status;
    (void)err;
    struct conn *k = user;
    int ok = result == SMTPC_OK && e;
    for (size_t r = 0; ok && r < smtpc_engine_rcpt_count(e); r++)
        ok = smtpc_engine_rcpt_accepted(e, r);
    k->bad += !ok;
}

static void fail(struct conn *k, const char *what, int rc)
{
    if (k->rc == 0) {
        k->rc = rc;
        fprintf(stderr, "bench_send_nb: %s: %s\n", what,
                smtpc_error_message(smtpc_client_error(k->c)));
    }
}

/* The operation before ended with rc: start the next until one runs. */
static void advance(struct conn *k, int rc)
{
    while (rc != SMTPC_INPROGRESS && k->phase < 3) {
        if (rc != SMTPC_OK) {
            fail(k, k->phase == 0 ? "connect" : k->phase == 1 ? "send" : "quit", rc);
            k->phase = 3;
        } else if (k->phase == 0) {
            k->phase = 1;
            rc = smtpc_client_send_batch(k->c, k->items, k->n_items, batch_done, k);
        } else if (k->phase == 1) {
            k->phase = 2;
            rc = smtpc_client_quit(k->c);
        } else {
            k->phase = 3;
        }
    }
}

static void run_poll(struct conn *conns, size_t n)
{
    struct pollfd pfds[MAX_CONNECTIONS];
    struct conn *polled[MAX_CONNECTIONS];
    for (size_t j = 0; j < n; j++)
        advance(&conns[j], smtpc_client_connect(conns[j].c));
    for (;;) {
        size_t m = 0;
        int wait_ms = -1;
        for (size_t j = 0; j < n; j++) {
            struct conn *k = &conns[j];
            if (k->phase == 3)
                continue;
            int ev = smtpc_client_events(k->c);
            int ms = smtpc_client_timeout(k->c);
            pfds[m].fd = smtpc_client_fd(k->c);
            pfds[m].events = (short)(((ev & SMTPC_POLL_READ) ? POLLIN : 0) |
                                     ((ev & SMTPC_POLL_WRITE) ? POLLOUT : 0));
            pfds[m].revents = 0;
            if (pfds[m].fd < 0 || ev == 0)
                ms = 0;
            if (ms >= 0 && (wait_ms < 0 || ms < wait_ms))
                wait_ms = ms;
            polled[m++] = k;
        }
        if (m == 0)
            return;
        if (poll(pfds, (nfds_t)m, wait_ms) < 0 && errno != EINTR) {
            perror("poll");
            exit(1);
        }
        for (size_t i = 0; i < m; i++) {
            struct conn *k = polled[i];
            if (pfds[i].revents == 0 && pfds[i].fd >= 0 && pfds[i].events != 0 &&
                smtpc_client_timeout(k->c) != 0)
                continue;
            int rc = smtpc_client_step(k->c);
            if (rc != SMTPC_INPROGRESS)
                advance(k, rc);
        }
    }
}

/* One blocking client's whole session, in its own thread. */
static void *run_blocking(void *arg)
{
    struct conn *k = arg;
    advance(k, smtpc_client_connect(k->c));
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 && strcmp(argv[1], "--threads") == 0;
    if (threads) {
        argv++;
        argc--;
    }
    bench_scenario s;
    long n_conns = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    if (argc < 5 || n_conns < 1 || n_conns > MAX_CONNECTIONS ||
        bench_parse(&s, argc, argv, 4) != 0 || s.big) {
        fprintf(stderr, "usage: %s [--threads] HOST PORT K small|multi [COUNT]\n", argv[0]);
        return 2;
    }
    if (n_conns > s.count)
        n_conns = s.count;
    size_t msg_len = 0;
    uint8_t *msg = bench_small_message(&s, &msg_len);
    smtpc_batch_item *items = calloc((size_t)s.count, sizeof *items);
    struct conn conns[MAX_CONNECTIONS];
    memset(conns, 0, sizeof conns);
    if (!msg || !items)
        return 1;
    for (long i = 0; i < s.count; i++) {
        items[i].from = BENCH_FROM;
        items[i].rcpts = bench_rcpts;
        items[i].n_rcpts = s.n_rcpts;
        items[i].body = msg;
        items[i].body_len = msg_len;
    }
    /* Shares differ by one message at most. */
    size_t at = 0;
    for (long j = 0; j < n_conns; j++) {
        struct conn *k = &conns[j];
        k->items = &items[at];
        k->n_items = (size_t)(s.count / n_conns + (j < s.count % n_conns));
        at += k->n_items;
        if (smtpc_client_new(NULL, &k->c) != 0)
            return 1;
        smtpc_client_set_server(k->c, argv[1], argv[2]);
        smtpc_client_set_security(k->c, SMTPC_SECURITY_PLAIN);
        if (!threads && smtpc_client_set_nonblocking(k->c, 1) != 0) {
            fail(k, "set_nonblocking", -1);
            return 1;
        }
    }

    bench_mark a, b;
    bench_mark_now(&a);
    if (threads) {
        pthread_t tids[MAX_CONNECTIONS];
        for (long j = 0; j < n_conns; j++)
            if (pthread_create(&tids[j], NULL, run_blocking, &conns[j]) != 0) {
                fprintf(stderr, "bench_send_nb: cannot start a thread\n");
                return 1;
            }
        for (long j = 0; j < n_conns; j++)
            pthread_join(tids[j], NULL);
    } else {
        run_poll(conns, (size_t)n_conns);
    }
    bench_mark_now(&b);

    int status = 0;
    long bad = 0;
    for (long j = 0; j < n_conns; j++) {
        bad += conns[j].bad;
        if (conns[j].rc != 0 || conns[j].phase != 3)
            status = 1;
        smtpc_client_free(conns[j].c);
    }
    if (bad != 0) {
        fprintf(stderr, "bench_send_nb: %ld messages not accepted for every recipient\n", bad);
        status = 1;
    }
    if (status == 0) {
        char name[32];
        snprintf(name, sizeof name, "%s-%ld", threads ? "threads" : "nb", n_conns);
        bench_report(name, &s, s.count, &a, &b);
    }
    free(items);
    free(msg);
    return status;
}
