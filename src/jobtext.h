/* The words and sentences of a run's end and of refused requests. */
#ifndef RUNNEL_JOBTEXT_H
#define RUNNEL_JOBTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "../sandbox/box.h"
#include "jobs.h"

/* The job-level end of a sandbox's reason. */
rn_job_end rn_job_end_of_box(rn_box_reason r);

/* Write r->message for r->reason (limits of the stage that ended, stage a
 * prefix such as "compile stage: "); an exited run gets none. */
void rn_jobtext_describe(rn_job_result *r, const rn_spec_limits *lim, const char *stage);

/* The HTTP-like code and sentence of an rn_jobs_submit error (spec is the
 * language's when known, for what is missing). */
int rn_jobtext_error(int err, const rn_spec *spec, const char *language, uint64_t code_bytes,
                     unsigned max_args, unsigned nqueued, unsigned per_minute, char *msg,
                     size_t size);

#endif
