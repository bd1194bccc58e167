/* Command writer: address syntax tables (RFC 5321 4.1.2, RFC 6531) and the
 * exact bytes of each command, including what must never reach the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "command_writer.h"
#include "smtpc/base.h"
#include "smtpc_config.h"

typedef struct addr_case {
    const char *addr;
    int allow_null;
    int rc;
    int utf8;
} addr_case;

#define L10 "abcdefghij"
#define L63 L10 L10 L10 L10 L10 L10 "abc"
#define L64 L63 "d"

static const addr_case addr_cases[] = {
    /* well formed */
    {"user@example.com", 0, 0, 0},
    {"first.last@example.com", 0, 0, 0},
    {"a@b", 0, 0, 0},
    {"user+tag@sub.example.co.uk", 0, 0, 0},
    {"!#$%&'*+-/=?^_`{|}~@example.com", 0, 0, 0},
    {"UPPER@EXAMPLE.COM", 0, 0, 0},
    {"user@a-b.example", 0, 0, 0},
    {"user@xn--bcher-kva.example", 0, 0, 0},
    {"user@123.example", 0, 0, 0},
    {"\"quoted string\"@example.com", 0, 0, 0},
    {"\"a\\\"b\"@example.com", 0, 0, 0},
    {"\"a@b\"@example.com", 0, 0, 0},
    {"\"<tricky>\"@example.com", 0, 0, 0},
    {"\"\"@example.com", 0, 0, 0},
    {"user@[192.0.2.1]", 0, 0, 0},
    {"user@[0.0.0.0]", 0, 0, 0},
    {"user@[255.255.255.255]", 0, 0, 0},
    {"user@[IPv6:2001:db8::1]", 0, 0, 0},
    {"user@[IPv6:2001:db8:0:0:0:0:0:1]", 0, 0, 0},
    {"user@[IPv6:::1]", 0, 0, 0},
    {"user@[IPv6:::]", 0, 0, 0},
    {"user@[IPv6:1::]", 0, 0, 0},
    {"user@[ipv6:::ffff:192.0.2.1]", 0, 0, 0},
    {"user@[IPv6:1:2:3:4:5:6:192.0.2.1]", 0, 0, 0},
    {"user@[IPv6:1:2:3:4::192.0.2.1]", 0, 0, 0},
    {"user@[IPv6:1:2:3::4:5:6]", 0, 0, 0},
    {"user@[x-tag:anything-goes]", 0, 0, 0},
    {L64 "@example.com", 0, 0, 0},
    {"u@" L63 "." L63 "." L63 "." L63, 0, 0, 0}, /* 255-octet domain */
    {"", 1, 0, 0},
    /* RFC 6531 */
    {"j\xc3\xb6ran@b\xc3\xbc" "cher.example", 0, 0, 1},
    {"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", 0, 0, 1},
    {"\"\xc3\xa9t\xc3\xa9\"@example.com", 0, 0, 1},
    {"emoji\xf0\x9f\x98\x80@example.com", 0, 0, 1},

    /* malformed */
    {"", 0, SMTPC_EADDRESS, 0},
    {"<>", 1, SMTPC_EADDRESS, 0},
    {"<>", 0, SMTPC_EADDRESS, 0},
    {"plainaddress", 0, SMTPC_EADDRESS, 0},
    {"@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@", 0, SMTPC_EADDRESS, 0},
    {"user@@example.com", 0, SMTPC_EADDRESS, 0},
    {"a@b@example.com", 0, SMTPC_EADDRESS, 0},
    {".user@example.com", 0, SMTPC_EADDRESS, 0},
    {"user.@example.com", 0, SMTPC_EADDRESS, 0},
    {"us..er@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example..com", 0, SMTPC_EADDRESS, 0},
    {"user@.example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example.com.", 0, SMTPC_EADDRESS, 0},
    {"user@-example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example-.com", 0, SMTPC_EADDRESS, 0},
    {"user@exa_mple.com", 0, SMTPC_EADDRESS, 0},
    {"us er@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@exam ple.com", 0, SMTPC_EADDRESS, 0},
    {" user@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example.com ", 0, SMTPC_EADDRESS, 0},
    {"<user@example.com>", 0, SMTPC_EADDRESS, 0},
    {"user@example.com>", 0, SMTPC_EADDRESS, 0},
    {"user>@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example.com> SIZE=1", 0, SMTPC_EADDRESS, 0},
    {"a(comment)@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example.com,other@example.com", 0, SMTPC_EADDRESS, 0},
    {"\"unterminated@example.com", 0, SMTPC_EADDRESS, 0},
    {"\"a\"b@example.com", 0, SMTPC_EADDRESS, 0},
    {"\"a\"@", 0, SMTPC_EADDRESS, 0},
    {"\"a\\", 0, SMTPC_EADDRESS, 0},
    {"user@[192.0.2.256]", 0, SMTPC_EADDRESS, 0},
    {"user@[192.0.2]", 0, SMTPC_EADDRESS, 0},
    {"user@[192.0.2.1.5]", 0, SMTPC_EADDRESS, 0},
    {"user@[1922.0.2.1]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:1::2::3]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:1:2:3:4:5:6:7]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:1:2:3:4:5:6:7:8:9]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:1:2:3:4:5:6:7::]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:12345::]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:1:2:3:4:5::192.0.2.1]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:g::1]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6::1]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:1:]", 0, SMTPC_EADDRESS, 0},
    {"user@[IPv6:]", 0, SMTPC_EADDRESS, 0},
    {"user@[1.2.3.4", 0, SMTPC_EADDRESS, 0},
    {"user@1.2.3.4]", 0, SMTPC_EADDRESS, 0},
    {"user@[]", 0, SMTPC_EADDRESS, 0},
    {"user@[-tag:x]", 0, SMTPC_EADDRESS, 0},
    {"user@[tag-:x]", 0, SMTPC_EADDRESS, 0},
    {"user@[tag:]", 0, SMTPC_EADDRESS, 0},
    {"user@[tag:a]b]", 0, SMTPC_EADDRESS, 0},
    {"user@[tag:a b]", 0, SMTPC_EADDRESS, 0},
    {L64 "x@example.com", 0, SMTPC_EADDRESS, 0},           /* 65-octet local part */
    {"u@" L63 "." L63 "." L63 "." L63 "x", 0, SMTPC_EADDRESS, 0}, /* 256-octet domain */
    {"u@" L64 ".example", 0, SMTPC_EADDRESS, 0},           /* 64-octet label */
    /* ill-formed UTF-8 */
    {"\xc3@example.com", 0, SMTPC_EADDRESS, 0},
    {"\xc0\xaf@example.com", 0, SMTPC_EADDRESS, 0},
    {"\xe0\x80\xaf@example.com", 0, SMTPC_EADDRESS, 0},
    {"\xed\xa0\x80@example.com", 0, SMTPC_EADDRESS, 0},
    {"\xf4\x90\x80\x80@example.com", 0, SMTPC_EADDRESS, 0},
    {"\xff@example.com", 0, SMTPC_EADDRESS, 0},
    {"\x80@example.com", 0, SMTPC_EADDRESS, 0},
    {"user@example.\xe4\xbe", 0, SMTPC_EADDRESS, 0},
    /* control characters, including the classic command injection */
    {"a@b.c>\r\nRCPT TO:<x@y.z", 0, SMTPC_EBADCHAR, 0},
    {"a@b.c>\r\nRCPT TO:<x@y.z", 1, SMTPC_EBADCHAR, 0},
    {"user@example.com\r\n", 0, SMTPC_EBADCHAR, 0},
    {"user@example.com\n", 0, SMTPC_EBADCHAR, 0},
    {"us\rer@example.com", 0, SMTPC_EBADCHAR, 0},
    {"\"a\r\nb\"@example.com", 0, SMTPC_EBADCHAR, 0},
    {"user\t@example.com", 0, SMTPC_EBADCHAR, 0},
    {"\"a\tb\"@example.com", 0, SMTPC_EBADCHAR, 0},
    {"a\x7f@example.com", 0, SMTPC_EBADCHAR, 0},
    {"a\x1b[31m@example.com", 0, SMTPC_EBADCHAR, 0},
};

/* With -Daddress_literals=false a literal domain, well formed or not, is
 * unsupported rather than checked (the table's literals all follow "user@"). */
static int want_rc(const addr_case *c)
{
    if (!SMTPC_HAVE_ADDRESS_LITERALS && strncmp(c->addr, "user@[", 6) == 0)
        return SMTPC_ENOTSUP;
    return c->rc;
}

static void test_address_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
        const addr_case *c = &addr_cases[i];
        int utf8 = -1;
        int rc = smtpc_address_check(c->addr, c->allow_null, &utf8);
        if (rc != want_rc(c))
            print_error("address case %zu: \"%s\" gave %d\n", i, c->addr, rc);
        assert_int_equal(rc, want_rc(c));
        if (rc == 0)
            assert_int_equal(utf8, c->utf8);
        assert_int_equal(smtpc_address_check(c->addr, c->allow_null, NULL), want_rc(c));
    }
    assert_int_equal(smtpc_address_check(NULL, 1, NULL), SMTPC_EINVAL);
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(smtpc_cmd_check_value("hello world", 11), 0);
    assert_int_equal(smtpc_cmd_check_value("", 0), 0);
    assert_int_equal(smtpc_cmd_check_value("a\rb", 3), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_check_value("a\nb", 3), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_check_value("a\0b", 3), SMTPC_EBADCHAR);
    /* Only the first len bytes count. */
    assert_int_equal(smtpc_cmd_check_value("ab\r\n", 2), 0);
    /* Other control characters are the caller's concern (base64, xtext). */
    assert_int_equal(smtpc_cmd_check_value("a\tb", 3), 0);
}

/* out is pre-filled with a canary so that "nothing written" is checked. */
#define CANARY 0xA5

static void fill(uint8_t *b, size_t n)
{
    memset(b, CANARY, n);
}

static void assert_untouched(const uint8_t *b, size_t from, size_t n)
{
    size_t i;
    for (i = from; i < n; i++)
        assert_int_equal(b[i], CANARY);
}

static void test_write(void **state)
{
    uint8_t out[1100];
    size_t len = 0;
    char arg[600];

    (void)state;
    fill(out, sizeof out);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "EHLO", "client.example.org"), 0);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "QUIT", NULL), 0);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "DATA", ""), 0);
    static const char want[] = "EHLO client.example.org\r\nQUIT\r\nDATA\r\n";
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);
    assert_untouched(out, len, sizeof out);

    /* Injection through the argument or the verb. */
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "EHLO", "x\r\nMAIL FROM:<a@b>"),
                     SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "EHLO", "x\ny"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "EHLO", "x\ry"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "NO\r\nOP", NULL), SMTPC_EBADCHAR);
    assert_int_equal(len, sizeof want - 1);
    assert_untouched(out, len, sizeof out);

    /* 512 octets with the CRLF is the limit: "X " + 508 + CRLF. */
    memset(arg, 'a', 508);
    arg[508] = '\0';
    len = 0;
    fill(out, sizeof out);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "X", arg), 0);
    assert_int_equal(len, 512);
    assert_memory_equal(out + 510, "\r\n", 2);
    arg[508] = 'a';
    arg[509] = '\0';
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "X", arg), SMTPC_ETOOLONG);
    assert_int_equal(len, 512);
    assert_untouched(out, 512, sizeof out);
    memset(arg, 'a', sizeof arg - 1);
    arg[sizeof arg - 1] = '\0';
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "X", arg), SMTPC_ETOOLONG);
    assert_untouched(out, 512, sizeof out);

    /* Capacity: exactly fitting works, one byte short fails cleanly. */
    len = 0;
    fill(out, sizeof out);
    assert_int_equal(smtpc_cmd_write(out, 6, &len, "RSET", NULL), 0);
    assert_int_equal(len, 6);
    len = 0;
    fill(out, sizeof out);
    assert_int_equal(smtpc_cmd_write(out, 5, &len, "RSET", NULL), SMTPC_ETOOLONG);
    assert_int_equal(len, 0);
    assert_untouched(out, 0, sizeof out);
    len = 3;
    assert_int_equal(smtpc_cmd_write(out, 8, &len, "RSET", NULL), SMTPC_ETOOLONG);
    assert_int_equal(len, 3);
    assert_untouched(out, 0, sizeof out);
    len = 9; /* already past cap */
    assert_int_equal(smtpc_cmd_write(out, 8, &len, "RSET", NULL), SMTPC_ETOOLONG);
    assert_int_equal(len, 9);

    len = 0;
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, NULL, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_cmd_write(out, sizeof out, &len, "", NULL), SMTPC_EINVAL);
}

typedef struct mail_case {
    const char *from;
    int64_t size;
    int flags;
    int rc;
    const char *want;
} mail_case;

static const mail_case mail_cases[] = {
    {"", -1, 0, 0, "MAIL FROM:<>\r\n"},
    {"a@b.example", -1, 0, 0, "MAIL FROM:<a@b.example>\r\n"},
    {"a@b.example", 0, 0, 0, "MAIL FROM:<a@b.example> SIZE=0\r\n"},
    {"a@b.example", 1048576, 0, 0, "MAIL FROM:<a@b.example> SIZE=1048576\r\n"},
    {"a@b.example", INT64_MAX, 0, 0, "MAIL FROM:<a@b.example> SIZE=9223372036854775807\r\n"},
    {"a@b.example", -5, 0, 0, "MAIL FROM:<a@b.example>\r\n"},
    {"a@b.example", -1, SMTPC_CMD_BODY_8BITMIME, 0, "MAIL FROM:<a@b.example> BODY=8BITMIME\r\n"},
    {"a@b.example", -1, SMTPC_CMD_SMTPUTF8, 0, "MAIL FROM:<a@b.example> SMTPUTF8\r\n"},
    {"\xc3\xa9@b.example", 123, SMTPC_CMD_SMTPUTF8 | SMTPC_CMD_BODY_8BITMIME, 0,
     "MAIL FROM:<\xc3\xa9@b.example> SIZE=123 BODY=8BITMIME SMTPUTF8\r\n"},
    {"", 7, SMTPC_CMD_BODY_8BITMIME, 0, "MAIL FROM:<> SIZE=7 BODY=8BITMIME\r\n"},
    {"<>", -1, 0, SMTPC_EADDRESS, NULL},
    {"<a@b.example>", -1, 0, SMTPC_EADDRESS, NULL},
    {"a@b.example> SIZE=1", -1, 0, SMTPC_EADDRESS, NULL},
    {"a@b.c>\r\nRCPT TO:<x@y.z", -1, 0, SMTPC_EBADCHAR, NULL},
};

static void test_mail(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof mail_cases / sizeof mail_cases[0]; i++) {
        const mail_case *c = &mail_cases[i];
        uint8_t out[600];
        size_t len = 0;
        fill(out, sizeof out);
        assert_int_equal(smtpc_cmd_mail(out, sizeof out, &len, c->from, c->size, c->flags),
                         c->rc);
        if (c->rc == 0) {
            assert_int_equal(len, strlen(c->want));
            assert_memory_equal(out, c->want, len);
            assert_untouched(out, len, sizeof out);
            /* One byte less room: refused, nothing written. */
            size_t short_len = 0;
            fill(out, sizeof out);
            assert_int_equal(smtpc_cmd_mail(out, strlen(c->want) - 1, &short_len, c->from,
                                            c->size, c->flags),
                             SMTPC_ETOOLONG);
            assert_int_equal(short_len, 0);
            assert_untouched(out, 0, sizeof out);
        } else {
            assert_int_equal(len, 0);
            assert_untouched(out, 0, sizeof out);
        }
    }
}

static void test_rcpt(void **state)
{
    uint8_t out[600];
    size_t len = 0;
    static const char longest[] = L64 "@" L63 "." L63 "." L63 "." L63;

    (void)state;
    fill(out, sizeof out);
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "x@y.z"), 0);
#if SMTPC_HAVE_ADDRESS_LITERALS
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "\"q q\"@[192.0.2.1]"), 0);
    static const char want[] = "RCPT TO:<x@y.z>\r\nRCPT TO:<\"q q\"@[192.0.2.1]>\r\n";
#else
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "\"q q\"@[192.0.2.1]"),
                     SMTPC_ENOTSUP);
    static const char want[] = "RCPT TO:<x@y.z>\r\n";
#endif
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);

    /* No null path for recipients; no injection; nothing written. */
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, ""), SMTPC_EADDRESS);
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "<>"), SMTPC_EADDRESS);
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "a@b.c>\r\nRCPT TO:<x@y.z"),
                     SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "a@b.c>\nDATA"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, "a@b.c> NOTIFY=NEVER"),
                     SMTPC_EADDRESS);
    assert_int_equal(len, sizeof want - 1);
    assert_untouched(out, len, sizeof out);

    /* The longest legal address still makes a legal line. */
    len = 0;
    assert_int_equal(smtpc_cmd_rcpt(out, sizeof out, &len, longest), 0);
    assert_int_equal(len, strlen("RCPT TO:<>\r\n") + strlen(longest));
    assert_true(len <= SMTPC_COMMAND_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_table),
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_mail),
        cmocka_unit_test(test_rcpt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
