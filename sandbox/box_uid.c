/* Host uids for runs (as root: one of the context's range per live run,
 * never shared) and the uid/gid maps that make it 1000 inside. */
#include "box_parent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A free uid of the range, next-fit; -EAGAIN when every one is in use. */
static int uid_alloc(rn_box_context *ctx, uid_t *out)
{
    for (unsigned i = 0; i < ctx->uid_count; i++) {
        unsigned k = (ctx->uid_next + i) % ctx->uid_count;
        if (!(ctx->uid_used[k / 8] & (1u << (k % 8)))) {
            ctx->uid_used[k / 8] |= (uint8_t)(1u << (k % 8));
            /* Next-fit: a uid just released is the last to be reused. */
            ctx->uid_next = (k + 1) % ctx->uid_count;
            *out = ctx->uid_first + k;
            return 0;
        }
    }
    return -EAGAIN;
}

void box_uid_release(rn_box_context *ctx, uid_t uid)
{
    unsigned k = uid - ctx->uid_first;
    if (k < ctx->uid_count)
        ctx->uid_used[k / 8] &= (uint8_t) ~(1u << (k % 8));
}

/* Write text to /proc/<pid>/<file> in one write. */
static int write_proc(pid_t pid, const char *file, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    int r = write(fd, text, len) == (ssize_t)len ? 0 : -errno;
    close(fd);
    return r;
}

int box_uid_take(rn_box *box, gid_t *gid)
{
    rn_box_context *ctx = box->ctx;
    if (!ctx->root) {
        box->uid = ctx->outer_uid;
        *gid = ctx->outer_gid;
        return 0;
    }
    if (ctx->ahead) { /* uids of runs whose init the thread has reaped since */
        uid_t freed[64];
        size_t n;
        while ((n = rn_ahead_freed_uids(ctx->ahead, freed, 64)) > 0)
            for (size_t i = 0; i < n; i++)
                box_uid_release(ctx, freed[i]);
    }
    int r = uid_alloc(ctx, &box->uid);
    if (r < 0)
        return r;
    box->uid_owned = true;
    *gid = (gid_t)box->uid;
    return 0;
}

/* 1000 inside is the run's own host uid (or ours, rootless). Rootful runs
 * keep setgroups allowed so the child can drop the supplementary groups it
 * inherited from root. */
int box_write_maps(const rn_box *box, gid_t gid)
{
    char map[64];
    snprintf(map, sizeof(map), "%d %u 1\n", RN_BOX_INNER_ID, (unsigned)box->uid);
    int r = write_proc(box->pid, "uid_map", map);
    if (r == 0 && !box->ctx->root)
        r = write_proc(box->pid, "setgroups", "deny");
    snprintf(map, sizeof(map), "%d %u 1\n", RN_BOX_INNER_ID, (unsigned)gid);
    if (r == 0)
        r = write_proc(box->pid, "gid_map", map);
    return r;
}
