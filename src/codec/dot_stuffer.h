/* Streaming dot-stuffer and line-ending normaliser for the DATA body.
 *
 * Stuffs a '.' before every line that starts with '.', including the very
 * first byte of the body; turns a bare CR and a bare LF into CRLF (a defence
 * against SMTP smuggling); the terminator ends the body with exactly one
 * CRLF "." CRLF whatever the last bytes were. Constant memory: two bytes of
 * state. */
#ifndef SMTPC_DOT_STUFFER_H
#define SMTPC_DOT_STUFFER_H
#include <stddef.h>
#include <stdint.h>

typedef struct smtpc_dot_stuffer {
    uint8_t at_line_start; /* next byte begins a line */
    uint8_t pending_cr;    /* a CR was seen; its LF (or not) decides */
    uint8_t saw_8bit;      /* a byte >= 0x80 went through */
    uint8_t no_dots;       /* BDAT (RFC 3030): line ends only, no dot-stuffing */
} smtpc_dot_stuffer;

void smtpc_dot_stuffer_init(smtpc_dot_stuffer *s);
/* For BDAT: line ends made CRLF, dots left alone (a chunk is counted, not
 * terminated). End it with smtpc_dot_stuffer_end_line, not _finish. */
void smtpc_dot_stuffer_init_bdat(smtpc_dot_stuffer *s);
/* Complete a pending last line (at most 2 bytes, as for _finish); returns
 * the byte count, or SIZE_MAX when cap is too small. */
size_t smtpc_dot_stuffer_end_line(smtpc_dot_stuffer *s, uint8_t *out, size_t cap);
/* Encode as much of in as fits into out (cap bytes). Each input byte
 * expands to at most 3 output bytes; a byte is consumed only when its whole
 * output fits. *consumed and *produced get the counts. */
void smtpc_dot_stuffer_encode(smtpc_dot_stuffer *s, const uint8_t *in, size_t in_len,
                              size_t *consumed, uint8_t *out, size_t cap, size_t *produced);
/* Write the end of data (completing a pending line) into out; needs at most
 * 7 bytes. Returns the byte count, or 0 when cap is too small (nothing
 * written). */
size_t smtpc_dot_stuffer_finish(smtpc_dot_stuffer *s, uint8_t *out, size_t cap);

#endif
