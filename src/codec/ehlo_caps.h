/* EHLO capability parser (RFC 5321 section 4.1.1.1 and the extension RFCs).
 * Keywords are case-insensitive. Fed one line of the EHLO reply at a time
 * (the first line is the greeting domain and is skipped by the caller). */
#ifndef SMTPC_EHLO_CAPS_H
#define SMTPC_EHLO_CAPS_H
#include <stddef.h>
#include <stdint.h>

#include "smtpc/auth.h"

/* AUTH mechanism bits: the public SMTPC_AUTH_* values, so that an allowed
 * mask from the user and an offered mask from EHLO can be and-ed. */
#define SMTPC_MECH_PLAIN SMTPC_AUTH_PLAIN
#define SMTPC_MECH_LOGIN SMTPC_AUTH_LOGIN
#define SMTPC_MECH_CRAM_MD5 SMTPC_AUTH_CRAM_MD5
#define SMTPC_MECH_XOAUTH2 SMTPC_AUTH_XOAUTH2
#define SMTPC_MECH_OAUTHBEARER SMTPC_AUTH_OAUTHBEARER
#define SMTPC_MECH_SCRAM_SHA_256 SMTPC_AUTH_SCRAM_SHA_256

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
