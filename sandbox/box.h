/* runnel sandbox library: run one argv in a throw-away Linux sandbox.
 *
 * No WebSocket, JSON or event loop in here. The caller gets plain fds (stdin,
 * stdout, stderr pipes and a pidfd) and drives them with whatever loop it has;
 * runnel-box drives them with poll(2), runneld with libuv.
 *
 * Every function returns 0 (or a non-negative value where stated) or a
 * negative errno.
 *
 * What a run is, and the choices behind it:
 * - The program runs as uid/gid 1000 ("runner") in new user, pid, mount,
 *   net, ipc, uts and cgroup namespaces. As root, 1000 maps to a host uid
 *   and gid of its own from [uid_first, uid_first + uid_count) (default
 *   1879048192 = 0x70000000, 65536 ids: a range neither systemd nor the
 *   usual /etc/subuid allocations use), never shared by two live runs of
 *   one context; supplementary groups are dropped. Rootless, 1000 maps to
 *   the caller's own uid and gid (setgroups is denied, groups stay).
 * - A run is two processes to start with, as with bubblewrap: pid 1 of the
 *   run's pid namespace is a tiny init, and the program is its child (pid
 *   2), so the program's signals to itself act as anywhere else (`kill -9
 *   $$`, raise(SIGTERM), abort()). The init builds the sandbox, starts the
 *   program, reaps every process that ends in the namespace (orphans leave
 *   no zombies), and when the program ends reports the program's wait
 *   status and resource use to the parent over the set-up error pipe and
 *   exits; the kernel then kills everything else in the namespace, so
 *   nothing outlives a run. The init runs as the run's uid with no
 *   capabilities, no_new_privs, an allow-list seccomp filter (wait4,
 *   getrusage, write, exit) and no controlling terminal; it is
 *   non-dumpable, holds nothing of the caller's memory (it is runnel-init,
 *   a freestanding 9 KiB program embedded in the library and exec'd from a
 *   sealed memfd), and drops every signal sent from inside the run (pid-1
 *   rules): only the parent's SIGKILL ends it. A SIGTERM sent to it from
 *   outside is dropped too; the library only ever SIGKILLs a run.
 * - Root: a read-only tmpfs holding read-only nosuid,nodev binds of the
 *   system list (symlinks such as /bin -> usr/bin are recreated, not
 *   bound), generated /etc/passwd, /etc/group and /etc/hosts, a proc of
 *   the run's pid namespace with /proc/sys read-only, a read-only /dev
 *   with null, zero, full, random, urandom and fd/stdin/stdout/stderr
 *   links (/dev/shm links to /tmp), and size-limited tmpfs /tmp and /work.
 * - Memory: the cgroup limit (memory + swap) when cgroups are in use; else
 *   RLIMIT_DATA, not RLIMIT_AS, because JVMs, Go and node reserve large
 *   address ranges they never touch. tmpfs pages a run writes count against
 *   its memory limit too.
 * - pids is what the program may have, itself included; the init is one
 *   more (cgroup pids.max and RLIMIT_NPROC are pids + 1). RLIMIT_NPROC is
 *   per real uid, which as root is the run's own uid. Rootless it counts
 *   the user's processes in the run's namespace on Linux >= 5.14, every
 *   process of the user on older kernels.
 * - RLIMIT_CPU = cpu_ms rounded up to seconds, plus one, soft and hard: the
 *   kernel counts it in ticks, which overcount on a busy machine (up to 30%
 *   against the cgroup's exact figure), so the second of slack makes sure
 *   a program gets its whole budget; SIGKILL then ends it (cpu_limit).
 * - The run's first process is cloned sharing the caller's memory (x86_64,
 *   aarch64; no page tables copied) on a stack of its own. It closes
 *   every fd it was cloned with but its own, builds the sandbox, clones
 *   the program with CLONE_VM (which shares that memory until it execs),
 *   then execs runnel-init. The program locks itself down and waits for a
 *   byte on the sync pipe (at once for a cold start; a warm box waits
 *   until a run takes it), then writes the run's files, sets its rlimits
 *   and execs. The first process's uid change
 *   clears the shared memory's dumpable flag; it sets it back at once, so
 *   the caller keeps making core dumps. Until its exec it keeps its
 *   capabilities, which is what bars the program (none) from /proc/1/mem.
 * - Where runnel-init cannot be exec'd (vm.memfd_noexec=2, other
 *   architectures), the first process is a fork-like copy of the caller
 *   instead: it stays the init and unmaps all of its copy but its code and
 *   stack once the program runs (x86_64, aarch64). This costs a page-table
 *   copy per run. Should the exec fail for another reason, the init stays
 *   in place in the caller's memory, keeping its permitted capabilities
 *   (none effective) for the reason above; /proc/1/cmdline then shows the
 *   caller's command line.
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
    const char *name; /* relative to the work dir, no '/' and no ".." */
    const void *data;
    size_t len;
    unsigned mode; /* e.g. 0644, 0755 */
} rn_box_file;

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
     * directory is chowned to the run's host uid and made at least 0755, so
     * the run can write it and later runs can read it. It stays the
     * caller's to remove (rn_rmtree: the run may have planted symlinks). */
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
 * exhausted, -EINVAL for a bad option (file name with '/', relative or
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

/* Release a box; a box still running is killed (RN_BOX_KILLED) and reaped. */
void rn_box_free(rn_box *box);

/* Names for logs and wire formats: "exited", "signaled", "timeout",
 * "cpu_limit", "oom", "output_limit", "killed", "setup_failed". */
const char *rn_box_reason_name(rn_box_reason r);
/* "clone", "uidmap", "mount", ... */
const char *rn_box_stage_name(rn_box_stage s);

#endif
