/* smtpc — the sans-io SMTP engine: bytes in, bytes and wants out.
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT
 *
 * The engine owns no socket, clock or file. A driver (smtpc_client, or your
 * own event loop) starts an operation, then loops:
 *
 *   switch (smtpc_engine_want(e)) {
 *   case SMTPC_WANT_WRITE: smtpc_engine_output(e, &p, &n); send; smtpc_engine_output_done(e, sent);
 *   case SMTPC_WANT_READ:  recv within smtpc_engine_timeout_ms(e); smtpc_engine_feed(e, buf, got);
 *   case SMTPC_WANT_BODY:  smtpc_engine_body_write(...) / smtpc_engine_body_end(e);
 *   case SMTPC_WANT_TLS:   handshake over the same connection; smtpc_engine_tls_done(e, 1, 0, NULL);
 *   case SMTPC_WANT_IDLE:  operation over; smtpc_engine_result(e) tells how it went
 *   case SMTPC_WANT_CLOSE: session over; close the connection
 *   }
 *
 * On a transport failure call smtpc_engine_abort(e, code, message): the
 * engine records it (turning a lost end-of-data reply into SMTPC_EUNKNOWN).
 */
#ifndef SMTPC_ENGINE_H
#define SMTPC_ENGINE_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smtpc_engine smtpc_engine;

/* What the engine needs next. */
#define SMTPC_WANT_IDLE 0  /* nothing: the operation finished (see smtpc_engine_result) */
#define SMTPC_WANT_READ 1  /* read server bytes and feed them */
#define SMTPC_WANT_WRITE 2 /* send the bytes from smtpc_engine_output */
#define SMTPC_WANT_BODY 3  /* push message body bytes, then end the body */
#define SMTPC_WANT_TLS 4   /* run the TLS handshake now, then smtpc_engine_tls_done */
#define SMTPC_WANT_CLOSE 5 /* the session is over: close the connection */

/* Security levels (smtpc_engine_set_security, smtpc_client_set_security). */
#define SMTPC_SECURITY_STARTTLS 0          /* default: STARTTLS required */
#define SMTPC_SECURITY_STARTTLS_OPTIONAL 1 /* STARTTLS when offered, else plain */
#define SMTPC_SECURITY_IMPLICIT_TLS 2      /* TLS from the first byte (port 465) */
#define SMTPC_SECURITY_PLAIN 3             /* never encrypt */

/* Timeout stages (RFC 5321 section 4.5.3.2), in milliseconds. */
#define SMTPC_TIMEOUT_CONNECT 0    /* default 30 s (used by the client) */
#define SMTPC_TIMEOUT_GREETING 1   /* 5 min */
#define SMTPC_TIMEOUT_COMMAND 2    /* EHLO, HELO, STARTTLS, AUTH, RSET, NOOP, QUIT: 5 min */
#define SMTPC_TIMEOUT_MAIL 3       /* 5 min */
#define SMTPC_TIMEOUT_RCPT 4       /* 5 min */
#define SMTPC_TIMEOUT_DATA_INIT 5  /* 2 min */
#define SMTPC_TIMEOUT_DATA_BLOCK 6 /* 3 min: each send of body bytes */
#define SMTPC_TIMEOUT_DATA_END 7   /* 10 min */
#define SMTPC_TIMEOUT_TLS 8        /* handshake, default 60 s (used by the client) */
/* The whole message, from DATA's 354 to the reply to the end of data:
 * default 60 min (used by the client; the engine never reports it, a driver
 * of its own may enforce it). SMTPC_TIMEOUT_DATA_BLOCK bounds each send, but
 * a server that reads a byte now and then makes progress on every send and
 * could hold a message forever; this deadline bounds the total. 60 min lets
 * a 50 MB message (more than most servers' SIZE limit) through at about
 * 120 kbit/s; lower it when you know your links, raise it (or -1: no limit)
 * for huge messages on slow ones. */
#define SMTPC_TIMEOUT_MESSAGE 9
#define SMTPC_TIMEOUT_COUNT 10

/* Flags for smtpc_engine_begin_mail. */
#define SMTPC_MAIL_8BITMIME 0x1 /* body has 8-bit bytes: declare BODY=8BITMIME */
#define SMTPC_MAIL_SMTPUTF8 0x2 /* declare SMTPUTF8 (set automatically for non-ASCII addresses) */
/* The body is binary MIME (RFC 3030): declared BODY=BINARYMIME, sent with
 * BDAT byte for byte (line ends left as they are). Needs CHUNKING and
 * BINARYMIME from the server and chunking not turned off
 * (smtpc_engine_set_chunking), else SMTPC_E8BIT before anything is sent
 * (SMTPC_ENOTSUP in a build without CHUNKING, -Dchunking=false). */
#define SMTPC_MAIL_BINARYMIME 0x4

/* Extended capabilities learnt from EHLO (smtpc_engine_capabilities). An
 * extension compiled out of this build (-Dchunking=false: CHUNKING and
 * BINARYMIME; -Ddsn=false: DSN and REQUIRETLS) is not read from EHLO: never
 * reported, never used. */
#define SMTPC_CAP_PIPELINING 0x001
#define SMTPC_CAP_8BITMIME 0x002
#define SMTPC_CAP_SMTPUTF8 0x004
#define SMTPC_CAP_STARTTLS 0x008
#define SMTPC_CAP_SIZE 0x010
#define SMTPC_CAP_AUTH 0x020
#define SMTPC_CAP_CHUNKING 0x040
#define SMTPC_CAP_DSN 0x080
#define SMTPC_CAP_ENHANCEDSTATUSCODES 0x100
#define SMTPC_CAP_EHLO 0x200 /* the server answered EHLO (not only HELO) */
#define SMTPC_CAP_BINARYMIME 0x1000 /* RFC 3030 (only used with CHUNKING) */

/* Message outcome (smtpc_engine_message_status). */
#define SMTPC_MESSAGE_NOT_SENT 0 /* the end of data was never sent */
#define SMTPC_MESSAGE_ACCEPTED 1 /* 250 after the end of data */
#define SMTPC_MESSAGE_REJECTED 2 /* 4xx/5xx after the end of data */
#define SMTPC_MESSAGE_UNKNOWN 3  /* end of data sent, reply never seen */

/* Create an engine. ehlo_name is the domain or address literal sent in
 * EHLO/HELO (NULL means "localhost"). out_cap is the size of the
 * fixed output buffer (0: 4096; at least 1024), line_max the longest reply
 * line accepted (0: 2048; at least 512; a reply to AUTH may be as long as
 * the largest challenge, SMTPC_AUTH_CHALLENGE_MAX in auth.h). All the
 * engine's fixed memory is allocated here; per message it allocates only
 * the recipient result table.
 * Returns 0, SMTPC_EINVAL, SMTPC_EBADCHAR or SMTPC_ENOMEM. */
SMTPC_API int smtpc_engine_new(const smtpc_allocator *alloc, const char *ehlo_name,
                               size_t out_cap, size_t line_max, smtpc_engine **out);
/* Free the engine (zeroing any secret it holds). */
SMTPC_API void smtpc_engine_free(smtpc_engine *e);

/* Start over for a new connection: session state, capabilities, results and
 * the error record are cleared; settings (security, timeouts, trace,
 * credentials) are kept. */
SMTPC_API int smtpc_engine_reset(smtpc_engine *e);

/* Settings for a session: allowed before smtpc_engine_begin_session, and
 * again once the session is over (want SMTPC_WANT_CLOSE), for the next one
 * (smtpc_engine_reset keeps them; the ended session's results stay as they
 * were). Otherwise SMTPC_ESTATE. */
/* Replace the EHLO/HELO name. SMTPC_EBADCHAR for CR, LF, NUL or space. */
SMTPC_API int smtpc_engine_set_ehlo_name(smtpc_engine *e, const char *name);
SMTPC_API int smtpc_engine_set_security(smtpc_engine *e, int level);
SMTPC_API int smtpc_engine_set_timeout(smtpc_engine *e, int stage, int ms);
/* The timeout of stage (SMTPC_TIMEOUT_*) into *ms: milliseconds, or -1 for
 * no limit. A driver reads the stages the engine never reports itself
 * (SMTPC_TIMEOUT_CONNECT, SMTPC_TIMEOUT_MESSAGE) here. Allowed at any time.
 * Returns 0 or SMTPC_EINVAL (e or ms NULL, stage out of range). */
SMTPC_API int smtpc_engine_get_timeout(const smtpc_engine *e, int stage, int *ms);
/* Replace the output buffer by one of out_cap bytes (at least 1024; see
 * smtpc_engine_new): SMTPC_EINVAL below that, SMTPC_ENOMEM keeps the old
 * buffer. Only between sessions, with no output unsent. */
SMTPC_API int smtpc_engine_set_output_size(smtpc_engine *e, size_t out_cap);

/* CHUNKING (RFC 3030). use 1 (the default): when the server offers
 * CHUNKING, bodies go with BDAT instead of DATA: no dot-stuffing, no 354 to
 * wait for, and with PIPELINING the envelope, "BDAT n LAST" and the bytes
 * in one write (bodies larger than the output buffer go in chunks of about
 * its size). Text bodies still get CRLF line ends. A refused chunk stops the
 * transfer: the send fails with SMTPC_EMESSAGE (SMTPC_MESSAGE_REJECTED),
 * RSET follows. use 0: always DATA (then SMTPC_MAIL_BINARYMIME is refused).
 * SMTPC_EINVAL for another value. Allowed at any time; applies from the
 * next smtpc_engine_begin_mail. In a build without CHUNKING
 * (-Dchunking=false) every body goes with DATA: use 1 gives SMTPC_ENOTSUP. */
SMTPC_API int smtpc_engine_set_chunking(smtpc_engine *e, int use);
/* fn is called for every line. fn NULL: off. The first fn allocates the
 * engine's trace line buffer (1,152 bytes, kept until smtpc_engine_free):
 * SMTPC_ENOMEM when that fails; SMTPC_ENOTSUP in a -Dtraces=false build. */
SMTPC_API int smtpc_engine_set_trace(smtpc_engine *e, smtpc_trace_fn fn, void *user);
/* Bound every server reply: at most max_lines lines and max_bytes bytes as
 * received (line ends included). A server that streams endless continuation
 * lines would otherwise hold the client for the whole stage timeout. When a
 * reply passes either bound the session ends at once with
 * SMTPC_EREPLYLIMIT (the message names the bound and the reply code).
 * 0 for either restores its default: 1000 lines, 65536 bytes. max_bytes
 * below 512 is SMTPC_EINVAL. Allowed at any time; the reply being read is
 * checked against the new bounds from its next byte. */
SMTPC_API int smtpc_engine_set_reply_limits(smtpc_engine *e, size_t max_lines,
                                            size_t max_bytes);

/* --- operations. Each is allowed only when want is SMTPC_WANT_IDLE. --- */

/* Read the greeting, EHLO (HELO on a 5xx), STARTTLS per the security level,
 * EHLO again after TLS, then AUTH when credentials are set. */
SMTPC_API int smtpc_engine_begin_session(smtpc_engine *e);

/* One mail transaction. from may be "" for the null reverse-path; from and
 * rcpts are bare addresses (no angle brackets). from, rcpts and the strings
 * they point to are borrowed until the operation ends. size is the exact
 * size of the body with CRLF line ends, before dot-stuffing, or -1 when
 * unknown; it is declared
 * with SIZE= and checked against the server's limit. Errors found before
 * anything is sent (SMTPC_EADDRESS, SMTPC_EBADCHAR, SMTPC_ETOOLONG,
 * SMTPC_EUTF8, SMTPC_E8BIT, SMTPC_ESIZE) are returned here and leave the
 * session usable; so is SMTPC_ENOTSUP for an address literal
 * ("user@[192.0.2.1]") in a build without them (-Daddress_literals=false). */
SMTPC_API int smtpc_engine_begin_mail(smtpc_engine *e, const char *from,
                                      const char *const *rcpts, size_t n_rcpts, int64_t size,
                                      int flags);

/* --- DSN (RFC 3461) and REQUIRETLS (RFC 8689) ------------------------------
 * More flags for smtpc_engine_begin_mail and smtpc_engine_begin_mail_dsn.
 * A build without them (-Ddsn=false) refuses SMTPC_MAIL_REQUIRETLS and any
 * non-empty DSN request with SMTPC_ENOTSUP before anything is sent. */
/* Send only over TLS whose certificate and host name were verified (the
 * driver said so: SMTPC_TLS_DONE_VERIFIED) to a server that offers
 * REQUIRETLS, with REQUIRETLS on MAIL FROM. Otherwise begin_mail fails with
 * SMTPC_EREQUIRETLS (the message says which condition failed) before
 * anything is sent, and the session stays usable. */
#define SMTPC_MAIL_REQUIRETLS 0x100
/* When the server does not offer DSN, send without the DSN parameters
 * instead of failing with SMTPC_ENODSN (a trace note says they were
 * dropped). */
#define SMTPC_MAIL_DSN_OPTIONAL 0x200

#define SMTPC_CAP_REQUIRETLS 0x800 /* EHLO keyword REQUIRETLS */

/* RET: what a failure report returns of the message. */
#define SMTPC_DSN_RET_FULL 1 /* the whole message */
#define SMTPC_DSN_RET_HDRS 2 /* its headers only */
/* NOTIFY: when to report on a recipient. SMTPC_NOTIFY_NEVER stands alone;
 * the others combine. */
#define SMTPC_NOTIFY_NEVER 0x1
#define SMTPC_NOTIFY_SUCCESS 0x2
#define SMTPC_NOTIFY_FAILURE 0x4
#define SMTPC_NOTIFY_DELAY 0x8

/* A DSN request. Every field is optional (0 or NULL: that parameter is not
 * sent); a request with none set is no request. The pointers are borrowed
 * like the envelope, until the operation ends.
 *   ret     0, SMTPC_DSN_RET_FULL or SMTPC_DSN_RET_HDRS (RET= on MAIL)
 *   envid   envelope identifier, echoed in reports (ENVID= on MAIL): any
 *           non-empty text without CR or LF, at most 100 octets once
 *           xtext-encoded (every byte outside '!'..'~', and '+' and '=',
 *           becomes "+XX")
 *   notify  NULL, or one SMTPC_NOTIFY_* mask per recipient, 0 for none
 *           (NOTIFY= on RCPT)
 *   orcpt   NULL, or one original recipient address per recipient, NULL for
 *           none (ORCPT=rfc822;<xtext> on RCPT, at most 500 octets encoded)
 * Each MAIL and RCPT line with its parameters must fit in 512 octets. */
typedef struct smtpc_dsn {
    int ret;
    const char *envid;
    const int *notify;
    const char *const *orcpt;
} smtpc_dsn;

/* smtpc_engine_begin_mail with a DSN request (dsn NULL: none). Besides the
 * errors of smtpc_engine_begin_mail, before anything is sent:
 * SMTPC_EINVAL (ret or a notify mask out of range, an empty envid or
 * orcpt), SMTPC_EBADCHAR (CR or LF in envid or orcpt), SMTPC_ETOOLONG, and
 * SMTPC_ENODSN when the server does not offer DSN (unless
 * SMTPC_MAIL_DSN_OPTIONAL). */
SMTPC_API int smtpc_engine_begin_mail_dsn(smtpc_engine *e, const char *from,
                                          const char *const *rcpts, size_t n_rcpts,
                                          int64_t size, int flags, const smtpc_dsn *dsn);

/* The ok argument of smtpc_engine_tls_done: SMTPC_TLS_DONE_OK (1) for a
 * session whose certificate was not verified, SMTPC_TLS_DONE_VERIFIED when
 * the chain and the host name were (what SMTPC_MAIL_REQUIRETLS needs). */
#define SMTPC_TLS_DONE_OK 1
#define SMTPC_TLS_DONE_VERIFIED 2
/* 1 after SMTPC_TLS_DONE_VERIFIED in this session, else 0. */
SMTPC_API int smtpc_engine_tls_verified(const smtpc_engine *e);
SMTPC_API int smtpc_engine_begin_rset(smtpc_engine *e);
SMTPC_API int smtpc_engine_begin_noop(smtpc_engine *e);
SMTPC_API int smtpc_engine_begin_quit(smtpc_engine *e);

/* --- many messages on one connection ---
 * With PIPELINING (RFC 2920), the next message's MAIL, RCPT and DATA may go
 * out in the same write as the previous message's end of data, before its
 * reply: one round trip per message. The verdict of each message then
 * arrives while the next is under way, so it is delivered by a callback. */

/* Called once for every mail transaction that smtpc_engine_begin_mail or
 * smtpc_engine_begin_next_mail started (returned 0), when its outcome is
 * final, in the order they were begun: from inside smtpc_engine_feed (the
 * reply to the end of data, the RSET after a refusal), smtpc_engine_abort,
 * or the call that ended the session. seq is the transaction's number
 * (smtpc_engine_mail_seq right after its begin call); result is 0 when the
 * server accepted the message (SMTPC_MESSAGE_ACCEPTED), else the error:
 * SMTPC_EMAILFROM, SMTPC_ERCPTS, SMTPC_EDATA, SMTPC_EMESSAGE (refused at
 * the end of data), SMTPC_EUNKNOWN (connection lost after the end of data),
 * or the error that ended the session before the end of data
 * (SMTPC_MESSAGE_NOT_SENT). err (borrowed for the call) holds the code, the
 * server's reply and the reason; it is cleared when result is 0. While fn
 * runs, smtpc_engine_rcpt_*, smtpc_engine_rcpt_count,
 * smtpc_engine_rcpt_accepted_count and smtpc_engine_message_status describe
 * that transaction. fn may use only the engine's queries. A transaction
 * still open when smtpc_engine_reset is called is dropped unreported.
 * fn NULL: no callback (the queries above then describe the last
 * transaction, as without chaining). Allowed while no operation runs.
 * The first fn allocates a record for accepted messages' reports (about
 * 800 bytes, kept until smtpc_engine_free): SMTPC_ENOMEM when that fails. */
typedef void (*smtpc_mail_done_fn)(void *user, const smtpc_engine *e, uint32_t seq, int result,
                                   const smtpc_error *err);
SMTPC_API int smtpc_engine_set_mail_done(smtpc_engine *e, smtpc_mail_done_fn fn, void *user);
/* The number of the last transaction begun (the first is 1), counting from
 * the engine's creation, modulo 2^32. */
SMTPC_API uint32_t smtpc_engine_mail_seq(const smtpc_engine *e);
/* 1 when smtpc_engine_begin_next_mail may be called now: the server offers
 * PIPELINING, the current transaction's body has ended and its end-of-data
 * reply is the only one awaited (its "." may still be unsent). Else 0. */
SMTPC_API int smtpc_engine_mail_chainable(const smtpc_engine *e);
/* smtpc_engine_begin_mail for the next message while the previous one's
 * end-of-data reply is awaited (smtpc_engine_mail_chainable): MAIL, RCPT
 * and DATA are queued behind its "." to go out in the same write. The
 * previous transaction is then reported through the callback when its
 * reply comes; the recipient queries describe the new one. Its body is
 * asked for (SMTPC_WANT_BODY) only after the server's 354, never before.
 * Arguments and their lifetimes are those of smtpc_engine_begin_mail_dsn
 * (dsn may be NULL: no DSN request).
 * Returns 0; SMTPC_ESTATE when not chainable; or the errors begin_mail
 * finds before anything is sent (SMTPC_EADDRESS, SMTPC_ESIZE, ...), which
 * are recorded as a refused call (smtpc_engine_error) and leave the
 * previous transaction untouched. A build without chaining
 * (-Dmail_chaining=false) refuses it with SMTPC_ENOTSUP, and
 * smtpc_engine_mail_chainable is always 0. */
SMTPC_API int smtpc_engine_begin_next_mail(smtpc_engine *e, const char *from,
                                           const char *const *rcpts, size_t n_rcpts,
                                           int64_t size, int flags, const smtpc_dsn *dsn);

/* --- the pump --- */
SMTPC_API int smtpc_engine_want(const smtpc_engine *e);
/* Timeout in ms (-1: none) for the wait the engine is in now. For
 * SMTPC_WANT_READ it bounds the wait for the whole reply, not each read: a
 * server that drips a byte now and then, or sends endless continuation
 * lines, must still time out. Start a deadline when the reading starts and
 * restart it whenever smtpc_engine_reply_count changes (examples/engine_loop.c
 * does this). For SMTPC_WANT_WRITE it bounds each send. */
SMTPC_API int smtpc_engine_timeout_ms(const smtpc_engine *e);
/* How many complete server replies the engine has taken since it was
 * created or reset, modulo 2^32 (compare it for a change, not for order);
 * a multi-line reply counts once. */
SMTPC_API uint32_t smtpc_engine_reply_count(const smtpc_engine *e);
/* Borrow the pending output: valid until the next call on e. */
SMTPC_API int smtpc_engine_output(smtpc_engine *e, const uint8_t **data, size_t *len);
/* Acknowledge n bytes of the output as sent. */
SMTPC_API int smtpc_engine_output_done(smtpc_engine *e, size_t n);
/* Feed server bytes (any split). Returns 0 while the operation goes on or
 * when it succeeded. When the operation ended with an error, or the session
 * ended, in these bytes or before (a refusal such as a 554 to the final dot,
 * a malformed reply, a fatal error while the polite QUIT is still pending),
 * returns that error: the same value as smtpc_engine_result. SMTPC_EINVAL
 * for bad arguments; SMTPC_ESTATE when the session had already ended
 * without error (after QUIT). */
SMTPC_API int smtpc_engine_feed(smtpc_engine *e, const uint8_t *data, size_t len);
/* Push body bytes while want is SMTPC_WANT_BODY. Dot-stuffs and turns bare CR
 * and bare LF into CRLF. Stores in *consumed how many bytes were taken (may be
 * fewer than len when the output buffer is full: send, then push the rest). */
SMTPC_API int smtpc_engine_body_write(smtpc_engine *e, const uint8_t *data, size_t len,
                                      size_t *consumed);
/* End the body: completes the last line and appends CRLF.CRLF. */
SMTPC_API int smtpc_engine_body_end(smtpc_engine *e);
/* 1 from the smtpc_engine_body_end of the current (or last) mail
 * transaction until the next begin_mail or reset, else 0. From then on a
 * connection lost, or a deadline of the driver's passing, leaves the
 * message's fate unknown (smtpc_engine_abort makes it SMTPC_EUNKNOWN and
 * SMTPC_MESSAGE_UNKNOWN); before it, dropping the connection makes the
 * server discard the partial message. */
SMTPC_API int smtpc_engine_body_ended(const smtpc_engine *e);
/* Report the TLS handshake's outcome after SMTPC_WANT_TLS: ok = 1 for
 * success (2 when the certificate was verified: SMTPC_TLS_DONE_VERIFIED);
 * otherwise (0) code (SMTPC_ETLS*) and message describe the failure. */
SMTPC_API int smtpc_engine_tls_done(smtpc_engine *e, int ok, int code, const char *message);
/* Record a transport failure (code SMTPC_ETIMEDOUT, SMTPC_ECLOSED, ...). The
 * session ends; want becomes SMTPC_WANT_CLOSE. Returns the code recorded. */
SMTPC_API int smtpc_engine_abort(smtpc_engine *e, int code, const char *message);

/* --- results --- */
/* 0 or the error of the last finished operation. */
SMTPC_API int smtpc_engine_result(const smtpc_engine *e);
SMTPC_API const smtpc_error *smtpc_engine_error(const smtpc_engine *e);
SMTPC_API int smtpc_engine_capabilities(const smtpc_engine *e); /* SMTPC_CAP_* bits */
SMTPC_API uint64_t smtpc_engine_size_limit(const smtpc_engine *e); /* SIZE n, 0 if none */
/* 1 when the connection is encrypted (implicit TLS or after STARTTLS). */
SMTPC_API int smtpc_engine_is_encrypted(const smtpc_engine *e);
/* Per-recipient results of the last mail transaction, borrowed until the next
 * begin_mail, reset or free. i < smtpc_engine_rcpt_count. */
/* The n_rcpts of that transaction (0 before any, and after a reset). */
SMTPC_API size_t smtpc_engine_rcpt_count(const smtpc_engine *e);
/* 1 when recipient i was accepted: a 2xx to its RCPT in a transaction
 * whose MAIL FROM was accepted (a pipelining server may answer RCPTs with
 * 250 after refusing MAIL FROM; those count as not accepted). Else 0. */
SMTPC_API int smtpc_engine_rcpt_accepted(const smtpc_engine *e, size_t i);
SMTPC_API int smtpc_engine_rcpt_reply_code(const smtpc_engine *e, size_t i); /* 0: no reply */
SMTPC_API const char *smtpc_engine_rcpt_enhanced(const smtpc_engine *e, size_t i);
SMTPC_API const char *smtpc_engine_rcpt_reply_text(const smtpc_engine *e, size_t i);
SMTPC_API size_t smtpc_engine_rcpt_accepted_count(const smtpc_engine *e);
SMTPC_API int smtpc_engine_message_status(const smtpc_engine *e); /* SMTPC_MESSAGE_* */

#ifdef __cplusplus
}
#endif
#endif
