/* runneld's configuration: embedded defaults, then one JSON file, then
 * RUNNEL_* environment variables (RUNNEL_LIMITS_WALL_MS=5000 sets
 * limits.wall_ms). Every key is listed in config.c's table. */
#ifndef RUNNEL_CONFIG_H
#define RUNNEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef struct {
    char listen[256];
    char specs[1024];
    char log_level[16];
    /* limits */
    uint64_t concurrency;
    uint64_t queue;
    uint64_t per_connection;
    uint64_t wall_ms;
    uint64_t cpu_ms;
    uint64_t memory_bytes;
    uint64_t output_bytes;
    uint64_t code_bytes;
    uint64_t message_bytes;
    uint64_t pids;
    uint64_t nofile;
    uint64_t tmp_bytes;
    uint64_t idle_client_ms;
    uint64_t queue_bytes;
    uint64_t request_timeout_ms; /* an HTTP request's headers and body arrive within this */
    /* compile cache */
    char cache_dir[1024];
    uint64_t cache_bytes;
    /* sandbox */
    uint64_t uid_first;
    uint64_t uid_count;
    char cgroup[128];
    bool no_cgroup;
    uint64_t ahead;
    uint64_t warm; /* sandboxes built ahead, waiting for a run */
    /* security: lists are newline-separated */
    char auth_tokens[8192];
    char origins[4096];
    char hosts[2048];
    char trusted_proxies[2048];
    uint64_t connections_per_ip;
    uint64_t runs_per_minute_per_ip;
    char tls_cert[1024];
    char tls_key[1024];
    bool playground; /* serve the playground page at / */
    /* Sections owned by envelopes ("linkis", "zeppelin", "lenses"), kept
     * as parsed JSON for the envelope's own init to validate. */
    struct cJSON *sections;
} rn_config;

/* Names of the top-level sections envelopes own. */
extern const char *const rn_config_envelope_sections[];

/* The section an envelope owns, or NULL when the file has none. */
const struct cJSON *rn_config_section(const rn_config *cfg, const char *name);

/* Free what loading allocated (the sections). */
void rn_config_free(rn_config *cfg);

/* Copy src into dst, duplicating the sections. */
int rn_config_copy(rn_config *dst, const rn_config *src);

/* Fill in the embedded defaults (specs_default is the built-in specs dir). */
void rn_config_defaults(rn_config *cfg, const char *specs_default);

/* Apply a JSON config file. On error returns -EINVAL (or -errno reading it)
 * and writes "FILE:LINE: message" into err. */
int rn_config_load_file(rn_config *cfg, const char *path, char *err, size_t errsize);

/* Apply JSON text (the file's content); name is used in messages. */
int rn_config_load_text(rn_config *cfg, const char *name, const char *text, char *err,
                        size_t errsize);

/* Apply RUNNEL_* environment overrides; -EINVAL with a message on a bad one. */
int rn_config_apply_env(rn_config *cfg, char *const *envp, char *err, size_t errsize);

/* Whether item is one of the newline-separated entries of list. */
bool rn_config_list_has(const char *list, const char *item);

/* Number of keys and the i-th dotted key name (for docs and tests). */
size_t rn_config_key_count(void);
const char *rn_config_key_name(size_t i);

#endif
