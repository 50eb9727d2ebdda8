/* Inside the store: an operation's statements and a result's rows, shared
 * by the queue (store.c) and the SQLite backend (store_sqlite.c). */
#ifndef RUNNEL_STORE_INT_H
#define RUNNEL_STORE_INT_H

#include <stdbool.h>

#include "store.h"

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

typedef struct rn_store_db rn_store_db;

/* Open path (see rn_store_open for corruption and migrations); the path a
 * corrupt file went to is written into corrupt ("" when none). */
int rn_store_db_open(const char *path, char *corrupt, size_t size, int *version, rn_store_db **out);

/* Close the connection. */
void rn_store_db_close(rn_store_db *db);

/* Run op's statements in one transaction; rows go into *out. */
int rn_store_db_exec(rn_store_db *db, const rn_store_op *op, rn_store_result **out);

/* Run the retention statements with their cut-offs in one transaction. */
int rn_store_db_prune(rn_store_db *db, char *const *sqls, size_t n, int64_t cutoff_ms,
                      int64_t keep);

#endif
