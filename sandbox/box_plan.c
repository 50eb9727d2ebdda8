/* The set-up plan the parent builds and the child executes: the part of
 * the root every run shares, a run's own part (its /tmp, /work and binds),
 * and what its program gets once told to go (files, argv, env, cwd,
 * rlimits). Every path is resolved and every string formatted here; the
 * child only turns each op into a system call or two. */
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

/* Make the plan own s (freed with it); NULL, and s freed, on ENOMEM. */
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

/* Whether the plan has an op of this kind at path. */
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

/* Plan a generated file at path (inside) holding text. */
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

/* Masked in every run's /proc (see box_plan_system). */
static const char *const proc_masked[] = {
    "/proc/cmdline",    "/proc/sys/kernel/random/boot_id",
    "/proc/interrupts", "/proc/sched_debug",
    "/proc/timer_list", "/proc/timer_stats",
    "/proc/keys",       "/proc/latency_stats",
    "/proc/kcore",
};

/* /dev: a small tmpfs with the harmless host nodes bound in, read-only. */
static int plan_dev(rn_plan *plan)
{
    int r;
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

    return 0;
}

/* A proc of the run's own pid namespace, /proc/sys read-only, the
 * host-identifying files masked. */
static int plan_proc(rn_plan *plan)
{
    int r;
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

    return 0;
}

/* The part of the root that is the same for every run. */
int box_plan_system(rn_box_context *ctx, const rn_box_bind *binds, size_t nbinds)
{
    if (!binds) {
        binds = default_binds;
        nbinds = sizeof(default_binds) / sizeof(default_binds[0]);
    }
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

    if ((r = plan_dev(plan)) < 0 || (r = plan_proc(plan)) < 0)
        return r;

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

/* v, at most the caller's own hard limit of res. */
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

bool rn_box_file_name_ok(const char *name)
{
    if (!name || !*name || strlen(name) > RN_BOX_FILE_NAME_MAX)
        return false;
    unsigned depth = 0;
    for (const char *seg = name; seg; depth++) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (!len || len >= NAME_MAX || (seg[0] == '.' && (len == 1 || (len == 2 && seg[1] == '.'))))
            return false;
        seg = slash ? slash + 1 : NULL;
    }
    return depth <= RN_BOX_FILE_DEPTH;
}

/* The directories above a file in /work ("lib" and "lib/x" for
 * "lib/x/y.py"), made before it is written; one already there is fine. */
static int plan_file_dirs(rn_plan *run, const char *name)
{
    for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/')) {
        rn_op op = {.kind = RN_OP_MKDIR,
                    .mode = 0755,
                    .path = rn_plan_fmt(run, "/work/%.*s", (int)(s - name), name)};
        int r = op.path ? rn_plan_add(run, &op) : -ENOMEM;
        if (r < 0)
            return r;
    }
    return 0;
}

/* As root, a writable host directory must be writable by the run's host uid:
 * hand the top directory (never a symlink) over to it, with the caller's
 * mode bits for group and others (a build directory stays 0700: the run's
 * alone; a directory later runs of other uids read must be made so). */
static int chown_top(const char *path, uid_t uid, gid_t gid)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fchown(fd, uid, gid) < 0 || fstat(fd, &st) < 0 ||
        fchmod(fd, (st.st_mode & 07777) | 0700) < 0)
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

/* A copy of len bytes of data, owned by the plan. */
static const void *copy_mem(rn_plan *plan, const void *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (copy && len)
        memcpy(copy, data, len);
    return copy ? plan_keep(plan, copy) : NULL;
}

int box_check_options(const rn_box_options *opts, bool run)
{
    if (!opts || (opts->nbinds && !opts->binds) || (opts->nfiles && !opts->files))
        return -EINVAL;
    if (run && (!opts->argv || !opts->argv[0] || !*opts->argv[0]))
        return -EINVAL;
    for (size_t i = 0; i < opts->nfiles; i++)
        if (!rn_box_file_name_ok(opts->files[i].name) ||
            (opts->files[i].len && !opts->files[i].data))
            return -EINVAL;
    if (opts->cwd && opts->cwd[0] != '/')
        return -EINVAL;
    return 0;
}

/* The run's part, which the child reads once it is told to go: its files,
 * argv, env, cwd and rlimits, in box->run (never in box->plan, which a warm
 * child may be reading while this is written). */
int box_plan_run(rn_box *box, const rn_box_options *opts)
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
        if ((r = plan_file_dirs(run, f->name)) < 0)
            return r;
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
    uint64_t data = ctx->cg.version ? 0 : s->mem; /* see box.h: cgroup memory when it exists */
    if (opts->data_bytes && (!data || opts->data_bytes < data))
        data = opts->data_bytes;
    if (data)
        add_rlimit(spec, ctx, RLIMIT_DATA, data, data);
    return 0;
}

int box_plan_root(rn_box *box, const rn_box_options *opts, gid_t gid)
{
    rn_box_context *ctx = box->ctx;
    uint64_t tmp = box->shape.tmp;
    int r;
    uint64_t inodes = tmp / 4096 < 1024 ? 1024 : tmp / 4096;
    if ((r = plan_mkdirs(&box->plan, &ctx->plan, "/tmp", true)) < 0)
        return r;
    rn_op tmpfs = {.kind = RN_OP_TMPFS,
                   .path = RN_BOX_STAGE "/tmp",
                   .mflags = MS_NOSUID | MS_NODEV,
                   .data = rn_plan_fmt(&box->plan, "mode=1777,size=%" PRIu64 ",nr_inodes=%" PRIu64,
                                       tmp, inodes)};
    if (!tmpfs.data)
        return -ENOMEM;
    if ((r = rn_plan_add(&box->plan, &tmpfs)) < 0)
        return r;
    if (opts->nbinds + 1 > RN_BOX_MAX_BINDS - ctx->nbinds)
        return -E2BIG;
    if (opts->workdir) {
        if (ctx->root)
            r = chown_top(opts->workdir, box->uid, gid);
        else
            r = access(opts->workdir, W_OK) < 0 ? -errno : 0;
        if (r < 0)
            return r;
        r = plan_bind(&box->plan, &ctx->plan, opts->workdir, true, "/work",
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
    } else {
        if ((r = plan_mkdirs(&box->plan, &ctx->plan, "/work", true)) < 0)
            return r;
        rn_op work = {.kind = RN_OP_TMPFS,
                      .path = RN_BOX_STAGE "/work",
                      .mflags = MS_NOSUID | MS_NODEV,
                      .data = rn_plan_fmt(
                          &box->plan, "mode=0755,uid=%d,gid=%d,size=%" PRIu64 ",nr_inodes=%" PRIu64,
                          RN_BOX_INNER_ID, RN_BOX_INNER_ID, tmp, inodes)};
        r = work.data ? rn_plan_add(&box->plan, &work) : -ENOMEM;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; i < opts->nbinds; i++) {
        const rn_box_bind *b = &opts->binds[i];
        const char *dst = b->dst ? b->dst : b->src;
        if (!b->src || !valid_dst(dst))
            return -EINVAL;
        struct stat st;
        if (stat(b->src, &st) < 0) {
            if (b->optional && errno == ENOENT)
                continue;
            return -errno;
        }
        uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        if (b->writable) {
            if (ctx->root && S_ISDIR(st.st_mode) && (r = chown_top(b->src, box->uid, gid)) < 0)
                return r;
        } else {
            attr |= MOUNT_ATTR_RDONLY;
        }
        r = plan_bind(&box->plan, &ctx->plan, b->src, S_ISDIR(st.st_mode), dst, attr,
                      b->optional ? RN_OPF_OPTIONAL : 0);
        if (r < 0)
            return r;
    }

    return 0;
}
