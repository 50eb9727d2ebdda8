/* A finished submission reported to its callback_url: a PUT of Judge0's
 * default fields, always in base64 (as Judge0 sends it), through the
 * outbound callback module (its SSRF policy, tries and timeouts). A
 * refusal or a failure is logged and kept in the submission's message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge0_int.h"
#include "log.h"

#ifdef RUNNEL_HAVE_CALLBACK
#include "callback.h"
#define J0_HAVE_CALLBACK 1
#else
#define J0_HAVE_CALLBACK 0
#endif

bool j0_callback_supported(void)
{
    return J0_HAVE_CALLBACK;
}

#if J0_HAVE_CALLBACK
typedef struct {
    j0_state *st;
    char token[37];
    char *url; /* copies taken at the end of the run */
    rn_jbuf body;
} cb_ctx;

static void ctx_free(cb_ctx *c)
{
    free(c->url);
    rn_jbuf_free(&c->body);
    free(c);
}

/* The allow-list, newline-separated in the configuration, as an array. */
static size_t allow_list(const j0_state *st, char *copy, size_t size, const char **v, size_t max)
{
    size_t n = 0;
    snprintf(copy, size, "%s", st->conf.callback_allow);
    for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t && n < max;
         t = strtok_r(NULL, "\n", &save))
        v[n++] = t;
    return n;
}

static void callback_done(int err, int http_status, const char *why, void *ud)
{
    cb_ctx *c = ud;
    j0_sub *s = j0_list_find(c->st, c->token);
    char q[400];
    if (err == -ECANCELED) { /* the server is stopping: the state may be gone */
        ctx_free(c);
        return;
    }
    if (err < 0) {
        rn_log(RN_LOG_WARN, "judge0.callback", "token=%s status=%d why=%s", c->token, http_status,
               rn_log_quote(why ? why : "failed", q, sizeof(q)));
        if (s) {
            j0_bytes_set(&s->message, why ? why : "callback failed",
                         strlen(why ? why : "callback failed"));
            j0_store_save(c->st, s);
        }
    } else
        rn_log(RN_LOG_DEBUG, "judge0.callback", "token=%s status=%d", c->token, http_status);
    ctx_free(c);
}

/* The row is committed: now the receiver, or anyone it tells, can read it
 * from any node. */
static void callback_start(void *ud)
{
    cb_ctx *c = ud;
    j0_state *st = c->st;
    char copy[sizeof(st->conf.callback_allow)];
    const char *allow[64];
    rn_callback_policy pol = {allow, allow_list(st, copy, sizeof(copy), allow, 64)};
    if (rn_callback_put(rn_host_loop(st->host), &pol, c->url, c->body.data, c->body.len,
                        callback_done, c) < 0)
        ctx_free(c); /* done is not called when the call itself fails */
}

void j0_callback_send(j0_state *st, j0_sub *s)
{
    if (!s->callback_url.p || !s->callback_url.len)
        return;
    cb_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    rn_jbuf_init(&c->body, 0);
    c->st = st;
    snprintf(c->token, sizeof(c->token), "%s", s->token);
    c->url = strndup(s->callback_url.p, s->callback_url.len);
    /* sent once the row saved before this is committed */
    if (!c->url || j0_out_sub(&c->body, st, s, NULL, true) < 0 ||
        j0_store_barrier(st, callback_start, c) < 0)
        ctx_free(c);
}
#else
void j0_callback_send(j0_state *st, j0_sub *s)
{
    (void)st;
    if (s->callback_url.p && s->callback_url.len)
        rn_log(RN_LOG_WARN, "judge0.callback", "token=%s why=\"callbacks are not built in\"",
               s->token);
}
#endif
