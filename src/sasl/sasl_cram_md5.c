/* CRAM-MD5 (RFC 2195): "user" SP lowercase hex HMAC-MD5(password, challenge). */
#include <string.h>

#include "alloc.h"
#include "sasl_mech.h"
#include "smtpc/base.h"

static int cram_prepare(smtpc_sasl *s, smtpc_random_fn random, void *random_user)
{
    (void)random;
    (void)random_user;
    /* The user name ends at the space the response puts after it. */
    if (strchr(s->user, ' ') || smtpc_sasl_has_ctl(s->user))
        return SMTPC_EBADCHAR;
    return SMTPC_OK;
}

static int cram_step(smtpc_sasl *s, const uint8_t *challenge, size_t len, smtpc_b64_writer *w)
{
    static const char hex[] = "0123456789abcdef";
    if (s->phase != 0 || len == 0)
        return SMTPC_EAUTH_PROTO;
    uint8_t mac[16];
    char digest[32];
    int rc = smtpc_hmac_md5((const uint8_t *)s->secret, strlen(s->secret), challenge, len, mac);
    if (rc == SMTPC_OK) {
        for (size_t i = 0; i < sizeof mac; i++) {
            digest[2 * i] = hex[mac[i] >> 4];
            digest[2 * i + 1] = hex[mac[i] & 0x0f];
        }
        smtpc_b64_writer_puts(w, s->user);
        smtpc_b64_writer_put(w, " ", 1);
        smtpc_b64_writer_put(w, digest, sizeof digest);
    }
    smtpc_zeroize(mac, sizeof mac);
    smtpc_zeroize(digest, sizeof digest);
    return rc;
}

const smtpc_sasl_mech_ops smtpc_sasl_cram_md5_ops = {
    SMTPC_MECH_CRAM_MD5, "CRAM-MD5", cram_prepare, NULL, cram_step,
};
