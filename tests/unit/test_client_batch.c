/* smtpc_client_send_batch and smtpc_client_send_each against the fault
 * server: raw and built messages mixed, the next envelope chained behind
 * each end of data, one verdict per message in order (a message refused
 * before reaching the server waits for the verdict before it), nothing
 * leaked on any path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fault_server.h"
#include "nb_call.h"
#include "smtpc.h"
#include "test_alloc.h"
#include "test_tcp_transport.h"

#define GREETING "220 batch.test ESMTP\r\n"
#define EHLO_PIPE "250-batch.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"

typedef struct verdicts {
    char log[1024];
    size_t len;
    size_t calls;
} verdicts;

/* "index:result:status:rcpt codes;" for each verdict. */
static void on_done(void *user, size_t index, int result, int status, const smtpc_engine *e,
                    const smtpc_error *err)
{
    verdicts *v = user;
    assert_int_equal(smtpc_error_code(err), result);
    int n = snprintf(v->log + v->len, sizeof v->log - v->len, "%zu:%d:%d:", index, result,
                     status);
    v->len += (size_t)n;
    for (size_t i = 0; e && i < smtpc_engine_rcpt_count(e); i++)
        v->len += (size_t)snprintf(v->log + v->len, sizeof v->log - v->len, "%d,",
                                   smtpc_engine_rcpt_reply_code(e, i));
    v->len += (size_t)snprintf(v->log + v->len, sizeof v->log - v->len, ";");
    v->calls++;
}

static smtpc_client *connect_to(smtpc_fault_server *fs, test_heap *heap)
{
    test_heap_init(heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(&heap->hook, &c), 0);
    SET_MODE(c);
    for (int st = 0; st < SMTPC_TIMEOUT_COUNT; st++)
        assert_int_equal(smtpc_client_set_timeout(c, st, 5000), 0);
    assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(fs)), 0);
    assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(fs), 5000), 0);
    assert_int_equal(CALL(c, smtpc_client_connect(c)), 0);
    return c;
}

static void finish(smtpc_client *c, test_heap *heap, smtpc_fault_server *fs, const char *name)
{
    smtpc_client_free(c);
    if (smtpc_fs_join(fs) != 0)
        fail_msg("%s: server script did not complete: %s\n--- client sent:\n%s", name,
                 smtpc_fs_error(fs), smtpc_fs_transcript(fs, NULL));
    smtpc_fs_free(fs);
    if (heap->live_bytes || heap->live_blocks)
        fail_msg("%s: leak: %zu bytes in %zu blocks", name, heap->live_bytes, heap->live_blocks);
}

static smtpc_message *built(const char *from, const char *to, const char *text)
{
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, from, NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, to, NULL), 0);
    assert_int_equal(smtpc_message_set_subject(m, "batch"), 0);
    assert_int_equal(smtpc_message_set_text(m, text, strlen(text), SMTPC_MEM_COPY), 0);
    return m;
}

static const char *const to_r[] = {"r@x.test"};
static const char *const to_bad[] = {"not an address"};
static const uint8_t raw[] = "Subject: raw\r\n\r\nraw body\r\n";

/* [raw, built, invalid, built]: the invalid one is reported between the
 * built messages' verdicts; the second built one is refused at its end of
 * data while nothing else is queued. */
static const smtpc_fs_step mixed_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL FROM:<a@x.test>"), FS_EXPECT("RCPT TO:<r@x.test>"),
    FS_EXPECT("DATA"), FS_SEND("250 ok\r\n250 ok\r\n354 go\r\n"),
    /* the raw body, then the built message's envelope in the same write */
    FS_BODY, FS_EXPECT("MAIL FROM:<alice@x.test>"), FS_EXPECT("RCPT TO:<bob@y.test>"),
    FS_EXPECT("DATA"), FS_SEND("250 q0\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    /* the invalid third waits; the fourth cannot be chained past it */
    FS_BODY, FS_SEND("250 q1\r\n"),
    FS_EXPECT("MAIL FROM:<carol@x.test>"), FS_EXPECT("RCPT TO:<dave@y.test>"),
    FS_EXPECT("DATA"), FS_SEND("250 ok\r\n250 ok\r\n354 go\r\n"),
    FS_BODY, FS_SEND("554 5.7.1 no thanks\r\n"),
    FS_EXPECT("QUIT"), FS_SEND("221 bye\r\n"), FS_END,
};

static void test_mixed(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(mixed_script, 0);
    assert_non_null(fs);
    smtpc_client *c = connect_to(fs, &heap);
    smtpc_message *m1 = built("alice@x.test", "bob@y.test", "one\n");
    smtpc_message *m3 = built("carol@x.test", "dave@y.test", "three\n");
    smtpc_batch_item items[4] = {
        {.from = "a@x.test", .rcpts = to_r, .n_rcpts = 1, .body = raw, .body_len = sizeof raw - 1},
        {.msg = m1},
        {.from = "a@x.test", .rcpts = to_bad, .n_rcpts = 1, .body = raw, .body_len = 3},
        {.msg = m3},
    };
    verdicts v = {0};
    int brc = CALL(c, smtpc_client_send_batch(c, items, 4, on_done, &v));
    if (brc)
        fail_msg("batch %d: %s; verdicts %s; server: %s", brc, smtpc_error_message(smtpc_client_error(c)), v.log, smtpc_fs_join(fs) ? smtpc_fs_error(fs) : "ok");
    assert_string_equal(v.log, "0:0:1:250,;1:0:1:250,;2:-6:0:;3:-66:2:250,;");
    assert_int_equal(items[0].result, 0);
    assert_int_equal(items[2].result, SMTPC_EADDRESS);
    assert_int_equal(items[3].status, SMTPC_MESSAGE_REJECTED);
    assert_int_equal(CALL(c, smtpc_client_quit(c)), 0);
    finish(c, &heap, fs, "mixed");
    smtpc_message_free(m1);
    smtpc_message_free(m3);
}

/* The server closes after message 1's 250: message 2 (chained, its body
 * never sent) and message 3 (never begun) are NOT_SENT with the session's
 * error; the batch returns it. */
static const smtpc_fs_step close_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND(EHLO_PIPE),
    FS_EXPECT("MAIL"), FS_EXPECT("RCPT"), FS_EXPECT("DATA"),
    FS_SEND("250 ok\r\n250 ok\r\n354 go\r\n"), FS_BODY, FS_EXPECT("MAIL"), FS_EXPECT("RCPT"),
    FS_EXPECT("DATA"), FS_SEND("250 q0\r\n"), FS_CLOSE, FS_END,
};

typedef struct supplier {
    size_t n;
    smtpc_batch_item item;
} supplier;

static int next_item(void *user, size_t index, smtpc_batch_item *item)
{
    supplier *s = user;
    if (index >= s->n)
        return 0;
    *item = s->item;
    return 1;
}

typedef struct each_ctx {
    supplier sup;
    verdicts v;
} each_ctx;

static int each_next(void *user, size_t index, smtpc_batch_item *item)
{
    return next_item(&((each_ctx *)user)->sup, index, item);
}

static void each_done(void *user, size_t index, int result, int status, const smtpc_engine *e,
                      const smtpc_error *err)
{
    on_done(&((each_ctx *)user)->v, index, result, status, e, err);
}

static void test_close_after_first(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(close_script, 0);
    assert_non_null(fs);
    smtpc_client *c = connect_to(fs, &heap);
    smtpc_batch_item items[3];
    for (int i = 0; i < 3; i++)
        items[i] = (smtpc_batch_item){.from = "a@x.test", .rcpts = to_r, .n_rcpts = 1,
                                      .body = raw, .body_len = sizeof raw - 1};
    verdicts v = {0};
    int rc = CALL(c, smtpc_client_send_batch(c, items, 3, on_done, &v));
    assert_true(rc == SMTPC_ECLOSED || rc == SMTPC_EIO);
    char want[256];
    snprintf(want, sizeof want, "0:0:1:250,;1:%d:0:0,;2:%d:0:;", rc, rc);
    assert_string_equal(v.log, want);
    assert_int_equal(smtpc_client_connected(c), 0);
    finish(c, &heap, fs, "close");
}

/* The supplier form, with the same script: the supplier is asked for
 * message index 2 only once the session still stands (it does not). */
static void test_each_close(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(close_script, 0);
    assert_non_null(fs);
    smtpc_client *c = connect_to(fs, &heap);
    each_ctx x = {{3, {.from = "a@x.test", .rcpts = to_r, .n_rcpts = 1, .body = raw,
                       .body_len = sizeof raw - 1}},
                  {{0}, 0, 0}};
    int rc = CALL(c, smtpc_client_send_each(c, each_next, each_done, &x));
    assert_true(rc == SMTPC_ECLOSED || rc == SMTPC_EIO);
    assert_int_equal(x.v.calls, 2); /* message 2 was never supplied */
    assert_int_equal(CALL(c, smtpc_client_send_each(c, NULL, each_done, &x)), SMTPC_EINVAL);
    assert_int_equal(CALL(c, smtpc_client_send_batch(c, NULL, 1, NULL, NULL)), SMTPC_EINVAL);
    finish(c, &heap, fs, "each");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_close_after_first),
        cmocka_unit_test(test_each_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
