/* Sign a raw message with smtpc_dkim_sign_raw and write the signed message
 * (the signature headers, then the bytes as given) to stdout, or send it.
 *
 * usage: dkim_raw RAWFILE SIGNER... [--send HOST PORT FROM RCPT]
 *   SIGNER is KEYFILE|DOMAIN|SELECTOR|HCANON/BCANON (canon may be empty:
 *   relaxed/relaxed). Each signer signs the raw bytes; their headers go in
 *   front in the order given.
 * Exit status 0; 2 with "error RC NAME: message" on stderr when a signer
 * fails; 3 when sending fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc.h"
#include "test_tcp_transport.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int sign(const char *spec, const uint8_t *data, size_t len, char *out, size_t cap,
                size_t *out_len)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", spec);
    char *f[4] = {copy, NULL, NULL, NULL};
    for (int i = 1; i < 4 && f[i - 1]; i++) {
        char *bar = strchr(f[i - 1], '|');
        if (bar) {
            *bar = '\0';
            f[i] = bar + 1;
        }
    }
    smtpc_dkim *d;
    int rc = smtpc_dkim_new(NULL, &d);
    if (rc) {
        fprintf(stderr, "error %d %s: smtpc_dkim_new\n", rc, smtpc_strerror(rc));
        return rc;
    }
    const char *canon = f[3] ? f[3] : "";
    rc = smtpc_dkim_set_key_file(d, f[0], NULL);
    if (!rc)
        rc = smtpc_dkim_set_domain(d, f[1] ? f[1] : "");
    if (!rc)
        rc = smtpc_dkim_set_selector(d, f[2] ? f[2] : "");
    if (!rc)
        rc = smtpc_dkim_set_canonicalization(d, strncmp(canon, "simple", 6) != 0,
                                             strstr(canon, "/simple") == NULL);
    if (!rc)
        rc = smtpc_dkim_sign_raw(d, data, len, out, cap, out_len);
    if (rc)
        fprintf(stderr, "error %d %s: %s\n", rc, smtpc_strerror(rc),
                smtpc_error_message(smtpc_dkim_error(d)));
    smtpc_dkim_free(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dkim_raw RAWFILE SIGNER... [--send HOST PORT FROM RCPT]\n");
        return 2;
    }
    size_t len;
    char *raw = slurp(argv[1], &len);
    if (!raw) {
        perror(argv[1]);
        return 2;
    }
    int n_signers = argc - 2;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--send"))
            n_signers = i - 2;
    /* All headers, then the message: one buffer, as a caller would build
     * it for smtpc_client_send. */
    size_t cap = (size_t)n_signers * 4096 + len;
    char *out = malloc(cap + 1);
    size_t used = 0;
    int rc = out ? 0 : SMTPC_ENOMEM;
    for (int i = 0; i < n_signers && !rc; i++) {
        size_t n;
        rc = sign(argv[2 + i], (const uint8_t *)raw, len, out + used, 4096, &n);
        used += n;
    }
    if (rc) {
        free(raw);
        free(out);
        return 2;
    }
    memcpy(out + used, raw, len);
    used += len;
    free(raw);
    if (argc >= 2 + n_signers + 5) {
        char **s = argv + 2 + n_signers + 1;
        smtpc_client *c = NULL;
        const char *rcpt = s[3];
        int src = smtpc_client_new(NULL, &c);
        if (!src)
            src = smtpc_client_set_server(c, s[0], s[1]);
        if (!src)
            src = smtpc_client_set_security(c, SMTPC_SECURITY_PLAIN);
        if (!src)
            src = test_tcp_prepare(c, s[0], s[1], 10000);
        if (!src)
            src = smtpc_client_connect(c);
        if (!src)
            src = smtpc_client_send(c, s[2], &rcpt, 1, (const uint8_t *)out, used);
        if (src)
            fprintf(stderr, "send %d: %s\n", src, smtpc_error_message(smtpc_client_error(c)));
        else
            smtpc_client_quit(c);
        smtpc_client_free(c);
        free(out);
        return src ? 3 : 0;
    }
    int w = fwrite(out, 1, used, stdout) == used;
    free(out);
    return w ? 0 : 2;
}
