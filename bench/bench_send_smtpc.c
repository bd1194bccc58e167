/* Send benchmark, smtpc side: one connection, every message of the scenario
 * on it, then QUIT.
 *
 *   bench_send_smtpc HOST PORT small|multi|big [COUNT]
 *
 * Small messages go through smtpc_client_send from memory (how an
 * application holding short messages would call it); the big one through
 * smtpc_client_send_stream with a generator, so memory stays flat whatever
 * its size. */
#include <smtpc.h>

#include "bench_send_common.h"

static int read_source(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    *len = bench_source_read(user, buf, cap);
    return 0;
}

static int fail(smtpc_client *c, const char *what)
{
    fprintf(stderr, "bench_send_smtpc: %s: %s\n", what, smtpc_error_message(smtpc_client_error(c)));
    smtpc_client_free(c);
    return 1;
}

/* One call per message, each waiting for its verdict: the per-message path
 * measured here. (A batch mode would be another function like this one,
 * chosen in main.) */
static int send_each(smtpc_client *c, const bench_scenario *s, const uint8_t *msg,
                     size_t msg_len, long messages)
{
    for (long i = 0; i < messages; i++) {
        int rc;
        if (s->big) {
            bench_source src = {s, 0};
            rc = smtpc_client_send_stream(c, BENCH_FROM, bench_rcpts, s->n_rcpts, read_source,
                                          &src, bench_message_len(s), 0);
        } else {
            rc = smtpc_client_send(c, BENCH_FROM, bench_rcpts, s->n_rcpts, msg, msg_len);
        }
        /* A message accepted for only some recipients still counts as
         * sent by the API; the benchmark wants every recipient taken. */
        for (size_t r = 0; rc == SMTPC_OK && r < s->n_rcpts; r++)
            if (!smtpc_engine_rcpt_accepted(smtpc_client_engine(c), r))
                rc = SMTPC_ERCPTS;
        if (rc != SMTPC_OK)
            return rc;
    }
    return SMTPC_OK;
}

int main(int argc, char **argv)
{
    bench_scenario s;
    if (argc < 4 || bench_parse(&s, argc, argv, 3) != 0) {
        fprintf(stderr, "usage: %s HOST PORT small|multi|big [COUNT]\n", argv[0]);
        return 2;
    }
    size_t msg_len = 0;
    uint8_t *msg = s.big ? NULL : bench_small_message(&s, &msg_len);
    if (!s.big && !msg)
        return 1;

    smtpc_client *c = NULL;
    if (smtpc_client_new(NULL, &c) != 0)
        return 1;
    smtpc_client_set_server(c, argv[1], argv[2]);
    smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);

    bench_mark a, b;
    bench_mark_now(&a);
    if (smtpc_client_connect(c) != SMTPC_OK)
        return fail(c, "connect");
    long messages = s.big ? 1 : s.count;
    if (send_each(c, &s, msg, msg_len, messages) != SMTPC_OK)
        return fail(c, "send");
    if (smtpc_client_quit(c) != SMTPC_OK)
        return fail(c, "quit");
    bench_mark_now(&b);

    bench_report("smtpc", &s, messages, &a, &b);
    smtpc_client_free(c);
    free(msg);
    return 0;
}
