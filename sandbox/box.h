/* runnel sandbox library: run one argv in a throw-away Linux sandbox.
 *
 * No WebSocket, JSON or event loop in here. The caller gets plain fds (stdin,
 * stdout, stderr pipes and a pidfd) and drives them with whatever loop it has;
 * runnel-box drives them with poll(2), runneld with libuv.
 *
 * Every function returns 0 (or a non-negative value where stated) or a
 * negative errno.
 *
 * What a run is and the choices behind it (namespaces, uids, the run's
 * init, the root, memory, pids and CPU limits, how the first process is
 * cloned) are in docs/sandbox.md; this header is the contract.
 */
#ifndef RUNNEL_BOX_H
#define RUNNEL_BOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bind.h"

#include "version.h"
#define RN_BOX_VERSION RUNNEL_VERSION

/* Why a run ended. The order is stable: it is exported in results. */
typedef enum {
    RN_BOX_EXITED = 0,   /* the program exited on its own (any exit code) */
    RN_BOX_SIGNALED,     /* killed by a signal it did not ask for from us */
    RN_BOX_TIMEOUT,      /* wall-clock limit, enforced by the parent */
    RN_BOX_CPU_LIMIT,    /* RLIMIT_CPU: SIGXCPU, or a SIGKILL not from us
                            once the CPU budget was used */
    RN_BOX_MEMORY_LIMIT, /* a cgroup OOM kill happened in the run (without
                            cgroups the program sees ENOMEM and ends as it
                            chooses) */
    RN_BOX_OUTPUT_LIMIT, /* the caller stopped it for printing too much */
    RN_BOX_KILLED,       /* the caller killed it (client KILL, disconnect, shutdown) */
    RN_BOX_SETUP_FAILED, /* the sandbox could not be built; see setup_stage/errno */
} rn_box_reason;

/* Setup stages reported by a child that failed before exec. */
typedef enum {
    RN_BOX_STAGE_NONE = 0,
    RN_BOX_STAGE_CLONE,
    RN_BOX_STAGE_SYNC,
    RN_BOX_STAGE_UIDMAP,
    RN_BOX_STAGE_CGROUP,
    RN_BOX_STAGE_MOUNT,
    RN_BOX_STAGE_PIVOT,
    RN_BOX_STAGE_NETWORK,
    RN_BOX_STAGE_RLIMIT,
    RN_BOX_STAGE_CREDS,
    RN_BOX_STAGE_CAPS,
    RN_BOX_STAGE_FDS,
    RN_BOX_STAGE_SECCOMP,
    RN_BOX_STAGE_EXEC,
    RN_BOX_STAGE_FILES,
    RN_BOX_STAGE_CWD, /* the working directory does not exist inside */
} rn_box_stage;

/* The figures of a finished run. */
typedef struct {
    rn_box_reason reason;
    int exit_code;        /* valid when reason == RN_BOX_EXITED, else -1 */
    int signal;           /* the terminating signal, 0 if none */
    uint64_t wall_ms;     /* spawn to reap */
    uint64_t cpu_ms;      /* user + system of the whole run (cgroup); without
                             cgroups, of the program (with the children it
                             waited for) and the orphans the init reaped
                             before the program ended */
    uint64_t memory_peak; /* bytes (cgroup peak, else the largest max RSS of
                             those processes); 0 when not measurable */
    rn_box_stage setup_stage;
    int setup_errno; /* positive errno of the failed setup step */
} rn_box_result;

/* One file placed in the work directory before the program starts. */
typedef struct {
    /* relative to the work dir; may hold subdirectories ("lib/util.py",
     * made 0755 as needed): no leading '/', no empty, "." or ".."
     * segment, at most RN_BOX_FILE_DEPTH segments and RN_BOX_FILE_NAME_MAX
     * bytes */
    const char *name;
    const void *data;
    size_t len;
    unsigned mode; /* e.g. 0644, 0755 */
} rn_box_file;

#define RN_BOX_FILE_DEPTH    16
#define RN_BOX_FILE_NAME_MAX 1024

/* Whether name is a file name rn_box_file takes: a relative path of at
 * most RN_BOX_FILE_DEPTH segments and RN_BOX_FILE_NAME_MAX bytes, no
 * segment empty, "." or ".." or NAME_MAX bytes or longer. */
bool rn_box_file_name_ok(const char *name);

/* Machine-wide settings, fixed for the life of a context. */
typedef struct {
    const rn_box_bind *binds; /* read-only system binds; NULL = built-in list */
    size_t nbinds;
    uid_t uid_first; /* as root: runs get host uids from [first, first+count) */
    unsigned uid_count;
    const char *cgroup_name; /* sub-tree name, default "runnel" */
    const char *state_dir;   /* reserved: /work is a tmpfs of the run's own mount
                                namespace, nothing is kept on the host */
    bool no_cgroup;          /* do not use cgroups even if available */
    /* Keep this many runs' worth of what can be made before a run starts
     * made ahead by a thread of the context's: fresh network and IPC
     * namespaces (as root; each serves one run only) and empty run cgroups;
     * the thread also removes ended runs' cgroups. 0: every run makes its
     * own at its start and removes them at its end. A context using it is
     * to be used from the thread that created it. */
    unsigned ahead;
    /* Keep up to this many sandboxes (at most RN_BOX_WARM_MAX) built ahead
     * and waiting for their program: namespaces, uid maps, cgroup, the
     * mounted root, pipes. rn_box_warm() makes one; rn_box_spawn() takes
     * one of the run's shape (same memory, pids, tmp size, network,
     * stdin_null and binds; no workdir), fills in the files, argv, env,
     * cwd and the other limits, and lets it go: the run then costs about
     * what its program's own fork and exec cost. 0: none. Only where the
     * run's first process shares the caller's memory (runnel-init can be
     * exec'd, x86_64 and aarch64). */
    unsigned warm;
} rn_box_context_options;

#define RN_BOX_WARM_MAX 16

/* Per-run options. Zero means "the default" for every limit. */
typedef struct {
    const char *const *argv;  /* argv[0] is a path inside the sandbox */
    const char *const *envp;  /* NULL = a minimal PATH/HOME/LANG env */
    const char *cwd;          /* inside the sandbox, default /work */
    const rn_box_bind *binds; /* extra binds for this run */
    size_t nbinds;
    const rn_box_file *files; /* placed in the work dir */
    size_t nfiles;
    /* An existing host dir to bind rw as /work instead of a fresh tmpfs. As
     * root, it (only its top directory) and every writable bind's source
     * directory is chowned to the run's host uid and made at least 0700, so
     * the run can write it; its group and other bits stay the caller's (0755
     * for a directory later runs of other uids read). It stays the caller's
     * to remove (rn_rmtree: the run may have planted symlinks). */
    const char *workdir;
    uint64_t wall_ms;      /* default 10000 */
    uint64_t cpu_ms;       /* default = wall_ms */
    uint64_t memory_bytes; /* default 256 MiB */
    uint64_t tmp_bytes;    /* size of /tmp and of the /work tmpfs, default 64 MiB */
    uint64_t fsize_bytes;  /* RLIMIT_FSIZE, default 64 MiB */
    unsigned pids;         /* default 64: the program's processes and threads,
                              itself included (the run's init is extra) */
    unsigned nofile;       /* default 256 */
    bool network;          /* bring loopback up inside (never any other interface) */
    bool stdin_null;       /* no stdin pipe: stdin is /dev/null */
    /* RLIMIT_DATA also where a cgroup limits memory; 0 = only without a
     * cgroup (then the memory limit). The lower of the two applies. */
    uint64_t data_bytes;
} rn_box_options;

typedef struct rn_box_context rn_box_context;
typedef struct rn_box rn_box;

/* Probe the machine (user namespaces, cgroup v1/v2, seccomp) and build the
 * seccomp filter once; opts may be NULL. */
int rn_box_context_new(const rn_box_context_options *opts, rn_box_context **out);

/* Free a context; every box made from it must be freed first. */
void rn_box_context_free(rn_box_context *ctx);

/* Write a human-readable list of the protections active here (one per line,
 * "name: on|off (why)") into buf; returns the length or a negative errno. */
int rn_box_context_describe(const rn_box_context *ctx, char *buf, size_t size);

/* Bitmask of active protections, for machine-readable reports. */
enum {
    RN_BOX_PROT_USERNS = 1 << 0,
    RN_BOX_PROT_PIDNS = 1 << 1,
    RN_BOX_PROT_MOUNTNS = 1 << 2,
    RN_BOX_PROT_NETNS = 1 << 3,
    RN_BOX_PROT_IPCNS = 1 << 4,
    RN_BOX_PROT_UTSNS = 1 << 5,
    RN_BOX_PROT_CGROUPNS = 1 << 6,
    RN_BOX_PROT_SECCOMP = 1 << 7,
    RN_BOX_PROT_CAPDROP = 1 << 8,
    RN_BOX_PROT_CGROUP_V1 = 1 << 9,
    RN_BOX_PROT_CGROUP_V2 = 1 << 10,
    RN_BOX_PROT_UIDRANGE = 1 << 11, /* rootful: a distinct host uid per run */
};
unsigned rn_box_context_protections(const rn_box_context *ctx);

/* The name of one protection bit ("userns", "seccomp", ...), NULL if unknown. */
const char *rn_box_protection_name(unsigned bit);

/* Start a run. On success *out owns three pipe fds and a pidfd, all
 * non-blocking and close-on-exec. Returns -EAGAIN when the uid range is
 * exhausted, -EINVAL for a bad option (a file name that is absolute, has an
 * empty, "." or ".." segment or is too long or deep, a relative or
 * ".."-containing bind destination), -ENOENT for a missing non-optional
 * bind source or workdir, -E2BIG past 256 binds (system and run), the errno of a failed
 * clone or cgroup creation. A setup failure inside the child is not an error
 * here: it is reported by rn_box_reap() as RN_BOX_SETUP_FAILED. argv, envp
 * and file data are copied: the caller may free them on return. */
int rn_box_spawn(rn_box_context *ctx, const rn_box_options *opts, rn_box **out);

/* Build one sandbox of the shape opts gives (argv may be NULL; files, env,
 * cwd and the time, CPU, nofile and fsize limits are the run's, not the
 * shape's) and keep it waiting for rn_box_spawn(). Returns 1 when one was
 * made, 0 when there is nothing to do (as many of that shape are waiting
 * as the context keeps, or the shape cannot be made ahead), or a negative
 * errno. When the pool is full, the oldest box of another shape is
 * dropped. Call it when the caller is idle: it costs a clone and the uid
 * maps on this thread, the child builds the rest on its own. */
int rn_box_warm(rn_box_context *ctx, const rn_box_options *opts);
/* How many sandboxes are waiting. */
unsigned rn_box_warm_count(const rn_box_context *ctx);

/* The write end of the program's stdin, or -1 (stdin_null, or closed). */
int rn_box_stdin_fd(const rn_box *box);
/* The read end of the program's stdout. */
int rn_box_stdout_fd(const rn_box *box);
/* The read end of the program's stderr. */
int rn_box_stderr_fd(const rn_box *box);
/* A pidfd that becomes readable when the run's init process has exited
 * (after the program, and with it the whole run). */
int rn_box_pidfd(const rn_box *box);
/* Readable as soon as the run's init has something to say: that the
 * program has ended (before the init itself is gone: its namespaces take
 * the kernel a while to tear down), or that it is gone. Poll it beside the
 * pidfd and call rn_box_reap() when either is readable; stop polling it
 * once rn_box_reap() no longer returns -EAGAIN or it shows EOF. */
int rn_box_report_fd(const rn_box *box);
/* The host pid of the run's init process (for logs and tests). */
pid_t rn_box_pid(const rn_box *box);
/* Milliseconds left before the wall limit (0 when already past). */
uint64_t rn_box_wall_left_ms(const rn_box *box);

/* Close the stdin pipe (EOF for the program). */
void rn_box_close_stdin(rn_box *box);

/* Kill every process of the run and remember why (the first reason wins). */
int rn_box_kill(rn_box *box, rn_box_reason why);

/* Non-blocking: when the run has ended, fill *res, kill any leftovers,
 * release the cgroup and work dir, and return 0; -EAGAIN while it runs.
 * The run has ended when its init reported the program's end (the init
 * may then still be exiting: rn_box_free leaves it to the context, which
 * reaps it and frees its uid without blocking) or when the init is gone. */
int rn_box_reap(rn_box *box, rn_box_result *res);

/* Blocking helper for simple callers (tests, benches): wait for the end,
 * enforcing the wall limit, discarding nothing (caller reads pipes first or
 * passes stdin_null and tiny outputs). */
int rn_box_wait(rn_box *box, rn_box_result *res);

/* Send sig to the run's program and its process group (the program leads
 * one, as after setsid); the run's result then tells how it ended.
 * -ESRCH when the program is gone, -EINVAL for a bad signal number. */
int rn_box_signal(rn_box *box, int sig);

/* Release a box; a box still running is killed (RN_BOX_KILLED) and reaped. */
void rn_box_free(rn_box *box);

/* Names for logs and wire formats: "exited", "signaled", "timeout",
 * "cpu_limit", "oom", "output_limit", "killed", "setup_failed". */
const char *rn_box_reason_name(rn_box_reason r);
/* "clone", "uidmap", "mount", ... */
const char *rn_box_stage_name(rn_box_stage s);

#endif
