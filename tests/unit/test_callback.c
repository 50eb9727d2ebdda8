/* rn_callback_put against a tiny HTTP listener on this loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "callback.h"
#include "callback_addr.h"
#include "check.h"

/* The listener: each connection answers script[i] ("200", "500", or
 * "hang": nothing) once the whole request is in. */
static uv_loop_t *loop;
static uv_tcp_t listener;
static int port;
static const char *script[8];
static int nconn;
static char last_req[8192];
static size_t last_len;

typedef struct {
    uv_tcp_t tcp;
    uv_write_t wr;
    char buf[8192];
    size_t len;
    int idx;
    int answered;
} conn;

static void on_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn *c = w->data;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    conn *c = h->data;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len - 1));
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    conn *c = s->data;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, on_conn_closed);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    const char *cl = strstr(c->buf, "Content-Length: ");
    if (!end || !cl || c->answered || c->len < (size_t)(end + 4 - c->buf) + strtoul(cl + 16, 0, 10))
        return;
    c->answered = 1;
    memcpy(last_req, c->buf, c->len);
    last_len = c->len;
    const char *what = c->idx < 8 && script[c->idx] ? script[c->idx] : "200";
    if (!strcmp(what, "hang"))
        return;
    static char resp[8][128];
    snprintf(resp[c->idx % 8], sizeof(resp[0]),
             "HTTP/1.1 %s X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", what);
    uv_buf_t out = uv_buf_init(resp[c->idx % 8], (unsigned)strlen(resp[c->idx % 8]));
    c->wr.data = c;
    uv_write(&c->wr, s, &out, 1, on_written);
}

static void on_listen(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof(*c));
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->idx = nconn++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
    else
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void reset(const char *a, const char *b, const char *c)
{
    memset(script, 0, sizeof(script));
    script[0] = a;
    script[1] = b;
    script[2] = c;
    nconn = 0;
    last_len = 0;
}

/* One callback's end. */
static int got_calls, got_err, got_status;
static char got_why[256];

static void on_done(int err, int status, const char *why, void *ud)
{
    got_calls++;
    got_err = err;
    got_status = status;
    snprintf(got_why, sizeof(got_why), "%s", why ? why : "");
    CHECK(ud == &got_calls);
}

/* Put body to url and run the loop until done; returns done's err. */
static int put(const char *url, const char *const *allow, size_t nallow, const char *body)
{
    got_calls = 0;
    got_err = 1;
    got_status = -1;
    got_why[0] = '\0';
    rn_callback_policy pol = {allow, nallow};
    int rc = rn_callback_put(loop, &pol, url, body, strlen(body), on_done, &got_calls);
    CHECK_INT(rc, 0);
    CHECK_INT(got_calls, 0); /* never from inside the call */
    while (!got_calls)
        uv_run(loop, UV_RUN_ONCE);
    CHECK_INT(got_calls, 1);
    return got_err;
}

static const char *const allow_lo[] = {"127.0.0.1"};

static void test_delivers_exact_body(void)
{
    reset("200", NULL, NULL);
    char url[128], want[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/1?x=y#frag", port);
    CHECK_INT(put(url, allow_lo, 1, "{\"status\":3}"), 0);
    CHECK_INT(got_status, 200);
    CHECK_INT(nconn, 1);
    snprintf(want, sizeof(want),
             "PUT /hook/1?x=y HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
             "Content-Length: 12\r\nConnection: close\r\nUser-Agent: runnel\r\n\r\n"
             "{\"status\":3}",
             port);
    CHECK_INT(last_len, strlen(want));
    CHECK_STR(last_req, want);
    /* A CIDR admits it too; a path-less URL asks for "/". */
    static const char *const cidr[] = {"10.0.0.0/8", "127.0.0.0/8"};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    CHECK_INT(put(url, cidr, 2, "{}"), 0);
    CHECK(!strncmp(last_req, "PUT / HTTP/1.1\r\n", 16));
}

static void refused(const char *url, const char *why)
{
    int before = nconn;
    CHECK_INT(put(url, NULL, 0, "{}"), -EACCES);
    CHECK_INT(got_status, 0);
    CHECK_STR(got_why, why);
    CHECK_INT(nconn, before);
}

static void test_refuses_inner_addresses(void)
{
    reset("200", NULL, NULL);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    refused(url, "callback refused: 127.0.0.1 is a loopback address");
    static const char *const other[] = {"127.0.0.2", "10.0.0.0/8", "localhost"};
    CHECK_INT(put(url, other, 3, "{}"), -EACCES);
    refused("http://10.1.2.3/x", "callback refused: 10.1.2.3 is a private address");
    refused("http://172.31.0.1/x", "callback refused: 172.31.0.1 is a private address");
    refused("http://192.168.1.1/x", "callback refused: 192.168.1.1 is a private address");
    refused("http://169.254.169.254/latest/meta-data",
            "callback refused: 169.254.169.254 is a link-local address");
    refused("http://[::ffff:127.0.0.1]:8080/",
            "callback refused: ::ffff:127.0.0.1 is a loopback address");
    refused("http://[::ffff:169.254.169.254]/",
            "callback refused: ::ffff:169.254.169.254 is a link-local address");
    refused("http://0.0.0.0/", "callback refused: 0.0.0.0 is an unspecified address");
    refused("http://[::]/", "callback refused: :: is an unspecified address");
    refused("http://[::1]/", "callback refused: ::1 is a loopback address");
    refused("http://[fe80::1]/", "callback refused: fe80::1 is a link-local address");
    refused("http://[fd12::1]/", "callback refused: fd12::1 is a private address");
    refused("http://100.64.0.1/", "callback refused: 100.64.0.1 is a shared (CGNAT) address");
    refused("http://224.0.0.1/", "callback refused: 224.0.0.1 is a multicast address");
    refused("http://[ff02::1]/", "callback refused: ff02::1 is a multicast address");
    refused("http://255.255.255.255/", "callback refused: 255.255.255.255 is a broadcast address");
    refused("http://2130706433/", "callback refused: 127.0.0.1 is a loopback address");
}

static void test_bad_urls(void)
{
    CHECK_INT(put("https://example.com/hook", NULL, 0, "{}"), -EPROTONOSUPPORT);
    CHECK(strstr(got_why, "https:// is not supported") != NULL);
    CHECK_INT(put("ftp://example.com/", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://a b/", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://example.com/\r\nX: y", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://user:pw@example.com/", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://example.com:0/", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://example.com:65536/", NULL, 0, "{}"), -EINVAL);
    CHECK_INT(put("http://[::1/", NULL, 0, "{}"), -EINVAL);
    char *long_url = malloc(3000);
    REQUIRE(long_url);
    memset(long_url, 'a', 2999);
    memcpy(long_url, "http://x/", 9);
    long_url[2999] = '\0';
    CHECK_INT(put(long_url, NULL, 0, "{}"), -EINVAL);
    CHECK(strstr(got_why, "longer than 2048") != NULL);
    free(long_url);
}

static void test_retries(void)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/r", port);
    reset("500", "500", "200");
    uint64_t t0 = uv_now(loop);
    CHECK_INT(put(url, allow_lo, 1, "{\"n\":1}"), 0);
    CHECK_INT(got_status, 200);
    CHECK_INT(nconn, 3);
    CHECK(uv_now(loop) - t0 >= 60); /* 20 ms then 40 ms of backoff */
    reset("500", "503", "502");
    CHECK_INT(put(url, allow_lo, 1, "{}"), -EIO);
    CHECK_INT(got_status, 502);
    CHECK_STR(got_why, "callback answered HTTP 502");
    CHECK_INT(nconn, 3);
    reset("hang", "hang", "hang");
    t0 = uv_now(loop);
    CHECK_INT(put(url, allow_lo, 1, "{}"), -ETIMEDOUT);
    CHECK_INT(nconn, 3);
    CHECK(uv_now(loop) - t0 >= 3 * 100);
    CHECK_STR(got_why, "callback: no answer within 100 ms");
    /* Nobody listening: the connect fails three times. */
    uv_tcp_t t;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &t);
    uv_tcp_bind(&t, (const struct sockaddr *)&a, 0);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &sl);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
    uv_close((uv_handle_t *)&t, NULL);
    CHECK_INT(put(url, allow_lo, 1, "{}"), -ECONNREFUSED);
}

static void test_policy_units(void)
{
    struct sockaddr_in a;
    char why[128];
    uv_ip4_addr("93.184.216.34", 80, &a);
    CHECK_INT(rn_callback_addr_check((struct sockaddr *)&a, why, sizeof(why)), 0);
    uv_ip4_addr("10.9.8.7", 80, &a);
    CHECK(rn_callback_allowed("hooks.internal", "HOOKS.internal", (struct sockaddr *)&a));
    CHECK(!rn_callback_allowed("hooks.internal", "other.internal", (struct sockaddr *)&a));
    CHECK(rn_callback_allowed("10.9.0.0/16", "x", (struct sockaddr *)&a));
    CHECK(!rn_callback_allowed("10.8.0.0/16", "x", (struct sockaddr *)&a));
    CHECK(!rn_callback_allowed("10.9.0.0/33", "x", (struct sockaddr *)&a));
    CHECK(rn_callback_allowed("::ffff:10.9.8.7", "x", (struct sockaddr *)&a));
    struct sockaddr_in6 b;
    uv_ip6_addr("::ffff:10.9.8.7", 80, &b);
    CHECK(rn_callback_allowed("10.9.8.7", "x", (struct sockaddr *)&b));
    CHECK_INT(rn_callback_addr_check((struct sockaddr *)&b, why, sizeof(why)), -EACCES);
    uv_ip6_addr("64:ff9b::a09:807", 80, &b);
    CHECK_INT(rn_callback_addr_check((struct sockaddr *)&b, why, sizeof(why)), -EACCES);
    CHECK_STR(why, "callback refused: 64:ff9b::a09:807 is a private address");
    /* One of this machine's own addresses that no range names. */
    uv_interface_address_t *ifs = NULL;
    int n = 0;
    REQUIRE(uv_interface_addresses(&ifs, &n) == 0);
    for (int i = 0; i < n; i++) {
        const struct sockaddr *s = (const struct sockaddr *)&ifs[i].address;
        int rc = rn_callback_addr_check(s, why, sizeof(why));
        CHECK_INT(rc, -EACCES);
        if (rc != -EACCES)
            fprintf(stderr, "  own address admitted: %s\n", why);
    }
    uv_free_interface_addresses(ifs, n);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void test_shutdown_cancels(void)
{
    rn_callback_set_timing(5000, 1000);
    reset("hang", NULL, NULL);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/s", port);
    got_calls = 0;
    rn_callback_policy pol = {allow_lo, 1};
    CHECK_INT(rn_callback_put(loop, &pol, url, "{}", 2, on_done, &got_calls), 0);
    CHECK_INT(rn_callback_put(loop, &pol, "http://192.0.2.1/", "{}", 2, on_done, &got_calls), 0);
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    uint64_t t0 = uv_now(loop);
    while (!last_len && uv_now(loop) - t0 < 2000)
        uv_run(loop, UV_RUN_ONCE);
    CHECK(last_len > 0);
    uv_close((uv_handle_t *)&tick, NULL);
    rn_callback_shutdown(loop);
    CHECK_INT(got_calls, 2);
    CHECK_INT(got_err, -ECANCELED);
    /* a stopping server starts no new callback */
    CHECK_INT(rn_callback_put(loop, &pol, url, "{}", 2, on_done, &got_calls), -ECANCELED);
    uv_close((uv_handle_t *)&listener, NULL);
    t0 = uv_hrtime();
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK((uv_hrtime() - t0) / 1000000 < 1000);
    CHECK_INT(got_calls, 2);
}

int main(void)
{
    loop = uv_default_loop();
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &listener);
    if (uv_tcp_bind(&listener, (const struct sockaddr *)&a, 0) ||
        uv_listen((uv_stream_t *)&listener, 16, on_listen))
        return 1;
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &sl);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    rn_callback_set_timing(100, 20);
    RUN_TEST(test_delivers_exact_body);
    RUN_TEST(test_refuses_inner_addresses);
    RUN_TEST(test_bad_urls);
    RUN_TEST(test_retries);
    RUN_TEST(test_policy_units);
    RUN_TEST(test_shutdown_cancels);
    CHECK_INT(uv_loop_close(loop), 0);
    return check_report();
}
