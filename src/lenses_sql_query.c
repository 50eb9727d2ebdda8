/* runnel-sql: the authorizer, STATS and SENTINELs, RECORD frames, and
 * running the statements. */
#include "lenses_sql.h"

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

int authorize(void *ud, int action, const char *a1, const char *a2, const char *a3, const char *a4)
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

void emit_stats(void)
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

int on_progress(void *ud)
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

run_status run_statement(const char *text, size_t len, int index)
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
