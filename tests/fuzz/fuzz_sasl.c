/* SASL from a hostile server: every mechanism fed fuzzed 334 challenges
 * (raw, or base64 of fuzzed bytes so that the mechanism's own parser is
 * reached). Every line produced is NUL-terminated within its buffer, base64
 * (or "*" to cancel, or empty), without CR or LF; an error always leaves
 * "*". Strict base64 is checked by round trip on the same bytes.
 *
 * Input: [mechanism and options][user length][secret length][user][secret]
 * then challenges, each [header][payload]: header bit 7 asks for the payload
 * to be base64-encoded first, bits 0-6 give its length (127: the rest). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "sasl.h"
#include "smtpc/base.h"

static const int mechs[] = {SMTPC_MECH_PLAIN,   SMTPC_MECH_LOGIN,       SMTPC_MECH_CRAM_MD5,
                            SMTPC_MECH_XOAUTH2, SMTPC_MECH_OAUTHBEARER, SMTPC_MECH_SCRAM_SHA_256};

/* Fixed bytes: the SCRAM nonce is then known ("QUFB..."), so seeds can
 * echo it as a real server does and reach the proof computation. */
static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 'A', len);
    return 0;
}

static int is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

static void check_line(const char *out, size_t cap, int rc)
{
    size_t n = strnlen(out, cap);
    FUZZ_CHECK(n < cap);
    if (rc != 0) {
        FUZZ_CHECK(cap < 2 || strcmp(out, "*") == 0);
        return;
    }
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(is_b64_char(out[i]));
    FUZZ_CHECK(n % 4 == 0);
    FUZZ_CHECK(n < SMTPC_SASL_LINE_MAX);
}

static void b64_round_trip(const uint8_t *p, size_t n)
{
    size_t need = 4 * ((n + 2) / 3);
    char *enc = malloc(need + 1);
    uint8_t *dec = malloc(n + 1);
    FUZZ_CHECK(enc && dec);
    FUZZ_CHECK(smtpc_b64_encode(p, n, enc, need) == 0); /* no room for the NUL */
    FUZZ_CHECK(smtpc_b64_encode(p, n, enc, need + 1) == need);
    FUZZ_CHECK(enc[need] == '\0');
    for (size_t i = 0; i < need; i++)
        FUZZ_CHECK(is_b64_char(enc[i]));
    size_t got = 0;
    FUZZ_CHECK(smtpc_b64_decode_strict(enc, need, dec, n, &got) == 0);
    FUZZ_CHECK(got == n && (n == 0 || memcmp(dec, p, n) == 0));
    if (n)
        FUZZ_CHECK(smtpc_b64_decode_strict(enc, need, dec, n - 1, &got) == SMTPC_ETOOLONG);

    /* Raw bytes as base64 text: accepted only in canonical form, which then
     * encodes back to exactly the same text. */
    uint8_t *raw_dec = malloc(n + 1);
    FUZZ_CHECK(raw_dec != NULL);
    int rc = smtpc_b64_decode_strict((const char *)p, n, raw_dec, n + 1, &got);
    FUZZ_CHECK(rc == 0 || rc == SMTPC_EAUTH_PROTO);
    if (rc == 0) {
        char *again = malloc(n + 1);
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(got <= n && smtpc_b64_encode(raw_dec, got, again, n + 1) == n);
        FUZZ_CHECK(n == 0 || memcmp(again, p, n) == 0);
        free(again);
    }
    free(raw_dec);
    free(enc);
    free(dec);
}

/* PBKDF2's cost grows with the server's iteration count (the library caps it
 * at a million); beyond a few thousand the fuzzer would only be hashing. */
static int scram_too_costly(const char *challenge, size_t len)
{
    uint8_t dec[SMTPC_SASL_CHALLENGE_MAX];
    size_t n = 0;
    if (smtpc_b64_decode_strict(challenge, len, dec, sizeof dec, &n) != 0)
        return 0;
    for (size_t i = 0; i + 2 < n; i++) {
        if (dec[i] != ',' || dec[i + 1] != 'i' || dec[i + 2] != '=')
            continue;
        unsigned long v = 0;
        for (size_t k = i + 3; k < n && dec[k] >= '0' && dec[k] <= '9' && v < 100000; k++)
            v = v * 10 + (unsigned long)(dec[k] - '0');
        if (v > 4096)
            return 1;
    }
    return 0;
}

static char *take_string(fuzz_input *in, size_t n)
{
    size_t got = 0;
    const uint8_t *p = fuzz_bytes(in, n, &got);
    char *s = malloc(got + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, p, got);
    s[got] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t opts = fuzz_byte(&in);
    int mech = mechs[(opts & 7) % 6];
    /* Output room: the engine's, or cramped to reach the overflow paths. */
    size_t cap = (opts & 0x08) ? 1 + (size_t)(opts >> 4) * 5 : SMTPC_SASL_LINE_MAX;
    size_t max_command = (opts & 0x80) ? 40 : 0;
    size_t ulen = fuzz_byte(&in) % 64, slen = fuzz_byte(&in) % 64;
    char *user = take_string(&in, ulen);
    char *secret = take_string(&in, slen);
    char *out = malloc(cap);
    FUZZ_CHECK(out != NULL);

    smtpc_sasl s;
    int rc = smtpc_sasl_begin(&s, mech, user, secret, fixed_random, NULL, max_command, out, cap);
    /* A mechanism left out of the build (-Dsasl_crypto=disabled) is
     * SMTPC_ENOTSUP, and only such a one. */
    FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL || rc == SMTPC_EBADCHAR || rc == SMTPC_ETOOLONG ||
               rc == SMTPC_EAUTH || (rc == SMTPC_ENOTSUP && !(smtpc_sasl_available() & mech)));
    FUZZ_CHECK(rc == SMTPC_ENOTSUP || (smtpc_sasl_available() & mech));
    FUZZ_CHECK(strnlen(out, cap) < cap);
    if (rc == 0) {
        const char *name = smtpc_sasl_mech_name(mech);
        size_t nlen = strlen(name);
        FUZZ_CHECK(strncmp(out, name, nlen) == 0);
        FUZZ_CHECK(out[nlen] == '\0' || out[nlen] == ' ');
        if (out[nlen] == ' ') {
            check_line(out + nlen + 1, cap - nlen - 1, 0);
            /* "AUTH " + argument + CRLF fits the command line asked for. */
            FUZZ_CHECK(5 + strlen(out) + 2 <= (max_command ? max_command : 512));
        }
    }

    fuzz_buf challenge = {0};
    while (in.pos < in.len) {
        uint8_t head = fuzz_byte(&in);
        size_t want = head & 0x7f;
        size_t n = 0;
        const uint8_t *payload = fuzz_bytes(&in, want == 127 ? in.len : want, &n);
        b64_round_trip(payload, n);
        if (rc != 0)
            continue;
        challenge.len = 0;
        if (head & 0x80) {
            size_t need = 4 * ((n + 2) / 3) + 1;
            char *enc = malloc(need);
            FUZZ_CHECK(enc != NULL);
            FUZZ_CHECK(smtpc_b64_encode(payload, n, enc, need) == need - 1);
            fuzz_buf_put(&challenge, enc, need - 1);
            free(enc);
        } else {
            fuzz_buf_put(&challenge, payload, n);
        }
        if (mech == SMTPC_MECH_SCRAM_SHA_256 &&
            scram_too_costly((const char *)challenge.data, challenge.len))
            break;
        int step = smtpc_sasl_step(&s, challenge.len ? (const char *)challenge.data : "",
                                   challenge.len, out, cap);
        FUZZ_CHECK(step == 0 || step == SMTPC_EAUTH_PROTO || step == SMTPC_EAUTH_SERVER ||
                   step == SMTPC_EAUTH_FAILED || step == SMTPC_ETOOLONG ||
                   step == SMTPC_EAUTH || step == SMTPC_ENOMEM);
        check_line(out, cap, step);
    }
    if (rc == 0) {
        int ok = smtpc_sasl_success(&s);
        FUZZ_CHECK(ok == 0 || ok == SMTPC_EAUTH_SERVER);
    }
    smtpc_sasl_clear(&s);
    const uint8_t *bytes = (const uint8_t *)&s;
    for (size_t i = 0; i < sizeof s; i++)
        FUZZ_CHECK(bytes[i] == 0);

    fuzz_buf_free(&challenge);
    free(out);
    free(user);
    free(secret);
    return 0;
}
