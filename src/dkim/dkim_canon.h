/* DKIM canonicalization (RFC 6376 section 3.4): header fields one at a time,
 * the body as a stream. Pure code over caller memory, no crypto: built in
 * every configuration so its unit test runs everywhere. */
#ifndef SMTPC_DKIM_CANON_H
#define SMTPC_DKIM_CANON_H
#include <stddef.h>
#include <stdint.h>

/* Canonicalize one header field (name, colon, value, folds, final CRLF as
 * it appears in the message) into out, which needs len bytes. relaxed 0:
 * simple (unchanged). Returns the bytes written. */
size_t smtpc_dkim_canon_header(int relaxed, const char *field, size_t len, char *out);

/* The n bytes at a equal the NUL-terminated b, ASCII case ignored. */
int smtpc_dkim_name_eq(const char *a, size_t n, const char *b);

/* Where canonical body bytes go (the body hash). */
typedef void (*smtpc_dkim_sink_fn)(void *user, const uint8_t *p, size_t n);

/* Streaming body canonicalizer. Takes the body as sent, with any line ends
 * (a bare CR or LF counts as CRLF, as the engine sends them), and emits the
 * canonical form: empty lines at the end dropped, a final CRLF added, and
 * for relaxed, whitespace runs reduced to one space and removed at line
 * ends. A few counters of state. */
typedef struct smtpc_dkim_body {
    smtpc_dkim_sink_fn sink;
    void *user;
    int relaxed;
    uint64_t pending_crlf; /* line ends not yet emitted (maybe trailing) */
    int cr;                /* a CR was seen: its LF (or none) ends the line */
    int wsp;               /* relaxed: whitespace held back in this line */
    int in_line;           /* the current line has emitted bytes */
    int any;               /* some byte of content was emitted */
} smtpc_dkim_body;

void smtpc_dkim_body_init(smtpc_dkim_body *b, int relaxed, smtpc_dkim_sink_fn sink, void *user);
void smtpc_dkim_body_update(smtpc_dkim_body *b, const uint8_t *p, size_t n);
void smtpc_dkim_body_final(smtpc_dkim_body *b);

#endif
