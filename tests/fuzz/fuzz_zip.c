/* The zip unpacker (rn_zip_unpack) on any bytes: it must refuse or return
 * files whose names pass the job file rule, none repeated, within the
 * limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job_files.h"
#include "zipin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rn_zip_limits lim = {8, 1u << 16};
    rn_job_file *files = NULL;
    size_t n = 0;
    char err[256];
    if (rn_zip_unpack(data, size, &lim, &files, &n, err, sizeof(err)) != 0) {
        if (files || n || !err[0])
            abort();
        return 0;
    }
    uint64_t total = 0;
    if (n > lim.max_files)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!rn_job_file_name_ok(files[i].name) || strchr(files[i].name, '\\'))
            abort();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(files[i].name, files[j].name))
                abort();
        total += files[i].len;
    }
    if (total > lim.max_bytes)
        abort();
    rn_zip_files_free(files, n);
    return 0;
}
