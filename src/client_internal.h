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
    smtpc_error err;
    smtpc_error session_err; /* why the last session ended, for later calls */
};

/* Run the engine until idle, body wanted, or the session ended. */
int smtpc_client_pump(smtpc_client *c);

#endif
