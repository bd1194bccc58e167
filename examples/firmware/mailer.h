/* A mail job for a bare-metal main loop: one message through the sans-io
 * engine, advanced a step at a time by mailer_poll() from the loop, never
 * blocking, with every byte of memory from a static arena. */
#ifndef FIRMWARE_MAILER_H
#define FIRMWARE_MAILER_H
#include <smtpc.h>

/* A bump arena with a peak counter: the library's allocator hook. The
 * engine and message free in reverse order of allocation, so freeing
 * the most recent block gives its room back. */
typedef struct arena {
    unsigned char *mem;
    size_t cap, used, peak;
} arena;

void arena_init(arena *a, void *mem, size_t cap);
/* The smtpc_allocator that takes memory from a. */
smtpc_allocator arena_allocator(arena *a);

enum { MAILER_BUSY = 1 };

typedef struct mailer {
    smtpc_engine *e;
    smtpc_message *msg; /* borrowed */
    int stage;          /* session, mail, quit, done */
    int result;         /* first failure, or 0 */
    const char *rcpts[4];
    size_t n_rcpts;
    uint8_t chunk[128]; /* message bytes read but not yet taken by the engine */
    size_t chunk_len, chunk_off;
    uint32_t deadline;  /* for the reply being read */
    uint32_t replies;
    int reading;
} mailer;

/* Start sending msg (From and To taken from it) without TLS: ehlo names
 * this device. Memory comes from alloc. Returns 0 or an SMTPC_E* code. */
int mailer_start(mailer *m, const smtpc_allocator *alloc, const char *ehlo,
                 smtpc_message *msg);
/* Advance the job as far as it goes without waiting. MAILER_BUSY while it
 * runs; then 0 when the message was accepted, or the error (details in
 * smtpc_engine_error(m->e)). */
int mailer_poll(mailer *m);
/* Why the job failed: the engine's or the message's error record. */
const char *mailer_error(const mailer *m);
void mailer_free(mailer *m);

#endif
