/* The store's queue: operations built on the loop, run by one writer
 * thread that owns the database connection, completions handed back to the
 * loop through a uv_async (see store.h). */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_int.h"

#define ST_RETENTION_MAX 16

struct rn_store {
    uv_loop_t *loop;
    uv_async_t async;
    uv_timer_t timer;
    int open_handles;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* work queued, or stopping */
    pthread_cond_t sync_cond; /* a synchronous operation finished */
    rn_store_op *todo_head, *todo_tail;
    rn_store_op *done_head, *done_tail;
    bool stopping;
    const st_backend *be;
    void *db;
    char path[1024];
    char corrupt[1100];
    int version;
    char *retention[ST_RETENTION_MAX];
    size_t nretention;
    uint64_t retention_count, retention_ms, prune_ms;
};

int64_t rn_store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- operations */

rn_store_op *rn_store_op_new(void)
{
    return calloc(1, sizeof(rn_store_op));
}

static void values_free(rn_store_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)v[i].p);
    free(v);
}

void rn_store_result_free(rn_store_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++)
        values_free(res->stmts[i].cells, res->stmts[i].nrows * res->stmts[i].ncols);
    free(res->stmts);
    free(res);
}

void rn_store_op_free(rn_store_op *op)
{
    if (!op)
        return;
    for (size_t i = 0; i < op->n; i++) {
        free(op->stmts[i].sql);
        values_free(op->stmts[i].params, op->stmts[i].nparams);
    }
    free(op->stmts);
    rn_store_result_free(op->res);
    free(op);
}

void rn_store_op_sql(rn_store_op *op, const char *sql)
{
    if (!op || op->failed)
        return;
    if (op->n == op->cap) {
        size_t cap = op->cap ? op->cap * 2 : 4;
        st_stmt *ns = realloc(op->stmts, cap * sizeof(*ns));
        if (!ns) {
            op->failed = true;
            return;
        }
        op->stmts = ns;
        op->cap = cap;
    }
    st_stmt *st = &op->stmts[op->n];
    memset(st, 0, sizeof(*st));
    if (!(st->sql = strdup(sql))) {
        op->failed = true;
        return;
    }
    op->n++;
}

static void op_bind(rn_store_op *op, rn_store_value v, const void *bytes)
{
    if (!op || op->failed)
        return;
    if (!op->n) {
        op->failed = true;
        return;
    }
    st_stmt *st = &op->stmts[op->n - 1];
    if (st->nparams == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        rn_store_value *np = realloc(st->params, cap * sizeof(*np));
        if (!np) {
            op->failed = true;
            return;
        }
        st->params = np;
        st->cap = cap;
    }
    if (v.type == RN_STORE_TEXT || v.type == RN_STORE_BLOB) {
        char *copy = malloc(v.len + 1);
        if (!copy) {
            op->failed = true;
            return;
        }
        if (v.len)
            memcpy(copy, bytes, v.len);
        copy[v.len] = 0;
        v.p = copy;
    }
    st->params[st->nparams++] = v;
}

void rn_store_op_int(rn_store_op *op, int64_t v)
{
    op_bind(op, (rn_store_value){.type = RN_STORE_INT, .i = v}, NULL);
}

void rn_store_op_real(rn_store_op *op, double v)
{
    op_bind(op, (rn_store_value){.type = RN_STORE_REAL, .d = v}, NULL);
}

void rn_store_op_textn(rn_store_op *op, const char *s, size_t len)
{
    op_bind(op, (rn_store_value){.type = RN_STORE_TEXT, .len = len}, s);
}

void rn_store_op_text(rn_store_op *op, const char *s)
{
    if (!s)
        rn_store_op_null(op);
    else
        rn_store_op_textn(op, s, strlen(s));
}

void rn_store_op_blob(rn_store_op *op, const void *p, size_t len)
{
    op_bind(op, (rn_store_value){.type = RN_STORE_BLOB, .len = len}, p);
}

void rn_store_op_null(rn_store_op *op)
{
    op_bind(op, (rn_store_value){.type = RN_STORE_NULL}, NULL);
}

/* ---------------------------------------------------------------- results */

size_t rn_store_rows(const rn_store_result *res, size_t stmt)
{
    return res && stmt < res->n ? res->stmts[stmt].nrows : 0;
}

size_t rn_store_cols(const rn_store_result *res, size_t stmt)
{
    return res && stmt < res->n ? res->stmts[stmt].ncols : 0;
}

const rn_store_value *rn_store_cell(const rn_store_result *res, size_t stmt, size_t row, size_t col)
{
    if (!res || stmt >= res->n)
        return NULL;
    const st_rows *r = &res->stmts[stmt];
    if (row >= r->nrows || col >= r->ncols)
        return NULL;
    return &r->cells[row * r->ncols + col];
}

int64_t rn_store_cell_int(const rn_store_result *res, size_t stmt, size_t row, size_t col)
{
    const rn_store_value *v = rn_store_cell(res, stmt, row, col);
    if (!v)
        return 0;
    if (v->type == RN_STORE_INT)
        return v->i;
    if (v->type == RN_STORE_REAL)
        return (int64_t)v->d;
    return 0;
}

const char *rn_store_cell_text(const rn_store_result *res, size_t stmt, size_t row, size_t col,
                               size_t *len)
{
    const rn_store_value *v = rn_store_cell(res, stmt, row, col);
    if (!v || (v->type != RN_STORE_TEXT && v->type != RN_STORE_BLOB) || !v->p) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = v->len;
    return v->p;
}

/* ---------------------------------------------------------------- the thread */

static void run_prune(rn_store *s)
{
    int64_t cutoff = s->retention_ms ? rn_store_now_ms() - (int64_t)s->retention_ms : 0;
    int64_t keep = s->retention_count ? (int64_t)s->retention_count : INT64_MAX;
    int r = s->be->prune(s->db, s->retention, s->nretention, cutoff, keep);
    if (r < 0)
        rn_log(RN_LOG_WARN, "store.prune_failed", "err=%d", r);
}

static void *thread_main(void *arg)
{
    rn_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->todo_head && !s->stopping)
            pthread_cond_wait(&s->cond, &s->mu);
        rn_store_op *op = s->todo_head;
        if (!op)
            break; /* stopping, and everything queued is done */
        s->todo_head = op->next;
        if (!s->todo_head)
            s->todo_tail = NULL;
        op->next = NULL;
        pthread_mutex_unlock(&s->mu);
        if (op->prune) {
            run_prune(s);
            op->err = 0;
        } else {
            op->err = s->be->exec(s->db, op, &op->res);
        }
        pthread_mutex_lock(&s->mu);
        if (op->sync) {
            op->done_flag = true;
            pthread_cond_broadcast(&s->sync_cond);
            continue;
        }
        if (s->done_tail)
            s->done_tail->next = op;
        else
            s->done_head = op;
        s->done_tail = op;
        if (!s->stopping)
            uv_async_send(&s->async);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Run the callbacks of every finished operation (on the loop thread). */
static void drain_done(rn_store *s)
{
    pthread_mutex_lock(&s->mu);
    rn_store_op *op = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (op) {
        rn_store_op *next = op->next;
        if (op->done)
            op->done(op->err, op->err == 0 ? op->res : NULL, op->ud);
        rn_store_op_free(op);
        op = next;
    }
}

static void on_async(uv_async_t *a)
{
    drain_done(a->data);
}

static int enqueue(rn_store *s, rn_store_op *op)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -ESHUTDOWN;
    }
    op->next = NULL;
    if (s->todo_tail)
        s->todo_tail->next = op;
    else
        s->todo_head = op;
    s->todo_tail = op;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int rn_store_submit(rn_store *s, rn_store_op *op, rn_store_done done, void *ud)
{
    if (!op)
        return -ENOMEM;
    if (op->failed) {
        rn_store_op_free(op);
        return -ENOMEM;
    }
    op->done = done;
    op->ud = ud;
    int r = enqueue(s, op);
    if (r < 0)
        rn_store_op_free(op);
    return r;
}

typedef struct {
    rn_store_then done;
    void *ud;
    const char *fail_event;
} then_ctx;

static void on_then(int err, const rn_store_result *res, void *ud)
{
    then_ctx *c = ud;
    (void)res;
    if (err < 0)
        rn_log(RN_LOG_ERROR, c->fail_event, "err=%d", err);
    c->done(c->ud, err);
    free(c);
}

int rn_store_submit_then(rn_store *s, rn_store_op *op, const char *fail_event, rn_store_then done,
                         void *ud)
{
    then_ctx *c = calloc(1, sizeof(*c));
    if (!c || !op) {
        free(c);
        rn_store_op_free(op);
        return -ENOMEM;
    }
    c->done = done;
    c->ud = ud;
    c->fail_event = fail_event;
    int r = rn_store_submit(s, op, on_then, c);
    if (r < 0)
        free(c);
    return r;
}

static int wait_sync(rn_store *s, rn_store_op *op)
{
    op->sync = true;
    int r = enqueue(s, op);
    if (r < 0)
        return r;
    pthread_mutex_lock(&s->mu);
    while (!op->done_flag)
        pthread_cond_wait(&s->sync_cond, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return op->err;
}

int rn_store_run_sync(rn_store *s, rn_store_op *op, rn_store_result **out)
{
    if (out)
        *out = NULL;
    if (!op)
        return -ENOMEM;
    if (op->failed) {
        rn_store_op_free(op);
        return -ENOMEM;
    }
    int r = wait_sync(s, op);
    if (r == 0 && out) {
        *out = op->res;
        op->res = NULL;
    }
    rn_store_op_free(op);
    return r;
}

int rn_store_prune_now(rn_store *s)
{
    rn_store_op *op = rn_store_op_new();
    if (!op)
        return -ENOMEM;
    op->prune = true;
    int r = wait_sync(s, op);
    rn_store_op_free(op);
    return r;
}

static void on_prune_timer(uv_timer_t *t)
{
    rn_store *s = t->data;
    rn_store_op *op = rn_store_op_new();
    if (!op)
        return;
    op->prune = true;
    if (enqueue(s, op) < 0)
        rn_store_op_free(op);
}

int rn_store_add_retention(rn_store *s, const char *sql)
{
    if (s->nretention == ST_RETENTION_MAX)
        return -ENOSPC;
    char *copy = strdup(sql);
    if (!copy)
        return -ENOMEM;
    pthread_mutex_lock(&s->mu);
    s->retention[s->nretention++] = copy;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* ---------------------------------------------------------------- open, close */

int rn_store_open(uv_loop_t *loop, const rn_store_options *opts, rn_store **out)
{
    *out = NULL;
    if (!opts || !opts->path || strlen(opts->path) >= sizeof(((rn_store *)0)->path))
        return -EINVAL;
    rn_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    snprintf(s->path, sizeof(s->path), "%s", opts->path);
    s->loop = loop;
    s->retention_count = opts->retention_count;
    s->retention_ms = opts->retention_ms;
    s->prune_ms = opts->prune_interval_ms ? opts->prune_interval_ms : 60000;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->sync_cond, NULL);
    const char *target = s->path;
    s->be = &st_sqlite_backend;
    if (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11))
        s->be = &st_pg_backend;
    else if (!strncmp(target, "sqlite:", 7))
        target += 7;
    int r = -EINVAL;
    if (!*target)
        goto fail;
    r = s->be->open(target, s->corrupt, sizeof(s->corrupt), &s->version, &s->db);
    if (r < 0)
        goto fail;
    if ((r = uv_async_init(loop, &s->async, on_async)) < 0)
        goto fail;
    s->async.data = s;
    s->open_handles++;
    uv_unref((uv_handle_t *)&s->async); /* never keeps the loop alive alone */
    if ((r = uv_timer_init(loop, &s->timer)) < 0)
        goto fail;
    s->timer.data = s;
    s->open_handles++;
    uv_timer_start(&s->timer, on_prune_timer, s->prune_ms < 1000 ? s->prune_ms : 1000, s->prune_ms);
    uv_unref((uv_handle_t *)&s->timer);
    if ((r = -pthread_create(&s->thread, NULL, thread_main, s)) < 0)
        goto fail;
    s->thread_started = true;
    char shown[sizeof(s->path)];
    rn_store_redact(s->path, shown, sizeof(shown));
    rn_log(RN_LOG_INFO, "store.open", "backend=%s path=%s schema=%d", s->be->name, shown,
           s->version);
    *out = s;
    return 0;
fail:
    rn_store_close(s);
    return r;
}

static void on_handle_closed(uv_handle_t *h)
{
    rn_store *s = h->data;
    s->open_handles--;
}

void rn_store_close(rn_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    drain_done(s); /* what finished after the loop stopped */
    if (s->open_handles) {
        if (s->open_handles == 2)
            uv_close((uv_handle_t *)&s->timer, on_handle_closed);
        uv_close((uv_handle_t *)&s->async, on_handle_closed);
        while (s->open_handles > 0)
            uv_run(s->loop, UV_RUN_NOWAIT);
    }
    if (s->be)
        s->be->close(s->db);
    for (size_t i = 0; i < s->nretention; i++)
        free(s->retention[i]);
    pthread_cond_destroy(&s->sync_cond);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *rn_store_path(const rn_store *s)
{
    return s->path;
}

const char *rn_store_corrupt_path(const rn_store *s)
{
    return s->corrupt;
}

bool rn_store_shared(const rn_store *s)
{
    return s && s->be == &st_pg_backend;
}

void rn_store_redact(const char *target, char *buf, size_t size)
{
    snprintf(buf, size, "%s", target);
    char *scheme = strstr(buf, "://");
    if (!scheme)
        return;
    char *user = scheme + 3;
    char *at = strchr(user, '@');
    char *colon = strchr(user, ':');
    char *slash = strchr(user, '/');
    if (at && colon && colon < at && (!slash || at < slash))
        memmove(colon, at, strlen(at) + 1); /* user:secret@host -> user@host */
    char *pw = strstr(buf, "password=");
    if (pw) {
        char *end = strchr(pw, '&');
        memmove(pw + 9, end ? end : pw + strlen(pw), strlen(end ? end : pw + strlen(pw)) + 1);
    }
}

int rn_store_schema_version(const rn_store *s)
{
    return s->version;
}

int64_t rn_store_memory_bytes(const rn_store *s)
{
    return s->be->memory ? s->be->memory() : -1;
}
