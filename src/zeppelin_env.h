/* The Zeppelin envelope's own pieces, shared between its files:
 * env_zeppelin.c (frames, requests, connections, HTTP, config),
 * zeppelin_book.c (notes in memory, watchers, saving), zeppelin_run.c (paragraph runs),
 * zeppelin_note_ops.c (note ops), zeppelin_folder_ops.c (folder and trash ops),
 * zeppelin_para_ops.c (paragraph and editor ops), zeppelin_info_ops.c (interpreters,
 * configuration) and zeppelin_rest.c (the REST calls on notes and their
 * permissions). Not for other envelopes.
 *
 * Tenants: every request has the user its connection's token names
 * (rn_conn_user: auth.users, else "anonymous") and each note its
 * permissions (zeppelin_perm.h). An op that names a note needs the
 * permission its entry in the op table gives, checked wherever the note is
 * looked up (zp_note_or_error, zp_request_note); a denial is Zeppelin's
 * AUTH_INFO. Lists and broadcasts go only to users who may read the note. */
#ifndef RUNNEL_ZEPPELIN_ENV_H
#define RUNNEL_ZEPPELIN_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "jbuf.h"
#include "zeppelin_notes.h"
#include "zeppelin_perm.h"
#include "version.h"
#include "zeppelin_store.h"

typedef struct zp_conn zp_conn;

/* Per connection. */
struct zp_conn {
    zp_conn *next, *prev; /* every open connection, for NOTES_INFO */
    rn_conn *conn;
    zp_note *note; /* watched note; then conn is in note->watchers */
};

/* One request being answered. */
typedef struct {
    zp_conn *zc;
    rn_conn *c;
    const char *op;
    cJSON *data; /* NULL when absent */
    const char *msgid;
    char user[ZP_USER_MAX + 1]; /* the paragraph's user: the tenant, else the principal */
    const char *tenant;         /* rn_conn_user: the user permissions are checked for */
    bool admin;                 /* auth.admins: may do everything */
    zp_perm need;               /* what the op needs on the note it names */
} zp_req;

/* Where a frame goes once its change is saved. */
typedef enum {
    ZP_TO_SENDER,   /* the connection that asked */
    ZP_TO_WATCHERS, /* every connection watching the note */
    ZP_TO_OTHERS,   /* every watcher but the sender */
} zp_target;

typedef struct zp_ack zp_ack;

typedef struct {
    rn_host *host;
    char path[128];
    unsigned max_notes, max_paragraphs, max_watchers;
    uint64_t note_ttl_ms, progress_ms, store_bytes, max_note_bytes;
    char notebook_dir[1024];
    char default_interpreter[64];
    cJSON *interpreters; /* name -> runnel language, "text" or "" */
    zp_note *notes;      /* every note, most recently used first */
    unsigned nnotes;
    zp_conn *conns;
    zp_store *store;
} zp_globals;

extern zp_globals zp_g;

/* ---- the host (env_zeppelin.c) ---- */

/* The job limits in force now (they change on a reload). */
const rn_jobs_limits *zp_host_limits(void);

/* The language specs in force now. */
const rn_specs *zp_host_specs(void);

/* ---- frames (env_zeppelin.c) ---- */

/* Start a frame {"op":op,"data": ...; the data follows. */
void zp_frame_begin(rn_jbuf *b, const char *op);

/* Close a frame with the envelope fields; msgid NULL for broadcasts. */
void zp_frame_end(rn_jbuf *b, const char *msgid);

/* End a frame, send it to c and free it. */
void zp_frame_send(rn_jbuf *b, rn_conn *c, const char *msgid);

/* Send one ended frame to c if it is open. */
void zp_send_raw(rn_conn *c, const rn_jbuf *b);

/* ERROR_INFO {info} to c. */
void zp_send_error(rn_conn *c, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A client string as a JSON string, repaired if it is not UTF-8. */
void zp_jstr(rn_jbuf *b, const char *s);

/* An ended frame to every watcher of n, and to runner if it does not watch. */
void zp_broadcast(const zp_note *n, rn_conn *runner, const rn_jbuf *b);

/* The PARAGRAPH {paragraph} broadcast frame (ended) into b. */
void zp_para_frame(rn_jbuf *b, const zp_para *p);

/* PARAGRAPH {paragraph} to the note's watchers (and runner). */
void zp_broadcast_para(zp_para *p, rn_conn *runner);

/* PROGRESS {id, progress} likewise. */
void zp_broadcast_progress(zp_para *p, rn_conn *runner, int progress);

/* Write the wire's note object. */
void zp_write_note(rn_jbuf *b, const zp_note *n);

/* Write the wire's paragraph object. */
void zp_write_para(rn_jbuf *b, const zp_para *p);

/* NOTES_INFO {notes:[{id, path}]} into b (ended): the notes user (admin:
 * in auth.admins) may read. */
void zp_notes_info(rn_jbuf *b, const char *msgid, const char *user, bool admin);

/* [{id, path}] of the notes user may read, into b. */
void zp_notes_list(rn_jbuf *b, const char *user, bool admin);

/* ---- tenants (env_zeppelin.c) ---- */

/* Whether the user of connection c may do need on n. */
bool zp_conn_may(const rn_conn *c, const zp_note *n, zp_perm need);

/* Whether the request's user may do need on n. */
bool zp_may(const zp_req *r, const zp_note *n, zp_perm need);

/* The same, and when not, AUTH_INFO {info} as Zeppelin words it to the
 * sender. */
bool zp_check(zp_req *r, const zp_note *n, zp_perm need);

/* ---- notes (zeppelin_book.c) ---- */

/* Read every note file of the notebook directory (at start). */
void zp_notes_load(void);

/* Drop the paragraphs of notes idle past the idle time from memory. */
void zp_notes_expire(void);

/* The note with this id, loaded or not, or NULL. */
zp_note *zp_note_find(const char *id);

/* The note with this id (loaded from disk if it was dropped from memory),
 * or NULL; *err tells why (-ENOENT unknown, or reading failed). */
zp_note *zp_note_get(const char *id, int *err);

/* A new loaded note at path, counted against the limits, private to owner
 * (all four permission sets [owner]); -ENOSPC when there are too many
 * notes, -EEXIST when the path is taken, -ENOMEM. */
int zp_note_create(const char *path, const char *owner, zp_note **out);

/* The note with this path, or NULL. */
zp_note *zp_note_at(const char *path, const zp_note *except);

/* Drop a note from memory and from the list (not from disk). */
void zp_note_drop(zp_note *n);

/* Mark n used now (LRU). */
void zp_note_touch(zp_note *n);

/* Drop idle notes from memory until extra more bytes fit the store
 * budget; false when they cannot. */
bool zp_notes_make_room(const zp_note *keep, size_t extra);

/* Whether the note is over max_note_bytes (extra coming). */
bool zp_note_too_big(const zp_note *n, size_t extra);

/* Make zc watch n (and no other note); -EUSERS when n has too many. */
int zp_watch(zp_conn *zc, zp_note *n);

/* Stop zc watching its note. */
void zp_unwatch(zp_conn *zc);

/* An acknowledgement: frames held until the request's change is saved,
 * then sent; when the save fails the sender gets ERROR_INFO instead.
 * NULL when out of memory (then nothing is owed). */
zp_ack *zp_ack_new(zp_req *r, const zp_note *n);

/* An acknowledgement of a REST request: once saved, the frames are sent
 * and h gets 200 {"status":"OK"}; when the save fails, 500. NULL when out
 * of memory (after a 500). */
zp_ack *zp_ack_http(rn_http *h, const zp_note *n);

/* Add an ended frame (copied) for target. */
void zp_ack_frame(zp_ack *a, zp_target target, const rn_jbuf *b);

/* NOTES_INFO to every connection now, each with the notes its user may
 * read. */
void zp_notes_info_all(void);

/* A note's version from the shared store (another node saved it): taken
 * when newer than this node's and this node is not using the note (1),
 * else 0, or -EBUSY (used here: try again later), -ENOMEM. */
int zp_notes_apply_shared(const char *id, const char *rel, const char *data, size_t len,
                          int64_t updated_ms);

/* Watchers that may no longer read n stop watching it. */
void zp_note_unwatch_unreaders(zp_note *n);

/* A note gone from the shared store (another node deleted it): 1 when
 * taken out here (its watchers stop watching it), -EBUSY while a run, a
 * save or an unsaved change holds it here. */
int zp_notes_remove_shared(zp_note *n);

/* Send NOTES_INFO to every connection once saved. */
void zp_ack_notes_info(zp_ack *a);

/* Save n to its file (renaming the file when its path changed); a (may be
 * NULL) is delivered after. */
void zp_note_save(zp_note *n, zp_ack *a);

/* Delete n: out of the list and unwatched now, its file removed, then a
 * delivered and the note freed; when the file cannot be removed the note
 * comes back and the sender gets ERROR_INFO. n must run nothing. */
void zp_note_delete(zp_note *n, zp_ack *a);

/* The note limits for parsing. */
void zp_limits(zp_note_limits *lim);

/* ---- HTTP (env_zeppelin.c) ---- */

/* A JSON answer. */
void zp_http_json(rn_http *h, int status, const char *body);

/* {"status":"OK","message":message,"body":body}. */
void zp_http_ok(rn_http *h, const char *message, const char *body);

/* {"status":status,"message":message} with the HTTP code. */
void zp_http_fail(rn_http *h, int code, const char *status, const char *message);

/* ---- REST on notes (zeppelin_rest.c) ---- */

/* GET /api/notebook, GET /api/notebook/{id}, GET
 * /api/notebook/{id}/paragraph/{pid}, GET and PUT
 * /api/notebook/{id}/permissions. */
void zp_rest_notebook(void *state, rn_http *h);
void zp_rest_note(void *state, rn_http *h);
void zp_rest_paragraph(void *state, rn_http *h);
void zp_rest_get_permissions(void *state, rn_http *h);
void zp_rest_put_permissions(void *state, rn_http *h);

/* ---- requests (env_zeppelin.c) ---- */

/* Whether data is an object (else ERROR_INFO was sent). */
bool zp_need_data(zp_req *r);

/* A string id field that must be there (else ERROR_INFO was sent). */
const char *zp_need_id(zp_req *r, const char *key, const char *what);

/* A string field of data, or NULL. */
const char *zp_str(const cJSON *data, const char *key);

/* The note with this id (read back from its file if need be), or NULL
 * after ERROR_INFO "No such note: ID" (or why it could not be read), or
 * AUTH_INFO when the request's user may not do r->need on it. */
zp_note *zp_note_or_error(zp_req *r, const char *id);

/* The note a request means: data[key] when given, else the one the
 * connection watches; create makes a note at "/<noteId>" when absent
 * (the user's own). r->need is checked on a note that exists. NULL after
 * an error was sent. */
zp_note *zp_request_note(zp_req *r, const char *key, bool create);

/* ---- runs (zeppelin_run.c) ---- */

/* A Zeppelin interpreter name onto a runnel spec; *text when it echoes. */
const rn_spec *zp_resolve(const char *name, bool *text);

/* Start one RUN_PARAGRAPH whose data is checked, on note n. */
void zp_start_request(zp_conn *zc, zp_note *n, cJSON *data, const char *user, const char *msgid);

/* Cancel every run and pending run of n (and a RUN_ALL in progress). */
void zp_cancel_note(zp_note *n, const char *why);

/* Free a pending run. */
void zp_pending_free(struct zp_pending *pd);

/* Run the paragraphs of RUN_ALL_PARAGRAPHS one after the other. */
void zp_op_run_all(zp_req *r);

/* RUN_PARAGRAPH, CANCEL_PARAGRAPH, CANCEL_ALL_PARAGRAPHS. */
void zp_op_run_paragraph(zp_req *r);
void zp_op_cancel_paragraph(zp_req *r);
void zp_op_cancel_all(zp_req *r);

/* ---- note ops (zeppelin_note_ops.c) ---- */
void zp_op_get_note(zp_req *r);
void zp_op_reload_note(zp_req *r);
void zp_op_list_notes(zp_req *r);
void zp_op_home_note(zp_req *r);
void zp_op_new_note(zp_req *r);
void zp_op_del_note(zp_req *r);
void zp_op_trash_note(zp_req *r);
void zp_op_restore_note(zp_req *r);
void zp_op_rename_note(zp_req *r);
void zp_op_clone_note(zp_req *r);
void zp_op_import_note(zp_req *r);
void zp_op_update_note(zp_req *r);
void zp_op_save_note_forms(zp_req *r);
void zp_op_remove_note_forms(zp_req *r);
void zp_op_clear_all_output(zp_req *r);
void zp_op_revisions(zp_req *r);
void zp_op_note_revision(zp_req *r);
void zp_op_personalized_mode(zp_req *r);

/* ---- folder ops (zeppelin_folder_ops.c) ---- */
void zp_op_rename_folder(zp_req *r);
void zp_op_trash_folder(zp_req *r);
void zp_op_restore_folder(zp_req *r);
void zp_op_remove_folder(zp_req *r);
void zp_op_empty_trash(zp_req *r);
void zp_op_restore_all(zp_req *r);

/* ---- paragraph and editor ops (zeppelin_para_ops.c), interpreter ops
 * (zeppelin_info_ops.c) ---- */
void zp_op_insert_paragraph(zp_req *r);
void zp_op_commit_paragraph(zp_req *r);
void zp_op_copy_paragraph(zp_req *r);
void zp_op_remove_paragraph(zp_req *r);
void zp_op_move_paragraph(zp_req *r);
void zp_op_clear_output(zp_req *r);
void zp_op_patch_paragraph(zp_req *r);
void zp_op_completion(zp_req *r);
void zp_op_editor_setting(zp_req *r);
void zp_op_bindings(zp_req *r);
void zp_op_save_bindings(zp_req *r);
void zp_op_interpreter_settings(zp_req *r);
void zp_op_list_configurations(zp_req *r);

/* The Ace editor mode of a language, for the clients' editors. */
const char *zp_editor_language(const char *target);

#endif
