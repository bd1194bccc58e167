/* DSN (RFC 3461) and REQUIRETLS (RFC 8689): xtext, the MAIL and RCPT
 * parameters on the wire, and the refusals before MAIL when the session
 * cannot honour them. The engine is fed bytes; what it writes is compared
 * whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "command_writer.h"
#include "smtpc.h"
#include "xtext.h"

/* ---- xtext ---- */

static void xtext_is(const char *in, size_t len, const char *want)
{
    char out[256];
    size_t n = smtpc_xtext_len(in, len);
    assert_int_equal(n, strlen(want));
    assert_int_equal(smtpc_xtext_encode(in, len, out), n);
    out[n] = '\0';
    assert_string_equal(out, want);
}

static void test_xtext(void **state)
{
    (void)state;
    xtext_is("", 0, "");
    xtext_is("abc@example.com", 15, "abc@example.com");
    /* the edges of the plain range: '!' and '~' stand, space and DEL do not */
    xtext_is("!~", 2, "!~");
    xtext_is(" ", 1, "+20");
    xtext_is("\x7f", 1, "+7F");
    /* '+' and '=' are the two printable characters always encoded */
    xtext_is("a+b=c", 5, "a+2Bb+3Dc");
    xtext_is("++", 2, "+2B+2B");
    /* controls, NUL inside a length, and 8-bit bytes; hex is upper case */
    xtext_is("\r\n\t", 3, "+0D+0A+09");
    xtext_is("x\0y", 3, "x+00y");
    xtext_is("\xc3\xa9\xff", 3, "+C3+A9+FF");
}

/* ---- command writer ---- */

static const char *mail_line(int flags, const char *envid, int *rc)
{
    static char buf[SMTPC_COMMAND_MAX + 1];
    size_t len = 0;
    *rc = smtpc_cmd_mail_ext((uint8_t *)buf, SMTPC_COMMAND_MAX, &len, "a@b.example", 12, flags,
                             envid);
    buf[len] = '\0';
    return buf;
}

static const char *rcpt_line(int notify, const char *orcpt, int *rc)
{
    static char buf[SMTPC_COMMAND_MAX + 1];
    size_t len = 0;
    *rc = smtpc_cmd_rcpt_ext((uint8_t *)buf, SMTPC_COMMAND_MAX, &len, "r@c.example", notify,
                             orcpt);
    buf[len] = '\0';
    return buf;
}

static void test_writer(void **state)
{
    (void)state;
    int rc;
    assert_string_equal(mail_line(SMTPC_CMD_RET_HDRS, "q+1 x=y", &rc),
                        "MAIL FROM:<a@b.example> SIZE=12 RET=HDRS ENVID=q+2B1+20x+3Dy\r\n");
    assert_int_equal(rc, 0);
    assert_string_equal(mail_line(SMTPC_CMD_RET_FULL | SMTPC_CMD_REQUIRETLS |
                                      SMTPC_CMD_BODY_8BITMIME,
                                  NULL, &rc),
                        "MAIL FROM:<a@b.example> SIZE=12 BODY=8BITMIME RET=FULL REQUIRETLS\r\n");
    assert_int_equal(rc, 0);
    /* nothing written on a refusal */
    assert_string_equal(mail_line(SMTPC_CMD_RET_FULL | SMTPC_CMD_RET_HDRS, NULL, &rc), "");
    assert_int_equal(rc, SMTPC_EINVAL);
    mail_line(0, "", &rc);
    assert_int_equal(rc, SMTPC_EINVAL);
    mail_line(0, "id\r\nRSET", &rc);
    assert_int_equal(rc, SMTPC_EBADCHAR);
    /* ENVID: 100 octets once encoded is the limit */
    char envid[101];
    memset(envid, 'e', 100);
    envid[100] = '\0';
    mail_line(0, envid, &rc);
    assert_int_equal(rc, 0);
    envid[99] = '+'; /* 102 encoded */
    mail_line(0, envid, &rc);
    assert_int_equal(rc, SMTPC_ETOOLONG);

    assert_string_equal(rcpt_line(SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_FAILURE |
                                      SMTPC_NOTIFY_DELAY,
                                  "Orig+1@c.example", &rc),
                        "RCPT TO:<r@c.example> NOTIFY=SUCCESS,FAILURE,DELAY "
                        "ORCPT=rfc822;Orig+2B1@c.example\r\n");
    assert_int_equal(rc, 0);
    assert_string_equal(rcpt_line(SMTPC_NOTIFY_NEVER, NULL, &rc),
                        "RCPT TO:<r@c.example> NOTIFY=NEVER\r\n");
    assert_string_equal(rcpt_line(SMTPC_NOTIFY_DELAY, NULL, &rc),
                        "RCPT TO:<r@c.example> NOTIFY=DELAY\r\n");
    assert_string_equal(rcpt_line(0, "\xc3\xa9@c.example", &rc),
                        "RCPT TO:<r@c.example> ORCPT=rfc822;+C3+A9@c.example\r\n");
    /* NEVER combined with another, and unknown bits */
    assert_string_equal(rcpt_line(SMTPC_NOTIFY_NEVER | SMTPC_NOTIFY_SUCCESS, NULL, &rc), "");
    assert_int_equal(rc, SMTPC_EINVAL);
    rcpt_line(0x10, NULL, &rc);
    assert_int_equal(rc, SMTPC_EINVAL);
    rcpt_line(0, "x\ny@c.example", &rc);
    assert_int_equal(rc, SMTPC_EBADCHAR);
    /* a line that would pass 512 octets */
    char orcpt[400];
    memset(orcpt, '=', 399);
    orcpt[399] = '\0';
    rcpt_line(0, orcpt, &rc);
    assert_int_equal(rc, SMTPC_ETOOLONG);
}

/* ---- the engine ---- */

typedef struct conn {
    smtpc_engine *e;
    char sent[8192];
    size_t sent_len;
    char trace[2048];
} conn;

static void on_trace(void *user, int dir, const char *text, size_t len)
{
    conn *c = user;
    if (dir == SMTPC_TRACE_INFO && strlen(c->trace) + len + 2 < sizeof c->trace) {
        strncat(c->trace, text, len);
        strcat(c->trace, "\n");
    }
}

static void drain(conn *c)
{
    while (smtpc_engine_want(c->e) == SMTPC_WANT_WRITE) {
        const uint8_t *p;
        size_t n;
        assert_int_equal(smtpc_engine_output(c->e, &p, &n), 0);
        assert_true(c->sent_len + n < sizeof c->sent);
        memcpy(c->sent + c->sent_len, p, n);
        c->sent_len += n;
        c->sent[c->sent_len] = '\0';
        assert_int_equal(smtpc_engine_output_done(c->e, n), 0);
    }
}

static void srv(conn *c, const char *s)
{
    smtpc_engine_feed(c->e, (const uint8_t *)s, strlen(s));
    drain(c);
}

/* The bytes the client sent since the last call. */
static void expect_sent(conn *c, const char *want)
{
    assert_string_equal(c->sent, want);
    c->sent_len = 0;
    c->sent[0] = '\0';
}

/* A ready session. tls: -1 plaintext, else the ok given to tls_done over
 * implicit TLS (SMTPC_TLS_DONE_OK or SMTPC_TLS_DONE_VERIFIED). caps: the
 * EHLO keyword lines, each ending in CRLF and starting "250-". */
static void up(conn *c, int tls, const char *caps)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &c->e), 0);
    smtpc_engine_set_trace(c->e, on_trace, c);
    smtpc_engine_set_security(c->e, tls < 0 ? SMTPC_SECURITY_PLAIN
                                            : SMTPC_SECURITY_IMPLICIT_TLS);
    assert_int_equal(smtpc_engine_begin_session(c->e), 0);
    if (tls >= 0) {
        assert_int_equal(smtpc_engine_want(c->e), SMTPC_WANT_TLS);
        assert_int_equal(smtpc_engine_tls_done(c->e, tls, 0, NULL), 0);
    }
    srv(c, "220 mx.test ESMTP\r\n");
    expect_sent(c, "EHLO client.test\r\n");
    char reply[512];
    snprintf(reply, sizeof reply, "250-mx.test\r\n%s250 8BITMIME\r\n", caps);
    srv(c, reply);
    assert_int_equal(smtpc_engine_want(c->e), SMTPC_WANT_IDLE);
    assert_int_equal(smtpc_engine_result(c->e), 0);
    assert_int_equal(smtpc_engine_tls_verified(c->e), tls == SMTPC_TLS_DONE_VERIFIED);
}

static void down(conn *c)
{
    smtpc_engine_free(c->e);
}

static const char *const two[] = {"one@c.example", "two@c.example"};

/* Without PIPELINING: the envelope one command at a time, then a body. */
static void deliver(conn *c, const char *mail, const char *rcpt1, const char *rcpt2)
{
    drain(c);
    expect_sent(c, mail);
    srv(c, "250 ok\r\n");
    expect_sent(c, rcpt1);
    srv(c, "250 ok\r\n");
    expect_sent(c, rcpt2);
    srv(c, "250 ok\r\n");
    expect_sent(c, "DATA\r\n");
    srv(c, "354 go\r\n");
    size_t took = 0;
    assert_int_equal(smtpc_engine_body_write(c->e, (const uint8_t *)"Hi\r\n", 4, &took), 0);
    assert_int_equal(took, 4);
    assert_int_equal(smtpc_engine_body_end(c->e), 0);
    drain(c);
    expect_sent(c, "Hi\r\n.\r\n");
    srv(c, "250 queued\r\n");
    assert_int_equal(smtpc_engine_result(c->e), 0);
    assert_int_equal(smtpc_engine_message_status(c->e), SMTPC_MESSAGE_ACCEPTED);
}

static void test_dsn_on_wire(void **state)
{
    (void)state;
    conn c;
    up(&c, -1, "250-DSN\r\n");
    assert_true(smtpc_engine_capabilities(c.e) & SMTPC_CAP_DSN);
    const int notify[] = {SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_FAILURE, SMTPC_NOTIFY_NEVER};
    const char *const orcpt[] = {"Orig=1@c.example", NULL};
    smtpc_dsn dsn = {SMTPC_DSN_RET_HDRS, "env id+1", notify, orcpt};
    assert_int_equal(smtpc_engine_begin_mail_dsn(c.e, "a@b.example", two, 2, 4, 0, &dsn), 0);
    deliver(&c, "MAIL FROM:<a@b.example> RET=HDRS ENVID=env+20id+2B1\r\n",
            "RCPT TO:<one@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Orig+3D1@c.example\r\n",
            "RCPT TO:<two@c.example> NOTIFY=NEVER\r\n");
    /* the next transaction without DSN carries none */
    assert_int_equal(smtpc_engine_begin_mail(c.e, "a@b.example", two, 2, -1, 0), 0);
    deliver(&c, "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<one@c.example>\r\n",
            "RCPT TO:<two@c.example>\r\n");
    /* only RET; an all-empty request is no request */
    smtpc_dsn ret_only = {SMTPC_DSN_RET_FULL, NULL, NULL, NULL};
    assert_int_equal(smtpc_engine_begin_mail_dsn(c.e, "a@b.example", two, 2, -1, 0, &ret_only),
                     0);
    deliver(&c, "MAIL FROM:<a@b.example> RET=FULL\r\n", "RCPT TO:<one@c.example>\r\n",
            "RCPT TO:<two@c.example>\r\n");
    down(&c);
}

/* With PIPELINING the parameters ride in the one envelope write. */
static void test_dsn_pipelined(void **state)
{
    (void)state;
    conn c;
    up(&c, -1, "250-PIPELINING\r\n250-DSN\r\n");
    const int notify[] = {SMTPC_NOTIFY_DELAY, 0};
    const char *const orcpt[] = {NULL, "two@c.example"};
    smtpc_dsn dsn = {0, NULL, notify, orcpt};
    assert_int_equal(smtpc_engine_begin_mail_dsn(c.e, "", two, 2, -1, 0, &dsn), 0);
    drain(&c);
    expect_sent(&c, "MAIL FROM:<>\r\n"
                    "RCPT TO:<one@c.example> NOTIFY=DELAY\r\n"
                    "RCPT TO:<two@c.example> ORCPT=rfc822;two@c.example\r\n"
                    "DATA\r\n");
    down(&c);
}

static void test_dsn_not_offered(void **state)
{
    (void)state;
    conn c;
    up(&c, -1, "250-PIPELINING\r\n");
    const int notify[] = {SMTPC_NOTIFY_FAILURE, SMTPC_NOTIFY_FAILURE};
    smtpc_dsn dsn = {0, "id1", notify, NULL};
    assert_int_equal(smtpc_engine_begin_mail_dsn(c.e, "a@b.example", two, 2, -1, 0, &dsn),
                     SMTPC_ENODSN);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(c.e)), SMTPC_ENODSN);
    assert_non_null(strstr(smtpc_error_message(smtpc_engine_error(c.e)), "does not offer DSN"));
    assert_int_equal(smtpc_engine_want(c.e), SMTPC_WANT_IDLE); /* nothing sent */
    drain(&c);
    expect_sent(&c, "");
    /* allowed: the parameters are dropped, the message goes */
    assert_int_equal(smtpc_engine_begin_mail_dsn(c.e, "a@b.example", two, 2, -1,
                                                 SMTPC_MAIL_DSN_OPTIONAL, &dsn),
                     0);
    drain(&c);
    expect_sent(&c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<one@c.example>\r\n"
                    "RCPT TO:<two@c.example>\r\nDATA\r\n");
    assert_non_null(strstr(c.trace, "does not offer DSN"));
    down(&c);
}

static void test_dsn_bad_requests(void **state)
{
    (void)state;
    conn c;
    up(&c, -1, "250-DSN\r\n");
    const int bad_notify[] = {0, SMTPC_NOTIFY_NEVER | SMTPC_NOTIFY_DELAY};
    const char *const bad_orcpt[] = {"x\r\nQUIT", NULL};
    const char *const empty_orcpt[] = {NULL, ""};
    smtpc_dsn cases[] = {
        {3, NULL, NULL, NULL},
        {0, "", NULL, NULL},
        {0, "a\nb", NULL, NULL},
        {0, NULL, bad_notify, NULL},
        {0, NULL, NULL, bad_orcpt},
        {0, NULL, NULL, empty_orcpt},
    };
    const int codes[] = {SMTPC_EINVAL, SMTPC_EINVAL, SMTPC_EBADCHAR,
                         SMTPC_EINVAL, SMTPC_EBADCHAR, SMTPC_EINVAL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(
            smtpc_engine_begin_mail_dsn(c.e, "a@b.example", two, 2, -1, 0, &cases[i]),
            codes[i]);
        assert_int_equal(smtpc_error_code(smtpc_engine_error(c.e)), codes[i]);
        assert_int_equal(smtpc_engine_want(c.e), SMTPC_WANT_IDLE);
    }
    /* the session is still usable: nothing went out */
    expect_sent(&c, "");
    assert_int_equal(smtpc_engine_begin_noop(c.e), 0);
    drain(&c);
    expect_sent(&c, "NOOP\r\n");
    down(&c);
}

static void requiretls_refused(int tls, const char *caps, const char *why)
{
    conn c;
    up(&c, tls, caps);
    assert_int_equal(smtpc_engine_begin_mail(c.e, "a@b.example", two, 2, -1,
                                             SMTPC_MAIL_REQUIRETLS),
                     SMTPC_EREQUIRETLS);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(c.e)), SMTPC_EREQUIRETLS);
    assert_non_null(strstr(smtpc_error_message(smtpc_engine_error(c.e)), why));
    assert_int_equal(smtpc_engine_want(c.e), SMTPC_WANT_IDLE);
    drain(&c);
    expect_sent(&c, "");
    /* the same message without the flag goes on the same session */
    assert_int_equal(smtpc_engine_begin_mail(c.e, "a@b.example", two, 2, -1, 0), 0);
    drain(&c);
    expect_sent(&c, "MAIL FROM:<a@b.example>\r\n");
    down(&c);
}

static void test_requiretls(void **state)
{
    (void)state;
    requiretls_refused(-1, "250-REQUIRETLS\r\n", "not encrypted");
    requiretls_refused(SMTPC_TLS_DONE_OK, "250-REQUIRETLS\r\n", "not verified");
    requiretls_refused(SMTPC_TLS_DONE_VERIFIED, "250-DSN\r\n", "does not offer REQUIRETLS");

    conn c;
    up(&c, SMTPC_TLS_DONE_VERIFIED, "250-REQUIRETLS\r\n250-DSN\r\n");
    assert_true(smtpc_engine_capabilities(c.e) & SMTPC_CAP_REQUIRETLS);
    const int notify[] = {SMTPC_NOTIFY_FAILURE, SMTPC_NOTIFY_FAILURE};
    smtpc_dsn dsn = {SMTPC_DSN_RET_HDRS, NULL, notify, NULL};
    assert_int_equal(smtpc_engine_begin_mail_dsn(c.e, "a@b.example", two, 2, 4,
                                                 SMTPC_MAIL_REQUIRETLS | SMTPC_MAIL_8BITMIME,
                                                 &dsn),
                     0);
    deliver(&c, "MAIL FROM:<a@b.example> BODY=8BITMIME RET=HDRS REQUIRETLS\r\n",
            "RCPT TO:<one@c.example> NOTIFY=FAILURE\r\n",
            "RCPT TO:<two@c.example> NOTIFY=FAILURE\r\n");
    /* REQUIRETLS is checked before DSN: neither goes out without the other's
     * conditions either */
    down(&c);

    /* STARTTLS: verification reported after the upgrade counts */
    memset(&c, 0, sizeof c);
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &c.e), 0);
    assert_int_equal(smtpc_engine_begin_session(c.e), 0);
    srv(&c, "220 mx.test\r\n");
    expect_sent(&c, "EHLO client.test\r\n");
    srv(&c, "250-mx.test\r\n250 STARTTLS\r\n");
    expect_sent(&c, "STARTTLS\r\n");
    srv(&c, "220 go\r\n");
    assert_int_equal(smtpc_engine_want(c.e), SMTPC_WANT_TLS);
    assert_int_equal(smtpc_engine_tls_done(c.e, SMTPC_TLS_DONE_VERIFIED, 0, NULL), 0);
    drain(&c);
    expect_sent(&c, "EHLO client.test\r\n");
    srv(&c, "250-mx.test\r\n250 REQUIRETLS\r\n");
    assert_int_equal(smtpc_engine_tls_verified(c.e), 1);
    assert_int_equal(smtpc_engine_begin_mail(c.e, "a@b.example", two, 1, -1,
                                             SMTPC_MAIL_REQUIRETLS),
                     0);
    drain(&c);
    expect_sent(&c, "MAIL FROM:<a@b.example> REQUIRETLS\r\n");
    /* a reset forgets the verification */
    smtpc_engine_reset(c.e);
    assert_int_equal(smtpc_engine_tls_verified(c.e), 0);
    down(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xtext),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_dsn_on_wire),
        cmocka_unit_test(test_dsn_pipelined),
        cmocka_unit_test(test_dsn_not_offered),
        cmocka_unit_test(test_dsn_bad_requests),
        cmocka_unit_test(test_requiretls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
