/* cgroup limits for runs: v2 when its memory and pids controllers are usable,
 * else v1 (memory, pids, cpu, cpuacct hierarchies), else none. Runs live in a
 * sub-tree of the cgroup the process itself is in, so a delegated subtree
 * (systemd Delegate=yes, or a rootless user's own slice) is enough. */
#include "box_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const ctrl_names[RN_CG_NCTRL] = {"memory", "pids", "cpu", "cpuacct"};

static int write_str(const char *dir, const char *file, const char *val)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(val);
    int ret = write(fd, val, len) == (ssize_t)len ? 0 : -errno;
    close(fd);
    return ret;
}

static int write_u64(const char *dir, const char *file, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return write_str(dir, file, buf);
}

static ssize_t read_small(const char *dir, const char *file, char *buf, size_t size)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int err = errno;
    close(fd);
    if (n < 0)
        return -err;
    buf[n] = '\0';
    return n;
}

/* The number after "key " in a flat-keyed file (memory.events, cpu.stat). */
static uint64_t read_key(const char *dir, const char *file, const char *key)
{
    char buf[2048];
    if (read_small(dir, file, buf, sizeof(buf)) < 0)
        return 0;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (!strncmp(line, key, klen) && line[klen] == ' ')
            return strtoull(line + klen + 1, NULL, 10);
    }
    return 0;
}

static uint64_t read_num(const char *dir, const char *file)
{
    char buf[64];
    if (read_small(dir, file, buf, sizeof(buf)) < 0)
        return 0;
    return strtoull(buf, NULL, 10);
}

static bool has_token(const char *list, const char *tok, char sep)
{
    size_t n = strlen(tok);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, tok, n))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* Our own path in the hierarchy holding ctrl ("" for the v2 line). */
static int own_path(const char *ctrl, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -errno;
    char line[1024];
    int ret = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        bool match =
            *ctrl ? has_token(c1 + 1, ctrl, ',') : (c1[1] == '\0' && !strncmp(line, "0:", 2));
        if (match) {
            snprintf(out, size, "%s", c2 + 1);
            ret = 0;
            break;
        }
    }
    fclose(f);
    return ret;
}

/* The mount point of the hierarchy for ctrl (v1), or of cgroup2 (ctrl ""),
 * with the mount's root (a container may see a sub-tree only). */
static int find_mount(const char *ctrl, char *mnt, size_t msize, char *root, size_t rsize)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -errno;
    char line[4096];
    int ret = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        char fstype[32], src[256], opts[1024];
        if (sscanf(sep + 3, "%31s %255s %1023s", fstype, src, opts) != 3)
            continue;
        bool match = *ctrl ? !strcmp(fstype, "cgroup") && has_token(opts, ctrl, ',')
                           : !strcmp(fstype, "cgroup2");
        if (!match)
            continue;
        char r[1024], m[1024];
        if (sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2)
            continue;
        snprintf(mnt, msize, "%s", m);
        snprintf(root, rsize, "%s", r);
        ret = 0;
        break;
    }
    fclose(f);
    return ret;
}

/* <mount>/<own path relative to the mount's root>/<name> */
static int base_dir(const char *ctrl, const char *name, char **out)
{
    char mnt[1024], root[1024], own[1024];
    int r = find_mount(ctrl, mnt, sizeof(mnt), root, sizeof(root));
    if (r < 0)
        return r;
    r = own_path(ctrl, own, sizeof(own));
    if (r < 0)
        return r;
    const char *rel = own;
    size_t rl = strlen(root);
    if (strcmp(root, "/") && !strncmp(own, root, rl))
        rel = own + rl;
    while (*rel == '/')
        rel++;
    char path[PATH_MAX];
    int n = *rel ? snprintf(path, sizeof(path), "%s/%s", mnt, rel)
                 : snprintf(path, sizeof(path), "%s", mnt);
    if (n >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (name && snprintf(path + n, sizeof(path) - n, "/%s", name) >= (int)(sizeof(path) - n))
        return -ENAMETOOLONG;
    *out = strdup(path);
    return *out ? 0 : -ENOMEM;
}

/* mkdir that accepts an existing directory, as long as we can create run
 * cgroups inside it (it may be another user's). */
static int mkdir_ok(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return access(path, W_OK | X_OK) < 0 ? -errno : 0;
}

static void kill_procs(const char *dir);

/* When pid started, in seconds since the epoch (0 when unknown). */
static time_t started_at(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 22, counted after the command's closing parenthesis (field 2). */
    char *p = strrchr(buf, ')');
    unsigned long long ticks = 0;
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
        return 0;
    f = fopen("/proc/stat", "re");
    if (!f)
        return 0;
    unsigned long long btime = 0;
    char line[256];
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return btime && hz > 0 ? (time_t)(btime + ticks / (unsigned long long)hz) : 0;
}

/* Whether the process that made a run cgroup (its name's pid, the
 * directory made at made) is still alive: a process holding that pid now
 * but started after the directory was made is another one. */
static bool owner_alive(pid_t pid, time_t made)
{
    if (pid == getpid())
        return true;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    time_t start = started_at(pid);
    /* Boot time is whole seconds: a little slack. */
    return !start || start <= made + 2;
}

/* Remove up to 64 of the run cgroups ("<pid>-<seq>", "<pid>-a<seq>") a
 * process that is gone left behind in dir (SIGKILLed, or it died before its
 * thread removed them), killing whatever is still in them first. Waits up
 * to about 2 s for killed processes to leave; what still cannot be removed
 * is left. Returns whether there may be more. */
static bool sweep_batch(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    char stale[64][NAME_MAX + 1];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < sizeof(stale) / sizeof(stale[0])) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (e->d_type != DT_DIR || end == e->d_name || *end != '-' || pid <= 0 || pid > INT_MAX)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            owner_alive((pid_t)pid, st.st_ctime))
            continue;
        snprintf(stale[n++], sizeof(stale[0]), "%s", e->d_name);
    }
    closedir(d);
    bool full = n == sizeof(stale) / sizeof(stale[0]);
    for (int pass = 0; n && pass < 100; pass++) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof(path), "%s/%s", dir, stale[i]) >= (int)sizeof(path))
                continue;
            if (pass == 0 && write_str(path, "cgroup.kill", "1") < 0)
                kill_procs(path);
            else if (pass > 0)
                kill_procs(path);
            if (rmdir(path) < 0 && errno == EBUSY)
                memmove(stale[left++], stale[i], sizeof(stale[0]));
        }
        n = left;
        if (n) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return full;
}

/* sweep_batch until a batch is not full (at most 16 of them). */
static void sweep_stale(const char *dir)
{
    for (int i = 0; i < 16 && sweep_batch(dir); i++)
        ;
}

/* Whether pid is the only process in a v2 cgroup directory. */
static bool only_process(const char *dir, pid_t pid)
{
    char buf[256];
    if (read_small(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
        return false;
    char *end;
    long first = strtol(buf, &end, 10);
    while (*end == '\n')
        end++;
    return first == pid && *end == '\0';
}

/* Runs under <base>/<name>, controllers enabled on the way down. */
static int probe_v2_at(rn_cgroup_root *cg, const char *base, const char *name)
{
    char *self = NULL;
    char buf[512] = "";
    int r = (int)read_small(base, "cgroup.controllers", buf, sizeof(buf));
    buf[strcspn(buf, "\n")] = '\0';
    if (r < 0 || !has_token(buf, "memory", ' ') || !has_token(buf, "pids", ' ')) {
        snprintf(cg->why, sizeof(cg->why), "v2: memory/pids controllers not available in %s", base);
        r = -ENOTSUP;
        goto out;
    }
    bool cpu = has_token(buf, "cpu", ' ');
    const char *enable = cpu ? "+memory +pids +cpu" : "+memory +pids";
    r = write_str(base, "cgroup.subtree_control", enable);
    if (r == -EBUSY && only_process(base, getpid())) {
        /* "No internal processes": a non-root cgroup with processes in it
         * cannot hand controllers down, so this process, when alone there
         * (a service with Delegate=yes), moves into a leaf of its own. */
        if (asprintf(&self, "%s/%s.self", base, name) < 0) {
            self = NULL;
            r = -ENOMEM;
            goto out;
        }
        r = mkdir_ok(self);
        if (r == 0)
            r = write_str(self, "cgroup.procs", "0");
        if (r == 0)
            r = write_str(base, "cgroup.subtree_control", enable);
    }
    if (r < 0) {
        snprintf(cg->why, sizeof(cg->why), "v2: enabling controllers in %s: %s", base,
                 r == -EBUSY ? "other processes live there" : strerror(-r));
        goto out;
    }
    if (asprintf(&cg->v2dir, "%s/%s", base, name) < 0) {
        cg->v2dir = NULL;
        r = -ENOMEM;
        goto out;
    }
    r = mkdir_ok(cg->v2dir);
    if (r == 0)
        r = write_str(cg->v2dir, "cgroup.subtree_control", enable);
    if (r < 0) {
        snprintf(cg->why, sizeof(cg->why), "v2: %s: %s", cg->v2dir, strerror(-r));
        free(cg->v2dir);
        cg->v2dir = NULL;
        goto out;
    }
    sweep_stale(cg->v2dir);
    char swap[PATH_MAX];
    snprintf(swap, sizeof(swap), "%s/memory.swap.max", cg->v2dir);
    cg->v2_swap = access(swap, F_OK) == 0;
    cg->version = 2;
    snprintf(cg->why, sizeof(cg->why), "v2 at %s", cg->v2dir);
out:
    free(self);
    return r;
}

static int probe_v2(rn_cgroup_root *cg, const char *name)
{
    char *own = NULL, *top = NULL;
    int r = base_dir("", NULL, &own);
    if (r < 0) {
        snprintf(cg->why, sizeof(cg->why), "v2: no cgroup2 mount");
        return r;
    }
    r = probe_v2_at(cg, own, name);
    /* Root started from a shell shares its cgroup with the shell: the top of
     * the hierarchy has no "no internal processes" rule. */
    if (r < 0 && geteuid() == 0) {
        char mnt[1024], root[1024];
        if (find_mount("", mnt, sizeof(mnt), root, sizeof(root)) == 0 && !strcmp(root, "/") &&
            strcmp(mnt, own) && (top = strdup(mnt)) != NULL) {
            char first[160];
            snprintf(first, sizeof(first), "%s", cg->why);
            r = probe_v2_at(cg, top, name);
            if (r < 0) {
                char second[160];
                snprintf(second, sizeof(second), "%s", cg->why);
                snprintf(cg->why, sizeof(cg->why), "%.75s; %.75s", first, second);
            }
        }
    }
    free(own);
    free(top);
    return r;
}

static int probe_v1(rn_cgroup_root *cg, const char *name)
{
    int r = 0;
    for (int i = 0; i < RN_CG_NCTRL; i++) {
        r = base_dir(ctrl_names[i], name, &cg->dir[i]);
        if (r == 0)
            r = mkdir_ok(cg->dir[i]);
        if (r < 0) {
            free(cg->dir[i]);
            cg->dir[i] = NULL;
            if (i == RN_CG_MEMORY || i == RN_CG_PIDS) {
                snprintf(cg->why, sizeof(cg->why), "v1 %s: %s", ctrl_names[i],
                         r == -ENOENT ? "not mounted" : strerror(-r));
                goto out;
            }
        }
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", cg->dir[RN_CG_MEMORY]);
    cg->memsw = access(path, F_OK) == 0;
    for (int i = 0; i < RN_CG_NCTRL; i++)
        if (cg->dir[i] &&
            (i != RN_CG_CPUACCT || !cg->dir[RN_CG_CPU] || strcmp(cg->dir[i], cg->dir[RN_CG_CPU])))
            sweep_stale(cg->dir[i]);
    cg->version = 1;
    snprintf(cg->why, sizeof(cg->why), "v1 at %s (memory%s, pids%s%s)", cg->dir[RN_CG_MEMORY],
             cg->memsw ? "+swap" : "", cg->dir[RN_CG_CPU] ? ", cpu" : "",
             cg->dir[RN_CG_CPUACCT] ? ", cpuacct" : "");
    r = 0;
out:
    if (r < 0)
        for (int i = 0; i < RN_CG_NCTRL; i++) {
            free(cg->dir[i]);
            cg->dir[i] = NULL;
        }
    return r;
}

void rn_cgroup_probe(rn_cgroup_root *cg, const char *name)
{
    memset(cg, 0, sizeof(*cg));
    char why2[160];
    if (probe_v2(cg, name) == 0)
        return;
    snprintf(why2, sizeof(why2), "%s", cg->why);
    snprintf(cg->why_v2, sizeof(cg->why_v2), "%s", cg->why);
    if (probe_v1(cg, name) == 0)
        return;
    char why1[160];
    snprintf(why1, sizeof(why1), "%s", cg->why);
    snprintf(cg->why, sizeof(cg->why), "%.75s; %.75s", why2, why1);
    snprintf(cg->why_v1, sizeof(cg->why_v1), "%s", why1);
}

void rn_cgroup_root_free(rn_cgroup_root *cg)
{
    for (int i = 0; i < RN_CG_NCTRL; i++)
        free(cg->dir[i]);
    free(cg->v2dir);
    memset(cg, 0, sizeof(*cg));
}

int rn_cgroup_create(const rn_cgroup_root *root, const char *id, uint64_t memory_bytes,
                     unsigned pids, rn_cgroup_run *run)
{
    int r = 0;
    memset(run, 0, sizeof(*run));
    run->v2fd = -1;
    run->version = root->version;
    if (root->version == 2) {
        if (asprintf(&run->v2dir, "%s/%s", root->v2dir, id) < 0) {
            run->v2dir = NULL;
            r = -ENOMEM;
            goto out;
        }
        if (mkdir(run->v2dir, 0755) < 0) {
            r = -errno;
            free(run->v2dir);
            run->v2dir = NULL;
            goto out;
        }
        if (root->v2_swap)
            r = write_str(run->v2dir, "memory.swap.max", "0");
        if (r == 0)
            r = rn_cgroup_set_limits(root, run, UINT64_MAX, memory_bytes, pids);
        if (r == 0)
            write_str(run->v2dir, "cpu.max", "100000 100000"); /* optional */
        if (r == 0) {
            run->v2fd = open(run->v2dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (run->v2fd < 0)
                r = -errno;
        }
        goto out;
    }
    if (root->version != 1)
        goto out;
    for (int i = 0; i < RN_CG_NCTRL; i++) {
        if (!root->dir[i])
            continue;
        if (i == RN_CG_CPUACCT && run->dir[RN_CG_CPU] && root->dir[RN_CG_CPU] &&
            !strcmp(root->dir[i], root->dir[RN_CG_CPU]))
            continue; /* co-mounted with cpu: one directory serves both */
        if (asprintf(&run->dir[i], "%s/%s", root->dir[i], id) < 0) {
            run->dir[i] = NULL;
            r = -ENOMEM;
            goto out;
        }
        if (mkdir(run->dir[i], 0755) < 0) {
            r = -errno;
            free(run->dir[i]);
            run->dir[i] = NULL;
            goto out;
        }
    }
    /* Without memsw the run could swap past its limit: swappiness 0 keeps
     * it in RAM. */
    if (!root->memsw)
        write_str(run->dir[RN_CG_MEMORY], "memory.swappiness", "0");
    r = rn_cgroup_set_limits(root, run, UINT64_MAX, memory_bytes, pids);
    if (r == 0 && run->dir[RN_CG_CPU]) /* the period is the kernel's default 100 ms */
        write_str(run->dir[RN_CG_CPU], "cpu.cfs_quota_us", "100000");
out:
    if (r < 0) {
        rn_cgroup_destroy(run);
        rn_cgroup_run_free(run);
        run->version = 0;
    }
    return r;
}

int rn_cgroup_set_limits(const rn_cgroup_root *root, const rn_cgroup_run *run, uint64_t old_memory,
                         uint64_t memory_bytes, unsigned pids)
{
    int r = 0;
    if (run->version == 2) {
        if (memory_bytes != old_memory)
            r = write_u64(run->v2dir, "memory.max", memory_bytes);
        return r ? r : write_u64(run->v2dir, "pids.max", pids);
    }
    if (run->version != 1)
        return 0;
    /* memsw must stay >= limit_in_bytes: lower the limit first, raise
     * memsw first. */
    const char *dir = run->dir[RN_CG_MEMORY];
    if (memory_bytes != old_memory) {
        bool raise = memory_bytes > old_memory;
        if (raise && root->memsw)
            r = write_u64(dir, "memory.memsw.limit_in_bytes", memory_bytes);
        if (r == 0)
            r = write_u64(dir, "memory.limit_in_bytes", memory_bytes);
        if (r == 0 && !raise && root->memsw)
            r = write_u64(dir, "memory.memsw.limit_in_bytes", memory_bytes);
    }
    return r ? r : write_u64(run->dir[RN_CG_PIDS], "pids.max", pids);
}

int rn_cgroup_attach(const rn_cgroup_run *run, pid_t pid)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    if (run->version == 2)
        return write_str(run->v2dir, "cgroup.procs", buf);
    for (int i = 0; i < RN_CG_NCTRL; i++) {
        if (!run->dir[i])
            continue;
        int r = write_str(run->dir[i], "cgroup.procs", buf);
        if (r < 0)
            return r;
    }
    return 0;
}

int rn_cgroup_open_join(const rn_cgroup_run *run, int fds[RN_CG_NCTRL])
{
    int n = 0;
    if (run->version != 1)
        return 0;
    for (int i = 0; i < RN_CG_NCTRL; i++) {
        if (!run->dir[i])
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/tasks", run->dir[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            int r = -errno;
            while (n > 0)
                close(fds[--n]);
            return r;
        }
        fds[n++] = fd;
    }
    return n;
}

static void kill_procs(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    /* A process may fork between our read and our kill: a few passes. */
    for (int pass = 0; pass < 3; pass++) {
        FILE *f = fopen(path, "re");
        if (!f)
            return;
        int n = 0, pid;
        while (fscanf(f, "%d", &pid) == 1) {
            kill(pid, SIGKILL);
            n++;
        }
        fclose(f);
        if (n == 0)
            return;
    }
}

void rn_cgroup_kill(const rn_cgroup_run *run)
{
    if (run->version == 2 && run->v2dir) {
        if (write_str(run->v2dir, "cgroup.kill", "1") < 0)
            kill_procs(run->v2dir);
    } else if (run->version == 1 && run->dir[RN_CG_PIDS]) {
        kill_procs(run->dir[RN_CG_PIDS]);
    }
}

void rn_cgroup_stats(const rn_cgroup_run *run, uint64_t *cpu_ns, uint64_t *peak,
                     uint64_t *oom_kills)
{
    *cpu_ns = *peak = *oom_kills = 0;
    if (run->version == 2 && run->v2dir) {
        *cpu_ns = read_key(run->v2dir, "cpu.stat", "usage_usec") * 1000;
        *peak = read_num(run->v2dir, "memory.peak");
        *oom_kills = read_key(run->v2dir, "memory.events", "oom_kill");
    } else if (run->version == 1) {
        const char *acct = run->dir[RN_CG_CPUACCT] ? run->dir[RN_CG_CPUACCT] : run->dir[RN_CG_CPU];
        if (acct)
            *cpu_ns = read_num(acct, "cpuacct.usage");
        if (run->dir[RN_CG_MEMORY]) {
            *peak = read_num(run->dir[RN_CG_MEMORY], "memory.max_usage_in_bytes");
            *oom_kills = read_key(run->dir[RN_CG_MEMORY], "memory.oom_control", "oom_kill");
        }
    }
}

int rn_cgroup_destroy(rn_cgroup_run *run)
{
    int ret = 0;
    if (run->v2fd >= 0) {
        close(run->v2fd);
        run->v2fd = -1;
    }
    char **dirs[RN_CG_NCTRL + 1];
    int n = 0;
    for (int i = 0; i < RN_CG_NCTRL; i++)
        dirs[n++] = &run->dir[i];
    dirs[n++] = &run->v2dir;
    for (int i = 0; i < n; i++) {
        if (!*dirs[i])
            continue;
        if (rmdir(*dirs[i]) < 0 && errno != ENOENT) {
            ret = -errno;
            continue;
        }
        free(*dirs[i]);
        *dirs[i] = NULL;
    }
    return ret;
}

size_t rn_cgroup_destroy_list(rn_cgroup_run *list, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (rn_cgroup_destroy(&list[i]) == -EBUSY)
            list[j++] = list[i];
        else
            rn_cgroup_run_free(&list[i]);
    }
    return j;
}

void rn_cgroup_run_free(rn_cgroup_run *run)
{
    if (run->v2fd >= 0)
        close(run->v2fd);
    run->v2fd = -1;
    for (int i = 0; i < RN_CG_NCTRL; i++) {
        free(run->dir[i]);
        run->dir[i] = NULL;
    }
    free(run->v2dir);
    run->v2dir = NULL;
}
