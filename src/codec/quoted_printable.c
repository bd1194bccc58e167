/* Streaming quoted-printable encoder with CRLF-canonical line breaks. */
#include "quoted_printable.h"

#include <string.h>

/* RFC 2045 rule 5: at most 76 characters per line, the soft-break '='
 * included. */
#define QP_LINE_MAX 76

static const char hex[] = "0123456789ABCDEF";

void smtpc_qp_init(smtpc_qp *q, int escape_from)
{
    q->col = 0;
    q->escape_from = escape_from;
}

static int is_break(uint8_t c)
{
    return c == '\r' || c == '\n';
}

/* Length of the line break at in[i] (1 or 2), 0 when none; -1 when a CR is
 * the last byte and more input may turn it into CRLF. */
static int break_len(const uint8_t *in, size_t len, size_t i, int final)
{
    if (in[i] == '\n')
        return 1;
    if (in[i] != '\r')
        return 0;
    if (i + 1 < len)
        return in[i + 1] == '\n' ? 2 : 1;
    return final ? 1 : -1;
}

size_t smtpc_qp_encode(smtpc_qp *q, const uint8_t *in, size_t len, int final,
                       size_t *consumed, uint8_t *out, size_t cap)
{
    size_t ip = 0, op = 0;
    while (ip < len) {
        uint8_t c = in[ip];
        int bl = break_len(in, len, ip, final);
        if (bl < 0)
            break;
        if (bl > 0) {
            if (cap - op < 2)
                break;
            out[op++] = '\r';
            out[op++] = '\n';
            q->col = 0;
            ip += (size_t)bl;
            continue;
        }
        /* Does a line break (or the end) follow this byte? Trailing
         * whitespace must be encoded, and the last token of a line may use
         * the 76th column, which otherwise is kept for the soft break. */
        int ends_line;
        if (ip + 1 < len)
            ends_line = is_break(in[ip + 1]);
        else if (final)
            ends_line = 1;
        else
            break;
        int encode = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
                     ((c == ' ' || c == '\t') && ends_line);
        if (!encode && c == 'F' && q->escape_from) {
            /* Decided only with "rom " in view; the column checked is the
             * one the byte will land in, after any soft break. */
            if (len - ip < 5 && !final)
                break;
        }
        for (;;) {
            int from_line = !encode && c == 'F' && q->escape_from && q->col == 0 &&
                            len - ip >= 5 && memcmp(in + ip, "From ", 5) == 0;
            size_t tlen = (encode || from_line) ? 3 : 1;
            size_t limit = ends_line ? QP_LINE_MAX : QP_LINE_MAX - 1;
            if (q->col + tlen > limit) {
                if (cap - op < 3)
                    goto out;
                out[op++] = '=';
                out[op++] = '\r';
                out[op++] = '\n';
                q->col = 0;
                continue;
            }
            if (cap - op < tlen)
                goto out;
            if (tlen == 3) {
                out[op++] = '=';
                out[op++] = (uint8_t)hex[c >> 4];
                out[op++] = (uint8_t)hex[c & 15];
            } else {
                out[op++] = c;
            }
            q->col += tlen;
            ip++;
            break;
        }
    }
out:
    *consumed = ip;
    return op;
}

uint64_t smtpc_qp_encoded_size(const uint8_t *in, size_t len, int escape_from)
{
    smtpc_qp q;
    /* Output thrown away: room for a few encoded lines is enough, and a
     * small stack frame matters more than the number of rounds. */
    uint8_t scratch[160];
    uint64_t total = 0;
    size_t pos = 0;
    smtpc_qp_init(&q, escape_from);
    while (pos < len) {
        size_t used;
        total += smtpc_qp_encode(&q, in + pos, len - pos, 1, &used, scratch, sizeof scratch);
        pos += used;
    }
    return total;
}
