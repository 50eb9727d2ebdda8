/* The sandbox library through its API: pipes, files, reasons, uid ranges,
 * kills and clean-up. Needs user namespaces (root for the uid-range test). */
#include "box.h"
#include "check.h"
#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static rn_box_context *ctx;

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* Read a pipe to EOF (or until size), polling so a slow writer is fine. */
static size_t slurp(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got + 1 < size) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0) /* generous: a loaded machine */
            break;
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

static int run(const char *const *argv, rn_box_options *o, rn_box_result *res, char *out,
               size_t size)
{
    rn_box *box;
    o->argv = argv;
    int r = rn_box_spawn(ctx, o, &box);
    if (r < 0)
        return r;
    if (out)
        slurp(rn_box_stdout_fd(box), out, size);
    r = rn_box_wait(box, res);
    rn_box_free(box);
    return r;
}

static void test_echo(void)
{
    const char *argv[] = {"/bin/echo", "hi", NULL};
    rn_box_options o = {.stdin_null = true};
    rn_box_result res;
    char out[64];
    REQUIRE(run(argv, &o, &res, out, sizeof(out)) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_INT(res.exit_code, 0);
    CHECK_INT(res.signal, 0);
    CHECK_STR(out, "hi\n");
}

/* The run changes uid in memory of its own: the caller stays dumpable (it
 * can still leave a core dump), whatever fs.suid_dumpable says. */
static void test_caller_stays_dumpable(void)
{
    CHECK_INT(prctl(PR_GET_DUMPABLE), 1);
    const char *argv[] = {"/bin/true", NULL};
    rn_box_options o = {.stdin_null = true};
    rn_box_result res;
    REQUIRE(run(argv, &o, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_INT(prctl(PR_GET_DUMPABLE), 1);
}

static void test_path_lookup_and_env(void)
{
    const char *argv[] = {"sh", "-c", "echo $FOO:$PWD:$(id -u):$(hostname)", NULL};
    const char *env[] = {"PATH=/nowhere:/usr/bin", "FOO=bar", NULL};
    rn_box_options o = {.stdin_null = true, .envp = env, .cwd = "/tmp"};
    rn_box_result res;
    char out[128];
    REQUIRE(run(argv, &o, &res, out, sizeof(out)) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_STR(out, "bar:/tmp:1000:runnel\n");
}

static void test_stdin_pipe(void)
{
    const char *argv[] = {"/bin/cat", NULL};
    rn_box_options o = {.argv = argv};
    rn_box *box;
    REQUIRE(rn_box_spawn(ctx, &o, &box) == 0);
    rn_box_result res;
    CHECK_INT(rn_box_reap(box, &res), -EAGAIN);
    CHECK(write(rn_box_stdin_fd(box), "abc", 3) == 3);
    rn_box_close_stdin(box);
    CHECK_INT(rn_box_stdin_fd(box), -1);
    char out[16];
    slurp(rn_box_stdout_fd(box), out, sizeof(out));
    CHECK_STR(out, "abc");
    CHECK_INT(rn_box_wait(box, &res), 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    rn_box_free(box);
}

static void test_files(void)
{
    const char *argv[] = {"/bin/sh", "-c", "stat -c '%a %U %s' /work/a.txt /work/run.sh; ./run.sh",
                          NULL};
    rn_box_file files[] = {{"a.txt", "hello", 5, 0600},
                           {"run.sh", "#!/bin/sh\necho ran\n", 19, 0755}};
    rn_box_options o = {.stdin_null = true, .files = files, .nfiles = 2};
    rn_box_result res;
    char out[128];
    REQUIRE(run(argv, &o, &res, out, sizeof(out)) == 0);
    CHECK_STR(out, "600 runner 5\n755 runner 19\nran\n");
    rn_box_file bad[] = {{"../x", "x", 1, 0644}};
    o.files = bad;
    o.nfiles = 1;
    CHECK_INT(run(argv, &o, &res, NULL, 0), -EINVAL);
}

static void test_workdir_and_build_bind(void)
{
    char dir[] = "/tmp/runnel-api.XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char work[64], build[64];
    snprintf(work, sizeof(work), "%s/work", dir);
    snprintf(build, sizeof(build), "%s/build", dir);
    mkdir(work, 0700);
    mkdir(build, 0755); /* a later stage (another uid) reads it */
    const char *argv[] = {"/bin/sh", "-c", "echo out > /build/artifact && cat /work/src.c", NULL};
    rn_box_file files[] = {{"src.c", "int x;", 6, 0644}};
    rn_box_bind binds[] = {{build, "/build", true, false}};
    rn_box_options o = {.stdin_null = true,
                        .workdir = work,
                        .files = files,
                        .nfiles = 1,
                        .binds = binds,
                        .nbinds = 1};
    rn_box_result res;
    char out[64];
    REQUIRE(run(argv, &o, &res, out, sizeof(out)) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_STR(out, "int x;");
    char path[128];
    snprintf(path, sizeof(path), "%s/artifact", build);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof(path), "%s/src.c", work);
    CHECK(access(path, F_OK) == 0);
    /* Read-only in a later stage. */
    binds[0].writable = false;
    const char *argv2[] = {"/bin/sh", "-c", "cat /build/artifact; echo x > /build/y", NULL};
    o.files = NULL;
    o.nfiles = 0;
    REQUIRE(run(argv2, &o, &res, out, sizeof(out)) == 0);
    CHECK_STR(out, "out\n");
    CHECK_INT(res.exit_code, 2);
    rn_rmtree(dir);
}

static void test_setup_failures(void)
{
    const char *argv[] = {"/bin/true", NULL};
    rn_box_options o = {.stdin_null = true, .cwd = "/nonexistent"};
    rn_box_result res;
    REQUIRE(run(argv, &o, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_SETUP_FAILED);
    CHECK_INT(res.setup_stage, RN_BOX_STAGE_CWD);
    CHECK_INT(res.setup_errno, ENOENT);
    CHECK_INT(res.exit_code, -1);

    const char *missing[] = {"/no/such/program", NULL};
    rn_box_options o2 = {.stdin_null = true};
    REQUIRE(run(missing, &o2, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_SETUP_FAILED);
    CHECK_INT(res.setup_stage, RN_BOX_STAGE_EXEC);
    CHECK_INT(res.setup_errno, ENOENT);

    rn_box_bind binds[] = {{"/no/such/dir", "/x", false, false}};
    rn_box_options o3 = {.stdin_null = true, .binds = binds, .nbinds = 1};
    CHECK_INT(run(argv, &o3, &res, NULL, 0), -ENOENT);
    binds[0].optional = true;
    REQUIRE(run(argv, &o3, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    rn_box_bind rel[] = {{"/usr", "/usr/../etc", false, false}};
    o3.binds = rel;
    CHECK_INT(run(argv, &o3, &res, NULL, 0), -EINVAL);
}

static void test_signal_and_kill(void)
{
    const char *argv[] = {"/bin/sleep", "30", NULL};
    rn_box_options o = {.argv = argv, .stdin_null = true};
    rn_box *box;
    REQUIRE(rn_box_spawn(ctx, &o, &box) == 0);
    CHECK(rn_box_wall_left_ms(box) > 9000);
    CHECK_INT(rn_box_kill(box, RN_BOX_OUTPUT_LIMIT), 0);
    CHECK_INT(rn_box_kill(box, RN_BOX_KILLED), 0); /* the first reason wins */
    rn_box_result res;
    CHECK_INT(rn_box_wait(box, &res), 0);
    CHECK_INT(res.reason, RN_BOX_OUTPUT_LIMIT);
    CHECK_INT(res.signal, SIGKILL);
    CHECK(res.wall_ms < 2000);
    rn_box_free(box);

    /* A signal we did not send. */
    const char *segv[] = {"/bin/sh", "-c", "sh -c 'kill -SEGV $$'; exit $?", NULL};
    rn_box_options o2 = {.stdin_null = true};
    REQUIRE(run(segv, &o2, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_INT(res.exit_code, 128 + SIGSEGV);

    /* The program's own signals end it: the run's init is pid 1, not it. */
    const char *selfkill[] = {"/bin/sh", "-c", "echo x; kill -KILL $$; echo survived", NULL};
    char out[64];
    REQUIRE(run(selfkill, &o2, &res, out, sizeof(out)) == 0);
    CHECK_STR(out, "x\n");
    CHECK_INT(res.reason, RN_BOX_SIGNALED);
    CHECK_INT(res.signal, SIGKILL);
    CHECK_INT(res.exit_code, -1);
    const char *selfabrt[] = {"/bin/sh", "-c", "kill -ABRT $$; exit 3", NULL};
    REQUIRE(run(selfabrt, &o2, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_SIGNALED);
    CHECK_INT(res.signal, SIGABRT);
    const char *selfterm[] = {"/bin/sh", "-c", "kill -TERM $$; exit 3", NULL};
    REQUIRE(run(selfterm, &o2, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_SIGNALED);
    CHECK_INT(res.signal, SIGTERM);

    /* Freeing a running box kills and reaps it. */
    REQUIRE(rn_box_spawn(ctx, &o, &box) == 0);
    pid_t pid = rn_box_pid(box);
    rn_box_free(box);
    CHECK(kill(pid, 0) < 0 && errno == ESRCH);
}

static void test_wall_timeout(void)
{
    const char *argv[] = {"/bin/sleep", "30", NULL};
    rn_box_options o = {.stdin_null = true, .wall_ms = 300};
    rn_box_result res;
    REQUIRE(run(argv, &o, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_TIMEOUT);
    CHECK(res.wall_ms >= 300 && res.wall_ms < 2000);
}

/* Without cgroups, CPU time and peak memory come from the init's report of
 * the program (and what it reaped). */
static void test_figures_without_cgroup(void)
{
    rn_box_context *plain;
    rn_box_context_options co = {.no_cgroup = true};
    REQUIRE(rn_box_context_new(&co, &plain) == 0);
    rn_box_context *saved = ctx;
    ctx = plain;
    const char *argv[] = {"/bin/sh", "-c",
                          "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exit 5", NULL};
    rn_box_options o = {.stdin_null = true, .wall_ms = 30000};
    rn_box_result res;
    REQUIRE(run(argv, &o, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_INT(res.exit_code, 5);
    CHECK(res.cpu_ms > 50);
    CHECK(res.memory_peak > 100 * 1024 && res.memory_peak < 64 * 1024 * 1024);
    /* Killed by us: no report from the init, the fallbacks hold. */
    const char *sleeper[] = {"/bin/sleep", "30", NULL};
    rn_box_options o2 = {.stdin_null = true, .wall_ms = 300};
    REQUIRE(run(sleeper, &o2, &res, NULL, 0) == 0);
    CHECK_INT(res.reason, RN_BOX_TIMEOUT);
    CHECK_INT(res.signal, SIGKILL);
    CHECK_INT(res.exit_code, -1);
    ctx = saved;
    rn_box_context_free(plain);
}

/* As root, concurrent runs get distinct host uids, and none is root. */
static void test_uid_range(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skip: not root\n");
        return;
    }
    enum { N = 8 };
    rn_box *boxes[N];
    uid_t uids[N];
    const char *argv[] = {"/bin/sh", "-c", "echo up; exec /bin/sleep 30", NULL};
    rn_box_options o = {.argv = argv, .stdin_null = true};
    for (int i = 0; i < N; i++) {
        REQUIRE(rn_box_spawn(ctx, &o, &boxes[i]) == 0);
        /* Wait for the program itself: during set-up the child is still
         * the server's uid. */
        struct pollfd p = {rn_box_stdout_fd(boxes[i]), POLLIN, 0};
        char up[8];
        CHECK(poll(&p, 1, 10000) == 1 && read(p.fd, up, sizeof(up)) > 0);
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)rn_box_pid(boxes[i]));
        FILE *f = fopen(path, "r");
        uids[i] = 0;
        while (f && fgets(line, sizeof(line), f))
            if (!strncmp(line, "Uid:", 4))
                uids[i] = (uid_t)strtoul(line + 5, NULL, 10);
        if (f)
            fclose(f);
        CHECK(uids[i] != 0);
        for (int j = 0; j < i; j++)
            CHECK(uids[i] != uids[j]);
    }
    for (int i = 0; i < N; i++)
        rn_box_free(boxes[i]);

    /* A range of one: the second concurrent run must be refused. */
    rn_box_context *small;
    rn_box_context_options co = {.uid_first = 3000000000u, .uid_count = 1};
    REQUIRE(rn_box_context_new(&co, &small) == 0);
    rn_box *a, *b;
    REQUIRE(rn_box_spawn(small, &o, &a) == 0);
    CHECK_INT(rn_box_spawn(small, &o, &b), -EAGAIN);
    rn_box_free(a);
    REQUIRE(rn_box_spawn(small, &o, &b) == 0); /* released on reap */
    rn_box_free(b);
    rn_box_context_free(small);
}

static void test_protections(void)
{
    unsigned p = rn_box_context_protections(ctx);
    unsigned want = RN_BOX_PROT_USERNS | RN_BOX_PROT_PIDNS | RN_BOX_PROT_MOUNTNS |
                    RN_BOX_PROT_NETNS | RN_BOX_PROT_IPCNS | RN_BOX_PROT_UTSNS |
                    RN_BOX_PROT_CGROUPNS | RN_BOX_PROT_SECCOMP | RN_BOX_PROT_CAPDROP;
    CHECK_INT(p & want, want);
    char buf[4096];
    int n = rn_box_context_describe(ctx, buf, sizeof(buf));
    CHECK(n > 0 && strstr(buf, "seccomp: on"));
    CHECK_INT(rn_box_context_describe(ctx, buf, 10), -ENOBUFS);
    CHECK_STR(rn_box_reason_name(RN_BOX_MEMORY_LIMIT), "oom");
    CHECK_STR(rn_box_stage_name(RN_BOX_STAGE_FILES), "files");
}

/* Namespaces made ahead: each run gets fresh ones of its own (never the
 * host's, never another run's), its loopback as asked, and no power over
 * them from inside. */
static void test_namespaces_made_ahead(void)
{
    if (geteuid() != 0)
        return;
    rn_box_context *saved = ctx, *ahead = NULL;
    rn_box_context_options o = {.ahead = 2};
    CHECK_INT(rn_box_context_new(&o, &ahead), 0);
    if (!ahead)
        return;
    ctx = ahead;
    char desc[4096];
    CHECK(rn_box_context_describe(ahead, desc, sizeof(desc)) > 0);
    CHECK(strstr(desc, "made ahead") != NULL);
    static const char probe[] =
        "import ctypes, errno, fcntl, os, socket, struct, sys\n"
        "print(os.readlink('/proc/self/ns/net'), os.readlink('/proc/self/ns/ipc'))\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "ifr = fcntl.ioctl(s, 0x8913, struct.pack('16sH14s', b'lo', 0, b''))\n"
        "flags = struct.unpack('16sH14s', ifr)[1]\n"
        "print('up' if flags & 1 else 'down')\n"
        "try:\n"
        "    fcntl.ioctl(s, 0x8914, struct.pack('16sH14s', b'lo', flags ^ 1, b''))\n"
        "    print('changed')\n"
        "except OSError as e:\n"
        "    print(errno.errorcode[e.errno])\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if sys.argv[1] == 'make':\n"
        "    print('shm', 'made' if libc.shmget(0x52554e, 4096, 0o3600) >= 0 else 'failed')\n"
        "    sys.stdout.flush()\n"
        "    __import__('time').sleep(1)  # alive while the others start\n"
        "else:\n"
        "    r = libc.shmget(0x52554e, 0, 0)\n"
        "    print('shm', 'seen' if r >= 0 else errno.errorcode[ctypes.get_errno()])\n";
    char host[2][64] = {{0}, {0}};
    CHECK(readlink("/proc/self/ns/net", host[0], sizeof(host[0]) - 1) > 0);
    CHECK(readlink("/proc/self/ns/ipc", host[1], sizeof(host[1]) - 1) > 0);
    /* Four at once (namespace numbers are only unique among live ones):
     * the thread's two, then two made while they start. Each makes its own
     * SysV segment, exclusively; a fifth run afterwards sees none. */
    usleep(300000);
    rn_box *boxes[4];
    rn_box_options ros[4];
    const char *argvs[5][5];
    for (int i = 0; i < 5; i++) {
        argvs[i][0] = "/usr/bin/python3";
        argvs[i][1] = "-c";
        argvs[i][2] = probe;
        argvs[i][3] = i < 4 ? "make" : "look";
        argvs[i][4] = NULL;
    }
    for (int i = 0; i < 4; i++) {
        ros[i] = (rn_box_options){.argv = argvs[i], .network = i % 2 == 1};
        CHECK_INT(rn_box_spawn(ctx, &ros[i], &boxes[i]), 0);
    }
    char seen[4][128];
    for (int i = 0; i < 4; i++) {
        rn_box_result res;
        char out[512], want[64];
        slurp(rn_box_stdout_fd(boxes[i]), out, sizeof(out));
        CHECK_INT(rn_box_wait(boxes[i], &res), 0);
        rn_box_free(boxes[i]);
        CHECK_INT(res.reason, RN_BOX_EXITED);
        CHECK_INT(res.exit_code, 0);
        char *nl = strchr(out, '\n');
        CHECK(nl != NULL);
        if (!nl)
            nl = out;
        snprintf(seen[i], sizeof(seen[i]), "%.*s", (int)(nl - out), out);
        CHECK(strstr(seen[i], host[0]) == NULL);
        CHECK(strstr(seen[i], host[1]) == NULL);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(seen[i], seen[j]) != 0);
        snprintf(want, sizeof(want), "%s\nEPERM\nshm made\n", ros[i].network ? "up" : "down");
        CHECK_STR(nl + 1, want);
    }
    {
        rn_box_options ro = {0};
        rn_box_result res;
        char out[512];
        CHECK_INT(run(argvs[4], &ro, &res, out, sizeof(out)), 0);
        char *nl = strchr(out, '\n');
        CHECK_STR(nl ? nl + 1 : out, "down\nEPERM\nshm ENOENT\n");
    }
    /* Cgroups made ahead carry the limits asked for, whichever came last. */
    char cgdir[512] = "";
    const char *at = strstr(desc, "limits: on (v");
    if (at && (at = strstr(at, " at ")) != NULL) {
        at += 4;
        size_t n = strcspn(at, " )\n");
        snprintf(cgdir, sizeof(cgdir), "%.*s", (int)n, at);
    }
    if (cgdir[0]) {
        const char *hog[] = {"/usr/bin/python3", "-c", "b = bytearray(96 << 20); print(len(b))",
                             NULL};
        for (int i = 0; i < 4; i++) {
            rn_box_options ro = {.memory_bytes = i % 2 ? 64 << 20 : 256 << 20};
            rn_box_result res;
            char out[64];
            CHECK_INT(run(hog, &ro, &res, out, sizeof(out)), 0);
            CHECK_INT(res.reason, i % 2 ? RN_BOX_MEMORY_LIMIT : RN_BOX_EXITED);
            if (i % 2 == 0)
                CHECK_STR(out, "100663296\n");
            usleep(100000); /* the thread makes the next ones meanwhile */
        }
    }
    ctx = saved;
    rn_box_context_free(ahead);
    /* Nothing of it is left: no cgroup made ahead, none of an ended run. */
    if (cgdir[0]) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "%d-", (int)getpid());
        DIR *d = opendir(cgdir);
        CHECK(d != NULL);
        struct dirent *e;
        int left = 0;
        while (d && (e = readdir(d)) != NULL)
            if (!strncmp(e->d_name, prefix, strlen(prefix)))
                left++;
        if (d)
            closedir(d);
        CHECK_INT(left, 0);
    }
}

/* Sandboxes built ahead: a run of the same shape takes one (the count
 * drops), gets its own files, argv, env, cwd and rlimits, and its stdin;
 * another shape starts cold and leaves the waiting one alone; a waiting box
 * holds none of our other fds; freeing the context ends them all. */
static void test_warm(void)
{
    rn_box_context *saved = ctx, *w = NULL;
    rn_box_context_options co = {.warm = 2};
    CHECK_INT(rn_box_context_new(&co, &w), 0);
    if (!w)
        return;
    ctx = w;
    /* A pipe of ours open while the boxes are cloned: once we close its
     * write end its read end must see EOF, so no waiting box keeps a copy. */
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    rn_box_options shape = {.stdin_null = false, .memory_bytes = 128u << 20, .pids = 32};
    CHECK_INT(rn_box_warm(w, &shape), 1);
    CHECK_INT(rn_box_warm(w, &shape), 1);
    CHECK_INT(rn_box_warm(w, &shape), 0); /* as many as the context keeps */
    CHECK_INT(rn_box_warm_count(w), 2);
    rn_box_options other = {.workdir = "/tmp"};
    CHECK_INT(rn_box_warm(w, &other), 0); /* a workdir is never made ahead */

    const char *argv[] = {
        "/bin/sh", "-c",      "cat; echo \"$0 $1 $FOO $(pwd) $(ulimit -n) $(cat in.txt)\"",
        "x",       "arg one", NULL};
    const char *env[] = {"PATH=/usr/bin:/bin", "FOO=foo", NULL};
    rn_box_file files[] = {{"in.txt", "from-file", 9, 0644}};
    rn_box_options o = shape;
    o.argv = argv;
    o.envp = env;
    o.files = files;
    o.nfiles = 1;
    o.nofile = 77;
    o.cwd = "/work";
    rn_box *box = NULL;
    CHECK_INT(rn_box_spawn(w, &o, &box), 0);
    REQUIRE(box != NULL);
    CHECK_INT(rn_box_warm_count(w), 1);
    CHECK(write(rn_box_stdin_fd(box), "typed\n", 6) == 6);
    rn_box_close_stdin(box);
    char out[256];
    slurp(rn_box_stdout_fd(box), out, sizeof(out));
    rn_box_result res;
    CHECK_INT(rn_box_wait(box, &res), 0);
    CHECK_INT(res.reason, RN_BOX_EXITED);
    CHECK_INT(res.exit_code, 0);
    CHECK_STR(out, "typed\nx arg one foo /work 77 from-file\n");
    rn_box_free(box);

    /* another shape: cold, the waiting box stays */
    const char *argv2[] = {"/bin/echo", "cold", NULL};
    rn_box_options o2 = {.stdin_null = true};
    CHECK_INT(run(argv2, &o2, &res, out, sizeof(out)), 0);
    CHECK_STR(out, "cold\n");
    CHECK_INT(rn_box_warm_count(w), 1);

    close(pfd[1]);
    struct pollfd p = {pfd[0], POLLIN, 0};
    CHECK(poll(&p, 1, 2000) == 1);
    char c;
    CHECK(read(pfd[0], &c, 1) == 0); /* EOF: no sandbox holds its write end */
    close(pfd[0]);

    rn_box_context_free(w);
    ctx = saved;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int r = rn_box_context_new(NULL, &ctx);
    if (r < 0) {
        fprintf(stderr, "rn_box_context_new: %s\n", strerror(-r));
        return 1;
    }
    int fds = count_fds();
    RUN_TEST(test_protections);
    RUN_TEST(test_echo);
    RUN_TEST(test_caller_stays_dumpable);
    RUN_TEST(test_path_lookup_and_env);
    RUN_TEST(test_stdin_pipe);
    RUN_TEST(test_files);
    RUN_TEST(test_workdir_and_build_bind);
    RUN_TEST(test_setup_failures);
    RUN_TEST(test_signal_and_kill);
    RUN_TEST(test_wall_timeout);
    RUN_TEST(test_figures_without_cgroup);
    RUN_TEST(test_uid_range);
    RUN_TEST(test_namespaces_made_ahead);
    RUN_TEST(test_warm);
    CHECK_INT(count_fds(), fds); /* no fd leaked by any run */
    rn_box_context_free(ctx);
    return check_report();
}
