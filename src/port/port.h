/* The platform layer: the library's one reading of a monotonic clock and
 * its one use of strerror_r, so that a port to another OS changes this
 * folder and nothing else. (The wall clock for Date headers is the separate,
 * replaceable clock.c; the default allocator is alloc_default.c.) */
#ifndef SMTPC_PORT_H
#define SMTPC_PORT_H
#include <stddef.h>
#include <stdint.h>

#include "smtpc_config.h"

/* The defaults the port offers to the layers above, NULL where it offers
 * none (-Dport=none: the user's hooks, or a clear error, take their place;
 * docs/ARCHITECTURE.md says which call needs which). */
#if SMTPC_HAVE_POSIX
#include "random.h"
#define SMTPC_PORT_RANDOM smtpc_random_default
#define SMTPC_PORT_WALL_CLOCK smtpc_clock_default
#else
#define SMTPC_PORT_RANDOM NULL
#define SMTPC_PORT_WALL_CLOCK NULL
#endif

/* The functions below exist with the POSIX port only. */

/* Milliseconds on a clock that only moves forward, from an arbitrary origin:
 * for deadlines only. Where the system has no CLOCK_MONOTONIC (or refuses
 * it at run time) the count comes from time(): whole seconds, so a deadline
 * may end up to a second early or late, and a change of the system time
 * moves it; deadlines are still kept, never dropped. */
long long smtpc_monotonic_ms(void);

/* The text for errno value err in buf (cap bytes, NUL-terminated when cap
 * > 0), cut to fit; "error <n>" when the system has none. Thread-safe,
 * unlike strerror. Returns buf. */
const char *smtpc_errno_text(int err, char *buf, size_t cap);

/* An id of the calling process (getpid): lets state seeded once notice
 * that it now lives in a forked child, which must not repeat its parent's
 * random stream. */
long smtpc_process_id(void);

/* clock.c: the default wall clock for Date headers, time() in UTC (the
 * smtpc_clock_fn of smtpc/message.h). Alone in its file so that a port
 * without time() can leave it out and install a clock hook instead. */
int smtpc_clock_default(void *user, int64_t *unix_time, int *utc_offset_minutes);

#endif
