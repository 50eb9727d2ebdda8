#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool rn_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Walk b whole and a cyclically: no early exit, no read past a. */
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)((alen ? (unsigned char)a[i % alen] : 0) ^ (unsigned char)b[i]);
    return diff == 0 && alen == blen;
}

int rn_read_stream(FILE *f, size_t max, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 65536 * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                r = -ENOMEM;
                goto fail;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (n > max) {
            r = -EFBIG;
            goto fail;
        }
        if (got < 65536) {
            if (ferror(f)) {
                r = -EIO;
                goto fail;
            }
            break;
        }
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
fail:
    free(buf);
    return r;
}

int rn_read_file(const char *path, size_t max, bool nofollow, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0)
        return -errno;
    struct stat st;
    int r;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        r = -errno;
        close(fd);
        return r;
    }
    r = rn_read_stream(f, max, out, len);
    fclose(f);
    return r;
}

int rn_base64_value(int c, bool url_safe)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || (url_safe && c == '-'))
        return 62;
    if (c == '/' || (url_safe && c == '_'))
        return 63;
    return -1;
}

int rn_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int rn_write_file_atomic(const char *path, const char *tmp, const void *data, size_t len,
                         mode_t mode)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if ((size_t)(slash - path) >= sizeof(dir))
        return -ENAMETOOLONG;
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int r = 0;
    const char *p = data;
    for (size_t off = 0; off < len && !r;) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno != EINTR)
            r = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (!r && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && !r)
        r = -errno;
    if (!r && rename(tmp, path) < 0)
        r = -errno;
    if (r) {
        unlink(tmp);
        return r;
    }
    return rn_fsync_dir(dir);
}

void rn_strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}
