/* The registry: the only list of envelopes. A new envelope is its own
 * file(s) and one line here. Order is start order; routes do not depend on
 * it (the most specific path wins, overlaps are refused at start). */
#include "envelopes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

extern const rn_envelope rn_env_core;
extern const rn_envelope rn_env_cluster;
extern const rn_envelope rn_env_playground;
extern const rn_envelope rn_env_ranna;
extern const rn_envelope rn_env_linkis;
extern const rn_envelope rn_env_zeppelin;
extern const rn_envelope rn_env_lenses;
extern const rn_envelope rn_env_piston;
extern const rn_envelope rn_env_jobe;
extern const rn_envelope rn_env_judge0;

const rn_envelope *const rn_envelopes[] = {
    &rn_env_core,
    &rn_env_cluster,
    &rn_env_playground,
    &rn_env_ranna,
    &rn_env_linkis,
    &rn_env_zeppelin,
    &rn_env_lenses,
    &rn_env_piston,
    &rn_env_jobe,
    &rn_env_judge0,
    NULL,
};

size_t rn_envelope_count(void)
{
    size_t n = 0;
    while (rn_envelopes[n])
        n++;
    return n;
}

const rn_envelope *rn_envelope_find(const char *name)
{
    for (size_t i = 0; rn_envelopes[i]; i++)
        if (!strcmp(rn_envelopes[i]->name, name))
            return rn_envelopes[i];
    return NULL;
}

int rn_envelopes_start(rn_host *host, const rn_config *cfg, void **states, char *err, size_t size)
{
    size_t i;
    int r = 0;
    for (i = 0; rn_envelopes[i]; i++) {
        const rn_envelope *e = rn_envelopes[i];
        states[i] = NULL;
        if (!e->init)
            continue;
        char why[768] = "";
        r = e->init(host, rn_config_envelope(cfg, i), &states[i], why, sizeof(why));
        if (r) {
            snprintf(err, size, "%s: %s", e->name, why[0] ? why : "could not start");
            break;
        }
    }
    if (!r)
        r = rn_routes_check(rn_envelopes, states, err, size);
    if (r) {
        rn_envelopes_stop(states, i);
        return r < 0 ? r : -EINVAL;
    }
    return 0;
}

void rn_envelopes_stop(void **states, size_t started)
{
    for (size_t i = started; i-- > 0;) {
        if (rn_envelopes[i]->fini)
            rn_envelopes[i]->fini(states[i]);
        states[i] = NULL;
    }
}
