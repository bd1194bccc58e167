/* The reply parser must see the same replies, and fail at the same byte with
 * the same error, however the server's bytes are split: whole, one byte at a
 * time, and at points taken from the input (empty feeds included).
 *
 * Input: [line capacity][split seed] then the server's bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "reply_parser.h"
#include "smtpc/base.h"

enum { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_SEEDED };

/* Appends a record of what the parser reported at input offset at. */
static void log_event(fuzz_buf *log, const smtpc_reply_parser *p, int rc, size_t at)
{
    int32_t head[2] = {rc, (int32_t)at};
    fuzz_buf_put(log, head, sizeof head);
    if (rc != SMTPC_PARSE_LINE && rc != SMTPC_PARSE_DONE)
        return;
    size_t tlen = 0;
    const char *text = smtpc_reply_parser_line_text(p, &tlen);
    FUZZ_CHECK(tlen <= p->line_cap);
    fuzz_buf_put(log, &tlen, sizeof tlen);
    fuzz_buf_put(log, text, tlen);
    if (rc != SMTPC_PARSE_DONE)
        return;
    const smtpc_reply *r = smtpc_reply_parser_reply(p);
    FUZZ_CHECK(r->code >= 200 && r->code <= 599);
    FUZZ_CHECK(r->lines >= 1);
    FUZZ_CHECK(r->text_len < SMTPC_REPLY_TEXT_MAX);
    FUZZ_CHECK(r->text[r->text_len] == '\0' && strlen(r->text) == r->text_len);
    FUZZ_CHECK(memchr(r->enhanced, '\0', sizeof r->enhanced) != NULL);
    FUZZ_CHECK(r->enhanced[0] == '\0' || r->enhanced[0] - '0' == r->code / 100);
    fuzz_buf_put(log, &r->code, sizeof r->code);
    fuzz_buf_put(log, &r->lines, sizeof r->lines);
    fuzz_buf_put(log, r->enhanced, strlen(r->enhanced) + 1);
    fuzz_buf_put(log, r->text, r->text_len + 1);
    /* A complete reply leaves nothing half-read. */
    FUZZ_CHECK(!smtpc_reply_parser_busy(p));
}

static void run(const uint8_t *data, size_t len, size_t cap, int mode, uint32_t seed,
                fuzz_buf *log)
{
    uint8_t *line = (uint8_t *)malloc(cap);
    FUZZ_CHECK(line != NULL);
    smtpc_reply_parser p;
    smtpc_reply_parser_init(&p, line, cap);
    fuzz_rng rng;
    fuzz_rng_seed(&rng, seed);
    size_t off = 0;
    int failed = 0;
    while (off < len && !failed) {
        size_t chunk = len - off;
        if (mode == SPLIT_BYTES)
            chunk = 1;
        else if (mode == SPLIT_SEEDED)
            chunk = fuzz_rng_next(&rng) % 8 == 0 ? 0 : fuzz_rng_size(&rng, chunk < 40 ? chunk : 40);
        size_t end = off + chunk;
        do {
            size_t used = 0;
            int rc = smtpc_reply_parser_feed(&p, data + off, end - off, &used);
            FUZZ_CHECK(used <= end - off);
            FUZZ_CHECK(used > 0 || end == off);
            off += used;
            if (rc == SMTPC_PARSE_MORE) {
                FUZZ_CHECK(off == end);
                break;
            }
            FUZZ_CHECK(rc == SMTPC_PARSE_LINE || rc == SMTPC_PARSE_DONE || rc == SMTPC_EPROTO ||
                       rc == SMTPC_ELINE);
            log_event(log, &p, rc, off);
            if (rc < 0) {
                failed = 1;
                break;
            }
        } while (off < end);
    }
    if (!failed) {
        int busy = smtpc_reply_parser_busy(&p);
        fuzz_buf_put(log, &busy, sizeof busy);
    }
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    size_t cap = 8 + (size_t)fuzz_byte(&in) * 4;
    uint32_t seed = fuzz_byte(&in);
    size_t len = 0;
    const uint8_t *srv = fuzz_bytes(&in, size, &len);

    fuzz_buf whole = {0}, other = {0};
    run(srv, len, cap, SPLIT_WHOLE, 0, &whole);
    for (int mode = SPLIT_BYTES; mode <= SPLIT_SEEDED; mode++) {
        other.len = 0;
        run(srv, len, cap, mode, seed, &other);
        FUZZ_CHECK(other.len == whole.len && memcmp(other.data, whole.data, whole.len) == 0);
    }
    fuzz_buf_free(&whole);
    fuzz_buf_free(&other);
    return 0;
}
