/* Recognising IP-address literals, so that the TLS layer can match them
 * against iPAddress SANs instead of DNS names. No mbedTLS here. */
#ifndef SMTPC_TLS_IP_H
#define SMTPC_TLS_IP_H
#include <stdint.h>

/* If s is an IPv4 dotted quad or an IPv6 literal (optionally in brackets,
 * an embedded dotted quad allowed, no zone id), store its network-order bytes
 * in out and return 4 or 16; otherwise return 0 (s is a host name). Leading
 * zeros in a dotted quad are refused: some resolvers read them as octal, so
 * the literal would be ambiguous. */
int smtpc_tls_parse_ip(const char *s, uint8_t out[16]);
/* The value of a hexadecimal digit, or -1. */
int smtpc_hex_digit(char c);

#endif
