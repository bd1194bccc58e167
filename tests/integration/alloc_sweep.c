/* Allocation-failure sweep over a full session against a real server: TCP
 * connect, STARTTLS, AUTH, a MIME message with an HTML alternative, an inline
 * part and two attachments (one from memory, one from a file), QUIT, and
 * freeing everything. The scenario is run with the Nth allocation failing,
 * for N = 1, 2, ... until a run completes without reaching N; then again
 * with every allocation from the Nth on failing (memory stays exhausted).
 *
 * Every step must return 0 or SMTPC_ENOMEM (smtpc_client_new included), and
 * SMTPC_ENOMEM only after the hook has refused something; a run in which the
 * hook refused an allocation must report SMTPC_ENOMEM from some step (a
 * swallowed failure would hide a path that silently does less). After the
 * run every byte must be back, each block freed with the size it was
 * allocated with.
 *
 * Only smtpc's own allocations can be failed here. mbedTLS allocates with its
 * global calloc/free: Debian builds it without MBEDTLS_PLATFORM_MEMORY, so
 * there is no hook to redirect it, and its handshake, X.509 and crypto
 * buffers are never refused. What is swept is every block smtpc allocates
 * around them (client, engine, socket and TLS transports, TLS configuration
 * and its CA copy, SASL state, message records).
 *
 * The unit test test_alloc_fail.c does the same over an in-memory plaintext
 * session; this one adds the parts that need a real peer: the socket, the
 * TLS upgrade and SCRAM's exchange with an independent implementation.
 *
 * Usage: alloc_sweep PORT CAFILE USER PASSWORD RCPT
 * Connects to 127.0.0.1:PORT (the certificate must be valid for 127.0.0.1
 * and signed by CAFILE). Prints one "sweep" line per scenario and failure
 * shape, and a final "delivered N" line: the number of messages the server
 * must have accepted (one per run whose send succeeded), so that the caller
 * can check that no run that failed delivered anything. Exit 0 when every
 * check held, 1 on a failed check, 2 on a usage or setup error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <smtpc.h>

#include "test_alloc.h"
#include "test_tcp_transport.h"

/* Far above what a session needs (a few hundred): a sweep that gets there
 * is not converging (the scenario keeps allocating more). */
#define SWEEP_MAX 20000L

/* --- the scenario --- */

typedef struct scenario {
    const char *name;
    int mechanism;            /* SMTPC_AUTH_* */
    const char *mech_name;    /* what smtpc_engine_auth_mechanism must say */
} scenario;

typedef struct setup {
    const char *port, *cafile, *user, *password, *rcpt;
    const char *attachment_path;
} setup;

/* Why a run failed a check; NULL while all is well. */
typedef struct run_state {
    test_heap *h;
    const char *failed_step;
    int failed_rc;
    char detail[512];
    int sent; /* the send returned 0: the server has the message */
} run_state;

/* A step's result: 0 goes on, a clean SMTPC_ENOMEM (after the hook refused
 * something) stops the run quietly, anything else stops it as a failure
 * with errmsg (the handle's readable reason) kept for the report. */
static int check(run_state *rs, const char *step, int rc, const char *errmsg)
{
    if (rc == 0)
        return 0;
    if (rc == SMTPC_ENOMEM && rs->h->injected)
        return rc;
    if (!rs->failed_step) {
        rs->failed_step = step;
        rs->failed_rc = rc;
        snprintf(rs->detail, sizeof rs->detail, "%s%s", errmsg ? errmsg : "",
                 rc == SMTPC_ENOMEM ? " (ENOMEM without a refused allocation)" : "");
    }
    return rc;
}

/* Runs one call and judges its result. The handle's reason is read only
 * after the call: in check(call, errmsg(...)) the order in which the two
 * arguments are evaluated is unspecified. */
#define STEP(rs, rc, name, call, errmsg_expr)                                           \
    do {                                                                                \
        int step_rc_ = (call);                                                          \
        (rc) = check((rs), (name), step_rc_, step_rc_ ? (errmsg_expr) : NULL);          \
    } while (0)

static const char text_body[] = "Hello,\n\nthe report is attached; the chart is inline.\n"
                                ".a line that starts with a dot\n";
static const char html_body[] = "<p>Hello,</p><p>the report is attached:</p>"
                                "<img src=\"cid:chart@example.org\" alt=\"chart\">";
/* Binary, with CR, LF and NUL bytes, so that it goes base64. */
static const uint8_t chart[] = {0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n',
                                0,    0,    0,    13,   'I',  'H',  'D',  'R'};
static const char csv[] = "name,value\r\nalpha,1\r\nbeta,2\r\n";

static int build_message(run_state *rs, const smtpc_allocator *a, const setup *su,
                         smtpc_message **out)
{
    smtpc_message *m = NULL;
    int rc;
    *out = NULL;
    STEP(rs, rc, "smtpc_message_new", smtpc_message_new(a, &m), "");
    if (rc)
        return rc;
    /* Each call below may fail only for want of memory; the message's own
     * reason is the detail when it fails otherwise. */
#define MSG_STEP(call)                                                                  \
    do {                                                                                \
        if (rc == 0)                                                                    \
            STEP(rs, rc, "smtpc_message_" #call, smtpc_message_##call,                  \
                 smtpc_error_message(smtpc_message_error(m)));                                              \
    } while (0)
    MSG_STEP(set_from(m, "sender@example.org", "Sweep S\xc3\xa9nder"));
    MSG_STEP(add_to(m, su->rcpt, "Recipient"));
    MSG_STEP(add_bcc(m, su->rcpt, NULL)); /* a duplicate: sent once */
    MSG_STEP(set_subject(m, "Allocation sweep \xe2\x80\x94 report"));
    MSG_STEP(add_header(m, "X-Sweep", "alloc_sweep"));
    MSG_STEP(set_text(m, text_body, sizeof text_body - 1, SMTPC_MEM_COPY));
    MSG_STEP(set_html(m, html_body, sizeof html_body - 1, SMTPC_MEM_BORROW));
    MSG_STEP(inline_mem(m, chart, sizeof chart, SMTPC_MEM_COPY, "chart@example.org",
                        "chart.png", "image/png"));
    MSG_STEP(attach_mem(m, (const uint8_t *)csv, sizeof csv - 1, SMTPC_MEM_BORROW,
                        "data.csv", NULL));
    MSG_STEP(attach_file(m, su->attachment_path, "r\xc3\xa9sum\xc3\xa9.txt", NULL));
#undef MSG_STEP
    if (rc) {
        smtpc_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* One run. Returns 0 when the scenario completed, SMTPC_ENOMEM after a
 * clean out-of-memory, anything else on a failed check (rs says which). */
static int run_once(run_state *rs, const setup *su, const scenario *sc)
{
    smtpc_allocator a = rs->h->hook;
    smtpc_client *c = NULL;
    smtpc_tls_config *cfg = NULL;
    smtpc_message *m = NULL;
    int rc;

    rc = smtpc_client_new(&a, &c);
    if (rc != 0) {
        rc = check(rs, "smtpc_client_new", rc, c ? "failed but stored a client" : "");
        goto out;
    }
    STEP(rs, rc, "smtpc_client_set_server", smtpc_client_set_server(c, "127.0.0.1", su->port),
         smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    /* Bounded waits: a hang after a failure would otherwise stall the sweep
     * for the five-minute SMTP defaults. */
    for (int stage = 0; stage < SMTPC_TIMEOUT_COUNT && rc == 0; stage++)
        STEP(rs, rc, "smtpc_client_set_timeout", smtpc_client_set_timeout(c, stage, 30000),
             smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    STEP(rs, rc, "smtpc_tls_config_new", smtpc_tls_config_new(&a, &cfg), "");
    if (rc)
        goto out;
    STEP(rs, rc, "smtpc_tls_config_add_ca_file", smtpc_tls_config_add_ca_file(cfg, su->cafile),
         smtpc_error_message(smtpc_tls_config_error(cfg)));
    if (rc)
        goto out;
    STEP(rs, rc, "smtpc_client_set_tls_config", smtpc_client_set_tls_config(c, cfg),
         smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    STEP(rs, rc, "smtpc_client_set_credentials",
         smtpc_client_set_credentials(c, su->user, su->password), smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    STEP(rs, rc, "smtpc_client_set_auth_mechanisms",
         smtpc_client_set_auth_mechanisms(c, sc->mechanism), smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    /* Without the library's sockets: the tests' own transport (on malloc,
     * as it is the application's, not smtpc's). */
    STEP(rs, rc, "test_tcp_prepare", test_tcp_prepare(c, "127.0.0.1", su->port, 30000),
         smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    /* The default security level (STARTTLS required) is what is swept. */
    STEP(rs, rc, "smtpc_client_connect", smtpc_client_connect(c), smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    if (!smtpc_engine_is_encrypted(smtpc_client_engine(c)) || strcmp(smtpc_engine_auth_mechanism(smtpc_client_engine(c)), sc->mech_name)) {
        rc = check(rs, "after connect", SMTPC_ESTATE, "not encrypted or wrong mechanism");
        goto out;
    }
    rc = build_message(rs, &a, su, &m);
    if (rc)
        goto out;
    STEP(rs, rc, "smtpc_client_send_message", smtpc_client_send_message(c, m, NULL, NULL, 0),
         smtpc_error_message(smtpc_client_error(c)));
    if (rc)
        goto out;
    rs->sent = 1;
    if (smtpc_engine_rcpt_count(smtpc_client_engine(c)) != 1 || !smtpc_engine_rcpt_accepted(smtpc_client_engine(c), 0)) {
        rc = check(rs, "after send", SMTPC_ESTATE, "recipient not accepted");
        goto out;
    }
    STEP(rs, rc, "smtpc_client_quit", smtpc_client_quit(c), smtpc_error_message(smtpc_client_error(c)));

out:
    /* The client borrows the configuration, so it goes first. */
    smtpc_client_free(c);
    smtpc_tls_config_free(cfg);
    smtpc_message_free(m);
    return rc;
}

/* Sweeps one scenario in one failure shape. Returns 0 when every run held;
 * adds the runs whose message reached the server to *delivered. */
static int sweep(const setup *su, const scenario *sc, int mode, long *delivered)
{
    const char *shape = mode == TEST_HEAP_FAIL_ONE ? "one failure" : "exhausted from N";
    long n;
    int nomem_runs = 0;
    for (n = 1; n < SWEEP_MAX; n++) {
        test_heap h;
        test_heap_init(&h, mode, n);
        run_state rs = {&h, NULL, 0, "", 0};
        int rc = run_once(&rs, su, sc);
        *delivered += rs.sent;
        int bad = 0;
        if (rs.failed_step) {
            fprintf(stderr, "%s (%s), N=%ld: %s returned %d (%s): %s\n", sc->name, shape, n,
                    rs.failed_step, rs.failed_rc, smtpc_strerror(rs.failed_rc), rs.detail);
            bad = 1;
        }
        if (h.live_bytes || h.live_blocks) {
            fprintf(stderr, "%s (%s), N=%ld: leaked %zu bytes in %zu blocks\n", sc->name, shape,
                    n, h.live_bytes, h.live_blocks);
            bad = 1;
        }
        if (h.bad_frees) {
            fprintf(stderr, "%s (%s), N=%ld: %d bad frees\n", sc->name, shape, n, h.bad_frees);
            bad = 1;
        }
        if (!bad && h.injected && rc != SMTPC_ENOMEM) {
            /* The refusal was absorbed somewhere and the run went on as if
             * nothing happened. */
            fprintf(stderr, "%s (%s), N=%ld: allocation %ld refused but the run returned %d\n",
                    sc->name, shape, n, n, rc);
            bad = 1;
        }
        if (bad)
            return 1;
        if (!h.injected) {
            /* N was never reached: this run is the complete scenario, and
             * N - 1 is the number of allocations it made. */
            printf("sweep %s (%s): %ld allocations in the successful run; N = 1..%ld "
                   "each ended in SMTPC_ENOMEM (%d runs), N = %ld succeeded\n",
                   sc->name, shape, h.count, n - 1, nomem_runs, n);
            fflush(stdout);
            return 0;
        }
        nomem_runs++;
    }
    fprintf(stderr, "%s (%s): no successful run up to N = %ld\n", sc->name, shape, SWEEP_MAX);
    return 1;
}

static int write_attachment(char *path, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if ((size_t)snprintf(path, cap, "%s/smtpc-sweep-XXXXXX", dir) >= cap)
        return -1;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    /* Several base64 lines' worth, with a line of non-ASCII text. */
    char buf[4096];
    size_t len = 0;
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "line %02d: r\xc3\xa9sum\xc3\xa9\n",
                                i);
    int ok = write(fd, buf, len) == (ssize_t)len;
    if (close(fd) != 0 || !ok) {
        unlink(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT CAFILE USER PASSWORD RCPT\n", argv[0]);
        return 2;
    }
    char path[4096];
    if (write_attachment(path, sizeof path) != 0) {
        perror("alloc_sweep: temporary attachment");
        return 2;
    }
    setup su = {argv[1], argv[2], argv[3], argv[4], argv[5], path};
    static const scenario scenarios[] = {
        {"STARTTLS + AUTH PLAIN", SMTPC_AUTH_PLAIN, "PLAIN"},
        {"STARTTLS + AUTH SCRAM-SHA-256", SMTPC_AUTH_SCRAM_SHA_256, "SCRAM-SHA-256"},
    };
    long delivered = 0;
    int failed = 0;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0] && !failed; i++)
        for (int mode = TEST_HEAP_FAIL_ONE; mode <= TEST_HEAP_FAIL_FROM && !failed; mode++)
            failed = sweep(&su, &scenarios[i], mode, &delivered);
    unlink(path);
    printf("delivered %ld\n", delivered);
    return failed ? 1 : 0;
}
