/* Language specs: what the spec files (specs*.c) share and nothing else
 * includes. */
#ifndef RUNNEL_SPECS_INT_H
#define RUNNEL_SPECS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "specs.h"

#define SPEC_MAX_FILE      (1024 * 1024)
#define SPEC_MAX_NAME      64
#define VERSION_BOUND_MS   5000
#define VERSION_MAX_OUTPUT 4096
#define BUILD_DIR          "/build"
#define RUNTIMES_PH        "{runtimes}"

/* Integers a spec may carry: JSON numbers are doubles, exact up to 2^53. */
#define SPEC_MAX_INT 9007199254740992.0

struct rn_specs {
    rn_spec **v; /* sorted by name */
    size_t n;
};

/* A growing heap string. */
typedef struct {
    char *s;
    size_t len;
    size_t cap;
} spec_strbuf;

/* printf into errbuf (when there is one). */
void spec_set_err(char *errbuf, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Free a NULL-terminated string vector (NULL is fine). */
void spec_strv_free(char **v);

/* Elements in a NULL-terminated vector (0 for NULL). */
size_t spec_strv_len(char *const *v);

/* Append len bytes; -ENOMEM on failure. */
int spec_sb_add(spec_strbuf *b, const char *data, size_t len);

/* Append a C string; -ENOMEM on failure. */
int spec_sb_adds(spec_strbuf *b, const char *s);

/* A string field into a fresh copy (NULL when absent and optional); -EINVAL
 * with errbuf set when it is missing, not a string, or empty and nonempty. */
int spec_get_string(const cJSON *root, const char *field, bool required, bool nonempty, char **out,
                    char *errbuf, size_t errsize);

/* An array of strings into a NULL-terminated vector; same errors. */
int spec_get_strv(const cJSON *root, const char *field, bool required, bool nonempty, char ***out,
                  char *errbuf, size_t errsize);

/* 1-64 characters of [A-Za-z0-9+#._-]. */
bool spec_valid_name(const char *s);

/* Parse the optional "names" object into sp->names (defaults filled in). */
int spec_get_names(const cJSON *root, rn_spec *sp, char *errbuf, size_t errsize);

/* Free sp->names. */
void spec_names_free(rn_spec *sp);

/* Drop names of sp that an earlier spec in v[0..n) already has under the
 * same envelope, reporting each through err (prefix: the spec's path). */
void spec_names_drop_clashes(rn_spec *sp, const rn_spec *const *v, size_t n, rn_specs_error_fn err,
                             void *ud);

/* The version of each spec, asked on the host now (blocking, bounded to
 * VERSION_BOUND_MS in all); used by rn_specs_load(detect = true). */
void spec_detect_versions_now(rn_specs *specs);

#endif
