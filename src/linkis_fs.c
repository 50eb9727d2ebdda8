/* Linkis result files: /filesystem/getDirFileTrees and /filesystem/openFile
 * over a task's result sets. A task's resultLocation is
 * file:///runnel/linkis/USER/TASKID and its sets are _0.dolphin,
 * _1.dolphin, ... inside it; no other path is served (linkis_routes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkis_routes.h"
#include "linkis_tasks.h"

#define LK_PATH_MAX     512
#define LK_FS_PAGE_MAX  5000
#define LK_FS_PAGE_SIZE 5000

typedef struct {
    lk_later *later;
    lk_caller who;
    bool open; /* openFile, else getDirFileTrees */
    char path[LK_PATH_MAX + 1];
    char user[LK_NAME_MAX + 1];
    long long set; /* -1 = the directory */
    long long page, size;
    char null_value[64];
} fs_q;

static void no_permission(const lk_out *o, const char *user, const char *path)
{
    char msg[LK_PATH_MAX + 300];
    snprintf(msg, sizeof(msg),
             "The user: %s has no permission to view the contents of the directory:%.512s"
             "(该用户:%s无权限查看该目录:%.512s的内容).",
             user, path, user, path);
    lk_out_error(o, LK_ST_ERROR, msg, 0);
}

static void not_exist(const lk_out *o, const char *path)
{
    char msg[LK_PATH_MAX + 100];
    snprintf(msg, sizeof(msg), "File: %.512s does not exist(文件:%.512s不存在)", path, path);
    lk_out_error(o, LK_ST_ERROR, msg, 0);
}

/* Split PATH into user, taskID and set index (-1 for the directory).
 * Returns 0, or -1 when it is not a result path at all. */
static int parse_path(const char *path, char *user, size_t usize, char *task, size_t tsize,
                      long long *set)
{
    static const char *const roots[] = {LK_RESULT_ROOT, "file://runnel/linkis/", "/runnel/linkis/"};
    const char *rest = NULL;
    for (size_t i = 0; i < 3 && !rest; i++)
        if (!strncmp(path, roots[i], strlen(roots[i])))
            rest = path + strlen(roots[i]);
    if (!rest)
        return -1;
    const char *slash = strchr(rest, '/');
    if (!slash || (size_t)(slash - rest) >= usize)
        return -1;
    memcpy(user, rest, (size_t)(slash - rest));
    user[slash - rest] = 0;
    const char *tp = slash + 1, *end = strchr(tp, '/');
    size_t tl = end ? (size_t)(end - tp) : strlen(tp);
    if (!tl || tl >= tsize || tl > 18 || !lk_name_ok(user))
        return -1;
    for (size_t i = 0; i < tl; i++)
        if (tp[i] < '0' || tp[i] > '9')
            return -1;
    memcpy(task, tp, tl);
    task[tl] = 0;
    *set = -1;
    if (!end || !end[1])
        return 0;
    const char *f = end + 1;
    char *num_end;
    if (f[0] != '_' || f[1] < '0' || f[1] > '9')
        return -1;
    long long n = strtoll(f + 1, &num_end, 10);
    if (strcmp(num_end, ".dolphin") || n > 1000000)
        return -1;
    *set = n;
    return 0;
}

static void write_tree(rn_jbuf *f, const lk_loaded *t)
{
    char loc[LK_PATH_MAX], parent[LK_PATH_MAX];
    lk_result_location(t->v, loc, sizeof(loc));
    snprintf(parent, sizeof(parent), LK_RESULT_ROOT "%s", t->v->um_user);
    rn_jbuf_str(f, "\"dirFileTrees\":{\"name\":");
    rn_jbuf_printf(f, "\"%lld\",\"path\":", (long long)t->v->task_id);
    lk_jstr_safe(f, loc);
    rn_jbuf_str(f, ",\"properties\":null,\"children\":[");
    for (size_t i = 0; i < t->nsets; i++) {
        char name[32], path[LK_PATH_MAX + 40];
        snprintf(name, sizeof(name), "_%zu.dolphin", i);
        snprintf(path, sizeof(path), "%s/%s", loc, name);
        rn_jbuf_str(f, i ? ",{\"name\":" : "{\"name\":");
        rn_jbuf_jcstr(f, name);
        rn_jbuf_str(f, ",\"path\":");
        lk_jstr_safe(f, path);
        rn_jbuf_printf(f,
                       ",\"properties\":{\"size\":\"%zu\",\"modifytime\":\"%lld\"},"
                       "\"children\":null,\"isLeaf\":true,\"parentPath\":",
                       t->sets[i].len, (long long)t->v->updated_ms);
        lk_jstr_safe(f, loc);
        rn_jbuf_str(f, "}");
    }
    rn_jbuf_str(f, "],\"isLeaf\":false,\"parentPath\":");
    lk_jstr_safe(f, parent);
    rn_jbuf_str(f, "}");
}

static void write_page(const lk_out *o, const fs_q *q, const lk_rset *s)
{
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    uint64_t from = (uint64_t)(q->page - 1) * (uint64_t)q->size;
    rn_jbuf_str(&f, "\"metadata\":");
    rn_jbuf_str(&f, s->type == LK_RSET_TABLE && s->metadata && s->metadata[0] ? s->metadata
                                                                              : "\"NULL\"");
    rn_jbuf_str(&f, ",\"fileContent\":");
    lk_rset_write_rows(&f, s->type, s->content, s->len, from, (uint64_t)q->size, q->null_value);
    uint64_t pages = (s->records + (uint64_t)q->size - 1) / (uint64_t)q->size;
    rn_jbuf_printf(&f, ",\"type\":\"%d\",\"totalLine\":%llu,\"page\":%lld,\"totalPage\":%llu",
                   s->type, (unsigned long long)s->records, q->page, (unsigned long long)pages);
    char msg[200];
    if (from >= s->records && q->page > 1)
        snprintf(msg, sizeof(msg),
                 "page %lld is past the end of the result set (%llu page%s of %lld)", q->page,
                 (unsigned long long)pages, pages == 1 ? "" : "s", q->size);
    else if (s->truncated)
        snprintf(msg, sizeof(msg), "the result set was cut at %llu bytes (linkis.result_max_bytes)",
                 (unsigned long long)s->len);
    else
        snprintf(msg, sizeof(msg), "OK");
    lk_out_send(o, LK_ST_OK, msg, &f, 0);
    rn_jbuf_free(&f);
}

static void on_task(const lk_loaded *t, int err, void *ud)
{
    fs_q *q = ud;
    const lk_out *o = &q->later->out;
    if (err < 0) {
        lk_out_internal(o, "the result could not be read", "runnel: store read failed");
    } else if (t && !lk_caller_sees(&q->who, t->v->um_user, t->v->execute_user)) {
        no_permission(o, q->who.user, q->path);
    } else if (!t || strcmp(t->v->um_user, q->user) || !lk_view_ended(t->v)) {
        /* Linkis answers a directory that does not exist with null. */
        if (q->open) {
            not_exist(o, q->path);
        } else {
            rn_jbuf f;
            rn_jbuf_init(&f, 0);
            rn_jbuf_str(&f, "\"dirFileTrees\":null");
            lk_out_send(o, LK_ST_OK, "OK", &f, 0);
            rn_jbuf_free(&f);
        }
    } else if (!q->open) {
        rn_jbuf f;
        rn_jbuf_init(&f, 0);
        write_tree(&f, t);
        lk_out_send(o, LK_ST_OK, "OK", &f, 0);
        rn_jbuf_free(&f);
    } else {
        /* From memory every set; from the store only the one asked for. */
        const lk_rset *s = NULL;
        if (t->nsets == t->v->result_sets)
            s = q->set < (long long)t->nsets ? &t->sets[q->set] : NULL;
        else if (t->nsets == 1)
            s = &t->sets[0];
        if (!s)
            not_exist(o, q->path);
        else
            write_page(o, q, s);
    }
    lk_later_free(q->later);
    free(q);
}

static void fs_route(const lk_out *o, const lk_params *p, const lk_caller *who, bool open)
{
    fs_q *q = calloc(1, sizeof(*q));
    if (!q) {
        lk_out_internal(o, "out of memory", "runnel: calloc: out of memory");
        return;
    }
    char task[24];
    if (!lk_param(p, "path", q->path, sizeof(q->path)) || !q->path[0]) {
        lk_out_error(o, LK_ST_ERROR, "The path: is empty(路径: 为空)!", 0);
        goto fail;
    }
    if (strstr(q->path, "..")) {
        char msg[LK_PATH_MAX + 80];
        snprintf(msg, sizeof(msg), "The path %.512s must not contain '..'", q->path);
        lk_out_error(o, LK_ST_ERROR, msg, 0);
        goto fail;
    }
    if (parse_path(q->path, q->user, sizeof(q->user), task, sizeof(task), &q->set) < 0 ||
        (!who->admin && strcmp(q->user, who->user)) || (open && q->set < 0)) {
        no_permission(o, who->user, q->path);
        goto fail;
    }
    if (open) {
        if (!lk_param_int(p, "page", 1, &q->page) ||
            !lk_param_int(p, "pageSize", LK_FS_PAGE_SIZE, &q->size) || q->page < 1 || q->size < 1) {
            lk_out_error(o, LK_ST_ERROR, "page and pageSize must be integers of at least 1", 0);
            goto fail;
        }
        if (q->size > LK_FS_PAGE_MAX) {
            char msg[300];
            snprintf(msg, sizeof(msg),
                     "The result set exceeds %d rows and page viewing is currently not "
                     "supported(pageSize is at most %d)",
                     LK_FS_PAGE_MAX, LK_FS_PAGE_MAX);
            lk_out_error(o, LK_ST_ERROR, msg, 0);
            goto fail;
        }
        if (!lk_param(p, "nullValue", q->null_value, sizeof(q->null_value)) || !q->null_value[0])
            snprintf(q->null_value, sizeof(q->null_value), "NULL");
    }
    if (!(q->later = lk_later_new(o)))
        goto fail;
    q->who = *who;
    q->open = open;
    lk_want want = {.sets = true, .set_index = open ? q->set : -1};
    lk_tasks_lookup(task, &want, on_task, q);
    return;
fail:
    free(q);
}

void lk_route_fs_tree(const lk_out *o, const lk_params *p, const lk_caller *who)
{
    fs_route(o, p, who, false);
}

void lk_route_fs_open(const lk_out *o, const lk_params *p, const lk_caller *who)
{
    fs_route(o, p, who, true);
}
