/* Build directories: size-limited tmpfs mounts, or plain directories. */
#include "builddir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../sandbox/rmtree.h"

int rn_builddir_make(const char *parent, const char *prefix, uint64_t bytes, char *path,
                     size_t size, bool *bounded)
{
    char opts[128];
    int n = snprintf(path, size, "%s/%sXXXXXX", parent, prefix);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    if (!mkdtemp(path))
        return -errno;
    uint64_t inodes = bytes / 1024 < 4096 ? 4096 : bytes / 1024;
    snprintf(opts, sizeof(opts), "size=%" PRIu64 ",nr_inodes=%" PRIu64 ",mode=0700", bytes, inodes);
    *bounded = mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0;
    return 0;
}

bool rn_builddir_full(const char *path)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) < 0)
        return false;
    return vfs.f_bavail == 0 || (vfs.f_files && vfs.f_favail == 0);
}

/* A mount point is on another device than its parent. */
static bool is_mount_point(const char *path)
{
    char parent[4096];
    struct stat st, pst;
    int n = snprintf(parent, sizeof(parent), "%s/..", path);
    if (n < 0 || (size_t)n >= sizeof(parent))
        return false;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && stat(parent, &pst) == 0 &&
           st.st_dev != pst.st_dev;
}

int rn_builddir_remove(const char *path)
{
    /* Detached, the tmpfs goes with its last user; nothing of it is then
     * below path, so the rmtree only meets the empty mount point. */
    if (is_mount_point(path) && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
        return -errno;
    return rn_rmtree(path);
}

typedef struct {
    uv_work_t req;
    char path[];
} remove_work;

static void remove_run(uv_work_t *req)
{
    remove_work *w = (remove_work *)req;
    rn_builddir_remove(w->path);
}

static void remove_done(uv_work_t *req, int status)
{
    (void)status;
    free(req);
}

void rn_builddir_remove_async(uv_loop_t *loop, const char *path)
{
    size_t len = strlen(path);
    remove_work *w = malloc(sizeof(*w) + len + 1);
    if (w)
        memcpy(w->path, path, len + 1);
    if (!w || !loop || uv_queue_work(loop, &w->req, remove_run, remove_done) < 0) {
        /* No worker to be had: removing it here is still better than
         * leaving it behind. */
        free(w);
        rn_builddir_remove(path);
    }
}
