/* A submission's additional_files: a base64 zip unpacked (bounded by
 * judge0.max_extract_size_kb and max_extract_files, no path escapes) into
 * files beside the program, and Judge0's "Multi-file program" (id 89),
 * whose archive's own compile and run scripts are the program. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge0_int.h"
#include "zipin.h"

/* The entry file of a Multi-file program: its compile script (if the
 * archive has one), then its run script, both with bash, as Judge0 runs
 * them. An archive holding a file of this name is refused. */
static const char driver_name[] = ".judge0-multi-file.sh";
static const char driver[] = "if [ -f ./compile ]; then /bin/bash ./compile || exit $?; fi\n"
                             "exec /bin/bash ./run \"$@\"\n";

int j0_files_unpack(const j0_state *st, const j0_sub *s, rn_job_file **files, size_t *n, char *err,
                    size_t size)
{
    j0_bytes zip = {0};
    *files = NULL;
    *n = 0;
    if (!s->additional_files.p || !s->additional_files.len)
        return 0;
    if (j0_b64_decode(s->additional_files.p, s->additional_files.len, &zip) < 0) {
        snprintf(err, size, "out of memory");
        return -ENOMEM;
    }
    rn_zip_limits lim = {.max_files = st->conf.max_extract_files,
                         .max_bytes = st->conf.max_extract_size_kb * 1024};
    int r = rn_zip_unpack(zip.p, zip.len, &lim, files, n, err, size);
    j0_bytes_clear(&zip);
    if (r < 0)
        return r;
    bool has_run = false;
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*files)[i].name, driver_name)) {
            snprintf(err, size, "the archive may not hold a file named %s", driver_name);
            r = -EINVAL;
        }
        has_run |= !strcmp((*files)[i].name, "run");
    }
    if (!r && s->language_id == J0_MULTI_FILE_ID && !has_run) {
        snprintf(err, size, "a Multi-file program's archive must hold a run script");
        r = -EINVAL;
    }
    if (r < 0) {
        rn_zip_files_free(*files, *n);
        *files = NULL;
        *n = 0;
    }
    return r;
}

void j0_files_free(rn_job_file *files, size_t n)
{
    rn_zip_files_free(files, n);
}

void j0_files_multi(rn_job_request *req)
{
    req->code = driver;
    req->code_len = sizeof(driver) - 1;
    req->entry_name = driver_name;
}
