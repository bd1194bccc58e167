/* The TLS transport over mbedTLS: a session over any inner transport,
 * BIO callbacks with deadlines, verification and pinning, handshake error
 * reporting, and the send/recv/close of the transport vtable. Its settings
 * come from a smtpc_tls_config (tls_config.c). */
#include "tls_mbedtls.h"

/* Bound on waiting for the peer to take our close_notify: closing must not
 * hang on a peer that stopped reading. */
#define CLOSE_NOTIFY_TIMEOUT_MS 1000
/* iPAddress in GeneralName (RFC 5280 4.2.1.6) */
#define SAN_TAG_IP (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)
/* The first bytes of the server's handshake kept for the error message:
 * enough to show an SMTP greeting line. */
#define FIRST_BYTES_MAX 48
#define FIRST_BYTES_SHOWN 32

/* ------------------------------------------------------------------------
 * The TLS transport
 * ---------------------------------------------------------------------- */

typedef struct {
    smtpc_transport *self;  /* for its error record */
    smtpc_transport *inner; /* owned */
    const smtpc_tls_config *cfg;
    char *server_name;      /* without brackets; smtpc_strdup; NULL: none (no SNI) */
    uint8_t ip[16];
    int ip_len;             /* 4 or 16 when server_name is an IP literal */
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    long long deadline;     /* monotonic ms for the current operation, -1: none */
    /* The current operation was called with timeout 0: the BIO makes one
     * try of the inner transport and answers WANT_READ/WANT_WRITE instead
     * of waiting or timing out. */
    int nonblocking;
    /* mbedTLS's count of record bytes it holds unsent (its out_left, which
     * 3.x keeps private), followed here: it hands the BIO exactly that many
     * bytes each time it flushes. Non-zero after a non-blocking write whose
     * record could not all go out: those bytes were reported as sent, and
     * the next send or recv pushes them out before anything else. */
    size_t out_left;
    unsigned long moved;    /* bytes through the BIO: progress in one try */
    int inner_rc;           /* the inner transport's failure, if that is what broke */
    int setup_started;      /* session_setup ran: the mbedTLS contexts need freeing */
    int handshake_tried;    /* a second handshake on a failed session is refused */
    int handshake_done;
    int handshake_running;  /* a non-blocking handshake returned SMTPC_INPROGRESS */
    int broken;             /* the record layer is out of step: no further I/O */
    int peer_closed;
    int pin_checked;
    int pin_mismatch;
    uint32_t vflags;        /* every verification flag seen, for messages */
    smtpc_tls_watch watch;  /* the server's plaintext handshake, for messages */
    /* The server closed while we sent during the handshake; the rest was
     * dropped so that mbedTLS goes on to read why (its alert). The session
     * is never handed out then. */
    int send_lost;
    int app_data_seen;      /* a read returned data: the handshake was accepted */
    uint8_t first[FIRST_BYTES_MAX]; /* what the server sent first, for messages */
    size_t first_len;
} tls_session;

/* Who we talk to, for messages: a session without a name (verification
 * off) still needs one. */
static const char *peer_name(const tls_session *s)
{
    return s->server_name ? s->server_name : "the server";
}

static long long deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : smtpc_monotonic_ms() + timeout_ms;
}

/* Milliseconds left for the current operation: -1 for no limit, 0 when the
 * deadline has passed. */
static int time_left(const tls_session *s)
{
    if (s->deadline < 0)
        return -1;
    long long left = s->deadline - smtpc_monotonic_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* The I/O an operation waits for, when mbedTLS says WANT_READ/WANT_WRITE. */
static int is_want(int ret)
{
    return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

static int want_events(int ret)
{
    return ret == MBEDTLS_ERR_SSL_WANT_READ ? SMTPC_POLL_READ : SMTPC_POLL_WRITE;
}

/* After WANT_READ/WANT_WRITE: try again? Blocking, while time is left;
 * non-blocking, while the last try moved bytes (so that one call does as
 * much as the socket allows). */
static int go_on(const tls_session *s, unsigned long moved_before)
{
    return s->nonblocking ? s->moved != moved_before : time_left(s) != 0;
}

#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#define IS_TICKET(ret) ((ret) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#else
#define IS_TICKET(ret) 0
#endif

/* Push out the rest of a record reported as sent (see out_left). A write
 * of no bytes is mbedTLS's way to only flush; it is made only while bytes
 * are pending, else it would send an empty record. Returns 0 or
 * mbedtls_ssl_write's error (WANT_* included). */
static int flush_pending(tls_session *s)
{
    static const unsigned char nothing[1] = {0};
    while (s->out_left > 0) {
        int ret = mbedtls_ssl_write(&s->ssl, nothing, 0);
        if (IS_TICKET(ret)) /* a TLS 1.3 ticket read earlier was taken in */
            continue;
        if (ret < 0)
            return ret;
        s->out_left = 0;
    }
    return 0;
}

/* Start an operation bounded by timeout_ms; 0 makes it one try. */
static void begin_op(tls_session *s, int timeout_ms)
{
    s->nonblocking = timeout_ms == 0;
    s->deadline = deadline_after(timeout_ms);
    s->inner_rc = 0;
}

static int bio_fail(tls_session *s, int rc)
{
    s->inner_rc = rc;
    if (rc == SMTPC_ETIMEDOUT)
        return MBEDTLS_ERR_SSL_TIMEOUT;
    if (rc == SMTPC_ECLOSED)
        return MBEDTLS_ERR_SSL_CONN_EOF;
    return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tls_session *s = ctx;
    int left = s->nonblocking ? 0 : time_left(s);
    if (left == 0 && !s->nonblocking) {
        smtpc_transport_set_errmsg(s->inner, "deadline passed");
        return bio_fail(s, SMTPC_ETIMEDOUT);
    }
    s->out_left = len;
    if (s->send_lost) {
        s->out_left = 0;
        return len > INT_MAX ? INT_MAX : (int)len;
    }
    size_t sent = 0;
    int rc = smtpc_transport_send(s->inner, buf, len, left, &sent);
    if (s->nonblocking && (rc == SMTPC_ETIMEDOUT || (rc == SMTPC_OK && sent == 0)))
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    if (rc == SMTPC_OK && sent > INT_MAX)
        sent = INT_MAX;
    if (rc == SMTPC_OK) {
        s->out_left = len - sent;
        s->moved += sent;
    }
    if (rc == SMTPC_ECLOSED && !s->handshake_done && s->first_len > 0) {
        /* The server hung up on our flight, usually right after an alert
         * that is waiting to be read (a client certificate refused while
         * we still sent): let mbedTLS go on to read it, instead of
         * reporting only the broken pipe. */
        s->inner_rc = rc;
        s->send_lost = 1;
        s->out_left = 0;
        return len > INT_MAX ? INT_MAX : (int)len;
    }
    if (rc != SMTPC_OK)
        return bio_fail(s, rc);
    if (sent == 0) {
        /* mbedTLS reads 0 as success with nothing left to flush. */
        smtpc_transport_set_errmsg(s->inner, "transport accepted no bytes");
        return bio_fail(s, SMTPC_ETIMEDOUT);
    }
    return sent > INT_MAX ? INT_MAX : (int)sent;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tls_session *s = ctx;
    int left = s->nonblocking ? 0 : time_left(s);
    if (left == 0 && !s->nonblocking) {
        smtpc_transport_set_errmsg(s->inner, "deadline passed");
        return bio_fail(s, SMTPC_ETIMEDOUT);
    }
    if (len > INT_MAX)
        len = INT_MAX;
    size_t got = 0;
    int rc = smtpc_transport_recv(s->inner, buf, len, left, &got);
    if (s->nonblocking && rc == SMTPC_ETIMEDOUT)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (rc != SMTPC_OK)
        return bio_fail(s, rc);
    s->moved += got;
    if (!s->handshake_done)
        smtpc_tls_watch_feed(&s->watch, buf, got);
    if (!s->handshake_done && s->first_len < sizeof s->first) {
        size_t n = sizeof s->first - s->first_len;
        if (n > got)
            n = got;
        memcpy(s->first + s->first_len, buf, n);
        s->first_len += n;
    }
    return (int)got;
}

static int cert_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip, int ip_len)
{
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san; san = san->next) {
        if (san->buf.p && san->buf.tag == SAN_TAG_IP && san->buf.len == (size_t)ip_len &&
            memcmp(san->buf.p, ip, (size_t)ip_len) == 0)
            return 1;
    }
    return 0;
}

static int sha256(const unsigned char *in, size_t len, unsigned char out[32])
{
#if SMTPC_MBEDTLS_3
    return mbedtls_sha256(in, len, out, 0);
#else
    return mbedtls_sha256_ret(in, len, out, 0);
#endif
}

static int check_pin(tls_session *s, const mbedtls_x509_crt *leaf)
{
    unsigned char digest[32];
    s->pin_checked = 1;
    if (!leaf->pk_raw.p || sha256(leaf->pk_raw.p, leaf->pk_raw.len, digest) != 0 ||
        !smtpc_ct_equal(digest, s->cfg->pin, sizeof digest)) {
        s->pin_mismatch = 1;
        return 0;
    }
    return 1;
}

/* Called by mbedTLS for each certificate of the chain, root first. The leaf
 * (depth 0) gets the checks mbedTLS 2.28 does not do: IP literals against
 * iPAddress SANs (it only matches DNS names), and the public-key pin. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    tls_session *s = ctx;
    if (depth == 0) {
        if (s->ip_len) {
            /* RFC 6125: an IP literal matches only an iPAddress SAN,
             * never a DNS name or the CN. */
            *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
            if (!cert_has_ip(crt, s->ip, s->ip_len))
                *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        }
        if (s->cfg->have_pin && !check_pin(s, crt))
            return MBEDTLS_ERR_X509_FATAL_ERROR; /* abort even with verification off */
    }
    s->vflags |= *flags;
    return 0;
}

static void describe_flags(const tls_session *s, uint32_t flags, char *buf, size_t cap)
{
    struct {
        uint32_t bit;
        const char *text;
    } reasons[] = {
        {MBEDTLS_X509_BADCERT_NOT_TRUSTED, "untrusted (self-signed or not issued by a trusted CA)"},
        {MBEDTLS_X509_BADCERT_EXPIRED, "expired"},
        {MBEDTLS_X509_BADCERT_FUTURE, "not yet valid"},
        {MBEDTLS_X509_BADCERT_CN_MISMATCH, "host-name mismatch"},
        {MBEDTLS_X509_BADCERT_REVOKED, "revoked"},
        {MBEDTLS_X509_BADCERT_MISSING, "no certificate sent"},
        {MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY,
         "weak signature or key"},
        {MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
             MBEDTLS_X509_BADCERT_NS_CERT_TYPE,
         "not valid for a TLS server"},
    };
    size_t used = 0;
    uint32_t known = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        known |= reasons[i].bit;
        if (!(flags & reasons[i].bit) || used >= cap)
            continue;
        int n;
        if (reasons[i].bit == MBEDTLS_X509_BADCERT_CN_MISMATCH)
            n = snprintf(buf + used, cap - used, "%shost-name mismatch (not valid for %s)",
                         used ? "; " : "", peer_name(s));
        else
            n = snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", reasons[i].text);
        used += n > 0 ? (size_t)n : 0;
    }
    if ((flags & ~known) && used < cap)
        snprintf(buf + used, cap - used, "%srejected (flags 0x%x)", used ? "; " : "",
                 (unsigned)(flags & ~known));
}

static int session_setup(tls_session *s, char *msg, size_t cap)
{
    const smtpc_tls_config *cfg = s->cfg;
    char why[200];
    int ret;

    mbedtls_ctr_drbg_context *drbg = NULL;
    int nomem = 0;
    mbedtls_ssl_config_init(&s->conf);
    mbedtls_ssl_init(&s->ssl);
    if (smtpc_tls_crypto_init(msg, cap) != 0)
        return SMTPC_ETLS;
    ret = smtpc_tls_config_rng(cfg, &drbg, &nomem);
    if (ret != 0 && nomem) {
        snprintf(msg, cap, "out of memory");
        return SMTPC_ENOMEM;
    }
    if (ret != 0) {
        smtpc_tls_describe(ret, why, sizeof why);
        snprintf(msg, cap, "cannot seed the random generator: %s", why);
        return SMTPC_ETLS;
    }
    ret = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        goto fail;
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    mbedtls_ssl_conf_min_tls_version(&s->conf, cfg->min_version == SMTPC_TLS_VERSION_1_3
                                                   ? MBEDTLS_SSL_VERSION_TLS1_3
                                                   : MBEDTLS_SSL_VERSION_TLS1_2);
    /* The newest the build has, whatever its defaults say: TLS 1.3 where
     * it is compiled in (3.6 LTS by default), else 1.2. */
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_3);
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && MBEDTLS_VERSION_NUMBER >= 0x03060100
    /* 3.6.0 reports every NewSessionTicket from mbedtls_ssl_read, later
     * releases only on request: ask, so that every 3.6 behaves the same
     * and tls_recv's retry is the path the tests run. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &s->conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
#else
    mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
    mbedtls_ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    /* With verification off mbedTLS still verifies (OPTIONAL), so the
     * callback runs for the pin and the trace can say what was wrong. */
    mbedtls_ssl_conf_authmode(&s->conf, cfg->verify_mode == SMTPC_TLS_VERIFY_REQUIRED
                                            ? MBEDTLS_SSL_VERIFY_REQUIRED
                                            : MBEDTLS_SSL_VERIFY_OPTIONAL);
    if (smtpc_tls_chain_length(&cfg->ca) > 0) {
        /* mbedTLS only reads the chain during verification; its API
         * predates const. */
        mbedtls_ssl_conf_ca_chain(&s->conf, (mbedtls_x509_crt *)(uintptr_t)&cfg->ca, NULL);
    }
    mbedtls_ssl_conf_verify(&s->conf, verify_cb, s);
    mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, drbg);
    if (cfg->have_own) {
        ret = mbedtls_ssl_conf_own_cert(&s->conf, (mbedtls_x509_crt *)(uintptr_t)&cfg->own_cert,
                                        (mbedtls_pk_context *)(uintptr_t)&cfg->own_key);
        if (ret != 0)
            goto fail;
    }
    ret = mbedtls_ssl_setup(&s->ssl, &s->conf);
    if (ret != 0)
        goto fail;
    if (s->server_name) {
        ret = mbedtls_ssl_set_hostname(&s->ssl, s->server_name);
        if (ret != 0)
            goto fail;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    return SMTPC_OK;

fail:
    smtpc_tls_describe(ret, why, sizeof why);
    snprintf(msg, cap, "TLS setup failed: %s", why);
    return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? SMTPC_ENOMEM : SMTPC_ETLS;
}

/* A server on a plaintext or STARTTLS port greets with "220 ..." where a
 * TLS record should start (content type 20..24): mbedTLS only sees an
 * invalid record. Returns 1 and writes the first line, quoted and cut,
 * into buf when what arrived first is printable text. */
static int plaintext_answer(tls_session *s, char *buf, size_t cap)
{
    size_t n = 0;
    if (s->first_len == 0 || (s->first[0] >= 20 && s->first[0] <= 24))
        return 0;
    /* mbedTLS read just a record header; the rest of the line is usually
     * waiting already. Take what is there, without waiting: the session is
     * lost anyway. */
    while (s->first_len < sizeof s->first && !memchr(s->first, '\n', s->first_len)) {
        size_t got = 0;
        if (smtpc_transport_recv(s->inner, s->first + s->first_len,
                                 sizeof s->first - s->first_len, 0, &got) != SMTPC_OK)
            break;
        s->first_len += got;
    }
    while (n < s->first_len && s->first[n] != '\r' && s->first[n] != '\n') {
        if (s->first[n] < 0x20 || s->first[n] > 0x7e)
            return 0;
        n++;
    }
    if (n == 0)
        return 0;
    int cut = n > FIRST_BYTES_SHOWN || (n == s->first_len && n == sizeof s->first);
    if (n > FIRST_BYTES_SHOWN)
        n = FIRST_BYTES_SHOWN;
    snprintf(buf, cap, "%.*s%s", (int)n, (const char *)s->first, cut ? "..." : "");
    return 1;
}

/* What the server's refusal of our client certificate is called: the same
 * SMTPC_ETLS_HANDSHAKE whether it came during the handshake (TLS 1.2) or
 * on the first read after it (TLS 1.3, where the server checks our
 * certificate after our side is done). how says what showed it. */
static int client_cert_refused(const tls_session *s, int sure, const char *how, char *msg,
                               size_t cap)
{
    /* TLS 1.3 hides both the server's request and its alert from us: what
     * else it could be refusing at that point is only our Finished. */
    const char *maybe = sure ? "" : "most likely ";
    if (s->cfg->have_own)
        snprintf(msg, cap,
                 "%s %srejected our client certificate: %s (is the certificate issued by a "
                 "CA the server trusts, and valid?)",
                 peer_name(s), maybe, how);
    else
        snprintf(msg, cap,
                 "%s %srequires a client certificate, and none is configured "
                 "(smtpc_tls_config_set_client_cert_file): %s",
                 peer_name(s), maybe, how);
    return SMTPC_ETLS_HANDSHAKE;
}

static const char after_tls13[] = "it ended the session with a fatal alert right after "
                                  "the TLS 1.3 handshake";

static int is_tls13(const tls_session *s)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03020000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    return mbedtls_ssl_get_version_number(&s->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
    (void)s;
    return 0;
#endif
}

/* With TLS 1.3 our handshake ends with our Finished, and the server answers
 * it (and our certificate, or its absence) only afterwards: a fatal alert
 * before any data is that answer. Fills msg and returns 1 if so. */
static int refused_after_handshake(const tls_session *s, int ret, char *msg, size_t cap)
{
    if (ret != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE || s->app_data_seen || !is_tls13(s))
        return 0;
    client_cert_refused(s, 0, after_tls13, msg, cap);
    return 1;
}

/* Our write found the connection closed: read (bounded) whether the
 * server left an alert saying why. Returns mbedtls_ssl_read's result. */
static int read_parting_alert(tls_session *s)
{
    unsigned char buf[64];
    int ret;
    /* Bounded even in a non-blocking operation: the peer has hung up, so
     * what it left is there already or never comes. */
    begin_op(s, CLOSE_NOTIFY_TIMEOUT_MS);
    do {
        ret = mbedtls_ssl_read(&s->ssl, buf, sizeof buf);
    } while ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
              || ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#endif
              ) && time_left(s) != 0);
    return ret;
}

/* A fatal alert during the handshake, named when it was sent in plaintext
 * (TLS 1.2, and 1.3 up to ServerHello). Returns 0 when nothing more
 * specific than mbedTLS's text can be said. */
static int alert_error(const tls_session *s, char *msg, size_t cap)
{
    int desc = s->watch.alert_desc;
    if (desc < 0)
        return 0;
    const char *name = smtpc_tls_alert_name(desc);
    char how[80];
    snprintf(how, sizeof how, "it sent the alert %s (%d)", name ? name : "unknown", desc);
    /* Only a server that asked for a certificate can be refusing ours. */
    if (s->watch.cert_requested && smtpc_tls_alert_about_client_cert(desc))
        return client_cert_refused(s, 1, how, msg, cap);
    snprintf(msg, cap, "TLS handshake with %s failed: %s", peer_name(s), how);
    return SMTPC_ETLS_HANDSHAKE;
}

static int handshake_error(tls_session *s, int ret, char *msg, size_t cap)
{
    char why[200];
    if (s->pin_mismatch) {
        snprintf(msg, cap, "public key of %s does not match the pin", peer_name(s));
        return SMTPC_ETLS_PIN;
    }
    char text[FIRST_BYTES_SHOWN + 4];
    if (plaintext_answer(s, text, sizeof text)) {
        /* Most likely the wrong security mode; say so before any detail.
         * The name is cut so that the hint always fits. */
        snprintf(msg, cap,
                 "%.64s did not answer with TLS (it sent plaintext \"%s\"): is this a "
                 "STARTTLS or plaintext port? (for STARTTLS use SMTPC_SECURITY_STARTTLS)",
                 peer_name(s), text);
        if (s->inner_rc != 0)
            return s->inner_rc;
        return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? SMTPC_ENOMEM : SMTPC_ETLS_HANDSHAKE;
    }
    /* Before the inner transport's failure: after a send the server cut
     * short (send_lost), its alert is what explains the closed pipe. */
    if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        int rc = alert_error(s, msg, cap);
        if (rc != 0)
            return rc;
        s->inner_rc = 0; /* mbedTLS's text below says more than the pipe */
    }
    if (s->inner_rc != 0) {
        const char *inner = smtpc_error_message(smtpc_transport_error(s->inner));
        if (s->inner_rc == SMTPC_ETIMEDOUT)
            snprintf(msg, cap, "TLS handshake with %s timed out%s%s", peer_name(s),
                     inner[0] ? ": " : "", inner);
        else
            snprintf(msg, cap, "TLS handshake with %s failed: %s", peer_name(s),
                     inner[0] ? inner : smtpc_strerror(s->inner_rc));
        return s->inner_rc;
    }
    uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
    if (flags == (uint32_t)-1)
        flags = 0;
    flags |= s->vflags;
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        describe_flags(s, flags, why, sizeof why);
        snprintf(msg, cap, "certificate of %s rejected: %s", peer_name(s), why);
        return SMTPC_ETLS_VERIFY;
    }
    smtpc_tls_describe(ret, why, sizeof why);
    snprintf(msg, cap, "TLS handshake with %s failed: %s", peer_name(s), why);
    return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? SMTPC_ENOMEM : SMTPC_ETLS_HANDSHAKE;
}

/* Run the handshake as far as it goes: to the end, to an error, or (in a
 * non-blocking try, timeout_ms 0) until it needs I/O that is not ready:
 * then SMTPC_INPROGRESS, with the events set, and the next call resumes. A
 * blocking handshake is the same code, its BIO waiting in the inner
 * transport. */
static int session_handshake(tls_session *s, int timeout_ms, char *msg, size_t cap)
{
    int ret;
    begin_op(s, timeout_ms);
    unsigned long moved;
    do {
        moved = s->moved;
        ret = mbedtls_ssl_handshake(&s->ssl);
    } while (is_want(ret) && go_on(s, moved));
    /* Also after send_lost: what the server left (its alert, its close)
     * arrives by the same readiness. */
    if (is_want(ret) && s->nonblocking) {
        s->self->events = want_events(ret);
        return SMTPC_INPROGRESS;
    }
    if (ret != 0)
        return handshake_error(s, ret, msg, cap);
    if (s->send_lost) {
        /* Our side finished (TLS 1.3) although the server hung up on it. */
        ret = read_parting_alert(s);
        if (refused_after_handshake(s, ret, msg, cap))
            return SMTPC_ETLS_HANDSHAKE;
        s->inner_rc = SMTPC_ECLOSED;
        return handshake_error(s, ret, msg, cap);
    }

    /* The callback normally checked the pin; if mbedTLS skipped it (no
     * chain to verify, e.g. a resumed session), check the kept peer cert. */
    if (s->cfg->have_pin && !s->pin_checked) {
#if defined(MBEDTLS_SSL_KEEP_PEER_CERTIFICATE)
        const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
        if (!peer || !check_pin(s, peer))
            s->pin_mismatch = 1;
#else
        s->pin_mismatch = 1;
#endif
        if (s->pin_mismatch) {
            snprintf(msg, cap, "public key of %s does not match the pin", peer_name(s));
            return SMTPC_ETLS_PIN;
        }
    }
    s->handshake_done = 1;
    return SMTPC_OK;
}

static int io_error(tls_session *s, int ret, const char *doing)
{
    if (s->inner_rc != 0) {
        const char *inner = smtpc_error_message(smtpc_transport_error(s->inner));
        smtpc_transport_set_errmsg(s->self, "TLS %s %s: %s", doing, peer_name(s),
                                   inner[0] ? inner : smtpc_strerror(s->inner_rc));
        return s->inner_rc;
    }
    char why[200];
    smtpc_tls_describe(ret, why, sizeof why);
    smtpc_transport_set_errmsg(s->self, "TLS %s %s: %s", doing, peer_name(s), why);
    return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? SMTPC_ENOMEM : SMTPC_ETLS;
}

static int unusable(tls_session *s)
{
    smtpc_transport_set_errmsg(s->self, "TLS session with %s unusable after an earlier error",
                               peer_name(s));
    return s->peer_closed ? SMTPC_ECLOSED : SMTPC_EIO;
}

/* How many of chunk bytes mbedtls_ssl_write put in its record: at most one
 * record's payload. */
static size_t record_take(tls_session *s, size_t chunk)
{
    int max = mbedtls_ssl_get_max_out_record_payload(&s->ssl);
    return max > 0 && chunk > (size_t)max ? (size_t)max : chunk;
}

static int tls_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    tls_session *s = user;
    if (s->broken)
        return unusable(s);
    begin_op(s, timeout_ms);
    size_t done = 0;
    for (;;) {
        unsigned long moved = s->moved;
        int ret = flush_pending(s);
        if (ret == 0) {
            if (done == len)
                break;
            size_t chunk = len - done > INT_MAX ? INT_MAX : len - done;
            ret = mbedtls_ssl_write(&s->ssl, buf + done, chunk);
            if (ret > 0) {
                done += (size_t)ret;
                continue;
            }
            if (is_want(ret) && s->out_left > 0) {
                /* The bytes are in a record now, partly sent: they count
                 * as sent, and the rest of the record goes out first (a
                 * retry with other bytes would otherwise be miscounted). */
                done += record_take(s, chunk);
                continue;
            }
        }
        if (IS_TICKET(ret))
            continue;
        if (is_want(ret) && go_on(s, moved))
            continue;
        if (is_want(ret) && s->nonblocking) {
            s->self->events = want_events(ret);
            if (done > 0)
                break; /* taken; the events say what the rest waits for */
            smtpc_transport_set_errmsg(s->self, "TLS write to %s must wait (non-blocking)",
                                       peer_name(s));
            return SMTPC_ETIMEDOUT;
        }
        /* A record may be half written; resuming would need the very same
         * bytes again, which the caller is not bound to give us. */
        s->broken = 1;
        *sent = done;
        if (s->inner_rc == SMTPC_ECLOSED && !s->app_data_seen && is_tls13(s)) {
            /* Writing first after a TLS 1.3 handshake (EHLO after
             * STARTTLS) can meet the server's refusal as a closed pipe. */
            char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
            if (refused_after_handshake(s, read_parting_alert(s), msg, sizeof msg)) {
                s->peer_closed = 1;
                smtpc_transport_set_errmsg(s->self, "%s", msg);
                return SMTPC_ETLS_HANDSHAKE;
            }
            s->inner_rc = SMTPC_ECLOSED;
        }
        return io_error(s, ret, "write to");
    }
    *sent = done;
    return SMTPC_OK;
}

static int tls_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    tls_session *s = user;
    if (s->broken)
        return unusable(s);
    begin_op(s, timeout_ms);
    if (cap > INT_MAX)
        cap = INT_MAX;
    for (;;) {
        unsigned long moved = s->moved;
        /* What we reported as sent goes out first: the peer may be waiting
         * for it before it says anything. Yet a peer that is busy sending
         * to us may not read until we do: when the rest of the record must
         * wait, read anyway, and wait for both. */
        int ret = flush_pending(s);
        if (ret == 0 || is_want(ret))
            ret = mbedtls_ssl_read(&s->ssl, buf, cap);
        int unflushed = s->out_left > 0 ? SMTPC_POLL_WRITE : 0;
        if (ret > 0) {
            s->app_data_seen = 1;
            s->self->events = unflushed;
            *received = (size_t)ret;
            return SMTPC_OK;
        }
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            s->peer_closed = 1;
            s->broken = 1;
            smtpc_transport_set_errmsg(s->self, "%s closed the TLS connection", peer_name(s));
            return SMTPC_ECLOSED;
        }
        if (is_want(ret) && go_on(s, moved))
            continue;
        if (is_want(ret) && s->nonblocking) {
            s->self->events = want_events(ret) | unflushed;
            smtpc_transport_set_errmsg(s->self, "nothing to read from %s yet (non-blocking)",
                                       peer_name(s));
            return SMTPC_ETIMEDOUT;
        }
        if (IS_TICKET(ret))
            continue;
        char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
        if (refused_after_handshake(s, ret, msg, sizeof msg)) {
            s->broken = 1;
            s->peer_closed = 1; /* a fatal alert ends the session */
            smtpc_transport_set_errmsg(s->self, "%s", msg);
            return SMTPC_ETLS_HANDSHAKE;
        }
        /* mbedTLS keeps a partly read record across calls, so a read that
         * timed out can be retried; anything else ends the session. */
        if (s->inner_rc == SMTPC_ETIMEDOUT)
            return io_error(s, ret, "read from");
        s->broken = 1;
        if (s->inner_rc == SMTPC_ECLOSED)
            s->peer_closed = 1;
        return io_error(s, ret, "read from");
    }
}

static void tls_close(void *user)
{
    tls_session *s = user;
    /* NULL when the session's allocation failed in smtpc_transport_new_tls,
     * which then frees the bare transport (and so calls this). */
    if (!s)
        return;
    if (s->handshake_done && !s->broken) {
        begin_op(s, CLOSE_NOTIFY_TIMEOUT_MS);
        /* mbedTLS would only flush a pending record, not send the alert. */
        if (flush_pending(s) == 0)
            (void)mbedtls_ssl_close_notify(&s->ssl);
    }
    smtpc_transport_free(s->inner);
    s->inner = NULL;
}

static void tls_destroy(smtpc_transport *t)
{
    tls_session *s = t->user;
    if (!s)
        return;
    if (s->setup_started) {
        mbedtls_ssl_free(&s->ssl);
        mbedtls_ssl_config_free(&s->conf);
    }
    smtpc_strfree(&t->alloc, s->server_name);
    smtpc_free(&t->alloc, s, sizeof *s);
    t->user = NULL;
}

/* The TLS transport waits on its inner transport's descriptor. */
static int tls_fd(const smtpc_transport *t)
{
    const tls_session *s = t->user;
    return s ? smtpc_transport_fd(s->inner) : -1;
}

static int tls_timeout(const smtpc_transport *t)
{
    const tls_session *s = t->user;
    return s ? smtpc_transport_timeout(s->inner) : -1;
}

/* The name as mbedTLS should see it: an IPv6 literal loses its brackets. */
static char *copy_server_name(const smtpc_allocator *a, const char *name)
{
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        char *p = smtpc_alloc(a, n - 1);
        if (p)
            memcpy(p, name + 1, n - 2);
        return p;
    }
    return smtpc_strdup(a, name);
}

int smtpc_transport_new_tls(const smtpc_allocator *alloc, smtpc_transport *inner,
                            const smtpc_tls_config *cfg, const char *server_name,
                            smtpc_transport **out)
{
    if (out)
        *out = NULL;
    if (!inner || !cfg || (server_name && !server_name[0]) || !out) {
        smtpc_transport_free(inner);
        return SMTPC_EINVAL;
    }
    /* The user's explicit verification name wins over the name dialled. */
    const char *name = cfg->server_name ? cfg->server_name : server_name;
    smtpc_transport *t = smtpc_transport_create(alloc, tls_send, tls_recv, tls_close, NULL);
    tls_session *s = t ? smtpc_alloc(&t->alloc, sizeof *s) : NULL;
    if (s && name)
        s->server_name = copy_server_name(&t->alloc, name);
    if (!s || (name && !s->server_name)) {
        if (s)
            smtpc_free(&t->alloc, s, sizeof *s);
        smtpc_transport_free(t);
        smtpc_transport_free(inner);
        return SMTPC_ENOMEM;
    }
    s->self = t;
    s->inner = inner;
    s->cfg = cfg;
    smtpc_tls_watch_init(&s->watch);
    s->ip_len = smtpc_tls_parse_ip(s->server_name, s->ip);
    t->user = s;
    t->destroy = tls_destroy;
    t->get_fd = tls_fd;
    t->get_timeout = tls_timeout;
    t->ready = 0;
    *out = t;
    return SMTPC_OK;
}

/* The checks and the mbedTLS setup before the first handshake message. */
static int handshake_begin(tls_session *s, char *msg, size_t cap)
{
    const smtpc_tls_config *cfg = s->cfg;
    if (!s->server_name && cfg->verify_mode == SMTPC_TLS_VERIFY_REQUIRED) {
        /* Never guess one: any name we made up ("localhost") would be a
         * certificate someone else could present. */
        snprintf(msg, cap,
                 "no server name to verify the certificate against: set the host name "
                 "(smtpc_client_set_server) or a verification name "
                 "(smtpc_tls_config_set_server_name)");
        return SMTPC_ETLS_VERIFY;
    }
    /* Filling the default trust store is the one change a transport makes
     * to its configuration; cfg was allocated writable by
     * smtpc_tls_config_new, and is used by one thread at a time. */
    smtpc_tls_load_default_ca((smtpc_tls_config *)(uintptr_t)cfg);
    s->setup_started = 1;
    int rc = session_setup(s, msg, cap);
    if (rc == SMTPC_OK && cfg->verify_mode == SMTPC_TLS_VERIFY_REQUIRED &&
        smtpc_tls_chain_length(&cfg->ca) == 0) {
        /* Nothing could verify; say so before talking to the server. */
        snprintf(msg, cap,
                 "certificate of %s cannot be verified: no trust anchors loaded (is %s "
                 "missing? add CA certificates to the TLS configuration)",
                 peer_name(s), SMTPC_TLS_DEFAULT_CA_FILE);
        rc = SMTPC_ETLS_VERIFY;
    }
    return rc;
}

/* What a handshake call's outcome makes of the transport. */
static int handshake_end(smtpc_transport *t, tls_session *s, int rc, const char *msg)
{
    s->handshake_running = rc == SMTPC_INPROGRESS;
    if (rc == SMTPC_INPROGRESS)
        return rc;
    t->events = 0;
    if (rc != SMTPC_OK) {
        s->broken = 1;
        return smtpc_error_set(&t->err, rc, "%s", msg[0] ? msg : smtpc_strerror(rc));
    }
    t->encrypted = 1;
    t->ready = 1;
    return SMTPC_OK;
}

int smtpc_transport_handshake(smtpc_transport *t, int timeout_ms)
{
    if (!t)
        return SMTPC_EINVAL;
    smtpc_error_clear(&t->err);
    if (t->send != tls_send || !t->user)
        return smtpc_error_set(&t->err, SMTPC_EINVAL,
                               "smtpc_transport_handshake: not a TLS transport");
    tls_session *s = t->user;
    t->events = 0;
    char msg[SMTPC_TRANSPORT_ERRMSG_MAX];
    msg[0] = '\0';
    int rc;
    if (s->handshake_running) {
        rc = session_handshake(s, timeout_ms, msg, sizeof msg);
        return handshake_end(t, s, rc, msg);
    }
    if (s->handshake_tried)
        return smtpc_error_set(&t->err, SMTPC_ESTATE,
                               s->handshake_done
                                   ? "smtpc_transport_handshake: the handshake is done"
                                   : "smtpc_transport_handshake: an earlier handshake "
                                     "failed; free this transport");
    s->handshake_tried = 1;
    rc = handshake_begin(s, msg, sizeof msg);
    if (rc == SMTPC_OK)
        rc = session_handshake(s, timeout_ms, msg, sizeof msg);
    return handshake_end(t, s, rc, msg);
}

int smtpc_transport_tls_info(const smtpc_transport *t, char *buf, size_t cap)
{
    if (!t || !buf || cap == 0 || t->send != tls_send || !t->user)
        return SMTPC_EINVAL;
    const tls_session *s = t->user;
    const char *version = mbedtls_ssl_get_version(&s->ssl);
    const char *suite = mbedtls_ssl_get_ciphersuite(&s->ssl);
    int n = snprintf(buf, cap, "%s %s, ", version ? version : "?", suite ? suite : "?");
    size_t used = n > 0 && (size_t)n < cap ? (size_t)n : cap - 1;
    if (s->cfg->verify_mode == SMTPC_TLS_VERIFY_REQUIRED) {
        n = snprintf(buf + used, cap - used, "certificate verified");
    } else {
        char why[200];
        describe_flags(s, s->vflags, why, sizeof why);
        n = snprintf(buf + used, cap - used,
                     "certificate NOT verified (verification off)%s%s",
                     s->vflags ? ": " : "", s->vflags ? why : "");
    }
    used = n > 0 && (size_t)n < cap - used ? used + (size_t)n : cap - 1;
    if (s->cfg->have_pin && used < cap - 1)
        snprintf(buf + used, cap - used, ", public key matches the pin");
    return SMTPC_OK;
}
