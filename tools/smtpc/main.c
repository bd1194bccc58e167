/* smtpc: send mail from the shell, over the smtpc library's public API.
 * A sendmail-compatible mode (a message on standard input) and a compose
 * mode (the MIME builder). See smtpc.1.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    cli_raw *raw;
    smtpc_message *msg;
    cli_progress progress;
    int msg_rc; /* the builder's error when reading failed */
} source;

static int source_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    source *s = user;
    int rc;
    if (s->raw) {
        rc = cli_raw_read(s->raw, buf, cap, len);
    } else {
        rc = smtpc_message_read(s->msg, buf, cap, len);
        if (rc)
            s->msg_rc = rc;
    }
    if (rc == 0)
        cli_progress_add(&s->progress, *len);
    return rc ? -1 : 0;
}

static void trace(void *user, int direction, const char *text, size_t len)
{
    (void)user;
    const char *tag = direction == SMTPC_TRACE_SEND   ? "C: "
                      : direction == SMTPC_TRACE_RECV ? "S: "
                                                      : "*  ";
    fprintf(stderr, "%s%.*s\n", tag, (int)len, text);
}

static int parse_security(const char *name, int *level)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {
        {"plain", SMTPC_SECURITY_PLAIN},
        {"starttls", SMTPC_SECURITY_STARTTLS},
        {"starttls-optional", SMTPC_SECURITY_STARTTLS_OPTIONAL},
        {"tls", SMTPC_SECURITY_IMPLICIT_TLS},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(name, levels[i].name) == 0) {
            *level = levels[i].level;
            return 0;
        }
    }
    fprintf(stderr, "smtpc: unknown security \"%s\" (plain, starttls, starttls-optional or tls)\n",
            name);
    return EX_USAGE;
}

static int parse_timeout(const char *text, int *ms)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > 86400) {
        fprintf(stderr, "smtpc: timeout \"%s\" is not a number of seconds in 1..86400\n", text);
        return EX_USAGE;
    }
    *ms = (int)v * 1000;
    return 0;
}

/* What the message needs from the sources of settings. */
typedef struct {
    cli_settings set;
    int security, timeout_ms;
    smtpc_tls_config *tls;
    char *password;
} conn;

static int load_settings(const cli_options *o, cli_settings *flags, conn *k)
{
    const char *path = o->config_path ? o->config_path : getenv("SMTPC_CONFIG");
    const char *account = o->account ? o->account : getenv("SMTPC_ACCOUNT");
    if (account && !*account)
        account = NULL;
    int explicit_path = path && *path;
    char *fallback = explicit_path ? NULL : cli_config_default_path();
    cli_settings env;
    int rc = 0;
    if (explicit_path || fallback) {
        rc = cli_config_load(explicit_path ? path : fallback, explicit_path, account, &k->set);
    } else if (account) {
        fprintf(stderr, "smtpc: account %s asked for but no config file (HOME unset)\n",
                account);
        rc = EX_CONFIG;
    }
    free(fallback);
    if (rc)
        return rc;
    if ((rc = cli_settings_from_env(&env)) != 0)
        return rc;
    /* Precedence: flags over the environment over the config file. */
    cli_settings_overlay(&k->set, &env);
    cli_settings_free(&env);
    cli_settings_overlay(&k->set, flags);
    k->security = SMTPC_SECURITY_STARTTLS;
    k->timeout_ms = 0;
    if (k->set.security && (rc = parse_security(k->set.security, &k->security)) != 0)
        return rc;
    if (k->set.timeout && (rc = parse_timeout(k->set.timeout, &k->timeout_ms)) != 0)
        return rc;
    return 0;
}

static int out_of_memory(void)
{
    fputs("smtpc: out of memory\n", stderr);
    return EX_OSERR;
}

static int usage_error(const char *text)
{
    fprintf(stderr, "smtpc: %s (see smtpc --help)\n", text);
    return EX_USAGE;
}

static int add_rcpt_list(strlist *rcpts, const char *list)
{
    return cli_address_list(list, strlen(list), rcpts) ? out_of_memory() : 0;
}

static int dry_run(source *src, const char *from, const strlist *rcpts)
{
    fprintf(stderr, "smtpc: dry run, envelope from <%s> to", from);
    for (size_t i = 0; i < rcpts->n; i++)
        fprintf(stderr, " <%s>", rcpts->v[i]);
    fputc('\n', stderr);
    uint8_t buf[65536];
    size_t n;
    for (;;) {
        if (source_read(src, buf, sizeof buf, &n) != 0)
            return -1;
        if (n == 0)
            break;
        if (fwrite(buf, 1, n, stdout) != n)
            break;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "smtpc: cannot write the message: %s\n", strerror(errno));
        return EX_IOERR;
    }
    return 0;
}

/* -N / --dsn-notify: "never", or success, failure and delay separated by
 * commas; -R / --dsn-ret: full or hdrs. */
static int parse_dsn(const cli_options *o, int *notify, int *ret)
{
    *notify = 0;
    *ret = 0;
    if (o->dsn_notify) {
        const char *p = o->dsn_notify;
        for (;;) {
            size_t n = strcspn(p, ",");
            if (n == 5 && strncasecmp(p, "never", 5) == 0)
                *notify |= SMTPC_NOTIFY_NEVER;
            else if (n == 7 && strncasecmp(p, "success", 7) == 0)
                *notify |= SMTPC_NOTIFY_SUCCESS;
            else if (n == 7 && strncasecmp(p, "failure", 7) == 0)
                *notify |= SMTPC_NOTIFY_FAILURE;
            else if (n == 5 && strncasecmp(p, "delay", 5) == 0)
                *notify |= SMTPC_NOTIFY_DELAY;
            else
                break;
            if (!p[n]) {
                p = NULL;
                break;
            }
            p += n + 1;
        }
        if (p || ((*notify & SMTPC_NOTIFY_NEVER) && *notify != SMTPC_NOTIFY_NEVER))
            return usage_error("DSN notify is never, or success, failure and delay separated "
                               "by commas");
    }
    if (o->dsn_ret) {
        if (strcasecmp(o->dsn_ret, "full") == 0)
            *ret = SMTPC_DSN_RET_FULL;
        else if (strcasecmp(o->dsn_ret, "hdrs") == 0)
            *ret = SMTPC_DSN_RET_HDRS;
        else
            return usage_error("DSN return is full or hdrs");
    }
    if (o->dsn_envid && !*o->dsn_envid)
        return usage_error("DSN envelope id is empty");
    return 0;
}

static int setup_client(smtpc_client *c, const cli_options *o, conn *k)
{
    const cli_settings *s = &k->set;
    int rc = smtpc_client_set_server(c, s->host, s->port);
    if (!rc)
        rc = smtpc_client_set_security(c, k->security);
    for (int st = SMTPC_TIMEOUT_CONNECT; !rc && k->timeout_ms && st <= SMTPC_TIMEOUT_TLS; st++)
        rc = smtpc_client_set_timeout(c, st, k->timeout_ms);
    if (!rc && s->ehlo)
        rc = smtpc_client_set_ehlo_name(c, s->ehlo);
    if (!rc && o->trace)
        rc = smtpc_client_set_trace(c, trace, NULL);
    if (!rc && s->user)
        rc = smtpc_client_set_credentials(c, s->user, k->password);
    if (!rc && s->allow_plaintext_auth == 1)
        rc = smtpc_client_allow_plaintext_auth(c, 1);
    if (!rc && o->allow_no_dsn)
        rc = smtpc_client_allow_no_dsn(c, 1);
    if (rc) {
        cli_report("settings", smtpc_client_error(c));
        return smtpc_error_code(smtpc_client_error(c)) == SMTPC_ENOMEM ? EX_OSERR : EX_USAGE;
    }
    if (s->cafile && k->security != SMTPC_SECURITY_PLAIN) {
        rc = smtpc_tls_config_new(NULL, &k->tls);
        if (rc == SMTPC_ENOTSUP) {
            fputs("smtpc: --cafile: this smtpc was built without TLS\n", stderr);
            return EX_UNAVAILABLE;
        }
        if (rc) {
            fprintf(stderr, "smtpc: cannot set up TLS: %s\n", smtpc_strerror(rc));
            return EX_OSERR;
        }
        if (smtpc_tls_config_add_ca_file(k->tls, s->cafile) != 0) {
            fprintf(stderr, "smtpc: cafile %s: %s\n", s->cafile,
                    smtpc_error_message(smtpc_tls_config_error(k->tls)));
            return EX_CONFIG;
        }
        if (smtpc_client_set_tls_config(c, k->tls) != 0) {
            cli_report("settings", smtpc_client_error(c));
            return EX_SOFTWARE;
        }
    }
    return 0;
}

static int send_mail(const cli_options *o, conn *k, source *src, const char *from,
                     const strlist *rcpts, int64_t size, int flags, const smtpc_dsn *dsn)
{
    smtpc_client *c;
    if (smtpc_client_new(NULL, &c)) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    int rc = setup_client(c, o, k);
    if (rc == 0 && smtpc_client_connect(c) != 0) {
        cli_report("connect", smtpc_client_error(c));
        rc = cli_exit_code(smtpc_client_error(c));
    } else if (rc == 0) {
        cli_progress_start(&src->progress, o->progress, size);
        int r = smtpc_client_send_stream_dsn(c, from, (const char *const *)rcpts->v, rcpts->n,
                                             source_read, src, size, flags, dsn);
        cli_progress_end(&src->progress);
        int refused = cli_report_rcpts(smtpc_client_engine(c), rcpts->v);
        if (r == SMTPC_ESOURCE && src->msg_rc) {
            cli_report("message", smtpc_message_error(src->msg));
            rc = cli_exit_code(smtpc_message_error(src->msg));
        } else if (r == SMTPC_ESOURCE && src->raw && src->raw->read_error) {
            fprintf(stderr, "smtpc: cannot read the spooled message: %s\n",
                    strerror(src->raw->read_error));
            rc = EX_IOERR;
        } else if (r != 0) {
            cli_report("send", smtpc_client_error(c));
            rc = r == SMTPC_ERCPTS && refused ? refused : cli_exit_code(smtpc_client_error(c));
        } else if (refused) {
            fprintf(stderr, "smtpc: the message went to %zu of %zu recipients\n",
                    smtpc_engine_rcpt_accepted_count(smtpc_client_engine(c)), rcpts->n);
            rc = refused;
        }
        if (smtpc_client_connected(c))
            smtpc_client_quit(c); /* the verdict is in; a failed QUIT changes nothing */
    }
    smtpc_client_free(c);
    return rc;
}

static int get_password(conn *k)
{
    if (!k->set.user)
        return 0;
    if (k->set.password)
        return (k->password = cli_strdup(k->set.password)) ? 0 : out_of_memory();
    if (k->set.passwordeval)
        return cli_passwordeval(k->set.passwordeval, &k->password);
    fputs("smtpc: a user is set but no password: set SMTPC_PASSWORD, or password or "
          "passwordeval in the config file\n",
          stderr);
    return EX_CONFIG;
}

static int envelope_sender(const char *text, char **out)
{
    char *name;
    int rc = cli_mailbox(text, out, &name);
    free(name);
    if (rc == -1) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    if (rc == -2) {
        fprintf(stderr, "smtpc: sender \"%s\" is not an address or \"Name <address>\"\n", text);
        return EX_USAGE;
    }
    return 0;
}

/* The message, its envelope and its size, then a dry run or the send. */
static int run(cli_options *o)
{
    if (o->compose && (o->read_recipients || o->rcpts.n))
        return usage_error("compose options (--to, --subject, ...) do not mix with -t or "
                           "recipient arguments");
    if (o->compose && !o->to.n && !o->cc.n && !o->bcc.n)
        return usage_error("compose mode needs --to, --cc or --bcc");
    conn k = {0};
    cli_settings_init(&k.set);
    cli_raw raw = {0};
    source src = {0};
    strlist rcpts = {0};
    const char *from = o->envelope_from;
    int64_t size = -1;
    int flags = 0, notify = 0, ret = 0;
    smtpc_dkim *dkim = NULL;
    int rc = parse_dsn(o, &notify, &ret);
    if (rc == 0)
        rc = load_settings(o, &o->flags, &k);
    if (rc == 0)
        rc = cli_dkim_setup(&k.set, &dkim);
    for (size_t i = 0; rc == 0 && i < o->rcpts.n; i++)
        rc = add_rcpt_list(&rcpts, o->rcpts.v[i]);
    if (rc == 0 && !o->compose) {
        rc = cli_raw_load(stdin, o->ignore_dots, o->read_recipients, &raw);
        src.raw = &raw;
        if (rc == 0 && dkim)
            rc = cli_dkim_sign_raw(&raw, dkim);
        for (size_t i = 0; rc == 0 && i < raw.rcpts.n; i++)
            rc = strlist_add_unique(&rcpts, raw.rcpts.v[i]) ? out_of_memory() : 0;
        if (!from)
            from = k.set.from ? k.set.from : raw.from;
        size = (int64_t)raw.head_len + raw.body_len;
        flags = (raw.eight_bit ? SMTPC_MAIL_8BITMIME : 0) |
                (o->requiretls ? SMTPC_MAIL_REQUIRETLS : 0);
    } else if (rc == 0) {
        const char *author = o->from ? o->from : k.set.from ? k.set.from : o->envelope_from;
        if (!author)
            rc = usage_error("compose mode needs --from (or from in the config, or -f)");
        if (rc == 0)
            rc = cli_compose(o, author, &src.msg);
        if (rc == 0 && ((dkim && smtpc_message_add_dkim(src.msg, dkim) != 0) ||
                        (o->requiretls &&
                         smtpc_message_set_flags(src.msg, smtpc_message_flags(src.msg) |
                                                              SMTPC_MESSAGE_REQUIRETLS) != 0))) {
            cli_report("message", smtpc_message_error(src.msg));
            rc = cli_exit_code(smtpc_message_error(src.msg));
        }
        if (rc == 0) {
            size_t n = smtpc_message_envelope_rcpts(src.msg, NULL, 0);
            const char **table = calloc(n ? n : 1, sizeof *table);
            if (!table)
                rc = out_of_memory();
            else
                smtpc_message_envelope_rcpts(src.msg, table, n);
            for (size_t i = 0; rc == 0 && i < n; i++)
                rc = strlist_add_unique(&rcpts, table[i]) ? out_of_memory() : 0;
            free(table);
            if (!from)
                from = smtpc_message_from_address(src.msg);
        }
        if (rc == 0 && (smtpc_message_size(src.msg, &size) != 0 ||
                        (flags = smtpc_message_mail_flags(src.msg)) < 0)) {
            cli_report("message", smtpc_message_error(src.msg));
            rc = cli_exit_code(smtpc_message_error(src.msg));
        }
    }
    if (rc == 0 && rcpts.n == 0)
        rc = usage_error(o->read_recipients ? "no recipients in the arguments nor in To, Cc, Bcc"
                                            : "no recipients (give addresses, or -t)");
    if (rc == 0 && !from)
        rc = usage_error("no sender: give -f, --from, from in the config, or a From header");
    /* The envelope takes the bare address: "Name <a@b>" gives a@b, and
     * "<>" the null reverse-path (bounces). */
    char *env_from = NULL;
    if (rc == 0)
        rc = envelope_sender(from, &env_from);
    from = env_from;
    if (rc == 0 && o->dry_run) {
        rc = dry_run(&src, from, &rcpts);
        if (rc < 0) {
            if (src.msg_rc) {
                cli_report("message", smtpc_message_error(src.msg));
                rc = cli_exit_code(smtpc_message_error(src.msg));
            } else {
                fputs("smtpc: cannot read the spooled message\n", stderr);
                rc = EX_IOERR;
            }
        }
    } else if (rc == 0) {
        if (!k.set.host)
            rc = usage_error("no server: give --host, SMTPC_HOST or host in the config");
        if (rc == 0)
            rc = get_password(&k);
        /* The same NOTIFY for every recipient. */
        int *notes = NULL;
        if (rc == 0 && notify && !(notes = calloc(rcpts.n, sizeof *notes)))
            rc = out_of_memory();
        for (size_t i = 0; notes && i < rcpts.n; i++)
            notes[i] = notify;
        smtpc_dsn dsn = {ret, o->dsn_envid, notes, NULL};
        int want_dsn = notify || ret || o->dsn_envid;
        if (rc == 0)
            rc = send_mail(o, &k, &src, from, &rcpts, size, flags, want_dsn ? &dsn : NULL);
        free(notes);
    }
    free(env_from);
    strlist_free(&rcpts);
    cli_raw_free(&raw);
    smtpc_message_free(src.msg);
    smtpc_dkim_free(dkim); /* after the message that borrowed it */
    smtpc_tls_config_free(k.tls);
    cli_free_secret(k.password);
    cli_settings_free(&k.set);
    return rc;
}

int main(int argc, char **argv)
{
    cli_options o;
    int rc = cli_parse_args(argc, argv, &o);
    if (rc == 0)
        rc = run(&o);
    cli_options_free(&o);
    return rc == CLI_EXIT_DONE ? 0 : rc;
}
