/* Result sets of a Linkis task. While a job runs its stdout is captured
 * (bounded); at the end it becomes Linkis result sets: one text set ("1")
 * of the output lines, or for SQL runs one table set ("2") per query that
 * returned rows, read from sqlite3's JSON output (one row per line). A set
 * is stored as records, one per line: a text line, or a table row as a
 * JSON array of strings and nulls. */
#ifndef RUNNEL_LINKIS_RESULT_H
#define RUNNEL_LINKIS_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"

#define LK_RSET_TEXT  1
#define LK_RSET_TABLE 2

typedef struct {
    int type;       /* LK_RSET_TEXT or LK_RSET_TABLE */
    char *metadata; /* tables: the JSON array [{columnName, comment, dataType}] */
    char *content;  /* records, each ended by '\n' */
    size_t len;
    uint64_t records;
    bool truncated; /* the output went past the cap and was cut */
} lk_rset;

typedef struct {
    rn_jbuf out;
    uint64_t max;
    bool cut;
    bool table;
} lk_capture;

/* Start capturing at most max bytes; table = SQL JSON output. */
void lk_capture_init(lk_capture *c, uint64_t max, bool table);

/* Add program output (stdout). */
void lk_capture_feed(lk_capture *c, const char *data, size_t len);

/* Free what the capture holds. */
void lk_capture_free(lk_capture *c);

/* Turn the capture into result sets (*out malloc'd, *n of them; none when
 * the program wrote nothing). The capture is emptied. -ENOMEM on failure. */
int lk_capture_finish(lk_capture *c, lk_rset **out, size_t *n);

/* Free n sets. */
void lk_rsets_free(lk_rset *sets, size_t n);

/* Write records [from, from + count) of a set's content as Linkis'
 * fileContent rows: [line] for text, the row for tables with null written
 * as null_value. Returns the number of records written. */
uint64_t lk_rset_write_rows(rn_jbuf *b, int type, const char *content, size_t len, uint64_t from,
                            uint64_t count, const char *null_value);

#endif
