/* Compile cache: content-addressed build directories with LRU eviction. */
#include "cache.h"

#include <dirent.h>
#include <sys/file.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rmtree.h"

#include <openssl/evp.h>

#define KEY_LEN 64

typedef struct {
    char key[KEY_LEN + 1];
    uint64_t bytes;
    uint64_t used; /* larger is more recent */
    unsigned refs;
} cache_entry;

struct rn_cache {
    char *dir;
    int dirfd;
    uint64_t max_bytes;
    uint64_t total;
    uint64_t clock;
    uint64_t hits, misses;
    cache_entry *v;
    size_t n, cap;
};

static bool valid_key(const char *key)
{
    size_t i;

    if (key == NULL)
        return false;
    for (i = 0; i < KEY_LEN; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return false;
    return key[KEY_LEN] == '\0';
}

static cache_entry *find(rn_cache *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, key) == 0)
            return &c->v[i];
    return NULL;
}

/* Bytes of regular files below dirfd/name, never following symlinks. */
static uint64_t tree_bytes_at(int dirfd, const char *name, int depth)
{
    struct stat st;
    struct dirent *de;
    uint64_t sum = 0;
    DIR *d;
    int fd;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    if (depth > 64)
        return 0;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        sum += tree_bytes_at(fd, de->d_name, depth + 1);
    }
    closedir(d);
    return sum;
}

/* Make a finished build readable by any run and owned by the cache: the
 * compile stage ran as a throw-away uid and may have left odd modes, setuid
 * bits or special files. Symlinks are never followed. */
static void normalize_at(int dirfd, const char *name, int depth)
{
    struct stat st;
    struct dirent *de;
    DIR *d;
    int fd;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (S_ISLNK(st.st_mode)) {
        fchownat(dirfd, name, geteuid(), getegid(), AT_SYMLINK_NOFOLLOW);
        return;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        unlinkat(dirfd, name, 0);
        return;
    }
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fchown(fd, geteuid(), getegid()) < 0 && errno != EPERM) {
        close(fd);
        return;
    }
    fchmod(fd, S_ISDIR(st.st_mode) || (st.st_mode & 0111) ? 0755 : 0644);
    if (!S_ISDIR(st.st_mode) || depth > 64) {
        close(fd);
        return;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            normalize_at(fd, de->d_name, depth + 1);
    }
    closedir(d);
}

static int path_of(const rn_cache *c, const char *name, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/%s", c->dir, name);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int add_entry(rn_cache *c, const char *key, uint64_t bytes, uint64_t used, cache_entry **out)
{
    cache_entry *e;

    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        cache_entry *nv = realloc(c->v, ncap * sizeof(*nv));

        if (nv == NULL)
            return -ENOMEM;
        c->v = nv;
        c->cap = ncap;
    }
    e = &c->v[c->n++];
    memcpy(e->key, key, KEY_LEN + 1);
    e->bytes = bytes;
    e->used = used;
    e->refs = 0;
    c->total += bytes;
    if (out != NULL)
        *out = e;
    return 0;
}

/* Remove an entry from disk: renamed aside first, so a crash mid-removal
 * leaves a tmp.* leftover that the next open cleans, never a partial entry. */
static void remove_entry(rn_cache *c, size_t i)
{
    char aside[32];

    snprintf(aside, sizeof(aside), "tmp.evict.%llx", (unsigned long long)c->clock++);
    if (renameat(c->dirfd, c->v[i].key, c->dirfd, aside) == 0)
        rn_rmtree_at(c->dirfd, aside);
    else
        rn_rmtree_at(c->dirfd, c->v[i].key);
    c->total -= c->v[i].bytes;
    c->v[i] = c->v[--c->n];
}

static void evict(rn_cache *c)
{
    while (c->total > c->max_bytes) {
        size_t victim = SIZE_MAX;

        for (size_t i = 0; i < c->n; i++)
            if (c->v[i].refs == 0 && (victim == SIZE_MAX || c->v[i].used < c->v[victim].used))
                victim = i;
        if (victim == SIZE_MAX)
            return; /* everything left is in use */
        remove_entry(c, victim);
    }
}

typedef struct {
    char key[KEY_LEN + 1];
    uint64_t bytes;
    struct timespec mtime;
} scanned;

static int cmp_scanned(const void *a, const void *b)
{
    const scanned *x = a, *y = b;

    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->key, y->key);
}

int rn_cache_open(const char *dir, uint64_t max_bytes, rn_cache **out)
{
    scanned *found = NULL;
    size_t nfound = 0, capfound = 0;
    struct dirent *de;
    rn_cache *c;
    DIR *d = NULL;
    int rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->dirfd = -1;
    c->max_bytes = max_bytes;
    c->dir = strdup(dir);
    if (c->dir == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0) {
        rc = -errno;
        goto fail;
    }
    /* One process per cache: another one's tmp.* dirs are live builds,
     * not leftovers, and its entries may be evicted under us. */
    if (flock(c->dirfd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }
    rc = dup(c->dirfd);
    if (rc < 0) {
        rc = -errno;
        goto fail;
    }
    d = fdopendir(rc);
    if (d == NULL) {
        rc = -errno;
        goto fail;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strncmp(de->d_name, "tmp.", 4) == 0) {
            rn_rmtree_at(c->dirfd, de->d_name);
            continue;
        }
        if (!valid_key(de->d_name))
            continue; /* not ours: leave it alone */
        if (fstatat(c->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (nfound == capfound) {
            size_t ncap = capfound ? capfound * 2 : 64;
            scanned *nv = realloc(found, ncap * sizeof(*nv));

            if (nv == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            found = nv;
            capfound = ncap;
        }
        memcpy(found[nfound].key, de->d_name, KEY_LEN + 1);
        found[nfound].bytes = tree_bytes_at(c->dirfd, de->d_name, 0);
        found[nfound].mtime = st.st_mtim;
        nfound++;
    }
    /* Oldest first, so the clock orders them as their mtimes did. */
    if (nfound > 0)
        qsort(found, nfound, sizeof(*found), cmp_scanned);
    for (size_t i = 0; i < nfound; i++) {
        if ((rc = add_entry(c, found[i].key, found[i].bytes, ++c->clock, NULL)) < 0)
            goto fail;
    }
    evict(c);
    closedir(d);
    free(found);
    *out = c;
    return 0;

fail:
    if (d != NULL)
        closedir(d);
    free(found);
    rn_cache_close(c);
    return rc;
}

void rn_cache_close(rn_cache *c)
{
    if (c == NULL)
        return;
    if (c->dirfd >= 0)
        close(c->dirfd);
    free(c->v);
    free(c->dir);
    free(c);
}

/* SHA-256 comes from OpenSSL's libcrypto, which runneld already loads
 * through libwebsockets' TLS. */
typedef EVP_MD_CTX *sha256_ctx;

static void sha256_init(sha256_ctx *c)
{
    *c = EVP_MD_CTX_new();
    if (*c && EVP_DigestInit_ex(*c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(*c);
        *c = NULL;
    }
}

static void sha256_update(sha256_ctx *c, const void *data, size_t len)
{
    if (*c)
        EVP_DigestUpdate(*c, data, len);
}

/* On an allocation failure the digest is all zeros: a cache key that never
 * matches a real entry's content is still safe (a miss or a recompile). */
static void sha256_final(sha256_ctx *c, uint8_t out[32])
{
    unsigned int n = 32;
    memset(out, 0, 32);
    if (*c)
        EVP_DigestFinal_ex(*c, out, &n);
    EVP_MD_CTX_free(*c);
    *c = NULL;
}

/* Length-prefixed, so no two field lists hash alike by shifting bytes; with
 * data NULL only the number goes in. */
static void hash_field(sha256_ctx *ctx, const void *data, size_t len)
{
    uint8_t n[8];

    for (int i = 0; i < 8; i++)
        n[i] = (uint8_t)((uint64_t)len >> (8 * i));
    sha256_update(ctx, n, sizeof(n));
    if (data != NULL && len > 0)
        sha256_update(ctx, data, len);
}

void rn_cache_sha256(const void *data, size_t len, uint8_t out[32])
{
    sha256_ctx ctx;

    sha256_init(&ctx);
    sha256_update(&ctx, data, len);
    sha256_final(&ctx, out);
}

void rn_cache_key(const char *language, const char *const *compile_argv, const char *code,
                  size_t code_len, char key[65])
{
    static const char hex[] = "0123456789abcdef";
    sha256_ctx ctx;
    uint8_t digest[32];
    size_t nargv = 0;

    while (compile_argv != NULL && compile_argv[nargv] != NULL)
        nargv++;
    sha256_init(&ctx);
    hash_field(&ctx, "runnel-cache-1", 14);
    hash_field(&ctx, language != NULL ? language : "", language != NULL ? strlen(language) : 0);
    hash_field(&ctx, NULL, nargv);
    for (size_t i = 0; i < nargv; i++)
        hash_field(&ctx, compile_argv[i], strlen(compile_argv[i]));
    hash_field(&ctx, code, code_len);
    sha256_final(&ctx, digest);
    for (int i = 0; i < 32; i++) {
        key[2 * i] = hex[digest[i] >> 4];
        key[2 * i + 1] = hex[digest[i] & 15];
    }
    key[KEY_LEN] = '\0';
}

void rn_cache_key_add(char key[65], const char *name, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sha256_ctx ctx;
    uint8_t digest[32];

    sha256_init(&ctx);
    hash_field(&ctx, "runnel-cache-file", 17);
    hash_field(&ctx, key, KEY_LEN);
    hash_field(&ctx, name != NULL ? name : "", name != NULL ? strlen(name) : 0);
    hash_field(&ctx, data, len);
    sha256_final(&ctx, digest);
    for (int i = 0; i < 32; i++) {
        key[2 * i] = hex[digest[i] >> 4];
        key[2 * i + 1] = hex[digest[i] & 15];
    }
    key[KEY_LEN] = '\0';
}

/* Record use on disk too, so LRU order survives a restart. */
static void touch(rn_cache *c, cache_entry *e)
{
    e->used = ++c->clock;
    utimensat(c->dirfd, e->key, NULL, AT_SYMLINK_NOFOLLOW);
}

int rn_cache_acquire(rn_cache *c, const char *key, char *path, size_t size)
{
    cache_entry *e;
    int rc;

    if (!valid_key(key))
        return -EINVAL;
    e = find(c, key);
    if (e == NULL) {
        c->misses++;
        return -ENOENT;
    }
    if ((rc = path_of(c, key, path, size)) < 0)
        return rc;
    e->refs++;
    touch(c, e);
    c->hits++;
    return 0;
}

void rn_cache_release(rn_cache *c, const char *key)
{
    cache_entry *e;

    if (c == NULL || !valid_key(key) || (e = find(c, key)) == NULL || e->refs == 0)
        return;
    e->refs--;
    if (e->refs == 0)
        evict(c);
}

int rn_cache_begin(rn_cache *c, char *path, size_t size)
{
    char tmpl[PATH_MAX];
    int rc;

    if ((rc = path_of(c, "tmp.XXXXXX", tmpl, sizeof(tmpl))) < 0)
        return rc;
    if (mkdtemp(tmpl) == NULL)
        return -errno;
    /* The run stage reads it as another uid. */
    if (chmod(tmpl, 0755) < 0) {
        rc = -errno;
        rn_rmtree(tmpl);
        return rc;
    }
    if (strlen(tmpl) >= size) {
        rn_rmtree(tmpl);
        return -ENAMETOOLONG;
    }
    strcpy(path, tmpl);
    return 0;
}

/* tmp_path must be a tmp.* directly inside the cache dir. */
static const char *tmp_name(const rn_cache *c, const char *tmp_path)
{
    size_t n = strlen(c->dir);
    const char *name;

    if (tmp_path == NULL || strncmp(tmp_path, c->dir, n) != 0 || tmp_path[n] != '/')
        return NULL;
    name = tmp_path + n + 1;
    if (strncmp(name, "tmp.", 4) != 0 || strchr(name, '/') != NULL || strstr(name, "..") != NULL)
        return NULL;
    return name;
}

int rn_cache_commit(rn_cache *c, const char *key, const char *tmp_path, char *final_path,
                    size_t size)
{
    const char *name = tmp_name(c, tmp_path);
    cache_entry *e;
    int rc;

    if (!valid_key(key) || name == NULL)
        return -EINVAL;
    if ((rc = path_of(c, key, final_path, size)) < 0)
        goto discard;
    e = find(c, key);
    if (e == NULL) {
        normalize_at(c->dirfd, name, 0);
        if (renameat2(c->dirfd, name, c->dirfd, key, RENAME_NOREPLACE) < 0) {
            rc = -errno;
            if (rc != -EEXIST)
                goto discard;
            /* On disk but not in the index (another process): adopt it. */
            if ((rc = add_entry(c, key, tree_bytes_at(c->dirfd, key, 0), 0, &e)) < 0)
                goto discard;
            rn_rmtree_at(c->dirfd, name);
        } else {
            uint64_t bytes = tree_bytes_at(c->dirfd, key, 0);

            if ((rc = add_entry(c, key, bytes, 0, &e)) < 0) {
                rn_rmtree_at(c->dirfd, key);
                return rc;
            }
        }
    } else {
        /* A concurrent identical compile won: keep its entry. */
        rn_rmtree_at(c->dirfd, name);
    }
    e->refs++;
    touch(c, e);
    evict(c);
    return 0;

discard:
    rn_rmtree_at(c->dirfd, name);
    return rc;
}

void rn_cache_abort(rn_cache *c, const char *tmp_path)
{
    const char *name = c != NULL ? tmp_name(c, tmp_path) : NULL;

    if (name != NULL)
        rn_rmtree_at(c->dirfd, name);
}

uint64_t rn_cache_hits(const rn_cache *c)
{
    return c->hits;
}

uint64_t rn_cache_misses(const rn_cache *c)
{
    return c->misses;
}

uint64_t rn_cache_bytes(const rn_cache *c)
{
    return c->total;
}
