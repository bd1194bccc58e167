/* The firmware build's options (cross/cortex-m4.ini): -Dchunking=false
 * -Ddsn=false -Dmail_chaining=false -Dheader_encoding=false
 * -Dquoted_printable=false -Dsasl_extra=false -Daddress_literals=false. A
 * server offering a dropped extension is not asked to use it (the engine is
 * fed its replies and the commands it writes are checked), and every call
 * that needs a dropped feature gives SMTPC_ENOTSUP with a text that says
 * so, never something else done silently. Built only in that configuration
 * (.ci/run's "firmware options" stage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "command_writer.h" /* smtpc_cmd_mail */
#include "smtpc.h"

/* What the engine wrote since the last call, as a string. */
static const char *take(smtpc_engine *e)
{
    static char out[4096];
    size_t used = 0;
    while (smtpc_engine_want(e) == SMTPC_WANT_WRITE) {
        const uint8_t *p;
        size_t n;
        assert_int_equal(smtpc_engine_output(e, &p, &n), 0);
        assert_true(used + n < sizeof out);
        memcpy(out + used, p, n);
        used += n;
        assert_int_equal(smtpc_engine_output_done(e, n), 0);
    }
    out[used] = '\0';
    return out;
}

static int feed(smtpc_engine *e, const char *s)
{
    return smtpc_engine_feed(e, (const uint8_t *)s, strlen(s));
}

static const char *const one_rcpt[] = {"r@x.test"};

/* A server offering everything the build left out. */
static const char ehlo_all[] = "250-srv.test\r\n"
                               "250-PIPELINING\r\n"
                               "250-8BITMIME\r\n"
                               "250-CHUNKING\r\n"
                               "250-BINARYMIME\r\n"
                               "250-DSN\r\n"
                               "250-REQUIRETLS\r\n"
                               "250 AUTH LOGIN XOAUTH2 OAUTHBEARER PLAIN\r\n";

static smtpc_engine *ready_engine(const char *ehlo)
{
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(feed(e, "220 srv.test ESMTP\r\n"), 0);
    assert_non_null(strstr(take(e), "EHLO client.test"));
    assert_int_equal(feed(e, ehlo), 0);
    return e;
}

static void check_refused(int rc, const smtpc_error *err, const char *needle)
{
    assert_int_equal(rc, SMTPC_ENOTSUP);
    assert_int_equal(smtpc_error_code(err), SMTPC_ENOTSUP);
    const char *text = smtpc_error_message(err);
    if (!strstr(text, needle)) {
        print_error("error text \"%s\" lacks \"%s\"\n", text, needle);
        fail();
    }
}

/* The call first: which record the error getter returns depends on it. */
#define assert_refused(call, err, needle)                                                      \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        check_refused(rc_, (err), (needle));                                                   \
    } while (0)

/* The whole message as a string (out holds cap bytes with the NUL). */
static void read_whole(smtpc_message *m, char *out, size_t cap)
{
    size_t len = 0, n;
    do {
        assert_int_equal(smtpc_message_read(m, (uint8_t *)out + len, cap - 1 - len, &n), 0);
        len += n;
    } while (n);
    out[len] = '\0';
}

/* CHUNKING, BINARYMIME, DSN and REQUIRETLS are not read from EHLO: the
 * message goes with DATA and a plain MAIL FROM. */
static void test_offered_extensions_unused(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine(ehlo_all);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    int caps = smtpc_engine_capabilities(e);
    assert_true(caps & SMTPC_CAP_PIPELINING);
    assert_true(caps & SMTPC_CAP_8BITMIME);
    assert_false(caps & (SMTPC_CAP_CHUNKING | SMTPC_CAP_BINARYMIME | SMTPC_CAP_DSN |
                         SMTPC_CAP_REQUIRETLS));
    assert_int_equal(smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, 0), 0);
    assert_string_equal(take(e), "MAIL FROM:<s@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n");
    assert_int_equal(feed(e, "250 ok\r\n250 ok\r\n354 go\r\n"), 0);
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_BODY);
    size_t used = 0;
    assert_int_equal(smtpc_engine_body_write(e, (const uint8_t *)".x\r\n", 4, &used), 0);
    assert_int_equal(used, 4);
    assert_int_equal(smtpc_engine_body_end(e), 0);
    assert_string_equal(take(e), "..x\r\n.\r\n");
    assert_int_equal(feed(e, "250 queued\r\n"), 0);
    assert_int_equal(smtpc_engine_message_status(e), SMTPC_MESSAGE_ACCEPTED);
    smtpc_engine_free(e);
}

static void test_engine_calls_refused(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine(ehlo_all);
    /* Turning chunking off is what the build does anyway; on is refused. */
    assert_int_equal(smtpc_engine_set_chunking(e, 0), 0);
    assert_refused(smtpc_engine_set_chunking(e, 1), smtpc_engine_error(e), "-Dchunking=false");
    assert_refused(
        smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, SMTPC_MAIL_BINARYMIME),
        smtpc_engine_error(e), "-Dchunking=false");
    assert_refused(
        smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, SMTPC_MAIL_REQUIRETLS),
        smtpc_engine_error(e), "-Ddsn=false");
    smtpc_dsn dsn = {SMTPC_DSN_RET_HDRS, NULL, NULL, NULL};
    assert_refused(smtpc_engine_begin_mail_dsn(e, "s@x.test", one_rcpt, 1, -1, 0, &dsn),
                   smtpc_engine_error(e), "-Ddsn=false");
    int notify[] = {SMTPC_NOTIFY_FAILURE};
    smtpc_dsn per_rcpt = {0, NULL, notify, NULL};
    assert_refused(smtpc_engine_begin_mail_dsn(e, "s@x.test", one_rcpt, 1, -1, 0, &per_rcpt),
                   smtpc_engine_error(e), "-Ddsn=false");
    /* Nothing went out for any of them. */
    assert_string_equal(take(e), "");
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    /* An empty request is no request. */
    smtpc_dsn none = {0, NULL, NULL, NULL};
    assert_int_equal(smtpc_engine_begin_mail_dsn(e, "s@x.test", one_rcpt, 1, -1, 0, &none), 0);
    assert_string_equal(take(e), "MAIL FROM:<s@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n");
    assert_int_equal(feed(e, "250 ok\r\n250 ok\r\n354 go\r\n"), 0);
    assert_int_equal(smtpc_engine_body_end(e), 0);
    take(e);
    assert_false(smtpc_engine_mail_chainable(e));
    assert_refused(smtpc_engine_begin_next_mail(e, "s@x.test", one_rcpt, 1, -1, 0, NULL),
                   smtpc_engine_error(e), "-Dmail_chaining=false");
    assert_string_equal(take(e), "");
    assert_int_equal(feed(e, "250 queued\r\n"), 0);
    assert_int_equal(smtpc_engine_message_status(e), SMTPC_MESSAGE_ACCEPTED);
    smtpc_engine_free(e);
}

/* PLAIN is chosen although LOGIN and the OAuth mechanisms come first;
 * tokens and the dropped mechanisms alone are refused. */
static void test_sasl_plain_only(void **state)
{
    (void)state;
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    assert_refused(smtpc_engine_set_oauth_token(e, "u", "token"), smtpc_engine_error(e),
                   "-Dsasl_extra=false");
    assert_refused(smtpc_engine_set_auth_mechanisms(e, SMTPC_AUTH_LOGIN), smtpc_engine_error(e),
                   "-Dsasl_extra");
    assert_int_equal(smtpc_engine_set_auth_mechanisms(e, SMTPC_AUTH_LOGIN | SMTPC_AUTH_PLAIN), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "u", "p"), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(feed(e, "220 srv.test ESMTP\r\n"), 0);
    take(e);
    assert_int_equal(feed(e, ehlo_all), 0);
    assert_string_equal(take(e), "AUTH PLAIN AHUAcA==\r\n");
    assert_int_equal(feed(e, "235 ok\r\n"), 0);
    assert_string_equal(smtpc_engine_auth_mechanism(e), "PLAIN");
    smtpc_engine_free(e);

    /* A server with LOGIN alone: no mechanism in common, nothing sent. */
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "u", "p"), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    assert_int_equal(feed(e, "220 srv.test ESMTP\r\n"), 0);
    take(e);
    assert_int_not_equal(feed(e, "250-srv.test\r\n250 AUTH LOGIN\r\n"), 0);
    assert_null(strstr(take(e), "AUTH"));
    smtpc_engine_free(e);
}

/* Header text only encoding could carry is refused when it is set. */
static void test_header_text_refused(void **state)
{
    (void)state;
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_refused(smtpc_message_set_subject(m, "Gr\xc3\xbc\xc3\x9f" "e"), smtpc_message_error(m),
                   "-Dheader_encoding=false");
    assert_refused(smtpc_message_set_subject(m, "looks =?like?= a word"),
                   smtpc_message_error(m), "subject");
    char long_word[950];
    memset(long_word, 'w', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    assert_refused(smtpc_message_set_subject(m, long_word), smtpc_message_error(m), "subject");
    assert_refused(smtpc_message_set_from(m, "s@x.test", "J\xc3\xb6rg"), smtpc_message_error(m),
                   "display name");
    assert_refused(smtpc_message_add_to(m, "r@x.test", "=?x?="), smtpc_message_error(m),
                   "display name");
    static const uint8_t data[] = "abc";
    assert_refused(smtpc_message_attach_mem(m, data, 3, SMTPC_MEM_COPY, "r\xc3\xa9sum\xc3\xa9.txt",
                                            "text/plain"),
                   smtpc_message_error(m), "filename");
    assert_refused(smtpc_message_add_header(m, "X-Note", "caf\xc3\xa9"), smtpc_message_error(m),
                   "header value");
    assert_refused(smtpc_message_set_dsn(m, SMTPC_DSN_RET_FULL, NULL), smtpc_message_error(m),
                   "-Ddsn=false");
    assert_refused(smtpc_message_set_rcpt_dsn(m, "r@x.test", SMTPC_NOTIFY_FAILURE, NULL),
                   smtpc_message_error(m), "-Ddsn=false");
    assert_int_equal(smtpc_message_set_dsn(m, 0, NULL), 0);
    /* ASCII that folds plainly is taken. */
    assert_int_equal(smtpc_message_set_subject(m, "Quarterly report"), 0);
    assert_int_equal(smtpc_message_set_from(m, "s@x.test", "Jane Doe"), 0);
    assert_int_equal(smtpc_message_add_to(m, "r@x.test", "Doe, John"), 0);
    assert_int_equal(smtpc_message_attach_mem(m, data, 3, SMTPC_MEM_COPY, "report.txt",
                                              "text/plain"),
                     0);
    smtpc_message_free(m);
}

/* A text body that needs a 7-bit encoding goes as base64. */
static void test_body_base64_not_qp(void **state)
{
    (void)state;
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "s@x.test", NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, "r@x.test", NULL), 0);
    assert_int_equal(smtpc_message_set_subject(m, "hi"), 0);
    /* Mostly ASCII: quoted-printable would have been chosen. */
    static const char text[] = "Gr\xc3\xbc\xc3\x9f" "e aus Berlin\n";
    assert_int_equal(smtpc_message_set_text(m, text, strlen(text), SMTPC_MEM_COPY), 0);
    static char out[8192];
    read_whole(m, out, sizeof out);
    assert_null(strstr(out, "quoted-printable"));
    assert_non_null(strstr(out, "Content-Transfer-Encoding: base64\r\n"));
    /* base64 of the text's bytes as given */
    assert_non_null(strstr(out, "\r\n\r\nR3LDvMOfZSBhdXMgQmVybGluCg==\r\n"));
    smtpc_message_free(m);
}

/* An address literal is refused wherever an address is given; a domain,
 * and the checks of every other form, are as before. */
static void test_address_literals_refused(void **state)
{
    (void)state;
    smtpc_engine *e = ready_engine(ehlo_all);
    assert_refused(smtpc_engine_begin_mail(e, "s@[192.0.2.1]", one_rcpt, 1, -1, 0),
                   smtpc_engine_error(e), "-Daddress_literals=false");
    static const char *const literal_rcpt[] = {"r@x.test", "r@[IPv6:2001:db8::1]"};
    assert_refused(smtpc_engine_begin_mail(e, "s@x.test", literal_rcpt, 2, -1, 0),
                   smtpc_engine_error(e), "-Daddress_literals=false");
    /* A malformed address is still malformed, not unsupported. */
    static const char *const bad_rcpt[] = {"r@x..test"};
    assert_int_equal(smtpc_engine_begin_mail(e, "s@x.test", bad_rcpt, 1, -1, 0),
                     SMTPC_EADDRESS);
    assert_string_equal(take(e), "");
    assert_int_equal(smtpc_engine_begin_mail(e, "s@x.test", one_rcpt, 1, -1, 0), 0);
    assert_string_equal(take(e), "MAIL FROM:<s@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n");
    smtpc_engine_free(e);

    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_refused(smtpc_message_set_from(m, "s@[192.0.2.1]", NULL), smtpc_message_error(m),
                   "-Daddress_literals=false");
    assert_refused(smtpc_message_add_to(m, "r@[IPv6:::1]", "R"), smtpc_message_error(m),
                   "-Daddress_literals=false");
    assert_int_equal(smtpc_message_add_to(m, "r@", NULL), SMTPC_EADDRESS);
    assert_int_equal(smtpc_message_add_to(m, "r@x.test", "R"), 0);
    smtpc_message_free(m);
}

/* ASCII header text that folds plainly is written as in a build with header
 * encoding: display names as atoms or as a quoted-string (quoted-pairs,
 * folded at its spaces), unstructured text trimmed and folded at its
 * whitespace runs, which are kept. */
static void test_header_text_folded(void **state)
{
    (void)state;
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "s@x.test", "Jane Doe"), 0);
    assert_int_equal(smtpc_message_add_to(m, "r@x.test", "Doe, John"), 0);
    assert_int_equal(smtpc_message_add_to(m, "t@x.test", NULL), 0);
    assert_int_equal(smtpc_message_add_cc(m, "c@x.test",
                                          "Dr. Very Long Display Name With \"Quotes\" And A \\ "
                                          "Backslash   Past Seventy-Eight Columns"),
                     0);
    assert_int_equal(smtpc_message_add_cc(m, "d@x.test", " spaced  name "), 0);
    assert_int_equal(smtpc_message_set_subject(m, "  A subject that is long enough to be folded "
                                                  "at one of its spaces,  with\ttwo runs kept  "),
                     0);
    assert_int_equal(smtpc_message_add_header(m, "X-Note", "one two"), 0);
    static const char text[] = "hi\n";
    assert_int_equal(smtpc_message_set_text(m, text, strlen(text), SMTPC_MEM_COPY), 0);
    static char out[8192];
    read_whole(m, out, sizeof out);
    static const char want[] =
        "From: Jane Doe <s@x.test>\r\n"
        "To: \"Doe, John\" <r@x.test>, t@x.test\r\n"
        "Cc: \"Dr. Very Long Display Name With \\\"Quotes\\\" And A \\\\ Backslash   Past\r\n"
        " Seventy-Eight Columns\" <c@x.test>, \" spaced  name \" <d@x.test>\r\n"
        "Subject: A subject that is long enough to be folded at one of its spaces,\r\n"
        "  with\ttwo runs kept\r\n";
    if (!strstr(out, want)) {
        print_error("headers:\n%s\nlack:\n%s\n", out, want);
        fail();
    }
    assert_non_null(strstr(out, "\r\nX-Note: one two\r\n"));
    smtpc_message_free(m);
}

/* The MAIL writer is never asked for BODY=BINARYMIME without chunking (the
 * engine reads no CHUNKING from EHLO); asked anyway, it refuses. */
static void test_mail_binarymime_refused(void **state)
{
    (void)state;
    uint8_t out[128];
    size_t len = 0;
    assert_int_equal(smtpc_cmd_mail(out, sizeof out, &len, "s@x.test", -1,
                                    SMTPC_CMD_BODY_BINARYMIME | SMTPC_CMD_BODY_8BITMIME),
                     SMTPC_ENOTSUP);
    assert_int_equal(len, 0);
    assert_int_equal(smtpc_cmd_mail(out, sizeof out, &len, "s@x.test", 12, SMTPC_CMD_BODY_8BITMIME),
                     0);
    static const char want[] = "MAIL FROM:<s@x.test> SIZE=12 BODY=8BITMIME\r\n";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
}

/* The message builder has no binary transfer encoding without chunking:
 * the flag is refused and the flags set before it stay. */
static void test_message_binarymime_refused(void **state)
{
    (void)state;
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_flags(m, SMTPC_MESSAGE_8BITMIME), 0);
    assert_refused(smtpc_message_set_flags(m, SMTPC_MESSAGE_8BITMIME | SMTPC_MESSAGE_BINARYMIME),
                   smtpc_message_error(m), "-Dchunking=false");
    assert_int_equal(smtpc_message_flags(m), SMTPC_MESSAGE_8BITMIME);
    smtpc_message_free(m);
}

static void test_client_batch_refused(void **state)
{
    (void)state;
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(NULL, &c), 0);
    smtpc_batch_item item;
    memset(&item, 0, sizeof item);
    assert_refused(smtpc_client_send_batch(c, &item, 1, NULL, NULL), smtpc_client_error(c),
                   "-Dmail_chaining=false");
    smtpc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offered_extensions_unused),
        cmocka_unit_test(test_engine_calls_refused),
        cmocka_unit_test(test_sasl_plain_only),
        cmocka_unit_test(test_header_text_refused),
        cmocka_unit_test(test_body_base64_not_qp),
        cmocka_unit_test(test_header_text_folded),
        cmocka_unit_test(test_client_batch_refused),
        cmocka_unit_test(test_mail_binarymime_refused),
        cmocka_unit_test(test_message_binarymime_refused),
        cmocka_unit_test(test_address_literals_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
