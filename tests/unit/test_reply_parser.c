/* Reply parser: table-driven cases, each replayed whole, byte by byte and at
 * seeded random split points; every run must give the same events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reply_parser.h"
#include "smtpc/base.h"
#include "test_rng.h"

#define MAX_EVENTS 12
#define MAX_LINE 2048
#define RANDOM_SEEDS 64

typedef struct event {
    int rc;
    char line[MAX_LINE + 1]; /* smtpc_reply_parser_line_text after LINE/DONE */
    size_t line_len;
    int busy;
    smtpc_reply reply; /* snapshot after DONE */
} event;

typedef struct run {
    event ev[MAX_EVENTS];
    int n;
    size_t stop; /* input offset after the last event (or the end) */
    int busy_end;
} run;

enum { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

static size_t next_chunk(int mode, uint32_t *rng, size_t left)
{
    switch (mode) {
    case SPLIT_WHOLE: return left;
    case SPLIT_BYTES: return 1;
    default: return 1 + test_xorshift32(rng) % left;
    }
}

static void record(smtpc_reply_parser *p, int rc, run *r)
{
    event *e;

    assert_true(r->n < MAX_EVENTS);
    e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->rc = rc;
    if (rc == SMTPC_PARSE_LINE || rc == SMTPC_PARSE_DONE) {
        size_t len;
        const char *t = smtpc_reply_parser_line_text(p, &len);
        assert_true(len <= MAX_LINE);
        memcpy(e->line, t, len);
        e->line_len = len;
    }
    if (rc == SMTPC_PARSE_DONE)
        e->reply = *smtpc_reply_parser_reply(p);
    e->busy = rc >= 0 ? smtpc_reply_parser_busy(p) : -1;
}

static void feed_all(const char *in, size_t len, size_t line_cap, int mode, uint32_t seed,
                     run *r)
{
    uint8_t *buf = malloc(line_cap);
    smtpc_reply_parser p;
    size_t pos = 0;
    uint32_t rng = seed;
    int failed = 0;

    assert_non_null(buf);
    memset(r, 0, sizeof *r);
    smtpc_reply_parser_init(&p, buf, line_cap);
    while (pos < len && !failed) {
        size_t chunk = next_chunk(mode, &rng, len - pos);
        const uint8_t *d = (const uint8_t *)in + pos;
        size_t off = 0;
        while (off < chunk) {
            size_t used = 12345;
            int rc = smtpc_reply_parser_feed(&p, d + off, chunk - off, &used);
            assert_true(used >= 1 && used <= chunk - off);
            off += used;
            if (rc == SMTPC_PARSE_MORE) {
                assert_int_equal(off, chunk);
                continue;
            }
            record(&p, rc, r);
            r->stop = pos + off;
            if (rc < 0) {
                failed = 1;
                break;
            }
        }
        pos += off;
    }
    if (!failed)
        r->stop = pos;
    r->busy_end = failed ? -1 : smtpc_reply_parser_busy(&p);
    free(buf);
}

static void assert_same_run(const run *a, const run *b)
{
    int i;

    assert_int_equal(a->n, b->n);
    assert_int_equal(a->stop, b->stop);
    assert_int_equal(a->busy_end, b->busy_end);
    for (i = 0; i < a->n; i++) {
        const event *x = &a->ev[i], *y = &b->ev[i];
        assert_int_equal(x->rc, y->rc);
        assert_int_equal(x->busy, y->busy);
        assert_int_equal(x->line_len, y->line_len);
        assert_memory_equal(x->line, y->line, x->line_len);
        assert_int_equal(x->reply.code, y->reply.code);
        assert_string_equal(x->reply.enhanced, y->reply.enhanced);
        assert_int_equal(x->reply.text_len, y->reply.text_len);
        assert_string_equal(x->reply.text, y->reply.text);
        assert_int_equal(x->reply.lines, y->reply.lines);
    }
}

/* Feeds whole, then checks byte-by-byte and random splits agree with it. */
static void run_every_split(const char *in, size_t len, size_t line_cap, run *whole)
{
    run *other = malloc(sizeof *other);
    uint32_t seed;

    assert_non_null(other);
    feed_all(in, len, line_cap, SPLIT_WHOLE, 0, whole);
    feed_all(in, len, line_cap, SPLIT_BYTES, 0, other);
    assert_same_run(whole, other);
    for (seed = 1; seed <= RANDOM_SEEDS; seed++) {
        feed_all(in, len, line_cap, SPLIT_RANDOM, seed * 2654435761u, other);
        assert_same_run(whole, other);
    }
    free(other);
}

/* ---- the table ---- */

typedef struct reply_case {
    const char *name;
    const char *in;
    size_t line_cap;   /* 0: 512 */
    int n_events;
    int last_rc;       /* rc of the last event */
    int code;          /* of the last DONE reply, when last_rc is DONE */
    const char *enhanced;
    const char *text;
    int lines;
    int busy_end;
} reply_case;

static const reply_case cases[] = {
    {"simple", "250 OK\r\n", 0, 1, SMTPC_PARSE_DONE, 250, "", "OK", 1, 0},
    {"code only", "250\r\n", 0, 1, SMTPC_PARSE_DONE, 250, "", "", 1, 0},
    {"code and space", "250 \r\n", 0, 1, SMTPC_PARSE_DONE, 250, "", "", 1, 0},
    {"bare LF", "220 smtp.example.com ESMTP\n", 0, 1, SMTPC_PARSE_DONE, 220, "",
     "smtp.example.com ESMTP", 1, 0},
    /* RFC 5321 appendix D.1 style EHLO reply. */
    {"multi-line EHLO",
     "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n", 0, 5,
     SMTPC_PARSE_DONE, 250, "", "foo.com greets bar.com\n8BITMIME\nSIZE\nDSN\nHELP", 5, 0},
    {"mixed line ends", "250-a\n250-b\r\n250 c\n", 0, 3, SMTPC_PARSE_DONE, 250, "", "a\nb\nc", 3,
     0},
    {"empty continuation texts", "250-\r\n250\r\n", 0, 2, SMTPC_PARSE_DONE, 250, "", "\n", 2, 0},
    {"354", "354 Start mail input; end with <CRLF>.<CRLF>\r\n", 0, 1, SMTPC_PARSE_DONE, 354, "",
     "Start mail input; end with <CRLF>.<CRLF>", 1, 0},
    {"CR inside text kept", "250 a\rb\r\n", 0, 1, SMTPC_PARSE_DONE, 250, "", "a\rb", 1, 0},
    /* RFC 2034 section 6 examples. */
    {"enhanced 2.1.0", "250 2.1.0 Originator <ned@ymir.claremont.edu> ok\r\n", 0, 1,
     SMTPC_PARSE_DONE, 250, "2.1.0", "Originator <ned@ymir.claremont.edu> ok", 1, 0},
    {"enhanced 5.1.1", "550 5.1.1 Mailbox \"nosuchuser\" does not exist\r\n", 0, 1,
     SMTPC_PARSE_DONE, 550, "5.1.1", "Mailbox \"nosuchuser\" does not exist", 1, 0},
    {"enhanced multi-line",
     "551-5.7.1 Forwarding to remote hosts disabled\r\n"
     "551 5.7.1 Select another host to act as your forwarder\r\n",
     0, 2, SMTPC_PARSE_DONE, 551, "5.7.1",
     "Forwarding to remote hosts disabled\nSelect another host to act as your forwarder", 2, 0},
    {"enhanced only", "250 2.0.0\r\n", 0, 1, SMTPC_PARSE_DONE, 250, "2.0.0", "", 1, 0},
    {"enhanced 3-digit parts", "452 4.123.999 full\r\n", 0, 1, SMTPC_PARSE_DONE, 452,
     "4.123.999", "full", 1, 0},
    {"enhanced on later line only", "250-hello\r\n250 2.0.0 ok\r\n", 0, 2, SMTPC_PARSE_DONE, 250,
     "", "hello\nok", 2, 0},
    {"enhanced class mismatch", "550 2.1.1 odd\r\n", 0, 1, SMTPC_PARSE_DONE, 550, "",
     "2.1.1 odd", 1, 0},
    {"enhanced 4-digit subject", "550 5.1234.1 x\r\n", 0, 1, SMTPC_PARSE_DONE, 550, "",
     "5.1234.1 x", 1, 0},
    {"enhanced glued to text", "550 5.1.1x\r\n", 0, 1, SMTPC_PARSE_DONE, 550, "", "5.1.1x", 1,
     0},
    {"enhanced incomplete", "550 5.1. x\r\n", 0, 1, SMTPC_PARSE_DONE, 550, "", "5.1. x", 1, 0},
    {"enhanced for 3xx never", "354 3.0.0 go\r\n", 0, 1, SMTPC_PARSE_DONE, 354, "",
     "3.0.0 go", 1, 0},
    {"mismatched continuation", "250-first\r\n251 second\r\n", 0, 2, SMTPC_EPROTO, 0, "", "", 0,
     -1},
    {"mismatched class", "250-first\r\n550 second\r\n", 0, 2, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"garbage", "HTTP/1.1 400 Bad Request\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"1xx", "199 no\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"6xx", "600 no\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"letter in code", "2O0 no\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"two digits", "25\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"four digits", "2500 no\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"bad separator", "250_ok\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"CR as separator", "250\rok\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"empty line", "\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"bare empty line", "\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"leading space", " 250 ok\r\n", 0, 1, SMTPC_EPROTO, 0, "", "", 0, -1},
    {"over-long line", "250 0123456789abcdefghij\r\n", 16, 1, SMTPC_ELINE, 0, "", "", 0, -1},
    {"over-long garbage is garbage", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 16, 1, SMTPC_EPROTO,
     0, "", "", 0, -1},
    {"LF line of exactly line_cap", "250 0123456789ab\n", 16, 1, SMTPC_PARSE_DONE, 250, "",
     "0123456789ab", 1, 0},
    {"CRLF line of line_cap with CR", "250 0123456789a\r\n", 16, 1, SMTPC_PARSE_DONE, 250, "",
     "0123456789a", 1, 0},
    {"CRLF line one over", "250 0123456789ab\r\n", 16, 1, SMTPC_ELINE, 0, "", "", 0, -1},
    {"over-long continuation", "250-ok\r\n250 0123456789abcdefghij\r\n", 16, 2, SMTPC_ELINE, 0,
     "", "", 0, -1},
    {"partial line held", "250-ok\r\n250 par", 0, 1, SMTPC_PARSE_LINE, 0, "", "", 0, 1},
    {"partial first line held", "22", 0, 0, 0, 0, "", "", 0, 1},
    {"two replies", "220 hello\r\n250 2.0.0 ok\r\n", 0, 2, SMTPC_PARSE_DONE, 250, "2.0.0", "ok",
     1, 0},
    {"reply then partial", "220 hello\r\n2", 0, 1, SMTPC_PARSE_DONE, 220, "", "hello", 1, 1},
};

static void test_table(void **state)
{
    size_t i;
    run *r = malloc(sizeof *r);

    (void)state;
    assert_non_null(r);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const reply_case *c = &cases[i];
        size_t cap = c->line_cap ? c->line_cap : 512;
        print_message("case: %s\n", c->name);
        run_every_split(c->in, strlen(c->in), cap, r);
        assert_int_equal(r->n, c->n_events);
        assert_int_equal(r->busy_end, c->busy_end);
        if (c->n_events == 0)
            continue;
        assert_int_equal(r->ev[r->n - 1].rc, c->last_rc);
        if (c->last_rc == SMTPC_PARSE_DONE) {
            const smtpc_reply *rep = &r->ev[r->n - 1].reply;
            assert_int_equal(rep->code, c->code);
            assert_string_equal(rep->enhanced, c->enhanced);
            assert_string_equal(rep->text, c->text);
            assert_int_equal(rep->text_len, strlen(c->text));
            assert_int_equal(rep->lines, c->lines);
        }
    }
    free(r);
}

/* Errors are reported at the offending byte, not at the line end. */
static void test_error_positions(void **state)
{
    run *r = malloc(sizeof *r);
    static const char garbage[] = "HTTP/1.1 200 OK\r\n";
    static const char mismatch[] = "250-a\r\n251 b\r\n";
    static const char longline[] = "250 0123456789abcdefghij\r\n";

    (void)state;
    assert_non_null(r);
    run_every_split(garbage, strlen(garbage), 512, r);
    assert_int_equal(r->stop, 1);
    run_every_split(mismatch, strlen(mismatch), 512, r);
    assert_int_equal(r->stop, 7 + 3);
    run_every_split(longline, strlen(longline), 16, r);
    assert_int_equal(r->stop, 17);
    free(r);
}

static void test_line_events(void **state)
{
    static const char in[] = "250-smtp.example.com\r\n250-2.0.0 PIPELINING\r\n250 AUTH PLAIN\r\n";
    run *r = malloc(sizeof *r);

    (void)state;
    assert_non_null(r);
    run_every_split(in, strlen(in), 512, r);
    assert_int_equal(r->n, 3);
    assert_int_equal(r->ev[0].rc, SMTPC_PARSE_LINE);
    assert_int_equal(r->ev[0].line_len, strlen("smtp.example.com"));
    assert_memory_equal(r->ev[0].line, "smtp.example.com", r->ev[0].line_len);
    assert_int_equal(r->ev[0].busy, 1);
    /* line_text keeps the enhanced code; reply.text drops it. */
    assert_int_equal(r->ev[1].rc, SMTPC_PARSE_LINE);
    assert_memory_equal(r->ev[1].line, "2.0.0 PIPELINING", r->ev[1].line_len);
    assert_int_equal(r->ev[2].rc, SMTPC_PARSE_DONE);
    assert_memory_equal(r->ev[2].line, "AUTH PLAIN", r->ev[2].line_len);
    assert_int_equal(r->ev[2].busy, 0);
    assert_string_equal(r->ev[2].reply.text, "smtp.example.com\nPIPELINING\nAUTH PLAIN");
    free(r);
}

/* The state right after the STARTTLS 220: busy must tell held bytes apart. */
static void test_busy(void **state)
{
    uint8_t buf[64];
    smtpc_reply_parser p;
    size_t used;
    static const uint8_t in[] = "220 go ahead\r\n250 injected\r\n";

    (void)state;
    smtpc_reply_parser_init(&p, buf, sizeof buf);
    assert_int_equal(smtpc_reply_parser_busy(&p), 0);
    assert_int_equal(smtpc_reply_parser_feed(&p, in, sizeof in - 1, &used), SMTPC_PARSE_DONE);
    assert_int_equal(used, 14);
    assert_int_equal(smtpc_reply_parser_busy(&p), 0);
    assert_int_equal(smtpc_reply_parser_reply(&p)->code, 220);
    /* A zero-length feed consumes nothing and leaves nothing held. */
    assert_int_equal(smtpc_reply_parser_feed(&p, in, 0, &used), SMTPC_PARSE_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(smtpc_reply_parser_busy(&p), 0);
    assert_int_equal(smtpc_reply_parser_feed(&p, in + 14, 1, &used), SMTPC_PARSE_MORE);
    assert_int_equal(smtpc_reply_parser_busy(&p), 1);
}

/* Writes prefix, count copies of fill and suffix at in + n; returns the
 * new length. Builds reply lines too long to spell out. */
static size_t put_line(char *in, size_t n, const char *prefix, int fill, size_t count,
                       const char *suffix)
{
    size_t plen = strlen(prefix), slen = strlen(suffix);
    memcpy(in + n, prefix, plen);
    memset(in + n + plen, fill, count);
    memcpy(in + n + plen + count, suffix, slen);
    return n + plen + count + slen;
}

static void test_text_truncation(void **state)
{
    char *in = malloc(4096);
    size_t n = 0, i;
    run *r = malloc(sizeof *r);

    (void)state;
    assert_non_null(in);
    assert_non_null(r);
    /* Three 300-byte lines: the second one is cut, the third dropped. */
    for (i = 0; i < 3; i++)
        n = put_line(in, n, i < 2 ? "250-" : "250 ", 'a' + (int)i, 300, "\r\n");
    run_every_split(in, n, 1024, r);
    assert_int_equal(r->ev[r->n - 1].rc, SMTPC_PARSE_DONE);
    assert_int_equal(r->ev[2].reply.text_len, SMTPC_REPLY_TEXT_MAX - 1);
    assert_int_equal(strlen(r->ev[2].reply.text), SMTPC_REPLY_TEXT_MAX - 1);
    assert_int_equal(r->ev[2].reply.text[300], '\n');
    assert_int_equal(r->ev[2].reply.text[301], 'b');
    assert_int_equal(r->ev[2].reply.text[SMTPC_REPLY_TEXT_MAX - 2], 'b');
    assert_int_equal(r->ev[2].reply.lines, 3);

    /* A two-byte UTF-8 character across the limit is dropped whole; the
     * short line after it must not be appended to the cut text. */
    n = put_line(in, 0, "250-", 'x', SMTPC_REPLY_TEXT_MAX - 2, "\xc3\xa9\r\n250 z\r\n");
    run_every_split(in, n, 1024, r);
    assert_int_equal(r->ev[1].rc, SMTPC_PARSE_DONE);
    assert_int_equal(r->ev[1].reply.text_len, SMTPC_REPLY_TEXT_MAX - 2);
    assert_int_equal(strlen(r->ev[1].reply.text), SMTPC_REPLY_TEXT_MAX - 2);
    assert_int_equal(r->ev[1].reply.lines, 2);

    /* Exactly full after a whole line: the next line is dropped cleanly. */
    n = put_line(in, 0, "250-", 'y', SMTPC_REPLY_TEXT_MAX - 1, "\r\n250 z\r\n");
    run_every_split(in, n, 1024, r);
    assert_int_equal(r->ev[1].reply.text_len, SMTPC_REPLY_TEXT_MAX - 1);
    assert_int_equal(r->ev[1].reply.text[SMTPC_REPLY_TEXT_MAX - 2], 'y');
    free(in);
    free(r);
}

/* A NUL would end the C string reply.text early: refused. */
static void test_nul_refused(void **state)
{
    static const char in[] = "250 a\0b\r\n";
    run *r = malloc(sizeof *r);

    (void)state;
    assert_non_null(r);
    run_every_split(in, sizeof in - 1, 512, r);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ev[0].rc, SMTPC_EPROTO);
    assert_int_equal(r->stop, 6);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_line_events),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_text_truncation),
        cmocka_unit_test(test_nul_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
