/* A Judge0 submission from its JSON: fields, defaults and maxima under
 * Judge0's names (config), and Judge0's 422 errors hash for a bad value
 * (app/models/submission.rb's validations, in our own words where
 * Judge0's are not part of the wire). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge0_int.h"
#include "util.h"

int j0_bytes_set(j0_bytes *out, const char *p, size_t n)
{
    char *c = malloc(n + 1);
    if (!c)
        return -ENOMEM;
    if (n)
        memcpy(c, p, n);
    c[n] = 0;
    free(out->p);
    out->p = c;
    out->len = n;
    return 0;
}

void j0_bytes_clear(j0_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

int j0_b64_decode(const char *s, size_t n, j0_bytes *out)
{
    char *p = malloc(n / 4 * 3 + 4);
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int v = rn_base64_value((unsigned char)s[i], true);
        if (v < 0)
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    p[len] = 0;
    free(out->p);
    out->p = p;
    out->len = len;
    return 0;
}

void j0_uuid(char out[37])
{
    char hex[33];
    if (rn_random_hex(hex, 16) < 0)
        snprintf(hex, sizeof(hex), "%016llx%016llx", (unsigned long long)rn_now_ms(),
                 (unsigned long long)rand());
    hex[12] = '4';
    static const char variant[] = "89ab";
    hex[16] = variant[(unsigned char)hex[16] % 4];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void j0_sub_free(j0_sub *s)
{
    if (!s)
        return;
    j0_bytes *all[] = {&s->source_code,
                       &s->stdin_data,
                       &s->expected_output,
                       &s->compiler_options,
                       &s->command_line_arguments,
                       &s->callback_url,
                       &s->additional_files,
                       &s->out,
                       &s->err,
                       &s->compile_output,
                       &s->message};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        j0_bytes_clear(all[i]);
    free(s);
}

/* Add message to errs[field] (Rails' errors hash: field -> [messages]). */
static void add_error(cJSON *errs, const char *field, const char *message)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(errs, field);
    if (!a)
        a = cJSON_AddArrayToObject(errs, field);
    if (a)
        cJSON_AddItemToArray(a, cJSON_CreateString(message));
}

/* A number as Rails casts it: a JSON number or a numeric string; absent
 * or null keeps def. false with errs filled when it is not a number. */
static bool get_number(const cJSON *obj, const char *name, double def, double *out, cJSON *errs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = def;
    if (!v || cJSON_IsNull(v))
        return true;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        *out = v->valuedouble;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        double d = strtod(v->valuestring, &end);
        if (!*end && isfinite(d)) {
            *out = d;
            return true;
        }
    }
    add_error(errs, name, "is not a number");
    return false;
}

/* A number in [lo, hi] (Judge0's numericality checks). */
static double get_bounded(const cJSON *obj, const char *name, double def, double lo, double hi,
                          bool integer, cJSON *errs)
{
    double d;
    char m[96];
    if (!get_number(obj, name, def, &d, errs))
        return def;
    if (integer && d != floor(d)) {
        add_error(errs, name, "must be an integer");
        return def;
    }
    if (d < lo) {
        snprintf(m, sizeof(m), "must be greater than or equal to %g", lo);
        add_error(errs, name, m);
    } else if (d > hi) {
        snprintf(m, sizeof(m), "must be less than or equal to %g", hi);
        add_error(errs, name, m);
    }
    return d;
}

static bool get_bool(const cJSON *obj, const char *name, bool def, cJSON *errs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v))
        return def;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsString(v) && (!strcmp(v->valuestring, "true") || !strcmp(v->valuestring, "1")))
        return true;
    if (cJSON_IsString(v) && (!strcmp(v->valuestring, "false") || !strcmp(v->valuestring, "0")))
        return false;
    add_error(errs, name, "is not a boolean");
    return def;
}

/* A text field, base64-decoded when asked; absent and null stay NULL. */
static int get_text(const cJSON *obj, const char *name, bool base64, j0_bytes *out, cJSON *errs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        add_error(errs, name, "must be a string");
        return 0;
    }
    size_t n = strlen(v->valuestring);
    if (base64)
        return j0_b64_decode(v->valuestring, n, out);
    return j0_bytes_set(out, v->valuestring, n);
}

/* Judge0 strips these from compiler_options and command_line_arguments. */
static void strip_shell(j0_bytes *b)
{
    size_t w = 0;
    if (!b->p)
        return;
    for (size_t i = 0; i < b->len; i++)
        if (!strchr("$&;<>|`", b->p[i]) || !b->p[i])
            b->p[w++] = b->p[i];
    b->len = w;
    b->p[w] = 0;
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t utf8_chars(const j0_bytes *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        if (((unsigned char)b->p[i] & 0xc0) != 0x80)
            n++;
    return n;
}

static int parse_texts(const cJSON *obj, bool base64, j0_sub *s, cJSON *errs)
{
    int r = 0;
    /* Judge0 decodes source_code, stdin and expected_output only. */
    r |= get_text(obj, "source_code", base64, &s->source_code, errs);
    r |= get_text(obj, "stdin", base64, &s->stdin_data, errs);
    r |= get_text(obj, "expected_output", base64, &s->expected_output, errs);
    r |= get_text(obj, "compiler_options", false, &s->compiler_options, errs);
    r |= get_text(obj, "command_line_arguments", false, &s->command_line_arguments, errs);
    r |= get_text(obj, "callback_url", false, &s->callback_url, errs);
    r |= get_text(obj, "additional_files", false, &s->additional_files, errs);
    if (r < 0)
        return -ENOMEM;
    const char *opt[] = {"compiler_options", "command_line_arguments"};
    j0_bytes *ob[] = {&s->compiler_options, &s->command_line_arguments};
    for (int i = 0; i < 2; i++) {
        if (ob[i]->p && utf8_chars(ob[i]) > J0_OPTIONS_MAX)
            add_error(errs, opt[i], "is too long (maximum is 512 characters)");
        strip_shell(ob[i]);
    }
    if (s->callback_url.p && s->callback_url.len && strncmp(s->callback_url.p, "http://", 7) &&
        strncmp(s->callback_url.p, "https://", 8))
        add_error(errs, "callback_url", "is not a valid URL");
    return 0;
}

static void parse_limits(const j0_conf *c, const cJSON *obj, j0_sub *s, cJSON *errs)
{
    s->cpu_time_limit = get_bounded(obj, "cpu_time_limit", c->cpu_time_limit_ms / 1000.0, 0,
                                    c->max_cpu_time_limit_ms / 1000.0, false, errs);
    s->cpu_extra_time = get_bounded(obj, "cpu_extra_time", c->cpu_extra_time_ms / 1000.0, 0,
                                    c->max_cpu_extra_time_ms / 1000.0, false, errs);
    s->wall_time_limit = get_bounded(obj, "wall_time_limit", c->wall_time_limit_ms / 1000.0, 1,
                                     c->max_wall_time_limit_ms / 1000.0, false, errs);
    s->memory_limit = (uint64_t)get_bounded(obj, "memory_limit", (double)c->memory_limit_kb, 2048,
                                            (double)c->max_memory_limit_kb, true, errs);
    s->stack_limit = (uint64_t)get_bounded(obj, "stack_limit", (double)c->stack_limit_kb, 0,
                                           (double)c->max_stack_limit_kb, true, errs);
    s->max_processes_and_or_threads = (uint64_t)get_bounded(
        obj, "max_processes_and_or_threads", (double)c->max_processes_and_or_threads, 1,
        (double)c->max_max_processes_and_or_threads, true, errs);
    s->max_file_size = (uint64_t)get_bounded(obj, "max_file_size", (double)c->max_file_size_kb, 0,
                                             (double)c->max_max_file_size_kb, true, errs);
    s->number_of_runs = (int)get_bounded(obj, "number_of_runs", (double)c->number_of_runs, 1,
                                         (double)c->max_number_of_runs, true, errs);
    s->per_process_time = get_bool(obj, "enable_per_process_and_thread_time_limit",
                                   c->enable_per_process_and_thread_time_limit, errs);
    s->per_process_memory = get_bool(obj, "enable_per_process_and_thread_memory_limit",
                                     c->enable_per_process_and_thread_memory_limit, errs);
    s->redirect_stderr_to_stdout = get_bool(obj, "redirect_stderr_to_stdout", false, errs);
    s->enable_network = get_bool(obj, "enable_network", false, errs);
    if (s->enable_network && !c->allow_enable_network)
        add_error(errs, "enable_network", "enabling network is not allowed");
}

int j0_req_parse(j0_state *st, const cJSON *obj, bool base64, j0_sub **out, cJSON **errs, char *msg,
                 size_t size)
{
    *out = NULL;
    *errs = NULL;
    if (!cJSON_IsObject(obj)) {
        snprintf(msg, size, "a submission must be a JSON object");
        return 400;
    }
    j0_sub *s = calloc(1, sizeof(*s));
    cJSON *e = cJSON_CreateObject();
    if (!s || !e)
        goto oom;
    s->st = st;
    s->exit_code = -1;
    s->status_id = J0_IN_QUEUE;
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(obj, "language_id");
    double id = 0;
    if (!lang || cJSON_IsNull(lang))
        add_error(e, "language_id", "can't be blank");
    else if (get_number(obj, "language_id", 0, &id, e)) {
        s->language_id = (id >= 0 && id <= 1e6) ? (int)id : -1;
        if (id != floor(id) || !j0_spec_of(st, s->language_id, NULL)) {
            char m[96];
            snprintf(m, sizeof(m), "language with id %.0f doesn't exist", id);
            add_error(e, "language_id", m);
        }
    }
    if (parse_texts(obj, base64, s, e) < 0)
        goto oom;
    if (s->language_id != J0_MULTI_FILE_ID && (!s->source_code.p || !s->source_code.len))
        add_error(e, "source_code", "can't be blank");
    if (s->language_id == J0_MULTI_FILE_ID && (!s->additional_files.p || !s->additional_files.len))
        add_error(e, "additional_files", "can't be blank for Multi-file program");
    parse_limits(&st->conf, obj, s, e);
    if (!e->child && s->additional_files.p && s->additional_files.len) {
        rn_job_file *files;
        size_t n;
        char why[256];
        if (j0_files_unpack(st, s, &files, &n, why, sizeof(why)) < 0)
            add_error(e, "additional_files", why);
        else
            j0_files_free(files, n);
    }
    if (e->child) {
        j0_sub_free(s);
        *errs = e;
        return 422;
    }
    cJSON_Delete(e);
    j0_uuid(s->token);
    s->created_ms = rn_store_now_ms();
    *out = s;
    return 0;
oom:
    j0_sub_free(s);
    cJSON_Delete(e);
    snprintf(msg, size, "out of memory");
    return 500;
}
