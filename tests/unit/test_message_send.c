/* The message's side of sending (issue 10): encodings adapted to the
 * server's capabilities, the DSN request and its checks, REQUIRETLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpc.h"
#include "smtpc_config.h"
#include "test_alloc.h"

/* The 7-bit encoding of mostly-ASCII text: base64 with
 * -Dquoted_printable=false. A subject that only RFC 2047 can carry is
 * refused with -Dheader_encoding=false (test_message), so ASCII there. */
#define CTE_7BIT                                                                           \
    (SMTPC_HAVE_QUOTED_PRINTABLE ? "Content-Transfer-Encoding: quoted-printable"             \
                                 : "Content-Transfer-Encoding: base64")
#if SMTPC_HAVE_HEADER_ENCODING
#define SUBJECT "Gr\xc3\xbc\xc3\x9f" "e"
#else
#define SUBJECT "Gruesse"
#endif

static const char text[] = "Gr\xc3\xbc\xc3\x9f" "e, caf\xc3\xa9\n";

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x5a, len);
    return 0;
}

static smtpc_message *make(const char *to)
{
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    smtpc_message_set_random(m, fixed_random, NULL);
    assert_int_equal(smtpc_message_set_from(m, "a@example.org", NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, to, NULL), 0);
    assert_int_equal(smtpc_message_set_subject(m, SUBJECT), 0);
    assert_int_equal(smtpc_message_set_text(m, text, strlen(text), SMTPC_MEM_BORROW), 0);
    return m;
}

/* The whole message as a string; NULL and *rc set on a read error. */
static char *read_all(smtpc_message *m, int *rc)
{
    static char buf[8192];
    size_t total = 0, got = 0;
    do {
        *rc = smtpc_message_read(m, (uint8_t *)buf + total, sizeof buf - 1 - total, &got);
        if (*rc)
            return NULL;
        total += got;
    } while (got);
    buf[total] = '\0';
    return buf;
}

static void test_encoding_follows_server(void **state)
{
    (void)state;
    smtpc_message *m = make("b@example.org");
    int rc;
    /* nothing offered: 7-bit safe, whatever the flag says */
    assert_int_equal(smtpc_message_set_flags(m, SMTPC_MESSAGE_8BITMIME), 0);
    assert_int_equal(smtpc_message_set_server_caps(m, 0), 0);
    const char *out = read_all(m, &rc);
    assert_non_null(out);
    assert_non_null(strstr(out, CTE_7BIT));
    for (const char *p = out; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    assert_int_equal(smtpc_message_mail_flags(m), 0);
    /* 8BITMIME offered: 8bit even without the flag */
    assert_int_equal(smtpc_message_set_flags(m, 0), 0);
    assert_int_equal(smtpc_message_set_server_caps(m, SMTPC_CAP_8BITMIME), 0);
    out = read_all(m, &rc);
    assert_non_null(strstr(out, "Content-Transfer-Encoding: 8bit"));
    assert_non_null(strstr(out, "caf\xc3\xa9"));
    /* non-ASCII text alone never asks for SMTPUTF8 */
    assert_non_null(strstr(out, SMTPC_HAVE_HEADER_ENCODING ? "Subject: =?UTF-8?" : "Subject: " SUBJECT "\r\n"));
    assert_int_equal(smtpc_message_mail_flags(m), SMTPC_MAIL_8BITMIME);
    assert_int_equal(smtpc_message_set_server_caps(m, SMTPC_CAP_8BITMIME | SMTPC_CAP_SMTPUTF8),
                     0);
    assert_int_equal(smtpc_message_mail_flags(m), SMTPC_MAIL_8BITMIME);
    /* ... unless the caller wants raw UTF-8 headers and the server can */
    assert_int_equal(smtpc_message_set_flags(m, SMTPC_MESSAGE_SMTPUTF8), 0);
    out = read_all(m, &rc);
    assert_non_null(strstr(out, "Subject: " SUBJECT "\r\n"));
    assert_int_equal(smtpc_message_mail_flags(m), SMTPC_MAIL_8BITMIME | SMTPC_MAIL_SMTPUTF8);
    /* -1: the flags alone again */
    assert_int_equal(smtpc_message_set_flags(m, 0), 0);
    assert_int_equal(smtpc_message_set_server_caps(m, -1), 0);
    out = read_all(m, &rc);
    assert_non_null(strstr(out, CTE_7BIT));
    assert_int_equal(smtpc_message_set_server_caps(m, -2), SMTPC_EINVAL);
    smtpc_message_free(m);
}

static void test_same_caps_keep_position(void **state)
{
    (void)state;
    smtpc_message *m = make("b@example.org");
    assert_int_equal(smtpc_message_set_server_caps(m, SMTPC_CAP_8BITMIME), 0);
    uint8_t first[10], again[10];
    size_t got = 0;
    assert_int_equal(smtpc_message_read(m, first, sizeof first, &got), 0);
    assert_int_equal(smtpc_message_set_server_caps(m, SMTPC_CAP_8BITMIME), 0);
    assert_int_equal(smtpc_message_read(m, again, sizeof again, &got), 0);
    assert_memory_not_equal(first, again, sizeof first); /* went on, not over */
    smtpc_message_free(m);
}

static void test_utf8_address(void **state)
{
    (void)state;
    smtpc_message *m = make("p\xc3\xa9rez@example.org");
    int rc;
    assert_int_equal(smtpc_message_set_server_caps(m, SMTPC_CAP_8BITMIME), 0);
    assert_null(read_all(m, &rc));
    assert_int_equal(rc, SMTPC_EUTF8);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)),
                           "p\xc3\xa9rez@example.org needs SMTPUTF8, which the server does not "
                           "offer"));
    assert_int_equal(smtpc_message_set_server_caps(m, SMTPC_CAP_8BITMIME | SMTPC_CAP_SMTPUTF8),
                     0);
    const char *out = read_all(m, &rc);
    assert_non_null(out);
    assert_non_null(strstr(out, "To: p\xc3\xa9rez@example.org\r\n"));
    assert_int_equal(smtpc_message_mail_flags(m), SMTPC_MAIL_8BITMIME | SMTPC_MAIL_SMTPUTF8);
    smtpc_message_free(m);
}

static void test_requiretls_flag(void **state)
{
    (void)state;
    smtpc_message *m = make("b@example.org");
    assert_int_equal(smtpc_message_set_flags(m, SMTPC_MESSAGE_REQUIRETLS), 0);
    assert_int_equal(smtpc_message_set_server_caps(m, 0), 0);
    assert_int_equal(smtpc_message_mail_flags(m), SMTPC_MAIL_REQUIRETLS);
#if !SMTPC_HAVE_DSN
    /* -Ddsn=false: the flag is the engine's to refuse (test_features_off);
     * the message's DSN request is refused here. */
    assert_int_equal(smtpc_message_set_dsn(m, SMTPC_DSN_RET_HDRS, "id-1"), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "-Ddsn=false"));
#endif
    smtpc_message_free(m);
}

#if SMTPC_HAVE_DSN
static void test_dsn_settings(void **state)
{
    (void)state;
    smtpc_message *m = make("b@example.org");
    int ret = -1, notify = -1;
    const char *envid = "x", *orcpt = "x";
    assert_int_equal(smtpc_message_dsn(m, &ret, &envid), 0);
    assert_int_equal(ret, 0);
    assert_null(envid);
    assert_int_equal(smtpc_message_rcpt_dsn(m, "b@example.org", &notify, &orcpt), 0);
    assert_int_equal(notify, 0);
    assert_null(orcpt);

    /* refusals leave what was set */
    assert_int_equal(smtpc_message_set_dsn(m, 3, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_dsn(m, 0, ""), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_dsn(m, 0, "a\r\nRSET"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EBADCHAR);
    char longid[120];
    memset(longid, '+', 40); /* 120 once encoded */
    longid[40] = '\0';
    assert_int_equal(smtpc_message_set_dsn(m, 0, longid), SMTPC_ETOOLONG);
    assert_int_equal(smtpc_message_dsn(m, NULL, NULL), 0);

    assert_int_equal(smtpc_message_set_dsn(m, SMTPC_DSN_RET_HDRS, "id-1"), 0);
    assert_int_equal(smtpc_message_set_dsn(m, SMTPC_DSN_RET_FULL, "id-2"), 0); /* replaces */
    assert_int_equal(smtpc_message_dsn(m, &ret, &envid), 1);
    assert_int_equal(ret, SMTPC_DSN_RET_FULL);
    assert_string_equal(envid, "id-2");

    assert_int_equal(smtpc_message_set_rcpt_dsn(m, "not an address", SMTPC_NOTIFY_NEVER, NULL),
                     SMTPC_EADDRESS);
    assert_int_equal(smtpc_message_set_rcpt_dsn(m, "b@example.org",
                                                SMTPC_NOTIFY_NEVER | SMTPC_NOTIFY_DELAY, NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_rcpt_dsn(m, NULL, SMTPC_NOTIFY_FAILURE, "o@example.org"),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_rcpt_dsn(m, "b@example.org", 0, "x\ny"), SMTPC_EBADCHAR);

    assert_int_equal(smtpc_message_set_rcpt_dsn(m, NULL, SMTPC_NOTIFY_FAILURE, NULL), 0);
    assert_int_equal(smtpc_message_set_rcpt_dsn(m, "b@example.org", SMTPC_NOTIFY_SUCCESS,
                                                "orig@example.org"),
                     0);
    assert_int_equal(smtpc_message_set_rcpt_dsn(m, "b@example.org",
                                                SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_DELAY,
                                                "orig2@example.org"),
                     0);
    assert_int_equal(smtpc_message_rcpt_dsn(m, "b@example.org", &notify, &orcpt), 1);
    assert_int_equal(notify, SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_DELAY);
    assert_string_equal(orcpt, "orig2@example.org");
    /* any other recipient gets the default */
    assert_int_equal(smtpc_message_rcpt_dsn(m, "c@example.org", &notify, &orcpt), 1);
    assert_int_equal(notify, SMTPC_NOTIFY_FAILURE);
    assert_null(orcpt);
    /* a DSN request does not touch the bytes or the position */
    int rc;
    assert_non_null(read_all(m, &rc));
    smtpc_message_free(m);
}

/* Every allocation of the DSN setters failed in turn: a clean ENOMEM and
 * nothing leaked (the counting allocator checks at the end). */
static void test_dsn_alloc_failures(void **state)
{
    (void)state;
    for (long fail = 1; fail < 12; fail++) {
        test_heap h;
        test_heap_init(&h, TEST_HEAP_FAIL_ONE, 0);
        smtpc_message *m = NULL;
        assert_int_equal(smtpc_message_new(&h.hook, &m), 0);
        h.fail_at = h.count + fail;
        int rc = smtpc_message_set_dsn(m, SMTPC_DSN_RET_HDRS, "env");
        if (rc == 0)
            rc = smtpc_message_set_rcpt_dsn(m, "b@example.org", SMTPC_NOTIFY_DELAY,
                                            "o@example.org");
        if (rc == 0)
            rc = smtpc_message_set_rcpt_dsn(m, NULL, SMTPC_NOTIFY_NEVER, NULL);
        assert_true(rc == 0 || rc == SMTPC_ENOMEM);
        if (rc)
            assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_ENOMEM);
        smtpc_message_free(m);
        assert_int_equal(h.live_blocks, 0);
        assert_int_equal(h.bad_frees, 0);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_follows_server),
        cmocka_unit_test(test_same_caps_keep_position),
        cmocka_unit_test(test_utf8_address),
        cmocka_unit_test(test_requiretls_flag),
#if SMTPC_HAVE_DSN
        cmocka_unit_test(test_dsn_settings),
        cmocka_unit_test(test_dsn_alloc_failures),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
