/* The error record kept by every handle (see smtpc_error in base.h). */
#ifndef SMTPC_ERROR_H
#define SMTPC_ERROR_H
#include "smtpc/base.h"

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

void smtpc_error_clear(smtpc_error *err);
/* Record code with a printf-style message (no reply attached). Returns code. */
int smtpc_error_set(smtpc_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Record code with the server's reply (reply_code 0: none; enhanced and
 * text may be NULL) and a message prefixed by what (e.g. "MAIL FROM
 * refused"). Returns code. The codec layer's smtpc_error_set_reply takes a
 * parsed reply. */
int smtpc_error_set_server(smtpc_error *err, int code, int reply_code, const char *enhanced,
                           const char *text, const char *what);
void smtpc_error_copy(smtpc_error *dst, const smtpc_error *src);
/* Copy src into dst (cap bytes), truncating, always NUL-terminated. */
void smtpc_copy_text(char *dst, size_t cap, const char *src);

#endif
