/* The Zeppelin envelope's ops on whole notes, answered as Zeppelin's
 * NotebookServer answers them: NEW_NOTE and CLONE_NOTE get NEW_NOTE to the
 * sender, IMPORT_NOTE gets IMPORT_NOTE; rename, trash and restore send
 * NOTE to the note's watchers; every op that adds, moves or removes a note
 * sends NOTES_INFO to every connection. Each waits for the note file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zeppelin_env.h"

#define G zp_g

/* The note a request names by data[key]; NULL after an error was sent. */
static zp_note *named_note(zp_req *r, const char *key)
{
    if (!zp_need_data(r))
        return NULL;
    const char *id = zp_need_id(r, key, "note id");
    return id ? zp_note_or_error(r, id) : NULL;
}

/* {"note": ...} as op, ended, into b. */
static void note_frame(rn_jbuf *b, const char *op, const zp_note *n, const char *msgid)
{
    zp_frame_begin(b, op);
    rn_jbuf_str(b, "{\"note\":");
    zp_write_note(b, n);
    rn_jbuf_str(b, "}");
    zp_frame_end(b, msgid);
}

/* Queue one frame about n for target on the ack. */
static void ack_note(zp_ack *a, zp_target target, const char *op, const zp_note *n,
                     const char *msgid)
{
    rn_jbuf b;
    note_frame(&b, op, n, msgid);
    zp_ack_frame(a, target, &b);
    rn_jbuf_free(&b);
}

static void send_note(zp_req *r, zp_note *n)
{
    int err = zp_watch(r->zc, n);
    if (err == -EUSERS) {
        zp_send_error(r->c, r->msgid, "Note %s has too many watchers (limit %u)", n->id,
                      G.max_watchers);
        return;
    }
    if (err < 0) {
        zp_send_error(r->c, r->msgid, "Out of memory");
        return;
    }
    zp_note_touch(n);
    rn_jbuf b;
    note_frame(&b, "NOTE", n, r->msgid);
    zp_send_raw(r->c, &b);
    rn_jbuf_free(&b);
}

void zp_op_get_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (n)
        send_note(r, n);
}

void zp_op_reload_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    /* Read the file again when nothing in memory is newer than it (no run,
     * no write queued or failed). */
    if (n->file && !n->active && !n->saving && !n->runall && !n->dirty) {
        zp_note_unload(n);
        if (!(n = named_note(r, "id")))
            return;
    }
    send_note(r, n);
}

void zp_op_list_notes(zp_req *r)
{
    rn_jbuf b;
    zp_notes_info(&b, r->msgid, r->tenant, r->admin);
    zp_send_raw(r->c, &b);
    rn_jbuf_free(&b);
}

void zp_op_home_note(zp_req *r)
{
    rn_jbuf b;
    zp_unwatch(r->zc);
    zp_frame_begin(&b, "NOTE");
    rn_jbuf_str(&b, "{\"note\":null}");
    zp_frame_send(&b, r->c, r->msgid);
}

/* A normalized path from data[key] (blank: fallback); false after an
 * error was sent. */
static bool request_path(zp_req *r, const char *key, const char *fallback, const char *prefix,
                         char *out, size_t size)
{
    const cJSON *j =
        cJSON_IsObject(r->data) ? cJSON_GetObjectItemCaseSensitive(r->data, key) : NULL;
    char why[128], joined[ZP_PATH_MAX + 8];
    if (j && !cJSON_IsNull(j) && !cJSON_IsString(j)) {
        zp_send_error(r->c, r->msgid, "%s: '%s' must be a string", r->op, key);
        return false;
    }
    const char *name = cJSON_IsString(j) && j->valuestring[0] ? j->valuestring : fallback;
    if (strlen(name) >= ZP_PATH_MAX) {
        zp_send_error(r->c, r->msgid, "%s%s: note path too long (limit %d bytes)", prefix, r->op,
                      ZP_PATH_MAX);
        return false;
    }
    snprintf(joined, sizeof(joined), "%s", name);
    if (zp_path_normalize(joined, out, size, why, sizeof(why)) < 0) {
        zp_send_error(r->c, r->msgid, "%s%s", prefix, why);
        return false;
    }
    return true;
}

static void create_error(zp_req *r, int err, const char *path, const char *prefix)
{
    if (err == -ENOSPC)
        zp_send_error(r->c, r->msgid, "%sToo many notes (limit %u: zeppelin.max_notes)", prefix,
                      G.max_notes);
    else if (err == -EEXIST)
        zp_send_error(r->c, r->msgid, "%sNote '%s' existed", prefix, path);
    else
        zp_send_error(r->c, r->msgid, "%sOut of memory", prefix);
}

/* Save a new note, then NEW_NOTE/IMPORT_NOTE to the sender (now watching
 * it) and NOTES_INFO to all. */
static void save_new(zp_req *r, zp_note *n, const char *op)
{
    zp_watch(r->zc, n);
    zp_ack *a = zp_ack_new(r, n);
    ack_note(a, ZP_TO_SENDER, op, n, r->msgid);
    zp_ack_notes_info(a);
    zp_note_save(n, a);
}

void zp_op_new_note(zp_req *r)
{
    char path[ZP_PATH_MAX];
    const char *fail = "Failed to create note.\n";
    if (!request_path(r, "name", "", fail, path, sizeof(path)))
        return;
    const char *group = zp_str(r->data, "defaultInterpreterGroup");
    zp_note *n;
    zp_para *p;
    int err = zp_note_create(path, r->tenant, &n);
    if (err < 0) {
        create_error(r, err, path, fail);
        return;
    }
    if (group && strlen(group) < sizeof(n->group))
        snprintf(n->group, sizeof(n->group), "%s", group);
    /* Zeppelin gives a new note one empty paragraph. */
    if (zp_para_new(NULL, &p) < 0) {
        zp_note_drop(n);
        zp_send_error(r->c, r->msgid, "%sOut of memory", fail);
        return;
    }
    if (!(p->user = strdup(r->user))) {
        zp_para_free(p);
        zp_note_drop(n);
        zp_send_error(r->c, r->msgid, "%sOut of memory", fail);
        return;
    }
    zp_note_insert(n, p, 0);
    rn_log(RN_LOG_DEBUG, "zeppelin.note_created", "note=%s path=\"%.300s\"", n->id, n->path);
    save_new(r, n, "NEW_NOTE");
}

void zp_op_del_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    if (n->active || n->runall) {
        zp_send_error(r->c, r->msgid, "Note %s has paragraphs running; cancel them first", n->id);
        return;
    }
    zp_ack *a = zp_ack_new(r, n);
    zp_ack_notes_info(a);
    zp_note_delete(n, a);
}

/* Move n to path and save; NOTE to its watchers and NOTES_INFO to all. */
static void move_note(zp_req *r, zp_note *n, const char *path)
{
    if (zp_note_set_path(n, path) < 0) {
        zp_send_error(r->c, r->msgid, "Out of memory");
        return;
    }
    zp_ack *a = zp_ack_new(r, n);
    ack_note(a, ZP_TO_WATCHERS, "NOTE", n, NULL);
    zp_ack_notes_info(a);
    zp_note_save(n, a);
}

void zp_op_trash_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    char path[ZP_PATH_MAX + 64];
    snprintf(path, sizeof(path), "/%s%s", ZP_TRASH, n->path);
    if (zp_note_at(path, n)) {
        /* As Zeppelin: a name already in the trash gets the time. */
        zp_path_add_time(path, sizeof(path));
    }
    if (strlen(path) >= ZP_PATH_MAX) {
        zp_send_error(r->c, r->msgid, "Note path too long (limit %d bytes)", ZP_PATH_MAX);
        return;
    }
    move_note(r, n, path);
}

void zp_op_restore_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    if (!zp_note_in_trash(n)) {
        zp_send_error(r->c, r->msgid, "Can not restore this note %s as it is not in trash folder",
                      n->path);
        return;
    }
    char path[ZP_PATH_MAX];
    const char *rest = n->path + 1 + strlen(ZP_TRASH);
    snprintf(path, sizeof(path), "%s", rest[0] ? rest : "/Untitled Note");
    if (zp_note_at(path, n)) {
        zp_send_error(r->c, r->msgid, "Fail to restore note: %s: Note '%s' existed", n->id, path);
        return;
    }
    move_note(r, n, path);
}

void zp_op_rename_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    const char *name = zp_str(r->data, "name");
    if (!name) {
        zp_send_error(r->c, r->msgid, "%s: 'name' must be a string", r->op);
        return;
    }
    const cJSON *rel = cJSON_GetObjectItemCaseSensitive(r->data, "relative");
    char joined[ZP_PATH_MAX * 2 + 2], path[ZP_PATH_MAX], why[128];
    const char *slash = strrchr(n->path, '/');
    if (cJSON_IsTrue(rel) && slash != n->path)
        snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - n->path), n->path, name);
    else
        snprintf(joined, sizeof(joined), "%s", name);
    if (strlen(joined) >= ZP_PATH_MAX ||
        zp_path_normalize(joined, path, sizeof(path), why, sizeof(why)) < 0) {
        zp_send_error(r->c, r->msgid, "%s",
                      strlen(joined) >= ZP_PATH_MAX ? "Note path too long" : why);
        return;
    }
    if (zp_note_at(path, n)) {
        zp_send_error(r->c, r->msgid, "Note '%s' existed", path);
        /* As Zeppelin: the note as it is, for a UI that already showed the new name. */
        rn_jbuf b;
        note_frame(&b, "NOTE", n, NULL);
        zp_broadcast(n, NULL, &b);
        rn_jbuf_free(&b);
        return;
    }
    move_note(r, n, path);
}

/* Copy every paragraph and the note's settings from src into n. */
static int copy_note(zp_note *n, const zp_note *src)
{
    memcpy(n->group, src->group, sizeof(n->group));
    cJSON **dst[] = {&n->config, &n->note_params, &n->note_forms};
    const cJSON *from[] = {src->config, src->note_params, src->note_forms};
    for (size_t i = 0; i < 3; i++) {
        cJSON *c = from[i] ? cJSON_Duplicate(from[i], 1) : NULL;
        if (from[i] && !c)
            return -ENOMEM;
        if (c) {
            cJSON_Delete(*dst[i]);
            *dst[i] = c;
        }
    }
    for (const zp_para *p = src->paras; p; p = p->next) {
        zp_para *q;
        int err = zp_para_new(NULL, &q);
        if (err)
            return err;
        zp_note_insert(n, q, n->nparas);
        if ((err = zp_para_copy(q, p)) < 0)
            return err;
    }
    return 0;
}

void zp_op_clone_note(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    zp_note *src = zp_request_note(r, "id", false);
    if (!src)
        return;
    char fallback[ZP_ID_MAX + 16], path[ZP_PATH_MAX];
    snprintf(fallback, sizeof(fallback), "/Cloned Note_%s", src->id);
    if (!request_path(r, "name", fallback, "Fail to clone note: ", path, sizeof(path)))
        return;
    if (!zp_notes_make_room(src, src->bytes)) {
        zp_send_error(r->c, r->msgid, "Notebook storage is full (%llu bytes); try again later",
                      (unsigned long long)G.store_bytes);
        return;
    }
    zp_note *n;
    int err = zp_note_create(path, r->tenant, &n);
    if (err < 0) {
        create_error(r, err, path, "Fail to clone note: ");
        return;
    }
    if (copy_note(n, src) < 0) {
        zp_note_drop(n);
        zp_send_error(r->c, r->msgid, "Fail to clone note: Out of memory");
        return;
    }
    save_new(r, n, "NEW_NOTE");
}

void zp_op_import_note(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(r->data, "note");
    if (!cJSON_IsObject(src)) {
        zp_send_error(r->c, r->msgid, "%s: 'note' must be a note object", r->op);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(src, "cells")) {
        zp_send_error(r->c, r->msgid, "Importing Jupyter notebooks is not supported");
        return;
    }
    const char *name = zp_str(src, "name");
    if (!name || !name[0])
        name = zp_str(src, "path");
    char path[ZP_PATH_MAX], why[200];
    if (!name)
        name = "";
    if (strlen(name) >= ZP_PATH_MAX ||
        zp_path_normalize(name, path, sizeof(path), why, sizeof(why)) < 0) {
        zp_send_error(r->c, r->msgid, "%s",
                      strlen(name) >= ZP_PATH_MAX ? "Note path too long" : why);
        return;
    }
    zp_note *n;
    int err = zp_note_create(path, r->tenant, &n);
    if (err < 0) {
        create_error(r, err, path, "");
        return;
    }
    zp_note_limits lim;
    zp_limits(&lim);
    if ((err = zp_note_fill(n, src, &lim, why, sizeof(why))) < 0) {
        zp_note_drop(n);
        zp_send_error(r->c, r->msgid, "Fail to import note: %s", why);
        return;
    }
    save_new(r, n, "IMPORT_NOTE");
}

void zp_op_update_note(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(r->data, "config");
    const char *name = zp_str(r->data, "name");
    if (!cJSON_IsObject(config))
        return; /* as Zeppelin: nothing to do */
    cJSON *copy = cJSON_Duplicate(config, 1);
    char *s = copy ? cJSON_PrintUnformatted(copy) : NULL;
    size_t len = s ? strlen(s) : 0;
    cJSON_free(s);
    if (!s || len > ZP_JSON_MAX) {
        cJSON_Delete(copy);
        zp_send_error(r->c, r->msgid,
                      s ? "Note config too large (limit %d bytes)" : "Out of memory (%d)",
                      ZP_JSON_MAX);
        return;
    }
    const char *slash = strrchr(n->path, '/');
    bool rename = name && name[0] && strcmp(name, slash + 1);
    char joined[ZP_PATH_MAX * 2], path[ZP_PATH_MAX], why[128];
    if (rename) {
        snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - n->path), n->path, name);
        if (strlen(joined) >= ZP_PATH_MAX || strchr(name, '/') ||
            zp_path_normalize(joined, path, sizeof(path), why, sizeof(why)) < 0 ||
            zp_note_at(path, n) || zp_note_set_path(n, path) < 0) {
            cJSON_Delete(copy);
            zp_send_error(r->c, r->msgid, "Can not rename note %s to '%.300s'", n->id, name);
            return;
        }
    }
    cJSON_Delete(n->config);
    n->config = copy;
    zp_ack *a = zp_ack_new(r, n);
    rn_jbuf b;
    zp_frame_begin(&b, "NOTE_UPDATED");
    rn_jbuf_str(&b, "{\"name\":");
    zp_jstr(&b, strrchr(n->path, '/') + 1);
    rn_jbuf_str(&b, ",\"config\":");
    char *cs = cJSON_PrintUnformatted(n->config);
    char *is = n->info ? cJSON_PrintUnformatted(n->info) : NULL;
    rn_jbuf_str(&b, cs ? cs : "{}");
    rn_jbuf_str(&b, ",\"info\":");
    rn_jbuf_str(&b, is ? is : "{}");
    rn_jbuf_str(&b, "}");
    cJSON_free(cs);
    cJSON_free(is);
    zp_frame_end(&b, NULL);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
    zp_ack_notes_info(a);
    zp_note_save(n, a);
}

/* SAVE_NOTE_FORMS {formsData: {forms, params}} to the watchers once saved. */
static void save_forms(zp_req *r, zp_note *n)
{
    zp_ack *a = zp_ack_new(r, n);
    rn_jbuf b;
    zp_frame_begin(&b, "SAVE_NOTE_FORMS");
    char *fs = cJSON_PrintUnformatted(n->note_forms);
    char *ps = cJSON_PrintUnformatted(n->note_params);
    rn_jbuf_str(&b, "{\"formsData\":{\"forms\":");
    rn_jbuf_str(&b, fs ? fs : "{}");
    rn_jbuf_str(&b, ",\"params\":");
    rn_jbuf_str(&b, ps ? ps : "{}");
    rn_jbuf_str(&b, "}}");
    cJSON_free(fs);
    cJSON_free(ps);
    zp_frame_end(&b, NULL);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
    zp_note_save(n, a);
}

void zp_op_save_note_forms(zp_req *r)
{
    zp_note *n = named_note(r, "noteId");
    if (!n)
        return;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(r->data, "noteParams");
    size_t len;
    if (!cJSON_IsObject(params)) {
        zp_send_error(r->c, r->msgid, "%s: 'noteParams' must be an object", r->op);
        return;
    }
    int err = zp_json_set(&n->note_params, &len, params, false);
    if (err) {
        zp_send_error(r->c, r->msgid,
                      err == -E2BIG ? "Note forms too large (limit %d bytes)"
                                    : "Out of memory (%d)",
                      ZP_JSON_MAX);
        return;
    }
    save_forms(r, n);
}

void zp_op_remove_note_forms(zp_req *r)
{
    zp_note *n = named_note(r, "noteId");
    if (!n)
        return;
    const char *form = zp_str(r->data, "formName");
    if (!form) {
        zp_send_error(r->c, r->msgid, "%s: 'formName' must be a string", r->op);
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(n->note_forms, form);
    cJSON_DeleteItemFromObjectCaseSensitive(n->note_params, form);
    save_forms(r, n);
}

void zp_op_clear_all_output(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    for (zp_para *p = n->paras; p; p = p->next)
        if (!p->run)
            zp_para_clear_results(p);
    zp_ack *a = zp_ack_new(r, n);
    ack_note(a, ZP_TO_WATCHERS, "NOTE", n, NULL);
    zp_note_save(n, a);
}

/* LIST_REVISION_HISTORY, and CHECKPOINT_NOTE: every change is saved as it
 * happens and no earlier versions are kept, so the list is empty. */
void zp_op_revisions(zp_req *r)
{
    rn_jbuf b;
    zp_frame_begin(&b, "LIST_REVISION_HISTORY");
    rn_jbuf_str(&b, "{\"revisionList\":[]}");
    zp_frame_send(&b, r->c, r->msgid);
}

/* NOTE_REVISION and NOTE_REVISION_FOR_COMPARE (which echoes position):
 * the one version there is. */
void zp_op_note_revision(zp_req *r)
{
    zp_note *n = named_note(r, "noteId");
    if (!n)
        return;
    bool compare = !strcmp(r->op, "NOTE_REVISION_FOR_COMPARE");
    const char *rev = zp_str(r->data, "revisionId");
    const char *pos = zp_str(r->data, "position");
    rn_jbuf b;
    zp_frame_begin(&b, compare ? "NOTE_REVISION_FOR_COMPARE" : "NOTE_REVISION");
    rn_jbuf_str(&b, "{\"noteId\":");
    zp_jstr(&b, n->id);
    rn_jbuf_str(&b, ",\"revisionId\":");
    zp_jstr(&b, rev && strlen(rev) <= ZP_ID_MAX ? rev : "");
    if (compare) {
        rn_jbuf_str(&b, ",\"position\":");
        zp_jstr(&b, pos && strlen(pos) <= ZP_ID_MAX ? pos : "");
    }
    rn_jbuf_str(&b, ",\"note\":");
    zp_write_note(&b, n);
    rn_jbuf_str(&b, "}");
    zp_frame_send(&b, r->c, r->msgid);
}

/* UPDATE_PERSONALIZED_MODE: the note's config.personalizedMode, saved;
 * NOTE to the watchers. Paragraphs stay shared between users. */
void zp_op_personalized_mode(zp_req *r)
{
    zp_note *n = named_note(r, "id");
    if (!n)
        return;
    const char *v = zp_str(r->data, "personalized");
    if (!v || (strcmp(v, "true") && strcmp(v, "false"))) {
        zp_send_error(r->c, r->msgid, "%s: 'personalized' must be \"true\" or \"false\"", r->op);
        return;
    }
    cJSON *s = cJSON_CreateString(v);
    if (!s || !n->config ||
        (!cJSON_ReplaceItemInObjectCaseSensitive(n->config, "personalizedMode", s) &&
         !cJSON_AddItemToObject(n->config, "personalizedMode", s))) {
        cJSON_Delete(s);
        zp_send_error(r->c, r->msgid, "Out of memory");
        return;
    }
    zp_ack *a = zp_ack_new(r, n);
    ack_note(a, ZP_TO_WATCHERS, "NOTE", n, NULL);
    zp_note_save(n, a);
}
