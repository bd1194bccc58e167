/* What the TLS configuration (tls_config.c) and the TLS session
 * (tls_session.c) share: the configuration's layout, the configuration's random
 * generator and mbedTLS helpers. The tls folder's own header: nothing
 * outside it includes this file. */
#ifndef SMTPC_TLS_MBEDTLS_H
#define SMTPC_TLS_MBEDTLS_H

#include "smtpc_config.h"
#include "smtpc/tls.h"
#include "transport_internal.h"
#include "alloc.h"
#include "error.h"
#include "tls_ip.h"
#include "tls_records.h"
#include "port.h"
#include "ct_compare.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define SMTPC_MBEDTLS_3 (MBEDTLS_VERSION_NUMBER >= 0x03000000)
#if SMTPC_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif


/* A generator seeded through session_entropy. */
typedef struct {
    mbedtls_ctr_drbg_context drbg;
    const smtpc_tls_config *cfg;
    /* session_entropy could not allocate its context: mbedTLS only sees an
     * entropy failure, and this lets the caller report SMTPC_ENOMEM. */
    int nomem;
} rng_pair;

struct smtpc_tls_config {
    smtpc_allocator alloc;
    mbedtls_x509_crt ca;
    int ca_is_default; /* no add_ca yet: the system bundle is the trust store */
    int default_loaded; /* the system bundle was read (or found missing) */
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    int have_own;
    uint8_t pin[SMTPC_TLS_PIN_LEN];
    int have_pin;
    int verify_mode;
    int min_version;
    smtpc_entropy_fn entropy_fn;
    void *entropy_user;
    char *server_name; /* smtpc_tls_config_set_server_name; NULL: none */
    /* The generator every transport made from this configuration draws
     * from (smtpc_tls_config_rng): seeded once, reseeded in a forked child
     * and after the entropy hook changes. */
    rng_pair rng;
    int rng_seeded;
    int rng_stale;  /* the entropy hook changed since the last (re)seed */
    long rng_pid;   /* the process that last (re)seeded it */
    smtpc_error error; /* the last failed call (smtpc_tls_config_error) */
};


/* mbedTLS's text for ret (or its number when built without error texts). */
void smtpc_tls_describe(int ret, char *buf, size_t cap);
/* PSA start-up where mbedTLS 3.x needs it; 0 or SMTPC_ETLS with msg. */
int smtpc_tls_crypto_init(char *msg, size_t cap);
/* Read the system trust store once, when no CA was added. */
void smtpc_tls_load_default_ca(smtpc_tls_config *cfg);
size_t smtpc_tls_chain_length(const mbedtls_x509_crt *c);
/* The configuration's generator for a transport or a key check, seeded
 * (or reseeded) here when needed. cfg is const to its users; the generator
 * is the one part that changes as it is used, under the configuration's
 * one-thread-at-a-time rule. Returns 0 and sets *drbg, or an mbedTLS
 * error with *nomem set when it was the allocator that failed. */
int smtpc_tls_config_rng(const smtpc_tls_config *cfg, mbedtls_ctr_drbg_context **drbg,
                         int *nomem);

#endif
