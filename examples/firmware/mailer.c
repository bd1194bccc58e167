/* See mailer.h. Only <smtpc.h> and the board: no OS, no malloc. */
#include "mailer.h"

#include "board.h"

enum { STAGE_SESSION, STAGE_MAIL, STAGE_QUIT, STAGE_DONE };

static void *arena_alloc(void *user, size_t size)
{
    arena *a = user;
    size = (size + 7) & ~(size_t)7;
    if (size > a->cap - a->used)
        return NULL; /* the library reports SMTPC_ENOMEM */
    void *p = a->mem + a->used;
    a->used += size;
    if (a->used > a->peak)
        a->peak = a->used;
    return p;
}

static void arena_free(void *user, void *ptr, size_t size)
{
    arena *a = user;
    size = (size + 7) & ~(size_t)7;
    if ((unsigned char *)ptr + size == a->mem + a->used)
        a->used -= size;
}

void arena_init(arena *a, void *mem, size_t cap)
{
    a->mem = mem;
    a->cap = cap;
    a->used = a->peak = 0;
}

smtpc_allocator arena_allocator(arena *a)
{
    smtpc_allocator al = {arena_alloc, arena_free, a};
    return al;
}

int mailer_start(mailer *m, const smtpc_allocator *alloc, const char *ehlo,
                 smtpc_message *msg)
{
    *m = (mailer){.msg = msg};
    m->n_rcpts = smtpc_message_envelope_rcpts(msg, m->rcpts, 4);
    if (m->n_rcpts == 0 || m->n_rcpts > 4 || !smtpc_message_from_address(msg))
        return SMTPC_EINVAL;
    /* The smallest buffers the engine takes: 1 KiB out, 512-byte lines. */
    int rc = smtpc_engine_new(alloc, ehlo, 1024, 512, &m->e);
    if (rc == SMTPC_OK)
        rc = smtpc_engine_set_security(m->e, SMTPC_SECURITY_PLAIN);
    if (rc == SMTPC_OK)
        rc = smtpc_engine_begin_session(m->e);
    return rc;
}

/* The next step of the job once the engine is idle. */
static int next_stage(mailer *m)
{
    int rc = smtpc_engine_result(m->e);
    if (rc != SMTPC_OK && !m->result)
        m->result = rc;
    if (m->stage == STAGE_SESSION && rc == SMTPC_OK) {
        int64_t size;
        int flags = smtpc_message_mail_flags(m->msg);
        rc = flags < 0 ? flags : smtpc_message_size(m->msg, &size);
        if (rc == SMTPC_OK)
            rc = smtpc_engine_begin_mail(m->e, smtpc_message_from_address(m->msg), m->rcpts,
                                         m->n_rcpts, size, flags);
        if (rc == SMTPC_OK) {
            m->stage = STAGE_MAIL;
            return MAILER_BUSY;
        }
        m->result = rc;
    }
    if (m->stage != STAGE_QUIT && smtpc_engine_begin_quit(m->e) == SMTPC_OK) {
        m->stage = STAGE_QUIT;
        return MAILER_BUSY;
    }
    m->stage = STAGE_DONE;
    return m->result;
}

/* One body step: message bytes into the engine (it takes fewer when its
 * output buffer is full). */
static int body_step(mailer *m)
{
    if (m->chunk_off == m->chunk_len) {
        int rc = smtpc_message_read(m->msg, m->chunk, sizeof m->chunk, &m->chunk_len);
        m->chunk_off = 0;
        if (rc != SMTPC_OK)
            return smtpc_engine_abort(m->e, rc, smtpc_error_message(smtpc_message_error(m->msg)));
        if (m->chunk_len == 0)
            return smtpc_engine_body_end(m->e);
    }
    size_t took = 0;
    int rc = smtpc_engine_body_write(m->e, m->chunk + m->chunk_off, m->chunk_len - m->chunk_off,
                                     &took);
    m->chunk_off += took;
    return rc;
}

int mailer_poll(mailer *m)
{
    if (m->stage == STAGE_DONE)
        return m->result;
    for (;;) {
        int want = smtpc_engine_want(m->e);
        if (want != SMTPC_WANT_READ)
            m->reading = 0;
        switch (want) {
        case SMTPC_WANT_WRITE: {
            const uint8_t *p;
            size_t n;
            smtpc_engine_output(m->e, &p, &n);
            int sent = board_net_send(p, n);
            if (sent < 0)
                smtpc_engine_abort(m->e, SMTPC_ECLOSED, "connection lost while sending");
            else if (sent == 0)
                return MAILER_BUSY;
            else
                smtpc_engine_output_done(m->e, (size_t)sent);
            break;
        }
        case SMTPC_WANT_READ: {
            /* The timeout bounds the whole reply; it starts over with each
             * reply completed. */
            int limit = smtpc_engine_timeout_ms(m->e);
            if (!m->reading || m->replies != smtpc_engine_reply_count(m->e)) {
                m->reading = 1;
                m->replies = smtpc_engine_reply_count(m->e);
                m->deadline = board_millis() + (uint32_t)limit;
            }
            uint8_t in[64];
            int got = board_net_recv(in, sizeof in);
            if (got < 0) {
                smtpc_engine_abort(m->e, SMTPC_ECLOSED, "the server closed the connection");
            } else if (got > 0) {
                smtpc_engine_feed(m->e, in, (size_t)got);
            } else if (limit >= 0 && (int32_t)(board_millis() - m->deadline) >= 0) {
                smtpc_engine_abort(m->e, SMTPC_ETIMEDOUT, "no complete reply in time");
            } else {
                return MAILER_BUSY;
            }
            break;
        }
        case SMTPC_WANT_BODY:
            if (body_step(m) != SMTPC_OK && smtpc_engine_want(m->e) == SMTPC_WANT_BODY)
                return next_stage(m); /* a refused call leaves the engine as it was */
            break;
        case SMTPC_WANT_TLS:
            smtpc_engine_tls_done(m->e, 0, SMTPC_ENOTSUP, "no TLS on this device");
            break;
        default: { /* idle (the operation ended) or closed */
            int rc = next_stage(m);
            if (rc != MAILER_BUSY)
                return rc;
        }
        }
    }
}

const char *mailer_error(const mailer *m)
{
    const smtpc_error *err = m->e ? smtpc_engine_error(m->e) : NULL;
    if (err && smtpc_error_code(err))
        return smtpc_error_message(err);
    if (m->msg && smtpc_error_code(smtpc_message_error(m->msg)))
        return smtpc_error_message(smtpc_message_error(m->msg));
    return smtpc_strerror(m->result);
}

void mailer_free(mailer *m)
{
    smtpc_engine_free(m->e);
    m->e = NULL;
}
