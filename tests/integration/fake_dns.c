/* LD_PRELOAD shim for verifiers that look DKIM keys up in DNS through the
 * resolver (OpenDKIM's opendkim-testmsg): res_nquery answers TXT queries
 * from a file instead of the network, so the test needs no DNS server.
 *
 * SMTPC_FAKE_DNS names the file: one record per line, "NAME TXT-TEXT".
 * A name not in the file is NXDOMAIN. Test code only, never linked into
 * the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct __res_state;

static int put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
    return 2;
}

/* The TXT text for name, from the file, in buf; 0 when absent. */
static int lookup(const char *name, char *buf, size_t cap)
{
    const char *path = getenv("SMTPC_FAKE_DNS");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    static char line[8192];
    int found = 0;
    size_t n = strlen(name);
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncasecmp(line, name, n) == 0 && line[n] == ' ') {
            snprintf(buf, cap, "%s", line + n + 1);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

int res_nquery(struct __res_state *statp, const char *dname, int class, int type,
               unsigned char *answer, int anslen)
{
    (void)statp;
    char txt[8192];
    int found = type == 16 && lookup(dname, txt, sizeof txt);
    size_t tlen = found ? strlen(txt) : 0;
    size_t need = 12 + strlen(dname) + 2 + 4 + 12 + tlen + tlen / 255 + 1;
    if (anslen < 0 || need > (size_t)anslen)
        return -1;
    unsigned char *p = answer;
    p += put16(p, 0x1234);
    p += put16(p, found ? 0x8180 : 0x8183); /* answer, or NXDOMAIN */
    p += put16(p, 1);
    p += put16(p, found ? 1 : 0);
    p += put16(p, 0);
    p += put16(p, 0);
    /* The question, label by label. */
    const char *s = dname;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        *p++ = (unsigned char)l;
        memcpy(p, s, l);
        p += l;
        s += l;
        if (*s == '.')
            s++;
    }
    *p++ = 0;
    p += put16(p, (unsigned)type);
    p += put16(p, (unsigned)class);
    if (found) {
        p += put16(p, 0xC00C); /* the question's name */
        p += put16(p, 16);
        p += put16(p, (unsigned)class);
        p += put16(p, 0);
        p += put16(p, 300);
        unsigned char *rdlen = p;
        p += 2;
        unsigned char *start = p;
        for (size_t off = 0; off < tlen;) {
            size_t k = tlen - off > 255 ? 255 : tlen - off;
            *p++ = (unsigned char)k;
            memcpy(p, txt + off, k);
            p += k;
            off += k;
        }
        put16(rdlen, (unsigned)(p - start));
    }
    return (int)(p - answer);
}
