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

void rn_limits_merge(const rn_spec *spec, const rn_jobs_limits *d, const rn_job_request *req,
                     rn_spec_limits *run, rn_spec_limits *compile)
{
    const rn_spec_limits *s = &spec->limits, *c = &spec->compile_limits;
    run->wall_ms = lower(pick(s->wall_ms, d->wall_ms), req->wall_ms);
    run->cpu_ms = pick(s->cpu_ms, d->cpu_ms ? d->cpu_ms : run->wall_ms);
    if (run->cpu_ms > run->wall_ms)
        run->cpu_ms = run->wall_ms;
    run->memory_bytes = lower(pick(s->memory_bytes, d->memory_bytes), req->memory_bytes);
    run->output_bytes = lower(pick(s->output_bytes, d->output_bytes), req->output_bytes);
    run->tmp_bytes = pick(s->tmp_bytes, d->tmp_bytes);
    run->pids = (unsigned)pick(s->pids, d->pids);
    run->nofile = (unsigned)pick(s->nofile, d->nofile);
    compile->wall_ms = pick(c->wall_ms, run->wall_ms);
    compile->cpu_ms = pick(c->cpu_ms, compile->wall_ms);
    compile->memory_bytes = pick(c->memory_bytes, run->memory_bytes);
    compile->output_bytes = pick(c->output_bytes, run->output_bytes);
    compile->tmp_bytes = pick(c->tmp_bytes, run->tmp_bytes);
    compile->pids = (unsigned)pick(c->pids, run->pids);
    compile->nofile = (unsigned)pick(c->nofile, run->nofile);
}
