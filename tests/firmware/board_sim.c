/* The board of the firmware test image (QEMU mps2-an386): an SMTP server in
 * memory behind board_net_send/recv, a tick counter that moves one ms per
 * call, a fixed RTC and a pseudo-random source. Deterministic by design:
 * nothing here depends on how fast QEMU runs. */
#include <string.h>

#include "board.h"
#include "sim_server.h"

sim_capture sim;

static struct {
    char line[1100];
    size_t line_len;
    int in_data;
    int closed;
    unsigned long size_limit;
    char out[2048];
    size_t out_len, out_pos;
    uint32_t ticks;
    uint32_t rng;
} srv;

static void say(const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof srv.out - srv.out_len) {
        sim.overflow = 1;
        return;
    }
    memcpy(srv.out + srv.out_len, s, n);
    srv.out_len += n;
}

void sim_reset(unsigned long size_limit)
{
    memset(&sim, 0, sizeof sim);
    memset(&srv, 0, sizeof srv);
    srv.size_limit = size_limit;
    srv.rng = 0x2545f491u;
    say("220 sim.example ESMTP ready\r\n");
}

int board_net_connect(void)
{
    sim_reset(100000);
    return 0;
}

static int is_cmd(const char *line, const char *cmd)
{
    for (size_t i = 0; cmd[i]; i++) {
        char c = line[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != cmd[i])
            return 0;
    }
    return 1;
}

static void copy_arg(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        sim.overflow = 1;
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int b64v(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static void decode_auth(const char *b64)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *b64 && *b64 != '='; b64++) {
        int v = b64v(*b64);
        if (v < 0 || n + 1 >= sizeof sim.auth) {
            sim.protocol_errors++;
            return;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char c = (char)(acc >> bits);
            sim.auth[n++] = c ? c : '|';
        }
    }
    sim.auth[n] = '\0';
}

static void data_line(const char *line, size_t len)
{
    if (len == 1 && line[0] == '.') {
        srv.in_data = 0;
        sim.messages++;
        say("250 2.0.0 queued as 1\r\n");
        return;
    }
    if (line[0] == '.') { /* undo dot-stuffing */
        line++;
        len--;
    }
    if (len + 2 > SIM_DATA_MAX - sim.data_len) {
        sim.overflow = 1;
        return;
    }
    memcpy(sim.data + sim.data_len, line, len);
    memcpy(sim.data + sim.data_len + len, "\r\n", 2);
    sim.data_len += len + 2;
}

static void command(const char *line)
{
    if (is_cmd(line, "EHLO ")) {
        static char ehlo[160];
        /* No printf on purpose: the image must not need a full one. */
        char num[16];
        size_t i = sizeof num - 1;
        unsigned long v = srv.size_limit;
        num[i] = '\0';
        do {
            num[--i] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        strcpy(ehlo, "250-sim.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE ");
        strcat(ehlo, num + i);
        strcat(ehlo, "\r\n250 AUTH PLAIN LOGIN\r\n");
        say(ehlo);
    } else if (is_cmd(line, "MAIL FROM:")) {
        copy_arg(sim.from, sizeof sim.from, line + 10);
        sim.n_rcpts = 0;
        say("250 2.1.0 ok\r\n");
    } else if (is_cmd(line, "RCPT TO:")) {
        if (strstr(line, "refused")) {
            say("550 5.1.1 no such mailbox\r\n");
        } else if (sim.n_rcpts < 4) {
            copy_arg(sim.rcpts[sim.n_rcpts++], sizeof sim.rcpts[0], line + 8);
            say("250 2.1.5 ok\r\n");
        } else {
            say("452 4.5.3 too many recipients\r\n");
        }
    } else if (is_cmd(line, "DATA")) {
        if (sim.n_rcpts == 0) {
            say("554 5.5.1 no valid recipients\r\n");
        } else {
            srv.in_data = 1;
            sim.data_len = 0;
            say("354 go ahead\r\n");
        }
    } else if (is_cmd(line, "AUTH PLAIN ")) {
        decode_auth(line + 11);
        say("235 2.7.0 authenticated\r\n");
    } else if (is_cmd(line, "RSET") || is_cmd(line, "NOOP")) {
        say("250 2.0.0 ok\r\n");
    } else if (is_cmd(line, "QUIT")) {
        sim.quit = 1;
        srv.closed = 1;
        say("221 2.0.0 bye\r\n");
    } else {
        sim.protocol_errors++;
        say("502 5.5.2 not implemented\r\n");
    }
}

int board_net_send(const uint8_t *p, size_t n)
{
    if (srv.closed)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' && srv.line_len && srv.line[srv.line_len - 1] == '\r') {
            srv.line[--srv.line_len] = '\0';
            if (srv.in_data)
                data_line(srv.line, srv.line_len);
            else
                command(srv.line);
            srv.line_len = 0;
        } else if (srv.line_len + 1 < sizeof srv.line) {
            srv.line[srv.line_len++] = (char)p[i];
        } else {
            sim.overflow = 1; /* over 998 + CRLF: the client broke the line limit */
        }
    }
    return (int)n;
}

int board_net_recv(uint8_t *p, size_t cap)
{
    size_t left = srv.out_len - srv.out_pos;
    if (left == 0) {
        srv.out_len = srv.out_pos = 0;
        return srv.closed ? -1 : 0;
    }
    size_t n = left < cap ? left : cap;
    memcpy(p, srv.out + srv.out_pos, n);
    srv.out_pos += n;
    return (int)n;
}

uint32_t board_millis(void)
{
    return srv.ticks++;
}

int board_clock(void *user, int64_t *unix_time, int *utc_offset_minutes)
{
    (void)user;
    *unix_time = 1750000000; /* Sun, 15 Jun 2025 15:06:40 UTC */
    *utc_offset_minutes = 120;
    return 0;
}

int board_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++) {
        /* xorshift32: unique enough for boundaries in a test. */
        srv.rng ^= srv.rng << 13;
        srv.rng ^= srv.rng >> 17;
        srv.rng ^= srv.rng << 5;
        buf[i] = (uint8_t)srv.rng;
    }
    return 0;
}

void board_idle(void)
{
}
