/* Driving the client's non-blocking mode from the tests (issue 11): a poll()
 * loop on smtpc_client_fd / _events / _timeout calling smtpc_client_step,
 * as an application's event loop would, with the checks every such loop
 * relies on: no call blocks, the client always says what it waits for, and
 * the loop is bounded so that a bug fails the test instead of hanging it.
 * cmocka tests only (failures are reported with fail_msg). */
#ifndef SMTPC_TEST_NB_DRIVE_H
#define SMTPC_TEST_NB_DRIVE_H

#include "smtpc/client.h"

/* Two checks that a call does not wait: it must not call poll() with a
 * timeout other than 0 (nb_drive.c puts its own poll() in front of the C
 * library's), and it may not sleep longer than this in any other way:
 * wall time minus the time on a CPU and in the run queue (a TLS handshake
 * computes for long under valgrind, a busy machine makes it queue). Far
 * below every silence the tests stage. */
#define NB_BLOCK_LIMIT_MS 500
/* No operation of the tests runs this long; past it the loop fails. */
#define NB_LOOP_LIMIT_MS 30000
/* Without a descriptor to watch (a callback transport: -Dsockets=false),
 * the loop wakes this often to give the transport a try. */
#define NB_TICK_MS 5

typedef struct nb_stats {
    long steps;              /* smtpc_client_step calls */
    long spurious;           /* of which made unprompted by poll */
    long long max_blocked_ms; /* worst time asleep in one call */
    long long max_call_ms;    /* worst wall time of one call */
} nb_stats;

/* A point in time (wall and this thread's CPU), taken before a call. */
typedef struct nb_mark {
    long long wall_us, cpu_us, queued_us;
} nb_mark;

/* Right before a client call: also starts watching its poll() calls. */
void nb_mark_now(nb_mark *m);
/* Right after it: checks that the call begun at m did not wait (see
 * NB_BLOCK_LIMIT_MS); what names the call in the failure. Folds it into
 * st (may be NULL). */
void nb_check_call(const nb_mark *m, const char *what, nb_stats *st);

/* Stops watching poll() (begun by nb_mark_now) without checking; returns
 * the longest poll() timeout asked for since (INT_MAX: infinite), 0 when
 * none waited. For the test that the watch works. */
int nb_end_watch(void);

/* smtpc_client_step, timed and checked like any call. */
int nb_step(smtpc_client *c, nb_stats *st);

/* rc is what a call started in non-blocking mode (begun at m) returned.
 * Checks that the start did not block; while rc is SMTPC_INPROGRESS,
 * waits with poll() for what the client asks (and only that: a client
 * with a descriptor that waits for no event, or reports no deadline although
 * the tests set every timeout, fails), steps it, and now and then adds a
 * step unprompted by poll (the API says a spurious call is harmless). Returns the
 * operation's result. st may be NULL. */
int nb_finish(smtpc_client *c, const nb_mark *m, int rc, nb_stats *st);

/* The poll() events for smtpc_client_events' bits. */
short nb_poll_events(int bits);

long long nb_now_ms(void);

#endif
