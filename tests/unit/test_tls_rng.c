/* The TLS configuration's random generator (src/tls/tls_config.c,
 * smtpc_tls_config_rng): seeded once per configuration instead of once per
 * connection (issue 10), reseeded in a forked child so that parent and
 * child never draw the same bytes, reseeded when the entropy hook changes,
 * and an allocator failure while seeding reported as such. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_alloc.h"
#include "tls_mbedtls.h"

static int hook_calls;
static int counting_entropy(void *user, uint8_t *buf, size_t len, size_t *olen)
{
    (void)user;
    hook_calls++;
    memset(buf, 0x33, len);
    *olen = len;
    return 0;
}

static void test_seeded_once(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = NULL;
    assert_int_equal(smtpc_tls_config_new(NULL, &cfg), 0);
    assert_int_equal(smtpc_tls_config_set_entropy(cfg, counting_entropy, NULL), 0);
    hook_calls = 0;
    mbedtls_ctr_drbg_context *a = NULL, *b = NULL;
    int nomem = -1;
    assert_int_equal(smtpc_tls_config_rng(cfg, &a, &nomem), 0);
    assert_int_equal(nomem, 0);
    assert_true(hook_calls > 0);
    hook_calls = 0;
    assert_int_equal(smtpc_tls_config_rng(cfg, &b, &nomem), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(hook_calls, 0);
    uint8_t x[32], y[32];
    assert_int_equal(mbedtls_ctr_drbg_random(a, x, sizeof x), 0);
    assert_int_equal(mbedtls_ctr_drbg_random(b, y, sizeof y), 0);
    assert_memory_not_equal(x, y, sizeof x);
    /* A new hook: reseeded at the next use. */
    assert_int_equal(smtpc_tls_config_set_entropy(cfg, counting_entropy, NULL), 0);
    assert_int_equal(smtpc_tls_config_rng(cfg, &b, &nomem), 0);
    assert_true(hook_calls > 0);
    smtpc_tls_config_free(cfg);
}

/* Without the reseed, the child would copy the parent's state and both
 * would draw identical bytes next. */
static void test_fork_reseeds(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = NULL;
    assert_int_equal(smtpc_tls_config_new(NULL, &cfg), 0);
    mbedtls_ctr_drbg_context *d = NULL;
    int nomem = 0;
    assert_int_equal(smtpc_tls_config_rng(cfg, &d, &nomem), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mbedtls_ctr_drbg_context *cd = NULL;
        int cn = 0;
        uint8_t b[32];
        int ok = smtpc_tls_config_rng(cfg, &cd, &cn) == 0 &&
                 mbedtls_ctr_drbg_random(cd, b, sizeof b) == 0 &&
                 write(fds[1], b, sizeof b) == (ssize_t)sizeof b;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    uint8_t mine[32], theirs[32];
    assert_int_equal(smtpc_tls_config_rng(cfg, &d, &nomem), 0);
    assert_int_equal(mbedtls_ctr_drbg_random(d, mine, sizeof mine), 0);
    assert_int_equal(read(fds[0], theirs, sizeof theirs), (ssize_t)sizeof theirs);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_not_equal(mine, theirs, sizeof mine);
    smtpc_tls_config_free(cfg);
}

/* Seeding allocates its entropy context from the configuration's hook:
 * when that fails the caller learns it was memory, and a later attempt
 * seeds normally. */
static void test_seed_nomem(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_tls_config *cfg = NULL;
    assert_int_equal(smtpc_tls_config_new(&heap.hook, &cfg), 0);
    heap.fail_at = heap.count + 1;
    heap.mode = TEST_HEAP_FAIL_FROM;
    mbedtls_ctr_drbg_context *d = NULL;
    int nomem = 0;
    assert_int_not_equal(smtpc_tls_config_rng(cfg, &d, &nomem), 0);
    assert_int_equal(nomem, 1);
    heap.fail_at = 0;
    assert_int_equal(smtpc_tls_config_rng(cfg, &d, &nomem), 0);
    assert_int_equal(nomem, 0);
    smtpc_tls_config_free(cfg);
    assert_int_equal(heap.live_bytes, 0);
    assert_int_equal(heap.bad_frees, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_once),
        cmocka_unit_test(test_fork_reseeds),
        cmocka_unit_test(test_seed_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
