/* Unit tests for src/store.c and its backends: open and migrate, WAL and
 * synchronous=FULL, operations on the loop, typed values, a failed
 * transaction rolled back, a corrupt file moved aside, a schema newer than
 * the program, retention by count and age with cascades, and a write
 * acknowledged just before SIGKILL found after it.
 *
 * With RUNNEL_TEST_PG set to a PostgreSQL URI (tests/pg/run_unit.sh), the
 * same tests run on the PostgreSQL backend (each test starts from an empty
 * database; the SQLite file checks are left out), plus the ones of that
 * backend: a connection killed under the store is made again, and nodes
 * opening together migrate once. */
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <uv.h>

#include "log.h"
#include "store.h"

static char root[] = "/tmp/runnel-store-test-XXXXXX";
static char dbpath[1024];
static const char *pg; /* the PostgreSQL URI, or NULL for SQLite */
static const char *bytes_type = "BLOB";

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Run sql on a connection of the test's own (PostgreSQL only). */
static int pg_exec(const char *sql)
{
    PGconn *c = PQconnectdb(pg);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQclear(PQexec(c, "SET client_min_messages = warning"));
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "pg_exec: %s", PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

static void remove_db(void)
{
    if (pg) {
        CHECK_INT(pg_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
        return;
    }
    char p[300];
    unlink(dbpath);
    snprintf(p, sizeof(p), "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", dbpath);
    unlink(p);
}

static rn_store *open_store(uv_loop_t *loop, uint64_t count, uint64_t age_ms)
{
    rn_store_options o = {.path = dbpath, .retention_count = count, .retention_ms = age_ms};
    rn_store *s = NULL;
    int r = rn_store_open(loop, &o, &s);
    CHECK_INT(r, 0);
    return s;
}

/* The first cell of a one-statement query, as text. */
static void query1(rn_store *s, const char *sql, char *buf, size_t size)
{
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, sql);
    rn_store_result *res = NULL;
    buf[0] = 0;
    if (rn_store_run_sync(s, op, &res) == 0) {
        const rn_store_value *v = rn_store_cell(res, 0, 0, 0);
        if (v && v->type == RN_STORE_INT)
            snprintf(buf, size, "%lld", (long long)v->i);
        else
            snprintf(buf, size, "%s", rn_store_cell_text(res, 0, 0, 0, NULL));
    }
    rn_store_result_free(res);
}

static int insert_task(rn_store *s, int64_t id, int finished, int64_t updated_ms)
{
    char eid[32];
    snprintf(eid, sizeof(eid), "exec%lld", (long long)id);
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op,
                    "INSERT INTO linkis_task (task_id, exec_id, instance, um_user, "
                    "execute_user, engine_type, run_type, creator, language, code, status, "
                    "finished, nstages, stage, created_ms, updated_ms) VALUES ($1, $2, 'h:1', "
                    "'u', 'u', 'python', 'python', 'IDE', 'python3', 'print(1)', 'Succeed', $3, "
                    "2, 1, $4, $4)");
    rn_store_op_int(op, id);
    rn_store_op_text(op, eid);
    rn_store_op_int(op, finished);
    rn_store_op_int(op, updated_ms);
    rn_store_op_sql(op, "INSERT INTO linkis_log (task_id, line, level, text) VALUES ($1, 0, 2, "
                        "'a line')");
    rn_store_op_int(op, id);
    return rn_store_run_sync(s, op, NULL);
}

static void test_open_pragmas(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    CHECK_INT(rn_store_schema_version(s), 3);
    CHECK_STR(rn_store_corrupt_path(s), "");
    CHECK(rn_store_shared(s) == (pg != NULL));
    char buf[64];
    if (!pg) {
        query1(s, "PRAGMA journal_mode", buf, sizeof(buf));
        CHECK_STR(buf, "wal");
        query1(s, "PRAGMA synchronous", buf, sizeof(buf));
        CHECK_STR(buf, "2"); /* FULL */
        query1(s, "PRAGMA foreign_keys", buf, sizeof(buf));
        CHECK_STR(buf, "1");
    }
    query1(s, "SELECT description FROM schema_version WHERE version = 1", buf, sizeof(buf));
    CHECK_STR(buf, "Linkis tasks, their log lines and result sets");
    rn_store_close(s);
    /* Reopening applies nothing new and keeps the data. */
    s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    query1(s, "SELECT COUNT(*) FROM schema_version", buf, sizeof(buf));
    CHECK_STR(buf, "3");
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

typedef struct {
    int calls;
    int err;
    int64_t i;
    char text[64];
    size_t blob_len;
    unsigned char blob[8];
    int null_type;
    double d;
} async_seen;

static void on_done(int err, const rn_store_result *res, void *ud)
{
    async_seen *a = ud;
    a->calls++;
    a->err = err;
    if (err || rn_store_rows(res, 1) != 1)
        return;
    a->i = rn_store_cell_int(res, 1, 0, 0);
    snprintf(a->text, sizeof(a->text), "%s", rn_store_cell_text(res, 1, 0, 1, NULL));
    size_t n;
    const char *b = rn_store_cell_text(res, 1, 0, 2, &n);
    a->blob_len = n;
    memcpy(a->blob, b, n < sizeof(a->blob) ? n : sizeof(a->blob));
    a->null_type = (int)rn_store_cell(res, 1, 0, 3)->type;
    a->d = rn_store_cell(res, 1, 0, 4)->d;
}

static void on_keep(uv_timer_t *t)
{
    (void)t;
}

static void test_async_values(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    rn_store_op *op = rn_store_op_new();
    char create[100];
    snprintf(create, sizeof(create),
             "CREATE TABLE t (i BIGINT, s TEXT, b %s, n TEXT, d DOUBLE "
             "PRECISION)",
             bytes_type);
    rn_store_op_sql(op, create);
    rn_store_op_sql(op, "INSERT INTO t VALUES ($1, $2, $3, $4, $5)");
    rn_store_op_int(op, -9007199254740993LL);
    rn_store_op_text(op, "héllo");
    rn_store_op_blob(op, "a\0b", 3);
    rn_store_op_null(op);
    rn_store_op_real(op, 2.5);
    async_seen a = {0};
    CHECK_INT(rn_store_submit(s, op, on_done, &a), 0);
    CHECK_INT(a.calls, 0); /* never from inside submit */
    op = rn_store_op_new();
    rn_store_op_sql(op, "SELECT 1");
    rn_store_op_sql(op, "SELECT i, s, b, n, d FROM t");
    async_seen b = {0};
    CHECK_INT(rn_store_submit(s, op, on_done, &b), 0);
    /* The store's handles never keep a loop alive: a server's do. */
    uv_timer_t keep;
    uv_timer_init(&loop, &keep);
    uv_timer_start(&keep, on_keep, 1, 1);
    for (int i = 0; i < 2000 && (a.calls == 0 || b.calls == 0); i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    uv_close((uv_handle_t *)&keep, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_INT(a.calls, 1);
    CHECK_INT(a.err, 0);
    CHECK_INT(b.calls, 1);
    CHECK_INT(b.err, 0);
    CHECK_INT(b.i, -9007199254740993LL);
    CHECK_STR(b.text, "héllo");
    CHECK_INT(b.blob_len, 3);
    CHECK(memcmp(b.blob, "a\0b", 3) == 0);
    CHECK_INT(b.null_type, RN_STORE_NULL);
    CHECK(b.d == 2.5);

    /* A failed statement rolls back the whole operation. */
    op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO t (i) VALUES (7)");
    rn_store_op_sql(op,
                    "INSERT INTO linkis_log (task_id, line, level, text) VALUES (1, 0, 0, 'x')");
    CHECK_INT(rn_store_run_sync(s, op, NULL), -EEXIST); /* foreign key */
    char buf[32];
    query1(s, "SELECT COUNT(*) FROM t WHERE i = 7", buf, sizeof(buf));
    CHECK_STR(buf, "0");
    /* Bad SQL is -EIO; an op that ran out of memory building is -ENOMEM. */
    op = rn_store_op_new();
    rn_store_op_sql(op, "SELEKT 1");
    CHECK_INT(rn_store_run_sync(s, op, NULL), -EIO);
    op = rn_store_op_new();
    rn_store_op_int(op, 1); /* a parameter before any statement */
    CHECK_INT(rn_store_submit(s, op, on_done, &a), -ENOMEM);
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* Callbacks of work still queued at close run during close. */
static void test_close_finishes_queue(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    async_seen a[20];
    memset(a, 0, sizeof(a));
    for (int i = 0; i < 20; i++)
        CHECK_INT(insert_task(s, 1000 + i, 1, 1) == 0 ? 0 : 1, 0);
    for (int i = 0; i < 20; i++) {
        rn_store_op *op = rn_store_op_new();
        rn_store_op_sql(op, "UPDATE linkis_task SET status = 'Failed' WHERE task_id = $1");
        rn_store_op_int(op, 1000 + i);
        CHECK_INT(rn_store_submit(s, op, on_done, &a[i]), 0);
    }
    rn_store_close(s);
    int calls = 0;
    for (int i = 0; i < 20; i++)
        calls += a[i].calls;
    CHECK_INT(calls, 20);
    s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    char buf[32];
    query1(s, "SELECT COUNT(*) FROM linkis_task WHERE status = 'Failed'", buf, sizeof(buf));
    CHECK_STR(buf, "20");
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static void test_corrupt_moved_aside(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    FILE *f = fopen(dbpath, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 4096; i++)
        fputc("not a database "[i % 15], f);
    fclose(f);
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    const char *aside = rn_store_corrupt_path(s);
    CHECK(strncmp(aside, dbpath, strlen(dbpath)) == 0);
    CHECK(strstr(aside, ".corrupt-") != NULL);
    CHECK(exists(aside));
    f = fopen(aside, "r");
    char head[16] = "";
    if (f) {
        CHECK_INT(fread(head, 1, 15, f), 15);
        fclose(f);
    }
    CHECK_STR(head, "not a database ");
    CHECK_INT(insert_task(s, 1, 1, 1), 0); /* the fresh one works */
    char moved[300];
    snprintf(moved, sizeof(moved), "%s", aside);
    rn_store_close(s);
    unlink(moved);

    /* A database whose pages are damaged is caught too. */
    remove_db();
    s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    for (int i = 0; i < 200; i++)
        insert_task(s, 10 + i, 1, 1);
    rn_store_close(s);
    f = fopen(dbpath, "r+");
    REQUIRE(f != NULL);
    fseek(f, 4096 * 2, SEEK_SET); /* past the header page */
    for (int i = 0; i < 4096 * 3; i++)
        fputc(0xA5, f);
    fclose(f);
    s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    CHECK(rn_store_corrupt_path(s)[0] != 0);
    char buf[32];
    query1(s, "SELECT COUNT(*) FROM linkis_task", buf, sizeof(buf));
    CHECK_STR(buf, "0");
    snprintf(moved, sizeof(moved), "%s", rn_store_corrupt_path(s));
    rn_store_close(s);
    unlink(moved);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static void test_newer_schema_refused(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "INSERT INTO schema_version VALUES (99, 'from the future', 0)");
    CHECK_INT(rn_store_run_sync(s, op, NULL), 0);
    rn_store_close(s);
    rn_store_options o = {.path = dbpath};
    s = NULL;
    CHECK_INT(rn_store_open(&loop, &o, &s), -EPROTO);
    CHECK(s == NULL);
    if (!pg)
        CHECK(exists(dbpath)); /* not treated as corrupt */
    CHECK_INT(uv_loop_close(&loop), 0);
}

static const char retention_sql[] =
    "DELETE FROM linkis_task WHERE finished = 1 AND (updated_ms < $1 OR task_id <= (SELECT "
    "task_id FROM linkis_task WHERE finished = 1 ORDER BY task_id DESC LIMIT 1 OFFSET $2))";

static void test_retention(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    int64_t now = rn_store_now_ms();
    /* Count bound 3, age bound 1 hour. */
    rn_store *s = open_store(&loop, 3, 3600 * 1000);
    REQUIRE(s != NULL);
    CHECK_INT(rn_store_add_retention(s, retention_sql), 0);
    for (int i = 1; i <= 6; i++)
        CHECK_INT(insert_task(s, i, 1, now - 1000), 0);
    CHECK_INT(insert_task(s, 7, 1, now - 7200 * 1000), 0); /* too old */
    CHECK_INT(insert_task(s, 8, 0, now - 7200 * 1000), 0); /* running: kept */
    CHECK_INT(insert_task(s, 9, 1, now), 0);
    CHECK_INT(rn_store_prune_now(s), 0);
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "SELECT task_id FROM linkis_task ORDER BY task_id");
    rn_store_op_sql(op, "SELECT COUNT(*) FROM linkis_log");
    rn_store_result *res = NULL;
    CHECK_INT(rn_store_run_sync(s, op, &res), 0);
    /* The newest three finished are 9, 7, 6, and 7 is too old; the running
     * 8 stays whatever its age. */
    CHECK_INT(rn_store_rows(res, 0), 3);
    CHECK_INT(rn_store_cell_int(res, 0, 0, 0), 6);
    CHECK_INT(rn_store_cell_int(res, 0, 1, 0), 8);
    CHECK_INT(rn_store_cell_int(res, 0, 2, 0), 9);
    CHECK_INT(rn_store_cell_int(res, 1, 0, 0), 3); /* log lines went with their tasks */
    rn_store_result_free(res);
    rn_store_close(s);

    /* No bounds: nothing goes. */
    s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    CHECK_INT(rn_store_add_retention(s, retention_sql), 0);
    CHECK_INT(rn_store_prune_now(s), 0);
    char buf[32];
    query1(s, "SELECT COUNT(*) FROM linkis_task", buf, sizeof(buf));
    CHECK_STR(buf, "3");
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static int ack_fd = -1;

static void on_ack(int err, const rn_store_result *res, void *ud)
{
    (void)res;
    (void)ud;
    char c = err == 0 ? 'k' : 'e';
    if (write(ack_fd, &c, 1) != 1)
        _exit(3);
    pause(); /* wait for the SIGKILL */
}

/* A write whose callback ran survives a SIGKILL right after it. */
static void test_ack_survives_sigkill(void)
{
    remove_db();
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        ack_fd = p[1];
        uv_loop_t loop;
        uv_loop_init(&loop);
        rn_store_options o = {.path = dbpath};
        rn_store *s = NULL;
        if (rn_store_open(&loop, &o, &s) < 0)
            _exit(2);
        rn_store_op *op = rn_store_op_new();
        rn_store_op_sql(op, "INSERT INTO linkis_task (task_id, exec_id, instance, um_user, "
                            "execute_user, engine_type, run_type, creator, language, code, "
                            "status, nstages, stage, created_ms, updated_ms) VALUES (42, 'e42', "
                            "'h', 'u', 'u', 'e', 'r', 'c', 'l', 'x', 'Succeed', 2, 1, 1, 1)");
        rn_store_submit(s, op, on_ack, NULL);
        uv_timer_t keep;
        uv_timer_init(&loop, &keep);
        uv_timer_start(&keep, on_keep, 1, 1);
        for (;;) {
            uv_run(&loop, UV_RUN_NOWAIT);
            usleep(200);
        }
    }
    close(p[1]);
    char c = 0;
    CHECK_INT(read(p[0], &c, 1), 1);
    CHECK_INT(c, 'k');
    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    close(p[0]);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    CHECK_STR(rn_store_corrupt_path(s), "");
    char buf[32];
    query1(s, "SELECT status FROM linkis_task WHERE task_id = 42", buf, sizeof(buf));
    CHECK_STR(buf, "Succeed");
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* The store's connection killed by the server: the next operation makes a
 * new one and runs; nothing is lost. */
static void test_pg_reconnect(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    remove_db();
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    CHECK_INT(insert_task(s, 1, 1, 1), 0);
    CHECK_INT(pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                      "application_name = 'runneld'"),
              0);
    CHECK_INT(insert_task(s, 2, 1, 1), 0);
    char buf[32];
    query1(s, "SELECT COUNT(*) FROM linkis_task", buf, sizeof(buf));
    CHECK_STR(buf, "2");
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static void *open_one(void *arg)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    rn_store_options o = {.path = dbpath};
    rn_store *s = NULL;
    *(int *)arg = rn_store_open(&loop, &o, &s);
    rn_store_close(s);
    uv_loop_close(&loop);
    return NULL;
}

/* Four nodes opening an empty database at once: the migrations run once
 * (each version recorded once, no error from a table made twice). */
static void test_pg_migrate_once(void)
{
    remove_db();
    pthread_t t[4];
    int r[4] = {1, 1, 1, 1};
    for (int i = 0; i < 4; i++)
        REQUIRE(pthread_create(&t[i], NULL, open_one, &r[i]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(r[i], 0);
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    rn_store *s = open_store(&loop, 0, 0);
    REQUIRE(s != NULL);
    char buf[32];
    query1(s, "SELECT COUNT(*) FROM schema_version", buf, sizeof(buf));
    CHECK_STR(buf, "3");
    rn_store_close(s);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* A server that is not there: the open fails, it does not hang. */
static void test_pg_unreachable(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    rn_store_options o = {.path = "postgresql://runnel@127.0.0.1:1/runnel"};
    rn_store *s = NULL;
    CHECK_INT(rn_store_open(&loop, &o, &s), -ECONNREFUSED);
    CHECK(s == NULL);
    CHECK_INT(uv_loop_close(&loop), 0);
}

int main(void)
{
    rn_log_set_level(getenv("RUNNEL_TEST_LOG") ? RN_LOG_DEBUG : RN_LOG_ERROR);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/runnel.db", root);
    if ((pg = getenv("RUNNEL_TEST_PG")) && *pg) {
        snprintf(dbpath, sizeof(dbpath), "%s", pg);
        bytes_type = "BYTEA";
    } else {
        pg = NULL;
    }
    RUN_TEST(test_open_pragmas);
    RUN_TEST(test_async_values);
    RUN_TEST(test_close_finishes_queue);
    if (!pg)
        RUN_TEST(test_corrupt_moved_aside);
    RUN_TEST(test_newer_schema_refused);
    RUN_TEST(test_retention);
    RUN_TEST(test_ack_survives_sigkill);
    if (pg) {
        RUN_TEST(test_pg_reconnect);
        RUN_TEST(test_pg_migrate_once);
        RUN_TEST(test_pg_unreachable);
    }
    remove_db();
    rmdir(root);
    return check_report();
}
