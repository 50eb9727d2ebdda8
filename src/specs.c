/* Language specs: parsing, validation, availability and version detection,
 * lookup by name or alias, inline-expression wrapping and argv expansion. */
#include "specs.h"

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

#define SPEC_MAX_FILE      (1024 * 1024)
#define SPEC_MAX_NAME      64
#define VERSION_BOUND_MS   5000
#define VERSION_MAX_OUTPUT 4096
#define BUILD_DIR          "/build"
#define RUNTIMES_PH        "{runtimes}"

/* Integers a spec may carry: JSON numbers are doubles, exact up to 2^53. */
#define SPEC_MAX_INT 9007199254740992.0

static const char *const search_path[] = {"/usr/bin", "/bin", "/usr/local/bin", NULL};

struct rn_specs {
    rn_spec **v; /* sorted by name */
    size_t n;
};

/* ---- small helpers ---- */

static void set_err(char *errbuf, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errsize == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errsize, fmt, ap);
    va_end(ap);
}

static void strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

static size_t strv_len(char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

/* Append to a growing heap string; returns -ENOMEM on failure. */
typedef struct {
    char *s;
    size_t len;
    size_t cap;
} strbuf;

static int sb_add(strbuf *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *s;

        while (cap < b->len + len + 1)
            cap *= 2;
        s = realloc(b->s, cap);
        if (s == NULL)
            return -ENOMEM;
        b->s = s;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->s + b->len, data, len);
    b->len += len;
    b->s[b->len] = '\0';
    return 0;
}

static int sb_adds(strbuf *b, const char *s)
{
    return sb_add(b, s, strlen(s));
}

/* ---- field parsers: each returns 0, or -EINVAL with errbuf set ---- */

static int get_string(const cJSON *root, const char *field, bool required, bool nonempty,
                      char **out, char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, field);

    *out = NULL;
    if (it == NULL) {
        if (!required)
            return 0;
        set_err(errbuf, errsize, "field '%s': missing", field);
        return -EINVAL;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        set_err(errbuf, errsize, "field '%s': must be a string", field);
        return -EINVAL;
    }
    if (nonempty && it->valuestring[0] == '\0') {
        set_err(errbuf, errsize, "field '%s': must not be empty", field);
        return -EINVAL;
    }
    *out = strdup(it->valuestring);
    return *out == NULL ? -ENOMEM : 0;
}

/* An array of strings into a NULL-terminated vector. */
static int get_strv(const cJSON *root, const char *field, bool required, bool nonempty, char ***out,
                    char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, field);
    const cJSON *el;
    char **v = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (it == NULL) {
        if (!required)
            return 0;
        set_err(errbuf, errsize, "field '%s': missing", field);
        return -EINVAL;
    }
    if (!cJSON_IsArray(it)) {
        rc = -EINVAL;
        goto bad;
    }
    v = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(el, it)
    {
        if (!cJSON_IsString(el) || el->valuestring == NULL || el->valuestring[0] == '\0') {
            rc = -EINVAL;
            goto bad;
        }
        v[n] = strdup(el->valuestring);
        if (v[n] == NULL) {
            strv_free(v);
            return -ENOMEM;
        }
        n++;
    }
    if (nonempty && n == 0) {
        rc = -EINVAL;
        goto bad;
    }
    *out = v;
    return 0;

bad:
    strv_free(v);
    set_err(errbuf, errsize, "field '%s': must be a %sarray of non-empty strings", field,
            nonempty ? "non-empty " : "");
    return rc;
}

static int get_env(const cJSON *root, char ***out, char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "env");
    const cJSON *el;
    char **v;
    size_t n = 0;

    *out = NULL;
    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it)) {
        set_err(errbuf, errsize, "field 'env': must be an object of strings");
        return -EINVAL;
    }
    v = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(el, it)
    {
        const char *k = el->string;

        if (k == NULL || k[0] == '\0' || strchr(k, '=') != NULL) {
            set_err(errbuf, errsize, "field 'env': bad variable name '%s'", k ? k : "");
            strv_free(v);
            return -EINVAL;
        }
        if (!cJSON_IsString(el) || el->valuestring == NULL) {
            set_err(errbuf, errsize, "field 'env.%s': must be a string", k);
            strv_free(v);
            return -EINVAL;
        }
        if (asprintf(&v[n], "%s=%s", k, el->valuestring) < 0) {
            v[n] = NULL;
            strv_free(v);
            return -ENOMEM;
        }
        n++;
    }
    *out = v;
    return 0;
}

static bool clean_abs_path(const char *p)
{
    if (p == NULL || p[0] != '/')
        return false;
    /* No ".." component: mounts name exactly what they bind. */
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2) {
        bool start = s == p || s[-1] == '/';
        bool end = s[2] == '\0' || s[2] == '/';

        if (start && end)
            return false;
    }
    return true;
}

/* "{runtimes}" or "{runtimes}/..." (no ".."): resolved at load. */
static bool is_runtimes_path(const char *p)
{
    size_t n = strlen(RUNTIMES_PH);

    if (p == NULL || strncmp(p, RUNTIMES_PH, n) != 0)
        return false;
    if (p[n] == '\0')
        return true;
    return p[n] == '/' && clean_abs_path(p + n);
}

static int get_mounts(const cJSON *root, rn_spec *sp, char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "mounts");
    const cJSON *el;
    size_t i = 0;

    if (it == NULL)
        return 0;
    if (!cJSON_IsArray(it)) {
        set_err(errbuf, errsize, "field 'mounts': must be an array of objects");
        return -EINVAL;
    }
    sp->mounts = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(*sp->mounts));
    if (sp->mounts == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(el, it)
    {
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(el, "src");
        const cJSON *dst = cJSON_GetObjectItemCaseSensitive(el, "dst");
        const cJSON *opt = cJSON_GetObjectItemCaseSensitive(el, "optional");
        const cJSON *f;
        rn_box_bind *b = &sp->mounts[i];

        if (!cJSON_IsObject(el)) {
            set_err(errbuf, errsize, "field 'mounts[%zu]': must be an object", i);
            return -EINVAL;
        }
        cJSON_ArrayForEach(f, el)
        {
            if (strcmp(f->string, "src") != 0 && strcmp(f->string, "dst") != 0 &&
                strcmp(f->string, "optional") != 0) {
                set_err(errbuf, errsize, "field 'mounts[%zu].%s': unknown field", i, f->string);
                return -EINVAL;
            }
        }
        if (!cJSON_IsString(src) ||
            !(clean_abs_path(src->valuestring) || is_runtimes_path(src->valuestring))) {
            set_err(errbuf, errsize,
                    "field 'mounts[%zu].src': must be an absolute path or start with {runtimes}",
                    i);
            return -EINVAL;
        }
        if (dst != NULL && (!cJSON_IsString(dst) || !clean_abs_path(dst->valuestring))) {
            set_err(errbuf, errsize, "field 'mounts[%zu].dst': must be an absolute path", i);
            return -EINVAL;
        }
        if (opt != NULL && !cJSON_IsBool(opt)) {
            set_err(errbuf, errsize, "field 'mounts[%zu].optional': must be a boolean", i);
            return -EINVAL;
        }
        /* Count it before the allocations so rn_spec_free sees it. */
        sp->nmounts = i + 1;
        b->src = strdup(src->valuestring);
        if (b->src == NULL)
            return -ENOMEM;
        if (dst != NULL) {
            b->dst = strdup(dst->valuestring);
            if (b->dst == NULL)
                return -ENOMEM;
        }
        b->optional = cJSON_IsTrue(opt);
        b->writable = false;
        i++;
    }
    return 0;
}

static int get_limits(const cJSON *root, const char *field, rn_spec_limits *lim, char *errbuf,
                      size_t errsize)
{
    static const struct {
        const char *name;
        double max;
    } keys[] = {
        {"wall_ms", 24.0 * 3600 * 1000},
        {"cpu_ms", 24.0 * 3600 * 1000},
        {"memory_bytes", SPEC_MAX_INT},
        {"output_bytes", SPEC_MAX_INT},
        {"tmp_bytes", SPEC_MAX_INT},
        {"pids", 65536},
        {"nofile", 1048576},
    };
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, field);
    const cJSON *el;

    memset(lim, 0, sizeof(*lim));
    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it)) {
        set_err(errbuf, errsize, "field '%s': must be an object", field);
        return -EINVAL;
    }
    cJSON_ArrayForEach(el, it)
    {
        size_t k;
        double d;

        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (strcmp(el->string, keys[k].name) == 0)
                break;
        if (k == sizeof(keys) / sizeof(keys[0])) {
            set_err(errbuf, errsize, "field '%s.%s': unknown limit", field, el->string);
            return -EINVAL;
        }
        d = el->valuedouble;
        if (!cJSON_IsNumber(el) || d < 0 || d > keys[k].max || d != (double)(uint64_t)d) {
            set_err(errbuf, errsize, "field '%s.%s': must be an integer from 0 to %.0f", field,
                    el->string, keys[k].max);
            return -EINVAL;
        }
        switch (k) {
        case 0:
            lim->wall_ms = (uint64_t)d;
            break;
        case 1:
            lim->cpu_ms = (uint64_t)d;
            break;
        case 2:
            lim->memory_bytes = (uint64_t)d;
            break;
        case 3:
            lim->output_bytes = (uint64_t)d;
            break;
        case 4:
            lim->tmp_bytes = (uint64_t)d;
            break;
        case 5:
            lim->pids = (unsigned)d;
            break;
        default:
            lim->nofile = (unsigned)d;
            break;
        }
    }
    return 0;
}

static bool valid_name(const char *s);

/* "piston": {"language", "aliases", "runtime"}: Piston's names for it. */
static int get_piston(const cJSON *root, rn_spec *sp, char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "piston");
    const cJSON *el;
    int rc;

    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it)) {
        set_err(errbuf, errsize, "field 'piston': must be an object");
        return -EINVAL;
    }
    cJSON_ArrayForEach(el, it)
    {
        if (strcmp(el->string, "language") && strcmp(el->string, "aliases") &&
            strcmp(el->string, "runtime")) {
            set_err(errbuf, errsize, "field 'piston.%s': unknown field", el->string);
            return -EINVAL;
        }
    }
    if ((rc = get_string(it, "language", true, true, &sp->piston.language, NULL, 0)) < 0 ||
        !valid_name(sp->piston.language)) {
        if (rc == -ENOMEM)
            return rc;
        set_err(errbuf, errsize, "field 'piston.language': must be 1-64 of [A-Za-z0-9+#._-]");
        return -EINVAL;
    }
    if ((rc = get_string(it, "runtime", false, true, &sp->piston.runtime, NULL, 0)) < 0 ||
        (sp->piston.runtime && !valid_name(sp->piston.runtime))) {
        if (rc == -ENOMEM)
            return rc;
        set_err(errbuf, errsize, "field 'piston.runtime': must be 1-64 of [A-Za-z0-9+#._-]");
        return -EINVAL;
    }
    rc = get_strv(it, "aliases", false, false, &sp->piston.aliases, NULL, 0);
    if (rc == -ENOMEM)
        return rc;
    for (char **a = rc == 0 ? sp->piston.aliases : NULL; a && *a; a++)
        if (!valid_name(*a))
            rc = -EINVAL;
    if (rc < 0) {
        set_err(errbuf, errsize,
                "field 'piston.aliases': must be an array of 1-64 of [A-Za-z0-9+#._-]");
        return -EINVAL;
    }
    if (!sp->piston.aliases && !(sp->piston.aliases = calloc(1, sizeof(char *))))
        return -ENOMEM;
    return 0;
}

static int get_inline(const cJSON *root, rn_spec *sp, char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "inline");
    const cJSON *el;
    regex_t re;
    int rc;

    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it)) {
        set_err(errbuf, errsize, "field 'inline': must be an object");
        return -EINVAL;
    }
    cJSON_ArrayForEach(el, it)
    {
        if (strcmp(el->string, "import_regex") != 0 && strcmp(el->string, "template") != 0) {
            set_err(errbuf, errsize, "field 'inline.%s': unknown field", el->string);
            return -EINVAL;
        }
    }
    rc = get_string(it, "template", true, true, &sp->inline_template, NULL, 0);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0 || strstr(sp->inline_template, "$${CODE}") == NULL) {
        set_err(errbuf, errsize, "field 'inline.template': must be a string containing $${CODE}");
        return -EINVAL;
    }
    rc = get_string(it, "import_regex", false, false, &sp->inline_import_regex, NULL, 0);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        set_err(errbuf, errsize, "field 'inline.import_regex': must be a string");
        return -EINVAL;
    }
    if (sp->inline_import_regex != NULL && sp->inline_import_regex[0] == '\0') {
        free(sp->inline_import_regex);
        sp->inline_import_regex = NULL;
    }
    if (sp->inline_import_regex != NULL) {
        rc = regcomp(&re, sp->inline_import_regex, REG_EXTENDED | REG_NEWLINE);
        if (rc != 0) {
            char msg[128];

            regerror(rc, &re, msg, sizeof(msg));
            set_err(errbuf, errsize, "field 'inline.import_regex': %s", msg);
            return -EINVAL;
        }
        regfree(&re);
    }
    return 0;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SPEC_MAX_NAME)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (!isalnum(c) && strchr("+#._-", c) == NULL)
            return false;
    }
    return true;
}

static bool valid_filename(const char *s)
{
    return s[0] != '.' && strchr(s, '/') == NULL && strlen(s) <= 255;
}

/* A Jobe language id: lower-case letters and digits, as Jobe's own. */
static bool valid_jobe_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* ---- parse ---- */

static const char *const known_fields[] = {
    "name",
    "display",
    "language",
    "aliases",
    "filename",
    "compile",
    "run",
    "env",
    "mounts",
    "limits",
    "compile_limits",
    "inline",
    "example",
    "example_output",
    "packages",
    "version_cmd",
    "piston",
    "jobe",
    NULL,
};

int rn_spec_parse(const char *json, size_t len, rn_spec **out, char *errbuf, size_t errsize)
{
    const char *end = NULL;
    cJSON *root;
    rn_spec *sp;
    int rc;

    *out = NULL;
    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at != NULL && at >= json && at <= json + len ? (size_t)(at - json) : 0;

        set_err(errbuf, errsize, "invalid JSON near byte %zu", off);
        return -EINVAL;
    }
    while (end != NULL && end < json + len && isspace((unsigned char)*end))
        end++;
    if (end != NULL && end < json + len && *end != '\0') {
        set_err(errbuf, errsize, "invalid JSON: trailing data at byte %zu", (size_t)(end - json));
        cJSON_Delete(root);
        return -EINVAL;
    }
    sp = calloc(1, sizeof(*sp));
    if (sp == NULL) {
        cJSON_Delete(root);
        return -ENOMEM;
    }
    if (!cJSON_IsObject(root)) {
        set_err(errbuf, errsize, "top level: must be an object");
        rc = -EINVAL;
        goto fail;
    }
    for (const cJSON *el = root->child; el != NULL; el = el->next) {
        size_t k;

        /* "$schema", "$comment" and "_..." are free for annotations. */
        if (el->string[0] == '$' || el->string[0] == '_')
            continue;
        for (k = 0; known_fields[k] != NULL; k++)
            if (strcmp(el->string, known_fields[k]) == 0)
                break;
        if (known_fields[k] == NULL) {
            set_err(errbuf, errsize, "field '%s': unknown field", el->string);
            rc = -EINVAL;
            goto fail;
        }
        for (const cJSON *prev = root->child; prev != el; prev = prev->next) {
            if (strcmp(prev->string, el->string) == 0) {
                set_err(errbuf, errsize, "field '%s': given twice", el->string);
                rc = -EINVAL;
                goto fail;
            }
        }
    }

    if ((rc = get_string(root, "name", true, true, &sp->name, errbuf, errsize)) < 0)
        goto fail;
    if (!valid_name(sp->name)) {
        set_err(errbuf, errsize, "field 'name': must be 1-64 of [A-Za-z0-9+#._-]");
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = get_string(root, "display", true, true, &sp->display, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_string(root, "language", true, true, &sp->language, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_strv(root, "aliases", false, false, &sp->aliases, errbuf, errsize)) < 0)
        goto fail;
    if (sp->aliases == NULL && (sp->aliases = calloc(1, sizeof(char *))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (char **a = sp->aliases; *a != NULL; a++) {
        if (!valid_name(*a)) {
            set_err(errbuf, errsize, "field 'aliases': '%s' must be 1-64 of [A-Za-z0-9+#._-]", *a);
            rc = -EINVAL;
            goto fail;
        }
    }
    if ((rc = get_string(root, "filename", true, true, &sp->filename, errbuf, errsize)) < 0)
        goto fail;
    if (!valid_filename(sp->filename)) {
        set_err(errbuf, errsize,
                "field 'filename': must be a plain file name (no '/', no "
                "leading '.')");
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = get_strv(root, "compile", false, true, &sp->compile, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_strv(root, "run", true, true, &sp->run, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_env(root, &sp->env, errbuf, errsize)) < 0)
        goto fail;
    if (sp->env == NULL && (sp->env = calloc(1, sizeof(char *))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = get_mounts(root, sp, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_limits(root, "limits", &sp->limits, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_limits(root, "compile_limits", &sp->compile_limits, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_inline(root, sp, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_piston(root, sp, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_string(root, "example", true, true, &sp->example, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_string(root, "example_output", true, false, &sp->example_output, errbuf,
                         errsize)) < 0)
        goto fail;
    if ((rc = get_strv(root, "packages", false, false, &sp->packages, errbuf, errsize)) < 0)
        goto fail;
    if (sp->packages == NULL && (sp->packages = calloc(1, sizeof(char *))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = get_strv(root, "version_cmd", false, true, &sp->version_cmd, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = get_string(root, "jobe", false, true, &sp->jobe, errbuf, errsize)) < 0)
        goto fail;
    if (sp->jobe != NULL && !valid_jobe_id(sp->jobe)) {
        set_err(errbuf, errsize, "field 'jobe': must be 1-32 of [a-z0-9]");
        rc = -EINVAL;
        goto fail;
    }
    sp->version = strdup("");
    sp->missing = strdup("");
    if (sp->version == NULL || sp->missing == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    sp->available = true;
    cJSON_Delete(root);
    *out = sp;
    return 0;

fail:
    if (rc == -ENOMEM)
        set_err(errbuf, errsize, "out of memory");
    cJSON_Delete(root);
    rn_spec_free(sp);
    return rc;
}

const char *rn_spec_jobe_id(const rn_spec *spec)
{
    return spec->jobe ? spec->jobe : spec->name;
}

void rn_spec_free(rn_spec *sp)
{
    if (sp == NULL)
        return;
    free(sp->name);
    free(sp->display);
    free(sp->language);
    free(sp->jobe);
    strv_free(sp->aliases);
    free(sp->filename);
    strv_free(sp->compile);
    strv_free(sp->run);
    strv_free(sp->env);
    for (size_t i = 0; i < sp->nmounts; i++) {
        free((char *)sp->mounts[i].src);
        free((char *)sp->mounts[i].dst);
    }
    free(sp->mounts);
    free(sp->inline_import_regex);
    free(sp->inline_template);
    free(sp->example);
    free(sp->example_output);
    strv_free(sp->packages);
    strv_free(sp->version_cmd);
    free(sp->piston.language);
    strv_free(sp->piston.aliases);
    free(sp->piston.runtime);
    free(sp->version);
    free(sp->missing);
    free(sp->path);
    free(sp);
}

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

static int add_missing(strbuf *b, const char *what)
{
    int rc = 0;

    if (b->len > 0)
        rc = sb_adds(b, ", ");
    return rc < 0 ? rc : sb_adds(b, what);
}

/* Resolve argv[0] in place (bare names become absolute paths, as the sandbox
 * execs by path); a program that is not there is recorded in missing. */
static int check_argv0(char **argv, strbuf *missing)
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
static int check_usr_args(char **argv, strbuf *missing)
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
    strbuf missing = {0};
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
        if ((rc = sb_adds(&missing, " (apt install")) < 0)
            goto out;
        for (char **p = sp->packages; *p != NULL; p++)
            if ((rc = sb_adds(&missing, " ")) < 0 || (rc = sb_adds(&missing, *p)) < 0)
                goto out;
        if ((rc = sb_adds(&missing, ")")) < 0)
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

/* ---- version detection ---- */

typedef struct {
    rn_spec *spec;
    pid_t pid;
    int fd[2]; /* stdout, stderr read ends */
    char buf[2][VERSION_MAX_OUTPUT];
    size_t len[2];
} version_job;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Everything the child touches is prepared here; the child only calls
 * dup2/setpgid/execve/_exit. */
static int version_spawn(version_job *j, char *const argv[], char *const envp[], int devnull)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    pid_t pid;

    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        goto fail;
    pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        setpgid(0, 0);
        if (dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(127);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    setpgid(pid, pid); /* also from here, so the kill below cannot race it */
    close(out[1]);
    close(err[1]);
    j->pid = pid;
    j->fd[0] = out[0];
    j->fd[1] = err[0];
    return 0;

fail : {
    int e = errno;

    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    return -e;
}
}

/* The first non-empty line of s, trimmed, into a fresh string. */
static char *first_line(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t b = i, e;

        while (i < len && s[i] != '\n')
            i++;
        e = i;
        i++;
        while (b < e && isspace((unsigned char)s[b]))
            b++;
        while (e > b && isspace((unsigned char)s[e - 1]))
            e--;
        if (e > b)
            return strndup(s + b, e - b);
    }
    return NULL;
}

static void detect_versions(rn_specs *specs)
{
    static char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                                 "TERM=dumb", NULL};
    version_job *jobs = NULL;
    struct pollfd *pfd = NULL;
    size_t njobs = 0, nopen = 0;
    uint64_t deadline;
    int devnull;

    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0)
        return;
    jobs = calloc(specs->n, sizeof(*jobs));
    pfd = calloc(specs->n * 2, sizeof(*pfd));
    if (jobs == NULL || pfd == NULL)
        goto out;
    for (size_t i = 0; i < specs->n; i++) {
        rn_spec *sp = specs->v[i];
        char *prog = NULL;
        char **argv;
        size_t n;

        if (sp->version_cmd == NULL || !sp->available)
            continue;
        if (rn_spec_resolve_program(sp->version_cmd[0], &prog) < 0)
            continue;
        n = strv_len(sp->version_cmd);
        argv = calloc(n + 1, sizeof(*argv));
        if (argv == NULL) {
            free(prog);
            continue;
        }
        argv[0] = prog;
        for (size_t k = 1; k < n; k++)
            argv[k] = sp->version_cmd[k];
        jobs[njobs].spec = sp;
        if (version_spawn(&jobs[njobs], argv, envp, devnull) == 0) {
            nopen += 2;
            njobs++;
        }
        free(prog);
        free(argv);
    }

    deadline = now_ms() + VERSION_BOUND_MS;
    while (nopen > 0) {
        uint64_t now = now_ms();
        size_t np = 0;
        int r;

        if (now >= deadline)
            break;
        for (size_t i = 0; i < njobs; i++)
            for (int s = 0; s < 2; s++)
                if (jobs[i].fd[s] >= 0)
                    pfd[np++] = (struct pollfd){.fd = jobs[i].fd[s], .events = POLLIN};
        r = poll(pfd, np, (int)(deadline - now));
        if (r < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < njobs; i++) {
            for (int s = 0; s < 2; s++) {
                version_job *j = &jobs[i];
                char tmp[1024];
                ssize_t got;
                bool ready = false;

                if (j->fd[s] < 0)
                    continue;
                for (size_t k = 0; k < np; k++)
                    if (pfd[k].fd == j->fd[s] && pfd[k].revents != 0)
                        ready = true;
                if (!ready)
                    continue;
                got = read(j->fd[s], tmp, sizeof(tmp));
                if (got < 0 && errno == EINTR)
                    continue;
                if (got <= 0) {
                    close(j->fd[s]);
                    j->fd[s] = -1;
                    nopen--;
                    continue;
                }
                size_t room = sizeof(j->buf[s]) - j->len[s];
                size_t take = (size_t)got < room ? (size_t)got : room;

                memcpy(j->buf[s] + j->len[s], tmp, take);
                j->len[s] += take;
            }
        }
    }

    for (size_t i = 0; i < njobs; i++) {
        version_job *j = &jobs[i];
        char *line = NULL;

        for (int s = 0; s < 2; s++) {
            if (j->fd[s] >= 0) {
                close(j->fd[s]);
                j->fd[s] = -1;
            }
        }
        kill(-j->pid, SIGKILL);
        while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        line = first_line(j->buf[0], j->len[0]);
        if (line == NULL)
            line = first_line(j->buf[1], j->len[1]);
        if (line != NULL) {
            free(j->spec->version);
            j->spec->version = line;
        }
    }
out:
    free(jobs);
    free(pfd);
    close(devnull);
}

/* ---- the set ---- */

static int cmp_spec(const void *a, const void *b)
{
    const rn_spec *x = *(rn_spec *const *)a;
    const rn_spec *y = *(rn_spec *const *)b;

    return strcmp(x->name, y->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void report(rn_specs_error_fn err, void *ud, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(rn_specs_error_fn err, void *ud, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    err(ud, line);
}

static int read_file(const char *path, char **out, size_t *outlen)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if (st.st_size > SPEC_MAX_FILE) {
        rc = -EFBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

/* The name or an alias of any spec already in the set, or NULL. */
static const rn_spec *find_in(const rn_spec *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(v[i]->name, name) == 0)
            return v[i];
        for (char **a = v[i]->aliases; *a != NULL; a++)
            if (strcasecmp(*a, name) == 0)
                return v[i];
    }
    return NULL;
}

/* Drop aliases that clash with an earlier spec, with a report for each. */
static void drop_clashing_aliases(rn_spec *sp, const rn_spec *const *v, size_t n,
                                  rn_specs_error_fn err, void *ud)
{
    size_t w = 0;

    for (size_t r = 0; sp->aliases[r] != NULL; r++) {
        const rn_spec *other = find_in(v, n, sp->aliases[r]);
        bool dup = strcasecmp(sp->aliases[r], sp->name) == 0;

        for (size_t k = 0; k < w && !dup; k++)
            dup = strcasecmp(sp->aliases[k], sp->aliases[r]) == 0;
        if (other != NULL || dup) {
            report(err, ud, "%s: field 'aliases': '%s' already names %s; ignored", sp->path,
                   sp->aliases[r], other != NULL ? other->name : sp->name);
            free(sp->aliases[r]);
            continue;
        }
        sp->aliases[w++] = sp->aliases[r];
    }
    sp->aliases[w] = NULL;
}

/* Turn "{runtimes}" in mount sources into <specs dir>/../runtimes, the
 * layout of both the source tree and the installed share/runnel. */
static int resolve_runtimes(rn_spec *sp, const char *dir)
{
    char *base = NULL, *rt = NULL;
    int rc = 0;

    for (size_t i = 0; i < sp->nmounts; i++) {
        const char *src = sp->mounts[i].src;
        char *abs;

        if (strncmp(src, RUNTIMES_PH, strlen(RUNTIMES_PH)) != 0)
            continue;
        if (rt == NULL) {
            if (asprintf(&base, "%s/../runtimes", dir) < 0) {
                base = NULL;
                rc = -ENOMEM;
                goto out;
            }
            rt = realpath(base, NULL);
            if (rt == NULL && (rt = strdup(base)) == NULL) {
                rc = -ENOMEM;
                goto out;
            }
        }
        if (asprintf(&abs, "%s%s", rt, src + strlen(RUNTIMES_PH)) < 0) {
            rc = -ENOMEM;
            goto out;
        }
        free((char *)sp->mounts[i].src);
        sp->mounts[i].src = abs;
    }
out:
    free(base);
    free(rt);
    return rc;
}

int rn_specs_load(const char *dir, bool detect, rn_specs_error_fn err, void *ud, rn_specs **out)
{
    rn_specs *specs = NULL;
    char **names = NULL;
    size_t nnames = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    int rc = 0;

    *out = NULL;
    d = opendir(dir);
    if (d == NULL)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);

        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 || de->d_name[0] == '.' ||
            strcmp(de->d_name, "schema.json") == 0)
            continue;
        if (nnames == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nv = realloc(names, ncap * sizeof(*nv));

            if (nv == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            names = nv;
            cap = ncap;
        }
        names[nnames] = strdup(de->d_name);
        if (names[nnames] == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        nnames++;
    }
    /* Load in file-name order so clashes resolve the same way every time. */
    if (nnames > 0)
        qsort(names, nnames, sizeof(*names), cmp_str);

    specs = calloc(1, sizeof(*specs));
    if (specs == NULL || (specs->v = calloc(nnames + 1, sizeof(*specs->v))) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nnames; i++) {
        char errbuf[512];
        char *path = NULL, *text = NULL;
        size_t len = 0;
        rn_spec *sp = NULL;
        const rn_spec *other;

        if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
            rc = -ENOMEM;
            goto out;
        }
        rc = read_file(path, &text, &len);
        if (rc < 0) {
            report(err, ud, "%s: cannot read: %s", path, strerror(-rc));
            free(path);
            if (rc == -ENOMEM)
                goto out;
            rc = 0;
            continue;
        }
        rc = rn_spec_parse(text, len, &sp, errbuf, sizeof(errbuf));
        free(text);
        if (rc < 0) {
            report(err, ud, "%s: %s", path, errbuf);
            free(path);
            if (rc == -ENOMEM)
                goto out;
            rc = 0;
            continue;
        }
        sp->path = path;
        other = find_in((const rn_spec *const *)specs->v, specs->n, sp->name);
        if (other != NULL) {
            report(err, ud, "%s: field 'name': '%s' already names %s (%s); file skipped", path,
                   sp->name, other->name, other->path);
            rn_spec_free(sp);
            continue;
        }
        if ((rc = resolve_runtimes(sp, dir)) < 0) {
            rn_spec_free(sp);
            goto out;
        }
        drop_clashing_aliases(sp, (const rn_spec *const *)specs->v, specs->n, err, ud);
        if ((rc = rn_spec_check_available(sp)) < 0) {
            rn_spec_free(sp);
            goto out;
        }
        specs->v[specs->n++] = sp;
    }
    if (specs->n > 0)
        qsort(specs->v, specs->n, sizeof(*specs->v), cmp_spec);
    if (detect)
        detect_versions(specs);
    *out = specs;
    specs = NULL;
out:
    closedir(d);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    rn_specs_free(specs);
    return rc;
}

void rn_specs_free(rn_specs *specs)
{
    if (specs == NULL)
        return;
    for (size_t i = 0; i < specs->n; i++)
        rn_spec_free(specs->v[i]);
    free(specs->v);
    free(specs);
}

size_t rn_specs_count(const rn_specs *specs)
{
    return specs != NULL ? specs->n : 0;
}

const rn_spec *rn_specs_at(const rn_specs *specs, size_t i)
{
    return specs != NULL && i < specs->n ? specs->v[i] : NULL;
}

const rn_spec *rn_specs_find(const rn_specs *specs, const char *name)
{
    if (specs == NULL || name == NULL || name[0] == '\0')
        return NULL;
    return find_in((const rn_spec *const *)specs->v, specs->n, name);
}

/* ---- inline expressions ---- */

/* Replace every occurrence of needle in s by rep (literally). */
static int replace_all(const char *s, size_t len, const char *needle, const char *rep,
                       size_t replen, strbuf *out)
{
    size_t nlen = strlen(needle), i = 0, from = 0;
    int rc;

    while (i + nlen <= len) {
        if (memcmp(s + i, needle, nlen) == 0) {
            if ((rc = sb_add(out, s + from, i - from)) < 0 || (rc = sb_add(out, rep, replen)) < 0)
                return rc;
            i += nlen;
            from = i;
        } else {
            i++;
        }
    }
    return sb_add(out, s + from, len - from);
}

int rn_spec_wrap_inline(const rn_spec *spec, const char *code, size_t len, char **out,
                        size_t *outlen)
{
    strbuf imports = {0}, rest = {0}, tmpl = {0}, res = {0};
    regex_t re;
    bool have_re = false;
    int rc;

    *out = NULL;
    if (outlen != NULL)
        *outlen = 0;
    if (spec->inline_template == NULL || strstr(spec->inline_template, "$${CODE}") == NULL)
        return -ENOTSUP;
    if ((rc = sb_add(&rest, "", 0)) < 0 || (rc = sb_add(&imports, "", 0)) < 0)
        goto out;

    if (spec->inline_import_regex != NULL && spec->inline_import_regex[0] != '\0') {
        size_t pos = 0, from = 0, nimports = 0;

        if (regcomp(&re, spec->inline_import_regex, REG_EXTENDED | REG_NEWLINE) != 0) {
            rc = -EINVAL;
            goto out;
        }
        have_re = true;
        while (pos <= len) {
            regmatch_t m[1];

            /* REG_STARTEND (glibc): the region may hold NULs, and "^" at
             * its start looks at the character before it. */
            m[0].rm_so = (regoff_t)pos;
            m[0].rm_eo = (regoff_t)len;
            if (regexec(&re, code, 1, m, REG_STARTEND) != 0)
                break;
            if (m[0].rm_eo == m[0].rm_so) {
                pos = (size_t)m[0].rm_so + 1; /* an empty match hoists nothing */
                continue;
            }
            if (nimports++ > 0 && (rc = sb_add(&imports, "\n", 1)) < 0)
                goto out;
            if ((rc = sb_add(&imports, code + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so))) < 0 ||
                (rc = sb_add(&rest, code + from, (size_t)m[0].rm_so - from)) < 0)
                goto out;
            from = pos = (size_t)m[0].rm_eo;
        }
        if ((rc = sb_add(&rest, code + from, len - from)) < 0)
            goto out;
        rc = replace_all(spec->inline_template, strlen(spec->inline_template), "$${IMPORTS}",
                         imports.s, imports.len, &tmpl);
        if (rc < 0)
            goto out;
    } else {
        /* Without a regex ranna leaves $${IMPORTS} in place. */
        if ((rc = sb_add(&rest, code, len)) < 0 || (rc = sb_adds(&tmpl, spec->inline_template)) < 0)
            goto out;
    }
    if ((rc = replace_all(tmpl.s, tmpl.len, "$${CODE}", rest.s, rest.len, &res)) < 0)
        goto out;
    *out = res.s;
    if (outlen != NULL)
        *outlen = res.len;
    res.s = NULL;
out:
    if (have_re)
        regfree(&re);
    free(imports.s);
    free(rest.s);
    free(tmpl.s);
    free(res.s);
    return rc;
}

/* ---- argv expansion ---- */

static int expand_one(const char *file, const char *el, char **out)
{
    strbuf b = {0};
    int rc = sb_add(&b, "", 0);

    for (const char *p = el; rc == 0 && *p != '\0';) {
        if (strncmp(p, "{file}", 6) == 0) {
            rc = sb_adds(&b, file);
            p += 6;
        } else if (strncmp(p, "{main}", 6) == 0) {
            const char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');
            bool ext = dot && dot != file && (!slash || dot > slash + 1);
            rc = sb_add(&b, file, ext ? (size_t)(dot - file) : strlen(file));
            p += 6;
        } else if (strncmp(p, "{build}", 7) == 0) {
            rc = sb_adds(&b, BUILD_DIR);
            p += 7;
        } else {
            rc = sb_add(&b, p, 1);
            p++;
        }
    }
    if (rc < 0) {
        free(b.s);
        return rc;
    }
    *out = b.s;
    return 0;
}

int rn_spec_expand_argv(const rn_spec *spec, char *const *tmpl, const char *const *args,
                        size_t nargs, char ***out)
{
    return rn_spec_expand_argv_as(spec, tmpl, NULL, args, nargs, out);
}

int rn_spec_expand_argv_as(const rn_spec *spec, char *const *tmpl, const char *file,
                           const char *const *args, size_t nargs, char ***out)
{
    size_t n = 0, cap;
    char **v;
    int rc = 0;

    *out = NULL;
    if (tmpl == NULL || tmpl[0] == NULL)
        return -EINVAL;
    cap = 1;
    for (char *const *t = tmpl; *t != NULL; t++)
        cap += strcmp(*t, "{args}") == 0 ? nargs : 1;
    v = calloc(cap, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    for (char *const *t = tmpl; *t != NULL; t++) {
        if (strcmp(*t, "{args}") == 0) {
            for (size_t i = 0; i < nargs; i++) {
                v[n] = strdup(args[i] != NULL ? args[i] : "");
                if (v[n] == NULL) {
                    rc = -ENOMEM;
                    goto fail;
                }
                n++;
            }
            continue;
        }
        if ((rc = expand_one(file ? file : spec->filename, *t, &v[n])) < 0)
            goto fail;
        n++;
    }
    *out = v;
    return 0;
fail:
    rn_argv_free(v);
    return rc;
}

void rn_argv_free(char **argv)
{
    strv_free(argv);
}
