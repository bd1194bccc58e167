/* Shared by the C send benchmarks: the messages every client sends and the
 * measurements every client reports, so that smtpc, libcurl and smtplib
 * (bench_send_smtplib.py mirrors this file) put the same bytes on the wire
 * and are measured the same way.
 *
 * Scenarios:
 *   small  COUNT messages (default 2000), 1 recipient, 1 KiB body
 *   multi  COUNT messages (default 200), 3 recipients, 1 KiB body
 *   big    one message with a COUNT MiB body (default 64)
 *
 * Body lines are 62 characters + CRLF (64 bytes), rotating through a
 * 62-character alphabet, so none starts with a dot and the body is 7-bit:
 * no client has to stuff or declare anything, and the work compared is the
 * SMTP exchange itself. */
#ifndef BENCH_SEND_COMMON_H
#define BENCH_SEND_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_FROM "sender@example.org"
#define BENCH_LINE 64
#define BENCH_SMALL_BODY 1024
/* The alphabet has 62 letters, so line patterns repeat every 62 lines. */
#define BENCH_BLOCK_LINES 62
#define BENCH_BLOCK (BENCH_BLOCK_LINES * BENCH_LINE)

static const char *const bench_rcpts[] = {"rcpt1@example.org", "rcpt2@example.org",
                                          "rcpt3@example.org"};

typedef struct {
    int big;          /* one streamed message instead of many small ones */
    long count;       /* messages (small, multi) or MiB of body (big) */
    size_t n_rcpts;
    char header[256]; /* header block, blank line included */
    size_t header_len;
    char block[BENCH_BLOCK]; /* one period of body lines */
} bench_scenario;

static inline void bench_fill_block(char *block)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int i = 0; i < BENCH_BLOCK_LINES; i++) {
        char *line = block + i * BENCH_LINE;
        for (int j = 0; j < BENCH_LINE - 2; j++)
            line[j] = alphabet[(i + j) % 62];
        line[BENCH_LINE - 2] = '\r';
        line[BENCH_LINE - 1] = '\n';
    }
}

/* Parses "SCENARIO [COUNT]"; returns 0, or -1 after printing why. */
static inline int bench_parse(bench_scenario *s, int argc, char **argv, int first)
{
    memset(s, 0, sizeof *s);
    if (argc <= first) {
        fprintf(stderr, "missing scenario (small|multi|big)\n");
        return -1;
    }
    const char *name = argv[first];
    if (strcmp(name, "small") == 0) {
        s->count = 2000;
        s->n_rcpts = 1;
    } else if (strcmp(name, "multi") == 0) {
        s->count = 200;
        s->n_rcpts = 3;
    } else if (strcmp(name, "big") == 0) {
        s->count = 64;
        s->n_rcpts = 1;
        s->big = 1;
    } else {
        fprintf(stderr, "unknown scenario %s\n", name);
        return -1;
    }
    if (argc > first + 1)
        s->count = strtol(argv[first + 1], NULL, 10);
    if (s->count <= 0) {
        fprintf(stderr, "bad count\n");
        return -1;
    }
    int n = snprintf(s->header, sizeof s->header,
                     "From: <" BENCH_FROM ">\r\nTo: %s%s%s%s%s\r\nSubject: smtpc send bench %s\r\n\r\n",
                     bench_rcpts[0], s->n_rcpts > 1 ? ", " : "", s->n_rcpts > 1 ? bench_rcpts[1] : "",
                     s->n_rcpts > 2 ? ", " : "", s->n_rcpts > 2 ? bench_rcpts[2] : "", name);
    s->header_len = (size_t)n;
    bench_fill_block(s->block);
    return 0;
}

static inline int64_t bench_body_len(const bench_scenario *s)
{
    return s->big ? (int64_t)s->count * 1024 * 1024 : BENCH_SMALL_BODY;
}

static inline int64_t bench_message_len(const bench_scenario *s)
{
    return (int64_t)s->header_len + bench_body_len(s);
}

/* A read position in the message, so a 64 MiB body never exists in memory:
 * header first, then the body block over and over (its lines stay whole
 * because the block is a multiple of the line length). */
typedef struct {
    const bench_scenario *s;
    int64_t pos;
} bench_source;

static inline size_t bench_source_read(bench_source *src, uint8_t *buf, size_t cap)
{
    const bench_scenario *s = src->s;
    int64_t total = bench_message_len(s);
    size_t n = 0;
    while (n < cap && src->pos < total) {
        const char *from;
        size_t avail;
        if (src->pos < (int64_t)s->header_len) {
            from = s->header + src->pos;
            avail = s->header_len - (size_t)src->pos;
        } else {
            int64_t off = (src->pos - (int64_t)s->header_len) % BENCH_BLOCK;
            from = s->block + off;
            avail = (size_t)(BENCH_BLOCK - off);
            if ((int64_t)avail > total - src->pos)
                avail = (size_t)(total - src->pos);
        }
        if (avail > cap - n)
            avail = cap - n;
        memcpy(buf + n, from, avail);
        n += avail;
        src->pos += (int64_t)avail;
    }
    return n;
}

/* The whole small message in one buffer (what an application sending many
 * short messages would hold). Caller frees. */
static inline uint8_t *bench_small_message(const bench_scenario *s, size_t *len)
{
    size_t n = (size_t)bench_message_len(s);
    uint8_t *m = malloc(n);
    if (!m)
        return NULL;
    bench_source src = {s, 0};
    *len = bench_source_read(&src, m, n);
    return m;
}

typedef struct {
    struct timespec wall;
    struct rusage ru;
} bench_mark;

static inline void bench_mark_now(bench_mark *m)
{
    clock_gettime(CLOCK_MONOTONIC, &m->wall);
    getrusage(RUSAGE_SELF, &m->ru);
}

static inline double bench_tv(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* One line the runner parses. CPU is user+sys over the measured section
 * only; peak RSS is the process's whole life (that is all the kernel
 * keeps). */
static inline void bench_report(const char *client, const bench_scenario *s, long messages,
                                const bench_mark *a, const bench_mark *b)
{
    double wall = (double)(b->wall.tv_sec - a->wall.tv_sec) +
                  (double)(b->wall.tv_nsec - a->wall.tv_nsec) / 1e9;
    double cpu = bench_tv(&b->ru.ru_utime) - bench_tv(&a->ru.ru_utime) +
                 bench_tv(&b->ru.ru_stime) - bench_tv(&a->ru.ru_stime);
    printf("client=%s messages=%ld rcpts=%zu bytes=%lld wall_s=%.6f cpu_s=%.6f maxrss_kb=%ld\n",
           client, messages, s->n_rcpts, (long long)(bench_message_len(s) * messages), wall, cpu,
           b->ru.ru_maxrss);
}

#endif
