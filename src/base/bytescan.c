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
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return -1;
        }
        if (len - i < n)
            return -1;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        i += n;
    }
    return 0;
}
