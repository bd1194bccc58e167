/* Sending a built message through the blocking client. */
#include <string.h>

#include "alloc.h"
#include "message_internal.h"
#include "smtpc/client.h"

static int pull(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    return smtpc_message_read(user, buf, cap, len) != 0;
}

static int seen(const char *const *list, size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], addr) == 0)
            return 1;
    return 0;
}

int smtpc_client_send_message(smtpc_client *c, smtpc_message *msg, const char *envelope_from,
                              const char *const *rcpts, size_t n_rcpts)
{
    if (!c || !msg || (n_rcpts && !rcpts))
        return SMTPC_EINVAL;
    int rc = smtpc_message_rewind(msg);
    if (rc)
        return rc;
    int flags = smtpc_message_mail_flags(msg);
    if (flags < 0)
        return flags;
    int64_t size;
    rc = smtpc_message_size(msg, &size);
    if (rc == SMTPC_ESIZEUNKNOWN)
        size = -1;
    else if (rc)
        return rc;
    if (!envelope_from)
        envelope_from = msg->from->addr;

    /* Envelope from the headers: one table for the call, sized by the
     * recipient count. */
    const char **table = NULL;
    size_t n_table = 0, table_bytes = 0;
    if (n_rcpts == 0) {
        static const int lists[] = {SMTPC_LIST_TO, SMTPC_LIST_CC, SMTPC_LIST_BCC};
        size_t total = 0;
        for (size_t l = 0; l < 3; l++)
            for (smtpc_msg_addr *a = msg->lists[lists[l]]; a; a = a->next)
                total++;
        if (total == 0)
            return SMTPC_ENORECIPIENTS;
        table_bytes = total * sizeof *table;
        if (!(table = smtpc_alloc(&msg->alloc, table_bytes)))
            return SMTPC_ENOMEM;
        for (size_t l = 0; l < 3; l++)
            for (smtpc_msg_addr *a = msg->lists[lists[l]]; a; a = a->next)
                if (!seen(table, n_table, a->addr))
                    table[n_table++] = a->addr;
        rcpts = table;
        n_rcpts = n_table;
    }
    rc = smtpc_client_send_stream(c, envelope_from, rcpts, n_rcpts, pull, msg, size, flags);
    smtpc_free(&msg->alloc, (void *)table, table_bytes);
    if (rc == SMTPC_ESOURCE && msg->err)
        rc = msg->err; /* the specific cause: unreadable file, callback, ... */
    return rc;
}
