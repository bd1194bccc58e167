/* A scripted SMTP server for fault tests: one connection on 127.0.0.1,
 * served by a thread, following a fixed list of steps. Each wait in it is
 * bounded, so a client bug shows up as a failed assertion, never as a test
 * that hangs forever. */
#ifndef SMTPC_FAULT_SERVER_H
#define SMTPC_FAULT_SERVER_H

#include <stddef.h>

enum {
    SMTPC_FS_END = 0, /* script over: wait (bounded) for the client to close, then FIN */
    SMTPC_FS_EXPECT,  /* the next client line must start with text (case-insensitive) */
    SMTPC_FS_SEND,    /* send text (len bytes, or strlen when len is 0) in one write */
    SMTPC_FS_DRIP,    /* send text one byte per write, ms between bytes */
    SMTPC_FS_BODY,    /* read client bytes up to and including CRLF.CRLF */
    SMTPC_FS_READ,    /* read len client bytes (whatever they are) */
    SMTPC_FS_SILENT,  /* say nothing for ms (ends early when the client closes) */
    SMTPC_FS_RESET,   /* abortive close: SO_LINGER 0, so the peer sees RST */
    SMTPC_FS_CLOSE,   /* orderly close: FIN, then drain what the client still sends */
    SMTPC_FS_FLOOD,   /* send text over and over for ms */
    SMTPC_FS_TRICKLE, /* read at most len client bytes every ms until the
                         client closes (at most SMTPC_FS_TRICKLE_MAX_MS) */
    SMTPC_FS_GATE,    /* wait (bounded) until the test calls smtpc_fs_open_gate */
};

/* A trickle ends by itself after this long, so that a client that never gives
 * up fails its test instead of hanging it. */
#define SMTPC_FS_TRICKLE_MAX_MS 30000

typedef struct smtpc_fs_step {
    int op;
    const char *text;
    size_t len;
    int ms;
} smtpc_fs_step;

#define FS_EXPECT(s) {SMTPC_FS_EXPECT, (s), 0, 0}
#define FS_SEND(s) {SMTPC_FS_SEND, (s), 0, 0}
#define FS_SEND_N(p, n) {SMTPC_FS_SEND, (p), (n), 0}
#define FS_DRIP(s, ms) {SMTPC_FS_DRIP, (s), 0, (ms)}
#define FS_BODY {SMTPC_FS_BODY, NULL, 0, 0}
#define FS_READ(n) {SMTPC_FS_READ, NULL, (n), 0}
#define FS_SILENT(ms) {SMTPC_FS_SILENT, NULL, 0, (ms)}
#define FS_RESET {SMTPC_FS_RESET, NULL, 0, 0}
#define FS_CLOSE {SMTPC_FS_CLOSE, NULL, 0, 0}
#define FS_FLOOD(s, ms) {SMTPC_FS_FLOOD, (s), 0, (ms)}
#define FS_TRICKLE(n, ms) {SMTPC_FS_TRICKLE, NULL, (n), (ms)}
#define FS_GATE {SMTPC_FS_GATE, NULL, 0, 0}
#define FS_END {SMTPC_FS_END, NULL, 0, 0}

typedef struct smtpc_fault_server smtpc_fault_server;

/* Listen on 127.0.0.1 (a free port) and serve one connection with script
 * (borrowed: it must outlive the server; ends with FS_END). rcvbuf > 0 sets
 * the socket's receive buffer, so that a client writing a large body blocks
 * while the server is not reading. NULL on failure. */
smtpc_fault_server *smtpc_fs_start(const smtpc_fs_step *script, int rcvbuf);
/* The port as a decimal string. */
const char *smtpc_fs_port(const smtpc_fault_server *fs);
/* Wait for the server thread to end. Returns 0 when every step ran as
 * scripted, -1 otherwise (smtpc_fs_error says why). */
int smtpc_fs_join(smtpc_fault_server *fs);
/* Why the script stopped early ("" when it did not). After join. */
const char *smtpc_fs_error(const smtpc_fault_server *fs);
/* Every byte the client sent (up to a cap), NUL-terminated. After join. */
const char *smtpc_fs_transcript(const smtpc_fault_server *fs, size_t *len);
/* 1 when the client sent text anywhere in the transcript. After join. */
int smtpc_fs_received(const smtpc_fault_server *fs, const char *text);
/* Wait, at most ms, until the first n steps of the script have taken
 * effect at the server's end: their bytes sent, an FS_CLOSE's FIN sent (its
 * draining goes on), an FS_RESET's reset. For a test that must act only
 * after the server has (a fixed sleep there loses the race when the
 * machine is busy). 0 when they have; -1 on timeout, or when the script
 * stopped before them. */
int smtpc_fs_wait_steps(smtpc_fault_server *fs, size_t n, int ms);
/* Let the script go on past its FS_GATE: for a server that must not speak
 * before the client is in the state the test wants (a silence there is a
 * race with a client slow to get there). */
void smtpc_fs_open_gate(smtpc_fault_server *fs);
/* Join if needed and free. NULL is a no-op. */
void smtpc_fs_free(smtpc_fault_server *fs);

#endif
