/* Prometheus metrics: request counters and latency histograms by route, plus named counters,
 * gauges and histograms a service adds for its own work. Thread-safe. */
#ifndef CRM_METRICS_H
#define CRM_METRICS_H

#include <stddef.h>

typedef struct crm_metrics crm_metrics;

/* A registry labelled with `service`. Free with crm_metrics_free. */
crm_metrics *crm_metrics_new(const char *service);
void crm_metrics_free(crm_metrics *metrics);

/* Counts one answered request. `route` is the route pattern (never the raw path, so hostile
 * paths cannot grow the registry); `method` an HTTP method. */
void crm_metrics_observe_request(crm_metrics *metrics, const char *route, const char *method,
                                 unsigned int status, double seconds);

/* Adds `delta` to the counter `name` (created on first use; `help` describes it). */
void crm_metrics_counter_add(crm_metrics *metrics, const char *name, const char *help,
                             double delta);

/* Sets the gauge `name` to `value`. */
void crm_metrics_gauge_set(crm_metrics *metrics, const char *name, const char *help, double value);

/* Adds `delta` to the counter `name{labels}`. `labels` is a Prometheus label list such as
 * `upstream="auth",outcome="ok"` built from a fixed set of values, never from request text (each
 * distinct list is a series, and the registry is bounded); NULL or "" is the unlabelled series. */
void crm_metrics_counter_add_labelled(crm_metrics *metrics, const char *name, const char *help,
                                      const char *labels, double delta);

/* Records `seconds` in the histogram `name{labels}` (the buckets of the request histogram);
 * `labels` as for crm_metrics_counter_add_labelled. */
void crm_metrics_histogram_observe(crm_metrics *metrics, const char *name, const char *help,
                                   const char *labels, double seconds);

/* Renders every series in the Prometheus text format. Returns a string the caller frees with
 * free(), or NULL when out of memory. */
char *crm_metrics_render(crm_metrics *metrics);

#endif
