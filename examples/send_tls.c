/* send_tls: send one message over an encrypted, verified connection.
 *
 *   send_tls [options] HOST PORT FROM RCPT [RCPT...]
 *
 * Options:
 *   --implicit       TLS from the first byte (port 465) instead of STARTTLS
 *   --cafile FILE    trust only the CA certificates in FILE (a private CA)
 *                    instead of the system bundle
 *   --attach FILE    attach FILE instead of the small built-in CSV
 *   --raw            send a ready-made RFC 5322 text instead of a MIME message
 *   -v               show the whole SMTP conversation (secrets redacted)
 *
 * Credentials come from the environment, never from the command line (where
 * any user could read them in the process list):
 *   SMTPC_USER, SMTPC_PASSWORD    when both are set, the client authenticates
 *                                 with the strongest mechanism both sides know
 *
 * The server certificate is always verified: chain, dates and host name
 * (for an address literal such as 127.0.0.1, the certificate's IP SAN).
 * With STARTTLS the connection fails unless the server offers it, and
 * credentials are never sent before TLS is up.
 *
 * Exit status: 0 when the server accepted the message for at least one
 * recipient, 1 on failure, 2 on a usage error.
 */
#include <smtpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: send_tls [--implicit] [--cafile FILE] [--attach FILE] [--raw] [-v]\n"
    "                HOST PORT FROM RCPT [RCPT...]\n"
    "credentials: SMTPC_USER and SMTPC_PASSWORD in the environment\n";

/* The MIME message's text body and its built-in attachment. */
static const char text_body[] =
    "Hello,\n"
    "\n"
    "this message travelled over TLS, sent by the smtpc send_tls example,\n"
    "with one file attached.\n";
static const char csv[] = "month,messages\n"
                          "January,1200\n"
                          "February,1350\n";

/* The --raw message: headers, blank line, body. Line ends may be LF; the
 * library turns them into CRLF and dot-stuffs the body on the way out. */
static const char raw_message[] = "From: smtpc example <%s>\n"
                                  "To: undisclosed-recipients:;\n"
                                  "Subject: Hello over TLS\n"
                                  "MIME-Version: 1.0\n"
                                  "Content-Type: text/plain; charset=us-ascii\n"
                                  "\n"
                                  "This raw message was sent by the smtpc send_tls example.\n";

struct options {
    int security;
    int raw;
    int verbose;
    const char *cafile;
    const char *attach;
    const char *host, *port, *from;
    const char *const *rcpts;
    size_t n_rcpts;
};

/* Library notes (the TLS session, warnings) always; the conversation with -v. */
static void trace(void *user, int direction, const char *text, size_t len)
{
    const struct options *o = user;
    if (direction == SMTPC_TRACE_INFO)
        fprintf(stderr, "-- %.*s\n", (int)len, text);
    else if (o->verbose)
        fprintf(stderr, "%s %.*s\n", direction == SMTPC_TRACE_SEND ? "C:" : "S:", (int)len,
                text);
}

/* Whether text holds the start of the server's reply text (the message
 * quotes a reply, possibly cut). */
static int quotes_reply(const char *text, const smtpc_error *err)
{
    char head[48];
    snprintf(head, sizeof head, "%s", smtpc_error_reply_text(err));
    return strstr(text, head) != NULL;
}

/* Print a failure on one line: the error record's message already says
 * what failed and why, and quotes the server's reply when there was one
 * (smtpc_strerror's text for the code would only repeat it). The reply is
 * added only if the message does not carry it. */
static void print_error(const char *what, const smtpc_error *err)
{
    const char *message = smtpc_error_message(err);
    int code = smtpc_error_reply_code(err);
    if (code != 0 && !quotes_reply(message, err))
        fprintf(stderr, "%s failed: %s (server replied %d %s%s%s)%s\n", what, message, code,
                smtpc_error_enhanced(err), smtpc_error_enhanced(err)[0] ? " " : "",
                smtpc_error_reply_text(err),
                smtpc_error_is_temporary(err) ? " (temporary: retry later)" : "");
    else
        fprintf(stderr, "%s failed: %s%s\n", what, message,
                smtpc_error_is_temporary(err) ? " (temporary: retry later)" : "");
}

/* A setting's or the message's own reason, else the code's description. */
static const char *reason(int rc, const char *detail)
{
    return detail && detail[0] ? detail : smtpc_strerror(rc);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    int i = 1;
    o->security = SMTPC_SECURITY_STARTTLS;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--implicit") == 0)
            o->security = SMTPC_SECURITY_IMPLICIT_TLS;
        else if (strcmp(argv[i], "--raw") == 0)
            o->raw = 1;
        else if (strcmp(argv[i], "-v") == 0)
            o->verbose = 1;
        else if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc)
            o->cafile = argv[++i];
        else if (strcmp(argv[i], "--attach") == 0 && i + 1 < argc)
            o->attach = argv[++i];
        else
            return -1;
    }
    if (argc - i < 4 || (o->raw && o->attach))
        return -1;
    o->host = argv[i];
    o->port = argv[i + 1];
    o->from = argv[i + 2];
    o->rcpts = (const char *const *)&argv[i + 3];
    o->n_rcpts = (size_t)(argc - i - 3);
    return 0;
}

/* The MIME message: a text body and one attachment. The builder streams it
 * while sending, so even a large --attach file costs a few KiB of heap. */
static int build_message(smtpc_message *msg, const struct options *o)
{
    int rc = smtpc_message_set_from(msg, o->from, "smtpc example");
    for (size_t i = 0; rc == 0 && i < o->n_rcpts; i++)
        rc = smtpc_message_add_to(msg, o->rcpts[i], NULL);
    if (rc == 0)
        rc = smtpc_message_set_subject(msg, "Hello over TLS, with an attachment");
    /* Static text can be borrowed instead of copied: it outlives msg. */
    if (rc == 0)
        rc = smtpc_message_set_text(msg, text_body, strlen(text_body), SMTPC_MEM_BORROW);
    if (rc == 0 && o->attach)
        /* NULL name and type: the file's base name, the type from its extension. */
        rc = smtpc_message_attach_file(msg, o->attach, NULL, NULL);
    else if (rc == 0)
        rc = smtpc_message_attach_mem(msg, (const uint8_t *)csv, strlen(csv), SMTPC_MEM_BORROW,
                                      "figures.csv", "text/csv");
    if (rc != 0)
        fprintf(stderr, "building the message failed: %s\n",
                reason(rc, smtpc_error_message(smtpc_message_error(msg))));
    return rc;
}

/* Send the message, the MIME one or the raw text. */
static int send_it(smtpc_client *c, smtpc_message *msg, const struct options *o)
{
    if (!o->raw)
        /* Envelope recipients: the ones given (NULL, 0 would take To/Cc/Bcc). */
        return smtpc_client_send_message(c, msg, NULL, o->rcpts, o->n_rcpts);

    char body[sizeof raw_message + 256];
    int n = snprintf(body, sizeof body, raw_message, o->from);
    if (n < 0 || (size_t)n >= sizeof body) {
        fprintf(stderr, "sender address too long for this example\n");
        return SMTPC_ETOOLONG;
    }
    return smtpc_client_send(c, o->from, o->rcpts, o->n_rcpts, (const uint8_t *)body,
                             (size_t)n);
}

int main(int argc, char **argv)
{
    struct options o = {0};
    if (parse_args(argc, argv, &o) != 0) {
        fputs(usage, stderr);
        return 2;
    }

    smtpc_tls_config *tls = NULL;
    smtpc_message *msg = NULL;
    smtpc_client *c = NULL;
    int status = 1, rc;

    /* TLS: verification is on by default. With --cafile only that CA is
     * trusted (the first anchor added replaces the system bundle). */
    if (o.cafile) {
        rc = smtpc_tls_config_new(NULL, &tls);
        if (rc == 0)
            rc = smtpc_tls_config_add_ca_file(tls, o.cafile);
        if (rc != 0) {
            fprintf(stderr, "loading %s failed: %s\n", o.cafile,
                    reason(rc, tls ? smtpc_error_message(smtpc_tls_config_error(tls)) : NULL));
            goto out;
        }
    }

    /* NULL allocator: malloc/free. */
    if (smtpc_client_new(NULL, &c) != 0 || (!o.raw && smtpc_message_new(NULL, &msg) != 0)) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    if (msg && build_message(msg, &o) != 0)
        goto out;

    /* Settings: each returns 0 or an SMTPC_E* code (EINVAL, EBADCHAR, ...). */
    rc = smtpc_client_set_server(c, o.host, o.port);
    if (rc == 0)
        rc = smtpc_client_set_security(c, o.security);
    if (rc == 0)
        rc = smtpc_client_set_timeout(c, SMTPC_TIMEOUT_CONNECT, 10000);
    if (rc == 0)
        rc = smtpc_client_set_trace(c, trace, &o);
    if (rc == 0 && tls)
        rc = smtpc_client_set_tls_config(c, tls); /* borrowed: freed after c */

    const char *user = getenv("SMTPC_USER"), *password = getenv("SMTPC_PASSWORD");
    if (rc == 0 && user && password)
        rc = smtpc_client_set_credentials(c, user, password); /* copied, zeroed on free */
    if (rc != 0) {
        print_error("configuration", smtpc_client_error(c));
        goto out;
    }

    /* Connect, greeting, EHLO, STARTTLS (or implicit TLS), EHLO again, AUTH. */
    if (smtpc_client_connect(c) != 0) {
        print_error("connect", smtpc_client_error(c));
        goto out;
    }
    /* Session facts and per-recipient results are the engine's. */
    const smtpc_engine *e = smtpc_client_engine(c);
    const char *mech = smtpc_engine_auth_mechanism(e);
    printf("connected to %s:%s, %s, authenticated: %s\n", o.host, o.port,
           smtpc_engine_is_encrypted(e) ? "encrypted" : "NOT encrypted",
           mech[0] ? mech : "no (no credentials given)");

    rc = send_it(c, msg, &o);

    /* Each recipient has its own verdict, whether or not the message went. */
    for (size_t i = 0; i < smtpc_engine_rcpt_count(e); i++) {
        const char *enhanced = smtpc_engine_rcpt_enhanced(e, i);
        int code = smtpc_engine_rcpt_reply_code(e, i); /* 0: never asked (MAIL refused) */
        if (code == 0)
            printf("  %-28s not tried\n", o.rcpts[i]);
        else
            printf("  %-28s %-8s %d %s%s%s\n", o.rcpts[i],
                   smtpc_engine_rcpt_accepted(e, i) ? "accepted" : "refused", code, enhanced,
                   enhanced[0] ? " " : "", smtpc_engine_rcpt_reply_text(e, i));
    }

    if (rc == 0) {
        printf("message accepted\n");
        status = 0;
    } else if (rc == SMTPC_EFILE || rc == SMTPC_ESOURCE) {
        /* The message itself failed (an unreadable --attach file, say): the
         * details are on the message, and nothing half-sent is delivered. */
        fprintf(stderr, "send failed: %s\n", reason(rc, smtpc_error_message(smtpc_message_error(msg))));
    } else {
        print_error("send", smtpc_client_error(c));
        if (smtpc_engine_message_status(e) == SMTPC_MESSAGE_UNKNOWN)
            fprintf(stderr, "  the message may or may not have been delivered\n");
    }

    /* QUIT is a courtesy: its failure does not undo an accepted message. */
    if (smtpc_client_connected(c) && smtpc_client_quit(c) != 0)
        print_error("quit", smtpc_client_error(c));
out:
    smtpc_client_free(c);
    smtpc_message_free(msg);
    smtpc_tls_config_free(tls); /* after every client that used it */
    return status;
}
