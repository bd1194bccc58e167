/* Bearer-token mechanisms: Google/Microsoft's XOAUTH2 and RFC 7628's
 * OAUTHBEARER. Both carry "auth=Bearer <token>" between %x01 separators. */
#include <string.h>

#include "sasl_mech.h"
#include "smtpc/base.h"

static int oauth_prepare(smtpc_sasl *s, smtpc_random_fn random, void *random_user)
{
    (void)random;
    (void)random_user;
    /* %x01 would end a field early; RFC 6750 tokens have no space either. */
    if (smtpc_sasl_has_ctl(s->user) || smtpc_sasl_has_ctl(s->secret) ||
        strchr(s->secret, ' '))
        return SMTPC_EBADCHAR;
    return SMTPC_OK;
}

static void put_bearer(const smtpc_sasl *s, smtpc_b64_writer *w)
{
    smtpc_b64_writer_puts(w, "\x01" "auth=Bearer ");
    smtpc_b64_writer_puts(w, s->secret);
    smtpc_b64_writer_puts(w, "\x01\x01");
}

static int xoauth2_initial(const smtpc_sasl *s, smtpc_b64_writer *w)
{
    smtpc_b64_writer_puts(w, "user=");
    smtpc_b64_writer_puts(w, s->user);
    put_bearer(s, w);
    return SMTPC_OK;
}

/* The only challenge is the provider's JSON error; the empty answer lets the
 * server finish with its 535. */
static int xoauth2_step(smtpc_sasl *s, const uint8_t *challenge, size_t len,
                        smtpc_b64_writer *w)
{
    (void)challenge;
    (void)len;
    (void)w;
    return s->phase == 0 ? SMTPC_OK : SMTPC_EAUTH_PROTO;
}

const smtpc_sasl_mech_ops smtpc_sasl_xoauth2_ops = {
    SMTPC_MECH_XOAUTH2, "XOAUTH2", oauth_prepare, xoauth2_initial, xoauth2_step,
};

static int oauthbearer_initial(const smtpc_sasl *s, smtpc_b64_writer *w)
{
    smtpc_b64_writer_puts(w, "n,a=");
    smtpc_sasl_put_saslname(w, s->user);
    smtpc_b64_writer_puts(w, ",");
    put_bearer(s, w);
    return SMTPC_OK;
}

/* RFC 7628 3.2.3: the error challenge is acknowledged with a lone %x01. */
static int oauthbearer_step(smtpc_sasl *s, const uint8_t *challenge, size_t len,
                            smtpc_b64_writer *w)
{
    (void)challenge;
    (void)len;
    if (s->phase != 0)
        return SMTPC_EAUTH_PROTO;
    smtpc_b64_writer_put(w, "\x01", 1);
    return SMTPC_OK;
}

const smtpc_sasl_mech_ops smtpc_sasl_oauthbearer_ops = {
    SMTPC_MECH_OAUTHBEARER, "OAUTHBEARER", oauth_prepare, oauthbearer_initial,
    oauthbearer_step,
};
