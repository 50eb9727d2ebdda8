/* runnel-sql's parts (lenses_sql_*.c): the output buffer and frames, the
 * datasets, the query (authorizer, stats, records, statements) and main.
 * Internal to runnel-sql, which runs inside the sandbox. */
#ifndef RUNNEL_LENSES_SQL_H
#define RUNNEL_LENSES_SQL_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lenses_sqltext.h"

#define MAX_TABLES       256
#define MAX_STATEMENTS   64
#define MAX_BADRECORDS   1000
#define OUT_FLUSH_BYTES  (32 * 1024)
#define OUT_FLUSH_MS     20
#define PROGRESS_OPS     20000
#define MAX_SQL_BYTES    (1024 * 1024)
#define MAX_DATASET_SIZE (1024LL * 1024 * 1024)

typedef struct {
    char *data;
    size_t len, cap;
} buf;

typedef enum { DS_SQLITE, DS_JSONL, DS_CSV } ds_kind;

typedef struct {
    char name[128]; /* table (or attached schema) name */
    char path[4096];
    ds_kind kind;
    bool loaded, topic;
    int64_t rows;
    int64_t bytes;
    char uuid[37];
    int64_t *bad; /* line offsets of bad records, reported after METADATA */
    size_t nbad;
    int64_t bad_total;
} dataset;

/* A source read by a statement (for STATS). */
typedef struct {
    char name[128];
    char uuid[37];
    dataset *ds; /* NULL for a table of an attached database */
    int64_t rows, bytes;
} source;

typedef enum { RUN_OK, RUN_STOP, RUN_ERROR } run_status;

/* The command line. */
typedef struct {
    const char *data_dir;
    const char *sql_file;
    uint64_t max_rows, max_bytes, max_time_ms, stats_ms, memory_bytes, max_record_bytes;
    const char *id;
    int64_t started_at;
    bool live;
} lsql_options;

extern buf out;               /* bytes waiting for stdout */
extern buf rec;               /* the record being built */
extern uint64_t out_first_ms; /* when the oldest waiting byte was added */
extern dataset tables[MAX_TABLES];
extern size_t ntables;
extern source sources[MAX_TABLES];
extern size_t nsources;
extern dataset *stmt_reads[16];
extern size_t nstmt_reads;
extern bool stmt_reads_other;
extern sqlite3 *db;
extern bool loading;          /* our own set-up: the authorizer lets it through */
extern char deny_reason[256]; /* why the authorizer refused, for the ERROR */
extern int64_t badrecords_total;
extern int64_t results;       /* RECORD frames written */
extern uint64_t record_bytes; /* their bytes */
extern uint64_t start_ms, last_stats_ms;
extern bool interrupted_time;
extern int64_t scanned_done; /* full-scan steps of finished statements */
extern sqlite3_stmt *cur_stmt;
extern lsql_options opt;

/* Milliseconds on the monotonic clock. */
uint64_t mono_ms(void);

/* Milliseconds since the epoch. */
int64_t epoch_ms(void);

/* Write an ERROR frame for running out of memory and exit 1. */
void die_oom(void);

/* Make room for n more bytes (exits on out of memory). */
void b_grow(buf *b, size_t n);

/* Append n bytes. */
void b_add(buf *b, const char *s, size_t n);

/* Append a C string. */
void b_str(buf *b, const char *s);

/* Append formatted text. */
void b_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON string; bytes >= 0x80 pass through (runneld repairs bad UTF-8). */
void b_jstr(buf *b, const char *s, size_t n);

/* A C string as a JSON string. */
void b_jcstr(buf *b, const char *s);

/* A decimal integer. */
void b_int(buf *b, int64_t v);

/* The shortest text that reads back as the same double. */
void b_double(buf *b, double d);

/* Write every waiting byte to stdout now. */
void out_flush(void);

/* Queue one finished frame line; flushed when enough is waiting or the
 * oldest byte has waited long enough (records stream, they are not held). */
void out_frame(const char *s, size_t n, bool urgent);

/* An ERROR frame with msg, written at once. */
void emit_error(const char *msg);

/* A random version-4 UUID, as Lenses' ids look. */
void make_uuid(char out_uuid[37]);

/* The dataset of a table name, or NULL. */
dataset *find_table(const char *name);

/* Find the datasets of the directory (sorted, so names clash predictably:
 * the first file of a stem wins). */
int scan_datasets(void);

/* A whole file, NUL-terminated (malloc'd), bounded by MAX_DATASET_SIZE; NULL on error. */
char *read_file(const char *path, size_t *len);

/* s as a quoted SQL identifier. */
void sql_qid(buf *b, const char *s);

/* Load the not yet loaded tables that the statement names. */
int load_named(const char *sql, size_t len);

/* Attach the directory's SQLite files read-only under their stems. */
int attach_databases(void);

/* SQLite's authorizer: reads of the datasets only. */
int authorize(void *ud, int action, const char *a1, const char *a2, const char *a3, const char *a4);

/* A STATS frame with the figures so far. */
void emit_stats(void);

/* SQLite's progress handler: stats and the time limit. */
int on_progress(void *ud);

/* Prepare and run one statement, writing its frames. */
run_status run_statement(const char *text, size_t len, int index);

#endif
