/* Runner: one sandboxed process driven by the libuv loop.
 *
 * It reads the box's stdout/stderr as they become readable and hands the
 * raw bytes on, feeds stdin, enforces the wall limit with a timer, and when
 * the run's init has exited it first drains both pipes to EOF, then reaps
 * and reports the result: output never arrives after the end.
 */
#ifndef RUNNEL_RUNNER_H
#define RUNNEL_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "../sandbox/box.h"

typedef struct rn_runner rn_runner;

typedef struct {
    /* Raw bytes from fd 1 or 2. */
    void (*on_output)(rn_runner *r, int fd, const char *data, size_t len, void *ud);
    /* The end; the runner frees itself after this returns. */
    void (*on_exit)(rn_runner *r, const rn_box_result *res, void *ud);
} rn_runner_callbacks;

/* Spawn opts in the sandbox and start watching it. */
int rn_runner_start(uv_loop_t *loop, rn_box_context *ctx, const rn_box_options *opts,
                    const rn_runner_callbacks *cb, void *ud, rn_runner **out);

/* Kill the run (first reason wins); on_exit follows. */
void rn_runner_kill(rn_runner *r, rn_box_reason why);

/* Stop or resume reading output (nests). */
void rn_runner_pause(rn_runner *r, bool pause);

/* Queue bytes for the program's stdin; -EPIPE once stdin is closed. */
int rn_runner_write(rn_runner *r, const char *data, size_t len);

/* Close stdin after the queued bytes are written. */
void rn_runner_close_stdin(rn_runner *r);

#endif
