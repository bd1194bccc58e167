/* smtpc command-line tool: exit statuses (sysexits.h) and what goes to
 * stderr when something fails. The table is documented in smtpc.1 (EXIT
 * STATUS); keep the two together.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

int cli_exit_code(const smtpc_error *err)
{
    int code = smtpc_error_code(err);
    /* A 4xx anywhere: the same message may go through later. */
    if (smtpc_error_is_temporary(err))
        return EX_TEMPFAIL;
    switch (code) {
    case SMTPC_ERESOLVE:
    case SMTPC_ECONNREFUSED:
    case SMTPC_ECONNECT:
    case SMTPC_ETIMEDOUT:
    case SMTPC_ECLOSED:
    case SMTPC_EIO:
    case SMTPC_ESHUTDOWN:
    case SMTPC_EUNKNOWN:
    case SMTPC_EAUTH_TEMP:
        return EX_TEMPFAIL;
    case SMTPC_EPROTO:
    case SMTPC_ELINE:
    case SMTPC_EUNEXPECTED:
    case SMTPC_EREPLYLIMIT:
    case SMTPC_EINJECTION:
    case SMTPC_ETLS:
    case SMTPC_ETLS_HANDSHAKE:
        return EX_PROTOCOL;
    case SMTPC_EAUTH_NOTOFFERED:
    case SMTPC_EAUTH_NOMECH:
    case SMTPC_EAUTH_FAILED:
    case SMTPC_EAUTH_WEAK:
    case SMTPC_EAUTH_ENCRYPT:
    case SMTPC_EAUTH_INSECURE:
    case SMTPC_EAUTH_SERVER:
    case SMTPC_EAUTH_PROTO:
    case SMTPC_EAUTH:
        return EX_NOPERM;
    case SMTPC_EADDRESS:
    case SMTPC_EBADCHAR:
    case SMTPC_ETOOLONG:
    case SMTPC_E8BIT:
    case SMTPC_EUTF8:
    case SMTPC_ESIZE:
    case SMTPC_EHEADER:
        return EX_DATAERR;
    case SMTPC_EFILE:
        return EX_NOINPUT;
    case SMTPC_ESOURCE:
        return EX_IOERR;
    case SMTPC_ENOMEM:
        return EX_OSERR;
    case SMTPC_ENORECIPIENTS:
        return EX_USAGE;
    case SMTPC_EGREETING:
    case SMTPC_EHELO:
    case SMTPC_EMAILFROM:
    case SMTPC_ERCPTS:
    case SMTPC_EDATA:
    case SMTPC_EMESSAGE:
    case SMTPC_ECOMMAND:
    case SMTPC_ETLS_VERIFY:
    case SMTPC_ETLS_PIN:
    case SMTPC_ENOSTARTTLS:
    case SMTPC_ESTARTTLS:
    case SMTPC_ENODSN:
    case SMTPC_EREQUIRETLS:
    case SMTPC_ENOTSUP:
        return EX_UNAVAILABLE;
    default:
        return EX_SOFTWARE;
    }
}

void cli_report(const char *what, const smtpc_error *err)
{
    fprintf(stderr, "smtpc: %s: %s", what, smtpc_error_message(err));
    if (smtpc_error_reply_code(err)) {
        const char *enh = smtpc_error_enhanced(err);
        fprintf(stderr, " (server: %d%s%s %s)", smtpc_error_reply_code(err), *enh ? " " : "",
                enh, smtpc_error_reply_text(err));
    }
    fputc('\n', stderr);
    switch (smtpc_error_code(err)) {
    case SMTPC_EAUTH_INSECURE:
        fputs("smtpc: credentials are only sent encrypted: use --security starttls or tls, "
              "or --allow-plaintext-auth if you must\n",
              stderr);
        break;
    case SMTPC_ENOTSUP:
        fputs("smtpc: this smtpc was built without TLS: use --security plain, or a build "
              "with TLS\n",
              stderr);
        break;
    case SMTPC_ENODSN:
        fputs("smtpc: the server does not offer delivery status notifications: use "
              "--allow-no-dsn to send without them\n",
              stderr);
        break;
    case SMTPC_EREQUIRETLS:
        fputs("smtpc: --requiretls needs verified TLS (--security starttls or tls, the "
              "certificate checked) to a server offering REQUIRETLS\n",
              stderr);
        break;
    case SMTPC_EUNKNOWN:
        fputs("smtpc: the server may have accepted the message: check before sending it "
              "again\n",
              stderr);
        break;
    default:
        break;
    }
}

int cli_report_rcpts(const smtpc_engine *e, char *const *rcpts)
{
    int worst = 0;
    size_t n = smtpc_engine_rcpt_count(e);
    for (size_t i = 0; i < n; i++) {
        int code = smtpc_engine_rcpt_reply_code(e, i);
        if (smtpc_engine_rcpt_accepted(e, i) || code == 0)
            continue;
        const char *enh = smtpc_engine_rcpt_enhanced(e, i);
        fprintf(stderr, "smtpc: recipient <%s> refused: %d%s%s %s\n", rcpts[i], code,
                *enh ? " " : "", enh, smtpc_engine_rcpt_reply_text(e, i));
        if (code >= 500)
            worst = EX_UNAVAILABLE;
        else if (worst == 0)
            worst = EX_TEMPFAIL;
    }
    return worst;
}
