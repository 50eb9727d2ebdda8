/* Judge0 on many nodes sharing the store (docs/cluster.md): the node that
 * claims a lost node takes over its unfinished submissions (each queued
 * again once, as after a restart), and a node answers reads of tokens it
 * does not hold from the store, so that any node answers any submission.
 * Tokens stay Judge0's UUIDs: clients check their shape. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "judge0_int.h"
#include "log.h"

#define COLS "token, um_user, status_id, requeued, data"

/* In the claim's transaction: the lost nodes' unfinished submissions
 * become the claiming node's. */
static const char takeover_sql[] =
    "UPDATE judge0_submission SET node_id = $1, updated_ms = $2 WHERE finished = 0 AND node_id "
    "IN (SELECT node_id FROM nodes WHERE reaped_by = $1 AND reaped_ms = $2)";

bool j0_shared_reads(const j0_state *st)
{
    return st->store && rn_cluster_active();
}

/* ---------------------------------------------------------------- takeover */

static void on_taken(int err, const rn_store_result *res, void *ud)
{
    j0_state *st = ud;
    rn_host_info info;
    rn_host_info_get(st->host, &info);
    if (err < 0 || info.draining) {
        /* still this node's in the store: taken up at its next start, or by
         * the node that claims it */
        rn_log(err < 0 ? RN_LOG_ERROR : RN_LOG_INFO, "judge0.takeover", "err=%s",
               err < 0 ? strerror(-err) : "draining");
        return;
    }
    size_t before = st->count;
    size_t again = j0_store_load_rows(st, res);
    rn_log(RN_LOG_INFO, "judge0.takeover", "submissions=%zu requeue=%zu", st->count - before,
           again);
    if (again)
        j0_store_requeue(st);
}

static void after_loss(void *ud)
{
    j0_state *st = ud;
    rn_store_op *op = rn_store_op_new();
    if (!op)
        return;
    rn_store_op_sql(op, "SELECT " COLS " FROM judge0_submission WHERE node_id = $1 AND finished "
                        "= 0 ORDER BY created_ms");
    rn_store_op_text(op, rn_cluster_node_id());
    if (rn_store_submit(st->store, op, on_taken, st) < 0)
        rn_log(RN_LOG_ERROR, "judge0.takeover", "err=store_closed");
}

int j0_shared_init(j0_state *st)
{
    if (!j0_shared_reads(st))
        return 0;
    int r = rn_cluster_on_node_loss(takeover_sql, NULL, false);
    if (r == 0)
        r = rn_cluster_after_node_loss(after_loss, st);
    return r;
}

/* ---------------------------------------------------------------- reads */

typedef struct {
    j0_state *st;
    rn_http *h;
    j0_fetch_kind kind;
    size_t n;
    char user[128];
    bool admin, base64, has_fields;
    char fields[512];
    long page, per;
    char tokens[J0_BATCH_MAX][40];
} j0_fetch;

/* The sub of statement k's first row (NULL when none or unreadable). */
static j0_sub *row_of(j0_state *st, const rn_store_result *res, size_t k, size_t row)
{
    if (rn_store_rows(res, k) <= row)
        return NULL;
    size_t len;
    const char *data = rn_store_cell_text(res, k, row, 4, &len);
    return j0_store_row_sub(st, rn_store_cell_text(res, k, row, 0, NULL),
                            rn_store_cell_text(res, k, row, 1, NULL),
                            (int)rn_store_cell_int(res, k, row, 2), data, len);
}

static void fetch_free(j0_fetch *f)
{
    rn_http_release(f->h);
    free(f);
}

static void on_fetched(int err, const rn_store_result *res, void *ud)
{
    j0_fetch *f = ud;
    j0_state *st = f->st;
    const char *fields = f->has_fields ? f->fields : NULL;
    if (err < 0) {
        j0_reply_error(f->h, 503, "the state store did not answer");
        fetch_free(f);
        return;
    }
    j0_sub *own[J0_BATCH_MAX] = {0};
    const j0_sub *subs[J0_BATCH_MAX] = {0};
    for (size_t i = 0; i < f->n; i++) {
        /* what this node holds is newer than its row */
        const j0_sub *s = j0_list_find(st, f->tokens[i]);
        if (!s)
            s = own[i] = row_of(st, res, i, 0);
        subs[i] = s && j0_may_see(st, s, f->user, f->admin) ? s : NULL;
    }
    if (f->kind == J0_FETCH_BATCH)
        j0_reply_batch(st, f->h, subs, f->n, fields, f->base64);
    else if (!subs[0])
        j0_reply_error(f->h, 404, "submission not found");
    else if (f->kind == J0_FETCH_GET)
        j0_reply_sub(st, f->h, 200, subs[0], fields, f->base64);
    else if (j0_delete_reply(f->h, st, subs[0], fields)) {
        j0_sub *held = j0_list_find(st, f->tokens[0]);
        j0_store_delete(st, subs[0]);
        if (held) {
            j0_list_remove(st, held);
            j0_sub_free(held);
        }
    }
    for (size_t i = 0; i < f->n; i++)
        if (own[i])
            j0_sub_free(own[i]);
    fetch_free(f);
}

/* A fetch for h and the empty operation it will run (*op); NULL (and
 * *op NULL) when out of memory. */
static j0_fetch *fetch_new(j0_state *st, rn_http *h, j0_fetch_kind kind, const char *user,
                           bool admin, const char *fields, bool base64, rn_store_op **op)
{
    j0_fetch *f = calloc(1, sizeof(*f));
    *op = f ? rn_store_op_new() : NULL;
    if (!*op) {
        free(f);
        return NULL;
    }
    f->st = st;
    f->h = h;
    f->kind = kind;
    snprintf(f->user, sizeof(f->user), "%s", user ? user : "");
    f->admin = admin;
    f->base64 = base64;
    f->has_fields = fields != NULL;
    snprintf(f->fields, sizeof(f->fields), "%s", fields ? fields : "");
    return f;
}

static int fetch_submit(j0_fetch *f, rn_store_op *op, rn_store_done done)
{
    rn_http_hold(f->h);
    int r = rn_store_submit(f->st->store, op, done, f);
    if (r < 0) {
        rn_http_release(f->h);
        free(f);
    }
    return r;
}

int j0_shared_fetch(j0_state *st, rn_http *h, j0_fetch_kind kind, char *const *tokens, size_t n,
                    const char *user, bool admin, const char *fields, bool base64)
{
    if (n < 1 || n > J0_BATCH_MAX)
        return -EINVAL;
    rn_store_op *op;
    j0_fetch *f = fetch_new(st, h, kind, user, admin, fields, base64, &op);
    if (!f)
        return -ENOMEM;
    f->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(f->tokens[i], sizeof(f->tokens[i]), "%s", tokens[i]);
        rn_store_op_sql(op, "SELECT " COLS " FROM judge0_submission WHERE token = $1");
        rn_store_op_text(op, f->tokens[i]);
    }
    return fetch_submit(f, op, on_fetched);
}

static void on_page(int err, const rn_store_result *res, void *ud)
{
    j0_fetch *f = ud;
    if (err < 0) {
        j0_reply_error(f->h, 503, "the state store did not answer");
        fetch_free(f);
        return;
    }
    size_t n = rn_store_rows(res, 0);
    j0_sub **own = calloc(n ? n : 1, sizeof(*own));
    if (!own) {
        j0_reply_error(f->h, 500, "out of memory");
        fetch_free(f);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((own[k] = row_of(f->st, res, 0, i)))
            k++;
    long total = rn_store_rows(res, 1) ? (long)rn_store_cell_int(res, 1, 0, 0) : 0;
    j0_reply_page(f->st, f->h, (const j0_sub *const *)own, k, f->page, f->per, total,
                  f->has_fields ? f->fields : NULL, f->base64);
    for (size_t i = 0; i < k; i++)
        j0_sub_free(own[i]);
    free(own);
    fetch_free(f);
}

int j0_shared_index(j0_state *st, rn_http *h, const char *user, long page, long per,
                    const char *fields, bool base64)
{
    rn_store_op *op;
    j0_fetch *f = fetch_new(st, h, J0_FETCH_GET, user, true, fields, base64, &op);
    if (!f)
        return -ENOMEM;
    f->page = page;
    f->per = per;
    rn_store_op_sql(op, "SELECT " COLS " FROM judge0_submission WHERE ($1 = '' OR um_user = $1) "
                        "ORDER BY created_ms DESC, token LIMIT $2 OFFSET $3");
    rn_store_op_text(op, f->user);
    rn_store_op_int(op, per);
    rn_store_op_int(op, (page - 1) * per);
    rn_store_op_sql(op, "SELECT COUNT(*) FROM judge0_submission WHERE ($1 = '' OR um_user = $1)");
    rn_store_op_text(op, f->user);
    return fetch_submit(f, op, on_page);
}
