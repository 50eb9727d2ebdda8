/* Linkis wire pieces with no server state: routing of method paths,
 * execute-request decoding (language mapping, ${var} substitution, runtime
 * limits), execIDs, and a line-based job log with Linkis' four levels. */
#ifndef RUNNEL_LINKIS_REQ_H
#define RUNNEL_LINKIS_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jbuf.h"
#include "specs.h"

/* Linkis' Message status values. */
enum {
    LK_ST_NOLOGIN = -1,
    LK_ST_OK = 0,
    LK_ST_ERROR = 1,
    LK_ST_INVALID = 2,
    LK_ST_DENIED = 3,
};

#define LK_NAME_MAX 64  /* requestApplicationName, executeApplicationName, userName */
#define LK_ID_MAX   300 /* an execID in a path */
#define LK_TAG_MAX  256 /* websocketTag */

typedef enum {
    LK_R_NONE = 0, /* not a Linkis path */
    LK_R_UNKNOWN,  /* a Linkis prefix, but no such endpoint */
    LK_R_CONNECT,
    LK_R_EXECUTE,
    LK_R_STATUS,
    LK_R_LOG,
    LK_R_PROGRESS,
    LK_R_PROGRESS_RES,
    LK_R_KILL,
    LK_R_PAUSE,
    LK_R_RUNNINGTASK,
    LK_R_LOGIN,
    LK_R_LOGOUT,
    LK_R_USERINFO,
    LK_R_HEARTBEAT,
    LK_R_HISTORY_GET,  /* /jobhistory/{taskID}/get */
    LK_R_HISTORY_LIST, /* /jobhistory/list */
    LK_R_FS_TREE,      /* /filesystem/getDirFileTrees */
    LK_R_FS_OPEN,      /* /filesystem/openFile */
} lk_route;

/* Classify a REST path or a WebSocket method ("/api/rest_j/v1/entrance/
 * ID/log"; the spellings /api/rest_j, /api/res_j[/v1], /api and /ws/api
 * are accepted too); the {id} of per-job routes (and the taskID of
 * /jobhistory/{id}/get) goes into id. */
lk_route lk_route_parse(const char *path, char *id, size_t idsize);

/* A decoded execute request. */
typedef struct {
    const rn_spec *spec;
    char *code; /* malloc'd, variables substituted */
    size_t code_len;
    char run_type[LK_NAME_MAX + 1];               /* as asked, lower-cased ("" if none) */
    char engine[LK_NAME_MAX + 1];                 /* executeApplicationName, or the runType */
    char creator[LK_NAME_MAX + 1];                /* requestApplicationName, default "IDE" */
    uint64_t wall_ms, memory_bytes, output_bytes; /* 0 = server default */
} lk_req;

/* Decode an execute body (old shape with executionCode or new shape with
 * executionContent). Returns 0, or LK_ST_INVALID with a sentence in msg.
 * code_max bounds the code after substitution. */
int lk_req_parse(const cJSON *data, const rn_specs *specs, size_t code_max, lk_req *out, char *msg,
                 size_t size);

/* Free what lk_req_parse allocated. */
void lk_req_free(lk_req *r);

/* The spec a (runType, executeApplicationName) pair runs on: runType
 * decides when given, the engine otherwise; NULL with a sentence naming
 * the supported values in msg. */
const rn_spec *lk_map_language(const rn_specs *specs, const char *run_type, const char *engine,
                               char *msg, size_t size);

/* Replace ${name} for every name in vars (an object of strings, numbers or
 * booleans) as Linkis does; other ${...} stay. -E2BIG past max bytes. */
int lk_subst_vars(const char *code, size_t len, const cJSON *vars, size_t max, char **out,
                  size_t *outlen);

/* Whether s is a usable name part of an execID: 1..LK_NAME_MAX characters of
 * [A-Za-z0-9._@-]. */
bool lk_name_ok(const char *s);

/* Format an execID the Linkis WebSocket way: two-digit lengths of creator,
 * engine and instance, then the three, then creator_user_index.
 * -ENAMETOOLONG when a part has 100 characters or more or size is short. */
int lk_exec_id(char *out, size_t size, const char *creator, const char *engine,
               const char *instance, const char *user, uint64_t index);

/* --- the job log --- */

enum { LK_LOG_ERROR = 0, LK_LOG_WARN = 1, LK_LOG_INFO = 2 };

typedef struct {
    uint32_t off, len;
    uint8_t level;
} lk_line;

typedef struct {
    rn_jbuf text; /* every line's bytes, without the newlines */
    lk_line *lines;
    size_t n, cap;
    rn_jbuf partial[2]; /* stdout, stderr: text after the last newline */
    size_t used, max;   /* bytes charged (text + line records) and the cap */
    bool truncated;
} lk_log;

/* Start an empty log holding at most max bytes (text plus line records). */
void lk_log_init(lk_log *l, size_t max);

/* Free it. */
void lk_log_free(lk_log *l);

/* Program output on fd 1 (info) or 2 (error): complete lines are stored,
 * the rest waits for its newline (or for LK_LINE_MAX bytes). */
void lk_log_feed(lk_log *l, int fd, const char *data, size_t len);

/* Store what waits in the partial buffers as lines (at the end of a run). */
void lk_log_flush(lk_log *l);

/* Store one line at a level. */
void lk_log_add(lk_log *l, int level, const char *text, size_t len);

/* Write lines [from, from+count) (count < 0: all after from) as Linkis'
 * log value: with distinct an array [error, warn, info, all], else one
 * string; each line ends with "\n". Returns the number of lines written. */
size_t lk_log_write(const lk_log *l, rn_jbuf *b, size_t from, long long count, bool distinct);

#define LK_LINE_MAX 65536

#endif
