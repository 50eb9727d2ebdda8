/* The seccomp policy, built once per context with libseccomp and exported to
 * raw BPF so the child can load it with one prctl and no allocation. */
#include "box_internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The allow-list: what programs and language runtimes call (glibc, Go,
 * the JVM, .NET, node, GHC, BEAM, R, OCaml...), in the spirit of Docker's
 * and nsjail's default policies. Any other call fails with ENOSYS, so a
 * kernel's new system calls fail closed, the way a program already copes
 * with an older kernel. Calls with arguments to check (clone, unshare,
 * socket, ioctl, personality) are added with their conditions below, the
 * calls refused outright with EPERM are listed in `denied`. Names this
 * libseccomp or arch does not know are skipped. Left out on purpose (ENOSYS):
 * modify_ldt, the NUMA policy calls (mbind, set_mempolicy, migrate_pages,
 * move_pages, get_mempolicy), kcmp, pidfd_getfd, process_madvise, iopl,
 * ioperm, sethostname, setdomainname, _sysctl, sysfs, ustat, fanotify_mark,
 * and everything numbered after quotactl_fd (landlock, memfd_secret,
 * futex_waitv, cachestat, fchmodat2, statmount, listmount, mseal,
 * open_tree_attr, file_setattr...): glibc and the runtimes fall back where
 * one is optional. */
/* clang-format off */
static const char *const allowed[] = {
    /* files and directories */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range", "lseek", "dup",
    "dup2", "dup3", "fcntl", "flock", "fsync", "fdatasync", "syncfs", "sync", "sync_file_range",
    "truncate", "ftruncate", "fallocate", "fadvise64", "readahead", "sendfile", "copy_file_range",
    "splice", "tee", "vmsplice", "stat", "fstat", "lstat", "newfstatat", "statx", "statfs",
    "fstatfs", "access", "faccessat", "faccessat2", "getdents", "getdents64", "getcwd", "chdir",
    "fchdir", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
    "unlink", "unlinkat", "symlink", "symlinkat", "readlink", "readlinkat", "mknod", "mknodat",
    "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat", "umask", "utime",
    "utimes", "futimesat", "utimensat", "getxattr", "lgetxattr", "fgetxattr", "setxattr",
    "lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
    "lremovexattr", "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
    "inotify_rm_watch", "memfd_create",
    /* waiting for fds and events */
    "pipe", "pipe2", "select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd",
    "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime", "io_setup", "io_destroy",
    "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    /* memory */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2",
    "munlock", "mlockall", "munlockall", "remap_file_pages", "pkey_mprotect", "pkey_alloc",
    "pkey_free", "membarrier",
    /* processes, threads and signals */
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill", "tkill",
    "tgkill", "pidfd_open", "pidfd_send_signal", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigsuspend",
    "sigaltstack", "pause", "restart_syscall", "futex", "set_robust_list", "get_robust_list",
    "set_tid_address", "rseq", "arch_prctl", "set_thread_area", "get_thread_area", "prctl",
    "seccomp", "capget", "capset", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp",
    "getsid", "setsid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
    "setfsgid", "setgroups", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times",
    "getpriority", "setpriority", "ioprio_get", "ioprio_set", "sched_yield", "sched_getaffinity",
    "sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
    "sched_setscheduler", "sched_getattr", "sched_setattr", "sched_get_priority_max",
    "sched_get_priority_min", "sched_rr_get_interval", "getcpu",
    /* time */
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "adjtimex", "alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
    "timer_getoverrun", "timer_delete",
    /* the machine, as the run's namespaces show it */
    "uname", "sysinfo", "getrandom",
    /* sockets (socket itself by family, below) */
    "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown", "getsockname",
    "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "sendmmsg", "recvmmsg",
    /* System V and POSIX IPC, in the run's own IPC namespace */
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
    "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
};
/* clang-format on */

/* Denied outright with EPERM. Names this libseccomp or arch does not know are
 * skipped. */
static const char *const denied[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "stime",
    "vhangup",
    "lookup_dcookie",
    "uselib",
    "syslog",
    "fanotify_init",
    "nfsservctl",
};

/* Namespace flags: clone() must not create any (its low byte is the exit
 * signal, so CLONE_NEWTIME is only checked for unshare). */
static const uint64_t ns_flags[] = {
    CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static int deny_bits(scmp_filter_ctx ctx, int nr, unsigned arg, bool with_time)
{
    for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
        if (ns_flags[i] == CLONE_NEWTIME && !with_time)
            continue;
        struct scmp_arg_cmp cmp = {arg, SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]};
        int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, &cmp);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The calls with arguments to check that libseccomp can express: clone and
 * unshare without namespace flags, sockets of three families. */
static int add_arg_rules(scmp_filter_ctx ctx)
{
    uint64_t clone_ns = 0, unshare_ns = 0;
    for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
        unshare_ns |= ns_flags[i];
        if (ns_flags[i] != CLONE_NEWTIME)
            clone_ns |= ns_flags[i];
    }
    /* clone3 passes its flags in memory, which BPF cannot read: it is left
     * to the default, ENOSYS, which makes glibc and every runtime we know
     * fall back to clone, whose flags are checked here. */
    struct scmp_arg_cmp no_ns = {0, SCMP_CMP_MASKED_EQ, clone_ns, 0};
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &no_ns);
    if (r == 0)
        r = deny_bits(ctx, SCMP_SYS(clone), 0, false);
    no_ns.datum_a = unshare_ns;
    if (r == 0)
        r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unshare), 1, &no_ns);
    if (r == 0)
        r = deny_bits(ctx, SCMP_SYS(unshare), 0, true);
    if (r < 0)
        return r;

    /* Only AF_UNIX, AF_INET and AF_INET6 (1, 2, 10), compared on all 64
     * bits: a family with any high bit set is refused, though the kernel
     * would read only the low half. The rest get EAFNOSUPPORT: below
     * AF_INET6 one rule each (libseccomp cannot AND two comparisons of one
     * argument), everything above it in one. */
    _Static_assert(AF_UNIX == 1 && AF_INET == 2 && AF_INET6 == 10, "address families");
    for (unsigned fam = 0; fam <= AF_INET6; fam++) {
        bool ok = fam == AF_UNIX || fam == AF_INET || fam == AF_INET6;
        struct scmp_arg_cmp eq = {0, SCMP_CMP_EQ, fam, 0};
        r = seccomp_rule_add_array(ctx, ok ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT),
                                   SCMP_SYS(socket), 1, &eq);
        if (r < 0)
            return r;
    }
    struct scmp_arg_cmp above = {0, SCMP_CMP_GT, AF_INET6, 0};
    r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, &above);
    if (r < 0)
        return r;

    /* ioctl and personality are decided by prefix(). */
    return 0;
}

/* Add each known name of list with action. */
static int add_names(scmp_filter_ctx ctx, const char *const *list, size_t n, uint32_t action)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(list[i]);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue;
        int r = seccomp_rule_add(ctx, action, nr, 0);
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_rules(scmp_filter_ctx ctx)
{
    int r = add_names(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]), SCMP_ACT_ALLOW);
    if (r == 0)
        r = add_names(ctx, denied, sizeof(denied) / sizeof(denied[0]), SCMP_ACT_ERRNO(EPERM));
    if (r == 0)
        r = add_arg_rules(ctx);
    return r;
}

/* The low and high halves of a 64-bit argument in seccomp_data. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(n) (offsetof(struct seccomp_data, args[n]))
#define ARG_HI(n) (offsetof(struct seccomp_data, args[n]) + 4)
#else
#define ARG_LO(n) (offsetof(struct seccomp_data, args[n]) + 4)
#define ARG_HI(n) (offsetof(struct seccomp_data, args[n]))
#endif

/* Two checks libseccomp cannot express, as hand-written instructions in
 * front of its program (native arch only, whose SCMP_ARCH_* value is its
 * AUDIT_ARCH_*; any other call falls through to libseccomp's program):
 * - personality: the query (0xffffffff, compared on the low half the kernel
 *   reads) and PER_LINUX (0, on all 64 bits) are allowed, any other value is
 *   refused with EPERM;
 * - ioctl: TIOCSTI and TIOCLINUX are refused with EPERM, every other request
 *   is allowed. The kernel compares ioctl numbers as unsigned int, so a
 *   number with the high 32 bits set still means TIOCSTI: only the low half
 *   is compared. (libseccomp would let an unconditional allow of ioctl
 *   override its conditional refusals.) */
static size_t prefix(struct sock_filter *out)
{
    enum { P_ALLOW = 13, P_EPERM = 14, P_END = 15 };
    const struct sock_filter pre[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 0, P_END - 2),
        /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 9 - 4),
        /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, P_ALLOW - 6, 0),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, P_EPERM - 7),
        /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(0)),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, P_ALLOW - 9, P_EPERM - 9),
        /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, P_END - 10),
        /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, P_EPERM - 12, 0),
        /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, P_EPERM - 13, P_ALLOW - 13),
        /* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 14 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    _Static_assert(sizeof(pre) / sizeof(pre[0]) == P_END, "jump targets");
    if (out)
        memcpy(out, pre, sizeof(pre));
    return sizeof(pre) / sizeof(pre[0]);
}

/* Export ctx as raw BPF into a malloc'd program, behind prefix() when
 * with_prefix. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog, bool with_prefix)
{
    int ret, fd = -1;
    struct sock_filter *buf = NULL;
    /* Never exec'd: sealed non-executable, as vm.memfd_noexec=2 demands. */
    fd = memfd_create("runnel-seccomp", MFD_CLOEXEC | 0x0008U /* MFD_NOEXEC_SEAL */);
    if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
        fd = memfd_create("runnel-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    ret = seccomp_export_bpf(ctx, fd);
    if (ret < 0)
        goto out;
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % sizeof(struct sock_filter)) {
        ret = -EINVAL;
        goto out;
    }
    size_t n = (size_t)size / sizeof(struct sock_filter);
    size_t npre = with_prefix ? prefix(NULL) : 0;
    if (n + npre > BPF_MAXINSNS) {
        ret = -E2BIG;
        goto out;
    }
    buf = calloc(n + npre, sizeof(*buf));
    if (!buf) {
        ret = -ENOMEM;
        goto out;
    }
    if (with_prefix)
        prefix(buf);
    if (pread(fd, buf + npre, (size_t)size, 0) != size) {
        ret = -EIO;
        goto out;
    }
    prog->len = (unsigned short)(n + npre);
    prog->filter = buf;
    buf = NULL;
    ret = 0;
out:
    free(buf);
    close(fd);
    return ret;
}

int rn_filter_build(struct sock_fprog *prog)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    if (!ctx)
        return -ENOMEM;
    /* Only the native arch is added: i386 (int 0x80) and x32 (nr with bit 30
     * set) calls hit the bad-arch action and kill the whole process. */
    int ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* A binary tree over syscall numbers (libseccomp >= 2.5): a program's
     * every call walks a few levels, not the whole list. */
    if (ret == 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
        ret = 0;
    if (ret == 0)
        ret = add_rules(ctx);
    if (ret == 0)
        ret = export_bpf(ctx, prog, true);
    seccomp_release(ctx);
    return ret;
}

/* What the init's loop calls once it is locked down. */
static const char *const init_allowed[] = {
    "wait4", "waitid",     "getrusage",       "write",        "munmap",
    "exit",  "exit_group", "restart_syscall", "rt_sigreturn",
};

int rn_filter_build_init(struct sock_fprog *prog)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    int ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    for (size_t i = 0; ret == 0 && i < sizeof(init_allowed) / sizeof(init_allowed[0]); i++) {
        int nr = seccomp_syscall_resolve_name(init_allowed[i]);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue;
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    if (ret == 0)
        ret = export_bpf(ctx, prog, false);
    seccomp_release(ctx);
    return ret;
}
