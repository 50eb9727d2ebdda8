#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Depth is bounded by the recursion: an attacker-made tree deeper than this
 * inside a size-limited tmpfs is still removed, just over several levels of
 * retries by the caller's tmpfs unmount; we refuse to recurse without end. */
#define RMTREE_MAX_DEPTH 256

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

static int rmtree_at(int dirfd, const char *name, dev_t dev, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    if (st.st_dev != dev || depth > RMTREE_MAX_DEPTH)
        return -EXDEV;

    int fd = open_dir(dirfd, name, &st);
    if (fd < 0)
        return fd;
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = -errno;
        close(fd);
        return err;
    }
    int ret = 0;
    /* Whether readdir still returns entries not yet seen after others were
     * unlinked is unspecified: go over the directory again while removing
     * it fails with ENOTEMPTY and the last pass made progress. */
    for (int pass = 0; pass < 8; pass++) {
        int removed = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            int r = rmtree_at(fd, e->d_name, dev, depth + 1);
            if (r < 0 && ret == 0)
                ret = r;
            removed += r == 0;
        }
        if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
            closedir(d);
            return ret;
        }
        if (errno != ENOTEMPTY || removed == 0)
            break;
        rewinddir(d);
    }
    if (ret == 0)
        ret = -errno;
    closedir(d);
    return ret;
}

int rn_rmtree_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    return rmtree_at(dirfd, name, st.st_dev, 0);
}

int rn_rmtree(const char *path)
{
    return rn_rmtree_at(AT_FDCWD, path);
}
