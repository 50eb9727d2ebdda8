/* runnel-sql: the output buffer, JSON text and the frames on stdout. */
#include "lenses_sql.h"

/* ------------------------------------------------------------ output */

buf out;               /* bytes waiting for stdout */
buf rec;               /* the record being built */
uint64_t out_first_ms; /* when the oldest waiting byte was added */

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void die_oom(void)
{
    static const char msg[] = "{\"type\":\"ERROR\",\"data\":\"out of memory\"}\n";
    if (write(1, msg, sizeof(msg) - 1) < 0) {
        /* nothing else to do */
    }
    _exit(1);
}

void b_grow(buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        die_oom();
    b->data = d;
    b->cap = cap;
}

void b_add(buf *b, const char *s, size_t n)
{
    b_grow(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void b_str(buf *b, const char *s)
{
    b_add(b, s, strlen(s));
}

void b_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b_grow(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A JSON string; bytes >= 0x80 pass through (runneld repairs bad UTF-8). */
void b_jstr(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    b_grow(b, n + 2);
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        b_add(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        b_add(b, esc, k);
    }
    b_add(b, s + run, n - run);
    b_add(b, "\"", 1);
}

void b_jcstr(buf *b, const char *s)
{
    b_jstr(b, s, strlen(s));
}

void b_int(buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    b_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* The shortest text that reads back as the same double. */
void b_double(buf *b, double d)
{
    if (!isfinite(d)) {
        b_str(b, "null");
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    b_str(b, tmp);
    /* keep it a float on the wire: 2.0, not 2 */
    if (!strpbrk(tmp, ".eEn"))
        b_str(b, ".0");
}

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            _exit(3); /* runneld went away */
        }
        p += w;
        n -= (size_t)w;
    }
}

void out_flush(void)
{
    if (out.len)
        write_all(out.data, out.len);
    out.len = 0;
}

/* Queue one finished frame line; flushed when enough is waiting or the
 * oldest byte has waited long enough (records stream, they are not held). */
void out_frame(const char *s, size_t n, bool urgent)
{
    if (!out.len)
        out_first_ms = mono_ms();
    b_add(&out, s, n);
    if (urgent || out.len >= OUT_FLUSH_BYTES || mono_ms() - out_first_ms >= OUT_FLUSH_MS)
        out_flush();
}

void emit_error(const char *msg)
{
    buf f = {0};
    b_str(&f, "{\"type\":\"ERROR\",\"data\":");
    b_jcstr(&f, msg);
    b_str(&f, "}\n");
    out_frame(f.data, f.len, true);
    free(f.data);
}
