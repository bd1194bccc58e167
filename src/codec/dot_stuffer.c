/* DATA body encoder: dot-stuffing (RFC 5321 section 4.5.2) and line-end
 * normalisation.
 *
 * Every line end that leaves here is CRLF, so no "\n.\n" or "\r.\r" a
 * receiver might take for the end of data can be smuggled through the body.
 * A CR is written at once and its LF (or the missing LF) is added when the
 * next byte shows which it was: that keeps the worst case for one input byte
 * at three output bytes (CR then "." at a line start: "\n..") and the state
 * at two flags. */
#include "dot_stuffer.h"
#include "bytescan.h"

#include <string.h>

void smtpc_dot_stuffer_init(smtpc_dot_stuffer *s)
{
    s->at_line_start = 1;
    s->pending_cr = 0;
    s->saw_8bit = 0;
    s->no_dots = 0;
}

void smtpc_dot_stuffer_init_bdat(smtpc_dot_stuffer *s)
{
    smtpc_dot_stuffer_init(s);
    s->no_dots = 1;
}

/* Output for byte c into o (room for 3), updating the line state in *t. */
static size_t encode_byte(smtpc_dot_stuffer *t, uint8_t c, uint8_t o[3])
{
    size_t n = 0;

    if (t->pending_cr) {
        t->pending_cr = 0;
        o[n++] = '\n';
        t->at_line_start = 1;
        if (c == '\n')
            return n;
    }
    if (c == '\r') {
        o[n++] = '\r';
        t->pending_cr = 1;
        t->at_line_start = 0;
    } else if (c == '\n') {
        o[n++] = '\r';
        o[n++] = '\n';
        t->at_line_start = 1;
    } else {
        if (t->at_line_start && c == '.' && !t->no_dots)
            o[n++] = '.';
        o[n++] = c;
        t->at_line_start = 0;
        if (c >= 0x80)
            t->saw_8bit = 1;
    }
    return n;
}

void smtpc_dot_stuffer_encode(smtpc_dot_stuffer *s, const uint8_t *in, size_t in_len,
                              size_t *consumed, uint8_t *out, size_t cap, size_t *produced)
{
    size_t i = 0, used = 0;

    while (i < in_len) {
        if (!s->pending_cr && !s->at_line_start) {
            /* Mid-line, ordinary bytes pass unchanged: copy the run at once.
             * This is where nearly all body bytes go. */
            size_t room = cap - used;
            size_t end = in_len - i < room ? in_len : i + room;
            uint8_t high = 0;
            size_t j = i + smtpc_plain_run(in + i, end - i, &high);
            if (j > i) {
                memcpy(out + used, in + i, j - i);
                used += j - i;
                i = j;
                if (high & 0x80)
                    s->saw_8bit = 1;
                continue;
            }
        }
        smtpc_dot_stuffer next = *s;
        uint8_t o[3];
        size_t n = encode_byte(&next, in[i], o);
        size_t k;

        /* Commit the byte only when all of its output fits. */
        if (n > cap - used)
            break;
        for (k = 0; k < n; k++)
            out[used + k] = o[k];
        used += n;
        *s = next;
        i++;
    }
    *consumed = i;
    *produced = used;
}

size_t smtpc_dot_stuffer_finish(smtpc_dot_stuffer *s, uint8_t *out, size_t cap)
{
    static const uint8_t tail[] = {'\r', '\n', '.', '\r', '\n'};
    size_t skip, n;

    /* Close the open line (or the half-written CRLF), then ".\r\n". */
    if (s->pending_cr)
        skip = 1;
    else if (s->at_line_start)
        skip = 2;
    else
        skip = 0;
    n = sizeof tail - skip;
    if (n > cap)
        return 0;
    memcpy(out, tail + skip, n);
    s->pending_cr = 0;
    s->at_line_start = 1;
    return n;
}

size_t smtpc_dot_stuffer_end_line(smtpc_dot_stuffer *s, uint8_t *out, size_t cap)
{
    size_t n = s->pending_cr ? 1 : s->at_line_start ? 0 : 2;
    if (n > cap)
        return SIZE_MAX;
    if (n == 2)
        out[0] = '\r';
    if (n)
        out[n - 1] = '\n';
    s->pending_cr = 0;
    s->at_line_start = 1;
    return n;
}
