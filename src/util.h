/* Small helpers every module shares: one copy each. */
#ifndef RUNNEL_UTIL_H
#define RUNNEL_UTIL_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdio.h>

/* Whether secret a[0..alen) equals b[0..blen), in time that depends on
 * blen (the presented value's length) only, never on where they differ. */
bool rn_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Read a whole stream into a NUL-terminated malloc'd buffer of at most max
 * bytes: -EFBIG past it, -EIO on a read error, -ENOMEM. */
int rn_read_stream(FILE *f, size_t max, char **out, size_t *len);

/* Read a whole regular file (never through a final symlink when nofollow)
 * the same way; -errno of open, -EINVAL for a non-regular file. */
int rn_read_file(const char *path, size_t max, bool nofollow, char **out, size_t *len);

/* The value (0-63) of a base64 letter, with url_safe '-' and '_' too;
 * -1 for any other byte. */
int rn_base64_value(int c, bool url_safe);

/* fsync a directory (after a name in it was made, renamed or removed). */
int rn_fsync_dir(const char *dir);

/* Replace path with len bytes of data, so that path holds the old content
 * or the new one, never a part: write tmp (a name in path's directory)
 * with mode, fsync it, rename it over path, fsync the directory. tmp is
 * removed on failure. Blocking: call it off the event loop. */
int rn_write_file_atomic(const char *path, const char *tmp, const void *data, size_t len,
                         mode_t mode);

/* Free a NULL-terminated array of malloc'd strings and the array. */
void rn_strv_free(char **v);

#endif
