/* The engine's core: creation, settings, the command queue and the pump. */
#include "fmt.h"
#include "engine_internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "command_writer.h"

#define DEFAULT_OUT_CAP 4096
#define DEFAULT_LINE_MAX 2048
/* Far above any real server's reply (an EHLO has a few dozen lines), far
 * below what keeps a client busy for minutes. */
#define DEFAULT_REPLY_MAX_LINES 1000
#define DEFAULT_REPLY_MAX_BYTES 65536

/* In half-minutes (every default is a multiple of 30 s): a byte each, a
 * quarter of the table of milliseconds. */
#define TIMEOUT_UNIT_MS 30000
static const uint8_t default_timeouts[SMTPC_TIMEOUT_COUNT] = {
    [SMTPC_TIMEOUT_CONNECT] = 30 / 30,    [SMTPC_TIMEOUT_GREETING] = 300 / 30,
    [SMTPC_TIMEOUT_COMMAND] = 300 / 30,   [SMTPC_TIMEOUT_MAIL] = 300 / 30,
    [SMTPC_TIMEOUT_RCPT] = 300 / 30,      [SMTPC_TIMEOUT_DATA_INIT] = 120 / 30,
    [SMTPC_TIMEOUT_DATA_BLOCK] = 180 / 30, [SMTPC_TIMEOUT_DATA_END] = 600 / 30,
    [SMTPC_TIMEOUT_TLS] = 60 / 30,        [SMTPC_TIMEOUT_MESSAGE] = 3600 / 30,
};

int smtpc_engine_new(const smtpc_allocator *alloc, const char *ehlo_name, size_t out_cap,
                     size_t line_max, smtpc_engine **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    if (!ehlo_name)
        ehlo_name = "localhost";
    if (!ehlo_name[0] || strlen(ehlo_name) > 255)
        return SMTPC_EINVAL;
    if (smtpc_cmd_check_value(ehlo_name, strlen(ehlo_name)) != 0 || strchr(ehlo_name, ' '))
        return SMTPC_EBADCHAR;
    if (out_cap == 0)
        out_cap = DEFAULT_OUT_CAP;
    if (line_max == 0)
        line_max = DEFAULT_LINE_MAX;
    if (out_cap < 1024 || line_max < 512)
        return SMTPC_EINVAL;

    smtpc_allocator a;
    if (smtpc_allocator_init(&a, alloc) != SMTPC_OK)
        return SMTPC_EINVAL;
    smtpc_engine *e = smtpc_alloc(&a, sizeof *e);
    if (!e)
        return SMTPC_ENOMEM;
    e->alloc = a;
    e->out_cap = out_cap;
    e->line_cap = line_max;
    /* A 334 may carry the largest challenge the SASL code decodes, even when
     * line_max bounds every other reply more tightly. */
    e->line_alloc = line_max > SMTPC_SASL_CHALLENGE_LINE ? line_max : SMTPC_SASL_CHALLENGE_LINE;
    e->reply_max_lines = DEFAULT_REPLY_MAX_LINES;
    e->reply_max_bytes = DEFAULT_REPLY_MAX_BYTES;
    e->ehlo_name = smtpc_strdup(&a, ehlo_name);
    e->out = smtpc_alloc(&a, out_cap);
    e->line = smtpc_alloc(&a, e->line_alloc);
    if (!e->ehlo_name || !e->out || !e->line) {
        smtpc_engine_free(e);
        return SMTPC_ENOMEM;
    }
    for (int i = 0; i < SMTPC_TIMEOUT_COUNT; i++)
        e->timeouts[i] = default_timeouts[i] * TIMEOUT_UNIT_MS;
    /* smtpc_alloc zero-fills: the rest starts as smtpc_engine_reset leaves
     * it (SMTPC_SECURITY_STARTTLS is 0; no capabilities, a clear error). */
    e->auth_allowed = SMTPC_AUTH_ALL;
    smtpc_reply_parser_init(&e->parser, e->line, e->line_cap);
    *out = e;
    return SMTPC_OK;
}

static void release_secrets(smtpc_engine *e)
{
    smtpc_strfree(&e->alloc, e->auth_user);
    smtpc_strfree(&e->alloc, e->auth_secret);
    e->auth_user = NULL;
    e->auth_secret = NULL;
    smtpc_sasl_clear(&e->sasl);
}

/* Every buffer may have held a credential or a reply quoting one: zeroed
 * before it goes back. p may be NULL. */
static void wipe_free(const smtpc_allocator *a, void *p, size_t n)
{
    smtpc_zeroize(p, n);
    smtpc_free(a, p, n);
}

void smtpc_engine_free(smtpc_engine *e)
{
    if (!e)
        return;
    smtpc_allocator a = e->alloc;
    release_secrets(e);
    smtpc_engine_mail_release(e);
    smtpc_strfree(&a, e->ehlo_name);
    wipe_free(&a, e->out, e->out_cap); /* may hold an AUTH line */
    wipe_free(&a, e->line, e->line_alloc);
    wipe_free(&a, e->redact_buf, SMTPC_REPLY_TEXT_MAX);
    wipe_free(&a, e->none, sizeof *e->none);
#if SMTPC_HAVE_TRACES /* else never allocated: set_trace refuses */
    wipe_free(&a, e->trace_buf, 2 * SMTPC_TRACE_LINE);
#endif
    wipe_free(&a, e, sizeof *e);
}

/* No operation runs. A closed engine has none either: its settings are for
 * the session after smtpc_engine_reset. */
static int configurable(const smtpc_engine *e)
{
    return e->op == SMTPC_OP_NONE;
}

/* No session has begun, or the last one is over. */
static int between_sessions(const smtpc_engine *e)
{
    return configurable(e) && (!e->caps.flags || e->closed);
}

#if SMTPC_SHORT_MESSAGES
/* Kept out of line: its thirty callers in this file would each carry a copy. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
int smtpc_engine_refuse_code(const smtpc_engine *e, int minus_code)
{
    /* Every engine comes from smtpc_engine_new (never a const object): a
     * query taking a const pointer may still record why it failed. */
    smtpc_engine *m = (smtpc_engine *)e;
    int code = -minus_code;
    smtpc_error_set_code(&m->refusal, code);
    m->refused = 1;
    return code;
}
#else
int (smtpc_engine_refuse)(const smtpc_engine *e, int code, const char *fn, const char *fmt, ...)
{
    /* Every engine comes from smtpc_engine_new (never a const object): a
     * query taking a const pointer may still record why it failed. */
    smtpc_engine *m = (smtpc_engine *)e;
    char why[SMTPC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    smtpc_error_set(&m->refusal, code, "%s: %s", fn, why);
    m->refused = 1;
    return code;
}
#endif

/* Why no new operation may start (a session or an operation in progress). */
static int refuse_busy(smtpc_engine *e, const char *fn)
{
    if (e->closed)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "the session is over (smtpc_engine_reset first)");
    if (e->op != SMTPC_OP_NONE)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn, "another operation is in progress");
    if (e->pend_count)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn, "replies are still awaited");
    if (e->out_len != e->out_sent)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "output is still unsent (smtpc_engine_output first)");
    return smtpc_engine_refuse(e, SMTPC_ESTATE, fn, "no session is ready");
}

static int refuse_setting(smtpc_engine *e, const char *fn)
{
    return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                               "not while a session is open (before "
                               "smtpc_engine_begin_session or once it is over)");
}

int smtpc_engine_set_security(smtpc_engine *e, int level)
{
    static const char fn[] = "smtpc_engine_set_security";
    if (!e)
        return SMTPC_EINVAL;
    if (level < SMTPC_SECURITY_STARTTLS || level > SMTPC_SECURITY_PLAIN)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "level %d out of range (%d..%d)", level,
                                   SMTPC_SECURITY_STARTTLS, SMTPC_SECURITY_PLAIN);
    if (!between_sessions(e))
        return refuse_setting(e, fn);
    e->security = level;
    if (!e->closed) /* the ended session's result stays; reset recomputes it */
        e->encrypted = level == SMTPC_SECURITY_IMPLICIT_TLS;
    return SMTPC_OK;
}

int smtpc_engine_set_timeout(smtpc_engine *e, int stage, int ms)
{
    if (!e)
        return SMTPC_EINVAL;
    if (stage < 0 || stage >= SMTPC_TIMEOUT_COUNT)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_set_timeout",
                                   "stage %d out of range (0..%d)", stage,
                                   SMTPC_TIMEOUT_COUNT - 1);
    e->timeouts[stage] = ms < 0 ? -1 : ms;
    return SMTPC_OK;
}

int smtpc_engine_get_timeout(const smtpc_engine *e, int stage, int *ms)
{
    if (!e)
        return SMTPC_EINVAL;
    if (!ms)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_get_timeout", "ms is NULL");
    if (stage < 0 || stage >= SMTPC_TIMEOUT_COUNT)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_get_timeout",
                                   "stage %d out of range (0..%d)", stage,
                                   SMTPC_TIMEOUT_COUNT - 1);
    *ms = e->timeouts[stage];
    return SMTPC_OK;
}

int smtpc_engine_set_trace(smtpc_engine *e, smtpc_trace_fn fn, void *user)
{
    if (!e)
        return SMTPC_EINVAL;
    if (fn && !SMTPC_HAVE_TRACES)
        return smtpc_engine_refuse(e, SMTPC_ENOTSUP, "smtpc_engine_set_trace",
                                   "traces are not built in (-Dtraces=false)");
    if (fn && !e->trace_buf && !(e->trace_buf = smtpc_alloc(&e->alloc, 2 * SMTPC_TRACE_LINE)))
        return smtpc_engine_refuse(e, SMTPC_ENOMEM, "smtpc_engine_set_trace",
                                   "no memory for the trace line buffer");
    e->trace = fn;
    e->trace_user = user;
    return SMTPC_OK;
}

int smtpc_engine_set_reply_limits(smtpc_engine *e, size_t max_lines, size_t max_bytes)
{
    if (!e)
        return SMTPC_EINVAL;
    if (max_bytes && max_bytes < 512) {
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_set_reply_limits",
                                   "max_bytes %s below 512 (0 for the default)",
                                   smtpc_fmt_size(num, max_bytes));
    }
    e->reply_max_lines = max_lines ? max_lines : DEFAULT_REPLY_MAX_LINES;
    e->reply_max_bytes = max_bytes ? max_bytes : DEFAULT_REPLY_MAX_BYTES;
    return SMTPC_OK;
}

int smtpc_engine_set_ehlo_name(smtpc_engine *e, const char *name)
{
    static const char fn[] = "smtpc_engine_set_ehlo_name";
    if (!e)
        return SMTPC_EINVAL;
    if (!name || !name[0] || strlen(name) > 255)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "name is %s",
                                   !name ? "NULL" : !name[0] ? "empty" : "over 255 bytes");
    if (!between_sessions(e))
        return refuse_setting(e, fn);
    if (smtpc_cmd_check_value(name, strlen(name)) != 0 || strchr(name, ' '))
        return smtpc_engine_refuse(e, SMTPC_EBADCHAR, fn,
                                   "name holds CR, LF, NUL, a control character or a space");
    char *copy = smtpc_strdup(&e->alloc, name);
    if (!copy)
        return smtpc_engine_refuse(e, SMTPC_ENOMEM, fn, "no memory for the name");
    smtpc_strfree(&e->alloc, e->ehlo_name);
    e->ehlo_name = copy;
    return SMTPC_OK;
}

int smtpc_engine_set_output_size(smtpc_engine *e, size_t out_cap)
{
    static const char fn[] = "smtpc_engine_set_output_size";
    if (!e)
        return SMTPC_EINVAL;
    if (out_cap < 1024)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "out_cap is below 1024");
    /* Between sessions with nothing unsent: the window holds no bytes. */
    if (!between_sessions(e) || e->out_len != e->out_sent)
        return refuse_setting(e, fn);
    if (out_cap == e->out_cap)
        return SMTPC_OK;
    uint8_t *out = smtpc_alloc(&e->alloc, out_cap);
    if (!out)
        return smtpc_engine_refuse(e, SMTPC_ENOMEM, fn, "no memory for the output buffer");
    wipe_free(&e->alloc, e->out, e->out_cap); /* may hold an AUTH line */
    e->out = out;
    e->out_cap = out_cap;
    e->out_len = e->out_sent = 0;
    return SMTPC_OK;
}

int smtpc_engine_reset(smtpc_engine *e)
{
    if (!e)
        return SMTPC_EINVAL;
    smtpc_engine_mail_release(e);
    smtpc_sasl_clear(&e->sasl);
    smtpc_zeroize(e->out, e->out_cap);
    smtpc_reply_parser_init(&e->parser, e->line, e->line_cap);
    /* The two blocks of state (engine_internal.h): the flags, the
     * transaction's fields (refused among them; SMTPC_OP_NONE and
     * SMTPC_MESSAGE_NOT_SENT are 0), the output window, the reply queue and
     * counters, the capabilities (as smtpc_ehlo_caps_init leaves them) and
     * err (as smtpc_error_clear leaves it), then AUTH's progress and the
     * secret marks. */
    _Static_assert(offsetof(smtpc_engine, closed) < offsetof(smtpc_engine, err) &&
                       offsetof(smtpc_engine, auth_mech) < offsetof(smtpc_engine, parser),
                   "smtpc_engine_reset's two blocks are out of order (engine_internal.h)");
    char *base = (char *)e;
    memset(base + offsetof(smtpc_engine, closed), 0,
           offsetof(smtpc_engine, err) + sizeof e->err - offsetof(smtpc_engine, closed));
    memset(base + offsetof(smtpc_engine, auth_mech), 0,
           offsetof(smtpc_engine, parser) - offsetof(smtpc_engine, auth_mech));
    e->encrypted = e->security == SMTPC_SECURITY_IMPLICIT_TLS;
    return SMTPC_OK;
}

/* --- AUTH settings --- */

/* Without XOAUTH2/OAUTHBEARER, a copy in each caller: the password's has no
 * token code, the token's little more than its refusals. */
#if defined(__GNUC__) && !SMTPC_HAVE_SASL_EXTRA
__attribute__((always_inline))
#endif
static inline int set_secret(smtpc_engine *e, const char *user, const char *secret, int is_token)
{
    const char *fn = is_token ? "smtpc_engine_set_oauth_token" : "smtpc_engine_set_credentials";
    const char *what = is_token ? "token" : "password";
    if (!e)
        return SMTPC_EINVAL;
    if (!configurable(e))
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn, "not while an operation is in progress");
    if (user && !secret)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, fn, "user given but the %s is NULL", what);
    if (user && smtpc_cmd_check_value(user, strlen(user)))
        return smtpc_engine_refuse(e, SMTPC_EBADCHAR, fn, "user holds CR, LF or NUL");
    if (user && smtpc_cmd_check_value(secret, strlen(secret)))
        return smtpc_engine_refuse(e, SMTPC_EBADCHAR, fn, "%s holds CR, LF or NUL", what);
    if (user && is_token && !SMTPC_HAVE_SASL_EXTRA)
        return smtpc_engine_refuse(e, SMTPC_ENOTSUP, fn,
                                   "XOAUTH2 and OAUTHBEARER are compiled out "
                                   "(-Dsasl_extra=false)");
    release_secrets(e);
    if (!user)
        return SMTPC_OK;
    if (!e->redact_buf && !(e->redact_buf = smtpc_alloc(&e->alloc, SMTPC_REPLY_TEXT_MAX)))
        return smtpc_engine_refuse(e, SMTPC_ENOMEM, fn, "no memory for the credentials");
    e->auth_user = smtpc_strdup(&e->alloc, user);
    e->auth_secret = smtpc_strdup(&e->alloc, secret);
    if (!e->auth_user || !e->auth_secret) {
        release_secrets(e);
        return smtpc_engine_refuse(e, SMTPC_ENOMEM, fn, "no memory for the credentials");
    }
    if (SMTPC_HAVE_SASL_EXTRA) /* else a token was refused: never set */
        e->auth_is_token = is_token;
    return SMTPC_OK;
}

int smtpc_engine_set_credentials(smtpc_engine *e, const char *user, const char *password)
{
    return set_secret(e, user, password, 0);
}

int smtpc_engine_set_oauth_token(smtpc_engine *e, const char *user, const char *token)
{
    return set_secret(e, user, token, 1);
}

/* What a mask naming only mechanisms outside this build asks for. */
#if SMTPC_HAVE_SASL_EXTRA
#define MECHS_LEFT_OUT \
    "CRAM-MD5 and SCRAM-SHA-256 are not in this build (built with -Dsasl_crypto=disabled)"
#elif SMTPC_HAVE_SASL_CRYPTO
#define MECHS_LEFT_OUT \
    "LOGIN, XOAUTH2 and OAUTHBEARER are not in this build (built with -Dsasl_extra=false)"
#else
#define MECHS_LEFT_OUT \
    "only PLAIN is in this build (built with -Dsasl_crypto=disabled and -Dsasl_extra=false)"
#endif

int smtpc_engine_set_auth_mechanisms(smtpc_engine *e, int mask)
{
    if (!e)
        return SMTPC_EINVAL;
    if (mask <= 0 || (mask & ~SMTPC_AUTH_ALL))
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_set_auth_mechanisms",
                                   "mask 0x%x is empty or has bits outside SMTPC_AUTH_ALL",
                                   (unsigned)mask);
    if (!(mask & smtpc_sasl_available()))
        return smtpc_engine_refuse(e, SMTPC_ENOTSUP, "smtpc_engine_set_auth_mechanisms",
                                   "%s", MECHS_LEFT_OUT);
    e->auth_allowed = mask;
    return SMTPC_OK;
}

int smtpc_engine_allow_plaintext_auth(smtpc_engine *e, int allow)
{
    if (!e)
        return SMTPC_EINVAL;
    e->allow_plaintext_auth = allow != 0;
    return SMTPC_OK;
}

int smtpc_engine_set_random(smtpc_engine *e, smtpc_random_fn fn, void *user)
{
    if (!e)
        return SMTPC_EINVAL;
    e->random = fn;
    e->random_user = user;
    return SMTPC_OK;
}

const char *smtpc_engine_auth_mechanism(const smtpc_engine *e)
{
    if (!e || !e->auth_done)
        return "";
    return smtpc_sasl_mech_name(e->auth_mech);
}

/* --- trace and the command queue --- */

void (smtpc_engine_trace)(smtpc_engine *e, int dir, const char *fmt, ...)
{
    if (!SMTPC_HAVE_TRACES || !e->trace)
        return;
    char *buf = e->trace_buf;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, SMTPC_TRACE_LINE, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < SMTPC_TRACE_LINE ? (size_t)n : SMTPC_TRACE_LINE - 1;
    e->trace(e->trace_user, dir, buf, len);
}

int smtpc_engine_expect(smtpc_engine *e, int kind, size_t index)
{
    if (e->pend_count == SMTPC_PENDING_MAX)
        return SMTPC_ESTATE;
    size_t slot = (e->pend_head + e->pend_count) % SMTPC_PENDING_MAX;
    e->pending[slot].kind = (uint8_t)kind;
    e->pending[slot].index = index;
    e->pend_count++;
    return SMTPC_OK;
}

void smtpc_engine_compact_output(smtpc_engine *e)
{
    if (e->out_sent != e->out_len)
        return;
#if SMTPC_HAVE_CHUNKING /* else no chunk is ever filled */
    if (e->chunk_fill && e->out_len) /* the BDAT chunk being filled moves along */
        memmove(e->out, e->out + e->out_len, e->chunk_fill);
    e->bdat_flush = 0;
#endif
    e->out_sent = e->out_len = 0;
}

int smtpc_engine_queue_written(smtpc_engine *e, int kind, size_t index, size_t start)
{
    int rc = smtpc_engine_expect(e, kind, index);
    if (rc != 0) {
        e->out_len = start;
        return rc;
    }
    smtpc_engine_trace(e, SMTPC_TRACE_SEND, "%.*s", (int)(e->out_len - start - 2),
                       (const char *)e->out + start);
    return SMTPC_OK;
}

int smtpc_engine_queue(smtpc_engine *e, int kind, const char *verb, const char *arg)
{
    smtpc_engine_compact_output(e);
    size_t start = e->out_len;
    int rc = smtpc_cmd_write(e->out, e->out_cap, &e->out_len, verb, arg);
    if (rc != 0)
        return rc;
    return smtpc_engine_queue_written(e, kind, 0, start);
}

/* A line built elsewhere (MAIL/RCPT from the command writer, SASL responses
 * which may exceed 512 octets per RFC 4954). redact: 0 trace all, 1 trace
 * only the first word ("AUTH PLAIN" of "AUTH PLAIN secret"), 2 trace nothing
 * of it. */
int smtpc_engine_queue_raw(smtpc_engine *e, int kind, const char *line, size_t len, int redact)
{
    smtpc_engine_compact_output(e);
    if (smtpc_cmd_check_value(line, len)) /* CR, LF or NUL */
        return SMTPC_EBADCHAR;
    if (len + 2 > e->out_cap - e->out_len)
        return SMTPC_ETOOLONG;
    int rc = smtpc_engine_expect(e, kind, 0);
    if (rc != 0)
        return rc;
    char *at = (char *)e->out + e->out_len;
    memmove(at, line, len); /* line may already sit in out */
    at[len] = '\r';
    at[len + 1] = '\n';
    e->out_len += len + 2;
    if (redact == 0) {
        smtpc_engine_trace(e, SMTPC_TRACE_SEND, "%.*s", (int)len, line);
    } else {
        size_t keep = 0;
        if (redact == 1) {
            /* "AUTH MECH" stays readable; what follows the second space is secret. */
            int spaces = 0;
            while (keep < len && !(line[keep] == ' ' && ++spaces == 2))
                keep++;
        }
        const char *secret = at + keep;
        size_t secret_len = len - keep;
        if (keep && secret_len) {
            secret++; /* the space */
            secret_len--;
        }
        smtpc_engine_note_secret(e, secret, secret_len);
        smtpc_engine_trace(e, SMTPC_TRACE_SEND, "%.*s%s<redacted>", (int)keep, line,
                           keep ? " " : "");
    }
    return SMTPC_OK;
}

void smtpc_engine_finish(smtpc_engine *e, int result)
{
    e->result = result;
    e->op = SMTPC_OP_NONE;
    smtpc_engine_mail_ended(e);
}

static void close_session(smtpc_engine *e)
{
    /* The terminator went out and no reply to it was understood (garbage,
     * an over-long line, ...): the server may have taken the message. */
    if (e->body_ended && e->message_status == SMTPC_MESSAGE_NOT_SENT)
        e->message_status = SMTPC_MESSAGE_UNKNOWN;
    e->closed = 1;
    e->op = SMTPC_OP_NONE;
    e->pend_count = 0;
    e->tls_wanted = 0;
    e->in_body = 0;
    e->out_len = e->out_sent = 0;
    if (SMTPC_HAVE_CHUNKING) /* else always 0 */
        e->chunk_fill = 0;
    smtpc_engine_mail_ended(e);
}

int smtpc_engine_fail(smtpc_engine *e, int send_quit)
{
    if (e->body_ended && e->message_status == SMTPC_MESSAGE_NOT_SENT && !e->quitting) {
        /* Whatever broke after the final dot, the server may have taken the
         * message: say so first, the cause second. */
#if SMTPC_SHORT_MESSAGES
        smtpc_engine_set_error(e, -SMTPC_EUNKNOWN); /* no cause text to keep */
#else
        char cause[SMTPC_ERRMSG_MAX];
        smtpc_copy_text(cause, sizeof cause, smtpc_error_message(&e->err));
        smtpc_engine_err(e, SMTPC_EUNKNOWN,
                         "no valid reply after the end of data (%.160s): the server may or "
                         "may not have accepted the message",
                         cause);
#endif
    }
    e->result = e->err.code;
    if (send_quit && !e->quitting) {
        smtpc_engine_mail_ended(e);
        e->quitting = 1;
        e->pend_count = 0;
        e->in_body = 0;
        e->out_len = e->out_sent = 0;
        if (SMTPC_HAVE_CHUNKING)
            e->chunk_fill = 0;
        e->op = SMTPC_OP_QUIT;
        if (smtpc_engine_queue(e, SMTPC_PK_QUIT, "QUIT", NULL) == 0)
            return e->result;
    }
    close_session(e);
    return e->result;
}

#if SMTPC_SHORT_MESSAGES
int smtpc_engine_set_error(smtpc_engine *e, int minus_code)
{
    return smtpc_error_set_code(&e->err, -minus_code);
}

int smtpc_engine_set_reply_error(smtpc_engine *e, int minus_code, const smtpc_reply *reply)
{
    return (smtpc_error_set_reply)(&e->err, -minus_code, reply, NULL);
}

int smtpc_engine_fail_code(smtpc_engine *e, int minus_code, int send_quit)
{
    smtpc_error_set_code(&e->err, -minus_code);
    return smtpc_engine_fail(e, send_quit);
}
#endif

#if SMTPC_SHORT_MESSAGES
int smtpc_engine_is_421(smtpc_engine *e, const smtpc_reply *reply)
{
    const char *what = NULL; /* dropped: the record names the code */
#else
int smtpc_engine_check_421(smtpc_engine *e, const smtpc_reply *reply, const char *what)
{
#endif
    if (reply->code != 421)
        return 0;
    smtpc_engine_err_reply(e, SMTPC_ESHUTDOWN, reply, what);
    if (e->body_ended && e->message_status == SMTPC_MESSAGE_NOT_SENT)
        e->message_status = SMTPC_MESSAGE_REJECTED;
    e->result = SMTPC_ESHUTDOWN;
    close_session(e);
    return 1;
}

/* --- operations --- */

static int begin(smtpc_engine *e, const char *fn)
{
    if (e->closed && e->err.code)
        return e->err.code; /* sticky: err still says why the session ended */
    if (e->closed || e->op != SMTPC_OP_NONE || e->pend_count || e->out_len != e->out_sent)
        return refuse_busy(e, fn);
    if (smtpc_reply_parser_busy(&e->parser)) {
        /* Bytes of a reply to nothing arrived after the last operation. */
        return smtpc_engine_fail_with(e, 0, SMTPC_EUNEXPECTED,
                                      "server sent data no command asked for");
    }
    smtpc_error_clear(&e->err);
    e->result = 0;
    return SMTPC_OK;
}

int smtpc_engine_begin_session(smtpc_engine *e)
{
    static const char fn[] = "smtpc_engine_begin_session";
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    if (e->caps.flags || e->auth_done)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, fn,
                                   "a session has already begun (one per engine; "
                                   "smtpc_engine_reset for the next)");
    int rc = begin(e, fn);
    if (rc)
        return rc;
    e->op = SMTPC_OP_SESSION;
    /* RFC 8314: with implicit TLS even the greeting comes encrypted. */
    e->tls_wanted = e->security == SMTPC_SECURITY_IMPLICIT_TLS;
    return smtpc_engine_expect(e, SMTPC_PK_GREETING, 0);
}

static int begin_simple(smtpc_engine *e, int op, int kind, const char *verb, const char *fn)
{
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    int rc = begin(e, fn);
    if (rc)
        return rc;
    rc = smtpc_engine_queue(e, kind, verb, NULL);
    if (rc)
        return smtpc_engine_refuse(e, rc, fn, "could not queue %s: %s", verb,
                                   smtpc_strerror(rc));
    e->op = op;
    return SMTPC_OK;
}

int smtpc_engine_begin_rset(smtpc_engine *e)
{
    return begin_simple(e, SMTPC_OP_RSET, SMTPC_PK_RSET, "RSET",
                        "smtpc_engine_begin_rset");
}

int smtpc_engine_begin_noop(smtpc_engine *e)
{
    return begin_simple(e, SMTPC_OP_NOOP, SMTPC_PK_NOOP, "NOOP",
                        "smtpc_engine_begin_noop");
}

int smtpc_engine_begin_quit(smtpc_engine *e)
{
    return begin_simple(e, SMTPC_OP_QUIT, SMTPC_PK_QUIT, "QUIT",
                        "smtpc_engine_begin_quit");
}

/* --- the pump --- */

int smtpc_engine_want(const smtpc_engine *e)
{
    if (!e || e->closed)
        return SMTPC_WANT_CLOSE;
    int filling = smtpc_engine_bdat_filling(e);
    if (e->out_sent < e->out_len && !filling)
        return SMTPC_WANT_WRITE;
    if (e->tls_wanted)
        return SMTPC_WANT_TLS;
    if (filling)
        return SMTPC_WANT_BODY;
    if (e->pend_count)
        return SMTPC_WANT_READ;
    if (e->in_body)
        return SMTPC_WANT_BODY;
    return SMTPC_WANT_IDLE;
}

static int stage_of(int kind)
{
    switch (kind) {
    case SMTPC_PK_GREETING: return SMTPC_TIMEOUT_GREETING;
    case SMTPC_PK_MAIL: return SMTPC_TIMEOUT_MAIL;
    case SMTPC_PK_RCPT: return SMTPC_TIMEOUT_RCPT;
    case SMTPC_PK_DATA: return SMTPC_TIMEOUT_DATA_INIT;
    case SMTPC_PK_END_OF_DATA:
    case SMTPC_PK_PREV_END_OF_DATA:
    case SMTPC_PK_BDAT_LAST:
    case SMTPC_PK_DISCARD_DATA: return SMTPC_TIMEOUT_DATA_END;
    case SMTPC_PK_BDAT: return SMTPC_TIMEOUT_DATA_BLOCK;
    default: return SMTPC_TIMEOUT_COMMAND;
    }
}

int smtpc_engine_timeout_ms(const smtpc_engine *e)
{
    if (!e)
        return -1;
    switch (smtpc_engine_want(e)) {
    case SMTPC_WANT_WRITE:
        return e->in_body || e->body_ended ? e->timeouts[SMTPC_TIMEOUT_DATA_BLOCK]
                                           : e->timeouts[SMTPC_TIMEOUT_COMMAND];
    case SMTPC_WANT_READ:
        return e->timeouts[stage_of(e->pending[e->pend_head].kind)];
    case SMTPC_WANT_TLS: return e->timeouts[SMTPC_TIMEOUT_TLS];
    default: return e->timeouts[SMTPC_TIMEOUT_COMMAND];
    }
}

uint32_t smtpc_engine_reply_count(const smtpc_engine *e)
{
    return e ? e->replies : 0;
}

int smtpc_engine_output(smtpc_engine *e, const uint8_t **data, size_t *len)
{
    if (!e)
        return SMTPC_EINVAL;
    if (!data || !len)
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_output", "%s is NULL",
                                   !data ? "data" : "len");
    *data = e->out + e->out_sent;
    *len = e->out_len - e->out_sent;
    return SMTPC_OK;
}

int smtpc_engine_output_done(smtpc_engine *e, size_t n)
{
    if (!e)
        return SMTPC_EINVAL;
    if (n > e->out_len - e->out_sent) {
        char num[SMTPC_FMT_INT_MAX], pending[SMTPC_FMT_INT_MAX];
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_output_done",
                                   "%s bytes acknowledged, only %s were pending",
                                   smtpc_fmt_size(num, n),
                                   smtpc_fmt_size(pending, e->out_len - e->out_sent));
    }
    e->out_sent += n;
    smtpc_engine_compact_output(e);
    return SMTPC_OK;
}

static void dispatch(smtpc_engine *e, const smtpc_pending *p, const smtpc_reply *reply,
                     size_t leftover)
{
    switch (p->kind) {
    case SMTPC_PK_GREETING:
    case SMTPC_PK_EHLO:
    case SMTPC_PK_HELO:
    case SMTPC_PK_STARTTLS:
    case SMTPC_PK_AUTH:
        smtpc_engine_on_session_reply(e, p->kind, reply, leftover);
        break;
    case SMTPC_PK_MAIL:
    case SMTPC_PK_RCPT:
    case SMTPC_PK_DATA:
    case SMTPC_PK_END_OF_DATA:
    case SMTPC_PK_PREV_END_OF_DATA:
    case SMTPC_PK_DISCARD_DATA:
    case SMTPC_PK_BDAT:
    case SMTPC_PK_BDAT_LAST:
        smtpc_engine_on_mail_reply(e, p->kind, p->index, reply);
        break;
    case SMTPC_PK_QUIT:
        /* Whatever QUIT gets, the session is over; a fatal error stays. */
        if (!e->quitting && reply->code != 221 && reply->code != 250)
            smtpc_engine_err_reply(e, reply->code == 421 ? SMTPC_ESHUTDOWN : SMTPC_ECOMMAND,
                                   reply,
                                   reply->code == 421 ? "service closing" : "QUIT refused");
        e->result = e->err.code;
        close_session(e);
        break;
    case SMTPC_PK_RSET:
        if (e->op == SMTPC_OP_MAIL) {
            smtpc_engine_on_mail_reply(e, p->kind, p->index, reply);
            break;
        }
        /* fall through */
    default: /* RSET, NOOP */
        if (smtpc_engine_check_421(e, reply, "service closing"))
            break;
        smtpc_engine_finish(e, reply->code / 100 == 2
                                   ? 0
                                   : smtpc_engine_err_reply(e, SMTPC_ECOMMAND, reply,
                                                            p->kind == SMTPC_PK_RSET
                                                                ? "RSET refused"
                                                                : "NOOP refused"));
        break;
    }
}

static int is_auth_pending(const smtpc_engine *e)
{
    return e->pend_count && e->pending[e->pend_head].kind == SMTPC_PK_AUTH;
}

/* A reply past its line or byte bound: the server is not going to stop, so
 * neither QUIT nor reading on makes sense. */
static int reply_over_limit(smtpc_engine *e, const char *what, size_t limit)
{
    if (e->quitting)
        return smtpc_engine_fail(e, 0);
    smtpc_engine_redact_reply(e);
    const smtpc_reply *reply = &e->parser.reply;
#if SMTPC_SHORT_MESSAGES
    /* The same record, the code's name heading the reply. */
    (void)what;
    (void)limit;
    smtpc_engine_err_reply(e, SMTPC_EREPLYLIMIT, reply, "");
#else
    char num[SMTPC_FMT_INT_MAX];
    smtpc_engine_err(e, SMTPC_EREPLYLIMIT,
                     "server reply %03d has more than %s %s (smtpc_engine_set_reply_limits)",
                     reply->code, smtpc_fmt_size(num, limit), what);
    e->err.reply_code = reply->code;
    memcpy(e->err.enhanced, reply->enhanced, sizeof e->err.enhanced);
    memcpy(e->err.reply_text, reply->text, sizeof e->err.reply_text);
#endif
    return smtpc_engine_fail(e, 0);
}

int smtpc_engine_feed(smtpc_engine *e, const uint8_t *data, size_t len)
{
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    if (!data && len) {
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_engine_refuse(e, SMTPC_EINVAL, "smtpc_engine_feed",
                                   "data is NULL with len %s", smtpc_fmt_size(num, len));
    }
    if (e->closed)
        return e->err.code ? e->err.code
                           : smtpc_engine_refuse(e, SMTPC_ESTATE, "smtpc_engine_feed",
                                                 "the session is over");
    if (e->tls_wanted && len && e->encrypted == 0 && e->pend_count == 0) {
        /* Read after the STARTTLS 220, before the handshake: plaintext injected. */
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_engine_fail_with(e, 0, SMTPC_EINJECTION,
                                      "server sent %s plaintext bytes after the STARTTLS 220 "
                                      "reply (response injection); connection abandoned",
                                      smtpc_fmt_size(num, len));
    }
    /* Replies in this input can only answer commands already written. With
     * all output sent, that is every pending command; one the engine queues
     * while handling this input has not reached the server, so a reply to it
     * in the same input was sent before the command was seen. (A driver that
     * feeds with output still unsent gets no such check.) */
    size_t answerable = e->out_sent == e->out_len ? e->pend_count : SIZE_MAX;
    size_t pos = 0;
    while (pos < len && !e->closed) {
        size_t used = 0;
        /* A 334 may carry a SASL challenge longer than line_max. */
        e->parser.line_cap = is_auth_pending(e) ? e->line_alloc : e->line_cap;
        int rc = smtpc_reply_parser_feed(&e->parser, data + pos, len - pos, &used);
        pos += used;
        if (rc < 0) {
            if (e->quitting) /* the error that made us quit stands */
                return smtpc_engine_fail(e, 0);
            char num[SMTPC_FMT_INT_MAX];
            if (rc == SMTPC_ELINE)
                return smtpc_engine_fail_with(e, 0, rc, "server reply line longer than %s bytes",
                                              smtpc_fmt_size(num, e->parser.line_cap));
            return smtpc_engine_fail_with(e, 0, rc, "malformed server reply");
        }
        e->reply_bytes += used;
        if (e->reply_bytes > e->reply_max_bytes)
            return reply_over_limit(e, "bytes", e->reply_max_bytes);
        if (rc == SMTPC_PARSE_MORE)
            break;
        if (e->reply_lines + 1 > e->reply_max_lines)
            return reply_over_limit(e, "lines", e->reply_max_lines);
        smtpc_engine_redact_reply(e);
        const smtpc_reply *reply = &e->parser.reply;
        size_t tlen = 0;
        const char *text = smtpc_reply_parser_line_text(&e->parser, &tlen);
        if (is_auth_pending(e) && reply->code == 334) {
            smtpc_engine_trace(e, SMTPC_TRACE_RECV, "334 <redacted>");
        } else if (SMTPC_HAVE_TRACES && e->secrets_n && e->trace) {
            char *clean = e->trace_buf + SMTPC_TRACE_LINE;
            size_t n = smtpc_engine_redact(e, text, tlen, clean, SMTPC_TRACE_LINE);
            smtpc_engine_trace(e, SMTPC_TRACE_RECV, "%03d%c%.*s", reply->code,
                               rc == SMTPC_PARSE_LINE ? '-' : ' ', (int)n, clean);
        } else {
            smtpc_engine_trace(e, SMTPC_TRACE_RECV, "%03d%c%.*s", reply->code,
                               rc == SMTPC_PARSE_LINE ? '-' : ' ', (int)tlen, text);
        }
        if (!e->pend_count || answerable == 0) {
            if (rc == SMTPC_PARSE_DONE && smtpc_engine_check_421(e, reply, "service closing"))
                return SMTPC_ESHUTDOWN;
            if (e->quitting)
                return smtpc_engine_fail(e, 0);
            return smtpc_engine_fail_with(e, 0, SMTPC_EUNEXPECTED,
                                          "server sent a reply no command asked for: %03d "
                                          "%.100s",
                                          reply->code, reply->text);
        }
        smtpc_pending *head = &e->pending[e->pend_head];
        int first_line = e->reply_lines++ == 0;
        if (head->kind == SMTPC_PK_EHLO && reply->code == 250) {
            /* The first line names the server; capabilities follow. */
            if (first_line)
                smtpc_ehlo_caps_init(&e->caps);
            else
                smtpc_ehlo_caps_line(&e->caps, text, tlen);
        }
        if (rc == SMTPC_PARSE_LINE)
            continue;
        e->reply_lines = e->reply_bytes = 0;
        smtpc_pending p = *head;
        e->pend_head = (e->pend_head + 1) % SMTPC_PENDING_MAX;
        e->pend_count--;
        e->replies++;
        if (answerable != SIZE_MAX)
            answerable--;
        size_t leftover = len - pos + (size_t)smtpc_reply_parser_busy(&e->parser);
        dispatch(e, &p, reply, leftover);
    }
    if (e->closed)
        return e->err.code;
    /* The operation is over (or only the QUIT after a fatal error is left). */
    if (e->op == SMTPC_OP_NONE || e->quitting)
        return e->result;
    return SMTPC_OK;
}

int smtpc_engine_tls_done(smtpc_engine *e, int ok, int code, const char *message)
{
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    if (!e->tls_wanted)
        return smtpc_engine_refuse(e, SMTPC_ESTATE, "smtpc_engine_tls_done",
                                   "no TLS handshake was asked for (want is not "
                                   "SMTPC_WANT_TLS)");
    e->tls_wanted = 0;
    if (!ok) {
        if (code >= 0)
            code = SMTPC_ETLS_HANDSHAKE;
        return smtpc_engine_fail_with(e, 0, code, "TLS handshake failed: %s",
                                      message ? message : smtpc_strerror(code));
    }
    e->encrypted = 1;
    e->tls_verified = ok == SMTPC_TLS_DONE_VERIFIED;
    smtpc_engine_trace(e, SMTPC_TRACE_INFO, "TLS established");
    if (e->pend_count && e->pending[e->pend_head].kind == SMTPC_PK_GREETING)
        return SMTPC_OK; /* implicit TLS: now read the greeting */
    smtpc_engine_session_after_tls(e);
    return SMTPC_OK;
}

int smtpc_engine_abort(smtpc_engine *e, int code, const char *message)
{
    if (!e)
        return SMTPC_EINVAL;
    e->refused = 0;
    if (e->closed)
        return e->err.code;
    if (code >= 0)
        code = SMTPC_EIO;
    if (e->quitting) {
        /* The first error stands; the server going away after it is expected. */
        close_session(e);
        e->result = e->err.code;
        return e->err.code;
    }
    const char *why = SMTPC_TEXT(message && message[0] ? message : smtpc_strerror(code));
    if (e->body_ended && e->message_status == SMTPC_MESSAGE_NOT_SENT) {
        e->message_status = SMTPC_MESSAGE_UNKNOWN;
        smtpc_engine_err(e, SMTPC_EUNKNOWN,
                         "connection lost after the end of data (%s): the server may or may "
                         "not have accepted the message",
                         why);
    } else {
        smtpc_engine_err(e, code, "%s", why);
    }
    close_session(e);
    e->result = e->err.code;
    return e->err.code;
}

/* --- results --- */

int smtpc_engine_result(const smtpc_engine *e)
{
    return e ? e->result : SMTPC_EINVAL;
}

const smtpc_error *smtpc_engine_error(const smtpc_engine *e)
{
    if (!e)
        return NULL;
    return e->refused ? &e->refusal : &e->err;
}

int smtpc_engine_capabilities(const smtpc_engine *e)
{
    return e ? e->caps.flags : 0;
}

uint64_t smtpc_engine_size_limit(const smtpc_engine *e)
{
    return e ? e->caps.size_max : 0;
}

int smtpc_engine_is_encrypted(const smtpc_engine *e)
{
    return e ? e->encrypted : 0;
}
