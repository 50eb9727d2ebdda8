/* The store's schema as data: every migration step, in version order. A
 * database records the steps it has in its schema_version table; opening
 * applies the missing ones, each in its own transaction. Steps are never
 * edited once released: a change is a new step. */
#ifndef RUNNEL_STORE_SCHEMA_H
#define RUNNEL_STORE_SCHEMA_H

#include <stddef.h>

typedef struct {
    int version;             /* 1, 2, ... without gaps */
    const char *description; /* one line, kept in schema_version */
    const char *sqlite;      /* the step's SQL for SQLite (statements separated by ';') */
    const char *postgresql;  /* the same step for PostgreSQL (only its types differ) */
} rn_store_migration;

/* The steps, oldest first, and how many there are. */
extern const rn_store_migration rn_store_migrations[];
extern const size_t rn_store_nmigrations;

#endif
