/* Session setup: greeting, EHLO (HELO fallback), STARTTLS, AUTH. */
#include <string.h>

#include "fmt.h"
#include "alloc.h"
#include "command_writer.h"
#include "engine_internal.h"

static void start_auth(smtpc_engine *e);

#define SMTPC_STR_(x) #x
#define SMTPC_STR(x) SMTPC_STR_(x)

static void queue_or_fail(smtpc_engine *e, int kind, const char *verb, const char *arg)
{
    int rc = smtpc_engine_queue(e, kind, verb, arg);
    if (rc)
        smtpc_engine_fail_with(e, 0, rc, "could not write %s: %s", verb, smtpc_strerror(rc));
}

static void session_ready(smtpc_engine *e)
{
    e->ready = 1;
    smtpc_engine_finish(e, 0);
}

/* EHLO (or HELO) succeeded: apply the TLS policy, then authenticate. */
static void after_ehlo(smtpc_engine *e)
{
    int wants_tls = e->security == SMTPC_SECURITY_STARTTLS ||
                    e->security == SMTPC_SECURITY_STARTTLS_OPTIONAL;
    if (!e->encrypted && wants_tls) {
        if (e->caps.flags & SMTPC_CAP_STARTTLS) {
            queue_or_fail(e, SMTPC_PK_STARTTLS, "STARTTLS", NULL);
            return;
        }
        if (e->security == SMTPC_SECURITY_STARTTLS) {
            smtpc_engine_fail_with(e, 1, SMTPC_ENOSTARTTLS,
                                   "STARTTLS is required but the server does not offer it");
            return;
        }
        smtpc_engine_trace(e, SMTPC_TRACE_INFO,
                           "server does not offer STARTTLS: continuing unencrypted");
    }
    start_auth(e);
}

static void start_auth(smtpc_engine *e)
{
    if (!e->auth_user) {
        session_ready(e);
        return;
    }
    e->ready = 1; /* a failed AUTH leaves a usable, unauthenticated session */
    int rc;
    if (!(e->caps.flags & SMTPC_CAP_AUTH) || !e->caps.auth_mechs) {
        rc = smtpc_engine_err(e, SMTPC_EAUTH_NOTOFFERED,
                              "credentials are set but the server offers no AUTH");
        goto finish;
    }
    if (!e->encrypted && !e->allow_plaintext_auth) {
        rc = smtpc_engine_err(e, SMTPC_EAUTH_INSECURE,
                              "refusing to send credentials over an unencrypted connection "
                              "(allow it explicitly to override)");
        goto finish;
    }
    int mech = smtpc_sasl_choose(e->caps.auth_mechs, e->auth_allowed,
                                 SMTPC_HAVE_SASL_EXTRA && e->auth_is_token);
    if (!mech) {
        /* What the build left out is looked up only for a text that is kept. */
        rc = smtpc_engine_err(e, SMTPC_EAUTH_NOMECH,
                              "no authentication mechanism in common with the server%s",
                              e->caps.auth_mechs & e->auth_allowed & ~smtpc_sasl_available()
                                  ? " (the server's CRAM-MD5 and SCRAM-SHA-256 are not "
                                    "in this build: -Dsasl_crypto=disabled)"
                                  : "");
        goto finish;
    }
    e->auth_mech = mech;
    e->auth_cancel_error = 0;
    smtpc_engine_trace(e, SMTPC_TRACE_INFO, "authenticating with %s",
                       smtpc_sasl_mech_name(mech));
    /* The AUTH line is built in place in the (empty) output buffer. */
    smtpc_engine_compact_output(e);
    static const char prefix[] = "AUTH ";
    size_t plen = sizeof prefix - 1;
    memcpy(e->out, prefix, plen);
    rc = smtpc_sasl_begin(&e->sasl, mech, e->auth_user, e->auth_secret, e->random,
                              e->random_user, SMTPC_COMMAND_MAX, (char *)e->out + plen,
                              e->out_cap - plen - 2);
    if (rc == 0) {
        size_t len = plen + strlen((const char *)e->out + plen);
        char *line = (char *)e->out;
        e->out_len = 0;
        rc = smtpc_engine_queue_raw(e, SMTPC_PK_AUTH, line, len, 1);
    }
    if (rc) {
        smtpc_zeroize(e->out, e->out_cap);
        e->out_len = 0;
        smtpc_engine_err(e, rc, "%s authentication could not start: %s",
                         smtpc_sasl_mech_name(mech),
                         rc == SMTPC_ENOTSUP && !e->random
                             ? "no random source: smtpc_engine_set_random"
                             : smtpc_strerror(rc));
        goto finish;
    }
    return;
finish: /* every refusal: the session stays usable, the operation ends */
    smtpc_engine_finish(e, rc);
}

/* The replies with a code of their own: SMTPC_EAUTH_FAILED, _WEAK, _ENCRYPT
 * and _TEMP in turn (a table: smaller than a switch). */
static const uint16_t auth_replies[] = {535, 534, 538, 454};
_Static_assert(SMTPC_EAUTH_TEMP == SMTPC_EAUTH_FAILED - 3 &&
                   SMTPC_EAUTH_WEAK == SMTPC_EAUTH_FAILED - 1 &&
                   SMTPC_EAUTH_ENCRYPT == SMTPC_EAUTH_FAILED - 2,
               "the AUTH error codes follow auth_replies");

/* Returns -code: the magnitudes are small constants (2-byte moves in Thumb),
 * and the reply setter takes -code with -Dmessages=short. */
static int auth_minus_error_for(int code)
{
    for (int i = 0; i < 4; i++)
        if (code == auth_replies[i])
            return -SMTPC_EAUTH_FAILED + i;
    return -SMTPC_EAUTH;
}

static void on_auth_reply(smtpc_engine *e, const smtpc_reply *reply)
{
    if (reply->code == 334 && !e->auth_cancel_error) {
        /* The challenge comes from the line buffer: reply->text keeps only
         * SMTPC_REPLY_TEXT_MAX - 1 bytes. A multi-line 334 is no challenge;
         * its joined text fails the strict decode. */
        const char *challenge = reply->text;
        size_t challenge_len = reply->text_len;
        if (reply->lines == 1)
            challenge = smtpc_reply_parser_line_text(&e->parser, &challenge_len);
        smtpc_engine_compact_output(e);
        int rc = smtpc_sasl_step(&e->sasl, challenge, challenge_len, (char *)e->out,
                                 e->out_cap - 2);
        if (rc) {
            /* Cancel the exchange ("*", RFC 4954 section 4) and report once it ends. */
            e->auth_cancel_error = rc;
            rc = smtpc_engine_queue_raw(e, SMTPC_PK_AUTH, "*", 1, 0);
        } else {
            char *line = (char *)e->out;
            rc = smtpc_engine_queue_raw(e, SMTPC_PK_AUTH, line, strlen(line), 2);
        }
        if (rc)
            smtpc_engine_fail_with(e, 0, rc, "authentication step failed: %s",
                                   smtpc_strerror(rc));
        return;
    }
    if (reply->code == 235 && !e->auth_cancel_error) {
        /* Only SCRAM (SASL crypto) has a server proof to miss. */
        int rc = SMTPC_HAVE_SASL_CRYPTO ? smtpc_sasl_success(&e->sasl) : 0;
        smtpc_sasl_clear(&e->sasl);
        if (rc) {
            smtpc_engine_err_reply(e, rc, reply,
                                   "server accepted authentication without proving itself");
            smtpc_engine_fail(e, 1);
            return;
        }
        e->auth_done = 1;
        smtpc_engine_trace(e, SMTPC_TRACE_INFO, "authenticated with %s",
                           smtpc_sasl_mech_name(e->auth_mech));
        smtpc_engine_finish(e, 0);
        return;
    }
    smtpc_sasl_clear(&e->sasl);
    if (e->auth_cancel_error) {
        int code = e->auth_cancel_error;
        const char *why = "authentication exchange cancelled";
        if (code == SMTPC_EAUTH_SERVER)
            why = "server signature is wrong: authentication abandoned";
        else if (code == SMTPC_EAUTH_PROTO)
            why = "server challenge malformed, unexpected or over " SMTPC_STR(
                SMTPC_SASL_CHALLENGE_MAX) " bytes decoded: authentication exchange cancelled";
        smtpc_engine_err_reply(e, code, reply, why);
        if (reply->code == 235 || reply->code == 334) {
            /* The server did not honour the cancel: the session cannot be trusted. */
            smtpc_engine_fail(e, 1);
            return;
        }
        smtpc_engine_finish(e, code);
        return;
    }
    int minus_code = auth_minus_error_for(reply->code);
    smtpc_engine_err_reply(e, -minus_code, reply, "authentication failed");
    smtpc_engine_finish(e, -minus_code);
}

void smtpc_engine_on_session_reply(smtpc_engine *e, int kind, const smtpc_reply *reply,
                                   size_t leftover)
{
    if (smtpc_engine_check_421(e, reply, "service not available"))
        return;
    /* Each success path returns; every refusal ends in the one tail below
     * with its code (kept as -code: see auth_minus_error_for) and text. */
    int minus_code;
    const char *what;
    switch (kind) {
    case SMTPC_PK_GREETING:
        if (reply->code == 220) {
            queue_or_fail(e, SMTPC_PK_EHLO, "EHLO", e->ehlo_name);
            return;
        }
        minus_code = -SMTPC_EGREETING;
        what = "server refused the connection";
        break;
    case SMTPC_PK_EHLO:
    case SMTPC_PK_HELO:
        if (reply->code == 250) {
            if (kind == SMTPC_PK_EHLO)
                e->caps.flags |= SMTPC_CAP_EHLO;
            else
                smtpc_ehlo_caps_init(&e->caps);
            after_ehlo(e);
            return;
        }
        if (kind == SMTPC_PK_EHLO && reply->code / 100 == 5 && !e->encrypted) {
            /* RFC 5321 section 4.1.4: an old server; HELO has no extensions. */
            queue_or_fail(e, SMTPC_PK_HELO, "HELO", e->ehlo_name);
            return;
        }
        minus_code = -SMTPC_EHELO;
        what = kind == SMTPC_PK_EHLO ? "EHLO refused" : "EHLO and HELO refused";
        break;
    case SMTPC_PK_STARTTLS:
        if (reply->code == 220) {
            if (leftover) {
                /* Anything after the 220 was sent before TLS: an attacker's. */
                char num[SMTPC_FMT_INT_MAX];
                smtpc_engine_fail_with(e, 0, SMTPC_EINJECTION,
                                       "server sent %s plaintext bytes after the STARTTLS 220 "
                                       "reply (response injection); connection abandoned",
                                       smtpc_fmt_size(num, leftover));
                return;
            }
            e->tls_wanted = 1;
            return;
        }
        if (e->security == SMTPC_SECURITY_STARTTLS_OPTIONAL) {
            smtpc_engine_trace(e, SMTPC_TRACE_INFO,
                               "STARTTLS refused (%d): continuing unencrypted", reply->code);
            start_auth(e);
            return;
        }
        minus_code = -SMTPC_ESTARTTLS;
        what = "STARTTLS refused";
        break;
    case SMTPC_PK_AUTH:
        on_auth_reply(e, reply);
        return;
    default:
        return;
    }
    smtpc_engine_err_reply(e, -minus_code, reply, what);
    smtpc_engine_fail(e, 1);
}

void smtpc_engine_session_after_tls(smtpc_engine *e)
{
    /* RFC 3207 section 4.2: forget everything learnt in plaintext. */
    smtpc_ehlo_caps_init(&e->caps);
    queue_or_fail(e, SMTPC_PK_EHLO, "EHLO", e->ehlo_name);
}
