/* xtext (RFC 3461 section 4): the encoding of DSN parameter values (ENVID,
 * ORCPT). Every octet outside '!'..'~', and '+' and '=', becomes "+XX"
 * (upper-case hex); the rest stands for itself. The result is printable
 * ASCII without spaces, so no value can break out of its parameter. */
#ifndef SMTPC_XTEXT_H
#define SMTPC_XTEXT_H
#include <stddef.h>

/* The encoded length of in[0, len). */
size_t smtpc_xtext_len(const char *in, size_t len);
/* Encode in[0, len) into out, which must hold smtpc_xtext_len bytes (no NUL
 * is written). Returns the bytes written. */
size_t smtpc_xtext_encode(const char *in, size_t len, char *out);

#endif
