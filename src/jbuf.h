/* A growable byte buffer with JSON writing helpers, for building outgoing
 * frames without an intermediate tree. Strings are escaped the way ranna's
 * Go encoder does (<, >, & and U+2028/9 as \uXXXX), so clients see the same
 * bytes; input must be valid UTF-8 (see rn_utf8_sanitize). */
#ifndef RUNNEL_JBUF_H
#define RUNNEL_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t headroom; /* bytes reserved before data (e.g. LWS_PRE) */
    bool oom;        /* an allocation failed; the content is incomplete */
} rn_jbuf;

/* Start an empty buffer whose storage keeps headroom spare bytes in front. */
void rn_jbuf_init(rn_jbuf *b, size_t headroom);

/* Free the storage. */
void rn_jbuf_free(rn_jbuf *b);

/* Drop the content, keep the storage. */
void rn_jbuf_reset(rn_jbuf *b);

/* Make room for n more bytes; -ENOMEM on failure (also sets oom). */
int rn_jbuf_reserve(rn_jbuf *b, size_t n);

/* Append raw bytes. */
void rn_jbuf_raw(rn_jbuf *b, const char *s, size_t n);

/* Append a NUL-terminated raw string. */
void rn_jbuf_str(rn_jbuf *b, const char *s);

/* Append printf-formatted raw text. */
void rn_jbuf_printf(rn_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s[0..n) as a quoted, escaped JSON string. */
void rn_jbuf_jstr(rn_jbuf *b, const char *s, size_t n);

/* Append a NUL-terminated string as a JSON string; NULL becomes null. */
void rn_jbuf_jcstr(rn_jbuf *b, const char *s);

/* Append "key": (with a leading comma unless the previous byte is { or [). */
void rn_jbuf_key(rn_jbuf *b, const char *key);

/* Replace invalid UTF-8 in in[0..len) with U+FFFD (one per bad byte, as Go
 * does) and append valid text to out. A sequence cut at the end of in is
 * kept in carry (up to 3 bytes, *carry_len) to be completed by the next
 * call; pass final=true on the last chunk to flush it as U+FFFD. */
void rn_utf8_sanitize(rn_jbuf *out, unsigned char carry[4], size_t *carry_len, const char *in,
                      size_t len, bool final);

/* Whether s[0..n) is valid UTF-8. */
bool rn_utf8_valid(const char *s, size_t n);

/* Append s[0..n) as a JSON string, each invalid UTF-8 sequence replaced
 * by U+FFFD (rn_utf8_sanitize); out of memory sets b->oom. */
void rn_jbuf_jstr_safe(rn_jbuf *b, const char *s, size_t n);

/* Fill out with 2*nbytes lowercase hex characters of fresh randomness
 * (getrandom) plus a NUL. */
int rn_random_hex(char *out, size_t nbytes);

/* Monotonic milliseconds. */
uint64_t rn_now_ms(void);

#endif
