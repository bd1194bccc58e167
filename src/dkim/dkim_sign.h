/* One signing pass: the message bytes go in as they are produced, the
 * DKIM-Signature header field comes out. Used by smtpc_dkim_sign_raw and by
 * the message builder (src/message/message_dkim.c). */
#ifndef SMTPC_DKIM_SIGN_H
#define SMTPC_DKIM_SIGN_H
#include <stddef.h>
#include <stdint.h>

#include "smtpc/dkim.h"

typedef struct smtpc_dkim_ctx smtpc_dkim_ctx;

/* Start a pass with dkim's settings. Fails (recorded in dkim's error
 * record) with SMTPC_ESTATE when the key, domain or selector is missing,
 * SMTPC_ENOMEM, or SMTPC_ENOTSUP in a build without DKIM. */
int smtpc_dkim_ctx_new(smtpc_dkim *dkim, smtpc_dkim_ctx **out);
/* The next bytes of the message (any line ends, any chunking). */
void smtpc_dkim_ctx_update(smtpc_dkim_ctx *ctx, const uint8_t *data, size_t len);
/* Finish and sign: *header gets the folded, CRLF-terminated header field
 * (NUL-terminated, valid until the ctx is freed) and *len its length.
 * Errors are recorded in the signer's error record. */
int smtpc_dkim_ctx_final(smtpc_dkim_ctx *ctx, const char **header, size_t *len);
void smtpc_dkim_ctx_free(smtpc_dkim_ctx *ctx);
/* The signer's settings generation (changes with every setter). */
unsigned long smtpc_dkim_serial(const smtpc_dkim *dkim);

#endif
