/* smtpc command-line tool: a message from standard input, as sendmail takes
 * it. Line ends become CRLF (so the size declared is exact), a line with a
 * single dot ends the input unless -i, the Bcc header is dropped, and with
 * -t the To, Cc and Bcc addresses are collected. The header section stays in
 * memory; the body goes to a temporary file, so input of any size costs the
 * same memory.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A header section larger than this is not a mail header. */
#define HEAD_MAX (4u << 20)
/* Body lines longer than this go out in pieces (the dot rule needs only a
 * line's start). */
#define LINE_SPLIT 65536

typedef struct {
    uint8_t *p;
    size_t n, cap;
} bytes;

static int bytes_put(bytes *b, const void *data, size_t len)
{
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return EX_OSERR;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return 0;
}

typedef struct {
    cli_raw *r;
    int ignore_dots, want_rcpts;
    int in_body, first_line, done;
    bytes field; /* the header field being read, CRLF line ends */
    bytes head;
    bytes line;
    int line_split; /* part of this line already went out */
} loader;

static int name_is(const bytes *f, const char *name)
{
    size_t n = strlen(name);
    return f->n > n && f->p[n] == ':' && strncasecmp((const char *)f->p, name, n) == 0;
}

static int flush_field(loader *L)
{
    bytes *f = &L->field;
    if (f->n == 0)
        return 0;
    int bcc = name_is(f, "Bcc");
    int rc = 0;
    if (L->want_rcpts && (bcc || name_is(f, "To") || name_is(f, "Cc"))) {
        const char *v = memchr(f->p, ':', f->n);
        if (cli_address_list(v + 1, f->n - (size_t)((const uint8_t *)v + 1 - f->p),
                             &L->r->rcpts))
            rc = EX_OSERR;
    }
    if (rc == 0 && !L->r->from && name_is(f, "From")) {
        strlist one = {0};
        if (cli_address_list((const char *)f->p + 5, f->n - 5, &one))
            rc = EX_OSERR;
        else if (one.n > 0 && !(L->r->from = cli_strdup(one.v[0])))
            rc = EX_OSERR;
        strlist_free(&one);
    }
    if (rc == 0 && !bcc)
        rc = bytes_put(&L->head, f->p, f->n);
    f->n = 0;
    if (rc == 0 && L->head.n > HEAD_MAX) {
        fprintf(stderr, "smtpc: the header section is over %u bytes\n", HEAD_MAX);
        rc = EX_DATAERR;
    }
    return rc;
}

static int is_field_start(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] >= 0x21 && p[i] <= 0x7e && p[i] != ':')
        i++;
    return i > 0 && i < n && p[i] == ':';
}

static int body_out(loader *L, const uint8_t *p, size_t n, int crlf)
{
    if ((n && fwrite(p, 1, n, L->r->body) != n) || (crlf && fwrite("\r\n", 1, 2, L->r->body) != 2)) {
        fprintf(stderr, "smtpc: cannot write the spool file: %s\n", strerror(errno));
        return EX_IOERR;
    }
    L->r->body_len += (int64_t)n + (crlf ? 2 : 0);
    return 0;
}

/* One whole line (without its end), or the tail of a split one. */
static int on_line(loader *L, const uint8_t *p, size_t n)
{
    int first = L->first_line;
    L->first_line = 0;
    if (!L->ignore_dots && !L->line_split && n == 1 && p[0] == '.') {
        L->done = 1;
        return 0;
    }
    if (!L->in_body) {
        if (first && n >= 5 && memcmp(p, "From ", 5) == 0)
            return 0; /* an mbox envelope line, not a header */
        if (n > 0 && (p[0] == ' ' || p[0] == '\t') && L->field.n > 0) {
            int rc = bytes_put(&L->field, p, n);
            return rc ? rc : bytes_put(&L->field, "\r\n", 2);
        }
        int rc = flush_field(L);
        if (rc)
            return rc;
        if (is_field_start(p, n)) {
            rc = bytes_put(&L->field, p, n);
            return rc ? rc : bytes_put(&L->field, "\r\n", 2);
        }
        L->in_body = 1;
        if (n == 0)
            return bytes_put(&L->head, "\r\n", 2);
    }
    int rc = body_out(L, p, n, 1);
    L->line_split = 0;
    return rc;
}

static int on_bytes(loader *L, const uint8_t *p, size_t n, int *pending_cr)
{
    for (size_t i = 0; i < n && !L->done; i++) {
        int rc = 0;
        if (*pending_cr) {
            *pending_cr = 0;
            rc = on_line(L, L->line.p, L->line.n);
            L->line.n = 0;
            if (rc)
                return rc;
            if (p[i] == '\n')
                continue;
            if (L->done)
                break;
        }
        if (p[i] == '\r') {
            *pending_cr = 1;
        } else if (p[i] == '\n') {
            rc = on_line(L, L->line.p, L->line.n);
            L->line.n = 0;
        } else {
            if (p[i] & 0x80)
                L->r->eight_bit = 1;
            rc = bytes_put(&L->line, p + i, 1);
            if (rc == 0 && !L->in_body && L->line.n > HEAD_MAX) {
                fprintf(stderr, "smtpc: a header line is over %u bytes\n", HEAD_MAX);
                rc = EX_DATAERR;
            } else if (rc == 0 && L->in_body && L->line.n >= LINE_SPLIT) {
                rc = body_out(L, L->line.p, L->line.n, 0);
                L->line.n = 0;
                L->line_split = 1;
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

int cli_raw_load(FILE *in, int ignore_dots, int want_rcpts, cli_raw *r)
{
    memset(r, 0, sizeof *r);
    loader L = {0};
    L.r = r;
    L.ignore_dots = ignore_dots;
    L.want_rcpts = want_rcpts;
    L.first_line = 1;
    r->body = tmpfile();
    if (!r->body) {
        fprintf(stderr, "smtpc: cannot create a spool file: %s\n", strerror(errno));
        return EX_CANTCREAT;
    }
    uint8_t chunk[65536];
    int rc = 0, pending_cr = 0;
    while (rc == 0 && !L.done) {
        size_t got = fread(chunk, 1, sizeof chunk, in);
        if (got == 0) {
            if (ferror(in)) {
                fprintf(stderr, "smtpc: cannot read the message: %s\n", strerror(errno));
                rc = EX_IOERR;
            }
            break;
        }
        rc = on_bytes(&L, chunk, got, &pending_cr);
    }
    /* The last line, ended or not (a missing final line end is added). */
    if (rc == 0 && !L.done && (pending_cr || L.line.n > 0 || L.line_split))
        rc = on_line(&L, L.line.p, L.line.n);
    if (rc == 0)
        rc = flush_field(&L);
    if (rc == 0 && fflush(r->body) != 0) {
        fprintf(stderr, "smtpc: cannot write the spool file: %s\n", strerror(errno));
        rc = EX_IOERR;
    }
    free(L.field.p);
    free(L.line.p);
    r->head = L.head.p;
    r->head_len = L.head.n;
    if (rc == EX_OSERR)
        fputs("smtpc: out of memory\n", stderr);
    if (rc == 0)
        rc = cli_raw_rewind(r);
    return rc;
}

int cli_raw_rewind(cli_raw *r)
{
    r->pos = 0;
    r->read_error = 0;
    if (fseek(r->body, 0, SEEK_SET) != 0) {
        fprintf(stderr, "smtpc: cannot rewind the spool file: %s\n", strerror(errno));
        return EX_IOERR;
    }
    return 0;
}

int cli_raw_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    cli_raw *r = user;
    *len = 0;
    if (r->pos < (int64_t)r->head_len) {
        size_t n = r->head_len - (size_t)r->pos;
        if (n > cap)
            n = cap;
        memcpy(buf, r->head + r->pos, n);
        r->pos += (int64_t)n;
        *len = n;
        return 0;
    }
    size_t got = fread(buf, 1, cap, r->body);
    if (got == 0 && ferror(r->body)) {
        r->read_error = errno ? errno : EIO;
        return -1;
    }
    r->pos += (int64_t)got;
    *len = got;
    return 0;
}

void cli_raw_free(cli_raw *r)
{
    free(r->head);
    if (r->body)
        fclose(r->body);
    strlist_free(&r->rcpts);
    free(r->from);
    memset(r, 0, sizeof *r);
}
