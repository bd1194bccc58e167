/* The blocking client's call rules, against the fault server:
 *  - settings between sessions (review finding #6): after a quit and after a
 *    failed connect every setter is accepted and the next connect uses it;
 *  - the error record (review finding #13): every refused call sets it, with
 *    its own code and a message naming the call;
 *  - calls from inside the client's own callbacks (review finding #12): a
 *    free, connect, send, quit or setting there is refused, never a memory
 *    error.
 * Every run counts allocations: nothing may leak or be freed wrongly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fault_server.h"
#include "smtpc.h"
#include "smtpc_config.h"
#include "test_alloc.h"
#include "test_tcp_transport.h"

#define GREETING "220 calls.test ESMTP\r\n"
#define EHLO_OK "250-calls.test\r\n250 8BITMIME\r\n"
#define BYE "221 2.0.0 bye\r\n"

static const char *const rcpt[] = {"r@x.test"};
static const char body[] = "Subject: calls\r\n\r\nhello\r\n";

static const smtpc_fs_step quit_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_OK),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
static const smtpc_fs_step refuse_script[] = {
    FS_SEND("554 5.3.2 not now\r\n"), FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
/* --- a traced client on the counting allocator --- */

typedef struct {
    char text[8192];
    size_t len;
} trace_log;

static void log_line(void *user, int dir, const char *text, size_t len)
{
    trace_log *t = user;
    int n = snprintf(t->text + t->len, sizeof t->text - t->len, "%d %.*s\n", dir, (int)len,
                     text);
    if (n > 0 && (size_t)n < sizeof t->text - t->len)
        t->len += (size_t)n;
}

static smtpc_client *new_client(test_heap *heap)
{
    test_heap_init(heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(&heap->hook, &c), 0);
    assert_non_null(c);
    for (int st = 0; st < SMTPC_TIMEOUT_COUNT; st++)
        assert_int_equal(smtpc_client_set_timeout(c, st, 3000), 0);
    assert_int_equal(smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN), 0);
    return c;
}

static void free_client(smtpc_client *c, test_heap *heap)
{
    smtpc_client_free(c);
    if (heap->live_bytes || heap->live_blocks)
        fail_msg("leak: %zu bytes in %zu blocks", heap->live_bytes, heap->live_blocks);
    assert_int_equal(heap->bad_frees, 0);
}

static void join_ok(smtpc_fault_server *fs, const char *name)
{
    if (smtpc_fs_join(fs) != 0)
        fail_msg("%s: server script did not complete: %s\n--- client sent:\n%s", name,
                 smtpc_fs_error(fs), smtpc_fs_transcript(fs, NULL));
    smtpc_fs_free(fs);
}

/* rc is the refusal want, and the error record says so with a message that
 * has needle in it and is not left over from before. */
static void check_refusal(const smtpc_client *c, const char *name, int rc, int want,
                          const char *needle, const char *before)
{
    const char *msg = smtpc_error_message(smtpc_client_error(c));
    if (rc != want)
        fail_msg("%s: returned %d, expected %d (%s)", name, rc, want, msg);
    if (smtpc_error_code(smtpc_client_error(c)) != rc)
        fail_msg("%s: error record holds %d, the call returned %d (%s)", name,
                 smtpc_error_code(smtpc_client_error(c)), rc, msg);
    if (strcmp(msg, "success") == 0 || (before && strcmp(msg, before) == 0) ||
        !strstr(msg, needle))
        fail_msg("%s: message \"%s\" lacks \"%s\" or is stale", name, msg, needle);
}

/* --- review finding #6: every setter between sessions --- */

typedef struct {
    smtpc_fault_server *fs; /* the next session's server */
    trace_log log;
    smtpc_tls_config *tls;
    smtpc_transport *transport;
} setter_ctx;

static int apply_server(smtpc_client *c, setter_ctx *x)
{
    return smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(x->fs));
}

static int apply_timeout(smtpc_client *c, setter_ctx *x)
{
    (void)x;
    return smtpc_client_set_timeout(c, SMTPC_TIMEOUT_GREETING, 300);
}

static int apply_ehlo(smtpc_client *c, setter_ctx *x)
{
    (void)x;
    return smtpc_client_set_ehlo_name(c, "client.calls.test");
}

static int apply_security(smtpc_client *c, setter_ctx *x)
{
    (void)x;
#if SMTPC_HAVE_TLS
    return smtpc_client_set_security(c, SMTPC_SECURITY_STARTTLS);
#else
    /* Required STARTTLS never reaches a server without TLS (see
     * test_faults.c); optional STARTTLS shows itself in the trace. */
    return smtpc_client_set_security(c, SMTPC_SECURITY_STARTTLS_OPTIONAL);
#endif
}

static int apply_trace(smtpc_client *c, setter_ctx *x)
{
    return smtpc_client_set_trace(c, log_line, &x->log);
}

static int apply_transport(smtpc_client *c, setter_ctx *x)
{
    int rc = smtpc_client_set_transport(c, x->transport);
    x->transport = NULL; /* the client's now, even on error */
    return rc;
}

static int apply_tls(smtpc_client *c, setter_ctx *x)
{
    int rc = smtpc_client_set_security(c, SMTPC_SECURITY_STARTTLS);
    return rc ? rc : smtpc_client_set_tls_config(c, x->tls);
}

static int apply_credentials(smtpc_client *c, setter_ctx *x)
{
    (void)x;
    return smtpc_client_set_credentials(c, "user", "secret");
}

#if SMTPC_HAVE_SASL_EXTRA
static int apply_oauth(smtpc_client *c, setter_ctx *x)
{
    (void)x;
    return smtpc_client_set_oauth_token(c, "user", "token");
}
#endif

#if SMTPC_HAVE_SASL_EXTRA || SMTPC_HAVE_SASL_CRYPTO
/* LOGIN, or without -Dsasl_extra PLAIN: either is chosen over what the
 * script offers first only because of the setting (with PLAIN alone in the
 * build there is nothing to choose). */
static int apply_mechanisms(smtpc_client *c, setter_ctx *x)
{
    (void)x;
    int rc = smtpc_client_set_credentials(c, "user", "secret");
    return rc ? rc
              : smtpc_client_set_auth_mechanisms(c, SMTPC_HAVE_SASL_EXTRA ? SMTPC_AUTH_LOGIN
                                                                          : SMTPC_AUTH_PLAIN);
}
#endif

static int apply_plaintext(smtpc_client *c, setter_ctx *x)
{
    (void)x;
    int rc = smtpc_client_set_credentials(c, "user", "secret");
    return rc ? rc : smtpc_client_allow_plaintext_auth(c, 1);
}

#define AUTH_OK "235 2.7.0 ok\r\n"

static const smtpc_fs_step silent_script[] = {FS_SILENT(3000), FS_END};
static const smtpc_fs_step ehlo_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO client.calls.test\r\n"), FS_SEND(EHLO_OK),
    FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
static const smtpc_fs_step starttls_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"),
    FS_SEND("250-calls.test\r\n250 STARTTLS\r\n"), FS_EXPECT("STARTTLS\r\n"),
    FS_SEND("220 go ahead\r\n"), FS_CLOSE, FS_END,
};
static const smtpc_fs_step plain_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"),
    FS_SEND("250-calls.test\r\n250 AUTH PLAIN LOGIN\r\n"), FS_EXPECT("AUTH PLAIN "),
    FS_SEND(AUTH_OK), FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
#if SMTPC_HAVE_SASL_EXTRA
static const smtpc_fs_step oauth_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"),
    FS_SEND("250-calls.test\r\n250 AUTH XOAUTH2\r\n"), FS_EXPECT("AUTH XOAUTH2 "),
    FS_SEND(AUTH_OK), FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
static const smtpc_fs_step login_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"),
    FS_SEND("250-calls.test\r\n250 AUTH PLAIN LOGIN\r\n"), FS_EXPECT("AUTH LOGIN"),
    FS_SEND("334 VXNlcm5hbWU6\r\n"), FS_EXPECT("dXNlcg=="),
    FS_SEND("334 UGFzc3dvcmQ6\r\n"), FS_EXPECT("c2VjcmV0"),
    FS_SEND(AUTH_OK), FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
#elif SMTPC_HAVE_SASL_CRYPTO
/* PLAIN, though CRAM-MD5 would be preferred. */
static const smtpc_fs_step login_script[] = {
    FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"),
    FS_SEND("250-calls.test\r\n250 AUTH CRAM-MD5 PLAIN\r\n"), FS_EXPECT("AUTH PLAIN "),
    FS_SEND(AUTH_OK), FS_EXPECT("QUIT\r\n"), FS_SEND(BYE), FS_END,
};
#endif

enum { NEEDS_SERVER = 1, SETS_SERVER = 2, PLAINTEXT_FIRST = 4, NEEDS_TLS = 8 };

typedef struct {
    const char *name;
    int (*apply)(smtpc_client *c, setter_ctx *x);
    const smtpc_fs_step *script; /* the next session, which shows the effect */
    int flags;
    int connect_rc;       /* 1: any error */
    const char *evidence; /* in the error message, the trace or the mechanism */
} setter_case;

static const setter_case setter_cases[] = {
    {"set_server", apply_server, quit_script, SETS_SERVER, 0, NULL},
    {"set_timeout", apply_timeout, silent_script, NEEDS_SERVER, SMTPC_ETIMEDOUT,
     "300 ms"},
    {"set_ehlo_name", apply_ehlo, ehlo_script, NEEDS_SERVER, 0, NULL},
#if SMTPC_HAVE_TLS
    {"set_security", apply_security, quit_script, NEEDS_SERVER, SMTPC_ENOSTARTTLS, NULL},
#else
    {"set_security", apply_security, quit_script, NEEDS_SERVER, 0, "STARTTLS not attempted"},
#endif
    {"set_trace", apply_trace, quit_script, NEEDS_SERVER, 0, "1 EHLO localhost"},
    {"set_transport", apply_transport, quit_script, 0, 0, NULL},
    {"set_tls_config", apply_tls, starttls_script, NEEDS_SERVER | NEEDS_TLS, 1,
     "certificate verification is turned off"},
    {"set_credentials", apply_credentials, plain_script, NEEDS_SERVER | PLAINTEXT_FIRST, 0,
     "PLAIN"},
#if SMTPC_HAVE_SASL_EXTRA
    {"set_oauth_token", apply_oauth, oauth_script, NEEDS_SERVER | PLAINTEXT_FIRST, 0,
     "XOAUTH2"},
    {"set_auth_mechanisms", apply_mechanisms, login_script, NEEDS_SERVER | PLAINTEXT_FIRST, 0,
     "LOGIN"},
#elif SMTPC_HAVE_SASL_CRYPTO
    {"set_auth_mechanisms", apply_mechanisms, login_script, NEEDS_SERVER | PLAINTEXT_FIRST, 0,
     "PLAIN"},
#endif
    {"allow_plaintext_auth", apply_plaintext, plain_script, NEEDS_SERVER, 0, "PLAIN"},
};

/* One session that ends (quit, or a refused greeting), then the setter, then
 * a session against the script that shows whether it took effect. */
static void setter_between_sessions(const setter_case *k, int after_failed_connect)
{
    char name[96];
    snprintf(name, sizeof name, "%s after %s", k->name,
             after_failed_connect ? "a failed connect" : "quit");
#if !SMTPC_HAVE_TLS
    if (k->flags & NEEDS_TLS) {
        print_message("skipped: %s: no TLS configuration exists in a build without TLS\n",
                      name);
        return;
    }
#endif
    setter_ctx x;
    memset(&x, 0, sizeof x);
    if (k->flags & NEEDS_TLS) {
        assert_int_equal(smtpc_tls_config_new(NULL, &x.tls), 0);
        assert_int_equal(smtpc_tls_config_set_verify(x.tls, SMTPC_TLS_VERIFY_NONE), 0);
    }
    test_heap heap;
    smtpc_client *c = new_client(&heap);
    if (k->apply != apply_trace)
        assert_int_equal(smtpc_client_set_trace(c, log_line, &x.log), 0);
    if (k->flags & PLAINTEXT_FIRST)
        assert_int_equal(smtpc_client_allow_plaintext_auth(c, 1), 0);

    smtpc_fault_server *first =
        smtpc_fs_start(after_failed_connect ? refuse_script : quit_script, 0);
    assert_non_null(first);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(first)), 0);
    assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(first), 3000), 0);
    if (after_failed_connect) {
        assert_int_equal(smtpc_client_connect(c), SMTPC_EGREETING);
    } else {
        assert_int_equal(smtpc_client_connect(c), 0);
        assert_int_equal(smtpc_client_quit(c), 0);
    }
    assert_int_equal(smtpc_client_connected(c), 0);
    join_ok(first, name); /* its port is closed now: connecting there is refused */

    x.fs = smtpc_fs_start(k->script, 0);
    assert_non_null(x.fs);
    if (k->flags & NEEDS_SERVER)
        assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(x.fs)), 0);
    if (k->apply == apply_transport) {
        /* The tests' own transport: the library's sockets may be compiled
         * out, and which kind it is does not matter here. */
        char why[128];
        assert_int_equal(test_tcp_transport_new(NULL, "127.0.0.1", smtpc_fs_port(x.fs), 3000,
                                                &x.transport, why, sizeof why),
                         0);
    } else {
        assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(x.fs), 3000), 0);
    }
    x.log.len = 0;
    x.log.text[0] = '\0';
    int rc = k->apply(c, &x);
    if (rc != 0)
        fail_msg("%s: the setting was refused: %d %s", name, rc, smtpc_error_message(smtpc_client_error(c)));

    rc = smtpc_client_connect(c);
    char seen[512];
    snprintf(seen, sizeof seen, "%s", smtpc_error_message(smtpc_client_error(c)));
    if (k->connect_rc == 1 ? rc == 0 : rc != k->connect_rc)
        fail_msg("%s: connect returned %d, expected %d (%s)\n--- trace:\n%s", name, rc,
                 k->connect_rc, seen, x.log.text);
    if (k->evidence && !strstr(seen, k->evidence) && !strstr(x.log.text, k->evidence) &&
        strcmp(smtpc_engine_auth_mechanism(smtpc_client_engine(c)), k->evidence) != 0)
        fail_msg("%s: no sign the setting was used (\"%s\"): error \"%s\", mechanism \"%s\"\n"
                 "--- trace:\n%s",
                 name, k->evidence, seen, smtpc_engine_auth_mechanism(smtpc_client_engine(c)), x.log.text);
    if (smtpc_client_connected(c))
        assert_int_equal(smtpc_client_quit(c), 0);
    free_client(c, &heap);
    smtpc_tls_config_free(x.tls);
    join_ok(x.fs, name);
}

/* API consolidation: smtpc_client_new has the constructor shape of every
 * other handle (a code, the handle in *out, NULL there on failure). */
static void test_client_new_shape(void **state)
{
    (void)state;
    assert_int_equal(smtpc_client_new(NULL, NULL), SMTPC_EINVAL);
    for (long n = 0;; n++) {
        test_heap heap;
        test_heap_init(&heap, TEST_HEAP_FAIL_ONE, n + 1);
        smtpc_client *c = (smtpc_client *)&heap; /* must be overwritten */
        int rc = smtpc_client_new(&heap.hook, &c);
        if (rc == 0) {
            assert_non_null(c);
            assert_int_equal(smtpc_error_code(smtpc_client_error(c)), 0);
            smtpc_client_free(c);
            assert_int_equal(heap.live_bytes, 0);
            break;
        }
        assert_int_equal(rc, SMTPC_ENOMEM);
        assert_null(c);
        assert_int_equal(heap.live_bytes, 0);
    }
}

static void test_setters_between_sessions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof setter_cases / sizeof setter_cases[0]; i++) {
        setter_between_sessions(&setter_cases[i], 0);
        setter_between_sessions(&setter_cases[i], 1);
    }
}

/* --- review finding #13: every refusal is in the error record --- */

typedef struct {
    const char *name;
    int (*call)(smtpc_client *c);
    int rc;
    const char *needle;
} refusal_case;

static int bad_server(smtpc_client *c) { return smtpc_client_set_server(c, "", "25"); }
static int bad_timeout(smtpc_client *c) { return smtpc_client_set_timeout(c, 99, 1000); }
static int bad_timeout_neg(smtpc_client *c) { return smtpc_client_set_timeout(c, -1, 1000); }
static int bad_ehlo(smtpc_client *c) { return smtpc_client_set_ehlo_name(c, "a b"); }
static int empty_ehlo(smtpc_client *c) { return smtpc_client_set_ehlo_name(c, ""); }
static int bad_security(smtpc_client *c) { return smtpc_client_set_security(c, 42); }
static int bad_credentials(smtpc_client *c) { return smtpc_client_set_credentials(c, "u", NULL); }
static int crlf_credentials(smtpc_client *c)
{
    return smtpc_client_set_credentials(c, "u", "p\r\nQUIT");
}
static int bad_oauth(smtpc_client *c) { return smtpc_client_set_oauth_token(c, "u\n", "t"); }
static int bad_mechs(smtpc_client *c) { return smtpc_client_set_auth_mechanisms(c, 0x4000); }
static int no_mechs(smtpc_client *c) { return smtpc_client_set_auth_mechanisms(c, 0); }
static int send_null_body(smtpc_client *c)
{
    return smtpc_client_send(c, "a@x.test", rcpt, 1, NULL, 5);
}
static int stream_no_reader(smtpc_client *c)
{
    return smtpc_client_send_stream(c, "a@x.test", rcpt, 1, NULL, NULL, -1, 0);
}
static int send_unconnected(smtpc_client *c)
{
    return smtpc_client_send(c, "a@x.test", rcpt, 1, (const uint8_t *)body, strlen(body));
}
static int noop_unconnected(smtpc_client *c) { return smtpc_client_noop(c); }
static int quit_unconnected(smtpc_client *c) { return smtpc_client_quit(c); }
static int connect_no_server(smtpc_client *c) { return smtpc_client_connect(c); }

/* Refusals on a client that is not connected: bad arguments and calls that
 * need a session. Each follows a different failure, so that a record left
 * over from the previous call shows. */
static void test_refusals_set_the_record(void **state)
{
    (void)state;
    static const refusal_case cases[] = {
        {"connect without a server", connect_no_server, SMTPC_EINVAL, "no server"},
        {"set_server empty host", bad_server, SMTPC_EINVAL, "smtpc_client_set_server"},
        {"set_timeout stage 99", bad_timeout, SMTPC_EINVAL, "99"},
        {"set_timeout stage -1", bad_timeout_neg, SMTPC_EINVAL, "-1"},
        {"set_ehlo_name with a space", bad_ehlo, SMTPC_EBADCHAR, "smtpc_client_set_ehlo_name"},
        {"set_ehlo_name empty", empty_ehlo, SMTPC_EINVAL, "smtpc_client_set_ehlo_name"},
        {"set_security 42", bad_security, SMTPC_EINVAL, "42"},
        {"set_credentials no password", bad_credentials, SMTPC_EINVAL,
         "smtpc_client_set_credentials"},
        {"set_credentials CRLF", crlf_credentials, SMTPC_EBADCHAR,
         "smtpc_client_set_credentials"},
        {"set_oauth_token LF", bad_oauth, SMTPC_EBADCHAR, "smtpc_client_set_oauth_token"},
        {"set_auth_mechanisms unknown bit", bad_mechs, SMTPC_EINVAL,
         "smtpc_client_set_auth_mechanisms"},
        {"set_auth_mechanisms none", no_mechs, SMTPC_EINVAL, "smtpc_client_set_auth_mechanisms"},
        {"send NULL body", send_null_body, SMTPC_EINVAL, "smtpc_client_send"},
        {"send_stream no reader", stream_no_reader, SMTPC_EINVAL, "smtpc_client_send_stream"},
        {"send unconnected", send_unconnected, SMTPC_ESTATE, "not connected"},
        {"noop unconnected", noop_unconnected, SMTPC_ESTATE, "not connected"},
        {"quit unconnected", quit_unconnected, SMTPC_ESTATE, "not connected"},
        /* the refused settings above hold connect back, naming one */
        {"connect after refused settings", connect_no_server, SMTPC_ESTATE, "was refused"},
    };
    test_heap heap;
    smtpc_client *c = new_client(&heap);
    char before[256] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cases[i].call(c);
        check_refusal(c, cases[i].name, rc, cases[i].rc, cases[i].needle, before);
        snprintf(before, sizeof before, "%s", smtpc_error_message(smtpc_client_error(c)));
    }
    free_client(c, &heap);
}

/* Review finding #6: a refused setting is not silently lost. The next connect
 * does not go ahead as if it had been applied (here: without the credentials
 * the user tried to set); once the setter succeeds, connect works again. */
static void test_refused_setting_blocks_connect(void **state)
{
    (void)state;
    smtpc_fault_server *fs = smtpc_fs_start(plain_script, 0);
    assert_non_null(fs);
    test_heap heap;
    smtpc_client *c = new_client(&heap);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(fs)), 0);
    assert_int_equal(smtpc_client_allow_plaintext_auth(c, 1), 0);
    assert_int_equal(smtpc_client_set_credentials(c, "user", "bad\r\npassword"), SMTPC_EBADCHAR);
    /* Once: the refused connect leaves the transport for the next one. */
    assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(fs), 3000), 0);
    int rc = smtpc_client_connect(c);
    check_refusal(c, "connect after a refused setting", rc, SMTPC_ESTATE,
                  "smtpc_client_set_credentials", NULL);
    assert_int_equal(smtpc_client_connected(c), 0);
    assert_int_equal(smtpc_client_set_credentials(c, "user", "secret"), 0);
    assert_int_equal(smtpc_client_connect(c), 0);
    assert_string_equal(smtpc_engine_auth_mechanism(smtpc_client_engine(c)), "PLAIN");
    assert_int_equal(smtpc_client_quit(c), 0);
    free_client(c, &heap);
    join_ok(fs, "refused setting");
}

/* smtpc_client_set_buffers: sizes out of range are refused with the bound
 * named, the sizes kept and the next connect held back; sizes in range
 * apply at connect, and a client with the smallest buffers holds far less
 * memory than one with the defaults. */
static int buffers_io_small(smtpc_client *c)
{
    return smtpc_client_set_buffers(c, SMTPC_CLIENT_IO_MIN - 1, 0);
}
static int buffers_out_small(smtpc_client *c)
{
    return smtpc_client_set_buffers(c, 0, SMTPC_CLIENT_OUTPUT_MIN - 1);
}
static int buffers_io_big(smtpc_client *c)
{
    return smtpc_client_set_buffers(c, SMTPC_CLIENT_BUFFER_MAX + 1, 0);
}
static int buffers_out_big(smtpc_client *c)
{
    return smtpc_client_set_buffers(c, 4096, SMTPC_CLIENT_BUFFER_MAX + 1);
}

static size_t connected_bytes(size_t io, size_t out)
{
    smtpc_fault_server *fs = smtpc_fs_start(quit_script, 0);
    assert_non_null(fs);
    test_heap heap;
    smtpc_client *c = new_client(&heap);
    assert_int_equal(smtpc_client_set_buffers(c, io, out), 0);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(fs)), 0);
    assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(fs), 3000), 0);
    assert_int_equal(smtpc_client_connect(c), 0);
    size_t live = heap.live_bytes;
    assert_int_equal(smtpc_client_quit(c), 0);
    free_client(c, &heap);
    join_ok(fs, "buffers");
    return live;
}

static void test_set_buffers(void **state)
{
    (void)state;
    assert_int_equal(smtpc_client_set_buffers(NULL, 0, 0), SMTPC_EINVAL);
    static const refusal_case cases[] = {
        {"io below minimum", buffers_io_small, SMTPC_EINVAL, "io_bytes"},
        {"output below minimum", buffers_out_small, SMTPC_EINVAL, "output_bytes"},
        {"io above maximum", buffers_io_big, SMTPC_EINVAL, "io_bytes"},
        {"output above maximum", buffers_out_big, SMTPC_EINVAL, "output_bytes"},
    };
    test_heap heap;
    smtpc_client *c = new_client(&heap);
    char before[512] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cases[i].call(c);
        check_refusal(c, cases[i].name, rc, cases[i].rc, cases[i].needle, before);
        snprintf(before, sizeof before, "%s", smtpc_error_message(smtpc_client_error(c)));
    }
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", "25"), 0);
    check_refusal(c, "connect after refused buffers", smtpc_client_connect(c), SMTPC_ESTATE,
                  "smtpc_client_set_buffers", NULL);
    free_client(c, &heap);

    /* The difference is the buffers' own: 4096 - 256 and 16384 - 1024. */
    size_t small = connected_bytes(SMTPC_CLIENT_IO_MIN, SMTPC_CLIENT_OUTPUT_MIN);
    size_t defaults = connected_bytes(0, 0);
    assert_int_equal(defaults - small, (SMTPC_CLIENT_IO_DEFAULT - SMTPC_CLIENT_IO_MIN) +
                                           (SMTPC_CLIENT_OUTPUT_DEFAULT -
                                            SMTPC_CLIENT_OUTPUT_MIN));
    assert_true(small < 16384);
}

/* Review findings #6 and #13: setters that need a closed session are refused
 * while one is open, each with its own record; so is a second connect. */
static int while_server(smtpc_client *c) { return smtpc_client_set_server(c, "h", "25"); }
static int while_ehlo(smtpc_client *c) { return smtpc_client_set_ehlo_name(c, "h.test"); }
static int while_security(smtpc_client *c)
{
    return smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);
}
static int while_tls(smtpc_client *c) { return smtpc_client_set_tls_config(c, NULL); }
static int while_credentials(smtpc_client *c)
{
    return smtpc_client_set_credentials(c, "u", "p");
}
static int while_oauth(smtpc_client *c) { return smtpc_client_set_oauth_token(c, "u", "t"); }
static int closes;
static int null_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    (void)user, (void)buf, (void)timeout_ms;
    *sent = len;
    return 0;
}
static int null_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *got)
{
    (void)user, (void)buf, (void)cap, (void)timeout_ms, (void)got;
    return SMTPC_ECLOSED;
}
static void count_close(void *user)
{
    (void)user;
    closes++;
}
static int while_transport(smtpc_client *c)
{
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, null_send, null_recv, count_close,
                                                   NULL, &t),
                     0);
    closes = 0;
    int rc = smtpc_client_set_transport(c, t);
    assert_int_equal(closes, 1); /* refused, and freed as documented */
    return rc;
}
static int while_connect(smtpc_client *c) { return smtpc_client_connect(c); }
static int while_buffers(smtpc_client *c) { return smtpc_client_set_buffers(c, 0, 0); }

static void test_refusals_while_connected(void **state)
{
    (void)state;
    static const refusal_case cases[] = {
        {"set_server", while_server, SMTPC_ESTATE, "smtpc_client_set_server"},
        {"set_ehlo_name", while_ehlo, SMTPC_ESTATE, "smtpc_client_set_ehlo_name"},
        {"set_security", while_security, SMTPC_ESTATE, "smtpc_client_set_security"},
        {"set_tls_config", while_tls, SMTPC_ESTATE, "smtpc_client_set_tls_config"},
        {"set_credentials", while_credentials, SMTPC_ESTATE, "smtpc_client_set_credentials"},
        {"set_oauth_token", while_oauth, SMTPC_ESTATE, "smtpc_client_set_oauth_token"},
        {"set_transport", while_transport, SMTPC_ESTATE, "smtpc_client_set_transport"},
        {"set_buffers", while_buffers, SMTPC_ESTATE, "smtpc_client_set_buffers"},
        {"connect twice", while_connect, SMTPC_ESTATE, "already connected"},
    };
    smtpc_fault_server *fs = smtpc_fs_start(quit_script, 0);
    assert_non_null(fs);
    test_heap heap;
    smtpc_client *c = new_client(&heap);
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(fs)), 0);
    assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(fs), 3000), 0);
    assert_int_equal(smtpc_client_connect(c), 0);
    char before[256] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cases[i].call(c);
        check_refusal(c, cases[i].name, rc, cases[i].rc, cases[i].needle, before);
        snprintf(before, sizeof before, "%s", smtpc_error_message(smtpc_client_error(c)));
        assert_int_equal(smtpc_client_connected(c), 1);
    }
    assert_int_equal(smtpc_client_quit(c), 0);
    /* those refusals are not lost: the next connect names one, and goes
     * nowhere */
    int rc = smtpc_client_connect(c);
    check_refusal(c, "connect after refusals", rc, SMTPC_ESTATE, "refused", before);
    free_client(c, &heap);
    join_ok(fs, "refusals while connected");
}

/* --- review finding #12: calls from inside the client's own callbacks --- */

enum { DO_FREE, DO_CONNECT, DO_SEND, DO_QUIT, DO_NOOP, DO_SET_CREDENTIALS, DO_SET_TIMEOUT,
       DO_SET_TRACE, DO_ALLOW_NO_DSN };

typedef struct {
    smtpc_client *c;
    int what;
    const char *when; /* the server line whose trace makes the call */
    int fired;
    int rc;        /* what the inner call returned */
    int record;    /* and the error record's code then */
    char msg[256]; /* and its message */
} reenter_ctx;

static void reenter(reenter_ctx *r)
{
    r->fired = 1;
    switch (r->what) {
    case DO_FREE: smtpc_client_free(r->c); return;
    case DO_CONNECT: r->rc = smtpc_client_connect(r->c); break;
    case DO_SEND:
        r->rc = smtpc_client_send(r->c, "a@x.test", rcpt, 1, (const uint8_t *)body,
                                  strlen(body));
        break;
    case DO_QUIT: r->rc = smtpc_client_quit(r->c); break;
    case DO_NOOP: r->rc = smtpc_client_noop(r->c); break;
    case DO_SET_CREDENTIALS: r->rc = smtpc_client_set_credentials(r->c, "u", "p"); break;
    case DO_SET_TIMEOUT: r->rc = smtpc_client_set_timeout(r->c, SMTPC_TIMEOUT_MAIL, 10); break;
    case DO_ALLOW_NO_DSN: r->rc = smtpc_client_allow_no_dsn(r->c, 1); break;
    default: r->rc = smtpc_client_set_trace(r->c, NULL, NULL); break;
    }
    r->record = smtpc_error_code(smtpc_client_error(r->c));
    snprintf(r->msg, sizeof r->msg, "%s", smtpc_error_message(smtpc_client_error(r->c)));
}

static void reenter_trace(void *user, int dir, const char *text, size_t len)
{
    (void)len;
    reenter_ctx *r = user;
    if (!r->fired && dir == SMTPC_TRACE_RECV && strstr(text, r->when))
        reenter(r);
}

static int reenter_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    reenter_ctx *r = user;
    if (!r->fired)
        reenter(r);
    size_t n = cap < 10 ? cap : 10;
    memset(buf, 'x', n);
    *len = n;
    return 0;
}

static smtpc_client *reenter_client(test_heap *heap, smtpc_fault_server *fs, reenter_ctx *r)
{
    smtpc_client *c = new_client(heap);
    r->c = c;
    assert_int_equal(smtpc_client_set_server(c, "127.0.0.1", smtpc_fs_port(fs)), 0);
    assert_int_equal(smtpc_client_set_trace(c, reenter_trace, r), 0);
    assert_int_equal(test_tcp_prepare(c, "127.0.0.1", smtpc_fs_port(fs), 3000), 0);
    return c;
}

/* The outer call was stopped by the free, the client is intact (not freed:
 * freeing it under its own call would leave that call on freed memory) and
 * is freed now, for real. */
static void check_free_refused(smtpc_client *c, test_heap *heap, int rc, const char *name)
{
    check_refusal(c, name, rc, SMTPC_ESTATE, "smtpc_client_free", NULL);
    assert_int_equal(smtpc_client_connected(c), 0);
    free_client(c, heap);
}

static void test_free_inside_trace(void **state)
{
    (void)state;
    static const smtpc_fs_step script[] = {FS_SEND(GREETING), FS_END};
    smtpc_fault_server *fs = smtpc_fs_start(script, 0);
    assert_non_null(fs);
    test_heap heap;
    reenter_ctx r = {.what = DO_FREE, .when = "220 calls.test"};
    smtpc_client *c = reenter_client(&heap, fs, &r);
    int rc = smtpc_client_connect(c);
    assert_true(r.fired);
    check_free_refused(c, &heap, rc, "free inside trace");
    join_ok(fs, "free inside trace");
}

static void test_free_inside_read_callback(void **state)
{
    (void)state;
    static const smtpc_fs_step script[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_OK),
        FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SEND("250 ok\r\n"),
        FS_EXPECT("RCPT TO:<r@x.test>\r\n"), FS_SEND("250 ok\r\n"),
        FS_EXPECT("DATA\r\n"), FS_SEND("354 go\r\n"), FS_END,
    };
    smtpc_fault_server *fs = smtpc_fs_start(script, 0);
    assert_non_null(fs);
    test_heap heap;
    reenter_ctx r = {.what = DO_FREE, .when = "never traced"};
    smtpc_client *c = reenter_client(&heap, fs, &r);
    assert_int_equal(smtpc_client_connect(c), 0);
    int rc = smtpc_client_send_stream(c, "a@x.test", rcpt, 1, reenter_read, &r, -1, 0);
    assert_true(r.fired);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)), SMTPC_MESSAGE_NOT_SENT);
    check_free_refused(c, &heap, rc, "free inside read callback");
    join_ok(fs, "free inside read callback");
}

/* A message source's callback is the client's callback too, while
 * smtpc_client_send_message runs. */
static int message_read_frees(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    return reenter_read(user, buf, cap, len);
}

static void test_free_inside_message_callback(void **state)
{
    (void)state;
    static const smtpc_fs_step script[] = {
        FS_SEND(GREETING), FS_EXPECT("EHLO localhost\r\n"), FS_SEND(EHLO_OK),
        FS_EXPECT("MAIL FROM:<a@x.test>"), FS_SEND("250 ok\r\n"),
        FS_EXPECT("RCPT TO:<r@x.test>\r\n"), FS_SEND("250 ok\r\n"),
        FS_EXPECT("DATA\r\n"), FS_SEND("354 go\r\n"), FS_END,
    };
    smtpc_fault_server *fs = smtpc_fs_start(script, 0);
    assert_non_null(fs);
    test_heap heap;
    reenter_ctx r = {.what = DO_FREE, .when = "never traced"};
    smtpc_client *c = reenter_client(&heap, fs, &r);
    assert_int_equal(smtpc_client_connect(c), 0);
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@x.test", NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, "r@x.test", NULL), 0);
    assert_int_equal(smtpc_message_set_text(m, "hello", 5, SMTPC_MEM_COPY), 0);
    assert_int_equal(smtpc_message_attach_reader(m, message_read_frees, NULL, &r, -1, "a.bin",
                                                 "application/octet-stream"),
                     0);
    int rc = smtpc_client_send_message(c, m, NULL, NULL, 0);
    assert_true(r.fired);
    assert_int_equal(smtpc_engine_message_status(smtpc_client_engine(c)), SMTPC_MESSAGE_NOT_SENT);
    check_free_refused(c, &heap, rc, "free inside message callback");
    smtpc_message_free(m);
    join_ok(fs, "free inside message callback");
}

/* connect, send, quit, NOOP and settings from inside the trace callback are
 * refused, each with its own record; the outer connect goes on. */
static void test_calls_inside_trace(void **state)
{
    (void)state;
    static const struct {
        int what;
        const char *needle;
    } cases[] = {
        {DO_CONNECT, "smtpc_client_connect"},
        {DO_SEND, "smtpc_client_send"},
        {DO_QUIT, "smtpc_client_quit"},
        {DO_NOOP, "smtpc_client_noop"},
        {DO_SET_CREDENTIALS, "smtpc_client_set_credentials"},
        {DO_SET_TIMEOUT, "smtpc_client_set_timeout"},
        {DO_SET_TRACE, "smtpc_client_set_trace"},
        {DO_ALLOW_NO_DSN, "smtpc_client_allow_no_dsn"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smtpc_fault_server *fs = smtpc_fs_start(quit_script, 0);
        assert_non_null(fs);
        test_heap heap;
        reenter_ctx r = {.what = cases[i].what, .when = "250 8BITMIME"};
        smtpc_client *c = reenter_client(&heap, fs, &r);
        assert_int_equal(smtpc_client_connect(c), 0);
        assert_true(r.fired);
        assert_int_equal(r.rc, SMTPC_ESTATE);
        assert_int_equal(r.record, SMTPC_ESTATE);
        if (!strstr(r.msg, cases[i].needle) || !strstr(r.msg, "callback"))
            fail_msg("%s inside trace: message \"%s\"", cases[i].needle, r.msg);
        assert_int_equal(smtpc_client_connected(c), 1);
        assert_int_equal(smtpc_client_quit(c), 0);
        free_client(c, &heap);
        join_ok(fs, cases[i].needle);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_new_shape),
        cmocka_unit_test(test_setters_between_sessions),
        cmocka_unit_test(test_refusals_set_the_record),
        cmocka_unit_test(test_refused_setting_blocks_connect),
        cmocka_unit_test(test_refusals_while_connected),
        cmocka_unit_test(test_free_inside_trace),
        cmocka_unit_test(test_free_inside_read_callback),
        cmocka_unit_test(test_free_inside_message_callback),
        cmocka_unit_test(test_calls_inside_trace),
        cmocka_unit_test(test_set_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
