/* The compile stage of a job and its use of the compile cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builddir.h"
#include "cache.h"
#include "compilekey.h"
#include "jobs_internal.h"
#include "jobtext.h"
#include "metrics.h"

#define JOB_BUILD_PARENT "/tmp" /* without a cache */

/* The cache has the build (or refused it): run from the entry. */
static void job_on_commit(int status, const char *path, void *ud)
{
    rn_job *job = ud;
    job->committing = false;
    if (status == 0) {
        job->cache_ref = true;
        snprintf(job->build_dir, sizeof(job->build_dir), "%s", path);
    }
    if (job->kill_requested) {
        job->res.reason = RN_JOB_END_KILLED;
        rn_jobtext_describe(&job->res, &job->compile_lim, "compile stage: ");
        rn_job_finish(job);
        return;
    }
    if (status == -EFBIG) {
        job->res.reason = RN_JOB_END_COMPILE_ERROR;
        job->res.exit_code = -1;
        rn_job_message(job, "compile stage: the build is over the %llu bytes one build may keep",
                       (unsigned long long)rn_cache_entry_max(job->jobs->cache));
        rn_job_finish(job);
        return;
    }
    if (status < 0) {
        job->res.reason = RN_JOB_END_INTERNAL;
        rn_job_message(job, "compile cache: %s", strerror(-status));
        rn_job_finish(job);
        return;
    }
    /* The compile stage's figures are kept; the run stage's add to them. */
    job->output_bytes = 0;
    job->output_over = false;
    rn_job_start_run(job);
}

/* Without a cache the run stage reads the build where it is, as another
 * uid than the compile's: hand its top directory back to us, readable. */
static void job_keep_build(rn_job *job)
{
    int fd = open(job->build_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fchown(fd, geteuid(), getegid()) == 0 || errno == EPERM)
        fchmod(fd, 0755);
    close(fd);
}

static void job_on_compile_exit(rn_runner *r, const rn_box_result *br, void *ud)
{
    rn_job *job = ud;
    rn_jobs *jobs = job->jobs;
    (void)r;
    job->runner = NULL;
    rn_job_account(job, br);
    rn_job_stage_figures(job, &job->res.compile, br);
    if (job->compile_fds)
        rn_job_flush_carry(job);
    if (job->kill_requested) {
        job->res.reason = RN_JOB_END_KILLED;
        job->res.compile.reason = RN_JOB_END_KILLED;
        rn_jobtext_describe(&job->res, &job->compile_lim, "compile stage: ");
        rn_job_finish(job);
        return;
    }
    if (br->reason == RN_BOX_EXITED && br->exit_code != 0) {
        job->res.reason = RN_JOB_END_COMPILE_ERROR;
        job->res.exit_code = br->exit_code;
        rn_jobtext_describe(&job->res, &job->compile_lim, "");
        if (job->build_bounded && rn_builddir_full(job->build_dir))
            rn_job_message(job,
                           "compilation failed with exit code %d: the build directory is full "
                           "(%llu bytes)",
                           br->exit_code, (unsigned long long)jobs->limits.build_bytes);
        rn_job_finish(job);
        return;
    }
    if (br->reason != RN_BOX_EXITED) {
        rn_jobtext_describe(&job->res, &job->compile_lim, "compile stage: ");
        rn_job_finish(job);
        return;
    }
    if (jobs->cache) {
        /* The cache copies the build off the loop and removes it. */
        int err = rn_cache_commit(jobs->cache, job->cache_key, job->build_dir, job_on_commit, job);
        if (err < 0) {
            job->res.reason = RN_JOB_END_INTERNAL;
            rn_job_message(job, "compile cache: %s", strerror(-err));
            rn_job_finish(job);
            return;
        }
        job->build_is_tmp = false;
        job->committing = true;
        return;
    }
    job_keep_build(job);
    /* The compile stage's figures are kept; the run stage's add to them. */
    job->output_bytes = 0;
    job->output_over = false;
    rn_job_start_run(job);
}

static void job_start_compile(rn_job *job)
{
    rn_jobs *jobs = job->jobs;
    rn_box_bind binds[64];
    size_t nbinds;
    rn_box_file files[1 + RN_JOB_MAX_FILES];
    rn_box_options o;
    static const rn_runner_callbacks cbs = {rn_job_on_output, job_on_compile_exit};
    int err;

    /* A directory of its own (0700; the sandbox hands it to the run's
     * uid), a tmpfs of limits.build_bytes where we may mount. Beside the
     * cache when there is one: never reachable by other accounts. */
    err = rn_builddir_make(jobs->cache ? rn_cache_dir(jobs->cache) : JOB_BUILD_PARENT,
                           jobs->cache ? "tmp.build." : "runnel-build.", jobs->limits.build_bytes,
                           job->build_dir, sizeof(job->build_dir), &job->build_bounded);
    if (err < 0) {
        job->build_dir[0] = 0;
        rn_job_fail_start(job, err);
        return;
    }
    job->build_is_tmp = true;

    rn_job_box_options(job, &o, &job->compile_lim, binds, &nbinds, files, true);
    o.argv = (const char *const *)job->compile_argv;
    o.stdin_null = true;
    job->stage = RN_JOB_COMPILING;
    if (job->cb.on_stage)
        job->cb.on_stage(job, RN_JOB_COMPILING, job->ud);
    if (job->ending)
        return;
    err = rn_runner_start(jobs->loop, jobs->box, &o, &cbs, job, &job->runner);
    if (err < 0) {
        rn_job_fail_start(job, err);
        return;
    }
    for (int i = 0; i < job->pause; i++)
        rn_runner_pause(job->runner, true);
}

void rn_job_start_compiled(rn_job *job)
{
    rn_jobs *jobs = job->jobs;
    job->res.compiled = true;
    if (jobs->cache) {
        rn_compile_key(job->spec, job->compile_argv, job->compile_env, job->code, job->code_len,
                       job->cache_key);
        rn_job_files_key(&job->files, job->cache_key);
        if (rn_cache_acquire(jobs->cache, job->cache_key, job->build_dir, sizeof(job->build_dir)) ==
            0) {
            job->cache_ref = true;
            job->res.compile_cached = true;
            rn_metrics_add("runnel_compile_cache_total", "result=\"hit\"", 1);
            rn_job_start_run(job);
            return;
        }
        rn_metrics_add("runnel_compile_cache_total", "result=\"miss\"", 1);
    }
    job_start_compile(job);
}
