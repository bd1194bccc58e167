/* smtpc — an embeddable SMTP client library.
 * SPDX-License-Identifier: MIT
 *
 * One include for the whole public API. Layers, bottom up:
 *   smtpc/base.h       status codes, error record, allocator hook, trace
 *   smtpc/transport.h  socket and user-callback transports
 *   smtpc/tls.h        TLS configuration and the TLS transport (mbedTLS)
 *   smtpc/auth.h       SMTP AUTH settings
 *   smtpc/engine.h     the sans-io SMTP engine
 *   smtpc/client.h     the client (blocking, or non-blocking in your event loop)
 *   smtpc/message.h    the streaming MIME message builder
 *   smtpc/dkim.h       DKIM signing of built and raw messages
 *
 * ---------------------------------------------------------------------------
 * Conventions. They hold for every call unless its own comment says
 * otherwise; the per-function comments do not repeat them.
 *
 * Handles and ownership.
 *   A handle (smtpc_client, smtpc_engine, smtpc_message, smtpc_tls_config,
 *   smtpc_transport) is created by smtpc_<handle>_new* and freed by
 *   smtpc_<handle>_free; freeing NULL is a no-op. Constructors return a
 *   status code and store the handle in their out parameter, which is NULL
 *   after a failure. They take an allocator (smtpc_allocator in
 *   smtpc/base.h): NULL means malloc/free; the struct is copied, and every
 *   block the handle allocates for itself goes through it.
 *   Arguments are borrowed for the duration of the call: strings and
 *   buffers given to a setter are copied before it returns. The exceptions
 *   say so: SMTPC_MEM_BORROW buffers, the smtpc_tls_config given to
 *   smtpc_client_set_tls_config, the envelope of smtpc_engine_begin_mail,
 *   and every callback's user pointer, which must outlive the handle.
 *   A handle given to another is owned by it only where that is said
 *   (smtpc_client_set_transport, the inner transport of
 *   smtpc_transport_new_tls).
 *   Pointers returned by a query (strings, error records, the client's
 *   engine) are borrowed: valid until the next call on the same handle,
 *   unless the query states a longer life; "static" strings live forever.
 *   A NULL handle is never dereferenced: calls fail with SMTPC_EINVAL and
 *   queries return a neutral value (0, "", NULL, or what they document).
 *
 * Return values.
 *   A call that can fail returns an int: SMTPC_OK (0) or a negative SMTPC_E*
 *   code (smtpc/base.h; smtpc_strerror describes one). Calls that return a
 *   count, flags or a 1/0 answer say so. Caller errors (SMTPC_EINVAL,
 *   SMTPC_ESTATE, bad characters, ...) and server refusals of one
 *   transaction are not sticky: the handle stays usable. Network, protocol
 *   and TLS errors and a 421 are sticky: they end the session, and later
 *   calls return the error that ended it until a new connect (client) or
 *   smtpc_engine_reset. A message's read error is sticky until
 *   smtpc_message_rewind.
 *
 * The error record.
 *   Each handle that can fail keeps a smtpc_error record of its last failure,
 *   read with const smtpc_error *smtpc_<handle>_error(const smtpc_<handle> *)
 *   (client, engine, message, tls_config, transport) and the smtpc_error_*
 *   accessors:
 *   the code, the server's reply when there was one, and a readable message
 *   naming what failed. A call that fails sets it; a call that succeeds may
 *   leave it as it was, so look at it after a failure. The record is
 *   borrowed like any query result. A refused call (bad argument, wrong
 *   state) on an ended session leaves the session's error in place: the
 *   calls that report a sticky error show it again. Constructors
 *   (smtpc_*_new*) do no I/O and fail only with a code that says it all
 *   (SMTPC_EINVAL, SMTPC_ENOMEM, SMTPC_ENOTSUP); the work that can fail for
 *   a reason worth reading (a transport's connect or TLS handshake) is a
 *   call of its own on the new handle, which records it.
 *
 * Threads and global state.
 *   A handle is not thread-safe: use it from one thread at a time. Distinct
 *   handles are independent and may be used from different threads at once.
 *   smtpc keeps no global state: clients, engines, messages and TLS
 *   configurations share nothing unless you share it (a smtpc_tls_config
 *   used by several transports must not be used from two threads at once,
 *   nor changed while a transport uses it). mbedTLS's own process-wide PSA
 *   crypto initialisation is the one outside state touched (smtpc/tls.h).
 *
 * Callbacks.
 *   Callbacks run on the thread of the call that invokes them, and only
 *   inside a call on the handle they were set on (or, for a message's
 *   sources, inside a call that reads the message). From inside a callback:
 *   - on the same client (its trace, the read callback of
 *     smtpc_client_send_stream, the read and rewind callbacks of a message
 *     given to smtpc_client_send_message), only smtpc_client_error,
 *     smtpc_client_connected and smtpc_client_engine with the engine's
 *     queries may be called. Every other call on it (connect, the sends,
 *     rset, noop, quit, every setter) is refused with SMTPC_ESTATE and
 *     recorded, and the call running the callback goes on.
 *     smtpc_client_free there does not free the client: the running call
 *     stops, drops the connection and returns SMTPC_ESTATE saying so; free
 *     the client after it returns.
 *   - on the same engine or message, only queries may be called; those
 *     handles do not check it.
 *   Other handles may be used freely.
 *
 * Strings.
 *   Strings are UTF-8 and NUL-terminated; bytes with a length (bodies,
 *   attachments, certificates) may hold anything. A value that goes onto a
 *   command or header line (addresses, names, header text, credentials) is
 *   refused with SMTPC_EBADCHAR when it holds CR or LF (the message builder
 *   also refuses other control characters except TAB), so no value can
 *   start a new command or header. Non-ASCII addresses need SMTPUTF8.
 * ------------------------------------------------------------------------- */
#ifndef SMTPC_H
#define SMTPC_H

#include "smtpc/base.h"
#include "smtpc/transport.h"
#include "smtpc/tls.h"
#include "smtpc/engine.h"
#include "smtpc/auth.h"
#include "smtpc/client.h"
#include "smtpc/message.h"
#include "smtpc/dkim.h"

#endif
