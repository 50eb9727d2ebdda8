/* The Jobe file cache shared by the nodes of a PostgreSQL store: every
 * PUT also goes to the store's jobe_file table (file_id -> content), and a
 * node that lacks an id a run or a HEAD names fetches it from there into
 * its own cache (jobe_files.h) before it answers. Used only when the store
 * is shared (rn_store_shared). */
#ifndef RUNNEL_JOBE_SHARED_H
#define RUNNEL_JOBE_SHARED_H

#include <stddef.h>

#include "jobe_files.h"
#include "store.h"

/* Save data (copied) under id in the store; done(ud, 0 or -errno) runs on
 * the loop once the store has committed it. */
int jobe_shared_put(rn_store *s, const char *id, const char *data, size_t len,
                    void (*done)(void *ud, int err), void *ud);

/* Bring the n ids that f lacks from the store into f; done(ud, 0) once
 * every id is in f, -ENOENT when one is in neither, another -errno when
 * the store or the cache failed. done never runs from inside this call. */
int jobe_shared_fill(rn_store *s, jobe_files *f, const char *const *ids, size_t n,
                     void (*done)(void *ud, int err), void *ud);

/* Retention: files not written for longer than state.retention_ms go. */
int jobe_shared_retention(rn_store *s);

#endif
