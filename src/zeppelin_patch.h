/* Zeppelin's collaborative editing sends a paragraph's edits as a
 * diff-match-patch patch text ("@@ -1,4 +1,5 @@\n ab\n+x\n cd\n", lines
 * %-encoded). This applies one to a text, hunk by hunk: a hunk whose old
 * text is found (at its place, else at the nearest place it occurs) is
 * applied; one that is not found is skipped, as diff-match-patch skips a
 * hunk it cannot match (without its fuzzy matching). */
#ifndef RUNNEL_ZEPPELIN_PATCH_H
#define RUNNEL_ZEPPELIN_PATCH_H

#include <stddef.h>
#include <stdint.h>

/* Apply patch to text (len bytes) into *out (malloc'd, NUL-terminated,
 * *out_len bytes). -EINVAL when the patch text is malformed, -E2BIG when
 * the result would be over max bytes, -ENOMEM. */
int zp_patch_apply(const char *text, size_t len, const char *patch, uint64_t max, char **out,
                   size_t *out_len);

#endif
