/* SMTP command writer: every byte the library puts on a command line passes
 * through here. Refuses CR, LF and NUL anywhere, checks addresses, and
 * enforces RFC 5321's 512-octet command line (CRLF included). */
#ifndef SMTPC_COMMAND_WRITER_H
#define SMTPC_COMMAND_WRITER_H
#include <stddef.h>
#include <stdint.h>

#define SMTPC_COMMAND_MAX 512

/* Flags for smtpc_cmd_mail. */
#define SMTPC_CMD_BODY_8BITMIME 0x1
#define SMTPC_CMD_SMTPUTF8 0x2
#define SMTPC_CMD_BODY_BINARYMIME 0x4 /* RFC 3030; wins over BODY=8BITMIME */

/* 1 when c is RFC 5322 atext (letters, digits, !#$%&'*+-/=?^_`{|}~), or
 * with utf8 a byte of a UTF-8 sequence (RFC 6531). Shared with the header
 * encoder. */
int smtpc_is_atext(uint8_t c, int utf8);

/* 0 when s has no CR, LF or NUL in its first len bytes, else SMTPC_EBADCHAR. */
int smtpc_cmd_check_value(const char *s, size_t len);

/* Checks a bare mailbox (no angle brackets) per RFC 5321 section 4.1.2:
 * Local-part "@" Domain, local part a dot-string or quoted-string, domain
 * a dot-separated list of LDH labels or an address literal [..]; local part
 * at most 64 octets, domain at most 255. "" is accepted only when
 * allow_null (the null reverse-path). UTF-8 (RFC 6531) is allowed; *is_utf8
 * (may be NULL) is set to 1 when the address has a non-ASCII byte, and the
 * UTF-8 must be well formed. Returns 0, SMTPC_EBADCHAR (CR/LF/NUL, other
 * control characters) or SMTPC_EADDRESS; SMTPC_ENOTSUP for an address
 * literal in a build without them (-Daddress_literals=false). */
int smtpc_address_check(const char *addr, int allow_null, int *is_utf8);

/* Append "VERB[ ARG]\r\n" to out at *len (capacity cap). arg may be NULL.
 * Returns 0, SMTPC_EBADCHAR, or SMTPC_ETOOLONG when the line is over
 * SMTPC_COMMAND_MAX or does not fit in the remaining capacity (nothing is
 * written on error). */
int smtpc_cmd_write(uint8_t *out, size_t cap, size_t *len, const char *verb, const char *arg);
/* "MAIL FROM:<from>[ SIZE=n][ BODY=8BITMIME][ SMTPUTF8]". size < 0: none.
 * from is checked with smtpc_address_check (null path allowed).
 * SMTPC_CMD_BODY_BINARYMIME gives SMTPC_ENOTSUP in a build without
 * chunking (-Dchunking=false), which never asks for it. */
int smtpc_cmd_mail(uint8_t *out, size_t cap, size_t *len, const char *from, int64_t size,
                   int flags);
/* "RCPT TO:<to>"; to is checked (null path not allowed). */
int smtpc_cmd_rcpt(uint8_t *out, size_t cap, size_t *len, const char *to);

/* DSN (RFC 3461) and REQUIRETLS (RFC 8689) parameters. */
#define SMTPC_CMD_RET_FULL 0x100
#define SMTPC_CMD_RET_HDRS 0x200
#define SMTPC_CMD_REQUIRETLS 0x400
/* The longest ENVID and ORCPT values, xtext-encoded (RFC 3461 4.3, 4.2). */
#define SMTPC_ENVID_MAX 100
#define SMTPC_ORCPT_MAX 500
/* smtpc_cmd_mail, then " RET=FULL" or " RET=HDRS", " ENVID=<xtext>" (envid
 * NULL: none) and " REQUIRETLS" per flags. An envid that is empty gives
 * SMTPC_EINVAL, one with CR or LF SMTPC_EBADCHAR, one over SMTPC_ENVID_MAX
 * once encoded SMTPC_ETOOLONG. */
int smtpc_cmd_mail_ext(uint8_t *out, size_t cap, size_t *len, const char *from, int64_t size,
                       int flags, const char *envid);
/* "RCPT TO:<to>[ NOTIFY=...][ ORCPT=rfc822;<xtext>]". notify: 0 for none,
 * else SMTPC_NOTIFY_NEVER alone or SMTPC_NOTIFY_SUCCESS, _FAILURE, _DELAY
 * or-ed (engine.h), anything else SMTPC_EINVAL. orcpt NULL: none; rules as
 * for envid, at most SMTPC_ORCPT_MAX once encoded. */
int smtpc_cmd_rcpt_ext(uint8_t *out, size_t cap, size_t *len, const char *to, int notify,
                       const char *orcpt);
/* 0 when the RCPT line smtpc_cmd_rcpt_ext would write for these (valid)
 * values fits in the 512-octet command limit, else SMTPC_ETOOLONG. Writes
 * nothing. */
int smtpc_cmd_rcpt_ext_fits(const char *to, int notify, const char *orcpt);
/* Check a DSN value (envid or orcpt) alone: 0 or the errors above. */
int smtpc_cmd_check_dsn_value(const char *value, size_t max);
/* Check a NOTIFY mask: 0 or SMTPC_EINVAL. */
int smtpc_cmd_check_notify(int notify);

#endif
