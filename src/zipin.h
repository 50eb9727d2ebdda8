/* A request's zip archive (Judge0's additional_files) unpacked in memory
 * into job files, every name and size checked as it is read. */
#ifndef RUNNEL_ZIPIN_H
#define RUNNEL_ZIPIN_H

#include <stddef.h>
#include <stdint.h>

#include "jobs.h"

/* What an archive may hold. */
typedef struct {
    size_t max_files;   /* regular file entries (directories not counted) */
    uint64_t max_bytes; /* sum of the entries' uncompressed bytes, as read */
} rn_zip_limits;

/* Unpack the zip in zip/len into a malloc'd array of files (each name and
 * data malloc'd; directories skipped, their files carry the path): 0, or
 * -EINVAL for a bad archive (not a zip, encrypted, symlink, absolute, "..",
 * empty segment, NUL or backslash in a name, a name job files refuse, a
 * repeated name), -E2BIG past lim, -ENOMEM; err gets a sentence on failure. */
int rn_zip_unpack(const void *zip, size_t len, const rn_zip_limits *lim, rn_job_file **files,
                  size_t *nfiles, char *err, size_t errlen);

/* Free what rn_zip_unpack returned (files may be NULL). */
void rn_zip_files_free(rn_job_file *files, size_t n);

#endif
