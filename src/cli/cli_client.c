/* The runnel client's connection to the server (see cli_client.h). */
#include "cli_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

client cl;

void die_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("runnel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Parse http[s]://host[:port][/prefix] (ws/wss and a bare host:port too). */
int parse_server(const char *url, char *err, size_t errsize)
{
    const char *p = url;
    cl.tls = false;
    if (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8)) {
        cl.tls = tolower((unsigned char)p[4]) == 's';
        p += cl.tls ? 8 : 7;
    } else if (!strncasecmp(p, "ws://", 5) || !strncasecmp(p, "wss://", 6)) {
        cl.tls = tolower((unsigned char)p[2]) == 's';
        p += cl.tls ? 6 : 5;
    } else if (strstr(p, "://")) {
        snprintf(err, errsize, "server URL '%s' must start with http://, https://, ws:// or wss://",
                 url);
        return -EINVAL;
    }
    const char *host_end;
    const char *host = p;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (!host_end) {
            snprintf(err, errsize, "server URL '%s': unclosed '['", url);
            return -EINVAL;
        }
        host = p + 1;
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        p = host_end;
    }
    size_t hl = (size_t)(host_end - host);
    if (!hl || hl >= sizeof(cl.host)) {
        snprintf(err, errsize, "server URL '%s' has no host", url);
        return -EINVAL;
    }
    memcpy(cl.host, host, hl);
    cl.host[hl] = 0;
    cl.port = cl.tls ? 443 : 80;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, errsize, "server URL '%s' has a bad port", url);
            return -EINVAL;
        }
        cl.port = (int)port;
        p = end;
    }
    if (*p && *p != '/') {
        snprintf(err, errsize, "server URL '%s' is malformed", url);
        return -EINVAL;
    }
    snprintf(cl.prefix, sizeof(cl.prefix), "%s", p);
    size_t pl = strlen(cl.prefix);
    while (pl && cl.prefix[pl - 1] == '/')
        cl.prefix[--pl] = 0;
    /* A ranna WebSocket URL given as is: use its prefix. */
    if (pl >= 6 && !strcmp(cl.prefix + pl - 6, "/v1/ws"))
        cl.prefix[pl - 6] = 0;
    snprintf(cl.ws_path, sizeof(cl.ws_path), "%s/v1/ws", cl.prefix);
    snprintf(cl.spec_path, sizeof(cl.spec_path), "%s/v1/spec", cl.prefix);
    return 0;
}

const char *server_desc(char *buf, size_t size)
{
    bool v6 = strchr(cl.host, ':') != NULL;
    snprintf(buf, size, "%s://%s%s%s:%d%s", cl.tls ? "https" : "http", v6 ? "[" : "", cl.host,
             v6 ? "]" : "", cl.port, cl.prefix);
    return buf;
}

/* -------------------------------------------------------- lws plumbing */

int queue_text(const char *text)
{
    size_t len = strlen(text);
    out_msg *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    if (cl.outq_tail)
        cl.outq_tail->next = m;
    else
        cl.outq = m;
    cl.outq_tail = m;
    if (cl.wsi && cl.connected)
        lws_callback_on_writable(cl.wsi);
    return 0;
}

void free_queue(void)
{
    while (cl.outq) {
        out_msg *m = cl.outq;
        cl.outq = m->next;
        free(m);
    }
    cl.outq_tail = NULL;
}

static int append(char **buf, size_t *len, size_t *cap, const void *data, size_t n, size_t limit)
{
    if (*len + n + 1 > limit)
        return -EFBIG;
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

static int add_auth_header(struct lws *wsi, void *in, size_t len)
{
    if (!cl.token || !cl.token[0])
        return 0;
    unsigned char **p = (unsigned char **)in, *end = (*p) + len;
    char value[1100];
    snprintf(value, sizeof(value), "Bearer %s", cl.token);
    return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)value,
                                        (int)strlen(value), p, end)
               ? -1
               : 0;
}

static int conn_tags[2]; /* per-connection user pointers, by conn_mode */

static int client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    /* Only the connection in use counts: an earlier one (the spec fetch's
     * kept-alive socket) may still report its close. */
    if (user != &conn_tags[cl.mode])
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(cl.conn_error, sizeof(cl.conn_error), "%s",
                 in ? (const char *)in : "connection failed");
        *(cl.mode == MODE_HTTP ? &cl.http_wsi : &cl.wsi) = NULL;
        cl.closed = true;
        cl.done = true;
        break;
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return add_auth_header(wsi, in, len);
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        cl.connected = true;
        cl.http_status = (int)lws_http_client_http_response(wsi);
        break;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buffer[4096 + LWS_PRE];
        char *px = buffer + LWS_PRE;
        int lenx = (int)sizeof(buffer) - LWS_PRE;
        if (lws_http_client_read(wsi, &px, &lenx) < 0)
            return -1;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (append(&cl.body, &cl.body_len, &cl.body_cap, in, len, MAX_MSG_BYTES) < 0)
            cl.body_oom = true;
        break;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        cl.done = true;
        break;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (!cl.done && !cl.conn_error[0])
            snprintf(cl.conn_error, sizeof(cl.conn_error), "connection closed before the reply");
        cl.http_wsi = NULL;
        cl.closed = true;
        cl.done = true;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        cl.connected = true;
        if (cl.outq)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (cl.outq) {
            out_msg *m = cl.outq;
            int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
            if (n < (int)m->len)
                return -1;
            cl.outq = m->next;
            if (!cl.outq)
                cl.outq_tail = NULL;
            free(m);
            if (cl.outq)
                lws_callback_on_writable(wsi);
            break;
        }
        if (cl.closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!cl.rx_too_big && append(&cl.rx, &cl.rx_len, &cl.rx_cap, in, len, MAX_MSG_BYTES) < 0)
            cl.rx_too_big = true;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (!cl.rx_too_big && cl.on_message)
                cl.on_message(cl.rx ? cl.rx : "", cl.rx_len);
            else if (cl.rx_too_big)
                die_msg("ignored a message from the server larger than %u bytes", MAX_MSG_BYTES);
            cl.rx_len = 0;
            cl.rx_too_big = false;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        cl.wsi = NULL;
        cl.closed = true;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"runnel-cli", client_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int ctx_create(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.timeout_secs = 10;
    info.connect_timeout_secs = 10;
    if (cl.tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    cl.ctx = lws_create_context(&info);
    return cl.ctx ? 0 : -ENOMEM;
}

/* Open a connection (HTTP GET or WebSocket) to path. */
int connect_to(conn_mode mode, const char *path)
{
    struct lws_client_connect_info ci;
    char hosthdr[300];
    memset(&ci, 0, sizeof(ci));
    cl.mode = mode;
    cl.connected = cl.closed = cl.done = cl.closing = false;
    cl.conn_error[0] = 0;
    cl.http_status = 0;
    bool v6 = strchr(cl.host, ':') != NULL;
    snprintf(hosthdr, sizeof(hosthdr), "%s%s%s:%d", v6 ? "[" : "", cl.host, v6 ? "]" : "", cl.port);
    ci.context = cl.ctx;
    ci.address = cl.host;
    ci.port = cl.port;
    ci.path = path;
    ci.host = hosthdr;
    ci.ssl_connection = cl.tls ? LCCSCF_USE_SSL : 0;
    ci.alpn = "http/1.1";
    ci.local_protocol_name = protocols[0].name;
    if (mode == MODE_HTTP)
        ci.method = "GET";
    ci.userdata = &conn_tags[mode];
    ci.pwsi = mode == MODE_HTTP ? &cl.http_wsi : &cl.wsi;
    if (!lws_client_connect_via_info(&ci)) {
        if (!cl.conn_error[0])
            snprintf(cl.conn_error, sizeof(cl.conn_error), "cannot start the connection");
        return -ECONNREFUSED;
    }
    return 0;
}
