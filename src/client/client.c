/* The client: moves bytes between the engine and a transport, with every
 * wait bounded by the engine's timeout for the stage. One driver for both
 * modes: the operations are resumable steps that wait inside the transport
 * (blocking) or return SMTPC_INPROGRESS (non-blocking). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "client_internal.h"
#include "bytescan.h"
#include "port.h"
#include "smtpc/auth.h"
#include "smtpc/engine.h"
#include "smtpc_config.h"
#include "smtpc/tls.h"
#include "service_port.h"

#define CLIENT_LINE_MAX 2048

#if SMTPC_HAVE_POSIX
static int64_t port_clock(void *user)
{
    (void)user;
    return (int64_t)smtpc_monotonic_ms();
}
#define DEFAULT_CLOCK port_clock
#else
#define DEFAULT_CLOCK NULL
#endif

int smtpc_client_new(const smtpc_allocator *alloc, smtpc_client **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    smtpc_allocator a;
    if (smtpc_allocator_init(&a, alloc) != SMTPC_OK)
        return SMTPC_EINVAL;
    smtpc_client *c = smtpc_alloc(&a, sizeof *c);
    if (!c)
        return SMTPC_ENOMEM;
    c->alloc = a;
    c->io_want = SMTPC_CLIENT_IO_DEFAULT;
    c->out_want = SMTPC_CLIENT_OUTPUT_DEFAULT;
    /* The engine starts with the smallest output buffer and the I/O buffer
     * comes at connect, both in the sizes set by then: a client given small
     * buffers never holds the default ones, even briefly. The engine's only
     * failures here are allocation ones (the name is the default and the
     * sizes are in range). */
    if (smtpc_engine_new(&a, NULL, SMTPC_CLIENT_OUTPUT_MIN, CLIENT_LINE_MAX, &c->engine) !=
        SMTPC_OK) {
        smtpc_client_free(c);
        return SMTPC_ENOMEM;
    }
    /* The engine has no I/O of its own; the client, which has, gives it the
     * port's OS-seeded default for SCRAM nonces (state from the client's
     * allocator), when the port has one, as it has the port's clock for
     * the deadlines. */
#if SMTPC_HAVE_POSIX
    smtpc_engine_set_random(c->engine, SMTPC_PORT_RANDOM, &c->alloc);
    c->clock = DEFAULT_CLOCK;
#endif
    /* smtpc_alloc zero-fills: the error records start cleared, and the
     * security level at its default. */
    _Static_assert(SMTPC_SECURITY_STARTTLS == 0, "the default level is the zero one");
    *out = c;
    return SMTPC_OK;
}

static void disconnect(smtpc_client *c)
{
    smtpc_transport_free(c->transport);
    c->transport = NULL;
    c->connected = 0;
}

#define FREE_IN_CALLBACK                                                                      \
    SMTPC_TEXT("smtpc_client_free was called inside a callback of this client: the client "  \
               "was not freed (the call running it still uses it); that call was stopped "    \
               "and the connection dropped. Free the client after the call returns")

void smtpc_client_free(smtpc_client *c)
{
    if (!c)
        return;
    if (c->busy) {
        /* Freeing now would leave the call that runs the callback on freed
         * memory: that call stops instead and says so. */
        c->free_asked = 1;
        return;
    }
    smtpc_allocator a = c->alloc;
    if (c->op.release)
        c->op.release(c);
    disconnect(c);
    smtpc_transport_free(c->next_transport);
    smtpc_engine_free(c->engine);
#if SMTPC_HAVE_TLS /* only begin_tls makes one */
    smtpc_tls_config_free(c->own_tls);
#endif
    smtpc_strfree(&a, c->host);
    smtpc_strfree(&a, c->port);
    smtpc_free(&a, c->io, c->io_cap);
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

int (smtpc_client_enter)(smtpc_client *c, const char *fn)
{
    if (c->busy)
        return smtpc_error_set(&c->err, SMTPC_ESTATE,
                               "%s called inside a callback of this client (trace, read or "
                               "message source callback): not allowed",
                               fn);
    c->busy = 1;
    if (!SMTPC_SHORT_MESSAGES) /* only messages name it */
        c->call = fn;
    return SMTPC_OK;
}

int smtpc_client_leave(smtpc_client *c, int rc, int is_send)
{
    c->busy = 0;
    if (!c->free_asked)
        return rc;
    c->free_asked = 0;
    if (c->connected) {
        smtpc_engine_abort(c->engine, SMTPC_ESTATE, FREE_IN_CALLBACK);
        disconnect(c);
    }
    set_error(c, SMTPC_ESTATE, FREE_IN_CALLBACK);
    smtpc_error_copy(&c->session_err, &c->err);
    /* An accepted message stays a success: it must never be sent twice. */
    if (rc == SMTPC_OK && is_send &&
        smtpc_engine_message_status(c->engine) == SMTPC_MESSAGE_ACCEPTED)
        return SMTPC_OK;
    return SMTPC_ESTATE;
}

/* --- settings --- */

/* A setter's result. A refusal is recorded, and it holds back the next
 * connect until the same setter succeeds: a session must never go ahead as
 * if a setting it did not take (credentials, a transport, ...) had been
 * applied. */
enum { SET_SERVER, SET_TIMEOUT, SET_EHLO, SET_SECURITY, SET_TRACE, SET_TRANSPORT, SET_TLS,
       SET_CREDENTIALS, SET_OAUTH, SET_MECHS, SET_PLAINTEXT, SET_BUFFERS, SET_CLOCK,
       SET_NO_DSN, SET_CHUNKING, SET_BINARYMIME, SET_NONBLOCKING,
       SET_COUNT };
static const char *const setter_name[SET_COUNT] = {
    "smtpc_client_set_server",      "smtpc_client_set_timeout",
    "smtpc_client_set_ehlo_name",   "smtpc_client_set_security",
    "smtpc_client_set_trace",       "smtpc_client_set_transport",
    "smtpc_client_set_tls_config",  "smtpc_client_set_credentials",
    "smtpc_client_set_oauth_token", "smtpc_client_set_auth_mechanisms",
    "smtpc_client_allow_plaintext_auth", "smtpc_client_set_buffers",
    "smtpc_client_set_clock", "smtpc_client_allow_no_dsn",
    "smtpc_client_set_chunking", "smtpc_client_set_binarymime",
    "smtpc_client_set_nonblocking",
};

static int setting(smtpc_client *c, int which, int rc, const char *why)
{
    if (rc == SMTPC_OK) {
        c->refused &= ~(1u << which);
        return rc;
    }
    c->refused |= 1u << which;
    smtpc_error_set(&c->err, rc, "%s: %s", setter_name[which], why ? why : smtpc_strerror(rc));
    return rc;
}

/* Why the setting cannot change now (NULL: it can). any_time: also while a
 * session is open (it only matters at the next wait or connect). */
static const char *locked(const smtpc_client *c, int any_time)
{
    if (c->busy)
        return SMTPC_TEXT("not allowed inside a callback of this client (trace, read or "
                          "message source callback)");
    if (c->connected && !any_time)
        return SMTPC_TEXT("not allowed while a session is open (quit first)");
    if (c->op.kind && !any_time)
        return SMTPC_TEXT("not allowed while an operation runs (smtpc_client_step until its "
                          "result)");
    return NULL;
}

/* Whether a setter may go ahead: SMTPC_EINVAL without a client, the
 * refusal (recorded) while its setting is locked, else SMTPC_OK. */
static int may_set(smtpc_client *c, int which, int any_time)
{
    if (!c)
        return SMTPC_EINVAL;
    const char *why = locked(c, any_time);
    return why ? setting(c, which, SMTPC_ESTATE, why) : SMTPC_OK;
}

/* Between sessions the engine still holds the last session's results,
 * which the caller may still read; it takes settings for the next session
 * (the connect resets it) without touching them. */
static int engine_setting(smtpc_client *c, int (*set)(smtpc_engine *, const char *, const char *),
                          const char *a, const char *b)
{
    return set(c->engine, a, b);
}

int smtpc_client_set_server(smtpc_client *c, const char *host, const char *port)
{
    int ok = may_set(c, SET_SERVER, 0);
    if (ok)
        return ok;
    if (!host || !host[0])
        return setting(c, SET_SERVER, SMTPC_EINVAL, "no host given");
    char port_why[SMTPC_ERRMSG_MAX];
    if (port && smtpc_port_check(port, port_why, sizeof port_why) != SMTPC_OK)
        return setting(c, SET_SERVER, SMTPC_EINVAL, port_why);
    char *h = smtpc_strdup(&c->alloc, host);
    char *p = port ? smtpc_strdup(&c->alloc, port) : NULL;
    if (!h || (port && !p)) {
        smtpc_strfree(&c->alloc, h);
        smtpc_strfree(&c->alloc, p);
        return setting(c, SET_SERVER, SMTPC_ENOMEM, NULL);
    }
    smtpc_strfree(&c->alloc, c->host);
    smtpc_strfree(&c->alloc, c->port);
    c->host = h;
    c->port = p;
    return setting(c, SET_SERVER, SMTPC_OK, NULL);
}

int smtpc_client_set_timeout(smtpc_client *c, int stage, int ms)
{
    int ok = may_set(c, SET_TIMEOUT, 1);
    if (ok)
        return ok;
    if (stage < 0 || stage >= SMTPC_TIMEOUT_COUNT) {
        char msg[96];
        smtpc_format_text(msg, sizeof msg, "no timeout stage %d (SMTPC_TIMEOUT_*: 0 to %d)", stage,
                 SMTPC_TIMEOUT_COUNT - 1);
        return setting(c, SET_TIMEOUT, SMTPC_EINVAL, msg);
    }
    return setting(c, SET_TIMEOUT, smtpc_engine_set_timeout(c->engine, stage, ms), NULL);
}

int smtpc_client_set_clock(smtpc_client *c, smtpc_clock_ms_fn fn, void *user)
{
    int ok = may_set(c, SET_CLOCK, 0);
    if (ok)
        return ok;
    c->clock = fn ? fn : DEFAULT_CLOCK;
    c->clock_user = fn ? user : NULL;
    return setting(c, SET_CLOCK, SMTPC_OK, NULL);
}

#define NO_CLOCK                                                                               \
    SMTPC_TEXT("no clock for the client's deadlines: smtpc was built without the POSIX port " \
               "(-Dport=none); give one with smtpc_client_set_clock, or set every "           \
               "SMTPC_TIMEOUT_* to -1")

/* Milliseconds now on the client's clock (only called with one set), its
 * low 32 bits: the deadlines' arithmetic wraps (see struct smtpc_client). */
static uint32_t now_ms(const smtpc_client *c)
{
    return (uint32_t)c->clock(c->clock_user);
}

/* The ms from now to a deadline end - now ms away (0: passed). */
static int ms_left(uint32_t diff)
{
    return diff > 0x7fffffffu ? 0 : (int)diff;
}

static int set_ehlo(smtpc_engine *e, const char *name, const char *unused)
{
    (void)unused;
    return smtpc_engine_set_ehlo_name(e, name);
}

int smtpc_client_set_ehlo_name(smtpc_client *c, const char *name)
{
    int ok = may_set(c, SET_EHLO, 0);
    if (ok)
        return ok;
    const char *why = NULL;
    int rc = engine_setting(c, set_ehlo, name, NULL);
    if (rc == SMTPC_EINVAL)
        why = "the name must be 1 to 255 octets";
    else if (rc == SMTPC_EBADCHAR)
        why = "CR, LF, NUL or space in the name";
    return setting(c, SET_EHLO, rc, why);
}

int smtpc_client_set_security(smtpc_client *c, int level)
{
    int ok = may_set(c, SET_SECURITY, 0);
    if (ok)
        return ok;
    if (level < SMTPC_SECURITY_STARTTLS || level > SMTPC_SECURITY_PLAIN) {
        char msg[96];
        smtpc_format_text(msg, sizeof msg, "no security level %d (SMTPC_SECURITY_*: %d to %d)", level,
                 SMTPC_SECURITY_STARTTLS, SMTPC_SECURITY_PLAIN);
        return setting(c, SET_SECURITY, SMTPC_EINVAL, msg);
    }
    c->security = level;
    return setting(c, SET_SECURITY, SMTPC_OK, NULL);
}

int smtpc_client_set_chunking(smtpc_client *c, int use)
{
    int ok = may_set(c, SET_CHUNKING, 0);
    if (ok)
        return ok;
    if (use != 0 && use != 1)
        return setting(c, SET_CHUNKING, SMTPC_EINVAL, "use is neither 0 nor 1");
    smtpc_engine_set_chunking(c->engine, use);
    c->no_chunking = !use;
    return setting(c, SET_CHUNKING, SMTPC_OK, NULL);
}

int smtpc_client_set_binarymime(smtpc_client *c, int use)
{
    int ok = may_set(c, SET_BINARYMIME, 0);
    if (ok)
        return ok;
    if (use != 0 && use != 1)
        return setting(c, SET_BINARYMIME, SMTPC_EINVAL, "use is neither 0 nor 1");
    c->no_binarymime = !use;
    return setting(c, SET_BINARYMIME, SMTPC_OK, NULL);
}

int smtpc_client_set_trace(smtpc_client *c, smtpc_trace_fn fn, void *user)
{
    int ok = may_set(c, SET_TRACE, 1);
    if (ok)
        return ok;
    c->trace = fn;
    c->trace_user = user;
    return setting(c, SET_TRACE, smtpc_engine_set_trace(c->engine, fn, user), NULL);
}

int smtpc_client_set_transport(smtpc_client *c, smtpc_transport *t)
{
    int ok = may_set(c, SET_TRANSPORT, 0);
    if (ok) {
        smtpc_transport_free(t);
        return ok;
    }
    smtpc_transport_free(c->next_transport);
    c->next_transport = t;
    return setting(c, SET_TRANSPORT, SMTPC_OK, NULL);
}

int smtpc_client_set_tls_config(smtpc_client *c, const smtpc_tls_config *cfg)
{
    int ok = may_set(c, SET_TLS, 0);
    if (ok)
        return ok;
    c->tls = cfg;
    return setting(c, SET_TLS, SMTPC_OK, NULL);
}

int smtpc_client_set_buffers(smtpc_client *c, size_t io_bytes, size_t output_bytes)
{
    int ok = may_set(c, SET_BUFFERS, 0);
    if (ok)
        return ok;
    const char *why = NULL;
    if (io_bytes == 0)
        io_bytes = SMTPC_CLIENT_IO_DEFAULT;
    if (output_bytes == 0)
        output_bytes = SMTPC_CLIENT_OUTPUT_DEFAULT;
    if (io_bytes < SMTPC_CLIENT_IO_MIN)
        why = "io_bytes is below SMTPC_CLIENT_IO_MIN (0 keeps the default)";
    else if (output_bytes < SMTPC_CLIENT_OUTPUT_MIN)
        why = "output_bytes is below SMTPC_CLIENT_OUTPUT_MIN (0 keeps the default)";
    else if (io_bytes > SMTPC_CLIENT_BUFFER_MAX)
        why = "io_bytes is above SMTPC_CLIENT_BUFFER_MAX";
    else if (output_bytes > SMTPC_CLIENT_BUFFER_MAX)
        why = "output_bytes is above SMTPC_CLIENT_BUFFER_MAX";
    if (why)
        return setting(c, SET_BUFFERS, SMTPC_EINVAL, why);
    c->io_want = io_bytes;
    c->out_want = output_bytes;
    return setting(c, SET_BUFFERS, SMTPC_OK, NULL);
}

/* The buffers in the sizes set, before a session starts. */
static int apply_buffers(smtpc_client *c)
{
    if (c->io_cap != c->io_want) {
        uint8_t *io = smtpc_alloc(&c->alloc, c->io_want);
        if (!io)
            return set_error(c, SMTPC_ENOMEM, "smtpc_client_connect: no memory for the I/O "
                                              "buffer (smtpc_client_set_buffers)");
        smtpc_free(&c->alloc, c->io, c->io_cap);
        c->io = io;
        c->io_cap = c->io_want;
    }
    /* Between sessions and in range: only memory can fail. */
    if (smtpc_engine_set_output_size(c->engine, c->out_want) != SMTPC_OK)
        return set_error(c, SMTPC_ENOMEM, "smtpc_client_connect: no memory for the output "
                                          "buffer (smtpc_client_set_buffers)");
    return SMTPC_OK;
}

/* --- AUTH settings: kept by the engine --- */

static int secret_setting(smtpc_client *c, int which,
                          int (*set)(smtpc_engine *, const char *, const char *),
                          const char *user, const char *secret)
{
    int ok = may_set(c, which, 0);
    if (ok)
        return ok;
    const char *why = NULL;
    int rc = engine_setting(c, set, user, secret);
    if (rc == SMTPC_EINVAL)
        why = "a user name needs a secret (NULL user clears both)";
    else if (rc == SMTPC_EBADCHAR)
        why = "CR, LF or NUL in the user name or secret";
    return setting(c, which, rc, why);
}

int smtpc_client_set_credentials(smtpc_client *c, const char *user, const char *password)
{
    return secret_setting(c, SET_CREDENTIALS, smtpc_engine_set_credentials, user, password);
}

int smtpc_client_set_oauth_token(smtpc_client *c, const char *user, const char *token)
{
    return secret_setting(c, SET_OAUTH, smtpc_engine_set_oauth_token, user, token);
}

int smtpc_client_set_auth_mechanisms(smtpc_client *c, int mask)
{
    int ok = may_set(c, SET_MECHS, 1);
    if (ok)
        return ok;
    const char *why = NULL;
    int rc = smtpc_engine_set_auth_mechanisms(c->engine, mask);
    char msg[96];
    if (rc == SMTPC_EINVAL) {
        smtpc_format_text(msg, sizeof msg, "mask %#x is not a non-empty set of SMTPC_AUTH_* bits",
                 (unsigned)mask);
        why = msg;
    } else if (rc == SMTPC_ENOTSUP) {
        why = "CRAM-MD5 and SCRAM-SHA-256 are not in this build (-Dsasl_crypto=disabled)";
    }
    return setting(c, SET_MECHS, rc, why);
}

int smtpc_client_allow_plaintext_auth(smtpc_client *c, int allow)
{
    int ok = may_set(c, SET_PLAINTEXT, 1);
    if (ok)
        return ok;
    return setting(c, SET_PLAINTEXT, smtpc_engine_allow_plaintext_auth(c->engine, allow), NULL);
}

int smtpc_client_allow_no_dsn(smtpc_client *c, int allow)
{
    int ok = may_set(c, SET_NO_DSN, 1);
    if (ok)
        return ok;
    c->allow_no_dsn = allow != 0;
    return setting(c, SET_NO_DSN, SMTPC_OK, NULL);
}


/* --- moving bytes --- */

static void trace_info(smtpc_client *c, const char *text)
{
    /* Without traces built in no trace callback is ever taken (the setter
     * is refused, and a refused setter holds back connect). */
    if (SMTPC_HAVE_TRACES && c->trace)
        c->trace(c->trace_user, SMTPC_TRACE_INFO, text, strlen(text));
}

/* Non-blocking mode: the transport call could not move bytes now. What it
 * waits for is the transport's to say (a TLS write may wait for READ);
 * events is the guess for a transport that does not. */
static int would_block(smtpc_client *c, int events)
{
    int ev = smtpc_transport_events(c->transport);
    c->events = ev ? ev : events;
    return SMTPC_CLIENT_WAIT;
}

#if SMTPC_HAVE_TLS
/* The TLS handshake failed: the engine hears why, the connection goes. */
static void tls_failed(smtpc_client *c, int rc, const char *why)
{
    c->hs_running = 0;
    smtpc_engine_tls_done(c->engine, 0, rc, why); /* why may be the transport's */
    smtpc_transport_free(c->transport);
    c->transport = NULL;
}

/* The TLS transport over the connection, its handshake not begun. */
static void begin_tls(smtpc_client *c)
{
    if (!c->tls && !c->own_tls) {
        int rc = smtpc_tls_config_new(&c->alloc, &c->own_tls);
        if (rc) { /* the engine must hear of it, or it would ask for TLS again */
            smtpc_engine_tls_done(c->engine, 0, rc,
                                  "could not create the default TLS configuration");
            return;
        }
    }
    const smtpc_tls_config *cfg = c->tls ? c->tls : c->own_tls;
    if (smtpc_tls_config_verify_mode(cfg) == SMTPC_TLS_VERIFY_NONE)
        trace_info(c, "WARNING: certificate verification is turned off");
    smtpc_transport *tls = NULL;
    smtpc_transport *inner = c->transport;
    c->transport = NULL; /* ownership passes to the TLS transport, even on failure */
    /* No host (a transport of the user's): the configuration's name or,
     * with verification on, a refusal; never a guessed name. */
    int rc = smtpc_transport_new_tls(&c->alloc, inner, cfg, c->host, &tls);
    if (rc) {
        smtpc_engine_tls_done(c->engine, 0, rc,
                              rc == SMTPC_ENOTSUP ? "smtpc was built without TLS support"
                                                  : "could not create the TLS transport");
        return;
    }
    c->transport = tls;
    c->hs_running = 1;
}

/* The engine asked for TLS: the handshake, in one wait (blocking mode) or
 * as far as it goes (non-blocking mode, bounded by the TLS stage timeout on
 * the client's clock). Returns SMTPC_CLIENT_WAIT or 0. */
static int run_tls(smtpc_client *c)
{
    if (!c->hs_running) {
        begin_tls(c);
        if (!c->hs_running)
            return 0;
    }
    int timeout = smtpc_engine_timeout_ms(c->engine);
    char msg[SMTPC_ERRMSG_MAX]; /* one for every path: frames stay small */
    if (c->nonblocking && timeout >= 0) {
        if (!c->clock) {
            tls_failed(c, SMTPC_ENOTSUP, NO_CLOCK);
            return 0;
        }
        uint32_t now = now_ms(c);
        if (c->hs_running == 1) {
            c->hs_running = 2;
            c->hs_end = now + (uint32_t)timeout;
        }
        if (!ms_left(c->hs_end - now)) {
            smtpc_format_text(msg, sizeof msg, "TLS handshake timed out after %d ms", timeout);
            tls_failed(c, SMTPC_ETIMEDOUT, msg);
            return 0;
        }
    }
    smtpc_transport *tls = c->transport;
    int rc = smtpc_transport_handshake(tls, c->nonblocking ? 0 : timeout);
    if (rc == SMTPC_INPROGRESS)
        return would_block(c, SMTPC_POLL_READ);
    if (rc) {
        tls_failed(c, rc, smtpc_error_message(smtpc_transport_error(tls)));
        return 0;
    }
    c->hs_running = 0;
    if (c->trace && smtpc_transport_tls_info(tls, msg, sizeof msg) == 0)
        trace_info(c, msg);
    /* A handshake that succeeded with verification on has checked the
     * chain and the host name: what REQUIRETLS asks for. A pin alone is
     * not that. */
    const smtpc_tls_config *cfg = c->tls ? c->tls : c->own_tls;
    smtpc_engine_tls_done(c->engine,
                          smtpc_tls_config_verify_mode(cfg) == SMTPC_TLS_VERIFY_REQUIRED
                              ? SMTPC_TLS_DONE_VERIFIED
                              : SMTPC_TLS_DONE_OK,
                          0, NULL);
    return 0;
}
#else
/* TLS compiled out: connect never asks the engine for it (open_session
 * refuses the levels that need it); should the engine still ask, it hears
 * no, and the connection goes as after a failed handshake. */
static int run_tls(smtpc_client *c)
{
    smtpc_engine_tls_done(c->engine, 0, SMTPC_ENOTSUP,
                          SMTPC_TEXT("smtpc was built without TLS support"));
    smtpc_transport_free(c->transport);
    c->transport = NULL;
    return 0;
}
#endif

/* End the session with code and a formatted text. With -Dmessages=short
 * the engine keeps no text: none is made (nor its arguments evaluated). */
#if SMTPC_SHORT_MESSAGES
#define abort_fmt(c, code, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), smtpc_engine_abort((c)->engine, (code), NULL))
#else
static int abort_fmt(smtpc_client *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int abort_fmt(smtpc_client *c, int code, const char *fmt, ...)
{
    char msg[SMTPC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return smtpc_engine_abort(c->engine, code, msg);
}
#endif

static int transport_failed(smtpc_client *c, int rc)
{
#if SMTPC_SHORT_MESSAGES
    return abort_fmt(c, rc, "");
#else
    const char *why =
        c->transport ? smtpc_error_message(smtpc_transport_error(c->transport)) : "";
    /* A record without its own text gives only the code's description,
     * which the message below starts with anyway. */
    if (c->transport && !smtpc_transport_error(c->transport)->message[0])
        why = "";
    /* A callback transport has no way to give a reason: name the limit. */
    if (!why[0] && rc == SMTPC_ETIMEDOUT)
        return abort_fmt(c, rc, "%s: no progress within %d ms", smtpc_strerror(rc),
                         smtpc_engine_timeout_ms(c->engine));
    return abort_fmt(c, rc, "%s%s%s", smtpc_strerror(rc), why[0] ? ": " : "", why);
#endif
}

/* The stage timeout bounds the wait for a whole reply, not each read: a
 * server sending endless continuation lines, or a byte now and then, must
 * not hold the client longer than that. A reply is complete when the
 * engine's reply count moves; the deadline then starts over. Returns the
 * time left for the next read, or 0 after recording the timeout. */
static int reply_timeout(smtpc_client *c, int timeout)
{
    smtpc_engine *e = c->engine;
    if (timeout < 0)
        return timeout;
    if (!c->clock) {
        /* Unreachable through connect's check unless a timeout changed
         * during the session: never wait without the deadline. */
        smtpc_engine_abort(e, SMTPC_ENOTSUP, NO_CLOCK);
        return 0;
    }
    uint32_t now = now_ms(c);
    uint32_t replies = smtpc_engine_reply_count(e);
    if (!c->rd_waiting || c->rd_head != replies) {
        c->rd_waiting = 1;
        c->rd_head = replies;
        c->rd_end = now + (uint32_t)timeout;
    }
    int left = ms_left(c->rd_end - now);
    if (!left)
        abort_fmt(c, SMTPC_ETIMEDOUT, "%s: no complete reply within %d ms",
                  smtpc_strerror(SMTPC_ETIMEDOUT), timeout);
    return left;
}

/* Non-blocking mode: the stage timeout bounds each send as the transport
 * bounds it in blocking mode, from the first try that could not move a
 * byte. Returns 1 after recording that it passed. */
static int send_timed_out(smtpc_client *c, int timeout)
{
    if (timeout < 0)
        return 0;
    if (!c->clock) {
        smtpc_engine_abort(c->engine, SMTPC_ENOTSUP, NO_CLOCK);
        return 1;
    }
    uint32_t now = now_ms(c);
    if (!c->wr_waiting) {
        c->wr_waiting = 1;
        c->wr_end = now + (uint32_t)timeout;
    }
    if (ms_left(c->wr_end - now))
        return 0;
    abort_fmt(c, SMTPC_ETIMEDOUT, "%s: no progress within %d ms",
              smtpc_strerror(SMTPC_ETIMEDOUT), timeout);
    return 1;
}

/* The whole-message deadline (SMTPC_TIMEOUT_MESSAGE): SMTPC_TIMEOUT_DATA_BLOCK
 * bounds each send, but a server that reads a byte now and then makes
 * progress on every one. It runs from DATA's 354 to the reply to the end of
 * data. */
static void start_message_clock(smtpc_client *c)
{
    int ms = -1;
    smtpc_engine_get_timeout(c->engine, SMTPC_TIMEOUT_MESSAGE, &ms);
    c->msg_clock = 0;
    if (ms >= 0 && !c->clock) {
        smtpc_engine_abort(c->engine, SMTPC_ENOTSUP, NO_CLOCK);
    } else if (ms >= 0) {
        c->msg_clock = 1;
        if (!SMTPC_SHORT_MESSAGES) /* only a message tells it */
            c->msg_ms = ms;
        c->msg_end = now_ms(c) + (uint32_t)ms;
    }
}

/* ms left before the deadline (0: passed), or -1 when none runs. */
static int message_time_left(const smtpc_client *c)
{
    if (!c->msg_clock)
        return -1;
    return ms_left(c->msg_end - now_ms(c));
}

/* The wait's timeout, cut to the deadline; 0 after recording that it passed. */
static int within_message_deadline(smtpc_client *c, int timeout)
{
    int left = message_time_left(c);
    if (left < 0)
        return timeout;
    if (left > 0)
        return timeout >= 0 && timeout < left ? timeout : left;
    abort_fmt(c, SMTPC_ETIMEDOUT,
              "%s: the whole-message deadline (SMTPC_TIMEOUT_MESSAGE, %d ms) passed %s",
              smtpc_strerror(SMTPC_ETIMEDOUT), c->msg_ms,
              smtpc_engine_body_ended(c->engine)
                  ? "while the end of data was sent or its reply awaited"
                  : "during DATA; the connection was dropped so that the server discards "
                    "the partial message");
    return 0;
}

/* A wait failed: when it was cut short by the message deadline, say so. */
static void wait_failed(smtpc_client *c, int rc)
{
    if (rc != SMTPC_ETIMEDOUT || within_message_deadline(c, -1) != 0)
        transport_failed(c, rc);
}

/* One recv into the free part of io, what came fed to the engine; the
 * transport's result. */
static int recv_to_engine(smtpc_client *c, int timeout)
{
    size_t got = 0;
    uint8_t *room = c->io + c->io_busy;
    int rc = smtpc_transport_recv(c->transport, room, c->io_cap - c->io_busy, timeout, &got);
    if (rc == SMTPC_OK)
        smtpc_engine_feed(c->engine, room, got);
    return rc;
}

/* The engine wants to write or to read, and may wait the stage's timeout:
 * one send of its pending output or one read toward the reply awaited;
 * SMTPC_CLIENT_WAIT or 0. */
_Static_assert(SMTPC_WANT_READ == SMTPC_POLL_READ && SMTPC_WANT_WRITE == SMTPC_POLL_WRITE,
               "a want is the direction it waits for");
static int pump_io(smtpc_client *c, int want, int timeout)
{
    smtpc_engine *e = c->engine;
    int stage = timeout;
    /* A read's deadline is for the whole reply; 0: already recorded. */
    if (want == SMTPC_WANT_READ)
        timeout = reply_timeout(c, timeout);
    if (want == SMTPC_WANT_WRITE || timeout != 0)
        timeout = within_message_deadline(c, timeout);
    if (timeout == 0 && smtpc_engine_want(e) != want)
        return 0;
    int wait = c->nonblocking ? 0 : timeout;
    int rc;
    if (want == SMTPC_WANT_WRITE) {
        if (c->nonblocking && send_timed_out(c, stage))
            return 0;
        const uint8_t *p;
        size_t n, sent = 0;
        smtpc_engine_output(e, &p, &n);
        rc = smtpc_transport_send(c->transport, p, n, wait, &sent);
        if (rc == SMTPC_OK) {
            if (sent)
                c->wr_waiting = 0;
            smtpc_engine_output_done(e, sent);
        }
    } else {
        rc = recv_to_engine(c, wait);
    }
    if (rc == SMTPC_ETIMEDOUT && c->nonblocking)
        return would_block(c, want);
    if (rc)
        wait_failed(c, rc);
    return 0;
}

/* Starts and ends of waits: a deadline runs only while its wait does. */
static void track_waits(smtpc_client *c, int want)
{
    if (want != SMTPC_WANT_READ)
        c->rd_waiting = 0;
    if (want != SMTPC_WANT_WRITE)
        c->wr_waiting = 0;
}

int smtpc_client_flush(smtpc_client *c)
{
    while (smtpc_engine_want(c->engine) == SMTPC_WANT_WRITE)
        if (pump_io(c, SMTPC_WANT_WRITE, smtpc_engine_timeout_ms(c->engine)) ==
            SMTPC_CLIENT_WAIT)
            return SMTPC_CLIENT_WAIT;
    int want = smtpc_engine_want(c->engine);
    track_waits(c, want);
    if (want == SMTPC_WANT_CLOSE)
        disconnect(c);
    return want;
}

/* Run the engine until it is idle, wants body bytes, or the session ends.
 * Returns the want that stopped it, or SMTPC_CLIENT_WAIT. */
int smtpc_client_pump(smtpc_client *c)
{
    smtpc_engine *e = c->engine;
    for (;;) {
        if (c->free_asked && smtpc_engine_want(e) != SMTPC_WANT_CLOSE)
            smtpc_engine_abort(e, SMTPC_ESTATE, FREE_IN_CALLBACK);
        int want = smtpc_engine_want(e);
        int timeout = smtpc_engine_timeout_ms(e);
        int wait = 0;
        track_waits(c, want);
        if (want == SMTPC_WANT_WRITE || want == SMTPC_WANT_READ) {
            wait = pump_io(c, want, timeout);
        } else if (want == SMTPC_WANT_TLS) {
            wait = run_tls(c);
        } else {
            if (want == SMTPC_WANT_CLOSE)
                disconnect(c);
            return want;
        }
        if (wait)
            return SMTPC_CLIENT_WAIT;
    }
}

#if SMTPC_HAVE_SOCKETS
static const char *default_port(int security)
{
    return security == SMTPC_SECURITY_IMPLICIT_TLS ? "465" : "587";
}
#endif

/* A refused setting holds back connect (see setting()). */
static int refused_setting(smtpc_client *c)
{
    int which = 0;
    while (!(c->refused & (1u << which)))
        which++;
    return smtpc_error_set(&c->err, SMTPC_ESTATE,
                           "smtpc_client_connect: not connecting, because %s was refused and "
                           "has not succeeded since: the session would lack that setting",
                           setter_name[which]);
}

/* --- operations: started by the public calls, driven to their end by
 * smtpc_client_run (blocking) or by smtpc_client_step (non-blocking) --- */

enum { CONNECTING, SESSION, GOODBYE };     /* CLIENT_OP_CONNECT */
enum { ENVELOPE, BODY, END_OF_DATA };      /* CLIENT_OP_SEND */

void smtpc_client_op_clear(smtpc_client *c)
{
    if (c->op.release)
        c->op.release(c);
    c->io_busy = 0;
    c->msg_clock = 0;
    memset(&c->op, 0, sizeof c->op);
}

int (smtpc_client_start)(smtpc_client *c, const char *fn)
{
    if (c->op.kind && !c->busy)
        return smtpc_error_set(&c->err, SMTPC_ESTATE,
                               "%s: another operation is running (call smtpc_client_step "
                               "until it returns its result)",
                               fn);
    return smtpc_client_enter(c, fn);
}

static int open_session(smtpc_client *c);
static int drive_connect(smtpc_client *c);

int smtpc_client_connect(smtpc_client *c)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, "smtpc_client_connect");
    if (rc)
        return rc;
    rc = open_session(c);
    return rc ? smtpc_client_leave(c, rc, 0) : smtpc_client_run(c);
}

/* The checks and the transport's connect begun; 0 when the operation is
 * set up for smtpc_client_run. */
static int open_session(smtpc_client *c)
{
    if (c->connected)
        return set_error(c, SMTPC_ESTATE, "smtpc_client_connect: already connected (quit first)");
    smtpc_error_clear(&c->err);
    smtpc_error_clear(&c->session_err);
    if (c->refused)
        return refused_setting(c);
    if (!c->next_transport && !c->host)
        return set_error(c, SMTPC_EINVAL, "no server set (smtpc_client_set_server)");
    if (!c->clock) {
        for (int stage = 0; stage < SMTPC_TIMEOUT_COUNT; stage++) {
            int ms = -1;
            smtpc_engine_get_timeout(c->engine, stage, &ms);
            if (ms >= 0)
                return set_error(c, SMTPC_ENOTSUP, NO_CLOCK);
        }
    }
    int level = c->security;
#if !SMTPC_HAVE_TLS
    /* TLS compiled out: a level that needs it fails here, before a byte is
     * sent (STARTTLS would otherwise go out and leave the server waiting for
     * a handshake that never comes); optional STARTTLS is not attempted. */
    if (level == SMTPC_SECURITY_STARTTLS || level == SMTPC_SECURITY_IMPLICIT_TLS)
        return set_error(c, SMTPC_ENOTSUP,
                         level == SMTPC_SECURITY_STARTTLS
                             ? "smtpc was built without TLS support: STARTTLS is required "
                               "(set SMTPC_SECURITY_PLAIN to send unencrypted)"
                             : "smtpc was built without TLS support: implicit TLS is "
                               "impossible");
    if (level == SMTPC_SECURITY_STARTTLS_OPTIONAL) {
        level = SMTPC_SECURITY_PLAIN;
        trace_info(c, SMTPC_TEXT("smtpc was built without TLS support: STARTTLS not "
                                 "attempted, continuing unencrypted"));
    }
#endif
    smtpc_engine_reset(c->engine);
    int brc = apply_buffers(c);
    if (brc != SMTPC_OK)
        return brc;
    smtpc_engine_set_security(c->engine, level);
    c->hs_running = 0;
#if !SMTPC_HAVE_SOCKETS
    if (!c->next_transport)
        return set_error(c, SMTPC_ENOTSUP, "smtpc was built without socket support");
#endif
    c->op.kind = CLIENT_OP_CONNECT;
    c->op.drive = drive_connect;
    c->op.phase = SESSION;
    if (c->next_transport || !SMTPC_HAVE_SOCKETS) {
        c->transport = c->next_transport;
        c->next_transport = NULL;
        return SMTPC_OK;
    }
#if SMTPC_HAVE_SOCKETS
    const char *port = c->port ? c->port : default_port(c->security);
    int connect_ms = -1;
    smtpc_engine_get_timeout(c->engine, SMTPC_TIMEOUT_CONNECT, &connect_ms);
    int rc = smtpc_transport_new_socket(&c->alloc, &c->transport);
    if (rc) {
        smtpc_client_op_clear(c);
        return set_error(c, rc,
                         rc == SMTPC_ENOTSUP ? "smtpc was built without socket support"
                                             : "could not create the socket transport");
    }
    if (c->nonblocking) {
        rc = smtpc_transport_connect_start(c->transport, c->host, port, connect_ms);
        if (rc == SMTPC_INPROGRESS) {
            c->op.phase = CONNECTING;
            rc = 0;
        }
    } else {
        rc = smtpc_transport_connect(c->transport, c->host, port, connect_ms);
    }
    if (rc) {
        smtpc_client_op_clear(c);
        set_error(c, rc, smtpc_error_message(smtpc_transport_error(c->transport)));
        smtpc_transport_free(c->transport);
        c->transport = NULL;
        return rc;
    }
    return SMTPC_OK;
#endif
}

static int drive_connect(smtpc_client *c)
{
    smtpc_client_op *op = &c->op;
    int rc;
#if SMTPC_HAVE_SOCKETS /* the socket transport's connect is the only one that runs */
    if (op->phase == CONNECTING) {
        rc = c->free_asked ? SMTPC_ESTATE : smtpc_transport_connect_step(c->transport);
        if (rc == SMTPC_INPROGRESS) {
            c->events = smtpc_transport_events(c->transport);
            return SMTPC_INPROGRESS;
        }
        if (rc) {
            set_error(c, rc, c->free_asked
                                 ? FREE_IN_CALLBACK
                                 : smtpc_error_message(smtpc_transport_error(c->transport)));
            disconnect(c);
            return rc;
        }
        op->phase = SESSION;
    }
#endif
    if (op->phase == SESSION) {
        if (!c->connected) {
            c->connected = 1;
            rc = smtpc_engine_begin_session(c->engine);
            if (rc) {
                disconnect(c);
                return engine_error(c, rc);
            }
        }
        int want = smtpc_client_pump(c);
        if (want == SMTPC_CLIENT_WAIT)
            return SMTPC_INPROGRESS;
        rc = smtpc_engine_result(c->engine);
        if (want == SMTPC_WANT_IDLE && rc == 0)
            return SMTPC_OK;
        engine_error(c, rc ? rc : SMTPC_ESTATE);
        if (!c->connected)
            return c->err.code ? c->err.code : SMTPC_ESTATE;
        /* AUTH failed on a live session: say goodbye, keep the AUTH error.
         * It waits in session_err, which the pump never writes (an error
         * record on the stack would make this the library's largest frame). */
        smtpc_error_copy(&c->session_err, &c->err);
        op->phase = GOODBYE;
        if (smtpc_engine_begin_quit(c->engine) != 0)
            goto closed;
    }
    if (smtpc_client_pump(c) == SMTPC_CLIENT_WAIT)
        return SMTPC_INPROGRESS;
closed:
    disconnect(c);
    smtpc_error_copy(&c->err, &c->session_err);
    smtpc_error_clear(&c->session_err);
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
    c->msg_clock = 0;
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
    return smtpc_error_set(&c->err, SMTPC_ESTATE, "%s: not connected (smtpc_client_connect first)",
                           c->call ? c->call : "smtpc_client");
}

/* Before a new command: anything the server sent while we were idle (a
 * 421 before an idle timeout, a close, stray bytes) ends the session now,
 * instead of being mistaken for the reply to the next command. */
static int check_idle(smtpc_client *c)
{
    int rc = recv_to_engine(c, 0);
    if (rc == SMTPC_ETIMEDOUT)
        return SMTPC_OK;
    if (rc)
        transport_failed(c, rc);
    if (smtpc_engine_want(c->engine) != SMTPC_WANT_CLOSE)
        return SMTPC_OK;
    smtpc_client_pump(c); /* closes */
    rc = smtpc_engine_result(c->engine);
    engine_error(c, rc ? rc : SMTPC_ECLOSED);
    smtpc_error_copy(&c->session_err, &c->err);
    return c->err.code;
}

/* Before a command on the open session: the error record cleared, a
 * session that ended reported (sticky), what the server sent meanwhile read. */
static int command_ready(smtpc_client *c)
{
    smtpc_error_clear(&c->err);
    if (!c->connected)
        return not_connected(c);
    return check_idle(c);
}

static int begin_send(smtpc_client *c, const char *from, const char *const *rcpts,
                      size_t n_rcpts, int64_t size, int flags)
{
    int rc = command_ready(c);
    if (rc)
        return rc;
    rc = smtpc_engine_begin_mail_dsn(c->engine, from, rcpts, n_rcpts, size,
                                     flags | (c->allow_no_dsn ? SMTPC_MAIL_DSN_OPTIONAL : 0),
                                     c->dsn);
    if (rc)
        return engine_error(c, rc);
    return SMTPC_OK;
}

/* Push the rest of the op's body piece. Output is sent only when the
 * engine's buffer is full, so body chunks coalesce into large writes and
 * the final chunk leaves together with the end-of-data sequence. Returns
 * the want that stopped the pump: SMTPC_WANT_BODY when all was taken. The
 * pump comes first, so that a resumed push finishes the write it waited
 * for before giving the engine more. */
static int push_body(smtpc_client *c)
{
    smtpc_client_op *op = &c->op;
    for (;;) {
        int want = smtpc_client_pump(c);
        if (want != SMTPC_WANT_BODY || op->len == 0)
            return want;
        size_t took = 0;
        if (smtpc_engine_body_write(c->engine, op->p, op->len, &took) != 0)
            return smtpc_client_pump(c);
        op->p += took;
        op->len -= took;
        if (op->len == 0)
            return SMTPC_WANT_BODY;
    }
}

int smtpc_client_body(smtpc_client *c)
{
    smtpc_client_op *op = &c->op;
    /* Half of the I/O buffer per body piece: while the engine has not taken
     * all of it, the replies it waits for (BDAT chunks) are read into the
     * other half. */
    size_t cap = c->io_cap / 2;
    for (;;) {
        int want = push_body(c);
        if (want == SMTPC_CLIENT_WAIT)
            return want;
        c->io_busy = 0;
        if (want != SMTPC_WANT_BODY || !op->read)
            return want;
        size_t got = 0;
        int failed = op->read(op->user, c->io, cap, &got) != 0 || got > cap;
        if (c->free_asked) {
            /* Stop before these bytes or an end of data go anywhere. */
            smtpc_engine_abort(c->engine, SMTPC_ESTATE, FREE_IN_CALLBACK);
            return smtpc_client_pump(c);
        }
        if (failed) {
            /* SMTP cannot take back an open DATA: dropping the connection makes
             * the server discard the partial message. */
            smtpc_engine_abort(c->engine, SMTPC_ESOURCE,
                               SMTPC_TEXT("the message source failed during DATA; the "
                                          "connection was dropped so that no partial "
                                          "message is delivered"));
            return smtpc_client_pump(c);
        }
        if (got == 0)
            return SMTPC_WANT_BODY;
        c->io_busy = got;
        op->p = c->io;
        op->len = got;
    }
}

/* The exact size the server will count (line ends made CRLF) and whether
 * any byte is 8-bit, in one pass. */
static void measure_body(const uint8_t *p, size_t n, int64_t *size, int *eight_bit)
{
    /* Each bare CR or LF grows to a CRLF (a byte more); the sum is made
     * 64-bit once. */
    size_t extra = 0;
    uint8_t seen = 0;
    size_t i = 0;
    while (i < n) {
        i += smtpc_plain_run(p + i, n - i, &seen);
        if (i == n)
            break;
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            i++;
        else
            extra++;
        i++;
    }
    if (n && p[n - 1] != '\n' && p[n - 1] != '\r')
        extra += 2; /* the engine completes the last line */
    *size = (int64_t)n + (int64_t)extra;
    *eight_bit = (seen & 0x80) != 0;
}

/* One message: envelope, body, end of data, verdict. */
static int drive_send(smtpc_client *c)
{
    smtpc_client_op *op = &c->op;
    int want;
    if (op->phase == ENVELOPE) {
        want = smtpc_client_pump(c);
        if (want == SMTPC_CLIENT_WAIT)
            return SMTPC_INPROGRESS;
        if (want != SMTPC_WANT_BODY)
            goto done;
        start_message_clock(c);
        op->phase = BODY;
    }
    if (op->phase == BODY) {
        want = smtpc_client_body(c);
        if (want == SMTPC_CLIENT_WAIT)
            return SMTPC_INPROGRESS;
        if (want != SMTPC_WANT_BODY)
            goto done;
        smtpc_engine_body_end(c->engine);
        op->phase = END_OF_DATA;
    }
    want = smtpc_client_pump(c);
    if (want == SMTPC_CLIENT_WAIT)
        return SMTPC_INPROGRESS;
done:;
    int rc = finish_op(c, want, 1);
    return op->end ? op->end(c, rc) : rc;
}

int smtpc_client_send_op(smtpc_client *c, const uint8_t *body, size_t len, smtpc_read_fn read,
                         void *user)
{
    smtpc_client_op *op = &c->op;
    op->kind = CLIENT_OP_SEND;
    op->drive = drive_send;
    op->phase = ENVELOPE;
    op->is_send = 1;
    op->p = body;
    op->len = len;
    op->read = read;
    op->user = user;
    c->rd_waiting = c->wr_waiting = 0;
    return smtpc_client_run(c);
}

int smtpc_client_send(smtpc_client *c, const char *from, const char *const *rcpts,
                      size_t n_rcpts, const uint8_t *body, size_t body_len)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, "smtpc_client_send");
    if (rc)
        return rc;
    if (!body && body_len)
        return smtpc_client_leave(
            c, set_error(c, SMTPC_EINVAL, "smtpc_client_send: body is NULL but body_len is not 0"),
            0);
    int64_t size;
    int eight_bit;
    measure_body(body, body_len, &size, &eight_bit);
    rc = begin_send(c, from, rcpts, n_rcpts, size, eight_bit ? SMTPC_MAIL_8BITMIME : 0);
    if (rc)
        return smtpc_client_leave(c, rc, 0);
    return smtpc_client_send_op(c, body, body_len, NULL, NULL);
}

static int stream(smtpc_client *c, const char *fn, const char *from, const char *const *rcpts,
                  size_t n_rcpts, smtpc_read_fn read, void *user, int64_t size, int flags,
                  const smtpc_dsn *dsn)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, fn);
    if (rc)
        return rc;
    if (!read)
        return smtpc_client_leave(
            c, set_error(c, SMTPC_EINVAL, "smtpc_client_send_stream: no read callback"), 1);
    /* c->dsn is what begin_send puts on MAIL and RCPT; only for this call. */
    c->dsn = dsn;
    rc = begin_send(c, from, rcpts, n_rcpts, size, flags);
    c->dsn = NULL;
    if (rc)
        return smtpc_client_leave(c, rc, 1);
    return smtpc_client_send_op(c, NULL, 0, read, user);
}

int smtpc_client_send_stream(smtpc_client *c, const char *from, const char *const *rcpts,
                             size_t n_rcpts, smtpc_read_fn read, void *user, int64_t size,
                             int flags)
{
    return stream(c, "smtpc_client_send_stream", from, rcpts, n_rcpts, read, user, size, flags,
                  NULL);
}

int smtpc_client_send_stream_dsn(smtpc_client *c, const char *from,
                                 const char *const *rcpts, size_t n_rcpts, smtpc_read_fn read,
                                 void *user, int64_t size, int flags, const smtpc_dsn *dsn)
{
    return stream(c, "smtpc_client_send_stream_dsn", from, rcpts, n_rcpts, read, user, size,
                  flags, dsn);
}

/* RSET, NOOP (the session goes on) and QUIT (it ends, whatever happens). */
static int drive_simple(smtpc_client *c)
{
    int want = smtpc_client_pump(c);
    if (want == SMTPC_CLIENT_WAIT)
        return SMTPC_INPROGRESS;
    int rc;
    if (c->op.kind == CLIENT_OP_QUIT) {
        rc = want == SMTPC_WANT_CLOSE && smtpc_engine_result(c->engine) == 0
                 ? SMTPC_OK
                 : finish_op(c, want, 0);
        disconnect(c);
    } else {
        rc = finish_op(c, want, 0);
    }
    return rc;
}

static int simple_op(smtpc_client *c, const char *fn, int (*begin)(smtpc_engine *), int quit)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_start(c, fn);
    if (rc)
        return rc;
    if (quit) {
        smtpc_error_clear(&c->err);
        if (!c->connected)
            rc = set_error(c, SMTPC_ESTATE, "smtpc_client_quit: not connected");
    } else {
        rc = command_ready(c);
    }
    if (rc == 0 && (rc = begin(c->engine)) != 0)
        engine_error(c, rc);
    if (rc) {
        if (quit && c->connected)
            disconnect(c);
        return smtpc_client_leave(c, rc, 0);
    }
    c->op.kind = quit ? CLIENT_OP_QUIT : CLIENT_OP_SIMPLE;
    c->op.drive = drive_simple;
    c->rd_waiting = c->wr_waiting = 0;
    return smtpc_client_run(c);
}

int smtpc_client_rset(smtpc_client *c)
{
    return simple_op(c, "smtpc_client_rset", smtpc_engine_begin_rset, 0);
}

int smtpc_client_noop(smtpc_client *c)
{
    return simple_op(c, "smtpc_client_noop", smtpc_engine_begin_noop, 0);
}

int smtpc_client_quit(smtpc_client *c)
{
    return simple_op(c, "smtpc_client_quit", smtpc_engine_begin_quit, 1);
}

int smtpc_client_run(smtpc_client *c)
{
    int rc;
    for (;;) {
        rc = c->op.drive(c);
        if (rc != SMTPC_INPROGRESS)
            break;
        if (c->free_asked) {
            /* asked from a callback of this step: end now, not at the next */
            if (c->connected)
                smtpc_engine_abort(c->engine, SMTPC_ESTATE, FREE_IN_CALLBACK);
        } else if (c->nonblocking) {
            return smtpc_client_leave(c, rc, 0);
        }
    }
    int is_send = c->op.is_send;
    smtpc_client_op_clear(c);
    return smtpc_client_leave(c, rc, is_send);
}

/* --- non-blocking mode --- */

int smtpc_client_set_nonblocking(smtpc_client *c, int on)
{
    int ok = may_set(c, SET_NONBLOCKING, 0);
    if (ok)
        return ok;
    c->nonblocking = on != 0;
    return setting(c, SET_NONBLOCKING, SMTPC_OK, NULL);
}

int smtpc_client_step(smtpc_client *c)
{
    if (!c)
        return SMTPC_EINVAL;
    if (c->busy)
        return smtpc_error_set(&c->err, SMTPC_ESTATE,
                               "smtpc_client_step called inside a callback of this client "
                               "(trace, read or message source callback): not allowed");
    if (c->op.kind) {
        c->busy = 1;
        return smtpc_client_run(c);
    }
    int rc = smtpc_client_enter(c, "smtpc_client_step");
    if (rc)
        return rc;
    smtpc_error_clear(&c->err);
    if (!c->connected)
        rc = set_error(c, SMTPC_ESTATE,
                       "smtpc_client_step: no operation runs and no session is open");
    else
        rc = check_idle(c);
    return smtpc_client_leave(c, rc, 0);
}

int smtpc_client_fd(const smtpc_client *c)
{
    return c && c->transport ? smtpc_transport_fd(c->transport) : -1;
}

int smtpc_client_events(const smtpc_client *c)
{
    if (!c || !c->transport)
        return 0;
    if (c->op.kind)
        return c->events ? c->events : SMTPC_POLL_READ;
    return c->connected ? SMTPC_POLL_READ : 0;
}

/* ms until end (0: passed), folded into the nearest so far (-1: none). */
static int nearer(const smtpc_client *c, int best, uint32_t end)
{
    int left = ms_left(end - now_ms(c));
    return best < 0 || left < best ? left : best;
}

int smtpc_client_timeout(const smtpc_client *c)
{
    if (!c || !c->op.kind || !c->transport)
        return -1;
    if (c->op.kind == CLIENT_OP_CONNECT && c->op.phase == CONNECTING)
        return smtpc_transport_timeout(c->transport);
    if (!c->clock)
        return -1;
    int best = -1;
    if (c->rd_waiting)
        best = nearer(c, best, c->rd_end);
    if (c->wr_waiting)
        best = nearer(c, best, c->wr_end);
    if (c->hs_running == 2)
        best = nearer(c, best, c->hs_end);
    if (c->msg_clock)
        best = nearer(c, best, c->msg_end);
    return best;
}

/* --- for the batch sender (client_batch.c) --- */

void smtpc_client_measure_body(const uint8_t *p, size_t n, int64_t *size, int *eight_bit)
{
    measure_body(p, n, size, eight_bit);
}

void smtpc_client_start_message_clock(smtpc_client *c)
{
    start_message_clock(c);
}

int smtpc_client_begin_send(smtpc_client *c, const char *from, const char *const *rcpts,
                            size_t n_rcpts, int64_t size, int flags)
{
    return begin_send(c, from, rcpts, n_rcpts, size, flags);
}

int smtpc_client_end_op(smtpc_client *c, int want)
{
    return finish_op(c, want, 0);
}

/* --- results --- */

const smtpc_error *smtpc_client_error(const smtpc_client *c)
{
    return c ? &c->err : NULL;
}

smtpc_engine *smtpc_client_engine(smtpc_client *c)
{
    return c ? c->engine : NULL;
}
