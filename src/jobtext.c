/* The words and sentences of a run's end and of refused requests. */
#include "jobtext.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

static void set_message(rn_job_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_message(rn_job_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

void rn_jobtext_describe(rn_job_result *r, const rn_spec_limits *lim, const char *stage)
{
    switch (r->reason) {
    case RN_JOB_END_TIMEOUT:
        set_message(r, "%stime limit exceeded (%llu ms)", stage, (unsigned long long)lim->wall_ms);
        break;
    case RN_JOB_END_CPU_LIMIT:
        set_message(r, "%sCPU time limit exceeded (%llu ms)", stage,
                    (unsigned long long)lim->cpu_ms);
        break;
    case RN_JOB_END_OOM:
        set_message(r, "%smemory limit exceeded (%llu bytes)", stage,
                    (unsigned long long)lim->memory_bytes);
        break;
    case RN_JOB_END_OUTPUT_LIMIT:
        set_message(r, "output limit exceeded (%llu bytes)", (unsigned long long)lim->output_bytes);
        break;
    case RN_JOB_END_KILLED:
        set_message(r, "killed");
        break;
    case RN_JOB_END_SIGNALED:
        set_message(r, "%sterminated by signal %d", stage, r->signal);
        break;
    case RN_JOB_END_SETUP_FAILED:
        set_message(r, "sandbox setup failed at stage %s: %s", rn_box_stage_name(r->setup_stage),
                    strerror(r->setup_errno));
        break;
    case RN_JOB_END_COMPILE_ERROR:
        set_message(r, "compilation failed with exit code %d", r->exit_code);
        break;
    default:
        break;
    }
}

rn_job_end rn_job_end_of_box(rn_box_reason r)
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

int rn_jobtext_error(int err, const rn_spec *spec, const char *language, uint64_t code_bytes,
                     unsigned max_args, unsigned nqueued, unsigned per_minute, char *msg,
                     size_t size)
{
    switch (err) {
    case -ENOENT:
        snprintf(msg, size, "unsupported language spec: '%.64s'", language ? language : "");
        return 400;
    case -ENOTSUP:
        snprintf(msg, size, "this spec has no support for inline expressions");
        return 400;
    case -E2BIG:
        snprintf(msg, size,
                 "request too large: code is limited to %llu bytes, arguments and "
                 "environment to %u entries",
                 (unsigned long long)code_bytes, max_args);
        return 413;
    case -EBUSY:
        snprintf(msg, size, "server is busy: %u runs are queued, try again later", nqueued);
        return 429;
    case -ENOEXEC:
        snprintf(msg, size, "language '%.64s' is not installed on this server%s%.200s%s",
                 language ? language : "", spec && spec->missing ? " (missing " : "",
                 spec && spec->missing ? spec->missing : "", spec && spec->missing ? ")" : "");
        return 503;
    case -EDQUOT:
        snprintf(msg, size, "you have been rate limited: %u runs per minute per client",
                 per_minute);
        return 429;
    case -ESHUTDOWN:
        snprintf(msg, size, "server is shutting down");
        return 503;
    case -EINVAL:
        snprintf(msg, size, "invalid request: empty code, or a bad argument or environment entry");
        return 400;
    default:
        snprintf(msg, size, "internal error: %s", strerror(-err));
        return 500;
    }
}
