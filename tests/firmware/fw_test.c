/* The firmware test image (QEMU mps2-an386, see README "Firmware"): sends a
 * message with an attachment to the SMTP server linked into the image, once
 * through the engine (the examples/firmware main loop) and once through the
 * blocking client over a callbacks transport with the smallest buffers
 * (from a prebuilt buffer, and streamed from the builder);
 * checks what the server received (Date header, attachment bytes, envelope,
 * AUTH), that integer formatting works on newlib-nano (no "%", "ld" or "zu"
 * residue in error texts), and the peak heap of each path. Exits 0 when
 * every check passed, 1 otherwise (semihosting exit status). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "mailer.h"
#include "sim_server.h"

/* The budget of the issue: the smallest working client without TLS. */
#define CLIENT_HEAP_BUDGET 16384

static int failures;

static void check(int ok, const char *what)
{
    printf("[%s] %s\n", ok ? "pass" : "FAIL", what);
    if (!ok)
        failures++;
}

static uint8_t attachment[3000];

/* The counting allocator hook: the library's live bytes and their peak,
 * over newlib's malloc. */
typedef struct counter {
    size_t live, peak, blocks;
    int show; /* print each allocation (to see where the bytes go) */
} counter;

static void *count_alloc(void *user, size_t size)
{
    counter *k = user;
    void *p = malloc(size);
    if (p) {
        k->live += size;
        k->blocks++;
        if (k->live > k->peak)
            k->peak = k->live;
        if (k->show)
            printf("     + %u (live %u)\n", (unsigned)size, (unsigned)k->live);
    }
    return p;
}

static void count_free(void *user, void *ptr, size_t size)
{
    counter *k = user;
    k->live -= size;
    k->blocks--;
    free(ptr);
}

static smtpc_allocator counting(counter *k)
{
    *k = (counter){0};
    smtpc_allocator a = {count_alloc, count_free, k};
    return a;
}
static const char expected_date[] = "Sun, 15 Jun 2025 17:06:40 +0200";

static smtpc_message *build(const smtpc_allocator *alloc, const char *to)
{
    for (size_t i = 0; i < sizeof attachment; i++)
        attachment[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5a);
    smtpc_message *msg = NULL;
    if (smtpc_message_new(alloc, &msg) != SMTPC_OK)
        return NULL;
    static const char text[] = "Readings attached.\n.a line that starts with a dot\n";
    int rc = smtpc_message_set_from(msg, "device@sensors.example", NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_message_add_to(msg, to, NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_subject(msg, "Readings");
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_text(msg, text, sizeof text - 1, SMTPC_MEM_BORROW);
    if (rc == SMTPC_OK)
        rc = smtpc_message_attach_mem(msg, attachment, sizeof attachment, SMTPC_MEM_BORROW,
                                      "data.bin", NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_clock(msg, board_clock, NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_random(msg, board_random, NULL);
    if (rc != SMTPC_OK) {
        printf("building the message failed: %s\n",
               smtpc_error_message(smtpc_message_error(msg)));
        smtpc_message_free(msg);
        return NULL;
    }
    return msg;
}

/* The value of header name in the captured message (up to the blank line),
 * copied into out. */
static int header(const char *name, char *out, size_t cap)
{
    const char *d = (const char *)sim.data, *end = d + sim.data_len;
    size_t n = strlen(name);
    for (const char *p = d; p < end;) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol == p)
            return 0;
        if ((size_t)(eol - p) > n + 1 && memcmp(p, name, n) == 0 && p[n] == ':' &&
            p[n + 1] == ' ') {
            size_t len = (size_t)(eol - p) - n - 2;
            if (len >= cap)
                return 0;
            memcpy(out, p + n + 2, len);
            out[len] = '\0';
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

static int b64v(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode the base64 body of the part named data.bin and compare it with
 * the attachment. */
static int attachment_intact(void)
{
    const uint8_t *d = sim.data, *end = d + sim.data_len;
    const char *name = "filename=\"data.bin\"";
    const uint8_t *p = d;
    while (p < end && !(end - p > 19 && memcmp(p, name, 19) == 0))
        p++;
    if (p >= end)
        return 0;
    while (p + 4 <= end && memcmp(p, "\r\n\r\n", 4) != 0) /* the part's headers end */
        p++;
    p += 4;
    static uint8_t got[sizeof attachment + 3];
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; p < end && *p != '-'; p++) {
        if (*p == '\r' || *p == '\n' || *p == '=')
            continue;
        int v = b64v(*p);
        if (v < 0 || n >= sizeof got)
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            got[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n == sizeof attachment && memcmp(got, attachment, n) == 0;
}

static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

static void check_delivery(const char *path)
{
    char buf[128], what[96];
    snprintf(what, sizeof what, "%s: server accepted one message and saw QUIT", path);
    check(sim.messages == 1 && sim.quit && !sim.overflow && !sim.protocol_errors, what);
    snprintf(what, sizeof what, "%s: envelope from and to", path);
    check(strncmp(sim.from, "<device@sensors.example>", 24) == 0 && sim.n_rcpts == 1 &&
              strcmp(sim.rcpts[0], "<ops@example.com>") == 0,
          what);
    snprintf(what, sizeof what, "%s: Date header is \"%s\"", path, expected_date);
    check(header("Date", buf, sizeof buf) && strcmp(buf, expected_date) == 0, what);
    if (header("Date", buf, sizeof buf))
        printf("     Date: %s\n", buf);
    snprintf(what, sizeof what, "%s: Message-ID present, no %% in it", path);
    check(header("Message-ID", buf, sizeof buf) && !strchr(buf, '%'), what);
    snprintf(what, sizeof what, "%s: attachment decodes to the original %u bytes", path,
             (unsigned)sizeof attachment);
    check(attachment_intact(), what);
    snprintf(what, sizeof what, "%s: dot-stuffed line arrived intact", path);
    check(contains(sim.data, sim.data_len, "\r\n.a line that starts"), what);
}

/* --- the engine path: the examples/firmware main loop --- */

static void engine_path(void)
{
    counter heap;
    smtpc_allocator alloc = counting(&heap);
    smtpc_message *msg = build(&alloc, "ops@example.com");
    static mailer job;
    int rc = msg ? SMTPC_OK : SMTPC_ENOMEM;
    if (rc == SMTPC_OK && board_net_connect() != 0)
        rc = SMTPC_ECONNECT;
    if (rc == SMTPC_OK)
        rc = mailer_start(&job, &alloc, "device.example", msg);
    if (rc == SMTPC_OK)
        while ((rc = mailer_poll(&job)) == MAILER_BUSY)
            board_idle();
    if (rc != SMTPC_OK)
        printf("engine path: %s\n", mailer_error(&job));
    check(rc == SMTPC_OK, "engine: message sent through the main loop");
    check_delivery("engine");
    mailer_free(&job);
    smtpc_message_free(msg);
    check(heap.live == 0 && heap.blocks == 0, "engine: every block given back");
    printf("     engine path peak heap: %u bytes\n", (unsigned)heap.peak);
    printf("HEAP engine+builder %u\n", (unsigned)heap.peak);
}

/* --- the client path: callbacks transport over the same server --- */

static int cb_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    (void)user;
    (void)timeout_ms;
    int n = board_net_send(buf, len);
    if (n < 0)
        return SMTPC_ECLOSED;
    *sent = (size_t)n;
    return SMTPC_OK;
}

static int cb_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    (void)user;
    (void)timeout_ms;
    /* The server answers inside send: nothing queued now means nothing
     * will come. */
    int n = board_net_recv(buf, cap);
    if (n < 0)
        return SMTPC_ECLOSED;
    if (n == 0)
        return SMTPC_ETIMEDOUT;
    *received = (size_t)n;
    return SMTPC_OK;
}

/* The client's deadlines run on the board's millisecond tick (a build
 * without the POSIX port has no clock of its own). */
static int64_t tick_ms(void *user)
{
    (void)user;
    return (int64_t)board_millis();
}

static smtpc_client *client_for(const smtpc_allocator *alloc, size_t io, size_t out)
{
    smtpc_client *c = NULL;
    smtpc_transport *t = NULL;
    int rc = smtpc_client_new(alloc, &c);
    if (rc == SMTPC_OK)
        rc = smtpc_client_set_buffers(c, io, out);
    if (rc == SMTPC_OK)
        rc = smtpc_client_set_clock(c, tick_ms, NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_transport_new_callbacks(alloc, cb_send, cb_recv, NULL, NULL, &t);
    if (rc == SMTPC_OK)
        rc = smtpc_client_set_transport(c, t);
    if (rc == SMTPC_OK)
        rc = smtpc_client_set_server(c, "sim.example", "25");
    if (rc == SMTPC_OK)
        rc = smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);
    if (rc == SMTPC_OK)
        rc = smtpc_client_set_credentials(c, "device", "s3cret");
    if (rc == SMTPC_OK)
        rc = smtpc_client_allow_plaintext_auth(c, 1);
    if (rc != SMTPC_OK) {
        printf("client setup: %s\n", c ? smtpc_error_message(smtpc_client_error(c))
                                       : smtpc_strerror(rc));
        smtpc_client_free(c);
        return NULL;
    }
    return c;
}

/* The smallest working client: the message is built beforehand (the
 * builder's memory given back) and sent from memory with the smallest
 * buffers; this path's peak heap is held to the budget. */
static uint8_t prebuilt[8192];

static void client_path(void)
{
    counter heap;
    smtpc_allocator alloc = counting(&heap);
    smtpc_message *msg = build(&alloc, "ops@example.com");
    size_t len = 0;
    int rc = msg ? smtpc_message_read(msg, prebuilt, sizeof prebuilt, &len) : SMTPC_ENOMEM;
    size_t more = 0;
    if (rc == SMTPC_OK)
        rc = smtpc_message_read(msg, prebuilt + len, sizeof prebuilt - len, &more);
    check(rc == SMTPC_OK && len > 0 && more == 0, "client: message built into a buffer");
    size_t builder_peak = heap.peak;
    smtpc_message_free(msg);

    heap.peak = heap.live;
    sim_reset(100000);
    smtpc_client *c = client_for(&alloc, SMTPC_CLIENT_IO_MIN, SMTPC_CLIENT_OUTPUT_MIN);
    const char *rcpts[] = {"ops@example.com"};
    rc = c ? smtpc_client_connect(c) : SMTPC_ENOMEM;
    if (rc == SMTPC_OK)
        rc = smtpc_client_send(c, "device@sensors.example", rcpts, 1, prebuilt, len);
    if (rc == SMTPC_OK)
        rc = smtpc_client_quit(c);
    if (rc != SMTPC_OK && c)
        printf("client path: %s\n", smtpc_error_message(smtpc_client_error(c)));
    check(rc == SMTPC_OK, "client: connect, AUTH PLAIN, send, quit");
    check_delivery("client");
    check(strcmp(sim.auth, "|device|s3cret") == 0, "client: AUTH PLAIN carried the credentials");
    smtpc_client_free(c);
    check(heap.live == 0 && heap.blocks == 0, "client: every block given back");
    printf("     builder peak heap: %u bytes; smallest client peak heap: %u bytes (budget %u)\n",
           (unsigned)builder_peak, (unsigned)heap.peak, (unsigned)CLIENT_HEAP_BUDGET);
    printf("HEAP client %u\n", (unsigned)heap.peak);
    check(heap.peak <= CLIENT_HEAP_BUDGET, "client: peak heap within the budget");
}

/* The client streaming the builder's output (smtpc_client_send_message),
 * default buffers except the output one. */
static void client_message_path(void)
{
    counter heap;
    smtpc_allocator alloc = counting(&heap);
    sim_reset(100000);
    smtpc_client *c = client_for(&alloc, SMTPC_CLIENT_IO_MIN, SMTPC_CLIENT_OUTPUT_MIN);
    smtpc_message *msg = build(&alloc, "ops@example.com");
    int rc = c && msg ? smtpc_client_connect(c) : SMTPC_ENOMEM;
    if (rc == SMTPC_OK)
        rc = smtpc_client_send_message(c, msg, NULL, NULL, 0);
    if (rc == SMTPC_OK)
        rc = smtpc_client_quit(c);
    if (rc != SMTPC_OK && c)
        printf("client message path: %s\n", smtpc_error_message(smtpc_client_error(c)));
    check(rc == SMTPC_OK, "client+builder: send_message");
    check_delivery("client+builder");
    smtpc_message_free(msg);
    smtpc_client_free(c);
    check(heap.live == 0 && heap.blocks == 0, "client+builder: every block given back");
    printf("     client+builder peak heap: %u bytes\n", (unsigned)heap.peak);
    printf("HEAP client+builder %u\n", (unsigned)heap.peak);
}

/* --- error texts formatted on newlib-nano --- */

/* With -Dmessages=short (the cross file's) every text is its code's name,
 * plus the server's reply where there was one; full texts must hold the
 * numbers they format. */
static void check_text(const char *what, const smtpc_error *err, const char *must_have)
{
    char line[200];
    const char *text = smtpc_error_message(err);
#if FW_SHORT_MESSAGES
    check(smtpc_error_code(err) < 0, "short text: the record has an error code");
    must_have = smtpc_strerror(smtpc_error_code(err));
    check(must_have[0] == 'E' && strlen(must_have) > 2 && strcmp(must_have, "E?") != 0 &&
              strncmp(must_have, "SMTPC_", 6) != 0,
          "short text: the code's name without its prefix");
#endif
    printf("     %s: %s\n", what, text);
    snprintf(line, sizeof line, "%s: says \"%s\", no format residue", what, must_have);
    check(strstr(text, must_have) && !strchr(text, '%') && !strstr(text, "ld ") &&
              !strstr(text, "zu ") && !strstr(text, "lu "),
          line);
}

static void error_texts(void)
{
    counter heap;
    smtpc_allocator alloc = counting(&heap);

    /* A message over the server's SIZE: refused before MAIL with both
     * numbers. */
    sim_reset(2000);
    smtpc_client *c = client_for(&alloc, 0, 0);
    smtpc_message *msg = build(&alloc, "ops@example.com");
    int64_t size = 0;
    int rc = c && msg ? smtpc_message_size(msg, &size) : SMTPC_ENOMEM;
    if (rc == SMTPC_OK)
        rc = smtpc_client_connect(c);
    if (rc == SMTPC_OK) {
        rc = smtpc_client_send_message(c, msg, NULL, NULL, 0);
        char want[64];
        snprintf(want, sizeof want, "%lu bytes exceeds the server's limit of 2000",
                 (unsigned long)size);
        check(rc == SMTPC_ESIZE, "client: over-size message refused");
        check_text("SIZE", smtpc_client_error(c), want);
    } else {
        check(0, "client: connect for the SIZE check");
    }

    smtpc_client_free(c);

    /* Every recipient refused: the count. */
    sim_reset(100000);
    const char *refused[] = {"refused@example.com"};
    c = client_for(&alloc, 0, 0);
    rc = c ? smtpc_client_connect(c) : SMTPC_ENOMEM;
    if (rc == SMTPC_OK)
        rc = smtpc_client_send(c, "device@sensors.example", refused, 1,
                               (const uint8_t *)"Subject: x\r\n\r\nx\r\n", 17);
    check(rc == SMTPC_ERCPTS, "client: every recipient refused");
    check_text("RCPT", smtpc_client_error(c), "every recipient (1)");

    /* An invalid recipient: its index. */
    const char *bad[] = {"ops@example.com", "not an address"};
    rc = smtpc_client_send(c, "device@sensors.example", bad, 2,
                           (const uint8_t *)"Subject: x\r\n\r\nx\r\n", 17);
    check(rc != SMTPC_OK, "client: invalid recipient refused");
    check_text("bad RCPT", smtpc_client_error(c), "recipient 1");
    smtpc_client_free(c);

    /* Engine argument checks. */
    smtpc_engine *e = NULL;
    smtpc_engine_new(&alloc, NULL, 0, 0, &e);
    check(smtpc_engine_set_reply_limits(e, 10, 100) == SMTPC_EINVAL,
          "engine: reply limit below 512 refused");
    check_text("limits", smtpc_engine_error(e), "max_bytes 100");
    const char *none = NULL;
    (void)none;
    check(smtpc_engine_output_done(e, 7) != SMTPC_OK, "engine: acknowledging unsent output");
    check_text("output", smtpc_engine_error(e), "7 bytes");
    smtpc_engine_free(e);

    /* A header over its limit: the limit. */
    static char long_subject[16400];
    memset(long_subject, 'a', sizeof long_subject - 1);
    check(smtpc_message_set_subject(msg, long_subject) == SMTPC_EHEADER,
          "message: over-long Subject refused");
    check_text("Subject", smtpc_message_error(msg), "16384");
    smtpc_message_free(msg);
    check(heap.live == 0 && heap.blocks == 0, "errors: every block given back");
}

/* Every code's name (the -Dmessages=short build keeps them as one string
 * with the gaps between runs of codes in it), and "E?" around and between
 * the runs. */
static void code_names(void)
{
#if FW_SHORT_MESSAGES
#define CODE(c) {SMTPC_##c, #c}
    static const struct {
        int code;
        char name[20]; /* not string literals: the linker would share them with smtpc's */
    } all[] = {
        {SMTPC_OK, "OK"}, CODE(EINVAL), CODE(ESTATE), CODE(ENOMEM), CODE(ENOTSUP),
        CODE(ETOOLONG), CODE(EADDRESS), CODE(EBADCHAR), CODE(E8BIT), CODE(EUTF8), CODE(ESIZE),
        CODE(ESOURCE), CODE(ENORECIPIENTS), CODE(ENODSN), CODE(EREQUIRETLS), CODE(ERESOLVE),
        CODE(ECONNREFUSED), CODE(ECONNECT), CODE(ETIMEDOUT), CODE(ECLOSED), CODE(EIO),
        CODE(EPROTO), CODE(ELINE), CODE(EUNEXPECTED), CODE(EREPLYLIMIT), CODE(EGREETING),
        CODE(ESHUTDOWN), CODE(EHELO), CODE(EMAILFROM), CODE(ERCPTS), CODE(EDATA),
        CODE(EMESSAGE), CODE(EUNKNOWN), CODE(ECOMMAND), CODE(ETLS), CODE(ETLS_VERIFY),
        CODE(ETLS_PIN), CODE(ENOSTARTTLS), CODE(ESTARTTLS), CODE(EINJECTION),
        CODE(ETLS_HANDSHAKE), CODE(EAUTH_NOTOFFERED), CODE(EAUTH_NOMECH), CODE(EAUTH_FAILED),
        CODE(EAUTH_WEAK), CODE(EAUTH_ENCRYPT), CODE(EAUTH_TEMP), CODE(EAUTH_INSECURE),
        CODE(EAUTH_SERVER), CODE(EAUTH_PROTO), CODE(EAUTH), CODE(EHEADER), CODE(EFILE),
        CODE(ESIZEUNKNOWN),
    };
#undef CODE
    size_t n = sizeof all / sizeof all[0], named = 0;
    for (size_t i = 0; i < n; i++)
        named += strcmp(smtpc_strerror(all[i].code), all[i].name) == 0;
    check(named == n, "short names: every code's own name");
    size_t unknown = 0, tried = 0;
    for (int code = 5; code >= -140; code--) {
        size_t i = 0;
        while (i < n && all[i].code != code)
            i++;
        if (i == n) {
            tried++;
            unknown += strcmp(smtpc_strerror(code), "E?") == 0;
        }
    }
    check(unknown == tried, "short names: \"E?\" for every other code");
    printf("     %u code names, %u other codes give \"E?\"\n", (unsigned)named,
           (unsigned)unknown);
#endif
}

int main(void)
{
    printf("smtpc %s firmware test (mps2-an386)\n", smtpc_version());
    engine_path();
    client_path();
    client_message_path();
    error_texts();
    code_names();
    printf("%s: %d check(s) failed\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
