/* The streaming serializer: a walk over the steps of the message (top
 * headers, then for each leaf the text before it and its body, then the
 * closing boundaries), producing the bytes on demand. */
#include <string.h>

#include "header_encode.h"
#include "message_internal.h"

/* INT64_MAX in decimal (no %lld: see fmt.h). */
#define TOO_BIG "9223372036854775807"

/* Produce a window of the current text step; 0 bytes means the step is
 * over. */
static size_t text_window(smtpc_message *msg, uint8_t *out, size_t cap)
{
    smtpc_hsink s;
    smtpc_hsink_init(&s, out, cap, msg->text_off);
    switch (msg->phase) {
    case SMTPC_PH_HEADERS:
        smtpc_msg_gen_header(msg, msg->index, &s);
        break;
    case SMTPC_PH_PRE:
        smtpc_msg_gen_pre(msg, msg->index, &s);
        break;
    default:
        smtpc_msg_gen_post(msg, &s);
        break;
    }
    msg->text_off += s.len;
    return s.len;
}

static void next_step(smtpc_message *msg)
{
    msg->text_off = 0;
    switch (msg->phase) {
    case SMTPC_PH_HEADERS:
        if (msg->index + 1 < smtpc_msg_header_steps(msg)) {
            msg->index++;
        } else {
            msg->phase = SMTPC_PH_PRE;
            msg->index = 0;
        }
        break;
    case SMTPC_PH_PRE:
        msg->phase = SMTPC_PH_BODY;
        msg->sources_dirty = 1;
        smtpc_msg_body_begin(msg, smtpc_msg_leaf(msg, msg->index));
        break;
    case SMTPC_PH_BODY:
        smtpc_msg_source_close(&msg->cur->src);
        msg->cur = NULL;
        if (++msg->index < msg->n_leaves) {
            msg->phase = SMTPC_PH_PRE;
        } else {
            msg->phase = SMTPC_PH_POST;
        }
        break;
    default:
        msg->phase = SMTPC_PH_DONE;
        break;
    }
}

/* Up to cap bytes of the next step(s) into out; cap >= SMTPC_MSG_WORK.
 * Returns 0 with *got 0 only at the end of the message. */
static int produce(smtpc_message *msg, uint8_t *out, size_t cap, size_t *got)
{
    *got = 0;
    while (msg->phase != SMTPC_PH_DONE) {
        if (msg->phase == SMTPC_PH_BODY) {
            int done;
            int rc = smtpc_msg_body_produce(msg, out, cap, got, &done);
            if (rc)
                return rc;
            if (done)
                next_step(msg);
            else if (*got == 0)
                return smtpc_msg_fail(msg, SMTPC_ESTATE, "internal: body made no progress");
        } else {
            *got = text_window(msg, out, cap);
            if (*got == 0)
                next_step(msg);
        }
        if (*got > 0)
            return 0;
    }
    return 0;
}

int smtpc_message_read(smtpc_message *msg, uint8_t *buf, size_t cap, size_t *len)
{
    if (len)
        *len = 0;
    if (!msg || !len || (!buf && cap))
        return SMTPC_EINVAL;
    if (msg->err)
        return smtpc_msg_result(msg, msg->err);
    int rc = smtpc_msg_freeze(msg);
    if (!rc)
        rc = smtpc_msg_dkim_prepare(msg);
    if (rc)
        return msg->err = smtpc_msg_result(msg, rc);
    size_t n = 0;
    while (n < cap) {
        if (msg->stage_pos < msg->stage_len) {
            size_t k = msg->stage_len - msg->stage_pos;
            if (k > cap - n)
                k = cap - n;
            memcpy(buf + n, msg->stage + msg->stage_pos, k);
            msg->stage_pos += k;
            n += k;
            continue;
        }
        size_t got;
        /* Large reads are filled in place; small ones go through the stage
         * so that every step sees room for its largest unit. */
        if (cap - n >= SMTPC_MSG_WORK) {
            rc = produce(msg, buf + n, cap - n, &got);
            n += got;
        } else {
            rc = produce(msg, msg->stage, SMTPC_MSG_WORK, &got);
            msg->stage_len = got;
            msg->stage_pos = 0;
        }
        if (rc)
            return msg->err = smtpc_msg_result(msg, rc);
        if (got == 0)
            break;
    }
    *len = n;
    return 0;
}

int smtpc_message_rewind(smtpc_message *msg)
{
    if (!msg)
        return SMTPC_EINVAL;
    /* Only a message that was read has sources to rewind; skipping the
     * walk otherwise keeps every setter O(1) (each one rewinds). */
    int rc = 0;
    if (msg->sources_dirty) {
        for (smtpc_msg_part *p = smtpc_msg_next_leaf(msg, NULL); p;
             p = smtpc_msg_next_leaf(msg, p), msg->steps++) {
            int r = smtpc_msg_source_rewind(msg, &p->src);
            if (r && !rc)
                rc = r;
        }
        msg->sources_dirty = rc != 0;
    }
    msg->phase = SMTPC_PH_HEADERS;
    msg->index = 0;
    msg->text_off = 0;
    msg->cur = NULL;
    msg->stage_len = msg->stage_pos = 0;
    msg->raw_len = msg->raw_pos = 0;
    msg->err = rc;
    if (!rc)
        smtpc_error_clear(&msg->error);
    return smtpc_msg_result(msg, rc);
}

int smtpc_message_size(smtpc_message *msg, int64_t *size)
{
    if (size)
        *size = -1;
    if (!msg || !size)
        return SMTPC_EINVAL;
    int rc = smtpc_msg_freeze(msg);
    if (!rc)
        rc = smtpc_msg_dkim_prepare(msg);
    if (rc)
        return smtpc_msg_result(msg, rc);
    smtpc_hsink s;
    smtpc_hsink_init(&s, NULL, 0, 0);
    for (size_t h = 0; smtpc_msg_gen_header(msg, h, &s); h++)
        ;
    uint64_t total = 0;
    for (size_t i = 0; i < msg->n_leaves; i++) {
        smtpc_msg_part *p = smtpc_msg_leaf(msg, i);
        smtpc_msg_gen_pre(msg, i, &s);
        /* The size goes into SIZE= before any byte is sent: a file that
         * changed since it was attached must fail now, not mid-DATA. */
        if ((rc = smtpc_msg_source_check(msg, &p->src)) != 0)
            return smtpc_msg_result(msg, rc);
        if (p->enc_size < 0)
            return smtpc_msg_fail(msg, SMTPC_ESIZEUNKNOWN, "a part's size is unknown");
        /* Each part is below INT64_MAX (checked when added) and so is the
         * sum before it: the sum after it cannot wrap, only pass the
         * limit. */
        total += (uint64_t)p->enc_size;
        if (total > (uint64_t)INT64_MAX)
            goto too_big;
    }
    smtpc_msg_gen_post(msg, &s);
    /* The text between the bodies comes from strings in memory: far below
     * 2^63, so the sum cannot wrap. */
    total += s.total;
    if (total <= (uint64_t)INT64_MAX) {
        *size = (int64_t)total;
        return 0;
    }
too_big:
    return smtpc_msg_fail(msg, SMTPC_ETOOLONG, "the message would exceed %s bytes", TOO_BIG);
}
