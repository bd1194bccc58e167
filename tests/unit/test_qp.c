/* Quoted-printable encoder and the MIME base64 line wrapper: fixed vectors,
 * then random text round-tripped through an independent decoder, fed and
 * drained in every small split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64_stream.h"
#include "quoted_printable.h"

static size_t qp_all(const char *in, size_t len, int escape_from, char *out, size_t cap)
{
    smtpc_qp q;
    smtpc_qp_init(&q, escape_from);
    size_t used, n = smtpc_qp_encode(&q, (const uint8_t *)in, len, 1, &used, (uint8_t *)out,
                                     cap - 1);
    assert_int_equal(used, len);
    out[n] = '\0';
    return n;
}

static void expect_qp(const char *in, int escape_from, const char *want)
{
    char out[4096];
    qp_all(in, strlen(in), escape_from, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(smtpc_qp_encoded_size((const uint8_t *)in, strlen(in), escape_from),
                     strlen(want));
}

static void test_qp_vectors(void **state)
{
    (void)state;
    expect_qp("", 0, "");
    expect_qp("abc", 0, "abc");
    expect_qp("a=b", 0, "a=3Db");
    expect_qp("caf\xc3\xa9", 0, "caf=C3=A9");
    expect_qp("trailing space \nx", 0, "trailing space=20\r\nx");
    expect_qp("tab\t", 0, "tab=09");
    expect_qp("mid space ok", 0, "mid space ok");
    expect_qp("a\rb\nc\r\nd", 0, "a\r\nb\r\nc\r\nd");
    expect_qp(".dot\n", 0, ".dot\r\n");
    expect_qp("From me\nFrom you", 1, "=46rom me\r\n=46rom you");
    expect_qp("From me", 0, "From me");
    expect_qp("Fromage", 1, "Fromage");
    expect_qp("ctl\x01\x7f", 0, "ctl=01=7F");
    /* 76 characters fit when the line ends there... */
    char in[200], want[300];
    memset(in, 'x', 76);
    strcpy(in + 76, "\n");
    memset(want, 'x', 76);
    strcpy(want + 76, "\r\n");
    expect_qp(in, 0, want);
    /* ...otherwise 75 and a soft break. */
    memset(in, 'x', 100);
    in[100] = '\0';
    memset(want, 'x', 75);
    strcpy(want + 75, "=\r\n");
    memset(want + 78, 'x', 25);
    want[103] = '\0';
    expect_qp(in, 0, want);
    /* An escape is never split by a soft break. */
    memset(in, 'x', 74);
    strcpy(in + 74, "\xc3\xa9");
    memset(want, 'x', 74);
    strcpy(want + 74, "=\r\n=C3=A9");
    expect_qp(in, 0, want);
}

static int hexval(int c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* Independent decoder (RFC 2045 6.7): soft breaks vanish, =XX is a byte,
 * CRLF is a line break. */
static size_t qp_decode(const char *in, size_t len, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=') {
            if (in[i + 1] == '\r') {
                i += 2;
                continue;
            }
            out[o++] = (uint8_t)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            out[o++] = (uint8_t)in[i];
        }
    }
    return o;
}

static void check_lines(const char *out, size_t n)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '\r') {
            assert_true(i + 1 < n && out[i + 1] == '\n');
            assert_true(i == 0 || (out[i - 1] != ' ' && out[i - 1] != '\t'));
            i++;
            col = 0;
            continue;
        }
        assert_true(out[i] != '\n');
        assert_true(++col <= 76);
        if (out[i] == '=')
            assert_true(out[i + 1] == '\r' ||
                        (strchr("0123456789ABCDEF", out[i + 1]) && out[i + 1] &&
                         strchr("0123456789ABCDEF", out[i + 2]) && out[i + 2]));
    }
    assert_true(n == 0 || (out[n - 1] != ' ' && out[n - 1] != '\t'));
}

static void test_qp_random_roundtrip(void **state)
{
    (void)state;
    srand(7);
    static char in[3000], ref[12000], out[12000];
    static uint8_t dec[3000];
    static const char alphabet[] = "abc  \t=.F\r\n\xc3\xa9xyz-_";
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(rand() % 600);
        for (size_t i = 0; i < len; i++)
            in[i] = (rand() % 10 == 0) ? "From "[i % 5] : alphabet[rand() % (sizeof alphabet - 1)];
        /* Line breaks in the input are made CRLF first: the decoder gives
         * CRLF back. */
        size_t clen = 0;
        static char canon[6000];
        for (size_t i = 0; i < len; i++) {
            if (in[i] == '\r' || in[i] == '\n') {
                if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
                    i++;
                canon[clen++] = '\r';
                canon[clen++] = '\n';
            } else {
                canon[clen++] = in[i];
            }
        }
        int esc = round & 1;
        size_t n = qp_all(in, len, esc, ref, sizeof ref);
        check_lines(ref, n);
        assert_null(strstr(ref, "=_"));
        size_t d = qp_decode(ref, n, dec);
        assert_int_equal(d, clen);
        assert_memory_equal(dec, canon, clen);
        if (esc)
            for (size_t i = 0; i + 5 <= n; i++)
                if (i == 0 || ref[i - 1] == '\n')
                    assert_true(memcmp(ref + i, "From ", 5) != 0);
        /* Same bytes when fed in small pieces into small windows. */
        smtpc_qp q;
        smtpc_qp_init(&q, esc);
        size_t ip = 0, op = 0, feed = (size_t)(1 + rand() % 9), win = (size_t)(6 + rand() % 5);
        while (ip < len || op < n) {
            size_t avail = len - ip < feed ? len - ip : feed;
            size_t used;
            size_t w = smtpc_qp_encode(&q, (const uint8_t *)in + ip, avail, ip + avail == len,
                                       &used, (uint8_t *)out + op, win);
            ip += used;
            op += w;
            if (used == 0 && w == 0)
                feed++; /* needs more lookahead */
            if (ip == len && w == 0 && used == 0)
                break;
        }
        assert_int_equal(op, n);
        assert_memory_equal(out, ref, n);
    }
}

static void test_base64_lines(void **state)
{
    (void)state;
    static const char *const rfc4648[][2] = {{"", ""},         {"f", "Zg=="},
                                             {"fo", "Zm8="},   {"foo", "Zm9v"},
                                             {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                             {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        size_t n = smtpc_base64_chunk((const uint8_t *)rfc4648[i][0], strlen(rfc4648[i][0]), out);
        assert_int_equal(n, strlen(rfc4648[i][1]));
        assert_memory_equal(out, rfc4648[i][1], n);
    }
    /* Every length around the line size: 76-character lines, CRLF, no bare
     * LF from libb64, exact size formula. */
    static uint8_t in[1000];
    static uint8_t out[1500];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len <= 400; len++) {
        size_t used;
        size_t n = smtpc_base64_lines(in, len, 1, &used, out, sizeof out);
        assert_int_equal(used, len);
        assert_int_equal(n, smtpc_base64_encoded_size(len));
        size_t col = 0;
        for (size_t i = 0; i < n; i++) {
            if (out[i] == '\r') {
                assert_int_equal(out[i + 1], '\n');
                assert_true(col == 76 || i + 2 == n);
                i++;
                col = 0;
            } else {
                assert_true(out[i] != '\n');
                col++;
            }
        }
        assert_true(n == 0 || (out[n - 2] == '\r' && out[n - 1] == '\n'));
        /* Not final: only whole lines are taken. */
        n = smtpc_base64_lines(in, len, 0, &used, out, sizeof out);
        assert_int_equal(used, len / 57 * 57);
        /* A window too small for a line takes nothing. */
        n = smtpc_base64_lines(in, len, 1, &used, out, 77);
        assert_int_equal(n, smtpc_base64_encoded_size(len) <= 77 ? smtpc_base64_encoded_size(len) : 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qp_vectors),
        cmocka_unit_test(test_qp_random_roundtrip),
        cmocka_unit_test(test_base64_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
