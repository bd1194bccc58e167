/* The engine's error record on refused calls (review finding #13 (engine)):
 * every setter, every begin_* in the wrong state, and the pump calls made at
 * the wrong time or with bad arguments set the record, with the code they
 * return and a message naming the call that is not left over from before.
 * A refusal must not disturb the session's own error: a sticky error still
 * comes back from the calls that report it, and the error that started a
 * polite QUIT still stands once the QUIT is answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtpc.h"

/* --- driving an engine by hand --- */

static void drain(smtpc_engine *e)
{
    while (smtpc_engine_want(e) == SMTPC_WANT_WRITE) {
        const uint8_t *p;
        size_t n;
        assert_int_equal(smtpc_engine_output(e, &p, &n), 0);
        assert_int_equal(smtpc_engine_output_done(e, n), 0);
    }
}

static int feed(smtpc_engine *e, const char *s)
{
    return smtpc_engine_feed(e, (const uint8_t *)s, strlen(s));
}

static const char *const one_rcpt[] = {"r@x.test"};

enum {
    FRESH,      /* created, no session yet */
    GREETING,   /* session begun, the greeting awaited */
    READY,      /* EHLO done, idle */
    UNSENT,     /* NOOP queued, its line not yet taken */
    BODY_ENDED, /* the final dot queued, its reply awaited */
    QUIT_DONE,  /* QUIT answered with 221: over, no error */
};

static smtpc_engine *engine_in(int state)
{
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    if (state == FRESH)
        return e;
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    if (state == GREETING)
        return e;
    assert_int_equal(feed(e, "220 srv.test ESMTP\r\n"), 0);
    drain(e);
    assert_int_equal(feed(e, "250 srv.test\r\n"), 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    if (state == READY)
        return e;
    if (state == UNSENT) {
        assert_int_equal(smtpc_engine_begin_noop(e), 0);
        return e;
    }
    if (state == BODY_ENDED) {
        assert_int_equal(smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, 0), 0);
        drain(e);
        assert_int_equal(feed(e, "250 ok\r\n"), 0);
        drain(e);
        assert_int_equal(feed(e, "250 ok\r\n"), 0);
        drain(e);
        assert_int_equal(feed(e, "354 go\r\n"), 0);
        assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_BODY);
        assert_int_equal(smtpc_engine_body_end(e), 0);
        drain(e);
        return e;
    }
    assert_int_equal(smtpc_engine_begin_quit(e), 0);
    drain(e);
    assert_int_equal(feed(e, "221 bye\r\n"), 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    return e;
}

/* --- the refusals --- */

static int set_security_99(smtpc_engine *e) { return smtpc_engine_set_security(e, 99); }
static int set_security_ok(smtpc_engine *e)
{
    return smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN);
}
static int set_timeout_99(smtpc_engine *e) { return smtpc_engine_set_timeout(e, 99, 10); }
static int set_timeout_neg(smtpc_engine *e) { return smtpc_engine_set_timeout(e, -1, 10); }
static int get_timeout_99(smtpc_engine *e)
{
    int ms;
    return smtpc_engine_get_timeout(e, 99, &ms);
}
static int get_timeout_null(smtpc_engine *e)
{
    return smtpc_engine_get_timeout(e, SMTPC_TIMEOUT_COMMAND, NULL);
}
static int reply_limits_100(smtpc_engine *e) { return smtpc_engine_set_reply_limits(e, 0, 100); }
static int out_size_small(smtpc_engine *e) { return smtpc_engine_set_output_size(e, 1023); }
static int out_size_ok(smtpc_engine *e) { return smtpc_engine_set_output_size(e, 2048); }
static int ehlo_null(smtpc_engine *e) { return smtpc_engine_set_ehlo_name(e, NULL); }
static int ehlo_empty(smtpc_engine *e) { return smtpc_engine_set_ehlo_name(e, ""); }
static int ehlo_long(smtpc_engine *e)
{
    char name[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    return smtpc_engine_set_ehlo_name(e, name);
}
static int ehlo_space(smtpc_engine *e) { return smtpc_engine_set_ehlo_name(e, "a b"); }
static int ehlo_ok(smtpc_engine *e) { return smtpc_engine_set_ehlo_name(e, "other.test"); }
static int cred_no_pw(smtpc_engine *e) { return smtpc_engine_set_credentials(e, "u", NULL); }
static int cred_user_crlf(smtpc_engine *e)
{
    return smtpc_engine_set_credentials(e, "u\r\nRSET", "p");
}
static int cred_pw_lf(smtpc_engine *e) { return smtpc_engine_set_credentials(e, "u", "p\n"); }
static int cred_ok(smtpc_engine *e) { return smtpc_engine_set_credentials(e, "u", "p"); }
static int token_null(smtpc_engine *e) { return smtpc_engine_set_oauth_token(e, "u", NULL); }
static int token_cr(smtpc_engine *e) { return smtpc_engine_set_oauth_token(e, "u", "t\r"); }
static int token_ok(smtpc_engine *e) { return smtpc_engine_set_oauth_token(e, "u", "t"); }
static int mechs_zero(smtpc_engine *e) { return smtpc_engine_set_auth_mechanisms(e, 0); }
static int mechs_unknown(smtpc_engine *e)
{
    return smtpc_engine_set_auth_mechanisms(e, 1 << 20);
}
static int output_no_data(smtpc_engine *e)
{
    size_t n;
    return smtpc_engine_output(e, NULL, &n);
}
static int output_no_len(smtpc_engine *e)
{
    const uint8_t *p;
    return smtpc_engine_output(e, &p, NULL);
}
static int output_done_1(smtpc_engine *e) { return smtpc_engine_output_done(e, 1); }
static int output_done_big(smtpc_engine *e) { return smtpc_engine_output_done(e, 100000); }
static int feed_null(smtpc_engine *e) { return smtpc_engine_feed(e, NULL, 3); }
static int feed_x(smtpc_engine *e) { return feed(e, "220 x\r\n"); }
static int tls_done(smtpc_engine *e) { return smtpc_engine_tls_done(e, 1, 0, NULL); }
static int body_write(smtpc_engine *e)
{
    size_t used;
    return smtpc_engine_body_write(e, (const uint8_t *)"hi", 2, &used);
}
static int body_write_no_consumed(smtpc_engine *e)
{
    return smtpc_engine_body_write(e, (const uint8_t *)"hi", 2, NULL);
}
static int body_write_null(smtpc_engine *e)
{
    size_t used;
    return smtpc_engine_body_write(e, NULL, 2, &used);
}
static int body_end(smtpc_engine *e) { return smtpc_engine_body_end(e); }
static int mail_ok(smtpc_engine *e)
{
    return smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, 0);
}
static int mail_no_from(smtpc_engine *e)
{
    return smtpc_engine_begin_mail(e, NULL, one_rcpt, 1, -1, 0);
}
static int mail_no_rcpts(smtpc_engine *e)
{
    return smtpc_engine_begin_mail(e, "s@x.test", NULL, 1, -1, 0);
}
static int mail_size(smtpc_engine *e)
{
    return smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -2, 0);
}
static int mail_flags(smtpc_engine *e)
{
    return smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, 0x4000);
}
static int session(smtpc_engine *e) { return smtpc_engine_begin_session(e); }
static int rset(smtpc_engine *e) { return smtpc_engine_begin_rset(e); }
static int noop(smtpc_engine *e) { return smtpc_engine_begin_noop(e); }
static int quit(smtpc_engine *e) { return smtpc_engine_begin_quit(e); }

typedef struct refusal {
    const char *fn; /* the call the message must name */
    int state;
    int (*call)(smtpc_engine *);
    int want;
} refusal;

static const refusal refusals[] = {
    {"smtpc_engine_set_security", FRESH, set_security_99, SMTPC_EINVAL},
    {"smtpc_engine_set_timeout", FRESH, set_timeout_99, SMTPC_EINVAL},
    {"smtpc_engine_set_timeout", READY, set_timeout_neg, SMTPC_EINVAL},
    {"smtpc_engine_get_timeout", FRESH, get_timeout_99, SMTPC_EINVAL},
    {"smtpc_engine_get_timeout", FRESH, get_timeout_null, SMTPC_EINVAL},
    {"smtpc_engine_set_reply_limits", FRESH, reply_limits_100, SMTPC_EINVAL},
    {"smtpc_engine_set_output_size", FRESH, out_size_small, SMTPC_EINVAL},
    {"smtpc_engine_set_output_size", READY, out_size_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_output_size", GREETING, out_size_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_ehlo_name", FRESH, ehlo_null, SMTPC_EINVAL},
    {"smtpc_engine_set_ehlo_name", FRESH, ehlo_empty, SMTPC_EINVAL},
    {"smtpc_engine_set_ehlo_name", FRESH, ehlo_long, SMTPC_EINVAL},
    {"smtpc_engine_set_ehlo_name", FRESH, ehlo_space, SMTPC_EBADCHAR},
    {"smtpc_engine_set_credentials", FRESH, cred_no_pw, SMTPC_EINVAL},
    {"smtpc_engine_set_credentials", FRESH, cred_user_crlf, SMTPC_EBADCHAR},
    {"smtpc_engine_set_credentials", FRESH, cred_pw_lf, SMTPC_EBADCHAR},
    {"smtpc_engine_set_oauth_token", FRESH, token_null, SMTPC_EINVAL},
    {"smtpc_engine_set_oauth_token", FRESH, token_cr, SMTPC_EBADCHAR},
    {"smtpc_engine_set_auth_mechanisms", FRESH, mechs_zero, SMTPC_EINVAL},
    {"smtpc_engine_set_auth_mechanisms", FRESH, mechs_unknown, SMTPC_EINVAL},
    {"smtpc_engine_output", FRESH, output_no_data, SMTPC_EINVAL},
    {"smtpc_engine_output", FRESH, output_no_len, SMTPC_EINVAL},
    {"smtpc_engine_output_done", FRESH, output_done_1, SMTPC_EINVAL},
    {"smtpc_engine_output_done", READY, output_done_1, SMTPC_EINVAL},
    {"smtpc_engine_output_done", UNSENT, output_done_big, SMTPC_EINVAL},
    {"smtpc_engine_feed", FRESH, feed_null, SMTPC_EINVAL},
    {"smtpc_engine_feed", QUIT_DONE, feed_x, SMTPC_ESTATE},
    {"smtpc_engine_tls_done", FRESH, tls_done, SMTPC_ESTATE},
    {"smtpc_engine_tls_done", READY, tls_done, SMTPC_ESTATE},
    {"smtpc_engine_body_write", FRESH, body_write, SMTPC_ESTATE},
    {"smtpc_engine_body_write", READY, body_write_no_consumed, SMTPC_EINVAL},
    {"smtpc_engine_body_write", READY, body_write_null, SMTPC_EINVAL},
    {"smtpc_engine_body_write", BODY_ENDED, body_write, SMTPC_ESTATE},
    {"smtpc_engine_body_write", QUIT_DONE, body_write, SMTPC_ESTATE},
    {"smtpc_engine_body_end", READY, body_end, SMTPC_ESTATE},
    {"smtpc_engine_body_end", BODY_ENDED, body_end, SMTPC_ESTATE},
    {"smtpc_engine_begin_mail", FRESH, mail_ok, SMTPC_ESTATE},
    {"smtpc_engine_begin_mail", READY, mail_no_from, SMTPC_EINVAL},
    {"smtpc_engine_begin_mail", READY, mail_no_rcpts, SMTPC_EINVAL},
    {"smtpc_engine_begin_mail", READY, mail_size, SMTPC_EINVAL},
    {"smtpc_engine_begin_mail", READY, mail_flags, SMTPC_EINVAL},
    {"smtpc_engine_begin_mail", GREETING, mail_ok, SMTPC_ESTATE},
    {"smtpc_engine_begin_mail", UNSENT, mail_ok, SMTPC_ESTATE},
    {"smtpc_engine_begin_mail", BODY_ENDED, mail_ok, SMTPC_ESTATE},
    {"smtpc_engine_begin_mail", QUIT_DONE, mail_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_security", GREETING, set_security_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_security", READY, set_security_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_ehlo_name", GREETING, ehlo_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_ehlo_name", READY, ehlo_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_credentials", GREETING, cred_ok, SMTPC_ESTATE},
    {"smtpc_engine_set_oauth_token", UNSENT, token_ok, SMTPC_ESTATE},
    {"smtpc_engine_begin_session", GREETING, session, SMTPC_ESTATE},
    {"smtpc_engine_begin_session", READY, session, SMTPC_ESTATE},
    {"smtpc_engine_begin_session", QUIT_DONE, session, SMTPC_ESTATE},
    {"smtpc_engine_begin_rset", GREETING, rset, SMTPC_ESTATE},
    {"smtpc_engine_begin_rset", UNSENT, rset, SMTPC_ESTATE},
    {"smtpc_engine_begin_noop", BODY_ENDED, noop, SMTPC_ESTATE},
    {"smtpc_engine_begin_noop", QUIT_DONE, noop, SMTPC_ESTATE},
    {"smtpc_engine_begin_quit", GREETING, quit, SMTPC_ESTATE},
    {"smtpc_engine_begin_quit", QUIT_DONE, quit, SMTPC_ESTATE},
};

static void every_refusal_is_recorded(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal *r = &refusals[i];
        smtpc_engine *e = engine_in(r->state);
        /* A refusal of another call first, so a stale message shows. */
        if (strcmp(r->fn, "smtpc_engine_set_auth_mechanisms") != 0)
            assert_int_equal(smtpc_engine_set_auth_mechanisms(e, 0), SMTPC_EINVAL);
        else
            assert_int_equal(smtpc_engine_set_timeout(e, 99, 0), SMTPC_EINVAL);
        char before[512];
        snprintf(before, sizeof before, "%s", smtpc_error_message(smtpc_engine_error(e)));

        int rc = r->call(e);
        const smtpc_error *err = smtpc_engine_error(e);
        const char *msg = smtpc_error_message(err);
        if (rc != r->want)
            fail_msg("#%zu %s (state %d): returned %d, expected %d", i, r->fn, r->state, rc,
                     r->want);
        if (smtpc_error_code(err) != rc)
            fail_msg("#%zu %s (state %d): record holds %d, the call returned %d (\"%s\")", i,
                     r->fn, r->state, smtpc_error_code(err), rc, msg);
        if (!msg[0] || strcmp(msg, "success") == 0 || strcmp(msg, before) == 0 ||
            !strstr(msg, r->fn))
            fail_msg("#%zu %s (state %d): message \"%s\" is empty, stale or does not name "
                     "the call",
                     i, r->fn, r->state, msg);
        smtpc_engine_free(e);
    }
}

/* NULL engine: nothing to record, just SMTPC_EINVAL. */
static void null_engine(void **state)
{
    (void)state;
    assert_int_equal(smtpc_engine_set_timeout(NULL, 0, 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_begin_mail(NULL, "s@x.test", one_rcpt, 1, -1, 0),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_feed(NULL, NULL, 0), SMTPC_EINVAL);
    assert_null(smtpc_engine_error(NULL));
}

/* A session ended by a sticky error: a refusal in between does not replace
 * it; the calls that report it still return it, with its own message. */
static void sticky_error_survives_a_refusal(void **state)
{
    (void)state;
    smtpc_engine *e = engine_in(GREETING);
    int sticky = feed(e, "garbage\r\n");
    assert_true(sticky < 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    char why[512];
    snprintf(why, sizeof why, "%s", smtpc_error_message(smtpc_engine_error(e)));

    assert_int_equal(smtpc_engine_set_timeout(e, 99, 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(e)), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_result(e), sticky);

    assert_int_equal(mail_ok(e), sticky);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(e)), sticky);
    assert_string_equal(smtpc_error_message(smtpc_engine_error(e)), why);
    assert_int_equal(smtpc_engine_set_auth_mechanisms(e, 0), SMTPC_EINVAL);
    assert_int_equal(feed_x(e), sticky);
    assert_string_equal(smtpc_error_message(smtpc_engine_error(e)), why);
    assert_int_equal(smtpc_engine_set_auth_mechanisms(e, 0), SMTPC_EINVAL);
    assert_int_equal(body_end(e), sticky);
    assert_string_equal(smtpc_error_message(smtpc_engine_error(e)), why);
    assert_int_equal(smtpc_engine_result(e), sticky);

    /* reset starts over: no error left, none shown. */
    assert_int_equal(smtpc_engine_reset(e), 0);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(e)), 0);
    smtpc_engine_free(e);
}

/* A refused greeting makes the engine QUIT politely; a refusal while that
 * QUIT is out must not become the session's result. */
static void quit_after_error_keeps_it(void **state)
{
    (void)state;
    smtpc_engine *e = engine_in(GREETING);
    assert_int_equal(feed(e, "554 5.3.2 not now\r\n"), SMTPC_EGREETING);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_WRITE);
    assert_int_equal(set_security_ok(e), SMTPC_ESTATE);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(e)), SMTPC_ESTATE);
    drain(e);
    assert_int_equal(feed(e, "221 bye\r\n"), SMTPC_EGREETING);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_CLOSE);
    assert_int_equal(smtpc_engine_result(e), SMTPC_EGREETING);
    assert_int_equal(smtpc_error_code(smtpc_engine_error(e)), SMTPC_EGREETING);
    assert_int_equal(smtpc_error_reply_code(smtpc_engine_error(e)), 554);
    smtpc_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_refusal_is_recorded),
        cmocka_unit_test(null_engine),
        cmocka_unit_test(sticky_error_survives_a_refusal),
        cmocka_unit_test(quit_after_error_keeps_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
