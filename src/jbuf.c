#include "jbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void rn_jbuf_init(rn_jbuf *b, size_t headroom)
{
    memset(b, 0, sizeof(*b));
    b->headroom = headroom;
}

void rn_jbuf_free(rn_jbuf *b)
{
    if (b->data)
        free(b->data - b->headroom);
    memset(b, 0, sizeof(*b));
}

void rn_jbuf_reset(rn_jbuf *b)
{
    b->len = 0;
    b->oom = false;
}

int rn_jbuf_reserve(rn_jbuf *b, size_t n)
{
    if (b->oom)
        return -ENOMEM;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *base = b->data ? b->data - b->headroom : NULL;
    char *nb = realloc(base, b->headroom + cap);
    if (!nb) {
        b->oom = true;
        return -ENOMEM;
    }
    b->data = nb + b->headroom;
    b->cap = cap;
    return 0;
}

void rn_jbuf_raw(rn_jbuf *b, const char *s, size_t n)
{
    if (rn_jbuf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void rn_jbuf_str(rn_jbuf *b, const char *s)
{
    rn_jbuf_raw(b, s, strlen(s));
}

void rn_jbuf_printf(rn_jbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        rn_jbuf_raw(b, tmp, (size_t)n);
        return;
    }
    if (rn_jbuf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int utf8_seq(const unsigned char *s, size_t n);

/* As Go's encoding/json writes strings (ranna's server is Go): <, >, & and
 * U+2028/2029 escaped, and a byte that is not part of valid UTF-8 written
 * as \ufffd, so a frame is valid UTF-8 whatever the string held. */
void rn_jbuf_jstr(rn_jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    if (rn_jbuf_reserve(b, n * 6 + 2) < 0)
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            continue;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            continue;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            continue;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            continue;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
            memcpy(o, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            o += 6;
            i += 2;
        } else if (c >= 0x80) {
            int l = utf8_seq((const unsigned char *)s + i, n - i);
            if (l <= 0) {
                memcpy(o, "\\ufffd", 6);
                o += 6;
            } else {
                memcpy(o, s + i, (size_t)l);
                o += l;
                i += (size_t)l - 1;
            }
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
}

void rn_jbuf_jcstr(rn_jbuf *b, const char *s)
{
    if (!s)
        rn_jbuf_raw(b, "null", 4);
    else
        rn_jbuf_jstr(b, s, strlen(s));
}

void rn_jbuf_key(rn_jbuf *b, const char *key)
{
    if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
        rn_jbuf_raw(b, ",", 1);
    rn_jbuf_jcstr(b, key);
    rn_jbuf_raw(b, ":", 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid, or -1 if
 * it may be valid but is cut short by the end of the input. */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c < 0xc2)
        return 0;
    if (c < 0xe0) {
        len = 2;
    } else if (c < 0xf0) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c < 0xf5) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;
        if (s[i] < lo_i || s[i] > hi_i)
            return 0;
    }
    return len;
}

/* How many bytes from p on are ASCII, eight at a time (most output is). */
static size_t ascii_prefix(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull)
            break;
        i += 8;
    }
    while (i < n && p[i] < 0x80)
        i++;
    return i;
}

bool rn_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        i += ascii_prefix(p + i, n - i);
        if (i == n)
            break;
        int l = utf8_seq(p + i, n - i);
        if (l <= 0)
            return false;
        i += (size_t)l;
    }
    return true;
}

static void sanitize_run(rn_jbuf *out, const unsigned char *p, size_t n, size_t *consumed,
                         bool final)
{
    size_t i = 0, start = 0;
    while (i < n) {
        i += ascii_prefix(p + i, n - i);
        if (i == n)
            break;
        int l = utf8_seq(p + i, n - i);
        if (l > 0) {
            i += (size_t)l;
            continue;
        }
        if (l < 0 && !final)
            break; /* incomplete tail: keep for the next chunk */
        rn_jbuf_raw(out, (const char *)p + start, i - start);
        rn_jbuf_raw(out, "\xef\xbf\xbd", 3);
        i++;
        start = i;
    }
    rn_jbuf_raw(out, (const char *)p + start, i - start);
    *consumed = i;
}

void rn_utf8_sanitize(rn_jbuf *out, unsigned char carry[4], size_t *carry_len, const char *in,
                      size_t len, bool final)
{
    const unsigned char *p = (const unsigned char *)in;
    /* First finish a sequence left over from the previous chunk. */
    while (*carry_len > 0) {
        unsigned char tmp[4];
        size_t have = *carry_len, take = 0;
        memcpy(tmp, carry, have);
        while (have < 4 && take < len)
            tmp[have++] = p[take++];
        int l = utf8_seq(tmp, have);
        if (l < 0 && !final && take == len) {
            memcpy(carry, tmp, have);
            *carry_len = have;
            return;
        }
        if (l > 0) {
            rn_jbuf_raw(out, (const char *)tmp, (size_t)l);
            size_t used_new = (size_t)l - *carry_len;
            p += used_new;
            len -= used_new;
            *carry_len = 0;
        } else {
            rn_jbuf_raw(out, "\xef\xbf\xbd", 3);
            memmove(carry, carry + 1, *carry_len - 1);
            (*carry_len)--;
        }
    }
    size_t used = 0;
    sanitize_run(out, p, len, &used, final);
    *carry_len = len - used;
    memcpy(carry, p + used, *carry_len);
}

int rn_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    if (nbytes > sizeof(raw))
        return -EINVAL;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = getrandom(raw + got, nbytes - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * nbytes] = 0;
    return 0;
}

uint64_t rn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void rn_jbuf_jstr_safe(rn_jbuf *b, const char *s, size_t n)
{
    if (rn_utf8_valid(s, n)) {
        rn_jbuf_jstr(b, s, n);
        return;
    }
    rn_jbuf clean;
    unsigned char carry[4];
    size_t carry_len = 0;
    rn_jbuf_init(&clean, 0);
    rn_utf8_sanitize(&clean, carry, &carry_len, s, n, true);
    rn_jbuf_jstr(b, clean.data ? clean.data : "", clean.len);
    if (clean.oom)
        b->oom = true;
    rn_jbuf_free(&clean);
}
