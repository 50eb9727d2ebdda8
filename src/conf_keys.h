/* Configuration keys as data: the top-level keys (config.c) and each
 * envelope's section (envelope.h) are tables of these, parsed into a
 * struct by config.c, which also lists them for `runneld --config-keys`. */
#ifndef RUNNEL_CONF_KEYS_H
#define RUNNEL_CONF_KEYS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RN_CONF_STR,     /* char[size], NUL-terminated */
    RN_CONF_U64,     /* uint64_t in [min, max] */
    RN_CONF_U64Z,    /* uint64_t in [min, max], or 0 (= the built-in default) */
    RN_CONF_BOOL,    /* bool */
    RN_CONF_LIST,    /* char[size]: an array of strings kept newline-separated */
    RN_CONF_JSON,    /* struct cJSON *: any JSON value, checked by the owner */
    RN_CONF_SECTION, /* a nested object whose keys follow as "name.key" */
} rn_conf_type;

typedef struct {
    const char *name; /* dotted below the section */
    rn_conf_type type;
    size_t off;  /* in the struct the table fills */
    size_t size; /* STR and LIST */
    uint64_t min, max;
    const char *def; /* default as JSON text ("600000", "true", "\"/ws\""); NULL = zero */
    const char *doc; /* one line for `runneld --config-keys` */
} rn_conf_key;

#define RN_CONF_KEY_STR(n, T, f, d, doc)                                                           \
    {                                                                                              \
        n, RN_CONF_STR, offsetof(T, f), sizeof(((T *)0)->f), 0, 0, d, doc                          \
    }
#define RN_CONF_KEY_U64(n, T, f, lo, hi, d, doc)                                                   \
    {                                                                                              \
        n, RN_CONF_U64, offsetof(T, f), 0, lo, hi, d, doc                                          \
    }
#define RN_CONF_KEY_BOOL(n, T, f, d, doc)                                                          \
    {                                                                                              \
        n, RN_CONF_BOOL, offsetof(T, f), 0, 0, 1, d, doc                                           \
    }
#define RN_CONF_KEY_LIST(n, T, f, doc)                                                             \
    {                                                                                              \
        n, RN_CONF_LIST, offsetof(T, f), sizeof(((T *)0)->f), 0, 0, NULL, doc                      \
    }
#define RN_CONF_KEY_JSON(n, T, f, doc)                                                             \
    {                                                                                              \
        n, RN_CONF_JSON, offsetof(T, f), 0, 0, 0, NULL, doc                                        \
    }
#define RN_CONF_KEY_SECTION(n, doc)                                                                \
    {                                                                                              \
        n, RN_CONF_SECTION, 0, 0, 0, 0, NULL, doc                                                  \
    }

#endif
