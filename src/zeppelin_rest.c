/* The Zeppelin envelope's REST calls on notes, answered as Zeppelin's
 * NotebookRestApi answers them ({"status":"OK","message":"","body":...};
 * errors {"status":"NOT_FOUND"|"FORBIDDEN"|"BAD_REQUEST","message":...}):
 *
 *   GET /api/notebook                          [{id, path}] the user may read
 *   GET /api/notebook/{id}                     the note (reader)
 *   GET /api/notebook/{id}/paragraph/{pid}     one paragraph (reader)
 *   GET /api/notebook/{id}/permissions         {readers, owners, writers, runners} (reader)
 *   PUT /api/notebook/{id}/permissions         set them (owner); {"status":"OK"} once saved
 *
 * The user is the one the request's token names (rn_http_user). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zeppelin_env.h"

#define G zp_g

/* Path segment i ("/api/notebook/ID/..." has ID at 2), percent-decoded,
 * into out; false when absent, too long or not an id. */
static bool segment(rn_http *h, int i, char *out, size_t size)
{
    const char *p = rn_http_path(h);
    for (int k = 0; k <= i; k++) {
        if (*p != '/')
            return false;
        p++;
        if (k < i)
            p = strchrnul(p, '/');
    }
    size_t o = 0;
    for (; *p && *p != '/'; p++) {
        char c = *p;
        if (c == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end)
                return false;
            c = (char)v;
            p += 2;
        }
        if (o + 1 >= size)
            return false;
        out[o++] = c;
    }
    out[o] = 0;
    return zp_valid_id(out);
}

/* The note the path names, or NULL after a 404. */
static zp_note *path_note(rn_http *h, char *id, size_t size)
{
    char msg[ZP_ID_MAX + 64];
    zp_note *n = segment(h, 2, id, size) ? zp_note_find(id) : NULL;
    if (!n) {
        snprintf(msg, sizeof(msg), "No such note: %s", zp_valid_id(id) ? id : "");
        zp_http_fail(h, 404, "NOT_FOUND", msg);
    }
    return n;
}

/* Whether the request's user may do need on n; else 403 with message, or
 * NotebookService's wording when message is NULL. */
static bool allowed(rn_http *h, const zp_note *n, zp_perm need, const char *message)
{
    bool admin;
    const char *user = rn_http_user(h, &admin);
    if (zp_perms_allow(n->perms, need, user, admin))
        return true;
    char info[ZP_PERM_BYTES_MAX + 1024];
    if (!message) {
        zp_perms_denial(n->perms, need, user, info, sizeof(info));
        message = info;
    }
    rn_log(RN_LOG_INFO, "zeppelin.denied", "user=\"%.128s\" op=\"%s %.200s\" note=%.64s need=%s",
           user, rn_http_method(h), rn_http_path(h), n->id, zp_perm_name(need));
    zp_http_fail(h, 403, "FORBIDDEN", message);
    return false;
}

/* The note read back into memory if need be; NULL after a 500. */
static zp_note *loaded(rn_http *h, zp_note *n)
{
    int err;
    zp_note *got = zp_note_get(n->id, &err);
    if (!got) {
        char msg[ZP_ID_MAX + 128];
        snprintf(msg, sizeof(msg), "Note %s could not be read: %s", n->id, strerror(-err));
        zp_http_fail(h, 500, "INTERNAL_SERVER_ERROR", msg);
    }
    return got;
}

static void reply_body(rn_http *h, rn_jbuf *b)
{
    if (b->oom)
        zp_http_fail(h, 500, "INTERNAL_SERVER_ERROR", "Out of memory");
    else
        zp_http_ok(h, "", b->data);
    rn_jbuf_free(b);
}

void zp_rest_notebook(void *state, rn_http *h)
{
    bool admin;
    (void)state;
    const char *user = rn_http_user(h, &admin);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_notes_list(&b, user, admin);
    reply_body(h, &b);
}

void zp_rest_note(void *state, rn_http *h)
{
    char id[ZP_ID_MAX + 1] = "";
    (void)state;
    zp_note *n = path_note(h, id, sizeof(id));
    if (!n || !allowed(h, n, ZP_PERM_READ, NULL) || !(n = loaded(h, n)))
        return;
    zp_note_touch(n);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_write_note(&b, n);
    reply_body(h, &b);
}

void zp_rest_paragraph(void *state, rn_http *h)
{
    char id[ZP_ID_MAX + 1] = "", pid[ZP_ID_MAX + 1] = "", msg[ZP_ID_MAX + 64];
    (void)state;
    zp_note *n = path_note(h, id, sizeof(id));
    if (!n ||
        !allowed(h, n, ZP_PERM_READ, "Insufficient privileges you cannot get this paragraph") ||
        !(n = loaded(h, n)))
        return;
    const zp_para *p = segment(h, 4, pid, sizeof(pid)) ? zp_note_para(n, pid) : NULL;
    if (!p) {
        snprintf(msg, sizeof(msg), "No such paragraph: %s", zp_valid_id(pid) ? pid : "");
        zp_http_fail(h, 404, "NOT_FOUND", msg);
        return;
    }
    zp_note_touch(n);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_write_para(&b, p);
    reply_body(h, &b);
}

void zp_rest_get_permissions(void *state, rn_http *h)
{
    char id[ZP_ID_MAX + 1] = "";
    (void)state;
    zp_note *n = path_note(h, id, sizeof(id));
    if (!n || !allowed(h, n, ZP_PERM_READ,
                       "Insufficient privileges you cannot get the list of permissions for this "
                       "note"))
        return;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_perms_write(&b, n->perms);
    reply_body(h, &b);
}

void zp_rest_put_permissions(void *state, rn_http *h)
{
    char id[ZP_ID_MAX + 1] = "", why[200];
    (void)state;
    zp_note *n = path_note(h, id, sizeof(id));
    if (!n)
        return;
    bool admin;
    const char *user = rn_http_user(h, &admin);
    if (!zp_perms_allow(n->perms, ZP_PERM_OWN, user, admin)) {
        /* NotebookRestApi's own wording for this one. */
        char info[ZP_PERM_BYTES_MAX + 1024], owners[ZP_PERM_BYTES_MAX + 512];
        zp_perms_names(n->perms, ZP_OWNERS, owners, sizeof(owners));
        snprintf(info, sizeof(info),
                 "Insufficient privileges to change permissions.\n\nAllowed owners: %s\n\n"
                 "User belongs to: [%s]",
                 owners, user);
        allowed(h, n, ZP_PERM_OWN, info);
        return;
    }
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = cJSON_ParseWithLength(body, len);
    zp_perms *p = NULL;
    int err = root ? zp_perms_parse(root, &p, why, sizeof(why)) : -EINVAL;
    cJSON_Delete(root);
    if (!root)
        snprintf(why, sizeof(why),
                 "the body must be a JSON object of readers, owners, writers, "
                 "runners");
    if (!err && (err = zp_perms_complete(p, user)) < 0)
        snprintf(why, sizeof(why), "out of memory");
    if (err) {
        zp_perms_free(p);
        zp_http_fail(h, err == -ENOMEM ? 500 : 400,
                     err == -ENOMEM ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST", why);
        return;
    }
    if (!(n = loaded(h, n))) {
        zp_perms_free(p);
        return;
    }
    zp_perms_free(n->perms);
    n->perms = p;
    rn_log(RN_LOG_INFO, "zeppelin.permissions_set", "user=\"%.128s\" note=%.64s", user, n->id);
    zp_note_unwatch_unreaders(n);
    zp_ack *a = zp_ack_http(h, n);
    if (!a)
        return;
    /* As Zeppelin: the note to its watchers, the list to everyone. */
    rn_jbuf b;
    zp_frame_begin(&b, "NOTE");
    rn_jbuf_str(&b, "{\"note\":");
    zp_write_note(&b, n);
    rn_jbuf_str(&b, "}");
    zp_frame_end(&b, NULL);
    zp_ack_frame(a, ZP_TO_WATCHERS, &b);
    rn_jbuf_free(&b);
    zp_ack_notes_info(a);
    zp_note_save(n, a);
}
