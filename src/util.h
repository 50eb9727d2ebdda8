/* Small helpers every module shares: one copy each. */
#ifndef RUNNEL_UTIL_H
#define RUNNEL_UTIL_H

#include <stdbool.h>
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

/* Free a NULL-terminated array of malloc'd strings and the array. */
void rn_strv_free(char **v);

#endif
