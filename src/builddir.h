/* Build directories: where a compile stage writes /build.
 *
 * As root a build directory is a tmpfs of its own, mounted on a fresh
 * directory, so a compile can write no more than its size (and inode
 * count) to the host whatever it does; the compile stage's memory limit
 * counts its pages too. Where this process may not mount (rootless), it is
 * a plain directory and only the copy into the cache is bounded.
 */
#ifndef RUNNEL_BUILDDIR_H
#define RUNNEL_BUILDDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Make parent/<prefix>XXXXXX (0700) and mount a tmpfs of `bytes` bytes
 * (bytes / 1024 inodes, at least 4096) on it when this process may; its
 * path goes into path and *bounded says whether the tmpfs is there. */
int rn_builddir_make(const char *parent, const char *prefix, uint64_t bytes, char *path,
                     size_t size, bool *bounded);

/* Whether a bounded build directory is full (no block or no inode left):
 * what a compile that failed there ran into. */
bool rn_builddir_full(const char *path);

/* Unmount path when it is a mount point, then remove what is left at any
 * depth. Blocking: the loop uses rn_builddir_remove_async. */
int rn_builddir_remove(const char *path);

/* rn_builddir_remove on the loop's thread pool (path is copied). */
void rn_builddir_remove_async(uv_loop_t *loop, const char *path);

#endif
