#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Label sets are few (languages x reasons, stages): a list is enough, and
 * their number is bounded so a client cannot grow it. */
#define METRICS_MAX_SERIES 4096

static const uint64_t buckets_ms[] = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
#define NBUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

typedef struct series {
    struct series *next;
    const char *name; /* static */
    char *labels;
    bool histogram;
    uint64_t value; /* counter, or histogram count */
    uint64_t sum;
    uint64_t bucket[NBUCKETS];
} series;

static const struct {
    const char *name, *help;
} helps[] = {
    {"runnel_runs_started_total", "Runs that left the queue, by language."},
    {"runnel_runs_finished_total", "Runs that ended, by language and reason."},
    {"runnel_run_duration_ms", "Request-to-end time of runs in milliseconds."},
    {"runnel_output_bytes_total", "Program output bytes delivered to clients."},
    {"runnel_sandbox_setup_failures_total", "Sandboxes that failed to build, by stage."},
    {"runnel_compile_cache_total", "Compile stages by cache result (hit or miss)."},
    {"runnel_requests_refused_total", "Requests refused, by envelope and reason."},
    {"runnel_connections_total", "WebSocket connections opened, by envelope."},
};

static series *all;
static unsigned nseries;

static series *find(const char *name, const char *labels, bool histogram, bool create)
{
    if (!labels)
        labels = "";
    for (series *s = all; s; s = s->next)
        if (!strcmp(s->name, name) && !strcmp(s->labels, labels))
            return s;
    if (!create || nseries >= METRICS_MAX_SERIES)
        return NULL;
    series *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->labels = strdup(labels);
    if (!s->labels) {
        free(s);
        return NULL;
    }
    s->name = name;
    s->histogram = histogram;
    /* keep series of one name together, in insertion order */
    series **pp = &all;
    series *last_same = NULL;
    for (series **q = &all; *q; q = &(*q)->next)
        if (!strcmp((*q)->name, name))
            last_same = *q;
    if (last_same) {
        s->next = last_same->next;
        last_same->next = s;
    } else {
        while (*pp)
            pp = &(*pp)->next;
        *pp = s;
    }
    nseries++;
    return s;
}

void rn_metrics_add(const char *name, const char *labels, uint64_t v)
{
    series *s = find(name, labels, false, true);
    if (s)
        s->value += v;
}

void rn_metrics_observe_ms(const char *name, const char *labels, uint64_t ms)
{
    series *s = find(name, labels, true, true);
    if (!s)
        return;
    s->value++;
    s->sum += ms;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (ms <= buckets_ms[i])
            s->bucket[i]++;
}

static const char *help_of(const char *name)
{
    for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
        if (!strcmp(helps[i].name, name))
            return helps[i].help;
    return "runnel metric.";
}

static void labels_with(rn_jbuf *out, const char *labels, const char *extra)
{
    bool any = labels && *labels;
    if (!any && !extra)
        return;
    rn_jbuf_str(out, "{");
    if (any)
        rn_jbuf_str(out, labels);
    if (extra) {
        if (any)
            rn_jbuf_str(out, ",");
        rn_jbuf_str(out, extra);
    }
    rn_jbuf_str(out, "}");
}

void rn_metrics_render(rn_jbuf *out)
{
    const char *prev = NULL;
    for (series *s = all; s; s = s->next) {
        if (!prev || strcmp(prev, s->name)) {
            rn_jbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", s->name, help_of(s->name), s->name,
                           s->histogram ? "histogram" : "counter");
            prev = s->name;
        }
        if (!s->histogram) {
            rn_jbuf_str(out, s->name);
            labels_with(out, s->labels, NULL);
            rn_jbuf_printf(out, " %llu\n", (unsigned long long)s->value);
            continue;
        }
        for (size_t i = 0; i <= NBUCKETS; i++) {
            char le[48];
            if (i < NBUCKETS)
                snprintf(le, sizeof(le), "le=\"%llu\"", (unsigned long long)buckets_ms[i]);
            else
                snprintf(le, sizeof(le), "le=\"+Inf\"");
            rn_jbuf_printf(out, "%s_bucket", s->name);
            labels_with(out, s->labels, le);
            rn_jbuf_printf(out, " %llu\n",
                           (unsigned long long)(i < NBUCKETS ? s->bucket[i] : s->value));
        }
        rn_jbuf_printf(out, "%s_sum", s->name);
        labels_with(out, s->labels, NULL);
        rn_jbuf_printf(out, " %llu\n%s_count", (unsigned long long)s->sum, s->name);
        labels_with(out, s->labels, NULL);
        rn_jbuf_printf(out, " %llu\n", (unsigned long long)s->value);
    }
}

void rn_metrics_gauge(rn_jbuf *out, const char *name, const char *help, const char *labels,
                      double value)
{
    rn_jbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s", name, help, name, name);
    labels_with(out, labels, NULL);
    rn_jbuf_printf(out, " %.17g\n", value);
}
