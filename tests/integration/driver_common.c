/* Shared by the integration drivers (see driver_common.h). */
#include "driver_common.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void driver_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p); /* UTF-8 passes through; JSON allows it raw */
    }
    putchar('"');
}

typedef struct {
    int code;
    const char *name;
} code_entry;

/* Every code in the public headers: the tests compare these names, and a
 * code shown as "SMTPC_E?" would hide which failure a run met. */
#define NAME(c) {c, #c}
static const code_entry code_names[] = {
    NAME(SMTPC_OK),           NAME(SMTPC_EINVAL),         NAME(SMTPC_ESTATE),
    NAME(SMTPC_ENOMEM),       NAME(SMTPC_ENOTSUP),        NAME(SMTPC_ETOOLONG),
    NAME(SMTPC_EADDRESS),     NAME(SMTPC_EBADCHAR),       NAME(SMTPC_E8BIT),
    NAME(SMTPC_EUTF8),        NAME(SMTPC_ESIZE),          NAME(SMTPC_ESOURCE),
    NAME(SMTPC_ENORECIPIENTS), NAME(SMTPC_ERESOLVE),      NAME(SMTPC_ECONNREFUSED),
    NAME(SMTPC_ECONNECT),     NAME(SMTPC_ETIMEDOUT),      NAME(SMTPC_ECLOSED),
    NAME(SMTPC_EIO),          NAME(SMTPC_EPROTO),         NAME(SMTPC_ELINE),
    NAME(SMTPC_EUNEXPECTED),  NAME(SMTPC_EGREETING),      NAME(SMTPC_ESHUTDOWN),
    NAME(SMTPC_EHELO),        NAME(SMTPC_EMAILFROM),      NAME(SMTPC_ERCPTS),
    NAME(SMTPC_EDATA),        NAME(SMTPC_EMESSAGE),       NAME(SMTPC_EUNKNOWN),
    NAME(SMTPC_ECOMMAND),     NAME(SMTPC_ETLS),           NAME(SMTPC_ETLS_VERIFY),
    NAME(SMTPC_ETLS_PIN),     NAME(SMTPC_ENOSTARTTLS),    NAME(SMTPC_ESTARTTLS),
    NAME(SMTPC_EINJECTION),   NAME(SMTPC_ETLS_HANDSHAKE), NAME(SMTPC_EAUTH_NOTOFFERED),
    NAME(SMTPC_EAUTH_NOMECH), NAME(SMTPC_EAUTH_FAILED),   NAME(SMTPC_EAUTH_WEAK),
    NAME(SMTPC_EAUTH_ENCRYPT), NAME(SMTPC_EAUTH_TEMP),    NAME(SMTPC_EAUTH_INSECURE),
    NAME(SMTPC_EAUTH_SERVER), NAME(SMTPC_EAUTH_PROTO),    NAME(SMTPC_EAUTH),
    NAME(SMTPC_EHEADER),      NAME(SMTPC_EFILE),          NAME(SMTPC_ESIZEUNKNOWN),
    NAME(SMTPC_EREPLYLIMIT),
    NAME(SMTPC_ENODSN),       NAME(SMTPC_EREQUIRETLS),
};
#undef NAME

const char *driver_code_name(int code)
{
    for (size_t i = 0; i < sizeof code_names / sizeof code_names[0]; i++)
        if (code_names[i].code == code)
            return code_names[i].name;
    return "SMTPC_E?";
}

void driver_json_rc(int rc)
{
    printf("\"rc\":%d,\"rc_name\":", rc);
    driver_json_string(driver_code_name(rc));
}

void driver_json_error_fields(const smtpc_error *err)
{
    printf("\"reply_code\":%d,\"enhanced\":", smtpc_error_reply_code(err));
    driver_json_string(smtpc_error_enhanced(err));
    printf(",\"reply_text\":");
    driver_json_string(smtpc_error_reply_text(err));
    printf(",\"message\":");
    driver_json_string(smtpc_error_message(err));
    printf(",\"temporary\":%d", smtpc_error_is_temporary(err));
}

int driver_parse_security(const char *name, int *out)
{
    static const struct {
        const char *name;
        int security;
    } levels[] = {
        {"plain", SMTPC_SECURITY_PLAIN},
        {"starttls", SMTPC_SECURITY_STARTTLS},
        {"starttls-optional", SMTPC_SECURITY_STARTTLS_OPTIONAL},
        {"tls", SMTPC_SECURITY_IMPLICIT_TLS},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(name, levels[i].name) == 0) {
            *out = levels[i].security;
            return 0;
        }
    }
    return -1;
}

const char *driver_trace_tag(int direction)
{
    return direction == SMTPC_TRACE_SEND   ? "C: "
           : direction == SMTPC_TRACE_RECV ? "S: "
                                           : "*  ";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int driver_finish(smtpc_client *c, int rc, driver_loop *loop)
{
    while (rc == SMTPC_INPROGRESS) {
        int fd = smtpc_client_fd(c);
        int bits = smtpc_client_events(c);
        int ms = smtpc_client_timeout(c);
        /* Without a descriptor (the tests' callback transport when the
         * library has no sockets) the transport is tried every 5 ms. */
        if (fd < 0 && (ms < 0 || ms > 5))
            ms = 5;
        struct pollfd p = {.fd = fd, .events = 0, .revents = 0};
        if (bits & SMTPC_POLL_READ)
            p.events |= POLLIN;
        if (bits & SMTPC_POLL_WRITE)
            p.events |= POLLOUT;
        int n;
        do
            n = fd >= 0 ? poll(&p, 1, ms) : poll(NULL, 0, ms);
        while (n < 0 && errno == EINTR);
        long long t0 = now_ms();
        rc = smtpc_client_step(c);
        long long took = now_ms() - t0;
        loop->steps++;
        if (took > loop->max_ms)
            loop->max_ms = took;
    }
    return rc;
}

void driver_json_loop(const driver_loop *loop)
{
    printf("{\"event\":\"nonblocking\",\"steps\":%ld,\"max_step_ms\":%lld}\n", loop->steps,
           loop->max_ms);
    fflush(stdout);
}
