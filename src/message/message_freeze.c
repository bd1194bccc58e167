/* Freezing: everything the bytes depend on is decided once, before the
 * first byte, so that size() is exact and a rewind reproduces the output. */
#include <string.h>

#include "header_encode.h"
#include "message_internal.h"
#include "port.h"
#include "smtpc/engine.h"

/* 16 random bytes as 32 lowercase hex digits and a NUL. */
static void to_hex(const uint8_t *in, char *out)
{
    for (size_t i = 0; i < 32; i++) {
        unsigned v = (in[i / 2] >> (i & 1 ? 0 : 4)) & 15;
        out[i] = (char)(v < 10 ? '0' + v : 'a' - 10 + v);
    }
    out[32] = '\0';
}

const smtpc_msg_addr *smtpc_msg_utf8_addr(const smtpc_message *msg)
{
    if (msg->from && msg->from->utf8)
        return msg->from;
    for (int l = 0; l < SMTPC_LIST_COUNT; l++)
        for (const smtpc_msg_addr *a = msg->lists[l]; a; a = a->next)
            if (a->utf8 && l != SMTPC_LIST_BCC)
                return a;
    return NULL;
}

#if SMTPC_HAVE_HEADER_ENCODING
static int str8(const char *s)
{
    return s && smtpc_has_8bit(s, strlen(s));
}
#endif

/* Raw UTF-8 will appear in the headers (SMTPUTF8 mode only). */
static int headers_8bit(smtpc_message *msg)
{
    if (!(msg->flags & SMTPC_MESSAGE_SMTPUTF8))
        return 0;
    if (smtpc_msg_utf8_addr(msg))
        return 1;
    /* Without header encoding no header text with 8-bit bytes was taken
     * (such text was refused when it was set): only UTF-8 addresses. */
#if SMTPC_HAVE_HEADER_ENCODING
    int any = str8(msg->subject) || (msg->from && str8(msg->from->name));
    for (int l = 0; l < SMTPC_LIST_COUNT; l++)
        for (smtpc_msg_addr *a = msg->lists[l]; a; a = a->next)
            if (l != SMTPC_LIST_BCC)
                any |= str8(a->name);
    for (smtpc_msg_header *h = msg->headers; h; h = h->next)
        any |= str8(h->value);
    return any;
#else
    return 0;
#endif
}

static int check_utf8_addrs(smtpc_message *msg)
{
    if (msg->flags & SMTPC_MESSAGE_SMTPUTF8)
        return 0;
    const smtpc_msg_addr *a = smtpc_msg_utf8_addr(msg);
    if (!a)
        return 0;
    /* With the server known, say whose limit it is. */
    const char *server = msg->server_caps >= 0 ? ", which the server does not offer" : "";
    if (a == msg->from)
        return smtpc_msg_fail(msg, SMTPC_EUTF8, "UTF-8 From address needs SMTPUTF8%s", server);
    return smtpc_msg_fail(msg, SMTPC_EUTF8, "UTF-8 address %.200s needs SMTPUTF8%s", a->addr,
                          server);
}

int smtpc_msg_freeze(smtpc_message *msg)
{
    if (msg->frozen)
        return 0;
    if (!msg->from)
        return smtpc_msg_fail(msg, SMTPC_EHEADER, "the message has no From");
    msg->flags = smtpc_msg_effective_flags(msg);
    int rc = check_utf8_addrs(msg);
    if (rc)
        return rc;
    if (!msg->date && !msg->have_date) {
        int64_t now = 0;
        int off = 0;
        if (!msg->clock)
            return smtpc_msg_fail(msg, SMTPC_ENOTSUP,
                                  "no wall clock for the Date header (smtpc was built without "
                                  "the POSIX port): smtpc_message_set_clock or "
                                  "smtpc_message_set_date");
        if (msg->clock(msg->clock_user, &now, &off) != 0)
            return smtpc_msg_fail(msg, SMTPC_ESOURCE, "the clock failed");
        if (smtpc_msg_format_date(now, off, msg->gen_date, sizeof msg->gen_date) != 0)
            return smtpc_msg_fail(msg, SMTPC_ESOURCE,
                                  "the clock's date is not in the years 1900 to 9999");
        msg->have_date = 1;
    }

    /* The simplest tree that holds the parts: see message.h. Every multipart
     * begins at leaf 0, outermost first. */
    size_t nb = (msg->text != NULL) + (msg->html != NULL);
    size_t ni = msg->n_inlines, na = msg->n_attachments;
    if (nb + ni + na == 0)
        nb = 1; /* the empty text body */
    msg->n_leaves = nb + ni + na;
    msg->n_mp = 0;
    /* Mixed (attachments), related (inlines), alternative (text and HTML),
     * outermost first: each wraps its own parts and what lies below, when
     * that makes at least two. */
    const size_t count[] = {na, ni, nb};
    size_t below = msg->n_leaves;
    for (int kind = SMTPC_MP_MIXED; kind <= SMTPC_MP_ALTERNATIVE; kind++) {
        size_t c = count[kind];
        below -= c;
        if (c > 0 && (below > 0) + c >= 2) {
            msg->mp[msg->n_mp].kind = kind;
            msg->mp[msg->n_mp++].last = below + c - 1;
        }
    }
    /* Uniqueness, not secrecy: the Message-ID and the boundaries. A message
     * with its own Message-ID and one part needs no random source. */
    if (!msg->have_random && (!msg->message_id || msg->n_mp > 0)) {
        if (!msg->random)
            return smtpc_msg_fail(msg, SMTPC_ENOTSUP,
                                  "no random source for the Message-ID and MIME boundaries "
                                  "(smtpc was built without the POSIX port): "
                                  "smtpc_message_set_random");
        uint8_t r[32];
        int rrc = msg->random(msg->random_user, r, sizeof r);
        if (rrc != 0)
            return smtpc_msg_fail(msg, SMTPC_ESOURCE, "the random source failed");
        to_hex(r, msg->rand_id);
        to_hex(r + 16, msg->rand_boundary);
        msg->have_random = 1;
    }
    for (smtpc_msg_part *p = smtpc_msg_next_leaf(msg, NULL); p; p = smtpc_msg_next_leaf(msg, p))
        smtpc_msg_choose_encoding(msg, p);
    msg->hdr8 = headers_8bit(msg);
    msg->frozen = 1;
    return 0;
}

int smtpc_message_mail_flags(smtpc_message *msg)
{
    if (!msg)
        return SMTPC_EINVAL;
    int rc = smtpc_msg_freeze(msg);
    if (rc)
        return smtpc_msg_result(msg, rc);
    int flags = 0;
    for (const smtpc_msg_part *p = smtpc_msg_next_leaf(msg, NULL); p;
         p = smtpc_msg_next_leaf(msg, p))
        if (p->enc == SMTPC_ENC_8BIT)
            flags |= SMTPC_MAIL_8BITMIME;
        else if (SMTPC_HAVE_CHUNKING && p->enc == SMTPC_ENC_BINARY)
            flags |= SMTPC_MAIL_BINARYMIME;
    if (msg->hdr8)
        flags |= SMTPC_MAIL_8BITMIME;
    /* These two message flags have the values of their MAIL flags. */
    _Static_assert(SMTPC_MESSAGE_SMTPUTF8 == SMTPC_MAIL_SMTPUTF8 &&
                       SMTPC_MESSAGE_REQUIRETLS == SMTPC_MAIL_REQUIRETLS,
                   "message and MAIL flags differ");
    return flags | (msg->flags & (SMTPC_MESSAGE_SMTPUTF8 | SMTPC_MESSAGE_REQUIRETLS));
}
