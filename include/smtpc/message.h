/* smtpc — the streaming MIME message builder.
 * The conventions at the top of <smtpc.h> (ownership, return codes, the
 * error record, threads, callbacks, strings) apply to every call here.
 * SPDX-License-Identifier: MIT
 *
 * Build a message (headers, text and HTML bodies, inline parts, attachments),
 * then pull its final RFC 5322 bytes with smtpc_message_read in chunks of any
 * size. Memory is fixed when the message is created (plus a small record per
 * header, recipient and part added): it never grows with content size, so a
 * 1 GiB attachment costs the same heap as a 1 KiB one.
 *
 * Structure: the simplest tree that holds what was added.
 *   text only or HTML only        a single part
 *   text + HTML                   multipart/alternative
 *   + inline parts (Content-ID)   multipart/related around the above
 *   + attachments                 multipart/mixed around the above
 * A message with no body gets an empty text/plain one.
 *
 * Encodings, chosen per part when the message is first read or sized:
 *   text and HTML bodies (UTF-8, any line endings, sent as CRLF):
 *     7bit when ASCII with lines of at most 998 octets; 8bit when the content
 *     is non-ASCII and SMTPC_MESSAGE_8BITMIME is set; else quoted-printable,
 *     or base64 when that is shorter (mostly non-Latin text) or the text has
 *     NUL bytes.
 *   attachments and inline parts: base64, except a text part from memory
 *     that is already canonical 7bit (ASCII, CRLF line ends, short lines),
 *     and binary with SMTPC_MESSAGE_BINARYMIME. Their bytes arrive exactly
 *     as given.
 *
 * Header rules:
 *   - Non-ASCII header text (Subject, display names, extra header values) is
 *     RFC 2047-encoded (UTF-8, B or Q, whichever is shorter; encoded-words
 *     of at most 75 characters that never split a UTF-8 sequence), unless
 *     SMTPC_MESSAGE_SMTPUTF8 is set, in which case UTF-8 is written as is.
 *   - ASCII display names are written as atoms when they can be, else as a
 *     quoted-string.
 *   - Non-ASCII or long filenames use RFC 2231 (filename*) in
 *     Content-Disposition, and an RFC 2047-encoded name= in Content-Type for
 *     older readers.
 *   - Text containing "=?" (which a reader could take for an encoded-word)
 *     is always encoded itself: RFC 2047 in Subject, display names and
 *     extra headers, RFC 2231 in filenames, so every reader gets it back
 *     literally.
 *   - Lines are folded at whitespace to stay within 78 characters wherever
 *     a fold point exists and never exceed 998. A run of spaces or tabs
 *     holds one fold at most (RFC 5322), so a value whose runs cannot fit
 *     that way is RFC 2047-encoded instead (display names too: a reader
 *     may then show such a run as one space).
 *   - CR, LF or any other control character except TAB in a header value,
 *     display name, subject or filename is REFUSED with SMTPC_EBADCHAR: a
 *     value can never start a new header. Malformed UTF-8 gives
 *     SMTPC_EHEADER.
 *
 * Boundaries are "=_smtpcN." followed by 32 random hex digits. Base64 and
 * quoted-printable output can never contain "=_" ('=' is base64 padding at
 * the end of a line, and in quoted-printable always precedes two hex digits
 * or a line break), and a 7bit/8bit part that has a line beginning with
 * "--=_" is sent quoted-printable instead, so no boundary occurs in content.
 */
#ifndef SMTPC_MESSAGE_H
#define SMTPC_MESSAGE_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smtpc_message smtpc_message;

/* Message flags (smtpc_message_set_flags), OR-ed. */
/* The server takes 8BITMIME: non-ASCII text bodies may go 8bit. Sending the
 * message then needs BODY=8BITMIME (smtpc_client_send_message does this). */
#define SMTPC_MESSAGE_8BITMIME 0x1
/* SMTPUTF8 is in use (RFC 6531/6532): headers carry raw UTF-8 instead of
 * RFC 2047 encoded-words, and UTF-8 addresses are allowed in headers. */
#define SMTPC_MESSAGE_SMTPUTF8 0x2
/* Quoted-printable encodes the 'F' of a line beginning with "From " (as =46)
 * and a text body with such a line is never sent 7bit/8bit, so mbox
 * delivery cannot mangle it into ">From ". */
#define SMTPC_MESSAGE_ESCAPE_FROM 0x4
/* REQUIRETLS (RFC 8689): the message may travel only over verified TLS.
 * smtpc_message_mail_flags then includes SMTPC_MAIL_REQUIRETLS, and
 * smtpc_client_send_message fails with SMTPC_EREQUIRETLS, before MAIL, on
 * a session that is not verified TLS to a server offering REQUIRETLS. */
#define SMTPC_MESSAGE_REQUIRETLS 0x100

/* The server takes BINARYMIME and CHUNKING (RFC 3030): attachments and
 * inline parts that would be base64 go byte for byte with
 * "Content-Transfer-Encoding: binary" (a third smaller, no encoding work);
 * the size stays exact. Sending the message then needs BODY=BINARYMIME and
 * BDAT (smtpc_message_mail_flags gives SMTPC_MAIL_BINARYMIME). The client
 * sets this for the send when the server offers both (see
 * smtpc_client_set_binarymime); set it yourself only for such a server.
 * Built with -Dchunking=false, smtpc_message_set_flags refuses this flag
 * with SMTPC_ENOTSUP (the flags stay as they were). */
#define SMTPC_MESSAGE_BINARYMIME 0x8

/* Ownership of memory given to *_mem functions. */
#define SMTPC_MEM_COPY 0   /* copied now: the caller's buffer may go at once */
#define SMTPC_MEM_BORROW 1 /* borrowed: the buffer must stay valid and unchanged
                            * until the message is freed */

/* Restart a source from its first byte; return 0, or non-zero when it
 * cannot. */
typedef int (*smtpc_message_rewind_fn)(void *user);
/* Current time: seconds since 1970-01-01 UTC in *unix_time and the local
 * offset from UTC in minutes (e.g. 120 for +0200) in *utc_offset_minutes.
 * Return 0, or non-zero when no clock is available. */
typedef int (*smtpc_clock_fn)(void *user, int64_t *unix_time, int *utc_offset_minutes);

/* Create an empty message. Returns 0, SMTPC_EINVAL or SMTPC_ENOMEM. */
SMTPC_API int smtpc_message_new(const smtpc_allocator *alloc, smtpc_message **out);
/* Free the message and everything it copied; open files are closed. Borrowed
 * buffers and callback users are not touched. */
SMTPC_API void smtpc_message_free(smtpc_message *msg);

/* --- settings ------------------------------------------------------------
 * Any change rewinds the message (the next read starts at byte 0).
 * Common errors: SMTPC_EINVAL (NULL where not allowed), SMTPC_ENOMEM,
 * SMTPC_EBADCHAR (CR, LF or a control character), SMTPC_EHEADER (malformed
 * UTF-8 or a value over its limit), SMTPC_EADDRESS (address is not a valid
 * RFC 5321 mailbox; display names go separately, never "Name <a@b>"),
 * SMTPC_ENOTSUP (an address literal, "user@[192.0.2.1]", in a build
 * without them: -Daddress_literals=false). */

/* SMTPC_MESSAGE_* flags; replaces the previous set. Default 0. */
SMTPC_API int smtpc_message_set_flags(smtpc_message *msg, int flags);
/* The flags last set (smtpc_message_set_flags); 0 for msg NULL. */
SMTPC_API int smtpc_message_flags(const smtpc_message *msg);

/* The From mailbox (one author). display_name may be NULL or "". Required:
 * reading a message without From fails with SMTPC_EHEADER. */
SMTPC_API int smtpc_message_set_from(smtpc_message *msg, const char *address,
                                     const char *display_name);
/* Append a recipient or reply address. Bcc recipients never appear in the
 * headers; they are only used as envelope recipients. */
SMTPC_API int smtpc_message_add_to(smtpc_message *msg, const char *address,
                                   const char *display_name);
SMTPC_API int smtpc_message_add_cc(smtpc_message *msg, const char *address,
                                   const char *display_name);
SMTPC_API int smtpc_message_add_bcc(smtpc_message *msg, const char *address,
                                    const char *display_name);
SMTPC_API int smtpc_message_add_reply_to(smtpc_message *msg, const char *address,
                                         const char *display_name);
/* Subject (at most 16384 octets); NULL removes it. In a build without header
 * encoding (-Dheader_encoding=false), text that would need RFC 2047
 * encoded-words (non-ASCII, "=?", a word or whitespace run too long to fold)
 * gives SMTPC_ENOTSUP here, as do such display names (the address setters),
 * extra header values and filenames (non-ASCII or not short printable
 * ASCII: RFC 2231). */
SMTPC_API int smtpc_message_set_subject(smtpc_message *msg, const char *subject);
/* Date header value, given verbatim (printable ASCII, e.g.
 * "Tue, 1 Jul 2025 10:00:00 +0200"); NULL: generated from the clock when the
 * message is first read or sized. */
SMTPC_API int smtpc_message_set_date(smtpc_message *msg, const char *date);
/* Message-ID, "<left@right>" (printable ASCII, no spaces); NULL: generated
 * ("<32 random hex digits@the From domain>") when first read or sized. */
SMTPC_API int smtpc_message_set_message_id(smtpc_message *msg, const char *message_id);
/* Append any other header. name: 1..76 printable ASCII characters other
 * than ':'; the names the builder writes itself (From, To, Cc, Bcc,
 * Reply-To, Subject, Date, Message-ID, MIME-Version, Content-*) give
 * SMTPC_EHEADER: use their setters. value is unstructured text (at most
 * 16384 octets), folded and encoded like Subject. */
SMTPC_API int smtpc_message_add_header(smtpc_message *msg, const char *name,
                                       const char *value);
/* Clock and random hooks for firmware and tests; NULL restores the default
 * (time() in UTC; the OS random source: getrandom, else /dev/urandom). Both
 * are called only when the message is first
 * read or sized: Date, Message-ID and boundaries stay fixed after that, so a
 * rewound message reproduces the same bytes. A failing hook, or a clock
 * whose local date is outside the years 1900 to 9999 (RFC 5322 has no Date
 * before 1900), makes read and size fail with SMTPC_ESOURCE. A build without the POSIX port (-Dport=none)
 * has no defaults: read and size then fail with SMTPC_ENOTSUP, naming the
 * hook, when the Date header is generated (no smtpc_message_set_date) or
 * when a Message-ID or boundary is (no smtpc_message_set_message_id, or more
 * than one part): the random bytes need only be unique. */
SMTPC_API int smtpc_message_set_clock(smtpc_message *msg, smtpc_clock_fn fn, void *user);
SMTPC_API int smtpc_message_set_random(smtpc_message *msg, smtpc_random_fn fn, void *user);

/* --- bodies -------------------------------------------------------------- */

/* The text/plain and text/html bodies (UTF-8, any line endings). mem_mode is
 * SMTPC_MEM_COPY or SMTPC_MEM_BORROW. Setting again replaces; text NULL with
 * len 0 removes the body. */
SMTPC_API int smtpc_message_set_text(smtpc_message *msg, const char *text, size_t len,
                                     int mem_mode);
SMTPC_API int smtpc_message_set_html(smtpc_message *msg, const char *html, size_t len,
                                     int mem_mode);

/* --- attachments (multipart/mixed) and inline parts (multipart/related) ---
 * filename: the name shown to the reader (UTF-8, at most 255 octets; NULL:
 * none, or the file's base name for *_file). content_type: "type/subtype"
 * (tokens only, no parameters); NULL: guessed from the filename's extension,
 * application/octet-stream when unknown (always, in a -Dmime_types=false
 * build). content_id (inline parts only): the
 * Content-ID the HTML refers to as "cid:<content_id>", printable ASCII
 * without spaces, '<' or '>', at most 250 octets.
 * Parts appear in the order added. */

/* From memory; len may be 0. */
SMTPC_API int smtpc_message_attach_mem(smtpc_message *msg, const uint8_t *data, size_t len,
                                       int mem_mode, const char *filename,
                                       const char *content_type);
/* From a file (SMTPC_ENOTSUP in a build without file sources,
 * -Dfile_sources=disabled or -Dport=none). The file is checked (stat) now, giving SMTPC_EFILE when it
 * is not a regular file, and opened (non-blocking) only while its bytes are
 * being read. Its size is taken now. smtpc_message_size and the read check
 * again that path is still a regular file of that size: one that changed
 * size, or was replaced by a FIFO, device or directory, gives SMTPC_EFILE
 * with a message naming the path and what changed (never a blocked read). */
SMTPC_API int smtpc_message_attach_file(smtpc_message *msg, const char *path,
                                        const char *filename, const char *content_type);
/* From a callback. size: the exact byte count, or -1 when unknown (then
 * smtpc_message_size reports SMTPC_ESIZEUNKNOWN); a callback that yields a
 * different count than size fails with SMTPC_ESOURCE. rewind may be NULL:
 * the message can then be read through once only (rewinding after this part
 * was started gives SMTPC_ESTATE). A size
 * whose base64 form would not fit in int64_t (over (2^63-1) / 78 * 57
 * bytes, about 6.7 EiB) gives SMTPC_ETOOLONG, as does such a file or a
 * memory part over (2^63-1) / 4 bytes. */
SMTPC_API int smtpc_message_attach_reader(smtpc_message *msg, smtpc_read_fn read,
                                          smtpc_message_rewind_fn rewind, void *user,
                                          int64_t size, const char *filename,
                                          const char *content_type);
SMTPC_API int smtpc_message_inline_mem(smtpc_message *msg, const uint8_t *data, size_t len,
                                       int mem_mode, const char *content_id,
                                       const char *filename, const char *content_type);
SMTPC_API int smtpc_message_inline_file(smtpc_message *msg, const char *path,
                                        const char *content_id, const char *filename,
                                        const char *content_type);
SMTPC_API int smtpc_message_inline_reader(smtpc_message *msg, smtpc_read_fn read,
                                          smtpc_message_rewind_fn rewind, void *user,
                                          int64_t size, const char *content_id,
                                          const char *filename, const char *content_type);

/* --- serializing --------------------------------------------------------- */

/* Produce the next bytes of the message: up to cap bytes into buf, the count
 * in *len; 0 with *len == 0 means the message is complete. Any cap >= 1
 * works and the bytes do not depend on how the message is chunked. Every
 * line ends in CRLF. The message is not dot-stuffed (the SMTP engine does
 * that). Errors: SMTPC_EINVAL, SMTPC_EHEADER (no From), SMTPC_EUTF8 (UTF-8
 * address without SMTPC_MESSAGE_SMTPUTF8), SMTPC_EFILE (file unreadable or
 * changed size), SMTPC_ESOURCE (a callback or hook failed); *len is then 0
 * and the error repeats until smtpc_message_rewind. */
SMTPC_API int smtpc_message_read(smtpc_message *msg, uint8_t *buf, size_t cap, size_t *len);
/* Start again from the first byte, rewinding callback sources (see
 * smtpc_message_attach_reader) and clearing a read error. Returns 0,
 * SMTPC_ESTATE (a started callback source has no rewind) or SMTPC_ESOURCE
 * (a rewind callback failed). */
SMTPC_API int smtpc_message_rewind(smtpc_message *msg);
/* The exact number of bytes smtpc_message_read will produce in total,
 * computed without encoding anything (it fixes Date, Message-ID and the
 * boundaries, as the first read does). Returns 0, SMTPC_ESIZEUNKNOWN when a
 * callback source's size is unknown (*size is then -1), SMTPC_ETOOLONG when
 * the total would pass INT64_MAX (the sizes are never wrapped), or the
 * errors of smtpc_message_read. Does not move the read position. */
SMTPC_API int smtpc_message_size(smtpc_message *msg, int64_t *size);
/* The SMTPC_MAIL_* flags (engine.h) a transaction carrying this message
 * needs: SMTPC_MAIL_8BITMIME when a part went 8bit or headers carry UTF-8,
 * SMTPC_MAIL_SMTPUTF8 when SMTPUTF8 is in use (SMTPC_MESSAGE_SMTPUTF8, or
 * chosen for the server: smtpc_message_set_server_caps),
 * SMTPC_MAIL_REQUIRETLS when SMTPC_MESSAGE_REQUIRETLS is set,
 * SMTPC_MAIL_BINARYMIME when a part went binary (SMTPC_MESSAGE_BINARYMIME). Returns the flags
 * (>= 0) or a negative error as smtpc_message_size. */
SMTPC_API int smtpc_message_mail_flags(smtpc_message *msg);
/* --- envelope (for a driver sending the message) ------------------------- */

/* The From address (smtpc_message_set_from), the usual envelope sender, or
 * NULL when none is set. Borrowed: valid until From changes or msg is
 * freed. */
SMTPC_API const char *smtpc_message_from_address(const smtpc_message *msg);
/* The To, Cc and Bcc addresses, in that order and in the order added
 * (duplicates kept), for the envelope recipients. Stores the first
 * min(cap, total) in table (which may be NULL when cap is 0) and returns
 * the total: call with cap 0 to size the table. The strings are borrowed:
 * valid until the recipient lists change or msg is freed. msg NULL: 0. */
SMTPC_API size_t smtpc_message_envelope_rcpts(const smtpc_message *msg, const char **table,
                                              size_t cap);

/* --- sending: the server's capabilities and DSN -------------------------- */

/* The capabilities (SMTPC_CAP_* of smtpc/engine.h) of the server that will
 * carry the message, so that its encodings suit that server; -1 (the
 * default) forgets them and the flags alone decide. With them:
 *   - 8-bit text bodies go 8bit when caps has SMTPC_CAP_8BITMIME, else
 *     quoted-printable or base64, whatever SMTPC_MESSAGE_8BITMIME says;
 *   - SMTPUTF8 is used when caps has SMTPC_CAP_SMTPUTF8 and the message
 *     needs it: a UTF-8 address in From, To, Cc or Reply-To, or
 *     SMTPC_MESSAGE_SMTPUTF8 set (raw UTF-8 headers wanted). Non-ASCII text
 *     alone is RFC 2047-encoded, which any server relays. A UTF-8 address
 *     without SMTPC_CAP_SMTPUTF8 makes read and size fail with SMTPC_EUTF8
 *     naming the address.
 * smtpc_client_send_message sets them from the session before every send,
 * so you need not guess flags before connecting. A change rewinds the
 * message (the same caps again changes nothing). Returns 0 or
 * SMTPC_EINVAL (caps below -1). */
SMTPC_API int smtpc_message_set_server_caps(smtpc_message *msg, int caps);

/* Delivery status notifications (RFC 3461) asked for this message, sent by
 * smtpc_client_send_message: which fails with SMTPC_ENODSN before MAIL when
 * the server does not offer DSN, unless smtpc_client_allow_no_dsn. These do
 * not change the message's bytes and do not rewind it.
 * ret: 0 (server's choice), SMTPC_DSN_RET_FULL or SMTPC_DSN_RET_HDRS (what a
 * failure report includes: smtpc/engine.h). envid: NULL for none, or an
 * identifier echoed in the reports, copied: non-empty, no CR or LF
 * (SMTPC_EBADCHAR), at most 100 octets once xtext-encoded (SMTPC_ETOOLONG).
 * Replaces the previous ret and envid. A build without DSN (-Ddsn=false)
 * refuses any request here and in smtpc_message_set_rcpt_dsn with
 * SMTPC_ENOTSUP (0 and NULL, no request, are accepted). */
SMTPC_API int smtpc_message_set_dsn(smtpc_message *msg, int ret, const char *envid);
/* NOTIFY and ORCPT for the envelope recipient address (compared byte for
 * byte with the envelope's), or, address NULL, NOTIFY for every recipient
 * without an entry of its own (orcpt must then be NULL). notify: 0 (none),
 * SMTPC_NOTIFY_NEVER, or SMTPC_NOTIFY_SUCCESS, _FAILURE and _DELAY or-ed.
 * orcpt: NULL, or the original recipient address, sent as
 * ORCPT=rfc822;<xtext> (rules as for envid, at most 500 octets encoded).
 * Replaces an earlier entry for the same address. Errors: SMTPC_EINVAL,
 * SMTPC_EADDRESS, SMTPC_EBADCHAR, SMTPC_ETOOLONG, SMTPC_ENOMEM. */
SMTPC_API int smtpc_message_set_rcpt_dsn(smtpc_message *msg, const char *address, int notify,
                                         const char *orcpt);
/* For a driver: the message's RET and ENVID (borrowed until changed) into
 * *ret and *envid (either may be NULL). Returns 1 when any DSN setting is
 * made (ret, envid or a recipient's), else 0. */
SMTPC_API int smtpc_message_dsn(const smtpc_message *msg, int *ret, const char **envid);
/* NOTIFY and ORCPT that apply to the envelope recipient address (its own
 * entry, else the default) into *notify and *orcpt (either may be NULL;
 * 0 / NULL when none). Returns 1 when an entry applies, else 0. */
SMTPC_API int smtpc_message_rcpt_dsn(const smtpc_message *msg, const char *address,
                                     int *notify, const char **orcpt);

/* The last failure on msg: every call on msg that returns an error sets it
 * (the code returned and a message naming the cause); a sticky read error
 * stays until smtpc_message_rewind succeeds, which clears it. */
SMTPC_API const smtpc_error *smtpc_message_error(const smtpc_message *msg);

#ifdef __cplusplus
}
#endif
#endif
