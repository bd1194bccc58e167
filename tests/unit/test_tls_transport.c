/* The TLS transport against a real TLS server (Python's ssl module, driven
 * by tests/integration/scripted_server.py) with certificates made at test
 * time by tests/integration/certs.py. Runs over the socket transport and
 * over a user-callback transport wrapping a plain socket.
 *
 * argv[1]: the directory holding certs.py and scripted_server.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>

#include "smtpc/client.h"
#include "smtpc/tls.h"
#include "transport_internal.h"
#include "tls_ip.h"
#include "tls_records.h"
#include "test_alloc.h"

/* What the linked mbedTLS negotiates with a server offering TLS 1.2 and
 * 1.3: the newest it has. Where it is 1.3, the server's verdict on our
 * client certificate arrives after our side of the handshake is done. */
#if MBEDTLS_VERSION_NUMBER >= 0x03020000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
#define HAVE_TLS13 1
#define EXPECTED_VERSION "TLSv1.3"
#else
#define HAVE_TLS13 0
#define EXPECTED_VERSION "TLSv1.2"
#endif

#ifndef PYTHON /* set by the build: the interpreter with the test modules */
#define PYTHON "/usr/bin/python3"
#endif
/* The limit for handshakes that must succeed: only there to end a hang.
 * An ECDSA handshake under valgrind on a loaded machine took over 5 s
 * (with a client certificate, at a tenth of a core); the tests of the
 * limits themselves set their own, far shorter ones. */
#define HS_TIMEOUT_MS 30000

static const char *scripts_dir;
static char certs_dir[256];

/* --- helpers: files, processes, servers --- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cert_path(char *buf, size_t cap, const char *name, const char *ext)
{
    snprintf(buf, cap, "%s/%s.%s", certs_dir, name, ext);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char data[65536];
    *len = fread(data, 1, sizeof data, f);
    fclose(f);
    return data;
}

static void read_pin(const char *name, char *hex, size_t cap)
{
    char path[300];
    size_t len;
    cert_path(path, sizeof path, name, "pin");
    char *d = read_file(path, &len);
    assert_true(len >= 64 && cap > 64);
    memcpy(hex, d, 64);
    hex[64] = '\0';
}

typedef struct {
    pid_t pid;
    char port[16];
} server;

/* Start scripted_server.py with the JSON script and wait for its port. */
static void server_start(server *srv, const char *script)
{
    int fds[2];
    char prog[300];
    snprintf(prog, sizeof prog, "%s/scripted_server.py", scripts_dir);
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(PYTHON, PYTHON, prog, "--certs", certs_dir, "--lifetime", "60", script,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_true(strncmp(line, "PORT ", 5) == 0);
    snprintf(srv->port, sizeof srv->port, "%d", atoi(line + 5));
    srv->pid = pid;
}

static void server_stop(server *srv)
{
    /* Give a finished script a moment to exit on its own, then insist. */
    for (int i = 0; i < 40; i++) {
        if (waitpid(srv->pid, NULL, WNOHANG) == srv->pid)
            return;
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, NULL, 0);
}

/* --- a user-callback transport over a plain socket --- */

typedef struct {
    int fd;
    int closed;
} cb_sock;

static int cb_wait(int fd, short ev, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = ev, .revents = 0};
    int n = poll(&p, 1, timeout_ms);
    return n;
}

static int cb_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    cb_sock *s = user;
    if (cb_wait(s->fd, POLLOUT, timeout_ms) <= 0)
        return SMTPC_ETIMEDOUT;
    ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EPIPE || errno == ECONNRESET ? SMTPC_ECLOSED : SMTPC_EIO;
    *sent = (size_t)n;
    return 0;
}

static int cb_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    cb_sock *s = user;
    if (cb_wait(s->fd, POLLIN, timeout_ms) <= 0)
        return SMTPC_ETIMEDOUT;
    ssize_t n = recv(s->fd, buf, cap, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return SMTPC_ECLOSED;
    if (n < 0)
        return SMTPC_EIO;
    *received = (size_t)n;
    return 0;
}

static void cb_close(void *user)
{
    cb_sock *s = user;
    close(s->fd);
    s->closed = 1;
}

/* A plain TCP socket connected to 127.0.0.1:port. */
static int connect_fd(const char *port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static smtpc_transport *callback_transport(const smtpc_allocator *a, cb_sock *s,
                                           const char *port)
{
    s->fd = connect_fd(port);
    s->closed = 0;
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(a, cb_send, cb_recv, cb_close, s, &t), 0);
    return t;
}

static smtpc_transport *socket_transport(const smtpc_allocator *a, const char *port)
{
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(a, &t), 0);
    int rc = smtpc_transport_connect(t, "127.0.0.1", port, 2000);
    if (rc != 0)
        fail_msg("socket: %s", smtpc_error_message(smtpc_transport_error(t)));
    return t;
}

/* smtpc_transport_new_tls + smtpc_transport_handshake: the transport in
 * *out, or NULL (inner freed) and the reason in msg (cap bytes), taken
 * from the transport's error record, whose code must be the one returned. */
static int tls_connect(const smtpc_allocator *a, smtpc_transport *inner,
                       const smtpc_tls_config *cfg, const char *name, int timeout_ms,
                       smtpc_transport **out, char *msg, size_t cap)
{
    if (msg)
        msg[0] = '\0';
    int rc = smtpc_transport_new_tls(a, inner, cfg, name, out);
    if (rc != 0)
        return rc;
    assert_int_equal((*out)->encrypted, 0);
    rc = smtpc_transport_handshake(*out, timeout_ms);
    if (rc != 0) {
        assert_int_equal(smtpc_error_code(smtpc_transport_error(*out)), rc);
        if (msg)
            snprintf(msg, cap, "%s", smtpc_error_message(smtpc_transport_error(*out)));
        smtpc_transport_free(*out);
        *out = NULL;
    }
    return rc;
}

/* --- configurations --- */

static smtpc_tls_config *test_config(const smtpc_allocator *a)
{
    smtpc_tls_config *cfg = NULL;
    char path[300];
    assert_int_equal(smtpc_tls_config_new(a, &cfg), 0);
    cert_path(path, sizeof path, "ca", "pem");
    assert_int_equal(smtpc_tls_config_add_ca_file(cfg, path), 0);
    return cfg;
}

static const char echo_script_fmt[] = "[{\"tls\": {\"cert\": \"%s\"}}, {\"echo\": null}]";

typedef struct {
    int rc;
    char msg[256];
    /* Wall time of the handshake call alone: the server is already
     * listening, so Python's start-up on a busy machine is not counted. */
    long long handshake_ms;
} outcome;

/* Handshake with a server presenting cert_name; on success exchange data
 * both ways and check it comes back intact. */
static outcome run_tls(const smtpc_tls_config *cfg, const char *script, const char *name,
                       int use_callbacks, int timeout_ms)
{
    /* Every run ends with nothing outstanding. */
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_allocator a = heap.hook;
    server srv;
    cb_sock cs;
    outcome o;
    server_start(&srv, script);

    smtpc_transport *inner = use_callbacks ? callback_transport(&a, &cs, srv.port)
                                           : socket_transport(&a, srv.port);
    smtpc_transport *t = NULL;
    long long t0 = now_ms();
    o.rc = tls_connect(&a, inner, cfg, name, timeout_ms, &t, o.msg, sizeof o.msg);
    o.handshake_ms = now_ms() - t0;
    if (o.rc == 0) {
        assert_non_null(t);
        assert_int_equal(t->encrypted, 1);
        /* Larger than one TLS record, so several records each way. With
         * TLS 1.3 (mbedTLS 3.6) the server's NewSessionTickets come first,
         * which mbedtls_ssl_read reports (mbedTLS 3.6 consolidation: the
         * read is retried, not failed with SMTPC_ETLS). */
        static uint8_t out[40000], in[40000];
        for (size_t i = 0; i < sizeof out; i++)
            out[i] = (uint8_t)(i * 7 + 3);
        size_t sent = 0, got = 0;
        /* With TLS 1.3 a server's refusal may only show here: the caller
         * gets it like a handshake failure. */
        o.rc = smtpc_transport_send(t, out, sizeof out, 5000, &sent);
        if (o.rc == 0)
            assert_int_equal(sent, sizeof out);
        while (o.rc == 0 && got < sizeof in) {
            size_t n = 0;
            o.rc = smtpc_transport_recv(t, in + got, sizeof in - got, 5000, &n);
            got += n;
        }
        if (o.rc == 0)
            assert_memory_equal(in, out, sizeof out);
        else
            snprintf(o.msg, sizeof o.msg, "%s", smtpc_error_message(smtpc_transport_error(t)));
    } else {
        assert_null(t);
        assert_true(o.msg[0] != '\0');
    }
    smtpc_transport_free(t);
    if (use_callbacks && o.rc != 0)
        assert_int_equal(cs.closed, 1); /* inner was freed on failure too */
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
    server_stop(&srv);
    return o;
}

/* A TLS transport (default allocator) over a socket to srv, started here
 * with the echo script for cert_name; the handshake must succeed. */
static smtpc_transport *echo_tls(const smtpc_tls_config *cfg, const char *cert_name, server *srv)
{
    char script[256], msg[256];
    snprintf(script, sizeof script, echo_script_fmt, cert_name);
    server_start(srv, script);
    smtpc_transport *t = NULL;
    assert_int_equal(tls_connect(NULL, socket_transport(NULL, srv->port), cfg,
                                             "localhost", HS_TIMEOUT_MS, &t, msg, sizeof msg),
                     0);
    return t;
}

static outcome run_cert(const smtpc_tls_config *cfg, const char *cert_name, const char *name,
                        int use_callbacks)
{
    char script[256];
    snprintf(script, sizeof script, echo_script_fmt, cert_name);
    return run_tls(cfg, script, name, use_callbacks, HS_TIMEOUT_MS);
}

/* --- tests: good certificates --- */

static void valid_over_socket(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    outcome o = run_cert(cfg, "server", "localhost", 0);
    assert_int_equal(o.rc, 0);
    smtpc_tls_config_free(cfg);
}

static void valid_over_callbacks(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    outcome o = run_cert(cfg, "server", "localhost", 1);
    assert_int_equal(o.rc, 0);
    smtpc_tls_config_free(cfg);
}

static void valid_ip_literals(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    assert_int_equal(run_cert(cfg, "server", "127.0.0.1", 0).rc, 0);
    /* The certificate also names ::1; the name checked need not be the
     * address dialled. */
    assert_int_equal(run_cert(cfg, "server", "[::1]", 0).rc, 0);
    smtpc_tls_config_free(cfg);
}

/* --- tests: bad certificates, each with its reason --- */

static void expect_verify_failure(const char *cert, const char *name, const char *reason)
{
    smtpc_tls_config *cfg = test_config(NULL);
    for (int cb = 0; cb <= 1; cb++) {
        outcome o = run_cert(cfg, cert, name, cb);
        assert_int_equal(o.rc, SMTPC_ETLS_VERIFY);
        if (!strstr(o.msg, reason))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cert, o.msg, reason);
    }
    smtpc_tls_config_free(cfg);
}

static void wrong_host(void **state)
{
    (void)state;
    expect_verify_failure("wronghost", "localhost", "host-name mismatch");
}

static void wrong_ip(void **state)
{
    (void)state;
    /* A DNS-only certificate never matches an IP literal... */
    expect_verify_failure("wronghost", "127.0.0.1", "host-name mismatch");
    /* ...and an IP SAN matches only its own address. */
    expect_verify_failure("server", "127.0.0.2", "host-name mismatch");
}

static void expired(void **state)
{
    (void)state;
    expect_verify_failure("expired", "localhost", "expired");
}

static void not_yet_valid(void **state)
{
    (void)state;
    expect_verify_failure("notyet", "localhost", "not yet valid");
}

static void self_signed(void **state)
{
    (void)state;
    expect_verify_failure("selfsigned", "localhost", "untrusted");
}

static void default_store_rejects_test_ca(void **state)
{
    (void)state;
    /* The system bundle does not know the test CA. */
    smtpc_tls_config *cfg = NULL;
    assert_int_equal(smtpc_tls_config_new(NULL, &cfg), 0);
    outcome o = run_cert(cfg, "server", "localhost", 0);
    assert_int_equal(o.rc, SMTPC_ETLS_VERIFY);
    smtpc_tls_config_free(cfg);
}

static void verify_none_accepts_self_signed(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    assert_int_equal(smtpc_tls_config_verify_mode(cfg), SMTPC_TLS_VERIFY_REQUIRED);
    assert_int_equal(smtpc_tls_config_set_verify(cfg, SMTPC_TLS_VERIFY_NONE), 0);
    assert_int_equal(smtpc_tls_config_verify_mode(cfg), SMTPC_TLS_VERIFY_NONE);
    assert_int_equal(run_cert(cfg, "selfsigned", "localhost", 0).rc, 0);
    assert_int_equal(run_cert(cfg, "expired", "wrong.example", 1).rc, 0);
    smtpc_tls_config_free(cfg);
}

static void info_reports_verification(void **state)
{
    (void)state;
    char info[256];
    smtpc_tls_config *cfg = test_config(NULL);
    assert_int_equal(smtpc_tls_config_set_verify(cfg, SMTPC_TLS_VERIFY_NONE), 0);
    server srv;
    smtpc_transport *t = echo_tls(cfg, "selfsigned", &srv);
    assert_int_equal(smtpc_transport_tls_info(t, info, sizeof info), 0);
    assert_non_null(strstr(info, "NOT verified"));
    assert_non_null(strstr(info, "untrusted"));
    /* mbedTLS 3.6: TLS 1.3 where the library has it, else 1.2. */
    if (!strstr(info, EXPECTED_VERSION))
        fail_msg("expected %s: %s", EXPECTED_VERSION, info);
    /* Not a TLS transport: refused. */
    smtpc_transport *plain = socket_transport(NULL, srv.port);
    assert_int_equal(smtpc_transport_tls_info(plain, info, sizeof info), SMTPC_EINVAL);
    smtpc_transport_free(plain);
    smtpc_transport_free(t);
    server_stop(&srv);

    /* A TLS 1.3 minimum: refused where the library lacks 1.3, else used. */
    int rc = smtpc_tls_config_set_min_version(cfg, SMTPC_TLS_VERSION_1_3);
    assert_int_equal(rc, HAVE_TLS13 ? 0 : SMTPC_ENOTSUP);
    if (rc == 0) {
        t = echo_tls(cfg, "selfsigned", &srv);
        assert_int_equal(smtpc_transport_tls_info(t, info, sizeof info), 0);
        assert_non_null(strstr(info, "TLSv1.3"));
        smtpc_transport_free(t);
        server_stop(&srv);
    }
    smtpc_tls_config_free(cfg);
}

/* --- tests: pins --- */

static void pin_match_and_mismatch(void **state)
{
    (void)state;
    char hex[80];
    smtpc_tls_config *cfg = test_config(NULL);

    read_pin("server", hex, sizeof hex);
    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(cfg, hex), 0);
    assert_int_equal(run_cert(cfg, "server", "localhost", 0).rc, 0);

    read_pin("other", hex, sizeof hex);
    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(cfg, hex), 0);
    outcome o = run_cert(cfg, "server", "localhost", 1);
    assert_int_equal(o.rc, SMTPC_ETLS_PIN);
    assert_non_null(strstr(o.msg, "pin"));

    /* Pin-only trust: verification off, the pin still decides. */
    assert_int_equal(smtpc_tls_config_set_verify(cfg, SMTPC_TLS_VERIFY_NONE), 0);
    assert_int_equal(run_cert(cfg, "selfsigned", "localhost", 0).rc, SMTPC_ETLS_PIN);
    read_pin("selfsigned", hex, sizeof hex);
    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(cfg, hex), 0);
    assert_int_equal(run_cert(cfg, "selfsigned", "localhost", 0).rc, 0);

    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(cfg, NULL), 0);
    smtpc_tls_config_free(cfg);
}

/* --- tests: client certificates --- */

static const char client_auth_script[] =
    "[{\"tls\": {\"cert\": \"server\", \"client_ca\": \"ca\"}}, {\"echo\": null}]";

static void client_cert_from_files(void **state)
{
    (void)state;
    char crt[300], key[300];
    smtpc_tls_config *cfg = test_config(NULL);
    cert_path(crt, sizeof crt, "client", "pem");
    cert_path(key, sizeof key, "client", "key");
    assert_int_equal(smtpc_tls_config_set_client_cert_file(cfg, crt, key, NULL), 0);
    assert_int_equal(run_tls(cfg, client_auth_script, "localhost", 0, HS_TIMEOUT_MS).rc, 0);
    smtpc_tls_config_free(cfg);
}

static void client_cert_from_memory(void **state)
{
    (void)state;
    char path[300];
    static char crt[8192], key[8192];
    size_t crt_len, key_len;
    smtpc_tls_config *cfg = test_config(NULL);
    const char *data;
    cert_path(path, sizeof path, "client", "pem");
    data = read_file(path, &crt_len);
    memcpy(crt, data, crt_len);
    cert_path(path, sizeof path, "client", "key");
    data = read_file(path, &key_len);
    memcpy(key, data, key_len);
    assert_int_equal(smtpc_tls_config_set_client_cert_mem(cfg, (const uint8_t *)crt, crt_len,
                                                          (const uint8_t *)key, key_len, NULL),
                     0);
    assert_int_equal(run_tls(cfg, client_auth_script, "localhost", 1, HS_TIMEOUT_MS).rc, 0);
    smtpc_tls_config_free(cfg);
}

/* Handshake, then read the server's greeting, as implicit TLS does. A
 * failure of either is returned; after_handshake says which. */
typedef struct {
    outcome o;
    int after_handshake;
} greeted;

static greeted run_greeted(const smtpc_tls_config *cfg, const char *script)
{
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_allocator a = heap.hook;
    server srv;
    greeted g;
    memset(&g, 0, sizeof g);
    server_start(&srv, script);
    smtpc_transport *t = NULL;
    g.o.rc = tls_connect(&a, socket_transport(&a, srv.port), cfg, "localhost", HS_TIMEOUT_MS,
                         &t, g.o.msg, sizeof g.o.msg);
    if (g.o.rc == 0) {
        char line[64];
        size_t got = 0;
        g.after_handshake = 1;
        g.o.rc = smtpc_transport_recv(t, (uint8_t *)line, sizeof line - 1, 5000, &got);
        if (g.o.rc != 0)
            snprintf(g.o.msg, sizeof g.o.msg, "%s", smtpc_error_message(smtpc_transport_error(t)));
        else
            assert_memory_equal(line, "220 ", 4);
    }
    smtpc_transport_free(t);
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
    server_stop(&srv);
    return g;
}

static const char client_auth_greeting[] =
    "[{\"tls\": {\"cert\": \"server\", \"client_ca\": \"ca\"}}, {\"send\": \"220 hi\\r\\n\"}, "
    "{\"echo\": null}]";

/* The refusal shows in the handshake with TLS 1.2. With TLS 1.3 the server
 * answers our certificate after our Finished: on the first read, or, when
 * it hangs up while we still write our last flight, already in
 * smtpc_transport_handshake. The code and the reason are the same. */
static void expect_client_cert_refused(const greeted *g, const char *text)
{
    if (g->o.rc != SMTPC_ETLS_HANDSHAKE || !strstr(g->o.msg, text))
        fail_msg("expected SMTPC_ETLS_HANDSHAKE and \"%s\", got %d: %s", text, g->o.rc,
                 g->o.msg);
    if (!HAVE_TLS13)
        assert_int_equal(g->after_handshake, 0);
    assert_non_null(strstr(g->o.msg, "localhost"));
}

static void client_cert_missing(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    /* review finding (mbedTLS 3.6): with TLS 1.3 the server's refusal is a
     * post-handshake alert that came out as a generic SMTPC_ETLS; it is
     * the same handshake failure as with TLS 1.2, and says why. */
    greeted g = run_greeted(cfg, client_auth_greeting);
    expect_client_cert_refused(&g, "requires a client certificate");
    /* The same with the server talking first or not. */
    outcome o = run_tls(cfg, client_auth_script, "localhost", 0, HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ETLS_HANDSHAKE);
    smtpc_tls_config_free(cfg);
}

static void client_cert_rejected(void **state)
{
    (void)state;
    char crt[300], key[300];
    smtpc_tls_config *cfg = test_config(NULL);
    /* review finding (mbedTLS 3.6): a certificate the server does not
     * trust is refused with the same code on TLS 1.2 and 1.3. */
    cert_path(crt, sizeof crt, "other", "pem");
    cert_path(key, sizeof key, "other", "key");
    assert_int_equal(smtpc_tls_config_set_client_cert_file(cfg, crt, key, NULL), 0);
    greeted g = run_greeted(cfg, client_auth_greeting);
    expect_client_cert_refused(&g, "rejected our client certificate");
    /* The trusted one passes the same server. */
    cert_path(crt, sizeof crt, "client", "pem");
    cert_path(key, sizeof key, "client", "key");
    assert_int_equal(smtpc_tls_config_set_client_cert_file(cfg, crt, key, NULL), 0);
    g = run_greeted(cfg, client_auth_greeting);
    assert_int_equal(g.o.rc, 0);
    smtpc_tls_config_free(cfg);
}

/* --- tests: broken servers --- */

/* review finding (mbedTLS 3.6 consolidation): a server's fatal alert is
 * named in the message, on either mbedTLS; before, only mbedTLS's "A fatal
 * alert message was received from our peer" said anything. */
static void handshake_alert_named(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    /* A plaintext fatal alert in answer to the ClientHello. */
    outcome o = run_tls(cfg,
                        "[{\"read_bytes\": 1}, {\"send_hex\": \"15030300020228\"}, "
                        "{\"sleep\": 1}]",
                        "localhost", 0, HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ETLS_HANDSHAKE);
    if (!strstr(o.msg, "alert handshake_failure (40)") || !strstr(o.msg, "localhost") ||
        strstr(o.msg, "client certificate"))
        fail_msg("alert not named: %s", o.msg);
    o = run_tls(cfg,
                "[{\"read_bytes\": 1}, {\"send_hex\": \"15030300020246\"}, {\"sleep\": 1}]",
                "localhost", 1, HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ETLS_HANDSHAKE);
    if (!strstr(o.msg, "alert protocol_version (70)"))
        fail_msg("alert not named: %s", o.msg);
    smtpc_tls_config_free(cfg);
}

/* Feed data to a fresh watch in pieces of step bytes. */
static smtpc_tls_watch watch_bytes(const uint8_t *data, size_t len, size_t step)
{
    smtpc_tls_watch w;
    smtpc_tls_watch_init(&w);
    for (size_t i = 0; i < len; i += step)
        smtpc_tls_watch_feed(&w, data + i, len - i < step ? len - i : step);
    return w;
}

/* The handshake watch behind the alert and client-certificate messages:
 * records split anywhere, messages spanning records, and nothing read past
 * the first encrypted record. */
static void record_watch(void **state)
{
    (void)state;
    static const uint8_t flight[] = {
        /* ServerHello (body cut short: the watch only counts) and the start
         * of a CertificateRequest, split across two records */
        0x16, 0x03, 0x03, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x02, 0xaa, 0xbb,
        0x0d, 0x00, 0x00, 0x03,
        0x16, 0x03, 0x03, 0x00, 0x07, 0x01, 0x02, 0x03,
        /* ServerHelloDone, empty */
        0x0e, 0x00, 0x00, 0x00,
        /* a warning alert (not fatal), then a fatal bad_certificate */
        0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00,
        0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2a,
    };
    for (size_t step = 1; step <= sizeof flight; step++) {
        smtpc_tls_watch w = watch_bytes(flight, sizeof flight, step);
        assert_int_equal(w.cert_requested, 1);
        assert_int_equal(w.alert_desc, 42);
        assert_int_equal(w.stopped, 0);
    }
    /* A handshake type 13 inside a message body is not a message. */
    static const uint8_t inside[] = {0x16, 0x03, 0x03, 0x00, 0x06, 0x02, 0x00,
                                     0x00, 0x02, 0x0d, 0x0d};
    assert_int_equal(watch_bytes(inside, sizeof inside, 1).cert_requested, 0);
    /* After ChangeCipherSpec everything is encrypted: a two-byte "alert"
     * there is not read. */
    static const uint8_t after_ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01,
                                        0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    smtpc_tls_watch w = watch_bytes(after_ccs, sizeof after_ccs, 3);
    assert_int_equal(w.stopped, 1);
    assert_int_equal(w.alert_desc, -1);
    /* Plaintext SMTP is no record at all. */
    w = watch_bytes((const uint8_t *)"220 hi\r\n", 8, 8);
    assert_int_equal(w.stopped, 1);
    assert_int_equal(w.cert_requested, 0);

    assert_string_equal(smtpc_tls_alert_name(116), "certificate_required");
    assert_null(smtpc_tls_alert_name(255));
    assert_int_equal(smtpc_tls_alert_about_client_cert(48), 1);
    assert_int_equal(smtpc_tls_alert_about_client_cert(70), 0);
}

static void handshake_garbage(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    for (int cb = 0; cb <= 1; cb++) {
        outcome o = run_tls(cfg,
                            "[{\"read_bytes\": 1}, {\"send\": \"HTTP/1.0 400 Bad Request\\r\\n"
                            "\\r\\n\"}, {\"sleep\": 1}]",
                            "localhost", cb, HS_TIMEOUT_MS);
        assert_int_equal(o.rc, SMTPC_ETLS_HANDSHAKE);
        assert_non_null(strstr(o.msg, "localhost"));
        /* Review finding #14: plaintext instead of TLS is named as such,
         * with what arrived, instead of mbedTLS's record-layer text. */
        if (!strstr(o.msg, "did not answer with TLS") ||
            !strstr(o.msg, "plaintext \"HTTP/1.0 400 Bad Request\"") ||
            !strstr(o.msg, "SMTPC_SECURITY_STARTTLS"))
            fail_msg("no plaintext hint: %s", o.msg);
    }
    smtpc_tls_config_free(cfg);
}

/* Review finding #14: an SMTP greeting where the ServerHello should be (a
 * plaintext or STARTTLS port dialled with implicit TLS) gets the hint, long
 * lines cut; binary garbage does not. */
static void plaintext_greeting_hint(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    outcome o = run_tls(cfg,
                        "[{\"send\": \"220 mx.example.org ESMTP Postfix (Debian/GNU) ready "
                        "for a long while\\r\\n\"}, {\"sleep\": 1}]",
                        "localhost", 0, HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ETLS_HANDSHAKE);
    if (!strstr(o.msg, "did not answer with TLS") || !strstr(o.msg, "\"220 mx.example.org") ||
        !strstr(o.msg, "...\"") || !strstr(o.msg, "STARTTLS or plaintext port"))
        fail_msg("no plaintext hint: %s", o.msg);
    o = run_tls(cfg, "[{\"read_bytes\": 1}, {\"send_hex\": \"ff00fe01fd02fc03\"}, {\"sleep\": 1}]",
                "localhost", 1, HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ETLS_HANDSHAKE);
    if (strstr(o.msg, "plaintext"))
        fail_msg("binary garbage called plaintext: %s", o.msg);
    smtpc_tls_config_free(cfg);
}

/* Review finding #18: these two tests timed from before the scripted server
 * had started, so a slow Python start on a busy machine failed them. They
 * now time the handshake call alone, and the server's own delays are far
 * longer than the bounds, so the bound separates "deadline enforced" from
 * "waited for the server" by a wide margin whatever the load. */
static void silent_server_times_out(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    for (int cb = 0; cb <= 1; cb++) {
        outcome o = run_tls(cfg, "[{\"sleep\": 15}]", "localhost", cb, 500);
        assert_int_equal(o.rc, SMTPC_ETIMEDOUT);
        assert_non_null(strstr(o.msg, "timed out"));
        /* Bounded by the 0.5 s handshake timeout, not the server's 15 s. */
        assert_true(o.handshake_ms < 10000);
    }
    smtpc_tls_config_free(cfg);
}

static void trickling_server_bounded_overall(void **state)
{
    (void)state;
    /* Bytes arriving slowly must not reset the handshake deadline: a record
     * header announcing 256 bytes, then one body byte every 0.3 s for about
     * 12 s. Were the 0.7 s deadline reset per byte, the handshake would last
     * until the trickle ends. */
    char script[2048];
    size_t n = (size_t)snprintf(script, sizeof script,
                                "[{\"read_bytes\": 1}, {\"send_hex\": \"1603030100\"}");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(script + n, sizeof script - n,
                              ", {\"sleep\": 0.3}, {\"send_hex\": \"00\"}");
    snprintf(script + n, sizeof script - n, ", {\"sleep\": 3}]");
    smtpc_tls_config *cfg = test_config(NULL);
    outcome o = run_tls(cfg, script, "localhost", 0, 700);
    assert_int_equal(o.rc, SMTPC_ETIMEDOUT);
    assert_true(o.handshake_ms < 8000);
    smtpc_tls_config_free(cfg);
}

static void server_closes(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    outcome o = run_tls(cfg, "[{\"read_bytes\": 1}, {\"close\": null}]", "localhost", 0,
                        HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ECLOSED);
    smtpc_tls_config_free(cfg);
}

static void read_timeout_is_recoverable(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    server srv;
    smtpc_transport *t = echo_tls(cfg, "server", &srv);
    uint8_t buf[64];
    size_t n = 0;
    long long t0 = now_ms();
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 200, &n), SMTPC_ETIMEDOUT);
    assert_true(now_ms() - t0 >= 150);
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"ping", 4, 1000, &n), 0);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 2000, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    smtpc_transport_free(t);
    server_stop(&srv);
    smtpc_tls_config_free(cfg);
}

/* --- tests: the client over a transport of the user's --- */

/* Implicit TLS, then a lenient SMTP server; or STARTTLS first. The server's
 * certificate is valid for "localhost" (and 127.0.0.1, ::1). */
static const char implicit_smtp_script[] =
    "[{\"tls\": {\"cert\": \"server\"}}, {\"send\": \"220 scripted ESMTP\\r\\n\"},"
    " {\"smtp\": null}]";
static const char starttls_smtp_script[] =
    "[{\"send\": \"220 scripted ESMTP\\r\\n\"}, {\"expect\": \"EHLO\"},"
    " {\"send\": \"250-scripted\\r\\n250 STARTTLS\\r\\n\"}, {\"expect\": \"STARTTLS\"},"
    " {\"send\": \"220 go ahead\\r\\n\"}, {\"tls\": {\"cert\": \"server\"}}, {\"smtp\": null}]";

/* Connect a client over a callback transport to a fresh server; host NULL
 * leaves the server name unset. Returns connect's code; the client's
 * message is copied to msg. */
static int client_over_callbacks(const smtpc_tls_config *cfg, int security, const char *host,
                                 char *msg, size_t cap)
{
    server srv;
    cb_sock cs;
    server_start(&srv, security == SMTPC_SECURITY_IMPLICIT_TLS ? implicit_smtp_script
                                                               : starttls_smtp_script);
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(NULL, &c), 0);
    assert_non_null(c);
    assert_int_equal(smtpc_client_set_security(c, security), 0);
    assert_int_equal(smtpc_client_set_tls_config(c, cfg), 0);
    if (host)
        assert_int_equal(smtpc_client_set_server(c, host, NULL), 0);
    for (int stage = 0; stage < SMTPC_TIMEOUT_COUNT; stage++)
        smtpc_client_set_timeout(c, stage, HS_TIMEOUT_MS);
    assert_int_equal(smtpc_client_set_transport(c, callback_transport(NULL, &cs, srv.port)), 0);
    int rc = smtpc_client_connect(c);
    snprintf(msg, cap, "%s", smtpc_error_message(smtpc_client_error(c)));
    if (rc == 0) {
        assert_int_equal(smtpc_engine_is_encrypted(smtpc_client_engine(c)), 1);
        assert_int_equal(smtpc_client_quit(c), 0);
    } else {
        assert_int_equal(smtpc_client_connected(c), 0);
    }
    smtpc_client_free(c);
    assert_int_equal(cs.closed, 1);
    server_stop(&srv);
    return rc;
}

/* Review finding #7: with a transport of the user's and no server name,
 * the client verified the certificate against an invented "localhost"
 * (and so accepted this server's). Now it refuses, saying how to give the
 * name; with the host name, or a verification name, it works. */
static void client_custom_transport_needs_name(void **state)
{
    (void)state;
    static const int securities[] = {SMTPC_SECURITY_IMPLICIT_TLS, SMTPC_SECURITY_STARTTLS};
    char msg[512];
    smtpc_tls_config *cfg = test_config(NULL);
    for (size_t i = 0; i < 2; i++) {
        int rc = client_over_callbacks(cfg, securities[i], NULL, msg, sizeof msg);
        if (rc != SMTPC_ETLS_VERIFY)
            fail_msg("security %d without a name: got %d (%s)", securities[i], rc, msg);
        if (!strstr(msg, "smtpc_client_set_server") ||
            !strstr(msg, "smtpc_tls_config_set_server_name"))
            fail_msg("unclear message: %s", msg);
        /* The host name set for a custom transport is the name verified. */
        rc = client_over_callbacks(cfg, securities[i], "localhost", msg, sizeof msg);
        if (rc != 0)
            fail_msg("security %d with host localhost: %d (%s)", securities[i], rc, msg);
        rc = client_over_callbacks(cfg, securities[i], "wrong.example", msg, sizeof msg);
        assert_int_equal(rc, SMTPC_ETLS_VERIFY);
        assert_non_null(strstr(msg, "host-name mismatch"));
        /* An explicit verification name: enough without a host, and it
         * wins over the host name. */
        assert_int_equal(smtpc_tls_config_set_server_name(cfg, "localhost"), 0);
        rc = client_over_callbacks(cfg, securities[i], NULL, msg, sizeof msg);
        if (rc != 0)
            fail_msg("security %d with a verification name: %d (%s)", securities[i], rc, msg);
        assert_int_equal(client_over_callbacks(cfg, securities[i], "wrong.example", msg,
                                               sizeof msg),
                         0);
        assert_int_equal(smtpc_tls_config_set_server_name(cfg, "wrong.example"), 0);
        rc = client_over_callbacks(cfg, securities[i], "localhost", msg, sizeof msg);
        assert_int_equal(rc, SMTPC_ETLS_VERIFY);
        assert_non_null(strstr(msg, "not valid for wrong.example"));
        assert_int_equal(smtpc_tls_config_set_server_name(cfg, NULL), 0);
    }
    smtpc_tls_config_free(cfg);
}

/* Review finding #7, at the transport: no name and verification on is
 * refused before a byte is sent (inner freed, nothing leaked); the
 * configuration's name fills in; verification off needs no name. */
static void transport_without_name(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    for (int cb = 0; cb <= 1; cb++) {
        outcome o = run_cert(cfg, "server", NULL, cb);
        assert_int_equal(o.rc, SMTPC_ETLS_VERIFY);
        assert_non_null(strstr(o.msg, "smtpc_tls_config_set_server_name"));
    }
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "localhost"), 0);
    assert_int_equal(run_cert(cfg, "server", NULL, 1).rc, 0);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "[::1]"), 0);
    assert_int_equal(run_cert(cfg, "server", NULL, 0).rc, 0);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, NULL), 0);
    assert_int_equal(smtpc_tls_config_set_verify(cfg, SMTPC_TLS_VERIFY_NONE), 0);
    assert_int_equal(run_cert(cfg, "selfsigned", NULL, 0).rc, 0);
    smtpc_tls_config_free(cfg);
}

/* --- tests: configuration --- */

static int entropy_calls;
static int test_entropy(void *user, uint8_t *buf, size_t len, size_t *olen)
{
    (void)user;
    entropy_calls++;
    /* Not random at all: only shows the hook is used (mbedTLS's own
     * sources are mixed in as well). */
    memset(buf, 0x5a, len);
    *olen = len;
    return 0;
}

/* The hook feeds the configuration's generator, which is seeded at the
 * first handshake only (issue 10: seeding cost about 160 us per
 * connection); setting the hook again mixes it in at the next one. */
static void entropy_hook_used(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    assert_int_equal(smtpc_tls_config_set_entropy(cfg, test_entropy, NULL), 0);
    entropy_calls = 0;
    assert_int_equal(run_cert(cfg, "server", "localhost", 0).rc, 0);
    assert_true(entropy_calls > 0);
    entropy_calls = 0;
    assert_int_equal(run_cert(cfg, "server", "localhost", 0).rc, 0);
    assert_int_equal(entropy_calls, 0);
    assert_int_equal(smtpc_tls_config_set_entropy(cfg, test_entropy, NULL), 0);
    assert_int_equal(run_cert(cfg, "server", "localhost", 0).rc, 0);
    assert_true(entropy_calls > 0);
    smtpc_tls_config_free(cfg);
}

static void config_arguments(void **state)
{
    (void)state;
    /* Every run ends with nothing outstanding. */
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_allocator a = heap.hook;
    smtpc_tls_config *cfg = NULL;
    char path[300];

    assert_int_equal(smtpc_tls_config_new(&a, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_new(&a, &cfg), 0);
    smtpc_tls_config_free(NULL);
    assert_int_equal(smtpc_tls_config_verify_mode(NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_verify(cfg, 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_verify_mode(cfg), SMTPC_TLS_VERIFY_REQUIRED);
    assert_int_equal(smtpc_tls_config_set_min_version(cfg, 0x0302), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_min_version(cfg, SMTPC_TLS_VERSION_1_2), 0);

    /* pins */
    uint8_t pin[32] = {1};
    assert_int_equal(smtpc_tls_config_set_pin_sha256(cfg, pin, 31), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_pin_sha256(cfg, pin, 32), 0);
    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(cfg, "abc"), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(
                         cfg, "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFG"),
                     SMTPC_EINVAL);
    assert_int_equal(
        smtpc_tls_config_set_pin_sha256_hex(
            cfg, "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:"
                 "99:aa:bb:cc:dd:ee:ff"),
        0);
    assert_int_equal(smtpc_tls_config_set_pin_sha256_hex(
                         cfg, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00"),
                     SMTPC_EINVAL);

    /* trust anchors */
    assert_int_equal(smtpc_tls_config_add_ca_file(cfg, "/nonexistent/ca.pem"), SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_tls_config_error(cfg)), "/nonexistent/ca.pem"));
    /* API consolidation: the record carries the code, not only the text. */
    assert_int_equal(smtpc_error_code(smtpc_tls_config_error(cfg)), SMTPC_EFILE);
    assert_int_equal(smtpc_tls_config_add_ca_mem(cfg, (const uint8_t *)"junk", 4), SMTPC_ETLS);
    assert_int_equal(smtpc_error_code(smtpc_tls_config_error(cfg)), SMTPC_ETLS);
    assert_non_null(strstr(smtpc_error_message(smtpc_tls_config_error(cfg)), "from memory"));
    assert_int_equal(smtpc_tls_config_add_ca_mem(cfg, NULL, 4), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_tls_config_error(cfg)), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_verify(cfg, 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_tls_config_error(cfg)), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_min_version(cfg, 0x0301), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_tls_config_error(cfg)), SMTPC_EINVAL);
    assert_null(smtpc_tls_config_error(NULL));
    cert_path(path, sizeof path, "ca", "pem");
    size_t len;
    const char *pem = read_file(path, &len);
    /* PEM without its NUL, as read from a file. */
    assert_int_equal(smtpc_tls_config_add_ca_mem(cfg, (const uint8_t *)pem, len), 0);
    assert_int_equal(smtpc_tls_config_add_ca_dir(cfg, certs_dir), 0);
    assert_int_equal(smtpc_tls_config_add_ca_dir(cfg, "/nonexistent"), SMTPC_EFILE);

    /* client certificates */
    char crt[300], key[300];
    cert_path(crt, sizeof crt, "client", "pem");
    cert_path(key, sizeof key, "other", "key");
    assert_int_equal(smtpc_tls_config_set_client_cert_file(cfg, crt, key, NULL), SMTPC_ETLS);
    assert_non_null(strstr(smtpc_error_message(smtpc_tls_config_error(cfg)), "does not match"));
    assert_int_equal(smtpc_tls_config_set_client_cert_file(cfg, crt, "/nonexistent", NULL),
                     SMTPC_EFILE);
    assert_int_equal(smtpc_tls_config_set_client_cert_file(cfg, NULL, key, NULL), SMTPC_EINVAL);

    /* verification names: copied (through the hook), replaced, cleared */
    assert_int_equal(smtpc_tls_config_set_server_name(NULL, "x"), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, ""), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "mail example.org"), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "mail\r\n.org"), SMTPC_EINVAL);
    assert_non_null(strstr(smtpc_error_message(smtpc_tls_config_error(cfg)), "server name"));
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, long_name), SMTPC_EINVAL);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "mail.example.org"), 0);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "[2001:db8::1]"), 0);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, NULL), 0);
    assert_int_equal(smtpc_tls_config_set_server_name(cfg, "left.example.org"), 0);
    smtpc_tls_config_free(cfg);
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
}

static void ca_from_memory_used(void **state)
{
    (void)state;
    char path[300];
    smtpc_tls_config *cfg = NULL;
    assert_int_equal(smtpc_tls_config_new(NULL, &cfg), 0);
    cert_path(path, sizeof path, "ca", "pem");
    size_t len;
    const char *pem = read_file(path, &len);
    assert_int_equal(smtpc_tls_config_add_ca_mem(cfg, (const uint8_t *)pem, len), 0);
    assert_int_equal(run_cert(cfg, "server", "localhost", 0).rc, 0);
    smtpc_tls_config_free(cfg);
}

static void new_tls_arguments(void **state)
{
    (void)state;
    /* Every run ends with nothing outstanding. */
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_allocator a = heap.hook;
    cb_sock cs = {.fd = -1, .closed = 0};
    smtpc_tls_config *cfg = test_config(NULL);
    smtpc_transport *t = (smtpc_transport *)&cs; /* must be reset to NULL */
    smtpc_transport *inner = NULL;

    /* inner is consumed even when the arguments are wrong. */
    assert_int_equal(smtpc_transport_new_callbacks(&a, cb_send, cb_recv, cb_close, &cs, &inner),
                     0);
    assert_int_equal(smtpc_transport_new_tls(&a, inner, cfg, "", &t), SMTPC_EINVAL);
    assert_null(t);
    assert_int_equal(cs.closed, 1);
    assert_int_equal(smtpc_transport_new_tls(&a, NULL, cfg, "x", &t), SMTPC_EINVAL);

    /* Creating does no I/O; send and recv wait for the handshake, which
     * is tried once: after a failure the transport only reports it. */
    cs.closed = 0;
    assert_int_equal(smtpc_transport_new_callbacks(&a, cb_send, cb_recv, cb_close, &cs, &inner),
                     0);
    assert_int_equal(smtpc_transport_new_tls(&a, inner, cfg, "localhost", &t), 0);
    uint8_t b[4];
    size_t n = 0;
    assert_int_equal(smtpc_transport_send(t, b, 1, 0, &n), SMTPC_ESTATE);
    assert_int_equal(smtpc_transport_recv(t, b, sizeof b, 0, &n), SMTPC_ESTATE);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), SMTPC_ESTATE);
    assert_int_equal(smtpc_transport_connect(t, "127.0.0.1", "25", 100), SMTPC_EINVAL);
    /* cs.fd is -1: the inner transport fails at once. */
    int rc = smtpc_transport_handshake(t, 50);
    assert_true(rc != 0);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), rc);
    assert_int_equal(smtpc_transport_handshake(t, 1000), SMTPC_ESTATE);
    assert_non_null(strstr(smtpc_error_message(smtpc_transport_error(t)), "earlier handshake"));
    assert_int_equal(smtpc_transport_send(t, b, 1, 0, &n), SMTPC_ESTATE);
    smtpc_transport_free(t);
    assert_int_equal(cs.closed, 1);
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
    smtpc_tls_config_free(cfg);
}

/* --- IP literal recognition --- */

static void ip_literals(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int len;
        uint8_t bytes[16];
    } cases[] = {
        {"127.0.0.1", 4, {127, 0, 0, 1}},
        {"0.0.0.0", 4, {0}},
        {"255.255.255.255", 4, {255, 255, 255, 255}},
        {"256.0.0.1", 0, {0}},
        {"1.2.3", 0, {0}},
        {"1.2.3.4.5", 0, {0}},
        {"01.2.3.4", 0, {0}},
        {"1.2.3.4 ", 0, {0}},
        {"localhost", 0, {0}},
        {"mail.example.com", 0, {0}},
        {"1e100.net", 0, {0}},
        {"", 0, {0}},
        {"::1", 16, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
        {"[::1]", 16, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
        {"::", 16, {0}},
        {"2001:db8::8:800:200c:417a", 16,
         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0x20, 0x0c, 0x41, 0x7a}},
        {"1:2:3:4:5:6:7:8", 16, {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}},
        {"1::", 16, {0, 1}},
        {"::ffff:192.0.2.1", 16, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}},
        {"1:2:3:4:5:6:7:8:9", 0, {0}},
        {"1:2:3:4:5:6:7", 0, {0}},
        {"1::2::3", 0, {0}},
        {":1", 0, {0}},
        {"1:", 0, {0}},
        {"1:::2", 0, {0}},
        {"12345::", 0, {0}},
        {"1:2:3:4:5:6:7::8", 0, {0}},
        {"fe80::1%eth0", 0, {0}},
        {"[127.0.0.1", 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[16];
        memset(out, 0xee, sizeof out);
        int got = smtpc_tls_parse_ip(cases[i].in, out);
        if (got != cases[i].len)
            fail_msg("\"%s\": got %d, want %d", cases[i].in, got, cases[i].len);
        if (got)
            assert_memory_equal(out, cases[i].bytes, (size_t)got);
    }
    uint8_t out[16];
    assert_int_equal(smtpc_tls_parse_ip(NULL, out), 0);
}

/* --- tests: non-blocking use (issue 11) --- */

/* poll() for what the transport asks; the server is local, so a wait of
 * seconds means a hang, not a slow machine. */
static void wait_for(int fd, int events)
{
    assert_true(events == SMTPC_POLL_READ || events == SMTPC_POLL_WRITE ||
                events == (SMTPC_POLL_READ | SMTPC_POLL_WRITE));
    struct pollfd p = {.fd = fd, .events = 0, .revents = 0};
    if (events & SMTPC_POLL_READ)
        p.events |= POLLIN;
    if (events & SMTPC_POLL_WRITE)
        p.events |= POLLOUT;
    if (poll(&p, 1, 20000) != 1)
        fail_msg("nothing happened on fd %d in 20 s (events %d)", fd, events);
}

/* A socket transport connected without waiting (connect_start/_step). */
static smtpc_transport *socket_transport_nb(const smtpc_allocator *a, const char *port)
{
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_socket(a, &t), 0);
    int rc = smtpc_transport_connect_start(t, "127.0.0.1", port, 5000);
    while (rc == SMTPC_INPROGRESS) {
        wait_for(smtpc_transport_fd(t), smtpc_transport_events(t));
        rc = smtpc_transport_connect_step(t);
    }
    if (rc != 0)
        fail_msg("socket: %s", smtpc_error_message(smtpc_transport_error(t)));
    return t;
}

/* smtpc_transport_handshake(t, 0) until it ends, polling fd for the events
 * it asks for. Returns its code. (Whether the first try returns
 * SMTPC_INPROGRESS depends on how fast the server answers: a try goes on
 * while bytes move; nonblocking_then_blocking_handshake pins it.) */
static int handshake_nb(smtpc_transport *t, int fd)
{
    int rounds = 0;
    int rc = smtpc_transport_handshake(t, 0);
    while (rc == SMTPC_INPROGRESS) {
        assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), 0);
        assert_int_equal(t->ready, 0);
        wait_for(fd, smtpc_transport_events(t));
        rc = smtpc_transport_handshake(t, 0);
        assert_true(++rounds < 10000);
    }
    assert_int_equal(smtpc_transport_events(t), 0);
    if (rc != 0)
        assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), rc);
    return rc;
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)((i * 7 + 3) ^ (i >> 11));
}

static void fill_pattern(uint8_t *buf, size_t from, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(from + i);
}

/* Through the echo server with timeout 0 only: first write without reading
 * until the write must wait (the kernel's buffers and the server are full),
 * then write the rest while reading the echo back; every byte must return
 * in order, once. Each write gives the next bytes after what was reported
 * sent, so a record taken but not all sent must not be taken twice. */
static void echo_without_waiting(smtpc_transport *t, int fd)
{
    /* Small kernel buffers on our side: the server's echo backs up sooner,
     * so the write that must wait comes after megabytes less. */
    int small = 32768;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    static uint8_t out[32768], in[32768];
    size_t sent = 0, got = 0, n = 0;
    int rc;
    /* Nothing has come yet: a read waits for READ, and breaks nothing. */
    assert_int_equal(smtpc_transport_recv(t, in, sizeof in, 0, &n), SMTPC_ETIMEDOUT);
    assert_int_equal(n, 0);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_READ);
    for (;;) {
        fill_pattern(out, sent, sizeof out);
        rc = smtpc_transport_send(t, out, sizeof out, 0, &n);
        if (rc != 0)
            break;
        /* Taken: all sent, or the rest of its last record waits for WRITE. */
        assert_true(smtpc_transport_events(t) == 0 ||
                    smtpc_transport_events(t) == SMTPC_POLL_WRITE);
        assert_true(n > 0 && n <= sizeof out);
        sent += n;
        assert_true(sent < (size_t)512 << 20);
    }
    if (rc != SMTPC_ETIMEDOUT)
        fail_msg("send: %s", smtpc_error_message(smtpc_transport_error(t)));
    assert_int_equal(n, 0);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
    size_t total = sent + ((size_t)512 << 10) + 1000;
    while (got < total) {
        int events = 0;
        if (sent < total) {
            size_t len = total - sent < sizeof out ? total - sent : sizeof out;
            fill_pattern(out, sent, len);
            rc = smtpc_transport_send(t, out, len, 0, &n);
            if (rc == 0) {
                sent += n;
            } else {
                if (rc != SMTPC_ETIMEDOUT)
                    fail_msg("send: %s", smtpc_error_message(smtpc_transport_error(t)));
                events |= smtpc_transport_events(t);
                assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
            }
        }
        rc = smtpc_transport_recv(t, in, sizeof in, 0, &n);
        if (rc == 0) {
            assert_true(got + n <= total);
            for (size_t i = 0; i < n; i++)
                if (in[i] != pattern(got + i))
                    fail_msg("byte %zu of the echo differs", got + i);
            got += n;
            continue;
        }
        if (rc != SMTPC_ETIMEDOUT)
            fail_msg("recv: %s", smtpc_error_message(smtpc_transport_error(t)));
        /* READ (WRITE too while the rest of a record sent earlier waits
         * to go out: the server may not read before we do), or WRITE alone
         * when mbedTLS must write before it reads. */
        int ev = smtpc_transport_events(t);
        assert_true(ev != 0 && (ev & ~(SMTPC_POLL_READ | SMTPC_POLL_WRITE)) == 0);
        events |= ev;
        if (sent == total || (events & SMTPC_POLL_WRITE))
            wait_for(fd, events); /* neither way can move */
    }
}

static void nonblocking_over_socket(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_allocator a = heap.hook;
    smtpc_tls_config *cfg = test_config(&a);
    server srv;
    char script[256];
    snprintf(script, sizeof script, echo_script_fmt, "server");
    server_start(&srv, script);
    smtpc_transport *inner = socket_transport_nb(&a, srv.port);
    int fd = smtpc_transport_fd(inner);
    assert_true(fd >= 0);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_tls(&a, inner, cfg, "localhost", &t), 0);
    /* The TLS transport waits on its inner transport's socket. */
    assert_int_equal(smtpc_transport_fd(t), fd);
    assert_int_equal(smtpc_transport_timeout(t), -1);
    assert_int_equal(handshake_nb(t, fd), 0);
    assert_int_equal(t->encrypted, 1);
    char info[200];
    assert_int_equal(smtpc_transport_tls_info(t, info, sizeof info), 0);
    assert_non_null(strstr(info, EXPECTED_VERSION));
    assert_int_equal(smtpc_transport_handshake(t, 0), SMTPC_ESTATE);
    assert_non_null(strstr(smtpc_error_message(smtpc_transport_error(t)), "done"));
    echo_without_waiting(t, fd);
    smtpc_transport_free(t);
    server_stop(&srv);
    smtpc_tls_config_free(cfg);
    assert_int_equal(heap.live_blocks, 0);
    assert_int_equal(heap.bad_frees, 0);
}

/* Over a transport of the user's: no fd from smtpc (the user polls its
 * own), and the events come from what mbedTLS asked for. */
static void nonblocking_over_callbacks(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    server srv;
    char script[256];
    snprintf(script, sizeof script, echo_script_fmt, "server");
    server_start(&srv, script);
    cb_sock cs;
    smtpc_transport *t = NULL;
    assert_int_equal(
        smtpc_transport_new_tls(NULL, callback_transport(NULL, &cs, srv.port), cfg,
                                "localhost", &t),
        0);
    assert_int_equal(smtpc_transport_fd(t), -1);
    assert_int_equal(handshake_nb(t, cs.fd), 0);
    echo_without_waiting(t, cs.fd);
    smtpc_transport_free(t);
    assert_int_equal(cs.closed, 1);
    server_stop(&srv);
    smtpc_tls_config_free(cfg);
}

/* A failure found in a non-blocking handshake is the blocking one's: same
 * code, same message, and the session is then done with. */
static void nonblocking_handshake_fails_alike(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    server srv;
    char script[256], blocking_msg[256];
    snprintf(script, sizeof script, echo_script_fmt, "server");
    outcome o = run_tls(cfg, script, "wrong.example", 0, HS_TIMEOUT_MS);
    assert_int_equal(o.rc, SMTPC_ETLS_VERIFY);
    snprintf(blocking_msg, sizeof blocking_msg, "%s", o.msg);

    server_start(&srv, script);
    smtpc_transport *inner = socket_transport_nb(NULL, srv.port);
    int fd = smtpc_transport_fd(inner);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_tls(NULL, inner, cfg, "wrong.example", &t), 0);
    assert_int_equal(handshake_nb(t, fd), SMTPC_ETLS_VERIFY);
    assert_string_equal(smtpc_error_message(smtpc_transport_error(t)), blocking_msg);
    assert_non_null(strstr(blocking_msg, "host-name mismatch"));
    assert_int_equal(smtpc_transport_handshake(t, 0), SMTPC_ESTATE);
    assert_non_null(strstr(smtpc_error_message(smtpc_transport_error(t)), "failed"));
    uint8_t b[4];
    size_t n;
    assert_int_equal(smtpc_transport_recv(t, b, sizeof b, 0, &n), SMTPC_ESTATE);
    assert_int_equal(smtpc_transport_events(t), 0);
    smtpc_transport_free(t);
    server_stop(&srv);
    smtpc_tls_config_free(cfg);
}

/* A user-callback transport whose reads the test holds back: while gated,
 * recv says there is nothing (as a non-blocking transport does), whatever
 * the server sent. */
typedef struct {
    cb_sock sock;
    int gated;
    int recv_calls;
    /* Bytes sends may still move, -1: no limit; then they say there is
     * no room (as a non-blocking transport with a full buffer does). */
    long send_room;
} gated_sock;

static int gated_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    gated_sock *g = user;
    if (g->send_room == 0)
        return SMTPC_ETIMEDOUT;
    if (g->send_room > 0 && len > (size_t)g->send_room)
        len = (size_t)g->send_room;
    int rc = cb_send(&g->sock, buf, len, timeout_ms, sent);
    if (rc == 0 && g->send_room > 0)
        g->send_room -= (long)*sent;
    return rc;
}

static int gated_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    gated_sock *g = user;
    g->recv_calls++;
    if (g->gated)
        return SMTPC_ETIMEDOUT;
    return cb_recv(&g->sock, buf, cap, timeout_ms, received);
}

static void gated_close(void *user)
{
    gated_sock *g = user;
    cb_close(&g->sock);
}

/* Started without waiting, finished with a wait: the same session goes on. */
static void nonblocking_then_blocking_handshake(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    server srv;
    char script[256];
    snprintf(script, sizeof script, echo_script_fmt, "server");
    server_start(&srv, script);
    gated_sock g = {.gated = 1, .recv_calls = 0, .send_room = -1};
    g.sock.fd = connect_fd(srv.port);
    g.sock.closed = 0;
    smtpc_transport *inner = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, gated_send, gated_recv, gated_close,
                                                   &g, &inner),
                     0);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_tls(NULL, inner, cfg, "localhost", &t), 0);
    /* The ClientHello goes out; the answer cannot come in. */
    assert_int_equal(smtpc_transport_handshake(t, 0), SMTPC_INPROGRESS);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_READ);
    assert_int_equal(smtpc_error_code(smtpc_transport_error(t)), 0);
    assert_true(g.recv_calls >= 1);
    assert_int_equal(smtpc_transport_handshake(t, 0), SMTPC_INPROGRESS);
    g.gated = 0;
    assert_int_equal(smtpc_transport_handshake(t, HS_TIMEOUT_MS), 0);
    assert_int_equal(smtpc_transport_events(t), 0);
    uint8_t buf[8];
    size_t n = 0;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"ping", 4, 2000, &n), 0);
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 2000, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    smtpc_transport_free(t);
    server_stop(&srv);
    smtpc_tls_config_free(cfg);
}

/* A record that could not all go out: its bytes count as sent, the events
 * say WRITE, the next calls push the rest out first, and the peer gets
 * every byte once. */
static void nonblocking_write_half_a_record(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = test_config(NULL);
    server srv;
    char script[256];
    snprintf(script, sizeof script, echo_script_fmt, "server");
    server_start(&srv, script);
    gated_sock g = {.gated = 0, .recv_calls = 0, .send_room = -1};
    g.sock.fd = connect_fd(srv.port);
    g.sock.closed = 0;
    smtpc_transport *inner = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, gated_send, gated_recv, gated_close,
                                                   &g, &inner),
                     0);
    smtpc_transport *t = NULL;
    assert_int_equal(smtpc_transport_new_tls(NULL, inner, cfg, "localhost", &t), 0);
    assert_int_equal(smtpc_transport_handshake(t, HS_TIMEOUT_MS), 0);

    /* Room for 10 bytes of the first record, none for the next. */
    g.send_room = 10;
    g.gated = 1;
    size_t n = 0;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"first-part;", 11, 0, &n), 0);
    assert_int_equal(n, 11);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
    /* New bytes wait behind the rest of that record, taken not. */
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"second", 6, 0, &n),
                     SMTPC_ETIMEDOUT);
    assert_int_equal(n, 0);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_WRITE);
    /* A read waits for both: data may come, and the record must go. */
    uint8_t buf[64];
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 0, &n), SMTPC_ETIMEDOUT);
    assert_int_equal(smtpc_transport_events(t), SMTPC_POLL_READ | SMTPC_POLL_WRITE);
    /* Room again: the rest of the record, then the new bytes. */
    g.send_room = -1;
    g.gated = 0;
    assert_int_equal(smtpc_transport_send(t, (const uint8_t *)"second", 6, 0, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(smtpc_transport_events(t), 0);
    size_t got = 0;
    while (got < 17) {
        assert_int_equal(smtpc_transport_recv(t, buf + got, sizeof buf - got, 5000, &n), 0);
        got += n;
    }
    assert_int_equal(got, 17);
    assert_memory_equal(buf, "first-part;second", 17);
    /* Nothing more comes: no byte was sent twice. */
    assert_int_equal(smtpc_transport_recv(t, buf, sizeof buf, 300, &n), SMTPC_ETIMEDOUT);
    smtpc_transport_free(t);
    server_stop(&srv);
    smtpc_tls_config_free(cfg);
}

/* --- setup --- */

static int make_certs(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(certs_dir, sizeof certs_dir, "/tmp/smtpc-tls-XXXXXX");
    if (!mkdtemp(certs_dir))
        return -1;
    snprintf(cmd, sizeof cmd, "%s %s/certs.py %s >/dev/null", PYTHON, scripts_dir, certs_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_certs(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    scripts_dir = argc > 1 ? argv[1] : "tests/integration";
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ip_literals),
        cmocka_unit_test(config_arguments),
        cmocka_unit_test(new_tls_arguments),
        cmocka_unit_test(valid_over_socket),
        cmocka_unit_test(valid_over_callbacks),
        cmocka_unit_test(valid_ip_literals),
        cmocka_unit_test(ca_from_memory_used),
        cmocka_unit_test(wrong_host),
        cmocka_unit_test(wrong_ip),
        cmocka_unit_test(expired),
        cmocka_unit_test(not_yet_valid),
        cmocka_unit_test(self_signed),
        cmocka_unit_test(default_store_rejects_test_ca),
        cmocka_unit_test(verify_none_accepts_self_signed),
        cmocka_unit_test(info_reports_verification),
        cmocka_unit_test(pin_match_and_mismatch),
        cmocka_unit_test(client_cert_from_files),
        cmocka_unit_test(client_cert_from_memory),
        cmocka_unit_test(client_cert_missing),
        cmocka_unit_test(client_cert_rejected),
        cmocka_unit_test(handshake_alert_named),
        cmocka_unit_test(record_watch),
        cmocka_unit_test(handshake_garbage),
        cmocka_unit_test(plaintext_greeting_hint),
        cmocka_unit_test(silent_server_times_out),
        cmocka_unit_test(trickling_server_bounded_overall),
        cmocka_unit_test(server_closes),
        cmocka_unit_test(read_timeout_is_recoverable),
        cmocka_unit_test(entropy_hook_used),
        cmocka_unit_test(client_custom_transport_needs_name),
        cmocka_unit_test(transport_without_name),
        cmocka_unit_test(nonblocking_over_socket),
        cmocka_unit_test(nonblocking_over_callbacks),
        cmocka_unit_test(nonblocking_handshake_fails_alike),
        cmocka_unit_test(nonblocking_then_blocking_handshake),
        cmocka_unit_test(nonblocking_write_half_a_record),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
