/* Sending a built message through the blocking client. */
#include <string.h>

#include "alloc.h"
#include "client_internal.h"
#include "smtpc/message.h"

int smtpc_client_pull(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    smtpc_client_pull_state *ps = user;
    int rc = smtpc_message_read(ps->msg, buf, cap, len);
    if (rc)
        ps->err = rc;
    return rc != 0;
}

static int seen(const char *const *list, size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], addr) == 0)
            return 1;
    return 0;
}

/* The message's own failure becomes the client's error record, so callers
 * need look in one place only. */
static int message_error(smtpc_client *c, const smtpc_message *msg, int rc)
{
    smtpc_error_set(&c->err, rc, "message: %s", smtpc_error_message(smtpc_message_error(msg)));
    return rc;
}

static int start_message(smtpc_client *c, smtpc_message *msg, const char *envelope_from,
                         const char *const *rcpts, size_t n_rcpts);

int smtpc_client_binary_flags(smtpc_client *c, smtpc_message *msg)
{
    /* -Dchunking=false: the engine never sees CHUNKING offered. */
    if (!SMTPC_HAVE_CHUNKING)
        return -1;
    int caps = smtpc_engine_capabilities(c->engine);
    int flags = smtpc_message_flags(msg);
    if (c->no_binarymime || c->no_chunking ||
        (flags & SMTPC_MESSAGE_BINARYMIME) ||
        (caps & (SMTPC_CAP_CHUNKING | SMTPC_CAP_BINARYMIME)) !=
            (SMTPC_CAP_CHUNKING | SMTPC_CAP_BINARYMIME))
        return -1;
    return smtpc_message_set_flags(msg, flags | SMTPC_MESSAGE_BINARYMIME) == 0 ? flags : -1;
}

/* Envelope from the headers: one table, sized by the recipient count. */
int smtpc_client_envelope_of(smtpc_client *c, smtpc_message *msg, const char ***table,
                             size_t *n, size_t *bytes)
{
    size_t total = smtpc_message_envelope_rcpts(msg, NULL, 0), n_table = 0;
    if (total == 0)
        return smtpc_error_set(&c->err, SMTPC_ENORECIPIENTS,
                               "no recipients given and none in To, Cc or Bcc");
    const char **t = smtpc_alloc(&c->alloc, total * sizeof *t);
    if (!t)
        return smtpc_error_set(&c->err, SMTPC_ENOMEM, NULL);
    smtpc_message_envelope_rcpts(msg, t, total);
    /* Each address once, first place kept. */
    for (size_t i = 0; i < total; i++)
        if (!seen(t, n_table, t[i]))
            t[n_table++] = t[i];
    *table = t;
    *n = n_table;
    *bytes = total * sizeof *t;
    return SMTPC_OK;
}

int smtpc_client_make_dsn(smtpc_client *c, const smtpc_message *msg, const char *const *rcpts,
                          size_t n, smtpc_client_dsn *dt)
{
    /* -Ddsn=false: no message holds a request (smtpc_message_set_dsn). */
    if (!SMTPC_HAVE_DSN || !smtpc_message_dsn(msg, &dt->dsn.ret, &dt->dsn.envid))
        return 0;
    dt->notify = smtpc_alloc(&c->alloc, n * sizeof *dt->notify);
    dt->orcpt = smtpc_alloc(&c->alloc, n * sizeof *dt->orcpt);
    dt->n = n;
    if (!dt->notify || !dt->orcpt) {
        smtpc_free(&c->alloc, dt->notify, n * sizeof *dt->notify);
        smtpc_free(&c->alloc, (void *)dt->orcpt, n * sizeof *dt->orcpt);
        dt->notify = NULL;
        dt->orcpt = NULL;
        return smtpc_error_set(&c->err, SMTPC_ENOMEM, "no memory for the DSN request");
    }
    for (size_t i = 0; i < n; i++)
        smtpc_message_rcpt_dsn(msg, rcpts[i], &dt->notify[i], &dt->orcpt[i]);
    dt->dsn.notify = dt->notify;
    dt->dsn.orcpt = dt->orcpt;
    return 0;
}

void smtpc_client_free_dsn(smtpc_client *c, smtpc_client_dsn *dt)
{
    /* -Ddsn=false: smtpc_client_make_dsn never allocates. */
    if (!SMTPC_HAVE_DSN || !dt->notify)
        return;
    smtpc_free(&c->alloc, dt->notify, dt->n * sizeof *dt->notify);
    smtpc_free(&c->alloc, (void *)dt->orcpt, dt->n * sizeof *dt->orcpt);
    dt->notify = NULL;
    dt->orcpt = NULL;
}

/* The message's callbacks (sources, rewinds) run inside this call (and
 * the steps that continue it): they are the client's callbacks too (see
 * smtpc_client_enter). */
int smtpc_client_send_message(smtpc_client *c, smtpc_message *msg, const char *envelope_from,
                              const char *const *rcpts, size_t n_rcpts)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, "smtpc_client_send_message");
    if (rc)
        return rc;
    rc = start_message(c, msg, envelope_from, rcpts, n_rcpts);
    if (rc) {
        smtpc_client_op_clear(c);
        return smtpc_client_leave(c, rc, 1);
    }
    return smtpc_client_send_op(c, NULL, 0, smtpc_client_pull, &c->op.ps);
}

/* Everything up to MAIL begun; what it makes is kept in c->op. */
static int start_message(smtpc_client *c, smtpc_message *msg, const char *envelope_from,
                         const char *const *rcpts, size_t n_rcpts)
{
    if (!msg || (n_rcpts && !rcpts))
        return smtpc_error_set(&c->err, SMTPC_EINVAL, "smtpc_client_send_message: %s",
                               msg ? "n_rcpts is not 0 but rcpts is NULL" : "no message");
    smtpc_error_clear(&c->err);
    smtpc_client_op *op = &c->op;
    op->end = smtpc_client_message_end;
    op->release = smtpc_client_message_release;
    op->msg = msg;
    op->restore = smtpc_client_binary_flags(c, msg);
    int rc = smtpc_message_rewind(msg);
    /* Encodings for the server at hand (8BITMIME, SMTPUTF8), decided now
     * that its capabilities are known. */
    if (!rc && c->connected)
        rc = smtpc_message_set_server_caps(msg, smtpc_engine_capabilities(c->engine));
    int flags = rc ? rc : smtpc_message_mail_flags(msg);
    int64_t size = -1;
    if (flags < 0)
        rc = flags;
    else if ((rc = smtpc_message_size(msg, &size)) == SMTPC_ESIZEUNKNOWN)
        rc = 0; /* size stays -1 */
    if (rc)
        return message_error(c, msg, rc);
    if (!envelope_from)
        envelope_from = smtpc_message_from_address(msg);
    if (n_rcpts == 0) {
        rc = smtpc_client_envelope_of(c, msg, &op->table, &n_rcpts, &op->table_bytes);
        if (rc)
            return rc;
        rcpts = op->table;
    }
    rc = smtpc_client_make_dsn(c, msg, rcpts, n_rcpts, &op->dt);
    if (rc)
        return rc;
    op->ps.msg = msg;
    op->ps.err = 0;
    /* -Ddsn=false: there is never a request to pass. */
    if (SMTPC_HAVE_DSN && op->dt.notify)
        c->dsn = &op->dt.dsn;
    rc = smtpc_client_begin_send(c, envelope_from, rcpts, n_rcpts, size, flags);
    c->dsn = NULL;
    return rc;
}

int smtpc_client_message_end(smtpc_client *c, int rc)
{
    smtpc_message *msg = c->op.msg;
    if (rc == SMTPC_ESOURCE && c->op.ps.err) {
        /* The specific cause (unreadable file, failing callback, ...), with
         * what the client did about it. */
        char what[SMTPC_ERRMSG_MAX];
        /* -Dmessages=short: no text is made, so none is kept */
        if (!SMTPC_SHORT_MESSAGES)
            smtpc_copy_text(what, sizeof what, smtpc_error_message(&c->err));
        rc = c->op.ps.err;
        smtpc_error_set(&c->err, rc, "%.120s (%.120s)", smtpc_error_message(smtpc_message_error(msg)), what);
    }
    smtpc_client_message_release(c);
    return rc;
}

void smtpc_client_message_release(smtpc_client *c)
{
    smtpc_client_op *op = &c->op;
    if (!op->msg)
        return;
    if (op->restore >= 0)
        smtpc_message_set_flags(op->msg, op->restore);
    smtpc_client_free_dsn(c, &op->dt);
    smtpc_free(&c->alloc, (void *)op->table, op->table_bytes);
    op->table = NULL;
    op->table_bytes = 0;
    op->msg = NULL;
}
