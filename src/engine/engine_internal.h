/* The engine's state, shared by its source files:
 *   engine.c          creation, settings, the pump (want/output/feed), results
 *   engine_session.c  greeting, EHLO/HELO, STARTTLS, AUTH
 *   engine_mail.c     the mail transaction: MAIL, RCPT, DATA, body, end of data
 *   engine_chain.c    the next transaction chained behind an end of data; verdicts
 *   engine_bdat.c     CHUNKING: the body in BDAT chunks
 * Every state change happens in a reply handler, and every handler is reached
 * from one dispatch in engine.c. */
#ifndef SMTPC_ENGINE_INTERNAL_H
#define SMTPC_ENGINE_INTERNAL_H

#include "smtpc/auth.h"
#include "smtpc/engine.h"
#include "dot_stuffer.h"
#include "ehlo_caps.h"
#include "error.h"
#include "reply_parser.h"
#include "sasl.h"

/* What a queued command's reply means. */
enum smtpc_pending_kind {
    SMTPC_PK_GREETING,
    SMTPC_PK_EHLO,
    SMTPC_PK_HELO,
    SMTPC_PK_STARTTLS,
    SMTPC_PK_AUTH,
    SMTPC_PK_MAIL,
    SMTPC_PK_RCPT,
    SMTPC_PK_DATA,
    SMTPC_PK_END_OF_DATA,
    SMTPC_PK_DISCARD_DATA, /* "." sent after a 354 that came with no recipient */
    SMTPC_PK_RSET,
    SMTPC_PK_NOOP,
    SMTPC_PK_QUIT,
    SMTPC_PK_PREV_END_OF_DATA, /* end of data of a message chained past (engine_mail.c) */
    SMTPC_PK_BDAT,             /* a BDAT chunk (engine_bdat.c) */
    SMTPC_PK_BDAT_LAST,        /* BDAT ... LAST: the end of data */
};

/* The operation in progress. */
enum smtpc_op { SMTPC_OP_NONE, SMTPC_OP_SESSION, SMTPC_OP_MAIL, SMTPC_OP_RSET, SMTPC_OP_NOOP,
                SMTPC_OP_QUIT };

/* At most this many commands wait for replies at once (one pipelined group). */
#define SMTPC_PENDING_MAX 64
/* Reply text kept per recipient. */
#define SMTPC_RCPT_TEXT_MAX 160

typedef struct smtpc_pending {
    uint8_t kind;
    size_t index; /* recipient index for RCPT */
} smtpc_pending;

/* Secret lines remembered per session (PLAIN 1, LOGIN 2, SCRAM 2) and how
 * much of each: enough to recognise an echo, even a truncated one. */
#define SMTPC_SECRET_MARKS 4
#define SMTPC_SECRET_PREFIX 32

typedef struct smtpc_secret_mark {
    char prefix[SMTPC_SECRET_PREFIX];
    size_t keep; /* bytes of prefix used */
    size_t len;  /* length of the whole line */
} smtpc_secret_mark;

typedef struct smtpc_rcpt_result {
    int code;
    char enhanced[SMTPC_ENHANCED_MAX];
    char text[SMTPC_RCPT_TEXT_MAX];
} smtpc_rcpt_result;

/* A transaction whose body has ended and whose end-of-data reply is still
 * awaited while the next one goes on (smtpc_engine_begin_next_mail). */
typedef struct smtpc_prev_txn {
    int active;
    uint32_t seq;
    int status; /* SMTPC_MESSAGE_* once known */
    smtpc_rcpt_result *results;
    size_t results_n, accepted;
    smtpc_error err;
} smtpc_prev_txn;

struct smtpc_engine {
    /* The fields used most come first: Thumb's short loads and stores reach
     * only the first 124 bytes of a structure, and its short byte loads and
     * stores the first 31 (2 bytes an access instead of 4 on Cortex-M): the
     * flags are bytes there, then the words, the capabilities and err (whose
     * code is read everywhere). Records, buffers and tables follow. */

    /* Output window: out[out_sent, out_len) waits to be sent. */
    uint8_t *out;
    size_t out_cap;
    char *ehlo_name;
    /* Always cleared: what the mail-done callback gets for an accepted
     * message (a record is too large for a stack frame); allocated with
     * the callback, so engines without one do not carry it. */
    smtpc_error *none;
    uint8_t security;   /* SMTPC_SECURITY_* */

    /* From closed to the end of err: the session's and the transaction's
     * state, cleared by smtpc_engine_reset in one go (a transaction sets its
     * own fields when it begins). */
    uint8_t closed;     /* want is SMTPC_WANT_CLOSE */
    uint8_t quitting;   /* QUIT queued after a fatal reply: keep the first error */
    uint8_t refused;    /* see refusal below */
    uint8_t encrypted;
    uint8_t tls_wanted; /* SMTPC_WANT_TLS until the driver reports */
    uint8_t op;         /* SMTPC_OP_* */
    uint8_t txn_open;   /* the current transaction is not reported yet */
    uint8_t ready;      /* greeting, EHLO and STARTTLS policy done: mail may go */
    uint8_t auth_done;

    /* Mail transaction: from message_status to next_rcpt, cleared in one
     * go when one begins. */
    uint8_t message_status; /* SMTPC_MESSAGE_* */
    uint8_t in_body;
    uint8_t body_ended;
    uint8_t mail_refused;
    uint8_t data_sent;
    uint8_t data_state;    /* 0 not answered, 1 accepted (354), 2 refused */
    int txn_error;         /* first failure of the transaction */
    size_t accepted;
    size_t next_rcpt;      /* next recipient to queue */

    int mail_flags;        /* SMTPC_CMD_* */
    smtpc_rcpt_result *results;
    size_t results_n;
    size_t out_len, out_sent;
    size_t pend_head, pend_count;
    int result;
    size_t reply_lines;    /* lines of the reply being read */
    size_t reply_bytes;    /* its bytes so far, line ends included */
    int auth_cancel_error; /* error to report once the cancelled exchange ends */
    size_t secrets_n;      /* secret lines noted (secrets below) */
    uint32_t replies;      /* complete replies taken (smtpc_engine_reply_count) */
    smtpc_ehlo_caps caps;
    smtpc_error err;

    smtpc_allocator alloc;
    uint8_t *line;
    size_t line_cap;   /* line_max: the longest reply line accepted */
    size_t line_alloc; /* size of line: room for the largest SASL challenge too */
    size_t reply_max_lines, reply_max_bytes;

    int timeouts[SMTPC_TIMEOUT_COUNT];
    smtpc_trace_fn trace;
    void *trace_user;
    /* With a trace callback: where lines are formatted, and a second half
     * for a reply line's redacted text (SMTPC_TRACE_LINE each), kept off
     * the stack (no frame over 512 B). */
    char *trace_buf;
    /* Scratch for redacting a reply (SMTPC_REPLY_TEXT_MAX), allocated with
     * the first credentials: no allocation during the session, and no
     * frame over 512 B. */
    char *redact_buf;

    /* AUTH settings; secrets owned and zeroed on release. */
    char *auth_user;
    char *auth_secret;
    int auth_is_token;
    int auth_allowed;
    int allow_plaintext_auth;
    smtpc_random_fn random;
    void *random_user;

    /* The envelope of the transaction. */
    const char *from;
    const char *const *rcpts;
    size_t n_rcpts;
    int64_t size;
    /* DSN request of the transaction (NULL: none, or dropped): engine_dsn.c. */
    const smtpc_dsn *dsn;
    smtpc_dot_stuffer stuffer;

    /* Verdicts (smtpc_engine_set_mail_done): every transaction begun is
     * reported once, in order. */
    smtpc_mail_done_fn mail_done;
    void *mail_done_user;
    uint32_t mail_seq; /* of the last transaction begun */
    /* (none, what the callback gets for an accepted message, is among the
     * first fields.) */

    /* CHUNKING (engine_bdat.c). */
    int prefer_data;  /* smtpc_engine_set_chunking(e, 0) */
    int bdat_next;    /* 1 BDAT, 2 BDAT with BINARYMIME: chosen for the next transaction */
    int bdat_raw;     /* ... byte for byte (BINARYMIME) */

    /* A call refused before it did anything (bad argument, wrong state) is
     * recorded here, not in err: err carries the session's and the
     * operation's error, which later code reads back (the sticky code, the
     * first error standing while QUIT goes out). smtpc_engine_error shows
     * this record while refused is set; the calls that can touch err clear
     * it. */
    smtpc_error refusal;

    /* From auth_mech to the end of secrets: more of the session's state,
     * cleared by smtpc_engine_reset in one go. */
    int auth_mech;      /* SMTPC_MECH_* in use or used */
    int tls_verified;
    int bdat;           /* CHUNKING: this transaction sends its body with BDAT */
    int bdat_flush;     /* ... a full chunk waits to be sent before more body */
    size_t chunk_fill;  /* CHUNKING: bytes of the chunk being filled at
                         * out + out_len (header room included); 0: none open */
    /* The start of every secret line sent (base64 credentials), so that a
     * server echoing one is redacted too (engine_redact.c). */
    smtpc_secret_mark secrets[SMTPC_SECRET_MARKS];

    smtpc_reply_parser parser;
    smtpc_pending pending[SMTPC_PENDING_MAX];
    smtpc_prev_txn prev;

    /* Last: over 3 KB. */
    smtpc_sasl sasl;
};

/* engine.c */
#define SMTPC_TRACE_LINE (SMTPC_COMMAND_MAX + 64)
void smtpc_engine_compact_output(smtpc_engine *e);
/* Expect a reply of this kind (FIFO). SMTPC_ESTATE when the queue is full. */
int smtpc_engine_expect(smtpc_engine *e, int kind, size_t index);
/* The line at out[start, out_len) was written by the command writer: expect
 * its reply and trace it. */
int smtpc_engine_queue_written(smtpc_engine *e, int kind, size_t index, size_t start);
/* A command of verb and arg (none: NULL) whose reply is of this kind. */
int smtpc_engine_queue(smtpc_engine *e, int kind, const char *verb, const char *arg);
int smtpc_engine_queue_raw(smtpc_engine *e, int kind, const char *line, size_t len,
                           int redact);
void (smtpc_engine_trace)(smtpc_engine *e, int dir, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#if !SMTPC_HAVE_TRACES
/* -Dtraces=false: every trace line drops out where it is written. */
#define smtpc_engine_trace(e, dir, ...) ((void)(e), SMTPC_DROP_TEXT(__VA_ARGS__))
#endif
/* Record that the public call fn was refused with code (message "fn:
 * reason"); err is left alone. Returns code. */
int (smtpc_engine_refuse)(const smtpc_engine *e, int code, const char *fn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#if SMTPC_SHORT_MESSAGES
/* Takes -code: the magnitude of an error code fits Thumb's 2-byte move,
 * the negative value needs a 4-byte one at each of the many callers. */
int smtpc_engine_refuse_code(const smtpc_engine *e, int minus_code);
#define smtpc_engine_refuse(e, code, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), smtpc_engine_refuse_code((e), -(code)))
#endif
/* End the current operation with result (0 or an error already recorded). */
void smtpc_engine_finish(smtpc_engine *e, int result);
/* A fatal error: record it, then QUIT politely (send_quit) or just close. */
int smtpc_engine_fail(smtpc_engine *e, int send_quit);
/* smtpc_error_set and smtpc_error_set_reply on e->err. With
 * -Dmessages=short they take the engine, not the record: one instruction
 * less at each of their many call sites; both take -code, as
 * smtpc_engine_refuse_code does (most of their callers pass a constant).
 * Return code. */
#if SMTPC_SHORT_MESSAGES
int smtpc_engine_set_error(smtpc_engine *e, int minus_code);
int smtpc_engine_set_reply_error(smtpc_engine *e, int minus_code, const smtpc_reply *reply);
#define smtpc_engine_err(e, code, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), smtpc_engine_set_error((e), -(code)))
#define smtpc_engine_err_reply(e, code, reply, what) \
    (SMTPC_DROP_TEXT(what), smtpc_engine_set_reply_error((e), -(code), (reply)))
#else
#define smtpc_engine_err(e, code, ...) smtpc_error_set(&(e)->err, (code), __VA_ARGS__)
#define smtpc_engine_err_reply(e, code, reply, what) \
    smtpc_error_set_reply(&(e)->err, (code), (reply), (what))
#endif
/* Record code with a text in err, then smtpc_engine_fail: with
 * -Dmessages=short one call instead of two at each site (taking -code). */
#if SMTPC_SHORT_MESSAGES
int smtpc_engine_fail_code(smtpc_engine *e, int minus_code, int send_quit);
#define smtpc_engine_fail_with(e, send_quit, code, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), smtpc_engine_fail_code((e), -(code), (send_quit)))
#else
#define smtpc_engine_fail_with(e, send_quit, code, ...) \
    (smtpc_error_set(&(e)->err, (code), __VA_ARGS__), smtpc_engine_fail((e), (send_quit)))
#endif
/* 1 when reply is a 421 (handled: session over); what heads the message. */
#if SMTPC_SHORT_MESSAGES
int smtpc_engine_is_421(smtpc_engine *e, const smtpc_reply *reply);
#define smtpc_engine_check_421(e, reply, what) \
    (SMTPC_DROP_TEXT(what), smtpc_engine_is_421((e), (reply)))
#else
int smtpc_engine_check_421(smtpc_engine *e, const smtpc_reply *reply, const char *what);
#endif

/* engine_redact.c */
/* Remember a secret line (base64 credentials) just queued for the server. */
void smtpc_engine_note_secret(smtpc_engine *e, const char *line, size_t len);
/* Copy in[0, len) into out (cap bytes, NUL-terminated), with every echo of
 * a noted secret line and the raw secret replaced by "<redacted>". Returns
 * the length written. Plain copy (truncated) when no secret was sent. */
size_t (smtpc_engine_redact)(const smtpc_engine *e, const char *in, size_t len, char *out,
                             size_t cap);
#if !SMTPC_HAVE_TRACES
/* Used for traces only. */
#define smtpc_engine_redact(e, in, len, out, cap) \
    ((void)(e), (void)(in), (void)(len), (void)(out), (void)(cap), (size_t)0)
#endif
/* Redact the parser's reply text in place (after a line completes). */
void smtpc_engine_redact_reply(smtpc_engine *e);

/* engine_session.c */
void smtpc_engine_on_session_reply(smtpc_engine *e, int kind, const smtpc_reply *reply,
                                   size_t leftover);
void smtpc_engine_session_after_tls(smtpc_engine *e);

/* engine_dsn.c */
/* Check REQUIRETLS and the DSN request against the session, before MAIL:
 * sets e->dsn and adds SMTPC_CMD_* bits to e->mail_flags, or records the
 * error and returns it. flags are the caller's SMTPC_MAIL_* flags. */
int smtpc_engine_check_dsn_tls(smtpc_engine *e, int flags, const smtpc_dsn *dsn,
                               const char *const *rcpts, size_t n_rcpts);
/* NOTIFY and ORCPT of recipient i in the transaction (0 / NULL: none). */
int (smtpc_engine_rcpt_notify)(const smtpc_engine *e, size_t i);
const char *(smtpc_engine_rcpt_orcpt)(const smtpc_engine *e, size_t i);
#if !SMTPC_HAVE_DSN
#define smtpc_engine_rcpt_notify(e, i) ((void)(e), (void)(i), 0)
#define smtpc_engine_rcpt_orcpt(e, i) ((void)(e), (void)(i), (const char *)NULL)
#endif

/* engine_bdat.c */
/* -Dchunking=false: no transaction uses BDAT, and the code behind these
 * tests drops out of the image. */
#if SMTPC_HAVE_CHUNKING
#define SMTPC_BDAT(e) ((e)->bdat)
#else
#define SMTPC_BDAT(e) ((void)(e), 0)
#define smtpc_engine_bdat_filling(e) ((void)(e), 0)
#endif
/* Check BINARYMIME against the server and settings; choose BDAT or DATA
 * for the transaction being begun. Errors recorded in err. */
int (smtpc_engine_bdat_choose)(smtpc_engine *e, int flags);
#if !SMTPC_HAVE_CHUNKING
/* Every body goes with DATA (CHUNKING and BINARYMIME are not even read
 * from EHLO: ehlo_caps.c); a binary body cannot go at all. */
#define smtpc_engine_bdat_choose(e, flags)                                              \
    ((flags) & SMTPC_MAIL_BINARYMIME                                                    \
         ? smtpc_engine_err((e), SMTPC_ENOTSUP,                                         \
                            "a binary MIME body needs CHUNKING, which is compiled out " \
                            "(-Dchunking=false): encode it as 7-bit or 8-bit MIME")     \
         : SMTPC_OK)
#endif
void (smtpc_engine_bdat_begin_txn)(smtpc_engine *e);
#if !SMTPC_HAVE_CHUNKING
#define smtpc_engine_bdat_begin_txn(e) ((void)(e)) /* bdat is never set */
#endif
/* Every RCPT is queued: the body may begin (no DATA, no 354 to wait for). */
int smtpc_engine_bdat_start(smtpc_engine *e);
int smtpc_engine_bdat_write(smtpc_engine *e, const uint8_t *data, size_t len, size_t *consumed);
int smtpc_engine_bdat_end(smtpc_engine *e);
void smtpc_engine_on_bdat_reply(smtpc_engine *e, int kind, size_t index,
                                const smtpc_reply *reply);
/* 1 when body bytes are taken now, with output and replies still pending
 * (PIPELINING lets MAIL, RCPT and the chunk go in one write). */
int (smtpc_engine_bdat_filling)(const smtpc_engine *e);

/* engine_chain.c */
/* The session or the operation ended: report what is still unreported (a
 * chained-past transaction first, then the current one). */
void smtpc_engine_mail_ended(smtpc_engine *e);
/* The current transaction (body ended) becomes the one before. */
void smtpc_engine_chain_past(smtpc_engine *e);
/* The reply to the end of data of the transaction chained past. */
void smtpc_engine_on_prev_reply(smtpc_engine *e, const smtpc_reply *reply);
#if !SMTPC_HAVE_MAIL_CHAINING
/* Nothing is ever chained past: these are never reached. */
#define smtpc_engine_chain_past(e) ((void)(e))
#define smtpc_engine_on_prev_reply(e, reply) ((void)(e), (void)(reply))
#endif

/* engine_mail.c */
void smtpc_engine_on_mail_reply(smtpc_engine *e, int kind, size_t index,
                                const smtpc_reply *reply);
void smtpc_engine_mail_release(smtpc_engine *e);

#endif
