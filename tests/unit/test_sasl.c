/* SASL codecs against the RFCs' own examples, plus the strict base64 the
 * challenges go through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "random.h"
#include "sasl.h"
#include "smtpc/base.h"
#include "smtpc_config.h"

#define LINE 16384

/* ---- helpers ---- */

/* Encodes text the way a server would put it after "334 ". */
static const char *b64(const char *text, char *buf, size_t cap)
{
    size_t n = smtpc_b64_encode((const uint8_t *)text, strlen(text), buf, cap);
    assert_true(n > 0 || text[0] == '\0');
    return buf;
}

/* Decodes a client line, expecting valid base64. */
static const char *unb64(const char *line, char *buf, size_t cap)
{
    size_t n = 0;
    assert_int_equal(smtpc_b64_decode_strict(line, strlen(line), (uint8_t *)buf, cap - 1, &n), 0);
    buf[n] = '\0';
    return buf;
}

static int step_text(smtpc_sasl *s, const char *plain_challenge, char *out, size_t cap)
{
    char enc[LINE];
    b64(plain_challenge, enc, sizeof enc);
    return smtpc_sasl_step(s, enc, strlen(enc), out, cap);
}

#if SMTPC_HAVE_SASL_CRYPTO /* the SCRAM helpers */
typedef struct fixed_random {
    const uint8_t *bytes;
    size_t len;
    int calls;
} fixed_random;

static int fixed_random_fn(void *user, uint8_t *buf, size_t len)
{
    fixed_random *r = user;
    r->calls++;
    if (len != r->len)
        return -1;
    memcpy(buf, r->bytes, len);
    return 0;
}

static int failing_random_fn(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    (void)buf;
    (void)len;
    return -1;
}

/* The 15 bytes whose base64 is RFC 7677's client nonce "rOprNGfwEbeRWgbNEkqO". */
static const uint8_t rfc7677_nonce_bytes[15] = {0xac, 0xea, 0x6b, 0x34, 0x67, 0xf0, 0x11, 0xb7,
                                                0x91, 0x5a, 0x06, 0xcd, 0x12, 0x4a, 0x8e};
static const char rfc7677_server_first[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
#endif

/* ---- base64 ---- */

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const vec[][2] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char out[16];
        size_t n = smtpc_b64_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]), out, sizeof out);
        assert_int_equal(n, strlen(vec[i][1]));
        assert_string_equal(out, vec[i][1]);
        uint8_t dec[16];
        size_t dn = 99;
        assert_int_equal(smtpc_b64_decode_strict(vec[i][1], strlen(vec[i][1]), dec, sizeof dec, &dn), 0);
        assert_int_equal(dn, strlen(vec[i][0]));
        assert_memory_equal(dec, vec[i][0], dn);
    }
}

static void test_b64_encode_long_has_no_newline(void **state)
{
    (void)state;
    uint8_t in[3000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7 + 3);
    static char out[4100];
    static uint8_t back[3000];
    for (size_t len = 0; len <= sizeof in; len += (len < 200 ? 1 : 97)) {
        size_t n = smtpc_b64_encode(in, len, out, sizeof out);
        assert_int_equal(n, 4 * ((len + 2) / 3));
        assert_int_equal(strlen(out), n);
        assert_null(strchr(out, '\n'));
        assert_null(strchr(out, '\r'));
        size_t dn = 0;
        assert_int_equal(smtpc_b64_decode_strict(out, n, back, sizeof back, &dn), 0);
        assert_int_equal(dn, len);
        assert_memory_equal(back, in, len);
    }
}

static void test_b64_encode_capacity(void **state)
{
    (void)state;
    char out[9];
    /* "foobar" needs 8 characters and the NUL. */
    assert_int_equal(smtpc_b64_encode((const uint8_t *)"foobar", 6, out, 9), 8);
    assert_int_equal(smtpc_b64_encode((const uint8_t *)"foobar", 6, out, 8), 0);
    assert_int_equal(smtpc_b64_encode((const uint8_t *)"f", 1, out, 4), 0);
    assert_int_equal(smtpc_b64_encode(NULL, 0, out, 1), 0);
    assert_string_equal(out, "");
}

static void test_b64_decode_rejects_junk(void **state)
{
    (void)state;
    /* libb64 alone would skip the odd byte and return something. */
    static const char *const bad[] = {
        "abc$", "abc",    "ab=c",     "a===",    "Zg=",     "Zh==",      "Zm9=",
        " Zg==", "Zg== ", "Zg==\r\n", "Zm9v Zg==", "Zg==Zg==", "====",    "Zm9v\nYmFy",
        "Zm-v", "Zm_v",   "=Zm9",     "Z===",    "\xc3\xa9QQ=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[32];
        size_t n = 77;
        assert_int_equal(smtpc_b64_decode_strict(bad[i], strlen(bad[i]), out, sizeof out, &n),
                         SMTPC_EAUTH_PROTO);
        assert_int_equal(n, 0);
    }
}

static void test_b64_decode_exact_capacity(void **state)
{
    (void)state;
    /* Heap blocks of the exact size let ASan see a write past the end. */
    static const char *const in[] = {"Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE="};
    static const size_t sizes[] = {1, 2, 3, 4, 5};
    for (size_t i = 0; i < 5; i++) {
        uint8_t *out = malloc(sizes[i]);
        size_t n = 0;
        assert_int_equal(smtpc_b64_decode_strict(in[i], strlen(in[i]), out, sizes[i], &n), 0);
        assert_int_equal(n, sizes[i]);
        assert_memory_equal(out, "fooba", n);
        assert_int_equal(smtpc_b64_decode_strict(in[i], strlen(in[i]), out, sizes[i] - 1, &n),
                         SMTPC_ETOOLONG);
        free(out);
    }
    size_t n = 5;
    assert_int_equal(smtpc_b64_decode_strict("", 0, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
}

/* ---- choice ---- */

static void test_choose_preference_and_masks(void **state)
{
    (void)state;
    const int all = SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN | SMTPC_MECH_CRAM_MD5 |
                    SMTPC_MECH_XOAUTH2 | SMTPC_MECH_OAUTHBEARER | SMTPC_MECH_SCRAM_SHA_256;
#if SMTPC_HAVE_SASL_CRYPTO && SMTPC_HAVE_SASL_EXTRA
    assert_int_equal(smtpc_sasl_available(), all);
#endif
#if SMTPC_HAVE_SASL_CRYPTO
    assert_int_equal(smtpc_sasl_choose(all, all, 0), SMTPC_MECH_SCRAM_SHA_256);
    assert_int_equal(smtpc_sasl_choose(all & ~SMTPC_MECH_SCRAM_SHA_256, all, 0),
                     SMTPC_MECH_CRAM_MD5);
#else
    /* Left out of the build: never chosen, whatever is offered. */
    assert_int_equal(smtpc_sasl_available(),
                     all & ~(SMTPC_MECH_CRAM_MD5 | SMTPC_MECH_SCRAM_SHA_256));
    assert_int_equal(smtpc_sasl_choose(all, all, 0), SMTPC_MECH_PLAIN);
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_SCRAM_SHA_256 | SMTPC_MECH_CRAM_MD5, all, 0),
                     0);
#endif
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN, all, 0),
                     SMTPC_MECH_PLAIN);
#if SMTPC_HAVE_SASL_EXTRA
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_LOGIN | SMTPC_MECH_XOAUTH2, all, 0),
                     SMTPC_MECH_LOGIN);
    assert_int_equal(smtpc_sasl_choose(all, all, 1), SMTPC_MECH_OAUTHBEARER);
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_XOAUTH2 | SMTPC_MECH_PLAIN, all, 1),
                     SMTPC_MECH_XOAUTH2);
#else
    /* -Dsasl_extra=false: never chosen, whatever is offered (the rest in
     * test_extra_mechanisms_left_out). */
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_LOGIN | SMTPC_MECH_XOAUTH2, all, 0), 0);
    assert_int_equal(smtpc_sasl_choose(all, all, 1), 0);
#endif
    /* A token is never offered to a password mechanism, nor the reverse. */
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN, all, 1), 0);
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_XOAUTH2 | SMTPC_MECH_OAUTHBEARER, all, 0), 0);
    /* The user's restriction wins over strength. */
    assert_int_equal(smtpc_sasl_choose(all, SMTPC_MECH_PLAIN, 0), SMTPC_MECH_PLAIN);
#if SMTPC_HAVE_SASL_EXTRA
    assert_int_equal(smtpc_sasl_choose(all, SMTPC_MECH_LOGIN | SMTPC_MECH_CRAM_MD5, 0),
                     SMTPC_HAVE_SASL_CRYPTO ? SMTPC_MECH_CRAM_MD5 : SMTPC_MECH_LOGIN);
    assert_int_equal(smtpc_sasl_choose(all, SMTPC_MECH_XOAUTH2, 1), SMTPC_MECH_XOAUTH2);
#endif
    assert_int_equal(smtpc_sasl_choose(SMTPC_MECH_PLAIN, SMTPC_MECH_SCRAM_SHA_256, 0), 0);
    assert_int_equal(smtpc_sasl_choose(0, all, 0), 0);
    assert_int_equal(smtpc_sasl_choose(all, 0, 0), 0);

    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_PLAIN), "PLAIN");
    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_LOGIN),
                        SMTPC_HAVE_SASL_EXTRA ? "LOGIN" : "");
    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_CRAM_MD5),
                        SMTPC_HAVE_SASL_CRYPTO ? "CRAM-MD5" : "");
    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_XOAUTH2),
                        SMTPC_HAVE_SASL_EXTRA ? "XOAUTH2" : "");
    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_OAUTHBEARER),
                        SMTPC_HAVE_SASL_EXTRA ? "OAUTHBEARER" : "");
    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_SCRAM_SHA_256),
                        SMTPC_HAVE_SASL_CRYPTO ? "SCRAM-SHA-256" : "");
    assert_string_equal(smtpc_sasl_mech_name(0), "");
    assert_string_equal(smtpc_sasl_mech_name(0x40), "");
    assert_string_equal(smtpc_sasl_mech_name(SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN), "");
}

/* ---- PLAIN ---- */

static void test_plain_rfc4616(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[LINE];
    /* RFC 4616 section 4: "\0tim\0tanstaaftanstaaf". */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "tim", "tanstaaftanstaaf", NULL,
                                      NULL, 512, out, sizeof out), 0);
    assert_string_equal(out, "PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    assert_int_equal(smtpc_sasl_success(&s), 0);
    /* One message only: a further challenge is cancelled. */
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), SMTPC_EAUTH_PROTO);
    assert_string_equal(out, "*");
    smtpc_sasl_clear(&s);
}

static void test_plain_initial_response_deferred(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[LINE];
    /* "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n" is 41 octets. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "tim", "tanstaaftanstaaf", NULL,
                                      NULL, 41, out, sizeof out), 0);
    assert_string_equal(out, "PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "tim", "tanstaaftanstaaf", NULL,
                                      NULL, 40, out, sizeof out), 0);
    assert_string_equal(out, "PLAIN");
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), 0);
    assert_string_equal(out, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    assert_int_equal(s.ir_pending, 0);
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), SMTPC_EAUTH_PROTO);
    assert_string_equal(out, "*");

    /* A caller buffer too small for the response also defers it. */
    char small[12];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "tim", "tanstaaftanstaaf", NULL,
                                      NULL, 512, small, sizeof small), 0);
    assert_string_equal(small, "PLAIN");
    assert_int_equal(smtpc_sasl_step(&s, "", 0, small, sizeof small), SMTPC_ETOOLONG);
    assert_string_equal(small, "*");
    smtpc_sasl_clear(&s);
}

#if SMTPC_HAVE_SASL_EXTRA
/* ---- LOGIN ---- */

static void test_login_by_step(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[LINE], dec[256];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_LOGIN, "alice@example.org", "s3cr3t pw",
                                      NULL, NULL, 512, out, sizeof out), 0);
    assert_string_equal(out, "LOGIN");
    assert_int_equal(smtpc_sasl_step(&s, "VXNlcm5hbWU6", 12, out, sizeof out), 0);
    assert_string_equal(unb64(out, dec, sizeof dec), "alice@example.org");
    /* The prompt text does not matter, only the order. */
    assert_int_equal(step_text(&s, "Passwort:", out, sizeof out), 0);
    assert_string_equal(unb64(out, dec, sizeof dec), "s3cr3t pw");
    assert_int_equal(smtpc_sasl_step(&s, "UGFzc3dvcmQ6", 12, out, sizeof out), SMTPC_EAUTH_PROTO);
    assert_string_equal(out, "*");
    assert_int_equal(smtpc_sasl_success(&s), 0);

    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_LOGIN, "alice", "pw", NULL, NULL, 512, out,
                                      sizeof out), 0);
    assert_int_equal(smtpc_sasl_step(&s, "VXNlcm5hbWU6$", 13, out, sizeof out),
                     SMTPC_EAUTH_PROTO);
    assert_string_equal(out, "*");
    smtpc_sasl_clear(&s);
}

#endif

#if SMTPC_HAVE_SASL_CRYPTO
/* ---- CRAM-MD5 ---- */

static void test_cram_md5_rfc2195(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[LINE], dec[256];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_CRAM_MD5, "tim", "tanstaaftanstaaf", NULL,
                                      NULL, 512, out, sizeof out), 0);
    assert_string_equal(out, "CRAM-MD5");
    const char *ch = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
    assert_int_equal(smtpc_sasl_step(&s, ch, strlen(ch), out, sizeof out), 0);
    assert_string_equal(out, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    assert_string_equal(unb64(out, dec, sizeof dec), "tim b913a602c7eda7a495b4e6e7334d3890");
    assert_int_equal(smtpc_sasl_step(&s, ch, strlen(ch), out, sizeof out), SMTPC_EAUTH_PROTO);

    /* An empty challenge cannot be signed. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_CRAM_MD5, "tim", "x", NULL, NULL, 512, out,
                                      sizeof out), 0);
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), SMTPC_EAUTH_PROTO);
    /* The user name is delimited by the space. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_CRAM_MD5, "t m", "x", NULL, NULL, 512, out,
                                      sizeof out), SMTPC_EBADCHAR);
    smtpc_sasl_clear(&s);
}

#endif

#if SMTPC_HAVE_SASL_EXTRA
/* ---- XOAUTH2 / OAUTHBEARER ---- */

static void test_xoauth2_format(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[LINE], dec[LINE];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_XOAUTH2, "someuser@example.com",
                                      "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", NULL, NULL,
                                      512, out, sizeof out), 0);
    assert_memory_equal(out, "XOAUTH2 ", 8);
    assert_string_equal(unb64(out + 8, dec, sizeof dec),
                        "user=someuser@example.com\x01" "auth=Bearer "
                        "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01");
    /* The provider's JSON error is acknowledged with an empty line. */
    assert_int_equal(step_text(&s, "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":"
                                   "\"https://mail.google.com/\"}", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(step_text(&s, "{}", out, sizeof out), SMTPC_EAUTH_PROTO);
    assert_string_equal(out, "*");
    smtpc_sasl_clear(&s);
}

static void test_xoauth2_long_token(void **state)
{
    (void)state;
    static char token[2049], out[LINE], dec[LINE];
    for (size_t i = 0; i < sizeof token - 1; i++)
        token[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/"[i % 66];
    smtpc_sasl s;
    /* Too long for a 512-octet AUTH line: sent after the first 334 instead. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_XOAUTH2, "u@example.com", token, NULL,
                                      NULL, 512, out, sizeof out), 0);
    assert_string_equal(out, "XOAUTH2");
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), 0);
    assert_null(strchr(out, '\n'));
    assert_true(strlen(out) > 2700);
    unb64(out, dec, sizeof dec);
    assert_memory_equal(dec, "user=u@example.com\x01" "auth=Bearer ", 31);
    assert_memory_equal(dec + 31, token, 2048);
    assert_string_equal(dec + 31 + 2048, "\x01\x01");
    /* With a server that takes long lines it rides on AUTH itself. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_XOAUTH2, "u@example.com", token, NULL,
                                      NULL, SMTPC_SASL_LINE_MAX, out, sizeof out), 0);
    assert_memory_equal(out, "XOAUTH2 ", 8);
    assert_null(strchr(out, '\n'));
    smtpc_sasl_clear(&s);
}

static void test_oauthbearer_format(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[LINE], dec[LINE];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_OAUTHBEARER, "user@example.com",
                                      "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==", NULL, NULL,
                                      512, out, sizeof out), 0);
    assert_memory_equal(out, "OAUTHBEARER ", 12);
    assert_string_equal(unb64(out + 12, dec, sizeof dec),
                        "n,a=user@example.com,\x01" "auth=Bearer "
                        "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==\x01\x01");
    /* RFC 7628 3.2.3: the error challenge gets a single %x01. */
    assert_int_equal(step_text(&s, "{\"status\":\"invalid_token\"}", out, sizeof out), 0);
    assert_string_equal(out, "AQ==");
    assert_int_equal(step_text(&s, "{}", out, sizeof out), SMTPC_EAUTH_PROTO);

    /* ',' and '=' in the authzid are escaped. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_OAUTHBEARER, "a,b=c", "tok", NULL, NULL,
                                      512, out, sizeof out), 0);
    assert_string_equal(unb64(out + 12, dec, sizeof dec),
                        "n,a=a=2Cb=3Dc,\x01" "auth=Bearer tok\x01\x01");
    smtpc_sasl_clear(&s);
}

static void test_token_bad_chars(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[256];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_XOAUTH2, "u", "tok\x01" "auth=x", NULL,
                                      NULL, 512, out, sizeof out), SMTPC_EBADCHAR);
    assert_string_equal(out, "");
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_XOAUTH2, "u\x01", "tok", NULL, NULL, 512,
                                      out, sizeof out), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_OAUTHBEARER, "u", "to k", NULL, NULL, 512,
                                      out, sizeof out), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_OAUTHBEARER, "u", "tok\r\n", NULL, NULL,
                                      512, out, sizeof out), SMTPC_EBADCHAR);
}
#else
/* -Dsasl_extra=false: LOGIN and the token mechanisms are not in the build. */
static void test_extra_mechanisms_left_out(void **state)
{
    (void)state;
    const int mechs[] = {SMTPC_MECH_LOGIN, SMTPC_MECH_XOAUTH2, SMTPC_MECH_OAUTHBEARER};
    for (size_t i = 0; i < 3; i++) {
        smtpc_sasl s;
        char out[LINE];
        memset(out, 'x', sizeof out);
        assert_int_equal(smtpc_sasl_begin(&s, mechs[i], "user", "pencil", NULL, NULL, 512, out,
                                          sizeof out),
                         SMTPC_ENOTSUP);
        assert_string_equal(out, "");
        assert_false(smtpc_sasl_available() & mechs[i]);
    }
}
#endif

#if SMTPC_HAVE_SASL_CRYPTO
/* ---- SCRAM-SHA-256 ---- */

static void begin_rfc7677(smtpc_sasl *s, fixed_random *r, char *out, size_t cap)
{
    r->bytes = rfc7677_nonce_bytes;
    r->len = sizeof rfc7677_nonce_bytes;
    r->calls = 0;
    assert_int_equal(smtpc_sasl_begin(s, SMTPC_MECH_SCRAM_SHA_256, "user", "pencil",
                                      fixed_random_fn, r, 512, out, cap), 0);
    assert_int_equal(r->calls, 1);
}

static void test_scram_rfc7677_exchange(void **state)
{
    (void)state;
    smtpc_sasl s;
    fixed_random r;
    char out[LINE], dec[LINE];
    begin_rfc7677(&s, &r, out, sizeof out);
    assert_memory_equal(out, "SCRAM-SHA-256 ", 14);
    assert_string_equal(unb64(out + 14, dec, sizeof dec), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_int_equal(smtpc_sasl_success(&s), SMTPC_EAUTH_SERVER);

    assert_int_equal(step_text(&s, rfc7677_server_first, out, sizeof out), 0);
    assert_string_equal(unb64(out, dec, sizeof dec),
                        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    /* The server's proof has not been seen yet. */
    assert_int_equal(smtpc_sasl_success(&s), SMTPC_EAUTH_SERVER);

    assert_int_equal(step_text(&s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", out,
                               sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(smtpc_sasl_success(&s), 0);
    assert_int_equal(s.phase, 2);
    assert_int_equal(step_text(&s, "v=x", out, sizeof out), SMTPC_EAUTH_PROTO);

    smtpc_sasl_clear(&s);
    static const smtpc_sasl zero;
    assert_memory_equal(&s, &zero, sizeof s);
}

static void test_scram_deferred_client_first(void **state)
{
    (void)state;
    smtpc_sasl s;
    fixed_random r = {rfc7677_nonce_bytes, sizeof rfc7677_nonce_bytes, 0};
    char out[LINE], dec[LINE];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_SCRAM_SHA_256, "user", "pencil",
                                      fixed_random_fn, &r, 30, out, sizeof out), 0);
    assert_string_equal(out, "SCRAM-SHA-256");
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), 0);
    assert_string_equal(unb64(out, dec, sizeof dec), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_int_equal(step_text(&s, rfc7677_server_first, out, sizeof out), 0);
    assert_string_equal(unb64(out, dec, sizeof dec),
                        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    assert_int_equal(step_text(&s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", out,
                               sizeof out), 0);
    assert_int_equal(smtpc_sasl_success(&s), 0);
    smtpc_sasl_clear(&s);
}

static void test_scram_wrong_server_signature(void **state)
{
    (void)state;
    static const struct {
        const char *final;
        int rc;
    } finals[] = {
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=", SMTPC_EAUTH_SERVER}, /* last bits */
        {"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", SMTPC_EAUTH_SERVER}, /* first byte */
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9", SMTPC_EAUTH_SERVER},     /* truncated */
        {"v=", SMTPC_EAUTH_SERVER},
        /* non-canonical padding bits: not even base64 */
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", SMTPC_EAUTH_PROTO},
        {"x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", SMTPC_EAUTH_PROTO},
    };
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        smtpc_sasl s;
        fixed_random r;
        char out[LINE];
        begin_rfc7677(&s, &r, out, sizeof out);
        assert_int_equal(step_text(&s, rfc7677_server_first, out, sizeof out), 0);
        assert_int_equal(step_text(&s, finals[i].final, out, sizeof out), finals[i].rc);
        assert_string_equal(out, "*");
        assert_int_equal(smtpc_sasl_success(&s), SMTPC_EAUTH_SERVER);
        smtpc_sasl_clear(&s);
    }
}

static void test_scram_server_error_and_bad_first(void **state)
{
    (void)state;
    smtpc_sasl s;
    fixed_random r;
    char out[LINE];
    begin_rfc7677(&s, &r, out, sizeof out);
    assert_int_equal(step_text(&s, rfc7677_server_first, out, sizeof out), 0);
    assert_int_equal(step_text(&s, "e=invalid-proof", out, sizeof out), SMTPC_EAUTH_FAILED);
    assert_string_equal(out, "*");
    assert_int_equal(smtpc_sasl_success(&s), SMTPC_EAUTH_SERVER);

    static const char *const bad_first[] = {
        /* the server's nonce must extend ours */
        "r=XOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNGfw,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        /* iteration counts out of range or malformed */
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==",
        /* salt missing, empty or not base64 */
        "r=rOprNGfwEbeRWgbNEkqOx,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22$,i=4096",
        /* an unknown mandatory extension */
        "m=foo,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "",
        "r=rOprNGfwEbeRWgbNEkqOx\t,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    };
    for (size_t i = 0; i < sizeof bad_first / sizeof bad_first[0]; i++) {
        begin_rfc7677(&s, &r, out, sizeof out);
        assert_int_equal(step_text(&s, bad_first[i], out, sizeof out), SMTPC_EAUTH_PROTO);
        assert_string_equal(out, "*");
    }
    /* Extensions after i= are allowed and ignored. */
    begin_rfc7677(&s, &r, out, sizeof out);
    assert_int_equal(step_text(&s, "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1,x=y",
                               out, sizeof out), 0);
    smtpc_sasl_clear(&s);
}

static void test_scram_username_escaping_and_chars(void **state)
{
    (void)state;
    smtpc_sasl s;
    fixed_random r = {rfc7677_nonce_bytes, sizeof rfc7677_nonce_bytes, 0};
    char out[LINE], dec[LINE];
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_SCRAM_SHA_256, "a,b=c", "pencil",
                                      fixed_random_fn, &r, 512, out, sizeof out), 0);
    assert_string_equal(unb64(out + 14, dec, sizeof dec),
                        "n,,n=a=2Cb=3Dc,r=rOprNGfwEbeRWgbNEkqO");
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_SCRAM_SHA_256, "user", "pen\ncil",
                                      fixed_random_fn, &r, 512, out, sizeof out), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_SCRAM_SHA_256, "us\x7f" "er", "pencil",
                                      fixed_random_fn, &r, 512, out, sizeof out), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_SCRAM_SHA_256, "user", "pencil",
                                      failing_random_fn, NULL, 512, out, sizeof out), SMTPC_EAUTH);
    static char longname[1100];
    memset(longname, 'u', sizeof longname - 1);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_SCRAM_SHA_256, longname, "pencil",
                                      fixed_random_fn, &r, 512, out, sizeof out), SMTPC_ETOOLONG);
    smtpc_sasl_clear(&s);
}

static void test_scram_default_random(void **state)
{
    (void)state;
    smtpc_sasl a, b;
    char out1[LINE], out2[LINE];
    /* No source given: the codec never falls back to the OS by itself
     * (consolidation issue, sans-io rule). */
    assert_int_equal(smtpc_sasl_begin(&a, SMTPC_MECH_SCRAM_SHA_256, "user", "pencil", NULL, NULL,
                                      512, out1, sizeof out1), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_sasl_begin(&a, SMTPC_MECH_SCRAM_SHA_256, "user", "pencil",
                                      smtpc_random_default, NULL, 512, out1, sizeof out1), 0);
    assert_int_equal(smtpc_sasl_begin(&b, SMTPC_MECH_SCRAM_SHA_256, "user", "pencil",
                                      smtpc_random_default, NULL, 512, out2, sizeof out2), 0);
    assert_int_equal(strlen(a.client_nonce), 20);
    assert_string_not_equal(a.client_nonce, b.client_nonce);
    assert_null(strchr(a.client_nonce, ','));
    smtpc_sasl_clear(&a);
    smtpc_sasl_clear(&b);
}

#else
/* -Dsasl_crypto=disabled: CRAM-MD5 and SCRAM-SHA-256 are not compiled in.
 * Asking for one is SMTPC_ENOTSUP, whatever the other arguments, with no
 * line written: never a silent fallback or a half-built response. */
static void test_hash_mechanisms_left_out(void **state)
{
    (void)state;
    const int mechs[] = {SMTPC_MECH_CRAM_MD5, SMTPC_MECH_SCRAM_SHA_256};
    for (size_t i = 0; i < 2; i++) {
        smtpc_sasl s;
        char out[LINE];
        memset(out, 'x', sizeof out);
        assert_int_equal(smtpc_sasl_begin(&s, mechs[i], "user", "pencil", smtpc_random_default,
                                          NULL, 0, out, sizeof out),
                         SMTPC_ENOTSUP);
        assert_string_equal(out, "");
        assert_int_equal(smtpc_sasl_begin(&s, mechs[i], NULL, NULL, NULL, NULL, 0, out,
                                          sizeof out),
                         SMTPC_ENOTSUP);
        assert_string_equal(smtpc_sasl_mech_name(mechs[i]), "");
        assert_false(smtpc_sasl_available() & mechs[i]);
        assert_int_equal(smtpc_sasl_choose(mechs[i] | SMTPC_MECH_LOGIN, SMTPC_AUTH_ALL, 0),
                         SMTPC_MECH_LOGIN);
    }
}
#endif

/* ---- arguments ---- */

static void test_invalid_arguments(void **state)
{
    (void)state;
    smtpc_sasl s;
    char out[64];
    assert_int_equal(smtpc_sasl_begin(NULL, SMTPC_MECH_PLAIN, "u", "p", NULL, NULL, 512, out,
                                      sizeof out), SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, NULL, "p", NULL, NULL, 512, out,
                                      sizeof out), SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "u", "", NULL, NULL, 512, out,
                                      sizeof out), SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_begin(&s, 0x40, "u", "p", NULL, NULL, 512, out, sizeof out),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN | SMTPC_MECH_LOGIN, "u", "p", NULL,
                                      NULL, 512, out, sizeof out), SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "u", "p", NULL, NULL, 512, out, 0),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_CRAM_MD5, "u", "p", NULL, NULL, 512, out, 8),
                     SMTPC_HAVE_SASL_CRYPTO ? SMTPC_ETOOLONG : SMTPC_ENOTSUP);
    assert_int_equal(smtpc_sasl_step(NULL, "", 0, out, sizeof out), SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_step(&s, NULL, 3, out, sizeof out), SMTPC_EINVAL);
    assert_int_equal(smtpc_sasl_success(NULL), SMTPC_EINVAL);
    smtpc_sasl_clear(NULL);
    /* A step without a begin is cancelled. */
    smtpc_sasl_clear(&s);
    assert_int_equal(smtpc_sasl_step(&s, "", 0, out, sizeof out), SMTPC_ESTATE);
    assert_string_equal(out, "*");
}

static void test_oversized_challenge(void **state)
{
    (void)state;
    static char ch[4 * SMTPC_SASL_CHALLENGE_MAX];
    memset(ch, 'A', sizeof ch);
    smtpc_sasl s;
    char out[LINE];
#if SMTPC_HAVE_SASL_EXTRA
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_LOGIN, "u", "p", NULL, NULL, 512, out,
                                      sizeof out), 0);
#else
    /* PLAIN waits for a challenge when its response does not fit the line. */
    assert_int_equal(smtpc_sasl_begin(&s, SMTPC_MECH_PLAIN, "u", "p", NULL, NULL, 8, out,
                                      sizeof out), 0);
    assert_string_equal(out, "PLAIN");
#endif
    assert_int_equal(smtpc_sasl_step(&s, ch, sizeof ch, out, sizeof out), SMTPC_EAUTH_PROTO);
    assert_string_equal(out, "*");
    smtpc_sasl_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_encode_long_has_no_newline),
        cmocka_unit_test(test_b64_encode_capacity),
        cmocka_unit_test(test_b64_decode_rejects_junk),
        cmocka_unit_test(test_b64_decode_exact_capacity),
        cmocka_unit_test(test_choose_preference_and_masks),
        cmocka_unit_test(test_plain_rfc4616),
        cmocka_unit_test(test_plain_initial_response_deferred),
#if SMTPC_HAVE_SASL_EXTRA
        cmocka_unit_test(test_login_by_step),
#endif
#if SMTPC_HAVE_SASL_CRYPTO
        cmocka_unit_test(test_cram_md5_rfc2195),
#endif
#if SMTPC_HAVE_SASL_EXTRA
        cmocka_unit_test(test_xoauth2_format),
        cmocka_unit_test(test_xoauth2_long_token),
        cmocka_unit_test(test_oauthbearer_format),
        cmocka_unit_test(test_token_bad_chars),
#else
        cmocka_unit_test(test_extra_mechanisms_left_out),
#endif
#if SMTPC_HAVE_SASL_CRYPTO
        cmocka_unit_test(test_scram_rfc7677_exchange),
        cmocka_unit_test(test_scram_deferred_client_first),
        cmocka_unit_test(test_scram_wrong_server_signature),
        cmocka_unit_test(test_scram_server_error_and_bad_first),
        cmocka_unit_test(test_scram_username_escaping_and_chars),
        cmocka_unit_test(test_scram_default_random),
#else
        cmocka_unit_test(test_hash_mechanisms_left_out),
#endif
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_oversized_challenge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
