/* Two-sided engine scripts: server bytes in, the exact client bytes expected
 * out. Every script is replayed with the server's bytes whole, one byte at a
 * time, and at seeded random split points (with output also acknowledged in
 * random pieces); every replay must produce the same client bytes and the
 * same results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_internal.h" /* sizeof (smtpc_rcpt_result) */
#include "smtpc.h"
#include "test_alloc.h"

enum { END, OP_SESSION, OP_MAIL, OP_QUIT, OP_NOOP, OP_RSET, SRV, CLI, BODY, BODY_END, TLS_OK,
       ABORT, RESULT, WANT, RCPT_CODE, MSG_STATUS, REPLY_CODE, ENHANCED, TIMEOUT, CAPS };

typedef struct step {
    int kind;
    const char *text; /* SRV/CLI/BODY bytes; MAIL: from; ENHANCED: code */
    const char *rcpts; /* MAIL: comma-separated recipients */
    long long n;       /* MAIL: size; RESULT/WANT/...: the value; RCPT_CODE: index*1000+code */
    int flags;         /* MAIL flags */
} step;

typedef struct script {
    const char *name;
    int security;
    const char *user, *password;
    const step *steps;
} script;

enum { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

typedef struct runner {
    smtpc_engine *e;
    int mode;
    unsigned seed;
    char got[65536];
    size_t got_len;
    char want[65536];
    size_t want_len;
    const char *rcpt_ptrs[16];
    char rcpt_buf[512];
} runner;

static size_t rnd(runner *r, size_t max)
{
    r->seed = r->seed * 1103515245u + 12345u;
    return max ? 1 + (r->seed >> 8) % max : 0;
}

static void drain(runner *r)
{
    while (smtpc_engine_want(r->e) == SMTPC_WANT_WRITE) {
        const uint8_t *p;
        size_t n;
        assert_int_equal(smtpc_engine_output(r->e, &p, &n), 0);
        assert_true(n > 0);
        size_t take = r->mode == SPLIT_RANDOM ? rnd(r, n) : n;
        assert_true(r->got_len + take < sizeof r->got);
        memcpy(r->got + r->got_len, p, take);
        r->got_len += take;
        assert_int_equal(smtpc_engine_output_done(r->e, take), 0);
    }
}

static void feed(runner *r, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len && smtpc_engine_want(r->e) != SMTPC_WANT_CLOSE) {
        size_t n = len - off;
        if (r->mode == SPLIT_BYTES)
            n = 1;
        else if (r->mode == SPLIT_RANDOM)
            n = rnd(r, n < 9 ? n : 9);
        smtpc_engine_feed(r->e, (const uint8_t *)s + off, n);
        off += n;
        drain(r);
    }
}

static void push_body(runner *r, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        size_t n = len - off, took = 0;
        if (r->mode == SPLIT_BYTES)
            n = 1;
        else if (r->mode == SPLIT_RANDOM)
            n = rnd(r, n < 13 ? n : 13);
        int rc = smtpc_engine_body_write(r->e, (const uint8_t *)s + off, n, &took);
        if (rc)
            return; /* the script checks the result */
        off += took;
        drain(r);
    }
}

static void split_rcpts(runner *r, const char *list, size_t *n)
{
    snprintf(r->rcpt_buf, sizeof r->rcpt_buf, "%s", list);
    *n = 0;
    for (char *tok = strtok(r->rcpt_buf, ","); tok; tok = strtok(NULL, ","))
        r->rcpt_ptrs[(*n)++] = tok;
}

static void check_output(runner *r, const char *script_name)
{
    if (r->got_len != r->want_len || memcmp(r->got, r->want, r->got_len) != 0) {
        print_error("%s (mode %d): client sent\n%.*s\nexpected\n%.*s\n", script_name, r->mode,
                    (int)r->got_len, r->got, (int)r->want_len, r->want);
        fail();
    }
}

static void run_one(const script *sc, int mode, unsigned seed)
{
    runner *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->mode = mode;
    r->seed = seed;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 1024, 512, &r->e), 0);
    assert_int_equal(smtpc_engine_set_security(r->e, sc->security), 0);
    if (sc->user)
        assert_int_equal(smtpc_engine_set_credentials(r->e, sc->user, sc->password), 0);
    for (const step *s = sc->steps; s->kind != END; s++) {
        size_t n = 0;
        switch (s->kind) {
        case OP_SESSION: assert_int_equal(smtpc_engine_begin_session(r->e), 0); break;
        case OP_MAIL:
            split_rcpts(r, s->rcpts, &n);
            assert_int_equal(smtpc_engine_begin_mail(r->e, s->text, r->rcpt_ptrs, n, s->n,
                                                     s->flags),
                             0);
            break;
        case OP_QUIT: assert_int_equal(smtpc_engine_begin_quit(r->e), 0); break;
        case OP_NOOP: assert_int_equal(smtpc_engine_begin_noop(r->e), 0); break;
        case OP_RSET: assert_int_equal(smtpc_engine_begin_rset(r->e), 0); break;
        case SRV:
            drain(r);
            check_output(r, sc->name);
            feed(r, s->text);
            break;
        case CLI:
            memcpy(r->want + r->want_len, s->text, strlen(s->text));
            r->want_len += strlen(s->text);
            drain(r);
            check_output(r, sc->name);
            break;
        case BODY: push_body(r, s->text); break;
        case BODY_END: smtpc_engine_body_end(r->e); drain(r); break;
        case TLS_OK:
            assert_int_equal(smtpc_engine_want(r->e), SMTPC_WANT_TLS);
            assert_int_equal(smtpc_engine_tls_done(r->e, 1, 0, NULL), 0);
            drain(r);
            break;
        case ABORT: smtpc_engine_abort(r->e, (int)s->n, "test abort"); break;
        case RESULT:
            drain(r);
            check_output(r, sc->name);
            if (smtpc_engine_result(r->e) != s->n)
                print_error("%s mode %d: result %d (%s), expected %lld\n", sc->name, mode,
                            smtpc_engine_result(r->e),
                            smtpc_error_message(smtpc_engine_error(r->e)), s->n);
            assert_int_equal(smtpc_engine_result(r->e), s->n);
            break;
        case WANT: assert_int_equal(smtpc_engine_want(r->e), s->n); break;
        case RCPT_CODE:
            assert_int_equal(smtpc_engine_rcpt_reply_code(r->e, (size_t)(s->n / 1000)),
                             s->n % 1000);
            break;
        case MSG_STATUS: assert_int_equal(smtpc_engine_message_status(r->e), s->n); break;
        case REPLY_CODE:
            assert_int_equal(smtpc_error_reply_code(smtpc_engine_error(r->e)), s->n);
            break;
        case ENHANCED:
            assert_string_equal(smtpc_error_enhanced(smtpc_engine_error(r->e)), s->text);
            break;
        case TIMEOUT: assert_int_equal(smtpc_engine_timeout_ms(r->e), s->n); break;
        case CAPS: assert_int_equal(smtpc_engine_capabilities(r->e) & s->n, s->n); break;
        default: fail();
        }
    }
    drain(r);
    check_output(r, sc->name);
    smtpc_engine_free(r->e);
    free(r);
}

static void run_script(void **state)
{
    const script *sc = *state;
    run_one(sc, SPLIT_WHOLE, 0);
    run_one(sc, SPLIT_BYTES, 0);
    for (unsigned seed = 1; seed <= 20; seed++)
        run_one(sc, SPLIT_RANDOM, seed);
}

/* --- building blocks --- */
#define GREET {SRV, "220 mx.test ESMTP ready\r\n", 0, 0, 0}, {CLI, "EHLO client.test\r\n", 0, 0, 0}
#define EHLO_PLAIN {SRV, "250-mx.test\r\n250-8BITMIME\r\n250-SIZE 1000\r\n250 ENHANCEDSTATUSCODES\r\n", 0, 0, 0}
#define EHLO_PIPE {SRV, "250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE\r\n", 0, 0, 0}
#define READY {RESULT, 0, 0, 0, 0}, {WANT, 0, 0, SMTPC_WANT_IDLE, 0}
#define SESSION {OP_SESSION, 0, 0, 0, 0}, GREET, EHLO_PLAIN, READY
#define SESSION_PIPE {OP_SESSION, 0, 0, 0, 0}, GREET, EHLO_PIPE, READY
#define S(x) {SRV, x, 0, 0, 0}
#define C(x) {CLI, x, 0, 0, 0}
#define B(x) {BODY, x, 0, 0, 0}
#define MAIL(from, rcpts) {OP_MAIL, from, rcpts, -1, 0}
#define RES(x) {RESULT, 0, 0, x, 0}
#define WANTS(x) {WANT, 0, 0, x, 0}
#define RCPT(i, code) {RCPT_CODE, 0, 0, (i) * 1000 + (code), 0}
#define STATUS(x) {MSG_STATUS, 0, 0, x, 0}
#define ENDE {BODY_END, 0, 0, 0, 0}
#define FINISH {END, 0, 0, 0, 0}

#define SEND_ONE_BODY(body, wire)                                                         \
    SESSION, MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"),              \
        S("250 2.1.0 ok\r\n"), C("RCPT TO:<b@y.test>\r\n"), S("250 2.1.5 ok\r\n"),      \
        C("DATA\r\n"), S("354 go\r\n"), WANTS(SMTPC_WANT_BODY), B(body), ENDE, C(wire), \
        S("250 2.0.0 queued\r\n"), RES(0), STATUS(SMTPC_MESSAGE_ACCEPTED)

static const step s_basic[] = {SEND_ONE_BODY("Subject: hi\r\n\r\nhello\r\n",
                                             "Subject: hi\r\n\r\nhello\r\n.\r\n"),
                               RCPT(0, 250), {CAPS, 0, 0, SMTPC_CAP_8BITMIME | SMTPC_CAP_SIZE, 0},
                               {OP_QUIT, 0, 0, 0, 0}, C("QUIT\r\n"), S("221 bye\r\n"),
                               WANTS(SMTPC_WANT_CLOSE), FINISH};
static const step s_leading_dot[] = {SEND_ONE_BODY(".hidden\r\nok\r\n", "..hidden\r\nok\r\n.\r\n"),
                                     FINISH};
static const step s_only_dot[] = {SEND_ONE_BODY("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"),
                                  FINISH};
static const step s_no_final_crlf[] = {SEND_ONE_BODY("a\r\nlast", "a\r\nlast\r\n.\r\n"), FINISH};
static const step s_empty_body[] = {SEND_ONE_BODY("", ".\r\n"), FINISH};
static const step s_bare_lf_cr[] = {
    SEND_ONE_BODY("a\nb\rc\r\n.d\n\r\n\r", "a\r\nb\r\nc\r\n..d\r\n\r\n\r\n.\r\n"), FINISH};
static const step s_smuggle[] = {
    /* "\n.\r\n" inside the body must not end the data early (SMTP smuggling). */
    SEND_ONE_BODY("x\n.\r\nMAIL FROM:<evil@x>\r\n", "x\r\n..\r\nMAIL FROM:<evil@x>\r\n.\r\n"),
    FINISH};

static const step s_helo_fallback[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("500 5.5.1 what?\r\n"), C("HELO client.test\r\n"),
    S("250 mx.test\r\n"), READY, FINISH};
static const step s_ehlo_helo_refused[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("502 no\r\n"), C("HELO client.test\r\n"),
    S("550 go away\r\n"), C("QUIT\r\n"), S("221 bye\r\n"), RES(SMTPC_EHELO),
    WANTS(SMTPC_WANT_CLOSE), FINISH};

static const step s_some_refused[] = {
    SESSION, MAIL("a@x.test", "b@y.test,bad@y.test,c@y.test"), C("MAIL FROM:<a@x.test>\r\n"),
    S("250 ok\r\n"), C("RCPT TO:<b@y.test>\r\n"), S("250 ok\r\n"), C("RCPT TO:<bad@y.test>\r\n"),
    S("550 5.1.1 no such user\r\n"), C("RCPT TO:<c@y.test>\r\n"), S("250 ok\r\n"), C("DATA\r\n"),
    S("354 go\r\n"), B("hi\r\n"), ENDE, C("hi\r\n.\r\n"), S("250 queued\r\n"), RES(0),
    RCPT(0, 250), RCPT(1, 550), RCPT(2, 250), FINISH};

static const step s_all_refused[] = {
    SESSION, MAIL("a@x.test", "b@y.test,c@y.test"), C("MAIL FROM:<a@x.test>\r\n"),
    S("250 ok\r\n"), C("RCPT TO:<b@y.test>\r\n"), S("550 5.1.1 no\r\n"),
    C("RCPT TO:<c@y.test>\r\n"), S("450 4.2.0 later\r\n"), C("RSET\r\n"), S("250 reset\r\n"),
    RES(SMTPC_ERCPTS), {REPLY_CODE, 0, 0, 550, 0}, {ENHANCED, "5.1.1", 0, 0, 0},
    WANTS(SMTPC_WANT_IDLE),
    /* the session stays usable */
    MAIL("a@x.test", "d@y.test"), C("MAIL FROM:<a@x.test>\r\n"), S("250 ok\r\n"),
    C("RCPT TO:<d@y.test>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), B("x"), ENDE,
    C("x\r\n.\r\n"), S("250 ok\r\n"), RES(0), FINISH};

static const step s_mail_refused[] = {
    SESSION, MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"),
    S("553 5.7.1 sender rejected\r\n"), C("RSET\r\n"), S("250 ok\r\n"), RES(SMTPC_EMAILFROM),
    {REPLY_CODE, 0, 0, 553, 0}, WANTS(SMTPC_WANT_IDLE), FINISH};

static const step s_data_refused[] = {
    SESSION, MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"), S("250 ok\r\n"),
    C("RCPT TO:<b@y.test>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("451 4.3.0 try later\r\n"),
    C("RSET\r\n"), S("250 ok\r\n"), RES(SMTPC_EDATA), {REPLY_CODE, 0, 0, 451, 0}, FINISH};

static const step s_421_mid_session[] = {
    SESSION, MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"),
    S("421 4.3.2 shutting down\r\n"), RES(SMTPC_ESHUTDOWN), WANTS(SMTPC_WANT_CLOSE), FINISH};

static const step s_closed_in_data[] = {
    SESSION, MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"), S("250 ok\r\n"),
    C("RCPT TO:<b@y.test>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), B("partial"),
    C("partial"), {ABORT, 0, 0, SMTPC_ECLOSED, 0}, RES(SMTPC_ECLOSED), STATUS(SMTPC_MESSAGE_NOT_SENT),
    WANTS(SMTPC_WANT_CLOSE), FINISH};

static const step s_lost_after_dot[] = {
    SESSION, MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"), S("250 ok\r\n"),
    C("RCPT TO:<b@y.test>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), B("m\r\n"),
    ENDE, C("m\r\n.\r\n"), {TIMEOUT, 0, 0, 600000, 0}, {ABORT, 0, 0, SMTPC_ETIMEDOUT, 0},
    RES(SMTPC_EUNKNOWN), STATUS(SMTPC_MESSAGE_UNKNOWN), FINISH};

static const step s_552_after_dot[] = {
    SEND_ONE_BODY("", ".\r\n"), /* first message fine */
    MAIL("a@x.test", "b@y.test"), C("MAIL FROM:<a@x.test>\r\n"), S("250 ok\r\n"),
    C("RCPT TO:<b@y.test>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), B("big\r\n"),
    ENDE, C("big\r\n.\r\n"), S("552 5.3.4 message too big\r\n"), RES(SMTPC_EMESSAGE),
    STATUS(SMTPC_MESSAGE_REJECTED), {REPLY_CODE, 0, 0, 552, 0}, {ENHANCED, "5.3.4", 0, 0, 0},
    WANTS(SMTPC_WANT_IDLE), {OP_NOOP, 0, 0, 0, 0}, C("NOOP\r\n"), S("250 ok\r\n"), RES(0),
    FINISH};

static const step s_554_greeting[] = {{OP_SESSION, 0, 0, 0, 0},
                                      S("554 5.7.1 no service for you\r\n"),
                                      C("QUIT\r\n"),
                                      S("221 bye\r\n"),
                                      RES(SMTPC_EGREETING),
                                      {REPLY_CODE, 0, 0, 554, 0},
                                      WANTS(SMTPC_WANT_CLOSE),
                                      FINISH};
static const step s_421_greeting[] = {{OP_SESSION, 0, 0, 0, 0}, S("421 busy\r\n"),
                                      RES(SMTPC_ESHUTDOWN), WANTS(SMTPC_WANT_CLOSE), FINISH};
static const step s_garbage[] = {{OP_SESSION, 0, 0, 0, 0}, S("HTTP/1.1 400 Bad Request\r\n"),
                                 RES(SMTPC_EPROTO), WANTS(SMTPC_WANT_CLOSE), FINISH};
static const step s_mismatch[] = {{OP_SESSION, 0, 0, 0, 0}, GREET,
                                  S("250-mx.test\r\n251 PIPELINING\r\n"), RES(SMTPC_EPROTO),
                                  WANTS(SMTPC_WANT_CLOSE), FINISH};
static const step s_unexpected[] = {SESSION, {OP_NOOP, 0, 0, 0, 0}, C("NOOP\r\n"),
                                    S("250 ok\r\n250 and another\r\n"),
                                    RES(SMTPC_EUNEXPECTED), WANTS(SMTPC_WANT_CLOSE), FINISH};

#define LONG64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LONG512 LONG64 LONG64 LONG64 LONG64 LONG64 LONG64 LONG64 LONG64
static const step s_long_line[] = {{OP_SESSION, 0, 0, 0, 0}, S("220 " LONG512 "\r\n"),
                                   RES(SMTPC_ELINE), WANTS(SMTPC_WANT_CLOSE), FINISH};

static const step s_pipelined_first_rcpt_fails[] = {
    SESSION_PIPE, MAIL("a@x.test", "bad@y.test,b@y.test"),
    C("MAIL FROM:<a@x.test>\r\nRCPT TO:<bad@y.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
    S("250 ok\r\n550 5.1.1 unknown\r\n250 ok\r\n354 go\r\n"), WANTS(SMTPC_WANT_BODY),
    B("body\r\n"), ENDE, C("body\r\n.\r\n"), S("250 ok\r\n"), RES(0), RCPT(0, 550),
    RCPT(1, 250), FINISH};

static const step s_pipelined_all_fail[] = {
    SESSION_PIPE, MAIL("a@x.test", "b@y.test"),
    C("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
    S("250 ok\r\n550 no\r\n554 no valid recipients\r\n"), C("RSET\r\n"), S("250 ok\r\n"),
    RES(SMTPC_ERCPTS), WANTS(SMTPC_WANT_IDLE), FINISH};

static const step s_pipelined_354_no_rcpt[] = {
    /* A server that opens DATA with no recipient gets an empty message end. */
    SESSION_PIPE, MAIL("a@x.test", "b@y.test"),
    C("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
    S("250 ok\r\n550 no\r\n354 go ahead\r\n"), C(".\r\n"), S("554 no recipients\r\n"),
    C("RSET\r\n"), S("250 ok\r\n"), RES(SMTPC_ERCPTS), FINISH};

static const step s_pipelined_mail_fails[] = {
    SESSION_PIPE, MAIL("a@x.test", "b@y.test"),
    C("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
    S("550 5.7.1 sender denied\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n"),
    C("RSET\r\n"), S("250 ok\r\n"), RES(SMTPC_EMAILFROM), {REPLY_CODE, 0, 0, 550, 0}, FINISH};

static const step s_size_declared[] = {
    SESSION_PIPE, {OP_MAIL, "", "b@y.test", 42, SMTPC_MAIL_8BITMIME},
    C("MAIL FROM:<> SIZE=42 BODY=8BITMIME\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
    S("250 ok\r\n250 ok\r\n354 go\r\n"), B("caf\xc3\xa9\r\n"), ENDE, C("caf\xc3\xa9\r\n.\r\n"),
    S("250 ok\r\n"), RES(0), FINISH};

static const step s_starttls[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n"),
    C("STARTTLS\r\n"), S("220 go ahead\r\n"), {TLS_OK, 0, 0, 0, 0}, C("EHLO client.test\r\n"),
    S("250-mx.test\r\n250 8BITMIME\r\n"), RES(0),
    /* capabilities learnt before TLS are forgotten */
    {CAPS, 0, 0, SMTPC_CAP_8BITMIME, 0}, FINISH};
static const step s_injection[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
    S("220 go ahead\r\n250-evil\r\n250 AUTH PLAIN\r\n"), RES(SMTPC_EINJECTION),
    WANTS(SMTPC_WANT_CLOSE), FINISH};
static const step s_no_starttls[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250 AUTH PLAIN\r\n"), C("QUIT\r\n"),
    S("221 bye\r\n"), RES(SMTPC_ENOSTARTTLS), WANTS(SMTPC_WANT_CLOSE), FINISH};
static const step s_starttls_454[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
    S("454 4.7.0 TLS not available\r\n"), C("QUIT\r\n"), S("221 bye\r\n"),
    RES(SMTPC_ESTARTTLS), {REPLY_CODE, 0, 0, 454, 0}, FINISH};

static const step s_auth_insecure[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"),
    RES(SMTPC_EAUTH_INSECURE), WANTS(SMTPC_WANT_IDLE), FINISH};
static const step s_auth_plain_over_tls[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
    S("220 go\r\n"), {TLS_OK, 0, 0, 0, 0}, C("EHLO client.test\r\n"),
    S("250-mx.test\r\n250 AUTH PLAIN\r\n"), C("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
    S("235 2.7.0 ok\r\n"), RES(0), FINISH};
static const step s_auth_bad_password[] = {
    {OP_SESSION, 0, 0, 0, 0}, GREET, S("250-mx.test\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
    S("220 go\r\n"), {TLS_OK, 0, 0, 0, 0}, C("EHLO client.test\r\n"),
    S("250-mx.test\r\n250 AUTH PLAIN\r\n"), C("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
    S("535 5.7.8 bad credentials\r\n"), RES(SMTPC_EAUTH_FAILED), {REPLY_CODE, 0, 0, 535, 0},
    FINISH};

static const step s_size_too_big_ok_after[] = {SESSION, FINISH};

static const script scripts[] = {
    {"basic", SMTPC_SECURITY_PLAIN, 0, 0, s_basic},
    {"leading_dot", SMTPC_SECURITY_PLAIN, 0, 0, s_leading_dot},
    {"only_dot", SMTPC_SECURITY_PLAIN, 0, 0, s_only_dot},
    {"no_final_crlf", SMTPC_SECURITY_PLAIN, 0, 0, s_no_final_crlf},
    {"empty_body", SMTPC_SECURITY_PLAIN, 0, 0, s_empty_body},
    {"bare_lf_cr", SMTPC_SECURITY_PLAIN, 0, 0, s_bare_lf_cr},
    {"smuggle", SMTPC_SECURITY_PLAIN, 0, 0, s_smuggle},
    {"helo_fallback", SMTPC_SECURITY_PLAIN, 0, 0, s_helo_fallback},
    {"ehlo_helo_refused", SMTPC_SECURITY_PLAIN, 0, 0, s_ehlo_helo_refused},
    {"some_refused", SMTPC_SECURITY_PLAIN, 0, 0, s_some_refused},
    {"all_refused", SMTPC_SECURITY_PLAIN, 0, 0, s_all_refused},
    {"mail_refused", SMTPC_SECURITY_PLAIN, 0, 0, s_mail_refused},
    {"data_refused", SMTPC_SECURITY_PLAIN, 0, 0, s_data_refused},
    {"421_mid_session", SMTPC_SECURITY_PLAIN, 0, 0, s_421_mid_session},
    {"closed_in_data", SMTPC_SECURITY_PLAIN, 0, 0, s_closed_in_data},
    {"lost_after_dot", SMTPC_SECURITY_PLAIN, 0, 0, s_lost_after_dot},
    {"552_after_dot", SMTPC_SECURITY_PLAIN, 0, 0, s_552_after_dot},
    {"554_greeting", SMTPC_SECURITY_PLAIN, 0, 0, s_554_greeting},
    {"421_greeting", SMTPC_SECURITY_PLAIN, 0, 0, s_421_greeting},
    {"garbage", SMTPC_SECURITY_PLAIN, 0, 0, s_garbage},
    {"mismatched_continuation", SMTPC_SECURITY_PLAIN, 0, 0, s_mismatch},
    {"unexpected_reply", SMTPC_SECURITY_PLAIN, 0, 0, s_unexpected},
    {"long_line", SMTPC_SECURITY_PLAIN, 0, 0, s_long_line},
    {"pipelined_first_rcpt_fails", SMTPC_SECURITY_PLAIN, 0, 0, s_pipelined_first_rcpt_fails},
    {"pipelined_all_fail", SMTPC_SECURITY_PLAIN, 0, 0, s_pipelined_all_fail},
    {"pipelined_354_no_rcpt", SMTPC_SECURITY_PLAIN, 0, 0, s_pipelined_354_no_rcpt},
    {"pipelined_mail_fails", SMTPC_SECURITY_PLAIN, 0, 0, s_pipelined_mail_fails},
    {"size_declared", SMTPC_SECURITY_PLAIN, 0, 0, s_size_declared},
    {"starttls", SMTPC_SECURITY_STARTTLS, 0, 0, s_starttls},
    {"starttls_injection", SMTPC_SECURITY_STARTTLS, 0, 0, s_injection},
    {"starttls_not_offered", SMTPC_SECURITY_STARTTLS, 0, 0, s_no_starttls},
    {"starttls_454", SMTPC_SECURITY_STARTTLS, 0, 0, s_starttls_454},
    {"auth_insecure", SMTPC_SECURITY_PLAIN, "tim", "tanstaaftanstaaf", s_auth_insecure},
    {"auth_plain_over_tls", SMTPC_SECURITY_STARTTLS, "tim", "tanstaaftanstaaf",
     s_auth_plain_over_tls},
    {"auth_bad_password", SMTPC_SECURITY_STARTTLS, "tim", "tanstaaftanstaaf",
     s_auth_bad_password},
    {"session_only", SMTPC_SECURITY_PLAIN, 0, 0, s_size_too_big_ok_after},
};

/* --- checks made before anything is sent --- */

static smtpc_engine *ready_engine_with(const smtpc_allocator *alloc, const char *ehlo_reply)
{
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(alloc, NULL, 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    const char *greet = "220 hi\r\n";
    smtpc_engine_feed(e, (const uint8_t *)greet, strlen(greet));
    const uint8_t *p;
    size_t n;
    smtpc_engine_output(e, &p, &n);
    smtpc_engine_output_done(e, n);
    smtpc_engine_feed(e, (const uint8_t *)ehlo_reply, strlen(ehlo_reply));
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    assert_int_equal(smtpc_engine_result(e), 0);
    return e;
}

static smtpc_engine *ready_engine(const char *ehlo_reply)
{
    return ready_engine_with(NULL, ehlo_reply);
}

static void test_precheck(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine("250-mx\r\n250 SIZE 100\r\n");
    const char *ok[] = {"b@y.test"};
    const char *bad[] = {"b@y.test", "evil@x>\r\nRCPT TO:<z@z"};
    const char *utf8[] = {"j\xc3\xb6rg@y.test"};
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", ok, 1, 101, 0), SMTPC_ESIZE);
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", bad, 2, -1, 0), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", ok, 1, -1, SMTPC_MAIL_8BITMIME),
                     SMTPC_E8BIT);
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", utf8, 1, -1, 0), SMTPC_EUTF8);
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", ok, 0, -1, 0), SMTPC_ENORECIPIENTS);
    assert_int_equal(smtpc_engine_begin_mail(e, "no-at-sign", ok, 1, -1, 0), SMTPC_EADDRESS);
    assert_int_equal(smtpc_engine_begin_mail(NULL, "a@x.test", ok, 1, -1, 0), SMTPC_EINVAL);
    /* nothing was written and the session is still ready */
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", ok, 1, 100, 0), 0);
    const uint8_t *p;
    size_t n;
    smtpc_engine_output(e, &p, &n);
    assert_memory_equal(p, "MAIL FROM:<a@x.test> SIZE=100\r\n", n);
    /* wrong-state calls */
    assert_int_equal(smtpc_engine_begin_noop(e), SMTPC_ESTATE);
    size_t took;
    assert_int_equal(smtpc_engine_body_write(e, (const uint8_t *)"x", 1, &took), SMTPC_ESTATE);
    assert_int_equal(smtpc_engine_body_end(e), SMTPC_ESTATE);
    smtpc_engine_free(e);
    smtpc_engine_free(NULL);
}

static void test_undeclared_8bit(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine("250-mx\r\n250 8BITMIME\r\n");
    const char *rcpt[] = {"b@y.test"};
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpt, 1, -1, 0), 0);
    const uint8_t *p;
    size_t n;
    smtpc_engine_output(e, &p, &n);
    smtpc_engine_output_done(e, n);
    smtpc_engine_feed(e, (const uint8_t *)"250 ok\r\n", 8);
    smtpc_engine_output(e, &p, &n);
    smtpc_engine_output_done(e, n);
    smtpc_engine_feed(e, (const uint8_t *)"250 ok\r\n", 8);
    smtpc_engine_output(e, &p, &n);
    smtpc_engine_output_done(e, n);
    smtpc_engine_feed(e, (const uint8_t *)"354 go\r\n", 8);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_BODY);
    size_t took = 0;
    assert_int_equal(smtpc_engine_body_write(e, (const uint8_t *)"caf\xc3\xa9", 5, &took),
                     SMTPC_E8BIT);
    assert_int_equal(took, 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    smtpc_engine_free(e);
}

static void test_bad_args(void **state)
{
    (void)state;
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "bad name", 0, 0, &e), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_engine_new(NULL, "x\r\nQUIT", 0, 0, &e), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_engine_new(NULL, NULL, 100, 0, &e), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "u", "p\r\nx"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_engine_set_timeout(e, 99, 1), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_set_security(e, 42), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_feed(e, NULL, 3), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_tls_done(e, 1, 0, NULL), SMTPC_ESTATE);
    assert_int_equal(smtpc_engine_want(NULL), SMTPC_WANT_CLOSE);
    smtpc_engine_free(e);
}

/* More recipients than one pipelined group holds: the engine sends a group,
 * reads its replies, then sends the next; every recipient gets its result. */
static void test_many_recipients_pipelined(void **state)
{
    (void)state;
    enum { N = 150 };
    static char addrs[N][32];
    const char *rcpts[N];
    for (int i = 0; i < N; i++) {
        snprintf(addrs[i], sizeof addrs[i], "user%03d@y.test", i);
        rcpts[i] = addrs[i];
    }
    smtpc_engine *e = ready_engine("250-mx\r\n250 PIPELINING\r\n");
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpts, N, -1, 0), 0);
    size_t rcpt_lines = 0, groups = 0, data_seen = 0;
    while (smtpc_engine_want(e) != SMTPC_WANT_BODY) {
        assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_WRITE);
        const uint8_t *p;
        size_t n;
        smtpc_engine_output(e, &p, &n);
        char reply[8192];
        size_t rlen = 0;
        /* Answer every line of the group: MAIL and RCPTs 250 (every 7th
         * recipient refused), DATA 354. */
        for (size_t off = 0; off < n;) {
            const uint8_t *eol = memchr(p + off, '\n', n - off);
            assert_non_null(eol);
            const char *line = (const char *)p + off;
            const char *r = "250 ok\r\n";
            if (strncmp(line, "RCPT", 4) == 0 && rcpt_lines++ % 7 == 3)
                r = "550 no\r\n";
            if (strncmp(line, "DATA", 4) == 0) {
                r = "354 go\r\n";
                data_seen++;
            }
            memcpy(reply + rlen, r, strlen(r));
            rlen += strlen(r);
            off = (size_t)(eol - p) + 1;
        }
        smtpc_engine_output_done(e, n);
        groups++;
        assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_READ);
        assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)reply, rlen), 0);
    }
    assert_int_equal(rcpt_lines, N);
    assert_int_equal(data_seen, 1);
    assert_true(groups >= 3); /* 64 replies at most per group */
    size_t accepted = 0;
    for (size_t i = 0; i < N; i++) {
        int code = smtpc_engine_rcpt_reply_code(e, i);
        assert_int_equal(code, i % 7 == 3 ? 550 : 250);
        accepted += code == 250;
    }
    assert_int_equal(smtpc_engine_rcpt_accepted_count(e), accepted);
    smtpc_engine_free(e);
}

/* --- review finding #3: bounded replies --- */

static void send_all(smtpc_engine *e)
{
    const uint8_t *p;
    size_t n;
    while (smtpc_engine_want(e) == SMTPC_WANT_WRITE) {
        assert_int_equal(smtpc_engine_output(e, &p, &n), 0);
        assert_int_equal(smtpc_engine_output_done(e, n), 0);
    }
}

/* An engine waiting for the EHLO reply, with the given reply bounds. */
static smtpc_engine *at_ehlo(size_t max_lines, size_t max_bytes)
{
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_set_reply_limits(e, max_lines, max_bytes), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"220 hi\r\n", 8), 0);
    send_all(e);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_READ);
    return e;
}

/* An EHLO reply of n lines, "250-mx" then "250-X-Ln" ..., the last "250 ". */
static char *ehlo_lines(size_t n)
{
    static char buf[1100 * 16];
    assert_true(n <= 1100);
    size_t len = (size_t)sprintf(buf, "250%cmx\r\n", n == 1 ? ' ' : '-');
    for (size_t i = 1; i < n; i++)
        len += (size_t)sprintf(buf + len, "250%cX-L%zu\r\n", i + 1 == n ? ' ' : '-', i);
    return buf;
}

/* Feed s whole or one byte at a time; returns the last feed's result. */
static int feed_str(smtpc_engine *e, const char *s, size_t len, int bytewise)
{
    int rc = 0;
    for (size_t off = 0; off < len && smtpc_engine_want(e) == SMTPC_WANT_READ;) {
        size_t n = bytewise ? 1 : len - off;
        rc = smtpc_engine_feed(e, (const uint8_t *)s + off, n);
        off += n;
    }
    return rc;
}

static void expect_limit(smtpc_engine *e, int rc, const char *bound)
{
    const smtpc_error *err = smtpc_engine_error(e);
    assert_int_equal(rc, SMTPC_EREPLYLIMIT);
    assert_int_equal(smtpc_engine_result(e), SMTPC_EREPLYLIMIT);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    assert_int_equal(smtpc_error_reply_code(err), 250);
    if (!strstr(smtpc_error_message(err), bound))
        fail_msg("message \"%s\" lacks \"%s\"", smtpc_error_message(err), bound);
    assert_string_not_equal(smtpc_strerror(SMTPC_EREPLYLIMIT), "unknown error");
}

static void test_reply_line_limit(void **state)
{
    (void)state;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        /* Exactly at the bound: accepted. */
        char *r = ehlo_lines(7);
        smtpc_engine *e = at_ehlo(7, 0);
        assert_int_equal(feed_str(e, r, strlen(r), bytewise), 0);
        assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
        assert_int_equal(smtpc_engine_result(e), 0);
        smtpc_engine_free(e);
        /* One line over: refused as that line completes, not at the reply's end. */
        r = ehlo_lines(8);
        e = at_ehlo(7, 0);
        expect_limit(e, feed_str(e, r, strlen(r), bytewise), "7 lines");
        smtpc_engine_free(e);
    }
    /* The default: 1000 lines. */
    char *r = ehlo_lines(1000);
    smtpc_engine *e = at_ehlo(0, 0);
    assert_int_equal(feed_str(e, r, strlen(r), 0), 0);
    assert_int_equal(smtpc_engine_result(e), 0);
    smtpc_engine_free(e);
    r = ehlo_lines(1001);
    e = at_ehlo(0, 0);
    expect_limit(e, feed_str(e, r, strlen(r), 0), "1000 lines");
    smtpc_engine_free(e);
}

/* A reply of exactly len bytes: "250-mx\r\n", continuation lines of x, and
 * a last "250 " line padded to the length. */
static char *reply_of(size_t len)
{
    static char buf[70000];
    assert_true(len < sizeof buf);
    size_t off = 0;
    memcpy(buf, "250-mx\r\n", 8);
    off = 8;
    while (len - off > 200) {
        memcpy(buf + off, "250-", 4);
        memset(buf + off + 4, 'x', 94);
        memcpy(buf + off + 98, "\r\n", 2);
        off += 100;
    }
    size_t last = len - off; /* "250 " + pad + CRLF */
    memcpy(buf + off, "250 ", 4);
    memset(buf + off + 4, 'y', last - 6);
    memcpy(buf + off + last - 2, "\r\n", 2);
    buf[len] = '\0';
    return buf;
}

static void test_reply_byte_limit(void **state)
{
    (void)state;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        char *r = reply_of(1000);
        smtpc_engine *e = at_ehlo(0, 1000);
        assert_int_equal(feed_str(e, r, 1000, bytewise), 0);
        assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
        assert_int_equal(smtpc_engine_result(e), 0);
        smtpc_engine_free(e);
        r = reply_of(1001);
        e = at_ehlo(0, 1000);
        expect_limit(e, feed_str(e, r, 1001, bytewise), "1000 bytes");
        smtpc_engine_free(e);
    }
    /* The bound is checked as bytes arrive: a reply that never ends fails
     * at its 1001st byte, not at a line end. */
    char *r = reply_of(4000);
    smtpc_engine *e = at_ehlo(0, 1000);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)r, 1000), 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_READ);
    expect_limit(e, smtpc_engine_feed(e, (const uint8_t *)r + 1000, 1), "1000 bytes");
    smtpc_engine_free(e);
    /* Each reply has its own count: the 8-byte greeting did not use any. */
    r = reply_of(65536);
    e = at_ehlo(0, 0);
    assert_int_equal(feed_str(e, r, 65536, 0), 0);
    assert_int_equal(smtpc_engine_result(e), 0);
    smtpc_engine_free(e);
    r = reply_of(65537);
    e = at_ehlo(0, 0);
    expect_limit(e, feed_str(e, r, 65537, 0), "65536 bytes");
    smtpc_engine_free(e);
    /* Arguments. */
    assert_int_equal(smtpc_engine_set_reply_limits(NULL, 1, 1000), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_reply_limits(e, 1, 511), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_set_reply_limits(e, 1, 512), 0);
    smtpc_engine_free(e);
}

/* --- review finding #20: feed returns the error that ended the operation --- */

static void test_feed_returns_result(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine("250-mx\r\n250 8BITMIME\r\n");
    const char *rcpt[] = {"b@y.test"};
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpt, 1, -1, 0), 0);
    send_all(e);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"250 ok\r\n", 8), 0);
    send_all(e);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"250 ok\r\n", 8), 0);
    send_all(e);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"354 go\r\n", 8), 0);
    assert_int_equal(smtpc_engine_body_end(e), 0);
    send_all(e);
    /* A 554 to the final dot ends the operation: feed says so. */
    const char *verdict = "554 5.7.1 rejected\r\n";
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)verdict, strlen(verdict)),
                     SMTPC_EMESSAGE);
    assert_int_equal(smtpc_engine_result(e), SMTPC_EMESSAGE);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    /* The session goes on; a successful operation feeds 0. */
    assert_int_equal(smtpc_engine_begin_noop(e), 0);
    send_all(e);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"250 ok\r\n", 8), 0);
    assert_int_equal(smtpc_engine_result(e), 0);
    smtpc_engine_free(e);

    /* A refused greeting: the error while the polite QUIT is pending. */
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"554 no\r\n", 8), SMTPC_EGREETING);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_WRITE);
    send_all(e);
    assert_int_equal(smtpc_engine_feed(e, (const uint8_t *)"221 bye\r\n", 9), SMTPC_EGREETING);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    smtpc_engine_free(e);
}

/* --- review finding #16: the recipient table's size cannot wrap --- */

static void test_rcpt_table_overflow(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_engine *e = ready_engine_with(&heap.hook, "250-mx\r\n250 8BITMIME\r\n");
    /* n * sizeof (result) wraps to a few bytes; the array behind it is
     * never read that far. */
    const char *rcpts[] = {"b@y.test", NULL};
    size_t n = SIZE_MAX / sizeof(smtpc_rcpt_result) + 1;
    long before = heap.count;
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpts, n, -1, 0), SMTPC_ENOMEM);
    assert_int_equal(heap.count, before); /* the allocator was not asked */
    assert_non_null(strstr(smtpc_error_message(smtpc_engine_error(e)), "too many recipients"));
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    /* The session is still usable. */
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpts, 1, -1, 0), 0);
    smtpc_engine_free(e);
    assert_int_equal(heap.live_bytes, 0);
    assert_int_equal(heap.bad_frees, 0);
}

/* --- consolidation issue: what a driver of its own needs, public --- */

static int feed_text(smtpc_engine *e, const char *s)
{
    return smtpc_engine_feed(e, (const uint8_t *)s, strlen(s));
}

/* The stage timeouts read back (the client's connect and whole-message
 * deadlines come from here), and the reply count a whole-reply deadline
 * restarts on: it moves once per complete reply, never on a partial one. */
static void test_driver_timeouts_and_replies(void **state)
{
    (void)state;
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, &e), 0);
    int ms = 0;
    assert_int_equal(smtpc_engine_get_timeout(e, SMTPC_TIMEOUT_CONNECT, &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(smtpc_engine_get_timeout(e, SMTPC_TIMEOUT_MESSAGE, &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(smtpc_engine_set_timeout(e, SMTPC_TIMEOUT_MESSAGE, 1234), 0);
    assert_int_equal(smtpc_engine_get_timeout(e, SMTPC_TIMEOUT_MESSAGE, &ms), 0);
    assert_int_equal(ms, 1234);
    assert_int_equal(smtpc_engine_set_timeout(e, SMTPC_TIMEOUT_DATA_END, -7), 0);
    assert_int_equal(smtpc_engine_get_timeout(e, SMTPC_TIMEOUT_DATA_END, &ms), 0);
    assert_int_equal(ms, -1);
    ms = 99;
    assert_int_equal(smtpc_engine_get_timeout(NULL, 0, &ms), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_get_timeout(e, -1, &ms), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_get_timeout(e, SMTPC_TIMEOUT_COUNT, &ms), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_get_timeout(e, 0, NULL), SMTPC_EINVAL);
    assert_int_equal(ms, 99);

    assert_int_equal(smtpc_engine_reply_count(NULL), 0);
    assert_int_equal(smtpc_engine_reply_count(e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(feed_text(e, "220 h"), 0); /* a dripping server */
    assert_int_equal(smtpc_engine_reply_count(e), 0);
    assert_int_equal(feed_text(e, "i\r\n"), 0);
    assert_int_equal(smtpc_engine_reply_count(e), 1);
    send_all(e);
    assert_int_equal(feed_text(e, "250-mx\r\n250-PIPELINING\r\n"), 0);
    assert_int_equal(smtpc_engine_reply_count(e), 1); /* continuation lines only */
    assert_int_equal(feed_text(e, "250 8BITMIME\r\n"), 0);
    assert_int_equal(smtpc_engine_reply_count(e), 2);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    /* Pipelined replies in one read: one each. */
    const char *rcpts[] = {"b@y.test", "c@y.test"};
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpts, 2, -1, 0), 0);
    send_all(e);
    assert_int_equal(feed_text(e, "250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n"), 0);
    assert_int_equal(smtpc_engine_reply_count(e), 6);
    assert_int_equal(smtpc_engine_reset(e), 0);
    assert_int_equal(smtpc_engine_reply_count(e), 0);
    smtpc_engine_free(e);
}

/* body_ended marks the point after which a lost connection leaves the
 * message's fate unknown; the recipient table is readable by count, and a
 * 250 to RCPT after MAIL FROM was refused is not an acceptance. */
static void test_driver_transaction_state(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine("250-mx\r\n250 PIPELINING\r\n");
    assert_int_equal(smtpc_engine_body_ended(NULL), 0);
    assert_int_equal(smtpc_engine_rcpt_count(NULL), 0);
    assert_int_equal(smtpc_engine_rcpt_accepted(NULL, 0), 0);
    assert_int_equal(smtpc_engine_rcpt_count(e), 0);
    const char *rcpts[] = {"b@y.test", "c@y.test", "d@y.test"};
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpts, 3, -1, 0), 0);
    assert_int_equal(smtpc_engine_rcpt_count(e), 3);
    send_all(e);
    assert_int_equal(feed_text(e, "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"), 0);
    assert_int_equal(smtpc_engine_rcpt_accepted(e, 0), 1);
    assert_int_equal(smtpc_engine_rcpt_accepted(e, 1), 0);
    assert_int_equal(smtpc_engine_rcpt_accepted(e, 2), 1);
    assert_int_equal(smtpc_engine_rcpt_accepted(e, 3), 0); /* out of range */
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_BODY);
    assert_int_equal(smtpc_engine_body_ended(e), 0);
    assert_int_equal(smtpc_engine_body_end(e), 0);
    assert_int_equal(smtpc_engine_body_ended(e), 1);
    send_all(e);
    assert_int_equal(feed_text(e, "250 queued\r\n"), 0);
    assert_int_equal(smtpc_engine_body_ended(e), 1); /* until the next transaction */
    assert_int_equal(smtpc_engine_message_status(e), SMTPC_MESSAGE_ACCEPTED);

    /* MAIL FROM refused, RCPTs answered 250 anyway: none accepted. */
    assert_int_equal(smtpc_engine_begin_mail(e, "a@x.test", rcpts, 2, -1, 0), 0);
    assert_int_equal(smtpc_engine_body_ended(e), 0);
    assert_int_equal(smtpc_engine_rcpt_count(e), 2);
    send_all(e);
    feed_text(e, "550 no sender\r\n250 ok\r\n250 ok\r\n");
    send_all(e);
    feed_text(e, "354 go\r\n"); /* answered with a lone "." */
    send_all(e);
    feed_text(e, "250 ok\r\n");
    send_all(e);
    feed_text(e, "250 ok\r\n"); /* RSET */
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    assert_int_equal(smtpc_engine_rcpt_reply_code(e, 0), 250);
    assert_int_equal(smtpc_engine_rcpt_accepted(e, 0), 0);
    assert_int_equal(smtpc_engine_rcpt_accepted(e, 1), 0);
    assert_int_equal(smtpc_engine_result(e), SMTPC_EMAILFROM);
    smtpc_engine_free(e);
}

/* Settings for the next session are taken once the last one is over, and
 * leave its results alone. Before, the engine refused them (SMTPC_ESTATE)
 * and the client had to lift its internal state around the call. */
static void test_settings_after_session(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine("250-mx\r\n250 8BITMIME\r\n");
    /* During a session: refused. */
    assert_int_equal(smtpc_engine_set_ehlo_name(e, "next.test"), SMTPC_ESTATE);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_IMPLICIT_TLS), SMTPC_ESTATE);
    assert_int_equal(smtpc_engine_begin_quit(e), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "u", "p"), SMTPC_ESTATE); /* op running */
    send_all(e);
    assert_int_equal(feed_text(e, "221 bye\r\n"), 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    /* Over: taken, and the ended session's results stay. */
    assert_int_equal(smtpc_engine_set_ehlo_name(e, "next.test"), 0);
    assert_int_equal(smtpc_engine_set_ehlo_name(e, "bad name"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_engine_set_credentials(e, "u", "p"), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, NULL, NULL), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_IMPLICIT_TLS), 0);
    assert_int_equal(smtpc_engine_is_encrypted(e), 0);
    assert_int_equal(smtpc_engine_capabilities(e) & SMTPC_CAP_8BITMIME, SMTPC_CAP_8BITMIME);
    assert_int_equal(smtpc_engine_begin_session(e), SMTPC_ESTATE); /* reset first */
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_reset(e), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(feed_text(e, "220 hi\r\n"), 0);
    const uint8_t *p;
    size_t n;
    assert_int_equal(smtpc_engine_output(e, &p, &n), 0);
    assert_int_equal(n, strlen("EHLO next.test\r\n"));
    assert_memory_equal(p, "EHLO next.test\r\n", n);
    smtpc_engine_free(e);
}

int main(void)
{
    struct CMUnitTest tests[sizeof scripts / sizeof scripts[0] + 11];
    size_t n = 0;
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        tests[n].name = scripts[i].name;
        tests[n].test_func = run_script;
        tests[n].setup_func = NULL;
        tests[n].teardown_func = NULL;
        tests[n].initial_state = (void *)&scripts[i];
        n++;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_precheck);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_undeclared_8bit);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_args);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_recipients_pipelined);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reply_line_limit);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reply_byte_limit);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_feed_returns_result);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rcpt_table_overflow);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_driver_timeouts_and_replies);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_driver_transaction_state);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_settings_after_session);
    return _cmocka_run_group_tests("engine", tests, n, NULL, NULL);
}
