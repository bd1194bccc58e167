/* Soak: many messages over one connection, then many short connections, with
 * the heap (through the allocator hook) and the process RSS sampled at
 * checkpoints. After a warm-up the live heap must be exactly the same at
 * every checkpoint, and RSS may grow only by a small bound. Uses the public
 * API only, as an application would.
 *
 * Usage: soak HOST PORT [MESSAGES [CONNECTIONS [RSS_BOUND_KB]]]
 * Prints one "checkpoint" line per sample and one "result" line per phase;
 * exits 0 when every check held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smtpc.h>

#include "test_alloc.h"
#include "test_tcp_transport.h"

/* AddressSanitizer keeps freed blocks in quarantine, so RSS climbs for a
 * while whatever the library does: RSS is then reported, not judged. */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#ifndef SOAK_ASAN
#define SOAK_ASAN 0
#endif

/* Under valgrind RSS is valgrind's own (it holds freed blocks too). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SOAK_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef SOAK_UNDER_VALGRIND
#define SOAK_UNDER_VALGRIND() 0
#endif

#define WARMUP_MESSAGES 100
#define WARMUP_CONNECTIONS 10
#define CHECKPOINTS 10

/* VmRSS or VmHWM from /proc/self/status, in KiB; -1 when unavailable. */
static long proc_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const rcpts[] = {"soak1@example.org", "soak2@example.org"};

/* A few KiB of ordinary text, with a line that needs dot-stuffing. */
static size_t make_body(char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap,
                                "From: soak@example.org\r\nTo: soak1@example.org\r\n"
                                "Subject: soak\r\n\r\n.leading dot\r\n");
    while (n + 80 < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s\r\n",
                              "The quick brown fox jumps over the lazy dog, again and again.");
    return n;
}

typedef struct {
    const char *phase;
    size_t base_live; /* live heap after the warm-up */
    long base_rss;
    long max_rss_growth;
    int failed;
} tracker;

static void checkpoint(tracker *t, const test_heap *h, size_t i, int warmup_done)
{
    long rss = proc_status_kb("VmRSS");
    if (!warmup_done)
        return;
    if (t->base_rss < 0) {
        t->base_live = h->live_bytes;
        t->base_rss = rss;
    }
    long growth = rss - t->base_rss;
    if (growth > t->max_rss_growth)
        t->max_rss_growth = growth;
    printf("checkpoint phase=%s i=%zu heap_live=%zu heap_peak=%zu rss_kb=%ld\n", t->phase, i,
           h->live_bytes, h->peak_bytes, rss);
    if (h->live_bytes != t->base_live) {
        printf("FAIL phase=%s i=%zu: live heap %zu bytes, %zu after the warm-up\n", t->phase, i,
               h->live_bytes, t->base_live);
        t->failed = 1;
    }
}

static int report_error(const char *what, size_t i, int rc, smtpc_client *c)
{
    printf("FAIL %s %zu: %s (%d): %s\n", what, i, smtpc_strerror(rc), rc, smtpc_error_message(smtpc_client_error(c)));
    return 1;
}

/* The server setup() gave, for test_tcp_prepare before each connect. */
static const char *server_host, *server_port;

static int setup(smtpc_client *c, const char *host, const char *port)
{
    server_host = host;
    server_port = port;
    int rc = smtpc_client_set_server(c, host, port);
    if (rc == 0)
        rc = smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);
    for (int st = 0; rc == 0 && st < SMTPC_TIMEOUT_COUNT; st++)
        rc = smtpc_client_set_timeout(c, st, 10000);
    return rc;
}

static int send_one(smtpc_client *c, const char *body, size_t len, size_t i)
{
    int rc = smtpc_client_send(c, "soak@example.org", rcpts, 2, (const uint8_t *)body, len);
    if (rc)
        return report_error("send", i, rc, c);
    if (smtpc_engine_message_status(smtpc_client_engine(c)) != SMTPC_MESSAGE_ACCEPTED ||
        !smtpc_engine_rcpt_accepted(smtpc_client_engine(c), 0) || !smtpc_engine_rcpt_accepted(smtpc_client_engine(c), 1)) {
        printf("FAIL send %zu: returned 0 but not accepted for both recipients\n", i);
        return 1;
    }
    return 0;
}

static int connect_client(smtpc_client *c)
{
    int rc = test_tcp_prepare(c, server_host, server_port, 10000);
    return rc ? rc : smtpc_client_connect(c);
}

static int phase_one_connection(smtpc_client *c, test_heap *h, size_t messages,
                                const char *body, size_t len, tracker *t)
{
    int rc = connect_client(c);
    if (rc)
        return report_error("connect", 0, rc, c);
    size_t step = messages / CHECKPOINTS ? messages / CHECKPOINTS : 1;
    long allocs_before = 0;
    double t0 = now_s();
    for (size_t i = 1; i <= messages; i++) {
        if (send_one(c, body, len, i))
            return 1;
        if (i == WARMUP_MESSAGES) {
            checkpoint(t, h, i, 1);
            allocs_before = h->count;
        } else if (i > WARMUP_MESSAGES && i % step == 0) {
            checkpoint(t, h, i, 1);
        }
    }
    double secs = now_s() - t0;
    rc = smtpc_client_quit(c);
    if (rc)
        return report_error("quit", messages, rc, c);
    size_t measured = messages > WARMUP_MESSAGES ? messages - WARMUP_MESSAGES : 1;
    printf("result phase=%s messages=%zu seconds=%.3f messages_per_s=%.0f body_bytes=%zu "
           "heap_live=%zu heap_peak=%zu allocs_per_message=%.2f rss_growth_kb=%ld "
           "vmhwm_kb=%ld\n",
           t->phase, messages, secs, (double)messages / secs, len, t->base_live, h->peak_bytes,
           (double)(h->count - allocs_before) / (double)measured, t->max_rss_growth,
           proc_status_kb("VmHWM"));
    return 0;
}

static int phase_connections(smtpc_client *c, test_heap *h, size_t connections,
                             const char *body, size_t len, tracker *t)
{
    size_t step = connections / CHECKPOINTS ? connections / CHECKPOINTS : 1;
    double t0 = now_s();
    for (size_t i = 1; i <= connections; i++) {
        int rc = connect_client(c);
        if (rc)
            return report_error("connect", i, rc, c);
        if (send_one(c, body, len, i))
            return 1;
        rc = smtpc_client_quit(c);
        if (rc)
            return report_error("quit", i, rc, c);
        if (i == WARMUP_CONNECTIONS || (i > WARMUP_CONNECTIONS && i % step == 0))
            checkpoint(t, h, i, 1);
    }
    double secs = now_s() - t0;
    printf("result phase=%s connections=%zu seconds=%.3f connections_per_s=%.0f "
           "heap_live=%zu heap_peak=%zu rss_growth_kb=%ld vmhwm_kb=%ld\n",
           t->phase, connections, secs, (double)connections / secs, t->base_live, h->peak_bytes,
           t->max_rss_growth, proc_status_kb("VmHWM"));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [MESSAGES [CONNECTIONS [RSS_BOUND_KB]]]\n",
                argv[0]);
        return 2;
    }
    size_t messages = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
    size_t connections = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000;
    long rss_bound = argc > 5 ? strtol(argv[5], NULL, 10) : 512;
    setvbuf(stdout, NULL, _IOLBF, 0);

    static char body[4096];
    size_t len = make_body(body, sizeof body);
    test_heap h;
    test_heap_init(&h, TEST_HEAP_FAIL_ONE, 0);
    smtpc_client *c = NULL;
    if (smtpc_client_new(&h.hook, &c) != 0 || setup(c, argv[1], argv[2]) != 0) {
        printf("FAIL could not create the client\n");
        return 1;
    }
    printf("start library=%s heap_live=%zu rss_kb=%ld\n", smtpc_version(), h.live_bytes,
           proc_status_kb("VmRSS"));

    int failed = 0;
    tracker one = {"one-connection", 0, -1, 0, 0};
    failed |= phase_one_connection(c, &h, messages, body, len, &one);
    tracker many = {"connections", 0, -1, 0, 0};
    if (!failed)
        failed |= phase_connections(c, &h, connections, body, len, &many);
    failed |= one.failed | many.failed;
    for (int i = 0; i < 2; i++) {
        const tracker *t = i ? &many : &one;
        if (SOAK_ASAN || SOAK_UNDER_VALGRIND()) {
            printf("note phase=%s: RSS bound not enforced under %s\n", t->phase,
                   SOAK_ASAN ? "AddressSanitizer" : "valgrind");
        } else if (t->max_rss_growth > rss_bound) {
            printf("FAIL phase=%s: RSS grew by %ld KiB after the warm-up (bound %ld KiB)\n",
                   t->phase, t->max_rss_growth, rss_bound);
            failed = 1;
        }
    }
    smtpc_client_free(c);
    printf("end heap_live=%zu (must be 0)\n", h.live_bytes);
    if (h.live_bytes != 0)
        failed = 1;
    if (h.bad_frees) {
        printf("FAIL %d bad frees\n", h.bad_frees);
        failed = 1;
    }
    printf("%s\n", failed ? "SOAK FAILED" : "SOAK OK");
    return failed ? 1 : 0;
}
