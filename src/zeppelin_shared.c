/* Zeppelin notes in a shared store (see zeppelin_shared.h). */
#include "zeppelin_shared.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "zeppelin_env.h"

struct zp_join {
    zp_store_done done;
    void *ud;
    int pending;
    int err;
};

zp_join *zp_join_new(zp_store_done done, void *ud, int n)
{
    zp_join *j = calloc(1, sizeof(*j));
    if (j)
        *j = (zp_join){.done = done, .ud = ud, .pending = n};
    return j;
}

void zp_join_done(void *join, int err)
{
    zp_join *j = join;
    if (err < 0 && !j->err)
        j->err = err;
    if (--j->pending)
        return;
    j->done(j->ud, j->err);
    free(j);
}

rn_store *zp_shared(void)
{
    rn_store *s = zp_g.host ? rn_host_store(zp_g.host) : NULL;
    return rn_store_shared(s) ? s : NULL;
}

static int submit(rn_store *s, rn_store_op *op, zp_store_done done, void *ud)
{
    return rn_store_submit_then(s, op, "zeppelin.shared_store_failed", done, ud);
}

static uint64_t save_seq;

uint64_t zp_shared_next_seq(void)
{
    return ++save_seq;
}

int zp_shared_save(rn_store *s, const char *id, const char *rel, const char *data, size_t len,
                   int64_t updated_ms, zp_store_done done, void *ud)
{
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO zeppelin_note (note_id, path, content, updated_ms) VALUES "
                        "($1, $2, $3, $4) ON CONFLICT (note_id) DO UPDATE SET path = "
                        "excluded.path, content = excluded.content, updated_ms = "
                        "excluded.updated_ms");
    rn_store_op_text(op, id);
    rn_store_op_text(op, rel);
    rn_store_op_blob(op, data, len);
    rn_store_op_int(op, updated_ms);
    return submit(s, op, done, ud);
}

int zp_shared_remove(rn_store *s, const char *id, zp_store_done done, void *ud)
{
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "DELETE FROM zeppelin_note WHERE note_id = $1");
    rn_store_op_text(op, id);
    return submit(s, op, done, ud);
}

int zp_shared_scan(rn_store *s,
                   void (*found)(void *ud, const char *rel, const char *data, size_t len), void *ud)
{
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "SELECT path, content FROM zeppelin_note ORDER BY note_id");
    rn_store_result *res = NULL;
    int r = rn_store_run_sync(s, op, &res);
    for (size_t i = 0; r == 0 && i < rn_store_rows(res, 0); i++) {
        size_t len;
        const char *rel = rn_store_cell_text(res, 0, i, 0, NULL);
        const char *data = rn_store_cell_text(res, 0, i, 1, &len);
        found(ud, rel, data, len);
    }
    rn_store_result_free(res);
    return r;
}

/* ---------------------------------------------------------------- sync */

/* Rows dated up to this long before the last look are read again: a save
 * committed late, or dated by a node whose clock is behind. */
#define SYNC_MARGIN_MS 10000

static struct {
    uv_timer_t timer;
    bool on, busy;
    int64_t since;   /* read rows dated after this */
    uint64_t q_seq;  /* saves sent before the look in flight */
    int64_t sent_ms; /* when it was sent */
} S;

static bool listed(const rn_store_result *res, const char *id)
{
    for (size_t i = 0; i < rn_store_rows(res, 1); i++)
        if (!strcmp(rn_store_cell_text(res, 1, i, 0, NULL), id))
            return true;
    return false;
}

static void on_sync(int err, const rn_store_result *res, void *ud)
{
    (void)ud;
    S.busy = false;
    rn_host_info info;
    if (!S.on || err < 0)
        return;
    rn_host_info_get(zp_g.host, &info);
    if (info.draining)
        return;
    int64_t next = S.sent_ms - SYNC_MARGIN_MS;
    unsigned changed = 0;
    for (size_t i = 0; i < rn_store_rows(res, 0); i++) {
        size_t len;
        const char *id = rn_store_cell_text(res, 0, i, 0, NULL);
        const char *rel = rn_store_cell_text(res, 0, i, 1, NULL);
        const char *data = rn_store_cell_text(res, 0, i, 2, &len);
        int64_t at = rn_store_cell_int(res, 0, i, 3);
        int r = zp_notes_apply_shared(id, rel, data, len, at);
        if (r == -EBUSY && at - 1 < next)
            next = at - 1; /* look again once it is free here */
        changed += r > 0;
    }
    /* Notes the store had and has no more, but for saves sent after this
     * look (their rows may have come after it). */
    for (zp_note *n = zp_g.notes, *nx; n; n = nx) {
        nx = n->next;
        if (listed(res, n->id))
            n->in_shared = true;
        else if (n->in_shared && n->shared_seq <= S.q_seq)
            changed += zp_notes_remove_shared(n) > 0;
    }
    if (next > S.since)
        S.since = next;
    if (changed) {
        rn_log(RN_LOG_INFO, "zeppelin.synced", "changed=%u", changed);
        zp_notes_info_all();
    }
}

static void sync_tick(uv_timer_t *t)
{
    (void)t;
    rn_store *s = zp_shared();
    if (S.busy || !s)
        return;
    rn_store_op *op = rn_store_op_new();
    if (!op)
        return;
    S.sent_ms = rn_store_now_ms();
    S.q_seq = save_seq;
    rn_store_op_sql(op, "SELECT note_id, path, content, updated_ms FROM zeppelin_note WHERE "
                        "updated_ms > $1 ORDER BY updated_ms");
    rn_store_op_int(op, S.since);
    rn_store_op_sql(op, "SELECT note_id FROM zeppelin_note");
    if (rn_store_submit(s, op, on_sync, NULL) == 0)
        S.busy = true;
}

void zp_shared_sync_start(void)
{
    if (S.on || !zp_shared())
        return;
    /* The first look reads every note: the store is the truth, and this
     * node's files may be older (it was down while others saved). */
    S.since = 0;
    uv_timer_init(rn_host_loop(zp_g.host), &S.timer);
    uv_unref((uv_handle_t *)&S.timer); /* never what keeps the loop running */
    uv_timer_start(&S.timer, sync_tick, ZP_SYNC_MS, ZP_SYNC_MS);
    S.on = true;
}

void zp_shared_sync_stop(void)
{
    if (!S.on)
        return;
    uv_timer_stop(&S.timer);
    uv_close((uv_handle_t *)&S.timer, NULL);
    S.on = false;
}
