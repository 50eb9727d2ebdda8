/* The Lenses envelope's settings: its environments (dataset directories),
 * tokens and the environments each may query, limits, and the runnel-sql
 * helper as a spec of its own. The contract is lenses_config.h. */
#include "lenses_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

lenses_settings lenses_cfg;

/* The host whose specs directory locates the demo environment. */
static rn_host *host;

void lenses_config_free(void)
{
    for (size_t i = 0; i < lenses_cfg.ntokens; i++) {
        free(lenses_cfg.tokens[i].token);
        for (char **e = lenses_cfg.tokens[i].envs; e && *e; e++)
            free(*e);
        free(lenses_cfg.tokens[i].envs);
    }
    rn_spec_free(lenses_cfg.spec);
    memset(&lenses_cfg, 0, sizeof(lenses_cfg));
}

bool lenses_valid_env_name(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return !(n <= 2 && s[0] == '.');
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_exec(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static void copy_path(char *out, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = 0;
    memcpy(out, src, n);
    out[n] = 0;
}

/* The demo environment shipped in the repo (beside the specs) or installed. */
static void demo_path(char *out, size_t size)
{
    rn_host_info info;
    rn_host_info_get(host, &info);
    const char *specs = info.specs_dir ? info.specs_dir : "";
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/../runtimes/lenses-demo", specs);
    char real[PATH_MAX];
    if (specs[0] && realpath(p, real) && is_dir(real)) {
        copy_path(out, size, real);
        return;
    }
    snprintf(out, size, "%s", "/usr/share/runnel/lenses-demo");
}

/* runnel-sql beside runneld (a build tree) or in libexec. */
static void find_helper(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    out[0] = 0;
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char p[PATH_MAX + 64];
            snprintf(p, sizeof(p), "%s/runnel-sql", exe);
            if (is_exec(p)) {
                copy_path(out, size, p);
                return;
            }
            snprintf(p, sizeof(p), "%s/../libexec/runnel/runnel-sql", exe);
            char real[PATH_MAX];
            if (realpath(p, real) && is_exec(real)) {
                copy_path(out, size, real);
                return;
            }
        }
    }
    if (is_exec("/usr/libexec/runnel/runnel-sql"))
        snprintf(out, size, "%s", "/usr/libexec/runnel/runnel-sql");
}

static int add_env(const char *name, const char *path, bool auth, char *err, size_t size)
{
    if (!lenses_valid_env_name(name, strlen(name))) {
        snprintf(err, size, "lenses.environments.%.64s: name must be 1-64 of [A-Za-z0-9._-]", name);
        return -EINVAL;
    }
    if (lenses_cfg.nenvs == LENSES_MAX_ENVS) {
        snprintf(err, size, "lenses.environments: at most %d environments", LENSES_MAX_ENVS);
        return -EINVAL;
    }
    if (path[0] != '/' || strlen(path) >= PATH_MAX) {
        snprintf(err, size, "lenses.environments.%s.path: must be an absolute path", name);
        return -EINVAL;
    }
    lenses_env *e = &lenses_cfg.envs[lenses_cfg.nenvs++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    copy_path(e->path, sizeof(e->path), path);
    e->auth = auth;
    if (!is_dir(path))
        rn_log(RN_LOG_WARN, "lenses.env_missing", "env=%s path=%s", name, path);
    return 0;
}

const lenses_env *lenses_find_env(const char *name, size_t n)
{
    for (size_t i = 0; i < lenses_cfg.nenvs; i++)
        if (strlen(lenses_cfg.envs[i].name) == n && !memcmp(lenses_cfg.envs[i].name, name, n))
            return &lenses_cfg.envs[i];
    return NULL;
}

static int parse_envs(const cJSON *envs, bool auth, char *err, size_t size)
{
    if (!envs) {
        char p[PATH_MAX];
        demo_path(p, sizeof(p));
        /* The embedded default: the demo data needs no token. */
        return add_env("demo", p, false, err, size);
    }
    if (!cJSON_IsObject(envs)) {
        snprintf(err, size,
                 "lenses.environments: must be an object of name: path or "
                 "name: {path, auth}");
        return -EINVAL;
    }
    for (const cJSON *e = envs->child; e; e = e->next) {
        const char *path = NULL;
        bool eauth = auth;
        if (cJSON_IsString(e)) {
            path = e->valuestring;
        } else if (cJSON_IsObject(e)) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "auth");
            if (!cJSON_IsString(p)) {
                snprintf(err, size, "lenses.environments.%.64s.path: must be a string", e->string);
                return -EINVAL;
            }
            if (a && !cJSON_IsBool(a)) {
                snprintf(err, size, "lenses.environments.%.64s.auth: must be a boolean", e->string);
                return -EINVAL;
            }
            for (const cJSON *k = e->child; k; k = k->next) {
                if (strcmp(k->string, "path") && strcmp(k->string, "auth")) {
                    snprintf(err, size, "lenses.environments.%.64s.%.64s: unknown key", e->string,
                             k->string);
                    return -EINVAL;
                }
            }
            path = p->valuestring;
            if (a)
                eauth = cJSON_IsTrue(a);
        } else {
            snprintf(err, size, "lenses.environments.%.64s: must be a path or {path, auth}",
                     e->string);
            return -EINVAL;
        }
        if (lenses_find_env(e->string, strlen(e->string))) {
            snprintf(err, size, "lenses.environments.%.64s: defined twice", e->string);
            return -EINVAL;
        }
        int r = add_env(e->string, path, eauth, err, size);
        if (r < 0)
            return r;
    }
    if (!lenses_cfg.nenvs) {
        snprintf(err, size, "lenses.environments: must name at least one environment");
        return -EINVAL;
    }
    return 0;
}

static int parse_tokens(const cJSON *toks, char *err, size_t size)
{
    if (!toks)
        return 0;
    if (!cJSON_IsObject(toks)) {
        snprintf(err, size, "lenses.tokens: must be an object of token: [environment, ...]");
        return -EINVAL;
    }
    for (const cJSON *t = toks->child; t; t = t->next) {
        size_t tl = strlen(t->string);
        if (tl < 8 || tl > 512) {
            snprintf(err, size, "lenses.tokens: each token must be 8-512 characters");
            return -EINVAL;
        }
        for (size_t i = 0; i < tl; i++) {
            if ((unsigned char)t->string[i] <= ' ' || (unsigned char)t->string[i] >= 0x7f) {
                snprintf(err, size, "lenses.tokens: a token must be printable ASCII, no spaces");
                return -EINVAL;
            }
        }
        if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) < 1) {
            snprintf(err, size,
                     "lenses.tokens.<token>: must be a non-empty array of "
                     "environment names (\"*\" = all)");
            return -EINVAL;
        }
        if (lenses_cfg.ntokens == LENSES_MAX_TOKENS) {
            snprintf(err, size, "lenses.tokens: at most %d tokens", LENSES_MAX_TOKENS);
            return -EINVAL;
        }
        lenses_token *lt = &lenses_cfg.tokens[lenses_cfg.ntokens];
        size_t n = (size_t)cJSON_GetArraySize(t), k = 0;
        lt->envs = calloc(n + 1, sizeof(char *));
        lt->token = strdup(t->string);
        lenses_cfg.ntokens++;
        if (!lt->envs || !lt->token) {
            snprintf(err, size, "out of memory");
            return -ENOMEM;
        }
        for (const cJSON *e = t->child; e; e = e->next) {
            if (!cJSON_IsString(e) || (strcmp(e->valuestring, "*") &&
                                       !lenses_find_env(e->valuestring, strlen(e->valuestring)))) {
                snprintf(err, size,
                         "lenses.tokens.<token>: \"%.64s\" is not a configured environment",
                         cJSON_IsString(e) ? e->valuestring : "?");
                return -EINVAL;
            }
            if (!(lt->envs[k++] = strdup(e->valuestring))) {
                snprintf(err, size, "out of memory");
                return -ENOMEM;
            }
        }
    }
    return 0;
}

static int make_spec(char *err, size_t size)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *run = cJSON_AddArrayToObject(root, "run");
    cJSON *mounts = cJSON_AddArrayToObject(root, "mounts");
    cJSON *m = cJSON_CreateObject();
    cJSON *env = cJSON_AddObjectToObject(root, "env");
    if (!root || !run || !mounts || !m || !env)
        goto oom;
    cJSON_AddStringToObject(root, "name", "lenses-sql");
    cJSON_AddStringToObject(root, "display", "Lenses SQL (SQLite)");
    cJSON_AddStringToObject(root, "language", "sql");
    cJSON_AddStringToObject(root, "filename", "query.sql");
    cJSON_AddStringToObject(root, "example", "SELECT 1");
    cJSON_AddStringToObject(root, "example_output", "");
    cJSON_AddItemToArray(run, cJSON_CreateString(LENSES_HELPER_INBOX));
    cJSON_AddItemToArray(run, cJSON_CreateString("--sql"));
    cJSON_AddItemToArray(run, cJSON_CreateString("{file}"));
    cJSON_AddItemToArray(run, cJSON_CreateString("{args}"));
    cJSON_AddStringToObject(m, "src", lenses_cfg.helper);
    cJSON_AddStringToObject(m, "dst", LENSES_HELPER_INBOX);
    cJSON_AddItemToArray(mounts, m);
    m = NULL;
    cJSON_AddStringToObject(env, "PATH", "/usr/bin:/bin");
    cJSON_AddStringToObject(env, "LANG", "C.UTF-8");
    cJSON_AddStringToObject(env, "HOME", "/tmp");
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        goto oom;
    char why[256];
    int r = rn_spec_parse(text, strlen(text), &lenses_cfg.spec, why, sizeof(why));
    free(text);
    cJSON_Delete(root);
    if (r < 0) {
        snprintf(err, size, "lenses.helper: %s", why);
        return r;
    }
    return 0;
oom:
    cJSON_Delete(m);
    cJSON_Delete(root);
    snprintf(err, size, "out of memory");
    return -ENOMEM;
}

int lenses_config_load(rn_host *h, const lenses_conf *c, char *err, size_t size)
{
    host = h;
    lenses_config_free();
    lenses_cfg.max_rows = c->max_rows;
    lenses_cfg.max_bytes = c->max_bytes;
    lenses_cfg.max_time_ms = c->max_time_ms;
    lenses_cfg.heartbeat_ms = c->heartbeat_ms;
    lenses_cfg.max_sql_bytes = c->max_sql_bytes;
    lenses_cfg.memory_bytes = c->memory_bytes;
    lenses_cfg.max_record_bytes = c->max_record_bytes;
    bool auth = c->auth;
    int r = -EINVAL;
    if ((r = parse_envs(c->environments, auth, err, size)) < 0)
        goto fail;
    const char *d = c->default_environment[0] ? c->default_environment : NULL;
    if (d && !lenses_find_env(d, strlen(d))) {
        snprintf(err, size, "lenses.default_environment: must name a configured environment");
        r = -EINVAL;
        goto fail;
    }
    snprintf(lenses_cfg.default_env, sizeof(lenses_cfg.default_env), "%s",
             d ? d : (lenses_find_env("demo", 4) ? "demo" : lenses_cfg.envs[0].name));
    if ((r = parse_tokens(c->tokens, err, size)) < 0)
        goto fail;
    if (c->helper[0]) {
        if (c->helper[0] != '/' || !is_exec(c->helper)) {
            snprintf(err, size, "lenses.helper: must be the absolute path of runnel-sql");
            r = -EINVAL;
            goto fail;
        }
        copy_path(lenses_cfg.helper, sizeof(lenses_cfg.helper), c->helper);
    } else {
        find_helper(lenses_cfg.helper, sizeof(lenses_cfg.helper));
    }
    if (lenses_cfg.helper[0] && (r = make_spec(err, size)) < 0)
        goto fail;
    if (!lenses_cfg.helper[0])
        rn_log(RN_LOG_WARN, "lenses.no_helper",
               "msg=\"runnel-sql not found: Lenses SQL queries will fail\"");
    rn_log(RN_LOG_INFO, "lenses.ready", "environments=%zu default=%s tokens=%zu helper=%s",
           lenses_cfg.nenvs, lenses_cfg.default_env, lenses_cfg.ntokens,
           lenses_cfg.helper[0] ? lenses_cfg.helper : "none");
    return 0;
fail:
    lenses_config_free();
    return r < 0 ? r : -EINVAL;
}

/* The Lenses token an "Authorization: Bearer T" header names, or NULL. */
const lenses_token *lenses_token_of(const char *a)
{
    if (!a || strncasecmp(a, "Bearer ", 7))
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    size_t alen = strlen(a);
    while (alen && a[alen - 1] == ' ')
        alen--;
    const lenses_token *tok = NULL;
    for (size_t i = 0; i < lenses_cfg.ntokens; i++)
        if (rn_secret_equal(lenses_cfg.tokens[i].token, strlen(lenses_cfg.tokens[i].token), a,
                            alen))
            tok = &lenses_cfg.tokens[i];
    return alen ? tok : NULL;
}
