/* Zeppelin notes in a shared (PostgreSQL) store, as documents: every save
 * also goes to the store's zeppelin_note table (note id -> its .zpln path
 * and bytes), a deletion takes the row out, and at start a node reads the
 * notes its notebook directory lacks from there (writing their files).
 * The store is the truth shared by the nodes; each node's .zpln files stay
 * as they are on a single node. */
#ifndef RUNNEL_ZEPPELIN_SHARED_H
#define RUNNEL_ZEPPELIN_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "zeppelin_store.h"

typedef struct zp_join zp_join;

/* The store when it is shared by nodes, else NULL. */
rn_store *zp_shared(void);

/* Save note id's document (rel and data copied), dated updated_ms;
 * done(ud, err) on the loop once committed. */
int zp_shared_save(rn_store *s, const char *id, const char *rel, const char *data, size_t len,
                   int64_t updated_ms, zp_store_done done, void *ud);

/* Saves sent to the store so far (a note keeps the number of its last in
 * shared_seq). */
uint64_t zp_shared_next_seq(void);

/* Follow the other nodes' changes: every ZP_SYNC_MS the store's notes
 * changed since the last look are read, and each note this node is not
 * using (nobody watches it, runs in it or saves it here) takes the
 * store's version; a note gone from the store goes here too. No-op without
 * a shared store. */
#define ZP_SYNC_MS 1000
void zp_shared_sync_start(void);
void zp_shared_sync_stop(void);

/* Take note id out of the store; done(ud, err) on the loop. */
int zp_shared_remove(rn_store *s, const char *id, zp_store_done done, void *ud);

/* Start-up (blocking): found(ud, rel, data, len) for every note in the
 * store. */
int zp_shared_scan(rn_store *s,
                   void (*found)(void *ud, const char *rel, const char *data, size_t len),
                   void *ud);

/* Wait for n parts: done(ud, the first error or 0) once zp_join_done ran
 * n times. NULL when out of memory. */
zp_join *zp_join_new(zp_store_done done, void *ud, int n);

/* One part finished (a zp_store_done for a zp_join). */
void zp_join_done(void *join, int err);

#endif
