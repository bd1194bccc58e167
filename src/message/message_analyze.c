/* Choosing a part's transfer encoding (RFC 2045 section 6) from its bytes,
 * and the exact size that encoding will produce. */
#include <string.h>

#include "base64_stream.h"
#include "message_internal.h"
#include "quoted_printable.h"

/* RFC 5322 section 2.1.1: 998 octets per line, CRLF excluded. */
#define LINE_MAX_7BIT 998

typedef struct text_stats {
    int has_8bit, has_nul;
    size_t bare_lf, bare_cr; /* line breaks that are not CRLF */
    size_t max_line;
    int boundary_like; /* a line begins with "--=_" (our boundary prefix) */
    int from_line;     /* a line begins with "From " */
    int ends_break;    /* empty, or the last byte is CR or LF */
} text_stats;

static void scan(const uint8_t *d, size_t n, text_stats *st)
{
    memset(st, 0, sizeof *st);
    size_t line = 0;
    int bol = 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (bol) {
            if (n - i >= 4 && memcmp(d + i, "--=_", 4) == 0)
                st->boundary_like = 1;
            if (n - i >= 5 && memcmp(d + i, "From ", 5) == 0)
                st->from_line = 1;
            bol = 0;
        }
        if (c == '\r' || c == '\n') {
            if (c == '\r') {
                if (i + 1 < n && d[i + 1] == '\n')
                    i++;
                else
                    st->bare_cr++;
            } else {
                st->bare_lf++;
            }
            if (line > st->max_line)
                st->max_line = line;
            line = 0;
            bol = 1;
            continue;
        }
        if (c >= 0x80)
            st->has_8bit = 1;
        else if (c == 0)
            st->has_nul = 1;
        line++;
    }
    if (line > st->max_line)
        st->max_line = line;
    st->ends_break = n == 0 || d[n - 1] == '\r' || d[n - 1] == '\n';
}

/* type: never NULL, every added part has one (part_meta). */
static int is_text_type(const char *type)
{
    return strncmp(type, "text/", 5) == 0;
}

/* With BINARYMIME an attachment or inline part that would be base64 goes
 * byte for byte: a third smaller on the wire and no encoding work. */
static void binary_if_allowed(const smtpc_message *msg, smtpc_msg_part *p, int body)
{
    /* -Dchunking=false: the flag is refused (smtpc_message_set_flags). */
    if (!SMTPC_HAVE_CHUNKING || body || !(msg->flags & SMTPC_MESSAGE_BINARYMIME))
        return;
    p->enc = SMTPC_ENC_BINARY;
    p->enc_size = p->src.size;
}

void smtpc_msg_choose_encoding(const smtpc_message *msg, smtpc_msg_part *p)
{
    const smtpc_msg_source *src = &p->src;
    int body = p->role == SMTPC_ROLE_TEXT || p->role == SMTPC_ROLE_HTML;
    p->enc = SMTPC_ENC_BASE64;
    p->enc_size = src->size < 0 ? -1 : (int64_t)smtpc_base64_encoded_size((uint64_t)src->size);
    p->ends_crlf = 1;
    /* File and callback contents are unknown until sent: base64 is safe for
     * any bytes and its size is known from the byte count alone. */
    if (src->kind != SMTPC_SRC_MEM || (!body && !is_text_type(p->content_type))) {
        binary_if_allowed(msg, p, body);
        return;
    }
    text_stats st;
    scan(src->data, src->len, &st);
    int escape_from = (msg->flags & SMTPC_MESSAGE_ESCAPE_FROM) != 0;
    int plain_ok = !st.has_nul && st.max_line <= LINE_MAX_7BIT && !st.boundary_like &&
                   !(escape_from && st.from_line);
    /* An attachment must arrive byte for byte: 7bit only when it is
     * already in canonical form, else base64 (or binary). Bodies are text:
     * line breaks become CRLF whatever they were, and 8-bit goes as is
     * where the message allows it. */
    int as_is = plain_ok && (body ? !st.has_8bit || (msg->flags & SMTPC_MESSAGE_8BITMIME)
                                  : !st.has_8bit && st.bare_cr == 0 && st.bare_lf == 0);
    if (as_is) {
        p->enc = st.has_8bit ? SMTPC_ENC_8BIT : SMTPC_ENC_7BIT;
        /* In 64 bits: with a 32-bit size_t the sum could wrap. */
        p->enc_size = (int64_t)((uint64_t)src->len + st.bare_cr + st.bare_lf);
        p->ends_crlf = st.ends_break;
        return;
    }
    if (!body) {
        binary_if_allowed(msg, p, body);
        return;
    }
#if SMTPC_HAVE_QUOTED_PRINTABLE /* else base64, chosen above */
    if (st.has_nul)
        return;
    uint64_t qp = smtpc_qp_encoded_size(src->data, src->len, escape_from);
    /* Quoted-printable stays readable: keep it unless clearly bigger. */
    if (qp <= (uint64_t)p->enc_size + (uint64_t)p->enc_size / 4 + 64) {
        p->enc = SMTPC_ENC_QP;
        p->enc_size = (int64_t)qp;
        p->ends_crlf = st.ends_break;
    }
#endif
}
