/* Where part bytes come from: memory, a file (opened only while read), or
 * the caller's callback. Each source is held to the size it announced, so
 * that the size computed in advance is the size sent. */
#include <string.h>

#include "message_internal.h"
#include "smtpc_config.h"

/* File sources are POSIX (open, read, stat, errno text): -Dfile_sources
 * leaves them out, and then no source is ever of kind SMTPC_SRC_FILE. */
#if SMTPC_HAVE_FILE_SOURCES
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "port.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* The file must still be what was attached: a regular file of the size
 * declared (that size is in the SIZE sent and in the layout). A FIFO or
 * device put in its place would block or stream forever. */
static int check_file(smtpc_message *msg, const smtpc_msg_source *src, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return smtpc_msg_fail(msg, SMTPC_EFILE,
                              "%.200s is no longer a regular file (replaced since attached)",
                              src->path);
    char was[SMTPC_FMT_INT_MAX], now[SMTPC_FMT_INT_MAX];
    if ((uint64_t)st->st_size != (uint64_t)src->size)
        return smtpc_msg_fail(msg, SMTPC_EFILE,
                              "%.200s changed size since attached (%s bytes, now %s)",
                              src->path, smtpc_fmt_i64(was, src->size, 1),
                              smtpc_fmt_i64(now, (int64_t)st->st_size, 1));
    return 0;
}

int smtpc_msg_source_check(smtpc_message *msg, const smtpc_msg_source *src)
{
    if (src->kind != SMTPC_SRC_FILE)
        return 0;
    char why[128];
    struct stat st;
    if (stat(src->path, &st) != 0)
        return smtpc_msg_fail(msg, SMTPC_EFILE, "cannot open %.200s: %s", src->path,
                              smtpc_errno_text(errno, why, sizeof why));
    return check_file(msg, src, &st);
}

static int open_file(smtpc_message *msg, smtpc_msg_source *src)
{
    char why[128];
    /* O_NONBLOCK: opening a FIFO without a writer would wait forever. */
    do
        src->fd = open(src->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    while (src->fd < 0 && errno == EINTR);
    if (src->fd < 0)
        return smtpc_msg_fail(msg, SMTPC_EFILE, "cannot open %.200s: %s", src->path,
                              smtpc_errno_text(errno, why, sizeof why));
    struct stat st;
    int rc = 0;
    if (fstat(src->fd, &st) != 0)
        rc = smtpc_msg_fail(msg, SMTPC_EFILE, "cannot stat %.200s: %s", src->path,
                            smtpc_errno_text(errno, why, sizeof why));
    if (!rc)
        rc = check_file(msg, src, &st);
    int fl = rc ? 0 : fcntl(src->fd, F_GETFL);
    if (!rc && (fl < 0 || fcntl(src->fd, F_SETFL, fl & ~O_NONBLOCK) < 0))
        rc = smtpc_msg_fail(msg, SMTPC_EFILE, "cannot read %.200s: %s", src->path,
                            smtpc_errno_text(errno, why, sizeof why));
    if (rc)
        smtpc_msg_source_close(src);
    return rc;
}

static int read_file(smtpc_message *msg, smtpc_msg_source *src, uint8_t *buf, size_t cap,
                     size_t *got)
{
    char why[128];
    if (src->fd < 0) {
        if (src->pos > 0) {
            *got = 0; /* already read to the end and closed */
            return 0;
        }
        int rc = open_file(msg, src);
        if (rc)
            return rc;
    }
    ssize_t n;
    do
        n = read(src->fd, buf, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return smtpc_msg_fail(msg, SMTPC_EFILE, "cannot read %.200s: %s", src->path,
                              smtpc_errno_text(errno, why, sizeof why));
    if (src->pos + (uint64_t)n > (uint64_t)src->size || (n == 0 && src->pos < (uint64_t)src->size))
        return smtpc_msg_fail(msg, SMTPC_EFILE, "%.200s changed size while being sent",
                              src->path);
    *got = (size_t)n;
    if (n == 0)
        smtpc_msg_source_close(src);
    return 0;
}

#endif /* SMTPC_HAVE_FILE_SOURCES */

static int read_callback(smtpc_message *msg, smtpc_msg_source *src, uint8_t *buf, size_t cap,
                         size_t *got)
{
    size_t n = 0;
    if (src->read(src->user, buf, cap, &n) != 0)
        return smtpc_msg_fail(msg, SMTPC_ESOURCE, "a part's read callback failed");
    if (n > cap)
        return smtpc_msg_fail(msg, SMTPC_ESOURCE, "a part's read callback overran its buffer");
    if (src->size >= 0 &&
        (src->pos + n > (uint64_t)src->size || (n == 0 && src->pos < (uint64_t)src->size)))
        return smtpc_msg_fail(msg, SMTPC_ESOURCE,
                              "a part's read callback gave a different size than declared");
    *got = n;
    return 0;
}

int smtpc_msg_source_read(smtpc_message *msg, smtpc_msg_source *src, uint8_t *buf, size_t cap,
                          size_t *got)
{
    int rc = 0;
    *got = 0;
    src->started = 1;
    switch (src->kind) {
    case SMTPC_SRC_MEM: {
        size_t left = src->len - (size_t)src->pos;
        *got = left < cap ? left : cap;
        if (*got)
            memcpy(buf, src->data + src->pos, *got);
        break;
    }
#if SMTPC_HAVE_FILE_SOURCES
    case SMTPC_SRC_FILE:
        rc = read_file(msg, src, buf, cap, got);
        break;
#endif
    default:
        rc = read_callback(msg, src, buf, cap, got);
        break;
    }
    src->pos += *got;
    return rc;
}

#if SMTPC_HAVE_FILE_SOURCES
void smtpc_msg_source_close(smtpc_msg_source *src)
{
    if (src->fd >= 0) {
        close(src->fd);
        src->fd = -1;
    }
}
#endif

int smtpc_msg_source_rewind(smtpc_message *msg, smtpc_msg_source *src)
{
    smtpc_msg_source_close(src);
    if (src->kind == SMTPC_SRC_READER && src->started) {
        if (!src->rewind)
            return smtpc_msg_fail(msg, SMTPC_ESTATE,
                                  "a part's callback has no rewind and was already read");
        if (src->rewind(src->user) != 0)
            return smtpc_msg_fail(msg, SMTPC_ESOURCE, "a part's rewind callback failed");
    }
    src->pos = 0;
    src->started = 0;
    return 0;
}
