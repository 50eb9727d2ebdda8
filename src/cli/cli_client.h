/* The runnel client's connection to the server: the server's address, one
 * libwebsockets client context, an HTTP GET or a WebSocket at a time, the
 * outgoing message queue and the incoming message. Shared by the commands
 * in runnel.c. */
#ifndef RUNNEL_CLI_CLIENT_H
#define RUNNEL_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libwebsockets.h>

#define DEFAULT_SERVER "http://127.0.0.1:8080"

/* Exit codes of runnel's own conditions (the program's own status otherwise). */
enum {
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_NOINPUT = 66,    /* FILE or --stdin FILE unreadable */
    EXIT_CONNECT = 69,    /* server unreachable, or the connection dropped */
    EXIT_SERVER = 70,     /* the server refused or failed the run */
    EXIT_BUSY = 75,       /* server busy, rate-limited or shutting down: retry later */
    EXIT_TIMEOUT = 124,   /* the run hit the wall-time limit */
    EXIT_LIMIT = 125,     /* the run hit another limit: CPU, memory, output, code size */
    EXIT_COMPILE = 126,   /* the program did not compile */
    EXIT_NOLANG = 127,    /* language unknown or not installed on the server */
    EXIT_INTERRUPT = 130, /* Ctrl+C: the run was killed at your request */
};

#define MAX_FILE_BYTES  (64u << 20)
#define MAX_MSG_BYTES   (64u << 20)
#define KILL_GRACE_MS   10000
#define CLOSE_GRACE_MS  1000
#define SERVICE_TICK_MS 100

typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE spare bytes, then the text */
} out_msg;

typedef enum { MODE_HTTP, MODE_WS } conn_mode;

typedef struct {
    /* the server */
    bool tls;
    char host[256];
    int port;
    char prefix[512];
    char ws_path[600], spec_path[600];
    const char *token;
    bool verbose;
    /* the connection in use */
    struct lws_context *ctx;
    struct lws *wsi, *http_wsi;
    conn_mode mode;
    bool connected, closed, done;
    char conn_error[256];
    /* HTTP */
    int http_status;
    char *body;
    size_t body_len, body_cap;
    bool body_oom;
    /* WebSocket */
    out_msg *outq, *outq_tail;
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_too_big;
    void (*on_message)(const char *msg, size_t len);
    bool closing;
} client;

/* The client's one connection state. */
extern client cl;

/* Print "runnel: " and the message on stderr. */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic clock in milliseconds. */
double now_ms(void);

/* Parse http[s]://host[:port][/prefix] (ws/wss and a bare host:port too)
 * into cl; -EINVAL and a message in err when it is not one. */
int parse_server(const char *url, char *err, size_t errsize);

/* The server as the user named it, for messages. */
const char *server_desc(char *buf, size_t size);

/* Queue a text message for the WebSocket; -ENOMEM when out of memory. */
int queue_text(const char *text);

/* Drop every queued outgoing message. */
void free_queue(void);

/* Make the client context (TLS initialised when the server is https). */
int ctx_create(void);

/* Open a connection (HTTP GET or WebSocket) to path. */
int connect_to(conn_mode mode, const char *path);

#endif
