/* The Zeppelin envelope's ops on paragraphs, editors and interpreters,
 * answered as Zeppelin's NotebookServer answers them: PARAGRAPH_ADDED,
 * PARAGRAPH, PARAGRAPH_REMOVED and PARAGRAPH_MOVED to the note's watchers
 * once the note file is saved; PATCH_PARAGRAPH to the other watchers;
 * COMPLETION_LIST, EDITOR_SETTING, INTERPRETER_BINDINGS,
 * INTERPRETER_SETTINGS and CONFIGURATIONS_INFO to the sender. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "zeppelin_env.h"
#include "zeppelin_patch.h"
#include "zeppelin_text.h"

#define G zp_g

static int64_t now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The note a paragraph op is about: the one the connection watches (as
 * Zeppelin takes it), else data.noteId; r->need checked. */
static zp_note *para_note(zp_req *r)
{
    if (!zp_need_data(r))
        return NULL;
    if (r->zc->note)
        return zp_check(r, r->zc->note, r->need) ? r->zc->note : NULL;
    return zp_request_note(r, "noteId", false);
}

static zp_para *named_para(zp_req *r, zp_note *n, const char *key)
{
    const char *id = zp_need_id(r, key, "paragraph id");
    if (!id)
        return NULL;
    zp_para *p = zp_note_para(n, id);
    if (!p)
        zp_send_error(r->c, r->msgid, "No such paragraph: %s", id);
    return p;
}

/* An integer index field in [0, max]; -1 after an error was sent. */
static int need_index(zp_req *r, unsigned max)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->data, "index");
    double v = cJSON_IsNumber(j) ? j->valuedouble : -1;
    if (cJSON_IsString(j))
        v = strtod(j->valuestring, NULL);
    if (v < 0 || v > (double)max || v != (double)(int)v) {
        zp_send_error(r->c, r->msgid, "%s: 'index' must be an integer from 0 to %u", r->op, max);
        return -1;
    }
    return (int)v;
}

static void ack_para(zp_ack *a, const zp_para *p)
{
    rn_jbuf b;
    zp_para_frame(&b, p);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
}

static void ack_added(zp_ack *a, const zp_note *n, const zp_para *p)
{
    rn_jbuf b;
    zp_frame_begin(&b, "PARAGRAPH_ADDED");
    rn_jbuf_str(&b, "{\"paragraph\":");
    zp_write_para(&b, p);
    rn_jbuf_printf(&b, ",\"index\":%d}", zp_para_index(n, p));
    zp_frame_end(&b, NULL);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
}

/* Whether n can take one more paragraph of extra bytes (else an error was
 * sent naming the limit). */
static bool room_for(zp_req *r, zp_note *n, bool new_para, size_t extra)
{
    if (new_para && n->nparas >= G.max_paragraphs) {
        zp_send_error(r->c, r->msgid,
                      "Note %s has too many paragraphs (limit %u: zeppelin.max_paragraphs)", n->id,
                      G.max_paragraphs);
        return false;
    }
    if (zp_note_too_big(n, extra)) {
        zp_send_error(r->c, r->msgid,
                      "Note %s is too large (limit %llu bytes: zeppelin.max_note_bytes)", n->id,
                      (unsigned long long)G.max_note_bytes);
        return false;
    }
    if (!zp_notes_make_room(n, extra)) {
        zp_send_error(r->c, r->msgid, "Notebook storage is full (%llu bytes); try again later",
                      (unsigned long long)G.store_bytes);
        return false;
    }
    return true;
}

/* A new paragraph at index with data.config; NULL after an error. */
static zp_para *insert_para(zp_req *r, zp_note *n, int index)
{
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(r->data, "config");
    zp_para *p;
    if (!room_for(r, n, true, ZP_PARA_FIXED))
        return NULL;
    if (zp_para_new(NULL, &p) < 0 || !(p->user = strdup(r->user))) {
        if (p)
            zp_para_free(p);
        zp_send_error(r->c, r->msgid, "Out of memory");
        return NULL;
    }
    int err = cJSON_IsObject(config) ? zp_json_set(&p->config, &p->config_len, config, false) : 0;
    if (err) {
        zp_para_free(p);
        zp_send_error(r->c, r->msgid, err == -E2BIG ? "%s: config too large" : "%s: out of memory",
                      r->op);
        return NULL;
    }
    zp_note_insert(n, p, (unsigned)index);
    zp_para_account(p);
    return p;
}

void zp_op_insert_paragraph(zp_req *r)
{
    zp_note *n = para_note(r);
    int index = n ? need_index(r, n->nparas) : -1;
    zp_para *p = index >= 0 ? insert_para(r, n, index) : NULL;
    if (!p)
        return;
    zp_ack *a = zp_ack_new(r, n);
    ack_added(a, n, p);
    zp_note_save(n, a);
}

/* COMMIT_PARAGRAPH's fields into p: text, title, config (merged), params. */
static int commit_fields(zp_req *r, zp_note *n, zp_para *p)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(r->data, "paragraph");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(r->data, "title");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(r->data, "config");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(r->data, "params");
    uint64_t code_bytes = zp_host_limits()->code_bytes;
    if ((text && !cJSON_IsString(text) && !cJSON_IsNull(text)) ||
        (title && !cJSON_IsString(title) && !cJSON_IsNull(title)) ||
        (config && !cJSON_IsObject(config) && !cJSON_IsNull(config)) ||
        (params && !cJSON_IsObject(params) && !cJSON_IsNull(params))) {
        zp_send_error(r->c, r->msgid,
                      "%s: 'paragraph' and 'title' must be strings, 'config' and 'params' objects",
                      r->op);
        return -EINVAL;
    }
    size_t len = cJSON_IsString(text) ? strlen(text->valuestring) : p->text_len;
    if (len > code_bytes) {
        zp_send_error(r->c, r->msgid, "Paragraph text too large (limit %llu bytes)",
                      (unsigned long long)code_bytes);
        return -E2BIG;
    }
    if (!room_for(r, n, false, len > p->text_len ? len - p->text_len : 0))
        return -E2BIG;
    int err = 0;
    if (cJSON_IsObject(config))
        err = zp_json_set(&p->config, &p->config_len, config, true);
    if (!err && cJSON_IsObject(params))
        err = zp_json_set(&p->params, &p->params_len, params, false);
    if (!err && cJSON_IsString(text))
        err = zp_para_set_text(p, text->valuestring, len);
    if (!err && cJSON_IsString(title)) {
        char *t = strndup(title->valuestring, ZP_TITLE_MAX);
        if (t) {
            free(p->title);
            p->title = t;
        } else {
            err = -ENOMEM;
        }
    }
    if (err) {
        zp_send_error(r->c, r->msgid,
                      err == -E2BIG ? "%s: config or params too large" : "%s: out of memory",
                      r->op);
        return err;
    }
    p->updated = now_epoch_ms();
    zp_para_account(p);
    return 0;
}

void zp_op_commit_paragraph(zp_req *r)
{
    zp_note *n = para_note(r);
    zp_para *p = n ? named_para(r, n, "id") : NULL;
    if (!p || commit_fields(r, n, p) < 0)
        return;
    zp_ack *a = zp_ack_new(r, n);
    ack_para(a, p);
    zp_note_save(n, a);
}

void zp_op_copy_paragraph(zp_req *r)
{
    zp_note *n = para_note(r);
    int index = n ? need_index(r, n->nparas) : -1;
    zp_para *p = index >= 0 ? insert_para(r, n, index) : NULL;
    if (!p)
        return;
    if (commit_fields(r, n, p) < 0) {
        zp_note_unlink(n, p);
        zp_para_free(p);
        return;
    }
    zp_ack *a = zp_ack_new(r, n);
    ack_added(a, n, p);
    ack_para(a, p);
    zp_note_save(n, a);
}

static bool not_running(zp_req *r, const zp_para *p)
{
    if (!p->run && !p->pending)
        return true;
    zp_send_error(r->c, r->msgid, "Paragraph %s is running; cancel it first", p->id);
    return false;
}

void zp_op_remove_paragraph(zp_req *r)
{
    zp_note *n = para_note(r);
    zp_para *p = n ? named_para(r, n, "id") : NULL;
    if (!p || !not_running(r, p))
        return;
    zp_ack *a = zp_ack_new(r, n);
    rn_jbuf b;
    zp_frame_begin(&b, "PARAGRAPH_REMOVED");
    rn_jbuf_str(&b, "{\"id\":");
    zp_jstr(&b, p->id);
    rn_jbuf_str(&b, "}");
    zp_frame_end(&b, NULL);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
    zp_note_unlink(n, p);
    zp_para_free(p);
    zp_note_save(n, a);
}

void zp_op_move_paragraph(zp_req *r)
{
    zp_note *n = para_note(r);
    zp_para *p = n ? named_para(r, n, "id") : NULL;
    int index = p ? need_index(r, n->nparas - 1) : -1;
    if (index < 0)
        return;
    zp_note_unlink(n, p);
    zp_note_insert(n, p, (unsigned)index);
    zp_ack *a = zp_ack_new(r, n);
    rn_jbuf b;
    zp_frame_begin(&b, "PARAGRAPH_MOVED");
    rn_jbuf_str(&b, "{\"id\":");
    zp_jstr(&b, p->id);
    rn_jbuf_printf(&b, ",\"index\":%d}", index);
    zp_frame_end(&b, NULL);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
    zp_note_save(n, a);
}

void zp_op_clear_output(zp_req *r)
{
    zp_note *n = para_note(r);
    zp_para *p = n ? named_para(r, n, "id") : NULL;
    if (!p || !not_running(r, p))
        return;
    zp_para_clear_results(p);
    if (strcmp(p->status, "READY"))
        p->status = "READY";
    zp_ack *a = zp_ack_new(r, n);
    ack_para(a, p);
    zp_note_save(n, a);
}

/* Collaborative editing: a diff-match-patch patch onto the text, passed on
 * to the other watchers; saved with the next commit, as Zeppelin does. */
void zp_op_patch_paragraph(zp_req *r)
{
    zp_note *n = para_note(r);
    zp_para *p = n ? named_para(r, n, "id") : NULL;
    const char *patch = p ? zp_str(r->data, "patch") : NULL;
    if (!patch)
        return;
    char *out = NULL;
    size_t len = 0;
    uint64_t cap = zp_host_limits()->code_bytes;
    int err = zp_patch_apply(p->text, p->text_len, patch, cap, &out, &len);
    if (err < 0) {
        rn_log(RN_LOG_DEBUG, "zeppelin.patch_refused", "note=%.64s paragraph=%.64s error=%d", n->id,
               p->id, err);
        free(out);
        return;
    }
    err = zp_para_set_text(p, out, len);
    free(out);
    if (err)
        return;
    rn_jbuf b;
    zp_frame_begin(&b, "PATCH_PARAGRAPH");
    rn_jbuf_str(&b, "{\"patch\":");
    zp_jstr(&b, patch);
    rn_jbuf_str(&b, ",\"paragraphId\":");
    zp_jstr(&b, p->id);
    rn_jbuf_str(&b, "}");
    zp_frame_end(&b, NULL);
    for (unsigned i = 0; i < n->nwatchers; i++)
        if (n->watchers[i] != r->c && zp_conn_may(n->watchers[i], n, ZP_PERM_READ))
            zp_send_raw(n->watchers[i], &b);
    rn_jbuf_free(&b);
}

/* No runnel interpreter completes code: the empty list Zeppelin sends
 * when an interpreter has none. */
void zp_op_completion(zp_req *r)
{
    const char *id = zp_str(r->data, "id");
    rn_jbuf b;
    zp_frame_begin(&b, "COMPLETION_LIST");
    rn_jbuf_str(&b, "{\"id\":");
    zp_jstr(&b, id && strlen(id) <= ZP_ID_MAX ? id : "");
    rn_jbuf_str(&b, ",\"completions\":[]}");
    zp_frame_send(&b, r->c, r->msgid);
}

/* ---------------------------------------------------------------- editors */

const char *zp_editor_language(const char *target)
{
    static const char *const modes[][2] = {
        {ZP_TARGET_TEXT, "markdown"},
        {"python3", "python"},
        {"bash", "sh"},
        {"sh", "sh"},
        {"sqlite", "sql"},
        {"c", "c_cpp"},
        {"cpp", "c_cpp"},
        {"r", "r"},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (!strcmp(modes[i][0], target))
            return modes[i][1];
    return target;
}

/* The interpreter an EDITOR_SETTING means: its paragraphText's %name (both
 * web clients send that, and Zeppelin reads it), or its magic; a text
 * without one means the note's default. */
static bool editor_interpreter(zp_req *r, char *out, size_t size)
{
    const char *text = zp_str(r->data, "paragraphText");
    const char *magic = zp_str(r->data, "magic");
    size_t script;
    if (text) {
        if (zp_text_parse(text, strlen(text), out, size, &script) < 0)
            return false;
        if (out[0])
            return true;
        const zp_note *n = r->zc->note;
        snprintf(out, size, "%s", n && n->group[0] ? n->group : G.default_interpreter);
        return true;
    }
    if (!magic || strlen(magic) >= size)
        return false;
    snprintf(out, size, "%s", magic[0] == '%' ? magic + 1 : magic);
    return true;
}

void zp_op_editor_setting(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    const char *pid = zp_str(r->data, "paragraphId");
    if (!pid || (!zp_str(r->data, "paragraphText") && !zp_str(r->data, "magic"))) {
        zp_send_error(r->c, r->msgid,
                      "%s: 'paragraphId' and 'paragraphText' (or 'magic') must be strings", r->op);
        return;
    }
    char name[128];
    bool text = false;
    const rn_spec *s = editor_interpreter(r, name, sizeof(name)) ? zp_resolve(name, &text) : NULL;
    if (!s && !text)
        return; /* as Zeppelin: no editor for an unknown interpreter */
    rn_jbuf b;
    zp_frame_begin(&b, "EDITOR_SETTING");
    rn_jbuf_str(&b, "{\"paragraphId\":");
    zp_jstr(&b, pid);
    rn_jbuf_str(&b, ",\"editor\":{\"language\":");
    rn_jbuf_jcstr(&b, zp_editor_language(text ? ZP_TARGET_TEXT : s->name));
    rn_jbuf_printf(&b,
                   ",\"editOnDblClick\":%s,\"completionKey\":\"TAB\","
                   "\"completionSupport\":false}}",
                   text ? "true" : "false");
    zp_frame_send(&b, r->c, r->msgid);
}
