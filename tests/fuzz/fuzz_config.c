/* The configuration file (rn_config_load_text) and the envelope sections
 * it carries, as each envelope's init validates them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_app();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    rn_config cfg;
    rn_config_defaults(&cfg, "/nonexistent/runnel-fuzz/specs");
    char err[512];
    int r = rn_config_load_text(&cfg, "fuzz.json", text, err, sizeof(err));
    if (r < 0 && !memchr(err, 0, sizeof(err)))
        abort();
    if (r == 0) {
        const rn_envelope *const envs[] = {&rn_env_linkis, &rn_env_zeppelin, &rn_env_lenses};
        for (size_t i = 0; i < 3; i++) {
            const cJSON *sec = rn_config_section(&cfg, envs[i]->name);
            if (sec && envs[i]->init(sec, err, sizeof(err)) != 0 && !memchr(err, 0, sizeof(err)))
                abort();
        }
        rn_config copy;
        if (rn_config_copy(&copy, &cfg) == 0)
            rn_config_free(&copy);
    }
    rn_config_free(&cfg);
    free(text);
    return 0;
}
