/* Header encoding and folding (RFC 5322 section 2.2.3, RFC 2047, RFC 2231).
 *
 * Everything writes through a window sink, so a header can be regenerated
 * and only the part of it not yet sent kept: that is how the message
 * serializer streams headers of any length with a fixed buffer. */
#ifndef SMTPC_HEADER_ENCODE_H
#define SMTPC_HEADER_ENCODE_H
#include <stddef.h>
#include <stdint.h>

#include "bytescan.h" /* smtpc_utf8_check, smtpc_has_8bit */

/* Fold where possible to keep lines within this many characters... */
#define SMTPC_HEADER_FOLD 78
/* ...and never beyond RFC 5322's hard limit (CRLF excluded). */
#define SMTPC_HEADER_LINE_MAX 998
/* A token (word, quoted-string) longer than this is encoded instead, so any
 * line stays under SMTPC_HEADER_LINE_MAX even after a 76-character name. */
#define SMTPC_HEADER_TOKEN_MAX 900
/* RFC 2047 section 2: an encoded-word is at most 75 characters. */
#define SMTPC_EW_MAX 75

/* Collects the bytes of the logical output that fall in [skip, skip + cap);
 * buf NULL only counts. */
typedef struct smtpc_hsink {
    uint8_t *buf;
    size_t cap;
    uint64_t skip;
    uint64_t total; /* logical bytes produced so far */
    size_t len;     /* bytes stored in buf */
} smtpc_hsink;

void smtpc_hsink_init(smtpc_hsink *s, uint8_t *buf, size_t cap, uint64_t skip);
void smtpc_hsink_put(smtpc_hsink *s, const void *p, size_t n);
void smtpc_hsink_str(smtpc_hsink *s, const char *str);

/* A header being written: tracks the column to fold at whitespace. */
typedef struct smtpc_hfold {
    smtpc_hsink *out;
    size_t col;
    int tokens; /* tokens on the current line */
    int utf8;   /* raw UTF-8 allowed (SMTPUTF8) instead of encoded-words */
} smtpc_hfold;

/* "Name:" */
void smtpc_hfold_begin(smtpc_hfold *f, smtpc_hsink *out, const char *name, int utf8);
/* Append ws then tok. ws "" glues tok to the previous token; a non-empty ws
 * is a fold point: CRLF goes before it when the line would pass 78. */
void smtpc_hfold_token(smtpc_hfold *f, const char *ws, size_t ws_len, const char *tok,
                       size_t tok_len);
void smtpc_hfold_tokstr(smtpc_hfold *f, const char *ws, const char *tok);
/* CRLF */
void smtpc_hfold_end(smtpc_hfold *f);

/* Unstructured text (Subject, extra headers): words folded at whitespace,
 * or the whole value as encoded-words when it has non-ASCII (and !utf8), a
 * word too long to fold, a whitespace run too long to fold (one fold per
 * run), or "=?" (so that it never reads as an encoded-word). */
void smtpc_hfold_unstructured(smtpc_hfold *f, const char *text, size_t len);
/* A display name (RFC 5322 phrase): atoms, a quoted-string folded at its
 * whitespace, or encoded-words (non-ASCII, "=?", or whitespace runs too
 * long to fold). */
void smtpc_hfold_phrase(smtpc_hfold *f, const char *name, size_t len);
/* "[phrase ]<addr>" or "addr" when name is NULL or "". */
void smtpc_hfold_mailbox(smtpc_hfold *f, const char *addr, const char *name);
/* RFC 2047 encoded-words for text (phrase: the stricter set for display
 * names and quoted parameters), prefix glued before the first word and suffix
 * after the last; whitespace between words is where lines fold. */
void smtpc_hfold_encoded(smtpc_hfold *f, const char *text, size_t len, int phrase,
                         const char *prefix, const char *suffix);
/* '; name="value"' as a plain quoted-string parameter. */
void smtpc_hfold_param_quoted(smtpc_hfold *f, const char *name, const char *value);
/* A filename parameter: name="value" when value is short printable ASCII,
 * else RFC 2231 name*0*=UTF-8''... continuations of at most 78 columns. */
void smtpc_hfold_param_2231(smtpc_hfold *f, const char *name, const char *value);
/* A legacy name parameter for old readers: quoted ASCII when short (as
 * smtpc_param_is_simple), else RFC 2047 encoded-words inside the quotes. */
void smtpc_hfold_param_2047(smtpc_hfold *f, const char *name, const char *value);
/* 1 when smtpc_hfold_param_2231 would write the plain quoted form: short
 * printable ASCII without "=?". */
int smtpc_param_is_simple(const char *name, const char *value);
/* The same with raw UTF-8 allowed (SMTPUTF8 messages): a quoted value that
 * fits one line and cannot be mistaken for an encoded word. */
int smtpc_param_is_simple_utf8(const char *name, const char *value);

/* A header value, display name or filename: 0, SMTPC_EBADCHAR (CR, LF, NUL,
 * other controls but TAB, DEL) or SMTPC_EHEADER (malformed UTF-8). */
int smtpc_header_value_check(const char *s, size_t len);
/* Kinds of header text for smtpc_header_needs_encoding. */
#define SMTPC_HTEXT_UNSTRUCTURED 0 /* Subject, extra header values */
#define SMTPC_HTEXT_PHRASE 1       /* display names */
#define SMTPC_HTEXT_PARAM 2        /* filenames (name=, filename=) */
/* 1 when text of this kind has non-ASCII bytes or would, as ASCII, still go
 * (in part) as RFC 2047 encoded-words or RFC 2231 sections ("=?", a word or
 * whitespace run too long to fold, a long filename): what a build without
 * header encoding (-Dheader_encoding=false) cannot write. */
int smtpc_header_needs_encoding(int kind, const char *s, size_t len);

#endif
