/* smtpc command-line tool: the config file (msmtp-like accounts), the
 * environment, and passwordeval.
 *
 *   # comment
 *   defaults                 settings for the accounts defined after it
 *   port 587
 *   account work             a named account (starts from the defaults)
 *   host smtp.example.org
 *   user me@example.org
 *   passwordeval pass show mail/work
 *   account default : work   the account used without --account
 *
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char *name;
    cli_settings s;
} account;

typedef struct {
    const char *path;
    cli_settings defaults;
    account *acc;
    size_t n_acc;
    cli_settings *cur;
    int holds_password;
    unsigned line;
} parser;

static int oom(void)
{
    fputs("smtpc: out of memory\n", stderr);
    return EX_OSERR;
}

static int copy_str(char **dst, const char *src)
{
    if (!src)
        return 0;
    free(*dst);
    *dst = cli_strdup(src);
    return *dst ? 0 : -1;
}

/* Deep copy of what src sets into dst. */
static int settings_copy(cli_settings *dst, const cli_settings *src)
{
    if (src->password || src->passwordeval) {
        cli_free_secret(dst->password);
        free(dst->passwordeval);
        dst->password = dst->passwordeval = NULL;
    }
    if (copy_str(&dst->host, src->host) || copy_str(&dst->port, src->port) ||
        copy_str(&dst->security, src->security) || copy_str(&dst->cafile, src->cafile) ||
        copy_str(&dst->user, src->user) || copy_str(&dst->password, src->password) ||
        copy_str(&dst->passwordeval, src->passwordeval) || copy_str(&dst->from, src->from) ||
        copy_str(&dst->timeout, src->timeout) || copy_str(&dst->ehlo, src->ehlo) ||
        copy_str(&dst->dkim_key, src->dkim_key) || copy_str(&dst->dkim_domain, src->dkim_domain) ||
        copy_str(&dst->dkim_selector, src->dkim_selector) ||
        copy_str(&dst->dkim_headers, src->dkim_headers) ||
        copy_str(&dst->dkim_canon, src->dkim_canon))
        return -1;
    if (src->allow_plaintext_auth >= 0)
        dst->allow_plaintext_auth = src->allow_plaintext_auth;
    return 0;
}

static account *find(parser *P, const char *name)
{
    for (size_t i = 0; i < P->n_acc; i++)
        if (strcmp(P->acc[i].name, name) == 0)
            return &P->acc[i];
    return NULL;
}

static int bad(parser *P, const char *what, const char *detail)
{
    fprintf(stderr, "smtpc: %s:%u: %s%s%s\n", P->path, P->line, what, detail ? ": " : "",
            detail ? detail : "");
    return EX_CONFIG;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = 0;
    return s;
}

/* "account NAME" or "account NAME : PARENT, PARENT..." */
static int new_account(parser *P, char *value)
{
    char *parents = strchr(value, ':');
    if (parents)
        *parents++ = 0;
    char *name = trim(value);
    if (!*name || strpbrk(name, " \t"))
        return bad(P, "account needs one name", NULL);
    if (find(P, name))
        return bad(P, "account defined twice", name);
    account *a = realloc(P->acc, (P->n_acc + 1) * sizeof *a);
    if (!a)
        return oom();
    P->acc = a;
    a = &P->acc[P->n_acc];
    cli_settings_init(&a->s);
    if (!(a->name = cli_strdup(name)))
        return oom();
    P->n_acc++;
    if (settings_copy(&a->s, &P->defaults))
        return oom();
    for (char *tok = parents ? strtok(parents, ",") : NULL; tok; tok = strtok(NULL, ",")) {
        account *from = find(P, trim(tok));
        if (!from)
            return bad(P, "no such account (define it first)", trim(tok));
        if (settings_copy(&a->s, &from->s))
            return oom();
    }
    P->cur = &a->s;
    return 0;
}

static int set_key(parser *P, const char *key, char *value)
{
    cli_settings *s = P->cur;
    size_t len = strlen(value);
    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        value[len - 1] = 0;
        value++;
    }
    if (!*value)
        return bad(P, "missing value for", key);
    char **dst = NULL;
    if (strcmp(key, "host") == 0)
        dst = &s->host;
    else if (strcmp(key, "port") == 0)
        dst = &s->port;
    else if (strcmp(key, "security") == 0)
        dst = &s->security;
    else if (strcmp(key, "cafile") == 0)
        dst = &s->cafile;
    else if (strcmp(key, "user") == 0)
        dst = &s->user;
    else if (strcmp(key, "from") == 0)
        dst = &s->from;
    else if (strcmp(key, "timeout") == 0)
        dst = &s->timeout;
    else if (strcmp(key, "ehlo") == 0)
        dst = &s->ehlo;
    else if (strcmp(key, "dkim_key") == 0)
        dst = &s->dkim_key;
    else if (strcmp(key, "dkim_domain") == 0)
        dst = &s->dkim_domain;
    else if (strcmp(key, "dkim_selector") == 0)
        dst = &s->dkim_selector;
    else if (strcmp(key, "dkim_headers") == 0)
        dst = &s->dkim_headers;
    else if (strcmp(key, "dkim_canon") == 0)
        dst = &s->dkim_canon;
    if (dst)
        return copy_str(dst, value) ? oom() : 0;
    if (strcmp(key, "password") == 0 || strcmp(key, "passwordeval") == 0) {
        int eval = key[8] != 0;
        P->holds_password |= !eval;
        cli_free_secret(s->password);
        free(s->passwordeval);
        s->password = s->passwordeval = NULL;
        return copy_str(eval ? &s->passwordeval : &s->password, value) ? oom() : 0;
    }
    if (strcmp(key, "allow_plaintext_auth") == 0) {
        if (strcmp(value, "on") == 0)
            s->allow_plaintext_auth = 1;
        else if (strcmp(value, "off") == 0)
            s->allow_plaintext_auth = 0;
        else
            return bad(P, "allow_plaintext_auth is on or off", value);
        return 0;
    }
    return bad(P, "unknown setting", key);
}

static int parse(parser *P, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        P->line++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *value = s + strcspn(s, " \t");
        if (*value)
            *value++ = 0;
        value = trim(value);
        if (strcmp(s, "defaults") == 0)
            P->cur = &P->defaults;
        else if (strcmp(s, "account") == 0)
            rc = new_account(P, value);
        else
            rc = set_key(P, s, value);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "smtpc: cannot read %s: %s\n", P->path, strerror(errno));
        rc = EX_CONFIG;
    }
    if (line) {
        memset(line, 0, cap); /* it may have held a password */
        free(line);
    }
    return rc;
}

/* A password in a file others can read is a password they have. */
static int check_private(parser *P, const struct stat *st)
{
    if (!P->holds_password)
        return 0;
    if ((st->st_mode & 077) != 0 || st->st_uid != geteuid()) {
        fprintf(stderr,
                "smtpc: %s holds a password but is %s (mode %04o); "
                "run chmod 600 on it, or use passwordeval instead of password\n",
                P->path, st->st_uid != geteuid() ? "not yours" : "readable by others",
                (unsigned)(st->st_mode & 07777));
        return EX_CONFIG;
    }
    return 0;
}

int cli_config_load(const char *path, int explicit_path, const char *name, cli_settings *out)
{
    cli_settings_init(out);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT && !explicit_path && !name)
            return 0;
        fprintf(stderr, "smtpc: cannot open config %s: %s\n", path, strerror(errno));
        return EX_CONFIG;
    }
    parser P = {0};
    P.path = path;
    cli_settings_init(&P.defaults);
    P.cur = &P.defaults;
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "smtpc: config %s is not a regular file\n", path);
        rc = EX_CONFIG;
    }
    if (rc == 0)
        rc = parse(&P, f);
    if (rc == 0)
        rc = check_private(&P, &st);
    if (rc == 0) {
        account *a = find(&P, name ? name : "default");
        if (name && !a) {
            fprintf(stderr, "smtpc: no account \"%s\" in %s\n", name, path);
            rc = EX_CONFIG;
        } else if (settings_copy(out, a ? &a->s : &P.defaults)) {
            rc = oom();
        }
    }
    fclose(f);
    for (size_t i = 0; i < P.n_acc; i++) {
        free(P.acc[i].name);
        cli_settings_free(&P.acc[i].s);
    }
    free(P.acc);
    cli_settings_free(&P.defaults);
    if (rc)
        cli_settings_free(out);
    return rc;
}

char *cli_config_default_path(void)
{
    const char *base = getenv("XDG_CONFIG_HOME");
    const char *tail = "/smtpc/config";
    if (!base || !*base) {
        base = getenv("HOME");
        tail = "/.config/smtpc/config";
    }
    if (!base || !*base)
        return NULL;
    size_t n = strlen(base) + strlen(tail) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", base, tail);
    return p;
}

int cli_settings_from_env(cli_settings *s)
{
    static const struct {
        const char *name;
        size_t offset;
    } vars[] = {
        {"SMTPC_HOST", offsetof(cli_settings, host)},
        {"SMTPC_PORT", offsetof(cli_settings, port)},
        {"SMTPC_SECURITY", offsetof(cli_settings, security)},
        {"SMTPC_CAFILE", offsetof(cli_settings, cafile)},
        {"SMTPC_USER", offsetof(cli_settings, user)},
        {"SMTPC_PASSWORD", offsetof(cli_settings, password)},
        {"SMTPC_FROM", offsetof(cli_settings, from)},
        {"SMTPC_TIMEOUT", offsetof(cli_settings, timeout)},
        {"SMTPC_EHLO", offsetof(cli_settings, ehlo)},
        {"SMTPC_DKIM_KEY", offsetof(cli_settings, dkim_key)},
        {"SMTPC_DKIM_DOMAIN", offsetof(cli_settings, dkim_domain)},
        {"SMTPC_DKIM_SELECTOR", offsetof(cli_settings, dkim_selector)},
        {"SMTPC_DKIM_HEADERS", offsetof(cli_settings, dkim_headers)},
        {"SMTPC_DKIM_CANON", offsetof(cli_settings, dkim_canon)},
    };
    cli_settings_init(s);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].name);
        char **dst = (char **)((char *)s + vars[i].offset);
        if (v && *v && !(*dst = cli_strdup(v))) {
            cli_settings_free(s);
            return oom();
        }
    }
    return 0;
}

int cli_passwordeval(const char *cmd, char **password)
{
    *password = NULL;
    fflush(NULL); /* the child must not write our buffered output again */
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "smtpc: cannot run passwordeval: %s\n", strerror(errno));
        return EX_OSERR;
    }
    char buf[4096];
    size_t n = 0;
    int c, eol = 0;
    /* The first line is the password; the rest is read and dropped so the
     * command is not killed by a broken pipe. */
    while ((c = getc(p)) != EOF) {
        if (c == '\n')
            eol = 1;
        if (!eol && n + 1 < sizeof buf)
            buf[n++] = (char)c;
    }
    buf[n] = 0;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = 0;
    int status = pclose(p);
    int rc = 0;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "smtpc: passwordeval command failed (%s %d)\n",
                status != -1 && WIFEXITED(status) ? "exit status" : "status",
                status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status);
        rc = EX_CONFIG;
    } else if (n == 0) {
        fputs("smtpc: passwordeval command printed no password\n", stderr);
        rc = EX_CONFIG;
    } else if (!(*password = cli_strdup(buf))) {
        rc = oom();
    }
    volatile char *v = buf;
    for (size_t i = 0; i < sizeof buf; i++)
        v[i] = 0;
    return rc;
}
