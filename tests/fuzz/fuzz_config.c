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
    if (rn_config_defaults(&cfg, "/nonexistent/runnel-fuzz/specs") < 0)
        abort();
    char err[512];
    int r = rn_config_load_text(&cfg, "fuzz.json", text, err, sizeof(err));
    if (r < 0 && !memchr(err, 0, sizeof(err)))
        abort();
    if (r == 0) {
        /* Each envelope's init checks what its key table cannot. */
        fz_app_t *app = fz_app();
        void *states[RN_ENVELOPES_MAX];
        if (rn_envelopes_start(app->host, &cfg, states, err, sizeof(err)) == 0)
            rn_envelopes_stop(states, rn_envelope_count());
        else if (!memchr(err, 0, sizeof(err)))
            abort();
        rn_config copy;
        if (rn_config_copy(&copy, &cfg) == 0)
            rn_config_free(&copy);
    }
    rn_config_free(&cfg);
    free(text);
    return 0;
}
