/* The tests' event loop for the non-blocking client (see nb_drive.h). */
/* ppoll, for the poll() of our own below */
#define _GNU_SOURCE
#include "nb_drive.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

/* Every this many steps one more is made at once, unprompted by poll. */
#define SPURIOUS_EVERY 5

/* Whether this thread is inside a client call made through nb_drive, and
 * the longest poll() timeout asked for in it. Per thread: the fault
 * server's thread polls with timeouts all along. */
static _Thread_local int in_client_call;
static _Thread_local int call_poll_ms;

/* The library's (and the tests' callback transport's) only way to wait is
 * poll(); this one, linked into the test program ahead of the C library's,
 * notes any timeout other than 0 asked for inside a client call, then does
 * the real wait with ppoll. */
int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (in_client_call && timeout != 0 && (timeout < 0 || timeout > call_poll_ms))
        call_poll_ms = timeout < 0 ? INT_MAX : timeout;
    struct timespec ts, *tp = NULL;
    if (timeout >= 0) {
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
        tp = &ts;
    }
    return ppoll(fds, n, tp, NULL);
}

static long long clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long nb_now_ms(void)
{
    return clock_us(CLOCK_MONOTONIC) / 1000;
}

/* This thread's time on a CPU and waiting for one (Linux schedstat), in
 * us; without it, the CPU time alone and no run-queue wait. */
static void thread_times(long long *cpu_us, long long *queued_us)
{
    unsigned long long run_ns = 0, wait_ns = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f && fscanf(f, "%llu %llu", &run_ns, &wait_ns) == 2) {
        *cpu_us = (long long)(run_ns / 1000);
        *queued_us = (long long)(wait_ns / 1000);
    } else {
        *cpu_us = clock_us(CLOCK_THREAD_CPUTIME_ID);
        *queued_us = 0;
    }
    if (f)
        fclose(f);
}

void nb_mark_now(nb_mark *m)
{
    thread_times(&m->cpu_us, &m->queued_us);
    m->wall_us = clock_us(CLOCK_MONOTONIC);
    call_poll_ms = 0;
    in_client_call = 1;
}

int nb_end_watch(void)
{
    in_client_call = 0;
    return call_poll_ms;
}

void nb_check_call(const nb_mark *m, const char *what, nb_stats *st)
{
    long long wall = clock_us(CLOCK_MONOTONIC) - m->wall_us;
    nb_end_watch();
    long long cpu, queued;
    thread_times(&cpu, &queued);
    cpu -= m->cpu_us;
    queued -= m->queued_us;
    /* Asleep: neither running nor waiting for a CPU (a busy machine's
     * run queue is not the call's doing). */
    long long blocked = (wall - cpu - queued) / 1000;
    if (st) {
        if (blocked > st->max_blocked_ms)
            st->max_blocked_ms = blocked;
        if (wall / 1000 > st->max_call_ms)
            st->max_call_ms = wall / 1000;
    }
    if (call_poll_ms)
        fail_msg("non-blocking mode: %s called poll() with a timeout of %d ms (it took %lld "
                 "ms): it waits for the network",
                 what, call_poll_ms, wall / 1000);
    if (blocked > NB_BLOCK_LIMIT_MS)
        fail_msg("non-blocking mode: %s took %lld ms of which %lld ms asleep (neither on a "
                 "CPU nor waiting for one; limit %d ms): it waited",
                 what, wall / 1000, blocked, NB_BLOCK_LIMIT_MS);
}

short nb_poll_events(int bits)
{
    short ev = 0;
    if (bits & SMTPC_POLL_READ)
        ev |= POLLIN;
    if (bits & SMTPC_POLL_WRITE)
        ev |= POLLOUT;
    return ev;
}

int nb_step(smtpc_client *c, nb_stats *st)
{
    nb_mark m;
    nb_mark_now(&m);
    int rc = smtpc_client_step(c);
    nb_check_call(&m, "smtpc_client_step", st);
    if (st)
        st->steps++;
    return rc;
}

int nb_finish(smtpc_client *c, const nb_mark *m, int rc, nb_stats *st)
{
    nb_check_call(m, "the call starting the operation", st);
    long long begin = nb_now_ms();
    long n = 0;
    while (rc == SMTPC_INPROGRESS) {
        if (nb_now_ms() - begin > NB_LOOP_LIMIT_MS)
            fail_msg("non-blocking mode: the operation still runs after %d ms", NB_LOOP_LIMIT_MS);
        int fd = smtpc_client_fd(c);
        int bits = smtpc_client_events(c);
        int ms = smtpc_client_timeout(c);
        /* Every test sets every timeout: an operation always has a deadline. */
        if (ms < 0)
            fail_msg("non-blocking mode: an operation in progress reports no deadline "
                     "(smtpc_client_timeout -1, events %d) although every timeout is set",
                     bits);
        if (fd >= 0 && bits == 0 && ms > 0)
            fail_msg("non-blocking mode: an operation in progress waits for no event and "
                     "its deadline is %d ms away: only that deadline would wake it",
                     ms);
        if (fd < 0 && ms > NB_TICK_MS)
            ms = NB_TICK_MS;
        struct pollfd p = {.fd = fd, .events = nb_poll_events(bits), .revents = 0};
        int ready;
        do
            ready = fd >= 0 ? poll(&p, 1, ms) : poll(NULL, 0, ms);
        while (ready < 0 && errno == EINTR);
        assert_true(ready >= 0);
        rc = nb_step(c, st);
        if (rc == SMTPC_INPROGRESS && ++n % SPURIOUS_EVERY == 0) {
            rc = nb_step(c, st);
            if (st)
                st->spurious++;
        }
    }
    return rc;
}
