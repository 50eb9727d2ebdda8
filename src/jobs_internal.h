/* What the files of the jobs module share: a job and the manager, and the
 * steps of a job's life the compile stage (job_compile.c) takes part in.
 * Not for other modules: they use jobs.h. */
#ifndef RUNNEL_JOBS_INTERNAL_H
#define RUNNEL_JOBS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cache.h"
#include "job_files.h"
#include "jobs.h"
#include "rate.h"
#include "runner.h"

struct rn_job {
    rn_jobs *jobs;
    rn_job *next, *prev; /* all jobs */
    rn_job *qnext;       /* queue */
    bool queued;
    char id[65];
    const rn_spec *spec;
    char *code;
    size_t code_len;
    char **compile_argv;
    char **run_argv;
    char **env;         /* the run stage's: the spec's and the request's */
    char **compile_env; /* the compile stage's: the spec's alone */
    char *stdin_data;
    size_t stdin_len;
    bool keep_stdin;
    rn_job_files files; /* the request's extra files and entry name */
    bool compile_fds;   /* the compiler's output keeps its fd */
    uint64_t stage_bytes[3];
    uint64_t data_bytes;  /* the run stage's RLIMIT_DATA (0 = none) */
    uint64_t fsize_bytes; /* the run stage's RLIMIT_FSIZE (0 = the sandbox's) */
    bool raw_output;      /* chunks as written, not made valid UTF-8 */
    rn_box_bind *binds;   /* the request's extra binds (owned copies) */
    size_t nbinds;
    rn_spec_limits lim;         /* run stage */
    rn_spec_limits compile_lim; /* compile stage */
    rn_job_callbacks cb;
    void *ud;
    rn_job_stage stage;
    rn_runner *runner;
    int pause;
    bool kill_requested;
    bool old_specs; /* submitted before the last specs reload */
    bool counted;   /* holds a concurrency slot */
    bool ending;
    uint64_t submitted_ms;
    uint64_t output_bytes;
    bool output_over;
    unsigned char carry[3][4];
    size_t carry_len[3];
    char cache_key[65];
    bool cache_ref;
    char build_dir[4096]; /* host dir mounted at /build */
    bool build_is_tmp;    /* remove build_dir at the end */
    bool build_bounded;   /* build_dir is a size-limited tmpfs */
    bool committing;      /* the cache is copying the build */
    rn_job_result res;
    uv_timer_t defer;
    bool defer_inited;
};

struct rn_jobs {
    struct {
        void *old;
        void (*fn)(void *, void *);
        void *ud;
    } retired[8];
    unsigned nretired;
    unsigned old_alive; /* jobs that may still point into a retired set */
    uv_loop_t *loop;
    rn_rate rate;
    rn_box_context *box;
    const rn_specs *specs;
    rn_jobs_limits limits;
    rn_cache *cache;
    uv_timer_t kick;
    /* Sandboxes built ahead for the next runs (rn_box_warm), of the shape
     * of the last run stage started (at first, of the default limits). */
    uv_timer_t warm;
    rn_box_options warm_shape; /* its binds are the current specs' mounts */
    int closing;               /* handles still closing at the end */
    rn_job *all;
    rn_job *qhead, *qtail;
    unsigned nqueued;
    unsigned nrunning;
    unsigned njobs;
    bool shutting_down;
    void (*shutdown_cb)(void *);
    void *shutdown_ud;
};

/* The single end of every job: report, release, free. */
void rn_job_finish(rn_job *job);

/* Set the end's message sentence. */
void rn_job_message(rn_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Add a stage's figures and end to the job's result. */
void rn_job_account(rn_job *job, const rn_box_result *br);

/* Output of either stage (the runner's callback; ud is the job). */
void rn_job_on_output(rn_runner *r, int fd, const char *data, size_t len, void *ud);

/* The sandbox options of a stage. The compile stage (compiling) gets
 * /build writable, the spec's environment and mounts only; the run stage
 * the request's environment and binds too. binds has room for 64. */
/* One stage's own figures into st (the job's reason may still change). */
void rn_job_stage_figures(rn_job *job, rn_job_stage_result *st, const rn_box_result *br);

/* Send what is held of a cut UTF-8 sequence on every fd. */
void rn_job_flush_carry(rn_job *job);

void rn_job_box_options(rn_job *job, rn_box_options *o, const rn_spec_limits *lim,
                        rn_box_bind *binds, size_t *nbinds, rn_box_file *file, bool compiling);

/* End the job because its sandbox could not be started (err). */
void rn_job_fail_start(rn_job *job, int err);

/* Start the run stage. */
void rn_job_start_run(rn_job *job);

/* Start a compiled language's job: from the cache on a hit, else compile
 * (then the run stage follows). */
void rn_job_start_compiled(rn_job *job);

#endif
