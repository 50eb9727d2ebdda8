#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static rn_log_level log_level = RN_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void rn_log_set_level(rn_log_level level)
{
    log_level = level;
}

rn_log_level rn_log_get_level(void)
{
    return log_level;
}

int rn_log_parse_level(const char *s, rn_log_level *out)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (!strcmp(s, level_names[i])) {
            *out = (rn_log_level)i;
            return 0;
        }
    }
    if (!strcmp(s, "warning")) {
        *out = RN_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

void rn_log(rn_log_level level, const char *event, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level], event);
    if (n < 0)
        return;
    if (fmt && *fmt && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line so concurrent writers never interleave a line. */
    fwrite(line, 1, (size_t)n, stderr);
    fflush(stderr);
}

const char *rn_log_quote(const char *s, char *buf, unsigned size)
{
    unsigned o = 0;
    if (size < 3) {
        if (size)
            buf[0] = 0;
        return buf;
    }
    buf[o++] = '"';
    for (; s && *s && o + 3 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}
