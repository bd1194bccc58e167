/* smtpc_client_send_stream_dsn against the fault server: the DSN request
 * goes on MAIL and RCPT of that one send only; a server without DSN gets
 * SMTPC_ENODSN before MAIL (session kept), or the message without the
 * parameters once smtpc_client_allow_no_dsn is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fault_server.h"
#include "nb_call.h"
#include "smtpc.h"
#include "test_alloc.h"
#include "test_tcp_transport.h"

#define GREETING "220 dsn.test ESMTP\r\n"

typedef struct {
    const char *p;
    size_t left;
} mem_src;

static int mem_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    mem_src *s = user;
    size_t n = s->left < cap ? s->left : cap;
    memcpy(buf, s->p, n);
    s->p += n;
    s->left -= n;
    *len = n;
    return 0;
}

static const char body[] = "Subject: dsn\r\n\r\nhello\r\n";
static const char *const rcpts[] = {"r@x.test", "s@x.test"};

static int send(smtpc_client *c, int flags, const smtpc_dsn *dsn)
{
    mem_src src = {body, sizeof body - 1};
    return CALL(c, smtpc_client_send_stream_dsn(c, "a@x.test", rcpts, 2, mem_read, &src,
                                                (int64_t)sizeof body - 1, flags, dsn));
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

static void finish(smtpc_client *c, test_heap *heap, smtpc_fault_server *fs)
{
    assert_int_equal(CALL(c, smtpc_client_quit(c)), 0);
    smtpc_client_free(c);
    if (smtpc_fs_join(fs) != 0)
        fail_msg("server script did not complete: %s\n--- client sent:\n%s", smtpc_fs_error(fs),
                 smtpc_fs_transcript(fs, NULL));
    if (heap->live_bytes || heap->live_blocks)
        fail_msg("leak: %zu bytes in %zu blocks", heap->live_bytes, heap->live_blocks);
}

#define ACCEPT_ENVELOPE FS_SEND("250 ok\r\n"), FS_EXPECT("RCPT TO:<s@x.test>"), \
    FS_SEND("250 ok\r\n"), FS_EXPECT("DATA"), FS_SEND("354 go\r\n"), FS_BODY, \
    FS_SEND("250 queued\r\n")

static const smtpc_fs_step dsn_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND("250-dsn.test\r\n250 DSN\r\n"),
    FS_EXPECT("MAIL FROM:<a@x.test> RET=HDRS ENVID=job+2042\r\n"),
    FS_SEND("250 ok\r\n"), FS_EXPECT("RCPT TO:<r@x.test> NOTIFY=SUCCESS,FAILURE\r\n"),
    FS_SEND("250 ok\r\n"), FS_EXPECT("RCPT TO:<s@x.test> NOTIFY=NEVER\r\n"),
    FS_SEND("250 ok\r\n"), FS_EXPECT("DATA"), FS_SEND("354 go\r\n"), FS_BODY,
    FS_SEND("250 queued\r\n"),
    /* the next send, without a request, carries none */
    FS_EXPECT("MAIL FROM:<a@x.test>\r\n"), FS_SEND("250 ok\r\n"),
    FS_EXPECT("RCPT TO:<r@x.test>\r\n"), ACCEPT_ENVELOPE,
    FS_EXPECT("QUIT"), FS_SEND("221 bye\r\n"), FS_END,
};

static void test_dsn_on_wire(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(dsn_script, 0);
    assert_non_null(fs);
    smtpc_client *c = connect_to(fs, &heap);
    const int notify[] = {SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_FAILURE, SMTPC_NOTIFY_NEVER};
    smtpc_dsn dsn = {SMTPC_DSN_RET_HDRS, "job 42", notify, NULL};
    assert_int_equal(send(c, 0, &dsn), 0);
    assert_int_equal(send(c, 0, NULL), 0);
    finish(c, &heap, fs);
    smtpc_fs_free(fs);
}

static const smtpc_fs_step no_dsn_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO"), FS_SEND("250-dsn.test\r\n250 8BITMIME\r\n"),
    /* refused before MAIL; then allowed: sent without the parameters */
    FS_EXPECT("MAIL FROM:<a@x.test>\r\n"), FS_SEND("250 ok\r\n"),
    FS_EXPECT("RCPT TO:<r@x.test>\r\n"), ACCEPT_ENVELOPE,
    FS_EXPECT("QUIT"), FS_SEND("221 bye\r\n"), FS_END,
};

static void test_dsn_not_offered(void **state)
{
    (void)state;
    test_heap heap;
    smtpc_fault_server *fs = smtpc_fs_start(no_dsn_script, 0);
    assert_non_null(fs);
    smtpc_client *c = connect_to(fs, &heap);
    const int notify[] = {SMTPC_NOTIFY_FAILURE, SMTPC_NOTIFY_FAILURE};
    smtpc_dsn dsn = {0, "id1", notify, NULL};
    assert_int_equal(send(c, 0, &dsn), SMTPC_ENODSN);
    assert_int_equal(smtpc_error_code(smtpc_client_error(c)), SMTPC_ENODSN);
    assert_non_null(strstr(smtpc_error_message(smtpc_client_error(c)), "does not offer DSN"));
    assert_int_equal(smtpc_client_connected(c), 1);
    /* a bad request is refused before MAIL too */
    smtpc_dsn bad = {7, NULL, NULL, NULL};
    assert_int_equal(send(c, 0, &bad), SMTPC_EINVAL);
    assert_int_equal(smtpc_client_allow_no_dsn(c, 1), 0);
    assert_int_equal(send(c, 0, &dsn), 0);
    finish(c, &heap, fs);
    assert_false(smtpc_fs_received(fs, "NOTIFY="));
    assert_false(smtpc_fs_received(fs, "ENVID="));
    smtpc_fs_free(fs);
}

static void test_no_client(void **state)
{
    (void)state;
    assert_int_equal(smtpc_client_send_stream_dsn(NULL, "a@x.test", rcpts, 2, mem_read, NULL, -1,
                                                  0, NULL),
                     SMTPC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsn_on_wire),
        cmocka_unit_test(test_dsn_not_offered),
        cmocka_unit_test(test_no_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
