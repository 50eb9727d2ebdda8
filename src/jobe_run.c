#include "jobe_run.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"

#define MB 1000000ull

/* How Jobe runs one of its languages (its LanguageTask subclasses). In the
 * commands: {cc} the spec's compiler (compile[0]), {rt} its runtime
 * (run[0]), {src} the source file, {exe} the compiled program, {class}
 * Java's main class, {flags} the spec's own compiler flags Jobe's command
 * needs here (see spec_flags), and the four argument lists. Commands run
 * under sh -c, as Jobe's do, so arguments are split as a shell splits
 * them. */
typedef struct {
    const char *id;
    const char *default_name; /* NULL: Java's, from the main class */
    const char *compile;      /* NULL: nothing to compile */
    const char *run;
    const char *compileargs, *linkargs, *interpreterargs;
    uint64_t memorylimit_mb; /* 0: Jobe's 400; JOBE_NO_MEMORY: none */
    uint64_t numprocs_min;
} jobe_lang;

#define JOBE_NO_MEMORY UINT64_MAX

static const jobe_lang langs[] = {
    {"c", "prog.c", "{cc} {compileargs} -o {exe} {src} {linkargs}",
     "{exe} {interpreterargs} {runargs}", "-Wall -Werror -std=c99 -x c", "", "", 0, 0},
    {"cpp", "prog.cpp", "{cc} {compileargs} -o {exe} {src} {linkargs}",
     "{exe} {interpreterargs} {runargs}", "-Wall -Werror", "", "", 0, 0},
    {"java", NULL,
     "{cc} -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -J-XX:-UsePerfData -encoding UTF-8 -d "
     "/build {compileargs} {src}",
     "{rt} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -cp /build:. "
     "{interpreterargs} {class} {runargs}",
     "", "", "-Xrs -Xss8m -Xmx200m", JOBE_NO_MEMORY, 256},
    {"nodejs", "prog.js", NULL, "{rt} {interpreterargs} {src} {runargs}", "", "", "--use_strict", 0,
     0},
    {"octave", "prog.m", NULL, "{rt} {interpreterargs} {src} {runargs}", "", "",
     "--norc --no-window-system --silent -H", 500, 0},
    {"pascal", "prog.pas", "{cc} {flags} {compileargs} -o{exe} {src}",
     "{exe} {interpreterargs} {runargs}", "-vew -Se", "", "", 0, 0},
    {"php", "prog.php", "{rt} -l {src}", "{rt} {interpreterargs} {src} {runargs}", "", "",
     "--no-php-ini", 400, 0},
    {"python3", "prog.py", "{rt} -m py_compile {src}", "{rt} {interpreterargs} {src} {runargs}", "",
     "", "-BE", 1000, 0},
};

struct jobe_run {
    const rn_spec *base;
    const jobe_lang *lang; /* NULL: the spec's own commands */
    char *source;
    size_t source_len;
    char srcname[256];
    char *input;
    size_t input_len;
    char **file_ids;
    char **file_names;
    size_t nfiles;
    /* parameters; args NULL = the language's defaults */
    uint64_t compile_ms;
    uint64_t cputime_s, memorylimit_mb, numprocs, disklimit_mb, streamsize_mb;
    bool memory_unlimited, disk_unlimited;
    char *compileargs, *linkargs, *interpreterargs, *runargs;
    char **runargv; /* the spec's own commands: runargs as arguments */
    size_t nrunargv;
    /* what is submitted */
    rn_spec spec;
    char *compile_argv[4], *run_argv[4];
    rn_job_file *files;
    rn_job_request req;
    /* output */
    rn_jbuf cmp, out, err;
};

static const jobe_lang *find_lang(const char *id)
{
    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        if (!strcmp(langs[i].id, id))
            return &langs[i];
    return NULL;
}

/* ---- checks, as RunSpecifier's ---- */

/* Jobe's isValidSourceFilename: nothing its sanitiser would change, and
 * no leading '.' or '-'. */
static bool valid_source_name(const char *s)
{
    static const char bad[] = "<>:\"/\\|?*#[]@!$&'()+,;={}^~`";
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == 0xa0 || c == 0xad || strchr(bad, c))
            return false;
    }
    return true;
}

/* Jobe's isValidFilespec: [id (8+ alphanumerics), name (alphanumerics and
 * - _ . only)], optionally a third element. */
static bool valid_filespec(const cJSON *f)
{
    int n = cJSON_GetArraySize(f);
    if (!cJSON_IsArray(f) || (n != 2 && n != 3))
        return false;
    const cJSON *id = cJSON_GetArrayItem(f, 0), *name = cJSON_GetArrayItem(f, 1);
    if (!cJSON_IsString(id) || !cJSON_IsString(name))
        return false;
    size_t il = strlen(id->valuestring), nl = strlen(name->valuestring);
    if (il < 8 || il > JOBE_FILE_ID_MAX || !jobe_files_id_valid(id->valuestring))
        return false;
    if (nl == 0 || nl > 255)
        return false;
    bool alnum = false;
    for (size_t i = 0; i < nl; i++) {
        char c = name->valuestring[i];
        if (isalnum((unsigned char)c))
            alnum = true;
        else if (c != '-' && c != '_' && c != '.')
            return false;
    }
    return alnum;
}

/* A numeric parameter: a number or a numeric string, else the default
 * (Jobe's getParam); negative values give -1. */
static bool param_num(const cJSON *params, const char *key, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
    if (cJSON_IsNumber(it)) {
        *v = it->valuedouble;
        return isfinite(*v);
    }
    if (cJSON_IsString(it) && it->valuestring[0]) {
        char *end;
        *v = strtod(it->valuestring, &end);
        return !*end && isfinite(*v);
    }
    return false;
}

/* A list parameter, joined with spaces as Jobe implodes it. 0, or -EINVAL
 * when it is not a list of strings. *out NULL when absent. */
static int param_args(const cJSON *params, const char *key, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
    *out = NULL;
    if (!it)
        return 0;
    if (!cJSON_IsArray(it))
        return -EINVAL;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    const cJSON *el;
    cJSON_ArrayForEach(el, it)
    {
        if (!cJSON_IsString(el)) {
            rn_jbuf_free(&b);
            return -EINVAL;
        }
        if (b.len)
            rn_jbuf_raw(&b, " ", 1);
        rn_jbuf_str(&b, el->valuestring);
    }
    rn_jbuf_raw(&b, "", 0);
    if (b.oom || b.len > 65536) {
        rn_jbuf_free(&b);
        return -E2BIG;
    }
    *out = b.data ? b.data : strdup("");
    return *out ? 0 : -ENOMEM;
}

static const rn_spec *find_spec(const rn_specs *specs, const char *id)
{
    for (size_t i = 0; i < rn_specs_count(specs); i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        if (s->available && !strcmp(rn_spec_jobe_id(s), id))
            return s;
    }
    return NULL;
}

static int parse_params(jobe_run *r, const cJSON *params, const jobe_run_limits *lim, char *msg,
                        size_t size)
{
    double v;
    if (params && !cJSON_IsObject(params)) {
        snprintf(msg, size, "run_spec parameters must be an object");
        return 400;
    }
    r->cputime_s = 5;
    if (param_num(params, "cputime", &v)) {
        /* Jobe compares intval(cputime) with the maximum. */
        if (v >= (double)lim->max_cputime_s + 1) {
            snprintf(msg, size, "cputime exceeds maximum allowed on this Jobe server (%llu secs)",
                     (unsigned long long)lim->max_cputime_s);
            return 400;
        }
        if (v >= 1)
            r->cputime_s = (uint64_t)v;
    }
    if (param_num(params, "memorylimit", &v)) {
        r->memory_unlimited = v < 1;
        r->memorylimit_mb = v < 1 ? 0 : v > 1e7 ? 10000000 : (uint64_t)v;
    }
    if (param_num(params, "numprocs", &v) && v >= 1)
        r->numprocs = v > 100000 ? 100000 : (uint64_t)v;
    if (param_num(params, "disklimit", &v)) {
        r->disk_unlimited = v < 0;
        r->disklimit_mb = v < 1 ? 0 : v > 1e7 ? 10000000 : (uint64_t)v;
    }
    if (param_num(params, "streamsize", &v) && v >= 1)
        r->streamsize_mb = v > 1e7 ? 10000000 : (uint64_t)v;
    static const char *const keys[] = {"compileargs", "linkargs", "interpreterargs", "runargs"};
    char **dst[] = {&r->compileargs, &r->linkargs, &r->interpreterargs, &r->runargs};
    for (size_t i = 0; i < 4; i++) {
        int e = param_args(params, keys[i], dst[i]);
        if (e < 0) {
            snprintf(msg, size, "%s: parameter '%s' must be a list of strings",
                     e == -ENOMEM ? "out of memory" : "run_spec", keys[i]);
            return e == -ENOMEM ? 500 : 400;
        }
    }
    /* The spec's own commands take runargs as arguments, one each. */
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(params, "runargs");
    if (!r->lang && cJSON_IsArray(ra)) {
        int n = cJSON_GetArraySize(ra);
        if (n > RN_JOB_MAX_ARGS) {
            snprintf(msg, size, "run_spec parameter 'runargs' has more than %d arguments",
                     RN_JOB_MAX_ARGS);
            return 400;
        }
        r->runargv = calloc((size_t)n + 1, sizeof(char *));
        if (!r->runargv)
            return 500;
        const cJSON *el;
        cJSON_ArrayForEach(el, ra)
        {
            if (!(r->runargv[r->nrunargv] = strdup(el->valuestring)))
                return 500;
            r->nrunargv++;
        }
    }
    return 0;
}

static int parse_files(jobe_run *r, const cJSON *list, const jobe_run_limits *lim, char *msg,
                       size_t size)
{
    if (!list)
        return 0;
    if (!cJSON_IsArray(list)) {
        snprintf(msg, size, "Invalid file specifier: file_list must be a list");
        return 400;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n > lim->max_files || n > RN_JOB_MAX_FILES) {
        snprintf(msg, size, "file_list has more than %zu files",
                 lim->max_files < RN_JOB_MAX_FILES ? lim->max_files : (size_t)RN_JOB_MAX_FILES);
        return 400;
    }
    r->file_ids = calloc(n + 1, sizeof(char *));
    r->file_names = calloc(n + 1, sizeof(char *));
    if (!r->file_ids || !r->file_names)
        return 500;
    const cJSON *f;
    cJSON_ArrayForEach(f, list)
    {
        if (!valid_filespec(f)) {
            char *txt = cJSON_PrintUnformatted(f);
            snprintf(msg, size, "Invalid file specifier: %.200s", txt ? txt : "?");
            free(txt);
            return 400;
        }
        r->file_ids[r->nfiles] = strdup(cJSON_GetArrayItem(f, 0)->valuestring);
        r->file_names[r->nfiles] = strdup(cJSON_GetArrayItem(f, 1)->valuestring);
        r->nfiles++;
        if (!r->file_ids[r->nfiles - 1] || !r->file_names[r->nfiles - 1])
            return 500;
    }
    return 0;
}

static int parse_spec(jobe_run *r, const cJSON *run, const rn_specs *specs,
                      const jobe_run_limits *lim, char *msg, size_t size)
{
    static const char *const required[] = {"sourcecode", "language_id"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(run, required[i]);
        if (!it || cJSON_IsNull(it)) {
            snprintf(msg, size, "run_spec is missing the required attribute '%s'", required[i]);
            return 400;
        }
        if (!cJSON_IsString(it)) {
            snprintf(msg, size, "run_spec attribute '%s' must be a string", required[i]);
            return 400;
        }
    }
    const char *code = cJSON_GetObjectItemCaseSensitive(run, "sourcecode")->valuestring;
    char id[64];
    snprintf(id, sizeof(id), "%.63s",
             cJSON_GetObjectItemCaseSensitive(run, "language_id")->valuestring);
    for (char *p = id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    r->base = find_spec(specs, id);
    if (!r->base) {
        snprintf(msg, size, "Language '%s' is not known", id);
        return 400;
    }
    r->lang = find_lang(id);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(run, "input");
    if (in && !cJSON_IsNull(in) && !cJSON_IsString(in)) {
        snprintf(msg, size, "run_spec attribute 'input' must be a string");
        return 400;
    }
    int st = parse_params(r, cJSON_GetObjectItemCaseSensitive(run, "parameters"), lim, msg, size);
    if (st)
        return st;
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(run, "sourcefilename");
    if (fn && !cJSON_IsNull(fn)) {
        if (!cJSON_IsString(fn) || (fn->valuestring[0] && !valid_source_name(fn->valuestring))) {
            snprintf(msg, size, "The sourcefilename for the run_spec is illegal");
            return 400;
        }
        /* Jobe ignores legacy CodeRunner's 'prog.java'. */
        if (strcmp(fn->valuestring, "prog.java"))
            snprintf(r->srcname, sizeof(r->srcname), "%s", fn->valuestring);
    }
    if ((st = parse_files(r, cJSON_GetObjectItemCaseSensitive(run, "file_list"), lim, msg, size)))
        return st;
    r->source_len = strlen(code);
    r->source = strdup(code);
    if (cJSON_IsString(in)) {
        r->input_len = strlen(in->valuestring);
        r->input = strdup(in->valuestring);
    }
    if (!r->source || (cJSON_IsString(in) && !r->input))
        return 500;
    if (!r->srcname[0]) {
        char cls[200];
        if (r->lang && !r->lang->default_name)
            snprintf(r->srcname, sizeof(r->srcname), "%s.java",
                     jobe_java_main_class(r->source, r->source_len, cls, sizeof(cls)) ? cls
                                                                                      : "prog");
        else if (r->lang)
            snprintf(r->srcname, sizeof(r->srcname), "%s", r->lang->default_name);
        else
            snprintf(r->srcname, sizeof(r->srcname), "%s", r->base->filename);
    }
    return 0;
}

int jobe_run_parse(const cJSON *root, const rn_specs *specs, const jobe_run_limits *lim,
                   jobe_run **out, char *msg, size_t size)
{
    *out = NULL;
    if (!cJSON_IsObject(root)) {
        snprintf(msg, size, "Non-JSON post data received");
        return 400;
    }
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run_spec");
    if (!cJSON_IsObject(run)) {
        snprintf(msg, size, "No run_spec attribute found in post data");
        return 400;
    }
    jobe_run *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(msg, size, "out of memory");
        return 500;
    }
    rn_jbuf_init(&r->cmp, 0);
    rn_jbuf_init(&r->out, 0);
    rn_jbuf_init(&r->err, 0);
    r->compile_ms = lim->compile_ms;
    int st = parse_spec(r, run, specs, lim, msg, size);
    if (st) {
        if (st == 500 && !msg[0])
            snprintf(msg, size, "out of memory");
        jobe_run_free(r);
        return st;
    }
    *out = r;
    return 0;
}

const char *const *jobe_run_file_ids(const jobe_run *r, size_t *n)
{
    *n = r->nfiles;
    return (const char *const *)r->file_ids;
}

int jobe_run_set_file_id(jobe_run *r, size_t i, const char *id)
{
    if (i >= r->nfiles)
        return -ERANGE;
    char *copy = strdup(id);
    if (!copy)
        return -ENOMEM;
    free(r->file_ids[i]);
    r->file_ids[i] = copy;
    return 0;
}

/* ---- commands ---- */

/* s as one shell word. */
static void sh_quote(rn_jbuf *b, const char *s)
{
    rn_jbuf_raw(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            rn_jbuf_str(b, "'\\''");
        else
            rn_jbuf_raw(b, s, 1);
    }
    rn_jbuf_raw(b, "'", 1);
}

/* The spec's compiler flags a Jobe command keeps (Free Pascal's unit
 * paths: -n, -Fu, -FU, -Fa), so the compiler finds what the spec's own
 * command finds. */
static void spec_flags(rn_jbuf *b, const rn_spec *s)
{
    for (char **a = s->compile ? s->compile + 1 : NULL; a && *a; a++) {
        if (!strcmp(*a, "-n") || !strncmp(*a, "-Fu", 3) || !strncmp(*a, "-FU", 3) ||
            !strncmp(*a, "-Fa", 3)) {
            if (b->len && b->data[b->len - 1] != ' ')
                rn_jbuf_raw(b, " ", 1);
            sh_quote(b, *a);
        }
    }
}

static void expand(jobe_run *r, rn_jbuf *b, const char *tmpl)
{
    const jobe_lang *l = r->lang;
    char exe[300], cls[256];
    snprintf(exe, sizeof(exe), "/build/%s.exe", r->srcname);
    snprintf(cls, sizeof(cls), "%s", r->srcname);
    char *dot = strchr(cls, '.');
    if (dot)
        *dot = 0;
    for (const char *p = tmpl; *p;) {
        const char *q = strchr(p, '{');
        const char *e = q ? strchr(q, '}') : NULL;
        if (!q || !e) {
            rn_jbuf_str(b, p);
            break;
        }
        rn_jbuf_raw(b, p, (size_t)(q - p));
        size_t n = (size_t)(e - q + 1);
#define IS(k) (n == sizeof(k) - 1 && !strncmp(q, k, n))
        if (IS("{cc}"))
            sh_quote(b, r->base->compile ? r->base->compile[0] : "false");
        else if (IS("{rt}"))
            sh_quote(b, r->base->run[0]);
        else if (IS("{src}"))
            sh_quote(b, r->srcname);
        else if (IS("{exe}"))
            sh_quote(b, exe);
        else if (IS("{class}"))
            sh_quote(b, cls);
        else if (IS("{flags}"))
            spec_flags(b, r->base);
        else if (IS("{compileargs}"))
            rn_jbuf_str(b, r->compileargs ? r->compileargs : l->compileargs);
        else if (IS("{linkargs}"))
            rn_jbuf_str(b, r->linkargs ? r->linkargs : l->linkargs);
        else if (IS("{interpreterargs}"))
            rn_jbuf_str(b, r->interpreterargs ? r->interpreterargs : l->interpreterargs);
        else if (IS("{runargs}"))
            rn_jbuf_str(b, r->runargs ? r->runargs : "");
        else
            rn_jbuf_raw(b, q, n);
#undef IS
        p = e + 1;
    }
}

/* The compile stage fails, as Jobe's does, when the compiler says
 * anything on stderr even with exit status 0 (javac's notes, warnings
 * without -Werror); so only a silent compile is cached. */
static int build_commands(jobe_run *r)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    if (r->lang->compile) {
        expand(r, &b, r->lang->compile);
        rn_jbuf_str(&b, " 2>/tmp/.jobe-cmperr; s=$?; cat /tmp/.jobe-cmperr >&2; "
                        "[ $s -eq 0 ] && [ ! -s /tmp/.jobe-cmperr ]");
        rn_jbuf_raw(&b, "", 0);
        if (b.oom)
            goto oom;
        r->compile_argv[0] = strdup("/bin/sh");
        r->compile_argv[1] = strdup("-c");
        r->compile_argv[2] = b.data;
        rn_jbuf_init(&b, 0);
    }
    rn_jbuf_str(&b, "exec ");
    expand(r, &b, r->lang->run);
    rn_jbuf_raw(&b, "", 0);
    if (b.oom)
        goto oom;
    r->run_argv[0] = strdup("/bin/sh");
    r->run_argv[1] = strdup("-c");
    r->run_argv[2] = b.data;
    for (int i = 0; i < 2; i++)
        if (!r->run_argv[i] || (r->lang->compile && !r->compile_argv[i]))
            return -ENOMEM;
    return 0;
oom:
    rn_jbuf_free(&b);
    return -ENOMEM;
}

int jobe_run_request(jobe_run *r, const jobe_file_data *files, rn_job_request **req)
{
    rn_job_request *q = &r->req;
    memset(q, 0, sizeof(*q));
    q->language = r->base->name;
    q->code = r->source;
    q->code_len = r->source_len;
    q->stdin_data = r->input;
    q->stdin_len = r->input_len;
    q->raw_output = true; /* cleaned as Jobe cleans it, at the end */
    q->cpu_ms = r->cputime_s * 1000;
    q->wall_ms = 2 * q->cpu_ms; /* Jobe kills at twice the CPU time */
    uint64_t mem = r->lang && r->lang->memorylimit_mb ? r->lang->memorylimit_mb : 400;
    if (r->memorylimit_mb || r->memory_unlimited)
        mem = r->memorylimit_mb;
    if (r->lang && r->lang->memorylimit_mb == JOBE_NO_MEMORY)
        mem = 0;                       /* Java: the JVM's own -Xmx, as Jobe */
    q->data_bytes = mem * 1000 * 1024; /* runguard: MB -> kB -> bytes */
    uint64_t np = r->numprocs ? r->numprocs : 30;
    if (r->lang && np < r->lang->numprocs_min)
        np = r->lang->numprocs_min;
    q->pids = (unsigned)(np + 1); /* Jobe's +1, for its sh */
    if (!r->disk_unlimited)
        q->fsize_bytes = (r->disklimit_mb ? r->disklimit_mb : 20) * MB;
    q->output_bytes = 2 * (r->streamsize_mb ? r->streamsize_mb : 2) * MB;
    if (r->nfiles) {
        r->files = calloc(r->nfiles, sizeof(*r->files));
        if (!r->files)
            return -ENOMEM;
        for (size_t i = 0; i < r->nfiles; i++) {
            r->files[i].name = r->file_names[i];
            r->files[i].data = files[i].data;
            r->files[i].len = files[i].len;
        }
        q->files = r->files;
        q->nfiles = r->nfiles;
    }
    if (!r->lang) {
        q->entry_name = r->srcname;
        q->args = (const char *const *)r->runargv;
        q->nargs = r->nrunargv;
    } else {
        int e = build_commands(r);
        if (e < 0)
            return e;
        r->spec = *r->base;
        r->spec.filename = r->srcname;
        r->spec.compile = r->lang->compile ? r->compile_argv : NULL;
        r->spec.run = r->run_argv;
        r->spec.inline_template = NULL;
        if (!r->spec.compile_limits.wall_ms)
            r->spec.compile_limits.wall_ms = r->compile_ms;
        if (!r->spec.compile_limits.cpu_ms)
            r->spec.compile_limits.cpu_ms = r->compile_ms;
        q->spec = &r->spec;
    }
    *req = q;
    return 0;
}

/* ---- output and outcome ---- */

void jobe_run_output(jobe_run *r, bool compiling, int fd, const char *data, size_t len)
{
    rn_jbuf *b = compiling ? &r->cmp : fd == 2 ? &r->err : &r->out;
    rn_jbuf_raw(b, data, len);
}

char *jobe_clean(const char *s, size_t len, size_t *outlen)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    if (rn_utf8_valid(s, len)) {
        rn_jbuf_raw(&b, s, len);
    } else {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c > 0x7e)
                rn_jbuf_printf(&b, "\\x%02x", c);
            else
                rn_jbuf_raw(&b, s + i, 1);
        }
    }
    rn_jbuf_raw(&b, "", 0);
    if (b.oom) {
        rn_jbuf_free(&b);
        return NULL;
    }
    *outlen = b.len;
    if (!b.data)
        return strdup("");
    return b.data;
}

/* Octave's stderr as Jobe filters it: \r dropped, trailing blank lines,
 * then a last "error: ignoring octave_execution_exception..." line and a
 * last "error: No such file or directory" line removed. */
static size_t last_line(const rn_jbuf *e)
{
    size_t start = e->len;
    while (start && e->data[start - 1] != '\n')
        start--;
    return start;
}

static void rtrim(rn_jbuf *e)
{
    while (e->len && isspace((unsigned char)e->data[e->len - 1]))
        e->len--;
}

static void octave_filter(rn_jbuf *e)
{
    static const char ign[] = "error: ignoring octave_execution_exception";
    static const char nof[] = "error: No such file or directory";
    size_t w = 0;
    for (size_t i = 0; i < e->len; i++)
        if (e->data[i] != '\r')
            e->data[w++] = e->data[i];
    e->len = w;
    rtrim(e);
    size_t s = last_line(e);
    if (e->len - s >= sizeof(ign) - 1 && !strncmp(e->data + s, ign, sizeof(ign) - 1)) {
        e->len = s ? s - 1 : 0;
        s = last_line(e);
    }
    if (e->len - s == sizeof(nof) - 1 && !strncmp(e->data + s, nof, sizeof(nof) - 1))
        e->len = s ? s - 1 : 0;
    rtrim(e);
    if (e->len)
        rn_jbuf_raw(e, "\n", 1);
}

/* Java's stderr as Jobe filters it: "\n\t" becomes "\n" and 8 spaces. */
static void java_filter(rn_jbuf *e)
{
    rn_jbuf n;
    rn_jbuf_init(&n, 0);
    for (size_t i = 0; i < e->len; i++) {
        if (e->data[i] == '\n' && i + 1 < e->len && e->data[i + 1] == '\t') {
            rn_jbuf_str(&n, "\n        ");
            i++;
        } else {
            rn_jbuf_raw(&n, e->data + i, 1);
        }
    }
    if (!n.oom) {
        rn_jbuf_free(e);
        *e = n;
    } else {
        rn_jbuf_free(&n);
    }
}

static int outcome(jobe_run *r, const rn_job_result *res, bool reached_run)
{
    if (res->reason == RN_JOB_END_SETUP_FAILED || res->reason == RN_JOB_END_INTERNAL ||
        res->reason == RN_JOB_END_KILLED)
        return JOBE_INTERNAL_ERROR;
    if (res->reason == RN_JOB_END_COMPILE_ERROR || !reached_run) {
        if (!r->cmp.len)
            rn_jbuf_str(&r->cmp, res->message[0] ? res->message : "compilation failed");
        return JOBE_COMPILE_ERROR;
    }
    switch (res->reason) {
    case RN_JOB_END_TIMEOUT:
    case RN_JOB_END_CPU_LIMIT:
    case RN_JOB_END_OUTPUT_LIMIT: /* a runaway writer: Jobe's runs out its time */
        r->err.len = 0;
        return JOBE_TIME_LIMIT;
    case RN_JOB_END_OOM:
        return JOBE_MEMORY_LIMIT;
    case RN_JOB_END_SIGNALED:
        return res->signal == 31 ? JOBE_ILLEGAL_SYSCALL : JOBE_RUNTIME_ERROR;
    default:
        /* Jobe: any stderr is a runtime error; the exit status is not read. */
        return r->err.len ? JOBE_RUNTIME_ERROR : JOBE_OK;
    }
}

static void put_field(rn_jbuf *b, const char *key, rn_jbuf *v)
{
    size_t n = 0;
    char *c = jobe_clean(v->data ? v->data : "", v->len, &n);
    rn_jbuf_key(b, key);
    if (c)
        rn_jbuf_jstr(b, c, n);
    else
        b->oom = true;
    free(c);
}

char *jobe_run_result(jobe_run *r, const char *run_id, const rn_job_result *res, bool reached_run,
                      size_t *len)
{
    if (r->lang && !strcmp(r->lang->id, "octave"))
        octave_filter(&r->err);
    if (r->lang && !strcmp(r->lang->id, "java"))
        java_filter(&r->err);
    int oc = outcome(r, res, reached_run);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{");
    rn_jbuf_key(&b, "run_id");
    rn_jbuf_jcstr(&b, run_id);
    rn_jbuf_key(&b, "outcome");
    rn_jbuf_printf(&b, "%d", oc);
    rn_jbuf empty;
    rn_jbuf_init(&empty, 0);
    put_field(&b, "cmpinfo", oc == JOBE_COMPILE_ERROR ? &r->cmp : &empty);
    put_field(&b, "stdout", oc == JOBE_COMPILE_ERROR ? &empty : &r->out);
    put_field(&b, "stderr", oc == JOBE_COMPILE_ERROR ? &empty : &r->err);
    rn_jbuf_str(&b, "}");
    rn_jbuf_raw(&b, "", 0);
    if (b.oom) {
        rn_jbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

char *jobe_run_overload(size_t *len)
{
    static const char text[] =
        "{\"run_id\":null,\"outcome\":21,\"cmpinfo\":\"\",\"stdout\":\"\",\"stderr\":\"\"}";
    *len = sizeof(text) - 1;
    return strdup(text);
}

void jobe_run_free(jobe_run *r)
{
    if (!r)
        return;
    free(r->source);
    free(r->input);
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->file_ids[i]);
        free(r->file_names[i]);
    }
    free(r->file_ids);
    free(r->file_names);
    free(r->compileargs);
    free(r->linkargs);
    free(r->interpreterargs);
    free(r->runargs);
    for (size_t i = 0; i < r->nrunargv; i++)
        free(r->runargv[i]);
    free(r->runargv);
    for (int i = 0; i < 3; i++) {
        free(r->compile_argv[i]);
        free(r->run_argv[i]);
    }
    free(r->files);
    rn_jbuf_free(&r->cmp);
    rn_jbuf_free(&r->out);
    rn_jbuf_free(&r->err);
    free(r);
}

/* ---- Java's main class ---- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

static bool word_at(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(end - p) >= n && !strncmp(p, w, n);
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* After p: (public\s+static|static\s+public)\s+void\s+main\s*\(\s*String;
 * the end of the first such match, or NULL. */
static const char *find_main(const char *p, const char *end)
{
    for (; p < end; p++) {
        const char *a = NULL, *q;
        if (word_at(p, end, "public") && (q = p + 6) < end && isspace((unsigned char)*q)) {
            q = skip_ws(q, end);
            if (word_at(q, end, "static"))
                a = q + 6;
        } else if (word_at(p, end, "static") && (q = p + 6) < end && isspace((unsigned char)*q)) {
            q = skip_ws(q, end);
            if (word_at(q, end, "public"))
                a = q + 6;
        }
        if (!a || a >= end || !isspace((unsigned char)*a))
            continue;
        a = skip_ws(a, end);
        if (!word_at(a, end, "void") || a + 4 >= end || !isspace((unsigned char)a[4]))
            continue;
        a = skip_ws(a + 4, end);
        if (!word_at(a, end, "main"))
            continue;
        a = skip_ws(a + 4, end);
        if (a >= end || *a != '(')
            continue;
        a = skip_ws(a + 1, end);
        if (word_at(a, end, "String"))
            return a + 6;
    }
    return NULL;
}

bool jobe_java_main_class(const char *src, size_t len, char *out, size_t size)
{
    const char *end = src + len, *p = src;
    size_t found = 0;
    while (p < end) {
        /* (^|\W)public\s+class\s+(\w+)[^{]*\{ */
        if (!word_at(p, end, "public") || (p > src && is_word(p[-1]))) {
            p++;
            continue;
        }
        const char *q = p + 6;
        if (q >= end || !isspace((unsigned char)*q)) {
            p++;
            continue;
        }
        q = skip_ws(q, end);
        if (!word_at(q, end, "class") || q + 5 >= end || !isspace((unsigned char)q[5])) {
            p++;
            continue;
        }
        q = skip_ws(q + 5, end);
        const char *name = q;
        while (q < end && is_word(*q))
            q++;
        size_t nl = (size_t)(q - name);
        const char *brace = q;
        while (brace < end && *brace != '{')
            brace++;
        const char *m = nl && brace < end ? find_main(brace + 1, end) : NULL;
        if (!m) {
            p++;
            continue;
        }
        if (found++ == 0)
            snprintf(out, size, "%.*s", (int)nl, name);
        p = m;
    }
    return found == 1;
}
