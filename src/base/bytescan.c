/* See bytescan.h. */
#include "bytescan.h"

#include <string.h>

#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u

/* Whether any byte of v is zero: exact (a borrow starts only at a zero
 * byte, so no match is ever reported without one). */
static int any_zero(uint64_t v)
{
    return ((v - ONES) & ~v & HIGHS) != 0;
}

size_t smtpc_plain_run(const uint8_t *p, size_t n, uint8_t *seen)
{
    size_t i = 0;
    uint64_t acc = 0;
    while (n - i >= 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (any_zero(v ^ (ONES * '\r')) || any_zero(v ^ (ONES * '\n')))
            break;
        acc |= v;
        i += 8;
    }
    acc |= acc >> 32;
    acc |= acc >> 16;
    acc |= acc >> 8;
    uint8_t high = (uint8_t)acc;
    while (i < n && p[i] != '\r' && p[i] != '\n')
        high |= p[i++];
    *seen |= high;
    return i;
}
