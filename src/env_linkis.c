/* The Linkis envelope: the entrance WebSocket (…/entrance/connect) with its
 * {method, data, websocketTag} frames and status/log/progress pushes, the
 * entrance REST API it falls back to, job history, result files, and an
 * optional login (see docs/linkis.md).
 *
 * This file routes requests, resolves who is asking and keeps the login
 * sessions; tasks live in linkis_tasks.c (in the store when there is one),
 * the routes over them in linkis_entrance.c, linkis_history.c and
 * linkis_fs.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cluster.h"
#include "envelope.h"
#include "jbuf.h"
#include "linkis_int.h"
#include "linkis_routes.h"
#include "linkis_tasks.h"
#include "log.h"
#include "util.h"

#define LK_COOKIE       "linkis_user_session_ticket_id_v1"
#define LK_SESSIONS_MAX 1024
#define LK_USERS_MAX    1000
#define LK_PASSWORD_MAX 256

typedef struct {
    char user[LK_NAME_MAX + 1];
    char *password;
    bool admin;
} lk_user;

typedef struct {
    char ticket[2 * LK_TICKET_HEX + 1];
    char user[LK_NAME_MAX + 1];
    uint64_t expires_ms;
} lk_session;

/* The linkis section of the configuration. */
typedef struct {
    cJSON *users; /* {enabled, list: [{userName, password, admin}]} */
    uint64_t retention_ms;
    uint64_t max_jobs;
    uint64_t max_log_bytes;
    uint64_t session_timeout_ms;
    uint64_t result_max_bytes;
    char instance[LK_INSTANCE_MAX + 1];
    char admin_tokens[4096];
    bool kill_on_disconnect;
} lk_conf;

static struct {
    rn_host *host;
    bool users_enabled;
    lk_user *users;
    size_t nusers;
    uint64_t session_timeout_ms;
    char instance[LK_INSTANCE_MAX + 1];
    char admin_tokens[4096];
    lk_session *sessions;
} G;

static bool tls_on(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    return info.tls;
}

/* ---------------------------------------------------------------- sessions */

static const char *cookie_ticket(const char *cookie, char *buf, size_t size)
{
    buf[0] = 0;
    if (!cookie)
        return NULL;
    const size_t klen = strlen(LK_COOKIE);
    for (const char *p = cookie; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > klen && !strncmp(p, LK_COOKIE, klen) && p[klen] == '=') {
            size_t vl = len - klen - 1;
            if (vl < size) {
                memcpy(buf, p + klen + 1, vl);
                buf[vl] = 0;
                return buf;
            }
        }
        p += len;
    }
    return NULL;
}

static lk_session *session_find(const char *ticket)
{
    if (!ticket || !ticket[0] || !G.sessions)
        return NULL;
    uint64_t now = rn_now_ms();
    for (size_t i = 0; i < LK_SESSIONS_MAX; i++) {
        lk_session *s = &G.sessions[i];
        if (s->ticket[0] && !strcmp(s->ticket, ticket)) {
            if (now >= s->expires_ms) {
                memset(s, 0, sizeof(*s));
                return NULL;
            }
            return s;
        }
    }
    return NULL;
}

static lk_session *session_new(const char *user)
{
    if (!G.sessions)
        return NULL;
    uint64_t now = rn_now_ms();
    lk_session *slot = &G.sessions[0];
    for (size_t i = 0; i < LK_SESSIONS_MAX; i++) {
        lk_session *s = &G.sessions[i];
        if (!s->ticket[0] || now >= s->expires_ms) {
            slot = s;
            break;
        }
        if (s->expires_ms < slot->expires_ms)
            slot = s; /* full: the one closest to expiry goes */
    }
    memset(slot, 0, sizeof(*slot));
    if (rn_random_hex(slot->ticket, LK_TICKET_HEX) < 0)
        return NULL;
    snprintf(slot->user, sizeof(slot->user), "%s", user);
    slot->expires_ms = now + G.session_timeout_ms;
    return slot;
}

/* Whether token is one of the configured admin tokens (compared in
 * constant time). */
static bool admin_token(const char *token)
{
    if (!token || !token[0])
        return false;
    size_t tl = strlen(token);
    bool ok = false;
    for (const char *p = G.admin_tokens; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        ok |= rn_secret_equal(p, l, token, tl);
        p = nl ? nl + 1 : p + l;
    }
    return ok;
}

/* Who is asking: the login session's user; else the tenant the server's
 * token names (auth.users; an admin tenant may name another user with
 * Token-User); else Token-User (with users off, or with an admin token);
 * else "anonymous" with users off. An admin token (Token-Code, or
 * Authorization: Bearer), an admin login or an admin tenant makes an
 * admin. false = not logged in. */
static bool request_caller(const char *ticket, const char *tenant, bool tenant_admin,
                           const char *token_user, const char *token_code, const char *authz,
                           lk_caller *c)
{
    memset(c, 0, sizeof(*c));
    bool admin = admin_token(token_code) || tenant_admin;
    if (!admin && authz && !strncasecmp(authz, "bearer ", 7))
        admin = admin_token(authz + 7);
    lk_session *s = session_find(ticket);
    if (s) {
        s->expires_ms = rn_now_ms() + G.session_timeout_ms;
        snprintf(c->user, sizeof(c->user), "%s", s->user);
        for (size_t i = 0; i < G.nusers; i++)
            if (!strcmp(G.users[i].user, s->user))
                admin |= G.users[i].admin;
        c->admin = admin;
        c->declared = true;
        return true;
    }
    if (tenant && strcmp(tenant, "anonymous") && lk_name_ok(tenant)) {
        bool other = token_user && lk_name_ok(token_user) && admin;
        snprintf(c->user, sizeof(c->user), "%s", other ? token_user : tenant);
        c->admin = admin;
        c->declared = true;
        return true;
    }
    if (token_user && lk_name_ok(token_user) && (!G.users_enabled || admin)) {
        snprintf(c->user, sizeof(c->user), "%s", token_user);
        c->admin = admin;
        c->declared = true;
        return true;
    }
    if (G.users_enabled)
        return false;
    snprintf(c->user, sizeof(c->user), "anonymous");
    c->admin = admin;
    return true;
}

static const char nologin_msg[] =
    "You are not logged in, please login first(您尚未登录，请先登录)!";

static void write_user_fields(rn_jbuf *f, const char *user)
{
    bool admin = false;
    for (size_t i = 0; i < G.nusers; i++)
        if (!strcmp(G.users[i].user, user))
            admin = G.users[i].admin;
    rn_jbuf_key(f, "userName");
    rn_jbuf_jcstr(f, user);
    rn_jbuf_printf(f, ",\"isAdmin\":%s,\"sessionTimeOut\":%llu,\"enableWatermark\":false",
                   admin ? "true" : "false", (unsigned long long)G.session_timeout_ms);
}

static void rest_login(rn_http *h, const lk_out *o, const char *ticket)
{
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
    char qu[LK_NAME_MAX + 2] = "", qp[LK_PASSWORD_MAX + 2] = "";
    const char *name = NULL, *pass = NULL;
    if (len && !cJSON_IsObject(root)) {
        lk_out_error(o, LK_ST_ERROR, "invalid JSON body", 0);
        goto out;
    }
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(root, "userName");
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(root, "password");
    if (!jp)
        jp = cJSON_GetObjectItemCaseSensitive(root, "passwdEncrypt");
    if (cJSON_IsString(jn))
        name = jn->valuestring;
    else if (rn_http_query(h, "userName", qu, sizeof(qu)) == 0)
        name = qu;
    if (cJSON_IsString(jp))
        pass = jp->valuestring;
    else if (rn_http_query(h, "password", qp, sizeof(qp)) == 0)
        pass = qp;

    lk_session *s = session_find(ticket);
    char msg[256];
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    if (s) {
        snprintf(msg, sizeof(msg),
                 "%s already logged in, please log out before signing in"
                 "(已经登录，请先退出再进行登录)！",
                 s->user);
        rn_jbuf_key(&f, "userName");
        rn_jbuf_jcstr(&f, s->user);
        lk_out_send(o, LK_ST_OK, msg, &f, 0);
        goto done;
    }
    if (G.users_enabled) {
        if (!name || !name[0]) {
            lk_out_error(o, LK_ST_ERROR, "Username can not be empty(用户名不能为空)！", 0);
            goto done;
        }
        if (!pass || !pass[0]) {
            lk_out_error(o, LK_ST_ERROR, "Password can not be blank(密码不能为空)！", 0);
            goto done;
        }
        const lk_user *u = NULL;
        for (size_t i = 0; i < G.nusers; i++)
            if (!strcmp(G.users[i].user, name))
                u = &G.users[i];
        /* compare even for an unknown user, so timing does not tell */
        const char *want = u ? u->password : "\x01";
        bool ok = rn_secret_equal(want, strlen(want), pass, strlen(pass));
        if (!u || !ok) {
            rn_log(RN_LOG_INFO, "linkis.login_failed", "peer=%s", rn_http_peer(h));
            lk_out_error(o, LK_ST_ERROR, "wrong user name or password(用户名或密码错误)！", 0);
            goto done;
        }
    } else if (!name || !name[0]) {
        name = "anonymous";
    } else if (!lk_name_ok(name)) {
        lk_out_error(o, LK_ST_ERROR,
                     "userName must be 1 to 64 characters of letters, digits, '.', '_', '@', '-'",
                     0);
        goto done;
    }
    s = session_new(name);
    if (!s) {
        lk_out_internal(o, "cannot create a session", "runnel: getrandom failed");
        goto done;
    }
    char cookie[256];
    snprintf(cookie, sizeof(cookie), LK_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax%s", s->ticket,
             tls_on() ? "; Secure" : "");
    rn_http_add_header(h, "set-cookie", cookie);
    write_user_fields(&f, s->user);
    lk_out_send(o, LK_ST_OK, "login successful(登录成功)！", &f, 0);
done:
    rn_jbuf_free(&f);
out:
    cJSON_Delete(root);
}

static void rest_logout(rn_http *h, const lk_out *o, const char *ticket)
{
    lk_session *s = session_find(ticket);
    if (s)
        memset(s, 0, sizeof(*s));
    rn_http_add_header(h, "set-cookie", LK_COOKIE "=; Path=/; Max-Age=0");
    lk_out_error(o, LK_ST_OK, "Logout successful(退出登录成功)！", 0);
}

/* Routes both transports share once the caller is known. */
static void dispatch(const lk_out *o, lk_route r, const char *id, const lk_params *p,
                     const cJSON *exec_data, const lk_caller *who, lk_ws *w)
{
    switch (r) {
    case LK_R_EXECUTE:
        lk_tasks_execute(o, exec_data, who, w);
        break;
    case LK_R_STATUS:
    case LK_R_LOG:
    case LK_R_PROGRESS:
    case LK_R_PROGRESS_RES:
    case LK_R_KILL:
    case LK_R_PAUSE:
        lk_route_job(o, r, id, p, who);
        break;
    case LK_R_RUNNINGTASK:
        lk_route_runningtask(o, who);
        break;
    case LK_R_HISTORY_GET:
        lk_route_history_get(o, id, who);
        break;
    case LK_R_HISTORY_LIST:
        lk_route_history_list(o, p, who);
        break;
    case LK_R_FS_TREE:
        lk_route_fs_tree(o, p, who);
        break;
    case LK_R_FS_OPEN:
        lk_route_fs_open(o, p, who);
        break;
    case LK_R_USERINFO: {
        rn_jbuf f;
        rn_jbuf_init(&f, 0);
        rn_jbuf_key(&f, "userName");
        rn_jbuf_jcstr(&f, who->user);
        lk_out_send(o, LK_ST_OK, "get user information succeed!", &f, 0);
        rn_jbuf_free(&f);
        break;
    }
    case LK_R_HEARTBEAT:
        lk_out_error(o, LK_ST_OK, "Maintain heartbeat success(维系心跳成功)", 0);
        break;
    default: {
        char msg[LK_ID_MAX + 200];
        snprintf(msg, sizeof(msg), "Unresolvable request: %.300s", o->method ? o->method : "");
        lk_out_error(o, LK_ST_ERROR, msg, 404);
        break;
    }
    }
}

/* ---------------------------------------------------------------- WebSocket */

static int linkis_ws_open(void *state, rn_conn *c)
{
    (void)state;
    lk_ws *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->conn = c;
    cookie_ticket(rn_conn_header(c, "cookie"), w->ticket, sizeof(w->ticket));
    rn_conn_set_data(c, w, free);
    return 0;
}

static void linkis_ws_message(void *state, rn_conn *c, const char *msg, size_t len, bool binary)
{
    (void)state;
    lk_ws *w = rn_conn_data(c);
    lk_out o = {.conn = c};
    if (binary) {
        lk_out_error(&o, LK_ST_ERROR, "binary frames are not supported: send JSON text", 0);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!cJSON_IsObject(root)) {
        lk_out_error(&o, LK_ST_ERROR,
                     root ? "invalid request: expected a JSON object" : "invalid JSON", 0);
        goto out;
    }
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(root, "websocketTag");
    if (!tag || cJSON_IsNull(tag))
        tag = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "websocketTag") : NULL;
    if (cJSON_IsString(tag) && strlen(tag->valuestring) <= LK_TAG_MAX)
        o.tag = tag->valuestring;
    if (cJSON_IsString(method))
        o.method = method->valuestring;
    if (tag && !cJSON_IsNull(tag) && !o.tag) {
        char m[96];
        snprintf(m, sizeof(m), "websocketTag must be a string of at most %d characters",
                 LK_TAG_MAX);
        lk_out_error(&o, LK_ST_INVALID, m, 0);
        goto out;
    }
    if (!o.method) {
        lk_out_error(&o, LK_ST_ERROR,
                     method ? "method must be a string"
                            : "missing method: send {method, data, "
                              "websocketTag}",
                     0);
        goto out;
    }
    if (data && !cJSON_IsNull(data) && !cJSON_IsObject(data)) {
        lk_out_error(&o, LK_ST_INVALID, "data must be an object", 0);
        goto out;
    }
    char id[LK_ID_MAX + 1];
    lk_route r = lk_route_parse(o.method, id, sizeof(id));
    if (r == LK_R_LOGIN || r == LK_R_LOGOUT) {
        lk_out_error(&o, LK_ST_ERROR,
                     "log in and out over HTTP (POST /api/rest_j/v1/user/login), then connect "
                     "with the session cookie",
                     0);
        goto out;
    }
    if (r == LK_R_NONE || r == LK_R_UNKNOWN || r == LK_R_CONNECT) {
        char m[600];
        snprintf(m, sizeof(m), "Unresolvable webSocket request: %.500s", o.method);
        lk_out_error(&o, LK_ST_ERROR, m, 0);
        goto out;
    }
    lk_caller who;
    bool tenant_admin;
    const char *tenant = rn_conn_user(c, &tenant_admin);
    if (!request_caller(w ? w->ticket : NULL, tenant, tenant_admin, rn_conn_header(c, "token-user"),
                        rn_conn_header(c, "token-code"), rn_conn_header(c, "authorization"),
                        &who)) {
        lk_out_error(&o, LK_ST_NOLOGIN, nologin_msg, 0);
        goto out;
    }
    lk_params p = {.data = data};
    dispatch(&o, r, id, &p, data, &who, w);
out:
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------- REST */

static void linkis_http(void *state, rn_http *h)
{
    (void)state;
    const char *path = rn_http_path(h), *m = rn_http_method(h);
    char id[LK_ID_MAX + 1];
    lk_route r = lk_route_parse(path, id, sizeof(id));
    lk_out o = {.http = h, .method = path};
    if (r == LK_R_NONE || r == LK_R_UNKNOWN) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Unresolvable request: %s %.1000s", m, path);
        lk_out_error(&o, LK_ST_ERROR, msg, 404);
        return;
    }
    if (r == LK_R_CONNECT) {
        lk_out_error(&o, LK_ST_ERROR, "Upgrade Required: open a WebSocket here", 426);
        return;
    }
    bool post_only = r == LK_R_EXECUTE || r == LK_R_LOGIN;
    if (post_only ? strcmp(m, "POST") : (strcmp(m, "GET") && strcmp(m, "POST"))) {
        lk_out_error(&o, LK_ST_ERROR, "Method Not Allowed", 405);
        return;
    }
    char tbuf[128];
    const char *ticket = cookie_ticket(rn_http_header(h, "cookie"), tbuf, sizeof(tbuf));
    if (r == LK_R_LOGIN) {
        rest_login(h, &o, ticket);
        return;
    }
    if (r == LK_R_LOGOUT) {
        rest_logout(h, &o, ticket);
        return;
    }
    lk_caller who;
    bool tenant_admin;
    const char *tenant = rn_http_user(h, &tenant_admin);
    if (!request_caller(ticket, tenant, tenant_admin, rn_http_header(h, "token-user"),
                        rn_http_header(h, "token-code"), rn_http_header(h, "authorization"),
                        &who)) {
        lk_out_error(&o, LK_ST_NOLOGIN, nologin_msg, 0);
        return;
    }
    cJSON *root = NULL;
    const cJSON *exec_data = NULL;
    if (r == LK_R_EXECUTE) {
        size_t len;
        const char *body = rn_http_body(h, &len);
        root = cJSON_ParseWithLength(body, len);
        if (!cJSON_IsObject(root)) {
            lk_out_error(&o, LK_ST_ERROR,
                         root ? "invalid request: expected a JSON object" : "invalid JSON", 0);
            cJSON_Delete(root);
            return;
        }
        /* The whole WebSocket frame {method, data} posted is accepted too. */
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
        exec_data = root;
        if (cJSON_IsObject(d) && !cJSON_GetObjectItemCaseSensitive(root, "executionCode") &&
            !cJSON_GetObjectItemCaseSensitive(root, "executionContent"))
            exec_data = d;
    }
    lk_params p = {.http = h};
    dispatch(&o, r, id, &p, exec_data, &who, NULL);
    cJSON_Delete(root);
    return;
}

/* ---------------------------------------------------------------- config */

static void free_users(void)
{
    for (size_t i = 0; i < G.nusers; i++)
        free(G.users[i].password);
    free(G.users);
    G.users = NULL;
    G.nusers = 0;
}

static int cfg_users(const cJSON *u, char *err, size_t size)
{
    if (!u || cJSON_IsNull(u))
        return 0;
    if (!cJSON_IsObject(u)) {
        snprintf(err, size, "linkis.users: must be an object {enabled, list}");
        return -EINVAL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, u)
    {
        if (strcmp(it->string, "enabled") && strcmp(it->string, "list")) {
            snprintf(err, size, "linkis.users.%.64s: unknown key (enabled, list)", it->string);
            return -EINVAL;
        }
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(u, "enabled");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(u, "list");
    if (en && !cJSON_IsBool(en)) {
        snprintf(err, size, "linkis.users.enabled: must be true or false");
        return -EINVAL;
    }
    if (list && !cJSON_IsArray(list)) {
        snprintf(err, size, "linkis.users.list: must be an array of {userName, password}");
        return -EINVAL;
    }
    int n = list ? cJSON_GetArraySize(list) : 0;
    if (n > LK_USERS_MAX) {
        snprintf(err, size, "linkis.users.list: at most %d users", LK_USERS_MAX);
        return -EINVAL;
    }
    G.users_enabled = cJSON_IsTrue(en);
    if (G.users_enabled && n == 0) {
        snprintf(err, size, "linkis.users.list: must name at least one user when enabled");
        return -EINVAL;
    }
    if (n && !(G.users = calloc((size_t)n, sizeof(*G.users)))) {
        snprintf(err, size, "linkis.users: out of memory");
        return -ENOMEM;
    }
    int i = 0;
    cJSON_ArrayForEach(it, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "userName");
        const cJSON *pw = cJSON_GetObjectItemCaseSensitive(it, "password");
        const cJSON *adm = cJSON_GetObjectItemCaseSensitive(it, "admin");
        if (!cJSON_IsObject(it) || !cJSON_IsString(name) || !lk_name_ok(name->valuestring)) {
            snprintf(err, size,
                     "linkis.users.list[%d].userName: must be 1 to %d characters of letters, "
                     "digits, '.', '_', '@', '-'",
                     i, LK_NAME_MAX);
            return -EINVAL;
        }
        if (!cJSON_IsString(pw) || !pw->valuestring[0] ||
            strlen(pw->valuestring) > LK_PASSWORD_MAX) {
            snprintf(err, size, "linkis.users.list[%d].password: must be a non-empty string", i);
            return -EINVAL;
        }
        if (adm && !cJSON_IsBool(adm)) {
            snprintf(err, size, "linkis.users.list[%d].admin: must be true or false", i);
            return -EINVAL;
        }
        for (size_t k = 0; k < G.nusers; k++) {
            if (!strcmp(G.users[k].user, name->valuestring)) {
                snprintf(err, size, "linkis.users.list[%d].userName: '%s' is listed twice", i,
                         name->valuestring);
                return -EINVAL;
            }
        }
        lk_user *usr = &G.users[G.nusers];
        if (!(usr->password = strdup(pw->valuestring))) {
            snprintf(err, size, "linkis.users: out of memory");
            return -ENOMEM;
        }
        snprintf(usr->user, sizeof(usr->user), "%s", name->valuestring);
        usr->admin = cJSON_IsTrue(adm);
        G.nusers++;
        i++;
    }
    return 0;
}

static void default_instance(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    char host[256];
    snprintf(host, sizeof(host), "%s", info.listen_host);
    if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "[::]")) {
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = 0;
    }
    int port = info.port;
    snprintf(G.instance, sizeof(G.instance), "%.80s:%d", host, port);
}

static int linkis_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    const lk_conf *c = conf;
    int r = -EINVAL;
    free_users();
    G.host = host;
    *state = &G;
    G.users_enabled = false;
    G.session_timeout_ms = c->session_timeout_ms;
    snprintf(G.admin_tokens, sizeof(G.admin_tokens), "%s", c->admin_tokens);
    G.instance[0] = 0;
    if (rn_cluster_active()) {
        /* the node's id: the load balancer routes an execID by it, and a
         * lost node's tasks are found by it */
        snprintf(G.instance, sizeof(G.instance), "%s", rn_cluster_node_id());
        if (c->instance[0])
            rn_log(RN_LOG_WARN, "linkis.instance_ignored",
                   "msg=\"a cluster node's execIDs name its cluster.node_id\"");
    } else if (c->instance[0]) {
        const char *s = c->instance;
        bool ok = true;
        for (const char *p = s; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr(".-_:[]", *p);
        if (!ok) {
            snprintf(err, size,
                     "linkis.instance: must be host:port, at most %d characters of letters, "
                     "digits and . - _ : [ ]",
                     LK_INSTANCE_MAX);
            goto fail;
        }
        snprintf(G.instance, sizeof(G.instance), "%s", s);
    } else {
        default_instance();
    }
    if ((r = cfg_users(c->users, err, size)))
        goto fail;
    if (!G.sessions && !(G.sessions = calloc(LK_SESSIONS_MAX, sizeof(*G.sessions)))) {
        snprintf(err, size, "linkis: out of memory");
        r = -ENOMEM;
        goto fail;
    }
    lk_tasks_conf tc = {
        .retention_ms = c->retention_ms,
        .max_jobs = c->max_jobs,
        .max_log_bytes = c->max_log_bytes,
        .result_max_bytes = c->result_max_bytes,
        .kill_on_disconnect = c->kill_on_disconnect,
        .instance = G.instance,
    };
    if ((r = lk_tasks_init(host, rn_host_store(host), &tc, err, size)) < 0)
        goto fail;
    rn_log(RN_LOG_DEBUG, "linkis.init", "instance=%s users=%s store=%s retention_ms=%llu",
           G.instance, G.users_enabled ? "on" : "off", rn_host_store(host) ? "on" : "off",
           (unsigned long long)c->retention_ms);
    return 0;
fail:
    free_users();
    G.users_enabled = false;
    return r;
}

static void linkis_fini(void *state)
{
    (void)state;
    lk_tasks_fini();
    free_users();
    free(G.sessions);
    G.sessions = NULL;
}

static void linkis_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    char msg[1200];
    lk_out o = {.http = h, .method = rn_http_path(h)};
    if (status == 404)
        snprintf(msg, sizeof(msg), "Unresolvable request: %s %.1000s", rn_http_method(h),
                 rn_http_path(h));
    else if (status == 426)
        snprintf(msg, sizeof(msg), "Upgrade Required: open a WebSocket here");
    else
        snprintf(msg, sizeof(msg), "%s", message);
    lk_out_error(&o, LK_ST_ERROR, msg, status);
}

#define LK_SLASH RN_ROUTE_SLASH
static const rn_ws_endpoint linkis_ws[] = {
    {NULL, "/api/rest_j/v1/entrance/connect", LK_SLASH, NULL},
    {NULL, "/api/rest_j/entrance/connect", LK_SLASH, NULL},
    {NULL, "/api/res_j/entrance/connect", LK_SLASH, NULL},
    {NULL, "/api/res_j/v1/entrance/connect", LK_SLASH, NULL},
    {NULL, "/ws/api/entrance/connect", LK_SLASH, NULL},
    {0},
};

/* Linkis' own router (linkis_req.c) splits the paths below these. */
static const rn_route linkis_routes[] = {
    {NULL, "/api/rest_j", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/api/res_j", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/api/entrance", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/ws/api/entrance", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/ws/api/user", RN_ROUTE_PREFIX, linkis_http},
    {0},
};

static const rn_conf_key linkis_keys[] = {
    RN_CONF_KEY_JSON("users", lk_conf, users,
                     "Linkis logins: {enabled, list: [{userName, password, admin}]}"),
    RN_CONF_KEY_U64("retention_ms", lk_conf, retention_ms, 0, 9007199254740991ull, "600000",
                    "without a state store: how long a finished job stays answerable"),
    RN_CONF_KEY_U64("max_jobs", lk_conf, max_jobs, 1, 9007199254740991ull, "1000",
                    "jobs in memory (running; and finished ones without a state store)"),
    RN_CONF_KEY_U64("max_log_bytes", lk_conf, max_log_bytes, 0, 9007199254740991ull, "268435456",
                    "without a state store: log bytes kept over all jobs"),
    RN_CONF_KEY_U64("result_max_bytes", lk_conf, result_max_bytes, 1024, 1ull << 30, "1048576",
                    "result-set bytes kept per job (stdout, or SQL rows); more is cut"),
    RN_CONF_KEY_LIST("admin_tokens", lk_conf, admin_tokens,
                     "tokens (Token-Code or Authorization: Bearer) whose holder sees every "
                     "user's jobs and may submit as any executeUser"),
    RN_CONF_KEY_U64("session_timeout_ms", lk_conf, session_timeout_ms, 1000, 9007199254740991ull,
                    "7200000", "idle time before a login session ends"),
    RN_CONF_KEY_STR("instance", lk_conf, instance, NULL,
                    "host:port in execIDs (default: the listen address)"),
    RN_CONF_KEY_BOOL("kill_on_disconnect", lk_conf, kill_on_disconnect, "false",
                     "kill a WebSocket's jobs when it closes"),
};

const rn_envelope rn_env_linkis = {
    .name = "linkis",
    .keys = linkis_keys,
    .nkeys = sizeof(linkis_keys) / sizeof(linkis_keys[0]),
    .conf_size = sizeof(lk_conf),
    .init = linkis_init,
    .fini = linkis_fini,
    .routes = linkis_routes,
    .ws = linkis_ws,
    .http_error = linkis_http_error,
    .ws_open = linkis_ws_open,
    .ws_message = linkis_ws_message,
};
