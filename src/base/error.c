/* Error records and the static code descriptions. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if SMTPC_SHORT_MESSAGES
/* The code's own name without the SMTPC_ prefix every name shares (a
 * sixth of the table): readable, and what the header documents. One string
 * holds the names in the order of their codes, 0 down; the codes come in
 * runs of consecutive values, and a byte below 'A' before a name says how
 * many values the run before it skipped (a table of codes would take a byte
 * per code). */
#define NAME(c) #c "\0"
#define SKIP(before, after, n) \
    _Static_assert(SMTPC_##before - 1 - (n) == SMTPC_##after, "gap before " #after);
SKIP(ENORECIPIENTS, ENODSN, 5)
SKIP(EIO, EPROTO, 14)
SKIP(EREPLYLIMIT, EGREETING, 16)
SKIP(ECOMMAND, ETLS, 11)
SKIP(ETLS_HANDSHAKE, EAUTH_NOTOFFERED, 13)
SKIP(EAUTH, EHEADER, 10)
static const char names[] =
    "OK\0"
    NAME(EINVAL) NAME(ESTATE) NAME(ENOMEM) NAME(ENOTSUP) NAME(ETOOLONG) NAME(EADDRESS)
    NAME(EBADCHAR) NAME(E8BIT) NAME(EUTF8) NAME(ESIZE) NAME(ESOURCE) NAME(ENORECIPIENTS)
    "\x05" NAME(ENODSN) NAME(EREQUIRETLS)
    NAME(ERESOLVE) NAME(ECONNREFUSED) NAME(ECONNECT) NAME(ETIMEDOUT) NAME(ECLOSED) NAME(EIO)
    "\x0e" NAME(EPROTO) NAME(ELINE) NAME(EUNEXPECTED) NAME(EREPLYLIMIT)
    "\x10" NAME(EGREETING) NAME(ESHUTDOWN) NAME(EHELO) NAME(EMAILFROM) NAME(ERCPTS)
    NAME(EDATA) NAME(EMESSAGE) NAME(EUNKNOWN) NAME(ECOMMAND)
    "\x0b" NAME(ETLS) NAME(ETLS_VERIFY) NAME(ETLS_PIN) NAME(ENOSTARTTLS) NAME(ESTARTTLS)
    NAME(EINJECTION) NAME(ETLS_HANDSHAKE)
    "\x0d" NAME(EAUTH_NOTOFFERED) NAME(EAUTH_NOMECH) NAME(EAUTH_FAILED) NAME(EAUTH_WEAK)
    NAME(EAUTH_ENCRYPT) NAME(EAUTH_TEMP) NAME(EAUTH_INSECURE) NAME(EAUTH_SERVER)
    NAME(EAUTH_PROTO) NAME(EAUTH)
    "\x0a" NAME(EHEADER) NAME(EFILE) NAME(ESIZEUNKNOWN);

const char *smtpc_strerror(int code)
{
    int value = 0;
    /* The string's own final NUL ends the walk as an empty name. */
    for (const char *p = names; *p; p += strlen(p) + 1, value--) {
        if (*p < 'A')
            value -= *p++;
        if (value == code)
            return p;
    }
    return "E?";
}
#else
const char *smtpc_strerror(int code)
{
    switch (code) {
    case SMTPC_OK: return "success";
    case SMTPC_EINVAL: return "invalid argument";
    case SMTPC_ESTATE: return "call not allowed in the current state";
    case SMTPC_ENOMEM: return "out of memory";
    case SMTPC_ENOTSUP: return "not supported";
    case SMTPC_ETOOLONG: return "value or command line too long";
    case SMTPC_EADDRESS: return "invalid mail address";
    case SMTPC_EBADCHAR: return "CR, LF, NUL or control character in a value";
    case SMTPC_E8BIT: return "8-bit message body but the server does not offer 8BITMIME";
    case SMTPC_EUTF8: return "non-ASCII address but the server does not offer SMTPUTF8";
    case SMTPC_ESIZE: return "message larger than the server accepts";
    case SMTPC_ESOURCE: return "message source read failed";
    case SMTPC_ENORECIPIENTS: return "no recipients";
    case SMTPC_ENODSN: return "delivery status notifications asked for but the server does not offer DSN";
    case SMTPC_EREQUIRETLS: return "REQUIRETLS needs a verified TLS session to a server that offers REQUIRETLS";
    case SMTPC_ERESOLVE: return "host name could not be resolved";
    case SMTPC_ECONNREFUSED: return "connection refused";
    case SMTPC_ECONNECT: return "connection failed";
    case SMTPC_ETIMEDOUT: return "timed out";
    case SMTPC_ECLOSED: return "connection closed by the server";
    case SMTPC_EIO: return "I/O error";
    case SMTPC_EPROTO: return "malformed server reply";
    case SMTPC_ELINE: return "server reply line too long";
    case SMTPC_EUNEXPECTED: return "unexpected server reply";
    case SMTPC_EREPLYLIMIT: return "server reply has more lines or bytes than the limit";
    case SMTPC_EGREETING: return "server refused the connection at greeting";
    case SMTPC_ESHUTDOWN: return "server closing the connection (421)";
    case SMTPC_EHELO: return "server refused EHLO and HELO";
    case SMTPC_EMAILFROM: return "server refused the sender (MAIL FROM)";
    case SMTPC_ERCPTS: return "server refused every recipient";
    case SMTPC_EDATA: return "server refused DATA";
    case SMTPC_EMESSAGE: return "server refused the message";
    case SMTPC_EUNKNOWN: return "connection lost before the server confirmed the message: outcome unknown";
    case SMTPC_ECOMMAND: return "server refused the command";
    case SMTPC_ETLS: return "TLS error";
    case SMTPC_ETLS_VERIFY: return "server certificate verification failed";
    case SMTPC_ETLS_PIN: return "server public key does not match the pin";
    case SMTPC_ENOSTARTTLS: return "STARTTLS required but not offered by the server";
    case SMTPC_ESTARTTLS: return "server refused STARTTLS";
    case SMTPC_EINJECTION: return "plaintext data after STARTTLS (response injection)";
    case SMTPC_ETLS_HANDSHAKE: return "TLS handshake failed";
    case SMTPC_EAUTH_NOTOFFERED: return "server does not offer AUTH";
    case SMTPC_EAUTH_NOMECH: return "no authentication mechanism in common";
    case SMTPC_EAUTH_FAILED: return "authentication failed: credentials rejected";
    case SMTPC_EAUTH_WEAK: return "authentication mechanism too weak for the server";
    case SMTPC_EAUTH_ENCRYPT: return "server requires encryption for this mechanism";
    case SMTPC_EAUTH_TEMP: return "temporary authentication failure";
    case SMTPC_EAUTH_INSECURE: return "refused to send credentials over an unencrypted connection";
    case SMTPC_EAUTH_SERVER: return "server failed to prove its identity (SCRAM signature)";
    case SMTPC_EAUTH_PROTO: return "malformed authentication challenge";
    case SMTPC_EAUTH: return "authentication failed";
    case SMTPC_EHEADER: return "invalid header";
    case SMTPC_EFILE: return "file could not be read";
    case SMTPC_ESIZEUNKNOWN: return "message size unknown: a source has no known size";
    default: return "unknown error";
    }
}
#endif

void smtpc_error_clear(smtpc_error *err)
{
    err->code = 0;
    err->reply_code = 0;
    err->enhanced[0] = '\0';
    err->reply_text[0] = '\0';
    err->message[0] = '\0';
}

int smtpc_error_set_code(smtpc_error *err, int code)
{
    /* No reply and no text: the code's description (cold path, one copy). */
    return (smtpc_error_set_server)(err, code, 0, NULL, NULL, NULL);
}

int (smtpc_error_set)(smtpc_error *err, int code, const char *fmt, ...)
{
    if (!fmt)
        return smtpc_error_set_code(err, code);
    smtpc_error_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

int (smtpc_error_set_server)(smtpc_error *err, int code, int reply_code, const char *enhanced,
                           const char *text, const char *what)
{
    smtpc_error_clear(err);
    err->code = code;
    if (reply_code) {
        err->reply_code = reply_code;
        smtpc_copy_text(err->enhanced, sizeof err->enhanced, enhanced ? enhanced : "");
        smtpc_copy_text(err->reply_text, sizeof err->reply_text, text ? text : "");
    }
    /* Without a reply the arguments after what go unused. */
    snprintf(err->message, sizeof err->message, reply_code ? "%s: %d%s%s %.160s" : "%s",
             what ? what : smtpc_strerror(code), reply_code, err->enhanced[0] ? " " : "",
             err->enhanced, err->reply_text);
    return code;
}

void smtpc_copy_text(char *dst, size_t cap, const char *src)
{
    if (!cap)
        return;
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void smtpc_error_copy(smtpc_error *dst, const smtpc_error *src)
{
    memcpy(dst, src, sizeof *dst);
}

int smtpc_error_code(const smtpc_error *err)
{
    return err ? err->code : SMTPC_EINVAL;
}

int smtpc_error_reply_code(const smtpc_error *err)
{
    return err ? err->reply_code : 0;
}

const char *smtpc_error_enhanced(const smtpc_error *err)
{
    return err ? err->enhanced : "";
}

const char *smtpc_error_reply_text(const smtpc_error *err)
{
    return err ? err->reply_text : "";
}

const char *smtpc_error_message(const smtpc_error *err)
{
    if (!err)
        return smtpc_strerror(SMTPC_EINVAL);
    return err->message[0] ? err->message : smtpc_strerror(err->code);
}

int smtpc_error_is_temporary(const smtpc_error *err)
{
    return err && err->reply_code >= 400 && err->reply_code < 500;
}
