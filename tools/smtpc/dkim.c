/* smtpc command-line tool: DKIM signing. Composed messages carry the
 * signer (the builder signs as it reads); a spooled raw message is signed
 * here, over exactly the bytes that will be sent, and the signature header
 * put in front of them.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Why a setting was refused, with the library's words. */
static int refused(smtpc_dkim *d, const char *what, const char *value, int code)
{
    fprintf(stderr, "smtpc: DKIM %s \"%s\": %s\n", what, value,
            smtpc_error_message(smtpc_dkim_error(d)));
    return code;
}

/* "From:To:Subject" into the signer's list of headers. */
static int set_headers(smtpc_dkim *d, const char *list)
{
    const char *names[SMTPC_DKIM_MAX_HEADERS + 1];
    char *copy = cli_strdup(list);
    if (!copy) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    size_t n = 0;
    for (char *p = copy, *end; p; p = end) {
        end = strchr(p, ':');
        if (end)
            *end++ = 0;
        if (n == SMTPC_DKIM_MAX_HEADERS + 1) {
            n++;
            break;
        }
        names[n++] = p;
    }
    int rc = 0;
    if (n > SMTPC_DKIM_MAX_HEADERS) {
        fprintf(stderr, "smtpc: DKIM headers: more than %d names\n", SMTPC_DKIM_MAX_HEADERS);
        rc = EX_USAGE;
    } else if (smtpc_dkim_set_headers(d, names, n) != 0) {
        rc = refused(d, "headers", list, EX_USAGE);
    }
    free(copy);
    return rc;
}

static int configure(smtpc_dkim *d, const cli_settings *s)
{
    int rc = smtpc_dkim_set_key_file(d, s->dkim_key, NULL);
    if (rc == SMTPC_EFILE)
        return refused(d, "key", s->dkim_key, EX_NOINPUT);
    if (rc == SMTPC_ENOMEM)
        return refused(d, "key", s->dkim_key, EX_OSERR);
    /* Not a key, a key under 2048 bits, or not RSA: the configuration is
     * wrong, not the message. */
    if (rc)
        return refused(d, "key", s->dkim_key, EX_CONFIG);
    if (smtpc_dkim_set_domain(d, s->dkim_domain) != 0)
        return refused(d, "domain", s->dkim_domain, EX_USAGE);
    if (smtpc_dkim_set_selector(d, s->dkim_selector) != 0)
        return refused(d, "selector", s->dkim_selector, EX_USAGE);
    if (s->dkim_headers && (rc = set_headers(d, s->dkim_headers)) != 0)
        return rc;
    if (s->dkim_canon) {
        int canon;
        if (strcmp(s->dkim_canon, "relaxed") == 0) {
            canon = SMTPC_DKIM_RELAXED;
        } else if (strcmp(s->dkim_canon, "simple") == 0) {
            canon = SMTPC_DKIM_SIMPLE;
        } else {
            fprintf(stderr, "smtpc: DKIM canonicalization \"%s\" is relaxed or simple\n",
                    s->dkim_canon);
            return EX_USAGE;
        }
        if (smtpc_dkim_set_canonicalization(d, canon, canon) != 0)
            return refused(d, "canonicalization", s->dkim_canon, EX_SOFTWARE);
    }
    return 0;
}

int cli_dkim_setup(const cli_settings *s, smtpc_dkim **out)
{
    *out = NULL;
    int given = !!s->dkim_key + !!s->dkim_domain + !!s->dkim_selector;
    if (given == 0) {
        if (s->dkim_headers || s->dkim_canon) {
            fputs("smtpc: DKIM headers or canonicalization given without --dkim-key, "
                  "--dkim-domain and --dkim-selector (see smtpc --help)\n",
                  stderr);
            return EX_USAGE;
        }
        return 0;
    }
    if (given < 3) {
        fprintf(stderr, "smtpc: DKIM signing needs a key, a domain and a selector; missing:%s%s%s "
                        "(see smtpc --help)\n",
                s->dkim_key ? "" : " --dkim-key", s->dkim_domain ? "" : " --dkim-domain",
                s->dkim_selector ? "" : " --dkim-selector");
        return EX_USAGE;
    }
    smtpc_dkim *d;
    int rc = smtpc_dkim_new(NULL, &d);
    if (rc == SMTPC_ENOTSUP) {
        fputs("smtpc: DKIM signing is not available: this smtpc was built without DKIM "
              "(it needs mbedTLS)\n",
              stderr);
        return EX_UNAVAILABLE;
    }
    if (rc) {
        fputs("smtpc: out of memory\n", stderr);
        return EX_OSERR;
    }
    if ((rc = configure(d, s)) != 0) {
        smtpc_dkim_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* The whole spooled message (head and body) in one file, mapped: the
 * signature needs it in one piece, and the body may be large. */
static int map_message(cli_raw *r, FILE **f, void **map, size_t *len)
{
    *f = tmpfile();
    *map = NULL;
    *len = r->head_len + (size_t)r->body_len;
    if (!*f) {
        fprintf(stderr, "smtpc: cannot create a spool file: %s\n", strerror(errno));
        return EX_CANTCREAT;
    }
    int rc = cli_raw_rewind(r);
    if (rc)
        return rc;
    if (r->head_len && fwrite(r->head, 1, r->head_len, *f) != r->head_len)
        goto write_failed;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, r->body)) > 0)
        if (fwrite(buf, 1, got, *f) != got)
            goto write_failed;
    if (ferror(r->body)) {
        fprintf(stderr, "smtpc: cannot read the spooled message: %s\n", strerror(errno));
        return EX_IOERR;
    }
    if (fflush(*f) != 0)
        goto write_failed;
    if (*len == 0)
        return 0;
    *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fileno(*f), 0);
    if (*map == MAP_FAILED) {
        *map = NULL;
        fprintf(stderr, "smtpc: cannot map the spooled message: %s\n", strerror(errno));
        return EX_OSERR;
    }
    return 0;
write_failed:
    fprintf(stderr, "smtpc: cannot write the spool file: %s\n", strerror(errno));
    return EX_IOERR;
}

/* The signature header into a malloc'd *sig: first in a buffer that fits
 * the usual case, again in one of the size the signer asks for when a long
 * h= list makes it larger. */
static int sign(smtpc_dkim *d, const uint8_t *data, size_t len, char **sig, size_t *sig_len)
{
    size_t cap = 2048;
    for (int tries = 0; tries < 2; tries++) {
        if (!(*sig = malloc(cap))) {
            fputs("smtpc: out of memory\n", stderr);
            return EX_OSERR;
        }
        int rc = smtpc_dkim_sign_raw(d, data, len, *sig, cap, sig_len);
        if (rc == 0)
            return 0;
        free(*sig);
        *sig = NULL;
        if (rc != SMTPC_ETOOLONG || tries > 0) {
            fprintf(stderr, "smtpc: DKIM signing: %s\n", smtpc_error_message(smtpc_dkim_error(d)));
            return rc == SMTPC_EHEADER ? EX_DATAERR : cli_exit_code(smtpc_dkim_error(d));
        }
        cap = *sig_len;
    }
    return EX_SOFTWARE;
}

int cli_dkim_sign_raw(cli_raw *r, smtpc_dkim *d)
{
    FILE *f;
    void *map;
    size_t len;
    char *sig = NULL;
    size_t sig_len = 0;
    int rc = map_message(r, &f, &map, &len);
    if (rc == 0)
        rc = sign(d, map ? map : (const void *)"", len, &sig, &sig_len);
    if (map)
        munmap(map, len);
    if (f)
        fclose(f);
    if (rc == 0) {
        uint8_t *head = malloc(sig_len + r->head_len);
        if (!head) {
            free(sig);
            fputs("smtpc: out of memory\n", stderr);
            return EX_OSERR;
        }
        memcpy(head, sig, sig_len);
        if (r->head_len)
            memcpy(head + sig_len, r->head, r->head_len);
        free(r->head);
        r->head = head;
        r->head_len += sig_len;
    }
    free(sig);
    return rc ? rc : cli_raw_rewind(r);
}
