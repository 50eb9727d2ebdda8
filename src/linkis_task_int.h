/* Inside the Linkis tasks module: a task in memory and the state shared by
 * linkis_tasks.c (life of a job) and linkis_persist.c (the store side). */
#ifndef RUNNEL_LINKIS_TASK_INT_H
#define RUNNEL_LINKIS_TASK_INT_H

#include "cluster.h"
#include "linkis_result.h"
#include "linkis_tasks.h"

typedef struct lk_task {
    struct lk_task *prev, *next; /* oldest first */
    lk_view v;                   /* kept current; its strings point below */
    char *code, *labels, *params, *source, *result;
    char *tag;       /* websocketTag of the execute request, or NULL */
    rn_job *job;     /* NULL before the start and once ended */
    rn_conn *conn;   /* the socket that started it (a ref until the end), or NULL */
    bool tracked;    /* killed with its socket */
    lk_later *reply; /* the execute reply, waiting for the row to be saved */
    char client[64]; /* the client's address, for a start after the socket left */
    bool sql;        /* sqlite with JSON output: table result sets */
    uint64_t wall_ms, memory_bytes, output_bytes;
    bool announced; /* the execute reply went: pushes may follow */
    bool row_saved; /* the store has the row */
    bool saving;    /* the end is being written */
    int id_tries;   /* a shared store: taskIDs another node took first */
    uint64_t ended_ms;
    lk_log log;
    lk_capture cap;
    lk_rset *sets;
    size_t nsets;
} lk_task;

typedef struct {
    rn_host *host;
    rn_store *store;
    lk_tasks_conf conf;
    char instance[LK_INSTANCE_MAX + 1];
    lk_task *head, *tail;
    size_t n;
    int64_t last_task;
    bool cluster;       /* taskIDs come from the cluster's id blocks */
    rn_cluster_ids ids; /* (cluster only) */
    uint64_t out_max;
    rn_spec *sql_spec; /* sqlite writing JSON rows: SQL runs give table result sets */
} lk_tasks_state;

extern lk_tasks_state LK;

/* A task in memory by execID or taskID (> 0), or NULL. */
lk_task *lk_tasks_find_live(const char *id, int64_t task_id);

/* Memory only: drop finished tasks past the bounds. */
void lk_tasks_prune(bool room);

/* Start the job of a task whose row is saved; answer o. */
void lk_tasks_start(lk_task *t, const lk_out *o);

/* The job was refused with why: end the task Failed. */
void lk_tasks_refused(lk_task *t, const char *why);

/* Write a new task's row; the job starts when it is saved. */
void lk_tasks_save_row(lk_task *t);

/* Write a running task's status (not waited for). */
void lk_tasks_save_state(lk_task *t);

/* Write an ended task's row, log and result sets; it leaves memory when
 * saved (it stays in memory without a store). */
void lk_tasks_save_end(lk_task *t);

/* Free a task's memory (it is unlinked). */
void lk_task_free(lk_task *t);

/* Take a task out of the list. */
void lk_task_unlink(lk_task *t);

#endif
