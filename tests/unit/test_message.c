/* The message builder through its public API: argument and injection
 * errors, chunk-size independence, exact size, rewind, source failures, and
 * an allocation-failure sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtpc.h"
#include "test_alloc.h"
#include "smtpc_config.h"

/* Header text for the full build needs RFC 2047/2231 encoding; without
 * -Dheader_encoding that is refused (test_argument_errors), so plain ASCII
 * stands in for it there. */
#if SMTPC_HAVE_HEADER_ENCODING
#define FROM_NAME "Alice \xc3\x9c"
#define SUBJECT "Gr\xc3\xbc\xc3\x9f" "e"
#define FILE_NAME "r\xc3\xa9sum\xc3\xa9.bin"
#else
#define FROM_NAME "Alice U"
#define SUBJECT "Gruesse"
#define FILE_NAME "resume.bin"
#endif

static int fixed_clock(void *user, int64_t *t, int *off)
{
    (void)user;
    *t = 1700000000;
    *off = 0;
    return 0;
}

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0xab, len);
    return 0;
}

typedef struct pattern {
    uint64_t size, pos;
    int fail_at_pos; /* return an error once pos reaches this, -1 never */
    int lie;         /* produce one byte more than size */
} pattern;

static int pattern_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    pattern *p = user;
    if (p->fail_at_pos >= 0 && p->pos >= (uint64_t)p->fail_at_pos)
        return -1;
    uint64_t end = p->size + (p->lie ? 1 : 0);
    size_t n = 0;
    while (n < cap && p->pos < end)
        buf[n++] = (uint8_t)(p->pos++ * 7);
    *len = n;
    return 0;
}

static int pattern_rewind(void *user)
{
    ((pattern *)user)->pos = 0;
    return 0;
}

static char tmp_path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmp_path, "/tmp/smtpc_test_msg_XXXXXX");
    int fd = mkstemp(tmp_path);
    if (fd < 0)
        return -1;
    uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ (i >> 3));
    if (write(fd, data, sizeof data) != (ssize_t)sizeof data)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(tmp_path);
    return 0;
}

/* A message with everything: returns 0 or the first error. */
static int build(smtpc_message *m, pattern *pat)
{
    static const uint8_t logo[300] = {1, 2, 3};
    static const char text[] = "Hello,\nFrom here.\n.dot\ncaf\xc3\xa9\n";
    static const char html[] = "<p>Hello <img src=\"cid:logo@x\"></p>";
    int rc;
    smtpc_message_set_clock(m, fixed_clock, NULL);
    smtpc_message_set_random(m, fixed_random, NULL);
    if ((rc = smtpc_message_set_from(m, "alice@example.com", FROM_NAME)) ||
        (rc = smtpc_message_add_to(m, "bob@example.com", "Bob")) ||
        (rc = smtpc_message_add_cc(m, "carol@example.com", NULL)) ||
        (rc = smtpc_message_add_bcc(m, "hidden@example.com", "Hidden")) ||
        (rc = smtpc_message_set_subject(m, SUBJECT)) ||
        (rc = smtpc_message_add_header(m, "X-Test", "yes")) ||
        (rc = smtpc_message_set_text(m, text, strlen(text), SMTPC_MEM_COPY)) ||
        (rc = smtpc_message_set_html(m, html, strlen(html), SMTPC_MEM_BORROW)) ||
        (rc = smtpc_message_inline_mem(m, logo, sizeof logo, SMTPC_MEM_COPY, "logo@x", "logo.png",
                                       NULL)) ||
        (rc = smtpc_message_attach_file(m, tmp_path, FILE_NAME, NULL)) ||
        (rc = smtpc_message_attach_mem(m, NULL, 0, SMTPC_MEM_COPY, "empty.txt", NULL)))
        return rc;
    if (pat)
        rc = smtpc_message_attach_reader(m, pattern_read, pattern_rewind, pat,
                                         (int64_t)pat->size, "gen.dat", "application/x-gen");
    return rc;
}

/* Read the whole message in chunks of chunk bytes into a malloc'd buffer. */
static uint8_t *read_all(smtpc_message *m, size_t chunk, size_t *total, int *err)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *out = malloc(cap);
    uint8_t *buf = malloc(chunk);
    *err = 0;
    for (;;) {
        size_t len;
        int rc = smtpc_message_read(m, buf, chunk, &len);
        if (rc) {
            *err = rc;
            break;
        }
        if (len == 0)
            break;
        assert_true(len <= chunk);
        if (n + len > cap)
            out = realloc(out, cap = (n + len) * 2);
        memcpy(out + n, buf, len);
        n += len;
    }
    free(buf);
    *total = n;
    return out;
}

static void test_chunks_size_rewind(void **state)
{
    (void)state;
    smtpc_message *m;
    pattern pat = {70000, 0, -1, 0};
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(build(m, &pat), 0);
    int64_t size;
    assert_int_equal(smtpc_message_size(m, &size), 0);
    size_t ref_len;
    int err;
    uint8_t *ref = read_all(m, 65536, &ref_len, &err);
    assert_int_equal(err, 0);
    assert_int_equal((int64_t)ref_len, size);
    static const size_t chunks[] = {1, 7, 76, 77, 78, 2047, 2048, 4096, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        assert_int_equal(smtpc_message_rewind(m), 0);
        size_t len;
        uint8_t *got = read_all(m, chunks[i], &len, &err);
        assert_int_equal(err, 0);
        assert_int_equal(len, ref_len);
        assert_memory_equal(got, ref, len);
        free(got);
    }
    /* After the end: more reads give 0 bytes. */
    size_t len;
    uint8_t b[8];
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), 0);
    assert_int_equal(len, 0);
    /* CRLF only, lines within 998, Bcc absent, MIME-Version present. */
    for (size_t i = 0, col = 0; i < ref_len; i++) {
        if (ref[i] == '\n') {
            assert_true(i > 0 && ref[i - 1] == '\r');
            col = 0;
        } else if (ref[i] == '\r') {
            assert_true(i + 1 < ref_len && ref[i + 1] == '\n');
        } else {
            assert_true(++col <= 998);
        }
    }
    char *text = calloc(1, ref_len + 1);
    memcpy(text, ref, ref_len);
    assert_null(strstr(text, "hidden@example.com"));
    assert_null(strstr(text, "Bcc"));
    assert_non_null(strstr(text, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(text, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
    assert_non_null(strstr(text, "Content-ID: <logo@x>\r\n"));
    assert_int_equal(smtpc_message_mail_flags(m), 0);
    free(text);
    free(ref);
    smtpc_message_free(m);
    smtpc_message_free(NULL);
}

static void test_argument_errors(void **state)
{
    (void)state;
    smtpc_message *m;
    assert_int_equal(smtpc_message_new(NULL, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, NULL, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_from(m, "not an address", NULL), SMTPC_EADDRESS);
    assert_int_equal(smtpc_message_add_to(m, "Bob <bob@example.com>", NULL), SMTPC_EADDRESS);
    assert_int_equal(smtpc_message_add_to(m, "bob@example.com\r\nX: y", NULL), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_add_to(m, "bob@example.com", "Bob\r\nBcc: evil@x"),
                     SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_add_to(m, "bob@example.com", "\xff\xfe"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_set_subject(m, "hi\r\nBcc: evil@example.com"),
                     SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_set_subject(m, "hi\nthere"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_set_subject(m, "nul\x01"), SMTPC_EBADCHAR);
#if !SMTPC_HAVE_HEADER_ENCODING
    assert_int_equal(smtpc_message_set_subject(m, "Gr\xc3\xbc\xc3\x9f" "e"), SMTPC_ENOTSUP);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "-Dheader_encoding=false"));
#endif
    assert_int_equal(smtpc_message_add_header(m, "X-Bad:Name", "v"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_add_header(m, "X Space", "v"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_add_header(m, "", "v"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_add_header(m, "bcc", "v"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_add_header(m, "Content-Type", "text/plain"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_add_header(m, "X-Ok", "a\r\n b"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_set_date(m, "Mon\r\nX: y"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_set_message_id(m, "no-brackets@x"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_set_message_id(m, "<a b@x>"), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_set_message_id(m, "<ok@example.com>"), 0);
    assert_int_equal(smtpc_message_attach_file(m, "/nonexistent/file", NULL, NULL), SMTPC_EFILE);
    assert_int_equal(smtpc_message_attach_file(m, "/tmp", NULL, NULL), SMTPC_EFILE);
    assert_int_equal(smtpc_message_attach_mem(m, (const uint8_t *)"x", 1, SMTPC_MEM_COPY, "a",
                                              "text/plain; charset=x"),
                     SMTPC_EHEADER);
    assert_int_equal(smtpc_message_attach_mem(m, (const uint8_t *)"x", 1, SMTPC_MEM_COPY,
                                              "a\r\nb", NULL),
                     SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_attach_mem(m, NULL, 5, SMTPC_MEM_COPY, NULL, NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_message_attach_mem(m, (const uint8_t *)"x", 1, 7, NULL, NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_message_inline_mem(m, (const uint8_t *)"x", 1, SMTPC_MEM_COPY, NULL,
                                              NULL, NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_message_inline_mem(m, (const uint8_t *)"x", 1, SMTPC_MEM_COPY,
                                              "a b", NULL, NULL),
                     SMTPC_EHEADER);
    assert_int_equal(smtpc_message_attach_reader(m, NULL, NULL, NULL, -1, NULL, NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_flags(m, 0x40000), SMTPC_EINVAL);
    /* No From yet: read and size refuse. */
    uint8_t b[16];
    size_t len;
    int64_t size;
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), SMTPC_EHEADER);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EHEADER);
    assert_true(strlen(smtpc_error_message(smtpc_message_error(m))) > 0);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), 0);
    assert_int_equal(len, sizeof b);
    /* UTF-8 addresses need SMTPUTF8. */
    assert_int_equal(smtpc_message_add_to(m, "j\xc3\xb6rg@example.com", NULL), 0);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_EUTF8);
    assert_int_equal(smtpc_message_set_flags(m, SMTPC_MESSAGE_SMTPUTF8), 0);
    assert_int_equal(smtpc_message_size(m, &size), 0);
    assert_int_equal(smtpc_message_mail_flags(m), SMTPC_MAIL_SMTPUTF8 | SMTPC_MAIL_8BITMIME);
    assert_int_equal(smtpc_message_read(NULL, b, 1, &len), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_read(m, NULL, 1, &len), SMTPC_EINVAL);
    smtpc_message_free(m);
}

static void test_source_errors(void **state)
{
    (void)state;
    smtpc_message *m;
    int err;
    size_t len;
    /* A failing callback: ESOURCE, sticky until rewind. */
    pattern pat = {100000, 0, 5000, 0};
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(build(m, &pat), 0);
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, SMTPC_ESOURCE);
    uint8_t b[8];
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), SMTPC_ESOURCE);
    pat.fail_at_pos = -1;
    assert_int_equal(smtpc_message_rewind(m), 0);
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, 0);
    /* A callback that gives more than it declared. */
    pat.lie = 1;
    assert_int_equal(smtpc_message_rewind(m), 0);
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, SMTPC_ESOURCE);
    smtpc_message_free(m);

    /* A file that shrank after it was attached. */
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(build(m, NULL), 0);
    assert_int_equal(truncate(tmp_path, 100), 0);
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, SMTPC_EFILE);
    /* ...or vanished. */
    unlink(tmp_path);
    assert_int_equal(smtpc_message_rewind(m), 0);
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "cannot open"));
    smtpc_message_free(m);
    setup(NULL);

    /* Unknown size; no rewind. */
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    pattern p2 = {1000, 0, -1, 0};
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    assert_int_equal(smtpc_message_attach_reader(m, pattern_read, NULL, &p2, -1, "x", NULL), 0);
    int64_t size;
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_ESIZEUNKNOWN);
    assert_int_equal(size, -1);
    free(read_all(m, 100, &len, &err));
    assert_int_equal(err, 0);
    assert_int_equal(smtpc_message_rewind(m), SMTPC_ESTATE);
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), SMTPC_ESTATE);
    smtpc_message_free(m);
}

/* Review finding #5: the file is stat'ed when attached and opened only when
 * sent. A FIFO put at its path must not block the send forever, and a file
 * whose size changed (the SIZE declared would be wrong) must fail clearly,
 * at smtpc_message_size already, before anything goes on the wire. */
static void test_file_replaced(void **state)
{
    (void)state;
    char path[64];
    strcpy(path, "/tmp/smtpc_test_fifo_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello", 5), 5);
    close(fd);
    /* A regression would hang in open(): SIGALRM ends the test instead. */
    alarm(30);
    smtpc_message *m;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    assert_int_equal(smtpc_message_attach_file(m, path, "f.bin", NULL), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    size_t len;
    int err;
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), path));
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "no longer a regular file"));
    int64_t size;
    assert_int_equal(smtpc_message_rewind(m), 0);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "no longer a regular file"));
    unlink(path);

    /* A regular file again, but longer than when attached. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello, world", 12), 12);
    close(fd);
    assert_int_equal(smtpc_message_rewind(m), 0);
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "changed size since attached"));
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), path));
    free(read_all(m, 4096, &len, &err));
    assert_int_equal(err, SMTPC_EFILE);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "changed size since attached"));
    /* Back to its size: sent normally. */
    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(smtpc_message_rewind(m), 0);
    assert_int_equal(smtpc_message_size(m, &size), 0);
    uint8_t *all = read_all(m, 4096, &len, &err);
    assert_int_equal(err, 0);
    assert_int_equal((int64_t)len, size);
    free(all);
    smtpc_message_free(m);
    unlink(path);
    alarm(0);
}

static int never_read(void *user, uint8_t *buf, size_t cap, size_t *len)
{
    (void)user;
    (void)buf;
    (void)cap;
    *len = 0;
    return -1;
}

/* Review finding #16: encoded sizes are computed from declared sizes. A
 * source declaring INT64_MAX (or UINT64_MAX / 2) bytes, or parts whose
 * encoded sizes add up past INT64_MAX, must give a clear SMTPC_ETOOLONG,
 * never a wrapped or negative size. */
static void test_size_overflow(void **state)
{
    (void)state;
    smtpc_message *m;
    int64_t size = 0;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    assert_int_equal(smtpc_message_attach_reader(m, never_read, NULL, NULL, INT64_MAX, "x", NULL),
                     SMTPC_ETOOLONG);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "too large"));
    assert_int_equal(smtpc_message_attach_reader(m, never_read, NULL, NULL,
                                                 (int64_t)(UINT64_MAX / 2), "x", NULL),
                     SMTPC_ETOOLONG);
    assert_int_equal(smtpc_message_inline_reader(m, never_read, NULL, NULL, INT64_MAX / 57 * 45,
                                                 "c@x", "x", NULL),
                     SMTPC_ETOOLONG);
    /* Each part fits; together they do not. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(smtpc_message_attach_reader(m, never_read, NULL, NULL, INT64_MAX / 3,
                                                     "x", NULL),
                         0);
    size = 0;
    assert_int_equal(smtpc_message_size(m, &size), SMTPC_ETOOLONG);
    assert_int_equal(size, -1);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "would exceed"));
    smtpc_message_free(m);

    /* One part just under the limit is sized exactly. */
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_int_equal(smtpc_message_set_from(m, "a@example.com", NULL), 0);
    int64_t big = INT64_MAX / 78 * 57 - 1000;
    assert_int_equal(smtpc_message_attach_reader(m, never_read, NULL, NULL, big, "x", NULL), 0);
    assert_int_equal(smtpc_message_size(m, &size), 0);
    assert_true(size > big);
    smtpc_message_free(m);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        /* n allocations succeed, the one after them fails. */
        test_heap h;
        test_heap_init(&h, TEST_HEAP_FAIL_ONE, n + 1);
        smtpc_allocator a = h.hook;
        smtpc_message *m = NULL;
        pattern pat = {1000, 0, -1, 0};
        int rc = smtpc_message_new(&a, &m);
        if (rc == 0)
            rc = build(m, &pat);
        if (rc == 0) {
            size_t len;
            int err;
            free(read_all(m, 4096, &len, &err));
            assert_int_equal(err, 0);
        } else {
            assert_int_equal(rc, SMTPC_ENOMEM);
            /* API consolidation: the record carries the code of every
             * failure, allocation failures included. */
            if (m)
                assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_ENOMEM);
        }
        smtpc_message_free(m);
        assert_int_equal(h.live_bytes, 0);
        assert_int_equal(h.bad_frees, 0);
        if (rc == 0) {
            assert_true(n > 5);
            break;
        }
    }
}

/* API consolidation: one error record per handle. Every failing call on a
 * message sets its code (bad arguments included, which used to return a
 * bare code and leave only stale text), and a successful rewind clears a
 * sticky read error from the record. */
static void test_error_record(void **state)
{
    (void)state;
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_null(smtpc_message_error(NULL));
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), 0);
    assert_int_equal(smtpc_message_set_flags(m, 0x40000), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EINVAL);
    assert_non_null(strstr(smtpc_error_message(smtpc_message_error(m)), "flag"));
    assert_int_equal(smtpc_message_add_to(m, "bad address", NULL), SMTPC_EADDRESS);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EADDRESS);
    assert_int_equal(smtpc_message_add_header(m, "X-A", NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_text(m, NULL, 3, SMTPC_MEM_COPY), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_set_subject(m, "a\r\nBcc: x@y"), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EBADCHAR);
    assert_int_equal(smtpc_message_inline_mem(m, (const uint8_t *)"x", 1, SMTPC_MEM_COPY, NULL,
                                              NULL, NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_attach_file(m, "", NULL, NULL), SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_attach_reader(m, NULL, NULL, NULL, -1, "f", NULL),
                     SMTPC_EINVAL);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EINVAL);
    /* A sticky read error is the record's code on every repeat, even after
     * another call failed differently in between. */
    uint8_t b[16];
    size_t len;
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_set_flags(m, 0x40000), SMTPC_EINVAL);
    assert_int_equal(smtpc_message_read(m, b, sizeof b, &len), SMTPC_EHEADER);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), SMTPC_EHEADER);
    assert_int_equal(smtpc_message_rewind(m), 0);
    assert_int_equal(smtpc_error_code(smtpc_message_error(m)), 0);
    smtpc_message_free(m);
}

/* Consolidation issue: the envelope a driver sends the message with comes
 * from public calls (the client no longer reads the message's insides). */
static void test_envelope(void **state)
{
    (void)state;
    smtpc_message *m = NULL;
    assert_int_equal(smtpc_message_new(NULL, &m), 0);
    assert_null(smtpc_message_from_address(NULL));
    assert_null(smtpc_message_from_address(m));
    assert_int_equal(smtpc_message_envelope_rcpts(NULL, NULL, 0), 0);
    assert_int_equal(smtpc_message_envelope_rcpts(m, NULL, 0), 0);
    assert_int_equal(smtpc_message_set_from(m, "me@x.test", "Me"), 0);
    assert_string_equal(smtpc_message_from_address(m), "me@x.test");
    assert_int_equal(smtpc_message_add_bcc(m, "hidden@y.test", NULL), 0);
    assert_int_equal(smtpc_message_add_cc(m, "c@y.test", NULL), 0);
    assert_int_equal(smtpc_message_add_to(m, "a@y.test", "A"), 0);
    assert_int_equal(smtpc_message_add_reply_to(m, "r@y.test", NULL), 0); /* not a recipient */
    assert_int_equal(smtpc_message_add_to(m, "c@y.test", NULL), 0);     /* duplicates kept */
    assert_int_equal(smtpc_message_envelope_rcpts(m, NULL, 0), 4);
    const char *table[5] = {"x", "x", "x", "x", "x"};
    assert_int_equal(smtpc_message_envelope_rcpts(m, table, 2), 4);
    assert_string_equal(table[0], "a@y.test");
    assert_string_equal(table[1], "c@y.test");
    assert_string_equal(table[2], "x"); /* past cap: untouched */
    assert_int_equal(smtpc_message_envelope_rcpts(m, table, 5), 4);
    assert_string_equal(table[0], "a@y.test");
    assert_string_equal(table[1], "c@y.test");
    assert_string_equal(table[2], "c@y.test");
    assert_string_equal(table[3], "hidden@y.test");
    assert_string_equal(table[4], "x");
    smtpc_message_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_size_rewind),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_source_errors),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_file_replaced),
        cmocka_unit_test(test_size_overflow),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_error_record),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
