/* The child's side of a sandbox: from clone to execve.
 *
 * This runs in a copy-on-write image of the parent made by clone3. It must
 * not allocate, take locks, use stdio, or call glibc wrappers that act on
 * "all threads" (setresuid and friends broadcast to the parent's thread list,
 * which is stale here), so credentials and signals go through raw syscalls.
 * Every failure is reported as {stage, errno} on a close-on-exec pipe.
 */
#include "box_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static _Noreturn void fail(const rn_child_spec *spec, rn_box_stage stage, int err)
{
    int32_t msg[2] = {(int32_t)stage, err ? err : EIO};
    ssize_t n = write(spec->err_fd, msg, sizeof(msg));
    (void)n;
    _exit(127);
}

/* Make a mount read-only/nosuid/nodev/noexec. mount_setattr (5.12+) does a
 * whole tree in one call; older kernels get a remount of the top mount that
 * keeps the flags a user namespace is not allowed to clear. */
static int set_attr(const char *path, uint64_t attr, bool recursive)
{
    if (!attr)
        return 0;
    struct mount_attr ma = {.attr_set = attr};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &ma, sizeof(ma)) ==
        0)
        return 0;
    if (errno != ENOSYS)
        return -errno;
    struct statfs sf;
    if (statfs(path, &sf) < 0)
        return -errno;
    unsigned long fl = MS_REMOUNT | MS_BIND;
    fl |= (attr & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0;
    fl |= (attr & MOUNT_ATTR_NOSUID) || (sf.f_flags & ST_NOSUID) ? MS_NOSUID : 0;
    fl |= (attr & MOUNT_ATTR_NODEV) || (sf.f_flags & ST_NODEV) ? MS_NODEV : 0;
    fl |= (attr & MOUNT_ATTR_NOEXEC) || (sf.f_flags & ST_NOEXEC) ? MS_NOEXEC : 0;
    fl |= (sf.f_flags & ST_NOATIME) ? MS_NOATIME : 0;
    fl |= (sf.f_flags & ST_NODIRATIME) ? MS_NODIRATIME : 0;
    fl |= (sf.f_flags & ST_RELATIME) ? MS_RELATIME : 0;
    return mount(NULL, path, NULL, fl, NULL) < 0 ? -errno : 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* "/proc/self/fd/<fd>" into a stack buffer (no snprintf here). */
static const char *fd_path(char *buf, size_t size, int fd)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + fd % 10);
        fd /= 10;
    } while (fd && n < (int)sizeof(digits));
    if (sizeof(prefix) + (size_t)n > size)
        return NULL;
    memcpy(buf, prefix, sizeof(prefix) - 1);
    for (int i = 0; i < n; i++)
        buf[sizeof(prefix) - 1 + i] = digits[n - 1 - i];
    buf[sizeof(prefix) - 1 + n] = '\0';
    return buf;
}

/* One op; srcfd is the O_PATH fd of a host bind source (-1 if missing).
 * Returns 0 or a negative errno. */
static int run_op(const rn_op *op, int srcfd)
{
    int fd, r;
    char buf[32];
    const char *src;
    switch (op->kind) {
    case RN_OP_MKDIR:
        return mkdir(op->path, op->mode) < 0 && errno != EEXIST ? -errno : 0;
    case RN_OP_TOUCH:
        fd = open(op->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
            return -errno;
        close(fd);
        return 0;
    case RN_OP_SYMLINK:
        return symlink(op->src, op->path) < 0 && errno != EEXIST ? -errno : 0;
    case RN_OP_BIND:
        src = op->src;
        if (op->flags & RN_OPF_HOST) {
            if (srcfd < 0)
                return op->flags & RN_OPF_OPTIONAL ? 0 : -ENOENT;
            src = fd_path(buf, sizeof(buf), srcfd);
        }
        if (mount(src, op->path, NULL, MS_BIND | MS_REC, NULL) < 0)
            return (op->flags & RN_OPF_OPTIONAL) && errno == ENOENT ? 0 : -errno;
        return set_attr(op->path, op->attr, true);
    case RN_OP_TMPFS:
        return mount("tmpfs", op->path, "tmpfs", op->mflags, op->data) < 0 ? -errno : 0;
    case RN_OP_PROC:
        return mount("proc", op->path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? -errno
                                                                                           : 0;
    case RN_OP_SETATTR:
        return set_attr(op->path, op->attr, op->flags & RN_OPF_RECURSIVE);
    case RN_OP_WRITE:
        fd = open(op->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, op->mode);
        if (fd < 0)
            return -errno;
        r = write_all(fd, op->data, op->len);
        if (r == 0 && fchmod(fd, op->mode) < 0)
            r = -errno;
        close(fd);
        return r;
    }
    return -EINVAL;
}

static void reset_signals(void)
{
    /* The kernel's struct: handler, flags, restorer, mask. */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } ksa = {SIG_DFL, 0, NULL, 0};
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
}

static int loopback_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    int r = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        r = -errno;
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
            r = -errno;
    }
    close(fd);
    return r;
}

static int drop_caps(int last_cap)
{
    for (int cap = 0; cap <= last_cap; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

_Noreturn void rn_child_main(const rn_child_spec *spec)
{
    int r;
    /* A parent killed before the maps are written shows up as EOF on the
     * sync pipe; after that, as this signal. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    close(spec->sync_wfd);
    reset_signals();
    umask(022);

    /* Move the stdio ends above 2 first so that none is overwritten by
     * another's dup2 (the server may have closed its own 0-2). */
    int tmp[3];
    for (int i = 0; i < 3; i++) {
        tmp[i] = fcntl(spec->stdio[i], F_DUPFD_CLOEXEC, 3);
        if (tmp[i] < 0)
            fail(spec, RN_BOX_STAGE_FDS, errno);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(tmp[i], i) < 0)
            fail(spec, RN_BOX_STAGE_FDS, errno);

    char go;
    if (read(spec->sync_fd, &go, 1) != 1)
        _exit(127); /* the parent gave up on us; it reports why */
    close(spec->sync_fd);

    if (spec->unshare_cgroup && unshare(CLONE_NEWCGROUP) < 0)
        fail(spec, RN_BOX_STAGE_CGROUP, errno);

    /* Host sources are opened with the credentials we were cloned with:
     * after the uid change below, root-only directories on the way to them
     * could no longer be searched. An O_PATH fd only works for binds in the
     * mount namespace it was opened in, so the parent cannot do this. */
    int srcfds[RN_BOX_MAX_BINDS];
    int nsrc = 0;
    for (int p = 0; p < 2; p++) {
        const rn_plan *plan = spec->plans[p];
        for (size_t i = 0; plan && i < plan->n; i++) {
            const rn_op *op = &plan->ops[i];
            if (op->kind != RN_OP_BIND || !(op->flags & RN_OPF_HOST))
                continue;
            if (nsrc == RN_BOX_MAX_BINDS)
                fail(spec, RN_BOX_STAGE_MOUNT, E2BIG);
            srcfds[nsrc] = open(op->src, O_PATH | O_CLOEXEC);
            if (srcfds[nsrc] < 0 && !(errno == ENOENT && (op->flags & RN_OPF_OPTIONAL)))
                fail(spec, RN_BOX_STAGE_MOUNT, errno);
            nsrc++;
        }
    }

    /* Become 1000:1000 now, keeping the namespace's capabilities (the
     * transition is not from the namespace's root uid, so they survive), so
     * that everything created in the new tmpfs is owned by a mapped id. */
    if (spec->root && syscall(SYS_setgroups, 0, NULL) < 0)
        fail(spec, RN_BOX_STAGE_CREDS, errno);
    if (syscall(SYS_setresgid, RN_BOX_INNER_ID, RN_BOX_INNER_ID, RN_BOX_INNER_ID) < 0 ||
        syscall(SYS_setresuid, RN_BOX_INNER_ID, RN_BOX_INNER_ID, RN_BOX_INNER_ID) < 0)
        fail(spec, RN_BOX_STAGE_CREDS, errno);
    /* Changing euid cleared the parent-death signal: set it again. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (sethostname(spec->hostname, strlen(spec->hostname)) < 0)
        fail(spec, RN_BOX_STAGE_NETWORK, errno);

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(spec, RN_BOX_STAGE_MOUNT, errno);
    nsrc = 0;
    for (int p = 0; p < 2; p++) {
        const rn_plan *plan = spec->plans[p];
        for (size_t i = 0; plan && i < plan->n; i++) {
            const rn_op *op = &plan->ops[i];
            int srcfd = -1;
            if (op->kind == RN_OP_BIND && (op->flags & RN_OPF_HOST))
                srcfd = srcfds[nsrc++];
            r = run_op(op, srcfd);
            if (r < 0)
                fail(spec,
                     plan->ops[i].kind == RN_OP_WRITE ? RN_BOX_STAGE_FILES : RN_BOX_STAGE_MOUNT,
                     -r);
        }
    }

    /* pivot_root(".", ".") stacks the old root on top of the new one; the
     * detach then drops the host's whole tree from this namespace. */
    if (chdir(RN_BOX_STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        fail(spec, RN_BOX_STAGE_PIVOT, errno);
    r = set_attr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
    if (r < 0)
        fail(spec, RN_BOX_STAGE_PIVOT, -r);

    if (spec->network && (r = loopback_up()) < 0)
        fail(spec, RN_BOX_STAGE_NETWORK, -r);

    if (chdir(spec->cwd) < 0)
        fail(spec, RN_BOX_STAGE_CWD, errno);

    for (int i = 0; i < spec->nrlimits; i++) {
        struct rlimit rl = {spec->rlimits[i].soft, spec->rlimits[i].hard};
        if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
            fail(spec, RN_BOX_STAGE_RLIMIT, errno);
    }

    if ((r = drop_caps(spec->last_cap)) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, -r);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, errno);

    /* A new session has no controlling terminal, so TIOCSTI has no tty to
     * push into even before seccomp refuses it. */
    if (setsid() < 0)
        fail(spec, RN_BOX_STAGE_CREDS, errno);

    /* Everything above 2 closes at exec; the error pipe stays usable until
     * then. */
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        if (spec->err_fd > 3)
            syscall(SYS_close_range, 3, spec->err_fd - 1, 0);
        syscall(SYS_close_range, spec->err_fd + 1, ~0U, 0);
    }

    uint64_t empty = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty));

    if (spec->filter &&
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (unsigned long)spec->filter, 0, 0) < 0)
        fail(spec, RN_BOX_STAGE_SECCOMP, errno);

    int err = ENOENT;
    for (size_t i = 0; spec->exec_paths[i]; i++) {
        execve(spec->exec_paths[i], spec->argv, spec->envp);
        if (errno != ENOENT && errno != ENOTDIR)
            err = errno;
    }
    fail(spec, RN_BOX_STAGE_EXEC, err);
}
