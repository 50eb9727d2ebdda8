/* The cluster node (cluster.h): identity, heartbeat, the sweep that claims
 * lost nodes, and cluster-wide id blocks. An envelope without routes, so
 * that its configuration section and start-up come from the registry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "envelope.h"
#include "log.h"
#include "store.h"

#define CL_HOOKS_MAX 8
#define CL_BLOCK     100000

typedef struct {
    bool enabled;
    char node_id[64];
    uint64_t heartbeat_ms;
    uint64_t dead_after_ms;
    uint64_t drain_ms;
} cl_conf;

typedef struct {
    const char *sql;
    const char *text;
    bool as_bytes;
} cl_hook;

static struct {
    bool active;
    char node[RN_NODE_ID_MAX + 1];
    rn_host *host;
    rn_store *store;
    uv_timer_t timer;
    bool timer_init;
    uint64_t heartbeat_ms, dead_after_ms, drain_ms;
    bool busy;       /* a heartbeat is in the store's hands */
    int64_t sent_ms; /* when it was handed over */
    int64_t ok_ms;   /* when the last one came back done */
    bool last_ok;    /* the last one succeeded */
    cl_hook hooks[CL_HOOKS_MAX];
    size_t nhooks;
    struct {
        void (*cb)(void *ud);
        void *ud;
    } after[CL_HOOKS_MAX];
    size_t nafter;
} CL;

bool rn_cluster_active(void)
{
    return CL.active;
}

const char *rn_cluster_node_id(void)
{
    return CL.active ? CL.node : "";
}

uint64_t rn_cluster_drain_ms(void)
{
    return CL.active ? CL.drain_ms : 0;
}

bool rn_cluster_store_ok(void)
{
    if (!CL.active)
        return true;
    int64_t now = rn_store_now_ms();
    if (!CL.last_ok || now - CL.ok_ms > (int64_t)CL.dead_after_ms)
        return false;
    return !(CL.busy && now - CL.sent_ms > (int64_t)CL.dead_after_ms);
}

int rn_cluster_on_node_loss(const char *sql, const char *text, bool as_bytes)
{
    if (!sql)
        return -EINVAL;
    if (CL.nhooks == CL_HOOKS_MAX)
        return -ENOSPC;
    CL.hooks[CL.nhooks++] = (cl_hook){sql, text, as_bytes};
    return 0;
}

int rn_cluster_after_node_loss(void (*cb)(void *ud), void *ud)
{
    if (!cb)
        return -EINVAL;
    if (CL.nafter == CL_HOOKS_MAX)
        return -ENOSPC;
    CL.after[CL.nafter].cb = cb;
    CL.after[CL.nafter++].ud = ud;
    return 0;
}

/* Whether s is a node id: [a-z0-9-]{1,32}. */
static bool node_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > RN_NODE_ID_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

/* The host name's first label, lower-cased, other characters as '-',
 * cut to the id's length ("node" when nothing is left). */
static void node_id_from_hostname(char *out, size_t size)
{
    char h[256];
    if (gethostname(h, sizeof(h)) < 0)
        h[0] = 0;
    h[sizeof(h) - 1] = 0;
    size_t n = 0;
    for (const char *p = h; *p && *p != '.' && n < RN_NODE_ID_MAX && n + 1 < size; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[n++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '-';
    }
    out[n] = 0;
    if (!n)
        snprintf(out, size, "node");
}

/* ---------------------------------------------------------------- heartbeat */

static void on_beat(int err, const rn_store_result *res, void *ud)
{
    (void)ud;
    CL.busy = false;
    if (err < 0) {
        if (CL.last_ok)
            rn_log(RN_LOG_ERROR, "cluster.store_unreachable", "node=%s err=%s", CL.node,
                   strerror(-err));
        CL.last_ok = false;
        return;
    }
    if (!CL.last_ok)
        rn_log(RN_LOG_INFO, "cluster.store_back", "node=%s", CL.node);
    CL.last_ok = true;
    CL.ok_ms = rn_store_now_ms();
    size_t lost = rn_store_rows(res, 1);
    for (size_t i = 0; i < lost; i++)
        rn_log(RN_LOG_WARN, "cluster.node_lost", "node=%s by=%s silent_ms=%lld",
               rn_store_cell_text(res, 1, i, 0, NULL), CL.node,
               (long long)(CL.ok_ms - rn_store_cell_int(res, 1, i, 1)));
    for (size_t i = 0; lost && i < CL.nafter; i++)
        CL.after[i].cb(CL.after[i].ud);
}

/* The claim of every node silent for longer than dead_after (conditional,
 * so only one survivor claims a node), then the registered statements for
 * the nodes claimed. */
static void add_claim(rn_store_op *op, int64_t now)
{
    rn_store_op_sql(op, "UPDATE nodes SET state = 'dead', reaped_by = $1, reaped_ms = $2 WHERE "
                        "state = 'alive' AND node_id <> $1 AND heartbeat_ms < $3 RETURNING "
                        "node_id, heartbeat_ms");
    rn_store_op_text(op, CL.node);
    rn_store_op_int(op, now);
    rn_store_op_int(op, now - (int64_t)CL.dead_after_ms);
    for (size_t i = 0; i < CL.nhooks; i++) {
        rn_store_op_sql(op, CL.hooks[i].sql);
        rn_store_op_text(op, CL.node);
        rn_store_op_int(op, now);
        if (!CL.hooks[i].text)
            continue;
        if (CL.hooks[i].as_bytes)
            rn_store_op_blob(op, CL.hooks[i].text, strlen(CL.hooks[i].text));
        else
            rn_store_op_text(op, CL.hooks[i].text);
    }
}

/* One heartbeat: this node's row, then (unless it drains: a draining node
 * takes over nothing) the claim of lost nodes. */
static void beat(uv_timer_t *t)
{
    (void)t;
    if (CL.busy)
        return;
    rn_host_info info;
    rn_host_info_get(CL.host, &info);
    int64_t now = rn_store_now_ms();
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "UPDATE nodes SET heartbeat_ms = $2, draining = $3, state = 'alive', "
                        "reaped_by = NULL, reaped_ms = NULL WHERE node_id = $1");
    rn_store_op_text(op, CL.node);
    rn_store_op_int(op, now);
    rn_store_op_int(op, info.draining ? 1 : 0);
    if (!info.draining)
        add_claim(op, now);
    CL.sent_ms = now;
    if (rn_store_submit(CL.store, op, on_beat, NULL) == 0) /* (it frees op on failure) */
        CL.busy = true;
}

/* ---------------------------------------------------------------- ids */

/* The operation that claims the next block of ids->kind. */
static rn_store_op *claim_op(const rn_cluster_ids *ids)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "UPDATE id_blocks SET next = (CASE WHEN next > (%s) THEN next ELSE (%s) END) + $2 "
             "WHERE kind = $1 RETURNING next",
             ids->max_sql, ids->max_sql);
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO id_blocks (kind, next) VALUES ($1, 0) ON CONFLICT (kind) "
                        "DO NOTHING");
    rn_store_op_text(op, ids->kind);
    rn_store_op_sql(op, sql);
    rn_store_op_text(op, ids->kind);
    rn_store_op_int(op, CL_BLOCK);
    return op;
}

int rn_cluster_ids_init(rn_cluster_ids *ids, const char *kind, const char *max_sql)
{
    memset(ids, 0, sizeof(*ids));
    snprintf(ids->kind, sizeof(ids->kind), "%s", kind);
    ids->max_sql = max_sql;
    if (!CL.store)
        return -ENOTCONN;
    rn_store_result *res = NULL;
    int r = rn_store_run_sync(CL.store, claim_op(ids), &res);
    if (r < 0)
        return r;
    if (rn_store_rows(res, 1) != 1) {
        rn_store_result_free(res);
        return -EIO;
    }
    int64_t top = rn_store_cell_int(res, 1, 0, 0);
    rn_store_result_free(res);
    ids->next = top - CL_BLOCK + 1;
    ids->end = top + 1;
    rn_log(RN_LOG_INFO, "cluster.ids", "kind=%s first=%lld end=%lld", ids->kind,
           (long long)ids->next, (long long)ids->end);
    return 0;
}

static void on_claimed(int err, const rn_store_result *res, void *ud)
{
    rn_cluster_ids *ids = ud;
    ids->refilling = false;
    if (err < 0 || rn_store_rows(res, 1) != 1) {
        rn_log(RN_LOG_ERROR, "cluster.ids_failed", "kind=%s err=%s", ids->kind,
               strerror(err < 0 ? -err : EIO));
        return;
    }
    int64_t top = rn_store_cell_int(res, 1, 0, 0);
    ids->spare = top - CL_BLOCK + 1;
    ids->spare_end = top + 1;
}

int64_t rn_cluster_ids_take(rn_cluster_ids *ids)
{
    if (ids->next >= ids->end) {
        if (ids->spare >= ids->spare_end)
            return -EAGAIN;
        ids->next = ids->spare;
        ids->end = ids->spare_end;
        ids->spare = ids->spare_end = 0;
    }
    int64_t id = ids->next++;
    if (ids->end - ids->next < CL_BLOCK / 2 && ids->spare >= ids->spare_end && !ids->refilling &&
        CL.store && rn_store_submit(CL.store, claim_op(ids), on_claimed, ids) == 0)
        ids->refilling = true;
    return id;
}

/* ---------------------------------------------------------------- start */

static int cluster_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    const cl_conf *c = conf;
    *state = &CL;
    CL.active = false;
    CL.nhooks = CL.nafter = 0;
    if (!c->enabled)
        return 0;
    CL.host = host;
    CL.store = rn_host_store(host);
    if (!CL.store) {
        snprintf(err, size, "cluster.enabled needs the state store");
        return -EINVAL;
    }
    if (c->node_id[0]) {
        if (!node_id_valid(c->node_id)) {
            snprintf(err, size, "cluster.node_id: 1 to %d of a-z, 0-9 and -", RN_NODE_ID_MAX);
            return -EINVAL;
        }
        snprintf(CL.node, sizeof(CL.node), "%s", c->node_id);
    } else {
        node_id_from_hostname(CL.node, sizeof(CL.node));
    }
    if (c->dead_after_ms < 2 * c->heartbeat_ms) {
        snprintf(err, size, "cluster.dead_after_ms must be at least twice cluster.heartbeat_ms");
        return -EINVAL;
    }
    CL.heartbeat_ms = c->heartbeat_ms;
    CL.dead_after_ms = c->dead_after_ms;
    CL.drain_ms = c->drain_ms;
    rn_host_info info;
    rn_host_info_get(host, &info);
    char addr[300];
    snprintf(addr, sizeof(addr), "%.256s:%d", info.listen_host, info.port);
    int64_t now = rn_store_now_ms();
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO nodes (node_id, addr, started_ms, heartbeat_ms, state, "
                        "draining) VALUES ($1, $2, $3, $3, 'alive', 0) ON CONFLICT (node_id) DO "
                        "UPDATE SET addr = $2, started_ms = $3, heartbeat_ms = $3, state = "
                        "'alive', draining = 0, reaped_by = NULL, reaped_ms = NULL");
    rn_store_op_text(op, CL.node);
    rn_store_op_text(op, addr);
    rn_store_op_int(op, now);
    int r = rn_store_run_sync(CL.store, op, NULL);
    if (r < 0) {
        snprintf(err, size, "cannot write this node to the store: %s", strerror(-r));
        return r;
    }
    CL.active = true;
    CL.last_ok = true;
    CL.ok_ms = now;
    CL.busy = false;
    uv_timer_init(rn_host_loop(host), &CL.timer);
    uv_unref((uv_handle_t *)&CL.timer); /* never what keeps the loop running */
    uv_timer_start(&CL.timer, beat, CL.heartbeat_ms, CL.heartbeat_ms);
    CL.timer_init = true;
    rn_log(RN_LOG_INFO, "cluster.node", "node=%s addr=%s heartbeat_ms=%llu dead_after_ms=%llu",
           CL.node, addr, (unsigned long long)CL.heartbeat_ms,
           (unsigned long long)CL.dead_after_ms);
    return 0;
}

static void cluster_fini(void *state)
{
    (void)state;
    if (CL.timer_init) {
        uv_timer_stop(&CL.timer);
        uv_close((uv_handle_t *)&CL.timer, NULL);
        CL.timer_init = false;
    }
    CL.active = false;
    CL.store = NULL;
}

static const rn_conf_key cluster_keys[] = {
    RN_CONF_KEY_BOOL("enabled", cl_conf, enabled, "false",
                     "this server is one node of many sharing state.store"),
    RN_CONF_KEY_STR("node_id", cl_conf, node_id, NULL,
                    "this node's id, a-z 0-9 - (at most 32; default: from the host name)"),
    RN_CONF_KEY_U64("heartbeat_ms", cl_conf, heartbeat_ms, 100, 60000, "1000",
                    "how often the node writes its heartbeat to the store"),
    RN_CONF_KEY_U64("dead_after_ms", cl_conf, dead_after_ms, 200, 600000, "5000",
                    "a node silent this long is lost: its running jobs end Failed"),
    RN_CONF_KEY_U64("drain_ms", cl_conf, drain_ms, 0, 3600000, "60000",
                    "SIGTERM: how long the node keeps finishing its runs (taking no new "
                    "ones) before it stops"),
};

const rn_envelope rn_env_cluster = {
    .name = "cluster",
    .keys = cluster_keys,
    .nkeys = sizeof(cluster_keys) / sizeof(cluster_keys[0]),
    .conf_size = sizeof(cl_conf),
    .init = cluster_init,
    .fini = cluster_fini,
};
