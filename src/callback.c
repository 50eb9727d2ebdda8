#include "callback.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callback_addr.h"

#define TRIES    3
#define RESP_MAX 4096
#define HOST_MAX 253

static unsigned try_ms = 5000;
static unsigned backoff_ms = 1000;

enum { T_DEFER, T_TIMEOUT, T_BACKOFF };

typedef struct cb_req {
    struct cb_req *next, **pprev; /* every unfinished callback, any loop */
    uv_loop_t *loop;
    char host[HOST_MAX + 1], port[6];
    char **allow;
    size_t nallow;
    char *msg; /* the whole request */
    size_t msglen;
    rn_callback_done done;
    void *ud;
    struct sockaddr_storage addr;
    uv_getaddrinfo_t gai;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t conn;
    uv_write_t wr;
    char resp[RESP_MAX];
    size_t resplen;
    int refs; /* the timer, an open tcp handle, a pending resolution */
    int tries, timer_mode;
    bool tcp_open, gai_pending, finished;
    int err, status;
    char why[256];
} cb_req;

static cb_req *pending;

void rn_callback_set_timing(unsigned per_try_ms, unsigned first_backoff_ms)
{
    try_ms = per_try_ms;
    backoff_ms = first_backoff_ms;
}

static void release(cb_req *r)
{
    if (--r->refs > 0 || !r->finished)
        return;
    free(r->msg);
    for (size_t i = 0; i < r->nallow; i++)
        free(r->allow[i]);
    free(r->allow);
    free(r);
}

static void on_handle_closed(uv_handle_t *h)
{
    cb_req *r = h->data;
    if (h == (uv_handle_t *)&r->tcp)
        r->tcp_open = false;
    release(r);
}

static void close_tcp(cb_req *r)
{
    if (r->tcp_open && !uv_is_closing((uv_handle_t *)&r->tcp))
        uv_close((uv_handle_t *)&r->tcp, on_handle_closed);
}

/* The callback's one end: tell the caller, close everything. */
static void finish(cb_req *r, int err, int status, const char *why)
{
    if (r->finished)
        return;
    r->finished = true;
    *r->pprev = r->next;
    if (r->next)
        r->next->pprev = r->pprev;
    r->refs++; /* done may not free r under us */
    r->done(err, status, why, r->ud);
    close_tcp(r);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_handle_closed);
    release(r);
}

static void on_timer(uv_timer_t *t);

/* Report err on the loop, never from inside the caller's call. */
static void defer(cb_req *r, int err, const char *fmt, const char *arg)
{
    r->err = err;
    snprintf(r->why, sizeof(r->why), fmt, arg);
    r->timer_mode = T_DEFER;
    uv_timer_start(&r->timer, on_timer, 0, 0);
}

static void try_failed(cb_req *r, int err, int status, const char *why)
{
    uv_timer_stop(&r->timer);
    close_tcp(r);
    if (r->tries >= TRIES) {
        finish(r, err, status, why);
        return;
    }
    r->timer_mode = T_BACKOFF;
    uv_timer_start(&r->timer, on_timer, (uint64_t)backoff_ms << (r->tries - 1), 0);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    cb_req *r = h->data;
    *buf = uv_buf_init(r->resp + r->resplen, (unsigned)(RESP_MAX - r->resplen));
}

/* The status of "HTTP/1.x NNN ...", or -1. */
static int status_of(const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) || s[8] != ' ')
        return -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        st = st * 10 + (s[i] - '0');
    }
    return st >= 100 ? st : -1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    cb_req *r = s->data;
    if (nread == 0 || r->finished)
        return;
    if (nread < 0) {
        try_failed(r, nread == UV_EOF ? -ECONNRESET : (int)nread, 0,
                   "callback: the connection closed before a status line");
        return;
    }
    r->resplen += (size_t)nread;
    char *nl = memchr(r->resp, '\n', r->resplen);
    if (!nl) {
        if (r->resplen == RESP_MAX)
            try_failed(r, -EPROTO, 0, "callback: no status line in the first 4 KiB");
        return;
    }
    int st = status_of(r->resp, (size_t)(nl - r->resp));
    if (st < 0) {
        try_failed(r, -EPROTO, 0, "callback: the answer is not HTTP/1.x");
        return;
    }
    if (st >= 200 && st < 300) {
        finish(r, 0, st, "callback delivered");
        return;
    }
    char why[64];
    snprintf(why, sizeof(why), "callback answered HTTP %d", st);
    try_failed(r, -EIO, st, why);
}

static void on_write(uv_write_t *w, int status)
{
    cb_req *r = w->data;
    if (status == UV_ECANCELED || r->finished || status >= 0)
        return;
    try_failed(r, status, 0, "callback: sending the request failed");
}

static void on_connect(uv_connect_t *c, int status)
{
    cb_req *r = c->data;
    if (status == UV_ECANCELED || r->finished)
        return;
    if (status < 0) {
        char why[128];
        snprintf(why, sizeof(why), "callback: connect failed: %s", uv_strerror(status));
        try_failed(r, status, 0, why);
        return;
    }
    uv_buf_t b = uv_buf_init(r->msg, (unsigned)r->msglen);
    int rc = uv_write(&r->wr, (uv_stream_t *)&r->tcp, &b, 1, on_write);
    if (!rc)
        rc = uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
    if (rc)
        try_failed(r, rc, 0, "callback: sending the request failed");
}

static void start_try(cb_req *r)
{
    if (r->tcp_open) { /* the last try's handle is still closing */
        uv_timer_start(&r->timer, on_timer, 1, 0);
        return;
    }
    r->tries++;
    r->resplen = 0;
    r->timer_mode = T_TIMEOUT;
    uv_timer_start(&r->timer, on_timer, try_ms, 0);
    int rc = uv_tcp_init(r->loop, &r->tcp);
    if (rc) {
        try_failed(r, rc, 0, "callback: no socket");
        return;
    }
    r->tcp.data = r;
    r->conn.data = r;
    r->wr.data = r;
    r->tcp_open = true;
    r->refs++;
    rc = uv_tcp_connect(&r->conn, &r->tcp, (const struct sockaddr *)&r->addr, on_connect);
    if (rc)
        try_failed(r, rc, 0, "callback: connect failed");
}

static void on_timer(uv_timer_t *t)
{
    cb_req *r = t->data;
    if (r->timer_mode == T_DEFER) {
        finish(r, r->err, 0, r->why);
    } else if (r->timer_mode == T_BACKOFF) {
        start_try(r);
    } else {
        char why[80];
        snprintf(why, sizeof(why), "callback: no answer within %u ms", try_ms);
        try_failed(r, -ETIMEDOUT, 0, why);
    }
}

/* The first resolved address, if the policy admits every one. */
static int pick_addr(cb_req *r, const struct addrinfo *res)
{
    int rc = -EHOSTUNREACH;
    snprintf(r->why, sizeof(r->why), "callback: %s has no address", r->host);
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        bool allowed = false;
        for (size_t i = 0; i < r->nallow && !allowed; i++)
            allowed = rn_callback_allowed(r->allow[i], r->host, ai->ai_addr);
        if (!allowed && rn_callback_addr_check(ai->ai_addr, r->why, sizeof(r->why)))
            return -EACCES;
        if (rc) {
            memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
            rc = 0;
        }
    }
    return rc;
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    cb_req *r = g->data;
    r->gai_pending = false;
    int rc = 0;
    if (!r->finished && status < 0) {
        rc = -EHOSTUNREACH;
        snprintf(r->why, sizeof(r->why), "callback: %.200s not resolved: %s", r->host,
                 uv_strerror(status));
    } else if (!r->finished) {
        rc = pick_addr(r, res);
    }
    uv_freeaddrinfo(res);
    if (!r->finished) {
        if (rc)
            finish(r, rc, 0, r->why);
        else
            start_try(r);
    }
    release(r);
}

/* Split url into host, port and path; the request goes into r->msg. */
static int parse_url(cb_req *r, const char *url, const char *body, size_t len)
{
    size_t ulen = strnlen(url, RN_CALLBACK_URL_MAX + 1);
    if (ulen > RN_CALLBACK_URL_MAX) {
        defer(r, -EINVAL, "callback refused: the URL is longer than %s bytes", "2048");
        return -EINVAL;
    }
    if (!strncasecmp(url, "https://", 8)) {
        defer(r, -EPROTONOSUPPORT, "callback refused: %s (plain http:// only, no TLS)",
              "https:// is not supported");
        return -EPROTONOSUPPORT;
    }
    for (size_t i = 0; i < ulen; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
            defer(r, -EINVAL, "callback refused: %s", "the URL holds a space or control byte");
            return -EINVAL;
        }
    if (strncasecmp(url, "http://", 7)) {
        defer(r, -EINVAL, "callback refused: %s", "the URL is not http://");
        return -EINVAL;
    }
    const char *auth = url + 7;
    size_t alen = strcspn(auth, "/?#");
    const char *path = auth + alen;
    size_t plen = strcspn(path, "#");
    const char *hend = auth + alen, *colon = NULL;
    if (memchr(auth, '@', alen)) {
        defer(r, -EINVAL, "callback refused: %s", "credentials in the URL");
        return -EINVAL;
    }
    const char *h = auth;
    if (*auth == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close) {
            defer(r, -EINVAL, "callback refused: %s", "unclosed [ in the host");
            return -EINVAL;
        }
        h = auth + 1;
        hend = close;
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close + 1 != auth + alen && !colon)
            hend = NULL;
    } else {
        colon = memchr(auth, ':', alen);
        if (colon)
            hend = colon;
    }
    size_t hlen = hend ? (size_t)(hend - h) : 0;
    if (!hlen || hlen > HOST_MAX) {
        defer(r, -EINVAL, "callback refused: %s", "no host, or a bad one, in the URL");
        return -EINVAL;
    }
    memcpy(r->host, h, hlen);
    r->host[hlen] = '\0';
    strcpy(r->port, "80");
    if (colon) {
        size_t n = (size_t)(auth + alen - colon - 1);
        unsigned long p = 0;
        for (size_t i = 0; i < n; i++)
            p = (colon[1 + i] >= '0' && colon[1 + i] <= '9' && p < 65536)
                    ? p * 10 + (unsigned long)(colon[1 + i] - '0')
                    : 70000;
        if (!n || n > 5 || !p || p > 65535) {
            defer(r, -EINVAL, "callback refused: %s", "a bad port in the URL");
            return -EINVAL;
        }
        snprintf(r->port, sizeof(r->port), "%lu", p);
    }
    size_t cap = ulen + 256 + len;
    r->msg = malloc(cap);
    if (!r->msg)
        return -ENOMEM;
    int n = snprintf(r->msg, cap,
                     "PUT %s%.*s HTTP/1.1\r\nHost: %.*s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\nUser-Agent: runnel\r\n\r\n",
                     plen && *path == '/' ? "" : "/", (int)plen, path, (int)alen, auth, len);
    memcpy(r->msg + n, body, len);
    r->msglen = (size_t)n + len;
    return 0;
}

static int copy_allow(cb_req *r, const rn_callback_policy *pol)
{
    if (!pol || !pol->nallow)
        return 0;
    r->allow = calloc(pol->nallow, sizeof(*r->allow));
    if (!r->allow)
        return -ENOMEM;
    for (; r->nallow < pol->nallow; r->nallow++) {
        r->allow[r->nallow] = strdup(pol->allow[r->nallow] ? pol->allow[r->nallow] : "");
        if (!r->allow[r->nallow])
            return -ENOMEM;
    }
    return 0;
}

/* The loop rn_callback_shutdown was called for: it takes no new callback. */
static uv_loop_t *shut_loop;

int rn_callback_put(uv_loop_t *loop, const rn_callback_policy *pol, const char *url,
                    const char *body, size_t len, rn_callback_done done, void *ud)
{
    if (loop == shut_loop)
        return -ECANCELED;
    cb_req *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->loop = loop;
    r->done = done;
    r->ud = ud;
    if (copy_allow(r, pol) < 0 || uv_timer_init(loop, &r->timer) != 0) {
        r->finished = true;
        r->refs = 1;
        release(r);
        return -ENOMEM;
    }
    r->timer.data = r;
    r->refs = 1;
    int rc = parse_url(r, url ? url : "", body ? body : "", body ? len : 0);
    if (rc == -ENOMEM) {
        r->finished = true;
        uv_close((uv_handle_t *)&r->timer, on_handle_closed);
        return rc;
    }
    r->next = pending;
    r->pprev = &pending;
    if (pending)
        pending->pprev = &r->next;
    pending = r;
    if (rc)
        return 0; /* the deferred refusal is on its way */
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
    r->gai.data = r;
    rc = uv_getaddrinfo(loop, &r->gai, on_resolved, r->host, r->port, &hints);
    if (rc)
        defer(r, -EHOSTUNREACH, "callback: %.200s not resolved", r->host);
    else {
        r->refs++;
        r->gai_pending = true;
    }
    return 0;
}

void rn_callback_shutdown(uv_loop_t *loop)
{
    shut_loop = loop;
    cb_req *next;
    for (cb_req *r = pending; r; r = next) {
        next = r->next;
        if (r->loop != loop)
            continue;
        if (r->gai_pending)
            uv_cancel((uv_req_t *)&r->gai); /* fails harmlessly once running */
        finish(r, -ECANCELED, 0, "callback cancelled: the server is shutting down");
    }
}
