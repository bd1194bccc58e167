/* Allocation-failure sweep: run a scenario with the Nth allocation failing,
 * for N = 1, 2, ... until a run completes without reaching N. Every run must
 * end in success or a clean SMTPC_ENOMEM (NULL from a _new that returns a
 * pointer), leave the session usable where the API promises it, and give
 * back every byte, each block with the size it was allocated with.
 *
 * Two failure shapes: only the Nth allocation fails (recovery paths), and
 * the Nth and every later one fail (memory stays exhausted).
 *
 * Only smtpc's own allocations pass through the hook. mbedTLS allocates with
 * its own global calloc, so a sweep over a TLS or SCRAM session would count
 * the library's records (transport, configuration) but never fail one of
 * mbedTLS's: that is why these sessions run in plaintext with AUTH PLAIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpc.h"
#include "test_alloc.h"
#include "smtpc_config.h"

/* Header text that needs RFC 2047/2231 encoding in the full build; plain
 * ASCII without -Dheader_encoding, which refuses the former (test_message). */
#if SMTPC_HAVE_HEADER_ENCODING
#define FROM_NAME "Ann \xc3\x85" "berg"
#define SUBJECT "Gr\xc3\xbc\xc3\x9f" "e, report attached"
#define FILE_NAME "r\xc3\xa9sum\xc3\xa9.png"
#else
#define FROM_NAME "Ann Aaberg"
#define SUBJECT "Gruesse, report attached"
#define FILE_NAME "resume.png"
#endif

#define SWEEP_MAX 10000

/* --- an SMTP server in memory, answering command by command --- */

typedef struct server {
    char line[1024];
    size_t line_len;
    char out[8192];
    size_t out_len, out_pos;
    int in_data;
    int quit;
    int messages; /* accepted */
} server;

static void say(server *s, const char *text)
{
    size_t n = strlen(text);
    assert_true(s->out_len + n <= sizeof s->out);
    memcpy(s->out + s->out_len, text, n);
    s->out_len += n;
}

static int starts(const char *line, const char *verb)
{
    size_t n = strlen(verb);
    for (size_t i = 0; i < n; i++) {
        char c = line[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != verb[i])
            return 0;
    }
    return 1;
}

static void on_line(server *s, const char *line)
{
    if (s->in_data) {
        if (strcmp(line, ".") == 0) {
            s->in_data = 0;
            s->messages++;
            say(s, "250 2.0.0 Ok: queued\r\n");
        }
        return;
    }
    if (starts(line, "EHLO"))
        say(s, "250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000000\r\n"
               "250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n");
    else if (starts(line, "AUTH PLAIN "))
        say(s, "235 2.7.0 Authentication successful\r\n");
    else if (starts(line, "MAIL FROM:"))
        say(s, "250 2.1.0 Ok\r\n");
    else if (starts(line, "RCPT TO:") && strstr(line, "<nobody@"))
        say(s, "550 5.1.1 User unknown\r\n");
    else if (starts(line, "RCPT TO:"))
        say(s, "250 2.1.5 Ok\r\n");
    else if (starts(line, "DATA")) {
        s->in_data = 1;
        say(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
    } else if (starts(line, "RSET") || starts(line, "NOOP"))
        say(s, "250 2.0.0 Ok\r\n");
    else if (starts(line, "QUIT")) {
        s->quit = 1;
        say(s, "221 2.0.0 Bye\r\n");
    } else
        say(s, "502 5.5.2 Error: command not recognized\r\n");
}

static void server_init(server *s)
{
    memset(s, 0, sizeof *s);
    say(s, "220 mx.example.org ESMTP\r\n");
}

static void server_take(server *s, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = (char)buf[i];
        if (c == '\n') {
            if (s->line_len && s->line[s->line_len - 1] == '\r')
                s->line_len--;
            s->line[s->line_len] = '\0';
            on_line(s, s->line);
            s->line_len = 0;
        } else if (s->line_len + 1 < sizeof s->line) {
            s->line[s->line_len++] = c;
        }
    }
}

/* Replies in small pieces, so that reading spans several calls. */
static size_t server_give(server *s, uint8_t *buf, size_t cap)
{
    size_t n = s->out_len - s->out_pos;
    if (n > 37)
        n = 37;
    if (n > cap)
        n = cap;
    memcpy(buf, s->out + s->out_pos, n);
    s->out_pos += n;
    if (s->out_pos == s->out_len)
        s->out_pos = s->out_len = 0;
    return n;
}

static int cb_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    (void)timeout_ms;
    server_take(user, buf, len);
    *sent = len;
    return 0;
}

static int cb_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    server *s = user;
    (void)timeout_ms;
    if (s->out_len == s->out_pos)
        /* Nothing will ever come: in memory, waiting means a bug. */
        return s->quit ? SMTPC_ECLOSED : SMTPC_ETIMEDOUT;
    *received = server_give(s, buf, cap);
    return 0;
}

/* --- scenarios --- */

static const uint8_t body1[] = "From: a@example.com\r\nTo: b@example.org\r\nSubject: one\r\n\r\n"
                               ".leading dot\nbare LF\r\nend";
static const uint8_t body2[] = "Subject: two\r\n\r\nsecond message\r\n";
static const char *const rcpts[] = {"b@example.org", "nobody@example.org", "c@example.org"};

/* rc is 0 or a clean out-of-memory caused by the hook. */
static int expect_ok_or_nomem(const test_heap *h, int rc)
{
    if (rc != 0) {
        assert_int_equal(rc, SMTPC_ENOMEM);
        assert_true(h->injected);
    }
    return rc;
}

static int client_session(test_heap *h, server *srv)
{
    smtpc_allocator a = h->hook;
    server_init(srv);
    smtpc_client *c = NULL;
    int new_rc = smtpc_client_new(&a, &c);
    if (new_rc != 0) {
        assert_int_equal(new_rc, SMTPC_ENOMEM);
        assert_null(c);
        assert_true(h->injected);
        return SMTPC_ENOMEM;
    }
    smtpc_transport *t = NULL;
    int rc = expect_ok_or_nomem(
        h, smtpc_transport_new_callbacks(&a, cb_send, cb_recv, NULL, srv, &t));
    if (rc == 0)
        rc = expect_ok_or_nomem(h, smtpc_client_set_credentials(c, "user", "pencil"));
    if (rc == 0) {
        assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
        assert_int_equal(smtpc_client_allow_plaintext_auth(c, 1), 0);
        assert_int_equal(smtpc_client_set_transport(c, t), 0);
        t = NULL;
        rc = expect_ok_or_nomem(h, smtpc_client_connect(c));
    }
    int first_rc = rc;
    if (rc == 0) {
        /* A failed send leaves the session usable: go on with the next. */
        int r1 = expect_ok_or_nomem(h, smtpc_client_send(c, "a@example.com", rcpts, 3, body1,
                                                         sizeof body1 - 1));
        if (r1 == 0) {
            assert_int_equal(smtpc_engine_rcpt_accepted(smtpc_client_engine(c), 0), 1);
            assert_int_equal(smtpc_engine_rcpt_accepted(smtpc_client_engine(c), 1), 0);
            assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)), SMTPC_MESSAGE_ACCEPTED);
        } else {
            assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)), SMTPC_MESSAGE_NOT_SENT);
        }
        int r2 = expect_ok_or_nomem(h, smtpc_client_send(c, "", rcpts, 1, body2,
                                                         sizeof body2 - 1));
        assert_int_equal(smtpc_client_quit(c), 0);
        assert_int_equal(srv->messages, (r1 == 0) + (r2 == 0));
        first_rc = r1 ? r1 : r2;
    }
    smtpc_transport_free(t);
    smtpc_client_free(c);
    return first_rc;
}

/* The engine driven directly against the same server. */
static int pump(smtpc_engine *e, server *srv)
{
    for (;;) {
        int want = smtpc_engine_want(e);
        if (want == SMTPC_WANT_WRITE) {
            const uint8_t *p;
            size_t n;
            assert_int_equal(smtpc_engine_output(e, &p, &n), 0);
            server_take(srv, p, n);
            assert_int_equal(smtpc_engine_output_done(e, n), 0);
        } else if (want == SMTPC_WANT_READ) {
            uint8_t buf[64];
            assert_true(srv->out_len > srv->out_pos);
            size_t n = server_give(srv, buf, sizeof buf);
            smtpc_engine_feed(e, buf, n);
        } else {
            return want;
        }
    }
}

static int engine_mail(test_heap *h, smtpc_engine *e, server *srv, const char *const *to, size_t n,
                       const uint8_t *body, size_t len)
{
    int rc = expect_ok_or_nomem(h, smtpc_engine_begin_mail(e, "a@example.com", to, n, -1, 0));
    if (rc)
        return rc;
    assert_int_equal(pump(e, srv), SMTPC_WANT_BODY);
    while (len) {
        size_t took = 0;
        assert_int_equal(smtpc_engine_body_write(e, body, len, &took), 0);
        body += took;
        len -= took;
        pump(e, srv);
    }
    assert_int_equal(smtpc_engine_body_end(e), 0);
    assert_int_equal(pump(e, srv), SMTPC_WANT_IDLE);
    assert_int_equal(smtpc_engine_result(e), 0);
    assert_int_equal(smtpc_engine_message_status(e), SMTPC_MESSAGE_ACCEPTED);
    return 0;
}

static int engine_session(test_heap *h, server *srv)
{
    smtpc_allocator a = h->hook;
    server_init(srv);
    smtpc_engine *e = NULL;
    int rc = expect_ok_or_nomem(h, smtpc_engine_new(&a, "client.example", 1024, 512, &e));
    if (rc) {
        assert_null(e);
        return rc;
    }
    rc = expect_ok_or_nomem(h, smtpc_engine_set_ehlo_name(e, "client2.example"));
    if (rc == 0)
        rc = expect_ok_or_nomem(h, smtpc_engine_set_credentials(e, "user", "pencil"));
    if (rc == 0) {
        assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
        assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
        assert_int_equal(smtpc_engine_begin_session(e), 0);
        assert_int_equal(pump(e, srv), SMTPC_WANT_IDLE);
        assert_int_equal(smtpc_engine_result(e), 0);
        int r1 = engine_mail(h, e, srv, rcpts, 3, body1, sizeof body1 - 1);
        int r2 = engine_mail(h, e, srv, rcpts + 2, 1, body2, sizeof body2 - 1);
        assert_int_equal(smtpc_engine_begin_quit(e), 0);
        assert_int_equal(pump(e, srv), SMTPC_WANT_CLOSE);
        assert_int_equal(smtpc_engine_result(e), 0);
        assert_int_equal(srv->messages, (r1 == 0) + (r2 == 0));
        rc = r1 ? r1 : r2;
    }
    smtpc_engine_free(e);
    return rc;
}

/* --- the MIME builder --- */

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x42, len);
    return 0;
}

static int fixed_clock(void *user, int64_t *t, int *offset)
{
    (void)user;
    *t = 1700000000;
    *offset = 60;
    return 0;
}

typedef struct reader {
    size_t left;
} reader;

static int read_zeros(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    reader *r = user;
    size_t n = r->left < cap ? r->left : cap;
    memset(buf, 0, n);
    r->left -= n;
    *len = n;
    return 0;
}

static int rewind_zeros(void *user)
{
    ((reader *)user)->left = 3000;
    return 0;
}

static const uint8_t attachment[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};

/* Builds a message using every kind of record the builder keeps. *out is
 * NULL after a clean out-of-memory. */
static int build_message(test_heap *h, const smtpc_allocator *a, reader *rd, smtpc_message **out)
{
    smtpc_message *m = NULL;
    *out = NULL;
    int rc = expect_ok_or_nomem(h, smtpc_message_new(a, &m));
    if (rc) {
        assert_null(m);
        return rc;
    }
    assert_int_equal(smtpc_message_set_random(m, fixed_random, NULL), 0);
    assert_int_equal(smtpc_message_set_clock(m, fixed_clock, NULL), 0);
    rc = expect_ok_or_nomem(h, smtpc_message_set_from(m, "a@example.com", FROM_NAME));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_add_to(m, "b@example.org", "Bob"));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_add_cc(m, "c@example.org", NULL));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_add_bcc(m, "d@example.org", NULL));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_add_reply_to(m, "r@example.com", NULL));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_set_subject(m, SUBJECT));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_add_header(m, "X-Mailer", "smtpc"));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_set_text(m, "Hello\n.\nBye\n", 12,
                                                          SMTPC_MEM_COPY));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_set_html(m, "<p>Hello</p>", 12,
                                                          SMTPC_MEM_BORROW));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_attach_mem(m, attachment, sizeof attachment,
                                                            SMTPC_MEM_COPY, FILE_NAME, NULL));
    if (!rc)
        rc = expect_ok_or_nomem(h, smtpc_message_inline_mem(m, attachment, sizeof attachment,
                                                            SMTPC_MEM_BORROW, "logo@example.com",
                                                            "logo.png", "image/png"));
    if (!rc) {
        rd->left = 3000;
        rc = expect_ok_or_nomem(h, smtpc_message_attach_reader(m, read_zeros, rewind_zeros, rd,
                                                               3000, "zeros.bin", NULL));
    }
    if (rc) {
        smtpc_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int message_alone(test_heap *h, server *srv)
{
    (void)srv;
    smtpc_allocator a = h->hook;
    reader rd;
    smtpc_message *m;
    int rc = build_message(h, &a, &rd, &m);
    if (rc)
        return rc;
    int64_t size = -1;
    rc = expect_ok_or_nomem(h, smtpc_message_size(m, &size));
    uint64_t total = 0;
    while (rc == 0) {
        uint8_t buf[300];
        size_t n = 0;
        rc = expect_ok_or_nomem(h, smtpc_message_read(m, buf, sizeof buf, &n));
        if (rc || n == 0)
            break;
        total += n;
    }
    if (rc == 0)
        assert_int_equal(total, (uint64_t)size);
    smtpc_message_free(m);
    return rc;
}

/* A client session that sends a built message with attachments. */
static int client_message_session(test_heap *h, server *srv)
{
    smtpc_allocator a = h->hook;
    reader rd;
    smtpc_message *m;
    server_init(srv);
    int rc = build_message(h, &a, &rd, &m);
    if (rc)
        return rc;
    smtpc_client *c = NULL;
    int new_rc = smtpc_client_new(&a, &c);
    if (new_rc != 0) {
        assert_int_equal(new_rc, SMTPC_ENOMEM);
        assert_null(c);
        assert_true(h->injected);
        smtpc_message_free(m);
        return SMTPC_ENOMEM;
    }
    smtpc_transport *t = NULL;
    rc = expect_ok_or_nomem(h, smtpc_transport_new_callbacks(&a, cb_send, cb_recv, NULL, srv, &t));
    if (rc == 0) {
        assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
        assert_int_equal(smtpc_client_set_transport(c, t), 0);
        rc = expect_ok_or_nomem(h, smtpc_client_connect(c));
    }
    if (rc == 0) {
        rc = expect_ok_or_nomem(h, smtpc_client_send_message(c, m, NULL, NULL, 0));
        assert_int_equal(smtpc_client_quit(c), 0);
        assert_int_equal(srv->messages, rc == 0);
    }
    smtpc_client_free(c);
    smtpc_message_free(m);
    return rc;
}

typedef int (*scenario_fn)(test_heap *h, server *srv);

static void sweep(scenario_fn run, int mode, const char *name)
{
    server *srv = malloc(sizeof *srv);
    assert_non_null(srv);
    long n;
    for (n = 1; n < SWEEP_MAX; n++) {
        test_heap h;
        test_heap_init(&h, mode, n);
        int rc = run(&h, srv);
        assert_int_equal(h.bad_frees, 0); /* each block freed once, with its size */
        assert_int_equal(h.live_bytes, 0);
        assert_int_equal(h.live_blocks, 0);
        if (!h.injected) {
            /* N was never reached: the scenario ran to the end. */
            assert_int_equal(rc, 0);
            break;
        }
        /* An allocation failed: someone must have said so. */
        assert_int_equal(rc, SMTPC_ENOMEM);
    }
    assert_true(n < SWEEP_MAX);
    printf("%s (%s): %ld allocations, each failed in turn\n", name,
           mode == TEST_HEAP_FAIL_ONE ? "one failure" : "exhausted from N", n - 1);
    free(srv);
}

static void test_client_one(void **state)
{
    (void)state;
    sweep(client_session, TEST_HEAP_FAIL_ONE, "client session");
}

static void test_client_from(void **state)
{
    (void)state;
    sweep(client_session, TEST_HEAP_FAIL_FROM, "client session");
}

static void test_engine_one(void **state)
{
    (void)state;
    sweep(engine_session, TEST_HEAP_FAIL_ONE, "engine session");
}

static void test_engine_from(void **state)
{
    (void)state;
    sweep(engine_session, TEST_HEAP_FAIL_FROM, "engine session");
}

static void test_message_one(void **state)
{
    (void)state;
    sweep(message_alone, TEST_HEAP_FAIL_ONE, "message build and read");
}

static void test_message_from(void **state)
{
    (void)state;
    sweep(message_alone, TEST_HEAP_FAIL_FROM, "message build and read");
}

static void test_client_message_one(void **state)
{
    (void)state;
    sweep(client_message_session, TEST_HEAP_FAIL_ONE, "client sending a built message");
}

static void test_client_message_from(void **state)
{
    (void)state;
    sweep(client_message_session, TEST_HEAP_FAIL_FROM, "client sending a built message");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_one),
        cmocka_unit_test(test_message_from),
        cmocka_unit_test(test_client_message_one),
        cmocka_unit_test(test_client_message_from),
        cmocka_unit_test(test_client_one),
        cmocka_unit_test(test_client_from),
        cmocka_unit_test(test_engine_one),
        cmocka_unit_test(test_engine_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
