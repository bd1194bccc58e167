/* CALL(c, call) and SET_MODE(c) for the client tests built twice (issue 11):
 * as they are, and with SMTPC_TEST_NONBLOCKING, where SET_MODE puts the new
 * client in non-blocking mode and CALL finishes the started call with the
 * poll loop of nb_drive.c (checking that nothing blocks), so that the same
 * expectations hold for both modes. One test program per includer. */
#ifndef SMTPC_TEST_NB_CALL_H
#define SMTPC_TEST_NB_CALL_H

#ifdef SMTPC_TEST_NONBLOCKING
#include "nb_drive.h"

static nb_mark nb_call_mark;
static nb_stats nb_call_stats;
#define CALL(c, call) \
    (nb_mark_now(&nb_call_mark), nb_finish((c), &nb_call_mark, (call), &nb_call_stats))
#define SET_MODE(c) assert_int_equal(smtpc_client_set_nonblocking((c), 1), 0)
#else
#define CALL(c, call) (call)
#define SET_MODE(c) assert_non_null(c)
#endif

#endif
