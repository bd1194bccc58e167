/* auth_client: the AUTH end-to-end tests' driver, on the public API only.
 *
 * Connects (authenticating as part of connect), optionally sends one small
 * message, quits, and prints one JSON object per line ("connect", "send",
 * "quit") so that test_auth.py can check the outcome of each step.
 * Exit status: 0 all good, 1 the send failed, 2 connect failed, 3 usage or
 * local error.
 *
 * Usage: auth_client --port P [--host H] [--security plain|starttls|
 *          starttls-optional|tls] [--cafile PEM] [--user U]
 *          [--password PW | --token TOKEN] [--mechs NAME,NAME...]
 *          [--allow-plaintext] [--trace-file PATH] [--send] [--nonblocking]
 *
 * --nonblocking: every call in the client's non-blocking mode, finished by
 * the poll() loop of driver_common.c (issue 11).
 */
#include <smtpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_common.h"
#include "test_tcp_transport.h"

typedef struct {
    const char *host;
    const char *port;
    int security;
    const char *cafile;
    const char *user;
    const char *password;
    const char *token;
    int mechs; /* 0: leave the library's default */
    int allow_plaintext;
    const char *trace_path;
    int send;
    int nonblocking;
} options;

/* --- names --- */

typedef struct {
    int value;
    const char *name;
} named;

static const named mechanisms[] = {
    {SMTPC_AUTH_PLAIN, "PLAIN"},
    {SMTPC_AUTH_LOGIN, "LOGIN"},
    {SMTPC_AUTH_CRAM_MD5, "CRAM-MD5"},
    {SMTPC_AUTH_XOAUTH2, "XOAUTH2"},
    {SMTPC_AUTH_OAUTHBEARER, "OAUTHBEARER"},
    {SMTPC_AUTH_SCRAM_SHA_256, "SCRAM-SHA-256"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const named *table, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return table[i].value;
    return -1;
}

/* "PLAIN,SCRAM-SHA-256" -> mask; -1 on an unknown name. */
static int parse_mechs(const char *list)
{
    int mask = 0;
    while (*list) {
        size_t len = strcspn(list, ",");
        int bit = lookup(mechanisms, COUNT(mechanisms), list, len);
        if (bit < 0)
            return -1;
        mask |= bit;
        list += len;
        if (*list == ',')
            list++;
    }
    return mask;
}

/* --- output --- */

static void report(const char *event, smtpc_client *c, int rc)
{
    printf("{\"event\":");
    driver_json_string(event);
    putchar(',');
    driver_json_rc(rc);
    printf(",\"mechanism\":");
    driver_json_string(smtpc_engine_auth_mechanism(smtpc_client_engine(c)));
    printf(",\"encrypted\":%d,", smtpc_engine_is_encrypted(smtpc_client_engine(c)));
    driver_json_error_fields(smtpc_client_error(c));
    printf("}\n");
    fflush(stdout);
}

/* Every trace line goes to the file: the tests search it for secrets, so
 * nothing may be filtered on the way. */
static void trace_to_file(void *user, int direction, const char *text, size_t len)
{
    fprintf((FILE *)user, "%s%.*s\n", driver_trace_tag(direction), (int)len, text);
    fflush((FILE *)user);
}

/* --- arguments --- */

static int usage(const char *why)
{
    fprintf(stderr,
            "auth_client: %s\nusage: auth_client --port P [--host H] [--security "
            "plain|starttls|starttls-optional|tls] [--cafile PEM] [--user U] "
            "[--password PW | --token TOKEN] [--mechs NAME,...] [--allow-plaintext] "
            "[--trace-file PATH] [--send] [--nonblocking]\n",
            why);
    return 3;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->security = SMTPC_SECURITY_STARTTLS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--allow-plaintext") == 0) {
            o->allow_plaintext = 1;
            continue;
        }
        if (strcmp(a, "--send") == 0) {
            o->send = 1;
            continue;
        }
        if (strcmp(a, "--nonblocking") == 0) {
            o->nonblocking = 1;
            continue;
        }
        if (!v)
            return usage("missing value or unknown option");
        i++;
        if (strcmp(a, "--host") == 0) {
            o->host = v;
        } else if (strcmp(a, "--port") == 0) {
            o->port = v;
        } else if (strcmp(a, "--security") == 0) {
            if (driver_parse_security(v, &o->security) < 0)
                return usage("unknown --security");
        } else if (strcmp(a, "--cafile") == 0) {
            o->cafile = v;
        } else if (strcmp(a, "--user") == 0) {
            o->user = v;
        } else if (strcmp(a, "--password") == 0) {
            o->password = v;
        } else if (strcmp(a, "--token") == 0) {
            o->token = v;
        } else if (strcmp(a, "--mechs") == 0) {
            o->mechs = parse_mechs(v);
            if (o->mechs <= 0)
                return usage("unknown mechanism in --mechs");
        } else if (strcmp(a, "--trace-file") == 0) {
            o->trace_path = v;
        } else {
            return usage("unknown option");
        }
    }
    if (!o->port)
        return usage("--port is required");
    if (o->password && o->token)
        return usage("--password and --token exclude each other");
    if ((o->password || o->token) && !o->user)
        return usage("--user is required with a secret");
    return 0;
}

/* --- the run --- */

static int configure(smtpc_client *c, const options *o, smtpc_tls_config *tls, FILE *trace)
{
    int rc = smtpc_client_set_server(c, o->host, o->port);
    if (!rc)
        rc = smtpc_client_set_security(c, o->security);
    if (!rc && tls)
        rc = smtpc_client_set_tls_config(c, tls);
    if (!rc && trace)
        rc = smtpc_client_set_trace(c, trace_to_file, trace);
    if (!rc && o->password)
        rc = smtpc_client_set_credentials(c, o->user, o->password);
    if (!rc && o->token)
        rc = smtpc_client_set_oauth_token(c, o->user, o->token);
    if (!rc && o->mechs)
        rc = smtpc_client_set_auth_mechanisms(c, o->mechs);
    if (!rc && o->allow_plaintext)
        rc = smtpc_client_allow_plaintext_auth(c, 1);
    if (!rc && o->nonblocking)
        rc = smtpc_client_set_nonblocking(c, 1);
    /* Short enough that a hung exchange fails the test instead of stalling it. */
    for (int stage = 0; !rc && stage < SMTPC_TIMEOUT_COUNT; stage++)
        rc = smtpc_client_set_timeout(c, stage, 20000);
    return rc;
}

/* rc from a client call, finished by the poll loop in non-blocking mode. */
static int finish(smtpc_client *c, const options *o, driver_loop *loop, int rc)
{
    return o->nonblocking ? driver_finish(c, rc, loop) : rc;
}

static int send_one(smtpc_client *c, const options *o, driver_loop *loop)
{
    static const char body[] = "From: sender@example.org\r\n"
                               "To: rcpt@example.org\r\n"
                               "Subject: auth test\r\n"
                               "\r\n"
                               "Sent after AUTH.\r\n";
    const char *rcpts[] = {"rcpt@example.org"};
    int rc = finish(c, o, loop,
                    smtpc_client_send(c, "sender@example.org", rcpts, 1,
                                      (const uint8_t *)body, sizeof body - 1));
    report("send", c, rc);
    return rc;
}

static int run(const options *o, smtpc_tls_config *tls, FILE *trace)
{
    smtpc_client *c = NULL;
    if (smtpc_client_new(NULL, &c) != 0) {
        fprintf(stderr, "auth_client: out of memory\n");
        return 3;
    }
    int rc = configure(c, o, tls, trace);
    if (rc) {
        fprintf(stderr, "auth_client: settings refused: %s\n", smtpc_strerror(rc));
        smtpc_client_free(c);
        return 3;
    }
    int status = 0;
    driver_loop loop = {0, 0};
    rc = test_tcp_prepare(c, o->host, o->port, 20000);
    if (rc == 0)
        rc = finish(c, o, &loop, smtpc_client_connect(c));
    report("connect", c, rc);
    if (rc) {
        status = 2;
    } else {
        if (o->send && send_one(c, o, &loop) != 0)
            status = 1;
        report("quit", c, finish(c, o, &loop, smtpc_client_quit(c)));
    }
    if (o->nonblocking)
        driver_json_loop(&loop);
    smtpc_client_free(c);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;

    smtpc_tls_config *tls = NULL;
    if (o.cafile) {
        rc = smtpc_tls_config_new(NULL, &tls);
        if (!rc)
            rc = smtpc_tls_config_add_ca_file(tls, o.cafile);
        if (rc) {
            fprintf(stderr, "auth_client: TLS configuration: %s %s\n", smtpc_strerror(rc),
                    tls ? smtpc_error_message(smtpc_tls_config_error(tls)) : "");
            smtpc_tls_config_free(tls);
            return 3;
        }
    }
    FILE *trace = NULL;
    if (o.trace_path) {
        trace = fopen(o.trace_path, "w");
        if (!trace) {
            perror(o.trace_path);
            smtpc_tls_config_free(tls);
            return 3;
        }
    }
    int status = run(&o, tls, trace);
    if (trace)
        fclose(trace);
    smtpc_tls_config_free(tls);
    return status;
}
