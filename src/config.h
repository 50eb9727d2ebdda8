/* runneld's configuration: embedded defaults, then one JSON file, then
 * RUNNEL_* environment variables (RUNNEL_LIMITS_WALL_MS=5000 sets
 * limits.wall_ms). The top-level keys are config.c's table; each envelope's
 * section is its own table (envelope.h), parsed into a struct of its own. */
#ifndef RUNNEL_CONFIG_H
#define RUNNEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* Envelopes the registry may hold. */
#define RN_ENVELOPES_MAX 16

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
    uint64_t cache_entry_bytes; /* one compile's /build, one entry */
    /* state store */
    char state_dir[1024];
    char state_store[1024];
    uint64_t retention_count;
    uint64_t retention_ms;
    /* sandbox */
    uint64_t uid_first;
    uint64_t uid_count;
    char cgroup[128];
    bool no_cgroup;
    uint64_t ahead;
    uint64_t warm; /* sandboxes built ahead, waiting for a run */
    /* security: lists are newline-separated */
    char auth_tokens[8192];
    char auth_users[8192];  /* "name:token" entries: tenants */
    char auth_admins[2048]; /* user names that see every tenant's records */
    char origins[4096];
    char hosts[2048];
    char trusted_proxies[2048];
    uint64_t connections_per_ip;
    uint64_t runs_per_minute_per_ip;
    char tls_cert[1024];
    char tls_key[1024];
    bool playground; /* serve the playground page at / */
    /* Each envelope's section, parsed from its key table (the registry's
     * order; NULL for an envelope without keys). */
    void *env_conf[RN_ENVELOPES_MAX];
} rn_config;

/* The parsed section of the index-th envelope of the registry, or NULL. */
const void *rn_config_envelope(const rn_config *cfg, size_t index);

/* Free what the defaults and loading allocated (the sections). */
void rn_config_free(rn_config *cfg);

/* Copy src into dst, duplicating the sections. */
int rn_config_copy(rn_config *dst, const rn_config *src);

/* Fill in the embedded defaults (specs_default is the built-in specs dir);
 * -ENOMEM when the sections cannot be made (free with rn_config_free). */
int rn_config_defaults(rn_config *cfg, const char *specs_default);

/* Apply a JSON config file. On error returns -EINVAL (or -errno reading it)
 * and writes "FILE:LINE: message" into err. */
int rn_config_load_file(rn_config *cfg, const char *path, char *err, size_t errsize);

/* Apply JSON text (the file's content); name is used in messages. */
int rn_config_load_text(rn_config *cfg, const char *name, const char *text, char *err,
                        size_t errsize);

/* Apply RUNNEL_* environment overrides; -EINVAL with a message on a bad one. */
int rn_config_apply_env(rn_config *cfg, char *const *envp, char *err, size_t errsize);

/* Every key, one per line: name, type, default, description, tab-separated
 * (`runneld --config-keys`, from which runnel.conf(5) is checked). */
void rn_config_print_keys(FILE *f);

#endif
