/* Reading the server's plaintext handshake records (see tls_records.h). */
#include "tls_records.h"

#include <string.h>

/* RFC 8446 5.1 content types and 4 handshake types */
#define CT_CHANGE_CIPHER_SPEC 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPLICATION_DATA 23
#define CT_HEARTBEAT 24
#define HS_CERTIFICATE_REQUEST 13
#define ALERT_LEVEL_FATAL 2

void smtpc_tls_watch_init(smtpc_tls_watch *w)
{
    memset(w, 0, sizeof *w);
    w->alert_desc = -1;
}

static void record_start(smtpc_tls_watch *w)
{
    w->type = w->hdr[0];
    w->rec_len = (size_t)w->hdr[3] << 8 | w->hdr[4];
    w->body_left = w->rec_len;
    w->alert_len = 0;
    w->hdr_len = 0;
    /* After ChangeCipherSpec (TLS 1.2, or 1.3's compatibility record) or
     * once records carry application data (TLS 1.3 hides everything
     * there), the rest is encrypted; anything outside the known types is
     * not TLS at all. */
    if (w->type == CT_CHANGE_CIPHER_SPEC || w->type == CT_APPLICATION_DATA ||
        w->type < CT_CHANGE_CIPHER_SPEC || w->type > CT_HEARTBEAT)
        w->stopped = 1;
}

static void handshake_bytes(smtpc_tls_watch *w, const uint8_t *p, size_t n)
{
    /* Messages may span records and records may hold several messages:
     * the position is kept across calls. */
    while (n > 0) {
        if (w->hs_left > 0) {
            size_t k = n < w->hs_left ? n : w->hs_left;
            w->hs_left -= k;
            p += k;
            n -= k;
            continue;
        }
        w->hs_hdr[w->hs_hdr_len++] = *p++;
        n--;
        if (w->hs_hdr_len == sizeof w->hs_hdr) {
            if (w->hs_hdr[0] == HS_CERTIFICATE_REQUEST)
                w->cert_requested = 1;
            w->hs_left = (size_t)w->hs_hdr[1] << 16 | (size_t)w->hs_hdr[2] << 8 | w->hs_hdr[3];
            w->hs_hdr_len = 0;
        }
    }
}

static void record_end(smtpc_tls_watch *w)
{
    /* A plaintext alert is exactly level and description. */
    if (w->type == CT_ALERT && w->rec_len == sizeof w->alert &&
        w->alert[0] == ALERT_LEVEL_FATAL)
        w->alert_desc = w->alert[1];
}

void smtpc_tls_watch_feed(smtpc_tls_watch *w, const uint8_t *p, size_t n)
{
    while (n > 0 && !w->stopped) {
        if (w->body_left == 0) {
            w->hdr[w->hdr_len++] = *p++;
            n--;
            if (w->hdr_len == sizeof w->hdr) {
                record_start(w);
                if (w->body_left == 0)
                    record_end(w);
            }
            continue;
        }
        size_t k = n < w->body_left ? n : w->body_left;
        if (w->type == CT_HANDSHAKE) {
            handshake_bytes(w, p, k);
        } else if (w->type == CT_ALERT) {
            for (size_t i = 0; i < k && w->alert_len < sizeof w->alert; i++)
                w->alert[w->alert_len++] = p[i];
        }
        p += k;
        n -= k;
        w->body_left -= k;
        if (w->body_left == 0)
            record_end(w);
    }
}

const char *smtpc_tls_alert_name(int desc)
{
    static const struct {
        int desc;
        const char *name;
    } names[] = {
        {0, "close_notify"},
        {10, "unexpected_message"},
        {20, "bad_record_mac"},
        {22, "record_overflow"},
        {40, "handshake_failure"},
        {42, "bad_certificate"},
        {43, "unsupported_certificate"},
        {44, "certificate_revoked"},
        {45, "certificate_expired"},
        {46, "certificate_unknown"},
        {47, "illegal_parameter"},
        {48, "unknown_ca"},
        {49, "access_denied"},
        {50, "decode_error"},
        {51, "decrypt_error"},
        {70, "protocol_version"},
        {71, "insufficient_security"},
        {80, "internal_error"},
        {86, "inappropriate_fallback"},
        {90, "user_canceled"},
        {109, "missing_extension"},
        {110, "unsupported_extension"},
        {112, "unrecognized_name"},
        {113, "bad_certificate_status_response"},
        {115, "unknown_psk_identity"},
        {116, "certificate_required"},
        {120, "no_application_protocol"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].desc == desc)
            return names[i].name;
    return NULL;
}

int smtpc_tls_alert_about_client_cert(int desc)
{
    switch (desc) {
    case 40:  /* handshake_failure: OpenSSL's answer to a missing certificate in 1.2 */
    case 42:  /* bad_certificate */
    case 43:  /* unsupported_certificate */
    case 44:  /* certificate_revoked */
    case 45:  /* certificate_expired */
    case 46:  /* certificate_unknown */
    case 48:  /* unknown_ca */
    case 49:  /* access_denied */
    case 116: /* certificate_required (TLS 1.3) */
        return 1;
    default:
        return 0;
    }
}
