/* The default random source (SCRAM nonces, MIME boundaries, Message-IDs)
 * when the user gives no hook. */
#ifndef SMTPC_RANDOM_H
#define SMTPC_RANDOM_H
#include <stddef.h>
#include <stdint.h>

/* Fill buf with len bytes from the operating system's CSPRNG: getrandom(2)
 * (blocking only until the kernel's pool is first initialised at boot),
 * else /dev/urandom. Keeps no state and allocates nothing: user is ignored
 * (the parameter only makes this an smtpc_random_fn). Safe from any thread
 * and after fork. Returns 0, SMTPC_EINVAL (buf NULL with len > 0) or
 * SMTPC_EIO when the system gives no bytes (no getrandom and no readable
 * /dev/urandom: install a random hook there). */
int smtpc_random_default(void *user, uint8_t *buf, size_t len);

#endif
