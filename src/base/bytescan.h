/* Scanning message bytes for line ends, shared by the dot-stuffer (codec)
 * and the client's SIZE count: both pass over every byte of a body. */
#ifndef SMTPC_BYTESCAN_H
#define SMTPC_BYTESCAN_H
#include <stddef.h>
#include <stdint.h>

/* The length of the longest prefix of p (n bytes) without CR or LF; the
 * OR of its bytes is ORed into *seen (bit 7: 8-bit data). Scans a word at a
 * time: the body passes through here once or twice per message. */
size_t smtpc_plain_run(const uint8_t *p, size_t n, uint8_t *seen);

#endif
