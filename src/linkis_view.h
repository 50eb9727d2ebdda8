/* One Linkis task as the routes read it, wherever it is (running in
 * memory or finished in the store), and the JSON every route writes from
 * it: status, progress, log and Linkis' QueryTaskVO. */
#ifndef RUNNEL_LINKIS_VIEW_H
#define RUNNEL_LINKIS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"
#include "linkis_req.h"
#include "linkis_result.h"

typedef enum {
    LK_INITED = 0,
    LK_SCHEDULED,
    LK_RUNNING,
    LK_SUCCEED,
    LK_FAILED,
    LK_CANCELLED,
    LK_TIMEOUT,
    LK_NSTATES,
} lk_state;

/* "Inited", "Scheduled", ... */
extern const char *const lk_state_names[LK_NSTATES];

/* The state named s, or -1. */
int lk_state_parse(const char *s);

#define LK_INSTANCE_MAX 99
#define LK_ERRDESC_MAX  512

typedef struct {
    int64_t task_id;
    char exec_id[LK_ID_MAX + 1];
    char instance[LK_INSTANCE_MAX + 1];
    char um_user[LK_NAME_MAX + 1];
    char execute_user[LK_NAME_MAX + 1];
    char engine[LK_NAME_MAX + 1];
    char run_type[LK_NAME_MAX + 1];
    char creator[LK_NAME_MAX + 1];
    char language[LK_NAME_MAX + 1];
    const char *code; /* borrowed */
    size_t code_len;
    lk_state state;
    int nstages, stage;
    int64_t err_code; /* 0 = none */
    char err_desc[LK_ERRDESC_MAX];
    int64_t created_ms, updated_ms, cost_ms;
    const char *result;                   /* the status result object as JSON, NULL while running */
    const char *labels, *params, *source; /* JSON as sent, or NULL */
    uint64_t log_lines;
    uint64_t result_sets;
} lk_view;

/* A task with what a route asked to load with it: log lines (log holds
 * lines [log_from, log_from + log->n)) and result sets. */
typedef struct {
    const lk_view *v;
    const lk_log *log;
    size_t log_from;
    const lk_rset *sets;
    size_t nsets;
} lk_loaded;

/* Whether the task has ended. */
bool lk_view_ended(const lk_view *v);

/* The progress fraction as Linkis reports it (1.0 once ended). */
double lk_view_progress(const lk_view *v);

/* {execID, taskID, status[, result]} fields. */
void lk_write_status(rn_jbuf *b, const lk_view *v);

/* {execID, taskID, progress, progressInfo[, yarnResource]} fields. */
void lk_write_progress(rn_jbuf *b, const lk_view *v, bool with_resource);

/* {execID, log, taskID, fromLine} for lines [from, from + count) of the
 * loaded log (from is 0-based). fromLine answers the 1-based line to ask
 * for next (LogReader's), or in a push the number of lines sent so far. */
void lk_write_log(rn_jbuf *b, const lk_loaded *t, size_t from, long long count, bool distinct,
                  bool push);

/* The task as Linkis' QueryTaskVO object, with at most code_max bytes of
 * its code (a list page stays bounded; the cut is marked). */
void lk_write_task_vo(rn_jbuf *b, const lk_view *v, size_t code_max);

#define LK_LIST_CODE_MAX 4096

/* Where the task's result sets are: "file:///runnel/linkis/USER/TASKID". */
void lk_result_location(const lk_view *v, char *buf, size_t size);

/* The log file name Linkis clients show: "file:///runnel/linkis/USER/TASKID.log". */
void lk_log_path(const lk_view *v, char *buf, size_t size);

#define LK_RESULT_ROOT "file:///runnel/linkis/"

#endif
