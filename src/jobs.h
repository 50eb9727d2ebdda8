/* Jobs: the one execution core every envelope talks to.
 *
 * An envelope turns its request into an rn_job_request and gets the job's
 * life back through callbacks, all on the loop thread: stage changes, output
 * chunks (as the program prints them), and one final on_end with the result.
 * The manager owns the queue, the global concurrency limit, the compile stage
 * and its cache, wall timeouts, the output cap, stdin and kills.
 */
#ifndef RUNNEL_JOBS_H
#define RUNNEL_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "../sandbox/bind.h"
#include "specs.h"

/* Arguments, and environment entries, a request may carry. */
#define RN_JOB_MAX_ARGS 256
/* Files a request may carry beside its entry file. Their bytes and the
 * entry's together are bounded by the code_bytes limit. */
#define RN_JOB_MAX_FILES 64

struct rn_box_context;

typedef struct rn_jobs rn_jobs;
typedef struct rn_job rn_job;

/* Server-wide limits; 0 in a field means its built-in default, given beside it. */
typedef struct {
    unsigned concurrency;  /* runs at once, default = CPUs */
    unsigned queue_max;    /* waiting runs, default 64 */
    uint64_t wall_ms;      /* default 10000 */
    uint64_t cpu_ms;       /* default = wall_ms */
    uint64_t memory_bytes; /* default 256 MiB */
    uint64_t output_bytes; /* default 1 MiB (stdout + stderr) */
    uint64_t tmp_bytes;    /* default 64 MiB */
    uint64_t code_bytes;   /* default 256 KiB */
    unsigned pids;         /* default 64 */
    unsigned nofile;       /* default 256 */
    const char *cache_dir; /* compile cache; NULL = no cache */
    uint64_t cache_bytes;  /* default 512 MiB */
    uint64_t build_bytes;  /* one compile's /build and one cache entry, default 64 MiB */
} rn_jobs_limits;

typedef enum {
    RN_JOB_QUEUED = 0,
    RN_JOB_COMPILING,
    RN_JOB_RUNNING,
    RN_JOB_DONE,
} rn_job_stage;

/* Why the job ended: the sandbox reasons plus the job-level ones. */
typedef enum {
    RN_JOB_END_EXITED = 0,
    RN_JOB_END_SIGNALED,
    RN_JOB_END_TIMEOUT,
    RN_JOB_END_CPU_LIMIT,
    RN_JOB_END_OOM,
    RN_JOB_END_OUTPUT_LIMIT,
    RN_JOB_END_KILLED,
    RN_JOB_END_SETUP_FAILED,
    RN_JOB_END_COMPILE_ERROR,
    RN_JOB_END_INTERNAL, /* could not start the sandbox at all */
} rn_job_end;

/* How one stage (compile or run) ended and what it cost. */
typedef struct {
    bool ran; /* the stage ran (a compile cache hit runs no compile) */
    rn_job_end reason;
    int exit_code; /* -1 when not exited */
    int signal;    /* 0 when none */
    uint64_t wall_ms;
    uint64_t cpu_ms;
    uint64_t memory_peak;                /* bytes; 0 when not measurable */
    uint64_t stdout_bytes, stderr_bytes; /* delivered by this stage */
} rn_job_stage_result;

typedef struct {
    rn_job_end reason;
    int exit_code;         /* -1 when not exited */
    int signal;            /* 0 when none */
    uint64_t exec_ms;      /* request accepted to end, what ranna calls exectimems */
    uint64_t wall_ms;      /* the run stage's wall time */
    uint64_t cpu_ms;       /* compile + run CPU */
    uint64_t memory_peak;  /* bytes, max of the stages; 0 when not measurable */
    uint64_t output_bytes; /* stdout + stderr delivered */
    bool compile_cached;   /* the compile stage was a cache hit */
    bool compiled;         /* the language has a compile stage */
    int setup_stage;       /* the sandbox's setup step that failed (for logs) */
    int setup_errno;
    char message[160]; /* a human sentence for non-EXITED ends */
    /* Each stage on its own (the fields above sum or end them). */
    rn_job_stage_result compile, run;
    int output_over_fd; /* OUTPUT_LIMIT: the stream (1 or 2) that passed it */
} rn_job_result;

/* One file placed in /work beside the entry file. */
typedef struct {
    const char *name; /* relative: "util.py", "lib/util.py" (no "..", no empty segment) */
    const char *data;
    size_t len;
} rn_job_file;

typedef struct {
    const char *language; /* a spec name or alias */
    const char *code;
    size_t code_len;
    bool inline_expression;
    const char *const *args; /* program arguments */
    size_t nargs;
    const char *const *env; /* "K=V" added to the spec's env */
    size_t nenv;
    const char *stdin_data; /* fed to the program, then EOF unless keep_stdin */
    size_t stdin_len;
    bool keep_stdin; /* leave stdin open for rn_job_write_stdin */
    /* The client's address for the per-IP run rate (the host sets it from
     * the request that caused the job); NULL shares one bucket. */
    const char *client;
    /* Per-request limits; 0 = default. They can only lower the server's. */
    uint64_t wall_ms;
    uint64_t memory_bytes;
    uint64_t output_bytes;
    uint64_t cpu_ms;
    /* false: the limits above bound the compile stage too (as far as the
     * spec's compile_limits allow); true: the compile stage has its own
     * (0 = its default), which again can only lower it. */
    bool compile_limits;
    uint64_t compile_wall_ms;
    uint64_t compile_cpu_ms;
    uint64_t compile_memory_bytes;
    /* The compiler's output keeps its fd (1 or 2) in on_output; false
     * sends both as 2 (diagnostics). */
    bool compile_fds;
    /* More files in /work beside the entry file (copied at submit). */
    const rn_job_file *files;
    size_t nfiles;
    /* The entry file's name instead of the spec's filename (a relative
     * name as for files); {file} and {main} in the spec's argv follow it. */
    const char *entry_name;
    /* {sources} in the compile argv names the files with the entry file's
     * extension too (Piston compiles them all); false: the entry alone
     * (Jobe compiles only its source file). */
    bool compile_all;
    unsigned pids;
    uint64_t fsize_bytes; /* the run stage's RLIMIT_FSIZE */
    /* RLIMIT_DATA of the run stage, also where a cgroup limits memory (a
     * per-process cap on what malloc may get, as setrlimit-based servers
     * give); 0 = none beyond the memory limit. */
    uint64_t data_bytes;
    /* Output chunks as the program wrote them (not made valid UTF-8). */
    bool raw_output;
    /* Extra read-only binds for this run only (copied at submit), after the
     * spec's mounts; NULL/0 = none. */
    const rn_box_bind *binds;
    size_t nbinds;
    /* Run with this spec instead of looking language up (an envelope's own
     * helper program, not listed to users); it must outlive the job. */
    const rn_spec *spec;
} rn_job_request;

typedef struct {
    /* The job left the queue and a stage began (compile or run). */
    void (*on_stage)(rn_job *job, rn_job_stage stage, void *ud);
    /* A chunk of the program's (or the compiler's) output: fd 1 or 2. */
    void (*on_output)(rn_job *job, int fd, const char *data, size_t len, void *ud);
    /* The end; the job is freed right after this returns. */
    void (*on_end)(rn_job *job, const rn_job_result *res, void *ud);
} rn_job_callbacks;

/* Create the manager on a loop. The specs and sandbox context stay owned by
 * the caller and must outlive it. */
int rn_jobs_new(uv_loop_t *loop, struct rn_box_context *box, const rn_specs *specs,
                const rn_jobs_limits *limits, rn_jobs **out);

/* Swap the specs (reload); jobs already submitted keep the spec they
 * started with, and retire(old, ud) runs once none of them is left, so the
 * caller can free the old set then. */
void rn_jobs_set_specs(rn_jobs *jobs, const rn_specs *specs, void (*retire)(void *old, void *ud),
                       void *ud);

/* Replace the limits (reload); jobs already submitted keep theirs. The
 * cache and build directory settings are not changed. */
void rn_jobs_set_limits(rn_jobs *jobs, const rn_jobs_limits *limits);

/* Kill every job (each still gets on_end with reason killed) and free the
 * manager once the last one has ended; cb (may be NULL) runs then. */
void rn_jobs_shutdown(rn_jobs *jobs, void (*cb)(void *ud), void *ud);

/* Validate and queue a request. Errors, before any callback:
 *  -ENOENT  unknown language        -ENOTSUP no inline template
 *  -E2BIG   code over the limit     -EBUSY   queue full
 *  -EINVAL  empty code or bad field -ENOEXEC language not installed here
 *  -EDQUOT  the client's run rate is exhausted
 * On success *out is the job (valid until on_end returns). */
int rn_jobs_submit(rn_jobs *jobs, const rn_job_request *req, const rn_job_callbacks *cb, void *ud,
                   rn_job **out);

/* Runs a client may start per minute (token bucket, burst = the rate);
 * 0 = unlimited. Refusals are -EDQUOT from rn_jobs_submit. */
void rn_jobs_set_rate(rn_jobs *jobs, unsigned runs_per_minute);

/* The rate set with rn_jobs_set_rate. */
unsigned rn_jobs_get_rate(const rn_jobs *jobs);

/* The limits a run of spec gets when its request asks for none: the run
 * stage's and the compile stage's (requests can only lower them). */
void rn_jobs_limits_of(const rn_jobs_limits *d, const rn_spec *spec, rn_spec_limits *run,
                       rn_spec_limits *compile);

/* Send sig to the program of the running stage (compile or run) and its
 * process group; -ESRCH when no stage is running. */
int rn_job_signal(rn_job *job, int sig);

/* Kill a job at any stage; on_end follows with reason killed. */
void rn_job_kill(rn_job *job);

/* Stop (true) or resume (false) reading the job's output pipes: the
 * program blocks on write meanwhile. Counted: pauses nest. */
void rn_job_pause(rn_job *job, bool pause);

/* Write to the running program's stdin (copied; -EPIPE when closed). */
int rn_job_write_stdin(rn_job *job, const char *data, size_t len);

/* Close the program's stdin. */
void rn_job_close_stdin(rn_job *job);

/* The 64-hex-character run id. */
const char *rn_job_id(const rn_job *job);

/* The resolved spec. */
const rn_spec *rn_job_spec(const rn_job *job);

/* Figures for /v1/info and metrics. */
unsigned rn_jobs_running(const rn_jobs *jobs);
unsigned rn_jobs_queued(const rn_jobs *jobs);
const rn_jobs_limits *rn_jobs_get_limits(const rn_jobs *jobs);

/* "exited", "signaled", "timeout", "cpu_limit", "oom", "output_limit",
 * "killed", "setup_failed", "compile_error", "internal". */
const char *rn_job_end_name(rn_job_end r);

#endif
