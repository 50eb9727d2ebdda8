/* Who may do what with a Zeppelin note, as Apache Zeppelin's notebook
 * authorization has it: four sets of user names, owners, readers, writers
 * and runners.
 *
 * - An empty set lets everyone in (Zeppelin's "*"): a note whose readers
 *   are [] is readable by all, whatever its owners.
 * - Owners may also write, run and read; writers may also run and read;
 *   runners may also read. So read = readers, owners, writers or runners;
 *   write = writers or owners; run = runners, writers or owners; own =
 *   owners. An admin (auth.admins) may do everything.
 * - A note with no permissions at all (NULL: written before runnel kept
 *   them, or by Zeppelin itself) is open to everyone.
 *
 * Names are bounded (ZP_PERM_*_MAX) since a client sets them. Pure: no
 * connections, no notes; zeppelin_notes.c keeps them in the .zpln file as
 * "permissions": {"owners": [...], "readers": [...], "writers": [...],
 * "runners": [...]}. */
#ifndef RUNNEL_ZEPPELIN_PERM_H
#define RUNNEL_ZEPPELIN_PERM_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jbuf.h"

#define ZP_PERM_NAME_MAX  128  /* bytes of one user name */
#define ZP_PERM_NAMES_MAX 64   /* names in one set */
#define ZP_PERM_BYTES_MAX 4096 /* bytes of every name of the four sets */

/* What an op needs. */
typedef enum {
    ZP_PERM_NONE,  /* nothing (the op names no existing note) */
    ZP_PERM_READ,  /* Zeppelin's READER */
    ZP_PERM_WRITE, /* WRITER */
    ZP_PERM_RUN,   /* RUNNER */
    ZP_PERM_OWN,   /* OWNER */
} zp_perm;

/* The four sets, in the order Zeppelin's REST answer lists them. */
typedef enum { ZP_READERS, ZP_OWNERS, ZP_WRITERS, ZP_RUNNERS, ZP_NSETS } zp_perm_set;

typedef struct {
    char **names;
    unsigned n;
} zp_names;

typedef struct zp_perms {
    zp_names set[ZP_NSETS];
} zp_perms;

/* The JSON key of a set ("readers", ...). */
const char *zp_perm_set_key(zp_perm_set s);

/* Zeppelin's name of a permission: "READER", "WRITER", "RUNNER", "OWNER". */
const char *zp_perm_name(zp_perm need);

/* A private note's permissions: user in all four sets (Zeppelin's
 * zeppelin.notebook.public = false); -ENOMEM. */
int zp_perms_private(const char *user, zp_perms **out);

/* A copy of p (NULL stays NULL); -ENOMEM. */
int zp_perms_dup(const zp_perms *p, zp_perms **out);

void zp_perms_free(zp_perms *p);

/* Whether user (admin: in auth.admins) may do need on a note with p. */
bool zp_perms_allow(const zp_perms *p, zp_perm need, const char *user, bool admin);

/* A set as Java prints a Set, "[a, b]" ("[]" for NULL). */
void zp_perms_names(const zp_perms *p, zp_perm_set s, char *out, size_t size);

/* The denial as Zeppelin's NotebookService words it: "Insufficient
 * privileges to READER note.\nAllowed users or roles: [a, b]\nBut the user
 * u belongs to: [u]" (the set named is the one of the permission). */
void zp_perms_denial(const zp_perms *p, zp_perm need, const char *user, char *out, size_t size);

/* {"readers":[...],"owners":[...],"writers":[...],"runners":[...]}; all
 * empty for NULL. */
void zp_perms_write(rn_jbuf *b, const zp_perms *p);

/* Read the four sets from an object (a missing or null key is an empty
 * set). Names are trimmed, blank ones skipped and repeats dropped, as
 * Zeppelin does. -EINVAL (why says which) when a set is not a list of
 * strings, a name is over ZP_PERM_NAME_MAX bytes or has a control
 * character, or the sets are over their bounds; -ENOMEM. */
int zp_perms_parse(const cJSON *obj, zp_perms **out, char *why, size_t size);

/* Zeppelin's completion of a PUT .../permissions by user: when readers
 * are given, an empty runners, writers or owners becomes [user]; when
 * runners are, an empty writers or owners; when writers are, an empty
 * owners. So a note made private stays the asker's. -ENOMEM. */
int zp_perms_complete(zp_perms *p, const char *user);

#endif
