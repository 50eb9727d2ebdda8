/* Zeppelin's paragraph text parser (%interpreter(props) script) and the
 * interpreter table lookup. */
#include <stdint.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zeppelin_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sizes[] = {1, 2, 8, 64, 256};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char name[256 + 8];
        memset(name, 'x', sizeof(name));
        size_t script = (size_t)-1;
        int r = zp_text_parse((const char *)data, size, name, sizes[i], &script);
        for (size_t k = sizes[i]; k < sizeof(name); k++)
            if (name[k] != 'x')
                abort();
        if (r == 0) {
            if (script > size || !memchr(name, 0, sizes[i]))
                abort();
            for (char *c = name; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            zp_builtin_target(name);
        } else if (r != -EINVAL && r != -ENAMETOOLONG) {
            abort();
        }
    }
    return 0;
}
