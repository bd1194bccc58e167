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
    /* Where the loop resumes (non-blocking mode: at the next step). */
    int want;       /* the engine's want last seen */
    int pump;       /* the engine must run before want means anything */
    int body;       /* the body of the message in flight is being pushed */
    int chaining;   /* its end of data is out: the next message is taken */
    slot *chain;    /* ... this one, waiting for room behind the "." */
    slot *waiting;  /* the next message, begun after the verdict */
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

/* The body of the message the engine asks for, not ended (resumable). */
static int send_body(batch *b)
{
    smtpc_client *c = b->c;
    if (!b->body) {
        slot *s = current(b);
        if (!s) /* cannot happen: every transaction begun is in a slot */
            return SMTPC_WANT_BODY;
        smtpc_client_start_message_clock(c);
        c->op.p = s->item.msg ? NULL : s->item.body;
        c->op.len = s->item.msg ? 0 : s->item.body_len;
        c->op.read = s->item.msg ? smtpc_client_pull : NULL;
        c->op.user = &s->mr;
        b->body = 1;
    }
    int want = smtpc_client_body(c);
    if (want != SMTPC_CLIENT_WAIT)
        b->body = 0;
    return want;
}

/* After a body ended: chain the next message behind its "." when the server
 * pipelines; else it waits for the verdict (b->waiting). Returns
 * SMTPC_CLIENT_WAIT while the output before it cannot go. */
static int chain_next(batch *b)
{
    smtpc_client *c = b->c;
    b->waiting = NULL;
    for (;;) {
        slot *s = b->chain;
        if (!s) {
            s = next_ready(b);
            if (!s)
                return 0;
            if (s->failed) {
                b->waiting = s;
                return 0;
            }
            b->chain = s;
        }
        if (!smtpc_engine_mail_chainable(c->engine) &&
            smtpc_client_flush(c) == SMTPC_CLIENT_WAIT) /* room behind the "." */
            return SMTPC_CLIENT_WAIT;
        b->chain = NULL;
        if (!c->connected || !smtpc_engine_mail_chainable(c->engine)) {
            b->waiting = s;
            return 0;
        }
        int deferred = 0;
        if (begin(b, s, 1, &deferred) == 0 || !c->connected)
            return 0;
        if (deferred) {
            b->waiting = s;
            return 0;
        }
    }
}

/* The batch's result once the loop is over. */
static int finish(batch *b)
{
    smtpc_client *c = b->c;
    c->msg_clock = 0;
    smtpc_engine_set_mail_done(c->engine, NULL, NULL);
    if (c->connected)
        return SMTPC_OK;
    /* The session ended: every message begun has been reported by the
     * engine; the rest never reached the server. */
    int rc = smtpc_client_end_op(c, SMTPC_WANT_CLOSE);
    if (rc == 0)
        rc = SMTPC_ECLOSED;
    /* Those never sent did not meet an unknown outcome (that is the
     * message in flight's): for them the session closed. */
    int unsent = rc == SMTPC_EUNKNOWN ? SMTPC_ECLOSED : rc;
    slot *waiting = b->waiting;
    b->waiting = NULL;
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

int smtpc_client_batch_drive(smtpc_client *c)
{
    batch *b = c->op.batch;
    while (c->connected) {
        if (b->chaining) {
            if (chain_next(b) == SMTPC_CLIENT_WAIT)
                return SMTPC_INPROGRESS;
            b->chaining = 0;
            b->pump = 1;
        }
        if (b->pump) {
            int want = smtpc_client_pump(c);
            if (want == SMTPC_CLIENT_WAIT)
                return SMTPC_INPROGRESS;
            b->want = want;
            b->pump = 0;
            continue;
        }
        if (b->want == SMTPC_WANT_IDLE) {
            slot *s = b->waiting ? b->waiting : next_ready(b);
            b->waiting = NULL;
            if (!s)
                break;
            int deferred = 0;
            if (s->failed)
                report_refused(b, s);
            else if (begin(b, s, 0, &deferred) == 0)
                b->pump = 1;
        } else if (b->want == SMTPC_WANT_BODY) {
            int want = send_body(b);
            if (want == SMTPC_CLIENT_WAIT)
                return SMTPC_INPROGRESS;
            b->want = want;
            if (want != SMTPC_WANT_BODY)
                continue;
            smtpc_engine_body_end(c->engine);
            b->chaining = 1;
        } else {
            break;
        }
    }
    return finish(b);
}

static void release_slot(smtpc_client *c, slot *s)
{
    if (s->item.msg && s->restore >= 0)
        smtpc_message_set_flags(s->item.msg, s->restore);
    smtpc_free(&c->alloc, (void *)s->table, s->table_bytes);
    smtpc_client_free_dsn(c, &s->dt);
    memset(s, 0, sizeof *s);
}

void smtpc_client_batch_free(smtpc_client *c)
{
    batch *b = c->op.batch;
    if (!b)
        return;
    /* Messages still held when the batch is dropped unfinished (the client
     * freed in non-blocking mode): their memory, never a verdict. */
    for (int i = 0; i < 2; i++)
        if (b->slots[i].used)
            release_slot(c, &b->slots[i]);
    if (b->rest.used)
        release_slot(c, &b->rest);
    smtpc_engine_set_mail_done(c->engine, NULL, NULL);
    smtpc_free(&c->alloc, b, sizeof *b);
    c->op.batch = NULL;
}

/* The batch's state lives on the heap until its result (see batch.rest). */
static int run_batch(smtpc_client *c, smtpc_batch_item *items, size_t n, smtpc_batch_next_fn next,
                     smtpc_batch_done_fn done, void *user)
{
    batch *b = smtpc_alloc(&c->alloc, sizeof *b);
    if (!b)
        return smtpc_client_leave(
            c, smtpc_error_set(&c->err, SMTPC_ENOMEM, "out of memory for the batch's state"),
            0);
    memset(b, 0, sizeof *b);
    b->c = c;
    b->items = items;
    b->n = n;
    b->next = next;
    b->done = done;
    b->user = user;
    b->want = SMTPC_WANT_IDLE;
    c->op.batch = b;
    c->op.release = smtpc_client_batch_free;
    int rc = c->connected ? smtpc_engine_set_mail_done(c->engine, on_mail_done, b) : 0;
    if (!c->connected) /* the reason, sticky or "not connected" */
        rc = smtpc_client_begin_send(c, "", NULL, 0, -1, 0);
    else if (rc)
        smtpc_error_copy(&c->err, smtpc_engine_error(c->engine));
    if (rc) {
        smtpc_client_op_clear(c);
        return smtpc_client_leave(c, rc, 0);
    }
    c->op.kind = CLIENT_OP_BATCH;
    c->op.drive = smtpc_client_batch_drive;
    c->rd_waiting = c->wr_waiting = 0;
    return smtpc_client_run(c);
}

int smtpc_client_send_batch(smtpc_client *c, smtpc_batch_item *items, size_t n,
                            smtpc_batch_done_fn done, void *user)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, "smtpc_client_send_batch");
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
    return run_batch(c, items, n, NULL, done, user);
}

int smtpc_client_send_each(smtpc_client *c, smtpc_batch_next_fn next, smtpc_batch_done_fn done,
                           void *user)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, "smtpc_client_send_each");
    if (rc)
        return rc;
    if (!next || !done)
        return smtpc_client_leave(
            c,
            smtpc_error_set(&c->err, SMTPC_EINVAL, "smtpc_client_send_each: %s is NULL",
                            !next ? "next" : "done"),
            0);
    return run_batch(c, NULL, 0, next, done, user);
}
