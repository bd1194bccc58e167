/* See fmt.h. */
#include "fmt.h"

char *smtpc_fmt_u64(char *buf, uint64_t v, unsigned min_digits)
{
    char digits[SMTPC_FMT_INT_MAX];
    unsigned n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < min_digits && n < SMTPC_FMT_INT_MAX - 1)
        digits[n++] = '0';
    for (unsigned i = 0; i < n; i++)
        buf[i] = digits[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

char *smtpc_fmt_i64(char *buf, int64_t v, unsigned min_digits)
{
    if (v >= 0)
        return smtpc_fmt_u64(buf, (uint64_t)v, min_digits);
    buf[0] = '-';
    /* -(v + 1) + 1 stays in range for INT64_MIN. */
    smtpc_fmt_u64(buf + 1, (uint64_t)(-(v + 1)) + 1, min_digits > 19 ? 19 : min_digits);
    return buf;
}
