/* Language specs: is a toolchain installed (availability), and where a
 * program is. */
#include "specs_int.h"

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
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static const char *const search_path[] = {"/usr/bin", "/bin", "/usr/local/bin", NULL};

/* ---- availability ---- */

static bool is_exec(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int rn_spec_resolve_program(const char *prog, char **out)
{
    char buf[PATH_MAX];

    *out = NULL;
    if (strchr(prog, '/') != NULL) {
        if (prog[0] != '/' || !is_exec(prog))
            return -ENOENT;
        *out = strdup(prog);
        return *out == NULL ? -ENOMEM : 0;
    }
    for (size_t i = 0; search_path[i] != NULL; i++) {
        int n = snprintf(buf, sizeof(buf), "%s/%s", search_path[i], prog);

        if (n > 0 && (size_t)n < sizeof(buf) && is_exec(buf)) {
            *out = strdup(buf);
            return *out == NULL ? -ENOMEM : 0;
        }
    }
    return -ENOENT;
}

static int add_missing(spec_strbuf *b, const char *what)
{
    int rc = 0;

    if (b->len > 0)
        rc = spec_sb_adds(b, ", ");
    return rc < 0 ? rc : spec_sb_adds(b, what);
}

/* Resolve argv[0] in place (bare names become absolute paths, as the sandbox
 * execs by path); a program that is not there is recorded in missing. */
static int check_argv0(char **argv, spec_strbuf *missing)
{
    char *abs;
    int rc;

    if (argv == NULL || argv[0] == NULL)
        return 0;
    /* Artifacts of the compile stage, or files in the work dir. */
    if (strchr(argv[0], '{') != NULL || strncmp(argv[0], "/work/", 6) == 0 ||
        strncmp(argv[0], "/build/", 7) == 0 || strncmp(argv[0], "./", 2) == 0)
        return 0;
    rc = rn_spec_resolve_program(argv[0], &abs);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return add_missing(missing, argv[0]);
    free(argv[0]);
    argv[0] = abs;
    return 0;
}

/* Files under /usr named as whole arguments (a compiler's script or jar run
 * by an interpreter, e.g. node's tsc) belong to the toolchain too. */
static int check_usr_args(char **argv, spec_strbuf *missing)
{
    int rc;

    for (size_t i = 1; argv != NULL && argv[i] != NULL; i++) {
        struct stat st;
        const char *a = argv[i];

        if (strncmp(a, "/usr/", 5) != 0 || strpbrk(a, ":{*") != NULL || stat(a, &st) == 0)
            continue;
        if ((rc = add_missing(missing, a)) < 0)
            return rc;
    }
    return 0;
}

int rn_spec_check_available(rn_spec *sp)
{
    spec_strbuf missing = {0};
    int rc;

    if ((rc = check_argv0(sp->compile, &missing)) < 0)
        goto out;
    if ((rc = check_argv0(sp->run, &missing)) < 0)
        goto out;
    if ((rc = check_usr_args(sp->compile, &missing)) < 0)
        goto out;
    if ((rc = check_usr_args(sp->run, &missing)) < 0)
        goto out;
    for (size_t i = 0; i < sp->nmounts; i++) {
        struct stat st;

        if (!sp->mounts[i].optional && stat(sp->mounts[i].src, &st) < 0 &&
            (rc = add_missing(&missing, sp->mounts[i].src)) < 0)
            goto out;
    }
    free(sp->missing);
    sp->missing = NULL;
    sp->available = missing.len == 0;
    if (!sp->available && sp->packages[0] != NULL) {
        if ((rc = spec_sb_adds(&missing, " (apt install")) < 0)
            goto out;
        for (char **p = sp->packages; *p != NULL; p++)
            if ((rc = spec_sb_adds(&missing, " ")) < 0 || (rc = spec_sb_adds(&missing, *p)) < 0)
                goto out;
        if ((rc = spec_sb_adds(&missing, ")")) < 0)
            goto out;
    }
    sp->missing = missing.len > 0 ? missing.s : strdup("");
    missing.s = NULL;
    if (sp->missing == NULL)
        rc = -ENOMEM;
out:
    free(missing.s);
    return rc;
}
