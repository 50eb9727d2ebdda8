/* The Linkis routes over tasks, one file each: the entrance's per-job
 * routes (linkis_entrance.c), job history (linkis_history.c) and result
 * files (linkis_fs.c). Each answers o itself, now or after a store read. */
#ifndef RUNNEL_LINKIS_ROUTES_H
#define RUNNEL_LINKIS_ROUTES_H

#include "linkis_int.h"

/* /entrance/{execID}/status, progress, progressWithResource, log, kill, pause. */
void lk_route_job(const lk_out *o, lk_route r, const char *id, const lk_params *p,
                  const lk_caller *who);

/* /entrance/runningtask. */
void lk_route_runningtask(const lk_out *o, const lk_caller *who);

/* /jobhistory/{taskID}/get: data.task as Linkis' QueryTaskVO. */
void lk_route_history_get(const lk_out *o, const char *id, const lk_caller *who);

/* /jobhistory/list: data.tasks and data.totalPage (the number of tasks, as
 * Linkis names it), paged and filtered as Linkis does. */
void lk_route_history_list(const lk_out *o, const lk_params *p, const lk_caller *who);

/* /filesystem/getDirFileTrees?path=: a task's result sets as Linkis' FsTree. */
void lk_route_fs_tree(const lk_out *o, const lk_params *p, const lk_caller *who);

/* /filesystem/openFile?path=&page=&pageSize=: one page of a result set. */
void lk_route_fs_open(const lk_out *o, const lk_params *p, const lk_caller *who);

#endif
