/* RFC 5322 section 3.3 date-time from a count of seconds, with our own
 * calendar arithmetic: the clock hook gives only seconds and an offset, and
 * firmware may have no gmtime. */
#include <string.h>

#include "message_internal.h"

/* Days since 1970-01-01 to a proleptic Gregorian date, via 400-year eras
 * that start on March 1st so that the leap day ends each cycle. */
/* Years 1..9999 only (checked by the caller): every day count and year
 * fits 32 bits, so no 64-bit division (a library call on Cortex-M). */
static void civil_from_days(int32_t z, int32_t *y, unsigned *m, unsigned *d)
{
    z += 719468; /* days from 0000-03-01 to 1970-01-01: now >= 0 */
    int32_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                        /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                   /* March = 0 */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int32_t)yoe + era * 400 + (*m <= 2);
}

int smtpc_msg_format_date(int64_t unix_time, int utc_offset_minutes, char *out, size_t cap)
{
    /* Three letters each, packed: no table of pointers. The days from
     * Thursday (1970-01-01 was one), then the months. */
    static const char names[] = "ThuFriSatSunMonTueWed"
                                "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (utc_offset_minutes <= -24 * 60 || utc_offset_minutes >= 24 * 60 ||
        unix_time < -62135596800LL || unix_time > 253402300799LL || /* years 1..9999 */
        cap < 32)
        return -1;
    int64_t t = unix_time + (int64_t)utc_offset_minutes * 60;
    /* Counted from 0001-01-01 (unix_time checked above, the offset under a
     * day): never negative and below 2^39. 86400 = 128 * 675, so dropping
     * the low 7 bits first leaves a 32-bit division (the 64-bit one is a
     * library call on Cortex-M). */
    uint64_t since1 = (uint64_t)(t + 62135596800LL + 86400);
    uint32_t q = (uint32_t)(since1 >> 7) / 675;
    int32_t days = (int32_t)q - 719163; /* days 0001-01-01..1970-01-01, plus 1 */
    unsigned secs = (uint32_t)since1 - q * 86400u; /* exact modulo 2^32: below 86400 */
    int32_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* 1970-01-01 was a Thursday (names[0]); 719166 is a multiple of 7 that
     * keeps the dividend non-negative. */
    unsigned wd = (unsigned)(days + 719166) % 7;
    unsigned off = (unsigned)(utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes);
    /* RFC 5322 section 3.3 allows no year before 1900, and the fixed width
     * below holds four digits: a local date outside (a clock far off, or an
     * offset that carries 9999-12-31 into the year 10000) is refused rather
     * than written wrong. */
    if ((uint32_t)(y - 1900) > 9999 - 1900)
        return -1;
    unsigned yr = (unsigned)y;
    /* "Sun, 15 Jun 2025 10:00:17 +0200": every field has a fixed width,
     * written two digits at a time, no printf. */
    memcpy(out, "Thu, 00 Jan 0000 00:00:00 +0000", 32);
    memcpy(out, names + 3 * wd, 3);
    memcpy(out + 8, names + 18 + 3 * m, 3); /* 21 + 3 * (m - 1) */
    /* Digits right to left, field by field: the time of day in seconds
     * (radix 10, 6, 10, 6, 10, 10), the offset in minutes (10, 6, 10, 10),
     * the year and the day. Each entry: the position, 0x40 when the digit
     * is base 6, 0x80 when it starts the next field. */
    static const unsigned char digit[] = {
        24, 23 | 0x40, 21, 20 | 0x40, 18, 17, 0x80 | 30, 29 | 0x40, 28, 27,
        0x80 | 15, 14, 13, 12, 0x80 | 6, 5};
    const unsigned field[] = {secs, off, yr, d};
    unsigned v = secs, f = 0;
    for (size_t i = 0; i < sizeof digit; i++) {
        unsigned r = digit[i] & 0x40 ? 6 : 10;
        if (digit[i] & 0x80)
            v = field[++f];
        out[digit[i] & 0x3f] = (char)('0' + v % r);
        v /= r;
    }
    if (utc_offset_minutes < 0)
        out[26] = '-';
    return 0;
}
