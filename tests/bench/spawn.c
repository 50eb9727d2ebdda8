/* spawn bench: how much a sandboxed run costs over a bare fork+exec.
 *
 *   bench_spawn [N]     (default 500; run as root for the rootful path)
 *
 * For /bin/true and /bin/echo hi, each captured through pipes and waited
 * for, in this one process: bare fork+execve, posix_spawn, the runnel
 * library (with and without cgroups), and bwrap --unshare-all with the same
 * binds. Prints median and p99 per run and the ratios to fork+exec.
 */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Read both pipes to EOF. */
static size_t drain(int out, int err)
{
    char buf[4096];
    size_t total = 0;
    int fds[2] = {out, err};
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2];
        int n = 0;
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                p[n++] = (struct pollfd){fds[i], POLLIN, 0};
        if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            ssize_t r = read(p[i].fd, buf, sizeof(buf));
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                for (int k = 0; k < 2; k++)
                    if (fds[k] == p[i].fd)
                        fds[k] = -1;
                continue;
            }
            total += (size_t)r;
        }
    }
    return total;
}

typedef int (*run_fn)(char *const *argv, void *ud);

static int run_fork(char *const *argv, void *ud)
{
    (void)ud;
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execve(argv[0], argv, environ);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    drain(out[0], err[0]);
    close(out[0]);
    close(err[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int run_posix_spawn(char *const *argv, void *ud)
{
    (void)ud;
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (r == 0)
        drain(out[0], err[0]);
    close(out[0]);
    close(err[0]);
    if (r != 0)
        return -1;
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int run_box(char *const *argv, void *ud)
{
    rn_box_context *ctx = ud;
    rn_box_options o = {.argv = (const char *const *)argv, .stdin_null = true};
    rn_box *box;
    if (rn_box_spawn(ctx, &o, &box) < 0)
        return -1;
    drain(rn_box_stdout_fd(box), rn_box_stderr_fd(box));
    rn_box_result res;
    int r = rn_box_wait(box, &res);
    rn_box_free(box);
    return r == 0 && res.reason == RN_BOX_EXITED && res.exit_code == 0 ? 0 : -1;
}

/* Before the clock: one sandbox of run_box's shape built ahead, as runneld
 * does while it is idle (sandbox.warm). */
static int warm_box(char *const *argv, void *ud)
{
    (void)argv;
    rn_box_options o = {.stdin_null = true};
    return rn_box_warm(ud, &o) < 0 ? -1 : 0;
}

/* bwrap with binds equivalent to the library's defaults. */
static int run_bwrap(char *const *argv, void *ud)
{
    (void)ud;
    char *args[64];
    int n = 0;
    const char *fixed[] = {"/usr/bin/bwrap",
                           "--unshare-all",
                           "--die-with-parent",
                           "--ro-bind",
                           "/usr",
                           "/usr",
                           "--symlink",
                           "usr/bin",
                           "/bin",
                           "--symlink",
                           "usr/sbin",
                           "/sbin",
                           "--symlink",
                           "usr/lib",
                           "/lib",
                           "--symlink",
                           "usr/lib64",
                           "/lib64",
                           "--symlink",
                           "usr/lib32",
                           "/lib32",
                           "--ro-bind-try",
                           "/etc/alternatives",
                           "/etc/alternatives",
                           "--ro-bind-try",
                           "/etc/ld.so.cache",
                           "/etc/ld.so.cache",
                           "--ro-bind-try",
                           "/etc/ssl",
                           "/etc/ssl",
                           "--proc",
                           "/proc",
                           "--dev",
                           "/dev",
                           "--tmpfs",
                           "/tmp",
                           "--tmpfs",
                           "/work",
                           "--chdir",
                           "/work",
                           "--uid",
                           "1000",
                           "--gid",
                           "1000",
                           "--"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        args[n++] = (char *)fixed[i];
    for (int i = 0; argv[i] && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    return run_fork(args, NULL);
}

typedef struct {
    const char *name;
    run_fn fn;
    void *ud;
    bool skip;
    double *t;
    int failures;
    run_fn prep; /* before the idle gap, off the clock */
} row;

/* Round-robin over the methods, so that a machine whose speed drifts (a
 * shared VM) weighs on every row alike. */
static int gap_us = 5000;

static void measure(row *rows, size_t nrows, char *const *argv, int n)
{
    for (int i = 0; i < n / 10 + 1; i++) /* warm-up */
        for (size_t r = 0; r < nrows; r++)
            if (!rows[r].skip)
                rows[r].fn(argv, rows[r].ud);
    for (int i = 0; i < n; i++) {
        for (size_t r = 0; r < nrows; r++) {
            if (rows[r].skip)
                continue;
            if (rows[r].prep && rows[r].prep(argv, rows[r].ud) < 0)
                rows[r].failures++;
            /* Each run starts on an idle machine: what the last one left to
             * the kernel's workers (namespace clean-up) or made ahead for
             * the next is done before the clock starts. */
            if (gap_us)
                usleep((useconds_t)gap_us);
            double t0 = now_us();
            if (rows[r].fn(argv, rows[r].ud) < 0)
                rows[r].failures++;
            rows[r].t[i] = now_us() - t0;
        }
    }
    for (size_t r = 0; r < nrows; r++)
        qsort(rows[r].t, (size_t)n, sizeof(double), cmp_double);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 500;
    if (argc > 2)
        gap_us = atoi(argv[2]);
    if (n < 10)
        n = 10;
    /* As runneld sets them up: namespaces made ahead (as root), and the
     * same without them. */
    rn_box_context *cg = NULL, *nocg = NULL, *cgnow = NULL, *warm = NULL;
    rn_box_context_options ahead = {.ahead = 4};
    rn_box_context_options no = {.no_cgroup = true, .ahead = 4};
    rn_box_context_options warmo = {.ahead = 4, .warm = 1};
    if (rn_box_context_new(&ahead, &cg) < 0 || rn_box_context_new(&no, &nocg) < 0 ||
        rn_box_context_new(NULL, &cgnow) < 0 || rn_box_context_new(&warmo, &warm) < 0) {
        fprintf(stderr, "bench_spawn: cannot create a sandbox context\n");
        return 1;
    }
    unsigned prot = rn_box_context_protections(cg);
    bool have_bwrap = access("/usr/bin/bwrap", X_OK) == 0;
    char *const cmds[2][3] = {{"/bin/true", NULL, NULL}, {"/bin/echo", "hi", NULL}};
    const char *names[2] = {"/bin/true", "/bin/echo hi"};

    printf("spawn bench: N=%d per row, %d us idle before each run, uid %d, cgroups %s\n", n, gap_us,
           (int)geteuid(),
           prot & RN_BOX_PROT_CGROUP_V2   ? "v2"
           : prot & RN_BOX_PROT_CGROUP_V1 ? "v1"
                                          : "off");
    printf("%-14s %-24s %10s %10s %8s %8s %5s\n", "command", "method", "median_us", "p99_us",
           "x_fork", "x_bwrap", "fail");
    for (int c = 0; c < 2; c++) {
        row rows[] = {
            {"fork+execve", run_fork, NULL, false, NULL, 0, NULL},
            {"posix_spawn", run_posix_spawn, NULL, false, NULL, 0, NULL},
            {"bwrap --unshare-all", run_bwrap, NULL, !have_bwrap, NULL, 0, NULL},
            {"runnel (cgroups)", run_box, cg,
             !(prot & (RN_BOX_PROT_CGROUP_V1 | RN_BOX_PROT_CGROUP_V2)), NULL, 0, NULL},
            {"runnel (no cgroup)", run_box, nocg, false, NULL, 0, NULL},
            {"runnel (cg, ns at spawn)", run_box, cgnow,
             !(prot & (RN_BOX_PROT_CGROUP_V1 | RN_BOX_PROT_CGROUP_V2)), NULL, 0, NULL},
            {"runnel (warm box)", run_box, warm, false, NULL, 0, warm_box},
        };
        size_t nrows = sizeof(rows) / sizeof(rows[0]);
        for (size_t r = 0; r < nrows; r++)
            rows[r].t = calloc((size_t)n, sizeof(double));
        measure(rows, nrows, cmds[c], n);
        double fork_med = rows[0].t[n / 2], bwrap_med = rows[2].t[n / 2];
        for (size_t r = 0; r < nrows; r++) {
            if (rows[r].skip)
                continue;
            double med = rows[r].t[n / 2], p99 = rows[r].t[(n * 99) / 100];
            printf("%-14s %-24s %10.0f %10.0f %8.2f ", names[c], rows[r].name, med, p99,
                   med / fork_med);
            if (have_bwrap)
                printf("%8.2f", med / bwrap_med);
            else
                printf("%8s", "-");
            printf(" %5d\n", rows[r].failures);
        }
        for (size_t r = 0; r < nrows; r++)
            free(rows[r].t);
    }
    rn_box_context_free(cg);
    rn_box_context_free(nocg);
    rn_box_context_free(cgnow);
    rn_box_context_free(warm);
    return 0;
}
