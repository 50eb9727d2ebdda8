/* Spec files (rn_spec_parse), and what a parsed spec is then used for:
 * inline wrapping with its import regex and argv expansion. */
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "specs.h"

/* glibc's regcomp takes exponential time and memory on stacked
 * quantifiers ("a+++++"); import_regex comes from the operator's spec
 * files, not from clients, so such inputs are skipped (see docs/faults.md). */
static bool stacked_quantifiers(const uint8_t *data, size_t size)
{
    for (size_t i = 1; i < size; i++)
        if (strchr("+*?}", data[i]) && data[i] && strchr("+*?}", data[i - 1]) && data[i - 1])
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (stacked_quantifiers(data, size))
        return 0;
    rn_spec *spec = NULL;
    char err[256];
    int r = rn_spec_parse((const char *)data, size, &spec, err, sizeof(err));
    if (r < 0) {
        if (spec || !memchr(err, 0, sizeof(err)))
            abort();
        return 0;
    }
    static const char code[] = "import os\nfrom x import y\nprint(1)\n$${CODE}";
    char *out = NULL;
    size_t outlen = 0;
    if (rn_spec_wrap_inline(spec, code, sizeof(code) - 1, &out, &outlen) == 0) {
        if (out[outlen] != 0)
            abort();
        free(out);
    }
    static const char *const args[] = {"a", "{file}", "--x=1"};
    char **argv = NULL;
    if (spec->run && rn_spec_expand_argv(spec, spec->run, args, 3, &argv) == 0)
        rn_argv_free(argv);
    if (spec->compile && rn_spec_expand_argv(spec, spec->compile, args, 0, &argv) == 0)
        rn_argv_free(argv);
    rn_spec_free(spec);
    return 0;
}
