/* Comparison whose time does not depend on where the inputs differ, for
 * anything compared against a security decision (SCRAM server signatures,
 * certificate pins). */
#ifndef SMTPC_CT_COMPARE_H
#define SMTPC_CT_COMPARE_H
#include <stddef.h>
#include <stdint.h>

/* 1 when the len bytes at a and b are equal, else 0. len 0 is equal. */
int smtpc_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
