/* The environment of a run's stages. */
#include "jobenv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Set KEY=VALUE in a NULL-terminated vector, replacing an earlier KEY. */
static int env_set(char ***envp, size_t *n, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    char *copy = strdup(kv);
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        if (!strncmp((*envp)[i], kv, klen) && (*envp)[i][klen] == '=') {
            free((*envp)[i]);
            (*envp)[i] = copy;
            return 0;
        }
    }
    char **nv = realloc(*envp, (*n + 2) * sizeof(char *));
    if (!nv) {
        free(copy);
        return -ENOMEM;
    }
    nv[(*n)++] = copy;
    nv[*n] = NULL;
    *envp = nv;
    return 0;
}

int rn_jobenv_make(const rn_spec *spec, const char *const *extra, size_t n, char ***out)
{
    static const char *const base[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "HOME=/tmp",
        "LANG=C.UTF-8",
        "TERM=dumb",
    };
    size_t len = 0;
    int err = 0;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]) && !err; i++)
        err = env_set(out, &len, base[i]);
    for (char **e = spec->env; e && *e && !err; e++)
        err = env_set(out, &len, *e);
    for (size_t i = 0; extra && i < n && !err; i++)
        err = env_set(out, &len, extra[i]);
    if (!err && !*out)
        err = -ENOMEM;
    return err;
}

bool rn_jobenv_valid(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return false;
    return strlen(kv) <= RN_JOB_MAX_STRING;
}
