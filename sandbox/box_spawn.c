/* Starting a run: box_begin's steps (the run's plan, its cgroup, pipes,
 * the clone into new namespaces, the id maps, the sync byte), and the go
 * that lets its program exec. */
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

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

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

/* Set O_NONBLOCK on fd. */
static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

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

rn_box *box_new(rn_box_context *ctx)
{
    rn_box *box = calloc(1, sizeof(*box));
    if (!box)
        return NULL;
    box->ctx = ctx;
    box->pidfd = box->in_fd = box->out_fd = box->err_fd = box->errpipe = box->sync_w = -1;
    box->cg.v2fd = -1;
    return box;
}

/* The fds of a run being begun: both ends of each pipe until the clone,
 * and the v1 cgroup `tasks` files the child joins itself. */
typedef struct {
    int in[2], out[2], err[2], report[2], sync[2];
    int cg[RN_CG_NCTRL];
    int ncg;
} begin_fds;

/* Every fd of f closed (-1). */
static void begin_fds_init(begin_fds *f)
{
    memset(f, 0, sizeof(*f));
    int *all[] = {f->in, f->out, f->err, f->report, f->sync};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        all[i][0] = all[i][1] = -1;
}

/* Close every fd f still holds. */
static void begin_fds_close(begin_fds *f)
{
    int *all[] = {f->in, f->out, f->err, f->report, f->sync};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        for (int k = 0; k < 2; k++)
            if (all[i][k] >= 0) {
                close(all[i][k]);
                all[i][k] = -1;
            }
    for (int i = 0; i < f->ncg; i++)
        close(f->cg[i]);
    f->ncg = 0;
}

/* The run's cgroup, before the clone: with v2 the child is born inside it
 * (CLONE_INTO_CGROUP); with v1 it joins by the `tasks` files opened here. */
static int begin_cgroup(rn_box *box, begin_fds *f)
{
    rn_box_context *ctx = box->ctx;
    const box_shape *s = &box->shape;
    if (ctx->cg.version) {
        char id[64];
        snprintf(id, sizeof(id), "%d-%" PRIu64, (int)getpid(), ++ctx->seq);
        if (!ctx->ahead || rn_ahead_take_cgroup(ctx->ahead, s->mem, s->pids_all, &box->cg) < 0) {
            box_zombies_sweep(ctx);
            int r = rn_cgroup_create(&ctx->cg, id, s->mem, s->pids_all, &box->cg);
            if (r < 0)
                return r;
        }
    }
    _Static_assert(RN_CG_NCTRL <= sizeof(box->spec.cg_fds) / sizeof(box->spec.cg_fds[0]), "cg_fds");
    if (box->cg.version == 1) {
        int n = rn_cgroup_open_join(&box->cg, f->cg);
        if (n < 0)
            return n;
        f->ncg = n;
    }
    return 0;
}

/* The report and sync pipes and the program's stdio (stdin may be
 * /dev/null). */
static int begin_pipes(const box_shape *s, begin_fds *f)
{
    if (pipe2(f->report, O_CLOEXEC) < 0 || pipe2(f->sync, O_CLOEXEC) < 0 ||
        pipe2(f->out, O_CLOEXEC) < 0 || pipe2(f->err, O_CLOEXEC) < 0)
        return -errno;
    if (s->stdin_null) {
        f->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (f->in[0] < 0)
            return -errno;
    } else if (pipe2(f->in, O_CLOEXEC) < 0) {
        return -errno;
    }
    /* Programs open their stdio by path too (/dev/stdin, /dev/stderr,
     * /proc/self/fd/N), which checks the pipe's inode: ours, mode 0600.
     * Let the run's uid in; an anonymous pipe has no other path. */
    if ((!s->stdin_null && fchmod(f->in[0], 0666) < 0) || fchmod(f->out[1], 0666) < 0 ||
        fchmod(f->err[1], 0666) < 0)
        return -errno;
    return 0;
}

/* What the child reads: the plans, its ends of the pipes, the filters. */
static void begin_spec(rn_box *box, const begin_fds *f)
{
    rn_box_context *ctx = box->ctx;
    rn_child_spec *spec = &box->spec;
    spec->plans[0] = &ctx->plan;
    spec->plans[1] = &box->plan;
    spec->sync_fd = f->sync[0];
    spec->sync_wfd = f->sync[1];
    spec->err_fd = f->report[1];
    spec->stdio[0] = f->in[0];
    spec->stdio[1] = f->out[1];
    spec->stdio[2] = f->err[1];
    spec->root = ctx->root;
    spec->network = box->shape.network;
    spec->unshare_cgroup = true;
    spec->ncg = f->ncg;
    spec->last_cap = ctx->last_cap;
    spec->filter = ctx->filter.filter ? &ctx->filter : NULL;
    spec->init_filter = ctx->init_filter.filter ? &ctx->init_filter : NULL;
    memcpy(spec->hostname, "runnel", sizeof("runnel"));
    spec->init_fd = ctx->init_fd;
    spec->dumpable = ctx->dumpable;
    for (int i = 0; i < f->ncg; i++)
        spec->cg_fds[i] = f->cg[i];
}

/* The clone into new namespaces (those made ahead entered for it), with a
 * pidfd; the child runs rn_child_main. Returns its pid or -errno. */
static long begin_clone(rn_box *box, bool shared, bool run_ready, int *pidfd)
{
    rn_box_context *ctx = box->ctx;
    rn_child_spec *spec = &box->spec;
    struct clone_args_v2 ca = {
        .flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                 CLONE_NEWNET | CLONE_PIDFD,
        .exit_signal = SIGCHLD,
    };
    ca.pidfd = (uint64_t)(uintptr_t)pidfd;
    size_t ca_size = 64; /* CLONE_ARGS_SIZE_VER0 */
    if (box->cg.v2fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)box->cg.v2fd;
        ca_size = sizeof(ca);
    }
    if (shared) {
        /* It shares our memory (no page tables to copy) on a stack of its
         * own until it execs runnel-init: what it reads must live until
         * reap. */
        if (!(box->stack = box_stack_get(ctx)))
            return -errno;
        ca.flags |= CLONE_VM;
        ca.stack = (uint64_t)(uintptr_t)box->stack + 4096;
        spec->program_waits = true;
    } else {
        /* A fork-like copy of us on its own stack: it changes uid and
         * builds the sandbox in memory of its own, so the run's part must
         * be in it already. */
        if (!run_ready)
            return -EINVAL;
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
    int ahead_net = -1, ahead_ipc = -1;
    bool ahead = false;
    if (ctx->ahead && ctx->home_net >= 0 &&
        rn_ahead_take_ns(ctx->ahead, &ahead_net, &ahead_ipc) == 0) {
        ahead = enter_ahead(ctx, ahead_net, ahead_ipc, box->shape.network);
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
    }
    return pid;
}

/* The child is cloned: close its ends of the pipes, keep ours. */
static void begin_adopt(rn_box *box, begin_fds *f, pid_t pid, int pidfd)
{
    box->pid = pid;
    box->pidfd = pidfd;
    box->start_ns = box_now_ns();
    box->errpipe = f->report[0];
    box->in_fd = box->shape.stdin_null ? -1 : f->in[1];
    box->out_fd = f->out[0];
    box->err_fd = f->err[0];
    box->sync_w = f->sync[1];
    if (!box->shape.stdin_null)
        f->in[1] = -1;
    f->report[0] = f->out[0] = f->err[0] = f->sync[1] = -1;
    begin_fds_close(f); /* the child's ends, and a stdin_null's unused one */
}

/* The maps, then (v2 without CLONE_INTO_CGROUP) the cgroup, then one byte
 * on the sync pipe: the maps are written, build the sandbox. A second
 * (box_go) starts the program; a cold start sends both at once. A failed
 * step kills the child and is reported by reap as a set-up failure. */
static void begin_sync(rn_box *box, gid_t gid, bool run_ready)
{
    int r = box_write_maps(box, gid);
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
}

/* Everything up to the program, in steps as uv_spawn has them: the uid,
 * the run's part of the root (plan), its cgroup, the pipes, the clone, the
 * id maps and the sync byte. The child then builds the sandbox and its
 * program waits for a byte on the sync pipe before it execs; box_go()
 * sends it. With run_ready the run's part is filled in already (a cold
 * start, or a child with a copy of our memory). */
int box_begin(rn_box *box, const rn_box_options *opts, bool run_ready)
{
    rn_box_context *ctx = box->ctx;
    begin_fds f;
    begin_fds_init(&f);
    gid_t gid;
    int r = box_uid_take(box, &gid);
    if (r == 0)
        r = box_plan_root(box, opts, gid);
    if (r == 0)
        r = begin_cgroup(box, &f);
    if (r == 0)
        r = begin_pipes(&box->shape, &f);
    if (r < 0)
        goto fail;
    begin_spec(box, &f);
    bool shared = ctx->init_fd >= 0 && rn_child_has_clone3();
    int pidfd = -1;
    long pid = begin_clone(box, shared, run_ready, &pidfd);
    if (pid < 0) {
        r = (int)pid;
        goto fail;
    }
    if (!shared)
        box_release_setup(box);
    begin_adopt(box, &f, (pid_t)pid, pidfd);
    begin_sync(box, gid, run_ready);
    return 0;
fail:
    begin_fds_close(&f);
    return r;
}

/* Undo a box whose begin failed (nothing was cloned). */
void box_discard(rn_box *box)
{
    rn_box_context *ctx = box->ctx;
    if (box->cg.version) {
        rn_cgroup_destroy(&box->cg);
        rn_cgroup_run_free(&box->cg);
    }
    if (box->uid_owned)
        box_uid_release(ctx, box->uid);
    box_release_setup(box);
    box_shape_free(&box->shape);
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
    box->start_ns = box_now_ns();
    if (box->ctx->ahead) {
        rn_ahead_running(box->ctx->ahead, true);
        box->ahead_running = true;
    }
}

int rn_box_spawn(rn_box_context *ctx, const rn_box_options *opts, rn_box **out)
{
    int r = box_check_options(opts, true);
    if (r < 0)
        return r;
    rn_box *box = NULL;
    if (box_warm_eligible(ctx, opts)) {
        box_shape s;
        box_shape_of(opts, &s);
        box = box_warm_take(ctx, &s);
    }
    if (box) {
        if ((r = box_plan_run(box, opts)) < 0) {
            rn_box_free(box);
            return r;
        }
        box_go(box);
        *out = box;
        return 0;
    }
    if (!(box = box_new(ctx)))
        return -ENOMEM;
    box_shape_of(opts, &box->shape);
    if ((r = box_plan_run(box, opts)) < 0 || (r = box_begin(box, opts, true)) < 0) {
        box_discard(box);
        return r;
    }
    box_go(box);
    *out = box;
    return 0;
}
