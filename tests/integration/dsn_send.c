/* dsn_send: sends one message built with the message builder through
 * smtpc_client_send_message, with the DSN request, REQUIRETLS and the
 * server-aware encoding of issue 10, and prints JSON events (connect,
 * message, quit) like smtpc_send. Public API only.
 *
 * Usage: dsn_send --host H --port P [--security plain|starttls|tls]
 *          [--cafile PEM] [--insecure] --from ADDR --to ADDR...
 *          [--subject TEXT] [--text-file FILE]
 *          [--ret full|hdrs] [--envid ID] [--notify ADDR|*=never|s,f,d]
 *          [--orcpt ADDR=ORIGINAL] [--requiretls] [--allow-no-dsn]
 *          [--timeout-ms MS] [--trace]
 * --notify *=... sets the default for every recipient; s, f and d stand for
 * SUCCESS, FAILURE and DELAY. Exit status: 0 sent, 1 the message failed,
 * 2 connect failed, 3 usage or local error. */
#include <smtpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_common.h"
#include "test_tcp_transport.h"

#define MAX_RCPTS 16

typedef struct {
    const char *host, *port, *cafile, *from, *subject, *text_file, *envid;
    const char *to[MAX_RCPTS];
    size_t n_to;
    const char *notify[MAX_RCPTS], *orcpt[MAX_RCPTS];
    size_t n_notify, n_orcpt;
    int security, insecure, ret, requiretls, allow_no_dsn, timeout_ms, trace;
} options;

static void trace_line(void *user, int direction, const char *text, size_t len)
{
    (void)user;
    fprintf(stderr, "%s%.*s\n", driver_trace_tag(direction), (int)len, text);
}

static int usage(const char *why)
{
    fprintf(stderr, "dsn_send: %s (see the comment at the top of dsn_send.c)\n", why);
    return 3;
}

static int parse_args(int argc, char **argv, options *o)
{
    o->security = SMTPC_SECURITY_PLAIN;
    o->timeout_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--insecure") == 0) {
            o->insecure = 1;
        } else if (strcmp(a, "--requiretls") == 0) {
            o->requiretls = 1;
        } else if (strcmp(a, "--allow-no-dsn") == 0) {
            o->allow_no_dsn = 1;
        } else if (strcmp(a, "--trace") == 0) {
            o->trace = 1;
        } else if (!v) {
            return usage("option without a value");
        } else {
            i++;
            if (strcmp(a, "--host") == 0)
                o->host = v;
            else if (strcmp(a, "--port") == 0)
                o->port = v;
            else if (strcmp(a, "--security") == 0) {
                if (driver_parse_security(v, &o->security))
                    return usage("bad --security");
            } else if (strcmp(a, "--cafile") == 0)
                o->cafile = v;
            else if (strcmp(a, "--from") == 0)
                o->from = v;
            else if (strcmp(a, "--subject") == 0)
                o->subject = v;
            else if (strcmp(a, "--text-file") == 0)
                o->text_file = v;
            else if (strcmp(a, "--envid") == 0)
                o->envid = v;
            else if (strcmp(a, "--timeout-ms") == 0)
                o->timeout_ms = atoi(v);
            else if (strcmp(a, "--ret") == 0)
                o->ret = strcmp(v, "full") == 0 ? SMTPC_DSN_RET_FULL
                         : strcmp(v, "hdrs") == 0 ? SMTPC_DSN_RET_HDRS
                                                  : 0;
            else if (strcmp(a, "--to") == 0 && o->n_to < MAX_RCPTS)
                o->to[o->n_to++] = v;
            else if (strcmp(a, "--notify") == 0 && o->n_notify < MAX_RCPTS)
                o->notify[o->n_notify++] = v;
            else if (strcmp(a, "--orcpt") == 0 && o->n_orcpt < MAX_RCPTS)
                o->orcpt[o->n_orcpt++] = v;
            else
                return usage(a);
        }
    }
    if (!o->host || !o->port || !o->from || !o->n_to)
        return usage("--host, --port, --from and --to are required");
    return 0;
}

static int notify_mask(const char *list)
{
    if (strcmp(list, "never") == 0)
        return SMTPC_NOTIFY_NEVER;
    int mask = 0;
    for (const char *p = list; *p; p++)
        mask |= *p == 's' ? SMTPC_NOTIFY_SUCCESS
                : *p == 'f' ? SMTPC_NOTIFY_FAILURE
                : *p == 'd' ? SMTPC_NOTIFY_DELAY
                            : 0;
    return mask;
}

/* "addr=value" split in place into a copy; NULL addr for "*". */
static int split(const char *arg, char *buf, size_t cap, const char **addr, const char **value)
{
    snprintf(buf, cap, "%s", arg);
    char *eq = strchr(buf, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    *addr = strcmp(buf, "*") == 0 ? NULL : buf;
    *value = eq + 1;
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            char *more = realloc(data, cap = cap * 2 + 4096);
            if (!more)
                break;
            data = more;
        }
        size_t got = fread(data + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    return data;
}

static int build(smtpc_message *m, const options *o, char **text)
{
    int rc = smtpc_message_set_from(m, o->from, NULL);
    for (size_t i = 0; rc == 0 && i < o->n_to; i++)
        rc = smtpc_message_add_to(m, o->to[i], NULL);
    if (rc == 0 && o->subject)
        rc = smtpc_message_set_subject(m, o->subject);
    if (rc == 0 && o->text_file) {
        size_t len = 0;
        if (!(*text = read_file(o->text_file, &len)))
            return SMTPC_EFILE;
        rc = smtpc_message_set_text(m, *text, len, SMTPC_MEM_BORROW);
    }
    if (rc == 0 && o->requiretls)
        rc = smtpc_message_set_flags(m, SMTPC_MESSAGE_REQUIRETLS);
    if (rc == 0 && (o->ret || o->envid))
        rc = smtpc_message_set_dsn(m, o->ret, o->envid);
    char buf[600];
    for (size_t i = 0; rc == 0 && i < o->n_notify; i++) {
        const char *addr, *value;
        if (split(o->notify[i], buf, sizeof buf, &addr, &value))
            return SMTPC_EINVAL;
        int prev = 0;
        const char *orcpt = NULL;
        smtpc_message_rcpt_dsn(m, addr, &prev, &orcpt);
        rc = smtpc_message_set_rcpt_dsn(m, addr, notify_mask(value), addr ? orcpt : NULL);
    }
    for (size_t i = 0; rc == 0 && i < o->n_orcpt; i++) {
        const char *addr, *value;
        if (split(o->orcpt[i], buf, sizeof buf, &addr, &value) || !addr)
            return SMTPC_EINVAL;
        int notify = 0;
        smtpc_message_rcpt_dsn(m, addr, &notify, NULL);
        rc = smtpc_message_set_rcpt_dsn(m, addr, notify, value);
    }
    return rc;
}

static void json_result(const smtpc_error *err, int rc)
{
    driver_json_rc(rc);
    printf(",\"error\":{\"code\":%d,\"name\":", smtpc_error_code(err));
    driver_json_string(driver_code_name(smtpc_error_code(err)));
    putchar(',');
    driver_json_error_fields(err);
    putchar('}');
}

static int run(smtpc_client *c, smtpc_message *m, const options *o)
{
    if (smtpc_client_set_server(c, o->host, o->port) || smtpc_client_set_security(c, o->security) ||
        smtpc_client_allow_no_dsn(c, o->allow_no_dsn) ||
        (o->trace && smtpc_client_set_trace(c, trace_line, NULL)))
        return usage(smtpc_error_message(smtpc_client_error(c)));
    for (int stage = 0; stage < SMTPC_TIMEOUT_COUNT; stage++)
        smtpc_client_set_timeout(c, stage, o->timeout_ms);
    int rc = test_tcp_prepare(c, o->host, o->port, o->timeout_ms);
    if (rc == 0)
        rc = smtpc_client_connect(c);
    smtpc_engine *e = smtpc_client_engine(c);
    printf("{\"event\":\"connect\",");
    json_result(smtpc_client_error(c), rc);
    printf(",\"capabilities\":%d,\"encrypted\":%d,\"verified\":%d}\n",
           smtpc_engine_capabilities(e), smtpc_engine_is_encrypted(e),
           smtpc_engine_tls_verified(e));
    fflush(stdout);
    if (rc)
        return 2;
    rc = smtpc_client_send_message(c, m, NULL, NULL, 0);
    printf("{\"event\":\"message\",\"ok\":%d,\"message_status\":%d,\"mail_flags\":%d,", rc == 0,
           smtpc_engine_message_status(e), rc == 0 ? smtpc_message_mail_flags(m) : -1);
    json_result(smtpc_client_error(c), rc);
    printf("}\n");
    /* The session must still be usable after a refusal before MAIL. */
    int quit = smtpc_client_quit(c);
    printf("{\"event\":\"quit\",");
    json_result(smtpc_client_error(c), quit);
    printf("}\n");
    return rc ? 1 : quit ? 1 : 0;
}

int main(int argc, char **argv)
{
    static options o;
    if (parse_args(argc, argv, &o))
        return 3;
    smtpc_tls_config *tls = NULL;
    smtpc_client *c = NULL;
    smtpc_message *m = NULL;
    char *text = NULL;
    int status = 3;
    if (smtpc_message_new(NULL, &m) || smtpc_client_new(NULL, &c)) {
        fprintf(stderr, "dsn_send: out of memory\n");
        goto out;
    }
    int rc = build(m, &o, &text);
    if (rc) {
        fprintf(stderr, "dsn_send: message: %s (%s)\n", smtpc_strerror(rc),
                smtpc_error_message(smtpc_message_error(m)));
        goto out;
    }
    if (o.cafile || o.insecure) {
        if (smtpc_tls_config_new(NULL, &tls) ||
            (o.cafile && smtpc_tls_config_add_ca_file(tls, o.cafile)) ||
            (o.insecure && smtpc_tls_config_set_verify(tls, SMTPC_TLS_VERIFY_NONE))) {
            fprintf(stderr, "dsn_send: TLS setting failed\n");
            goto out;
        }
        smtpc_client_set_tls_config(c, tls);
    }
    status = run(c, m, &o);
out:
    smtpc_client_free(c);
    smtpc_tls_config_free(tls);
    smtpc_message_free(m);
    free(text);
    return status;
}
