/* Send benchmark, smtpc side: one connection, every message of the scenario
 * on it, then QUIT.
 *
 *   bench_send_smtpc [--each] HOST PORT small|multi|big [COUNT]
 *
 * Small messages go from memory through smtpc_client_send_batch (how an
 * application holding many short messages would send them: with PIPELINING
 * one round trip per message), or with --each through one smtpc_client_send
 * per message, each waiting for its verdict (reported as client
 * smtpc-each). The big one goes through smtpc_client_send_stream with a
 * generator either way, so memory stays flat whatever its size. */
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

/* One call per message, each waiting for its verdict. */
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

/* Counts verdicts that are not "accepted for every recipient". */
static void batch_done(void *user, size_t index, int result, int status, const smtpc_engine *e,
                       const smtpc_error *err)
{
    (void)index;
    (void)status;
    (void)err;
    long *bad = user;
    if (result != SMTPC_OK || !e) {
        (*bad)++;
        return;
    }
    for (size_t r = 0; r < smtpc_engine_rcpt_count(e); r++)
        if (!smtpc_engine_rcpt_accepted(e, r)) {
            (*bad)++;
            return;
        }
}

/* Every message in one smtpc_client_send_batch call; the items all point at
 * the same bytes, as an application's would point at its own. */
static int send_batch(smtpc_client *c, const bench_scenario *s, const uint8_t *msg,
                      size_t msg_len, long messages)
{
    smtpc_batch_item *items = calloc((size_t)messages, sizeof *items);
    if (!items)
        return SMTPC_ENOMEM;
    for (long i = 0; i < messages; i++) {
        items[i].from = BENCH_FROM;
        items[i].rcpts = bench_rcpts;
        items[i].n_rcpts = s->n_rcpts;
        items[i].body = msg;
        items[i].body_len = msg_len;
    }
    long bad = 0;
    int rc = smtpc_client_send_batch(c, items, (size_t)messages, batch_done, &bad);
    free(items);
    if (rc == SMTPC_OK && bad != 0) {
        fprintf(stderr, "bench_send_smtpc: %ld messages not accepted for every recipient\n",
                bad);
        rc = SMTPC_ERCPTS;
    }
    return rc;
}

int main(int argc, char **argv)
{
    int each = argc > 1 && strcmp(argv[1], "--each") == 0;
    if (each) {
        argv++;
        argc--;
    }
    bench_scenario s;
    if (argc < 4 || bench_parse(&s, argc, argv, 3) != 0) {
        fprintf(stderr, "usage: %s [--each] HOST PORT small|multi|big [COUNT]\n", argv[0]);
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
    int rc = each || s.big ? send_each(c, &s, msg, msg_len, messages)
                           : send_batch(c, &s, msg, msg_len, messages);
    if (rc != SMTPC_OK)
        return fail(c, "send");
    if (smtpc_client_quit(c) != SMTPC_OK)
        return fail(c, "quit");
    bench_mark_now(&b);

    bench_report(each ? "smtpc-each" : "smtpc", &s, messages, &a, &b);
    smtpc_client_free(c);
    free(msg);
    return 0;
}
