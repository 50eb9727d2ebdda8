/* Linkis job history: /jobhistory/{taskID}/get and /jobhistory/list, from
 * the store (tasks in memory override their stored row) or from memory
 * when there is no store (linkis_routes.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkis_routes.h"
#include "linkis_tasks.h"

#define LK_PAGE_MAX 500

static const char not_found[] =
    "The corresponding job was not found, or there may be no "
    "permission to view the job(没有找到对应的job，也可能是没有查看该job的权限)";

typedef struct {
    lk_later *later;
    lk_caller who;
} get_q;

static void on_get(const lk_loaded *t, int err, void *ud)
{
    get_q *q = ud;
    const lk_out *o = &q->later->out;
    if (err < 0) {
        lk_out_internal(o, "the task could not be read", "runnel: store read failed");
    } else if (!t || !lk_caller_sees(&q->who, t->v->um_user, t->v->execute_user)) {
        lk_out_error(o, LK_ST_ERROR, not_found, 0);
    } else {
        rn_jbuf f;
        rn_jbuf_init(&f, 0);
        rn_jbuf_key(&f, "task");
        lk_write_task_vo(&f, t->v, SIZE_MAX);
        lk_out_send(o, LK_ST_OK, "OK", &f, 0);
        rn_jbuf_free(&f);
    }
    lk_later_free(q->later);
    free(q);
}

void lk_route_history_get(const lk_out *o, const char *id, const lk_caller *who)
{
    bool digits = id[0] && strlen(id) <= 18;
    for (const char *p = id; digits && *p; p++)
        digits = *p >= '0' && *p <= '9';
    if (!digits) {
        char msg[LK_ID_MAX + 64];
        snprintf(msg, sizeof(msg), "taskID must be a number: %s", id);
        lk_out_error(o, LK_ST_ERROR, msg, 0);
        return;
    }
    get_q *q = calloc(1, sizeof(*q));
    if (!q || !(q->later = lk_later_new(o))) {
        if (!q)
            lk_out_internal(o, "out of memory", "runnel: calloc: out of memory");
        free(q);
        return;
    }
    q->who = *who;
    lk_want want = {.set_index = -1};
    lk_tasks_lookup(id, &want, on_get, q);
}

/* ---------------------------------------------------------------- list */

typedef struct {
    lk_later *later;
    lk_caller who;
    char user[LK_NAME_MAX + 1]; /* "" = every user (admin view) */
    long long start, end, task_id, page, size;
    char engine[LK_NAME_MAX + 1], creator[LK_NAME_MAX + 1];
    bool status[LK_NSTATES], any_status;
    /* memory path */
    rn_jbuf rows;
    long long total, skip, written;
} list_q;

static bool list_match(const list_q *q, const lk_view *v)
{
    if (q->user[0] && strcmp(v->um_user, q->user) && strcmp(v->execute_user, q->user))
        return false;
    if (v->created_ms < q->start || v->created_ms >= q->end)
        return false;
    if ((q->engine[0] && strcmp(v->engine, q->engine)) ||
        (q->creator[0] && strcmp(v->creator, q->creator)))
        return false;
    if (q->task_id > 0 && v->task_id != q->task_id)
        return false;
    return q->any_status || q->status[v->state];
}

static void list_reply(list_q *q, const rn_jbuf *rows, long long total)
{
    const lk_out *o = &q->later->out;
    if (q->page > 1 && (q->page - 1) * q->size >= total) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "pageNow %lld is past the end: %lld tasks match, %lld page%s of %lld", q->page,
                 total, (total + q->size - 1) / q->size,
                 (total + q->size - 1) / q->size == 1 ? "" : "s", q->size);
        lk_out_error(o, LK_ST_ERROR, msg, 0);
        return;
    }
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_str(&f, "\"tasks\":[");
    if (rows->len)
        rn_jbuf_raw(&f, rows->data, rows->len);
    rn_jbuf_printf(&f, "],\"totalPage\":%lld", total);
    if (rows->oom)
        f.oom = true;
    lk_out_send(o, LK_ST_OK, "OK", &f, 0);
    rn_jbuf_free(&f);
}

static void list_free(list_q *q)
{
    rn_jbuf_free(&q->rows);
    lk_later_free(q->later);
    free(q);
}

static void memory_row(const lk_view *v, void *ud)
{
    list_q *q = ud;
    if (!list_match(q, v))
        return;
    q->total++;
    if (q->skip > 0) {
        q->skip--;
        return;
    }
    if (q->written >= q->size)
        return;
    if (q->written++)
        rn_jbuf_str(&q->rows, ",");
    lk_write_task_vo(&q->rows, v, LK_LIST_CODE_MAX);
}

static void on_list(int err, const rn_store_result *res, void *ud)
{
    list_q *q = ud;
    if (err < 0) {
        lk_out_internal(&q->later->out, "the job history could not be read",
                        "runnel: store read failed");
        list_free(q);
        return;
    }
    for (size_t i = 0; i < rn_store_rows(res, 0); i++) {
        lk_view v;
        lk_view_from_row(res, 0, i, &v);
        const lk_view *live = lk_tasks_live(v.task_id);
        if (i)
            rn_jbuf_str(&q->rows, ",");
        lk_write_task_vo(&q->rows, live ? live : &v, LK_LIST_CODE_MAX);
    }
    list_reply(q, &q->rows, rn_store_cell_int(res, 1, 0, 0));
    list_free(q);
}

/* The WHERE clause and its values ($1...$8). */
static void list_where(const list_q *q, char *sql, size_t size)
{
    size_t n = (size_t)snprintf(sql, size,
                                " WHERE ($1 = '' OR um_user = $1 OR execute_user = $1) AND "
                                "created_ms >= $2 AND created_ms < $3 AND ($4 = '' OR "
                                "engine_type = $4) AND ($5 = '' OR creator = $5) AND ($6 <= 0 OR "
                                "task_id = $6)");
    if (q->any_status || n >= size)
        return;
    /* The names are our own (checked), never the client's text. */
    n += (size_t)snprintf(sql + n, size - n, " AND status IN (");
    bool first = true;
    for (int s = 0; s < LK_NSTATES && n < size; s++) {
        if (!q->status[s])
            continue;
        n += (size_t)snprintf(sql + n, size - n, "%s'%s'", first ? "" : ", ", lk_state_names[s]);
        first = false;
    }
    if (n < size)
        snprintf(sql + n, size - n, ")");
}

static void bind_where(rn_store_op *op, const list_q *q)
{
    rn_store_op_text(op, q->user);
    rn_store_op_int(op, q->start);
    rn_store_op_int(op, q->end);
    rn_store_op_text(op, q->engine);
    rn_store_op_text(op, q->creator);
    rn_store_op_int(op, q->task_id);
}

static void list_store(list_q *q)
{
    char where[700], sql[1400];
    list_where(q, where, sizeof(where));
    rn_store_op *op = rn_store_op_new();
    snprintf(sql, sizeof(sql),
             "SELECT " LK_VIEW_COLS " FROM linkis_task%s ORDER BY task_id DESC LIMIT $7 OFFSET $8",
             where);
    rn_store_op_sql(op, sql);
    bind_where(op, q);
    rn_store_op_int(op, q->size);
    rn_store_op_int(op, (q->page - 1) * q->size);
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM linkis_task%s", where);
    rn_store_op_sql(op, sql);
    bind_where(op, q);
    if (rn_store_submit(lk_tasks_store(), op, on_list, q) < 0) {
        lk_out_internal(&q->later->out, "the job history could not be read",
                        "runnel: store closed");
        list_free(q);
    }
}

/* Read the filters; false when one is malformed (o got the error). */
static bool list_params(const lk_out *o, const lk_params *p, list_q *q)
{
    char status[200] = "", buf[LK_NAME_MAX + 2] = "";
    long long admin_view = 0;
    if (!lk_param_int(p, "startDate", 0, &q->start) ||
        !lk_param_int(p, "endDate", rn_store_now_ms(), &q->end) ||
        !lk_param_int(p, "pageNow", 1, &q->page) || !lk_param_int(p, "pageSize", 20, &q->size) ||
        !lk_param_int(p, "taskID", 0, &q->task_id)) {
        lk_out_error(o, LK_ST_ERROR,
                     "startDate, endDate, pageNow, pageSize and taskID must be integers", 0);
        return false;
    }
    if (q->page < 1 || q->size < 1 || q->size > LK_PAGE_MAX) {
        char msg[120];
        snprintf(msg, sizeof(msg), "pageNow must be at least 1 and pageSize 1 to %d", LK_PAGE_MAX);
        lk_out_error(o, LK_ST_ERROR, msg, 0);
        return false;
    }
    if (q->start == q->end)
        q->end += 86400000; /* one day, as Linkis does */
    static const char *const names[] = {"executeApplicationName", "creator"};
    char *dst[] = {q->engine, q->creator};
    for (int i = 0; i < 2; i++) {
        buf[0] = 0;
        lk_param(p, names[i], buf, sizeof(buf));
        if (buf[0] && !lk_name_ok(buf)) {
            char msg[120];
            snprintf(msg, sizeof(msg), "Invalid %s : %.64s", i ? "creator" : "applicationName",
                     buf);
            lk_out_error(o, LK_ST_ERROR, msg, 0);
            return false;
        }
        snprintf(dst[i], LK_NAME_MAX + 1, "%s", buf);
    }
    q->any_status = true;
    if (lk_param(p, "status", status, sizeof(status)) && status[0]) {
        q->any_status = false;
        char *save = NULL;
        for (char *s = strtok_r(status, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            int st = lk_state_parse(s);
            if (st < 0) {
                char msg[120];
                snprintf(msg, sizeof(msg), "Invalid status : %.64s", s);
                lk_out_error(o, LK_ST_ERROR, msg, 0);
                return false;
            }
            q->status[st] = true;
        }
    }
    snprintf(q->user, sizeof(q->user), "%s", q->who.user);
    if (lk_param(p, "isAdminView", buf, sizeof(buf)) && !strcmp(buf, "true"))
        admin_view = 1;
    if (q->who.admin && admin_view) {
        buf[0] = 0;
        lk_param(p, "proxyUser", buf, sizeof(buf));
        snprintf(q->user, sizeof(q->user), "%s", lk_name_ok(buf) ? buf : "");
    }
    return true;
}

void lk_route_history_list(const lk_out *o, const lk_params *p, const lk_caller *who)
{
    list_q *q = calloc(1, sizeof(*q));
    if (!q) {
        lk_out_internal(o, "out of memory", "runnel: calloc: out of memory");
        return;
    }
    q->who = *who;
    rn_jbuf_init(&q->rows, 0);
    if (!list_params(o, p, q) || !(q->later = lk_later_new(o))) {
        rn_jbuf_free(&q->rows);
        free(q);
        return;
    }
    if (lk_tasks_store()) {
        list_store(q);
        return;
    }
    q->skip = (q->page - 1) * q->size;
    lk_tasks_each(memory_row, q);
    list_reply(q, &q->rows, q->total);
    list_free(q);
}
