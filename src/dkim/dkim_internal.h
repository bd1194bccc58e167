/* The signer handle, shared by dkim.c (settings) and dkim_sign.c (the
 * signing pass). Private to src/dkim/. */
#ifndef SMTPC_DKIM_INTERNAL_H
#define SMTPC_DKIM_INTERNAL_H
#include <mbedtls/pk.h>

#include "error.h"
#include "smtpc/dkim.h"

#define SMTPC_DKIM_NAME_MAX 76   /* a header name */
#define SMTPC_DKIM_LABEL_MAX 253 /* domain, selector */

struct smtpc_dkim {
    smtpc_allocator alloc;
    mbedtls_pk_context pk;
    int have_key;
    char domain[SMTPC_DKIM_LABEL_MAX + 1];
    char selector[SMTPC_DKIM_LABEL_MAX + 1];
    char names[SMTPC_DKIM_MAX_HEADERS][SMTPC_DKIM_NAME_MAX + 1];
    size_t n_names;
    int hcanon, bcanon;
    int oversign_from;
    int timestamp;
    int64_t expire;
    smtpc_clock_fn clock;
    void *clock_user;
    /* Moves on every successful setter: a message knows its signatures
     * are stale. */
    unsigned long serial;
    smtpc_error error;
};

/* Fill len bytes from a DRBG made for the call (mbedTLS's f_rng shape;
 * p is the signer). */
int smtpc_dkim_rng(void *p, unsigned char *out, size_t len);

#endif
