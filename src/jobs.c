#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builddir.h"
#include "jbuf.h"
#include "jobenv.h"
#include "jobs_internal.h"
#include "jobtext.h"
#include "log.h"
#include "metrics.h"
#include "runlimits.h"
#include "util.h"

#define JOB_MAX_ARGS  RN_JOB_MAX_ARGS
#define JOB_MAX_ENV   256
#define JOB_BUILD_DIR "/build"
#define JOB_STDIN_MAX (4u << 20)

static void jobs_schedule(rn_jobs *jobs);
static void jobs_retire_check(rn_jobs *jobs);
static void jobs_finish_shutdown(rn_jobs *jobs);
static void jobs_warm_later(rn_jobs *jobs);
static void jobs_set_warm_shape(rn_jobs *jobs, const rn_box_options *o);

/* The request's variables are the program's: the compile stage gets the
 * spec's environment alone, so what a client sets (NODE_OPTIONS, GCC's
 * variables, ...) can never change an artifact the cache hands to others. */
static int job_build_env(rn_job *job, const rn_job_request *req)
{
    int err = rn_jobenv_make(job->spec, req->env, req->nenv, &job->env);
    if (!err && job->spec->compile)
        err = rn_jobenv_make(job->spec, NULL, 0, &job->compile_env);
    return err;
}

static void job_free(rn_job *job)
{
    free(job->code);
    rn_strv_free(job->compile_argv);
    rn_strv_free(job->run_argv);
    rn_strv_free(job->env);
    rn_job_files_free(&job->files);
    rn_strv_free(job->compile_env);
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
        rn_builddir_remove_async(jobs->loop, job->build_dir);
        job->build_is_tmp = false;
    }
}

void rn_job_flush_carry(rn_job *job)
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
void rn_job_finish(rn_job *job)
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
    rn_job_flush_carry(job);
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

void rn_job_message(rn_job *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->res.message, sizeof(job->res.message), fmt, ap);
    va_end(ap);
}

void rn_job_stage_figures(rn_job *job, rn_job_stage_result *st, const rn_box_result *br)
{
    st->ran = true;
    st->reason = rn_job_end_of_box(br->reason);
    st->exit_code = br->reason == RN_BOX_EXITED ? br->exit_code : -1;
    st->signal = br->signal;
    st->wall_ms = br->wall_ms;
    st->cpu_ms = br->cpu_ms;
    st->memory_peak = br->memory_peak;
    st->stdout_bytes = job->stage_bytes[1];
    st->stderr_bytes = job->stage_bytes[2];
    job->stage_bytes[1] = job->stage_bytes[2] = 0;
}

void rn_job_account(rn_job *job, const rn_box_result *br)
{
    job->res.cpu_ms += br->cpu_ms;
    if (br->memory_peak > job->res.memory_peak)
        job->res.memory_peak = br->memory_peak;
    job->res.reason = rn_job_end_of_box(br->reason);
    job->res.exit_code = br->reason == RN_BOX_EXITED ? br->exit_code : -1;
    job->res.signal = br->signal;
    job->res.setup_stage = br->setup_stage;
    job->res.setup_errno = br->setup_errno;
}

static void job_emit(rn_job *job, int fd, const char *data, size_t len)
{
    if (job->raw_output) {
        job->cb.on_output(job, fd, data, len, job->ud);
        return;
    }
    rn_jbuf out;
    rn_jbuf_init(&out, 0);
    rn_utf8_sanitize(&out, job->carry[fd], &job->carry_len[fd], data, len, false);
    if (out.len)
        job->cb.on_output(job, fd, out.data, out.len, job->ud);
    rn_jbuf_free(&out);
}

void rn_job_on_output(rn_runner *r, int fd, const char *data, size_t len, void *ud)
{
    rn_job *job = ud;
    uint64_t limit =
        job->stage == RN_JOB_COMPILING ? job->compile_lim.output_bytes : job->lim.output_bytes;
    if (job->output_over)
        return;
    if (job->output_bytes + len > limit) {
        len = (size_t)(limit - job->output_bytes);
        job->output_over = true;
        job->res.output_over_fd = fd;
        rn_runner_kill(r, RN_BOX_OUTPUT_LIMIT);
    }
    job->stage_bytes[fd == 1 ? 1 : 2] += len;
    /* The compiler's stdout is diagnostics too: both go out as stderr,
     * unless the request keeps them apart. */
    if (job->stage == RN_JOB_COMPILING && !job->compile_fds)
        fd = 2;
    job->output_bytes += len;
    if (len)
        job_emit(job, fd, data, len);
}

static void job_on_run_exit(rn_runner *r, const rn_box_result *br, void *ud)
{
    rn_job *job = ud;
    (void)r;
    job->runner = NULL;
    rn_job_account(job, br);
    rn_job_stage_figures(job, &job->res.run, br);
    job->res.wall_ms = br->wall_ms;
    rn_jobtext_describe(&job->res, &job->lim, "");
    rn_job_finish(job);
}

/* The sandbox options of a stage. The compile stage (compiling) gets
 * /build writable, the spec's environment and mounts only; the run stage
 * the request's environment and binds too. */
void rn_job_box_options(rn_job *job, rn_box_options *o, const rn_spec_limits *lim,
                        rn_box_bind *binds, size_t *nbinds, rn_box_file *files, bool compiling)
{
    const rn_spec *spec = job->spec;
    const bool build_writable = compiling;
    size_t n = 0;
    for (size_t i = 0; i < spec->nmounts; i++)
        binds[n++] = spec->mounts[i];
    for (size_t i = 0; i < job->nbinds && !compiling; i++)
        binds[n++] = job->binds[i];
    if (job->build_dir[0]) {
        binds[n].src = job->build_dir;
        binds[n].dst = JOB_BUILD_DIR;
        binds[n].writable = build_writable;
        binds[n].optional = false;
        n++;
    }
    *nbinds = n;
    size_t nfiles = rn_job_files_box(&job->files, spec->filename, job->code, job->code_len, files);
    memset(o, 0, sizeof(*o));
    o->envp = (const char *const *)(compiling ? job->compile_env : job->env);
    o->cwd = "/work";
    o->binds = binds;
    o->nbinds = n;
    o->files = files;
    o->nfiles = nfiles;
    o->wall_ms = lim->wall_ms;
    o->cpu_ms = lim->cpu_ms;
    o->memory_bytes = lim->memory_bytes;
    o->tmp_bytes = lim->tmp_bytes;
    o->pids = lim->pids;
    o->nofile = lim->nofile;
}

void rn_job_fail_start(rn_job *job, int err)
{
    job->res.reason = RN_JOB_END_INTERNAL;
    job->res.exit_code = -1;
    rn_job_message(job, "could not start the sandbox: %s", strerror(-err));
    rn_log(RN_LOG_ERROR, "run.start_failed", "runid=%s error=%d", job->id, err);
    rn_job_finish(job);
}

void rn_job_start_run(rn_job *job)
{
    rn_box_bind binds[64];
    size_t nbinds;
    rn_box_file files[1 + RN_JOB_MAX_FILES];
    rn_box_options o;
    static const rn_runner_callbacks cbs = {rn_job_on_output, job_on_run_exit};

    rn_job_box_options(job, &o, &job->lim, binds, &nbinds, files, false);
    o.argv = (const char *const *)job->run_argv;
    o.data_bytes = job->data_bytes;
    if (job->fsize_bytes)
        o.fsize_bytes = job->fsize_bytes;
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
        rn_job_fail_start(job, err);
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
        rn_job_start_run(job);
        return;
    }
    rn_job_start_compiled(job);
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
    rn_job_message(job, "killed");
    rn_job_finish(job);
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
    if (!jobs->limits.build_bytes)
        jobs->limits.build_bytes = 64ull << 20;
    if (limits->cache_dir && *limits->cache_dir) {
        rn_cache_options co = {.max_bytes = limits->cache_bytes,
                               .entry_max_bytes = jobs->limits.build_bytes,
                               .loop = loop};
        int err = rn_cache_open(limits->cache_dir, &co, &jobs->cache);
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
    uint64_t cache_bytes = jobs->limits.cache_bytes, build_bytes = jobs->limits.build_bytes;
    jobs->limits = *limits;
    jobs->limits.cache_dir = cache_dir;
    jobs->limits.cache_bytes = cache_bytes;
    jobs->limits.build_bytes = build_bytes;
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
    rn_rate_free(&jobs->rate);
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
    return jobs->rate.per_minute;
}

void rn_jobs_set_rate(rn_jobs *jobs, unsigned runs_per_minute)
{
    jobs->rate.per_minute = runs_per_minute;
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
    /* rn_job_box_options has room for 64 binds, one kept for /build. */
    if (spec->nmounts + req->nbinds > 63)
        return -E2BIG;
    for (size_t i = 0; i < req->nbinds; i++)
        if (!req->binds[i].src)
            return -EINVAL;
    if (req->code_len == 0)
        return -EINVAL;
    if (req->code_len > jobs->limits.code_bytes)
        return -E2BIG;
    int ferr = rn_job_files_check(req, jobs->limits.code_bytes);
    if (ferr < 0)
        return ferr;
    for (size_t i = 0; !req->entry_name && i < req->nfiles; i++)
        if (!strcmp(req->files[i].name, spec->filename))
            return -EINVAL;
    if (req->nargs > JOB_MAX_ARGS || req->nenv > JOB_MAX_ENV)
        return -E2BIG;
    if (req->stdin_len > JOB_STDIN_MAX)
        return -E2BIG;
    for (size_t i = 0; i < req->nargs; i++)
        if (!req->args[i] || strlen(req->args[i]) > RN_JOB_MAX_STRING)
            return -EINVAL;
    for (size_t i = 0; i < req->nenv; i++)
        if (!req->env[i] || !rn_jobenv_valid(req->env[i]))
            return -EINVAL;
    if (req->inline_expression && !spec->inline_template)
        return -ENOTSUP;
    if (!spec->available)
        return -ENOEXEC;
    if (jobs->nqueued >= jobs->limits.queue_max && jobs->nrunning >= jobs->limits.concurrency)
        return -EBUSY;
    if (!rn_rate_take(&jobs->rate, req->client ? req->client : "", rn_now_ms()))
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
    job->compile_fds = req->compile_fds;
    job->data_bytes = req->data_bytes;
    job->fsize_bytes = req->fsize_bytes;
    job->raw_output = req->raw_output;
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
        const char *names[RN_JOB_MAX_FILES];
        size_t nn = rn_job_files_names(req, names);
        err = rn_spec_expand_argv_src(spec, spec->compile, req->entry_name, names, nn, NULL, 0,
                                      &job->compile_argv);
        if (err < 0)
            goto fail;
    }
    err = rn_spec_expand_argv_as(spec, spec->run, req->entry_name, req->args, req->nargs,
                                 &job->run_argv);
    if (err < 0)
        goto fail;
    err = rn_job_files_copy(req, &job->files);
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
    rn_limits_merge(spec, &jobs->limits, req, &job->lim, &job->compile_lim);
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

int rn_job_signal(rn_job *job, int sig)
{
    if (job->ending || !job->runner)
        return -ESRCH;
    return rn_runner_signal(job->runner, sig);
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
