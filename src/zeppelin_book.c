/* The Zeppelin envelope's notebook: every note in memory (paragraphs of
 * idle ones dropped and read back from their file when asked for), the
 * watchers of each, and saving: a change is written to the note's file
 * through zeppelin_store.c, and the frames that acknowledge it wait for
 * the write (see zeppelin_env.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zeppelin_env.h"
#include "zeppelin_shared.h"

#define G zp_g

/* ---------------------------------------------------------------- notes */

void zp_limits(zp_note_limits *lim)
{
    lim->max_paragraphs = G.max_paragraphs;
    lim->max_bytes = G.max_note_bytes;
    lim->text_bytes = zp_host_limits()->code_bytes;
}

static void list_add(zp_note *n)
{
    n->prev = NULL;
    n->next = G.notes;
    if (G.notes)
        G.notes->prev = n;
    G.notes = n;
    G.nnotes++;
}

static void list_remove(zp_note *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        G.notes = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->next = n->prev = NULL;
    G.nnotes--;
}

void zp_note_touch(zp_note *n)
{
    n->used_ms = rn_now_ms();
    if (G.notes == n)
        return;
    list_remove(n);
    list_add(n);
}

/* Only notes nobody watches, runs in or saves, and whose file has all
 * they hold, are dropped from memory. */
static bool note_idle(const zp_note *n)
{
    return n->loaded && !n->active && !n->nwatchers && !n->saving && !n->runall && !n->dirty;
}

void zp_note_drop(zp_note *n)
{
    list_remove(n);
    zp_note_free(n);
}

void zp_notes_expire(void)
{
    uint64_t now = rn_now_ms();
    for (zp_note *n = G.notes; n; n = n->next) {
        if (note_idle(n) && now - n->used_ms >= G.note_ttl_ms) {
            rn_log(RN_LOG_DEBUG, "zeppelin.note_unloaded", "note=%.64s reason=idle", n->id);
            zp_note_unload(n);
        }
    }
}

bool zp_notes_make_room(const zp_note *keep, size_t extra)
{
    zp_notes_expire();
    while (zp_notes_bytes() + extra > G.store_bytes) {
        zp_note *victim = NULL;
        for (zp_note *n = G.notes; n; n = n->next)
            if (n != keep && note_idle(n))
                victim = n; /* the last idle one is the least recently used */
        if (!victim)
            return false;
        rn_log(RN_LOG_DEBUG, "zeppelin.note_unloaded", "note=%.64s reason=memory", victim->id);
        zp_note_unload(victim);
    }
    return true;
}

bool zp_note_too_big(const zp_note *n, size_t extra)
{
    return n->bytes + extra > G.max_note_bytes;
}

zp_note *zp_note_find(const char *id)
{
    for (zp_note *n = G.notes; n; n = n->next)
        if (!strcmp(n->id, id))
            return n;
    return NULL;
}

zp_note *zp_note_at(const char *path, const zp_note *except)
{
    for (zp_note *n = G.notes; n; n = n->next)
        if (n != except && !strcmp(n->path, path))
            return n;
    return NULL;
}

/* Read a note that was dropped from memory back from its file. */
static int note_load(zp_note *n)
{
    char *data = NULL, why[200];
    size_t len = 0;
    int err = n->file ? zp_store_read(G.store, n->file, &data, &len) : -ENOENT;
    if (!err) {
        cJSON *root = cJSON_ParseWithLength(data, len);
        zp_note_limits lim;
        zp_limits(&lim);
        if (!root) {
            snprintf(why, sizeof(why), "not valid JSON");
            err = -EINVAL;
        } else {
            err = zp_note_fill(n, root, &lim, why, sizeof(why));
        }
        cJSON_Delete(root);
    } else {
        snprintf(why, sizeof(why), "%s", strerror(-err));
    }
    free(data);
    if (err) {
        zp_note_unload(n);
        rn_log(RN_LOG_WARN, "zeppelin.note_unreadable", "note=%.64s file=%.300s reason=\"%s\"",
               n->id, n->file ? n->file : "", why);
    }
    return err;
}

zp_note *zp_note_get(const char *id, int *err)
{
    zp_note *n = zp_note_find(id);
    *err = n ? 0 : -ENOENT;
    if (n && !n->loaded) {
        zp_notes_make_room(n, 0);
        if ((*err = note_load(n)) < 0)
            return NULL;
    }
    return n;
}

int zp_note_create(const char *path, const char *owner, zp_note **out)
{
    char id[16];
    if (G.nnotes >= G.max_notes)
        return -ENOSPC;
    if (zp_note_at(path, NULL))
        return -EEXIST;
    do
        zp_note_id_new(id);
    while (zp_note_find(id));
    zp_note *n;
    int err = zp_note_new(id, path, &n);
    if (!err && ((err = zp_note_set_loaded(n)) < 0 || (err = zp_perms_private(owner, &n->perms))))
        zp_note_free(n);
    if (err)
        return err;
    list_add(n);
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------- watchers */

void zp_unwatch(zp_conn *zc)
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

int zp_watch(zp_conn *zc, zp_note *n)
{
    if (zc->note == n)
        return 0;
    if (n->nwatchers >= G.max_watchers)
        return -EUSERS;
    rn_conn **nw = realloc(n->watchers, (n->nwatchers + 1) * sizeof(*nw));
    if (!nw)
        return -ENOMEM;
    n->watchers = nw;
    zp_unwatch(zc);
    n->watchers[n->nwatchers++] = zc->conn;
    rn_conn_ref(zc->conn);
    zc->note = n;
    return 0;
}

/* ---------------------------------------------------------------- saving */

typedef struct {
    zp_target target;
    char *data;
    size_t len;
} ack_frame;

struct zp_ack {
    rn_conn *conn; /* ref held */
    rn_http *http; /* a REST request answered once saved (held), or NULL */
    char msgid[ZP_ID_MAX + 1];
    bool has_msgid;
    char op[40];
    char note_id[ZP_ID_MAX + 1];
    char *old_file; /* to restore n->file when a rename could not be saved */
    char *new_file; /* the file this write made, NULL for other acks */
    ack_frame *frames;
    unsigned nframes;
    bool notes_info;
    zp_note *held; /* a note being deleted, out of the list */
};

zp_ack *zp_ack_new(zp_req *r, const zp_note *n)
{
    zp_ack *a = calloc(1, sizeof(*a));
    if (!a) {
        zp_send_error(r->c, r->msgid, "Out of memory");
        return NULL;
    }
    a->conn = r->c;
    rn_conn_ref(r->c);
    snprintf(a->op, sizeof(a->op), "%s", r->op);
    if (r->msgid) {
        snprintf(a->msgid, sizeof(a->msgid), "%s", r->msgid);
        a->has_msgid = true;
    }
    snprintf(a->note_id, sizeof(a->note_id), "%s", n->id);
    return a;
}

zp_ack *zp_ack_http(rn_http *h, const zp_note *n)
{
    zp_ack *a = calloc(1, sizeof(*a));
    if (!a) {
        zp_http_fail(h, 500, "INTERNAL_SERVER_ERROR", "Out of memory");
        return NULL;
    }
    a->http = h;
    rn_http_hold(h);
    snprintf(a->op, sizeof(a->op), "%s", "PUT permissions");
    snprintf(a->note_id, sizeof(a->note_id), "%s", n->id);
    return a;
}

void zp_ack_frame(zp_ack *a, zp_target target, const rn_jbuf *b)
{
    if (!a || b->oom || !b->data)
        return;
    ack_frame *nf = realloc(a->frames, (a->nframes + 1) * sizeof(*nf));
    char *copy = malloc(b->len);
    if (!nf || !copy) {
        free(copy);
        if (nf)
            a->frames = nf;
        return;
    }
    memcpy(copy, b->data, b->len);
    a->frames = nf;
    a->frames[a->nframes++] = (ack_frame){target, copy, b->len};
}

void zp_ack_notes_info(zp_ack *a)
{
    if (a)
        a->notes_info = true;
}

static void ack_free(zp_ack *a)
{
    for (unsigned i = 0; i < a->nframes; i++)
        free(a->frames[i].data);
    free(a->frames);
    free(a->old_file);
    free(a->new_file);
    if (a->conn)
        rn_conn_unref(a->conn);
    if (a->http)
        rn_http_release(a->http);
    free(a);
}

/* Each connection its own list; one built list serves the connections
 * of the same user that follow one another. */
void zp_notes_info_all(void)
{
    rn_jbuf b = {0};
    const char *last = NULL;
    bool last_admin = false;
    for (zp_conn *zc = G.conns; zc; zc = zc->next) {
        bool admin;
        const char *user = rn_conn_user(zc->conn, &admin);
        if (!last || strcmp(last, user) || last_admin != admin) {
            rn_jbuf_free(&b);
            zp_notes_info(&b, NULL, user, admin);
            last = user;
            last_admin = admin;
        }
        zp_send_raw(zc->conn, &b);
    }
    rn_jbuf_free(&b);
}

static void ack_deliver(zp_ack *a)
{
    zp_note *n = zp_note_find(a->note_id);
    for (unsigned i = 0; i < a->nframes; i++) {
        rn_jbuf b = {.data = a->frames[i].data, .len = a->frames[i].len};
        if (a->frames[i].target == ZP_TO_SENDER) {
            zp_send_raw(a->conn, &b);
            continue;
        }
        for (unsigned w = 0; n && w < n->nwatchers; w++)
            if ((a->frames[i].target == ZP_TO_WATCHERS || n->watchers[w] != a->conn) &&
                zp_conn_may(n->watchers[w], n, ZP_PERM_READ))
                zp_send_raw(n->watchers[w], &b);
    }
    if (a->notes_info)
        zp_notes_info_all();
}

static void save_done(void *ud, int err)
{
    zp_ack *a = ud;
    zp_note *n = a->held ? a->held : zp_note_find(a->note_id);
    if (n && n->saving && !a->held)
        n->saving--;
    if (a->held) {
        /* A note that could not be removed from disk is not deleted
         * (unless a new note took its id meanwhile: its file stays). */
        bool back = err && !zp_note_find(a->note_id);
        if (back)
            list_add(a->held);
        else
            zp_note_free(a->held);
        n = back ? a->held : NULL;
        a->held = NULL;
    }
    if (err) {
        rn_log(RN_LOG_ERROR, "zeppelin.save_failed", "note=%.64s dir=%.300s op=%s error=\"%s\"",
               a->note_id, zp_store_dir(G.store), a->op[0] ? a->op : "run", strerror(-err));
        if (n && a->new_file) {
            n->dirty = true;
            /* The file still has its old name (or there is none yet),
             * unless a later change renamed the note again. */
            if (n->file && !strcmp(n->file, a->new_file)) {
                free(n->file);
                n->file = a->old_file;
                a->old_file = NULL;
            }
        }
        if (a->conn)
            zp_send_error(a->conn, a->has_msgid ? a->msgid : NULL,
                          "Failed to save note %s in %s: %s", a->note_id, zp_store_dir(G.store),
                          strerror(-err));
        if (a->http) {
            char msg[600];
            snprintf(msg, sizeof(msg), "Failed to save note %s in %s: %s", a->note_id,
                     zp_store_dir(G.store), strerror(-err));
            zp_http_fail(a->http, 500, "INTERNAL_SERVER_ERROR", msg);
        }
    } else {
        if (n && a->new_file)
            n->dirty = false;
        ack_deliver(a);
        if (a->http)
            zp_http_json(a->http, 200, "{\"status\":\"OK\"}");
    }
    ack_free(a);
}

/* An ack for changes no client asked for (a run's end). */
static zp_ack *ack_quiet(const zp_note *n)
{
    zp_ack *a = calloc(1, sizeof(*a));
    if (a)
        snprintf(a->note_id, sizeof(a->note_id), "%s", n->id);
    return a;
}

/* With a shared store, a change is acknowledged once the file and the
 * store both have it: send the store's part (n's document when data, else
 * its removal) and set *done and *ud to what the file's part calls. */
static void shared_step(zp_note *n, zp_ack *a, const char *rel, const char *data, size_t len,
                        zp_store_done *done, void **ud)
{
    *done = save_done;
    *ud = a;
    rn_store *shared = zp_shared();
    zp_join *j = shared ? zp_join_new(save_done, a, 2) : NULL;
    if (!j)
        return;
    *done = zp_join_done;
    *ud = j;
    int r;
    if (data) {
        n->shared_ms = rn_store_now_ms();
        n->shared_seq = zp_shared_next_seq();
        n->in_shared = true;
        r = zp_shared_save(shared, n->id, rel, data, len, n->shared_ms, zp_join_done, j);
    } else {
        r = zp_shared_remove(shared, n->id, zp_join_done, j);
    }
    if (r < 0)
        zp_join_done(j, -EIO);
}

void zp_note_save(zp_note *n, zp_ack *a)
{
    char rel[ZP_PATH_MAX + ZP_ID_MAX + 16];
    if (!a && !(a = ack_quiet(n)))
        return;
    if (!G.store) {
        save_done(a, 0);
        return;
    }
    /* A note dropped from memory is read back first: its file is never
     * written from what is not in memory. */
    int err = 0;
    if (!n->loaded && !zp_note_get(n->id, &err)) {
        save_done(a, err ? err : -EIO);
        return;
    }
    if (zp_note_file_name(n->id, n->path, rel, sizeof(rel)) < 0) {
        save_done(a, -ENAMETOOLONG);
        return;
    }
    zp_write_opts o = {true, false, G.progress_ms, G.default_interpreter};
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_note_write(&b, n, &o);
    char *file = strdup(rel);
    if (b.oom || !file || !(a->new_file = strdup(rel))) {
        free(file);
        rn_jbuf_free(&b);
        save_done(a, -ENOMEM);
        return;
    }
    char *old = n->file;
    n->file = file;
    a->old_file = old;
    n->saving++;
    zp_store_done done;
    void *ud;
    shared_step(n, a, rel, b.data, b.len, &done, &ud);
    if (zp_store_write(G.store, rel, old, b.data, b.len, done, ud) < 0) {
        n->saving--;
        n->file = old;
        a->old_file = NULL;
        free(file);
        done(ud, -ENOMEM);
    }
}

/* Every connection watching n stops watching it. */
static void unwatch_all(zp_note *n)
{
    while (n->nwatchers) {
        zp_conn *zc = rn_conn_data(n->watchers[0]);
        if (zc && zc->note == n) {
            zp_unwatch(zc);
        } else {
            rn_conn_unref(n->watchers[0]);
            n->watchers[0] = n->watchers[--n->nwatchers];
        }
    }
}

void zp_note_delete(zp_note *n, zp_ack *a)
{
    if (!a && !(a = ack_quiet(n)))
        return;
    unwatch_all(n);
    list_remove(n);
    a->held = n;
    zp_store_done done;
    void *ud;
    shared_step(n, a, NULL, NULL, 0, &done, &ud);
    if (!G.store || !n->file) {
        done(ud, 0);
        return;
    }
    if (zp_store_remove(G.store, n->file, done, ud) < 0)
        done(ud, -ENOMEM);
}

/* ---------------------------------------------------------------- start-up */

static void load_found(void *ud, const char *rel, const char *data, size_t len)
{
    char id[ZP_ID_MAX + 1], path[ZP_PATH_MAX], why[200];
    zp_note_limits lim;
    zp_note *n;
    (void)ud;
    zp_limits(&lim);
    if (zp_file_name_split(rel, id, sizeof(id), path, sizeof(path)) < 0) {
        rn_log(RN_LOG_WARN, "zeppelin.note_skipped",
               "file=%.300s reason=\"not a note file name (path_noteId.zpln)\"", rel);
        return;
    }
    if (zp_note_find(id)) {
        rn_log(RN_LOG_WARN, "zeppelin.note_skipped",
               "file=%.300s reason=\"note %s is already read from another file\"", rel, id);
        return;
    }
    if (G.nnotes >= G.max_notes) {
        rn_log(RN_LOG_WARN, "zeppelin.note_skipped",
               "file=%.300s reason=\"over zeppelin.max_notes (%u)\"", rel, G.max_notes);
        return;
    }
    int err = zp_note_parse(data, len, id, path, &lim, &n, why, sizeof(why));
    if (err < 0) {
        rn_log(RN_LOG_WARN, "zeppelin.note_skipped", "file=%.300s reason=\"%s\"", rel, why);
        return;
    }
    if (!(n->file = strdup(rel))) {
        zp_note_free(n);
        return;
    }
    list_add(n);
    /* Over the memory budget: keep its id and path, read it when asked. */
    if (zp_notes_bytes() > G.store_bytes)
        zp_note_unload(n);
}

static void load_skipped(void *ud, const char *rel, const char *why)
{
    (void)ud;
    rn_log(RN_LOG_WARN, "zeppelin.note_skipped", "file=%.300s reason=\"%s\"", rel, why);
}

static void written_back(void *ud, int err)
{
    (void)ud;
    if (err)
        rn_log(RN_LOG_WARN, "zeppelin.note_file_failed", "error=\"%s\"", strerror(-err));
}

/* A note of the shared store: one this node's directory lacks is read from
 * there, and its file written. */
static void load_shared(void *ud, const char *rel, const char *data, size_t len)
{
    char id[ZP_ID_MAX + 1], path[ZP_PATH_MAX];
    (void)ud;
    if (zp_file_name_split(rel, id, sizeof(id), path, sizeof(path)) < 0 || zp_note_find(id))
        return;
    load_found(NULL, rel, data, len);
    char *copy = zp_note_find(id) ? malloc(len + 1) : NULL;
    if (!copy)
        return;
    memcpy(copy, data, len);
    copy[len] = 0;
    zp_store_write(G.store, rel, NULL, copy, len, written_back, NULL);
}

void zp_notes_load(void)
{
    zp_store_scan(G.store, load_found, load_skipped, NULL);
    rn_store *shared = zp_shared();
    if (shared && G.store && zp_shared_scan(shared, load_shared, NULL) < 0)
        rn_log(RN_LOG_ERROR, "zeppelin.shared_notes_unreadable", "store=postgresql");
    rn_log(RN_LOG_INFO, "zeppelin.notes_loaded", "notes=%u dir=%s", G.nnotes,
           zp_store_dir(G.store));
}

/* ---------------------------------------------------------------- other nodes */

/* Whether this node is using n: watched, run in, saving, or holding what
 * its file lacks. */
/* A run, a save or an unsaved change holds n here. */
static bool note_held(const zp_note *n)
{
    return n->active || n->saving || n->runall || n->dirty;
}

static bool note_busy(const zp_note *n)
{
    return note_held(n) || n->nwatchers;
}

void zp_note_unwatch_unreaders(zp_note *n)
{
    for (unsigned i = n->nwatchers; i-- > 0;) {
        zp_conn *zc = rn_conn_data(n->watchers[i]);
        if (zc && zc->note == n && !zp_conn_may(zc->conn, n, ZP_PERM_READ))
            zp_unwatch(zc);
    }
}

/* A note in use here keeps its content until it is free, but takes the
 * store's permissions at once: a grant taken away on another node holds
 * here too, and this node's next save does not bring it back. */
static void take_perms(zp_note *old, zp_note *n)
{
    rn_jbuf a, b;
    rn_jbuf_init(&a, 0);
    rn_jbuf_init(&b, 0);
    zp_perms_write(&a, old->perms);
    zp_perms_write(&b, n->perms);
    bool same = !a.oom && !b.oom && a.len == b.len && !memcmp(a.data, b.data, a.len) &&
                !old->perms == !n->perms;
    rn_jbuf_free(&a);
    rn_jbuf_free(&b);
    if (same)
        return;
    struct zp_perms *p = old->perms;
    old->perms = n->perms;
    n->perms = p;
    rn_log(RN_LOG_INFO, "zeppelin.permissions_set", "note=%.64s by=another_node", old->id);
    zp_note_unwatch_unreaders(old);
}

int zp_notes_apply_shared(const char *id, const char *rel, const char *data, size_t len,
                          int64_t updated_ms)
{
    char fid[ZP_ID_MAX + 1], path[ZP_PATH_MAX], why[200];
    zp_note_limits lim;
    zp_note *n, *old = zp_note_find(id);
    if (old && old->shared_ms >= updated_ms)
        return 0; /* this version or a newer one */
    if (zp_file_name_split(rel, fid, sizeof(fid), path, sizeof(path)) < 0 || strcmp(fid, id) ||
        (!old && G.nnotes >= G.max_notes))
        return 0;
    zp_limits(&lim);
    if (zp_note_parse(data, len, id, path, &lim, &n, why, sizeof(why)) < 0) {
        rn_log(RN_LOG_WARN, "zeppelin.note_skipped", "note=%.64s reason=\"%s\"", id, why);
        return 0;
    }
    if (old && note_busy(old)) {
        take_perms(old, n);
        zp_note_free(n);
        return -EBUSY;
    }
    char *copy = malloc(len + 1);
    char *old_rel = old && old->file && strcmp(old->file, rel) ? strdup(old->file) : NULL;
    if (!copy || !(n->file = strdup(rel)) ||
        (old && old->file && strcmp(old->file, rel) && !old_rel)) {
        free(copy);
        free(old_rel);
        zp_note_free(n);
        return -ENOMEM;
    }
    memcpy(copy, data, len);
    copy[len] = 0;
    n->shared_ms = updated_ms;
    n->in_shared = true;
    if (old)
        zp_note_drop(old);
    list_add(n);
    if (zp_notes_bytes() > G.store_bytes)
        zp_note_unload(n);
    if (zp_store_write(G.store, rel, old_rel, copy, len, written_back, NULL) < 0)
        rn_log(RN_LOG_WARN, "zeppelin.note_file_failed", "error=\"out of memory\"");
    free(old_rel);
    return 1;
}

int zp_notes_remove_shared(zp_note *n)
{
    /* Watchers alone do not keep it: the note is gone for everyone, as when
     * it is deleted here (a run or an unsaved change does keep it). */
    if (note_held(n))
        return -EBUSY;
    if (n->file && zp_store_remove(G.store, n->file, written_back, NULL) < 0)
        return -ENOMEM;
    unwatch_all(n);
    rn_log(RN_LOG_INFO, "zeppelin.note_removed", "note=%.64s by=another_node", n->id);
    zp_note_drop(n);
    return 1;
}
