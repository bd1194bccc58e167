/* Quoted-printable for text bodies (RFC 2045 section 6.7), streaming.
 *
 * Text semantics: CRLF, a bare LF and a bare CR are all line breaks and come
 * out as CRLF. Output lines are at most 76 characters (soft breaks "=" CRLF
 * where needed); whitespace before a line break or at the end is encoded;
 * '=', control characters and bytes >= 0x80 are encoded. '.' at the start
 * of a line is left alone (the SMTP engine dot-stuffs). With escape_from the
 * 'F' of a line beginning with "From " is encoded so mbox writers leave it.
 * The output never contains "=_", which the boundaries rely on. */
#ifndef SMTPC_QUOTED_PRINTABLE_H
#define SMTPC_QUOTED_PRINTABLE_H
#include <stddef.h>
#include <stdint.h>

typedef struct smtpc_qp {
    size_t col;      /* characters on the current output line */
    int escape_from;
} smtpc_qp;

void smtpc_qp_init(smtpc_qp *q, int escape_from);

/* Encode from in into out (cap bytes). A byte is taken only once the bytes
 * after it that decide its form are there (up to 4), or final says no more
 * input follows. *consumed and the return value count input and output.
 * Needs cap >= 6 to make progress. */
size_t smtpc_qp_encode(smtpc_qp *q, const uint8_t *in, size_t len, int final,
                       size_t *consumed, uint8_t *out, size_t cap);

/* Size of the whole encoding of in (one pass, nothing stored). */
uint64_t smtpc_qp_encoded_size(const uint8_t *in, size_t len, int escape_from);

#endif
