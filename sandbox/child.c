/* The child's side of a sandbox: the run's init, and the program up to execve.
 *
 * The parent clones the run's first process (pid 1 of the new pid
 * namespace) on a stack of its own, sharing the parent's memory when
 * runnel-init can be exec'd (spec->init_fd), else as a fork-like copy. It
 * closes every fd it was cloned with but its own, builds the sandbox
 * (uid, mounts, pivot_root, lo), empties the bounding set, then starts
 * the program on a second stack: the program drops every capability, sets
 * no_new_privs, starts a session, marks its fds close-on-exec, loads the
 * seccomp filter, and (when it shares the caller's memory) waits for the
 * second sync byte, after which the parent has written the run's part
 * (files, argv, env, cwd, rlimits); it writes the files, sets cwd and
 * rlimits and execs. In a fork-like copy the init waits for that exec
 * (CLONE_VFORK) and the run's part is in the copy already. The first
 * process then
 * becomes the init: it execs runnel-init (init.c), which holds nothing of
 * the parent's memory; or, as a fork-like copy, it locks itself down (no
 * capabilities, no_new_privs, an allow-list filter, non-dumpable) and
 * unmaps all but its code and stack. Either way the init reaps every
 * process that ends in the namespace, and when the program ends writes the
 * program's wait status and resource use to the error pipe and exits, which
 * kills whatever is left.
 *
 * While the program shares the init's memory it must not write anything
 * the init owns, errno included: every system call here goes through
 * rn_sys(), which returns -errno and never touches errno. Nothing here may
 * allocate, take locks or use stdio either.
 *
 * Every set-up failure is reported as an RN_REPORT_SETUP record on the
 * close-on-exec error pipe.
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
#include <sys/wait.h>
#include <unistd.h>

/* ASan cannot follow a child running on a stack it did not allocate (it
 * warns on every no-return call); the child only makes system calls. */
#define RN_CHILD __attribute__((no_sanitize_address))

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* A system call that leaves errno alone: returns the result or -errno. */
RN_CHILD static long rn_sys(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#else
    /* Without rn_clone3 the program is a plain fork: errno is our own. */
    long r = syscall(n, a, b, c, d, e, f);
    return r < 0 ? -errno : r;
#endif
}

#define SYS0(n)             rn_sys(SYS_##n, 0, 0, 0, 0, 0, 0)
#define SYS1(n, a)          rn_sys(SYS_##n, (long)(a), 0, 0, 0, 0, 0)
#define SYS2(n, a, b)       rn_sys(SYS_##n, (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c)    rn_sys(SYS_##n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) rn_sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(n, a, b, c, d, e)                                                                     \
    rn_sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

bool rn_child_has_clone3(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return true;
#else
    return false;
#endif
}

RN_CHILD static _Noreturn void die(int code)
{
    for (;;)
        SYS1(exit_group, code);
}

RN_CHILD static _Noreturn void fail(const rn_child_spec *spec, rn_box_stage stage, long err)
{
    rn_report msg; /* no memset: the caller's libc is not ours to call */
    msg.kind = RN_REPORT_SETUP;
    msg.stage = (int32_t)stage;
    msg.err = err > 0 ? (int32_t)err : EIO;
    msg.status = 0;
    msg.cpu_us = msg.maxrss_kb = 0;
    SYS3(write, spec->err_fd, &msg, sizeof(msg));
    die(127);
}

/* Make a mount read-only/nosuid/nodev/noexec. mount_setattr (5.12+) does a
 * whole tree in one call; older kernels get a remount of the top mount that
 * keeps the flags a user namespace is not allowed to clear. */
RN_CHILD static long set_attr(const char *path, uint64_t attr, bool recursive)
{
    if (!attr)
        return 0;
    struct mount_attr ma = {.attr_set = attr};
    long r = SYS5(mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &ma, sizeof(ma));
    if (r != -ENOSYS)
        return r;
    struct statfs sf;
    if ((r = SYS2(statfs, path, &sf)) < 0)
        return r;
    unsigned long fl = MS_REMOUNT | MS_BIND;
    fl |= (attr & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0;
    fl |= (attr & MOUNT_ATTR_NOSUID) || (sf.f_flags & ST_NOSUID) ? MS_NOSUID : 0;
    fl |= (attr & MOUNT_ATTR_NODEV) || (sf.f_flags & ST_NODEV) ? MS_NODEV : 0;
    fl |= (attr & MOUNT_ATTR_NOEXEC) || (sf.f_flags & ST_NOEXEC) ? MS_NOEXEC : 0;
    fl |= (sf.f_flags & ST_NOATIME) ? MS_NOATIME : 0;
    fl |= (sf.f_flags & ST_NODIRATIME) ? MS_NODIRATIME : 0;
    fl |= (sf.f_flags & ST_RELATIME) ? MS_RELATIME : 0;
    return SYS5(mount, NULL, path, NULL, fl, NULL);
}

RN_CHILD static long write_all(int fd, const char *p, size_t len)
{
    while (len) {
        long n = SYS3(write, fd, p, len);
        if (n == -EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? n : -EIO;
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

RN_CHILD static long ok_if_exists(long r)
{
    return r == -EEXIST ? 0 : r;
}

/* One op; srcfd is the O_PATH fd of a host bind source (-1 if missing).
 * Returns 0 or a negative errno. */
RN_CHILD static long run_op(const rn_op *op, int srcfd)
{
    long fd, r;
    char buf[32];
    const char *src;
    switch (op->kind) {
    case RN_OP_MKDIR:
        return ok_if_exists(SYS3(mkdirat, AT_FDCWD, op->path, op->mode));
    case RN_OP_TOUCH:
        fd = SYS4(openat, AT_FDCWD, op->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
            return fd;
        SYS1(close, fd);
        return 0;
    case RN_OP_SYMLINK:
        return ok_if_exists(SYS3(symlinkat, op->src, AT_FDCWD, op->path));
    case RN_OP_BIND:
        src = op->src;
        if (op->flags & RN_OPF_HOST) {
            if (srcfd < 0)
                return op->flags & RN_OPF_OPTIONAL ? 0 : -ENOENT;
            src = fd_path(buf, sizeof(buf), srcfd);
        }
        r = SYS5(mount, src, op->path, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
            return (op->flags & RN_OPF_OPTIONAL) && r == -ENOENT ? 0 : r;
        return set_attr(op->path, op->attr, true);
    case RN_OP_TMPFS:
        return SYS5(mount, "tmpfs", op->path, "tmpfs", op->mflags, op->data);
    case RN_OP_PROC:
        return SYS5(mount, "proc", op->path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    case RN_OP_SETATTR:
        return set_attr(op->path, op->attr, op->flags & RN_OPF_RECURSIVE);
    case RN_OP_WRITE:
        fd = SYS4(openat, AT_FDCWD, op->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  op->mode);
        if (fd < 0)
            return fd;
        r = write_all((int)fd, op->data, op->len);
        if (r == 0)
            r = SYS2(fchmod, fd, op->mode);
        SYS1(close, fd);
        return r;
    }
    return -EINVAL;
}

/* Close every fd above 2 but the (up to n) ones in keep (-1: none). */
RN_CHILD static void close_others(int *keep, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n is tiny */
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < (int)lo)
            continue;
        if ((unsigned)keep[i] > lo)
            SYS3(close_range, lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    SYS3(close_range, lo, ~0U, 0);
}

RN_CHILD static void reset_signals(void)
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
            SYS4(rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
}

RN_CHILD static long loopback_up(void)
{
    long fd = SYS3(socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    long r = SYS3(ioctl, fd, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = SYS3(ioctl, fd, SIOCSIFFLAGS, &ifr);
    }
    SYS1(close, fd);
    return r;
}

RN_CHILD static long drop_bounding(int last_cap)
{
    long r;
    for (int cap = 0; cap <= last_cap; cap++)
        if ((r = SYS2(prctl, PR_CAPBSET_DROP, cap)) < 0 && r != -EINVAL)
            return r;
    return 0;
}

/* Every capability but the bounding set, which the init emptied before
 * any caller of this could run: ambient, then permitted, effective and
 * inheritable. */
RN_CHILD static long drop_caps(void)
{
    long r = SYS5(prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (r < 0 && r != -EINVAL)
        return r;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    return SYS2(capset, &hdr, data);
}

/* The program, from its clone to execve: it shares the init's memory (or is
 * a fork of it) and inherits its namespaces, root, cwd, rlimits and
 * credentials. */
RN_CHILD static int program_main(void *arg)
{
    const rn_child_spec *spec = arg;
    long r;
    if ((r = drop_caps()) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, -r);
    if ((r = SYS5(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, -r);

    /* A new session has no controlling terminal, so TIOCSTI has no tty to
     * push into even before seccomp refuses it. */
    if ((r = SYS0(setsid)) < 0)
        fail(spec, RN_BOX_STAGE_CREDS, -r);

    /* Everything above 2 closes at exec; the error pipe stays usable until
     * then. */
    if (SYS3(close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        SYS3(close_range, 3, spec->err_fd - 1, 0);
        SYS3(close_range, spec->err_fd + 1, ~0U, 0);
    }

    uint64_t empty = 0;
    SYS4(rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty));

    if (spec->filter && (r = SYS3(prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, spec->filter)) < 0)
        fail(spec, RN_BOX_STAGE_SECCOMP, -r);

    /* Locked down: wait for the run (a warm box waits here until one is
     * asked for), then its files, cwd and limits, which were written to
     * the memory we share with the caller before the byte was sent. */
    char go;
    if (spec->program_waits && SYS3(read, spec->sync_fd, &go, 1) != 1)
        die(127);
    for (size_t i = 0; spec->plans[2] && i < spec->plans[2]->n; i++)
        if ((r = run_op(&spec->plans[2]->ops[i], -1)) < 0)
            fail(spec, RN_BOX_STAGE_FILES, -r);
    if ((r = SYS1(chdir, spec->cwd)) < 0)
        fail(spec, RN_BOX_STAGE_CWD, -r);
    /* The init is bound by none of them: it starts nothing and reads no
     * more files (RLIMIT_NPROC counts it: the parent allows one process
     * more than the run's pids). */
    for (int i = 0; i < spec->nrlimits; i++) {
        struct rlimit rl = {spec->rlimits[i].soft, spec->rlimits[i].hard};
        if ((r = SYS4(prlimit64, 0, spec->rlimits[i].resource, &rl, NULL)) < 0)
            fail(spec, RN_BOX_STAGE_RLIMIT, -r);
    }

    long err = -ENOENT;
    for (size_t i = 0; spec->exec_paths[i]; i++) {
        r = SYS3(execve, spec->exec_paths[i], spec->argv, spec->envp);
        if (r != -ENOENT && r != -ENOTDIR)
            err = r;
    }
    fail(spec, RN_BOX_STAGE_EXEC, -err);
}

#if defined(__has_attribute)
#if __has_attribute(no_stack_protector)
#define RN_NO_SSP __attribute__((no_stack_protector))
#endif
#endif
#ifndef RN_NO_SSP
#define RN_NO_SSP
#endif

/* Unmap everything but [lo0, hi0) and [lo1, hi1) (lo0 <= lo1). The top of
 * the address space depends on the paging mode: try the largest first;
 * munmap refuses (EINVAL) a range that reaches past it. */
RN_CHILD RN_NO_SSP static void shed_memory(uintptr_t lo0, uintptr_t hi0, uintptr_t lo1,
                                           uintptr_t hi1)
{
    if (lo0)
        SYS2(munmap, 0, lo0);
    if (lo1 > hi0)
        SYS2(munmap, hi0, lo1 - hi0);
    for (int bits = 57; bits >= 36; bits--) {
        uintptr_t top = (uintptr_t)1 << bits;
        if (top > hi1 && SYS2(munmap, hi1, top - hi1) == 0)
            return;
        if (top - 4096 > hi1 && SYS2(munmap, hi1, top - 4096 - hi1) == 0)
            return;
    }
}

/* The init once the program runs: only its stack and this code are mapped
 * (no libc, no TLS, no globals), so it makes raw system calls on locals. */
RN_CHILD RN_NO_SSP __attribute__((noinline)) static _Noreturn void
init_loop(int err_fd, long program, uintptr_t lo0, uintptr_t hi0, uintptr_t lo1, uintptr_t hi1)
{
    if (hi0 > lo0 && hi1 > lo1)
        shed_memory(lo0, hi0, lo1, hi1);
    for (;;) {
        int status = 0;
        long pid = SYS4(wait4, -1, &status, __WALL, NULL);
        if (pid == -EINTR)
            continue;
        if (pid < 0) /* ECHILD: cannot be, the program is ours */
            die(127);
        if (pid != program)
            continue; /* an orphan: reaped, so it holds no pid */
        struct rusage ru;
        /* volatile: field by field, with immediates; a compiler merging the
         * constants would load them from .rodata, which is gone. */
        volatile rn_report rep;
        rep.kind = RN_REPORT_EXIT;
        rep.stage = 0;
        rep.err = 0;
        rep.status = status;
        rep.cpu_us = 0;
        rep.maxrss_kb = 0;
        if (SYS2(getrusage, RUSAGE_CHILDREN, &ru) == 0) {
            rep.cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
                         (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
            rep.maxrss_kb = (uint64_t)ru.ru_maxrss;
        }
        SYS3(write, err_fd, (const void *)&rep, sizeof(rep));
        /* Exiting ends the namespace: the kernel kills and reaps the rest. */
        die((status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff);
    }
}

RN_CHILD static char *utoa(char *buf, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

/* Leave the caller's memory: exec runnel-init with only the error pipe
 * open, no_new_privs, no bounding or ambient capabilities (the exec of a
 * non-root uid clears the rest). Returns if the exec failed; we then stay
 * the init in place, in the caller's memory, keeping our capabilities. */
RN_CHILD static void exec_init(rn_child_spec *spec, long program)
{
    int err_fd = spec->err_fd;
    SYS3(close_range, 0, 2, 0);
    if (SYS3(close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return;
    if (SYS3(fcntl, err_fd, F_SETFD, 0) < 0)
        return;
    if (SYS5(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return;
    SYS5(prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    char fdbuf[24], pidbuf[24], name[] = "runnel-init", empty[] = "";
    char *argv[] = {name, utoa(fdbuf, (unsigned long)err_fd), utoa(pidbuf, (unsigned long)program),
                    NULL};
    char *envp[] = {NULL};
    SYS5(execveat, spec->init_fd, empty, argv, envp, AT_EMPTY_PATH);
    SYS3(fcntl, err_fd, F_SETFD, FD_CLOEXEC);
}

/* First steps: stay tied to the parent, join the v1 cgroups, reset the
 * signals, and keep only our fds, stdio in 0-2. */
RN_CHILD static void child_fds(rn_child_spec *spec)
{
    long r;
    /* A parent killed before the maps are written shows up as EOF on the
     * sync pipe; after that, as this signal. */
    SYS2(prctl, PR_SET_PDEATHSIG, SIGKILL);
    SYS1(close, spec->sync_wfd);
    /* cgroup v1: join the run's hierarchies while the parent writes the
     * maps. Each write moves this one thread (no thread-group lock), and
     * the program and everything it starts are born inside. */
    for (int i = 0; i < spec->ncg; i++) {
        r = SYS3(write, spec->cg_fds[i], "0", 1);
        SYS1(close, spec->cg_fds[i]);
        if (r < 0)
            fail(spec, RN_BOX_STAGE_CGROUP, -r);
    }
    /* No handlers, nothing blocked: as the namespace's init, every signal
     * sent from inside it is then dropped; only the parent's SIGKILL lands. */
    reset_signals();
    uint64_t empty = 0;
    SYS4(rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty));
    SYS1(umask, 022);

    /* The error and sync pipes first, then the stdio ends, go above 2 so
     * that none is overwritten by another's dup (the server may have closed
     * its own 0-2). */
    if (spec->err_fd < 3 && (r = SYS3(fcntl, spec->err_fd, F_DUPFD_CLOEXEC, 3)) >= 0)
        spec->err_fd = (int)r;
    if (spec->sync_fd < 3 && (r = SYS3(fcntl, spec->sync_fd, F_DUPFD_CLOEXEC, 3)) >= 0)
        spec->sync_fd = (int)r;
    long tmp[3];
    for (int i = 0; i < 3; i++) {
        tmp[i] = SYS3(fcntl, spec->stdio[i], F_DUPFD_CLOEXEC, 3);
        if (tmp[i] < 0)
            fail(spec, RN_BOX_STAGE_FDS, -tmp[i]);
    }
    for (int i = 0; i < 3; i++)
        if ((r = SYS3(dup3, tmp[i], i, 0)) < 0)
            fail(spec, RN_BOX_STAGE_FDS, -r);
    /* Of the caller's fds (every client socket and every other run's pipe
     * end, copied at clone) keep only ours: a copy held here would keep a
     * connection from closing or another run's stdin from its EOF for as
     * long as this sandbox waits for its run. */
    int keep[3] = {spec->err_fd, spec->sync_fd, spec->init_fd};
    close_others(keep, 3);
}

/* Open every host bind source (O_PATH) into srcfds; returns how many. */
RN_CHILD static int child_sources(const rn_child_spec *spec, int *srcfds)
{
    long r;
    /* Host sources are opened with the credentials we were cloned with:
     * after the uid change below, root-only directories on the way to them
     * could no longer be searched. An O_PATH fd only works for binds in the
     * mount namespace it was opened in, so the parent cannot do this. */
    int nsrc = 0;
    for (int p = 0; p < 2; p++) {
        const rn_plan *plan = spec->plans[p];
        for (size_t i = 0; plan && i < plan->n; i++) {
            const rn_op *op = &plan->ops[i];
            if (op->kind != RN_OP_BIND || !(op->flags & RN_OPF_HOST))
                continue;
            if (nsrc == RN_BOX_MAX_BINDS)
                fail(spec, RN_BOX_STAGE_MOUNT, E2BIG);
            r = SYS4(openat, AT_FDCWD, op->src, O_PATH | O_CLOEXEC, 0);
            if (r < 0 && !(r == -ENOENT && (op->flags & RN_OPF_OPTIONAL)))
                fail(spec, RN_BOX_STAGE_MOUNT, -r);
            srcfds[nsrc++] = (int)r;
        }
    }

    return nsrc;
}

/* Become 1000:1000 in the new namespaces, the hostname set. */
RN_CHILD static void child_creds(const rn_child_spec *spec)
{
    long r;
    /* Become 1000:1000 now, keeping the namespace's capabilities (the
     * transition is not from the namespace's root uid, so they survive), so
     * that everything created in the new tmpfs is owned by a mapped id. Our
     * memory is our own: the caller's stays dumpable. */
    if (spec->root && (r = SYS2(setgroups, 0, NULL)) < 0)
        fail(spec, RN_BOX_STAGE_CREDS, -r);
    if ((r = SYS3(setresgid, RN_BOX_INNER_ID, RN_BOX_INNER_ID, RN_BOX_INNER_ID)) < 0 ||
        (r = SYS3(setresuid, RN_BOX_INNER_ID, RN_BOX_INNER_ID, RN_BOX_INNER_ID)) < 0)
        fail(spec, RN_BOX_STAGE_CREDS, -r);
    /* Changing euid cleared the parent-death signal: set it again. Our copy
     * of the caller's memory must never be readable from the run, whatever
     * fs.suid_dumpable says. */
    SYS2(prctl, PR_SET_PDEATHSIG, SIGKILL);
    if (spec->init_fd >= 0) {
        /* The memory is the caller's: give it back its dumpable flag. Until
         * we exec runnel-init we keep our capabilities, which is what keeps
         * the program (none) out of this memory through /proc/1. */
        SYS5(prctl, PR_SET_DUMPABLE, spec->dumpable, 0, 0, 0);
    } else {
        SYS5(prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    if ((r = SYS2(sethostname, spec->hostname, strlen(spec->hostname))) < 0)
        fail(spec, RN_BOX_STAGE_NETWORK, -r);
}

/* Build the root from the plans, pivot into it, bring lo up if asked, drop
 * the terminal and the bounding set. */
RN_CHILD static void child_root(const rn_child_spec *spec, int *srcfds)
{
    long r;
    if ((r = SYS5(mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) < 0)
        fail(spec, RN_BOX_STAGE_MOUNT, -r);
    int nsrc = 0;
    for (int p = 0; p < 2; p++) {
        const rn_plan *plan = spec->plans[p];
        for (size_t i = 0; plan && i < plan->n; i++) {
            const rn_op *op = &plan->ops[i];
            int srcfd = -1;
            if (op->kind == RN_OP_BIND && (op->flags & RN_OPF_HOST))
                srcfd = srcfds[nsrc++];
            r = run_op(op, srcfd);
            if (r < 0)
                fail(spec, op->kind == RN_OP_WRITE ? RN_BOX_STAGE_FILES : RN_BOX_STAGE_MOUNT, -r);
        }
    }
    /* The host's directories: the program must never hold one, even for
     * the moment before its exec. */
    for (int i = 0; i < nsrc; i++)
        if (srcfds[i] >= 0)
            SYS1(close, srcfds[i]);

    /* pivot_root(".", ".") stacks the old root on top of the new one; the
     * detach then drops the host's whole tree from this namespace. */
    if ((r = SYS1(chdir, RN_BOX_STAGE)) < 0 || (r = SYS2(pivot_root, ".", ".")) < 0 ||
        (r = SYS2(umount2, ".", MNT_DETACH)) < 0 || (r = SYS1(chdir, "/")) < 0)
        fail(spec, RN_BOX_STAGE_PIVOT, -r);
    r = set_attr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
    if (r < 0)
        fail(spec, RN_BOX_STAGE_PIVOT, -r);

    if (spec->network && (r = loopback_up()) < 0)
        fail(spec, RN_BOX_STAGE_NETWORK, -r);

    /* No controlling terminal for the init either. */
    if ((r = SYS0(setsid)) < 0)
        fail(spec, RN_BOX_STAGE_CREDS, -r);
    /* The bounding set only limits what an exec could grant: empty it once
     * here, for us and the program (which inherits it), rather than in
     * each. The capabilities we hold stay until our own exec. */
    if ((r = drop_bounding(spec->last_cap)) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, -r);
}

/* Lock the init down and reap until the program ends (never returns). */
RN_CHILD static _Noreturn void child_init(rn_child_spec *spec, long program)
{
    long r;
    int err_fd = spec->err_fd;
    if (spec->init_fd >= 0)
        exec_init(spec, program); /* returns only if the exec failed */

    /* Lock the init down: nothing but the error pipe open, no capabilities,
     * the allow-list filter. A failure here is the run's: the program is
     * already running, and our exit ends it. */
    if (err_fd > 0)
        SYS3(close_range, 0, err_fd - 1, 0);
    SYS3(close_range, err_fd + 1, ~0U, 0);
    SYS2(prctl, PR_SET_NAME, "runnel-init");
    /* In the caller's memory (runnel-init could not be exec'd) the init
     * keeps its permitted capabilities: the kernel then refuses the
     * program, which has none, any ptrace-like access to it (/proc/1/mem),
     * whatever the memory's dumpable flag. Its filter leaves it nothing to
     * use them for. */
    if (spec->init_fd < 0 && (r = drop_caps()) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, -r);
    if (spec->init_fd >= 0) { /* permitted only: none effective or inheritable */
        struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct data[2];
        if ((r = SYS2(capget, &hdr, data)) < 0)
            fail(spec, RN_BOX_STAGE_CAPS, -r);
        data[0].effective = data[1].effective = data[0].inheritable = data[1].inheritable = 0;
        if ((r = SYS2(capset, &hdr, data)) < 0)
            fail(spec, RN_BOX_STAGE_CAPS, -r);
    }
    if ((r = SYS5(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
        fail(spec, RN_BOX_STAGE_CAPS, -r);
    /* The kernel writes to a registered rseq area (the caller thread's, in
     * its TLS) whenever we are rescheduled, and kills us if it is gone:
     * unregister it before shedding memory, or keep everything. */
    bool shed = true;
    if (spec->rseq_addr) {
        shed = false;
        for (int i = 0; i < 2 && !shed; i++) {
            uint32_t len = i ? 32 : spec->rseq_len;
            shed =
                SYS4(rseq, spec->rseq_addr, len, 1 /* RSEQ_FLAG_UNREGISTER */, spec->rseq_sig) == 0;
        }
    }
    if (spec->init_filter &&
        (r = SYS3(prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, spec->init_filter)) < 0)
        fail(spec, RN_BOX_STAGE_SECCOMP, -r);
    uintptr_t k[2][2] = {{spec->keep[0][0], spec->keep[0][1]},
                         {spec->keep[1][0], spec->keep[1][1]}};
    if (!shed)
        k[0][1] = k[0][0] = 0;
    if (k[0][0] > k[1][0]) {
        uintptr_t t0 = k[0][0], t1 = k[0][1];
        k[0][0] = k[1][0];
        k[0][1] = k[1][1];
        k[1][0] = t0;
        k[1][1] = t1;
    }
    init_loop(err_fd, program, k[0][0], k[0][1], k[1][0], k[1][1]);
}

RN_CHILD int rn_child_main(void *arg)
{
    rn_child_spec *spec = arg; /* our own copy-on-write image */
    long r;
    child_fds(spec);
    char go;
    if (SYS3(read, spec->sync_fd, &go, 1) != 1)
        die(127); /* the parent gave up on us; it reports why */

    if (spec->unshare_cgroup && (r = SYS1(unshare, CLONE_NEWCGROUP)) < 0)
        fail(spec, RN_BOX_STAGE_CGROUP, -r);

    int srcfds[RN_BOX_MAX_BINDS];
    child_sources(spec, srcfds);
    child_creds(spec);
    child_root(spec, srcfds);

    long program;
#if defined(__x86_64__) || defined(__aarch64__)
    /* The program runs on this stack until it has exec'd or died. Sharing
     * the caller's memory, it starts now and waits locked down for the
     * run while we become runnel-init (whose exec leaves this stack to
     * it); in a copy of our own, which we unmap once it runs, we wait for
     * its exec (CLONE_VFORK). */
    char stack[64 * 1024] __attribute__((aligned(16)));
    uint64_t ca[8] = {CLONE_VM | (spec->program_waits ? 0 : CLONE_VFORK),
                      0,
                      0,
                      0,
                      SIGCHLD,
                      (uint64_t)(uintptr_t)stack,
                      sizeof(stack),
                      0};
    program = rn_clone3(ca, sizeof(ca), program_main, spec);
#else
    program = SYS5(clone, SIGCHLD, 0, 0, 0, 0);
    if (program == 0)
        die(program_main(spec));
#endif
    if (program < 0)
        fail(spec, RN_BOX_STAGE_CLONE, -program);

    child_init(spec, program);
}

/* clone3 that runs fn(arg) on the new stack in the child. The C library has
 * no clone3 wrapper taking a function, and the child of a raw clone3 with a
 * new stack cannot return into C. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl rn_clone3\n"
        ".hidden rn_clone3\n"
        ".type rn_clone3,@function\n"
        "rn_clone3:\n"
        "    mov %rdx, %r9\n"
        "    mov %rcx, %r8\n"
        "    mov $435, %eax\n" /* SYS_clone3 */
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jnz 1f\n"
        "    xor %ebp, %ebp\n"
        "    mov %r8, %rdi\n"
        "    call *%r9\n"
        "    mov %eax, %edi\n"
        "    mov $231, %eax\n" /* SYS_exit_group */
        "    syscall\n"
        "    hlt\n"
        "1:  ret\n"
        ".size rn_clone3, .-rn_clone3\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl rn_clone3\n"
        ".hidden rn_clone3\n"
        ".type rn_clone3,%function\n"
        "rn_clone3:\n"
        "    mov x9, x2\n"
        "    mov x10, x3\n"
        "    mov x8, #435\n" /* SYS_clone3 */
        "    svc #0\n"
        "    cbnz x0, 1f\n"
        "    mov x0, x10\n"
        "    blr x9\n"
        "    mov x8, #94\n" /* SYS_exit_group */
        "    svc #0\n"
        "    brk #0\n"
        "1:  ret\n"
        ".size rn_clone3, .-rn_clone3\n");
#endif
