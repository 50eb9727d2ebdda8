/* The notebook directory (see zeppelin_store.h). */
#include "zeppelin_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define STORE_DEPTH 17 /* folders below the directory that are read (16 and ~Trash) */

typedef struct store_op store_op;
struct store_op {
    store_op *next;
    zp_store *s;
    uv_work_t work;
    char *rel, *old_rel; /* rel NULL never; data NULL = remove */
    char *data;
    size_t len;
    int err;
    struct store_cb {
        zp_store_done done;
        void *ud;
    } * cbs; /* every caller waiting for this op, in order */
    unsigned ncbs;
};

struct zp_store {
    uv_loop_t *loop;
    char *dir;
    uint64_t max_bytes;
    store_op *head, *tail; /* head is on the thread pool when busy */
    bool busy;
    unsigned pending;
};

int zp_store_new(uv_loop_t *loop, const char *dir, uint64_t max_file_bytes, zp_store **out)
{
    zp_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return -ENOMEM;
    }
    size_t n = strlen(s->dir);
    while (n > 1 && s->dir[n - 1] == '/')
        s->dir[--n] = 0;
    s->loop = loop;
    s->max_bytes = max_file_bytes;
    *out = s;
    return 0;
}

void zp_store_free(zp_store *s)
{
    if (!s)
        return;
    free(s->dir);
    free(s);
}

const char *zp_store_dir(const zp_store *s)
{
    return s->dir;
}

unsigned zp_store_pending(const zp_store *s)
{
    return s->pending;
}

/* ---------------------------------------------------------------- files */

static int full_path(const zp_store *s, const char *rel, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", s->dir, rel);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p of path's folders up to (not including) its last part. */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int err = mkdir(path, 0750) < 0 && errno != EEXIST ? -errno : 0;
        *p = '/';
        if (err)
            return err;
    }
    return 0;
}

/* On the thread pool: write through a temporary file, then rename. */
static int op_write(store_op *op)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX];
    int err = full_path(op->s, op->rel, path, sizeof(path));
    if (err)
        return err;
    if ((err = make_parents(path)) < 0)
        return err;
    char *slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    /* Hidden, so a scan never takes it for a note. */
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, slash + 1);
    if ((err = rn_write_file_atomic(path, tmp, op->data, op->len, 0640)) < 0)
        return err;
    if (op->old_rel && strcmp(op->old_rel, op->rel)) {
        if (!full_path(op->s, op->old_rel, path, sizeof(path)) && unlink(path) == 0) {
            slash = strrchr(path, '/');
            *slash = 0;
            rn_fsync_dir(path);
        }
    }
    return 0;
}

static int op_remove(store_op *op)
{
    char path[PATH_MAX];
    int err = full_path(op->s, op->rel, path, sizeof(path));
    if (err)
        return err;
    if (unlink(path) < 0)
        return errno == ENOENT ? 0 : -errno;
    *strrchr(path, '/') = 0;
    return rn_fsync_dir(path);
}

static void work_run(uv_work_t *w)
{
    store_op *op = w->data;
    op->err = op->data ? op_write(op) : op_remove(op);
}

/* Tell every caller waiting for op how it went. */
static void op_report(store_op *op, int err)
{
    for (unsigned i = 0; i < op->ncbs; i++)
        if (op->cbs[i].done)
            op->cbs[i].done(op->cbs[i].ud, err);
}

static void op_free(store_op *op)
{
    free(op->cbs);
    free(op->rel);
    free(op->old_rel);
    free(op->data);
    free(op);
}

static void queue_next(zp_store *s);

static void work_done(uv_work_t *w, int status)
{
    store_op *op = w->data;
    zp_store *s = op->s;
    if (status < 0 && !op->err)
        op->err = status;
    s->head = op->next;
    if (!s->head)
        s->tail = NULL;
    s->busy = false;
    s->pending--;
    op_report(op, op->err);
    op_free(op);
    queue_next(s);
}

static void queue_next(zp_store *s)
{
    while (!s->busy && s->head) {
        store_op *op = s->head;
        op->work.data = op;
        int err = uv_queue_work(s->loop, &op->work, work_run, work_done);
        if (!err) {
            s->busy = true;
            return;
        }
        s->head = op->next;
        if (!s->head)
            s->tail = NULL;
        s->pending--;
        op_report(op, err);
        op_free(op);
    }
}

static bool same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* A queued write of rel not started yet that a newer write of rel can
 * replace: nothing queued after it touches its files. */
static store_op *replaceable(zp_store *s, const char *rel, const char *old_rel)
{
    store_op *found = NULL;
    for (store_op *op = s->busy ? s->head->next : s->head; op; op = op->next) {
        if (found && (same(op->rel, found->rel) || same(op->old_rel, found->rel) ||
                      same(op->rel, found->old_rel) || same(op->old_rel, found->old_rel)))
            found = NULL;
        if (op->data && same(op->rel, rel) && (!old_rel || same(old_rel, rel)))
            found = op;
    }
    return found;
}

static int add_cb(store_op *op, zp_store_done done, void *ud)
{
    struct store_cb *n = realloc(op->cbs, (op->ncbs + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    op->cbs = n;
    op->cbs[op->ncbs++] = (struct store_cb){done, ud};
    return 0;
}

static int enqueue(zp_store *s, const char *rel, const char *old_rel, char *data, size_t len,
                   zp_store_done done, void *ud)
{
    /* Changes in a burst: the last content is written once, and every
     * caller hears when it is on disk. */
    store_op *prev = data ? replaceable(s, rel, old_rel) : NULL;
    if (prev) {
        if (add_cb(prev, done, ud) < 0) {
            free(data);
            return -ENOMEM;
        }
        free(prev->data);
        prev->data = data;
        prev->len = len;
        return 0;
    }
    store_op *op = calloc(1, sizeof(*op));
    if (!op || !(op->rel = strdup(rel)) || (old_rel && !(op->old_rel = strdup(old_rel))) ||
        add_cb(op, done, ud) < 0) {
        if (op) {
            op->data = NULL;
            op_free(op);
        }
        free(data);
        return -ENOMEM;
    }
    op->s = s;
    op->data = data;
    op->len = len;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    s->pending++;
    queue_next(s);
    return 0;
}

int zp_store_write(zp_store *s, const char *rel, const char *old_rel, char *data, size_t len,
                   zp_store_done done, void *ud)
{
    if (!data)
        return -EINVAL;
    return enqueue(s, rel, old_rel, data, len, done, ud);
}

int zp_store_remove(zp_store *s, const char *rel, zp_store_done done, void *ud)
{
    return enqueue(s, rel, NULL, NULL, 0, done, ud);
}

/* ---------------------------------------------------------------- reading */

int zp_store_read(zp_store *s, const char *rel, char **data, size_t *len)
{
    char path[PATH_MAX];
    int err = full_path(s, rel, path, sizeof(path));
    return err ? err : rn_read_file(path, (size_t)s->max_bytes, true, data, len);
}

typedef struct {
    zp_store *s;
    void (*found)(void *, const char *, const char *, size_t);
    void (*skipped)(void *, const char *, const char *);
    void *ud;
} scan_ctx;

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

static void scan_dir(scan_ctx *c, const char *rel, int depth)
{
    char path[PATH_MAX];
    if (full_path(c->s, rel, path, sizeof(path)) < 0)
        return;
    DIR *d = opendir(rel[0] ? path : c->s->dir);
    if (!d) {
        if (rel[0] || errno != ENOENT)
            c->skipped(c->ud, rel[0] ? rel : ".", strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char sub[PATH_MAX], full[PATH_MAX + 1];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int n = snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (n < 0 || (size_t)n >= sizeof(sub) || full_path(c->s, sub, full, sizeof(full)) < 0)
            continue;
        struct stat st;
        if (lstat(full, &st) < 0)
            continue;
        /* A write a crash cut short: the note file itself is intact. */
        if (e->d_name[0] == '.' && S_ISREG(st.st_mode) && ends_with(e->d_name, ".zpln.tmp")) {
            unlink(full);
            continue;
        }
        /* A notebook directory kept in git, as Zeppelin's GitNotebookRepo does. */
        if (!strcmp(e->d_name, ".git"))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < STORE_DEPTH)
                scan_dir(c, sub, depth + 1);
            else
                c->skipped(c->ud, sub, "folders nested too deep");
            continue;
        }
        if (!ends_with(e->d_name, ".zpln"))
            continue;
        char *data = NULL;
        size_t len = 0;
        int err = S_ISREG(st.st_mode)
                      ? rn_read_file(full, (size_t)c->s->max_bytes, true, &data, &len)
                      : -EINVAL;
        if (err == -EFBIG) {
            char why[96];
            snprintf(why, sizeof(why), "larger than zeppelin.max_note_bytes (%llu)",
                     (unsigned long long)c->s->max_bytes);
            c->skipped(c->ud, sub, why);
        } else if (err) {
            c->skipped(c->ud, sub, err == -EINVAL ? "not a regular file" : strerror(-err));
        } else {
            c->found(c->ud, sub, data, len);
        }
        free(data);
    }
    closedir(d);
}

int zp_store_scan(zp_store *s,
                  void (*found)(void *ud, const char *rel, const char *data, size_t len),
                  void (*skipped)(void *ud, const char *rel, const char *why), void *ud)
{
    scan_ctx c = {s, found, skipped, ud};
    scan_dir(&c, "", 0);
    return 0;
}
