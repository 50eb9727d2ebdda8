/* The compile cache's key for one compile stage: a hash of everything that
 * can change what the stage builds (docs/sandbox.md lists it). */
#ifndef RUNNEL_COMPILEKEY_H
#define RUNNEL_COMPILEKEY_H

#include <stddef.h>

#include "specs.h"

/* The key of compiling code (the spec's source file) with spec, as argv
 * (the expanded compile argv) and envp (the compile stage's whole
 * environment) run it: 64 hex chars + NUL into key. Besides those it covers
 * every field of the spec, the toolchain version detected at load and the
 * identity (device, inode, size, modification and change times) of every
 * host file the compile and version argv name and of every mount source,
 * looked up now. */
void rn_compile_key(const rn_spec *spec, char *const *argv, char *const *envp, const char *code,
                    size_t code_len, char key[65]);

#endif
