/* The default clock, alone in its file so that a port without time() can
 * leave it out and install smtpc_message_set_clock instead. */
#include <time.h>

#include "port.h"

int smtpc_clock_default(void *user, int64_t *unix_time, int *utc_offset_minutes)
{
    (void)user;
    time_t now = time(NULL);
    if (now == (time_t)-1)
        return -1;
    *unix_time = (int64_t)now;
    /* UTC: correct everywhere, and no dependence on the process's TZ. */
    *utc_offset_minutes = 0;
    return 0;
}
