/* Language specs: asking each toolchain its version (version_cmd), off
 * the event loop. */
#include "specs_int.h"
#include "specs_version.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* ---- version detection ---- */

typedef struct {
    size_t idx; /* into the probe's items */
    pid_t pid;
    int fd[2]; /* stdout, stderr read ends */
    char buf[2][VERSION_MAX_OUTPUT];
    size_t len[2];
} version_job;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Everything the child touches is prepared here; the child only calls
 * dup2/setpgid/execve/_exit. */
static int version_spawn(version_job *j, char *const argv[], char *const envp[], int devnull)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    pid_t pid;

    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        goto fail;
    pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        setpgid(0, 0);
        if (dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(127);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    setpgid(pid, pid); /* also from here, so the kill below cannot race it */
    close(out[1]);
    close(err[1]);
    j->pid = pid;
    j->fd[0] = out[0];
    j->fd[1] = err[0];
    return 0;

fail : {
    int e = errno;

    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    return -e;
}
}

/* The first non-empty line of s, trimmed, into a fresh string. */
static char *first_line(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t b = i, e;

        while (i < len && s[i] != '\n')
            i++;
        e = i;
        i++;
        while (b < e && isspace((unsigned char)s[b]))
            b++;
        while (e > b && isspace((unsigned char)s[e - 1]))
            e--;
        if (e > b)
            return strndup(s + b, e - b);
    }
    return NULL;
}

/* One spec's command and, once run, its answer. */
typedef struct {
    char *name;
    char **argv; /* version_cmd with argv[0] resolved */
    char **cmd;  /* version_cmd as the spec has it, to match on apply */
    char *version;
} probe_item;

struct rn_version_probe {
    probe_item *items;
    size_t n;
    unsigned bound_ms;
    int gen; /* cancel_gen when made: a later value means stop */
};

/* Bumped by rn_version_probe_cancel_all; probes poll it. */
static atomic_int cancel_gen;

void rn_version_probe_cancel_all(void)
{
    atomic_fetch_add(&cancel_gen, 1);
}

static char **strv_dup(char *const *v)
{
    size_t n = spec_strv_len(v);
    char **o = calloc(n + 1, sizeof(*o));

    for (size_t i = 0; o != NULL && i < n; i++) {
        if ((o[i] = strdup(v[i])) == NULL) {
            spec_strv_free(o);
            return NULL;
        }
    }
    return o;
}

static bool strv_eq(char *const *a, char *const *b)
{
    size_t i = 0;

    for (; a != NULL && b != NULL && a[i] != NULL && b[i] != NULL; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

int rn_version_probe_new(const rn_specs *specs, unsigned bound_ms, rn_version_probe **out)
{
    rn_version_probe *p = calloc(1, sizeof(*p));
    int rc = -ENOMEM;

    *out = NULL;
    if (p == NULL || (p->items = calloc(specs->n + 1, sizeof(*p->items))) == NULL)
        goto fail;
    p->bound_ms = bound_ms;
    p->gen = atomic_load(&cancel_gen);
    for (size_t i = 0; i < specs->n; i++) {
        const rn_spec *sp = specs->v[i];
        probe_item *it = &p->items[p->n];
        char *prog = NULL;

        if (sp->version_cmd == NULL || !sp->available)
            continue;
        rc = rn_spec_resolve_program(sp->version_cmd[0], &prog);
        if (rc == -ENOMEM)
            goto fail;
        if (rc < 0)
            continue;
        it->name = strdup(sp->name);
        it->cmd = strv_dup(sp->version_cmd);
        it->argv = strv_dup(sp->version_cmd);
        if (it->name == NULL || it->cmd == NULL || it->argv == NULL) {
            free(prog);
            p->n++; /* freed with the rest */
            rc = -ENOMEM;
            goto fail;
        }
        free(it->argv[0]);
        it->argv[0] = prog;
        p->n++;
    }
    *out = p;
    return 0;
fail:
    rn_version_probe_free(p);
    return rc;
}

void rn_version_probe_free(rn_version_probe *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].name);
        spec_strv_free(p->items[i].argv);
        spec_strv_free(p->items[i].cmd);
        free(p->items[i].version);
    }
    free(p->items);
    free(p);
}

size_t rn_version_probe_count(const rn_version_probe *p)
{
    return p != NULL ? p->n : 0;
}

/* Read what is ready on every open pipe until all are closed or the
 * deadline passes. */
static void pump(version_job *jobs, size_t njobs, size_t nopen, struct pollfd *pfd,
                 uint64_t deadline, int gen)
{
    while (nopen > 0) {
        uint64_t now = now_ms();
        size_t np = 0;
        int r;

        if (now >= deadline || atomic_load(&cancel_gen) != gen)
            break;
        for (size_t i = 0; i < njobs; i++)
            for (int s = 0; s < 2; s++)
                if (jobs[i].fd[s] >= 0)
                    pfd[np++] = (struct pollfd){.fd = jobs[i].fd[s], .events = POLLIN};
        /* wake at least every 100 ms to see a cancel */
        r = poll(pfd, np, deadline - now < 100 ? (int)(deadline - now) : 100);
        if (r < 0 && errno != EINTR)
            break;
        for (size_t k = 0; k < np; k++) {
            if (pfd[k].revents == 0)
                continue;
            for (size_t i = 0; i < njobs; i++) {
                for (int s = 0; s < 2; s++) {
                    version_job *j = &jobs[i];
                    char tmp[1024];
                    ssize_t got;

                    if (j->fd[s] != pfd[k].fd)
                        continue;
                    got = read(j->fd[s], tmp, sizeof(tmp));
                    if (got < 0 && errno == EINTR)
                        continue;
                    if (got <= 0) {
                        close(j->fd[s]);
                        j->fd[s] = -1;
                        nopen--;
                        continue;
                    }
                    size_t room = sizeof(j->buf[s]) - j->len[s];
                    size_t take = (size_t)got < room ? (size_t)got : room;

                    memcpy(j->buf[s] + j->len[s], tmp, take);
                    j->len[s] += take;
                }
            }
        }
    }
}

void rn_version_probe_run(rn_version_probe *p)
{
    static char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                                 "TERM=dumb", NULL};
    version_job *jobs = NULL;
    struct pollfd *pfd = NULL;
    size_t njobs = 0, nopen = 0;
    int devnull;

    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0)
        return;
    jobs = calloc(p->n + 1, sizeof(*jobs));
    pfd = calloc(p->n * 2 + 1, sizeof(*pfd));
    if (jobs == NULL || pfd == NULL)
        goto out;
    for (size_t i = 0; i < p->n; i++) {
        jobs[njobs].idx = i;
        if (version_spawn(&jobs[njobs], p->items[i].argv, envp, devnull) == 0) {
            nopen += 2;
            njobs++;
        }
    }
    pump(jobs, njobs, nopen, pfd, now_ms() + p->bound_ms, p->gen);
    for (size_t i = 0; i < njobs; i++) {
        version_job *j = &jobs[i];
        char *line;

        for (int s = 0; s < 2; s++) {
            if (j->fd[s] >= 0) {
                close(j->fd[s]);
                j->fd[s] = -1;
            }
        }
        kill(-j->pid, SIGKILL);
        while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        line = first_line(j->buf[0], j->len[0]);
        if (line == NULL)
            line = first_line(j->buf[1], j->len[1]);
        free(p->items[j->idx].version);
        p->items[j->idx].version = line;
    }
out:
    free(jobs);
    free(pfd);
    close(devnull);
}

size_t rn_version_probe_apply(const rn_version_probe *p, rn_specs *specs)
{
    size_t set = 0;

    for (size_t i = 0; specs != NULL && i < p->n; i++) {
        const probe_item *it = &p->items[i];
        rn_spec *sp;
        char *v;

        if (it->version == NULL)
            continue;
        sp = (rn_spec *)rn_specs_find(specs, it->name);
        if (sp == NULL || strcmp(sp->name, it->name) != 0 || !strv_eq(sp->version_cmd, it->cmd))
            continue;
        if ((v = strdup(it->version)) == NULL)
            continue;
        free(sp->version);
        sp->version = v;
        set++;
    }
    return set;
}

void spec_detect_versions_now(rn_specs *specs)
{
    rn_version_probe *p = NULL;

    if (rn_version_probe_new(specs, VERSION_BOUND_MS, &p) < 0)
        return;
    rn_version_probe_run(p);
    rn_version_probe_apply(p, specs);
    rn_version_probe_free(p);
}
