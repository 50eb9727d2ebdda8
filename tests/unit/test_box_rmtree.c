/* rn_rmtree: removes trees, never follows symlinks, never crosses mounts. */
#include "check.h"
#include "rmtree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int exists(const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    return lstat(path, &st) == 0;
}

static void mk(const char *rel, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    mkdir(path, mode);
}

static void link_to(const char *target, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    if (symlink(target, path) < 0)
        perror("symlink");
}

static void test_symlinks_not_followed(void)
{
    char victim[PATH_MAX], tree[PATH_MAX];
    mk("victim", 0755);
    mk("victim/sub", 0755);
    put("victim/secret", "s");
    put("victim/sub/keep", "k");
    mk("tree", 0755);
    mk("tree/a", 0755);
    mk("tree/a/b", 0755);
    put("tree/a/b/f", "x");
    snprintf(victim, sizeof(victim), "%s/victim", base);
    char secret[PATH_MAX + 16];
    snprintf(secret, sizeof(secret), "%s/secret", victim);
    link_to(victim, "tree/dirlink");
    link_to(secret, "tree/a/filelink");
    link_to("../../victim", "tree/a/b/rel");
    link_to("/", "tree/root");
    link_to("/nonexistent", "tree/dangling");
    snprintf(tree, sizeof(tree), "%s/tree", base);
    CHECK_INT(rn_rmtree(tree), 0);
    CHECK(!exists("tree"));
    CHECK(exists("victim/secret"));
    CHECK(exists("victim/sub/keep"));
}

static void test_unreadable_dirs(void)
{
    char tree[PATH_MAX];
    mk("locked", 0755);
    mk("locked/inner", 0755);
    put("locked/inner/f", "x");
    char inner[PATH_MAX];
    snprintf(inner, sizeof(inner), "%s/locked/inner", base);
    chmod(inner, 0);
    snprintf(tree, sizeof(tree), "%s/locked", base);
    CHECK_INT(rn_rmtree(tree), 0);
    CHECK(!exists("locked"));
}

static void test_symlink_top(void)
{
    char link[PATH_MAX];
    mk("target", 0755);
    put("target/f", "x");
    link_to("target", "top");
    snprintf(link, sizeof(link), "%s/top", base);
    CHECK_INT(rn_rmtree(link), 0);
    CHECK(!exists("top"));
    CHECK(exists("target/f"));
}

static void test_missing(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/none", base);
    CHECK_INT(rn_rmtree(path), 0);
}

static void test_deep(void)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/deep", base);
    mkdir(path, 0755);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < 100 && fd >= 0; i++) {
        mkdirat(fd, "d", 0755);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
    }
    if (fd >= 0)
        close(fd);
    CHECK_INT(rn_rmtree(path), 0);
    CHECK(!exists("deep"));
}

/* A chain of `depth` directories named "d" below base/name, with a file of
 * `bytes` bytes at the bottom (and a symlink to /etc there, never followed). */
static void make_chain(const char *name, int depth, size_t bytes)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", base, name);
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
    REQUIRE(symlinkat("/etc", fd, "etc") == 0);
    close(fd);
}

typedef struct {
    unsigned long long bytes;
    int dirs, files, max_open;
} tally;

static int count_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static int tally_file(void *ud, int dirfd, const char *name, const struct stat *st)
{
    tally *t = ud;
    (void)dirfd;
    (void)name;
    if (S_ISREG(st->st_mode))
        t->bytes += (unsigned long long)st->st_size;
    t->files++;
    return 0;
}

static int tally_enter(void *ud, int dirfd, const char *name, const struct stat *st, int fd)
{
    tally *t = ud;
    (void)dirfd;
    (void)name;
    (void)st;
    (void)fd;
    t->dirs++;
    int n = count_open_fds();
    if (n > t->max_open)
        t->max_open = n;
    return 1;
}

/* Far deeper than any recursion limit: walked and removed whole, with the
 * same few fds open at every depth (a lowered RLIMIT_NOFILE proves it). */
static void test_very_deep(void)
{
    const int depth = 1000;
    char path[PATH_MAX];
    make_chain("verydeep", depth, 50u << 20);
    snprintf(path, sizeof(path), "%s/verydeep", base);

    int before = count_open_fds();
    struct rlimit old, low;
    REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    low = old;
    low.rlim_cur = (rlim_t)before + 8;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);

    tally t = {0};
    rn_walk_ops ops = {.file = tally_file, .enter = tally_enter};
    CHECK_INT(rn_walk_at(AT_FDCWD, path, &ops, &t), 0);
    CHECK_INT(t.dirs, depth + 1);
    CHECK_INT(t.files, 2);
    CHECK(t.bytes == 50ull << 20);
    CHECK(t.max_open <= before + 3);

    CHECK_INT(rn_rmtree(path), 0);
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK(!exists("verydeep"));
    CHECK(count_open_fds() == before);
    CHECK(access("/etc/passwd", F_OK) == 0);
}

int main(void)
{
    snprintf(base, sizeof(base), "/tmp/runnel-rmtree.XXXXXX");
    if (!mkdtemp(base))
        return 1;
    RUN_TEST(test_symlinks_not_followed);
    RUN_TEST(test_unreadable_dirs);
    RUN_TEST(test_symlink_top);
    RUN_TEST(test_missing);
    RUN_TEST(test_deep);
    RUN_TEST(test_very_deep);
    rn_rmtree(base);
    return check_report();
}
