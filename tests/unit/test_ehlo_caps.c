/* EHLO capabilities: one line at a time, table-driven, plus whole replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ehlo_caps.h"
#include "smtpc/engine.h"
#include "smtpc_config.h"

/* What this build reads: an extension or mechanism compiled out is not
 * taken from EHLO (the cases expect a full build; these masks trim them). */
#define BUILT_CAPS                                                                         \
    (~((SMTPC_HAVE_CHUNKING ? 0 : SMTPC_CAP_CHUNKING | SMTPC_CAP_BINARYMIME) |              \
       (SMTPC_HAVE_DSN ? 0 : SMTPC_CAP_DSN | SMTPC_CAP_REQUIRETLS)))
#define BUILT_MECHS                                                                        \
    (~(SMTPC_HAVE_SASL_EXTRA ? 0                                                            \
                             : SMTPC_MECH_LOGIN | SMTPC_MECH_XOAUTH2 | SMTPC_MECH_OAUTHBEARER))

typedef struct caps_case {
    const char *line;
    int flags;
    uint64_t size_max;
    int mechs;
} caps_case;

#define ALL_MECHS                                                                          \
    (SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN | SMTPC_MECH_CRAM_MD5 | SMTPC_MECH_XOAUTH2 |        \
     SMTPC_MECH_OAUTHBEARER | SMTPC_MECH_SCRAM_SHA_256)

static const caps_case cases[] = {
    {"PIPELINING", SMTPC_CAP_PIPELINING, 0, 0},
    {"pipelining", SMTPC_CAP_PIPELINING, 0, 0},
    {"PipeLining ", SMTPC_CAP_PIPELINING, 0, 0},
    {"8BITMIME", SMTPC_CAP_8BITMIME, 0, 0},
    {"SMTPUTF8", SMTPC_CAP_SMTPUTF8, 0, 0},
    {"STARTTLS", SMTPC_CAP_STARTTLS, 0, 0},
    {"CHUNKING", SMTPC_CAP_CHUNKING, 0, 0},
    {"DSN", SMTPC_CAP_DSN, 0, 0},
    {"ENHANCEDSTATUSCODES", SMTPC_CAP_ENHANCEDSTATUSCODES, 0, 0},
    /* SIZE (RFC 1870) */
    {"SIZE 10240000", SMTPC_CAP_SIZE, 10240000, 0},
    {"size 52428800", SMTPC_CAP_SIZE, 52428800, 0},
    {"SIZE", SMTPC_CAP_SIZE, 0, 0},
    {"SIZE ", SMTPC_CAP_SIZE, 0, 0},
    {"SIZE 0", SMTPC_CAP_SIZE, 0, 0},
    {"SIZE   35882577", SMTPC_CAP_SIZE, 35882577, 0},
    {"SIZE 18446744073709551615", SMTPC_CAP_SIZE, UINT64_MAX, 0},
    {"SIZE 18446744073709551616", SMTPC_CAP_SIZE, UINT64_MAX, 0},
    {"SIZE 99999999999999999999999999999", SMTPC_CAP_SIZE, UINT64_MAX, 0},
    {"SIZE 10M", SMTPC_CAP_SIZE, 0, 0},
    {"SIZE -5", SMTPC_CAP_SIZE, 0, 0},
    /* AUTH (RFC 4954) and the pre-standard "AUTH=" form */
    {"AUTH PLAIN LOGIN", SMTPC_CAP_AUTH, 0, SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN},
    {"AUTH=PLAIN LOGIN", SMTPC_CAP_AUTH, 0, SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN},
    {"auth plain cram-md5", SMTPC_CAP_AUTH, 0, SMTPC_MECH_PLAIN | SMTPC_MECH_CRAM_MD5},
    {"AUTH", SMTPC_CAP_AUTH, 0, 0},
    {"AUTH GSSAPI NTLM", SMTPC_CAP_AUTH, 0, 0},
    {"AUTH  LOGIN   XOAUTH2 ", SMTPC_CAP_AUTH, 0, SMTPC_MECH_LOGIN | SMTPC_MECH_XOAUTH2},
    {"AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-256", SMTPC_CAP_AUTH, 0,
     ALL_MECHS},
    {"AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-1 PLAINX", SMTPC_CAP_AUTH, 0, 0},
    /* whole keywords only */
    {"SIZEX 100", 0, 0, 0},
    {"PIPELINING2", 0, 0, 0},
    {"XPIPELINING", 0, 0, 0},
    {"STARTTLSX", 0, 0, 0},
    {"DSN-X", 0, 0, 0},
    {"AUTHX PLAIN", 0, 0, 0},
    {"X-AUTH PLAIN", 0, 0, 0},
    {"SIZE=100", 0, 0, 0},
    {"PIPELINING=1", 0, 0, 0},
    {"8BITMIME_", 0, 0, 0},
    {"", 0, 0, 0},
    {" PIPELINING", 0, 0, 0},
    {"HELP", 0, 0, 0},
    {"VRFY", 0, 0, 0},
    {"ETRN", 0, 0, 0},
    {"BINARYMIME", SMTPC_CAP_BINARYMIME, 0, 0},
    {"BINARYMIMEX", 0, 0, 0},
};

static void test_lines(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const caps_case *c = &cases[i];
        smtpc_ehlo_caps caps;
        smtpc_ehlo_caps_init(&caps);
        smtpc_ehlo_caps_line(&caps, c->line, strlen(c->line));
        int flags = c->flags & BUILT_CAPS, mechs = c->mechs & BUILT_MECHS;
        if (caps.flags != flags || caps.size_max != c->size_max || caps.auth_mechs != mechs)
            print_error("case \"%s\"\n", c->line);
        assert_int_equal(caps.flags, flags);
        assert_true(caps.size_max == c->size_max);
        assert_int_equal(caps.auth_mechs, mechs);
    }
}

/* The line is not NUL-terminated: bytes past len must not be read as part of it. */
static void test_length_bound(void **state)
{
    smtpc_ehlo_caps caps;
    static const char buf[] = "SIZE 12345678PIPELINING";

    (void)state;
    smtpc_ehlo_caps_init(&caps);
    smtpc_ehlo_caps_line(&caps, buf, 9);
    assert_int_equal(caps.flags, SMTPC_CAP_SIZE);
    assert_true(caps.size_max == 1234);
    smtpc_ehlo_caps_init(&caps);
    smtpc_ehlo_caps_line(&caps, "PIPELINING2", 10);
    assert_int_equal(caps.flags, SMTPC_CAP_PIPELINING);
    smtpc_ehlo_caps_init(&caps);
    smtpc_ehlo_caps_line(&caps, "AUTH PLAINX", 10);
    assert_int_equal(caps.auth_mechs, SMTPC_MECH_PLAIN);
}

/* A realistic reply (as Postfix sends it), lines after the greeting one. */
static void test_whole_reply(void **state)
{
    static const char *const lines[] = {
        "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS",
        "AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN CRAM-MD5", "ENHANCEDSTATUSCODES", "8BITMIME",
        "DSN", "SMTPUTF8", "CHUNKING",
    };
    smtpc_ehlo_caps caps;
    size_t i;

    (void)state;
    smtpc_ehlo_caps_init(&caps);
    for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
        smtpc_ehlo_caps_line(&caps, lines[i], strlen(lines[i]));
    assert_int_equal(caps.flags, (SMTPC_CAP_PIPELINING | SMTPC_CAP_SIZE | SMTPC_CAP_STARTTLS |
                                     SMTPC_CAP_AUTH | SMTPC_CAP_ENHANCEDSTATUSCODES |
                                     SMTPC_CAP_8BITMIME | SMTPC_CAP_DSN | SMTPC_CAP_SMTPUTF8 |
                                     SMTPC_CAP_CHUNKING) & BUILT_CAPS);
    assert_true(caps.size_max == 10240000);
    /* Mechanisms from both AUTH forms add up. */
    assert_int_equal(caps.auth_mechs,
                     (SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN | SMTPC_MECH_CRAM_MD5) & BUILT_MECHS);

    /* init forgets everything (needed after STARTTLS). */
    smtpc_ehlo_caps_init(&caps);
    assert_int_equal(caps.flags, 0);
    assert_true(caps.size_max == 0);
    assert_int_equal(caps.auth_mechs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_whole_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
