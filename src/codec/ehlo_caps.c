/* EHLO capability lines: "keyword[ param ...]" (RFC 5321 section 4.1.1.1).
 *
 * A keyword counts only when it matches whole: "SIZEX" or "PIPELINING2" are
 * other (unknown) extensions. The pre-RFC 4954 form "AUTH=mech ..." is read
 * like "AUTH mech ...": some old servers advertise only that form. */
#include "ehlo_caps.h"

#include <string.h>

#include "smtpc/engine.h"
#include "smtpc_config.h"

typedef struct name_bit {
    const char *name;
    int bit;
} name_bit;

static const name_bit keywords[] = {
    {"PIPELINING", SMTPC_CAP_PIPELINING},
    {"8BITMIME", SMTPC_CAP_8BITMIME},
    {"SMTPUTF8", SMTPC_CAP_SMTPUTF8},
    {"STARTTLS", SMTPC_CAP_STARTTLS},
    {"SIZE", SMTPC_CAP_SIZE},
    {"AUTH", SMTPC_CAP_AUTH},
    {"ENHANCEDSTATUSCODES", SMTPC_CAP_ENHANCEDSTATUSCODES},
/* An extension compiled out is not read: the server is never asked to use
 * it, and smtpc_engine_capabilities does not report it. */
#if SMTPC_HAVE_CHUNKING
    {"CHUNKING", SMTPC_CAP_CHUNKING},
    {"BINARYMIME", SMTPC_CAP_BINARYMIME},
#endif
#if SMTPC_HAVE_DSN
    {"DSN", SMTPC_CAP_DSN},
    {"REQUIRETLS", SMTPC_CAP_REQUIRETLS},
#endif
};

static const name_bit mechanisms[] = {
    {"PLAIN", SMTPC_MECH_PLAIN},
    {"CRAM-MD5", SMTPC_MECH_CRAM_MD5},
    {"SCRAM-SHA-256", SMTPC_MECH_SCRAM_SHA_256},
#if SMTPC_HAVE_SASL_EXTRA
    {"LOGIN", SMTPC_MECH_LOGIN},
    {"XOAUTH2", SMTPC_MECH_XOAUTH2},
    {"OAUTHBEARER", SMTPC_MECH_OAUTHBEARER},
#endif
};

void smtpc_ehlo_caps_init(smtpc_ehlo_caps *caps)
{
    memset(caps, 0, sizeof *caps);
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Whole-token, case-insensitive lookup; 0 when the token is not listed. */
static int lookup(const name_bit *table, size_t count, const char *tok, size_t len)
{
    size_t i, j;

    for (i = 0; i < count; i++) {
        const char *name = table[i].name;
        /* Compared up to name's NUL, so no strlen of each name. */
        for (j = 0; j < len && name[j] && ascii_upper(tok[j]) == name[j]; j++)
            ;
        if (j == len && name[j] == '\0')
            return table[i].bit;
    }
    return 0;
}

static int is_keyword_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           c == '-';
}

/* The first space-separated token of [*pos, len), *pos moved past it. */
static size_t next_token(const char *line, size_t len, size_t *pos, const char **tok)
{
    size_t i = *pos, start;

    while (i < len && line[i] == ' ')
        i++;
    start = i;
    while (i < len && line[i] != ' ')
        i++;
    *tok = line + start;
    *pos = i;
    return i - start;
}

/* RFC 1870: SIZE with no number, or 0, means no fixed limit. A number too
 * big for 64 bits is a limit no message can reach: UINT64_MAX. A parameter
 * that is not a plain decimal number tells nothing usable: 0. */
static uint64_t parse_size(const char *tok, size_t len)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)tok[i] - '0';
        if (d > 9)
            return 0;
        /* v * 10 + d in two 32-bit halves: the high half's product carries
         * out exactly when the result would not fit. No 64-bit division: on
         * 32-bit targets that is a library call per digit. */
        uint64_t lo = (uint64_t)(uint32_t)v * 10 + d;
        uint64_t hi = (v >> 32) * 10 + (lo >> 32);
        v = (hi >> 32) ? UINT64_MAX : hi << 32 | (uint32_t)lo;
    }
    return v;
}

void smtpc_ehlo_caps_line(smtpc_ehlo_caps *caps, const char *line, size_t len)
{
    size_t kw_len = 0, pos;
    int bit;
    const char *tok;
    size_t tok_len;

    while (kw_len < len && is_keyword_char(line[kw_len]))
        kw_len++;
    if (kw_len == 0)
        return;
    bit = lookup(keywords, sizeof keywords / sizeof keywords[0], line, kw_len);
    if (bit == 0)
        return;
    if (kw_len < len && line[kw_len] != ' ' && !(bit == SMTPC_CAP_AUTH && line[kw_len] == '='))
        return;
    caps->flags |= bit;
    pos = kw_len < len ? kw_len + 1 : kw_len;

    if (bit == SMTPC_CAP_SIZE) {
        tok_len = next_token(line, len, &pos, &tok);
        caps->size_max = parse_size(tok, tok_len);
    } else if (bit == SMTPC_CAP_AUTH) {
        while ((tok_len = next_token(line, len, &pos, &tok)) > 0)
            caps->auth_mechs |= lookup(mechanisms, sizeof mechanisms / sizeof mechanisms[0], tok,
                                       tok_len);
    }
}
