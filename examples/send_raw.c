/* send_raw: send one ready-made RFC 5322 message with smtpc.
 *
 *   send_raw HOST PORT plain|starttls FROM RCPT [RCPT...]
 *
 * The message lives in memory as raw text (headers, blank line, body). The
 * library takes care of the SMTP side: dot-stuffing, CRLF line ends, SIZE
 * and 8BITMIME declarations, per-recipient replies.
 *
 * "starttls" requires the server to offer STARTTLS and verifies its
 * certificate; "plain" never encrypts and is meant for a local test server.
 */
#include <smtpc.h>

#include <stdio.h>
#include <string.h>

static const char message[] =
    "From: Example Sender <sender@example.org>\r\n"
    "To: undisclosed-recipients:;\r\n"
    "Subject: Hello from smtpc\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "This message was sent by the smtpc send_raw example.\r\n"
    ".\r\n"
    "The line above is a single dot; it arrives intact.\r\n";

/* Show the conversation on stderr so a failure can be understood. */
static void trace(void *user, int direction, const char *text, size_t len)
{
    (void)user;
    const char *tag = "--";
    if (direction == SMTPC_TRACE_SEND)
        tag = "C:";
    else if (direction == SMTPC_TRACE_RECV)
        tag = "S:";
    fprintf(stderr, "%s %.*s\n", tag, (int)len, text);
}

/* One line: the error record's message says what failed and why, and
 * quotes the server's reply when there was one; the reply is added only
 * when the message does not carry it already. */
static void print_error(const char *what, const smtpc_client *c)
{
    const smtpc_error *err = smtpc_client_error(c);
    const char *message = smtpc_error_message(err);
    char head[48];
    snprintf(head, sizeof head, "%s", smtpc_error_reply_text(err));
    if (smtpc_error_reply_code(err) != 0 && !strstr(message, head))
        fprintf(stderr, "%s failed: %s (server said %d %s %s)\n", what, message,
                smtpc_error_reply_code(err), smtpc_error_enhanced(err),
                smtpc_error_reply_text(err));
    else
        fprintf(stderr, "%s failed: %s\n", what, message);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT plain|starttls FROM RCPT [RCPT...]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *mode = argv[3], *from = argv[4];
    const char *const *rcpts = (const char *const *)&argv[5];
    size_t n_rcpts = (size_t)(argc - 5);

    int security;
    if (strcmp(mode, "plain") == 0)
        security = SMTPC_SECURITY_PLAIN;
    else if (strcmp(mode, "starttls") == 0)
        security = SMTPC_SECURITY_STARTTLS;
    else {
        fprintf(stderr, "mode must be plain or starttls\n");
        return 2;
    }

    /* NULL allocator: plain malloc/free. */
    smtpc_client *c = NULL;
    if (smtpc_client_new(NULL, &c) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    smtpc_client_set_server(c, host, port);
    smtpc_client_set_security(c, security);
    smtpc_client_set_timeout(c, SMTPC_TIMEOUT_CONNECT, 10000);
    smtpc_client_set_trace(c, trace, NULL);

    int status = 1;
    if (smtpc_client_connect(c) != SMTPC_OK) {
        print_error("connect", c);
        goto out;
    }

    int rc = smtpc_client_send(c, from, rcpts, n_rcpts, (const uint8_t *)message,
                               sizeof message - 1);

    /* Each recipient has its own verdict, even when the message went out. */
    const smtpc_engine *e = smtpc_client_engine(c); /* the results live there */
    for (size_t i = 0; i < smtpc_engine_rcpt_count(e); i++) {
        const char *enhanced = smtpc_engine_rcpt_enhanced(e, i);
        printf("%-24s %-8s %d %s%s%s\n", rcpts[i],
               smtpc_engine_rcpt_accepted(e, i) ? "accepted" : "refused",
               smtpc_engine_rcpt_reply_code(e, i), enhanced, enhanced[0] ? " " : "",
               smtpc_engine_rcpt_reply_text(e, i));
    }

    if (rc == SMTPC_OK) {
        printf("message accepted\n");
        status = 0;
    } else {
        print_error("send", c);
    }

    /* QUIT is a courtesy; its failure does not undo a delivered message. */
    if (smtpc_client_quit(c) != SMTPC_OK)
        print_error("quit", c);
out:
    smtpc_client_free(c);
    return status;
}
