/* The DKIM signer's API: argument checks and their error records, the
 * refusals that need no key (Ed25519, bad names, missing From), a signer
 * that cannot sign making the message fail with its reason; and in a build
 * without DKIM, SMTPC_ENOTSUP from every call. Signatures themselves are
 * checked by two verifiers in tests/integration/test_dkim.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "smtpc.h"
#include "test_alloc.h"

static const uint8_t RAW[] = "From: a@example.com\r\n\r\nbody\r\n";

#if SMTPC_TEST_DKIM

static void test_settings_refused(void **state)
{
    (void)state;
    smtpc_dkim *d;
    assert_int_equal(smtpc_dkim_new(NULL, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_new(NULL, &d), 0);
    assert_int_equal(smtpc_dkim_set_domain(d, "exa mple.com"), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_domain(d, "example.com\r\nX: y"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_dkim_set_domain(d, "a..b"), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_selector(d, ""), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_dkim_error(d)), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_domain(d, "example.com"), 0);
    assert_int_equal(smtpc_dkim_set_selector(d, "s2025"), 0);

    const char *no_from[] = {"To", "Subject"};
    assert_int_equal(smtpc_dkim_set_headers(d, no_from, 2), SMTPC_EHEADER);
    assert_non_null(strstr(smtpc_error_message(smtpc_dkim_error(d)), "From"));
    const char *bad[] = {"From", "Sub ject"};
    assert_int_equal(smtpc_dkim_set_headers(d, bad, 2), SMTPC_EHEADER);
    const char *twice[] = {"From", "from"};
    assert_int_equal(smtpc_dkim_set_headers(d, twice, 2), SMTPC_EHEADER);
    const char *good[] = {"from", "subject", "X-Custom"};
    assert_int_equal(smtpc_dkim_set_headers(d, good, 3), 0);
    assert_int_equal(smtpc_dkim_set_headers(d, NULL, 0), 0);

    assert_int_equal(smtpc_dkim_set_canonicalization(d, 2, 0), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_canonicalization(d, SMTPC_DKIM_SIMPLE, SMTPC_DKIM_RELAXED), 0);
    assert_int_equal(smtpc_dkim_set_timestamps(d, 1, -5), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_timestamps(d, 0, 3600), 0);
    assert_int_equal(smtpc_dkim_set_oversign_from(d, 0), 0);

    /* Ed25519: said clearly, never silently RSA. */
    assert_int_equal(smtpc_dkim_set_algorithm(d, SMTPC_DKIM_ED25519_SHA256), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_dkim_error(d)), "Ed25519"));
    assert_int_equal(smtpc_dkim_set_algorithm(d, 99), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_algorithm(d, SMTPC_DKIM_RSA_SHA256), 0);

    /* Keys: not a key, an unreadable file. */
    static const uint8_t junk[] = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
                                  "-----END RSA PRIVATE KEY-----\n";
    assert_int_equal(smtpc_dkim_set_key_mem(d, junk, sizeof junk - 1, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_dkim_set_key_file(d, "/nonexistent/key.pem", NULL), SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_dkim_error(d)), "/nonexistent/key.pem"));

    /* No key: signing is refused, naming what is missing. */
    char out[64];
    size_t n = 99;
    assert_int_equal(smtpc_dkim_sign_raw(d, RAW, sizeof RAW - 1, out, sizeof out, &n),
                     SMTPC_ESTATE);
    assert_int_equal(n, 0);
    assert_non_null(strstr(smtpc_error_message(smtpc_dkim_error(d)), "key"));
    assert_int_equal(smtpc_dkim_sign_raw(d, RAW, sizeof RAW - 1, out, sizeof out, NULL),
                     SMTPC_EINVAL);
    smtpc_dkim_free(d);
    smtpc_dkim_free(NULL);
    assert_null(smtpc_dkim_error(NULL));
}

static void test_message_with_unusable_signer(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_ONE, 0);
    smtpc_message *m;
    smtpc_dkim *d;
    assert_int_equal(smtpc_message_new(&heap.hook, &m), 0);
    assert_int_equal(smtpc_dkim_new(&heap.hook, &d), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    assert_int_equal(smtpc_message_add_dkim(m, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_add_dkim(m, d), 0);
    assert_int_equal(smtpc_message_add_dkim(m, d), SMTPC_EINVAL);
    uint8_t buf[256];
    size_t len;
    int64_t size;
    /* The signer has no key: reading and sizing say so, nothing is read. */
    assert_int_equal(smtpc_message_read(m, buf, sizeof buf, &len), SMTPC_ESTATE);
    assert_int_equal(len, 0);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "DKIM signer 1"));
    assert_int_equal(smtpc_message_rewind(m), 0);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_ESTATE);
    smtpc_message_free(m);
    smtpc_dkim_free(d);
    assert_int_equal(heap.live_bytes, 0);
    assert_int_equal(heap.bad_frees, 0);
}

#else

static void test_everything_enotsup(void **state)
{
    (void)state;
    smtpc_dkim *d = (smtpc_dkim *)1;
    assert_int_equal(smtpc_dkim_new(NULL, &d), SMTPC_ENOTSUP);
    assert_null(d);
    assert_int_equal(smtpc_dkim_set_key_file(NULL, "k.pem", NULL), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_dkim_set_algorithm(NULL, SMTPC_DKIM_RSA_SHA256), SMTPC_ENOTSUP);
    char out[16];
    size_t n = 7;
    assert_int_equal(smtpc_dkim_sign_raw(NULL, RAW, sizeof RAW - 1, out, sizeof out, &n),
                     SMTPC_ENOTSUP);
    assert_int_equal(n, 0);
    smtpc_message *m;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_add_dkim(m, NULL), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "DKIM"));
    smtpc_message_free(m);
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#if SMTPC_TEST_DKIM
        cmocka_unit_test(test_settings_refused),
        cmocka_unit_test(test_message_with_unusable_signer),
#else
        cmocka_unit_test(test_everything_enotsup),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
