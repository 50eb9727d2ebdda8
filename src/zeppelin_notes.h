/* Zeppelin notes in memory and in Zeppelin's own note format: notes with a
 * path ("/team/demo"), their paragraphs, and the .zpln JSON that Zeppelin
 * 0.10/0.11 reads and writes (GsonNoteParser: paragraphs, name, id,
 * defaultInterpreterGroup, version, noteParams, noteForms, angularObjects,
 * config, info, path). The same writer makes the wire's note and paragraph
 * objects, which differ only in their date format.
 *
 * Nothing here knows of connections or jobs: the envelope hangs its run
 * state on the paragraphs (run, pending) and its watchers on the notes. */
#ifndef RUNNEL_ZEPPELIN_NOTES_H
#define RUNNEL_ZEPPELIN_NOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jbuf.h"

#define ZP_ID_MAX         128   /* note and paragraph ids */
#define ZP_USER_MAX       64    /* principal shown as the paragraph's user */
#define ZP_TITLE_MAX      1024  /* paragraph titles */
#define ZP_JSON_MAX       65536 /* a paragraph's config or params, serialized */
#define ZP_PARA_FIXED     1024  /* bytes counted per paragraph besides its strings */
#define ZP_PATH_MAX       1024  /* a note's path, "/folder/name" */
#define ZP_NAME_MAX       255   /* the last part of a path, as Zeppelin limits it */
#define ZP_DEPTH_MAX      16    /* folders in a path (the store reads that deep) */
#define ZP_TRASH          "~Trash"
#define ZP_FORMAT_VERSION "0.11.2" /* the Zeppelin version whose format is written */

typedef struct zp_note zp_note;
typedef struct zp_para zp_para;
struct zp_run;
struct zp_pending;
struct zp_runall;
struct zp_perms;
struct rn_conn;

struct zp_para {
    zp_para *next;
    zp_note *note;
    char *id, *job_name, *text, *title, *user;
    size_t text_len;
    cJSON *config, *params;
    size_t config_len, params_len;
    cJSON *results; /* results as read from a file, until the next run */
    size_t results_len;
    int64_t created, updated, started, finished; /* epoch ms; 0 = not set */
    const char *status;                          /* a static string */
    int progress;
    bool has_results, success;
    rn_jbuf out;
    bool out_cut;
    char notice[320];
    struct zp_run *run;         /* the envelope's */
    struct zp_pending *pending; /* the envelope's */
    size_t bytes;               /* counted in the note and in zp_notes_bytes() */
};

struct zp_note {
    zp_note *next, *prev; /* the envelope's list */
    char *id;
    char *path;  /* "/folder/name" */
    char *file;  /* its file under the notebook directory; NULL until saved */
    bool loaded; /* paragraphs and the JSON objects below are in memory */
    zp_para *paras, *tail;
    unsigned nparas;
    size_t bytes;                                              /* of its paragraphs */
    cJSON *config, *note_params, *note_forms, *info, *angular; /* kept as read */
    char group[64];         /* defaultInterpreterGroup ("" = the configured default) */
    struct zp_perms *perms; /* owners, readers, ...; NULL = open to all; kept when unloaded */
    /* the envelope's */
    struct rn_conn **watchers;
    unsigned nwatchers;
    unsigned active; /* runs and pending runs */
    unsigned saving; /* writes queued for this note */
    bool dirty;      /* the last write failed: memory holds what the file lacks */
    uint64_t used_ms;
    struct zp_runall *runall;
    /* a shared store (zeppelin_shared.h): the version this node has, as
     * the store dates it (0 = none), and the save that sent it */
    int64_t shared_ms;
    uint64_t shared_seq;
    bool in_shared; /* the store has had it: its absence there is a deletion */
};

/* How a note or paragraph is written: for a file (dates as
 * "yyyy-MM-dd HH:mm:ss.SSS", no partial output) or for the wire (dates as
 * "yyyy-MM-dd'T'HH:mm:ssZ"; a snapshot shows a running paragraph's output
 * so far as INCOMPLETE results). */
typedef struct {
    bool file;
    bool snapshot;
    uint64_t progress_ms;      /* progressUpdateIntervalMs */
    const char *default_group; /* defaultInterpreterGroup when the note has none */
} zp_write_opts;

/* Limits a parsed note must fit in. */
typedef struct {
    unsigned max_paragraphs;
    uint64_t max_bytes;
    uint64_t text_bytes; /* one paragraph's text */
} zp_note_limits;

/* Bytes of every paragraph in memory (the store's budget). */
uint64_t zp_notes_bytes(void);

/* Whether s is 1 to ZP_ID_MAX characters with no control character. */
bool zp_valid_id(const char *s);

/* A new note id as Zeppelin makes them (9 of [0-9A-Z], "2A94M5J1Z"). */
void zp_note_id_new(char out[10]);

/* A new, empty note (not loaded: call zp_note_set_loaded); -ENOMEM. */
int zp_note_new(const char *id, const char *path, zp_note **out);

/* Mark a note loaded with empty contents (no paragraphs, empty objects). */
int zp_note_set_loaded(zp_note *n);

/* Free the paragraphs and JSON objects (the note stays, not loaded).
 * Paragraphs must have no run or pending run. */
void zp_note_unload(zp_note *n);

/* Free the note and all it holds, its permissions too (the envelope
 * unlinks it first). */
void zp_note_free(zp_note *n);

/* Replace a note's path (copied); -ENOMEM. */
int zp_note_set_path(zp_note *n, const char *path);

/* Whether the note is in the trash folder. */
bool zp_note_in_trash(const zp_note *n);

/* A new paragraph with id (NULL: a new "paragraph_<ms>_<n>" id), READY and
 * empty, in no note; -ENOMEM. */
int zp_para_new(const char *id, zp_para **out);

/* Free a paragraph that is in no note (its run and pending must be gone). */
void zp_para_free(zp_para *p);

/* Insert p into n at index (clamped to the end). */
void zp_note_insert(zp_note *n, zp_para *p, unsigned index);

/* Take p out of its note (not freed). */
void zp_note_unlink(zp_note *n, zp_para *p);

/* The paragraph's index in its note, or -1. */
int zp_para_index(const zp_note *n, const zp_para *p);

/* The paragraph with this id in n, or NULL. */
zp_para *zp_note_para(const zp_note *n, const char *id);

/* Recount a paragraph's bytes after a change. */
void zp_para_account(zp_para *p);

/* Copy the text (len bytes, NUL added); -ENOMEM. */
int zp_para_set_text(zp_para *p, const char *text, size_t len);

/* Forget the last run's results and dates. */
void zp_para_clear_results(zp_para *p);

/* Copy src's text, title, config, params and last results into dst. */
int zp_para_copy(zp_para *dst, const zp_para *src);

/* Set *dst to a copy of the object src (merged into *dst when merge);
 * -E2BIG past ZP_JSON_MAX serialized, -ENOMEM. */
int zp_json_set(cJSON **dst, size_t *len, const cJSON *src, bool merge);

/* Write a paragraph object as Zeppelin serializes it. */
void zp_para_write(rn_jbuf *b, const zp_para *p, const zp_write_opts *o);

/* Write a note object (the .zpln content, or the wire's "note"). A file
 * also gets the note's "permissions" when it has them (zeppelin_perm.h). */
void zp_note_write(rn_jbuf *b, const zp_note *n, const zp_write_opts *o);

/* Fill a loaded-to-be note from a parsed .zpln object: its paragraphs,
 * texts, configs, statuses and results. A paragraph left PENDING or
 * RUNNING becomes ABORT. -EINVAL (why says what) when it is not a Zeppelin
 * note, -E2BIG past a limit, -ENOMEM. */
int zp_note_fill(zp_note *n, const cJSON *root, const zp_note_limits *lim, char *why, size_t size);

/* Parse .zpln text into a new loaded note with the id and path that its
 * file name gives (Zeppelin takes them from the name, not the content),
 * and its "permissions" (none: NULL, open to all; bad ones: -EINVAL).
 * zp_note_fill alone never reads permissions: an imported note's are not
 * the importer's to give. */
int zp_note_parse(const char *json, size_t len, const char *id, const char *path,
                  const zp_note_limits *lim, zp_note **out, char *why, size_t size);

/* Normalize a note path as Zeppelin does: blank is "/Untitled Note", a
 * leading '/' is added, CR and LF become spaces; a path ending in '/',
 * containing "..", "//" or control characters, whose name or a folder
 * is over 255 bytes, or with over 16 folders is refused (-EINVAL, why says
 * which). */
int zp_path_normalize(const char *in, char *out, size_t size, char *why, size_t wsize);

/* Append " yyyy-MM-dd HH:mm:ss" (now, local time) to path, as Zeppelin
 * names a note or folder moved to the trash where that name is taken. */
void zp_path_add_time(char *path, size_t size);

/* The note's file name under the notebook directory: path without its
 * leading '/', then "_" id ".zpln" ("team/demo_2A94M5J1Z.zpln"). */
int zp_note_file_name(const char *id, const char *path, char *out, size_t size);

/* Split a file name as Zeppelin reads it: the id after the last '_', the
 * path before it. -EINVAL when it is not one. */
int zp_file_name_split(const char *rel, char *id, size_t idsize, char *path, size_t psize);

/* Milliseconds since the epoch of a date in one of Zeppelin's note
 * formats ("2021-05-17 09:20:13.528", "2019-03-08T16:29:16+0800",
 * "Mar 8, 2019 4:29:16 PM"), local time unless it has a zone; -1 when it
 * is none of them. */
int64_t zp_parse_date(const char *s);

/* Format ms as a note file's date, "2021-05-17 09:20:13.528". */
void zp_format_file_date(int64_t ms, char *buf, size_t size);

#endif
