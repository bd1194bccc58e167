/* DKIM canonicalization, simple and relaxed (RFC 6376 sections 3.4.1 to
 * 3.4.4). */
#include "dkim_canon.h"

static int is_wsp(int c)
{
    return c == ' ' || c == '\t';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int smtpc_dkim_name_eq(const char *a, size_t n, const char *b)
{
    for (size_t i = 0; i < n; i++, b++)
        if (!*b || lower((unsigned char)a[i]) != lower((unsigned char)*b))
            return 0;
    return *b == '\0';
}

size_t smtpc_dkim_canon_header(int relaxed, const char *field, size_t len, char *out)
{
    size_t n = 0, i = 0;
    if (!relaxed) {
        for (; i < len; i++)
            out[n++] = field[i];
        return n;
    }
    /* The name lowercased, without the whitespace before the colon. */
    for (; i < len && field[i] != ':'; i++)
        if (!is_wsp(field[i]) && field[i] != '\r' && field[i] != '\n')
            out[n++] = (char)lower((unsigned char)field[i]);
    if (i == len)
        return n;
    out[n++] = ':';
    i++;
    /* The value unfolded, each whitespace run one space, none at either
     * end. A CRLF inside the field is a fold: it disappears. */
    int wsp = 0, started = 0;
    for (; i < len; i++) {
        char c = field[i];
        if (c == '\r' || c == '\n')
            continue;
        if (is_wsp(c)) {
            wsp = 1;
            continue;
        }
        if (wsp && started)
            out[n++] = ' ';
        wsp = 0;
        started = 1;
        out[n++] = c;
    }
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

void smtpc_dkim_body_init(smtpc_dkim_body *b, int relaxed, smtpc_dkim_sink_fn sink, void *user)
{
    b->sink = sink;
    b->user = user;
    b->relaxed = relaxed;
    b->pending_crlf = 0;
    b->cr = b->wsp = b->in_line = b->any = 0;
}

static void emit_crlfs(smtpc_dkim_body *b, uint64_t k)
{
    static const uint8_t crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
    while (k > 0) {
        uint64_t m = k < 8 ? k : 8;
        b->sink(b->user, crlfs, (size_t)m * 2);
        k -= m;
    }
}

static void line_end(smtpc_dkim_body *b)
{
    b->pending_crlf++;
    b->wsp = 0; /* trailing whitespace goes (relaxed) */
    b->in_line = 0;
}

/* Before content: the line ends held back were not trailing after all,
 * and (relaxed) the whitespace held back becomes one space. */
static void before_content(smtpc_dkim_body *b)
{
    if (b->pending_crlf) {
        emit_crlfs(b, b->pending_crlf);
        b->pending_crlf = 0;
    }
    if (b->wsp) {
        b->sink(b->user, (const uint8_t *)" ", 1);
        b->wsp = 0;
    }
    b->in_line = 1;
    b->any = 1;
}

void smtpc_dkim_body_update(smtpc_dkim_body *b, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (b->cr) {
            b->cr = 0;
            line_end(b);
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\r') {
            b->cr = 1;
            i++;
            continue;
        }
        if (c == '\n') {
            line_end(b);
            i++;
            continue;
        }
        if (b->relaxed && is_wsp(c)) {
            b->wsp = 1;
            i++;
            continue;
        }
        /* A run of ordinary bytes goes to the sink in one piece: nearly
         * every body byte takes this path. */
        size_t j = i + 1;
        while (j < n && p[j] != '\r' && p[j] != '\n' && !(b->relaxed && is_wsp(p[j])))
            j++;
        before_content(b);
        b->sink(b->user, p + i, j - i);
        i = j;
    }
}

void smtpc_dkim_body_final(smtpc_dkim_body *b)
{
    if (b->cr) {
        b->cr = 0;
        line_end(b);
    }
    /* Empty lines at the end go; the last line with content keeps (or
     * gets) its CRLF. An empty body is one CRLF in simple and nothing in
     * relaxed (RFC 6376 section 3.4.3 and 3.4.4, errata 1384). */
    if (b->any || !b->relaxed)
        emit_crlfs(b, 1);
    b->pending_crlf = 0;
    b->in_line = 0;
    b->wsp = 0;
}
