/* The client's state, shared with src/client_message.c. */
#ifndef SMTPC_CLIENT_INTERNAL_H
#define SMTPC_CLIENT_INTERNAL_H
#include "smtpc/client.h"
#include "smtpc/tls.h"
#include "error.h"

struct smtpc_client {
    smtpc_allocator alloc;
    char *host;
    char *port;
    int security;
    smtpc_trace_fn trace;
    void *trace_user;
    const smtpc_tls_config *tls; /* the user's, borrowed */
    smtpc_tls_config *own_tls;   /* default configuration, made on first use */
    smtpc_transport *next_transport; /* user transport for the next connect */
    smtpc_transport *transport;      /* the live connection */
    smtpc_engine *engine;
    int connected;
    uint8_t *io; /* receive buffer, and body chunks from read callbacks */
    size_t io_cap;   /* its size (0 until the first connect) */
    size_t io_want;  /* smtpc_client_set_buffers: for the next connect */
    size_t out_want; /* ... and the engine's output buffer */
    smtpc_error err;
    smtpc_error session_err; /* why the last session ended, for later calls */
    unsigned refused;  /* setters refused since they last succeeded (bit per setter) */
    int busy;          /* inside a call that may run the user's callbacks */
    const char *call;  /* ... that one (for messages) */
    int free_asked;    /* smtpc_client_free was called from such a callback */
    int msg_clock;     /* the whole-message deadline runs */
    int msg_ms;        /* ... it was this many ms */
    long long msg_end; /* ... and ends then (monotonic ms) */
    smtpc_clock_ms_fn clock; /* the deadlines' clock; NULL: none (-Dport=none) */
    void *clock_user;
    int allow_no_dsn;  /* smtpc_client_allow_no_dsn */
    const smtpc_dsn *dsn; /* the DSN request of the message being sent, or NULL */
};

/* Run the engine until idle, body wanted, or the session ended. */
int smtpc_client_pump(smtpc_client *c);

/* Public calls that may run user callbacks (trace, read, message sources)
 * begin with enter and return through leave. enter refuses a call made from
 * inside such a callback (SMTPC_ESTATE, recorded); leave reports a free
 * asked for from one. fn names the call in messages. */
int smtpc_client_enter(smtpc_client *c, const char *fn);
int smtpc_client_leave(smtpc_client *c, int rc, int is_send);
/* smtpc_client_send_stream without enter/leave, for calls already inside. */
int smtpc_client_stream(smtpc_client *c, const char *from, const char *const *rcpts,
                        size_t n_rcpts, smtpc_read_fn read, void *user, int64_t size,
                        int flags);

#endif
