/* smtpc command-line tool: string lists and settings records.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *cli_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void cli_free_secret(char *s)
{
    if (!s)
        return;
    /* volatile: the compiler must not drop the stores before free */
    volatile char *v = s;
    while (*v)
        *v++ = 0;
    free(s);
}

int strlist_addn(strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    memcpy(p, s, len);
    p[len] = 0;
    l->v[l->n++] = p;
    return 0;
}

int strlist_add(strlist *l, const char *s)
{
    return strlist_addn(l, s, strlen(s));
}

int strlist_add_unique(strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], s) == 0)
            return 0;
    return strlist_add(l, s);
}

void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

void cli_settings_init(cli_settings *s)
{
    memset(s, 0, sizeof *s);
    s->allow_plaintext_auth = -1;
}

void cli_settings_free(cli_settings *s)
{
    free(s->host);
    free(s->port);
    free(s->security);
    free(s->cafile);
    free(s->user);
    cli_free_secret(s->password);
    free(s->passwordeval);
    free(s->from);
    free(s->timeout);
    free(s->ehlo);
    free(s->dkim_key);
    free(s->dkim_domain);
    free(s->dkim_selector);
    free(s->dkim_headers);
    free(s->dkim_canon);
    cli_settings_init(s);
}

static void take(char **dst, char **src)
{
    if (*src) {
        free(*dst);
        *dst = *src;
        *src = NULL;
    }
}

void cli_settings_overlay(cli_settings *dst, cli_settings *src)
{
    take(&dst->host, &src->host);
    take(&dst->port, &src->port);
    take(&dst->security, &src->security);
    take(&dst->cafile, &src->cafile);
    take(&dst->user, &src->user);
    if (src->password || src->passwordeval) {
        cli_free_secret(dst->password);
        free(dst->passwordeval);
        dst->password = src->password;
        dst->passwordeval = src->passwordeval;
        src->password = src->passwordeval = NULL;
    }
    take(&dst->from, &src->from);
    take(&dst->timeout, &src->timeout);
    take(&dst->ehlo, &src->ehlo);
    take(&dst->dkim_key, &src->dkim_key);
    take(&dst->dkim_domain, &src->dkim_domain);
    take(&dst->dkim_selector, &src->dkim_selector);
    take(&dst->dkim_headers, &src->dkim_headers);
    take(&dst->dkim_canon, &src->dkim_canon);
    if (src->allow_plaintext_auth >= 0)
        dst->allow_plaintext_auth = src->allow_plaintext_auth;
}
