/* Base64 for MIME bodies, SASL and RFC 2047 encoded-words, with exactly
 * the line structure MIME wants (RFC 2045 section 6.8): 76-character lines
 * ending in CRLF, written straight into the caller's buffer. (Decoding, in
 * src/sasl, still uses libb64.) */
#ifndef SMTPC_BASE64_STREAM_H
#define SMTPC_BASE64_STREAM_H
#include <stddef.h>
#include <stdint.h>

/* Input bytes per full output line: 57 bytes -> 76 characters. */
#define SMTPC_BASE64_LINE_IN 57
/* Output bytes of one full line, CRLF included. */
#define SMTPC_BASE64_LINE_OUT 78

/* The 64 characters of base64, in value order (no NUL after them): SASL's
 * strict decoder looks its input up here. */
extern const char smtpc_base64_alphabet[64];

/* Encode len (<= 57) bytes as unbroken base64 (with '=' padding) into out,
 * which needs 4 * ceil(len / 3) bytes. Returns the characters written. */
size_t smtpc_base64_chunk(const uint8_t *in, size_t len, char *out);
/* The same for secrets (SASL credentials). Kept apart for its callers'
 * sake: the encoder makes no copies, so there is nothing left to wipe. */
size_t smtpc_base64_chunk_secret(const uint8_t *in, size_t len, char *out);

/* Encode whole lines from in into out: each line takes 57 input bytes (fewer
 * only for the last line, when final is set) and gives at most 76 characters
 * plus CRLF. Stops when the next line does not fit in cap or, unless final,
 * fewer than 57 input bytes remain. *consumed gets the input bytes used.
 * Returns the bytes written. */
size_t smtpc_base64_lines(const uint8_t *in, size_t len, int final, size_t *consumed,
                          uint8_t *out, size_t cap);

/* Exact size of the encoding of n bytes by smtpc_base64_lines (every line
 * CRLF-terminated; 0 for n == 0); UINT64_MAX when that would not fit. */
uint64_t smtpc_base64_encoded_size(uint64_t n);

#endif
