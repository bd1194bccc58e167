/* Where part bytes come from: memory, a file (opened only while read), or
 * the caller's callback. Each source is held to the size it announced, so
 * that the size computed in advance is the size sent. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "message_internal.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* strerror_r (XSI form under _POSIX_C_SOURCE): strerror may share a buffer
 * between threads. */
static const char *errtext(int err, char *buf, size_t cap)
{
    if (strerror_r(err, buf, cap) != 0)
        snprintf(buf, cap, "errno %d", err);
    return buf;
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
        do
            src->fd = open(src->path, O_RDONLY | O_CLOEXEC);
        while (src->fd < 0 && errno == EINTR);
        if (src->fd < 0)
            return smtpc_msg_fail(msg, SMTPC_EFILE, "cannot open %.200s: %s", src->path,
                                  errtext(errno, why, sizeof why));
    }
    ssize_t n;
    do
        n = read(src->fd, buf, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return smtpc_msg_fail(msg, SMTPC_EFILE, "cannot read %.200s: %s", src->path,
                              errtext(errno, why, sizeof why));
    if (src->pos + (uint64_t)n > (uint64_t)src->size || (n == 0 && src->pos < (uint64_t)src->size))
        return smtpc_msg_fail(msg, SMTPC_EFILE, "%.200s changed size while being sent",
                              src->path);
    *got = (size_t)n;
    if (n == 0)
        smtpc_msg_source_close(src);
    return 0;
}

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
    case SMTPC_SRC_FILE:
        rc = read_file(msg, src, buf, cap, got);
        break;
    default:
        rc = read_callback(msg, src, buf, cap, got);
        break;
    }
    src->pos += *got;
    return rc;
}

void smtpc_msg_source_close(smtpc_msg_source *src)
{
    if (src->fd >= 0) {
        close(src->fd);
        src->fd = -1;
    }
}

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
