/* CHUNKING (RFC 3030): the body goes in BDAT chunks instead of DATA. A chunk
 * is counted, not terminated, so nothing is dot-stuffed and no 354 is
 * awaited: with PIPELINING, MAIL, RCPT and "BDAT n LAST" with its bytes
 * leave in one write. Text bodies still get CRLF line ends; with
 * BINARYMIME the bytes go as they are.
 *
 * The chunk being filled sits at out + out_len, outside the output window,
 * with room for its header in front; when it is closed the header is
 * written just before the data and the window takes both in. */
#include <stdio.h>
#include <string.h>

#include "command_writer.h"
#include "engine_internal.h"
#include "fmt.h"

/* "BDAT " + 20 digits + " LAST\r\n" */
#define HDR_ROOM 32
/* Kept free behind a full chunk: an empty "BDAT 0 LAST" and a line end
 * always fit, so smtpc_engine_body_end never has to wait for a send. */
#define TAIL_ROOM (HDR_ROOM + 2)
/* A chunk is not opened for fewer bytes than this: send first. */
#define MIN_CHUNK 256

int smtpc_engine_set_chunking(smtpc_engine *e, int use)
{
    if (!e)
        return SMTPC_EINVAL;
    if (use != 0 && use != 1)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_set_chunking",
                                   "use %d is neither 0 nor 1", use);
    if (!SMTPC_HAVE_CHUNKING && use)
        return smtpc_engine_refuse(e, SMTPC_ENOTSUP, "smtpc_engine_set_chunking",
                                   "CHUNKING is compiled out (-Dchunking=false)");
    e->prefer_data = !use;
    return SMTPC_OK;
}

#if !SMTPC_HAVE_CHUNKING
/* (smtpc_engine_bdat_choose is a macro: engine_internal.h.) */

/* Never reached: SMTPC_BDAT(e) is 0 wherever these are called. */
int smtpc_engine_bdat_start(smtpc_engine *e)
{
    return smtpc_engine_refuse(e, SMTPC_ENOTSUP, "smtpc_engine_body_write",
                               "CHUNKING is compiled out (-Dchunking=false)");
}

int smtpc_engine_bdat_write(smtpc_engine *e, const uint8_t *data, size_t len, size_t *consumed)
{
    (void)data;
    (void)len;
    (void)consumed;
    return smtpc_engine_bdat_start(e);
}

int smtpc_engine_bdat_end(smtpc_engine *e)
{
    return smtpc_engine_bdat_start(e);
}

void smtpc_engine_on_bdat_reply(smtpc_engine *e, int kind, size_t index,
                                const smtpc_reply *reply)
{
    (void)e;
    (void)kind;
    (void)index;
    (void)reply;
}
#else

int smtpc_engine_bdat_choose(smtpc_engine *e, int flags)
{
    int caps = e->caps.flags;
    int chunking = (caps & SMTPC_CAP_CHUNKING) && !e->prefer_data;
    if (flags & SMTPC_MAIL_BINARYMIME) {
        if (!chunking || !(caps & SMTPC_CAP_BINARYMIME))
            return smtpc_engine_err(e, SMTPC_E8BIT,
                                    "the message is binary MIME and the server does not offer "
                                    "%s%s (encode it as 7-bit or 8-bit MIME)",
                                    (caps & SMTPC_CAP_CHUNKING) ? "" : "CHUNKING and ",
                                    e->prefer_data ? "BINARYMIME with chunking on"
                                                   : "BINARYMIME");
        e->mail_flags |= SMTPC_CMD_BODY_BINARYMIME;
        e->bdat_next = 2;
    } else {
        e->bdat_next = chunking;
    }
    return SMTPC_OK;
}

void smtpc_engine_bdat_begin_txn(smtpc_engine *e)
{
    e->bdat = e->bdat_next != 0;
    e->bdat_raw = e->bdat_next == 2;
    e->bdat_flush = 0;
    e->chunk_fill = 0;
}

int smtpc_engine_bdat_start(smtpc_engine *e)
{
    e->data_sent = 1; /* the body phase has begun */
    e->data_state = 1;
    e->in_body = 1;
    smtpc_dot_stuffer_init_bdat(&e->stuffer);
    /* The envelope filled the buffer: it goes first, so that the body
     * (and its end) finds room when asked for. */
    smtpc_engine_compact_output(e);
    if (e->out_cap - e->out_len < HDR_ROOM + TAIL_ROOM + MIN_CHUNK)
        e->bdat_flush = 1;
    return SMTPC_OK;
}

int (smtpc_engine_bdat_filling)(const smtpc_engine *e)
{
    if (!e->in_body || !e->bdat || e->bdat_flush || e->closed)
        return 0;
    if (e->caps.flags & SMTPC_CAP_PIPELINING)
        return e->pend_count + 2 <= SMTPC_PENDING_MAX; /* a chunk and the last */
    return e->pend_count == 0 && e->out_sent == e->out_len;
}

/* Put the header in front of the chunk's data and hand both to the output. */
static int close_chunk(smtpc_engine *e, int last)
{
    size_t n = e->chunk_fill - HDR_ROOM;
    char hdr[HDR_ROOM + 1], num[SMTPC_FMT_INT_MAX];
    smtpc_fmt_size(num, n);
    int hl = snprintf(hdr, sizeof hdr, "BDAT %s%s\r\n", num, last ? " LAST" : "");
    uint8_t *start = e->out + e->out_len;
    memmove(start + hl, start + HDR_ROOM, n);
    memcpy(start, hdr, (size_t)hl);
    e->out_len += (size_t)hl + n;
    e->chunk_fill = 0;
    smtpc_engine_trace(e, SMTPC_TRACE_SEND, "BDAT %s%s", num, last ? " LAST" : "");
    return smtpc_engine_expect(e, last ? SMTPC_PK_BDAT_LAST : SMTPC_PK_BDAT, 0);
}

static int open_chunk(smtpc_engine *e)
{
    smtpc_engine_compact_output(e);
    if (e->out_cap - e->out_len < HDR_ROOM + TAIL_ROOM + MIN_CHUNK)
        return 0;
    e->chunk_fill = HDR_ROOM;
    return 1;
}

int smtpc_engine_bdat_write(smtpc_engine *e, const uint8_t *data, size_t len, size_t *consumed)
{
    if (!e->chunk_fill && !open_chunk(e)) {
        e->bdat_flush = 1; /* what is queued goes first */
        return SMTPC_OK;
    }
    uint8_t *at = e->out + e->out_len + e->chunk_fill;
    size_t room = e->out_cap - e->out_len - e->chunk_fill - TAIL_ROOM;
    size_t produced;
    if (e->bdat_raw) {
        produced = len < room ? len : room;
        memcpy(at, data, produced);
        *consumed = produced;
    } else {
        smtpc_dot_stuffer_encode(&e->stuffer, data, len, consumed, at, room, &produced);
        if (!(e->mail_flags & (SMTPC_CMD_BODY_8BITMIME | SMTPC_CMD_SMTPUTF8)) &&
            e->stuffer.saw_8bit) {
            /* Chunks already sent cannot be taken back: dropping the
             * connection makes the server discard the partial message. */
            *consumed = 0;
            e->chunk_fill = 0;
            smtpc_engine_err(e, SMTPC_E8BIT,
                             "the body has 8-bit bytes but was declared 7-bit; the connection "
                             "was dropped so that no partial message is delivered");
            return smtpc_engine_fail(e, 0);
        }
    }
    e->chunk_fill += produced;
    if (*consumed < len) { /* the buffer is full: this chunk goes now */
        e->bdat_flush = 1;
        int rc = close_chunk(e, 0);
        if (rc)
            return smtpc_engine_refuse(e, rc, "smtpc_engine_body_write", "too many replies awaited");
    }
    return SMTPC_OK;
}

int smtpc_engine_bdat_end(smtpc_engine *e)
{
    if (!e->chunk_fill) {
        /* TAIL_ROOM was kept behind the last chunk (or the buffer is empty). */
        if (e->out_sent == e->out_len)
            smtpc_engine_compact_output(e);
        e->chunk_fill = HDR_ROOM;
    }
    if (!e->bdat_raw) {
        uint8_t *at = e->out + e->out_len + e->chunk_fill;
        e->chunk_fill += smtpc_dot_stuffer_end_line(&e->stuffer, at, 2);
    }
    e->in_body = 0;
    e->body_ended = 1;
    int rc = close_chunk(e, 1);
    return rc ? smtpc_engine_refuse(e, rc, "smtpc_engine_body_end", "too many replies awaited")
              : SMTPC_OK;
}

/* The transaction failed: stop sending body, reset once every reply is in. */
static void stop(smtpc_engine *e, int code)
{
    if (e->txn_error)
        return;
    e->txn_error = code;
    e->in_body = 0;
    e->chunk_fill = 0; /* never sent: its header was not even written */
    if (smtpc_engine_queue(e, SMTPC_PK_RSET, "RSET", NULL))
        smtpc_engine_fail(e, 0);
}

/* Replies once the body phase has begun: the MAIL and RCPT replies of a
 * pipelined envelope, and one per chunk. */
void smtpc_engine_on_bdat_reply(smtpc_engine *e, int kind, size_t index,
                                const smtpc_reply *reply)
{
    int ok = reply->code / 100 == 2;
    switch (kind) {
    case SMTPC_PK_MAIL:
        if (!ok) {
            e->mail_refused = 1;
            smtpc_engine_err_reply(e, SMTPC_EMAILFROM, reply, "sender refused");
            stop(e, SMTPC_EMAILFROM);
        }
        return;
    case SMTPC_PK_RCPT:
        if (ok && !e->mail_refused)
            e->accepted++;
        if (index + 1 == e->n_rcpts && e->accepted == 0 && !e->txn_error) {
            const smtpc_rcpt_result *r = &e->results[0];
            char num[SMTPC_FMT_INT_MAX];
            smtpc_engine_err(e, SMTPC_ERCPTS,
                             "every recipient (%s) was refused; first: %d %s %.120s",
                             smtpc_fmt_size(num, e->n_rcpts), r->code, r->enhanced, r->text);
            e->err.reply_code = r->code;
            memcpy(e->err.enhanced, r->enhanced, sizeof e->err.enhanced);
            smtpc_copy_text(e->err.reply_text, sizeof e->err.reply_text, r->text);
            stop(e, SMTPC_ERCPTS);
        }
        return;
    case SMTPC_PK_BDAT:
    case SMTPC_PK_BDAT_LAST:
        if (e->txn_error)
            return; /* a consequence of the failure already reported */
        if (!ok) {
            e->message_status = SMTPC_MESSAGE_REJECTED;
            smtpc_engine_err_reply(e, SMTPC_EMESSAGE, reply,
                                   kind == SMTPC_PK_BDAT ? "BDAT chunk refused; transfer stopped"
                                                         : "message refused");
            stop(e, SMTPC_EMESSAGE);
            return;
        }
        if (kind == SMTPC_PK_BDAT_LAST) {
            e->message_status = SMTPC_MESSAGE_ACCEPTED;
            smtpc_engine_finish(e, 0);
        }
        return;
    case SMTPC_PK_RSET:
        /* A refused RSET changes nothing for the caller: the first error stands. */
        smtpc_engine_finish(e, e->txn_error);
        return;
    default:
        return;
    }
}
#endif /* SMTPC_HAVE_CHUNKING */
