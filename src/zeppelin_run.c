/* Paragraph runs of the Zeppelin envelope.
 *
 * A paragraph's job belongs to the connection that ran it: when that
 * connection closes, the server kills the job and the paragraph ends ABORT
 * for whoever still watches the note. Running a paragraph that is running
 * kills the earlier run, and the new one starts once the old one has ended,
 * so a paragraph never has two runs. RUN_ALL_PARAGRAPHS runs the note's
 * paragraphs one after the other and stops at the first that fails, as
 * Zeppelin's NotebookService does. Every job is submitted through the
 * host on behalf of the connection whose request caused it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "zeppelin_env.h"
#include "zeppelin_text.h"

#define G zp_g

/* A RUN_PARAGRAPH that waits for the paragraph's earlier run to end. */
struct zp_pending {
    rn_conn *conn; /* ref held */
    cJSON *data;
    char user[ZP_USER_MAX + 1];
};

/* A paragraph's run in the sandbox. */
struct zp_run {
    zp_para *para;
    rn_conn *conn; /* the runner; ref held */
    rn_job *job;
    uv_timer_t timer;
    bool timer_on;
    uint64_t started_ms; /* monotonic */
    uint64_t limit_ms;
    const char *abort_note; /* set when the envelope killed it */
};

/* RUN_ALL_PARAGRAPHS in progress on a note. */
struct zp_runall {
    rn_conn *conn; /* ref held */
    cJSON *items;  /* [{id, paragraph, title, config, params}] */
    int next;
    char current[ZP_ID_MAX + 1];
    char user[ZP_USER_MAX + 1];
};

static int64_t now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- interpreters */

const rn_spec *zp_resolve(const char *name, bool *text)
{
    const rn_specs *specs = zp_host_specs();
    char low[128];
    size_t n = strlen(name);
    *text = false;
    if (!n || n >= sizeof(low))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    const cJSON *o = G.interpreters ? cJSON_GetObjectItem(G.interpreters, low) : NULL;
    const char *target = o ? o->valuestring : zp_builtin_target(low);
    if (target) {
        if (!*target)
            return NULL;
        if (!strcmp(target, ZP_TARGET_TEXT)) {
            *text = true;
            return NULL;
        }
        const rn_spec *s = rn_specs_find(specs, target);
        if (s || o)
            return s;
    }
    const rn_spec *s = rn_specs_find(specs, low);
    if (s)
        return s;
    /* group.interpreter: the interpreter part alone */
    const char *dot = strrchr(low, '.');
    if (dot && dot[1] && !strchr(dot + 1, '.') && dot != low) {
        char last[128];
        snprintf(last, sizeof(last), "%s", dot + 1);
        return zp_resolve(last, text);
    }
    return NULL;
}

/* ---------------------------------------------------------------- run all */

static void runall_free(zp_note *n)
{
    struct zp_runall *ra = n->runall;
    if (!ra)
        return;
    n->runall = NULL;
    rn_conn_unref(ra->conn);
    cJSON_Delete(ra->items);
    free(ra);
}

static const char *run_data_error(const cJSON *data, uint64_t code_bytes);

/* Start the next paragraphs until one runs in the sandbox (its end calls
 * this again) or one fails. */
static void runall_step(zp_note *n)
{
    struct zp_runall *ra = n->runall;
    while (ra && ra->next < cJSON_GetArraySize(ra->items)) {
        cJSON *item = cJSON_GetArrayItem(ra->items, ra->next++);
        const char *id = zp_str(item, "id");
        if (!id || !zp_valid_id(id))
            continue; /* as Zeppelin: an entry without an id is skipped */
        zp_para *p = zp_note_para(n, id);
        const char *bad = run_data_error(item, zp_host_limits()->code_bytes);
        if (!rn_conn_open(ra->conn))
            break;
        if (!p) {
            zp_send_error(ra->conn, NULL, "No such paragraph: %s", id);
            break;
        }
        if (bad) {
            zp_send_error(ra->conn, NULL, "RUN_ALL_PARAGRAPHS: %s", bad);
            break;
        }
        snprintf(ra->current, sizeof(ra->current), "%s", id);
        zp_start_request(rn_conn_data(ra->conn), n, item, ra->user, NULL);
        p = zp_note_para(n, id);
        if (p && (p->run || p->pending))
            return; /* its end goes on */
        if (!p || !p->success)
            break;
    }
    runall_free(n);
}

/* A paragraph's run ended: the RUN_ALL it belongs to goes on or stops. */
static void runall_after(zp_note *n, zp_para *p)
{
    if (!n->runall || strcmp(n->runall->current, p->id) || p->run || p->pending)
        return;
    if (p->success)
        runall_step(n);
    else
        runall_free(n);
}

/* ---------------------------------------------------------------- runs */

static void run_closed(uv_handle_t *h)
{
    free(h->data);
}

static void run_tick(uv_timer_t *t)
{
    struct zp_run *run = t->data;
    uint64_t el = rn_now_ms() - run->started_ms;
    int pct = run->limit_ms ? (int)(el * 100 / run->limit_ms) : 0;
    if (pct > 99)
        pct = 99;
    zp_broadcast_progress(run->para, run->conn, pct);
}

static void set_running(struct zp_run *run)
{
    zp_para *p = run->para;
    if (strcmp(p->status, "PENDING"))
        return;
    p->status = "RUNNING";
    p->started = now_epoch_ms();
    run->started_ms = rn_now_ms();
    zp_broadcast_para(p, run->conn);
    zp_broadcast_progress(p, run->conn, 0);
    uv_timer_start(&run->timer, run_tick, G.progress_ms, G.progress_ms);
    run->timer_on = true;
}

static void run_on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    (void)job;
    if (stage == RN_JOB_COMPILING || stage == RN_JOB_RUNNING)
        set_running(ud);
}

static void run_on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    struct zp_run *run = ud;
    zp_para *p = run->para;
    (void)fd;
    set_running(run);
    /* The job caps output at its limit; this guards the store and the note. */
    uint64_t cap = zp_host_limits()->output_bytes;
    if (p->out.len >= cap || zp_note_too_big(p->note, len)) {
        if (!p->out_cut && zp_note_too_big(p->note, len))
            snprintf(p->notice, sizeof(p->notice),
                     "Output truncated: the note is over zeppelin.max_note_bytes (%llu bytes)",
                     (unsigned long long)G.max_note_bytes);
        p->out_cut = true;
        rn_job_kill(job);
        return;
    }
    rn_jbuf_raw(&p->out, data, len);
    zp_para_account(p);
    rn_jbuf b;
    zp_frame_begin(&b, "PARAGRAPH_APPEND_OUTPUT");
    rn_jbuf_str(&b, "{\"noteId\":");
    zp_jstr(&b, p->note->id);
    rn_jbuf_str(&b, ",\"paragraphId\":");
    zp_jstr(&b, p->id);
    rn_jbuf_str(&b, ",\"index\":0,\"data\":");
    rn_jbuf_jstr(&b, data, len);
    rn_jbuf_str(&b, "}");
    zp_frame_end(&b, NULL);
    zp_broadcast(p->note, run->conn, &b);
    rn_jbuf_free(&b);
}

static void para_finish(zp_para *p, const char *status, bool success)
{
    p->status = status;
    p->success = success;
    p->has_results = true;
    p->finished = now_epoch_ms();
    if (!p->started)
        p->started = p->finished;
}

/* Why a run ended, as the line shown under its output; the status. */
static const char *end_status(struct zp_run *run, const rn_job_result *res)
{
    zp_para *p = run->para;
    switch (res->reason) {
    case RN_JOB_END_EXITED:
        if (res->exit_code == 0)
            return "FINISHED";
        snprintf(p->notice, sizeof(p->notice), "Process exited with code %d", res->exit_code);
        return "ERROR";
    case RN_JOB_END_KILLED:
        if (p->out_cut) {
            if (!p->notice[0])
                snprintf(p->notice, sizeof(p->notice),
                         "Output truncated: output limit exceeded (%llu bytes)",
                         (unsigned long long)p->out.len);
            return "ERROR";
        }
        snprintf(p->notice, sizeof(p->notice), "%s",
                 run->abort_note           ? run->abort_note
                 : rn_conn_open(run->conn) ? "Paragraph aborted"
                                           : "Paragraph aborted: the connection that ran it "
                                             "closed");
        return "ABORT";
    case RN_JOB_END_OUTPUT_LIMIT:
        snprintf(p->notice, sizeof(p->notice), "Output truncated: %s", res->message);
        return "ERROR";
    default:
        snprintf(p->notice, sizeof(p->notice), "%s",
                 res->message[0] ? res->message : rn_job_end_name(res->reason));
        if (p->notice[0])
            p->notice[0] = (char)toupper((unsigned char)p->notice[0]);
        return "ERROR";
    }
}

static void run_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    struct zp_run *run = ud;
    zp_para *p = run->para;
    zp_note *n = p->note;
    rn_conn *runner = run->conn;
    bool ran = !strcmp(p->status, "RUNNING");
    if (run->timer_on)
        uv_timer_stop(&run->timer);
    const char *status = end_status(run, res);
    if (ran)
        zp_broadcast_progress(p, runner, 100);
    para_finish(p, status, !strcmp(status, "FINISHED"));
    zp_broadcast_para(p, runner);
    rn_log(RN_LOG_DEBUG, "zeppelin.paragraph_end", "note=%.64s paragraph=%.64s status=%s", n->id,
           p->id, status);
    rn_conn_untrack(runner, job);
    p->run = NULL;
    n->active--;
    zp_note_touch(n);
    uv_close((uv_handle_t *)&run->timer, run_closed);
    zp_note_save(n, NULL);
    /* A RUN_PARAGRAPH that came while this ran starts now. */
    struct zp_pending *pd = p->pending;
    p->pending = NULL;
    if (pd) {
        n->active--;
        if (rn_conn_open(pd->conn))
            zp_start_request(rn_conn_data(pd->conn), n, pd->data, pd->user, NULL);
        zp_pending_free(pd);
    }
    runall_after(n, p);
    rn_conn_unref(runner);
}

static const rn_job_callbacks run_callbacks = {run_on_stage, run_on_output, run_on_end};

void zp_pending_free(struct zp_pending *pd)
{
    if (!pd)
        return;
    rn_conn_unref(pd->conn);
    cJSON_Delete(pd->data);
    free(pd);
}

/* A paragraph that ends without a sandbox run (unknown interpreter, a
 * refused submit, blank script, %md): straight to its status. */
static void end_now(zp_para *p, rn_conn *runner, const char *status, bool success)
{
    para_finish(p, status, success);
    zp_broadcast_para(p, runner);
    zp_note_save(p->note, NULL);
}

/* The language: the text's %name, else config.editorSetting.language, else
 * the note's default group, else the configured default. */
static void pick_interpreter(const zp_para *p, const char *intp, char *out, size_t size)
{
    if (intp[0]) {
        snprintf(out, size, "%s", intp);
        return;
    }
    const cJSON *es = cJSON_IsObject(p->config)
                          ? cJSON_GetObjectItemCaseSensitive(p->config, "editorSetting")
                          : NULL;
    const char *lang = zp_str(es, "language");
    if (lang && lang[0])
        snprintf(out, size, "%s", lang);
    else if (p->note->group[0])
        snprintf(out, size, "%s", p->note->group);
    else
        snprintf(out, size, "%s", G.default_interpreter);
}

/* Queue data to run once p's current run has ended (killing it). */
static void run_later(zp_para *p, rn_conn *c, cJSON *data, const char *user, const char *msgid)
{
    struct zp_pending *pd = calloc(1, sizeof(*pd));
    if (!pd || !(pd->data = cJSON_Duplicate(data, 1))) {
        free(pd);
        zp_send_error(c, msgid, "Out of memory");
        return;
    }
    pd->conn = c;
    rn_conn_ref(c);
    snprintf(pd->user, sizeof(pd->user), "%s", user);
    if (p->pending) {
        zp_pending_free(p->pending);
        p->note->active--;
    }
    p->pending = pd;
    p->note->active++;
    p->run->abort_note = "Paragraph aborted: it was run again";
    rn_job_kill(p->run->job);
}

/* Store what the client sent, as Zeppelin does before running. */
static int store_request(zp_para *p, const cJSON *data, const char *user, rn_conn *c,
                         const char *msgid)
{
    const char *text = zp_str(data, "paragraph");
    const char *title = zp_str(data, "title");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(data, "config");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(data, "params");
    int err = 0;
    if (cJSON_IsObject(config))
        err = zp_json_set(&p->config, &p->config_len, config, true);
    if (!err && cJSON_IsObject(params))
        err = zp_json_set(&p->params, &p->params_len, params, false);
    if (err == -E2BIG) {
        zp_send_error(c, msgid, "Paragraph config or params too large (limit %d bytes)",
                      ZP_JSON_MAX);
        return err;
    }
    char *nu = strdup(user);
    char *ntitle = title ? strndup(title, ZP_TITLE_MAX) : NULL;
    if (err || !nu || (title && !ntitle) ||
        zp_para_set_text(p, text ? text : "", text ? strlen(text) : 0) < 0) {
        free(nu);
        free(ntitle);
        zp_send_error(c, msgid, "Out of memory");
        return -ENOMEM;
    }
    free(p->user);
    p->user = nu;
    if (title) {
        free(p->title);
        p->title = ntitle;
    }
    p->updated = now_epoch_ms();
    /* A new run clears the last one's results and dates. */
    zp_para_clear_results(p);
    return 0;
}

/* Nothing for a sandbox: PENDING, then the end at once (a %md echoes). */
static void run_without_sandbox(zp_para *p, rn_conn *c, size_t script, bool blank, bool disabled)
{
    p->status = "PENDING";
    zp_broadcast_para(p, c);
    if (!blank && !disabled) {
        p->status = "RUNNING";
        p->started = now_epoch_ms();
        zp_broadcast_para(p, c);
        zp_broadcast_progress(p, c, 0);
        rn_jbuf_raw(&p->out, p->text + script, p->text_len - script);
        zp_para_account(p);
        zp_broadcast_progress(p, c, 100);
    }
    end_now(p, c, "FINISHED", true);
}

/* Submit p's script as spec's language, on behalf of c: the host applies
 * the per-connection limit and charges the run to c's client address (a
 * re-run started when the earlier run ends included). */
static void run_in_sandbox(zp_para *p, rn_conn *c, const rn_spec *spec, size_t script,
                           const char *name, const char *msgid)
{
    zp_note *n = p->note;
    struct zp_run *run = calloc(1, sizeof(*run));
    if (!run) {
        zp_send_error(c, msgid, "Out of memory");
        return;
    }
    rn_job_request req;
    memset(&req, 0, sizeof(req));
    req.language = spec->name;
    req.code = p->text + script;
    req.code_len = p->text_len - script;
    run->para = p;
    run->conn = c;
    rn_host_origin from = {.conn = c, .track = true, .inflight = -1};
    rn_host_refusal why;
    rn_conn_ref(c);
    int err = rn_host_submit(G.host, &from, &req, &run_callbacks, run, &run->job, &why);
    if (err < 0) {
        char msg[512];
        rn_conn_unref(c);
        if (err == -EMFILE) {
            rn_host_info info;
            rn_host_info_get(G.host, &info);
            snprintf(msg, sizeof(msg), "Too many paragraphs running on this connection (limit %u)",
                     info.per_connection);
        } else {
            snprintf(msg, sizeof(msg), "%s", why.message);
        }
        msg[0] = (char)toupper((unsigned char)msg[0]);
        snprintf(p->notice, sizeof(p->notice), "%.*s", (int)sizeof(p->notice) - 1, msg);
        free(run);
        end_now(p, c, "ERROR", false);
        zp_send_error(c, msgid, "%s", p->notice);
        return;
    }
    const rn_jobs_limits *lim = zp_host_limits();
    run->limit_ms = lim->wall_ms;
    if (spec->limits.wall_ms && spec->limits.wall_ms < run->limit_ms)
        run->limit_ms = spec->limits.wall_ms;
    uv_timer_init(rn_host_loop(G.host), &run->timer);
    run->timer.data = run;
    p->run = run;
    n->active++;
    p->status = "PENDING";
    rn_log(RN_LOG_DEBUG, "zeppelin.paragraph_run",
           "conn=%lu note=%.64s paragraph=%.64s interpreter=%.64s language=%s runid=%s",
           rn_conn_id(c), n->id, p->id, name, spec->name, rn_job_id(run->job));
    zp_broadcast_para(p, c);
}

void zp_start_request(zp_conn *zc, zp_note *n, cJSON *data, const char *user, const char *msgid)
{
    rn_conn *c = zc->conn;
    const char *id = zp_str(data, "id");
    const char *text = zp_str(data, "paragraph");
    size_t text_len = text ? strlen(text) : 0;
    zp_para *p = zp_note_para(n, id);
    size_t extra = text_len + (p ? 0 : ZP_PARA_FIXED);
    if (!zp_notes_make_room(n, extra)) {
        zp_send_error(c, msgid, "Notebook storage is full (%llu bytes); try again later",
                      (unsigned long long)G.store_bytes);
        return;
    }
    size_t old = p ? p->text_len : 0;
    if (zp_note_too_big(n, (text_len > old ? text_len - old : 0) + (p ? 0 : ZP_PARA_FIXED))) {
        zp_send_error(c, msgid, "Note %s is too large (limit %llu bytes: zeppelin.max_note_bytes)",
                      n->id, (unsigned long long)G.max_note_bytes);
        return;
    }
    if (!p) {
        if (n->nparas >= G.max_paragraphs) {
            zp_send_error(c, msgid,
                          "Note %s has too many paragraphs (limit %u: zeppelin.max_paragraphs)",
                          n->id, G.max_paragraphs);
            return;
        }
        if (zp_para_new(id, &p) < 0) {
            zp_send_error(c, msgid, "Out of memory");
            return;
        }
        zp_note_insert(n, p, n->nparas);
    }
    zp_note_touch(n);
    if (p->run) {
        /* Zeppelin's semantics: the earlier run is cancelled first; this
         * one starts when it has ended. */
        run_later(p, c, data, user, msgid);
        return;
    }
    if (store_request(p, data, user, c, msgid) < 0)
        return;

    char intp[128], name[128];
    size_t script = 0;
    int err = zp_text_parse(p->text, p->text_len, intp, sizeof(intp), &script);
    if (err < 0) {
        snprintf(p->notice, sizeof(p->notice), "%s",
                 err == -EINVAL ? "Problems by parsing paragraph. Not finished interpreter "
                                  "configuration"
                                : "Interpreter name too long");
        end_now(p, c, "ERROR", false);
        zp_send_error(c, msgid, "%s", p->notice);
        return;
    }
    pick_interpreter(p, intp, name, sizeof(name));
    bool text_only = false;
    const rn_spec *spec = zp_resolve(name, &text_only);
    if (!spec && !text_only) {
        snprintf(p->notice, sizeof(p->notice), "Interpreter %.100s not found", name);
        end_now(p, c, "ERROR", false);
        zp_send_error(c, msgid, "%s", p->notice);
        return;
    }
    const cJSON *enabled =
        cJSON_IsObject(p->config) ? cJSON_GetObjectItemCaseSensitive(p->config, "enabled") : NULL;
    bool blank = script >= p->text_len;
    if (blank || cJSON_IsFalse(enabled) || text_only) {
        run_without_sandbox(p, c, script, blank, cJSON_IsFalse(enabled));
        return;
    }
    /* The text is kept even if the server stops during the run. */
    zp_note_save(n, NULL);
    run_in_sandbox(p, c, spec, script, name, msgid);
}

/* ---------------------------------------------------------------- ops */

/* What is wrong with a RUN_PARAGRAPH's data, or NULL. */
static const char *run_data_error(const cJSON *data, uint64_t code_bytes)
{
    static char msg[160];
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(data, "paragraph");
    if (!cJSON_IsString(text))
        return text ? "field 'paragraph' must be a string" : "missing field 'paragraph'";
    if (strlen(text->valuestring) > code_bytes) {
        snprintf(msg, sizeof(msg), "Paragraph text too large (limit %llu bytes)",
                 (unsigned long long)code_bytes);
        return msg;
    }
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(data, "title");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(data, "config");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(data, "params");
    if ((title && !cJSON_IsString(title) && !cJSON_IsNull(title)) ||
        (config && !cJSON_IsObject(config) && !cJSON_IsNull(config)) ||
        (params && !cJSON_IsObject(params) && !cJSON_IsNull(params)))
        return "'title' must be a string, 'config' and 'params' objects";
    return NULL;
}

void zp_op_run_paragraph(zp_req *r)
{
    if (!zp_need_data(r) || !zp_need_id(r, "id", "paragraph id"))
        return;
    const char *bad = run_data_error(r->data, zp_host_limits()->code_bytes);
    if (bad) {
        if (!strncmp(bad, "Paragraph", 9))
            zp_send_error(r->c, r->msgid, "%s", bad);
        else
            zp_send_error(r->c, r->msgid, "%s: %s", r->op, bad);
        return;
    }
    zp_note *n = zp_request_note(r, "noteId", true);
    if (!n)
        return;
    /* Zeppelin runs paragraphs of the note the connection is on. */
    if (zp_watch(r->zc, n) == -EUSERS)
        rn_log(RN_LOG_DEBUG, "zeppelin.watchers_full", "note=%.64s", n->id);
    zp_start_request(r->zc, n, r->data, r->user, r->msgid);
}

void zp_op_run_all(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    zp_note *n = zp_request_note(r, "noteId", false);
    if (!n)
        return;
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(r->data, "paragraphs");
    /* The web clients send the list as a JSON string. */
    cJSON *items = cJSON_IsString(ps) ? cJSON_Parse(ps->valuestring) : cJSON_Duplicate(ps, 1);
    if (!cJSON_IsArray(items)) {
        cJSON_Delete(items);
        zp_send_error(r->c, r->msgid, "%s: 'paragraphs' must be a list of paragraphs", r->op);
        return;
    }
    if ((unsigned)cJSON_GetArraySize(items) > G.max_paragraphs) {
        cJSON_Delete(items);
        zp_send_error(r->c, r->msgid, "%s: too many paragraphs (limit %u: zeppelin.max_paragraphs)",
                      r->op, G.max_paragraphs);
        return;
    }
    struct zp_runall *ra = calloc(1, sizeof(*ra));
    if (!ra) {
        cJSON_Delete(items);
        zp_send_error(r->c, r->msgid, "Out of memory");
        return;
    }
    runall_free(n);
    ra->conn = r->c;
    rn_conn_ref(r->c);
    ra->items = items;
    snprintf(ra->user, sizeof(ra->user), "%s", r->user);
    n->runall = ra;
    if (zp_watch(r->zc, n) == -EUSERS)
        rn_log(RN_LOG_DEBUG, "zeppelin.watchers_full", "note=%.64s", n->id);
    runall_step(n);
}

void zp_cancel_note(zp_note *n, const char *why)
{
    runall_free(n);
    for (zp_para *p = n->paras; p; p = p->next) {
        if (p->pending) {
            zp_pending_free(p->pending);
            p->pending = NULL;
            n->active--;
        }
        if (p->run) {
            p->run->abort_note = why;
            rn_job_kill(p->run->job);
        }
    }
}

void zp_op_cancel_paragraph(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    const char *id = zp_need_id(r, "id", "paragraph id");
    if (!id)
        return;
    zp_note *n = zp_request_note(r, "noteId", false);
    if (!n)
        return;
    zp_para *p = zp_note_para(n, id);
    if (!p) {
        zp_send_error(r->c, r->msgid, "Paragraph %s not found in note %s", id, n->id);
        return;
    }
    if (n->runall && !strcmp(n->runall->current, id))
        runall_free(n);
    if (p->pending) {
        zp_pending_free(p->pending);
        p->pending = NULL;
        n->active--;
    }
    if (p->run) {
        p->run->abort_note = "Paragraph aborted";
        rn_job_kill(p->run->job);
    }
}

void zp_op_cancel_all(zp_req *r)
{
    if (!zp_need_data(r))
        return;
    zp_note *n = zp_request_note(r, "noteId", false);
    if (n)
        zp_cancel_note(n, "Paragraph aborted");
}
