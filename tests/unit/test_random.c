/* The default random source (src/port/random.c): bytes from the OS on
 * every call, no state and no allocation (issue 10: a CTR-DRBG seeded per
 * call used to be 92% of the CPU of a small message). Pinned here: requests
 * of any size are filled whole (getrandom returns at most 32 MiB - 1 per
 * call), draws differ, nothing is allocated, the call works on a small
 * thread stack, a forked child does not repeat its parent's bytes, and, with
 * the system calls refused by a seccomp filter in a child process, the
 * /dev/urandom fallback and the failure path (SMTPC_EIO, and
 * SMTPC_ESOURCE from a message that needs random bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#define HAVE_SECCOMP_TEST 1
#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#endif

#include "random.h"
#include "smtpc/base.h"
#include "smtpc/message.h"
#include "test_alloc.h"

#define SMALL_STACK (16 * 1024)

typedef struct {
    uint8_t buf[32];
    int rc;
} job;

static void *draw(void *arg)
{
    job *j = arg;
    j->rc = smtpc_random_default(NULL, j->buf, sizeof j->buf);
    return NULL;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void test_small_stack(void **state)
{
    (void)state;
    size_t size = SMALL_STACK;
    long min = sysconf(_SC_THREAD_STACK_MIN);
    if (min > 0 && (size_t)min > size)
        size = (size_t)min;
    pthread_attr_t attr;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, size), 0);
    job j;
    memset(&j, 0, sizeof j);
    j.rc = -12345;
    pthread_t t;
    assert_int_equal(pthread_create(&t, &attr, draw, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    assert_int_equal(j.rc, 0);
    assert_false(all_zero(j.buf, sizeof j.buf));
}

/* The allocator argument is ignored: nothing is allocated, on any call. */
static void test_no_allocation_and_draws_differ(void **state)
{
    (void)state;
    test_heap heap;
    test_heap_init(&heap, TEST_HEAP_FAIL_FROM, 1);
    uint8_t a[16], b[16];
    assert_int_equal(smtpc_random_default(&heap.hook, a, sizeof a), 0);
    assert_int_equal(smtpc_random_default(&heap.hook, b, sizeof b), 0);
    assert_int_equal(smtpc_random_default(NULL, NULL, 0), 0);
    assert_int_equal(heap.count, 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(smtpc_random_default(NULL, NULL, 1), SMTPC_EINVAL);
}

/* Past getrandom's per-call maximum (32 MiB - 1 from the urandom source),
 * so the answer comes in pieces: every 4 KiB block of the buffer must have
 * been written (a zero block has probability 2^-32768), and the byte
 * values must look uniform (each of the 256 within 10% of its expected
 * count over 40 MiB, a margin of about 30 standard deviations). */
static void test_large_request_filled(void **state)
{
    (void)state;
    size_t len = (40u << 20) + 123;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    assert_int_equal(smtpc_random_default(NULL, buf, len), 0);
    for (size_t off = 0; off < len; off += 4096) {
        size_t n = len - off < 4096 ? len - off : 4096;
        if (n >= 64 && all_zero(buf + off, n))
            fail_msg("block at %zu left unwritten", off);
    }
    assert_false(all_zero(buf + len - 64, 64));
    static size_t hist[256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < len; i++)
        hist[buf[i]]++;
    double expected = (double)len / 256;
    for (int v = 0; v < 256; v++) {
        double d = (double)hist[v] - expected;
        if (d < 0)
            d = -d;
        if (d > expected / 10)
            fail_msg("byte %d seen %zu times, expected about %.0f", v, hist[v], expected);
    }
    free(buf);
}

/* A generator kept in memory would be copied into a forked child and give
 * both processes the same bytes; the OS source does not. */
static void test_fork_differs(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t b[32];
        int ok = smtpc_random_default(NULL, b, sizeof b) == 0 &&
                 write(fds[1], b, sizeof b) == (ssize_t)sizeof b;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    uint8_t mine[32], theirs[32];
    assert_int_equal(smtpc_random_default(NULL, mine, sizeof mine), 0);
    assert_int_equal(read(fds[0], theirs, sizeof theirs), (ssize_t)sizeof theirs);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_not_equal(mine, theirs, sizeof mine);
}

#ifdef HAVE_SECCOMP_TEST
/* What a child under a filter saw, sent back over a pipe. */
typedef struct {
    int setup; /* 0: the filter is in place */
    int rc1, rc2, msg_rc;
    uint8_t a[32], b[32];
    char msg_error[128];
} child_report;

/* In the calling (child) process from now on: getrandom fails with
 * getrandom_errno, and open/openat with open_errno (0: allowed). */
static int install_filter(int getrandom_errno, int open_errno)
{
    unsigned open_ret = open_errno ? SECCOMP_RET_ERRNO | (unsigned)open_errno : SECCOMP_RET_ALLOW;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getrandom, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)getrandom_errno),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, open_ret),
#ifdef __NR_open
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_open, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, open_ret),
#endif
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/* Two draws and a message's first read, in a child under the filter. The
 * message is built before the filter goes on; its read needs 32 random
 * bytes (Message-ID, boundary) and allocates nothing new from the OS. */
static void run_filtered(int getrandom_errno, int open_errno, child_report *r)
{
    memset(r, 0, sizeof *r);
    smtpc_message *msg = NULL;
    assert_int_equal(smtpc_message_new(NULL, &msg), 0);
    assert_int_equal(smtpc_message_set_from(msg, "me@example.org", NULL), 0);
    assert_int_equal(smtpc_message_add_to(msg, "you@example.org", NULL), 0);
    assert_int_equal(smtpc_message_set_text(msg, "hi", 2, SMTPC_MEM_COPY), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_report c;
        memset(&c, 0, sizeof c);
        c.setup = install_filter(getrandom_errno, open_errno);
        if (c.setup == 0) {
            c.rc1 = smtpc_random_default(NULL, c.a, sizeof c.a);
            c.rc2 = smtpc_random_default(NULL, c.b, sizeof c.b);
            uint8_t out[2048];
            size_t n = 0;
            c.msg_rc = smtpc_message_read(msg, out, sizeof out, &n);
            const char *m = smtpc_error_message(smtpc_message_error(msg));
            snprintf(c.msg_error, sizeof c.msg_error, "%s", m ? m : "");
        }
        ssize_t w = write(fds[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], r, sizeof *r), (ssize_t)sizeof *r);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    smtpc_message_free(msg);
    assert_int_equal(r->setup, 0);
}

/* A kernel without getrandom: the bytes come from /dev/urandom. */
static void test_enosys_falls_back_to_urandom(void **state)
{
    (void)state;
    child_report r;
    run_filtered(ENOSYS, 0, &r);
    assert_int_equal(r.rc1, 0);
    assert_int_equal(r.rc2, 0);
    assert_false(all_zero(r.a, sizeof r.a));
    assert_memory_not_equal(r.a, r.b, sizeof r.a);
    assert_int_equal(r.msg_rc, 0);
}

/* No source at all: a clean error, and the message says its random source
 * failed instead of writing predictable boundaries. */
static void test_no_source_fails(void **state)
{
    (void)state;
    child_report r;
    run_filtered(ENOSYS, EACCES, &r);
    assert_int_equal(r.rc1, SMTPC_EIO);
    assert_int_equal(r.rc2, SMTPC_EIO);
    assert_int_equal(r.msg_rc, SMTPC_ESOURCE);
    assert_non_null(strstr(r.msg_error, "random source"));
}

/* getrandom failing for another reason is an error, not a reason to try a
 * weaker path. */
static void test_getrandom_error_is_reported(void **state)
{
    (void)state;
    child_report r;
    run_filtered(EPERM, 0, &r);
    assert_int_equal(r.rc1, SMTPC_EIO);
    assert_int_equal(r.msg_rc, SMTPC_ESOURCE);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_stack),
        cmocka_unit_test(test_no_allocation_and_draws_differ),
        cmocka_unit_test(test_large_request_filled),
        cmocka_unit_test(test_fork_differs),
#ifdef HAVE_SECCOMP_TEST
        cmocka_unit_test(test_enosys_falls_back_to_urandom),
        cmocka_unit_test(test_no_source_fails),
        cmocka_unit_test(test_getrandom_error_is_reported),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
