/* Watching the server's side of a TLS handshake for the two facts mbedTLS
 * has no public getter for: which alert the server sent, and whether it
 * asked for a client certificate. Only plaintext records can be read (all
 * of TLS 1.2's handshake up to the server's ChangeCipherSpec, TLS 1.3's up
 * to ServerHello); the watch stops at the first encrypted record. It only
 * counts bytes and copies fixed-size headers, so any input is safe. No
 * mbedTLS here. */
#ifndef SMTPC_TLS_RECORDS_H
#define SMTPC_TLS_RECORDS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t hdr[5];       /* record header being collected */
    uint8_t hs_hdr[4];    /* handshake message header being collected */
    uint8_t alert[2];     /* body of a plaintext alert record */
    uint8_t hdr_len;
    uint8_t hs_hdr_len;
    uint8_t alert_len;
    uint8_t type;         /* content type of the current record */
    size_t rec_len;       /* length of the current record */
    size_t body_left;     /* bytes of the current record still to come */
    size_t hs_left;       /* bytes of the current handshake message still to come */
    int stopped;          /* an encrypted record was seen: nothing more to read */
    int cert_requested;   /* a CertificateRequest went by */
    int alert_desc;       /* the last fatal alert's description, or -1 */
} smtpc_tls_watch;

void smtpc_tls_watch_init(smtpc_tls_watch *w);
/* Feed the next n bytes the server sent. */
void smtpc_tls_watch_feed(smtpc_tls_watch *w, const uint8_t *p, size_t n);
/* The RFC 8446 name of an alert description ("bad_certificate"), or NULL
 * for one without a name here. */
const char *smtpc_tls_alert_name(int desc);
/* 1 if a server sends this alert when it refuses the client's certificate
 * (or the lack of one), else 0. */
int smtpc_tls_alert_about_client_cert(int desc);

#endif
