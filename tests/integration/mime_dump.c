/* Build a message from a spec file and write its bytes to stdout, read in
 * chunks of a given size: the Python tests parse what comes out.
 *
 * usage: mime_dump SPEC [CHUNK [HOST PORT [--nonblocking]]]
 * The total from smtpc_message_size (or "unknown") goes to stderr as
 * "size N". Exit status 0, or 2 with the error on stderr. With HOST and
 * PORT the message is not dumped but sent there (plain SMTP) with
 * smtpc_client_send_message, envelope from the headers; stderr then gets
 * "send RC" and exit status 3 on a send error. --nonblocking: the client's
 * non-blocking mode, each call finished by driver_common.c's poll() loop
 * (issue 11).
 *
 * Spec: one directive per line, fields separated by '|', empty field NULL.
 *   flags 8bit,smtputf8,escape_from
 *   from ADDR|NAME      to / cc / bcc / reply-to ADDR|NAME
 *   subject TEXT        header NAME|VALUE      date TEXT     message-id TEXT
 *   text-file PATH      html-file PATH         (body read from a file, copied)
 *   attach-file PATH|FILENAME|TYPE             (smtpc_message_attach_file)
 *   attach-mem PATH|FILENAME|TYPE              (file read into memory, copied)
 *   attach-gen BYTES|SEED|FILENAME|TYPE|KNOWN  (callback, pseudo-random bytes)
 *   attach-fail BYTES|FAILAT|FILENAME          (callback failing at FAILAT)
 *   inline-file PATH|CID|FILENAME|TYPE
 *   attach-once BYTES|SEED|FILENAME            (callback with no rewind)
 *   dkim KEYFILE|DOMAIN|SELECTOR|HCANON/BCANON|EXPIRE   (a DKIM signer; real
 *                       clock for t= and x=; EXPIRE seconds or empty)
 * Date and boundaries are fixed (clock and random hooks) so that every run
 * gives the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_common.h"
#include "smtpc.h"
#include "test_tcp_transport.h"

#define MAX_GEN 16
#define MAX_DKIM 8

typedef struct gen {
    uint64_t size, pos, seed, state;
    int64_t fail_at; /* -1: never */
} gen;

/* xorshift64*: the Python side regenerates the same stream to hash it. */
static uint8_t gen_byte(gen *g)
{
    g->state ^= g->state >> 12;
    g->state ^= g->state << 25;
    g->state ^= g->state >> 27;
    return (uint8_t)((g->state * 2685821657736338717ULL) >> 56);
}

static int gen_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    gen *g = user;
    size_t n = 0;
    if (g->fail_at >= 0 && g->pos >= (uint64_t)g->fail_at)
        return -1;
    while (n < cap && g->pos < g->size) {
        buf[n++] = gen_byte(g);
        g->pos++;
    }
    *len = n;
    return 0;
}

static int gen_rewind(void *user)
{
    gen *g = user;
    g->pos = 0;
    g->state = g->seed;
    return 0;
}

static int fixed_clock(void *user, int64_t *t, int *off)
{
    (void)user;
    *t = 1700000000;
    *off = 120;
    return 0;
}

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Split s at '|' into up to n fields; empty fields become NULL. */
static void fields(char *s, char **out, int n)
{
    for (int i = 0; i < n; i++) {
        out[i] = s;
        if (s) {
            char *bar = strchr(s, '|');
            if (bar) {
                *bar = '\0';
                s = bar + 1;
            } else {
                s = NULL;
            }
        }
        if (out[i] && !*out[i])
            out[i] = NULL;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mime_dump SPEC [CHUNK]\n");
        return 2;
    }
    size_t chunk = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 4096;
    FILE *spec = fopen(argv[1], "r");
    if (!spec || chunk == 0) {
        perror("spec");
        return 2;
    }
    smtpc_message *msg;
    if (smtpc_message_new(NULL, &msg))
        return 2;
    smtpc_message_set_clock(msg, fixed_clock, NULL);
    smtpc_message_set_random(msg, fixed_random, NULL);
    gen gens[MAX_GEN];
    int n_gens = 0;
    smtpc_dkim *signers[MAX_DKIM];
    int n_signers = 0;
    char *bodies[2] = {NULL, NULL};
    static char line[65536];
    int rc = 0, lineno = 0;
    while (!rc && fgets(line, sizeof line, spec)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        char *arg = strchr(line, ' ');
        if (arg)
            *arg++ = '\0';
        char *f[5];
        fields(arg, f, 5);
        const char *cmd = line;
        if (!*cmd || *cmd == '#') {
            continue;
        } else if (!strcmp(cmd, "flags")) {
            int flags = 0;
            if (arg && strstr(arg, "8bit"))
                flags |= SMTPC_MESSAGE_8BITMIME;
            if (arg && strstr(arg, "smtputf8"))
                flags |= SMTPC_MESSAGE_SMTPUTF8;
            if (arg && strstr(arg, "escape_from"))
                flags |= SMTPC_MESSAGE_ESCAPE_FROM;
            rc = smtpc_message_set_flags(msg, flags);
        } else if (!strcmp(cmd, "from")) {
            rc = smtpc_message_set_from(msg, f[0], f[1]);
        } else if (!strcmp(cmd, "to")) {
            rc = smtpc_message_add_to(msg, f[0], f[1]);
        } else if (!strcmp(cmd, "cc")) {
            rc = smtpc_message_add_cc(msg, f[0], f[1]);
        } else if (!strcmp(cmd, "bcc")) {
            rc = smtpc_message_add_bcc(msg, f[0], f[1]);
        } else if (!strcmp(cmd, "reply-to")) {
            rc = smtpc_message_add_reply_to(msg, f[0], f[1]);
        } else if (!strcmp(cmd, "subject")) {
            rc = smtpc_message_set_subject(msg, arg ? arg : "");
        } else if (!strcmp(cmd, "header")) {
            rc = smtpc_message_add_header(msg, f[0], f[1] ? f[1] : "");
        } else if (!strcmp(cmd, "date")) {
            rc = smtpc_message_set_date(msg, arg);
        } else if (!strcmp(cmd, "message-id")) {
            rc = smtpc_message_set_message_id(msg, arg);
        } else if (!strcmp(cmd, "text-file") || !strcmp(cmd, "html-file")) {
            size_t len;
            int html = cmd[0] == 'h';
            char *body = slurp(f[0], &len);
            if (!body) {
                rc = SMTPC_EFILE;
                break;
            }
            /* Borrowed: exercises the no-copy path; freed after the message. */
            rc = html ? smtpc_message_set_html(msg, body, len, SMTPC_MEM_BORROW)
                      : smtpc_message_set_text(msg, body, len, SMTPC_MEM_BORROW);
            free(bodies[html]);
            bodies[html] = body;
        } else if (!strcmp(cmd, "attach-file")) {
            rc = smtpc_message_attach_file(msg, f[0], f[1], f[2]);
        } else if (!strcmp(cmd, "attach-mem")) {
            size_t len;
            char *data = slurp(f[0], &len);
            if (!data) {
                rc = SMTPC_EFILE;
                break;
            }
            rc = smtpc_message_attach_mem(msg, (const uint8_t *)data, len, SMTPC_MEM_COPY, f[1],
                                          f[2]);
            free(data);
        } else if (!strcmp(cmd, "attach-gen") && n_gens < MAX_GEN) {
            gen *g = &gens[n_gens++];
            g->size = strtoull(f[0], NULL, 10);
            g->seed = g->state = strtoull(f[1], NULL, 10) | 1;
            g->pos = 0;
            g->fail_at = -1;
            int known = !f[4] || strcmp(f[4], "unknown") != 0;
            rc = smtpc_message_attach_reader(msg, gen_read, gen_rewind, g,
                                             known ? (int64_t)g->size : -1, f[2], f[3]);
        } else if (!strcmp(cmd, "attach-fail") && n_gens < MAX_GEN) {
            gen *g = &gens[n_gens++];
            g->size = strtoull(f[0], NULL, 10);
            g->seed = g->state = 1;
            g->pos = 0;
            g->fail_at = (int64_t)strtoull(f[1], NULL, 10);
            rc = smtpc_message_attach_reader(msg, gen_read, gen_rewind, g, (int64_t)g->size,
                                             f[2], NULL);
        } else if (!strcmp(cmd, "attach-once") && n_gens < MAX_GEN) {
            gen *g = &gens[n_gens++];
            g->size = strtoull(f[0], NULL, 10);
            g->seed = g->state = strtoull(f[1], NULL, 10) | 1;
            g->pos = 0;
            g->fail_at = -1;
            rc = smtpc_message_attach_reader(msg, gen_read, NULL, g, (int64_t)g->size, f[2],
                                             NULL);
        } else if (!strcmp(cmd, "dkim") && n_signers < MAX_DKIM) {
            smtpc_dkim *d;
            rc = smtpc_dkim_new(NULL, &d);
            if (rc) {
                fprintf(stderr, "spec line %d: smtpc_dkim_new: %d\n", lineno, rc);
                break;
            }
            signers[n_signers++] = d;
            int relaxed_h = !f[3] || strncmp(f[3], "simple", 6) != 0;
            int relaxed_b = !f[3] || !strstr(f[3], "/simple");
            rc = smtpc_dkim_set_key_file(d, f[0], NULL);
            if (!rc)
                rc = smtpc_dkim_set_domain(d, f[1]);
            if (!rc)
                rc = smtpc_dkim_set_selector(d, f[2]);
            if (!rc)
                rc = smtpc_dkim_set_canonicalization(d, relaxed_h, relaxed_b);
            if (!rc && f[4])
                rc = smtpc_dkim_set_timestamps(d, 1, (int64_t)strtoll(f[4], NULL, 10));
            if (!rc)
                rc = smtpc_message_add_dkim(msg, d);
            else
                fprintf(stderr, "spec line %d: %s\n", lineno,
                        smtpc_error_message(smtpc_dkim_error(d)));
        } else if (!strcmp(cmd, "inline-file")) {
            rc = smtpc_message_inline_file(msg, f[0], f[1], f[2], f[3]);
        } else {
            fprintf(stderr, "spec line %d: unknown directive %s\n", lineno, cmd);
            return 2;
        }
        if (rc)
            fprintf(stderr, "spec line %d: %s\n", lineno, smtpc_error_message(smtpc_message_error(msg)));
    }
    fclose(spec);
    int64_t size = -1;
    if (!rc) {
        rc = smtpc_message_size(msg, &size);
        if (rc == SMTPC_ESIZEUNKNOWN) {
            fprintf(stderr, "size unknown\n");
            rc = 0;
        } else if (!rc) {
            fprintf(stderr, "size %lld\n", (long long)size);
        }
    }
    if (!rc && argc > 4) {
        smtpc_client *c = NULL;
        int nb = argc > 5 && strcmp(argv[5], "--nonblocking") == 0;
        driver_loop loop = {0, 0};
        int src = smtpc_client_new(NULL, &c);
        if (!src && nb)
            src = smtpc_client_set_nonblocking(c, 1);
        if (!src)
            src = smtpc_client_set_server(c, argv[3], argv[4]);
        if (!src)
            src = smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);
        if (!src)
            src = test_tcp_prepare(c, argv[3], argv[4], 10000);
        if (!src)
            src = smtpc_client_connect(c);
        if (nb)
            src = driver_finish(c, src, &loop);
        if (!src)
            src = smtpc_client_send_message(c, msg, NULL, NULL, 0);
        if (nb)
            src = driver_finish(c, src, &loop);
        fprintf(stderr, "send %d\n", src);
        if (nb)
            fprintf(stderr, "nonblocking steps %ld\n", loop.steps);
        if (src)
            fprintf(stderr, "client: %s\nmessage: %s\n", smtpc_error_message(smtpc_client_error(c)),
                    smtpc_error_message(smtpc_message_error(msg)));
        else if (nb)
            driver_finish(c, smtpc_client_quit(c), &loop);
        else
            smtpc_client_quit(c);
        smtpc_client_free(c);
        smtpc_message_free(msg);
        for (int i = 0; i < n_signers; i++)
            smtpc_dkim_free(signers[i]);
        free(bodies[0]);
        free(bodies[1]);
        return src ? 3 : 0;
    }
    uint8_t *buf = malloc(chunk);
    while (!rc && buf) {
        size_t len;
        rc = smtpc_message_read(msg, buf, chunk, &len);
        if (rc || len == 0)
            break;
        if (fwrite(buf, 1, len, stdout) != len)
            rc = SMTPC_EIO;
    }
    free(buf);
    if (rc)
        fprintf(stderr, "error %d (%s): %s\n", rc, smtpc_strerror(rc),
                smtpc_error_message(smtpc_message_error(msg)));
    smtpc_message_free(msg);
    for (int i = 0; i < n_signers; i++)
        smtpc_dkim_free(signers[i]);
    free(bodies[0]);
    free(bodies[1]);
    return rc ? 2 : 0;
}
