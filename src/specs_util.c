/* Language specs: helpers shared by the spec files (strings, vectors,
 * field readers). */
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

/* ---- small helpers ---- */

void spec_set_err(char *errbuf, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errsize == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errsize, fmt, ap);
    va_end(ap);
}

void spec_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

size_t spec_strv_len(char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

int spec_sb_add(spec_strbuf *b, const char *data, size_t len)
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

int spec_sb_adds(spec_strbuf *b, const char *s)
{
    return spec_sb_add(b, s, strlen(s));
}

/* ---- field parsers: each returns 0, or -EINVAL with errbuf set ---- */

int spec_get_string(const cJSON *root, const char *field, bool required, bool nonempty, char **out,
                    char *errbuf, size_t errsize)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, field);

    *out = NULL;
    if (it == NULL) {
        if (!required)
            return 0;
        spec_set_err(errbuf, errsize, "field '%s': missing", field);
        return -EINVAL;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        spec_set_err(errbuf, errsize, "field '%s': must be a string", field);
        return -EINVAL;
    }
    if (nonempty && it->valuestring[0] == '\0') {
        spec_set_err(errbuf, errsize, "field '%s': must not be empty", field);
        return -EINVAL;
    }
    *out = strdup(it->valuestring);
    return *out == NULL ? -ENOMEM : 0;
}

/* An array of strings into a NULL-terminated vector. */
int spec_get_strv(const cJSON *root, const char *field, bool required, bool nonempty, char ***out,
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
        spec_set_err(errbuf, errsize, "field '%s': missing", field);
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
            spec_strv_free(v);
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
    spec_strv_free(v);
    spec_set_err(errbuf, errsize, "field '%s': must be a %sarray of non-empty strings", field,
                 nonempty ? "non-empty " : "");
    return rc;
}

bool spec_valid_name(const char *s)
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
