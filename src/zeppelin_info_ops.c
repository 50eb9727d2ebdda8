/* The Zeppelin envelope's ops about interpreters and configuration:
 * GET_INTERPRETER_BINDINGS and SAVE_INTERPRETER_BINDINGS
 * (INTERPRETER_BINDINGS), GET_INTERPRETER_SETTINGS (INTERPRETER_SETTINGS)
 * and LIST_CONFIGURATIONS (CONFIGURATIONS_INFO), each to the sender.
 * Interpreters are the runnel languages installed here, grouped as
 * Zeppelin names its interpreter groups. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zeppelin_env.h"
#include "zeppelin_text.h"

#define G zp_g

static void config_entry(rn_jbuf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void config_entry(rn_jbuf *b, const char *key, const char *fmt, ...)
{
    char v[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    rn_jbuf_key(b, key);
    rn_jbuf_jcstr(b, v);
}

void zp_op_list_configurations(zp_req *r)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    const rn_jobs_limits *l = info.limits;
    const rn_specs *specs = zp_host_specs();
    rn_jbuf langs;
    rn_jbuf_init(&langs, 0);
    for (size_t i = 0; i < rn_specs_count(specs); i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        if (!s->available)
            continue;
        if (langs.len)
            rn_jbuf_raw(&langs, ",", 1);
        rn_jbuf_str(&langs, s->name);
    }
    rn_jbuf b;
    zp_frame_begin(&b, "CONFIGURATIONS_INFO");
    rn_jbuf_str(&b, "{\"configurations\":{");
    config_entry(&b, "runnel.version", "%s", RUNNEL_VERSION);
    config_entry(&b, "runnel.languages", "%s", langs.data ? langs.data : "");
    config_entry(&b, "runnel.limits.wall_ms", "%llu", (unsigned long long)l->wall_ms);
    config_entry(&b, "runnel.limits.cpu_ms", "%llu",
                 (unsigned long long)(l->cpu_ms ? l->cpu_ms : l->wall_ms));
    config_entry(&b, "runnel.limits.memory_bytes", "%llu", (unsigned long long)l->memory_bytes);
    config_entry(&b, "runnel.limits.output_bytes", "%llu", (unsigned long long)l->output_bytes);
    config_entry(&b, "runnel.limits.code_bytes", "%llu", (unsigned long long)l->code_bytes);
    config_entry(&b, "runnel.limits.concurrency", "%u", l->concurrency);
    config_entry(&b, "runnel.limits.queue", "%u", l->queue_max);
    config_entry(&b, "runnel.limits.per_connection", "%u", info.per_connection);
    config_entry(&b, "runnel.limits.message_bytes", "%llu", (unsigned long long)info.message_bytes);
    config_entry(&b, "runnel.zeppelin.max_notes", "%u", G.max_notes);
    config_entry(&b, "runnel.zeppelin.max_paragraphs", "%u", G.max_paragraphs);
    config_entry(&b, "runnel.zeppelin.max_note_bytes", "%llu",
                 (unsigned long long)G.max_note_bytes);
    config_entry(&b, "runnel.zeppelin.note_ttl_ms", "%llu", (unsigned long long)G.note_ttl_ms);
    config_entry(&b, "runnel.zeppelin.default_interpreter", "%s", G.default_interpreter);
    config_entry(&b, "zeppelin.interpreter.output.limit", "%llu",
                 (unsigned long long)l->output_bytes);
    config_entry(&b, "zeppelin.websocket.paragraph_status_progress.enable", "true");
    config_entry(&b, "zeppelin.paragraph.progress.update.interval.ms", "%llu",
                 (unsigned long long)G.progress_ms);
    config_entry(&b, "zeppelin.notebook.collaborative.mode.enable", "true");
    config_entry(&b, "zeppelin.notebook.dir", "%s", G.notebook_dir);
    config_entry(&b, "zeppelin.interpreter.group.default", "%s", G.default_interpreter);
    /* A new note is its maker's alone (owners, readers, writers, runners). */
    config_entry(&b, "zeppelin.notebook.public", "false");
    rn_jbuf_str(&b, "}}");
    zp_frame_send(&b, r->c, r->msgid);
    rn_jbuf_free(&langs);
}

static void write_interpreter(rn_jbuf *b, const char *name, const char *target, bool first)
{
    rn_jbuf_str(b, "{\"name\":");
    rn_jbuf_jcstr(b, name);
    rn_jbuf_str(b, ",\"class\":");
    char cls[160];
    snprintf(cls, sizeof(cls), "runnel.%s", target);
    rn_jbuf_jcstr(b, cls);
    rn_jbuf_printf(
        b, ",\"defaultInterpreter\":%s,\"editor\":{\"language\":", first ? "true" : "false");
    rn_jbuf_jcstr(b, zp_editor_language(target));
    rn_jbuf_str(b, ",\"editOnDblClick\":");
    rn_jbuf_str(b, strcmp(target, ZP_TARGET_TEXT) ? "false" : "true");
    rn_jbuf_str(b, ",\"completionKey\":\"TAB\",\"completionSupport\":false},\"config\":{}}");
}

/* One group's head: a binding, or a setting as Zeppelin lists them. Every
 * user may use every interpreter (there are no interpreter permissions:
 * setPermission false, no owners); notes have theirs (zeppelin_perm.h). */
static void group_begin(rn_jbuf *b, const char *name, bool settings)
{
    rn_jbuf_str(b, "{\"id\":");
    rn_jbuf_jcstr(b, name);
    rn_jbuf_str(b, ",\"name\":");
    rn_jbuf_jcstr(b, name);
    if (settings) {
        rn_jbuf_str(b, ",\"group\":");
        rn_jbuf_jcstr(b, name);
        rn_jbuf_str(b, ",\"properties\":{},\"status\":\"READY\",\"dependencies\":[],"
                       "\"option\":{\"remote\":true,\"port\":-1,\"isExistingProcess\":false,"
                       "\"setPermission\":false,\"owners\":[],\"isUserImpersonate\":false,"
                       "\"perNote\":\"shared\",\"perUser\":\"shared\"},\"interpreterGroup\":[");
    } else {
        rn_jbuf_str(b, ",\"interpreters\":[");
    }
}

static void group_end(rn_jbuf *b, bool settings)
{
    rn_jbuf_str(b, settings ? "]}" : "],\"selected\":true}");
}

/* Interpreter groups as Zeppelin names them, each with the interpreters
 * that resolve to an installed language here; then every other installed
 * language under its own name. */
static void write_groups(rn_jbuf *b, bool settings)
{
    const rn_specs *specs = zp_host_specs();
    static const struct {
        const char *group;
        const char *names[4];
    } groups[] = {
        {"md", {"md"}},     {"python", {"python"}},
        {"sh", {"sh"}},     {"spark", {"spark", "pyspark", "sql", "r"}},
        {"jdbc", {"jdbc"}},
    };
    bool any = false;
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        bool first = true;
        for (size_t i = 0; i < 4 && groups[g].names[i]; i++) {
            bool text;
            const char *name = groups[g].names[i];
            const rn_spec *s = zp_resolve(name, &text);
            if (!text && (!s || !s->available))
                continue;
            if (first) {
                if (any)
                    rn_jbuf_str(b, ",");
                group_begin(b, groups[g].group, settings);
            } else {
                rn_jbuf_str(b, ",");
            }
            write_interpreter(b, name, text ? ZP_TARGET_TEXT : s->name, first);
            first = false;
            any = true;
        }
        if (!first)
            group_end(b, settings);
    }
    for (size_t i = 0; i < rn_specs_count(specs); i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        if (!s->available)
            continue;
        /* the first of its names that resolves back to it here */
        const char *name = NULL;
        bool text;
        if (zp_resolve(s->name, &text) == s)
            name = s->name;
        for (char **a = s->aliases; !name && a && *a; a++)
            if (zp_resolve(*a, &text) == s)
                name = *a;
        if (!name)
            continue;
        if (any)
            rn_jbuf_str(b, ",");
        group_begin(b, name, settings);
        write_interpreter(b, name, s->name, true);
        group_end(b, settings);
        any = true;
    }
}

void zp_op_bindings(zp_req *r)
{
    rn_jbuf b;
    zp_frame_begin(&b, "INTERPRETER_BINDINGS");
    rn_jbuf_str(&b, "{\"interpreterBindings\":[");
    write_groups(&b, false);
    rn_jbuf_str(&b, "]}");
    zp_frame_send(&b, r->c, r->msgid);
}

void zp_op_interpreter_settings(zp_req *r)
{
    rn_jbuf b;
    zp_frame_begin(&b, "INTERPRETER_SETTINGS");
    rn_jbuf_str(&b, "{\"interpreterSettings\":[");
    write_groups(&b, true);
    rn_jbuf_str(&b, "]}");
    zp_frame_send(&b, r->c, r->msgid);
}

void zp_op_save_bindings(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    zp_note *n = zp_request_note(r, "noteId", false);
    if (!n)
        return;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->data, "selectedSettingIds");
    const cJSON *first = cJSON_IsArray(ids) ? cJSON_GetArrayItem(ids, 0) : NULL;
    if (first) {
        bool text;
        if (!cJSON_IsString(first) || strlen(first->valuestring) >= sizeof(n->group) ||
            (!zp_resolve(first->valuestring, &text) && !text)) {
            zp_send_error(r->c, r->msgid, "%s: unknown interpreter setting", r->op);
            return;
        }
        snprintf(n->group, sizeof(n->group), "%s", first->valuestring);
        zp_note_save(n, NULL);
    }
    zp_op_bindings(r);
}
