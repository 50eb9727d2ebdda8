/* runnel-box: run one command in the runnel sandbox from a shell.
 *
 * A thin driver over box.h with a poll(2) loop: our stdin goes to the
 * program, its stdout/stderr come back as they are written, and the exit
 * status is the program's own (see usage() for the codes of the other ends).
 */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    EXIT_USAGE = 2,
    EXIT_OUTPUT = 120,
    EXIT_MEMORY = 121,
    EXIT_CPU = 122,
    EXIT_TIMEOUT = 124,
    EXIT_INTERNAL = 125,
    EXIT_SETUP = 126,
    EXIT_NOTFOUND = 127,
    EXIT_KILLED = 137,
};

static const char usage_text[] =
    "NAME\n"
    "    runnel-box - run one command in the runnel sandbox\n"
    "\n"
    "SYNOPSIS\n"
    "    runnel-box [OPTION]... -- COMMAND [ARG]...\n"
    "    runnel-box --check | --version | --help\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs COMMAND (a path inside the sandbox, or a name looked up in PATH)\n"
    "    in fresh user, pid, mount, network, ipc, uts and cgroup namespaces,\n"
    "    on a read-only root with a tmpfs /work and /tmp, with rlimits, cgroup\n"
    "    limits (when available), no capabilities and a seccomp filter.\n"
    "    Standard input is passed to the program; its output is streamed.\n"
    "\n"
    "OPTIONS\n"
    "    --wall-ms N         wall-clock limit in ms (default 10000)\n"
    "    --cpu-ms N          CPU limit in ms, rounded up to seconds (default: wall)\n"
    "    --memory SIZE       memory limit (default 256M)\n"
    "    --pids N            process limit (default 64)\n"
    "    --nofile N          open files limit (default 256)\n"
    "    --fsize SIZE        largest file the program may write (default 64M)\n"
    "    --tmp-size SIZE     size of the /tmp and /work tmpfs (default 64M)\n"
    "    --output-limit SIZE stop the run once stdout+stderr pass SIZE\n"
    "    --bind SRC[:DST]    bind host SRC read-only at DST (default: same path)\n"
    "    --bind-rw SRC[:DST] bind host SRC writable\n"
    "    --workdir DIR       bind host DIR writable as /work instead of a tmpfs\n"
    "    --file NAME=PATH    copy host file PATH into /work/NAME\n"
    "    --env K=V           set an environment variable (repeatable)\n"
    "    --net               bring the loopback interface up (never any other)\n"
    "    --cwd DIR           working directory inside (default /work)\n"
    "    --stdin-null        give the program /dev/null as standard input\n"
    "    --no-cgroup         do not use cgroups\n"
    "    --json[=FILE]       print the result as JSON into FILE; without FILE\n"
    "                        on fd 3 if it is open, else on stderr\n"
    "    --check             print which protections are active here, exit 0\n"
    "    --version           print the version\n"
    "    --help              print this help\n"
    "\n"
    "SIZES\n"
    "    Bytes, or a number followed by K, M or G (powers of 1024).\n"
    "\n"
    "EXIT STATUS\n"
    "    the program's own exit status when it exited\n"
    "    128+N    it was killed by signal N\n"
    "    2        bad options\n"
    "    120      output limit reached\n"
    "    121      memory limit reached (cgroup OOM kill)\n"
    "    122      CPU limit reached\n"
    "    124      wall-clock limit reached\n"
    "    125      the sandbox could not be started at all\n"
    "    126      the sandbox set-up failed (stage and errno on stderr)\n"
    "    127      COMMAND was not found inside the sandbox\n"
    "    137      runnel-box was interrupted and killed the run\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static _Noreturn void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "runnel-box: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see runnel-box --help)\n");
    exit(EXIT_USAGE);
}

static uint64_t parse_size(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        usage_error("bad size for --%s", opt);
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end || v == 0 || v > (UINT64_MAX >> shift))
        usage_error("bad size for --%s", opt);
    return (uint64_t)v << shift;
}

static unsigned parse_count(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v == 0 || v > UINT_MAX)
        usage_error("bad number for --%s", opt);
    return (unsigned)v;
}

/* SRC[:DST] */
static void parse_bind(const char *arg, bool writable, rn_box_bind *b)
{
    char *s = strdup(arg);
    if (!s)
        exit(EXIT_INTERNAL);
    char *colon = strchr(s, ':');
    if (colon)
        *colon = '\0';
    b->src = s;
    b->dst = colon ? colon + 1 : NULL;
    b->writable = writable;
    b->optional = false;
    if (s[0] != '/' || (colon && colon[1] != '/'))
        usage_error("--bind wants absolute paths: %s", arg);
}

static void read_file(const char *arg, rn_box_file *f)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        usage_error("--file wants NAME=HOSTPATH: %s", arg);
    f->name = strndup(arg, (size_t)(eq - arg));
    const char *path = eq + 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "runnel-box: --file %s: %s\n", path,
                fd < 0 ? strerror(errno) : "not a regular file");
        exit(EXIT_USAGE);
    }
    char *data = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (data && got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!data || got != (size_t)st.st_size) {
        fprintf(stderr, "runnel-box: --file %s: read failed\n", path);
        exit(EXIT_INTERNAL);
    }
    f->data = data;
    f->len = got;
    f->mode = (st.st_mode & 0111) ? 0755 : 0644;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, -1);
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Whether fd 3 was open when we started (anything opened later is ours). */
static bool fd3_given;

static void print_json(const char *json_file, const rn_box_result *res)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
                     "{\"reason\":\"%s\",\"exit_code\":%d,\"signal\":%d,\"wall_ms\":%" PRIu64
                     ",\"cpu_ms\":%" PRIu64 ",\"memory_peak\":%" PRIu64
                     ",\"setup_stage\":\"%s\",\"setup_errno\":%d}\n",
                     rn_box_reason_name(res->reason), res->exit_code, res->signal, res->wall_ms,
                     res->cpu_ms, res->memory_peak, rn_box_stage_name(res->setup_stage),
                     res->setup_errno);
    if (!json_file && fd3_given) {
        write_all(3, buf, (size_t)n);
    } else if (json_file) {
        FILE *f = fopen(json_file, "we");
        if (!f) {
            fprintf(stderr, "runnel-box: --json %s: %s\n", json_file, strerror(errno));
            return;
        }
        fputs(buf, f);
        fclose(f);
    } else {
        write_all(2, buf, (size_t)n);
    }
}

static int exit_status(const rn_box_result *res)
{
    switch (res->reason) {
    case RN_BOX_EXITED:
        return res->exit_code;
    case RN_BOX_SIGNALED:
        return 128 + res->signal;
    case RN_BOX_TIMEOUT:
        return EXIT_TIMEOUT;
    case RN_BOX_CPU_LIMIT:
        return EXIT_CPU;
    case RN_BOX_MEMORY_LIMIT:
        return EXIT_MEMORY;
    case RN_BOX_OUTPUT_LIMIT:
        return EXIT_OUTPUT;
    case RN_BOX_KILLED:
        return EXIT_KILLED;
    case RN_BOX_SETUP_FAILED:
        return res->setup_stage == RN_BOX_STAGE_EXEC && res->setup_errno == ENOENT ? EXIT_NOTFOUND
                                                                                   : EXIT_SETUP;
    }
    return EXIT_INTERNAL;
}

/* Pump stdio until the run ends and its pipes are drained. */
static int pump(rn_box *box, bool forward_stdin, uint64_t output_limit, rn_box_result *res)
{
    int out = rn_box_stdout_fd(box), err = rn_box_stderr_fd(box);
    int in = rn_box_stdin_fd(box);
    bool in_open = forward_stdin && in >= 0, ended = false;
    char pending[65536];
    size_t npending = 0, pend_off = 0;
    uint64_t written = 0;
    char buf[65536];
    if (!in_open)
        rn_box_close_stdin(box);

    while (out >= 0 || err >= 0 || !ended) {
        if (interrupted)
            rn_box_kill(box, RN_BOX_KILLED);
        struct pollfd p[4];
        int n = 0, i_out = -1, i_err = -1, i_pid = -1, i_in = -1;
        if (out >= 0)
            p[i_out = n++] = (struct pollfd){out, POLLIN, 0};
        if (err >= 0)
            p[i_err = n++] = (struct pollfd){err, POLLIN, 0};
        if (!ended)
            p[i_pid = n++] = (struct pollfd){rn_box_pidfd(box), POLLIN, 0};
        if (in_open)
            p[i_in = n++] =
                npending ? (struct pollfd){in, POLLOUT, 0} : (struct pollfd){0, POLLIN, 0};
        uint64_t left = rn_box_wall_left_ms(box);
        int timeout = ended ? -1 : (left > INT_MAX ? INT_MAX : (int)left);
        if (!ended && left == 0) {
            rn_box_kill(box, RN_BOX_TIMEOUT);
            timeout = -1;
        }
        int r = poll(p, (nfds_t)n, timeout);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0)
            continue;
        int *fds[2] = {&out, &err};
        int idx[2] = {i_out, i_err};
        for (int k = 0; k < 2; k++) {
            if (idx[k] < 0 || !(p[idx[k]].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(*fds[k], buf, sizeof(buf));
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                *fds[k] = -1; /* rn_box_free closes it */
                continue;
            }
            if (output_limit && written + (uint64_t)got > output_limit) {
                got = (ssize_t)(output_limit - written);
                rn_box_kill(box, RN_BOX_OUTPUT_LIMIT);
            }
            written += (uint64_t)got;
            write_all(k + 1, buf, (size_t)got);
        }
        if (i_in >= 0 && p[i_in].revents) {
            if (npending) {
                ssize_t w = write(in, pending + pend_off, npending);
                if (w > 0) {
                    pend_off += (size_t)w;
                    npending -= (size_t)w;
                } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    in_open = false; /* the program closed its stdin */
                    rn_box_close_stdin(box);
                }
            } else {
                ssize_t got = read(0, pending, sizeof(pending));
                if (got > 0) {
                    npending = (size_t)got;
                    pend_off = 0;
                } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    in_open = false;
                    rn_box_close_stdin(box);
                }
            }
        }
        if (i_pid >= 0 && (p[i_pid].revents & POLLIN)) {
            int rr = rn_box_reap(box, res);
            if (rr == 0) {
                ended = true;
                if (in_open) {
                    in_open = false;
                    rn_box_close_stdin(box);
                }
            } else if (rr != -EAGAIN) {
                return rr;
            }
        }
    }
    return 0;
}

/* What the command line asks for. */
typedef struct {
    rn_box_options o;
    rn_box_context_options co;
    rn_box_bind *binds;
    rn_box_file *files;
    const char **env;
    size_t nbinds, nfiles, nenv;
    bool json, check;
    const char *json_file;
    uint64_t output_limit;
} cli_args;

enum {
    O_WALL = 256,
    O_CPU,
    O_MEM,
    O_PIDS,
    O_NOFILE,
    O_FSIZE,
    O_TMP,
    O_OUTPUT,
    O_BIND,
    O_BINDRW,
    O_WORKDIR,
    O_FILE,
    O_ENV,
    O_NET,
    O_CWD,
    O_STDIN_NULL,
    O_NOCG,
    O_JSON,
    O_CHECK,
    O_VERSION,
    O_HELP,
};
static const struct option longopts[] = {
    {"wall-ms", required_argument, NULL, O_WALL},
    {"cpu-ms", required_argument, NULL, O_CPU},
    {"memory", required_argument, NULL, O_MEM},
    {"pids", required_argument, NULL, O_PIDS},
    {"nofile", required_argument, NULL, O_NOFILE},
    {"fsize", required_argument, NULL, O_FSIZE},
    {"tmp-size", required_argument, NULL, O_TMP},
    {"output-limit", required_argument, NULL, O_OUTPUT},
    {"bind", required_argument, NULL, O_BIND},
    {"bind-rw", required_argument, NULL, O_BINDRW},
    {"workdir", required_argument, NULL, O_WORKDIR},
    {"file", required_argument, NULL, O_FILE},
    {"env", required_argument, NULL, O_ENV},
    {"net", no_argument, NULL, O_NET},
    {"cwd", required_argument, NULL, O_CWD},
    {"stdin-null", no_argument, NULL, O_STDIN_NULL},
    {"no-cgroup", no_argument, NULL, O_NOCG},
    {"json", optional_argument, NULL, O_JSON},
    {"check", no_argument, NULL, O_CHECK},
    {"version", no_argument, NULL, O_VERSION},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Parse the options into a (bad ones exit with status 2); returns -1 to go
 * on, or the exit status of --help and --version. */
static int parse_args(int argc, char **argv, cli_args *a)
{
    a->env[a->nenv++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    a->env[a->nenv++] = "HOME=/work";
    a->env[a->nenv++] = "LANG=C.UTF-8";
    a->env[a->nenv++] = "USER=runner";

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        switch (c) {
        case O_WALL:
            a->o.wall_ms = parse_count("wall-ms", optarg);
            break;
        case O_CPU:
            a->o.cpu_ms = parse_count("cpu-ms", optarg);
            break;
        case O_MEM:
            a->o.memory_bytes = parse_size("memory", optarg);
            break;
        case O_PIDS:
            a->o.pids = parse_count("pids", optarg);
            break;
        case O_NOFILE:
            a->o.nofile = parse_count("nofile", optarg);
            break;
        case O_FSIZE:
            a->o.fsize_bytes = parse_size("fsize", optarg);
            break;
        case O_TMP:
            a->o.tmp_bytes = parse_size("tmp-size", optarg);
            break;
        case O_OUTPUT:
            a->output_limit = parse_size("output-limit", optarg);
            break;
        case O_BIND:
            parse_bind(optarg, false, &a->binds[a->nbinds++]);
            break;
        case O_BINDRW:
            parse_bind(optarg, true, &a->binds[a->nbinds++]);
            break;
        case O_WORKDIR:
            a->o.workdir = optarg;
            break;
        case O_FILE:
            read_file(optarg, &a->files[a->nfiles++]);
            break;
        case O_ENV: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                usage_error("--env wants K=V: %s", optarg);
            size_t klen = (size_t)(eq - optarg) + 1;
            size_t k;
            for (k = 0; k < a->nenv && strncmp(a->env[k], optarg, klen); k++)
                ;
            a->env[k] = optarg;
            if (k == a->nenv)
                a->nenv++;
            break;
        }
        case O_NET:
            a->o.network = true;
            break;
        case O_CWD:
            if (optarg[0] != '/')
                usage_error("--cwd wants an absolute path: %s", optarg);
            a->o.cwd = optarg;
            break;
        case O_STDIN_NULL:
            a->o.stdin_null = true;
            break;
        case O_NOCG:
            a->co.no_cgroup = true;
            break;
        case O_JSON:
            a->json = true;
            a->json_file = optarg;
            break;
        case O_CHECK:
            a->check = true;
            break;
        case O_VERSION:
            printf("runnel-box %s\n", RN_BOX_VERSION);
            return 0;
        case O_HELP:
            fputs(usage_text, stdout);
            return 0;
        case ':':
            usage_error("option %s needs a value", name);
        default:
            usage_error("unknown option %s", name);
        }
    }
    if (!a->check && optind >= argc)
        usage_error("%s", "no command given");
    return -1;
}

/* Run argv in a sandbox of ctx as a asks, forwarding stdio; returns the
 * exit status. */
static int run(rn_box_context *ctx, cli_args *a, char **argv)
{
    rn_box_options *o = &a->o;
    o->argv = (const char *const *)argv;
    o->envp = a->env;
    o->binds = a->binds;
    o->nbinds = a->nbinds;
    o->files = a->files;
    o->nfiles = a->nfiles;

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rn_box *box = NULL;
    int r = rn_box_spawn(ctx, o, &box);
    if (r < 0) {
        fprintf(stderr, "runnel-box: cannot start %s: %s\n", o->argv[0], strerror(-r));
        return EXIT_INTERNAL;
    }
    rn_box_result res;
    memset(&res, 0, sizeof(res));
    r = pump(box, !o->stdin_null, a->output_limit, &res);
    rn_box_free(box);
    if (r < 0) {
        fprintf(stderr, "runnel-box: %s\n", strerror(-r));
        return EXIT_INTERNAL;
    }
    if (res.reason == RN_BOX_SETUP_FAILED)
        fprintf(stderr, "runnel-box: sandbox set-up failed at %s: %s\n",
                rn_box_stage_name(res.setup_stage), strerror(res.setup_errno));
    if (a->json)
        print_json(a->json_file, &res);
    return exit_status(&res);
}

int main(int argc, char **argv)
{
    fd3_given = fcntl(3, F_GETFD) >= 0;
    cli_args a = {0};
    size_t cap = (size_t)argc + 1;
    a.binds = calloc(cap, sizeof(*a.binds));
    a.files = calloc(cap, sizeof(*a.files));
    a.env = calloc(cap + 8, sizeof(*a.env));
    int ret = EXIT_INTERNAL;
    rn_box_context *ctx = NULL;
    if (!a.binds || !a.files || !a.env)
        goto out;
    if ((ret = parse_args(argc, argv, &a)) >= 0)
        goto out;
    ret = EXIT_INTERNAL;
    int r = rn_box_context_new(&a.co, &ctx);
    if (r < 0) {
        fprintf(stderr, "runnel-box: cannot set up the sandbox: %s\n", strerror(-r));
        goto out;
    }
    if (a.check) {
        char buf[8192];
        r = rn_box_context_describe(ctx, buf, sizeof(buf));
        if (r > 0)
            fputs(buf, stdout);
        ret = 0;
        goto out;
    }
    ret = run(ctx, &a, argv + optind);
out:
    rn_box_context_free(ctx);
    for (size_t i = 0; a.files && i < a.nfiles; i++) {
        free((void *)a.files[i].name);
        free((void *)a.files[i].data);
    }
    for (size_t i = 0; a.binds && i < a.nbinds; i++)
        free((void *)a.binds[i].src);
    free(a.files);
    free(a.binds);
    free(a.env);
    return ret;
}
