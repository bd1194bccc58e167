/* The message builder's insides, shared by src/message*.c and
 * src/client_message.c. */
#ifndef SMTPC_MESSAGE_INTERNAL_H
#define SMTPC_MESSAGE_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "quoted_printable.h"
#include "smtpc/message.h"

/* Staging buffer for headers and boundaries (a window of each is generated
 * at a time) and for callers reading in small chunks. Larger than any
 * single step needs: a base64 line is 78 bytes, a QP token 6. */
#define SMTPC_MSG_WORK 2048
/* Source bytes per refill of a base64 part: whole 57-byte lines. */
#define SMTPC_MSG_RAW (57 * 72)

/* Limits on what the builder accepts. */
#define SMTPC_MSG_TEXT_MAX 16384   /* subject, extra header value */
#define SMTPC_MSG_NAME_MAX 1024    /* display name */
#define SMTPC_MSG_FILENAME_MAX 255
#define SMTPC_MSG_HNAME_MAX 76     /* extra header name */
#define SMTPC_MSG_ID_MAX 250       /* Message-ID, Content-ID */
/* Largest part source: its base64 form (78 octets per 57 bytes) still fits
 * in the int64_t sizes. Memory sources are held to a quarter of INT64_MAX
 * (quoted-printable can triple a byte and add soft breaks). Larger sizes
 * give SMTPC_ETOOLONG when the part is added. */
#define SMTPC_MSG_SOURCE_MAX ((uint64_t)INT64_MAX / 78 * 57)
#define SMTPC_MSG_MEM_MAX ((uint64_t)INT64_MAX / 4)

/* Address lists; the envelope's (To, Cc, Bcc) come first, in that order. */
#define SMTPC_LIST_TO 0
#define SMTPC_LIST_CC 1
#define SMTPC_LIST_BCC 2
#define SMTPC_LIST_REPLY_TO 3
#define SMTPC_LIST_COUNT 4

typedef struct smtpc_msg_addr {
    struct smtpc_msg_addr *next;
    char *addr;
    char *name; /* NULL: none */
    int utf8;   /* non-ASCII address (needs SMTPUTF8) */
} smtpc_msg_addr;

typedef struct smtpc_msg_header {
    struct smtpc_msg_header *next;
    char *name;
    char *value;
} smtpc_msg_header;

/* Part sources. */
#define SMTPC_SRC_MEM 0
#define SMTPC_SRC_FILE 1
#define SMTPC_SRC_READER 2

typedef struct smtpc_msg_source {
    int kind;
    const uint8_t *data; /* SMTPC_SRC_MEM: borrowed, or == owned */
    size_t len;
    uint8_t *owned;      /* copy made for SMTPC_MEM_COPY (len bytes) */
    char *path;          /* SMTPC_SRC_FILE */
    int fd;              /* open while the part is being read, else -1 */
    smtpc_read_fn read;
    smtpc_message_rewind_fn rewind;
    void *user;
    int64_t size;        /* exact byte count, -1 unknown */
    /* read state */
    uint64_t pos;        /* bytes delivered so far */
    int started;
} smtpc_msg_source;

/* Part roles. */
#define SMTPC_ROLE_TEXT 0
#define SMTPC_ROLE_HTML 1
#define SMTPC_ROLE_INLINE 2
#define SMTPC_ROLE_ATTACHMENT 3

/* Transfer encodings. */
#define SMTPC_ENC_7BIT 0
#define SMTPC_ENC_8BIT 1
#define SMTPC_ENC_QP 2
#define SMTPC_ENC_BASE64 3
#define SMTPC_ENC_BINARY 4 /* SMTPC_MESSAGE_BINARYMIME: the bytes as they are */

typedef struct smtpc_msg_part {
    struct smtpc_msg_part *next;
    int role;
    char *filename;     /* NULL: none */
    char *content_type; /* NULL for bodies (text/plain, text/html) */
    char *content_id;   /* inline parts */
    smtpc_msg_source src;
    /* chosen when the message is frozen */
    int enc;
    int64_t enc_size;   /* bytes of encoded body, -1 unknown */
    int ends_crlf;      /* encoded body is empty or ends with CRLF */
} smtpc_msg_part;

/* Multipart kinds. */
#define SMTPC_MP_MIXED 0
#define SMTPC_MP_RELATED 1
#define SMTPC_MP_ALTERNATIVE 2

/* Walk phases. */
#define SMTPC_PH_HEADERS 0
#define SMTPC_PH_PRE 1  /* boundaries and headers before leaf i */
#define SMTPC_PH_BODY 2
#define SMTPC_PH_POST 3 /* closing boundaries */
#define SMTPC_PH_DONE 4

struct smtpc_message {
    /* The fields used most come first: Thumb's short loads and stores reach
     * only the first 124 bytes of a structure (2 bytes an access instead of
     * 4 on Cortex-M). */
    smtpc_allocator alloc;
    int flags;
    smtpc_msg_addr *from;
    /* Here rather than with their kin, as measured in the firmware image:
     * they are accessed in more places than the fields they pushed past the
     * short reach (text_off, further down, goes in pairs of words, whose
     * loads and stores reach 1 KiB anyway). */
    smtpc_clock_fn clock;
    char *date;
    int server_caps; /* for message_send.c: see below */
    size_t n_leaves; /* frozen layout: see below */

    /* Walk. */
    int phase;
    size_t index;       /* header number or leaf */
    size_t raw_len, raw_pos;
    size_t stage_len, stage_pos;
    int err;            /* sticky until rewind */
    smtpc_msg_part *cur;

    /* Frozen layout (recomputed after any change), with n_leaves above. */
    size_t n_mp;
    int frozen;
    int hdr8; /* raw UTF-8 in headers (SMTPUTF8) */
    /* Linked-list steps taken by walks over parts and headers: the unit
     * test message_scale reads it to show that building and serializing
     * stay linear in the number of parts and headers. */
    size_t steps; /* not 64-bit: each increment would cost more code on 32-bit targets */
    /* Cursors for the walks, which go forward: looking up leaf i or extra
     * header i right after i - 1 (or i again) costs one step, not i. NULL:
     * not set (any change clears them). */
    size_t leaf_i, hdr_i;
    smtpc_msg_part *leaf_p;
    smtpc_msg_header *hdr_p;
    /* A source may have been read since the last full rewind: only then
     * does a rewind need to visit every part. */
    int sources_dirty;

    smtpc_msg_part *text, *html;
    smtpc_msg_part *inlines, *inlines_tail;
    smtpc_msg_part *attachments, *attachments_tail;
    smtpc_msg_addr *lists[SMTPC_LIST_COUNT];
    smtpc_msg_addr *list_tails[SMTPC_LIST_COUNT];
    char *message_id;
    smtpc_msg_header *headers, *headers_tail;
    size_t n_headers;
    size_t n_inlines;
    size_t n_attachments;
    void *clock_user;
    smtpc_random_fn random;
    void *random_user;
    uint64_t text_off; /* walk: bytes of the current text step already produced */
    char *subject;
    smtpc_msg_part empty_body; /* stands in when nothing was added */
    /* The frozen multiparts, outermost first (n_mp of them). */
    struct {
        int kind;
        size_t last; /* every multipart starts at leaf 0 */
    } mp[3];

    /* Fixed at the first freeze and kept: a rewound message reproduces the
     * same bytes. */
    int have_random;
    char rand_id[33];       /* Message-ID left part */
    char rand_boundary[33]; /* boundary suffix */
    int have_date;
    char gen_date[48];

    smtpc_qp qp;
    smtpc_error error; /* the last failure (smtpc_message_error) */
    /* DKIM signers and their signatures (message_dkim.c); stale after any
     * change. */
    struct smtpc_msg_dkim *dkim;
    int dkim_stale;
    /* For the sending driver (message_send.c): the flags as the caller set
     * them (flags holds those in force: see smtpc_message_set_server_caps),
     * the server's capabilities (server_caps, at the top: -1 none given),
     * and the DSN request. */
    int user_flags;
    int dsn_ret;
    char *dsn_envid;
    struct smtpc_msg_dsn_rcpt *dsn_rcpts;

    uint8_t stage[SMTPC_MSG_WORK];
    uint8_t raw[SMTPC_MSG_RAW];
};

/* message.c */
int (smtpc_msg_fail)(smtpc_message *msg, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#if SMTPC_SHORT_MESSAGES
/* Not inlined: a call passes msg as it is, where the inlined form would
 * compute &msg->error (far into the structure: a long instruction) at every
 * failure site. */
int smtpc_msg_fail_code(smtpc_message *msg, int code)
#if defined(__GNUC__)
    __attribute__((noinline))
#endif
    ;
#define smtpc_msg_fail(msg, code, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), smtpc_msg_fail_code((msg), (code)))
#endif
/* rc, making sure a failure is in the record with its code. */
int smtpc_msg_result(smtpc_message *msg, int rc);
/* The leaf after p in serialization order (the first when p is NULL; the
 * empty body when there are no parts), NULL past the last. */
smtpc_msg_part *smtpc_msg_next_leaf(smtpc_message *msg, const smtpc_msg_part *p);
/* The leaf parts in serialization order, NULL past the last: O(1) when i
 * is the last index asked or the one after it. */
smtpc_msg_part *smtpc_msg_leaf(smtpc_message *msg, size_t i);
/* Extra header i (0-based), NULL past the last; same cost as above. */
smtpc_msg_header *smtpc_msg_extra_header(smtpc_message *msg, size_t i);

/* message_freeze.c: fix Date, Message-ID, boundaries, layout, encodings. */
int smtpc_msg_freeze(smtpc_message *msg);

/* The first UTF-8 address that shows in the headers (From, then the lists
 * but Bcc; Bcc goes on the envelope only, where the engine checks it): only
 * SMTPUTF8 can carry it. NULL when none. */
const smtpc_msg_addr *smtpc_msg_utf8_addr(const smtpc_message *msg);

/* message_analyze.c: choose a part's encoding and its encoded size. */
void smtpc_msg_choose_encoding(const smtpc_message *msg, smtpc_msg_part *p);

/* message_headers.c: the text steps, into a window sink. */
struct smtpc_hsink;
/* Header number h of the top block; returns 0 past the last one. */
int smtpc_msg_gen_header(smtpc_message *msg, size_t h, struct smtpc_hsink *s);
/* How many header steps smtpc_msg_gen_header has. */
size_t smtpc_msg_header_steps(const smtpc_message *msg);
/* What goes before leaf i (boundaries, multipart and part headers). */
void smtpc_msg_gen_pre(smtpc_message *msg, size_t i, struct smtpc_hsink *s);
/* What follows the last leaf. */
void smtpc_msg_gen_post(smtpc_message *msg, struct smtpc_hsink *s);

/* message_source.c */
int smtpc_msg_source_read(smtpc_message *msg, smtpc_msg_source *src, uint8_t *buf, size_t cap,
                          size_t *got);
void smtpc_msg_source_close(smtpc_msg_source *src);
/* A file source is still a regular file of its declared size (stat, so it
 * never blocks): 0 or SMTPC_EFILE. Other sources: 0. */
int smtpc_msg_source_check(smtpc_message *msg, const smtpc_msg_source *src);
int smtpc_msg_source_rewind(smtpc_message *msg, smtpc_msg_source *src);
#if !SMTPC_HAVE_FILE_SOURCES
/* -Dfile_sources=disabled: no source is a file, so there is nothing to
 * close or check, and no code for it. */
#define smtpc_msg_source_close(src) ((void)(src))
#define smtpc_msg_source_check(msg, src) ((void)(msg), (void)(src), 0)
#endif

/* message_body.c: encoded bytes of the current leaf. *done is set when the
 * part has produced everything. Needs cap >= SMTPC_BASE64_LINE_OUT. */
void smtpc_msg_body_begin(smtpc_message *msg, smtpc_msg_part *p);
int smtpc_msg_body_produce(smtpc_message *msg, uint8_t *out, size_t cap, size_t *got,
                           int *done);

/* message_dkim.c: sign when at the start and stale (a first pass over
 * the message); the signature headers then lead the header steps. */
int smtpc_msg_dkim_prepare(smtpc_message *msg);
size_t smtpc_msg_dkim_count(const smtpc_message *msg);
void smtpc_msg_dkim_header(const smtpc_message *msg, size_t i, struct smtpc_hsink *s);
void smtpc_msg_dkim_free(smtpc_message *msg);
#if !SMTPC_HAVE_DKIM
/* -Ddkim=disabled: smtpc_message_add_dkim attaches no signer (SMTPC_ENOTSUP),
 * so there is nothing to sign, count or free, and no code for it. */
#define smtpc_msg_dkim_prepare(msg) ((void)(msg), 0)
#define smtpc_msg_dkim_count(msg) ((void)(msg), (size_t)0)
#define smtpc_msg_dkim_free(msg) ((void)(msg))
#endif
/* message_send.c */
/* The flags in force for the next freeze: the caller's, adapted to the
 * server's capabilities when they were given. */
int smtpc_msg_effective_flags(const smtpc_message *msg);
void smtpc_msg_dsn_free(smtpc_message *msg);
#if !SMTPC_HAVE_DSN
/* -Ddsn=false: smtpc_message_set_dsn and _set_rcpt_dsn store nothing
 * (SMTPC_ENOTSUP), so there is nothing to free. */
#define smtpc_msg_dsn_free(msg) ((void)(msg))
#endif

/* message_date.c: RFC 5322 date-time ("Tue, 01 Jul 2025 10:00:00 +0200"). */
int smtpc_msg_format_date(int64_t unix_time, int utc_offset_minutes, char *out, size_t cap);

#endif
