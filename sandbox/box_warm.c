/* Sandboxes built ahead and waiting for their program (sandbox.warm), keyed
 * by the run's shape; and the pool of child stacks. */
#include "box_parent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void box_shape_of(const rn_box_options *opts, box_shape *s)
{
    unsigned pids = opts->pids ? opts->pids : 64;
    memset(s, 0, sizeof(*s));
    s->mem = opts->memory_bytes ? opts->memory_bytes : 256 * MIB;
    s->tmp = opts->tmp_bytes ? opts->tmp_bytes : 64 * MIB;
    /* pids counts the program's processes: the run's init is one more. */
    s->pids_all = pids < UINT_MAX ? pids + 1 : pids;
    s->network = opts->network;
    s->stdin_null = opts->stdin_null;
    s->binds = opts->binds;
    s->nbinds = opts->nbinds;
}

/* Equal strings, or both NULL. */
static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Whether runs of shapes a and b can use the same warm box. */
static bool shape_eq(const box_shape *a, const box_shape *b)
{
    if (a->mem != b->mem || a->tmp != b->tmp || a->pids_all != b->pids_all ||
        a->network != b->network || a->stdin_null != b->stdin_null || a->nbinds != b->nbinds)
        return false;
    for (size_t i = 0; i < a->nbinds; i++) {
        const rn_box_bind *x = &a->binds[i], *y = &b->binds[i];
        if (!str_eq(x->src, y->src) || !str_eq(x->dst, y->dst) || x->writable != y->writable ||
            x->optional != y->optional)
            return false;
    }
    return true;
}

void box_shape_free(box_shape *s)
{
    if (!s->owned)
        return;
    rn_box_bind *b = (rn_box_bind *)s->binds;
    for (size_t i = 0; i < s->nbinds; i++) {
        free((char *)b[i].src);
        free((char *)b[i].dst);
    }
    free(b);
    s->binds = NULL;
    s->nbinds = 0;
    s->owned = false;
}

/* Keep copies of the binds: a warm box outlives the options it was made
 * from. */
int box_shape_own(box_shape *s)
{
    rn_box_bind *b = s->nbinds ? calloc(s->nbinds, sizeof(*b)) : NULL;
    if (s->nbinds && !b)
        return -ENOMEM;
    for (size_t i = 0; i < s->nbinds; i++) {
        b[i] = s->binds[i];
        b[i].src = s->binds[i].src ? strdup(s->binds[i].src) : NULL;
        b[i].dst = s->binds[i].dst ? strdup(s->binds[i].dst) : NULL;
        if ((s->binds[i].src && !b[i].src) || (s->binds[i].dst && !b[i].dst)) {
            s->binds = b;
            s->owned = true;
            box_shape_free(s);
            return -ENOMEM;
        }
    }
    s->binds = b;
    s->owned = true;
    return 0;
}

/* A box can be made warm when its child shares our memory (so the run's
 * part can be handed over after the clone) and /work is a tmpfs of its
 * own. */
bool box_warm_eligible(const rn_box_context *ctx, const rn_box_options *opts)
{
    return ctx->warm_max && ctx->init_fd >= 0 && rn_child_has_clone3() && !opts->workdir;
}

void *box_stack_get(rn_box_context *ctx)
{
    if (ctx->nstacks)
        return ctx->stacks[--ctx->nstacks];
    void *s = mmap(NULL, RN_BOX_CHILD_STACK + 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (s == MAP_FAILED)
        return NULL;
    mprotect(s, 4096, PROT_NONE); /* a guard page below it */
    return s;
}

/* Stacks are kept for the next runs: unmapping one costs a TLB flush on
 * every CPU our threads ran on. */
void box_stack_put(rn_box_context *ctx, void *s)
{
    if (ctx->nstacks < sizeof(ctx->stacks) / sizeof(ctx->stacks[0]))
        ctx->stacks[ctx->nstacks++] = s;
    else
        munmap(s, RN_BOX_CHILD_STACK + 4096);
}

/* Take the i-th warm box out of the pool (oldest first). */
static rn_box *warm_remove(rn_box_context *ctx, unsigned i)
{
    rn_box *box = ctx->warm[i];
    memmove(&ctx->warm[i], &ctx->warm[i + 1], (ctx->nwarm - i - 1) * sizeof(ctx->warm[0]));
    ctx->nwarm--;
    return box;
}

/* A warm box of this shape whose child is still waiting, or NULL. */
rn_box *box_warm_take(rn_box_context *ctx, const box_shape *s)
{
    for (unsigned i = 0; i < ctx->nwarm; i++) {
        if (!shape_eq(&ctx->warm[i]->shape, s))
            continue;
        rn_box *box = warm_remove(ctx, i);
        struct pollfd p[2] = {{box->pidfd, POLLIN, 0}, {box->errpipe, POLLIN, 0}};
        if (poll(p, 2, 0) == 0)
            return box;
        /* It failed or was killed while it waited: a fresh one. */
        rn_box_free(box);
        i = (unsigned)-1;
    }
    return NULL;
}

int rn_box_warm(rn_box_context *ctx, const rn_box_options *opts)
{
    int r = box_check_options(opts, false);
    if (r < 0)
        return r;
    if (!box_warm_eligible(ctx, opts))
        return 0;
    box_shape s;
    box_shape_of(opts, &s);
    unsigned same = 0;
    for (unsigned i = 0; i < ctx->nwarm; i++)
        same += shape_eq(&ctx->warm[i]->shape, &s);
    if (same >= ctx->warm_max)
        return 0;
    if (ctx->nwarm == ctx->warm_max) { /* the oldest of another shape makes room */
        for (unsigned i = 0; i < ctx->nwarm; i++) {
            if (shape_eq(&ctx->warm[i]->shape, &s))
                continue;
            rn_box_free(warm_remove(ctx, i));
            break;
        }
    }
    rn_box *box = box_new(ctx);
    if (!box)
        return -ENOMEM;
    box->shape = s;
    if ((r = box_shape_own(&box->shape)) < 0 || (r = box_begin(box, opts, false)) < 0) {
        box_discard(box);
        return r;
    }
    if (box->pstage) { /* the child is gone already */
        r = box->perr ? -box->perr : -EIO;
        rn_box_free(box);
        return r;
    }
    ctx->warm[ctx->nwarm++] = box;
    return 1;
}

unsigned rn_box_warm_count(const rn_box_context *ctx)
{
    return ctx->nwarm;
}
