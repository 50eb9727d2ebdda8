/* runnel-sql: the Lenses SQL envelope's query runner. runneld starts it in
 * the sandbox with one environment's dataset directory bound read-only; it
 * runs the SQL with SQLite and writes one Lenses frame per line on stdout.
 *
 *   runnel-sql --data DIR --sql FILE [--max-rows N] [--max-bytes N]
 *              [--max-time-ms N] [--stats-ms N] [--id ID] [--started-at MS]
 *              [--live] [--memory-bytes N] [--max-record-bytes N]
 *
 * Datasets: *.db / *.sqlite / *.sqlite3 are attached read-only (immutable)
 * under their file stem; *.jsonl / *.ndjson / *.json (JSON lines) and *.csv
 * become in-memory tables named by their stem, loaded when a statement
 * names them. JSON lines whose objects hold key / value / metadata are
 * Kafka-style topics: columns _key and _value (JSON text), one column per
 * top-level value field, and _meta_<field> for each metadata field.
 *
 * Lines written (each a complete frame): METADATA, RECORD, BADRECORD,
 * STATS, SENTINEL, ERROR. runneld adds HEARTBEAT and END. Exit status 0
 * when the query ran (or a limit stopped it), 1 after an ERROR line, 2 on
 * bad arguments. */
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

/* ------------------------------------------------------------ options */

static struct {
    const char *data_dir;
    const char *sql_file;
    uint64_t max_rows, max_bytes, max_time_ms, stats_ms, memory_bytes, max_record_bytes;
    const char *id;
    int64_t started_at;
    bool live;
} opt = {.max_rows = 10000, .max_bytes = 20 << 20, .max_time_ms = 30000, .id = ""};

/* ------------------------------------------------------------ output */

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static buf out;               /* bytes waiting for stdout */
static buf rec;               /* the record being built */
static uint64_t out_first_ms; /* when the oldest waiting byte was added */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die_oom(void)
{
    static const char msg[] = "{\"type\":\"ERROR\",\"data\":\"out of memory\"}\n";
    if (write(1, msg, sizeof(msg) - 1) < 0) {
        /* nothing else to do */
    }
    _exit(1);
}

static void b_grow(buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        die_oom();
    b->data = d;
    b->cap = cap;
}

static void b_add(buf *b, const char *s, size_t n)
{
    b_grow(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void b_str(buf *b, const char *s)
{
    b_add(b, s, strlen(s));
}

static void b_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b_grow(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A JSON string; bytes >= 0x80 pass through (runneld repairs bad UTF-8). */
static void b_jstr(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    b_grow(b, n + 2);
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        b_add(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        b_add(b, esc, k);
    }
    b_add(b, s + run, n - run);
    b_add(b, "\"", 1);
}

static void b_jcstr(buf *b, const char *s)
{
    b_jstr(b, s, strlen(s));
}

static void b_int(buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    b_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* The shortest text that reads back as the same double. */
static void b_double(buf *b, double d)
{
    if (!isfinite(d)) {
        b_str(b, "null");
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    b_str(b, tmp);
    /* keep it a float on the wire: 2.0, not 2 */
    if (!strpbrk(tmp, ".eEn"))
        b_str(b, ".0");
}

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            _exit(3); /* runneld went away */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void out_flush(void)
{
    if (out.len)
        write_all(out.data, out.len);
    out.len = 0;
}

/* Queue one finished frame line; flushed when enough is waiting or the
 * oldest byte has waited long enough (records stream, they are not held). */
static void out_frame(const char *s, size_t n, bool urgent)
{
    if (!out.len)
        out_first_ms = mono_ms();
    b_add(&out, s, n);
    if (urgent || out.len >= OUT_FLUSH_BYTES || mono_ms() - out_first_ms >= OUT_FLUSH_MS)
        out_flush();
}

static void emit_error(const char *msg)
{
    buf f = {0};
    b_str(&f, "{\"type\":\"ERROR\",\"data\":");
    b_jcstr(&f, msg);
    b_str(&f, "}\n");
    out_frame(f.data, f.len, true);
    free(f.data);
}

/* ------------------------------------------------------------ datasets */

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

static dataset tables[MAX_TABLES];
static size_t ntables;

/* A source read by a statement (for STATS). */
typedef struct {
    char name[128];
    char uuid[37];
    dataset *ds; /* NULL for a table of an attached database */
    int64_t rows, bytes;
} source;

static source sources[MAX_TABLES];
static size_t nsources;

/* The datasets the statement being prepared reads (NULL: something else). */
static dataset *stmt_reads[16];
static size_t nstmt_reads;
static bool stmt_reads_other;

static sqlite3 *db;
static bool loading;          /* our own set-up: the authorizer lets it through */
static char deny_reason[256]; /* why the authorizer refused, for the ERROR */
static int64_t badrecords_total;
static int64_t results;       /* RECORD frames written */
static uint64_t record_bytes; /* their bytes */
static uint64_t start_ms, last_stats_ms;
static bool interrupted_time;
static int64_t scanned_done; /* full-scan steps of finished statements */
static sqlite3_stmt *cur_stmt;

static void make_uuid(char out_uuid[37])
{
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t x = (uint64_t)epoch_ms() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)out_uuid;
        for (int i = 0; i < 16; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            r[i] = (unsigned char)(x >> 56);
        }
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out_uuid, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

static bool valid_table_name(const char *s)
{
    if (!*s || strlen(s) >= 128 || isdigit((unsigned char)*s) || !strncasecmp(s, "sqlite_", 7))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static dataset *find_table(const char *name)
{
    for (size_t i = 0; i < ntables; i++)
        if (!strcasecmp(tables[i].name, name))
            return &tables[i];
    return NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Find the datasets of the directory (sorted, so names clash predictably:
 * the first file of a stem wins). */
static int scan_datasets(void)
{
    DIR *d = opendir(opt.data_dir);
    if (!d)
        return -errno;
    char *names[MAX_TABLES * 4];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
        if (e->d_name[0] == '.')
            continue;
        if (!(names[n] = strdup(e->d_name))) {
            closedir(d);
            die_oom();
        }
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    for (size_t i = 0; i < n; i++) {
        char *dot = strrchr(names[i], '.');
        ds_kind kind;
        if (!dot)
            goto next;
        if (!strcasecmp(dot, ".db") || !strcasecmp(dot, ".sqlite") ||
            !strcasecmp(dot, ".sqlite3") || !strcasecmp(dot, ".db3"))
            kind = DS_SQLITE;
        else if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson") ||
                 !strcasecmp(dot, ".json"))
            kind = DS_JSONL;
        else if (!strcasecmp(dot, ".csv"))
            kind = DS_CSV;
        else
            goto next;
        *dot = 0;
        if (!valid_table_name(names[i]) || find_table(names[i]) || ntables == MAX_TABLES)
            goto next;
        dataset *t = &tables[ntables];
        memset(t, 0, sizeof(*t));
        snprintf(t->name, sizeof(t->name), "%s", names[i]);
        *dot = '.';
        if (snprintf(t->path, sizeof(t->path), "%s/%s", opt.data_dir, names[i]) >=
            (int)sizeof(t->path))
            goto next;
        struct stat st;
        if (stat(t->path, &st) < 0 || !S_ISREG(st.st_mode))
            goto next;
        t->kind = kind;
        t->bytes = (int64_t)st.st_size;
        make_uuid(t->uuid);
        ntables++;
    next:
        free(names[i]);
    }
    return 0;
}

static int exec_sql(const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "loading datasets: %s", err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        emit_error(msg);
        return -EIO;
    }
    return 0;
}

static void bad_add(dataset *t, int64_t offset)
{
    t->bad_total++;
    badrecords_total++;
    if (t->nbad >= MAX_BADRECORDS)
        return;
    if (t->nbad % 64 == 0) {
        int64_t *nb = realloc(t->bad, (t->nbad + 64) * sizeof(*nb));
        if (!nb)
            die_oom();
        t->bad = nb;
    }
    t->bad[t->nbad++] = offset;
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > MAX_DATASET_SIZE) {
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *data = malloc(cap);
    if (!data) {
        close(fd);
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) {
            break;
        }
        ssize_t r = read(fd, data + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    data[n] = 0;
    *len = n;
    return data;
}

/* A column's declared type from the JSON types seen in it. */
static const char *decl_for(const char *types)
{
    bool json = true, boolean = true, any = false;
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", types ? types : "");
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "null"))
            continue;
        any = true;
        if (strcmp(tok, "object") && strcmp(tok, "array"))
            json = false;
        if (strcmp(tok, "true") && strcmp(tok, "false"))
            boolean = false;
    }
    if (any && json)
        return "TEXT JSON";
    if (any && boolean)
        return "BOOLEAN";
    return "";
}

static void sql_qid(buf *b, const char *s)
{
    b_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            b_add(b, "\"", 1);
        b_add(b, s, 1);
    }
    b_add(b, "\"", 1);
}

/* The field names (and types seen) under path of the raw lines, in order
 * of first appearance; returns a prepared statement to step. */
static sqlite3_stmt *fields_of(const char *path)
{
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT j.key, group_concat(DISTINCT j.type) FROM temp.rn_raw r, "
                    "json_each(r.line, ?1) j WHERE j.key IS NOT NULL "
                    "GROUP BY j.key ORDER BY min(r.n), min(j.id)";
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    return st;
}

static bool field_ok(const char *name)
{
    if (!*name || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"')
            return false;
    return true;
}

static int load_jsonl(dataset *t, const char *text, size_t len)
{
    sqlite3_stmt *ins = NULL, *st = NULL;
    buf create = {0}, insert = {0};
    int err = -EIO;
    if (exec_sql("CREATE TEMP TABLE rn_raw(n INTEGER PRIMARY KEY, line TEXT)") < 0)
        return -EIO;
    if (sqlite3_prepare_v2(db, "INSERT INTO temp.rn_raw(n, line) VALUES(?1, ?2)", -1, &ins, NULL) !=
        SQLITE_OK)
        goto out;
    int64_t lineno = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len, s = i;
        i = e + 1;
        while (s < e && isspace((unsigned char)text[s]))
            s++;
        size_t ee = e;
        while (ee > s && isspace((unsigned char)text[ee - 1]))
            ee--;
        if (s == ee)
            continue;
        sqlite3_bind_int64(ins, 1, lineno++);
        sqlite3_bind_text(ins, 2, text + s, (int)(ee - s), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            goto out;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    ins = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT n FROM temp.rn_raw WHERE NOT json_valid(line) "
                           "OR json_type(line) <> 'object' ORDER BY n",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW)
        bad_add(t, sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    st = NULL;
    if (exec_sql("DELETE FROM temp.rn_raw WHERE NOT json_valid(line) OR "
                 "json_type(line) <> 'object'") < 0)
        goto out;
    /* A topic: every object has a value and nothing but key/value/metadata/headers. */
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), sum(json_type(line, '$.value') IS NOT NULL AND "
                           "NOT EXISTS (SELECT 1 FROM json_each(line) WHERE key NOT IN "
                           "('key','value','metadata','headers'))) FROM temp.rn_raw",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto out;
    t->topic = sqlite3_column_int64(st, 0) > 0 &&
               sqlite3_column_int64(st, 0) == sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    st = NULL;

    b_str(&create, "CREATE TABLE main.");
    sql_qid(&create, t->name);
    b_str(&create, "(");
    b_str(&insert, "INSERT INTO main.");
    sql_qid(&insert, t->name);
    b_str(&insert, " SELECT ");
    bool first = true;
    if (t->topic) {
        b_str(&create, "\"_key\" TEXT JSON, \"_value\" TEXT JSON");
        b_str(&insert, "line -> '$.key', line -> '$.value'");
        first = false;
    }
    const char *groups[2] = {t->topic ? "$.value" : "$", t->topic ? "$.metadata" : NULL};
    for (int g = 0; g < 2 && groups[g]; g++) {
        if (!(st = fields_of(groups[g])))
            goto out;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            const char *types = (const char *)sqlite3_column_text(st, 1);
            if (!name || !field_ok(name))
                continue;
            char col[256];
            snprintf(col, sizeof(col), "%s%s", g ? "_meta_" : "", name);
            if (!strcasecmp(col, "_key") || !strcasecmp(col, "_value") ||
                (!g && t->topic && !strncasecmp(col, "_meta_", 6)))
                continue;
            if (!first) {
                b_str(&create, ", ");
                b_str(&insert, ", ");
            }
            first = false;
            sql_qid(&create, col);
            b_str(&create, " ");
            b_str(&create, decl_for(types));
            buf path = {0};
            b_printf(&path, "%s.\"%s\"", groups[g], name);
            b_str(&insert, "line ->> ");
            b_str(&insert, "'");
            for (size_t k = 0; k < path.len; k++) {
                if (path.data[k] == '\'')
                    b_add(&insert, "'", 1);
                b_add(&insert, path.data + k, 1);
            }
            b_str(&insert, "'");
            free(path.data);
        }
        sqlite3_finalize(st);
        st = NULL;
        if (rc != SQLITE_DONE)
            goto out;
    }
    if (first) {
        b_str(&create, "\"_line\" TEXT JSON");
        b_str(&insert, "line");
    }
    b_str(&create, ")");
    b_str(&insert, " FROM temp.rn_raw ORDER BY n");
    b_add(&create, "", 1);
    b_add(&insert, "", 1);
    if (exec_sql(create.data) < 0 || exec_sql(insert.data) < 0)
        goto out;
    err = 0;
out:
    if (err < 0 && !sqlite3_errcode(db))
        emit_error("loading datasets: cannot read a JSON-lines file");
    else if (err < 0 && ins)
        emit_error(sqlite3_errmsg(db));
    sqlite3_finalize(ins);
    sqlite3_finalize(st);
    free(create.data);
    free(insert.data);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.rn_raw", NULL, NULL, NULL);
    return err;
}

/* One CSV record starting at *pos: fields as (start, len, quoted) in place;
 * quoted fields are unescaped into scratch. Returns the field count, 0 at
 * the end. */
typedef struct {
    char *s;
    size_t len;
    bool quoted;
} csv_field;

static size_t csv_record(char *text, size_t len, size_t *pos, csv_field *f, size_t max,
                         bool *too_many)
{
    size_t i = *pos, n = 0;
    *too_many = false;
    if (i >= len)
        return 0;
    for (;;) {
        csv_field cur = {text + i, 0, false};
        if (i < len && text[i] == '"') {
            cur.quoted = true;
            size_t w = i + 1, r = i + 1;
            cur.s = text + w;
            while (r < len) {
                if (text[r] == '"') {
                    if (r + 1 < len && text[r + 1] == '"') {
                        text[w++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                text[w++] = text[r++];
            }
            cur.len = (size_t)(text + w - cur.s);
            i = r;
            while (i < len && text[i] != ',' && text[i] != '\n')
                i++;
        } else {
            while (i < len && text[i] != ',' && text[i] != '\n')
                i++;
            cur.len = (size_t)(text + i - cur.s);
            if (cur.len && cur.s[cur.len - 1] == '\r')
                cur.len--;
        }
        if (n < max)
            f[n++] = cur;
        else
            *too_many = true;
        if (i < len && text[i] == ',') {
            i++;
            continue;
        }
        if (i < len)
            i++; /* the newline */
        break;
    }
    *pos = i;
    return n;
}

static void bind_csv_value(sqlite3_stmt *st, int idx, const csv_field *f)
{
    char tmp[64];
    if (!f->len && !f->quoted) {
        sqlite3_bind_null(st, idx);
        return;
    }
    if (!f->quoted && f->len < sizeof(tmp)) {
        memcpy(tmp, f->s, f->len);
        tmp[f->len] = 0;
        char *end;
        const char *p = tmp[0] == '-' ? tmp + 1 : tmp;
        bool digits = *p != 0;
        for (const char *q = p; *q && digits; q++)
            digits = isdigit((unsigned char)*q);
        if (digits && !(p[0] == '0' && p[1])) {
            errno = 0;
            long long v = strtoll(tmp, &end, 10);
            if (!errno && !*end) {
                sqlite3_bind_int64(st, idx, v);
                return;
            }
        }
        bool numeric = strspn(tmp, "0123456789+-.eE") == f->len && strpbrk(tmp, "0123456789");
        if (numeric) {
            double d = strtod(tmp, &end);
            if (!*end && isfinite(d)) {
                sqlite3_bind_double(st, idx, d);
                return;
            }
        }
    }
    sqlite3_bind_text(st, idx, f->s, (int)f->len, SQLITE_STATIC);
}

static int load_csv(dataset *t, char *text, size_t len)
{
    enum { MAXCOLS = 512 };
    csv_field *hdr = calloc(MAXCOLS, sizeof(*hdr)), *f = calloc(MAXCOLS, sizeof(*f));
    char **names = calloc(MAXCOLS, sizeof(*names));
    buf create = {0}, insert = {0};
    sqlite3_stmt *ins = NULL;
    int err = -EIO;
    bool too_many;
    size_t pos = 0, ncols;
    if (!hdr || !f || !names)
        die_oom();
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        pos = 3;
    ncols = csv_record(text, len, &pos, hdr, MAXCOLS, &too_many);
    if (!ncols) {
        ncols = 1;
        hdr[0] = (csv_field){"_empty", 6, false};
    }
    b_str(&create, "CREATE TABLE main.");
    sql_qid(&create, t->name);
    b_str(&create, "(");
    b_str(&insert, "INSERT INTO main.");
    sql_qid(&insert, t->name);
    b_str(&insert, " VALUES(");
    for (size_t i = 0; i < ncols; i++) {
        char name[256];
        size_t n = hdr[i].len < 200 ? hdr[i].len : 200;
        memcpy(name, hdr[i].s, n);
        name[n] = 0;
        if (!n || !field_ok(name))
            snprintf(name, sizeof(name), "c%zu", i + 1);
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(names[j], name))
                snprintf(name, sizeof(name), "c%zu", i + 1);
        if (!(names[i] = strdup(name)))
            die_oom();
        if (i) {
            b_str(&create, ", ");
            b_str(&insert, ", ");
        }
        sql_qid(&create, name);
        b_str(&insert, "?");
    }
    b_str(&create, ")");
    b_str(&insert, ")");
    b_add(&create, "", 1);
    b_add(&insert, "", 1);
    if (exec_sql(create.data) < 0)
        goto out;
    if (sqlite3_prepare_v2(db, insert.data, -1, &ins, NULL) != SQLITE_OK)
        goto out;
    int64_t row = 0;
    for (;;) {
        size_t n = csv_record(text, len, &pos, f, MAXCOLS, &too_many);
        if (!n)
            break;
        if (n == 1 && !f[0].len && !f[0].quoted)
            continue; /* blank line */
        int64_t offset = row++;
        if (n != ncols || too_many) {
            bad_add(t, offset);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            bind_csv_value(ins, (int)i + 1, &f[i]);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            emit_error(sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(ins);
    }
    err = 0;
out:
    sqlite3_finalize(ins);
    for (size_t i = 0; i < MAXCOLS; i++)
        free(names[i]);
    free(names);
    free(hdr);
    free(f);
    free(create.data);
    free(insert.data);
    return err;
}

static int load_table(dataset *t)
{
    size_t len;
    int err;
    t->loaded = true;
    char *text = read_file(t->path, &len);
    if (!text) {
        char msg[300];
        snprintf(msg, sizeof(msg), "cannot read dataset %s", t->name);
        emit_error(msg);
        return -EIO;
    }
    loading = true;
    exec_sql("SAVEPOINT rn_load");
    err = t->kind == DS_CSV ? load_csv(t, text, len) : load_jsonl(t, text, len);
    exec_sql("RELEASE rn_load");
    free(text);
    if (!err) {
        buf q = {0};
        sqlite3_stmt *st;
        b_str(&q, "SELECT count(*) FROM main.");
        sql_qid(&q, t->name);
        b_add(&q, "", 1);
        if (sqlite3_prepare_v2(db, q.data, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            t->rows = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        free(q.data);
    }
    loading = false;
    return err;
}

/* Load the not yet loaded tables that the statement names. */
static int load_named(const char *sql, size_t len)
{
    ls_tok *tok;
    size_t nt, bad;
    if (ls_tokenize(sql, len, &tok, &nt, &bad) < 0)
        return 0; /* SQLite reports the syntax error */
    int err = 0;
    for (size_t i = 0; i < nt && !err; i++) {
        char name[128];
        if ((tok[i].type != LS_TOK_ID && tok[i].type != LS_TOK_QID) ||
            !ls_ident(sql, &tok[i], name, sizeof(name)))
            continue;
        dataset *t = find_table(name);
        if (t && t->kind != DS_SQLITE && !t->loaded)
            err = load_table(t);
    }
    free(tok);
    return err;
}

static int attach_databases(void)
{
    int attached = 0;
    for (size_t i = 0; i < ntables; i++) {
        dataset *t = &tables[i];
        if (t->kind != DS_SQLITE)
            continue;
        if (attached == sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1)) {
            fprintf(stderr, "runnel-sql: too many database files, %s skipped\n", t->path);
            continue;
        }
        buf q = {0};
        char *uri = sqlite3_mprintf("file:%s?mode=ro&immutable=1", t->path);
        if (!uri)
            die_oom();
        b_str(&q, "ATTACH ");
        char *lit = sqlite3_mprintf("%Q", uri);
        b_str(&q, lit ? lit : "''");
        sqlite3_free(lit);
        sqlite3_free(uri);
        b_str(&q, " AS ");
        sql_qid(&q, t->name);
        b_add(&q, "", 1);
        loading = true;
        int rc = sqlite3_exec(db, q.data, NULL, NULL, NULL);
        loading = false;
        free(q.data);
        if (rc != SQLITE_OK) {
            fprintf(stderr, "runnel-sql: cannot open %s: %s\n", t->path, sqlite3_errmsg(db));
            continue;
        }
        t->loaded = true;
        attached++;
    }
    return 0;
}

/* ------------------------------------------------------------ authorizer */

static void note_read(const char *table, const char *schema)
{

    dataset *t = table && schema && !strcmp(schema, "main") ? find_table(table) : NULL;
    if (!t || t->kind == DS_SQLITE) {
        stmt_reads_other = true;
        return;
    }
    for (size_t i = 0; i < nstmt_reads; i++)
        if (stmt_reads[i] == t)
            return;
    if (nstmt_reads < sizeof(stmt_reads) / sizeof(stmt_reads[0]))
        stmt_reads[nstmt_reads++] = t;
    else
        stmt_reads_other = true;
}

static void note_source(const char *table, const char *schema)
{
    note_read(table, schema);
    if (!table || !strncasecmp(table, "sqlite_", 7) || !strncmp(table, "rn_", 3))
        return;
    for (size_t i = 0; i < nsources; i++)
        if (!strcasecmp(sources[i].name, table))
            return;
    if (nsources == MAX_TABLES)
        return;
    source *s = &sources[nsources];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", table);
    dataset *t = NULL;
    if (schema && !strcmp(schema, "main"))
        t = find_table(table);
    else if (schema)
        t = find_table(schema);
    if (t && t->kind != DS_SQLITE) {
        s->ds = t;
        memcpy(s->uuid, t->uuid, sizeof(s->uuid));
        s->rows = t->rows;
        s->bytes = t->bytes;
    } else {
        if (!t && schema && strcmp(schema, "main") && strcmp(schema, "temp"))
            return;
        if (!t)
            return; /* views, json_each and friends */
        make_uuid(s->uuid);
        s->rows = -1;
        s->bytes = t->bytes;
    }
    nsources++;
}

static int deny(const char *fmt, const char *what)
{
    snprintf(deny_reason, sizeof(deny_reason), fmt, what ? what : "");
    return SQLITE_DENY;
}

static int authorize(void *ud, int action, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    (void)ud;
    (void)a4;
    if (loading)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_READ:
        note_source(a1, a3);
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (a2 && (!strcasecmp(a2, "load_extension") || !strcasecmp(a2, "fts3_tokenizer") ||
                   !strcasecmp(a2, "readfile") || !strcasecmp(a2, "writefile") ||
                   !strcasecmp(a2, "edit")))
            return deny("function %s() is not allowed", a2);
        return SQLITE_OK;
    case SQLITE_PRAGMA: {
        static const char *const ok[] = {
            "table_info",     "table_xinfo",   "table_list",       "index_list",
            "index_info",     "index_xinfo",   "foreign_key_list", "database_list",
            "collation_list", "function_list", "module_list",      "pragma_list",
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
            if (a1 && !strcasecmp(a1, ok[i]))
                return SQLITE_OK;
        return deny("PRAGMA %s is not allowed: datasets are read-only", a1);
    }
    case SQLITE_ATTACH:
        return deny("ATTACH is not allowed%s", ": datasets are read-only");
    case SQLITE_DETACH:
        return deny("DETACH is not allowed%s", ": datasets are read-only");
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        return deny("writing table %s is not allowed: datasets are read-only", a1);
    default:
        return deny("this statement is not allowed%s: datasets are read-only (SELECT only)", "");
    }
}

/* ------------------------------------------------------------ stats */

static int64_t scanned_now(void)
{
    int64_t s = scanned_done;
    if (cur_stmt)
        s += sqlite3_stmt_status(cur_stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
    return s > results ? s : results;
}

static void emit_stats(void)
{
    buf f = {0};
    int64_t bytes = 0;
    for (size_t i = 0; i < nsources; i++)
        bytes += sources[i].bytes;
    int64_t now = epoch_ms(), started = opt.started_at;
    b_str(&f, "{\"type\":\"STATS\",\"data\":{\"id\":");
    b_jcstr(&f, opt.id);
    b_printf(&f, ",\"bytesRead\":%" PRId64 ",\"sources\":{", bytes);
    for (size_t i = 0; i < nsources; i++) {
        b_str(&f, i ? "," : "");
        b_jcstr(&f, sources[i].uuid);
        b_str(&f, ":");
        b_jcstr(&f, sources[i].name);
    }
    b_str(&f, "},\"sourceConfigs\":{");
    for (size_t i = 0; i < nsources; i++) {
        b_str(&f, i ? "," : "");
        b_jcstr(&f, sources[i].uuid);
        b_printf(&f,
                 ":{\"live.aggs\":%s,\"format.timestamp\":true,\"show.bad.records\":true,"
                 "\"max.query.time\":%" PRIu64 ",\"max.size\":%" PRIu64 ",\"max.records\":%" PRIu64
                 "}",
                 opt.live ? "true" : "false", opt.max_time_ms, opt.max_bytes, opt.max_rows);
    }
    b_str(&f, "},\"sourcesStats\":{");
    for (size_t i = 0; i < nsources; i++) {
        source *s = &sources[i];
        int64_t last = s->rows > 0 ? s->rows - 1 : 0;
        b_str(&f, i ? "," : "");
        b_jcstr(&f, s->uuid);
        b_printf(&f,
                 ":{\"0\":{\"begin\":0,\"offsetBound\":%" PRId64 ",\"bytesRead\":%" PRId64
                 ",\"recordsScanned\":%" PRId64 ",\"end\":%" PRId64 "}}",
                 last, s->bytes, s->rows > 0 ? s->rows : 0, last);
    }
    b_printf(&f,
             "},\"badRecordsTotal\":%" PRId64 ",\"recordsSkipped\":0,\"results\":%" PRId64
             ",\"recordsScanned\":%" PRId64 ",\"duration\":%" PRId64 ",\"startedAt\":%" PRId64
             "}}\n",
             badrecords_total, results, scanned_now(), now - started, started);
    out_frame(f.data, f.len, true);
    free(f.data);
    last_stats_ms = mono_ms();
}

static void maybe_stats(void)
{
    if (opt.stats_ms && mono_ms() - last_stats_ms >= opt.stats_ms)
        emit_stats();
}

static void emit_sentinel(const char *type, uint64_t amount)
{
    buf f = {0};
    const char *src = nsources ? sources[0].name : "";
    const char *sid = nsources ? sources[0].uuid : "";
    b_str(&f, "{\"type\":\"SENTINEL\",\"data\":{\"event\":\"QUERY_LIMIT_REACHED\",\"reason\":{");
    b_str(&f, "\"type\":");
    b_jcstr(&f, type);
    if (!strcmp(type, "max.query.time"))
        b_printf(&f, ",\"timeout\":%" PRIu64, opt.max_time_ms);
    b_str(&f, ",\"source\":");
    b_jcstr(&f, src);
    b_str(&f, ",\"sourceId\":");
    b_jcstr(&f, sid);
    b_printf(&f, ",\"amount\":%" PRIu64 "}}}\n", amount);
    out_frame(f.data, f.len, true);
    free(f.data);
}

static int on_progress(void *ud)
{
    (void)ud;
    uint64_t now = mono_ms();
    if (opt.max_time_ms && now - start_ms >= opt.max_time_ms) {
        interrupted_time = true;
        return 1;
    }
    if (out.len && now - out_first_ms >= OUT_FLUSH_MS)
        out_flush();
    maybe_stats();
    return 0;
}

/* ------------------------------------------------------------ records */

typedef enum {
    COL_VALUE, /* value.<name> */
    COL_KEY,   /* data.key (SELECT * on a topic) */
    COL_WHOLE, /* data.value is this column's JSON (SELECT * on a topic) */
    COL_META,  /* metadata.<name> */
    COL_SKIP,  /* a field already inside the whole value */
} col_role;

typedef struct {
    col_role role;
    char *name;   /* wire name */
    bool json;    /* TEXT that is our own JSON: written raw */
    bool boolean; /* 0/1 written as false/true */
    bool timestamp;
} col_plan;

static void plan_free(col_plan *p, int n)
{
    for (int i = 0; i < n; i++)
        free(p[i].name);
    free(p);
}

static bool is_our_table(const char *dbname, const char *table)
{
    if (!dbname || strcmp(dbname, "main") || !table)
        return false;
    dataset *t = find_table(table);
    return t && t->kind != DS_SQLITE;
}

static col_plan *make_plan(sqlite3_stmt *st, const ls_alias *al, size_t nal, int *nmeta)
{
    int n = sqlite3_column_count(st);
    col_plan *p = calloc((size_t)(n ? n : 1), sizeof(*p));
    if (!p)
        die_oom();
    bool whole = false;
    const char *whole_table = NULL;
    for (int i = 0; i < n; i++) {
        const char *origin = sqlite3_column_origin_name(st, i);
        const char *table = sqlite3_column_table_name(st, i);
        const char *dbn = sqlite3_column_database_name(st, i);
        const char *name = sqlite3_column_name(st, i);
        if (origin && !strcmp(origin, "_value") && name && !strcmp(name, "_value") &&
            is_our_table(dbn, table) && !whole) {
            whole = true;
            whole_table = table;
        }
    }
    *nmeta = 0;
    for (int i = 0; i < n; i++) {
        const char *origin = sqlite3_column_origin_name(st, i);
        const char *table = sqlite3_column_table_name(st, i);
        const char *dbn = sqlite3_column_database_name(st, i);
        const char *name = sqlite3_column_name(st, i);
        const char *decl = sqlite3_column_decltype(st, i);
        bool ours = is_our_table(dbn, table);
        const char *wire = name ? name : "";
        for (size_t k = 0; k < nal; k++)
            if (name && !strcmp(al[k].expr, name))
                wire = al[k].name;
        char fname[64];
        if (!origin && wire == name && name) {
            /* "count(*)" is "count" on the wire, as Lenses names it */
            size_t k = 0;
            while (k < sizeof(fname) - 1 && (isalnum((unsigned char)name[k]) || name[k] == '_'))
                k++;
            if (k && name[k] == '(' && name[strlen(name) - 1] == ')') {
                memcpy(fname, name, k);
                fname[k] = 0;
                for (size_t j = 0; j < k; j++)
                    fname[j] = (char)tolower((unsigned char)fname[j]);
                wire = fname;
            }
        }
        col_role role = COL_VALUE;
        if (!strncmp(wire, "__rn_meta_", 10)) {
            role = COL_META;
            wire += 10;
        } else if (whole && ours && table && !strcmp(table, whole_table) && origin) {
            if (!strcmp(origin, "_value"))
                role = COL_WHOLE;
            else if (!strcmp(origin, "_key"))
                role = COL_KEY;
            else if (!strncmp(origin, "_meta_", 6)) {
                role = COL_META;
                wire = origin + 6;
            } else
                role = COL_SKIP;
        } else if (ours && origin && !strncmp(origin, "_meta_", 6) && !strcmp(wire, origin)) {
            wire = origin + 6;
        }
        p[i].role = role;
        if (!(p[i].name = strdup(wire)))
            die_oom();
        p[i].json = ours && decl && strstr(decl, "JSON");
        p[i].boolean = decl && !strcasecmp(decl, "BOOLEAN");
        p[i].timestamp = role == COL_META && !strcmp(wire, "timestamp");
        if (role == COL_META)
            (*nmeta)++;
    }
    return p;
}

static void put_value(buf *b, sqlite3_stmt *st, int i, const col_plan *c)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: {
        int64_t v = sqlite3_column_int64(st, i);
        if (c->boolean && (v == 0 || v == 1)) {
            b_str(b, v ? "true" : "false");
        } else if (c->timestamp && v > 0 && v < 253402300800000LL) {
            time_t secs = (time_t)(v / 1000);
            struct tm tm;
            char ts[96];
            gmtime_r(&secs, &tm);
            snprintf(ts, sizeof(ts), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(v % 1000));
            b_str(b, ts);
        } else {
            b_int(b, v);
        }
        break;
    }
    case SQLITE_FLOAT:
        b_double(b, sqlite3_column_double(st, i));
        break;
    case SQLITE_TEXT: {
        const char *s = (const char *)sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (c->json && n > 0)
            b_add(b, s, (size_t)n);
        else
            b_jstr(b, s ? s : "", (size_t)n);
        break;
    }
    case SQLITE_BLOB: {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *s = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        b_grow(b, (size_t)n * 2 + 2);
        b->data[b->len++] = '"';
        for (int k = 0; k < n; k++) {
            b->data[b->len++] = hex[s[k] >> 4];
            b->data[b->len++] = hex[s[k] & 15];
        }
        b->data[b->len++] = '"';
        break;
    }
    default:
        b_str(b, "null");
    }
}

static void emit_metadata(const col_plan *p, int n)
{
    buf f = {0};
    b_str(&f, "{\"type\":\"METADATA\",\"data\":{\"fields\":[");
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (p[i].role != COL_META)
            continue;
        b_str(&f, first ? "" : ",");
        b_jcstr(&f, p[i].name);
        first = false;
    }
    b_str(&f, "]}}\n");
    out_frame(f.data, f.len, true);
    free(f.data);
}

static void emit_badrecords(void)
{
    for (size_t i = 0; i < ntables; i++) {
        dataset *t = &tables[i];
        for (size_t k = 0; k < t->nbad; k++) {
            buf f = {0};
            b_printf(&f,
                     "{\"type\":\"BADRECORD\",\"data\":{\"metadata\":{\"offset\":%" PRId64
                     ",\"table\":",
                     t->bad[k]);
            b_jcstr(&f, t->name);
            b_str(&f, ",\"sourceId\":");
            b_jcstr(&f, t->uuid);
            b_str(&f, "}}}\n");
            out_frame(f.data, f.len, false);
            free(f.data);
        }
        free(t->bad);
        t->bad = NULL;
        t->nbad = 0;
    }
}

/* Build the RECORD line of the current row into rec. */
static void build_record(sqlite3_stmt *st, const col_plan *p, int n, int64_t rownum, int index)
{
    rec.len = 0;
    b_str(&rec, "{\"type\":\"RECORD\",\"data\":{");
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (p[i].role == COL_KEY && sqlite3_column_type(st, i) != SQLITE_NULL) {
            const char *s = (const char *)sqlite3_column_text(st, i);
            if (s && strcmp(s, "null")) {
                b_str(&rec, "\"key\":");
                put_value(&rec, st, i, &p[i]);
                any = true;
            }
        }
    }
    b_str(&rec, any ? ",\"value\":" : "\"value\":");
    int whole = -1;
    for (int i = 0; i < n; i++)
        if (p[i].role == COL_WHOLE)
            whole = i;
    if (whole >= 0) {
        put_value(&rec, st, whole, &p[whole]);
    } else {
        b_str(&rec, "{");
        bool first = true;
        for (int i = 0; i < n; i++) {
            if (p[i].role != COL_VALUE)
                continue;
            if (!first)
                b_add(&rec, ",", 1);
            first = false;
            b_jcstr(&rec, p[i].name);
            b_add(&rec, ":", 1);
            put_value(&rec, st, i, &p[i]);
        }
        b_str(&rec, "}");
    }
    bool meta = false;
    for (int i = 0; i < n; i++) {
        if (p[i].role != COL_META)
            continue;
        b_str(&rec, meta ? "," : ",\"metadata\":{");
        meta = true;
        b_jcstr(&rec, p[i].name);
        b_add(&rec, ":", 1);
        put_value(&rec, st, i, &p[i]);
    }
    if (meta)
        b_str(&rec, "}");
    b_str(&rec, ",\"rownum\":");
    b_int(&rec, rownum);
    b_str(&rec, "},\"statementIndex\":");
    b_int(&rec, index);
    b_str(&rec, "}\n");
}

/* ------------------------------------------------------------ statements */

/* Whether the statement aggregates (its program has Agg* opcodes). */
static bool aggregates(const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *q = sqlite3_mprintf("EXPLAIN %s", sql);
    bool agg = true;
    if (!q)
        die_oom();
    loading = true;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
        agg = false;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *opc = (const char *)sqlite3_column_text(st, 1);
            if (opc && !strncmp(opc, "Agg", 3)) {
                agg = true;
                break;
            }
        }
    }
    sqlite3_finalize(st);
    loading = false;
    sqlite3_free(q);
    return agg;
}

typedef enum { RUN_OK, RUN_STOP, RUN_ERROR } run_status;

static const char *err_text(int rc)
{
    if (rc == SQLITE_AUTH && deny_reason[0])
        return deny_reason;
    if (rc == SQLITE_NOMEM)
        return "out of memory";
    return sqlite3_errmsg(db);
}

static int prepare(const char *sql, size_t len, sqlite3_stmt **st)
{
    const char *tail = NULL;
    deny_reason[0] = 0;
    int rc = sqlite3_prepare_v3(db, sql, (int)len, 0, st, &tail);
    if (rc == SQLITE_OK && tail && strspn(tail, " \t\r\n") != strlen(tail)) {
        sqlite3_finalize(*st);
        *st = NULL;
        return SQLITE_ERROR;
    }
    return rc;
}

static run_status run_statement(const char *text, size_t len, int index)
{
    char *sql = NULL;
    size_t sqllen;
    ls_alias *al = NULL;
    size_t nal = 0;
    sqlite3_stmt *st = NULL;
    col_plan *plan = NULL;
    int ncols = 0, nmeta = 0;
    run_status status = RUN_ERROR;
    char msg[600];

    if (load_named(text, len) < 0)
        return RUN_ERROR;
    if (ls_rewrite(text, len, &sql, &sqllen, &al, &nal) < 0) {
        emit_error("out of memory");
        return RUN_ERROR;
    }
    nstmt_reads = 0;
    stmt_reads_other = false;
    int rc = prepare(sql, sqllen, &st);
    if (rc != SQLITE_OK || !st) {
        if (rc == SQLITE_OK)
            snprintf(msg, sizeof(msg), "statement %d: only one statement per ';'", index);
        else
            snprintf(msg, sizeof(msg), "%s", err_text(rc));
        emit_error(msg);
        goto out;
    }
    if (!sqlite3_stmt_readonly(st)) {
        emit_error("this statement is not allowed: datasets are read-only (SELECT only)");
        goto out;
    }
    /* Records of a plain (non-aggregating) query on one topic carry its
     * metadata, as Lenses does, even when the projection leaves it out. */
    {
        dataset *topic =
            nstmt_reads == 1 && !stmt_reads_other && stmt_reads[0]->topic ? stmt_reads[0] : NULL;
        bool has_meta = false;
        for (int i = 0; topic && i < sqlite3_column_count(st); i++) {
            const char *o = sqlite3_column_origin_name(st, i);
            if (o && (!strncmp(o, "_meta_", 6) || !strcmp(o, "_value")))
                has_meta = true;
        }
        long pos =
            topic && !has_meta && sqlite3_stmt_readonly(st) ? ls_select_list_pos(sql, sqllen) : -1;
        if (pos >= 0 && !aggregates(sql)) {
            sqlite3_stmt *cols = NULL;
            buf q = {0}, ins = {0};
            b_str(&q, "SELECT * FROM main.");
            sql_qid(&q, topic->name);
            b_str(&q, " LIMIT 0");
            b_add(&q, "", 1);
            loading = true;
            if (sqlite3_prepare_v2(db, q.data, -1, &cols, NULL) == SQLITE_OK) {
                for (int i = 0; i < sqlite3_column_count(cols); i++) {
                    const char *c = sqlite3_column_name(cols, i);
                    if (strncmp(c, "_meta_", 6))
                        continue;
                    b_str(&ins, " ");
                    sql_qid(&ins, c);
                    char alias[300];
                    snprintf(alias, sizeof(alias), "__rn_meta_%s", c + 6);
                    b_str(&ins, " AS ");
                    sql_qid(&ins, alias);
                    b_str(&ins, ",");
                }
            }
            sqlite3_finalize(cols);
            loading = false;
            if (ins.len) {
                buf nq = {0};
                b_add(&nq, sql, (size_t)pos);
                b_add(&nq, ins.data, ins.len);
                b_add(&nq, sql + pos, sqllen - (size_t)pos);
                b_add(&nq, "", 1);
                nq.len--;
                sqlite3_stmt *st2 = NULL;
                if (prepare(nq.data, nq.len, &st2) == SQLITE_OK && st2) {
                    sqlite3_finalize(st);
                    st = st2;
                } else {
                    sqlite3_finalize(st2);
                }
                free(nq.data);
            }
            free(q.data);
            free(ins.data);
        }
    }
    plan = make_plan(st, al, nal, &nmeta);
    ncols = sqlite3_column_count(st);
    emit_metadata(plan, ncols);
    emit_badrecords();
    cur_stmt = st;
    int64_t rownum = 0;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (opt.max_rows && (uint64_t)results >= opt.max_rows) {
            emit_sentinel("max.records", opt.max_rows);
            status = RUN_STOP;
            goto out;
        }
        build_record(st, plan, ncols, rownum++, index);
        if (opt.max_bytes && record_bytes + rec.len > opt.max_bytes) {
            emit_sentinel("max.size", opt.max_bytes);
            status = RUN_STOP;
            goto out;
        }
        record_bytes += rec.len;
        results++;
        out_frame(rec.data, rec.len, false);
        if (opt.max_time_ms && mono_ms() - start_ms >= opt.max_time_ms) {
            interrupted_time = true;
            rc = SQLITE_INTERRUPT;
            break;
        }
        if (opt.stats_ms)
            maybe_stats();
    }
    if (rc == SQLITE_DONE) {
        status = RUN_OK;
    } else if (interrupted_time) {
        emit_sentinel("max.query.time", opt.max_time_ms);
        status = RUN_STOP;
    } else {
        emit_error(err_text(rc));
    }
out:
    if (st) {
        scanned_done += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
        sqlite3_finalize(st);
    }
    cur_stmt = NULL;
    if (plan)
        plan_free(plan, ncols);
    ls_aliases_free(al, nal);
    free(sql);
    return status;
}

/* ------------------------------------------------------------ main */

static bool parse_u64(const char *s, uint64_t *out_v)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out_v = v;
    return true;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "runnel-sql: %s\nusage: runnel-sql --data DIR --sql FILE [--max-rows N] "
            "[--max-bytes N] [--max-time-ms N] [--stats-ms N] [--id ID] [--started-at MS] "
            "[--live] [--memory-bytes N] [--max-record-bytes N]\n",
            why);
    return 2;
}

int main(int argc, char **argv)
{
    start_ms = mono_ms();
    last_stats_ms = start_ms;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (!strcmp(a, "--live")) {
            opt.live = true;
            continue;
        }
        if (!v)
            return usage("missing value");
        i++;
        if (!strcmp(a, "--data"))
            opt.data_dir = v;
        else if (!strcmp(a, "--sql"))
            opt.sql_file = v;
        else if (!strcmp(a, "--id"))
            opt.id = v;
        else if (!parse_u64(v, &n))
            return usage("bad number");
        else if (!strcmp(a, "--max-rows"))
            opt.max_rows = n;
        else if (!strcmp(a, "--max-bytes"))
            opt.max_bytes = n;
        else if (!strcmp(a, "--max-time-ms"))
            opt.max_time_ms = n;
        else if (!strcmp(a, "--stats-ms"))
            opt.stats_ms = n;
        else if (!strcmp(a, "--started-at"))
            opt.started_at = (int64_t)n;
        else if (!strcmp(a, "--memory-bytes"))
            opt.memory_bytes = n;
        else if (!strcmp(a, "--max-record-bytes"))
            opt.max_record_bytes = n;
        else
            return usage("unknown option");
    }
    if (!opt.data_dir || !opt.sql_file)
        return usage("--data and --sql are required");
    if (!opt.started_at)
        opt.started_at = epoch_ms();
    size_t sqllen = 0;
    char *sqltext = read_file(opt.sql_file, &sqllen);
    if (!sqltext) {
        emit_error("cannot read the query");
        return 1;
    }
    int status = 1;
    if (sqllen > MAX_SQL_BYTES) {
        emit_error("query too large");
        goto done;
    }
    if (opt.memory_bytes)
        sqlite3_hard_heap_limit64((sqlite3_int64)(opt.memory_bytes / 4 * 3));
    int rc = sqlite3_open_v2(":memory:", &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        emit_error("cannot open SQLite");
        goto done;
    }
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 1, NULL);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES + 4096);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH,
                  opt.max_record_bytes && opt.max_record_bytes < 1000000000
                      ? (int)opt.max_record_bytes
                      : 16 * 1024 * 1024);
    sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, 200);
    sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, 100);
    sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
    sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 100);
    sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
    sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
    if (scan_datasets() < 0) {
        emit_error("cannot read the environment's datasets");
        goto done;
    }
    attach_databases();
    sqlite3_set_authorizer(db, authorize, NULL);
    sqlite3_progress_handler(db, PROGRESS_OPS, on_progress, NULL);

    size_t starts[MAX_STATEMENTS], lens[MAX_STATEMENTS], nst = 0;
    int err = ls_split(sqltext, sqllen, starts, lens, MAX_STATEMENTS, &nst);
    status = 0;
    if (err == -E2BIG) {
        emit_error("too many statements (at most 64)");
        status = 1;
    } else if (err < 0) {
        emit_error("unrecognized token: an unterminated string, identifier or comment");
        status = 1;
    } else if (nst == 0) {
        emit_error("empty query");
        status = 1;
    }
    for (size_t i = 0; !status && i < nst; i++) {
        run_status r = run_statement(sqltext + starts[i], lens[i], (int)i);
        if (r == RUN_ERROR)
            status = 1;
        if (r != RUN_OK)
            break;
    }
    if (opt.stats_ms)
        emit_stats();
done:
    out_flush();
    sqlite3_close(db);
    free(sqltext);
    free(out.data);
    free(rec.data);
    return status;
}
