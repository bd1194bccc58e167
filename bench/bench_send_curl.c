/* Send benchmark, libcurl side: the same scenarios as bench_send_smtpc over
 * libcurl's SMTP. One easy handle is reused for every message, so its
 * connection cache keeps the one SMTP session open between transfers;
 * curl_easy_cleanup sends QUIT.
 *
 *   bench_send_curl HOST PORT small|multi|big [COUNT]
 *
 * The body comes from CURLOPT_READFUNCTION: from memory for small messages,
 * from the same generator as smtpc for the big one (memory stays flat). */
#include <curl/curl.h>

#include "bench_send_common.h"

typedef struct {
    const uint8_t *msg; /* NULL: generate */
    size_t len, pos;
    bench_source gen;
} reader;

static size_t read_body(char *buf, size_t size, size_t nitems, void *user)
{
    reader *r = user;
    size_t cap = size * nitems;
    if (!r->msg)
        return bench_source_read(&r->gen, (uint8_t *)buf, cap);
    size_t n = r->len - r->pos;
    if (n > cap)
        n = cap;
    memcpy(buf, r->msg + r->pos, n);
    r->pos += n;
    return n;
}

int main(int argc, char **argv)
{
    bench_scenario s;
    if (argc < 4 || bench_parse(&s, argc, argv, 3) != 0) {
        fprintf(stderr, "usage: %s HOST PORT small|multi|big [COUNT]\n", argv[0]);
        return 2;
    }
    size_t msg_len = 0;
    uint8_t *msg = s.big ? NULL : bench_small_message(&s, &msg_len);
    if (!s.big && !msg)
        return 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;

    /* "/localhost" is the EHLO name, as smtpc and smtplib are told. */
    char url[512];
    snprintf(url, sizeof url, "smtp://%s:%s/localhost", argv[1], argv[2]);
    char from[64];
    snprintf(from, sizeof from, "<%s>", BENCH_FROM);
    struct curl_slist *rcpts = NULL;
    for (size_t i = 0; i < s.n_rcpts; i++) {
        char r[64];
        snprintf(r, sizeof r, "<%s>", bench_rcpts[i]);
        struct curl_slist *next = curl_slist_append(rcpts, r);
        if (!next)
            return 1;
        rcpts = next;
    }

    bench_mark a, b;
    bench_mark_now(&a);
    CURL *h = curl_easy_init();
    if (!h)
        return 1;
    reader rd = {msg, msg_len, 0, {&s, 0}};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, &rd);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    /* Lets curl declare SIZE= like the other two clients. */
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)bench_message_len(&s));

    long messages = s.big ? 1 : s.count;
    for (long i = 0; i < messages; i++) {
        rd.pos = 0;
        rd.gen.pos = 0;
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            fprintf(stderr, "bench_send_curl: message %ld: %s\n", i, curl_easy_strerror(rc));
            return 1;
        }
    }
    long conns = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    curl_easy_cleanup(h);
    bench_mark_now(&b);

    bench_report("curl", &s, messages, &a, &b);
    /* Only the first transfer may connect; any later connect would mean the
     * comparison is not over one session. */
    if (messages > 1 && conns != 0) {
        fprintf(stderr, "bench_send_curl: the last transfer opened a new connection\n");
        return 1;
    }
    curl_slist_free_all(rcpts);
    curl_global_cleanup();
    free(msg);
    return 0;
}
