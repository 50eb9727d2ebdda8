/* bench_store: milliseconds per small store operation (one INSERT of a
 * Linkis-sized row in its own transaction, acknowledged on the loop), on
 * the store named by the argument: a file for SQLite or a postgresql://
 * URI. Prints p50, p99 and the mean over N operations, one after another
 * (each waits for the previous one's acknowledgement, as a client's submit
 * does).
 *
 *   bench_store TARGET [N]   (tests/bench/README.md) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "log.h"
#include "store.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct {
    int done;
    int err;
} ack;

static void on_done(int err, const rn_store_result *res, void *ud)
{
    ack *a = ud;
    (void)res;
    a->done = 1;
    a->err = err;
}

static void on_keep(uv_timer_t *t)
{
    (void)t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_store TARGET [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 500;
    if (n < 1 || n > 1000000)
        n = 500;
    rn_log_set_level(RN_LOG_ERROR);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rn_store_options o = {.path = argv[1]};
    rn_store *s = NULL;
    int r = rn_store_open(&loop, &o, &s);
    if (r < 0) {
        fprintf(stderr, "bench_store: cannot open %s: %d\n", argv[1], r);
        return 1;
    }
    rn_store_op *op = rn_store_op_new();
    rn_store_op_sql(op, "DELETE FROM linkis_task WHERE exec_id LIKE 'bench-%'");
    rn_store_run_sync(s, op, NULL);
    /* The store's handles never keep a loop alive: this timer does, so
     * that UV_RUN_ONCE waits in the poll for the acknowledgement. */
    uv_timer_t keep;
    uv_timer_init(&loop, &keep);
    uv_timer_start(&keep, on_keep, 1000, 1000);
    double *t = calloc((size_t)n, sizeof(*t));
    int64_t base = 900000000 + (rn_store_now_ms() % 1000000) * 1000;
    for (int i = 0; i < n && t; i++) {
        char eid[40];
        snprintf(eid, sizeof(eid), "bench-%d", i);
        op = rn_store_op_new();
        rn_store_op_sql(op, "INSERT INTO linkis_task (task_id, exec_id, instance, um_user, "
                            "execute_user, engine_type, run_type, creator, language, code, "
                            "status, nstages, stage, created_ms, updated_ms) VALUES ($1, $2, "
                            "'bench:1', 'u', 'u', 'python', 'python', 'IDE', 'python3', "
                            "'print(1)', 'Inited', 2, 0, $3, $3)");
        rn_store_op_int(op, base + i);
        rn_store_op_text(op, eid);
        rn_store_op_int(op, rn_store_now_ms());
        ack a = {0};
        double t0 = now_ms();
        if (rn_store_submit(s, op, on_done, &a) < 0)
            break;
        while (!a.done)
            uv_run(&loop, UV_RUN_ONCE);
        t[i] = now_ms() - t0;
        if (a.err) {
            fprintf(stderr, "bench_store: insert failed: %d\n", a.err);
            break;
        }
    }
    op = rn_store_op_new();
    rn_store_op_sql(op, "DELETE FROM linkis_task WHERE exec_id LIKE 'bench-%'");
    rn_store_run_sync(s, op, NULL);
    uv_close((uv_handle_t *)&keep, NULL);
    rn_store_close(s);
    uv_loop_close(&loop);
    if (!t)
        return 1;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("%s: %d inserts, ms per insert: mean %.3f p50 %.3f p99 %.3f\n",
           strncmp(argv[1], "postgres", 8) ? "sqlite" : "postgresql", n, sum / n, t[n / 2],
           t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
    free(t);
    return 0;
}
