/* poll_many: send N messages over K connections at once, from one thread,
 * with the client's non-blocking mode and poll(2).
 *
 *   poll_many [options] HOST PORT N K
 *
 * Options:
 *   --plain          no TLS at all (a local test server); the default is
 *                    STARTTLS, required, with the certificate verified
 *   --implicit       TLS from the first byte (port 465)
 *   --cafile FILE    trust only the CA certificates in FILE
 *   --from ADDR      envelope sender (default sender@example.org)
 *   --to ADDR        the recipient of every message (default rcpt@example.org)
 *   -v               show every conversation on stderr, "[k]" in front
 *
 * Message i (1..N) goes over connection (i - 1) % K + 1. Each connection
 * connects, sends its share with one smtpc_client_send_batch (pipelined
 * when the server offers PIPELINING) and quits; all of them run side by
 * side in one poll loop, each waiting for what smtpc_client_events and
 * smtpc_client_timeout say. Name resolution blocks (getaddrinfo): give an
 * address literal, or resolve in your own loop, where that matters.
 *
 * Exit status: 0 when every message was accepted, 1 otherwise, 2 on a
 * usage error. The last line of stdout is a summary.
 */
#include <smtpc.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: poll_many [--plain|--implicit] [--cafile FILE] [--from ADDR] [--to ADDR] [-v]\n"
    "                 HOST PORT N K\n";

#define MAX_MESSAGES 100000
#define MAX_CONNECTIONS 1000
/* No message text below is longer (the addresses are checked against it). */
#define MESSAGE_CAP 768

struct options {
    int security, verbose;
    const char *cafile, *host, *port, *from, *to;
    long n, k;
};

/* What a connection is doing; each phase is one operation of the client. */
enum phase { CONNECTING, SENDING, QUITTING, DONE };

struct conn {
    int id; /* 1..K, as printed */
    smtpc_client *c;
    enum phase phase;
    smtpc_batch_item *items; /* this connection's share */
    size_t n_items;
    long first; /* message number of items[0]; then every K-th */
    long step;
    int *results; /* all N verdicts, indexed by message number - 1 */
};

static void trace(void *user, int direction, const char *text, size_t len)
{
    const struct conn *k = user;
    const char *tag = direction == SMTPC_TRACE_SEND   ? "C:"
                      : direction == SMTPC_TRACE_RECV ? "S:"
                                                      : "--";
    fprintf(stderr, "[%d] %s %.*s\n", k->id, tag, (int)len, text);
}

/* One line per failure: the error record's message says what and why, with
 * the server's reply quoted when there was one. */
static void print_error(const struct conn *k, const char *what, const smtpc_error *err)
{
    fprintf(stderr, "connection %d: %s failed: %s\n", k->id, what, smtpc_error_message(err));
}

/* The batch's verdict for one message (index is its place in this
 * connection's share). */
static void batch_done(void *user, size_t index, int result, int status, const smtpc_engine *e,
                       const smtpc_error *err)
{
    (void)status;
    (void)e;
    struct conn *k = user;
    long number = k->first + (long)index * k->step;
    k->results[number - 1] = result;
    if (result != SMTPC_OK)
        fprintf(stderr, "message %ld (connection %d) not accepted: %s\n", number, k->id,
                smtpc_error_message(err));
}

/* The previous operation of k ended with rc: start the next one. An
 * operation may finish at once (a refusal before anything was sent, or
 * replies already there), so this goes on until one is in progress or the
 * connection is done. */
static void advance(struct conn *k, int rc)
{
    while (rc != SMTPC_INPROGRESS && k->phase != DONE) {
        switch (k->phase) {
        case CONNECTING:
            if (rc != SMTPC_OK) {
                print_error(k, "connect", smtpc_client_error(k->c));
                k->phase = DONE;
                break;
            }
            k->phase = SENDING;
            rc = smtpc_client_send_batch(k->c, k->items, k->n_items, batch_done, k);
            break;
        case SENDING:
            if (rc != SMTPC_OK)
                print_error(k, "send", smtpc_client_error(k->c));
            if (!smtpc_client_connected(k->c)) {
                k->phase = DONE;
                break;
            }
            k->phase = QUITTING;
            rc = smtpc_client_quit(k->c);
            break;
        case QUITTING:
            /* QUIT is a courtesy: its failure undoes no delivered message. */
            if (rc != SMTPC_OK)
                print_error(k, "quit", smtpc_client_error(k->c));
            k->phase = DONE;
            break;
        case DONE:
            break;
        }
    }
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->security = SMTPC_SECURITY_STARTTLS;
    o->from = "sender@example.org";
    o->to = "rcpt@example.org";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--plain") == 0)
            o->security = SMTPC_SECURITY_PLAIN;
        else if (strcmp(argv[i], "--implicit") == 0)
            o->security = SMTPC_SECURITY_IMPLICIT_TLS;
        else if (strcmp(argv[i], "-v") == 0)
            o->verbose = 1;
        else if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc)
            o->cafile = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            o->from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            o->to = argv[++i];
        else
            return -1;
    }
    if (argc - i != 4)
        return -1;
    o->host = argv[i];
    o->port = argv[i + 1];
    char *end;
    o->n = strtol(argv[i + 2], &end, 10);
    if (*end || o->n < 1 || o->n > MAX_MESSAGES)
        return -1;
    o->k = strtol(argv[i + 3], &end, 10);
    if (*end || o->k < 1 || o->k > MAX_CONNECTIONS)
        return -1;
    if (strlen(o->from) + strlen(o->to) > 256)
        return -1;
    if (o->k > o->n)
        o->k = o->n; /* a connection with nothing to send is not opened */
    return 0;
}

/* Message i of n: headers, blank line, body; the line starting with a dot
 * arrives intact (the library dot-stuffs it). Returns its length. */
static size_t write_message(char *buf, const struct options *o, long i, long conn)
{
    int len = snprintf(buf, MESSAGE_CAP,
                       "From: <%s>\r\n"
                       "To: <%s>\r\n"
                       "Subject: poll_many message %ld of %ld\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=us-ascii\r\n"
                       "\r\n"
                       "This is message %ld of %ld, sent by the smtpc poll_many example\r\n"
                       "over connection %ld of %ld.\r\n"
                       ".A line that starts with a dot.\r\n",
                       o->from, o->to, i, o->n, i, o->n, conn, o->k);
    return (size_t)len;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Run every connection to its end: one poll over all of them at a time. */
static int run_loop(struct conn *conns, size_t n_conns)
{
    struct pollfd *pfds = calloc(n_conns, sizeof *pfds);
    struct conn **polled = calloc(n_conns, sizeof *polled);
    if (!pfds || !polled) {
        free(pfds);
        free(polled);
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    for (;;) {
        size_t n = 0;
        int wait_ms = -1;
        for (size_t i = 0; i < n_conns; i++) {
            struct conn *k = &conns[i];
            if (k->phase == DONE)
                continue;
            int events = smtpc_client_events(k->c);
            int ms = smtpc_client_timeout(k->c);
            pfds[n].fd = smtpc_client_fd(k->c);
            pfds[n].events = (short)(((events & SMTPC_POLL_READ) ? POLLIN : 0) |
                                     ((events & SMTPC_POLL_WRITE) ? POLLOUT : 0));
            pfds[n].revents = 0;
            /* Nothing to wait on (a transport without an fd): step at once. */
            if (pfds[n].fd < 0 || events == 0)
                ms = 0;
            if (ms >= 0 && (wait_ms < 0 || ms < wait_ms))
                wait_ms = ms;
            polled[n++] = k;
        }
        if (n == 0)
            break;
        if (poll(pfds, (nfds_t)n, wait_ms) < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        /* Step each connection whose fd is ready (an error or hang-up is
         * ready too: the step reports it) or whose deadline has come. */
        for (size_t i = 0; i < n; i++) {
            struct conn *k = polled[i];
            if (pfds[i].revents == 0 && pfds[i].fd >= 0 && pfds[i].events != 0 &&
                smtpc_client_timeout(k->c) != 0)
                continue;
            int rc = smtpc_client_step(k->c);
            if (rc != SMTPC_INPROGRESS)
                advance(k, rc);
        }
    }
    free(pfds);
    free(polled);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    if (parse_args(argc, argv, &o) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    size_t n_conns = (size_t)o.k;
    size_t n_msgs = (size_t)o.n;

    int status = 1;
    smtpc_tls_config *tls = NULL;
    char *texts = malloc(n_msgs * MESSAGE_CAP);
    smtpc_batch_item *items = calloc(n_msgs, sizeof *items);
    int *results = malloc(n_msgs * sizeof *results);
    struct conn *conns = calloc(n_conns, sizeof *conns);
    if (!texts || !items || !results || !conns) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    if (o.cafile) {
        /* One configuration serves every client (each borrows it). */
        int rc = smtpc_tls_config_new(NULL, &tls);
        if (rc == 0)
            rc = smtpc_tls_config_add_ca_file(tls, o.cafile);
        if (rc != 0) {
            fprintf(stderr, "loading %s failed: %s\n", o.cafile,
                    tls ? smtpc_error_message(smtpc_tls_config_error(tls)) : smtpc_strerror(rc));
            goto out;
        }
    }

    /* Each connection's share is contiguous in items: connection j holds
     * messages j, j + K, j + 2K, ... */
    const char *const rcpts[] = {o.to};
    size_t slot = 0;
    for (size_t j = 0; j < n_conns; j++) {
        struct conn *k = &conns[j];
        k->id = (int)j + 1;
        k->first = (long)j + 1;
        k->step = (long)n_conns;
        k->results = results;
        k->items = &items[slot];
        for (long i = k->first; i <= o.n; i += k->step, slot++) {
            char *text = texts + (size_t)(i - 1) * MESSAGE_CAP;
            items[slot].from = o.from;
            items[slot].rcpts = rcpts;
            items[slot].n_rcpts = 1;
            items[slot].body = (const uint8_t *)text;
            items[slot].body_len = write_message(text, &o, i, k->id);
            results[i - 1] = SMTPC_INPROGRESS; /* no verdict yet */
            k->n_items++;
        }
    }

    for (size_t j = 0; j < n_conns; j++) {
        struct conn *k = &conns[j];
        k->phase = DONE;
        if (smtpc_client_new(NULL, &k->c) != 0) {
            fprintf(stderr, "out of memory\n");
            goto out;
        }
        /* The settings are those of a blocking client; the mode is one more. */
        int rc = smtpc_client_set_server(k->c, o.host, o.port);
        if (rc == 0)
            rc = smtpc_client_set_security(k->c, o.security);
        if (rc == 0)
            rc = smtpc_client_set_timeout(k->c, SMTPC_TIMEOUT_CONNECT, 10000);
        if (rc == 0 && tls)
            rc = smtpc_client_set_tls_config(k->c, tls);
        if (rc == 0 && o.verbose)
            rc = smtpc_client_set_trace(k->c, trace, k);
        if (rc == 0)
            rc = smtpc_client_set_nonblocking(k->c, 1);
        if (rc != 0) {
            print_error(k, "setting up", smtpc_client_error(k->c));
            goto out;
        }
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Every connect starts before any waiting: they all proceed together. */
    for (size_t j = 0; j < n_conns; j++) {
        conns[j].phase = CONNECTING;
        advance(&conns[j], smtpc_client_connect(conns[j].c));
    }
    if (run_loop(conns, n_conns) != 0)
        goto out;
    double elapsed = seconds_since(&t0);

    size_t accepted = 0, no_verdict = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        accepted += results[i] == SMTPC_OK;
        no_verdict += results[i] == SMTPC_INPROGRESS;
    }
    printf("poll_many: %zu of %zu messages accepted (%zu never reached the server) "
           "over %zu connections from one thread in %.3f s\n",
           accepted, n_msgs, no_verdict, n_conns, elapsed);
    status = accepted == n_msgs ? 0 : 1;
out:
    for (size_t j = 0; conns && j < n_conns; j++)
        smtpc_client_free(conns[j].c);
    smtpc_tls_config_free(tls);
    free(conns);
    free(results);
    free(items);
    free(texts);
    return status;
}
