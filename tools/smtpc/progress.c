/* smtpc command-line tool: the progress bar. It counts the bytes the
 * library pulls from the message (it sends them as it pulls them, through a
 * fixed buffer), and draws on stderr at most ten times a second.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <time.h>
#include <unistd.h>

/* Below this, a message goes out before a bar would be seen. */
#define PROGRESS_MIN_BYTES (1 << 20)
#define BAR_WIDTH 30

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(double v, char *buf, size_t cap)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void draw(cli_progress *p, double t)
{
    char done[32], total[32], rate[32];
    double elapsed = t - p->start;
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 1.0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * BAR_WIDTH);
    human((double)p->done, done, sizeof done);
    human((double)p->total, total, sizeof total);
    human(elapsed > 0 ? (double)p->done / elapsed : 0, rate, sizeof rate);
    fputc('\r', stderr);
    fputc('[', stderr);
    for (int i = 0; i < BAR_WIDTH; i++)
        fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%%  %s / %s  %s/s   ", (int)(frac * 100), done, total, rate);
    fflush(stderr);
    p->drawn = 1;
    p->last = t;
}

void cli_progress_start(cli_progress *p, int mode, int64_t total)
{
    p->on = mode == 1 || (mode < 0 && total >= PROGRESS_MIN_BYTES && isatty(STDERR_FILENO));
    p->total = total;
    p->done = 0;
    p->drawn = 0;
    p->start = p->last = now();
}

void cli_progress_add(cli_progress *p, size_t n)
{
    if (!p->on)
        return;
    p->done += (int64_t)n;
    double t = now();
    if (t - p->last >= 0.1 || p->done >= p->total)
        draw(p, t);
}

void cli_progress_end(cli_progress *p)
{
    if (!p->on)
        return;
    if (!p->drawn && p->done == 0) {
        p->on = 0; /* refused before the body: no empty bar */
        return;
    }
    draw(p, now());
    fputc('\n', stderr);
    p->on = 0;
}
