/* The Jobe files in a shared store (see jobe_shared.h). */
#include "jobe_shared.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int jobe_shared_put(rn_store *s, const char *id, const char *data, size_t len,
                    void (*done)(void *ud, int err), void *ud)
{
    rn_store_op *op = rn_store_op_new();
    if (!op)
        return -ENOMEM;
    rn_store_op_sql(op, "INSERT INTO jobe_file (file_id, content, created_ms) VALUES ($1, $2, $3) "
                        "ON CONFLICT (file_id) DO UPDATE SET content = excluded.content, "
                        "created_ms = excluded.created_ms");
    rn_store_op_text(op, id);
    rn_store_op_blob(op, data, len);
    rn_store_op_int(op, rn_store_now_ms());
    return rn_store_submit_then(s, op, "jobe.shared_put_failed", done, ud);
}

typedef struct {
    jobe_files *f;
    void (*done)(void *ud, int err);
    void *ud;
    size_t asked;   /* statements, one per id the cache lacked */
    size_t pending; /* cache writes not done yet, + 1 while they are started */
    int err;
} fill_ctx;

static void fill_step(fill_ctx *c)
{
    if (--c->pending)
        return;
    c->done(c->ud, c->err);
    free(c);
}

static void on_cached(void *ud, int err)
{
    fill_ctx *c = ud;
    if (err < 0 && !c->err)
        c->err = err;
    fill_step(c);
}

static void on_fetched(int err, const rn_store_result *res, void *ud)
{
    fill_ctx *c = ud;
    c->err = err;
    for (size_t i = 0; err == 0 && i < c->asked && !c->err; i++) {
        if (rn_store_rows(res, i) != 1) {
            c->err = -ENOENT;
            break;
        }
        size_t len;
        const char *id = rn_store_cell_text(res, i, 0, 0, NULL);
        const char *data = rn_store_cell_text(res, i, 0, 1, &len);
        c->pending++;
        int r = jobe_files_put(c->f, id, data, len, on_cached, c);
        if (r < 0) {
            c->pending--;
            c->err = r;
        }
    }
    fill_step(c);
}

int jobe_shared_fill(rn_store *s, jobe_files *f, const char *const *ids, size_t n,
                     void (*done)(void *ud, int err), void *ud)
{
    fill_ctx *c = calloc(1, sizeof(*c));
    rn_store_op *op = rn_store_op_new();
    if (!c || !op) {
        free(c);
        rn_store_op_free(op);
        return -ENOMEM;
    }
    *c = (fill_ctx){.f = f, .done = done, .ud = ud, .pending = 1};
    for (size_t i = 0; i < n; i++) {
        if (jobe_files_has(f, ids[i]))
            continue;
        rn_store_op_sql(op, "SELECT file_id, content FROM jobe_file WHERE file_id = $1");
        rn_store_op_text(op, ids[i]);
        c->asked++;
    }
    int r = rn_store_submit(s, op, on_fetched, c);
    if (r < 0)
        free(c);
    return r;
}

int jobe_shared_retention(rn_store *s)
{
    return rn_store_add_retention(s, "DELETE FROM jobe_file WHERE created_ms < $1");
}
