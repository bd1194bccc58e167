/* The MIME builder fed hostile header values, addresses, file names and
 * bodies. Whatever is accepted, the bytes produced must:
 *  - end every line with CRLF, hold no NUL, keep lines within 998 octets
 *    (76 in base64 and quoted-printable bodies), header lines within 78
 *    wherever a fold point existed (review finding #1: a Subject with a
 *    long run of spaces went out as one 5,001-octet line);
 *  - carry only the header lines the builder writes (no value can forge one)
 *    and never a Bcc;
 *  - decode back to the body and attachment given;
 *  - match smtpc_message_size exactly and be the same however they are read
 *    and after a rewind.
 * A value with a control character other than TAB must be refused.
 *
 * Input: [flags][read seed] then eight strings, each [length][bytes]: from
 * address, from name, to address, to name, subject, header name, header
 * value, file name; then [length hi][length lo][text], [hi][lo][attachment]
 * and the rest is the HTML body. flags: bits 0-2 SMTPC_MESSAGE_*, bit 3 HTML,
 * bit 4 borrow instead of copy, bit 5 attachment, bit 6 inline part, bit 7
 * a Bcc recipient. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "test_alloc.h"
#include "sasl.h" /* smtpc_b64_decode_strict */
#include "smtpc/message.h"

enum { S_FROM, S_FROM_NAME, S_TO, S_TO_NAME, S_SUBJECT, S_HNAME, S_HVALUE, S_FILE, S_COUNT };

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x5c, len);
    return 0;
}

static int fixed_clock(void *user, int64_t *t, int *offset)
{
    (void)user;
    *t = 1700000000;
    *offset = -330;
    return 0;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 1;
    return 0;
}

/* A value with a control character is refused (with SMTPC_EBADCHAR when
 * it is the call's only argument; else another argument may be reported
 * first). Anything may be refused for its own reasons (syntax, length,
 * UTF-8). */
static void check_value_rc(int rc, const char *value, int only_argument)
{
    FUZZ_CHECK(rc <= 0);
    if (value && has_ctl(value))
        FUZZ_CHECK(only_argument ? rc == SMTPC_EBADCHAR : rc < 0);
}

static int ieq(const uint8_t *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a[i], y = (uint8_t)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (uint8_t)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

typedef struct line {
    const uint8_t *p;
    size_t n; /* without CRLF */
} line;

/* Splits the message into lines, checking CRLF, NUL and length. */
static line *split_lines(const uint8_t *m, size_t len, size_t *count)
{
    line *lines = malloc((len / 2 + 1) * sizeof *lines);
    FUZZ_CHECK(lines != NULL);
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        FUZZ_CHECK(m[i] != '\0');
        if (m[i] == '\r')
            FUZZ_CHECK(i + 1 < len && m[i + 1] == '\n');
        if (m[i] != '\n')
            continue;
        FUZZ_CHECK(i > 0 && m[i - 1] == '\r');
        lines[k].p = m + start;
        lines[k].n = i - 1 - start;
        FUZZ_CHECK(lines[k].n <= 998);
        k++;
        start = i + 1;
    }
    FUZZ_CHECK(start == len); /* the message ends with CRLF */
    *count = k;
    return lines;
}

static int is_boundary(const line *l)
{
    return l->n >= 9 && memcmp(l->p, "--=_smtpc", 9) == 0;
}

typedef struct part_info {
    const line *value[4]; /* Content-Type, -Transfer-Encoding, -Disposition, -ID */
} part_info;

static const char *const part_names[4] = {"Content-Type", "Content-Transfer-Encoding",
                                          "Content-Disposition", "Content-ID"};

/* The value after "Name:" of header line l (unfolded lines are not joined:
 * the first line is enough for the checks below). */
static int header_name(const line *l, size_t *colon)
{
    const uint8_t *c = memchr(l->p, ':', l->n);
    if (!c)
        return 0;
    *colon = (size_t)(c - l->p);
    return 1;
}

static int wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* A header line over 78 octets is allowed only when it has no fold point:
 * after the name (first line) and one whitespace character, one token with
 * no whitespace (inside an <angle-addr> excepted: a quoted local part). */
static void check_header_line(const line *l, int first)
{
    FUZZ_CHECK(l->n <= 998);
    if (l->n <= 78)
        return;
    size_t k = 0;
    if (first) {
        size_t colon = 0;
        FUZZ_CHECK(header_name(l, &colon));
        k = colon + 1;
    }
    if (k < l->n && wsp(l->p[k]))
        k++;
    int angle = 0;
    for (; k < l->n; k++) {
        if (l->p[k] == '<')
            angle = 1;
        else if (l->p[k] == '>')
            angle = 0;
        else if (!angle)
            FUZZ_CHECK(!wsp(l->p[k]));
    }
}

/* Reads a header block from lines[*i] to the empty line. Top level: names
 * from top[]; in a part: the four Content-* names. Each at most once. */
static void read_headers(const line *lines, size_t count, size_t *i, const char *const *names,
                         size_t n_names, const line **values)
{
    int seen[16] = {0};
    int first = 1;
    for (; *i < count && lines[*i].n > 0; (*i)++) {
        const line *l = &lines[*i];
        if (l->p[0] == ' ' || l->p[0] == '\t') {
            FUZZ_CHECK(!first); /* a fold continues a header */
            check_header_line(l, 0);
            continue;
        }
        check_header_line(l, 1);
        first = 0;
        size_t colon = 0;
        FUZZ_CHECK(header_name(l, &colon));
        size_t k;
        for (k = 0; k < n_names; k++)
            if (names[k] && ieq(l->p, colon, names[k]))
                break;
        FUZZ_CHECK(k < n_names); /* no header the builder does not write */
        FUZZ_CHECK(!seen[k]++);
        if (values)
            values[k] = l;
    }
    FUZZ_CHECK(*i < count); /* the empty line */
    (*i)++;
}

static int value_starts(const line *l, const char *prefix)
{
    size_t colon = 0;
    if (!l || !header_name(l, &colon))
        return 0;
    size_t at = colon + 1;
    while (at < l->n && l->p[at] == ' ')
        at++;
    size_t n = strlen(prefix);
    return l->n - at >= n && ieq(l->p + at, n, prefix);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes body lines [from, to) by their transfer encoding. delimited: a
 * boundary follows, and the CRLF before it belongs to the boundary. */
static void decode_body(const line *lines, size_t from, size_t to, int delimited,
                        const line *cte, fuzz_buf *out)
{
    int b64 = value_starts(cte, "base64");
    int qp = value_starts(cte, "quoted-printable");
    fuzz_buf text = {0};
    for (size_t i = from; i < to; i++) {
        const line *l = &lines[i];
        if (b64 || qp)
            FUZZ_CHECK(l->n <= 76);
        if (b64) {
            fuzz_buf_put(&text, l->p, l->n);
            continue;
        }
        size_t n = l->n;
        int soft = 0;
        if (qp) {
            for (size_t k = 0; k < n; k++) {
                if (l->p[k] != '=') {
                    fuzz_buf_put(out, &l->p[k], 1);
                    continue;
                }
                if (k + 1 == n) {
                    soft = 1;
                    break;
                }
                FUZZ_CHECK(k + 2 < n);
                int hi = hexval(l->p[k + 1]), lo = hexval(l->p[k + 2]);
                FUZZ_CHECK(hi >= 0 && lo >= 0);
                uint8_t b = (uint8_t)(hi * 16 + lo);
                fuzz_buf_put(out, &b, 1);
                k += 2;
            }
        } else {
            fuzz_buf_put(out, l->p, n);
        }
        if (!soft && !(delimited && i + 1 == to))
            fuzz_buf_put(out, "\r\n", 2);
    }
    if (b64) {
        size_t cap = text.len / 4 * 3 + 1, got = 0;
        uint8_t *dec = malloc(cap);
        FUZZ_CHECK(dec != NULL);
        FUZZ_CHECK(smtpc_b64_decode_strict((const char *)text.data, text.len, dec, cap, &got) ==
                   0);
        fuzz_buf_put(out, dec, got);
        free(dec);
    }
    fuzz_buf_free(&text);
}

typedef struct expect {
    const uint8_t *text;
    size_t text_len;
    int has_text;
    const uint8_t *attach;
    size_t attach_len;
    int has_attach;
    const char *custom_name;
    int found_text, found_attach;
} expect;

static int same(const fuzz_buf *a, const uint8_t *b, size_t n)
{
    return a->len == n && (n == 0 || memcmp(a->data, b, n) == 0);
}

static void check_leaf(expect *x, const part_info *pi, const line *lines, size_t from, size_t to,
                       int delimited)
{
    fuzz_buf got = {0};
    decode_body(lines, from, to, delimited, pi->value[1], &got);
    if (value_starts(pi->value[2], "attachment")) {
        FUZZ_CHECK(x->has_attach && !x->found_attach);
        x->found_attach = 1;
        FUZZ_CHECK(same(&got, x->attach, x->attach_len));
    } else if (!pi->value[2] && value_starts(pi->value[0], "text/plain") && x->has_text) {
        FUZZ_CHECK(!x->found_text);
        x->found_text = 1;
        if (value_starts(pi->value[1], "base64")) {
            FUZZ_CHECK(same(&got, x->text, x->text_len));
        } else {
            /* Line ends become CRLF. An open last line is closed: by the
             * CRLF of the boundary that follows, or by one added at the end
             * of a single-part message. */
            fuzz_buf norm = {0};
            fuzz_normalise_body(x->text, x->text_len, &norm);
            uint8_t last = x->text_len ? x->text[x->text_len - 1] : '\n';
            if (delimited && last != '\n' && last != '\r')
                fuzz_buf_put(&got, "\r\n", 2);
            FUZZ_CHECK(same(&got, norm.data, norm.len));
            fuzz_buf_free(&norm);
        }
    }
    fuzz_buf_free(&got);
}

static void check_structure(const uint8_t *m, size_t len, expect *x)
{
    size_t count = 0, i = 0;
    line *lines = split_lines(m, len, &count);
    const char *const top[] = {"Date",       "From",         "To",
                               "Cc",         "Reply-To",     "Subject",
                               "Message-ID", "MIME-Version", "Content-Type",
                               "Content-Transfer-Encoding", x->custom_name};
    const line *top_values[11] = {0};
    read_headers(lines, count, &i, top, 11, top_values);
    part_info pi = {{top_values[8], top_values[9], NULL, NULL}};
    if (!value_starts(pi.value[0], "multipart/")) {
        check_leaf(x, &pi, lines, i, count, 0);
    } else {
        size_t body_from = 0;
        int in_leaf = 0;
        for (; i < count; i++) {
            if (!is_boundary(&lines[i]))
                continue;
            if (in_leaf)
                check_leaf(x, &pi, lines, body_from, i, 1);
            in_leaf = 0;
            const line *l = &lines[i];
            if (l->n >= 2 && l->p[l->n - 1] == '-' && l->p[l->n - 2] == '-')
                continue; /* a closing delimiter */
            i++;
            memset(&pi, 0, sizeof pi);
            read_headers(lines, count, &i, part_names, 4, pi.value);
            in_leaf = !value_starts(pi.value[0], "multipart/");
            body_from = i;
            i--;
        }
        FUZZ_CHECK(!in_leaf); /* the last part is closed */
    }
    FUZZ_CHECK(x->found_attach == x->has_attach);
    FUZZ_CHECK(x->found_text == x->has_text);
    free(lines);
}

static void read_all(smtpc_message *msg, fuzz_rng *rng, fuzz_buf *out, int *rc)
{
    uint8_t buf[512];
    for (;;) {
        size_t cap = rng ? fuzz_rng_size(rng, sizeof buf) : sizeof buf, n = 9999;
        *rc = smtpc_message_read(msg, buf, cap, &n);
        if (*rc) {
            FUZZ_CHECK(n == 0);
            return;
        }
        FUZZ_CHECK(n <= cap);
        if (n == 0)
            return;
        fuzz_buf_put(out, buf, n);
    }
}

static char *take_string(fuzz_input *in)
{
    size_t got = 0;
    const uint8_t *p = fuzz_bytes(in, fuzz_byte(in), &got);
    char *s = malloc(got + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, p, got);
    s[got] = '\0';
    return s;
}

static const uint8_t *take_block(fuzz_input *in, size_t *len)
{
    size_t want = (size_t)fuzz_byte(in) << 8;
    want |= fuzz_byte(in);
    return fuzz_bytes(in, want, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t flags = fuzz_byte(&in);
    fuzz_rng rng;
    fuzz_rng_seed(&rng, fuzz_byte(&in));
    char *s[S_COUNT];
    for (int k = 0; k < S_COUNT; k++)
        s[k] = take_string(&in);
    size_t text_len = 0, attach_len = 0, html_len = 0;
    const uint8_t *text = take_block(&in, &text_len);
    const uint8_t *attach = take_block(&in, &attach_len);
    const uint8_t *html = fuzz_bytes(&in, size, &html_len);
    int mem = (flags & 0x10) ? SMTPC_MEM_BORROW : SMTPC_MEM_COPY;

    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_message *msg = NULL;
    FUZZ_CHECK(smtpc_message_new(&heap.hook, &msg) == 0);
    FUZZ_CHECK(smtpc_message_set_random(msg, fixed_random, NULL) == 0);
    FUZZ_CHECK(smtpc_message_set_clock(msg, fixed_clock, NULL) == 0);
    FUZZ_CHECK(smtpc_message_set_flags(msg, flags & 7) == 0);

    int rc = smtpc_message_set_from(msg, s[S_FROM], s[S_FROM_NAME]);
    check_value_rc(rc, s[S_FROM_NAME], 0);
    if (rc)
        rc = smtpc_message_set_from(msg, "sender@example.com", s[S_FROM_NAME]);
    if (rc)
        FUZZ_CHECK(smtpc_message_set_from(msg, "sender@example.com", NULL) == 0);
    rc = smtpc_message_add_to(msg, s[S_TO], s[S_TO_NAME]);
    check_value_rc(rc, s[S_TO_NAME], 0);
    if (flags & 0x80)
        FUZZ_CHECK(smtpc_message_add_bcc(msg, "hidden@example.net", NULL) == 0);
    check_value_rc(smtpc_message_set_subject(msg, s[S_SUBJECT]), s[S_SUBJECT], 1);
    rc = smtpc_message_add_header(msg, s[S_HNAME], s[S_HVALUE]);
    check_value_rc(rc, s[S_HVALUE], 0);
    expect x = {0};
    x.custom_name = rc == 0 ? s[S_HNAME] : NULL;
    x.text = text;
    x.text_len = text_len;
    x.has_text = smtpc_message_set_text(msg, (const char *)text, text_len, mem) == 0;
    if (flags & 0x08)
        smtpc_message_set_html(msg, (const char *)html, html_len, mem);
    if (flags & 0x20) {
        rc = smtpc_message_attach_mem(msg, attach, attach_len, mem, s[S_FILE], NULL);
        check_value_rc(rc, s[S_FILE], 0);
        x.attach = attach;
        x.attach_len = attach_len;
        x.has_attach = rc == 0;
    }
    if (flags & 0x40)
        smtpc_message_inline_mem(msg, html, html_len, mem, "part1@example.com", s[S_FILE],
                                 "image/png");

    int64_t expected = -2;
    int size_rc = smtpc_message_size(msg, &expected);
    fuzz_buf first = {0}, second = {0};
    read_all(msg, &rng, &first, &rc);
    FUZZ_CHECK(rc == size_rc);
    if (rc == 0) {
        FUZZ_CHECK(expected == (int64_t)first.len);
        FUZZ_CHECK(smtpc_message_mail_flags(msg) >= 0);
        FUZZ_CHECK(smtpc_message_rewind(msg) == 0);
        read_all(msg, NULL, &second, &rc);
        FUZZ_CHECK(rc == 0 && same(&second, first.data, first.len));
        check_structure(first.data, first.len, &x);
    } else {
        FUZZ_CHECK(rc == SMTPC_EUTF8 || rc == SMTPC_EHEADER || rc == SMTPC_ETOOLONG);
        FUZZ_CHECK(smtpc_error_message(smtpc_message_error(msg))[0] != '\0');
    }
    smtpc_message_free(msg);
    FUZZ_CHECK(heap.live_bytes == 0 && heap.live_blocks == 0 && heap.bad_frees == 0);
    fuzz_buf_free(&first);
    fuzz_buf_free(&second);
    for (int k = 0; k < S_COUNT; k++)
        free(s[k]);
    return 0;
}
