/* Judge0 submissions in the state store (one row each, its fields as JSON)
 * and in memory (a list, oldest first, bounded by max_submissions). At
 * start every kept row is read back; a submission the previous run left in
 * the queue or running is queued again once, and a second interruption
 * ends it as an Internal Error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "judge0_int.h"
#include "log.h"

static const char save_sql[] =
    "INSERT INTO judge0_submission (token, um_user, status_id, finished, requeued, created_ms, "
    "updated_ms, data, node_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (token) "
    "DO UPDATE SET status_id = excluded.status_id, finished = excluded.finished, requeued = "
    "excluded.requeued, updated_ms = excluded.updated_ms, data = excluded.data, node_id = "
    "excluded.node_id";

static const char retention_sql[] =
    "DELETE FROM judge0_submission WHERE finished = 1 AND (updated_ms < $1 OR created_ms <= "
    "(SELECT created_ms FROM judge0_submission WHERE finished = 1 ORDER BY created_ms DESC "
    "LIMIT 1 OFFSET $2))";

void j0_list_add(j0_state *st, j0_sub *s)
{
    s->prev = st->tail;
    s->next = NULL;
    if (st->tail)
        st->tail->next = s;
    else
        st->head = s;
    st->tail = s;
    st->count++;
    for (j0_sub *o = st->head; o && st->count > st->conf.max_submissions;) {
        j0_sub *next = o->next;
        if (o->status_id > J0_PROCESSING && !o->job && !o->waiters) {
            j0_list_remove(st, o);
            j0_sub_free(o);
        }
        o = next;
    }
}

void j0_list_remove(j0_state *st, j0_sub *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        st->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        st->tail = s->prev;
    s->prev = s->next = NULL;
    st->count--;
}

j0_sub *j0_list_find(const j0_state *st, const char *token)
{
    for (j0_sub *s = st->tail; s; s = s->prev)
        if (!strcmp(s->token, token))
            return s;
    return NULL;
}

/* ------------------------------------------------------------ the row */

static void put_bytes(rn_jbuf *b, const char *key, const j0_bytes *v)
{
    rn_jbuf_key(b, key);
    if (!v->p) {
        rn_jbuf_str(b, "null");
        return;
    }
    rn_jbuf_str(b, "\"");
    j0_b64_encode(b, v->p, v->len);
    rn_jbuf_str(b, "\"");
}

/* Every field of s as one JSON object (texts in base64). */
static void row_json(rn_jbuf *b, const j0_sub *s)
{
    rn_jbuf_printf(b, "{\"language_id\":%d", s->language_id);
    const struct {
        const char *k;
        const j0_bytes *v;
    } t[] = {{"source_code", &s->source_code},
             {"stdin", &s->stdin_data},
             {"expected_output", &s->expected_output},
             {"compiler_options", &s->compiler_options},
             {"command_line_arguments", &s->command_line_arguments},
             {"callback_url", &s->callback_url},
             {"additional_files", &s->additional_files},
             {"stdout", &s->out},
             {"stderr", &s->err},
             {"compile_output", &s->compile_output},
             {"message", &s->message}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        put_bytes(b, t[i].k, t[i].v);
    rn_jbuf_printf(b,
                   ",\"cpu_time_limit\":%.17g,\"cpu_extra_time\":%.17g,\"wall_time_limit\":%.17g"
                   ",\"memory_limit\":%llu,\"stack_limit\":%llu,\"max_processes\":%llu"
                   ",\"max_file_size\":%llu,\"number_of_runs\":%d,\"flags\":%d"
                   ",\"exit_code\":%d,\"exit_signal\":%d,\"has_time\":%d,\"time\":%.17g"
                   ",\"wall_time\":%.17g,\"memory\":%llu,\"created_ms\":%lld"
                   ",\"finished_ms\":%lld}",
                   s->cpu_time_limit, s->cpu_extra_time, s->wall_time_limit,
                   (unsigned long long)s->memory_limit, (unsigned long long)s->stack_limit,
                   (unsigned long long)s->max_processes_and_or_threads,
                   (unsigned long long)s->max_file_size, s->number_of_runs,
                   (s->per_process_time ? 1 : 0) | (s->per_process_memory ? 2 : 0) |
                       (s->redirect_stderr_to_stdout ? 4 : 0) | (s->enable_network ? 8 : 0),
                   s->exit_code, s->exit_signal, s->has_time ? 1 : 0, s->time, s->wall_time,
                   (unsigned long long)s->memory, (long long)s->created_ms,
                   (long long)s->finished_ms);
}

void j0_store_save(j0_state *st, const j0_sub *s)
{
    if (!st->store)
        return;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    row_json(&b, s);
    rn_store_op *op = rn_store_op_new();
    if (!op || b.oom) {
        rn_log(RN_LOG_ERROR, "judge0.store", "token=%s err=out_of_memory", s->token);
        rn_store_op_free(op);
        rn_jbuf_free(&b);
        return;
    }
    rn_store_op_sql(op, save_sql);
    rn_store_op_text(op, s->token);
    rn_store_op_text(op, s->user);
    rn_store_op_int(op, s->status_id);
    rn_store_op_int(op, s->status_id > J0_PROCESSING);
    rn_store_op_int(op, s->requeued);
    rn_store_op_int(op, s->created_ms);
    rn_store_op_int(op, rn_store_now_ms());
    rn_store_op_textn(op, b.data, b.len);
    rn_store_op_text(op, rn_cluster_node_id());
    rn_jbuf_free(&b);
    if (rn_store_submit(st->store, op, NULL, NULL) < 0)
        rn_log(RN_LOG_ERROR, "judge0.store", "token=%s err=store_closed", s->token);
}

void j0_store_delete(j0_state *st, const j0_sub *s)
{
    if (!st->store)
        return;
    rn_store_op *op = rn_store_op_new();
    if (!op)
        return;
    rn_store_op_sql(op, "DELETE FROM judge0_submission WHERE token = $1");
    rn_store_op_text(op, s->token);
    rn_store_submit(st->store, op, NULL, NULL);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int get_b(const cJSON *o, const char *k, j0_bytes *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        return 0;
    return j0_b64_decode(v->valuestring, strlen(v->valuestring), out);
}

j0_sub *j0_store_row_sub(j0_state *st, const char *token, const char *user, int status,
                         const char *data, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(data, len);
    j0_sub *s = o ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        cJSON_Delete(o);
        return NULL;
    }
    s->st = st;
    snprintf(s->token, sizeof(s->token), "%s", token);
    snprintf(s->user, sizeof(s->user), "%s", user);
    s->status_id = status;
    s->language_id = (int)num(o, "language_id");
    int r = get_b(o, "source_code", &s->source_code) | get_b(o, "stdin", &s->stdin_data) |
            get_b(o, "expected_output", &s->expected_output) |
            get_b(o, "compiler_options", &s->compiler_options) |
            get_b(o, "command_line_arguments", &s->command_line_arguments) |
            get_b(o, "callback_url", &s->callback_url) |
            get_b(o, "additional_files", &s->additional_files) | get_b(o, "stdout", &s->out) |
            get_b(o, "stderr", &s->err) | get_b(o, "compile_output", &s->compile_output) |
            get_b(o, "message", &s->message);
    s->cpu_time_limit = num(o, "cpu_time_limit");
    s->cpu_extra_time = num(o, "cpu_extra_time");
    s->wall_time_limit = num(o, "wall_time_limit");
    s->memory_limit = (uint64_t)num(o, "memory_limit");
    s->stack_limit = (uint64_t)num(o, "stack_limit");
    s->max_processes_and_or_threads = (uint64_t)num(o, "max_processes");
    s->max_file_size = (uint64_t)num(o, "max_file_size");
    s->number_of_runs = (int)num(o, "number_of_runs");
    int flags = (int)num(o, "flags");
    s->per_process_time = flags & 1;
    s->per_process_memory = flags & 2;
    s->redirect_stderr_to_stdout = flags & 4;
    s->enable_network = flags & 8;
    s->exit_code = (int)num(o, "exit_code");
    s->exit_signal = (int)num(o, "exit_signal");
    s->has_time = num(o, "has_time") != 0;
    s->time = num(o, "time");
    s->wall_time = num(o, "wall_time");
    s->memory = (uint64_t)num(o, "memory");
    s->created_ms = (int64_t)num(o, "created_ms");
    s->finished_ms = (int64_t)num(o, "finished_ms");
    cJSON_Delete(o);
    if (r < 0) {
        j0_sub_free(s);
        return NULL;
    }
    return s;
}

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

void j0_store_requeue(j0_state *st)
{
    for (j0_sub *s = st->head; s; s = s->next) {
        if (s->status_id > J0_PROCESSING || s->job)
            continue;
        rn_host_refusal why;
        s->requeued = true;
        if (j0_run_start(st, s, NULL, "judge0-restart", &why) < 0) {
            s->status_id = J0_INTERNAL;
            j0_bytes_set(&s->message, why.message, strlen(why.message));
            s->finished_ms = rn_store_now_ms();
        }
        rn_log(RN_LOG_INFO, "judge0.requeued", "token=%s ok=%s", s->token,
               s->status_id == J0_INTERNAL ? "no" : "yes");
        j0_store_save(st, s);
    }
}

/* Queue again what a stop interrupted (on the loop, once it runs). */
static void requeue_cb(uv_timer_t *t)
{
    j0_store_requeue(t->data);
    uv_close((uv_handle_t *)t, timer_closed);
}

static const char interrupted_twice[] =
    "the server holding this submission stopped twice while it was queued or running";

size_t j0_store_load_rows(j0_state *st, const rn_store_result *res)
{
    size_t again = 0;
    for (size_t i = 0; i < rn_store_rows(res, 0); i++) {
        size_t len;
        if (j0_list_find(st, rn_store_cell_text(res, 0, i, 0, NULL)))
            continue; /* held here already */
        const char *data = rn_store_cell_text(res, 0, i, 4, &len);
        j0_sub *s = j0_store_row_sub(st, rn_store_cell_text(res, 0, i, 0, NULL),
                                     rn_store_cell_text(res, 0, i, 1, NULL),
                                     (int)rn_store_cell_int(res, 0, i, 2), data, len);
        if (!s)
            continue;
        s->requeued = rn_store_cell_int(res, 0, i, 3) != 0;
        if (s->status_id <= J0_PROCESSING && s->requeued) {
            s->status_id = J0_INTERNAL;
            s->finished_ms = rn_store_now_ms();
            j0_bytes_set(&s->message, interrupted_twice, strlen(interrupted_twice));
            j0_store_save(st, s);
        } else if (s->status_id <= J0_PROCESSING)
            again++;
        j0_list_add(st, s);
    }
    return again;
}

int j0_store_init(j0_state *st, char *err, size_t size)
{
    if (!st->store)
        return 0;
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "SELECT token, um_user, status_id, requeued, data FROM "
                        "judge0_submission WHERE node_id = $1 ORDER BY created_ms");
    rn_store_op_text(op, rn_cluster_node_id());
    rn_store_result *res = NULL;
    int r = rn_store_run_sync(st->store, op, &res);
    if (r < 0) {
        snprintf(err, size, "cannot read Judge0 submissions from the store: %s", strerror(-r));
        return r;
    }
    size_t again = j0_store_load_rows(st, res);
    rn_store_result_free(res);
    rn_log(RN_LOG_INFO, "judge0.store", "submissions=%zu requeue=%zu", st->count, again);
    if ((r = rn_store_add_retention(st->store, retention_sql)) < 0) {
        snprintf(err, size, "cannot add the Judge0 retention: %s", strerror(-r));
        return r;
    }
    if (again) {
        uv_timer_t *t = malloc(sizeof(*t));
        if (!t)
            return -ENOMEM;
        uv_timer_init(rn_host_loop(st->host), t);
        t->data = st;
        uv_timer_start(t, requeue_cb, 0, 0);
    }
    return 0;
}

typedef struct {
    void (*done)(void *ud);
    void *ud;
} j0_barrier;

static void barrier_done(int err, const rn_store_result *res, void *ud)
{
    (void)err; /* a failed write was logged when it failed */
    (void)res;
    j0_barrier *b = ud;
    b->done(b->ud);
    free(b);
}

int j0_store_barrier(j0_state *st, void (*done)(void *ud), void *ud)
{
    if (!st->store) {
        done(ud);
        return 0;
    }
    j0_barrier *b = malloc(sizeof(*b));
    rn_store_op *op = b ? rn_store_op_new() : NULL;
    if (!op) {
        free(b);
        return -ENOMEM;
    }
    b->done = done;
    b->ud = ud;
    /* The writer runs operations in order: this one's answer comes after
     * every save queued before it is committed. */
    rn_store_op_sql(op, "SELECT 1");
    int r = rn_store_submit(st->store, op, barrier_done, b);
    if (r < 0)
        free(b);
    return r;
}
