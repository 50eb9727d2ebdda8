/* Compile cache: content-addressed directories of built artifacts.
 *
 * Layout: <dir>/<key>/ holds one successful compile stage's /build. A build
 * is copied into <dir>/tmp.<random>/ (files made by runneld, directories and
 * executables 0755, other files 0644, symlinks as they are, anything else
 * left out) and renamed into place, so readers never see half an entry, and
 * two identical concurrent compiles both succeed (the loser's copy is
 * discarded). The disk work (copying, measuring, removing) runs on the
 * loop's thread pool; the index and the renames stay on the loop thread, the
 * only thread that calls these functions.
 *
 * Size: an entry is at most entry_max_bytes; the whole cache is kept under
 * max_bytes by evicting least recently used entries, and an entry in use by
 * a run (referenced) is never evicted. A commit evicts only to make room
 * for itself and never more bytes than it adds: when that does not make
 * room, the new entry serves its run and is dropped at its release.
 */
#ifndef RUNNEL_CACHE_H
#define RUNNEL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct rn_cache rn_cache;

typedef struct {
    uint64_t max_bytes;       /* the whole cache */
    uint64_t entry_max_bytes; /* one entry; 0 = max_bytes */
    uv_loop_t *loop;          /* NULL: disk work runs inline (tools, tests) */
} rn_cache_options;

/* Check that dir is fit to hold the cache: a directory (not a symlink)
 * owned by this process's euid and not writable by group or others; else
 * -EPERM (-ENOTDIR, -errno) with the reason as a sentence in msg. */
int rn_cache_check_dir(const char *dir, char *msg, size_t size);

/* Open the cache at dir, creating it 0700 when missing; it must pass
 * rn_cache_check_dir (-EPERM). Leftovers of a previous process (tmp.*
 * copies and build directories, unmounted first when they are mount points)
 * are removed and the entries are measured at any depth. The directory is
 * locked for this process: -EBUSY when another process has it open. */
int rn_cache_open(const char *dir, const rn_cache_options *opts, rn_cache **out);

/* Close; entries stay on disk for the next start. Disk work still running
 * finishes first (the cache is freed by its last completion). */
void rn_cache_close(rn_cache *cache);

/* The directory the cache lives in. */
const char *rn_cache_dir(const rn_cache *cache);

/* The per-entry cap in bytes. */
uint64_t rn_cache_entry_max(const rn_cache *cache);

/* A cache key being made: SHA-256 over length-prefixed fields, so no two
 * field lists hash alike by shifting bytes between fields. */
typedef struct {
    void *ctx;
} rn_cache_keyhash;

/* Start a key (its first field is the format's version). */
void rn_cache_keyhash_init(rn_cache_keyhash *h);

/* Add one field (data may be NULL when len is 0). */
void rn_cache_keyhash_field(rn_cache_keyhash *h, const void *data, size_t len);

/* Add one number (as an 8-byte field). */
void rn_cache_keyhash_u64(rn_cache_keyhash *h, uint64_t v);

/* Finish: 64 hex chars + NUL into key (all zeros' hash on allocation
 * failure: a key no real content has, so a miss, never a wrong hit). */
void rn_cache_keyhash_final(rn_cache_keyhash *h, char key[65]);

/* Fold one more input of the compile into key (from rn_cache_key): a file
 * beside the source (name, data), or the source's own name (name "",
 * data the name). */
void rn_cache_key_add(char key[65], const char *name, const void *data, size_t len);

/* On a hit, write the entry's path into path, take a reference, mark it
 * recently used, and return 0; -ENOENT on a miss. */
int rn_cache_acquire(rn_cache *cache, const char *key, char *path, size_t size);

/* Drop a reference taken by rn_cache_acquire or a commit. */
void rn_cache_release(rn_cache *cache, const char *key);

/* The end of a commit: status 0 with the entry's path (a reference is
 * taken), -EFBIG when the build is over the entry cap (nothing cached and
 * nothing evicted), or another negative errno. */
typedef void (*rn_cache_commit_cb)(int status, const char *path, void *ud);

/* Copy the finished build directory build_dir into the cache under key and
 * remove build_dir (unmounting it first when it is a mount point), off the
 * loop; cb then runs on the loop (never inside this call when the cache has
 * a loop). If the key exists by then (a concurrent compile won), the copy
 * is discarded and the existing entry used. Returns 0 or a negative errno
 * (then cb never runs and build_dir is left to the caller). */
int rn_cache_commit(rn_cache *cache, const char *key, const char *build_dir, rn_cache_commit_cb cb,
                    void *ud);

/* Tests: run hook(ud) at the start of every piece of disk work, on the
 * thread that does it. */
void rn_cache_set_work_hook(rn_cache *cache, void (*hook)(void *ud), void *ud);

/* SHA-256 of data into out (the hash the keys are made with). */
void rn_cache_sha256(const void *data, size_t len, uint8_t out[32]);

/* Figures for metrics. */
uint64_t rn_cache_hits(const rn_cache *cache);
uint64_t rn_cache_misses(const rn_cache *cache);
uint64_t rn_cache_bytes(const rn_cache *cache);

#endif
