/* Serializer throughput: a message with one large attachment, streamed by
 * smtpc_message_read, next to raw libb64 encoding the same bytes.
 *
 *   bench_mime smtpc|libb64 [MiB]      (default 256)
 *   bench_mime smtpc-dkim MiB KEYFILE  (the same message DKIM-signed with the
 *                                       RSA key in KEYFILE: two passes)
 *   bench_mime parts|headers [N]       (default 10000)
 *
 * The attachment comes from a read callback repeating a 1 MiB block of
 * pseudo-random bytes, so neither side holds the whole input and the peak
 * RSS shows what the encoder itself costs. Prints one line:
 *   <mode> <MiB> MiB in <s> s: <MB/s> MB/s input, <bytes> bytes out, peak RSS <KiB> KiB, CPU <s> s
 * (CPU: the process's user + system time for the encoding alone, which
 * stays comparable when other work shares the machine; wall time does not).
 * parts/headers: build a message with N one-byte attachments (or N extra
 * headers), size it and serialize it; prints
 *   <mode> <N> in <s> s, <bytes> bytes out, peak RSS <KiB> KiB
 * Not a test: numbers depend on the machine. */
#include <b64/cencode.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "smtpc.h"

#define BLOCK (1u << 20)

static uint8_t block[BLOCK];

typedef struct src {
    uint64_t size, pos;
} src;

static int src_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    src *s = user;
    uint64_t left = s->size - s->pos;
    size_t n = left < cap ? (size_t)left : cap;
    size_t off = (size_t)(s->pos % BLOCK);
    if (n > BLOCK - off)
        n = BLOCK - off;
    memcpy(buf, block + off, n);
    s->pos += n;
    *len = n;
    return 0;
}

static int src_rewind(void *user)
{
    ((src *)user)->pos = 0;
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read m to its end, free it, and return the bytes it produced. */
static uint64_t drain(smtpc_message *m)
{
    static uint8_t buf[65536];
    uint64_t out = 0;
    for (;;) {
        size_t len;
        if (smtpc_message_read(m, buf, sizeof buf, &len)) {
            fprintf(stderr, "read failed: %s\n", smtpc_error_message(smtpc_message_error(m)));
            exit(1);
        }
        if (len == 0)
            break;
        out += len;
    }
    smtpc_message_free(m);
    return out;
}

static uint64_t run_smtpc(uint64_t size, const char *dkim_key)
{
    smtpc_message *m;
    smtpc_dkim *d = NULL;
    src s = {size, 0};
    if (smtpc_message_new(NULL, &m) || smtpc_message_set_from(m, "a@example.com", "A") ||
        smtpc_message_add_to(m, "b@example.com", "B") || smtpc_message_set_subject(m, "bench") ||
        smtpc_message_set_text(m, "attached", 8, SMTPC_MEM_COPY) ||
        smtpc_message_attach_reader(m, src_read, src_rewind, &s, (int64_t)size, "big.bin",
                                    NULL)) {
        fprintf(stderr, "build failed\n");
        exit(1);
    }
    if (dkim_key && (smtpc_dkim_new(NULL, &d) || smtpc_dkim_set_key_file(d, dkim_key, NULL) ||
                     smtpc_dkim_set_domain(d, "example.com") ||
                     smtpc_dkim_set_selector(d, "bench") || smtpc_message_add_dkim(m, d))) {
        fprintf(stderr, "DKIM setup failed: %s\n",
                d ? smtpc_error_message(smtpc_dkim_error(d)) : "no signer (DKIM not built?)");
        exit(1);
    }
    uint64_t out = drain(m);
    smtpc_dkim_free(d);
    return out;
}

static uint64_t run_libb64(uint64_t size)
{
    /* libb64 as it comes: its own 72-column LF lines, same input stream. */
    src s = {size, 0};
    static uint8_t in[65536];
    static char out[2 * 65536 + 16];
    base64_encodestate st;
    base64_init_encodestate(&st);
    uint64_t total = 0;
    for (;;) {
        size_t n = 0;
        src_read(&s, in, sizeof in, &n);
        if (n == 0)
            break;
        total += (uint64_t)base64_encode_block((const char *)in, (int)n, out, &st);
    }
    total += (uint64_t)base64_encode_blockend(out, &st);
    return total;
}

/* Many small parts or headers: what matters is that the cost per item
 * stays flat as N grows. */
static uint64_t run_many(const char *mode, unsigned long n)
{
    smtpc_message *m;
    if (smtpc_message_new(NULL, &m) || smtpc_message_set_from(m, "a@example.com", "A") ||
        smtpc_message_add_to(m, "b@example.com", "B") ||
        smtpc_message_set_text(m, "attached", 8, SMTPC_MEM_COPY)) {
        fprintf(stderr, "build failed\n");
        exit(1);
    }
    for (unsigned long i = 0; i < n; i++) {
        int rc = strcmp(mode, "parts") == 0
                     ? smtpc_message_attach_mem(m, (const uint8_t *)"x", 1, SMTPC_MEM_BORROW,
                                                "part.bin", NULL)
                     : smtpc_message_add_header(m, "X-Bench", "a header value");
        if (rc) {
            fprintf(stderr, "add failed: %s\n", smtpc_error_message(smtpc_message_error(m)));
            exit(1);
        }
    }
    int64_t size;
    if (smtpc_message_size(m, &size)) {
        fprintf(stderr, "size failed: %s\n", smtpc_error_message(smtpc_message_error(m)));
        exit(1);
    }
    return drain(m);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "parts") || !strcmp(argv[1], "headers"))) {
        unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
        double t0 = now();
        uint64_t out = run_many(argv[1], n);
        double dt = now() - t0;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%-7s %lu in %.3f s, %llu bytes out, peak RSS %ld KiB\n", argv[1], n, dt,
               (unsigned long long)out, ru.ru_maxrss);
        return 0;
    }
    int dkim = argc >= 2 && !strcmp(argv[1], "smtpc-dkim");
    if (argc < 2 || (strcmp(argv[1], "smtpc") && strcmp(argv[1], "libb64") && !dkim) ||
        (dkim && argc < 4)) {
        fprintf(stderr, "usage: bench_mime smtpc|libb64 [MiB] | smtpc-dkim MiB KEYFILE | "
                        "parts|headers [N]\n");
        return 2;
    }
    uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 256;
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < BLOCK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        block[i] = (uint8_t)x;
    }
    double t0 = now(), c0 = cpu_now();
    uint64_t out = strcmp(argv[1], "libb64") == 0 ? run_libb64(mib << 20)
                                                   : run_smtpc(mib << 20, dkim ? argv[3] : NULL);
    double dt = now() - t0, dc = cpu_now() - c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%-7s %llu MiB in %.2f s: %.0f MB/s input, %llu bytes out, peak RSS %ld KiB, "
           "CPU %.3f s\n",
           argv[1], (unsigned long long)mib, dt, (double)(mib << 20) / dt / 1e6,
           (unsigned long long)out, ru.ru_maxrss, dc);
    return 0;
}
