/* A whole session against a hostile server: the fuzzer's bytes are the
 * server's, fed in pieces whose sizes come from the input, through greeting,
 * EHLO, STARTTLS (the handshake reported done or failed), AUTH, one or two
 * mail transactions with a body, and QUIT.
 *
 * Checked on every run:
 *  - outside the body, every window the engine asks to write ends in CRLF;
 *  - the client's bytes never hold a bare CR or LF, command lines stay
 *    within 512 octets, and the body decodes back to what was pushed;
 *  - ACCEPTED is reported only after the terminator went out and a 2xx came
 *    back; a sent terminator is never reported NOT_SENT; results agree with
 *    the per-recipient replies;
 *  - the secret never reaches the trace;
 *  - the pump always makes progress (bounded iterations) and every byte
 *    allocated is freed, with the size it was allocated with.
 *
 * Input: [options][split][body length] [body] then the server's bytes.
 * options: bits 0-1 security (plain, STARTTLS, STARTTLS optional, implicit),
 * bits 2-3 AUTH (none, password, token, password allowed in plaintext),
 * bits 4-5 recipients - 1, bit 6 8BITMIME, bit 7 small buffers.
 * split: bits 0-1 SPLIT_* (3 as 1), bit 2 SIZE declared, bit 7 two messages;
 * the whole byte seeds the split sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "test_alloc.h"
#include "smtpc.h"
#include "smtpc_config.h"

#define MAX_STEPS 200000

/* Feeds: random sizes across line ends (several replies per feed, which
 * pipelining produces), one line each (a server that waits for every
 * command), or random sizes that stop at line ends. */
enum { SPLIT_ANYWHERE, SPLIT_LINES, SPLIT_WITHIN_LINES };
#define SECRET "Fz-s3cret-pw"

typedef struct run {
    smtpc_engine *e;
    const uint8_t *srv;
    size_t srv_len, srv_pos;
    int split_mode; /* SPLIT_*: how server bytes are cut into feeds */
    fuzz_rng rng;
    long steps;
    fuzz_buf cli;  /* every byte the client sent */
    int in_body;   /* body bytes may sit in the output window */
    size_t body_at[2][2]; /* client-byte ranges holding each message's body */
    int body_ranges;
    int end_pushed; /* body_end called for the current message */
    int end_sent;   /* ... and the terminator left the output window */
    int reply_after_end; /* code of the first complete reply after that, 0 none */
} run;

static void on_trace(void *user, int dir, const char *text, size_t len)
{
    run *r = user;
    FUZZ_CHECK(text[len] == '\0');
    /* What the server says is its own business; what we say must not leak. */
    if (dir != SMTPC_TRACE_RECV)
        FUZZ_CHECK(strstr(text, SECRET) == NULL);
    if (dir == SMTPC_TRACE_SEND)
        FUZZ_CHECK(!memchr(text, '\r', len) && !memchr(text, '\n', len));
    /* "NNN " or a bare "NNN" closes a reply. */
    if (dir == SMTPC_TRACE_RECV && r->end_sent && !r->reply_after_end && len >= 3 &&
        (len == 3 || text[3] == ' '))
        r->reply_after_end = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 'A', len);
    return 0;
}

static void step_guard(run *r)
{
    /* Every step moves at least one byte; far more steps than bytes means
     * the engine and its driver are going round in circles. */
    FUZZ_CHECK(++r->steps < MAX_STEPS);
}

static void do_write(run *r)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    FUZZ_CHECK(smtpc_engine_output(r->e, &p, &n) == 0);
    FUZZ_CHECK(n > 0);
    if (!r->in_body) {
        /* A partial send may have taken the CR already. */
        uint8_t before = n >= 2 ? p[n - 2] : r->cli.len ? r->cli.data[r->cli.len - 1] : 0;
        FUZZ_CHECK(p[n - 1] == '\n' && before == '\r');
    }
    size_t take = fuzz_rng_next(&r->rng) % 4 == 0 ? fuzz_rng_size(&r->rng, n) : n;
    fuzz_buf_put(&r->cli, p, take);
    FUZZ_CHECK(smtpc_engine_output_done(r->e, take) == 0);
    if (r->end_pushed && smtpc_engine_want(r->e) != SMTPC_WANT_WRITE)
        r->end_sent = 1;
}

static void do_read(run *r)
{
    smtpc_engine *e = r->e;
    if (r->srv_pos == r->srv_len) {
        /* The server hung up. */
        int rc = smtpc_engine_abort(e, SMTPC_ECLOSED, "connection closed by the fuzzer");
        FUZZ_CHECK(rc < 0 && rc == smtpc_engine_result(e));
        FUZZ_CHECK(smtpc_engine_want(e) == SMTPC_WANT_CLOSE);
        return;
    }
    size_t left = r->srv_len - r->srv_pos, n;
    if (r->split_mode != SPLIT_ANYWHERE) {
        const uint8_t *lf = memchr(r->srv + r->srv_pos, '\n', left);
        left = lf ? (size_t)(lf - (r->srv + r->srv_pos)) + 1 : left;
    }
    n = r->split_mode == SPLIT_LINES ? left : fuzz_rng_size(&r->rng, left < 64 ? left : 64);
    int rc = smtpc_engine_feed(e, r->srv + r->srv_pos, n);
    r->srv_pos += n;
    /* feed reports how the operation ended: 0 while it goes on or when it
     * succeeded, else its error (review finding #20). */
    FUZZ_CHECK(rc <= 0);
    if (rc < 0)
        FUZZ_CHECK(rc == smtpc_engine_result(e) || smtpc_engine_want(e) == SMTPC_WANT_CLOSE);
    if (smtpc_engine_want(e) == SMTPC_WANT_IDLE)
        FUZZ_CHECK(rc == smtpc_engine_result(e));
}

static void do_tls(run *r)
{
    int ok = fuzz_rng_next(&r->rng) % 8 != 0;
    int rc = smtpc_engine_tls_done(r->e, ok, ok ? 0 : SMTPC_ETLS_HANDSHAKE, "fuzzed handshake");
    FUZZ_CHECK(ok ? rc == 0 : rc == SMTPC_ETLS_HANDSHAKE);
    FUZZ_CHECK(!ok || smtpc_engine_is_encrypted(r->e));
}

/* Moves bytes until the engine wants something only the caller can give. */
static int pump(run *r)
{
    for (;;) {
        step_guard(r);
        int want = smtpc_engine_want(r->e);
        int timeout = smtpc_engine_timeout_ms(r->e);
        FUZZ_CHECK(timeout > 0 || timeout == -1);
        switch (want) {
        case SMTPC_WANT_WRITE: do_write(r); break;
        case SMTPC_WANT_READ: do_read(r); break;
        case SMTPC_WANT_TLS: do_tls(r); break;
        default:
            FUZZ_CHECK(want == SMTPC_WANT_IDLE || want == SMTPC_WANT_BODY ||
                       want == SMTPC_WANT_CLOSE);
            return want;
        }
    }
}

static void check_error_record(const smtpc_engine *e)
{
    const smtpc_error *err = smtpc_engine_error(e);
    FUZZ_CHECK(strlen(smtpc_error_message(err)) < 1024);
    FUZZ_CHECK(strlen(smtpc_error_enhanced(err)) < 16);
    FUZZ_CHECK(strlen(smtpc_error_reply_text(err)) < 1024);
    int code = smtpc_error_reply_code(err);
    FUZZ_CHECK(code == 0 || (code >= 200 && code <= 599));
}

/* Pushes the body in pieces, sending as the output fills. */
static int push_body(run *r, const uint8_t *body, size_t len)
{
    int want = SMTPC_WANT_BODY;
    r->in_body = 1;
    r->body_at[r->body_ranges][0] = r->cli.len;
    size_t off = 0;
    while (off < len && want == SMTPC_WANT_BODY) {
        step_guard(r);
        size_t took = 0;
        size_t chunk = fuzz_rng_size(&r->rng, len - off);
        int rc = smtpc_engine_body_write(r->e, body + off, chunk, &took);
        FUZZ_CHECK(took <= chunk);
        if (rc != 0) {
            FUZZ_CHECK(rc == SMTPC_E8BIT && took == 0);
            FUZZ_CHECK(smtpc_engine_want(r->e) == SMTPC_WANT_CLOSE);
            r->in_body = 0;
            return pump(r);
        }
        /* No progress is only allowed with output waiting to be sent. */
        FUZZ_CHECK(took > 0 || smtpc_engine_want(r->e) == SMTPC_WANT_WRITE);
        off += took;
        want = pump(r);
    }
    if (want == SMTPC_WANT_BODY) {
        r->end_pushed = 1;
        FUZZ_CHECK(smtpc_engine_body_end(r->e) == 0);
        /* The window now ends with the terminator: complete lines again. */
        r->in_body = 0;
        FUZZ_CHECK(smtpc_engine_want(r->e) == SMTPC_WANT_WRITE);
        want = pump(r);
        if (r->end_sent)
            r->body_at[r->body_ranges++][1] = r->cli.len;
    }
    r->in_body = 0;
    return want;
}

static void check_outcome(run *r, size_t n_rcpts, int want)
{
    smtpc_engine *e = r->e;
    int status = smtpc_engine_message_status(e);
    int result = smtpc_engine_result(e);
    FUZZ_CHECK(status >= SMTPC_MESSAGE_NOT_SENT && status <= SMTPC_MESSAGE_UNKNOWN);
    if (status == SMTPC_MESSAGE_ACCEPTED)
        FUZZ_CHECK(r->end_sent && r->reply_after_end / 100 == 2);
    if (status == SMTPC_MESSAGE_REJECTED)
        FUZZ_CHECK(r->end_sent && r->reply_after_end && r->reply_after_end / 100 != 2);
    if (status == SMTPC_MESSAGE_UNKNOWN)
        FUZZ_CHECK(r->end_pushed && !r->reply_after_end);
    /* Once the terminator is out, the server may have taken the message. */
    if (r->end_sent)
        FUZZ_CHECK(status != SMTPC_MESSAGE_NOT_SENT);
    if (want == SMTPC_WANT_IDLE && result == 0)
        FUZZ_CHECK(status == SMTPC_MESSAGE_ACCEPTED);
    if (status == SMTPC_MESSAGE_ACCEPTED)
        FUZZ_CHECK(result == 0 || want == SMTPC_WANT_CLOSE);

    size_t accepted = smtpc_engine_rcpt_accepted_count(e), positive = 0;
    FUZZ_CHECK(accepted <= n_rcpts);
    for (size_t i = 0; i < n_rcpts; i++) {
        int code = smtpc_engine_rcpt_reply_code(e, i);
        FUZZ_CHECK(code == 0 || (code >= 200 && code <= 599));
        positive += code / 100 == 2;
        FUZZ_CHECK(strlen(smtpc_engine_rcpt_enhanced(e, i)) < 16);
        FUZZ_CHECK(strlen(smtpc_engine_rcpt_reply_text(e, i)) < 1024);
    }
    FUZZ_CHECK(accepted <= positive);
    if (status == SMTPC_MESSAGE_ACCEPTED)
        FUZZ_CHECK(accepted > 0);
    check_error_record(e);
}

static int in_body_range(const run *r, size_t at)
{
    for (int i = 0; i < r->body_ranges; i++)
        if (at >= r->body_at[i][0] && at < r->body_at[i][1])
            return 1;
    return 0;
}

/* Client bytes: CRLF only, command lines within 512 octets, and each body
 * exactly what was pushed. */
static void check_client_bytes(const run *r, const uint8_t *body, size_t body_len)
{
    const uint8_t *c = r->cli.data;
    size_t n = r->cli.len, line_start = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] == '\r')
            FUZZ_CHECK(i + 1 == n || c[i + 1] == '\n');
        if (c[i] == '\n') {
            FUZZ_CHECK(i > 0 && c[i - 1] == '\r');
            if (!in_body_range(r, line_start))
                FUZZ_CHECK(i + 1 - line_start <= 512);
            line_start = i + 1;
        }
    }
    /* The last write may stop mid-line only when the session broke there. */
    fuzz_buf want = {0};
    fuzz_normalise_body(body, body_len, &want);
    for (int i = 0; i < r->body_ranges; i++) {
        fuzz_buf got = {0};
        fuzz_unstuff_body(c + r->body_at[i][0], r->body_at[i][1] - r->body_at[i][0], &got);
        FUZZ_CHECK(got.len == want.len &&
                   (got.len == 0 || memcmp(got.data, want.data, got.len) == 0));
        fuzz_buf_free(&got);
    }
    fuzz_buf_free(&want);
}

/* Without -Daddress_literals a literal would only have the transaction
 * refused before MAIL; a domain keeps four recipients reaching the server. */
static const char *const all_rcpts[] = {"a@example.org", "b@example.org", "c@example.net",
                                        SMTPC_HAVE_ADDRESS_LITERALS ? "d@[192.0.2.1]"
                                                                    : "d@example.com"};

static int64_t wire_size(const uint8_t *body, size_t len)
{
    fuzz_buf b = {0};
    fuzz_normalise_body(body, len, &b);
    int64_t n = (int64_t)b.len;
    fuzz_buf_free(&b);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t opt = fuzz_byte(&in);
    uint8_t split = fuzz_byte(&in);
    size_t body_len = 0;
    const uint8_t *body = fuzz_bytes(&in, fuzz_byte(&in), &body_len);

    static const int levels[] = {SMTPC_SECURITY_PLAIN, SMTPC_SECURITY_STARTTLS,
                                 SMTPC_SECURITY_STARTTLS_OPTIONAL, SMTPC_SECURITY_IMPLICIT_TLS};
    int security = levels[opt & 3];
    int auth = (opt >> 2) & 3; /* none, password, token, password */
    size_t n_rcpts = 1 + ((opt >> 4) & 3);
    int eight_bit = (opt >> 6) & 1;
    int small = (opt >> 7) & 1;

    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    run r;
    memset(&r, 0, sizeof r);
    r.srv = in.data + in.pos;
    r.srv_len = in.len - in.pos;
    r.split_mode = (split & 3) == 3 ? SPLIT_LINES : split & 3;
    fuzz_rng_seed(&r.rng, split);

    int rc = smtpc_engine_new(&heap.hook, "client.example", small ? 1024 : 0, small ? 512 : 0,
                              &r.e);
    FUZZ_CHECK(rc == 0);
    smtpc_engine *e = r.e;
    FUZZ_CHECK(smtpc_engine_set_security(e, security) == 0);
    FUZZ_CHECK(smtpc_engine_set_trace(e, on_trace, &r) == 0);
    FUZZ_CHECK(smtpc_engine_set_random(e, fixed_random, NULL) == 0);
    if (auth == 1 || auth == 3)
        FUZZ_CHECK(smtpc_engine_set_credentials(e, "user@example.org", SECRET) == 0);
    /* Tokens need -Dsasl_extra; without it the session goes on without
     * credentials. */
    if (auth == 2)
        FUZZ_CHECK(smtpc_engine_set_oauth_token(e, "user@example.org", SECRET) ==
                   (SMTPC_HAVE_SASL_EXTRA ? 0 : SMTPC_ENOTSUP));
    /* SCRAM's PBKDF2 at a hostile iteration count is slow, not wrong: it is
     * fuzzed on its own in fuzz_sasl with the count bounded. */
    FUZZ_CHECK(smtpc_engine_set_auth_mechanisms(e, SMTPC_AUTH_ALL & ~SMTPC_AUTH_SCRAM_SHA_256) ==
               0);
    FUZZ_CHECK(smtpc_engine_allow_plaintext_auth(e, auth == 3) == 0);

    rc = smtpc_engine_begin_session(e);
    FUZZ_CHECK(rc == 0);
    int want = pump(&r);
    check_error_record(e);
    int messages = (split & 0x80) ? 2 : 1;
    for (int m = 0; m < messages && want != SMTPC_WANT_CLOSE; m++) {
        r.end_pushed = r.end_sent = r.reply_after_end = 0;
        rc = smtpc_engine_begin_mail(e, m ? "" : "sender@example.com", all_rcpts, n_rcpts,
                                     (split & 4) ? wire_size(body, body_len) : -1,
                                     eight_bit ? SMTPC_MAIL_8BITMIME : 0);
        if (rc != 0) {
            check_error_record(e);
            continue;
        }
        want = pump(&r);
        if (want == SMTPC_WANT_BODY)
            want = push_body(&r, body, body_len);
        check_outcome(&r, n_rcpts, want);
    }
    if (want == SMTPC_WANT_IDLE && smtpc_engine_begin_quit(e) == 0)
        want = pump(&r);
    if (want == SMTPC_WANT_CLOSE)
        FUZZ_CHECK(smtpc_engine_begin_noop(e) != 0); /* over means over */
    check_client_bytes(&r, body, body_len);
    smtpc_engine_free(e);
    FUZZ_CHECK(heap.live_bytes == 0 && heap.live_blocks == 0 && heap.bad_frees == 0);
    fuzz_buf_free(&r.cli);
    return 0;
}
