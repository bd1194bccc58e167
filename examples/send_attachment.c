/* send_attachment: an HTML mail with a plain-text alternative, a logo shown
 * inline, and a file attached, built with smtpc's streaming MIME builder.
 *
 *   send_attachment HOST PORT plain|starttls FROM TO FILE
 *
 * The file is never loaded into memory: the message streams it, base64
 * encoded, while it is sent, so a 1 GiB file costs the same few KiB of heap
 * as a small one. Envelope recipients come from the To/Cc/Bcc headers.
 */
#include <smtpc.h>

#include <stdio.h>
#include <string.h>

/* A 1x1 transparent PNG standing in for a company logo. */
static const uint8_t logo_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0xe9, 0xfa, 0xdc, 0xd8,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static const char text[] = "Hello,\n\nthe report you asked for is attached.\n\n-- \nThe team\n";
static const char html[] =
    "<html><body>\n"
    "<p><img src=\"cid:logo@example.org\" alt=\"logo\"></p>\n"
    "<p>Hello,</p><p>the report you asked for is <b>attached</b>.</p>\n"
    "</body></html>\n";

/* One line per failure: the library's own reason (which says more than
 * the code's description, and would only be repeated by it), else the
 * code's description. */
static int fail(const char *what, int rc, const char *detail)
{
    fprintf(stderr, "%s failed: %s\n", what, detail && detail[0] ? detail : smtpc_strerror(rc));
    return 1;
}

/* Every step in one place so that a failure names its step. */
static int build(smtpc_message *msg, const char *from, const char *to, const char *file)
{
    int rc;
    if ((rc = smtpc_message_set_from(msg, from, "Report Robot")))
        return fail("From", rc, smtpc_error_message(smtpc_message_error(msg)));
    if ((rc = smtpc_message_add_to(msg, to, NULL)))
        return fail("To", rc, smtpc_error_message(smtpc_message_error(msg)));
    /* Non-ASCII is fine: it is RFC 2047-encoded on the way out. */
    if ((rc = smtpc_message_set_subject(msg, "Your report \xe2\x80\x94 r\xc3\xa9sum\xc3\xa9")))
        return fail("Subject", rc, smtpc_error_message(smtpc_message_error(msg)));
    /* Both copied (SMTPC_MEM_BORROW would avoid the copy for static data). */
    if ((rc = smtpc_message_set_text(msg, text, strlen(text), SMTPC_MEM_COPY)) ||
        (rc = smtpc_message_set_html(msg, html, strlen(html), SMTPC_MEM_COPY)))
        return fail("body", rc, smtpc_error_message(smtpc_message_error(msg)));
    /* Static data may be borrowed: it outlives the message. */
    if ((rc = smtpc_message_inline_mem(msg, logo_png, sizeof logo_png, SMTPC_MEM_BORROW,
                                       "logo@example.org", "logo.png", "image/png")))
        return fail("logo", rc, smtpc_error_message(smtpc_message_error(msg)));
    /* NULL filename and type: the file's base name, type from its extension. */
    if ((rc = smtpc_message_attach_file(msg, file, NULL, NULL)))
        return fail("attachment", rc, smtpc_error_message(smtpc_message_error(msg)));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7 || (strcmp(argv[3], "plain") && strcmp(argv[3], "starttls"))) {
        fprintf(stderr, "usage: send_attachment HOST PORT plain|starttls FROM TO FILE\n");
        return 2;
    }
    smtpc_message *msg = NULL;
    smtpc_client *c = NULL;
    int status = 1;
    if (smtpc_message_new(NULL, &msg) != 0 || smtpc_client_new(NULL, &c) != 0) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    if (build(msg, argv[4], argv[5], argv[6]))
        goto out;
    int64_t size;
    if (smtpc_message_size(msg, &size) == 0)
        fprintf(stderr, "message size: %lld bytes\n", (long long)size);

    int rc = smtpc_client_set_server(c, argv[1], argv[2]);
    if (!rc)
        rc = smtpc_client_set_security(c, strcmp(argv[3], "plain") == 0
                                              ? SMTPC_SECURITY_PLAIN
                                              : SMTPC_SECURITY_STARTTLS);
    if (!rc)
        rc = smtpc_client_connect(c);
    if (rc) {
        fail("connect", rc, smtpc_error_message(smtpc_client_error(c)));
        goto out;
    }
    rc = smtpc_client_send_message(c, msg, NULL, NULL, 0);
    if (rc) {
        /* A file that could not be read shows up here as SMTPC_EFILE, with
         * the details in the message's errmsg; no partial mail is sent. */
        fail("send", rc, rc == SMTPC_EFILE || rc == SMTPC_ESOURCE ? smtpc_error_message(smtpc_message_error(msg))
                                                                   : smtpc_error_message(smtpc_client_error(c)));
        goto out;
    }
    smtpc_client_quit(c);
    printf("sent\n");
    status = 0;
out:
    smtpc_client_free(c);
    smtpc_message_free(msg);
    return status;
}
