/* Helpers shared by the fuzz harnesses (see fuzz_common.h). */
#include "fuzz_common.h"
#include "test_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    abort();
}

uint8_t fuzz_byte(fuzz_input *in)
{
    return in->pos < in->len ? in->data[in->pos++] : 0;
}

const uint8_t *fuzz_bytes(fuzz_input *in, size_t n, size_t *got)
{
    size_t left = in->len - in->pos;
    const uint8_t *p = in->data + in->pos;
    if (n > left)
        n = left;
    in->pos += n;
    *got = n;
    return p;
}

void fuzz_rng_seed(fuzz_rng *r, uint32_t seed)
{
    r->state = seed * 2654435761u + 1u; /* never zero for xorshift */
    if (!r->state)
        r->state = 1;
}

uint32_t fuzz_rng_next(fuzz_rng *r)
{
    return test_xorshift32(&r->state);
}

size_t fuzz_rng_size(fuzz_rng *r, size_t max)
{
    return max ? 1 + fuzz_rng_next(r) % max : 0;
}

void fuzz_buf_put(fuzz_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown)
            abort();
        b->data = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void fuzz_buf_free(fuzz_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void fuzz_normalise_body(const uint8_t *in, size_t len, fuzz_buf *out)
{
    static const uint8_t crlf[2] = {'\r', '\n'};
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r') {
            fuzz_buf_put(out, crlf, 2);
            if (i + 1 < len && in[i + 1] == '\n')
                i++;
        } else if (in[i] == '\n') {
            fuzz_buf_put(out, crlf, 2);
        } else {
            fuzz_buf_put(out, &in[i], 1);
        }
    }
    if (len && in[len - 1] != '\r' && in[len - 1] != '\n')
        fuzz_buf_put(out, crlf, 2);
}

void fuzz_unstuff_body(const uint8_t *wire, size_t len, fuzz_buf *out)
{
    static const uint8_t crlf[2] = {'\r', '\n'};
    size_t start = 0;
    int terminated = 0;
    for (size_t i = 0; i < len; i++) {
        /* Only CRLF ends a line: a bare CR or LF is what smuggling needs. */
        if (wire[i] == '\r')
            FUZZ_CHECK(i + 1 < len && wire[i + 1] == '\n');
        if (wire[i] == '\n')
            FUZZ_CHECK(i > 0 && wire[i - 1] == '\r');
        if (wire[i] != '\n')
            continue;
        const uint8_t *line = wire + start;
        size_t n = i - 1 - start;
        FUZZ_CHECK(!terminated); /* nothing after the terminator */
        if (n == 1 && line[0] == '.') {
            terminated = 1;
        } else {
            if (n && line[0] == '.') {
                /* Stuffed: a leading dot always comes doubled. */
                FUZZ_CHECK(n >= 2 && line[1] == '.');
                line++;
                n--;
            }
            fuzz_buf_put(out, line, n);
            fuzz_buf_put(out, crlf, 2);
        }
        start = i + 1;
    }
    FUZZ_CHECK(terminated && start == len);
}
