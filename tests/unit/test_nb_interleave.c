/* Several non-blocking clients in one poll() loop (issue 11), each against
 * its own fault server: while one server is silent for seconds, another
 * reads the body a few bytes at a time, a third says 421 in the middle of
 * the transaction and a fourth while its client is idle, the others must
 * finish their sessions unaffected, long before the slow ones, with the
 * results the blocking client gives for the same scripts. Every call is
 * checked not to wait for the network (nb_drive.c); a client is stepped
 * only when poll says its descriptor is ready or its deadline has passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_server.h"
#include "nb_drive.h"
#include "smtpc/client.h"
#include "test_alloc.h"
#include "test_tcp_transport.h"

#define N_RCPTS 3
#define MAX_PEERS 8
/* The whole scenario, slow servers included, ends well within this. */
#define SCENARIO_LIMIT_MS 20000

static const char *const rcpts[N_RCPTS] = {"r0@x.test", "r1@x.test", "r2@x.test"};
static const char body[] = "Subject: interleaved\r\n\r\nhello\r\n.a line that needs a dot\r\n";

#define GREETING "220 nb.test ESMTP\r\n"
#define EHLO_PLAIN "250-nb.test\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
#define EHLO_PIPE "250-nb.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
#define OK_MAIL "250 2.1.0 sender ok\r\n"
#define OK_RCPT "250 2.1.5 recipient ok\r\n"
#define GO_DATA "354 go ahead\r\n"
#define OK_DOT "250 2.0.0 queued\r\n"
#define BYE "221 2.0.0 bye\r\n"
#define SHUTDOWN "421 4.3.2 shutting down now\r\n"

#define ONE_BY_ONE_UNTIL_DATA                                                                  \
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SEND(OK_MAIL), FS_EXPECT("RCPT TO:<r0@x.test>"),     \
        FS_SEND(OK_RCPT), FS_EXPECT("RCPT TO:<r1@x.test>"), FS_SEND(OK_RCPT),                 \
        FS_EXPECT("RCPT TO:<r2@x.test>"), FS_SEND(OK_RCPT), FS_EXPECT("DATA\r\n")

/* Fast: one command at a time, every reply at once. */
static const smtpc_fs_step fast[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN), ONE_BY_ONE_UNTIL_DATA,
    FS_SEND(GO_DATA), FS_BODY, FS_SEND(OK_DOT), FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END};

/* Fast, pipelined, every reply dripped a byte per ms, one recipient refused. */
static const smtpc_fs_step dripping[] = {
    FS_DRIP(GREETING, 1), FS_EXPECT("EHLO"), FS_DRIP(EHLO_PIPE, 1),
    FS_EXPECT("MAIL"), FS_EXPECT("RCPT"), FS_EXPECT("RCPT"), FS_EXPECT("RCPT"),
    FS_EXPECT("DATA"),
    FS_DRIP(OK_MAIL OK_RCPT "550 5.1.1 no such user\r\n" OK_RCPT GO_DATA, 1),
    FS_BODY, FS_DRIP(OK_DOT, 1), FS_EXPECT("QUIT"), FS_DRIP(BYE, 1), FS_END};

/* Slow: silent for 3 s before the 354, then fine. */
#define SLOW_MS 3000
static const smtpc_fs_step silent_3s[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN), ONE_BY_ONE_UNTIL_DATA,
    FS_SILENT(SLOW_MS), FS_SEND(GO_DATA), FS_BODY, FS_SEND(OK_DOT), FS_EXPECT("QUIT"),
    FS_SEND(BYE), FS_END};

/* 421 instead of the second recipient's reply. */
static const smtpc_fs_step shutdown_mid[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SEND(OK_MAIL), FS_EXPECT("RCPT TO:<r0@x.test>"),
    FS_SEND(OK_RCPT), FS_EXPECT("RCPT TO:<r1@x.test>"), FS_SEND(SHUTDOWN), FS_CLOSE, FS_END};

/* Reads the body 4 KiB every 5 ms (under 1 MB/s, so a 64 MiB body takes
 * over a minute): only the whole-message deadline ends it. (Faster than the
 * fault suite's 64 bytes, so that what the client had queued in the kernel
 * when it gave up drains in a moment and the server's thread ends.) */
static const smtpc_fs_step trickle[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN), ONE_BY_ONE_UNTIL_DATA,
    FS_SEND(GO_DATA), FS_TRICKLE(4096, 5), FS_END};

/* The client stays connected and idle; the server goes away with a 421.
 * Only once the client is idle (the loop opens the gate): a 421 arriving
 * with the EHLO reply, at a client slow to read it, rightly fails the
 * connect instead. */
static const smtpc_fs_step idle_421[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN), FS_GATE, FS_SILENT(300),
    FS_SEND(SHUTDOWN), FS_CLOSE, FS_END};

enum { PH_CONNECT, PH_SEND, PH_QUIT, PH_IDLE, PH_DONE };

typedef struct {
    size_t left;
} gen_body;

static int gen_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    gen_body *g = user;
    size_t n = cap < g->left ? cap : g->left;
    for (size_t i = 0; i < n; i++)
        buf[i] = (i % 64 == 63) ? '\n' : 'a';
    g->left -= n;
    *len = n;
    return 0;
}

typedef struct peer {
    /* the scenario */
    const char *name;
    const smtpc_fs_step *script;
    int rcvbuf;
    int timeout_ms;     /* every stage */
    int message_ms;     /* SMTPC_TIMEOUT_MESSAGE; 0: the default */
    size_t stream_len;  /* > 0: send_stream of a generated body */
    int idle;           /* connect, then stay idle until the server speaks */
    /* the run */
    smtpc_fault_server *fs;
    smtpc_client *c;
    test_heap heap;
    gen_body g;
    int phase, running;
    int connect_rc, send_rc, quit_rc, idle_rc;
    int code, reply_code, status;
    int accepted[N_RCPTS], rcpt_code[N_RCPTS];
    char message[256];
    long long done_ms; /* since the servers were ready */
} peer;

static void peer_setup(peer *p)
{
    p->fs = smtpc_fs_start(p->script, p->rcvbuf);
    assert_non_null(p->fs);
    test_heap_init(&p->heap, TEST_HEAP_FAIL_ONE, 0);
    assert_int_equal(smtpc_client_new(&p->heap.hook, &p->c), 0);
    assert_int_equal(smtpc_client_set_nonblocking(p->c, 1), 0);
    assert_int_equal(smtpc_client_set_server(p->c, "127.0.0.1", smtpc_fs_port(p->fs)), 0);
    assert_int_equal(smtpc_client_set_security(p->c, SMTPC_SECURITY_PLAIN), 0);
    for (int st = 0; st < SMTPC_TIMEOUT_COUNT; st++)
        assert_int_equal(smtpc_client_set_timeout(p->c, st, p->timeout_ms), 0);
    if (p->message_ms)
        assert_int_equal(smtpc_client_set_timeout(p->c, SMTPC_TIMEOUT_MESSAGE, p->message_ms),
                         0);
    assert_int_equal(test_tcp_prepare(p->c, "127.0.0.1", smtpc_fs_port(p->fs), p->timeout_ms),
                     0);
    p->connect_rc = p->send_rc = p->quit_rc = p->idle_rc = -1000;
    p->phase = PH_CONNECT;
    p->running = 0;
}

/* Start the phase's call; returns its immediate result. */
static int peer_start(peer *p, nb_stats *st)
{
    nb_mark m;
    nb_mark_now(&m);
    int rc = 0;
    switch (p->phase) {
    case PH_CONNECT: rc = smtpc_client_connect(p->c); break;
    case PH_SEND:
        if (p->stream_len) {
            p->g.left = p->stream_len;
            rc = smtpc_client_send_stream(p->c, "a@x.test", rcpts, N_RCPTS, gen_read, &p->g,
                                          (int64_t)p->stream_len, 0);
        } else {
            rc = smtpc_client_send(p->c, "a@x.test", rcpts, N_RCPTS, (const uint8_t *)body,
                                   strlen(body));
        }
        break;
    case PH_QUIT: rc = smtpc_client_quit(p->c); break;
    default: fail_msg("%s: no call in phase %d", p->name, p->phase);
    }
    nb_check_call(&m, p->name, st);
    p->running = rc == SMTPC_INPROGRESS;
    return rc;
}

static void capture(peer *p)
{
    const smtpc_error *e = smtpc_client_error(p->c);
    p->code = smtpc_error_code(e);
    p->reply_code = smtpc_error_reply_code(e);
    snprintf(p->message, sizeof p->message, "%s", smtpc_error_message(e));
}

/* The running call ended with rc: record it and start the next one, as
 * long as calls end at once. */
static void peer_advance(peer *p, int rc, long long t0, nb_stats *st)
{
    while (rc != SMTPC_INPROGRESS) {
        p->running = 0;
        switch (p->phase) {
        case PH_CONNECT:
            p->connect_rc = rc;
            capture(p);
            p->phase = rc ? PH_DONE : p->idle ? PH_IDLE : PH_SEND;
            break;
        case PH_SEND:
            p->send_rc = rc;
            capture(p);
            p->status = smtpc_engine_message_status(smtpc_client_engine(p->c));
            for (size_t i = 0; i < N_RCPTS; i++) {
                p->accepted[i] = smtpc_engine_rcpt_accepted(smtpc_client_engine(p->c), i);
                p->rcpt_code[i] = smtpc_engine_rcpt_reply_code(smtpc_client_engine(p->c), i);
            }
            p->phase = smtpc_client_connected(p->c) ? PH_QUIT : PH_DONE;
            break;
        case PH_QUIT:
            p->quit_rc = rc;
            p->phase = PH_DONE;
            break;
        case PH_IDLE:
            if (rc == 0)
                return; /* nothing from the server yet */
            p->idle_rc = rc;
            capture(p);
            p->phase = PH_DONE;
            break;
        default: return;
        }
        if (p->phase == PH_DONE) {
            p->done_ms = nb_now_ms() - t0;
            return;
        }
        if (p->phase == PH_IDLE) {
            smtpc_fs_open_gate(p->fs);
            return;
        }
        rc = peer_start(p, st);
    }
    p->running = 1;
}

/* One loop for every peer until all are done. */
static void run_all(peer *peers, size_t n, nb_stats *st)
{
    for (size_t i = 0; i < n; i++)
        peer_setup(&peers[i]);
    long long t0 = nb_now_ms(); /* every server is ready */
    for (size_t i = 0; i < n; i++)
        peer_advance(&peers[i], peer_start(&peers[i], st), t0, st);
    for (;;) {
        struct pollfd fds[MAX_PEERS];
        size_t live = 0;
        int wait = 200; /* an idle-only loop still wakes to check its own bound */
        int tick = 0;
        for (size_t i = 0; i < n; i++) {
            peer *p = &peers[i];
            fds[i].fd = -1;
            fds[i].events = 0;
            fds[i].revents = 0;
            if (p->phase == PH_DONE)
                continue;
            live++;
            int fd = smtpc_client_fd(p->c);
            int ms = smtpc_client_timeout(p->c);
            if (p->running && ms < 0)
                fail_msg("%s: an operation in progress reports no deadline", p->name);
            if (p->phase == PH_IDLE &&
                (smtpc_client_events(p->c) != SMTPC_POLL_READ || ms != -1))
                fail_msg("%s: idle, events %d and deadline %d ms (want READ and none)",
                         p->name, smtpc_client_events(p->c), ms);
            fds[i].fd = fd;
            fds[i].events = nb_poll_events(smtpc_client_events(p->c));
            if (fd < 0)
                tick = 1; /* a callback transport: try it now and then */
            if (ms >= 0 && ms < wait)
                wait = ms;
        }
        if (live == 0)
            break;
        if (nb_now_ms() - t0 > SCENARIO_LIMIT_MS)
            fail_msg("the clients still run after %d ms", SCENARIO_LIMIT_MS);
        if (tick && wait > NB_TICK_MS)
            wait = NB_TICK_MS;
        int ready;
        do
            ready = poll(fds, (nfds_t)n, wait);
        while (ready < 0 && errno == EINTR);
        assert_true(ready >= 0);
        for (size_t i = 0; i < n; i++) {
            peer *p = &peers[i];
            if (p->phase == PH_DONE)
                continue;
            /* Only a peer that can move is stepped: its descriptor is
             * ready, or its deadline has come (or it has no descriptor). */
            if (!fds[i].revents && smtpc_client_timeout(p->c) != 0 && fds[i].fd >= 0)
                continue;
            peer_advance(p, nb_step(p->c, st), t0, st);
        }
    }
}

static void peer_free(peer *p)
{
    smtpc_client_free(p->c);
    p->c = NULL;
    if (p->heap.live_bytes || p->heap.live_blocks)
        fail_msg("%s: leak: %zu bytes in %zu blocks", p->name, p->heap.live_bytes,
                 p->heap.live_blocks);
    assert_int_equal(p->heap.bad_frees, 0);
}

static void expect_rc(const peer *p, const char *what, int got, int want)
{
    if (got != want)
        fail_msg("%s: %s is %d, expected %d (client error: %s)", p->name, what, got, want,
                 p->message);
}

static void test_slow_servers_do_not_hold_up_the_others(void **state)
{
    (void)state;
    enum { FAST, DRIPPING, SLOW, SHUT, TRICKLE, IDLE, N };
    peer peers[N] = {
        [FAST] = {.name = "fast", .script = fast, .timeout_ms = 5000},
        [DRIPPING] = {.name = "dripping", .script = dripping, .timeout_ms = 5000},
        [SLOW] = {.name = "silent 3 s", .script = silent_3s, .timeout_ms = 8000},
        [SHUT] = {.name = "421 mid-session", .script = shutdown_mid, .timeout_ms = 5000},
        [TRICKLE] = {.name = "trickle", .script = trickle, .rcvbuf = 4096, .timeout_ms = 8000,
                     .message_ms = 2000, .stream_len = (size_t)64 << 20},
        [IDLE] = {.name = "421 while idle", .script = idle_421, .timeout_ms = 5000, .idle = 1},
    };
    nb_stats st = {0};
    run_all(peers, N, &st);

    /* the sessions that went well, with the blocking client's results */
    for (int i = FAST; i <= DRIPPING; i++) {
        peer *p = &peers[i];
        expect_rc(p, "connect", p->connect_rc, 0);
        expect_rc(p, "send", p->send_rc, 0);
        expect_rc(p, "quit", p->quit_rc, 0);
        expect_rc(p, "message status", p->status, SMTPC_MESSAGE_ACCEPTED);
    }
    assert_int_equal(peers[FAST].accepted[0] + peers[FAST].accepted[1] +
                         peers[FAST].accepted[2], 3);
    assert_int_equal(peers[DRIPPING].accepted[0], 1);
    assert_int_equal(peers[DRIPPING].accepted[1], 0);
    assert_int_equal(peers[DRIPPING].rcpt_code[1], 550);
    assert_int_equal(peers[DRIPPING].accepted[2], 1);
    peer *slow = &peers[SLOW];
    expect_rc(slow, "connect", slow->connect_rc, 0);
    expect_rc(slow, "send", slow->send_rc, 0);
    expect_rc(slow, "quit", slow->quit_rc, 0);
    expect_rc(slow, "message status", slow->status, SMTPC_MESSAGE_ACCEPTED);

    peer *shut = &peers[SHUT];
    expect_rc(shut, "connect", shut->connect_rc, 0);
    expect_rc(shut, "send", shut->send_rc, SMTPC_ESHUTDOWN);
    expect_rc(shut, "error code", shut->code, SMTPC_ESHUTDOWN);
    expect_rc(shut, "reply code", shut->reply_code, 421);
    expect_rc(shut, "message status", shut->status, SMTPC_MESSAGE_NOT_SENT);
    expect_rc(shut, "r0 accepted", shut->accepted[0], 1);
    expect_rc(shut, "r1 accepted", shut->accepted[1], 0);
    expect_rc(shut, "quit (never called)", shut->quit_rc, -1000);

    peer *tr = &peers[TRICKLE];
    expect_rc(tr, "connect", tr->connect_rc, 0);
    expect_rc(tr, "send", tr->send_rc, SMTPC_ETIMEDOUT);
    expect_rc(tr, "message status", tr->status, SMTPC_MESSAGE_NOT_SENT);
    if (!strstr(tr->message, "whole-message deadline"))
        fail_msg("trickle: the error does not name the whole-message deadline: %s",
                 tr->message);
    assert_true(tr->g.left > 0);

    peer *idle = &peers[IDLE];
    expect_rc(idle, "connect", idle->connect_rc, 0);
    expect_rc(idle, "idle step", idle->idle_rc, SMTPC_ESHUTDOWN);
    expect_rc(idle, "reply code", idle->reply_code, 421);
    assert_int_equal(smtpc_client_connected(idle->c), 0);

    /* Nobody waited for the slow ones: the quick sessions ended before
     * the silent server even spoke again, the slow one only after it did,
     * the trickle at its deadline. */
    if (slow->done_ms < SLOW_MS)
        fail_msg("the slow session ended after %lld ms, before its server spoke (%d ms)",
                 slow->done_ms, SLOW_MS);
    const int quick[] = {FAST, DRIPPING, SHUT, IDLE};
    for (size_t i = 0; i < sizeof quick / sizeof quick[0]; i++) {
        const peer *p = &peers[quick[i]];
        if (p->done_ms >= SLOW_MS - 500 || p->done_ms >= tr->done_ms)
            fail_msg("%s ended after %lld ms: held up by the slow sessions (silent %d ms, "
                     "trickle until %lld ms)",
                     p->name, p->done_ms, SLOW_MS, tr->done_ms);
    }
    if (tr->done_ms < 1900 || tr->done_ms > SCENARIO_LIMIT_MS / 2)
        fail_msg("trickle ended after %lld ms; its message deadline is 2000 ms", tr->done_ms);

    for (int i = 0; i < N; i++)
        peer_free(&peers[i]);
    /* The servers saw exactly their scripts (the trickle's was cut off). */
    for (int i = 0; i < N; i++) {
        peer *p = &peers[i];
        int rc = smtpc_fs_join(p->fs);
        if (i != TRICKLE && rc != 0)
            fail_msg("%s: server script did not complete: %s\n--- client sent:\n%s", p->name,
                     smtpc_fs_error(p->fs), smtpc_fs_transcript(p->fs, NULL));
        if (i == FAST && !strstr(smtpc_fs_transcript(p->fs, NULL), "\r\n..a line that needs"))
            fail_msg("fast: the body was not dot-stuffed");
        if (i == SHUT && strstr(smtpc_fs_transcript(p->fs, NULL), "QUIT"))
            fail_msg("421 mid-session: QUIT sent after 421");
        smtpc_fs_free(p->fs);
    }
    for (int i = 0; i < N; i++)
        print_message("%-18s done after %5lld ms\n", peers[i].name, peers[i].done_ms);
    print_message("%ld steps; worst call %lld ms, of which %lld ms asleep\n", st.steps,
                  st.max_call_ms, st.max_blocked_ms);
}

/* Many sessions at once, all fast: every one gets its own reply, none
 * is mixed up with another's (each server checks its own script). */
static void test_many_at_once(void **state)
{
    (void)state;
    enum { N = MAX_PEERS };
    peer peers[N];
    memset(peers, 0, sizeof peers);
    for (int i = 0; i < N; i++) {
        peers[i].name = i % 2 ? "dripping" : "fast";
        peers[i].script = i % 2 ? dripping : fast;
        peers[i].timeout_ms = 5000;
    }
    nb_stats st = {0};
    run_all(peers, N, &st);
    for (int i = 0; i < N; i++) {
        peer *p = &peers[i];
        expect_rc(p, "connect", p->connect_rc, 0);
        expect_rc(p, "send", p->send_rc, 0);
        expect_rc(p, "quit", p->quit_rc, 0);
        expect_rc(p, "message status", p->status, SMTPC_MESSAGE_ACCEPTED);
        expect_rc(p, "r1 accepted", p->accepted[1], i % 2 ? 0 : 1);
        peer_free(p);
        if (smtpc_fs_join(p->fs) != 0)
            fail_msg("peer %d (%s): server script did not complete: %s", i, p->name,
                     smtpc_fs_error(p->fs));
        smtpc_fs_free(p->fs);
    }
}

/* The call rules of the mode: it is chosen while not connected; one
 * operation at a time (another call is refused with SMTPC_ESTATE and the
 * running one goes on unharmed); a step with nothing running says
 * SMTPC_ESTATE when not connected and 0 when connected and idle. */
static const smtpc_fs_step slow_mail[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SILENT(300), FS_SEND(OK_MAIL),
    FS_EXPECT("RCPT TO:<r0@x.test>"), FS_SEND(OK_RCPT), FS_EXPECT("RCPT TO:<r1@x.test>"),
    FS_SEND(OK_RCPT), FS_EXPECT("RCPT TO:<r2@x.test>"), FS_SEND(OK_RCPT), FS_EXPECT("DATA\r\n"),
    FS_SEND(GO_DATA), FS_BODY, FS_SEND(OK_DOT), FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END};

static void test_call_rules(void **state)
{
    (void)state;
    peer p = {.name = "call rules", .script = slow_mail, .timeout_ms = 5000};
    peer_setup(&p);
    smtpc_client *c = p.c;
    nb_stats st = {0};
    nb_mark m;
    assert_int_equal(smtpc_client_step(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_fd(c), -1);
    assert_int_equal(smtpc_client_events(c), 0);
    assert_int_equal(smtpc_client_timeout(c), -1);
    /* switching back and forth is fine before connecting */
    assert_int_equal(smtpc_client_set_nonblocking(c, 0), 0);
    assert_int_equal(smtpc_client_set_nonblocking(c, 1), 0);
    nb_mark_now(&m);
    assert_int_equal(nb_finish(c, &m, smtpc_client_connect(c), &st), 0);
    if (!test_tcp_no_sockets())
        assert_true(smtpc_client_fd(c) >= 0);
    assert_int_equal(nb_step(c, &st), 0); /* idle, nothing from the server */
    assert_int_equal(smtpc_client_connected(c), 1);
    assert_int_equal(smtpc_client_set_nonblocking(c, 0), SMTPC_ESTATE);

    nb_mark_now(&m);
    int rc = smtpc_client_send(c, "a@x.test", rcpts, N_RCPTS, (const uint8_t *)body,
                               strlen(body));
    /* the server waits 300 ms before answering MAIL */
    if (rc != SMTPC_INPROGRESS)
        fail_msg("send against a server silent for 300 ms returned %d (%s), not "
                 "SMTPC_INPROGRESS",
                 rc, smtpc_error_message(smtpc_client_error(c)));
    assert_int_equal(smtpc_client_noop(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_quit(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_send(c, "a@x.test", rcpts, N_RCPTS, (const uint8_t *)body,
                                       strlen(body)),
                     SMTPC_ESTATE);
    assert_int_equal(smtpc_error_code(smtpc_client_error(c)), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_set_nonblocking(c, 0), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_connected(c), 1);
    /* the running send goes on and succeeds */
    rc = nb_finish(c, &m, rc, &st);
    if (rc != 0)
        fail_msg("the send refused a second call, then failed: %d (%s)", rc,
                 smtpc_error_message(smtpc_client_error(c)));
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)),
                     SMTPC_MESSAGE_ACCEPTED);
    nb_mark_now(&m);
    assert_int_equal(nb_finish(c, &m, smtpc_client_quit(c), &st), 0);
    assert_int_equal(smtpc_client_connected(c), 0);
    assert_int_equal(smtpc_client_step(c), SMTPC_ESTATE);
    peer_free(&p);
    if (smtpc_fs_join(p.fs) != 0)
        fail_msg("server script did not complete: %s\n--- client sent:\n%s",
                 smtpc_fs_error(p.fs), smtpc_fs_transcript(p.fs, NULL));
    /* one transaction only: the refused send wrote nothing */
    const char *first = strstr(smtpc_fs_transcript(p.fs, NULL), "MAIL FROM:");
    assert_non_null(first);
    assert_null(strstr(first + 1, "MAIL FROM:"));
    assert_null(strstr(smtpc_fs_transcript(p.fs, NULL), "NOOP"));
    smtpc_fs_free(p.fs);
}

/* Freeing a client in the middle of an operation (an application that
 * gives up) closes the connection and gives back every byte. */
static void test_free_mid_operation(void **state)
{
    (void)state;
    static const smtpc_fs_step stuck[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
        FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SILENT(3000), FS_END};
    peer p = {.name = "free mid-operation", .script = stuck, .timeout_ms = 5000};
    peer_setup(&p);
    nb_stats st = {0};
    nb_mark m;
    nb_mark_now(&m);
    assert_int_equal(nb_finish(p.c, &m, smtpc_client_connect(p.c), &st), 0);
    int rc = smtpc_client_send(p.c, "a@x.test", rcpts, N_RCPTS, (const uint8_t *)body,
                               strlen(body));
    assert_int_equal(rc, SMTPC_INPROGRESS);
    for (int i = 0; i < 3 && rc == SMTPC_INPROGRESS; i++) {
        poll(NULL, 0, 20);
        rc = nb_step(p.c, &st);
    }
    assert_int_equal(rc, SMTPC_INPROGRESS);
    long long t0 = nb_now_ms();
    peer_free(&p); /* checks the heap */
    /* the server saw the close long before its silence ended */
    assert_int_equal(smtpc_fs_join(p.fs), 0);
    if (nb_now_ms() - t0 > 2500)
        fail_msg("the server did not see the connection close (%lld ms)", nb_now_ms() - t0);
    smtpc_fs_free(p.fs);
}

/* The deadlines are the client's own (smtpc_client_set_clock): what
 * smtpc_client_timeout reports follows that clock, and a step made once
 * it says the deadline passed fails the operation at once, as the
 * blocking call would have, however little real time went by. */
typedef struct {
    int64_t now;
} fake_clock;

static int64_t fake_now(void *user)
{
    return ((fake_clock *)user)->now;
}

static void deadlines_on_clock(int64_t start)
{
    static const smtpc_fs_step mute_after_mail[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
        FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SILENT(4000), FS_END};
    peer p = {.name = "client's clock", .script = mute_after_mail, .timeout_ms = 10000};
    peer_setup(&p);
    fake_clock clock = {start};
    assert_int_equal(smtpc_client_set_clock(p.c, fake_now, &clock), 0);
    nb_stats st = {0};
    nb_mark m;
    nb_mark_now(&m);
    assert_int_equal(nb_finish(p.c, &m, smtpc_client_connect(p.c), &st), 0);
    long long t0 = nb_now_ms();
    int rc = smtpc_client_send(p.c, "a@x.test", rcpts, N_RCPTS, (const uint8_t *)body,
                               strlen(body));
    assert_int_equal(rc, SMTPC_INPROGRESS);
    /* Let MAIL reach the server and the client find nothing to read. */
    poll(NULL, 0, 50);
    assert_int_equal(nb_step(p.c, &st), SMTPC_INPROGRESS);
    int ms = smtpc_client_timeout(p.c);
    if (ms != 10000)
        fail_msg("the client's clock stands still, yet its deadline is %d ms away, not 10000",
                 ms);
    clock.now += 4000;
    ms = smtpc_client_timeout(p.c);
    if (ms != 6000)
        fail_msg("4000 ms later on the client's clock the deadline is %d ms away, not 6000",
                 ms);
    assert_int_equal(nb_step(p.c, &st), SMTPC_INPROGRESS); /* not yet */
    clock.now += 6000;
    assert_int_equal(smtpc_client_timeout(p.c), 0);
    rc = nb_step(p.c, &st);
    if (rc != SMTPC_ETIMEDOUT)
        fail_msg("a step past the deadline returned %d (%s), not SMTPC_ETIMEDOUT", rc,
                 smtpc_error_message(smtpc_client_error(p.c)));
    assert_int_equal(smtpc_error_code(smtpc_client_error(p.c)), SMTPC_ETIMEDOUT);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(p.c)),
                     SMTPC_MESSAGE_NOT_SENT);
    assert_int_equal(smtpc_client_connected(p.c), 0);
    /* far less real time than the 10 s limit or the server's silence */
    if (nb_now_ms() - t0 > 2000)
        fail_msg("the send took %lld ms of real time", nb_now_ms() - t0);
    peer_free(&p);
    smtpc_fs_free(p.fs);
}

static void test_deadlines_on_the_clients_clock(void **state)
{
    (void)state;
    deadlines_on_clock(1000000);
}

/* The client keeps its deadlines in the clock's low 32 bits (firmware
 * size): an epoch-like clock whose low bits wrap 3 s into the 10 s
 * deadline must give the same answers. */
static void test_deadlines_across_the_clocks_32_bit_wrap(void **state)
{
    (void)state;
    deadlines_on_clock(((int64_t)400 << 32) - 3000);
}

/* The watch itself (nb_drive.c): a blocking call made under it is seen
 * waiting in poll(), so that the checks of every other test mean
 * something in this build (sanitizers and valgrind included). */
static void test_the_watch_sees_a_blocking_call(void **state)
{
    (void)state;
    static const smtpc_fs_step late_greeting[] = {
        FS_SILENT(100), FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
        FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END};
    peer p = {.name = "blocking", .script = late_greeting, .timeout_ms = 5000};
    peer_setup(&p);
    assert_int_equal(smtpc_client_set_nonblocking(p.c, 0), 0);
    nb_mark m;
    nb_mark_now(&m);
    assert_int_equal(smtpc_client_connect(p.c), 0);
    int waited = nb_end_watch();
    if (waited <= 0)
        fail_msg("a blocking connect to a server 100 ms late was not seen waiting in poll()");
    assert_int_equal(smtpc_client_quit(p.c), 0);
    peer_free(&p);
    assert_int_equal(smtpc_fs_join(p.fs), 0);
    smtpc_fs_free(p.fs);
    print_message("the blocking connect waited in poll() with a timeout of %d ms\n", waited);
}

/* A listener whose accept queue is full: the kernel drops the SYNs of the
 * next connect, which then stays in progress. Returns the listener (and
 * the queued sockets in held[], -1 where unused), or -1 when the kernel
 * completed every connect. */
#define HELD 8
static int stuck_listener(char *port, size_t cap, int held[HELD])
{
    int lst = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lst >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lst, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lst, 0), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(lst, (struct sockaddr *)&sa, &len), 0);
    snprintf(port, cap, "%u", (unsigned)ntohs(sa.sin_port));
    for (int i = 0; i < HELD; i++)
        held[i] = -1;
    for (int i = 0; i < HELD; i++) {
        held[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(held[i] >= 0);
        assert_int_equal(fcntl(held[i], F_SETFL, fcntl(held[i], F_GETFL) | O_NONBLOCK), 0);
        if (connect(held[i], (struct sockaddr *)&sa, sizeof sa) == 0 || errno != EINPROGRESS)
            continue;
        struct pollfd p = {.fd = held[i], .events = POLLOUT, .revents = 0};
        if (poll(&p, 1, 300) == 0)
            return lst; /* this one hangs: so will the client's */
    }
    for (int i = 0; i < HELD; i++)
        close(held[i]);
    close(lst);
    return -1;
}

/* Connect in progress (a server that never answers the SYN): the client
 * waits for WRITE with the connect timeout as its deadline, no step
 * waits, and the result is the blocking connect's. */
static void test_connect_timeout(void **state)
{
    (void)state;
    if (test_tcp_no_sockets()) {
        /* the tests' own transport connects before the client is involved */
        print_message("not applicable: a build without sockets connects in its own transport\n");
        return;
    }
    char port[16];
    int held[HELD];
    int lst = stuck_listener(port, sizeof port, held);
    if (lst < 0)
        fail_msg("could not make a connect hang (every connect to a full queue completed)");
    const int limit = 400;
    int rc_mode[2], code_mode[2];
    for (int nb = 0; nb < 2; nb++) {
        test_heap heap;
        test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
        smtpc_client *c = NULL;
        assert_int_equal(smtpc_client_new(&heap.hook, &c), 0);
        assert_int_equal(smtpc_client_set_nonblocking(c, nb), 0);
        assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", port), 0);
        assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
        for (int st = 0; st < SMTPC_TIMEOUT_COUNT; st++)
            assert_int_equal(smtpc_client_set_timeout(c, st, 5000), 0);
        assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_CONNECT, limit), 0);
        nb_stats st = {0};
        nb_mark m;
        nb_mark_now(&m);
        int rc = smtpc_client_connect(c);
        if (nb) {
            if (rc != SMTPC_INPROGRESS)
                fail_msg("non-blocking connect to a server that never answers returned %d (%s)",
                         rc, smtpc_error_message(smtpc_client_error(c)));
            assert_true(smtpc_client_fd(c) >= 0);
            if (!(smtpc_client_events(c) & SMTPC_POLL_WRITE))
                fail_msg("connect in progress waits for events %d, not WRITE",
                         smtpc_client_events(c));
            int ms = smtpc_client_timeout(c);
            if (ms < 0 || ms > limit)
                fail_msg("connect in progress: deadline in %d ms, the limit is %d ms", ms, limit);
            rc = nb_finish(c, &m, rc, &st);
        } else {
            nb_end_watch();
        }
        long long elapsed = nb_now_ms() - m.wall_us / 1000;
        rc_mode[nb] = rc;
        code_mode[nb] = smtpc_error_code(smtpc_client_error(c));
        if (elapsed < limit - 50 || elapsed > limit + 2000)
            fail_msg("%s connect ended after %lld ms; its limit is %d ms",
                     nb ? "non-blocking" : "blocking", elapsed, limit);
        print_message("%-12s connect: %s after %lld ms (%ld steps): %s\n",
                      nb ? "non-blocking" : "blocking", smtpc_strerror(rc), elapsed, st.steps,
                      smtpc_error_message(smtpc_client_error(c)));
        assert_int_equal(smtpc_client_connected(c), 0);
        smtpc_client_free(c);
        assert_int_equal(heap.live_bytes, 0);
    }
    for (int i = 0; i < HELD; i++)
        close(held[i]);
    close(lst);
    assert_int_equal(rc_mode[0], SMTPC_ETIMEDOUT);
    assert_int_equal(rc_mode[1], rc_mode[0]);
    assert_int_equal(code_mode[1], code_mode[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_watch_sees_a_blocking_call),
        cmocka_unit_test(test_slow_servers_do_not_hold_up_the_others),
        cmocka_unit_test(test_many_at_once),
        cmocka_unit_test(test_call_rules),
        cmocka_unit_test(test_free_mid_operation),
        cmocka_unit_test(test_deadlines_on_the_clients_clock),
        cmocka_unit_test(test_deadlines_across_the_clocks_32_bit_wrap),
        cmocka_unit_test(test_connect_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
