/* Compile cache keys. */
#include "compilekey.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"

static void put_str(rn_cache_keyhash *h, const char *s)
{
    if (!s) {
        rn_cache_keyhash_u64(h, UINT64_MAX); /* absent, unlike "" */
        return;
    }
    rn_cache_keyhash_field(h, s, strlen(s));
}

static void put_strv(rn_cache_keyhash *h, char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    rn_cache_keyhash_u64(h, v ? n : UINT64_MAX);
    for (size_t i = 0; i < n; i++)
        put_str(h, v[i]);
}

static void put_limits(rn_cache_keyhash *h, const rn_spec_limits *l)
{
    rn_cache_keyhash_u64(h, l->wall_ms);
    rn_cache_keyhash_u64(h, l->cpu_ms);
    rn_cache_keyhash_u64(h, l->memory_bytes);
    rn_cache_keyhash_u64(h, l->output_bytes);
    rn_cache_keyhash_u64(h, l->tmp_bytes);
    rn_cache_keyhash_u64(h, l->pids);
    rn_cache_keyhash_u64(h, l->nofile);
}

/* Who a host file is now: replacing or rewriting it (a toolchain upgrade)
 * changes its inode or its times; the change time cannot be set back. */
static void put_identity(rn_cache_keyhash *h, const char *host_path)
{
    struct stat st;
    put_str(h, host_path);
    if (stat(host_path, &st) < 0) {
        rn_cache_keyhash_u64(h, UINT64_MAX);
        return;
    }
    rn_cache_keyhash_u64(h, (uint64_t)st.st_dev);
    rn_cache_keyhash_u64(h, (uint64_t)st.st_ino);
    rn_cache_keyhash_u64(h, (uint64_t)st.st_size);
    rn_cache_keyhash_u64(h, (uint64_t)st.st_mtim.tv_sec);
    rn_cache_keyhash_u64(h, (uint64_t)st.st_mtim.tv_nsec);
    rn_cache_keyhash_u64(h, (uint64_t)st.st_ctim.tv_sec);
    rn_cache_keyhash_u64(h, (uint64_t)st.st_ctim.tv_nsec);
}

/* A path inside the sandbox as the host knows it: below a spec mount it is
 * below the mount's source; the system binds keep their paths. NULL for
 * the run's own directories, which hold nothing of the host's. */
static const char *host_path_of(const rn_spec *spec, const char *p, char *buf, size_t size)
{
    if (p[0] != '/' || !strncmp(p, "/build", 6) || !strncmp(p, "/work", 5) ||
        !strncmp(p, "/tmp", 4))
        return NULL;
    for (size_t i = 0; i < spec->nmounts; i++) {
        const rn_box_bind *b = &spec->mounts[i];
        const char *dst = b->dst ? b->dst : b->src;
        size_t n = strlen(dst);
        if (!strncmp(p, dst, n) && (p[n] == '/' || p[n] == '\0')) {
            int len = snprintf(buf, size, "%s%s", b->src, p + n);
            return len < 0 || (size_t)len >= size ? NULL : buf;
        }
    }
    return p;
}

static void put_identities(rn_cache_keyhash *h, const rn_spec *spec, char *const *argv)
{
    char buf[4096];
    for (size_t i = 0; argv && argv[i]; i++) {
        const char *hp = host_path_of(spec, argv[i], buf, sizeof(buf));
        if (hp)
            put_identity(h, hp);
    }
}

void rn_compile_key(const rn_spec *spec, char *const *argv, char *const *envp, const char *code,
                    size_t code_len, char key[65])
{
    rn_cache_keyhash h;
    rn_cache_keyhash_init(&h);

    /* The spec, every field. */
    put_str(&h, spec->name);
    put_str(&h, spec->display);
    put_str(&h, spec->language);
    put_strv(&h, spec->aliases);
    put_str(&h, spec->filename);
    put_strv(&h, spec->compile);
    put_strv(&h, spec->run);
    put_strv(&h, spec->env);
    rn_cache_keyhash_u64(&h, spec->nmounts);
    for (size_t i = 0; i < spec->nmounts; i++) {
        const rn_box_bind *b = &spec->mounts[i];
        put_str(&h, b->src);
        put_str(&h, b->dst);
        rn_cache_keyhash_u64(&h, (uint64_t)b->writable << 1 | (uint64_t)b->optional);
    }
    put_limits(&h, &spec->limits);
    put_limits(&h, &spec->compile_limits);
    put_str(&h, spec->inline_import_regex);
    put_str(&h, spec->inline_template);
    put_str(&h, spec->example);
    put_str(&h, spec->example_output);
    put_strv(&h, spec->packages);
    put_strv(&h, spec->version_cmd);
    put_str(&h, spec->version);

    /* The compile stage as it runs. */
    put_strv(&h, argv);
    put_strv(&h, envp);

    /* The toolchain on the host now. */
    put_identities(&h, spec, argv);
    put_identities(&h, spec, spec->version_cmd);
    for (size_t i = 0; i < spec->nmounts; i++)
        put_identity(&h, spec->mounts[i].src);

    /* The source file. */
    put_str(&h, spec->filename);
    rn_cache_keyhash_field(&h, code, code_len);

    rn_cache_keyhash_final(&h, key);
}
