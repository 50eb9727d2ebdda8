/* Piston v2's execute request (POST /api/v2/execute and the WebSocket's
 * init): its checks and messages as Piston's api/src/api/v2.js words them,
 * its language names from the specs' "piston" objects, semver ranges, and
 * the turning of its files into a job request. No I/O here. */
#ifndef RUNNEL_PISTON_REQ_H
#define RUNNEL_PISTON_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jobs.h"
#include "specs.h"

/* A parsed request; job points into the rest. */
typedef struct {
    const rn_spec *spec;
    const char *language; /* Piston's name for it */
    char version[32];     /* the version that runs */
    rn_job_request job;
    char *code; /* the entry file */
    size_t code_len;
    char *entry;
    rn_job_file *files; /* the other files, names and data owned */
    size_t nfiles;
    char **args;
    size_t nargs;
    char *stdin_data;
} piston_req;

/* What parsing needs to know of the server. */
typedef struct {
    const rn_specs *specs;
    const rn_jobs_limits *limits; /* in force now */
    bool any_version;             /* a version nothing matches runs the installed one */
    bool ws;                      /* the WebSocket's init: stdin is not taken */
} piston_ctx;

/* Parse body into out. 0, or 400 with Piston's message in msg (out is
 * then freed already). */
int piston_req_parse(const cJSON *body, const piston_ctx *ctx, piston_req *out, char *msg,
                     size_t size);

/* Free what piston_req_parse made. */
void piston_req_free(piston_req *r);

/* The spec Piston's language name or alias stands for (exact case), else
 * runnel's own names; NULL when none. */
const rn_spec *piston_find(const rn_specs *specs, const char *name);

/* Piston's language name for spec (its "piston" object, else its name). */
const char *piston_language(const rn_spec *spec);

/* The installed version as semver "X.Y.Z" from the version the spec
 * detected ("0.0.0" when unknown). */
void piston_version(const rn_spec *spec, char out[32]);

/* Whether version "X.Y.Z" satisfies a node-semver range ("*", "3.x",
 * "3.11.2", "^3.1", "~3.11", ">=3 <4", "1 - 2", "a || b"). */
bool piston_satisfies(const char *version, const char *range);

/* "SIGTERM" for 15 (Piston's table), NULL when unnamed. */
const char *piston_signal_name(int sig);

/* The number of one of Piston's signal names, or -1. */
int piston_signal_number(const char *name);

/* Piston's names of a spec (names.piston): its language, NULL when Piston
 * has no such language; its aliases (NULL-terminated, may be NULL); the
 * package that provides it, or NULL. */
static inline const char *rn_piston_lang(const rn_spec *s)
{
    return s->names.piston ? s->names.piston->language : NULL;
}
static inline char **rn_piston_aliases(const rn_spec *s)
{
    return s->names.piston ? s->names.piston->aliases : NULL;
}
static inline const char *rn_piston_runtime(const rn_spec *s)
{
    return s->names.piston ? s->names.piston->runtime : NULL;
}

#endif
