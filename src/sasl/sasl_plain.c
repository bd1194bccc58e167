/* PLAIN (RFC 4616) and the non-standard but ubiquitous LOGIN. */
#include "sasl_mech.h"
#include "smtpc/base.h"
#include "smtpc_config.h"

/* No authorization identity: the server derives it from the login. C
 * strings cannot hold the NUL separator, so every other octet is SAFE. */
static int plain_initial(const smtpc_sasl *s, smtpc_b64_writer *w)
{
    smtpc_b64_writer_put(w, "", 1);
    smtpc_b64_writer_puts(w, s->user);
    smtpc_b64_writer_put(w, "", 1);
    smtpc_b64_writer_puts(w, s->secret);
    return SMTPC_OK;
}

static int plain_step(smtpc_sasl *s, const uint8_t *challenge, size_t len, smtpc_b64_writer *w)
{
    (void)s;
    (void)challenge;
    (void)len;
    (void)w;
    /* PLAIN is one message; a further challenge means the server is confused. */
    return SMTPC_EAUTH_PROTO;
}

const smtpc_sasl_mech_ops smtpc_sasl_plain_ops = {
    SMTPC_MECH_PLAIN, "PLAIN", NULL, plain_initial, plain_step,
};

/* The prompts ("Username:", "Password:") vary between servers and are
 * sometimes localised, so the answer follows the step count. */
#if SMTPC_HAVE_SASL_EXTRA
static int login_step(smtpc_sasl *s, const uint8_t *challenge, size_t len, smtpc_b64_writer *w)
{
    (void)challenge;
    (void)len;
    if (s->phase == 0) {
        smtpc_b64_writer_puts(w, s->user);
        return SMTPC_OK;
    }
    if (s->phase == 1) {
        smtpc_b64_writer_puts(w, s->secret);
        return SMTPC_OK;
    }
    return SMTPC_EAUTH_PROTO;
}

const smtpc_sasl_mech_ops smtpc_sasl_login_ops = {
    SMTPC_MECH_LOGIN, "LOGIN", NULL, NULL, login_step,
};
#endif
