#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef enum { K_STR, K_U64, K_BOOL, K_LIST, K_SECTION } key_type;

typedef struct {
    const char *name; /* dotted */
    key_type type;
    size_t off;
    size_t size; /* for strings */
    uint64_t min, max;
} key_def;

#define STR(n, f)                                                                                  \
    {                                                                                              \
        n, K_STR, offsetof(rn_config, f), sizeof(((rn_config *)0)->f), 0, 0                        \
    }
#define U64(n, f, lo, hi)                                                                          \
    {                                                                                              \
        n, K_U64, offsetof(rn_config, f), 0, lo, hi                                                \
    }
#define BOOL(n, f)                                                                                 \
    {                                                                                              \
        n, K_BOOL, offsetof(rn_config, f), 0, 0, 1                                                 \
    }
#define LIST(n, f)                                                                                 \
    {                                                                                              \
        n, K_LIST, offsetof(rn_config, f), sizeof(((rn_config *)0)->f), 0, 0                       \
    }
#define SECTION(n)                                                                                 \
    {                                                                                              \
        n, K_SECTION, 0, 0, 0, 0                                                                   \
    }
#define GiB (1ull << 30)

static const key_def keys[] = {
    STR("listen", listen),
    STR("specs", specs),
    STR("log_level", log_level),
    SECTION("limits"),
    U64("limits.concurrency", concurrency, 0, 1024),
    U64("limits.queue", queue, 0, 100000),
    U64("limits.per_connection", per_connection, 1, 1024),
    U64("limits.wall_ms", wall_ms, 100, 3600000),
    U64("limits.cpu_ms", cpu_ms, 0, 3600000),
    U64("limits.memory_bytes", memory_bytes, 16ull << 20, 64 * GiB),
    U64("limits.output_bytes", output_bytes, 1024, 4 * GiB),
    U64("limits.code_bytes", code_bytes, 16, 64ull << 20),
    U64("limits.message_bytes", message_bytes, 1024, 256ull << 20),
    U64("limits.pids", pids, 1, 65536),
    U64("limits.nofile", nofile, 16, 65536),
    U64("limits.tmp_bytes", tmp_bytes, 1ull << 20, 64 * GiB),
    U64("limits.idle_client_ms", idle_client_ms, 100, 86400000),
    U64("limits.queue_bytes", queue_bytes, 4096, 1 * GiB),
    U64("limits.request_timeout_ms", request_timeout_ms, 100, 3600000),
    SECTION("cache"),
    STR("cache.dir", cache_dir),
    U64("cache.max_bytes", cache_bytes, 0, 1024 * GiB),
    SECTION("sandbox"),
    U64("sandbox.uid_first", uid_first, 1000, 4000000000ull),
    U64("sandbox.uid_count", uid_count, 1, 1000000),
    STR("sandbox.cgroup", cgroup),
    BOOL("sandbox.no_cgroup", no_cgroup),
    U64("sandbox.ahead", ahead, 0, 16),
    U64("sandbox.warm", warm, 0, 16),
    SECTION("auth"),
    LIST("auth.tokens", auth_tokens),
    SECTION("security"),
    LIST("security.origins", origins),
    LIST("security.hosts", hosts),
    LIST("security.trusted_proxies", trusted_proxies),
    U64("limits.connections_per_ip", connections_per_ip, 0, 1000000),
    U64("limits.runs_per_minute_per_ip", runs_per_minute_per_ip, 0, 1000000),
    SECTION("tls"),
    STR("tls.cert", tls_cert),
    STR("tls.key", tls_key),
    BOOL("playground", playground),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *const rn_config_envelope_sections[] = {"linkis", "zeppelin", "lenses", NULL};

static bool is_envelope_section(const char *name)
{
    for (const char *const *n = rn_config_envelope_sections; *n; n++)
        if (!strcmp(*n, name))
            return true;
    return false;
}

const struct cJSON *rn_config_section(const rn_config *cfg, const char *name)
{
    return cfg->sections ? cJSON_GetObjectItemCaseSensitive(cfg->sections, name) : NULL;
}

void rn_config_free(rn_config *cfg)
{
    cJSON_Delete(cfg->sections);
    cfg->sections = NULL;
}

int rn_config_copy(rn_config *dst, const rn_config *src)
{
    *dst = *src;
    dst->sections = NULL;
    if (src->sections && !(dst->sections = cJSON_Duplicate(src->sections, 1)))
        return -ENOMEM;
    return 0;
}

bool rn_config_list_has(const char *list, const char *item)
{
    size_t il = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == il && !memcmp(p, item, il))
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

size_t rn_config_key_count(void)
{
    return NKEYS;
}

const char *rn_config_key_name(size_t i)
{
    return i < NKEYS ? keys[i].name : NULL;
}

void rn_config_defaults(rn_config *cfg, const char *specs_default)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8080");
    snprintf(cfg->specs, sizeof(cfg->specs), "%s", specs_default ? specs_default : "specs");
    snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
    cfg->concurrency = 0; /* = CPUs */
    cfg->queue = 64;
    cfg->per_connection = 4;
    cfg->wall_ms = 10000;
    cfg->cpu_ms = 0; /* = wall */
    cfg->memory_bytes = 256ull << 20;
    cfg->output_bytes = 1ull << 20;
    cfg->code_bytes = 256ull << 10;
    cfg->message_bytes = 1ull << 20;
    cfg->pids = 64;
    cfg->nofile = 256;
    cfg->tmp_bytes = 64ull << 20;
    cfg->idle_client_ms = 0; /* = wall */
    cfg->queue_bytes = 256ull << 10;
    cfg->request_timeout_ms = 10000;
    cfg->cache_bytes = 512ull << 20;
    cfg->uid_first = 1879048192; /* 0x70000000: clear of systemd and /etc/subuid ranges */
    cfg->uid_count = 65536;
    cfg->ahead = 4;
    cfg->warm = 2;
    snprintf(cfg->cgroup, sizeof(cfg->cgroup), "runnel");
    cfg->playground = true;
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

static int line_of(const char *text, const char *at)
{
    int line = 1;
    for (const char *p = text; p && at && p < at && *p; p++)
        if (*p == '\n')
            line++;
    return line;
}

/* The line where "key" first appears as a JSON key (best effort). */
static int line_of_key(const char *text, const char *key)
{
    char pat[160];
    const char *leaf = strrchr(key, '.');
    snprintf(pat, sizeof(pat), "\"%s\"", leaf ? leaf + 1 : key);
    const char *at = strstr(text, pat);
    return at ? line_of(text, at) : 1;
}

static int set_value(rn_config *cfg, const key_def *k, const cJSON *v, const char **why)
{
    char *base = (char *)cfg + k->off;
    switch (k->type) {
    case K_STR:
        if (!cJSON_IsString(v)) {
            *why = "must be a string";
            return -EINVAL;
        }
        if (strlen(v->valuestring) >= k->size) {
            *why = "is too long";
            return -EINVAL;
        }
        memcpy(base, v->valuestring, strlen(v->valuestring) + 1);
        return 0;
    case K_U64: {
        if (!cJSON_IsNumber(v)) {
            *why = "must be a number";
            return -EINVAL;
        }
        double d = v->valuedouble;
        /* Range first: converting an out-of-range double is undefined. */
        if (!(d >= 0 && d < 18446744073709551616.0) || d != (double)(uint64_t)d) {
            *why = "must be a non-negative integer";
            return -EINVAL;
        }
        uint64_t u = (uint64_t)d;
        if ((u < k->min && u != 0) || u > k->max) {
            *why = "is out of range";
            return -EINVAL;
        }
        *(uint64_t *)base = u;
        return 0;
    }
    case K_BOOL:
        if (!cJSON_IsBool(v)) {
            *why = "must be true or false";
            return -EINVAL;
        }
        *(bool *)base = cJSON_IsTrue(v);
        return 0;
    case K_LIST: {
        if (!cJSON_IsArray(v)) {
            *why = "must be an array of strings";
            return -EINVAL;
        }
        size_t o = 0;
        for (const cJSON *e = v->child; e; e = e->next) {
            if (!cJSON_IsString(e) || !e->valuestring[0] || strchr(e->valuestring, '\n')) {
                *why = "must be an array of non-empty one-line strings";
                return -EINVAL;
            }
            size_t l = strlen(e->valuestring);
            if (o + l + 2 > k->size) {
                *why = "is too long";
                return -EINVAL;
            }
            memcpy(base + o, e->valuestring, l);
            o += l;
            base[o++] = '\n';
        }
        base[o] = 0;
        return 0;
    }
    case K_SECTION:
        break;
    }
    *why = "must be an object";
    return -EINVAL;
}

static int apply_object(rn_config *cfg, const char *name, const char *text, const cJSON *obj,
                        const char *prefix, char *err, size_t errsize)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        char full[128];
        snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", it->string);
        const key_def *k = find_key(full);
        if (!k && !*prefix && is_envelope_section(it->string)) {
            if (!cJSON_IsObject(it)) {
                snprintf(err, errsize, "%s:%d: '%s' must be an object", name,
                         line_of_key(text, full), full);
                return -EINVAL;
            }
            if (!cfg->sections && !(cfg->sections = cJSON_CreateObject()))
                return -ENOMEM;
            cJSON_DeleteItemFromObjectCaseSensitive(cfg->sections, it->string);
            cJSON *dup = cJSON_Duplicate(it, 1);
            if (!dup || !cJSON_AddItemToObject(cfg->sections, it->string, dup)) {
                cJSON_Delete(dup);
                return -ENOMEM;
            }
            continue;
        }
        if (!k) {
            snprintf(err, errsize, "%s:%d: unknown key '%s'", name, line_of_key(text, full), full);
            return -EINVAL;
        }
        if (k->type == K_SECTION) {
            if (!cJSON_IsObject(it)) {
                snprintf(err, errsize, "%s:%d: '%s' must be an object", name,
                         line_of_key(text, full), full);
                return -EINVAL;
            }
            int r = apply_object(cfg, name, text, it, full, err, errsize);
            if (r < 0)
                return r;
            continue;
        }
        const char *why = NULL;
        if (set_value(cfg, k, it, &why) < 0) {
            snprintf(err, errsize, "%s:%d: '%s' %s", name, line_of_key(text, full), full, why);
            return -EINVAL;
        }
    }
    return 0;
}

int rn_config_load_text(rn_config *cfg, const char *name, const char *text, char *err,
                        size_t errsize)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        snprintf(err, errsize, "%s:%d: invalid JSON", name, line_of(text, end));
        return -EINVAL;
    }
    int r;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errsize, "%s:1: the configuration must be a JSON object", name);
        r = -EINVAL;
    } else {
        rn_config tmp;
        r = rn_config_copy(&tmp, cfg);
        if (r == 0)
            r = apply_object(&tmp, name, text, root, "", err, errsize);
        if (r == 0) {
            rn_config_free(cfg);
            *cfg = tmp;
        } else {
            rn_config_free(&tmp);
        }
    }
    cJSON_Delete(root);
    return r;
}

int rn_config_load_file(rn_config *cfg, const char *path, char *err, size_t errsize)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        snprintf(err, errsize, "%s: %s", path, strerror(e));
        return -e;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int r = 0;
    for (;;) {
        if (len + 4097 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (16u << 20)) {
                snprintf(err, errsize, "%s: file too large", path);
                r = -EFBIG;
                goto out;
            }
            char *nt = realloc(text, cap);
            if (!nt) {
                r = -ENOMEM;
                goto out;
            }
            text = nt;
        }
        size_t n = fread(text + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    text[len] = 0;
    if (strlen(text) != len) {
        snprintf(err, errsize, "%s: contains a NUL byte", path);
        r = -EINVAL;
        goto out;
    }
    r = rn_config_load_text(cfg, path, text, err, errsize);
out:
    free(text);
    fclose(f);
    return r;
}

int rn_config_apply_env(rn_config *cfg, char *const *envp, char *err, size_t errsize)
{
    static const char prefix[] = "RUNNEL_";
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, prefix, sizeof(prefix) - 1))
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char var[128];
        size_t vl = (size_t)(eq - *e);
        if (vl >= sizeof(var))
            continue;
        memcpy(var, *e, vl);
        var[vl] = 0;
        const key_def *k = NULL;
        for (size_t i = 0; i < NKEYS && !k; i++) {
            char want[128];
            size_t o = 0;
            for (const char *p = keys[i].name; *p && o + 1 < sizeof(want); p++)
                want[o++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
            want[o] = 0;
            if (keys[i].type != K_SECTION && !strcmp(var + sizeof(prefix) - 1, want))
                k = &keys[i];
        }
        if (!k)
            continue; /* other RUNNEL_* variables are not ours */
        const char *val = eq + 1;
        cJSON *v = NULL;
        if (k->type == K_STR) {
            v = cJSON_CreateString(val);
        } else if (k->type == K_LIST) {
            /* comma-separated in the environment */
            v = cJSON_CreateArray();
            char tmp[8192];
            snprintf(tmp, sizeof(tmp), "%s", val);
            char *save = NULL;
            for (char *t = strtok_r(tmp, ",", &save); v && t; t = strtok_r(NULL, ",", &save))
                cJSON_AddItemToArray(v, cJSON_CreateString(t));
        } else if (k->type == K_BOOL) {
            if (!strcmp(val, "true") || !strcmp(val, "1"))
                v = cJSON_CreateTrue();
            else if (!strcmp(val, "false") || !strcmp(val, "0"))
                v = cJSON_CreateFalse();
        } else {
            char *end;
            errno = 0;
            unsigned long long u = strtoull(val, &end, 10);
            if (!errno && end != val && !*end && val[0] != '-')
                v = cJSON_CreateNumber((double)u);
        }
        const char *why = "has a malformed value";
        int r = v ? set_value(cfg, k, v, &why) : -EINVAL;
        cJSON_Delete(v);
        if (r < 0) {
            snprintf(err, errsize, "environment: %s (%s) %s", var, k->name, why);
            return r;
        }
    }
    return 0;
}
