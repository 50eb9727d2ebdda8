/* Limit merging for the two stages of a run. */
#include "runlimits.h"

static uint64_t pick(uint64_t spec, uint64_t def)
{
    return spec ? spec : def;
}

static uint64_t lower(uint64_t cur, uint64_t req)
{
    return req && req < cur ? req : cur;
}

void rn_jobs_limits_of(const rn_jobs_limits *d, const rn_spec *spec, rn_spec_limits *run,
                       rn_spec_limits *compile)
{
    rn_job_request none = {0};
    rn_limits_merge(spec, d, &none, run, compile);
}

void rn_limits_merge(const rn_spec *spec, const rn_jobs_limits *d, const rn_job_request *req,
                     rn_spec_limits *run, rn_spec_limits *compile)
{
    const rn_spec_limits *s = &spec->limits, *c = &spec->compile_limits;
    if (req->compile_limits) {
        /* The compile stage has limits of its own in the request: the
         * spec's and the server's, lowered by them alone. */
        rn_job_request plain = *req;
        plain.compile_limits = false;
        plain.wall_ms = plain.memory_bytes = plain.output_bytes = plain.cpu_ms = 0;
        rn_spec_limits unused;
        rn_limits_merge(spec, d, &plain, &unused, compile);
        compile->wall_ms = lower(compile->wall_ms, req->compile_wall_ms);
        compile->cpu_ms = lower(compile->cpu_ms, req->compile_cpu_ms);
        compile->memory_bytes = lower(compile->memory_bytes, req->compile_memory_bytes);
        rn_spec_limits compile_kept = *compile;
        plain = *req;
        plain.compile_limits = false;
        rn_limits_merge(spec, d, &plain, run, &unused);
        *compile = compile_kept;
        return;
    }
    run->wall_ms = lower(pick(s->wall_ms, d->wall_ms), req->wall_ms);
    run->cpu_ms = lower(pick(s->cpu_ms, d->cpu_ms ? d->cpu_ms : run->wall_ms), req->cpu_ms);
    if (run->cpu_ms > run->wall_ms)
        run->cpu_ms = run->wall_ms;
    run->memory_bytes = lower(pick(s->memory_bytes, d->memory_bytes), req->memory_bytes);
    run->output_bytes = lower(pick(s->output_bytes, d->output_bytes), req->output_bytes);
    run->tmp_bytes = pick(s->tmp_bytes, d->tmp_bytes);
    run->pids = (unsigned)lower(pick(s->pids, d->pids), req->pids);
    run->nofile = (unsigned)pick(s->nofile, d->nofile);
    compile->wall_ms = pick(c->wall_ms, run->wall_ms);
    compile->cpu_ms = pick(c->cpu_ms, compile->wall_ms);
    compile->memory_bytes = pick(c->memory_bytes, run->memory_bytes);
    compile->output_bytes = pick(c->output_bytes, run->output_bytes);
    compile->tmp_bytes = pick(c->tmp_bytes, run->tmp_bytes);
    compile->pids = (unsigned)pick(c->pids, run->pids);
    compile->nofile = (unsigned)pick(c->nofile, run->nofile);
}
