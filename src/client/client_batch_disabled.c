/* -Dmail_chaining=false: the batch calls are compiled out with the engine's
 * chaining they stand on (smtpc_engine_begin_next_mail); send each message
 * with smtpc_client_send_message instead. */
#include "client_internal.h"

static int compiled_out(smtpc_client *c, const char *fn)
{
    if (!c)
        return SMTPC_EINVAL;
    int rc = smtpc_client_enter(c, fn);
    if (rc)
        return rc;
    return smtpc_client_leave(
        c,
        smtpc_error_set(&c->err, SMTPC_ENOTSUP,
                        "%s: batches are compiled out (-Dmail_chaining=false); send each "
                        "message with smtpc_client_send_message",
                        fn),
        0);
}

int smtpc_client_send_batch(smtpc_client *c, smtpc_batch_item *items, size_t n,
                            smtpc_batch_done_fn done, void *user)
{
    (void)items;
    (void)n;
    (void)done;
    (void)user;
    return compiled_out(c, "smtpc_client_send_batch");
}

int smtpc_client_send_each(smtpc_client *c, smtpc_batch_next_fn next, smtpc_batch_done_fn done,
                           void *user)
{
    (void)next;
    (void)done;
    (void)user;
    return compiled_out(c, "smtpc_client_send_each");
}
