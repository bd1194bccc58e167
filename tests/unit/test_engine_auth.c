/* AUTH through the sans-io engine: two-sided scripts (server replies in, the
 * exact client bytes out) for every mechanism's exchange, the replies no
 * test server produces on demand (454, 534, 538, a 334 that is not base64,
 * a server that ignores the cancel), and the policy checks. Each script is
 * replayed with the server bytes whole, one byte at a time and at seeded
 * random splits; after every replay the trace must hold no form of the
 * secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sasl.h" /* smtpc_b64_encode / decode for the secret search */
#include "smtpc.h"
#include "smtpc_config.h"

enum { END, SESSION, NOOP, SRV, CLI, TLS, RESULT, WANT, REPLY, ENH, TEMP, MECH, RTEXT, EMSG };

typedef struct {
    int kind;
    const char *text;
    int n;
} step;

typedef struct {
    const char *name;
    int security;
    const char *user;
    const char *password; /* exactly one of password and token */
    const char *token;
    int mechs;            /* 0: the default set */
    int allow_plaintext;
    const step *steps;
} script;

#define S(x) {SRV, x, 0}
#define C(x) {CLI, x, 0}
#define RES(x) {RESULT, NULL, x}
#define WANTS(x) {WANT, NULL, x}
#define REPLY_IS(x) {REPLY, NULL, x}
#define ENH_IS(x) {ENH, x, 0}
#define MECH_IS(x) {MECH, x, 0}
#define RTEXT_HAS(x) {RTEXT, x, 0}
#define EMSG_HAS(x) {EMSG, x, 0}
#define DONE {END, NULL, 0}

/* Greeting, STARTTLS and the EHLO after it; ehlo is the capability reply
 * that the AUTH decision is made on. */
#define OVER_TLS(ehlo)                                                                     \
    {SESSION, NULL, 0}, S("220 mx.test ESMTP\r\n"), C("EHLO client.test\r\n"),             \
        S("250-mx.test\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"), S("220 2.0.0 go\r\n"),    \
        {TLS, NULL, 0}, C("EHLO client.test\r\n"), S(ehlo)

/* The session is still usable after a refused AUTH. */
#define STILL_USABLE                                                                       \
    WANTS(SMTPC_WANT_IDLE), {NOOP, NULL, 0}, C("NOOP\r\n"), S("250 2.0.0 ok\r\n"), RES(0)

/* RFC 4616 / RFC 2195 example credentials. */
#define TIM "tim"
#define TIM_PW "tanstaaftanstaaf"
#define PLAIN_IR "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
#define TOKEN "ya29.token"

#if SMTPC_HAVE_SASL_EXTRA
/* ---- LOGIN ---- */

static const step login_ok[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6\r\n"), C("dGlt\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
    C("dGFuc3RhYWZ0YW5zdGFhZg==\r\n"), S("235 2.7.0 Authentication successful\r\n"), RES(0),
    MECH_IS("LOGIN"), STILL_USABLE, DONE};

/* Localised prompts change nothing: the answers follow the step count. */
static const step login_other_prompts[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH=LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 QmVudXR6ZXJuYW1lOg==\r\n"), C("dGlt\r\n"), S("334 UGFzc3dvcnQ6\r\n"),
    C("dGFuc3RhYWZ0YW5zdGFhZg==\r\n"), S("235 ok\r\n"), RES(0), MECH_IS("LOGIN"), DONE};

static const step login_bad[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6\r\n"), C("dGlt\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
    C("dGFuc3RhYWZ0YW5zdGFhZg==\r\n"), S("535 5.7.8 Authentication credentials invalid\r\n"),
    RES(SMTPC_EAUTH_FAILED), REPLY_IS(535), ENH_IS("5.7.8"), {TEMP, NULL, 0}, MECH_IS(""),
    STILL_USABLE, DONE};

/* A third challenge is one LOGIN cannot answer. */
static const step login_extra_challenge[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6\r\n"), C("dGlt\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
    C("dGFuc3RhYWZ0YW5zdGFhZg==\r\n"), S("334 QWdhaW4/\r\n"), C("*\r\n"),
    S("501 5.7.0 Auth aborted\r\n"), RES(SMTPC_EAUTH_PROTO), REPLY_IS(501), STILL_USABLE, DONE};
#else
/* -Dsasl_extra=false: LOGIN and the token mechanisms are passed over even
 * when offered first (the rest is test_features_off's). */
static const step plain_over_extras[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN XOAUTH2 OAUTHBEARER PLAIN\r\n"),
    C("AUTH PLAIN " PLAIN_IR "\r\n"), S("235 2.7.0 ok\r\n"), RES(0), MECH_IS("PLAIN"), DONE};
#endif

#if SMTPC_HAVE_SASL_CRYPTO
/* ---- CRAM-MD5: RFC 2195's example ---- */

static const step cram_md5_rfc2195[] = {
    /* Offered together with PLAIN, the stronger CRAM-MD5 wins. */
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n"), C("AUTH CRAM-MD5\r\n"),
    S("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
    C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"), S("235 2.7.0 ok\r\n"), RES(0),
    MECH_IS("CRAM-MD5"), DONE};

/* ---- a 334 that is not base64: cancel, then a protocol error ---- */

static const step cram_md5_junk_challenge[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH CRAM-MD5\r\n"), C("AUTH CRAM-MD5\r\n"),
    S("334 <1896.697170952@postoffice.reston.mci.net>\r\n"), C("*\r\n"),
    S("501 5.7.0 Auth aborted\r\n"), RES(SMTPC_EAUTH_PROTO), REPLY_IS(501), ENH_IS("5.7.0"),
    MECH_IS(""), STILL_USABLE, DONE};
#endif

#if SMTPC_HAVE_SASL_EXTRA
static const step login_bad_padding[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6=\r\n"), C("*\r\n"), S("501 5.7.0 Auth aborted\r\n"),
    RES(SMTPC_EAUTH_PROTO), STILL_USABLE, DONE};

static const step login_space_in_challenge[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 VXNl cm5hbWU6\r\n"), C("*\r\n"), S("501 5.7.0 Auth aborted\r\n"),
    RES(SMTPC_EAUTH_PROTO), DONE};
#endif

#if SMTPC_HAVE_SASL_CRYPTO
/* A server that answers the cancel with success cannot be trusted: the
 * session ends. */
static const step cancel_ignored[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH CRAM-MD5\r\n"), C("AUTH CRAM-MD5\r\n"),
    S("334 !!!!\r\n"), C("*\r\n"), S("235 2.7.0 welcome anyway\r\n"), C("QUIT\r\n"),
    S("221 bye\r\n"), RES(SMTPC_EAUTH_PROTO), WANTS(SMTPC_WANT_CLOSE), MECH_IS(""), DONE};
#endif

/* ---- the server's refusals, each with its own code ---- */

#define PLAIN_REFUSED(reply)                                                               \
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN\r\n"), C("AUTH PLAIN " PLAIN_IR "\r\n"), S(reply)

static const step plain_454[] = {
    PLAIN_REFUSED("454 4.7.0 Temporary authentication failure\r\n"), RES(SMTPC_EAUTH_TEMP),
    REPLY_IS(454), ENH_IS("4.7.0"), {TEMP, NULL, 1}, STILL_USABLE, DONE};
static const step plain_534[] = {
    PLAIN_REFUSED("534 5.7.9 Authentication mechanism is too weak\r\n"), RES(SMTPC_EAUTH_WEAK),
    REPLY_IS(534), ENH_IS("5.7.9"), {TEMP, NULL, 0}, STILL_USABLE, DONE};
static const step plain_538[] = {
    PLAIN_REFUSED("538 5.7.11 Encryption required for requested authentication mechanism\r\n"),
    RES(SMTPC_EAUTH_ENCRYPT), REPLY_IS(538), ENH_IS("5.7.11"), STILL_USABLE, DONE};
static const step plain_535[] = {
    PLAIN_REFUSED("535 5.7.8 Authentication credentials invalid\r\n"), RES(SMTPC_EAUTH_FAILED),
    REPLY_IS(535), ENH_IS("5.7.8"), STILL_USABLE, DONE};
static const step plain_other[] = {
    PLAIN_REFUSED("504 5.5.4 Unrecognized authentication type\r\n"), RES(SMTPC_EAUTH),
    REPLY_IS(504), STILL_USABLE, DONE};
static const step plain_421[] = {
    PLAIN_REFUSED("421 4.3.2 shutting down\r\n"), RES(SMTPC_ESHUTDOWN),
    WANTS(SMTPC_WANT_CLOSE), DONE};

#if SMTPC_HAVE_SASL_EXTRA
/* ---- bearer tokens ---- */

static const step xoauth2_ok[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN XOAUTH2\r\n"),
    C("AUTH XOAUTH2 dXNlcj10aW0BYXV0aD1CZWFyZXIgeWEyOS50b2tlbgEB\r\n"), S("235 2.7.0 ok\r\n"),
    RES(0), MECH_IS("XOAUTH2"), DONE};

/* Google's and Microsoft's way: a JSON error in a 334, an empty answer,
 * then the 535. */
static const step xoauth2_json_error[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH XOAUTH2\r\n"),
    C("AUTH XOAUTH2 dXNlcj10aW0BYXV0aD1CZWFyZXIgeWEyOS50b2tlbgEB\r\n"),
    S("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n"), C("\r\n"),
    S("535 5.7.8 Username and Password not accepted\r\n"), RES(SMTPC_EAUTH_FAILED),
    REPLY_IS(535), MECH_IS(""), STILL_USABLE, DONE};

static const step oauthbearer_preferred[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH XOAUTH2 PLAIN OAUTHBEARER\r\n"),
    C("AUTH OAUTHBEARER bixhPXRpbSwBYXV0aD1CZWFyZXIgeWEyOS50b2tlbgEB\r\n"),
    S("235 2.7.0 ok\r\n"), RES(0), MECH_IS("OAUTHBEARER"), DONE};

/* RFC 7628 3.2.3: the error status is acknowledged with a lone %x01. */
static const step oauthbearer_error[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH OAUTHBEARER\r\n"),
    C("AUTH OAUTHBEARER bixhPXRpbSwBYXV0aD1CZWFyZXIgeWEyOS50b2tlbgEB\r\n"),
    S("334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n"), C("AQ==\r\n"),
    S("535 5.7.8 Authentication credentials invalid\r\n"), RES(SMTPC_EAUTH_FAILED),
    REPLY_IS(535), DONE};
#endif

#if SMTPC_HAVE_SASL_CRYPTO
/* ---- SCRAM-SHA-256: RFC 7677's example exchange ---- */

#define SCRAM_START                                                                        \
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN CRAM-MD5 SCRAM-SHA-256\r\n"),                  \
        C("AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n"),           \
        S("334 cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcy" \
          "MlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=\r\n"),                                  \
        C("Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYka" \
          "zAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==\r\n")

static const step scram_rfc7677[] = {
    SCRAM_START, S("334 dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==\r\n"),
    C("\r\n"), S("235 2.7.0 Authentication successful\r\n"), RES(0), MECH_IS("SCRAM-SHA-256"),
    STILL_USABLE, DONE};

static const step scram_wrong_signature[] = {
    SCRAM_START, S("334 dj02cnJpVFJCaTIzWHBSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==\r\n"),
    C("*\r\n"), S("501 5.7.0 Auth aborted\r\n"), RES(SMTPC_EAUTH_SERVER), MECH_IS(""),
    STILL_USABLE, DONE};

static const step scram_error_final[] = {
    SCRAM_START, S("334 ZT1pbnZhbGlkLXByb29m\r\n"), C("*\r\n"), S("501 5.7.0 Auth aborted\r\n"),
    RES(SMTPC_EAUTH_FAILED), DONE};

/* 235 straight after the proof: the server never proved it knows the
 * password, so nothing may be sent to it. */
static const step scram_no_server_proof[] = {
    SCRAM_START, S("235 2.7.0 ok\r\n"), C("QUIT\r\n"), S("221 bye\r\n"),
    RES(SMTPC_EAUTH_SERVER), WANTS(SMTPC_WANT_CLOSE), MECH_IS(""), DONE};
#else
/* -Dsasl_crypto=disabled: CRAM-MD5 and SCRAM-SHA-256 are not in the build.
 * Offered with PLAIN, they are passed over; offered alone, AUTH fails
 * saying so, and the session stays usable. */
static const step plain_over_hashes[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\r\n"),
    C("AUTH PLAIN " PLAIN_IR "\r\n"), S("235 2.7.0 ok\r\n"), RES(0), MECH_IS("PLAIN"), DONE};

static const step hashes_only_offered[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH CRAM-MD5 SCRAM-SHA-256\r\n"), RES(SMTPC_EAUTH_NOMECH),
    EMSG_HAS("not in this build: -Dsasl_crypto=disabled"), MECH_IS(""), STILL_USABLE, DONE};
#endif

/* ---- policy ---- */

static const step not_offered[] = {
    OVER_TLS("250-mx.test\r\n250 8BITMIME\r\n"), RES(SMTPC_EAUTH_NOTOFFERED),
    WANTS(SMTPC_WANT_IDLE), DONE};

#if SMTPC_HAVE_SASL_CRYPTO
static const step no_common_mech[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"), RES(SMTPC_EAUTH_NOMECH),
    WANTS(SMTPC_WANT_IDLE), DONE};
#endif

#if SMTPC_HAVE_SASL_EXTRA
static const step token_no_bearer_mech[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\r\n"),
    RES(SMTPC_EAUTH_NOMECH), DONE};
#endif

/* STARTTLS was optional and not offered: still no credentials in the clear. */
static const step optional_tls_missing[] = {
    {SESSION, NULL, 0}, S("220 mx.test ESMTP\r\n"), C("EHLO client.test\r\n"),
    S("250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"), RES(SMTPC_EAUTH_INSECURE),
    WANTS(SMTPC_WANT_IDLE), DONE};

static const step plaintext_allowed[] = {
    {SESSION, NULL, 0}, S("220 mx.test ESMTP\r\n"), C("EHLO client.test\r\n"),
    S("250-mx.test\r\n250 AUTH LOGIN PLAIN\r\n"), C("AUTH PLAIN " PLAIN_IR "\r\n"),
    S("235 2.7.0 ok\r\n"), RES(0), MECH_IS("PLAIN"), DONE};

/* ---- review finding #10: a server that echoes the secret line ---- */

#define LOGIN_PW_B64 "dGFuc3RhYWZ0YW5zdGFhZg=="
static const char *const plain_hidden[] = {PLAIN_IR, NULL};
#if SMTPC_HAVE_SASL_EXTRA
static const char *const login_hidden[] = {LOGIN_PW_B64, NULL};
#endif

/* The whole AUTH line quoted back in a syntax error. */
static const step plain_echoed[] = {
    PLAIN_REFUSED("500 5.5.2 Syntax error in \"AUTH PLAIN " PLAIN_IR "\"\r\n"),
    RES(SMTPC_EAUTH), REPLY_IS(500), RTEXT_HAS("Syntax error in \"AUTH PLAIN <redacted>\""),
    STILL_USABLE, DONE};
/* Cut short by the server: the start still gives part of it away. */
static const step plain_echoed_truncated[] = {
    PLAIN_REFUSED("500-5.5.2 Syntax error in\r\n500 5.5.2 \"AUTH PLAIN AHRpbQB0YW...\"\r\n"),
    RES(SMTPC_EAUTH), REPLY_IS(500), RTEXT_HAS("\"AUTH PLAIN <redacted>...\""), STILL_USABLE,
    DONE};
#if SMTPC_HAVE_SASL_EXTRA
/* A later response (the LOGIN password), echoed in base64 and decoded. */
static const step login_password_echoed[] = {
    OVER_TLS("250-mx.test\r\n250 AUTH LOGIN\r\n"), C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6\r\n"), C("dGlt\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
    C(LOGIN_PW_B64 "\r\n"),
    S("535-5.7.8 Bad password " LOGIN_PW_B64 "\r\n535 5.7.8 (\"" TIM_PW "\") for tim\r\n"),
    RES(SMTPC_EAUTH_FAILED), REPLY_IS(535), RTEXT_HAS("Bad password <redacted>"),
    RTEXT_HAS("(\"<redacted>\") for tim"), STILL_USABLE, DONE};
#endif
/* Echoed later in the session, in a reply to another command. */
static const step plain_echoed_later[] = {
    PLAIN_REFUSED("235 2.7.0 ok\r\n"), RES(0), {NOOP, NULL, 0}, C("NOOP\r\n"),
    S("550 5.5.1 NOOP after " PLAIN_IR " is not allowed\r\n"), RES(SMTPC_ECOMMAND),
    RTEXT_HAS("NOOP after <redacted> is not"), DONE};

static const script scripts[] = {
#if SMTPC_HAVE_SASL_EXTRA
    {"login", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, login_ok},
    {"login_other_prompts", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
     login_other_prompts},
    {"login_bad", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, login_bad},
    {"login_extra_challenge", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
     login_extra_challenge},
#else
    {"plain_over_extras", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_over_extras},
#endif
#if SMTPC_HAVE_SASL_CRYPTO
    {"cram_md5_rfc2195", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, cram_md5_rfc2195},
    {"cram_md5_junk_challenge", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
     cram_md5_junk_challenge},
    {"cancel_ignored", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, cancel_ignored},
#endif
#if SMTPC_HAVE_SASL_EXTRA
    {"login_bad_padding", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, login_bad_padding},
    {"login_space_in_challenge", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
     login_space_in_challenge},
#endif
    {"plain_454", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_454},
    {"plain_534", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_534},
    {"plain_538", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_538},
    {"plain_535", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_535},
    {"plain_other", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_other},
    {"plain_421", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_421},
#if SMTPC_HAVE_SASL_EXTRA
    {"xoauth2", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0, 0, xoauth2_ok},
    {"xoauth2_json_error", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0, 0, xoauth2_json_error},
    {"oauthbearer_preferred", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0, 0,
     oauthbearer_preferred},
    {"oauthbearer_error", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0, 0, oauthbearer_error},
#endif
#if SMTPC_HAVE_SASL_CRYPTO
    {"scram_rfc7677", SMTPC_SECURITY_STARTTLS, "user", "pencil", NULL, 0, 0, scram_rfc7677},
    {"scram_wrong_signature", SMTPC_SECURITY_STARTTLS, "user", "pencil", NULL, 0, 0,
     scram_wrong_signature},
    {"scram_error_final", SMTPC_SECURITY_STARTTLS, "user", "pencil", NULL, 0, 0,
     scram_error_final},
    {"scram_no_server_proof", SMTPC_SECURITY_STARTTLS, "user", "pencil", NULL, 0, 0,
     scram_no_server_proof},
#else
    {"plain_over_hashes", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_over_hashes},
    {"hashes_only_offered", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
     hashes_only_offered},
#endif
    {"not_offered", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, not_offered},
#if SMTPC_HAVE_SASL_CRYPTO
    {"no_common_mech", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL,
     SMTPC_AUTH_SCRAM_SHA_256 | SMTPC_AUTH_CRAM_MD5, 0, no_common_mech},
#endif
#if SMTPC_HAVE_SASL_EXTRA
    {"token_no_bearer_mech", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0, 0,
     token_no_bearer_mech},
#endif
    {"optional_tls_missing", SMTPC_SECURITY_STARTTLS_OPTIONAL, TIM, TIM_PW, NULL, 0, 0,
     optional_tls_missing},
    {"plaintext_allowed", SMTPC_SECURITY_PLAIN, TIM, TIM_PW, NULL, SMTPC_AUTH_PLAIN, 1,
     plaintext_allowed},
};

/* ---- the replay ---- */

enum { WHOLE, BYTEWISE, RANDOM };

typedef struct {
    smtpc_engine *e;
    int mode;
    unsigned seed;
    char sent[16384];
    size_t sent_len;
    char expected[16384];
    size_t expected_len;
    char trace[32768];
    size_t trace_len;
} replay;

/* RFC 7677's client nonce "rOprNGfwEbeRWgbNEkqO", as the 15 random bytes
 * that encode to it. */
static int rfc7677_random(void *user, uint8_t *buf, size_t len)
{
    static const uint8_t nonce[15] = {172, 234, 107, 52, 103, 240, 17, 183,
                                      145, 90,  6,   205, 18, 74,  142};
    (void)user;
    if (len != sizeof nonce)
        return -1;
    memcpy(buf, nonce, len);
    return 0;
}

static void keep_trace(void *user, int direction, const char *text, size_t len)
{
    replay *r = user;
    (void)direction;
    assert_true(r->trace_len + len + 1 < sizeof r->trace);
    memcpy(r->trace + r->trace_len, text, len);
    r->trace_len += len;
    r->trace[r->trace_len++] = '\n';
    r->trace[r->trace_len] = '\0';
}

static size_t piece(replay *r, size_t left, size_t max)
{
    if (r->mode == WHOLE)
        return left;
    if (r->mode == BYTEWISE)
        return 1;
    r->seed = r->seed * 1664525u + 1013904223u;
    size_t n = 1 + (r->seed >> 16) % max;
    return n < left ? n : left;
}

static void collect_output(replay *r)
{
    while (smtpc_engine_want(r->e) == SMTPC_WANT_WRITE) {
        const uint8_t *p = NULL;
        size_t n = 0;
        assert_int_equal(smtpc_engine_output(r->e, &p, &n), 0);
        size_t take = piece(r, n, 7);
        assert_true(r->sent_len + take < sizeof r->sent);
        memcpy(r->sent + r->sent_len, p, take);
        r->sent_len += take;
        assert_int_equal(smtpc_engine_output_done(r->e, take), 0);
    }
}

static void compare_output(const replay *r, const char *name)
{
    if (r->sent_len == r->expected_len && memcmp(r->sent, r->expected, r->sent_len) == 0)
        return;
    print_error("%s (mode %d): the client sent\n%.*s\nbut the script expects\n%.*s\n", name,
                r->mode, (int)r->sent_len, r->sent, (int)r->expected_len, r->expected);
    fail();
}

static void server_says(replay *r, const char *bytes)
{
    size_t len = strlen(bytes), off = 0;
    while (off < len && smtpc_engine_want(r->e) != SMTPC_WANT_CLOSE) {
        size_t n = piece(r, len - off, 11);
        smtpc_engine_feed(r->e, (const uint8_t *)bytes + off, n);
        off += n;
        collect_output(r);
    }
}

/* text must not hold s, nor its base64 at any of the three alignments it
 * can take inside a longer base64 message. */
static void assert_no_secret(const char *text, const char *s, const char *name)
{
    size_t len = strlen(s);
    if (strstr(text, s)) {
        print_error("%s: trace holds the secret \"%s\"\n", name, s);
        fail();
    }
    for (size_t skip = 0; skip < 3 && len - skip >= 3; skip++) {
        size_t body = (len - skip) / 3 * 3;
        char enc[256];
        assert_true(smtpc_b64_encode((const uint8_t *)s + skip, body, enc, sizeof enc) > 0);
        if (strstr(text, enc)) {
            print_error("%s: trace holds the secret in base64 (%s)\n%s", name, enc, text);
            fail();
        }
    }
}

/* hidden: base64 lines the client sent that must appear nowhere afterwards
 * (not in the trace, the error message or the reply text), not even their
 * first characters; NULL-terminated or NULL. line_max: smtpc_engine_new's. */
static void play_ex(const script *sc, int mode, unsigned seed, const char *const *hidden,
                    size_t line_max)
{
    replay *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->mode = mode;
    r->seed = seed;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, line_max, &r->e), 0);
    assert_int_equal(smtpc_engine_set_security(r->e, sc->security), 0);
    assert_int_equal(smtpc_engine_set_trace(r->e, keep_trace, r), 0);
    assert_int_equal(smtpc_engine_set_random(r->e, rfc7677_random, NULL), 0);
    if (sc->token)
        assert_int_equal(smtpc_engine_set_oauth_token(r->e, sc->user, sc->token), 0);
    else
        assert_int_equal(smtpc_engine_set_credentials(r->e, sc->user, sc->password), 0);
    if (sc->mechs)
        assert_int_equal(smtpc_engine_set_auth_mechanisms(r->e, sc->mechs), 0);
    if (sc->allow_plaintext)
        assert_int_equal(smtpc_engine_allow_plaintext_auth(r->e, 1), 0);

    for (const step *st = sc->steps; st->kind != END; st++) {
        const smtpc_error *err = smtpc_engine_error(r->e);
        switch (st->kind) {
        case SESSION: assert_int_equal(smtpc_engine_begin_session(r->e), 0); break;
        case NOOP: assert_int_equal(smtpc_engine_begin_noop(r->e), 0); break;
        case SRV:
            collect_output(r);
            compare_output(r, sc->name);
            server_says(r, st->text);
            break;
        case CLI:
            memcpy(r->expected + r->expected_len, st->text, strlen(st->text));
            r->expected_len += strlen(st->text);
            collect_output(r);
            compare_output(r, sc->name);
            break;
        case TLS:
            assert_int_equal(smtpc_engine_want(r->e), SMTPC_WANT_TLS);
            assert_int_equal(smtpc_engine_tls_done(r->e, 1, 0, NULL), 0);
            collect_output(r);
            break;
        case RESULT:
            collect_output(r);
            compare_output(r, sc->name);
            if (smtpc_engine_result(r->e) != st->n)
                print_error("%s (mode %d): result %s (%s), expected %s\n", sc->name, mode,
                            smtpc_strerror(smtpc_engine_result(r->e)),
                            smtpc_error_message(err), smtpc_strerror(st->n));
            assert_int_equal(smtpc_engine_result(r->e), st->n);
            break;
        case WANT: assert_int_equal(smtpc_engine_want(r->e), st->n); break;
        case REPLY: assert_int_equal(smtpc_error_reply_code(err), st->n); break;
        case ENH: assert_string_equal(smtpc_error_enhanced(err), st->text); break;
        case TEMP: assert_int_equal(smtpc_error_is_temporary(err), st->n); break;
        case MECH: assert_string_equal(smtpc_engine_auth_mechanism(r->e), st->text); break;
        case EMSG: assert_non_null(strstr(smtpc_error_message(err), st->text)); break;
        case RTEXT:
            if (!strstr(smtpc_error_reply_text(err), st->text))
                fail_msg("%s: reply text \"%s\" lacks \"%s\"", sc->name,
                         smtpc_error_reply_text(err), st->text);
            break;
        default: fail();
        }
    }
    collect_output(r);
    compare_output(r, sc->name);

    const char *secret = sc->token ? sc->token : sc->password;
    assert_no_secret(r->trace, secret, sc->name);
    const smtpc_error *err = smtpc_engine_error(r->e);
    assert_no_secret(smtpc_error_message(err), secret, sc->name);
    assert_no_secret(smtpc_error_reply_text(err), secret, sc->name);
    for (const char *const *h = hidden; h && *h; h++) {
        /* The first 8 characters already give away 6 bytes of the secret. */
        char start[9];
        snprintf(start, sizeof start, "%s", *h);
        const char *where[] = {r->trace, smtpc_error_message(err), smtpc_error_reply_text(err)};
        for (size_t i = 0; i < 3; i++)
            if (strstr(where[i], start))
                fail_msg("%s (mode %d): \"%s\" (sent by the client) shows in\n%s", sc->name,
                         mode, start, where[i]);
    }
    if (strstr(r->expected, "AUTH "))
        assert_non_null(strstr(r->trace, "<redacted>"));
    smtpc_engine_free(r->e);
    free(r);
}

static void play(const script *sc, int mode, unsigned seed)
{
    play_ex(sc, mode, seed, NULL, 0);
}

static void run_script(void **state)
{
    const script *sc = *state;
    play(sc, WHOLE, 0);
    play(sc, BYTEWISE, 0);
    for (unsigned seed = 1; seed <= 16; seed++)
        play(sc, RANDOM, seed);
}

/* Nothing secret is written before the policy check: with credentials set
 * on a plaintext session only EHLO leaves the engine. */
static void test_insecure_writes_nothing(void **state)
{
    (void)state;
    static const step steps[] = {
        {SESSION, NULL, 0}, S("220 mx.test ESMTP\r\n"), C("EHLO client.test\r\n"),
        S("250-mx.test\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n"), RES(SMTPC_EAUTH_INSECURE),
        WANTS(SMTPC_WANT_IDLE), MECH_IS(""), DONE};
    const script password = {"insecure_password", SMTPC_SECURITY_PLAIN, TIM, TIM_PW, NULL, 0, 0,
                             steps};
    play(&password, WHOLE, 0);
#if SMTPC_HAVE_SASL_EXTRA
    const script token = {"insecure_token", SMTPC_SECURITY_PLAIN, TIM, NULL, TOKEN, 0, 0, steps};
    play(&token, BYTEWISE, 0);
#endif
}

/* ---- secrets do not outlive the handle ----
 * An allocator hook that, on every free, searches the block for the secret
 * (raw or in base64): a copy left behind in freed memory is a leak too. */

typedef struct {
    const char *secrets[2];
    int dirty_frees;
} scanning_heap;

static int holds_secret(const uint8_t *p, size_t n, const char *s)
{
    char forms[4][256];
    size_t len = strlen(s), count = 0;
    snprintf(forms[count++], sizeof forms[0], "%s", s);
    for (size_t skip = 0; skip < 3 && len - skip >= 3; skip++)
        if (smtpc_b64_encode((const uint8_t *)s + skip, (len - skip) / 3 * 3, forms[count],
                             sizeof forms[0]) > 0)
            count++;
    for (size_t f = 0; f < count; f++) {
        size_t flen = strlen(forms[f]);
        for (size_t i = 0; flen && i + flen <= n; i++)
            if (memcmp(p + i, forms[f], flen) == 0)
                return 1;
    }
    return 0;
}

static void *heap_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void heap_free(void *user, void *ptr, size_t size)
{
    scanning_heap *h = user;
    for (size_t i = 0; ptr && i < 2; i++)
        if (h->secrets[i] && holds_secret(ptr, size, h->secrets[i]))
            h->dirty_frees++;
    free(ptr);
}

static void test_secrets_zeroed(void **state)
{
    (void)state;
    static const char first[] = "first-Secret-Passw0rd";
    static const char second[] = "second-Secret-Passw0rd";
    scanning_heap heap = {{first, second}, 0};
    const smtpc_allocator alloc = {heap_alloc, heap_free, &heap};
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(&alloc, "client.test", 0, 0, &e), 0);

    /* Replaced credentials are zeroed before their memory goes back. */
    assert_int_equal(smtpc_engine_set_credentials(e, "tim", first), 0);
#if SMTPC_HAVE_SASL_EXTRA
    assert_int_equal(smtpc_engine_set_oauth_token(e, "tim", second), 0);
#else
    assert_int_equal(smtpc_engine_set_credentials(e, "tim", second), 0);
#endif
    assert_int_equal(heap.dirty_frees, 0);

    /* A LOGIN (or, without -Dsasl_extra, PLAIN) exchange puts base64 of the
     * password in the output buffer. */
    assert_int_equal(smtpc_engine_set_credentials(e, "tim", second), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
#if SMTPC_HAVE_SASL_EXTRA
    static const char *const server[] = {"220 mx\r\n", "250-mx\r\n250 AUTH LOGIN\r\n",
                                         "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
                                         "235 ok\r\n"};
#else
    static const char *const server[] = {"220 mx\r\n", "250-mx\r\n250 AUTH PLAIN\r\n",
                                         "235 ok\r\n"};
#endif
    int saw_password = 0;
    for (size_t i = 0; i < sizeof server / sizeof server[0]; i++) {
        smtpc_engine_feed(e, (const uint8_t *)server[i], strlen(server[i]));
        while (smtpc_engine_want(e) == SMTPC_WANT_WRITE) {
            const uint8_t *p;
            size_t n;
            smtpc_engine_output(e, &p, &n);
            saw_password |= holds_secret(p, n, second);
            smtpc_engine_output_done(e, n);
        }
    }
    assert_int_equal(smtpc_engine_result(e), 0);
    assert_true(saw_password); /* the scan does see base64 on the wire */
    smtpc_engine_free(e);
    assert_int_equal(heap.dirty_frees, 0);
}

static void test_secret_echoes(void **state)
{
    (void)state;
    static const script echoes[] = {
        {"plain_echoed", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0, plain_echoed},
        {"plain_echoed_truncated", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
         plain_echoed_truncated},
#if SMTPC_HAVE_SASL_EXTRA
        {"login_password_echoed", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
         login_password_echoed},
#endif
        {"plain_echoed_later", SMTPC_SECURITY_STARTTLS, TIM, TIM_PW, NULL, 0, 0,
         plain_echoed_later},
    };
    static const char *const *const hidden[] = {plain_hidden, plain_hidden,
#if SMTPC_HAVE_SASL_EXTRA
                                                login_hidden,
#endif
                                                plain_hidden};
    for (size_t i = 0; i < sizeof echoes / sizeof echoes[0]; i++) {
        play_ex(&echoes[i], WHOLE, 0, hidden[i], 0);
        play_ex(&echoes[i], BYTEWISE, 0, hidden[i], 0);
        for (unsigned seed = 1; seed <= 8; seed++)
            play_ex(&echoes[i], RANDOM, seed, hidden[i], 0);
    }
}

#if SMTPC_HAVE_SASL_EXTRA
/* ---- review finding #9: long challenges ---- */

/* "334 " + base64 of a provider's JSON error of exactly n bytes + CRLF. */
static char *json_challenge(size_t n)
{
    static const char head[] = "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"";
    char *json = malloc(n + 1);
    assert_non_null(json);
    assert_true(n > sizeof head + 2);
    memcpy(json, head, sizeof head - 1);
    memset(json + sizeof head - 1, 's', n - (sizeof head - 1) - 2);
    memcpy(json + n - 2, "\"}", 2);
    size_t cap = 4 * (n / 3 + 1) + 8;
    char *line = malloc(cap);
    assert_non_null(line);
    memcpy(line, "334 ", 4);
    size_t b64 = smtpc_b64_encode((const uint8_t *)json, n, line + 4, cap - 4);
    assert_true(b64 > 0);
    memcpy(line + 4 + b64, "\r\n", 3);
    free(json);
    return line;
}

#define XOAUTH2_START                                                                      \
    OVER_TLS("250-mx.test\r\n250 AUTH XOAUTH2\r\n"),                                       \
        C("AUTH XOAUTH2 dXNlcj10aW0BYXV0aD1CZWFyZXIgeWEyOS50b2tlbgEB\r\n")

/* Challenges up to SMTPC_AUTH_CHALLENGE_MAX decoded bytes (2732 base64
 * characters) are decoded whole, also with the smallest line_max; one byte
 * more is a clear SMTPC_EAUTH_PROTO after the cancel, and the session stays
 * usable. Before the fix the text was cut at 511 characters, so every one of
 * these was "malformed". */
static void test_long_challenges(void **state)
{
    (void)state;
    static const size_t sizes[] = {1125 /* 1,500 base64 characters */, 2047,
                                   SMTPC_AUTH_CHALLENGE_MAX};
    static const size_t line_maxes[] = {0, 512, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < sizeof line_maxes / sizeof line_maxes[0]; j++) {
            char *ch = json_challenge(sizes[i]);
            const step steps[] = {XOAUTH2_START, {SRV, ch, 0}, C("\r\n"),
                                  S("535 5.7.8 Username and Password not accepted\r\n"),
                                  RES(SMTPC_EAUTH_FAILED), REPLY_IS(535), STILL_USABLE, DONE};
            const script sc = {"long_challenge", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0,
                               0, steps};
            play_ex(&sc, WHOLE, 0, NULL, line_maxes[j]);
            play_ex(&sc, RANDOM, (unsigned)(i * 10 + j + 1), NULL, line_maxes[j]);
            free(ch);
        }
    }
    /* 2049 bytes: still 2732 characters, but over the maximum. */
    char *ch = json_challenge(SMTPC_AUTH_CHALLENGE_MAX + 1);
    assert_int_equal(strlen(ch), 4 + 2732 + 2);
    const step over[] = {XOAUTH2_START, {SRV, ch, 0}, C("*\r\n"),
                         S("501 5.7.0 Auth aborted\r\n"), RES(SMTPC_EAUTH_PROTO), REPLY_IS(501),
                         STILL_USABLE, DONE};
    const script sc = {"challenge_over_max", SMTPC_SECURITY_STARTTLS, TIM, NULL, TOKEN, 0, 0,
                       over};
    play(&sc, WHOLE, 0);
    play(&sc, BYTEWISE, 0);
    free(ch);
}
#endif

static void drain_to(smtpc_engine *e, char *out, size_t cap)
{
    size_t len = 0;
    while (smtpc_engine_want(e) == SMTPC_WANT_WRITE) {
        const uint8_t *p;
        size_t n;
        smtpc_engine_output(e, &p, &n);
        assert_true(len + n < cap);
        memcpy(out + len, p, n);
        len += n;
        smtpc_engine_output_done(e, n);
    }
    out[len] = '\0';
}

static void say(smtpc_engine *e, const char *s)
{
    smtpc_engine_feed(e, (const uint8_t *)s, strlen(s));
}

/* SCRAM's server-first with a 1,500-character nonce: the client answers
 * with the proof over that nonce instead of cancelling. */
#if SMTPC_HAVE_SASL_CRYPTO
static void test_scram_long_nonce(void **state)
{
    (void)state;
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
    assert_int_equal(smtpc_engine_set_random(e, rfc7677_random, NULL), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "user", "pencil"), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    static char out[8192];
    say(e, "220 mx.test\r\n");
    drain_to(e, out, sizeof out);
    say(e, "250-mx.test\r\n250 AUTH SCRAM-SHA-256\r\n");
    drain_to(e, out, sizeof out);
    assert_string_equal(out, "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n");

    static char nonce[1521], first[1600], line[2200];
    memcpy(nonce, "rOprNGfwEbeRWgbNEkqO", 20);
    for (size_t i = 20; i < 1520; i++)
        nonce[i] = (char)('a' + i % 26);
    int n = snprintf(first, sizeof first, "r=%s,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nonce);
    memcpy(line, "334 ", 4);
    size_t b64 = smtpc_b64_encode((const uint8_t *)first, (size_t)n, line + 4, sizeof line - 6);
    assert_true(b64 > 511);
    memcpy(line + 4 + b64, "\r\n", 3);
    say(e, line);
    drain_to(e, out, sizeof out);
    assert_string_not_equal(out, "*\r\n");
    static uint8_t final[2200];
    size_t final_len = 0;
    assert_int_equal(smtpc_b64_decode_strict(out, strlen(out) - 2, final, sizeof final - 1,
                                             &final_len), 0);
    final[final_len] = '\0';
    assert_memory_equal(final, "c=biws,r=", 9);
    assert_memory_equal(final + 9, nonce, 1520);
    assert_memory_equal(final + 9 + 1520, ",p=", 3);
    say(e, "535 5.7.8 no\r\n");
    assert_int_equal(smtpc_engine_result(e), SMTPC_EAUTH_FAILED);
    smtpc_engine_free(e);
}

/* Consolidation issue ("the engine is the product"): the engine reaches no
 * OS entropy source by itself. Without smtpc_engine_set_random, SCRAM fails
 * cleanly before anything is written, says which call is missing, and the
 * session stays usable; with the hook set, the nonce comes from it. */
static void test_scram_needs_random(void **state)
{
    (void)state;
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "user", "pencil"), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    static char out[4096];
    say(e, "220 mx.test\r\n");
    drain_to(e, out, sizeof out);
    say(e, "250-mx.test\r\n250 AUTH SCRAM-SHA-256\r\n");
    drain_to(e, out, sizeof out);
    assert_string_equal(out, ""); /* no AUTH line went out */
    assert_int_equal(smtpc_engine_result(e), SMTPC_ENOTSUP);
    const smtpc_error *err = smtpc_engine_error(e);
    assert_int_equal(smtpc_error_code(err), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(err), "no random source: smtpc_engine_set_random"));
    assert_string_equal(smtpc_engine_auth_mechanism(e), "");
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    assert_int_equal(smtpc_engine_begin_noop(e), 0);
    drain_to(e, out, sizeof out);
    assert_string_equal(out, "NOOP\r\n");
    say(e, "250 ok\r\n");
    assert_int_equal(smtpc_engine_result(e), 0);

    /* Set for the next session, the hook gives the nonce (RFC 7677's). */
    assert_int_equal(smtpc_engine_set_random(NULL, rfc7677_random, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_engine_set_random(e, rfc7677_random, NULL), 0);
    assert_int_equal(smtpc_engine_reset(e), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    say(e, "220 mx.test\r\n");
    drain_to(e, out, sizeof out);
    say(e, "250-mx.test\r\n250 AUTH SCRAM-SHA-256\r\n");
    drain_to(e, out, sizeof out);
    assert_string_equal(out, "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n");
    smtpc_engine_free(e);
}

#else
/* Asking for the hash mechanisms alone is SMTPC_ENOTSUP, recorded with the
 * reason; a mask that also names a mechanism in the build is taken (the
 * missing ones are passed over, as scripts plain_over_hashes shows). */
static void test_hash_mechanisms_refused(void **state)
{
    (void)state;
    smtpc_engine *e = NULL;
    assert_int_equal(smtpc_engine_new(NULL, "client.test", 0, 0, &e), 0);
    const int alone[] = {SMTPC_AUTH_CRAM_MD5, SMTPC_AUTH_SCRAM_SHA_256,
                         SMTPC_AUTH_CRAM_MD5 | SMTPC_AUTH_SCRAM_SHA_256};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(smtpc_engine_set_auth_mechanisms(e, alone[i]), SMTPC_ENOTSUP);
        const smtpc_error *err = smtpc_engine_error(e);
        assert_int_equal(smtpc_error_code(err), SMTPC_ENOTSUP);
        assert_non_null(strstr(smtpc_error_message(err), "smtpc_engine_set_auth_mechanisms"));
        assert_non_null(strstr(smtpc_error_message(err), "-Dsasl_crypto=disabled"));
    }
    assert_int_equal(smtpc_engine_set_auth_mechanisms(e, SMTPC_AUTH_CRAM_MD5 | SMTPC_AUTH_PLAIN),
                     0);
    /* A server offering CRAM-MD5 alone: nothing is sent, and the error says
     * why there was no mechanism in common. */
    assert_int_equal(smtpc_engine_set_security(e, SMTPC_SECURITY_PLAIN), 0);
    assert_int_equal(smtpc_engine_allow_plaintext_auth(e, 1), 0);
    assert_int_equal(smtpc_engine_set_credentials(e, "user", "pencil"), 0);
    assert_int_equal(smtpc_engine_begin_session(e), 0);
    static char out[4096];
    say(e, "220 mx.test\r\n");
    drain_to(e, out, sizeof out);
    say(e, "250-mx.test\r\n250 AUTH CRAM-MD5\r\n");
    drain_to(e, out, sizeof out);
    assert_string_equal(out, "");
    assert_int_equal(smtpc_engine_result(e), SMTPC_EAUTH_NOMECH);
    assert_non_null(strstr(smtpc_error_message(smtpc_engine_error(e)), "not in this build"));
    assert_int_equal(smtpc_engine_want(e), SMTPC_WANT_IDLE);
    smtpc_engine_free(e);
}
#endif

int main(void)
{
    enum { N_SCRIPTS = sizeof scripts / sizeof scripts[0] };
    struct CMUnitTest tests[N_SCRIPTS + 6];
    for (size_t i = 0; i < N_SCRIPTS; i++) {
        tests[i] = (struct CMUnitTest){scripts[i].name, run_script, NULL, NULL,
                                       (void *)&scripts[i]};
    }
    size_t n = N_SCRIPTS;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_insecure_writes_nothing);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secrets_zeroed);
#if SMTPC_HAVE_SASL_EXTRA
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_challenges);
#endif
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secret_echoes);
#if SMTPC_HAVE_SASL_CRYPTO
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_scram_long_nonce);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_scram_needs_random);
#else
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hash_mechanisms_refused);
#endif
    return _cmocka_run_group_tests("engine_auth", tests, n, NULL, NULL);
}
