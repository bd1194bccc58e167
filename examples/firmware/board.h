/* What the firmware example needs from a board: a millisecond tick, a
 * non-blocking byte pipe to the mail server (a TCP socket of your network
 * stack, a modem's data mode, ...), a real-time clock for the Date header
 * and a random source for MIME boundaries and Message-IDs.
 *
 * tests/firmware/board_sim.c implements these for QEMU's mps2-an386 with
 * an SMTP server in memory; a real board implements them over its drivers. */
#ifndef FIRMWARE_BOARD_H
#define FIRMWARE_BOARD_H
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since boot (wraps after 49 days; compared by difference). */
uint32_t board_millis(void);
/* Open the connection to the mail server (port 25 or 587): 0, or -1 when
 * it cannot be opened. */
int board_net_connect(void);
/* Send up to n bytes now: the count taken (0: try again later), or -1 when
 * the connection is gone. Never blocks. */
int board_net_send(const uint8_t *p, size_t n);
/* Receive up to cap bytes now: the count (0: nothing yet), or -1 when the
 * peer closed or the connection broke. Never blocks. */
int board_net_recv(uint8_t *p, size_t cap);
/* smtpc_clock_fn: seconds since 1970 (UTC) from the RTC. */
int board_clock(void *user, int64_t *unix_time, int *utc_offset_minutes);
/* smtpc_random_fn: bytes from the TRNG (uniqueness is all MIME needs). */
int board_random(void *user, uint8_t *buf, size_t len);
/* Called when there is nothing to do: sleep until an interrupt (WFI). */
void board_idle(void);

#endif
