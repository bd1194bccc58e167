/* smtpc — the client: connect, send messages, quit; blocking, or
 * non-blocking driven by the caller's event loop.
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT */
#ifndef SMTPC_CLIENT_H
#define SMTPC_CLIENT_H

#include "base.h"
#include "engine.h"
#include "transport.h"
#include "tls.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smtpc_client smtpc_client;

/* Create a client. Returns 0, SMTPC_EINVAL or SMTPC_ENOMEM. */
SMTPC_API int smtpc_client_new(const smtpc_allocator *alloc, smtpc_client **out);
/* Quit is not sent; the connection is closed and everything freed, secrets
 * zeroed. From inside one of c's own callbacks it does NOT free c (see
 * Callbacks in smtpc.h). */
SMTPC_API void smtpc_client_free(smtpc_client *c);

/* --- settings ---
 * Allowed whenever no session is open: before the first connect, after
 * quit, after a failed connect or a session that broke; they apply from the
 * next connect. smtpc_client_set_timeout, smtpc_client_set_trace,
 * smtpc_client_set_auth_mechanisms and smtpc_client_allow_plaintext_auth
 * may also change while connected; the others then return SMTPC_ESTATE.
 * None may change inside a callback. Every refusal (bad argument, wrong
 * state, no memory) is in the error record, and it holds back the next
 * connect (SMTPC_ESTATE naming the setter) until that setter succeeds: a
 * session never starts as if a setting it did not take had been applied. */

/* Server host name or address literal and port ("587", "465", "25" or a
 * service name). The port defaults to "587" ("465" with
 * implicit TLS). A port that is neither a number in 1..65535 nor a service
 * name ("99999", "0", "25x", " 25") is refused with SMTPC_EINVAL, the reason
 * in the error record, and the previous server kept. With a transport of
 * your own (smtpc_client_set_transport) the host is still the name TLS
 * verifies the certificate against. */
SMTPC_API int smtpc_client_set_server(smtpc_client *c, const char *host, const char *port);
/* ms for one stage (SMTPC_TIMEOUT_* in smtpc/engine.h); < 0 means no limit.
 * SMTPC_EINVAL for an unknown stage. SMTPC_TIMEOUT_MESSAGE (default 60 min)
 * bounds a whole message, from DATA's 354 to the reply to the end of data,
 * time spent in the read callback included; each send of body bytes is also
 * bounded by SMTPC_TIMEOUT_DATA_BLOCK. When it passes during the body, the
 * send fails with SMTPC_ETIMEDOUT, the connection is dropped so that the
 * server discards the partial message, and the status is
 * SMTPC_MESSAGE_NOT_SENT; once the end of data has gone, the result is
 * SMTPC_EUNKNOWN with SMTPC_MESSAGE_UNKNOWN. */
SMTPC_API int smtpc_client_set_timeout(smtpc_client *c, int stage, int ms);
/* The name sent in EHLO/HELO. Default "localhost". */
SMTPC_API int smtpc_client_set_ehlo_name(smtpc_client *c, const char *name);
/* SMTPC_SECURITY_*. Default SMTPC_SECURITY_STARTTLS (required). In a build
 * without TLS (-Dtls=disabled) connect refuses STARTTLS and implicit TLS with
 * SMTPC_ENOTSUP before connecting, and SMTPC_SECURITY_STARTTLS_OPTIONAL goes
 * on unencrypted without sending STARTTLS. */
SMTPC_API int smtpc_client_set_security(smtpc_client *c, int level);
/* CHUNKING (RFC 3030): use 1 (the default) sends bodies with BDAT when the
 * server offers CHUNKING (no dot-stuffing, no wait for a 354; see
 * smtpc_engine_set_chunking); 0 always uses DATA. SMTPC_EINVAL for another
 * value. */
SMTPC_API int smtpc_client_set_chunking(smtpc_client *c, int use);
/* BINARYMIME (RFC 3030): use 1 (the default) lets smtpc_client_send_message
 * and the batch send a built message's attachments unencoded
 * (SMTPC_MESSAGE_BINARYMIME for that send, BODY=BINARYMIME) when the server
 * offers BINARYMIME and CHUNKING and chunking is on; 0 keeps base64. The
 * message's own flags are as they were after the send. SMTPC_EINVAL for
 * another value. */
SMTPC_API int smtpc_client_set_binarymime(smtpc_client *c, int use);
/* Trace every line sent and received (secrets redacted). As
 * smtpc_engine_set_trace: SMTPC_ENOMEM, or SMTPC_ENOTSUP with -Dtraces=false. */
SMTPC_API int smtpc_client_set_trace(smtpc_client *c, smtpc_trace_fn fn, void *user);
/* The clock of the client's deadlines (the whole-reply wait of every stage
 * timeout, SMTPC_TIMEOUT_MESSAGE): fn returns milliseconds on a clock that
 * never goes back, from any origin. NULL restores the default, the POSIX
 * port's CLOCK_MONOTONIC. A build without the port (-Dport=none, firmware)
 * has no default: connect then fails with SMTPC_ENOTSUP, before connecting,
 * while any SMTPC_TIMEOUT_* is >= 0; deadlines are never silently dropped.
 * Allowed whenever no session is open. */
typedef int64_t (*smtpc_clock_ms_fn)(void *user);
SMTPC_API int smtpc_client_set_clock(smtpc_client *c, smtpc_clock_ms_fn fn, void *user);
/* Use t instead of a socket for the next connect. The client takes
 * ownership of t (frees it on disconnect or free), even on error. NULL
 * drops a transport given earlier: connect opens a socket again. */
SMTPC_API int smtpc_client_set_transport(smtpc_client *c, smtpc_transport *t);

/* TLS settings for implicit TLS and STARTTLS. cfg is borrowed: it must
 * outlive the client (or the next call). NULL: a default configuration
 * (system trust store, verification on) made on first use. */
SMTPC_API int smtpc_client_set_tls_config(smtpc_client *c, const smtpc_tls_config *cfg);

/* Buffer sizes for the next connect (the memory to choose on small
 * devices). io_bytes is the receive buffer, which also takes each chunk of
 * a body from a read callback or message; output_bytes is the engine's
 * output buffer: commands (pipelined groups too), AUTH lines and body
 * chunks are built there, so it bounds the longest AUTH response sent
 * (an OAuth token over it fails with SMTPC_ETOOLONG). 0 keeps the default.
 * Smaller buffers cost more transport calls, never correctness: a message
 * of any size goes through. Out of range: SMTPC_EINVAL, sizes unchanged.
 * The buffers are allocated at connect (SMTPC_ENOMEM there when they do
 * not fit). The client's heap without TLS is about
 * 11 KiB + io_bytes + output_bytes (12.2 KiB at the minimums, measured by
 * the firmware test image). */
#define SMTPC_CLIENT_IO_DEFAULT 4096
#define SMTPC_CLIENT_IO_MIN 256
#define SMTPC_CLIENT_OUTPUT_DEFAULT 16384
#define SMTPC_CLIENT_OUTPUT_MIN 1024
#define SMTPC_CLIENT_BUFFER_MAX (1024 * 1024)
SMTPC_API int smtpc_client_set_buffers(smtpc_client *c, size_t io_bytes, size_t output_bytes);

/* AUTH (see smtpc/auth.h for the rules): credentials are zeroed when
 * replaced or freed; the client authenticates during connect. */
SMTPC_API int smtpc_client_set_credentials(smtpc_client *c, const char *user,
                                           const char *password);
SMTPC_API int smtpc_client_set_oauth_token(smtpc_client *c, const char *user,
                                           const char *token);
SMTPC_API int smtpc_client_set_auth_mechanisms(smtpc_client *c, int mask);
/* allow = 1 permits credentials over an unencrypted connection. The
 * mechanism the last connect used: smtpc_engine_auth_mechanism on
 * smtpc_client_engine(c). */
SMTPC_API int smtpc_client_allow_plaintext_auth(smtpc_client *c, int allow);
/* allow = 1: a message that asks for delivery status notifications
 * (smtpc_message_set_dsn, smtpc_message_set_rcpt_dsn) goes to a server that
 * does not offer DSN without them (RET, ENVID, NOTIFY and ORCPT dropped; a
 * trace note says so). Default 0: such a send fails with SMTPC_ENODSN
 * before MAIL, the session still usable. May change while connected. */
SMTPC_API int smtpc_client_allow_no_dsn(smtpc_client *c, int allow);

/* --- session --- */

/* Connect (or use the transport given), read the greeting, EHLO, upgrade
 * with STARTTLS per the security level, authenticate when credentials are
 * set. Every step is bounded by its timeout. On failure the connection is
 * closed and the error record says why. */
SMTPC_API int smtpc_client_connect(smtpc_client *c);
/* 1 while a session is open. */
SMTPC_API int smtpc_client_connected(const smtpc_client *c);

/* Send one message from memory. body is the raw RFC 5322 message (headers,
 * blank line, body), any line endings: it is dot-stuffed and its line ends
 * made CRLF on the way. from "" is the null reverse-path. All arguments are
 * borrowed for the call only. A body with 8-bit bytes is declared
 * BODY=8BITMIME (SMTPC_E8BIT if the server lacks it); SIZE= is declared.
 * Returns 0 when the server accepted the message for at least one
 * recipient; the per-recipient results say which. A refusal ends the
 * transaction (the session stays usable); network and protocol errors end
 * the session, and later calls return the error that ended it. If the
 * session breaks after the server accepted the message, the send still
 * returns 0 (never send it twice); smtpc_client_connected() is then 0 and
 * the error record says why. If the connection is lost after the end of data
 * and before its reply, the result is SMTPC_EUNKNOWN with
 * smtpc_engine_message_status(smtpc_client_engine(c)) ==
 * SMTPC_MESSAGE_UNKNOWN.
 * Before each command, anything the server sent while the client was idle
 * (a 421, a close) is read: the session ends with that error and nothing is
 * sent. */
SMTPC_API int smtpc_client_send(smtpc_client *c, const char *from, const char *const *rcpts,
                                size_t n_rcpts, const uint8_t *body, size_t body_len);

/* Send one message whose body comes from read. size is its exact length as
 * the server will count it (line ends as CRLF, the last line completed,
 * before dot-stuffing), or -1 when unknown; it is declared with SIZE= and
 * checked against the server's limit. flags: SMTPC_MAIL_8BITMIME when the body may have 8-bit
 * bytes (an 8-bit byte in a body not so declared fails with SMTPC_E8BIT);
 * SMTPC_MAIL_REQUIRETLS to send only over verified TLS (certificate and
 * host name: the TLS configuration's SMTPC_TLS_VERIFY_REQUIRED) to a
 * server offering REQUIRETLS, else SMTPC_EREQUIRETLS before MAIL.
 * A read error or 8-bit violation after DATA was accepted cannot be undone
 * in SMTP: the connection is dropped so that the server discards the
 * partial message, and the error says so. The whole message is bounded by
 * SMTPC_TIMEOUT_MESSAGE (see smtpc_client_set_timeout). */
SMTPC_API int smtpc_client_send_stream(smtpc_client *c, const char *from,
                                       const char *const *rcpts, size_t n_rcpts,
                                       smtpc_read_fn read, void *user, int64_t size, int flags);

/* smtpc_client_send_stream with a DSN request (RFC 3461; struct smtpc_dsn
 * in smtpc/engine.h: RET and ENVID on MAIL, NOTIFY and ORCPT per recipient,
 * its arrays n_rcpts long). dsn NULL is smtpc_client_send_stream. dsn and
 * what it points to are borrowed for the call only. Besides the errors of
 * smtpc_client_send_stream, before MAIL is sent: those of
 * smtpc_engine_begin_mail_dsn (SMTPC_EINVAL, SMTPC_EBADCHAR, SMTPC_ETOOLONG)
 * and SMTPC_ENODSN when the server does not offer DSN, unless
 * smtpc_client_allow_no_dsn (then the DSN parameters are dropped and a
 * trace note says so). The session stays usable after those. */
SMTPC_API int smtpc_client_send_stream_dsn(smtpc_client *c, const char *from,
                                           const char *const *rcpts, size_t n_rcpts,
                                           smtpc_read_fn read, void *user, int64_t size,
                                           int flags, const smtpc_dsn *dsn);

/* Send msg, made with the builder (smtpc/message.h), on a connected client
 * (smtpc_client_send_stream underneath, with the message's exact size when
 * known and the flags of smtpc_message_mail_flags). The message is rewound
 * first and adapted to the server (smtpc_message_set_server_caps with the
 * session's capabilities): 8-bit text goes 8bit only to a server offering
 * 8BITMIME, else quoted-printable or base64; SMTPUTF8 is used only when the
 * message needs it (SMTPC_EUTF8 when the server lacks it). The message's
 * DSN request (smtpc_message_set_dsn, smtpc_message_set_rcpt_dsn) goes on
 * MAIL and RCPT (SMTPC_ENODSN before MAIL when the server does not offer
 * DSN, unless smtpc_client_allow_no_dsn); SMTPC_MESSAGE_REQUIRETLS as
 * smtpc_client_send_stream's SMTPC_MAIL_REQUIRETLS.
 * envelope_from: NULL means the From address. rcpts/n_rcpts: n_rcpts 0 means
 * every To, Cc and Bcc address (duplicates sent once). Bcc never appears in
 * the headers sent. Returns what smtpc_client_send_stream returns, except
 * that a message error (SMTPC_EFILE, SMTPC_ESOURCE, SMTPC_EHEADER,
 * SMTPC_EUTF8, ...) is returned as itself; the connection is then handled as
 * smtpc_client_send_stream documents (nothing half-sent is ever delivered).
 * The client's error record (smtpc_client_error) always describes the
 * failure, message-side causes included. */
SMTPC_API int smtpc_client_send_message(smtpc_client *c, smtpc_message *msg,
                                        const char *envelope_from,
                                        const char *const *rcpts, size_t n_rcpts);

/* --- sending many messages ---
 * With PIPELINING, each message's MAIL, RCPT and DATA go out in the same
 * write as the previous message's end of data: one round trip per message
 * once under way (see "Sending many messages" in the README). Without
 * PIPELINING the messages go one after the other, as with
 * smtpc_client_send. Either way each message gets its own verdict. */

/* One message of a batch: raw bytes (body, body_len: like
 * smtpc_client_send) when msg is NULL, else a built message (like
 * smtpc_client_send_message: from NULL means its From address, n_rcpts 0
 * every To, Cc and Bcc). Everything is borrowed until the message's verdict
 * has been delivered. result and status are written by the batch: 0 and
 * SMTPC_MESSAGE_ACCEPTED when the server accepted the message for at least
 * one recipient; otherwise the error (a refusal, SMTPC_EUNKNOWN after a
 * connection lost past the end of data, or the error that ended the session
 * before the message was sent) and the SMTPC_MESSAGE_* status. */
typedef struct smtpc_batch_item {
    const char *from;
    const char *const *rcpts;
    size_t n_rcpts;
    const uint8_t *body;
    size_t body_len;
    smtpc_message *msg;
    int result; /* out */
    int status; /* out: SMTPC_MESSAGE_* */
} smtpc_batch_item;

/* The verdict of message index (its place in the batch, from 0), called
 * exactly once per message, in order. result and status as in
 * smtpc_batch_item; err (borrowed for the call) holds the code, the
 * server's reply and the reason, cleared when result is 0. While it runs,
 * smtpc_engine_rcpt_* on e give that message's per-recipient verdicts (in
 * the order its recipients were given); e is NULL for a message that never
 * reached the server (refused before MAIL was sent: a bad address, a
 * message error, the session gone). It may not call the client. */
typedef void (*smtpc_batch_done_fn)(void *user, size_t index, int result, int status,
                                    const smtpc_engine *e, const smtpc_error *err);
/* Supplies message index: fill *item (zeroed before the call) and return 1,
 * or return 0 when there are no more. Called when the client is ready for
 * the next message, which may be before the previous verdict. It may not
 * call the client. */
typedef int (*smtpc_batch_next_fn)(void *user, size_t index, smtpc_batch_item *item);

/* Send items[0..n) on a connected client; done (may be NULL) hears each
 * verdict. A message refused, or invalid before anything is sent (bad
 * address, message error, ...), is reported and the batch goes on with the
 * next. When the session ends (network or protocol error, 421), every
 * message not yet reported gets that error with SMTPC_MESSAGE_NOT_SENT (or
 * SMTPC_MESSAGE_UNKNOWN for one whose end of data had gone) and the batch
 * stops; no message is ever sent twice. Returns 0 when the batch ran to its
 * end with the session open (look at each verdict), the error that ended
 * the session, or SMTPC_EINVAL/SMTPC_ESTATE (nothing sent, nothing
 * reported). The whole-message deadline and stage timeouts apply to each
 * message as in smtpc_client_send_stream. */
SMTPC_API int smtpc_client_send_batch(smtpc_client *c, smtpc_batch_item *items, size_t n,
                                      smtpc_batch_done_fn done, void *user);
/* The same with messages from next, until it returns 0 or the session
 * ends (next is then not called again; messages it never supplied are
 * never reported). done is required: the items next fills are the
 * client's copies, and result/status reach the caller only through it. */
SMTPC_API int smtpc_client_send_each(smtpc_client *c, smtpc_batch_next_fn next,
                                     smtpc_batch_done_fn done, void *user);

/* Reset the transaction (RSET) and NOOP: keep-alive helpers. */
SMTPC_API int smtpc_client_rset(smtpc_client *c);
SMTPC_API int smtpc_client_noop(smtpc_client *c);
/* Send QUIT, read the reply, close. Closing happens even if QUIT fails. */
SMTPC_API int smtpc_client_quit(smtpc_client *c);

/* --- non-blocking mode (for event loops; many connections from one thread) ---
 * The same client, settings, results, error record and timeouts as the
 * blocking calls, driven by the caller's loop (poll, epoll, kqueue, libuv,
 * GLib): smtpc never owns the loop and never waits.
 *
 *   smtpc_client_set_nonblocking(c, 1);
 *   int rc = smtpc_client_connect(c);      (or any call listed below)
 *   while (rc == SMTPC_INPROGRESS) {
 *       wait until smtpc_client_fd(c) is ready for smtpc_client_events(c),
 *       or smtpc_client_timeout(c) ms passed (-1: no limit);
 *       rc = smtpc_client_step(c);
 *   }
 *   rc is what the blocking call would have returned.
 *
 * Ownership: everything an operation borrows (from, rcpts, body, the read
 * callback's user, the message, the batch items, the DSN request) must
 * stay valid and unchanged until its result is returned; freeing the client
 * ends the operation (no result), after which they are free again.
 * Only one operation runs at a time: another call that starts one returns
 * SMTPC_ESTATE until the result (the settings that are refused while a
 * session is open are refused then too). Callbacks (trace, read, message
 * sources, the batch's next and done) run inside the call or the step.
 * Name resolution: smtpc_client_set_server with an IP literal never
 * blocks; a host name is resolved by getaddrinfo, which blocks, in the
 * call that starts the connect (resolve it in your loop, then pass the
 * address; TLS verification still needs the name: smtpc_tls_config's
 * server name). A transport of your own (smtpc_client_set_transport) is
 * called with timeout_ms 0 and must return SMTPC_ETIMEDOUT at once when it
 * cannot move bytes; smtpc_client_fd is then -1 and your transport knows
 * when to step again. */

/* Non-blocking mode on (1) or off (0, the default). Only while no session
 * is open and no operation runs, not inside a callback (else SMTPC_ESTATE,
 * holding back the next connect as every refused setter does). In this mode
 * smtpc_client_connect, _send, _send_stream, _send_stream_dsn,
 * _send_message, _send_batch, _send_each, _rset, _noop and _quit start the
 * operation, run it as far as possible without waiting, and return
 * SMTPC_INPROGRESS when they must wait (else their final result, exactly as
 * in blocking mode); smtpc_client_step does the rest. */
SMTPC_API int smtpc_client_set_nonblocking(smtpc_client *c, int on);
/* Do as much of the running operation as possible without waiting; checks
 * every deadline (reply, whole message, connect attempt, handshake).
 * Returns SMTPC_INPROGRESS while it continues, else the operation's result
 * (the value the blocking call would have returned). Connected with no
 * operation running: reads what the server sent while idle (a 421 or a
 * close ends the session and that error is returned), else 0. Not
 * connected and no operation: SMTPC_ESTATE. A spurious call is harmless.
 * Not allowed inside a callback of c (SMTPC_ESTATE). */
SMTPC_API int smtpc_client_step(smtpc_client *c);
/* The descriptor to watch; -1 when there is none (not connected, or a
 * transport of your own). It can change while a connect runs (each address
 * tried is a new socket): ask again before each wait (epoll users: re-add
 * it when it changed). */
SMTPC_API int smtpc_client_fd(const smtpc_client *c);
/* SMTPC_POLL_READ and/or SMTPC_POLL_WRITE (smtpc/base.h) to wait for: what
 * the running operation waits for (a TLS write may wait for READ); while
 * connected and idle, SMTPC_POLL_READ (a 421 or a close: call
 * smtpc_client_step); 0 when not connected. */
SMTPC_API int smtpc_client_events(const smtpc_client *c);
/* ms until the nearest deadline of the running operation (whole reply,
 * one send, whole message, connect attempt, TLS handshake); 0: it passed,
 * call smtpc_client_step now (it fails the operation as the blocking call
 * would); -1: none (no operation, or no timeouts set). */
SMTPC_API int smtpc_client_timeout(const smtpc_client *c);

/* --- results --- */
/* The error record. Every call on c that returns an error sets it, with a
 * message naming the call or step that failed. */
SMTPC_API const smtpc_error *smtpc_client_error(const smtpc_client *c);
/* The engine inside, for the session's and the last send's results:
 * per-recipient verdicts (smtpc_engine_rcpt_*, in the order given), the
 * message status (smtpc_engine_message_status: SMTPC_MESSAGE_*),
 * capabilities, SIZE limit, encryption and AUTH mechanism. Only the
 * engine's queries may be used on it; driving it (begin_*, feed, settings)
 * is the client's job. Borrowed: valid until smtpc_client_free. NULL for c
 * NULL. */
SMTPC_API smtpc_engine *smtpc_client_engine(smtpc_client *c);

#ifdef __cplusplus
}
#endif
#endif
