/* See ct_compare.h. */
#include "ct_compare.h"

int smtpc_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    /* volatile: the compiler may not stop at the first difference. */
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}
