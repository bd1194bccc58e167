/* The text between bodies: the top header block, boundaries and part
 * headers. Each step is regenerated on demand into a window (see
 * header_encode.h), so nothing here is stored. */
#include <stdio.h>
#include <string.h>

#include "header_encode.h"
#include "message_internal.h"

/* Fixed top headers, in this order, then the extra headers, then
 * MIME-Version. */
#define H_DATE 0
#define H_FROM 1
#define H_REPLY_TO 2
#define H_TO 3
#define H_CC 4
#define H_SUBJECT 5
#define H_MESSAGE_ID 6
#define H_FIXED 7

static int utf8_mode(const smtpc_message *msg)
{
    return (msg->flags & SMTPC_MESSAGE_SMTPUTF8) != 0;
}

static void addr_list(smtpc_message *msg, smtpc_hsink *s, const char *name,
                      const smtpc_msg_addr *a)
{
    if (!a)
        return;
    smtpc_hfold f;
    smtpc_hfold_begin(&f, s, name, utf8_mode(msg));
    for (; a; a = a->next) {
        smtpc_hfold_mailbox(&f, a->addr, a->name);
        if (a->next)
            smtpc_hfold_token(&f, "", 0, ",", 1);
    }
    smtpc_hfold_end(&f);
}

/* The id-right of a generated Message-ID: the From domain when it can go
 * in a msg-id as is. */
static const char *id_domain(const smtpc_message *msg)
{
    const char *at = strrchr(msg->from->addr, '@');
    size_t n = at ? strlen(++at) : 0;
    if (!at || n > 200 || smtpc_has_8bit(at, n))
        return "smtpc.invalid";
    return at;
}

int smtpc_msg_gen_header(smtpc_message *msg, size_t h, smtpc_hsink *s)
{
    size_t n_sigs = smtpc_msg_dkim_count(msg);
    if (h < n_sigs) {
        smtpc_msg_dkim_header(msg, h, s);
        return 1;
    }
    h -= n_sigs;
    /* Every header but the address lists is a name and a value, either
     * unstructured text or one token. */
    const char *name, *value;
    int text = 0;
    char id[300];
    switch (h) {
    case H_DATE:
        name = "Date";
        value = msg->date ? msg->date : msg->gen_date;
        break;
    case H_FROM:
    case H_REPLY_TO:
    case H_TO:
    case H_CC: {
        /* The four address headers from one table: name and list. */
        static const char names[] = "From\0Reply-To\0To\0Cc";
        static const unsigned char at[] = {0, 5, 14, 17};
        static const unsigned char list[] = {0, SMTPC_LIST_REPLY_TO, SMTPC_LIST_TO,
                                             SMTPC_LIST_CC};
        h -= H_FROM;
        addr_list(msg, s, names + at[h], h ? msg->lists[list[h]] : msg->from);
        return 1;
    }
    case H_SUBJECT:
        if (!msg->subject)
            return 1;
        name = "Subject";
        value = msg->subject;
        text = 1;
        break;
    case H_MESSAGE_ID:
        name = "Message-ID";
        value = msg->message_id;
        if (!value) {
            snprintf(id, sizeof id, "<%s@%s>", msg->rand_id, id_domain(msg));
            value = id;
        }
        break;
    default: {
        /* The extra headers, then MIME-Version. */
        h -= H_FIXED;
        if (h > msg->n_headers)
            return 0;
        if (h == msg->n_headers) {
            name = "MIME-Version";
            value = "1.0";
            break;
        }
        const smtpc_msg_header *x = smtpc_msg_extra_header(msg, h);
        name = x->name;
        value = x->value;
        text = 1;
        break;
    }
    }
    smtpc_hfold f;
    smtpc_hfold_begin(&f, s, name, text && utf8_mode(msg));
    if (text)
        smtpc_hfold_unstructured(&f, value, strlen(value));
    else
        smtpc_hfold_tokstr(&f, " ", value);
    smtpc_hfold_end(&f);
    return 1;
}

size_t smtpc_msg_header_steps(const smtpc_message *msg)
{
    return smtpc_msg_dkim_count(msg) + H_FIXED + msg->n_headers + 1;
}

/* The start of a delimiter line of multipart k, with the CRLF before it
 * (RFC 2046 5.1.1): out + 4 is the boundary itself. */
static void boundary(const smtpc_message *msg, size_t k, char *out, size_t cap)
{
    snprintf(out, cap, "\r\n--=_smtpc%u.%s", (unsigned)(k + 1), msg->rand_boundary);
}

/* The headers of multipart k, then its empty preamble and first
 * delimiter. */
static void multipart_open(smtpc_message *msg, size_t k, smtpc_hsink *s)
{
    static const char *const kinds[] = {"multipart/mixed", "multipart/related",
                                        "multipart/alternative"};
    char b[64];
    boundary(msg, k, b, sizeof b);
    smtpc_hfold f;
    smtpc_hfold_begin(&f, s, "Content-Type", 0);
    smtpc_hfold_tokstr(&f, " ", kinds[msg->mp[k].kind]);
    smtpc_hfold_param_quoted(&f, "boundary", b + 4);
    smtpc_hfold_end(&f);
    smtpc_hsink_str(s, b); /* the CRLF that ends the header block, then "--" */
    smtpc_hsink_str(s, "\r\n");
}

static void leaf_headers(smtpc_message *msg, const smtpc_msg_part *p, smtpc_hsink *s)
{
    static const char *const encs[] = {"7bit", "8bit",
                                         /* else never chosen: message_analyze.c */
                                         SMTPC_HAVE_QUOTED_PRINTABLE ? "quoted-printable" : "",
                                         "base64",
#if SMTPC_HAVE_CHUNKING /* else never chosen: message_analyze.c */
                                         "binary"
#endif
    };
    int utf8 = utf8_mode(msg);
    smtpc_hfold f;
    smtpc_hfold_begin(&f, s, "Content-Type", 0);
    if (p->role == SMTPC_ROLE_TEXT || p->role == SMTPC_ROLE_HTML) {
        smtpc_hfold_tokstr(&f, " ", p->role == SMTPC_ROLE_HTML ? "text/html" : "text/plain");
        smtpc_hfold_token(&f, "", 0, ";", 1);
        smtpc_hfold_tokstr(&f, " ", "charset=utf-8");
    } else {
        smtpc_hfold_tokstr(&f, " ", p->content_type);
        if (p->filename) {
            f.utf8 = utf8;
            /* Raw UTF-8 only when it fits one line and cannot read as an
             * encoded word; else encoded, which SMTPUTF8 readers take too.
             * (Without header encoding both ways write it quoted: a name
             * that is not simple was refused when it was set.) */
            if (SMTPC_HAVE_HEADER_ENCODING && utf8 &&
                smtpc_param_is_simple_utf8("name", p->filename))
                smtpc_hfold_param_quoted(&f, "name", p->filename);
            else
                smtpc_hfold_param_2047(&f, "name", p->filename);
        }
    }
    smtpc_hfold_end(&f);
    smtpc_hsink_str(s, "Content-Transfer-Encoding: ");
    smtpc_hsink_str(s, encs[p->enc]);
    smtpc_hsink_str(s, "\r\n");
    if (p->role == SMTPC_ROLE_INLINE || p->role == SMTPC_ROLE_ATTACHMENT) {
        smtpc_hfold_begin(&f, s, "Content-Disposition", utf8);
        smtpc_hfold_tokstr(&f, " ", p->role == SMTPC_ROLE_INLINE ? "inline" : "attachment");
        if (p->filename) {
            if (SMTPC_HAVE_HEADER_ENCODING && utf8 &&
                smtpc_param_is_simple_utf8("filename", p->filename))
                smtpc_hfold_param_quoted(&f, "filename", p->filename);
            else
                smtpc_hfold_param_2231(&f, "filename", p->filename);
        }
        smtpc_hfold_end(&f);
    }
    if (p->content_id) {
        smtpc_hsink_str(s, "Content-ID: <");
        smtpc_hsink_str(s, p->content_id);
        smtpc_hsink_str(s, ">\r\n");
    }
    smtpc_hsink_str(s, "\r\n");
}

static void delimiter(const smtpc_message *msg, size_t k, smtpc_hsink *s, int close)
{
    char b[64];
    boundary(msg, k, b, sizeof b);
    smtpc_hsink_str(s, b);
    smtpc_hsink_str(s, close ? "--" : "\r\n");
}

void smtpc_msg_gen_pre(smtpc_message *msg, size_t i, smtpc_hsink *s)
{
    if (i == 0) {
        /* The top header block ends with the root's content headers; every
         * multipart opens here, outermost first, with an empty preamble. */
        for (size_t k = 0; k < msg->n_mp; k++)
            multipart_open(msg, k, s);
    } else {
        /* The CRLF before a delimiter belongs to it (RFC 2046 5.1.1), so
         * the body before keeps its own last line break, or lack of one. */
        size_t k = 0; /* multiparts still open: nested, so a prefix */
        while (k < msg->n_mp && msg->mp[k].last >= i - 1)
            k++;
        while (k > 0 && msg->mp[k - 1].last == i - 1) {
            delimiter(msg, k - 1, s, 1);
            k--;
        }
        delimiter(msg, k - 1, s, 0);
    }
    leaf_headers(msg, smtpc_msg_leaf(msg, i), s);
}

void smtpc_msg_gen_post(smtpc_message *msg, smtpc_hsink *s)
{
    for (size_t k = msg->n_mp; k > 0; k--)
        if (msg->mp[k - 1].last == msg->n_leaves - 1)
            delimiter(msg, k - 1, s, 1);
    if (msg->n_mp > 0 || !smtpc_msg_leaf(msg, 0)->ends_crlf)
        smtpc_hsink_str(s, "\r\n");
}
