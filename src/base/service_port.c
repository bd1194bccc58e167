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
    return ch >= '0' && ch <= '9';
}

static int is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

int smtpc_port_check(const char *port, char *msg, size_t cap)
{
    static const char want[] = "a number in 1..65535 or a service name such as \"smtp\"";
    if (!port || !port[0]) {
        smtpc_format_text(msg, cap, "no port given (%s)", want);
        return SMTPC_EINVAL;
    }
    size_t len = strlen(port);
    if (is_digit(port[0])) {
        unsigned long value = 0;
        size_t i = 0;
        /* Stop counting past the range, so a long string cannot wrap. */
        for (; is_digit(port[i]); i++)
            if (value <= 65535)
                value = value * 10 + (unsigned long)(port[i] - '0');
        if (i == len && value >= 1 && value <= 65535)
            return SMTPC_OK;
        if (i == len)
            smtpc_format_text(msg, cap, "port \"%.40s\" out of range (%s)", port, want);
        else
            smtpc_format_text(msg, cap, "port \"%.40s\" is not %s", port, want);
        return SMTPC_EINVAL;
    }
    int ok = is_alpha(port[0]) && len <= SERVICE_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = is_alpha(port[i]) || is_digit(port[i]) || port[i] == '-' || port[i] == '_' ||
             port[i] == '.';
    if (ok)
        return SMTPC_OK;
    smtpc_format_text(msg, cap, "port \"%.40s\" is not %s", port, want);
    return SMTPC_EINVAL;
}
