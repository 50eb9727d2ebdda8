/* diff-match-patch patches onto paragraph texts (see zeppelin_patch.h). */
#include "zeppelin_patch.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"

/* Append the %-decoded bytes of s[0..n) to b. */
static int decode(rn_jbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            rn_jbuf_raw(b, s + i, 1);
            continue;
        }
        if (i + 2 >= n)
            return -EINVAL;
        if (!isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
            return -EINVAL;
        char hex[3] = {s[i + 1], s[i + 2], 0};
        char c = (char)strtol(hex, NULL, 16);
        rn_jbuf_raw(b, &c, 1);
        i += 2;
    }
    return b->oom ? -ENOMEM : 0;
}

/* "@@ -a,b +c,d @@": the 0-based start of the new text. */
static int parse_header(const char *line, size_t n, long *start2)
{
    long s1, l1 = 1, s2, l2 = 1;
    char *end;
    if (n < 12 || strncmp(line, "@@ -", 4))
        return -EINVAL;
    s1 = strtol(line + 4, &end, 10);
    if (*end == ',')
        l1 = strtol(end + 1, &end, 10);
    if (strncmp(end, " +", 2))
        return -EINVAL;
    s2 = strtol(end + 2, &end, 10);
    if (*end == ',')
        l2 = strtol(end + 1, &end, 10);
    if (strncmp(end, " @@", 3) || s1 < 0 || s2 < 0 || l1 < 0 || l2 < 0)
        return -EINVAL;
    *start2 = l2 == 0 ? s2 : s2 - 1;
    return 0;
}

/* Where old occurs in text nearest to want, or -1. */
static long find_near(const rn_jbuf *text, const rn_jbuf *old, long want)
{
    if (!old->len)
        return want >= 0 && (size_t)want <= text->len ? want : (long)text->len;
    long best = -1;
    for (size_t i = 0; i + old->len <= text->len; i++) {
        if (memcmp(text->data + i, old->data, old->len))
            continue;
        if (best < 0 || labs((long)i - want) < labs(best - want))
            best = (long)i;
    }
    return best;
}

/* Apply one hunk (old → new, expected at want) to text. */
static int apply_hunk(rn_jbuf *text, const rn_jbuf *old, const rn_jbuf *new, long want, long *delta,
                      uint64_t max)
{
    long at = find_near(text, old, want);
    if (at < 0) {
        /* As diff-match-patch: skipped, later hunks shift back. */
        *delta -= (long)new->len - (long)old->len;
        return 0;
    }
    *delta = at - want;
    if (text->len - old->len + new->len > max)
        return -E2BIG;
    rn_jbuf out;
    rn_jbuf_init(&out, 0);
    rn_jbuf_raw(&out, text->data, (size_t)at);
    rn_jbuf_raw(&out, new->data ? new->data : "", new->len);
    rn_jbuf_raw(&out, text->data + at + old->len, text->len - (size_t)at - old->len);
    if (out.oom) {
        rn_jbuf_free(&out);
        return -ENOMEM;
    }
    rn_jbuf_free(text);
    *text = out;
    return 0;
}

int zp_patch_apply(const char *text, size_t len, const char *patch, uint64_t max, char **out,
                   size_t *out_len)
{
    rn_jbuf cur, old, new;
    rn_jbuf_init(&cur, 0);
    rn_jbuf_init(&old, 0);
    rn_jbuf_init(&new, 0);
    rn_jbuf_raw(&cur, text, len);
    long start2 = 0, delta = 0;
    bool in_hunk = false;
    int err = 0;
    const char *line = patch;
    while (!err) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (!n || line[0] == '@') {
            if (in_hunk)
                err = apply_hunk(&cur, &old, &new, start2 + delta, &delta, max);
            in_hunk = false;
            if (!err && n) {
                err = parse_header(line, n, &start2);
                rn_jbuf_reset(&old);
                rn_jbuf_reset(&new);
                in_hunk = true;
            }
        } else if (!in_hunk) {
            err = -EINVAL;
        } else if (line[0] == ' ') {
            if (!(err = decode(&old, line + 1, n - 1)))
                err = decode(&new, line + 1, n - 1);
        } else if (line[0] == '-') {
            err = decode(&old, line + 1, n - 1);
        } else if (line[0] == '+') {
            err = decode(&new, line + 1, n - 1);
        } else {
            err = -EINVAL;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    if (!err && in_hunk)
        err = apply_hunk(&cur, &old, &new, start2 + delta, &delta, max);
    if (!err && cur.oom)
        err = -ENOMEM;
    if (!err) {
        /* A jbuf keeps a NUL after its bytes. */
        *out_len = cur.len;
        *out = cur.data ? cur.data : strdup("");
        cur.data = NULL;
        if (!*out)
            err = -ENOMEM;
    }
    rn_jbuf_free(&cur);
    rn_jbuf_free(&old);
    rn_jbuf_free(&new);
    return err;
}
