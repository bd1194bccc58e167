/* A build without TLS keeps every TLS symbol, each saying SMTPC_ENOTSUP,
 * and still takes ownership of the inner transport it is handed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "smtpc/tls.h"

static int closed;

static int no_send(void *user, const uint8_t *buf, size_t len, int timeout_ms, size_t *sent)
{
    (void)user;
    (void)buf;
    (void)timeout_ms;
    *sent = len;
    return 0;
}

static int no_recv(void *user, uint8_t *buf, size_t cap, int timeout_ms, size_t *received)
{
    (void)user;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    (void)received;
    return SMTPC_ECLOSED;
}

static void on_close(void *user)
{
    (void)user;
    closed = 1;
}

static void everything_enotsup(void **state)
{
    (void)state;
    smtpc_tls_config *cfg = (smtpc_tls_config *)&closed;
    assert_int_equal(smtpc_tls_config_new(NULL, &cfg), SMTPC_ENOTSUP);
    assert_null(cfg);
    smtpc_tls_config_free(NULL);
    assert_int_equal(smtpc_tls_config_add_ca_file(NULL, "x"), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_tls_config_set_verify(NULL, SMTPC_TLS_VERIFY_NONE), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_tls_config_set_server_name(NULL, "x"), SMTPC_ENOTSUP);
    assert_int_equal(smtpc_tls_config_verify_mode(NULL), SMTPC_ENOTSUP);
    /* API consolidation: the record says why, with its code. */
    assert_int_equal(smtpc_error_code(smtpc_tls_config_error(NULL)), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_tls_config_error(NULL)), "without TLS"));

    smtpc_transport *inner = NULL, *t = NULL;
    assert_int_equal(smtpc_transport_new_callbacks(NULL, no_send, no_recv, on_close, NULL,
                                                   &inner), 0);
    assert_int_equal(smtpc_transport_new_tls(NULL, inner, NULL, "localhost", &t),
                     SMTPC_ENOTSUP);
    assert_null(t);
    assert_int_equal(closed, 1);
    /* The handshake call on any transport: refused, and the record says why. */
    assert_int_equal(smtpc_transport_new_callbacks(NULL, no_send, no_recv, NULL, NULL, &t), 0);
    assert_int_equal(smtpc_transport_handshake(t, 1000), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_transport_error(t)), "without TLS"));
    smtpc_transport_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(everything_enotsup)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
