/* The DATA body encoder, by round trip: whatever the body and however it is
 * pushed (input chunks and output room taken from the input), the bytes on
 * the wire decode, the way a receiver reads them, to the body with its line
 * ends made CRLF; only CRLF line ends appear; the terminator appears once,
 * at the end.
 *
 * Input: [output room][split seed] then the body. */
#include <stdlib.h>
#include <string.h>

#include "dot_stuffer.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    /* 3 is the least room that lets every byte through (CR then ". "). */
    size_t room = 3 + fuzz_byte(&in) % 64;
    fuzz_rng rng;
    fuzz_rng_seed(&rng, fuzz_byte(&in));
    size_t len = 0;
    const uint8_t *body = fuzz_bytes(&in, size, &len);

    smtpc_dot_stuffer st;
    smtpc_dot_stuffer_init(&st);
    /* The CRLF that ended "DATA" comes first on the wire. */
    fuzz_buf wire = {0};
    fuzz_buf_put(&wire, "\r\n", 2);
    uint8_t out[80];
    int high = 0;
    size_t off = 0;
    while (off < len) {
        size_t chunk = fuzz_rng_size(&rng, len - off < 50 ? len - off : 50);
        while (chunk) {
            size_t consumed = 0, produced = 0;
            memset(out, 0xAA, sizeof out);
            smtpc_dot_stuffer_encode(&st, body + off, chunk, &consumed, out, room, &produced);
            FUZZ_CHECK(consumed > 0 && consumed <= chunk);
            FUZZ_CHECK(produced <= room && produced <= 3 * consumed);
            for (size_t i = produced; i < sizeof out; i++)
                FUZZ_CHECK(out[i] == 0xAA);
            for (size_t i = 0; i < consumed; i++)
                high |= body[off + i] >= 0x80;
            fuzz_buf_put(&wire, out, produced);
            off += consumed;
            chunk -= consumed;
        }
    }
    /* Too little room for the terminator: nothing written, nothing changed. */
    size_t small = fuzz_rng_next(&rng) % 8;
    memset(out, 0xAA, sizeof out);
    size_t n = smtpc_dot_stuffer_finish(&st, out, small);
    if (n == 0) {
        for (size_t i = 0; i < sizeof out; i++)
            FUZZ_CHECK(out[i] == 0xAA);
        n = smtpc_dot_stuffer_finish(&st, out, 7);
    }
    FUZZ_CHECK(n >= 3 && n <= 5);
    fuzz_buf_put(&wire, out, n);
    FUZZ_CHECK(st.saw_8bit == high);

    fuzz_buf got = {0}, want = {0};
    fuzz_unstuff_body(wire.data + 2, wire.len - 2, &got);
    fuzz_normalise_body(body, len, &want);
    FUZZ_CHECK(got.len == want.len && (got.len == 0 || memcmp(got.data, want.data, got.len) == 0));
    FUZZ_CHECK(wire.len >= 5 && memcmp(wire.data + wire.len - 5, "\r\n.\r\n", 5) == 0);
    fuzz_buf_free(&wire);
    fuzz_buf_free(&got);
    fuzz_buf_free(&want);
    return 0;
}
