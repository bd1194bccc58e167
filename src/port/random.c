/* Random bytes straight from the operating system: getrandom(2) where the C
 * library has it, /dev/urandom otherwise (or when the kernel predates
 * getrandom). Nothing is kept between calls and nothing is allocated, so a
 * call costs one system call, callers on different threads never share
 * state, and a forked child never repeats its parent's bytes (which a
 * generator kept in memory would). */
#include "random.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "smtpc_config.h"
#include "smtpc/base.h"

#if SMTPC_HAVE_GETRANDOM
#include <sys/random.h>
#endif

/* The device is the fallback only: opened per call rather than kept, since
 * keeping it would be the state this file avoids. */
static int from_urandom(uint8_t *buf, size_t len)
{
    int flags = O_RDONLY;
#ifdef O_CLOEXEC
    flags |= O_CLOEXEC; /* never leak the descriptor into an exec'd child */
#endif
    int fd;
    do
        fd = open("/dev/urandom", flags);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return SMTPC_EIO;
    int rc = 0;
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = SMTPC_EIO;
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    close(fd);
    return rc;
}

int smtpc_random_default(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    if (!buf && len)
        return SMTPC_EINVAL;
#if SMTPC_HAVE_GETRANDOM
    while (len > 0) {
        /* Large requests come back in pieces (at most 32 MiB - 1 per call,
         * less when a signal arrives): take what came and ask again. */
        ssize_t n = getrandom(buf, len, 0);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ENOSYS)
            return from_urandom(buf, len);
        return SMTPC_EIO;
    }
    return 0;
#else
    return len ? from_urandom(buf, len) : 0;
#endif
}
