/* Incremental SMTP reply parser.
 *
 * Bytes are taken one at a time so that the outcome (including where an
 * error is detected) cannot depend on how the input was split. The code and
 * separator are validated as soon as they arrive: a garbage line fails at
 * its first bad byte instead of after filling the whole line buffer.
 *
 * line_cap counts every byte of a line except its LF, so a CRLF-terminated
 * line may carry line_cap - 1 bytes before the CR, a bare-LF line line_cap. */
#include "reply_parser.h"

#include <string.h>

#include "smtpc/base.h"

void smtpc_reply_parser_init(smtpc_reply_parser *p, uint8_t *line, size_t line_cap)
{
    memset(p, 0, sizeof *p);
    p->line = line;
    p->line_cap = line_cap;
}

void smtpc_reply_parser_set_line_cap(smtpc_reply_parser *p, size_t line_cap)
{
    p->line_cap = line_cap;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static void start_reply(smtpc_reply_parser *p)
{
    memset(&p->reply, 0, sizeof p->reply);
    p->text_full = 0;
}

/* Check byte c about to be stored at line[line_len]: the reply code, its
 * separator, and that a CR in separator position really ends the line. */
static int check_byte(smtpc_reply_parser *p, uint8_t c)
{
    size_t pos = p->line_len;

    /* A NUL would silently cut the reply text short for every C consumer. */
    if (c == '\0')
        return SMTPC_EPROTO;
    switch (pos) {
    case 0:
        return (c >= '2' && c <= '5') ? 0 : SMTPC_EPROTO;
    case 1:
        return is_digit(c) ? 0 : SMTPC_EPROTO;
    case 2: {
        int code;
        if (!is_digit(c))
            return SMTPC_EPROTO;
        code = (p->line[0] - '0') * 100 + (p->line[1] - '0') * 10 + (c - '0');
        if (p->in_reply) {
            if (code != p->reply.code)
                return SMTPC_EPROTO;
        } else {
            p->reply.code = code;
        }
        return 0;
    }
    case 3:
        return (c == '-' || c == ' ' || c == '\r') ? 0 : SMTPC_EPROTO;
    case 4:
        /* "NNN\r" followed by anything but LF is not a line end. */
        return p->line[3] == '\r' ? SMTPC_EPROTO : 0;
    default:
        return 0;
    }
}

/* Length of an RFC 3463 status code at the start of t, 0 if there is none.
 * Its class must agree with the reply's first digit, cls ('2' to '5'; there
 * is no class 3). */
static size_t enhanced_len(const char *t, size_t n, char cls)
{
    size_t i;
    unsigned dots = 0, digits = 1;

    if (n < 5 || t[0] != cls || cls == '3')
        return 0;
    /* The class digit, then "." and 1 to 3 digits twice; a space or the
     * end of the text after them. */
    for (i = 1; i < n && t[i] != ' '; i++) {
        if (t[i] == '.') {
            if (digits == 0 || dots == 2)
                return 0;
            dots++;
            digits = 0;
        } else if (!is_digit((uint8_t)t[i]) || dots == 0 || ++digits > 3) {
            return 0;
        }
    }
    return dots == 2 && digits > 0 ? i : 0;
}

/* Bytes of s[0..n) that can be kept without ending inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n)
{
    size_t i = n;
    size_t back = 0;

    while (i > 0 && back < 4 && ((uint8_t)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i > 0 && (uint8_t)s[i - 1] >= 0xC0) {
        uint8_t lead = (uint8_t)s[i - 1];
        size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
        if (back < need)
            return i - 1;
    }
    return n;
}

static void append_text(smtpc_reply_parser *p, const char *t, size_t n)
{
    smtpc_reply *r = &p->reply;
    const size_t limit = SMTPC_REPLY_TEXT_MAX - 1;

    if (p->text_full)
        return;
    if (r->lines > 0) {
        if (r->text_len >= limit) {
            p->text_full = 1;
            return;
        }
        r->text[r->text_len++] = '\n';
    }
    if (n > limit - r->text_len) {
        n = utf8_cut(t, limit - r->text_len);
        p->text_full = 1;
    }
    /* No NUL to write: start_reply zeroed the text, which only grows. */
    memcpy(r->text + r->text_len, t, n);
    r->text_len += n;
}

static int finish_line(smtpc_reply_parser *p)
{
    smtpc_reply *r = &p->reply;
    const char *text;
    size_t n, skip;
    int last;

    if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
        p->line_len--;
    if (p->line_len < 3)
        return SMTPC_EPROTO;
    /* A lone "NNN" ends the reply, like "NNN " with empty text. */
    last = p->line_len == 3 || p->line[3] == ' ';
    p->text_off = p->line_len == 3 ? 3 : 4;

    text = (const char *)p->line + p->text_off;
    n = p->line_len - p->text_off;
    skip = enhanced_len(text, n, (char)p->line[0]);
    if (skip > 0) {
        if (r->lines == 0)
            memcpy(r->enhanced, text, skip); /* NUL-terminated by start_reply */
        while (skip < n && text[skip] == ' ')
            skip++;
    }
    append_text(p, text + skip, n - skip);
    r->lines++;
    p->line_ready = 1;
    p->in_reply = !last;
    return last ? SMTPC_PARSE_DONE : SMTPC_PARSE_LINE;
}

int smtpc_reply_parser_feed(smtpc_reply_parser *p, const uint8_t *data, size_t len,
                            size_t *consumed)
{
    size_t i = 0;

    if (p->line_ready) {
        p->line_ready = 0;
        p->line_len = 0;
    }
    while (i < len) {
        uint8_t c = data[i++];
        int rc;

        if (c == '\n') {
            *consumed = i;
            return finish_line(p);
        }
        if (p->line_len == 0 && !p->in_reply)
            start_reply(p);
        if (p->line_len >= p->line_cap) {
            *consumed = i;
            return SMTPC_ELINE;
        }
        rc = check_byte(p, c);
        if (rc < 0) {
            *consumed = i;
            return rc;
        }
        p->line[p->line_len++] = c;
    }
    *consumed = i;
    return SMTPC_PARSE_MORE;
}

const char *smtpc_reply_parser_line_text(const smtpc_reply_parser *p, size_t *len)
{
    if (!p->line_ready) {
        *len = 0;
        return "";
    }
    *len = p->line_len - p->text_off;
    return (const char *)p->line + p->text_off;
}

const smtpc_reply *smtpc_reply_parser_reply(const smtpc_reply_parser *p)
{
    return &p->reply;
}

int smtpc_reply_parser_busy(const smtpc_reply_parser *p)
{
    if (p->line_ready)
        return p->in_reply;
    return p->line_len > 0 || p->in_reply;
}

int (smtpc_error_set_reply)(smtpc_error *err, int code, const smtpc_reply *reply, const char *what)
{
    if (!reply)
        return smtpc_error_set_server(err, code, 0, NULL, NULL, what);
    return smtpc_error_set_server(err, code, reply->code, reply->enhanced, reply->text, what);
}
