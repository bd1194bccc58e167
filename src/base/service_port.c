/* Port strings, checked before they reach getaddrinfo (see service_port.h). */
#include "service_port.h"
#include "error.h" /* smtpc_format_text: no texts with -Dmessages=short */
#include "smtpc/base.h"

#include <stdio.h>
#include <string.h>

/* Longer than any name in /etc/services; a bound keeps the message short. */
#define SERVICE_NAME_MAX 32

static int is_digit(char ch)
{
    return (unsigned)(ch - '0') < 10;
}

static int is_alpha(char ch)
{
    return (unsigned)((ch | 0x20) - 'a') < 26;
}

int smtpc_port_check(const char *port, char *msg, size_t cap)
{
    static const char want[] = "a number in 1..65535 or a service name such as \"smtp\"";
    if (!port || !port[0]) {
        smtpc_format_text(msg, cap, "no port given (%s)", want);
        return SMTPC_EINVAL;
    }
    /* A number (all digits), or a name: a letter first, then letters,
     * digits, '-', '_' or '.'. */
    int number = is_digit(port[0]);
    int ok = number || (is_alpha(port[0]) && strlen(port) <= SERVICE_NAME_MAX);
    unsigned long value = 0;
    for (const char *p = port; ok && *p; p++) {
        ok = is_digit(*p) || (!number && (is_alpha(*p) || *p == '-' || *p == '_' || *p == '.'));
        /* Stop counting past the range, so a long string cannot wrap. */
        if (number && value <= 65535)
            value = value * 10 + (unsigned long)(*p - '0');
    }
    if (ok && (!number || (value >= 1 && value <= 65535)))
        return SMTPC_OK;
    if (ok)
        smtpc_format_text(msg, cap, "port \"%.40s\" out of range (%s)", port, want);
    else
        smtpc_format_text(msg, cap, "port \"%.40s\" is not %s", port, want);
    return SMTPC_EINVAL;
}
