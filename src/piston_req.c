#include "piston_req.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "util.h"

/* ---------------------------------------------------------------- names */

const char *piston_language(const rn_spec *spec)
{
    return rn_piston_lang(spec) ? rn_piston_lang(spec) : spec->name;
}

const rn_spec *piston_find(const rn_specs *specs, const char *name)
{
    size_t n = rn_specs_count(specs);
    for (size_t i = 0; i < n; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        if (!rn_piston_lang(s))
            continue;
        if (!strcmp(rn_piston_lang(s), name))
            return s;
    }
    for (size_t i = 0; i < n; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        for (char **a = rn_piston_aliases(s); rn_piston_lang(s) && a && *a; a++)
            if (!strcmp(*a, name))
                return s;
    }
    return rn_specs_find(specs, name);
}

void piston_version(const rn_spec *spec, char out[32])
{
    const char *v = spec->version ? spec->version : "";
    unsigned long part[3] = {0, 0, 0};
    while (*v && !isdigit((unsigned char)*v))
        v++;
    for (int i = 0; i < 3 && isdigit((unsigned char)*v); i++) {
        char *end;
        part[i] = strtoul(v, &end, 10);
        if (part[i] > 999999)
            part[i] = 999999;
        v = end;
        if (*v != '.' || !isdigit((unsigned char)v[1]))
            break;
        v++;
    }
    snprintf(out, 32, "%lu.%lu.%lu", part[0], part[1], part[2]);
}

/* ---------------------------------------------------------------- semver */

typedef struct {
    long v[3];
    int given; /* components given as numbers; a wildcard ends them */
} partial;

/* Parse "1", "1.2", "1.2.3", "1.x", "*", "v1.2.3" (a prerelease or build
 * suffix is dropped). */
static bool parse_partial(const char **p, partial *out)
{
    const char *s = *p;
    memset(out, 0, sizeof(*out));
    if (*s == 'v' || *s == '=')
        s++;
    bool wild = false;
    for (int i = 0; i < 3; i++) {
        if (*s == 'x' || *s == 'X' || *s == '*') {
            wild = true;
            s++;
        } else if (isdigit((unsigned char)*s)) {
            char *end;
            long n = strtol(s, &end, 10);
            if (n > 1000000000L)
                return false;
            if (!wild) {
                out->v[i] = n;
                out->given = i + 1;
            }
            s = end;
        } else {
            return false;
        }
        if (*s != '.')
            break;
        s++;
    }
    if (*s == '-' || *s == '+')
        while (*s && !isspace((unsigned char)*s) && *s != '|')
            s++;
    *p = s;
    return true;
}

static int cmp3(const long a[3], const long b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* The exclusive upper bound of a partial bumped at component i. */
static void bump(const partial *p, int i, long out[3])
{
    for (int k = 0; k < 3; k++)
        out[k] = k < i ? p->v[k] : 0;
    out[i] = p->v[i] + 1;
}

/* One comparator against v. */
static bool comparator_ok(const long v[3], const char *op, const partial *p)
{
    long hi[3];
    int c = cmp3(v, p->v);
    if (!strcmp(op, ">="))
        return c >= 0;
    if (!strcmp(op, "<"))
        return c < 0;
    if (!strcmp(op, ">")) {
        if (p->given == 3)
            return c > 0;
        if (p->given == 0)
            return false;
        bump(p, p->given - 1, hi);
        return cmp3(v, hi) >= 0;
    }
    if (!strcmp(op, "<=")) {
        if (p->given == 3)
            return c <= 0;
        if (p->given == 0)
            return true;
        bump(p, p->given - 1, hi);
        return cmp3(v, hi) < 0;
    }
    if (c < 0)
        return false;
    if (!strcmp(op, "~")) {
        if (p->given == 0)
            return true;
        bump(p, p->given >= 2 ? 1 : 0, hi);
        return cmp3(v, hi) < 0;
    }
    if (!strcmp(op, "^")) {
        int i = 0;
        while (i < p->given - 1 && p->v[i] == 0)
            i++;
        if (p->given == 0)
            return true;
        bump(p, i, hi);
        return cmp3(v, hi) < 0;
    }
    /* "" or "=": an X-range */
    if (p->given == 0)
        return true;
    if (p->given == 3)
        return c == 0;
    bump(p, p->given - 1, hi);
    return cmp3(v, hi) < 0;
}

/* One space-separated set of comparators (or "a - b"), up to "||". */
static bool set_ok(const long v[3], const char **pp, bool *bad)
{
    const char *s = *pp;
    bool ok = true;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '|')
            break;
        char op[3] = "";
        size_t n = 0;
        while (n < 2 && *s && strchr("<>=~^", *s) && !(n == 1 && op[0] != '<' && op[0] != '>'))
            op[n++] = *s++;
        op[n] = 0;
        if (!strcmp(op, "="))
            op[0] = 0;
        while (isspace((unsigned char)*s))
            s++;
        partial p;
        if (!parse_partial(&s, &p) || (*s && !isspace((unsigned char)*s) && *s != '|')) {
            *bad = true;
            return false;
        }
        const char *t = s;
        while (isspace((unsigned char)*t))
            t++;
        if (!op[0] && t[0] == '-' && isspace((unsigned char)t[1])) {
            /* a hyphen range: ">=a <=b" */
            partial q;
            t += 2;
            while (isspace((unsigned char)*t))
                t++;
            if (!parse_partial(&t, &q)) {
                *bad = true;
                return false;
            }
            ok = ok && comparator_ok(v, ">=", &p) && comparator_ok(v, "<=", &q);
            s = t;
            continue;
        }
        ok = ok && comparator_ok(v, op, &p);
    }
    *pp = s;
    return ok;
}

bool piston_satisfies(const char *version, const char *range)
{
    partial pv;
    const char *vs = version;
    if (!parse_partial(&vs, &pv) || pv.given != 3)
        return false;
    const char *s = range;
    bool any = false, bad = false;
    for (;;) {
        if (set_ok(pv.v, &s, &bad) && !bad)
            any = true;
        if (bad)
            return false;
        if (s[0] == '|' && s[1] == '|') {
            s += 2;
            continue;
        }
        if (*s)
            return false;
        break;
    }
    return any;
}

/* ---------------------------------------------------------------- signals */

static const char *const signal_names[65] = {
    [1] = "SIGHUP",       [2] = "SIGINT",       [3] = "SIGQUIT",      [4] = "SIGILL",
    [5] = "SIGTRAP",      [6] = "SIGABRT",      [7] = "SIGBUS",       [8] = "SIGFPE",
    [9] = "SIGKILL",      [10] = "SIGUSR1",     [11] = "SIGSEGV",     [12] = "SIGUSR2",
    [13] = "SIGPIPE",     [14] = "SIGALRM",     [15] = "SIGTERM",     [16] = "SIGSTKFLT",
    [17] = "SIGCHLD",     [18] = "SIGCONT",     [19] = "SIGSTOP",     [20] = "SIGTSTP",
    [21] = "SIGTTIN",     [22] = "SIGTTOU",     [23] = "SIGURG",      [24] = "SIGXCPU",
    [25] = "SIGXFSZ",     [26] = "SIGVTALRM",   [27] = "SIGPROF",     [28] = "SIGWINCH",
    [29] = "SIGIO",       [30] = "SIGPWR",      [31] = "SIGSYS",      [34] = "SIGRTMIN",
    [35] = "SIGRTMIN+1",  [36] = "SIGRTMIN+2",  [37] = "SIGRTMIN+3",  [38] = "SIGRTMIN+4",
    [39] = "SIGRTMIN+5",  [40] = "SIGRTMIN+6",  [41] = "SIGRTMIN+7",  [42] = "SIGRTMIN+8",
    [43] = "SIGRTMIN+9",  [44] = "SIGRTMIN+10", [45] = "SIGRTMIN+11", [46] = "SIGRTMIN+12",
    [47] = "SIGRTMIN+13", [48] = "SIGRTMIN+14", [49] = "SIGRTMIN+15", [50] = "SIGRTMAX-14",
    [51] = "SIGRTMAX-13", [52] = "SIGRTMAX-12", [53] = "SIGRTMAX-11", [54] = "SIGRTMAX-10",
    [55] = "SIGRTMAX-9",  [56] = "SIGRTMAX-8",  [57] = "SIGRTMAX-7",  [58] = "SIGRTMAX-6",
    [59] = "SIGRTMAX-5",  [60] = "SIGRTMAX-4",  [61] = "SIGRTMAX-3",  [62] = "SIGRTMAX-2",
    [63] = "SIGRTMAX-1",  [64] = "SIGRTMAX",
};

const char *piston_signal_name(int sig)
{
    return sig > 0 && sig < 65 ? signal_names[sig] : NULL;
}

int piston_signal_number(const char *name)
{
    for (int i = 1; name && i < 65; i++)
        if (signal_names[i] && !strcmp(signal_names[i], name))
            return i;
    return -1;
}

/* ---------------------------------------------------------------- request */

static int fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return 400;
}

/* As Node's Buffer.from(s, "base64"): URL-safe letters too, other bytes
 * skipped, "=" ends it. */
static size_t decode_base64(const char *s, char *out)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v = rn_base64_value((unsigned char)*s, true);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    return n;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* As Node's Buffer.from(s, "hex"): pairs up to the first bad one. */
static size_t decode_hex(const char *s, char *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        int hi = hex_value((unsigned char)s[0]), lo = hex_value((unsigned char)s[1]);
        if (hi < 0 || lo < 0)
            break;
        out[n++] = (char)(hi << 4 | lo);
    }
    return n;
}

/* path.join(dir, name) made relative again, as Piston places a file:
 * "a//./b" is "a/b", "/x" is "x"; -1 when it leaves the directory, 0 when
 * it is the directory itself. */
static int normalize_name(const char *name, char *out, size_t size)
{
    size_t len = 0;
    const char *s = name;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (!len)
                return -1;
            while (len && out[len - 1] != '/')
                len--;
            if (len)
                len--;
        } else if (n && !(n == 1 && s[0] == '.')) {
            if (len + 1 + n + 1 > size)
                return -2;
            if (len)
                out[len++] = '/';
            memcpy(out + len, s, n);
            len += n;
        }
        s = e;
    }
    out[len] = 0;
    return len ? 1 : 0;
}

static const char *name_ext(const char *name)
{
    const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');
    const char *base = slash ? slash + 1 : name;
    return dot && dot > base ? dot : "";
}

/* One limit: a missing, null, 0 or false value is the default; -1 is the
 * configured limit too; over it, Piston's message. */
static int get_limit(const cJSON *body, const char *name, uint64_t configured, uint64_t *out,
                     char *msg, size_t size)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(body, name);
    *out = 0;
    if (!it || cJSON_IsNull(it) || cJSON_IsFalse(it) ||
        (cJSON_IsString(it) && !it->valuestring[0]) || (cJSON_IsNumber(it) && it->valuedouble == 0))
        return 0;
    if (!cJSON_IsNumber(it))
        return fail(msg, size, "If specified, %s must be a number", name);
    double d = it->valuedouble;
    if (d == -1)
        return 0;
    if (d > (double)configured)
        return fail(msg, size, "%s cannot exceed the configured limit of %llu", name,
                    (unsigned long long)configured);
    if (d < 0)
        return fail(msg, size, "%s must be non-negative", name);
    *out = (uint64_t)ceil(d);
    return 0;
}

static int get_limits(const cJSON *body, const piston_ctx *ctx, piston_req *r, char *msg,
                      size_t size)
{
    rn_spec_limits run, compile;
    rn_jobs_limits_of(ctx->limits, r->spec, &run, &compile);
    rn_job_request *j = &r->job;
    j->compile_limits = true;
    int e;
    if ((e = get_limit(body, "compile_memory_limit", compile.memory_bytes, &j->compile_memory_bytes,
                       msg, size)) ||
        (e = get_limit(body, "run_memory_limit", run.memory_bytes, &j->memory_bytes, msg, size)) ||
        (e = get_limit(body, "compile_timeout", compile.wall_ms, &j->compile_wall_ms, msg, size)) ||
        (e = get_limit(body, "run_timeout", run.wall_ms, &j->wall_ms, msg, size)) ||
        (e = get_limit(body, "compile_cpu_time", compile.cpu_ms, &j->compile_cpu_ms, msg, size)) ||
        (e = get_limit(body, "run_cpu_time", run.cpu_ms, &j->cpu_ms, msg, size)))
        return e;
    return 0;
}

/* Resolve language and version as Piston's runtime lookup does. */
static int get_runtime(const cJSON *body, const piston_ctx *ctx, piston_req *r, char *msg,
                       size_t size)
{
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(body, "language");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(body, "version");
    if (!cJSON_IsString(lang) || !lang->valuestring[0])
        return fail(msg, size, "language is required as a string");
    if (!cJSON_IsString(ver) || !ver->valuestring[0])
        return fail(msg, size, "version is required as a string");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(body, "files");
    if (!cJSON_IsArray(files))
        return fail(msg, size, "files is required as an array");
    int i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(f, "content");
        if (!cJSON_IsString(c))
            return fail(msg, size, "files[%d].content is required as a string", i);
        i++;
    }
    const rn_spec *spec = piston_find(ctx->specs, lang->valuestring);
    if (spec && spec->available) {
        piston_version(spec, r->version);
        if (piston_satisfies(r->version, ver->valuestring) || ctx->any_version) {
            r->spec = spec;
            r->language = piston_language(spec);
            return 0;
        }
    }
    return fail(msg, size, "%.100s-%.100s runtime is unknown", lang->valuestring, ver->valuestring);
}

/* The files: the first utf8 one is the entry, every other one goes beside
 * it under its (normalized) name. */
static int get_files(const cJSON *body, piston_req *r, char *msg, size_t size)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(body, "files");
    int n = cJSON_GetArraySize(files), entry = -1;
    if (n > RN_JOB_MAX_FILES + 1)
        return fail(msg, size, "files cannot hold more than %d files", RN_JOB_MAX_FILES + 1);
    if (n && !(r->files = calloc((size_t)n, sizeof(*r->files))))
        return fail(msg, size, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *f = cJSON_GetArrayItem(files, i);
        const cJSON *enc = cJSON_GetObjectItemCaseSensitive(f, "encoding");
        const cJSON *jname = cJSON_GetObjectItemCaseSensitive(f, "name");
        const char *content = cJSON_GetObjectItemCaseSensitive(f, "content")->valuestring;
        const char *e = cJSON_IsString(enc) ? enc->valuestring : "utf8";
        bool b64 = !strcmp(e, "base64"), hex = !strcmp(e, "hex");
        char given[64], name[RN_HOST_FILE_NAME_MAX + 1];
        snprintf(given, sizeof(given), "file%d.code", i);
        const char *raw = given;
        if (jname && !cJSON_IsNull(jname) && !(cJSON_IsString(jname) && !jname->valuestring[0])) {
            if (!cJSON_IsString(jname))
                return fail(msg, size, "files[%d].name must be a string", i);
            raw = jname->valuestring;
        }
        int k = normalize_name(raw, name, sizeof(name));
        if (k == -1)
            return fail(msg, size, "File path \"%.200s\" tries to escape parent directory", raw);
        if (k <= 0)
            return fail(msg, size, "files[%d].name is not a valid file name", i);
        size_t clen = strlen(content);
        char *data = malloc(clen + 1);
        if (!data)
            return fail(msg, size, "out of memory");
        size_t dlen = b64 ? decode_base64(content, data) : hex ? decode_hex(content, data) : clen;
        if (!b64 && !hex)
            memcpy(data, content, clen);
        data[dlen] = 0;
        if (entry < 0 && !b64 && !hex) {
            entry = i;
            r->code = data;
            r->code_len = dlen;
            /* The client's name when it is the language's kind of file
             * (Java's class follows it); else the spec's. */
            bool own = raw != given && !strcmp(name_ext(name), name_ext(r->spec->filename));
            if (!(r->entry = strdup(own ? name : r->spec->filename)))
                return fail(msg, size, "out of memory");
            continue;
        }
        rn_job_file *jf = &r->files[r->nfiles++];
        jf->data = data;
        jf->len = dlen;
        if (!(jf->name = strdup(name)))
            return fail(msg, size, "out of memory");
    }
    if (entry < 0)
        return fail(msg, size, "files must include at least one utf8 encoded file");
    for (size_t i = 0; i < r->nfiles; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(r->files[i].name, r->files[j].name))
                return fail(msg, size, "File path \"%.200s\" is given twice", r->files[i].name);
    /* The spec's own name taken by another file: the entry keeps its
     * client's name, or Piston's default one. */
    const cJSON *jname = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, entry), "name");
    char alt[2][RN_HOST_FILE_NAME_MAX + 1];
    if (!cJSON_IsString(jname) || normalize_name(jname->valuestring, alt[0], sizeof(alt[0])) <= 0)
        alt[0][0] = 0;
    snprintf(alt[1], sizeof(alt[1]), "file%d.code", entry);
    for (int k = 0; k < 3; k++) {
        const char *cand = k == 0 ? r->entry : alt[k - 1];
        bool taken = !cand[0];
        for (size_t i = 0; i < r->nfiles && !taken; i++)
            taken = !strcmp(r->files[i].name, cand);
        if (taken)
            continue;
        if (k) {
            free(r->entry);
            if (!(r->entry = strdup(cand)))
                return fail(msg, size, "out of memory");
        }
        return 0;
    }
    return fail(msg, size, "File path \"%.200s\" is given twice", r->entry);
}

static int get_args(const cJSON *body, const piston_ctx *ctx, piston_req *r, char *msg, size_t size)
{
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(body, "args");
    if (args && !cJSON_IsNull(args)) {
        if (!cJSON_IsArray(args))
            return fail(msg, size, "args must be an array of strings");
        int n = cJSON_GetArraySize(args);
        if (n > RN_JOB_MAX_ARGS)
            return fail(msg, size, "args cannot hold more than %d arguments", RN_JOB_MAX_ARGS);
        if (n && !(r->args = calloc((size_t)n, sizeof(char *))))
            return fail(msg, size, "out of memory");
        const cJSON *a;
        cJSON_ArrayForEach(a, args)
        {
            char num[64];
            const char *s = a->valuestring;
            if (cJSON_IsNumber(a)) {
                snprintf(num, sizeof(num), "%.17g", a->valuedouble);
                s = num;
            } else if (!cJSON_IsString(a)) {
                return fail(msg, size, "args must be an array of strings");
            }
            if (!(r->args[r->nargs++] = strdup(s)))
                return fail(msg, size, "out of memory");
        }
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "stdin");
    if (in && !cJSON_IsNull(in) && !cJSON_IsString(in))
        return fail(msg, size, "stdin must be a string");
    if (ctx->ws)
        return 0;
    /* Piston ends stdin with a newline when it has none. */
    const char *s = cJSON_IsString(in) ? in->valuestring : "";
    size_t len = strlen(s);
    if (!(r->stdin_data = malloc(len + 2)))
        return fail(msg, size, "out of memory");
    memcpy(r->stdin_data, s, len);
    if (!len || s[len - 1] != '\n')
        r->stdin_data[len++] = '\n';
    r->stdin_data[len] = 0;
    r->job.stdin_data = r->stdin_data;
    r->job.stdin_len = len;
    return 0;
}

int piston_req_parse(const cJSON *body, const piston_ctx *ctx, piston_req *r, char *msg,
                     size_t size)
{
    memset(r, 0, sizeof(*r));
    int e;
    if (!cJSON_IsObject(body))
        e = fail(msg, size, "language is required as a string");
    else if (!(e = get_runtime(body, ctx, r, msg, size)) && !(e = get_files(body, r, msg, size)) &&
             !(e = get_limits(body, ctx, r, msg, size)))
        e = get_args(body, ctx, r, msg, size);
    if (e) {
        piston_req_free(r);
        return e;
    }
    rn_job_request *j = &r->job;
    j->language = r->spec->name;
    j->code = r->code;
    j->code_len = r->code_len;
    j->entry_name = r->entry;
    j->compile_all = true; /* Piston's compile scripts take every file */
    j->files = r->files;
    j->nfiles = r->nfiles;
    j->args = (const char *const *)r->args;
    j->nargs = r->nargs;
    j->compile_fds = true;
    j->keep_stdin = ctx->ws;
    return 0;
}

void piston_req_free(piston_req *r)
{
    free(r->code);
    free(r->entry);
    for (size_t i = 0; i < r->nfiles; i++) {
        free((char *)r->files[i].name);
        free((char *)r->files[i].data);
    }
    free(r->files);
    for (size_t i = 0; i < r->nargs; i++)
        free(r->args[i]);
    free(r->args);
    free(r->stdin_data);
    memset(r, 0, sizeof(*r));
}
