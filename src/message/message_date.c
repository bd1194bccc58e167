/* RFC 5322 section 3.3 date-time from a count of seconds, with our own
 * calendar arithmetic: the clock hook gives only seconds and an offset, and
 * firmware may have no gmtime. */
#include <string.h>

#include "fmt.h"
#include "message_internal.h"

/* Days since 1970-01-01 to a proleptic Gregorian date, via 400-year eras
 * that start on March 1st so that the leap day ends each cycle. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468; /* days from 0000-03-01 to 1970-01-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                        /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                   /* March = 0 */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int smtpc_msg_format_date(int64_t unix_time, int utc_offset_minutes, char *out, size_t cap)
{
    static const char *const wday[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (utc_offset_minutes <= -24 * 60 || utc_offset_minutes >= 24 * 60 ||
        unix_time < -62135596800LL || unix_time > 253402300799LL) /* years 1..9999 */
        return -1;
    int64_t t = unix_time + (int64_t)utc_offset_minutes * 60;
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t wd = days % 7;
    if (wd < 0)
        wd += 7;
    int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
    /* "Sun, 15 Jun 2025 10:00:17 +0200": every field has a fixed width
     * (the year is 1..9999), written digit by digit, no printf. */
    char year[SMTPC_FMT_INT_MAX];
    smtpc_fmt_i64(year, y, 4);
    const unsigned two[] = {d, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
                            (unsigned)(secs % 60), (unsigned)off / 60, (unsigned)off % 60};
    char text[32];
    memcpy(text, wday[wd], 3);
    memcpy(text + 3, ", 00 ", 5);
    memcpy(text + 8, mon[m - 1], 3);
    text[11] = ' ';
    memcpy(text + 12, year, 4);
    memcpy(text + 16, " 00:00:00 +0000", 16);
    static const unsigned char at[] = {5, 17, 20, 23, 27, 29};
    for (size_t i = 0; i < sizeof at; i++) {
        text[at[i]] = (char)('0' + two[i] / 10);
        text[at[i] + 1] = (char)('0' + two[i] % 10);
    }
    if (utc_offset_minutes < 0)
        text[26] = '-';
    if (cap < sizeof text)
        return -1;
    memcpy(out, text, sizeof text);
    return 0;
}
