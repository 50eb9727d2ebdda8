/* A sandbox context: probing the machine (a trial run shows what is really
 * in force), the seccomp filters, runnel-init's memfd, cgroups, the system
 * plan and what is made ahead; and the human-readable report of it. */
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

    r = box_plan_system(ctx, o.binds, o.nbinds);
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
        box_zombies_sweep(ctx);
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
