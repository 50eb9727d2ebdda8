/* Run rate per client: a token bucket per client address. */
#ifndef RUNNEL_RATE_H
#define RUNNEL_RATE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_rate_slot rn_rate_slot;

/* The buckets (zero-initialised: no limit); the table is made at first
 * use. */
typedef struct {
    unsigned per_minute; /* runs per minute per client, burst = the rate; 0 = unlimited */
    rn_rate_slot *slots;
} rn_rate;

/* Take one token from client's bucket at now_ms; false when it is empty.
 * No limit, no client, or no memory for the table: true. The table is
 * fixed-size: a new client takes the slot idle the longest, so a flood of
 * addresses cannot grow memory (it can only reset buckets). */
bool rn_rate_take(rn_rate *rate, const char *client, uint64_t now_ms);

/* Free the table. */
void rn_rate_free(rn_rate *rate);

#endif
