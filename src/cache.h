/* Compile cache: content-addressed directories of built artifacts.
 *
 * Layout: <dir>/<key>/ holds one successful compile stage's /build; a new
 * entry is built in <dir>/tmp.<random>/ and renamed into place, so readers
 * never see half an entry, and two identical concurrent compiles both
 * succeed (the loser's copy is discarded). Entries are evicted least
 * recently used once the total size passes the cap; an entry in use by a
 * run (referenced) is never evicted. Single-threaded: call from the loop.
 */
#ifndef RUNNEL_CACHE_H
#define RUNNEL_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rn_cache rn_cache;

/* Open (creating) the cache at dir with a size cap; leftover tmp.* dirs from
 * a previous process are removed. The directory is locked for this process:
 * -EBUSY when another process has it open. */
int rn_cache_open(const char *dir, uint64_t max_bytes, rn_cache **out);

/* Close; entries stay on disk for the next start. */
void rn_cache_close(rn_cache *cache);

/* The key of (language, compile argv, code): 64 hex chars + NUL in key (a
 * SHA-256 over the length-prefixed fields). */
void rn_cache_key(const char *language, const char *const *compile_argv, const char *code,
                  size_t code_len, char key[65]);

/* Fold one more input of the compile into key (from rn_cache_key): a file
 * beside the source (name, data), or the source's own name (name "",
 * data the name). */
void rn_cache_key_add(char key[65], const char *name, const void *data, size_t len);

/* On a hit, write the entry's path into path, take a reference, mark it
 * recently used, and return 0; -ENOENT on a miss. */
int rn_cache_acquire(rn_cache *cache, const char *key, char *path, size_t size);

/* Drop a reference taken by rn_cache_acquire or rn_cache_commit. */
void rn_cache_release(rn_cache *cache, const char *key);

/* Make a fresh empty directory (0755, owned by the caller) to compile into;
 * its path goes into path. A compile stage running as another uid needs it
 * chown'ed to that uid first. */
int rn_cache_begin(rn_cache *cache, char *path, size_t size);

/* Move a finished build dir into the cache under key and take a reference
 * (first making it owned by the cache, directories and executables 0755,
 * other files 0644, special files removed);
 * the entry's final path goes into final_path. If the key already exists
 * (a concurrent compile won), tmp_path is removed and the existing entry is
 * used. Evicts over the cap. */
int rn_cache_commit(rn_cache *cache, const char *key, const char *tmp_path, char *final_path,
                    size_t size);

/* Remove a build dir that will not be committed (failed compile). */
void rn_cache_abort(rn_cache *cache, const char *tmp_path);

/* SHA-256 of data into out (the hash the keys are made with). */
void rn_cache_sha256(const void *data, size_t len, uint8_t out[32]);

/* Figures for metrics. */
uint64_t rn_cache_hits(const rn_cache *cache);
uint64_t rn_cache_misses(const rn_cache *cache);
uint64_t rn_cache_bytes(const rn_cache *cache);

#endif
