/* MIME base64 lines over libb64, or over the built-in encoder in builds
 * without libb64 (-Dlibb64=disabled: targets with no libb64 build). */
#include "base64_stream.h"
#include "alloc.h"
#include "smtpc_config.h"

#include <string.h>

#if SMTPC_HAVE_LIBB64
#include <b64/cencode.h>

static size_t chunk(const uint8_t *in, size_t len, char *out, int secret)
{
    /* libb64 may insert '\n' (after 72 characters, and after the final
     * block), so it writes into scratch and only the alphabet is kept. A
     * fresh state per chunk keeps its line counter from carrying over. */
    char tmp[2 * SMTPC_BASE64_LINE_OUT];
    base64_encodestate st;
    base64_init_encodestate(&st);
    int n = base64_encode_block((const char *)in, (int)len, tmp, &st);
    n += base64_encode_blockend(tmp + n, &st);
    size_t w = 0, r = 0, total = (size_t)n;
    while (r < total) {
        const char *nl = memchr(tmp + r, '\n', total - r);
        size_t run = nl ? (size_t)(nl - (tmp + r)) : total - r;
        memcpy(out + w, tmp + r, run);
        w += run;
        r += run + 1;
    }
    if (secret) {
        smtpc_zeroize(tmp, total);
        smtpc_zeroize(&st, sizeof st);
    }
    return w;
}
#else
static size_t chunk(const uint8_t *in, size_t len, char *out, int secret)
{
    /* Straight into out: no scratch copy, so nothing for secret to wipe. */
    (void)secret;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t w = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[w++] = alphabet[v >> 18];
        out[w++] = alphabet[(v >> 12) & 63];
        out[w++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[w++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    return w;
}
#endif

size_t smtpc_base64_chunk(const uint8_t *in, size_t len, char *out)
{
    return chunk(in, len, out, 0);
}

size_t smtpc_base64_chunk_secret(const uint8_t *in, size_t len, char *out)
{
    return chunk(in, len, out, 1);
}

size_t smtpc_base64_lines(const uint8_t *in, size_t len, int final, size_t *consumed,
                          uint8_t *out, size_t cap)
{
    size_t ip = 0, op = 0;
    while (ip < len) {
        size_t take = len - ip;
        if (take > SMTPC_BASE64_LINE_IN)
            take = SMTPC_BASE64_LINE_IN;
        else if (take < SMTPC_BASE64_LINE_IN && !final)
            break;
        size_t need = 4 * ((take + 2) / 3) + 2;
        if (cap - op < need)
            break;
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
    /* No n + k rounding: it would wrap near UINT64_MAX. */
    uint64_t lines = n / SMTPC_BASE64_LINE_IN + (n % SMTPC_BASE64_LINE_IN != 0);
    uint64_t quads = n / 3 + (n % 3 != 0);
    if (lines > UINT64_MAX / SMTPC_BASE64_LINE_OUT)
        return UINT64_MAX;
    return 4 * quads + 2 * lines;
}
