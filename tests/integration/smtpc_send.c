/* smtpc_send: command-line driver for the integration tests.
 *
 * Connects with the public client API, sends one or more messages on one
 * connection, and prints one JSON object per line for each event (connect,
 * each message, quit) so that the test scripts can check every outcome.
 * Exit status: 0 all good, 1 a message failed, 2 connect failed, 3 usage or
 * local error.
 *
 * Usage: smtpc_send --host H --port P [--security plain|starttls|
 *          starttls-optional|tls] [--from ADDR] --to ADDR... [--ehlo NAME]
 *          [--message FILE [--msg-to ADDR...] [--msg-from ADDR]]...
 *          [--count N] [--stream [--chunk N] [--unknown-size]] [--batch]
 *          [--timeout-ms MS] [--trace] [--no-quit] [--buffers IO,OUTPUT]
 *          [--cafile PEM] [--insecure] [--pin HEX] [--client-cert PEM --client-key KEY]
 *          [--nonblocking]
 *
 * --to sets the default recipients; --msg-to and --msg-from right after a
 * --message replace them for that message only. --count N sends the whole
 * list of messages N times. --buffers sets smtpc_client_set_buffers.
 * --batch sends them all with one
 * smtpc_client_send_batch call (pipelined across messages when the server
 * offers PIPELINING); each verdict is printed as it comes. --nonblocking
 * runs every call in the client's non-blocking mode, finished by a poll()
 * loop (driver_finish), and prints the loop's step count at the end.
 *
 * Only the public API (smtpc.h) is used: this is also a check that the
 * installed headers are enough to write a real program. */
#include <smtpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_common.h"
#include "test_tcp_transport.h"

#define MAX_MESSAGES 64
#define MAX_RCPTS 32

typedef struct {
    const char *path;
    uint8_t *data;
    size_t len;
    const char *from; /* NULL: the global --from */
    const char *rcpts[MAX_RCPTS];
    size_t n_rcpts; /* 0: the global --to list */
} message_spec;

typedef struct {
    const char *host;
    const char *port;
    int security;
    const char *from;
    const char *ehlo;
    const char *rcpts[MAX_RCPTS];
    size_t n_rcpts;
    message_spec msgs[MAX_MESSAGES];
    size_t n_msgs;
    long count;
    int stream;
    size_t chunk;
    int unknown_size;
    size_t io_bytes, output_bytes; /* --buffers; 0: the defaults */
    int timeout_ms;
    int trace;
    int quit;
    int batch; /* --batch: every message through smtpc_client_send_batch */
    /* TLS (issue 3): any of these makes a TLS configuration of our own. */
    const char *cafile;
    const char *pin;
    const char *client_cert;
    const char *client_key;
    int insecure;
    driver_loop *loop; /* --nonblocking: the poll loop's counters; NULL: blocking */
} options;

/* rc from a client call, finished by the poll loop in non-blocking mode. */
static int finish(smtpc_client *c, const options *o, int rc)
{
    return o->loop ? driver_finish(c, rc, o->loop) : rc;
}

/* --- JSON output --- */

static void json_error(const smtpc_client *c, int rc)
{
    const smtpc_error *err = smtpc_client_error(c);
    driver_json_rc(rc);
    printf(",\"error\":{\"code\":%d,\"name\":", smtpc_error_code(err));
    driver_json_string(driver_code_name(smtpc_error_code(err)));
    putchar(',');
    driver_json_error_fields(err);
    putchar('}');
}

static void json_rcpts(smtpc_client *c, const char *const *rcpts, size_t n)
{
    size_t have = smtpc_engine_rcpt_count(smtpc_client_engine(c));
    printf(",\"rcpts\":[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"addr\":", i ? "," : "");
        driver_json_string(rcpts[i]);
        if (i < have) {
            printf(",\"accepted\":%d,\"code\":%d,\"enhanced\":",
                   smtpc_engine_rcpt_accepted(smtpc_client_engine(c), i), smtpc_engine_rcpt_reply_code(smtpc_client_engine(c), i));
            driver_json_string(smtpc_engine_rcpt_enhanced(smtpc_client_engine(c), i));
            printf(",\"text\":");
            driver_json_string(smtpc_engine_rcpt_reply_text(smtpc_client_engine(c), i));
        }
        putchar('}');
    }
    putchar(']');
}

/* --- trace and body source --- */

static void trace_line(void *user, int direction, const char *text, size_t len)
{
    (void)user;
    fprintf(stderr, "%s%.*s\n", driver_trace_tag(direction), (int)len, text);
}

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t chunk;
} body_reader;

static int read_body(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    body_reader *r = user;
    size_t n = r->len - r->pos;
    if (n > cap)
        n = cap;
    /* Small chunks make the library cope with lines and CRLF split across
     * reads, as a real producer would hand them over. */
    if (n > r->chunk)
        n = r->chunk;
    if (n > 0)
        memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    *len = n;
    return 0;
}

static int has_8bit(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] & 0x80)
            return 1;
    return 0;
}

/* --- options --- */

static int load_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int usage(const char *why)
{
    fprintf(stderr, "smtpc_send: %s\n"
                    "usage: smtpc_send --host H --port P [--security plain|starttls|"
                    "starttls-optional|tls]\n"
                    "  [--from A] --to A... [--message FILE [--msg-to A...] [--msg-from A]]...\n"
                    "  [--count N] [--stream [--chunk N] [--unknown-size]] [--timeout-ms MS]\n"
                    "  [--ehlo NAME] [--trace] [--no-quit] [--nonblocking]\n",
            why);
    return 3;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->security = SMTPC_SECURITY_PLAIN;
    o->from = "sender@example.org";
    o->count = 1;
    o->chunk = 4096;
    o->timeout_ms = 10000;
    o->quit = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        message_spec *last = o->n_msgs ? &o->msgs[o->n_msgs - 1] : NULL;
        int takes_value = 1;

        if (strcmp(a, "--trace") == 0) {
            o->trace = 1;
            takes_value = 0;
        } else if (strcmp(a, "--stream") == 0) {
            o->stream = 1;
            takes_value = 0;
        } else if (strcmp(a, "--unknown-size") == 0) {
            o->unknown_size = 1;
            takes_value = 0;
        } else if (strcmp(a, "--batch") == 0) {
            o->batch = 1;
            takes_value = 0;
        } else if (strcmp(a, "--nonblocking") == 0) {
            static driver_loop loop;
            o->loop = &loop;
            takes_value = 0;
        } else if (strcmp(a, "--no-quit") == 0) {
            o->quit = 0;
            takes_value = 0;
        } else if (!v) {
            return usage("missing value or unknown option");
        } else if (strcmp(a, "--host") == 0) {
            o->host = v;
        } else if (strcmp(a, "--port") == 0) {
            o->port = v;
        } else if (strcmp(a, "--security") == 0) {
            if (driver_parse_security(v, &o->security) < 0)
                return usage("bad --security");
        } else if (strcmp(a, "--from") == 0) {
            o->from = v;
        } else if (strcmp(a, "--ehlo") == 0) {
            o->ehlo = v;
        } else if (strcmp(a, "--to") == 0) {
            if (o->n_rcpts == MAX_RCPTS)
                return usage("too many --to");
            o->rcpts[o->n_rcpts++] = v;
        } else if (strcmp(a, "--message") == 0) {
            if (o->n_msgs == MAX_MESSAGES)
                return usage("too many --message");
            message_spec *m = &o->msgs[o->n_msgs++];
            m->path = v;
            if (load_file(v, &m->data, &m->len) < 0) {
                fprintf(stderr, "smtpc_send: cannot read %s\n", v);
                return 3;
            }
        } else if (strcmp(a, "--msg-to") == 0) {
            if (!last || last->n_rcpts == MAX_RCPTS)
                return usage("--msg-to needs a preceding --message");
            last->rcpts[last->n_rcpts++] = v;
        } else if (strcmp(a, "--msg-from") == 0) {
            if (!last)
                return usage("--msg-from needs a preceding --message");
            last->from = v;
        } else if (strcmp(a, "--count") == 0) {
            o->count = strtol(v, NULL, 10);
            if (o->count < 1)
                return usage("bad --count");
        } else if (strcmp(a, "--chunk") == 0) {
            long n = strtol(v, NULL, 10);
            if (n < 1)
                return usage("bad --chunk");
            o->chunk = (size_t)n;
        } else if (strcmp(a, "--buffers") == 0) {
            char *end;
            o->io_bytes = strtoul(v, &end, 10);
            if (*end != ',')
                return usage("bad --buffers (IO,OUTPUT)");
            o->output_bytes = strtoul(end + 1, NULL, 10);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            o->timeout_ms = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--insecure") == 0) {
            o->insecure = 1;
            takes_value = 0;
        } else if (strcmp(a, "--cafile") == 0) {
            o->cafile = v;
        } else if (strcmp(a, "--pin") == 0) {
            o->pin = v;
        } else if (strcmp(a, "--client-cert") == 0) {
            o->client_cert = v;
        } else if (strcmp(a, "--client-key") == 0) {
            o->client_key = v;
        } else {
            return usage("unknown option");
        }
        if (takes_value)
            i++;
    }
    if (!o->host || !o->port)
        return usage("--host and --port are required");
    if (o->n_msgs == 0)
        return usage("no --message");
    return 0;
}

/* --- main --- */

/* The TLS configuration the options ask for, or NULL for the client's
 * default (system trust store). Returns 0 or an SMTPC_E* code. */
static int make_tls_config(const options *o, smtpc_tls_config **out)
{
    *out = NULL;
    if (!o->cafile && !o->pin && !o->client_cert && !o->insecure)
        return 0;
    int rc = smtpc_tls_config_new(NULL, out);
    if (rc == 0 && o->cafile)
        rc = smtpc_tls_config_add_ca_file(*out, o->cafile);
    if (rc == 0 && o->pin)
        rc = smtpc_tls_config_set_pin_sha256_hex(*out, o->pin);
    if (rc == 0 && o->client_cert)
        rc = smtpc_tls_config_set_client_cert_file(*out, o->client_cert, o->client_key, NULL);
    if (rc == 0 && o->insecure)
        rc = smtpc_tls_config_set_verify(*out, SMTPC_TLS_VERIFY_NONE);
    if (rc != 0)
        fprintf(stderr, "smtpc_send: TLS setting: %s\n", smtpc_error_message(smtpc_tls_config_error(*out)));
    return rc;
}

/* What the server will count: every line end made CRLF and a final line
 * completed (send_stream's size is the size on the wire, before
 * dot-stuffing). */
static int64_t wire_size(const uint8_t *p, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' || p[i] == '\n') {
            total += 2;
            if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
                i++;
        } else {
            total++;
        }
    }
    if (n && p[n - 1] != '\n' && p[n - 1] != '\r')
        total += 2;
    return total;
}

static int send_one(smtpc_client *c, const options *o, const message_spec *m)
{
    const char *from = m->from ? m->from : o->from;
    const char *const *rcpts = m->n_rcpts ? m->rcpts : o->rcpts;
    size_t n = m->n_rcpts ? m->n_rcpts : o->n_rcpts;

    if (!o->stream)
        return finish(c, o, smtpc_client_send(c, from, rcpts, n, m->data, m->len));
    body_reader r = {m->data, m->len, 0, o->chunk};
    int flags = has_8bit(m->data, m->len) ? SMTPC_MAIL_8BITMIME : 0;
    int64_t size = o->unknown_size ? -1 : wire_size(m->data, m->len);
    return finish(c, o, smtpc_client_send_stream(c, from, rcpts, n, read_body, &r, size, flags));
}

/* --- batch --- */

typedef struct {
    const options *o;
    int failed;
} batch_ctx;

static const message_spec *spec_of(const options *o, size_t index)
{
    return &o->msgs[index % o->n_msgs];
}

static void batch_done(void *user, size_t index, int rc, int status, const smtpc_engine *e,
                       const smtpc_error *err)
{
    batch_ctx *b = user;
    const message_spec *m = spec_of(b->o, index);
    const char *const *rcpts = m->n_rcpts ? m->rcpts : b->o->rcpts;
    size_t n = m->n_rcpts ? m->n_rcpts : b->o->n_rcpts;
    size_t have = e ? smtpc_engine_rcpt_count(e) : 0;
    printf("{\"event\":\"message\",\"index\":%zu,\"file\":", index);
    driver_json_string(m->path);
    printf(",\"ok\":%d,\"message_status\":%d,", rc == 0, status);
    driver_json_rc(rc);
    printf(",\"error\":{\"code\":%d,\"name\":", smtpc_error_code(err));
    driver_json_string(driver_code_name(smtpc_error_code(err)));
    putchar(',');
    driver_json_error_fields(err);
    printf("},\"rcpts\":[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"addr\":", i ? "," : "");
        driver_json_string(rcpts[i]);
        if (i < have)
            printf(",\"accepted\":%d,\"code\":%d", smtpc_engine_rcpt_accepted(e, i),
                   smtpc_engine_rcpt_reply_code(e, i));
        putchar('}');
    }
    printf("]}\n");
    fflush(stdout);
    if (rc != 0)
        b->failed = 1;
}

static int send_batch(smtpc_client *c, const options *o)
{
    size_t total = (size_t)o->count * o->n_msgs;
    smtpc_batch_item *items = calloc(total, sizeof *items);
    if (!items)
        return 3;
    for (size_t i = 0; i < total; i++) {
        const message_spec *m = spec_of(o, i);
        items[i].from = m->from ? m->from : o->from;
        items[i].rcpts = m->n_rcpts ? m->rcpts : o->rcpts;
        items[i].n_rcpts = m->n_rcpts ? m->n_rcpts : o->n_rcpts;
        items[i].body = m->data;
        items[i].body_len = m->len;
    }
    batch_ctx b = {o, 0};
    int rc = finish(c, o, smtpc_client_send_batch(c, items, total, batch_done, &b));
    printf("{\"event\":\"batch\",");
    json_error(c, rc);
    printf("}\n");
    fflush(stdout);
    free(items);
    return rc != 0 || b.failed;
}

static int run(smtpc_client *c, const options *o)
{
    if (smtpc_client_set_server(c, o->host, o->port) != 0 ||
        smtpc_client_set_security(c, o->security) != 0 ||
        (o->ehlo && smtpc_client_set_ehlo_name(c, o->ehlo) != 0) ||
        ((o->io_bytes || o->output_bytes) &&
         smtpc_client_set_buffers(c, o->io_bytes, o->output_bytes) != 0) ||
        (o->trace && smtpc_client_set_trace(c, trace_line, NULL) != 0) ||
        (o->loop && smtpc_client_set_nonblocking(c, 1) != 0)) {
        fprintf(stderr, "smtpc_send: bad setting: %s\n", smtpc_error_message(smtpc_client_error(c)));
        return 3;
    }
    for (int stage = 0; stage < SMTPC_TIMEOUT_COUNT; stage++)
        smtpc_client_set_timeout(c, stage, o->timeout_ms);

    /* Without the library's sockets a transport of the tests' own; a
     * failure to open it is reported like a failed connect. */
    int rc = test_tcp_prepare(c, o->host, o->port, o->timeout_ms);
    if (rc == 0)
        rc = finish(c, o, smtpc_client_connect(c));
    printf("{\"event\":\"connect\",");
    json_error(c, rc);
    printf(",\"capabilities\":%d,\"encrypted\":%d}\n", smtpc_engine_capabilities(smtpc_client_engine(c)),
           smtpc_engine_is_encrypted(smtpc_client_engine(c)));
    fflush(stdout);
    if (rc != 0)
        return 2;

    int failed = 0;
    size_t index = 0;
    if (o->batch)
        failed = send_batch(c, o);
    for (long round = 0; round < o->count && !o->batch; round++) {
        for (size_t k = 0; k < o->n_msgs; k++, index++) {
            const message_spec *m = &o->msgs[k];
            rc = send_one(c, o, m);
            printf("{\"event\":\"message\",\"index\":%zu,\"file\":", index);
            driver_json_string(m->path);
            printf(",\"ok\":%d,\"message_status\":%d,", rc == 0,
                   smtpc_engine_message_status(smtpc_client_engine(c)));
            json_error(c, rc);
            json_rcpts(c, m->n_rcpts ? m->rcpts : o->rcpts,
                       m->n_rcpts ? m->n_rcpts : o->n_rcpts);
            printf("}\n");
            fflush(stdout);
            if (rc != 0)
                failed = 1;
        }
    }
    if (o->quit) {
        rc = finish(c, o, smtpc_client_quit(c));
        printf("{\"event\":\"quit\",");
        json_error(c, rc);
        printf("}\n");
        if (rc != 0)
            failed = 1;
    }
    return failed;
}

int main(int argc, char **argv)
{
    static options o;
    int status = parse_args(argc, argv, &o);
    smtpc_tls_config *tls = NULL;
    if (status == 0 && make_tls_config(&o, &tls) != 0)
        status = 3;
    if (status == 0) {
        smtpc_client *c = NULL;
        if (smtpc_client_new(NULL, &c) != 0) {
            fprintf(stderr, "smtpc_send: out of memory\n");
            status = 3;
        } else {
            if (tls)
                smtpc_client_set_tls_config(c, tls);
            status = run(c, &o);
            if (o.loop)
                driver_json_loop(o.loop);
            smtpc_client_free(c);
        }
    }
    smtpc_tls_config_free(tls); /* after the client that borrowed it */
    for (size_t i = 0; i < o.n_msgs; i++)
        free(o.msgs[i].data);
    return status;
}
