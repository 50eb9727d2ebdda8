/* Language specs: inline-expression wrapping and argv expansion. */
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

/* ---- inline expressions ---- */

/* Replace every occurrence of needle in s by rep (literally). */
static int replace_all(const char *s, size_t len, const char *needle, const char *rep,
                       size_t replen, spec_strbuf *out)
{
    size_t nlen = strlen(needle), i = 0, from = 0;
    int rc;

    while (i + nlen <= len) {
        if (memcmp(s + i, needle, nlen) == 0) {
            if ((rc = spec_sb_add(out, s + from, i - from)) < 0 ||
                (rc = spec_sb_add(out, rep, replen)) < 0)
                return rc;
            i += nlen;
            from = i;
        } else {
            i++;
        }
    }
    return spec_sb_add(out, s + from, len - from);
}

int rn_spec_wrap_inline(const rn_spec *spec, const char *code, size_t len, char **out,
                        size_t *outlen)
{
    spec_strbuf imports = {0}, rest = {0}, tmpl = {0}, res = {0};
    regex_t re;
    bool have_re = false;
    int rc;

    *out = NULL;
    if (outlen != NULL)
        *outlen = 0;
    if (spec->inline_template == NULL || strstr(spec->inline_template, "$${CODE}") == NULL)
        return -ENOTSUP;
    if ((rc = spec_sb_add(&rest, "", 0)) < 0 || (rc = spec_sb_add(&imports, "", 0)) < 0)
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
            if (nimports++ > 0 && (rc = spec_sb_add(&imports, "\n", 1)) < 0)
                goto out;
            if ((rc = spec_sb_add(&imports, code + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so))) <
                    0 ||
                (rc = spec_sb_add(&rest, code + from, (size_t)m[0].rm_so - from)) < 0)
                goto out;
            from = pos = (size_t)m[0].rm_eo;
        }
        if ((rc = spec_sb_add(&rest, code + from, len - from)) < 0)
            goto out;
        rc = replace_all(spec->inline_template, strlen(spec->inline_template), "$${IMPORTS}",
                         imports.s, imports.len, &tmpl);
        if (rc < 0)
            goto out;
    } else {
        /* Without a regex ranna leaves $${IMPORTS} in place. */
        if ((rc = spec_sb_add(&rest, code, len)) < 0 ||
            (rc = spec_sb_adds(&tmpl, spec->inline_template)) < 0)
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

/* The name's extension with its dot ("" when none): "a/b.c" -> ".c". */
static const char *name_ext(const char *name)
{
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;

    return dot && dot > base ? dot : "";
}

/* Kotlin's class for a file's top level: the base name without its
 * extension, every character but letters and digits as '_', the first
 * letter in upper case (ASCII), then "Kt" ("prog.kt" -> ProgKt). */
static int add_kt_class(spec_strbuf *b, const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    size_t n = strlen(base) - strlen(name_ext(base));
    int rc = 0;

    if (n == 0)
        rc = spec_sb_adds(b, "_");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)base[i];
        char o = (char)c;
        if (!(isalnum(c) || c >= 0x80))
            o = '_';
        else if (i == 0 && c >= 'a' && c <= 'z')
            o = (char)(c - 'a' + 'A');
        rc = spec_sb_add(b, &o, 1);
    }
    return rc < 0 ? rc : spec_sb_adds(b, "Kt");
}

static int expand_one(const char *file, const char *el, char **out)
{
    spec_strbuf b = {0};
    int rc = spec_sb_add(&b, "", 0);

    for (const char *p = el; rc == 0 && *p != '\0';) {
        if (strncmp(p, "{file}", 6) == 0) {
            rc = spec_sb_adds(&b, file);
            p += 6;
        } else if (strncmp(p, "{main}", 6) == 0) {
            /* the entry file's name without its extension (Java's class) */
            rc = spec_sb_add(&b, file, strlen(file) - strlen(name_ext(file)));
            p += 6;
        } else if (strncmp(p, "{main_kt}", 9) == 0) {
            rc = add_kt_class(&b, file);
            p += 9;
        } else if (strncmp(p, "{build}", 7) == 0) {
            rc = spec_sb_adds(&b, BUILD_DIR);
            p += 7;
        } else {
            rc = spec_sb_add(&b, p, 1);
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

/* Whether a job file joins {sources}: same extension as the entry file. */
static bool is_source(const char *entry, const char *name)
{
    const char *ext = name_ext(entry);

    return *ext != '\0' && strcmp(name_ext(name), ext) == 0 && strcmp(name, entry) != 0;
}

int rn_spec_expand_argv(const rn_spec *spec, char *const *tmpl, const char *const *args,
                        size_t nargs, char ***out)
{
    return rn_spec_expand_argv_as(spec, tmpl, NULL, args, nargs, out);
}

int rn_spec_expand_argv_as(const rn_spec *spec, char *const *tmpl, const char *file,
                           const char *const *args, size_t nargs, char ***out)
{
    return rn_spec_expand_argv_src(spec, tmpl, file, NULL, 0, args, nargs, out);
}

int rn_spec_expand_argv_src(const rn_spec *spec, char *const *tmpl, const char *file,
                            const char *const *names, size_t nnames, const char *const *args,
                            size_t nargs, char ***out)
{
    size_t n = 0, cap;
    char **v;
    int rc = 0;

    *out = NULL;
    if (tmpl == NULL || tmpl[0] == NULL)
        return -EINVAL;
    if (file == NULL)
        file = spec->filename;
    cap = 1;
    for (char *const *t = tmpl; *t != NULL; t++)
        cap += strcmp(*t, "{args}") == 0 ? nargs : strcmp(*t, "{sources}") == 0 ? 1 + nnames : 1;
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
        if (strcmp(*t, "{sources}") == 0) {
            /* the entry file first, then the job's other files of its kind */
            if ((v[n] = strdup(file)) == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            n++;
            for (size_t i = 0; i < nnames; i++) {
                if (names[i] == NULL || !is_source(file, names[i]))
                    continue;
                if ((v[n] = strdup(names[i])) == NULL) {
                    rc = -ENOMEM;
                    goto fail;
                }
                n++;
            }
            continue;
        }
        if ((rc = expand_one(file, *t, &v[n])) < 0)
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
    spec_strv_free(argv);
}
