/* Run rate per client: token buckets in a fixed-size table. */
#include "rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_SLOTS 1024

struct rn_rate_slot {
    char ip[64];
    double tokens;
    uint64_t last_ms;
};

bool rn_rate_take(rn_rate *r, const char *client, uint64_t now)
{
    if (!r->per_minute || !client)
        return true;
    if (!r->slots && !(r->slots = calloc(RATE_SLOTS, sizeof(rn_rate_slot))))
        return true;
    double rate = r->per_minute, per_ms = rate / 60000.0;
    rn_rate_slot *slot = NULL, *oldest = &r->slots[0];
    for (size_t i = 0; i < RATE_SLOTS && !slot; i++) {
        if (!strcmp(r->slots[i].ip, client))
            slot = &r->slots[i];
        else if (r->slots[i].last_ms < oldest->last_ms)
            oldest = &r->slots[i];
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->ip, sizeof(slot->ip), "%s", client);
        slot->tokens = rate;
        slot->last_ms = now;
    }
    slot->tokens += (double)(now - slot->last_ms) * per_ms;
    if (slot->tokens > rate)
        slot->tokens = rate;
    slot->last_ms = now;
    if (slot->tokens < 1.0)
        return false;
    slot->tokens -= 1.0;
    return true;
}

void rn_rate_free(rn_rate *r)
{
    free(r->slots);
    r->slots = NULL;
}
