/* rn_zip_unpack: archives built here with libzip, good and hostile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "check.h"
#include "zipin.h"

typedef struct {
    const char *name;
    const char *data; /* NULL: a directory entry */
    size_t len;
    int symlink;
    int encrypt;
} entry;

/* Build a zip in memory from entries; returns malloc'd bytes or NULL. */
static char *build(const entry *e, size_t n, size_t *outlen)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (!src)
        return NULL;
    zip_source_keep(src);
    zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    char *out = NULL;
    if (!za)
        goto done;
    for (size_t i = 0; i < n; i++) {
        zip_int64_t idx;
        if (!e[i].data) {
            idx = zip_dir_add(za, e[i].name, ZIP_FL_ENC_RAW);
        } else {
            zip_source_t *s = zip_source_buffer(za, e[i].data, e[i].len, 0);
            idx = zip_file_add(za, e[i].name, s, ZIP_FL_ENC_RAW);
        }
        if (idx < 0) {
            fprintf(stderr, "zip add %s: %s\n", e[i].name, zip_strerror(za));
            zip_discard(za);
            goto done;
        }
        if (e[i].symlink)
            zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                             (zip_uint32_t)(S_IFLNK | 0777) << 16);
        if (e[i].encrypt &&
            zip_file_set_encryption(za, (zip_uint64_t)idx, ZIP_EM_AES_256, "pw") != 0) {
            zip_discard(za);
            goto done;
        }
    }
    if (zip_close(za) != 0)
        goto done;
    zip_stat_t st;
    if (zip_source_stat(src, &st) != 0 || zip_source_open(src) != 0)
        goto done;
    out = malloc(st.size ? st.size : 1);
    if (out && zip_source_read(src, out, st.size) != (zip_int64_t)st.size) {
        free(out);
        out = NULL;
    }
    zip_source_close(src);
    *outlen = st.size;
done:
    zip_source_free(src);
    zip_error_fini(&ze);
    return out;
}

static int unpack(const entry *e, size_t n, size_t max_files, uint64_t max_bytes,
                  rn_job_file **files, size_t *nfiles, char *err)
{
    size_t len = 0;
    char *zip = build(e, n, &len);
    if (!zip)
        return -9999;
    rn_zip_limits lim = {max_files, max_bytes};
    int rc = rn_zip_unpack(zip, len, &lim, files, nfiles, err, 256);
    free(zip);
    return rc;
}

/* One bad entry beside a good one: refused with rc and err containing want. */
static void refused(const entry *bad, int want_rc, const char *want)
{
    entry e[2] = {{"ok.txt", "ok", 2, 0, 0}, *bad};
    rn_job_file *files = (rn_job_file *)1;
    size_t n = 7;
    char err[256] = "";
    CHECK_INT(unpack(e, 2, 16, 1 << 20, &files, &n, err), want_rc);
    CHECK(files == NULL);
    CHECK_INT(n, 0);
    if (!strstr(err, want))
        fprintf(stderr, "  err was: %s (want %s)\n", err, want);
    CHECK(strstr(err, want) != NULL);
}

static void test_good_nested(void)
{
    entry e[] = {
        {"main.py", "import lib.util\n", 16, 0, 0},
        {"lib/", NULL, 0, 0, 0},
        {"lib/util.py", "X = 1\n", 6, 0, 0},
        {"lib/data/empty.txt", "", 0, 0, 0},
    };
    rn_job_file *files = NULL;
    size_t n = 0;
    char err[256] = "";
    REQUIRE(unpack(e, 4, 3, 22, &files, &n, err) == 0);
    REQUIRE(n == 3);
    CHECK_STR(files[0].name, "main.py");
    CHECK_INT(files[0].len, 16);
    CHECK(memcmp(files[0].data, "import lib.util\n", 16) == 0);
    CHECK_STR(files[1].name, "lib/util.py");
    CHECK_INT(files[1].len, 6);
    CHECK(memcmp(files[1].data, "X = 1\n", 6) == 0);
    CHECK_STR(files[2].name, "lib/data/empty.txt");
    CHECK_INT(files[2].len, 0);
    rn_zip_files_free(files, n);
    /* One byte under the total, one file under the count. */
    CHECK_INT(unpack(e, 4, 3, 21, &files, &n, err), -E2BIG);
    CHECK_INT(unpack(e, 4, 2, 22, &files, &n, err), -E2BIG);
    CHECK(strstr(err, "more than 2 files") != NULL);
}

static void test_bad_names(void)
{
    refused(&(entry){"../escape", "x", 1, 0, 0}, -EINVAL, "bad name");
    refused(&(entry){"a/../../escape", "x", 1, 0, 0}, -EINVAL, "bad name");
    refused(&(entry){"/etc/passwd", "x", 1, 0, 0}, -EINVAL, "absolute");
    refused(&(entry){"a//b", "x", 1, 0, 0}, -EINVAL, "bad name");
    refused(&(entry){"./a", "x", 1, 0, 0}, -EINVAL, "bad name");
    refused(&(entry){"..\\escape", "x", 1, 0, 0}, -EINVAL, "backslash");
    refused(&(entry){"../", NULL, 0, 0, 0}, -EINVAL, "bad name");
}

/* libzip will not write a repeated name: write "ok.txX" and patch it in
 * the local and central headers. */
static void test_repeated_name(void)
{
    entry e[2] = {{"ok.txt", "ok", 2, 0, 0}, {"ok.txX", "again", 5, 0, 0}};
    size_t len = 0;
    char *zip = build(e, 2, &len);
    REQUIRE(zip);
    int patched = 0;
    for (size_t i = 0; i + 6 <= len; i++)
        if (!memcmp(zip + i, "ok.txX", 6)) {
            zip[i + 5] = 't';
            patched++;
        }
    CHECK_INT(patched, 2);
    rn_zip_limits lim = {4, 1024};
    rn_job_file *files = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = rn_zip_unpack(zip, len, &lim, &files, &n, err, sizeof(err));
    /* libzip itself may refuse the archive; either way it is refused. */
    CHECK_INT(rc, -EINVAL);
    fprintf(stderr, "  repeated: %s\n", err);
    CHECK(strstr(err, "repeated name") != NULL);
    CHECK(files == NULL);
    free(zip);
}

static void test_symlink_and_encrypted(void)
{
    refused(&(entry){"link", "/etc/passwd", 11, 1, 0}, -EINVAL, "symbolic link");
    size_t len = 0;
    entry enc = {"secret.txt", "hidden", 6, 0, 1};
    char *zip = build(&enc, 1, &len);
    if (!zip) {
        fprintf(stderr, "  (libzip here cannot encrypt: encrypted case skipped)\n");
        return;
    }
    free(zip);
    refused(&enc, -EINVAL, "encrypted");
}

static void test_not_zip(void)
{
    rn_zip_limits lim = {4, 1024};
    rn_job_file *files = NULL;
    size_t n = 0;
    char err[256] = "";
    CHECK_INT(rn_zip_unpack("hello, world", 12, &lim, &files, &n, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not a zip") != NULL);
    CHECK_INT(rn_zip_unpack("", 0, &lim, &files, &n, err, sizeof(err)), -EINVAL);
    /* A good archive cut short. */
    entry e = {"a.txt", "abcdef", 6, 0, 0};
    size_t len = 0;
    char *zip = build(&e, 1, &len);
    REQUIRE(zip);
    CHECK_INT(rn_zip_unpack(zip, len - 10, &lim, &files, &n, err, sizeof(err)), -EINVAL);
    CHECK(files == NULL);
    free(zip);
}

static void test_too_many_files(void)
{
    enum { N = 40 };
    entry e[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        e[i] = (entry){names[i], "x", 1, 0, 0};
    }
    rn_job_file *files = NULL;
    size_t n = 0;
    char err[256] = "";
    CHECK_INT(unpack(e, N, N - 1, 1 << 20, &files, &n, err), -E2BIG);
    CHECK(strstr(err, "more than 39 files") != NULL);
    REQUIRE(unpack(e, N, N, 1 << 20, &files, &n, err) == 0);
    CHECK_INT(n, N);
    rn_zip_files_free(files, n);
}

/* 64 MiB of zeros deflate to a few tens of KiB: the unpack stops at 1 MiB. */
static void test_bomb(void)
{
    size_t big = 64u << 20;
    char *zeros = calloc(1, big);
    REQUIRE(zeros);
    entry e = {"bomb.bin", zeros, big, 0, 0};
    size_t len = 0;
    char *zip = build(&e, 1, &len);
    free(zeros);
    REQUIRE(zip);
    CHECK(len < (1u << 20));
    rn_zip_limits lim = {4, 1u << 20};
    rn_job_file *files = NULL;
    size_t n = 0;
    char err[256] = "";
    CHECK_INT(rn_zip_unpack(zip, len, &lim, &files, &n, err, sizeof(err)), -E2BIG);
    CHECK(strstr(err, "more than 1048576 bytes") != NULL);
    CHECK(files == NULL);
    free(zip);
}

int main(void)
{
    RUN_TEST(test_good_nested);
    RUN_TEST(test_bad_names);
    RUN_TEST(test_repeated_name);
    RUN_TEST(test_symlink_and_encrypted);
    RUN_TEST(test_not_zip);
    RUN_TEST(test_too_many_files);
    RUN_TEST(test_bomb);
    return check_report();
}
