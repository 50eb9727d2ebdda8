/* The Lenses envelope's settings, read from its config section: the
 * environments, the tokens, the limits and the helper's spec. */
#ifndef RUNNEL_LENSES_CONFIG_H
#define RUNNEL_LENSES_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "envelope.h"

#define LENSES_MAX_ENVS     64
#define LENSES_MAX_TOKENS   256
#define LENSES_HELPER_INBOX "/opt/runnel/runnel-sql"
#define LENSES_DATA_INBOX   "/data"
#define LENSES_STDERR_KEEP  1024
#define LENSES_MIN_STATS_MS 100

typedef struct {
    char name[65];
    char path[PATH_MAX];
    bool auth;
} lenses_env;

typedef struct {
    char *token;
    char **envs; /* NULL-terminated; "*" = every environment */
} lenses_token;

/* The lenses section of the configuration. */
typedef struct {
    cJSON *environments; /* name: path | {path, auth} */
    cJSON *tokens;       /* token: [environment, ...] */
    bool auth;
    char default_environment[128];
    uint64_t max_rows, max_bytes, max_time_ms, heartbeat_ms, max_sql_bytes, memory_bytes;
    uint64_t max_record_bytes;
    char helper[1024];
} lenses_conf;

/* The settings in force (one Lenses envelope per server). */
typedef struct {
    lenses_env envs[LENSES_MAX_ENVS];
    size_t nenvs;
    lenses_token tokens[LENSES_MAX_TOKENS];
    size_t ntokens;
    char default_env[65];
    uint64_t max_rows, max_bytes, max_time_ms, heartbeat_ms, max_sql_bytes, memory_bytes;
    uint64_t max_record_bytes;
    char helper[PATH_MAX];
    rn_spec *spec; /* the helper as a spec of its own, not listed to users */
} lenses_settings;

extern lenses_settings lenses_cfg;

/* Read the section c into lenses_cfg for host h (environments, tokens, the helper and
 * its spec); negative errno and a message in err on a bad value. */
int lenses_config_load(rn_host *h, const lenses_conf *c, char *err, size_t size);

/* Free what lenses_config_load made and clear lenses_cfg. */
void lenses_config_free(void);

/* Whether n bytes of s are a valid environment name. */
bool lenses_valid_env_name(const char *s, size_t n);

/* The configured environment named by n bytes of name, or NULL. */
const lenses_env *lenses_find_env(const char *name, size_t n);

/* The Lenses token an "Authorization: Bearer T" header names, or NULL. */
const lenses_token *lenses_token_of(const char *a);

#endif
