/* A Judge0 submission as JSON: Judge0's field names and order, its null
 * for what is absent, decimals as strings, base64 as Ruby writes it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "judge0_int.h"

static const char *const status_names[] = {
    NULL,
    "In Queue",
    "Processing",
    "Accepted",
    "Wrong Answer",
    "Time Limit Exceeded",
    "Compilation Error",
    "Runtime Error (SIGSEGV)",
    "Runtime Error (SIGXFSZ)",
    "Runtime Error (SIGFPE)",
    "Runtime Error (SIGABRT)",
    "Runtime Error (NZEC)",
    "Runtime Error (Other)",
    "Internal Error",
    "Exec Format Error",
};

const char *j0_status_name(int id)
{
    return id >= 1 && id <= J0_EXEC_FORMAT ? status_names[id] : "Internal Error";
}

/* Every field a client may ask for, in the order "*" gives them. */
static const char *const all_fields[] = {
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
};
#define NFIELDS (sizeof(all_fields) / sizeof(all_fields[0]))

static const char default_fields[] =
    "token,time,memory,stdout,stderr,compile_output,message,status";

static bool known_field(const char *f, size_t n)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strlen(all_fields[i]) == n && !strncmp(all_fields[i], f, n))
            return true;
    return false;
}

bool j0_fields_valid(const char *fields, char *bad, size_t size)
{
    size_t w = 0;
    bool ok = true;
    if (!fields || !strcmp(fields, "*"))
        return true;
    w += (size_t)snprintf(bad, size, "[");
    for (const char *p = fields; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (n && !known_field(p, n)) {
            if (w < size)
                w += (size_t)snprintf(bad + w, size - w, "%s%.*s", ok ? "" : ", ", (int)n, p);
            ok = false;
        }
        p = e ? e + 1 : p + strlen(p);
    }
    if (w < size)
        snprintf(bad + w, size - w, "]");
    return ok;
}

static bool wanted(const char *fields, const char *f)
{
    size_t n = strlen(f);
    if (!strcmp(fields, "*"))
        return true;
    for (const char *p = fields; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        while (k && *p == ' ')
            p++, k--;
        while (k && p[k - 1] == ' ')
            k--;
        if (k == n && !strncmp(p, f, n))
            return true;
        p = e ? e + 1 : p + strlen(p);
    }
    return false;
}

void j0_b64_encode(rn_jbuf *b, const char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)p[i + 1] << 8;
        if (i + 2 < n)
            v |= (uint32_t)(unsigned char)p[i + 2];
        q[0] = tab[(v >> 18) & 63];
        q[1] = tab[(v >> 12) & 63];
        q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? tab[v & 63] : '=';
        rn_jbuf_raw(b, q, 4);
        col += 4;
        if (col == 60) {
            rn_jbuf_raw(b, "\\n", 2);
            col = 0;
        }
    }
    if (col)
        rn_jbuf_raw(b, "\\n", 2);
}

/* A text field: null, a JSON string, or base64 in one. */
static int put_text(rn_jbuf *b, const j0_bytes *t, bool base64)
{
    if (!t->p) {
        rn_jbuf_str(b, "null");
        return 0;
    }
    if (base64) {
        rn_jbuf_str(b, "\"");
        j0_b64_encode(b, t->p, t->len);
        rn_jbuf_str(b, "\"");
        return 0;
    }
    if (!rn_utf8_valid(t->p, t->len))
        return -EILSEQ;
    rn_jbuf_jstr(b, t->p, t->len);
    return 0;
}

/* A decimal as Ruby's BigDecimal#to_s gives it through Rails: "5.0",
 * "0.012". */
static void put_decimal(rn_jbuf *b, double d)
{
    char s[48];
    snprintf(s, sizeof(s), "%.3f", d);
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '0' && s[n - 2] != '.')
        s[--n] = 0;
    rn_jbuf_printf(b, "\"%s\"", s);
}

/* Rails' ISO 8601 with milliseconds, UTC. */
static void put_time(rn_jbuf *b, int64_t ms)
{
    if (ms <= 0) {
        rn_jbuf_str(b, "null");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[40];
    gmtime_r(&t, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    rn_jbuf_printf(b, "\"%s.%03dZ\"", s, (int)(ms % 1000));
}

static bool finished(const j0_sub *s)
{
    return s->status_id > J0_PROCESSING;
}

/* One field's value; -EILSEQ for non-UTF-8 text without base64. */
static int put_field(rn_jbuf *b, const j0_state *st, const j0_sub *s, const char *f, bool b64)
{
    const struct {
        const char *name;
        const j0_bytes *t;
        bool encoded; /* base64_encoded applies */
    } texts[] = {
        {"source_code", &s->source_code, true},
        {"stdin", &s->stdin_data, true},
        {"expected_output", &s->expected_output, true},
        {"stdout", &s->out, true},
        {"stderr", &s->err, true},
        {"compile_output", &s->compile_output, true},
        {"message", &s->message, true},
        {"compiler_options", &s->compiler_options, false},
        {"command_line_arguments", &s->command_line_arguments, false},
        {"callback_url", &s->callback_url, false},
        {"additional_files", &s->additional_files, false},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (!strcmp(f, texts[i].name))
            return put_text(b, texts[i].t, b64 && texts[i].encoded);
    if (!strcmp(f, "language_id"))
        rn_jbuf_printf(b, "%d", s->language_id);
    else if (!strcmp(f, "status_id"))
        rn_jbuf_printf(b, "%d", s->status_id);
    else if (!strcmp(f, "created_at"))
        put_time(b, s->created_ms);
    else if (!strcmp(f, "finished_at"))
        put_time(b, finished(s) ? s->finished_ms : 0);
    else if (!strcmp(f, "time") || !strcmp(f, "wall_time")) {
        if (s->has_time)
            put_decimal(b, f[0] == 't' ? s->time : s->wall_time);
        else
            rn_jbuf_str(b, "null");
    } else if (!strcmp(f, "memory")) {
        if (s->has_time)
            rn_jbuf_printf(b, "%llu", (unsigned long long)s->memory);
        else
            rn_jbuf_str(b, "null");
    } else if (!strcmp(f, "token"))
        rn_jbuf_jcstr(b, s->token);
    else if (!strcmp(f, "number_of_runs"))
        rn_jbuf_printf(b, "%d", s->number_of_runs);
    else if (!strcmp(f, "cpu_time_limit"))
        put_decimal(b, s->cpu_time_limit);
    else if (!strcmp(f, "cpu_extra_time"))
        put_decimal(b, s->cpu_extra_time);
    else if (!strcmp(f, "wall_time_limit"))
        put_decimal(b, s->wall_time_limit);
    else if (!strcmp(f, "memory_limit"))
        rn_jbuf_printf(b, "%llu", (unsigned long long)s->memory_limit);
    else if (!strcmp(f, "stack_limit"))
        rn_jbuf_printf(b, "%llu", (unsigned long long)s->stack_limit);
    else if (!strcmp(f, "max_processes_and_or_threads"))
        rn_jbuf_printf(b, "%llu", (unsigned long long)s->max_processes_and_or_threads);
    else if (!strcmp(f, "enable_per_process_and_thread_time_limit"))
        rn_jbuf_str(b, s->per_process_time ? "true" : "false");
    else if (!strcmp(f, "enable_per_process_and_thread_memory_limit"))
        rn_jbuf_str(b, s->per_process_memory ? "true" : "false");
    else if (!strcmp(f, "max_file_size"))
        rn_jbuf_printf(b, "%llu", (unsigned long long)s->max_file_size);
    else if (!strcmp(f, "exit_code")) {
        if (s->exit_code >= 0)
            rn_jbuf_printf(b, "%d", s->exit_code);
        else
            rn_jbuf_str(b, "null");
    } else if (!strcmp(f, "exit_signal")) {
        if (s->exit_signal > 0)
            rn_jbuf_printf(b, "%d", s->exit_signal);
        else
            rn_jbuf_str(b, "null");
    } else if (!strcmp(f, "redirect_stderr_to_stdout"))
        rn_jbuf_str(b, s->redirect_stderr_to_stdout ? "true" : "false");
    else if (!strcmp(f, "enable_network"))
        rn_jbuf_str(b, s->enable_network ? "true" : "false");
    else if (!strcmp(f, "status")) {
        rn_jbuf_printf(b, "{\"id\":%d,\"description\":", s->status_id);
        rn_jbuf_jcstr(b, j0_status_name(s->status_id));
        rn_jbuf_str(b, "}");
    } else if (!strcmp(f, "language")) {
        const char *name = NULL;
        j0_spec_of(st, s->language_id, &name);
        rn_jbuf_printf(b, "{\"id\":%d,\"name\":", s->language_id);
        rn_jbuf_jcstr(b, name ? name : "");
        rn_jbuf_str(b, "}");
    } else
        rn_jbuf_str(b, "null");
    return 0;
}

int j0_out_sub(rn_jbuf *b, const j0_state *st, const j0_sub *s, const char *fields, bool base64)
{
    size_t k = 0;
    if (!fields || !fields[0])
        fields = default_fields;
    rn_jbuf_str(b, "{");
    for (size_t i = 0; i < NFIELDS; i++) {
        if (!wanted(fields, all_fields[i]))
            continue;
        rn_jbuf_str(b, k++ ? "," : "");
        rn_jbuf_jcstr(b, all_fields[i]);
        rn_jbuf_str(b, ":");
        if (put_field(b, st, s, all_fields[i], base64) < 0)
            return -EILSEQ;
    }
    rn_jbuf_str(b, "}");
    return b->oom ? -ENOMEM : 0;
}

void j0_reply_error(rn_http *h, int status, const char *message)
{
    rn_http_reply_field(h, status, "application/json; charset=utf-8", "error", message);
}

void j0_reply_empty(rn_http *h, int status)
{
    rn_http_reply(h, status, "text/plain", "", 0);
}

const rn_spec *j0_spec_of(const j0_state *st, int id, const char **name)
{
    const rn_spec *s = rn_specs_find_judge0(rn_host_specs(st->host), id);
    if (name)
        *name = NULL;
    if (id == J0_MULTI_FILE_ID && !s) {
        /* Judge0's Multi-file program runs its scripts with bash. */
        s = rn_specs_find(rn_host_specs(st->host), "bash");
        if (name)
            *name = J0_MULTI_FILE_NAME;
        return s && s->available ? s : NULL;
    }
    if (!s || !s->available)
        return NULL;
    for (size_t k = 0; name && k < s->names.njudge0; k++)
        if (s->names.judge0[k].id == id)
            *name = s->names.judge0[k].name;
    return s;
}

void j0_reply_sub(j0_state *st, rn_http *h, int status, const j0_sub *s, const char *fields,
                  bool base64)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    int r = j0_out_sub(&b, st, s, fields, base64);
    if (r == -EILSEQ)
        j0_reply_error(h, 400,
                       "some attributes for this submission cannot be converted to UTF-8, use "
                       "base64_encoded=true");
    else if (r < 0)
        j0_reply_error(h, 500, "out of memory");
    else
        rn_http_reply(h, status, "application/json; charset=utf-8", b.data, b.len);
    rn_jbuf_free(&b);
}

static const char not_utf8_many[] = "some attributes for one or more submissions cannot be "
                                    "converted to UTF-8, use base64_encoded=true";

void j0_reply_batch(j0_state *st, rn_http *h, const j0_sub *const *subs, size_t n,
                    const char *fields, bool base64)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"submissions\":[");
    for (size_t i = 0; i < n; i++) {
        rn_jbuf_str(&b, i ? "," : "");
        if (!subs[i])
            rn_jbuf_str(&b, "null");
        else if (j0_out_sub(&b, st, subs[i], fields, base64) < 0) {
            rn_jbuf_free(&b);
            j0_reply_error(h, 400, not_utf8_many);
            return;
        }
    }
    rn_jbuf_str(&b, "]}");
    rn_http_reply(h, 200, "application/json; charset=utf-8", b.data, b.len);
    rn_jbuf_free(&b);
}

void j0_reply_page(j0_state *st, rn_http *h, const j0_sub *const *subs, size_t n, long page,
                   long per, long total, const char *fields, bool base64)
{
    long pages = (total + per - 1) / per;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"submissions\":[");
    for (size_t i = 0; i < n; i++) {
        rn_jbuf_str(&b, i ? "," : "");
        if (j0_out_sub(&b, st, subs[i], fields, base64) < 0) {
            rn_jbuf_free(&b);
            j0_reply_error(h, 400, not_utf8_many);
            return;
        }
    }
    rn_jbuf_printf(&b, "],\"meta\":{\"current_page\":%ld,\"next_page\":", page);
    rn_jbuf_printf(&b, page < pages ? "%ld" : "null", page + 1);
    rn_jbuf_printf(&b, ",\"prev_page\":");
    rn_jbuf_printf(&b, page > 1 ? "%ld" : "null", page - 1);
    rn_jbuf_printf(&b, ",\"total_pages\":%ld,\"total_count\":%ld}}", pages, total);
    rn_http_reply(h, 200, "application/json; charset=utf-8", b.data, b.len);
    rn_jbuf_free(&b);
}
