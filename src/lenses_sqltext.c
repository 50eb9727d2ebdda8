/* Tokenizing, splitting and rewriting SQL text for runnel-sql. */
#include "lenses_sqltext.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool id_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool id_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

int ls_tokenize(const char *sql, size_t len, ls_tok **out, size_t *n, size_t *bad)
{
    size_t cap = 64, k = 0, i = 0;
    ls_tok *t = malloc(cap * sizeof(*t));
    if (!t)
        return -ENOMEM;
    while (i < len) {
        unsigned char c = (unsigned char)sql[i];
        if (isspace(c)) {
            i++;
            continue;
        }
        if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
            const char *e = NULL;
            for (size_t j = i + 2; j + 1 < len; j++) {
                if (sql[j] == '*' && sql[j + 1] == '/') {
                    e = sql + j + 2;
                    break;
                }
            }
            /* SQLite accepts a comment left open at the end */
            i = e ? (size_t)(e - sql) : len;
            continue;
        }
        ls_tok tok = {LS_TOK_PUNCT, i, 1};
        if (c == '\'' || c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : (char)c;
            size_t j = i + 1;
            bool done = false;
            while (j < len) {
                if (sql[j] == close) {
                    if (close != ']' && j + 1 < len && sql[j + 1] == close) {
                        j += 2;
                        continue;
                    }
                    done = true;
                    j++;
                    break;
                }
                j++;
            }
            if (!done) {
                *bad = i;
                free(t);
                return -EINVAL;
            }
            tok.type = c == '\'' ? LS_TOK_STR : LS_TOK_QID;
            tok.len = j - i;
        } else if (id_start(c)) {
            size_t j = i + 1;
            while (j < len && id_char((unsigned char)sql[j]))
                j++;
            tok.type = LS_TOK_ID;
            tok.len = j - i;
        } else if (isdigit(c) || (c == '.' && i + 1 < len && isdigit((unsigned char)sql[i + 1]))) {
            size_t j = i + 1;
            while (j < len &&
                   (isalnum((unsigned char)sql[j]) || sql[j] == '.' ||
                    ((sql[j] == '+' || sql[j] == '-') && (sql[j - 1] == 'e' || sql[j - 1] == 'E'))))
                j++;
            tok.type = LS_TOK_NUM;
            tok.len = j - i;
        }
        if (k == cap) {
            ls_tok *nt = realloc(t, cap * 2 * sizeof(*t));
            if (!nt) {
                free(t);
                return -ENOMEM;
            }
            t = nt;
            cap *= 2;
        }
        t[k++] = tok;
        i += tok.len;
    }
    *out = t;
    *n = k;
    return 0;
}

int ls_split(const char *sql, size_t len, size_t *starts, size_t *lens, size_t max, size_t *n)
{
    ls_tok *t;
    size_t nt, bad, k = 0, first = 0;
    int err = ls_tokenize(sql, len, &t, &nt, &bad);
    if (err < 0)
        return err;
    bool open = false;
    for (size_t i = 0; i <= nt; i++) {
        bool end = i == nt || (t[i].type == LS_TOK_PUNCT && sql[t[i].start] == ';');
        if (!end) {
            if (!open)
                first = t[i].start;
            open = true;
            continue;
        }
        if (!open)
            continue;
        if (k == max) {
            free(t);
            return -E2BIG;
        }
        size_t stop = i == nt ? len : t[i].start;
        starts[k] = first;
        lens[k] = stop - first;
        k++;
        open = false;
    }
    free(t);
    *n = k;
    return 0;
}

bool ls_ident(const char *sql, const ls_tok *t, char *buf, size_t size)
{
    const char *s = sql + t->start;
    size_t n = t->len, k = 0;
    if (t->type == LS_TOK_QID) {
        char close = s[0] == '[' ? ']' : s[0];
        for (size_t i = 1; i + 1 < n; i++) {
            if (k + 1 >= size)
                return false;
            buf[k++] = s[i];
            if (s[i] == close && close != ']')
                i++;
        }
    } else {
        if (n + 1 > size)
            return false;
        memcpy(buf, s, n);
        k = n;
    }
    buf[k] = 0;
    return true;
}

typedef struct {
    char *data;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* s as a double-quoted SQL identifier. */
static void sb_qid(sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            sb_add(b, "\"", 1);
        sb_add(b, s, 1);
    }
    sb_add(b, "\"", 1);
}

static bool is_id(const char *sql, const ls_tok *t, const char *word)
{
    return t->type == LS_TOK_ID && t->len == strlen(word) &&
           !strncasecmp(sql + t->start, word, t->len);
}

static bool is_punct(const char *sql, const ls_tok *t, char c)
{
    return t->type == LS_TOK_PUNCT && sql[t->start] == c;
}

static bool is_name(const ls_tok *t)
{
    return t->type == LS_TOK_ID || t->type == LS_TOK_QID;
}

static int add_alias(ls_alias **al, size_t *n, const char *expr, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*al)[i].expr, expr))
            return 0;
    ls_alias *na = realloc(*al, (*n + 1) * sizeof(**al));
    if (!na)
        return -ENOMEM;
    *al = na;
    na[*n].expr = strdup(expr);
    na[*n].name = strdup(name);
    if (!na[*n].expr || !na[*n].name) {
        free(na[*n].expr);
        free(na[*n].name);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

void ls_aliases_free(ls_alias *aliases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(aliases[i].expr);
        free(aliases[i].name);
    }
    free(aliases);
}

int ls_rewrite(const char *sql, size_t len, char **out, size_t *outlen, ls_alias **aliases,
               size_t *naliases)
{
    ls_tok *t;
    size_t nt, bad, copied = 0;
    sbuf b = {0};
    int err = ls_tokenize(sql, len, &t, &nt, &bad);
    *aliases = NULL;
    *naliases = 0;
    if (err < 0)
        return err;
    char seg[512], qual[512];
    for (size_t i = 0; i < nt; i++) {
        /* [qualifier .] root . name (. name)* with root _key, _value or _meta */
        size_t r = i, from = i;
        qual[0] = 0;
        if (is_name(&t[i]) && i + 2 < nt && is_punct(sql, &t[i + 1], '.') &&
            (is_id(sql, &t[i + 2], "_key") || is_id(sql, &t[i + 2], "_value") ||
             is_id(sql, &t[i + 2], "_meta")) &&
            !(i > 0 && is_punct(sql, &t[i - 1], '.'))) {
            if (!ls_ident(sql, &t[i], qual, sizeof(qual)))
                continue;
            r = i + 2;
        }
        if (!(is_id(sql, &t[r], "_key") || is_id(sql, &t[r], "_value") ||
              is_id(sql, &t[r], "_meta")))
            continue;
        if (r == i && i > 0 && is_punct(sql, &t[i - 1], '.'))
            continue;
        if (!(r + 2 < nt && is_punct(sql, &t[r + 1], '.') && is_name(&t[r + 2])))
            continue;
        /* A function call like _key.f(...) is not a path. */
        size_t end = r + 2;
        while (end + 2 < nt && is_punct(sql, &t[end + 1], '.') && is_name(&t[end + 2]))
            end += 2;
        if (end + 1 < nt && is_punct(sql, &t[end + 1], '('))
            continue;
        bool meta = is_id(sql, &t[r], "_meta");
        if (meta && end != r + 2)
            continue;
        sb_add(&b, sql + copied, t[from].start - copied);
        sbuf path = {0}, expr = {0};
        const char *last = NULL;
        if (meta) {
            if (!ls_ident(sql, &t[r + 2], seg, sizeof(seg)))
                goto skip;
            char col[600];
            snprintf(col, sizeof(col), "_meta_%s", seg);
            if (qual[0]) {
                sb_qid(&expr, qual);
                sb_str(&expr, ".");
            }
            sb_qid(&expr, col);
        } else {
            sb_str(&path, "$");
            for (size_t k = r + 2; k <= end; k += 2) {
                if (!ls_ident(sql, &t[k], seg, sizeof(seg)))
                    goto skip;
                bool plain = t[k].type == LS_TOK_ID;
                for (const char *p = seg; *p && plain; p++)
                    plain = isalnum((unsigned char)*p) || *p == '_';
                sb_str(&path, ".");
                if (!plain) {
                    if (strchr(seg, '"'))
                        goto skip;
                    sb_str(&path, "\"");
                    sb_str(&path, seg);
                    sb_str(&path, "\"");
                } else {
                    sb_str(&path, seg);
                }
            }
            last = seg;
            sb_str(&expr, "json_extract(");
            if (qual[0]) {
                sb_qid(&expr, qual);
                sb_str(&expr, ".");
            }
            sb_str(&expr, is_id(sql, &t[r], "_key") ? "\"_key\"" : "\"_value\"");
            sb_str(&expr, ",'");
            for (const char *p = path.data; p && *p; p++) {
                if (*p == '\'')
                    sb_add(&expr, "'", 1);
                sb_add(&expr, p, 1);
            }
            sb_str(&expr, "')");
        }
        if (path.oom || expr.oom) {
            free(path.data);
            free(expr.data);
            err = -ENOMEM;
            goto fail;
        }
        sb_add(&b, expr.data, expr.len);
        if (last && (err = add_alias(aliases, naliases, expr.data, last)) < 0) {
            free(path.data);
            free(expr.data);
            goto fail;
        }
        free(path.data);
        free(expr.data);
        copied = t[end].start + t[end].len;
        i = end;
        continue;
    skip:
        /* leave the text as it is; SQLite will say what is wrong */
        free(path.data);
        free(expr.data);
        sb_add(&b, sql + t[from].start, t[end].start + t[end].len - t[from].start);
        copied = t[end].start + t[end].len;
        i = end;
    }
    sb_add(&b, sql + copied, len - copied);
    if (b.oom) {
        err = -ENOMEM;
        goto fail;
    }
    free(t);
    *out = b.data;
    *outlen = b.len;
    return 0;
fail:
    free(t);
    free(b.data);
    ls_aliases_free(*aliases, *naliases);
    *aliases = NULL;
    *naliases = 0;
    return err;
}

long ls_select_list_pos(const char *sql, size_t len)
{
    ls_tok *t;
    size_t nt, bad;
    long pos = -1;
    if (ls_tokenize(sql, len, &t, &nt, &bad) < 0)
        return -1;
    int depth = 0;
    for (size_t i = 0; i < nt; i++) {
        if (is_punct(sql, &t[i], '('))
            depth++;
        else if (is_punct(sql, &t[i], ')'))
            depth--;
        else if (depth == 0 && is_id(sql, &t[i], "select")) {
            if (i + 1 < nt && is_id(sql, &t[i + 1], "distinct"))
                break;
            if (i + 1 < nt && is_id(sql, &t[i + 1], "all"))
                i++;
            pos = (long)(t[i].start + t[i].len);
            break;
        }
    }
    free(t);
    return pos;
}
