/* SMTP command lines. Each command is checked and measured before a byte is
 * written, so a failed call leaves the caller's buffer untouched. */
#include "command_writer.h"

#include <string.h>

#include "bytescan.h"
#include "fmt.h"
#include "smtpc/base.h"
#include "smtpc/engine.h"
#include "smtpc_config.h"
#include "xtext.h"

/* A line is a list of pieces, NULL ones left out; bit i of xtext marks a
 * piece written as xtext (DSN values). One writer serves every command: it
 * measures the line first and writes straight into the caller's buffer (no
 * 512-byte copy on the stack: small stacks) only when the whole line, its
 * CRLF included, fits in the room there and within the 512-octet command
 * limit. out NULL: only measure against that limit (0 when the line fits). */
#define PIECES_MAX 12
static int write_pieces(uint8_t *out, size_t cap, size_t *len, const char *const *pieces,
                        size_t n, unsigned xtext)
{
    size_t room = *len > cap ? 0 : cap - *len;
    size_t total = 2, i;
#if !SMTPC_HAVE_DSN
    (void)xtext;
#endif
    if (room > SMTPC_COMMAND_MAX)
        room = SMTPC_COMMAND_MAX;
    for (i = 0; i < n; i++) {
        if (!pieces[i])
            continue;
        size_t k = strlen(pieces[i]);
#if SMTPC_HAVE_DSN
        if (xtext >> i & 1)
            k = smtpc_xtext_len(pieces[i], k);
#endif
        /* Checked piece by piece: the sum cannot wrap. */
        if (k > room || (total += k) > room)
            return SMTPC_ETOOLONG;
    }
    if (total > room)
        return SMTPC_ETOOLONG;
    if (!out)
        return 0;
    char *o = (char *)out + *len;
    for (i = 0; i < n; i++) {
        if (!pieces[i])
            continue;
        size_t k = strlen(pieces[i]);
#if SMTPC_HAVE_DSN
        if (xtext >> i & 1) {
            o += smtpc_xtext_encode(pieces[i], k, o);
            continue;
        }
#endif
        memcpy(o, pieces[i], k);
        o += k;
    }
    memcpy(o, "\r\n", 2);
    *len += total;
    return 0;
}

/* ---- Mailbox syntax (RFC 5321 section 4.1.2, RFC 6531 for UTF-8) ---- */

#define LOCAL_PART_MAX 64
#define DOMAIN_MAX 255
#define LABEL_MAX 63

static int is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int smtpc_is_atext(uint8_t c, int utf8)
{
    return is_alnum(c) || (utf8 && c >= 0x80) ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the local part at the start of s, 0 when malformed. s holds
 * no control characters (smtpc_address_check refused them first). */
static size_t local_part_len(const uint8_t *s, size_t n)
{
    size_t i = 0;

    if (n > 0 && s[0] == '"') {
        for (i = 1; i < n; i++) {
            uint8_t c = s[i];
            if (c == '"')
                return i + 1;
            if (c == '\\') {
                /* A quoted-pair quotes printable ASCII only. */
                if (i + 1 >= n || s[i + 1] >= 0x80)
                    return 0;
                i++;
            }
        }
        return 0; /* unterminated */
    }
    /* Dot-string: atoms joined by single dots, no dot first or last. */
    for (;;) {
        size_t start = i;
        while (i < n && smtpc_is_atext(s[i], 1))
            i++;
        if (i == start)
            return 0;
        if (i < n && s[i] == '.') {
            i++;
            continue;
        }
        return i;
    }
}

#if SMTPC_HAVE_ADDRESS_LITERALS
static int is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Non-ASCII bytes are already known to form valid UTF-8; RFC 6531 lets them
 * stand wherever atext, qtext or a domain letter may. */
static int ipv4_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t digits = 0;
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return 0;
    }
    return i == n;
}

/* RFC 5321's IPv6 forms: eight groups, or "::" standing for at least two
 * zero groups; an IPv4 tail counts as two groups. */
static int ipv6_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    int groups = 0;
    int compressed = 0;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = 1;
        i = 2;
        if (i == n)
            return 1;
    }
    for (;;) {
        size_t digits = 0;
        if (ipv4_ok(s + i, n - i)) {
            groups += 2;
            break;
        }
        while (i < n && is_hex(s[i]) && digits < 5) {
            i++;
            digits++;
        }
        if (digits == 0 || digits > 4)
            return 0;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (compressed)
                return 0;
            compressed = 1;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return 0;
        }
    }
    return compressed ? groups <= 6 : groups == 8;
}

/* Standardized-tag ":" 1*dcontent, the tag an Ldh-str. */
static int general_literal_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n && (is_alnum(s[i]) || s[i] == '-'))
        i++;
    if (i == 0 || i >= n || s[i] != ':' || !is_alnum(s[0]) || !is_alnum(s[i - 1]))
        return 0;
    i++;
    if (i == n)
        return 0;
    for (; i < n; i++) {
        if (s[i] < 33 || s[i] > 126 || s[i] == '[' || s[i] == '\\' || s[i] == ']')
            return 0;
    }
    return 1;
}

static int address_literal_ok(const uint8_t *s, size_t n)
{
    /* The tag "IPv6:", its letters in either case (| 0x20 folds only A-Z
     * onto a-z among the bytes that can equal these letters). */
    if (n >= 5 && (s[0] | 0x20) == 'i' && (s[1] | 0x20) == 'p' && (s[2] | 0x20) == 'v' &&
        s[3] == '6' && s[4] == ':')
        return ipv6_ok(s + 5, n - 5);
    return ipv4_ok(s, n) || general_literal_ok(s, n);
}

#endif /* SMTPC_HAVE_ADDRESS_LITERALS */

static int let_dig(uint8_t c)
{
    return is_alnum(c) || c >= 0x80;
}

static int domain_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || n > DOMAIN_MAX)
        return 0;
#if SMTPC_HAVE_ADDRESS_LITERALS
    if (s[0] == '[')
        return n >= 3 && s[n - 1] == ']' && address_literal_ok(s + 1, n - 2);
#endif
    for (;;) {
        size_t start = i;
        while (i < n && (let_dig(s[i]) || s[i] == '-'))
            i++;
        /* Letters, digits and hyphens, not starting or ending with one. */
        if (i == start || i - start > LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
            return 0;
        if (i == n)
            return 1;
        if (s[i] != '.')
            return 0;
        i++;
    }
}

int smtpc_address_check(const char *addr, int allow_null, int *is_utf8)
{
    const uint8_t *s = (const uint8_t *)addr;
    size_t n, i, local;

    if (is_utf8)
        *is_utf8 = 0;
    if (!addr)
        return SMTPC_EINVAL;
    n = strlen(addr);
    if (n == 0)
        return allow_null ? 0 : SMTPC_EADDRESS;
    /* Characters first, so CR/LF always reports EBADCHAR whatever else is wrong. */
    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7F)
            return SMTPC_EBADCHAR;
    }
    /* Non-ASCII must be well-formed UTF-8 (RFC 6531, RFC 3629 section 4). */
    if (smtpc_utf8_check(addr, n))
        return SMTPC_EADDRESS;
    local = local_part_len(s, n);
    if (local == 0 || local > LOCAL_PART_MAX || local >= n || s[local] != '@')
        return SMTPC_EADDRESS;
    if (!SMTPC_HAVE_ADDRESS_LITERALS && s[local + 1] == '[')
        return SMTPC_ENOTSUP; /* -Daddress_literals=false */
    if (!domain_ok(s + local + 1, n - local - 1))
        return SMTPC_EADDRESS;
    if (is_utf8)
        *is_utf8 = smtpc_has_8bit(addr, n);
    return 0;
}

int smtpc_cmd_check_value(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return SMTPC_EBADCHAR;
    }
    return 0;
}

int smtpc_cmd_write(uint8_t *out, size_t cap, size_t *len, const char *verb, const char *arg)
{
    int rc;

    if (!out || !len || !verb || !verb[0])
        return SMTPC_EINVAL;
    rc = smtpc_cmd_check_value(verb, strlen(verb));
    if (rc == 0 && arg)
        rc = smtpc_cmd_check_value(arg, strlen(arg));
    if (rc < 0)
        return rc;
    /* An empty argument is treated as none: a trailing space is never sent. */
    int has_arg = arg && arg[0];
    const char *pieces[] = {verb, has_arg ? " " : NULL, has_arg ? arg : NULL};
    return write_pieces(out, cap, len, pieces, 3, 0);
}

int smtpc_cmd_mail(uint8_t *out, size_t cap, size_t *len, const char *from, int64_t size,
                   int flags)
{
    return smtpc_cmd_mail_ext(out, cap, len, from, size, flags, NULL);
}

#if SMTPC_HAVE_DSN
int smtpc_cmd_check_dsn_value(const char *value, size_t max)
{
    if (!value || !value[0])
        return SMTPC_EINVAL;
    size_t n = strlen(value);
    /* xtext would carry CR and LF safely, but the library's rule is that
     * no value for a command line may hold them. */
    if (smtpc_cmd_check_value(value, n))
        return SMTPC_EBADCHAR;
    return smtpc_xtext_len(value, n) > max ? SMTPC_ETOOLONG : 0;
}

int smtpc_cmd_check_notify(int notify)
{
    const int any = SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_FAILURE | SMTPC_NOTIFY_DELAY;
    if (notify == 0 || notify == SMTPC_NOTIFY_NEVER)
        return 0;
    return (notify & ~any) ? SMTPC_EINVAL : 0;
}
#endif /* SMTPC_HAVE_DSN */

int smtpc_cmd_mail_ext(uint8_t *out, size_t cap, size_t *len, const char *from, int64_t size,
                       int flags, const char *envid)
{
    int rc;

    if (!out || !len || !from)
        return SMTPC_EINVAL;
    rc = smtpc_address_check(from, 1, NULL);
    if (rc < 0)
        return rc;
#if SMTPC_HAVE_DSN
    if (envid && (rc = smtpc_cmd_check_dsn_value(envid, SMTPC_ENVID_MAX)) < 0)
        return rc;
    if ((flags & SMTPC_CMD_RET_FULL) && (flags & SMTPC_CMD_RET_HDRS))
        return SMTPC_EINVAL;
#else
    if (envid || (flags & (SMTPC_CMD_RET_FULL | SMTPC_CMD_RET_HDRS | SMTPC_CMD_REQUIRETLS)))
        return SMTPC_ENOTSUP; /* -Ddsn=false */
#endif
#if !SMTPC_HAVE_CHUNKING
    if (flags & SMTPC_CMD_BODY_BINARYMIME)
        return SMTPC_ENOTSUP; /* -Dchunking=false: BINARYMIME goes only with BDAT */
#endif
    char num[SMTPC_FMT_INT_MAX];
    /* Sized to what is filled: no zeroing of unused slots. */
    const char *pieces[7 + 5 * SMTPC_HAVE_DSN] = {
        "MAIL FROM:<", from, ">", size >= 0 ? " SIZE=" : NULL,
        size >= 0 ? smtpc_fmt_u64(num, (uint64_t)size, 1) : NULL,
        (SMTPC_HAVE_CHUNKING && (flags & SMTPC_CMD_BODY_BINARYMIME)) ? " BODY=BINARYMIME"
        : (flags & SMTPC_CMD_BODY_8BITMIME)                          ? " BODY=8BITMIME"
                                                                     : NULL,
        (flags & SMTPC_CMD_SMTPUTF8) ? " SMTPUTF8" : NULL};
    size_t n = 7;
#if SMTPC_HAVE_DSN
    pieces[n++] = (flags & SMTPC_CMD_RET_FULL) ? " RET=FULL" : NULL;
    pieces[n++] = (flags & SMTPC_CMD_RET_HDRS) ? " RET=HDRS" : NULL;
    pieces[n++] = envid ? " ENVID=" : NULL;
    pieces[n++] = envid; /* xtext: bit 10 */
    pieces[n++] = (flags & SMTPC_CMD_REQUIRETLS) ? " REQUIRETLS" : NULL;
#endif
    return write_pieces(out, cap, len, pieces, n, 1u << 10);
}

int smtpc_cmd_rcpt(uint8_t *out, size_t cap, size_t *len, const char *to)
{
    return smtpc_cmd_rcpt_ext(out, cap, len, to, 0, NULL);
}

/* The RCPT line's pieces into p (PIECES_MAX); returns how many, and the
 * xtext bits in *xtext. */
static size_t rcpt_pieces(const char **p, const char *to, int notify, const char *orcpt,
                          unsigned *xtext)
{
    size_t n = 0;
    p[n++] = "RCPT TO:<";
    p[n++] = to;
    p[n++] = ">";
    *xtext = 0;
#if SMTPC_HAVE_DSN
    static const struct {
        int bit;
        const char *name;
    } names[] = {{SMTPC_NOTIFY_NEVER, "NEVER"},
                 {SMTPC_NOTIFY_SUCCESS, "SUCCESS"},
                 {SMTPC_NOTIFY_FAILURE, "FAILURE"},
                 {SMTPC_NOTIFY_DELAY, "DELAY"}};
    const char *sep = " NOTIFY=";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (notify & names[i].bit) {
            p[n++] = sep;
            p[n++] = names[i].name;
            sep = ",";
        }
    }
    if (orcpt) {
        p[n++] = " ORCPT=rfc822;";
        *xtext = 1u << n;
        p[n++] = orcpt;
    }
#else
    (void)notify;
    (void)orcpt;
#endif
    return n;
}

int smtpc_cmd_rcpt_ext(uint8_t *out, size_t cap, size_t *len, const char *to, int notify,
                       const char *orcpt)
{
    int rc;

    if (!out || !len || !to)
        return SMTPC_EINVAL;
    rc = smtpc_address_check(to, 0, NULL);
    if (rc < 0)
        return rc;
#if SMTPC_HAVE_DSN
    if (smtpc_cmd_check_notify(notify))
        return SMTPC_EINVAL;
    if (orcpt && (rc = smtpc_cmd_check_dsn_value(orcpt, SMTPC_ORCPT_MAX)) < 0)
        return rc;
#else
    if (notify || orcpt)
        return SMTPC_ENOTSUP; /* -Ddsn=false */
#endif
    const char *pieces[PIECES_MAX];
    unsigned xtext;
    size_t n = rcpt_pieces(pieces, to, notify, orcpt, &xtext);
    return write_pieces(out, cap, len, pieces, n, xtext);
}

int smtpc_cmd_rcpt_ext_fits(const char *to, int notify, const char *orcpt)
{
    const char *pieces[PIECES_MAX];
    unsigned xtext;
    size_t n = rcpt_pieces(pieces, to, notify, orcpt, &xtext);
    size_t none = 0;
    return write_pieces(NULL, SMTPC_COMMAND_MAX, &none, pieces, n, xtext);
}
