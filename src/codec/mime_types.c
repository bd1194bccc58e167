/* A small fixed table: the types people actually attach. Anything else is
 * application/octet-stream, which every reader handles as "save to disk". */
#include "mime_types.h"

#include <stddef.h>
#include <string.h>

#include "smtpc_config.h"

static const struct {
    const char *ext;
    const char *type;
} table[] = {
    {"7z", "application/x-7z-compressed"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"eml", "message/rfc822"},
    {"epub", "application/epub+zip"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"heic", "image/heic"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ics", "text/calendar"},
    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"log", "text/plain"},
    {"md", "text/markdown"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ogg", "audio/ogg"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"rtf", "application/rtf"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"txt", "text/plain"},
    {"vcf", "text/vcard"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webp", "image/webp"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"zip", "application/zip"},
};

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int ext_equal(const char *a, const char *b)
{
    while (*a && *b && lower((unsigned char)*a) == *b) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

const char *smtpc_mime_type_guess(const char *filename)
{
    const char *dot = filename ? strrchr(filename, '.') : NULL;
    /* -Dmime_types=false: the table drops out (firmware names its types). */
    if (SMTPC_HAVE_MIME_TYPES && dot && !strpbrk(dot, "/\\")) {
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (ext_equal(dot + 1, table[i].ext))
                return table[i].type;
    }
    return "application/octet-stream";
}

/* RFC 2045 token: printable ASCII but space and tspecials. */
static int token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

int smtpc_mime_type_valid(const char *type)
{
    const char *p = type;
    size_t n = 0;
    while (token_char((unsigned char)*p)) {
        p++;
        n++;
    }
    if (n == 0 || *p != '/')
        return 0;
    p++;
    n = 0;
    while (token_char((unsigned char)*p)) {
        p++;
        n++;
    }
    return n > 0 && *p == '\0' && (size_t)(p - type) <= 127;
}
