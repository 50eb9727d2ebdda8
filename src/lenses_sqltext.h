/* SQL text handling for the Lenses SQL helper (runnel-sql): a small
 * tokenizer that knows SQLite's quoting and comments, statement splitting,
 * and the rewrite of Lenses' path expressions (_key.MMSI, _value.a.b,
 * _meta.offset) into SQLite. No SQLite dependency, so it is unit-testable. */
#ifndef RUNNEL_LENSES_SQLTEXT_H
#define RUNNEL_LENSES_SQLTEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    LS_TOK_ID,    /* bare identifier or keyword */
    LS_TOK_QID,   /* "quoted", `quoted` or [quoted] identifier */
    LS_TOK_STR,   /* 'string' */
    LS_TOK_NUM,   /* number */
    LS_TOK_PUNCT, /* one character of punctuation (or an operator's first) */
    LS_TOK_ERROR, /* an unterminated string, identifier or comment */
} ls_tok_type;

typedef struct {
    ls_tok_type type;
    size_t start, len; /* in the source text, quotes included */
} ls_tok;

/* Tokenize sql[0..len) (comments and white space dropped) into a malloc'd
 * array; -ENOMEM, or -EINVAL with *bad set on an unterminated token. */
int ls_tokenize(const char *sql, size_t len, ls_tok **out, size_t *n, size_t *bad);

/* Split at top-level ';' into at most max statements (empty ones skipped);
 * -E2BIG when there are more, -EINVAL on a tokenizer error. */
int ls_split(const char *sql, size_t len, size_t *starts, size_t *lens, size_t max, size_t *n);

/* The name a result column whose SQLite name is expr should have on the
 * wire (set by ls_rewrite), or NULL. */
typedef struct {
    char *expr;
    char *name;
} ls_alias;

/* Rewrite one statement: "[q.]_key.a.b" and "[q.]_value.a" become
 * json_extract("_key",'$.a.b') (named "b" on the wire through *aliases),
 * "[q.]_meta.f" becomes "_meta_f". *out is malloc'd and NUL-terminated. */
int ls_rewrite(const char *sql, size_t len, char **out, size_t *outlen, ls_alias **aliases,
               size_t *naliases);

/* Free what ls_rewrite returned in aliases. */
void ls_aliases_free(ls_alias *aliases, size_t n);

/* Offset just past the first top-level SELECT keyword (and a following
 * ALL) where extra result columns may be inserted; -1 when there is none or
 * the select is DISTINCT. */
long ls_select_list_pos(const char *sql, size_t len);

/* Copy identifier token t of sql into buf unquoted (NUL-terminated); false
 * when it does not fit. */
bool ls_ident(const char *sql, const ls_tok *t, char *buf, size_t size);

#endif
