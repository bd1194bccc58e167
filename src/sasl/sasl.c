/* SASL dispatch: mechanism choice and the parts of begin/step every
 * mechanism shares (argument checks, the initial response and whether it
 * fits on the AUTH line, strict challenge decoding, the "*" cancel). */
#include <string.h>

#include "alloc.h"
#include "sasl_mech.h"
#include "smtpc/auth.h"
#include "smtpc/base.h"
#include "smtpc_config.h"

/* Strongest first. The hash mechanisms exist only with a crypto provider
 * (-Dsasl_crypto): without one they are never chosen, and asking for them
 * alone is SMTPC_ENOTSUP. */
static const smtpc_sasl_mech_ops *const password_mechs[] = {
#if SMTPC_HAVE_SASL_CRYPTO
    &smtpc_sasl_scram_sha_256_ops,
    &smtpc_sasl_cram_md5_ops,
#endif
    &smtpc_sasl_plain_ops,
#if SMTPC_HAVE_SASL_EXTRA
    &smtpc_sasl_login_ops,
#endif
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* -Dsasl_extra=false leaves PLAIN alone (and the hash mechanisms): no
 * token mechanism at all. */
#if SMTPC_HAVE_SASL_EXTRA
static const smtpc_sasl_mech_ops *const token_mechs[] = {
    &smtpc_sasl_oauthbearer_ops,
    &smtpc_sasl_xoauth2_ops,
};
#define TOKEN_COUNT COUNT(token_mechs)
#else
#define token_mechs password_mechs
#define TOKEN_COUNT 0
#endif

_Static_assert(SMTPC_SASL_CHALLENGE_MAX == SMTPC_AUTH_CHALLENGE_MAX,
               "the documented challenge limit is the one enforced");

static const smtpc_sasl_mech_ops *find_ops(int mech)
{
    for (size_t i = 0; i < COUNT(password_mechs); i++)
        if (password_mechs[i]->mech == mech)
            return password_mechs[i];
#if SMTPC_HAVE_SASL_EXTRA
    for (size_t i = 0; i < COUNT(token_mechs); i++)
        if (token_mechs[i]->mech == mech)
            return token_mechs[i];
#endif
    return NULL;
}

int smtpc_sasl_available(void)
{
    int mask = 0;
    for (size_t i = 0; i < COUNT(password_mechs); i++)
        mask |= password_mechs[i]->mech;
#if SMTPC_HAVE_SASL_EXTRA
    for (size_t i = 0; i < COUNT(token_mechs); i++)
        mask |= token_mechs[i]->mech;
#endif
    return mask;
}

int smtpc_sasl_choose(int offered, int allowed, int is_token)
{
    int usable = offered & allowed;
    const smtpc_sasl_mech_ops *const *list = is_token ? token_mechs : password_mechs;
    size_t n = is_token ? TOKEN_COUNT : COUNT(password_mechs);
    for (size_t i = 0; i < n; i++)
        if (usable & list[i]->mech)
            return list[i]->mech;
    return 0;
}

const char *smtpc_sasl_mech_name(int mech)
{
    const smtpc_sasl_mech_ops *ops = find_ops(mech);
    return ops ? ops->name : "";
}

int smtpc_sasl_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

const char *smtpc_saslname_escape(char c)
{
    return c == ',' ? "=2C" : c == '=' ? "=3D" : NULL;
}

void smtpc_sasl_put_saslname(smtpc_b64_writer *w, const char *s)
{
    for (; *s; s++) {
        const char *esc = smtpc_saslname_escape(*s);
        if (esc)
            smtpc_b64_writer_puts(w, esc);
        else
            smtpc_b64_writer_put(w, s, 1);
    }
}

static void put_cancel(char *out, size_t cap)
{
    if (cap >= 2)
        memcpy(out, "*", 2);
    else if (cap == 1)
        out[0] = '\0';
}

int smtpc_sasl_begin(smtpc_sasl *s, int mech, const char *user, const char *secret,
                     smtpc_random_fn random, void *random_user, size_t max_command,
                     char *out, size_t cap)
{
    if (!s || !out || cap == 0)
        return SMTPC_EINVAL;
    out[0] = '\0';
    smtpc_sasl_clear(s);
    const smtpc_sasl_mech_ops *ops = find_ops(mech);
    if (!ops && (mech & SMTPC_AUTH_ALL) && !(mech & (mech - 1)))
        return SMTPC_ENOTSUP; /* a mechanism this build left out */
    if (!ops || !user || !secret || !*user || !*secret)
        return SMTPC_EINVAL;
    s->mech = mech;
    s->user = user;
    s->secret = secret;
    int rc = SMTPC_OK;
#if SMTPC_SASL_ONLY_PLAIN
    (void)random;
    (void)random_user;
#else
    if (ops->prepare && (rc = ops->prepare(s, random, random_user)) != SMTPC_OK)
        goto fail;
#endif

    size_t name_len = strlen(ops->name);
    if (name_len + 1 > cap) {
        rc = SMTPC_ETOOLONG;
        goto fail;
    }
    memcpy(out, ops->name, name_len + 1);
#if !SMTPC_SASL_ONLY_PLAIN
    if (!ops->initial)
        return SMTPC_OK;
#endif

    if (max_command == 0)
        max_command = 512;
    /* "AUTH " + name + " " + response + CRLF must fit the command line. */
    size_t fixed = 5 + name_len + 1 + 2;
    size_t room = cap - name_len - 1;
    if (max_command > fixed && max_command - fixed + 1 < room)
        room = max_command - fixed + 1;
    else if (max_command <= fixed)
        room = 0;
    if (room > 1) {
        smtpc_b64_writer w;
        smtpc_b64_writer_init(&w, out + name_len + 1, room);
        rc = ops->initial(s, &w);
        int fin = smtpc_b64_writer_finish(&w);
        if (rc != SMTPC_OK)
            goto fail;
        if (fin == SMTPC_OK) {
            out[name_len] = ' ';
            return SMTPC_OK;
        }
    }
    out[name_len] = '\0';
    s->ir_pending = 1;
    return SMTPC_OK;

fail:
    out[0] = '\0';
    smtpc_sasl_clear(s);
    return rc;
}

int smtpc_sasl_step(smtpc_sasl *s, const char *challenge, size_t challenge_len, char *out,
                    size_t cap)
{
    if (!s || !out || cap == 0 || (!challenge && challenge_len))
        return SMTPC_EINVAL;
    const smtpc_sasl_mech_ops *ops = find_ops(s->mech);
    int rc = SMTPC_ESTATE;
    if (!ops)
        goto cancel;
#if SMTPC_HAVE_SASL_CRYPTO
    /* Larger than any challenge RFC 4954 servers send in practice; in the
     * handle, so that a step neither allocates nor needs a big stack. */
    uint8_t *data = s->challenge;
    size_t len = 0;
    rc = smtpc_b64_decode_strict(challenge, challenge_len, data, sizeof s->challenge, &len);
#else
    /* No mechanism here reads a challenge: it is refused or taken on the
     * same terms, but not decoded. */
    const uint8_t *data = NULL;
    size_t len = 0;
    rc = smtpc_b64_check_strict(challenge, challenge_len, &len);
    if (len > SMTPC_SASL_CHALLENGE_MAX)
        rc = SMTPC_ETOOLONG;
    len = 0;
#endif
    if (rc != SMTPC_OK) {
        rc = SMTPC_EAUTH_PROTO;
        goto done;
    }
    size_t line_cap = cap < SMTPC_SASL_LINE_MAX - 1 ? cap : SMTPC_SASL_LINE_MAX - 1;
    smtpc_b64_writer w;
    smtpc_b64_writer_init(&w, out, line_cap);
    if (s->ir_pending) {
        /* RFC 4954: the client-first response goes after an empty 334. */
        rc = ops->initial(s, &w);
        s->ir_pending = 0;
    } else {
        rc = ops->step(s, data, len, &w);
        s->phase++;
    }
    int fin = smtpc_b64_writer_finish(&w);
    if (rc == SMTPC_OK)
        rc = fin;
done:
#if SMTPC_HAVE_SASL_CRYPTO
    smtpc_zeroize(data, len);
#endif
    if (rc == SMTPC_OK)
        return SMTPC_OK;
cancel:
    put_cancel(out, cap);
    return rc;
}

int smtpc_sasl_success(smtpc_sasl *s)
{
    if (!s)
        return SMTPC_EINVAL;
    if (s->mech == SMTPC_MECH_SCRAM_SHA_256 && !s->server_verified)
        return SMTPC_EAUTH_SERVER;
    return SMTPC_OK;
}

void smtpc_sasl_clear(smtpc_sasl *s)
{
    if (s)
        smtpc_zeroize(s, sizeof *s);
}
