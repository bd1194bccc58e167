/* Many messages on one connection. With PIPELINING the next message's
 * envelope goes out behind the previous end of data
 * (smtpc_engine_begin_next_mail); each verdict comes once, through the
 * engine's mail-done callback, for messages that reached the server, or
 * from here for those that never did. */
#include <string.h>

#include "alloc.h"
#include "client_internal.h"
#include "fmt.h"
#include "smtpc/message.h"


/* A message taken and not yet reported. Two at most: the one whose verdict
 * is awaited and the next. */
typedef struct slot {
    int used, begun;
    size_t index;
    uint32_t seq;
    smtpc_batch_item item;
    smtpc_batch_item *out; /* the caller's item (array form) */
    const char *from;
    const char *const *rcpts;
    size_t n_rcpts;
    int64_t size;
    int flags;
    const char **table; /* envelope from the headers */
    size_t table_bytes;
    smtpc_client_pull_state mr;
    int restore; /* the message's flags before BINARYMIME was added, or -1 */
    smtpc_client_dsn dt; /* the message's DSN request, for the engine */
    /* Refused before reaching the server while the message before awaits
     * its verdict: reported after it, to keep the order. */
    int failed;
    smtpc_error fail_err;
} slot;

typedef struct batch {
    smtpc_client *c;
    smtpc_batch_item *items;
    size_t n;
    smtpc_batch_next_fn next;
    smtpc_batch_done_fn done;
    void *user;
    size_t taken;
    int exhausted;
    slot slots[2];
    /* Scratch kept here, with the batch on the heap, so that no frame
     * holds an error record (792 B): the items left when the session
     * ends, and a refusal's record while its slot is reported. */
    slot rest;
    smtpc_error err;
} batch;

static void report(batch *b, slot *s, int result, int status, const smtpc_engine *e,
                   const smtpc_error *err)
{
    if (s->out) {
        s->out->result = result;
        s->out->status = status;
    }
    if (s->item.msg && s->restore >= 0)
        smtpc_message_set_flags(s->item.msg, s->restore);
    if (b->done)
        b->done(b->user, s->index, result, status, e, err);
    smtpc_free(&b->c->alloc, (void *)s->table, s->table_bytes);
    smtpc_client_free_dsn(b->c, &s->dt);
    memset(s, 0, sizeof *s);
}

static void on_mail_done(void *user, const smtpc_engine *e, uint32_t seq, int result,
                         const smtpc_error *err)
{
    batch *b = user;
    for (int i = 0; i < 2; i++) {
        slot *s = &b->slots[i];
        if (s->used && s->begun && s->seq == seq) {
            report(b, s, result, smtpc_engine_message_status(e), e, err);
            return;
        }
    }
}

/* A message that never reached the server: reported now, or after the one
 * in flight (then it is returned to wait in its slot). */
static slot *refused(batch *b, slot *s, int rc)
{
    for (int i = 0; i < 2; i++) {
        slot *o = &b->slots[i];
        if (o != s && o->used && o->begun) {
            s->failed = rc;
            smtpc_error_copy(&s->fail_err, &b->c->err);
            return s;
        }
    }
    report(b, s, rc, SMTPC_MESSAGE_NOT_SENT, NULL, &b->c->err);
    return NULL;
}

static void report_refused(batch *b, slot *s)
{
    smtpc_error_copy(&b->err, &s->fail_err);
    report(b, s, s->failed, SMTPC_MESSAGE_NOT_SENT, NULL, &b->err);
}

static slot *free_slot(batch *b)
{
    for (int i = 0; i < 2; i++)
        if (!b->slots[i].used)
            return &b->slots[i];
    return NULL;
}

static slot *current(batch *b)
{
    uint32_t seq = smtpc_engine_mail_seq(b->c->engine);
    for (int i = 0; i < 2; i++)
        if (b->slots[i].used && b->slots[i].begun && b->slots[i].seq == seq)
            return &b->slots[i];
    return NULL;
}

static int take(batch *b, slot *s)
{
    memset(s, 0, sizeof *s);
    s->restore = -1;
    if (b->items) {
        if (b->taken >= b->n)
            return 0;
        s->out = &b->items[b->taken];
        s->item = *s->out;
    } else {
        if (b->exhausted)
            return 0;
        if (!b->next(b->user, b->taken, &s->item)) {
            b->exhausted = 1;
            return 0;
        }
    }
    s->index = b->taken++;
    s->used = 1;
    return 1;
}

static int item_error(smtpc_client *c, int rc, const char *what)
{
    return smtpc_error_set(&c->err, rc, "batch message: %s", what);
}

static int prepare_message(smtpc_client *c, slot *s)
{
    smtpc_message *msg = s->item.msg;
    s->restore = smtpc_client_binary_flags(c, msg);
    int rc = smtpc_message_rewind(msg);
    /* Encodings for the server at hand (8BITMIME, SMTPUTF8), as for one
     * message (smtpc_client_send_message). */
    if (rc == 0 && c->connected)
        rc = smtpc_message_set_server_caps(msg, smtpc_engine_capabilities(c->engine));
    int flags = rc ? rc : smtpc_message_mail_flags(msg);
    if (rc || flags < 0)
        return item_error(c, rc ? rc : flags, smtpc_error_message(smtpc_message_error(msg)));
    rc = smtpc_message_size(msg, &s->size);
    if (rc == SMTPC_ESIZEUNKNOWN)
        s->size = -1;
    else if (rc)
        return item_error(c, rc, smtpc_error_message(smtpc_message_error(msg)));
    s->flags = flags;
    s->from = s->item.from ? s->item.from : smtpc_message_from_address(msg);
    s->rcpts = s->item.rcpts;
    s->n_rcpts = s->item.n_rcpts;
    if (s->n_rcpts == 0) {
        rc = smtpc_client_envelope_of(c, msg, &s->table, &s->n_rcpts, &s->table_bytes);
        if (rc)
            return rc;
        s->rcpts = s->table;
    }
    rc = smtpc_client_make_dsn(c, msg, s->rcpts, s->n_rcpts, &s->dt);
    if (rc)
        return rc;
    s->mr.msg = msg;
    return SMTPC_OK;
}

/* The envelope, size and flags of the message in s. */
static int prepare(smtpc_client *c, slot *s)
{
    smtpc_batch_item *it = &s->item;
    smtpc_error_clear(&c->err);
    if (it->n_rcpts && !it->rcpts)
        return item_error(c, SMTPC_EINVAL, "n_rcpts is not 0 but rcpts is NULL");
    if (it->msg)
        return prepare_message(c, s);
    if (!it->body && it->body_len)
        return item_error(c, SMTPC_EINVAL, "body is NULL but body_len is not 0");
    int eight_bit = 0;
    smtpc_client_measure_body(it->body, it->body_len, &s->size, &eight_bit);
    s->flags = eight_bit ? SMTPC_MAIL_8BITMIME : 0;
    s->from = it->from;
    s->rcpts = it->rcpts;
    s->n_rcpts = it->n_rcpts;
    return SMTPC_OK;
}

/* The next message ready to begin; those that fail before reaching the
 * server are reported on the way, or returned marked failed when a verdict
 * before them is still awaited. NULL when there are no more. */
static slot *next_ready(batch *b)
{
    slot *s = free_slot(b);
    while (s && b->c->connected && take(b, s)) {
        int rc = prepare(b->c, s);
        if (rc == 0 || refused(b, s, rc))
            return s;
    }
    return NULL;
}

/* Begin s, chained behind the body just ended or on its own. A failure
 * (the message never reached the server) is reported, or left in s for
 * after the verdict awaited (then *deferred is set). */
static int begin(batch *b, slot *s, int chained, int *deferred)
{
    smtpc_client *c = b->c;
    int rc;
    if (chained) {
        rc = smtpc_engine_begin_next_mail(c->engine, s->from, s->rcpts, s->n_rcpts, s->size,
                                          s->flags, s->dt.notify ? &s->dt.dsn : NULL);
        if (rc)
            smtpc_error_copy(&c->err, smtpc_engine_error(c->engine));
    } else {
        c->msg_clock = 0; /* the last message's deadline is over */
        c->dsn = s->dt.notify ? &s->dt.dsn : NULL;
        rc = smtpc_client_begin_send(c, s->from, s->rcpts, s->n_rcpts, s->size, s->flags);
        c->dsn = NULL;
    }
    if (rc == 0) {
        s->begun = 1;
        s->seq = smtpc_engine_mail_seq(c->engine);
        return SMTPC_OK;
    }
    *deferred = refused(b, s, rc) != NULL;
    return rc;
}

/* The body of the message the engine asks for, not ended. */
static int send_body(batch *b)
{
    smtpc_client *c = b->c;
    slot *s = current(b);
    if (!s) /* cannot happen: every transaction begun is in a slot */
        return SMTPC_WANT_BODY;
    if (!s->item.msg)
        return smtpc_client_push_body(c, s->item.body, s->item.body_len);
    smtpc_client_start_message_clock(c);
    return smtpc_client_stream_body(c, smtpc_client_pull, &s->mr);
}

/* After a body ended: chain the next message behind its "." when the server
 * pipelines; else it waits for the verdict. */
static slot *chain_next(batch *b)
{
    smtpc_client *c = b->c;
    slot *s;
    while ((s = next_ready(b)) != NULL) {
        if (s->failed)
            return s;
        if (!smtpc_engine_mail_chainable(c->engine))
            smtpc_client_flush(c); /* room behind the "." */
        if (!c->connected || !smtpc_engine_mail_chainable(c->engine))
            return s;
        int deferred = 0;
        if (begin(b, s, 1, &deferred) == 0 || !c->connected)
            return NULL;
        if (deferred)
            return s;
    }
    return NULL;
}

static int run(batch *b)
{
    smtpc_client *c = b->c;
    smtpc_engine *e = c->engine;
    if (!c->connected) /* the reason, sticky or "not connected" */
        return smtpc_client_begin_send(c, "", NULL, 0, -1, 0);
    int rc = smtpc_engine_set_mail_done(e, on_mail_done, b);
    if (rc) {
        smtpc_error_copy(&c->err, smtpc_engine_error(e));
        return rc;
    }
    slot *waiting = NULL;
    int want = SMTPC_WANT_IDLE;
    while (c->connected) {
        if (want == SMTPC_WANT_IDLE) {
            slot *s = waiting ? waiting : next_ready(b);
            waiting = NULL;
            if (!s)
                break;
            int deferred = 0;
            if (s->failed)
                report_refused(b, s);
            else if (begin(b, s, 0, &deferred) == 0)
                want = smtpc_client_pump(c);
        } else if (want == SMTPC_WANT_BODY) {
            want = send_body(b);
            if (want != SMTPC_WANT_BODY)
                continue;
            smtpc_engine_body_end(e);
            waiting = chain_next(b);
            want = smtpc_client_pump(c);
        } else {
            break;
        }
    }
    c->msg_clock = 0;
    smtpc_engine_set_mail_done(e, NULL, NULL);
    if (c->connected)
        return SMTPC_OK;
    /* The session ended: every message begun has been reported by the
     * engine; the rest never reached the server. */
    rc = smtpc_client_end_op(c, SMTPC_WANT_CLOSE);
    if (rc == 0)
        rc = SMTPC_ECLOSED;
    /* Those never sent did not meet an unknown outcome (that is the
     * message in flight's): for them the session closed. */
    int unsent = rc == SMTPC_EUNKNOWN ? SMTPC_ECLOSED : rc;
    if (waiting && waiting->failed) {
        report_refused(b, waiting);
        waiting = NULL;
    }
    smtpc_error_copy(&b->err, &c->err);
    if (unsent != rc)
        smtpc_error_set(&b->err, unsent, "not sent: the session ended first (%.160s)",
                        smtpc_error_message(&c->err));
    if (waiting)
        report(b, waiting, unsent, SMTPC_MESSAGE_NOT_SENT, NULL, &b->err);
    while (b->items && take(b, &b->rest))
        report(b, &b->rest, unsent, SMTPC_MESSAGE_NOT_SENT, NULL, &b->err);
    return rc;
}

/* The batch's state lives on the heap for the call (see batch.rest). */
static int run_batch(smtpc_client *c, smtpc_batch_item *items, size_t n, smtpc_batch_next_fn next,
                     smtpc_batch_done_fn done, void *user)
{
    batch *b = smtpc_alloc(&c->alloc, sizeof *b);
    if (!b)
        return smtpc_error_set(&c->err, SMTPC_ENOMEM, "out of memory for the batch's state");
    memset(b, 0, sizeof *b);
    b->c = c;
    b->items = items;
    b->n = n;
    b->next = next;
    b->done = done;
    b->user = user;
    int rc = run(b);
    smtpc_free(&c->alloc, b, sizeof *b);
    return rc;
}

int smtpc_client_send_batch(smtpc_client *c, smtpc_batch_item *items, size_t n,
                            smtpc_batch_done_fn done, void *user)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_enter(c, "smtpc_client_send_batch");
    if (rc)
        return rc;
    char num[SMTPC_FMT_INT_MAX];
    if (!items && n)
        return smtpc_client_leave(
            c,
            smtpc_error_set(&c->err, SMTPC_EINVAL,
                            "smtpc_client_send_batch: items is NULL with n %s",
                            smtpc_fmt_size(num, n)),
            0);
    return smtpc_client_leave(c, run_batch(c, items, n, NULL, done, user), 0);
}

int smtpc_client_send_each(smtpc_client *c, smtpc_batch_next_fn next, smtpc_batch_done_fn done,
                           void *user)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_enter(c, "smtpc_client_send_each");
    if (rc)
        return rc;
    if (!next || !done)
        return smtpc_client_leave(
            c,
            smtpc_error_set(&c->err, SMTPC_EINVAL, "smtpc_client_send_each: %s is NULL",
                            !next ? "next" : "done"),
            0);
    return smtpc_client_leave(c, run_batch(c, NULL, 0, next, done, user), 0);
}
