/* DKIM signatures on a built message: a first pass reads the message as
 * it will be sent (without the signature headers) through one signing pass
 * per signer, then the message is rewound and the signature headers come
 * first in the bytes read. Only the finished headers are kept. */
#include <string.h>

#include "alloc.h"
#include "fmt.h"
#include "dkim_sign.h"
#include "header_encode.h"
#include "message_internal.h"
#include "smtpc_config.h"

#define MAX_SIGNERS 8

struct smtpc_msg_dkim {
    smtpc_dkim *signer[MAX_SIGNERS];
    unsigned long serial[MAX_SIGNERS]; /* the settings signed with */
    char *hdr[MAX_SIGNERS];
    size_t hdr_len[MAX_SIGNERS];
    size_t n;
    int ready; /* hdr[] holds signatures of the current bytes */
    int busy;  /* inside the first pass: no signature headers */
};

#if SMTPC_HAVE_DKIM
static void drop_headers(smtpc_message *msg)
{
    struct smtpc_msg_dkim *st = msg->dkim;
    for (size_t i = 0; i < st->n; i++) {
        smtpc_free(&msg->alloc, st->hdr[i], st->hdr[i] ? st->hdr_len[i] + 1 : 0);
        st->hdr[i] = NULL;
        st->hdr_len[i] = 0;
    }
    st->ready = 0;
}

void smtpc_msg_dkim_free(smtpc_message *msg)
{
    if (!msg->dkim)
        return;
    drop_headers(msg);
    smtpc_free(&msg->alloc, msg->dkim, sizeof *msg->dkim);
    msg->dkim = NULL;
}
#endif

int smtpc_message_add_dkim(smtpc_message *msg, smtpc_dkim *dkim)
{
    if (!msg)
        return SMTPC_EINVAL;
#if !SMTPC_HAVE_DKIM
    (void)dkim;
    return smtpc_msg_fail(msg, SMTPC_ENOTSUP, "DKIM is not built in (no mbedTLS or -Ddkim=disabled)");
#else
    if (!dkim)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "smtpc_message_add_dkim: no signer");
    if (!msg->dkim && !(msg->dkim = smtpc_alloc(&msg->alloc, sizeof *msg->dkim)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    struct smtpc_msg_dkim *st = msg->dkim;
    for (size_t i = 0; i < st->n; i++)
        if (st->signer[i] == dkim)
            return smtpc_msg_fail(msg, SMTPC_EINVAL, "this DKIM signer is attached already");
    if (st->n == MAX_SIGNERS)
        return smtpc_msg_fail(msg, SMTPC_ETOOLONG, "more than %d DKIM signers", MAX_SIGNERS);
    drop_headers(msg);
    st->signer[st->n++] = dkim;
    return smtpc_message_rewind(msg);
#endif
}

#if SMTPC_HAVE_DKIM
size_t smtpc_msg_dkim_count(const smtpc_message *msg)
{
    const struct smtpc_msg_dkim *st = msg->dkim;
    return st && st->ready && !st->busy ? st->n : 0;
}

void smtpc_msg_dkim_header(const smtpc_message *msg, size_t i, smtpc_hsink *s)
{
    smtpc_hsink_put(s, msg->dkim->hdr[i], msg->dkim->hdr_len[i]);
}

static int stale(const smtpc_message *msg)
{
    const struct smtpc_msg_dkim *st = msg->dkim;
    if (!st->ready || msg->dkim_stale)
        return 1;
    for (size_t i = 0; i < st->n; i++)
        if (st->serial[i] != smtpc_dkim_serial(st->signer[i]))
            return 1;
    return 0;
}

/* The first pass reads every source once more: each must be able to start
 * again. Checked before anything is read, so a failure consumes nothing. */
static int check_rewindable(smtpc_message *msg)
{
    smtpc_msg_part *lists[] = {msg->text, msg->html, msg->inlines, msg->attachments};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (smtpc_msg_part *p = lists[l]; p; p = p->next, msg->steps++)
            if (p->src.kind == SMTPC_SRC_READER && !p->src.rewind)
                return smtpc_msg_fail(msg, SMTPC_ESTATE,
                                      "DKIM signing reads the message twice, but a part%s%.100s "
                                      "comes from a read callback without a rewind callback",
                                      p->filename ? " " : "", p->filename ? p->filename : "");
    return 0;
}

/* The read buffer is on the heap: no frame of the library over 512 B. */
static int first_pass(smtpc_message *msg, smtpc_dkim_ctx **ctx)
{
    struct smtpc_msg_dkim *st = msg->dkim;
    uint8_t *buf = smtpc_alloc(&msg->alloc, SMTPC_MSG_WORK);
    if (!buf)
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    int rc;
    for (;;) {
        size_t n;
        rc = smtpc_message_read(msg, buf, SMTPC_MSG_WORK, &n);
        if (rc || n == 0)
            break;
        for (size_t i = 0; i < st->n; i++)
            smtpc_dkim_ctx_update(ctx[i], buf, n);
    }
    smtpc_free(&msg->alloc, buf, SMTPC_MSG_WORK);
    return rc;
}

static int signer_failed(smtpc_message *msg, int rc, size_t i)
{
    char num[SMTPC_FMT_INT_MAX];
    return smtpc_msg_fail(msg, rc, "DKIM signer %s: %s", smtpc_fmt_size(num, i + 1),
                          smtpc_error_message(smtpc_dkim_error(msg->dkim->signer[i])));
}

static int sign_all(smtpc_message *msg)
{
    struct smtpc_msg_dkim *st = msg->dkim;
    smtpc_dkim_ctx *ctx[MAX_SIGNERS] = {0};
    int rc = 0;
    size_t i;
    for (i = 0; i < st->n && !rc; i++)
        if ((rc = smtpc_dkim_ctx_new(st->signer[i], &ctx[i])) != 0)
            rc = signer_failed(msg, rc, i);
    if (!rc) {
        st->busy = 1;
        rc = first_pass(msg, ctx);
        st->busy = 0;
        /* The sources go back to their start whatever happened; the read
         * error, which the rewind clears, is what gets reported (kept on
         * the heap: a record is 792 B). */
        smtpc_error *why = rc ? smtpc_alloc(&msg->alloc, sizeof *why) : NULL;
        if (why)
            smtpc_error_copy(why, &msg->error);
        int r = smtpc_message_rewind(msg);
        if (why) {
            smtpc_error_copy(&msg->error, why);
            smtpc_free(&msg->alloc, why, sizeof *why);
        } else if (rc) {
            smtpc_error_set(&msg->error, rc, NULL); /* no memory to keep the text */
        } else {
            rc = r;
        }
    }
    for (i = 0; i < st->n && !rc; i++) {
        const char *h;
        size_t n;
        if ((rc = smtpc_dkim_ctx_final(ctx[i], &h, &n)) != 0) {
            rc = signer_failed(msg, rc, i);
        } else if (!(st->hdr[i] = smtpc_alloc(&msg->alloc, n + 1))) {
            rc = smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
        } else {
            memcpy(st->hdr[i], h, n + 1);
            st->hdr_len[i] = n;
            st->serial[i] = smtpc_dkim_serial(st->signer[i]);
        }
    }
    for (i = 0; i < st->n; i++)
        smtpc_dkim_ctx_free(ctx[i]);
    return rc;
}

int smtpc_msg_dkim_prepare(smtpc_message *msg)
{
    struct smtpc_msg_dkim *st = msg->dkim;
    /* Without DKIM no signer can be attached: the signing code drops out. */
    if (!SMTPC_HAVE_DKIM || !st || !st->n || st->busy)
        return 0;
    /* Signatures are made only from the first byte; a message read part
     * way keeps those it started with. */
    int at_start = msg->phase == SMTPC_PH_HEADERS && msg->index == 0 && msg->text_off == 0 &&
                   msg->stage_len == 0;
    if (!at_start || !stale(msg))
        return st->ready ? 0 : smtpc_msg_fail(msg, SMTPC_ESTATE, "internal: unsigned message");
    drop_headers(msg);
    int rc = check_rewindable(msg);
    if (!rc)
        rc = sign_all(msg);
    if (rc) {
        drop_headers(msg);
        return rc;
    }
    st->ready = 1;
    msg->dkim_stale = 0;
    return 0;
}
#endif
