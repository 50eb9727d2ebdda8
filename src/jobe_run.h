/* The Jobe envelope's runs: a run_spec checked as Jobe's RunSpecifier
 * does, turned into a job request whose compile and run commands are the
 * ones Jobe's language task would run (its file names, default arguments,
 * compileargs/linkargs/interpreterargs/runargs, through sh -c as Jobe
 * does), and the job's end turned into Jobe's outcome. */
#ifndef RUNNEL_JOBE_RUN_H
#define RUNNEL_JOBE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jobe_files.h"
#include "jobs.h"
#include "specs.h"

/* Jobe's outcomes (restapi.odt section 4). */
enum {
    JOBE_COMPILE_ERROR = 11,
    JOBE_RUNTIME_ERROR = 12,
    JOBE_TIME_LIMIT = 13,
    JOBE_OK = 15,
    JOBE_MEMORY_LIMIT = 17,
    JOBE_ILLEGAL_SYSCALL = 19,
    JOBE_INTERNAL_ERROR = 20,
    JOBE_SERVER_OVERLOAD = 21,
};

/* Server-side bounds a run_spec is checked against. */
typedef struct {
    uint64_t max_cputime_s; /* cputime above this: 400 */
    size_t max_files;       /* file_list entries */
    /* The compile stage's wall and CPU time when the spec sets none: the
     * toolchain's, not lowered with the program's cputime. */
    uint64_t compile_ms;
} jobe_run_limits;

typedef struct jobe_run jobe_run;

/* Check the request body (root) as Jobe does. 0 and *out, or the HTTP
 * status of the refusal with Jobe's message in msg. */
int jobe_run_parse(const cJSON *root, const rn_specs *specs, const jobe_run_limits *lim,
                   jobe_run **out, char *msg, size_t size);

/* The file ids the run names (n of them), to read from the cache. */
const char *const *jobe_run_file_ids(const jobe_run *r, size_t *n);

/* Replace the i-th file id (a tenant's own name for it); -ENOMEM, -ERANGE. */
int jobe_run_set_file_id(jobe_run *r, size_t i, const char *id);

/* The job request, with the files' contents (n as named; NULL when none).
 * It points into r, valid until jobe_run_free. */
int jobe_run_request(jobe_run *r, const jobe_file_data *files, rn_job_request **req);

/* The run's output, as the job gives it. */
void jobe_run_output(jobe_run *r, bool compiling, int fd, const char *data, size_t len);

/* Jobe's result object for how the job ended, as JSON text (malloc'd). */
char *jobe_run_result(jobe_run *r, const char *run_id, const rn_job_result *res, bool reached_run,
                      size_t *len);

/* Jobe's "server overload" result object (malloc'd). */
char *jobe_run_overload(size_t *len);

/* Free a run. */
void jobe_run_free(jobe_run *r);

/* Bytes as Jobe's ResultObject cleans them: valid UTF-8 as is; otherwise
 * control characters (except \n, \r, \t) and bytes above 0x7E become \xNN.
 * Appended to out (malloc'd, NUL-terminated). */
char *jobe_clean(const char *s, size_t len, size_t *outlen);

/* Java's main class as Jobe finds it: the one public class with a main
 * method; copied into out, false when there is not exactly one. */
bool jobe_java_main_class(const char *src, size_t len, char *out, size_t size);

#endif
