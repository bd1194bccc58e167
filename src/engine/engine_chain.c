/* Many messages on one connection: the next transaction begun while the
 * previous one's end-of-data reply is awaited (RFC 2920 across messages),
 * and every transaction's verdict reported once, in order, through the
 * mail-done callback. */
#include "alloc.h"
#include "command_writer.h"
#include "engine_internal.h"

int smtpc_engine_mail_chainable(const smtpc_engine *e)
{
    if (!SMTPC_HAVE_MAIL_CHAINING) /* -Dmail_chaining=false */
        return 0;
    if (!e || e->closed || e->quitting || e->op != SMTPC_OP_MAIL || !e->body_ended ||
        e->prev.active || !(e->caps.flags & SMTPC_CAP_PIPELINING) || e->pend_count != 1 ||
        (e->pending[e->pend_head].kind != SMTPC_PK_END_OF_DATA &&
         e->pending[e->pend_head].kind != SMTPC_PK_BDAT_LAST))
        return 0;
    /* MAIL must fit behind what is still unsent (the "." at least). */
    size_t used = e->out_sent == e->out_len ? 0 : e->out_len;
    return e->out_cap - used >= SMTPC_COMMAND_MAX + 8;
}

#if SMTPC_HAVE_MAIL_CHAINING
/* The current transaction becomes the one before: its recipients' results
 * are final, only the reply to its end of data is awaited. */
void smtpc_engine_chain_past(smtpc_engine *e)
{
    smtpc_prev_txn *p = &e->prev;
    p->active = 1;
    p->seq = e->mail_seq;
    p->status = SMTPC_MESSAGE_NOT_SENT;
    p->results = e->results;
    p->results_n = e->results_n;
    p->accepted = e->accepted;
    smtpc_error_clear(&p->err);
    e->results = NULL;
    e->results_n = 0;
    e->txn_open = 0;
    e->pending[e->pend_head].kind = SMTPC_PK_PREV_END_OF_DATA;
}

static void swap_view(smtpc_engine *e)
{
    smtpc_prev_txn *p = &e->prev;
    smtpc_rcpt_result *r = e->results;
    size_t n = e->results_n, acc = e->accepted;
    int status = e->message_status;
    e->results = p->results;
    e->results_n = p->results_n;
    e->accepted = p->accepted;
    e->message_status = p->status;
    p->results = r;
    p->results_n = n;
    p->accepted = acc;
    p->status = status;
}

/* Report the transaction chained past, once; its results go with it. */
static void report_prev(smtpc_engine *e)
{
    smtpc_prev_txn *p = &e->prev;
    if (!p->active)
        return;
    p->active = 0;
    if (e->mail_done) {
        int refused = e->mail_refused;
        int result = p->status == SMTPC_MESSAGE_ACCEPTED ? 0 : p->err.code;
        swap_view(e);
        e->mail_refused = 0; /* it had its 354 */
        e->mail_done(e->mail_done_user, e, p->seq, result, &p->err);
        e->mail_refused = refused;
        swap_view(e);
    }
    smtpc_free(&e->alloc, p->results, p->results_n * sizeof *p->results);
    p->results = NULL;
    p->results_n = 0;
}

void smtpc_engine_on_prev_reply(smtpc_engine *e, const smtpc_reply *reply)
{
    int ok = reply->code / 100 == 2;
    e->prev.status = ok ? SMTPC_MESSAGE_ACCEPTED : SMTPC_MESSAGE_REJECTED;
    if (!ok)
        smtpc_error_set_reply(&e->prev.err, reply->code == 421 ? SMTPC_ESHUTDOWN : SMTPC_EMESSAGE,
                              reply, "message refused");
    report_prev(e);
    smtpc_engine_check_421(e, reply, "service closing");
}

#endif /* SMTPC_HAVE_MAIL_CHAINING */

void smtpc_engine_mail_ended(smtpc_engine *e)
{
#if SMTPC_HAVE_MAIL_CHAINING
    if (e->prev.active && e->prev.status == SMTPC_MESSAGE_NOT_SENT) {
        /* The session ended before the reply to its end of data. */
        e->prev.status = SMTPC_MESSAGE_UNKNOWN;
        smtpc_error_set(&e->prev.err, SMTPC_EUNKNOWN,
                        "no reply to the end of data (%.160s): the server may or may not "
                        "have accepted the message",
                        e->err.code ? smtpc_error_message(&e->err) : "session ended");
    }
    report_prev(e);
#endif
    if (!e->txn_open)
        return;
    e->txn_open = 0;
    if (!e->mail_done)
        return;
    smtpc_error_clear(e->none);
    int result = e->op == SMTPC_OP_MAIL || e->closed ? e->err.code : e->result;
    if (e->message_status == SMTPC_MESSAGE_ACCEPTED)
        result = 0;
    else if (!result)
        result = SMTPC_ECLOSED;
    const smtpc_error *err = result ? &e->err : e->none;
    if (result == SMTPC_EUNKNOWN && e->message_status == SMTPC_MESSAGE_NOT_SENT) {
        /* The unknown outcome is the message before's (its end of data went
         * unanswered); this one never went: the session just closed. */
        result = SMTPC_ECLOSED;
        smtpc_error_set(e->none, result, "not sent: the session ended first (%.160s)",
                        smtpc_error_message(&e->err));
        err = e->none;
    }
    e->mail_done(e->mail_done_user, e, e->mail_seq, result, err);
}

int smtpc_engine_set_mail_done(smtpc_engine *e, smtpc_mail_done_fn fn, void *user)
{
    if (!e)
        return SMTPC_EINVAL;
    if (e->op != SMTPC_OP_NONE)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, "smtpc_engine_set_mail_done",
                                   "not while an operation is in progress");
    if (fn && !e->none && !(e->none = smtpc_alloc(&e->alloc, sizeof *e->none)))
        return smtpc_engine_refuse(e, SMTPC_ENOMEM, "smtpc_engine_set_mail_done",
                                   "no memory for the callback's record");
    e->mail_done = fn;
    e->mail_done_user = user;
    return SMTPC_OK;
}

uint32_t smtpc_engine_mail_seq(const smtpc_engine *e)
{
    return e ? e->mail_seq : 0;
}
