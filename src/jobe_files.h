/* The Jobe envelope's file cache: files clients PUT under an id, for runs
 * that name them in file_list.
 *
 * Bounded by count, total bytes and age since last use (least recently
 * used go first). On disk under one directory, content-addressed:
 * objects/<sha256> holds each distinct content once, ids/<id> says which
 * object an id is; both written atomically (temp file, fsync, rename,
 * fsync of the directory) on libuv's thread pool, one operation at a time,
 * so the loop never waits on the disk and a restart keeps what was
 * acknowledged. */
#ifndef RUNNEL_JOBE_FILES_H
#define RUNNEL_JOBE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct jobe_files jobe_files;

/* Longest id taken (Jobe's ids are alphanumeric; CodeRunner's are MD5s). */
#define JOBE_FILE_ID_MAX 128

typedef struct {
    const char *dir;
    uint64_t max_count;
    uint64_t max_bytes;
    uint64_t max_age_s;
} jobe_files_options;

/* One file read for a run: its id's bytes (malloc'd, freed by the caller
 * through jobe_files_free_read). */
typedef struct {
    char *data;
    size_t len;
} jobe_file_data;

/* Open the cache: create dir, load what a previous run left (bounded by
 * the options; the excess is dropped). One-line reason in err. */
int jobe_files_open(uv_loop_t *loop, const jobe_files_options *o, jobe_files **out, char *err,
                    size_t size);

/* Close: pending operations finish first (their callbacks still run);
 * then the cache is freed. */
void jobe_files_close(jobe_files *f);

/* Whether id has the shape the cache takes: [A-Za-z0-9]{1,JOBE_FILE_ID_MAX}. */
bool jobe_files_id_valid(const char *id);

/* The id a tenant's file is kept under: id itself for the anonymous tenant
 * (user NULL, "" or "anonymous": no auth.users), else the SHA-256 (hex) of
 * the user's name and id, so a user sees only the files they PUT. out gets
 * a valid id (JOBE_FILE_ID_MAX + 1 bytes); id must be valid. */
void jobe_files_tenant_id(const char *user, const char *id, char out[JOBE_FILE_ID_MAX + 1]);

/* Whether id is in the cache now. */
bool jobe_files_has(const jobe_files *f, const char *id);

/* Store data under id (copied); done(ud, 0 or -errno) runs on the loop
 * once it is on disk. */
int jobe_files_put(jobe_files *f, const char *id, const char *data, size_t len,
                   void (*done)(void *ud, int err), void *ud);

/* Read the n ids into out[n] off the loop; done(ud, 0, out) when every one
 * was there, -ENOENT when one is missing (out then freed already). */
int jobe_files_read(jobe_files *f, const char *const *ids, size_t n,
                    void (*done)(void *ud, int err, jobe_file_data *out), void *ud);

/* Free what jobe_files_read gave. */
void jobe_files_free_read(jobe_file_data *out, size_t n);

/* Figures: ids held and their bytes (distinct contents). */
void jobe_files_stats(const jobe_files *f, uint64_t *count, uint64_t *bytes);

#endif
