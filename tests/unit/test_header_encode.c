/* Header encoding: folding, RFC 2047 encoded-words, RFC 2231 parameters,
 * UTF-8 checks, dates and content types. Output is decoded here with an
 * independent decoder and compared with the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "header_encode.h"
#include "message_internal.h"
#include "mime_types.h"
#include "smtpc/base.h"
#include "smtpc_config.h"

static char out[65536];

/* Run fn into out and NUL-terminate; also check the windowed sink gives the
 * same bytes at several window positions. */
typedef void (*gen_fn)(smtpc_hfold *f, const void *arg);

static size_t render(const char *name, int utf8, gen_fn fn, const void *arg)
{
    smtpc_hsink s;
    smtpc_hfold f;
    smtpc_hsink_init(&s, (uint8_t *)out, sizeof out - 1, 0);
    smtpc_hfold_begin(&f, &s, name, utf8);
    fn(&f, arg);
    smtpc_hfold_end(&f);
    out[s.len] = '\0';
    assert_int_equal(s.len, s.total);
    for (uint64_t skip = 0; skip < s.total; skip += 13) {
        char win[7];
        smtpc_hsink w;
        smtpc_hsink_init(&w, (uint8_t *)win, sizeof win, skip);
        smtpc_hfold_begin(&f, &w, name, utf8);
        fn(&f, arg);
        smtpc_hfold_end(&f);
        assert_int_equal(w.total, s.total);
        assert_memory_equal(win, out + skip, w.len);
    }
    return s.len;
}

/* Every line ends in CRLF, within 78 (or max) characters; continuation
 * lines start with whitespace and are never blank. */
static void check_folding(const char *h, size_t max)
{
    const char *line = h;
    int first = 1;
    while (*line) {
        const char *crlf = strstr(line, "\r\n");
        assert_non_null(crlf);
        assert_true((size_t)(crlf - line) <= max);
        assert_null(memchr(line, '\n', (size_t)(crlf - line)));
        if (!first) {
            assert_true(line[0] == ' ' || line[0] == '\t');
            size_t k = 0;
            while (line + k < crlf && (line[k] == ' ' || line[k] == '\t'))
                k++;
            assert_true(line + k < crlf);
        }
        first = 0;
        line = crlf + 2;
    }
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int hexv(int c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* Decode the value of a header made only of encoded-words (after the
 * colon): unfold, check each word, join. */
static size_t decode_words(const char *h, char *dec)
{
    const char *p = strchr(h, ':') + 1;
    size_t o = 0;
    while (*p) {
        while (*p == ' ' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            break;
        assert_memory_equal(p, "=?UTF-8?", 8);
        const char *end = strstr(p + 10, "?=");
        assert_non_null(end);
        assert_true(end + 2 - p <= 75);
        char kind = p[8];
        const char *q = p + 10;
        size_t start = o;
        if (kind == 'B') {
            int bits = 0, acc = 0;
            for (; q < end; q++) {
                if (*q == '=')
                    break;
                acc = ((acc << 6) | b64val(*q)) & 0xffff;
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    dec[o++] = (char)((acc >> bits) & 0xff);
                }
            }
        } else {
            assert_int_equal(kind, 'Q');
            for (; q < end; q++) {
                if (*q == '_') {
                    dec[o++] = ' ';
                } else if (*q == '=') {
                    dec[o++] = (char)(hexv(q[1]) * 16 + hexv(q[2]));
                    q += 2;
                } else {
                    dec[o++] = *q;
                }
            }
        }
        /* Each word decodes to whole UTF-8 characters. */
        assert_int_equal(smtpc_utf8_check(dec + start, o - start), 0);
        p = end + 2;
    }
    dec[o] = '\0';
    return o;
}

/* Remove CRLF before whitespace (RFC 5322 unfolding). */
static void unfold(const char *h, char *u)
{
    size_t o = 0;
    for (size_t i = 0; h[i]; i++) {
        if (h[i] == '\r' && h[i + 1] == '\n') {
            i++;
            continue;
        }
        u[o++] = h[i];
    }
    u[o] = '\0';
}

static void gen_unstructured(smtpc_hfold *f, const void *arg)
{
    smtpc_hfold_unstructured(f, arg, strlen(arg));
}

/* For text the full build writes as encoded-words or RFC 2231 sections.
 * With -Dheader_encoding=false the message layer refuses it before any
 * folding (SMTPC_ENOTSUP, test_features_off), on this verdict, which is all
 * that is checked then; returns whether to go on and render it. */
static int encoded_here(int kind, const char *value)
{
    int needs = smtpc_header_needs_encoding(kind, value, strlen(value));
    if (!SMTPC_HAVE_HEADER_ENCODING) {
        if (!needs)
            print_error("\"%.60s\" needs no encoding\n", value);
        assert_true(needs);
    }
    return SMTPC_HAVE_HEADER_ENCODING;
}

static void test_utf8_and_values(void **state)
{
    (void)state;
    assert_int_equal(smtpc_utf8_check("abc \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", 15), 0);
    assert_int_equal(smtpc_utf8_check("\xc0\xaf", 2), -1);         /* overlong */
    assert_int_equal(smtpc_utf8_check("\xe0\x80\xaf", 3), -1);     /* overlong */
    assert_int_equal(smtpc_utf8_check("\xed\xa0\x80", 3), -1);     /* surrogate */
    assert_int_equal(smtpc_utf8_check("\xf4\x90\x80\x80", 4), -1); /* > U+10FFFF */
    assert_int_equal(smtpc_utf8_check("\xc3", 1), -1);             /* truncated */
    assert_int_equal(smtpc_utf8_check("\x80", 1), -1);
    assert_int_equal(smtpc_header_value_check("ok\tvalue", 8), 0);
    assert_int_equal(smtpc_header_value_check("a\r\nBcc: x", 9), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_header_value_check("a\nb", 3), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_header_value_check("a\x7f", 2), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_header_value_check("\xff", 1), SMTPC_EHEADER);
}

static void test_fold_ascii(void **state)
{
    (void)state;
    char value[2000], u[4000];
    value[0] = '\0';
    for (int i = 0; i < 80; i++)
        sprintf(value + strlen(value), "%sword%d", i ? (i % 7 ? " " : "  ") : "", i);
    render("Subject", 0, gen_unstructured, value);
    check_folding(out, 78);
    unfold(out, u);
    assert_memory_equal(u, "Subject: ", 9);
    assert_string_equal(u + 9, value);
    /* Short values stay on one line; surrounding whitespace is dropped. */
    render("Subject", 0, gen_unstructured, "  hello world  ");
    assert_string_equal(out, "Subject: hello world\r\n");
    render("Subject", 0, gen_unstructured, "");
    assert_string_equal(out, "Subject:\r\n");
    /* A word too long to fold goes out as encoded-words. */
    memset(value, 'z', 1200);
    value[1200] = '\0';
    if (!encoded_here(SMTPC_HTEXT_UNSTRUCTURED, value))
        return;
    render("X-Long", 0, gen_unstructured, value);
    check_folding(out, 78);
    char dec[4000];
    assert_int_equal(decode_words(out, dec), 1200);
    assert_string_equal(dec, value);
}

static void test_encoded_words(void **state)
{
    (void)state;
    static const char *const values[] = {
        "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d",
        "emoji \xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80 = ? _ end",
    };
    char dec[4000];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (!encoded_here(SMTPC_HTEXT_UNSTRUCTURED, values[i]))
            continue;
        render("Subject", 0, gen_unstructured, values[i]);
        check_folding(out, 78);
        decode_words(out, dec);
        assert_string_equal(dec, values[i]);
    }
    /* SMTPUTF8: raw UTF-8, folded at spaces (refused without encoding too). */
    if (SMTPC_HAVE_HEADER_ENCODING) {
        render("Subject", 1, gen_unstructured, values[1]);
        check_folding(out, 78);
        assert_non_null(strstr(out, "\xe6\x97\xa5"));
    }
}

static void gen_mailbox(smtpc_hfold *f, const void *arg)
{
    const char *const *mb = arg;
    smtpc_hfold_mailbox(f, mb[0], mb[1]);
}

static void test_phrases(void **state)
{
    (void)state;
    const char *a[2] = {"bob@example.com", "Bob Smith"};
    render("To", 0, gen_mailbox, a);
    assert_string_equal(out, "To: Bob Smith <bob@example.com>\r\n");
    a[1] = "Smith, Bob \"the\" \\ builder";
    render("To", 0, gen_mailbox, a);
    assert_string_equal(out, "To: \"Smith, Bob \\\"the\\\" \\\\ builder\" <bob@example.com>\r\n");
    a[1] = NULL;
    render("To", 0, gen_mailbox, a);
    assert_string_equal(out, "To: bob@example.com\r\n");
    /* Review finding #11: text that looks like an encoded-word is encoded
     * itself (a quoted string is not enough: lenient readers decode inside
     * it). */
    a[1] = "=?UTF-8?Q?fake?=";
    if (!encoded_here(SMTPC_HTEXT_PHRASE, a[1]))
        return;
    render("To", 0, gen_mailbox, a);
    assert_string_equal(out, "To: =?UTF-8?B?PT9VVEYtOD9RP2Zha2U/PQ==?= <bob@example.com>\r\n");
    /* Only the words that need it are encoded. */
    a[1] = "Jos\xc3\xa9 Garc\xc3\xad" "a Smith";
    render("From", 0, gen_mailbox, a);
    assert_string_equal(out, "From: =?UTF-8?B?Sm9zw6kgR2FyY8OtYQ==?= Smith <bob@example.com>\r\n");
    a[1] = "Zo\xc3\xab Smith";
    render("From", 0, gen_mailbox, a);
    assert_string_equal(out, "From: =?UTF-8?Q?Zo=C3=AB?= Smith <bob@example.com>\r\n");
    a[1] = "Jos\xc3\xa9 Garc\xc3\xad" "a Smith";
    render("From", 1, gen_mailbox, a);
    assert_string_equal(out, "From: Jos\xc3\xa9 Garc\xc3\xad" "a Smith <bob@example.com>\r\n");
}

static void gen_param(smtpc_hfold *f, const void *arg)
{
    smtpc_hfold_tokstr(f, " ", "attachment");
    smtpc_hfold_param_2231(f, "filename", arg);
}

static int unhex(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

static void test_rfc2231(void **state)
{
    (void)state;
    render("Content-Disposition", 0, gen_param, "report.pdf");
    assert_string_equal(out, "Content-Disposition: attachment; filename=\"report.pdf\"\r\n");
    if (!encoded_here(SMTPC_HTEXT_PARAM, "r\xc3\xa9sum\xc3\xa9.pdf"))
        return;
    render("Content-Disposition", 0, gen_param, "r\xc3\xa9sum\xc3\xa9.pdf");
    assert_string_equal(out, "Content-Disposition: attachment;"
                             " filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n");
    /* Long: numbered sections, each line within 78, reassembled exactly. */
    char name[400] = "";
    for (int i = 0; i < 12; i++)
        strcat(name, "\xd0\xa4\xd0\xb0\xd0\xb9\xd0\xbb n\xc3\xa4me ");
    strcat(name, "end.txt");
    render("Content-Disposition", 0, gen_param, name);
    check_folding(out, 78);
    char dec[800];
    size_t o = 0;
    int sec = 0;
    for (const char *p = out; (p = strstr(p, "filename*"));) {
        int n;
        assert_int_equal(sscanf(p, "filename*%d*=%n", &(int){0}, &n), 1);
        char want[32];
        snprintf(want, sizeof want, "filename*%d*=", sec);
        assert_memory_equal(p, want, strlen(want));
        p += strlen(want);
        if (sec++ == 0) {
            assert_memory_equal(p, "UTF-8''", 7);
            p += 7;
        }
        for (; *p && *p != ';' && *p != '\r'; p++) {
            if (*p == '%') {
                dec[o++] = (char)(unhex(p[1]) * 16 + unhex(p[2]));
                p += 2;
            } else {
                dec[o++] = *p;
            }
        }
    }
    dec[o] = '\0';
    assert_true(sec > 1);
    assert_string_equal(dec, name);
}

/* Strict line rule shared with the fuzz target: every line within 998, and
 * a line over 78 only when it holds no fold point, i.e. after the header
 * name (first line) and one whitespace character, a single token. */
static void check_strict(const char *h)
{
    int first = 1;
    for (const char *line = h; *line;) {
        const char *crlf = strstr(line, "\r\n");
        assert_non_null(crlf);
        size_t n = (size_t)(crlf - line);
        assert_true(n <= 998);
        if (n > 78) {
            const char *p = line;
            if (first)
                p = (const char *)memchr(line, ':', n) + 1;
            if (*p == ' ' || *p == '\t')
                p++;
            for (; p < crlf; p++)
                assert_false(*p == ' ' || *p == '\t');
        }
        first = 0;
        line = crlf + 2;
    }
}

static char *runs_value(const char *left, const char *ws, size_t count, const char *right)
{
    size_t wl = strlen(ws);
    char *v = malloc(strlen(left) + wl * count + strlen(right) + 1);
    strcpy(v, left);
    for (size_t i = 0; i < count; i++)
        strcat(v, ws);
    strcat(v, right);
    return v;
}

/* Review finding #1: a long run of spaces or tabs went out unfolded (one
 * 5,001-octet Subject line). Runs are folded where one fold is enough, and
 * the value is encoded where it is not; either way it reads back exactly. */
static void test_whitespace_runs(void **state)
{
    (void)state;
    static char u[65536], dec[65536];
    struct {
        const char *left, *ws;
        size_t count;
        const char *right;
    } cases[] = {
        {"a", " ", 5000, "b"},
        {"a", "\t", 3000, "b"},
        {"a", " \t", 1500, "b"},
        {"Zo\xc3\xab", " ", 2000, "caf\xc3\xa9"},
        {"one", " ", 60, "two three"},
        {"x", "\t", 70, "y"},
        {"start", " ", 77, "z"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *v = runs_value(cases[k].left, cases[k].ws, cases[k].count, cases[k].right);
        const char *names[] = {"Subject", "X-Extra-Header-With-A-Long-Name"};
        /* Without -Dheader_encoding only what folds plainly is rendered
         * (the rest is refused by the message layer, as encoded_here says). */
        int unstructured = SMTPC_HAVE_HEADER_ENCODING ||
                           !smtpc_header_needs_encoding(SMTPC_HTEXT_UNSTRUCTURED, v, strlen(v));
        int phrase = SMTPC_HAVE_HEADER_ENCODING ||
                     !smtpc_header_needs_encoding(SMTPC_HTEXT_PHRASE, v, strlen(v));
        for (size_t n = 0; unstructured && n < 2; n++) {
            render(names[n], 0, gen_unstructured, v);
            check_strict(out);
            check_folding(out, 78);
            unfold(out, u);
            const char *val = strchr(u, ':') + 2;
            if (strncmp(val, "=?UTF-8?", 8) == 0) {
                decode_words(out, dec);
                assert_string_equal(dec, v);
            } else {
                assert_string_equal(val, v);
            }
        }
        /* As a display name: folded inside the quoted string, or encoded. */
        const char *a[2] = {"bob@example.com", v};
        if (!phrase) {
            free(v);
            continue;
        }
        render("To", 0, gen_mailbox, a);
        check_strict(out);
        check_folding(out, 78);
        unfold(out, u);
        if (u[4] == '"') {
            assert_memory_equal(u + 5, v, strlen(v));
            assert_string_equal(u + 5 + strlen(v), "\" <bob@example.com>");
        } else {
            assert_memory_equal(u + 4, "=?UTF-8?", 8);
        }
        free(v);
    }
    /* A short run stays quoted and on one line. */
    const char *a[2] = {"bob@example.com", "Bob  \tSmith"};
    render("To", 0, gen_mailbox, a);
    assert_string_equal(out, "To: \"Bob  \tSmith\" <bob@example.com>\r\n");
}

static void gen_param2047(smtpc_hfold *f, const void *arg)
{
    smtpc_hfold_tokstr(f, " ", "application/octet-stream");
    smtpc_hfold_param_2047(f, "name", arg);
}

/* Review finding #11: a value that is literally an encoded-word must come
 * back literally, so it is encoded itself wherever it goes. */
static void test_encoded_word_lookalikes(void **state)
{
    (void)state;
    static const char evil[] = "=?UTF-8?B?ZXZpbC5leGU=?=";
    char dec[256];
    /* & rather than &&: every verdict is checked. */
    if (!(encoded_here(SMTPC_HTEXT_UNSTRUCTURED, evil) &
          encoded_here(SMTPC_HTEXT_UNSTRUCTURED, "see x=?a?b?c?=y now") &
          encoded_here(SMTPC_HTEXT_PHRASE, evil) & encoded_here(SMTPC_HTEXT_PARAM, evil)))
        goto simple_utf8;
    render("Subject", 0, gen_unstructured, evil);
    assert_null(strstr(out, evil));
    decode_words(out, dec);
    assert_string_equal(dec, evil);
    render("Subject", 0, gen_unstructured, "see x=?a?b?c?=y now");
    decode_words(out, dec);
    assert_string_equal(dec, "see x=?a?b?c?=y now");
    const char *a[2] = {"bob@example.com", evil};
    render("From", 0, gen_mailbox, a);
    assert_null(strstr(out, evil));
    assert_non_null(strstr(out, "?= <bob@example.com>\r\n"));
    render("Content-Disposition", 0, gen_param, evil);
    unfold(out, dec);
    assert_string_equal(dec, "Content-Disposition: attachment;"
                             " filename*=UTF-8''%3D%3FUTF-8%3FB%3FZXZpbC5leGU%3D%3F%3D");
    render("Content-Type", 0, gen_param2047, evil);
    assert_null(strstr(out, evil));
    assert_non_null(strstr(out, "name=\"=?UTF-8?"));
simple_utf8:
    /* SMTPUTF8 messages may quote raw UTF-8, but not a lookalike and not a
     * value too long for one line (found by fuzz_message). */
    assert_true(smtpc_param_is_simple_utf8("name", "caf\xc3\xa9 menu.pdf"));
    assert_false(smtpc_param_is_simple_utf8("name", evil));
    assert_false(smtpc_param_is_simple_utf8(
        "name", "af\xc3\xa9 czzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
    assert_false(smtpc_param_is_simple_utf8("name", "tab\there"));
}

static void test_dates(void **state)
{
    (void)state;
    char d[64];
    assert_int_equal(smtpc_msg_format_date(0, 0, d, sizeof d), 0);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    assert_int_equal(smtpc_msg_format_date(1700000000, 120, d, sizeof d), 0);
    assert_string_equal(d, "Wed, 15 Nov 2023 00:13:20 +0200");
    assert_int_equal(smtpc_msg_format_date(1709164800, -330, d, sizeof d), 0);
    assert_string_equal(d, "Wed, 28 Feb 2024 18:30:00 -0530");
    assert_int_equal(smtpc_msg_format_date(951782400, 0, d, sizeof d), 0);
    assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 +0000");
    assert_int_equal(smtpc_msg_format_date(-86400, 0, d, sizeof d), 0);
    assert_string_equal(d, "Wed, 31 Dec 1969 00:00:00 +0000");
    assert_int_equal(smtpc_msg_format_date(4102444800LL, 0, d, sizeof d), 0);
    assert_string_equal(d, "Fri, 01 Jan 2100 00:00:00 +0000");
    assert_int_equal(smtpc_msg_format_date(0, 24 * 60, d, sizeof d), -1);
    assert_int_equal(smtpc_msg_format_date(0, 0, d, 10), -1);
}

static void test_mime_types(void **state)
{
    (void)state;
    assert_string_equal(smtpc_mime_type_guess("a.PDF"), "application/pdf");
    assert_string_equal(smtpc_mime_type_guess("photo.jpeg"), "image/jpeg");
    assert_string_equal(smtpc_mime_type_guess("x.tar.gz"), "application/gzip");
    assert_string_equal(smtpc_mime_type_guess("noext"), "application/octet-stream");
    assert_string_equal(smtpc_mime_type_guess("dir.d/file"), "application/octet-stream");
    assert_string_equal(smtpc_mime_type_guess(NULL), "application/octet-stream");
    assert_true(smtpc_mime_type_valid("image/png"));
    assert_true(smtpc_mime_type_valid("application/vnd.ms-excel"));
    assert_false(smtpc_mime_type_valid("image/"));
    assert_false(smtpc_mime_type_valid("image/png; x=y"));
    assert_false(smtpc_mime_type_valid("text/plain\r\nBcc: x"));
    assert_false(smtpc_mime_type_valid("png"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_and_values), cmocka_unit_test(test_fold_ascii),
        cmocka_unit_test(test_encoded_words),   cmocka_unit_test(test_phrases),
        cmocka_unit_test(test_rfc2231),         cmocka_unit_test(test_dates),
        cmocka_unit_test(test_mime_types),
        cmocka_unit_test(test_whitespace_runs),
        cmocka_unit_test(test_encoded_word_lookalikes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
