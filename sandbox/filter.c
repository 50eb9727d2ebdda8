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

static int add_rules(scmp_filter_ctx ctx)
{
    int r;
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (r < 0)
            return r;
    }

    /* clone3 passes its flags in memory, which BPF cannot read: ENOSYS makes
     * glibc and every runtime we know fall back to clone, whose flags we can
     * check. */
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (r < 0)
        return r;
    r = deny_bits(ctx, SCMP_SYS(clone), 0, false);
    if (r < 0)
        return r;
    r = deny_bits(ctx, SCMP_SYS(unshare), 0, true);
    if (r < 0)
        return r;

    /* The kernel compares ioctl numbers as unsigned int, so a number with the
     * high 32 bits set still means TIOCSTI: match on the low half only. */
    const unsigned long ioctls[] = {TIOCSTI, TIOCLINUX};
    for (size_t i = 0; i < 2; i++) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]));
        if (r < 0)
            return r;
    }

    /* Only AF_UNIX, AF_INET and AF_INET6 (1, 2, 10): the families below
     * AF_INET6 one rule each (libseccomp cannot AND two comparisons of one
     * argument), everything above it in one, on all 64 bits: a family with
     * any high bit set is refused too, though the kernel would read only
     * the low half. */
    _Static_assert(AF_UNIX == 1 && AF_INET == 2 && AF_INET6 == 10, "address families");
    for (unsigned fam = 0; fam < AF_INET6; fam++) {
        if (fam == AF_UNIX || fam == AF_INET)
            continue;
        struct scmp_arg_cmp eq = {0, SCMP_CMP_EQ, fam, 0};
        r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, &eq);
        if (r < 0)
            return r;
    }
    struct scmp_arg_cmp above = {0, SCMP_CMP_GT, AF_INET6, 0};
    r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, &above);
    if (r < 0)
        return r;

    /* personality: anything but PER_LINUX is refused here; the 0xffffffff
     * query is let through by the prefix added in rn_filter_build. */
    struct scmp_arg_cmp not_linux = {0, SCMP_CMP_NE, 0, 0};
    return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1, &not_linux);
}

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* libseccomp cannot express "allow personality(0xffffffff)" under a default
 * of allow, so a few hand-written instructions in front of its program return
 * ALLOW for exactly that call on the native arch and fall through otherwise. */
static size_t prefix(struct sock_filter *out)
{
#if defined(NATIVE_AUDIT_ARCH) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const struct sock_filter pre[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    if (out)
        memcpy(out, pre, sizeof(pre));
    return sizeof(pre) / sizeof(pre[0]);
#else
    (void)out;
    return 0;
#endif
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
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
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
