/* The blocking client: moves bytes between the engine and a transport, with
 * every wait bounded by the engine's timeout for the stage. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "client_internal.h"
#include "engine_internal.h"
#include "smtpc/tls.h"
#include "transport_internal.h"

/* Engine output buffer: room for long SASL tokens and big body chunks. */
#define CLIENT_OUT_CAP 16384
#define CLIENT_LINE_MAX 2048
#define CLIENT_IO_CAP 4096

smtpc_client *smtpc_client_new(const smtpc_allocator *alloc)
{
    smtpc_allocator a;
    smtpc_allocator_init(&a, alloc);
    smtpc_client *c = smtpc_alloc(&a, sizeof *c);
    if (!c)
        return NULL;
    c->alloc = a;
    c->io = smtpc_alloc(&a, CLIENT_IO_CAP);
    if (!c->io ||
        smtpc_engine_new(&a, NULL, CLIENT_OUT_CAP, CLIENT_LINE_MAX, &c->engine) != SMTPC_OK) {
        smtpc_client_free(c);
        return NULL;
    }
    c->security = SMTPC_SECURITY_STARTTLS;
    smtpc_error_clear(&c->err);
    return c;
}

static void disconnect(smtpc_client *c)
{
    smtpc_transport_free(c->transport);
    c->transport = NULL;
    c->connected = 0;
}

void smtpc_client_free(smtpc_client *c)
{
    if (!c)
        return;
    smtpc_allocator a = c->alloc;
    disconnect(c);
    smtpc_transport_free(c->next_transport);
    smtpc_engine_free(c->engine);
    smtpc_tls_config_free(c->own_tls);
    smtpc_strfree(&a, c->host);
    smtpc_strfree(&a, c->port);
    smtpc_free(&a, c->io, CLIENT_IO_CAP);
    smtpc_zeroize(c, sizeof *c);
    smtpc_free(&a, c, sizeof *c);
}

static int set_error(smtpc_client *c, int code, const char *message)
{
    smtpc_error_set(&c->err, code, "%s", message ? message : smtpc_strerror(code));
    return code;
}

/* Take the engine's error record as the client's. */
static int engine_error(smtpc_client *c, int rc)
{
    const smtpc_error *err = smtpc_engine_error(c->engine);
    if (err->code)
        smtpc_error_copy(&c->err, err);
    else
        smtpc_error_set(&c->err, rc, NULL);
    return rc;
}

static int settable(smtpc_client *c)
{
    return c && !c->connected;
}

int smtpc_client_set_server(smtpc_client *c, const char *host, const char *port)
{
    if (!c || !host || !host[0])
        return SMTPC_EINVAL;
    if (!settable(c))
        return SMTPC_ESTATE;
    char why[SMTPC_TRANSPORT_ERRMSG_MAX];
    if (port && smtpc_port_check(port, why, sizeof why) != SMTPC_OK)
        return set_error(c, SMTPC_EINVAL, why);
    char *h = smtpc_strdup(&c->alloc, host);
    char *p = port ? smtpc_strdup(&c->alloc, port) : NULL;
    if (!h || (port && !p)) {
        smtpc_strfree(&c->alloc, h);
        smtpc_strfree(&c->alloc, p);
        return SMTPC_ENOMEM;
    }
    smtpc_strfree(&c->alloc, c->host);
    smtpc_strfree(&c->alloc, c->port);
    c->host = h;
    c->port = p;
    return SMTPC_OK;
}

int smtpc_client_set_timeout(smtpc_client *c, int stage, int ms)
{
    if (!c)
        return SMTPC_EINVAL;
    return smtpc_engine_set_timeout(c->engine, stage, ms);
}

int smtpc_client_set_ehlo_name(smtpc_client *c, const char *name)
{
    if (!c)
        return SMTPC_EINVAL;
    if (!settable(c))
        return SMTPC_ESTATE;
    smtpc_engine_reset(c->engine);
    return smtpc_engine_set_ehlo_name(c->engine, name);
}

int smtpc_client_set_security(smtpc_client *c, int level)
{
    if (!c || level < SMTPC_SECURITY_STARTTLS || level > SMTPC_SECURITY_PLAIN)
        return SMTPC_EINVAL;
    if (!settable(c))
        return SMTPC_ESTATE;
    c->security = level;
    return SMTPC_OK;
}

int smtpc_client_set_trace(smtpc_client *c, smtpc_trace_fn fn, void *user)
{
    if (!c)
        return SMTPC_EINVAL;
    c->trace = fn;
    c->trace_user = user;
    return smtpc_engine_set_trace(c->engine, fn, user);
}

int smtpc_client_set_transport(smtpc_client *c, smtpc_transport *t)
{
    if (!c) {
        smtpc_transport_free(t);
        return SMTPC_EINVAL;
    }
    if (!t)
        return SMTPC_EINVAL;
    if (!settable(c)) {
        smtpc_transport_free(t);
        return SMTPC_ESTATE;
    }
    smtpc_transport_free(c->next_transport);
    c->next_transport = t;
    return SMTPC_OK;
}

int smtpc_client_set_tls_config(smtpc_client *c, const smtpc_tls_config *cfg)
{
    if (!c)
        return SMTPC_EINVAL;
    if (!settable(c))
        return SMTPC_ESTATE;
    c->tls = cfg;
    return SMTPC_OK;
}

/* --- AUTH settings: kept by the engine --- */

int smtpc_client_set_credentials(smtpc_client *c, const char *user, const char *password)
{
    if (!c)
        return SMTPC_EINVAL;
    return settable(c) ? smtpc_engine_set_credentials(c->engine, user, password)
                       : SMTPC_ESTATE;
}

int smtpc_client_set_oauth_token(smtpc_client *c, const char *user, const char *token)
{
    if (!c)
        return SMTPC_EINVAL;
    return settable(c) ? smtpc_engine_set_oauth_token(c->engine, user, token) : SMTPC_ESTATE;
}

int smtpc_client_set_auth_mechanisms(smtpc_client *c, int mask)
{
    return c ? smtpc_engine_set_auth_mechanisms(c->engine, mask) : SMTPC_EINVAL;
}

int smtpc_client_allow_plaintext_auth(smtpc_client *c, int allow)
{
    return c ? smtpc_engine_allow_plaintext_auth(c->engine, allow) : SMTPC_EINVAL;
}

const char *smtpc_client_auth_mechanism(const smtpc_client *c)
{
    return c ? smtpc_engine_auth_mechanism(c->engine) : "";
}

/* --- moving bytes --- */

static void trace_info(smtpc_client *c, const char *text)
{
    if (c->trace)
        c->trace(c->trace_user, SMTPC_TRACE_INFO, text, strlen(text));
}

static int start_tls(smtpc_client *c)
{
    if (!c->tls && !c->own_tls) {
        int rc = smtpc_tls_config_new(&c->alloc, &c->own_tls);
        if (rc)
            return set_error(c, rc, "could not create the default TLS configuration");
    }
    const smtpc_tls_config *cfg = c->tls ? c->tls : c->own_tls;
    if (smtpc_tls_config_verify_mode(cfg) == SMTPC_TLS_VERIFY_NONE)
        trace_info(c, "WARNING: certificate verification is turned off");
    char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
    smtpc_transport *tls = NULL;
    smtpc_transport *inner = c->transport;
    c->transport = NULL; /* ownership passes to the TLS transport, even on failure */
    /* No host (a transport of the user's): the configuration's name or,
     * with verification on, a refusal; never a guessed name. */
    int rc = smtpc_transport_new_tls(&c->alloc, inner, cfg, c->host,
                                     smtpc_engine_timeout_ms(c->engine), &tls, msg, sizeof msg);
    if (rc) {
        smtpc_engine_tls_done(c->engine, 0, rc, msg);
        return rc;
    }
    c->transport = tls;
    if (c->trace && smtpc_transport_tls_info(tls, msg, sizeof msg) == 0)
        trace_info(c, msg);
    return smtpc_engine_tls_done(c->engine, 1, 0, NULL);
}

static int transport_failed(smtpc_client *c, int rc)
{
    const char *why = c->transport ? smtpc_transport_errmsg(c->transport) : "";
    char msg[SMTPC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s%s%s", smtpc_strerror(rc), why[0] ? ": " : "", why);
    return smtpc_engine_abort(c->engine, rc, msg);
}

#ifdef CLOCK_MONOTONIC
static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif

/* The stage timeout bounds the wait for a whole reply, not each read: a
 * server sending endless continuation lines, or a byte now and then, must
 * not hold the client longer than that. A reply is complete when the
 * engine's reply queue moves; the deadline then starts over. Returns the
 * timeout for the next read, or 0 after recording the timeout. */
static int reply_timeout(smtpc_client *c, int timeout, int *waiting, long long *deadline,
                         size_t *head)
{
#ifdef CLOCK_MONOTONIC
    smtpc_engine *e = c->engine;
    if (timeout < 0)
        return timeout;
    long long now = monotonic_ms();
    if (!*waiting || *head != e->pend_head) {
        *waiting = 1;
        *head = e->pend_head;
        *deadline = now + timeout;
    }
    if (now >= *deadline) {
        char msg[SMTPC_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s: no complete reply within %d ms",
                 smtpc_strerror(SMTPC_ETIMEDOUT), timeout);
        smtpc_engine_abort(e, SMTPC_ETIMEDOUT, msg);
        return 0;
    }
    return (int)(*deadline - now);
#else
    (void)c;
    (void)waiting;
    (void)deadline;
    (void)head;
    return timeout;
#endif
}

/* Run the engine until it is idle, wants body bytes, or the session ends.
 * Returns the want that stopped it. */
int smtpc_client_pump(smtpc_client *c)
{
    smtpc_engine *e = c->engine;
    int waiting = 0; /* reading one reply since deadline was set */
    long long deadline = 0;
    size_t head = 0;
    for (;;) {
        int want = smtpc_engine_want(e);
        int timeout = smtpc_engine_timeout_ms(e);
        if (want != SMTPC_WANT_READ)
            waiting = 0;
        if (want == SMTPC_WANT_WRITE) {
            const uint8_t *p;
            size_t n, sent = 0;
            smtpc_engine_output(e, &p, &n);
            int rc = smtpc_transport_send(c->transport, p, n, timeout, &sent);
            if (rc)
                transport_failed(c, rc);
            else
                smtpc_engine_output_done(e, sent);
        } else if (want == SMTPC_WANT_READ) {
            timeout = reply_timeout(c, timeout, &waiting, &deadline, &head);
            if (timeout == 0 && smtpc_engine_want(e) != SMTPC_WANT_READ)
                continue;
            size_t got = 0;
            int rc = smtpc_transport_recv(c->transport, c->io, CLIENT_IO_CAP, timeout, &got);
            if (rc)
                transport_failed(c, rc);
            else
                smtpc_engine_feed(e, c->io, got);
        } else if (want == SMTPC_WANT_TLS) {
            start_tls(c);
        } else {
            if (want == SMTPC_WANT_CLOSE)
                disconnect(c);
            return want;
        }
    }
}

static const char *default_port(int security)
{
    return security == SMTPC_SECURITY_IMPLICIT_TLS ? "465" : "587";
}

int smtpc_client_connect(smtpc_client *c)
{
    if (!c)
        return SMTPC_EINVAL;
    if (c->connected)
        return SMTPC_ESTATE;
    smtpc_error_clear(&c->err);
    smtpc_error_clear(&c->session_err);
    if (!c->next_transport && !c->host)
        return set_error(c, SMTPC_EINVAL, "no server set (smtpc_client_set_server)");
    smtpc_engine_reset(c->engine);
    smtpc_engine_set_security(c->engine, c->security);

    if (c->next_transport) {
        c->transport = c->next_transport;
        c->next_transport = NULL;
    } else {
        char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
        const char *port = c->port ? c->port : default_port(c->security);
        int rc = smtpc_transport_new_socket(&c->alloc, c->host, port,
                                            c->engine->timeouts[SMTPC_TIMEOUT_CONNECT],
                                            &c->transport, msg, sizeof msg);
        if (rc)
            return set_error(c, rc, msg);
    }
    c->connected = 1;
    int rc = smtpc_engine_begin_session(c->engine);
    if (rc) {
        disconnect(c);
        return engine_error(c, rc);
    }
    int want = smtpc_client_pump(c);
    rc = smtpc_engine_result(c->engine);
    if (want == SMTPC_WANT_IDLE && rc == 0)
        return SMTPC_OK;
    engine_error(c, rc ? rc : SMTPC_ESTATE);
    if (c->connected) {
        /* AUTH failed on a live session: say goodbye, keep the AUTH error. */
        smtpc_error err;
        smtpc_error_copy(&err, &c->err);
        if (smtpc_engine_begin_quit(c->engine) == 0)
            smtpc_client_pump(c);
        disconnect(c);
        smtpc_error_copy(&c->err, &err);
    }
    return c->err.code ? c->err.code : SMTPC_ESTATE;
}

int smtpc_client_connected(const smtpc_client *c)
{
    return c && c->connected;
}

/* --- sending --- */

/* After a transaction: the result, with the session closed when it ended. */
static int finish_op(smtpc_client *c, int want, int is_send)
{
    int rc = smtpc_engine_result(c->engine);
    if (want != SMTPC_WANT_IDLE && rc == 0)
        rc = SMTPC_ESTATE;
    if (rc == 0)
        return SMTPC_OK;
    engine_error(c, rc);
    if (want == SMTPC_WANT_CLOSE)
        smtpc_error_copy(&c->session_err, &c->err);
    /* A session that breaks after the server accepted the message must not
     * make the caller send it again: the send succeeded, the next call
     * reports the broken session. */
    if (is_send && smtpc_engine_message_status(c->engine) == SMTPC_MESSAGE_ACCEPTED)
        return SMTPC_OK;
    return rc;
}

/* Calls on a session that has ended report why it ended (sticky). */
static int not_connected(smtpc_client *c)
{
    if (c->session_err.code) {
        smtpc_error_copy(&c->err, &c->session_err);
        return c->err.code;
    }
    return set_error(c, SMTPC_ESTATE, "not connected");
}

/* Before a new command: anything the server sent while we were idle (a
 * 421 before an idle timeout, a close, stray bytes) ends the session now,
 * instead of being mistaken for the reply to the next command. */
static int check_idle(smtpc_client *c)
{
    size_t got = 0;
    int rc = smtpc_transport_recv(c->transport, c->io, CLIENT_IO_CAP, 0, &got);
    if (rc == SMTPC_ETIMEDOUT)
        return SMTPC_OK;
    if (rc)
        transport_failed(c, rc);
    else
        smtpc_engine_feed(c->engine, c->io, got);
    if (smtpc_engine_want(c->engine) != SMTPC_WANT_CLOSE)
        return SMTPC_OK;
    smtpc_client_pump(c); /* closes */
    engine_error(c, smtpc_engine_result(c->engine) ? smtpc_engine_result(c->engine)
                                                    : SMTPC_ECLOSED);
    smtpc_error_copy(&c->session_err, &c->err);
    return c->err.code;
}

static int begin_send(smtpc_client *c, const char *from, const char *const *rcpts,
                      size_t n_rcpts, int64_t size, int flags)
{
    if (!c)
        return SMTPC_EINVAL;
    smtpc_error_clear(&c->err);
    if (!c->connected)
        return not_connected(c);
    int rc = check_idle(c);
    if (rc)
        return rc;
    rc = smtpc_engine_begin_mail(c->engine, from, rcpts, n_rcpts, size, flags);
    if (rc)
        return engine_error(c, rc);
    return SMTPC_OK;
}

/* Push len bytes as body. Output is sent only when the engine's buffer is
 * full, so body chunks coalesce into large writes and the final chunk
 * leaves together with the end-of-data sequence. Returns the want that
 * stopped the pump: SMTPC_WANT_BODY when all was taken. */
static int push_body(smtpc_client *c, const uint8_t *p, size_t len)
{
    while (len) {
        size_t took = 0;
        if (smtpc_engine_body_write(c->engine, p, len, &took) != 0)
            return smtpc_client_pump(c);
        p += took;
        len -= took;
        if (len == 0)
            break;
        int want = smtpc_client_pump(c);
        if (want != SMTPC_WANT_BODY)
            return want;
    }
    return SMTPC_WANT_BODY;
}

static int end_body(smtpc_client *c)
{
    smtpc_engine_body_end(c->engine);
    return smtpc_client_pump(c);
}

/* The exact size the server will count (line ends made CRLF) and whether
 * any byte is 8-bit, in one pass. */
static void measure_body(const uint8_t *p, size_t n, int64_t *size, int *eight_bit)
{
    int64_t total = 0;
    int high = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        high |= b & 0x80;
        if (b == '\r') {
            total += 2;
            if (i + 1 < n && p[i + 1] == '\n')
                i++;
        } else if (b == '\n') {
            total += 2;
        } else {
            total++;
        }
    }
    if (n && p[n - 1] != '\n' && p[n - 1] != '\r')
        total += 2; /* the engine completes the last line */
    *size = total;
    *eight_bit = high != 0;
}

int smtpc_client_send(smtpc_client *c, const char *from, const char *const *rcpts,
                      size_t n_rcpts, const uint8_t *body, size_t body_len)
{
    if (!c || (!body && body_len))
        return SMTPC_EINVAL;
    int64_t size;
    int eight_bit;
    measure_body(body, body_len, &size, &eight_bit);
    int rc = begin_send(c, from, rcpts, n_rcpts, size, eight_bit ? SMTPC_MAIL_8BITMIME : 0);
    if (rc)
        return rc;
    int want = smtpc_client_pump(c);
    if (want == SMTPC_WANT_BODY)
        want = push_body(c, body, body_len);
    if (want == SMTPC_WANT_BODY)
        want = end_body(c);
    return finish_op(c, want, 1);
}

int smtpc_client_send_stream(smtpc_client *c, const char *from, const char *const *rcpts,
                             size_t n_rcpts, smtpc_read_fn read, void *user, int64_t size,
                             int flags)
{
    if (!c || !read)
        return SMTPC_EINVAL;
    int rc = begin_send(c, from, rcpts, n_rcpts, size, flags);
    if (rc)
        return rc;
    int want = smtpc_client_pump(c);
    while (want == SMTPC_WANT_BODY) {
        size_t got = 0;
        if (read(user, c->io, CLIENT_IO_CAP, &got) != 0 || got > CLIENT_IO_CAP) {
            /* SMTP cannot take back an open DATA: dropping the connection makes
             * the server discard the partial message. */
            smtpc_engine_abort(c->engine, SMTPC_ESOURCE,
                               "the message source failed during DATA; the connection was "
                               "dropped so that no partial message is delivered");
            want = smtpc_client_pump(c);
            break;
        }
        if (got == 0) {
            want = end_body(c);
            break;
        }
        want = push_body(c, c->io, got);
    }
    return finish_op(c, want, 1);
}

static int simple_op(smtpc_client *c, int (*begin)(smtpc_engine *), int ends_session)
{
    if (!c)
        return SMTPC_EINVAL;
    smtpc_error_clear(&c->err);
    if (!c->connected)
        return not_connected(c);
    int rc = ends_session ? 0 : check_idle(c);
    if (rc)
        return rc;
    rc = begin(c->engine);
    if (rc)
        return engine_error(c, rc);
    int want = smtpc_client_pump(c);
    if (ends_session && want == SMTPC_WANT_CLOSE && smtpc_engine_result(c->engine) == 0)
        return SMTPC_OK;
    return finish_op(c, want, 0);
}

int smtpc_client_rset(smtpc_client *c)
{
    return simple_op(c, smtpc_engine_begin_rset, 0);
}

int smtpc_client_noop(smtpc_client *c)
{
    return simple_op(c, smtpc_engine_begin_noop, 0);
}

int smtpc_client_quit(smtpc_client *c)
{
    if (!c)
        return SMTPC_EINVAL;
    if (!c->connected) {
        smtpc_error_clear(&c->err);
        return set_error(c, SMTPC_ESTATE, "not connected");
    }
    int rc = simple_op(c, smtpc_engine_begin_quit, 1);
    disconnect(c);
    return rc;
}

/* --- results --- */

const smtpc_error *smtpc_client_error(const smtpc_client *c)
{
    return c ? &c->err : NULL;
}

const char *smtpc_client_errmsg(const smtpc_client *c)
{
    return smtpc_error_message(c ? &c->err : NULL);
}

size_t smtpc_client_rcpt_count(const smtpc_client *c)
{
    return c ? c->engine->results_n : 0;
}

int smtpc_client_rcpt_accepted(const smtpc_client *c, size_t i)
{
    if (!c)
        return 0;
    int code = smtpc_engine_rcpt_reply_code(c->engine, i);
    return code / 100 == 2 && !c->engine->mail_refused;
}

int smtpc_client_rcpt_reply_code(const smtpc_client *c, size_t i)
{
    return c ? smtpc_engine_rcpt_reply_code(c->engine, i) : 0;
}

const char *smtpc_client_rcpt_enhanced(const smtpc_client *c, size_t i)
{
    return c ? smtpc_engine_rcpt_enhanced(c->engine, i) : "";
}

const char *smtpc_client_rcpt_reply_text(const smtpc_client *c, size_t i)
{
    return c ? smtpc_engine_rcpt_reply_text(c->engine, i) : "";
}

int smtpc_client_message_status(const smtpc_client *c)
{
    return c ? smtpc_engine_message_status(c->engine) : SMTPC_MESSAGE_NOT_SENT;
}

int smtpc_client_capabilities(const smtpc_client *c)
{
    return c ? smtpc_engine_capabilities(c->engine) : 0;
}

int smtpc_client_is_encrypted(const smtpc_client *c)
{
    return c ? smtpc_engine_is_encrypted(c->engine) : 0;
}

smtpc_engine *smtpc_client_engine(smtpc_client *c)
{
    return c ? c->engine : NULL;
}
