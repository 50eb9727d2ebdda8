/* Linkis wire pieces: routes, execute decoding, execIDs, the job log. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "linkis_req.h"

/* ---------------------------------------------------------------- routes */

/* Longest first: the prefix is cut before /entrance or /user. */
static const char *const prefixes[] = {
    "/api/rest_j/v1", "/api/res_j/v1", "/api/rest_j", "/api/res_j", "/ws/api", "/api",
};

lk_route lk_route_parse(const char *path, char *id, size_t idsize)
{
    const char *rest = NULL;
    if (id && idsize)
        id[0] = 0;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(path, prefixes[i], n) && path[n] == '/') {
            rest = path + n;
            if (!strncmp(rest, "/entrance/", 10) || !strncmp(rest, "/user/", 6) ||
                !strncmp(rest, "/jobhistory/", 12) || !strncmp(rest, "/filesystem/", 12))
                break;
            rest = NULL;
        }
    }
    if (!rest)
        return LK_R_NONE;
    size_t len = strlen(rest);
    if (len > 1 && rest[len - 1] == '/')
        len--; /* one trailing slash is ignored */
    static const struct {
        const char *p;
        lk_route r;
    } fixed[] = {
        {"/entrance/execute", LK_R_EXECUTE},
        {"/entrance/submit", LK_R_EXECUTE},
        {"/entrance/execution", LK_R_EXECUTE},
        {"/entrance/connect", LK_R_CONNECT},
        {"/entrance/runningtask", LK_R_RUNNINGTASK},
        {"/user/login", LK_R_LOGIN},
        {"/user/logout", LK_R_LOGOUT},
        {"/user/userInfo", LK_R_USERINFO},
        {"/user/heartbeat", LK_R_HEARTBEAT},
        {"/jobhistory/list", LK_R_HISTORY_LIST},
        {"/filesystem/getDirFileTrees", LK_R_FS_TREE},
        {"/filesystem/openFile", LK_R_FS_OPEN},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strlen(fixed[i].p) == len && !strncmp(rest, fixed[i].p, len))
            return fixed[i].r;
    if (len > 16 && !strncmp(rest, "/jobhistory/", 12) && !strncmp(rest + len - 4, "/get", 4)) {
        size_t idlen = len - 16;
        const char *idp = rest + 12;
        if (idlen > LK_ID_MAX || memchr(idp, '/', idlen) || !id || idsize <= idlen)
            return LK_R_UNKNOWN;
        memcpy(id, idp, idlen);
        id[idlen] = 0;
        return LK_R_HISTORY_GET;
    }
    if (len < 10 || strncmp(rest, "/entrance/", 10))
        return LK_R_UNKNOWN;
    const char *idp = rest + 10, *slash = memchr(idp, '/', len - 10);
    if (!slash || slash == idp)
        return LK_R_UNKNOWN;
    size_t idlen = (size_t)(slash - idp);
    size_t oplen = len - (size_t)(slash + 1 - rest);
    const char *op = slash + 1;
    if (idlen > LK_ID_MAX || memchr(op, '/', oplen))
        return LK_R_UNKNOWN;
    static const struct {
        const char *op;
        lk_route r;
    } ops[] = {
        {"status", LK_R_STATUS},     {"log", LK_R_LOG},
        {"progress", LK_R_PROGRESS}, {"progressWithResource", LK_R_PROGRESS_RES},
        {"kill", LK_R_KILL},         {"pause", LK_R_PAUSE},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strlen(ops[i].op) == oplen && !strncmp(op, ops[i].op, oplen)) {
            if (!id || idsize <= idlen)
                return LK_R_UNKNOWN;
            memcpy(id, idp, idlen);
            id[idlen] = 0;
            return ops[i].r;
        }
    }
    return LK_R_UNKNOWN;
}

/* ---------------------------------------------------------------- mapping */

#define SQLITE_NAMES                                                                               \
    {                                                                                              \
        "sqlite", "sqlite3", "sql", NULL                                                           \
    }

typedef struct {
    const char *key;
    const char *targets[4]; /* spec names tried in order */
} lk_map;

static const lk_map run_types[] = {
    {"python", {"python3", NULL}},
    {"py", {"python3", NULL}},
    {"python3", {"python3", NULL}},
    {"pyspark", {"python3", NULL}},
    {"sql", SQLITE_NAMES},
    {"hql", SQLITE_NAMES},
    {"jdbc", SQLITE_NAMES},
    {"sqlite", SQLITE_NAMES},
    {"shell", {"bash", NULL}},
    {"sh", {"bash", NULL}},
    {"bash", {"bash", NULL}},
    {"js", {"javascript", NULL}},
    {"javascript", {"javascript", NULL}},
    {"node", {"javascript", NULL}},
    {"nodejs", {"javascript", NULL}},
    {"r", {"r", NULL}},
    {"scala", {"scala", NULL}},
};

static const lk_map engines[] = {
    {"spark", SQLITE_NAMES},       {"hive", SQLITE_NAMES},    {"jdbc", SQLITE_NAMES},
    {"presto", SQLITE_NAMES},      {"trino", SQLITE_NAMES},   {"sqlite", SQLITE_NAMES},
    {"python", {"python3", NULL}}, {"shell", {"bash", NULL}}, {"nodejs", {"javascript", NULL}},
};

static const rn_spec *map_find(const rn_specs *specs, const lk_map *tab, size_t n, const char *key,
                               bool *known)
{
    *known = false;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(tab[i].key, key))
            continue;
        *known = true;
        for (const char *const *t = tab[i].targets; *t; t++) {
            const rn_spec *s = rn_specs_find(specs, *t);
            if (s)
                return s;
        }
        return NULL;
    }
    return NULL;
}

static void list_supported(const rn_specs *specs, const lk_map *tab, size_t n, char *out,
                           size_t size)
{
    size_t off = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        bool known;
        if (!map_find(specs, tab, n, tab[i].key, &known))
            continue;
        int w = snprintf(out + off, size - off, "%s%s", off ? ", " : "", tab[i].key);
        if (w < 0 || (size_t)w >= size - off)
            break;
        off += (size_t)w;
    }
}

const rn_spec *lk_map_language(const rn_specs *specs, const char *run_type, const char *engine,
                               char *msg, size_t size)
{
    const size_t nr = sizeof(run_types) / sizeof(run_types[0]);
    const size_t ne = sizeof(engines) / sizeof(engines[0]);
    bool known;
    const rn_spec *s = NULL;
    if (run_type && run_type[0]) {
        s = map_find(specs, run_types, nr, run_type, &known);
        if (!s && !known)
            s = rn_specs_find(specs, run_type);
    } else if (engine && engine[0]) {
        s = map_find(specs, engines, ne, engine, &known);
        if (!s && !known)
            s = rn_specs_find(specs, engine);
    }
    if (s)
        return s;
    char rl[512], el[256];
    list_supported(specs, run_types, nr, rl, sizeof(rl));
    list_supported(specs, engines, ne, el, sizeof(el));
    if ((!run_type || !run_type[0]) && (!engine || !engine[0]))
        snprintf(msg, size,
                 "runType (or executeApplicationName) must not be empty; supported runTypes: %s; "
                 "supported executeApplicationNames: %s",
                 rl, el);
    else if (run_type && run_type[0])
        snprintf(msg, size,
                 "unsupported runType '%.64s' (executeApplicationName '%.64s'); supported "
                 "runTypes: %s, or any runnel language name (GET /v1/spec)",
                 run_type, engine ? engine : "", rl);
    else
        snprintf(msg, size,
                 "unsupported executeApplicationName '%.64s' without a runType; supported "
                 "executeApplicationNames: %s; supported runTypes: %s",
                 engine, el, rl);
    return NULL;
}

/* ---------------------------------------------------------------- variables */

static int var_text(const cJSON *v, char *buf, size_t size, const char **out, size_t *outlen)
{
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
        *outlen = strlen(v->valuestring);
        return 0;
    }
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? "true" : "false";
        *outlen = strlen(*out);
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            snprintf(buf, size, "%lld", (long long)d);
        else
            snprintf(buf, size, "%.17g", d);
        *out = buf;
        *outlen = strlen(buf);
        return 0;
    }
    return -EINVAL;
}

int lk_subst_vars(const char *code, size_t len, const cJSON *vars, size_t max, char **out,
                  size_t *outlen)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    size_t i = 0;
    while (i < len) {
        const char *p = memchr(code + i, '$', len - i);
        size_t upto = p ? (size_t)(p - code) : len;
        rn_jbuf_raw(&b, code + i, upto - i);
        i = upto;
        if (i >= len)
            break;
        const char *name = code + i + 2, *end = NULL;
        if (i + 1 < len && code[i + 1] == '{')
            end = memchr(name, '}', len - i - 2);
        const cJSON *v = NULL;
        if (end && end > name && (size_t)(end - name) <= 256 && cJSON_IsObject(vars)) {
            char key[257];
            memcpy(key, name, (size_t)(end - name));
            key[end - name] = 0;
            v = cJSON_GetObjectItemCaseSensitive(vars, key);
        }
        char num[64];
        const char *val;
        size_t vlen;
        if (v && var_text(v, num, sizeof(num), &val, &vlen) == 0) {
            rn_jbuf_raw(&b, val, vlen);
            i = (size_t)(end - code) + 1;
        } else {
            rn_jbuf_raw(&b, "$", 1);
            i++;
        }
        if (b.len > max)
            break;
    }
    if (b.oom) {
        rn_jbuf_free(&b);
        return -ENOMEM;
    }
    if (b.len > max) {
        rn_jbuf_free(&b);
        return -E2BIG;
    }
    if (rn_jbuf_reserve(&b, 1) < 0) {
        rn_jbuf_free(&b);
        return -ENOMEM;
    }
    b.data[b.len] = 0;
    *out = b.data;
    *outlen = b.len;
    return 0;
}

/* ---------------------------------------------------------------- requests */

bool lk_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LK_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._@-", *s))
            return false;
    return true;
}

/* An optional string field: 0 when absent/null/string, else LK_ST_INVALID. */
static int opt_string(const cJSON *obj, const char *key, const char **out, char *msg, size_t size)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(msg, size, "%s must be a string", key);
        return LK_ST_INVALID;
    }
    *out = v->valuestring;
    return 0;
}

static int name_field(const char *key, const char *val, const char *dflt, char *dst, char *msg,
                      size_t size)
{
    if (!val || !val[0]) {
        snprintf(dst, LK_NAME_MAX + 1, "%s", dflt);
        return 0;
    }
    if (!lk_name_ok(val)) {
        snprintf(msg, size, "%s must be 1 to %d characters of letters, digits, '.', '_', '@', '-'",
                 key, LK_NAME_MAX);
        return LK_ST_INVALID;
    }
    snprintf(dst, LK_NAME_MAX + 1, "%s", val);
    return 0;
}

static int limit_value(const cJSON *v, const char *key, uint64_t *out, char *msg, size_t size)
{
    double d = -1;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v->valuestring, &end, 10);
        if (!*end && !errno && isdigit((unsigned char)v->valuestring[0]))
            d = (double)u;
    }
    if (!(d >= 1 && d == floor(d) && d <= 1e15)) {
        snprintf(msg, size, "params.configuration.runtime.%s must be a positive integer", key);
        return LK_ST_INVALID;
    }
    *out = (uint64_t)d;
    return 0;
}

static int parse_runtime(const cJSON *rt, lk_req *r, char *msg, size_t size)
{
    if (!rt || cJSON_IsNull(rt))
        return 0;
    if (!cJSON_IsObject(rt)) {
        snprintf(msg, size, "params.configuration.runtime must be an object");
        return LK_ST_INVALID;
    }
    static const char *const keys[] = {"runnel.wall_ms", "runnel.memory_bytes",
                                       "runnel.output_bytes"};
    uint64_t *dst[] = {&r->wall_ms, &r->memory_bytes, &r->output_bytes};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rt, keys[i]);
        if (v && !cJSON_IsNull(v) && limit_value(v, keys[i], dst[i], msg, size))
            return LK_ST_INVALID;
    }
    return 0;
}

/* "shell-1" -> "shell"; "hadoop-IDE" -> "IDE" (after the last '-'). */
static void label_part(const char *s, bool after_dash, char *dst, size_t size)
{
    const char *d = after_dash ? strrchr(s, '-') : strchr(s, '-');
    if (after_dash)
        snprintf(dst, size, "%s", d ? d + 1 : s);
    else
        snprintf(dst, size, "%.*s", d ? (int)(d - s) : (int)strlen(s), s);
}

int lk_req_parse(const cJSON *data, const rn_specs *specs, size_t code_max, lk_req *out, char *msg,
                 size_t size)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(data)) {
        snprintf(msg, size, "data must be an object");
        return LK_ST_INVALID;
    }
    const char *code = NULL, *run_type = NULL, *engine = NULL, *creator = NULL;
    char eng_label[LK_NAME_MAX + 1] = "", creator_label[LK_NAME_MAX + 1] = "";
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(data, "executionContent");
    int st;
    if (content && !cJSON_IsNull(content)) {
        if (!cJSON_IsObject(content)) {
            snprintf(msg, size, "executionContent must be an object");
            return LK_ST_INVALID;
        }
        if ((st = opt_string(content, "code", &code, msg, size)) ||
            (st = opt_string(content, "runType", &run_type, msg, size)))
            return st;
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(data, "labels");
        const char *et = NULL, *uc = NULL;
        if ((st = opt_string(labels, "engineType", &et, msg, size)) ||
            (st = opt_string(labels, "userCreator", &uc, msg, size)))
            return st;
        if (et && strlen(et) <= LK_NAME_MAX)
            label_part(et, false, eng_label, sizeof(eng_label));
        if (uc && strlen(uc) <= LK_NAME_MAX)
            label_part(uc, true, creator_label, sizeof(creator_label));
        if (!code) {
            snprintf(msg, size, "executionContent.code must not be empty");
            return LK_ST_INVALID;
        }
    } else {
        if ((st = opt_string(data, "executionCode", &code, msg, size)) ||
            (st = opt_string(data, "runType", &run_type, msg, size)))
            return st;
        if (!code) {
            snprintf(msg, size, "executionCode must not be empty");
            return LK_ST_INVALID;
        }
    }
    if (!code[0]) {
        snprintf(msg, size, "%s must not be empty",
                 content ? "executionContent.code" : "executionCode");
        return LK_ST_INVALID;
    }
    if ((st = opt_string(data, "executeApplicationName", &engine, msg, size)) ||
        (st = opt_string(data, "requestApplicationName", &creator, msg, size)))
        return st;
    if (!engine || !engine[0])
        engine = eng_label[0] ? eng_label : NULL;
    if (!creator || !creator[0])
        creator = creator_label[0] ? creator_label : NULL;
    if (run_type && strlen(run_type) > LK_NAME_MAX) {
        snprintf(msg, size, "runType is too long");
        return LK_ST_INVALID;
    }
    snprintf(out->run_type, sizeof(out->run_type), "%s", run_type ? run_type : "");
    for (char *p = out->run_type; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if ((st = name_field("requestApplicationName", creator, "IDE", out->creator, msg, size)))
        return st;
    const char *eng_default =
        out->run_type[0] && lk_name_ok(out->run_type) ? out->run_type : "runnel";
    if ((st = name_field("executeApplicationName", engine, eng_default, out->engine, msg, size)))
        return st;

    out->spec = lk_map_language(specs, out->run_type, engine, msg, size);
    if (!out->spec)
        return LK_ST_INVALID;

    const cJSON *params = cJSON_GetObjectItemCaseSensitive(data, "params");
    const cJSON *vars = NULL, *conf = NULL;
    if (params && !cJSON_IsNull(params)) {
        if (!cJSON_IsObject(params)) {
            snprintf(msg, size, "params must be an object");
            return LK_ST_INVALID;
        }
        vars = cJSON_GetObjectItemCaseSensitive(params, "variable");
        conf = cJSON_GetObjectItemCaseSensitive(params, "configuration");
        if (vars && !cJSON_IsNull(vars) && !cJSON_IsObject(vars)) {
            snprintf(msg, size, "params.variable must be an object");
            return LK_ST_INVALID;
        }
        if (conf && !cJSON_IsNull(conf) && !cJSON_IsObject(conf)) {
            snprintf(msg, size, "params.configuration must be an object");
            return LK_ST_INVALID;
        }
        const cJSON *v, *vobj = cJSON_IsObject(vars) ? vars : NULL;
        cJSON_ArrayForEach(v, vobj)
        {
            char num[64];
            const char *t;
            size_t tl;
            if (var_text(v, num, sizeof(num), &t, &tl) < 0) {
                snprintf(msg, size, "params.variable.%.64s must be a string, number or boolean",
                         v->string);
                return LK_ST_INVALID;
            }
        }
        if (cJSON_IsObject(conf) &&
            parse_runtime(cJSON_GetObjectItemCaseSensitive(conf, "runtime"), out, msg, size))
            return LK_ST_INVALID;
    }
    int r = lk_subst_vars(code, strlen(code), cJSON_IsObject(vars) ? vars : NULL, code_max,
                          &out->code, &out->code_len);
    if (r == -E2BIG) {
        snprintf(msg, size, "executionCode is over the limit of %zu bytes", code_max);
        return LK_ST_INVALID;
    }
    if (r < 0) {
        snprintf(msg, size, "out of memory");
        return LK_ST_ERROR;
    }
    return 0;
}

void lk_req_free(lk_req *r)
{
    free(r->code);
    r->code = NULL;
}

int lk_exec_id(char *out, size_t size, const char *creator, const char *engine,
               const char *instance, const char *user, uint64_t index)
{
    size_t a = strlen(creator), b = strlen(engine), c = strlen(instance);
    if (a > 99 || b > 99 || c > 99)
        return -ENAMETOOLONG;
    int n = snprintf(out, size, "%02zu%02zu%02zu%s%s%s%s_%s_%llu", a, b, c, creator, engine,
                     instance, creator, user, (unsigned long long)index);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

/* ---------------------------------------------------------------- log */

void lk_log_init(lk_log *l, size_t max)
{
    memset(l, 0, sizeof(*l));
    rn_jbuf_init(&l->text, 0);
    rn_jbuf_init(&l->partial[0], 0);
    rn_jbuf_init(&l->partial[1], 0);
    /* offsets are 32-bit */
    l->max = max > (1u << 30) ? (1u << 30) : max;
}

void lk_log_free(lk_log *l)
{
    rn_jbuf_free(&l->text);
    rn_jbuf_free(&l->partial[0]);
    rn_jbuf_free(&l->partial[1]);
    free(l->lines);
    memset(l, 0, sizeof(*l));
}

static void log_store(lk_log *l, int level, const char *text, size_t len, bool force)
{
    size_t cost = len + sizeof(lk_line);
    if (!force && l->used + cost > l->max) {
        if (!l->truncated) {
            l->truncated = true;
            static const char note[] = "(runnel: the rest of this log was dropped: it is over the "
                                       "log limit)";
            log_store(l, LK_LOG_WARN, note, sizeof(note) - 1, true);
        }
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        lk_line *nl = realloc(l->lines, cap * sizeof(*nl));
        if (!nl)
            return;
        l->lines = nl;
        l->cap = cap;
    }
    size_t off = l->text.len;
    rn_jbuf_raw(&l->text, text, len);
    if (l->text.oom) {
        l->text.oom = false;
        l->text.len = off;
        return;
    }
    l->lines[l->n].off = (uint32_t)off;
    l->lines[l->n].len = (uint32_t)len;
    l->lines[l->n].level = (uint8_t)level;
    l->n++;
    l->used += cost;
}

void lk_log_add(lk_log *l, int level, const char *text, size_t len)
{
    log_store(l, level, text, len, false);
}

void lk_log_feed(lk_log *l, int fd, const char *data, size_t len)
{
    rn_jbuf *p = &l->partial[fd == 2];
    int level = fd == 2 ? LK_LOG_ERROR : LK_LOG_INFO;
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (p->len + take > LK_LINE_MAX) {
            /* an over-long line is cut into pieces of about LK_LINE_MAX
             * bytes, between UTF-8 characters */
            size_t room = LK_LINE_MAX - p->len;
            while (room > 0 && room < len && ((unsigned char)data[room] & 0xC0) == 0x80)
                room--;
            rn_jbuf_raw(p, data, room);
            log_store(l, level, p->data, p->len, false);
            rn_jbuf_reset(p);
            data += room;
            len -= room;
            continue;
        }
        if (!nl) {
            rn_jbuf_raw(p, data, len);
            return;
        }
        if (p->len) {
            rn_jbuf_raw(p, data, take);
            log_store(l, level, p->data, p->len, false);
            rn_jbuf_reset(p);
        } else {
            log_store(l, level, data, take, false);
        }
        data += take + 1;
        len -= take + 1;
    }
}

void lk_log_flush(lk_log *l)
{
    for (int i = 0; i < 2; i++) {
        if (l->partial[i].len)
            log_store(l, i ? LK_LOG_ERROR : LK_LOG_INFO, l->partial[i].data, l->partial[i].len,
                      false);
        rn_jbuf_reset(&l->partial[i]);
    }
}

size_t lk_log_write(const lk_log *l, rn_jbuf *b, size_t from, long long count, bool distinct)
{
    size_t end = l->n;
    if (from > l->n)
        from = l->n;
    if (count >= 0 && (unsigned long long)count < end - from)
        end = from + (size_t)count;
    if (!distinct) {
        rn_jbuf all;
        rn_jbuf_init(&all, 0);
        for (size_t i = from; i < end; i++) {
            rn_jbuf_raw(&all, l->text.data + l->lines[i].off, l->lines[i].len);
            rn_jbuf_raw(&all, "\n", 1);
        }
        rn_jbuf_jstr(b, all.data ? all.data : "", all.len);
        rn_jbuf_free(&all);
        return end - from;
    }
    rn_jbuf lv[4];
    for (int k = 0; k < 4; k++)
        rn_jbuf_init(&lv[k], 0);
    for (size_t i = from; i < end; i++) {
        const lk_line *ln = &l->lines[i];
        int k = ln->level <= LK_LOG_INFO ? ln->level : LK_LOG_INFO;
        rn_jbuf_raw(&lv[k], l->text.data + ln->off, ln->len);
        rn_jbuf_raw(&lv[k], "\n", 1);
        rn_jbuf_raw(&lv[3], l->text.data + ln->off, ln->len);
        rn_jbuf_raw(&lv[3], "\n", 1);
    }
    rn_jbuf_str(b, "[");
    for (int k = 0; k < 4; k++) {
        if (k)
            rn_jbuf_str(b, ",");
        rn_jbuf_jstr(b, lv[k].data ? lv[k].data : "", lv[k].len);
        rn_jbuf_free(&lv[k]);
    }
    rn_jbuf_str(b, "]");
    return end - from;
}
