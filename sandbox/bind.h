/* One bind mount into a sandbox: the one sandbox type the language specs
 * and the job requests above the sandbox carry (box.h uses it as is). */
#ifndef RUNNEL_SANDBOX_BIND_H
#define RUNNEL_SANDBOX_BIND_H

#include <stdbool.h>

typedef struct {
    const char *src; /* host path */
    const char *dst; /* path inside; NULL means same as src */
    bool writable;   /* default read-only */
    bool optional;   /* skip silently when src does not exist */
} rn_box_bind;

#endif
