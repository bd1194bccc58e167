/* The mail transaction: MAIL, RCPT, DATA, body, end of data; pipelined
 * (RFC 2920) when the server offers it. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "alloc.h"
#include "command_writer.h"
#include "engine_internal.h"

/* Room kept free in the output buffer for the end-of-data sequence. */
#define BODY_RESERVE 8

void smtpc_engine_mail_release(smtpc_engine *e)
{
    smtpc_free(&e->alloc, e->results, e->results_n * sizeof *e->results);
    e->results = NULL;
    e->results_n = 0;
#if SMTPC_HAVE_MAIL_CHAINING /* else nothing is ever chained past */
    smtpc_free(&e->alloc, e->prev.results, e->prev.results_n * sizeof *e->prev.results);
    e->prev.results = NULL;
    e->prev.results_n = 0;
    e->prev.active = 0;
#endif
}

/* What an address check's code says, for the texts. */
static const char *address_why(int rc)
{
    return rc == SMTPC_ENOTSUP ? "address literals are compiled out: -Daddress_literals=false"
                               : smtpc_strerror(rc);
}

static int check_envelope(smtpc_engine *e, const char *from, const char *const *rcpts,
                          size_t n, int *utf8)
{
    char num[SMTPC_FMT_INT_MAX];
    /* The sender (step 0), then each recipient (step i + 1) through the
     * one check. The number is formatted only for a text that is kept
     * (not with -Dmessages=short). */
    for (size_t step = 0; step <= n; step++) {
        size_t i = step - 1;
        const char *addr = step ? rcpts[i] : from;
        if (!addr)
            return smtpc_engine_err(e, SMTPC_EINVAL, "recipient %s is NULL",
                                    smtpc_fmt_size(num, i));
        int is_utf8 = 0;
        int rc = smtpc_address_check(addr, !step, &is_utf8);
        if (rc && !step)
            return smtpc_engine_err(e, rc, "sender address \"%.100s\" is invalid (%s)",
                                    from, address_why(rc));
        if (rc)
            return smtpc_engine_err(e, rc, "recipient %s \"%.100s\" is invalid (%s)",
                                    smtpc_fmt_size(num, i), addr, address_why(rc));
        *utf8 |= is_utf8;
        rc = step ? smtpc_cmd_rcpt_ext_fits(addr, 0, NULL) : 0;
        if (rc)
            return smtpc_engine_err(e, rc, "recipient %s: %s", smtpc_fmt_size(num, i),
                                    smtpc_strerror(rc));
    }
    return 0;
}

/* Sets mail_flags and size for MAIL once every check has passed; size is
 * -1 (unknown) or more (start_mail refuses the rest). */
static int check_extensions(smtpc_engine *e, int utf8, int64_t size, int flags)
{
    int caps = e->caps.flags;
    int mail_flags = 0;
    if (utf8 || (flags & SMTPC_MAIL_SMTPUTF8)) {
        if (!(caps & SMTPC_CAP_SMTPUTF8))
            return smtpc_engine_err(e, SMTPC_EUTF8,
                                    "a non-ASCII address needs SMTPUTF8, which the server "
                                    "does not offer");
        mail_flags |= SMTPC_CMD_SMTPUTF8;
    }
    if (flags & SMTPC_MAIL_8BITMIME) {
        if (!(caps & SMTPC_CAP_8BITMIME))
            return smtpc_engine_err(e, SMTPC_E8BIT,
                                    "the message has 8-bit data and the server does not offer "
                                    "8BITMIME (encode it as 7-bit: quoted-printable or base64)");
        mail_flags |= SMTPC_CMD_BODY_8BITMIME;
    }
    if (!(caps & SMTPC_CAP_SIZE))
        size = -1; /* no SIZE= parameter without the extension */
    if (size >= 0 && e->caps.size_max && (uint64_t)size > e->caps.size_max) {
        char num[SMTPC_FMT_INT_MAX], limit[SMTPC_FMT_INT_MAX];
        return smtpc_engine_err(e, SMTPC_ESIZE,
                                "message of %s bytes exceeds the server's limit of %s",
                                smtpc_fmt_i64(num, size, 1),
                                smtpc_fmt_u64(limit, e->caps.size_max, 1));
    }
    e->mail_flags = mail_flags;
    e->size = size;
    return 0;
}

static int queue_rcpt(smtpc_engine *e)
{
    smtpc_engine_compact_output(e);
    size_t start = e->out_len;
    int rc = smtpc_cmd_rcpt_ext(e->out, e->out_cap, &e->out_len, e->rcpts[e->next_rcpt],
                                smtpc_engine_rcpt_notify(e, e->next_rcpt),
                                smtpc_engine_rcpt_orcpt(e, e->next_rcpt));
    if (rc == 0)
        rc = smtpc_engine_queue_written(e, SMTPC_PK_RCPT, e->next_rcpt, start);
    if (rc == 0)
        e->next_rcpt++;
    return rc;
}

static int queue_data(smtpc_engine *e)
{
    int rc = smtpc_engine_queue(e, SMTPC_PK_DATA, "DATA", NULL);
    if (rc == 0)
        e->data_sent = 1;
    return rc;
}

/* With PIPELINING, queue as many RCPTs as the output buffer and the reply
 * queue hold, then DATA once every recipient is queued (RFC 2920: DATA ends
 * a group). Bounding the group keeps a blocking driver from deadlocking on
 * a server that writes replies while we write commands. */
static int fill_group(smtpc_engine *e)
{
    while (e->next_rcpt < e->n_rcpts) {
        if (e->out_cap - e->out_len < SMTPC_COMMAND_MAX || e->pend_count + 2 > SMTPC_PENDING_MAX)
            return 0;
        int rc = queue_rcpt(e);
        if (rc)
            return rc;
    }
    if (!e->data_sent && e->out_cap - e->out_len >= 8)
        return SMTPC_BDAT(e) ? smtpc_engine_bdat_start(e) : queue_data(e);
    return 0;
}

static int start_mail(smtpc_engine *e, const char *fn, int chain, const char *from,
                      const char *const *rcpts, size_t n_rcpts, int64_t size, int flags,
                      const smtpc_dsn *dsn)
{
    if (!e)
        return SMTPC_EINVAL;
    /* engine_dsn.c checks these; the rest are the transaction's own. */
    int dsn_flags = flags & (SMTPC_MAIL_REQUIRETLS | SMTPC_MAIL_DSN_OPTIONAL);
    flags &= ~dsn_flags;
    e->refused = 0;
    if (!from)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "from is NULL");
    char num[SMTPC_FMT_INT_MAX];
    if (!rcpts && n_rcpts)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "rcpts is NULL with n_rcpts %s",
                                   smtpc_fmt_size(num, n_rcpts));
    if (size < -1)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "size %s below -1 (unknown)",
                                   smtpc_fmt_i64(num, size, 1));
    if (flags & ~(SMTPC_MAIL_8BITMIME | SMTPC_MAIL_SMTPUTF8 | SMTPC_MAIL_BINARYMIME))
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "unknown flags 0x%x", (unsigned)flags);
    if (e->closed && e->err.code)
        return e->err.code; /* sticky: err still says why the session ended */
    if (e->closed)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "the session is over (smtpc_engine_reset first)");
    if (!e->ready)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "the session is not ready (greeting, EHLO, STARTTLS and "
                                   "AUTH first)");
    if (chain && !smtpc_engine_mail_chainable(e))
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "no message to chain past (PIPELINING, a body ended and "
                                   "only its reply awaited, room for the commands)");
    if (!chain && (e->op != SMTPC_OP_NONE || e->pend_count || e->out_len != e->out_sent))
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "another operation is in progress or its output unsent");
    if (!chain) /* chained, err still belongs to the message before */
        smtpc_error_clear(&e->err);
    if (n_rcpts == 0)
        return smtpc_engine_err(e, SMTPC_ENORECIPIENTS, "no recipients given");
    /* The result table's size must not wrap (size_t is 32 bits on many
     * targets); checked before the recipients are even looked at. */
    if (n_rcpts > SIZE_MAX / sizeof *e->results)
        return smtpc_engine_err(e, SMTPC_ENOMEM,
                                "too many recipients (%s): their result table cannot be "
                                "allocated",
                                smtpc_fmt_size(num, n_rcpts));
    int utf8 = 0;
    int rc = check_envelope(e, from, rcpts, n_rcpts, &utf8);
    if (rc)
        return rc;
    rc = check_extensions(e, utf8, size, flags);
    if (rc == 0)
        rc = smtpc_engine_bdat_choose(e, flags);
    if (rc)
        return rc;
    rc = smtpc_engine_check_dsn_tls(e, dsn_flags, dsn, rcpts, n_rcpts);
    if (rc)
        return rc;

    smtpc_rcpt_result *table = smtpc_alloc(&e->alloc, n_rcpts * sizeof *e->results);
    if (!table)
        return smtpc_engine_err(e, SMTPC_ENOMEM, "no memory for %s recipient results",
                                smtpc_fmt_size(num, n_rcpts));
    if (chain)
        smtpc_engine_chain_past(e);
    else
        smtpc_engine_mail_release(e);
    e->results = table;
    e->results_n = n_rcpts;
    e->from = from;
    e->rcpts = rcpts;
    e->n_rcpts = n_rcpts;
    /* message_status to next_rcpt (engine_internal.h): SMTPC_MESSAGE_NOT_SENT
     * is 0, and so is every count and flag. */
    memset((char *)e + offsetof(smtpc_engine, message_status), 0,
           offsetof(smtpc_engine, next_rcpt) + sizeof e->next_rcpt -
               offsetof(smtpc_engine, message_status));
    e->result = 0;
    smtpc_engine_bdat_begin_txn(e);

    smtpc_engine_compact_output(e);
    size_t start = e->out_len;
    rc = smtpc_cmd_mail_ext(e->out, e->out_cap, &e->out_len, from, e->size, e->mail_flags,
                            SMTPC_HAVE_DSN && e->dsn ? e->dsn->envid : NULL);
    if (rc == 0)
        rc = smtpc_engine_queue_written(e, SMTPC_PK_MAIL, 0, start);
    if (rc)
        return smtpc_engine_err(e, rc, "MAIL FROM: %s", smtpc_strerror(rc));
    e->op = SMTPC_OP_MAIL;
    e->mail_seq++;
    e->txn_open = 1;
    if (e->caps.flags & SMTPC_CAP_PIPELINING) {
        rc = fill_group(e);
        if (rc)
            return smtpc_engine_fail_with(e, 0, rc, "could not queue the envelope: %s",
                                          smtpc_strerror(rc));
    }
    return SMTPC_OK;
}

int smtpc_engine_begin_mail(smtpc_engine *e, const char *from, const char *const *rcpts,
                            size_t n_rcpts, int64_t size, int flags)
{
    return start_mail(e, "smtpc_engine_begin_mail", 0, from, rcpts, n_rcpts, size, flags, NULL);
}

int smtpc_engine_begin_mail_dsn(smtpc_engine *e, const char *from, const char *const *rcpts,
                                size_t n_rcpts, int64_t size, int flags, const smtpc_dsn *dsn)
{
    return start_mail(e, "smtpc_engine_begin_mail_dsn", 0, from, rcpts, n_rcpts, size, flags,
                      dsn);
}

#if SMTPC_HAVE_MAIL_CHAINING
/* Exchange two records a piece at a time (no whole record on the stack). */
static void swap_records(smtpc_error *a, smtpc_error *b)
{
    unsigned char *p = (unsigned char *)a, *q = (unsigned char *)b;
    unsigned char t[64];
    for (size_t off = 0; off < sizeof *a; off += sizeof t) {
        size_t n = sizeof *a - off < sizeof t ? sizeof *a - off : sizeof t;
        memcpy(t, p + off, n);
        memcpy(p + off, q + off, n);
        memcpy(q + off, t, n);
    }
}
#endif

int smtpc_engine_begin_next_mail(smtpc_engine *e, const char *from, const char *const *rcpts,
                                 size_t n_rcpts, int64_t size, int flags, const smtpc_dsn *dsn)
{
    if (!e)
        return SMTPC_EINVAL;
#if !SMTPC_HAVE_MAIL_CHAINING
    (void)from;
    (void)rcpts;
    (void)n_rcpts;
    (void)size;
    (void)flags;
    (void)dsn;
    e->refused = 0;
    return smtpc_engine_refuse(e, SMTPC_ENOTSUP, "smtpc_engine_begin_next_mail",
                               "chaining is compiled out (-Dmail_chaining=false)");
#else
    /* The message before is still in flight: a check that fails here must
     * leave its error record as it was and say why as a refusal. The
     * record is kept in the refusal's place meanwhile (start_mail clears
     * any earlier refusal anyway; a record is too large for the stack). */
    smtpc_error_copy(&e->refusal, &e->err);
    int chained_from = (int)e->prev.active;
    int rc = start_mail(e, "smtpc_engine_begin_next_mail", 1, from, rcpts, n_rcpts, size,
                        flags, dsn);
    if (rc && !e->refused && !e->closed && e->prev.active == chained_from) {
        swap_records(&e->refusal, &e->err);
        e->refused = 1;
    }
    return rc;
#endif
}

static void store_result(smtpc_engine *e, size_t i, const smtpc_reply *reply)
{
    if (i >= e->results_n)
        return;
    smtpc_rcpt_result *r = &e->results[i];
    r->code = reply->code;
    memcpy(r->enhanced, reply->enhanced, sizeof r->enhanced);
    smtpc_copy_text(r->text, sizeof r->text, reply->text);
}

/* The transaction failed before the end of data: undo it with RSET (after
 * ending a DATA the server opened anyway) and report txn_error then. Takes
 * -code, as the error setters do (a 2-byte move at each caller). */
static void abandon(smtpc_engine *e, int minus_code)
{
    if (!e->txn_error)
        e->txn_error = -minus_code;
    int rc;
    if (e->data_state == 1) {
        e->data_state = 0; /* answered: do not end it twice */
        rc = smtpc_engine_queue(e, SMTPC_PK_DISCARD_DATA, ".", NULL);
    } else {
        rc = smtpc_engine_queue(e, SMTPC_PK_RSET, "RSET", NULL);
    }
    if (rc) {
        smtpc_engine_fail(e, 0);
    }
}

static void all_refused(smtpc_engine *e)
{
    /* Attach the first recipient's reply: usually the most telling. */
    const smtpc_rcpt_result *r = &e->results[0];
#if SMTPC_SHORT_MESSAGES
    /* The same record, the code's name heading the reply. */
    smtpc_error_set_server(&e->err, SMTPC_ERCPTS, r->code, r->enhanced, r->text, "");
#else
    char num[SMTPC_FMT_INT_MAX];
    smtpc_engine_err(e, SMTPC_ERCPTS, "every recipient (%s) was refused; first: %d %s %.120s",
                     smtpc_fmt_size(num, e->n_rcpts), r->code, r->enhanced, r->text);
    e->err.reply_code = r->code;
    memcpy(e->err.enhanced, r->enhanced, sizeof e->err.enhanced);
    smtpc_copy_text(e->err.reply_text, sizeof e->err.reply_text, r->text);
#endif
    abandon(e, -SMTPC_ERCPTS);
}

/* All replies of the group are in: decide the next step. */
static void advance(smtpc_engine *e)
{
    int rc = 0;
    if (e->mail_refused) {
        abandon(e, -SMTPC_EMAILFROM);
        return;
    }
    if (e->next_rcpt < e->n_rcpts) {
        rc = (e->caps.flags & SMTPC_CAP_PIPELINING) ? fill_group(e) : queue_rcpt(e);
    } else if (e->accepted == 0) { /* before DATA or after its reply */
        all_refused(e);
        return;
    } else if (!e->data_sent) {
        rc = SMTPC_BDAT(e) ? smtpc_engine_bdat_start(e) : queue_data(e);
    } else if (e->data_state == 1) {
        smtpc_dot_stuffer_init(&e->stuffer);
        e->in_body = 1;
    } else {
        abandon(e, -SMTPC_EDATA);
        return;
    }
    if (rc)
        smtpc_engine_fail_with(e, 0, rc, "could not queue the envelope: %s", smtpc_strerror(rc));
}

void smtpc_engine_on_mail_reply(smtpc_engine *e, int kind, size_t index,
                                const smtpc_reply *reply)
{
    int ok = reply->code / 100 == 2;
    if (SMTPC_HAVE_MAIL_CHAINING && kind == SMTPC_PK_PREV_END_OF_DATA) {
        smtpc_engine_on_prev_reply(e, reply);
        return;
    }
    /* Only a recipient's reply is kept (no other index is in the table): a
     * test of the index, not of the kind, which would have the compiler
     * copy the rest of this function for RCPT. */
    store_result(e, kind == SMTPC_PK_RCPT ? index : SIZE_MAX, reply);
    if (smtpc_engine_check_421(e, reply, "service closing"))
        return;
    if (SMTPC_BDAT(e) && e->data_sent) {
        smtpc_engine_on_bdat_reply(e, kind, index, reply);
        return;
    }
    switch (kind) {
    case SMTPC_PK_MAIL:
        if (!ok) {
            e->mail_refused = 1;
            smtpc_engine_err_reply(e, SMTPC_EMAILFROM, reply, "sender refused");
        }
        break;
    case SMTPC_PK_RCPT:
        if (ok && !e->mail_refused)
            e->accepted++;
        break;
    case SMTPC_PK_DATA:
        e->data_state = reply->code == 354 ? 1 : 2;
        if (e->data_state == 2 && !e->mail_refused && e->accepted)
            smtpc_engine_err_reply(e, SMTPC_EDATA, reply, "DATA refused");
        break;
    case SMTPC_PK_END_OF_DATA:
        e->message_status = ok ? SMTPC_MESSAGE_ACCEPTED : SMTPC_MESSAGE_REJECTED;
        if (!ok)
            smtpc_engine_err_reply(e, SMTPC_EMESSAGE, reply, "message refused");
        smtpc_engine_finish(e, ok ? 0 : SMTPC_EMESSAGE);
        return;
    case SMTPC_PK_DISCARD_DATA:
        smtpc_engine_queue(e, SMTPC_PK_RSET, "RSET", NULL);
        return;
    case SMTPC_PK_RSET:
        /* A refused RSET changes nothing for the caller: the first error stands. */
        smtpc_engine_finish(e, e->txn_error);
        return;
    default:
        return;
    }
    if (e->pend_count == 0)
        advance(e);
}

static int not_in_body(smtpc_engine *e, const char *fn)
{
    return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                               e->body_ended ? "the body has already ended"
                                             : "no body is expected (want is not "
                                               "SMTPC_WANT_BODY)");
}

int smtpc_engine_body_write(smtpc_engine *e, const uint8_t *data, size_t len, size_t *consumed)
{
    static const char fn[] = "smtpc_engine_body_write";
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    if (!consumed)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "consumed is NULL");
    *consumed = 0;
    if (!data && len) {
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "data is NULL with len %s",
                                   smtpc_fmt_size(num, len));
    }
    if (!e->in_body)
        return e->closed && e->err.code ? e->err.code
               : SMTPC_BDAT(e) && e->txn_error ? e->txn_error /* the transfer was stopped */
                                         : not_in_body(e, fn);
    if (SMTPC_BDAT(e))
        return smtpc_engine_bdat_write(e, data, len, consumed);
    smtpc_engine_compact_output(e);
    size_t room = e->out_cap - e->out_len;
    if (room <= BODY_RESERVE)
        return SMTPC_OK; /* send first */
    size_t produced = 0;
    smtpc_dot_stuffer_encode(&e->stuffer, data, len, consumed, e->out + e->out_len,
                             room - BODY_RESERVE, &produced);
    if (!(e->mail_flags & (SMTPC_CMD_BODY_8BITMIME | SMTPC_CMD_SMTPUTF8)) &&
        e->stuffer.saw_8bit) {
        /* Too late to undo: DATA is open. Dropping the connection makes the
         * server discard the partial message. */
        *consumed = 0;
        return smtpc_engine_fail_with(e, 0, SMTPC_E8BIT,
                                      "the body has 8-bit bytes but was declared 7-bit; the "
                                      "connection was dropped so that no partial message is "
                                      "delivered");
    }
    e->out_len += produced;
    return SMTPC_OK;
}

int smtpc_engine_body_end(smtpc_engine *e)
{
    static const char fn[] = "smtpc_engine_body_end";
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    if (!e->in_body)
        return e->closed && e->err.code ? e->err.code
               : SMTPC_BDAT(e) && e->txn_error ? e->txn_error
                                         : not_in_body(e, fn);
    if (SMTPC_BDAT(e))
        return smtpc_engine_bdat_end(e);
    smtpc_engine_compact_output(e);
    size_t n = smtpc_dot_stuffer_finish(&e->stuffer, e->out + e->out_len, e->out_cap - e->out_len);
    if (n == 0) /* cannot happen: BODY_RESERVE keeps the room */
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn, "no room for the end of data");
    e->out_len += n;
    e->in_body = 0;
    e->body_ended = 1;
    /* Trace the terminator only, never body bytes. */
    smtpc_engine_trace(e, SMTPC_TRACE_SEND, ".");
    int rc = smtpc_engine_expect(e, SMTPC_PK_END_OF_DATA, 0);
    return rc ? smtpc_engine_refuse(e, rc, fn, "too many replies awaited") : SMTPC_OK;
}

static const smtpc_rcpt_result *result_at(const smtpc_engine *e, size_t i)
{
    return e && i < e->results_n ? &e->results[i] : NULL;
}

int smtpc_engine_rcpt_reply_code(const smtpc_engine *e, size_t i)
{
    const smtpc_rcpt_result *r = result_at(e, i);
    return r ? r->code : 0;
}

const char *smtpc_engine_rcpt_enhanced(const smtpc_engine *e, size_t i)
{
    const smtpc_rcpt_result *r = result_at(e, i);
    return r ? r->enhanced : "";
}

const char *smtpc_engine_rcpt_reply_text(const smtpc_engine *e, size_t i)
{
    const smtpc_rcpt_result *r = result_at(e, i);
    return r ? r->text : "";
}

size_t smtpc_engine_rcpt_count(const smtpc_engine *e)
{
    return e ? e->results_n : 0;
}

int smtpc_engine_rcpt_accepted(const smtpc_engine *e, size_t i)
{
    return smtpc_engine_rcpt_reply_code(e, i) / 100 == 2 && !e->mail_refused;
}

int smtpc_engine_body_ended(const smtpc_engine *e)
{
    return e ? e->body_ended : 0;
}

size_t smtpc_engine_rcpt_accepted_count(const smtpc_engine *e)
{
    return e ? e->accepted : 0;
}

int smtpc_engine_message_status(const smtpc_engine *e)
{
    return e ? e->message_status : SMTPC_MESSAGE_NOT_SENT;
}
