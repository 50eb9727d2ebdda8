/* The store's migration steps (see store_schema.h). Types are written the
 * way both SQLite and PostgreSQL read them (BIGINT, TEXT, DOUBLE
 * PRECISION); a step is one macro taking the bytes type, BLOB on SQLite
 * and BYTEA on PostgreSQL, so both backends run the same text. */
#include "store_schema.h"

#define ST_V1(BYTES)                                                                               \
    "CREATE TABLE linkis_task ("                                                                   \
    " task_id BIGINT PRIMARY KEY,"                                                                 \
    " exec_id TEXT NOT NULL UNIQUE,"                                                               \
    " instance TEXT NOT NULL,"                                                                     \
    " um_user TEXT NOT NULL,"                                                                      \
    " execute_user TEXT NOT NULL,"                                                                 \
    " engine_type TEXT NOT NULL,"                                                                  \
    " run_type TEXT NOT NULL,"                                                                     \
    " creator TEXT NOT NULL,"                                                                      \
    " language TEXT NOT NULL,"                                                                     \
    " code TEXT NOT NULL,"                                                                         \
    " status TEXT NOT NULL,"                                                                       \
    " finished BIGINT NOT NULL DEFAULT 0,"                                                         \
    " nstages BIGINT NOT NULL,"                                                                    \
    " stage BIGINT NOT NULL,"                                                                      \
    " err_code BIGINT,"                                                                            \
    " err_desc TEXT,"                                                                              \
    " created_ms BIGINT NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL,"                                                                 \
    " cost_ms BIGINT NOT NULL DEFAULT 0,"                                                          \
    " result TEXT,"                                                                                \
    " labels TEXT,"                                                                                \
    " params TEXT,"                                                                                \
    " source TEXT,"                                                                                \
    " log_lines BIGINT NOT NULL DEFAULT 0,"                                                        \
    " result_sets BIGINT NOT NULL DEFAULT 0);"                                                     \
    "CREATE INDEX linkis_task_user ON linkis_task (um_user, task_id);"                             \
    "CREATE INDEX linkis_task_finished ON linkis_task (finished, updated_ms);"                     \
    "CREATE TABLE linkis_log ("                                                                    \
    " task_id BIGINT NOT NULL REFERENCES linkis_task (task_id) ON DELETE CASCADE,"                 \
    " line BIGINT NOT NULL,"                                                                       \
    " level BIGINT NOT NULL,"                                                                      \
    " text " BYTES " NOT NULL,"                                                                    \
    " PRIMARY KEY (task_id, line));"                                                               \
    "CREATE TABLE linkis_result ("                                                                 \
    " task_id BIGINT NOT NULL REFERENCES linkis_task (task_id) ON DELETE CASCADE,"                 \
    " idx BIGINT NOT NULL,"                                                                        \
    " type TEXT NOT NULL,"                                                                         \
    " metadata TEXT,"                                                                              \
    " records BIGINT NOT NULL,"                                                                    \
    " bytes BIGINT NOT NULL,"                                                                      \
    " truncated BIGINT NOT NULL,"                                                                  \
    " content " BYTES " NOT NULL,"                                                                 \
    " PRIMARY KEY (task_id, idx));"

/* Zeppelin notes as documents and Jobe's uploaded files, so that every node
 * sharing the store answers them. */
#define ST_V2(BYTES)                                                                               \
    "CREATE TABLE zeppelin_note ("                                                                 \
    " note_id TEXT PRIMARY KEY,"                                                                   \
    " path TEXT NOT NULL,"                                                                         \
    " content " BYTES " NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL);"                                                                \
    "CREATE TABLE jobe_file ("                                                                     \
    " file_id TEXT PRIMARY KEY,"                                                                   \
    " content " BYTES " NOT NULL,"                                                                 \
    " created_ms BIGINT NOT NULL);"

/* Cluster nodes with their heartbeats (cluster.h), and id blocks that keep
 * ids unique over the nodes. */
#define ST_V3                                                                                      \
    "CREATE TABLE nodes ("                                                                         \
    " node_id TEXT PRIMARY KEY,"                                                                   \
    " addr TEXT NOT NULL,"                                                                         \
    " started_ms BIGINT NOT NULL,"                                                                 \
    " heartbeat_ms BIGINT NOT NULL,"                                                               \
    " state TEXT NOT NULL,"                                                                        \
    " draining BIGINT NOT NULL DEFAULT 0,"                                                         \
    " reaped_by TEXT,"                                                                             \
    " reaped_ms BIGINT);"                                                                          \
    "CREATE TABLE id_blocks ("                                                                     \
    " kind TEXT PRIMARY KEY,"                                                                      \
    " next BIGINT NOT NULL);"

/* Judge0's submissions: the request and its outcome as one JSON document. */
#define ST_JUDGE0                                                                                  \
    "CREATE TABLE judge0_submission ("                                                             \
    " token TEXT PRIMARY KEY,"                                                                     \
    " um_user TEXT NOT NULL,"                                                                      \
    " status_id BIGINT NOT NULL,"                                                                  \
    " finished BIGINT NOT NULL DEFAULT 0,"                                                         \
    " requeued BIGINT NOT NULL DEFAULT 0,"                                                         \
    " created_ms BIGINT NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL,"                                                                 \
    " data TEXT NOT NULL);"                                                                        \
    "CREATE INDEX judge0_submission_created ON judge0_submission (created_ms);"                    \
    "CREATE INDEX judge0_submission_finished ON judge0_submission (finished, updated_ms);"

/* The node that holds a Judge0 submission ('' on a single server): a node
 * re-queues only its own at start, and the node that claims a lost one
 * takes over its unfinished ones. */
#define ST_JUDGE0_NODE                                                                             \
    "ALTER TABLE judge0_submission ADD COLUMN node_id TEXT NOT NULL DEFAULT '';"                   \
    "CREATE INDEX judge0_submission_node ON judge0_submission (node_id, finished);"

const rn_store_migration rn_store_migrations[] = {
    {1, "Linkis tasks, their log lines and result sets", ST_V1("BLOB"), ST_V1("BYTEA")},
    {2, "Zeppelin notes and Jobe files", ST_V2("BLOB"), ST_V2("BYTEA")},
    {3, "cluster nodes and their heartbeats, and cluster-wide id blocks", ST_V3, ST_V3},
    {4, "Judge0 submissions", ST_JUDGE0, ST_JUDGE0},
    {5, "the node holding each Judge0 submission", ST_JUDGE0_NODE, ST_JUDGE0_NODE},
};

const size_t rn_store_nmigrations = sizeof(rn_store_migrations) / sizeof(rn_store_migrations[0]);
