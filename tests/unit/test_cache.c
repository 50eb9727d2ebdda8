/* Unit tests for src/cache.c and src/compilekey.c: keys (what they cover),
 * commit by copy, the concurrent-commit loser, LRU eviction that never
 * takes more than a commit adds, the entry cap, leftovers and deep trees at
 * open, the directory check, and the disk work on the loop's thread pool. */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "builddir.h"
#include "cache.h"
#include "compilekey.h"
#include "rmtree.h"
#include "specs.h"

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
    rn_cache_keyhash h;

    rn_cache_keyhash_init(&h);
    rn_cache_keyhash_field(&h, code, strlen(code));
    rn_cache_keyhash_final(&h, key);
}

static rn_cache *open_cache(const char *name, uint64_t max, uint64_t entry_max)
{
    char dir[256];
    rn_cache_options o = {.max_bytes = max, .entry_max_bytes = entry_max};
    rn_cache *c = NULL;

    snprintf(dir, sizeof(dir), "%s/%s", root, name);
    if (rn_cache_open(dir, &o, &c) < 0)
        return NULL;
    return c;
}

/* A fresh build directory (plain: these tests need no mount). */
static void new_build(char *path, size_t size)
{
    snprintf(path, size, "%s/build.XXXXXX", root);
    if (!mkdtemp(path))
        path[0] = '\0';
}

typedef struct {
    int calls, status;
    char path[512];
} commit_result;

static void on_commit(int status, const char *path, void *ud)
{
    commit_result *r = ud;
    r->calls++;
    r->status = status;
    snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
}

/* Commit an entry of `bytes` bytes under key (inline: done on return);
 * keeps the commit's reference. */
static int make_entry(rn_cache *c, const char *key, size_t bytes, char fill, char *final,
                      size_t size)
{
    char build[512];
    commit_result r = {0};

    new_build(build, sizeof(build));
    put(build, "main", bytes, fill);
    int rc = rn_cache_commit(c, key, build, on_commit, &r);
    if (rc < 0)
        return rc;
    if (r.calls != 1)
        return -EPROTO;
    if (exists(build))
        return -EEXIST; /* the commit removes the build */
    snprintf(final, size, "%s", r.path);
    return r.status;
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

static void test_keyhash(void)
{
    rn_cache_keyhash h;
    char k1[65], k2[65];

    /* SHA-256 over 8-byte little-endian lengths and the bytes (checked with
     * Python: hashlib.sha256(b"".join(len(f).to_bytes(8, "little") + f for
     * f in [b"runnel-cache-2", b"ab"])). */
    rn_cache_keyhash_init(&h);
    rn_cache_keyhash_field(&h, "ab", 2);
    rn_cache_keyhash_final(&h, k1);
    CHECK_STR(k1, "3e4041f8f1cf5a6cc49cf4baf725e472798b92bfa0f92783509804faa16b693e");
    /* Fields do not run into each other. */
    rn_cache_keyhash_init(&h);
    rn_cache_keyhash_field(&h, "a", 1);
    rn_cache_keyhash_field(&h, "b", 1);
    rn_cache_keyhash_final(&h, k2);
    CHECK(strcmp(k1, k2) != 0);
    CHECK_INT(strlen(k1), 64);
}

static const char spec_json[] =
    "{\"name\":\"kt\",\"display\":\"K\",\"language\":\"k\",\"filename\":\"main.c\","
    "\"example\":\"x\",\"example_output\":\"\","
    "\"compile\":[\"%s\",\"-o\",\"{build}/main\",\"{file}\"],"
    "\"run\":[\"{build}/main\"],\"env\":{\"PATH\":\"/usr/bin\"%s},"
    "\"mounts\":[{\"src\":\"%s\",\"dst\":\"/opt/kt\"}],"
    "\"compile_limits\":{\"memory_bytes\":%s}}";

static rn_spec *make_spec(const char *cc, const char *env, const char *mount, const char *mem)
{
    char json[2048], err[256];
    rn_spec *sp = NULL;
    snprintf(json, sizeof(json), spec_json, cc, env, mount, mem);
    if (rn_spec_parse(json, strlen(json), &sp, err, sizeof(err)) < 0) {
        fprintf(stderr, "spec: %s\n", err);
        return NULL;
    }
    return sp;
}

static void spec_key(const rn_spec *sp, char *const *envp, const char *code, char key[65])
{
    char **argv = NULL;
    if (rn_spec_expand_argv(sp, sp->compile, NULL, 0, &argv) < 0) {
        memset(key, 0, 65);
        return;
    }
    rn_compile_key(sp, argv, envp, code, strlen(code), key);
    rn_argv_free(argv);
}

/* Everything that can change the artifact changes the key. */
static void test_compile_key(void)
{
    char cc[256], mnt[256], tool[300], base[65], k[65];
    char *env[] = {"PATH=/usr/bin", NULL};
    char *env2[] = {"PATH=/usr/bin", "NODE_OPTIONS=--import=data:x", NULL};

    /* The compiler is a host file below a spec mount, named by its path
     * inside the sandbox (a path under /tmp would be the run's own). */
    snprintf(mnt, sizeof(mnt), "%s/opt", root);
    REQUIRE(mkdir(mnt, 0755) == 0);
    put(mnt, "cc", 10, 'c');
    put(mnt, "tool", 10, 't');
    snprintf(cc, sizeof(cc), "/opt/kt/cc");

    rn_spec *sp = make_spec(cc, "", mnt, "0");
    REQUIRE(sp != NULL);
    spec_key(sp, env, "int main;", base);
    spec_key(sp, env, "int main;", k);
    CHECK_STR(k, base); /* stable */
    spec_key(sp, env, "int main; ", k);
    CHECK(strcmp(k, base) != 0); /* the code */
    spec_key(sp, env2, "int main;", k);
    CHECK(strcmp(k, base) != 0); /* the compile stage's environment */

    rn_spec *other = make_spec(cc, ",\"CPATH\":\"/x\"", mnt, "0");
    REQUIRE(other != NULL);
    spec_key(other, env, "int main;", k);
    CHECK(strcmp(k, base) != 0); /* the spec's env */
    rn_spec_free(other);
    other = make_spec(cc, "", mnt, "1048576");
    REQUIRE(other != NULL);
    spec_key(other, env, "int main;", k);
    CHECK(strcmp(k, base) != 0); /* the spec's compile limits */
    rn_spec_free(other);
    other = make_spec(cc, "", "/usr", "0");
    REQUIRE(other != NULL);
    spec_key(other, env, "int main;", k);
    CHECK(strcmp(k, base) != 0); /* the spec's mounts */
    rn_spec_free(other);

    free(sp->version);
    sp->version = strdup("cc 2.0");
    spec_key(sp, env, "int main;", k);
    CHECK(strcmp(k, base) != 0); /* the detected version */
    free(sp->version);
    sp->version = strdup("");
    spec_key(sp, env, "int main;", k);
    CHECK_STR(k, base);

    /* The compiler rewritten in place (same name, same size, same version
     * string): a new toolchain all the same. */
    struct timespec past[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    snprintf(tool, sizeof(tool), "%s/cc", mnt);
    REQUIRE(utimensat(AT_FDCWD, tool, past, 0) == 0);
    spec_key(sp, env, "int main;", k);
    CHECK(strcmp(k, base) != 0);
    /* Any other host file the compile argv names. */
    char *argv_tool[] = {cc, "/opt/kt/tool", NULL};
    rn_compile_key(sp, argv_tool, env, "x", 1, k);
    memcpy(base, k, 65);
    put(mnt, "tool", 11, 'T');
    rn_compile_key(sp, argv_tool, env, "x", 1, k);
    CHECK(strcmp(k, base) != 0);
    rn_spec_free(sp);
}

static void test_commit_and_hit(void)
{
    char build[512], path[512], key[65], final[512];
    struct stat st;
    commit_result r = {0};
    rn_cache *c = open_cache("basic", 1 << 20, 0);

    REQUIRE(c != NULL);
    CHECK(stat(rn_cache_dir(c), &st) == 0 && (st.st_mode & 0777) == 0700);
    key_of("one", key);
    CHECK_INT(rn_cache_acquire(c, key, path, sizeof(path)), -ENOENT);
    CHECK_INT(rn_cache_misses(c), 1);
    CHECK_INT(rn_cache_hits(c), 0);
    CHECK_INT(rn_cache_acquire(c, "not-a-key", path, sizeof(path)), -EINVAL);

    new_build(build, sizeof(build));
    put(build, "main", 100, 'x');
    CHECK_INT(rn_cache_commit(c, "bad", build, on_commit, &r), -EINVAL);
    CHECK_INT(r.calls, 0);
    REQUIRE(rn_cache_commit(c, key, build, on_commit, &r) == 0);
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.status, 0);
    snprintf(path, sizeof(path), "%s/%s", rn_cache_dir(c), key);
    CHECK_STR(r.path, path);
    CHECK(!exists(build));
    CHECK_INT(first_byte(r.path, "main"), 'x');
    CHECK_INT(rn_cache_bytes(c), 100);
    snprintf(final, sizeof(final), "%s", r.path);
    rn_cache_release(c, key);

    path[0] = '\0';
    CHECK_INT(rn_cache_acquire(c, key, path, sizeof(path)), 0);
    CHECK_STR(path, final);
    CHECK_INT(rn_cache_hits(c), 1);
    CHECK_INT(rn_cache_acquire(c, key, path, 10), -ENAMETOOLONG);
    rn_cache_release(c, key);
    rn_cache_release(c, key); /* one too many: ignored */
    rn_cache_close(c);
}

static void test_concurrent_commit(void)
{
    char b1[512], b2[512], key[65];
    commit_result r1 = {0}, r2 = {0};
    rn_cache *c = open_cache("race", 1 << 20, 0);

    REQUIRE(c != NULL);
    key_of("same code", key);
    /* Two identical submissions both missed and both compiled. */
    new_build(b1, sizeof(b1));
    new_build(b2, sizeof(b2));
    put(b1, "main", 50, 'a');
    put(b2, "main", 60, 'b');
    CHECK_INT(rn_cache_commit(c, key, b1, on_commit, &r1), 0);
    CHECK_INT(rn_cache_commit(c, key, b2, on_commit, &r2), 0);
    CHECK_INT(r1.status, 0);
    CHECK_INT(r2.status, 0);
    CHECK_STR(r1.path, r2.path);
    CHECK(!exists(b1) && !exists(b2));
    CHECK_INT(first_byte(r1.path, "main"), 'a'); /* the winner's copy, untouched */
    CHECK_INT(rn_cache_bytes(c), 50);
    rn_cache_release(c, key);
    rn_cache_release(c, key);
    rn_cache_close(c);
}

static void test_lru_eviction(void)
{
    char final[512], path[512], ka[65], kb[65], kc[65], kd[65], ke[65];
    rn_cache *c = open_cache("lru", 10000, 0);

    REQUIRE(c != NULL);
    key_of("a", ka);
    key_of("b", kb);
    key_of("c", kc);
    key_of("d", kd);
    key_of("e", ke);
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
    snprintf(path, sizeof(path), "%s/%s", rn_cache_dir(c), kb);
    CHECK(!exists(path));
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    rn_cache_release(c, ka);
    CHECK_INT(rn_cache_acquire(c, kc, path, sizeof(path)), 0);
    rn_cache_release(c, kc);

    /* An entry in use is never evicted: with a and c in use, d finds no
     * room; it serves its run and goes at its release, a and c stay. */
    REQUIRE(rn_cache_acquire(c, ka, path, sizeof(path)) == 0);
    REQUIRE(rn_cache_acquire(c, kc, path, sizeof(path)) == 0);
    REQUIRE(make_entry(c, kd, 4000, 'd', final, sizeof(final)) == 0);
    CHECK_INT(first_byte(final, "main"), 'd');
    CHECK_INT(rn_cache_bytes(c), 12000);
    CHECK_INT(rn_cache_acquire(c, kd, path, sizeof(path)), -ENOENT); /* never a hit */
    rn_cache_release(c, kd);
    CHECK(!exists(final));
    CHECK_INT(rn_cache_bytes(c), 8000);
    rn_cache_release(c, ka);
    rn_cache_release(c, kc);

    /* A small entry never evicts a bigger one: 1000 bytes may take at most
     * 1000 bytes out. a (4000) and c (4000) stay; e is used, then dropped. */
    REQUIRE(make_entry(c, kd, 1500, 'd', final, sizeof(final)) == 0);
    rn_cache_release(c, kd); /* 9500: fits */
    CHECK_INT(rn_cache_bytes(c), 9500);
    REQUIRE(make_entry(c, ke, 1000, 'e', final, sizeof(final)) == 0);
    /* d (1500) is older than e but bigger than 1000: not taken either. */
    CHECK_INT(rn_cache_bytes(c), 10500);
    rn_cache_release(c, ke);
    CHECK_INT(rn_cache_bytes(c), 9500);
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    rn_cache_release(c, ka);
    CHECK_INT(rn_cache_acquire(c, kd, path, sizeof(path)), 0);
    rn_cache_release(c, kd);
    /* A 4000-byte entry may take 4000: the least recent of those, c. */
    REQUIRE(make_entry(c, kb, 4000, 'b', final, sizeof(final)) == 0);
    rn_cache_release(c, kb);
    CHECK_INT(rn_cache_bytes(c), 9500);
    CHECK_INT(rn_cache_acquire(c, kc, path, sizeof(path)), -ENOENT);
    rn_cache_close(c);
}

/* A build over the entry cap fails with -EFBIG: nothing is cached, nothing
 * evicted, and the build is gone. */
static void test_entry_cap(void)
{
    char build[512], final[512], path[512], ka[65], kb[65], kbig[65];
    commit_result r = {0};
    rn_cache *c = open_cache("cap", 10000, 5000);

    REQUIRE(c != NULL);
    key_of("a", ka);
    key_of("b", kb);
    key_of("big", kbig);
    REQUIRE(make_entry(c, ka, 4000, 'a', final, sizeof(final)) == 0);
    rn_cache_release(c, ka);
    REQUIRE(make_entry(c, kb, 4000, 'b', final, sizeof(final)) == 0);
    rn_cache_release(c, kb);

    new_build(build, sizeof(build));
    put(build, "part1", 3000, '1');
    REQUIRE(mkdir(strcat(strcpy(path, build), "/sub"), 0755) == 0);
    put(path, "part2", 3000, '2');
    REQUIRE(rn_cache_commit(c, kbig, build, on_commit, &r) == 0);
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.status, -EFBIG);
    CHECK(!exists(build));
    CHECK_INT(rn_cache_bytes(c), 8000);
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    rn_cache_release(c, ka);
    CHECK_INT(rn_cache_acquire(c, kb, path, sizeof(path)), 0);
    rn_cache_release(c, kb);
    CHECK_INT(rn_cache_acquire(c, kbig, path, sizeof(path)), -ENOENT);
    /* Nothing of the copy is left in the cache directory. */
    int n = 0;
    DIR *d = opendir(rn_cache_dir(c));
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK_INT(n, 2);
    rn_cache_close(c);
}

/* A chain of depth directories "d" below dir/name, a file at the bottom. */
static void deep_chain(const char *dir, const char *name, int depth, size_t bytes)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(path, 0755);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < depth && fd >= 0; i++) {
        mkdirat(fd, "d", 0755);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
    }
    REQUIRE(fd >= 0);
    int f = openat(fd, "big", O_WRONLY | O_CREAT | O_EXCL, 0644);
    REQUIRE(f >= 0);
    REQUIRE(ftruncate(f, (off_t)bytes) == 0);
    close(f);
    close(fd);
}

static void test_reopen(void)
{
    char dir[256], final[512], path[600], ka[65], kb[65], kdeep[65];
    struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    rn_cache *c = open_cache("reopen", 1 << 20, 0);

    REQUIRE(c != NULL);
    snprintf(dir, sizeof(dir), "%s", rn_cache_dir(c));
    key_of("a", ka);
    key_of("b", kb);
    key_of("deep", kdeep);
    REQUIRE(make_entry(c, ka, 3000, 'a', final, sizeof(final)) == 0);
    rn_cache_release(c, ka);
    REQUIRE(make_entry(c, kb, 3000, 'b', final, sizeof(final)) == 0);
    rn_cache_release(c, kb);
    rn_cache_close(c);

    /* A crashed process's leftovers: a half-built copy, a half-evicted
     * entry, a build directory deeper than any recursion, and (as root) a
     * build tmpfs still mounted. */
    snprintf(path, sizeof(path), "%s/tmp.crashed", dir);
    REQUIRE(mkdir(path, 0755) == 0);
    put(path, "partial", 10, 'p');
    snprintf(path, sizeof(path), "%s/tmp.evict.1", dir);
    REQUIRE(mkdir(path, 0700) == 0);
    deep_chain(dir, "tmp.build.deep", 400, 1000);
    snprintf(path, sizeof(path), "%s/tmp.build.mounted", dir);
    REQUIRE(mkdir(path, 0700) == 0);
    bool mounted = mount("tmpfs", path, "tmpfs", 0, "size=1m") == 0;
    if (mounted)
        put(path, "inside", 10, 'i');
    snprintf(path, sizeof(path), "%s/unrelated", dir);
    REQUIRE(mkdir(path, 0755) == 0);
    /* An entry 400 directories deep with 5 MB at the bottom. */
    deep_chain(dir, kdeep, 400, 5u << 20);
    /* b was used long ago. */
    snprintf(path, sizeof(path), "%s/%s", dir, kb);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);

    c = open_cache("reopen", 8u << 20, 0);
    REQUIRE(c != NULL);
    const char *gone[] = {"tmp.crashed", "tmp.evict.1", "tmp.build.deep", "tmp.build.mounted"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, gone[i]);
        CHECK(!exists(path));
    }
    snprintf(path, sizeof(path), "%s/unrelated", dir);
    CHECK(exists(path));                             /* not ours */
    CHECK_INT(rn_cache_bytes(c), 6000 + (5u << 20)); /* the deep file counts */
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    CHECK_INT(first_byte(path, "main"), 'a');
    rn_cache_release(c, ka);
    rn_cache_close(c);

    /* A smaller cap at open evicts by the recorded use: b, then the deep
     * entry, removed whole. */
    snprintf(path, sizeof(path), "%s/%s", dir, kdeep);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);
    c = open_cache("reopen", 4000, 0);
    REQUIRE(c != NULL);
    CHECK_INT(rn_cache_bytes(c), 3000);
    CHECK_INT(rn_cache_acquire(c, kb, path, sizeof(path)), -ENOENT);
    CHECK_INT(rn_cache_acquire(c, kdeep, path, sizeof(path)), -ENOENT);
    snprintf(path, sizeof(path), "%s/%s", dir, kdeep);
    CHECK(!exists(path));
    CHECK_INT(rn_cache_acquire(c, ka, path, sizeof(path)), 0);
    rn_cache_release(c, ka);
    rn_cache_close(c);

    rn_cache_options o = {.max_bytes = 1};
    CHECK(rn_cache_open("/proc/nonexistent/cache", &o, &c) < 0);
}

static unsigned mode_of(const char *dir, const char *name)
{
    char path[600];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void test_copy_normalizes(void)
{
    char build[512], path[600], key[65], target[64];
    commit_result r = {0};
    ssize_t n;
    rn_cache *c = open_cache("modes", 1 << 20, 0);

    REQUIRE(c != NULL);
    key_of("modes", key);
    new_build(build, sizeof(build));
    put(build, "private", 10, 'p');
    put(build, "prog", 10, 'x');
    put(build, "suid", 10, 's');
    snprintf(path, sizeof(path), "%s/private", build);
    CHECK(chmod(path, 0600) == 0);
    snprintf(path, sizeof(path), "%s/prog", build);
    CHECK(chmod(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/suid", build);
    CHECK(chmod(path, 04711) == 0);
    snprintf(path, sizeof(path), "%s/fifo", build);
    CHECK(mkfifo(path, 0600) == 0);
    snprintf(path, sizeof(path), "%s/sub", build);
    CHECK(mkdir(path, 0700) == 0);
    put(path, "inner", 5, 'i');
    put(root, "outside", 3, 'o');
    snprintf(path, sizeof(path), "%s/outside", root);
    CHECK(chmod(path, 0600) == 0);
    snprintf(target, sizeof(target), "%s/outside", root);
    snprintf(path, sizeof(path), "%s/link", build);
    CHECK(symlink(target, path) == 0);
    CHECK(chmod(build, 0700) == 0);

    REQUIRE(rn_cache_commit(c, key, build, on_commit, &r) == 0);
    REQUIRE(r.status == 0);
    CHECK_INT(mode_of(r.path, "."), 0755);
    CHECK_INT(mode_of(r.path, "private"), 0644);
    CHECK_INT(mode_of(r.path, "prog"), 0755);
    CHECK_INT(mode_of(r.path, "suid"), 0755);
    CHECK_INT(mode_of(r.path, "fifo"), 0);
    CHECK_INT(mode_of(r.path, "sub"), 0755);
    CHECK_INT(mode_of(r.path, "sub/inner"), 0644);
    CHECK_INT(first_byte(r.path, "sub/inner"), 'i');
    snprintf(path, sizeof(path), "%s/link", r.path);
    n = readlink(path, target, sizeof(target) - 1);
    CHECK(n > 0);
    target[n > 0 ? n : 0] = '\0';
    CHECK(strstr(target, "/outside") != NULL);
    CHECK_INT(mode_of(root, "outside"), 0600); /* not followed */
    CHECK_INT(rn_cache_bytes(c), 35);
    rn_cache_release(c, key);
    rn_cache_close(c);
}

/* The cache directory must be ours alone. */
static void test_check_dir(void)
{
    char dir[256], msg[512], link[300];
    rn_cache_options o = {.max_bytes = 1 << 20};
    rn_cache *c = NULL;

    snprintf(dir, sizeof(dir), "%s/shared", root);
    REQUIRE(mkdir(dir, 0700) == 0);
    CHECK_INT(rn_cache_check_dir(dir, msg, sizeof(msg)), 0);
    REQUIRE(chmod(dir, 0777) == 0);
    CHECK_INT(rn_cache_check_dir(dir, msg, sizeof(msg)), -EPERM);
    CHECK(strstr(msg, "writable by group and others (mode 0777)") != NULL);
    CHECK_INT(rn_cache_open(dir, &o, &c), -EPERM);
    REQUIRE(chmod(dir, 0770) == 0);
    CHECK_INT(rn_cache_check_dir(dir, msg, sizeof(msg)), -EPERM);
    CHECK(strstr(msg, "writable by its group") != NULL);
    REQUIRE(chmod(dir, 0755) == 0);
    CHECK_INT(rn_cache_check_dir(dir, msg, sizeof(msg)), 0);
    if (geteuid() == 0) {
        REQUIRE(chown(dir, 65534, 65534) == 0);
        CHECK_INT(rn_cache_check_dir(dir, msg, sizeof(msg)), -EPERM);
        CHECK(strstr(msg, "owned by uid 65534") != NULL);
        CHECK_INT(rn_cache_open(dir, &o, &c), -EPERM);
    }
    snprintf(link, sizeof(link), "%s/link", root);
    REQUIRE(symlink(dir, link) == 0);
    CHECK_INT(rn_cache_check_dir(link, msg, sizeof(msg)), -ENOTDIR);
}

/* ---- the disk work runs on the loop's thread pool ---------------------- */

static sem_t gate;
static pthread_t main_thread, work_thread;
static int work_calls;

static void blocking_hook(void *ud)
{
    (void)ud;
    work_thread = pthread_self();
    __atomic_add_fetch(&work_calls, 1, __ATOMIC_SEQ_CST);
    sem_wait(&gate);
}

typedef struct {
    commit_result r;
    pthread_t cb_thread;
    int ticks_before_cb;
    int ticks;
    uv_timer_t timer;
} loop_state;

static void on_commit_loop(int status, const char *path, void *ud)
{
    loop_state *s = ud;
    on_commit(status, path, &s->r);
    s->cb_thread = pthread_self();
    s->ticks_before_cb = s->ticks;
    uv_timer_stop(&s->timer);
}

static void on_tick(uv_timer_t *t)
{
    loop_state *s = t->data;
    /* The loop turns while the copy waits on the gate: let it go after a
     * few turns. */
    if (++s->ticks == 5)
        sem_post(&gate);
}

static void test_commit_off_loop(void)
{
    char dir[256], build[512], key[65];
    uv_loop_t loop;
    loop_state s = {0};
    rn_cache *c = NULL;

    REQUIRE(uv_loop_init(&loop) == 0);
    REQUIRE(sem_init(&gate, 0, 0) == 0);
    main_thread = pthread_self();
    snprintf(dir, sizeof(dir), "%s/worker", root);
    rn_cache_options o = {.max_bytes = 1 << 30, .loop = &loop};
    REQUIRE(rn_cache_open(dir, &o, &c) == 0);
    rn_cache_set_work_hook(c, blocking_hook, NULL);
    key_of("many files", key);
    new_build(build, sizeof(build));
    for (int i = 0; i < 2000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%d", i);
        put(build, name, 10, 'f');
    }
    REQUIRE(rn_cache_commit(c, key, build, on_commit_loop, &s) == 0);
    CHECK_INT(s.r.calls, 0); /* never inside the call */
    uv_timer_init(&loop, &s.timer);
    s.timer.data = &s;
    uv_timer_start(&s.timer, on_tick, 1, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.r.calls, 1);
    CHECK_INT(s.r.status, 0);
    CHECK(s.ticks_before_cb >= 5); /* the loop ran while the copy was held */
    CHECK(work_calls >= 1);
    CHECK(!pthread_equal(work_thread, main_thread));
    CHECK(pthread_equal(s.cb_thread, main_thread));
    CHECK_INT(rn_cache_bytes(c), 20000);
    CHECK_INT(first_byte(s.r.path, "f1999"), 'f');
    CHECK(!exists(build));

    /* Eviction's removal is off the loop too; close waits for it. */
    rn_cache_set_work_hook(c, NULL, NULL);
    rn_cache_release(c, key);
    rn_cache_close(c);
    uv_close((uv_handle_t *)&s.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    sem_destroy(&gate);
}

int main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN_TEST(test_sha256);
    RUN_TEST(test_keyhash);
    RUN_TEST(test_compile_key);
    RUN_TEST(test_commit_and_hit);
    RUN_TEST(test_concurrent_commit);
    RUN_TEST(test_lru_eviction);
    RUN_TEST(test_entry_cap);
    RUN_TEST(test_reopen);
    RUN_TEST(test_copy_normalizes);
    RUN_TEST(test_check_dir);
    RUN_TEST(test_commit_off_loop);
    rn_rmtree(root);
    return check_report();
}
