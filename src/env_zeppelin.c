/* The Zeppelin envelope: Apache Zeppelin's notebook WebSocket at /ws (see
 * docs/zeppelin.md). Frames are {op, data, principal, ticket, roles, msgId}.
 *
 * Notes have a path ("/team/demo") and live as Zeppelin's own .zpln files in
 * the notebook directory (zeppelin_store.c), read at start. Every change
 * Zeppelin persists is written there off the loop, and the frames that
 * acknowledge it (to the sender, the note's watchers, NOTES_INFO to every
 * connection) go out only once it is on disk. Memory holds every note's id
 * and path; paragraphs of idle notes are dropped after an idle time or
 * when the memory budget is spent, and read back from the file when asked
 * for.
 *
 * A connection watches one note (the last it opened or ran a paragraph
 * in) and gets that note's broadcasts. Runs: zeppelin_run.c. Ops on notes:
 * zeppelin_note_ops.c; on paragraphs and editors: zeppelin_para_ops.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "zeppelin_env.h"
#include "zeppelin_shared.h"
#include "zeppelin_text.h"

zp_globals zp_g = {
    .path = "/ws",
    .max_notes = 256,
    .max_paragraphs = 100,
    .max_watchers = 16,
    .note_ttl_ms = 3600000,
    .progress_ms = 500,
    .store_bytes = 64u << 20,
    .max_note_bytes = 8u << 20,
    .default_interpreter = "python",
};
#define G zp_g

/* ---------------------------------------------------------------- host */

const rn_jobs_limits *zp_host_limits(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    return info.limits;
}

const rn_specs *zp_host_specs(void)
{
    return rn_host_specs(G.host);
}

/* ---------------------------------------------------------------- frames */

void zp_jstr(rn_jbuf *b, const char *s)
{
    rn_jbuf_jstr_safe(b, s, strlen(s));
}

void zp_frame_begin(rn_jbuf *b, const char *op)
{
    rn_jbuf_init(b, 0);
    rn_jbuf_printf(b, "{\"op\":\"%s\",\"data\":", op);
}

/* Server-made messages carry Zeppelin's default ticket/principal/roles;
 * replies to a request echo its msgId, broadcasts have none. */
void zp_frame_end(rn_jbuf *b, const char *msgid)
{
    rn_jbuf_str(b, ",\"ticket\":\"anonymous\",\"principal\":\"anonymous\",\"roles\":\"\"");
    if (msgid) {
        rn_jbuf_key(b, "msgId");
        zp_jstr(b, msgid);
    }
    rn_jbuf_str(b, "}");
}

void zp_send_raw(rn_conn *c, const rn_jbuf *b)
{
    if (!b->oom && b->data && rn_conn_open(c))
        rn_conn_send(c, b->data, b->len);
}

void zp_frame_send(rn_jbuf *b, rn_conn *c, const char *msgid)
{
    zp_frame_end(b, msgid);
    zp_send_raw(c, b);
    rn_jbuf_free(b);
}

void zp_send_error(rn_conn *c, const char *msgid, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rn_jbuf b;
    zp_frame_begin(&b, "ERROR_INFO");
    rn_jbuf_str(&b, "{\"info\":");
    zp_jstr(&b, msg);
    rn_jbuf_str(&b, "}");
    zp_frame_send(&b, c, msgid);
}

static bool watched_by(const zp_note *n, const rn_conn *c)
{
    for (unsigned i = 0; i < n->nwatchers; i++)
        if (n->watchers[i] == c)
            return true;
    return false;
}

/* Only to connections whose user may still read the note (permissions
 * may have changed since they opened it). */
void zp_broadcast(const zp_note *n, rn_conn *runner, const rn_jbuf *b)
{
    for (unsigned i = 0; i < n->nwatchers; i++)
        if (zp_conn_may(n->watchers[i], n, ZP_PERM_READ))
            zp_send_raw(n->watchers[i], b);
    if (runner && !watched_by(n, runner) && zp_conn_may(runner, n, ZP_PERM_READ))
        zp_send_raw(runner, b);
}

static zp_write_opts wire_opts(bool snapshot)
{
    zp_write_opts o = {false, snapshot, G.progress_ms, G.default_interpreter};
    return o;
}

void zp_write_para(rn_jbuf *b, const zp_para *p)
{
    zp_write_opts o = wire_opts(false);
    zp_para_write(b, p, &o);
}

void zp_write_note(rn_jbuf *b, const zp_note *n)
{
    zp_write_opts o = wire_opts(true);
    zp_note_write(b, n, &o);
}

void zp_para_frame(rn_jbuf *b, const zp_para *p)
{
    zp_frame_begin(b, "PARAGRAPH");
    rn_jbuf_str(b, "{\"paragraph\":");
    zp_write_para(b, p);
    rn_jbuf_str(b, "}");
    zp_frame_end(b, NULL);
}

void zp_broadcast_para(zp_para *p, rn_conn *runner)
{
    rn_jbuf b;
    zp_para_frame(&b, p);
    zp_broadcast(p->note, runner, &b);
    rn_jbuf_free(&b);
}

void zp_broadcast_progress(zp_para *p, rn_conn *runner, int progress)
{
    rn_jbuf b;
    p->progress = progress;
    zp_frame_begin(&b, "PROGRESS");
    rn_jbuf_str(&b, "{\"id\":");
    zp_jstr(&b, p->id);
    rn_jbuf_printf(&b, ",\"progress\":%d}", progress);
    zp_frame_end(&b, NULL);
    zp_broadcast(p->note, runner, &b);
    rn_jbuf_free(&b);
}

void zp_notes_list(rn_jbuf *b, const char *user, bool admin)
{
    bool first = true;
    rn_jbuf_str(b, "[");
    for (const zp_note *n = G.notes; n; n = n->next) {
        if (!zp_perms_allow(n->perms, ZP_PERM_READ, user, admin))
            continue;
        rn_jbuf_str(b, first ? "{\"id\":" : ",{\"id\":");
        zp_jstr(b, n->id);
        rn_jbuf_str(b, ",\"path\":");
        zp_jstr(b, n->path);
        rn_jbuf_str(b, "}");
        first = false;
    }
    rn_jbuf_str(b, "]");
}

void zp_notes_info(rn_jbuf *b, const char *msgid, const char *user, bool admin)
{
    zp_frame_begin(b, "NOTES_INFO");
    rn_jbuf_str(b, "{\"notes\":");
    zp_notes_list(b, user, admin);
    rn_jbuf_str(b, "}");
    zp_frame_end(b, msgid);
}

/* ---------------------------------------------------------------- tenants */

bool zp_conn_may(const rn_conn *c, const zp_note *n, zp_perm need)
{
    bool admin;
    if (!n->perms)
        return true;
    const char *user = rn_conn_user(c, &admin);
    return zp_perms_allow(n->perms, need, user, admin);
}

bool zp_may(const zp_req *r, const zp_note *n, zp_perm need)
{
    return zp_perms_allow(n->perms, need, r->tenant, r->admin);
}

bool zp_check(zp_req *r, const zp_note *n, zp_perm need)
{
    if (zp_may(r, n, need))
        return true;
    char info[ZP_PERM_BYTES_MAX + 1024];
    zp_perms_denial(n->perms, need, r->tenant, info, sizeof(info));
    rn_log(RN_LOG_INFO, "zeppelin.denied", "conn=%lu user=\"%.128s\" op=%.64s note=%.64s need=%s",
           rn_conn_id(r->c), r->tenant, r->op, n->id, zp_perm_name(need));
    rn_jbuf b;
    zp_frame_begin(&b, "AUTH_INFO");
    rn_jbuf_str(&b, "{\"info\":");
    zp_jstr(&b, info);
    rn_jbuf_str(&b, "}");
    zp_frame_send(&b, r->c, r->msgid);
    return false;
}

/* ---------------------------------------------------------------- requests */

bool zp_need_data(zp_req *r)
{
    if (cJSON_IsObject(r->data))
        return true;
    zp_send_error(r->c, r->msgid, "%s: %s", r->op,
                  r->data ? "field 'data' must be an object" : "missing field 'data'");
    return false;
}

const char *zp_need_id(zp_req *r, const char *key, const char *what)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->data, key);
    if (!j || cJSON_IsNull(j)) {
        zp_send_error(r->c, r->msgid, "%s: missing %s ('%s')", r->op, what, key);
        return NULL;
    }
    if (!cJSON_IsString(j) || !zp_valid_id(j->valuestring)) {
        zp_send_error(r->c, r->msgid,
                      "%s: %s ('%s') must be a string of 1 to %d printable characters", r->op, what,
                      key, ZP_ID_MAX);
        return NULL;
    }
    return j->valuestring;
}

const char *zp_str(const cJSON *data, const char *key)
{
    const cJSON *j = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

zp_note *zp_note_or_error(zp_req *r, const char *id)
{
    int err;
    /* Permissions stay in memory: checked before the file is read. */
    zp_note *n = zp_note_find(id);
    if (n && !zp_check(r, n, r->need))
        return NULL;
    if (n)
        n = zp_note_get(id, &err);
    else
        err = -ENOENT;
    if (!n && err == -ENOENT)
        zp_send_error(r->c, r->msgid, "No such note: %s", id);
    else if (!n)
        zp_send_error(r->c, r->msgid, "Note %s could not be read: %s", id, strerror(-err));
    return n;
}

zp_note *zp_request_note(zp_req *r, const char *key, bool create)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->data, key);
    const char *nid = NULL;
    if (j && !cJSON_IsNull(j)) {
        if (!(nid = zp_need_id(r, key, "note id")))
            return NULL;
        if (!create || zp_note_find(nid))
            return zp_note_or_error(r, nid);
    } else if (r->zc->note) {
        return zp_check(r, r->zc->note, r->need) ? r->zc->note : NULL;
    } else if (!create) {
        zp_send_error(r->c, r->msgid, "%s: no note: give '%s' or GET_NOTE first", r->op, key);
        return NULL;
    }
    /* A run with no note open: a note of its own, named after its id. */
    char path[ZP_ID_MAX + 2], gen[16];
    if (!nid) {
        zp_note_id_new(gen);
        nid = gen;
    }
    snprintf(path, sizeof(path), "/%s", nid);
    zp_note *n = NULL;
    int err = zp_note_create(path, r->tenant, &n);
    if (!err && strcmp(n->id, nid)) {
        char *id = strdup(nid);
        if (id) {
            free(n->id);
            n->id = id;
        } else {
            zp_note_drop(n);
            err = -ENOMEM;
        }
    }
    if (err == -ENOSPC)
        zp_send_error(r->c, r->msgid, "Too many notes (limit %u: zeppelin.max_notes)", G.max_notes);
    else if (err == -EEXIST)
        zp_send_error(r->c, r->msgid, "Note '%s' existed", path);
    else if (err < 0)
        zp_send_error(r->c, r->msgid, "Out of memory");
    return err ? NULL : n;
}

/* ---------------------------------------------------------------- dispatch */

/* Each op with the permission it needs on the note it names (as
 * Zeppelin's NotebookService checks them; folder ops check each note
 * below the folder, see zeppelin_folder_ops.c). */
typedef struct {
    const char *op;
    void (*fn)(zp_req *);
    zp_perm need;
} zp_op_entry;

static const zp_op_entry ops[] = {
    {"RUN_PARAGRAPH", zp_op_run_paragraph, ZP_PERM_RUN},
    {"RUN_ALL_PARAGRAPHS", zp_op_run_all, ZP_PERM_RUN},
    {"CANCEL_PARAGRAPH", zp_op_cancel_paragraph, ZP_PERM_RUN},
    {"CANCEL_ALL_PARAGRAPHS", zp_op_cancel_all, ZP_PERM_RUN},
    {"GET_NOTE", zp_op_get_note, ZP_PERM_READ},
    {"RELOAD_NOTE", zp_op_reload_note, ZP_PERM_READ},
    {"LIST_NOTES", zp_op_list_notes, ZP_PERM_NONE},
    {"RELOAD_NOTES_FROM_REPO", zp_op_list_notes, ZP_PERM_NONE},
    {"GET_HOME_NOTE", zp_op_home_note, ZP_PERM_NONE},
    {"NEW_NOTE", zp_op_new_note, ZP_PERM_NONE},
    {"DEL_NOTE", zp_op_del_note, ZP_PERM_OWN},
    {"MOVE_NOTE_TO_TRASH", zp_op_trash_note, ZP_PERM_OWN},
    {"RESTORE_NOTE", zp_op_restore_note, ZP_PERM_WRITE},
    {"NOTE_RENAME", zp_op_rename_note, ZP_PERM_OWN},
    {"CLONE_NOTE", zp_op_clone_note, ZP_PERM_READ},
    {"IMPORT_NOTE", zp_op_import_note, ZP_PERM_NONE},
    {"NOTE_UPDATE", zp_op_update_note, ZP_PERM_WRITE},
    {"FOLDER_RENAME", zp_op_rename_folder, ZP_PERM_OWN},
    {"MOVE_FOLDER_TO_TRASH", zp_op_trash_folder, ZP_PERM_OWN},
    {"RESTORE_FOLDER", zp_op_restore_folder, ZP_PERM_WRITE},
    {"REMOVE_FOLDER", zp_op_remove_folder, ZP_PERM_OWN},
    {"EMPTY_TRASH", zp_op_empty_trash, ZP_PERM_OWN},
    {"RESTORE_ALL", zp_op_restore_all, ZP_PERM_WRITE},
    {"SAVE_NOTE_FORMS", zp_op_save_note_forms, ZP_PERM_WRITE},
    {"REMOVE_NOTE_FORMS", zp_op_remove_note_forms, ZP_PERM_WRITE},
    {"PARAGRAPH_CLEAR_ALL_OUTPUT", zp_op_clear_all_output, ZP_PERM_WRITE},
    {"LIST_REVISION_HISTORY", zp_op_revisions, ZP_PERM_READ},
    {"CHECKPOINT_NOTE", zp_op_revisions, ZP_PERM_WRITE},
    {"NOTE_REVISION", zp_op_note_revision, ZP_PERM_READ},
    {"GET_NOTE_REVISION", zp_op_note_revision, ZP_PERM_READ},
    {"NOTE_REVISION_FOR_COMPARE", zp_op_note_revision, ZP_PERM_READ},
    {"UPDATE_PERSONALIZED_MODE", zp_op_personalized_mode, ZP_PERM_WRITE},
    {"INSERT_PARAGRAPH", zp_op_insert_paragraph, ZP_PERM_WRITE},
    {"COMMIT_PARAGRAPH", zp_op_commit_paragraph, ZP_PERM_WRITE},
    {"COPY_PARAGRAPH", zp_op_copy_paragraph, ZP_PERM_WRITE},
    {"PARAGRAPH_REMOVE", zp_op_remove_paragraph, ZP_PERM_WRITE},
    {"MOVE_PARAGRAPH", zp_op_move_paragraph, ZP_PERM_WRITE},
    {"PARAGRAPH_CLEAR_OUTPUT", zp_op_clear_output, ZP_PERM_WRITE},
    {"PATCH_PARAGRAPH", zp_op_patch_paragraph, ZP_PERM_WRITE},
    {"COMPLETION", zp_op_completion, ZP_PERM_NONE},
    {"EDITOR_SETTING", zp_op_editor_setting, ZP_PERM_NONE},
    {"LIST_CONFIGURATIONS", zp_op_list_configurations, ZP_PERM_NONE},
    {"GET_INTERPRETER_BINDINGS", zp_op_bindings, ZP_PERM_NONE},
    {"SAVE_INTERPRETER_BINDINGS", zp_op_save_bindings, ZP_PERM_WRITE},
    {"GET_INTERPRETER_SETTINGS", zp_op_interpreter_settings, ZP_PERM_NONE},
};

/* Sent by the web clients on their own and answered by nothing upstream
 * either (keep-alive, the job manager, the watcher role, angular objects
 * no runnel interpreter reads). */
static const char *const quiet[] = {
    "PING",
    "LIST_NOTE_JOBS",
    "UNSUBSCRIBE_UPDATE_NOTE_JOBS",
    "WATCHER",
    "LIST_UPDATE_NOTE_JOBS",
    "ANGULAR_OBJECT_UPDATED",
    "ANGULAR_OBJECT_CLIENT_BIND",
    "ANGULAR_OBJECT_CLIENT_UNBIND",
};

static void zp_ws_message(void *state, rn_conn *c, const char *msg, size_t len, bool binary)
{
    (void)state;
    zp_req r;
    memset(&r, 0, sizeof(r));
    r.c = c;
    r.zc = rn_conn_data(c);
    zp_notes_expire();
    if (binary) {
        zp_send_error(c, NULL, "Invalid message: binary frames are not supported");
        return;
    }
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!root) {
        zp_send_error(c, NULL, "Invalid message: not valid JSON");
        return;
    }
    if (!cJSON_IsObject(root)) {
        zp_send_error(c, NULL, "Invalid message: expected a JSON object");
        goto out;
    }
    r.msgid = zp_str(root, "msgId");
    if (r.msgid && strlen(r.msgid) > ZP_ID_MAX)
        r.msgid = NULL;
    r.tenant = rn_conn_user(c, &r.admin);
    /* A named tenant is the paragraphs' user; anonymous clients name
     * themselves (the principal), as before tenants. */
    const char *principal = zp_str(root, "principal");
    if (strcmp(r.tenant, "anonymous"))
        principal = r.tenant;
    snprintf(r.user, sizeof(r.user), "%s",
             principal && principal[0] && strlen(principal) <= ZP_USER_MAX ? principal
                                                                           : "anonymous");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(root, "op");
    if (!op) {
        zp_send_error(c, r.msgid, "Invalid message: missing field 'op'");
        goto out;
    }
    if (!cJSON_IsString(op)) {
        zp_send_error(c, r.msgid, "Invalid message: field 'op' must be a string");
        goto out;
    }
    r.op = op->valuestring;
    r.data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (cJSON_IsNull(r.data))
        r.data = NULL;
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        if (!strcmp(r.op, quiet[i]))
            goto out;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (!strcmp(r.op, ops[i].op)) {
            r.need = ops[i].need;
            ops[i].fn(&r);
            goto out;
        }
    }
    zp_send_error(c, r.msgid, "Unknown or unsupported op: %.64s", r.op);
out:
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------- conns */

static void conn_free(void *p)
{
    free(p);
}

static int zp_ws_open(void *state, rn_conn *c)
{
    (void)state;
    zp_conn *zc = calloc(1, sizeof(*zc));
    if (!zc)
        return -ENOMEM;
    zc->conn = c;
    zc->next = G.conns;
    if (G.conns)
        G.conns->prev = zc;
    G.conns = zc;
    rn_conn_set_data(c, zc, conn_free);
    return 0;
}

static void zp_ws_close(void *state, rn_conn *c)
{
    (void)state;
    zp_conn *zc = rn_conn_data(c);
    if (!zc)
        return;
    zp_unwatch(zc);
    if (zc->prev)
        zc->prev->next = zc->next;
    else if (G.conns == zc)
        G.conns = zc->next;
    if (zc->next)
        zc->next->prev = zc->prev;
    zc->next = zc->prev = NULL;
}

static const char *zp_path_of(void *state)
{
    (void)state;
    return G.path;
}

/* ---------------------------------------------------------------- HTTP */

/* The REST calls the web clients make when they start, answered as a
 * Zeppelin server with no plugins and no revision storage answers them. */

void zp_http_json(rn_http *h, int status, const char *body)
{
    rn_http_reply(h, status, "application/json", body, strlen(body));
}

void zp_http_fail(rn_http *h, int code, const char *status, const char *message)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"status\":");
    rn_jbuf_jcstr(&b, status);
    rn_jbuf_str(&b, ",\"message\":");
    zp_jstr(&b, message);
    rn_jbuf_str(&b, "}");
    if (b.oom)
        zp_http_json(h, 500, "{\"status\":\"INTERNAL_SERVER_ERROR\",\"message\":\"\"}");
    else
        rn_http_reply(h, code, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

void zp_http_ok(rn_http *h, const char *message, const char *body)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"status\":\"OK\",\"message\":");
    rn_jbuf_jcstr(&b, message);
    rn_jbuf_str(&b, ",\"body\":");
    rn_jbuf_str(&b, body);
    rn_jbuf_str(&b, "}");
    if (b.oom)
        zp_http_json(h, 500, "{\"status\":\"INTERNAL_SERVER_ERROR\",\"message\":\"\"}");
    else
        rn_http_reply(h, 200, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void zp_ticket(void *state, rn_http *h)
{
    (void)state;
    zp_http_ok(h, "", "{\"principal\":\"anonymous\",\"roles\":\"[]\",\"ticket\":\"anonymous\"}");
}

static void zp_version(void *state, rn_http *h)
{
    (void)state;
    zp_http_ok(h, "Zeppelin version",
               "{\"version\":\"" RUNNEL_VERSION
               "\",\"git-commit-id\":\"\",\"git-timestamp\":\"\"}");
}

static void zp_client_conf(void *state, rn_http *h)
{
    char body[96];
    rn_host_info info;
    (void)state;
    rn_host_info_get(G.host, &info);
    snprintf(body, sizeof(body), "{\"wsMaxMessageSize\":%llu}",
             (unsigned long long)info.message_bytes);
    zp_http_ok(h, "", body);
}

static void zp_capabilities(void *state, rn_http *h)
{
    (void)state;
    zp_http_ok(h, "", "{\"isRevisionSupported\":false}");
}

static void zp_empty_list(void *state, rn_http *h)
{
    (void)state;
    zp_http_ok(h, "", "[]");
}

static void zp_empty_object(void *state, rn_http *h)
{
    (void)state;
    zp_http_ok(h, "", "{}");
}

/* Errors as Zeppelin's REST layer words them. */
static void zp_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    (void)message;
    if (status == 405)
        zp_http_json(h, 405, "{\"status\":\"METHOD_NOT_ALLOWED\",\"message\":\"\"}");
    else if (status == 426)
        zp_http_json(h, 426, "{\"status\":\"UPGRADE_REQUIRED\",\"message\":\"WebSocket only\"}");
    else if (status == 413)
        zp_http_json(h, 413, "{\"status\":\"PAYLOAD_TOO_LARGE\",\"message\":\"\"}");
    else
        zp_http_json(h, 404, "{\"status\":\"NOT_FOUND\",\"message\":\"\"}");
}

/* ---------------------------------------------------------------- config */

/* The zeppelin section of the configuration. */
typedef struct {
    char path[128];
    char notebook_dir[1024];
    uint64_t max_notes, max_paragraphs, max_watchers, max_note_bytes;
    uint64_t note_ttl_ms, progress_interval_ms, store_bytes;
    char default_interpreter[64];
    cJSON *interpreters;
} zp_conf;

static int check_interpreters(const zp_conf *c, char *err, size_t size)
{
    const rn_specs *specs = rn_host_specs(G.host);
    const cJSON *map = c->interpreters;
    if (map) {
        if (!cJSON_IsObject(map)) {
            snprintf(err, size, "zeppelin.interpreters must be an object of name: language");
            return -EINVAL;
        }
        for (const cJSON *it = map->child; it; it = it->next) {
            if (!cJSON_IsString(it) || strlen(it->string) >= 64 || !it->string[0] ||
                (it->valuestring[0] && strcmp(it->valuestring, ZP_TARGET_TEXT) && specs &&
                 !rn_specs_find(specs, it->valuestring))) {
                snprintf(err, size,
                         "zeppelin.interpreters.%.64s must name a runnel language, \"text\" or "
                         "\"\"",
                         it->string);
                return -EINVAL;
            }
        }
        cJSON_Delete(G.interpreters);
        if (!(G.interpreters = cJSON_Duplicate(map, 1))) {
            snprintf(err, size, "out of memory");
            return -ENOMEM;
        }
    }
    bool text;
    if (!c->default_interpreter[0]) {
        snprintf(err, size, "zeppelin.default_interpreter must be an interpreter name");
        return -EINVAL;
    }
    snprintf(G.default_interpreter, sizeof(G.default_interpreter), "%s", c->default_interpreter);
    if (specs && !zp_resolve(G.default_interpreter, &text) && !text &&
        strcmp(G.default_interpreter, "python")) {
        snprintf(err, size, "zeppelin.default_interpreter: unknown interpreter '%.64s'",
                 c->default_interpreter);
        return -EINVAL;
    }
    return 0;
}

static int zp_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    const zp_conf *c = conf;
    G.host = host;
    *state = &G;
    G.max_notes = (unsigned)c->max_notes;
    G.max_paragraphs = (unsigned)c->max_paragraphs;
    G.max_watchers = (unsigned)c->max_watchers;
    G.max_note_bytes = c->max_note_bytes;
    G.note_ttl_ms = c->note_ttl_ms;
    G.progress_ms = c->progress_interval_ms;
    G.store_bytes = c->store_bytes;
    if (c->path[0] != '/') {
        snprintf(err, size, "zeppelin.path must be a path starting with '/'");
        return -EINVAL;
    }
    snprintf(G.path, sizeof(G.path), "%s", c->path);
    int r = check_interpreters(c, err, size);
    if (r)
        return r;
    /* The embedded default: the state directory when run as root (the
     * packaged service's StateDirectory), else "notebook" in the working
     * directory, as Zeppelin keeps it in its home. */
    if (c->notebook_dir[0])
        snprintf(G.notebook_dir, sizeof(G.notebook_dir), "%s", c->notebook_dir);
    else
        snprintf(G.notebook_dir, sizeof(G.notebook_dir), "%s",
                 geteuid() == 0 ? "/var/lib/runnel/notebook" : "notebook");
    /* Started again (a check of a configuration): the notebook anew. */
    while (G.notes)
        zp_note_drop(G.notes);
    zp_store_free(G.store);
    G.store = NULL;
    /* A file may hold a note's text in JSON escapes: six bytes a byte. */
    if (zp_store_new(rn_host_loop(host), G.notebook_dir, G.max_note_bytes * 6 + 65536, &G.store) <
        0) {
        snprintf(err, size, "out of memory");
        return -ENOMEM;
    }
    zp_notes_load();
    zp_shared_sync_start();
    return 0;
}

static void zp_fini(void *state)
{
    (void)state;
    zp_shared_sync_stop();
    while (G.notes)
        zp_note_drop(G.notes);
    cJSON_Delete(G.interpreters);
    G.interpreters = NULL;
    zp_store_free(G.store);
    G.store = NULL;
}

static const rn_route zp_routes[] = {
    {"GET", "/api/security/ticket", 0, zp_ticket},
    {"GET", "/api/version", 0, zp_version},
    {"GET", "/api/configurations/client", 0, zp_client_conf},
    {"GET", "/api/notebook", 0, zp_rest_notebook},
    {"GET", "/api/notebook/capabilities", 0, zp_capabilities},
    {"GET", "/api/notebook/*", 0, zp_rest_note},
    {"GET", "/api/notebook/*/paragraph/*", 0, zp_rest_paragraph},
    {"GET", "/api/notebook/*/permissions", 0, zp_rest_get_permissions},
    {"PUT", "/api/notebook/*/permissions", 0, zp_rest_put_permissions},
    {"GET", "/api/helium/order/visualization", 0, zp_empty_list},
    {"GET", "/api/helium/enabledPackage", 0, zp_empty_list},
    {"GET", "/api/helium/package", 0, zp_empty_object},
    {"GET", "/api/helium/spell/config", 0, zp_empty_object},
    {"GET", "/api/notebook-repositories", 0, zp_empty_list},
    {0},
};

static const rn_ws_endpoint zp_ws[] = {
    {NULL, NULL, RN_ROUTE_CONFIGURED | RN_ROUTE_SLASH, NULL},
    {0},
};

static const rn_conf_key zp_keys[] = {
    RN_CONF_KEY_STR("path", zp_conf, path, "\"/ws\"", "the WebSocket path"),
    RN_CONF_KEY_STR("notebook_dir", zp_conf, notebook_dir, NULL,
                    "directory of the note files (default /var/lib/runnel/notebook as root, "
                    "else notebook)"),
    RN_CONF_KEY_U64("max_notes", zp_conf, max_notes, 1, 100000, "256",
                    "notes on the server (on disk), the trash included"),
    RN_CONF_KEY_U64("max_paragraphs", zp_conf, max_paragraphs, 1, 10000, "100",
                    "paragraphs per note"),
    RN_CONF_KEY_U64("max_note_bytes", zp_conf, max_note_bytes, 65536, 1ull << 32, "8388608",
                    "text, config and output of one note"),
    RN_CONF_KEY_U64("max_watchers", zp_conf, max_watchers, 1, 10000, "16",
                    "connections watching one note"),
    RN_CONF_KEY_U64("note_ttl_ms", zp_conf, note_ttl_ms, 1000, 30ull * 86400000, "3600000",
                    "an idle note is dropped from memory (not from disk) after this long"),
    RN_CONF_KEY_U64("progress_interval_ms", zp_conf, progress_interval_ms, 50, 600000, "500",
                    "PROGRESS frames while a paragraph runs"),
    RN_CONF_KEY_U64("store_bytes", zp_conf, store_bytes, 1 << 20, 1ull << 40, "67108864",
                    "bytes of notes kept in memory"),
    RN_CONF_KEY_STR("default_interpreter", zp_conf, default_interpreter, "\"python\"",
                    "interpreter of a paragraph without %magic"),
    RN_CONF_KEY_JSON("interpreters", zp_conf, interpreters,
                     "interpreter name -> runnel language, \"text\" or \"\" (refused)"),
};

const rn_envelope rn_env_zeppelin = {
    .name = "zeppelin",
    .keys = zp_keys,
    .nkeys = sizeof(zp_keys) / sizeof(zp_keys[0]),
    .conf_size = sizeof(zp_conf),
    .init = zp_init,
    .fini = zp_fini,
    .path_of = zp_path_of,
    .routes = zp_routes,
    .ws = zp_ws,
    .http_error = zp_http_error,
    .ws_open = zp_ws_open,
    .ws_message = zp_ws_message,
    .ws_close = zp_ws_close,
};
