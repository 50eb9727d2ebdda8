#include "runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNNER_READ_CHUNK 65536
/* After the run's init is gone every writer of its pipes is gone too; this
 * bounds the drain should a pipe somehow stay open. */
#define RUNNER_DRAIN_GRACE_MS 2000
/* Bytes waiting for the program to read from its stdin. */
#define RUNNER_STDIN_MAX (4u << 20)

struct rn_runner {
    uv_loop_t *loop;
    rn_box *box;
    rn_runner_callbacks cb;
    void *ud;
    uv_poll_t poll_out, poll_err, poll_in, poll_pid, poll_rep;
    uv_timer_t timer;
    int handles;
    int pause;
    bool out_open, err_open, in_open, in_polling;
    bool exited, finished;
    bool have_res; /* the box's result, taken when its init reported */
    rn_box_result res;
    bool in_close_pending;
    char *inbuf;
    size_t inlen, inoff;
};

static void runner_handle_closed(uv_handle_t *h)
{
    rn_runner *r = h->data;
    if (--r->handles > 0)
        return;
    rn_box_free(r->box);
    free(r->inbuf);
    free(r);
}

static void runner_close_handle(rn_runner *r, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, runner_handle_closed);
    (void)r;
}

static void runner_close_stdin_now(rn_runner *r)
{
    if (!r->in_open)
        return;
    r->in_open = false;
    runner_close_handle(r, (uv_handle_t *)&r->poll_in);
    rn_box_close_stdin(r->box);
    free(r->inbuf);
    r->inbuf = NULL;
    r->inlen = r->inoff = 0;
}

static void runner_finish(rn_runner *r)
{
    rn_box_result res;
    if (r->finished)
        return;
    r->finished = true;
    int err = 0;
    if (r->have_res)
        res = r->res;
    else
        err = rn_box_reap(r->box, &res);
    if (err < 0) {
        /* The init is gone (the pidfd said so) but the reap failed: kill and
         * wait, so the result is never made up. */
        rn_box_kill(r->box, RN_BOX_KILLED);
        if (rn_box_wait(r->box, &res) < 0) {
            memset(&res, 0, sizeof(res));
            res.reason = RN_BOX_SETUP_FAILED;
            res.exit_code = -1;
            res.setup_errno = -err;
        }
    }
    runner_close_stdin_now(r);
    uv_timer_stop(&r->timer);
    runner_close_handle(r, (uv_handle_t *)&r->poll_out);
    runner_close_handle(r, (uv_handle_t *)&r->poll_err);
    runner_close_handle(r, (uv_handle_t *)&r->poll_pid);
    runner_close_handle(r, (uv_handle_t *)&r->poll_rep);
    runner_close_handle(r, (uv_handle_t *)&r->timer);
    r->cb.on_exit(r, &res, r->ud);
}

static void runner_maybe_finish(rn_runner *r)
{
    if (r->exited && !r->out_open && !r->err_open)
        runner_finish(r);
}

static void runner_read(rn_runner *r, int fd, uv_poll_t *p, bool *open, int which)
{
    char buf[RUNNER_READ_CHUNK];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        *open = false;
        uv_poll_stop(p);
        runner_maybe_finish(r);
        return;
    }
    r->cb.on_output(r, which, buf, (size_t)n, r->ud);
}

static void runner_on_out(uv_poll_t *p, int status, int events)
{
    rn_runner *r = p->data;
    (void)status;
    (void)events;
    if (r->out_open && !r->finished)
        runner_read(r, rn_box_stdout_fd(r->box), p, &r->out_open, 1);
}

static void runner_on_err(uv_poll_t *p, int status, int events)
{
    rn_runner *r = p->data;
    (void)status;
    (void)events;
    if (r->err_open && !r->finished)
        runner_read(r, rn_box_stderr_fd(r->box), p, &r->err_open, 2);
}

static void runner_on_timer(uv_timer_t *t)
{
    rn_runner *r = t->data;
    if (r->exited) {
        /* Drain grace ran out: stop waiting for EOF. */
        r->out_open = r->err_open = false;
        runner_finish(r);
        return;
    }
    /* The loop's clock is cached at the start of an iteration, so the timer
     * may fire a little before the run's own clock reaches the limit: the
     * limit is the box's wall time, never less. */
    uint64_t left = rn_box_wall_left_ms(r->box);
    if (left) {
        uv_timer_start(&r->timer, runner_on_timer, left, 0);
        return;
    }
    rn_box_kill(r->box, RN_BOX_TIMEOUT);
}

static void runner_exited(rn_runner *r)
{
    r->exited = true;
    uv_poll_stop(&r->poll_pid);
    uv_poll_stop(&r->poll_rep);
    uv_timer_stop(&r->timer);
    uv_timer_start(&r->timer, runner_on_timer, RUNNER_DRAIN_GRACE_MS, 0);
    runner_maybe_finish(r);
}

static void runner_on_pid(uv_poll_t *p, int status, int events)
{
    rn_runner *r = p->data;
    (void)status;
    (void)events;
    if (!r->exited)
        runner_exited(r);
}

/* The init reported the program's end (or went): the run is over as soon
 * as its output is drained, without waiting for the init's own exit. */
static void runner_on_report(uv_poll_t *p, int status, int events)
{
    rn_runner *r = p->data;
    (void)status;
    (void)events;
    if (r->exited || r->finished)
        return;
    int err = rn_box_reap(r->box, &r->res);
    if (err == 0) {
        r->have_res = true;
        runner_exited(r);
    } else if (err != -EAGAIN || rn_box_report_fd(r->box) < 0) {
        uv_poll_stop(p); /* EOF, or no telling: the pidfd tells the rest */
    }
}

static void runner_on_in(uv_poll_t *p, int status, int events)
{
    rn_runner *r = p->data;
    (void)events;
    if (!r->in_open)
        return;
    int fd = rn_box_stdin_fd(r->box);
    while (status == 0 && r->inoff < r->inlen) {
        ssize_t n = write(fd, r->inbuf + r->inoff, r->inlen - r->inoff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            runner_close_stdin_now(r); /* EPIPE: the program stopped reading */
            return;
        }
        r->inoff += (size_t)n;
    }
    r->inoff = r->inlen = 0;
    uv_poll_stop(p);
    r->in_polling = false;
    if (r->in_close_pending || status < 0)
        runner_close_stdin_now(r);
}

static void runner_update_reading(rn_runner *r)
{
    if (r->finished)
        return;
    if (r->pause > 0) {
        uv_poll_stop(&r->poll_out);
        uv_poll_stop(&r->poll_err);
        return;
    }
    if (r->out_open)
        uv_poll_start(&r->poll_out, UV_READABLE | UV_DISCONNECT, runner_on_out);
    if (r->err_open)
        uv_poll_start(&r->poll_err, UV_READABLE | UV_DISCONNECT, runner_on_err);
}

int rn_runner_start(uv_loop_t *loop, rn_box_context *ctx, const rn_box_options *opts,
                    const rn_runner_callbacks *cb, void *ud, rn_runner **out)
{
    rn_runner *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int err = rn_box_spawn(ctx, opts, &r->box);
    if (err < 0) {
        free(r);
        return err;
    }
    r->loop = loop;
    r->cb = *cb;
    r->ud = ud;
    r->out_open = r->err_open = true;
    uv_poll_init(loop, &r->poll_out, rn_box_stdout_fd(r->box));
    uv_poll_init(loop, &r->poll_err, rn_box_stderr_fd(r->box));
    uv_poll_init(loop, &r->poll_pid, rn_box_pidfd(r->box));
    uv_poll_init(loop, &r->poll_rep, rn_box_report_fd(r->box));
    uv_timer_init(loop, &r->timer);
    r->handles = 5;
    r->poll_out.data = r->poll_err.data = r->poll_pid.data = r->poll_rep.data = r->timer.data = r;
    if (rn_box_stdin_fd(r->box) >= 0) {
        uv_poll_init(loop, &r->poll_in, rn_box_stdin_fd(r->box));
        r->poll_in.data = r;
        r->handles++;
        r->in_open = true;
    }
    runner_update_reading(r);
    uv_poll_start(&r->poll_pid, UV_READABLE, runner_on_pid);
    uv_poll_start(&r->poll_rep, UV_READABLE, runner_on_report);
    uv_update_time(loop);
    uv_timer_start(&r->timer, runner_on_timer, rn_box_wall_left_ms(r->box), 0);
    *out = r;
    return 0;
}

void rn_runner_kill(rn_runner *r, rn_box_reason why)
{
    if (!r->exited)
        rn_box_kill(r->box, why);
}

int rn_runner_signal(rn_runner *r, int sig)
{
    return r->exited || r->have_res ? -ESRCH : rn_box_signal(r->box, sig);
}

void rn_runner_pause(rn_runner *r, bool pause)
{
    r->pause += pause ? 1 : -1;
    if (r->pause < 0)
        r->pause = 0;
    runner_update_reading(r);
}

int rn_runner_write(rn_runner *r, const char *data, size_t len)
{
    if (!r->in_open || r->in_close_pending)
        return -EPIPE;
    if (len == 0)
        return 0;
    if (r->inlen - r->inoff + len > RUNNER_STDIN_MAX)
        return -ENOBUFS;
    char *nb = realloc(r->inbuf, r->inlen + len);
    if (!nb)
        return -ENOMEM;
    memcpy(nb + r->inlen, data, len);
    r->inbuf = nb;
    r->inlen += len;
    if (!r->in_polling) {
        r->in_polling = true;
        uv_poll_start(&r->poll_in, UV_WRITABLE, runner_on_in);
    }
    return 0;
}

void rn_runner_close_stdin(rn_runner *r)
{
    if (!r->in_open)
        return;
    if (r->inoff < r->inlen)
        r->in_close_pending = true;
    else
        runner_close_stdin_now(r);
}
