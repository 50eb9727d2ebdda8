/* The Zeppelin envelope: Apache Zeppelin's notebook WebSocket at /ws (see
 * docs/zeppelin.md). Frames are {op, data, principal, ticket, roles, msgId}.
 *
 * Paragraphs live in notes kept in memory: bounded in number, paragraphs,
 * watchers and bytes, and dropped after an idle time. A connection watches
 * one note (the last it read with GET_NOTE or ran a paragraph in) and gets
 * that note's PARAGRAPH, PARAGRAPH_APPEND_OUTPUT and PROGRESS broadcasts; the
 * connection that ran a paragraph always gets that run's frames.
 *
 * A paragraph's job belongs to the connection that ran it: when that
 * connection closes, the server kills the job and the paragraph ends ABORT
 * for whoever still watches the note. Running a paragraph that is running
 * kills the earlier run, and the new one starts once the old one has ended,
 * so a paragraph never has two runs. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "version.h"
#include "jbuf.h"
#include "log.h"
#include "zeppelin_text.h"

#define ZP_ID_MAX     128   /* note and paragraph ids */
#define ZP_USER_MAX   64    /* principal shown as the paragraph's user */
#define ZP_TITLE_MAX  1024  /* paragraph titles */
#define ZP_JSON_MAX   65536 /* a paragraph's config or params, serialized */
#define ZP_PARA_FIXED 1024  /* bytes counted per paragraph besides its strings */

typedef struct zp_note zp_note;
typedef struct zp_para zp_para;
typedef struct zp_run zp_run;

/* Per connection. */
typedef struct {
    rn_conn *conn;
    zp_note *note; /* watched note; then conn is in note->watchers */
} zp_conn;

/* A RUN_PARAGRAPH that waits for the paragraph's earlier run to end. */
typedef struct {
    rn_conn *conn; /* ref held */
    cJSON *data;
    char user[ZP_USER_MAX + 1];
} zp_pending;

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

struct zp_para {
    zp_para *next;
    zp_note *note;
    char *id, *job_name, *text, *title, *user;
    size_t text_len;
    cJSON *config, *params;
    size_t config_len, params_len;
    int64_t created, updated, started, finished; /* epoch ms; 0 = not set */
    const char *status;
    int progress;
    bool has_results, success;
    rn_jbuf out;
    bool out_cut;
    char notice[320];
    zp_run *run;
    zp_pending *pending;
    size_t bytes; /* counted in G.bytes */
};

struct zp_note {
    zp_note *next, *prev;
    char *id;
    zp_para *paras, *tail;
    unsigned nparas;
    rn_conn **watchers;
    unsigned nwatchers;
    unsigned active; /* runs and pending runs */
    uint64_t used_ms;
    char group[64]; /* defaultInterpreterGroup ("" = the configured default) */
};

/* The zeppelin section of the configuration. */
typedef struct {
    char path[128];
    uint64_t max_notes, max_paragraphs, max_watchers;
    uint64_t note_ttl_ms, progress_interval_ms, store_bytes;
    char default_interpreter[64];
    cJSON *interpreters;
} zp_conf;

static struct {
    rn_host *host;
    char path[128];
    unsigned max_notes, max_paragraphs, max_watchers;
    uint64_t note_ttl_ms, progress_ms, store_bytes;
    char default_interpreter[64];
    cJSON *interpreters; /* name -> runnel language, "text" or "" */
    zp_note *notes;      /* most recently used first */
    unsigned nnotes;
    uint64_t bytes;
} G = {
    .path = "/ws",
    .max_notes = 256,
    .max_paragraphs = 100,
    .max_watchers = 16,
    .note_ttl_ms = 3600000,
    .progress_ms = 500,
    .store_bytes = 64u << 20,
    .default_interpreter = "python",
};

static const rn_jobs_limits *host_limits(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    return info.limits;
}

static unsigned host_per_connection(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    return info.per_connection;
}

/* ---------------------------------------------------------------- frames */

static int64_t now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A client string as a JSON string, repaired if it is not UTF-8. */
static void jstr_safe(rn_jbuf *b, const char *s, size_t n)
{
    if (rn_utf8_valid(s, n)) {
        rn_jbuf_jstr(b, s, n);
        return;
    }
    rn_jbuf fixed;
    unsigned char carry[4];
    size_t cl = 0;
    rn_jbuf_init(&fixed, 0);
    rn_utf8_sanitize(&fixed, carry, &cl, s, n, true);
    rn_jbuf_jstr(b, fixed.data ? fixed.data : "", fixed.len);
    rn_jbuf_free(&fixed);
}

static void jcstr_safe(rn_jbuf *b, const char *s)
{
    jstr_safe(b, s, strlen(s));
}

static void frame_begin(rn_jbuf *b, const char *op)
{
    rn_jbuf_init(b, 0);
    rn_jbuf_printf(b, "{\"op\":\"%s\",\"data\":", op);
}

/* Server-made messages carry Zeppelin's default ticket/principal/roles;
 * replies to a request echo its msgId, broadcasts have none. */
static void frame_end(rn_jbuf *b, const char *msgid)
{
    rn_jbuf_str(b, ",\"ticket\":\"anonymous\",\"principal\":\"anonymous\",\"roles\":\"\"");
    if (msgid) {
        rn_jbuf_key(b, "msgId");
        jcstr_safe(b, msgid);
    }
    rn_jbuf_str(b, "}");
}

static void send_frame(rn_conn *c, const rn_jbuf *b)
{
    if (!b->oom && b->data && rn_conn_open(c))
        rn_conn_send(c, b->data, b->len);
}

/* End a frame, send it to c and free it: the tail of every reply. */
static void frame_send(rn_jbuf *b, rn_conn *c, const char *msgid)
{
    frame_end(b, msgid);
    send_frame(c, b);
    rn_jbuf_free(b);
}

static void send_error(rn_conn *c, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void send_error(rn_conn *c, const char *msgid, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rn_jbuf b;
    frame_begin(&b, "ERROR_INFO");
    rn_jbuf_str(&b, "{\"info\":");
    jcstr_safe(&b, msg);
    rn_jbuf_str(&b, "}");
    frame_send(&b, c, msgid);
}

static bool note_watched_by(const zp_note *n, const rn_conn *c)
{
    for (unsigned i = 0; i < n->nwatchers; i++)
        if (n->watchers[i] == c)
            return true;
    return false;
}

/* To every watcher of the note, and to the runner if it does not watch. */
static void note_broadcast(const zp_note *n, rn_conn *runner, const rn_jbuf *b)
{
    for (unsigned i = 0; i < n->nwatchers; i++)
        send_frame(n->watchers[i], b);
    if (runner && !note_watched_by(n, runner))
        send_frame(runner, b);
}

/* ---------------------------------------------------------------- JSON */

static void write_date(rn_jbuf *b, const char *key, int64_t ms)
{
    char d[40];
    if (!ms)
        return;
    zp_format_date(ms, d, sizeof(d));
    rn_jbuf_key(b, key);
    rn_jbuf_jcstr(b, d);
}

static void write_cjson(rn_jbuf *b, const cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (!s) {
        rn_jbuf_str(b, "{}");
        return;
    }
    /* cJSON copies string bytes as they are; keep the frame UTF-8. */
    if (rn_utf8_valid(s, strlen(s))) {
        rn_jbuf_str(b, s);
    } else {
        unsigned char carry[4];
        size_t cl = 0;
        rn_utf8_sanitize(b, carry, &cl, s, strlen(s), true);
    }
    cJSON_free(s);
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
        rn_jbuf_jstr(b, p->out.data, p->out.len);
        rn_jbuf_str(b, "}");
        any = true;
    }
    if (p->notice[0] && p->has_results) {
        if (any)
            rn_jbuf_str(b, ",");
        rn_jbuf_str(b, "{\"type\":\"TEXT\",\"data\":");
        rn_jbuf_jcstr(b, p->notice);
        rn_jbuf_str(b, "}");
    }
    rn_jbuf_str(b, "]}");
}

static bool para_running(const zp_para *p)
{
    return !strcmp(p->status, "PENDING") || !strcmp(p->status, "RUNNING");
}

/* The paragraph object in Zeppelin's field order. A snapshot (NOTE) also
 * shows a running paragraph's output so far, as INCOMPLETE results. */
static void write_para(rn_jbuf *b, const zp_para *p, bool snapshot)
{
    rn_jbuf_str(b, "{");
    if (p->title) {
        rn_jbuf_key(b, "title");
        jcstr_safe(b, p->title);
    }
    rn_jbuf_key(b, "text");
    jstr_safe(b, p->text ? p->text : "", p->text_len);
    rn_jbuf_key(b, "user");
    jcstr_safe(b, p->user ? p->user : "anonymous");
    write_date(b, "dateUpdated", p->updated);
    rn_jbuf_printf(b, ",\"progress\":%d", p->progress);
    rn_jbuf_key(b, "config");
    write_cjson(b, p->config);
    rn_jbuf_str(b, ",\"settings\":{\"params\":");
    write_cjson(b, p->params);
    rn_jbuf_str(b, ",\"forms\":{}}");
    if (p->has_results) {
        rn_jbuf_key(b, "results");
        write_results(b, p, p->success ? "SUCCESS" : "ERROR");
    } else if (snapshot && para_running(p) && p->out.len) {
        rn_jbuf_key(b, "results");
        write_results(b, p, "INCOMPLETE");
    }
    rn_jbuf_str(b, ",\"apps\":[],\"runtimeInfos\":{}");
    rn_jbuf_printf(b, ",\"progressUpdateIntervalMs\":%llu", (unsigned long long)G.progress_ms);
    rn_jbuf_key(b, "jobName");
    rn_jbuf_jcstr(b, p->job_name);
    rn_jbuf_key(b, "id");
    jcstr_safe(b, p->id);
    write_date(b, "dateCreated", p->created);
    write_date(b, "dateStarted", p->started);
    write_date(b, "dateFinished", p->finished);
    rn_jbuf_key(b, "status");
    rn_jbuf_jcstr(b, p->status);
    rn_jbuf_str(b, "}");
}

static void broadcast_para(zp_para *p, rn_conn *runner)
{
    rn_jbuf b;
    frame_begin(&b, "PARAGRAPH");
    rn_jbuf_str(&b, "{\"paragraph\":");
    write_para(&b, p, false);
    rn_jbuf_str(&b, "}");
    frame_end(&b, NULL);
    note_broadcast(p->note, runner, &b);
    rn_jbuf_free(&b);
}

static void broadcast_progress(zp_para *p, rn_conn *runner, int progress)
{
    rn_jbuf b;
    p->progress = progress;
    frame_begin(&b, "PROGRESS");
    rn_jbuf_str(&b, "{\"id\":");
    jcstr_safe(&b, p->id);
    rn_jbuf_printf(&b, ",\"progress\":%d}", progress);
    frame_end(&b, NULL);
    note_broadcast(p->note, runner, &b);
    rn_jbuf_free(&b);
}

/* ---------------------------------------------------------------- store */

static void para_account(zp_para *p)
{
    size_t now = ZP_PARA_FIXED + p->text_len + p->config_len + p->params_len + p->out.len +
                 (p->title ? strlen(p->title) : 0) + strlen(p->id);
    G.bytes = G.bytes - p->bytes + now;
    p->bytes = now;
}

static void pending_free(zp_pending *pd)
{
    if (!pd)
        return;
    rn_conn_unref(pd->conn);
    cJSON_Delete(pd->data);
    free(pd);
}

static void para_free(zp_para *p)
{
    G.bytes -= p->bytes;
    pending_free(p->pending);
    free(p->id);
    free(p->job_name);
    free(p->text);
    free(p->title);
    free(p->user);
    cJSON_Delete(p->config);
    cJSON_Delete(p->params);
    rn_jbuf_free(&p->out);
    free(p);
}

static void note_touch(zp_note *n)
{
    n->used_ms = rn_now_ms();
    if (G.notes == n)
        return;
    /* move to the front */
    if (n->prev)
        n->prev->next = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->prev = NULL;
    n->next = G.notes;
    if (G.notes)
        G.notes->prev = n;
    G.notes = n;
}

/* Only notes nobody watches or runs in are ever freed. */
static bool note_idle(const zp_note *n)
{
    return !n->active && !n->nwatchers;
}

static void note_free(zp_note *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        G.notes = n->next;
    if (n->next)
        n->next->prev = n->prev;
    G.nnotes--;
    for (zp_para *p = n->paras, *next; p; p = next) {
        next = p->next;
        para_free(p);
    }
    free(n->watchers);
    free(n->id);
    free(n);
}

static void notes_expire(void)
{
    uint64_t now = rn_now_ms();
    zp_note *n = G.notes;
    while (n) {
        zp_note *next = n->next;
        if (note_idle(n) && now - n->used_ms >= G.note_ttl_ms) {
            rn_log(RN_LOG_DEBUG, "zeppelin.note_expired", "note=%.64s", n->id);
            note_free(n);
        }
        n = next;
    }
}

/* Drop least recently used idle notes (never keep) until the count and the
 * bytes (plus extra coming) fit; false if they cannot. */
static bool notes_make_room(const zp_note *keep, unsigned want_notes, size_t extra)
{
    notes_expire();
    while (G.nnotes + want_notes > G.max_notes || G.bytes + extra > G.store_bytes) {
        zp_note *victim = NULL;
        for (zp_note *n = G.notes; n; n = n->next)
            if (n != keep && note_idle(n))
                victim = n; /* the last idle one is the least recently used */
        if (!victim)
            return false;
        rn_log(RN_LOG_DEBUG, "zeppelin.note_evicted", "note=%.64s", victim->id);
        note_free(victim);
    }
    return true;
}

static zp_note *note_find(const char *id)
{
    for (zp_note *n = G.notes; n; n = n->next)
        if (!strcmp(n->id, id))
            return n;
    return NULL;
}

/* Zeppelin's note ids look like 2A94M5J1Z. */
static void note_new_id(char *out)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char hex[24];
    do {
        if (rn_random_hex(hex, 9) < 0)
            snprintf(hex, sizeof(hex), "%018llx", (unsigned long long)rn_now_ms());
        for (int i = 0; i < 9; i++) {
            unsigned v = (unsigned)strtoul((char[]){hex[2 * i], hex[2 * i + 1], 0}, NULL, 16);
            out[i] = alphabet[v % 36];
        }
        out[9] = 0;
    } while (note_find(out));
}

static int note_create(const char *id, zp_note **out)
{
    if (!notes_make_room(NULL, 1, 0))
        return -ENOSPC;
    zp_note *n = calloc(1, sizeof(*n));
    char gen[16];
    if (!id) {
        note_new_id(gen);
        id = gen;
    }
    if (!n || !(n->id = strdup(id))) {
        free(n);
        return -ENOMEM;
    }
    n->used_ms = rn_now_ms();
    n->next = G.notes;
    if (G.notes)
        G.notes->prev = n;
    G.notes = n;
    G.nnotes++;
    *out = n;
    return 0;
}

static zp_para *para_find(const zp_note *n, const char *id)
{
    for (zp_para *p = n->paras; p; p = p->next)
        if (!strcmp(p->id, id))
            return p;
    return NULL;
}

static int para_create(zp_note *n, const char *id, zp_para **out)
{
    if (n->nparas >= G.max_paragraphs)
        return -E2BIG;
    zp_para *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->id = strdup(id);
    p->created = now_epoch_ms();
    if (!strncmp(id, "paragraph_", 10)) {
        p->job_name = strdup(id);
    } else {
        char jn[64];
        char hex[10];
        if (rn_random_hex(hex, 4) < 0)
            snprintf(hex, sizeof(hex), "1");
        snprintf(jn, sizeof(jn), "paragraph_%lld_%lu", (long long)p->created,
                 strtoul(hex, NULL, 16) & 0x7fffffffUL);
        p->job_name = strdup(jn);
    }
    if (!p->id || !p->job_name) {
        free(p->id);
        free(p->job_name);
        free(p);
        return -ENOMEM;
    }
    p->status = "READY";
    p->note = n;
    rn_jbuf_init(&p->out, 0);
    if (n->tail)
        n->tail->next = p;
    else
        n->paras = p;
    n->tail = p;
    n->nparas++;
    para_account(p);
    *out = p;
    return 0;
}

/* ---------------------------------------------------------------- watchers */

static void unwatch(zp_conn *zc)
{
    zp_note *n = zc->note;
    if (!n)
        return;
    for (unsigned i = 0; i < n->nwatchers; i++) {
        if (n->watchers[i] == zc->conn) {
            n->watchers[i] = n->watchers[--n->nwatchers];
            rn_conn_unref(zc->conn);
            break;
        }
    }
    zc->note = NULL;
    n->used_ms = rn_now_ms();
}

/* Make zc watch n (and no other note); -EUSERS when n has too many. */
static int watch(zp_conn *zc, zp_note *n)
{
    if (zc->note == n)
        return 0;
    if (n->nwatchers >= G.max_watchers)
        return -EUSERS;
    rn_conn **nw = realloc(n->watchers, (n->nwatchers + 1) * sizeof(*nw));
    if (!nw)
        return -ENOMEM;
    n->watchers = nw;
    unwatch(zc);
    n->watchers[n->nwatchers++] = zc->conn;
    rn_conn_ref(zc->conn);
    zc->note = n;
    return 0;
}

/* ---------------------------------------------------------------- interpreters */

/* A Zeppelin interpreter name onto a runnel spec; *text when it echoes. */
static const rn_spec *resolve(const char *name, bool *text)
{
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
        const rn_spec *s = rn_specs_find(rn_host_specs(G.host), target);
        if (s || o)
            return s;
    }
    const rn_spec *s = rn_specs_find(rn_host_specs(G.host), low);
    if (s)
        return s;
    /* group.interpreter: the interpreter part alone */
    const char *dot = strrchr(low, '.');
    if (dot && dot[1] && !strchr(dot + 1, '.') && dot != low) {
        char last[128];
        snprintf(last, sizeof(last), "%s", dot + 1);
        return resolve(last, text);
    }
    return NULL;
}

/* ---------------------------------------------------------------- runs */

static void start_request(zp_conn *zc, zp_note *n, cJSON *data, const char *user,
                          const char *msgid);

static void run_closed(uv_handle_t *h)
{
    free(h->data);
}

static void run_tick(uv_timer_t *t)
{
    zp_run *run = t->data;
    uint64_t el = rn_now_ms() - run->started_ms;
    int pct = run->limit_ms ? (int)(el * 100 / run->limit_ms) : 0;
    if (pct > 99)
        pct = 99;
    broadcast_progress(run->para, run->conn, pct);
}

static void set_running(zp_run *run)
{
    zp_para *p = run->para;
    if (strcmp(p->status, "PENDING"))
        return;
    p->status = "RUNNING";
    p->started = now_epoch_ms();
    run->started_ms = rn_now_ms();
    broadcast_para(p, run->conn);
    broadcast_progress(p, run->conn, 0);
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
    zp_run *run = ud;
    zp_para *p = run->para;
    (void)fd;
    set_running(run);
    /* The job caps output at its limit; this only guards the store. */
    uint64_t cap = host_limits()->output_bytes;
    if (p->out.len >= cap) {
        p->out_cut = true;
        rn_job_kill(job);
        return;
    }
    rn_jbuf_raw(&p->out, data, len);
    para_account(p);
    rn_jbuf b;
    frame_begin(&b, "PARAGRAPH_APPEND_OUTPUT");
    rn_jbuf_str(&b, "{\"noteId\":");
    jcstr_safe(&b, p->note->id);
    rn_jbuf_str(&b, ",\"paragraphId\":");
    jcstr_safe(&b, p->id);
    rn_jbuf_str(&b, ",\"index\":0,\"data\":");
    rn_jbuf_jstr(&b, data, len);
    rn_jbuf_str(&b, "}");
    frame_end(&b, NULL);
    note_broadcast(p->note, run->conn, &b);
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

static void run_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    zp_run *run = ud;
    zp_para *p = run->para;
    zp_note *n = p->note;
    rn_conn *runner = run->conn;
    bool ran = !strcmp(p->status, "RUNNING");
    (void)job;
    if (run->timer_on)
        uv_timer_stop(&run->timer);
    const char *status = "ERROR";
    switch (res->reason) {
    case RN_JOB_END_EXITED:
        if (res->exit_code == 0)
            status = "FINISHED";
        else
            snprintf(p->notice, sizeof(p->notice), "Process exited with code %d", res->exit_code);
        break;
    case RN_JOB_END_KILLED:
        if (p->out_cut) {
            snprintf(p->notice, sizeof(p->notice),
                     "Output truncated: output limit exceeded (%llu bytes)",
                     (unsigned long long)p->out.len);
            break;
        }
        status = "ABORT";
        snprintf(p->notice, sizeof(p->notice), "%s",
                 run->abort_note        ? run->abort_note
                 : rn_conn_open(runner) ? "Paragraph aborted"
                                        : "Paragraph aborted: the connection that ran it closed");
        break;
    case RN_JOB_END_OUTPUT_LIMIT:
        snprintf(p->notice, sizeof(p->notice), "Output truncated: %s", res->message);
        break;
    default:
        snprintf(p->notice, sizeof(p->notice), "%s",
                 res->message[0] ? res->message : rn_job_end_name(res->reason));
        if (p->notice[0])
            p->notice[0] = (char)toupper((unsigned char)p->notice[0]);
        break;
    }
    if (ran)
        broadcast_progress(p, runner, 100);
    para_finish(p, status, !strcmp(status, "FINISHED"));
    broadcast_para(p, runner);
    rn_log(RN_LOG_DEBUG, "zeppelin.paragraph_end", "note=%.64s paragraph=%.64s status=%s", n->id,
           p->id, status);
    rn_conn_untrack(runner, job);
    p->run = NULL;
    n->active--;
    note_touch(n);
    uv_close((uv_handle_t *)&run->timer, run_closed);
    /* A RUN_PARAGRAPH that came while this ran starts now. */
    zp_pending *pd = p->pending;
    p->pending = NULL;
    if (pd) {
        n->active--;
        if (rn_conn_open(pd->conn)) {
            zp_conn *zc = rn_conn_data(pd->conn);
            start_request(zc, n, pd->data, pd->user, NULL);
        }
        pending_free(pd);
    }
    rn_conn_unref(runner);
}

static const rn_job_callbacks run_callbacks = {run_on_stage, run_on_output, run_on_end};

/* A paragraph that ends without a sandbox run (unknown interpreter, a
 * refused submit, blank script, %md): straight to its status. */
static void end_now(zp_para *p, rn_conn *runner, const char *status, bool success)
{
    para_finish(p, status, success);
    broadcast_para(p, runner);
}

static int json_set(cJSON **dst, size_t *len, const cJSON *src, bool merge)
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

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > ZP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static const char *str_field(const cJSON *data, const char *key)
{
    const cJSON *j = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
    return cJSON_IsString(j) ? j->valuestring : NULL;
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
    const char *lang = str_field(es, "language");
    if (lang && lang[0])
        snprintf(out, size, "%s", lang);
    else if (p->note->group[0])
        snprintf(out, size, "%s", p->note->group);
    else
        snprintf(out, size, "%s", G.default_interpreter);
}

/* Start one RUN_PARAGRAPH whose data is checked, on note n. */
static void start_request(zp_conn *zc, zp_note *n, cJSON *data, const char *user, const char *msgid)
{
    rn_conn *c = zc->conn;
    const char *id = str_field(data, "id");
    const char *text = str_field(data, "paragraph");
    const char *title = str_field(data, "title");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(data, "config");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(data, "params");
    size_t text_len = text ? strlen(text) : 0;
    zp_para *p = para_find(n, id);
    size_t extra = text_len + (p ? 0 : ZP_PARA_FIXED);
    if (!notes_make_room(n, 0, extra)) {
        send_error(c, msgid, "Notebook storage is full (%llu bytes); try again later",
                   (unsigned long long)G.store_bytes);
        return;
    }
    if (!p) {
        int err = para_create(n, id, &p);
        if (err == -E2BIG) {
            send_error(c, msgid, "Note %s has too many paragraphs (limit %u)", n->id,
                       G.max_paragraphs);
            return;
        }
        if (err < 0) {
            send_error(c, msgid, "Out of memory");
            return;
        }
    }
    note_touch(n);
    if (p->run) {
        /* Zeppelin's semantics: the earlier run is cancelled first; this
         * one starts when it has ended. */
        zp_pending *pd = calloc(1, sizeof(*pd));
        if (!pd || !(pd->data = cJSON_Duplicate(data, 1))) {
            free(pd);
            send_error(c, msgid, "Out of memory");
            return;
        }
        pd->conn = c;
        rn_conn_ref(c);
        snprintf(pd->user, sizeof(pd->user), "%s", user);
        if (p->pending) {
            pending_free(p->pending);
            n->active--;
        }
        p->pending = pd;
        n->active++;
        p->run->abort_note = "Paragraph aborted: it was run again";
        rn_job_kill(p->run->job);
        return;
    }
    /* Store what the client sent, as Zeppelin does before running. */
    int err = 0;
    if (config)
        err = json_set(&p->config, &p->config_len, config, true);
    if (!err && params)
        err = json_set(&p->params, &p->params_len, params, false);
    if (err == -E2BIG) {
        send_error(c, msgid, "Paragraph config or params too large (limit %d bytes)", ZP_JSON_MAX);
        return;
    }
    if (err) {
        send_error(c, msgid, "Out of memory");
        return;
    }
    char *nt = malloc(text_len + 1);
    char *nu = strdup(user);
    char *ntitle = title ? strndup(title, ZP_TITLE_MAX) : NULL;
    if (!nt || !nu || (title && !ntitle)) {
        free(nt);
        free(nu);
        free(ntitle);
        send_error(c, msgid, "Out of memory");
        return;
    }
    memcpy(nt, text ? text : "", text_len);
    nt[text_len] = 0;
    free(p->text);
    p->text = nt;
    p->text_len = text_len;
    free(p->user);
    p->user = nu;
    if (title) {
        free(p->title);
        p->title = ntitle;
    }
    p->updated = now_epoch_ms();
    /* A new run clears the last one's results and dates. */
    p->has_results = false;
    p->success = false;
    p->out_cut = false;
    p->notice[0] = 0;
    p->started = p->finished = 0;
    p->progress = 0;
    rn_jbuf_reset(&p->out);
    para_account(p);

    char intp[128], name[128];
    size_t script = 0;
    err = zp_text_parse(p->text, p->text_len, intp, sizeof(intp), &script);
    if (err < 0) {
        snprintf(p->notice, sizeof(p->notice), "%s",
                 err == -EINVAL ? "Problems by parsing paragraph. Not finished interpreter "
                                  "configuration"
                                : "Interpreter name too long");
        end_now(p, c, "ERROR", false);
        send_error(c, msgid, "%s", p->notice);
        return;
    }
    pick_interpreter(p, intp, name, sizeof(name));
    bool text_only = false;
    const rn_spec *spec = resolve(name, &text_only);
    if (!spec && !text_only) {
        snprintf(p->notice, sizeof(p->notice), "Interpreter %.100s not found", name);
        end_now(p, c, "ERROR", false);
        send_error(c, msgid, "%s", p->notice);
        return;
    }
    const cJSON *enabled =
        cJSON_IsObject(p->config) ? cJSON_GetObjectItemCaseSensitive(p->config, "enabled") : NULL;
    bool blank = script >= p->text_len;
    if (blank || cJSON_IsFalse(enabled) || text_only) {
        /* Nothing for a sandbox: PENDING, then the end at once. */
        p->status = "PENDING";
        broadcast_para(p, c);
        if (text_only && !blank && !cJSON_IsFalse(enabled)) {
            p->status = "RUNNING";
            p->started = now_epoch_ms();
            broadcast_para(p, c);
            broadcast_progress(p, c, 0);
            rn_jbuf_raw(&p->out, p->text + script, p->text_len - script);
            para_account(p);
            broadcast_progress(p, c, 100);
        }
        end_now(p, c, "FINISHED", true);
        return;
    }
    zp_run *run = calloc(1, sizeof(*run));
    if (!run) {
        send_error(c, msgid, "Out of memory");
        return;
    }
    rn_job_request req;
    memset(&req, 0, sizeof(req));
    req.language = spec->name;
    req.code = p->text + script;
    req.code_len = p->text_len - script;
    run->para = p;
    run->conn = c;
    /* A re-run started when the previous run ends counts for the client
     * whose request queued it: its connection's address. */
    rn_host_origin from = {.conn = c, .track = true, .inflight = -1};
    rn_host_refusal why;
    rn_conn_ref(c);
    err = rn_host_submit(G.host, &from, &req, &run_callbacks, run, &run->job, &why);
    if (err < 0) {
        char msg[512];
        rn_conn_unref(c);
        if (err == -EMFILE)
            snprintf(msg, sizeof(msg), "Too many paragraphs running on this connection (limit %u)",
                     host_per_connection());
        else
            snprintf(msg, sizeof(msg), "%s", why.message);
        msg[0] = (char)toupper((unsigned char)msg[0]);
        snprintf(p->notice, sizeof(p->notice), "%.*s", (int)sizeof(p->notice) - 1, msg);
        free(run);
        end_now(p, c, "ERROR", false);
        send_error(c, msgid, "%s", p->notice);
        return;
    }
    const rn_jobs_limits *lim = host_limits();
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
    broadcast_para(p, c);
}

/* ---------------------------------------------------------------- ops */

typedef struct {
    zp_conn *zc;
    rn_conn *c;
    const char *op;
    cJSON *data; /* NULL when absent */
    const char *msgid;
    char user[ZP_USER_MAX + 1];
} zp_req;

static bool need_data(zp_req *r)
{
    if (cJSON_IsObject(r->data))
        return true;
    send_error(r->c, r->msgid, "%s: %s", r->op,
               r->data ? "field 'data' must be an object" : "missing field 'data'");
    return false;
}

/* A string id field that must be there. */
static const char *need_id(zp_req *r, const char *key, const char *what)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->data, key);
    if (!j || cJSON_IsNull(j)) {
        send_error(r->c, r->msgid, "%s: missing %s ('%s')", r->op, what, key);
        return NULL;
    }
    if (!cJSON_IsString(j) || !valid_id(j->valuestring)) {
        send_error(r->c, r->msgid, "%s: %s ('%s') must be a string of 1 to %d printable characters",
                   r->op, what, key, ZP_ID_MAX);
        return NULL;
    }
    return j->valuestring;
}

/* The note a request means: data.noteId, else the one the connection
 * watches; create makes it when absent. NULL after an error was sent. */
static zp_note *request_note(zp_req *r, bool create)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->data, "noteId");
    const char *nid = NULL;
    if (j && !cJSON_IsNull(j)) {
        if (!(nid = need_id(r, "noteId", "note id")))
            return NULL;
        zp_note *n = note_find(nid);
        if (n || !create) {
            if (!n)
                send_error(r->c, r->msgid, "Note %s not found", nid);
            return n;
        }
    } else if (r->zc->note) {
        return r->zc->note;
    } else if (!create) {
        send_error(r->c, r->msgid, "%s: no note: give 'noteId' or GET_NOTE first", r->op);
        return NULL;
    }
    zp_note *n = NULL;
    int err = note_create(nid, &n);
    if (err == -ENOSPC)
        send_error(r->c, r->msgid, "Too many notes (limit %u)", G.max_notes);
    else if (err < 0)
        send_error(r->c, r->msgid, "Out of memory");
    return n;
}

static void op_run_paragraph(zp_req *r)
{
    if (!need_data(r) || !need_id(r, "id", "paragraph id"))
        return;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(r->data, "paragraph");
    if (!cJSON_IsString(text)) {
        send_error(r->c, r->msgid, "%s: %s", r->op,
                   text ? "field 'paragraph' must be a string" : "missing field 'paragraph'");
        return;
    }
    if (strlen(text->valuestring) > host_limits()->code_bytes) {
        send_error(r->c, r->msgid, "Paragraph text too large (limit %llu bytes)",
                   (unsigned long long)host_limits()->code_bytes);
        return;
    }
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(r->data, "title");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(r->data, "config");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(r->data, "params");
    if ((title && !cJSON_IsString(title) && !cJSON_IsNull(title)) ||
        (config && !cJSON_IsObject(config)) || (params && !cJSON_IsObject(params))) {
        send_error(r->c, r->msgid, "%s: 'title' must be a string, 'config' and 'params' objects",
                   r->op);
        return;
    }
    zp_note *n = request_note(r, true);
    if (!n)
        return;
    /* Zeppelin runs paragraphs of the note the connection is on. */
    if (watch(r->zc, n) == -EUSERS)
        rn_log(RN_LOG_DEBUG, "zeppelin.watchers_full", "note=%.64s", n->id);
    start_request(r->zc, n, r->data, r->user, r->msgid);
}

static void op_cancel_paragraph(zp_req *r)
{
    if (!need_data(r))
        return;
    const char *id = need_id(r, "id", "paragraph id");
    if (!id)
        return;
    zp_note *n = request_note(r, false);
    if (!n)
        return;
    zp_para *p = para_find(n, id);
    if (!p) {
        send_error(r->c, r->msgid, "Paragraph %s not found in note %s", id, n->id);
        return;
    }
    if (p->pending) {
        pending_free(p->pending);
        p->pending = NULL;
        n->active--;
    }
    if (p->run) {
        p->run->abort_note = "Paragraph aborted";
        rn_job_kill(p->run->job);
    }
}

static void op_cancel_all(zp_req *r)
{
    if (!need_data(r))
        return;
    zp_note *n = request_note(r, false);
    if (!n)
        return;
    for (zp_para *p = n->paras; p; p = p->next) {
        if (p->pending) {
            pending_free(p->pending);
            p->pending = NULL;
            n->active--;
        }
        if (p->run) {
            p->run->abort_note = "Paragraph aborted";
            rn_job_kill(p->run->job);
        }
    }
}

static void write_note(rn_jbuf *b, const zp_note *n)
{
    rn_jbuf_str(b, "{\"paragraphs\":[");
    for (const zp_para *p = n->paras; p; p = p->next) {
        if (p != n->paras)
            rn_jbuf_str(b, ",");
        write_para(b, p, true);
    }
    rn_jbuf_str(b, "],\"name\":");
    jcstr_safe(b, n->id);
    rn_jbuf_str(b, ",\"id\":");
    jcstr_safe(b, n->id);
    rn_jbuf_str(b, ",\"defaultInterpreterGroup\":");
    jcstr_safe(b, n->group[0] ? n->group : G.default_interpreter);
    rn_jbuf_str(b, ",\"version\":\"" RUNNEL_VERSION "\",\"noteParams\":{},\"noteForms\":{},"
                   "\"angularObjects\":{},\"config\":{\"isZeppelinNotebookCronEnable\":false},"
                   "\"info\":{},\"path\":");
    char path[ZP_ID_MAX + 2];
    snprintf(path, sizeof(path), "/%s", n->id);
    jcstr_safe(b, path);
    rn_jbuf_str(b, "}");
}

static void op_get_note(zp_req *r)
{
    if (!need_data(r))
        return;
    const char *id = need_id(r, "id", "note id");
    if (!id)
        return;
    zp_note *n = note_find(id);
    if (!n) {
        send_error(r->c, r->msgid, "Note %s not found", id);
        return;
    }
    int err = watch(r->zc, n);
    if (err == -EUSERS) {
        send_error(r->c, r->msgid, "Note %s has too many watchers (limit %u)", id, G.max_watchers);
        return;
    }
    if (err < 0) {
        send_error(r->c, r->msgid, "Out of memory");
        return;
    }
    note_touch(n);
    rn_jbuf b;
    frame_begin(&b, "NOTE");
    rn_jbuf_str(&b, "{\"note\":");
    write_note(&b, n);
    rn_jbuf_str(&b, "}");
    frame_send(&b, r->c, r->msgid);
}

static void op_list_notes(zp_req *r)
{
    rn_jbuf b;
    frame_begin(&b, "NOTES_INFO");
    rn_jbuf_str(&b, "{\"notes\":[");
    for (const zp_note *n = G.notes; n; n = n->next) {
        if (n != G.notes)
            rn_jbuf_str(&b, ",");
        rn_jbuf_str(&b, "{\"id\":");
        jcstr_safe(&b, n->id);
        rn_jbuf_str(&b, ",\"path\":");
        char path[ZP_ID_MAX + 2];
        snprintf(path, sizeof(path), "/%s", n->id);
        jcstr_safe(&b, path);
        rn_jbuf_str(&b, "}");
    }
    rn_jbuf_str(&b, "]}");
    frame_send(&b, r->c, r->msgid);
}

static void op_home_note(zp_req *r)
{
    rn_jbuf b;
    frame_begin(&b, "NOTE");
    rn_jbuf_str(&b, "{\"note\":null}");
    frame_send(&b, r->c, r->msgid);
}

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

static void op_list_configurations(zp_req *r)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    const rn_jobs_limits *l = info.limits;
    rn_jbuf langs;
    rn_jbuf_init(&langs, 0);
    for (size_t i = 0; i < rn_specs_count(rn_host_specs(G.host)); i++) {
        const rn_spec *s = rn_specs_at(rn_host_specs(G.host), i);
        if (!s->available)
            continue;
        if (langs.len)
            rn_jbuf_raw(&langs, ",", 1);
        rn_jbuf_str(&langs, s->name);
    }
    rn_jbuf b;
    frame_begin(&b, "CONFIGURATIONS_INFO");
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
    config_entry(&b, "runnel.zeppelin.note_ttl_ms", "%llu", (unsigned long long)G.note_ttl_ms);
    config_entry(&b, "runnel.zeppelin.default_interpreter", "%s", G.default_interpreter);
    config_entry(&b, "zeppelin.interpreter.output.limit", "%llu",
                 (unsigned long long)l->output_bytes);
    config_entry(&b, "zeppelin.websocket.paragraph_status_progress.enable", "true");
    config_entry(&b, "zeppelin.paragraph.progress.update.interval.ms", "%llu",
                 (unsigned long long)G.progress_ms);
    rn_jbuf_str(&b, "}}");
    frame_send(&b, r->c, r->msgid);
    rn_jbuf_free(&langs);
}

/* The Ace editor mode of a language, for the clients' editors. */
static const char *editor_language(const char *target)
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
    rn_jbuf_jcstr(b, editor_language(target));
    rn_jbuf_str(b, ",\"editOnDblClick\":");
    rn_jbuf_str(b, strcmp(target, ZP_TARGET_TEXT) ? "false" : "true");
    rn_jbuf_str(b, ",\"completionKey\":\"TAB\",\"completionSupport\":false},\"config\":{}}");
}

/* Interpreter groups as Zeppelin names them, each with the interpreters
 * that resolve to an installed language here; then every other installed
 * language under its own name. */
static void write_bindings(rn_jbuf *b)
{
    static const struct {
        const char *group;
        const char *names[4];
    } groups[] = {
        {"md", {"md"}},     {"python", {"python"}},
        {"sh", {"sh"}},     {"spark", {"spark", "pyspark", "sql", "r"}},
        {"jdbc", {"jdbc"}},
    };
    rn_jbuf_str(b, "{\"interpreterBindings\":[");
    bool any = false;
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        bool first = true;
        for (size_t i = 0; i < 4 && groups[g].names[i]; i++) {
            bool text;
            const char *name = groups[g].names[i];
            const rn_spec *s = resolve(name, &text);
            if (!text && (!s || !s->available))
                continue;
            if (first) {
                if (any)
                    rn_jbuf_str(b, ",");
                rn_jbuf_str(b, "{\"id\":");
                rn_jbuf_jcstr(b, groups[g].group);
                rn_jbuf_str(b, ",\"name\":");
                rn_jbuf_jcstr(b, groups[g].group);
                rn_jbuf_str(b, ",\"interpreters\":[");
            } else {
                rn_jbuf_str(b, ",");
            }
            write_interpreter(b, name, text ? ZP_TARGET_TEXT : s->name, first);
            first = false;
            any = true;
        }
        if (!first)
            rn_jbuf_str(b, "],\"selected\":true}");
    }
    for (size_t i = 0; i < rn_specs_count(rn_host_specs(G.host)); i++) {
        const rn_spec *s = rn_specs_at(rn_host_specs(G.host), i);
        if (!s->available)
            continue;
        /* the first of its names that resolves back to it here */
        const char *name = NULL;
        bool text;
        if (resolve(s->name, &text) == s)
            name = s->name;
        for (char **a = s->aliases; !name && a && *a; a++)
            if (resolve(*a, &text) == s)
                name = *a;
        if (!name)
            continue;
        if (any)
            rn_jbuf_str(b, ",");
        rn_jbuf_str(b, "{\"id\":");
        rn_jbuf_jcstr(b, name);
        rn_jbuf_str(b, ",\"name\":");
        rn_jbuf_jcstr(b, name);
        rn_jbuf_str(b, ",\"interpreters\":[");
        write_interpreter(b, name, s->name, true);
        rn_jbuf_str(b, "],\"selected\":true}");
        any = true;
    }
    rn_jbuf_str(b, "]}");
}

static void op_bindings(zp_req *r)
{
    rn_jbuf b;
    frame_begin(&b, "INTERPRETER_BINDINGS");
    write_bindings(&b);
    frame_send(&b, r->c, r->msgid);
}

static void op_save_bindings(zp_req *r)
{
    if (!need_data(r))
        return;
    zp_note *n = request_note(r, false);
    if (!n)
        return;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->data, "selectedSettingIds");
    const cJSON *first = cJSON_IsArray(ids) ? cJSON_GetArrayItem(ids, 0) : NULL;
    if (first) {
        bool text;
        if (!cJSON_IsString(first) || strlen(first->valuestring) >= sizeof(n->group) ||
            (!resolve(first->valuestring, &text) && !text)) {
            send_error(r->c, r->msgid, "%s: unknown interpreter setting", r->op);
            return;
        }
        snprintf(n->group, sizeof(n->group), "%s", first->valuestring);
    }
    op_bindings(r);
}

static void op_editor_setting(zp_req *r)
{
    if (!need_data(r))
        return;
    const char *pid = str_field(r->data, "paragraphId");
    const char *magic = str_field(r->data, "magic");
    if (!pid || !magic) {
        send_error(r->c, r->msgid, "%s: 'paragraphId' and 'magic' must be strings", r->op);
        return;
    }
    bool text;
    const rn_spec *s = resolve(magic, &text);
    if (!s && !text)
        return; /* as Zeppelin: no editor for an unknown interpreter */
    rn_jbuf b;
    frame_begin(&b, "EDITOR_SETTING");
    rn_jbuf_str(&b, "{\"paragraphId\":");
    jcstr_safe(&b, pid);
    rn_jbuf_str(&b, ",\"editor\":{\"language\":");
    rn_jbuf_jcstr(&b, editor_language(text ? ZP_TARGET_TEXT : s->name));
    rn_jbuf_printf(&b,
                   ",\"editOnDblClick\":%s,\"completionKey\":\"TAB\","
                   "\"completionSupport\":false}}",
                   text ? "true" : "false");
    frame_send(&b, r->c, r->msgid);
}

static void zp_ws_message(void *state, rn_conn *c, const char *msg, size_t len, bool binary)
{
    (void)state;
    zp_req r;
    memset(&r, 0, sizeof(r));
    r.c = c;
    r.zc = rn_conn_data(c);
    notes_expire();
    if (binary) {
        send_error(c, NULL, "Invalid message: binary frames are not supported");
        return;
    }
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!root) {
        send_error(c, NULL, "Invalid message: not valid JSON");
        return;
    }
    if (!cJSON_IsObject(root)) {
        send_error(c, NULL, "Invalid message: expected a JSON object");
        goto out;
    }
    r.msgid = str_field(root, "msgId");
    if (r.msgid && strlen(r.msgid) > ZP_ID_MAX)
        r.msgid = NULL;
    const char *principal = str_field(root, "principal");
    snprintf(r.user, sizeof(r.user), "%s",
             principal && principal[0] && strlen(principal) <= ZP_USER_MAX ? principal
                                                                           : "anonymous");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(root, "op");
    if (!op) {
        send_error(c, r.msgid, "Invalid message: missing field 'op'");
        goto out;
    }
    if (!cJSON_IsString(op)) {
        send_error(c, r.msgid, "Invalid message: field 'op' must be a string");
        goto out;
    }
    r.op = op->valuestring;
    r.data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (cJSON_IsNull(r.data))
        r.data = NULL;
    static const struct {
        const char *op;
        void (*fn)(zp_req *);
    } ops[] = {
        {"RUN_PARAGRAPH", op_run_paragraph},
        {"CANCEL_PARAGRAPH", op_cancel_paragraph},
        {"CANCEL_ALL_PARAGRAPHS", op_cancel_all},
        {"GET_NOTE", op_get_note},
        {"LIST_NOTES", op_list_notes},
        {"RELOAD_NOTES_FROM_REPO", op_list_notes},
        {"GET_HOME_NOTE", op_home_note},
        {"LIST_CONFIGURATIONS", op_list_configurations},
        {"GET_INTERPRETER_BINDINGS", op_bindings},
        {"SAVE_INTERPRETER_BINDINGS", op_save_bindings},
        {"EDITOR_SETTING", op_editor_setting},
    };
    /* Keep-alive and job-manager subscriptions the web clients send on
     * their own: accepted without a reply. */
    static const char *const quiet[] = {"PING", "LIST_NOTE_JOBS", "UNSUBSCRIBE_UPDATE_NOTE_JOBS",
                                        "LIST_UPDATE_NOTE_JOBS"};
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        if (!strcmp(r.op, quiet[i]))
            goto out;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (!strcmp(r.op, ops[i].op)) {
            ops[i].fn(&r);
            goto out;
        }
    }
    send_error(c, r.msgid, "Unknown or unsupported op: %.64s", r.op);
out:
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------- conns */

static int zp_ws_open(void *state, rn_conn *c)
{
    (void)state;
    zp_conn *zc = calloc(1, sizeof(*zc));
    if (!zc)
        return -ENOMEM;
    zc->conn = c;
    rn_conn_set_data(c, zc, free);
    return 0;
}

static void zp_ws_close(void *state, rn_conn *c)
{
    (void)state;
    zp_conn *zc = rn_conn_data(c);
    if (zc)
        unwatch(zc);
}

static const char *zp_path_of(void *state)
{
    (void)state;
    return G.path;
}

/* ---------------------------------------------------------------- HTTP */

static void http_json(rn_http *h, int status, const char *body)
{
    rn_http_reply(h, status, "application/json", body, strlen(body));
}

static void zp_ticket(void *state, rn_http *h)
{
    (void)state;
    http_json(h, 200,
              "{\"status\":\"OK\",\"message\":\"\",\"body\":{\"principal\":\"anonymous\","
              "\"roles\":\"[]\",\"ticket\":\"anonymous\"}}");
}

static void zp_version(void *state, rn_http *h)
{
    (void)state;
    http_json(h, 200,
              "{\"status\":\"OK\",\"message\":\"Zeppelin version\",\"body\":{\"version\":"
              "\"" RUNNEL_VERSION "\",\"git-commit-id\":\"\",\"git-timestamp\":\"\"}}");
}

/* Errors as Zeppelin's REST layer words them. */
static void zp_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    (void)message;
    if (status == 405)
        http_json(h, 405, "{\"status\":\"METHOD_NOT_ALLOWED\",\"message\":\"\"}");
    else if (status == 426)
        http_json(h, 426, "{\"status\":\"UPGRADE_REQUIRED\",\"message\":\"WebSocket only\"}");
    else if (status == 413)
        http_json(h, 413, "{\"status\":\"PAYLOAD_TOO_LARGE\",\"message\":\"\"}");
    else
        http_json(h, 404, "{\"status\":\"NOT_FOUND\",\"message\":\"\"}");
}

/* ---------------------------------------------------------------- config */

static int zp_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    const zp_conf *c = conf;
    G.host = host;
    *state = &G;
    G.max_notes = (unsigned)c->max_notes;
    G.max_paragraphs = (unsigned)c->max_paragraphs;
    G.max_watchers = (unsigned)c->max_watchers;
    G.note_ttl_ms = c->note_ttl_ms;
    G.progress_ms = c->progress_interval_ms;
    G.store_bytes = c->store_bytes;
    if (c->path[0] != '/') {
        snprintf(err, size, "zeppelin.path must be a path starting with '/'");
        return -EINVAL;
    }
    snprintf(G.path, sizeof(G.path), "%s", c->path);
    const rn_specs *specs = rn_host_specs(host);
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
    if (specs && !resolve(G.default_interpreter, &text) && !text &&
        strcmp(G.default_interpreter, "python")) {
        snprintf(err, size, "zeppelin.default_interpreter: unknown interpreter '%.64s'",
                 c->default_interpreter);
        return -EINVAL;
    }
    return 0;
}

static void zp_fini(void *state)
{
    (void)state;
    while (G.notes)
        note_free(G.notes);
    cJSON_Delete(G.interpreters);
    G.interpreters = NULL;
}

static const rn_route zp_routes[] = {
    {"GET", "/api/security/ticket", 0, zp_ticket},
    {"GET", "/api/version", 0, zp_version},
    {0},
};

static const rn_ws_endpoint zp_ws[] = {
    {NULL, NULL, RN_ROUTE_CONFIGURED | RN_ROUTE_SLASH, NULL},
    {0},
};

static const rn_conf_key zp_keys[] = {
    RN_CONF_KEY_STR("path", zp_conf, path, "\"/ws\"", "the WebSocket path"),
    RN_CONF_KEY_U64("max_notes", zp_conf, max_notes, 1, 100000, "256", "notes kept in memory"),
    RN_CONF_KEY_U64("max_paragraphs", zp_conf, max_paragraphs, 1, 10000, "100",
                    "paragraphs per note"),
    RN_CONF_KEY_U64("max_watchers", zp_conf, max_watchers, 1, 10000, "16",
                    "connections watching one note"),
    RN_CONF_KEY_U64("note_ttl_ms", zp_conf, note_ttl_ms, 1000, 30ull * 86400000, "3600000",
                    "an idle note is dropped from memory after this long"),
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
