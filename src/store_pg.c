/* The store's PostgreSQL backend (libpq): connecting, the migrations under
 * an advisory lock, and running one operation as one transaction. It runs
 * on the store's thread with libpq's blocking calls, like the SQLite
 * backend: the store's queue already keeps the loop off the connection and
 * orders every operation after the ones queued before it, and a blocking
 * connection makes reconnecting a loop on that thread while the operations
 * that arrive meanwhile wait in the queue.
 *
 * Values go as text (INT, REAL, TEXT) or binary (BLOB, as bytea) with
 * their types named (int8, float8, text, bytea); results come back as
 * text and are turned into cells by the column's type (store.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_int.h"
#include "store_schema.h"

/* Type OIDs (pg_type.h, stable across releases). */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_OID     26
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

#define PG_MIGRATE_LOCK 0x72756e6e656cLL /* "runnel": one migrator at a time */
#define PG_RECONNECT_MS 10000            /* then the operation fails with -EIO */
#define PG_RETRY_MS     250

typedef struct {
    PGconn *conn;
    char *conninfo;
} pg_db;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The server's notices (NOTICE: relation already exists...) are not ours
 * to print. */
static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *connect_to(const char *conninfo)
{
    /* Our defaults first: what the connection string names overrides them.
     * Keepalives notice a peer that vanished without closing. */
    const char *const keys[] = {
        "application_name",    "connect_timeout",  "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "dbname",     NULL};
    const char *const vals[] = {"runneld", "5", "1", "5", "2", "3", conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (conn)
        PQsetNoticeProcessor(conn, quiet, NULL);
    return conn;
}

static void log_pg(const char *event, PGconn *conn, const PGresult *res)
{
    char q[400];
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    rn_log(RN_LOG_ERROR, event, "msg=%s", rn_log_quote(msg ? msg : "", q, sizeof(q)));
}

/* The negative errno for a failed result: a constraint is -EEXIST. */
static int errno_of(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && !strncmp(state, "23", 2))
        return -EEXIST;
    if (state && !strcmp(state, "53100"))
        return -ENOSPC;
    if (state && !strncmp(state, "42501", 5))
        return -EACCES;
    return -EIO;
}

/* Run sql without parameters (several statements allowed). */
static int exec_simple(PGconn *conn, const char *sql, char *first, size_t size)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        log_pg("store.sql_error", conn, res);
        r = errno_of(res);
    } else if (first) {
        snprintf(first, size, "%s",
                 PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
    }
    PQclear(res);
    return r;
}

static int record_version(void *db, const rn_store_migration *m)
{
    PGconn *conn = db;
    char v[24], ms[24];
    snprintf(v, sizeof(v), "%d", m->version);
    snprintf(ms, sizeof(ms), "%" PRId64, (int64_t)time(NULL) * 1000);
    const char *vals[] = {v, m->description, ms};
    const Oid types[] = {OID_INT8, OID_TEXT, OID_INT8};
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO schema_version (version, description, applied_ms) "
                                 "VALUES ($1, $2, $3)",
                                 3, types, vals, NULL, NULL, 0);
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : errno_of(res);
    if (r < 0)
        log_pg("store.sql_error", conn, res);
    PQclear(res);
    return r;
}

static int mg_run(void *db, const char *sql, char *first, size_t size)
{
    return exec_simple(db, sql, first, size);
}

/* Apply the missing steps; the caller holds the advisory lock. */
static int migrate_locked(PGconn *conn, int *version)
{
    static const st_migrator mg = {.postgresql = true, .run = mg_run, .record = record_version};
    return st_migrate(&mg, conn, version);
}

/* Migrate once across every node starting at the same time. */
static int migrate(PGconn *conn, int *version)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", (long long)PG_MIGRATE_LOCK);
    int r = exec_simple(conn, sql, NULL, 0);
    if (r < 0)
        return r;
    r = migrate_locked(conn, version);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", (long long)PG_MIGRATE_LOCK);
    exec_simple(conn, sql, NULL, 0);
    return r;
}

static void db_close(void *p)
{
    pg_db *d = p;
    if (!d)
        return;
    PQfinish(d->conn);
    free(d->conninfo);
    free(d);
}

static int db_open(const char *target, char *corrupt, size_t size, int *version, void **out)
{
    (void)size;
    *out = NULL;
    corrupt[0] = 0;
    pg_db *d = calloc(1, sizeof(*d));
    if (!d || !(d->conninfo = strdup(target))) {
        free(d);
        return -ENOMEM;
    }
    int r = -ECONNREFUSED;
    d->conn = connect_to(target);
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
        if (d->conn)
            log_pg("store.connect_failed", d->conn, NULL);
        goto fail;
    }
    if ((r = migrate(d->conn, version)) < 0)
        goto fail;
    *out = d;
    return 0;
fail:
    db_close(d);
    return r;
}

/* A live connection, reconnecting for up to PG_RECONNECT_MS when it was
 * lost (the operations queued meanwhile wait their turn). */
static int ensure_connected(pg_db *d)
{
    if (PQstatus(d->conn) == CONNECTION_OK)
        return 0;
    rn_log(RN_LOG_WARN, "store.reconnecting", "backend=postgresql");
    for (long waited = 0; waited <= PG_RECONNECT_MS; waited += PG_RETRY_MS) {
        PQreset(d->conn);
        if (PQstatus(d->conn) == CONNECTION_OK) {
            rn_log(RN_LOG_INFO, "store.reconnected", "backend=postgresql");
            return 0;
        }
        sleep_ms(PG_RETRY_MS);
    }
    log_pg("store.connect_failed", d->conn, NULL);
    return -EIO;
}

/* The highest $N in sql (outside quotes): PostgreSQL wants exactly as many
 * values as the statement names, SQLite ignores the extra ones. */
static int params_named(const char *sql)
{
    int most = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            int n = (int)strtol(p + 1, NULL, 10);
            most = n > most ? n : most;
        }
    }
    return most;
}

/* Run one statement with its values; its rows go into rows. */
static int run_stmt(PGconn *conn, const char *sql, const rn_store_value *params, size_t nparams,
                    st_rows *rows);

static int db_exec(void *p, const rn_store_op *op, rn_store_result **out)
{
    pg_db *d = p;
    *out = NULL;
    rn_store_result *res = calloc(1, sizeof(*res));
    if (!res || (op->n && !(res->stmts = calloc(op->n, sizeof(*res->stmts))))) {
        free(res);
        return -ENOMEM;
    }
    res->n = op->n;
    int r;
    for (int attempt = 0;; attempt++) {
        if ((r = ensure_connected(d)) < 0)
            goto out;
        r = exec_simple(d->conn, "BEGIN", NULL, 0);
        for (size_t i = 0; i < op->n && r == 0; i++)
            r = run_stmt(d->conn, op->stmts[i].sql, op->stmts[i].params, op->stmts[i].nparams,
                         &res->stmts[i]);
        /* Lost before COMMIT was sent: nothing of it was kept, run it again
         * on a new connection. */
        if (r < 0 && PQstatus(d->conn) != CONNECTION_OK && attempt < 1) {
            for (size_t i = 0; i < res->n; i++) {
                rn_store_value *c = res->stmts[i].cells;
                for (size_t k = 0; k < res->stmts[i].nrows * res->stmts[i].ncols; k++)
                    free((void *)c[k].p);
                free(c);
                memset(&res->stmts[i], 0, sizeof(res->stmts[i]));
            }
            continue;
        }
        break;
    }
    if (r == 0)
        r = exec_simple(d->conn, "COMMIT", NULL, 0);
    if (r < 0 && PQstatus(d->conn) == CONNECTION_OK)
        exec_simple(d->conn, "ROLLBACK", NULL, 0);
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
    pg_db *d = p;
    int r = ensure_connected(d);
    if (r < 0 || (r = exec_simple(d->conn, "BEGIN", NULL, 0)) < 0)
        return r;
    const rn_store_value params[2] = {{.type = RN_STORE_INT, .i = cutoff_ms},
                                      {.type = RN_STORE_INT, .i = keep}};
    for (size_t i = 0; i < n && r == 0; i++) {
        st_rows rows = {0};
        r = run_stmt(d->conn, sqls[i], params, 2, &rows);
        for (size_t k = 0; k < rows.nrows * rows.ncols; k++)
            free((void *)rows.cells[k].p);
        free(rows.cells);
    }
    if (r == 0)
        r = exec_simple(d->conn, "COMMIT", NULL, 0);
    if (r < 0 && PQstatus(d->conn) == CONNECTION_OK)
        exec_simple(d->conn, "ROLLBACK", NULL, 0);
    return r;
}

/* ---------------------------------------------------------------- values */

/* A text-format cell of type oid as a store value. */
static int cell_of(const PGresult *res, int row, int col, rn_store_value *v)
{
    memset(v, 0, sizeof(*v));
    if (PQgetisnull(res, row, col))
        return 0;
    const char *t = PQgetvalue(res, row, col);
    size_t n = (size_t)PQgetlength(res, row, col);
    switch (PQftype(res, col)) {
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
    case OID_OID:
        v->type = RN_STORE_INT;
        v->i = strtoll(t, NULL, 10);
        return 0;
    case OID_BOOL:
        v->type = RN_STORE_INT;
        v->i = t[0] == 't';
        return 0;
    case OID_FLOAT4:
    case OID_FLOAT8:
        v->type = RN_STORE_REAL;
        v->d = strtod(t, NULL);
        return 0;
    case OID_NUMERIC:
        if (!strpbrk(t, ".eEN")) {
            v->type = RN_STORE_INT;
            v->i = strtoll(t, NULL, 10);
        } else {
            v->type = RN_STORE_REAL;
            v->d = strtod(t, NULL);
        }
        return 0;
    case OID_BYTEA: {
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)t, &len);
        if (!raw)
            return -ENOMEM;
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, raw, len);
            copy[len] = 0;
        }
        PQfreemem(raw);
        if (!copy)
            return -ENOMEM;
        v->type = RN_STORE_BLOB;
        v->p = copy;
        v->len = len;
        return 0;
    }
    default: {
        char *copy = malloc(n + 1);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, t, n);
        copy[n] = 0;
        v->type = RN_STORE_TEXT;
        v->p = copy;
        v->len = n;
        return 0;
    }
    }
}

static int rows_of(const PGresult *res, st_rows *rows)
{
    int nrows = PQntuples(res), ncols = PQnfields(res);
    rows->ncols = (size_t)(ncols > 0 ? ncols : 0);
    if (!rows->ncols || nrows <= 0)
        return 0;
    rows->cells = calloc((size_t)nrows * rows->ncols, sizeof(*rows->cells));
    if (!rows->cells)
        return -ENOMEM;
    for (int r = 0; r < nrows; r++) {
        rows->nrows++;
        for (int c = 0; c < ncols; c++) {
            int e = cell_of(res, r, c, &rows->cells[(size_t)r * rows->ncols + (size_t)c]);
            if (e < 0)
                return e; /* the cells made so far are freed with the result */
        }
    }
    return 0;
}

static int run_stmt(PGconn *conn, const char *sql, const rn_store_value *params, size_t nparams,
                    st_rows *rows)
{
    int n = params_named(sql);
    if ((size_t)n > nparams || n > 1000) {
        rn_log(RN_LOG_ERROR, "store.missing_values", "named=%d bound=%zu", n, nparams);
        return -EINVAL;
    }
    Oid types[n ? n : 1];
    const char *vals[n ? n : 1];
    int lens[n ? n : 1], fmts[n ? n : 1];
    char nums[n ? n : 1][32];
    for (int i = 0; i < n; i++) {
        const rn_store_value *v = &params[i];
        lens[i] = 0;
        fmts[i] = 0;
        vals[i] = nums[i];
        switch (v->type) {
        case RN_STORE_INT:
            types[i] = OID_INT8;
            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, v->i);
            break;
        case RN_STORE_REAL:
            types[i] = OID_FLOAT8;
            snprintf(nums[i], sizeof(nums[i]), "%.17g", v->d);
            break;
        case RN_STORE_TEXT:
            types[i] = OID_TEXT;
            vals[i] = v->p; /* NUL-terminated copy (store.c) */
            break;
        case RN_STORE_BLOB:
            types[i] = OID_BYTEA;
            vals[i] = v->p;
            lens[i] = (int)v->len;
            fmts[i] = 1;
            break;
        default:
            types[i] = 0;
            vals[i] = NULL;
            break;
        }
    }
    PGresult *res = PQexecParams(conn, sql, n, types, vals, lens, fmts, 0);
    ExecStatusType st = PQresultStatus(res);
    int r;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        r = rows_of(res, rows);
    } else {
        r = errno_of(res);
        if (r != -EEXIST)
            log_pg("store.sql_error", conn, res);
    }
    PQclear(res);
    return r;
}

const st_backend st_pg_backend = {
    .name = "postgresql",
    .open = db_open,
    .close = db_close,
    .exec = db_exec,
    .prune = db_prune,
};
