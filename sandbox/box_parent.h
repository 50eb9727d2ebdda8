/* The parent's side of the sandbox, shared by the box_*.c files: the
 * context and box structures and the steps each file provides to the
 * others. Nothing here is part of the public contract (box.h).
 *
 *   box_context.c  probing the machine, the context's life, describe
 *   box_plan.c     the set-up plan: the system root, a run's root and its
 *                  files, argv, env and rlimits
 *   box_uid.c      host uids per run, the uid/gid maps
 *   box_warm.c     run shapes, the warm pool, child stacks
 *   box_spawn.c    begin (plan, pipes, clone, id maps, sync) and go
 *   box_reap.c     the run's fds, kill, reap and free
 */
#ifndef RUNNEL_BOX_PARENT_H
#define RUNNEL_BOX_PARENT_H

#include <sys/resource.h>
#include <time.h>

#include "box_internal.h"

#define MIB               (1024ULL * 1024ULL)
#define DEFAULT_UID_FIRST 1879048192u /* 0x70000000: unused by systemd and subuid ranges */
#define DEFAULT_UID_COUNT 65536u

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

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t box_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* box_plan.c -------------------------------------------------------------- */

/* Plan the part of the root that is the same for every run into ctx->plan
 * (binds NULL: the built-in list). */
int box_plan_system(rn_box_context *ctx, const rn_box_bind *binds, size_t nbinds);
/* Check a run's (run) or a warm shape's options. */
int box_check_options(const rn_box_options *opts, bool run);
/* Plan the run's part of the root into box->plan: /tmp, /work (a tmpfs, or
 * opts->workdir handed to the run's uid and gid) and the run's binds. */
int box_plan_root(rn_box *box, const rn_box_options *opts, gid_t gid);
/* Fill box->run and the spec with what the child reads once told to go:
 * files, argv, env, cwd and rlimits. */
int box_plan_run(rn_box *box, const rn_box_options *opts);

/* box_uid.c --------------------------------------------------------------- */

/* As root, a host uid of the context's range no live run of ours holds
 * (-EAGAIN when none is free); rootless, the caller's. *gid goes with it. */
int box_uid_take(rn_box *box, gid_t *gid);
/* Give an owned uid back to the range. */
void box_uid_release(rn_box_context *ctx, uid_t uid);
/* Write the child's uid and gid maps (1000 inside is box->uid, gid). */
int box_write_maps(const rn_box *box, gid_t gid);

/* box_warm.c -------------------------------------------------------------- */

/* The shape of a run with these options (binds not copied). */
void box_shape_of(const rn_box_options *opts, box_shape *s);
/* Keep copies of the shape's binds. */
int box_shape_own(box_shape *s);
void box_shape_free(box_shape *s);
/* Whether a box for these options can be made ahead and wait. */
bool box_warm_eligible(const rn_box_context *ctx, const rn_box_options *opts);
/* A warm box of this shape whose child is still waiting, or NULL. */
rn_box *box_warm_take(rn_box_context *ctx, const box_shape *s);
/* A child stack (kept ones first); NULL with errno set. */
void *box_stack_get(rn_box_context *ctx);
/* Keep a child stack for the next runs, or unmap it. */
void box_stack_put(rn_box_context *ctx, void *s);

/* box_spawn.c ------------------------------------------------------------- */

/* A box of ctx with every fd closed. */
rn_box *box_new(rn_box_context *ctx);
/* Everything up to the program: see box_spawn.c. */
int box_begin(rn_box *box, const rn_box_options *opts, bool run_ready);
/* Undo a box whose begin failed (nothing was cloned). */
void box_discard(rn_box *box);

/* box_reap.c -------------------------------------------------------------- */

/* Free what the child read during set-up (see box_reap.c). */
void box_release_setup(rn_box *box);
/* Remove the run cgroups that were still busy when their run ended. */
void box_zombies_sweep(rn_box_context *ctx);

#endif
