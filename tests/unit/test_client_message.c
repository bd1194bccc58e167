/* smtpc_client_send_message reports message-side failures through the
 * client's error record, before anything touches the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtpc.h"

static void test_no_from(void **state)
{
    (void)state;
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(NULL, &c), 0);
    smtpc_message *m = NULL;
    assert_non_null(c);
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_add_to(m, "b@y.test", NULL), 0);
    assert_int_equal(smtpc_client_send_message(c, m, NULL, NULL, 0), SMTPC_EHEADER);
    const smtpc_error *err = smtpc_client_error(c);
    assert_int_equal(smtpc_error_code(err), SMTPC_EHEADER);
    assert_non_null(strstr(smtpc_error_message(err), "From"));
    smtpc_message_free(m);
    smtpc_client_free(c);
}

static void test_no_recipients(void **state)
{
    (void)state;
    smtpc_client *c = NULL;
    assert_int_equal(smtpc_client_new(NULL, &c), 0);
    smtpc_message *m = NULL;
    assert_non_null(c);
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@x.test", NULL), 0);
    assert_int_equal(smtpc_client_send_message(c, m, NULL, NULL, 0), SMTPC_ENORECIPIENTS);
    assert_int_equal(smtpc_error_code(smtpc_client_error(c)), SMTPC_ENORECIPIENTS);
    assert_non_null(strstr(smtpc_error_message(smtpc_client_error(c)), "Bcc"));
    /* with recipients given but no connection: the client's own state error */
    const char *rcpt[] = {"b@y.test"};
    assert_int_equal(smtpc_client_send_message(c, m, NULL, rcpt, 1), SMTPC_ESTATE);
    assert_int_equal(smtpc_client_send_message(NULL, m, NULL, rcpt, 1), SMTPC_EINVAL);
    assert_int_equal(smtpc_client_send_message(c, NULL, NULL, rcpt, 1), SMTPC_EINVAL);
    smtpc_message_free(m);
    smtpc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_from),
        cmocka_unit_test(test_no_recipients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
