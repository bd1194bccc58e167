/* xtext encoding (RFC 3461 section 4). */
#include "xtext.h"

#include <stdint.h>

static int plain(uint8_t c)
{
    return c >= '!' && c <= '~' && c != '+' && c != '=';
}

size_t smtpc_xtext_len(const char *in, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += plain((uint8_t)in[i]) ? 1 : 3;
    return n;
}

size_t smtpc_xtext_encode(const char *in, size_t len, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)in[i];
        if (plain(c)) {
            out[n++] = (char)c;
        } else {
            out[n++] = '+';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    return n;
}
