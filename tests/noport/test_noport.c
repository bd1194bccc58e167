/* -Dport=none: no malloc, no clocks, no OS random bytes, no files. Every
 * handle runs on the caller's hooks, and a call that needs a missing one
 * fails with a code and a message naming the hook (issue 14), never a
 * crash or a silently dropped deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "smtpc.h"
#include "smtpc_config.h"
#include "test_alloc.h"

/* ---- a scripted server behind the callback transport ---- */

typedef struct fake_server {
    const char *const *replies; /* one per recv call; NULL ends the script */
    size_t next;
    int endless_continuation;   /* recv hands out "220-..." lines forever */
    size_t sends, recvs;
    size_t owed;    /* replies the commands sent so far are owed (the greeting first) */
    int in_data;    /* after a 354: the body runs to CRLF.CRLF */
    char sent[1024];
    size_t sent_len;
} fake_server;

static int fake_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    (void)timeout_ms;
    fake_server *s = user;
    s->sends++;
    size_t room = sizeof s->sent - 1 - s->sent_len;
    size_t n = len < room ? len : room;
    size_t from = s->sent_len;
    memcpy(s->sent + s->sent_len, buf, n);
    s->sent_len += n;
    s->sent[s->sent_len] = '\0';
    /* Each command line earns one reply; a body earns one at its end. */
    for (const char *p = s->sent + (from >= 4 ? from - 4 : 0); (p = strstr(p, "\r\n")); p += 2) {
        if ((size_t)(p - s->sent) + 2 <= from)
            continue;
        if (!s->in_data)
            s->owed++;
        else if (p - s->sent >= 3 && strncmp(p - 3, "\r\n.", 3) == 0)
            s->owed++, s->in_data = 0;
    }
    *sent = len;
    return SMTPC_OK;
}

static int fake_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *got)
{
    (void)timeout_ms;
    fake_server *s = user;
    s->recvs++;
    const char *line = "220-still greeting\r\n";
    if (!s->endless_continuation) {
        if (!s->owed)
            return SMTPC_ETIMEDOUT; /* nothing said while the client is idle */
        line = s->replies[s->next];
        if (!line)
            return SMTPC_ECLOSED;
        s->next++;
        s->owed--;
        s->in_data = strncmp(line, "354", 3) == 0;
    }
    size_t n = strlen(line);
    assert_true(n <= cap);
    memcpy(buf, line, n);
    *got = n;
    return SMTPC_OK;
}

/* A clock the test moves: each reading advances it by step ms. */
typedef struct fake_clock {
    int64_t now;
    int64_t step;
    long reads;
} fake_clock;

static int64_t clock_read(void *user)
{
    fake_clock *c = user;
    c->reads++;
    c->now += c->step;
    return c->now;
}

static int wall_clock(void *user, int64_t *unix_time, int *utc_offset_minutes)
{
    (void)user;
    *unix_time = 1749974417; /* 2025-06-15 08:00:17 UTC */
    *utc_offset_minutes = 120;
    return 0;
}

static int counting_random(void *user, uint8_t *buf, size_t len)
{
    unsigned *calls = user;
    (*calls)++;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + *calls);
    return 0;
}

/* ---- allocator ---- */

static void test_no_default_allocator(void **state)
{
    (void)state;
    smtpc_engine *e = (smtpc_engine *)&e;
    assert_int_equal(smtpc_engine_new(NULL, NULL, 0, 0, &e), SMTPC_EINVAL);
    assert_null(e);
    smtpc_message *m = (smtpc_message *)&m;
    assert_int_equal(smtpc_message_new(NULL, &m), SMTPC_EINVAL);
    assert_null(m);
    smtpc_client *c = (smtpc_client *)&c;
    assert_int_equal(smtpc_client_new(NULL, &c), SMTPC_EINVAL);
    assert_null(c);
    smtpc_transport *t = (smtpc_transport *)&t;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, fake_send, fake_recv, NULL, NULL, &t),
                     SMTPC_EINVAL);
    assert_null(t);
    /* An allocator without one of its functions is no allocator either. */
    smtpc_allocator half = {NULL, NULL, NULL};
    assert_int_equal(smtpc_engine_new(&half, NULL, 0, 0, &e), SMTPC_EINVAL);

    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    assert_int_equal(smtpc_engine_new(&heap.hook, NULL, 0, 0, &e), SMTPC_OK);
    assert_true(heap.live_blocks > 0);
    smtpc_engine_free(e);
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
}

/* ---- message: Date needs a wall clock, Message-ID and boundaries need
 * uniqueness, files are not there ---- */

static void test_message_hooks(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(&heap.hook, &m), SMTPC_OK);
    assert_int_equal(smtpc_message_set_from(m, "fw@example.org", NULL), SMTPC_OK);
    assert_int_equal(smtpc_message_add_to(m, "ops@example.org", NULL), SMTPC_OK);
    assert_int_equal(smtpc_message_set_text(m, "boot ok\n", 8, SMTPC_MEM_BORROW), SMTPC_OK);

    int64_t size = 0;
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)),
                           "smtpc_message_set_clock"));
    assert_int_equal(smtpc_message_set_clock(m, wall_clock, NULL), SMTPC_OK);

    /* One part but a generated Message-ID: uniqueness is needed. */
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)),
                           "smtpc_message_set_random"));
    /* Its own Message-ID and one part: nothing random in the bytes. */
    assert_int_equal(smtpc_message_set_message_id(m, "<boot-1@example.org>"), SMTPC_OK);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_OK);
    char out[2048];
    size_t len = 0;
    assert_int_equal(smtpc_message_read(m, (uint8_t *)out, sizeof out - 1, &len), SMTPC_OK);
    out[len] = '\0';
    assert_int_equal((int64_t)len, size);
    assert_non_null(strstr(out, "Date: Sun, 15 Jun 2025 10:00:17 +0200\r\n"));
    assert_non_null(strstr(out, "Message-ID: <boot-1@example.org>\r\n"));

    /* File sources are compiled out with the port. */
    assert_int_equal(smtpc_message_attach_file(m, "/etc/hostname", NULL, NULL), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "file sources"));

    /* An attachment makes boundaries: the random hook is called for them. */
    static const uint8_t blob[] = {0, 1, 2, 0xff};
    assert_int_equal(smtpc_message_attach_mem(m, blob, sizeof blob, SMTPC_MEM_COPY, "b.bin",
                                              NULL),
                     SMTPC_OK);
    assert_int_equal(smtpc_message_rewind(m), SMTPC_OK);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_ENOTSUP);
    unsigned calls = 0;
    assert_int_equal(smtpc_message_set_random(m, counting_random, &calls), SMTPC_OK);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(smtpc_message_read(m, (uint8_t *)out, sizeof out - 1, &len), SMTPC_OK);
    out[len] = '\0';
    assert_non_null(strstr(out, "boundary=\"=_smtpc1."));
    assert_non_null(strstr(out, "AAEC/w==")); /* the attachment's base64 */
    smtpc_message_free(m);
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
}

/* ---- client: deadlines need a monotonic clock ---- */

static smtpc_client *new_client(test_heap *heap, fake_server *srv)
{
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(&heap->hook, &c), SMTPC_OK);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(&heap->hook, fake_send, fake_recv, NULL, srv,
                                                   &t),
                     SMTPC_OK);
    assert_int_equal(smtpc_client_set_transport(c, t), SMTPC_OK);
    assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), SMTPC_OK);
    return c;
}

static const char *const session[] = {"220 mx ready\r\n", "250 mx\r\n", "250 ok\r\n",
                                      "250 ok\r\n",       "354 go\r\n", "250 queued\r\n",
                                      "221 bye\r\n",      NULL};

static void send_one(smtpc_client *c)
{
    static const char body[] = "Subject: t\r\n\r\nhello\r\n";
    const char *rcpt = "ops@example.org";
    assert_int_equal(smtpc_client_connect(c), SMTPC_OK);
    assert_int_equal(smtpc_client_send(c, "fw@example.org", &rcpt, 1, (const uint8_t *)body,
                                       sizeof body - 1),
                     SMTPC_OK);
    assert_int_equal(smtpc_client_quit(c), SMTPC_OK);
}

static void test_client_refuses_deadlines_without_clock(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    fake_server srv = {.replies = session, .owed = 1};
    smtpc_client *c = new_client(&heap, &srv);
    assert_int_equal(smtpc_client_connect(c), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_client_error(c)), "smtpc_client_set_clock"));
    assert_int_equal(srv.sends + srv.recvs, 0); /* refused before any byte */

    /* Every deadline off: nothing to measure, the session runs. */
    for (int stage = 0; stage < SMTPC_TIMEOUT_COUNT; stage++)
        assert_int_equal(smtpc_client_set_timeout(c, stage, -1), SMTPC_OK);
    send_one(c);
    assert_non_null(strstr(srv.sent, "MAIL FROM:<fw@example.org>"));
    smtpc_client_free(c);
    assert_int_equal(heap.live_blocks, 0);
}

static void test_client_uses_clock_hook(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    fake_server srv = {.replies = session, .owed = 1};
    smtpc_client *c = new_client(&heap, &srv);
    fake_clock clk = {.now = 1000, .step = 1};
    assert_int_equal(smtpc_client_set_clock(c, clock_read, &clk), SMTPC_OK);
    send_one(c);
    assert_true(clk.reads > 0);
    assert_non_null(strstr(srv.sent, "\r\n.\r\n"));
    smtpc_client_free(c);
    assert_int_equal(heap.live_blocks, 0);
}

/* The whole-reply deadline runs on the hook: a greeting that never ends is
 * cut off when the hook's time passes the greeting timeout. */
static void test_whole_reply_deadline_on_hook(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    fake_server srv = {.endless_continuation = 1};
    smtpc_client *c = new_client(&heap, &srv);
    fake_clock clk = {.now = 0, .step = 1000};
    assert_int_equal(smtpc_client_set_clock(c, clock_read, &clk), SMTPC_OK);
    assert_int_equal(smtpc_client_set_timeout(c, SMTPC_TIMEOUT_GREETING, 30000), SMTPC_OK);
    assert_int_equal(smtpc_client_connect(c), SMTPC_ETIMEDOUT);
    assert_non_null(strstr(smtpc_error_message(smtpc_client_error(c)), "no complete reply"));
    /* About 30 one-second readings, not an endless loop. */
    assert_in_range(srv.recvs, 10, 40);
    smtpc_client_free(c);
    assert_int_equal(heap.live_blocks, 0);
}

/* ---- SASL without crypto ---- */

static void test_sasl_crypto_mechanisms(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(&heap.hook, NULL, 0, 0, &e), SMTPC_OK);
    int rc = smtpc_engine_set_auth_mechanisms(e, SMTPC_AUTH_SCRAM_SHA_256 | SMTPC_AUTH_CRAM_MD5);
#if SMTPC_HAVE_SASL_CRYPTO
    assert_int_equal(rc, SMTPC_OK);
#else
    assert_int_equal(rc, SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_engine_error(e)), "sasl_crypto"));
#endif
    assert_int_equal(smtpc_engine_set_auth_mechanisms(e, SMTPC_AUTH_PLAIN), SMTPC_OK);
    smtpc_engine_free(e);
    assert_int_equal(heap.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_default_allocator),
        cmocka_unit_test(test_message_hooks),
        cmocka_unit_test(test_client_refuses_deadlines_without_clock),
        cmocka_unit_test(test_client_uses_clock_hook),
        cmocka_unit_test(test_whole_reply_deadline_on_hook),
        cmocka_unit_test(test_sasl_crypto_mechanisms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
