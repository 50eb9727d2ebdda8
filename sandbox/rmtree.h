/* Walk and remove directory trees of any depth, by fd, never following a
 * symlink and never crossing into another file system. */
#ifndef RUNNEL_RMTREE_H
#define RUNNEL_RMTREE_H

#include <sys/stat.h>

/* What rn_walk_at calls back; any of them may be NULL. A callback returns 0
 * to go on or a negative errno to stop the whole walk with it. */
typedef struct {
    /* A non-directory entry (st from lstat) of the directory open as dirfd. */
    int (*file)(void *ud, int dirfd, const char *name, const struct stat *st);
    /* A directory about to be walked: name in dirfd, fd open on it (the
     * same inode as st). Return 1 to walk it, 0 to skip it. The top
     * directory comes here too, with the caller's dirfd and name. */
    int (*enter)(void *ud, int dirfd, const char *name, const struct stat *st, int fd);
    /* A directory whose entries have all been seen, as name in dirfd. */
    int (*leave)(void *ud, int dirfd, const char *name);
} rn_walk_ops;

/* Walk the tree at name in dirfd (a non-directory is one file call) depth
 * first, with one directory fd open at a time whatever the depth: the walk
 * climbs back by "..", checking each parent is the directory it came from.
 * A directory's entries are read in full before any callback on them, so
 * callbacks may remove entries. A directory that cannot be read is made
 * readable by its owner first (a program may chmod 0 its own). Directories
 * on another device are not entered (-EXDEV). Returns 0, a callback's
 * error, or the first error met (the walk goes on past those). */
int rn_walk_at(int dirfd, const char *name, const rn_walk_ops *ops, void *ud);

/* Remove path and everything below it, at any depth. Symlinks are
 * unlinked, never followed; mount points of other file systems are not
 * descended into. Returns 0, or the first negative errno met (removal goes
 * on past it). */
int rn_rmtree(const char *path);

/* The same, relative to an open directory fd. */
int rn_rmtree_at(int dirfd, const char *name);

#endif
