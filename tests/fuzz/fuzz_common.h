/* Shared by the fuzz harnesses: the libFuzzer entry point, an input cursor,
 * a split-size generator and the reference model of the DATA body encoding.
 * Their checking allocator is tests/common/test_alloc.h. */
#ifndef SMTPC_FUZZ_COMMON_H
#define SMTPC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() with a message: libFuzzer and the replay driver both report it as
 * a crash and keep the input. Used instead of assert() so that the checks
 * stay in release builds. */
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            fuzz_fail(__FILE__, __LINE__, #cond);                             \
    } while (0)
void fuzz_fail(const char *file, int line, const char *what);

/* Consumes the input from the front. Reads past the end give zeros. */
typedef struct fuzz_input {
    const uint8_t *data;
    size_t len;
    size_t pos;
} fuzz_input;
uint8_t fuzz_byte(fuzz_input *in);
/* Up to n bytes; *got receives how many were available. */
const uint8_t *fuzz_bytes(fuzz_input *in, size_t n, size_t *got);

/* Split sizes: deterministic for a given seed, so a crash replays. */
typedef struct fuzz_rng {
    uint32_t state;
} fuzz_rng;
void fuzz_rng_seed(fuzz_rng *r, uint32_t seed);
uint32_t fuzz_rng_next(fuzz_rng *r);
/* 1..max (max 0 gives 0). */
size_t fuzz_rng_size(fuzz_rng *r, size_t max);

/* A growable byte buffer (aborts when memory runs out: harness only). */
typedef struct fuzz_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} fuzz_buf;
void fuzz_buf_put(fuzz_buf *b, const void *p, size_t n);
void fuzz_buf_free(fuzz_buf *b);

/* What the body must become on the wire before stuffing: every line end
 * (CRLF, bare CR, bare LF) a CRLF, and an unterminated last line completed. */
void fuzz_normalise_body(const uint8_t *in, size_t len, fuzz_buf *out);
/* Checks an encoded body (dot-stuffed, ending in the terminator) and decodes
 * it the way a receiver does: only CRLF line ends, exactly one line that is
 * "." and it is the last, one leading dot removed from the others. wire is
 * what followed the CRLF that ended the DATA command. */
void fuzz_unstuff_body(const uint8_t *wire, size_t len, fuzz_buf *out);

#endif
