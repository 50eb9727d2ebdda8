/* Linkis tasks in the store: the row written before a job starts, its end
 * with log lines and result sets, reads of tasks that left memory, and the
 * start-up that marks tasks left running Failed (linkis_tasks.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linkis_task_int.h"
#include "log.h"
#include "util.h"

#define LK_RESTART_DESC                                                                            \
    "the server restarted while this job was running: it did not finish and its output was not "   \
    "kept"

/* Tasks still running at a restart ended this way (also in the log). */
/* On a shared store only the tasks of this node's instance (the last
 * value; '' on a store of its own) are its: the others' belong to nodes
 * still running them. */
static const char restart_sql[] =
    "UPDATE linkis_task SET status = 'Failed', finished = 1, err_code = 1, err_desc = $1, "
    "updated_ms = $2, log_lines = log_lines + 1 WHERE finished = 0 AND ($3 = '' OR instance = "
    "$3)";
static const char restart_log_sql[] =
    "INSERT INTO linkis_log (task_id, line, level, text) SELECT task_id, log_lines, 0, $1 FROM "
    "linkis_task WHERE finished = 0 AND ($2 = '' OR instance = $2)";

#define LK_LOST_DESC                                                                               \
    "the node running this job stopped answering (no heartbeat in the store): the job did not "    \
    "finish and its output was not kept"

/* A lost node's running tasks end the restart's way (cluster.h: $1 the
 * claiming node, $2 the claim's time, $3 the reason). */
static const char lost_log_sql[] =
    "INSERT INTO linkis_log (task_id, line, level, text) SELECT task_id, log_lines, 0, $3 FROM "
    "linkis_task WHERE finished = 0 AND instance IN (SELECT node_id FROM nodes WHERE reaped_by "
    "= $1 AND reaped_ms = $2)";
static const char lost_sql[] =
    "UPDATE linkis_task SET status = 'Failed', finished = 1, err_code = 1, err_desc = $3, "
    "updated_ms = $2, log_lines = log_lines + 1 WHERE finished = 0 AND instance IN (SELECT "
    "node_id FROM nodes WHERE reaped_by = $1 AND reaped_ms = $2)";

/* Retention: the newest finished tasks by count, and none older than the
 * age bound (store.h); log lines and result sets go with their task. */
static const char retention_sql[] =
    "DELETE FROM linkis_task WHERE finished = 1 AND (updated_ms < $1 OR task_id <= (SELECT "
    "task_id FROM linkis_task WHERE finished = 1 ORDER BY task_id DESC LIMIT 1 OFFSET $2))";

/* The sqlite spec as the specs have it, but with sqlite3's JSON output (one
 * row per line) for SQL runs' table result sets; NULL when there is no
 * sqlite spec (SQL runs then give a text result set). */
static rn_spec *make_sql_spec(const rn_specs *specs)
{
    const rn_spec *base = specs ? rn_specs_find(specs, "sqlite") : NULL;
    char why[256];
    char *text = NULL;
    size_t n;
    rn_spec *out = NULL;
    if (!base || !base->path || rn_read_file(base->path, 1 << 20, false, &text, &n) < 0)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
    cJSON *argv = cJSON_CreateArray();
    bool found = false;
    const cJSON *a;
    cJSON_ArrayForEach(a, run)
    {
        /* (cJSON 1.7.15's cJSON_InsertItemInArray refuses a parsed array) */
        if (cJSON_IsString(a) && !strcmp(a->valuestring, ":memory:") && !found) {
            found = true;
            cJSON_AddItemToArray(argv, cJSON_CreateString("-json"));
        }
        cJSON_AddItemToArray(argv, cJSON_Duplicate(a, 1));
    }
    char *json = NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(root, "aliases");
    if (found && cJSON_ReplaceItemInObjectCaseSensitive(root, "run", argv)) {
        argv = NULL;
        if (cJSON_ReplaceItemInObjectCaseSensitive(root, "name", cJSON_CreateString("linkis-sql")))
            json = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(argv);
    why[0] = 0;
    if (json && rn_spec_parse(json, strlen(json), &out, why, sizeof(why)) == 0 &&
        rn_spec_check_available(out) < 0) {
        snprintf(why, sizeof(why), "sqlite3 is not installed");
        rn_spec_free(out);
        out = NULL;
    }
    if (!out) {
        char q[300];
        rn_log(RN_LOG_WARN, "linkis.no_sql_tables", "spec=%s msg=%s", base->path,
               rn_log_quote(why[0] ? why : "no ':memory:' in its run", q, sizeof(q)));
    }
    free(json);
    cJSON_Delete(root);
    return out;
}

int lk_tasks_init(rn_host *host, rn_store *store, const lk_tasks_conf *conf, char *err, size_t size)
{
    memset(&LK, 0, sizeof(LK));
    LK.host = host;
    LK.store = store;
    LK.conf = *conf;
    snprintf(LK.instance, sizeof(LK.instance), "%s", conf->instance ? conf->instance : "");
    LK.conf.instance = LK.instance;
    LK.sql_spec = make_sql_spec(rn_host_specs(host));
    if (!store)
        return 0;
    /* Before the loop serves: a short synchronous start-up. */
    LK.cluster = rn_cluster_active();
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, restart_log_sql);
    const char *mine = rn_store_shared(store) || LK.cluster ? LK.instance : "";
    rn_store_op_blob(op, LK_RESTART_DESC, strlen(LK_RESTART_DESC)); /* log lines are bytes */
    rn_store_op_text(op, mine);
    rn_store_op_sql(op, restart_sql);
    rn_store_op_text(op, LK_RESTART_DESC);
    rn_store_op_int(op, rn_store_now_ms());
    rn_store_op_text(op, mine);
    rn_store_op_sql(op, "SELECT COALESCE(MAX(task_id), 0), COUNT(*) FROM linkis_task");
    rn_store_result *res = NULL;
    int r = rn_store_run_sync(store, op, &res);
    if (r < 0) {
        snprintf(err, size, "cannot read Linkis tasks from the store: %s", strerror(-r));
        return r;
    }
    LK.last_task = rn_store_cell_int(res, 2, 0, 0);
    rn_log(RN_LOG_INFO, "linkis.store", "tasks=%lld last_task=%lld",
           (long long)rn_store_cell_int(res, 2, 0, 1), (long long)LK.last_task);
    rn_store_result_free(res);
    if (LK.cluster) {
        if ((r = rn_cluster_ids_init(&LK.ids, "linkis_task",
                                     "SELECT COALESCE(MAX(task_id), 0) FROM linkis_task")) < 0 ||
            (r = rn_cluster_on_node_loss(lost_log_sql, LK_LOST_DESC, true)) < 0 ||
            (r = rn_cluster_on_node_loss(lost_sql, LK_LOST_DESC, false)) < 0) {
            snprintf(err, size, "cannot join the cluster's Linkis tasks: %s", strerror(-r));
            return r;
        }
    }
    if ((r = rn_store_add_retention(store, retention_sql)) < 0) {
        snprintf(err, size, "cannot add the Linkis retention: %s", strerror(-r));
        return r;
    }
    return 0;
}

void lk_tasks_fini(void)
{
    while (LK.head) {
        lk_task *t = LK.head;
        lk_task_unlink(t);
        lk_task_free(t); /* every job has ended by now; the server is gone */
    }
    rn_spec_free(LK.sql_spec);
    LK.sql_spec = NULL;
}

/* ---------------------------------------------------------------- writes */

static void on_row_saved(int err, const rn_store_result *res, void *ud);

/* Another node took the taskID (a shared store): the next one after the
 * highest there, and the row written again. */
static void on_max_read(int err, const rn_store_result *res, void *ud)
{
    lk_task *t = ud;
    if (err == 0) {
        int64_t max = rn_store_cell_int(res, 0, 0, 0);
        LK.last_task = max > LK.last_task ? max : LK.last_task;
        t->v.task_id = ++LK.last_task;
        if (lk_exec_id(t->v.exec_id, sizeof(t->v.exec_id), t->v.creator, t->v.engine,
                       LK.conf.instance, t->v.um_user, (uint64_t)t->v.task_id) == 0) {
            lk_tasks_save_row(t);
            return;
        }
        err = -ENAMETOOLONG;
    }
    on_row_saved(err, NULL, t);
}

static bool retake_id(lk_task *t)
{
    if (!rn_store_shared(LK.store) || t->id_tries >= 8)
        return false;
    t->id_tries++;
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "SELECT COALESCE(MAX(task_id), 0) FROM linkis_task");
    return rn_store_submit(LK.store, op, on_max_read, t) == 0;
}

static void on_row_saved(int err, const rn_store_result *res, void *ud)
{
    lk_task *t = ud;
    (void)res;
    if (err == -EEXIST && retake_id(t))
        return;
    lk_later *reply = t->reply;
    t->reply = NULL;
    if (err < 0) {
        rn_log(RN_LOG_ERROR, "linkis.store_failed", "taskID=%lld what=row err=%s",
               (long long)t->v.task_id, strerror(-err));
        lk_out_internal(&reply->out, "the task could not be saved", "runnel: store write failed");
        lk_tasks_refused(t, "the task could not be saved");
    } else {
        t->row_saved = true;
        lk_tasks_start(t, &reply->out);
    }
    lk_later_free(reply);
}

void lk_tasks_save_row(lk_task *t)
{
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO linkis_task (task_id, exec_id, instance, um_user, "
                        "execute_user, engine_type, run_type, creator, language, code, status, "
                        "nstages, stage, created_ms, updated_ms, labels, params, source) VALUES "
                        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, "
                        "$16, $17)");
    rn_store_op_int(op, t->v.task_id);
    rn_store_op_text(op, t->v.exec_id);
    rn_store_op_text(op, t->v.instance);
    rn_store_op_text(op, t->v.um_user);
    rn_store_op_text(op, t->v.execute_user);
    rn_store_op_text(op, t->v.engine);
    rn_store_op_text(op, t->v.run_type);
    rn_store_op_text(op, t->v.creator);
    rn_store_op_text(op, t->v.language);
    rn_store_op_textn(op, t->code, t->v.code_len);
    rn_store_op_text(op, lk_state_names[LK_INITED]);
    rn_store_op_int(op, t->v.nstages);
    rn_store_op_int(op, 0);
    rn_store_op_int(op, t->v.created_ms);
    rn_store_op_text(op, t->labels);
    rn_store_op_text(op, t->params);
    rn_store_op_text(op, t->source);
    int r = rn_store_submit(LK.store, op, on_row_saved, t);
    if (r < 0) {
        lk_out_internal(&t->reply->out, "the task could not be saved", "runnel: store closed");
        lk_later_free(t->reply);
        t->reply = NULL;
        lk_tasks_refused(t, "the task could not be saved");
    }
}

void lk_tasks_save_state(lk_task *t)
{
    if (!LK.store || !t->row_saved)
        return;
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "UPDATE linkis_task SET status = $1, stage = $2, updated_ms = $3 WHERE "
                        "task_id = $4 AND finished = 0");
    rn_store_op_text(op, lk_state_names[t->v.state]);
    rn_store_op_int(op, t->v.stage);
    rn_store_op_int(op, t->v.updated_ms);
    rn_store_op_int(op, t->v.task_id);
    rn_store_submit(LK.store, op, NULL, NULL);
}

static void on_end_saved(int err, const rn_store_result *res, void *ud)
{
    lk_task *t = ud;
    (void)res;
    t->saving = false;
    if (err < 0) {
        /* Kept in memory: answerable until the server stops. */
        rn_log(RN_LOG_ERROR, "linkis.store_failed", "taskID=%lld what=end err=%s",
               (long long)t->v.task_id, strerror(-err));
        return;
    }
    lk_task_unlink(t);
    lk_task_free(t);
}

static void add_log_lines(rn_store_op *op, const lk_task *t)
{
    for (size_t i = 0; i < t->log.n; i++) {
        const lk_line *ln = &t->log.lines[i];
        rn_store_op_sql(op,
                        "INSERT INTO linkis_log (task_id, line, level, text) VALUES ($1, $2, $3, "
                        "$4)");
        rn_store_op_int(op, t->v.task_id);
        rn_store_op_int(op, (int64_t)i);
        rn_store_op_int(op, ln->level);
        rn_store_op_blob(op, t->log.text.data + ln->off, ln->len);
    }
}

static void add_result_sets(rn_store_op *op, const lk_task *t)
{
    for (size_t i = 0; i < t->nsets; i++) {
        const lk_rset *s = &t->sets[i];
        rn_store_op_sql(op, "INSERT INTO linkis_result (task_id, idx, type, metadata, records, "
                            "bytes, truncated, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        rn_store_op_int(op, t->v.task_id);
        rn_store_op_int(op, (int64_t)i);
        rn_store_op_text(op, s->type == LK_RSET_TABLE ? "2" : "1");
        rn_store_op_text(op, s->metadata);
        rn_store_op_int(op, (int64_t)s->records);
        rn_store_op_int(op, (int64_t)s->len);
        rn_store_op_int(op, s->truncated);
        rn_store_op_blob(op, s->content, s->len);
    }
}

void lk_tasks_save_end(lk_task *t)
{
    if (!LK.store || !t->row_saved)
        return;
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "UPDATE linkis_task SET status = $1, finished = 1, stage = $2, "
                        "err_code = $3, err_desc = $4, updated_ms = $5, cost_ms = $6, result = $7, "
                        "log_lines = $8, result_sets = $9 WHERE task_id = $10");
    rn_store_op_text(op, lk_state_names[t->v.state]);
    rn_store_op_int(op, t->v.stage);
    if (t->v.err_code)
        rn_store_op_int(op, t->v.err_code);
    else
        rn_store_op_null(op);
    rn_store_op_text(op, t->v.err_code ? t->v.err_desc : NULL);
    rn_store_op_int(op, t->v.updated_ms);
    rn_store_op_int(op, t->v.cost_ms);
    rn_store_op_text(op, t->result);
    rn_store_op_int(op, (int64_t)t->log.n);
    rn_store_op_int(op, (int64_t)t->nsets);
    rn_store_op_int(op, t->v.task_id);
    add_log_lines(op, t);
    add_result_sets(op, t);
    t->saving = true;
    if (rn_store_submit(LK.store, op, on_end_saved, t) < 0) {
        t->saving = false;
        rn_log(RN_LOG_ERROR, "linkis.store_failed", "taskID=%lld what=end err=submit",
               (long long)t->v.task_id);
    }
}

/* ---------------------------------------------------------------- reads */

void lk_view_from_row(const rn_store_result *res, size_t stmt, size_t row, lk_view *v)
{
    memset(v, 0, sizeof(*v));
#define TXT(col, field)                                                                            \
    snprintf(v->field, sizeof(v->field), "%s", rn_store_cell_text(res, stmt, row, col, NULL))
    v->task_id = rn_store_cell_int(res, stmt, row, 0);
    TXT(1, exec_id);
    TXT(2, instance);
    TXT(3, um_user);
    TXT(4, execute_user);
    TXT(5, engine);
    TXT(6, run_type);
    TXT(7, creator);
    TXT(8, language);
    v->code = rn_store_cell_text(res, stmt, row, 9, &v->code_len);
    int st = lk_state_parse(rn_store_cell_text(res, stmt, row, 10, NULL));
    v->state = st < 0 ? LK_FAILED : (lk_state)st;
    v->nstages = (int)rn_store_cell_int(res, stmt, row, 11);
    v->stage = (int)rn_store_cell_int(res, stmt, row, 12);
    v->err_code = rn_store_cell_int(res, stmt, row, 13);
    TXT(14, err_desc);
    v->created_ms = rn_store_cell_int(res, stmt, row, 15);
    v->updated_ms = rn_store_cell_int(res, stmt, row, 16);
    v->cost_ms = rn_store_cell_int(res, stmt, row, 17);
#undef TXT
    const rn_store_value *c;
    v->result = (c = rn_store_cell(res, stmt, row, 18)) && c->type == RN_STORE_TEXT ? c->p : NULL;
    v->labels = (c = rn_store_cell(res, stmt, row, 19)) && c->type == RN_STORE_TEXT ? c->p : NULL;
    v->params = (c = rn_store_cell(res, stmt, row, 20)) && c->type == RN_STORE_TEXT ? c->p : NULL;
    v->source = (c = rn_store_cell(res, stmt, row, 21)) && c->type == RN_STORE_TEXT ? c->p : NULL;
    v->log_lines = (uint64_t)rn_store_cell_int(res, stmt, row, 22);
    v->result_sets = (uint64_t)rn_store_cell_int(res, stmt, row, 23);
}

typedef struct {
    lk_want want;
    lk_lookup_cb cb;
    void *ud;
} lookup_req;

static void on_lookup(int err, const rn_store_result *res, void *ud)
{
    lookup_req *q = ud;
    if (err < 0 || rn_store_rows(res, 0) == 0) {
        q->cb(NULL, err < 0 ? err : 0, q->ud);
        free(q);
        return;
    }
    lk_view v;
    lk_view_from_row(res, 0, 0, &v);
    lk_log log;
    lk_log_init(&log, (size_t)-1 / 2);
    for (size_t i = 0; i < rn_store_rows(res, 1); i++) {
        size_t n;
        const char *text = rn_store_cell_text(res, 1, i, 1, &n);
        lk_log_add(&log, (int)rn_store_cell_int(res, 1, i, 0), text, n);
    }
    size_t nsets = rn_store_rows(res, 2);
    lk_rset *sets = nsets ? calloc(nsets, sizeof(*sets)) : NULL;
    if (nsets && !sets)
        nsets = 0;
    for (size_t i = 0; i < nsets; i++) {
        /* Borrowed from res for the callback's time. */
        sets[i].type =
            strcmp(rn_store_cell_text(res, 2, i, 1, NULL), "2") ? LK_RSET_TEXT : LK_RSET_TABLE;
        sets[i].metadata = (char *)rn_store_cell_text(res, 2, i, 2, NULL);
        sets[i].records = (uint64_t)rn_store_cell_int(res, 2, i, 3);
        sets[i].truncated = rn_store_cell_int(res, 2, i, 4) != 0;
        sets[i].content = (char *)rn_store_cell_text(res, 2, i, 5, &sets[i].len);
    }
    lk_loaded l = {
        .v = &v, .log = &log, .log_from = q->want.log_from, .sets = sets, .nsets = nsets};
    q->cb(&l, 0, q->ud);
    free(sets);
    lk_log_free(&log);
    free(q);
}

static int64_t id_as_task(const char *id)
{
    if (!id[0] || strlen(id) > 18)
        return -1;
    for (const char *p = id; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return strtoll(id, NULL, 10);
}

/* The task named by $1 (its exec id) or $2 (its id), inside a statement. */
#define TASK_OF "(SELECT task_id FROM linkis_task WHERE exec_id = $1 OR task_id = $2)"

/* Append sql with its $1 and $2 bound to the task when on (the caller
 * binds the rest), else a statement of no rows that keeps the results'
 * places; returns on. */
static bool add_part(rn_store_op *op, bool on, const char *sql, const char *id, int64_t task_id)
{
    rn_store_op_sql(op, on ? sql : "SELECT 1 WHERE 1 = 0");
    if (on) {
        rn_store_op_text(op, id);
        rn_store_op_int(op, task_id);
    }
    return on;
}

void lk_tasks_lookup(const char *id, const lk_want *want, lk_lookup_cb cb, void *ud)
{
    int64_t task_id = id_as_task(id);
    lk_task *t = lk_tasks_find_live(id, task_id);
    if (t || !LK.store) {
        lk_loaded l = {.v = t ? &t->v : NULL,
                       .log = t ? &t->log : NULL,
                       .sets = t ? t->sets : NULL,
                       .nsets = t ? t->nsets : 0};
        cb(t ? &l : NULL, 0, ud);
        return;
    }
    lookup_req *q = calloc(1, sizeof(*q));
    rn_store_op *op = q ? rn_store_op_new() : NULL;
    if (!op) {
        free(q);
        cb(NULL, -ENOMEM, ud);
        return;
    }
    q->want = *want;
    q->cb = cb;
    q->ud = ud;
    rn_store_op_sql(op, "SELECT " LK_VIEW_COLS " FROM linkis_task WHERE exec_id = $1 OR "
                        "task_id = $2");
    rn_store_op_text(op, id);
    rn_store_op_int(op, task_id);
    if (add_part(op, want->log,
                 "SELECT level, text FROM linkis_log WHERE task_id = " TASK_OF
                 " AND line >= $3 ORDER BY line LIMIT $4",
                 id, task_id)) {
        rn_store_op_int(op, (int64_t)want->log_from);
        rn_store_op_int(op, want->log_count < 0 ? INT64_MAX : want->log_count);
    }
    if (add_part(op, want->sets,
                 "SELECT idx, type, metadata, records, truncated, content FROM linkis_result "
                 "WHERE task_id = " TASK_OF " AND ($3 < 0 OR idx = $3) ORDER BY idx",
                 id, task_id))
        rn_store_op_int(op, want->set_index);
    if (rn_store_submit(LK.store, op, on_lookup, q) < 0) {
        free(q);
        cb(NULL, -ESHUTDOWN, ud);
    }
}
