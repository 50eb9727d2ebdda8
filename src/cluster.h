/* Many nodes on one shared store: this node's identity, its heartbeat in
 * the store's nodes table, and the sweep that finds a node whose heartbeat
 * went stale and ends its live work exactly once.
 *
 * The cluster is off unless `cluster.enabled` is set; then every node
 * writes its heartbeat every `cluster.heartbeat_ms`, and a node that sees
 * another's heartbeat older than `cluster.dead_after_ms` claims it (one
 * conditional UPDATE, so of two survivors only one wins) and, in the same
 * transaction, runs every statement registered with rn_cluster_on_node_loss
 * (Linkis marks the node's running tasks Failed; a queue re-queues its
 * submissions once). */
#ifndef RUNNEL_CLUSTER_H
#define RUNNEL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RN_NODE_ID_MAX 32

/* Whether this server is a cluster node (cluster.enabled). */
bool rn_cluster_active(void);

/* This node's id ([a-z0-9-]{1,32}); "" when the cluster is off. */
const char *rn_cluster_node_id(void);

/* Whether the shared store answered this node's last heartbeat in time
 * (true when the cluster is off). */
bool rn_cluster_store_ok(void);

/* How long a SIGTERM waits for the node's runs to finish before the
 * shutdown proper (cluster.drain_ms); 0 when the cluster is off. */
uint64_t rn_cluster_drain_ms(void);

/* Register a statement run in the transaction that claims lost nodes (at
 * most 8; call from an envelope's init). It binds $1 = the claiming node's
 * id, $2 = the claim's time (Unix ms), $3 = text (bound as bytes when
 * as_bytes, for a BLOB/BYTEA column; not bound when text is NULL); the
 * lost nodes are `SELECT node_id FROM nodes WHERE reaped_by = $1 AND
 * reaped_ms = $2`. -ENOSPC when full, -EINVAL when sql is NULL. */
int rn_cluster_on_node_loss(const char *sql, const char *text, bool as_bytes);

/* Run cb(ud) on the loop after a heartbeat of this node claimed lost
 * nodes (their statements committed): to take up the work they handed
 * over. At most 8; call from an envelope's init. */
int rn_cluster_after_node_loss(void (*cb)(void *ud), void *ud);

/* A block of ids shared by the nodes (for ids that must be unique over
 * the cluster, like Linkis taskIDs): taken from the store's id_blocks
 * table, a block per claim. */
typedef struct {
    char kind[32];
    const char *max_sql; /* SELECT of the largest id in use (one cell) */
    int64_t next, end;   /* ids [next, end) are this node's */
    int64_t spare, spare_end;
    bool refilling;
} rn_cluster_ids;

/* Claim the first block for kind (synchronously: start-up only); ids
 * begin above both the block counter and max_sql's answer. */
int rn_cluster_ids_init(rn_cluster_ids *ids, const char *kind, const char *max_sql);

/* The next id (claims the next block ahead, off the loop, when half of
 * this one is used); -EAGAIN when both blocks are used up. */
int64_t rn_cluster_ids_take(rn_cluster_ids *ids);

#endif
