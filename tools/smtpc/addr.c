/* smtpc command-line tool: addresses out of header values and arguments.
 * Only the bare addresses are wanted here (the envelope); checking their
 * syntax is the library's job when it sends them.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static int put(buf *b, char c)
{
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->n++] = c;
    b->p[b->n] = 0;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Add the address of one list element: what was inside <...> when there
 * was an angle address (without an obsolete source route), else the
 * element with comments and unquoted spaces removed. */
static int finish(buf *plain, buf *angle, int had_angle, strlist *out)
{
    const char *a = had_angle ? (angle->p ? angle->p : "") : (plain->p ? plain->p : "");
    if (had_angle && a[0] == '@' && strchr(a, ':'))
        a = strchr(a, ':') + 1;
    int rc = *a ? strlist_add_unique(out, a) : 0;
    plain->n = angle->n = 0;
    if (plain->p)
        plain->p[0] = 0;
    if (angle->p)
        angle->p[0] = 0;
    return rc;
}

/* A space inside an address is kept (one for a run) so that the library
 * refuses "john doe@example.org" instead of mail going to johndoe@. */
static int put_word(buf *b, char c, int *space)
{
    if (*space && b->n > 0 && put(b, ' '))
        return -1;
    *space = 0;
    return put(b, c);
}

int cli_address_list(const char *v, size_t len, strlist *out)
{
    buf plain = {0}, angle = {0};
    int in_quote = 0, in_angle = 0, had_angle = 0, comment = 0, rc = 0, space = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = v[i];
        buf *dst = in_angle ? &angle : &plain;
        if (is_space(c) && !in_quote && !comment) {
            space = 1;
            continue;
        }
        if (comment) {
            if (c == '\\')
                i++;
            else if (c == '(')
                comment++;
            else if (c == ')')
                comment--;
        } else if (in_quote) {
            if (c == '\\' && i + 1 < len) {
                rc = put(dst, c) || put(dst, v[++i]);
            } else {
                rc = put(dst, c);
                if (c == '"')
                    in_quote = 0;
            }
        } else if (c == '"') {
            in_quote = 1;
            rc = put_word(dst, c, &space);
        } else if (c == '(') {
            comment = 1;
            space = 1;
        } else if (in_angle) {
            if (c == '>')
                in_angle = 0;
            else
                rc = put_word(&angle, c, &space);
        } else if (c == '<') {
            in_angle = had_angle = 1;
            angle.n = 0;
            space = 0;
        } else if (c == ',' || c == ';') {
            rc = finish(&plain, &angle, had_angle, out);
            had_angle = space = 0;
        } else if (c == ':') {
            /* "group-name: a, b;" the name is not an address */
            plain.n = 0;
            if (plain.p)
                plain.p[0] = 0;
            space = 0;
        } else {
            rc = put_word(&plain, c, &space);
        }
    }
    if (rc == 0)
        rc = finish(&plain, &angle, had_angle, out);
    free(plain.p);
    free(angle.p);
    return rc ? -1 : 0;
}

static char *dup_range(const char *s, const char *e)
{
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    char *p = malloc((size_t)(e - s) + 1);
    if (p) {
        memcpy(p, s, (size_t)(e - s));
        p[e - s] = 0;
    }
    return p;
}

int cli_mailbox(const char *s, char **addr, char **name)
{
    *addr = *name = NULL;
    const char *lt = strrchr(s, '<');
    if (!lt) {
        if (strchr(s, '>'))
            return -2;
        *addr = dup_range(s, s + strlen(s));
        return *addr ? 0 : -1;
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1 + strspn(gt + 1, " \t")] != 0)
        return -2;
    *addr = dup_range(lt + 1, gt);
    char *n = dup_range(s, lt);
    if (!*addr || !n) {
        free(*addr);
        free(n);
        *addr = NULL;
        return -1;
    }
    /* A quoted display name loses its quotes: the builder quotes as needed. */
    size_t len = strlen(n);
    if (len >= 2 && n[0] == '"' && n[len - 1] == '"') {
        size_t w = 0;
        for (size_t r = 1; r + 1 < len; r++) {
            if (n[r] == '\\' && r + 2 < len)
                r++;
            n[w++] = n[r];
        }
        n[w] = 0;
    }
    if (n[0] == 0) {
        free(n);
        n = NULL;
    }
    *name = n;
    return 0;
}
