/* Inside the store: an operation's statements and a result's rows, shared
 * by the queue (store.c) and the backends (store_sqlite.c, store_pg.c). */
#ifndef RUNNEL_STORE_INT_H
#define RUNNEL_STORE_INT_H

#include <stdbool.h>

#include "store.h"
#include "store_schema.h"

typedef struct {
    char *sql;
    rn_store_value *params; /* TEXT and BLOB bytes malloc'd */
    size_t nparams, cap;
} st_stmt;

struct rn_store_op {
    st_stmt *stmts;
    size_t n, cap;
    bool failed; /* an append ran out of memory */
    bool sync;   /* a caller waits on the store's cond */
    bool done_flag;
    bool prune; /* run the retention statements instead */
    rn_store_done done;
    void *ud;
    int err;
    rn_store_result *res;
    struct rn_store_op *next;
};

typedef struct {
    size_t nrows, ncols;
    rn_store_value *cells; /* nrows * ncols; bytes malloc'd */
} st_rows;

struct rn_store_result {
    size_t n;
    st_rows *stmts;
};

/* A backend: one connection, used by the store's thread only (and by
 * rn_store_open before that thread starts). */
typedef struct {
    const char *name; /* "sqlite" or "postgresql" */
    /* Open target (see rn_store_open for corruption and migrations); the
     * path a corrupt file went to is written into corrupt ("" when none). */
    int (*open)(const char *target, char *corrupt, size_t size, int *version, void **out);
    /* Close the connection. */
    void (*close)(void *db);
    /* Run op's statements in one transaction; rows go into *out. */
    int (*exec)(void *db, const rn_store_op *op, rn_store_result **out);
    /* Run the retention statements with their cut-offs in one transaction. */
    int (*prune)(void *db, char *const *sqls, size_t n, int64_t cutoff_ms, int64_t keep);
    /* Heap bytes the backend's library holds now; NULL when it keeps no count. */
    int64_t (*memory)(void);
} st_backend;

/* What the shared migration runner needs from a backend. */
typedef struct {
    /* Run each step's PostgreSQL text after BEGIN, else its SQLite text
     * after BEGIN IMMEDIATE (the write lock at once, not at the first
     * write). */
    bool postgresql;
    /* Run sql (several statements allowed when first is NULL); with first,
     * its first row's first column as text ("" when none). */
    int (*run)(void *db, const char *sql, char *first, size_t size);
    /* Insert step m's row into schema_version. */
    int (*record)(void *db, const rn_store_migration *m);
} st_migrator;

/* Bring db up to the newest step (store_schema.h) through mg, each missing
 * step in its own transaction; *version gets the version it has then.
 * -EPROTO when the database is newer than this build knows. */
int st_migrate(const st_migrator *mg, void *db, int *version);

extern const st_backend st_sqlite_backend;
extern const st_backend st_pg_backend;

#endif
