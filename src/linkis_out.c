/* Linkis' Message replies over a socket or HTTP, kept replies, request
 * parameters and the caller's rights (see linkis_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkis_int.h"

static int http_status_of(int status)
{
    switch (status) {
    case LK_ST_NOLOGIN:
        return 401;
    case LK_ST_OK:
        return 200;
    case LK_ST_INVALID:
        return 412;
    case LK_ST_DENIED:
        return 403;
    default:
        return 400;
    }
}

/* A JSON string of text a client may have sent (or that was cut inside a
 * character): invalid UTF-8 becomes U+FFFD rather than a broken frame. */
void lk_jstr_safe(rn_jbuf *b, const char *s)
{
    if (!s) {
        rn_jbuf_str(b, "null");
        return;
    }
    rn_jbuf_jstr_safe(b, s, strlen(s));
}

/* Send {method, status, message, data:{fields[, websocketTag]}[, websocketTag]}.
 * fields is the inside of data (may be NULL); http_status 0 = Linkis' mapping. */
void lk_out_send(const lk_out *o, int status, const char *message, const rn_jbuf *fields,
                 int http_status)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"method\":");
    lk_jstr_safe(&b, o->method);
    rn_jbuf_printf(&b, ",\"status\":%d,\"message\":", status);
    lk_jstr_safe(&b, message);
    rn_jbuf_str(&b, ",\"data\":{");
    if (fields && fields->len)
        rn_jbuf_raw(&b, fields->data, fields->len);
    if (o->conn && o->tag) {
        rn_jbuf_key(&b, "websocketTag");
        lk_jstr_safe(&b, o->tag);
    }
    rn_jbuf_str(&b, "}");
    if (o->conn && o->tag) {
        rn_jbuf_key(&b, "websocketTag");
        lk_jstr_safe(&b, o->tag);
    }
    rn_jbuf_str(&b, "}");
    if (fields && fields->oom)
        b.oom = true;
    if (b.oom) {
        static const char oom[] = "{\"method\":null,\"status\":1,\"message\":\"out of memory\","
                                  "\"data\":{\"stack\":\"runnel: out of memory\"}}";
        if (o->conn)
            rn_conn_send(o->conn, oom, sizeof(oom) - 1);
        else if (o->http)
            rn_http_reply(o->http, 500, "application/json", oom, sizeof(oom) - 1);
    } else if (o->conn) {
        rn_conn_send(o->conn, b.data, b.len);
    } else if (o->http) {
        rn_http_reply(o->http, http_status ? http_status : http_status_of(status),
                      "application/json", b.data, b.len);
    }
    rn_jbuf_free(&b);
}

void lk_out_error(const lk_out *o, int status, const char *message, int http_status)
{
    lk_out_send(o, status, message, NULL, http_status);
}

/* An internal error: status 1 with data.stack. */
void lk_out_internal(const lk_out *o, const char *message, const char *stack)
{
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_key(&f, "stack");
    rn_jbuf_jcstr(&f, stack);
    lk_out_send(o, LK_ST_ERROR, message, &f, 500);
    rn_jbuf_free(&f);
}

bool lk_param(const lk_params *p, const char *name, char *buf, size_t size)
{
    if (p->http)
        return rn_http_query(p->http, name, buf, size) == 0;
    const cJSON *v =
        cJSON_IsObject(p->data) ? cJSON_GetObjectItemCaseSensitive(p->data, name) : NULL;
    if (cJSON_IsString(v))
        snprintf(buf, size, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        return false;
    return true;
}

/* An integer parameter (absent or blank = dflt); false when not an integer. */
bool lk_param_int(const lk_params *p, const char *name, long long dflt, long long *out)
{
    char buf[64];
    *out = dflt;
    if (!lk_param(p, name, buf, sizeof(buf)) || !buf[0])
        return true;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno)
        return false;
    *out = v;
    return true;
}

lk_later *lk_later_new(const lk_out *o)
{
    lk_later *l = calloc(1, sizeof(*l));
    if (!l || (o->method && !(l->method = strdup(o->method))) ||
        (o->tag && !(l->tag = strdup(o->tag)))) {
        if (l) {
            free(l->method);
            free(l);
        }
        lk_out_internal(o, "out of memory", "runnel: lk_later_new: out of memory");
        return NULL;
    }
    l->out = *o;
    l->out.method = l->method;
    l->out.tag = l->tag;
    if (o->conn)
        rn_conn_ref(o->conn);
    if (o->http)
        rn_http_hold(o->http);
    return l;
}

void lk_later_free(lk_later *l)
{
    if (!l)
        return;
    if (l->out.conn)
        rn_conn_unref(l->out.conn);
    if (l->out.http)
        rn_http_release(l->out.http);
    free(l->method);
    free(l->tag);
    free(l);
}

bool lk_caller_sees(const lk_caller *c, const char *um_user, const char *execute_user)
{
    return c->admin || !strcmp(c->user, um_user) || !strcmp(c->user, execute_user);
}
