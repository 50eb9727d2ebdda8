#include "jobs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sandbox/rmtree.h"
#include "cache.h"
#include "jbuf.h"
#include "log.h"
#include "metrics.h"
#include "runner.h"

#define JOB_MAX_ARGS       RN_JOB_MAX_ARGS
#define JOB_MAX_ENV        256
#define JOB_MAX_STRING     65536
#define JOB_BUILD_DIR      "/build"
#define JOB_STDIN_MAX      (4u << 20)
#define JOB_STATE_TEMPLATE "/tmp/runnel-build.XXXXXX"

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
    char **env;
    char *stdin_data;
    size_t stdin_len;
    bool keep_stdin;
    rn_box_bind *binds; /* the request's extra binds (owned copies) */
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
    rn_job_result res;
    uv_timer_t defer;
    bool defer_inited;
};

#define RATE_SLOTS 1024

typedef struct {
    char ip[64];
    double tokens;
    uint64_t last_ms;
} rate_slot;

struct rn_jobs {
    struct {
        void *old;
        void (*fn)(void *, void *);
        void *ud;
    } retired[8];
    unsigned nretired;
    unsigned old_alive; /* jobs that may still point into a retired set */
    uv_loop_t *loop;
    unsigned rate_per_minute;
    rate_slot *rates;
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

static const char *const end_names[] = {
    "exited",       "signaled", "timeout",      "cpu_limit",     "oom",
    "output_limit", "killed",   "setup_failed", "compile_error", "internal",
};

const char *rn_job_end_name(rn_job_end r)
{
    if ((unsigned)r < sizeof(end_names) / sizeof(end_names[0]))
        return end_names[r];
    return "unknown";
}

static void jobs_schedule(rn_jobs *jobs);
static void jobs_retire_check(rn_jobs *jobs);
static void job_start_run(rn_job *job);
static void jobs_finish_shutdown(rn_jobs *jobs);
static void jobs_warm_later(rn_jobs *jobs);
static void jobs_set_warm_shape(rn_jobs *jobs, const rn_box_options *o);

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Set KEY=VALUE in a NULL-terminated vector, replacing an earlier KEY. */
static int env_set(char ***envp, size_t *n, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    char *copy = strdup(kv);
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        if (!strncmp((*envp)[i], kv, klen) && (*envp)[i][klen] == '=') {
            free((*envp)[i]);
            (*envp)[i] = copy;
            return 0;
        }
    }
    char **nv = realloc(*envp, (*n + 2) * sizeof(char *));
    if (!nv) {
        free(copy);
        return -ENOMEM;
    }
    nv[(*n)++] = copy;
    nv[*n] = NULL;
    *envp = nv;
    return 0;
}

static int job_build_env(rn_job *job, const rn_job_request *req)
{
    static const char *const base[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "HOME=/tmp",
        "LANG=C.UTF-8",
        "TERM=dumb",
    };
    size_t n = 0;
    int err = 0;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]) && !err; i++)
        err = env_set(&job->env, &n, base[i]);
    for (char **e = job->spec->env; e && *e && !err; e++)
        err = env_set(&job->env, &n, *e);
    for (size_t i = 0; i < req->nenv && !err; i++)
        err = env_set(&job->env, &n, req->env[i]);
    if (!err && !job->env)
        err = -ENOMEM;
    return err;
}

static uint64_t pick(uint64_t spec, uint64_t def)
{
    return spec ? spec : def;
}

static uint64_t lower(uint64_t cur, uint64_t req)
{
    return req && req < cur ? req : cur;
}

static void job_limits(rn_job *job, const rn_jobs_limits *d, const rn_job_request *req)
{
    const rn_spec_limits *s = &job->spec->limits, *c = &job->spec->compile_limits;
    job->lim.wall_ms = lower(pick(s->wall_ms, d->wall_ms), req->wall_ms);
    job->lim.cpu_ms = pick(s->cpu_ms, d->cpu_ms ? d->cpu_ms : job->lim.wall_ms);
    if (job->lim.cpu_ms > job->lim.wall_ms)
        job->lim.cpu_ms = job->lim.wall_ms;
    job->lim.memory_bytes = lower(pick(s->memory_bytes, d->memory_bytes), req->memory_bytes);
    job->lim.output_bytes = lower(pick(s->output_bytes, d->output_bytes), req->output_bytes);
    job->lim.tmp_bytes = pick(s->tmp_bytes, d->tmp_bytes);
    job->lim.pids = (unsigned)pick(s->pids, d->pids);
    job->lim.nofile = (unsigned)pick(s->nofile, d->nofile);
    /* The compile stage is the operator's toolchain, not the user's
     * program: its own spec limits, else the run stage's. */
    job->compile_lim.wall_ms = pick(c->wall_ms, job->lim.wall_ms);
    job->compile_lim.cpu_ms = pick(c->cpu_ms, job->compile_lim.wall_ms);
    job->compile_lim.memory_bytes = pick(c->memory_bytes, job->lim.memory_bytes);
    job->compile_lim.output_bytes = pick(c->output_bytes, job->lim.output_bytes);
    job->compile_lim.tmp_bytes = pick(c->tmp_bytes, job->lim.tmp_bytes);
    job->compile_lim.pids = (unsigned)pick(c->pids, job->lim.pids);
    job->compile_lim.nofile = (unsigned)pick(c->nofile, job->lim.nofile);
}

static void job_free(rn_job *job)
{
    free(job->code);
    strv_free(job->compile_argv);
    strv_free(job->run_argv);
    strv_free(job->env);
    free(job->stdin_data);
    for (size_t i = 0; i < job->nbinds; i++) {
        free((char *)job->binds[i].src);
        free((char *)job->binds[i].dst);
    }
    free(job->binds);
    free(job);
}

static void job_defer_closed(uv_handle_t *h)
{
    job_free(h->data);
}

static void job_release_build(rn_job *job)
{
    rn_jobs *jobs = job->jobs;
    if (job->cache_ref) {
        rn_cache_release(jobs->cache, job->cache_key);
        job->cache_ref = false;
    }
    if (job->build_is_tmp && job->build_dir[0]) {
        if (jobs->cache)
            rn_cache_abort(jobs->cache, job->build_dir);
        else
            rn_rmtree(job->build_dir);
        job->build_is_tmp = false;
    }
}

static void job_flush_carry(rn_job *job)
{
    for (int fd = 1; fd <= 2; fd++) {
        if (!job->carry_len[fd])
            continue;
        rn_jbuf out;
        rn_jbuf_init(&out, 0);
        rn_utf8_sanitize(&out, job->carry[fd], &job->carry_len[fd], "", 0, true);
        if (out.len)
            job->cb.on_output(job, fd, out.data, out.len, job->ud);
        rn_jbuf_free(&out);
    }
}

/* The single end of every job: report, release, free. */
static void job_end(rn_job *job)
{
    rn_jobs *jobs = job->jobs;
    if (job->ending)
        return;
    job->ending = true;
    if (job->queued) {
        /* unlink from the queue */
        rn_job **pp = &jobs->qhead;
        rn_job *prev = NULL;
        while (*pp && *pp != job) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        if (*pp) {
            *pp = job->qnext;
            if (jobs->qtail == job)
                jobs->qtail = prev;
            jobs->nqueued--;
        }
        job->queued = false;
    }
    job_flush_carry(job);
    job_release_build(job);
    if (job->counted) {
        job->counted = false;
        jobs->nrunning--;
    }
    job->stage = RN_JOB_DONE;
    job->res.exec_ms = rn_now_ms() - job->submitted_ms;
    job->res.output_bytes = job->output_bytes;
    if (job->next)
        job->next->prev = job->prev;
    if (job->prev)
        job->prev->next = job->next;
    else
        jobs->all = job->next;
    jobs->njobs--;

    rn_log(RN_LOG_INFO, "run.stop",
           "runid=%s language=%s reason=%s exit=%d signal=%d duration_ms=%llu cpu_ms=%llu "
           "memory_peak=%llu output_bytes=%llu cached=%d",
           job->id, job->spec->name, rn_job_end_name(job->res.reason), job->res.exit_code,
           job->res.signal, (unsigned long long)job->res.exec_ms,
           (unsigned long long)job->res.cpu_ms, (unsigned long long)job->res.memory_peak,
           (unsigned long long)job->res.output_bytes, job->res.compile_cached);
    {
        char labels[256];
        snprintf(labels, sizeof(labels), "language=\"%s\",reason=\"%s\"", job->spec->name,
                 rn_job_end_name(job->res.reason));
        rn_metrics_add("runnel_runs_finished_total", labels, 1);
        snprintf(labels, sizeof(labels), "language=\"%s\"", job->spec->name);
        rn_metrics_observe_ms("runnel_run_duration_ms", labels, job->res.exec_ms);
        rn_metrics_add("runnel_output_bytes_total", NULL, job->res.output_bytes);
        if (job->res.reason == RN_JOB_END_SETUP_FAILED) {
            snprintf(labels, sizeof(labels), "stage=\"%s\"",
                     rn_box_stage_name(job->res.setup_stage));
            rn_metrics_add("runnel_sandbox_setup_failures_total", labels, 1);
        }
    }
    job->cb.on_end(job, &job->res, job->ud);
    if (job->old_specs && jobs->old_alive) {
        jobs->old_alive--;
        jobs_retire_check(jobs);
    }

    if (job->defer_inited) {
        uv_close((uv_handle_t *)&job->defer, job_defer_closed);
    } else {
        job_free(job);
    }
    if (jobs->shutting_down) {
        if (jobs->njobs == 0)
            jobs_finish_shutdown(jobs);
        return;
    }
    jobs_schedule(jobs);
    jobs_warm_later(jobs);
}

static void job_set_message(rn_job *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void job_set_message(rn_job *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->res.message, sizeof(job->res.message), fmt, ap);
    va_end(ap);
}

static void job_describe_end(rn_job *job, const rn_spec_limits *lim, const char *stage)
{
    rn_job_result *r = &job->res;
    switch (r->reason) {
    case RN_JOB_END_TIMEOUT:
        job_set_message(job, "%stime limit exceeded (%llu ms)", stage,
                        (unsigned long long)lim->wall_ms);
        break;
    case RN_JOB_END_CPU_LIMIT:
        job_set_message(job, "%sCPU time limit exceeded (%llu ms)", stage,
                        (unsigned long long)lim->cpu_ms);
        break;
    case RN_JOB_END_OOM:
        job_set_message(job, "%smemory limit exceeded (%llu bytes)", stage,
                        (unsigned long long)lim->memory_bytes);
        break;
    case RN_JOB_END_OUTPUT_LIMIT:
        job_set_message(job, "output limit exceeded (%llu bytes)",
                        (unsigned long long)lim->output_bytes);
        break;
    case RN_JOB_END_KILLED:
        job_set_message(job, "killed");
        break;
    case RN_JOB_END_SIGNALED:
        job_set_message(job, "%sterminated by signal %d", stage, r->signal);
        break;
    case RN_JOB_END_SETUP_FAILED:
        job_set_message(job, "sandbox setup failed at stage %s: %s",
                        rn_box_stage_name(r->setup_stage), strerror(r->setup_errno));
        break;
    case RN_JOB_END_COMPILE_ERROR:
        job_set_message(job, "compilation failed with exit code %d", r->exit_code);
        break;
    default:
        break;
    }
}

static rn_job_end map_reason(rn_box_reason r)
{
    switch (r) {
    case RN_BOX_EXITED:
        return RN_JOB_END_EXITED;
    case RN_BOX_SIGNALED:
        return RN_JOB_END_SIGNALED;
    case RN_BOX_TIMEOUT:
        return RN_JOB_END_TIMEOUT;
    case RN_BOX_CPU_LIMIT:
        return RN_JOB_END_CPU_LIMIT;
    case RN_BOX_MEMORY_LIMIT:
        return RN_JOB_END_OOM;
    case RN_BOX_OUTPUT_LIMIT:
        return RN_JOB_END_OUTPUT_LIMIT;
    case RN_BOX_KILLED:
        return RN_JOB_END_KILLED;
    case RN_BOX_SETUP_FAILED:
        return RN_JOB_END_SETUP_FAILED;
    }
    return RN_JOB_END_INTERNAL;
}

static void job_account(rn_job *job, const rn_box_result *br)
{
    job->res.cpu_ms += br->cpu_ms;
    if (br->memory_peak > job->res.memory_peak)
        job->res.memory_peak = br->memory_peak;
    job->res.reason = map_reason(br->reason);
    job->res.exit_code = br->reason == RN_BOX_EXITED ? br->exit_code : -1;
    job->res.signal = br->signal;
    job->res.setup_stage = br->setup_stage;
    job->res.setup_errno = br->setup_errno;
}

static void job_emit(rn_job *job, int fd, const char *data, size_t len)
{
    rn_jbuf out;
    rn_jbuf_init(&out, 0);
    rn_utf8_sanitize(&out, job->carry[fd], &job->carry_len[fd], data, len, false);
    if (out.len)
        job->cb.on_output(job, fd, out.data, out.len, job->ud);
    rn_jbuf_free(&out);
}

static void job_on_output(rn_runner *r, int fd, const char *data, size_t len, void *ud)
{
    rn_job *job = ud;
    uint64_t limit =
        job->stage == RN_JOB_COMPILING ? job->compile_lim.output_bytes : job->lim.output_bytes;
    if (job->output_over)
        return;
    /* The compiler's stdout is diagnostics too: both go out as stderr. */
    if (job->stage == RN_JOB_COMPILING)
        fd = 2;
    if (job->output_bytes + len > limit) {
        len = (size_t)(limit - job->output_bytes);
        job->output_over = true;
        rn_runner_kill(r, RN_BOX_OUTPUT_LIMIT);
    }
    job->output_bytes += len;
    if (len)
        job_emit(job, fd, data, len);
}

static void job_on_compile_exit(rn_runner *r, const rn_box_result *br, void *ud)
{
    rn_job *job = ud;
    rn_jobs *jobs = job->jobs;
    (void)r;
    job->runner = NULL;
    job_account(job, br);
    if (job->kill_requested) {
        job->res.reason = RN_JOB_END_KILLED;
        job_describe_end(job, &job->compile_lim, "compile stage: ");
        job_end(job);
        return;
    }
    if (br->reason == RN_BOX_EXITED && br->exit_code != 0) {
        job->res.reason = RN_JOB_END_COMPILE_ERROR;
        job->res.exit_code = br->exit_code;
        job_describe_end(job, &job->compile_lim, "");
        job_end(job);
        return;
    }
    if (br->reason != RN_BOX_EXITED) {
        job_describe_end(job, &job->compile_lim, "compile stage: ");
        job_end(job);
        return;
    }
    if (jobs->cache) {
        char final[sizeof(job->build_dir)];
        int err =
            rn_cache_commit(jobs->cache, job->cache_key, job->build_dir, final, sizeof(final));
        if (err < 0) {
            job->res.reason = RN_JOB_END_INTERNAL;
            job_set_message(job, "compile cache: %s", strerror(-err));
            job_end(job);
            return;
        }
        job->build_is_tmp = false;
        job->cache_ref = true;
        snprintf(job->build_dir, sizeof(job->build_dir), "%s", final);
    }
    /* The compile stage's figures are kept; the run stage's add to them. */
    job->output_bytes = 0;
    job->output_over = false;
    job_start_run(job);
}

static void job_on_run_exit(rn_runner *r, const rn_box_result *br, void *ud)
{
    rn_job *job = ud;
    (void)r;
    job->runner = NULL;
    job_account(job, br);
    job->res.wall_ms = br->wall_ms;
    job_describe_end(job, &job->lim, "");
    job_end(job);
}

static void job_fill_box_options(rn_job *job, rn_box_options *o, const rn_spec_limits *lim,
                                 rn_box_bind *binds, size_t *nbinds, rn_box_file *file,
                                 bool build_writable)
{
    const rn_spec *spec = job->spec;
    size_t n = 0;
    for (size_t i = 0; i < spec->nmounts; i++)
        binds[n++] = spec->mounts[i];
    for (size_t i = 0; i < job->nbinds; i++)
        binds[n++] = job->binds[i];
    if (job->build_dir[0]) {
        binds[n].src = job->build_dir;
        binds[n].dst = JOB_BUILD_DIR;
        binds[n].writable = build_writable;
        binds[n].optional = false;
        n++;
    }
    *nbinds = n;
    file->name = spec->filename;
    file->data = job->code;
    file->len = job->code_len;
    file->mode = 0644;
    memset(o, 0, sizeof(*o));
    o->envp = (const char *const *)job->env;
    o->cwd = "/work";
    o->binds = binds;
    o->nbinds = n;
    o->files = file;
    o->nfiles = 1;
    o->wall_ms = lim->wall_ms;
    o->cpu_ms = lim->cpu_ms;
    o->memory_bytes = lim->memory_bytes;
    o->tmp_bytes = lim->tmp_bytes;
    o->pids = lim->pids;
    o->nofile = lim->nofile;
}

static void job_fail_start(rn_job *job, int err)
{
    job->res.reason = RN_JOB_END_INTERNAL;
    job->res.exit_code = -1;
    job_set_message(job, "could not start the sandbox: %s", strerror(-err));
    rn_log(RN_LOG_ERROR, "run.start_failed", "runid=%s error=%d", job->id, err);
    job_end(job);
}

static void job_start_run(rn_job *job)
{
    rn_box_bind binds[64];
    size_t nbinds;
    rn_box_file file;
    rn_box_options o;
    static const rn_runner_callbacks cbs = {job_on_output, job_on_run_exit};

    job_fill_box_options(job, &o, &job->lim, binds, &nbinds, &file, false);
    o.argv = (const char *const *)job->run_argv;
    o.stdin_null = !job->keep_stdin && job->stdin_len == 0;
    /* A run stage whose root is the spec's alone (no compile cache
     * artifact, no binds of the request's) is what the next run of this
     * language will look like; its binds are then the spec's mounts, which
     * live as long as the current specs (not a reloaded-away set's). */
    if (!job->build_dir[0] && !job->nbinds && !job->old_specs) {
        rn_box_options w = o;
        w.binds = job->spec->mounts; /* o's are copies of them on this stack */
        jobs_set_warm_shape(job->jobs, &w);
    }
    job->stage = RN_JOB_RUNNING;
    if (job->cb.on_stage)
        job->cb.on_stage(job, RN_JOB_RUNNING, job->ud);
    if (job->ending)
        return;
    int err = rn_runner_start(job->jobs->loop, job->jobs->box, &o, &cbs, job, &job->runner);
    if (err < 0) {
        job_fail_start(job, err);
        return;
    }
    for (int i = 0; i < job->pause; i++)
        rn_runner_pause(job->runner, true);
    if (job->stdin_len) {
        rn_runner_write(job->runner, job->stdin_data, job->stdin_len);
        free(job->stdin_data);
        job->stdin_data = NULL;
        job->stdin_len = 0;
    }
    if (!job->keep_stdin)
        rn_runner_close_stdin(job->runner);
}

static void job_start_compile(rn_job *job)
{
    rn_jobs *jobs = job->jobs;
    rn_box_bind binds[64];
    size_t nbinds;
    rn_box_file file;
    rn_box_options o;
    static const rn_runner_callbacks cbs = {job_on_output, job_on_compile_exit};
    int err;

    if (jobs->cache) {
        err = rn_cache_begin(jobs->cache, job->build_dir, sizeof(job->build_dir));
    } else {
        snprintf(job->build_dir, sizeof(job->build_dir), "%s", JOB_STATE_TEMPLATE);
        err = mkdtemp(job->build_dir) ? 0 : -errno;
    }
    if (err < 0) {
        job->build_dir[0] = 0;
        job_fail_start(job, err);
        return;
    }
    job->build_is_tmp = true;
    /* The compiler runs as the run's own unprivileged uid. */
    chmod(job->build_dir, 0777);

    job_fill_box_options(job, &o, &job->compile_lim, binds, &nbinds, &file, true);
    o.argv = (const char *const *)job->compile_argv;
    o.stdin_null = true;
    job->stage = RN_JOB_COMPILING;
    if (job->cb.on_stage)
        job->cb.on_stage(job, RN_JOB_COMPILING, job->ud);
    if (job->ending)
        return;
    err = rn_runner_start(jobs->loop, jobs->box, &o, &cbs, job, &job->runner);
    if (err < 0) {
        job_fail_start(job, err);
        return;
    }
    for (int i = 0; i < job->pause; i++)
        rn_runner_pause(job->runner, true);
}

static void job_start(rn_job *job)
{
    rn_jobs *jobs = job->jobs;
    job->counted = true;
    jobs->nrunning++;
    rn_log(RN_LOG_INFO, "run.start", "runid=%s language=%s queued_ms=%llu", job->id,
           job->spec->name, (unsigned long long)(rn_now_ms() - job->submitted_ms));
    char labels[160];
    snprintf(labels, sizeof(labels), "language=\"%s\"", job->spec->name);
    rn_metrics_add("runnel_runs_started_total", labels, 1);
    if (!job->compile_argv) {
        job_start_run(job);
        return;
    }
    job->res.compiled = true;
    if (jobs->cache) {
        rn_cache_key(job->spec->name, (const char *const *)job->compile_argv, job->code,
                     job->code_len, job->cache_key);
        if (rn_cache_acquire(jobs->cache, job->cache_key, job->build_dir, sizeof(job->build_dir)) ==
            0) {
            job->cache_ref = true;
            job->res.compile_cached = true;
            rn_metrics_add("runnel_compile_cache_total", "result=\"hit\"", 1);
            job_start_run(job);
            return;
        }
        rn_metrics_add("runnel_compile_cache_total", "result=\"miss\"", 1);
    }
    job_start_compile(job);
}

static void jobs_schedule(rn_jobs *jobs)
{
    while (!jobs->shutting_down && jobs->qhead && jobs->nrunning < jobs->limits.concurrency) {
        rn_job *job = jobs->qhead;
        jobs->qhead = job->qnext;
        if (!jobs->qhead)
            jobs->qtail = NULL;
        job->qnext = NULL;
        job->queued = false;
        jobs->nqueued--;
        job_start(job);
    }
}

static void jobs_on_kick(uv_timer_t *t)
{
    jobs_schedule(t->data);
}

/* Idle enough to build a sandbox for the next run: nothing waits for a
 * slot and one is free. One box per tick, so a request arriving meanwhile
 * waits at most one clone. */
static void jobs_on_warm(uv_timer_t *t)
{
    rn_jobs *jobs = t->data;
    if (jobs->shutting_down || jobs->qhead || jobs->nrunning >= jobs->limits.concurrency)
        return;
    int r = rn_box_warm(jobs->box, &jobs->warm_shape);
    if (r == 1)
        uv_timer_start(&jobs->warm, jobs_on_warm, 1, 0);
    else if (r < 0)
        rn_log(RN_LOG_WARN, "sandbox.warm_failed", "error=%d", r);
}

/* A run ended or the server started: top the warm boxes up once what the
 * end had to say (STOP, the log line) has gone out, a few loop turns
 * later: a clone on this thread would hold it back. */
static void jobs_warm_later(rn_jobs *jobs)
{
    if (jobs->box && !jobs->shutting_down)
        uv_timer_start(&jobs->warm, jobs_on_warm, 3, 0);
}

/* Remember the shape of a run stage (its limits and binds) for the boxes
 * built ahead. */
static void jobs_set_warm_shape(rn_jobs *jobs, const rn_box_options *o)
{
    rn_box_options *w = &jobs->warm_shape;
    memset(w, 0, sizeof(*w));
    w->memory_bytes = o->memory_bytes;
    w->tmp_bytes = o->tmp_bytes;
    w->pids = o->pids;
    w->network = o->network;
    w->stdin_null = o->stdin_null;
    w->binds = o->binds;
    w->nbinds = o->nbinds;
}

static void job_on_defer(uv_timer_t *t)
{
    rn_job *job = t->data;
    job->res.reason = RN_JOB_END_KILLED;
    job->res.exit_code = -1;
    job_set_message(job, "killed");
    job_end(job);
}

int rn_jobs_new(uv_loop_t *loop, rn_box_context *box, const rn_specs *specs,
                const rn_jobs_limits *limits, rn_jobs **out)
{
    rn_jobs *jobs = calloc(1, sizeof(*jobs));
    if (!jobs)
        return -ENOMEM;
    jobs->loop = loop;
    jobs->box = box;
    jobs->specs = specs;
    jobs->limits = *limits;
    if (!jobs->limits.concurrency) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs->limits.concurrency = n > 0 ? (unsigned)n : 1;
    }
    if (limits->cache_dir && *limits->cache_dir) {
        int err = rn_cache_open(limits->cache_dir, limits->cache_bytes, &jobs->cache);
        if (err < 0) {
            rn_log(RN_LOG_WARN, "cache.disabled", "dir=%s error=%d", limits->cache_dir, err);
            jobs->cache = NULL;
        }
    }
    uv_timer_init(loop, &jobs->kick);
    jobs->kick.data = jobs;
    uv_timer_init(loop, &jobs->warm);
    jobs->warm.data = jobs;
    /* The shape of a run with the default limits until a run says more. */
    rn_box_options o = {.memory_bytes = jobs->limits.memory_bytes,
                        .tmp_bytes = jobs->limits.tmp_bytes,
                        .pids = (unsigned)jobs->limits.pids,
                        .stdin_null = true};
    jobs_set_warm_shape(jobs, &o);
    jobs_warm_later(jobs);
    *out = jobs;
    return 0;
}

static void jobs_retire_check(rn_jobs *jobs)
{
    if (jobs->old_alive || !jobs->nretired)
        return;
    for (unsigned i = 0; i < jobs->nretired; i++)
        jobs->retired[i].fn(jobs->retired[i].old, jobs->retired[i].ud);
    jobs->nretired = 0;
}

void rn_jobs_set_specs(rn_jobs *jobs, const rn_specs *specs, void (*retire)(void *old, void *ud),
                       void *ud)
{
    const rn_specs *old = jobs->specs;
    jobs->specs = specs;
    /* The warm shape's binds are the old set's mounts: forget them. */
    jobs->warm_shape.binds = NULL;
    jobs->warm_shape.nbinds = 0;
    if (!retire)
        return;
    if (jobs->nretired == sizeof(jobs->retired) / sizeof(jobs->retired[0])) {
        /* Too many reloads while old runs live on: keep the oldest set
         * alive (its jobs still point at it) and forget this one. */
        rn_log(RN_LOG_WARN, "specs.retire_full", "msg=\"old specs kept until shutdown\"");
        return;
    }
    jobs->retired[jobs->nretired].old = (void *)old;
    jobs->retired[jobs->nretired].fn = retire;
    jobs->retired[jobs->nretired].ud = ud;
    jobs->nretired++;
    jobs->old_alive = 0;
    for (rn_job *j = jobs->all; j; j = j->next) {
        j->old_specs = true;
        jobs->old_alive++;
    }
    jobs_retire_check(jobs);
}

void rn_jobs_set_limits(rn_jobs *jobs, const rn_jobs_limits *limits)
{
    const char *cache_dir = jobs->limits.cache_dir;
    uint64_t cache_bytes = jobs->limits.cache_bytes;
    jobs->limits = *limits;
    jobs->limits.cache_dir = cache_dir;
    jobs->limits.cache_bytes = cache_bytes;
    if (!jobs->limits.concurrency) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs->limits.concurrency = n > 0 ? (unsigned)n : 1;
    }
    jobs_schedule(jobs);
}

static void jobs_free_after_close(uv_handle_t *h)
{
    rn_jobs *jobs = h->data;
    if (--jobs->closing > 0)
        return;
    if (jobs->cache)
        rn_cache_close(jobs->cache);
    jobs->old_alive = 0;
    jobs_retire_check(jobs);
    free(jobs->rates);
    free(jobs);
}

static void jobs_finish_shutdown(rn_jobs *jobs)
{
    void (*cb)(void *) = jobs->shutdown_cb;
    void *ud = jobs->shutdown_ud;
    jobs->closing = 2;
    uv_close((uv_handle_t *)&jobs->warm, jobs_free_after_close);
    uv_close((uv_handle_t *)&jobs->kick, jobs_free_after_close);
    if (cb)
        cb(ud);
}

void rn_jobs_shutdown(rn_jobs *jobs, void (*cb)(void *ud), void *ud)
{
    jobs->shutdown_cb = cb;
    jobs->shutdown_ud = ud;
    if (jobs->njobs == 0) {
        jobs_finish_shutdown(jobs);
        return;
    }
    jobs->shutting_down = true;
    for (rn_job *j = jobs->all; j; j = j->next)
        rn_job_kill(j);
}


unsigned rn_jobs_get_rate(const rn_jobs *jobs)
{
    return jobs->rate_per_minute;
}

void rn_jobs_set_rate(rn_jobs *jobs, unsigned runs_per_minute)
{
    jobs->rate_per_minute = runs_per_minute;
}

/* Take one token from the client's bucket; false when it is empty. The
 * table is fixed-size: a new client takes the slot idle the longest, so a
 * flood of addresses cannot grow memory (it can only reset buckets). */
static bool rate_take(rn_jobs *jobs, const char *client)
{
    if (!jobs->rate_per_minute)
        return true;
    if (!jobs->rates && !(jobs->rates = calloc(RATE_SLOTS, sizeof(rate_slot))))
        return true;
    uint64_t now = rn_now_ms();
    double rate = jobs->rate_per_minute, per_ms = rate / 60000.0;
    rate_slot *slot = NULL, *oldest = &jobs->rates[0];
    for (size_t i = 0; i < RATE_SLOTS && !slot; i++) {
        if (!strcmp(jobs->rates[i].ip, client))
            slot = &jobs->rates[i];
        else if (jobs->rates[i].last_ms < oldest->last_ms)
            oldest = &jobs->rates[i];
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->ip, sizeof(slot->ip), "%s", client);
        slot->tokens = rate;
        slot->last_ms = now;
    }
    slot->tokens += (double)(now - slot->last_ms) * per_ms;
    if (slot->tokens > rate)
        slot->tokens = rate;
    slot->last_ms = now;
    if (slot->tokens < 1.0)
        return false;
    slot->tokens -= 1.0;
    return true;
}

static bool valid_env_entry(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return false;
    return strlen(kv) < JOB_MAX_STRING;
}

int rn_jobs_submit(rn_jobs *jobs, const rn_job_request *req, const rn_job_callbacks *cb, void *ud,
                   rn_job **out)
{
    if (jobs->shutting_down)
        return -ESHUTDOWN;
    if (!req->language || !req->code)
        return -EINVAL;
    const rn_spec *spec = req->spec ? req->spec : rn_specs_find(jobs->specs, req->language);
    if (!spec)
        return -ENOENT;
    /* job_fill_box_options has room for 64 binds, one kept for /build. */
    if (spec->nmounts + req->nbinds > 63)
        return -E2BIG;
    for (size_t i = 0; i < req->nbinds; i++)
        if (!req->binds[i].src)
            return -EINVAL;
    if (req->code_len == 0)
        return -EINVAL;
    if (req->code_len > jobs->limits.code_bytes)
        return -E2BIG;
    if (req->nargs > JOB_MAX_ARGS || req->nenv > JOB_MAX_ENV)
        return -E2BIG;
    if (req->stdin_len > JOB_STDIN_MAX)
        return -E2BIG;
    for (size_t i = 0; i < req->nargs; i++)
        if (!req->args[i] || strlen(req->args[i]) >= JOB_MAX_STRING)
            return -EINVAL;
    for (size_t i = 0; i < req->nenv; i++)
        if (!req->env[i] || !valid_env_entry(req->env[i]))
            return -EINVAL;
    if (req->inline_expression && !spec->inline_template)
        return -ENOTSUP;
    if (!spec->available)
        return -ENOEXEC;
    if (jobs->nqueued >= jobs->limits.queue_max && jobs->nrunning >= jobs->limits.concurrency)
        return -EBUSY;
    if (!rate_take(jobs, req->client ? req->client : ""))
        return -EDQUOT;

    rn_job *job = calloc(1, sizeof(*job));
    if (!job)
        return -ENOMEM;
    int err = -ENOMEM;
    job->jobs = jobs;
    job->spec = spec;
    job->cb = *cb;
    job->ud = ud;
    job->submitted_ms = rn_now_ms();
    job->keep_stdin = req->keep_stdin;
    job->res.exit_code = -1;
    err = rn_random_hex(job->id, 32);
    if (err < 0)
        goto fail;
    err = -ENOMEM;
    if (req->inline_expression) {
        err = rn_spec_wrap_inline(spec, req->code, req->code_len, &job->code, &job->code_len);
        if (err < 0)
            goto fail;
    } else {
        job->code = malloc(req->code_len + 1);
        if (!job->code)
            goto fail;
        memcpy(job->code, req->code, req->code_len);
        job->code[req->code_len] = 0;
        job->code_len = req->code_len;
    }
    if (spec->compile) {
        err = rn_spec_expand_argv(spec, spec->compile, NULL, 0, &job->compile_argv);
        if (err < 0)
            goto fail;
    }
    err = rn_spec_expand_argv(spec, spec->run, req->args, req->nargs, &job->run_argv);
    if (err < 0)
        goto fail;
    err = job_build_env(job, req);
    if (err < 0)
        goto fail;
    if (req->stdin_len) {
        job->stdin_data = malloc(req->stdin_len);
        if (!job->stdin_data) {
            err = -ENOMEM;
            goto fail;
        }
        memcpy(job->stdin_data, req->stdin_data, req->stdin_len);
        job->stdin_len = req->stdin_len;
    }
    if (req->nbinds) {
        job->binds = calloc(req->nbinds, sizeof(*job->binds));
        if (!job->binds) {
            err = -ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < req->nbinds; i++, job->nbinds++) {
            const rn_box_bind *b = &req->binds[i];
            job->binds[i].src = strdup(b->src);
            job->binds[i].dst = b->dst ? strdup(b->dst) : NULL;
            job->binds[i].writable = false;
            job->binds[i].optional = b->optional;
            if (!job->binds[i].src || (b->dst && !job->binds[i].dst)) {
                job->nbinds++;
                err = -ENOMEM;
                goto fail;
            }
        }
    }
    job_limits(job, &jobs->limits, req);
    uv_timer_init(jobs->loop, &job->defer);
    job->defer.data = job;
    job->defer_inited = true;

    job->next = jobs->all;
    if (jobs->all)
        jobs->all->prev = job;
    jobs->all = job;
    jobs->njobs++;
    job->queued = true;
    job->stage = RN_JOB_QUEUED;
    if (jobs->qtail)
        jobs->qtail->qnext = job;
    else
        jobs->qhead = job;
    jobs->qtail = job;
    jobs->nqueued++;
    /* Callbacks never run inside submit: the caller has not stored the job
     * yet. The kick runs on the next loop iteration. */
    uv_timer_start(&jobs->kick, jobs_on_kick, 0, 0);
    *out = job;
    return 0;
fail:
    job_free(job);
    return err;
}

void rn_job_kill(rn_job *job)
{
    if (job->ending)
        return;
    job->kill_requested = true;
    if (job->runner) {
        rn_runner_kill(job->runner, RN_BOX_KILLED);
    } else if (job->queued) {
        uv_timer_start(&job->defer, job_on_defer, 0, 0);
    }
}

void rn_job_pause(rn_job *job, bool pause)
{
    job->pause += pause ? 1 : -1;
    if (job->pause < 0)
        job->pause = 0;
    if (job->runner)
        rn_runner_pause(job->runner, pause);
}

int rn_job_write_stdin(rn_job *job, const char *data, size_t len)
{
    if (job->ending)
        return -EPIPE;
    if (job->stage != RN_JOB_RUNNING || !job->runner) {
        if (!job->keep_stdin)
            return -EPIPE;
        if (job->stdin_len + len > JOB_STDIN_MAX)
            return -ENOBUFS;
        char *nb = realloc(job->stdin_data, job->stdin_len + len + 1);
        if (!nb)
            return -ENOMEM;
        memcpy(nb + job->stdin_len, data, len);
        job->stdin_data = nb;
        job->stdin_len += len;
        return 0;
    }
    return rn_runner_write(job->runner, data, len);
}

void rn_job_close_stdin(rn_job *job)
{
    if (job->ending)
        return;
    if (job->stage == RN_JOB_RUNNING && job->runner)
        rn_runner_close_stdin(job->runner);
    else
        job->keep_stdin = false;
}

const char *rn_job_id(const rn_job *job)
{
    return job->id;
}

const rn_spec *rn_job_spec(const rn_job *job)
{
    return job->spec;
}


unsigned rn_jobs_running(const rn_jobs *jobs)
{
    return jobs->nrunning;
}

unsigned rn_jobs_queued(const rn_jobs *jobs)
{
    return jobs->nqueued;
}

const rn_jobs_limits *rn_jobs_get_limits(const rn_jobs *jobs)
{
    return &jobs->limits;
}

