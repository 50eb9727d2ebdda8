/* The Judge0 CE envelope's parts (docs/judge0.md): a submission as Judge0
 * keeps it, its parsing and checks (judge0_req.c), its rendering
 * (judge0_out.c), its runs (judge0_run.c) and its rows in the store
 * (judge0_store.c); the routes are env_judge0.c. */
#ifndef RUNNEL_JUDGE0_INT_H
#define RUNNEL_JUDGE0_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "jbuf.h"
#include "store.h"

/* The Judge0 version whose API is served (/about, /version). */
#define J0_API_VERSION "1.13.1"
/* Judge0's "Multi-file program" language. */
#define J0_MULTI_FILE_ID   89
#define J0_MULTI_FILE_NAME "Multi-file program"
/* Items in one batch (Judge0's MAX_SUBMISSION_BATCH_SIZE). */
#define J0_BATCH_MAX 20
/* compiler_options and command_line_arguments. */
#define J0_OPTIONS_MAX 512

/* The envelope's section of the configuration, Judge0's names. */
typedef struct {
    bool enable_wait_result;
    bool enable_submission_delete;
    bool allow_enable_network;
    bool enable_per_process_and_thread_time_limit;
    bool enable_per_process_and_thread_memory_limit;
    char auth_token_header[64];
    char auth_user_header[64];
    uint64_t cpu_time_limit_ms, max_cpu_time_limit_ms;
    uint64_t cpu_extra_time_ms, max_cpu_extra_time_ms;
    uint64_t wall_time_limit_ms, max_wall_time_limit_ms;
    uint64_t memory_limit_kb, max_memory_limit_kb;
    uint64_t stack_limit_kb, max_stack_limit_kb;
    uint64_t max_processes_and_or_threads, max_max_processes_and_or_threads;
    uint64_t max_file_size_kb, max_max_file_size_kb;
    uint64_t number_of_runs, max_number_of_runs;
    uint64_t max_extract_size_kb;
    uint64_t max_extract_files;
    uint64_t max_submissions; /* kept in memory and the store */
    char callback_allow[2048];
} j0_conf;

/* Statuses 1-14 (Judge0's app/enumerations/status.rb). */
enum {
    J0_IN_QUEUE = 1,
    J0_PROCESSING,
    J0_ACCEPTED,
    J0_WRONG_ANSWER,
    J0_TLE,
    J0_COMPILE_ERROR,
    J0_SIGSEGV,
    J0_SIGXFSZ,
    J0_SIGFPE,
    J0_SIGABRT,
    J0_NZEC,
    J0_OTHER,
    J0_INTERNAL,
    J0_EXEC_FORMAT,
};

/* A byte string (NULL = absent, Judge0's null). */
typedef struct {
    char *p;
    size_t len;
} j0_bytes;

typedef struct j0_waiter j0_waiter;
typedef struct j0_state j0_state;

/* One submission: what was asked, and once run, what came of it. */
typedef struct j0_sub {
    struct j0_sub *prev, *next; /* the envelope's list, oldest first */
    j0_state *st;
    char token[37];
    char user[64];
    int language_id;
    j0_bytes source_code, stdin_data, expected_output, compiler_options, command_line_arguments,
        callback_url, additional_files;
    double cpu_time_limit, cpu_extra_time, wall_time_limit;
    uint64_t memory_limit, stack_limit, max_processes_and_or_threads, max_file_size;
    int number_of_runs;
    bool per_process_time, per_process_memory, redirect_stderr_to_stdout, enable_network;
    /* The outcome. */
    int status_id;
    j0_bytes out, err, compile_output, message;
    int exit_code;   /* -1 = null */
    int exit_signal; /* 0 = null */
    bool has_time;
    double time, wall_time; /* seconds */
    uint64_t memory;        /* KB */
    int64_t created_ms, finished_ms;
    bool requeued; /* re-queued once already after a restart */
    /* While it runs. */
    rn_job *job;
    int runs_done;
    double sum_time, sum_wall;
    uint64_t sum_memory;
    bool compiling;
    j0_waiter *waiters;
    bool deleted; /* freed once its job ends */
} j0_sub;

/* A wait=true request (or a batch item's) waiting for a submission. */
struct j0_waiter {
    j0_waiter *next;
    rn_http *http;
    bool base64;
    char fields[512];
};

struct j0_state {
    rn_host *host;
    j0_conf conf;
    rn_store *store;
    j0_sub *head, *tail;
    size_t count;
};

/* ------------------------------------------------------------ judge0_req.c */

/* Parse one submission object into a new sub (defaults from conf): 0, or
 * 422 with Judge0's errors hash in errs (a cJSON object the caller frees),
 * or 400 with a message. */
int j0_req_parse(j0_state *st, const cJSON *obj, bool base64, j0_sub **out, cJSON **errs, char *msg,
                 size_t size);

/* Free a sub and all it owns. */
void j0_sub_free(j0_sub *s);

/* Decode Ruby-style lenient base64 (characters outside the alphabet are
 * skipped); -ENOMEM on failure. */
int j0_b64_decode(const char *s, size_t n, j0_bytes *out);

/* Copy n bytes into out (NUL-terminated); -ENOMEM. */
int j0_bytes_set(j0_bytes *out, const char *p, size_t n);

/* Free the bytes and mark them absent. */
void j0_bytes_clear(j0_bytes *b);

/* A new random UUID (version 4) in out. */
void j0_uuid(char out[37]);

/* ----------------------------------------------------------- judge0_files.c */

/* Unpack the sub's additional_files (none: 0 files): 0, or -EINVAL (a bad
 * archive), -E2BIG (over the limits), -ENOMEM with err filled. */
int j0_files_unpack(const j0_state *st, const j0_sub *s, rn_job_file **files, size_t *n, char *err,
                    size_t size);

/* Free what j0_files_unpack returned. */
void j0_files_free(rn_job_file *files, size_t n);

/* Make req a Multi-file program's: its entry is a driver that runs the
 * archive's compile and run scripts. */
void j0_files_multi(rn_job_request *req);

/* ------------------------------------------------------------ judge0_out.c */

/* Judge0's description of status id. */
const char *j0_status_name(int id);

/* Whether fields ("a,b", "*", or NULL for the default) names only known
 * fields; the unknown ones go to bad ("[x, y]"). */
bool j0_fields_valid(const char *fields, char *bad, size_t size);

/* Render a sub with the fields asked for: 0, or -EILSEQ when a text
 * field is not UTF-8 and base64 was not asked for. */
int j0_out_sub(rn_jbuf *b, const j0_state *st, const j0_sub *s, const char *fields, bool base64);

/* Base64 as Ruby's Base64.encode64 (a newline after every 60 characters
 * and at the end). */
void j0_b64_encode(rn_jbuf *b, const char *p, size_t n);

/* {"error":message} with status. */
void j0_reply_error(rn_http *h, int status, const char *message);

/* A body-less reply (401, 403, 404 ...). */
void j0_reply_empty(rn_http *h, int status);

/* Reply body (JSON) with status once every row saved before now is
 * committed: what a client is told survives a crash, and any node then
 * answers the same. h is held meanwhile. */
void j0_reply_after_commit(j0_state *st, rn_http *h, int status, const char *body, size_t len);

/* Reply one sub (status), a batch read ({"submissions": [sub or null]})
 * or a page of GET /submissions, with the fields asked for; 400 when a
 * text is not UTF-8 without base64. */
void j0_reply_sub(j0_state *st, rn_http *h, int status, const j0_sub *s, const char *fields,
                  bool base64);
void j0_reply_batch(j0_state *st, rn_http *h, const j0_sub *const *subs, size_t n,
                    const char *fields, bool base64);
void j0_reply_page(j0_state *st, rn_http *h, const j0_sub *const *subs, size_t n, long page,
                   long per, long total, const char *fields, bool base64);

/* The spec answering to a Judge0 id, and that id's Judge0 name. */
const rn_spec *j0_spec_of(const j0_state *st, int id, const char **name);

/* ------------------------------------------------------------ judge0_run.c */

/* Queue the sub's first run: 0, or a refusal (why). */
int j0_run_start(j0_state *st, j0_sub *s, rn_http *from, const char *client, rn_host_refusal *why);

/* Answer every waiter of s (it finished). */
void j0_run_answer_waiters(j0_sub *s);

/* -------------------------------------------------------- judge0_callback.c */

/* PUT the sub's default fields (base64) to its callback_url, if any, once
 * the sub's row saved before is committed (any node then answers what the
 * callback reports); a refusal or failure is logged and kept in the sub's
 * message. */
void j0_callback_send(j0_state *st, j0_sub *s);

/* Whether callbacks can be sent by this build. */
bool j0_callback_supported(void);

/* ----------------------------------------------------------- judge0_store.c */

/* Load kept submissions, re-queue those a stop interrupted; 0 or -errno. */
int j0_store_init(j0_state *st, char *err, size_t size);

/* Write the sub's row (insert or replace); off the loop. */
void j0_store_save(j0_state *st, const j0_sub *s);

/* Delete the sub's row. */
void j0_store_delete(j0_state *st, const j0_sub *s);

/* A sub from a row (token, um_user, status_id, data); NULL when the row
 * is not readable. */
j0_sub *j0_store_row_sub(j0_state *st, const char *token, const char *user, int status,
                         const char *data, size_t len);

/* Link the subs of statement 0's rows (token, um_user, status_id,
 * requeued, data) not held already; one interrupted twice ends Internal
 * Error. How many are to be queued again (j0_store_requeue). */
size_t j0_store_load_rows(j0_state *st, const rn_store_result *res);

/* Queue again every held sub that is queued or running without a job. */
void j0_store_requeue(j0_state *st);

/* done(ud) once every row saved before now is committed (at once when
 * there is no store); -errno when the store is closed. */
int j0_store_barrier(j0_state *st, void (*done)(void *ud), void *ud);

/* --------------------------------------------------------- judge0_shared.c */

/* In a cluster (cluster.enabled): take over the unfinished submissions of
 * a node found lost, once (rn_cluster_after_node_loss). 0 or -errno. */
int j0_shared_init(j0_state *st);

/* What a read answers when this node does not hold a token. */
typedef enum { J0_FETCH_GET, J0_FETCH_DELETE, J0_FETCH_BATCH } j0_fetch_kind;

/* In a cluster, whether reads of submissions this node does not hold go to
 * the shared store. */
bool j0_shared_reads(const j0_state *st);

/* Answer h from the shared store (held until then): the submission(s)
 * named by tokens (n of them; GET and DELETE: one), as the user may see
 * them, rendered as the route does. 0, or -errno (nothing replied). */
int j0_shared_fetch(j0_state *st, rn_http *h, j0_fetch_kind kind, char *const *tokens, size_t n,
                    const char *user, bool admin, const char *fields, bool base64);

/* GET /submissions from the shared store (every node's): page and
 * per_page, scoped to user unless NULL. 0, or -errno (nothing replied). */
int j0_shared_index(j0_state *st, rn_http *h, const char *user, long page, long per,
                    const char *fields, bool base64);

/* Whether user (an admin when admin) may see s: its own, or everyone's
 * when the server asks no token. */
bool j0_may_see(const j0_state *st, const j0_sub *s, const char *user, bool admin);

/* Answer a DELETE of s (found and visible): the sub in base64, or 400
 * while it is queued or running. Whether it answered with the sub (the
 * caller then deletes it). */
bool j0_delete_reply(rn_http *h, j0_state *st, const j0_sub *s, const char *fields);

/* Link a sub at the list's tail; drop the oldest finished ones past
 * max_submissions. */
void j0_list_add(j0_state *st, j0_sub *s);

/* Unlink a sub (it is not freed). */
void j0_list_remove(j0_state *st, j0_sub *s);

/* The sub with token, or NULL. */
j0_sub *j0_list_find(const j0_state *st, const char *token);

/* ------------------------------------------------------------ judge0_info.c */

/* GET /languages, /languages/all, /languages/{id}, /statuses, /about,
 * /version, /isolate, /license, /system_info, /config_info, /workers,
 * /statistics. */
void j0_http_languages(void *state, rn_http *h);
void j0_http_languages_all(void *state, rn_http *h);
void j0_http_language(void *state, rn_http *h);
void j0_http_statuses(void *state, rn_http *h);
void j0_http_about(void *state, rn_http *h);
void j0_http_version(void *state, rn_http *h);
void j0_http_isolate(void *state, rn_http *h);
void j0_http_license(void *state, rn_http *h);
void j0_http_system_info(void *state, rn_http *h);
void j0_http_config_info(void *state, rn_http *h);
void j0_http_workers(void *state, rn_http *h);
void j0_http_statistics(void *state, rn_http *h);

/* ------------------------------------------------------------ env_judge0.c */

/* Whether the request is authenticated (X-Auth-Token or the server's own
 * bearer token); fills the tenant. Replies 401 itself when not. */
bool j0_authenticate(j0_state *st, rn_http *h, char *user, size_t size, bool *admin);

#endif
