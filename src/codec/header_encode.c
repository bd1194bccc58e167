/* Header folding, RFC 2047 encoded-words and RFC 2231 parameters. */
#include "header_encode.h"

#include <stdio.h>
#include <string.h>

#include "base64_stream.h"
#include "command_writer.h" /* smtpc_is_atext */
#include "smtpc/base.h"
#include "smtpc_config.h"

/* "=?UTF-8?B?" + "?=" */
#define EW_OVERHEAD 12
/* An encoded-word shorter than this is not worth starting at the end of a
 * line: fold and start a full one instead. */
#define EW_MIN 24

void smtpc_hsink_init(smtpc_hsink *s, uint8_t *buf, size_t cap, uint64_t skip)
{
    s->buf = buf;
    s->cap = cap;
    s->skip = skip;
    s->total = 0;
    s->len = 0;
}

void smtpc_hsink_put(smtpc_hsink *s, const void *p, size_t n)
{
    const uint8_t *src = p;
    uint64_t start = s->total;
    size_t off; /* where the part in the window goes in buf */
    s->total += n;
    if (!s->buf || !n)
        return;
    if (start >= s->skip) {
        if (start - s->skip >= s->cap)
            return;
        off = (size_t)(start - s->skip);
    } else {
        uint64_t before = s->skip - start;
        if (before >= n)
            return;
        src += before;
        n -= (size_t)before;
        off = 0;
    }
    if (n > s->cap - off)
        n = s->cap - off;
    memcpy(s->buf + off, src, n);
    s->len = off + n;
}

void smtpc_hsink_str(smtpc_hsink *s, const char *str)
{
    smtpc_hsink_put(s, str, strlen(str));
}

void smtpc_hfold_begin(smtpc_hfold *f, smtpc_hsink *out, const char *name, int utf8)
{
    f->out = out;
    f->utf8 = utf8;
    smtpc_hsink_str(out, name);
    smtpc_hsink_put(out, ":", 1);
    f->col = strlen(name) + 1;
    f->tokens = 0;
}

/* Fold if needed, write ws, and account for a token of tok_len bytes that
 * the caller writes itself (in pieces). */
static void tok_begin(smtpc_hfold *f, const char *ws, size_t ws_len, size_t tok_len)
{
    if (ws_len > 0 && f->tokens > 0 && f->col + ws_len + tok_len > SMTPC_HEADER_FOLD) {
        smtpc_hsink_put(f->out, "\r\n", 2);
        f->col = 0;
        f->tokens = 0;
    }
    smtpc_hsink_put(f->out, ws, ws_len);
    f->col += ws_len + tok_len;
    f->tokens++;
}

void smtpc_hfold_token(smtpc_hfold *f, const char *ws, size_t ws_len, const char *tok,
                       size_t tok_len)
{
    tok_begin(f, ws, ws_len, tok_len);
    smtpc_hsink_put(f->out, tok, tok_len);
}

void smtpc_hfold_tokstr(smtpc_hfold *f, const char *ws, const char *tok)
{
    smtpc_hfold_token(f, ws, strlen(ws), tok, strlen(tok));
}

void smtpc_hfold_end(smtpc_hfold *f)
{
    smtpc_hsink_put(f->out, "\r\n", 2);
    f->col = 0;
    f->tokens = 0;
}

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* "=?" anywhere: text a reader could take for an RFC 2047 encoded-word
 * (lenient readers decode one even inside a word or a quoted string), so
 * such text is always encoded itself and comes back literally. */
static int has_ew_marker(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '=' && s[i + 1] == '?')
            return 1;
    return 0;
}

/* A whitespace run can hold only one fold (RFC 5322 FWS): the run and the
 * word after it must then fit on one continuation line, else the line
 * would pass 78 (or 998) with a fold point in it. A single space before a
 * long word is fine: that line holds one unbreakable token. */
static int run_fits(size_t run, size_t word)
{
    return run < 2 || run + word <= SMTPC_HEADER_FOLD;
}

int smtpc_header_value_check(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return SMTPC_EBADCHAR;
    }
    return smtpc_utf8_check(s, len) == 0 ? 0 : SMTPC_EHEADER;
}

#if SMTPC_HAVE_HEADER_ENCODING
/* Bytes in the UTF-8 sequence starting at s[i] (input already validated;
 * clamped so that malformed input still makes progress). */
static size_t char_len(const uint8_t *s, size_t i, size_t len)
{
    uint8_t c = s[i];
    size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    return n > len - i ? len - i : n;
}

static const char hexdig[] = "0123456789ABCDEF";

static int is_alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 2047 section 5: in a phrase only letters, digits and !*+-/ may stand
 * for themselves; elsewhere any printable ASCII but '=', '?' and '_'. */
static int q_literal(uint8_t c, int phrase)
{
    if (is_alnum(c))
        return 1;
    if (phrase)
        return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
    return c > 0x20 && c < 0x7f && c != '=' && c != '?' && c != '_';
}

static size_t q_cost(uint8_t c, int phrase)
{
    return (c == ' ' || q_literal(c, phrase)) ? 1 : 3;
}

/* Build one encoded-word of at most max_len characters from text[pos..),
 * whole UTF-8 sequences only. Returns the new position. */
static size_t ew_build(const uint8_t *t, size_t len, size_t pos, int use_b, int phrase,
                       size_t max_len, char *out, size_t *out_len)
{
    size_t payload_max = max_len - EW_OVERHEAD;
    size_t end = pos, o = 0;
    memcpy(out, use_b ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
    o = 10;
    if (use_b) {
        size_t bytes_max = payload_max / 4 * 3;
        while (end < len) {
            size_t n = char_len(t, end, len);
            if (end + n - pos > bytes_max && end > pos)
                break;
            end += n;
        }
        o += smtpc_base64_chunk(t + pos, end - pos, out + o);
    } else {
        size_t used = 0;
        while (end < len) {
            size_t n = char_len(t, end, len), cost = 0;
            for (size_t k = 0; k < n; k++)
                cost += q_cost(t[end + k], phrase);
            if (used + cost > payload_max && end > pos)
                break;
            for (size_t k = 0; k < n; k++) {
                uint8_t c = t[end + k];
                if (c == ' ') {
                    out[o++] = '_';
                } else if (q_literal(c, phrase)) {
                    out[o++] = (char)c;
                } else {
                    out[o++] = '=';
                    out[o++] = hexdig[c >> 4];
                    out[o++] = hexdig[c & 15];
                }
            }
            used += cost;
            end += n;
        }
    }
    out[o++] = '?';
    out[o++] = '=';
    *out_len = o;
    return end;
}

void smtpc_hfold_encoded(smtpc_hfold *f, const char *text, size_t len, int phrase,
                         const char *prefix, const char *suffix)
{
    const uint8_t *t = (const uint8_t *)text;
    size_t plen = strlen(prefix), slen = strlen(suffix);
    /* Q when it is no longer than B: readable for mostly-Latin text. */
    size_t qlen = 0;
    for (size_t i = 0; i < len; i++)
        qlen += q_cost(t[i], phrase);
    int use_b = qlen > 4 * ((len + 2) / 3);
    char tok[SMTPC_EW_MAX + 48];
    if (plen + slen + SMTPC_EW_MAX >= sizeof tok)
        return; /* callers pass short fixed prefixes; never reached */
    if (len == 0) {
        if (plen + slen)
            smtpc_hfold_token(f, " ", 1, tok, (size_t)snprintf(tok, sizeof tok, "%s%s",
                                                                 prefix, suffix));
        return;
    }
    size_t pos = 0;
    int first = 1;
    while (pos < len) {
        size_t lead = first ? plen : 0;
        size_t used = f->col + 1 + lead + slen;
        size_t room = used < SMTPC_HEADER_FOLD ? SMTPC_HEADER_FOLD - used : 0;
        size_t o = 0;
        if (first) {
            memcpy(tok, prefix, plen);
            o = plen;
        }
        /* What is left goes in one word when it can (fewer words, fewer
         * readers confused by adjacent ones); otherwise the first word fills
         * the rest of this line. */
        size_t wlen;
        size_t end = ew_build(t, len, pos, use_b, phrase, SMTPC_EW_MAX, tok + o, &wlen);
        if (end < len && room >= EW_MIN && room < SMTPC_EW_MAX)
            end = ew_build(t, len, pos, use_b, phrase, room, tok + o, &wlen);
        pos = end;
        o += wlen;
        if (pos >= len) {
            memcpy(tok + o, suffix, slen);
            o += slen;
        }
        smtpc_hfold_token(f, " ", 1, tok, o);
        first = 0;
    }
}

#endif

/* Length of s as a quoted-string, quotes included. */
static size_t quoted_len(const char *s, size_t len)
{
    size_t n = 2;
    for (size_t i = 0; i < len; i++)
        n += (s[i] == '"' || s[i] == '\\') ? 2 : 1;
    return n;
}

/* Length of s[0..len) inside a quoted-string (quoted-pairs counted). */
static size_t escaped_len(const char *s, size_t len)
{
    return quoted_len(s, len) - 2;
}

static void put_escaped(smtpc_hsink *out, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            smtpc_hsink_put(out, s + run, i - run);
            smtpc_hsink_put(out, "\\", 1);
            run = i;
        }
    }
    smtpc_hsink_put(out, s + run, len - run);
}

/* Write s as words folded at its whitespace runs, each run kept as it is
 * (it is where a line folds): bare words (unstructured text, without its
 * surrounding whitespace, or atoms) or one quoted-string (FWS is allowed inside; unfolding
 * removes only the CRLF, so the text is kept). Returns 1 when the text
 * cannot be folded so: a word over SMTPC_HEADER_TOKEN_MAX, or a whitespace
 * run and the word after it too long for one continuation line; such text
 * goes as encoded-words instead. f NULL only checks (no sink on the stack:
 * this sits on the deepest call path of the firmware build). */
static int fold_words(smtpc_hfold *f, const char *s, size_t len, int quoted)
{
    const char *p = s, *end = s + len, *ws = " ";
    size_t ws_len = 1;
    int bad = 0, open = quoted;
    while (!quoted && p < end && is_wsp(*p))
        p++;
    if (p == end)
        return 0;
    for (;;) {
        const char *w = p;
        while (p < end && !is_wsp(*p))
            p++;
        size_t tok = (size_t)(p - w);
        if (quoted)
            tok = escaped_len(w, tok) + (size_t)open + (p == end);
        if (tok > SMTPC_HEADER_TOKEN_MAX || !run_fits(ws_len, tok))
            bad = 1;
        if (f) {
            tok_begin(f, ws, ws_len, tok);
            if (open)
                smtpc_hsink_put(f->out, "\"", 1);
            if (quoted)
                put_escaped(f->out, w, (size_t)(p - w));
            else
                smtpc_hsink_put(f->out, w, (size_t)(p - w));
        }
        open = 0;
        if (p == end)
            break;
        ws = p;
        while (p < end && is_wsp(*p))
            p++;
        ws_len = (size_t)(p - ws);
        if (!quoted && p == end)
            break;
    }
    if (quoted && f)
        smtpc_hsink_put(f->out, "\"", 1);
    return bad;
}

#if SMTPC_HAVE_HEADER_ENCODING
/* text[*a, *b) is text without its surrounding whitespace. */
static void trim(const char *text, size_t len, size_t *a, size_t *b)
{
    *a = 0;
    *b = len;
    while (*a < *b && is_wsp(text[*a]))
        (*a)++;
    while (*b > *a && is_wsp(text[*b - 1]))
        (*b)--;
}

/* 1 when unstructured text goes as encoded-words (the surrounding
 * whitespace, dropped, changes nothing). */
static int unstructured_encodes(const char *t, size_t n, int utf8)
{
    return (!utf8 && smtpc_has_8bit(t, n)) || has_ew_marker(t, n) || fold_words(NULL, t, n, 0);
}
#endif

void smtpc_hfold_unstructured(smtpc_hfold *f, const char *text, size_t len)
{
#if SMTPC_HAVE_HEADER_ENCODING
    size_t a, b;
    trim(text, len, &a, &b);
    if (unstructured_encodes(text + a, b - a, f->utf8)) {
        smtpc_hfold_encoded(f, text + a, b - a, 0, "", "");
        return;
    }
#endif
    /* Without header encoding, such text was refused when it was set. */
    fold_words(f, text, len, 0);
}

/* Atoms separated by single spaces (no "=?": phrase_form rules it out
 * first, and without header encoding such a name was refused). */
static int is_atom_phrase(const char *s, size_t len, int utf8)
{
    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            if (s[i + 1] == ' ')
                return 0;
        } else if (!smtpc_is_atext((uint8_t)s[i], utf8)) {
            return 0;
        }
    }
    return 1;
}

#if SMTPC_HAVE_HEADER_ENCODING
/* An ASCII word that can stand as an atom next to encoded-words. */
static int plain_word(const char *w, size_t n)
{
    if (n == 0 || n > SMTPC_HEADER_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!smtpc_is_atext((uint8_t)w[i], 0) || (w[i] == '=' && i + 1 < n && w[i + 1] == '?'))
            return 0;
    return 1;
}

/* Encode only the runs of words that need it. Some readers (Python's email
 * parser among them) put a space between two encoded-words in a display
 * name although RFC 2047 says to drop it; splitting at the original spaces
 * keeps such readers right and most names in a single encoded-word. */
static void phrase_mixed(smtpc_hfold *f, const char *name, size_t len)
{
    int irregular = name[0] == ' ' || name[len - 1] == ' ' || memchr(name, '\t', len);
    for (size_t i = 0; i + 1 < len && !irregular; i++)
        irregular = name[i] == ' ' && name[i + 1] == ' ';
    if (irregular) {
        smtpc_hfold_encoded(f, name, len, 1, "", "");
        return;
    }
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && name[j] != ' ')
            j++;
        if (plain_word(name + i, j - i)) {
            smtpc_hfold_token(f, " ", 1, name + i, j - i);
            i = j + 1;
            continue;
        }
        size_t k = j;
        while (k < len) {
            size_t m = k + 1;
            while (m < len && name[m] != ' ')
                m++;
            if (plain_word(name + k + 1, m - k - 1))
                break;
            k = m;
        }
        smtpc_hfold_encoded(f, name + i, k - i, 1, "", "");
        i = k + 1;
    }
}

#endif

#if SMTPC_HAVE_HEADER_ENCODING
/* How a display name is written. */
enum { PHRASE_ATOMS, PHRASE_QUOTED, PHRASE_ENCODED, PHRASE_MIXED };

static int phrase_form(const char *name, size_t len, int utf8)
{
    if (has_ew_marker(name, len))
        return PHRASE_ENCODED;
    if (!utf8 && smtpc_has_8bit(name, len))
        return PHRASE_MIXED;
    if (is_atom_phrase(name, len, utf8) && !fold_words(NULL, name, len, 0))
        return PHRASE_ATOMS;
    if (quoted_len(name, len) > SMTPC_HEADER_TOKEN_MAX || fold_words(NULL, name, len, 1))
        return PHRASE_ENCODED;
    return PHRASE_QUOTED;
}
#endif

void smtpc_hfold_phrase(smtpc_hfold *f, const char *name, size_t len)
{
    if (len == 0)
        return;
#if SMTPC_HAVE_HEADER_ENCODING
    int form = phrase_form(name, len, f->utf8);
    if (form == PHRASE_ENCODED) {
        smtpc_hfold_encoded(f, name, len, 1, "", "");
        return;
    }
    if (form == PHRASE_MIXED) {
        phrase_mixed(f, name, len);
        return;
    }
    fold_words(f, name, len, form != PHRASE_ATOMS);
#else
    /* A name that needs encoding was refused when it was set; what is left
     * is ASCII, atoms (none over SMTPC_HEADER_TOKEN_MAX: they would make
     * the quoted form too long too) or a quoted-string. */
    fold_words(f, name, len, !is_atom_phrase(name, len, f->utf8));
#endif
}

int smtpc_header_needs_encoding(int kind, const char *s, size_t len)
{
    /* Every kind encodes 8-bit text and "=?" (neither is a simple
     * parameter value). */
    if (smtpc_has_8bit(s, len) || has_ew_marker(s, len))
        return 1;
    if (kind != SMTPC_HTEXT_UNSTRUCTURED && kind != SMTPC_HTEXT_PHRASE)
        return !smtpc_param_is_simple("filename", s);
    /* ASCII without "=?" from here on, where utf8 changes no verdict: what
     * unstructured_encodes and phrase_form decide for such text, a phrase
     * encoding when it folds neither as atoms nor as a quoted-string (an
     * empty one is quoted). */
    int words_bad = fold_words(NULL, s, len, 0);
    if (kind == SMTPC_HTEXT_UNSTRUCTURED)
        return words_bad;
    if (!words_bad && is_atom_phrase(s, len, 1))
        return 0;
    return quoted_len(s, len) > SMTPC_HEADER_TOKEN_MAX || fold_words(NULL, s, len, 1);
}

void smtpc_hfold_mailbox(smtpc_hfold *f, const char *addr, const char *name)
{
    size_t alen = strlen(addr);
    if (!name || !*name) {
        smtpc_hfold_token(f, " ", 1, addr, alen);
        return;
    }
    smtpc_hfold_phrase(f, name, strlen(name));
    tok_begin(f, " ", 1, alen + 2);
    smtpc_hsink_put(f->out, "<", 1);
    smtpc_hsink_put(f->out, addr, alen);
    smtpc_hsink_put(f->out, ">", 1);
}

void smtpc_hfold_param_quoted(smtpc_hfold *f, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    smtpc_hfold_token(f, "", 0, ";", 1);
    tok_begin(f, " ", 1, nlen + 1 + quoted_len(value, vlen));
    smtpc_hsink_put(f->out, name, nlen);
    smtpc_hsink_put(f->out, "=\"", 2);
    put_escaped(f->out, value, vlen);
    smtpc_hsink_put(f->out, "\"", 1);
}

static int is_printable_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] > 0x7e)
            return 0;
    return 1;
}

int smtpc_param_is_simple(const char *name, const char *value)
{
    size_t vlen = strlen(value);
    return is_printable_ascii(value, vlen) && !has_ew_marker(value, vlen) &&
           1 + strlen(name) + 1 + quoted_len(value, vlen) <= SMTPC_HEADER_FOLD;
}

int smtpc_param_is_simple_utf8(const char *name, const char *value)
{
    size_t vlen = strlen(value);
    for (size_t i = 0; i < vlen; i++)
        if ((uint8_t)value[i] < 0x20 || (uint8_t)value[i] == 0x7f)
            return 0;
    return !has_ew_marker(value, vlen) &&
           1 + strlen(name) + 1 + quoted_len(value, vlen) <= SMTPC_HEADER_FOLD;
}

#if SMTPC_HAVE_HEADER_ENCODING
/* RFC 2231 attribute-char: printable ASCII except space, '*', '\'', '%' and
 * the tspecials. */
static int attr_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f && !strchr("*'%()<>@,;:\\\"/[]?=", c);
}
#endif

void smtpc_hfold_param_2231(smtpc_hfold *f, const char *name, const char *value)
{
    /* Without header encoding, a value that is not simple was refused when
     * it was set. */
    if (!SMTPC_HAVE_HEADER_ENCODING || smtpc_param_is_simple(name, value)) {
        smtpc_hfold_param_quoted(f, name, value);
        return;
    }
#if SMTPC_HAVE_HEADER_ENCODING
    const uint8_t *v = (const uint8_t *)value;
    size_t vlen = strlen(value), nlen = strlen(name);
    size_t enc = 0;
    for (size_t i = 0; i < vlen; i++)
        enc += attr_char(v[i]) ? 1 : 3;
    char head[96];
    int single = 1 + nlen + strlen("*=UTF-8''") + enc <= SMTPC_HEADER_FOLD;
    size_t pos = 0;
    for (unsigned sec = 0; pos < vlen || (single && sec == 0); sec++) {
        size_t hlen;
        if (single)
            hlen = (size_t)snprintf(head, sizeof head, "%s*=UTF-8''", name);
        else
            hlen = (size_t)snprintf(head, sizeof head, "%s*%u*=%s", name, sec,
                                    sec == 0 ? "UTF-8''" : "");
        /* The ';' that follows a section shares its line. */
        size_t room = SMTPC_HEADER_FOLD - 2 - hlen;
        size_t end = pos, cost = 0;
        while (end < vlen) {
            size_t n = char_len(v, end, vlen), c = 0;
            for (size_t k = 0; k < n; k++)
                c += attr_char(v[end + k]) ? 1 : 3;
            if (!single && cost + c > room && end > pos)
                break;
            cost += c;
            end += n;
        }
        smtpc_hfold_token(f, "", 0, ";", 1);
        tok_begin(f, " ", 1, hlen + cost);
        smtpc_hsink_put(f->out, head, hlen);
        for (size_t i = pos; i < end; i++) {
            if (attr_char(v[i])) {
                smtpc_hsink_put(f->out, v + i, 1);
            } else {
                char pct[3] = {'%', hexdig[v[i] >> 4], hexdig[v[i] & 15]};
                smtpc_hsink_put(f->out, pct, 3);
            }
        }
        pos = end;
        if (single)
            break;
    }
#endif
}

void smtpc_hfold_param_2047(smtpc_hfold *f, const char *name, const char *value)
{
    if (!SMTPC_HAVE_HEADER_ENCODING || smtpc_param_is_simple(name, value)) {
        smtpc_hfold_param_quoted(f, name, value);
        return;
    }
#if SMTPC_HAVE_HEADER_ENCODING
    size_t vlen = strlen(value);
    char prefix[48];
    snprintf(prefix, sizeof prefix, "%s=\"", name);
    smtpc_hfold_token(f, "", 0, ";", 1);
    smtpc_hfold_encoded(f, value, vlen, 1, prefix, "\"");
#endif
}
