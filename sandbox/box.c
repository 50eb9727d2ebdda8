/* The parent's side of the sandbox: context probing, the set-up plan, clone,
 * uid/gid maps and cgroups, and reaping with the reason a run ended. */
#include "box_internal.h"

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
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define MIB               (1024ULL * 1024ULL)
#define DEFAULT_UID_FIRST 1879048192u /* 0x70000000: unused by systemd and subuid ranges */
#define DEFAULT_UID_COUNT 65536u

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

struct rn_box_context {
    bool root;
    uid_t uid_first;
    unsigned uid_count, uid_next;
    uint8_t *uid_used; /* bitmap over [uid_first, uid_first + uid_count) */
    uid_t outer_uid;
    gid_t outer_gid;
    rn_cgroup_root cg;
    struct sock_fprog filter, init_filter;
    int filter_err;
    void *stack;       /* without init_fd: the init's stack, copied per run */
    uintptr_t text[2]; /* the mapping holding the init's code */
    int init_fd;       /* sealed memfd of runnel-init, or -1 */
    int dumpable;      /* our PR_GET_DUMPABLE before any run changed uid */
    int last_cap;
    rn_plan plan; /* the system part of every run's root */
    size_t nbinds;
    unsigned prot;
    char trial_why[200];
    uint64_t seq;
    rn_cgroup_run *zombies; /* run cgroups whose rmdir waits for their last task */
    size_t nzombies;
    rn_ahead *ahead;        /* what is made ahead (ahead.c), or NULL */
    int home_net, home_ipc; /* the caller thread's, to come back to after a clone */
    struct rlimit hard[RLIM_NLIMITS];
    unsigned warm_max, nwarm; /* sandboxes built ahead, waiting for a program */
    rn_box *warm[RN_BOX_WARM_MAX];
    void *stacks[8]; /* child stacks kept for the next runs */
    unsigned nstacks;
};

/* What every run of one shape shares up to its program: the part a warm
 * box has made before the run is asked for. binds are the run's own (a
 * warm box owns copies of them). */
typedef struct {
    uint64_t mem, tmp;
    unsigned pids_all;
    bool network, stdin_null;
    const rn_box_bind *binds;
    size_t nbinds;
    bool owned;
} box_shape;

struct rn_box {
    rn_box_context *ctx;
    pid_t pid;
    int pidfd, in_fd, out_fd, err_fd, errpipe;
    int sync_w; /* a warm box's: one byte starts its program */
    uid_t uid;
    bool uid_owned;
    rn_cgroup_run cg;
    uint64_t start_ns, wall_ms, cpu_ms;
    bool killed, reaped;
    rn_box_reason kill_reason;
    bool ahead_running; /* counted as running by ctx->ahead */
    rn_report recs[4];  /* what the init said so far on the report pipe */
    size_t rec_bytes;
    bool report_eof;
    bool init_pending;   /* the result is out, the init not yet reaped */
    rn_box_stage pstage; /* a set-up step the parent failed after clone */
    int perr;
    rn_box_result res;
    /* What the child reads while it sets up (it has its own copy: these
     * are freed as soon as it is cloned). */
    rn_plan plan; /* the run's part of the root (its tmpfs and binds) */
    rn_plan run;  /* what it reads once told to go: files, argv, env, cwd */
    rn_child_spec spec;
    const char **exec_paths;
    void *stack; /* the child's own stack when it shares our memory */
    box_shape shape;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Plans ------------------------------------------------------------------ */

void rn_plan_free(rn_plan *plan)
{
    for (size_t i = 0; i < plan->nstrs; i++)
        free(plan->strs[i]);
    free(plan->strs);
    free(plan->ops);
    memset(plan, 0, sizeof(*plan));
}

int rn_plan_add(rn_plan *plan, const rn_op *op)
{
    if (!op->path)
        return -ENOMEM; /* a failed rn_plan_fmt upstream */
    if (plan->n == plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 32;
        rn_op *ops = realloc(plan->ops, cap * sizeof(*ops));
        if (!ops)
            return -ENOMEM;
        plan->ops = ops;
        plan->cap = cap;
    }
    plan->ops[plan->n++] = *op;
    return 0;
}

static const char *plan_keep(rn_plan *plan, char *s)
{
    if (!s)
        return NULL;
    if (plan->nstrs == plan->capstrs) {
        size_t cap = plan->capstrs ? plan->capstrs * 2 : 32;
        char **strs = realloc(plan->strs, cap * sizeof(*strs));
        if (!strs) {
            free(s);
            return NULL;
        }
        plan->strs = strs;
        plan->capstrs = cap;
    }
    plan->strs[plan->nstrs++] = s;
    return s;
}

const char *rn_plan_str(rn_plan *plan, const char *s)
{
    return plan_keep(plan, strdup(s));
}

const char *rn_plan_fmt(rn_plan *plan, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : plan_keep(plan, s);
}

static bool plan_has(const rn_plan *plan, rn_op_kind kind, const char *path)
{
    for (size_t i = 0; plan && i < plan->n; i++)
        if (plan->ops[i].kind == kind && !strcmp(plan->ops[i].path, path))
            return true;
    return false;
}

/* Schedule mkdir for every missing parent of dst (an absolute inside path),
 * and for dst itself when dir is set. */
static int plan_mkdirs(rn_plan *plan, const rn_plan *base, const char *dst, bool dir)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s%s", RN_BOX_STAGE, dst) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    size_t skip = strlen(RN_BOX_STAGE);
    for (char *p = buf + skip + 1;; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        if (end && !dir)
            break;
        char c = *p;
        *p = '\0';
        if (!plan_has(base, RN_OP_MKDIR, buf) && !plan_has(plan, RN_OP_MKDIR, buf)) {
            rn_op op = {.kind = RN_OP_MKDIR, .mode = 0755, .path = rn_plan_str(plan, buf)};
            int r = rn_plan_add(plan, &op);
            if (r < 0)
                return r;
        }
        *p = c;
        if (end)
            break;
    }
    return 0;
}

/* An inside path must be absolute, normalised enough to contain no "." or
 * ".." component, and not the root itself. */
static bool valid_dst(const char *dst)
{
    if (!dst || dst[0] != '/' || dst[1] == '\0' || strlen(dst) > PATH_MAX / 2)
        return false;
    for (const char *p = dst; *p;) {
        while (*p == '/')
            p++;
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (n == 0 && *e == '\0' && e[-1] == '/')
            return false; /* trailing slash */
        p = e;
    }
    return true;
}

/* Plan a bind of a host path. */
static int plan_bind(rn_plan *plan, const rn_plan *base, const char *src, bool is_dir,
                     const char *dst, uint64_t attr, unsigned flags)
{
    int r = plan_mkdirs(plan, base, dst, is_dir);
    if (r < 0)
        return r;
    const char *path = rn_plan_fmt(plan, "%s%s", RN_BOX_STAGE, dst);
    if (!is_dir) {
        rn_op touch = {.kind = RN_OP_TOUCH, .path = path};
        if ((r = rn_plan_add(plan, &touch)) < 0)
            return r;
    }
    rn_op op = {.kind = RN_OP_BIND,
                .flags = flags | RN_OPF_HOST,
                .attr = attr,
                .path = path,
                .src = rn_plan_str(plan, src)};
    if (!op.src)
        return -ENOMEM;
    return rn_plan_add(plan, &op);
}

static int plan_write(rn_plan *plan, const char *path, const char *text, unsigned mode)
{
    rn_op op = {.kind = RN_OP_WRITE,
                .mode = mode,
                .path = rn_plan_fmt(plan, "%s%s", RN_BOX_STAGE, path),
                .data = text,
                .len = strlen(text)};
    return rn_plan_add(plan, &op);
}

/* The context ------------------------------------------------------------ */

/* What most toolchains need and nothing more: each bind is a few system
 * calls per run. ld.so only reads ld.so.cache; language-specific /etc
 * pieces (Java's, Mono's, R's) belong in the specs' mounts. */
static const rn_box_bind default_binds[] = {
    {"/usr", NULL, false, false},
    {"/bin", NULL, false, true},
    {"/sbin", NULL, false, true},
    {"/lib", NULL, false, true},
    {"/lib64", NULL, false, true},
    {"/lib32", NULL, false, true},
    {"/libx32", NULL, false, true},
    {"/etc/alternatives", NULL, false, true},
    {"/etc/ld.so.cache", NULL, false, true},
    {"/etc/nsswitch.conf", NULL, false, true},
    {"/etc/localtime", NULL, false, true},
    {"/etc/ssl", NULL, false, true},
};

static const char passwd_text[] = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                  "runner:x:1000:1000:runner:/work:/bin/sh\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_text[] = "root:x:0:\nrunner:x:1000:\nnogroup:x:65534:\n";
static const char hosts_text[] = "127.0.0.1\tlocalhost runnel\n::1\tlocalhost ip6-localhost\n";

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom"};
static const char *const dev_links[][2] = {
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
    {"shm", "/tmp"},
};

/* Masked in every run's /proc (see build_system_plan). */
static const char *const proc_masked[] = {
    "/proc/cmdline",    "/proc/sys/kernel/random/boot_id",
    "/proc/interrupts", "/proc/sched_debug",
    "/proc/timer_list", "/proc/timer_stats",
    "/proc/keys",       "/proc/latency_stats",
    "/proc/kcore",
};

/* The part of the root that is the same for every run. */
static int build_system_plan(rn_box_context *ctx, const rn_box_bind *binds, size_t nbinds)
{
    rn_plan *plan = &ctx->plan;
    int r;
    rn_op root = {.kind = RN_OP_TMPFS,
                  .path = RN_BOX_STAGE,
                  .mflags = MS_NOSUID | MS_NODEV,
                  .data = "mode=0755,size=1m,nr_inodes=4096"};
    if ((r = rn_plan_add(plan, &root)) < 0)
        return r;

    for (size_t i = 0; i < nbinds; i++) {
        const rn_box_bind *b = &binds[i];
        const char *dst = b->dst ? b->dst : b->src;
        if (!b->src || b->src[0] != '/' || !valid_dst(dst))
            return -EINVAL;
        struct stat st;
        if (lstat(b->src, &st) < 0) {
            if (b->optional && errno == ENOENT)
                continue;
            return -errno;
        }
        /* usrmerge: /bin -> usr/bin. A link is recreated, not bound, which is
         * one mount fewer per run. */
        if (S_ISLNK(st.st_mode) && !strcmp(dst, b->src)) {
            char target[PATH_MAX];
            ssize_t n = readlink(b->src, target, sizeof(target) - 1);
            if (n < 0)
                return -errno;
            target[n] = '\0';
            if ((r = plan_mkdirs(plan, NULL, dst, false)) < 0)
                return r;
            rn_op op = {.kind = RN_OP_SYMLINK,
                        .path = rn_plan_fmt(plan, "%s%s", RN_BOX_STAGE, dst),
                        .src = rn_plan_str(plan, target)};
            if (!op.src)
                return -ENOMEM;
            if ((r = rn_plan_add(plan, &op)) < 0)
                return r;
            continue;
        }
        if (stat(b->src, &st) < 0) {
            if (b->optional && errno == ENOENT)
                continue;
            return -errno;
        }
        uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        if (!b->writable)
            attr |= MOUNT_ATTR_RDONLY;
        if (++ctx->nbinds > RN_BOX_MAX_BINDS / 2)
            return -E2BIG;
        r = plan_bind(plan, NULL, b->src, S_ISDIR(st.st_mode), dst, attr,
                      b->optional ? RN_OPF_OPTIONAL : 0);
        if (r < 0)
            return r;
    }

    /* /dev: a small tmpfs with the harmless host nodes bound in, read-only. */
    if ((r = plan_mkdirs(plan, NULL, "/dev", true)) < 0)
        return r;
    rn_op dev = {.kind = RN_OP_TMPFS,
                 .path = RN_BOX_STAGE "/dev",
                 .mflags = MS_NOSUID | MS_NOEXEC,
                 .data = "mode=0755,size=64k,nr_inodes=64"};
    if ((r = rn_plan_add(plan, &dev)) < 0)
        return r;
    for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
        const char *path = rn_plan_fmt(plan, "%s/dev/%s", RN_BOX_STAGE, dev_nodes[i]);
        rn_op touch = {.kind = RN_OP_TOUCH, .path = path};
        rn_op bind = {
            .kind = RN_OP_BIND, .path = path, .src = rn_plan_fmt(plan, "/dev/%s", dev_nodes[i])};
        if (!bind.src)
            return -ENOMEM;
        if ((r = rn_plan_add(plan, &touch)) < 0 || (r = rn_plan_add(plan, &bind)) < 0)
            return r;
    }
    for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
        rn_op op = {.kind = RN_OP_SYMLINK,
                    .path = rn_plan_fmt(plan, "%s/dev/%s", RN_BOX_STAGE, dev_links[i][0]),
                    .src = dev_links[i][1]};
        if ((r = rn_plan_add(plan, &op)) < 0)
            return r;
    }
    rn_op devro = {.kind = RN_OP_SETATTR,
                   .flags = RN_OPF_RECURSIVE,
                   .path = RN_BOX_STAGE "/dev",
                   .attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
    if ((r = rn_plan_add(plan, &devro)) < 0)
        return r;

    /* A proc of the run's own pid namespace; /proc/sys read-only. */
    if ((r = plan_mkdirs(plan, NULL, "/proc", true)) < 0)
        return r;
    rn_op proc = {.kind = RN_OP_PROC, .path = RN_BOX_STAGE "/proc"};
    rn_op sys = {.kind = RN_OP_BIND,
                 .path = RN_BOX_STAGE "/proc/sys",
                 .src = RN_BOX_STAGE "/proc/sys",
                 .attr =
                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if ((r = rn_plan_add(plan, &proc)) < 0 || (r = rn_plan_add(plan, &sys)) < 0)
        return r;
    /* Files that tell about the host rather than the run (its boot, its
     * devices, its scheduler and timers) read empty: /dev/null bound over
     * them, read-only, as container runtimes mask them. Those this kernel
     * does not have are skipped. */
    for (size_t i = 0; i < sizeof(proc_masked) / sizeof(proc_masked[0]); i++) {
        rn_op mask = {.kind = RN_OP_BIND,
                      .flags = RN_OPF_OPTIONAL,
                      .path = rn_plan_fmt(plan, "%s%s", RN_BOX_STAGE, proc_masked[i]),
                      .src = RN_BOX_STAGE "/dev/null",
                      .attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
        if (!mask.path)
            return -ENOMEM;
        if ((r = rn_plan_add(plan, &mask)) < 0)
            return r;
    }

    /* Generated /etc files, so `whoami` and `localhost` work, unless the
     * caller binds its own. */
    if ((r = plan_mkdirs(plan, NULL, "/etc", true)) < 0)
        return r;
    const char *const gen[][2] = {
        {"/etc/passwd", passwd_text}, {"/etc/group", group_text}, {"/etc/hosts", hosts_text}};
    for (size_t i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s%s", RN_BOX_STAGE, gen[i][0]);
        if (plan_has(plan, RN_OP_BIND, path) || plan_has(plan, RN_OP_SYMLINK, path))
            continue;
        if ((r = plan_write(plan, gen[i][0], gen[i][1], 0644)) < 0)
            return r;
    }
    return 0;
}

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

static void uid_release(rn_box_context *ctx, uid_t uid)
{
    unsigned k = uid - ctx->uid_first;
    if (k < ctx->uid_count)
        ctx->uid_used[k / 8] &= (uint8_t) ~(1u << (k % 8));
}

static void zombies_sweep(rn_box_context *ctx)
{
    ctx->nzombies = rn_cgroup_destroy_list(ctx->zombies, ctx->nzombies);
}

/* Start a trial run of /bin/cat /proc/self/status and check from the inside
 * what is really in force. */
static void trial_run(rn_box_context *ctx)
{
    const char *argv_cat[] = {"/bin/cat", "/proc/self/status", NULL};
    const char *argv_true[] = {"/bin/true", NULL};
    bool have_cat = access("/bin/cat", X_OK) == 0;
    rn_box_options o = {
        .argv = have_cat ? argv_cat : argv_true, .stdin_null = true, .wall_ms = 5000};
    rn_box *box = NULL;
    unsigned ns = RN_BOX_PROT_USERNS | RN_BOX_PROT_PIDNS | RN_BOX_PROT_MOUNTNS | RN_BOX_PROT_NETNS |
                  RN_BOX_PROT_IPCNS | RN_BOX_PROT_UTSNS | RN_BOX_PROT_CGROUPNS;
    ctx->prot = 0;
    int r = rn_box_spawn(ctx, &o, &box);
    if (r < 0) {
        snprintf(ctx->trial_why, sizeof(ctx->trial_why), "clone with new namespaces: %s",
                 strerror(-r));
        return;
    }
    bool cg_ok = box->cg.version != 0;
    rn_box_result res;
    r = rn_box_wait(box, &res);
    char out[8192];
    ssize_t n = read(rn_box_stdout_fd(box), out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    rn_box_free(box);
    if (r < 0 || res.reason != RN_BOX_EXITED || res.exit_code != 0) {
        if (res.reason == RN_BOX_SETUP_FAILED)
            snprintf(ctx->trial_why, sizeof(ctx->trial_why), "trial run failed at %s: %s",
                     rn_box_stage_name(res.setup_stage), strerror(res.setup_errno));
        else
            snprintf(ctx->trial_why, sizeof(ctx->trial_why), "trial run ended %s",
                     rn_box_reason_name(res.reason));
        return;
    }
    ctx->prot |= ns;
    if (ctx->root && ctx->uid_count)
        ctx->prot |= RN_BOX_PROT_UIDRANGE;
    if (cg_ok)
        ctx->prot |= ctx->cg.version == 2 ? RN_BOX_PROT_CGROUP_V2 : RN_BOX_PROT_CGROUP_V1;
    if (!have_cat) {
        if (ctx->filter.filter)
            ctx->prot |= RN_BOX_PROT_SECCOMP;
        ctx->prot |= RN_BOX_PROT_CAPDROP;
        snprintf(ctx->trial_why, sizeof(ctx->trial_why), "trial run of /bin/true");
        return;
    }
    if (strstr(out, "\nSeccomp:\t2\n"))
        ctx->prot |= RN_BOX_PROT_SECCOMP;
    const char *caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
    bool zero = true;
    for (size_t i = 0; i < 5; i++) {
        char key[32];
        snprintf(key, sizeof(key), "\n%s:\t0000000000000000\n", caps[i]);
        zero = zero && strstr(out, key);
    }
    if (zero && strstr(out, "\nNoNewPrivs:\t1\n"))
        ctx->prot |= RN_BOX_PROT_CAPDROP;
    snprintf(ctx->trial_why, sizeof(ctx->trial_why), "checked inside a trial run");
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* runnel-init in a sealed memfd, or -1 when memfds cannot be exec'd here
 * (vm.memfd_noexec=2) or it is not built for this architecture. */
static int init_elf_fd(void)
{
#ifdef RN_HAVE_INIT_ELF
    int fd = memfd_create("runnel-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
        fd = memfd_create("runnel-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < rn_init_elf_len) {
        ssize_t n = write(fd, rn_init_elf + off, rn_init_elf_len - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    /* Exec-only: an exec of a file its caller cannot read leaves the new
     * process non-dumpable from its first instruction, so the program
     * never sees /proc/1 open between the init's exec and its own
     * PR_SET_DUMPABLE. */
    if (fchmod(fd, 0111) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
#else
    return -1;
#endif
}

/* The init's stack, and the range of our code it keeps mapped once the
 * program runs (the mapping of this library's text, from /proc/self/maps). */
static int init_memory(rn_box_context *ctx)
{
    ctx->init_fd = init_elf_fd();
    /* Read once: a child sharing our memory clears the flag for a moment
     * when it changes uid (then restores this value). */
    ctx->dumpable = prctl(PR_GET_DUMPABLE);
    ctx->stack = mmap(NULL, RN_BOX_CHILD_STACK + 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (ctx->stack == MAP_FAILED) {
        ctx->stack = NULL;
        return -errno;
    }
    mprotect(ctx->stack, 4096, PROT_NONE); /* a guard page below it */
    if (!rn_child_has_clone3())
        return 0; /* the init keeps all of its copy */
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    uintptr_t code = (uintptr_t)rn_child_main;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && code >= lo && code < hi &&
            perms[2] == 'x') {
            ctx->text[0] = lo;
            ctx->text[1] = hi;
            break;
        }
    }
    fclose(f);
    return 0;
}

int rn_box_context_new(const rn_box_context_options *opts, rn_box_context **out)
{
    rn_box_context_options o = {0};
    if (opts)
        o = *opts;
    int r;
    rn_box_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->init_fd = -1;
    ctx->home_net = ctx->home_ipc = -1;
    ctx->root = geteuid() == 0;
    ctx->outer_uid = geteuid();
    ctx->outer_gid = getegid();
    for (int i = 0; i < RLIM_NLIMITS; i++)
        getrlimit(i, &ctx->hard[i]);

    if (ctx->root) {
        ctx->uid_first = o.uid_count ? o.uid_first : DEFAULT_UID_FIRST;
        ctx->uid_count = o.uid_count ? o.uid_count : DEFAULT_UID_COUNT;
        if (ctx->uid_first == 0 || ctx->uid_first + (uint64_t)ctx->uid_count > 0xfffffffeu) {
            r = -EINVAL;
            goto fail;
        }
        ctx->uid_used = calloc((ctx->uid_count + 7) / 8, 1);
        if (!ctx->uid_used) {
            r = -ENOMEM;
            goto fail;
        }
        /* The bitmap only knows this process's runs: start somewhere random
         * so that two processes sharing a range (two runnel-box commands)
         * are unlikely to pick the same uid at once. */
        unsigned start = 0;
        if (getrandom(&start, sizeof(start), GRND_NONBLOCK) == sizeof(start))
            ctx->uid_next = start % ctx->uid_count;
    }

    /* The highest capability the running kernel knows (libcap reads
     * /proc/sys/kernel/cap_last_cap, or probes). */
    ctx->last_cap = (int)cap_max_bits() - 1;
    if (ctx->last_cap < 0 || ctx->last_cap > 63)
        ctx->last_cap = 63;

    ctx->filter_err = rn_filter_build(&ctx->filter);
    if (ctx->filter_err < 0) {
        r = ctx->filter_err;
        goto fail;
    }
    if ((r = rn_filter_build_init(&ctx->init_filter)) < 0)
        goto fail;
    if ((r = init_memory(ctx)) < 0)
        goto fail;

    if (!o.no_cgroup)
        rn_cgroup_probe(&ctx->cg, o.cgroup_name ? o.cgroup_name : "runnel");
    else {
        snprintf(ctx->cg.why, sizeof(ctx->cg.why), "disabled by configuration");
        snprintf(ctx->cg.why_v1, sizeof(ctx->cg.why_v1), "disabled by configuration");
        snprintf(ctx->cg.why_v2, sizeof(ctx->cg.why_v2), "disabled by configuration");
    }

    r = o.binds ? build_system_plan(ctx, o.binds, o.nbinds)
                : build_system_plan(ctx, default_binds,
                                    sizeof(default_binds) / sizeof(default_binds[0]));
    if (r < 0)
        goto fail;

    trial_run(ctx);
    /* Namespaces are made ahead only as root and where the trial run shows
     * that both work. */
    unsigned both = RN_BOX_PROT_NETNS | RN_BOX_PROT_IPCNS, want_ns = 0;
    if (ctx->root && o.ahead && (ctx->prot & both) == both) {
        ctx->home_net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        ctx->home_ipc = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
        if (ctx->home_net >= 0 && ctx->home_ipc >= 0)
            want_ns = o.ahead;
    }
    ctx->warm_max = o.warm < RN_BOX_WARM_MAX ? o.warm : RN_BOX_WARM_MAX;
    if ((want_ns || (o.ahead && ctx->cg.version)) &&
        (r = rn_ahead_new(want_ns, &ctx->cg, o.ahead, &ctx->ahead)) < 0)
        goto fail;
    *out = ctx;
    return 0;
fail:
    rn_box_context_free(ctx);
    return r;
}

void rn_box_context_free(rn_box_context *ctx)
{
    if (!ctx)
        return;
    while (ctx->nwarm)
        rn_box_free(ctx->warm[--ctx->nwarm]);
    for (unsigned i = 0; i < ctx->nstacks; i++)
        munmap(ctx->stacks[i], RN_BOX_CHILD_STACK + 4096);
    ctx->nstacks = 0;
    /* Give cgroups of runs reaped a moment ago their last chance. */
    for (int i = 0; i < 50 && ctx->nzombies; i++) {
        zombies_sweep(ctx);
        if (ctx->nzombies)
            usleep(2000);
    }
    rn_ahead_free(ctx->ahead);
    if (ctx->home_net >= 0)
        close(ctx->home_net);
    if (ctx->home_ipc >= 0)
        close(ctx->home_ipc);
    for (size_t i = 0; i < ctx->nzombies; i++)
        rn_cgroup_run_free(&ctx->zombies[i]);
    free(ctx->zombies);
    rn_plan_free(&ctx->plan);
    free(ctx->filter.filter);
    free(ctx->init_filter.filter);
    if (ctx->init_fd >= 0)
        close(ctx->init_fd);
    if (ctx->stack)
        munmap(ctx->stack, RN_BOX_CHILD_STACK + 4096);
    rn_cgroup_root_free(&ctx->cg);
    free(ctx->uid_used);
    free(ctx);
}

unsigned rn_box_context_protections(const rn_box_context *ctx)
{
    return ctx->prot;
}

int rn_box_context_describe(const rn_box_context *ctx, char *buf, size_t size)
{
    unsigned p = ctx->prot;
    const char *why = ctx->trial_why;
    char uidwhy[160];
    if (ctx->root)
        snprintf(uidwhy, sizeof(uidwhy), "each run gets its own host uid/gid from %u..%u",
                 (unsigned)ctx->uid_first, (unsigned)(ctx->uid_first + ctx->uid_count - 1));
    else
        snprintf(uidwhy, sizeof(uidwhy),
                 "not root: runs use this user's uid %u (mapped to %d inside)",
                 (unsigned)ctx->outer_uid, RN_BOX_INNER_ID);
    char aheadwhy[240];
    if (ctx->ahead && ctx->home_net >= 0)
        snprintf(aheadwhy, sizeof(aheadwhy), "%s; fresh ones made ahead, one per run", why);
    else
        snprintf(aheadwhy, sizeof(aheadwhy), "%s", why);
    char seccompwhy[256];
    snprintf(seccompwhy, sizeof(seccompwhy), "%u BPF instructions, %s", ctx->filter.len, why);
    struct {
        const char *name;
        unsigned bit;
        const char *why;
    } rows[] = {
        {"user namespace", RN_BOX_PROT_USERNS, why},
        {"pid namespace", RN_BOX_PROT_PIDNS, why},
        {"mount namespace", RN_BOX_PROT_MOUNTNS, why},
        {"network namespace", RN_BOX_PROT_NETNS, aheadwhy},
        {"ipc namespace", RN_BOX_PROT_IPCNS, aheadwhy},
        {"uts namespace", RN_BOX_PROT_UTSNS, why},
        {"cgroup namespace", RN_BOX_PROT_CGROUPNS, why},
        {"seccomp", RN_BOX_PROT_SECCOMP, seccompwhy},
        {"capability drop", RN_BOX_PROT_CAPDROP, why},
        {"cgroup v2 limits", RN_BOX_PROT_CGROUP_V2,
         ctx->cg.version == 2 ? ctx->cg.why : ctx->cg.why_v2},
        {"cgroup v1 limits", RN_BOX_PROT_CGROUP_V1,
         ctx->cg.version == 1   ? ctx->cg.why
         : ctx->cg.version == 2 ? "v2 in use"
                                : ctx->cg.why_v1},
        {"uid range", RN_BOX_PROT_UIDRANGE, uidwhy},
    };
    size_t len = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int n =
            snprintf(buf + (len < size ? len : size), len < size ? size - len : 0, "%s: %s (%s)\n",
                     rows[i].name, (p & rows[i].bit) ? "on" : "off", rows[i].why);
        if (n < 0)
            return -EIO;
        len += (size_t)n;
    }
    int n = snprintf(buf + (len < size ? len : size), len < size ? size - len : 0,
                     "rlimits: on (cpu, nproc, nofile, fsize, core=0, stack%s)\n",
                     ctx->cg.version ? "" : ", data: no memory cgroup");
    if (n < 0)
        return -EIO;
    len += (size_t)n;
    return len >= size ? -ENOBUFS : (int)len;
}

/* Spawning --------------------------------------------------------------- */

/* Come back to the caller thread's namespaces. If that fails (it cannot,
 * short of memory) this thread stays in an empty namespace, which serves
 * no new socket of ours: stop using the namespaces made ahead, since every
 * run then makes its own anyway. */
static void leave_ahead(rn_box_context *ctx)
{
    if (setns(ctx->home_net, CLONE_NEWNET) < 0 || setns(ctx->home_ipc, CLONE_NEWIPC) < 0) {
        close(ctx->home_net);
        close(ctx->home_ipc);
        ctx->home_net = ctx->home_ipc = -1;
    }
}

/* Enter a pair made ahead for the next clone, its loopback up or down as
 * the run asks. false (and back home) if that cannot be done. */
static bool enter_ahead(rn_box_context *ctx, int net, int ipc, bool network)
{
    if (setns(net, CLONE_NEWNET) < 0)
        return false;
    if (setns(ipc, CLONE_NEWIPC) < 0 || (network && rn_ahead_loopback(true) < 0)) {
        leave_ahead(ctx);
        return false;
    }
    return true;
}

static uint64_t clamp_hard(const rn_box_context *ctx, int res, uint64_t v)
{
    rlim_t h = ctx->hard[res].rlim_max;
    return h != RLIM_INFINITY && v > h ? h : v;
}

static void add_rlimit(rn_child_spec *spec, const rn_box_context *ctx, int res, uint64_t soft,
                       uint64_t hard)
{
    hard = clamp_hard(ctx, res, hard);
    soft = soft > hard ? hard : soft;
    spec->rlimits[spec->nrlimits].resource = res;
    spec->rlimits[spec->nrlimits].soft = soft;
    spec->rlimits[spec->nrlimits].hard = hard;
    spec->nrlimits++;
}

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

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static bool valid_file_name(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
           strlen(name) < NAME_MAX;
}

/* As root, a writable host directory must be writable by the run's host uid:
 * hand the top directory (never a symlink) over to it, and keep it readable
 * by the later runs (other uids) that bind it read-only. */
static int chown_top(const char *path, uid_t uid, gid_t gid)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fchown(fd, uid, gid) < 0 || fstat(fd, &st) < 0 ||
        fchmod(fd, (st.st_mode & 07777) | 0755) < 0)
        r = -errno;
    close(fd);
    return r;
}

static const char *const default_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/work",
                                          "LANG=C.UTF-8", "USER=runner", NULL};

/* Candidate paths for argv[0] (no allocation in the child means no execvp
 * there). */
static int exec_candidates(rn_plan *plan, const char *prog, const char *const *envp,
                           const char ***out)
{
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    for (size_t i = 0; envp[i]; i++)
        if (!strncmp(envp[i], "PATH=", 5))
            path = envp[i] + 5;
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += *p == ':';
    const char **list = calloc(n + 2, sizeof(*list));
    if (!list)
        return -ENOMEM;
    size_t k = 0;
    if (strchr(prog, '/')) {
        if (!(list[k++] = rn_plan_str(plan, prog))) {
            free(list);
            return -ENOMEM;
        }
    } else {
        for (const char *p = path;;) {
            const char *e = strchrnul(p, ':');
            int len = (int)(e - p);
            list[k] =
                len ? rn_plan_fmt(plan, "%.*s/%s", len, p, prog) : rn_plan_fmt(plan, "./%s", prog);
            if (!list[k++]) {
                free(list);
                return -ENOMEM;
            }
            if (!*e)
                break;
            p = e + 1;
        }
    }
    *out = list;
    return 0;
}

/* Copies kept by the plan: a child sharing our memory may still read them
 * after the caller has freed its own. */
static char *const *copy_strv(rn_plan *plan, const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **copy = calloc(n + 1, sizeof(*copy));
    if (!copy || !plan_keep(plan, (char *)copy))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(copy[i] = (char *)rn_plan_str(plan, v[i])))
            return NULL;
    return copy;
}

static const void *copy_mem(rn_plan *plan, const void *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (copy && len)
        memcpy(copy, data, len);
    return copy ? plan_keep(plan, copy) : NULL;
}

static void release_setup(rn_box *box);
static void stack_put(rn_box_context *ctx, void *s);

/* This thread's rseq area (glibc >= 2.35 registers one per thread). */
static void rseq_registration(rn_child_spec *spec)
{
#if defined(RSEQ_SIG) && (defined(__x86_64__) || defined(__aarch64__))
    if (__rseq_size) {
        spec->rseq_addr = (uintptr_t)__builtin_thread_pointer() + (uintptr_t)__rseq_offset;
        spec->rseq_len = __rseq_size;
        spec->rseq_sig = RSEQ_SIG;
    }
#else
    (void)spec;
#endif
}

static void shape_of(const rn_box_options *opts, box_shape *s)
{
    unsigned pids = opts->pids ? opts->pids : 64;
    memset(s, 0, sizeof(*s));
    s->mem = opts->memory_bytes ? opts->memory_bytes : 256 * MIB;
    s->tmp = opts->tmp_bytes ? opts->tmp_bytes : 64 * MIB;
    /* pids counts the program's processes: the run's init is one more. */
    s->pids_all = pids < UINT_MAX ? pids + 1 : pids;
    s->network = opts->network;
    s->stdin_null = opts->stdin_null;
    s->binds = opts->binds;
    s->nbinds = opts->nbinds;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool shape_eq(const box_shape *a, const box_shape *b)
{
    if (a->mem != b->mem || a->tmp != b->tmp || a->pids_all != b->pids_all ||
        a->network != b->network || a->stdin_null != b->stdin_null || a->nbinds != b->nbinds)
        return false;
    for (size_t i = 0; i < a->nbinds; i++) {
        const rn_box_bind *x = &a->binds[i], *y = &b->binds[i];
        if (!str_eq(x->src, y->src) || !str_eq(x->dst, y->dst) || x->writable != y->writable ||
            x->optional != y->optional)
            return false;
    }
    return true;
}

static void shape_free(box_shape *s)
{
    if (!s->owned)
        return;
    rn_box_bind *b = (rn_box_bind *)s->binds;
    for (size_t i = 0; i < s->nbinds; i++) {
        free((char *)b[i].src);
        free((char *)b[i].dst);
    }
    free(b);
    s->binds = NULL;
    s->nbinds = 0;
    s->owned = false;
}

/* Keep copies of the binds: a warm box outlives the options it was made
 * from. */
static int shape_own(box_shape *s)
{
    rn_box_bind *b = s->nbinds ? calloc(s->nbinds, sizeof(*b)) : NULL;
    if (s->nbinds && !b)
        return -ENOMEM;
    for (size_t i = 0; i < s->nbinds; i++) {
        b[i] = s->binds[i];
        b[i].src = s->binds[i].src ? strdup(s->binds[i].src) : NULL;
        b[i].dst = s->binds[i].dst ? strdup(s->binds[i].dst) : NULL;
        if ((s->binds[i].src && !b[i].src) || (s->binds[i].dst && !b[i].dst)) {
            s->binds = b;
            s->owned = true;
            shape_free(s);
            return -ENOMEM;
        }
    }
    s->binds = b;
    s->owned = true;
    return 0;
}

/* A box can be made warm when its child shares our memory (so the run's
 * part can be handed over after the clone) and /work is a tmpfs of its
 * own. */
static bool warm_eligible(const rn_box_context *ctx, const rn_box_options *opts)
{
    return ctx->warm_max && ctx->init_fd >= 0 && rn_child_has_clone3() && !opts->workdir;
}

static int check_options(const rn_box_options *opts, bool run)
{
    if (!opts || (opts->nbinds && !opts->binds) || (opts->nfiles && !opts->files))
        return -EINVAL;
    if (run && (!opts->argv || !opts->argv[0] || !*opts->argv[0]))
        return -EINVAL;
    for (size_t i = 0; i < opts->nfiles; i++)
        if (!valid_file_name(opts->files[i].name) || (opts->files[i].len && !opts->files[i].data))
            return -EINVAL;
    if (opts->cwd && opts->cwd[0] != '/')
        return -EINVAL;
    return 0;
}

static void *stack_get(rn_box_context *ctx)
{
    if (ctx->nstacks)
        return ctx->stacks[--ctx->nstacks];
    void *s = mmap(NULL, RN_BOX_CHILD_STACK + 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (s == MAP_FAILED)
        return NULL;
    mprotect(s, 4096, PROT_NONE); /* a guard page below it */
    return s;
}

/* Stacks are kept for the next runs: unmapping one costs a TLB flush on
 * every CPU our threads ran on. */
static void stack_put(rn_box_context *ctx, void *s)
{
    if (ctx->nstacks < sizeof(ctx->stacks) / sizeof(ctx->stacks[0]))
        ctx->stacks[ctx->nstacks++] = s;
    else
        munmap(s, RN_BOX_CHILD_STACK + 4096);
}

static rn_box *box_new(rn_box_context *ctx)
{
    rn_box *box = calloc(1, sizeof(*box));
    if (!box)
        return NULL;
    box->ctx = ctx;
    box->pidfd = box->in_fd = box->out_fd = box->err_fd = box->errpipe = box->sync_w = -1;
    box->cg.v2fd = -1;
    return box;
}

/* The run's part, which the child reads once it is told to go: its files,
 * argv, env, cwd and rlimits, in box->run (never in box->plan, which a warm
 * child may be reading while this is written). */
static int fill_run(rn_box *box, const rn_box_options *opts)
{
    rn_box_context *ctx = box->ctx;
    rn_child_spec *spec = &box->spec;
    rn_plan *run = &box->run;
    const box_shape *s = &box->shape;
    uint64_t wall_ms = opts->wall_ms ? opts->wall_ms : 10000;
    uint64_t cpu_ms = opts->cpu_ms ? opts->cpu_ms : wall_ms;
    uint64_t fsize = opts->fsize_bytes ? opts->fsize_bytes : 64 * MIB;
    unsigned nofile = opts->nofile ? opts->nofile : 256;
    box->wall_ms = wall_ms;
    box->cpu_ms = cpu_ms;
    int r;

    /* Written after pivot_root, into /work (a tmpfs of the run's, or the
     * caller's workdir), before the program starts. */
    for (size_t i = 0; i < opts->nfiles; i++) {
        const rn_box_file *f = &opts->files[i];
        rn_op op = {.kind = RN_OP_WRITE,
                    .mode = f->mode ? f->mode & 07777 : 0644,
                    .path = rn_plan_fmt(run, "/work/%s", f->name),
                    .data = copy_mem(run, f->data, f->len),
                    .len = f->len};
        if (!op.data)
            return -ENOMEM;
        if ((r = rn_plan_add(run, &op)) < 0)
            return r;
    }
    const char *const *envp = opts->envp ? opts->envp : default_env;
    if ((r = exec_candidates(run, opts->argv[0], envp, &box->exec_paths)) < 0)
        return r;
    spec->plans[2] = run;
    spec->exec_paths = box->exec_paths;
    spec->cwd = rn_plan_str(run, opts->cwd ? opts->cwd : "/work");
    spec->argv = copy_strv(run, opts->argv);
    spec->envp = copy_strv(run, envp);
    if (!spec->cwd || !spec->argv || !spec->envp)
        return -ENOMEM;

    spec->nrlimits = 0;
    uint64_t cpu_s = (cpu_ms + 999) / 1000;
    /* The kernel counts RLIMIT_CPU in ticks, which overcount on a busy
     * machine (up to 30% seen against the cgroup's exact figure): a second
     * of slack, and SIGKILL then, so the program surely gets its budget. */
    add_rlimit(spec, ctx, RLIMIT_CPU, cpu_s + 1, cpu_s + 1);
    add_rlimit(spec, ctx, RLIMIT_NPROC, s->pids_all, s->pids_all);
    add_rlimit(spec, ctx, RLIMIT_NOFILE, nofile, nofile);
    add_rlimit(spec, ctx, RLIMIT_FSIZE, fsize, fsize);
    add_rlimit(spec, ctx, RLIMIT_CORE, 0, 0);
    add_rlimit(spec, ctx, RLIMIT_STACK, 8 * MIB, 8 * MIB);
    add_rlimit(spec, ctx, RLIMIT_RTPRIO, 0, 0);
    if (!ctx->cg.version) /* see box.h: cgroup memory is the limit when it exists */
        add_rlimit(spec, ctx, RLIMIT_DATA, s->mem, s->mem);
    return 0;
}

/* Everything up to the program: the uid, the run's part of the root,
 * cgroup, pipes, the clone and the maps. The child then builds the
 * sandbox and its program waits for a byte on the sync pipe before it
 * execs; box_go() sends it. With run_ready the run's part is filled in
 * already (a cold start, or a child with a copy of our memory). */
static int box_begin(rn_box *box, const rn_box_options *opts, bool run_ready)
{
    rn_box_context *ctx = box->ctx;
    int r = 0;
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1}, ep[2] = {-1, -1},
        sp[2] = {-1, -1};
    int cgfds[RN_CG_NCTRL], ncg = 0;
    int ahead_net = -1, ahead_ipc = -1;
    const box_shape *s = &box->shape;
    uint64_t tmp = s->tmp;

    gid_t gid;
    if (ctx->root) {
        if (ctx->ahead) { /* uids of runs whose init the thread has reaped since */
            uid_t freed[64];
            size_t n;
            while ((n = rn_ahead_freed_uids(ctx->ahead, freed, 64)) > 0)
                for (size_t i = 0; i < n; i++)
                    uid_release(ctx, freed[i]);
        }
        if ((r = uid_alloc(ctx, &box->uid)) < 0)
            goto fail;
        box->uid_owned = true;
        gid = (gid_t)box->uid;
    } else {
        box->uid = ctx->outer_uid;
        gid = ctx->outer_gid;
    }

    /* The run's part of the root: /tmp, /work and its binds. */
    uint64_t inodes = tmp / 4096 < 1024 ? 1024 : tmp / 4096;
    if ((r = plan_mkdirs(&box->plan, &ctx->plan, "/tmp", true)) < 0)
        goto fail;
    rn_op tmpfs = {.kind = RN_OP_TMPFS,
                   .path = RN_BOX_STAGE "/tmp",
                   .mflags = MS_NOSUID | MS_NODEV,
                   .data = rn_plan_fmt(&box->plan, "mode=1777,size=%" PRIu64 ",nr_inodes=%" PRIu64,
                                       tmp, inodes)};
    if (!tmpfs.data || (r = rn_plan_add(&box->plan, &tmpfs)) < 0) {
        r = r ? r : -ENOMEM;
        goto fail;
    }
    if (opts->nbinds + 1 > RN_BOX_MAX_BINDS - ctx->nbinds) {
        r = -E2BIG;
        goto fail;
    }
    if (opts->workdir) {
        if (ctx->root)
            r = chown_top(opts->workdir, box->uid, gid);
        else
            r = access(opts->workdir, W_OK) < 0 ? -errno : 0;
        if (r < 0)
            goto fail;
        r = plan_bind(&box->plan, &ctx->plan, opts->workdir, true, "/work",
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
    } else {
        if ((r = plan_mkdirs(&box->plan, &ctx->plan, "/work", true)) < 0)
            goto fail;
        rn_op work = {.kind = RN_OP_TMPFS,
                      .path = RN_BOX_STAGE "/work",
                      .mflags = MS_NOSUID | MS_NODEV,
                      .data = rn_plan_fmt(
                          &box->plan, "mode=0755,uid=%d,gid=%d,size=%" PRIu64 ",nr_inodes=%" PRIu64,
                          RN_BOX_INNER_ID, RN_BOX_INNER_ID, tmp, inodes)};
        r = work.data ? rn_plan_add(&box->plan, &work) : -ENOMEM;
    }
    if (r < 0)
        goto fail;
    for (size_t i = 0; i < opts->nbinds; i++) {
        const rn_box_bind *b = &opts->binds[i];
        const char *dst = b->dst ? b->dst : b->src;
        if (!b->src || !valid_dst(dst)) {
            r = -EINVAL;
            goto fail;
        }
        struct stat st;
        if (stat(b->src, &st) < 0) {
            if (b->optional && errno == ENOENT)
                continue;
            r = -errno;
            goto fail;
        }
        uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        if (b->writable) {
            if (ctx->root && S_ISDIR(st.st_mode) && (r = chown_top(b->src, box->uid, gid)) < 0)
                goto fail;
        } else {
            attr |= MOUNT_ATTR_RDONLY;
        }
        r = plan_bind(&box->plan, &ctx->plan, b->src, S_ISDIR(st.st_mode), dst, attr,
                      b->optional ? RN_OPF_OPTIONAL : 0);
        if (r < 0)
            goto fail;
    }

    /* Cgroup before clone: with v2 the child is born inside it. */
    if (ctx->cg.version) {
        char id[64];
        snprintf(id, sizeof(id), "%d-%" PRIu64, (int)getpid(), ++ctx->seq);
        if (!ctx->ahead || rn_ahead_take_cgroup(ctx->ahead, s->mem, s->pids_all, &box->cg) < 0) {
            zombies_sweep(ctx);
            if ((r = rn_cgroup_create(&ctx->cg, id, s->mem, s->pids_all, &box->cg)) < 0)
                goto fail;
        }
    }

    _Static_assert(RN_CG_NCTRL <= sizeof(box->spec.cg_fds) / sizeof(box->spec.cg_fds[0]), "cg_fds");
    if (box->cg.version == 1 && (ncg = rn_cgroup_open_join(&box->cg, cgfds)) < 0) {
        r = ncg;
        ncg = 0;
        goto fail;
    }

    if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(sp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0) {
        r = -errno;
        goto fail;
    }
    if (s->stdin_null) {
        in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in[0] < 0) {
            r = -errno;
            goto fail;
        }
    } else if (pipe2(in, O_CLOEXEC) < 0) {
        r = -errno;
        goto fail;
    }
    /* Programs open their stdio by path too (/dev/stdin, /dev/stderr,
     * /proc/self/fd/N), which checks the pipe's inode: ours, mode 0600.
     * Let the run's uid in; an anonymous pipe has no other path. */
    if ((!s->stdin_null && fchmod(in[0], 0666) < 0) || fchmod(outp[1], 0666) < 0 ||
        fchmod(errp[1], 0666) < 0) {
        r = -errno;
        goto fail;
    }

    rn_child_spec *spec = &box->spec;
    spec->plans[0] = &ctx->plan;
    spec->plans[1] = &box->plan;
    spec->sync_fd = sp[0];
    spec->sync_wfd = sp[1];
    spec->err_fd = ep[1];
    spec->stdio[0] = in[0];
    spec->stdio[1] = outp[1];
    spec->stdio[2] = errp[1];
    spec->root = ctx->root;
    spec->network = s->network;
    spec->unshare_cgroup = true;
    spec->ncg = ncg;
    spec->last_cap = ctx->last_cap;
    spec->filter = ctx->filter.filter ? &ctx->filter : NULL;
    spec->init_filter = ctx->init_filter.filter ? &ctx->init_filter : NULL;
    memcpy(spec->hostname, "runnel", sizeof("runnel"));
    spec->init_fd = ctx->init_fd;
    spec->dumpable = ctx->dumpable;
    for (int i = 0; i < ncg; i++)
        spec->cg_fds[i] = cgfds[i];

    struct clone_args_v2 ca = {
        .flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                 CLONE_NEWNET | CLONE_PIDFD,
        .exit_signal = SIGCHLD,
    };
    int pidfd = -1;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    size_t ca_size = 64; /* CLONE_ARGS_SIZE_VER0 */
    if (box->cg.v2fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)box->cg.v2fd;
        ca_size = sizeof(ca);
    }

    bool shared = ctx->init_fd >= 0 && rn_child_has_clone3();
    if (shared) {
        /* It shares our memory (no page tables to copy) on a stack of its
         * own until it execs runnel-init: what it reads must live until
         * reap. */
        if (!(box->stack = stack_get(ctx))) {
            r = -errno;
            goto fail;
        }
        ca.flags |= CLONE_VM;
        ca.stack = (uint64_t)(uintptr_t)box->stack + 4096;
        spec->program_waits = true;
    } else {
        /* A fork-like copy of us on its own stack: it changes uid and
         * builds the sandbox in memory of its own, so the run's part must
         * be in it already. */
        if (!run_ready) {
            r = -EINVAL;
            goto fail;
        }
        spec->init_fd = -1;
        spec->keep[0][0] = (uintptr_t)ctx->stack;
        spec->keep[0][1] = (uintptr_t)ctx->stack + RN_BOX_CHILD_STACK + 4096;
        spec->keep[1][0] = ctx->text[0];
        spec->keep[1][1] = ctx->text[1];
        rseq_registration(spec);
        ca.stack = (uint64_t)(uintptr_t)ctx->stack + 4096;
    }
    ca.stack_size = RN_BOX_CHILD_STACK;

    /* No signal handler of the server may run in the child before it has
     * reset them all. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    /* Network and IPC namespaces made ahead: enter them for the clone. */
    bool ahead = false;
    if (ctx->ahead && ctx->home_net >= 0 &&
        rn_ahead_take_ns(ctx->ahead, &ahead_net, &ahead_ipc) == 0) {
        ahead = enter_ahead(ctx, ahead_net, ahead_ipc, s->network);
        if (ahead) {
            ca.flags &= ~(uint64_t)(CLONE_NEWNET | CLONE_NEWIPC);
            spec->network = false; /* up already, and not the run's to change */
        }
    }
    long pid;
    if (rn_child_has_clone3()) {
        pid = rn_clone3(&ca, ca_size, rn_child_main, spec);
    } else {
        ca.stack = ca.stack_size = 0;
        pid = syscall(SYS_clone3, &ca, ca_size);
        if (pid == 0)
            _exit(rn_child_main(spec));
        pid = pid < 0 ? -errno : pid;
    }
    if (ahead)
        leave_ahead(ctx);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (ahead_net >= 0) {
        close(ahead_net);
        close(ahead_ipc);
        ahead_net = ahead_ipc = -1;
    }
    if (pid < 0) {
        r = (int)pid;
        goto fail;
    }
    for (int i = 0; i < ncg; i++)
        close(cgfds[i]);
    ncg = 0;
    if (!shared)
        release_setup(box);
    box->pid = (pid_t)pid;
    box->pidfd = pidfd;
    box->start_ns = now_ns();

    close(sp[0]);
    close(ep[1]);
    close(in[0]);
    close(outp[1]);
    close(errp[1]);
    sp[0] = ep[1] = in[0] = outp[1] = errp[1] = -1;
    box->errpipe = ep[0];
    box->in_fd = s->stdin_null ? -1 : in[1];
    if (s->stdin_null && in[1] >= 0)
        close(in[1]);
    box->out_fd = outp[0];
    box->err_fd = errp[0];
    box->sync_w = sp[1];
    ep[0] = in[1] = outp[0] = errp[0] = sp[1] = -1;

    /* The maps: 1000 inside is the run's own host uid (or ours, rootless).
     * Rootful runs keep setgroups allowed so the child can drop the
     * supplementary groups it inherited from root. */
    char map[64];
    snprintf(map, sizeof(map), "%d %u 1\n", RN_BOX_INNER_ID, (unsigned)box->uid);
    r = write_proc(box->pid, "uid_map", map);
    if (r == 0 && !ctx->root)
        r = write_proc(box->pid, "setgroups", "deny");
    snprintf(map, sizeof(map), "%d %u 1\n", RN_BOX_INNER_ID, (unsigned)gid);
    if (r == 0)
        r = write_proc(box->pid, "gid_map", map);
    if (r < 0) {
        box->pstage = RN_BOX_STAGE_UIDMAP;
        box->perr = -r;
    } else if (box->cg.version == 2 && box->cg.v2fd < 0) {
        r = rn_cgroup_attach(&box->cg, box->pid);
        if (r < 0) {
            box->pstage = RN_BOX_STAGE_CGROUP;
            box->perr = -r;
        }
    }
    /* One byte: the maps are written, build the sandbox. A second (go())
     * starts the program; a cold start sends both at once. */
    if (!box->pstage && write(box->sync_w, "gg", run_ready ? 2 : 1) != (run_ready ? 2 : 1)) {
        box->pstage = RN_BOX_STAGE_SYNC;
        box->perr = errno;
    }
    if (box->pstage)
        syscall(SYS_pidfd_send_signal, box->pidfd, SIGKILL, NULL, 0);
    if (run_ready || box->pstage) {
        close(box->sync_w);
        box->sync_w = -1;
    }

    set_nonblock(box->out_fd);
    set_nonblock(box->err_fd);
    set_nonblock(box->errpipe);
    if (box->in_fd >= 0)
        set_nonblock(box->in_fd);
    set_nonblock(box->pidfd);
    return 0;

fail:;
    int all_fds[] = {in[0], in[1], outp[0], outp[1], errp[0], errp[1], ep[0], ep[1], sp[0], sp[1]};
    for (size_t i = 0; i < sizeof(all_fds) / sizeof(all_fds[0]); i++)
        if (all_fds[i] >= 0)
            close(all_fds[i]);
    for (int i = 0; i < ncg; i++)
        close(cgfds[i]);
    if (ahead_net >= 0)
        close(ahead_net);
    if (ahead_ipc >= 0)
        close(ahead_ipc);
    return r;
}

/* Undo a box whose begin failed (nothing was cloned). */
static void box_discard(rn_box *box)
{
    rn_box_context *ctx = box->ctx;
    if (box->cg.version) {
        rn_cgroup_destroy(&box->cg);
        rn_cgroup_run_free(&box->cg);
    }
    if (box->uid_owned)
        uid_release(ctx, box->uid);
    release_setup(box);
    shape_free(&box->shape);
    free(box);
}

/* The run starts now: its wall clock, and (for a warm box) the byte that
 * lets the child start the program. */
static void box_go(rn_box *box)
{
    if (box->sync_w >= 0) {
        if (write(box->sync_w, "g", 1) != 1) {
            box->pstage = RN_BOX_STAGE_SYNC;
            box->perr = errno;
            syscall(SYS_pidfd_send_signal, box->pidfd, SIGKILL, NULL, 0);
        }
        close(box->sync_w);
        box->sync_w = -1;
    }
    box->start_ns = now_ns();
    if (box->ctx->ahead) {
        rn_ahead_running(box->ctx->ahead, true);
        box->ahead_running = true;
    }
}

/* Take the i-th warm box out of the pool (oldest first). */
static rn_box *warm_remove(rn_box_context *ctx, unsigned i)
{
    rn_box *box = ctx->warm[i];
    memmove(&ctx->warm[i], &ctx->warm[i + 1], (ctx->nwarm - i - 1) * sizeof(ctx->warm[0]));
    ctx->nwarm--;
    return box;
}

/* A warm box of this shape whose child is still waiting, or NULL. */
static rn_box *warm_take(rn_box_context *ctx, const box_shape *s)
{
    for (unsigned i = 0; i < ctx->nwarm; i++) {
        if (!shape_eq(&ctx->warm[i]->shape, s))
            continue;
        rn_box *box = warm_remove(ctx, i);
        struct pollfd p[2] = {{box->pidfd, POLLIN, 0}, {box->errpipe, POLLIN, 0}};
        if (poll(p, 2, 0) == 0)
            return box;
        /* It failed or was killed while it waited: a fresh one. */
        rn_box_free(box);
        i = (unsigned)-1;
    }
    return NULL;
}

int rn_box_spawn(rn_box_context *ctx, const rn_box_options *opts, rn_box **out)
{
    int r = check_options(opts, true);
    if (r < 0)
        return r;
    rn_box *box = NULL;
    if (warm_eligible(ctx, opts)) {
        box_shape s;
        shape_of(opts, &s);
        box = warm_take(ctx, &s);
    }
    if (box) {
        if ((r = fill_run(box, opts)) < 0) {
            rn_box_free(box);
            return r;
        }
        box_go(box);
        *out = box;
        return 0;
    }
    if (!(box = box_new(ctx)))
        return -ENOMEM;
    shape_of(opts, &box->shape);
    if ((r = fill_run(box, opts)) < 0 || (r = box_begin(box, opts, true)) < 0) {
        box_discard(box);
        return r;
    }
    box_go(box);
    *out = box;
    return 0;
}

int rn_box_warm(rn_box_context *ctx, const rn_box_options *opts)
{
    int r = check_options(opts, false);
    if (r < 0)
        return r;
    if (!warm_eligible(ctx, opts))
        return 0;
    box_shape s;
    shape_of(opts, &s);
    unsigned same = 0;
    for (unsigned i = 0; i < ctx->nwarm; i++)
        same += shape_eq(&ctx->warm[i]->shape, &s);
    if (same >= ctx->warm_max)
        return 0;
    if (ctx->nwarm == ctx->warm_max) { /* the oldest of another shape makes room */
        for (unsigned i = 0; i < ctx->nwarm; i++) {
            if (shape_eq(&ctx->warm[i]->shape, &s))
                continue;
            rn_box_free(warm_remove(ctx, i));
            break;
        }
    }
    rn_box *box = box_new(ctx);
    if (!box)
        return -ENOMEM;
    box->shape = s;
    if ((r = shape_own(&box->shape)) < 0 || (r = box_begin(box, opts, false)) < 0) {
        box_discard(box);
        return r;
    }
    if (box->pstage) { /* the child is gone already */
        r = box->perr ? -box->perr : -EIO;
        rn_box_free(box);
        return r;
    }
    ctx->warm[ctx->nwarm++] = box;
    return 1;
}

unsigned rn_box_warm_count(const rn_box_context *ctx)
{
    return ctx->nwarm;
}

int rn_box_stdin_fd(const rn_box *box)
{
    return box->in_fd;
}

int rn_box_stdout_fd(const rn_box *box)
{
    return box->out_fd;
}

int rn_box_stderr_fd(const rn_box *box)
{
    return box->err_fd;
}

int rn_box_pidfd(const rn_box *box)
{
    return box->pidfd;
}

pid_t rn_box_pid(const rn_box *box)
{
    return box->pid;
}

uint64_t rn_box_wall_left_ms(const rn_box *box)
{
    uint64_t el = (now_ns() - box->start_ns) / 1000000;
    return el >= box->wall_ms ? 0 : box->wall_ms - el;
}

void rn_box_close_stdin(rn_box *box)
{
    if (box->in_fd >= 0)
        close(box->in_fd);
    box->in_fd = -1;
}

int rn_box_kill(rn_box *box, rn_box_reason why)
{
    if (box->reaped)
        return 0;
    if (!box->killed) {
        box->killed = true;
        box->kill_reason = why;
    }
    /* SIGKILL to the namespace's init takes every process in it along; the
     * cgroup pass catches anything caught mid-fork. */
    int r = 0;
    if (syscall(SYS_pidfd_send_signal, box->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        r = -errno;
    rn_cgroup_kill(&box->cg);
    return r;
}

/* What the child read during set-up: its own copy, or (when it shared our
 * memory) ours until it exec'd, i.e. until reap. */
static void release_setup(rn_box *box)
{
    if (box->stack)
        stack_put(box->ctx, box->stack);
    box->stack = NULL;
    free(box->exec_paths);
    box->exec_paths = NULL;
    rn_plan_free(&box->plan);
    rn_plan_free(&box->run);
}

static void release_cgroup(rn_box *box, bool early)
{
    if (!box->cg.version)
        return;
    /* Early, the init is exiting: its pid namespace takes every process of
     * the run with it. */
    if (!early)
        rn_cgroup_kill(&box->cg);
    if (box->ctx->ahead) {
        rn_ahead_retire_cgroup(box->ctx->ahead, &box->cg);
        return;
    }
    /* The namespace is empty once init is reaped, but the cgroup may lag a
     * few hundred microseconds behind; what is still busy is retried later. */
    for (int i = 0; i < 5; i++) {
        if (rn_cgroup_destroy(&box->cg) != -EBUSY) {
            rn_cgroup_run_free(&box->cg);
            box->cg.version = 0;
            return;
        }
        usleep(200);
    }
    rn_box_context *ctx = box->ctx;
    rn_cgroup_run *z = realloc(ctx->zombies, (ctx->nzombies + 1) * sizeof(*z));
    if (!z) {
        rn_cgroup_run_free(&box->cg);
    } else {
        ctx->zombies = z;
        ctx->zombies[ctx->nzombies++] = box->cg;
    }
    memset(&box->cg, 0, sizeof(box->cg));
    box->cg.v2fd = -1;
}

/* Read what the init has written so far (whole records: each is one
 * write far below PIPE_BUF) and find the set-up failure and the report. */
static void read_reports(rn_box *box, const rn_report **setup, const rn_report **report)
{
    while (!box->report_eof && box->rec_bytes < sizeof(box->recs)) {
        ssize_t n = read(box->errpipe, (char *)box->recs + box->rec_bytes,
                         sizeof(box->recs) - box->rec_bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            box->report_eof = true;
        if (n <= 0)
            break;
        box->rec_bytes += (size_t)n;
    }
    *setup = *report = NULL;
    for (size_t i = 0; i < box->rec_bytes / sizeof(rn_report); i++) {
        if (box->recs[i].kind == RN_REPORT_SETUP && !*setup)
            *setup = &box->recs[i];
        else if (box->recs[i].kind == RN_REPORT_EXIT && !*report)
            *report = &box->recs[i];
    }
}

int rn_box_report_fd(const rn_box *box)
{
    return box->report_eof ? -1 : box->errpipe;
}

static int reap(rn_box *box, rn_box_result *res, bool block)
{
    if (box->reaped) {
        *res = box->res;
        return 0;
    }
    siginfo_t info;
    struct rusage ru;
    memset(&info, 0, sizeof(info));
    memset(&ru, 0, sizeof(ru));
    /* The init's records: a set-up failure, and its report of how the
     * program ended (absent when the init was killed: timeout, kill, OOM). */
    const rn_report *setup = NULL, *report = NULL;
    bool early = false;
    /* The pidfd is non-blocking (callers poll it), so a blocking reap
     * waits in poll rather than in waitid. */
    for (;;) {
        long r = syscall(SYS_waitid, P_PIDFD, box->pidfd, &info, WEXITED | WNOHANG, &ru);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EAGAIN)
            return -errno;
        if (r == 0 && info.si_pid != 0)
            break;
        if (!block) {
            /* runnel-init's report that the program has ended is the end
             * of the run: the init's own exit (its namespaces torn down)
             * is the kernel's business, and the context's thread reaps it
             * (so only with one: rn_box_free hands the init to it). */
            read_reports(box, &setup, &report);
            if (box->ctx->ahead && report && !setup && report->stage == RN_REPORT_FROM_INIT &&
                !box->pstage) {
                early = true;
                break;
            }
            return -EAGAIN;
        }
        struct pollfd pfd = {box->pidfd, POLLIN, 0};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            return -errno;
    }
    if (!early)
        read_reports(box, &setup, &report);

    rn_box_result *o = &box->res;
    memset(o, 0, sizeof(*o));
    o->wall_ms = (now_ns() - box->start_ns) / 1000000;
    uint64_t ru_ms, maxrss_kb;
    bool exited;
    int sig, code;
    if (report) {
        int st = report->status;
        exited = WIFEXITED(st);
        code = exited ? WEXITSTATUS(st) : -1;
        sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        ru_ms = report->cpu_us / 1000;
        maxrss_kb = report->maxrss_kb;
    } else {
        exited = info.si_code == CLD_EXITED;
        code = exited ? info.si_status : -1;
        sig = exited ? 0 : info.si_status;
        ru_ms = (uint64_t)ru.ru_utime.tv_sec * 1000 + (uint64_t)ru.ru_utime.tv_usec / 1000 +
                (uint64_t)ru.ru_stime.tv_sec * 1000 + (uint64_t)ru.ru_stime.tv_usec / 1000;
        maxrss_kb = (uint64_t)ru.ru_maxrss;
    }
    uint64_t cg_ns = 0, peak = 0, ooms = 0;
    if (box->cg.version)
        rn_cgroup_stats(&box->cg, &cg_ns, &peak, &ooms);
    o->cpu_ms = cg_ns ? cg_ns / 1000000 : ru_ms;
    o->memory_peak = peak ? peak : maxrss_kb * 1024;
    o->exit_code = -1;
    o->signal = sig;
    uint64_t cpu_soft_ms = (box->cpu_ms + 999) / 1000 * 1000;

    if (box->pstage) {
        o->reason = RN_BOX_SETUP_FAILED;
        o->setup_stage = box->pstage;
        o->setup_errno = box->perr;
    } else if (setup) {
        o->reason = RN_BOX_SETUP_FAILED;
        o->setup_stage = (rn_box_stage)setup->stage;
        o->setup_errno = setup->err;
    } else if (box->killed && !exited) {
        o->reason = box->kill_reason;
    } else if (ooms > 0) {
        o->reason = RN_BOX_MEMORY_LIMIT;
    } else if (sig == SIGXCPU || (sig == SIGKILL && ru_ms + 100 >= cpu_soft_ms)) {
        /* RLIMIT_CPU's SIGKILL (SIGXCPU: a program that lowered its own
         * soft limit). */
        o->reason = RN_BOX_CPU_LIMIT;
    } else if (exited) {
        o->reason = RN_BOX_EXITED;
        o->exit_code = code;
    } else {
        o->reason = RN_BOX_SIGNALED;
    }
    if (o->reason == RN_BOX_SETUP_FAILED)
        o->signal = 0;

    release_cgroup(box, early);
    if (box->ahead_running) {
        rn_ahead_running(box->ctx->ahead, false);
        box->ahead_running = false;
    }
    /* Early, the init is runnel-init: nothing of ours is in use any more
     * but its uid, freed once it is reaped. */
    release_setup(box);
    if (box->uid_owned && !early) {
        uid_release(box->ctx, box->uid);
        box->uid_owned = false;
    }
    box->init_pending = early;
    box->reaped = true;
    *res = *o;
    return 0;
}

int rn_box_reap(rn_box *box, rn_box_result *res)
{
    return reap(box, res, false);
}

int rn_box_wait(rn_box *box, rn_box_result *res)
{
    for (;;) {
        int r = reap(box, res, false);
        if (r != -EAGAIN)
            return r;
        uint64_t left = rn_box_wall_left_ms(box);
        if (left == 0 && !box->killed) {
            rn_box_kill(box, RN_BOX_TIMEOUT);
            continue;
        }
        struct pollfd pfd = {box->pidfd, POLLIN, 0};
        int t = box->killed ? -1 : (left > INT_MAX ? INT_MAX : (int)left);
        if (poll(&pfd, 1, t) < 0 && errno != EINTR)
            return -errno;
    }
}

void rn_box_free(rn_box *box)
{
    if (!box)
        return;
    if (!box->reaped) {
        rn_box_result res;
        rn_box_kill(box, RN_BOX_KILLED);
        reap(box, &res, true);
    }
    if (box->init_pending) {
        /* Its init is still exiting: the context's thread reaps it, and
         * gives its uid back. */
        rn_ahead_linger(box->ctx->ahead, box->pidfd, box->uid, box->uid_owned);
        box->pidfd = -1;
        box->uid_owned = false;
    }
    int fds[] = {box->pidfd, box->in_fd, box->out_fd, box->err_fd, box->errpipe, box->sync_w};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (box->cg.version) {
        rn_cgroup_destroy(&box->cg);
        rn_cgroup_run_free(&box->cg);
    }
    if (box->uid_owned)
        uid_release(box->ctx, box->uid);
    release_setup(box);
    shape_free(&box->shape);
    free(box);
}

const char *rn_box_reason_name(rn_box_reason r)
{
    static const char *const names[] = {"exited", "signaled",     "timeout", "cpu_limit",
                                        "oom",    "output_limit", "killed",  "setup_failed"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

const char *rn_box_stage_name(rn_box_stage s)
{
    static const char *const names[] = {"none",    "clone",   "sync",   "uidmap", "cgroup", "mount",
                                        "pivot",   "network", "rlimit", "creds",  "caps",   "fds",
                                        "seccomp", "exec",    "files",  "cwd"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
