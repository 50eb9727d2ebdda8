/* A started run: its fds, kill, reaping with the reason it ended, and
 * freeing it (the init's last moments left to the context's thread). */
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

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

void box_zombies_sweep(rn_box_context *ctx)
{
    ctx->nzombies = rn_cgroup_destroy_list(ctx->zombies, ctx->nzombies);
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
    uint64_t el = (box_now_ns() - box->start_ns) / 1000000;
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
void box_release_setup(rn_box *box)
{
    if (box->stack)
        box_stack_put(box->ctx, box->stack);
    box->stack = NULL;
    free(box->exec_paths);
    box->exec_paths = NULL;
    rn_plan_free(&box->plan);
    rn_plan_free(&box->run);
}

/* Kill what is left in the run's cgroup (unless early) and remove it, or
 * hand it to the thread, or keep it for a later sweep while it is busy. */
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

/* rn_box_reap, or with block a wait for the run's end. */
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
    o->wall_ms = (box_now_ns() - box->start_ns) / 1000000;
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
    box_release_setup(box);
    if (box->uid_owned && !early) {
        box_uid_release(box->ctx, box->uid);
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
        box_uid_release(box->ctx, box->uid);
    box_release_setup(box);
    box_shape_free(&box->shape);
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
