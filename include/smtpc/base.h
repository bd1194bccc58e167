/* smtpc — base types: status codes, errors, allocator hook, version, trace.
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT */
#ifndef SMTPC_BASE_H
#define SMTPC_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SMTPC_BUILDING) && defined(__GNUC__)
#define SMTPC_API __attribute__((visibility("default")))
#else
#define SMTPC_API
#endif

#define SMTPC_VERSION_MAJOR 0
#define SMTPC_VERSION_MINOR 1
#define SMTPC_VERSION_PATCH 0
#define SMTPC_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch */
#define SMTPC_VERSION_NUMBER 100

/* The version of the library actually linked, which may differ from the
 * header's SMTPC_VERSION_*. The string is static. */
SMTPC_API const char *smtpc_version(void);
SMTPC_API int smtpc_version_number(void);

/* ---------------------------------------------------------------------------
 * Status codes.
 *
 * Every fallible call returns an int: SMTPC_OK (0) or one of the negative
 * codes below. Codes are grouped by kind in blocks of 20 and a number is never
 * reused for a different meaning.
 * ------------------------------------------------------------------------- */
#define SMTPC_OK 0
/* Not an error: a non-blocking operation continues (smtpc_client_step,
 * smtpc_transport_connect_step, a handshake with timeout 0). Wait for the
 * events the handle asks for, then call again. */
#define SMTPC_INPROGRESS 1

/* Readiness a non-blocking handle waits for (smtpc_client_events,
 * smtpc_transport_events): poll's POLLIN and POLLOUT. */
#define SMTPC_POLL_READ 1
#define SMTPC_POLL_WRITE 2

/* Caller and local-input errors (-1 .. -19). Not sticky. */
#define SMTPC_EINVAL -1       /* NULL or out-of-range argument */
#define SMTPC_ESTATE -2       /* call not allowed in the handle's current state */
#define SMTPC_ENOMEM -3       /* the allocator hook returned NULL */
#define SMTPC_ENOTSUP -4      /* feature compiled out or not supported */
#define SMTPC_ETOOLONG -5     /* argument or command line over its limit (512 octets for a command) */
#define SMTPC_EADDRESS -6     /* invalid mailbox syntax */
#define SMTPC_EBADCHAR -7     /* CR, LF or NUL in a value that goes on a command or header line */
#define SMTPC_E8BIT -8        /* 8-bit body but the server lacks 8BITMIME, or undeclared 8-bit byte */
#define SMTPC_EUTF8 -9        /* non-ASCII address but the server lacks SMTPUTF8 */
#define SMTPC_ESIZE -10       /* message larger than the server's SIZE limit */
#define SMTPC_ESOURCE -11     /* a user read callback reported an error */
#define SMTPC_ENORECIPIENTS -12 /* no recipient given */
#define SMTPC_ENODSN -18      /* DSN parameters asked for but the server does not offer DSN */
#define SMTPC_EREQUIRETLS -19 /* REQUIRETLS asked for without verified TLS or server support */

/* Network errors (-20 .. -39). Sticky: the session is over. */
#define SMTPC_ERESOLVE -20     /* host name could not be resolved */
#define SMTPC_ECONNREFUSED -21 /* every address refused the connection */
#define SMTPC_ECONNECT -22     /* connect failed for another reason (unreachable, ...) */
#define SMTPC_ETIMEDOUT -23    /* a connect, read or write timed out */
#define SMTPC_ECLOSED -24      /* the peer closed the connection */
#define SMTPC_EIO -25          /* other I/O error from the transport */

/* Protocol errors (-40 .. -59). Sticky. */
#define SMTPC_EPROTO -40       /* malformed reply (garbage, bad continuation code) */
#define SMTPC_ELINE -41        /* reply line longer than the engine's limit */
#define SMTPC_EUNEXPECTED -42  /* reply to a command never sent */
#define SMTPC_EREPLYLIMIT -43  /* reply with more lines or bytes than the engine's limit */

/* Server refusals (-60 .. -79). The reply is attached to the error record.
 * 421 anywhere is SMTPC_ESHUTDOWN and sticky; the others end the transaction,
 * not the session. */
#define SMTPC_EGREETING -60    /* greeting was not 220 (554, ...) */
#define SMTPC_ESHUTDOWN -61    /* 421: service closing the channel */
#define SMTPC_EHELO -62        /* EHLO and HELO both refused */
#define SMTPC_EMAILFROM -63    /* MAIL FROM refused */
#define SMTPC_ERCPTS -64       /* every recipient refused (transaction reset) */
#define SMTPC_EDATA -65        /* DATA refused */
#define SMTPC_EMESSAGE -66     /* message refused after the end of data */
#define SMTPC_EUNKNOWN -67     /* connection lost after the end of data: outcome unknown */
#define SMTPC_ECOMMAND -68     /* RSET, NOOP or QUIT refused */

/* TLS errors (-80 .. -99). Sticky. */
#define SMTPC_ETLS -80         /* TLS failure (mbedTLS text in the message) */
#define SMTPC_ETLS_VERIFY -81  /* certificate verification failed (reason in the message) */
#define SMTPC_ETLS_PIN -82     /* server public key does not match the pin */
#define SMTPC_ENOSTARTTLS -83  /* STARTTLS required but not offered */
#define SMTPC_ESTARTTLS -84    /* STARTTLS refused (454 / 5xx) */
#define SMTPC_EINJECTION -85   /* plaintext bytes after the STARTTLS 220 (response injection) */
#define SMTPC_ETLS_HANDSHAKE -86 /* handshake failed for a reason other than verification */

/* Authentication errors (-100 .. -119). */
#define SMTPC_EAUTH_NOTOFFERED -100 /* credentials set but the server offers no AUTH */
#define SMTPC_EAUTH_NOMECH -101     /* no mechanism in common */
#define SMTPC_EAUTH_FAILED -102     /* 535: credentials rejected */
#define SMTPC_EAUTH_WEAK -103       /* 534: mechanism too weak */
#define SMTPC_EAUTH_ENCRYPT -104    /* 538: encryption required */
#define SMTPC_EAUTH_TEMP -105       /* 454: temporary authentication failure */
#define SMTPC_EAUTH_INSECURE -106   /* refused to send credentials in plaintext */
#define SMTPC_EAUTH_SERVER -107     /* server proof (SCRAM signature) wrong */
#define SMTPC_EAUTH_PROTO -108      /* malformed challenge */
#define SMTPC_EAUTH -109            /* other authentication failure */

/* Message builder errors (-120 .. -139). */
#define SMTPC_EHEADER -120     /* invalid header name or value */
#define SMTPC_EFILE -121       /* file could not be opened or read */
#define SMTPC_ESIZEUNKNOWN -122 /* message size asked but a source's size is unknown */

/* A static English description of a status code; never NULL. In a
 * -Dmessages=short build (firmware) the code's name without its SMTPC_
 * prefix, e.g. "ESIZE" for SMTPC_ESIZE (an unknown code gives "E?"),
 * and smtpc_error_message gives that name (with the server's reply when
 * there was one) instead of the detailed text. */
SMTPC_API const char *smtpc_strerror(int code);

/* ---------------------------------------------------------------------------
 * Error record.
 *
 * Each handle keeps the details of its last failure (SQLite's errmsg model),
 * read through smtpc_<handle>_error; see "The error record" in smtpc.h.
 * Strings returned here are borrowed like the record itself.
 * ------------------------------------------------------------------------- */
typedef struct smtpc_error smtpc_error;

SMTPC_API int smtpc_error_code(const smtpc_error *err);        /* SMTPC_E* or 0 */
SMTPC_API int smtpc_error_reply_code(const smtpc_error *err);  /* e.g. 550, 0 if none */
SMTPC_API const char *smtpc_error_enhanced(const smtpc_error *err); /* "5.1.1" or "" */
SMTPC_API const char *smtpc_error_reply_text(const smtpc_error *err); /* server text or "" */
SMTPC_API const char *smtpc_error_message(const smtpc_error *err); /* readable, never NULL */
/* 1 when the server's reply was a 4xx (retry later may succeed), else 0. */
SMTPC_API int smtpc_error_is_temporary(const smtpc_error *err);

/* ---------------------------------------------------------------------------
 * Allocator hook.
 *
 * Passed at creation (NULL means malloc/free) and inherited by every object
 * the handle creates. free receives the size given to alloc. The struct is
 * copied; user must outlive every handle created with it.
 * ------------------------------------------------------------------------- */
typedef struct smtpc_allocator {
    void *(*alloc)(void *user, size_t size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} smtpc_allocator;

/* ---------------------------------------------------------------------------
 * Trace.
 *
 * Called with every line sent (SMTPC_TRACE_SEND) and received
 * (SMTPC_TRACE_RECV), without the CRLF, and with notes from the library
 * (SMTPC_TRACE_INFO). Secrets (AUTH arguments, SASL exchanges) are replaced
 * by "<redacted>" before the callback sees them. Message body bytes are not
 * traced. text is NUL-terminated and borrowed for the duration of the call.
 * ------------------------------------------------------------------------- */
#define SMTPC_TRACE_SEND 1
#define SMTPC_TRACE_RECV 2
#define SMTPC_TRACE_INFO 3
typedef void (*smtpc_trace_fn)(void *user, int direction, const char *text, size_t len);

/* ---------------------------------------------------------------------------
 * Random source hook (smtpc_engine_set_random, smtpc_message_set_random).
 *
 * Fill buf with len unpredictable bytes (a CSPRNG, or a hardware source) and
 * return 0; any other return value is a failure. user is the pointer given
 * with the hook.
 * ------------------------------------------------------------------------- */
typedef int (*smtpc_random_fn)(void *user, uint8_t *buf, size_t len);

/* ---------------------------------------------------------------------------
 * Read callback: a message body (smtpc_client_send_stream) or a part's
 * source (smtpc_message_attach_reader, smtpc_message_inline_reader).
 *
 * Fill buf with up to cap bytes, store the count in *len (0 means the end)
 * and return 0; any other return value is a failure, reported as
 * SMTPC_ESOURCE by the call that was reading.
 * ------------------------------------------------------------------------- */
typedef int (*smtpc_read_fn)(void *user, uint8_t *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
