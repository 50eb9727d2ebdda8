/* The migration runner both backends share (store_int.h): it creates the
 * schema_version table, reads the version the database has, and applies
 * the missing steps of store_schema.h, each in its own transaction,
 * through the backend's own calls. */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "store_int.h"
#include "store_schema.h"

/* Apply one step inside its own transaction; a failed step rolls back. */
static int apply_step(const st_migrator *mg, void *db, const rn_store_migration *m)
{
    int r = mg->run(db, mg->postgresql ? "BEGIN" : "BEGIN IMMEDIATE", NULL, 0);
    if (r < 0)
        return r;
    if ((r = mg->run(db, mg->postgresql ? m->postgresql : m->sqlite, NULL, 0)) < 0 ||
        (r = mg->record(db, m)) < 0) {
        mg->run(db, "ROLLBACK", NULL, 0);
        rn_log(RN_LOG_ERROR, "store.migration_failed", "version=%d", m->version);
        return r;
    }
    return mg->run(db, "COMMIT", NULL, 0);
}

int st_migrate(const st_migrator *mg, void *db, int *version)
{
    char buf[32];
    int r = mg->run(db,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version BIGINT PRIMARY KEY,"
                    " description TEXT NOT NULL,"
                    " applied_ms BIGINT NOT NULL)",
                    NULL, 0);
    if (r < 0 || (r = mg->run(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", buf,
                              sizeof(buf))) < 0)
        return r;
    int have = atoi(buf);
    int newest = rn_store_nmigrations ? rn_store_migrations[rn_store_nmigrations - 1].version : 0;
    if (have > newest) {
        rn_log(RN_LOG_ERROR, "store.schema_too_new", "schema=%d known=%d", have, newest);
        return -EPROTO;
    }
    for (size_t i = 0; i < rn_store_nmigrations; i++) {
        const rn_store_migration *m = &rn_store_migrations[i];
        if (m->version <= have)
            continue;
        if ((r = apply_step(mg, db, m)) < 0)
            return r;
        rn_log(RN_LOG_INFO, "store.migrated", "version=%d", m->version);
        have = m->version;
    }
    *version = have;
    return 0;
}
