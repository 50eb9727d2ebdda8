/* What a run needs that can be made before it starts, and undone after it
 * ends, off the caller's thread.
 *
 * Creating a network namespace is the dearest part of a sandbox's start
 * (every per-network subsystem initialises its state: ~0.7 ms on a small
 * VM), an IPC namespace the next (~0.3 ms), then the run's cgroup
 * directories (a mkdir and a limit or two per hierarchy) and, once it has
 * ended, their removal (which waits while the kernel lets go of the last
 * task). A thread of the context's does all of that ahead:
 *
 * - namespaces: it unshares a network and an IPC namespace for itself,
 *   keeps an fd of each and returns to the caller's. rn_box_spawn takes one
 *   pair per run, enters it just for its clone3 (the child is born inside)
 *   and closes its fds: each pair serves exactly one run, and the kernel
 *   frees it when that run ends. They belong to the initial user
 *   namespace, not to the run's, so nothing in the run holds a capability
 *   over them: its loopback is set up by the parent and cannot be
 *   reconfigured from inside.
 * - cgroups: it keeps a few empty run cgroups with the limits last asked
 *   for; a run with other limits has them rewritten (a write or two).
 * - removal: reaped runs' cgroups are handed over and removed here,
 *   retried while the kernel still holds them.
 */
#include "box_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AHEAD_MAX 16

typedef struct {
    rn_cgroup_run cg;
    uint64_t memory;
    unsigned pids;
} ready_cg;

struct rn_ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    unsigned running; /* runs started and not yet ended: work waits for 0 */
    /* namespaces */
    unsigned want_ns, nns;
    int net[AHEAD_MAX], ipc[AHEAD_MAX];
    bool ns_stuck;        /* could not come back from one: makes no more */
    uint64_t ns_retry_ms; /* after a failure, not again before this */
    /* cgroups */
    const rn_cgroup_root *root;
    unsigned want_cg, ncg;
    ready_cg cgs[AHEAD_MAX];
    uint64_t memory; /* the limits last asked for */
    unsigned pids;
    bool asked; /* none are made before the first request says which */
    uint64_t cg_retry_ms;
    uint64_t seq;
    /* cgroups of ended runs, to remove */
    rn_cgroup_run *dead;
    size_t ndead, capdead;
    /* inits of ended runs, still exiting; uids to give back */
    struct {
        int pidfd;
        uid_t uid;
        bool owned;
    } * inits;
    size_t ninits, capinits;
    uid_t *freed;
    size_t nfreed, capfreed;
};

int rn_ahead_loopback(bool up)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !!(ifr.ifr_flags & IFF_UP) != up) {
        if (up)
            ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        else
            ifr.ifr_flags &= ~(IFF_UP | IFF_RUNNING);
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (r < 0)
        r = -errno;
    close(fd);
    return r;
}

/* One pair: unshare both for this thread, keep them, come back home. */
static int make_pair(int home_net, int home_ipc, int *net, int *ipc)
{
    *net = *ipc = -1;
    if (unshare(CLONE_NEWNET | CLONE_NEWIPC) < 0)
        return -errno;
    int r = 0;
    *net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    *ipc = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
    if (*net < 0 || *ipc < 0)
        r = -errno;
    /* Coming back must work, or this thread stays where it is: harmless
     * (it makes nothing else that lives in a namespace) but it can make no
     * more pairs. */
    if (setns(home_net, CLONE_NEWNET) < 0 || setns(home_ipc, CLONE_NEWIPC) < 0)
        r = -EIO;
    if (r < 0) {
        if (*net >= 0)
            close(*net);
        if (*ipc >= 0)
            close(*ipc);
        *net = *ipc = -1;
    }
    return r;
}

/* The worker's own list of cgroups to remove: it takes the shared list
 * under the lock and works on its own without it. */
typedef struct {
    rn_cgroup_run *v;
    size_t n, cap;
} grave;

static void take_dead(rn_ahead *a, grave *g)
{
    if (!a->ndead)
        return;
    if (g->n + a->ndead > g->cap) {
        size_t cap = (g->n + a->ndead) * 2;
        rn_cgroup_run *v = realloc(g->v, cap * sizeof(*v));
        if (!v)
            return; /* left where they are: next time */
        g->v = v;
        g->cap = cap;
    }
    memcpy(g->v + g->n, a->dead, a->ndead * sizeof(*a->dead));
    g->n += a->ndead;
    a->ndead = 0;
}

/* Add a cgroup to the shared list of those to remove (lock held). Out of
 * memory, it is removed here and now, as best we can. */
static void rn_ahead_put_dead_locked(rn_ahead *a, rn_cgroup_run *run)
{
    if (a->ndead == a->capdead) {
        size_t cap = a->capdead ? 2 * a->capdead : 16;
        rn_cgroup_run *d = realloc(a->dead, cap * sizeof(*d));
        if (!d) {
            rn_cgroup_destroy(run);
            rn_cgroup_run_free(run);
            return;
        }
        a->dead = d;
        a->capdead = cap;
    }
    a->dead[a->ndead++] = *run;
}

#define AHEAD_RETRY_MS 1000

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wait_ms(rn_ahead *a, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&a->cv, &a->mu, &ts);
}

/* Reap the inits that are gone (lock held: waitid WNOHANG is quick). */
static void reap_inits(rn_ahead *a)
{
    size_t j = 0;
    for (size_t i = 0; i < a->ninits; i++) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        long r = syscall(SYS_waitid, P_PIDFD, a->inits[i].pidfd, &info, WEXITED | WNOHANG, NULL);
        if (r == 0 && info.si_pid == 0) {
            a->inits[j++] = a->inits[i]; /* still exiting */
            continue;
        }
        close(a->inits[i].pidfd);
        if (!a->inits[i].owned)
            continue;
        if (a->nfreed == a->capfreed) {
            size_t cap = a->capfreed ? 2 * a->capfreed : 16;
            uid_t *f = realloc(a->freed, cap * sizeof(*f));
            if (!f)
                continue; /* that uid stays taken */
            a->freed = f;
            a->capfreed = cap;
        }
        a->freed[a->nfreed++] = a->inits[i].uid;
    }
    a->ninits = j;
}

static void *worker(void *arg)
{
    rn_ahead *a = arg;
    int home_net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int home_ipc = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
    grave g = {NULL, 0, 0};
    int busy_ms = 2;
    pthread_mutex_lock(&a->mu);
    if (home_net < 0 || home_ipc < 0)
        a->ns_stuck = true;
    while (!a->stop) {
        /* While runs are going it keeps out of their way (namespace and
         * cgroup set-up take the same kernel locks as theirs), unless
         * nothing is left ready or too much is left to remove. */
        bool quiet = a->running == 0;
        if (quiet || a->ndead + g.n > AHEAD_MAX) {
            take_dead(a, &g);
            if (g.n) {
                pthread_mutex_unlock(&a->mu);
                g.n = rn_cgroup_destroy_list(g.v, g.n);
                pthread_mutex_lock(&a->mu);
            }
        }
        reap_inits(a);
        bool busy = (g.n > 0 && quiet) || a->ninits > 0;
        if (!busy)
            busy_ms = 2;
        /* After a failure (out of memory, the cgroup parent gone) it tries
         * again a second later; runs meanwhile make their own. */
        uint64_t now = mono_ms();
        bool ns_due = !a->ns_stuck && a->nns < a->want_ns && (quiet || a->nns == 0);
        bool cg_due = a->asked && a->ncg < a->want_cg && (quiet || a->ncg == 0);
        bool ns = ns_due && now >= a->ns_retry_ms;
        bool cg = cg_due && now >= a->cg_retry_ms;
        if (!ns && !cg) {
            if (busy) { /* cgroups the kernel still holds: again soon */
                wait_ms(a, busy_ms);
                busy_ms = busy_ms < 256 ? 2 * busy_ms : busy_ms;
            } else if (ns_due || cg_due)
                wait_ms(a, AHEAD_RETRY_MS);
            else
                pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        if (ns) {
            pthread_mutex_unlock(&a->mu);
            int net, ipc;
            int r = make_pair(home_net, home_ipc, &net, &ipc);
            pthread_mutex_lock(&a->mu);
            if (r == -EIO)
                a->ns_stuck = true;
            else if (r < 0)
                a->ns_retry_ms = mono_ms() + AHEAD_RETRY_MS;
            else {
                a->net[a->nns] = net;
                a->ipc[a->nns] = ipc;
                a->nns++;
            }
        }
        if (cg) {
            uint64_t memory = a->memory;
            unsigned pids = a->pids;
            char id[64];
            snprintf(id, sizeof(id), "%d-a%llu", (int)getpid(), (unsigned long long)++a->seq);
            pthread_mutex_unlock(&a->mu);
            ready_cg one = {.memory = memory, .pids = pids};
            int r = rn_cgroup_create(a->root, id, memory, pids, &one.cg);
            pthread_mutex_lock(&a->mu);
            if (r < 0)
                a->cg_retry_ms = mono_ms() + AHEAD_RETRY_MS;
            else
                a->cgs[a->ncg++] = one;
        }
    }
    /* What is still busy goes back to the shared list, for rn_ahead_free. */
    for (size_t i = 0; i < g.n; i++)
        rn_ahead_put_dead_locked(a, &g.v[i]);
    free(g.v);
    pthread_mutex_unlock(&a->mu);
    if (home_net >= 0)
        close(home_net);
    if (home_ipc >= 0)
        close(home_ipc);
    return NULL;
}

int rn_ahead_new(unsigned want_ns, const rn_cgroup_root *root, unsigned want_cg, rn_ahead **out)
{
    *out = NULL;
    rn_ahead *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->want_ns = want_ns < AHEAD_MAX ? want_ns : AHEAD_MAX;
    a->root = root;
    a->want_cg = root && root->version ? (want_cg < AHEAD_MAX ? want_cg : AHEAD_MAX) : 0;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    /* The thread takes no signal of the caller's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = -pthread_create(&a->thread, NULL, worker, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return r;
    }
    *out = a;
    return 0;
}

int rn_ahead_take_ns(rn_ahead *a, int *net, int *ipc)
{
    int r = -EAGAIN;
    pthread_mutex_lock(&a->mu);
    if (a->nns > 0) {
        a->nns--;
        *net = a->net[a->nns];
        *ipc = a->ipc[a->nns];
        r = 0;
        if (a->nns == 0)
            pthread_cond_signal(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

int rn_ahead_take_cgroup(rn_ahead *a, uint64_t memory, unsigned pids, rn_cgroup_run *out)
{
    pthread_mutex_lock(&a->mu);
    bool changed = !a->asked || a->memory != memory || a->pids != pids;
    a->asked = true;
    a->memory = memory;
    a->pids = pids;
    ready_cg one;
    bool have = a->ncg > 0;
    if (have)
        one = a->cgs[--a->ncg];
    if (a->ncg == 0 || changed)
        pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (!have)
        return -EAGAIN;
    /* One made for other limits: set ours (the next ones get ours). */
    int r = 0;
    if (one.memory != memory || one.pids != pids)
        r = rn_cgroup_set_limits(a->root, &one.cg, one.memory, memory, pids);
    if (r < 0) {
        rn_ahead_retire_cgroup(a, &one.cg);
        return r;
    }
    *out = one.cg;
    return 0;
}

void rn_ahead_running(rn_ahead *a, bool started)
{
    pthread_mutex_lock(&a->mu);
    if (started)
        a->running++;
    else if (a->running > 0 && --a->running == 0)
        pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

void rn_ahead_retire_cgroup(rn_ahead *a, rn_cgroup_run *run)
{
    pthread_mutex_lock(&a->mu);
    rn_ahead_put_dead_locked(a, run);
    /* the thread buries it once no run is going */
    pthread_mutex_unlock(&a->mu);
    memset(run, 0, sizeof(*run));
    run->v2fd = -1;
}

void rn_ahead_linger(rn_ahead *a, int pidfd, uid_t uid, bool uid_owned)
{
    pthread_mutex_lock(&a->mu);
    if (a->ninits == a->capinits) {
        size_t cap = a->capinits ? 2 * a->capinits : 16;
        void *v = realloc(a->inits, cap * sizeof(*a->inits));
        if (!v) { /* wait for it here, then: it is on its way out */
            pthread_mutex_unlock(&a->mu);
            struct pollfd pfd = {pidfd, POLLIN, 0};
            poll(&pfd, 1, 5000);
            siginfo_t info;
            syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | WNOHANG, NULL);
            close(pidfd);
            pthread_mutex_lock(&a->mu);
            goto out;
        }
        a->inits = v;
        a->capinits = cap;
    }
    a->inits[a->ninits].pidfd = pidfd;
    a->inits[a->ninits].uid = uid;
    a->inits[a->ninits].owned = uid_owned;
    a->ninits++;
    pthread_cond_signal(&a->cv);
out:
    pthread_mutex_unlock(&a->mu);
    (void)uid;
}

size_t rn_ahead_freed_uids(rn_ahead *a, uid_t *out, size_t max)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->nfreed < max ? a->nfreed : max;
    if (n) {
        memcpy(out, a->freed + (a->nfreed - n), n * sizeof(*out));
        a->nfreed -= n;
    }
    pthread_mutex_unlock(&a->mu);
    return n;
}

void rn_ahead_free(rn_ahead *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    for (size_t i = 0; i < a->ninits; i++) {
        int fd = a->inits[i].pidfd;
        syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, 5000);
        siginfo_t info;
        syscall(SYS_waitid, P_PIDFD, fd, &info, WEXITED | WNOHANG, NULL);
        close(fd);
    }
    free(a->inits);
    free(a->freed);
    for (unsigned i = 0; i < a->nns; i++) {
        close(a->net[i]);
        close(a->ipc[i]);
    }
    for (unsigned i = 0; i < a->ncg; i++) {
        rn_cgroup_destroy(&a->cgs[i].cg);
        rn_cgroup_run_free(&a->cgs[i].cg);
    }
    /* Runs reaped a moment ago: give their cgroups a last chance. */
    for (int i = 0;
         i < 50 && a->ndead && (a->ndead = rn_cgroup_destroy_list(a->dead, a->ndead)) > 0; i++)
        usleep(2000);
    for (size_t i = 0; i < a->ndead; i++)
        rn_cgroup_run_free(&a->dead[i]);
    free(a->dead);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
