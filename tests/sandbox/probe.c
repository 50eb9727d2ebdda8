/* probe: runs inside the sandbox and tries one forbidden thing.
 *
 * `probe CASE [ARG]` exits 0 when the sandbox stopped the attempt exactly as
 * expected (the errno is checked, not just "it failed"), and 1 with a line on
 * stderr otherwise. Cases that must end the run (limits, bad-arch syscalls)
 * are judged by the driver from runnel-box's exit status instead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static int failures;

#define EXPECT_ERR(call, want)                                                                     \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long rv_ = (long)(call);                                                                   \
        int e_ = errno;                                                                            \
        if (rv_ != -1 || e_ != (want)) {                                                           \
            fprintf(stderr, "FAIL %s: got %ld errno %d (%s), want errno %d (%s)\n", #call, rv_,    \
                    e_, strerror(e_), (want), strerror(want));                                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL " __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static pid_t sleeper(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    return pid;
}

static int case_ptrace(void)
{
    pid_t sib = sleeper();
    EXPECT_ERR(ptrace(PTRACE_ATTACH, sib, NULL, NULL), EPERM);
    EXPECT_ERR(ptrace(PTRACE_SEIZE, sib, NULL, NULL), EPERM);
    EXPECT_ERR(syscall(SYS_process_vm_readv, sib, NULL, 0, NULL, 0, 0), EPERM);
    kill(sib, SIGKILL);
    return 0;
}

static int case_mount(void)
{
    EXPECT_ERR(mount("none", "/tmp", "tmpfs", 0, NULL), EPERM);
    EXPECT_ERR(mount("/usr", "/tmp", NULL, MS_BIND, NULL), EPERM);
    EXPECT_ERR(mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL), EPERM);
    EXPECT_ERR(umount2("/proc", MNT_DETACH), EPERM);
    EXPECT_ERR(chroot("/tmp"), EPERM);
    EXPECT_ERR(syscall(SYS_pivot_root, "/tmp", "/tmp"), EPERM);
    EXPECT_ERR(syscall(SYS_open_tree, AT_FDCWD, "/usr", 1), EPERM);
    EXPECT_ERR(syscall(SYS_fsopen, "tmpfs", 0), EPERM);
    return 0;
}

static int case_unshare(void)
{
    EXPECT_ERR(unshare(CLONE_NEWUSER), EPERM);
    EXPECT_ERR(unshare(CLONE_NEWNS), EPERM);
    EXPECT_ERR(unshare(CLONE_NEWNET), EPERM);
    EXPECT_ERR(unshare(CLONE_NEWPID), EPERM);
    EXPECT_ERR(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0), EPERM);
    EXPECT_ERR(syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0),
               EPERM);
    /* clone3 cannot be argument-filtered: it is refused outright, with the
     * errno that makes libcs fall back to clone. */
    uint64_t args[11] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD};
    EXPECT_ERR(syscall(SYS_clone3, args, 88), ENOSYS);
    EXPECT_ERR(syscall(SYS_setns, 0, 0), EPERM);
    /* The harmless forms still work. */
    EXPECT(unshare(CLONE_FILES) == 0, "unshare(CLONE_FILES): %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int st;
    EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 7, "plain fork");
    return 0;
}

static int case_creds(void)
{
    EXPECT(getuid() == 1000 && geteuid() == 1000 && getgid() == 1000, "uid %d euid %d gid %d",
           (int)getuid(), (int)geteuid(), (int)getgid());
    /* uid 0 does not exist in the namespace at all. */
    EXPECT_ERR(setuid(0), EINVAL);
    EXPECT_ERR(setgid(0), EINVAL);
    EXPECT_ERR(setuid(1001), EINVAL);
    gid_t g = 0;
    EXPECT_ERR(setgroups(1, &g), EPERM);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int zero = 0, nnp = 0, seccomp = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "Cap", 3) && strstr(line, "\t0000000000000000"))
            zero++;
        if (!strcmp(line, "NoNewPrivs:\t1\n"))
            nnp = 1;
        if (!strcmp(line, "Seccomp:\t2\n"))
            seccomp = 1;
    }
    if (f)
        fclose(f);
    EXPECT(zero == 5, "%d of 5 capability sets are empty", zero);
    EXPECT(nnp, "no_new_privs not set");
    EXPECT(seccomp, "seccomp filter mode not set");
    EXPECT(getsid(0) == getpid(), "not a session leader");
    /* Nothing of the server leaks in: only stdin, stdout and stderr. */
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
            continue;
        char target[256] = "", path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "FAIL fd %d is open: %s\n", fd, target);
        failures++;
    }
    if (d)
        closedir(d);
    EXPECT_ERR(open("/dev/tty", O_RDWR), ENOENT);
    return 0;
}

/* Exec a setuid-root copy of ourselves: it must still run as 1000. */
static int case_setuid(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, path, "euid", (char *)NULL);
        _exit(99);
    }
    int st;
    waitpid(pid, &st, 0);
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setuid copy: status %d", st);
    /* The system's own setuid binaries are just as powerless. */
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl("/usr/bin/mount", "mount", "-t", "tmpfs", "none", "/tmp", (char *)NULL);
        _exit(99);
    }
    waitpid(pid, &st, 0);
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 99,
           "setuid mount: status %d", st);
    struct stat sb;
    EXPECT(stat("/tmp", &sb) == 0, "stat /tmp");
    return 0;
}

static int case_euid(void)
{
    EXPECT(geteuid() == 1000 && getuid() == 1000, "euid %d", (int)geteuid());
    return 0;
}

static int case_hostfiles(const char *hostpid, const char *token)
{
    const char *gone[] = {"/etc/shadow", "/etc/gshadow", "/root",    "/home",    "/sys",
                          "/var",        "/run",         "/boot",    "/mnt",     "/opt",
                          "/srv",        "/dev/pts",     "/dev/tty", "/dev/mem", "/dev/kmsg",
                          "/dev/sda",    "/dev/vda"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        struct stat st;
        errno = 0;
        if (lstat(gone[i], &st) == 0 || errno != ENOENT) {
            fprintf(stderr, "FAIL %s is visible (errno %d)\n", gone[i], errno);
            failures++;
        }
    }
    char path[128];
    snprintf(path, sizeof(path), "/proc/%s/status", hostpid);
    EXPECT_ERR(open(path, O_RDONLY), ENOENT);
    snprintf(path, sizeof(path), "/tmp/runnel-marker-%s", token);
    EXPECT_ERR(open(path, O_RDONLY), ENOENT);
    snprintf(path, sizeof(path), "/dev/shm/runnel-marker-%s", token);
    EXPECT_ERR(open(path, O_RDONLY), ENOENT);
    /* pid 1 here is the run's init and we are its child: the host's init is
     * out of sight. */
    char exe[256] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    EXPECT(getpid() == 2 && getppid() == 1 && strstr(exe, "probe"), "pid %d ppid %d, exe %s",
           (int)getpid(), (int)getppid(), exe);
    /* /proc/self/root is our own root, not the host's; the init's is not
     * even ours to look at. */
    EXPECT_ERR(open("/proc/self/root/etc/shadow", O_RDONLY), ENOENT);
    EXPECT_ERR(open("/proc/1/root/etc/shadow", O_RDONLY), EACCES);
    return 0;
}

/* The run's init (pid 1) is out of reach: signals from here are dropped, it
 * cannot be traced, and /proc shows nothing of the memory it was cloned
 * with. */
static bool init_alive_and_running(void)
{
    FILE *f = fopen("/proc/1/stat", "r");
    char state = '?';
    if (f) {
        EXPECT(fscanf(f, "%*d (%*[^)]) %c", &state) == 1, "parse /proc/1/stat");
        fclose(f);
    }
    return state == 'S' || state == 'R';
}

static int case_init(void)
{
    EXPECT(getppid() == 1, "parent is %d, not the init", (int)getppid());
    const int sigs[] = {SIGKILL, SIGTERM, SIGSTOP, SIGINT, SIGHUP, SIGSEGV, SIGUSR1};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        EXPECT(kill(1, sigs[i]) == 0, "kill(1, %d): %s", sigs[i], strerror(errno));
        usleep(20000);
        EXPECT(init_alive_and_running(), "the init did not shrug off signal %d", sigs[i]);
    }
    signal(SIGTERM, SIG_IGN);
    kill(-1, SIGKILL); /* everyone but us and the init */
    usleep(20000);
    EXPECT(init_alive_and_running(), "the init died of kill(-1, SIGKILL)");
    EXPECT_ERR(ptrace(PTRACE_ATTACH, 1, NULL, NULL), EPERM);
    EXPECT_ERR(ptrace(PTRACE_SEIZE, 1, NULL, NULL), EPERM);
    EXPECT_ERR(open("/proc/1/mem", O_RDONLY), EACCES);
    EXPECT_ERR(open("/proc/1/environ", O_RDONLY), EACCES);
    EXPECT_ERR(open("/proc/1/maps", O_RDONLY), EACCES);
    char buf[256];
    EXPECT_ERR(readlink("/proc/1/exe", buf, sizeof(buf)), EACCES);
    /* Its command line is runnel-init's (or nothing, when it shed the
     * caller's memory itself), never the server's. */
    int fd = open("/proc/1/cmdline", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
    size_t text = 0;
    for (ssize_t i = 0; i < n; i++)
        text += buf[i] != 0;
    EXPECT(n >= 0 && (text == 0 || !strcmp(buf, "runnel-init")), "/proc/1/cmdline is %s", buf);
    if (fd >= 0)
        close(fd);
    FILE *f = fopen("/proc/1/status", "r");
    char line[256];
    int zero = 0, nnp = 0, seccomp = 0;
    long rss = -1;
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "Cap", 3) && strstr(line, "\t0000000000000000"))
            zero++;
        nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
        seccomp |= !strcmp(line, "Seccomp:\t2\n");
        if (!strncmp(line, "VmRSS:", 6))
            rss = atol(line + 6);
    }
    if (f)
        fclose(f);
    EXPECT(zero == 5, "%d of the init's 5 capability sets are empty", zero);
    EXPECT(nnp && seccomp, "the init lacks no_new_privs or seccomp");
    EXPECT(rss >= 0 && rss < 1024, "the init keeps %ld kB resident", rss);
    return 0;
}

/* Orphans that end are reaped by the init: no zombie is left behind. */
static int case_zombies(void)
{
    for (int i = 0; i < 8; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (fork() == 0)
                _exit(0); /* the grandchild: reparented to the init */
            usleep(10000);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    int zombies = 0;
    for (int tries = 0; tries < 100; tries++) {
        usleep(10000);
        zombies = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            int pid = atoi(e->d_name);
            if (pid <= 0)
                continue;
            char path[64], state = '?';
            snprintf(path, sizeof(path), "/proc/%d/stat", pid);
            FILE *f = fopen(path, "r");
            if (f && fscanf(f, "%*d (%*[^)]) %c", &state) == 1 && state == 'Z')
                zombies++;
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
        if (!zombies)
            break;
    }
    EXPECT(zombies == 0, "%d zombies left", zombies);
    return 0;
}

/* With --pids N the program may have N processes, itself included. */
static int case_pids(const char *arg)
{
    int want = atoi(arg), n = 1;
    pid_t kids[1024];
    while (n < 1024) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) {
            EXPECT(errno == EAGAIN, "fork: %s", strerror(errno));
            break;
        }
        kids[n++ - 1] = pid;
    }
    EXPECT(n == want, "%d processes, want %d", n, want);
    for (int i = 0; i < n - 1; i++)
        kill(kids[i], SIGKILL);
    return 0;
}

/* ro is a world-writable host directory with a world-writable file f,
 * bound read-only: only the mount can refuse the writes. */
static int case_readonly(const char *ro)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/f", ro);
    EXPECT_ERR(open(path, O_WRONLY), EROFS);
    EXPECT_ERR(truncate(path, 0), EROFS);
    EXPECT_ERR(unlink(path), EROFS);
    EXPECT_ERR(chmod(path, 0600), EROFS);
    snprintf(path, sizeof(path), "%s/new", ro);
    EXPECT_ERR(open(path, O_WRONLY | O_CREAT, 0644), EROFS);
    EXPECT_ERR(mkdir(path, 0755), EROFS);
    EXPECT_ERR(open("/usr/bin/runnel-x", O_WRONLY | O_CREAT, 0644), EROFS);
    EXPECT_ERR(open("/etc/passwd", O_WRONLY), EROFS);
    EXPECT_ERR(mkdir("/newdir", 0755), EROFS);
    EXPECT_ERR(symlink("/tmp", "/newlink"), EROFS);
    struct statvfs sv;
    EXPECT(statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/proc/sys is writable");
    EXPECT(statvfs("/usr", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID),
           "/usr is not ro,nosuid");
    EXPECT(statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/ is writable");
    EXPECT_ERR(open("/dev/newnode", O_WRONLY | O_CREAT, 0644), EROFS);
    EXPECT_ERR(mknod("/tmp/null2", S_IFCHR | 0666, makedev(1, 3)), EPERM);
    /* Writable places are writable. */
    int fd = open("/tmp/ok", O_WRONLY | O_CREAT, 0644);
    EXPECT(fd >= 0, "/tmp not writable: %s", strerror(errno));
    close(fd);
    fd = open("/work/ok", O_WRONLY | O_CREAT, 0644);
    EXPECT(fd >= 0, "/work not writable: %s", strerror(errno));
    close(fd);
    fd = open("/dev/null", O_WRONLY);
    EXPECT(fd >= 0 && write(fd, "x", 1) == 1, "/dev/null not writable");
    close(fd);
    return 0;
}

static int case_tiocsti(void)
{
    char c = 'x';
    int fds[] = {0, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        EXPECT_ERR(ioctl(fds[i], TIOCSTI, &c), EPERM);
        EXPECT_ERR(syscall(SYS_ioctl, fds[i], (1UL << 32) | TIOCSTI, &c), EPERM);
        EXPECT_ERR(syscall(SYS_ioctl, fds[i], 0xffffffff00000000UL | TIOCSTI, &c), EPERM);
        EXPECT_ERR(syscall(SYS_ioctl, fds[i], (1UL << 32) | TIOCLINUX, &c), EPERM);
        EXPECT_ERR(ioctl(fds[i], TIOCLINUX, &c), EPERM);
    }
    return 0;
}

static int case_sockets(void)
{
    EXPECT_ERR(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_NETLINK, SOCK_RAW, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_NETLINK, SOCK_DGRAM, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_BLUETOOTH, SOCK_RAW, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_KEY, SOCK_RAW, 2), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_ALG, SOCK_SEQPACKET, 0), EAFNOSUPPORT);
    EXPECT_ERR(syscall(SYS_socket, (1UL << 32) | AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT);
    /* Below AF_INET6 one by one, and a high bit on an allowed family. */
    EXPECT_ERR(socket(AF_AX25, SOCK_SEQPACKET, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_X25, SOCK_SEQPACKET, 0), EAFNOSUPPORT);
    EXPECT_ERR(syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_DGRAM, 0), EAFNOSUPPORT);
    /* No capability for raw IP even in our own network namespace. */
    EXPECT_ERR(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT(fd >= 0, "AF_INET refused: %s", strerror(errno));
    close(fd);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT(fd >= 0, "AF_UNIX refused: %s", strerror(errno));
    close(fd);
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    EXPECT(fd >= 0, "AF_INET6 refused: %s", strerror(errno));
    close(fd);
    return 0;
}

static int case_syscalls(void)
{
    EXPECT_ERR(syscall(SYS_io_uring_setup, 1, NULL), EPERM);
    EXPECT_ERR(syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0), EPERM);
    EXPECT_ERR(syscall(SYS_bpf, BPF_PROG_LOAD, NULL, 0), EPERM);
    EXPECT_ERR(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM);
    EXPECT_ERR(syscall(SYS_add_key, "user", "k", "v", 1, KEY_SPEC_SESSION_KEYRING), EPERM);
    EXPECT_ERR(syscall(SYS_request_key, "user", "k", NULL, 0), EPERM);
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof(pe));
    pe.size = sizeof(pe);
    pe.type = PERF_TYPE_SOFTWARE;
    pe.config = PERF_COUNT_SW_CPU_CLOCK;
    EXPECT_ERR(syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0), EPERM);
    EXPECT_ERR(syscall(SYS_userfaultfd, 0), EPERM);
    EXPECT_ERR(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0), EPERM);
    EXPECT_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0), EPERM);
    EXPECT_ERR(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
    EXPECT_ERR(syscall(SYS_init_module, NULL, 0, ""), EPERM);
    EXPECT_ERR(syscall(SYS_finit_module, 0, "", 0), EPERM);
    EXPECT_ERR(syscall(SYS_delete_module, "x", 0), EPERM);
    EXPECT_ERR(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
    EXPECT_ERR(syscall(SYS_swapon, "/tmp/x", 0), EPERM);
    EXPECT_ERR(syscall(SYS_acct, NULL), EPERM);
    EXPECT_ERR(syscall(SYS_quotactl, 0, NULL, 0, NULL), EPERM);
    struct timespec ts = {0, 0};
    EXPECT_ERR(clock_settime(CLOCK_REALTIME, &ts), EPERM);
    EXPECT_ERR(syscall(SYS_settimeofday, NULL, NULL), EPERM);
    EXPECT_ERR(personality(ADDR_NO_RANDOMIZE), EPERM);
    EXPECT_ERR(personality(PER_LINUX32), EPERM);
    EXPECT_ERR(syscall(SYS_personality, 0x100000000UL | ADDR_NO_RANDOMIZE), EPERM);
    /* The query and PER_LINUX are fine. */
    EXPECT(personality(0xffffffff) == PER_LINUX, "personality query");
    EXPECT(personality(PER_LINUX) == PER_LINUX, "personality(PER_LINUX)");
    return 0;
}

/* The policy is an allow-list: a call it does not know, a number past the
 * table and every call newer than it fail with ENOSYS (the dangerous old
 * ones left out: ENOSYS, or EPERM where they are refused by name). */
static int case_allowlist(void)
{
    EXPECT_ERR(syscall(1000), ENOSYS);
    EXPECT_ERR(syscall(4095), ENOSYS);
    /* 444 landlock_create_ruleset ... 462 mseal, 467 open_tree_attr, 469
     * file_setattr: the same numbers on every arch. */
    for (long nr = 444; nr <= 470; nr++) {
        errno = 0;
        long rv = syscall(nr, 0, 0, 0, 0, 0, 0);
        EXPECT(rv == -1 && errno == ENOSYS, "syscall %ld: got %ld errno %d (%s), want ENOSYS", nr,
               rv, errno, strerror(errno));
    }
#if defined(__x86_64__)
    EXPECT_ERR(syscall(154 /* modify_ldt */, 0, NULL, 0), ENOSYS);
    EXPECT_ERR(syscall(237 /* mbind */, NULL, 0, 0, NULL, 0, 0), ENOSYS);
    EXPECT_ERR(syscall(238 /* set_mempolicy */, 0, NULL, 0), ENOSYS);
    EXPECT_ERR(syscall(256 /* migrate_pages */, 0, 0, NULL, NULL), ENOSYS);
    EXPECT_ERR(syscall(279 /* move_pages */, 0, 0, NULL, NULL, NULL, 0), ENOSYS);
    EXPECT_ERR(syscall(312 /* kcmp */, getpid(), getpid(), 0, 0, 0), ENOSYS);
    EXPECT_ERR(syscall(438 /* pidfd_getfd */, 0, 0, 0), ENOSYS);
    EXPECT_ERR(syscall(172 /* iopl */, 3), ENOSYS);
    EXPECT_ERR(syscall(173 /* ioperm */, 0, 1, 1), ENOSYS);
#endif
    EXPECT_ERR(syscall(447 /* memfd_secret */, 0), ENOSYS);
    EXPECT_ERR(syscall(457 /* statmount */, NULL, NULL, 0, 0), ENOSYS);
    EXPECT_ERR(syscall(458 /* listmount */, NULL, NULL, 0, 0), ENOSYS);
    EXPECT_ERR(syscall(462 /* mseal */, 0, 0, 0), ENOSYS);
    EXPECT_ERR(syscall(467 /* open_tree_attr */, AT_FDCWD, "/", 0, NULL, 0), ENOSYS);
    EXPECT_ERR(syscall(469 /* file_setattr */, AT_FDCWD, "/", NULL, 0, 0), ENOSYS);
    /* clone3's flags are out of BPF's reach: ENOSYS, and glibc falls back. */
    EXPECT_ERR(syscall(435 /* clone3 */, NULL, 0), ENOSYS);
    /* What is on the list still works, arguments checked where they are. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int status = 0;
    EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == 7,
           "fork/waitpid");
    int fds[2];
    EXPECT(pipe2(fds, O_CLOEXEC) == 0 && write(fds[1], "x", 1) == 1, "pipe2/write");
    int n = 0;
    EXPECT(ioctl(fds[0], FIONREAD, &n) == 0 && n == 1, "ioctl FIONREAD: %d", n);
    close(fds[0]);
    close(fds[1]);
    EXPECT(syscall(SYS_getpid) == getpid(), "getpid");
    return 0;
}

/* The host-identifying /proc files read empty (or cannot be opened), and
 * cannot be written; the run's own /proc still works. */
static int case_procmask(void)
{
    static const char *const masked[] = {
        "/proc/cmdline",    "/proc/sys/kernel/random/boot_id",
        "/proc/interrupts", "/proc/sched_debug",
        "/proc/timer_list",
    };
    for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
        int fd = open(masked[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            EXPECT(errno == ENOENT || errno == EACCES, "%s: open: %s", masked[i], strerror(errno));
            continue;
        }
        char buf[256];
        ssize_t n = read(fd, buf, sizeof(buf));
        EXPECT(n <= 0, "%s is readable: %zd bytes", masked[i], n);
        close(fd);
        /* What is written (to /dev/null, where it may be opened at all)
         * does not come back. */
        fd = open(masked[i], O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            EXPECT(write(fd, "x", 1) == 1, "%s: write: %s", masked[i], strerror(errno));
            close(fd);
        }
        fd = open(masked[i], O_RDONLY | O_CLOEXEC);
        EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) == 0, "%s is not empty after a write",
               masked[i]);
        if (fd >= 0)
            close(fd);
    }
    char buf[64];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) > 0, "/proc/self/stat unreadable");
    if (fd >= 0)
        close(fd);
    fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
    EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) == 37, "/proc/sys/kernel/random/uuid unreadable");
    if (fd >= 0)
        close(fd);
    return 0;
}

/* Both must kill the process with SIGSYS before returning. */
static int case_x32(void)
{
#if defined(__x86_64__)
    syscall(0x40000000 | SYS_getpid);
#endif
    return 0;
}

static int case_i386(void)
{
#if defined(__x86_64__)
    long ret;
    /* i386 getpid (20) through the 32-bit entry. */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    (void)ret;
#endif
    return 0;
}

static int case_connect(const char *port_s, int want)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port_s))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_ERR(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), want);
    close(fd);
    return 0;
}

static int case_abstract(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(sa.sun_path + 1, name, n);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR(connect(fd, (struct sockaddr *)&sa, (socklen_t)(sizeof(sa.sun_family) + 1 + n)),
               ECONNREFUSED);
    close(fd);
    return 0;
}

static int case_kill(const char *hostpid)
{
    pid_t pid = (pid_t)atoi(hostpid);
    EXPECT_ERR(kill(pid, SIGKILL), ESRCH);
    /* -1 reaches only this namespace: the driver checks its process lives. */
    signal(SIGTERM, SIG_IGN);
    kill(-1, SIGKILL);
    return 0;
}

static void fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "FAIL open %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    static char buf[1 << 16];
    memset(buf, 'x', sizeof(buf));
    long long total = 0;
    for (;;) {
        ssize_t n = write(fd, buf, sizeof(buf));
        if (n < 0) {
            EXPECT(errno == ENOSPC, "filling %s: errno %d (%s), want ENOSPC", path, errno,
                   strerror(errno));
            break;
        }
        total += n;
        if (total > (1LL << 31)) {
            fprintf(stderr, "FAIL %s: 2 GiB written without ENOSPC\n", path);
            failures++;
            break;
        }
    }
    close(fd);
    /* The driver sets an 8 MiB tmpfs: it must not have held much more. */
    EXPECT(total <= 8LL << 20, "%s held %lld bytes", path, total);
    EXPECT(total >= 4LL << 20, "%s held only %lld bytes", path, total);
    unlink(path);
}

static int case_diskfill(void)
{
    fill("/tmp/fill");
    fill("/work/fill");
    return 0;
}

/* Wait until pid runs a program whose argv[0] is token. */
static bool runs_as(pid_t pid, const char *token)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        if (!strcmp(buf, token))
            return true;
        usleep(10000);
    }
    return false;
}

/* Leave processes behind that try hard to outlive the run: a double-forked
 * session leader's child ignoring SIGTERM/SIGHUP, and a stopped child. Both
 * run sleep with argv[0] = token, which the driver looks for afterwards. */
static int case_orphan(const char *token)
{
    int p[2];
    if (pipe(p) < 0)
        return 3;
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        pid_t g = fork();
        if (g == 0) {
            signal(SIGTERM, SIG_IGN);
            signal(SIGHUP, SIG_IGN);
            execl("/bin/sleep", token, "1000", (char *)NULL);
            _exit(1);
        }
        ssize_t w = write(p[1], &g, sizeof(g));
        _exit(w == sizeof(g) ? 0 : 1);
    }
    pid_t orphan = 0;
    EXPECT(read(p[0], &orphan, sizeof(orphan)) == sizeof(orphan), "no grandchild pid");
    waitpid(pid, NULL, 0);
    pid_t stopped = fork();
    if (stopped == 0) {
        execl("/bin/sleep", token, "1001", (char *)NULL);
        _exit(1);
    }
    EXPECT(runs_as(orphan, token), "the orphan did not start");
    EXPECT(runs_as(stopped, token), "the child did not start");
    kill(stopped, SIGSTOP);
    kill(orphan, SIGTERM);
    usleep(50000);
    EXPECT(kill(orphan, 0) == 0, "the orphan died of SIGTERM");
    return 0; /* pid 1 exits: the kernel kills the rest of the namespace */
}

/* Start something that would run for a long time, named token. */
static int case_hold(const char *token)
{
    execl("/bin/sleep", token, "1000", (char *)NULL);
    return 3;
}

static int case_forkbomb(void)
{
    for (;;)
        if (fork() < 0)
            usleep(1000);
    return 0;
}

static int case_membomb(void)
{
    /* Kept reachable and written page by page, so no compiler can drop it. */
    static char *volatile chunks[512];
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *p = malloc(16 << 20);
        if (!p)
            return 3;
        for (size_t off = 0; off < (16 << 20); off += 4096)
            ((volatile char *)p)[off] = 1;
        chunks[i] = p;
    }
    return 4;
}

static int case_cpuspin(void)
{
    volatile unsigned long x = 0;
    while (x != ~0UL)
        x++;
    return 3;
}

static int case_flood(void)
{
    static char buf[65536];
    memset(buf, 'y', sizeof(buf));
    for (;;)
        if (write(1, buf, sizeof(buf)) < 0)
            return 3;
}

static int case_plant(const char *victim)
{
    char dst[512];
    snprintf(dst, sizeof(dst), "%s/secret", victim);
    EXPECT(symlink(dst, "/work/evil-file") == 0, "symlink: %s", strerror(errno));
    EXPECT(symlink(victim, "/work/evil-dir") == 0, "symlink: %s", strerror(errno));
    EXPECT(symlink("/", "/work/evil-root") == 0, "symlink: %s", strerror(errno));
    EXPECT(mkdir("/work/deep", 0755) == 0, "mkdir: %s", strerror(errno));
    EXPECT(symlink(victim, "/work/deep/evil-dir") == 0, "symlink: %s", strerror(errno));
    EXPECT(mkdir("/work/locked", 0755) == 0, "mkdir: %s", strerror(errno));
    int fd = open("/work/locked/f", O_WRONLY | O_CREAT, 0600);
    close(fd);
    EXPECT(chmod("/work/locked", 0) == 0, "chmod: %s", strerror(errno));
    /* A hard link to a host file cannot be made across the bind. */
    EXPECT_ERR(link("/usr/bin/true", "/work/hard"), EXDEV);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: probe CASE [ARG...]\n");
        return 2;
    }
    const char *c = argv[1];
    const char *a = argc > 2 ? argv[2] : "";
    const char *b = argc > 3 ? argv[3] : "";
    int r;
    if (!strcmp(c, "ptrace"))
        r = case_ptrace();
    else if (!strcmp(c, "mount"))
        r = case_mount();
    else if (!strcmp(c, "unshare"))
        r = case_unshare();
    else if (!strcmp(c, "creds"))
        r = case_creds();
    else if (!strcmp(c, "setuid"))
        r = case_setuid(a);
    else if (!strcmp(c, "euid"))
        r = case_euid();
    else if (!strcmp(c, "hostfiles"))
        r = case_hostfiles(a, b);
    else if (!strcmp(c, "readonly"))
        r = case_readonly(a);
    else if (!strcmp(c, "tiocsti"))
        r = case_tiocsti();
    else if (!strcmp(c, "sockets"))
        r = case_sockets();
    else if (!strcmp(c, "syscalls"))
        r = case_syscalls();
    else if (!strcmp(c, "procmask"))
        r = case_procmask();
    else if (!strcmp(c, "allowlist"))
        r = case_allowlist();
    else if (!strcmp(c, "x32"))
        r = case_x32();
    else if (!strcmp(c, "i386"))
        r = case_i386();
    else if (!strcmp(c, "connect-refused"))
        r = case_connect(a, ECONNREFUSED);
    else if (!strcmp(c, "connect-nonet"))
        r = case_connect(a, ENETUNREACH);
    else if (!strcmp(c, "abstract"))
        r = case_abstract(a);
    else if (!strcmp(c, "kill"))
        r = case_kill(a);
    else if (!strcmp(c, "diskfill"))
        r = case_diskfill();
    else if (!strcmp(c, "orphan"))
        r = case_orphan(a);
    else if (!strcmp(c, "init"))
        r = case_init();
    else if (!strcmp(c, "zombies"))
        r = case_zombies();
    else if (!strcmp(c, "pids"))
        r = case_pids(a);
    else if (!strcmp(c, "abort"))
        abort();
    else if (!strcmp(c, "raise"))
        r = raise(atoi(a)) == 0 ? 3 : 4;
    else if (!strcmp(c, "hold"))
        r = case_hold(a);
    else if (!strcmp(c, "forkbomb"))
        r = case_forkbomb();
    else if (!strcmp(c, "membomb"))
        r = case_membomb();
    else if (!strcmp(c, "cpuspin"))
        r = case_cpuspin();
    else if (!strcmp(c, "sleep"))
        r = sleep(30) ? 0 : 3;
    else if (!strcmp(c, "flood"))
        r = case_flood();
    else if (!strcmp(c, "plant"))
        r = case_plant(a);
    else {
        fprintf(stderr, "probe: unknown case %s\n", c);
        return 2;
    }
    if (r == 0 && failures)
        r = 1;
    return r;
}
