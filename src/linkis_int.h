/* Inside the Linkis envelope: what its files share. Replies in Linkis'
 * Message shape over a socket or HTTP (linkis_out.c), request parameters,
 * and who is asking. */
#ifndef RUNNEL_LINKIS_INT_H
#define RUNNEL_LINKIS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jbuf.h"
#include "linkis_req.h"
#include "server.h"

#define LK_ENTRANCE "/api/rest_j/v1/entrance/"

/* Where a reply goes: a socket (with the request's websocketTag) or an
 * HTTP request; method is echoed. */
typedef struct {
    rn_conn *conn;
    rn_http *http;
    const char *method;
    const char *tag;
} lk_out;

/* Send {method, status, message, data:{fields[, websocketTag]}[, websocketTag]}.
 * fields is the inside of data (may be NULL); http_status 0 = Linkis' mapping. */
void lk_out_send(const lk_out *o, int status, const char *message, const rn_jbuf *fields,
                 int http_status);

/* The same with no data fields. */
void lk_out_error(const lk_out *o, int status, const char *message, int http_status);

/* An internal error: status 1 with data.stack, HTTP 500. */
void lk_out_internal(const lk_out *o, const char *message, const char *stack);

/* Append s as a JSON string, invalid UTF-8 replaced by U+FFFD (NULL: null). */
void lk_jstr_safe(rn_jbuf *b, const char *s);

/* A reply kept for later (a store read): copies of method and tag, and a
 * reference on the socket or request. */
typedef struct {
    lk_out out;
    char *method, *tag;
} lk_later;

/* Keep o for a later reply; NULL when out of memory (o got the error). */
lk_later *lk_later_new(const lk_out *o);

/* Let a kept reply go (after answering it). */
void lk_later_free(lk_later *l);

/* A request parameter: the query of a REST call or a field of a WebSocket
 * frame's data (string, number or boolean), as text. */
typedef struct {
    rn_http *http;
    const cJSON *data;
} lk_params;

/* A parameter into buf; false when absent. */
bool lk_param(const lk_params *p, const char *name, char *buf, size_t size);

/* An integer parameter (absent or blank = dflt); false when not an integer. */
bool lk_param_int(const lk_params *p, const char *name, long long dflt, long long *out);

/* Who is asking (see docs/linkis.md for the order the user comes from). */
typedef struct {
    char user[LK_NAME_MAX + 1];
    bool admin;    /* sees and may act for every user */
    bool declared; /* named by a session or Token-User (not the anonymous default) */
} lk_caller;

/* Whether caller may see a task of these users. */
bool lk_caller_sees(const lk_caller *c, const char *um_user, const char *execute_user);

#endif
