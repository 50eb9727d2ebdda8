/* Decoding of ranna's ExecutionRequest (the EXEC op's args and the body of
 * POST /v1/exec) into a job request. Field names match case-insensitively,
 * as Go's decoder does; unknown fields are ignored. runnel's extensions:
 * "stdin" (text fed to the program, then EOF) and "interactive" (keep stdin
 * open for INPUT ops until {"eof": true}). */
#ifndef RUNNEL_RANNA_REQ_H
#define RUNNEL_RANNA_REQ_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "jobs.h"

typedef struct {
    rn_job_request job;
    char **args; /* owned copies */
    char **env;
} ranna_req;

/* Fill req from obj. Returns 0, or an HTTP-like code (400) with a sentence
 * in msg; req needs ranna_req_free either way. Strings point into obj,
 * which must outlive the submit. */
int ranna_req_parse(const cJSON *obj, ranna_req *req, char *msg, size_t size);

/* Free what ranna_req_parse allocated. */
void ranna_req_free(ranna_req *req);

#endif
