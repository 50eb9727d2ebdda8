/* Network and IPC namespaces made ahead of the runs that use them.
 *
 * Creating a network namespace is the dearest part of a sandbox's start
 * (every per-network subsystem initialises its state: ~0.7 ms on a small
 * VM), an IPC namespace the next (~0.3 ms). A thread of our own makes a
 * few of each ahead of time: it unshares them for itself, keeps an fd of
 * each and returns to the caller's namespaces. rn_box_spawn takes one pair
 * per run, enters it just for its clone3 (the child is born inside) and
 * closes its fds: each pair serves exactly one run, and the kernel frees
 * it when that run ends.
 *
 * They belong to the initial user namespace, not to the run's, so nothing
 * in the run holds a capability over them: its loopback is set up by the
 * parent and cannot be reconfigured from inside.
 */
#include "box_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define RN_NSPOOL_MAX 16

struct rn_nspool {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned want, n;
    int net[RN_NSPOOL_MAX], ipc[RN_NSPOOL_MAX];
    bool stop;
    int err; /* the maker's first failure; it then stops making */
};

int rn_nspool_loopback(bool up)
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
     * (it does nothing else) but it can make no more. */
    if (setns(home_net, CLONE_NEWNET) < 0 || setns(home_ipc, CLONE_NEWIPC) < 0)
        r = -errno;
    if (r < 0) {
        if (*net >= 0)
            close(*net);
        if (*ipc >= 0)
            close(*ipc);
        *net = *ipc = -1;
    }
    return r;
}

static void *maker(void *arg)
{
    rn_nspool *p = arg;
    int home_net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int home_ipc = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
    pthread_mutex_lock(&p->mu);
    if (home_net < 0 || home_ipc < 0)
        p->err = -errno;
    while (!p->stop) {
        if (p->n >= p->want || p->err) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        int net, ipc;
        int r = make_pair(home_net, home_ipc, &net, &ipc);
        pthread_mutex_lock(&p->mu);
        if (r < 0) {
            p->err = r;
        } else {
            p->net[p->n] = net;
            p->ipc[p->n] = ipc;
            p->n++;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (home_net >= 0)
        close(home_net);
    if (home_ipc >= 0)
        close(home_ipc);
    return NULL;
}

int rn_nspool_new(unsigned want, rn_nspool **out)
{
    *out = NULL;
    if (want == 0)
        return 0;
    rn_nspool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->want = want < RN_NSPOOL_MAX ? want : RN_NSPOOL_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* The maker takes no signal of the caller's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = -pthread_create(&p->thread, NULL, maker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return r;
    }
    *out = p;
    return 0;
}

int rn_nspool_take(rn_nspool *p, int *net, int *ipc)
{
    int r = -EAGAIN;
    pthread_mutex_lock(&p->mu);
    if (p->n > 0) {
        p->n--;
        *net = p->net[p->n];
        *ipc = p->ipc[p->n];
        r = 0;
        pthread_cond_signal(&p->cv);
    } else if (p->err) {
        r = p->err;
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

void rn_nspool_free(rn_nspool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    for (unsigned i = 0; i < p->n; i++) {
        close(p->net[i]);
        close(p->ipc[i]);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
