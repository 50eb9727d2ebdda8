/* Language specs: parsing and validation of one spec, and the set loaded
 * from a directory with lookup by name or alias. */
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
        spec_set_err(errbuf, errsize, "field 'env': must be an object of strings");
        return -EINVAL;
    }
    v = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(el, it)
    {
        const char *k = el->string;

        if (k == NULL || k[0] == '\0' || strchr(k, '=') != NULL) {
            spec_set_err(errbuf, errsize, "field 'env': bad variable name '%s'", k ? k : "");
            spec_strv_free(v);
            return -EINVAL;
        }
        if (!cJSON_IsString(el) || el->valuestring == NULL) {
            spec_set_err(errbuf, errsize, "field 'env.%s': must be a string", k);
            spec_strv_free(v);
            return -EINVAL;
        }
        if (asprintf(&v[n], "%s=%s", k, el->valuestring) < 0) {
            v[n] = NULL;
            spec_strv_free(v);
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
        spec_set_err(errbuf, errsize, "field 'mounts': must be an array of objects");
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
            spec_set_err(errbuf, errsize, "field 'mounts[%zu]': must be an object", i);
            return -EINVAL;
        }
        cJSON_ArrayForEach(f, el)
        {
            if (strcmp(f->string, "src") != 0 && strcmp(f->string, "dst") != 0 &&
                strcmp(f->string, "optional") != 0) {
                spec_set_err(errbuf, errsize, "field 'mounts[%zu].%s': unknown field", i,
                             f->string);
                return -EINVAL;
            }
        }
        if (!cJSON_IsString(src) ||
            !(clean_abs_path(src->valuestring) || is_runtimes_path(src->valuestring))) {
            spec_set_err(
                errbuf, errsize,
                "field 'mounts[%zu].src': must be an absolute path or start with {runtimes}", i);
            return -EINVAL;
        }
        if (dst != NULL && (!cJSON_IsString(dst) || !clean_abs_path(dst->valuestring))) {
            spec_set_err(errbuf, errsize, "field 'mounts[%zu].dst': must be an absolute path", i);
            return -EINVAL;
        }
        if (opt != NULL && !cJSON_IsBool(opt)) {
            spec_set_err(errbuf, errsize, "field 'mounts[%zu].optional': must be a boolean", i);
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
        spec_set_err(errbuf, errsize, "field '%s': must be an object", field);
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
            spec_set_err(errbuf, errsize, "field '%s.%s': unknown limit", field, el->string);
            return -EINVAL;
        }
        d = el->valuedouble;
        if (!cJSON_IsNumber(el) || d < 0 || d > keys[k].max || d != (double)(uint64_t)d) {
            spec_set_err(errbuf, errsize, "field '%s.%s': must be an integer from 0 to %.0f", field,
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

static int get_inline(const cJSON *root, rn_spec *sp, char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "inline");
    const cJSON *el;
    regex_t re;
    int rc;

    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it)) {
        spec_set_err(errbuf, errsize, "field 'inline': must be an object");
        return -EINVAL;
    }
    cJSON_ArrayForEach(el, it)
    {
        if (strcmp(el->string, "import_regex") != 0 && strcmp(el->string, "template") != 0) {
            spec_set_err(errbuf, errsize, "field 'inline.%s': unknown field", el->string);
            return -EINVAL;
        }
    }
    rc = spec_get_string(it, "template", true, true, &sp->inline_template, NULL, 0);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0 || strstr(sp->inline_template, "$${CODE}") == NULL) {
        spec_set_err(errbuf, errsize,
                     "field 'inline.template': must be a string containing $${CODE}");
        return -EINVAL;
    }
    rc = spec_get_string(it, "import_regex", false, false, &sp->inline_import_regex, NULL, 0);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        spec_set_err(errbuf, errsize, "field 'inline.import_regex': must be a string");
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
            spec_set_err(errbuf, errsize, "field 'inline.import_regex': %s", msg);
            return -EINVAL;
        }
        regfree(&re);
    }
    return 0;
}

static bool valid_filename(const char *s)
{
    return s[0] != '.' && strchr(s, '/') == NULL && strlen(s) <= 255;
}

/* ---- parse ---- */

static const char *const known_fields[] = {
    "name",           "display", "language", "aliases",        "filename",
    "compile",        "run",     "env",      "mounts",         "limits",
    "compile_limits", "inline",  "example",  "example_output", "packages",
    "version_cmd",    "names",   NULL,
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

        spec_set_err(errbuf, errsize, "invalid JSON near byte %zu", off);
        return -EINVAL;
    }
    while (end != NULL && end < json + len && isspace((unsigned char)*end))
        end++;
    if (end != NULL && end < json + len && *end != '\0') {
        spec_set_err(errbuf, errsize, "invalid JSON: trailing data at byte %zu",
                     (size_t)(end - json));
        cJSON_Delete(root);
        return -EINVAL;
    }
    sp = calloc(1, sizeof(*sp));
    if (sp == NULL) {
        cJSON_Delete(root);
        return -ENOMEM;
    }
    if (!cJSON_IsObject(root)) {
        spec_set_err(errbuf, errsize, "top level: must be an object");
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
            spec_set_err(errbuf, errsize, "field '%s': unknown field", el->string);
            rc = -EINVAL;
            goto fail;
        }
        for (const cJSON *prev = root->child; prev != el; prev = prev->next) {
            if (strcmp(prev->string, el->string) == 0) {
                spec_set_err(errbuf, errsize, "field '%s': given twice", el->string);
                rc = -EINVAL;
                goto fail;
            }
        }
    }

    if ((rc = spec_get_string(root, "name", true, true, &sp->name, errbuf, errsize)) < 0)
        goto fail;
    if (!spec_valid_name(sp->name)) {
        spec_set_err(errbuf, errsize, "field 'name': must be 1-64 of [A-Za-z0-9+#._-]");
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = spec_get_string(root, "display", true, true, &sp->display, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = spec_get_string(root, "language", true, true, &sp->language, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = spec_get_strv(root, "aliases", false, false, &sp->aliases, errbuf, errsize)) < 0)
        goto fail;
    if (sp->aliases == NULL && (sp->aliases = calloc(1, sizeof(char *))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (char **a = sp->aliases; *a != NULL; a++) {
        if (!spec_valid_name(*a)) {
            spec_set_err(errbuf, errsize, "field 'aliases': '%s' must be 1-64 of [A-Za-z0-9+#._-]",
                         *a);
            rc = -EINVAL;
            goto fail;
        }
    }
    if ((rc = spec_get_string(root, "filename", true, true, &sp->filename, errbuf, errsize)) < 0)
        goto fail;
    if (!valid_filename(sp->filename)) {
        spec_set_err(errbuf, errsize,
                     "field 'filename': must be a plain file name (no '/', no "
                     "leading '.')");
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = spec_get_strv(root, "compile", false, true, &sp->compile, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = spec_get_strv(root, "run", true, true, &sp->run, errbuf, errsize)) < 0)
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
    if ((rc = spec_get_string(root, "example", true, true, &sp->example, errbuf, errsize)) < 0)
        goto fail;
    if ((rc = spec_get_string(root, "example_output", true, false, &sp->example_output, errbuf,
                              errsize)) < 0)
        goto fail;
    if ((rc = spec_get_strv(root, "packages", false, false, &sp->packages, errbuf, errsize)) < 0)
        goto fail;
    if (sp->packages == NULL && (sp->packages = calloc(1, sizeof(char *))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = spec_get_strv(root, "version_cmd", false, true, &sp->version_cmd, errbuf, errsize)) <
        0)
        goto fail;
    if ((rc = spec_get_names(root, sp, errbuf, errsize)) < 0)
        goto fail;
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
        spec_set_err(errbuf, errsize, "out of memory");
    cJSON_Delete(root);
    rn_spec_free(sp);
    return rc;
}

void rn_spec_free(rn_spec *sp)
{
    if (sp == NULL)
        return;
    free(sp->name);
    free(sp->display);
    free(sp->language);
    spec_strv_free(sp->aliases);
    free(sp->filename);
    spec_strv_free(sp->compile);
    spec_strv_free(sp->run);
    spec_strv_free(sp->env);
    for (size_t i = 0; i < sp->nmounts; i++) {
        free((char *)sp->mounts[i].src);
        free((char *)sp->mounts[i].dst);
    }
    free(sp->mounts);
    free(sp->inline_import_regex);
    free(sp->inline_template);
    free(sp->example);
    free(sp->example_output);
    spec_strv_free(sp->packages);
    spec_strv_free(sp->version_cmd);
    free(sp->version);
    free(sp->missing);
    free(sp->path);
    spec_names_free(sp);
    free(sp);
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

/* The name, an alias or a ranna key of any spec already in the set, or NULL. */
static const rn_spec *find_in(const rn_spec *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(v[i]->name, name) == 0)
            return v[i];
        for (char **a = v[i]->aliases; *a != NULL; a++)
            if (strcasecmp(*a, name) == 0)
                return v[i];
        for (char **a = v[i]->names.ranna; a != NULL && *a != NULL; a++)
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
        spec_names_drop_clashes(sp, (const rn_spec *const *)specs->v, specs->n, err, ud);
        if ((rc = rn_spec_check_available(sp)) < 0) {
            rn_spec_free(sp);
            goto out;
        }
        specs->v[specs->n++] = sp;
    }
    if (specs->n > 0)
        qsort(specs->v, specs->n, sizeof(*specs->v), cmp_spec);
    if (detect)
        spec_detect_versions_now(specs);
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
