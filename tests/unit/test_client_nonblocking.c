/* The client's non-blocking mode against the fault server, driven the way
 * an event loop drives it: poll() on smtpc_client_fd for
 * smtpc_client_events, bounded by smtpc_client_timeout, then
 * smtpc_client_step. The same scripts run through the blocking calls must
 * give the same results: one implementation of the protocol underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fault_server.h"
#include "smtpc_config.h"
#include "smtpc.h"
#include "test_alloc.h"
#include "test_tcp_transport.h"

#define GREETING "220 nb.test ESMTP\r\n"
#define EHLO_PLAIN "250-nb.test\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
#define EHLO_PIPE "250-nb.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
#define OK_MAIL "250 2.1.0 sender ok\r\n"
#define OK_RCPT "250 2.1.5 recipient ok\r\n"
#define GO_DATA "354 go ahead\r\n"
#define OK_DOT "250 2.0.0 queued as X1\r\n"
#define BYE "221 2.0.0 bye\r\n"

/* Nothing in these tests may wait longer than this without a step. */
#define MAX_WAIT_MS 2000
/* Slack allowed over a configured timeout (scheduling, valgrind). */
#define SLACK_MS 1500

static const char *const rcpts[] = {"r0@x.test", "r1@x.test"};
static const char body[] = "Subject: nb\r\n\r\nhello\r\n.a line that needs a dot\r\n";

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What one drive saw. */
typedef struct loop_stats {
    int steps;
    int max_timeout; /* the largest smtpc_client_timeout seen (-1: none) */
    int last_timeout; /* the one before the result */
    int saw_fd;      /* a descriptor was offered */
} loop_stats;

/* The event loop: wait as the client asks, step, until the result. */
static int drive(smtpc_client *c, int rc, loop_stats *st)
{
    loop_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->max_timeout = -1;
    while (rc == SMTPC_INPROGRESS) {
        int fd = smtpc_client_fd(c);
        int ev = smtpc_client_events(c);
        int ms = smtpc_client_timeout(c);
        if (ms > st->max_timeout)
            st->max_timeout = ms;
        st->last_timeout = ms;
        int wait = ms < 0 || ms > MAX_WAIT_MS ? MAX_WAIT_MS : ms;
        if (fd >= 0) {
            st->saw_fd = 1;
            assert_true(ev != 0);
            struct pollfd p = {fd, 0, 0};
            if (ev & SMTPC_POLL_READ)
                p.events |= POLLIN;
            if (ev & SMTPC_POLL_WRITE)
                p.events |= POLLOUT;
            poll(&p, 1, wait);
        } else {
            /* A transport of the user's: it knows when it can move bytes;
             * here a short sleep stands in for that. */
            poll(NULL, 0, wait < 5 ? wait : 5);
        }
        rc = smtpc_client_step(c);
        st->steps++;
    }
    return rc;
}

/* own_transport: the test gives its own (the fault server takes one
 * connection, which test_tcp_prepare would use in a build without sockets). */
static smtpc_client *new_client_with(test_heap *heap, smtpc_fault_server *fs, int nb,
                                     int timeout_ms, int own_transport)
{
    test_heap_init(heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(&heap->hook, &c), 0);
    for (int st = 0; st < SMTPC_TIMEOUT_COUNT; st++)
        assert_int_equal(smtpc_client_set_timeout(c, st, timeout_ms), 0);
    assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(fs)), 0);
    assert_int_equal(smtpc_client_set_nonblocking(c, nb), 0);
    if (!own_transport)
        assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(fs), timeout_ms), 0);
    return c;
}

static smtpc_client *new_client(test_heap *heap, smtpc_fault_server *fs, int nb, int timeout_ms)
{
    return new_client_with(heap, fs, nb, timeout_ms, 0);
}

static void finish(smtpc_client *c, test_heap *heap, smtpc_fault_server *fs, const char *name,
                   int lenient)
{
    smtpc_client_free(c);
    if (smtpc_fs_join(fs) != 0 && !lenient)
        fail_msg("%s: server script did not complete: %s\n--- client sent:\n%s", name,
                 smtpc_fs_error(fs), smtpc_fs_transcript(fs, NULL));
    if (heap->live_bytes || heap->live_blocks)
        fail_msg("%s: leak: %zu bytes in %zu blocks", name, heap->live_bytes, heap->live_blocks);
    assert_int_equal(heap->bad_frees, 0);
}

static int nb_send(smtpc_client *c, loop_stats *st)
{
    return drive(c,
                 smtpc_client_send(c, "a@x.test", rcpts, 2, (const uint8_t *)body,
                                   strlen(body)),
                 st);
}

/* --- connect, send, quit --- */

static const smtpc_fs_step slow_greeting[] = {
    /* The greeting comes late: a connect that returns at once cannot have
     * it, so SMTPC_INPROGRESS proves that the call did not wait. */
    FS_SILENT(300), FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PLAIN),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SEND(OK_MAIL),
    FS_EXPECT("RCPT TO:<r0@x.test>\r\n"), FS_SEND(OK_RCPT),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_SEND(OK_RCPT),
    FS_EXPECT("DATA\r\n"), FS_SEND(GO_DATA),
    FS_BODY, FS_SEND(OK_DOT),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE),
    FS_END,
};

static void test_connect_send_quit(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(slow_greeting, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    assert_int_equal(smtpc_client_fd(c), -1);
    assert_int_equal(smtpc_client_events(c), 0);
    long long t0 = now_ms();
    int rc = smtpc_client_connect(c);
    assert_int_equal(rc, SMTPC_INPROGRESS);
    /* It returned well before the greeting could come. */
    assert_true(now_ms() - t0 < 300);
    assert_int_equal(smtpc_client_connected(c) || smtpc_client_events(c) != 0, 1);
    loop_stats st;
    assert_int_equal(drive(c, rc, &st), 0);
    assert_true(st.steps > 0);
    assert_int_equal(st.saw_fd, !test_tcp_no_sockets());
    assert_true(smtpc_client_connected(c));
    /* Idle: the loop watches for a 421 or a close, no deadline runs. */
    assert_int_equal(smtpc_client_events(c), SMTPC_POLL_READ);
    assert_int_equal(smtpc_client_timeout(c), -1);
    assert_int_equal(smtpc_client_step(c), 0);

    assert_int_equal(nb_send(c, NULL), 0);
    smtpc_engine *e = smtpc_client_engine(c);
    assert_int_equal(smtpc_engine_message_status(e), SMTPC_MESSAGE_ACCEPTED);
    assert_int_equal(smtpc_engine_rcpt_count(e), 2);
    assert_true(smtpc_engine_rcpt_accepted(e, 0) && smtpc_engine_rcpt_accepted(e, 1));
    assert_int_equal(drive(c, smtpc_client_quit(c), NULL), 0);
    assert_false(smtpc_client_connected(c));
    assert_int_equal(smtpc_client_fd(c), -1);
    smtpc_client_free(c);
    assert_int_equal(smtpc_fs_join(fs), 0);
    if (!strstr(smtpc_fs_transcript(fs, NULL), "\r\n..a line that needs a dot\r\n.\r\n"))
        fail_msg("body not dot-stuffed or not ended:\n%s", smtpc_fs_transcript(fs, NULL));
    smtpc_fs_free(fs);
    assert_int_equal(heap.live_bytes, 0);
}

/* --- PIPELINING: MAIL, RCPTs and DATA in one write, verdicts per recipient --- */

static const smtpc_fs_step pipelined[] = {
    FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r0@x.test>\r\n"),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_EXPECT("DATA\r\n"),
    FS_SEND(OK_MAIL OK_RCPT "550 5.1.1 no such user\r\n" GO_DATA),
    FS_BODY, FS_SEND(OK_DOT),
    FS_EXPECT("RSET\r\n"), FS_SEND("250 2.0.0 reset\r\n"),
    FS_EXPECT("NOOP\r\n"), FS_SEND("250 2.0.0 ok\r\n"),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE),
    FS_END,
};

static void test_pipelining(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(pipelined, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    assert_true(smtpc_engine_capabilities(smtpc_client_engine(c)) & SMTPC_CAP_PIPELINING);
    assert_int_equal(nb_send(c, NULL), 0);
    smtpc_engine *e = smtpc_client_engine(c);
    assert_int_equal(smtpc_engine_message_status(e), SMTPC_MESSAGE_ACCEPTED);
    assert_true(smtpc_engine_rcpt_accepted(e, 0));
    assert_false(smtpc_engine_rcpt_accepted(e, 1));
    assert_int_equal(smtpc_engine_rcpt_reply_code(e, 1), 550);
    assert_string_equal(smtpc_engine_rcpt_enhanced(e, 1), "5.1.1");
    assert_int_equal(drive(c, smtpc_client_rset(c), NULL), 0);
    assert_int_equal(drive(c, smtpc_client_noop(c), NULL), 0);
    assert_int_equal(drive(c, smtpc_client_quit(c), NULL), 0);
    finish(c, &heap, fs, "pipelining", 0);
    smtpc_fs_free(fs);
}

/* --- a reply deadline fires with no further data --- */

static const smtpc_fs_step silent_after_mail[] = {
    FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PLAIN),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SILENT(6000),
    FS_END,
};

static void test_reply_deadline(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(silent_after_mail, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_MAIL, 400), 0);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    long long t0 = now_ms();
    loop_stats st;
    int rc = nb_send(c, &st);
    long long took = now_ms() - t0;
    assert_int_equal(rc, SMTPC_ETIMEDOUT);
    const smtpc_error *err = smtpc_client_error(c);
    assert_int_equal(smtpc_error_code(err), SMTPC_ETIMEDOUT);
    if (!strstr(smtpc_error_message(err), "no complete reply within 400 ms"))
        fail_msg("message: %s", smtpc_error_message(err));
    /* The loop was told when to come back: the deadline, not a poll cap. */
    assert_true(st.max_timeout > 0 && st.max_timeout <= 400);
    if (took < 350 || took > 400 + SLACK_MS)
        fail_msg("the deadline fired after %lld ms (400 set)", took);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)), SMTPC_MESSAGE_NOT_SENT);
    assert_false(smtpc_client_connected(c));
    /* The session's end is sticky, as in blocking mode. */
    assert_int_equal(smtpc_client_send(c, "a@x.test", rcpts, 2, (const uint8_t *)body, 3),
                     SMTPC_ETIMEDOUT);
    assert_int_equal(smtpc_client_step(c), SMTPC_ESTATE);
    finish(c, &heap, fs, "reply deadline", 1);
    smtpc_fs_free(fs);
}

/* --- same scripts, same results as the blocking calls --- */

typedef struct outcome {
    int connect_rc, send_rc, quit_rc;
    int code, reply_code, status, connected;
    char message[256];
} outcome;

static void run_mode(const smtpc_fs_step *script, int nb, int creds, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->send_rc = o->quit_rc = 1; /* not reached */
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(script, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, nb, 1000);
    if (creds) {
        assert_int_equal(smtpc_client_set_credentials(c, "user", "secret"), 0);
        assert_int_equal(smtpc_client_allow_plaintext_auth(c, 1), 0);
    }
    o->connect_rc = drive(c, smtpc_client_connect(c), NULL);
    if (o->connect_rc == 0) {
        o->send_rc = nb_send(c, NULL);
        o->status = smtpc_engine_message_status(smtpc_client_engine(c));
    }
    const smtpc_error *err = smtpc_client_error(c);
    o->code = smtpc_error_code(err);
    o->reply_code = smtpc_error_reply_code(err);
    /* The text without digits: ports differ from run to run. */
    size_t n = 0;
    for (const char *m = smtpc_error_message(err); *m && n + 1 < sizeof o->message; m++)
        if (*m < '0' || *m > '9')
            o->message[n++] = *m;
    o->message[n] = 0;
    if (o->connect_rc == 0 && smtpc_client_connected(c))
        o->quit_rc = drive(c, smtpc_client_quit(c), NULL);
    o->connected = smtpc_client_connected(c);
    finish(c, &heap, fs, "same results", 0);
    smtpc_fs_free(fs);
}

static void test_same_results(void **state)
{
    (void)state;
    static const smtpc_fs_step refused_all[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
        FS_EXPECT("MAIL"), FS_SEND(OK_MAIL),
        FS_EXPECT("RCPT"), FS_SEND("550 5.1.1 no\r\n"),
        FS_EXPECT("RCPT"), FS_SEND("550 5.1.1 no\r\n"),
        FS_EXPECT("RSET"), FS_SEND("250 ok\r\n"),
        FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END};
    static const smtpc_fs_step lost_verdict[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PIPE),
        FS_EXPECT("MAIL"), FS_EXPECT("RCPT"), FS_EXPECT("RCPT"), FS_EXPECT("DATA"),
        FS_SEND(OK_MAIL OK_RCPT OK_RCPT GO_DATA), FS_BODY, FS_RESET, FS_END};
    static const smtpc_fs_step shutdown_at_mail[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
        FS_EXPECT("MAIL"), FS_SEND("421 4.3.2 shutting down\r\n"), FS_CLOSE, FS_END};
    static const smtpc_fs_step bad_greeting[] = {
        FS_SEND("554 5.3.2 go away\r\n"), FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END};
    static const smtpc_fs_step closed_in_data[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PLAIN),
        FS_EXPECT("MAIL"), FS_SEND(OK_MAIL), FS_EXPECT("RCPT"), FS_SEND(OK_RCPT),
        FS_EXPECT("RCPT"), FS_SEND(OK_RCPT), FS_EXPECT("DATA"), FS_SEND(GO_DATA),
        FS_READ(5), FS_CLOSE, FS_END};
    static const smtpc_fs_step trickled[] = {
        FS_DRIP(GREETING, 2), FS_EXPECT("EHLO"), FS_DRIP(EHLO_PIPE, 1),
        FS_EXPECT("MAIL"), FS_EXPECT("RCPT"), FS_EXPECT("RCPT"), FS_EXPECT("DATA"),
        FS_DRIP(OK_MAIL OK_RCPT OK_RCPT GO_DATA, 1), FS_BODY, FS_DRIP(OK_DOT, 2),
        FS_EXPECT("QUIT"), FS_DRIP(BYE, 1), FS_END};
    /* AUTH refused: the client says goodbye (QUIT) and keeps the AUTH error. */
    static const smtpc_fs_step auth_refused[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO"),
        FS_SEND("250-nb.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"),
        FS_EXPECT("AUTH PLAIN"), FS_SEND("535 5.7.8 bad credentials\r\n"),
        FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END};
    const struct {
        const char *name;
        const smtpc_fs_step *script;
        int rc; /* the blocking result, asserted too */
        int creds;
    } cases[] = {
        {"AUTH refused", auth_refused, SMTPC_EAUTH_FAILED, 1},
        {"every recipient refused", refused_all, SMTPC_ERCPTS, 0},
        {"connection reset before the verdict", lost_verdict, SMTPC_EUNKNOWN, 0},
        {"421 at MAIL", shutdown_at_mail, SMTPC_ESHUTDOWN, 0},
        {"554 greeting", bad_greeting, SMTPC_EGREETING, 0},
        {"closed once the body is out", closed_in_data, SMTPC_EUNKNOWN, 0},
        {"replies one byte at a time", trickled, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome blocking, nb;
        run_mode(cases[i].script, 0, cases[i].creds, &blocking);
        run_mode(cases[i].script, 1, cases[i].creds, &nb);
        int got = blocking.connect_rc ? blocking.connect_rc : blocking.send_rc;
        if (got != cases[i].rc)
            fail_msg("%s: blocking result %d, expected %d (%s)", cases[i].name, got,
                     cases[i].rc, blocking.message);
        if (memcmp(&blocking, &nb, offsetof(outcome, message)) != 0 ||
            strcmp(blocking.message, nb.message) != 0)
            fail_msg("%s: blocking %d/%d/%d code %d reply %d status %d conn %d (%s); "
                     "non-blocking %d/%d/%d code %d reply %d status %d conn %d (%s)",
                     cases[i].name, blocking.connect_rc, blocking.send_rc, blocking.quit_rc,
                     blocking.code, blocking.reply_code, blocking.status, blocking.connected,
                     blocking.message, nb.connect_rc, nb.send_rc, nb.quit_rc, nb.code,
                     nb.reply_code, nb.status, nb.connected, nb.message);
    }
}

/* --- SMTPC_ESTATE rules, and the idle session watched by the loop --- */

/* The 421 waits behind a gate the test opens once the connect is done: a
 * 421 arriving with the EHLO reply (a client slow to read it) rightly
 * fails the connect, which leaves no idle session to watch. */
static const smtpc_fs_step idle_421[] = {
    FS_SILENT(300), FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PLAIN),
    FS_GATE, FS_SILENT(100), FS_SEND("421 4.3.2 shutting down now\r\n"), FS_CLOSE,
    FS_END,
};

static void test_state_rules(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(idle_421, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    /* Nothing runs, no session: nothing to step. */
    assert_int_equal(smtpc_client_step(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_timeout(c), -1);
    int rc = smtpc_client_connect(c);
    assert_int_equal(rc, SMTPC_INPROGRESS);
    /* One operation at a time; the one running is not disturbed. */
    assert_int_equal(smtpc_client_send(c, "a@x.test", rcpts, 2, (const uint8_t *)body, 3),
                     SMTPC_ESTATE);
    if (!strstr(smtpc_error_message(smtpc_client_error(c)), "another operation is running"))
        fail_msg("message: %s", smtpc_error_message(smtpc_client_error(c)));
    assert_int_equal(smtpc_client_connect(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_quit(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_noop(c), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_set_nonblocking(c, 0), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", "25"), SMTPC_ESTATE);
    assert_int_equal(drive(c, rc, NULL), 0);
    smtpc_fs_open_gate(fs);
    assert_int_equal(smtpc_client_set_nonblocking(c, 0), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", "25"), SMTPC_ESTATE);

    /* Idle: the loop waits for READ; the 421 ends the session in a step. */
    int fd = smtpc_client_fd(c);
    assert_int_equal(smtpc_client_events(c), SMTPC_POLL_READ);
    rc = 0;
    for (long long t0 = now_ms(); rc == 0 && now_ms() - t0 < 3000;) {
        if (fd >= 0) {
            struct pollfd p = {fd, POLLIN, 0};
            poll(&p, 1, 500);
        } else {
            poll(NULL, 0, 10);
        }
        rc = smtpc_client_step(c);
    }
    assert_int_equal(rc, SMTPC_ESHUTDOWN);
    assert_int_equal(smtpc_error_reply_code(smtpc_client_error(c)), 421);
    assert_false(smtpc_client_connected(c));
    assert_int_equal(smtpc_client_events(c), 0);
    assert_int_equal(smtpc_client_step(c), SMTPC_ESTATE);
    /* The next call hears why the session ended, as in blocking mode. */
    assert_int_equal(smtpc_client_send(c, "a@x.test", rcpts, 2, (const uint8_t *)body, 3),
                     SMTPC_ESHUTDOWN);
    /* No session, nothing running: the mode may change again. */
    assert_int_equal(smtpc_client_set_nonblocking(c, 0), 0);
    finish(c, &heap, fs, "state rules", 0);
    smtpc_fs_free(fs);
}

/* --- a transport of the user's: no descriptor, the same driving --- */

static const smtpc_fs_step plain_session[] = {
    FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r0@x.test>\r\n"),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_EXPECT("DATA\r\n"),
    FS_SEND(OK_MAIL OK_RCPT OK_RCPT GO_DATA),
    FS_BODY, FS_SEND(OK_DOT),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE),
    FS_END,
};

static void test_callback_transport(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(plain_session, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client_with(&heap, fs, 1, 5000, 1);
    smtpc_transport *t = NULL;
    char why[256];
    assert_int_equal(test_tcp_transport_new(&heap.hook, "127.0.0.1", smtpc_fs_port(fs), 5000,
                                            &t, why, sizeof why),
                     0);
    assert_int_equal(smtpc_client_set_transport(c, t), 0);
    loop_stats st;
    assert_int_equal(drive(c, smtpc_client_connect(c), &st), 0);
    assert_false(st.saw_fd);
    assert_int_equal(smtpc_client_fd(c), -1);
    assert_int_equal(nb_send(c, &st), 0);
    assert_false(st.saw_fd);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)),
                     SMTPC_MESSAGE_ACCEPTED);
    assert_int_equal(drive(c, smtpc_client_quit(c), NULL), 0);
    finish(c, &heap, fs, "callback transport", 0);
    smtpc_fs_free(fs);
}

/* --- a streamed body larger than the socket buffers: writes wait --- */

typedef struct gen_body {
    size_t left;
    int pieces;
} gen_body;

static int gen_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    gen_body *g = user;
    size_t n = cap < g->left ? cap : g->left;
    for (size_t i = 0; i < n; i++)
        buf[i] = (i % 64 == 63) ? '\n' : 'a';
    g->left -= n;
    g->pieces++;
    *len = n;
    return 0;
}

static const smtpc_fs_step big_body[] = {
    FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r0@x.test>\r\n"),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_EXPECT("DATA\r\n"),
    FS_SEND(OK_MAIL OK_RCPT OK_RCPT GO_DATA),
    /* Not reading for a while (beyond the socket buffers' 4 MiB, even
     * under valgrind): the client's writes must wait. */
    FS_SILENT(3000),
    FS_BODY, FS_SEND(OK_DOT),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE),
    FS_END,
};

static void test_stream_waits_for_writes(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(big_body, 4096);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    /* 12 MiB under valgrind takes a while: only the waits are tested here.
     * After the final dot the server still has to read and scan the
     * megabytes queued in the socket buffers before it can answer: on a
     * starved CPU that took longer than the 5 s the other stages get. */
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_MESSAGE, 120000), 0);
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_DATA_BLOCK, 20000), 0);
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_DATA_END, 60000), 0);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    gen_body g = {12u << 20, 0};
    int rc = smtpc_client_send_stream(c, "a@x.test", rcpts, 2, gen_read, &g, -1, 0);
    int saw_write = 0, steps = 0;
    while (rc == SMTPC_INPROGRESS) {
        int ev = smtpc_client_events(c);
        saw_write |= ev & SMTPC_POLL_WRITE;
        int fd = smtpc_client_fd(c);
        if (fd >= 0) {
            struct pollfd p = {fd, (short)((ev & SMTPC_POLL_READ ? POLLIN : 0) |
                                           (ev & SMTPC_POLL_WRITE ? POLLOUT : 0)),
                               0};
            poll(&p, 1, MAX_WAIT_MS);
        } else {
            poll(NULL, 0, 1);
        }
        rc = smtpc_client_step(c);
        steps++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(g.left, 0);
    assert_true(g.pieces > 1);
    if (!test_tcp_no_sockets())
        assert_true(saw_write);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)),
                     SMTPC_MESSAGE_ACCEPTED);
    assert_int_equal(drive(c, smtpc_client_quit(c), NULL), 0);
    finish(c, &heap, fs, "stream", 0);
    smtpc_fs_free(fs);
}


/* --- the whole-message and per-send deadlines, told by smtpc_client_timeout
 * (a trickling reader, which only the whole-message deadline stops, is in
 * the fault suite: its server takes half a minute to drain) --- */

static const smtpc_fs_step pipe_to_data[] = {
    FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r0@x.test>\r\n"),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_EXPECT("DATA\r\n"),
    FS_SEND(OK_MAIL OK_RCPT OK_RCPT GO_DATA),
};
#define PIPE_TO_DATA (sizeof pipe_to_data / sizeof pipe_to_data[0])

/* pipe_to_data, then tail (FS_END-terminated), into out. */
static const smtpc_fs_step *after_data(smtpc_fs_step *out, const smtpc_fs_step *tail)
{
    size_t n = 0;
    for (; n < PIPE_TO_DATA; n++)
        out[n] = pipe_to_data[n];
    for (size_t i = 0;; i++) {
        out[n++] = tail[i];
        if (tail[i].op == SMTPC_FS_END)
            break;
    }
    return out;
}

/* A transport of the test's own around the tests' TCP one, that stops
 * taking bytes a little into the body: a peer that never reads, without
 * depending on how much the kernel's socket buffers hold. Like any
 * transport it waits out the timeout it is given (0 in non-blocking mode). */
typedef struct stall_io {
    smtpc_transport *inner;
    int in_body;   /* DATA has gone */
    size_t budget; /* body bytes still taken */
} stall_io;

static int stall_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    stall_io *io = user;
    if (io->in_body && io->budget == 0) {
        if (timeout_ms > 0)
            poll(NULL, 0, timeout_ms);
        return SMTPC_ETIMEDOUT;
    }
    if (io->in_body && len > io->budget)
        len = io->budget;
    int rc = smtpc_transport_send(io->inner, buf, len, timeout_ms, sent);
    if (rc == 0 && io->in_body)
        io->budget -= *sent;
    for (size_t i = 0; rc == 0 && !io->in_body && i + 6 <= *sent; i++)
        io->in_body = memcmp(buf + i, "DATA\r\n", 6) == 0;
    return rc;
}

static int stall_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    stall_io *io = user;
    return smtpc_transport_recv(io->inner, buf, cap, timeout_ms, received);
}

static void stall_close(void *user)
{
    stall_io *io = user;
    smtpc_transport_free(io->inner);
    io->inner = NULL;
}

typedef struct deadline_case {
    const smtpc_fs_step *tail;
    int stall; /* through stall_io */
    int message_ms, block_ms;
    size_t stream_len; /* 0: the small body */
    int rc, status;
    const char *text;
} deadline_case;

static void deadline_run(const char *name, const deadline_case *d, int nb, int *max_timeout,
                         long long *took)
{
    smtpc_fs_step script[PIPE_TO_DATA + 4];
    smtpc_fault_server *fs = smtpc_fs_start(after_data(script, d->tail), 4096);
    assert_non_null(fs);
    test_heap heap;
    smtpc_client *c = new_client_with(&heap, fs, nb, 5000, d->stall);
    stall_io io = {NULL, 0, 1000};
    if (d->stall) {
        char why[256];
        smtpc_transport *t = NULL;
        assert_int_equal(test_tcp_transport_new(&heap.hook, "127.0.0.1", smtpc_fs_port(fs), 5000,
                                                &io.inner, why, sizeof why),
                         0);
        assert_int_equal(smtpc_transport_new_callbacks(&heap.hook, stall_send, stall_recv,
                                                       stall_close, &io, &t),
                         0);
        assert_int_equal(smtpc_client_set_transport(c, t), 0);
    }
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_MESSAGE, d->message_ms), 0);
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_DATA_BLOCK, d->block_ms), 0);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    gen_body g = {d->stream_len, 0};
    loop_stats st;
    long long t0 = now_ms();
    int rc = d->stream_len ? drive(c,
                                   smtpc_client_send_stream(c, "a@x.test", rcpts, 2, gen_read,
                                                            &g, (int64_t)d->stream_len, 0),
                                   &st)
                           : nb_send(c, &st);
    *took = now_ms() - t0;
    *max_timeout = st.last_timeout;
    const char *msg = smtpc_error_message(smtpc_client_error(c));
    if (rc != d->rc || !strstr(msg, d->text))
        fail_msg("%s (%s): result %d (%s), expected %d with \"%s\"", name,
                 nb ? "non-blocking" : "blocking", rc, msg, d->rc, d->text);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)), d->status);
    assert_false(smtpc_client_connected(c));
    finish(c, &heap, fs, name, 1);
    smtpc_fs_free(fs);
}

static void test_deadlines(void **state)
{
    (void)state;
    static const smtpc_fs_step not_reading[] = {FS_SILENT(5000), FS_END};
    static const smtpc_fs_step no_verdict[] = {FS_BODY, FS_SILENT(8000), FS_END};
    const struct {
        const char *name;
        deadline_case d;
    } cases[] = {
        /* no progress at all: the per-send bound */
        {"no progress in the body", {not_reading, 1, 20000, 600, (size_t)64 << 10,
                                     SMTPC_ETIMEDOUT, SMTPC_MESSAGE_NOT_SENT,
                                     "no progress within 600 ms"}},
        /* the end of data went, its reply never comes: outcome unknown */
        {"lost verdict", {no_verdict, 0, 1000, 3000, 0, SMTPC_EUNKNOWN, SMTPC_MESSAGE_UNKNOWN,
                          "whole-message deadline (SMTPC_TIMEOUT_MESSAGE, 1000 ms)"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const deadline_case *d = &cases[i].d;
        int bound = d->message_ms < d->block_ms ? d->message_ms : d->block_ms;
        int last_timeout;
        long long took;
        deadline_run(cases[i].name, d, 0, &last_timeout, &took);
        deadline_run(cases[i].name, d, 1, &last_timeout, &took);
        if (last_timeout < 0 || last_timeout > bound)
            fail_msg("%s: smtpc_client_timeout gave %d ms at the end (bound %d)", cases[i].name,
                     last_timeout, bound);
        if (took < bound - 100 || took > bound + SLACK_MS + 1000)
            fail_msg("%s: ended after %lld ms (bound %d)", cases[i].name, took, bound);
    }
}

#if SMTPC_HAVE_MAIL_CHAINING
/* --- a batch, and a built message --- */

typedef struct verdicts {
    char log[512];
    size_t len;
} verdicts;

static void on_done(void *user, size_t index, int result, int status, const smtpc_engine *e,
                    const smtpc_error *err)
{
    verdicts *v = user;
    (void)err;
    v->len += (size_t)snprintf(v->log + v->len, sizeof v->log - v->len, "%zu:%d:%d:%d;", index,
                               result, status, e ? smtpc_engine_rcpt_reply_code(e, 0) : 0);
}

static const smtpc_fs_step batch_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r0@x.test>"), FS_EXPECT("DATA"),
    FS_SEND(OK_MAIL OK_RCPT GO_DATA),
    /* the body, then the built message's envelope behind its "." */
    FS_BODY, FS_EXPECT("MAIL FROM:<alice@x.test>"), FS_EXPECT("RCPT TO:<bob@y.test>"),
    FS_EXPECT("DATA"), FS_SEND("250 q0\r\n" OK_MAIL OK_RCPT GO_DATA),
    FS_BODY, FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r1@x.test>"),
    FS_EXPECT("DATA"), FS_SEND("250 q1\r\n" OK_MAIL "550 5.1.1 no\r\n554 no valid recipients\r\n"),
    FS_EXPECT("RSET"), FS_SEND("250 ok\r\n"),
    FS_EXPECT("MAIL FROM:<alice@x.test>"), FS_EXPECT("RCPT TO:<bob@y.test>"),
    FS_EXPECT("DATA"), FS_SEND(OK_MAIL OK_RCPT GO_DATA),
    FS_BODY, FS_SEND("250 q3\r\n"),
    FS_EXPECT("QUIT"), FS_SEND(BYE), FS_END,
};

static const uint8_t raw[] = "Subject: raw\r\n\r\nraw body\r\n";
static const char *const to_r0[] = {"r0@x.test"};
static const char *const to_r1[] = {"r1@x.test"};

static void test_batch_and_message(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(batch_script, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "alice@x.test", NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, "bob@y.test", NULL), 0);
    assert_int_equal(smtpc_message_set_subject(m, "nb batch"), 0);
    assert_int_equal(smtpc_message_set_text(m, "built\n", 6, SMTPC_MEM_COPY), 0);
    smtpc_batch_item items[3] = {
        {.from = "a@x.test", .rcpts = to_r0, .n_rcpts = 1, .body = raw, .body_len = sizeof raw - 1},
        {.msg = m},
        {.from = "a@x.test", .rcpts = to_r1, .n_rcpts = 1, .body = raw, .body_len = sizeof raw - 1},
    };
    verdicts v = {{0}, 0};
    loop_stats st;
    int rc = drive(c, smtpc_client_send_batch(c, items, 3, on_done, &v), &st);
    if (rc)
        fail_msg("batch %d: %s; verdicts %s; server: %s", rc,
                 smtpc_error_message(smtpc_client_error(c)), v.log,
                 smtpc_fs_join(fs) ? smtpc_fs_error(fs) : "ok");
    assert_string_equal(v.log, "0:0:1:250;1:0:1:250;2:-64:0:550;");
    assert_int_equal(items[2].result, SMTPC_ERCPTS);
    /* The built message once more, alone. */
    assert_int_equal(drive(c, smtpc_client_send_message(c, m, NULL, NULL, 0), NULL), 0);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)),
                     SMTPC_MESSAGE_ACCEPTED);
    assert_int_equal(drive(c, smtpc_client_quit(c), NULL), 0);
    finish(c, &heap, fs, "batch", 0);
    smtpc_fs_free(fs);
    smtpc_message_free(m);
}
#endif

/* --- freeing the client mid-operation releases everything --- */

static const smtpc_fs_step stalls_at_data[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL"), FS_EXPECT("RCPT"), FS_EXPECT("DATA"),
    FS_SILENT(3000), FS_END,
};

static void test_free_mid_operation(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(stalls_at_data, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "alice@x.test", NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, "bob@y.test", NULL), 0);
    assert_int_equal(smtpc_message_set_text(m, "x\n", 2, SMTPC_MEM_COPY), 0);
    smtpc_batch_item items[2] = {{.msg = m}, {.msg = m}};
#if SMTPC_HAVE_MAIL_CHAINING
    assert_int_equal(smtpc_client_send_batch(c, items, 2, NULL, NULL), SMTPC_INPROGRESS);
#else
    /* -Dmail_chaining=false: refused before anything is sent; one message
     * stalls the same way. */
    assert_int_equal(smtpc_client_send_batch(c, items, 2, NULL, NULL), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_client_error(c)), "-Dmail_chaining=false"));
    assert_int_equal(smtpc_client_send_message(c, m, NULL, NULL, 0), SMTPC_INPROGRESS);
#endif
    finish(c, &heap, fs, "free mid-operation", 1);
    smtpc_fs_free(fs);
    smtpc_message_free(m);
}

/* --- smtpc_client_free from a callback run by a step --- */

typedef struct freer {
    smtpc_client *c;
    int freed;
    int step_rc; /* smtpc_client_step called from the callback */
} freer;

/* Frees the client when the server's 354 is traced: inside a step. */
static void free_on_354(void *user, int direction, const char *text, size_t len)
{
    freer *f = user;
    (void)direction;
    if (!f->freed && len >= 3 && memcmp(text, "354", 3) == 0) {
        f->freed = 1;
        f->step_rc = smtpc_client_step(f->c);
        smtpc_client_free(f->c);
    }
}

static const smtpc_fs_step free_script[] = {
    FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r0@x.test>\r\n"),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_EXPECT("DATA\r\n"),
    FS_GATE, FS_SILENT(100), FS_SEND(OK_MAIL OK_RCPT OK_RCPT GO_DATA),
    FS_SILENT(3000), FS_END,
};

static void test_free_in_callback(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(free_script, 0);
    assert_non_null(fs);
    smtpc_client *c = new_client(&heap, fs, 1, 5000);
    assert_int_equal(drive(c, smtpc_client_connect(c), NULL), 0);
    freer f = {c, 0, 0};
    assert_int_equal(smtpc_client_set_trace(c, free_on_354, &f), 0);
    int rc = smtpc_client_send(c, "a@x.test", rcpts, 2, (const uint8_t *)body, strlen(body));
    /* The replies come only once the send has returned (the server waits
     * for the gate: a client slow between writing DATA and looking for the
     * replies would find them there and free inside the send itself): the
     * free is asked for in a step. */
    assert_int_equal(rc, SMTPC_INPROGRESS);
    smtpc_fs_open_gate(fs);
    rc = drive(c, rc, NULL);
    assert_true(f.freed);
    assert_int_equal(f.step_rc, SMTPC_ESTATE);
    /* The client was not freed; the send stopped before the body went. */
    assert_int_equal(rc, SMTPC_ESTATE);
    const char *msg = smtpc_error_message(smtpc_client_error(c));
    if (!strstr(msg, "smtpc_client_free was called inside a callback"))
        fail_msg("message: %s", msg);
    assert_false(smtpc_client_connected(c));
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)),
                     SMTPC_MESSAGE_NOT_SENT);
    assert_int_equal(smtpc_client_step(c), SMTPC_ESTATE);
    finish(c, &heap, fs, "free in callback", 1);
    if (strstr(smtpc_fs_transcript(fs, NULL), "hello"))
        fail_msg("the body went after the free was asked for");
    smtpc_fs_free(fs);
}

/* --- several clients in one loop, one thread --- */

#define N_CLIENTS 4

/* slow_greeting, slower: the others' whole sessions fit in its silence. */
static const smtpc_fs_step slower_greeting[] = {
    FS_SILENT(1500), FS_SEND(GREETING),
    FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_PLAIN),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SEND(OK_MAIL),
    FS_EXPECT("RCPT TO:<r0@x.test>\r\n"), FS_SEND(OK_RCPT),
    FS_EXPECT("RCPT TO:<r1@x.test>\r\n"), FS_SEND(OK_RCPT),
    FS_EXPECT("DATA\r\n"), FS_SEND(GO_DATA),
    FS_BODY, FS_SEND(OK_DOT),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE),
    FS_END,
};

typedef struct conn {
    smtpc_client *c;
    smtpc_fault_server *fs;
    test_heap heap;
    int calls;      /* started: connect, send, quit */
    int rc;         /* the running call's */
    int results[3]; /* 1: not reached */
    long long done_ms; /* when the last result came */
} conn;

/* Record the call that returned its result and start the next. */
static void advance(conn *k)
{
    while (k->rc != SMTPC_INPROGRESS) {
        if (k->calls > 0)
            k->results[k->calls - 1] = k->rc;
        if (k->calls == 3 || (k->calls > 0 && k->rc != 0)) {
            k->done_ms = now_ms();
            return;
        }
        if (k->calls == 0)
            k->rc = smtpc_client_connect(k->c);
        else if (k->calls == 1)
            k->rc = smtpc_client_send(k->c, "a@x.test", rcpts, 2, (const uint8_t *)body,
                                      strlen(body));
        else
            k->rc = smtpc_client_quit(k->c);
        k->calls++;
    }
}

static void test_many_clients_one_loop(void **state)
{
    (void)state;
    conn k[N_CLIENTS];
    memset(k, 0, sizeof k);
    for (int i = 0; i < N_CLIENTS; i++) {
        /* A slow greeting for some: the others go on meanwhile. */
        k[i].fs = smtpc_fs_start(i % 2 ? slower_greeting : plain_session, 0);
        assert_non_null(k[i].fs);
        k[i].c = new_client(&k[i].heap, k[i].fs, 1, 5000);
        k[i].results[0] = k[i].results[1] = k[i].results[2] = 1;
        advance(&k[i]);
    }
    long long t0 = now_ms();
    for (;;) {
        struct pollfd p[N_CLIENTS];
        int n = 0, wait = MAX_WAIT_MS, running = 0;
        for (int i = 0; i < N_CLIENTS; i++) {
            if (k[i].rc != SMTPC_INPROGRESS)
                continue;
            running++;
            int ms = smtpc_client_timeout(k[i].c);
            if (ms >= 0 && ms < wait)
                wait = ms;
            int fd = smtpc_client_fd(k[i].c), ev = smtpc_client_events(k[i].c);
            if (fd < 0) {
                wait = wait < 5 ? wait : 5; /* a transport of the test's own */
                continue;
            }
            p[n].fd = fd;
            p[n].events = (short)((ev & SMTPC_POLL_READ ? POLLIN : 0) |
                                  (ev & SMTPC_POLL_WRITE ? POLLOUT : 0));
            p[n++].revents = 0;
        }
        if (!running)
            break;
        assert_true(now_ms() - t0 < 10000);
        poll(p, (nfds_t)n, wait);
        /* Step every client that is ready, and the rest too: a spurious
         * step is harmless, and a deadline may have passed. */
        for (int i = 0; i < N_CLIENTS; i++) {
            if (k[i].rc != SMTPC_INPROGRESS)
                continue;
            k[i].rc = smtpc_client_step(k[i].c);
            advance(&k[i]);
        }
    }
    for (int i = 0; i < N_CLIENTS; i += 2)
        for (int j = 1; j < N_CLIENTS; j += 2)
            if (k[i].done_ms >= k[j].done_ms)
                fail_msg("client %d (prompt server) ended after client %d (slow greeting)", i,
                         j);
    for (int i = 0; i < N_CLIENTS; i++) {
        for (int j = 0; j < 3; j++)
            if (k[i].results[j] != 0)
                fail_msg("client %d call %d: %d (%s)", i, j, k[i].results[j],
                         smtpc_error_message(smtpc_client_error(k[i].c)));
        finish(k[i].c, &k[i].heap, k[i].fs, "many clients", 0);
        if (!strstr(smtpc_fs_transcript(k[i].fs, NULL), "\r\n..a line that needs a dot\r\n"))
            fail_msg("client %d: body missing", i);
        smtpc_fs_free(k[i].fs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_send_quit),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_reply_deadline),
        cmocka_unit_test(test_same_results),
        cmocka_unit_test(test_state_rules),
        cmocka_unit_test(test_callback_transport),
        cmocka_unit_test(test_stream_waits_for_writes),
        cmocka_unit_test(test_deadlines),
#if SMTPC_HAVE_MAIL_CHAINING
        cmocka_unit_test(test_batch_and_message),
#endif
        cmocka_unit_test(test_free_mid_operation),
        cmocka_unit_test(test_free_in_callback),
        cmocka_unit_test(test_many_clients_one_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
