/* The port half of a server address, checked where it is given
 * (smtpc_client_set_server) and where it is dialled (the socket transport). */
#ifndef SMTPC_SERVICE_PORT_H
#define SMTPC_SERVICE_PORT_H
#include <stddef.h>

/* Check a port string before it reaches getaddrinfo, which reads "99999"
 * as port 34463 and "65536" as port 0: a number in 1..65535, or a service
 * name ("smtp", "submission"). Returns SMTPC_OK, or SMTPC_EINVAL with the
 * reason in msg (cap bytes). */
int smtpc_port_check(const char *port, char *msg, size_t cap);

#endif
