/* The SMTP server linked into the firmware test image: a state machine fed
 * the client's bytes in memory (board_net_send), its replies read back
 * through board_net_recv. It records what it received for the checks. */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H
#include <stddef.h>
#include <stdint.h>

#define SIM_DATA_MAX 32768

typedef struct sim_capture {
    char from[128];
    char rcpts[4][128];
    size_t n_rcpts;
    char auth[128];      /* the AUTH PLAIN response, decoded (NULs as '|') */
    uint8_t data[SIM_DATA_MAX]; /* the last message, dot-stuffing undone */
    size_t data_len;
    int overflow;        /* a message or line did not fit: a failure */
    int messages;        /* accepted with 250 */
    int quit;            /* QUIT seen */
    int protocol_errors; /* commands it did not expect */
} sim_capture;

extern sim_capture sim;

/* A fresh connection: greeting queued, capture cleared. size_limit is the
 * SIZE it announces. */
void sim_reset(unsigned long size_limit);

#endif
