/* Prometheus metrics: counters and histograms kept in memory, rendered in
 * the text exposition format at GET /metrics. Single-threaded (loop). */
#ifndef RUNNEL_METRICS_H
#define RUNNEL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "jbuf.h"

/* Add v to the counter name{labels}; labels is the inside of the braces,
 * e.g. "language=\"python3\",reason=\"exited\"" (NULL or "" for none). */
void rn_metrics_add(const char *name, const char *labels, uint64_t v);

/* Record one observation (milliseconds) in the histogram name{labels}. */
void rn_metrics_observe_ms(const char *name, const char *labels, uint64_t ms);

/* Append every known metric with HELP and TYPE lines. */
void rn_metrics_render(rn_jbuf *out);

/* Append one gauge line with HELP and TYPE (for values read at scrape). */
void rn_metrics_gauge(rn_jbuf *out, const char *name, const char *help, const char *labels,
                      double value);

#endif
