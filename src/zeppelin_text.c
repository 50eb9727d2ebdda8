/* Zeppelin paragraph text, interpreter names and dates. */
#include "zeppelin_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

int zp_text_parse(const char *text, size_t len, char *name, size_t size, size_t *script)
{
    size_t i = 0;
    name[0] = 0;
    while (i < len && is_space(text[i]))
        i++;
    if (i + 1 >= len || text[i] != '%' || !(is_word(text[i + 1]) || text[i + 1] == '-')) {
        /* No interpreter: the whole text is the script. */
        *script = 0;
        while (*script < len && is_space(text[*script]))
            (*script)++;
        return 0;
    }
    size_t start = ++i;
    while (i < len && (is_word(text[i]) || text[i] == '-'))
        i++;
    /* ".word" parts, each needing at least one word character */
    while (i + 1 < len && text[i] == '.' && is_word(text[i + 1])) {
        i++;
        while (i < len && is_word(text[i]))
            i++;
    }
    if (i - start >= size)
        return -ENAMETOOLONG;
    memcpy(name, text + start, i - start);
    name[i - start] = 0;
    if (i < len && text[i] == '(') {
        /* Local properties: quotes protect ',' '=' and ')'; backslash escapes. */
        char quote = 0;
        bool closed = false;
        for (i++; i < len; i++) {
            char c = text[i];
            if (c == '\\') {
                i++;
                continue;
            }
            if (quote) {
                if (c == quote)
                    quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == ')') {
                closed = true;
                i++;
                break;
            }
        }
        if (!closed)
            return -EINVAL;
    }
    while (i < len && is_space(text[i]))
        i++;
    *script = i;
    return 0;
}

/* Zeppelin's interpreter names (and its editors' language names) onto
 * runnel's languages. %sh runs bash, as Zeppelin's shell interpreter does. */
static const char *const builtin[][2] = {
    {"md", ZP_TARGET_TEXT},
    {"md.md", ZP_TARGET_TEXT},
    {"markdown", ZP_TARGET_TEXT},
    {"text", ZP_TARGET_TEXT},
    {"python", "python3"},
    {"python3", "python3"},
    {"python.python", "python3"},
    {"ipython", "python3"},
    {"python.ipython", "python3"},
    {"pyspark", "python3"},
    {"spark.pyspark", "python3"},
    {"ipyspark", "python3"},
    {"spark.ipyspark", "python3"},
    {"sh", "bash"},
    {"sh.sh", "bash"},
    {"shell", "bash"},
    {"bash", "bash"},
    {"sql", "sqlite"},
    {"spark.sql", "sqlite"},
    {"python.sql", "sqlite"},
    {"jdbc", "sqlite"},
    {"jdbc.sql", "sqlite"},
    {"sqlite", "sqlite"},
    {"r", "r"},
    {"r.r", "r"},
    {"ir", "r"},
    {"r.ir", "r"},
    {"spark.r", "r"},
    {"spark.ir", "r"},
    {"spark", "scala"},
    {"spark.spark", "scala"},
    {"scala", "scala"},
    {"java", "java"},
    {"groovy", "groovy"},
};

const char *zp_builtin_target(const char *name)
{
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (!strcmp(builtin[i][0], name))
            return builtin[i][1];
    return NULL;
}

const char *zp_builtin_at(size_t i, const char **target)
{
    if (i >= sizeof(builtin) / sizeof(builtin[0]))
        return NULL;
    *target = builtin[i][1];
    return builtin[i][0];
}

void zp_format_date(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%S%z", &tm))
        snprintf(buf, size, "1970-01-01T00:00:00+0000");
}
