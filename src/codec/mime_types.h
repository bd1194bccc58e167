/* Content type from a file name's extension, for attachments added without
 * an explicit type. */
#ifndef SMTPC_MIME_TYPES_H
#define SMTPC_MIME_TYPES_H

/* The type for filename's extension (case-insensitive), or
 * "application/octet-stream" when the name is NULL, has no extension or an
 * unknown one. The string is static. */
const char *smtpc_mime_type_guess(const char *filename);

/* 1 when type is "type/subtype" made of RFC 2045 token characters. */
int smtpc_mime_type_valid(const char *type);

#endif
