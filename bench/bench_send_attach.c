/* Attachment benchmark, smtpc side: COUNT built messages (a short text
 * body and one attachment of MiB pseudo-random bytes) sent with
 * smtpc_client_send_message on one connection, then QUIT.
 *
 *   bench_send_attach HOST PORT data|bdat-base64|bdat [MiB] [COUNT]
 *
 *   data         CHUNKING off: DATA, the attachment base64-encoded
 *   bdat-base64  BDAT, BINARYMIME off: the same bytes as data, no dot-stuffing
 *   bdat         BDAT with BINARYMIME: the attachment sent unencoded
 *
 * The server must offer CHUNKING and BINARYMIME for the last two to mean
 * what they say (bench/chunk_sink.py does). Prints one line like the send
 * benchmark's (bench_send_common.h): wall and CPU (user + sys) from connect
 * to the reply to QUIT, and peak RSS. */
#include <smtpc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int fail(smtpc_client *c, const char *what)
{
    fprintf(stderr, "bench_send_attach: %s: %s\n", what,
            smtpc_error_message(smtpc_client_error(c)));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT data|bdat-base64|bdat [MiB] [COUNT]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[3];
    int chunking = strcmp(mode, "data") != 0;
    int binary = strcmp(mode, "bdat") == 0;
    if (chunking && !binary && strcmp(mode, "bdat-base64") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    long mib = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    long count = argc > 5 ? strtol(argv[5], NULL, 10) : 20;
    if (mib <= 0 || count <= 0) {
        fprintf(stderr, "bad size or count\n");
        return 2;
    }

    /* Incompressible bytes, every value present, as a real binary file. */
    size_t att_len = (size_t)mib * 1024 * 1024;
    uint8_t *att = malloc(att_len);
    if (!att)
        return 1;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < att_len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        att[i] = (uint8_t)(x >> 24);
    }

    smtpc_message *m = NULL;
    static const char text[] = "The report is attached.\r\n";
    if (smtpc_message_new(NULL, &m) != 0 ||
        smtpc_message_set_from(m, "sender@example.org", NULL) != 0 ||
        smtpc_message_add_to(m, "rcpt1@example.org", NULL) != 0 ||
        smtpc_message_set_subject(m, "smtpc attachment bench") != 0 ||
        smtpc_message_set_text(m, text, sizeof text - 1, SMTPC_MEM_COPY) != 0 ||
        smtpc_message_attach_mem(m, att, att_len, SMTPC_MEM_BORROW, "report.bin",
                                 "application/octet-stream") != 0) {
        fprintf(stderr, "bench_send_attach: building the message failed\n");
        return 1;
    }

    smtpc_client *c = NULL;
    if (smtpc_client_new(NULL, &c) != 0)
        return 1;
    smtpc_client_set_server(c, argv[1], argv[2]);
    smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);
    smtpc_client_set_chunking(c, chunking);
    smtpc_client_set_binarymime(c, binary);

    int rc = 1;
    double w0 = now_wall(), c0 = now_cpu();
    if (smtpc_client_connect(c) != SMTPC_OK) {
        fail(c, "connect");
        goto out;
    }
    for (long i = 0; i < count; i++)
        if (smtpc_client_send_message(c, m, NULL, NULL, 0) != SMTPC_OK) {
            fail(c, "send");
            goto out;
        }
    if (smtpc_client_quit(c) != SMTPC_OK) {
        fail(c, "quit");
        goto out;
    }
    double w1 = now_wall(), c1 = now_cpu();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("client=smtpc mode=%s messages=%ld wall_s=%.6f cpu_s=%.6f maxrss_kb=%ld\n", mode,
           count, w1 - w0, c1 - c0, ru.ru_maxrss);
    rc = 0;
out:
    smtpc_client_free(c);
    smtpc_message_free(m);
    free(att);
    return rc;
}
