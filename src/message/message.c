/* The message builder: what the caller adds, validated and copied. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "alloc.h"
#include "command_writer.h"
#include "header_encode.h"
#include "message_internal.h"
#include "port.h"
#include "mime_types.h"
#include "smtpc_config.h"

#if SMTPC_HAVE_FILE_SOURCES
#include <sys/stat.h>
#endif

#if SMTPC_SHORT_MESSAGES
int smtpc_msg_fail_code(smtpc_message *msg, int code)
{
    return smtpc_error_set_code(&msg->error, code);
}
#else
int (smtpc_msg_fail)(smtpc_message *msg, int code, const char *fmt, ...)
{
    char text[SMTPC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return smtpc_error_set(&msg->error, code, "%s", text);
}
#endif

int smtpc_msg_result(smtpc_message *msg, int rc)
{
    /* Internal steps name their failure; this covers any that return a
     * bare code, so the record always carries the code returned. */
    if (rc < 0 && msg->error.code != rc)
        smtpc_error_set(&msg->error, rc, "%s", smtpc_strerror(rc));
    return rc;
}

/* Any change invalidates the layout and starts the bytes over. */
static void touch(smtpc_message *msg)
{
    msg->frozen = 0;
#if SMTPC_HAVE_DKIM /* else never read */
    msg->dkim_stale = 1;
#endif
    msg->leaf_p = NULL;
    msg->hdr_p = NULL;
    int rc = smtpc_message_rewind(msg);
    if (rc)
        msg->err = rc; /* read fails until a successful rewind */
}

int smtpc_message_new(const smtpc_allocator *alloc, smtpc_message **out)
{
    if (!out)
        return SMTPC_EINVAL;
    *out = NULL;
    smtpc_allocator a;
    if (smtpc_allocator_init(&a, alloc) != SMTPC_OK)
        return SMTPC_EINVAL;
    smtpc_message *msg = smtpc_alloc(&a, sizeof *msg);
    if (!msg)
        return SMTPC_ENOMEM;
    msg->alloc = a;
    /* Zero-filled: the empty body is already an empty text part in memory
     * and the walk at its start. */
    _Static_assert(SMTPC_ROLE_TEXT == 0 && SMTPC_SRC_MEM == 0 && SMTPC_PH_HEADERS == 0,
                   "a new message relies on its zero fill");
    msg->empty_body.src.fd = -1;
    msg->server_caps = -1;
#if SMTPC_HAVE_POSIX /* else the port has no defaults: NULL, as zero-filled */
    msg->clock = SMTPC_PORT_WALL_CLOCK;
    /* The default source may allocate its working state: from our hook. */
    msg->random = SMTPC_PORT_RANDOM;
    msg->random_user = &msg->alloc;
#endif
    *out = msg;
    return 0;
}

static void free_addrs(smtpc_message *msg, smtpc_msg_addr *a)
{
    while (a) {
        smtpc_msg_addr *next = a->next;
        smtpc_strfree(&msg->alloc, a->addr);
        smtpc_strfree(&msg->alloc, a->name);
        smtpc_free(&msg->alloc, a, sizeof *a);
        a = next;
    }
}

static void free_part(smtpc_message *msg, smtpc_msg_part *p)
{
    if (!p)
        return;
    smtpc_msg_source_close(&p->src);
    smtpc_free(&msg->alloc, p->src.owned, p->src.len);
    smtpc_strfree(&msg->alloc, p->src.path);
    smtpc_strfree(&msg->alloc, p->filename);
    smtpc_strfree(&msg->alloc, p->content_type);
    smtpc_strfree(&msg->alloc, p->content_id);
    smtpc_free(&msg->alloc, p, sizeof *p);
}

void smtpc_message_free(smtpc_message *msg)
{
    if (!msg)
        return;
    /* The hook is read before the call, so the block may hold it. */
    const smtpc_allocator *a = &msg->alloc;
    free_addrs(msg, msg->from);
    for (int i = 0; i < SMTPC_LIST_COUNT; i++)
        free_addrs(msg, msg->lists[i]);
    smtpc_strfree(a, msg->subject);
    smtpc_strfree(a, msg->date);
    smtpc_strfree(a, msg->message_id);
    for (smtpc_msg_header *h = msg->headers, *next; h; h = next) {
        next = h->next;
        smtpc_strfree(a, h->name);
        smtpc_strfree(a, h->value);
        smtpc_free(a, h, sizeof *h);
    }
    /* Every part is a leaf: one walk (the next found before it is freed). */
    for (smtpc_msg_part *p = smtpc_msg_next_leaf(msg, NULL), *next; p && p != &msg->empty_body;
         p = next) {
        next = smtpc_msg_next_leaf(msg, p);
        free_part(msg, p);
    }
    smtpc_msg_dkim_free(msg);
    smtpc_msg_dsn_free(msg);
    smtpc_free(a, msg, sizeof *msg);
}

smtpc_msg_part *smtpc_msg_next_leaf(smtpc_message *msg, const smtpc_msg_part *p)
{
    if (!p) {
        if (msg->text)
            return msg->text;
        if (msg->html)
            return msg->html;
        if (msg->inlines)
            return msg->inlines;
        return msg->attachments ? msg->attachments : &msg->empty_body;
    }
    if (p == &msg->empty_body)
        return NULL;
    if (p == msg->text && msg->html)
        return msg->html;
    if (p == msg->text || p == msg->html)
        return msg->inlines ? msg->inlines : msg->attachments;
    if (p->role == SMTPC_ROLE_INLINE && !p->next)
        return msg->attachments;
    return p->next;
}

smtpc_msg_part *smtpc_msg_leaf(smtpc_message *msg, size_t i)
{
    size_t at = 0;
    smtpc_msg_part *p = smtpc_msg_next_leaf(msg, NULL);
    if (msg->leaf_p && msg->leaf_i <= i) {
        at = msg->leaf_i;
        p = msg->leaf_p;
    }
    for (; p && at < i; at++, msg->steps++)
        p = smtpc_msg_next_leaf(msg, p);
    if (p) {
        msg->leaf_i = i;
        msg->leaf_p = p;
    }
    return p;
}

smtpc_msg_header *smtpc_msg_extra_header(smtpc_message *msg, size_t i)
{
    size_t at = 0;
    smtpc_msg_header *h = msg->headers;
    if (msg->hdr_p && msg->hdr_i <= i) {
        at = msg->hdr_i;
        h = msg->hdr_p;
    }
    for (; h && at < i; at++, msg->steps++)
        h = h->next;
    if (h) {
        msg->hdr_i = i;
        msg->hdr_p = h;
    }
    return h;
}

int smtpc_message_set_flags(smtpc_message *msg, int flags)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (flags & ~(SMTPC_MESSAGE_8BITMIME | SMTPC_MESSAGE_SMTPUTF8 | SMTPC_MESSAGE_ESCAPE_FROM |
                  SMTPC_MESSAGE_REQUIRETLS | SMTPC_MESSAGE_BINARYMIME))
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "unknown message flag 0x%x", (unsigned)flags);
    if (!SMTPC_HAVE_CHUNKING && (flags & SMTPC_MESSAGE_BINARYMIME))
        return smtpc_msg_fail(msg, SMTPC_ENOTSUP,
                              "SMTPC_MESSAGE_BINARYMIME: BINARYMIME is compiled out "
                              "(-Dchunking=false)");
    msg->flags = flags;
    msg->user_flags = flags;
    touch(msg);
    return 0;
}

int smtpc_message_flags(const smtpc_message *msg)
{
    return msg ? msg->flags : 0;
}

/* Text that goes into a header: no controls, well-formed UTF-8, bounded. */
static int check_text(smtpc_message *msg, const char *what, int kind, const char *s,
                      size_t max)
{
    size_t len = strlen(s);
    if (len > max) {
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_msg_fail(msg, SMTPC_EHEADER, "%s longer than %s octets", what,
                              smtpc_fmt_size(num, max));
    }
    int rc = smtpc_header_value_check(s, len);
    if (rc == SMTPC_EBADCHAR)
        return smtpc_msg_fail(msg, rc, "%s contains CR, LF or a control character", what);
    if (rc)
        return smtpc_msg_fail(msg, rc, "%s is not valid UTF-8", what);
    if (!SMTPC_HAVE_HEADER_ENCODING && smtpc_header_needs_encoding(kind, s, len))
        return smtpc_msg_fail(msg, SMTPC_ENOTSUP,
                              "%s needs RFC 2047/2231 encoding (non-ASCII, \"=?\" or too long "
                              "to fold), which is compiled out (-Dheader_encoding=false)",
                              what);
    return 0;
}

/* Replace *slot with a copy of s (NULL clears). */
static int set_string(smtpc_message *msg, char **slot, const char *s)
{
    char *copy = NULL;
    if (s && !(copy = smtpc_strdup(&msg->alloc, s)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    smtpc_strfree(&msg->alloc, *slot);
    *slot = copy;
    touch(msg);
    return 0;
}

static int make_addr(smtpc_message *msg, const char *address, const char *display_name,
                     smtpc_msg_addr **out)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (!address)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "address is NULL");
    int utf8 = 0;
    int rc = smtpc_address_check(address, 0, &utf8);
    if (rc == SMTPC_EBADCHAR)
        return smtpc_msg_fail(msg, rc, "address contains a control character");
    if (rc == SMTPC_ENOTSUP)
        return smtpc_msg_fail(msg, rc,
                              "address literals are compiled out (-Daddress_literals=false): "
                              "%.200s",
                              address);
    if (rc)
        return smtpc_msg_fail(msg, SMTPC_EADDRESS, "invalid address: %.200s", address);
    if (display_name && (rc = check_text(msg, "display name", SMTPC_HTEXT_PHRASE, display_name,
                                         SMTPC_MSG_NAME_MAX)))
        return rc;
    smtpc_msg_addr *a = smtpc_alloc(&msg->alloc, sizeof *a);
    if (!a)
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    a->utf8 = utf8;
    if (!(a->addr = smtpc_strdup(&msg->alloc, address)) ||
        (display_name && *display_name && !(a->name = smtpc_strdup(&msg->alloc, display_name)))) {
        free_addrs(msg, a);
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    }
    *out = a;
    return 0;
}

int smtpc_message_set_from(smtpc_message *msg, const char *address, const char *display_name)
{
    smtpc_msg_addr *a = NULL;
    int rc = make_addr(msg, address, display_name, &a);
    if (rc)
        return rc;
    free_addrs(msg, msg->from);
    msg->from = a;
    touch(msg);
    return 0;
}

static int add_addr(smtpc_message *msg, int list, const char *address,
                    const char *display_name)
{
    smtpc_msg_addr *a = NULL;
    int rc = make_addr(msg, address, display_name, &a);
    if (rc)
        return rc;
    if (msg->list_tails[list])
        msg->list_tails[list]->next = a;
    else
        msg->lists[list] = a;
    msg->list_tails[list] = a;
    touch(msg);
    return 0;
}

int smtpc_message_add_to(smtpc_message *msg, const char *address, const char *display_name)
{
    return add_addr(msg, SMTPC_LIST_TO, address, display_name);
}

int smtpc_message_add_cc(smtpc_message *msg, const char *address, const char *display_name)
{
    return add_addr(msg, SMTPC_LIST_CC, address, display_name);
}

int smtpc_message_add_bcc(smtpc_message *msg, const char *address, const char *display_name)
{
    return add_addr(msg, SMTPC_LIST_BCC, address, display_name);
}

int smtpc_message_add_reply_to(smtpc_message *msg, const char *address,
                               const char *display_name)
{
    return add_addr(msg, SMTPC_LIST_REPLY_TO, address, display_name);
}

int smtpc_message_set_subject(smtpc_message *msg, const char *subject)
{
    if (!msg)
        return SMTPC_EINVAL;
    int rc;
    if (subject && (rc = check_text(msg, "subject", SMTPC_HTEXT_UNSTRUCTURED, subject,
                                    SMTPC_MSG_TEXT_MAX)))
        return rc;
    return set_string(msg, &msg->subject, subject);
}

/* Printable ASCII without spaces where nospace, bounded. */
static int printable(const char *s, size_t max, int nospace)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c > 0x7e || (nospace && c == ' '))
            return 0;
    }
    return n > 0 && n <= max;
}

int smtpc_message_set_date(smtpc_message *msg, const char *date)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (date && !printable(date, 200, 0))
        return smtpc_msg_fail(msg, strpbrk(date, "\r\n") ? SMTPC_EBADCHAR : SMTPC_EHEADER,
                              "Date must be 1..200 printable ASCII characters");
    return set_string(msg, &msg->date, date);
}

int smtpc_message_set_message_id(smtpc_message *msg, const char *message_id)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (message_id) {
        size_t n = strlen(message_id);
        if (strpbrk(message_id, "\r\n"))
            return smtpc_msg_fail(msg, SMTPC_EBADCHAR, "Message-ID contains CR or LF");
        if (!printable(message_id, SMTPC_MSG_ID_MAX, 1) || n < 5 || message_id[0] != '<' ||
            message_id[n - 1] != '>' || !strchr(message_id, '@') ||
            strpbrk(message_id + 1, "<") != NULL || strchr(message_id, '>') != message_id + n - 1)
            return smtpc_msg_fail(msg, SMTPC_EHEADER, "Message-ID must look like <left@right>");
    }
    return set_string(msg, &msg->message_id, message_id);
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int reserved_name(const char *name)
{
    static const char *const names[] = {"from", "to", "cc", "bcc", "reply-to", "subject",
                                        "date", "message-id", "mime-version"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ieq(name, names[i]))
            return 1;
    char prefix[9] = {0};
    strncpy(prefix, name, 8);
    return ieq(prefix, "content-");
}

int smtpc_message_add_header(smtpc_message *msg, const char *name, const char *value)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (!name || !value)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "header name or value is NULL");
    size_t n = strlen(name);
    /* RFC 5322 ftext: printable ASCII except ':'. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 33 || (unsigned char)name[i] > 126 || name[i] == ':')
            return smtpc_msg_fail(msg, SMTPC_EHEADER, "invalid header name");
    if (n == 0 || n > SMTPC_MSG_HNAME_MAX)
        return smtpc_msg_fail(msg, SMTPC_EHEADER, "header name must be 1..76 characters");
    if (reserved_name(name))
        return smtpc_msg_fail(msg, SMTPC_EHEADER, "%s is set by its own function", name);
    int rc =
        check_text(msg, "header value", SMTPC_HTEXT_UNSTRUCTURED, value, SMTPC_MSG_TEXT_MAX);
    if (rc)
        return rc;
    smtpc_msg_header *h = smtpc_alloc(&msg->alloc, sizeof *h);
    if (!h)
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    h->name = smtpc_strdup(&msg->alloc, name);
    h->value = smtpc_strdup(&msg->alloc, value);
    if (!h->name || !h->value) {
        smtpc_strfree(&msg->alloc, h->name);
        smtpc_strfree(&msg->alloc, h->value);
        smtpc_free(&msg->alloc, h, sizeof *h);
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    }
    if (msg->headers_tail)
        msg->headers_tail->next = h;
    else
        msg->headers = h;
    msg->headers_tail = h;
    msg->n_headers++;
    touch(msg);
    return 0;
}

int smtpc_message_set_clock(smtpc_message *msg, smtpc_clock_fn fn, void *user)
{
    if (!msg)
        return SMTPC_EINVAL;
    msg->clock = fn ? fn : SMTPC_PORT_WALL_CLOCK;
    msg->clock_user = fn ? user : NULL;
    return 0;
}

int smtpc_message_set_random(smtpc_message *msg, smtpc_random_fn fn, void *user)
{
    if (!msg)
        return SMTPC_EINVAL;
    msg->random = fn ? fn : SMTPC_PORT_RANDOM;
    msg->random_user = fn ? user : (void *)&msg->alloc;
    return 0;
}

/* --- parts --- */

static smtpc_msg_part *new_part(smtpc_message *msg, int role)
{
    smtpc_msg_part *p = smtpc_alloc(&msg->alloc, sizeof *p);
    if (p) {
        p->role = role;
        p->src.fd = -1;
        p->src.size = -1;
        p->enc_size = -1;
    }
    return p;
}

/* A function, so that a 32-bit size_t, which can never reach the limit,
 * does not make the comparison a "always false" warning. */
static int over_mem_max(uint64_t len)
{
    return len > SMTPC_MSG_MEM_MAX;
}

static int set_mem(smtpc_message *msg, smtpc_msg_part *p, const uint8_t *data, size_t len,
                   int mem_mode)
{
    if (over_mem_max(len)) {
        char num[SMTPC_FMT_INT_MAX];
        return smtpc_msg_fail(msg, SMTPC_ETOOLONG, "a %s-byte part is too large to encode",
                              smtpc_fmt_size(num, len));
    }
    p->src.kind = SMTPC_SRC_MEM;
    p->src.len = len;
    p->src.size = (int64_t)len;
    if (mem_mode == SMTPC_MEM_BORROW || len == 0) {
        p->src.data = data;
        return 0;
    }
    if (!(p->src.owned = smtpc_alloc(&msg->alloc, len)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    memcpy(p->src.owned, data, len);
    p->src.data = p->src.owned;
    return 0;
}

static int part_meta(smtpc_message *msg, smtpc_msg_part *p, const char *filename,
                     const char *content_type, const char *content_id);

/* A part over caller memory (a body when role is text or HTML, which has
 * no descriptive fields; NULL data there makes no part), validated and
 * copied into *out. */
static int mem_part(smtpc_message *msg, int role, const uint8_t *data, size_t len, int mem_mode,
                    const char *content_id, const char *filename, const char *content_type,
                    smtpc_msg_part **out)
{
    int body = role == SMTPC_ROLE_TEXT || role == SMTPC_ROLE_HTML;
    *out = NULL;
    if ((!data && len) || (mem_mode != SMTPC_MEM_COPY && mem_mode != SMTPC_MEM_BORROW))
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "%s is NULL with a length, or bad mem_mode",
                              body ? "body" : "data");
    if (body && !data)
        return 0;
    smtpc_msg_part *p = new_part(msg, role);
    if (!p)
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    int rc = part_meta(msg, p, filename, content_type, content_id);
    if (!rc)
        rc = set_mem(msg, p, data, len, mem_mode);
    if (rc) {
        free_part(msg, p);
        return rc;
    }
    *out = p;
    return 0;
}

static int set_body(smtpc_message *msg, smtpc_msg_part **slot, int role, const char *text,
                    size_t len, int mem_mode)
{
    if (!msg)
        return SMTPC_EINVAL;
    smtpc_msg_part *p;
    int rc = mem_part(msg, role, (const uint8_t *)text, len, mem_mode, NULL, NULL, NULL, &p);
    if (rc)
        return rc;
    free_part(msg, *slot);
    *slot = p;
    touch(msg);
    return 0;
}

int smtpc_message_set_text(smtpc_message *msg, const char *text, size_t len, int mem_mode)
{
    return set_body(msg, msg ? &msg->text : NULL, SMTPC_ROLE_TEXT, text, len, mem_mode);
}

int smtpc_message_set_html(smtpc_message *msg, const char *html, size_t len, int mem_mode)
{
    return set_body(msg, msg ? &msg->html : NULL, SMTPC_ROLE_HTML, html, len, mem_mode);
}

/* Validate and copy the descriptive fields shared by every added part
 * (bodies have none). */
static int part_meta(smtpc_message *msg, smtpc_msg_part *p, const char *filename,
                     const char *content_type, const char *content_id)
{
    int rc;
    if (p->role == SMTPC_ROLE_TEXT || p->role == SMTPC_ROLE_HTML)
        return 0;
    if (filename && (rc = check_text(msg, "filename", SMTPC_HTEXT_PARAM, filename,
                                     SMTPC_MSG_FILENAME_MAX)))
        return rc;
    if (content_type && !smtpc_mime_type_valid(content_type))
        return smtpc_msg_fail(msg, strpbrk(content_type, "\r\n") ? SMTPC_EBADCHAR
                                                                  : SMTPC_EHEADER,
                              "content type must be type/subtype");
    if (p->role == SMTPC_ROLE_INLINE) {
        if (!content_id)
            return smtpc_msg_fail(msg, SMTPC_EINVAL, "an inline part needs a Content-ID");
        size_t n = strlen(content_id);
        const char *id = content_id;
        if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
            id++;
            n -= 2;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)id[i];
            if (c == '\r' || c == '\n' || c == 0)
                return smtpc_msg_fail(msg, SMTPC_EBADCHAR, "Content-ID contains CR or LF");
            if (c < 0x21 || c > 0x7e || c == '<' || c == '>')
                return smtpc_msg_fail(msg, SMTPC_EHEADER, "invalid Content-ID");
        }
        if (n == 0 || n > SMTPC_MSG_ID_MAX)
            return smtpc_msg_fail(msg, SMTPC_EHEADER, "invalid Content-ID");
        if (!(p->content_id = smtpc_alloc(&msg->alloc, n + 1)))
            return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
        memcpy(p->content_id, id, n);
    }
    if (filename && *filename && !(p->filename = smtpc_strdup(&msg->alloc, filename)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    if (!content_type)
        content_type = smtpc_mime_type_guess(filename);
    if (!(p->content_type = smtpc_strdup(&msg->alloc, content_type)))
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    return 0;
}

static void link_part(smtpc_message *msg, smtpc_msg_part *p)
{
    if (p->role == SMTPC_ROLE_INLINE) {
        if (msg->inlines_tail)
            msg->inlines_tail->next = p;
        else
            msg->inlines = p;
        msg->inlines_tail = p;
        msg->n_inlines++;
    } else {
        if (msg->attachments_tail)
            msg->attachments_tail->next = p;
        else
            msg->attachments = p;
        msg->attachments_tail = p;
        msg->n_attachments++;
    }
    touch(msg);
}

static int add_mem(smtpc_message *msg, int role, const uint8_t *data, size_t len, int mem_mode,
                   const char *content_id, const char *filename, const char *content_type)
{
    if (!msg)
        return SMTPC_EINVAL;
    smtpc_msg_part *p;
    int rc = mem_part(msg, role, data, len, mem_mode, content_id, filename, content_type, &p);
    if (rc)
        return rc;
    link_part(msg, p);
    return 0;
}

#if SMTPC_HAVE_FILE_SOURCES
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int add_file(smtpc_message *msg, int role, const char *path, const char *content_id,
                    const char *filename, const char *content_type)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (!path || !*path)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "path is NULL or empty");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return smtpc_msg_fail(msg, SMTPC_EFILE, "cannot read %.200s", path);
    if ((uint64_t)st.st_size > SMTPC_MSG_SOURCE_MAX)
        return smtpc_msg_fail(msg, SMTPC_ETOOLONG, "%.200s is too large to encode", path);
    if (!filename)
        filename = base_name(path);
    smtpc_msg_part *p = new_part(msg, role);
    if (!p)
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    int rc = part_meta(msg, p, filename, content_type, content_id);
    if (!rc && !(p->src.path = smtpc_strdup(&msg->alloc, path)))
        rc = smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    if (rc) {
        free_part(msg, p);
        return rc;
    }
    p->src.kind = SMTPC_SRC_FILE;
    p->src.size = (int64_t)st.st_size;
    link_part(msg, p);
    return 0;
}
#else
static int add_file(smtpc_message *msg, int role, const char *path, const char *content_id,
                    const char *filename, const char *content_type)
{
    (void)role;
    (void)path;
    (void)content_id;
    (void)filename;
    (void)content_type;
    if (!msg)
        return SMTPC_EINVAL;
    return smtpc_msg_fail(msg, SMTPC_ENOTSUP,
                          "file sources are not in this build (-Dfile_sources=disabled): "
                          "use smtpc_message_attach_reader or smtpc_message_inline_reader");
}
#endif

static int add_reader(smtpc_message *msg, int role, smtpc_read_fn read,
                      smtpc_message_rewind_fn rewind, void *user, int64_t size,
                      const char *content_id, const char *filename, const char *content_type)
{
    if (!msg)
        return SMTPC_EINVAL;
    if (!read || size < -1)
        return smtpc_msg_fail(msg, SMTPC_EINVAL, "read callback is NULL or size below -1");
    char num[SMTPC_FMT_INT_MAX];
    if (size > 0 && (uint64_t)size > SMTPC_MSG_SOURCE_MAX)
        return smtpc_msg_fail(msg, SMTPC_ETOOLONG,
                              "declared size %s is too large to encode (base64 would "
                              "pass INT64_MAX)",
                              smtpc_fmt_i64(num, size, 1));
    smtpc_msg_part *p = new_part(msg, role);
    if (!p)
        return smtpc_msg_fail(msg, SMTPC_ENOMEM, "out of memory");
    int rc = part_meta(msg, p, filename, content_type, content_id);
    if (rc) {
        free_part(msg, p);
        return rc;
    }
    p->src.kind = SMTPC_SRC_READER;
    p->src.read = read;
    p->src.rewind = rewind;
    p->src.user = user;
    p->src.size = size;
    link_part(msg, p);
    return 0;
}

int smtpc_message_attach_mem(smtpc_message *msg, const uint8_t *data, size_t len, int mem_mode,
                             const char *filename, const char *content_type)
{
    return add_mem(msg, SMTPC_ROLE_ATTACHMENT, data, len, mem_mode, NULL, filename,
                   content_type);
}

int smtpc_message_attach_file(smtpc_message *msg, const char *path, const char *filename,
                              const char *content_type)
{
    return add_file(msg, SMTPC_ROLE_ATTACHMENT, path, NULL, filename, content_type);
}

int smtpc_message_attach_reader(smtpc_message *msg, smtpc_read_fn read,
                                smtpc_message_rewind_fn rewind, void *user, int64_t size,
                                const char *filename, const char *content_type)
{
    return add_reader(msg, SMTPC_ROLE_ATTACHMENT, read, rewind, user, size, NULL, filename,
                      content_type);
}

int smtpc_message_inline_mem(smtpc_message *msg, const uint8_t *data, size_t len, int mem_mode,
                             const char *content_id, const char *filename,
                             const char *content_type)
{
    return add_mem(msg, SMTPC_ROLE_INLINE, data, len, mem_mode, content_id, filename,
                   content_type);
}

int smtpc_message_inline_file(smtpc_message *msg, const char *path, const char *content_id,
                              const char *filename, const char *content_type)
{
    return add_file(msg, SMTPC_ROLE_INLINE, path, content_id, filename, content_type);
}

int smtpc_message_inline_reader(smtpc_message *msg, smtpc_read_fn read,
                                smtpc_message_rewind_fn rewind, void *user, int64_t size,
                                const char *content_id, const char *filename,
                                const char *content_type)
{
    return add_reader(msg, SMTPC_ROLE_INLINE, read, rewind, user, size, content_id, filename,
                      content_type);
}

const char *smtpc_message_from_address(const smtpc_message *msg)
{
    return msg && msg->from ? msg->from->addr : NULL;
}

size_t smtpc_message_envelope_rcpts(const smtpc_message *msg, const char **table, size_t cap)
{
    if (!msg)
        return 0;
    /* To, Cc and Bcc are the first three lists (message_internal.h). */
    size_t total = 0;
    for (int l = SMTPC_LIST_TO; l <= SMTPC_LIST_BCC; l++)
        for (const smtpc_msg_addr *a = msg->lists[l]; a; a = a->next) {
            if (table && total < cap)
                table[total] = a->addr;
            total++;
        }
    return total;
}

const smtpc_error *smtpc_message_error(const smtpc_message *msg)
{
    return msg ? &msg->error : NULL;
}
