/* libuv_send: the non-blocking client inside a libuv event loop. N
 * messages over K connections, all driven by the loop's callbacks.
 *
 *   libuv_send [options] HOST PORT N K
 *
 * Options (as poll_many):
 *   --plain          no TLS at all (a local test server); the default is
 *                    STARTTLS, required, with the certificate verified
 *   --implicit       TLS from the first byte (port 465)
 *   --cafile FILE    trust only the CA certificates in FILE
 *   --from ADDR      envelope sender (default sender@example.org)
 *   --to ADDR        the recipient of every message (default rcpt@example.org)
 *   -v               show every conversation on stderr, "[k]" in front
 *
 * Each client gets a uv_poll_t on smtpc_client_fd, started for
 * smtpc_client_events, and a uv_timer_t set to smtpc_client_timeout; both
 * call smtpc_client_step, and after every call into the client they are
 * set again from what it now waits for. smtpc owns no loop and no thread.
 * Message i (1..N) goes over connection (i - 1) % K + 1, which supplies
 * its messages one by one to smtpc_client_send_each and quits when done.
 * Name resolution blocks (getaddrinfo): give an address literal, or resolve
 * with uv_getaddrinfo first, where that matters.
 *
 * Exit status: 0 when every message was accepted, 1 otherwise, 2 on a
 * usage error. The last line of stdout is a summary.
 */
#include <smtpc.h>
#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: libuv_send [--plain|--implicit] [--cafile FILE] [--from ADDR] [--to ADDR] [-v]\n"
    "                  HOST PORT N K\n";

#define MAX_MESSAGES 100000
#define MAX_CONNECTIONS 1000
/* No message text below is longer (the addresses are checked against it). */
#define MESSAGE_CAP 768

struct options {
    int security, verbose;
    const char *cafile, *host, *port, *from, *to;
    long n, k;
};

enum phase { CONNECTING, SENDING, QUITTING, DONE };

struct conn {
    int id; /* 1..K, as printed */
    smtpc_client *c;
    enum phase phase;
    const struct options *o;
    long next;          /* number of the next message to supply */
    const char *rcpts[1];
    char **texts;       /* all N messages' bytes while lent, by number - 1 */
    int *results;       /* all N verdicts, by number - 1 */
    uv_poll_t *poll;    /* NULL while nothing is watched */
    int poll_fd;
    uv_timer_t timer;
};

static void trace(void *user, int direction, const char *text, size_t len)
{
    const struct conn *k = user;
    const char *tag = direction == SMTPC_TRACE_SEND   ? "C:"
                      : direction == SMTPC_TRACE_RECV ? "S:"
                                                      : "--";
    fprintf(stderr, "[%d] %s %.*s\n", k->id, tag, (int)len, text);
}

static void print_error(const struct conn *k, const char *what)
{
    fprintf(stderr, "connection %d: %s failed: %s\n", k->id, what,
            smtpc_error_message(smtpc_client_error(k->c)));
}

/* send_each asks for the next message when it is ready for it, which with
 * PIPELINING is before the previous verdict: each verdict is matched to
 * its message by index. */
static long message_number(const struct conn *k, size_t index)
{
    return k->id + (long)index * k->o->k;
}

static int next_message(void *user, size_t index, smtpc_batch_item *item)
{
    struct conn *k = user;
    long i = message_number(k, index);
    if (i > k->o->n)
        return 0;
    /* The client borrows the bytes until the verdict: with PIPELINING it
     * asks for the next message before that, so each message has its own
     * buffer, freed in message_done. */
    char *text = malloc(MESSAGE_CAP);
    if (!text)
        return 0; /* no more messages: they stay without a verdict */
    int len = snprintf(text, MESSAGE_CAP,
                       "From: <%s>\r\n"
                       "To: <%s>\r\n"
                       "Subject: libuv_send message %ld of %ld\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=us-ascii\r\n"
                       "\r\n"
                       "This is message %ld of %ld, sent by the smtpc libuv_send example\r\n"
                       "over connection %d of %ld.\r\n"
                       ".A line that starts with a dot.\r\n",
                       k->o->from, k->o->to, i, k->o->n, i, k->o->n, k->id, k->o->k);
    k->texts[i - 1] = text;
    item->from = k->o->from;
    item->rcpts = k->rcpts;
    item->n_rcpts = 1;
    item->body = (const uint8_t *)text;
    item->body_len = (size_t)len;
    return 1;
}

static void message_done(void *user, size_t index, int result, int status,
                         const smtpc_engine *e, const smtpc_error *err)
{
    (void)status;
    (void)e;
    struct conn *k = user;
    long i = message_number(k, index);
    k->results[i - 1] = result;
    free(k->texts[i - 1]);
    k->texts[i - 1] = NULL;
    if (result != SMTPC_OK)
        fprintf(stderr, "message %ld (connection %d) not accepted: %s\n", i, k->id,
                smtpc_error_message(err));
}

/* The previous operation ended with rc: start the next one, until one is
 * in progress or the connection is done. */
static void advance(struct conn *k, int rc)
{
    while (rc != SMTPC_INPROGRESS && k->phase != DONE) {
        switch (k->phase) {
        case CONNECTING:
            if (rc != SMTPC_OK) {
                print_error(k, "connect");
                k->phase = DONE;
                break;
            }
            k->phase = SENDING;
            rc = smtpc_client_send_each(k->c, next_message, message_done, k);
            break;
        case SENDING:
            if (rc != SMTPC_OK)
                print_error(k, "send");
            if (!smtpc_client_connected(k->c)) {
                k->phase = DONE;
                break;
            }
            k->phase = QUITTING;
            rc = smtpc_client_quit(k->c);
            break;
        case QUITTING:
            if (rc != SMTPC_OK)
                print_error(k, "quit");
            k->phase = DONE;
            break;
        case DONE:
            break;
        }
    }
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void unwatch_fd(struct conn *k)
{
    if (k->poll) {
        /* Stops watching at once; the memory goes in the close callback. */
        uv_close((uv_handle_t *)k->poll, free_handle);
        k->poll = NULL;
    }
}

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);

/* Point the loop at what the client waits for now. Called after every call
 * into the client; connecting says whether that call was (or ended) the
 * connect. */
static void watch(struct conn *k, int connecting)
{
    if (k->phase == DONE) {
        unwatch_fd(k);
        uv_timer_stop(&k->timer);
        return;
    }
    int fd = smtpc_client_fd(k->c);
    int events = smtpc_client_events(k->c);
    int ms = smtpc_client_timeout(k->c);
    /* libuv must not go on watching a closed descriptor, and a connect
     * moving on to the next address closes its socket and may get the same
     * number for the new one: while connecting, the handle is made anew. */
    if (k->poll && (fd != k->poll_fd || connecting))
        unwatch_fd(k);
    if (fd >= 0 && events != 0) {
        if (!k->poll) {
            k->poll = malloc(sizeof *k->poll);
            if (!k->poll || uv_poll_init(k->timer.loop, k->poll, fd) != 0) {
                free(k->poll);
                k->poll = NULL;
                fprintf(stderr, "connection %d: cannot watch fd %d\n", k->id, fd);
                smtpc_client_free(k->c); /* closes the connection */
                k->c = NULL;
                k->phase = DONE;
                uv_timer_stop(&k->timer);
                return;
            }
            k->poll->data = k;
            k->poll_fd = fd;
        }
        uv_poll_start(k->poll,
                      ((events & SMTPC_POLL_READ) ? UV_READABLE : 0) |
                          ((events & SMTPC_POLL_WRITE) ? UV_WRITABLE : 0),
                      on_poll);
    } else {
        /* Nothing to wait on (a transport without an fd): step soon. */
        unwatch_fd(k);
        ms = 0;
    }
    if (ms >= 0)
        uv_timer_start(&k->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&k->timer);
}

static void step(struct conn *k)
{
    int connecting = k->phase == CONNECTING;
    int rc = smtpc_client_step(k->c);
    if (rc != SMTPC_INPROGRESS)
        advance(k, rc);
    watch(k, connecting);
}

/* A poll error (status < 0) is stepped too: the client reads it from the
 * socket and reports it. */
static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    step(h->data);
}

static void on_timer(uv_timer_t *t)
{
    step(t->data);
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
    /* The message text must fit struct conn's buffer. */
    if (strlen(o->from) + strlen(o->to) > 256)
        return -1;
    if (o->k > o->n)
        o->k = o->n; /* a connection with nothing to send is not opened */
    return 0;
}

static int setup(struct conn *k, const struct options *o, smtpc_tls_config *tls)
{
    if (smtpc_client_new(NULL, &k->c) != 0) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    int rc = smtpc_client_set_server(k->c, o->host, o->port);
    if (rc == 0)
        rc = smtpc_client_set_security(k->c, o->security);
    if (rc == 0)
        rc = smtpc_client_set_timeout(k->c, SMTPC_TIMEOUT_CONNECT, 10000);
    if (rc == 0 && tls)
        rc = smtpc_client_set_tls_config(k->c, tls);
    if (rc == 0 && o->verbose)
        rc = smtpc_client_set_trace(k->c, trace, k);
    if (rc == 0)
        rc = smtpc_client_set_nonblocking(k->c, 1);
    if (rc != 0) {
        print_error(k, "setting up");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    if (parse_args(argc, argv, &o) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    size_t n_conns = (size_t)o.k, n_msgs = (size_t)o.n;

    int status = 1;
    smtpc_tls_config *tls = NULL;
    uv_loop_t loop;
    int *results = malloc(n_msgs * sizeof *results);
    char **texts = calloc(n_msgs, sizeof *texts);
    struct conn *conns = calloc(n_conns, sizeof *conns);
    if (!results || !texts || !conns || uv_loop_init(&loop) != 0) {
        fprintf(stderr, "out of memory\n");
        free(results);
        free(texts);
        free(conns);
        return 1;
    }
    for (size_t i = 0; i < n_msgs; i++)
        results[i] = SMTPC_INPROGRESS; /* no verdict yet */
    for (size_t j = 0; j < n_conns; j++) {
        struct conn *k = &conns[j];
        k->id = (int)j + 1;
        k->o = &o;
        k->rcpts[0] = o.to;
        k->results = results;
        k->texts = texts;
        k->phase = DONE;
        uv_timer_init(&loop, &k->timer);
        k->timer.data = k;
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
    for (size_t j = 0; j < n_conns; j++)
        if (setup(&conns[j], &o, tls) != 0)
            goto out;

    uint64_t t0 = uv_hrtime();
    for (size_t j = 0; j < n_conns; j++) {
        struct conn *k = &conns[j];
        k->phase = CONNECTING;
        advance(k, smtpc_client_connect(k->c));
        watch(k, 1);
    }
    /* Returns when no handle is active: every connection is done. */
    uv_run(&loop, UV_RUN_DEFAULT);
    double elapsed = (double)(uv_hrtime() - t0) / 1e9;

    size_t accepted = 0, no_verdict = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        accepted += results[i] == SMTPC_OK;
        no_verdict += results[i] == SMTPC_INPROGRESS;
    }
    printf("libuv_send: %zu of %zu messages accepted (%zu never reached the server) "
           "over %zu connections from one libuv loop in %.3f s\n",
           accepted, n_msgs, no_verdict, n_conns, elapsed);
    status = accepted == n_msgs ? 0 : 1;
out:
    for (size_t j = 0; j < n_conns; j++) {
        unwatch_fd(&conns[j]);
        uv_close((uv_handle_t *)&conns[j].timer, NULL);
        smtpc_client_free(conns[j].c);
    }
    /* Let the close callbacks run before the loop and the handles go. */
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    smtpc_tls_config_free(tls);
    /* Messages lent to a client that was stopped before their verdict. */
    for (size_t i = 0; i < n_msgs; i++)
        free(texts[i]);
    free(texts);
    free(conns);
    free(results);
    return status;
}
