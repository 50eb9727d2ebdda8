/* The files of a job beyond its code: the request's extra files and its
 * entry file's own name, checked, copied, laid out for the sandbox and
 * folded into the compile cache key. */
#ifndef RUNNEL_JOB_FILES_H
#define RUNNEL_JOB_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sandbox/box.h"
#include "jobs.h"

/* A job's own copies. */
typedef struct {
    rn_job_file *files; /* names and data owned */
    size_t nfiles;
    char *entry_name; /* NULL: the spec's filename */
} rn_job_files;

/* The sandbox's rule for a file name (box.h: rn_box_file_name_ok):
 * relative, no empty, "." or ".." segment, bounded length and depth. */
bool rn_job_file_name_ok(const char *name);

/* Check the request's files and entry name: -EINVAL for a bad or repeated
 * name (absolute, "..", ".", empty segment, too long or deep), -E2BIG for
 * more than RN_JOB_MAX_FILES files or code and files over max_bytes. */
int rn_job_files_check(const rn_job_request *req, uint64_t max_bytes);

/* Copy the request's files and entry name into out (zeroed first). */
int rn_job_files_copy(const rn_job_request *req, rn_job_files *out);

/* Free what rn_job_files_copy made. */
void rn_job_files_free(rn_job_files *f);

/* Fill box (room for 1 + RN_JOB_MAX_FILES) with the entry file (code,
 * under entry_name or the spec's filename) and the extra files; returns
 * how many. */
size_t rn_job_files_box(const rn_job_files *f, const char *filename, const char *code,
                        size_t code_len, rn_box_file *box);

/* Put the names of the request's files (at most RN_JOB_MAX_FILES, checked
 * first) into names when req->compile_all asks for them; returns how many. */
size_t rn_job_files_names(const rn_job_request *req, const char **names);

/* Fold the entry name and the files into a compile cache key. */
void rn_job_files_key(const rn_job_files *f, char key[65]);

#endif
