/* Incremental SMTP reply parser (RFC 5321 section 4.2, RFC 3463 codes).
 *
 * Fixed memory: the caller provides the line buffer, whose capacity bounds
 * the longest line accepted. The result is the same for any split of the
 * input. A line ends with CRLF (a bare LF is accepted too, a CR before it is
 * stripped). */
#ifndef SMTPC_REPLY_PARSER_H
#define SMTPC_REPLY_PARSER_H
#include <stddef.h>
#include <stdint.h>

#include "error.h" /* SMTPC_ENHANCED_MAX, SMTPC_REPLY_TEXT_MAX */


typedef struct smtpc_reply {
    int code;                        /* 200..599 */
    int lines;                       /* number of lines in the reply */
    size_t text_len;
    char enhanced[SMTPC_ENHANCED_MAX]; /* RFC 3463 code of the first line, "" if none */
    /* The text of every line (after "NNN-"/"NNN "; an enhanced status code at
     * the start of a line removed), lines joined with '\n', NUL-terminated,
     * truncated to SMTPC_REPLY_TEXT_MAX - 1 bytes. */
    char text[SMTPC_REPLY_TEXT_MAX];
} smtpc_reply;

typedef struct smtpc_reply_parser {
    uint8_t *line;     /* caller's buffer */
    size_t line_cap;
    size_t line_len;
    int in_reply;      /* a continuation line was seen; code must match */
    int line_ready;    /* a complete line sits in line[] (until next feed) */
    size_t text_off;   /* offset of the line's text in line[] */
    int text_full;     /* reply.text was truncated: later lines are dropped */
    smtpc_reply reply;
} smtpc_reply_parser;

#define SMTPC_PARSE_MORE 0 /* all input consumed, no complete line yet */
#define SMTPC_PARSE_LINE 1 /* a continuation line ("NNN-...") is complete */
#define SMTPC_PARSE_DONE 2 /* the last line is complete: the reply is ready */

/* line_cap >= 8. */
void smtpc_reply_parser_init(smtpc_reply_parser *p, uint8_t *line, size_t line_cap);
/* Change the longest line accepted (at most the buffer's size; 8 or more),
 * e.g. for the reply to one command. Takes effect from the next byte. */
void smtpc_reply_parser_set_line_cap(smtpc_reply_parser *p, size_t line_cap);
/* Consume input up to and including the end of the next complete line.
 * *consumed receives the number of bytes taken. Returns SMTPC_PARSE_* or
 * SMTPC_EPROTO (not three digits 2xx-5xx, bad separator, continuation code
 * differs from the first line's) or SMTPC_ELINE (line longer than line_cap).
 * After an error the parser must be re-initialised. After DONE, the next
 * feed starts a new reply. */
int smtpc_reply_parser_feed(smtpc_reply_parser *p, const uint8_t *data, size_t len,
                            size_t *consumed);
/* The text of the line just completed (after the code and separator, enhanced
 * code kept), valid after LINE or DONE until the next feed. Not
 * NUL-terminated. */
const char *smtpc_reply_parser_line_text(const smtpc_reply_parser *p, size_t *len);
/* The reply, complete after DONE. */
const smtpc_reply *smtpc_reply_parser_reply(const smtpc_reply_parser *p);
/* 1 while bytes of an incomplete line or reply are held. */
int smtpc_reply_parser_busy(const smtpc_reply_parser *p);

/* Record code in err with this reply attached and a message prefixed by
 * what (e.g. "MAIL FROM refused"); reply may be NULL. Returns code. */
int (smtpc_error_set_reply)(smtpc_error *err, int code, const smtpc_reply *reply,
                          const char *what);
#if SMTPC_SHORT_MESSAGES
#define smtpc_error_set_reply(err, code, reply, what) \
    (SMTPC_DROP_TEXT(what), smtpc_error_set_reply((err), (code), (reply), NULL))
#endif

#endif
