/* Dot-stuffer: fixed expectations, then every input split and tiny output
 * windows against a reference model built differently (split into lines
 * first, stuff second). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytescan.h"
#include "dot_stuffer.h"
#include "test_rng.h"

#define CANARY 0x5A

typedef struct out_buf {
    uint8_t *data;
    size_t len, cap;
} out_buf;

static void out_init(out_buf *o, size_t cap)
{
    o->data = malloc(cap);
    assert_non_null(o->data);
    o->len = 0;
    o->cap = cap;
}

static void out_put(out_buf *o, const uint8_t *p, size_t n)
{
    assert_true(n <= o->cap - o->len);
    memcpy(o->data + o->len, p, n);
    o->len += n;
}

/* Reference: cut the body at each CRLF, CR or LF, stuff each line, join with
 * CRLF, then the terminator. */
static void reference(const uint8_t *in, size_t n, out_buf *o)
{
    size_t start = 0, i = 0;
    static const uint8_t crlf[] = {'\r', '\n'};

    while (i <= n) {
        size_t eol = 0;
        if (i < n && in[i] == '\r')
            eol = (i + 1 < n && in[i + 1] == '\n') ? 2 : 1;
        else if (i < n && in[i] == '\n')
            eol = 1;
        if (eol == 0 && i < n) {
            i++;
            continue;
        }
        if (eol == 0 && start == n)
            break; /* no unterminated last line */
        if (i > start && in[start] == '.')
            out_put(o, (const uint8_t *)".", 1);
        out_put(o, in + start, i - start);
        out_put(o, crlf, 2);
        i += eol;
        start = i;
        if (eol == 0)
            break;
    }
    out_put(o, (const uint8_t *)".\r\n", 3);
}

/* Encode in chunks of chunk (0: random, seeded), through an output window of
 * win bytes. A stalled call must take and write nothing; the driver then
 * offers a bigger window, as a caller that flushed its buffer would. */
static void encode_with(const uint8_t *in, size_t n, size_t chunk, uint32_t seed, size_t win,
                        out_buf *o, int *saw_8bit)
{
    smtpc_dot_stuffer s;
    uint8_t tmp[32]; /* windows up to 16, room for the canary after */
    size_t pos = 0;
    uint32_t rng = seed ? seed : 1;

    smtpc_dot_stuffer_init(&s);
    while (pos < n) {
        size_t len = chunk ? chunk : 1 + test_xorshift32(&rng) % 7;
        size_t cap = win;
        if (len > n - pos)
            len = n - pos;
        while (len > 0) {
            size_t used = 99, made = 99;
            smtpc_dot_stuffer before = s;
            memset(tmp, CANARY, sizeof tmp);
            smtpc_dot_stuffer_encode(&s, in + pos, len, &used, tmp, cap, &made);
            assert_true(used <= len);
            assert_true(made <= cap);
            if (used == 0) {
                /* The contract: a byte's output needs at most 3 bytes. */
                assert_int_equal(made, 0);
                assert_memory_equal(&before, &s, sizeof s);
                assert_int_equal(tmp[0], CANARY);
                assert_true(cap < 3);
                cap++;
                continue;
            }
            assert_int_equal(tmp[made], CANARY);
            out_put(o, tmp, made);
            pos += used;
            len -= used;
            cap = win;
        }
    }
    {
        size_t cap = win, made;
        for (;;) {
            smtpc_dot_stuffer before = s;
            memset(tmp, CANARY, sizeof tmp);
            made = smtpc_dot_stuffer_finish(&s, tmp, cap);
            if (made > 0)
                break;
            assert_memory_equal(&before, &s, sizeof s);
            assert_int_equal(tmp[0], CANARY);
            assert_true(cap < 7);
            cap++;
        }
        assert_true(made <= cap);
        assert_int_equal(tmp[made], CANARY);
        out_put(o, tmp, made);
    }
    *saw_8bit = s.saw_8bit;
}

static const size_t windows[] = {1, 2, 3, 4, 5, 7, 16};

/* Every chunking and window must produce want exactly. */
static void check_all_ways(const uint8_t *in, size_t n, const uint8_t *want, size_t want_len,
                           int want_8bit)
{
    size_t w, chunk;
    uint32_t seed;

    for (w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        for (chunk = 1; chunk <= n + 1; chunk++) {
            out_buf o;
            int saw;
            out_init(&o, 3 * n + 8);
            encode_with(in, n, chunk, 0, windows[w], &o, &saw);
            assert_int_equal(o.len, want_len);
            assert_memory_equal(o.data, want, want_len);
            assert_int_equal(saw, want_8bit);
            free(o.data);
        }
        for (seed = 1; seed <= 16; seed++) {
            out_buf o;
            int saw;
            out_init(&o, 3 * n + 8);
            encode_with(in, n, 0, seed * 747796405u, windows[w], &o, &saw);
            assert_int_equal(o.len, want_len);
            assert_memory_equal(o.data, want, want_len);
            assert_int_equal(saw, want_8bit);
            free(o.data);
        }
    }
}

typedef struct stuff_case {
    const char *in;
    const char *want;
} stuff_case;

static const stuff_case cases[] = {
    {"", ".\r\n"},
    {"hello", "hello\r\n.\r\n"},
    {"hello\r\n", "hello\r\n.\r\n"},
    {"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
    {".hidden", "..hidden\r\n.\r\n"},
    {".", "..\r\n.\r\n"},
    {".\r\n", "..\r\n.\r\n"},
    {"..\r\n", "...\r\n.\r\n"},
    {"a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"},
    {"a.b\r\n.c", "a.b\r\n..c\r\n.\r\n"},
    {"\r\n.\r\n", "\r\n..\r\n.\r\n"},
    {"\r\n", "\r\n.\r\n"},
    {"\r\n\r\n", "\r\n\r\n.\r\n"},
    /* bare LF and bare CR become CRLF */
    {"a\nb\n", "a\r\nb\r\n.\r\n"},
    {"\n", "\r\n.\r\n"},
    {"a\rb\r", "a\r\nb\r\n.\r\n"},
    {"a\r", "a\r\n.\r\n"},
    {"\r", "\r\n.\r\n"},
    {"a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
    {"a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
    {"a\n\r\n", "a\r\n\r\n.\r\n"},
    {"\r\r", "\r\n\r\n.\r\n"},
    {"\n\n", "\r\n\r\n.\r\n"},
    {".\r", "..\r\n.\r\n"},
    {"\r.", "\r\n..\r\n.\r\n"},
    {"\r.\r", "\r\n..\r\n.\r\n"},
    /* SMTP smuggling shapes: every one comes out as a stuffed, CRLF line */
    {"x\n.\n", "x\r\n..\r\n.\r\n"},
    {"x\r.\r", "x\r\n..\r\n.\r\n"},
    {"x\r\n.\n", "x\r\n..\r\n.\r\n"},
    {"x\n.\r\n", "x\r\n..\r\n.\r\n"},
    {"x\r\n.\rMAIL FROM:<e@vil>", "x\r\n..\r\nMAIL FROM:<e@vil>\r\n.\r\n"},
};

static void test_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const stuff_case *c = &cases[i];
        out_buf ref;
        size_t n = strlen(c->in);
        print_message("case %zu\n", i);
        /* The model agrees with the hand-written expectation... */
        out_init(&ref, 3 * n + 8);
        reference((const uint8_t *)c->in, n, &ref);
        assert_int_equal(ref.len, strlen(c->want));
        assert_memory_equal(ref.data, c->want, ref.len);
        free(ref.data);
        /* ...and the encoder agrees with both, however it is driven. */
        check_all_ways((const uint8_t *)c->in, n, (const uint8_t *)c->want, strlen(c->want), 0);
    }
}

static void test_8bit(void **state)
{
    static const char in[] = "caf\xc3\xa9\r\n";
    static const char want[] = "caf\xc3\xa9\r\n.\r\n";
    static const char ascii[] = "plain\x7f\r\n";
    static const char ascii_want[] = "plain\x7f\r\n.\r\n";

    (void)state;
    check_all_ways((const uint8_t *)in, strlen(in), (const uint8_t *)want, strlen(want), 1);
    check_all_ways((const uint8_t *)ascii, strlen(ascii), (const uint8_t *)ascii_want,
                   strlen(ascii_want), 0);
    /* NUL is data here, not a terminator. */
    static const uint8_t nul[] = {'.', 0, '\n'};
    static const uint8_t nul_want[] = {'.', '.', 0, '\r', '\n', '.', '\r', '\n'};
    check_all_ways(nul, sizeof nul, nul_want, sizeof nul_want, 0);
}

/* Random bodies over the interesting alphabet, against the model. */
static void test_random(void **state)
{
    static const uint8_t alphabet[] = {'.', '.', '\r', '\r', '\n', '\n', 'a', 'b', ' ', 0xC3};
    uint32_t seed;

    (void)state;
    for (seed = 1; seed <= 300; seed++) {
        uint32_t rng = seed * 2891336453u;
        size_t n = test_xorshift32(&rng) % 24, i;
        uint8_t in[24];
        int has8 = 0;
        out_buf ref;
        for (i = 0; i < n; i++) {
            in[i] = alphabet[test_xorshift32(&rng) % sizeof alphabet];
            has8 |= in[i] >= 0x80;
        }
        out_init(&ref, 3 * n + 8);
        reference(in, n, &ref);
        check_all_ways(in, n, ref.data, ref.len, has8);
        free(ref.data);
    }
}

/* smtpc_plain_run scans eight bytes at a time: every length, every
 * position of one special byte, and bytes that differ from CR or LF only in
 * bit 7 or the lowest bits, against a byte loop. */
static void test_plain_run(void **state)
{
    static const uint8_t specials[] = {'\r', '\n', 0x8D, 0x8A, 0x0C, 0x0E, 0x0B, 0x00, 0x80, 0xFF};
    (void)state;
    for (size_t n = 0; n <= 40; n++) {
        for (size_t k = 0; k < sizeof specials; k++) {
            for (size_t at = 0; at <= n; at++) {
                uint8_t buf[41];
                memset(buf, 'a', sizeof buf);
                if (at < n)
                    buf[at] = specials[k];
                size_t want = 0;
                uint8_t want_seen = 0;
                while (want < n && buf[want] != '\r' && buf[want] != '\n')
                    want_seen |= buf[want++];
                uint8_t seen = 0;
                assert_int_equal(smtpc_plain_run(buf, n, &seen), want);
                assert_int_equal(seen & 0x80, want_seen & 0x80);
            }
        }
    }
}

/* Long lines (the word-at-a-time path) with dots, bare CRs and LFs and 8-bit
 * bytes, against the reference encoder. */
static void test_long_lines(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 200; seed++) {
        uint32_t rng = seed * 2654435761u;
        uint8_t in[160];
        size_t n = test_xorshift32(&rng) % sizeof in;
        int has8 = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = test_xorshift32(&rng) % 200;
            in[i] = r == 0 ? '\r' : r == 1 ? '\n' : r == 2 ? '.' : r == 3 ? 0xE9 : (uint8_t)('a' + r % 26);
            has8 |= in[i] >= 0x80;
        }
        out_buf ref;
        out_init(&ref, 3 * n + 8);
        reference(in, n, &ref);
        check_all_ways(in, n, ref.data, ref.len, has8);
        free(ref.data);
    }
}

static void test_finish_sizes(void **state)
{
    smtpc_dot_stuffer s;
    uint8_t out[8];
    size_t used, made;

    (void)state;
    /* Mid-line needs 5 bytes: 4 is refused with nothing written. */
    smtpc_dot_stuffer_init(&s);
    smtpc_dot_stuffer_encode(&s, (const uint8_t *)"abc", 3, &used, out, sizeof out, &made);
    assert_int_equal(used, 3);
    memset(out, CANARY, sizeof out);
    assert_int_equal(smtpc_dot_stuffer_finish(&s, out, 4), 0);
    assert_int_equal(out[0], CANARY);
    assert_int_equal(smtpc_dot_stuffer_finish(&s, out, 5), 5);
    assert_memory_equal(out, "\r\n.\r\n", 5);

    /* Empty body: just ".\r\n", 3 bytes. */
    smtpc_dot_stuffer_init(&s);
    assert_int_equal(smtpc_dot_stuffer_finish(&s, out, 2), 0);
    assert_int_equal(smtpc_dot_stuffer_finish(&s, out, 3), 3);
    assert_memory_equal(out, ".\r\n", 3);

    /* Zero input and zero capacity are harmless. */
    smtpc_dot_stuffer_init(&s);
    smtpc_dot_stuffer_encode(&s, (const uint8_t *)"x", 0, &used, out, sizeof out, &made);
    assert_int_equal(used, 0);
    assert_int_equal(made, 0);
    smtpc_dot_stuffer_encode(&s, (const uint8_t *)"x", 1, &used, out, 0, &made);
    assert_int_equal(used, 0);
    assert_int_equal(made, 0);
    assert_int_equal(s.at_line_start, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_8bit),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_finish_sizes),
        cmocka_unit_test(test_plain_run),
        cmocka_unit_test(test_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
