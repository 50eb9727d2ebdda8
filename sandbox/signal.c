/* Signals for a run's program (rn_box_signal): found by its parent, the
 * run's init, and its pid 2 in the run's pid namespace. */
#include "box.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether /proc/<pid>/status says the process is a child of ppid and is
 * pid 2 of its own (innermost) pid namespace. */
static bool is_program(const char *pid, pid_t ppid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%s/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    const char *pp = strstr(buf, "\nPPid:");
    const char *ns = strstr(buf, "\nNSpid:");
    if (!pp || !ns || strtol(pp + 6, NULL, 10) != (long)ppid)
        return false;
    const char *end = strchr(ns + 1, '\n');
    const char *last = end ? end : ns + strlen(ns);
    while (last > ns && isspace((unsigned char)last[-1]))
        last--;
    const char *start = last;
    while (start > ns && isdigit((unsigned char)start[-1]))
        start--;
    return last - start == 1 && *start == '2' && isspace((unsigned char)start[-1]);
}

int rn_box_signal(rn_box *box, int sig)
{
    if (sig <= 0 || sig >= 65)
        return -EINVAL;
    struct pollfd p = {.fd = rn_box_pidfd(box), .events = POLLIN};
    if (p.fd < 0 || poll(&p, 1, 0) != 0)
        return -ESRCH; /* the run's init is gone: so is the run */
    pid_t init = rn_box_pid(box);
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    pid_t program = 0;
    struct dirent *e;
    while (!program && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        if (is_program(e->d_name, init))
            program = (pid_t)strtol(e->d_name, NULL, 10);
    }
    closedir(d);
    if (!program)
        return -ESRCH;
    /* The program leads its own session and process group (like a
     * terminal's foreground job): the group gets the signal. */
    if (kill(-program, sig) < 0 && kill(program, sig) < 0)
        return -errno;
    return 0;
}
