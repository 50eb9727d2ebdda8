#include "jobe_files.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "util.h"

#define HASH_LEN 64

typedef struct {
    char id[JOBE_FILE_ID_MAX + 1];
    char hash[HASH_LEN + 1];
    uint64_t size;
    uint64_t used; /* seconds, CLOCK_REALTIME */
} entry;

typedef enum { OP_PUT, OP_READ, OP_UNLINK } op_kind;

typedef struct op {
    uv_work_t work;
    jobe_files *f;
    op_kind kind;
    struct op *next;
    int err;
    /* PUT */
    char id[JOBE_FILE_ID_MAX + 1];
    char hash[HASH_LEN + 1];
    char *data;
    size_t len;
    void (*put_done)(void *ud, int err);
    /* READ: ids resolved to hashes when the op starts */
    char **ids;
    char (*hashes)[HASH_LEN + 1];
    size_t n;
    jobe_file_data *out;
    void (*read_done)(void *ud, int err, jobe_file_data *out);
    /* UNLINK: the id file, and the object unless still referenced */
    bool unlink_object;
    void *ud;
} op;

struct jobe_files {
    uv_loop_t *loop;
    char *dir;
    jobe_files_options o;
    entry *e;
    size_t n, cap;
    uint64_t bytes;
    op *qhead, *qtail;
    bool busy;
    bool closing;
};

static uint64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

bool jobe_files_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > JOBE_FILE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    return true;
}

static bool hash_valid(const char *h)
{
    if (strlen(h) != HASH_LEN)
        return false;
    for (size_t i = 0; i < HASH_LEN; i++)
        if (!isdigit((unsigned char)h[i]) && !(h[i] >= 'a' && h[i] <= 'f'))
            return false;
    return true;
}

static entry *find(const jobe_files *f, const char *id)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].id, id))
            return &f->e[i];
    return NULL;
}

static bool hash_used(const jobe_files *f, const char *hash, const entry *except)
{
    for (size_t i = 0; i < f->n; i++)
        if (&f->e[i] != except && !strcmp(f->e[i].hash, hash))
            return true;
    return false;
}

/* ---- disk, on the thread pool ---- */

/* dir/name holds data, or the old content (see rn_write_file_atomic). */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char tmp[4096], path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name);
    return rn_write_file_atomic(path, tmp, data, len, 0600);
}

static int read_all(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    char *buf = NULL;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    size_t off = 0;
    while (off < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            goto out;
        }
        off += (size_t)n;
    }
    buf[off] = 0;
    *out = buf;
    *len = off;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return r;
}

static int mkdir_p(const char *path);

/* dir, dir/ids and dir/objects. */
static int make_dirs(const char *dir)
{
    char sub[4096];
    int r = mkdir_p(dir);
    if (!r) {
        snprintf(sub, sizeof(sub), "%s/ids", dir);
        r = mkdir_p(sub);
    }
    if (!r) {
        snprintf(sub, sizeof(sub), "%s/objects", dir);
        r = mkdir_p(sub);
    }
    return r;
}

static void op_work(uv_work_t *w)
{
    op *o = w->data;
    jobe_files *f = o->f;
    char objects[4096], ids[4096], path[4096];
    snprintf(objects, sizeof(objects), "%s/objects", f->dir);
    snprintf(ids, sizeof(ids), "%s/ids", f->dir);
    struct stat st;
    switch (o->kind) {
    case OP_PUT:
        if ((o->err = make_dirs(f->dir)) < 0)
            break;
        snprintf(path, sizeof(path), "%s/%s", objects, o->hash);
        if (stat(path, &st) < 0 || (uint64_t)st.st_size != o->len)
            o->err = write_atomic(objects, o->hash, o->data, o->len);
        if (!o->err) {
            char line[HASH_LEN + 2];
            snprintf(line, sizeof(line), "%s\n", o->hash);
            o->err = write_atomic(ids, o->id, line, HASH_LEN + 1);
        }
        break;
    case OP_READ:
        for (size_t i = 0; i < o->n && !o->err; i++) {
            snprintf(path, sizeof(path), "%s/%s", objects, o->hashes[i]);
            o->err = read_all(path, &o->out[i].data, &o->out[i].len);
            if (o->err == -ENOENT)
                rn_log(RN_LOG_WARN, "jobe.file_lost", "object=%s", o->hashes[i]);
        }
        break;
    case OP_UNLINK:
        snprintf(path, sizeof(path), "%s/%s", ids, o->id);
        if (o->id[0])
            unlink(path);
        if (o->unlink_object) {
            snprintf(path, sizeof(path), "%s/%s", objects, o->hash);
            unlink(path);
        }
        rn_fsync_dir(ids);
        break;
    }
}

/* ---- the queue: one operation at a time, in order ---- */

static void op_after(uv_work_t *w, int status);

static void op_free(op *o)
{
    free(o->data);
    for (size_t i = 0; o->ids && i < o->n; i++)
        free(o->ids[i]);
    free(o->ids);
    free(o->hashes);
    free(o);
}

static void maybe_free(jobe_files *f)
{
    if (f->closing && !f->busy && !f->qhead) {
        free(f->e);
        free(f->dir);
        free(f);
    }
}

/* Decisions that depend on the index are taken when the op starts, on the
 * loop: an op queued earlier has been applied by then. */
static bool op_prepare(jobe_files *f, op *o)
{
    if (o->kind == OP_READ) {
        o->out = calloc(o->n ? o->n : 1, sizeof(*o->out));
        if (!o->out) {
            o->err = -ENOMEM;
            return false;
        }
        uint64_t now = now_s();
        for (size_t i = 0; i < o->n; i++) {
            entry *e = find(f, o->ids[i]);
            if (!e) {
                o->err = -ENOENT;
                return false;
            }
            e->used = now;
            memcpy(o->hashes[i], e->hash, sizeof(o->hashes[i]));
        }
    } else if (o->kind == OP_UNLINK) {
        o->unlink_object = !hash_used(f, o->hash, NULL);
    }
    return true;
}

static void op_finish(jobe_files *f, op *o);

static void queue_next(jobe_files *f)
{
    while (!f->busy && f->qhead) {
        op *o = f->qhead;
        f->qhead = o->next;
        if (!f->qhead)
            f->qtail = NULL;
        if (!op_prepare(f, o)) {
            op_finish(f, o);
            continue;
        }
        f->busy = true;
        o->work.data = o;
        int r = uv_queue_work(f->loop, &o->work, op_work, op_after);
        if (r < 0) {
            f->busy = false;
            o->err = r;
            op_finish(f, o);
        }
    }
    maybe_free(f);
}

static void enqueue(jobe_files *f, op *o)
{
    o->f = f;
    if (f->qtail)
        f->qtail->next = o;
    else
        f->qhead = o;
    f->qtail = o;
    queue_next(f);
}

static void drop_entry(jobe_files *f, entry *e)
{
    op *o = calloc(1, sizeof(*o));
    bool last = !hash_used(f, e->hash, e);
    if (last)
        f->bytes -= e->size;
    if (o) {
        o->kind = OP_UNLINK;
        memcpy(o->id, e->id, sizeof(o->id));
        memcpy(o->hash, e->hash, sizeof(o->hash));
    }
    *e = f->e[--f->n];
    if (o)
        enqueue(f, o);
}

/* Least recently used first, until within the bounds; expired ones too. */
static void enforce(jobe_files *f, const char *keep)
{
    uint64_t now = now_s();
    for (size_t i = 0; i < f->n;) {
        if (f->o.max_age_s && now - f->e[i].used > f->o.max_age_s && strcmp(f->e[i].id, keep))
            drop_entry(f, &f->e[i]);
        else
            i++;
    }
    while (f->n && (f->n > f->o.max_count || f->bytes > f->o.max_bytes)) {
        entry *old = NULL;
        for (size_t i = 0; i < f->n; i++)
            if (strcmp(f->e[i].id, keep) && (!old || f->e[i].used < old->used))
                old = &f->e[i];
        if (!old)
            break;
        drop_entry(f, old);
    }
}

static int index_set(jobe_files *f, const char *id, const char *hash, uint64_t size, uint64_t used)
{
    entry *e = find(f, id);
    if (e && !strcmp(e->hash, hash)) {
        e->used = used;
        return 0;
    }
    if (e) {
        /* The id names other content now: its old object may go. */
        if (!hash_used(f, e->hash, e)) {
            f->bytes -= e->size;
            op *o = calloc(1, sizeof(*o));
            if (o) {
                o->kind = OP_UNLINK;
                memcpy(o->hash, e->hash, sizeof(o->hash));
            }
            *e = f->e[--f->n];
            if (o)
                enqueue(f, o);
        } else {
            *e = f->e[--f->n];
        }
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        entry *ne = realloc(f->e, cap * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        f->e = ne;
        f->cap = cap;
    }
    if (!hash_used(f, hash, NULL))
        f->bytes += size;
    e = &f->e[f->n++];
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->hash, sizeof(e->hash), "%s", hash);
    e->size = size;
    e->used = used;
    return 0;
}

static void op_finish(jobe_files *f, op *o)
{
    switch (o->kind) {
    case OP_PUT:
        if (!o->err && !f->closing) {
            o->err = index_set(f, o->id, o->hash, o->len, now_s());
            if (!o->err)
                enforce(f, o->id);
        }
        if (o->put_done)
            o->put_done(o->ud, o->err);
        break;
    case OP_READ:
        if (o->err && o->out) {
            jobe_files_free_read(o->out, o->n);
            o->out = NULL;
        }
        o->read_done(o->ud, o->err, o->out);
        break;
    case OP_UNLINK:
        break;
    }
    op_free(o);
}

static void op_after(uv_work_t *w, int status)
{
    op *o = w->data;
    jobe_files *f = o->f;
    if (status < 0 && !o->err)
        o->err = status;
    f->busy = false;
    op_finish(f, o);
    queue_next(f);
}

/* ---- the interface ---- */

bool jobe_files_has(const jobe_files *f, const char *id)
{
    const entry *e = find(f, id);
    return e && (!f->o.max_age_s || now_s() - e->used <= f->o.max_age_s);
}

int jobe_files_put(jobe_files *f, const char *id, const char *data, size_t len,
                   void (*done)(void *ud, int err), void *ud)
{
    if (!jobe_files_id_valid(id))
        return -EINVAL;
    if (len > f->o.max_bytes)
        return -EFBIG;
    op *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->data = malloc(len ? len : 1);
    if (!o->data) {
        free(o);
        return -ENOMEM;
    }
    memcpy(o->data, data, len);
    o->len = len;
    o->kind = OP_PUT;
    snprintf(o->id, sizeof(o->id), "%s", id);
    uint8_t digest[32];
    rn_cache_sha256(data, len, digest);
    for (int i = 0; i < 32; i++)
        snprintf(o->hash + 2 * i, 3, "%02x", digest[i]);
    o->put_done = done;
    o->ud = ud;
    enqueue(f, o);
    return 0;
}

int jobe_files_read(jobe_files *f, const char *const *ids, size_t n,
                    void (*done)(void *ud, int err, jobe_file_data *out), void *ud)
{
    op *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->kind = OP_READ;
    o->ids = calloc(n ? n : 1, sizeof(*o->ids));
    o->hashes = calloc(n ? n : 1, sizeof(*o->hashes));
    if (!o->ids || !o->hashes) {
        op_free(o);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++, o->n++) {
        o->ids[i] = strdup(ids[i]);
        if (!o->ids[i]) {
            op_free(o);
            return -ENOMEM;
        }
    }
    o->read_done = done;
    o->ud = ud;
    enqueue(f, o);
    return 0;
}

void jobe_files_free_read(jobe_file_data *out, size_t n)
{
    if (!out)
        return;
    for (size_t i = 0; i < n; i++)
        free(out[i].data);
    free(out);
}

void jobe_files_stats(const jobe_files *f, uint64_t *count, uint64_t *bytes)
{
    *count = f->n;
    *bytes = f->bytes;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0750) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0750) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* What a previous run left: ids whose object is there; the rest removed. */
static int load(jobe_files *f)
{
    char ids[4096], objects[4096], path[8192];
    snprintf(ids, sizeof(ids), "%s/ids", f->dir);
    snprintf(objects, sizeof(objects), "%s/objects", f->dir);
    DIR *d = opendir(ids);
    if (!d)
        return -errno;
    struct dirent *de;
    int r = 0;
    while ((de = readdir(d)) && !r) {
        if (de->d_name[0] == '.') {
            if (!strncmp(de->d_name, ".tmp-", 5)) {
                snprintf(path, sizeof(path), "%s/%s", ids, de->d_name);
                unlink(path);
            }
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", ids, de->d_name);
        char *text = NULL;
        size_t len = 0;
        struct stat st, ost;
        bool ok = jobe_files_id_valid(de->d_name) && stat(path, &st) == 0 &&
                  st.st_size == HASH_LEN + 1 && read_all(path, &text, &len) == 0;
        if (ok) {
            text[HASH_LEN] = 0;
            char opath[8192];
            snprintf(opath, sizeof(opath), "%s/%s", objects, text);
            ok = hash_valid(text) && stat(opath, &ost) == 0 && S_ISREG(ost.st_mode);
            if (ok)
                r = index_set(f, de->d_name, text, (uint64_t)ost.st_size,
                              (uint64_t)st.st_mtim.tv_sec);
        }
        free(text);
        if (!ok)
            unlink(path);
    }
    closedir(d);
    if (r)
        return r;
    /* Objects no id names (an id dropped before its object went). */
    d = opendir(objects);
    if (!d)
        return -errno;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (de->d_name[0] == '.' || !hash_used(f, de->d_name, NULL)) {
            snprintf(path, sizeof(path), "%s/%s", objects, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
    return 0;
}

int jobe_files_open(uv_loop_t *loop, const jobe_files_options *o, jobe_files **out, char *err,
                    size_t size)
{
    jobe_files *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->loop = loop;
    f->o = *o;
    f->dir = strdup(o->dir);
    int r = f->dir ? 0 : -ENOMEM;
    struct stat st;
    if (!r && strlen(o->dir) > 3000)
        r = -ENAMETOOLONG;
    /* Made at the first PUT: a server that never gets one leaves no trace. */
    if (!r && stat(f->dir, &st) == 0)
        r = make_dirs(f->dir);
    if (!r && stat(f->dir, &st) == 0)
        r = load(f);
    if (r) {
        snprintf(err, size, "jobe.files_dir: %s: %s", o->dir, strerror(-r));
        free(f->e);
        free(f->dir);
        free(f);
        return r;
    }
    enforce(f, "");
    rn_log(RN_LOG_INFO, "jobe.files", "dir=%s files=%zu bytes=%llu", f->dir, f->n,
           (unsigned long long)f->bytes);
    *out = f;
    return 0;
}

void jobe_files_close(jobe_files *f)
{
    if (!f)
        return;
    f->closing = true;
    maybe_free(f);
}

void jobe_files_tenant_id(const char *user, const char *id, char out[JOBE_FILE_ID_MAX + 1])
{
    rn_cache_keyhash h;

    if (user == NULL || *user == '\0' || strcmp(user, "anonymous") == 0) {
        snprintf(out, JOBE_FILE_ID_MAX + 1, "%s", id);
        return;
    }
    rn_cache_keyhash_init(&h);
    rn_cache_keyhash_field(&h, "jobe-file-tenant", 16);
    rn_cache_keyhash_field(&h, user, strlen(user));
    rn_cache_keyhash_field(&h, id, strlen(id));
    rn_cache_keyhash_final(&h, out);
}
