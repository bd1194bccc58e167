/* See fmt.h. */
#include "fmt.h"

#include <string.h>

char *smtpc_fmt_u64(char *buf, uint64_t v, unsigned min_digits)
{
    /* Right to left from the NUL, then moved to the front. */
    char digits[SMTPC_FMT_INT_MAX];
    char *end = digits + sizeof digits - 1, *p = end;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (p > digits && (unsigned)(end - p) < min_digits)
        *--p = '0';
    memcpy(buf, p, (size_t)(end - p) + 1);
    return buf;
}

char *smtpc_fmt_i64(char *buf, int64_t v, unsigned min_digits)
{
    int neg = v < 0;
    buf[0] = '-'; /* overwritten when not negative */
    /* Unsigned negation stays in range for INT64_MIN. */
    smtpc_fmt_u64(buf + neg, neg ? 0 - (uint64_t)v : (uint64_t)v,
                  neg && min_digits > 19 ? 19 : min_digits);
    return buf;
}
