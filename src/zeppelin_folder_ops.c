/* The Zeppelin envelope's ops on folders and the trash, answered as
 * Zeppelin's NotebookServer answers them: the notes under the folder move
 * (or are deleted) together, each saved, then NOTES_INFO goes to every
 * connection. A move that would put a note on a path another note has is
 * refused before anything moves.
 *
 * Tenants: a folder holds, for a user, the notes below it the user may
 * read; the others are not touched. Each of those needs what the same op
 * on one note needs (r->need: rename, trash and removal the owner,
 * restore a writer), else AUTH_INFO and nothing moves. EMPTY_TRASH and
 * RESTORE_ALL take the notes in the trash the user may do that to and
 * leave the rest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeppelin_env.h"

#define G zp_g

/* Whether n is below folder ("/a" holds "/a/x" and "/a/b/y"). */
static bool under(const zp_note *n, const char *folder)
{
    size_t l = strlen(folder);
    return !strncmp(n->path, folder, l) && n->path[l] == '/';
}

/* Whether n is below folder and the user sees it (r NULL: anyone's). */
static bool mine(const zp_req *r, const zp_note *n, const char *folder)
{
    return under(n, folder) && (!r || zp_may(r, n, ZP_PERM_READ));
}

static unsigned count_under(const zp_req *r, const char *folder)
{
    unsigned k = 0;
    for (const zp_note *n = G.notes; n; n = n->next)
        k += mine(r, n, folder);
    return k;
}

/* Whether the user may do r->need on every note of the folder it sees
 * (else AUTH_INFO was sent). */
static bool allowed_under(zp_req *r, const char *folder)
{
    for (const zp_note *n = G.notes; n; n = n->next)
        if (mine(r, n, folder) && !zp_check(r, n, r->need))
            return false;
    return true;
}

/* A folder path from data[key]: "/" added when it has none. */
static bool request_folder(zp_req *r, const char *key, char *out, size_t size)
{
    const char *id = zp_need_data(r) ? zp_str(r->data, key) : NULL;
    char why[128];
    if (!id) {
        if (r->data)
            zp_send_error(r->c, r->msgid, "%s: '%s' must be a folder path", r->op, key);
        return false;
    }
    if (strlen(id) >= ZP_PATH_MAX - 1 || zp_path_normalize(id, out, size, why, sizeof(why)) < 0) {
        zp_send_error(r->c, r->msgid, "%s: %s", r->op,
                      strlen(id) >= ZP_PATH_MAX - 1 ? "folder path too long" : why);
        return false;
    }
    return true;
}

/* Move every note below from to below to, saving each; NOTES_INFO to all
 * once the last is saved. */
static void move_folder(zp_req *r, const char *from, const char *to)
{
    char path[ZP_PATH_MAX * 2], why[128], norm[ZP_PATH_MAX];
    unsigned total = count_under(r, from), done = 0;
    if (!total) {
        zp_send_error(r->c, r->msgid, "No such folder: %s", from);
        return;
    }
    if (under(&(zp_note){.path = (char *)to}, from)) {
        zp_send_error(r->c, r->msgid, "Can not move folder %s into itself", from);
        return;
    }
    if (!allowed_under(r, from))
        return;
    for (const zp_note *n = G.notes; n; n = n->next) {
        if (!mine(r, n, from))
            continue;
        snprintf(path, sizeof(path), "%s%s", to, n->path + strlen(from));
        if (strlen(path) >= ZP_PATH_MAX ||
            zp_path_normalize(path, norm, sizeof(norm), why, sizeof(why)) < 0) {
            zp_send_error(r->c, r->msgid, "Can not move %s: %s", n->path,
                          strlen(path) >= ZP_PATH_MAX ? "path too long" : why);
            return;
        }
        const zp_note *other = zp_note_at(norm, NULL);
        if (other && !mine(r, other, from)) {
            zp_send_error(r->c, r->msgid, "Note '%s' existed", norm);
            return;
        }
    }
    for (zp_note *n = G.notes; n; n = n->next) {
        if (!mine(r, n, from))
            continue;
        snprintf(path, sizeof(path), "%s%s", to, n->path + strlen(from));
        zp_ack *a = zp_ack_new(r, n);
        if (++done == total)
            zp_ack_notes_info(a);
        if (zp_note_set_path(n, path) < 0) {
            zp_send_error(r->c, r->msgid, "Out of memory");
            return;
        }
        zp_note_save(n, a);
    }
}

/* Delete every note below folder the user sees (all: every one of them
 * must be the user's to delete; else only those that are); NOTES_INFO to
 * all once the last file is gone. Refused while something runs in one of
 * them. */
static void remove_folder(zp_req *r, const char *folder, bool all)
{
    if (all && !allowed_under(r, folder))
        return;
    unsigned total = 0, done = 0;
    for (const zp_note *n = G.notes; n; n = n->next)
        total += mine(r, n, folder) && zp_may(r, n, r->need);
    for (const zp_note *n = G.notes; n; n = n->next) {
        if (mine(r, n, folder) && zp_may(r, n, r->need) && (n->active || n->runall)) {
            zp_send_error(r->c, r->msgid, "Note %s has paragraphs running; cancel them first",
                          n->id);
            return;
        }
    }
    if (!total) {
        zp_notes_info_all();
        return;
    }
    for (zp_note *n = G.notes, *next; n; n = next) {
        next = n->next;
        if (!mine(r, n, folder) || !zp_may(r, n, r->need))
            continue;
        zp_ack *a = zp_ack_new(r, n);
        if (++done == total)
            zp_ack_notes_info(a);
        zp_note_delete(n, a);
    }
}

void zp_op_rename_folder(zp_req *r)
{
    char from[ZP_PATH_MAX], to[ZP_PATH_MAX];
    if (request_folder(r, "id", from, sizeof(from)) && request_folder(r, "name", to, sizeof(to)))
        move_folder(r, from, to);
}

void zp_op_trash_folder(zp_req *r)
{
    char from[ZP_PATH_MAX], to[ZP_PATH_MAX + 64];
    if (!request_folder(r, "id", from, sizeof(from)))
        return;
    snprintf(to, sizeof(to), "/%s%s", ZP_TRASH, from);
    if (count_under(NULL, to) || zp_note_at(to, NULL)) {
        /* As Zeppelin: a name already in the trash gets the time. */
        zp_path_add_time(to, sizeof(to));
    }
    move_folder(r, from, to);
}

/* The path a trashed path goes back to: without its "/~Trash". */
static bool untrashed(const char *path, char *out, size_t size)
{
    size_t t = strlen(ZP_TRASH);
    if (path[0] != '/' || strncmp(path + 1, ZP_TRASH, t) || path[1 + t] != '/')
        return false;
    snprintf(out, size, "%s", path + 1 + t);
    return true;
}

void zp_op_restore_folder(zp_req *r)
{
    char from[ZP_PATH_MAX], to[ZP_PATH_MAX];
    if (!request_folder(r, "id", from, sizeof(from)))
        return;
    if (!untrashed(from, to, sizeof(to))) {
        zp_send_error(r->c, r->msgid,
                      "Can not restore this folder: %s as it is not in trash folder", from);
        return;
    }
    move_folder(r, from, to);
}

void zp_op_remove_folder(zp_req *r)
{
    char folder[ZP_PATH_MAX];
    if (request_folder(r, "id", folder, sizeof(folder)))
        remove_folder(r, folder, true);
}

void zp_op_empty_trash(zp_req *r)
{
    remove_folder(r, "/" ZP_TRASH, false);
}

/* Every note in the trash the user may restore back where it was;
 * refused before anything moves when one of them would land on a taken
 * path. */
void zp_op_restore_all(zp_req *r)
{
    char to[ZP_PATH_MAX];
    const char *trash = "/" ZP_TRASH;
    unsigned total = 0, done = 0;
    for (const zp_note *n = G.notes; n; n = n->next)
        total += mine(r, n, trash) && zp_may(r, n, r->need) && untrashed(n->path, to, sizeof(to));
    for (const zp_note *n = G.notes; n; n = n->next) {
        if (!mine(r, n, trash) || !zp_may(r, n, r->need) || !untrashed(n->path, to, sizeof(to)))
            continue;
        const zp_note *other = zp_note_at(to, NULL);
        if (other && !(mine(r, other, trash) && zp_may(r, other, r->need))) {
            zp_send_error(r->c, r->msgid, "Fail to restore all: Note '%s' existed", to);
            return;
        }
    }
    if (!total) {
        zp_notes_info_all();
        return;
    }
    for (zp_note *n = G.notes; n; n = n->next) {
        if (!mine(r, n, trash) || !zp_may(r, n, r->need) || !untrashed(n->path, to, sizeof(to)))
            continue;
        zp_ack *a = zp_ack_new(r, n);
        if (++done == total)
            zp_ack_notes_info(a);
        if (zp_note_set_path(n, to) < 0) {
            zp_send_error(r->c, r->msgid, "Out of memory");
            return;
        }
        zp_note_save(n, a);
    }
}
