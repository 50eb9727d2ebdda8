#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One directory on the way down: its identity (to check the climb back by
 * "..") and the subdirectories still to walk. */
typedef struct {
    const char *name; /* in the parent (owned by the parent's frame) */
    dev_t dev;
    ino_t ino;
    char **subdirs;
    size_t n, next;
} walk_frame;

typedef struct {
    const rn_walk_ops *ops;
    void *ud;
    dev_t dev; /* the top's: other devices are not entered */
    int first_err;
    walk_frame *stack;
    size_t depth, cap;
} walker;

static void note(walker *w, int err)
{
    if (err < 0 && w->first_err == 0)
        w->first_err = err;
}

/* Open a directory entry that lstat said is a directory, without following a
 * symlink that may have replaced it since, and check it is the same inode.
 * A directory the sandboxed program made unreadable (chmod 0) is made
 * readable again first; the chmod itself refuses symlinks. */
static int open_dir(int dirfd, const char *name, const struct stat *st)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        if (fchmodat(dirfd, name, 0700, AT_SYMLINK_NOFOLLOW) < 0)
            return -EACCES;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    struct stat now;
    if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
        close(fd);
        return -EAGAIN; /* swapped under us: leave it */
    }
    return fd;
}

static void frame_free(walk_frame *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->subdirs[i]);
    free(f->subdirs);
    f->subdirs = NULL;
    f->n = f->next = 0;
}

static int push(walker *w, const char *name, const struct stat *st)
{
    if (w->depth == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 32;
        walk_frame *ns = realloc(w->stack, ncap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        w->stack = ns;
        w->cap = ncap;
    }
    walk_frame *f = &w->stack[w->depth++];
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    return 0;
}

/* Every name in the directory open as fd but "." and "..". */
static int read_names(int fd, char ***out, size_t *nout)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    DIR *d = fdopendir(rfd);
    if (!d) {
        int err = -errno;
        close(rfd);
        return err;
    }
    int err = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                err = -ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        if (!(v[n] = strdup(e->d_name))) {
            err = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (err < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return err;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Read the directory of the top frame (open as fd): files go to the file
 * callback now, subdirectories into the frame for later. */
static int fill(walker *w, int fd)
{
    walk_frame *f = &w->stack[w->depth - 1];
    char **names = NULL;
    size_t n = 0;
    int r = read_names(fd, &names, &n);
    if (r < 0) {
        note(w, r);
        return 0;
    }
    f->subdirs = names;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                note(w, -errno);
        } else if (S_ISDIR(st.st_mode)) {
            if (st.st_dev == w->dev) {
                names[f->n++] = names[i];
                continue;
            }
            note(w, -EXDEV);
        } else if (w->ops->file && (r = w->ops->file(w->ud, fd, names[i], &st)) < 0) {
            for (size_t j = i; j < n; j++)
                free(names[j]);
            return r;
        }
        free(names[i]);
    }
    return 0;
}

/* Go down into the next subdirectory of the top frame: 1 when entered (fd
 * is then the child's), 0 when skipped, <0 to stop. */
static int descend(walker *w, int *fd)
{
    walk_frame *f = &w->stack[w->depth - 1];
    const char *child = f->subdirs[f->next++];
    struct stat st;
    if (fstatat(*fd, child, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            note(w, -errno);
        return 0;
    }
    if (!S_ISDIR(st.st_mode) || st.st_dev != w->dev) {
        note(w, -EAGAIN);
        return 0;
    }
    int cfd = open_dir(*fd, child, &st);
    if (cfd < 0) {
        note(w, cfd);
        return 0;
    }
    int r = w->ops->enter ? w->ops->enter(w->ud, *fd, child, &st, cfd) : 1;
    if (r <= 0 || (r = push(w, child, &st)) < 0) {
        close(cfd);
        return r;
    }
    close(*fd);
    *fd = cfd;
    return 1;
}

/* Leave the top frame (done) for its parent, climbing by "..". */
static int ascend(walker *w, int *fd)
{
    walk_frame *f = &w->stack[w->depth - 1], *p = &w->stack[w->depth - 2];
    int pfd = openat(*fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return -errno;
    struct stat st;
    if (fstat(pfd, &st) < 0 || st.st_dev != p->dev || st.st_ino != p->ino) {
        close(pfd);
        return -EAGAIN; /* moved under us: we cannot find our way back */
    }
    close(*fd);
    *fd = pfd;
    int r = w->ops->leave ? w->ops->leave(w->ud, pfd, f->name) : 0;
    frame_free(f);
    w->depth--;
    return r;
}

int rn_walk_at(int dirfd, const char *name, const rn_walk_ops *ops, void *ud)
{
    walker w = {.ops = ops, .ud = ud};
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return ops->file ? ops->file(ud, dirfd, name, &st) : 0;
    w.dev = st.st_dev;
    int fd = open_dir(dirfd, name, &st);
    if (fd < 0)
        return fd;
    int r = ops->enter ? ops->enter(ud, dirfd, name, &st, fd) : 1;
    if (r <= 0 || (r = push(&w, name, &st)) < 0 || (r = fill(&w, fd)) < 0)
        goto out;
    for (;;) {
        walk_frame *f = &w.stack[w.depth - 1];
        if (f->next < f->n) {
            if ((r = descend(&w, &fd)) < 0)
                goto out;
            if (r == 1 && (r = fill(&w, fd)) < 0)
                goto out;
            continue;
        }
        if (w.depth == 1)
            break;
        if ((r = ascend(&w, &fd)) < 0)
            goto out;
    }
    close(fd);
    fd = -1;
    r = ops->leave ? ops->leave(ud, dirfd, name) : 0;
out:
    if (fd >= 0)
        close(fd);
    while (w.depth > 0)
        frame_free(&w.stack[--w.depth]);
    free(w.stack);
    if (r < 0)
        return r;
    return w.first_err;
}

typedef struct {
    int first_err;
} rm_state;

static void rm_note(rm_state *s, int err)
{
    if (err < 0 && s->first_err == 0)
        s->first_err = err;
}

static int rm_file(void *ud, int dirfd, const char *name, const struct stat *st)
{
    (void)st;
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        rm_note(ud, -errno);
    return 0;
}

static int rm_leave(void *ud, int dirfd, const char *name)
{
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rm_note(ud, -errno);
    return 0;
}

int rn_rmtree_at(int dirfd, const char *name)
{
    static const rn_walk_ops ops = {.file = rm_file, .leave = rm_leave};
    rm_state s = {0};
    int r = rn_walk_at(dirfd, name, &ops, &s);
    if (r == -ENOENT)
        return 0;
    /* The walk's own errors (a mount point below, a swapped directory)
     * come first: the rmdir failures they cause say less. */
    return r < 0 ? r : s.first_err;
}

int rn_rmtree(const char *path)
{
    return rn_rmtree_at(AT_FDCWD, path);
}
