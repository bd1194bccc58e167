/* firmware example: a bare-metal main loop (no OS) that mails a sensor log
 * as an attachment through the sans-io engine, with all of the library's
 * memory in one static arena. The board supplies the network pipe, clock,
 * random bytes and idle (board.h). See README.md for the build. */
#include <stdio.h>

#include "board.h"
#include "mailer.h"

/* The engine (1 KiB of output, 512-byte reply lines) and a message with one
 * attachment take about 18 KiB at peak (printed below); a bump arena gives
 * back only the latest block, hence the margin. */
static unsigned char heap_mem[24 * 1024];

/* Stands in for a log kept by the application. */
static uint8_t sensor_log[1500];

static int build_message(const smtpc_allocator *alloc, smtpc_message **out)
{
    for (size_t i = 0; i < sizeof sensor_log; i++)
        sensor_log[i] = (uint8_t)(i * 7 + (i >> 8));
    smtpc_message *msg = NULL;
    int rc = smtpc_message_new(alloc, &msg);
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_from(msg, "device-17@sensors.example", "Sensor 17");
    if (rc == SMTPC_OK)
        rc = smtpc_message_add_to(msg, "ops@example.com", NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_subject(msg, "Daily log");
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_text(msg, "Today's readings are attached.\n", 31,
                                    SMTPC_MEM_BORROW);
    if (rc == SMTPC_OK)
        rc = smtpc_message_attach_mem(msg, sensor_log, sizeof sensor_log, SMTPC_MEM_BORROW,
                                      "log.bin", NULL);
    /* No OS: the Date comes from the RTC and boundaries from the TRNG. */
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_clock(msg, board_clock, NULL);
    if (rc == SMTPC_OK)
        rc = smtpc_message_set_random(msg, board_random, NULL);
    if (rc != SMTPC_OK) {
        smtpc_message_free(msg);
        return rc;
    }
    *out = msg;
    return SMTPC_OK;
}

int main(void)
{
    static arena heap;
    arena_init(&heap, heap_mem, sizeof heap_mem);
    const smtpc_allocator alloc = arena_allocator(&heap);

    smtpc_message *msg = NULL;
    static mailer job;
    int rc = build_message(&alloc, &msg);
    if (rc == SMTPC_OK && board_net_connect() != 0)
        rc = SMTPC_ECONNECT;
    if (rc == SMTPC_OK)
        rc = mailer_start(&job, &alloc, "sensor-17.example", msg);
    /* The main loop: other work would be polled here too. */
    if (rc == SMTPC_OK)
        while ((rc = mailer_poll(&job)) == MAILER_BUSY)
            board_idle();
    if (rc == SMTPC_OK)
        printf("log mailed\n");
    else
        printf("mail failed: %s\n", mailer_error(&job));
    printf("library memory: %u bytes at peak of %u\n", (unsigned)heap.peak,
           (unsigned)sizeof heap_mem);
    mailer_free(&job);
    smtpc_message_free(msg);
    return rc == SMTPC_OK ? 0 : 1;
}
