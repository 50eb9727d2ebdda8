/* Remove a directory tree without ever following a symlink. */
#ifndef RUNNEL_RMTREE_H
#define RUNNEL_RMTREE_H

/* Remove path and everything below it. Symlinks are unlinked, never
 * followed; mount points of other file systems are not descended into.
 * Returns 0, or the first negative errno met (removal goes on past it). */
int rn_rmtree(const char *path);

/* The same, relative to an open directory fd. */
int rn_rmtree_at(int dirfd, const char *name);

#endif
