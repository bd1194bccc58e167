/* What the integration drivers (smtpc_send, auth_client) print and parse
 * alike: JSON fragments for return codes and the error record, the
 * --security names and the trace line tags. Public API only, like the
 * drivers themselves. */
#ifndef SMTPC_DRIVER_COMMON_H
#define SMTPC_DRIVER_COMMON_H

#include <smtpc.h>

/* s as a JSON string on stdout: quote and backslash escaped, control
 * characters as \u00XX, UTF-8 passed through raw (JSON allows it). */
void driver_json_string(const char *s);

/* "SMTPC_EAUTH_FAILED" for SMTPC_EAUTH_FAILED; "SMTPC_E?" for a code the
 * table does not know, so that the output stays parseable. */
const char *driver_code_name(int code);

/* "rc":RC,"rc_name":"NAME" (no braces: the caller embeds it). */
void driver_json_rc(int rc);

/* "reply_code":N,"enhanced":"...","reply_text":"...","message":"...",
 * "temporary":N from the error record (no braces). */
void driver_json_error_fields(const smtpc_error *err);

/* --security plain|starttls|starttls-optional|tls into SMTPC_SECURITY_*.
 * Returns 0, or -1 (and leaves *out alone) for another name. */
int driver_parse_security(const char *name, int *out);

/* The tag in front of a trace line: "C: " sent, "S: " received, "*  "
 * anything else (the library's own notes). */
const char *driver_trace_tag(int direction);

/* --nonblocking (issue 11): the drivers put the client in non-blocking mode
 * and finish every call with driver_finish, a poll() loop on
 * smtpc_client_fd / _events / _timeout calling smtpc_client_step, as an
 * application's event loop would. */
typedef struct driver_loop {
    long steps;       /* smtpc_client_step calls so far */
    long long max_ms; /* the longest of them, in ms */
} driver_loop;

/* rc is what a call returned; while it is SMTPC_INPROGRESS, wait for what
 * the client asks and step it. Returns the operation's result. */
int driver_finish(smtpc_client *c, int rc, driver_loop *loop);

/* {"event":"nonblocking","steps":N,"max_step_ms":M} on a line of its own. */
void driver_json_loop(const driver_loop *loop);

#endif
