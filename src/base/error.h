/* The error record kept by every handle (see smtpc_error in base.h). */
#ifndef SMTPC_ERROR_H
#define SMTPC_ERROR_H
#include "smtpc/base.h"
#include "smtpc_config.h"

#define SMTPC_ERRMSG_MAX 256
#define SMTPC_ENHANCED_MAX 16     /* "5.1.1" plus room: X.YYY.ZZZ */
#define SMTPC_REPLY_TEXT_MAX 512  /* reply text kept, truncated beyond */

struct smtpc_error {
    int code;
    int reply_code;
    char enhanced[SMTPC_ENHANCED_MAX];
    char reply_text[SMTPC_REPLY_TEXT_MAX];
    char message[SMTPC_ERRMSG_MAX];
};

/* For a static helper shared by two callers that the compiler would
 * otherwise copy into each (firmware size; see README's firmware section). */
#if defined(__GNUC__)
#define SMTPC_NOINLINE __attribute__((noinline))
#else
#define SMTPC_NOINLINE
#endif

void smtpc_error_clear(smtpc_error *err);
/* Record code with a printf-style message (no reply attached). Returns code. */
int smtpc_error_set(smtpc_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* smtpc_error_set with the code's description as the message (what every
 * call becomes with -Dmessages=short: two arguments, not three). */
int smtpc_error_set_code(smtpc_error *err, int code);
/* Record code with the server's reply (reply_code 0: none; enhanced and
 * text may be NULL) and a message prefixed by what (e.g. "MAIL FROM
 * refused"). Returns code. The codec layer's smtpc_error_set_reply takes a
 * parsed reply. */
int smtpc_error_set_server(smtpc_error *err, int code, int reply_code, const char *enhanced,
                           const char *text, const char *what);
void smtpc_error_copy(smtpc_error *dst, const smtpc_error *src);
/* Copy src into dst (cap bytes), truncating, always NUL-terminated. */
void smtpc_copy_text(char *dst, size_t cap, const char *src);

/* -Dmessages=short: the detail texts (format strings, what failed, the
 * values) are dropped at each call site, so neither the strings nor the
 * formatting calls reach the image; the record keeps its code, the
 * server's reply, and the code's name as the message. The arguments
 * dropped are all free of side effects (formatting only). */
/* Declared, never defined: named only under sizeof, where nothing is
 * evaluated, so the dropped arguments still count as used (no warnings
 * for variables kept for the full texts) yet compile to nothing. */
int smtpc_dropped_text(int none, ...);
#define SMTPC_DROP_TEXT(...) ((void)sizeof smtpc_dropped_text(0, __VA_ARGS__))
/* A detail text formatted into buf (cap bytes) for a record: with
 * -Dmessages=short an empty text (the record then gives the code's name). */
#if SMTPC_SHORT_MESSAGES
#define smtpc_format_text(buf, cap, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), (void)(cap), (void)((buf)[0] = '\0'))
#else
#define smtpc_format_text(buf, cap, ...) ((void)snprintf((buf), (cap), __VA_ARGS__))
#endif
/* A detail text handed on as a value (to a public call that records it, a
 * field, a function that picks one of several): with -Dmessages=short an
 * empty text, which the receivers treat as none (the code's name). */
#if SMTPC_SHORT_MESSAGES
#define SMTPC_TEXT(text) (SMTPC_DROP_TEXT(text), "")
#else
#define SMTPC_TEXT(text) (text)
#endif
#if SMTPC_SHORT_MESSAGES
#define smtpc_error_set(err, code, ...) \
    (SMTPC_DROP_TEXT(__VA_ARGS__), smtpc_error_set_code((err), (code)))
#define smtpc_error_set_server(err, code, reply_code, enhanced, text, what) \
    (SMTPC_DROP_TEXT(what), \
     smtpc_error_set_server((err), (code), (reply_code), (enhanced), (text), NULL))
#endif

#endif
