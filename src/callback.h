/* Outbound HTTP PUT callbacks (Judge0's callback_url) on the libuv loop:
 * plain http:// only (https:// is refused: no TLS client here), the host
 * resolved once with uv_getaddrinfo and connected to at that address, no
 * redirects, addresses inside the server's networks refused (SSRF). */
#ifndef RUNNEL_CALLBACK_H
#define RUNNEL_CALLBACK_H

#include <stddef.h>

#include <uv.h>

/* Longest URL accepted. */
#define RN_CALLBACK_URL_MAX 2048

/* Destinations allowed even though the policy would refuse them: each an
 * IP ("127.0.0.1", "::1"), a CIDR ("10.0.0.0/8") or a host name as written
 * in the URL ("hooks.internal"). */
typedef struct {
    const char *const *allow;
    size_t nallow;
} rn_callback_policy;

/* The end of one callback, called once on the loop: err 0 and a 2xx
 * http_status on success; -EINVAL bad URL, -EPROTONOSUPPORT https,
 * -EACCES refused address (every resolved address must pass), -EHOSTUNREACH
 * host not resolved, -ETIMEDOUT, -EIO non-2xx after every try (http_status
 * the last one), -EPROTO no HTTP/1.x status line in the first 4 KiB,
 * -ECANCELED at shutdown, or the last network error; why is a sentence. */
typedef void (*rn_callback_done)(int err, int http_status, const char *why, void *ud);

/* PUT body (copied) to url as application/json, up to 3 tries with 1 s then
 * 2 s backoff and 5 s per try; done is always called later on the loop
 * (never from inside this call); returns 0, or -ENOMEM when nothing could
 * be queued, or -ECANCELED once rn_callback_shutdown was called for loop
 * (done is then not called). */
int rn_callback_put(uv_loop_t *loop, const rn_callback_policy *pol, const char *url,
                    const char *body, size_t len, rn_callback_done done, void *ud);

/* Cancel every pending callback of loop: each gets done(-ECANCELED) and its
 * handles are closed, so the loop can then be run to its end and closed.
 * After this, rn_callback_put on loop refuses with -ECANCELED. */
void rn_callback_shutdown(uv_loop_t *loop);

/* Tests only: the per-try timeout and the first backoff (then doubled), in
 * milliseconds, for every later callback (defaults 5000 and 1000). */
void rn_callback_set_timing(unsigned per_try_ms, unsigned first_backoff_ms);

#endif
