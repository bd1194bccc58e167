/* Send benchmark, libESMTP side: the same scenarios as bench_send_smtpc
 * over libESMTP (Debian libesmtp-dev). libESMTP's model is a session that
 * holds a list of messages: smtp_start_session connects, sends every
 * message on the one connection and QUITs, so all messages are added first
 * and the timed section is that one call (setting the messages up is timed
 * too: it is per-message work the other clients do inside their loop).
 *
 *   bench_send_libesmtp HOST PORT small|multi|big [COUNT]
 *
 * The body comes from a message callback: the whole small message from
 * memory in one piece, or the same generator as smtpc for the big one
 * (memory stays flat). libESMTP parses the header of every message and
 * adds Date and Message-Id where missing: Message-Id is prohibited here to
 * keep the bytes close to the other clients', Date it refuses to leave out
 * (about 37 more bytes per message). */
#include "bench_send_common.h"

/* after the common header: libesmtp.h uses size_t without including
 * <stddef.h> */
#include <libesmtp.h>

typedef struct {
    const uint8_t *msg; /* NULL: generate */
    size_t len;
    int handed_out; /* the in-memory message went out since the rewind */
    bench_source gen;
    uint8_t buf[64 * 1024];
} reader;

/* libESMTP asks for the message in pieces: len NULL means rewind, NULL
 * returned means the end. Messages are read one after the other, so one
 * reader serves them all. *ctx is left alone: libESMTP frees it. */
static const char *read_message(void **ctx, int *len, void *arg)
{
    (void)ctx;
    reader *r = arg;
    if (!len) {
        r->handed_out = 0;
        r->gen.pos = 0;
        return NULL;
    }
    if (r->msg) {
        *len = r->handed_out ? 0 : (int)r->len;
        const char *p = r->handed_out ? NULL : (const char *)r->msg;
        r->handed_out = 1;
        return p;
    }
    size_t n = bench_source_read(&r->gen, r->buf, sizeof r->buf);
    *len = (int)n;
    return n ? (const char *)r->buf : NULL;
}

/* Every message and every recipient must have been taken. */
static void check_status(smtp_message_t m, void *arg)
{
    int *bad = arg;
    const smtp_status_t *st = smtp_message_transfer_status(m);
    if (!st || st->code / 100 != 2) {
        fprintf(stderr, "bench_send_libesmtp: message refused: %d %s\n", st ? st->code : 0,
                st && st->text ? st->text : "");
        (*bad)++;
    }
}

static void count_rcpt(smtp_recipient_t r, const char *mailbox, void *arg)
{
    const smtp_status_t *st = smtp_recipient_status(r);
    if (!st || st->code / 100 != 2) {
        fprintf(stderr, "bench_send_libesmtp: %s refused: %d\n", mailbox, st ? st->code : 0);
        (*(int *)arg)++;
    }
}

static void check_rcpts(smtp_message_t m, void *arg)
{
    smtp_enumerate_recipients(m, count_rcpt, arg);
}

/* One message of the scenario added to the session. */
static int add_message(smtp_session_t session, const bench_scenario *s, reader *rd)
{
    smtp_message_t m = smtp_add_message(session);
    if (!m || !smtp_set_reverse_path(m, BENCH_FROM) ||
        !smtp_set_header_option(m, "Message-Id", Hdr_PROHIBIT) ||
        !smtp_size_set_estimate(m, (unsigned long)bench_message_len(s)) ||
        !smtp_set_messagecb(m, read_message, rd))
        return -1;
    for (size_t i = 0; i < s->n_rcpts; i++)
        if (!smtp_add_recipient(m, bench_rcpts[i]))
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    bench_scenario s;
    if (argc < 4 || bench_parse(&s, argc, argv, 3) != 0) {
        fprintf(stderr, "usage: %s HOST PORT small|multi|big [COUNT]\n", argv[0]);
        return 2;
    }
    static reader rd;
    rd.msg = s.big ? NULL : bench_small_message(&s, &rd.len);
    rd.gen.s = &s;
    if (!s.big && !rd.msg)
        return 1;
    char server[300];
    snprintf(server, sizeof server, "%s:%s", argv[1], argv[2]);

    bench_mark a, b;
    bench_mark_now(&a);
    smtp_session_t session = smtp_create_session();
    if (!session || !smtp_set_server(session, server) || !smtp_set_hostname(session, "localhost"))
        return 1;
    long messages = s.big ? 1 : s.count;
    for (long i = 0; i < messages; i++)
        if (add_message(session, &s, &rd) != 0)
            return 1;
    if (!smtp_start_session(session)) {
        char why[128];
        fprintf(stderr, "bench_send_libesmtp: %s\n", smtp_strerror(smtp_errno(), why, sizeof why));
        return 1;
    }
    int bad = 0;
    smtp_enumerate_messages(session, check_status, &bad);
    smtp_enumerate_messages(session, check_rcpts, &bad);
    smtp_destroy_session(session);
    bench_mark_now(&b);

    if (bad)
        return 1;
    bench_report("libesmtp", &s, messages, &a, &b);
    free((void *)rd.msg);
    return 0;
}
