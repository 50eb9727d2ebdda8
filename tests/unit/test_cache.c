/* Unit tests for src/cache.c: keys, commit, the concurrent-commit loser,
 * LRU eviction by size, references, leftovers at open. */
#include "check.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "rmtree.h"

static char root[] = "/tmp/runnel-cache-test-XXXXXX";

static void put(const char *dir, const char *name, size_t bytes, char fill)
{
    char path[512];
    char *buf = malloc(bytes + 1);
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL || buf == NULL) {
        free(buf);
        if (f != NULL)
            fclose(f);
        return;
    }
    memset(buf, fill, bytes);
    fwrite(buf, 1, bytes, f);
    fclose(f);
    free(buf);
}

static char first_byte(const char *dir, const char *name)
{
    char path[512];
    int c;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    c = fgetc(f);
    fclose(f);
    return (char)c;
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void key_of(const char *code, char key[65])
{
    const char *argv[] = {"gcc", "main.c", NULL};

    rn_cache_key("c", argv, code, strlen(code), key);
}

/* Build an entry of `bytes` bytes under key; keeps the commit's reference. */
static int make_entry(rn_cache *c, const char *key, size_t bytes, char fill, char *final,
                      size_t size)
{
    char tmp[512];
    int rc = rn_cache_begin(c, tmp, sizeof(tmp));

    if (rc < 0)
        return rc;
    put(tmp, "main", bytes, fill);
    return rn_cache_commit(c, key, tmp, final, size);
}

static void hex(const uint8_t d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha256(void)
{
    static const struct {
        char fill;
        size_t len;
        const char *want;
    } v[] = {
        {0, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {'x', 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {'x', 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {'x', 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {'a', 1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"},
    };
    char buf[1000], got[65];
    uint8_t d[32];

    rn_cache_sha256("abc", 3, d);
    hex(d, got);
    CHECK_STR(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(buf, v[i].fill, v[i].len);
        rn_cache_sha256(buf, v[i].len, d);
        hex(d, got);
        CHECK_STR(got, v[i].want);
    }
}

static void test_key(void)
{
    const char *argv[] = {"gcc", "main.c", NULL};
    const char *split1[] = {"ab", NULL};
    const char *split2[] = {"a", "b", NULL};
    char k1[65], k2[65], k3[65];

    rn_cache_key("c", argv, "int main(){}", 12, k1);
    /* SHA-256 over length-prefixed fields (checked with Python's hashlib). */
    CHECK_STR(k1, "784819874c661f38b23f43e51631f8e97aaf3024045499cd83edee9fff9d6308");
    rn_cache_key("c", argv, "int main(){}", 12, k2);
    CHECK_STR(k1, k2);
    rn_cache_key("cpp", argv, "int main(){}", 12, k2);
    CHECK(strcmp(k1, k2) != 0);
    rn_cache_key("c", argv, "int main(){ }", 13, k2);
    CHECK(strcmp(k1, k2) != 0);
    rn_cache_key("c", NULL, "int main(){}", 12, k2);
    CHECK(strcmp(k1, k2) != 0);
    rn_cache_key("c", split1, "", 0, k2);
    rn_cache_key("c", split2, "", 0, k3);
    CHECK(strcmp(k2, k3) != 0);
    /* Code is hashed by length, NULs included. */
    rn_cache_key("c", NULL, "a\0b", 3, k2);
    rn_cache_key("c", NULL, "a\0c", 3, k3);
    CHECK(strcmp(k2, k3) != 0);
    CHECK_INT(strlen(k1), 64);
}

static void test_commit_and_hit(void)
{
    char dir[256], tmp[512], final[512], path[512], key[65];
    struct stat st;
    rn_cache *c = NULL;

    snprintf(dir, sizeof(dir), "%s/basic", root);
    REQUIRE(rn_cache_open(dir, 1 << 20, &c) == 0);
    key_of("one", key);
    CHECK_INT(rn_cache_acquire(c, key, path, sizeof(path)), -ENOENT);
    CHECK_INT(rn_cache_misses(c), 1);
    CHECK_INT(rn_cache_hits(c), 0);
    CHECK_INT(rn_cache_acquire(c, "not-a-key", path, sizeof(path)), -EINVAL);

    REQUIRE(rn_cache_begin(c, tmp, sizeof(tmp)) == 0);
    CHECK(strncmp(tmp, dir, strlen(dir)) == 0);
    CHECK(stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0755);
    put(tmp, "main", 100, 'x');
    CHECK_INT(rn_cache_commit(c, "bad", tmp, final, sizeof(final)), -EINVAL);
    CHECK_INT(rn_cache_commit(c, key, "/etc", final, sizeof(final)), -EINVAL);
    CHECK(exists("/etc"));
    REQUIRE(rn_cache_commit(c, key, tmp, final, sizeof(final)) == 0);
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    CHECK_STR(final, path);
    CHECK(!exists(tmp));
    CHECK_INT(first_byte(final, "main"), 'x');
    CHECK_INT(rn_cache_bytes(c), 100);
    rn_cache_release(c, key);

    path[0] = '\0';
    CHECK_INT(rn_cache_acquire(c, key, path, sizeof(path)), 0);
    CHECK_STR(path, final);
    CHECK_INT(rn_cache_hits(c), 1);
    CHECK_INT(rn_cache_acquire(c, key, path, 10), -ENAMETOOLONG);
    rn_cache_release(c, key);
    rn_cache_release(c, key); /* one too many: ignored */

    /* A failed compile leaves nothing behind. */
    REQUIRE(rn_cache_begin(c, tmp, sizeof(tmp)) == 0);
    put(tmp, "junk", 10, 'j');
    rn_cache_abort(c, tmp);
    CHECK(!exists(tmp));
    rn_cache_abort(c, "/etc"); /* not one of ours: ignored */
    CHECK(exists("/etc"));
    rn_cache_close(c);
}

static void test_concurrent_commit(void)
{
    char dir[256], tmp1[512], tmp2[512], f1[512], f2[512], key[65];
    rn_cache *c = NULL;

    snprintf(dir, sizeof(dir), "%s/race", root);
    REQUIRE(rn_cache_open(dir, 1 << 20, &c) == 0);
    key_of("same code", key);
    /* Two identical submissions both missed and both compiled. */
    REQUIRE(rn_cache_begin(c, tmp1, sizeof(tmp1)) == 0);
    REQUIRE(rn_cache_begin(c, tmp2, sizeof(tmp2)) == 0);
    CHECK(strcmp(tmp1, tmp2) != 0);
    put(tmp1, "main", 50, 'a');
    put(tmp2, "main", 60, 'b');
    CHECK_INT(rn_cache_commit(c, key, tmp1, f1, sizeof(f1)), 0);
    CHECK_INT(rn_cache_commit(c, key, tmp2, f2, sizeof(f2)), 0);
    CHECK_STR(f1, f2);
    CHECK(!exists(tmp1) && !exists(tmp2));
    CHECK_INT(first_byte(f1, "main"), 'a'); /* the winner's copy, untouched */
    CHECK_INT(rn_cache_bytes(c), 50);
    rn_cache_release(c, key);
    rn_cache_release(c, key);
    rn_cache_close(c);

    /* Another process committed the key first: adopted, not clobbered. */
    REQUIRE(rn_cache_open(dir, 1 << 20, &c) == 0);
    key_of("from elsewhere", key);
    snprintf(f1, sizeof(f1), "%s/%s", dir, key);
    REQUIRE(rn_cache_begin(c, tmp1, sizeof(tmp1)) == 0);
    REQUIRE(mkdir(f1, 0755) == 0);
    put(f1, "main", 70, 'o');
    put(tmp1, "main", 80, 'n');
    CHECK_INT(rn_cache_commit(c, key, tmp1, f2, sizeof(f2)), 0);
    CHECK_STR(f1, f2);
    CHECK(!exists(tmp1));
    CHECK_INT(first_byte(f2, "main"), 'o');
    CHECK_INT(rn_cache_bytes(c), 50 + 70);
    rn_cache_release(c, key);
    rn_cache_close(c);
}

static void test_lru_eviction(void)
{
    char dir[256], final[512], path[512], ka[65], kb[65], kc[65], kd[65];
    rn_cache *c = NULL;

    snprintf(dir, sizeof(dir), "%s/lru", root);
    REQUIRE(rn_cache_open(dir, 10000, &c) == 0);
    key_of("a", ka);
    key_of("b", kb);
    key_of("c", kc);
    key_of("d", kd);
    REQUIRE(make_entry(c, ka, 4000, 'a', final, sizeof(final)) == 0);
    rn_cache_release(c, ka);
    REQUIRE(make_entry(c, kb, 4000, 'b', final, sizeof(final)) == 0);
    rn_cache_release(c, kb);
    CHECK_INT(rn_cache_bytes(c), 8000);
    /* Use a again, so b is now the least recently used. */
    REQUIRE(rn_cache_acquire(c, ka, path, sizeof(path)) == 0);
    rn_cache_release(c, ka);
    REQUIRE(make_entry(c, kc, 4000, 'c', final, sizeof(final)) == 0);
    rn_cache_release(c, kc);
    CHECK_INT(rn_cache_bytes(c), 8000);
    CHECK_INT(rn_cache_acquire(c, kb, path, sizeof(path)), -ENOENT);
    snprintf(path, sizeof(path), "%s/%s", dir, kb);
    CHECK(!exists(path));
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    rn_cache_release(c, ka);
    CHECK_INT(rn_cache_acquire(c, kc, path, sizeof(path)), 0);
    rn_cache_release(c, kc);

    /* An entry in use is never evicted, even if it is the oldest. */
    REQUIRE(rn_cache_acquire(c, ka, path, sizeof(path)) == 0); /* a: in use */
    REQUIRE(rn_cache_acquire(c, kc, path, sizeof(path)) == 0); /* c: in use */
    REQUIRE(make_entry(c, kd, 4000, 'd', final, sizeof(final)) == 0);
    CHECK_INT(rn_cache_bytes(c), 12000); /* over the cap: all three in use */
    snprintf(path, sizeof(path), "%s/%s", dir, ka);
    CHECK(exists(path));
    CHECK_INT(first_byte(path, "main"), 'a');
    rn_cache_release(c, ka); /* a is free and least recent: it goes now */
    CHECK(!exists(path));
    CHECK_INT(rn_cache_bytes(c), 8000);
    rn_cache_release(c, kc);
    rn_cache_release(c, kd);
    CHECK_INT(rn_cache_bytes(c), 8000);

    /* An entry bigger than the whole cap is used, then dropped. */
    REQUIRE(make_entry(c, ka, 20000, 'A', final, sizeof(final)) == 0);
    CHECK(exists(final));
    CHECK_INT(first_byte(final, "main"), 'A');
    rn_cache_release(c, ka);
    CHECK(!exists(final));
    CHECK(rn_cache_bytes(c) <= 10000);
    rn_cache_close(c);
}

static void test_reopen(void)
{
    char dir[256], final[512], path[512], ka[65], kb[65];
    struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    rn_cache *c = NULL;

    snprintf(dir, sizeof(dir), "%s/reopen", root);
    REQUIRE(rn_cache_open(dir, 1 << 20, &c) == 0);
    key_of("a", ka);
    key_of("b", kb);
    REQUIRE(make_entry(c, ka, 3000, 'a', final, sizeof(final)) == 0);
    rn_cache_release(c, ka);
    REQUIRE(make_entry(c, kb, 3000, 'b', final, sizeof(final)) == 0);
    rn_cache_release(c, kb);
    rn_cache_close(c);

    /* A crashed process's leftovers: a half-built dir and a half-evicted one. */
    snprintf(path, sizeof(path), "%s/tmp.crashed", dir);
    REQUIRE(mkdir(path, 0755) == 0);
    put(path, "partial", 10, 'p');
    snprintf(path, sizeof(path), "%s/tmp.evict.1", dir);
    REQUIRE(mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/unrelated", dir);
    REQUIRE(mkdir(path, 0755) == 0);
    /* b was used long ago. */
    snprintf(path, sizeof(path), "%s/%s", dir, kb);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);

    REQUIRE(rn_cache_open(dir, 1 << 20, &c) == 0);
    snprintf(path, sizeof(path), "%s/tmp.crashed", dir);
    CHECK(!exists(path));
    snprintf(path, sizeof(path), "%s/tmp.evict.1", dir);
    CHECK(!exists(path));
    snprintf(path, sizeof(path), "%s/unrelated", dir);
    CHECK(exists(path)); /* not ours */
    CHECK_INT(rn_cache_bytes(c), 6000);
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    CHECK_INT(first_byte(path, "main"), 'a');
    rn_cache_release(c, ka);
    rn_cache_close(c);

    /* A smaller cap at open evicts by the recorded use: b goes. */
    REQUIRE(utimensat(AT_FDCWD, path, NULL, 0) == 0);
    REQUIRE(rn_cache_open(dir, 4000, &c) == 0);
    CHECK_INT(rn_cache_bytes(c), 3000);
    CHECK_INT(rn_cache_acquire(c, kb, path, sizeof(path)), -ENOENT);
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    rn_cache_release(c, ka);
    rn_cache_close(c);

    CHECK(rn_cache_open("/proc/nonexistent/cache", 1, &c) < 0);
}

static unsigned mode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void test_normalize(void)
{
    char dir[256], tmp[512], final[512], path[600], key[65], target[64];
    rn_cache *c = NULL;
    ssize_t n;

    snprintf(dir, sizeof(dir), "%s/modes", root);
    REQUIRE(rn_cache_open(dir, 1 << 20, &c) == 0);
    key_of("modes", key);
    REQUIRE(rn_cache_begin(c, tmp, sizeof(tmp)) == 0);
    put(tmp, "private", 10, 'p');
    put(tmp, "prog", 10, 'x');
    put(tmp, "suid", 10, 's');
    snprintf(path, sizeof(path), "%s/private", tmp);
    CHECK(chmod(path, 0600) == 0);
    snprintf(path, sizeof(path), "%s/prog", tmp);
    CHECK(chmod(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/suid", tmp);
    CHECK(chmod(path, 04711) == 0);
    snprintf(path, sizeof(path), "%s/fifo", tmp);
    CHECK(mkfifo(path, 0600) == 0);
    snprintf(path, sizeof(path), "%s/sub", tmp);
    CHECK(mkdir(path, 0700) == 0);
    put(path, "inner", 5, 'i');
    put(root, "outside", 3, 'o');
    snprintf(path, sizeof(path), "%s/outside", root);
    CHECK(chmod(path, 0600) == 0);
    snprintf(target, sizeof(target), "%s/outside", root);
    snprintf(path, sizeof(path), "%s/link", tmp);
    CHECK(symlink(target, path) == 0);
    CHECK(chmod(tmp, 0700) == 0);

    REQUIRE(rn_cache_commit(c, key, tmp, final, sizeof(final)) == 0);
    CHECK_INT(mode_of(final, "."), 0755);
    CHECK_INT(mode_of(final, "private"), 0644);
    CHECK_INT(mode_of(final, "prog"), 0755);
    CHECK_INT(mode_of(final, "suid"), 0755);
    CHECK_INT(mode_of(final, "fifo"), 0);
    CHECK_INT(mode_of(final, "sub"), 0755);
    CHECK_INT(mode_of(final, "sub/inner"), 0644);
    snprintf(path, sizeof(path), "%s/link", final);
    n = readlink(path, target, sizeof(target) - 1);
    CHECK(n > 0);
    target[n > 0 ? n : 0] = '\0';
    CHECK(strstr(target, "/outside") != NULL);
    CHECK_INT(mode_of(root, "outside"), 0600); /* not followed */
    CHECK_INT(rn_cache_bytes(c), 35);
    rn_cache_release(c, key);
    rn_cache_close(c);
}

int main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN_TEST(test_sha256);
    RUN_TEST(test_key);
    RUN_TEST(test_commit_and_hit);
    RUN_TEST(test_concurrent_commit);
    RUN_TEST(test_lru_eviction);
    RUN_TEST(test_reopen);
    RUN_TEST(test_normalize);
    rn_rmtree(root);
    return check_report();
}
