/* The client's state, shared with src/client_message.c. */
#ifndef SMTPC_CLIENT_INTERNAL_H
#define SMTPC_CLIENT_INTERNAL_H
#include "smtpc/client.h"
#include "smtpc/tls.h"
#include "error.h"

/* client_message.c: the read callback that pulls a built message for the
 * engine, and the error that stopped its read (sticky in the message until
 * a rewind, so the first one is the one). */
typedef struct smtpc_client_pull_state {
    smtpc_message *msg;
    int err;
} smtpc_client_pull_state;
int smtpc_client_pull(void *user, uint8_t *buf, size_t cap, size_t *len);

/* client_message.c: a message's DSN request laid out for the engine, one
 * NOTIFY and one ORCPT per envelope recipient (zeroed: none yet). */
typedef struct smtpc_client_dsn {
    smtpc_dsn dsn;
    int *notify;
    const char **orcpt;
    size_t n;
} smtpc_client_dsn;
/* The operation running: in non-blocking mode from the call that starts it
 * to the smtpc_client_step that returns its result; in blocking mode inside
 * the call. Everything here is borrowed from the caller until the result,
 * except what the client made for it (table, dt, batch). */
enum { CLIENT_OP_NONE, CLIENT_OP_CONNECT, CLIENT_OP_SEND, CLIENT_OP_SIMPLE, CLIENT_OP_QUIT,
       CLIENT_OP_BATCH };
typedef struct smtpc_client_op {
    int kind;  /* CLIENT_OP_* */
    /* The kind's steps, and what ends it: set by the call that starts it,
     * so that an image links only the operations it uses (firmware). */
    int (*drive)(smtpc_client *c);
    int (*end)(smtpc_client *c, int rc);  /* a send's result, adjusted; or NULL */
    void (*release)(smtpc_client *c);     /* frees what the start made; or NULL */
    int phase; /* where it resumes (the kind's own steps) */
    int is_send; /* a send: an accepted message stays a success (see leave) */
    /* The body piece the engine has not taken yet: the rest of a memory
     * body, or a read callback's piece at the start of io (io_busy). */
    const uint8_t *p;
    size_t len;
    smtpc_read_fn read; /* NULL: the body is p/len only */
    void *user;
    /* smtpc_client_send_message: the message and what was made for it */
    smtpc_message *msg;
    int restore; /* flags before BINARYMIME was added, or -1 */
    const char **table;
    size_t table_bytes;
    smtpc_client_dsn dt;
    smtpc_client_pull_state ps;
    void *batch; /* client_batch.c's state, on the client's heap */
} smtpc_client_op;

struct smtpc_client {
    /* The most used fields first, then the operation: Thumb-2's 16-bit
     * loads and stores reach only the first 124 bytes of a structure. */
    smtpc_allocator alloc;
    smtpc_engine *engine;
    smtpc_transport *transport;      /* the live connection */
    int connected;
    int busy;          /* inside a call that may run the user's callbacks */
    int free_asked;    /* smtpc_client_free was called from such a callback */
    int nonblocking;   /* smtpc_client_set_nonblocking */
    smtpc_clock_ms_fn clock; /* the deadlines' clock; NULL: none (-Dport=none) */
    void *clock_user;
    uint8_t *io; /* receive buffer, and body chunks from read callbacks */
    size_t io_cap;   /* its size (0 until the first connect) */
    /* Bytes at the start of io held by a body piece the engine has not
     * taken yet: replies read meanwhile (BDAT chunks) go after them. */
    size_t io_busy;
    int events;        /* SMTPC_POLL_* the last I/O that could not finish waits for */
    /* The whole-reply deadline: runs while one reply is read (the engine's
     * reply count tells when one is complete). */
    int rd_waiting;
    uint32_t rd_head;
    /* Non-blocking mode only, where the transport does not wait: the bound
     * of one send (progress restarts it) and of the TLS handshake. */
    int wr_waiting;
    int msg_clock;     /* the whole-message deadline runs */
    int msg_ms;        /* ... it was this many ms */
    unsigned refused;  /* setters refused since they last succeeded (bit per setter) */
    const char *call;  /* the call that is busy (for messages) */
    const smtpc_dsn *dsn; /* the DSN request of the message being sent, or NULL */
    smtpc_client_op op;
    /* Deadlines on the client's clock, in its low 32 bits: compared by the
     * wrapping difference, which holds any timeout up to INT_MAX ms. */
    uint32_t rd_end;
    uint32_t wr_end;
    int hs_running; /* a handshake runs on c->transport (2: hs_end set) */
    uint32_t hs_end;
    uint32_t msg_end; /* the whole-message deadline ends then */
    char *host;
    char *port;
    int security;
    smtpc_trace_fn trace;
    void *trace_user;
    const smtpc_tls_config *tls; /* the user's, borrowed */
    smtpc_tls_config *own_tls;   /* default configuration, made on first use */
    smtpc_transport *next_transport; /* user transport for the next connect */
    size_t io_want;  /* smtpc_client_set_buffers: for the next connect */
    size_t out_want; /* ... and the engine's output buffer */
    int allow_no_dsn;  /* smtpc_client_allow_no_dsn */
    int no_binarymime; /* smtpc_client_set_binarymime(c, 0) */
    int no_chunking;   /* smtpc_client_set_chunking(c, 0) */
    /* The two records (792 B each) last. */
    smtpc_error err;
    smtpc_error session_err; /* why the last session ended, for later calls */
};

/* What the drive's steps return besides an SMTPC_WANT_*: non-blocking
 * mode, the transport cannot move bytes now (c->events says which). */
#define SMTPC_CLIENT_WAIT (-1)

/* Run the engine until idle, body wanted, or the session ended; returns
 * that want, or SMTPC_CLIENT_WAIT (non-blocking mode). Transport calls wait
 * up to the deadline in blocking mode and never in non-blocking mode; every
 * deadline is checked either way, with the same errors. */
int smtpc_client_pump(smtpc_client *c);

/* Public calls that may run user callbacks (trace, read, message sources)
 * begin with enter and return through leave. enter refuses a call made from
 * inside such a callback (SMTPC_ESTATE, recorded); leave reports a free
 * asked for from one. fn names the call in messages. */
int smtpc_client_enter(smtpc_client *c, const char *fn);
int smtpc_client_leave(smtpc_client *c, int rc, int is_send);
/* enter for a call that starts an operation: also refused (SMTPC_ESTATE)
 * while one runs (non-blocking mode). */
int smtpc_client_start(smtpc_client *c, const char *fn);
/* fn is for messages only: -Dmessages=short drops the names. */
#if SMTPC_SHORT_MESSAGES
#define smtpc_client_enter(c, fn) (SMTPC_DROP_TEXT(fn), (smtpc_client_enter)((c), NULL))
#define smtpc_client_start(c, fn) (SMTPC_DROP_TEXT(fn), (smtpc_client_start)((c), NULL))
#else
#define smtpc_client_enter(c, fn) (smtpc_client_enter)((c), (fn))
#define smtpc_client_start(c, fn) (smtpc_client_start)((c), (fn))
#endif
/* Drive the operation set up in c->op: to its end in blocking mode, as far
 * as it goes without waiting in non-blocking mode (SMTPC_INPROGRESS), then
 * leave. With its result the operation is over (its state released). */
int smtpc_client_run(smtpc_client *c);

/* A one-message send whose begin_send is done: its body (body/len, then
 * pieces from read when not NULL) and verdict, by smtpc_client_run. */
int smtpc_client_send_op(smtpc_client *c, const uint8_t *body, size_t len, smtpc_read_fn read,
                         void *user);
/* The operation is over: what its start made is released, c->op zeroed. */
void smtpc_client_op_clear(smtpc_client *c);
/* Push the body in c->op (the memory rest, then pieces from its read
 * callback) without ending it: SMTPC_WANT_BODY once all went (the read
 * callback reported the end), SMTPC_CLIENT_WAIT, or the want that stopped
 * it (the connection is dropped on a read failure). Resumable. */
int smtpc_client_body(smtpc_client *c);

/* For the batch sender (client_batch.c): the single-message path's steps. */
/* Send the engine's pending output and nothing else; returns the want, or
 * SMTPC_CLIENT_WAIT. */
int smtpc_client_flush(smtpc_client *c);
void smtpc_client_start_message_clock(smtpc_client *c);
/* The size the server counts (line ends made CRLF) and 8-bit presence. */
void smtpc_client_measure_body(const uint8_t *p, size_t n, int64_t *size, int *eight_bit);
/* Read what the server sent while idle, then begin_mail; errors recorded. */
int smtpc_client_begin_send(smtpc_client *c, const char *from, const char *const *rcpts,
                            size_t n_rcpts, int64_t size, int flags);
/* The operation's result after the pump stopped at want (session errors kept). */
int smtpc_client_end_op(smtpc_client *c, int want);
/* client_batch.c: drive the batch in c->op.batch (SMTPC_INPROGRESS while
 * it must wait), and free its state (again harmless). */
int smtpc_client_batch_drive(smtpc_client *c);
void smtpc_client_batch_free(smtpc_client *c);
/* client_message.c: a send_message's result from the stream's, and the
 * release of what it made (flags restored; again harmless). */
int smtpc_client_message_end(smtpc_client *c, int rc);
void smtpc_client_message_release(smtpc_client *c);
/* client_message.c: SMTPC_MESSAGE_BINARYMIME added to msg's flags for this
 * send when the server and the settings allow it; returns the flags to
 * restore afterwards (smtpc_message_set_flags), or -1 when unchanged. */
int smtpc_client_binary_flags(smtpc_client *c, smtpc_message *msg);
/* client_message.c: the envelope of msg when none is given (To, Cc, Bcc,
 * each address once): a table from c's allocator, *bytes its size to free.
 * SMTPC_ENORECIPIENTS or SMTPC_ENOMEM recorded in c's error record. */
int smtpc_client_envelope_of(smtpc_client *c, smtpc_message *msg, const char ***table,
                             size_t *n, size_t *bytes);

/* Fill dt from msg for rcpts; notify stays NULL when msg asks for no DSN.
 * SMTPC_ENOMEM recorded in c's error record. */
int smtpc_client_make_dsn(smtpc_client *c, const smtpc_message *msg, const char *const *rcpts,
                          size_t n, smtpc_client_dsn *dt);
/* Free what smtpc_client_make_dsn allocated (again harmless). */
void smtpc_client_free_dsn(smtpc_client *c, smtpc_client_dsn *dt);

#endif
