#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "util.h"

typedef rn_conf_key key_def;

#define STR(n, f, doc) RN_CONF_KEY_STR(n, rn_config, f, NULL, doc)
#define U64(n, f, lo, hi, doc)                                                                     \
    {                                                                                              \
        n, RN_CONF_U64Z, offsetof(rn_config, f), 0, lo, hi, NULL, doc                              \
    }
#define BOOL(n, f, doc) RN_CONF_KEY_BOOL(n, rn_config, f, NULL, doc)
#define LIST(n, f, doc) RN_CONF_KEY_LIST(n, rn_config, f, doc)
#define SECTION(n, doc) RN_CONF_KEY_SECTION(n, doc)
#define GiB             (1ull << 30)

static const key_def keys[] = {
    STR("listen", listen, "address and port to listen on, \"host:port\""),
    STR("specs", specs, "directory of language specs"),
    STR("log_level", log_level, "error, warn, info or debug"),
    SECTION("limits", "server-wide limits"),
    U64("limits.concurrency", concurrency, 0, 1024, "runs at once (0 = one per CPU)"),
    U64("limits.queue", queue, 0, 100000, "runs waiting for a slot before new ones are refused"),
    U64("limits.per_connection", per_connection, 1, 1024, "runs in flight per connection"),
    U64("limits.wall_ms", wall_ms, 100, 3600000, "wall-clock time per run"),
    U64("limits.cpu_ms", cpu_ms, 0, 3600000, "CPU time per run (0 = wall_ms)"),
    U64("limits.memory_bytes", memory_bytes, 16ull << 20, 64 * GiB, "memory per run"),
    U64("limits.output_bytes", output_bytes, 1024, 4 * GiB, "stdout + stderr per run"),
    U64("limits.code_bytes", code_bytes, 16, 64ull << 20, "source code per run"),
    U64("limits.message_bytes", message_bytes, 1024, 256ull << 20,
        "largest WebSocket message or HTTP body"),
    U64("limits.pids", pids, 1, 65536, "processes and threads per run"),
    U64("limits.nofile", nofile, 16, 65536, "open files per process in a run"),
    U64("limits.tmp_bytes", tmp_bytes, 1ull << 20, 64 * GiB, "/tmp and /work size per run"),
    U64("limits.idle_client_ms", idle_client_ms, 100, 86400000,
        "a client that reads nothing this long is dropped (0 = wall_ms)"),
    U64("limits.queue_bytes", queue_bytes, 4096, 1 * GiB,
        "per-connection write queue before its runs are paused"),
    U64("limits.request_timeout_ms", request_timeout_ms, 100, 3600000,
        "an HTTP request's headers and body must arrive within this"),
    SECTION("cache", "the compile cache"),
    STR("cache.dir", cache_dir, "compile cache directory"),
    U64("cache.max_bytes", cache_bytes, 0, 1024 * GiB, "compile cache size (0 = off)"),
    U64("cache.entry_max_bytes", cache_entry_bytes, 1ull << 20, 64 * GiB,
        "one compile's build directory, one cache entry"),
    SECTION("state", "the state store (Linkis tasks, logs and result sets)"),
    STR("state.dir", state_dir,
        "directory of the store's database runnel.db (default: /var/lib/runnel as root, else "
        "./runnel-state)"),
    STR("state.store", state_store,
        "the store: sqlite:FILE, or a PostgreSQL URI postgresql://user@host:port/db?... shared "
        "by several nodes (default: sqlite: and state.dir's runnel.db)"),
    U64("state.retention_count", retention_count, 1, 1000000000ull,
        "finished records kept per kind, newest first (0 = no count bound; default 10000)"),
    U64("state.retention_ms", retention_ms, 1000, 9007199254740991ull,
        "finished records older than this are deleted (0 = no age bound; default 7 days)"),
    SECTION("sandbox", "the sandbox"),
    U64("sandbox.uid_first", uid_first, 1000, 4000000000ull, "first host uid for runs (as root)"),
    U64("sandbox.uid_count", uid_count, 1, 1000000, "host uids for runs (as root)"),
    STR("sandbox.cgroup", cgroup, "cgroup the runs' cgroups are made under"),
    BOOL("sandbox.no_cgroup", no_cgroup, "run without cgroup limits"),
    U64("sandbox.ahead", ahead, 0, 16, "namespaces and cgroups made ahead by a thread"),
    U64("sandbox.warm", warm, 0, 16, "sandboxes built ahead while idle"),
    SECTION("auth", "authentication"),
    LIST("auth.tokens", auth_tokens, "bearer tokens; empty = no authentication"),
    LIST("auth.users", auth_users,
         "tenants as \"name:token\": the token authenticates and names the user"),
    LIST("auth.admins", auth_admins, "user names that see and act on every user's records"),
    SECTION("security", "cross-site and proxy policy"),
    LIST("security.origins", origins, "allowed Origins of browsers (\"*\" = any)"),
    LIST("security.trusted_proxies", trusted_proxies, "peers whose X-Forwarded-For is believed"),
    LIST("security.hosts", hosts,
         "Host names served beyond the listen address and loopback (\"*\" = any)"),
    U64("limits.connections_per_ip", connections_per_ip, 0, 1000000,
        "WebSocket connections per client address (0 = unlimited)"),
    U64("limits.runs_per_minute_per_ip", runs_per_minute_per_ip, 0, 1000000,
        "runs a client address may start per minute (0 = unlimited)"),
    SECTION("tls", "HTTPS and WSS"),
    STR("tls.cert", tls_cert, "PEM certificate chain"),
    STR("tls.key", tls_key, "PEM private key"),
    BOOL("playground", playground, "serve the playground page at /"),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* A table of keys and the struct it fills. */
typedef struct {
    const char *section; /* "" for the top level */
    const key_def *keys;
    size_t n;
    void *base;
} table;

static table top_table(rn_config *cfg)
{
    return (table){"", keys, NKEYS, cfg};
}

static table env_table(rn_config *cfg, size_t i)
{
    const rn_envelope *e = rn_envelopes[i];
    return (table){e->name, e->keys, e->nkeys, cfg->env_conf[i]};
}

/* The envelope whose section name is, or -1. */
static int section_index(const char *name)
{
    for (size_t i = 0; rn_envelopes[i]; i++)
        if (rn_envelopes[i]->nkeys && !strcmp(rn_envelopes[i]->name, name))
            return (int)i;
    return -1;
}

const void *rn_config_envelope(const rn_config *cfg, size_t index)
{
    return index < RN_ENVELOPES_MAX ? cfg->env_conf[index] : NULL;
}

static void free_json_fields(const table *t)
{
    for (size_t k = 0; t->base && k < t->n; k++) {
        if (t->keys[k].type != RN_CONF_JSON)
            continue;
        cJSON **slot = (cJSON **)((char *)t->base + t->keys[k].off);
        cJSON_Delete(*slot);
        *slot = NULL;
    }
}

void rn_config_free(rn_config *cfg)
{
    for (size_t i = 0; i < RN_ENVELOPES_MAX && rn_envelopes[i]; i++) {
        if (!cfg->env_conf[i])
            continue;
        table t = env_table(cfg, i);
        free_json_fields(&t);
        free(cfg->env_conf[i]);
        cfg->env_conf[i] = NULL;
    }
}

int rn_config_copy(rn_config *dst, const rn_config *src)
{
    *dst = *src;
    memset(dst->env_conf, 0, sizeof(dst->env_conf));
    for (size_t i = 0; i < RN_ENVELOPES_MAX && rn_envelopes[i]; i++) {
        if (!src->env_conf[i])
            continue;
        size_t size = rn_envelopes[i]->conf_size;
        if (!(dst->env_conf[i] = malloc(size)))
            goto oom;
        memcpy(dst->env_conf[i], src->env_conf[i], size);
        table t = env_table(dst, i);
        for (size_t k = 0; k < t.n; k++) {
            if (t.keys[k].type != RN_CONF_JSON)
                continue;
            cJSON **slot = (cJSON **)((char *)t.base + t.keys[k].off);
            if (*slot && !(*slot = cJSON_Duplicate(*slot, 1))) {
                /* the rest still point at src's: clear them before freeing */
                for (size_t m = k + 1; m < t.n; m++)
                    if (t.keys[m].type == RN_CONF_JSON)
                        *(cJSON **)((char *)t.base + t.keys[m].off) = NULL;
                goto oom;
            }
        }
    }
    return 0;
oom:
    rn_config_free(dst);
    return -ENOMEM;
}

static int set_value(void *base, const key_def *k, const cJSON *v, char *why, size_t wsize);

/* Each envelope's section with its keys' defaults. */
static int envelope_defaults(rn_config *cfg)
{
    for (size_t i = 0; rn_envelopes[i]; i++) {
        if (i >= RN_ENVELOPES_MAX)
            return -E2BIG;
        const rn_envelope *e = rn_envelopes[i];
        if (!e->nkeys)
            continue;
        if (!(cfg->env_conf[i] = calloc(1, e->conf_size)))
            return -ENOMEM;
        for (size_t k = 0; k < e->nkeys; k++) {
            if (!e->keys[k].def)
                continue;
            cJSON *v = cJSON_Parse(e->keys[k].def);
            char why[160];
            int r = v ? set_value(cfg->env_conf[i], &e->keys[k], v, why, sizeof(why)) : -EINVAL;
            cJSON_Delete(v);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int rn_config_defaults(rn_config *cfg, const char *specs_default)
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
    cfg->cache_entry_bytes = 64ull << 20;
    cfg->retention_count = 10000;
    /* A week. */
    cfg->retention_ms = 7ull * 86400000;
    cfg->uid_first = 1879048192; /* 0x70000000: clear of systemd and /etc/subuid ranges */
    cfg->uid_count = 65536;
    cfg->ahead = 4;
    cfg->warm = 2;
    snprintf(cfg->cgroup, sizeof(cfg->cgroup), "runnel");
    cfg->playground = true;
    return envelope_defaults(cfg);
}

static const key_def *find_key(const table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->keys[i].name, name))
            return &t->keys[i];
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

static int set_value(void *start, const key_def *k, const cJSON *v, char *why, size_t wsize)
{
    char *base = (char *)start + k->off;
    switch (k->type) {
    case RN_CONF_STR:
        if (!cJSON_IsString(v)) {
            snprintf(why, wsize, "must be a string");
            return -EINVAL;
        }
        if (strlen(v->valuestring) >= k->size) {
            snprintf(why, wsize, "is too long");
            return -EINVAL;
        }
        memcpy(base, v->valuestring, strlen(v->valuestring) + 1);
        return 0;
    case RN_CONF_U64:
    case RN_CONF_U64Z: {
        if (!cJSON_IsNumber(v)) {
            snprintf(why, wsize, "must be a number");
            return -EINVAL;
        }
        double d = v->valuedouble;
        /* Range first: converting an out-of-range double is undefined. */
        if (!(d >= 0 && d < 18446744073709551616.0) || d != (double)(uint64_t)d) {
            snprintf(why, wsize, "must be a non-negative integer");
            return -EINVAL;
        }
        uint64_t u = (uint64_t)d;
        if ((u < k->min && (u != 0 || k->type == RN_CONF_U64)) || u > k->max) {
            snprintf(why, wsize, "must be an integer from %llu to %llu%s",
                     (unsigned long long)k->min, (unsigned long long)k->max,
                     k->type == RN_CONF_U64Z ? " (or 0)" : "");
            return -EINVAL;
        }
        *(uint64_t *)base = u;
        return 0;
    }
    case RN_CONF_BOOL:
        if (!cJSON_IsBool(v)) {
            snprintf(why, wsize, "must be true or false");
            return -EINVAL;
        }
        *(bool *)base = cJSON_IsTrue(v);
        return 0;
    case RN_CONF_LIST: {
        if (!cJSON_IsArray(v)) {
            snprintf(why, wsize, "must be an array of strings");
            return -EINVAL;
        }
        size_t o = 0;
        for (const cJSON *e = v->child; e; e = e->next) {
            if (!cJSON_IsString(e) || !e->valuestring[0] || strchr(e->valuestring, '\n')) {
                snprintf(why, wsize, "must be an array of non-empty one-line strings");
                return -EINVAL;
            }
            size_t l = strlen(e->valuestring);
            if (o + l + 2 > k->size) {
                snprintf(why, wsize, "is too long");
                return -EINVAL;
            }
            memcpy(base + o, e->valuestring, l);
            o += l;
            base[o++] = '\n';
        }
        base[o] = 0;
        return 0;
    }
    case RN_CONF_JSON: {
        cJSON *dup = cJSON_Duplicate(v, 1);
        if (!dup) {
            snprintf(why, wsize, "could not be copied (out of memory)");
            return -ENOMEM;
        }
        cJSON_Delete(*(cJSON **)base);
        *(cJSON **)base = dup;
        return 0;
    }
    case RN_CONF_SECTION:
        break;
    }
    snprintf(why, wsize, "must be an object");
    return -EINVAL;
}

static int apply_object(rn_config *cfg, const table *t, const char *name, const char *text,
                        const cJSON *obj, const char *prefix, char *err, size_t errsize)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        char full[128], shown[160];
        snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", it->string);
        snprintf(shown, sizeof(shown), "%s%s%s", t->section, *t->section ? "." : "", full);
        const key_def *k = find_key(t, full);
        int section = -1;
        if (!k && !*prefix && !*t->section)
            section = section_index(it->string);
        if (!k && section < 0) {
            snprintf(err, errsize, "%s:%d: unknown key '%s'", name, line_of_key(text, full), shown);
            return -EINVAL;
        }
        if (section >= 0 || k->type == RN_CONF_SECTION) {
            if (!cJSON_IsObject(it)) {
                snprintf(err, errsize, "%s:%d: '%s' must be an object", name,
                         line_of_key(text, full), shown);
                return -EINVAL;
            }
            table sub = section >= 0 ? env_table(cfg, (size_t)section) : *t;
            int r = apply_object(cfg, &sub, name, text, it, section >= 0 ? "" : full, err, errsize);
            if (r < 0)
                return r;
            continue;
        }
        char why[160];
        if (set_value(t->base, k, it, why, sizeof(why)) < 0) {
            snprintf(err, errsize, "%s:%d: '%s' %s", name, line_of_key(text, full), shown, why);
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
        table t = top_table(&tmp);
        if (r == 0)
            r = apply_object(&tmp, &t, name, text, root, "", err, errsize);
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
    size_t len = 0;
    int r = rn_read_stream(f, 16u << 20, &text, &len);
    fclose(f);
    if (r == -EFBIG)
        snprintf(err, errsize, "%s: file too large", path);
    else if (r < 0)
        snprintf(err, errsize, "%s: %s", path, strerror(-r));
    else if (strlen(text) != len) {
        snprintf(err, errsize, "%s: contains a NUL byte", path);
        r = -EINVAL;
    } else
        r = rn_config_load_text(cfg, path, text, err, errsize);
    free(text);
    return r;
}

/* The key a RUNNEL_* variable names (LIMITS_WALL_MS, LINKIS_MAX_JOBS), and
 * the struct it fills; NULL when none (JSON keys are file-only). */
static const key_def *env_key(rn_config *cfg, const char *var, void **base)
{
    for (int i = -1; i < 0 || rn_envelopes[i]; i++) {
        if (i >= 0 && !rn_envelopes[i]->nkeys)
            continue;
        table t = i < 0 ? top_table(cfg) : env_table(cfg, (size_t)i);
        for (size_t k = 0; k < t.n; k++) {
            char want[160];
            size_t o = 0;
            const char *parts[2] = {t.section, t.keys[k].name};
            for (int pi = 0; pi < 2; pi++) {
                if (pi && o && o + 1 < sizeof(want))
                    want[o++] = '_';
                for (const char *p = parts[pi]; *p && o + 1 < sizeof(want); p++)
                    want[o++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
            }
            want[o] = 0;
            if (t.keys[k].type != RN_CONF_SECTION && t.keys[k].type != RN_CONF_JSON &&
                !strcmp(var, want)) {
                *base = t.base;
                return &t.keys[k];
            }
        }
    }
    return NULL;
}

static const char *type_name(rn_conf_type t)
{
    switch (t) {
    case RN_CONF_STR:
        return "string";
    case RN_CONF_U64:
    case RN_CONF_U64Z:
        return "integer";
    case RN_CONF_BOOL:
        return "boolean";
    case RN_CONF_LIST:
        return "array of strings";
    case RN_CONF_JSON:
        return "JSON";
    case RN_CONF_SECTION:
        break;
    }
    return "section";
}

void rn_config_print_keys(FILE *f)
{
    for (int i = -1; i < 0 || rn_envelopes[i]; i++) {
        const key_def *ks = i < 0 ? keys : rn_envelopes[i]->keys;
        size_t n = i < 0 ? NKEYS : rn_envelopes[i]->nkeys;
        const char *sec = i < 0 ? "" : rn_envelopes[i]->name;
        if (i >= 0 && n)
            fprintf(f, "%s\tsection\t-\tthe %s envelope\n", sec, sec);
        for (size_t k = 0; k < n; k++)
            fprintf(f, "%s%s%s\t%s\t%s\t%s\n", sec, *sec ? "." : "", ks[k].name,
                    type_name(ks[k].type), ks[k].def ? ks[k].def : "-", ks[k].doc ? ks[k].doc : "");
    }
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
        void *base = NULL;
        const key_def *k = env_key(cfg, var + sizeof(prefix) - 1, &base);
        if (!k)
            continue; /* other RUNNEL_* variables are not ours */
        const char *val = eq + 1;
        cJSON *v = NULL;
        if (k->type == RN_CONF_STR) {
            v = cJSON_CreateString(val);
        } else if (k->type == RN_CONF_LIST) {
            /* comma-separated in the environment */
            v = cJSON_CreateArray();
            char tmp[8192];
            snprintf(tmp, sizeof(tmp), "%s", val);
            char *save = NULL;
            for (char *t = strtok_r(tmp, ",", &save); v && t; t = strtok_r(NULL, ",", &save))
                cJSON_AddItemToArray(v, cJSON_CreateString(t));
        } else if (k->type == RN_CONF_BOOL) {
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
        char why[160] = "has a malformed value";
        int r = v ? set_value(base, k, v, why, sizeof(why)) : -EINVAL;
        cJSON_Delete(v);
        if (r < 0) {
            snprintf(err, errsize, "environment: %s (%s) %s", var, k->name, why);
            return r;
        }
    }
    return 0;
}
