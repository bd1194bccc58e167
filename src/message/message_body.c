/* Encoded part bodies, produced straight into the caller's buffer. */
#include <string.h>

#include "base64_stream.h"
#include "message_internal.h"

void smtpc_msg_body_begin(smtpc_message *msg, smtpc_msg_part *p)
{
    msg->cur = p;
    msg->raw_len = 0;
    msg->raw_pos = 0;
#if SMTPC_HAVE_QUOTED_PRINTABLE
    smtpc_qp_init(&msg->qp, (msg->flags & SMTPC_MESSAGE_ESCAPE_FROM) != 0);
#endif
}

/* 7bit and 8bit text: the bytes, with every line break made CRLF. */
static size_t copy_crlf(smtpc_msg_source *src, uint8_t *out, size_t cap)
{
    const uint8_t *d = src->data;
    size_t i = (size_t)src->pos, n = src->len, o = 0;
    while (i < n) {
        /* Runs without CR or LF go in one copy. */
        size_t j = i;
        size_t room = cap - o;
        while (j < n && j - i < room && d[j] != '\r' && d[j] != '\n')
            j++;
        memcpy(out + o, d + i, j - i);
        o += j - i;
        i = j;
        if (i == n || cap - o < 2)
            break;
        if (d[i] == '\r' || d[i] == '\n') {
            i += (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n') ? 2 : 1;
            out[o++] = '\r';
            out[o++] = '\n';
        }
    }
    src->pos = i;
    return o;
}

static int base64_produce(smtpc_message *msg, smtpc_msg_source *src, uint8_t *out, size_t cap,
                          size_t *got, int *done)
{
    size_t o = 0;
    for (;;) {
        /* Refill until a whole line is there or the source ends. */
        int eof = 0;
        if (msg->raw_len - msg->raw_pos < SMTPC_BASE64_LINE_IN) {
            memmove(msg->raw, msg->raw + msg->raw_pos, msg->raw_len - msg->raw_pos);
            msg->raw_len -= msg->raw_pos;
            msg->raw_pos = 0;
            while (msg->raw_len < SMTPC_BASE64_LINE_IN) {
                size_t n;
                int rc = smtpc_msg_source_read(msg, src, msg->raw + msg->raw_len,
                                               SMTPC_MSG_RAW - msg->raw_len, &n);
                if (rc)
                    return rc;
                if (n == 0) {
                    eof = 1;
                    break;
                }
                msg->raw_len += n;
            }
        }
        size_t used;
        size_t w = smtpc_base64_lines(msg->raw + msg->raw_pos, msg->raw_len - msg->raw_pos, eof,
                                      &used, out + o, cap - o);
        o += w;
        msg->raw_pos += used;
        if (eof && msg->raw_pos == msg->raw_len) {
            *done = 1;
            break;
        }
        if (w == 0 || cap - o < SMTPC_BASE64_LINE_OUT)
            break;
    }
    *got = o;
    return 0;
}

int smtpc_msg_body_produce(smtpc_message *msg, uint8_t *out, size_t cap, size_t *got, int *done)
{
    smtpc_msg_part *p = msg->cur;
    smtpc_msg_source *src = &p->src;
    *got = 0;
    *done = 0;
    if (src->kind == SMTPC_SRC_MEM && src->len == 0) {
        *done = 1;
        return 0;
    }
    switch (p->enc) {
    case SMTPC_ENC_7BIT:
    case SMTPC_ENC_8BIT:
        *got = copy_crlf(src, out, cap);
        *done = src->pos == src->len;
        return 0;
#if SMTPC_HAVE_QUOTED_PRINTABLE /* else never chosen: message_analyze.c */
    case SMTPC_ENC_QP: {
        size_t used;
        *got = smtpc_qp_encode(&msg->qp, src->data + src->pos, src->len - (size_t)src->pos, 1,
                               &used, out, cap);
        src->pos += used;
        *done = src->pos == src->len;
        return 0;
    }
#endif
#if SMTPC_HAVE_CHUNKING /* else never chosen: message_analyze.c */
    case SMTPC_ENC_BINARY: {
        int rc = smtpc_msg_source_read(msg, src, out, cap, got);
        *done = rc == 0 && *got == 0;
        return rc;
    }
#endif
    default:
        return base64_produce(msg, src, out, cap, got, done);
    }
}
