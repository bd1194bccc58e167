/* LD_PRELOAD shim: the host name "fallback.test" resolves to 127.0.0.2
 * first and 127.0.0.1 second, so a connect to a server listening on
 * 127.0.0.1 only is refused on the first address and must go on to the
 * next one (a new socket, often with the number of the one just closed).
 * Every other name goes to the C library. With SMTPC_TWO_ADDRS_LOG set,
 * connect appends the IPv4 address of each attempt to that file, so the
 * test sees both tried. Test code only, never linked into the library. */
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

/* glibc declares RTLD_NEXT only with _GNU_SOURCE, which would also turn
 * connect's declaration into a transparent union this file cannot match
 * in ISO C; the value is glibc's. */
#ifndef RTLD_NEXT
#define RTLD_NEXT ((void *)-1l)
#endif

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                              struct addrinfo **);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

/* dlsym's object pointer into a function pointer, the POSIX way. */
static void *next_symbol(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* One entry with its address in the same block, as glibc lays them out,
 * so that glibc's freeaddrinfo frees it. */
static struct addrinfo *entry(const char *ip, unsigned short port, struct addrinfo *next)
{
    struct {
        struct addrinfo ai;
        struct sockaddr_in sin;
    } *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->sin.sin_family = AF_INET;
    e->sin.sin_port = htons(port);
    inet_pton(AF_INET, ip, &e->sin.sin_addr);
    e->ai.ai_family = AF_INET;
    e->ai.ai_socktype = SOCK_STREAM;
    e->ai.ai_protocol = IPPROTO_TCP;
    e->ai.ai_addrlen = sizeof e->sin;
    e->ai.ai_addr = (struct sockaddr *)&e->sin;
    e->ai.ai_next = next;
    return &e->ai;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    if (node && strcmp(node, "fallback.test") == 0) {
        long port = service ? strtol(service, NULL, 10) : 0;
        if (port <= 0 || port > 65535)
            return EAI_SERVICE;
        struct addrinfo *second = entry("127.0.0.1", (unsigned short)port, NULL);
        struct addrinfo *first = second ? entry("127.0.0.2", (unsigned short)port, second) : NULL;
        if (!first) {
            free(second);
            return EAI_MEMORY;
        }
        *res = first;
        return 0;
    }
    getaddrinfo_fn real;
    *(void **)&real = next_symbol("getaddrinfo");
    return real ? real(node, service, hints, res) : EAI_SYSTEM;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const char *log = getenv("SMTPC_TWO_ADDRS_LOG");
    if (log && addr && addr->sa_family == AF_INET) {
        char ip[INET_ADDRSTRLEN];
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
        FILE *f = fopen(log, "a");
        if (f && inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip)) {
            fprintf(f, "%s\n", ip);
        }
        if (f)
            fclose(f);
    }
    connect_fn real;
    *(void **)&real = next_symbol("connect");
    return real ? real(fd, addr, len) : -1;
}
