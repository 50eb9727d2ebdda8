/* runnel-sql: the datasets of the environment directory, loaded into
 * SQLite tables when a statement names them. */
#include "lenses_sql.h"

/* ------------------------------------------------------------ datasets */

dataset tables[MAX_TABLES];
size_t ntables;

source sources[MAX_TABLES];
size_t nsources;

/* The datasets the statement being prepared reads (NULL: something else). */
dataset *stmt_reads[16];
size_t nstmt_reads;
bool stmt_reads_other;

sqlite3 *db;
bool loading;          /* our own set-up: the authorizer lets it through */
char deny_reason[256]; /* why the authorizer refused, for the ERROR */
int64_t badrecords_total;
int64_t results;       /* RECORD frames written */
uint64_t record_bytes; /* their bytes */
uint64_t start_ms, last_stats_ms;
bool interrupted_time;
int64_t scanned_done; /* full-scan steps of finished statements */
sqlite3_stmt *cur_stmt;

void make_uuid(char out_uuid[37])
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

dataset *find_table(const char *name)
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
int scan_datasets(void)
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

char *read_file(const char *path, size_t *len)
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

void sql_qid(buf *b, const char *s)
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
int load_named(const char *sql, size_t len)
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

int attach_databases(void)
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
