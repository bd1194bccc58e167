/* One DKIM signing pass (RFC 6376 section 5): the header fields to sign are
 * kept as they go by, the body is canonicalized and hashed as it streams,
 * and the final step hashes the chosen headers and the signature header
 * itself and signs with RSA (PKCS#1 v1.5, SHA-256). */
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "fmt.h"
#include "base64_stream.h"
#include "dkim_canon.h"
#include "dkim_internal.h"
#include "dkim_sign.h"

/* Header bytes kept for signing: far beyond any real header block, but a
 * bound, since a raw message may be anything. */
#define KEPT_MAX (1u << 20)
/* Folded header lines stay within this many columns. */
#define FOLD_AT 76

typedef struct kept_field {
    size_t off, len; /* in ctx->kept */
    size_t name;     /* index into the signer's names */
    int used;
} kept_field;

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

struct smtpc_dkim_ctx {
    smtpc_dkim *d;
    int err;
    mbedtls_md_context_t body_md;
    smtpc_dkim_body body;
    /* header block parsing */
    int in_body;
    int line_start; /* the next byte begins a line */
    int cr;         /* a CR was seen, its line end not yet taken */
    int in_field;
    int name_done;
    int keep;
    char name[SMTPC_DKIM_NAME_MAX + 1];
    size_t name_len;
    size_t field_start;
    strbuf kept;
    kept_field *fields;
    size_t n_fields, cap_fields;
    strbuf out;
    size_t col; /* column of the header being written */
};

static int fail(smtpc_dkim_ctx *c, int code, const char *msg)
{
    if (!c->err)
        c->err = smtpc_error_set(&c->d->error, code, "DKIM: %s", msg);
    return c->err;
}

static int sb_put(smtpc_dkim_ctx *c, strbuf *b, const char *p, size_t n)
{
    if (c->err)
        return c->err;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = smtpc_alloc(&c->d->alloc, cap);
        if (!q)
            return fail(c, SMTPC_ENOMEM, "out of memory");
        if (b->len)
            memcpy(q, b->p, b->len);
        smtpc_free(&c->d->alloc, b->p, b->cap);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void body_sink(void *user, const uint8_t *p, size_t n)
{
    smtpc_dkim_ctx *c = user;
    if (mbedtls_md_update(&c->body_md, p, n) != 0)
        fail(c, SMTPC_ENOMEM, "SHA-256 failed");
}

static int md_start(mbedtls_md_context_t *md)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!info)
        return SMTPC_ENOTSUP;
    if (mbedtls_md_setup(md, info, 0) != 0 || mbedtls_md_starts(md) != 0)
        return SMTPC_ENOMEM;
    return 0;
}

int smtpc_dkim_ctx_new(smtpc_dkim *d, smtpc_dkim_ctx **out)
{
    if (!d || !out)
        return SMTPC_EINVAL;
    *out = NULL;
    if (!d->have_key || !d->domain[0] || !d->selector[0])
        return smtpc_error_set(&d->error, SMTPC_ESTATE, "DKIM signer has no %s",
                               !d->have_key ? "key" : !d->domain[0] ? "domain" : "selector");
    smtpc_dkim_ctx *c = smtpc_alloc(&d->alloc, sizeof *c);
    if (!c)
        return smtpc_error_set(&d->error, SMTPC_ENOMEM, "DKIM: out of memory");
    c->d = d;
    c->line_start = 1;
    mbedtls_md_init(&c->body_md);
    int rc = md_start(&c->body_md);
    if (rc) {
        smtpc_dkim_ctx_free(c);
        return smtpc_error_set(&d->error, rc, "DKIM: cannot start SHA-256");
    }
    smtpc_dkim_body_init(&c->body, d->bcanon == SMTPC_DKIM_RELAXED, body_sink, c);
    *out = c;
    return 0;
}

void smtpc_dkim_ctx_free(smtpc_dkim_ctx *c)
{
    if (!c)
        return;
    const smtpc_allocator *a = &c->d->alloc;
    mbedtls_md_free(&c->body_md);
    smtpc_free(a, c->kept.p, c->kept.cap);
    smtpc_free(a, c->out.p, c->out.cap);
    smtpc_free(a, c->fields, c->cap_fields * sizeof *c->fields);
    smtpc_free(a, c, sizeof *c);
}

/* --- the header block ----------------------------------------------------- */

static void end_field(smtpc_dkim_ctx *c)
{
    if (!c->in_field)
        return;
    c->in_field = 0;
    if (!c->keep) {
        c->kept.len = c->field_start;
        return;
    }
    if (c->n_fields == c->cap_fields) {
        size_t cap = c->cap_fields ? c->cap_fields * 2 : 16;
        kept_field *f = smtpc_alloc(&c->d->alloc, cap * sizeof *f);
        if (!f) {
            fail(c, SMTPC_ENOMEM, "out of memory");
            return;
        }
        if (c->n_fields)
            memcpy(f, c->fields, c->n_fields * sizeof *f);
        smtpc_free(&c->d->alloc, c->fields, c->cap_fields * sizeof *f);
        c->fields = f;
        c->cap_fields = cap;
    }
    kept_field *f = &c->fields[c->n_fields++];
    f->off = c->field_start;
    f->len = c->kept.len - c->field_start;
    f->used = 0;
    for (f->name = 0; f->name < c->d->n_names; f->name++)
        if (smtpc_dkim_name_eq(c->name, c->name_len, c->d->names[f->name]))
            break;
}

static void field_bytes(smtpc_dkim_ctx *c, const char *p, size_t n)
{
    if (!c->keep && c->name_done)
        return;
    if (c->kept.len + n > KEPT_MAX) {
        fail(c, SMTPC_ETOOLONG, "the header fields to sign pass 1 MiB");
        return;
    }
    sb_put(c, &c->kept, p, n);
}

static void decide(smtpc_dkim_ctx *c)
{
    /* Whitespace before the colon is not part of the name. */
    while (c->name_len && (c->name[c->name_len - 1] == ' ' || c->name[c->name_len - 1] == '\t'))
        c->name_len--;
    c->name_done = 1;
    c->keep = 0;
    for (size_t i = 0; i < c->d->n_names; i++)
        if (smtpc_dkim_name_eq(c->name, c->name_len, c->d->names[i]))
            c->keep = 1;
    if (!c->keep)
        c->kept.len = c->field_start;
}

/* A line end in the header block; returns 1 when it was the empty line
 * that ends the block. */
static int header_line_end(smtpc_dkim_ctx *c)
{
    if (c->line_start) {
        end_field(c);
        c->in_body = 1;
        return 1;
    }
    field_bytes(c, "\r\n", 2);
    c->line_start = 1;
    return 0;
}

static void header_byte(smtpc_dkim_ctx *c, char ch)
{
    if (c->line_start) {
        c->line_start = 0;
        if (!(c->in_field && (ch == ' ' || ch == '\t'))) {
            end_field(c);
            c->in_field = 1;
            c->name_done = 0;
            c->keep = 1;
            c->name_len = 0;
            c->field_start = c->kept.len;
        }
    }
    if (!c->name_done) {
        if (ch == ':') {
            decide(c);
        } else if (c->name_len < SMTPC_DKIM_NAME_MAX) {
            c->name[c->name_len++] = ch;
        } else {
            c->name_done = 1; /* too long to be a name we sign */
            c->keep = 0;
            c->kept.len = c->field_start;
            return;
        }
    }
    field_bytes(c, &ch, 1);
}

void smtpc_dkim_ctx_update(smtpc_dkim_ctx *c, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && !c->in_body && !c->err) {
        uint8_t ch = p[i];
        /* Line ends as the engine sends them: a bare CR or LF is a CRLF. */
        if (c->cr) {
            c->cr = 0;
            if (header_line_end(c)) {
                if (ch == '\n')
                    i++;
                break;
            }
            if (ch == '\n') {
                i++;
                continue;
            }
        }
        i++;
        if (ch == '\r')
            c->cr = 1;
        else if (ch == '\n') {
            if (header_line_end(c))
                break;
        } else
            header_byte(c, (char)ch);
    }
    if (i < n && c->in_body && !c->err)
        smtpc_dkim_body_update(&c->body, p + i, n - i);
}

/* --- the signature header ------------------------------------------------- */

static void out_str(smtpc_dkim_ctx *c, const char *s)
{
    size_t n = strlen(s);
    sb_put(c, &c->out, s, n);
    c->col += n;
}

static void fold(smtpc_dkim_ctx *c)
{
    out_str(c, "\r\n\t");
    c->col = 8;
}

/* " tag=value;" on the current line, or on a new one when it would pass
 * the fold column. */
static void tag(smtpc_dkim_ctx *c, const char *t, const char *v)
{
    if (c->col + strlen(t) + strlen(v) + 3 > FOLD_AT)
        fold(c);
    else
        out_str(c, " ");
    out_str(c, t);
    out_str(c, "=");
    out_str(c, v);
    out_str(c, ";");
}

/* Base64 of len bytes, folded where the line is full (FWS is allowed
 * anywhere in b= and bh=). */
static void b64_folded(smtpc_dkim_ctx *c, const uint8_t *in, size_t len)
{
    char chunk[4 * SMTPC_BASE64_LINE_IN / 3 + 1];
    while (len > 0) {
        size_t take = len < SMTPC_BASE64_LINE_IN ? len : SMTPC_BASE64_LINE_IN;
        size_t k = smtpc_base64_chunk(in, take, chunk);
        for (size_t j = 0; j < k;) {
            if (c->col >= FOLD_AT)
                fold(c);
            size_t room = FOLD_AT - c->col, m = k - j < room ? k - j : room;
            sb_put(c, &c->out, chunk + j, m);
            c->col += m;
            j += m;
        }
        in += take;
        len -= take;
    }
}

/* The fields h= names, bottom-up for repeated names (RFC 6376 5.4.2). */
static void write_h(smtpc_dkim_ctx *c)
{
    const smtpc_dkim *d = c->d;
    int first = 1;
    if (c->col + 3 > FOLD_AT)
        fold(c);
    else
        out_str(c, " ");
    out_str(c, "h=");
    for (size_t i = 0; i < d->n_names; i++) {
        size_t count = 0;
        for (size_t k = 0; k < c->n_fields; k++)
            count += c->fields[k].name == i;
        if (d->oversign_from && smtpc_dkim_name_eq(d->names[i], strlen(d->names[i]), "From"))
            count++;
        for (; count > 0; count--) {
            size_t n = strlen(d->names[i]);
            if (!first)
                out_str(c, ":");
            if (c->col + n + 1 > FOLD_AT)
                fold(c);
            out_str(c, d->names[i]);
            first = 0;
        }
    }
    out_str(c, ";");
}

/* Hash the header fields h= names, in its order. */
static int hash_headers(smtpc_dkim_ctx *c, mbedtls_md_context_t *md, int relaxed)
{
    char *canon = NULL;
    size_t canon_cap = 0;
    int rc = 0;
    for (size_t i = 0; i < c->d->n_names && !rc; i++) {
        for (;;) {
            kept_field *f = NULL;
            for (size_t k = c->n_fields; k-- > 0;)
                if (c->fields[k].name == i && !c->fields[k].used) {
                    f = &c->fields[k];
                    break;
                }
            if (!f)
                break; /* an over-signed name adds nothing */
            f->used = 1;
            if (f->len > canon_cap) {
                smtpc_free(&c->d->alloc, canon, canon_cap);
                canon_cap = f->len;
                if (!(canon = smtpc_alloc(&c->d->alloc, canon_cap))) {
                    canon_cap = 0;
                    rc = SMTPC_ENOMEM;
                    break;
                }
            }
            size_t n = smtpc_dkim_canon_header(relaxed, c->kept.p + f->off, f->len, canon);
            if (mbedtls_md_update(md, (const uint8_t *)canon, n) != 0) {
                rc = SMTPC_ENOMEM;
                break;
            }
        }
    }
    smtpc_free(&c->d->alloc, canon, canon_cap);
    return rc;
}

static int now(smtpc_dkim_ctx *c, int64_t *t)
{
    int off = 0;
    *t = 0;
    if (!c->d->timestamp && !c->d->expire)
        return 0;
    if (c->d->clock(c->d->clock_user, t, &off) != 0 || *t < 0)
        return fail(c, SMTPC_ESOURCE, "the clock failed (t=, x=)");
    return 0;
}

static int sign(smtpc_dkim_ctx *c, const uint8_t hash[32], uint8_t *sig, size_t cap,
                size_t *sig_len)
{
    int ret;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    ret = mbedtls_pk_sign(&c->d->pk, MBEDTLS_MD_SHA256, hash, 32, sig, cap, sig_len,
                          smtpc_dkim_rng, c->d);
#else
    (void)cap;
    ret = mbedtls_pk_sign(&c->d->pk, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len, smtpc_dkim_rng,
                          c->d);
#endif
    if (ret != 0) {
        char why[120];
        mbedtls_strerror(ret, why, sizeof why);
        c->err = smtpc_error_set(&c->d->error, SMTPC_EINVAL, "DKIM: RSA signing failed: %s",
                                 why);
    }
    return c->err;
}

int smtpc_dkim_ctx_final(smtpc_dkim_ctx *c, const char **header, size_t *len)
{
    *header = NULL;
    *len = 0;
    const smtpc_dkim *d = c->d;
    if (!c->in_body && !c->err) {
        if (c->cr)
            header_line_end(c);
        c->cr = 0;
        end_field(c);
    }
    smtpc_dkim_body_final(&c->body);
    if (c->err)
        return c->err;
    int have_from = 0;
    for (size_t k = 0; k < c->n_fields; k++)
        have_from |= smtpc_dkim_name_eq(d->names[c->fields[k].name],
                                        strlen(d->names[c->fields[k].name]), "From");
    if (!have_from)
        return fail(c, SMTPC_EHEADER, "the message has no From header");
    uint8_t bh[32];
    if (mbedtls_md_finish(&c->body_md, bh) != 0)
        return fail(c, SMTPC_ENOMEM, "SHA-256 failed");
    int64_t t;
    if (now(c, &t))
        return c->err;

    char v[64];
    out_str(c, "DKIM-Signature: v=1;");
    tag(c, "a", "rsa-sha256");
    snprintf(v, sizeof v, "%s/%s", d->hcanon ? "relaxed" : "simple",
             d->bcanon ? "relaxed" : "simple");
    tag(c, "c", v);
    tag(c, "d", d->domain);
    tag(c, "s", d->selector);
    if (d->timestamp) {
        smtpc_fmt_i64(v, (int64_t)t, 1);
        tag(c, "t", v);
    }
    if (d->expire) {
        smtpc_fmt_i64(v, (int64_t)(t + d->expire), 1);
        tag(c, "x", v);
    }
    write_h(c);
    fold(c);
    out_str(c, "bh=");
    b64_folded(c, bh, sizeof bh);
    out_str(c, ";");
    fold(c);
    out_str(c, "b=");
    if (c->err)
        return c->err;

    /* The headers, then this one with b= empty and no final CRLF. */
    int relaxed = d->hcanon == SMTPC_DKIM_RELAXED;
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    int rc = md_start(&md);
    if (!rc)
        rc = hash_headers(c, &md, relaxed);
    size_t self_len = c->out.len;
    if (!rc)
        rc = sb_put(c, &c->out, "\r\n", 2);
    char *canon = rc ? NULL : smtpc_alloc(&d->alloc, c->out.len);
    size_t canon_cap = canon ? c->out.len : 0;
    if (!rc && !canon)
        rc = SMTPC_ENOMEM;
    if (!rc) {
        size_t n = smtpc_dkim_canon_header(relaxed, c->out.p, c->out.len, canon);
        if (mbedtls_md_update(&md, (const uint8_t *)canon, n - 2) != 0)
            rc = SMTPC_ENOMEM;
    }
    smtpc_free(&d->alloc, canon, canon_cap);
    uint8_t hash[32];
    if (!rc && mbedtls_md_finish(&md, hash) != 0)
        rc = SMTPC_ENOMEM;
    mbedtls_md_free(&md);
    if (rc)
        return fail(c, rc, "hashing the header fields failed");
    c->out.len = self_len;

    uint8_t sig[MBEDTLS_MPI_MAX_SIZE];
    size_t sig_len = 0;
    if (sign(c, hash, sig, sizeof sig, &sig_len))
        return c->err;
    b64_folded(c, sig, sig_len);
    out_str(c, "\r\n");
    if (c->err)
        return c->err;
    *header = c->out.p;
    *len = c->out.len;
    return 0;
}
