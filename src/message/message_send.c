/* What a sending driver needs from a message beyond its bytes: the encoding
 * choices adapted to the server that will carry it, and the DSN request
 * (RFC 3461) that goes on the envelope. */
#include <string.h>

#include "alloc.h"
#include "command_writer.h"
#include "message_internal.h"
#include "smtpc/engine.h"

typedef struct smtpc_msg_dsn_rcpt {
    struct smtpc_msg_dsn_rcpt *next;
    char *addr; /* NULL: the default for every other recipient */
    int notify;
    char *orcpt;
} smtpc_msg_dsn_rcpt;

int smtpc_msg_effective_flags(const smtpc_message *msg)
{
    int flags = msg->user_flags;
    int caps = msg->server_caps;
    if (caps < 0)
        return flags;
    flags &= ~(SMTPC_MESSAGE_8BITMIME | SMTPC_MESSAGE_SMTPUTF8);
    if (caps & SMTPC_CAP_8BITMIME)
        flags |= SMTPC_MESSAGE_8BITMIME;
    /* SMTPUTF8 only where needed: a message that declares it can only be
     * relayed to servers that have it, so non-ASCII text alone goes as RFC
     * 2047 encoded-words, which every server carries. Without the
     * capability a UTF-8 address fails the freeze with SMTPC_EUTF8. */
    if ((caps & SMTPC_CAP_SMTPUTF8) &&
        ((msg->user_flags & SMTPC_MESSAGE_SMTPUTF8) || smtpc_msg_utf8_addr(msg)))
        flags |= SMTPC_MESSAGE_SMTPUTF8;
    /* Hook for BINARYMIME (RFC 3030): binary parts unencoded when caps has
     * it; chosen here alongside 8BITMIME once the capability exists. */
    return flags;
}

int smtpc_message_set_server_caps(smtpc_message *msg, int caps)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (caps < -1)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "server capabilities %d: -1 or SMTPC_CAP_* bits",
                              caps);
    if (caps == msg->server_caps)
        return 0; /* same choices: keep the layout and the read position */
    msg->server_caps = caps;
    /* As any setting: the layout is recomputed and reading starts over. */
    return smtpc_message_set_flags(msg, msg->user_flags);
}

#if !SMTPC_HAVE_DSN
/* -Ddsn=false: a request could only be dropped on the way, so none is
 * taken; "none" (0 and NULL) is accepted as it changes nothing. */
int smtpc_message_set_dsn(smtpc_message *msg, int ret, const char *envid)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (ret == 0 && !envid)
        return 0;
    return smtpc_msg_fail(msg, SMTPC_ENOTSUP, "DSN requests are compiled out (-Ddsn=false)");
}

int smtpc_message_set_rcpt_dsn(smtpc_message *msg, const char *address, int notify,
                               const char *orcpt)
{
    (void)address;
    return smtpc_message_set_dsn(msg, notify, orcpt);
}

static smtpc_msg_dsn_rcpt *find(const smtpc_message *msg, const char *address)
{
    (void)msg;
    (void)address;
    return NULL;
}
#else
static int dsn_value_fail(smtpc_message *msg, int rc, const char *what)
{
    return smtpc_msg_fail(msg, rc, "DSN %s %s", what,
                          rc == SMTPC_EINVAL     ? "is empty"
                          : rc == SMTPC_EBADCHAR ? "holds CR or LF"
                                                 : "is too long once xtext-encoded");
}

int smtpc_message_set_dsn(smtpc_message *msg, int ret, const char *envid)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (ret != 0 && ret != SMTPC_DSN_RET_FULL && ret != SMTPC_DSN_RET_HDRS)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "DSN ret %d is not 0, FULL or HDRS", ret);
    int rc;
    if (envid && (rc = smtpc_cmd_check_dsn_value(envid, SMTPC_ENVID_MAX)))
        return dsn_value_fail(msg, rc, "envid");
    char *copy = NULL;
    if (envid && !(copy = smtpc_strdup(&msg->alloc, envid)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "no memory for the DSN envid");
    smtpc_strfree(&msg->alloc, msg->dsn_envid);
    msg->dsn_envid = copy;
    msg->dsn_ret = ret;
    return 0;
}

static smtpc_msg_dsn_rcpt *find(const smtpc_message *msg, const char *address)
{
    for (smtpc_msg_dsn_rcpt *r = msg->dsn_rcpts; r; r = r->next)
        if (address ? r->addr && strcmp(r->addr, address) == 0 : !r->addr)
            return r;
    return NULL;
}

int smtpc_message_set_rcpt_dsn(smtpc_message *msg, const char *address, int notify,
                               const char *orcpt)
{
    if (!msg)
        return SMTPC_EINVAL;
    int rc;
    if (address && (rc = smtpc_address_check(address, 0, NULL)))
        return smtpc_msg_fail(msg, rc, "DSN recipient \"%.100s\" is not a valid address",
                              address);
    if (smtpc_cmd_check_notify(notify))
        return smtpc_msg_fail(msg, SMTPC_EINVAL,
                              "DSN notify 0x%x is not NEVER alone or a set of SUCCESS, "
                              "FAILURE and DELAY",
                              (unsigned)notify);
    if (!address && orcpt)
        return smtpc_msg_fail(msg, SMTPC_EINVAL,
                              "DSN orcpt names one recipient: it needs an address");
    if (orcpt && (rc = smtpc_cmd_check_dsn_value(orcpt, SMTPC_ORCPT_MAX)))
        return dsn_value_fail(msg, rc, "orcpt");
    smtpc_msg_dsn_rcpt *r = find(msg, address);
    char *orcpt_copy = NULL;
    if (orcpt && !(orcpt_copy = smtpc_strdup(&msg->alloc, orcpt)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "no memory for the DSN orcpt");
    if (!r) {
        r = smtpc_alloc(&msg->alloc, sizeof *r);
        char *addr = address ? smtpc_strdup(&msg->alloc, address) : NULL;
        if (!r || (address && !addr)) {
            smtpc_free(&msg->alloc, r, sizeof *r);
            smtpc_strfree(&msg->alloc, addr);
            smtpc_strfree(&msg->alloc, orcpt_copy);
            return smtpc_msg_fail(msg, SMTPC_ENOMEM, "no memory for a DSN recipient");
        }
        memset(r, 0, sizeof *r);
        r->addr = addr;
        r->next = msg->dsn_rcpts;
        msg->dsn_rcpts = r;
    }
    smtpc_strfree(&msg->alloc, r->orcpt);
    r->orcpt = orcpt_copy;
    r->notify = notify;
    return 0;
}
#endif /* SMTPC_HAVE_DSN */

int smtpc_message_dsn(const smtpc_message *msg, int *ret, const char **envid)
{
    if (ret)
        *ret = msg ? msg->dsn_ret : 0;
    if (envid)
        *envid = msg ? msg->dsn_envid : NULL;
    return msg && (msg->dsn_ret || msg->dsn_envid || msg->dsn_rcpts);
}

int smtpc_message_rcpt_dsn(const smtpc_message *msg, const char *address, int *notify,
                           const char **orcpt)
{
    const smtpc_msg_dsn_rcpt *r = NULL;
    if (msg && address)
        r = find(msg, address);
    if (msg && !r)
        r = find(msg, NULL);
    if (notify)
        *notify = r ? r->notify : 0;
    if (orcpt)
        *orcpt = r ? r->orcpt : NULL;
    return r != NULL;
}

#if SMTPC_HAVE_DSN
void smtpc_msg_dsn_free(smtpc_message *msg)
{
    for (smtpc_msg_dsn_rcpt *r = msg->dsn_rcpts, *next; r; r = next) {
        next = r->next;
        smtpc_strfree(&msg->alloc, r->addr);
        smtpc_strfree(&msg->alloc, r->orcpt);
        smtpc_free(&msg->alloc, r, sizeof *r);
    }
    msg->dsn_rcpts = NULL;
    smtpc_strfree(&msg->alloc, msg->dsn_envid);
    msg->dsn_envid = NULL;
}
#endif
