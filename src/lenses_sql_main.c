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
#include "lenses_sql.h"

/* ------------------------------------------------------------ options */

lsql_options opt = {.max_rows = 10000, .max_bytes = 20 << 20, .max_time_ms = 30000, .id = ""};

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
