#include "zipin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "job_files.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The archive's own rules first (backslash, absolute, NUL), then the
 * sandbox's (job_files). A directory entry's trailing '/' is not checked. */
static int check_name(const char *name, size_t rawlen, char *err, size_t errlen)
{
    if (strlen(name) != rawlen)
        return fail(err, errlen, -EINVAL, "zip entry name holds a NUL byte");
    if (strchr(name, '\\'))
        return fail(err, errlen, -EINVAL, "zip entry \"%.200s\": backslash in name", name);
    if (name[0] == '/')
        return fail(err, errlen, -EINVAL, "zip entry \"%.200s\": absolute name", name);
    if (!rn_job_file_name_ok(name))
        return fail(err, errlen, -EINVAL,
                    "zip entry \"%.200s\": bad name (empty, \".\" or \"..\" segment, too long "
                    "or too deep)",
                    name);
    return 0;
}

static bool is_symlink(zip_t *za, zip_uint64_t i)
{
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0)
        return false;
    return opsys == ZIP_OPSYS_UNIX && ((attr >> 16) & S_IFMT) == S_IFLNK;
}

/* Read entry i whole, never past the budget left (header sizes untrusted). */
static int read_entry(zip_t *za, zip_uint64_t i, const char *name, uint64_t *left, char **out,
                      size_t *outlen, char *err, size_t errlen)
{
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    if (!zf)
        return fail(err, errlen, -EINVAL, "zip entry \"%.200s\": %s", name, zip_strerror(za));
    int rc = 0;
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        uint64_t room = cap - n;
        if (room > *left + 1)
            room = *left + 1; /* one byte past the budget tells it is over */
        zip_int64_t got = zip_fread(zf, buf + n, room);
        if (got < 0) {
            rc =
                fail(err, errlen, -EINVAL, "zip entry \"%.200s\": %s", name, zip_file_strerror(zf));
            goto out;
        }
        if (got == 0)
            break;
        if ((uint64_t)got > *left) {
            rc = fail(err, errlen, -E2BIG, "zip: the files unpack to more than %llu bytes",
                      (unsigned long long)(*left + n));
            goto out;
        }
        *left -= (uint64_t)got;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;
out:
    free(buf);
    zip_fclose(zf);
    return rc;
}

/* Check entry i and, for a file, append it to files. */
static int take_entry(zip_t *za, zip_uint64_t i, const rn_zip_limits *lim, uint64_t *left,
                      rn_job_file *files, size_t *n, char *err, size_t errlen)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
        return fail(err, errlen, -EINVAL, "zip: entry %llu unreadable: %s", (unsigned long long)i,
                    zip_strerror(za));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return fail(err, errlen, -EINVAL, "zip entry \"%.200s\": encrypted", st.name);
    if (is_symlink(za, i))
        return fail(err, errlen, -EINVAL, "zip entry \"%.200s\": symbolic link", st.name);
    /* libzip turns a NUL inside a stored name into a space; the length
     * check below still refuses one that reaches us. */
    size_t rawlen = strlen(st.name);
    char name[RN_BOX_FILE_NAME_MAX + 2];
    if (rawlen > RN_BOX_FILE_NAME_MAX + 1)
        return fail(err, errlen, -EINVAL, "zip entry \"%.200s...\": name too long", st.name);
    memcpy(name, st.name, rawlen + 1);
    bool dir = rawlen && name[rawlen - 1] == '/';
    if (dir)
        name[--rawlen] = '\0';
    int rc = check_name(name, rawlen, err, errlen);
    if (rc || dir)
        return rc;
    for (size_t j = 0; j < *n; j++)
        if (!strcmp(files[j].name, name))
            return fail(err, errlen, -EINVAL, "zip entry \"%.200s\": repeated name", name);
    if (*n >= lim->max_files)
        return fail(err, errlen, -E2BIG, "zip: more than %zu files", lim->max_files);
    char *data = NULL;
    size_t len = 0;
    rc = read_entry(za, i, name, left, &data, &len, err, errlen);
    if (rc)
        return rc;
    char *copy = strdup(name);
    if (!copy) {
        free(data);
        return -ENOMEM;
    }
    files[*n] = (rn_job_file){.name = copy, .data = data, .len = len};
    (*n)++;
    return 0;
}

int rn_zip_unpack(const void *zip, size_t len, const rn_zip_limits *lim, rn_job_file **files,
                  size_t *nfiles, char *err, size_t errlen)
{
    *files = NULL;
    *nfiles = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!zip || !len)
        return fail(err, errlen, -EINVAL, "zip: empty archive data");
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zip, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return -ENOMEM;
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!za) {
        int rc = fail(err, errlen, -EINVAL, "not a zip archive: %s", zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    int rc = 0;
    rn_job_file *out = NULL;
    size_t n = 0;
    zip_int64_t count = zip_get_num_entries(za, 0);
    /* Directories do not count, but an archive of more entries than this
     * is refused before anything is read. */
    if (count < 0 || (uint64_t)count > (uint64_t)lim->max_files * 4 + 64) {
        rc = fail(err, errlen, count < 0 ? -EINVAL : -E2BIG, "zip: more than %zu files",
                  lim->max_files);
        goto out;
    }
    out = calloc((size_t)count + 1, sizeof(*out));
    if (!out) {
        rc = -ENOMEM;
        goto out;
    }
    uint64_t left = lim->max_bytes;
    for (zip_int64_t i = 0; i < count && !rc; i++)
        rc = take_entry(za, (zip_uint64_t)i, lim, &left, out, &n, err, errlen);
out:
    zip_discard(za);
    if (rc) {
        rn_zip_files_free(out, n);
        return rc;
    }
    *files = out;
    *nfiles = n;
    return 0;
}

void rn_zip_files_free(rn_job_file *files, size_t n)
{
    if (!files)
        return;
    for (size_t i = 0; i < n; i++) {
        free((char *)files[i].name);
        free((char *)files[i].data);
    }
    free(files);
}
