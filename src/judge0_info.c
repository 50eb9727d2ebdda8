/* Judge0's read-only routes: languages by Judge0's ids (from the specs'
 * names.judge0), statuses, about/version (the Judge0 API version served,
 * runnel's own beside it), the sandbox, the limits in Judge0's names and
 * the queue as Judge0's workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "judge0_int.h"

static bool allowed(j0_state *st, rn_http *h)
{
    char user[128];
    bool admin;
    return j0_authenticate(st, h, user, sizeof(user), &admin);
}

/* For a route that answers from the host's info: false when h may not see
 * it (answered already), else info filled and b ready to write. */
static bool open_info(j0_state *st, rn_http *h, rn_host_info *info, rn_jbuf *b)
{
    if (!allowed(st, h))
        return false;
    rn_host_info_get(st->host, info);
    rn_jbuf_init(b, 0);
    return true;
}

/* Status i as {"id":i,"description":"..." (left open), after a comma
 * unless it is the first. */
static void put_status(rn_jbuf *b, int i)
{
    rn_jbuf_printf(b, "%s{\"id\":%d,\"description\":", i > J0_IN_QUEUE ? "," : "", i);
    rn_jbuf_jcstr(b, j0_status_name(i));
}

static void reply(rn_http *h, rn_jbuf *b)
{
    if (b->oom)
        j0_reply_error(h, 500, "out of memory");
    else
        rn_http_reply(h, 200, "application/json; charset=utf-8", b->data, b->len);
    rn_jbuf_free(b);
}

/* One Judge0 language entry (id, name, the spec). */
typedef struct {
    int id;
    const char *name;
    const rn_spec *spec;
} lang;

static int lang_cmp(const void *a, const void *b)
{
    return ((const lang *)a)->id - ((const lang *)b)->id;
}

/* Every Judge0 id the specs name, sorted; *n set. Free the result. */
static lang *languages(const j0_state *st, size_t *n)
{
    const rn_specs *specs = rn_host_specs(st->host);
    size_t cap = 0, k = 0;
    for (size_t i = 0; i < rn_specs_count(specs); i++)
        cap += rn_specs_at(specs, i)->names.njudge0;
    lang *v = calloc(cap + 1, sizeof(*v));
    for (size_t i = 0; v && i < rn_specs_count(specs); i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        for (size_t j = 0; j < s->names.njudge0; j++)
            v[k++] = (lang){s->names.judge0[j].id, s->names.judge0[j].name, s};
    }
    const rn_spec *bash = rn_specs_find(specs, "bash");
    if (v && bash && !rn_specs_find_judge0(specs, J0_MULTI_FILE_ID))
        v[k++] = (lang){J0_MULTI_FILE_ID, J0_MULTI_FILE_NAME, bash};
    if (v)
        qsort(v, k, sizeof(*v), lang_cmp);
    *n = k;
    return v;
}

static void list_languages(j0_state *st, rn_http *h, bool all)
{
    size_t n, k = 0;
    if (!allowed(st, h))
        return;
    lang *v = languages(st, &n);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "[");
    for (size_t i = 0; v && i < n; i++) {
        if (!all && !v[i].spec->available)
            continue;
        rn_jbuf_printf(&b, "%s{\"id\":%d,\"name\":", k++ ? "," : "", v[i].id);
        rn_jbuf_jcstr(&b, v[i].name);
        if (all)
            rn_jbuf_printf(&b, ",\"is_archived\":%s", v[i].spec->available ? "false" : "true");
        rn_jbuf_str(&b, "}");
    }
    rn_jbuf_str(&b, "]");
    free(v);
    reply(h, &b);
}

void j0_http_languages(void *state, rn_http *h)
{
    list_languages(state, h, false);
}

void j0_http_languages_all(void *state, rn_http *h)
{
    list_languages(state, h, true);
}

static void put_argv(rn_jbuf *b, char **argv)
{
    if (!argv) {
        rn_jbuf_str(b, "null");
        return;
    }
    rn_jbuf s;
    rn_jbuf_init(&s, 0);
    for (char **a = argv; *a; a++) {
        rn_jbuf_str(&s, a == argv ? "" : " ");
        rn_jbuf_str(&s, *a);
    }
    rn_jbuf_jstr(b, s.data ? s.data : "", s.len);
    rn_jbuf_free(&s);
}

void j0_http_language(void *state, rn_http *h)
{
    j0_state *st = state;
    if (!allowed(st, h))
        return;
    const char *p = strrchr(rn_http_path(h), '/');
    char *end;
    long id = p ? strtol(p + 1, &end, 10) : -1;
    const rn_spec *s = NULL;
    const char *name = NULL;
    if (p && p[1] && !*end && id == J0_MULTI_FILE_ID &&
        !rn_specs_find_judge0(rn_host_specs(st->host), J0_MULTI_FILE_ID)) {
        s = rn_specs_find(rn_host_specs(st->host), "bash");
        name = J0_MULTI_FILE_NAME;
    } else if (p && p[1] && !*end && id > 0 && id < 100000) {
        s = rn_specs_find_judge0(rn_host_specs(st->host), (int)id);
        for (size_t k = 0; s && k < s->names.njudge0; k++)
            if (s->names.judge0[k].id == id)
                name = s->names.judge0[k].name;
    }
    if (!s) {
        j0_reply_error(h, 404, "language not found");
        return;
    }
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_printf(&b, "{\"id\":%ld,\"name\":", id);
    rn_jbuf_jcstr(&b, name);
    rn_jbuf_printf(&b, ",\"is_archived\":%s,\"source_file\":", s->available ? "false" : "true");
    rn_jbuf_jcstr(&b, s->filename ? s->filename : "");
    rn_jbuf_str(&b, ",\"compile_cmd\":");
    put_argv(&b, s->compile);
    rn_jbuf_str(&b, ",\"run_cmd\":");
    put_argv(&b, s->run);
    rn_jbuf_str(&b, "}");
    reply(h, &b);
}

void j0_http_statuses(void *state, rn_http *h)
{
    if (!allowed(state, h))
        return;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "[");
    for (int i = J0_IN_QUEUE; i <= J0_EXEC_FORMAT; i++) {
        put_status(&b, i);
        rn_jbuf_str(&b, "}");
    }
    rn_jbuf_str(&b, "]");
    reply(h, &b);
}

void j0_http_about(void *state, rn_http *h)
{
    rn_host_info info;
    rn_jbuf b;
    if (!open_info(state, h, &info, &b))
        return;
    rn_jbuf_str(&b, "{\"version\":\"" J0_API_VERSION "\",\"homepage\":\"https://judge0.com\","
                    "\"source_code\":\"https://github.com/judge0/judge0\",\"maintainer\":");
    rn_jbuf_jcstr(&b, "runnel (serving the Judge0 CE " J0_API_VERSION " API)");
    rn_jbuf_str(&b, ",\"runnel_version\":");
    rn_jbuf_jcstr(&b, info.version);
    rn_jbuf_str(&b, "}");
    reply(h, &b);
}

void j0_http_version(void *state, rn_http *h)
{
    if (!allowed(state, h))
        return;
    rn_http_reply(h, 200, "text/plain; charset=utf-8", J0_API_VERSION, strlen(J0_API_VERSION));
}

void j0_http_isolate(void *state, rn_http *h)
{
    rn_host_info info;
    rn_jbuf b;
    if (!open_info(state, h, &info, &b))
        return;
    rn_jbuf_str(&b, "runnel sandbox ");
    rn_jbuf_str(&b, info.sandbox_version ? info.sandbox_version : "");
    rn_jbuf_str(&b, " (not isolate): namespaces, cgroup v2, seccomp; protections:");
    for (size_t i = 0; i < info.nprotections; i++) {
        rn_jbuf_str(&b, " ");
        rn_jbuf_str(&b, info.protections[i]);
    }
    rn_jbuf_str(&b, "\n");
    rn_http_reply(h, 200, "text/plain; charset=utf-8", b.data ? b.data : "", b.len);
    rn_jbuf_free(&b);
}

void j0_http_license(void *state, rn_http *h)
{
    static const char text[] =
        "runnel serves the Judge0 CE API; it shares no code with Judge0 (GPL-3.0). See the "
        "runnel package's copyright file for runnel's own license.\n";
    if (!allowed(state, h))
        return;
    rn_http_reply(h, 200, "text/plain; charset=utf-8", text, sizeof(text) - 1);
}

void j0_http_system_info(void *state, rn_http *h)
{
    if (!allowed(state, h))
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_printf(&b, "{\"CPU(s)\":\"%ld\",\"Mem\":\"%lldM\"}", cpus,
                   (long long)pages * psize / (1024 * 1024));
    reply(h, &b);
}

void j0_http_config_info(void *state, rn_http *h)
{
    const j0_state *st = state;
    const j0_conf *c = &st->conf;
    rn_host_info info;
    rn_jbuf b;
    if (!open_info(state, h, &info, &b))
        return;
    rn_jbuf_printf(
        &b,
        "{\"maintenance_mode\":false,\"enable_wait_result\":%s,\"enable_compiler_options\":false,"
        "\"allowed_languages_for_compile_options\":[],\"enable_command_line_arguments\":true,"
        "\"enable_submission_delete\":%s,\"enable_callbacks\":%s,\"callbacks_max_tries\":3,"
        "\"callbacks_timeout\":5.0,\"enable_additional_files\":true,"
        "\"max_queue_size\":%u,\"cpu_time_limit\":%g,\"max_cpu_time_limit\":%g,"
        "\"cpu_extra_time\":%g,\"max_cpu_extra_time\":%g,\"wall_time_limit\":%g,"
        "\"max_wall_time_limit\":%g,\"memory_limit\":%llu,\"max_memory_limit\":%llu,"
        "\"stack_limit\":%llu,\"max_stack_limit\":%llu,\"max_processes_and_or_threads\":%llu,"
        "\"max_max_processes_and_or_threads\":%llu,"
        "\"enable_per_process_and_thread_time_limit\":%s,"
        "\"allow_enable_per_process_and_thread_time_limit\":true,"
        "\"enable_per_process_and_thread_memory_limit\":%s,"
        "\"allow_enable_per_process_and_thread_memory_limit\":true,\"max_file_size\":%llu,"
        "\"max_max_file_size\":%llu,\"number_of_runs\":%llu,\"max_number_of_runs\":%llu,"
        "\"redirect_stderr_to_stdout\":false,\"max_extract_size\":%llu,"
        "\"enable_batched_submissions\":true,\"max_submission_batch_size\":%d,"
        "\"submission_cache_duration\":0.0,\"use_docs_as_homepage\":false,"
        "\"allow_enable_network\":%s,\"enable_network\":false}",
        c->enable_wait_result ? "true" : "false", c->enable_submission_delete ? "true" : "false",
        j0_callback_supported() ? "true" : "false", info.limits ? info.limits->queue_max : 0,
        c->cpu_time_limit_ms / 1000.0, c->max_cpu_time_limit_ms / 1000.0,
        c->cpu_extra_time_ms / 1000.0, c->max_cpu_extra_time_ms / 1000.0,
        c->wall_time_limit_ms / 1000.0, c->max_wall_time_limit_ms / 1000.0,
        (unsigned long long)c->memory_limit_kb, (unsigned long long)c->max_memory_limit_kb,
        (unsigned long long)c->stack_limit_kb, (unsigned long long)c->max_stack_limit_kb,
        (unsigned long long)c->max_processes_and_or_threads,
        (unsigned long long)c->max_max_processes_and_or_threads,
        c->enable_per_process_and_thread_time_limit ? "true" : "false",
        c->enable_per_process_and_thread_memory_limit ? "true" : "false",
        (unsigned long long)c->max_file_size_kb, (unsigned long long)c->max_max_file_size_kb,
        (unsigned long long)c->number_of_runs, (unsigned long long)c->max_number_of_runs,
        (unsigned long long)c->max_extract_size_kb, J0_BATCH_MAX,
        c->allow_enable_network ? "true" : "false");
    reply(h, &b);
}

void j0_http_workers(void *state, rn_http *h)
{
    rn_host_info info;
    rn_jbuf b;
    if (!open_info(state, h, &info, &b))
        return;
    unsigned workers = info.limits ? info.limits->concurrency : 0;
    rn_jbuf_printf(&b,
                   "[{\"queue\":\"runnel\",\"size\":%u,\"available\":%u,\"idle\":%u,"
                   "\"working\":%u,\"paused\":0,\"failed\":0}]",
                   info.queued, workers, workers > info.running ? workers - info.running : 0,
                   info.running);
    reply(h, &b);
}

void j0_http_statistics(void *state, rn_http *h)
{
    j0_state *st = state;
    if (!allowed(st, h))
        return;
    size_t by_status[J0_EXEC_FORMAT + 1] = {0};
    for (const j0_sub *s = st->head; s; s = s->next)
        if (s->status_id >= 1 && s->status_id <= J0_EXEC_FORMAT)
            by_status[s->status_id]++;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_printf(&b, "{\"submissions\":{\"total\":%zu},\"statuses\":[", st->count);
    for (int i = J0_IN_QUEUE; i <= J0_EXEC_FORMAT; i++) {
        put_status(&b, i);
        rn_jbuf_printf(&b, ",\"count\":%zu}", by_status[i]);
    }
    rn_jbuf_str(&b, "]}");
    reply(h, &b);
}
