/* The Lenses SQL text the client sends, as runnel-sql handles it: the
 * tokenizer, statement splitting, the _key/_value/_meta rewrite and the
 * select-list position. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lenses_sqltext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *sql = (const char *)data;
    ls_tok *toks = NULL;
    size_t n = 0, bad = 0;
    if (ls_tokenize(sql, size, &toks, &n, &bad) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (toks[i].start > size || toks[i].len > size - toks[i].start)
                abort();
            char buf[32];
            if (toks[i].type == LS_TOK_ID || toks[i].type == LS_TOK_QID)
                ls_ident(sql, &toks[i], buf, sizeof(buf));
        }
    } else if (bad > size) {
        abort();
    }
    free(toks);
    size_t starts[8], lens[8], ns = 0;
    if (ls_split(sql, size, starts, lens, 8, &ns) == 0) {
        if (ns > 8)
            abort();
        for (size_t i = 0; i < ns; i++) {
            if (starts[i] > size || lens[i] > size - starts[i])
                abort();
            char *out = NULL;
            size_t outlen = 0;
            ls_alias *al = NULL;
            size_t nal = 0;
            if (ls_rewrite(sql + starts[i], lens[i], &out, &outlen, &al, &nal) == 0) {
                if (out[outlen] != 0)
                    abort();
                long pos = ls_select_list_pos(out, outlen);
                if (pos > (long)outlen)
                    abort();
                free(out);
                ls_aliases_free(al, nal);
            }
        }
    }
    return 0;
}
