/* MIME base64 lines, encoded straight into the caller's buffer: each
 * 57-byte group becomes one 76-character line and its CRLF in a single
 * pass, three input bytes to four characters at a time. (libb64, which this
 * used to wrap, inserts its own LF every 72 characters; removing them cost
 * a scratch copy and a scan per line, and its byte-at-a-time state machine
 * is slower than this loop.) */
#include "base64_stream.h"

const char smtpc_base64_alphabet[64] = {
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
    'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f',
    'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
    'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '/'};

size_t smtpc_base64_chunk(const uint8_t *in, size_t len, char *out)
{
    char *o = out;
    /* One loop for whole groups and the last, short one: its missing bytes
     * count as zeros, and the characters past the data become padding. */
    for (; len > 0; in += 3, o += 4) {
        size_t n = len < 3 ? len : 3;
        uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0) |
                     (n > 2 ? in[2] : 0);
        o[0] = smtpc_base64_alphabet[v >> 18];
        o[1] = smtpc_base64_alphabet[(v >> 12) & 63];
        o[2] = n > 1 ? smtpc_base64_alphabet[(v >> 6) & 63] : '=';
        o[3] = n > 2 ? smtpc_base64_alphabet[v & 63] : '=';
        len -= n;
    }
    return (size_t)(o - out);
}

size_t smtpc_base64_chunk_secret(const uint8_t *in, size_t len, char *out)
{
    /* The encoder keeps no copy of its input outside registers and out,
     * so there is no scratch to wipe. */
    return smtpc_base64_chunk(in, len, out);
}

size_t smtpc_base64_lines(const uint8_t *in, size_t len, int final, size_t *consumed,
                          uint8_t *out, size_t cap)
{
    size_t ip = 0, op = 0;
    /* Whole lines first: a fixed 19 groups each, which the compiler
     * unrolls. */
    while (len - ip >= SMTPC_BASE64_LINE_IN && cap - op >= SMTPC_BASE64_LINE_OUT) {
        op += smtpc_base64_chunk(in + ip, SMTPC_BASE64_LINE_IN, (char *)out + op);
        out[op++] = '\r';
        out[op++] = '\n';
        ip += SMTPC_BASE64_LINE_IN;
    }
    size_t take = len - ip;
    if (final && take > 0 && take < SMTPC_BASE64_LINE_IN && cap - op >= 4 * ((take + 2) / 3) + 2) {
        op += smtpc_base64_chunk(in + ip, take, (char *)out + op);
        out[op++] = '\r';
        out[op++] = '\n';
        ip += take;
    }
    *consumed = ip;
    return op;
}

uint64_t smtpc_base64_encoded_size(uint64_t n)
{
    /* Whole lines, then the last one's characters: one 64-bit division, and
     * no n + k rounding (it would wrap near UINT64_MAX). */
    uint64_t full = n / SMTPC_BASE64_LINE_IN;
    unsigned rest = (unsigned)(n % SMTPC_BASE64_LINE_IN);
    uint64_t lines = full + (rest != 0);
    if (lines > UINT64_MAX / SMTPC_BASE64_LINE_OUT)
        return UINT64_MAX;
    return SMTPC_BASE64_LINE_OUT * full + (rest ? 4 * ((rest + 2) / 3) + 2 : 0);
}
