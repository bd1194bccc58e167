/* Scanning bytes: message bodies for line ends, shared by the dot-stuffer
 * (codec) and the client's SIZE count (both pass over every byte of a
 * body), and text for UTF-8 (addresses and header text). */
#ifndef SMTPC_BYTESCAN_H
#define SMTPC_BYTESCAN_H
#include <stddef.h>
#include <stdint.h>

/* The length of the longest prefix of p (n bytes) without CR or LF; the
 * OR of its bytes is ORed into *seen (bit 7: 8-bit data). Scans a word at a
 * time: the body passes through here once or twice per message. */
size_t smtpc_plain_run(const uint8_t *p, size_t n, uint8_t *seen);

/* 0 when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF), else -1. */
int smtpc_utf8_check(const char *s, size_t len);
/* 1 when s[0..len) has a byte >= 0x80. */
int smtpc_has_8bit(const char *s, size_t len);

#endif
