/* smtpc command-line tool: compose mode, a message made with the MIME
 * builder from --from, --to, --subject, --text, --attach, ...
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The whole of a text body (a file, or "-" for standard input): the
 * builder takes bodies from memory. */
static int slurp(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "smtpc: cannot open %s: %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    char *p = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (cap - n < 65536) {
            char *q = realloc(p, cap + 65536 + cap / 2);
            if (!q) {
                fputs("smtpc: out of memory\n", stderr);
                rc = EX_OSERR;
                break;
            }
            p = q;
            cap += 65536 + cap / 2;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "smtpc: cannot read %s: %s\n", path, strerror(errno));
                rc = EX_IOERR;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    *len = n;
    return 0;
}

/* A builder refusal: the value given was wrong (EX_DATAERR), a file was
 * missing (EX_NOINPUT), or memory ran out. */
static int refused(const smtpc_message *m, const char *what, const char *value)
{
    const smtpc_error *err = smtpc_message_error(m);
    fprintf(stderr, "smtpc: %s \"%s\": %s\n", what, value, smtpc_error_message(err));
    switch (smtpc_error_code(err)) {
    case SMTPC_EFILE: return EX_NOINPUT;
    case SMTPC_ENOMEM: return EX_OSERR;
    default: return EX_DATAERR;
    }
}

typedef int (*add_fn)(smtpc_message *, const char *, const char *);

static int add_mailbox(smtpc_message *m, add_fn fn, const char *what, const char *value)
{
    char *addr, *name;
    int rc = cli_mailbox(value, &addr, &name);
    if (rc == -1) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    if (rc == -2) {
        fprintf(stderr, "smtpc: %s \"%s\": not an address or \"Name <address>\"\n", what,
                value);
        return EX_USAGE;
    }
    rc = fn(m, addr, name) ? refused(m, what, value) : 0;
    free(addr);
    free(name);
    return rc;
}

static int add_list(smtpc_message *m, add_fn fn, const char *what, const strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        int rc = add_mailbox(m, fn, what, l->v[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_body(smtpc_message *m, const char *path, int html)
{
    char *data;
    size_t len;
    int rc = slurp(path, &data, &len);
    if (rc)
        return rc;
    rc = html ? smtpc_message_set_html(m, data, len, SMTPC_MEM_COPY)
              : smtpc_message_set_text(m, data, len, SMTPC_MEM_COPY);
    free(data);
    return rc ? refused(m, html ? "--html" : "--text", path) : 0;
}

static int add_header(smtpc_message *m, const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h) {
        fprintf(stderr, "smtpc: --header \"%s\": expected \"Name: value\"\n", h);
        return EX_USAGE;
    }
    char *name = malloc((size_t)(colon - h) + 1);
    if (!name) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    memcpy(name, h, (size_t)(colon - h));
    name[colon - h] = 0;
    const char *value = colon + 1 + strspn(colon + 1, " \t");
    int rc = smtpc_message_add_header(m, name, value) ? refused(m, "--header", h) : 0;
    free(name);
    return rc;
}

static int build(const cli_options *o, const char *from, smtpc_message *m)
{
    int rc = add_mailbox(m, smtpc_message_set_from, "--from", from);
    if (!rc)
        rc = add_list(m, smtpc_message_add_to, "--to", &o->to);
    if (!rc)
        rc = add_list(m, smtpc_message_add_cc, "--cc", &o->cc);
    if (!rc)
        rc = add_list(m, smtpc_message_add_bcc, "--bcc", &o->bcc);
    if (!rc && o->subject && smtpc_message_set_subject(m, o->subject))
        rc = refused(m, "--subject", o->subject);
    for (size_t i = 0; !rc && i < o->headers.n; i++)
        rc = add_header(m, o->headers.v[i]);
    if (!rc && o->text)
        rc = add_body(m, o->text, 0);
    if (!rc && o->html)
        rc = add_body(m, o->html, 1);
    for (size_t i = 0; !rc && i < o->attach.n; i++)
        if (smtpc_message_attach_file(m, o->attach.v[i], NULL, NULL))
            rc = refused(m, "--attach", o->attach.v[i]);
    return rc;
}

int cli_compose(const cli_options *o, const char *from, smtpc_message **out)
{
    smtpc_message *m;
    *out = NULL;
    if (smtpc_message_new(NULL, &m)) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    int rc = build(o, from, m);
    if (rc) {
        smtpc_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
