/* Error records and the static code descriptions. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if SMTPC_SHORT_MESSAGES
/* The code's own name: readable, and what the header documents. One
 * string of names in the order of codes[], no table of pointers. */
static const signed char codes[] = {
    0,
    SMTPC_EINVAL,
    SMTPC_ESTATE,
    SMTPC_ENOMEM,
    SMTPC_ENOTSUP,
    SMTPC_ETOOLONG,
    SMTPC_EADDRESS,
    SMTPC_EBADCHAR,
    SMTPC_E8BIT,
    SMTPC_EUTF8,
    SMTPC_ESIZE,
    SMTPC_ESOURCE,
    SMTPC_ENORECIPIENTS,
    SMTPC_ENODSN,
    SMTPC_EREQUIRETLS,
    SMTPC_ERESOLVE,
    SMTPC_ECONNREFUSED,
    SMTPC_ECONNECT,
    SMTPC_ETIMEDOUT,
    SMTPC_ECLOSED,
    SMTPC_EIO,
    SMTPC_EPROTO,
    SMTPC_ELINE,
    SMTPC_EUNEXPECTED,
    SMTPC_EREPLYLIMIT,
    SMTPC_EGREETING,
    SMTPC_ESHUTDOWN,
    SMTPC_EHELO,
    SMTPC_EMAILFROM,
    SMTPC_ERCPTS,
    SMTPC_EDATA,
    SMTPC_EMESSAGE,
    SMTPC_EUNKNOWN,
    SMTPC_ECOMMAND,
    SMTPC_ETLS,
    SMTPC_ETLS_VERIFY,
    SMTPC_ETLS_PIN,
    SMTPC_ENOSTARTTLS,
    SMTPC_ESTARTTLS,
    SMTPC_EINJECTION,
    SMTPC_ETLS_HANDSHAKE,
    SMTPC_EAUTH_NOTOFFERED,
    SMTPC_EAUTH_NOMECH,
    SMTPC_EAUTH_FAILED,
    SMTPC_EAUTH_WEAK,
    SMTPC_EAUTH_ENCRYPT,
    SMTPC_EAUTH_TEMP,
    SMTPC_EAUTH_INSECURE,
    SMTPC_EAUTH_SERVER,
    SMTPC_EAUTH_PROTO,
    SMTPC_EAUTH,
    SMTPC_EHEADER,
    SMTPC_EFILE,
    SMTPC_ESIZEUNKNOWN,
};
static const char names[] = "SMTPC_OK\0"
                            "SMTPC_EINVAL\0"
                            "SMTPC_ESTATE\0"
                            "SMTPC_ENOMEM\0"
                            "SMTPC_ENOTSUP\0"
                            "SMTPC_ETOOLONG\0"
                            "SMTPC_EADDRESS\0"
                            "SMTPC_EBADCHAR\0"
                            "SMTPC_E8BIT\0"
                            "SMTPC_EUTF8\0"
                            "SMTPC_ESIZE\0"
                            "SMTPC_ESOURCE\0"
                            "SMTPC_ENORECIPIENTS\0"
                            "SMTPC_ENODSN\0"
                            "SMTPC_EREQUIRETLS\0"
                            "SMTPC_ERESOLVE\0"
                            "SMTPC_ECONNREFUSED\0"
                            "SMTPC_ECONNECT\0"
                            "SMTPC_ETIMEDOUT\0"
                            "SMTPC_ECLOSED\0"
                            "SMTPC_EIO\0"
                            "SMTPC_EPROTO\0"
                            "SMTPC_ELINE\0"
                            "SMTPC_EUNEXPECTED\0"
                            "SMTPC_EREPLYLIMIT\0"
                            "SMTPC_EGREETING\0"
                            "SMTPC_ESHUTDOWN\0"
                            "SMTPC_EHELO\0"
                            "SMTPC_EMAILFROM\0"
                            "SMTPC_ERCPTS\0"
                            "SMTPC_EDATA\0"
                            "SMTPC_EMESSAGE\0"
                            "SMTPC_EUNKNOWN\0"
                            "SMTPC_ECOMMAND\0"
                            "SMTPC_ETLS\0"
                            "SMTPC_ETLS_VERIFY\0"
                            "SMTPC_ETLS_PIN\0"
                            "SMTPC_ENOSTARTTLS\0"
                            "SMTPC_ESTARTTLS\0"
                            "SMTPC_EINJECTION\0"
                            "SMTPC_ETLS_HANDSHAKE\0"
                            "SMTPC_EAUTH_NOTOFFERED\0"
                            "SMTPC_EAUTH_NOMECH\0"
                            "SMTPC_EAUTH_FAILED\0"
                            "SMTPC_EAUTH_WEAK\0"
                            "SMTPC_EAUTH_ENCRYPT\0"
                            "SMTPC_EAUTH_TEMP\0"
                            "SMTPC_EAUTH_INSECURE\0"
                            "SMTPC_EAUTH_SERVER\0"
                            "SMTPC_EAUTH_PROTO\0"
                            "SMTPC_EAUTH\0"
                            "SMTPC_EHEADER\0"
                            "SMTPC_EFILE\0"
                            "SMTPC_ESIZEUNKNOWN\0"
    ;

const char *smtpc_strerror(int code)
{
    const char *p = names;
    for (size_t i = 0; i < sizeof codes; i++, p += strlen(p) + 1)
        if (codes[i] == code)
            return p;
    return "SMTPC_E?";
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

int (smtpc_error_set)(smtpc_error *err, int code, const char *fmt, ...)
{
    smtpc_error_clear(err);
    err->code = code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->message, sizeof err->message, "%s", smtpc_strerror(code));
    }
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
        snprintf(err->message, sizeof err->message, "%s: %d%s%s %.*s",
                 what ? what : smtpc_strerror(code), reply_code, err->enhanced[0] ? " " : "",
                 err->enhanced, 160, err->reply_text);
    } else {
        snprintf(err->message, sizeof err->message, "%s", what ? what : smtpc_strerror(code));
    }
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
