/* Zeppelin notes in a shared store (see zeppelin_shared.h). */
#include "zeppelin_shared.h"

#include <errno.h>
#include <stdlib.h>

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

typedef struct {
    zp_store_done done;
    void *ud;
} op_ctx;

static void on_op(int err, const rn_store_result *res, void *ud)
{
    op_ctx *c = ud;
    (void)res;
    if (err < 0)
        rn_log(RN_LOG_ERROR, "zeppelin.shared_store_failed", "err=%d", err);
    c->done(c->ud, err);
    free(c);
}

static int submit(rn_store *s, rn_store_op *op, zp_store_done done, void *ud)
{
    op_ctx *c = calloc(1, sizeof(*c));
    if (!c || !op) {
        free(c);
        rn_store_op_free(op);
        return -ENOMEM;
    }
    c->done = done;
    c->ud = ud;
    int r = rn_store_submit(s, op, on_op, c);
    if (r < 0)
        free(c);
    return r;
}

int zp_shared_save(rn_store *s, const char *id, const char *rel, const char *data, size_t len,
                   zp_store_done done, void *ud)
{
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO zeppelin_note (note_id, path, content, updated_ms) VALUES "
                        "($1, $2, $3, $4) ON CONFLICT (note_id) DO UPDATE SET path = "
                        "excluded.path, content = excluded.content, updated_ms = "
                        "excluded.updated_ms");
    rn_store_op_text(op, id);
    rn_store_op_text(op, rel);
    rn_store_op_blob(op, data, len);
    rn_store_op_int(op, rn_store_now_ms());
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
