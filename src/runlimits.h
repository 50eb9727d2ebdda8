/* The limits a run's two stages get: the request's, the spec's and the
 * server's merged. */
#ifndef RUNNEL_RUNLIMITS_H
#define RUNNEL_RUNLIMITS_H

#include "jobs.h"
#include "specs.h"

/* Merge for the run stage (run): the spec's limits, else the server's
 * defaults d, lowered (never raised) by the request's wall, memory and
 * output limits, CPU at most wall; and for the compile stage (compile):
 * the spec's compile_limits, else the run stage's (the compile stage is
 * the operator's toolchain, not the user's program). */
void rn_limits_merge(const rn_spec *spec, const rn_jobs_limits *d, const rn_job_request *req,
                     rn_spec_limits *run, rn_spec_limits *compile);

#endif
