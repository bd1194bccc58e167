/* The pseudo-random generator the tests split and vary their input with.
 * Deterministic for a given seed, so that a failure replays; not for
 * anything that needs real randomness. */
#ifndef SMTPC_TEST_RNG_H
#define SMTPC_TEST_RNG_H

#include <stdint.h>

/* Marsaglia's xorshift32 (13, 17, 5): advances *state, which must not be
 * zero (it would stay zero), and returns the new value. */
static inline uint32_t test_xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

#endif
