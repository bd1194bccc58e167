/* IP-literal parser for certificate matching (see tls_ip.h). Written here
 * rather than taken from inet_pton because firmware builds have no sockets
 * API, and the strict rules (no octal-looking parts) matter for matching. */
#include "tls_ip.h"

#include <string.h>

int smtpc_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly n characters of s form a dotted quad. */
static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0'))
            return 0;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

/* Exactly n characters of s form an IPv6 address. */
static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
    uint8_t words[16];
    int count = 0;      /* bytes filled so far */
    int gap = -1;       /* byte index where "::" stands */
    size_t i = 0;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return 0;
    }
    while (i < n) {
        if (count >= 16)
            return 0;
        /* A dotted quad may end the address (::ffff:192.0.2.1). */
        size_t end = i;
        while (end < n && s[end] != ':')
            end++;
        if (end == n && memchr(s + i, '.', n - i)) {
            if (count > 12 || !parse_v4(s + i, n - i, words + count))
                return 0;
            count += 4;
            i = n;
            break;
        }
        unsigned v = 0;
        size_t digits = 0;
        while (i < n && s[i] != ':') {
            int h = smtpc_hex_digit(s[i]);
            if (h < 0 || ++digits > 4)
                return 0;
            v = (v << 4) | (unsigned)h;
            i++;
        }
        if (digits == 0)
            return 0;
        words[count++] = (uint8_t)(v >> 8);
        words[count++] = (uint8_t)v;
        if (i == n)
            break;
        i++; /* the ':' */
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return 0;
            gap = count;
            i++;
        } else if (i == n) {
            return 0; /* a single trailing ':' */
        }
    }
    if (gap < 0) {
        if (count != 16)
            return 0;
        memcpy(out, words, 16);
        return 1;
    }
    /* "::" must stand for at least one zero group. */
    if (count > 14)
        return 0;
    memset(out, 0, 16);
    memcpy(out, words, (size_t)gap);
    memcpy(out + 16 - (count - gap), words + gap, (size_t)(count - gap));
    return 1;
}

int smtpc_tls_parse_ip(const char *s, uint8_t out[16])
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n > 45)
        return 0;
    if (memchr(s, ':', n))
        return parse_v6(s, n, out) ? 16 : 0;
    return parse_v4(s, n, out) ? 4 : 0;
}
