/* DKIM canonicalization (src/dkim/dkim_canon.c) against vectors worked out
 * from RFC 6376: the example of section 3.4.5 and the rules of sections
 * 3.4.1 to 3.4.4 for the edges (empty bodies, missing final CRLF, trailing
 * empty lines, bare line ends), fed whole and a byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "dkim_canon.h"

typedef struct buf {
    char data[512];
    size_t len;
} buf;

static void sink(void *user, const uint8_t *p, size_t n)
{
    buf *b = user;
    assert_true(b->len + n <= sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* The canonical body of in, fed in pieces of step bytes (0: whole). */
static void body(int relaxed, const char *in, size_t step, buf *out)
{
    smtpc_dkim_body b;
    out->len = 0;
    smtpc_dkim_body_init(&b, relaxed, sink, out);
    size_t len = strlen(in);
    if (!step)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step)
        smtpc_dkim_body_update(&b, (const uint8_t *)in + i, len - i < step ? len - i : step);
    smtpc_dkim_body_final(&b);
}

static void expect_body(int relaxed, const char *in, const char *want)
{
    for (size_t step = 0; step < 4; step++) {
        buf out;
        body(relaxed, in, step, &out);
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.data, want, out.len);
    }
}

static void expect_header(int relaxed, const char *in, const char *want)
{
    char out[256];
    size_t n = smtpc_dkim_canon_header(relaxed, in, strlen(in), out);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
}

/* RFC 6376 section 3.4.5. */
static void test_rfc_example_relaxed(void **state)
{
    (void)state;
    expect_header(1, "A: X\r\n", "a:X\r\n");
    expect_header(1, "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n");
    expect_body(1, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
}

static void test_rfc_example_simple(void **state)
{
    (void)state;
    expect_header(0, "A: X\r\n", "A: X\r\n");
    expect_header(0, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n");
    expect_body(0, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
}

static void test_header_relaxed_edges(void **state)
{
    (void)state;
    /* Name lowercased, whitespace around the colon and at the end gone,
     * inner runs (folds included) one space. */
    expect_header(1, "SUBJect:\t  hello   world \t\r\n", "subject:hello world\r\n");
    expect_header(1, "X-Empty:\r\n", "x-empty:\r\n");
    expect_header(1, "X-Fold: a\r\n b\r\n\tc\r\n", "x-fold:a b c\r\n");
}

static void test_body_empty(void **state)
{
    (void)state;
    /* Section 3.4.3: an empty body is one CRLF in simple; section 3.4.4
     * (and errata 1384): nothing in relaxed. Empty lines alone count as an
     * empty body. */
    expect_body(0, "", "\r\n");
    expect_body(1, "", "");
    expect_body(0, "\r\n\r\n", "\r\n");
    expect_body(1, "\r\n \t\r\n", "");
}

static void test_body_no_final_crlf(void **state)
{
    (void)state;
    expect_body(0, "last line", "last line\r\n");
    expect_body(1, "last  line \t", "last line\r\n");
}

static void test_body_keeps_inner_empty_lines(void **state)
{
    (void)state;
    expect_body(0, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
    expect_body(1, "a\r\n \r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n");
    /* Leading whitespace becomes one space in relaxed, never goes. */
    expect_body(1, "\t\t x\r\n", " x\r\n");
}

static void test_body_bare_line_ends(void **state)
{
    (void)state;
    /* A bare LF or CR is a line end, as the engine sends it. */
    expect_body(0, "a\nb\rc\r\r\nd", "a\r\nb\r\nc\r\n\r\nd\r\n");
    expect_body(1, "a \nb\t\r\n\n\r", "a\r\nb\r\n");
}

static void test_body_dots_untouched(void **state)
{
    (void)state;
    /* The signature covers the message before dot-stuffing. */
    expect_body(0, ".\r\n..\r\n.x\r\n", ".\r\n..\r\n.x\r\n");
}

static void test_name_eq(void **state)
{
    (void)state;
    assert_true(smtpc_dkim_name_eq("fROM", 4, "From"));
    assert_false(smtpc_dkim_name_eq("Fro", 3, "From"));
    assert_false(smtpc_dkim_name_eq("Froms", 5, "From"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example_relaxed),
        cmocka_unit_test(test_rfc_example_simple),
        cmocka_unit_test(test_header_relaxed_edges),
        cmocka_unit_test(test_body_empty),
        cmocka_unit_test(test_body_no_final_crlf),
        cmocka_unit_test(test_body_keeps_inner_empty_lines),
        cmocka_unit_test(test_body_bare_line_ends),
        cmocka_unit_test(test_body_dots_untouched),
        cmocka_unit_test(test_name_eq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
