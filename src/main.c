/* runneld: the sandboxed code-execution server. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../sandbox/box.h"
#include "cache.h"
#include "callback.h"
#include "config.h"
#include "envelopes.h"
#include "host_impl.h"
#include "jobs.h"
#include "log.h"
#include "server.h"
#include "specs.h"
#include "cluster.h"
#include "store.h"
#include "version.h"
#include "specs_detect.h"

#ifndef RUNNEL_DEFAULT_SPECS
#define RUNNEL_DEFAULT_SPECS "/usr/share/runnel/specs"
#endif
#ifndef RUNNEL_SOURCE_SPECS
#define RUNNEL_SOURCE_SPECS ""
#endif

#define SHUTDOWN_DEADLINE_MS 4500

extern char **environ;

/* What this process runs: the pieces main owns and hands to the host. */
static struct {
    uv_loop_t *loop;
    rn_config cfg;
    rn_box_context *box;
    rn_specs *specs;
    rn_jobs *jobs;
    rn_server *server;
    rn_host *host;
    rn_store *store;
    void *states[RN_ENVELOPES_MAX];
    size_t started; /* envelopes initialised */
    uint64_t started_ms;
} app;
static const char *opt_listen, *opt_config, *opt_specs, *opt_level;
static const char *specs_default = RUNNEL_DEFAULT_SPECS;
static uv_signal_t sig_hup;
static uv_signal_t sig_term, sig_int;
static uv_timer_t deadline;
static int pending_shutdown;

static void sd_notify_ready(const char *state);

static void usage(FILE *f)
{
    fprintf(f, "usage: runneld [options]\n"
               "\n"
               "Serve sandboxed code execution over WebSocket and HTTP.\n"
               "\n"
               "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080)\n"
               "  --config FILE        JSON configuration file (see runnel.conf(5))\n"
               "  --specs DIR          directory of language specs\n"
               "  --log-level LEVEL    error, warn, info or debug (default info)\n"
               "  --config-keys        list every configuration key and exit\n"
               "  --version            print the version and exit\n"
               "  --help               print this help and exit\n"
               "\n"
               "Environment variables RUNNEL_<KEY> override configuration keys,\n"
               "e.g. RUNNEL_LIMITS_WALL_MS=5000 for limits.wall_ms.\n");
}

static void on_specs_error(void *ud, const char *line)
{
    char q[600];
    (void)ud;
    rn_log(RN_LOG_ERROR, "specs.invalid", "error=%s", rn_log_quote(line, q, sizeof(q)));
}

static void maybe_exit(void)
{
    if (--pending_shutdown > 0)
        return;
    uv_timer_stop(&deadline);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_hup, NULL);
}

static void host_refresh(void);

static void on_server_down(void *ud)
{
    (void)ud;
    app.server = NULL;
    host_refresh();
    maybe_exit();
}

static void on_jobs_down(void *ud)
{
    (void)ud;
    app.jobs = NULL;
    host_refresh(); /* the host must not hand out the freed manager */
    maybe_exit();
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    /* Runs still alive die with us: their sandboxes carry a parent-death
     * signal. */
    rn_log(RN_LOG_WARN, "shutdown.deadline", "msg=\"exiting before every close completed\"");
    _exit(0);
}

static uv_timer_t drain_timer;
static uint64_t drain_left_ms;
static void shutdown_now(int signum);

/* A cluster node's drain: every 100 ms, until its runs are done or the
 * drain time is up. */
static void on_drain_tick(uv_timer_t *t)
{
    unsigned left = rn_jobs_running(app.jobs) + rn_jobs_queued(app.jobs);
    drain_left_ms = drain_left_ms > 100 ? drain_left_ms - 100 : 0;
    if (left && drain_left_ms)
        return;
    rn_log(RN_LOG_INFO, "shutdown.drained", "unfinished=%u", left);
    uv_close((uv_handle_t *)t, NULL);
    shutdown_now(SIGTERM);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    if (pending_shutdown || uv_is_active((uv_handle_t *)&drain_timer)) {
        return;
    }
    if (signum == SIGTERM && rn_cluster_drain_ms() && app.host) {
        /* a cluster node stops taking runs (the proxy sees /readyz 503) and
         * finishes the ones it has before it goes */
        rn_log(RN_LOG_INFO, "shutdown.drain", "running=%u queued=%u drain_ms=%llu",
               rn_jobs_running(app.jobs), rn_jobs_queued(app.jobs),
               (unsigned long long)rn_cluster_drain_ms());
        rn_host_set_draining(app.host, true);
        drain_left_ms = rn_cluster_drain_ms();
        uv_timer_init(app.loop, &drain_timer);
        uv_timer_start(&drain_timer, on_drain_tick, 100, 100);
        return;
    }
    shutdown_now(signum);
}

static void shutdown_now(int signum)
{
    rn_log(RN_LOG_INFO, "shutdown.start", "signal=%d running=%u queued=%u", signum,
           rn_jobs_running(app.jobs), rn_jobs_queued(app.jobs));
    pending_shutdown = 2;
    rn_specs_detect_cancel();
    sd_notify_ready("STOPPING=1");
    uv_timer_start(&deadline, on_deadline, SHUTDOWN_DEADLINE_MS, 0);
    rn_server_shutdown(app.server, on_server_down, NULL);
    rn_jobs_shutdown(app.jobs, on_jobs_down, NULL);
    rn_callback_shutdown(app.loop); /* pending callbacks end as cancelled */
}

/* Defaults, then the file, then RUNNEL_* variables, then the command line. */
static int load_config(rn_config *cfg, rn_log_level *level, char *err, size_t errsize)
{
    if (rn_config_defaults(cfg, specs_default) < 0) {
        snprintf(err, errsize, "out of memory");
        goto fail;
    }
    if (opt_config && rn_config_load_file(cfg, opt_config, err, errsize) < 0)
        goto fail;
    if (rn_config_apply_env(cfg, environ, err, errsize) < 0)
        goto fail;
    if (opt_listen)
        snprintf(cfg->listen, sizeof(cfg->listen), "%s", opt_listen);
    if (opt_specs)
        snprintf(cfg->specs, sizeof(cfg->specs), "%s", opt_specs);
    if (opt_level)
        snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", opt_level);
    if (rn_log_parse_level(cfg->log_level, level) < 0) {
        snprintf(err, errsize, "log level must be error, warn, info or debug");
        goto fail;
    }
    return 0;
fail:
    rn_config_free(cfg);
    return -EINVAL;
}

static void fill_limits(const rn_config *cfg, rn_jobs_limits *lim)
{
    memset(lim, 0, sizeof(*lim));
    lim->concurrency = (unsigned)cfg->concurrency;
    lim->queue_max = (unsigned)cfg->queue;
    lim->wall_ms = cfg->wall_ms;
    lim->cpu_ms = cfg->cpu_ms;
    lim->memory_bytes = cfg->memory_bytes;
    lim->output_bytes = cfg->output_bytes;
    lim->tmp_bytes = cfg->tmp_bytes;
    lim->code_bytes = cfg->code_bytes;
    lim->pids = (unsigned)cfg->pids;
    lim->nofile = (unsigned)cfg->nofile;
    /* cache.max_bytes 0 turns the compile cache off. */
    lim->cache_dir = cfg->cache_bytes ? cfg->cache_dir : NULL;
    lim->cache_bytes = cfg->cache_bytes;
    lim->build_bytes = cfg->cache_entry_bytes;
}

static void retire_specs(void *old, void *ud)
{
    (void)ud;
    rn_specs_free(old);
}

static int mkdir_p(const char *path, mode_t mode);

/* The state store under state.dir (made if missing): a failure to open it
 * stops the start, since what it would keep could not be promised. */
static int open_store(void)
{
    if (!app.cfg.state_dir[0]) {
        if (geteuid() == 0)
            snprintf(app.cfg.state_dir, sizeof(app.cfg.state_dir), "/var/lib/runnel");
        else
            snprintf(app.cfg.state_dir, sizeof(app.cfg.state_dir), "runnel-state");
    }
    if (mkdir_p(app.cfg.state_dir, 0700) < 0) {
        fprintf(stderr, "runneld: cannot make the state directory %s: %s\n", app.cfg.state_dir,
                strerror(errno));
        return -1;
    }
    char path[1100], shown[1100];
    if (app.cfg.state_store[0])
        snprintf(path, sizeof(path), "%s", app.cfg.state_store);
    else
        snprintf(path, sizeof(path), "%s/runnel.db", app.cfg.state_dir);
    rn_store_redact(path, shown, sizeof(shown));
    rn_store_options o = {
        .path = path,
        .retention_count = app.cfg.retention_count,
        .retention_ms = app.cfg.retention_ms,
    };
    int r = rn_store_open(app.loop, &o, &app.store);
    if (r < 0) {
        fprintf(stderr, "runneld: cannot open the state store %s: %s\n", shown, strerror(-r));
        return -1;
    }
    return 0;
}

static char listen_host[256];

/* What the host reports, from the configuration in force now. */
static void host_refresh(void)
{
    snprintf(listen_host, sizeof(listen_host), "%s", app.cfg.listen);
    char *colon = strrchr(listen_host, ':');
    if (colon)
        *colon = 0;
    rn_host_parts parts = {
        .loop = app.loop,
        .box = app.box,
        .jobs = app.jobs,
        .specs = app.specs,
        .server = app.server,
        .started_ms = app.started_ms,
        .per_connection = (unsigned)app.cfg.per_connection,
        .message_bytes = app.cfg.message_bytes,
        .listen_host = listen_host,
        .tls = app.cfg.tls_cert[0] != 0,
        .playground = app.cfg.playground,
        .specs_dir = app.cfg.specs,
        .store = app.store,
    };
    if (app.host)
        rn_host_update(app.host, &parts);
    else if (rn_host_new(&parts, &app.host) < 0)
        app.host = NULL;
}

/* SIGHUP: re-read the config and the specs; a broken one is refused and
 * the running one kept. Connections and runs are not touched. */
static void on_hup(uv_signal_t *sig, int signum)
{
    (void)sig;
    (void)signum;
    if (pending_shutdown)
        return;
    sd_notify_ready("RELOADING=1");
    rn_config cfg;
    rn_log_level level;
    char err[1024], q[1100];
    if (load_config(&cfg, &level, err, sizeof(err)) < 0) {
        rn_log(RN_LOG_ERROR, "config.reload_refused", "error=%s", rn_log_quote(err, q, sizeof(q)));
        sd_notify_ready("READY=1\nSTATUS=reload refused: running configuration kept");
        return;
    }
    rn_specs *specs = NULL;
    int r = rn_specs_load(cfg.specs, false, on_specs_error, NULL, &specs);
    if (r < 0) {
        rn_log(RN_LOG_ERROR, "config.reload_refused", "specs=%s error=%d", cfg.specs, r);
        rn_config_free(&cfg);
        sd_notify_ready("READY=1\nSTATUS=reload refused: running configuration kept");
        return;
    }
    if (strcmp(cfg.listen, app.cfg.listen) || strcmp(cfg.tls_cert, app.cfg.tls_cert) ||
        strcmp(cfg.tls_key, app.cfg.tls_key) || strcmp(cfg.cache_dir, app.cfg.cache_dir) ||
        cfg.uid_first != app.cfg.uid_first || cfg.uid_count != app.cfg.uid_count ||
        strcmp(cfg.cgroup, app.cfg.cgroup) || cfg.no_cgroup != app.cfg.no_cgroup ||
        cfg.ahead != app.cfg.ahead || cfg.warm != app.cfg.warm)
        rn_log(RN_LOG_WARN, "config.reload_partial",
               "msg=\"listen, tls, cache.dir and sandbox.* changes take effect at restart\"");
    /* Envelopes keep the sections they were started with. */
    rn_config_free(&cfg);
    memcpy(cfg.env_conf, app.cfg.env_conf, sizeof(cfg.env_conf));
    snprintf(cfg.listen, sizeof(cfg.listen), "%s", app.cfg.listen);
    snprintf(cfg.tls_cert, sizeof(cfg.tls_cert), "%s", app.cfg.tls_cert);
    snprintf(cfg.tls_key, sizeof(cfg.tls_key), "%s", app.cfg.tls_key);
    if (!cfg.cache_dir[0] || strcmp(cfg.cache_dir, app.cfg.cache_dir))
        snprintf(cfg.cache_dir, sizeof(cfg.cache_dir), "%s", app.cfg.cache_dir);
    app.cfg = cfg;
    rn_log_set_level(level);
    rn_jobs_limits lim;
    fill_limits(&app.cfg, &lim);
    rn_jobs_set_limits(app.jobs, &lim);
    rn_jobs_set_rate(app.jobs, (unsigned)app.cfg.runs_per_minute_per_ip);
    rn_jobs_set_specs(app.jobs, specs, retire_specs, NULL);
    app.specs = specs;
    host_refresh();
    if (rn_specs_detect_async(app.loop, &app.specs) < 0)
        rn_log(RN_LOG_WARN, "specs.versions_failed", "msg=\"versions stay unknown\"");
    sd_notify_ready("READY=1");
    rn_log(RN_LOG_INFO, "config.reloaded", "languages=%zu specs=%s", rn_specs_count(specs),
           app.cfg.specs);
}

/* Tell systemd (Type=notify) we are serving: one datagram to
 * $NOTIFY_SOCKET, no library needed. Silent when not under systemd. */
static void sd_notify_ready(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= 108)
        return;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
        rn_log(RN_LOG_WARN, "systemd.notify_failed", "errno=%d", errno);
    close(fd);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Read the command line into the opt_* values: -1 to go on, else the
 * exit status (after --version, --help, or a bad option). */
static int parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'}, {"config", required_argument, NULL, 'c'},
        {"specs", required_argument, NULL, 's'},  {"log-level", required_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},      {"config-keys", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            opt_listen = optarg;
            break;
        case 'c':
            opt_config = optarg;
            break;
        case 's':
            opt_specs = optarg;
            break;
        case 'v':
            opt_level = optarg;
            break;
        case 'V':
            printf("runneld %s\n", RUNNEL_VERSION);
            return 0;
        case 'K':
            rn_config_print_keys(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "runneld: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "runneld: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* The server's options from the configuration in force. */
static void server_options(rn_server_options *sopts)
{
    memset(sopts, 0, sizeof(*sopts));
    sopts->listen = app.cfg.listen;
    sopts->message_bytes = app.cfg.message_bytes;
    sopts->queue_bytes = app.cfg.queue_bytes;
    sopts->idle_client_ms = app.cfg.idle_client_ms ? app.cfg.idle_client_ms : app.cfg.wall_ms;
    sopts->envelopes = rn_envelopes;
    sopts->states = app.states;
    sopts->request_timeout_ms = app.cfg.request_timeout_ms;
    sopts->auth_tokens = app.cfg.auth_tokens;
    sopts->auth_users = app.cfg.auth_users;
    sopts->auth_admins = app.cfg.auth_admins;
    sopts->origins = app.cfg.origins;
    sopts->hosts = app.cfg.hosts;
    sopts->trusted_proxies = app.cfg.trusted_proxies;
    sopts->connections_per_ip = (unsigned)app.cfg.connections_per_ip;
    sopts->tls_cert = app.cfg.tls_cert;
    sopts->tls_key = app.cfg.tls_key;
}

/* Log and print that the server is listening, and what protects runs. */
static void announce(void)
{
    size_t nspecs = rn_specs_count(app.specs), avail = 0;
    for (size_t i = 0; i < nspecs; i++)
        avail += rn_specs_at(app.specs, i)->available;
    char host[256];
    snprintf(host, sizeof(host), "%s", app.cfg.listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = 0;
    rn_log(RN_LOG_INFO, "server.start",
           "version=%s listen=%s:%d languages=%zu available=%zu specs=%s", RUNNEL_VERSION, host,
           rn_server_port(app.server), nspecs, avail, app.cfg.specs);
    bool loopback = !strncmp(host, "127.", 4) || !strcmp(host, "localhost") ||
                    !strcmp(host, "[::1]") || !strcmp(host, "::1");
    if (!loopback && !app.cfg.auth_tokens[0] && !app.cfg.auth_users[0])
        rn_log(RN_LOG_WARN, "security.no_auth",
               "listen=%s msg=\"listening beyond loopback without auth.tokens: anyone who can "
               "reach this port can run code\"",
               app.cfg.listen);
    char prot[2048];
    if (rn_box_context_describe(app.box, prot, sizeof(prot)) > 0) {
        for (char *line = strtok(prot, "\n"); line; line = strtok(NULL, "\n")) {
            char q[300];
            rn_log(RN_LOG_INFO, "sandbox.protection", "%s", rn_log_quote(line, q, sizeof(q)));
        }
    }
    const char *scheme = app.cfg.tls_cert[0] ? "https" : "http";
    fprintf(stderr, "runneld %s listening on %s://%s:%d, %zu of %zu languages available\n",
            RUNNEL_VERSION, scheme, host, rn_server_port(app.server), avail, nspecs);
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc >= 0)
        return rc;

    struct stat st;
    if (RUNNEL_SOURCE_SPECS[0] && stat(RUNNEL_SOURCE_SPECS, &st) == 0 &&
        stat(RUNNEL_DEFAULT_SPECS, &st) != 0)
        specs_default = RUNNEL_SOURCE_SPECS;
    char err[1024];
    rn_log_level level;
    if (load_config(&app.cfg, &level, err, sizeof(err)) < 0) {
        fprintf(stderr, "runneld: %s\n", err);
        return 1;
    }
    rn_log_set_level(level);
    signal(SIGPIPE, SIG_IGN);

    if (!app.cfg.cache_dir[0]) {
        if (geteuid() == 0)
            snprintf(app.cfg.cache_dir, sizeof(app.cfg.cache_dir), "/var/cache/runnel");
        else
            snprintf(app.cfg.cache_dir, sizeof(app.cfg.cache_dir), "/tmp/runnel-cache-%u",
                     (unsigned)geteuid());
    }
    if (mkdir_p(app.cfg.cache_dir, 0700) < 0)
        rn_log(RN_LOG_WARN, "cache.mkdir_failed", "dir=%s", app.cfg.cache_dir);
    /* What the cache holds runs for every client: a directory another
     * account can write is refused, not used. */
    int cr = app.cfg.cache_bytes ? rn_cache_check_dir(app.cfg.cache_dir, err, sizeof(err)) : 0;
    if (cr == -EPERM || cr == -ENOTDIR) {
        fprintf(stderr, "runneld: refusing to start: %s\n", err);
        return 1;
    }

    rn_box_context_options bopts;
    memset(&bopts, 0, sizeof(bopts));
    bopts.uid_first = (uid_t)app.cfg.uid_first;
    bopts.uid_count = (unsigned)app.cfg.uid_count;
    bopts.cgroup_name = app.cfg.cgroup;
    bopts.no_cgroup = app.cfg.no_cgroup;
    bopts.ahead = (unsigned)app.cfg.ahead;
    bopts.warm = (unsigned)app.cfg.warm;
    int r = rn_box_context_new(&bopts, &app.box);
    if (r < 0) {
        fprintf(stderr, "runneld: cannot set up the sandbox: %s\n", strerror(-r));
        return 1;
    }

    r = rn_specs_load(app.cfg.specs, false, on_specs_error, NULL, &app.specs);
    if (r < 0) {
        fprintf(stderr, "runneld: cannot read specs from %s: %s\n", app.cfg.specs, strerror(-r));
        return 1;
    }

    app.loop = uv_default_loop();
    app.started_ms = uv_now(app.loop);
    /* versions are asked in the background; /v1/info shows them once known */
    if (rn_specs_detect_async(app.loop, &app.specs) < 0)
        rn_log(RN_LOG_WARN, "specs.versions_failed", "msg=\"versions stay unknown\"");
    rn_jobs_limits lim;
    fill_limits(&app.cfg, &lim);
    r = rn_jobs_new(app.loop, app.box, app.specs, &lim, &app.jobs);
    if (r < 0) {
        fprintf(stderr, "runneld: %s\n", strerror(-r));
        return 1;
    }

    rn_server_options sopts;
    server_options(&sopts);
    rn_jobs_set_rate(app.jobs, (unsigned)app.cfg.runs_per_minute_per_ip);
    r = rn_server_new(app.loop, app.jobs, &sopts, &app.server);
    if (r < 0) {
        fprintf(stderr, "runneld: cannot listen on %s: %s\n", app.cfg.listen, strerror(-r));
        return 1;
    }

    if ((r = open_store()) < 0)
        return 1;
    host_refresh();
    if (!app.host) {
        fprintf(stderr, "runneld: out of memory\n");
        return 1;
    }
    r = rn_envelopes_start(app.host, &app.cfg, app.states, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "runneld: %s\n", err);
        return 1;
    }
    app.started = rn_envelope_count();

    uv_signal_init(app.loop, &sig_term);
    uv_signal_init(app.loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_init(app.loop, &sig_hup);
    uv_signal_start(&sig_hup, on_hup, SIGHUP);
    uv_timer_init(app.loop, &deadline);

    announce();
    sd_notify_ready("READY=1\nSTATUS=serving");
    uv_run(app.loop, UV_RUN_DEFAULT);
    rn_store_close(app.store); /* every queued write finishes first */
    rn_log(RN_LOG_INFO, "shutdown.done", NULL);
    uv_loop_close(app.loop);
    rn_envelopes_stop(app.states, app.started);
    rn_host_free(app.host);
    rn_specs_free(app.specs);
    rn_box_context_free(app.box);
    rn_config_free(&app.cfg);
    return 0;
}
