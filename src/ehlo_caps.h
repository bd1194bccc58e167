/* EHLO capability parser (RFC 5321 section 4.1.1.1 and the extension RFCs).
 * Keywords are case-insensitive. Fed one line of the EHLO reply at a time
 * (the first line is the greeting domain and is skipped by the caller). */
#ifndef SMTPC_EHLO_CAPS_H
#define SMTPC_EHLO_CAPS_H
#include <stddef.h>
#include <stdint.h>

/* AUTH mechanism bits (also the public SMTPC_AUTH_* values). */
#define SMTPC_MECH_PLAIN 0x01
#define SMTPC_MECH_LOGIN 0x02
#define SMTPC_MECH_CRAM_MD5 0x04
#define SMTPC_MECH_XOAUTH2 0x08
#define SMTPC_MECH_OAUTHBEARER 0x10
#define SMTPC_MECH_SCRAM_SHA_256 0x20

typedef struct smtpc_ehlo_caps {
    int flags;          /* SMTPC_CAP_* from engine.h */
    uint64_t size_max;  /* SIZE n; 0 when absent or no number */
    int auth_mechs;     /* SMTPC_MECH_* offered ("AUTH=" old form too) */
} smtpc_ehlo_caps;

void smtpc_ehlo_caps_init(smtpc_ehlo_caps *caps);
/* One capability line (the text after "250-"/"250 "), not NUL-terminated.
 * Unknown keywords are ignored. */
void smtpc_ehlo_caps_line(smtpc_ehlo_caps *caps, const char *line, size_t len);

#endif
