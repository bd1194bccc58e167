/* See bytescan.h. */
#include "bytescan.h"

#include <string.h>

/* A word at a time, the machine's own size: 8 bytes on 64-bit hosts, 4 on
 * 32-bit targets, where 64-bit words would take pairs of registers. */
typedef size_t word;
#define ONES ((word)-1 / 0xff)
#define HIGHS (ONES * 0x80)

/* Whether any byte of v is zero: exact (a borrow starts only at a zero
 * byte, so no match is ever reported without one). */
static int any_zero(word v)
{
    return ((v - ONES) & ~v & HIGHS) != 0;
}

size_t smtpc_plain_run(const uint8_t *p, size_t n, uint8_t *seen)
{
    size_t i = 0;
    word acc = 0;
    while (n - i >= sizeof acc) {
        word v;
        memcpy(&v, p + i, sizeof v);
        if (any_zero(v ^ (ONES * '\r')) || any_zero(v ^ (ONES * '\n')))
            break;
        acc |= v;
        i += sizeof v;
    }
    /* Every byte's high bit folded into the low byte. */
    for (unsigned shift = sizeof acc * 4; shift >= 8; shift /= 2)
        acc |= acc >> shift;
    uint8_t high = (uint8_t)acc;
    while (i < n && p[i] != '\r' && p[i] != '\n')
        high |= p[i++];
    *seen |= high;
    return i;
}

int smtpc_has_8bit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)s[i] >= 0x80)
            return 1;
    return 0;
}

int smtpc_utf8_check(const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = s[i++];
        if (cp < 0x80)
            continue;
        /* continuation bytes: 1 after C2..DF, 2 after E0..EF, 3 after F0..F4 */
        unsigned n = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : 1;
        if (cp < 0xc2 || cp > 0xf4 || len - i < n)
            return -1;
        cp &= 0x3fu >> n;
        for (unsigned k = n; k; k--, i++) {
            if ((s[i] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong (below 0x800 in three bytes, 0x10000 in four; C2 rules
         * it out in two), past U+10FFFF, or a surrogate. */
        if (!(cp >> (5 * n + 1)) || cp > 0x10ffff || (cp >> 11) == 0x1b)
            return -1;
    }
    return 0;
}
