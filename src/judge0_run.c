/* A Judge0 submission's runs: its fields made into a job (Judge0's limits
 * as runnel's), each run's end mapped onto Judge0's statuses as
 * isolate_job.rb maps isolate's, number_of_runs runs averaged, and the end
 * saved, answered to wait=true requests and reported to callback_url. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge0_int.h"
#include "log.h"

static const rn_job_callbacks run_callbacks;

/* Judge0's comparison: every line right-stripped, then the whole. */
static void j0_strip(const char *p, size_t n, rn_jbuf *out)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\n')
            continue;
        size_t e = i;
        while (e > start && strchr(" \t\r\v\f", p[e - 1]) && p[e - 1])
            e--;
        if (start)
            rn_jbuf_raw(out, "\n", 1);
        rn_jbuf_raw(out, p + start, e - start);
        start = i + 1;
    }
    while (out->len && strchr(" \t\r\n\v\f", out->data[out->len - 1]) && out->data[out->len - 1])
        out->len--;
}

static bool output_matches(const j0_sub *s)
{
    rn_jbuf a, b;
    rn_jbuf_init(&a, 0);
    rn_jbuf_init(&b, 0);
    j0_strip(s->out.p ? s->out.p : "", s->out.len, &a);
    j0_strip(s->expected_output.p, s->expected_output.len, &b);
    bool eq = a.len == b.len && (!a.len || !memcmp(a.data, b.data, a.len));
    rn_jbuf_free(&a);
    rn_jbuf_free(&b);
    return eq;
}

static void set_message(j0_sub *s, const char *fmt, int v)
{
    char m[160];
    snprintf(m, sizeof(m), fmt, v);
    j0_bytes_set(&s->message, m, strlen(m));
}

/* The status of one finished run, and exit_code, exit_signal, message. */
static int run_status(j0_sub *s, const rn_job_result *res)
{
    const rn_job_stage_result *r = &res->run;
    if (!r->ran) {
        if (res->reason == RN_JOB_END_COMPILE_ERROR ||
            (res->compile.ran && res->compile.reason != RN_JOB_END_EXITED))
            return J0_COMPILE_ERROR;
        j0_bytes_set(&s->message, res->message, strlen(res->message));
        return res->reason == RN_JOB_END_SETUP_FAILED && res->setup_errno == ENOEXEC
                   ? J0_EXEC_FORMAT
                   : J0_INTERNAL;
    }
    switch (r->reason) {
    case RN_JOB_END_TIMEOUT:
        /* As isolate: the CPU limit is checked before the wall limit. */
        if (r->cpu_ms > (uint64_t)(s->cpu_time_limit * 1000.0 + 0.5))
            set_message(s, "Time limit exceeded%.0d", 0);
        else
            set_message(s, "Time limit exceeded (wall clock)%.0d", 0);
        s->exit_signal = SIGKILL;
        return J0_TLE;
    case RN_JOB_END_CPU_LIMIT:
        set_message(s, "Time limit exceeded%.0d", 0);
        s->exit_signal = SIGKILL;
        return J0_TLE;
    case RN_JOB_END_OUTPUT_LIMIT:
        s->exit_signal = SIGXFSZ;
        set_message(s, "Caught fatal signal %d", SIGXFSZ);
        return J0_SIGXFSZ;
    case RN_JOB_END_OOM:
        s->exit_signal = SIGKILL;
        set_message(s, "Caught fatal signal %d", SIGKILL);
        return J0_OTHER;
    case RN_JOB_END_SIGNALED:
        s->exit_signal = r->signal;
        set_message(s, "Caught fatal signal %d", r->signal);
        return r->signal == SIGSEGV   ? J0_SIGSEGV
               : r->signal == SIGXFSZ ? J0_SIGXFSZ
               : r->signal == SIGFPE  ? J0_SIGFPE
               : r->signal == SIGABRT ? J0_SIGABRT
                                      : J0_OTHER;
    case RN_JOB_END_EXITED:
        s->exit_code = r->exit_code;
        if (r->cpu_ms > (uint64_t)(s->cpu_time_limit * 1000.0 + 0.5)) {
            set_message(s, "Time limit exceeded%.0d", 0);
            return J0_TLE;
        }
        if (r->exit_code) {
            set_message(s, "Exited with error status %d", r->exit_code);
            return J0_NZEC;
        }
        if (s->expected_output.p && !output_matches(s))
            return J0_WRONG_ANSWER;
        return J0_ACCEPTED;
    default:
        j0_bytes_set(&s->message, res->message, strlen(res->message));
        return J0_INTERNAL;
    }
}

void j0_run_answer_waiters(j0_sub *s)
{
    while (s->waiters) {
        j0_waiter *w = s->waiters;
        s->waiters = w->next;
        rn_jbuf b;
        rn_jbuf_init(&b, 0);
        int r = j0_out_sub(&b, s->st, s, w->fields, w->base64);
        if (r == -EILSEQ)
            j0_reply_error(w->http, 400,
                           "some attributes for this submission cannot be converted to UTF-8, "
                           "use base64_encoded=true");
        else if (r < 0)
            j0_reply_error(w->http, 500, "out of memory");
        else /* once the row saved before is committed: any node then agrees */
            j0_reply_after_commit(s->st, w->http, 201, b.data, b.len);
        rn_jbuf_free(&b);
        rn_http_release(w->http);
        free(w);
    }
}

/* The submission is done: its row, its waiters, its callback. */
static void finish(j0_sub *s)
{
    j0_state *st = s->st;
    s->job = NULL;
    s->finished_ms = rn_store_now_ms();
    if (s->runs_done > 0 && s->status_id != J0_COMPILE_ERROR && s->status_id < J0_INTERNAL) {
        s->has_time = true;
        s->time = s->sum_time / s->runs_done;
        s->wall_time = s->sum_wall / s->runs_done;
        s->memory = s->sum_memory / (uint64_t)s->runs_done;
    }
    if (s->deleted) {
        j0_run_answer_waiters(s);
        j0_sub_free(s);
        return;
    }
    j0_store_save(st, s);
    j0_run_answer_waiters(s);
    j0_callback_send(st, s);
    rn_log(RN_LOG_DEBUG, "judge0.done", "token=%s status=%d runs=%d", s->token, s->status_id,
           s->runs_done);
}

/* Clear what one run wrote, before the next. */
static void reset_outputs(j0_sub *s)
{
    j0_bytes_clear(&s->out);
    j0_bytes_clear(&s->err);
    j0_bytes_clear(&s->compile_output);
    j0_bytes_clear(&s->message);
    s->exit_code = -1;
    s->exit_signal = 0;
}

static int submit_once(j0_sub *s, rn_http *http, const char *client, rn_host_refusal *why);

static void on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    j0_sub *s = ud;
    (void)job;
    s->job = NULL;
    if (s->deleted) {
        finish(s);
        return;
    }
    if (res->reason == RN_JOB_END_KILLED) {
        /* Only a stopping server kills a Judge0 job: its row keeps status
         * 1 or 2, and the next start queues it again. */
        rn_log(RN_LOG_INFO, "judge0.interrupted", "token=%s", s->token);
        j0_run_answer_waiters(s);
        return;
    }
    int status = run_status(s, res);
    if (res->run.ran) {
        s->runs_done++;
        s->sum_time += (double)res->run.cpu_ms / 1000.0;
        s->sum_wall += (double)res->run.wall_ms / 1000.0;
        s->sum_memory += res->run.memory_peak / 1024;
    }
    s->status_id = status;
    if (status == J0_ACCEPTED && s->runs_done < s->number_of_runs) {
        rn_host_refusal why;
        reset_outputs(s);
        if (submit_once(s, NULL, NULL, &why) == 0)
            return;
        s->status_id = J0_INTERNAL;
        j0_bytes_set(&s->message, why.message, strlen(why.message));
    }
    finish(s);
}

static void on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    j0_sub *s = ud;
    (void)job;
    s->compiling = stage == RN_JOB_COMPILING;
    if (s->status_id == J0_IN_QUEUE) {
        s->status_id = J0_PROCESSING;
        j0_store_save(s->st, s);
    }
}

static void append(j0_bytes *b, const char *data, size_t len)
{
    char *p = realloc(b->p, b->len + len + 1);
    if (!p)
        return;
    memcpy(p + b->len, data, len);
    b->p = p;
    b->len += len;
    p[b->len] = 0;
}

static void on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    j0_sub *s = ud;
    (void)job;
    if (s->compiling)
        append(&s->compile_output, data, len);
    else if (fd == 2 && !s->redirect_stderr_to_stdout)
        append(&s->err, data, len);
    else
        append(&s->out, data, len);
}

static const rn_job_callbacks run_callbacks = {on_stage, on_output, on_end};

/* Split command_line_arguments on blanks (Judge0 hands them to a shell
 * after stripping its metacharacters; quoting is not interpreted). */
static size_t split_args(char *p, const char **argv, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(p, " \t\n", &save); t && n < max;
         t = strtok_r(NULL, " \t\n", &save))
        argv[n++] = t;
    return n;
}

static int submit_once(j0_sub *s, rn_http *http, const char *client, rn_host_refusal *why)
{
    j0_state *st = s->st;
    const rn_spec *spec = j0_spec_of(st, s->language_id, NULL);
    const char *argv[64];
    char *args = NULL;
    rn_job_request req = {0};
    if (!spec) {
        why->err = -ENOENT;
        why->status = 422;
        snprintf(why->message, sizeof(why->message), "language with id %d doesn't exist",
                 s->language_id);
        return -ENOENT;
    }
    rn_job_file *files = NULL;
    size_t nfiles = 0;
    char err[256];
    if (j0_files_unpack(st, s, &files, &nfiles, err, sizeof(err)) < 0) {
        why->err = -EINVAL;
        why->status = 422;
        snprintf(why->message, sizeof(why->message), "additional_files: %s", err);
        return -EINVAL;
    }
    req.spec = spec;
    req.language = spec->name;
    req.code = s->source_code.p ? s->source_code.p : "";
    req.code_len = s->source_code.len;
    req.files = files;
    req.nfiles = nfiles;
    if (s->language_id == J0_MULTI_FILE_ID)
        j0_files_multi(&req);
    req.stdin_data = s->stdin_data.p;
    req.stdin_len = s->stdin_data.len;
    if (s->command_line_arguments.p && (args = strdup(s->command_line_arguments.p)))
        req.nargs = split_args(args, argv, sizeof(argv) / sizeof(argv[0]));
    req.args = argv;
    req.cpu_ms = (uint64_t)((s->cpu_time_limit + s->cpu_extra_time) * 1000.0 + 0.5);
    if (!req.cpu_ms)
        req.cpu_ms = 1;
    req.wall_ms = (uint64_t)(s->wall_time_limit * 1000.0 + 0.5);
    req.memory_bytes = s->memory_limit * 1024;
    /* Judge0's per-process memory limit (isolate's -m instead of
     * --cg-mem): each process's data segment is bounded too. */
    if (s->per_process_memory)
        req.data_bytes = s->memory_limit * 1024;
    req.pids = (unsigned)s->max_processes_and_or_threads;
    req.fsize_bytes = s->max_file_size * 1024;
    req.output_bytes = s->max_file_size * 1024 * 2;
    req.compile_limits = true;
    req.raw_output = true;
    rn_host_origin from = {.http = client ? NULL : http, .client = client, .inflight = -1};
    if (!from.http && !from.client)
        from.client = "judge0";
    s->compiling = false;
    int r = rn_host_submit(st->host, &from, &req, &run_callbacks, s, &s->job, why);
    free(args);
    j0_files_free(files, nfiles);
    return r;
}

int j0_run_start(j0_state *st, j0_sub *s, rn_http *from, const char *client, rn_host_refusal *why)
{
    (void)st;
    s->runs_done = 0;
    s->sum_time = s->sum_wall = 0;
    s->sum_memory = 0;
    s->status_id = J0_IN_QUEUE;
    reset_outputs(s);
    return submit_once(s, from, client, why);
}
