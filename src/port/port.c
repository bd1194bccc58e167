/* See port.h. */
#include "port.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* SMTPC_PORT_NO_MONOTONIC forces the time() fallback, for systems whose
 * CLOCK_MONOTONIC is declared but unusable, and for the test of the
 * fallback itself. */
#if defined(CLOCK_MONOTONIC) && !defined(SMTPC_PORT_NO_MONOTONIC)
#define USE_MONOTONIC 1
#else
#define USE_MONOTONIC 0
#endif

long long smtpc_monotonic_ms(void)
{
#if USE_MONOTONIC
    /* A clock that fails fails on every call (unsupported id), so the
     * result never mixes the two origins. */
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
    return (long long)time(NULL) * 1000;
}

const char *smtpc_errno_text(int err, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return buf;
    /* glibc gives the GNU strerror_r (returning a string that may not be
     * buf) only with _GNU_SOURCE; the build defines _POSIX_C_SOURCE alone,
     * which selects the XSI one everywhere (0 or an error number; -1 and
     * errno on old glibc). */
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    const char *text = strerror_r(err, buf, cap);
    if (text != buf)
        snprintf(buf, cap, "%s", text ? text : "");
    if (buf[0] == '\0')
        snprintf(buf, cap, "error %d", err);
#else
    if (strerror_r(err, buf, cap) != 0 || buf[0] == '\0')
        snprintf(buf, cap, "error %d", err);
#endif
    return buf;
}

long smtpc_process_id(void)
{
    return (long)getpid();
}
