/* Zeppelin notes: the model and the .zpln format (see zeppelin_notes.h). */
#include "zeppelin_notes.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zeppelin_perm.h"
#include "zeppelin_text.h"

static uint64_t total_bytes;

uint64_t zp_notes_bytes(void)
{
    return total_bytes;
}

static int64_t now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool zp_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > ZP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

void zp_note_id_new(char out[10])
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char hex[24];
    if (rn_random_hex(hex, 9) < 0)
        snprintf(hex, sizeof(hex), "%018llx", (unsigned long long)rn_now_ms());
    for (int i = 0; i < 9; i++) {
        unsigned v = (unsigned)strtoul((char[]){hex[2 * i], hex[2 * i + 1], 0}, NULL, 16);
        out[i] = alphabet[v % 36];
    }
    out[9] = 0;
}

/* ---------------------------------------------------------------- notes */

int zp_note_new(const char *id, const char *path, zp_note **out)
{
    zp_note *n = calloc(1, sizeof(*n));
    if (!n || !(n->id = strdup(id)) || !(n->path = strdup(path))) {
        if (n)
            free(n->id);
        free(n);
        return -ENOMEM;
    }
    n->used_ms = rn_now_ms();
    *out = n;
    return 0;
}

int zp_note_set_loaded(zp_note *n)
{
    zp_note_unload(n);
    n->config = cJSON_CreateObject();
    n->note_params = cJSON_CreateObject();
    n->note_forms = cJSON_CreateObject();
    n->info = cJSON_CreateObject();
    n->angular = cJSON_CreateObject();
    if (!n->config || !n->note_params || !n->note_forms || !n->info || !n->angular ||
        !cJSON_AddFalseToObject(n->config, "isZeppelinNotebookCronEnable")) {
        zp_note_unload(n);
        return -ENOMEM;
    }
    n->loaded = true;
    return 0;
}

void zp_note_unload(zp_note *n)
{
    for (zp_para *p = n->paras, *next; p; p = next) {
        next = p->next;
        p->note = NULL;
        zp_para_free(p);
    }
    n->paras = n->tail = NULL;
    n->nparas = 0;
    n->bytes = 0;
    cJSON_Delete(n->config);
    cJSON_Delete(n->note_params);
    cJSON_Delete(n->note_forms);
    cJSON_Delete(n->info);
    cJSON_Delete(n->angular);
    n->config = n->note_params = n->note_forms = n->info = n->angular = NULL;
    n->loaded = false;
}

void zp_note_free(zp_note *n)
{
    if (!n)
        return;
    zp_note_unload(n);
    zp_perms_free(n->perms);
    free(n->watchers);
    free(n->id);
    free(n->path);
    free(n->file);
    free(n);
}

int zp_note_set_path(zp_note *n, const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    free(n->path);
    n->path = p;
    return 0;
}

bool zp_note_in_trash(const zp_note *n)
{
    size_t t = strlen(ZP_TRASH);
    return n->path[0] == '/' && !strncmp(n->path + 1, ZP_TRASH, t) &&
           (n->path[1 + t] == '/' || !n->path[1 + t]);
}

/* ---------------------------------------------------------------- paragraphs */

int zp_para_new(const char *id, zp_para **out)
{
    zp_para *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->created = now_epoch_ms();
    char gen[64];
    if (!id || strncmp(id, "paragraph_", 10)) {
        char hex[10];
        if (rn_random_hex(hex, 4) < 0)
            snprintf(hex, sizeof(hex), "1");
        snprintf(gen, sizeof(gen), "paragraph_%lld_%lu", (long long)p->created,
                 strtoul(hex, NULL, 16) & 0x7fffffffUL);
    }
    p->id = strdup(id ? id : gen);
    p->job_name = strdup(id && !strncmp(id, "paragraph_", 10) ? id : gen);
    p->text = strdup("");
    if (!p->id || !p->job_name || !p->text) {
        free(p->id);
        free(p->job_name);
        free(p->text);
        free(p);
        return -ENOMEM;
    }
    p->status = "READY";
    p->updated = p->created;
    rn_jbuf_init(&p->out, 0);
    zp_para_account(p);
    *out = p;
    return 0;
}

void zp_para_free(zp_para *p)
{
    if (!p)
        return;
    total_bytes -= p->bytes;
    free(p->id);
    free(p->job_name);
    free(p->text);
    free(p->title);
    free(p->user);
    cJSON_Delete(p->config);
    cJSON_Delete(p->params);
    cJSON_Delete(p->results);
    rn_jbuf_free(&p->out);
    free(p);
}

void zp_para_account(zp_para *p)
{
    size_t now = ZP_PARA_FIXED + p->text_len + p->config_len + p->params_len + p->results_len +
                 p->out.len + (p->title ? strlen(p->title) : 0) + strlen(p->id);
    total_bytes = total_bytes - p->bytes + now;
    if (p->note)
        p->note->bytes = p->note->bytes - p->bytes + now;
    p->bytes = now;
}

void zp_note_insert(zp_note *n, zp_para *p, unsigned index)
{
    p->note = n;
    n->bytes += p->bytes;
    n->nparas++;
    if (!index || !n->paras) {
        p->next = n->paras;
        n->paras = p;
        if (!n->tail)
            n->tail = p;
        return;
    }
    zp_para *prev = n->paras;
    for (unsigned i = 1; i < index && prev->next; i++)
        prev = prev->next;
    p->next = prev->next;
    prev->next = p;
    if (n->tail == prev)
        n->tail = p;
}

void zp_note_unlink(zp_note *n, zp_para *p)
{
    zp_para *prev = NULL;
    for (zp_para *q = n->paras; q; prev = q, q = q->next) {
        if (q != p)
            continue;
        if (prev)
            prev->next = p->next;
        else
            n->paras = p->next;
        if (n->tail == p)
            n->tail = prev;
        n->nparas--;
        n->bytes -= p->bytes;
        p->next = NULL;
        p->note = NULL;
        return;
    }
}

int zp_para_index(const zp_note *n, const zp_para *p)
{
    int i = 0;
    for (const zp_para *q = n->paras; q; q = q->next, i++)
        if (q == p)
            return i;
    return -1;
}

zp_para *zp_note_para(const zp_note *n, const char *id)
{
    for (zp_para *p = n->paras; p; p = p->next)
        if (!strcmp(p->id, id))
            return p;
    return NULL;
}

int zp_para_set_text(zp_para *p, const char *text, size_t len)
{
    char *t = malloc(len + 1);
    if (!t)
        return -ENOMEM;
    memcpy(t, text, len);
    t[len] = 0;
    free(p->text);
    p->text = t;
    p->text_len = len;
    zp_para_account(p);
    return 0;
}

void zp_para_clear_results(zp_para *p)
{
    p->has_results = false;
    p->success = false;
    p->out_cut = false;
    p->notice[0] = 0;
    p->started = p->finished = 0;
    p->progress = 0;
    cJSON_Delete(p->results);
    p->results = NULL;
    p->results_len = 0;
    rn_jbuf_reset(&p->out);
    zp_para_account(p);
}

int zp_json_set(cJSON **dst, size_t *len, const cJSON *src, bool merge)
{
    cJSON *copy = NULL;
    if (merge && *dst && cJSON_IsObject(*dst) && cJSON_IsObject(src)) {
        copy = cJSON_Duplicate(*dst, 1);
        for (const cJSON *it = src ? src->child : NULL; copy && it; it = it->next) {
            cJSON *dup = cJSON_Duplicate(it, 1);
            if (!dup || !cJSON_ReplaceItemInObjectCaseSensitive(copy, it->string, dup)) {
                if (dup && !cJSON_AddItemToObject(copy, it->string, dup))
                    cJSON_Delete(dup);
            }
        }
    } else {
        copy = cJSON_Duplicate(src, 1);
    }
    if (!copy)
        return -ENOMEM;
    char *s = cJSON_PrintUnformatted(copy);
    size_t n = s ? strlen(s) : 0;
    cJSON_free(s);
    if (!s || n > ZP_JSON_MAX) {
        cJSON_Delete(copy);
        return s ? -E2BIG : -ENOMEM;
    }
    cJSON_Delete(*dst);
    *dst = copy;
    *len = n;
    return 0;
}

static int dup_str(char **dst, const char *src)
{
    char *s = src ? strdup(src) : NULL;
    if (src && !s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

int zp_para_copy(zp_para *dst, const zp_para *src)
{
    int err = zp_para_set_text(dst, src->text, src->text_len);
    if (!err)
        err = dup_str(&dst->title, src->title);
    if (!err)
        err = dup_str(&dst->user, src->user);
    if (!err && src->config)
        err = zp_json_set(&dst->config, &dst->config_len, src->config, false);
    if (!err && src->params)
        err = zp_json_set(&dst->params, &dst->params_len, src->params, false);
    if (!err && src->results)
        err = zp_json_set(&dst->results, &dst->results_len, src->results, false);
    if (err)
        return err;
    if (strcmp(src->status, "PENDING") && strcmp(src->status, "RUNNING")) {
        dst->status = src->status;
        dst->has_results = src->has_results;
        dst->success = src->success;
        dst->started = src->started;
        dst->finished = src->finished;
        dst->progress = src->progress;
        memcpy(dst->notice, src->notice, sizeof(dst->notice));
        rn_jbuf_reset(&dst->out);
        if (src->out.len)
            rn_jbuf_raw(&dst->out, src->out.data, src->out.len);
        if (dst->out.oom)
            return -ENOMEM;
    }
    zp_para_account(dst);
    return 0;
}

/* ---------------------------------------------------------------- writing */

static void jcstr_safe(rn_jbuf *b, const char *s)
{
    rn_jbuf_jstr_safe(b, s, strlen(s));
}

static void write_cjson(rn_jbuf *b, const cJSON *j, const char *absent)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (!s) {
        rn_jbuf_str(b, absent);
        return;
    }
    /* cJSON copies string bytes as they are; keep the output UTF-8. */
    if (rn_utf8_valid(s, strlen(s))) {
        rn_jbuf_str(b, s);
    } else {
        unsigned char carry[4];
        size_t cl = 0;
        rn_utf8_sanitize(b, carry, &cl, s, strlen(s), true);
    }
    cJSON_free(s);
}

static void write_date(rn_jbuf *b, const char *key, int64_t ms, bool file)
{
    char d[40];
    if (!ms)
        return;
    if (file)
        zp_format_file_date(ms, d, sizeof(d));
    else
        zp_format_date(ms, d, sizeof(d));
    rn_jbuf_key(b, key);
    rn_jbuf_jcstr(b, d);
}

/* results {code, msg:[{type:TEXT, data}]}: the output, then a line saying
 * why a run did not succeed. */
static void write_results(rn_jbuf *b, const zp_para *p, const char *code)
{
    rn_jbuf_str(b, "{\"code\":");
    rn_jbuf_jcstr(b, code);
    rn_jbuf_str(b, ",\"msg\":[");
    bool any = false;
    if (p->out.len) {
        rn_jbuf_str(b, "{\"type\":\"TEXT\",\"data\":");
        rn_jbuf_jstr_safe(b, p->out.data, p->out.len);
        rn_jbuf_str(b, "}");
        any = true;
    }
    if (p->notice[0] && p->has_results) {
        if (any)
            rn_jbuf_str(b, ",");
        rn_jbuf_str(b, "{\"type\":\"TEXT\",\"data\":");
        jcstr_safe(b, p->notice);
        rn_jbuf_str(b, "}");
    }
    rn_jbuf_str(b, "]}");
}

static bool para_running(const zp_para *p)
{
    return !strcmp(p->status, "PENDING") || !strcmp(p->status, "RUNNING");
}

void zp_para_write(rn_jbuf *b, const zp_para *p, const zp_write_opts *o)
{
    rn_jbuf_str(b, "{");
    if (p->title) {
        rn_jbuf_key(b, "title");
        jcstr_safe(b, p->title);
    }
    rn_jbuf_key(b, "text");
    rn_jbuf_jstr_safe(b, p->text ? p->text : "", p->text_len);
    rn_jbuf_key(b, "user");
    jcstr_safe(b, p->user ? p->user : "anonymous");
    write_date(b, "dateUpdated", p->updated, o->file);
    rn_jbuf_printf(b, ",\"progress\":%d", p->progress);
    rn_jbuf_key(b, "config");
    write_cjson(b, p->config, "{}");
    rn_jbuf_str(b, ",\"settings\":{\"params\":");
    write_cjson(b, p->params, "{}");
    rn_jbuf_str(b, ",\"forms\":{}}");
    if (p->results) {
        rn_jbuf_key(b, "results");
        write_cjson(b, p->results, "{}");
    } else if (p->has_results) {
        rn_jbuf_key(b, "results");
        write_results(b, p, p->success ? "SUCCESS" : "ERROR");
    } else if (o->snapshot && !o->file && para_running(p) && p->out.len) {
        rn_jbuf_key(b, "results");
        write_results(b, p, "INCOMPLETE");
    }
    rn_jbuf_str(b, ",\"apps\":[],\"runtimeInfos\":{}");
    rn_jbuf_printf(b, ",\"progressUpdateIntervalMs\":%llu", (unsigned long long)o->progress_ms);
    rn_jbuf_key(b, "jobName");
    jcstr_safe(b, p->job_name);
    rn_jbuf_key(b, "id");
    jcstr_safe(b, p->id);
    write_date(b, "dateCreated", p->created, o->file);
    write_date(b, "dateStarted", p->started, o->file);
    write_date(b, "dateFinished", p->finished, o->file);
    rn_jbuf_key(b, "status");
    rn_jbuf_jcstr(b, p->status);
    rn_jbuf_str(b, "}");
}

void zp_note_write(rn_jbuf *b, const zp_note *n, const zp_write_opts *o)
{
    rn_jbuf_str(b, o->file ? "{\n\"paragraphs\":[" : "{\"paragraphs\":[");
    for (const zp_para *p = n->paras; p; p = p->next) {
        if (p != n->paras)
            rn_jbuf_str(b, ",");
        if (o->file)
            rn_jbuf_str(b, "\n");
        zp_para_write(b, p, o);
    }
    const char *slash = strrchr(n->path, '/');
    rn_jbuf_str(b, o->file ? "\n],\n\"name\":" : "],\"name\":");
    jcstr_safe(b, slash ? slash + 1 : n->path);
    rn_jbuf_str(b, ",\"id\":");
    jcstr_safe(b, n->id);
    rn_jbuf_str(b, ",\"defaultInterpreterGroup\":");
    jcstr_safe(b, n->group[0] ? n->group : o->default_group ? o->default_group : "");
    rn_jbuf_str(b, ",\"version\":\"" ZP_FORMAT_VERSION "\",\"noteParams\":");
    write_cjson(b, n->note_params, "{}");
    rn_jbuf_str(b, ",\"noteForms\":");
    write_cjson(b, n->note_forms, "{}");
    rn_jbuf_str(b, ",\"angularObjects\":");
    write_cjson(b, n->angular, "{}");
    rn_jbuf_str(b, ",\"config\":");
    write_cjson(b, n->config, "{}");
    rn_jbuf_str(b, ",\"info\":");
    write_cjson(b, n->info, "{}");
    rn_jbuf_str(b, ",\"path\":");
    jcstr_safe(b, n->path);
    if (o->file && n->perms) {
        rn_jbuf_str(b, ",\n\"permissions\":");
        zp_perms_write(b, n->perms);
    }
    rn_jbuf_str(b, o->file ? "\n}\n" : "}");
}

/* ---------------------------------------------------------------- reading */

static const char *const statuses[] = {"READY", "PENDING", "RUNNING", "FINISHED", "ERROR", "ABORT"};

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int64_t get_date(const cJSON *o, const char *key)
{
    const char *s = get_str(o, key);
    int64_t ms = s ? zp_parse_date(s) : -1;
    return ms < 0 ? 0 : ms;
}

static int set_obj(cJSON **dst, size_t *len, const cJSON *src)
{
    size_t ignored;
    if (!cJSON_IsObject(src))
        return 0;
    return zp_json_set(dst, len ? len : &ignored, src, false);
}

/* One paragraph of a note file. */
static int para_fill(zp_para *p, const cJSON *j, const zp_note_limits *lim, char *why, size_t size)
{
    const char *text = get_str(j, "text");
    if (text && strlen(text) > lim->text_bytes) {
        snprintf(why, size, "paragraph %.64s: text over %llu bytes", p->id,
                 (unsigned long long)lim->text_bytes);
        return -E2BIG;
    }
    const char *title = get_str(j, "title");
    const char *user = get_str(j, "user");
    const char *jn = get_str(j, "jobName");
    int err = zp_para_set_text(p, text ? text : "", text ? strlen(text) : 0);
    if (!err && title)
        err = (p->title = strndup(title, ZP_TITLE_MAX)) ? 0 : -ENOMEM;
    if (!err && user)
        err = (p->user = strndup(user, ZP_USER_MAX)) ? 0 : -ENOMEM;
    if (!err && jn && zp_valid_id(jn))
        err = dup_str(&p->job_name, jn);
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(j, "settings");
    if (!err)
        err = set_obj(&p->config, &p->config_len, cJSON_GetObjectItemCaseSensitive(j, "config"));
    if (!err)
        err = set_obj(&p->params, &p->params_len,
                      cJSON_GetObjectItemCaseSensitive(settings, "params"));
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "results");
    if (!err && cJSON_IsObject(res))
        err = set_obj(&p->results, &p->results_len, res);
    if (err == -E2BIG)
        snprintf(why, size, "paragraph %.64s: config, params or results over %d bytes", p->id,
                 ZP_JSON_MAX);
    else if (err)
        snprintf(why, size, "out of memory");
    if (err)
        return err;
    const char *st = get_str(j, "status");
    for (size_t i = 0; st && i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (!strcmp(st, statuses[i]))
            p->status = statuses[i];
    /* A run the server did not see end did not finish. */
    if (para_running(p))
        p->status = "ABORT";
    const cJSON *prog = cJSON_GetObjectItemCaseSensitive(j, "progress");
    if (cJSON_IsNumber(prog) && prog->valuedouble >= 0 && prog->valuedouble <= 100)
        p->progress = (int)prog->valuedouble;
    int64_t d;
    if ((d = get_date(j, "dateCreated")))
        p->created = d;
    p->updated = get_date(j, "dateUpdated");
    p->started = get_date(j, "dateStarted");
    p->finished = get_date(j, "dateFinished");
    zp_para_account(p);
    return 0;
}

int zp_note_fill(zp_note *n, const cJSON *root, const zp_note_limits *lim, char *why, size_t size)
{
    const cJSON *paras = cJSON_GetObjectItemCaseSensitive(root, "paragraphs");
    if (!cJSON_IsObject(root) || (paras && !cJSON_IsNull(paras) && !cJSON_IsArray(paras))) {
        snprintf(why, size, "not a Zeppelin note: %s",
                 cJSON_IsObject(root) ? "'paragraphs' is not an array" : "not a JSON object");
        return -EINVAL;
    }
    if (!cJSON_IsArray(paras) && !get_str(root, "id") && !get_str(root, "name")) {
        snprintf(why, size, "not a Zeppelin note: no 'paragraphs', 'id' or 'name'");
        return -EINVAL;
    }
    int err = zp_note_set_loaded(n);
    if (err) {
        snprintf(why, size, "out of memory");
        return err;
    }
    if ((unsigned)cJSON_GetArraySize(paras) > lim->max_paragraphs) {
        snprintf(why, size, "over %u paragraphs (zeppelin.max_paragraphs)", lim->max_paragraphs);
        return -E2BIG;
    }
    const char *group = get_str(root, "defaultInterpreterGroup");
    if (group && strlen(group) < sizeof(n->group))
        snprintf(n->group, sizeof(n->group), "%s", group);
    static const char *const keys[] = {"config", "noteParams", "noteForms", "info",
                                       "angularObjects"};
    cJSON **dst[] = {&n->config, &n->note_params, &n->note_forms, &n->info, &n->angular};
    for (size_t i = 0; i < 5; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
        if (cJSON_IsObject(o)) {
            cJSON *copy = cJSON_Duplicate(o, 1);
            if (!copy) {
                snprintf(why, size, "out of memory");
                return -ENOMEM;
            }
            cJSON_Delete(*dst[i]);
            *dst[i] = copy;
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(n->info, "isRunning");
    const cJSON *j;
    cJSON_ArrayForEach(j, paras)
    {
        const char *id = get_str(j, "id");
        zp_para *p;
        if (!cJSON_IsObject(j) || (id && !zp_valid_id(id))) {
            snprintf(why, size, "a paragraph is not an object with a valid 'id'");
            return -EINVAL;
        }
        if (id && zp_note_para(n, id)) {
            snprintf(why, size, "two paragraphs with id %.64s", id);
            return -EINVAL;
        }
        if ((err = zp_para_new(id, &p)) < 0) {
            snprintf(why, size, "out of memory");
            return err;
        }
        zp_note_insert(n, p, n->nparas);
        if ((err = para_fill(p, j, lim, why, size)) < 0)
            return err;
        if (n->bytes > lim->max_bytes) {
            snprintf(why, size, "over %llu bytes (zeppelin.max_note_bytes)",
                     (unsigned long long)lim->max_bytes);
            return -E2BIG;
        }
    }
    return 0;
}

int zp_note_parse(const char *json, size_t len, const char *id, const char *path,
                  const zp_note_limits *lim, zp_note **out, char *why, size_t size)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        snprintf(why, size, "not valid JSON");
        return -EINVAL;
    }
    zp_note *n;
    const cJSON *perms;
    int err = zp_note_new(id, path, &n);
    if (err) {
        snprintf(why, size, "out of memory");
    } else if ((err = zp_note_fill(n, root, lim, why, size)) < 0) {
        zp_note_free(n);
    } else if ((perms = cJSON_GetObjectItemCaseSensitive(root, "permissions")) &&
               !cJSON_IsNull(perms) && (err = zp_perms_parse(perms, &n->perms, why, size)) < 0) {
        zp_note_free(n);
    } else {
        *out = n;
    }
    cJSON_Delete(root);
    return err;
}

/* ---------------------------------------------------------------- paths */

int zp_path_normalize(const char *in, char *out, size_t size, char *why, size_t wsize)
{
    bool blank = true;
    for (const char *s = in; *s; s++)
        blank &= isspace((unsigned char)*s) != 0;
    if (blank)
        in = "/Untitled Note";
    int n = snprintf(out, size, "%s%s", in[0] == '/' ? "" : "/", in);
    if (n < 0 || (size_t)n >= size) {
        snprintf(why, wsize, "Note path must be less than %zu bytes", size);
        return -EINVAL;
    }
    for (char *s = out; *s; s++)
        if (*s == '\r' || *s == '\n')
            *s = ' ';
    if (out[n - 1] == '/') {
        snprintf(why, wsize, "Note name shouldn't end with '/'");
        return -EINVAL;
    }
    if (strlen(strrchr(out, '/') + 1) > ZP_NAME_MAX) {
        snprintf(why, wsize, "Note name must be less than 255");
        return -EINVAL;
    }
    if (strstr(out, "..")) {
        snprintf(why, wsize, "Note name can not contain '..'");
        return -EINVAL;
    }
    /* Folders are directories: each a file name, not nested past what a
     * scan reads back. */
    unsigned depth = 0;
    for (const char *seg = out + 1, *next; *seg; seg = next + 1) {
        next = strchr(seg, '/');
        if (!next)
            break;
        /* "." is no folder, and the store does not read ".git". */
        if ((next - seg == 1 && seg[0] == '.') || (next - seg == 4 && !strncmp(seg, ".git", 4))) {
            snprintf(why, wsize, "Note folder can not be '%.*s'", (int)(next - seg), seg);
            return -EINVAL;
        }
        if (next - seg > ZP_NAME_MAX || ++depth > ZP_DEPTH_MAX) {
            snprintf(why, wsize, "%s",
                     depth > ZP_DEPTH_MAX ? "Note path has too many folders (limit 16)"
                                          : "Note folder name must be less than 255");
            return -EINVAL;
        }
    }
    /* Empty folders ("//") and control characters would make bad files. */
    for (const char *s = out; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || (s[0] == '/' && s[1] == '/')) {
            snprintf(why, wsize, "Note name can not contain control characters or '//'");
            return -EINVAL;
        }
    }
    return 0;
}

void zp_path_add_time(char *path, size_t size)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm))
        return;
    size_t len = strlen(path);
    snprintf(path + len, size > len ? size - len : 0, " %s", stamp);
}

int zp_note_file_name(const char *id, const char *path, char *out, size_t size)
{
    if (path[0] != '/')
        return -EINVAL;
    int n = snprintf(out, size, "%s_%s.zpln", path + 1, id);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

int zp_file_name_split(const char *rel, char *id, size_t idsize, char *path, size_t psize)
{
    size_t n = strlen(rel);
    const char *us = strrchr(rel, '_');
    if (n < 6 || strcmp(rel + n - 5, ".zpln") || !us || us == rel || us[-1] == '/')
        return -EINVAL;
    size_t idlen = (size_t)(rel + n - 5 - (us + 1));
    size_t plen = (size_t)(us - rel);
    if (!idlen || idlen >= idsize || idlen > ZP_ID_MAX || plen + 2 > psize)
        return -EINVAL;
    memcpy(id, us + 1, idlen);
    id[idlen] = 0;
    if (strchr(id, '/') || !zp_valid_id(id))
        return -EINVAL;
    path[0] = '/';
    memcpy(path + 1, rel, plen);
    path[plen + 1] = 0;
    return 0;
}

/* ---------------------------------------------------------------- dates */

static int64_t tm_to_ms(struct tm *tm, int ms, bool has_zone, long zone_s)
{
    time_t t;
    if (has_zone) {
        t = timegm(tm);
        if (t == (time_t)-1)
            return -1;
        t -= zone_s;
    } else {
        tm->tm_isdst = -1;
        t = mktime(tm);
        if (t == (time_t)-1)
            return -1;
    }
    return (int64_t)t * 1000 + ms;
}

int64_t zp_parse_date(const char *s)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (end) {
        if (*end == '.' && isdigit((unsigned char)end[1])) {
            ms = (int)strtol(end + 1, (char **)&end, 10) % 1000;
        }
        return *end ? -1 : tm_to_ms(&tm, ms, false, 0);
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end) {
        if ((*end == '+' || *end == '-') && strlen(end) == 5) {
            int v = atoi(end + 1);
            long zone = (long)(v / 100 * 3600 + v % 100 * 60);
            return tm_to_ms(&tm, 0, true, *end == '-' ? -zone : zone);
        }
        if (*end == 'Z' && !end[1])
            return tm_to_ms(&tm, 0, true, 0);
        return -1;
    }
    /* Gson's old default, "Mar 8, 2019 4:29:16 PM" or "Mar 08, 2019 16:29:16". */
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%b %d, %Y %I:%M:%S %p", &tm);
    if (end && !*end)
        return tm_to_ms(&tm, 0, false, 0);
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%b %d, %Y %H:%M:%S", &tm);
    if (end && !*end)
        return tm_to_ms(&tm, 0, false, 0);
    return -1;
}

void zp_format_file_date(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];
    if (!localtime_r(&t, &tm) || !strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(base, sizeof(base), "1970-01-01 00:00:00");
    snprintf(buf, size, "%s.%03d", base, (int)(ms % 1000));
}
