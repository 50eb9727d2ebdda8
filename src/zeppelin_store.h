/* The notebook directory: one .zpln file per note, in folders as the
 * note's path has them ("team/demo_2A94M5J1Z.zpln"), as Zeppelin's
 * VFSNotebookRepo and LocalNotebookRepo keep them.
 *
 * Writes are atomic (a temporary file in the same folder, fsync, rename,
 * fsync of the folder) and happen off the loop on libuv's thread pool, one
 * at a time in the order they were asked for; done runs on the loop once
 * the change is on disk (or failed). The directory is made on the first
 * write, so a server that never saves a note leaves no trace. */
#ifndef RUNNEL_ZEPPELIN_STORE_H
#define RUNNEL_ZEPPELIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct zp_store zp_store;

/* Called on the loop when a write or removal is on disk (err 0) or failed
 * (negative errno). */
typedef void (*zp_store_done)(void *ud, int err);

/* A store on dir; files over max_file_bytes are never read. -ENOMEM. */
int zp_store_new(uv_loop_t *loop, const char *dir, uint64_t max_file_bytes, zp_store **out);

/* Free the store; nothing may be queued (run the loop to its end first). */
void zp_store_free(zp_store *s);

/* The directory. */
const char *zp_store_dir(const zp_store *s);

/* Read every .zpln under the directory (blocking: for start-up): found gets
 * each file's name relative to the directory and its bytes; skipped gets
 * the name and why a file that looks like a note could not be read.
 * Temporary files a crash left behind are removed; .git is not read. 0 (also when the
 * directory does not exist yet) or a negative errno. */
int zp_store_scan(zp_store *s,
                  void (*found)(void *ud, const char *rel, const char *data, size_t len),
                  void (*skipped)(void *ud, const char *rel, const char *why), void *ud);

/* Read one file (blocking, bounded by max_file_bytes); *data is malloc'd
 * and NUL-terminated. */
int zp_store_read(zp_store *s, const char *rel, char **data, size_t *len);

/* Write data (taken over, freed by the store) to rel atomically, then
 * remove old_rel when it is not NULL and differs. -ENOMEM. */
int zp_store_write(zp_store *s, const char *rel, const char *old_rel, char *data, size_t len,
                   zp_store_done done, void *ud);

/* Remove rel. -ENOMEM. */
int zp_store_remove(zp_store *s, const char *rel, zp_store_done done, void *ud);

/* Writes and removals queued or in progress. */
unsigned zp_store_pending(const zp_store *s);

#endif
