/* Addresses and command arguments from a hostile caller: a line the command
 * writer produces never carries CR, LF or NUL before its final CRLF, never
 * exceeds 512 octets, and a refused call writes nothing. The address check
 * and the MAIL/RCPT writers must agree on what is valid.
 *
 * Input: [flags][start offset][capacity cut] then the address (a C string:
 * it ends at the first NUL). */
#include <stdlib.h>
#include <string.h>

#include "command_writer.h"
#include "fuzz_common.h"
#include "smtpc/base.h"
#include "smtpc_config.h"

#define BUF 1100
#define FILL 0xA5

/* Checks one call's effect on out[]; returns the line written (or NULL). */
static const uint8_t *check_written(const uint8_t *out, size_t start, size_t len, int rc,
                                    size_t *line_len)
{
    if (rc != 0) {
        FUZZ_CHECK(rc == SMTPC_EBADCHAR || rc == SMTPC_EADDRESS || rc == SMTPC_ETOOLONG ||
                   (!SMTPC_HAVE_ADDRESS_LITERALS && rc == SMTPC_ENOTSUP));
        FUZZ_CHECK(len == start);
        for (size_t i = 0; i < BUF; i++)
            FUZZ_CHECK(out[i] == FILL);
        return NULL;
    }
    FUZZ_CHECK(len > start + 2);
    size_t n = len - start;
    const uint8_t *line = out + start;
    FUZZ_CHECK(n <= SMTPC_COMMAND_MAX);
    FUZZ_CHECK(line[n - 2] == '\r' && line[n - 1] == '\n');
    for (size_t i = 0; i < n - 2; i++)
        FUZZ_CHECK(line[i] != '\r' && line[i] != '\n' && line[i] != '\0');
    for (size_t i = 0; i < start; i++)
        FUZZ_CHECK(out[i] == FILL);
    for (size_t i = len; i < BUF; i++)
        FUZZ_CHECK(out[i] == FILL);
    *line_len = n;
    return line;
}

/* The line must carry the address verbatim between the angle brackets. */
static void check_path(const uint8_t *line, size_t n, const char *prefix, const char *addr)
{
    size_t plen = strlen(prefix), alen = strlen(addr);
    FUZZ_CHECK(n >= plen + alen + 3);
    FUZZ_CHECK(memcmp(line, prefix, plen) == 0);
    FUZZ_CHECK(memcmp(line + plen, addr, alen) == 0);
    FUZZ_CHECK(line[plen + alen] == '>');
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int has_high(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t flags = fuzz_byte(&in);
    size_t start = fuzz_byte(&in) * 2u;
    size_t cut = fuzz_byte(&in) * 4u;
    size_t alen = 0;
    const uint8_t *raw = fuzz_bytes(&in, size, &alen);
    char *addr = malloc(alen + 1);
    FUZZ_CHECK(addr != NULL);
    memcpy(addr, raw, alen);
    addr[alen] = '\0';

    size_t cap = cut < BUF ? BUF - cut : 0;
    if (start > cap)
        start = cap;
    int64_t sizes[4] = {-1, 0, 12345, INT64_MAX};
    int64_t msg_size = sizes[flags & 3];
    int mail_flags = (flags >> 2) & (SMTPC_CMD_BODY_8BITMIME | SMTPC_CMD_SMTPUTF8);
    uint8_t out[BUF];

    int utf8 = -1;
    int ok_null = smtpc_address_check(addr, 1, &utf8);
    FUZZ_CHECK(ok_null == 0 || ok_null == SMTPC_EBADCHAR || ok_null == SMTPC_EADDRESS ||
               ok_null == SMTPC_ENOTSUP);
    /* Only an address literal is unsupported, and only without
     * -Daddress_literals; with it a literal is checked like any domain. */
    if (ok_null == SMTPC_ENOTSUP)
        FUZZ_CHECK(!SMTPC_HAVE_ADDRESS_LITERALS && strstr(addr, "@[") != NULL);
    FUZZ_CHECK(utf8 == 0 || (ok_null == 0 && utf8 == 1));
    if (ok_null == 0)
        FUZZ_CHECK(utf8 == has_high(addr));
    if (has_ctl(addr))
        FUZZ_CHECK(ok_null == SMTPC_EBADCHAR);
    int ok_rcpt = smtpc_address_check(addr, 0, NULL);
    FUZZ_CHECK(ok_rcpt == (addr[0] ? ok_null : SMTPC_EADDRESS));

    size_t len = start, line_len = 0;
    const uint8_t *line;
    memset(out, FILL, sizeof out);
    int rc = smtpc_cmd_mail(out, cap, &len, addr, msg_size, mail_flags);
    line = check_written(out, start, len, rc, &line_len);
    if (ok_null != 0)
        FUZZ_CHECK(rc == ok_null);
    if (line)
        check_path(line, line_len, "MAIL FROM:<", addr);

    len = start;
    memset(out, FILL, sizeof out);
    rc = smtpc_cmd_rcpt(out, cap, &len, addr);
    line = check_written(out, start, len, rc, &line_len);
    if (ok_rcpt != 0)
        FUZZ_CHECK(rc == ok_rcpt);
    if (line)
        check_path(line, line_len, "RCPT TO:<", addr);

    /* Any argument on any command: only CR, LF or NUL are refused, and the
     * limits still hold. */
    len = start;
    memset(out, FILL, sizeof out);
    rc = smtpc_cmd_write(out, cap, &len, (flags & 0x80) ? "VRFY" : "EHLO", addr);
    check_written(out, start, len, rc, &line_len);
    if (rc == SMTPC_EBADCHAR)
        FUZZ_CHECK(strchr(addr, '\r') || strchr(addr, '\n'));
    free(addr);
    return 0;
}
