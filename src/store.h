/* The state store: by default one SQLite database file (WAL) under the
 * state directory (store_sqlite.c), or a PostgreSQL database several nodes
 * share (store_pg.c, chosen by a postgresql:// target); one versioned
 * schema (store_schema.c) for both, one writer thread that owns the
 * connection. The event loop never touches the disk: it builds an
 * operation (statements with bound values, run as one transaction), hands
 * it to the thread, and gets the result back on the loop through a
 * uv_async. Reads go through the same thread, after every write queued
 * before them, so a caller always reads what it wrote.
 *
 * Durability: synchronous=FULL in WAL mode, so when an operation's callback
 * runs its transaction is in the WAL on disk; a SIGKILL (or a power loss)
 * right after loses nothing acknowledged. On PostgreSQL the callback runs
 * after the server acknowledged COMMIT.
 *
 * SQL is written with $1, $2, ... placeholders, which SQLite and
 * PostgreSQL both understand. */
#ifndef RUNNEL_STORE_H
#define RUNNEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct rn_store rn_store;
typedef struct rn_store_op rn_store_op;
typedef struct rn_store_result rn_store_result;

typedef enum {
    RN_STORE_NULL = 0,
    RN_STORE_INT,
    RN_STORE_REAL,
    RN_STORE_TEXT,
    RN_STORE_BLOB,
} rn_store_type;

/* One value: a bound parameter or a result cell. p is NUL-terminated for
 * TEXT and BLOB cells of a result (len excludes the NUL). */
typedef struct {
    rn_store_type type;
    int64_t i;
    double d;
    const char *p;
    size_t len;
} rn_store_value;

typedef struct {
    /* the database: a file (e.g. /var/lib/runnel/runnel.db, or sqlite:FILE)
     * or a PostgreSQL connection URI (postgresql://user@host:port/db?...) */
    const char *path;
    uint64_t retention_count;   /* finished records kept per kind; 0 = no count bound */
    uint64_t retention_ms;      /* finished records older than this go; 0 = no age bound */
    uint64_t prune_interval_ms; /* how often retention runs; 0 = 60 s */
} rn_store_options;

/* Called on the loop when an operation is done: err 0 (res holds the rows
 * of its statements, freed after the call) or a negative errno (-EIO for
 * an SQL error, -EEXIST for a constraint, -ECANCELED when the store closed
 * first). */
typedef void (*rn_store_done)(int err, const rn_store_result *res, void *ud);

/* Open (creating) the database at opts->path on loop: WAL, synchronous=FULL,
 * foreign keys on, every migration applied. A file that is not a database
 * or fails its integrity check is renamed aside to PATH.corrupt-<unix
 * time> (with its -wal and -shm), logged, and a fresh one is made. A
 * postgresql:// (or postgres://) target connects instead (-ECONNREFUSED
 * when it cannot) and migrates under an advisory lock, once across nodes
 * starting together. -EPROTO when the schema is newer than this program's. */
int rn_store_open(uv_loop_t *loop, const rn_store_options *opts, rn_store **out);

/* Finish every queued operation (their callbacks run now, on the caller's
 * thread), stop the thread and close the database. Call after uv_run has
 * returned; the loop is run once (UV_RUN_NOWAIT) to close the handles. */
void rn_store_close(rn_store *s);

/* The file the store was opened on, and the corrupt file moved aside at
 * open ("" when none). */
const char *rn_store_path(const rn_store *s);
const char *rn_store_corrupt_path(const rn_store *s);

/* Whether the store is shared by several nodes (PostgreSQL): what a node
 * keeps only on its disk otherwise (notes, files) is then kept here. */
bool rn_store_shared(const rn_store *s);

/* target with any password taken out, for logs and messages. */
void rn_store_redact(const char *target, char *buf, size_t size);

/* Heap bytes the backend's library holds now (SQLite: its page cache,
 * which grows with the database up to SQLite's cache size, and its
 * prepared statements); -1 when the backend keeps no count (PostgreSQL). */
int64_t rn_store_memory_bytes(const rn_store *s);

/* The schema version the database is at. */
int rn_store_schema_version(const rn_store *s);

/* --- operations --- */

/* A new empty operation; NULL when out of memory. */
rn_store_op *rn_store_op_new(void);

/* Free an operation that was not submitted. */
void rn_store_op_free(rn_store_op *op);

/* Append a statement (copied); the bind calls that follow bind its $1, $2,
 * ... in order. A failed append marks the operation failed (-ENOMEM at
 * submit). */
void rn_store_op_sql(rn_store_op *op, const char *sql);

/* Bind the next parameter of the last statement (values are copied). */
void rn_store_op_int(rn_store_op *op, int64_t v);
void rn_store_op_real(rn_store_op *op, double v);
void rn_store_op_text(rn_store_op *op, const char *s); /* NULL binds NULL */
void rn_store_op_textn(rn_store_op *op, const char *s, size_t len);
void rn_store_op_blob(rn_store_op *op, const void *p, size_t len);
void rn_store_op_null(rn_store_op *op);

/* Queue op (ownership passes) to run as one transaction; done(ud) runs on
 * the loop afterwards, never from inside this call. -ENOMEM when building
 * op failed (done is not called), -ESHUTDOWN once closing. */
int rn_store_submit(rn_store *s, rn_store_op *op, rn_store_done done, void *ud);

/* What rn_store_submit_then calls when its operation is done: err is 0 or
 * a negative errno, the rows are not kept. */
typedef void (*rn_store_then)(void *ud, int err);

/* rn_store_submit for an operation whose rows are not wanted: done(ud, err)
 * runs on the loop afterwards, and a failure is logged first as
 * fail_event (a literal: it is kept, not copied). op may be NULL (then
 * -ENOMEM); ownership passes either way. */
int rn_store_submit_then(rn_store *s, rn_store_op *op, const char *fail_event, rn_store_then done,
                         void *ud);

/* Run op (ownership passes) and wait for it: for start-up and tests only,
 * never on a loop that serves. *out (free with rn_store_result_free) may
 * be NULL when not wanted. */
int rn_store_run_sync(rn_store *s, rn_store_op *op, rn_store_result **out);

/* Free a result taken from rn_store_run_sync. */
void rn_store_result_free(rn_store_result *res);

/* Rows the stmt-th statement (0-based) returned, and a cell of one
 * (NULL when out of range). */
size_t rn_store_rows(const rn_store_result *res, size_t stmt);
size_t rn_store_cols(const rn_store_result *res, size_t stmt);
const rn_store_value *rn_store_cell(const rn_store_result *res, size_t stmt, size_t row,
                                    size_t col);

/* A cell as an integer (0 when NULL or absent) or as text ("" when NULL or
 * absent; BLOBs as their bytes). */
int64_t rn_store_cell_int(const rn_store_result *res, size_t stmt, size_t row, size_t col);
const char *rn_store_cell_text(const rn_store_result *res, size_t stmt, size_t row, size_t col,
                               size_t *len);

/* --- retention --- */

/* Add a statement run with every prune: $1 is the cut-off time (Unix ms;
 * records finished before it go; 0 when there is no age bound) and $2 the
 * number of newest records to keep (INT64_MAX when there is no count
 * bound).
 * Prunes run on the thread a second after open, then every prune
 * interval. */
int rn_store_add_retention(rn_store *s, const char *sql);

/* Run the retention statements now (on the thread) and wait. */
int rn_store_prune_now(rn_store *s);

/* Wall-clock time in Unix milliseconds (what the store's times are in). */
int64_t rn_store_now_ms(void);

#endif
