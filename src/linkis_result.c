/* Result sets of a Linkis task: capture and conversion (linkis_result.h). */
#include "linkis_result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linkis_int.h"

void lk_capture_init(lk_capture *c, uint64_t max, bool table)
{
    memset(c, 0, sizeof(*c));
    rn_jbuf_init(&c->out, 0);
    c->max = max;
    c->table = table;
}

void lk_capture_feed(lk_capture *c, const char *data, size_t len)
{
    if (c->cut)
        return;
    if (c->out.len + len > c->max) {
        len = (size_t)(c->max - c->out.len);
        c->cut = true;
    }
    rn_jbuf_raw(&c->out, data, len);
}

void lk_capture_free(lk_capture *c)
{
    rn_jbuf_free(&c->out);
}

void lk_rsets_free(lk_rset *sets, size_t n)
{
    for (size_t i = 0; sets && i < n; i++) {
        free(sets[i].metadata);
        free(sets[i].content);
    }
    free(sets);
}

/* Append a set to the array. */
static lk_rset *add_set(lk_rset **sets, size_t *n, int type)
{
    lk_rset *ns = realloc(*sets, (*n + 1) * sizeof(*ns));
    if (!ns)
        return NULL;
    *sets = ns;
    lk_rset *s = &ns[(*n)++];
    memset(s, 0, sizeof(*s));
    s->type = type;
    return s;
}

static int text_set(lk_capture *c, lk_rset **sets, size_t *n)
{
    rn_jbuf *o = &c->out;
    if (!o->len && !c->cut)
        return 0;
    if (o->len && o->data[o->len - 1] != '\n')
        rn_jbuf_raw(o, "\n", 1);
    if (c->cut)
        rn_jbuf_printf(o, "[runnel: the result was cut at %llu bytes (linkis.result_max_bytes)]\n",
                       (unsigned long long)c->max);
    if (o->oom)
        return -ENOMEM;
    lk_rset *s = add_set(sets, n, LK_RSET_TEXT);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < o->len; i++)
        s->records += o->data[i] == '\n';
    s->truncated = c->cut;
    s->len = o->len;
    s->content = o->data; /* taken */
    memset(o, 0, sizeof(*o));
    return 0;
}

/* A table cell as text (NULL for null). */
static char *cell_text(const cJSON *v)
{
    char buf[64];
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            snprintf(buf, sizeof(buf), "%.0f", d);
        else
            snprintf(buf, sizeof(buf), "%.17g", d);
        return strdup(buf);
    }
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    return NULL;
}

typedef struct {
    lk_rset *set;
    rn_jbuf rows;
    cJSON *meta; /* array of {columnName, comment, dataType} */
    int *kind;   /* per column: 0 null so far, 1 bigint, 2 double, 3 string */
    size_t ncols;
} table_build;

static const char *kind_name(int k)
{
    return k == 1 ? "bigint" : k == 2 ? "double" : "string";
}

static int table_start(table_build *t, const cJSON *row)
{
    t->ncols = (size_t)cJSON_GetArraySize(row);
    t->meta = cJSON_CreateArray();
    t->kind = calloc(t->ncols ? t->ncols : 1, sizeof(int));
    rn_jbuf_init(&t->rows, 0);
    if (!t->meta || !t->kind)
        return -ENOMEM;
    const cJSON *col;
    cJSON_ArrayForEach(col, row)
    {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(t->meta, m) ||
            !cJSON_AddStringToObject(m, "columnName", col->string ? col->string : "") ||
            !cJSON_AddStringToObject(m, "comment", "NULL") ||
            !cJSON_AddStringToObject(m, "dataType", "string"))
            return -ENOMEM;
    }
    return 0;
}

static void table_row(table_build *t, const cJSON *row)
{
    rn_jbuf_str(&t->rows, "[");
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, row)
    {
        if (i >= t->ncols)
            break;
        int k = cJSON_IsNull(v)     ? 0
                : cJSON_IsNumber(v) ? (v->valuedouble == floor(v->valuedouble) ? 1 : 2)
                                    : 3;
        if (k > t->kind[i])
            t->kind[i] = k;
        char *s = cell_text(v);
        if (i)
            rn_jbuf_str(&t->rows, ",");
        if (s)
            lk_jstr_safe(&t->rows, s);
        else
            rn_jbuf_str(&t->rows, "null");
        free(s);
        i++;
    }
    for (; i < t->ncols; i++)
        rn_jbuf_str(&t->rows, i ? ",null" : "null");
    rn_jbuf_str(&t->rows, "]\n");
    t->set->records++;
}

static int table_end(table_build *t, bool cut)
{
    int r = 0;
    if (!t->set)
        return 0;
    size_t i = 0;
    cJSON *m;
    cJSON_ArrayForEach(m, t->meta)
    {
        cJSON_ReplaceItemInObjectCaseSensitive(m, "dataType",
                                               cJSON_CreateString(kind_name(t->kind[i])));
        i++;
    }
    t->set->metadata = cJSON_PrintUnformatted(t->meta);
    if (!t->set->metadata || t->rows.oom)
        r = -ENOMEM;
    t->set->truncated = cut;
    t->set->len = t->rows.len;
    t->set->content = t->rows.data ? t->rows.data : strdup("");
    if (!t->set->content)
        r = -ENOMEM;
    memset(&t->rows, 0, sizeof(t->rows));
    cJSON_Delete(t->meta);
    free(t->kind);
    memset(t, 0, sizeof(*t));
    return r;
}

/* sqlite3 -json: "[{row}," ... "{row}]" — one row per line. */
static int table_sets(lk_capture *c, lk_rset **sets, size_t *n)
{
    table_build t;
    memset(&t, 0, sizeof(t));
    int r = 0;
    rn_jbuf_raw(&c->out, "", 0);
    const char *p = c->out.data, *end = p ? p + c->out.len : NULL;
    while (p && p < end && r == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a partial last line (cut): dropped */
        const char *a = p, *b = nl;
        p = nl + 1;
        bool first = *a == '[', last = b > a && b[-1] == ']';
        if (first)
            a++;
        if (b > a && (b[-1] == ',' || b[-1] == ']'))
            b--;
        cJSON *row = cJSON_ParseWithLength(a, (size_t)(b - a));
        if (cJSON_IsObject(row)) {
            if (first || !t.set) {
                r = table_end(&t, false);
                if (r == 0 && !(t.set = add_set(sets, n, LK_RSET_TABLE)))
                    r = -ENOMEM;
                if (r == 0)
                    r = table_start(&t, row);
            }
            if (r == 0)
                table_row(&t, row);
        }
        cJSON_Delete(row);
        if (last && r == 0)
            r = table_end(&t, false);
    }
    if (t.set) {
        int r2 = table_end(&t, c->cut);
        r = r ? r : r2;
    } else if (c->cut && *n) {
        (*sets)[*n - 1].truncated = true;
    }
    return r;
}

int lk_capture_finish(lk_capture *c, lk_rset **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int r = c->table ? table_sets(c, out, n) : text_set(c, out, n);
    if (r < 0) {
        lk_rsets_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    rn_jbuf_free(&c->out);
    rn_jbuf_init(&c->out, 0);
    return r;
}

uint64_t lk_rset_write_rows(rn_jbuf *b, int type, const char *content, size_t len, uint64_t from,
                            uint64_t count, const char *null_value)
{
    uint64_t rec = 0, written = 0;
    const char *p = content, *end = content + len;
    rn_jbuf_str(b, "[");
    while (p < end && written < count) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (rec++ >= from) {
            if (written++)
                rn_jbuf_str(b, ",");
            if (type == LK_RSET_TEXT) {
                rn_jbuf_str(b, "[");
                rn_jbuf_jstr_safe(b, p, (size_t)(e - p));
                rn_jbuf_str(b, "]");
            } else {
                cJSON *row = cJSON_ParseWithLength(p, (size_t)(e - p));
                const cJSON *v;
                rn_jbuf_str(b, "[");
                size_t i = 0;
                cJSON_ArrayForEach(v, row)
                {
                    if (i++)
                        rn_jbuf_str(b, ",");
                    lk_jstr_safe(b, cJSON_IsString(v) ? v->valuestring : null_value);
                }
                rn_jbuf_str(b, "]");
                cJSON_Delete(row);
            }
        }
        p = e + 1;
    }
    rn_jbuf_str(b, "]");
    return written;
}
