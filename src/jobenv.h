/* The environment of a run's stages. */
#ifndef RUNNEL_JOBENV_H
#define RUNNEL_JOBENV_H

#include <stdbool.h>
#include <stddef.h>

#include "specs.h"

/* Longest argument or environment entry a request may give, NUL excluded. */
#define RN_JOB_MAX_STRING 65535

/* A stage's environment into *out (a malloc'd NULL-terminated vector of
 * "K=V"; *out must be NULL on entry): runneld's base (PATH, HOME=/tmp,
 * LANG=C.UTF-8, TERM=dumb), then the spec's variables, then the n entries
 * of extra (the request's; NULL for the compile stage), a later KEY
 * replacing an earlier one. */
int rn_jobenv_make(const rn_spec *spec, const char *const *extra, size_t n, char ***out);

/* Whether a request's entry is a "K=V" with a non-empty K, not too long. */
bool rn_jobenv_valid(const char *kv);

#endif
