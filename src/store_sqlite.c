/* The store's SQLite backend: opening (WAL, synchronous=FULL, a corrupt
 * file moved aside), the migrations, and running one operation as one
 * transaction. Used by the store's thread only (and by rn_store_open
 * before that thread starts). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store_int.h"
#include "store_schema.h"

#define DB_BUSY_MS 5000

typedef struct {
    sqlite3 *db;
} rn_store_db;

static int errno_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EUCLEAN;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return -EACCES;
    default:
        return -EIO;
    }
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        char q[300];
        rn_log(RN_LOG_DEBUG, "store.sql_error", "rc=%d msg=%s", rc,
               rn_log_quote(msg ? msg : sqlite3_errstr(rc), q, sizeof(q)));
        sqlite3_free(msg);
        return errno_of(rc);
    }
    return 0;
}

/* The first column of the first row of sql as text into buf. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    buf[0] = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(buf, size, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : errno_of(rc);
}

/* Open path and check it: -EUCLEAN when it is not a database or fails
 * SQLite's quick integrity check. */
static int open_checked(const char *path, sqlite3 **out)
{
    sqlite3 *db = NULL;
    char buf[64];
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    int r = rc == SQLITE_OK ? 0 : errno_of(rc);
    if (r < 0)
        goto fail;
    sqlite3_busy_timeout(db, DB_BUSY_MS);
    sqlite3_extended_result_codes(db, 1);
    /* auto_vacuum only takes on a new file: space freed by retention goes
     * back to the file system with incremental_vacuum. */
    if ((r = exec(db, "PRAGMA auto_vacuum=INCREMENTAL")) < 0)
        goto fail;
    if ((r = query_text(db, "PRAGMA journal_mode=WAL", buf, sizeof(buf))) < 0)
        goto fail;
    if (strcmp(buf, "wal")) {
        r = -EIO;
        goto fail;
    }
    if ((r = exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON")) < 0)
        goto fail;
    if ((r = query_text(db, "PRAGMA quick_check", buf, sizeof(buf))) < 0)
        goto fail;
    if (strcmp(buf, "ok")) {
        r = -EUCLEAN;
        goto fail;
    }
    *out = db;
    return 0;
fail:
    sqlite3_close_v2(db);
    return r;
}

/* Move path (and its -wal and -shm) to path.corrupt-<time>. */
static void move_aside(const char *path, char *corrupt, size_t size)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    snprintf(corrupt, size, "%s.corrupt-%lld", path, (long long)time(NULL));
    for (size_t i = 0; i < 3; i++) {
        char from[1200], to[1300];
        snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
        snprintf(to, sizeof(to), "%s%s", corrupt, sfx[i]);
        if (rename(from, to) < 0 && errno != ENOENT)
            rn_log(RN_LOG_ERROR, "store.move_aside_failed", "from=%s errno=%d", from, errno);
    }
}

static int record_version(void *p, const rn_store_migration *m)
{
    sqlite3 *db = p;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT INTO schema_version (version, description, applied_ms) "
                                "VALUES ($1, $2, $3)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->description, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL) * 1000);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : errno_of(rc);
}

static int mg_run(void *db, const char *sql, char *first, size_t size)
{
    return first ? query_text(db, sql, first, size) : exec(db, sql);
}

static int migrate(sqlite3 *db, int *version)
{
    static const st_migrator mg = {.postgresql = false, .run = mg_run, .record = record_version};
    return st_migrate(&mg, db, version);
}

static void db_close(void *db);

static int db_open(const char *path, char *corrupt, size_t size, int *version, void **out)
{
    *out = NULL;
    corrupt[0] = 0;
    rn_store_db *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    int r = open_checked(path, &d->db);
    if (r == -EUCLEAN) {
        move_aside(path, corrupt, size);
        rn_log(RN_LOG_ERROR, "store.corrupt",
               "path=%s moved_to=%s msg=\"not a database or failed its integrity check; "
               "starting with a fresh one\"",
               path, corrupt);
        r = open_checked(path, &d->db);
    }
    if (r == 0)
        r = migrate(d->db, version);
    if (r < 0) {
        rn_log(RN_LOG_ERROR, "store.open_failed", "path=%s err=%s", path, strerror(-r));
        db_close(d);
        return r;
    }
    *out = d;
    return 0;
}

static void db_close(void *p)
{
    rn_store_db *db = p;
    if (!db)
        return;
    sqlite3_close_v2(db->db);
    free(db);
}

static int bind_params(sqlite3_stmt *st, const st_stmt *s)
{
    for (size_t i = 0; i < s->nparams; i++) {
        char name[16];
        snprintf(name, sizeof(name), "$%zu", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (!idx)
            idx = (int)i + 1;
        const rn_store_value *v = &s->params[i];
        int rc;
        switch (v->type) {
        case RN_STORE_INT:
            rc = sqlite3_bind_int64(st, idx, v->i);
            break;
        case RN_STORE_REAL:
            rc = sqlite3_bind_double(st, idx, v->d);
            break;
        case RN_STORE_TEXT:
            rc = sqlite3_bind_text64(st, idx, v->p, v->len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case RN_STORE_BLOB:
            rc = sqlite3_bind_blob64(st, idx, v->p, v->len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, idx);
            break;
        }
        if (rc != SQLITE_OK && rc != SQLITE_RANGE)
            return errno_of(rc);
    }
    return 0;
}

static int copy_cell(sqlite3_stmt *st, int col, rn_store_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        v->type = RN_STORE_INT;
        v->i = sqlite3_column_int64(st, col);
        return 0;
    case SQLITE_FLOAT:
        v->type = RN_STORE_REAL;
        v->d = sqlite3_column_double(st, col);
        return 0;
    case SQLITE_NULL:
        return 0;
    default:
        break;
    }
    bool blob = sqlite3_column_type(st, col) == SQLITE_BLOB;
    const void *p = blob ? sqlite3_column_blob(st, col) : sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *copy = malloc(n + 1);
    if (!copy)
        return -ENOMEM;
    if (n)
        memcpy(copy, p, n);
    copy[n] = 0;
    v->type = blob ? RN_STORE_BLOB : RN_STORE_TEXT;
    v->p = copy;
    v->len = n;
    return 0;
}

/* Step one prepared statement to its end, keeping its rows. */
static int step_rows(sqlite3_stmt *st, st_rows *rows)
{
    size_t cap = 0;
    int ncols = sqlite3_column_count(st);
    rows->ncols = (size_t)(ncols > 0 ? ncols : 0);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            return 0;
        if (rc != SQLITE_ROW)
            return errno_of(rc);
        if (!rows->ncols)
            continue;
        if (rows->nrows == cap) {
            cap = cap ? cap * 2 : 16;
            rn_store_value *nc = realloc(rows->cells, cap * rows->ncols * sizeof(*nc));
            if (!nc)
                return -ENOMEM;
            rows->cells = nc;
        }
        rn_store_value *row = &rows->cells[rows->nrows * rows->ncols];
        for (size_t c = 0; c < rows->ncols; c++) {
            int r = copy_cell(st, (int)c, &row[c]);
            if (r < 0) {
                for (size_t k = 0; k < c; k++)
                    free((void *)row[k].p);
                return r;
            }
        }
        rows->nrows++;
    }
}

static int db_exec(void *p, const rn_store_op *op, rn_store_result **out)
{
    rn_store_db *db = p;
    *out = NULL;
    rn_store_result *res = calloc(1, sizeof(*res));
    if (!res || (op->n && !(res->stmts = calloc(op->n, sizeof(*res->stmts))))) {
        free(res);
        return -ENOMEM;
    }
    res->n = op->n;
    int r = exec(db->db, "BEGIN IMMEDIATE");
    if (r < 0)
        goto out;
    for (size_t i = 0; i < op->n && r == 0; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db->db, op->stmts[i].sql, -1, &st, NULL);
        if (rc != SQLITE_OK) {
            char q[200];
            rn_log(RN_LOG_ERROR, "store.prepare_failed", "msg=%s",
                   rn_log_quote(sqlite3_errmsg(db->db), q, sizeof(q)));
            r = errno_of(rc);
        } else if ((r = bind_params(st, &op->stmts[i])) == 0) {
            r = step_rows(st, &res->stmts[i]);
        }
        sqlite3_finalize(st);
    }
    if (r == 0)
        r = exec(db->db, "COMMIT");
    if (r < 0)
        exec(db->db, "ROLLBACK");
out:
    if (r < 0) {
        rn_store_result_free(res);
        return r;
    }
    *out = res;
    return 0;
}

static int db_prune(void *p, char *const *sqls, size_t n, int64_t cutoff_ms, int64_t keep)
{
    rn_store_db *db = p;
    int r = exec(db->db, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db->db, sqls[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            int i1 = sqlite3_bind_parameter_index(st, "$1");
            int i2 = sqlite3_bind_parameter_index(st, "$2");
            if (i1)
                sqlite3_bind_int64(st, i1, cutoff_ms);
            if (i2)
                sqlite3_bind_int64(st, i2, keep);
            while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                ;
            if (rc == SQLITE_DONE)
                rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        r = rc == SQLITE_OK ? 0 : errno_of(rc);
    }
    if (r == 0)
        r = exec(db->db, "COMMIT");
    if (r < 0) {
        exec(db->db, "ROLLBACK");
        return r;
    }
    return exec(db->db, "PRAGMA incremental_vacuum");
}

static int64_t db_memory(void)
{
    return (int64_t)sqlite3_memory_used();
}

const st_backend st_sqlite_backend = {
    .name = "sqlite",
    .open = db_open,
    .close = db_close,
    .exec = db_exec,
    .prune = db_prune,
    .memory = db_memory,
};
