/* Internals shared by the sandbox modules: the set-up plan the parent builds
 * and the child executes, the seccomp filter builder and the cgroup helpers.
 * Nothing here is part of the public contract (box.h).
 */
#ifndef RUNNEL_BOX_INTERNAL_H
#define RUNNEL_BOX_INTERNAL_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "box.h"
#include "report.h"

/* The ids the program sees inside the sandbox. */
#define RN_BOX_INNER_ID 1000

/* Where the child mounts the new root before pivot_root. Host bind sources
 * are opened (O_PATH) before that, and mounted through /proc/self/fd/N, so
 * shadowing the host's /tmp with the new root hides nothing the set-up still
 * needs. */
#define RN_BOX_STAGE "/tmp"

/* Host bind sources per run, system and per-run binds together: the child
 * keeps their fds in a stack array. */
#define RN_BOX_MAX_BINDS 256

/* One step of the filesystem set-up. The parent resolves every path and
 * formats every string; the child only turns each op into one or two system
 * calls, so it never allocates. */
typedef enum {
    RN_OP_MKDIR,   /* path, mode */
    RN_OP_TOUCH,   /* path: an empty file to bind a file onto */
    RN_OP_SYMLINK, /* path -> src */
    RN_OP_BIND,    /* src onto path, then attr */
    RN_OP_TMPFS,   /* tmpfs with options data at path, mount flags mflags */
    RN_OP_PROC,    /* a fresh proc at path */
    RN_OP_SETATTR, /* mount_setattr(path, recursive, attr) */
    RN_OP_WRITE,   /* create path exclusively with mode, write data/len */
} rn_op_kind;

enum {
    RN_OPF_OPTIONAL = 1 << 0, /* a missing source is skipped, not an error */
    RN_OPF_RECURSIVE = 1 << 1,
    RN_OPF_HOST = 1 << 2, /* BIND: src is a host path, opened before the uid change */
};

typedef struct {
    rn_op_kind kind;
    unsigned flags;
    unsigned mode;
    unsigned long mflags; /* mount(2) flags for TMPFS/PROC */
    uint64_t attr;        /* MOUNT_ATTR_* set after a BIND, or by SETATTR */
    const char *path;     /* absolute, under RN_BOX_STAGE */
    const char *src;
    const void *data;
    size_t len;
} rn_op;

/* A growable list of ops plus the strings they point into. */
typedef struct {
    rn_op *ops;
    size_t n, cap;
    char **strs;
    size_t nstrs, capstrs;
} rn_plan;

/* rn_report, the record on the report pipe: report.h. */

/* Everything the child needs, prepared by the parent before clone (the
 * run's part, plans[2] on, before the second sync byte). The child (the
 * run's init) shares the caller's memory until it execs runnel-init, or
 * has its own copy-on-write image of it; the program shares the init's
 * memory until it execs. */
typedef struct {
    /* The context's plan and the run's (built before the second sync
     * byte), then the files (written after it, below /work). */
    const rn_plan *plans[3];
    /* Read end: one byte for the init ("maps written, build"), one for
     * the program ("files and argv are in, go"; only when program_waits,
     * i.e. it shares the caller's memory, where they are written). */
    int sync_fd;
    bool program_waits;
    int sync_wfd;        /* the parent's end, closed first in the child */
    int err_fd;          /* write end, O_CLOEXEC: rn_report records */
    int stdio[3];        /* child ends of the stdio pipes (or /dev/null) */
    bool root;           /* rootful: drop supplementary groups */
    bool network;        /* bring lo up */
    bool unshare_cgroup; /* cgroup ns after joining the run's cgroup */
    int cg_fds[4];       /* v1 `tasks` files the child joins itself (see cgroup below) */
    int ncg;
    const char *cwd;
    const char *const *exec_paths; /* candidate paths for argv[0], NULL-ended */
    char *const *argv;
    char *const *envp;
    struct {
        int resource;
        uint64_t soft, hard;
    } rlimits[12];
    int nrlimits;
    int last_cap;
    const struct sock_fprog *filter;      /* the program's */
    const struct sock_fprog *init_filter; /* the init's: an allow-list */
    /* What the init keeps mapped once the program runs (page-aligned
     * [lo, hi) ranges: the code it runs and its stack); it unmaps the rest
     * of its copy of the caller's memory. Empty ranges: keep everything. */
    uintptr_t keep[2][2];
    /* The calling thread's rseq registration, which the init inherits and
     * must drop before unmapping it (0: none). */
    uintptr_t rseq_addr;
    uint32_t rseq_len, rseq_sig;
    /* A sealed memfd holding runnel-init (init.c), or -1. With it, the
     * child is cloned sharing the caller's memory and, once the program
     * runs, execs runnel-init, which leaves that memory; without it, the
     * child is a fork-like copy that sheds the caller's memory itself. */
    int init_fd;
    int dumpable; /* the caller's PR_GET_DUMPABLE, restored after the uid change */
    char hostname[16];
} rn_child_spec;

/* runnel-init (init.c), built freestanding and embedded by the build. */
extern const unsigned char rn_init_elf[];
extern const size_t rn_init_elf_len;

/* Run the init's side of the set-up (arg is the rn_child_spec): build the
 * sandbox, start the program, reap until the program ends, report and exit.
 * Never returns. */
int rn_child_main(void *arg);

/* Whether rn_clone3() exists here (x86_64, aarch64): the program is then
 * started by the init with CLONE_VM on a stack of its own (and CLONE_VFORK
 * when the init is a fork-like copy, which then sheds the caller's
 * memory); elsewhere it is a plain fork. */
bool rn_child_has_clone3(void);

/* clone3(args, size) running fn(arg) on args->stack in the child; returns
 * the child's pid (or -errno) in the parent. x86_64 and aarch64 only. */
long rn_clone3(void *args, size_t size, int (*fn)(void *), void *arg);

/* The init's stack (the program's, until it execs, is carved from it). */
#define RN_BOX_CHILD_STACK (256 * 1024)

/* Build the seccomp policy for this architecture into a malloc'd BPF
 * program (instructions in prog->filter). */
int rn_filter_build(struct sock_fprog *prog);
/* The init's policy: only the few calls its reaping loop makes; anything
 * else kills it (and so the run). */
int rn_filter_build_init(struct sock_fprog *prog);

/* Plan helpers (parent side; they allocate). */
void rn_plan_free(rn_plan *plan);
int rn_plan_add(rn_plan *plan, const rn_op *op);
/* Keep a copy of s alive as long as the plan; NULL on ENOMEM. */
const char *rn_plan_str(rn_plan *plan, const char *s);
/* A formatted string owned by the plan. */
const char *rn_plan_fmt(rn_plan *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cgroups ---------------------------------------------------------------- */

enum { RN_CG_MEMORY, RN_CG_PIDS, RN_CG_CPU, RN_CG_CPUACCT, RN_CG_NCTRL };

/* The parent directories runs are created under. */
typedef struct {
    int version;            /* 0 none, 1, 2 */
    char *dir[RN_CG_NCTRL]; /* v1: per controller (cpu and cpuacct may share) */
    char *v2dir;            /* v2: <own cgroup>/<name> */
    bool memsw;             /* v1 memory.memsw.* present */
    bool v2_swap;           /* v2 memory.swap.max present */
    char why[160];          /* why cgroups are off (or on, and which) */
    char why_v2[160];       /* why v2 is not used, when it is not */
    char why_v1[160];       /* why v1 is not used, when neither is */
} rn_cgroup_root;

/* One run's cgroup(s). */
typedef struct {
    int version;
    char *dir[RN_CG_NCTRL]; /* v1; a NULL entry means that controller is off */
    char *v2dir;
    int v2fd; /* O_PATH|O_DIRECTORY of v2dir for CLONE_INTO_CGROUP, or -1 */
} rn_cgroup_run;

/* Find a usable hierarchy and create the runnel sub-tree; never fails hard:
 * root->version is 0 (with root->why) when no cgroup can be used. */
void rn_cgroup_probe(rn_cgroup_root *root, const char *name);
void rn_cgroup_root_free(rn_cgroup_root *root);
/* Create the run's cgroup and write its limits. */
int rn_cgroup_create(const rn_cgroup_root *root, const char *id, uint64_t memory_bytes,
                     unsigned pids, rn_cgroup_run *run);
/* Change a run's memory limit (from old_memory: UINT64_MAX for a new
 * cgroup) and pids limit. */
int rn_cgroup_set_limits(const rn_cgroup_root *root, const rn_cgroup_run *run, uint64_t old_memory,
                         uint64_t memory_bytes, unsigned pids);
/* Move pid into the run's cgroup (v1: every controller). */
int rn_cgroup_attach(const rn_cgroup_run *run, pid_t pid);
/* v1: open the run's `tasks` files (write-only, close-on-exec) into fds;
 * returns how many (0 on v2 or without cgroups) or -errno. The child joins
 * by writing "0" to each: moving only the calling thread skips the global
 * thread-group lock (and its RCU grace period) that a write of a pid to
 * cgroup.procs takes in every hierarchy. */
int rn_cgroup_open_join(const rn_cgroup_run *run, int fds[RN_CG_NCTRL]);
/* SIGKILL every process in the run's cgroup. */
void rn_cgroup_kill(const rn_cgroup_run *run);
/* CPU ns, peak bytes and OOM kills; fields left 0 when not readable. */
void rn_cgroup_stats(const rn_cgroup_run *run, uint64_t *cpu_ns, uint64_t *peak,
                     uint64_t *oom_kills);
/* rmdir the run's cgroup(s); -EBUSY while processes are still leaving.
 * Paths that were removed are freed and cleared, so it can be retried. */
int rn_cgroup_destroy(rn_cgroup_run *run);
void rn_cgroup_run_free(rn_cgroup_run *run);
/* Remove each cgroup of a list; those still busy are kept, at its front.
 * Returns how many are left. */
size_t rn_cgroup_destroy_list(rn_cgroup_run *list, size_t n);

/* made ahead (ahead.c) --------------------------------------------------- */

typedef struct rn_ahead rn_ahead;
/* Start the thread that keeps want_ns fresh network+IPC namespace pairs
 * (as root: they belong to the initial user namespace) and want_cg empty
 * run cgroups under root (NULL or version 0: none) ready, and removes the
 * cgroups of ended runs. */
int rn_ahead_new(unsigned want_ns, const rn_cgroup_root *root, unsigned want_cg, rn_ahead **out);
/* Take a pair (the caller owns both fds): 0, or -EAGAIN when none is
 * ready. */
int rn_ahead_take_ns(rn_ahead *a, int *net, int *ipc);
/* Take a run cgroup with these limits: 0, or -EAGAIN when none is ready
 * (the next ones are made with these limits), or the error of setting
 * them. */
int rn_ahead_take_cgroup(rn_ahead *a, uint64_t memory, unsigned pids, rn_cgroup_run *out);
/* A run started (true) or ended (false): the thread works while none is
 * going, or when nothing is left ready. */
void rn_ahead_running(rn_ahead *a, bool started);
/* Hand over an ended run's cgroup (its processes killed) for removal;
 * *run is cleared. */
void rn_ahead_retire_cgroup(rn_ahead *a, rn_cgroup_run *run);
/* Hand over the pidfd of an ended run's init that is still exiting: the
 * thread reaps it and closes the pidfd; an owned uid is then returned by
 * rn_ahead_freed_uids(). */
void rn_ahead_linger(rn_ahead *a, int pidfd, uid_t uid, bool uid_owned);
/* Up to max uids of inits reaped since the last call; returns how many. */
size_t rn_ahead_freed_uids(rn_ahead *a, uid_t *out, size_t max);
/* Stop the thread; remove what it holds (ended runs' cgroups get a few
 * more tries). */
void rn_ahead_free(rn_ahead *a);
/* Set the loopback of the calling thread's network namespace up or down. */
int rn_ahead_loopback(bool up);

#endif
