/* Integers as decimal text without printf's length modifiers: newlib-nano's
 * printf has no %lld, %llu or %zu (they come out as "ld", "zu"), so 64-bit
 * and size_t values in messages and headers go through these and "%s".
 * tests/check_formats.py keeps such modifiers out of src/. */
#ifndef SMTPC_FMT_H
#define SMTPC_FMT_H
#include <stddef.h>
#include <stdint.h>

/* Room for any int64_t or uint64_t with its sign and the NUL. */
#define SMTPC_FMT_INT_MAX 21

/* Write v into buf (SMTPC_FMT_INT_MAX bytes), NUL-terminated, at least
 * min_digits digits (zero-padded; 0 or 1 for none). Return buf. */
char *smtpc_fmt_u64(char *buf, uint64_t v, unsigned min_digits);
char *smtpc_fmt_i64(char *buf, int64_t v, unsigned min_digits);
/* For size_t values (counts, lengths). */
#define smtpc_fmt_size(buf, v) smtpc_fmt_u64((buf), (uint64_t)(v), 1)

#endif
