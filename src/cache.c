/* Compile cache: content-addressed build directories with LRU eviction. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../sandbox/rmtree.h"
#include "builddir.h"

#define KEY_LEN 64

typedef struct {
    char key[KEY_LEN + 1];
    uint64_t bytes;
    uint64_t used; /* larger is more recent */
    unsigned refs;
    bool transient; /* no room was made for it: never a hit, dropped when unused */
} cache_entry;

struct rn_cache {
    char *dir;
    int dirfd;
    uint64_t max_bytes, entry_max;
    uv_loop_t *loop;
    uint64_t total;
    uint64_t clock;
    uint64_t hits, misses;
    cache_entry *v;
    size_t n, cap;
    unsigned pending; /* disk work queued or running */
    bool closing;     /* closed: freed by the last completion */
    void (*hook)(void *ud);
    void *hook_ud;
};

typedef enum { WORK_COMMIT, WORK_REMOVE } work_kind;

/* One piece of disk work. The thread pool side reads only what never
 * changes after open (dir, dirfd, entry_max, hook) and the work itself. */
typedef struct {
    uv_work_t req;
    rn_cache *c;
    work_kind kind;
    char key[KEY_LEN + 1];
    char name[32]; /* the copy being made, or the directory to remove */
    char *src;     /* commit: the build directory */
    uint64_t bytes;
    int status;
    rn_cache_commit_cb cb;
    void *ud;
} cache_work;

static bool valid_key(const char *key)
{
    if (key == NULL)
        return false;
    for (size_t i = 0; i < KEY_LEN; i++)
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

static int sum_file(void *ud, int dirfd, const char *name, const struct stat *st)
{
    (void)dirfd;
    (void)name;
    if (S_ISREG(st->st_mode))
        *(uint64_t *)ud += (uint64_t)st->st_size;
    return 0;
}

/* Bytes of regular files below dirfd/name at any depth, never following
 * symlinks. */
static uint64_t tree_bytes_at(int dirfd, const char *name)
{
    static const rn_walk_ops ops = {.file = sum_file};
    uint64_t sum = 0;
    rn_walk_at(dirfd, name, &ops, &sum);
    return sum;
}

/* ---- copying a build into the cache (thread pool) ---------------------- */

typedef struct {
    int dst; /* the directory being filled */
    unsigned depth;
    uint64_t bytes, max;
} copy_state;

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0)
            return -errno;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copy left bytes from in to out: copy_file_range where the file systems
 * allow it (a tmpfs and the cache's usually do not), else read and write. */
static int copy_data(int in, int out, uint64_t left)
{
    static __thread char buf[65536];
    bool plain = false;
    while (left > 0) {
        size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        ssize_t n;
        if (!plain) {
            n = copy_file_range(in, NULL, out, NULL, want, 0);
            if (n < 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                plain = true;
                continue;
            }
        } else {
            n = read(in, buf, want);
            int r = n > 0 ? write_all(out, buf, (size_t)n) : 0;
            if (r < 0)
                return r;
        }
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        left -= (uint64_t)n;
    }
    return 0;
}

static int copy_file(void *ud, int dirfd, const char *name, const struct stat *st)
{
    copy_state *s = ud;
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        return symlinkat(target, s->dst, name) < 0 ? -errno : 0;
    }
    if (!S_ISREG(st->st_mode))
        return 0; /* fifos, sockets, devices: never part of an entry */
    if ((uint64_t)st->st_size > s->max - s->bytes)
        return -EFBIG;
    s->bytes += (uint64_t)st->st_size;
    int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return -errno;
    struct stat now;
    if (fstat(in, &now) < 0 || now.st_ino != st->st_ino || now.st_dev != st->st_dev) {
        close(in);
        return -EAGAIN;
    }
    mode_t mode = (st->st_mode & 0111) ? 0755 : 0644;
    int out = openat(s->dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    int r = out < 0 ? -errno : 0;
    if (r == 0 && fchmod(out, mode) < 0)
        r = -errno;
    if (r == 0)
        r = copy_data(in, out, (uint64_t)st->st_size);
    close(in);
    if (out >= 0)
        close(out);
    return r;
}

static int copy_enter(void *ud, int dirfd, const char *name, const struct stat *st, int fd)
{
    copy_state *s = ud;
    (void)dirfd;
    (void)st;
    (void)fd;
    if (s->depth++ == 0)
        return 1; /* the top: s->dst is the copy's own top */
    if (mkdirat(s->dst, name, 0755) < 0)
        return -errno;
    int nfd = openat(s->dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0)
        return -errno;
    if (fchmod(nfd, 0755) < 0) {
        close(nfd);
        return -errno;
    }
    close(s->dst);
    s->dst = nfd;
    return 1;
}

static int copy_leave(void *ud, int dirfd, const char *name)
{
    copy_state *s = ud;
    (void)dirfd;
    (void)name;
    if (--s->depth == 0)
        return 0;
    int pfd = openat(s->dst, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return -errno;
    close(s->dst);
    s->dst = pfd;
    return 0;
}

/* Copy src into a fresh tmp.* of the cache (its name into w->name). */
static int copy_build(const rn_cache *c, cache_work *w)
{
    static const rn_walk_ops ops = {.file = copy_file, .enter = copy_enter, .leave = copy_leave};
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/tmp.XXXXXX", c->dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    if (!mkdtemp(path))
        return -errno;
    snprintf(w->name, sizeof(w->name), "%s", path + strlen(c->dir) + 1);
    copy_state s = {.max = c->entry_max};
    s.dst = openat(c->dirfd, w->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s.dst < 0)
        return -errno;
    int r = fchmod(s.dst, 0755) < 0 ? -errno : 0;
    if (r == 0)
        r = rn_walk_at(AT_FDCWD, w->src, &ops, &s);
    close(s.dst);
    w->bytes = s.bytes;
    return r;
}

static void work_run(uv_work_t *req)
{
    cache_work *w = (cache_work *)req;
    const rn_cache *c = w->c;
    if (c->hook)
        c->hook(c->hook_ud);
    if (w->kind == WORK_REMOVE) {
        rn_rmtree_at(c->dirfd, w->name);
        return;
    }
    w->status = copy_build(c, w);
    rn_builddir_remove(w->src);
    if (w->status < 0 && w->name[0])
        rn_rmtree_at(c->dirfd, w->name);
}

static void cache_free(rn_cache *c);
static void commit_finish(rn_cache *c, cache_work *w);

static void work_done(uv_work_t *req, int status)
{
    cache_work *w = (cache_work *)req;
    rn_cache *c = w->c;
    (void)status;
    if (w->kind == WORK_COMMIT)
        commit_finish(c, w);
    free(w->src);
    free(w);
    c->pending--;
    if (c->closing && c->pending == 0)
        cache_free(c);
}

static int queue_work(rn_cache *c, cache_work *w)
{
    w->c = c;
    c->pending++;
    if (c->loop == NULL) {
        work_run(&w->req);
        work_done(&w->req, 0);
        return 0;
    }
    int r = uv_queue_work(c->loop, &w->req, work_run, work_done);
    if (r < 0)
        c->pending--;
    return r;
}

/* Remove a directory of the cache dir off the loop (here if that fails). */
static void queue_remove(rn_cache *c, const char *name)
{
    cache_work *w = calloc(1, sizeof(*w));
    if (w) {
        w->kind = WORK_REMOVE;
        snprintf(w->name, sizeof(w->name), "%s", name);
    }
    if (!w || queue_work(c, w) < 0) {
        free(w);
        rn_rmtree_at(c->dirfd, name);
    }
}

/* ---- the index (loop thread) ------------------------------------------- */

static int path_of(const rn_cache *c, const char *name, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/%s", c->dir, name);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int add_entry(rn_cache *c, const char *key, uint64_t bytes, uint64_t used)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        cache_entry *nv = realloc(c->v, ncap * sizeof(*nv));

        if (nv == NULL)
            return -ENOMEM;
        c->v = nv;
        c->cap = ncap;
    }
    cache_entry *e = &c->v[c->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, KEY_LEN + 1);
    e->bytes = bytes;
    e->used = used;
    c->total += bytes;
    return 0;
}

/* Move name aside to a fresh tmp.evict.* (a crash mid-removal then leaves
 * a leftover the next open sweeps, never a partial entry) and remove it off
 * the loop. */
static void remove_dir(rn_cache *c, const char *name)
{
    char aside[32];

    snprintf(aside, sizeof(aside), "tmp.evict.%llx", (unsigned long long)c->clock++);
    if (renameat(c->dirfd, name, c->dirfd, aside) == 0)
        queue_remove(c, aside);
    else
        rn_rmtree_at(c->dirfd, name);
}

static void remove_entry(rn_cache *c, size_t i)
{
    remove_dir(c, c->v[i].key);
    c->total -= c->v[i].bytes;
    c->v[i] = c->v[--c->n];
}

/* The least recently used entry free to go, of at most `limit` bytes. */
static size_t lru_victim(const rn_cache *c, const char *except, uint64_t limit)
{
    size_t victim = SIZE_MAX;

    for (size_t i = 0; i < c->n; i++) {
        const cache_entry *e = &c->v[i];
        if (e->refs || e->transient || e->bytes > limit || (except && !strcmp(e->key, except)))
            continue;
        if (victim == SIZE_MAX || e->used < c->v[victim].used)
            victim = i;
    }
    return victim;
}

/* Evict until under the cap (at open: the cap may have shrunk). */
static void evict(rn_cache *c)
{
    size_t victim;

    while (c->total > c->max_bytes && (victim = lru_victim(c, NULL, UINT64_MAX)) != SIZE_MAX)
        remove_entry(c, victim);
}

/* Make room for a new entry by evicting at most its own size; when that is
 * not enough, it only serves the runs that hold it. */
static void make_room(rn_cache *c, const char *key, uint64_t bytes)
{
    uint64_t budget = bytes;
    size_t victim;

    while (c->total > c->max_bytes && (victim = lru_victim(c, key, budget)) != SIZE_MAX) {
        budget -= c->v[victim].bytes;
        remove_entry(c, victim);
    }
    if (c->total > c->max_bytes)
        find(c, key)->transient = true;
}

/* Record use on disk too, so LRU order survives a restart. */
static void touch(rn_cache *c, cache_entry *e)
{
    e->used = ++c->clock;
    utimensat(c->dirfd, e->key, NULL, AT_SYMLINK_NOFOLLOW);
}

static void commit_finish(rn_cache *c, cache_work *w)
{
    char path[PATH_MAX];
    cache_entry *e;
    int r;

    if (w->status < 0 || c->closing) {
        w->cb(w->status < 0 ? w->status : -ECANCELED, NULL, w->ud);
        if (w->status == 0)
            queue_remove(c, w->name);
        return;
    }
    if ((r = path_of(c, w->key, path, sizeof(path))) < 0) {
        queue_remove(c, w->name);
        w->cb(r, NULL, w->ud);
        return;
    }
    if ((e = find(c, w->key)) != NULL) {
        /* A concurrent identical compile won: keep its entry. */
        queue_remove(c, w->name);
    } else {
        r = renameat2(c->dirfd, w->name, c->dirfd, w->key, RENAME_NOREPLACE);
        if (r < 0 && errno == EEXIST) {
            /* A stray directory of that name that is no entry: replace it. */
            remove_dir(c, w->key);
            r = renameat2(c->dirfd, w->name, c->dirfd, w->key, RENAME_NOREPLACE);
        }
        if (r < 0) {
            r = -errno;
            remove_dir(c, w->name);
            w->cb(r, NULL, w->ud);
            return;
        }
        if ((r = add_entry(c, w->key, w->bytes, 0)) < 0) {
            remove_dir(c, w->key);
            w->cb(r, NULL, w->ud);
            return;
        }
        make_room(c, w->key, w->bytes);
        e = find(c, w->key);
    }
    e->refs++;
    if (!e->transient)
        touch(c, e);
    w->cb(0, path, w->ud);
}

int rn_cache_commit(rn_cache *c, const char *key, const char *build_dir, rn_cache_commit_cb cb,
                    void *ud)
{
    if (!valid_key(key) || !build_dir || !cb)
        return -EINVAL;
    cache_work *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->kind = WORK_COMMIT;
    memcpy(w->key, key, KEY_LEN + 1);
    w->cb = cb;
    w->ud = ud;
    if (!(w->src = strdup(build_dir))) {
        free(w);
        return -ENOMEM;
    }
    int r = queue_work(c, w);
    if (r < 0) {
        free(w->src);
        free(w);
    }
    return r;
}

/* ---- open and close ---------------------------------------------------- */

int rn_cache_check_dir(const char *dir, char *msg, size_t size)
{
    struct stat st;

    if (lstat(dir, &st) < 0) {
        int err = errno;
        snprintf(msg, size, "cache.dir %s: %s", dir, strerror(err));
        return -err;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, size, "cache.dir %s is not a directory%s", dir,
                 S_ISLNK(st.st_mode) ? " (a symlink)" : "");
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid()) {
        snprintf(msg, size,
                 "cache.dir %s is owned by uid %u, not by runneld's uid %u: another account "
                 "could change what runs; chown it or choose another directory",
                 dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if (st.st_mode & 022) {
        snprintf(msg, size,
                 "cache.dir %s is writable by %s (mode %04o): other accounts could change "
                 "what runs; chmod 0700 it or choose another directory",
                 dir,
                 (st.st_mode & 020) && (st.st_mode & 002) ? "group and others"
                 : (st.st_mode & 020)                     ? "its group"
                                                          : "others",
                 (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
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

/* Leftovers of a previous process go (build directories may still be tmpfs
 * mounts); entries are measured. */
static int scan(rn_cache *c, scanned **out, size_t *nout)
{
    scanned *found = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int fd = dup(c->dirfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    int rc = 0;

    if (d == NULL) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;

        if (strncmp(de->d_name, "tmp.", 4) == 0) {
            if (path_of(c, de->d_name, path, sizeof(path)) == 0)
                rn_builddir_remove(path);
            continue;
        }
        if (!valid_key(de->d_name))
            continue; /* not ours: leave it alone */
        if (fstatat(c->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            scanned *nv = realloc(found, ncap * sizeof(*nv));

            if (nv == NULL) {
                rc = -ENOMEM;
                break;
            }
            found = nv;
            cap = ncap;
        }
        memcpy(found[n].key, de->d_name, KEY_LEN + 1);
        found[n].bytes = tree_bytes_at(c->dirfd, de->d_name);
        found[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    if (rc < 0) {
        free(found);
        return rc;
    }
    *out = found;
    *nout = n;
    return 0;
}

int rn_cache_open(const char *dir, const rn_cache_options *o, rn_cache **out)
{
    scanned *found = NULL;
    size_t nfound = 0;
    char msg[512];
    rn_cache *c;
    int rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->dirfd = -1;
    c->max_bytes = o->max_bytes;
    c->entry_max =
        o->entry_max_bytes && o->entry_max_bytes < o->max_bytes ? o->entry_max_bytes : o->max_bytes;
    c->loop = o->loop;
    c->dir = strdup(dir);
    if (c->dir == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    if ((rc = rn_cache_check_dir(dir, msg, sizeof(msg))) < 0)
        goto fail;
    c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
    if ((rc = scan(c, &found, &nfound)) < 0)
        goto fail;
    /* Oldest first, so the clock orders them as their mtimes did. */
    if (nfound > 0)
        qsort(found, nfound, sizeof(*found), cmp_scanned);
    for (size_t i = 0; i < nfound; i++) {
        if ((rc = add_entry(c, found[i].key, found[i].bytes, ++c->clock)) < 0)
            goto fail;
    }
    evict(c);
    free(found);
    *out = c;
    return 0;

fail:
    free(found);
    cache_free(c);
    return rc;
}

static void cache_free(rn_cache *c)
{
    if (c->dirfd >= 0)
        close(c->dirfd);
    free(c->v);
    free(c->dir);
    free(c);
}

void rn_cache_close(rn_cache *c)
{
    if (c == NULL)
        return;
    if (c->pending > 0) {
        c->closing = true;
        return;
    }
    cache_free(c);
}

const char *rn_cache_dir(const rn_cache *c)
{
    return c->dir;
}

uint64_t rn_cache_entry_max(const rn_cache *c)
{
    return c->entry_max;
}

void rn_cache_set_work_hook(rn_cache *c, void (*hook)(void *ud), void *ud)
{
    c->hook = hook;
    c->hook_ud = ud;
}

/* ---- keys ---------------------------------------------------------------- */

/* SHA-256 comes from OpenSSL's libcrypto, which runneld already loads
 * through libwebsockets' TLS. */
static void sha256_init(EVP_MD_CTX **c)
{
    *c = EVP_MD_CTX_new();
    if (*c && EVP_DigestInit_ex(*c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(*c);
        *c = NULL;
    }
}

static void sha256_final(EVP_MD_CTX **c, uint8_t out[32])
{
    unsigned int n = 32;
    memset(out, 0, 32);
    if (*c)
        EVP_DigestFinal_ex(*c, out, &n);
    EVP_MD_CTX_free(*c);
    *c = NULL;
}

void rn_cache_sha256(const void *data, size_t len, uint8_t out[32])
{
    EVP_MD_CTX *ctx;

    sha256_init(&ctx);
    if (ctx)
        EVP_DigestUpdate(ctx, data, len);
    sha256_final(&ctx, out);
}

void rn_cache_keyhash_init(rn_cache_keyhash *h)
{
    EVP_MD_CTX *ctx;

    sha256_init(&ctx);
    h->ctx = ctx;
    rn_cache_keyhash_field(h, "runnel-cache-2", 14);
}

void rn_cache_keyhash_field(rn_cache_keyhash *h, const void *data, size_t len)
{
    uint8_t n[8];

    for (int i = 0; i < 8; i++)
        n[i] = (uint8_t)((uint64_t)len >> (8 * i));
    if (h->ctx == NULL)
        return;
    EVP_DigestUpdate(h->ctx, n, sizeof(n));
    if (data != NULL && len > 0)
        EVP_DigestUpdate(h->ctx, data, len);
}

void rn_cache_keyhash_u64(rn_cache_keyhash *h, uint64_t v)
{
    uint8_t b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    rn_cache_keyhash_field(h, b, sizeof(b));
}

void rn_cache_keyhash_final(rn_cache_keyhash *h, char key[65])
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *ctx = h->ctx;
    uint8_t digest[32];

    sha256_final(&ctx, digest);
    h->ctx = NULL;
    for (int i = 0; i < 32; i++) {
        key[2 * i] = hex[digest[i] >> 4];
        key[2 * i + 1] = hex[digest[i] & 15];
    }
    key[KEY_LEN] = '\0';
}

/* ---- use ------------------------------------------------------------------ */

int rn_cache_acquire(rn_cache *c, const char *key, char *path, size_t size)
{
    cache_entry *e;
    int rc;

    if (!valid_key(key))
        return -EINVAL;
    e = find(c, key);
    if (e == NULL || e->transient) {
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
    if (e->refs == 0 && e->transient)
        remove_entry(c, (size_t)(e - c->v));
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

void rn_cache_key_add(char key[65], const char *name, const void *data, size_t len)
{
    rn_cache_keyhash h;
    rn_cache_keyhash_init(&h);
    rn_cache_keyhash_field(&h, "runnel-cache-file", 17);
    rn_cache_keyhash_field(&h, key, 64);
    rn_cache_keyhash_field(&h, name ? name : "", name ? strlen(name) : 0);
    rn_cache_keyhash_field(&h, data, len);
    rn_cache_keyhash_final(&h, key);
}
