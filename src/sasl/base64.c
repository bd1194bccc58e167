/* Base64 for SASL: the MIME encoder's chunks (base64_stream.c, over
 * libb64) without line breaks, and a strict validator in front of libb64's
 * decoder because it silently skips any byte outside the alphabet (a
 * corrupted 334 must be refused, not half-read). Builds without libb64
 * decode the validated input here. */
#include "smtpc_config.h"
#if SMTPC_HAVE_LIBB64
#include <b64/cdecode.h>
#endif
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "base64_stream.h"
#include "sasl_mech.h"
#include "smtpc/base.h"

size_t smtpc_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (!out || (!in && len))
        return 0;
    size_t need = 4 * ((len + 2) / 3);
    if (len > (SIZE_MAX - 3) / 4 * 3 || cap < need + 1)
        return 0;
    /* The MIME line encoder's chunks, without its line breaks: a chunk is
     * a multiple of 3 bytes, so only the last one pads. */
    size_t n = 0;
    while (len) {
        size_t take = len < SMTPC_BASE64_LINE_IN ? len : SMTPC_BASE64_LINE_IN;
        n += smtpc_base64_chunk_secret(in, take, out + n);
        in += take;
        len -= take;
    }
    out[n] = '\0';
    return n;
}

static int b64_value(unsigned char c)
{
    /* A search of the encoder's table: a challenge is short and decoded
     * once, so the table costs less than range tests for each class. */
    const char *p = memchr(smtpc_base64_alphabet, c, sizeof smtpc_base64_alphabet);
    return p ? (int)(p - smtpc_base64_alphabet) : -1;
}

int smtpc_b64_check_strict(const char *in, size_t len, size_t *out_len)
{
    *out_len = 0;
    if (len % 4)
        return SMTPC_EAUTH_PROTO;
    if (len == 0)
        return SMTPC_OK;
    size_t pad = 0;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    int v = 0;
    for (size_t i = 0; i < len - pad; i++)
        if ((v = b64_value((unsigned char)in[i])) < 0)
            return SMTPC_EAUTH_PROTO;
    /* The last character's bits past the data (4 with "==", 2 with "=")
     * must be zero. */
    if (v & ((1 << 2 * pad) - 1))
        return SMTPC_EAUTH_PROTO;
    *out_len = len / 4 * 3 - pad;
    return SMTPC_OK;
}

int smtpc_b64_decode_strict(const char *in, size_t len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    if ((!in && len) || !out_len || (!out && cap))
        return SMTPC_EINVAL;
    *out_len = 0;
    if (len > INT_MAX)
        return SMTPC_ETOOLONG;
    size_t n;
    if (smtpc_b64_check_strict(in, len, &n))
        return SMTPC_EAUTH_PROTO;
    if (n > cap)
        return SMTPC_ETOOLONG;
    if (n == 0)
        return SMTPC_OK;
#if SMTPC_HAVE_LIBB64
    base64_decodestate st;
    /* libb64 writes one byte past the data when it meets padding, so the
     * last quartet goes through a scratch buffer. */
    size_t body = len - 4;
    base64_init_decodestate(&st);
    size_t got = (size_t)base64_decode_block(in, (int)body, (char *)out, &st);
    char last[4];
    base64_init_decodestate(&st);
    size_t tail = (size_t)base64_decode_block(in + body, 4, last, &st);
    memcpy(out + got, last, tail);
    smtpc_zeroize(last, sizeof last);
    smtpc_zeroize(&st, sizeof st);
    *out_len = got + tail;
#else
    /* smtpc_b64_check_strict checked every character and the padding:
     * decode. */
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && in[i] != '='; i++) {
        acc = (acc << 6) | (uint32_t)b64_value((unsigned char)in[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[w++] = (uint8_t)(acc >> bits);
        }
    }
    acc = 0;
    *out_len = w;
#endif
    return SMTPC_OK;
}

void smtpc_b64_writer_init(smtpc_b64_writer *w, char *out, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->cap = cap;
    if (out && cap)
        out[0] = '\0';
}

/* Encode the group, padded when it is short; its 4 characters and the NUL
 * after them must fit, so the writer overflows exactly when the whole
 * encoding and its NUL do not. */
static void flush_group(smtpc_b64_writer *w)
{
    if (!w->overflow && w->out && w->cap - w->len >= 5)
        w->len += smtpc_base64_chunk_secret(w->group, w->group_len, w->out + w->len);
    else
        w->overflow = 1;
    smtpc_zeroize(w->group, sizeof w->group);
    w->group_len = 0;
}

void smtpc_b64_writer_put(smtpc_b64_writer *w, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        w->group[w->group_len++] = p[i];
        if (w->group_len == sizeof w->group)
            flush_group(w);
    }
}

void smtpc_b64_writer_puts(smtpc_b64_writer *w, const char *s)
{
    smtpc_b64_writer_put(w, s, strlen(s));
}

int smtpc_b64_writer_finish(smtpc_b64_writer *w)
{
    if (w->group_len)
        flush_group(w);
    if (!w->out || w->cap == 0)
        return SMTPC_ETOOLONG;
    if (w->overflow) {
        w->out[0] = '\0';
        w->len = 0;
        return SMTPC_ETOOLONG;
    }
    w->out[w->len] = '\0';
    return SMTPC_OK;
}
