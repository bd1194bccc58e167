/* Keeping credentials out of what the server says back.
 *
 * Some servers quote the command they refuse ("500 Syntax error in
 * "AUTH PLAIN AGFs...""), which would carry the base64 credentials into the
 * trace, the error record and the per-recipient texts. After a secret line
 * has been sent, every reply is filtered: a run of base64 characters that
 * starts like one of those lines is replaced, to its end, so an echo cut
 * short by the server is caught too; so is the raw password or token. */
#include <string.h>

#include "alloc.h"
#include "engine_internal.h"

#define REDACTED "<redacted>"
/* Matched characters that identify an echo: at the start of a word a short
 * match is already unlikely to be chance; inside a longer run ask for more. */
#define MATCH_AT_WORD 4
#define MATCH_IN_RUN 8
/* A raw secret shorter than this is not searched for: it would blank out
 * ordinary words. */
#define RAW_SECRET_MIN 4

static int is_b64(char c)
{
    unsigned u = (unsigned char)c;
    /* u | 0x20 folds A-Z onto a-z and nothing else onto them. */
    return (u | 0x20) - 'a' < 26 || u - '0' < 10 || u == '+' || u == '/' || u == '=';
}

void smtpc_engine_note_secret(smtpc_engine *e, const char *line, size_t len)
{
    if (len == 0)
        return;
    smtpc_secret_mark *m = &e->secrets[e->secrets_n % SMTPC_SECRET_MARKS];
    e->secrets_n++;
    m->keep = len < SMTPC_SECRET_PREFIX ? len : SMTPC_SECRET_PREFIX;
    m->len = len;
    memcpy(m->prefix, line, m->keep);
}

/* Length of the echo of a noted secret line starting at in[i], 0 if none. */
static size_t echo_at(const smtpc_engine *e, const char *in, size_t len, size_t i)
{
    if (!is_b64(in[i]))
        return 0;
    int word_start = i == 0 || !is_b64(in[i - 1]);
    size_t marks = e->secrets_n < SMTPC_SECRET_MARKS ? e->secrets_n : SMTPC_SECRET_MARKS;
    for (size_t k = 0; k < marks; k++) {
        const smtpc_secret_mark *m = &e->secrets[k];
        size_t same = 0;
        while (same < m->keep && i + same < len && in[i + same] == m->prefix[same])
            same++;
        size_t need = word_start ? MATCH_AT_WORD : MATCH_IN_RUN;
        if (need > m->len)
            need = m->len;
        if (same >= need) {
            size_t end = i;
            while (end < len && is_b64(in[end]))
                end++;
            return end - i;
        }
    }
    return 0;
}

static size_t raw_at(const smtpc_engine *e, const char *in, size_t len, size_t i)
{
    if (!e->auth_secret)
        return 0;
    size_t n = strlen(e->auth_secret);
    if (n < RAW_SECRET_MIN || n > len - i || memcmp(in + i, e->auth_secret, n) != 0)
        return 0;
    return n;
}

static size_t redact(const smtpc_engine *e, const char *in, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < len && o < cap - 1;) {
        size_t skip = 0;
        if (e->secrets_n) {
            skip = echo_at(e, in, len, i);
            if (!skip)
                skip = raw_at(e, in, len, i);
        }
        if (skip) {
            size_t n = sizeof REDACTED - 1;
            if (n > cap - 1 - o)
                n = cap - 1 - o;
            memcpy(out + o, REDACTED, n);
            o += n;
            i += skip;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
    return o;
}

#if SMTPC_HAVE_TRACES
/* For the trace of a reply line; without traces the reply's redaction
 * below is the only caller, and gets the copy inlined. */
size_t (smtpc_engine_redact)(const smtpc_engine *e, const char *in, size_t len, char *out,
                             size_t cap)
{
    return redact(e, in, len, out, cap);
}
#endif

void smtpc_engine_redact_reply(smtpc_engine *e)
{
    if (!e->secrets_n)
        return;
    smtpc_reply *r = &e->parser.reply;
    char *clean = e->redact_buf;
    if (!clean) { /* secrets come only with credentials, and so does this */
        r->text[0] = '\0';
        r->text_len = 0;
        return;
    }
    size_t n = redact(e, r->text, r->text_len, clean, SMTPC_REPLY_TEXT_MAX);
    memcpy(r->text, clean, n + 1);
    r->text_len = n;
    smtpc_zeroize(clean, SMTPC_REPLY_TEXT_MAX);
}
