/* DSN (RFC 3461) and REQUIRETLS (RFC 8689): checked against the session
 * before MAIL goes out, so a message that asked for either is never sent
 * without it unless the caller said so. */
#include <stdio.h>

#include "command_writer.h"
#include "fmt.h"
#include "engine_internal.h"

static int requested(const smtpc_dsn *dsn, size_t n)
{
    if (!dsn)
        return 0;
    if (dsn->ret || dsn->envid)
        return 1;
    for (size_t i = 0; i < n; i++)
        if ((dsn->notify && dsn->notify[i]) || (dsn->orcpt && dsn->orcpt[i]))
            return 1;
    return 0;
}

#if !SMTPC_HAVE_DSN
/* -Ddsn=false: no request can be honoured, so any is refused before MAIL
 * (DSN and REQUIRETLS are not even read from EHLO: ehlo_caps.c). */
int smtpc_engine_check_dsn_tls(smtpc_engine *e, int flags, const smtpc_dsn *dsn,
                               const char *const *rcpts, size_t n_rcpts)
{
    (void)rcpts; /* e->dsn stays NULL: zero from the start, never set */
    if (flags & SMTPC_MAIL_REQUIRETLS)
        return smtpc_engine_err(e, SMTPC_ENOTSUP,
                                "REQUIRETLS is compiled out (-Ddsn=false); nothing was sent");
    if (requested(dsn, n_rcpts))
        return smtpc_engine_err(e, SMTPC_ENOTSUP,
                                "DSN requests are compiled out (-Ddsn=false); nothing was sent");
    return 0;
}
#else
static int value_error(smtpc_engine *e, int rc, const char *what)
{
    const char *why = rc == SMTPC_EINVAL     ? "is empty"
                      : rc == SMTPC_EBADCHAR ? "holds CR or LF"
                                             : "is too long once xtext-encoded";
    return smtpc_engine_err(e, rc, "DSN: %s %s", what, why);
}

/* Every value checked and every RCPT line tried before anything is sent:
 * a bad one must not surface halfway through a pipelined envelope. */
static int check_request(smtpc_engine *e, const smtpc_dsn *dsn, const char *const *rcpts,
                         size_t n)
{
    if (dsn->ret != 0 && dsn->ret != SMTPC_DSN_RET_FULL && dsn->ret != SMTPC_DSN_RET_HDRS)
        return smtpc_engine_err(e, SMTPC_EINVAL, "DSN: ret %d is not 0, FULL or HDRS",
                                dsn->ret);
    int rc;
    if (dsn->envid && (rc = smtpc_cmd_check_dsn_value(dsn->envid, SMTPC_ENVID_MAX)))
        return value_error(e, rc, "envid");
    for (size_t i = 0; i < n; i++) {
        int notify = dsn->notify ? dsn->notify[i] : 0;
        const char *orcpt = dsn->orcpt ? dsn->orcpt[i] : NULL;
        char num[SMTPC_FMT_INT_MAX];
        smtpc_fmt_size(num, i);
        if (smtpc_cmd_check_notify(notify))
            return smtpc_engine_err(e, SMTPC_EINVAL,
                                    "DSN: recipient %s: NOTIFY 0x%x is not NEVER alone or a "
                                    "set of SUCCESS, FAILURE and DELAY",
                                    num, (unsigned)notify);
        if (orcpt && (rc = smtpc_cmd_check_dsn_value(orcpt, SMTPC_ORCPT_MAX))) {
            char what[48];
            snprintf(what, sizeof what, "recipient %s: orcpt", num);
            return value_error(e, rc, what);
        }
        /* The address itself is checked when its RCPT is written. */
        if (smtpc_address_check(rcpts[i], 0, NULL) == 0 &&
            (rc = smtpc_cmd_rcpt_ext_fits(rcpts[i], notify, orcpt)) != 0)
            return smtpc_engine_err(e, rc,
                                    "DSN: recipient %s: the RCPT line with NOTIFY and ORCPT is "
                                    "over 512 octets",
                                    num);
    }
    return 0;
}

static int check_requiretls(smtpc_engine *e)
{
    const char *why = NULL;
    if (!e->encrypted)
        why = "the connection is not encrypted";
    else if (!e->tls_verified)
        why = "the server's certificate was not verified";
    else if (!(e->caps.flags & SMTPC_CAP_REQUIRETLS))
        why = "the server does not offer REQUIRETLS";
    if (why)
        return smtpc_engine_err(e, SMTPC_EREQUIRETLS,
                                "the message requires TLS (REQUIRETLS) but %s; nothing was sent",
                                why);
    e->mail_flags |= SMTPC_CMD_REQUIRETLS;
    return 0;
}

int smtpc_engine_check_dsn_tls(smtpc_engine *e, int flags, const smtpc_dsn *dsn,
                               const char *const *rcpts, size_t n_rcpts)
{
    e->dsn = NULL;
    if (flags & SMTPC_MAIL_REQUIRETLS) {
        int rc = check_requiretls(e);
        if (rc)
            return rc;
    }
    if (!requested(dsn, n_rcpts))
        return 0;
    int rc = check_request(e, dsn, rcpts, n_rcpts);
    if (rc)
        return rc;
    if (!(e->caps.flags & SMTPC_CAP_DSN)) {
        if (!(flags & SMTPC_MAIL_DSN_OPTIONAL))
            return smtpc_engine_err(e, SMTPC_ENODSN,
                                    "delivery status notifications (RET, ENVID, NOTIFY, ORCPT) "
                                    "were asked for but the server does not offer DSN; nothing "
                                    "was sent (allow sending without them to go on)");
        smtpc_engine_trace(e, SMTPC_TRACE_INFO,
                           "server does not offer DSN: sending without RET, ENVID, NOTIFY "
                           "and ORCPT");
        return 0;
    }
    if (dsn->ret == SMTPC_DSN_RET_FULL)
        e->mail_flags |= SMTPC_CMD_RET_FULL;
    else if (dsn->ret == SMTPC_DSN_RET_HDRS)
        e->mail_flags |= SMTPC_CMD_RET_HDRS;
    e->dsn = dsn;
    return 0;
}

int (smtpc_engine_rcpt_notify)(const smtpc_engine *e, size_t i)
{
    return e->dsn && e->dsn->notify ? e->dsn->notify[i] : 0;
}

const char *(smtpc_engine_rcpt_orcpt)(const smtpc_engine *e, size_t i)
{
    return e->dsn && e->dsn->orcpt ? e->dsn->orcpt[i] : NULL;
}

#endif /* SMTPC_HAVE_DSN */

int smtpc_engine_tls_verified(const smtpc_engine *e)
{
    return e ? e->tls_verified : 0;
}
