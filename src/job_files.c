#include "job_files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

bool rn_job_file_name_ok(const char *name)
{
    return rn_box_file_name_ok(name);
}

int rn_job_files_check(const rn_job_request *req, uint64_t max_bytes)
{
    if (req->nfiles > RN_JOB_MAX_FILES)
        return -E2BIG;
    if (req->nfiles && !req->files)
        return -EINVAL;
    if (req->entry_name && !rn_job_file_name_ok(req->entry_name))
        return -EINVAL;
    uint64_t total = req->code_len;
    for (size_t i = 0; i < req->nfiles; i++) {
        const rn_job_file *f = &req->files[i];
        if (!rn_job_file_name_ok(f->name) || (f->len && !f->data))
            return -EINVAL;
        if (req->entry_name && !strcmp(f->name, req->entry_name))
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(req->files[j].name, f->name))
                return -EINVAL;
        total += f->len;
        if (total > max_bytes)
            return -E2BIG;
    }
    return 0;
}

void rn_job_files_free(rn_job_files *f)
{
    for (size_t i = 0; i < f->nfiles; i++) {
        free((char *)f->files[i].name);
        free((char *)f->files[i].data);
    }
    free(f->files);
    free(f->entry_name);
    f->files = NULL;
    f->nfiles = 0;
    f->entry_name = NULL;
}

int rn_job_files_copy(const rn_job_request *req, rn_job_files *out)
{
    memset(out, 0, sizeof(*out));
    if (req->entry_name && !(out->entry_name = strdup(req->entry_name)))
        return -ENOMEM;
    if (!req->nfiles)
        return 0;
    if (!(out->files = calloc(req->nfiles, sizeof(*out->files))))
        return -ENOMEM;
    for (size_t i = 0; i < req->nfiles; i++, out->nfiles++) {
        const rn_job_file *f = &req->files[i];
        char *name = strdup(f->name);
        char *data = malloc(f->len ? f->len : 1);
        out->files[i].name = name;
        out->files[i].data = data;
        out->files[i].len = f->len;
        if (!name || !data) {
            out->nfiles++;
            return -ENOMEM;
        }
        if (f->len)
            memcpy(data, f->data, f->len);
    }
    return 0;
}

size_t rn_job_files_box(const rn_job_files *f, const char *filename, const char *code,
                        size_t code_len, rn_box_file *box)
{
    box[0].name = f->entry_name ? f->entry_name : filename;
    box[0].data = code;
    box[0].len = code_len;
    box[0].mode = 0644;
    for (size_t i = 0; i < f->nfiles; i++) {
        box[i + 1].name = f->files[i].name;
        box[i + 1].data = f->files[i].data;
        box[i + 1].len = f->files[i].len;
        box[i + 1].mode = 0644;
    }
    return 1 + f->nfiles;
}

void rn_job_files_key(const rn_job_files *f, char key[65])
{
    if (f->entry_name)
        rn_cache_key_add(key, "", f->entry_name, strlen(f->entry_name));
    for (size_t i = 0; i < f->nfiles; i++)
        rn_cache_key_add(key, f->files[i].name, f->files[i].data, f->files[i].len);
}

size_t rn_job_files_names(const rn_job_request *req, const char **names)
{
    size_t n = req->nfiles < RN_JOB_MAX_FILES ? req->nfiles : RN_JOB_MAX_FILES;

    if (!req->compile_all)
        return 0;

    for (size_t i = 0; i < n; i++)
        names[i] = req->files[i].name;
    return n;
}
