/* smtpc command-line tool: the command line. Long options for compose mode
 * and the connection, and the single-letter options scripts give sendmail.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum {
    O_HOST, O_PORT, O_SECURITY, O_CAFILE, O_USER, O_TIMEOUT, O_EHLO, O_PLAINAUTH,
    O_CONFIG, O_ACCOUNT, O_FROM, O_TO, O_CC, O_BCC, O_SUBJECT, O_TEXT, O_HTML, O_ATTACH,
    O_HEADER, O_TRACE, O_DRYRUN, O_PROGRESS, O_NOPROGRESS, O_READRCPTS, O_IGNOREDOTS,
    O_ENVFROM, O_HELP, O_VERSION, O_DKIMKEY, O_DKIMDOMAIN, O_DKIMSELECTOR, O_DKIMHEADERS,
    O_DKIMCANON, O_DSNNOTIFY, O_DSNRET, O_DSNENVID, O_NODSN, O_REQUIRETLS
};

static const struct {
    const char *name;
    int id, arg;
} long_opts[] = {
    {"host", O_HOST, 1},         {"port", O_PORT, 1},
    {"security", O_SECURITY, 1}, {"cafile", O_CAFILE, 1},
    {"user", O_USER, 1},         {"timeout", O_TIMEOUT, 1},
    {"ehlo", O_EHLO, 1},         {"allow-plaintext-auth", O_PLAINAUTH, 0},
    {"config", O_CONFIG, 1},     {"account", O_ACCOUNT, 1},
    {"from", O_FROM, 1},         {"to", O_TO, 1},
    {"cc", O_CC, 1},             {"bcc", O_BCC, 1},
    {"subject", O_SUBJECT, 1},   {"text", O_TEXT, 1},
    {"html", O_HTML, 1},         {"attach", O_ATTACH, 1},
    {"header", O_HEADER, 1},     {"trace", O_TRACE, 0},
    {"dry-run", O_DRYRUN, 0},    {"progress", O_PROGRESS, 0},
    {"no-progress", O_NOPROGRESS, 0}, {"read-recipients", O_READRCPTS, 0},
    {"ignore-dots", O_IGNOREDOTS, 0}, {"envelope-from", O_ENVFROM, 1},
    {"help", O_HELP, 0},         {"version", O_VERSION, 0},
    {"dkim-key", O_DKIMKEY, 1},  {"dkim-domain", O_DKIMDOMAIN, 1},
    {"dkim-selector", O_DKIMSELECTOR, 1}, {"dkim-headers", O_DKIMHEADERS, 1},
    {"dkim-canon", O_DKIMCANON, 1}, {"dsn-notify", O_DSNNOTIFY, 1},
    {"dsn-ret", O_DSNRET, 1},    {"dsn-envid", O_DSNENVID, 1},
    {"allow-no-dsn", O_NODSN, 0}, {"requiretls", O_REQUIRETLS, 0},
};

static void usage(FILE *f)
{
    fputs("usage: smtpc [options] [-t] [-i] [-f sender] [recipient...] < message\n"
          "       smtpc [options] --from ADDR --to ADDR [--subject TEXT] [--text FILE|-]\n"
          "             [--html FILE] [--attach FILE]... [--header 'Name: value']...\n"
          "connection: --host H --port P --security plain|starttls|starttls-optional|tls\n"
          "            --cafile FILE --user NAME --timeout SECONDS --ehlo NAME\n"
          "            --allow-plaintext-auth --config FILE --account NAME\n"
          "DKIM:       --dkim-key FILE --dkim-domain D --dkim-selector S\n"
          "            [--dkim-headers a:b:c] [--dkim-canon relaxed|simple]\n"
          "DSN:        --dsn-notify never|success,failure,delay (-N) --dsn-ret full|hdrs (-R)\n"
          "            --dsn-envid ID (-V) --allow-no-dsn --requiretls\n"
          "other:      --trace --dry-run --progress --no-progress --help --version\n"
          "See smtpc(1).\n",
          f);
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = cli_strdup(v);
    return *dst ? 0 : EX_OSERR;
}

static int add(strlist *l, const char *v)
{
    return strlist_add(l, v) ? EX_OSERR : 0;
}

static int apply_long(cli_options *o, int id, const char *v)
{
    cli_settings *s = &o->flags;
    switch (id) {
    case O_HOST: return set_str(&s->host, v);
    case O_PORT: return set_str(&s->port, v);
    case O_SECURITY: return set_str(&s->security, v);
    case O_CAFILE: return set_str(&s->cafile, v);
    case O_USER: return set_str(&s->user, v);
    case O_TIMEOUT: return set_str(&s->timeout, v);
    case O_EHLO: return set_str(&s->ehlo, v);
    case O_PLAINAUTH: s->allow_plaintext_auth = 1; return 0;
    case O_CONFIG: o->config_path = v; return 0;
    case O_ACCOUNT: o->account = v; return 0;
    case O_FROM: o->from = v; o->compose = 1; return 0;
    case O_TO: o->compose = 1; return add(&o->to, v);
    case O_CC: o->compose = 1; return add(&o->cc, v);
    case O_BCC: o->compose = 1; return add(&o->bcc, v);
    case O_SUBJECT: o->subject = v; o->compose = 1; return 0;
    case O_TEXT: o->text = v; o->compose = 1; return 0;
    case O_HTML: o->html = v; o->compose = 1; return 0;
    case O_ATTACH: o->compose = 1; return add(&o->attach, v);
    case O_HEADER: o->compose = 1; return add(&o->headers, v);
    case O_TRACE: o->trace = 1; return 0;
    case O_DRYRUN: o->dry_run = 1; return 0;
    case O_PROGRESS: o->progress = 1; return 0;
    case O_NOPROGRESS: o->progress = 0; return 0;
    case O_READRCPTS: o->read_recipients = 1; return 0;
    case O_IGNOREDOTS: o->ignore_dots = 1; return 0;
    case O_ENVFROM: o->envelope_from = v; return 0;
    case O_DKIMKEY: return set_str(&s->dkim_key, v);
    case O_DKIMDOMAIN: return set_str(&s->dkim_domain, v);
    case O_DKIMSELECTOR: return set_str(&s->dkim_selector, v);
    case O_DKIMHEADERS: return set_str(&s->dkim_headers, v);
    case O_DKIMCANON: return set_str(&s->dkim_canon, v);
    case O_DSNNOTIFY: o->dsn_notify = v; return 0;
    case O_DSNRET: o->dsn_ret = v; return 0;
    case O_DSNENVID: o->dsn_envid = v; return 0;
    case O_NODSN: o->allow_no_dsn = 1; return 0;
    case O_REQUIRETLS: o->requiretls = 1; return 0;
    case O_HELP: usage(stdout); return CLI_EXIT_DONE;
    default:
        printf("smtpc %s (library %s)\n", SMTPC_VERSION_STRING, smtpc_version());
        return CLI_EXIT_DONE;
    }
}

static int parse_long(cli_options *o, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t k = 0; k < sizeof long_opts / sizeof long_opts[0]; k++) {
        if (strlen(long_opts[k].name) != len || strncmp(long_opts[k].name, name, len) != 0)
            continue;
        const char *v = NULL;
        if (long_opts[k].arg) {
            if (eq) {
                v = eq + 1;
            } else if (*i + 1 < argc) {
                v = argv[++*i];
            } else {
                fprintf(stderr, "smtpc: --%s needs a value\n", long_opts[k].name);
                return EX_USAGE;
            }
        } else if (eq) {
            fprintf(stderr, "smtpc: --%s takes no value\n", long_opts[k].name);
            return EX_USAGE;
        }
        return apply_long(o, long_opts[k].id, v);
    }
    fprintf(stderr, "smtpc: unknown option --%.*s (see smtpc --help)\n", (int)len, name);
    return EX_USAGE;
}

/* -x VALUE or -xVALUE. */
static int short_value(int argc, char **argv, int *i, const char **v)
{
    if (argv[*i][2]) {
        *v = argv[*i] + 2;
        return 0;
    }
    if (*i + 1 < argc) {
        *v = argv[++*i];
        return 0;
    }
    fprintf(stderr, "smtpc: %s needs a value\n", argv[*i]);
    return EX_USAGE;
}

/* The options sendmail callers use. Those that only tune sendmail's own
 * queue or delivery mode (-o*, -od*, -bm, -F) are accepted and ignored, as
 * msmtp does, so existing scripts keep working. -N, -R and -V ask for
 * delivery status notifications, as in sendmail. */
static int parse_short(cli_options *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = NULL;
    int rc;
    if (strspn(a + 1, "tiv") == strlen(a + 1)) { /* -t, -i, -v, or a cluster of them */
        for (const char *p = a + 1; *p; p++) {
            if (*p == 't')
                o->read_recipients = 1;
            else if (*p == 'i')
                o->ignore_dots = 1;
            else
                o->trace = 1;
        }
        return 0;
    }
    switch (a[1]) {
    case 'f':
    case 'r':
        if ((rc = short_value(argc, argv, i, &v)) != 0)
            return rc;
        o->envelope_from = v;
        return 0;
    case 'C':
        if ((rc = short_value(argc, argv, i, &v)) != 0)
            return rc;
        o->config_path = v;
        return 0;
    case 'a':
        if ((rc = short_value(argc, argv, i, &v)) != 0)
            return rc;
        o->account = v;
        return 0;
    case 'N':
    case 'R':
    case 'V':
        if ((rc = short_value(argc, argv, i, &v)) != 0)
            return rc;
        if (a[1] == 'N')
            o->dsn_notify = v;
        else if (a[1] == 'R')
            o->dsn_ret = v;
        else
            o->dsn_envid = v;
        return 0;
    case 'F':
        return short_value(argc, argv, i, &v);
    case 'o':
        if (strcmp(a, "-oi") == 0)
            o->ignore_dots = 1;
        return 0;
    case 'b':
        if (strcmp(a, "-bm") == 0)
            return 0;
        fprintf(stderr, "smtpc: %s: only -bm (send a message) is supported\n", a);
        return EX_USAGE;
    case 'h':
        if (strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_DONE;
        }
        break;
    default:
        break;
    }
    fprintf(stderr, "smtpc: unknown option %s (see smtpc --help)\n", a);
    return EX_USAGE;
}

int cli_parse_args(int argc, char **argv, cli_options *o)
{
    memset(o, 0, sizeof *o);
    cli_settings_init(&o->flags);
    o->progress = -1;
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (only_args || a[0] != '-' || a[1] == 0) {
            rc = add(&o->rcpts, a);
        } else if (strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (a[1] == '-') {
            rc = parse_long(o, argc, argv, &i);
        } else {
            rc = parse_short(o, argc, argv, &i);
        }
        if (rc == EX_OSERR)
            fputs("smtpc: out of memory\n", stderr);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void cli_options_free(cli_options *o)
{
    cli_settings_free(&o->flags);
    strlist_free(&o->rcpts);
    strlist_free(&o->to);
    strlist_free(&o->cc);
    strlist_free(&o->bcc);
    strlist_free(&o->attach);
    strlist_free(&o->headers);
}
