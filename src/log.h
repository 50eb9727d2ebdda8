/* Structured log lines on stderr: "ts=... level=... event=... key=value ...". */
#ifndef RUNNEL_LOG_H
#define RUNNEL_LOG_H

typedef enum {
    RN_LOG_ERROR = 0,
    RN_LOG_WARN,
    RN_LOG_INFO,
    RN_LOG_DEBUG,
} rn_log_level;

/* Only lines at or above this level are written. */
void rn_log_set_level(rn_log_level level);

/* The current threshold. */
rn_log_level rn_log_get_level(void);

/* Parse "error", "warn", "info" or "debug"; -EINVAL otherwise. */
int rn_log_parse_level(const char *s, rn_log_level *out);

/* Write one line: event is a dotted name ("run.start"), fmt the rest as
 * space-separated key=value pairs. Values with spaces should be quoted by
 * the caller with %s-safe text (see rn_log_quote). */
void rn_log(rn_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy s into buf as a double-quoted value with " \\ and control bytes
 * escaped, truncated to fit; returns buf. */
const char *rn_log_quote(const char *s, char *buf, unsigned size);

#endif
