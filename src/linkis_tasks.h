/* Linkis tasks: a job's life from execute to its end (pushes to the socket
 * that started it), and where the task lives after: in the store
 * (store.h) when there is one, in memory otherwise.
 *
 * With a store, a task's row is written before the job starts (the
 * execute reply waits for it), its log lines and result sets with its end;
 * once that write is acknowledged the task leaves memory and every read
 * comes from the store, the same before and after a restart. A task still
 * running when the server stopped is marked Failed at the next start. */
#ifndef RUNNEL_LINKIS_TASKS_H
#define RUNNEL_LINKIS_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "linkis_int.h"
#include "linkis_view.h"
#include "store.h"

#define LK_TICKET_HEX 16 /* bytes of randomness in a session ticket */

/* Per WebSocket connection. */
typedef struct {
    rn_conn *conn;
    char ticket[2 * LK_TICKET_HEX + 1]; /* from the upgrade's cookie */
    unsigned inflight;                  /* jobs started here and not ended */
} lk_ws;

typedef struct {
    uint64_t retention_ms;  /* memory only: how long a finished task stays */
    uint64_t max_jobs;      /* tasks in memory (running, and finished when no store) */
    uint64_t max_log_bytes; /* memory only: log bytes over all tasks */
    uint64_t result_max_bytes;
    bool kill_on_disconnect;
    const char *instance;
} lk_tasks_conf;

/* Start: with a store, the next taskID comes from it and tasks left
 * running by the last process are marked Failed. */
int lk_tasks_init(rn_host *host, rn_store *store, const lk_tasks_conf *conf, char *err,
                  size_t size);

/* Free every task in memory (their jobs have ended). */
void lk_tasks_fini(void);

/* Execute (or submit) a job for who; w is the socket it came on, or NULL. */
void lk_tasks_execute(const lk_out *o, const cJSON *data, const lk_caller *who, lk_ws *w);

/* Kill a running task; false when it is not running here. */
bool lk_tasks_kill(int64_t task_id);

/* Running tasks who may see. */
unsigned lk_tasks_running(const lk_caller *who);

/* What to load with a task. */
typedef struct {
    bool log;
    size_t log_from;     /* 0-based */
    long long log_count; /* < 0: all */
    bool sets;
    long long set_index; /* < 0: all */
} lk_want;

/* Called with the task (NULL when there is none) or a negative errno. */
typedef void (*lk_lookup_cb)(const lk_loaded *t, int err, void *ud);

/* Find a task by execID, or by taskID when id is all digits: in memory
 * (cb runs now) or in the store (cb runs later, on the loop). */
void lk_tasks_lookup(const char *id, const lk_want *want, lk_lookup_cb cb, void *ud);

/* The live view of a task in memory, or NULL. */
const lk_view *lk_tasks_live(int64_t task_id);

/* Call fn for every task in memory, newest first. */
void lk_tasks_each(void (*fn)(const lk_view *v, void *ud), void *ud);

/* The store (NULL when tasks are kept in memory only). */
rn_store *lk_tasks_store(void);

/* The columns lk_view_from_row reads, for SELECTs over linkis_task. */
#define LK_VIEW_COLS                                                                               \
    "task_id, exec_id, instance, um_user, execute_user, engine_type, run_type, creator, "          \
    "language, code, status, nstages, stage, err_code, err_desc, created_ms, updated_ms, "         \
    "cost_ms, result, labels, params, source, log_lines, result_sets"

/* Fill v from a row of LK_VIEW_COLS (strings borrowed from res). */
void lk_view_from_row(const rn_store_result *res, size_t stmt, size_t row, lk_view *v);

#endif
